//===- Constants.h - Bytes of constant tensors ------------------*- C++ -*-===//
//
// Passes that rebuild weights (interleaving rows, repacking codes) read a
// constant's raw bytes, whether it is a dense_resource blob or a dense
// literal, and write the result back in the same kind, so that blobs stay
// blobs and are still externalized.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_TRANSFORMS_CONSTANTS_H
#define LOWBIT_TRANSFORMS_CONSTANTS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"

#include <optional>

namespace mlir::lowbit {

/// The bytes of a tensor defined by an arith.constant: a blob (that has
/// its data) or a non-splat dense literal of whole-byte elements.
std::optional<ArrayRef<char>> getConstantBytes(Value value);

/// A constant of `type` holding `bytes`: a blob keyed `<like's key><suffix>`
/// when `like` is a dense_resource attribute, a dense literal otherwise.
TypedAttr makeConstantLike(Attribute like, RankedTensorType type,
                           StringRef suffix, ArrayRef<char> bytes);

} // namespace mlir::lowbit

#endif // LOWBIT_TRANSFORMS_CONSTANTS_H
