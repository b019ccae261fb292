//===- QuantizeActivations.cpp - Quantize the inputs of linear layers -----===//

#include "lowbit/Analysis/ChannelSinks.h"
#include "lowbit/Dialect/LowBit/IR/LowBitOps.h"
#include "lowbit/Quantization/ChannelTransforms.h"
#include "lowbit/Quantization/Passes.h"
#include "lowbit/Quantization/WeightQuantization.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

namespace mlir::lowbit {
#define GEN_PASS_DEF_QUANTIZEACTIVATIONSPASS
#include "lowbit/Quantization/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

namespace {
struct QuantizeActivationsPass
    : public lowbit::impl::QuantizeActivationsPassBase<
          QuantizeActivationsPass> {
  using Base::Base;
  void runOnOperation() override;

private:
  /// The float value `linear` should read instead of its input: the input
  /// quantized and dequantized, made once per input.
  FailureOr<Value> quantize(LinearOp linear);

  QuantSchemeAttr scheme;
  llvm::StringMap<LayerStatistics> layerStats;
  DenseMap<Value, Value> quantizedOf;
};
} // namespace

FailureOr<Value> QuantizeActivationsPass::quantize(LinearOp linear) {
  Value input = linear.getInput();
  if (Value known = quantizedOf.lookup(input))
    return known;
  RankedTensorType type = linear.getInput().getType();
  OpBuilder b(&getContext());
  b.setInsertionPointAfterValue(input);
  Location loc = linear.getLoc();
  FormatSpec format = getFormatSpec(scheme);
  int64_t rowBytes = getPackedRowBytes(PackingSpec(), format.bits,
                                       type.getShape().back());
  SmallVector<int64_t> packedShape(type.getShape());
  packedShape.back() = rowBytes;
  auto packedType = RankedTensorType::get(packedShape, b.getI8Type());
  FailureOr<SmallVector<int64_t>> scaleShape = scheme.getScaleShape(
      type.getShape(), [&] { return linear.emitError(); });
  if (failed(scaleShape))
    return failure();
  auto scalesType = RankedTensorType::get(*scaleShape, b.getF32Type());

  Value codes, scales;
  if (static_) {
    FailureOr<LayerStatistics> stats = getLayerStatistics(
        layerStats, linear, type.getShape().back(), this->stats);
    if (failed(stats))
      return failure();
    float absMax = 0.0f;
    for (float value : stats->absMax)
      absMax = std::max(absMax, value);
    float scale = absMax > 0.0f ? absMax / format.getMaxMagnitude() : 1.0f;
    scales = arith::ConstantOp::create(
        b, loc, DenseElementsAttr::get(scalesType, ArrayRef<float>(scale)));
    codes = QuantizeOp::create(b, loc, packedType, input, scales,
                               /*zero_points=*/Value(), scheme,
                               /*packing=*/PackingAttr());
  } else {
    // A smoothing scale left at run time goes into the quantizer.
    Value source = input, channelScales;
    if (auto channelScale = input.getDefiningOp<ChannelScaleOp>()) {
      source = channelScale.getInput();
      channelScales = channelScale.getScales();
    }
    auto quantizer = QuantizeDynamicOp::create(
        b, loc, TypeRange{packedType, scalesType}, source, channelScales,
        scheme, /*packing=*/PackingAttr());
    codes = quantizer.getResult();
    scales = quantizer.getScales();
  }
  Value dequantized = DequantizeOp::create(b, loc, type, codes, scales,
                                           /*zero_points=*/Value(), scheme,
                                           /*packing=*/PackingAttr());
  ++numQuantizers;
  quantizedOf[input] = dequantized;
  return dequantized;
}

void QuantizeActivationsPass::runOnOperation() {
  ModuleOp module = getOperation();
  Location loc = module.getLoc();
  bool perTensor = granularity == ActivationGranularity::perTensor;
  if (static_ && !perTensor) {
    emitError(loc, "static activation scales are per tensor: use "
                   "granularity=per-tensor");
    return signalPassFailure();
  }
  if (static_ && stats.empty()) {
    emitError(loc, "static activation scales need calibration statistics: "
                   "stats=FILE (from lowbit-run calibrate)");
    return signalPassFailure();
  }
  WeightSchemeOptions options;
  options.format = format;
  options.perTensor = perTensor;
  options.group = group;
  options.scaleType = "f32";
  FailureOr<QuantSchemeAttr> built =
      buildWeightScheme(&getContext(), loc, options);
  if (failed(built))
    return signalPassFailure();
  scheme = *built;
  ElementFormat element = scheme.getFormat();
  if (element == ElementFormat::ternary || element == ElementFormat::uint) {
    emitError(loc) << "activations take signed integer or float formats, not "
                   << format;
    return signalPassFailure();
  }

  layerStats.clear();
  if (static_) {
    auto read = readCalibrationStats(stats);
    if (!read) {
      emitError(loc) << llvm::toString(read.takeError());
      return signalPassFailure();
    }
    layerStats = std::move(*read);
  }

  LayerNameFilter skipped(skip);
  SmallVector<LinearOp> layers;
  module.walk([&](LinearOp linear) {
    StringRef name = getLayerName(linear);
    if (!name.empty() && !skipped.matches(name) &&
        !linear.getInput().getDefiningOp<DequantizeOp>())
      layers.push_back(linear);
  });
  quantizedOf.clear();
  for (LinearOp linear : layers) {
    FailureOr<Value> input = quantize(linear);
    if (failed(input))
      return signalPassFailure();
    linear.getInputMutable().assign(*input);
    ++numQuantized;
  }
}
