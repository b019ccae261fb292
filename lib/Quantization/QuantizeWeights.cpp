//===- QuantizeWeights.cpp - RTN and GPTQ weight quantization pass --------===//

#include "lowbit/Analysis/ChannelSinks.h"
#include "lowbit/Dialect/LowBit/IR/LowBitOps.h"
#include "lowbit/Quantization/CalibrationStats.h"
#include "lowbit/Quantization/ChannelTransforms.h"
#include "lowbit/Quantization/Gptq.h"
#include "lowbit/Quantization/Passes.h"
#include "lowbit/Quantization/WeightQuantization.h"
#include "lowbit/Support/QuantMath.h"
#include "lowbit/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Threading.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

namespace mlir::lowbit {
#define GEN_PASS_DEF_QUANTIZEWEIGHTSPASS
#include "lowbit/Quantization/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

namespace {

/// One linear layer to quantize: what the parallel phase needs, gathered
/// and checked on the IR beforehand. A model has one entry point per token
/// count, each with its own matmul on the same weight: they share one job,
/// so the weight is quantized once and its blobs are shared.
struct LayerJob {
  SmallVector<linalg::MatmulOp> matmuls;
  StringRef name;
  int64_t outFeatures = 0, inFeatures = 0;
  /// The float weights, [N, K] row-major: the constant's blob, read in
  /// place, or a copy of a `dense` literal.
  const float *blobWeights = nullptr;
  std::vector<float> ownedWeights;
  /// GPTQ's calibration statistics of the layer's input, as the layer sees
  /// it after the channel transforms applied to it.
  LayerStatistics stats;
  /// The layer's scheme: the pass's, or the layer's own
  /// (`lowbit.weight_scheme`, from a mixed-precision split).
  QuantSchemeAttr scheme;
  /// Results of the parallel phase.
  QuantizedTensor quantized;
  std::string error;

  ArrayRef<float> getWeights() const {
    if (blobWeights)
      return ArrayRef<float>(blobWeights, outFeatures * inFeatures);
    return ownedWeights;
  }
};

struct QuantizeWeightsPass
    : public lowbit::impl::QuantizeWeightsPassBase<QuantizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override;

private:
  FailureOr<QuantSchemeAttr> buildScheme();
  bool isSkipped(StringRef name) const;
  /// Checks a named matmul and reads its weights into a new job, or adds it
  /// to the job of the same layer name and weight. Returns failure after an
  /// error, and success without a job for a layer left in float.
  LogicalResult prepareLayer(linalg::MatmulOp matmul, QuantSchemeAttr scheme,
                             std::vector<LayerJob> &jobs);
  /// Reads the weights `value` of a layer seen the first time and checks
  /// them against the scheme and the statistics.
  LogicalResult addJob(linalg::MatmulOp matmul, StringAttr name,
                       Attribute value, QuantSchemeAttr scheme,
                       std::vector<LayerJob> &jobs);
  void rewriteLayer(LayerJob &job);

  std::optional<LayerNameFilter> skipped;
  /// The layers `only` selects; none when it is empty.
  std::optional<LayerNameFilter> selected;
  llvm::StringMap<LayerStatistics> layerStats;
  /// The job of each (layer name, weight constant) pair, and the pairs
  /// already diagnosed.
  DenseMap<std::pair<Attribute, Attribute>, size_t> jobOfWeight;
  DenseSet<std::pair<Attribute, Attribute>> failedLayers;
};

} // namespace

/// The scheme the options describe. Option errors are reported at the
/// module's location, without the module itself (a whole model) attached.
FailureOr<QuantSchemeAttr> QuantizeWeightsPass::buildScheme() {
  WeightSchemeOptions options;
  options.format = format;
  options.group = group;
  options.icGroup = icGroup;
  options.symmetric = symmetric;
  options.scaleType = scaleType;
  return buildWeightScheme(&getContext(), getOperation().getLoc(), options);
}

bool QuantizeWeightsPass::isSkipped(StringRef name) const {
  return (skipped && skipped->matches(name)) ||
         (selected && !selected->matches(name));
}

/// Whether `value` is all zeros: a zero fill or a zero splat constant.
static bool isZeroTensor(Value value) {
  if (auto fill = value.getDefiningOp<linalg::FillOp>())
    return matchPattern(fill.getInputs()[0], m_AnyZeroFloat());
  return matchPattern(value, m_AnyZeroFloat());
}

LogicalResult
QuantizeWeightsPass::prepareLayer(linalg::MatmulOp matmul,
                                  QuantSchemeAttr scheme,
                                  std::vector<LayerJob> &jobs) {
  auto name = matmul->getAttrOfType<StringAttr>(kLayerNameAttr);
  auto leaveInFloat = [&](const Twine &why) {
    matmul.emitRemark() << "layer '" << name.getValue()
                        << "' left in float: " << why;
    ++numLeftInFloat;
    return success();
  };
  if (isSkipped(name)) {
    ++numLeftInFloat;
    return success();
  }
  if (!isTransposedBMatmul(matmul))
    return leaveInFloat("not of the form A[m, k] * W[n, k]");
  Value input = matmul.getDpsInputs()[0], weight = matmul.getDpsInputs()[1];
  auto weightType = dyn_cast<RankedTensorType>(weight.getType());
  auto inputType = dyn_cast<RankedTensorType>(input.getType());
  auto resultType = dyn_cast<RankedTensorType>(matmul.getResult(0).getType());
  if (!weightType || !inputType || !resultType ||
      !weightType.hasStaticShape() || !weightType.getElementType().isF32() ||
      !inputType.getElementType().isF32() ||
      !resultType.getElementType().isF32())
    return leaveInFloat("expected f32 tensors and a weight of static shape");

  Attribute value;
  if (!matchPattern(weight, m_Constant(&value)))
    return leaveInFloat("the weight is not a constant");
  if (!isa<DenseF32ResourceElementsAttr, DenseFPElementsAttr>(value))
    return leaveInFloat("the weight is neither dense nor dense_resource");

  // Other uses of a layer already seen join its job, or fail silently when
  // the layer was already diagnosed.
  std::pair<Attribute, Attribute> key(name, value);
  if (failedLayers.contains(key))
    return failure();
  auto known = jobOfWeight.find(key);
  if (known != jobOfWeight.end()) {
    jobs[known->second].matmuls.push_back(matmul);
    return success();
  }
  if (failed(addJob(matmul, name, value, scheme, jobs))) {
    failedLayers.insert(key);
    return failure();
  }
  jobOfWeight[key] = jobs.size() - 1;
  return success();
}

LogicalResult QuantizeWeightsPass::addJob(linalg::MatmulOp matmul,
                                          StringAttr name, Attribute value,
                                          QuantSchemeAttr scheme,
                                          std::vector<LayerJob> &jobs) {
  auto weightType = cast<RankedTensorType>(matmul.getDpsInputs()[1].getType());
  LayerJob layer;
  layer.matmuls.push_back(matmul);
  layer.name = name.getValue();
  layer.outFeatures = weightType.getDimSize(0);
  layer.inFeatures = weightType.getDimSize(1);
  if (auto own = matmul->getAttrOfType<QuantSchemeAttr>(kWeightSchemeAttrName))
    scheme = own;
  layer.scheme = scheme;
  if (auto resource = dyn_cast<DenseF32ResourceElementsAttr>(value)) {
    std::optional<ArrayRef<float>> data = resource.tryGetAsArrayRef();
    if (!data)
      return matmul.emitError() << "the data of the weight of layer '"
                                << layer.name << "' is missing (dense_resource<"
                                << resource.getRawHandle().getKey() << ">)";
    layer.blobWeights = data->data();
  } else {
    auto dense = cast<DenseFPElementsAttr>(value);
    layer.ownedWeights.assign(dense.value_begin<float>(),
                              dense.value_end<float>());
  }

  if (scheme.getGranularity() == Granularity::per_group &&
      layer.inFeatures % scheme.getGroupSize() != 0)
    return matmul.emitError()
           << "group size " << scheme.getGroupSize() << " does not divide the "
           << layer.inFeatures << " input channels of layer '" << layer.name
           << "'";
  if (scheme.getGranularity() == Granularity::per_ic_group &&
      layer.outFeatures % scheme.getGroupSize() != 0)
    return matmul.emitError()
           << "ic-group size " << scheme.getGroupSize()
           << " does not divide the " << layer.outFeatures
           << " output channels of layer '" << layer.name << "'";

  if (method == WeightQuantMethod::gptq) {
    FailureOr<LayerStatistics> input =
        getLayerStatistics(layerStats, matmul, layer.inFeatures, stats);
    if (failed(input))
      return failure();
    layer.stats = std::move(*input);
  }
  jobs.push_back(std::move(layer));
  return success();
}

template <typename T>
static DenseResourceElementsAttr
makeBlob(RankedTensorType type, const Twine &name, ArrayRef<T> values) {
  return DenseResourceElementsAttr::get(
      type, name.str(), HeapAsmResourceBlob::allocateAndCopyInferAlign(values));
}

/// The scales as a blob of their storage type. The values are already
/// rounded to it, so the conversion is exact.
static DenseResourceElementsAttr makeScalesBlob(RankedTensorType type,
                                                const Twine &name,
                                                ArrayRef<float> scales) {
  switch (*getScaleFormat(type.getElementType())) {
  case ScaleFormat::f32:
    return makeBlob(type, name, scales);
  case ScaleFormat::f16:
    return makeBlob(type, name,
                    ArrayRef(llvm::map_to_vector(scales, floatToHalf)));
  case ScaleFormat::bf16:
    return makeBlob(type, name,
                    ArrayRef(llvm::map_to_vector(scales, floatToBFloat16)));
  case ScaleFormat::e8m0:
    return makeBlob(type, name,
                    ArrayRef(llvm::map_to_vector(scales, floatToE8M0)));
  }
  llvm_unreachable("unknown scale format");
}

void QuantizeWeightsPass::rewriteLayer(LayerJob &job) {
  QuantSchemeAttr scheme = job.scheme;
  MLIRContext *context = &getContext();
  const int64_t shape[] = {job.outFeatures, job.inFeatures};
  FailureOr<SmallVector<int64_t>> scaleShape = scheme.getScaleShape(
      shape, [&] { return job.matmuls.front().emitError(); });
  if (failed(scaleShape))
    return signalPassFailure();
  int64_t rowBytes =
      getPackedRowBytes(PackingSpec(), scheme.getBits(), job.inFeatures);

  // The blobs, shared by every use of the layer.
  auto codesType = RankedTensorType::get({job.outFeatures, rowBytes},
                                         IntegerType::get(context, 8));
  auto scalesType = RankedTensorType::get(*scaleShape, scheme.getScaleType());
  TypedAttr codesAttr = makeBlob(codesType, job.name + ".codes",
                                 ArrayRef<uint8_t>(job.quantized.packed));
  TypedAttr scalesAttr =
      makeScalesBlob(scalesType, job.name + ".scales", job.quantized.scales);
  TypedAttr zeroPointsAttr;
  if (!scheme.getSymmetric())
    zeroPointsAttr = makeBlob(
        RankedTensorType::get(*scaleShape, Float32Type::get(context)),
        job.name + ".zero_points", ArrayRef<float>(job.quantized.zeroPoints));

  for (linalg::MatmulOp matmul : job.matmuls) {
    OpBuilder b(matmul);
    Location loc = matmul.getLoc();
    Value codes = arith::ConstantOp::create(b, loc, codesAttr);
    Value scales = arith::ConstantOp::create(b, loc, scalesAttr);
    Value zeroPoints;
    if (zeroPointsAttr)
      zeroPoints = arith::ConstantOp::create(b, loc, zeroPointsAttr);
    Value input = matmul.getDpsInputs()[0], weight = matmul.getDpsInputs()[1];
    Value accumulator = matmul.getDpsInits()[0];
    auto linear = LinearOp::create(b, loc, matmul.getResult(0).getType(), input,
                                   codes, scales, zeroPoints, /*bias=*/Value(),
                                   /*lowrank_input=*/Value(),
                                   /*lowrank_up=*/Value(),
                                   scheme, /*packing=*/PackingAttr(),
                                   /*gated=*/GatedActivationAttr());
    linear->setAttr(kLayerNameAttr, matmul->getAttr(kLayerNameAttr));
    for (StringRef carried : {kInputTransformAttrName, kStatsKeyAttrName})
      if (Attribute value = matmul->getAttr(carried))
        linear->setAttr(carried, value);
    Value result = linear.getResult();
    // linalg.matmul accumulates into its init; lowbit.linear does not.
    if (!isZeroTensor(accumulator))
      result = linalg::AddOp::create(b, loc, ValueRange{result, accumulator},
                                     ValueRange{accumulator})
                   .getResult(0);
    matmul.getResult(0).replaceAllUsesWith(result);
    matmul.erase();
    if (Operation *constant = weight.getDefiningOp();
        constant && constant->use_empty())
      constant->erase();
    ++numQuantized;
  }
}

void QuantizeWeightsPass::runOnOperation() {
  ModuleOp module = getOperation();
  FailureOr<QuantSchemeAttr> scheme = buildScheme();
  if (failed(scheme))
    return signalPassFailure();
  skipped.emplace(skip);
  selected.reset();
  if (!StringRef(only).trim().empty())
    selected.emplace(only);

  if (method == WeightQuantMethod::gptq && (damp < 0.0 || blockSize <= 0)) {
    emitError(module.getLoc())
        << "GPTQ needs damp >= 0 and block-size > 0, got damp=" << double(damp)
        << " block-size=" << int64_t(blockSize);
    return signalPassFailure();
  }

  layerStats.clear();
  if (method == WeightQuantMethod::gptq) {
    if (stats.empty()) {
      emitError(module.getLoc(), "method=gptq needs calibration statistics: "
                                 "stats=FILE (from lowbit-run calibrate)");
      return signalPassFailure();
    }
    auto read = readCalibrationStats(stats);
    if (!read) {
      emitError(module.getLoc()) << llvm::toString(read.takeError());
      return signalPassFailure();
    }
    layerStats = std::move(*read);
  }

  // Gather and check the layers on the IR, quantize them in parallel, then
  // rewrite the IR; diagnostics are only emitted outside the parallel part.
  std::vector<LayerJob> jobs;
  jobOfWeight.clear();
  failedLayers.clear();
  bool ok = true;
  // Stop at the first layer in error: on a model, the same problem (a group
  // size that does not divide) would otherwise be reported for every layer.
  module.walk([&](linalg::MatmulOp matmul) {
    if (matmul->hasAttr(kLayerNameAttr) &&
        failed(prepareLayer(matmul, *scheme, jobs))) {
      ok = false;
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  if (!ok)
    return signalPassFailure();

  GptqOptions gptqOptions;
  gptqOptions.damp = damp;
  gptqOptions.blockSize = blockSize;
  gptqOptions.actOrder = actOrder;
  parallelForEach(&getContext(), jobs, [&](LayerJob &job) {
    const int64_t shape[] = {job.outFeatures, job.inFeatures};
    QuantScheme plainScheme = getQuantScheme(job.scheme);
    if (method == WeightQuantMethod::rtn) {
      job.quantized = quantizeReference(plainScheme, PackingSpec(), shape,
                                        job.getWeights());
      return;
    }
    std::vector<double> hessian =
        getHessianFromGram(job.stats.gram, job.stats.rows);
    auto quantized =
        quantizeGptq(plainScheme, PackingSpec(), job.outFeatures,
                     job.inFeatures, job.getWeights(), hessian, gptqOptions);
    if (!quantized)
      job.error = llvm::toString(quantized.takeError());
    else
      job.quantized = std::move(*quantized);
  });

  for (LayerJob &job : jobs) {
    if (!job.error.empty()) {
      job.matmuls.front().emitError()
          << "layer '" << job.name << "': " << job.error;
      ok = false;
      continue;
    }
    rewriteLayer(job);
  }
  if (!ok)
    signalPassFailure();
}
