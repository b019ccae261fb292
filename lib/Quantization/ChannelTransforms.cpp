//===- ChannelTransforms.cpp - Apply channel transforms to IR -------------===//

#include "lowbit/Quantization/ChannelTransforms.h"
#include "lowbit/Dialect/LowBit/IR/LowBitOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/STLExtras.h"

using namespace mlir;
using namespace mlir::lowbit;

//===----------------------------------------------------------------------===//
// Input transforms and statistics
//===----------------------------------------------------------------------===//

InputTransform mlir::lowbit::getInputTransform(Operation *layer) {
  InputTransform transform;
  auto dict = layer->getAttrOfType<DictionaryAttr>(kInputTransformAttrName);
  if (!dict)
    return transform;
  if (auto perm = dict.getAs<DenseIntElementsAttr>("perm"))
    for (const APInt &value : perm.getValues<APInt>())
      transform.perm.push_back(value.getSExtValue());
  if (auto scale = dict.getAs<DenseFPElementsAttr>("scale"))
    transform.scale.assign(scale.value_begin<float>(), scale.value_end<float>());
  return transform;
}

void mlir::lowbit::setInputTransform(Operation *layer,
                                     const InputTransform &transform) {
  Builder b(layer->getContext());
  SmallVector<NamedAttribute> entries;
  if (!transform.perm.empty()) {
    auto type = RankedTensorType::get({int64_t(transform.perm.size())},
                                      b.getI64Type());
    entries.push_back(b.getNamedAttr(
        "perm", DenseIntElementsAttr::get(type, ArrayRef(transform.perm))));
  }
  if (!transform.scale.empty()) {
    auto type = RankedTensorType::get({int64_t(transform.scale.size())},
                                      b.getF32Type());
    entries.push_back(b.getNamedAttr(
        "scale", DenseFPElementsAttr::get(type, ArrayRef(transform.scale))));
  }
  if (entries.empty())
    layer->removeAttr(kInputTransformAttrName);
  else
    layer->setAttr(kInputTransformAttrName, b.getDictionaryAttr(entries));
}

LayerStatistics mlir::lowbit::transformStatistics(
    const LayerStatistics &stats, const InputTransform &transform,
    int64_t channels) {
  if (transform.isIdentity())
    return stats;
  LayerStatistics result;
  result.rows = stats.rows;
  int64_t original = stats.getChannels();
  result.absMax.resize(channels);
  result.meanAbs.resize(channels);
  result.gram.resize(channels * channels);
  for (int64_t i = 0; i < channels; ++i) {
    int64_t from = transform.source(i);
    double divisor = transform.divisor(i);
    result.absMax[i] = stats.absMax[from] / divisor;
    result.meanAbs[i] = stats.meanAbs[from] / divisor;
    for (int64_t j = 0; j < channels; ++j)
      result.gram[i * channels + j] =
          stats.gram[from * original + transform.source(j)] /
          (divisor * transform.divisor(j));
  }
  return result;
}

FailureOr<LayerStatistics> mlir::lowbit::getLayerStatistics(
    const llvm::StringMap<LayerStatistics> &stats, Operation *layer,
    int64_t channels, StringRef statsFile) {
  StringRef name = getLayerName(layer);
  if (auto key = layer->getAttrOfType<StringAttr>(kStatsKeyAttrName))
    name = key.getValue();
  auto it = stats.find(name);
  if (it == stats.end())
    return layer->emitError() << "no calibration statistics for layer '"
                              << name << "' in " << statsFile;
  InputTransform transform = getInputTransform(layer);
  int64_t expected = transform.perm.empty() ? channels : -1;
  if (expected >= 0 && it->second.getChannels() != expected)
    return layer->emitError()
           << "the statistics of layer '" << name << "' have "
           << it->second.getChannels() << " channels, but the layer has "
           << channels << " input channels";
  for (int64_t source : transform.perm)
    if (source < 0 || source >= it->second.getChannels())
      return layer->emitError() << "the input transform of layer '" << name
                                << "' does not fit its statistics";
  return transformStatistics(it->second, transform, channels);
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

std::vector<float> mlir::lowbit::readConstant(arith::ConstantOp constant) {
  Attribute value = constant.getValue();
  if (auto resource = dyn_cast<DenseF32ResourceElementsAttr>(value)) {
    std::optional<ArrayRef<float>> data = resource.tryGetAsArrayRef();
    if (data)
      return std::vector<float>(data->begin(), data->end());
    return {};
  }
  auto dense = cast<DenseFPElementsAttr>(value);
  return std::vector<float>(dense.value_begin<float>(),
                            dense.value_end<float>());
}

TypedAttr mlir::lowbit::makeF32Constant(RankedTensorType type,
                                        StringRef name,
                                        ArrayRef<float> values, bool asBlob) {
  if (!asBlob)
    return DenseFPElementsAttr::get(type, values);
  return DenseResourceElementsAttr::get(
      type, name, HeapAsmResourceBlob::allocateAndCopyInferAlign(values));
}

//===----------------------------------------------------------------------===//
// Groups across entry points
//===----------------------------------------------------------------------===//

FailureOr<std::vector<ChannelGroupInstances>>
mlir::lowbit::collectChannelGroups(ModuleOp module,
                                   const ChannelSinkAnalysis &analysis) {
  std::vector<ChannelGroupInstances> result;
  llvm::StringMap<size_t> indexOfKey;
  for (const ChannelGroup &group : analysis.getGroups()) {
    auto [it, inserted] = indexOfKey.try_emplace(group.getKey(), result.size());
    if (inserted)
      result.emplace_back();
    result[it->second].instances.push_back(&group);
  }
  for (ChannelGroupInstances &groups : result) {
    const ChannelGroup &first = groups.front();
    for (const ChannelGroup *other : llvm::drop_begin(groups.instances)) {
      arith::ConstantOp sink = first.sinkConstant,
                        otherSink = other->sinkConstant;
      bool same = other->sink == first.sink &&
                  other->sinkChannelOf == first.sinkChannelOf &&
                  (first.sink == ChannelSinkKind::none ||
                   otherSink.getValue() == sink.getValue());
      for (auto [a, b] : llvm::zip(first.consumers, other->consumers))
        same = same && getLinearLayerWeight(a).getValue() ==
                           getLinearLayerWeight(b).getValue();
      same = same && first.companionConstants.size() ==
                         other->companionConstants.size();
      for (auto [a, b] :
           llvm::zip(first.companionConstants, other->companionConstants)) {
        arith::ConstantOp x = a, y = b;
        same = same && x.getValue() == y.getValue();
      }
      if (!same) {
        linalg::MatmulOp front = other->consumers.front();
        return front.emitError()
               << "layers " << first.getKey()
               << " have different weights or sinks in different entry "
                  "points; cannot transform their channels";
      }
    }
  }
  return result;
}

//===----------------------------------------------------------------------===//
// ChannelTransformer
//===----------------------------------------------------------------------===//

ChannelTransformer::ChannelTransformer(ModuleOp module) : module(module) {
  module.walk([&](arith::ConstantOp constant) {
    if (isa<DenseElementsAttr, DenseResourceElementsAttr>(constant.getValue()))
      constantsOf[constant.getValue()].push_back(constant);
  });
}

bool ChannelTransformer::isUsedOnlyBy(
    arith::ConstantOp constant,
    llvm::function_ref<bool(OpOperand &)> allowed) const {
  auto it = constantsOf.find(constant.getValue());
  if (it == constantsOf.end())
    return false;
  for (arith::ConstantOp sharing : it->second)
    for (OpOperand &use : sharing->getUses())
      if (!allowed(use))
        return false;
  return true;
}

void ChannelTransformer::update(arith::ConstantOp constant,
                                ArrayRef<float> values) {
  Attribute old = constant.getValue();
  if (auto resource = dyn_cast<DenseResourceElementsAttr>(old)) {
    // Every constant naming the blob sees the new data.
    resource.getRawHandle().getResource()->setBlob(
        HeapAsmResourceBlob::allocateAndCopyInferAlign(values));
    return;
  }
  auto type = cast<RankedTensorType>(constant.getType());
  Attribute replacement = DenseFPElementsAttr::get(type, values);
  SmallVector<arith::ConstantOp> sharing = constantsOf.lookup(old);
  constantsOf.erase(old);
  for (arith::ConstantOp c : sharing)
    c.setValueAttr(cast<TypedAttr>(replacement));
  llvm::append_range(constantsOf[replacement], sharing);
}

LogicalResult
ChannelTransformer::checkConsumerWeights(const ChannelGroupInstances &group) {
  for (linalg::MatmulOp consumer : group.front().consumers) {
    arith::ConstantOp weight = getLinearLayerWeight(consumer);
    StringRef name = getLayerName(consumer);
    bool exclusive = isUsedOnlyBy(weight, [&](OpOperand &use) {
      auto user = dyn_cast<linalg::MatmulOp>(use.getOwner());
      return user && use.getOperandNumber() == 1 && getLayerName(user) == name;
    });
    if (!exclusive)
      return consumer.emitError()
             << "the weight of layer '" << name
             << "' is also used elsewhere (a tied embedding?); cannot "
                "transform its input channels";
    if (readConstant(weight).empty())
      return consumer.emitError()
             << "the data of the weight of layer '" << name << "' is missing";
  }
  return success();
}

bool ChannelTransformer::isSinkExclusive(
    const ChannelGroupInstances &group) const {
  const ChannelGroup &first = group.front();
  if (first.sink == ChannelSinkKind::none)
    return false;
  return isUsedOnlyBy(first.sinkConstant, [&](OpOperand &use) {
    return llvm::any_of(group.instances, [&](const ChannelGroup *instance) {
      return use.getOwner() == instance->sinkOp &&
             use.getOperandNumber() == instance->sinkOperand;
    });
  });
}

bool ChannelTransformer::areCompanionsExclusive(
    const ChannelGroupInstances &group) const {
  const ChannelGroup &first = group.front();
  for (size_t index = 0; index < first.companionConstants.size(); ++index) {
    arith::ConstantOp constant = first.companionConstants[index];
    bool exclusive = isUsedOnlyBy(constant, [&](OpOperand &use) {
      return use.getOperandNumber() == 1 &&
             llvm::any_of(group.instances, [&](const ChannelGroup *instance) {
               return use.getOwner() == instance->companionSinks[index];
             });
    });
    if (!exclusive)
      return false;
  }
  return true;
}

/// Rows of a constant matrix (or vector) in a new order: row j of the
/// result is row `perm[j]`.
static std::vector<float> permuteRows(ArrayRef<float> values,
                                      ArrayRef<int64_t> perm) {
  std::vector<float> permuted(values.size());
  int64_t rowLength = int64_t(values.size()) / int64_t(perm.size());
  for (auto [j, from] : llvm::enumerate(perm))
    std::copy_n(values.begin() + from * rowLength, rowLength,
                permuted.begin() + j * rowLength);
  return permuted;
}

LogicalResult ChannelTransformer::scale(const ChannelGroupInstances &group,
                                        ArrayRef<float> sinkScales) {
  const ChannelGroup &first = group.front();
  assert(int64_t(sinkScales.size()) == first.sinkChannels &&
         "one scale per sink channel");
  if (failed(checkConsumerWeights(group)))
    return failure();
  int64_t channels = first.getInputChannels();
  SmallVector<float> inputScales(channels);
  for (int64_t c = 0; c < channels; ++c)
    inputScales[c] = sinkScales[first.sinkChannelOf[c]];

  // The consumers take x / s: their columns are multiplied by s.
  for (linalg::MatmulOp consumer : first.consumers) {
    arith::ConstantOp weight = getLinearLayerWeight(consumer);
    std::vector<float> values = readConstant(weight);
    for (size_t i = 0; i < values.size(); ++i)
      values[i] *= inputScales[i % channels];
    update(weight, values);
  }

  if (isSinkExclusive(group)) {
    std::vector<float> values = readConstant(first.sinkConstant);
    int64_t rowLength = int64_t(values.size()) / first.sinkChannels;
    for (size_t i = 0; i < values.size(); ++i)
      values[i] /= sinkScales[i / rowLength];
    update(first.sinkConstant, values);
  } else {
    // No sink to fold into: multiply by 1/s at run time, once per input.
    auto type = RankedTensorType::get(
        {channels}, cast<RankedTensorType>(first.input.getType())
                        .getElementType());
    SmallVector<float> inverse =
        llvm::map_to_vector(inputScales, [](float s) { return 1.0f / s; });
    bool asBlob = isa<DenseResourceElementsAttr>(
        getLinearLayerWeight(first.consumers.front()).getValue());
    TypedAttr attr = makeF32Constant(
        type, getLayerName(first.consumers.front()).str() + ".input_scale",
        inverse, asBlob);
    for (const ChannelGroup *instance : group.instances) {
      linalg::MatmulOp front = instance->consumers.front();
      OpBuilder b(front);
      Value scales = arith::ConstantOp::create(b, front.getLoc(), attr);
      Value scaled = ChannelScaleOp::create(
          b, front.getLoc(), instance->input.getType(), instance->input,
          scales);
      for (linalg::MatmulOp consumer : instance->consumers)
        consumer->setOperand(0, scaled);
    }
  }

  for (const ChannelGroup *instance : group.instances)
    for (linalg::MatmulOp consumer : instance->consumers) {
      InputTransform transform = getInputTransform(consumer);
      if (transform.scale.empty())
        transform.scale.assign(channels, 1.0f);
      for (int64_t c = 0; c < channels; ++c)
        transform.scale[c] *= inputScales[c];
      setInputTransform(consumer, transform);
    }
  return success();
}

LogicalResult ChannelTransformer::permute(const ChannelGroupInstances &group,
                                          ArrayRef<int64_t> sinkPerm) {
  const ChannelGroup &first = group.front();
  linalg::MatmulOp front = first.consumers.front();
  if (first.permutationClasses.empty() || !isSinkExclusive(group) ||
      !areCompanionsExclusive(group))
    return front.emitError() << "the input channels of " << first.getKey()
                             << " cannot be permuted: their sink ("
                             << first.describeSink() << ") takes no "
                             << "permutation";
  int64_t sinkChannels = first.sinkChannels;
  SmallVector<bool> seen(sinkChannels, false);
  for (auto [to, from] : llvm::enumerate(sinkPerm)) {
    if (from < 0 || from >= sinkChannels || seen[from] ||
        first.permutationClasses[from] != first.permutationClasses[to])
      return front.emitError() << "invalid channel permutation for "
                               << first.getKey();
    seen[from] = true;
  }
  if (failed(checkConsumerWeights(group)))
    return failure();

  // Input channel c reads sink channel sinkChannelOf[c]; the channels that
  // read one sink channel (query heads sharing a KV head) keep their order.
  int64_t channels = first.getInputChannels();
  SmallVector<SmallVector<int64_t>> readers(sinkChannels);
  SmallVector<int64_t> rank(channels);
  for (int64_t c = 0; c < channels; ++c) {
    rank[c] = readers[first.sinkChannelOf[c]].size();
    readers[first.sinkChannelOf[c]].push_back(c);
  }
  SmallVector<int64_t> inputPerm(channels);
  for (int64_t c = 0; c < channels; ++c) {
    const SmallVector<int64_t> &from = readers[sinkPerm[first.sinkChannelOf[c]]];
    if (from.size() != readers[first.sinkChannelOf[c]].size())
      return front.emitError() << "invalid channel permutation for "
                               << first.getKey();
    inputPerm[c] = from[rank[c]];
  }

  for (linalg::MatmulOp consumer : first.consumers) {
    arith::ConstantOp weight = getLinearLayerWeight(consumer);
    std::vector<float> values = readConstant(weight), permuted(values.size());
    int64_t rows = int64_t(values.size()) / channels;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < channels; ++c)
        permuted[r * channels + c] = values[r * channels + inputPerm[c]];
    update(weight, permuted);
  }
  update(first.sinkConstant,
         permuteRows(readConstant(first.sinkConstant), sinkPerm));
  for (arith::ConstantOp companion : first.companionConstants)
    update(companion, permuteRows(readConstant(companion), sinkPerm));

  for (const ChannelGroup *instance : group.instances)
    for (linalg::MatmulOp consumer : instance->consumers) {
      InputTransform old = getInputTransform(consumer), transform;
      for (int64_t c = 0; c < channels; ++c) {
        transform.perm.push_back(old.source(inputPerm[c]));
        if (!old.scale.empty())
          transform.scale.push_back(old.scale[inputPerm[c]]);
      }
      setInputTransform(consumer, transform);
    }
  return success();
}
