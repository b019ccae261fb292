//===- ReorderChannels.cpp - Act-order folded into the weights ------------===//

#include "lowbit/Analysis/ChannelSinks.h"
#include "lowbit/Quantization/ChannelTransforms.h"
#include "lowbit/Quantization/Passes.h"
#include "lowbit/Quantization/WeightQuantization.h"

#include <numeric>

namespace mlir::lowbit {
#define GEN_PASS_DEF_REORDERCHANNELSPASS
#include "lowbit/Quantization/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

namespace {
struct ReorderChannelsPass
    : public lowbit::impl::ReorderChannelsPassBase<ReorderChannelsPass> {
  using Base::Base;
  void runOnOperation() override;
};
} // namespace

/// The sink channels in decreasing salience, each class of the group's
/// permutation classes keeping its own positions: position p of the result
/// holds a channel of the class that had position p.
static SmallVector<int64_t> sortBySalience(const ChannelGroup &group,
                                           ArrayRef<double> salience) {
  DenseMap<int64_t, SmallVector<int64_t>> positionsOfClass;
  for (int64_t j = 0; j < group.sinkChannels; ++j)
    positionsOfClass[group.permutationClasses[j]].push_back(j);
  SmallVector<int64_t> perm(group.sinkChannels);
  for (auto &[cls, positions] : positionsOfClass) {
    SmallVector<int64_t> sorted(positions);
    llvm::stable_sort(sorted, [&](int64_t a, int64_t b) {
      return salience[a] > salience[b];
    });
    for (auto [position, channel] : llvm::zip(positions, sorted))
      perm[position] = channel;
  }
  return perm;
}

void ReorderChannelsPass::runOnOperation() {
  ModuleOp module = getOperation();
  if (stats.empty()) {
    emitError(module.getLoc(),
              "lowbit-reorder-channels needs calibration statistics: "
              "stats=FILE (from lowbit-run calibrate)");
    return signalPassFailure();
  }
  auto layerStats = readCalibrationStats(stats);
  if (!layerStats) {
    emitError(module.getLoc()) << llvm::toString(layerStats.takeError());
    return signalPassFailure();
  }
  const auto &analysis = getAnalysis<ChannelSinkAnalysis>();
  auto groups = collectChannelGroups(module, analysis);
  if (failed(groups))
    return signalPassFailure();
  ChannelTransformer transformer(module);
  LayerNameFilter skipped(skip);

  for (ChannelGroupInstances &instances : *groups) {
    const ChannelGroup &first = instances.front();
    linalg::MatmulOp front = first.consumers.front();
    if (llvm::any_of(first.consumers, [&](linalg::MatmulOp consumer) {
          return skipped.matches(getLayerName(consumer));
        }))
      continue;
    if (first.permutationClasses.empty() ||
        !transformer.isSinkExclusive(instances) ||
        !transformer.areCompanionsExclusive(instances)) {
      ++numFixed;
      if (remarks)
        front.emitRemark() << first.getKey() << " keeps its order: "
                           << first.describeSink()
                           << " takes no permutation";
      continue;
    }
    FailureOr<LayerStatistics> input = getLayerStatistics(
        *layerStats, front, first.getInputChannels(), stats);
    if (failed(input))
      return signalPassFailure();
    SmallVector<double> salience(first.sinkChannels, 0.0);
    int64_t channels = first.getInputChannels();
    for (int64_t c = 0; c < channels; ++c)
      salience[first.sinkChannelOf[c]] += input->gram[c * channels + c];
    SmallVector<int64_t> perm = sortBySalience(first, salience);
    bool identity = llvm::all_of(llvm::enumerate(perm), [](auto pair) {
      return int64_t(pair.index()) == pair.value();
    });
    if (identity)
      continue;
    if (failed(transformer.permute(instances, perm)))
      return signalPassFailure();
    ++numReordered;
    if (remarks)
      front.emitRemark() << "reordered " << first.getKey() << " by salience "
                         << "into " << first.describeSink();
  }
}
