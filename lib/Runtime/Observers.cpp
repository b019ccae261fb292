//===- Observers.cpp - Calibration statistics collected at run time -------===//

#include "lowbit/Runtime/Observers.h"

#include <algorithm>
#include <cmath>

using namespace lowbit::runtime;

std::vector<float> ChannelStatistics::getMeanAbs() const {
  std::vector<float> mean(absSum.size());
  for (size_t k = 0; k < absSum.size(); ++k)
    mean[k] = rows ? static_cast<float>(absSum[k] / double(rows)) : 0.0f;
  return mean;
}

std::vector<double> ChannelStatistics::getGram() const {
  std::vector<double> full(gram);
  for (int64_t i = 0; i < channels; ++i)
    for (int64_t j = 0; j < i; ++j)
      full[i * channels + j] = gram[j * channels + i];
  return full;
}

ObserverRegistry::ObserverRegistry(std::vector<std::string> keys)
    : keys(std::move(keys)), stats(this->keys.size()) {}

void ObserverRegistry::observe(int64_t id, uint32_t flags, int64_t rank,
                               const float *data, const int64_t *sizes,
                               const int64_t *strides) {
  if (id < 0 || id >= static_cast<int64_t>(stats.size())) {
    if (error.empty())
      error = "observer id " + std::to_string(id) + " is unknown";
    return;
  }
  ChannelStatistics &s = stats[id];
  int64_t channels = rank > 0 ? sizes[rank - 1] : 1;
  if (s.channels == 0) {
    s.channels = channels;
    s.flags = flags;
    if (flags & kObserveAbsMax)
      s.absMax.assign(channels, 0.0f);
    if (flags & kObserveMeanAbs)
      s.absSum.assign(channels, 0.0);
    if (flags & kObserveGram)
      s.gram.assign(channels * channels, 0.0);
  } else if (s.channels != channels || s.flags != flags) {
    if (error.empty())
      error = "observer '" + keys[id] + "' saw " + std::to_string(s.channels) +
              " channels, then " + std::to_string(channels);
    return;
  }

  int64_t numRows = 1;
  for (int64_t axis = 0; axis + 1 < rank; ++axis)
    numRows *= sizes[axis];
  int64_t channelStride = rank > 0 ? strides[rank - 1] : 1;
  std::vector<int64_t> index(std::max<int64_t>(rank - 1, 0), 0);
  // Rows are gathered in blocks: the Gram matrix (K^2 doubles, 19 MB for
  // K = 1536) is then read and written once per block rather than once per
  // row, which made calibration bound by memory traffic.
  constexpr int64_t kBlockRows = 64;
  std::vector<float> block(kBlockRows * channels);
  std::vector<double> sums(channels);
  auto flushGram = [&](int64_t rows) {
    for (int64_t i = 0; i < channels; ++i) {
      std::fill(sums.begin() + i, sums.end(), 0.0);
      for (int64_t b = 0; b < rows; ++b) {
        const float *x = &block[b * channels];
        double xi = x[i];
        if (xi == 0.0)
          continue;
        for (int64_t j = i; j < channels; ++j)
          sums[j] += xi * double(x[j]);
      }
      double *out = &s.gram[i * channels];
      for (int64_t j = i; j < channels; ++j)
        out[j] += sums[j];
    }
  };
  int64_t inBlock = 0;
  for (int64_t r = 0; r < numRows; ++r) {
    int64_t offset = 0;
    for (int64_t axis = 0; axis + 1 < rank; ++axis)
      offset += index[axis] * strides[axis];
    float *row = &block[inBlock * channels];
    for (int64_t k = 0; k < channels; ++k)
      row[k] = data[offset + k * channelStride];
    if (flags & kObserveAbsMax)
      for (int64_t k = 0; k < channels; ++k)
        s.absMax[k] = std::max(s.absMax[k], std::fabs(row[k]));
    if (flags & kObserveMeanAbs)
      for (int64_t k = 0; k < channels; ++k)
        s.absSum[k] += std::fabs(row[k]);
    if ((flags & kObserveGram) && ++inBlock == kBlockRows) {
      flushGram(inBlock);
      inBlock = 0;
    }
    // Next row index, last leading axis fastest.
    for (int64_t axis = rank - 2; axis >= 0; --axis) {
      if (++index[axis] < sizes[axis])
        break;
      index[axis] = 0;
    }
  }
  if ((flags & kObserveGram) && inBlock > 0)
    flushGram(inBlock);
  s.rows += numRows;
}

static ObserverRegistry *activeRegistry = nullptr;

void lowbit::runtime::setActiveObserverRegistry(ObserverRegistry *registry) {
  activeRegistry = registry;
}

ObserverRegistry *lowbit::runtime::getActiveObserverRegistry() {
  return activeRegistry;
}

namespace {
/// The layout of an unranked memref descriptor and of the ranked one it
/// points to, as MLIR's LLVM lowering builds them.
struct UnrankedDescriptor {
  int64_t rank;
  void *descriptor;
};
struct RankedDescriptorHead {
  float *allocated;
  float *aligned;
  int64_t offset;
  // int64_t sizes[rank], strides[rank] follow.
};
} // namespace

extern "C" void _mlir_ciface_lowbit_observe(int64_t id, int64_t flags,
                                            void *unrankedDescriptor) {
  if (!activeRegistry)
    return;
  auto *unranked = static_cast<UnrankedDescriptor *>(unrankedDescriptor);
  auto *head = static_cast<RankedDescriptorHead *>(unranked->descriptor);
  auto *sizes = reinterpret_cast<int64_t *>(head + 1);
  int64_t *strides = sizes + unranked->rank;
  activeRegistry->observe(id, static_cast<uint32_t>(flags), unranked->rank,
                          head->aligned + head->offset, sizes, strides);
}
