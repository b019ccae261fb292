//===- Safetensors.h - Hugging Face checkpoint pieces -----------*- C++ -*-===//
//
// The pieces readSafetensors (Checkpoint.h) is built from, exposed for tools
// and tests: one memory-mapped .safetensors file, transformers' config.json
// for Llama, the row permutation between Hugging Face's and LowBit's RoPE
// conventions, and tokenizer.json as a byte-level BPE vocabulary.
//
// A .safetensors file is a little-endian u64 N, N bytes of JSON
//   {"<name>": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]},
//    "__metadata__": {"<key>": "<value>", ..}}
// and then the data section, which the offsets index (end exclusive).
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_IMPORT_SAFETENSORS_H
#define LOWBIT_IMPORT_SAFETENSORS_H

#include "lowbit/Import/Checkpoint.h"
#include "lowbit/Tokenizer/Tokenizer.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/MemoryBuffer.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lowbit {

/// Where one tensor lies in a .safetensors file, as its header says.
struct SafetensorsTensorInfo {
  /// The dtype as written ("F32", "BF16", "I8", ...).
  std::string dtype;
  std::vector<int64_t> shape;
  /// Byte range [begin, end) within the data section.
  uint64_t begin = 0;
  uint64_t end = 0;
};

/// One memory-mapped .safetensors file. Opening checks the whole header:
/// every entry's offsets lie inside the data section and, for the dtypes the
/// format defines, hold exactly shape x element-size bytes.
class SafetensorsFile {
public:
  static llvm::Expected<SafetensorsFile> open(llvm::StringRef path);

  llvm::StringRef getPath() const { return path; }
  const llvm::StringMap<SafetensorsTensorInfo> &getTensors() const {
    return tensors;
  }
  /// The string entries of "__metadata__".
  const llvm::StringMap<std::string> &getMetadata() const { return metadata; }
  /// Null when the file holds no tensor of that name.
  const SafetensorsTensorInfo *lookup(llvm::StringRef name) const;

  /// The tensor converted to f32. F32, F16 and BF16 are supported; other
  /// dtypes, rank-0 tensors and unknown names are errors.
  llvm::Expected<FloatTensor> readFloat(llvm::StringRef name) const;

private:
  SafetensorsFile() = default;

  std::string path;
  std::unique_ptr<llvm::MemoryBuffer> buffer;
  /// Offset of the data section in the file.
  uint64_t dataStart = 0;
  llvm::StringMap<SafetensorsTensorInfo> tensors;
  llvm::StringMap<std::string> metadata;
};

/// The hyper-parameters of a transformers config.json for LlamaForCausalLM
/// (model_type "llama", or "mistral" without a sliding window). Keys with a
/// default in transformers' LlamaConfig take it (num_key_value_heads = heads,
/// rms_norm_eps 1e-6, rope_theta 1e4, max_position_embeddings 2048,
/// tie_word_embeddings false); the sizes are required. Anything LowBit's
/// Llama cannot express (RoPE scaling, biases, another activation, a head_dim
/// other than hidden_size / heads) is an error. `path` prefixes messages.
llvm::Expected<LlamaConfig> parseHfLlamaConfig(llvm::StringRef json,
                                               llvm::StringRef path);

/// Hugging Face stores wq and wk for RoPE on halves (x[i], x[i + d/2]) of
/// each head of size d; LowBit rotates adjacent pairs (x[2i], x[2i+1]) with
/// the same frequency for pair i. Reorders the rows of `weight`
/// ([numHeads * d, in]) in place so that, within each head,
///   new row 2i = old row i,  new row 2i + 1 = old row i + d/2
/// (llama.cpp's convert_hf_to_gguf permute). Then q_ours = P q_hf and
/// rope_pairs(P q) = P rope_halves(q), so every q.k score is unchanged.
llvm::Error permuteRopeHalvesToPairs(FloatTensor &weight, int64_t numHeads);

/// The vocabulary of a tokenizer.json with a BPE model and a ByteLevel
/// pre-tokenizer, ready for Tokenizer::createByteLevelBpe.
struct HfByteLevelBpe {
  /// Pieces by id: model.vocab, then added_tokens; ids no entry names are
  /// filled with "<unused_ID>" of kind `unused`.
  std::vector<std::string> pieces;
  /// `normal` for the BPE vocabulary; added tokens are `control` when marked
  /// special, else `userDefined`.
  std::vector<TokenKind> kinds;
  /// model.merges as "left right", in rank order.
  std::vector<std::string> merges;
  /// "gpt2", "llama3" or "smollm" (GGUF's tokenizer.ggml.pre names).
  std::string preTokenizer;
  SpecialTokens special;
};

/// Parses tokenizer.json. std::nullopt when it is not byte-level BPE (for
/// example SentencePiece-style BPE with a Metaspace pre-tokenizer); an error
/// when it is malformed, or byte-level BPE with a pre-tokenizer or normalizer
/// LowBit cannot reproduce. BOS, EOS and padding come from `special`
/// (config.json's ids), BOS else from the token the post-processor prepends;
/// addBos is whether it prepends one; unknown is model.unk_token's id. Ids
/// outside the vocabulary are errors.
llvm::Expected<std::optional<HfByteLevelBpe>>
parseHfByteLevelBpe(llvm::StringRef json, llvm::StringRef path,
                    SpecialTokens special);

} // namespace lowbit

#endif // LOWBIT_IMPORT_SAFETENSORS_H
