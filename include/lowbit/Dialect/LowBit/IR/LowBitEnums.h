//===- LowBitEnums.h - lowbit enums -----------------------------*- C++ -*-===//
//
// The enums of the lowbit dialect (element formats, granularities, pack
// orders, observer statistics), usable without the dialect's attributes.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_DIALECT_LOWBIT_IR_LOWBITENUMS_H
#define LOWBIT_DIALECT_LOWBIT_IR_LOWBITENUMS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"

#include "lowbit/Dialect/LowBit/IR/LowBitEnums.h.inc"

#endif // LOWBIT_DIALECT_LOWBIT_IR_LOWBITENUMS_H
