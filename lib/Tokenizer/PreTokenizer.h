//===- PreTokenizer.h - Regex-equivalent word splitting ---------*- C++ -*-===//
//
// Byte-level BPE never merges across the words its pre-tokenizer cuts the text
// into. The models define those words with regular expressions over Unicode
// classes; this file implements each expression by hand, as llama.cpp does,
// because std::regex knows no \p{L} and is slow.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_TOKENIZER_PRETOKENIZER_H
#define LOWBIT_LIB_TOKENIZER_PRETOKENIZER_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <vector>

namespace lowbit {

/// A named pre-tokenizer (GGUF's tokenizer.ggml.pre). Each is a sequence of
/// splitting steps; a step cuts every piece the previous step produced, both
/// around what its expression matches and around the gaps between matches,
/// and expressions never look past the end of the piece they run on.
class PreTokenizer {
public:
  enum class Kind {
    /// GPT-2: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|
    /// \s+(?!\S)|\s+
    gpt2,
    /// StarCoder and SmolLM: every \p{N} on its own, then GPT-2's expression.
    smollm,
    /// Llama 3: (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|
    /// \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+ ; a word
    /// that is a whole piece is not merged from bytes (ignore_merges).
    llama3,
    /// llama.cpp's fallback for BPE vocabularies that name no pre-tokenizer:
    /// [\p{P}$+<=>^~|]+, then GPT-2's expression, then \p{N}+, then [0-9]{3}.
    fallback,
  };

  /// The pre-tokenizer that GGUF calls `name`; the error lists known names.
  static llvm::Expected<PreTokenizer> get(llvm::StringRef name);

  /// The names get() accepts.
  static llvm::ArrayRef<llvm::StringRef> getKnownNames();

  explicit PreTokenizer(Kind kind) : kind(kind) {}

  /// Appends the words of `text` to `words`, as slices of `text` that
  /// concatenate back to it. Bytes that are not valid UTF-8 are characters of
  /// class "other".
  void split(llvm::StringRef text, std::vector<llvm::StringRef> &words) const;

  /// Whether a word that is itself a piece becomes that piece without merges.
  bool ignoresMerges() const { return kind == Kind::llama3; }

  Kind getKind() const { return kind; }

private:
  Kind kind;
};

} // namespace lowbit

#endif // LOWBIT_LIB_TOKENIZER_PRETOKENIZER_H
