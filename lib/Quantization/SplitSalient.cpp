//===- SplitSalient.cpp - Salient input channels at higher precision ------===//

#include "lowbit/Analysis/ChannelSinks.h"
#include "lowbit/Dialect/LowBit/IR/LowBitOps.h"
#include "lowbit/Quantization/ChannelTransforms.h"
#include "lowbit/Quantization/Passes.h"
#include "lowbit/Quantization/WeightQuantization.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>
#include <numeric>

namespace mlir::lowbit {
#define GEN_PASS_DEF_SPLITSALIENTPASS
#include "lowbit/Quantization/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

namespace {
struct SplitSalientPass
    : public lowbit::impl::SplitSalientPassBase<SplitSalientPass> {
  using Base::Base;
  void runOnOperation() override;

private:
  void split(LinearLayer &layer, ArrayRef<int64_t> salient,
             ArrayRef<int64_t> rest, QuantSchemeAttr salientScheme);
};
} // namespace

/// x[:, channels] for a [rows, K] input: a slice where the channels are a
/// contiguous range, else a gather through a constant index vector.
static Value gatherChannels(OpBuilder &b, Location loc, Value input,
                            ArrayRef<int64_t> channels) {
  auto type = cast<RankedTensorType>(input.getType());
  int64_t count = channels.size();
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, input);
  sizes.back() = b.getIndexAttr(count);
  bool contiguous = llvm::all_of(llvm::enumerate(channels), [&](auto pair) {
    return pair.value() == channels.front() + int64_t(pair.index());
  });
  if (contiguous) {
    SmallVector<OpFoldResult> offsets(type.getRank(), b.getIndexAttr(0));
    offsets.back() = b.getIndexAttr(channels.front());
    SmallVector<OpFoldResult> strides(type.getRank(), b.getIndexAttr(1));
    return tensor::ExtractSliceOp::create(b, loc, input, offsets, sizes,
                                          strides);
  }
  MLIRContext *context = b.getContext();
  auto indexType = RankedTensorType::get({count}, b.getI64Type());
  Value indices = arith::ConstantOp::create(
      b, loc, DenseIntElementsAttr::get(indexType, channels));
  Value init = tensor::EmptyOp::create(b, loc, sizes, type.getElementType());
  int64_t rank = type.getRank();
  AffineMap channelMap =
      AffineMap::get(rank, 0, {b.getAffineDimExpr(rank - 1)}, context);
  return linalg::GenericOp::create(
             b, loc, TypeRange{init.getType()}, ValueRange{indices},
             ValueRange{init},
             {channelMap, b.getMultiDimIdentityMap(rank)},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location nloc, ValueRange args) {
               SmallVector<Value> at;
               for (int64_t axis = 0; axis + 1 < rank; ++axis)
                 at.push_back(linalg::IndexOp::create(nb, nloc, axis));
               at.push_back(arith::IndexCastOp::create(
                   nb, nloc, nb.getIndexType(), args[0]));
               Value value = tensor::ExtractOp::create(nb, nloc, input, at);
               linalg::YieldOp::create(nb, nloc, value);
             })
      .getResult(0);
}

/// The columns `channels` of a rows x K matrix.
static std::vector<float> selectColumns(ArrayRef<float> weights, int64_t rows,
                                        int64_t columns,
                                        ArrayRef<int64_t> channels) {
  std::vector<float> result(rows * channels.size());
  for (int64_t r = 0; r < rows; ++r)
    for (auto [j, c] : llvm::enumerate(channels))
      result[r * channels.size() + j] = weights[r * columns + c];
  return result;
}

void SplitSalientPass::split(LinearLayer &layer, ArrayRef<int64_t> salient,
                             ArrayRef<int64_t> rest,
                             QuantSchemeAttr salientScheme) {
  std::vector<float> weights = readConstant(layer.weight);
  int64_t n = layer.outFeatures, k = layer.inFeatures;
  bool asBlob = isa<DenseResourceElementsAttr>(layer.weight.getValue());
  auto partConstant = [&](ArrayRef<int64_t> channels, StringRef suffix) {
    auto type = RankedTensorType::get({n, int64_t(channels.size())},
                                      Float32Type::get(&getContext()));
    return makeF32Constant(type, (layer.name + suffix).str(),
                           selectColumns(weights, n, k, channels), asBlob);
  };
  TypedAttr salientWeights = partConstant(salient, ".salient");
  TypedAttr restWeights = partConstant(rest, ".rest");
  std::string name = layer.name.str();

  for (linalg::MatmulOp matmul : layer.matmuls) {
    OpBuilder b(matmul);
    Location loc = matmul.getLoc();
    Value input = matmul.getDpsInputs()[0];
    Value init = matmul.getDpsInits()[0];
    StringAttr statsKey = matmul->getAttrOfType<StringAttr>(kStatsKeyAttrName);
    if (!statsKey)
      statsKey = b.getStringAttr(name);
    InputTransform transform = getInputTransform(matmul);
    auto part = [&](ArrayRef<int64_t> channels, TypedAttr weightsAttr,
                    StringRef partName, Value accumulator) {
      Value x = gatherChannels(b, loc, input, channels);
      Value w = arith::ConstantOp::create(b, loc, weightsAttr);
      auto product = linalg::MatmulOp::create(
          b, loc, TypeRange{init.getType()}, ValueRange{x, w},
          ValueRange{accumulator},
          {b.getNamedAttr("indexing_maps", matmul.getIndexingMaps())});
      product->setAttr(kLayerNameAttr, b.getStringAttr(partName));
      product->setAttr(kStatsKeyAttrName, statsKey);
      InputTransform selected;
      for (int64_t c : channels) {
        selected.perm.push_back(transform.source(c));
        if (!transform.scale.empty())
          selected.scale.push_back(transform.scale[c]);
      }
      setInputTransform(product, selected);
      return product;
    };
    auto salientPart =
        part(salient, salientWeights, name + ".salient", init);
    salientPart->setAttr(kWeightSchemeAttrName, salientScheme);
    auto restPart = part(rest, restWeights, name, salientPart.getResult(0));
    matmul.getResult(0).replaceAllUsesWith(restPart.getResult(0));
    Operation *weight = matmul.getDpsInputs()[1].getDefiningOp();
    matmul.erase();
    if (weight && weight->use_empty())
      weight->erase();
  }
  ++numSplit;
}

void SplitSalientPass::runOnOperation() {
  ModuleOp module = getOperation();
  Location loc = module.getLoc();
  if (stats.empty()) {
    emitError(loc, "lowbit-split-salient needs calibration statistics: "
                   "stats=FILE (from lowbit-run calibrate)");
    return signalPassFailure();
  }
  if (!(fraction > 0.0 && fraction < 1.0) || multiple < 1) {
    emitError(loc) << "fraction must be in (0, 1) and multiple at least 1, "
                      "got fraction="
                   << double(fraction) << " multiple=" << int64_t(multiple);
    return signalPassFailure();
  }
  WeightSchemeOptions options;
  options.format = format;
  options.group = group;
  options.symmetric = symmetric;
  options.scaleType = scaleType;
  FailureOr<QuantSchemeAttr> scheme =
      buildWeightScheme(&getContext(), loc, options);
  if (failed(scheme))
    return signalPassFailure();
  auto layerStats = readCalibrationStats(stats);
  if (!layerStats) {
    emitError(loc) << llvm::toString(layerStats.takeError());
    return signalPassFailure();
  }

  LayerNameFilter skipped(skip);
  std::vector<LinearLayer> layers = collectLinearLayers(module);
  for (LinearLayer &layer : layers) {
    if (skipped.matches(layer.name))
      continue;
    linalg::MatmulOp front = layer.matmuls.front();
    int64_t k = layer.inFeatures, n = layer.outFeatures;
    int64_t count =
        int64_t(std::ceil(fraction * double(k) / double(multiple))) * multiple;
    if (count >= k) {
      front.emitError() << "keeping " << count << " of the " << k
                        << " input channels of layer '" << layer.name
                        << "' salient leaves none to split off; lower "
                           "fraction or multiple";
      return signalPassFailure();
    }
    if (group > 0 && count % group != 0) {
      front.emitError() << "group size " << int64_t(group)
                        << " does not divide the " << count
                        << " salient channels of layer '" << layer.name
                        << "'; make multiple a multiple of it";
      return signalPassFailure();
    }
    FailureOr<LayerStatistics> input =
        getLayerStatistics(*layerStats, front, k, stats);
    if (failed(input))
      return signalPassFailure();
    std::vector<float> weights = readConstant(layer.weight);
    if (weights.empty()) {
      front.emitError() << "the data of the weight of layer '" << layer.name
                        << "' is missing";
      return signalPassFailure();
    }
    SmallVector<double> salience(k, 0.0);
    for (int64_t c = 0; c < k; ++c) {
      double norm = 0.0;
      for (int64_t r = 0; r < n; ++r)
        norm += double(weights[r * k + c]) * weights[r * k + c];
      salience[c] = input->gram[c * k + c] * norm;
    }
    SmallVector<int64_t> order(k);
    std::iota(order.begin(), order.end(), 0);
    llvm::stable_sort(order, [&](int64_t a, int64_t b) {
      return salience[a] > salience[b];
    });
    SmallVector<int64_t> salient(order.begin(), order.begin() + count);
    SmallVector<int64_t> rest(order.begin() + count, order.end());
    llvm::sort(salient);
    llvm::sort(rest);
    if (remarks) {
      double kept = 0.0, total = 0.0;
      for (int64_t c = 0; c < k; ++c)
        total += salience[c];
      for (int64_t c : salient)
        kept += salience[c];
      front.emitRemark() << "split " << layer.name << ": " << count << " of "
                         << k << " input channels salient, "
                         << llvm::formatv("{0:F1}", 100.0 * kept / total).str()
                         << "% of the salience";
    }
    split(layer, salient, rest, *scheme);
  }
}
