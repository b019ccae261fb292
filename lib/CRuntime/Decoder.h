//===- Decoder.h - liblowbit's runners of GPU artefacts ---------*- C++ -*-===//
//
// A GPU artefact (lowbit/Artefact/Format.h) describes a decoder rather than
// entry points: liblowbit runs it one token at a time, on the GPU through
// liblowbit_cuda and the artefact's kernels, or on the host through a plain
// C++ reference of the same step on the same weights (what the GPU is
// checked against). Internal to liblowbit; plain C++, no LLVM or MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_CRUNTIME_DECODER_H
#define LOWBIT_CRUNTIME_DECODER_H

#include "lowbit-c/lowbit.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::runtime {

/// One launch of the decode step, as the manifest gives it.
struct KernelLaunch {
  std::string name;
  uint32_t grid = 0, block = 0;
};

/// The decoder a GPU artefact's manifest describes.
struct DecoderConfig {
  std::string directory;
  int64_t dim = 0, hidden = 0, heads = 0, kvHeads = 0, headDim = 0;
  int64_t vocab = 0, vocabRows = 0, layers = 0, context = 0;
  float normEps = 1e-5f, ropeTheta = 10000.0f;
  /// 0: float16 weights; otherwise W4A16 with groups of this many.
  int64_t group = 0;
  /// The LM head in float16 even when the other layers are W4A16.
  bool headF16 = true;
  std::optional<uint64_t> randomSeed;
  std::map<std::string, KernelLaunch> kernels; // by role

  int64_t kvDim() const { return kvHeads * headDim; }
  /// Whether linear layer `name` has W4A16 weights.
  bool isW4(const std::string &name) const {
    return group && !(name == "output" && headF16);
  }
  int64_t qkvDim() const { return dim + 2 * kvDim(); }
};

/// A linear layer of the step: rows and input channels.
struct LinearShape {
  int64_t n, k;
};

/// The linear layers' shapes by weight name ("blk.3.qkv", "output").
LinearShape linearShape(const DecoderConfig &config, const std::string &name);

/// The weights of a decoder by name, each a view of `bytes` bytes (mapped
/// from weights.bin, or drawn from the seed and owned here).
class DecoderWeights {
public:
  /// Checks that `mapped` (name -> bytes of the weight file) holds every
  /// weight the config needs, each of the size it implies; or, for a random
  /// config, draws them all.
  lowbit_status
  init(const DecoderConfig &config,
       const std::map<std::string, std::pair<const void *, size_t>> &mapped,
       std::string &error);

  struct View {
    const void *data;
    size_t bytes;
  };
  /// The weight `name`; null data if there is none (an f16 head tied to
  /// the embedding).
  View get(const std::string &name) const;
  const std::vector<std::string> &names() const { return order; }

private:
  std::map<std::string, View> views;
  std::vector<std::string> order;
  std::vector<std::vector<char>> drawn;
};

/// The names of the weights a config needs, with their sizes in bytes.
std::vector<std::pair<std::string, size_t>>
expectedWeights(const DecoderConfig &config);

/// cos and sin of each pair's angle at each position: [context][headDim].
std::vector<float> ropeTable(const DecoderConfig &config);

/// Runs the decode step.
class Decoder {
public:
  virtual ~Decoder() = default;
  /// Runs `token` at `position` (the KV cache holds the positions before it)
  /// and writes vocab logits to `logits` when it is not null.
  virtual lowbit_status step(int32_t token, int64_t position, float *logits,
                             std::string &error) = 0;
};

/// On the GPU: loads the cubin, uploads the weights, records the step.
std::unique_ptr<Decoder> openCudaDecoder(const DecoderConfig &config,
                                         const DecoderWeights &weights,
                                         lowbit_status &status,
                                         std::string &error);

/// On the host: the reference of the same step in f32.
std::unique_ptr<Decoder> openReferenceDecoder(const DecoderConfig &config,
                                              const DecoderWeights &weights);

} // namespace lowbit::runtime

#endif // LOWBIT_CRUNTIME_DECODER_H
