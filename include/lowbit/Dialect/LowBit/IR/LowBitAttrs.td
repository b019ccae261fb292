//===- LowBitAttrs.td - lowbit enums and attributes --------*- tablegen -*-===//

#ifndef LOWBIT_DIALECT_LOWBIT_IR_LOWBITATTRS_TD
#define LOWBIT_DIALECT_LOWBIT_IR_LOWBITATTRS_TD

include "lowbit/Dialect/LowBit/IR/LowBitDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def LowBit_ElementFormat : I32EnumAttr<"ElementFormat",
    "the number format of one quantized element", [
      I32EnumAttrCase<"sint", 0>,
      I32EnumAttrCase<"uint", 1>,
      I32EnumAttrCase<"f8E4M3FN", 2>,
      I32EnumAttrCase<"f8E5M2", 3>,
      I32EnumAttrCase<"f4E2M1FN", 4>,
      I32EnumAttrCase<"nf4", 5>,
      I32EnumAttrCase<"ternary", 6>
    ]> {
  let cppNamespace = "::mlir::lowbit";
  let genSpecializedAttr = 0;
}

def LowBit_Granularity : I32EnumAttr<"Granularity",
    "which elements of a tensor share one scale", [
      I32EnumAttrCase<"per_tensor", 0>,
      I32EnumAttrCase<"per_channel", 1>,
      I32EnumAttrCase<"per_group", 2>,
      I32EnumAttrCase<"per_ic_group", 3>
    ]> {
  let cppNamespace = "::mlir::lowbit";
  let genSpecializedAttr = 0;
}

def LowBit_PackOrder : I32EnumAttr<"PackOrder",
    "how the codes of one row are placed into bytes", [
      I32EnumAttrCase<"sequential", 0>,
      I32EnumAttrCase<"interleaved", 1>,
      I32EnumAttrCase<"base3", 2>
    ]> {
  let cppNamespace = "::mlir::lowbit";
  let genSpecializedAttr = 0;
}

def LowBit_GatedActivation : I32EnumAttr<"GatedActivation",
    "the activation of a gated linear unit's gate", [
      I32EnumAttrCase<"silu", 0>
    ]> {
  let cppNamespace = "::mlir::lowbit";
  let genSpecializedAttr = 0;
}

def LowBit_ObserveStats : I32BitEnumAttr<"ObserveStats",
    "the calibration statistics an observer collects", [
      I32BitEnumAttrCaseNone<"none">,
      I32BitEnumAttrCaseBit<"absmax", 0>,
      I32BitEnumAttrCaseBit<"mean_abs", 1>,
      I32BitEnumAttrCaseBit<"gram", 2>,
      I32BitEnumAttrCaseGroup<"all", [I32BitEnumAttrCaseBit<"absmax", 0>,
                                     I32BitEnumAttrCaseBit<"mean_abs", 1>,
                                     I32BitEnumAttrCaseBit<"gram", 2>]>
    ]> {
  let cppNamespace = "::mlir::lowbit";
  let separator = ", ";
  let genSpecializedAttr = 0;
  let printBitEnumPrimaryGroups = 1;
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

class LowBit_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<LowBit_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

def LowBit_ObserveStatsAttr
    : EnumAttr<LowBit_Dialect, LowBit_ObserveStats, "stats"> {
  let assemblyFormat = "`<` $value `>`";
}

def LowBit_GatedActivationAttr
    : EnumAttr<LowBit_Dialect, LowBit_GatedActivation, "gated"> {
  let assemblyFormat = "`<` $value `>`";
}

def LowBit_QuantSchemeAttr : LowBit_Attr<"QuantScheme", "scheme"> {
  let summary = "how a tensor is quantized: element format, granularity, "
                "zero point and scale type";
  let description = [{
    A quantization scheme, described by value. A real number `x` is stored as
    the code `q` of the element format with

    ```
    x = (decode(q) - z) * s        q = encode(x / s + z)
    ```

    where `s` is the scale and `z` the zero point of the block of elements `x`
    belongs to, `decode` maps a code to the value it stands for and `encode`
    rounds to the nearest representable value (ties to even, saturating).

    Syntax: `#lowbit.scheme<FORMAT, GRANULARITY [, zero_point] [, scale = TYPE]>`.

    - FORMAT is an integer type (`i2`..`i8` or `si2`..`si8` signed, codes in
      [-2^(b-1), 2^(b-1)-1]; `ui2`..`ui8` unsigned, codes in [0, 2^b-1]), one
      of the builtin small float types `f8E4M3FN`, `f8E5M2`, `f4E2M1FN`, or
      the keywords `nf4` (the 16 NormalFloat levels of QLoRA in [-1, 1]) and
      `ternary` ({-1, 0, 1}).
    - GRANULARITY says which elements share a scale. With the last axis `K` the
      reduction axis and the scales tensor of the same rank as the data:
      `per_tensor` (scales of shape 1x..x1), `per_channel` (one scale per row:
      `d0 x .. x d(r-2) x 1`), `per_group<G>` (groups of G consecutive
      elements along K: `d0 x .. x d(r-2) x K/G`) and `per_ic_group<G>`
      (AdaDim's per-input-channel groups: groups of G rows for every input
      channel, `.. x d(r-2)/G x K`).
    - `zero_point` makes the scheme asymmetric: a zero-point tensor of the
      shape of the scales comes with the data. Only integer formats take one.
    - `scale = TYPE` is the element type of the scales: `f32` (the default),
      `f16`, `bf16`, or `f8E8M0FNU` (power-of-two block scales, as in MX
      formats).

    Examples:

    ```mlir
    #lowbit.scheme<i4, per_group<128>, scale = f16>          // W4 g128, symmetric
    #lowbit.scheme<ui4, per_group<32>, zero_point, scale = f16> // GGUF Q4_1
    #lowbit.scheme<i8, per_channel>                            // W8 per channel
    #lowbit.scheme<f4E2M1FN, per_group<32>, scale = f8E8M0FNU> // MXFP4
    #lowbit.scheme<ternary, per_channel>
    ```
  }];
  let parameters = (ins
    EnumParameter<LowBit_ElementFormat>:$format,
    "unsigned":$bits,
    EnumParameter<LowBit_Granularity>:$granularity,
    "int64_t":$groupSize,
    "bool":$symmetric,
    "::mlir::Type":$scaleType
  );
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The smallest and largest code of an integer format, as values.
    int64_t getMinCode() const;
    int64_t getMaxCode() const;
    /// True for the formats whose codes are integers (sint, uint).
    bool isIntegerFormat() const;

    /// The shape the scales (and zero points) of a tensor of `shape` must
    /// have under this scheme; dynamic extents stay dynamic. Fails, through
    /// `emitError`, when the shape cannot be quantized with this scheme (a
    /// group size that does not divide its axis, a rank too small).
    ::mlir::FailureOr<::llvm::SmallVector<int64_t>> getScaleShape(
        ::llvm::ArrayRef<int64_t> shape,
        ::llvm::function_ref<::mlir::InFlightDiagnostic()> emitError) const;
  }];
}

def LowBit_PackingAttr : LowBit_Attr<"Packing", "packing"> {
  let summary = "how the codes of a quantized tensor are laid out in bytes";
  let description = [{
    Packed codes are stored in an `i8` tensor with the leading axes of the
    data and one last axis of packed bytes per row. Within a row:

    - `sequential`: code `k` occupies bits `[k*b, (k+1)*b)` of the row read as
      a little-endian bit stream; a row takes `ceil(K*b/8)` bytes. Works for
      every bit width, 3-bit codes straddle bytes.
    - `interleaved, block = B`: the row is cut into blocks of `B` codes; with
      `p = 8/b` codes per byte and `B/p` bytes per block, byte `j` of a block
      holds codes `j, j + B/p, .., j + (p-1)*B/p` from the low bits up. This is
      GGUF's Q4_0/Q4_1 layout for `b = 4, B = 32`, and lets a kernel unpack
      whole vectors with one shift and mask. Needs `b` to divide 8 and `B` to
      divide `K`.
    - `base3`: five ternary digits per byte, `byte = sum(d_i * 3^i)` with
      `d = code + 1` (1.6 bits per weight). Ternary only.

    ```mlir
    #lowbit.packing<sequential>
    #lowbit.packing<interleaved, block = 32>
    #lowbit.packing<base3>
    ```
  }];
  let parameters = (ins
    EnumParameter<LowBit_PackOrder>:$order,
    DefaultValuedParameter<"int64_t", "0">:$block
  );
  let assemblyFormat = "`<` $order (`,` `block` `=` $block^)? `>`";
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    /// The packing used where an op carries none.
    static PackingAttr getDefault(::mlir::MLIRContext *context);
  }];
}

#endif // LOWBIT_DIALECT_LOWBIT_IR_LOWBITATTRS_TD
