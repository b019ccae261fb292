//===- LowBitToLinalg.h - Reference lowering of lowbit ops ------*- C++ -*-===//

#ifndef LOWBIT_CONVERSION_LOWBITTOLINALG_LOWBITTOLINALG_H
#define LOWBIT_CONVERSION_LOWBITTOLINALG_LOWBITTOLINALG_H

#include "lowbit/Dialect/LowBit/IR/LowBitEnums.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::lowbit {

class QuantSchemeAttr;
class PackingAttr;

/// The name of the runtime function `lowbit.observe` lowers to, and of the
/// module attribute that lists observer keys by id.
inline constexpr llvm::StringLiteral kObserveFunctionName = "lowbit_observe";
inline constexpr llvm::StringLiteral kObserverKeysAttrName = "lowbit.observers";
/// The attribute that keeps a function's signature on tensors through its
/// lowering to the LLVM dialect.
inline constexpr llvm::StringLiteral kTensorSignatureAttrName =
    "lowbit.tensor_signature";

/// Builds the reference dequantization of `packed` (with `scales` and the
/// optional `zeroPoints`) into a tensor of `resultType`. Exposed so that
/// other lowerings can reuse the definition for their slow paths.
FailureOr<Value> buildReferenceDequantize(OpBuilder &builder, Location loc,
                                          Value packed, Value scales,
                                          Value zeroPoints,
                                          QuantSchemeAttr scheme,
                                          PackingAttr packing,
                                          RankedTensorType resultType);

/// The gate's activation of a gated linear unit on an f32 scalar or vector:
/// silu(x) = x / (1 + exp(-x)).
Value buildGateActivation(OpBuilder &builder, Location loc, Value x,
                          GatedActivation activation);

/// The epilogue of a gated lowbit.linear: from its f32 product `[M, 2N]`,
/// whose columns come in (gate, up) pairs, `act(gate) * up` as `[M, N]` of
/// `resultElement`. Shared by the reference and the vector lowerings.
Value buildGatedEpilogue(OpBuilder &builder, Location loc, Value product,
                         GatedActivation activation, Type resultElement);

/// Adds the patterns that lower lowbit's compute ops (quantize, dequantize,
/// linear, channel_scale) to linalg/tensor/arith. `lowbit.observe` needs a
/// module-level runtime declaration and is lowered by the pass itself.
void populateLowBitToLinalgPatterns(RewritePatternSet &patterns);

} // namespace mlir::lowbit

#endif // LOWBIT_CONVERSION_LOWBITTOLINALG_LOWBITTOLINALG_H
