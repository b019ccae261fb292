//===- Enums.cpp - The lowbit enums ---------------------------------------===//
//
// The dialect's enums (element formats, granularities, pack orders, observer
// statistics) are plain C++ enums shared by the numerics library, the dialect
// and the runtime; their string conversions live here, below the dialect.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Dialect/LowBit/IR/LowBitEnums.h"

#include "lowbit/Dialect/LowBit/IR/LowBitEnums.cpp.inc"
