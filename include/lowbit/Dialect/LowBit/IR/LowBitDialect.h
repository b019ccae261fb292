//===- LowBitDialect.h - The lowbit dialect ---------------------*- C++ -*-===//

#ifndef LOWBIT_DIALECT_LOWBIT_IR_LOWBITDIALECT_H
#define LOWBIT_DIALECT_LOWBIT_IR_LOWBITDIALECT_H

#include "mlir/IR/Dialect.h"

#include "lowbit/Dialect/LowBit/IR/LowBitOpsDialect.h.inc"

namespace mlir::lowbit {

/// The discardable attribute that names a linear layer (`blk.0.attn_q`, after
/// its weight): the model importers put it on each layer's `linalg.matmul`,
/// calibration keys its statistics by it, and the quantization passes carry
/// it over to what they make of the layer.
inline constexpr llvm::StringLiteral kLayerNameAttr = "lowbit.name";
/// The attribute tagging the matmuls of a layer's low-rank branch
/// (lowbit-lowrank-split), naming the layer.
inline constexpr llvm::StringLiteral kLowRankOfAttr = "lowbit.lowrank_of";

} // namespace mlir::lowbit

#endif // LOWBIT_DIALECT_LOWBIT_IR_LOWBITDIALECT_H
