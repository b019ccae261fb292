//===- LowBitAttrs.h - lowbit attributes ------------------------*- C++ -*-===//

#ifndef LOWBIT_DIALECT_LOWBIT_IR_LOWBITATTRS_H
#define LOWBIT_DIALECT_LOWBIT_IR_LOWBITATTRS_H

#include "lowbit/Dialect/LowBit/IR/LowBitEnums.h"
#include "lowbit/Support/QuantMath.h"
#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"

#define GET_ATTRDEF_CLASSES
#include "lowbit/Dialect/LowBit/IR/LowBitAttrs.h.inc"

namespace mlir::lowbit {

/// The plain descriptions of schemes and packings that the numerics library
/// (lowbit/Support/QuantMath.h) works with.
FormatSpec getFormatSpec(QuantSchemeAttr scheme);
QuantScheme getQuantScheme(QuantSchemeAttr scheme);
PackingSpec getPackingSpec(PackingAttr packing);

/// The storage format of scales of element type `type`, if LowBit supports
/// it (f32, f16, bf16, f8E8M0FNU).
std::optional<ScaleFormat> getScaleFormat(Type type);

} // namespace mlir::lowbit

#endif // LOWBIT_DIALECT_LOWBIT_IR_LOWBITATTRS_H
