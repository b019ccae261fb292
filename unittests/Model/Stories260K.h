//===- Stories260K.h - The shared stories260K copy, repaired --------------===//
//
// The stories260K.bin in the shared data (sha256 9414d5a2...) is a damaged
// copy of llama2.c's stories260K: its header, embedding, norms and RoPE
// tables are intact, but every layer matrix has been scrambled in place by a
// power of the in-place transpose permutation (read [out, in] row-major,
// write [in, out]). Five more rounds of that permutation restore it; no
// other count gives the matrices back their low-rank structure. The reader
// reads the file as llama2.c's run.c does (an independent run.c port gives
// the same scrambled text), so the tests undo the damage on load, after
// which greedy decoding tells a TinyStories story and perplexity on such
// text is about 2. A genuine copy (any other hash) is left as it is.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_UNITTESTS_MODEL_STORIES260K_H
#define LOWBIT_UNITTESTS_MODEL_STORIES260K_H

#include "lowbit/Import/Checkpoint.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/SHA256.h"

#include <vector>

namespace lowbit::testing {

inline constexpr const char *kDamagedStories260KSha256 =
    "9414d5a285453a7eab631713d171753232c978f6f97654211469aff8be93c8d6";

/// Five rounds of m'[j * out + i] = m[i * in + j] on an [out, in] matrix.
inline void unscramble(FloatTensor &matrix) {
  int64_t out = matrix.shape[0], in = matrix.shape[1];
  std::vector<float> scratch(matrix.data.size());
  for (int round = 0; round < 5; ++round) {
    for (int64_t i = 0; i < out; ++i)
      for (int64_t j = 0; j < in; ++j)
        scratch[j * out + i] = matrix.data[i * in + j];
    matrix.data.swap(scratch);
  }
}

/// Repairs `checkpoint`, read from `path`, if the file is the damaged copy;
/// returns whether it was.
inline bool repairIfDamagedStories260K(const std::string &path,
                                       LlamaCheckpoint &checkpoint) {
  auto file = llvm::MemoryBuffer::getFile(path);
  if (!file)
    return false;
  auto digest = llvm::SHA256::hash(llvm::arrayRefFromStringRef(
      (*file)->getBuffer()));
  if (llvm::toHex(digest, /*LowerCase=*/true) != kDamagedStories260KSha256)
    return false;
  for (LlamaLayer &layer : checkpoint.layers)
    for (FloatTensor *matrix : {&layer.wq, &layer.wk, &layer.wv, &layer.wo,
                                &layer.wGate, &layer.wUp, &layer.wDown})
      unscramble(*matrix);
  return true;
}

} // namespace lowbit::testing

#endif // LOWBIT_UNITTESTS_MODEL_STORIES260K_H
