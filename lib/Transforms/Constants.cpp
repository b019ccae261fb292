//===- Constants.cpp - Bytes of constant tensors --------------------------===//

#include "lowbit/Transforms/Constants.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;

std::optional<ArrayRef<char>> mlir::lowbit::getConstantBytes(Value value) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return std::nullopt;
  auto type = cast<ShapedType>(constant.getType());
  if (type.getElementTypeBitWidth() % 8 != 0)
    return std::nullopt;
  if (auto blob = dyn_cast<DenseResourceElementsAttr>(constant.getValue())) {
    AsmResourceBlob *data = blob.getRawHandle().getBlob();
    if (!data)
      return std::nullopt;
    return data->getData();
  }
  auto dense = dyn_cast<DenseElementsAttr>(constant.getValue());
  if (!dense || dense.isSplat())
    return std::nullopt;
  return dense.getRawData();
}

TypedAttr mlir::lowbit::makeConstantLike(Attribute like, RankedTensorType type,
                                         StringRef suffix,
                                         ArrayRef<char> bytes) {
  auto blob = dyn_cast<DenseResourceElementsAttr>(like);
  if (!blob)
    return DenseElementsAttr::getFromRawBuffer(type, bytes);
  size_t alignment = std::max<size_t>(type.getElementTypeBitWidth() / 8, 8);
  return DenseResourceElementsAttr::get(
      type, (blob.getRawHandle().getKey() + suffix).str(),
      HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignment));
}
