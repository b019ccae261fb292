//===- Passes.td - LowBit transforms -----------------------*- tablegen -*-===//

#ifndef LOWBIT_TRANSFORMS_PASSES_TD
#define LOWBIT_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def ExternalizeWeightsPass : Pass<"lowbit-externalize-weights", "ModuleOp"> {
  let summary = "Move large dense_resource constants out of the code into "
                "external globals bound at load time";
  let description = [{
    Weights of real models are hundreds of megabytes of `dense_resource`
    blobs. Lowered as they are, each becomes an LLVM global with an
    initializer, and LLVM then spends minutes compiling constants. This pass
    replaces every `arith.constant dense_resource<...>` tensor of at least
    `min-bytes` bytes by a read of an external `memref.global` declaration
    (no initializer), through `bufferization.to_tensor ... restrict`, and
    records which blob each global stands for in the module attribute
    `lowbit.external_weights` (symbol name to the `dense_resource`
    attribute). The JIT binds each symbol to the blob's bytes in place, so
    nothing is copied and the numbers are bit for bit the same. Constants
    sharing one blob (tied embeddings) share one global; smaller constants
    stay inline.

    Example:

    ```mlir
    %w = arith.constant dense_resource<blk.0.attn_q> : tensor<576x576xf32>
    // becomes
    memref.global constant @__lowbit_weight_blk_0_attn_q : memref<576x576xf32>
    ...
    %m = memref.get_global @__lowbit_weight_blk_0_attn_q : memref<576x576xf32>
    %w = bufferization.to_tensor %m restrict
        : memref<576x576xf32> to tensor<576x576xf32>
    // with, on the module,
    // lowbit.external_weights = {__lowbit_weight_blk_0_attn_q =
    //     dense_resource<blk.0.attn_q> : tensor<576x576xf32>}
    ```
  }];
  let options = [
    Option<"minBytes", "min-bytes", "int64_t", /*default=*/"4096",
           "Externalize constants of at least this many bytes">
  ];
  let dependentDialects = [
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::memref::MemRefDialect"
  ];
}

def FuseGatedLinearPass : Pass<"lowbit-fuse-gated-linear", "ModuleOp"> {
  let summary = "Fuse a gate and an up projection and their SiLU product "
                "into one gated lowbit.linear";
  let description = [{
    Finds the SwiGLU of a Llama MLP, `silu(x Wg^T) * (x Wu^T)`: an
    elementwise `linalg.generic` computing `a / (1 + exp(-a)) * b` (or
    `a * (1 / (1 + exp(-a))) * b`) whose operands are two `lowbit.linear`
    layers of the same input, with the same scheme, packing and operand
    types, constant weights, scales and zero points, and no other users.
    It replaces the three ops by one `lowbit.linear ... gated<silu>` whose
    weight rows interleave the two layers' (gate row n at 2n, up row n at
    2n + 1; scales, zero points and bias likewise), built once per pair of
    blobs. The kernels of the gated layer read the input once for both
    projections and write only the product: half the output traffic, one
    parallel region instead of three.

    ```mlir
    %g = lowbit.linear %x, %wg scales(%sg) scheme<i4, per_group<64>, scale = f16>
        : (tensor<1x576xf32>, tensor<1536x288xi8>, tensor<1536x9xf16>) -> tensor<1x1536xf32>
    %u = lowbit.linear %x, %wu scales(%su) scheme<i4, per_group<64>, scale = f16>
        : (tensor<1x576xf32>, tensor<1536x288xi8>, tensor<1536x9xf16>) -> tensor<1x1536xf32>
    %h = linalg.generic ... ins(%g, %u) { silu(%a) * %b } -> tensor<1x1536xf32>
    // becomes
    %wgu = arith.constant dense_resource<blk.0.ffn_gate.codes.gated> : tensor<3072x288xi8>
    %sgu = arith.constant dense_resource<blk.0.ffn_gate.scales.gated> : tensor<3072x9xf16>
    %h = lowbit.linear %x, %wgu scales(%sgu) scheme<i4, per_group<64>, scale = f16>
        gated<silu> : (tensor<1x576xf32>, tensor<3072x288xi8>, tensor<3072x9xf16>)
        -> tensor<1x1536xf32>
    ```
  }];
  let statistics = [
    Statistic<"numFused", "fused", "Gate and up pairs fused">
  ];
  let dependentDialects = ["::mlir::lowbit::LowBitDialect"];
}

def FuseLowRankPass : Pass<"lowbit-fuse-lowrank", "ModuleOp"> {
  let summary = "Fold SVDQuant's low-rank branch into its low-bit layer";
  let description = [{
    `lowbit-lowrank-split` leaves a layer's 16-bit branch as two matmuls
    tagged `lowbit.lowrank_of`, `t = x L_down^T` and `y += t L_up^T`, the
    second accumulating onto the layer's result. When that result is a
    `lowbit.linear` with no other user, this pass gives the layer the
    branch as `lowrank(%t, %up)` (the up factor in its stored f16, the
    widening to f32 dropped) and removes the second matmul: the layer's
    kernels add each output's r-term dot product before writing it, so the
    output is written once and the factor read at 16 bits. The down
    projection stays a separate (small) op. Layers without such a branch,
    and branches onto anything else, are left alone.

    ```mlir
    %y0 = lowbit.linear %xq, %w scales(%s) scheme<i4, per_group<64>, scale = f16>
        : (tensor<1x576xf32>, tensor<576x288xi8>, tensor<576x9xf16>) -> tensor<1x576xf32>
    %t = linalg.matmul {lowbit.lowrank_of = "q"} ins(%x, %down ...) outs(%zero32 ...)
    %up = arith.extf %l1 : tensor<576x32xf16> to tensor<576x32xf32>
    %y = linalg.matmul {lowbit.lowrank_of = "q"} ins(%t, %up ...) outs(%y0 ...)
    // becomes
    %t = linalg.matmul {lowbit.lowrank_of = "q"} ins(%x, %down ...) outs(%zero32 ...)
    %y = lowbit.linear %xq, %w scales(%s) lowrank(%t, %l1)
        scheme<i4, per_group<64>, scale = f16>
        : (tensor<1x576xf32>, tensor<576x288xi8>, tensor<576x9xf16>,
           tensor<1x32xf32>, tensor<576x32xf16>) -> tensor<1x576xf32>
    ```
  }];
  let statistics = [
    Statistic<"numFused", "fused", "Low-rank branches fused">
  ];
  let dependentDialects = ["::mlir::lowbit::LowBitDialect"];
}

def VectorizeMatmulPass : Pass<"lowbit-vectorize-matmul", "func::FuncOp"> {
  let summary = "Tile, split and vectorize transposed-B f32 matmuls into "
                "register-blocked FMA kernels";
  let description = [{
    Rewrites every statically shaped f32 `linalg.matmul` (or equivalent
    contraction) of the transposed-B form `C[m, n] += A[m, k] * B[n, k]`, the
    form of every linear layer, into a multithreaded, register-blocked kernel
    made only of upstream transformations:

    1. Columns are cut into blocks of B rows that fit the L2 cache and the
       blocks are distributed over an `scf.forall` (OpenMP later).
    2. Each block is tiled with `scf.for` into micro-tiles of `mr` rows by
       `nr` columns (`mr * nr` register accumulators: 4x3 for prefill, 1x8
       for decode).
    3. Each micro-tile's reduction over K is split by the vector width with
       `linalg::splitReduction` (inner dimension parallel): the tile keeps
       `mr x nr` partial sums of `vector<8xf32>`, accumulated along K with
       one FMA per pair of contiguous 8-float slices of A and B, and reduced
       across lanes once at the end.
    4. The K loop is tiled by one vector and everything is vectorized with
       `linalg::vectorize`; the accumulator becomes a loop-carried vector
       (`hoistLoopInvariantSubsets`) and the contraction is lowered to
       `vector.fma`.

    Extents that the tiles do not divide are first split off with
    `linalg::splitOp`, so that every tile is static: rows and columns get
    smaller kernels, and the last `K mod 8` columns of the reduction stay a
    plain `linalg.matmul` (lowered to loops). Other ops are left alone.

    Example, for `A: 128x576`, `B: 576x576`:

    ```mlir
    scf.forall (%blk) in (6) shared_outs(...) {      // 96 columns a block
      scf.for %m = 0 to 128 step 4 {                 // 4x3 micro-tiles
        scf.for %n = 0 to 96 step 3 {
          %acc = scf.for %k = 0 to 72 step 1
              iter_args(%c = %zero) -> (vector<4x3x8xf32>) {
            %a = vector.transfer_read ... : tensor<4x72x8xf32>, vector<4x1x8xf32>
            %b = vector.transfer_read ... : tensor<3x72x8xf32>, vector<3x1x8xf32>
            ...
            %f = vector.fma %ab, %bb, %c : vector<4x3x8xf32>
            scf.yield %f : vector<4x3x8xf32>
          }
          %r = vector.multi_reduction <add>, %acc, %c0 [2]
              : vector<4x3x8xf32> to vector<4x3xf32>
          ...
    ```
  }];
  let options = [
    Option<"parallel", "parallel", "bool", /*default=*/"true",
           "Distribute column blocks over threads with scf.forall">,
    Option<"threads", "threads", "unsigned", /*default=*/"0",
           "Threads to size the column blocks for (0: the host's)">,
    Option<"lanes", "lanes", "int64_t", /*default=*/"8",
           "f32 lanes of a vector register (8 for AVX2)">,
    Option<"accumulators", "accumulators", "int64_t", /*default=*/"12",
           "Vector accumulators of a micro-tile (rows x columns)">,
    Option<"maxRows", "max-rows", "int64_t", /*default=*/"4",
           "Rows of A in a micro-tile">,
    Option<"blockBytes", "block-bytes", "int64_t", /*default=*/"262144",
           "Bytes of B a column block may take (about half the L2 cache)">
  ];
  let dependentDialects = [
    "::mlir::affine::AffineDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def OutlineLoopNestsPass : Pass<"lowbit-outline-loop-nests", "ModuleOp"> {
  let summary = "Outline the top-level loop nests of large functions into "
                "functions of their own";
  let description = [{
    A model's entry point lowers to one function holding a loop nest per
    linalg op: hundreds of loops in a row. Some of LLVM's loop analyses
    walk every dominating block when they look at a loop (ScalarEvolution's
    guard checks in IndVarSimplify), which makes optimizing such a function
    quadratic in its length: tens of seconds for SmolLM2. This pass moves
    each top-level `scf.for` nest (without results) of a function that has
    at least `min-nests` of them into a private `no_inline` function and
    calls it, so that LLVM sees many small functions. A call per loop nest
    costs nothing measurable.

    Example:

    ```mlir
    func.func @forward_1(...) {
      scf.for %i = %c0 to %c576 step %c1 { ... memref.store ... }
      ...
    }
    // becomes
    func.func private @forward_1__nest0(%arg0: memref<1x576xf32>, ...)
        attributes {no_inline} {
      scf.for %i = %c0 to %c576 step %c1 { ... }
      return
    }
    func.func @forward_1(...) {
      call @forward_1__nest0(%alloc, ...) : (memref<1x576xf32>, ...) -> ()
      ...
    }
    ```
  }];
  let options = [
    Option<"minNests", "min-nests", "int64_t", /*default=*/"32",
           "Outline only in functions with at least this many nests">
  ];
  let dependentDialects = [
    "::mlir::func::FuncDialect",
    "::mlir::scf::SCFDialect"
  ];
}

def InstrumentLinearInputsPass
    : Pass<"lowbit-instrument-linear-inputs", "ModuleOp"> {
  let summary = "Observe the input of every named linear layer for "
                "calibration";
  let description = [{
    Calibration's instrumentation. Every `linalg.matmul` that carries a
    layer name (`lowbit.name = "blk.0.attn_q"`, as the model importers
    emit) gets a `lowbit.observe` of its input with all statistics
    (per-input-channel absmax and mean |x|, and the Gram matrix X^T X for
    GPTQ). Layers that read the same tensor share one observer (q, k and v
    read the same normed input; gate and up too), keyed by the first such
    layer. The module attribute `lowbit.layer_observers` maps every layer name to
    its observer's key, so that the statistics can be written per layer.
    Running the instrumented module through the runner collects the
    statistics; `lowbit-run calibrate` does that over a text file.

    Example:

    ```mlir
    %q = linalg.matmul {lowbit.name = "blk.0.attn_q"} ins(%h, %wq ...) ...
    %k = linalg.matmul {lowbit.name = "blk.0.attn_k"} ins(%h, %wk ...) ...
    // becomes
    lowbit.observe %h key("blk.0.attn_q") stats <absmax, mean_abs, gram>
    %q = linalg.matmul {lowbit.name = "blk.0.attn_q"} ins(%h, %wq ...) ...
    %k = linalg.matmul {lowbit.name = "blk.0.attn_k"} ins(%h, %wk ...) ...
    // with, on the module,
    // lowbit.layer_observers = {blk.0.attn_k = "blk.0.attn_q",
    //                     blk.0.attn_q = "blk.0.attn_q"}
    ```
  }];
  let dependentDialects = ["::mlir::lowbit::LowBitDialect"];
}

def PackWeightsPass : Pass<"lowbit-pack-weights", "ModuleOp"> {
  let summary = "Repack constant low-bit weights into the layout the "
                "target's vector kernels read";
  let description = [{
    Sequentially packed codes (`#lowbit.packing<sequential>`, byte j of a
    4-bit row holding channels 2j and 2j + 1) make a vector kernel meet the
    fields of a vector of bytes with the input's channel residues, which it
    copies out of the input once a call, and make prefill shuffle decoded
    weights back into channel order. This pass rewrites the constant
    weights of every `lowbit.linear` that `lowbit-vectorize-linear` takes
    for `target` into `#lowbit.packing<interleaved, block = B>` with B the
    codes of one step of that target's kernel (64 for 4-bit codes in groups
    of 64 on AVX2; 32 or 64 for the 16-lane lookups of AVX-512; 64 for
    2-bit codes): field p of a step's byte j is then channel
    `j + p * B * bits / 8`, a run of consecutive channels for each field.
    The layout is an attribute of the op, the bytes a new constant (a blob
    keyed `<key>.interleaved<B>` when the weights are a blob, built once
    per blob and block). 8-bit codes, layers the kernels do not take and
    weights that are not constants are left alone; the reference lowering
    reads either layout, so the rewrite never changes a result.

    ```mlir
    %w = arith.constant dense_resource<blk.0.attn_q.codes> : tensor<576x288xi8>
    %y = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<64>, scale = f16> ...
    // becomes (target=avx2)
    %w = arith.constant dense_resource<blk.0.attn_q.codes.interleaved64> : tensor<576x288xi8>
    %y = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<64>, scale = f16>
        packing<interleaved, block = 64> ...
    ```
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"host\"",
           "The kernels' instruction set: host (this CPU's), avx512-vnni, "
           "avx512, avx2 or generic">
  ];
  let statistics = [
    Statistic<"numRepacked", "repacked", "Layers whose weights were repacked">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::lowbit::LowBitDialect"];
}

def VectorizeLinearPass : Pass<"lowbit-vectorize-linear", "func::FuncOp"> {
  let summary = "Lower low-bit linear layers to vector kernels that "
                "dequantize inside the product";
  let description = [{
    Rewrites each `lowbit.linear` with 2-, 4- or 8-bit integer codes
    (signed, or unsigned with zero points) or 4-bit NF4/FP4 codes, packed
    sequentially or interleaved in blocks of one kernel step (the layout
    `lowbit-pack-weights` gives them), with per-channel or per-group
    f32/f16/bf16/e8m0 scales, a rank-2 f32 input and no bias, into vector
    code on tensors:

    - Up to `max-gemv-rows` input rows (decode): a GEMV that never
      materialises float weights. Each step reads up to 64 codes as a vector
      of bytes and splits it into its fields (two nibbles, or four 2-bit
      fields) with shifts and masks, then integer-to-float conversions.
      Table formats (NF4, FP4, and 4-bit integers on AVX-512) widen blocks
      of bytes to i32 lanes whose low nibble indexes a 16-entry f32 table of
      code values (`lowbit.lookup`: AVX-512's 16-lane `vpermps`, or AVX2's
      8-lane one on each half of the table). With sequential packing field p
      of byte j is channel `f j + p` and the fields meet the input's channel
      residues, split out once per call; interleaved, each field is a run of
      consecutive channels of the input as it is. Each field accumulates in
      a chain of its own; each group's partial sum is scaled by one vector
      FMA and a row is reduced once. Zero points enter as
      `s (sum q x - z sum x)` with the group's input sum computed once.
      Blocks of output rows are shared out over the cores (`scf.forall`).
    - More rows (prefill): the same decoder writes the dequantized weights
      once per call, in parallel, and an f32 `linalg.matmul` computes the
      product, which lowbit-vectorize-matmul then blocks for registers.

    A gated layer (`gated<silu>`, rows in (gate, up) pairs) computes each
    pair of rows in one step of the row loop and writes `silu(gate) * up`
    from registers; prefill applies the same epilogue to the matmul's
    product. A low-rank branch (`lowrank(%t, %up)`) adds to each output
    the dot product of its input row's `t` (read once as a vector) and its
    row of the up factor (widened from f16 in registers) before the output
    is written; prefill accumulates `t up^T` onto the matmul's product.

    W8A8 layers on a VNNI target (`avx512-vnni`, or `host` on a CPU with
    AVX-512 VNNI) compute in integers: symmetric int8 weights with one
    scale a channel, K a multiple of 64, whose input is `lowbit.dequantize`
    of int8 codes with one f32 scale a token or one for the tensor (what
    `lowbit-quantize-activations` makes). The kernel reads the codes, not
    the dequantized floats: each step loads 64 codes of an input row, flips
    their sign bits (x + 128, unsigned) and multiplies them into 64 codes of
    a weight row with one `vpdpbusd` (16 i32 lanes of four-byte dot
    products); the offset comes back out through the weight row's code sum,
    `sum (x + 128) w - 128 sum w`, taken with one more `vpdpbusd` against
    bytes of ones. Each output is then converted once and scaled by its
    token's and its channel's scale. Up to `max-gemv-rows` rows share each
    weight load over the rows (and sum the weight rows in the same pass);
    beyond, tiles of 4 input rows by 4 weight rows keep 16 accumulators in
    registers, after one pass that sums the 4 weight rows and leaves them
    in the cache. Gated layers take the same epilogue as above. The sums
    are exact, so the result differs from the float form only by the
    float form's own rounding.

    Other lowbit.linear ops are left to the reference lowering.

    Example (decode, int4 in groups of 64):

    ```mlir
    %y = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<64>, scale = f16>
        : (tensor<1x576xf32>, tensor<1536x288xi8>, tensor<1536x9xf16>)
        -> tensor<1x1536xf32>
    // becomes
    %y = scf.forall (%blk) in (24) shared_outs(%out = %e) -> tensor<1x1536xf32> {
      %tile = scf.for %i = %c0 to %c64 step %c1 iter_args(%t = %e64) {
        %acc = scf.for %g = %c0 to %c9 step %c1 iter_args(%y0 = %zero) {
          %b = vector.transfer_read %w[%row, %off] : tensor<1536x288xi8>, vector<32xi8>
          %lo = arith.shrsi (arith.shli %b, 4), 4 ; %hi = arith.shrsi %b, 4
          %d = vector.fma (sitofp %lo), %xeven, ... ; vector.fma (sitofp %hi), %xodd, %d
          %dot = vector.reduction <add>, %d ; %y1 = %y0 + %s * %dot
        ...
    ```
  }];
  let options = [
    Option<"maxGemvRows", "max-gemv-rows", "int64_t", /*default=*/"4",
           "Input rows up to which the fused GEMV is used">,
    Option<"threads", "threads", "unsigned", /*default=*/"0",
           "Threads to size the row blocks for (0: the host's)">,
    Option<"target", "target", "std::string", /*default=*/"\"host\"",
           "Instruction set the kernels are for: host (this CPU's), "
           "avx512-vnni (avx512, and W8A8 layers in int8 by vpdpbusd), avx512 "
           "(4-bit codes decoded by 16-lane vpermps table lookups), avx2 "
           "(NF4/FP4 by 8-lane lookups, integers by shifts and "
           "conversions) or generic (lookups by lane extracts)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def ApproximateMathPass : Pass<"lowbit-approximate-math"> {
  let summary = "Expand f32 math functions into inline polynomial "
                "approximations";
  let description = [{
    Replaces the f32 math ops named in `functions` (scalar or vector) by
    upstream MLIR's polynomial approximations
    (`populateMathPolynomialApproximationPatterns`): a range reduction and
    a minimax polynomial in arith ops, with infinities, NaN and underflow
    handled as libm handles them. Lowered to LLVM, `math.exp` is otherwise
    a call of libm's `expf` per element, which keeps the loops of softmax
    and SiLU scalar; inline, they vectorize. The default is `exp` alone:
    the sine and cosine approximations are accurate on a bounded range
    only, and RoPE's angles reach the context length in radians.

    ```mlir
    %y = math.exp %x : vector<16xf32>
    // becomes (abridged)
    %k = math.floor (%x * log2(e) + 0.5) ; %r = %x - %k * ln(2)
    %p = polynomial in %r (math.fma chain)
    %y = %p * 2^%k   // exponent bits built with arith.shli/bitcast; inf,
                     // 0 and NaN selected for out-of-range inputs
    ```
  }];
  let options = [
    ListOption<"functions", "functions", "std::string",
               "Math ops to approximate, by name (exp, expm1, log, log2, "
               "log1p, tanh, erf, sin, cos, atan, atan2, asin, acos, cbrt, "
               "rsqrt; default: exp)",
               "llvm::cl::ZeroOrMore">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::math::MathDialect",
    "::mlir::vector::VectorDialect"
  ];
}

def LowerLookupsPass : Pass<"lowbit-lower-lookups"> {
  let summary = "Lower lowbit.lookup to vpermps or to per-lane extracts, "
                "and lowbit.dot_bytes to vpdpbusd or widening sums";
  let description = [{
    A lookup of a 16-entry f32 table by 16 i32 indices becomes AVX-512's
    `vpermps` (a call of `llvm.x86.avx512.permvar.sf.512`, which reads the
    low four bits of each index) when the target has AVX-512. By 8 i32
    indices, with AVX2, it is two of AVX2's 8-lane `vpermps`
    (`llvm.x86.avx2.permps`, three bits of the index), one on each half of
    the table, and a select on bit 3. Every other lookup becomes, lane by
    lane, an extract of the index, a mask to the table's size and an
    extract from the table.

    `lowbit.dot_bytes` of 16 i32 lanes becomes AVX-512 VNNI's `vpdpbusd`
    (`llvm.x86.avx512.vpdpbusd.512`) when the target has VNNI
    (`avx512-vnni`, or `host` on such a CPU); otherwise the bytes are
    widened to i32 (unsigned and signed), multiplied, and each lane's four
    products added to it through four strided shuffles.

    ```mlir
    %v = lowbit.lookup %table[%codes] : vector<16xf32>, vector<16xi32> -> vector<16xf32>
    // target=avx512:
    %v = llvm.call_intrinsic "llvm.x86.avx512.permvar.sf.512"(%table, %codes)
        : (vector<16xf32>, vector<16xi32>) -> vector<16xf32>
    ```
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"host\"",
           "host (this CPU's features), avx512-vnni, avx512, avx2 or "
           "generic">
  ];
  let dependentDialects = [
    "::mlir::LLVM::LLVMDialect",
    "::mlir::arith::ArithDialect",
    "::mlir::vector::VectorDialect"
  ];
}

#endif // LOWBIT_TRANSFORMS_PASSES_TD
