//===- Tokenizer.h - Text to token ids and back -----------------*- C++ -*-===//
//
// The tokenizers of the checkpoints LowBit imports: the SentencePiece-style
// vocabulary of Llama and llama2.c (pieces with scores, merged greedily by
// score, bytes as <0xXX> fallback pieces), and byte-level BPE as GGUF stores
// it for GPT-2-style models (tokens plus ranked merges, with a regex
// pre-tokenizer). Plain C++ over LLVM Support; no MLIR.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_TOKENIZER_TOKENIZER_H
#define LOWBIT_TOKENIZER_TOKENIZER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace lowbit {

/// How a piece of the vocabulary is used (GGUF's tokenizer.ggml.token_type).
enum class TokenKind : int32_t {
  normal = 1,
  unknown = 2,
  control = 3,
  userDefined = 4,
  unused = 5,
  byte = 6,
};

/// Special token ids; -1 where the vocabulary has none.
struct SpecialTokens {
  int32_t bos = -1;
  int32_t eos = -1;
  int32_t unknown = -1;
  int32_t padding = -1;
  /// Whether encoding a prompt starts with BOS by default.
  bool addBos = true;
  /// SentencePiece only: whether encode() puts a space before the text (the
  /// "dummy prefix", GGUF's tokenizer.ggml.add_space_prefix) and decoding
  /// drops it again.
  bool addSpacePrefix = true;
};

class Tokenizer {
public:
  virtual ~Tokenizer();

  /// Token ids of `text`, without BOS (callers prepend getBos()).
  virtual std::vector<int32_t> encode(llvm::StringRef text) const = 0;

  /// The bytes `token` stands for when it follows `previous` (-1 at the
  /// start). Control tokens decode to nothing; byte tokens to their byte;
  /// unknown tokens to their piece; ids outside the vocabulary to nothing.
  /// SentencePiece drops the leading space of the first piece after BOS (or
  /// at the start), so that decode(encode(text)) is text again.
  virtual std::string decodeToken(int32_t previous, int32_t token) const = 0;

  /// The text of a whole sequence.
  std::string decode(llvm::ArrayRef<int32_t> tokens) const;

  int64_t getVocabSize() const { return static_cast<int64_t>(pieces.size()); }
  llvm::StringRef getPiece(int32_t token) const { return pieces[token]; }
  const SpecialTokens &getSpecialTokens() const { return special; }
  int32_t getBos() const { return special.bos; }
  int32_t getEos() const { return special.eos; }

  /// A SentencePiece-style tokenizer: `pieces` with `scores` (higher merges
  /// first) and kinds; spaces are U+2581 in pieces, a space is prepended to
  /// the text, and bytes without a piece use <0xXX> byte pieces (characters
  /// whose bytes lack them become the unknown piece). Normal and user-defined
  /// pieces take part in merges; user-defined ones are also matched whole in
  /// the text. Empty `kinds` means normal, except <0xXX> pieces are bytes. An
  /// unknown id of -1 is taken from the first piece of kind unknown.
  static llvm::Expected<std::unique_ptr<Tokenizer>>
  createSentencePiece(std::vector<std::string> pieces,
                      std::vector<float> scores, std::vector<TokenKind> kinds,
                      SpecialTokens special);

  /// A byte-level BPE tokenizer (GPT-2 style): pieces in the byte-to-unicode
  /// alphabet, merges as "left right" in rank order, and the pre-tokenizer
  /// named as GGUF's tokenizer.ggml.pre names it: "gpt2", "smollm" (digits
  /// split one by one first, as for StarCoder), "llama3" or "llama-bpe", and
  /// "default" (llama.cpp's fallback); other names are an error. Control and
  /// user-defined pieces in the text are matched whole before splitting.
  /// Empty `kinds` means all normal. Fails on a merge that is not two pieces
  /// whose concatenation is a piece.
  static llvm::Expected<std::unique_ptr<Tokenizer>>
  createByteLevelBpe(std::vector<std::string> pieces,
                     std::vector<TokenKind> kinds,
                     const std::vector<std::string> &merges,
                     llvm::StringRef preTokenizer, SpecialTokens special);

  /// Reads llama2.c's tokenizer.bin (max piece length, then per piece: f32
  /// score, i32 length, bytes). BOS is 1 and EOS 2, as in llama2.c. The file
  /// must hold exactly `vocabSize` pieces. Pieces are spelled as
  /// SentencePiece spells them (U+2581 for the exporter's spaces, "<s>" and
  /// "</s>"); 0 is the unknown piece, 1 and 2 control, <0xXX> pieces bytes.
  static llvm::Expected<std::unique_ptr<Tokenizer>>
  readLlama2c(llvm::StringRef path, int64_t vocabSize);

  /// A compact, versioned binary form of this tokenizer, from which
  /// deserialize() rebuilds one that encodes and decodes identically (for
  /// storing a model's tokenizer as a blob inside an MLIR file). It holds what
  /// the factory that built the tokenizer needs: pieces, kinds and special
  /// tokens, plus scores for SentencePiece, or the pre-tokenizer's name and
  /// the merges for byte-level BPE. The bytes depend only on the tokenizer, so
  /// serialize() of a deserialized tokenizer gives the same bytes again.
  std::string serialize() const;

  /// Rebuilds a tokenizer from serialize()'s bytes. Fails, naming the byte
  /// offset, on a wrong magic number, an unsupported version, bytes that end
  /// early, counts and lengths larger than the bytes left, unknown enum values,
  /// bytes left over at the end, and contents the factory rejects.
  static llvm::Expected<std::unique_ptr<Tokenizer>>
  deserialize(llvm::StringRef bytes);

protected:
  Tokenizer(std::vector<std::string> pieces, SpecialTokens special)
      : pieces(std::move(pieces)), special(special) {}

  /// Which factory built a tokenizer; the values are those serialize() writes.
  enum class Algorithm : uint8_t {
    sentencePiece = 1,
    byteLevelBpe = 2,
  };

  /// What the factory that built a tokenizer took beyond its pieces and
  /// special tokens, as serialize() stores it.
  struct Spec {
    Algorithm algorithm;
    /// One per piece, as resolved by the factory (never empty).
    std::vector<TokenKind> kinds;
    /// SentencePiece: one score per piece.
    std::vector<float> scores;
    /// Byte-level BPE: the pre-tokenizer's name as the factory got it.
    std::string preTokenizer;
    /// Byte-level BPE: "left right" merges in rank order.
    std::vector<std::string> merges;
  };

  /// The inputs that, with the pieces and special tokens, rebuild this
  /// tokenizer through its factory.
  virtual Spec getSpec() const = 0;

  std::vector<std::string> pieces;
  SpecialTokens special;
};

} // namespace lowbit

#endif // LOWBIT_TOKENIZER_TOKENIZER_H
