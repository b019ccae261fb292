//===- LowBitOps.td - lowbit operations --------------------*- tablegen -*-===//

#ifndef LOWBIT_DIALECT_LOWBIT_IR_LOWBITOPS_TD
#define LOWBIT_DIALECT_LOWBIT_IR_LOWBITOPS_TD

include "lowbit/Dialect/LowBit/IR/LowBitDialect.td"
include "lowbit/Dialect/LowBit/IR/LowBitAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/CommonAttrConstraints.td"
include "mlir/IR/CommonTypeConstraints.td"

def LowBit_FloatTensor : RankedTensorOf<[F32, F16, BF16]>;
def LowBit_ScaleTensor : RankedTensorOf<[F32, F16, BF16, F8E8M0FNU]>;
def LowBit_ZeroPointTensor : RankedTensorOf<[AnySignlessInteger, F32, F16, BF16]>;
def LowBit_PackedTensor : RankedTensorOf<[I8]>;

def LowBit_QuantizeOp : LowBit_Op<"quantize", [Pure]> {
  let summary = "quantize a float tensor into packed low-bit codes";
  let description = [{
    Quantizes every element of `input` with the scale (and zero point) of its
    block, as the `scheme` says, and packs the codes into bytes as `packing`
    says (`sequential` when absent). The result holds the packed bytes: the
    leading axes of `input` and one axis of packed bytes per row.

    ```mlir
    %q = lowbit.quantize %w scales(%s) scheme<i4, per_group<32>>
        : (tensor<16x64xf32>, tensor<16x2xf32>) -> tensor<16x32xi8>
    %q1 = lowbit.quantize %w scales(%s) zero_points(%z)
        scheme<ui4, per_group<32>, zero_point, scale = f16>
        packing<interleaved, block = 32>
        : (tensor<16x64xf32>, tensor<16x2xf16>, tensor<16x2xf16>) -> tensor<16x32xi8>
    ```
  }];
  let arguments = (ins LowBit_FloatTensor:$input,
                       LowBit_ScaleTensor:$scales,
                       Optional<LowBit_ZeroPointTensor>:$zero_points,
                       LowBit_QuantSchemeAttr:$scheme,
                       OptionalAttr<LowBit_PackingAttr>:$packing);
  let results = (outs LowBit_PackedTensor:$result);
  let assemblyFormat = [{
    $input `scales` `(` $scales `)` (`zero_points` `(` $zero_points^ `)`)?
    `scheme` `` $scheme (`packing` `` $packing^)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let extraClassDeclaration = [{
    PackingAttr getPackingOrDefault();
  }];
}

def LowBit_QuantizeDynamicOp : LowBit_Op<"quantize_dynamic", [Pure]> {
  let summary = "quantize a float tensor with scales computed from its "
                "values at run time";
  let description = [{
    Dynamic quantization of activations: computes each block's scale from
    the data as the reference quantizer does (`absmax / max|code|`, exactly
    in f32; blocks of zeros get scale 1), then quantizes and packs like
    `lowbit.quantize`, and returns the codes and the scales. On `[T, K]`
    activations `per_channel` is one scale per row, that is per token;
    `per_group<G>` is groups of G channels within each token; `per_tensor`
    one scale for all.

    `channel_scales`, when present, multiplies the input channel by channel
    first (the last axis): a smoothing transform that no earlier op could
    absorb, folded into the quantizer.

    Schemes are symmetric, with f32 scales, and an integer or float element
    format (not ternary).

    ```mlir
    %q, %s = lowbit.quantize_dynamic %x scheme<i8, per_channel>
        : tensor<4x64xf32> -> (tensor<4x64xi8>, tensor<4x1xf32>)
    %q4, %s4 = lowbit.quantize_dynamic %x channel_scales(%c)
        scheme<i4, per_group<32>>
        : tensor<4x64xf32>, tensor<64xf32> -> (tensor<4x32xi8>, tensor<4x2xf32>)
    ```
  }];
  let arguments = (ins LowBit_FloatTensor:$input,
                       Optional<LowBit_FloatTensor>:$channel_scales,
                       LowBit_QuantSchemeAttr:$scheme,
                       OptionalAttr<LowBit_PackingAttr>:$packing);
  let results = (outs LowBit_PackedTensor:$result,
                      RankedTensorOf<[F32]>:$scales);
  let assemblyFormat = [{
    $input (`channel_scales` `(` $channel_scales^ `)`)?
    `scheme` `` $scheme (`packing` `` $packing^)? attr-dict
    `:` type($input) (`,` type($channel_scales)^)? `->`
    `(` type($result) `,` type($scales) `)`
  }];
  let hasVerifier = 1;
  let hasCanonicalizer = 1;
  let extraClassDeclaration = [{
    PackingAttr getPackingOrDefault();
  }];
}

def LowBit_DequantizeOp : LowBit_Op<"dequantize", [Pure]> {
  let summary = "unpack low-bit codes and scale them back to float";
  let description = [{
    The inverse of `lowbit.quantize`: unpacks the codes of `input` as
    `packing` says and returns `(decode(q) - z) * s` for every element. The
    result type gives the logical shape, which the packed bytes alone do not
    determine (a row of 3-bit codes is padded to whole bytes).

    ```mlir
    %w = lowbit.dequantize %q scales(%s) scheme<i4, per_group<32>>
        : (tensor<16x32xi8>, tensor<16x2xf32>) -> tensor<16x64xf32>
    ```
  }];
  let arguments = (ins LowBit_PackedTensor:$input,
                       LowBit_ScaleTensor:$scales,
                       Optional<LowBit_ZeroPointTensor>:$zero_points,
                       LowBit_QuantSchemeAttr:$scheme,
                       OptionalAttr<LowBit_PackingAttr>:$packing);
  let results = (outs LowBit_FloatTensor:$result);
  let assemblyFormat = [{
    $input `scales` `(` $scales `)` (`zero_points` `(` $zero_points^ `)`)?
    `scheme` `` $scheme (`packing` `` $packing^)? attr-dict
    `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let extraClassDeclaration = [{
    PackingAttr getPackingOrDefault();
  }];
}

def LowBit_LinearOp : LowBit_Op<"linear", [Pure, AttrSizedOperandSegments]> {
  let summary = "a linear layer with float activations and packed low-bit weights";
  let description = [{
    Computes `result = input x dequantize(weight)^T (+ bias)`: `input` has
    shape `[..., K]`, `weight` holds the packed codes of a logical `[N, K]`
    matrix (output channels first), and `result` has shape `[..., N]`.
    Accumulation is in f32 whatever the activation type. How the weights are
    quantized and packed is given by `scheme` and `packing` exactly as for
    `lowbit.dequantize`; lowerings are free never to materialise the float
    weights.

    With `lowrank(%t, %up)` the op adds a low-rank branch to the product:
    `y += t x up^T`, with `t` (`[..., r]`) the branch's down projection of
    the layer's input, computed before the op, and `up` (`[N, r]`) its up
    factor. This is SVDQuant's 16-bit branch as `lowbit-fuse-lowrank` folds
    it in: the kernel adds each output's `r`-term dot product to the
    low-bit one before writing it, so the output is written once.

    With `gated<act>` the op is a whole gated linear unit (SwiGLU for
    `silu`): the weight's rows come in (gate, up) pairs, row `2n` the gate
    and row `2n + 1` the up projection of output feature `n`, and
    `result[..., n] = act(y[..., 2n]) * y[..., 2n + 1]` with `y` the product
    above (bias included), so `result` has `N / 2` features. This is what
    `lowbit-fuse-gated-linear` makes of a gate and an up projection of the
    same input and the elementwise product that consumes them: one pass
    over the input and the pair of weights, and one write of the output.

    ```mlir
    %y = lowbit.linear %x, %w scales(%s) bias(%b)
        scheme<i4, per_group<32>, scale = f16>
        : (tensor<4x64xf32>, tensor<16x32xi8>, tensor<16x2xf16>, tensor<16xf32>)
        -> tensor<4x16xf32>
    // SwiGLU of 8 features: rows (gate 0, up 0, gate 1, up 1, ...)
    %h = lowbit.linear %x, %wgu scales(%sgu)
        scheme<i4, per_group<32>, scale = f16> gated<silu>
        : (tensor<4x64xf32>, tensor<16x32xi8>, tensor<16x2xf16>)
        -> tensor<4x8xf32>
    ```
  }];
  let arguments = (ins LowBit_FloatTensor:$input,
                       LowBit_PackedTensor:$weight,
                       LowBit_ScaleTensor:$scales,
                       Optional<LowBit_ZeroPointTensor>:$zero_points,
                       Optional<LowBit_FloatTensor>:$bias,
                       Optional<LowBit_FloatTensor>:$lowrank_input,
                       Optional<LowBit_FloatTensor>:$lowrank_up,
                       LowBit_QuantSchemeAttr:$scheme,
                       OptionalAttr<LowBit_PackingAttr>:$packing,
                       OptionalAttr<LowBit_GatedActivationAttr>:$gated);
  let results = (outs LowBit_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $weight `scales` `(` $scales `)`
    (`zero_points` `(` $zero_points^ `)`)? (`bias` `(` $bias^ `)`)?
    (`lowrank` `(` $lowrank_input^ `,` $lowrank_up `)`)?
    `scheme` `` $scheme (`packing` `` $packing^)? (`gated` `` $gated^)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
  let hasFolder = 1;
  let extraClassDeclaration = [{
    PackingAttr getPackingOrDefault();
    /// The features of the result: N, or N / 2 when gated.
    int64_t getResultFeatures();
    /// The logical weight shape [N, K].
    int64_t getOutFeatures();
    int64_t getInFeatures();
  }];
}

def LowBit_ChannelScaleOp : LowBit_Op<"channel_scale",
    [Pure, AllTypesMatch<["input", "result"]>]> {
  let summary = "multiply the channels of the last axis by a vector";
  let description = [{
    Computes `result[..., k] = input[..., k] * scales[k]`. This is the run-time
    form of a diagonal channel transform (a smoothing scale) that could not be
    folded into a producer such as a norm's gamma or an earlier linear layer;
    kernel fusion later folds it into the activation quantizer.

    ```mlir
    %y = lowbit.channel_scale %x, %s : tensor<4x64xf32>, tensor<64xf32>
    ```
  }];
  let arguments = (ins LowBit_FloatTensor:$input, LowBit_FloatTensor:$scales);
  let results = (outs LowBit_FloatTensor:$result);
  let assemblyFormat = [{
    $input `,` $scales attr-dict `:` type($input) `,` type($scales)
  }];
  let hasVerifier = 1;
}

def LowBit_LookupOp : LowBit_Op<"lookup", [Pure]> {
  let summary = "lane-wise lookup in a small table of values";
  let description = [{
    Computes `result[i] = table[indices[i] mod N]` for a table of N values
    (a power of two, at most 64): only the low log2(N) bits of each index
    count. This is how the CPU kernels decode 4-bit codes (integer, NF4 or
    FP4) to floats: lowbit-lower-lookups turns a 16-entry f32 table with 16
    i32 indices into AVX-512's `vpermps`, with 8 i32 indices into two of
    AVX2's 8-lane `vpermps` and a blend, and any other form into per-lane
    extracts.

    ```mlir
    %v = lowbit.lookup %table[%codes] : vector<16xf32>, vector<16xi32>
    ```
  }];
  let arguments = (ins VectorOfRankAndType<[1], [AnyFloat]>:$table,
                       VectorOfRankAndType<[1], [AnySignlessInteger]>:$indices);
  let results = (outs VectorOfRankAndType<[1], [AnyFloat]>:$result);
  let assemblyFormat = [{
    $table `[` $indices `]` attr-dict `:` type($table) `,` type($indices)
    `->` type($result)
  }];
  let hasVerifier = 1;
}

def LowBit_DotBytesOp : LowBit_Op<"dot_bytes",
    [Pure, AllTypesMatch<["acc", "result"]>, AllTypesMatch<["lhs", "rhs"]>]> {
  let summary = "accumulate four-byte dot products of unsigned and signed "
                "bytes";
  let description = [{
    Computes, for each i32 lane `i` of `acc`,
    `result[i] = acc[i] + sum_{j < 4} zext(lhs[4 i + j]) * sext(rhs[4 i + j])`:
    `lhs` holds unsigned bytes and `rhs` signed ones, four a lane, and the
    sums wrap as i32 arithmetic does. This is the integer kernels' inner
    product of int8 activations and int8 weights. lowbit-lower-lookups turns
    the 16-lane form into AVX-512 VNNI's `vpdpbusd` on targets that have
    it, and any form elsewhere into widening multiplies and lane sums.

    ```mlir
    %acc1 = lowbit.dot_bytes %acc, %x, %w : vector<16xi32>, vector<64xi8>
    ```
  }];
  let arguments = (ins VectorOfRankAndType<[1], [I32]>:$acc,
                       VectorOfRankAndType<[1], [I8]>:$lhs,
                       VectorOfRankAndType<[1], [I8]>:$rhs);
  let results = (outs VectorOfRankAndType<[1], [I32]>:$result);
  let assemblyFormat = [{
    $acc `,` $lhs `,` $rhs attr-dict `:` type($acc) `,` type($lhs)
  }];
  let hasVerifier = 1;
}

def LowBit_ObserveOp : LowBit_Op<"observe",
    [MemoryEffects<[MemRead, MemWrite]>]> {
  let summary = "record calibration statistics of a tensor";
  let description = [{
    Records per-channel statistics of `input` over its last axis (the input
    channels of the linear layer it feeds), under `key`: `absmax`
    (max |x_k| over all rows), `mean_abs` (mean |x_k|) and `gram` (the K x K
    Gram matrix X^T X that GPTQ's Hessian is made of). Rows are every index of
    the leading axes, so `[batch, seq, K]` activations count `batch * seq`
    rows. Statistics accumulate over every execution; the runtime that runs
    the lowered code owns them and writes them out.

    The op has no result and does not change `input`: it only reads it, so
    instrumenting a model leaves its numbers unchanged.

    ```mlir
    lowbit.observe %x key("blk.0.attn_q") stats <absmax, gram> : tensor<?x64xf32>
    ```
  }];
  let arguments = (ins LowBit_FloatTensor:$input, StrAttr:$key,
                       LowBit_ObserveStatsAttr:$stats);
  let assemblyFormat = [{
    $input `key` `(` $key `)` `stats` $stats attr-dict `:` type($input)
  }];
  let hasVerifier = 1;
}

#endif // LOWBIT_DIALECT_LOWBIT_IR_LOWBITOPS_TD
