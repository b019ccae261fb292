//===- Passes.td - LowBit quantization passes --------------*- tablegen -*-===//

#ifndef LOWBIT_QUANTIZATION_PASSES_TD
#define LOWBIT_QUANTIZATION_PASSES_TD

include "mlir/Pass/PassBase.td"

def QuantizeWeightsPass : Pass<"lowbit-quantize-weights", "ModuleOp"> {
  let summary = "Quantize the constant weights of named linear layers with "
                "round-to-nearest or GPTQ into lowbit.linear";
  let description = [{
    Rewrites every `linalg.matmul` that carries a layer name
    (`lowbit.name = "blk.0.attn_q"`) and has the transposed-B form of a
    linear layer, `C[m, n] += A[m, k] * W[n, k]`, with a constant f32 weight
    (`dense_resource` or `dense`), into a `lowbit.linear` of the same input
    on packed codes and scales (and zero points), each a new `dense_resource`
    blob named after the layer: `blk.0.attn_q.codes`, `blk.0.attn_q.scales`,
    `blk.0.attn_q.zero_points`. The layer name moves to the new op. A
    non-zero accumulator is added back with `linalg.add`; the float weight
    constant is erased once unused. Matmuls with the same layer name and
    weight (a model has one entry point per token count) are quantized once
    and share the blobs. Layers are quantized in parallel.

    The scheme is `#lowbit.scheme<FORMAT, GRANULARITY [, zero_point],
    scale = SCALE-TYPE>`:

    - `format`: an element format in the dialect's spelling: `i2`..`i8`,
      `nf4`, `f4E2M1FN`, `f8E4M3FN` (also `f8E5M2`, `ternary`).
    - `group`: 0 for one scale per output channel (`per_channel`), else
      `per_group<G>` along the input channels; G must divide K.
    - `symmetric=false` adds zero points (integer formats only): the codes are
      then unsigned (`i4` becomes `ui4`, as in GGUF's Q4_1 and GPTQ
      checkpoints) and the real-valued zero points are stored as f32 tensors,
      exactly the values the codes were chosen with.
    - `scale-type`: `f16` (default), `f32`, `bf16`, or `f8E8M0FNU`
      (power-of-two block scales, for the MX formats: symmetric schemes
      only). Scales are rounded up to the storage type so a block's largest
      element still fits.

    `method=rtn` quantizes each layer with the reference round-to-nearest
    quantizer (`quantizeReference`: symmetric scales absmax / max code,
    asymmetric ones from the block's range). `method=gptq` (Frantar et al.)
    needs the calibration statistics of `lowbit-run calibrate` (`stats`):
    the Hessian is H = 2 X^T X / rows from each layer's Gram matrix,
    channels never active (H_ii = 0) get weight 0, `damp` times the mean of
    diag(H) is added to the diagonal, and the columns are quantized one at a
    time, each rounding error spread over the remaining columns through the
    upper Cholesky factor of H^-1, in lazy batches of `block-size` columns.
    `act-order` quantizes the columns by decreasing H_ii; only the order
    changes, the codes keep the layer's column layout, so the IR is the same
    as without it. A group's scales are computed when the first of its
    columns is quantized, from the group's weights as they stand then (error
    feedback included); with act-order that is when the group's most salient
    column comes up. Without act-order this is the reference GPTQ.

    Layers named in `skip` (a comma-separated list of names or name
    suffixes after a `.`: `output` matches `output` and `blk.0.output` but
    not `blk.0.attn_output`) stay in float; when `only` is given, so do the
    layers it does not name (a recipe quantizes the LM head in its own
    format that way, before the other layers), as do named matmuls whose weight
    is not a constant f32 tensor of static shape or that are not of the
    transposed-B form: those get a remark, since a model may keep some
    layers in float on purpose. Errors (the pass fails) are: an invalid
    scheme, a group size that does not divide a layer's K, `method=gptq`
    without `stats`, a layer missing from the statistics or whose channel
    count differs from K, and a Hessian GPTQ cannot factor.

    Example, `--lowbit-quantize-weights="format=i4 group=32"`:

    ```mlir
    %w = arith.constant dense_resource<blk.0.attn_q> : tensor<64x64xf32>
    %y = linalg.matmul {lowbit.name = "blk.0.attn_q"}
        indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                         affine_map<(m, n, k) -> (n, k)>,
                         affine_map<(m, n, k) -> (m, n)>]
        ins(%x, %w : tensor<4x64xf32>, tensor<64x64xf32>)
        outs(%zero : tensor<4x64xf32>) -> tensor<4x64xf32>
    // becomes
    %codes = arith.constant dense_resource<blk.0.attn_q.codes>
        : tensor<64x32xi8>
    %scales = arith.constant dense_resource<blk.0.attn_q.scales>
        : tensor<64x2xf16>
    %y = lowbit.linear %x, %codes scales(%scales)
        scheme<i4, per_group<32>, scale = f16>
        {lowbit.name = "blk.0.attn_q"}
        : (tensor<4x64xf32>, tensor<64x32xi8>, tensor<64x2xf16>)
        -> tensor<4x64xf32>
    ```
  }];
  let options = [
    Option<"format", "format", "std::string", /*default=*/"\"i4\"",
           "Element format of the codes (i2..i8, nf4, f4E2M1FN, f8E4M3FN)">,
    Option<"group", "group", "int64_t", /*default=*/"0",
           "Group size along the input channels (0: one scale per output "
           "channel)">,
    Option<"icGroup", "ic-group", "int64_t", /*default=*/"0",
           "Groups of this many output channels sharing a scale per input "
           "channel (AdaDim's per-input-channel groups; excludes group)">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"true",
           "Symmetric codes; false adds zero points (integer formats)">,
    Option<"scaleType", "scale-type", "std::string", /*default=*/"\"f16\"",
           "Storage type of the scales (f16, f32, bf16, f8E8M0FNU)">,
    Option<"method", "method", "::mlir::lowbit::WeightQuantMethod",
           /*default=*/"::mlir::lowbit::WeightQuantMethod::rtn",
           "How the codes are chosen",
           [{::llvm::cl::values(
             clEnumValN(::mlir::lowbit::WeightQuantMethod::rtn, "rtn",
                        "round to nearest"),
             clEnumValN(::mlir::lowbit::WeightQuantMethod::gptq, "gptq",
                        "GPTQ with the Hessian from calibration statistics"))
           }]>,
    Option<"stats", "stats", "std::string", /*default=*/"\"\"",
           "Calibration statistics file (required for gptq)">,
    Option<"damp", "damp", "double", /*default=*/"0.01",
           "GPTQ dampening: fraction of the mean of diag(H) added to it">,
    Option<"blockSize", "block-size", "int64_t", /*default=*/"128",
           "GPTQ columns between lazy batch updates">,
    Option<"actOrder", "act-order", "bool", /*default=*/"false",
           "GPTQ: quantize columns by decreasing H_ii">,
    Option<"skip", "skip", "std::string", /*default=*/"\"output\"",
           "Comma-separated layer names or .suffixes left in float (default: "
           "the LM head)">,
    Option<"only", "only", "std::string", /*default=*/"\"\"",
           "Comma-separated layer names or .suffixes to quantize, the others "
           "left in float (empty: every layer not skipped)">
  ];
  let statistics = [
    Statistic<"numQuantized", "num-quantized", "Linear layers quantized">,
    Statistic<"numLeftInFloat", "num-left-in-float",
              "Named linear layers left in float">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::lowbit::LowBitDialect"
  ];
}

def PrintChannelSinksPass : Pass<"lowbit-print-channel-sinks", "ModuleOp"> {
  let summary = "Report where a transform of each linear layer's input "
                "channels would be folded";
  let description = [{
    Runs the channel-sink analysis (lowbit/Analysis/ChannelSinks.h) that
    every channel-transforming pass uses and reports its result as a remark
    on the first layer of each group: the layers reading one value, the
    sink a transform of that value's channels folds into (a norm's gamma
    vector, the rows of an earlier linear layer, or none, with the reason),
    how many input channels map onto how many sink channels (grouped-query
    attention maps the query heads onto their KV heads), and whether the
    sink also takes permutations. It changes nothing.

    Example, on a Llama block:

    ```
    remark: blk.0.attn_q,blk.0.attn_k,blk.0.attn_v: 576 channels -> the
        vector blk.0.attn_norm (576 channels), scales only
    remark: blk.0.attn_output: 576 channels -> the rows of blk.0.attn_v
        (192 channels), scales and permutations within 3 classes
    remark: blk.0.ffn_down: 1536 channels -> the rows of blk.0.ffn_up
        (1536 channels), scales only
    ```
  }];
}

def SmoothPass : Pass<"lowbit-smooth", "ModuleOp"> {
  let summary = "Migrate quantization difficulty between activations and "
                "weights with per-channel scales (SmoothQuant, SmoothQuant+, "
                "AWQ)";
  let description = [{
    Divides the input channels of linear layers by a positive scale s and
    multiplies the layers' weight columns by it, y = (x / s)(W s)^T, which
    leaves the float model's outputs unchanged but changes what is easy to
    quantize. The division is folded into the sink the channel-sink analysis
    finds for each group of layers reading one value (a norm's gamma, the
    rows of the value or up projection); groups without a sink are left
    alone unless `explicit-scales`, which puts a `lowbit.channel_scale`
    before them. Layers sharing an input share s. Scales need the
    calibration statistics of the float model (`stats`); transforms already
    applied to a layer's input (recorded in `lowbit.input_transform`) are
    applied to its statistics first, and this pass records its own.

    - `method=smoothquant` (Xiao et al.): s_j = max|X_j|^a / max|W_j|^(1-a)
      with a = `alpha`, the maxima over calibration tokens and over every
      output row of the group. For W8A8: it flattens the activation
      outliers that per-token int8 cannot represent.
    - `method=smoothquant-plus` (Pan et al.): the same formula, with a
      searched for every group over `grid` values in [0, 1) (and s = 1) to
      minimise the group's output error after round-to-nearest quantization
      with the weight scheme (`format`, `group`, `symmetric`, `scale-type`).
      For weight-only quantization.
    - `method=awq` (Lin et al.): s_j = mean|X_j|^a, normalised by
      sqrt(max s * min s), a searched the same way (a = 0 is s = 1, so the
      result is never worse than plain round-to-nearest on the calibration
      data).

    The output error of a candidate is exact for the calibration data:
    sum_n dW_n G dW_n^T, with dW = Q(W s) / s - W and G = X^T X.

    Example, `--lowbit-smooth="method=smoothquant alpha=0.5 stats=s.mlirbc"`:

    ```mlir
    %g = arith.constant dense<[1.0, 1.0]> : tensor<2xf32>    // gamma
    %h = linalg.generic ... ins(%x, %ss, %g ...)  // x * rsqrt(..) * gamma
    %y = linalg.matmul {lowbit.name = "q"} ins(%h, %w ...)
    // becomes, with s = [2.0, 0.5]
    %g = arith.constant dense<[0.5, 2.0]> : tensor<2xf32>
    %y = linalg.matmul {lowbit.input_transform = {scale = dense<[2.0, 0.5]>
        : tensor<2xf32>}, lowbit.name = "q"} ins(%h, %w_times_s ...)
    ```
  }];
  let options = [
    Option<"method", "method", "::mlir::lowbit::SmoothMethod",
           /*default=*/"::mlir::lowbit::SmoothMethod::smoothquant",
           "How the scales are chosen",
           [{::llvm::cl::values(
             clEnumValN(::mlir::lowbit::SmoothMethod::smoothquant,
                        "smoothquant", "max|X|^a / max|W|^(1-a), fixed a"),
             clEnumValN(::mlir::lowbit::SmoothMethod::smoothquantPlus,
                        "smoothquant-plus",
                        "max|X|^a / max|W|^(1-a), a searched per group"),
             clEnumValN(::mlir::lowbit::SmoothMethod::awq, "awq",
                        "mean|X|^a, a searched per group"))
           }]>,
    Option<"alpha", "alpha", "double", /*default=*/"0.5",
           "SmoothQuant's migration strength a (method=smoothquant)">,
    Option<"stats", "stats", "std::string", /*default=*/"\"\"",
           "Calibration statistics file (lowbit-run calibrate)">,
    Option<"grid", "grid", "int64_t", /*default=*/"20",
           "Values of a tried by the searches">,
    Option<"format", "format", "std::string", /*default=*/"\"i4\"",
           "Weight format the searches quantize with">,
    Option<"group", "group", "int64_t", /*default=*/"128",
           "Weight group size the searches quantize with (0: per channel)">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"true",
           "Whether the searched weight scheme is symmetric">,
    Option<"scaleType", "scale-type", "std::string", /*default=*/"\"f16\"",
           "Scale type of the searched weight scheme">,
    Option<"explicitScales", "explicit-scales", "bool", /*default=*/"false",
           "Also smooth groups without a sink, with a lowbit.channel_scale">,
    Option<"skip", "skip", "std::string", /*default=*/"\"output\"",
           "Comma-separated layer names or .suffixes whose groups are left "
           "alone">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Report each group's scales and errors as remarks">
  ];
  let statistics = [
    Statistic<"numSmoothed", "num-smoothed", "Groups smoothed">,
    Statistic<"numNoSink", "num-without-sink",
              "Groups left alone for want of a sink">
  ];
  let dependentDialects = ["::mlir::lowbit::LowBitDialect"];
}

def QuantizeActivationsPass : Pass<"lowbit-quantize-activations", "ModuleOp"> {
  let summary = "Quantize the inputs of low-bit linear layers (W8A8, W4A4, "
                "FP8)";
  let description = [{
    Puts a quantizer and its dequantizer in front of the input of every
    named `lowbit.linear`, so that the layer computes on activations
    rounded to `format`: the float form of an integer or fp8 GEMM, which
    kernel fusion turns into one. Layers reading one value share one
    quantizer. A `lowbit.channel_scale` in front of the input (a smoothing
    scale no earlier op could absorb) is folded into the quantizer.

    - `granularity=per-token` (default): `lowbit.quantize_dynamic` with one
      scale per row, computed at run time from the row's largest magnitude
      (`group=G`: one per G channels of the row).
    - `granularity=per-tensor`: one scale for the whole input, dynamic, or
      with `static` fixed ahead of time from calibration (`stats`): the
      largest |x| any channel of the layer's input saw, as transformed by
      smoothing since, over the format's largest code.

    Formats: `i8` (W8A8), `i4` (W4A4, with `group`), `f8E4M3FN` and
    `f8E5M2` (FP8). Layers in `skip` keep float inputs.

    Example, `--lowbit-quantize-activations` (int8, per token):

    ```mlir
    %y = lowbit.linear %x, %w scales(%s) scheme<i8, per_channel> ...
    // becomes
    %q, %qs = lowbit.quantize_dynamic %x scheme<i8, per_channel>
        : tensor<4x64xf32> -> (tensor<4x64xi8>, tensor<4x1xf32>)
    %xq = lowbit.dequantize %q scales(%qs) scheme<i8, per_channel>
        : (tensor<4x64xi8>, tensor<4x1xf32>) -> tensor<4x64xf32>
    %y = lowbit.linear %xq, %w scales(%s) scheme<i8, per_channel> ...
    ```
  }];
  let options = [
    Option<"format", "format", "std::string", /*default=*/"\"i8\"",
           "Element format of the activations (i8, i4, f8E4M3FN, f8E5M2)">,
    Option<"granularity", "granularity",
           "::mlir::lowbit::ActivationGranularity",
           /*default=*/"::mlir::lowbit::ActivationGranularity::perToken",
           "Which activations share a scale",
           [{::llvm::cl::values(
             clEnumValN(::mlir::lowbit::ActivationGranularity::perToken,
                        "per-token", "one scale per row (or per group)"),
             clEnumValN(::mlir::lowbit::ActivationGranularity::perTensor,
                        "per-tensor", "one scale for the whole input"))
           }]>,
    Option<"group", "group", "int64_t", /*default=*/"0",
           "Per token: groups of this many channels share a scale (0: the "
           "whole row)">,
    Option<"static_", "static", "bool", /*default=*/"false",
           "Per tensor: a fixed scale from calibration instead of one "
           "computed at run time">,
    Option<"stats", "stats", "std::string", /*default=*/"\"\"",
           "Calibration statistics file (for static scales)">,
    Option<"skip", "skip", "std::string", /*default=*/"\"\"",
           "Comma-separated layer names or .suffixes whose inputs stay in "
           "float">
  ];
  let statistics = [
    Statistic<"numQuantized", "num-quantized",
              "Linear layers given quantized inputs">,
    Statistic<"numQuantizers", "num-quantizers", "Quantizers inserted">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::lowbit::LowBitDialect"
  ];
}

def LowRankSplitPass : Pass<"lowbit-lowrank-split", "ModuleOp"> {
  let summary = "Split linear layers into a 16-bit low-rank branch and a "
                "residual to quantize (SVDQuant)";
  let description = [{
    SVDQuant (Li et al.) absorbs a layer's outliers into a small branch kept
    in 16 bits: W = L1 L2 + R, with L1 L2 the best rank-`rank`
    approximation of W (its top singular triplets, by randomized subspace
    iteration) and R = W - L1 L2 the residual, whose range is what is left
    to quantize. Run after smoothing, which moves activation outliers into
    W first, and before lowbit-quantize-weights, which quantizes R (the
    layer keeps its name) but not the branch.

    The factors are stored as f16 blobs (`NAME.lowrank_down`, rank x K, and
    `NAME.lowrank_up`, N x rank), and the residual is computed from the
    rounded factors, so that the split itself is exact up to f32 rounding.
    The branch is two transposed-B matmuls tagged `lowbit.lowrank_of =
    "NAME"`, the second accumulating onto the layer's result; it reads the
    layer's input before any activation quantization, and kernel fusion
    later folds it into the low-bit GEMM. A rank larger than a layer's
    matrix is an error; layers in `skip` are left alone.

    ```mlir
    %y = linalg.matmul {lowbit.name = "q"} ins(%x, %w ...) outs(%zero ...)
    // becomes, with %w now holding the residual
    %y0 = linalg.matmul {lowbit.name = "q"} ins(%x, %w ...) outs(%zero ...)
    %down = arith.extf %l2 : tensor<32x576xf16> to tensor<32x576xf32>
    %t = linalg.matmul {lowbit.lowrank_of = "q"} ins(%x, %down ...)
        outs(%zero32 ...)
    %up = arith.extf %l1 : tensor<576x32xf16> to tensor<576x32xf32>
    %y = linalg.matmul {lowbit.lowrank_of = "q"} ins(%t, %up ...) outs(%y0 ...)
    ```
  }];
  let options = [
    Option<"rank", "rank", "int64_t", /*default=*/"32",
           "Rank of the 16-bit branch">,
    Option<"iterations", "iterations", "int64_t", /*default=*/"4",
           "Rounds of subspace iteration of the SVD">,
    Option<"skip", "skip", "std::string", /*default=*/"\"output\"",
           "Comma-separated layer names or .suffixes left whole">
  ];
  let statistics = [
    Statistic<"numSplit", "num-split", "Linear layers split">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def ReorderChannelsPass : Pass<"lowbit-reorder-channels", "ModuleOp"> {
  let summary = "Reorder input channels by salience, folded into the "
                "producer's rows (act-order)";
  let description = [{
    Sorts the input channels of each group of linear layers by decreasing
    salience, the diagonal of the Hessian calibration measured (H_jj =
    sum over the group's input channels that read sink channel j of
    (X^T X)_jj), and folds the permutation into the rows of the sink and
    the consumers' weight columns, so the float model's outputs stay the
    same. Only sinks that take permutations are reordered: the rows of the
    value projection under attention (within each head), the up and gate
    projections' rows under the SiLU gate, any earlier linear layer. A
    norm's gamma does not (the norm's input would move too); those groups
    are left alone, and GPTQ's `act-order` orders their columns at
    quantization time instead.

    Why: GPTQ with act-order quantizes the most salient columns first; with
    the columns physically in that order, groups of scales follow it too,
    and a kernel reads the weights in order, without a group index per
    column. Mixed-precision splits (lowbit-split-salient) then take a
    contiguous block of channels.

    ```mlir
    // blk.0.attn_output's 576 input channels come from blk.0.attn_v's 192
    // rows through attention: each head's 64 value channels are sorted by
    // salience, v's rows and o's columns permuted alike, and o records
    %o = linalg.matmul {lowbit.input_transform = {perm = dense<[..]>
        : tensor<576xi64>}, lowbit.name = "blk.0.attn_output"} ...
    ```
  }];
  let options = [
    Option<"stats", "stats", "std::string", /*default=*/"\"\"",
           "Calibration statistics file (lowbit-run calibrate)">,
    Option<"skip", "skip", "std::string", /*default=*/"\"output\"",
           "Comma-separated layer names or .suffixes whose groups are left "
           "alone">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Report each group reordered or left alone as a remark">
  ];
  let statistics = [
    Statistic<"numReordered", "num-reordered", "Groups reordered">,
    Statistic<"numFixed", "num-fixed",
              "Groups whose sink takes no permutation">
  ];
  let dependentDialects = ["::mlir::lowbit::LowBitDialect"];
}

def SplitSalientPass : Pass<"lowbit-split-salient", "ModuleOp"> {
  let summary = "Keep each layer's most salient input channels at higher "
                "precision (PTQ1.61, LLM.int8-style decomposition)";
  let description = [{
    Splits every named linear layer by input channel into two: the
    `fraction` of its input channels with the largest salience, kept in a
    higher-precision scheme (`format`, `group`, `symmetric`, `scale-type`),
    and the rest, left to lowbit-quantize-weights' own scheme (2 bits for
    PTQ1.61-style models). Salience is the output error losing a channel
    would cause, H_cc * ||W_:,c||^2 with H from the calibration statistics,
    so channels that see large activations or carry large weights are kept.
    The mask is structured by input channel, as PTQ1.61's: a list of channel
    indices per layer (its only overhead), read once per token.

    `y = x W^T` becomes `y = x[:, S] W[:, S]^T + x[:, R] W[:, R]^T`: two
    matmuls, `NAME.salient` (with its scheme in `lowbit.weight_scheme`) and
    `NAME` (the rest), the second accumulating onto the first, each reading
    its channels with a gather (a plain slice where the channels are
    contiguous, as after lowbit-reorder-channels). Both record the channels
    they read in `lowbit.input_transform` and name the original layer's
    statistics in `lowbit.stats_key`, so GPTQ quantizes each part with the
    Hessian of its own channels. Layers in `skip` stay whole.

    ```mlir
    %y = linalg.matmul {lowbit.name = "q"} ins(%x, %w : tensor<4x576xf32>, ..)
    // becomes, with 56 salient channels S and the other 520 R
    %xs = linalg.generic ... // x[:, S] : tensor<4x56xf32>
    %xr = linalg.generic ... // x[:, R] : tensor<4x520xf32>
    %ys = linalg.matmul {lowbit.name = "q.salient", lowbit.stats_key = "q",
        lowbit.weight_scheme = #lowbit.scheme<i4, per_channel, scale = f16>,
        lowbit.input_transform = {perm = dense<[..S..]>}} ins(%xs, %ws ...)
    %y = linalg.matmul {lowbit.name = "q", lowbit.stats_key = "q",
        lowbit.input_transform = {perm = dense<[..R..]>}} ins(%xr, %wr ...)
        outs(%ys ...)
    ```
  }];
  let options = [
    Option<"stats", "stats", "std::string", /*default=*/"\"\"",
           "Calibration statistics file (lowbit-run calibrate)">,
    Option<"fraction", "fraction", "double", /*default=*/"0.1",
           "Fraction of each layer's input channels kept salient">,
    Option<"multiple", "multiple", "int64_t", /*default=*/"8",
           "Round each layer's salient channels up to a multiple of this">,
    Option<"format", "format", "std::string", /*default=*/"\"i4\"",
           "Element format of the salient channels">,
    Option<"group", "group", "int64_t", /*default=*/"0",
           "Group size of the salient channels' scales (0: per output row)">,
    Option<"symmetric", "symmetric", "bool", /*default=*/"true",
           "Whether the salient channels' scheme is symmetric">,
    Option<"scaleType", "scale-type", "std::string", /*default=*/"\"f16\"",
           "Scale type of the salient channels' scheme">,
    Option<"skip", "skip", "std::string", /*default=*/"\"output\"",
           "Comma-separated layer names or .suffixes left whole">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Report each split as a remark">
  ];
  let statistics = [
    Statistic<"numSplit", "num-split", "Linear layers split">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::lowbit::LowBitDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // LOWBIT_QUANTIZATION_PASSES_TD
