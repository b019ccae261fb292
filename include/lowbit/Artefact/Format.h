//===- Format.h - The files of an ahead-of-time artefact --------*- C++ -*-===//
//
// An artefact directory holds:
//   manifest.txt  "lowbit-artefact 1", then one "key value..." line each:
//                 vocab, context, entries (token counts of the forward_T
//                 entry points), key_cache and value_cache (4 extents),
//                 target.
//   model.so      the compiled entry points; each external weight W is read
//                 through the pointer `__lowbit_weight_W`, which the runtime
//                 sets to W's bytes in the weight file.
//   weights.bin   a header, an index (name, offset, size and FNV-1a hash of
//                 every weight) and the weights at page-aligned offsets, so
//                 that the file is mapped rather than read.
//   tokenizer.bin the tokenizer, serialized (for lowbit-run).
// A GPU artefact (target cuda) holds kernels.cubin in place of model.so,
// and its manifest describes the decoder its kernels run instead of entry
// points (see lowbit/GPU/DecodeKernels.h for the step):
//   decoder       dim hidden heads kv_heads head_dim vocab_rows layers: the
//                 kernels' extents (hidden and vocab_rows padded to what the
//                 kernels take; the padding's weights are zero)
//   norm_eps, rope_theta, chip
//   weights       f16, or w4 G (W4A16, groups of G)
//   head          f16 or w4: the LM head's weights in a W4A16 artefact
//   random        SEED: no weights.bin; the runtime draws the weights from
//                 SEED (for speed runs of models too large to ship)
//   kernel        ROLE NAME GRID BLOCK, one line a role of the step
// Its weights: token_embd (f16 [vocab_rows, dim]), output_norm and each
// layer's blk.L.attn_norm and blk.L.ffn_norm (f32 [dim]), and the matmuls
// blk.L.qkv, blk.L.attn_out, blk.L.gate_up, blk.L.ffn_down and output:
// f16 [N, K], or W4 words in packW4ForMma's layout with NAME.scales (f16
// [N, K / G]); the output of `head f16` is f16 rows. A float16 output tied
// to the embedding is not stored twice.
// Both the writer (quant-compile) and the reader (liblowbit, which has no
// LLVM) include this header only.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_ARTEFACT_FORMAT_H
#define LOWBIT_ARTEFACT_FORMAT_H

#include <cstddef>
#include <cstdint>

namespace lowbit::artefact {

inline constexpr char kManifestFile[] = "manifest.txt";
inline constexpr char kLibraryFile[] = "model.so";
inline constexpr char kKernelsFile[] = "kernels.cubin";
inline constexpr char kWeightsFile[] = "weights.bin";
inline constexpr char kTokenizerFile[] = "tokenizer.bin";
inline constexpr char kManifestMagic[] = "lowbit-artefact";
inline constexpr int kManifestVersion = 1;
/// Prefix of the pointer through which the code reads a weight.
inline constexpr char kWeightSlotPrefix[] = "__lowbit_weight_";

inline constexpr char kWeightsMagic[8] = {'L', 'B', 'W', 'E',
                                          'I', 'G', 'H', 'T'};
inline constexpr uint32_t kWeightsVersion = 1;
inline constexpr uint64_t kWeightAlignment = 4096;

/// The start of weights.bin; then `count` index entries: a uint32 name
/// length, the name, then (at the next multiple of 8) a WeightRecord.
struct WeightsHeader {
  char magic[8];
  uint32_t version;
  uint32_t count;
  /// The whole file's size, to detect truncation before anything is read.
  uint64_t fileSize;
};

struct WeightRecord {
  uint64_t offset, size, hash;
};

/// 64-bit FNV-1a of `size` bytes, four interleaved lanes of 8-byte words
/// (fast enough to check every weight on open) folded together with the
/// tail bytes.
inline uint64_t hashBytes(const void *data, uint64_t size) {
  constexpr uint64_t kPrime = 0x100000001b3ull;
  uint64_t lanes[4] = {0xcbf29ce484222325ull, 0x84222325cbf29ce4ull,
                       0x9ce484222325cbf2ull, 0x2325cbf29ce48422ull};
  const auto *bytes = static_cast<const unsigned char *>(data);
  uint64_t words = size / 32 * 4;
  for (uint64_t i = 0; i < words; ++i) {
    uint64_t word = 0;
    for (int b = 0; b < 8; ++b)
      word |= uint64_t(bytes[i * 8 + b]) << (8 * b);
    lanes[i % 4] = (lanes[i % 4] ^ word) * kPrime;
  }
  uint64_t hash = lanes[0] ^ (lanes[1] * 3) ^ (lanes[2] * 5) ^ (lanes[3] * 7);
  for (uint64_t i = words * 8; i < size; ++i)
    hash = (hash ^ bytes[i]) * kPrime;
  return (hash ^ size) * kPrime;
}

inline uint64_t alignTo(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

} // namespace lowbit::artefact

#endif // LOWBIT_ARTEFACT_FORMAT_H
