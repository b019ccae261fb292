//===- LowBitOps.cpp - lowbit operations ----------------------------------===//

#include "lowbit/Dialect/LowBit/IR/LowBitOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::lowbit;

#define GET_OP_CLASSES
#include "lowbit/Dialect/LowBit/IR/LowBitOps.cpp.inc"

/// Formats a shape as it appears in a tensor type, `4x?x2`.
static std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleave(
      shape, os,
      [&](int64_t extent) {
        if (ShapedType::isDynamic(extent))
          os << "?";
        else
          os << extent;
      },
      "x");
  return text;
}

/// Whether two extents can be equal (a dynamic extent matches anything).
static bool compatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

static bool compatible(ArrayRef<int64_t> a, ArrayRef<int64_t> b) {
  return a.size() == b.size() &&
         llvm::all_of(llvm::zip(a, b), [](auto pair) {
           return compatible(std::get<0>(pair), std::get<1>(pair));
         });
}

/// Checks that a packed tensor, its scales and its zero points agree with the
/// logical shape of the data they encode, under `scheme` and `packing`. Shared
/// by every op that carries quantized data, so all of them accept exactly the
/// same layouts.
static LogicalResult
verifyQuantizedLayout(Operation *op, StringRef packedName,
                      QuantSchemeAttr scheme, PackingAttr packing,
                      ArrayRef<int64_t> logicalShape,
                      RankedTensorType packedType, RankedTensorType scalesType,
                      Value zeroPoints) {
  if (logicalShape.empty())
    return op->emitOpError("expected quantized data of rank at least 1");
  FormatSpec format = getFormatSpec(scheme);
  int64_t rowLength = logicalShape.back();
  std::string problem =
      checkPacking(getPackingSpec(packing), format,
                   ShapedType::isDynamic(rowLength) ? -1 : rowLength);
  if (!problem.empty())
    return op->emitOpError() << problem;

  ArrayRef<int64_t> packedShape = packedType.getShape();
  if (packedShape.size() != logicalShape.size())
    return op->emitOpError() << "expected the packed " << packedName
                             << " to have rank " << logicalShape.size()
                             << ", got " << packedShape.size();
  for (size_t axis = 0; axis + 1 < logicalShape.size(); ++axis) {
    if (!compatible(packedShape[axis], logicalShape[axis]))
      return op->emitOpError()
             << "axis " << axis << " of the packed " << packedName
             << " has extent " << packedShape[axis] << ", expected "
             << logicalShape[axis];
  }
  if (!ShapedType::isDynamic(rowLength)) {
    int64_t rowBytes =
        getPackedRowBytes(getPackingSpec(packing), format.bits, rowLength);
    if (!compatible(packedShape.back(), rowBytes))
      return op->emitOpError()
             << "expected " << rowBytes << " packed bytes per row of "
             << rowLength << " " << format.bits << "-bit codes, got "
             << packedShape.back();
  }

  FailureOr<SmallVector<int64_t>> scaleShape =
      scheme.getScaleShape(logicalShape, [&] { return op->emitOpError(); });
  if (failed(scaleShape))
    return failure();
  if (!compatible(scalesType.getShape(), *scaleShape))
    return op->emitOpError()
           << "expected scales of shape " << formatShape(*scaleShape)
           << " for data of shape " << formatShape(logicalShape) << ", got "
           << formatShape(scalesType.getShape());
  if (scalesType.getElementType() != scheme.getScaleType())
    return op->emitOpError()
           << "scales have element type " << scalesType.getElementType()
           << " but the scheme stores scales as " << scheme.getScaleType();

  if (scheme.getSymmetric() && zeroPoints)
    return op->emitOpError("a symmetric scheme takes no zero points");
  if (!scheme.getSymmetric() && !zeroPoints)
    return op->emitOpError("the scheme has a zero point but no zero_points "
                           "operand is given");
  if (zeroPoints) {
    auto zeroType = cast<RankedTensorType>(zeroPoints.getType());
    if (!compatible(zeroType.getShape(), *scaleShape))
      return op->emitOpError()
             << "expected zero points of the shape of the scales, "
             << formatShape(*scaleShape) << ", got "
             << formatShape(zeroType.getShape());
  }
  return success();
}

static PackingAttr packingOrDefault(PackingAttr packing, MLIRContext *context) {
  return packing ? packing : PackingAttr::getDefault(context);
}

/// Folds an explicitly written default packing away, in place, so that equal
/// ops print and compare equal.
template <typename OpTy>
static OpFoldResult foldDefaultPacking(OpTy op) {
  PackingAttr packing = op.getPackingAttr();
  if (!packing || packing != PackingAttr::getDefault(op.getContext()))
    return {};
  op.removePackingAttr();
  return op.getResult();
}

//===----------------------------------------------------------------------===//
// QuantizeOp
//===----------------------------------------------------------------------===//

PackingAttr QuantizeOp::getPackingOrDefault() {
  return packingOrDefault(getPackingAttr(), getContext());
}

OpFoldResult QuantizeOp::fold(FoldAdaptor) { return foldDefaultPacking(*this); }

LogicalResult QuantizeOp::verify() {
  return verifyQuantizedLayout(*this, "result", getScheme(),
                               getPackingOrDefault(),
                               getInput().getType().getShape(),
                               getResult().getType(), getScales().getType(),
                               getZeroPoints());
}

//===----------------------------------------------------------------------===//
// QuantizeDynamicOp
//===----------------------------------------------------------------------===//

PackingAttr QuantizeDynamicOp::getPackingOrDefault() {
  return packingOrDefault(getPackingAttr(), getContext());
}

LogicalResult QuantizeDynamicOp::verify() {
  QuantSchemeAttr scheme = getScheme();
  if (!scheme.getSymmetric())
    return emitOpError("dynamic quantization is symmetric: the scheme takes "
                       "no zero point");
  if (!scheme.getScaleType().isF32())
    return emitOpError() << "dynamic quantization computes f32 scales, but "
                            "the scheme stores them as "
                         << scheme.getScaleType();
  if (scheme.getFormat() == ElementFormat::ternary)
    return emitOpError("ternary codes take their scale from the mean, not "
                       "the maximum: no dynamic ternary quantization");
  if (scheme.getGranularity() == Granularity::per_ic_group)
    return emitOpError("per-input-channel groups are a weight layout; "
                       "activations take per_tensor, per_channel (per "
                       "token) or per_group");
  if (Value channelScales = getChannelScales()) {
    auto type = cast<RankedTensorType>(channelScales.getType());
    int64_t channels = getInput().getType().getShape().back();
    if (type.getRank() != 1 || !compatible(type.getDimSize(0), channels))
      return emitOpError() << "expected channel scales of shape "
                           << formatShape(channels)
                           << " (one per channel of the last axis), got "
                           << formatShape(type.getShape());
  }
  return verifyQuantizedLayout(*this, "result", scheme, getPackingOrDefault(),
                               getInput().getType().getShape(),
                               getResult().getType(), getScales().getType(),
                               /*zeroPoints=*/Value());
}

namespace {
/// quantize_dynamic(channel_scale(x, c)) -> quantize_dynamic(x,
/// channel_scales(c)): the smoothing scale moves into the quantizer, which
/// reads x once.
struct FoldChannelScaleIntoQuantizer
    : public OpRewritePattern<QuantizeDynamicOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(QuantizeDynamicOp op,
                                PatternRewriter &rewriter) const override {
    auto scale = op.getInput().getDefiningOp<ChannelScaleOp>();
    if (!scale || op.getChannelScales())
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      op.getInputMutable().assign(scale.getInput());
      op.getChannelScalesMutable().assign(scale.getScales());
    });
    return success();
  }
};
} // namespace

void QuantizeDynamicOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                                    MLIRContext *context) {
  results.add<FoldChannelScaleIntoQuantizer>(context);
}

//===----------------------------------------------------------------------===//
// DequantizeOp
//===----------------------------------------------------------------------===//

PackingAttr DequantizeOp::getPackingOrDefault() {
  return packingOrDefault(getPackingAttr(), getContext());
}

OpFoldResult DequantizeOp::fold(FoldAdaptor) {
  return foldDefaultPacking(*this);
}

LogicalResult DequantizeOp::verify() {
  return verifyQuantizedLayout(*this, "input", getScheme(),
                               getPackingOrDefault(),
                               getResult().getType().getShape(),
                               getInput().getType(), getScales().getType(),
                               getZeroPoints());
}

//===----------------------------------------------------------------------===//
// LinearOp
//===----------------------------------------------------------------------===//

PackingAttr LinearOp::getPackingOrDefault() {
  return packingOrDefault(getPackingAttr(), getContext());
}

int64_t LinearOp::getOutFeatures() {
  return getWeight().getType().getDimSize(0);
}

int64_t LinearOp::getResultFeatures() {
  return getGated() ? getOutFeatures() / 2 : getOutFeatures();
}

int64_t LinearOp::getInFeatures() {
  return getInput().getType().getShape().back();
}

OpFoldResult LinearOp::fold(FoldAdaptor) { return foldDefaultPacking(*this); }

LogicalResult LookupOp::verify() {
  VectorType table = getTable().getType(), indices = getIndices().getType(),
             result = getResult().getType();
  int64_t entries = table.getNumElements();
  if (table.isScalable() || indices.isScalable() ||
      !llvm::isPowerOf2_64(entries) || entries > 64)
    return emitOpError("expected a fixed-size table of a power of two "
                       "entries, at most 64, but got ")
           << table;
  if (result.getElementType() != table.getElementType() ||
      result.getNumElements() != indices.getNumElements())
    return emitOpError("expected a result of the table's element type with "
                       "one lane per index, but got ")
           << result;
  return success();
}

LogicalResult DotBytesOp::verify() {
  VectorType acc = getAcc().getType(), bytes = getLhs().getType();
  if (acc.isScalable() || bytes.isScalable() ||
      bytes.getNumElements() != 4 * acc.getNumElements())
    return emitOpError("expected four bytes a lane of the accumulator, but "
                       "got ")
           << bytes << " for " << acc;
  return success();
}

LogicalResult LinearOp::verify() {
  RankedTensorType inputType = getInput().getType();
  RankedTensorType weightType = getWeight().getType();
  RankedTensorType resultType = getResult().getType();
  if (inputType.getRank() < 1)
    return emitOpError("expected an input of rank at least 1");
  if (weightType.getRank() != 2)
    return emitOpError() << "expected a packed weight of rank 2 ([N, K] "
                            "codes), got rank "
                         << weightType.getRank();
  int64_t outFeatures = getOutFeatures(), inFeatures = getInFeatures();
  if (getGated() && !ShapedType::isDynamic(outFeatures) && outFeatures % 2)
    return emitOpError() << "expected (gate, up) pairs of weight rows when "
                            "gated, got "
                         << outFeatures << " rows";
  SmallVector<int64_t> expectedResult(inputType.getShape());
  expectedResult.back() = getResultFeatures();
  if (!compatible(resultType.getShape(), expectedResult))
    return emitOpError() << "expected a result of shape "
                         << formatShape(expectedResult) << ", got "
                         << formatShape(resultType.getShape());
  if (Value bias = getBias()) {
    auto biasType = cast<RankedTensorType>(bias.getType());
    if (biasType.getRank() != 1 ||
        !compatible(biasType.getDimSize(0), outFeatures))
      return emitOpError() << "expected a bias of shape " << outFeatures
                           << ", got " << formatShape(biasType.getShape());
  }
  if (bool(getLowrankInput()) != bool(getLowrankUp()))
    return emitOpError("expected both the low-rank input and its up factor");
  if (Value lowrank = getLowrankInput()) {
    auto lowrankType = cast<RankedTensorType>(lowrank.getType());
    auto upType = cast<RankedTensorType>(getLowrankUp().getType());
    int64_t rank = upType.getRank() == 2 ? upType.getDimSize(1)
                                         : ShapedType::kDynamic;
    SmallVector<int64_t> expectedLowrank(inputType.getShape());
    expectedLowrank.back() = rank;
    if (upType.getRank() != 2 ||
        !compatible(upType.getDimSize(0), outFeatures))
      return emitOpError() << "expected a low-rank up factor of shape "
                           << outFeatures << "xR, got "
                           << formatShape(upType.getShape());
    if (!compatible(lowrankType.getShape(), expectedLowrank))
      return emitOpError() << "expected a low-rank input of shape "
                           << formatShape(expectedLowrank) << ", got "
                           << formatShape(lowrankType.getShape());
  }
  return verifyQuantizedLayout(*this, "weight", getScheme(),
                               getPackingOrDefault(), {outFeatures, inFeatures},
                               weightType, getScales().getType(),
                               getZeroPoints());
}

//===----------------------------------------------------------------------===//
// ChannelScaleOp
//===----------------------------------------------------------------------===//

LogicalResult ChannelScaleOp::verify() {
  RankedTensorType inputType = getInput().getType();
  RankedTensorType scalesType = getScales().getType();
  if (inputType.getRank() < 1)
    return emitOpError("expected an input of rank at least 1");
  if (scalesType.getRank() != 1 ||
      !compatible(scalesType.getDimSize(0), inputType.getShape().back()))
    return emitOpError() << "expected scales of shape "
                         << formatShape(inputType.getShape().back())
                         << " (one per channel of the last axis), got "
                         << formatShape(scalesType.getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// ObserveOp
//===----------------------------------------------------------------------===//

LogicalResult ObserveOp::verify() {
  if (getKey().empty())
    return emitOpError("expected a non-empty key");
  if (getInput().getType().getRank() < 1)
    return emitOpError("expected an input of rank at least 1");
  if (getStats() == ObserveStats::none)
    return emitOpError("expected at least one statistic to collect");
  if (bitEnumContainsAny(getStats(), ObserveStats::gram) &&
      ShapedType::isDynamic(getInput().getType().getShape().back()))
    return emitOpError("a Gram matrix needs a static channel count");
  return success();
}
