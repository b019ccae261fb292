//===- Observers.h - Calibration statistics collected at run time -*- C++ -*-===//
//
// What `lowbit.observe` calls into once lowered: per-channel statistics of the
// tensors flowing into linear layers, accumulated over every execution. Plain
// C++ with no MLIR or LLVM dependency, so compiled artefacts can link it.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_RUNTIME_OBSERVERS_H
#define LOWBIT_RUNTIME_OBSERVERS_H

#include <cstdint>
#include <string>
#include <vector>

namespace lowbit::runtime {

/// The statistics an observer collects, as bits (the values of the
/// dialect's ObserveStats enum).
enum ObserveFlags : uint32_t {
  kObserveAbsMax = 1u << 0,
  kObserveMeanAbs = 1u << 1,
  kObserveGram = 1u << 2,
};

/// Per-channel statistics of one observed tensor, over all rows seen.
struct ChannelStatistics {
  int64_t channels = 0;
  int64_t rows = 0;
  uint32_t flags = 0;
  std::vector<float> absMax;  ///< max |x_k|, if kObserveAbsMax.
  std::vector<double> absSum; ///< sum |x_k|, if kObserveMeanAbs.
  /// sum x_i x_j, row-major K x K, if kObserveGram. Only the upper triangle
  /// is accumulated; `finalizeGram` mirrors it.
  std::vector<double> gram;

  /// mean |x_k| over all rows seen.
  std::vector<float> getMeanAbs() const;
  /// The full symmetric Gram matrix.
  std::vector<double> getGram() const;
};

/// Statistics for every observer id of a module.
class ObserverRegistry {
public:
  explicit ObserverRegistry(std::vector<std::string> keys = {});

  /// Adds the rows of a strided tensor of rank `rank` (its last axis the
  /// channels) to observer `id`.
  void observe(int64_t id, uint32_t flags, int64_t rank, const float *data,
               const int64_t *sizes, const int64_t *strides);

  const std::vector<std::string> &getKeys() const { return keys; }
  const ChannelStatistics &get(int64_t id) const { return stats[id]; }
  size_t size() const { return stats.size(); }
  /// The first problem seen (an unknown id, a channel count that changed), or
  /// an empty string.
  const std::string &getError() const { return error; }

private:
  std::vector<std::string> keys;
  std::vector<ChannelStatistics> stats;
  std::string error;
};

/// The registry `lowbit_observe` calls report to; null drops them.
void setActiveObserverRegistry(ObserverRegistry *registry);
ObserverRegistry *getActiveObserverRegistry();

} // namespace lowbit::runtime

/// The C entry point of lowered `lowbit.observe` ops (the C interface of
/// `func.func private @lowbit_observe(i64, i64, memref<*xf32>)`).
extern "C" void _mlir_ciface_lowbit_observe(int64_t id, int64_t flags,
                                            void *unrankedDescriptor);

#endif // LOWBIT_RUNTIME_OBSERVERS_H
