//===- Smooth.cpp - SmoothQuant, SmoothQuant+ and AWQ scales --------------===//

#include "lowbit/Analysis/ChannelSinks.h"
#include "lowbit/Quantization/ChannelTransforms.h"
#include "lowbit/Quantization/Passes.h"
#include "lowbit/Quantization/WeightQuantization.h"

#include "mlir/IR/Threading.h"
#include "llvm/Support/FormatVariadic.h"

#include <cmath>

namespace mlir::lowbit {
#define GEN_PASS_DEF_SMOOTHPASS
#include "lowbit/Quantization/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

namespace {

/// One group to smooth: what the search needs, read from the IR first.
struct SmoothJob {
  const ChannelGroupInstances *group = nullptr;
  /// The group's weights, consumer after consumer, each [N_i, K].
  SmallVector<std::vector<float>> weights;
  LayerStatistics stats;
  /// Results.
  SmallVector<float> scales;
  double alpha = 0.0, error = 0.0, plainError = 0.0;
};

/// Per sink channel, the largest of `values` over the input channels that
/// read it.
static SmallVector<float> maxPerSinkChannel(const ChannelGroup &group,
                                            ArrayRef<float> values) {
  SmallVector<float> result(group.sinkChannels, 0.0f);
  for (auto [c, value] : llvm::enumerate(values)) {
    float &slot = result[group.sinkChannelOf[c]];
    slot = std::max(slot, value);
  }
  return result;
}

/// Scales within a range that keeps weights and activations finite.
static float clampScale(double s) {
  if (!std::isfinite(s) || s <= 0.0)
    return 1.0f;
  return float(std::clamp(s, 1e-5, 1e5));
}

struct SmoothPass : public lowbit::impl::SmoothPassBase<SmoothPass> {
  using Base::Base;
  void runOnOperation() override;

private:
  /// SmoothQuant's scales for migration strength `a`.
  SmallVector<float> getSmoothQuantScales(const SmoothJob &job,
                                          double a) const;
  /// AWQ's scales for strength `a`.
  SmallVector<float> getAwqScales(const SmoothJob &job, double a) const;
  /// The group's output error after quantizing its weights, with its input
  /// divided by `scales` (per sink channel).
  double getError(const SmoothJob &job, ArrayRef<float> scales,
                  ArrayRef<float> gram) const;
  void search(SmoothJob &job) const;

  QuantScheme scheme;
};

} // namespace

SmallVector<float> SmoothPass::getSmoothQuantScales(const SmoothJob &job,
                                                    double a) const {
  const ChannelGroup &group = job.group->front();
  int64_t channels = group.getInputChannels();
  SmallVector<float> weightMax(channels, 0.0f);
  for (const std::vector<float> &w : job.weights)
    for (size_t i = 0; i < w.size(); ++i)
      weightMax[i % channels] =
          std::max(weightMax[i % channels], std::fabs(w[i]));
  SmallVector<float> x = maxPerSinkChannel(group, job.stats.absMax);
  SmallVector<float> w = maxPerSinkChannel(group, weightMax);
  SmallVector<float> scales(group.sinkChannels);
  for (int64_t j = 0; j < group.sinkChannels; ++j)
    scales[j] = x[j] > 0.0f && w[j] > 0.0f
                    ? clampScale(std::pow(double(x[j]), a) /
                                 std::pow(double(w[j]), 1.0 - a))
                    : 1.0f;
  return scales;
}

SmallVector<float> SmoothPass::getAwqScales(const SmoothJob &job,
                                            double a) const {
  const ChannelGroup &group = job.group->front();
  SmallVector<float> x = maxPerSinkChannel(group, job.stats.meanAbs);
  SmallVector<double> raw(group.sinkChannels);
  double smallest = INFINITY, largest = 0.0;
  for (int64_t j = 0; j < group.sinkChannels; ++j) {
    raw[j] = std::pow(std::max(double(x[j]), 1e-4), a);
    smallest = std::min(smallest, raw[j]);
    largest = std::max(largest, raw[j]);
  }
  double norm = std::sqrt(smallest * largest);
  SmallVector<float> scales(group.sinkChannels);
  for (int64_t j = 0; j < group.sinkChannels; ++j)
    scales[j] = clampScale(raw[j] / norm);
  return scales;
}

double SmoothPass::getError(const SmoothJob &job, ArrayRef<float> scales,
                            ArrayRef<float> gram) const {
  const ChannelGroup &group = job.group->front();
  int64_t channels = group.getInputChannels();
  double total = 0.0;
  for (const std::vector<float> &w : job.weights) {
    int64_t rows = int64_t(w.size()) / channels;
    std::vector<float> scaled(w.size());
    for (size_t i = 0; i < w.size(); ++i)
      scaled[i] = w[i] * scales[group.sinkChannelOf[i % channels]];
    std::vector<float> quantized = fakeQuantize(scheme, rows, channels, scaled);
    for (size_t i = 0; i < w.size(); ++i)
      quantized[i] =
          quantized[i] / scales[group.sinkChannelOf[i % channels]] - w[i];
    total += getOutputError(rows, channels, quantized, gram);
  }
  return total;
}

void SmoothPass::search(SmoothJob &job) const {
  if (method == SmoothMethod::smoothquant) {
    job.alpha = alpha;
    job.scales = getSmoothQuantScales(job, alpha);
    return;
  }
  std::vector<float> gram(job.stats.gram.begin(), job.stats.gram.end());
  SmallVector<float> ones(job.group->front().sinkChannels, 1.0f);
  job.plainError = getError(job, ones, gram);
  job.scales = ones;
  job.error = job.plainError;
  job.alpha = method == SmoothMethod::awq ? 0.0 : -1.0; // -1: s = 1.
  for (int64_t step = 0; step < grid; ++step) {
    double a = double(step) / double(grid);
    if (method == SmoothMethod::awq && step == 0)
      continue; // a = 0 is s = 1, done above.
    SmallVector<float> scales = method == SmoothMethod::awq
                                    ? getAwqScales(job, a)
                                    : getSmoothQuantScales(job, a);
    double error = getError(job, scales, gram);
    if (error < job.error) {
      job.error = error;
      job.alpha = a;
      job.scales = std::move(scales);
    }
  }
}

void SmoothPass::runOnOperation() {
  ModuleOp module = getOperation();
  Location loc = module.getLoc();
  if (stats.empty()) {
    emitError(loc, "lowbit-smooth needs calibration statistics: stats=FILE "
                   "(from lowbit-run calibrate)");
    return signalPassFailure();
  }
  if (method == SmoothMethod::smoothquant && !(alpha >= 0.0 && alpha <= 1.0)) {
    emitError(loc) << "alpha must be in [0, 1], got " << double(alpha);
    return signalPassFailure();
  }
  if (method != SmoothMethod::smoothquant) {
    if (grid < 1) {
      emitError(loc) << "grid must be at least 1, got " << int64_t(grid);
      return signalPassFailure();
    }
    WeightSchemeOptions options;
    options.format = format;
    options.group = group;
    options.symmetric = symmetric;
    options.scaleType = scaleType;
    FailureOr<QuantSchemeAttr> attr =
        buildWeightScheme(&getContext(), loc, options);
    if (failed(attr))
      return signalPassFailure();
    scheme = getQuantScheme(*attr);
  }
  auto layerStats = readCalibrationStats(stats);
  if (!layerStats) {
    emitError(loc) << llvm::toString(layerStats.takeError());
    return signalPassFailure();
  }

  const auto &analysis = getAnalysis<ChannelSinkAnalysis>();
  auto groups = collectChannelGroups(module, analysis);
  if (failed(groups))
    return signalPassFailure();
  ChannelTransformer transformer(module);
  LayerNameFilter skipped(skip);

  // Gather on the IR, search in parallel, then rewrite.
  SmallVector<SmoothJob> jobs;
  for (ChannelGroupInstances &instances : *groups) {
    const ChannelGroup &first = instances.front();
    std::string key = first.getKey();
    if (llvm::any_of(first.consumers, [&](linalg::MatmulOp consumer) {
          return skipped.matches(getLayerName(consumer));
        }))
      continue;
    linalg::MatmulOp front = first.consumers.front();
    bool foldable = transformer.isSinkExclusive(instances);
    if (!foldable && !explicitScales) {
      ++numNoSink;
      if (remarks)
        front.emitRemark() << key << " left alone: no sink ("
            << (first.reason.empty() ? "the sink is shared" : first.reason)
            << ")";
      continue;
    }
    SmoothJob job;
    job.group = &instances;
    int64_t channels = first.getInputChannels();
    FailureOr<LayerStatistics> input =
        getLayerStatistics(*layerStats, front, channels, stats);
    if (failed(input))
      return signalPassFailure();
    job.stats = std::move(*input);
    for (linalg::MatmulOp consumer : first.consumers)
      job.weights.push_back(readConstant(getLinearLayerWeight(consumer)));
    jobs.push_back(std::move(job));
  }

  parallelForEach(&getContext(), jobs, [&](SmoothJob &job) { search(job); });

  for (SmoothJob &job : jobs) {
    if (failed(transformer.scale(*job.group, job.scales)))
      return signalPassFailure();
    ++numSmoothed;
    if (!remarks)
      continue;
    const ChannelGroup &first = job.group->front();
    linalg::MatmulOp front = first.consumers.front();
    InFlightDiagnostic remark = front.emitRemark();
    remark << "smoothed " << first.getKey() << " into "
           << (transformer.isSinkExclusive(*job.group)
                   ? first.describeSink()
                   : std::string("a lowbit.channel_scale"));
    if (method == SmoothMethod::smoothquant)
      remark << llvm::formatv(" with alpha {0:F2}", job.alpha).str();
    else if (job.alpha < 0.0)
      remark << ": no scale beats s = 1 (error " << job.plainError << ")";
    else
      remark << llvm::formatv(": alpha {0:F2}, output error {1:E2} -> {2:E2}",
                              job.alpha, job.plainError, job.error)
                    .str();
  }
}
