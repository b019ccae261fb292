//===- LowBitDialect.td - The lowbit dialect ---------------*- tablegen -*-===//

#ifndef LOWBIT_DIALECT_LOWBIT_IR_LOWBITDIALECT_TD
#define LOWBIT_DIALECT_LOWBIT_IR_LOWBITDIALECT_TD

include "mlir/IR/OpBase.td"

def LowBit_Dialect : Dialect {
  let name = "lowbit";
  let cppNamespace = "::mlir::lowbit";
  let summary = "Quantized tensors, packed low-bit weights and fused quantized kernels";
  let description = [{
    The `lowbit` dialect holds what upstream MLIR cannot say about quantized
    large-language-model inference: packed sub-byte weights whose scales and
    zero points are ordinary tensors (a 4096x4096 layer quantized in groups of
    128 has 131072 scales, far too many to bake into a type), a quantized linear
    layer that consumes such weights, per-channel transforms that could not be
    folded into a neighbour, and observers that collect calibration statistics.

    How a tensor is quantized is described by value, by the
    `#lowbit.scheme<...>` attribute (element format, granularity, zero point,
    scale type), and how its codes are laid out in bytes by the
    `#lowbit.packing<...>` attribute. A new format is a new attribute value with
    its pack/unpack and kernels, never a new op family.

    Conventions shared by every op: the last axis of a quantized tensor is its
    reduction axis `K` (the input channels of a linear layer), a linear
    layer's weight has the logical shape `[N, K]` (output channels first), and
    packed codes are stored as `i8` tensors whose last axis holds the packed
    bytes of one row.
  }];
  let useDefaultAttributePrinterParser = 1;
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

class LowBit_Op<string mnemonic, list<Trait> traits = []>
    : Op<LowBit_Dialect, mnemonic, traits>;

#endif // LOWBIT_DIALECT_LOWBIT_IR_LOWBITDIALECT_TD
