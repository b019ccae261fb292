//===- SentencePiece.cpp - Pieces merged greedily by score ----------------===//
//
// Encoding follows SentencePiece's BPE model as llama2.c's run.c performs it:
// escape spaces as U+2581 behind a dummy prefix, start from one symbol per
// UTF-8 character (bytes of characters without a piece become <0xXX> pieces),
// and repeatedly merge the adjacent pair whose concatenation is the
// highest-scoring piece, the leftmost one among equals. Instead of run.c's scan
// of every pair per merge (quadratic in the text), candidates sit in a heap
// over a linked list of symbols and are checked for staleness when popped:
// O(n log n), under a second for WikiText-2's 1.3 MB where run.c takes hours.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Tokenizer/Tokenizer.h"

#include "BytePiece.h"
#include "LiteralTokens.h"
#include "Unicode.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/MemoryBuffer.h"

#include <array>
#include <limits>
#include <queue>

using namespace lowbit;

namespace {
/// U+2581 LOWER ONE EIGHTH BLOCK, which stands for a space inside pieces.
constexpr llvm::StringLiteral kSpaceMark = "\xE2\x96\x81";

/// Replaces every U+2581 of `piece` with a space.
std::string unescapeSpaces(llvm::StringRef piece) {
  std::string text;
  text.reserve(piece.size());
  while (!piece.empty()) {
    size_t mark = piece.find(kSpaceMark);
    text += piece.take_front(mark);
    if (mark == llvm::StringRef::npos)
      break;
    text += ' ';
    piece = piece.drop_front(mark + kSpaceMark.size());
  }
  return text;
}

class SentencePieceTokenizer final : public Tokenizer {
public:
  SentencePieceTokenizer(std::vector<std::string> pieces,
                         std::vector<float> scores,
                         std::vector<TokenKind> kinds, SpecialTokens special);

  std::vector<int32_t> encode(llvm::StringRef text) const override;
  std::string decodeToken(int32_t previous, int32_t token) const override;

protected:
  Spec getSpec() const override {
    return {Algorithm::sentencePiece, kinds, scores, {}, {}};
  }

private:
  /// Encodes a stretch of escaped text that holds no user-defined piece.
  void encodeStretch(llvm::StringRef text, std::vector<int32_t> &tokens) const;

  std::vector<float> scores;
  std::vector<TokenKind> kinds;
  /// Pieces that characters and merges may become: normal and user-defined.
  llvm::StringMap<int32_t> mergeable;
  /// The <0xXX> piece of each byte, or -1.
  std::array<int32_t, 256> byteTokens;
  LiteralTokens userDefined;
  /// What each token decodes to, before dropping a leading space.
  std::vector<std::string> texts;
};

SentencePieceTokenizer::SentencePieceTokenizer(std::vector<std::string> pieces,
                                               std::vector<float> scores,
                                               std::vector<TokenKind> kinds,
                                               SpecialTokens special)
    : Tokenizer(std::move(pieces), special), scores(std::move(scores)),
      kinds(std::move(kinds)) {
  byteTokens.fill(-1);
  texts.resize(this->pieces.size());
  for (auto [index, piece] : llvm::enumerate(this->pieces)) {
    int32_t token = static_cast<int32_t>(index);
    switch (this->kinds[token]) {
    case TokenKind::normal:
    case TokenKind::userDefined:
      mergeable.try_emplace(piece, token);
      if (this->kinds[token] == TokenKind::userDefined)
        userDefined.add(piece, token);
      texts[token] = unescapeSpaces(piece);
      break;
    case TokenKind::byte:
      if (std::optional<uint8_t> byte = parseBytePiece(piece)) {
        if (byteTokens[*byte] < 0)
          byteTokens[*byte] = token;
        texts[token] = std::string(1, static_cast<char>(*byte));
      } else {
        texts[token] = unescapeSpaces(piece);
      }
      break;
    case TokenKind::unknown:
      texts[token] = piece;
      break;
    case TokenKind::control:
    case TokenKind::unused:
      break;
    }
  }
}

std::vector<int32_t>
SentencePieceTokenizer::encode(llvm::StringRef text) const {
  std::vector<int32_t> tokens;
  if (text.empty())
    return tokens;
  std::string escaped;
  escaped.reserve(text.size() + text.size() / 2 + kSpaceMark.size());
  if (special.addSpacePrefix)
    escaped += kSpaceMark;
  for (char c : text) {
    if (c == ' ')
      escaped += kSpaceMark;
    else
      escaped += c;
  }
  tokens.reserve(text.size() / 3);
  userDefined.split(
      escaped, [&](llvm::StringRef stretch) { encodeStretch(stretch, tokens); },
      [&](int32_t token) { tokens.push_back(token); });
  return tokens;
}

void SentencePieceTokenizer::encodeStretch(llvm::StringRef text,
                                           std::vector<int32_t> &tokens) const {
  // Symbols form a list by prev/next; merging keeps the left symbol, so a
  // symbol's begin never changes and a dead one has length 0.
  struct Symbol {
    uint32_t begin, length;
    int32_t prev, next;
    int32_t token;
    /// Byte-fallback and unknown symbols never merge.
    bool frozen;
  };
  assert(text.size() < std::numeric_limits<uint32_t>::max() &&
         "symbol offsets are 32-bit");
  std::vector<Symbol> symbols;
  symbols.reserve(text.size());
  auto append = [&](size_t begin, size_t length, int32_t token, bool frozen) {
    int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back({static_cast<uint32_t>(begin),
                       static_cast<uint32_t>(length), index - 1, index + 1,
                       token, frozen});
  };
  for (size_t pos = 0; pos < text.size();) {
    uint32_t cp;
    size_t length = unicode::decodeUtf8(text, pos, cp);
    auto it = mergeable.find(text.substr(pos, length));
    if (it != mergeable.end()) {
      append(pos, length, it->second, /*frozen=*/false);
    } else if (llvm::all_of(text.substr(pos, length), [&](char c) {
                 return byteTokens[static_cast<uint8_t>(c)] >= 0;
               })) {
      for (size_t i = 0; i < length; ++i)
        append(pos + i, 1, byteTokens[static_cast<uint8_t>(text[pos + i])],
               /*frozen=*/true);
    } else {
      append(pos, length, special.unknown, /*frozen=*/true);
    }
    pos += length;
  }
  if (symbols.empty())
    return;
  symbols.back().next = -1;

  struct Candidate {
    float score;
    uint32_t begin;
    int32_t left, right;
    uint32_t length;
    int32_t token;
  };
  // Highest score first, then leftmost.
  auto lowerPriority = [](const Candidate &a, const Candidate &b) {
    return a.score < b.score || (a.score == b.score && a.begin > b.begin);
  };
  std::priority_queue<Candidate, std::vector<Candidate>,
                      decltype(lowerPriority)>
      candidates(lowerPriority);
  auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0)
      return;
    const Symbol &a = symbols[left], &b = symbols[right];
    if (a.frozen || b.frozen)
      return;
    auto it = mergeable.find(text.substr(a.begin, a.length + b.length));
    if (it == mergeable.end())
      return;
    candidates.push({scores[it->second], a.begin, left, right,
                     a.length + b.length, it->second});
  };
  auto mergeAll = [&] {
    while (!candidates.empty()) {
      Candidate best = candidates.top();
      candidates.pop();
      Symbol &left = symbols[best.left], &right = symbols[best.right];
      // Stale: one side was merged into something else since.
      if (left.length == 0 || right.length == 0 || left.next != best.right ||
          left.length + right.length != best.length)
        continue;
      left.length = best.length;
      left.token = best.token;
      left.next = right.next;
      if (right.next >= 0)
        symbols[right.next].prev = best.left;
      right.length = 0;
      consider(left.prev, best.left);
      consider(best.left, left.next);
    }
  };
  // Frozen symbols (a newline is one in Llama's vocabulary) cut the text
  // into runs that cannot interact, so merging each run alone gives the same
  // result with a small heap, which is several times faster on long texts.
  for (size_t i = 0; i + 1 < symbols.size(); ++i) {
    if (symbols[i + 1].frozen)
      mergeAll();
    consider(static_cast<int32_t>(i), static_cast<int32_t>(i + 1));
  }
  mergeAll();

  for (int32_t i = 0; i >= 0; i = symbols[i].next)
    tokens.push_back(symbols[i].token);
}

std::string SentencePieceTokenizer::decodeToken(int32_t previous,
                                                int32_t token) const {
  if (token < 0 || token >= getVocabSize())
    return {};
  llvm::StringRef text = texts[token];
  // The dummy prefix: the space that encoding put before the text.
  bool atStart =
      special.addSpacePrefix && (previous < 0 || previous == special.bos);
  TokenKind kind = kinds[token];
  if (atStart && text.starts_with(" ") &&
      (kind == TokenKind::normal || kind == TokenKind::userDefined))
    text = text.drop_front();
  return text.str();
}

/// Checks that `token` is -1 or names a piece of a vocabulary of `size`.
llvm::Error checkSpecialToken(llvm::StringRef name, int32_t token,
                              size_t size) {
  if (token >= -1 && token < static_cast<int64_t>(size))
    return llvm::Error::success();
  return llvm::createStringError(
      "%s token %d is outside the vocabulary of %zu pieces", name.data(), token,
      size);
}
} // namespace

llvm::Expected<std::unique_ptr<Tokenizer>> Tokenizer::createSentencePiece(
    std::vector<std::string> pieces, std::vector<float> scores,
    std::vector<TokenKind> kinds, SpecialTokens special) {
  size_t size = pieces.size();
  if (size == 0)
    return llvm::createStringError("SentencePiece vocabulary is empty");
  if (size > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    return llvm::createStringError(
        "SentencePiece vocabulary of %zu pieces is too large", size);
  if (scores.size() != size)
    return llvm::createStringError(
        "SentencePiece vocabulary has %zu pieces but %zu scores", size,
        scores.size());
  if (kinds.empty()) {
    for (const std::string &piece : pieces)
      kinds.push_back(parseBytePiece(piece) ? TokenKind::byte
                                            : TokenKind::normal);
  } else if (kinds.size() != size) {
    return llvm::createStringError(
        "SentencePiece vocabulary has %zu pieces but %zu kinds", size,
        kinds.size());
  }
  for (auto [name, token] :
       {std::pair<llvm::StringRef, int32_t>{"BOS", special.bos},
        {"EOS", special.eos},
        {"unknown", special.unknown},
        {"padding", special.padding}})
    if (llvm::Error error = checkSpecialToken(name, token, size))
      return std::move(error);
  if (special.unknown < 0) {
    auto it = llvm::find(kinds, TokenKind::unknown);
    if (it != kinds.end())
      special.unknown = static_cast<int32_t>(it - kinds.begin());
  }
  if (special.unknown < 0) {
    std::array<bool, 256> covered{};
    for (auto [piece, kind] : llvm::zip_equal(pieces, kinds))
      if (kind == TokenKind::byte)
        if (std::optional<uint8_t> byte = parseBytePiece(piece))
          covered[*byte] = true;
    if (!llvm::all_of(covered, [](bool c) { return c; }))
      return llvm::createStringError(
          "SentencePiece vocabulary has neither an unknown piece nor <0xXX> "
          "pieces for all 256 bytes, so some text has no encoding");
  }
  return std::unique_ptr<Tokenizer>(new SentencePieceTokenizer(
      std::move(pieces), std::move(scores), std::move(kinds), special));
}

llvm::Expected<std::unique_ptr<Tokenizer>>
Tokenizer::readLlama2c(llvm::StringRef path, int64_t vocabSize) {
  if (vocabSize <= 0 || vocabSize > std::numeric_limits<int32_t>::max())
    return llvm::createStringError(
        "llama2.c tokenizer '%s': invalid vocabulary size %lld",
        path.str().c_str(), static_cast<long long>(vocabSize));
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                  /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError(
        buffer.getError(), "cannot read llama2.c tokenizer '%s': %s",
        path.str().c_str(), buffer.getError().message().c_str());
  llvm::StringRef data = (*buffer)->getBuffer();
  auto truncated = [&](int64_t token) {
    return llvm::createStringError(
        "llama2.c tokenizer '%s' is truncated in token %lld of %lld",
        path.str().c_str(), static_cast<long long>(token),
        static_cast<long long>(vocabSize));
  };
  // The header: the longest piece's length, which nothing here needs.
  if (data.size() < 4)
    return llvm::createStringError(
        "llama2.c tokenizer '%s' is truncated: %zu bytes, no header",
        path.str().c_str(), data.size());
  size_t pos = 4;

  std::vector<std::string> pieces;
  std::vector<float> scores;
  std::vector<TokenKind> kinds;
  pieces.reserve(vocabSize);
  scores.reserve(vocabSize);
  kinds.reserve(vocabSize);
  for (int64_t token = 0; token < vocabSize; ++token) {
    if (pos == data.size())
      return llvm::createStringError(
          "llama2.c tokenizer '%s' holds %lld tokens, expected %lld",
          path.str().c_str(), static_cast<long long>(token),
          static_cast<long long>(vocabSize));
    if (data.size() - pos < 8)
      return truncated(token);
    float score = llvm::bit_cast<float>(
        llvm::support::endian::read32le(data.data() + pos));
    int32_t length = static_cast<int32_t>(
        llvm::support::endian::read32le(data.data() + pos + 4));
    pos += 8;
    if (length < 0)
      return llvm::createStringError(
          "llama2.c tokenizer '%s': token %lld has negative length %d",
          path.str().c_str(), static_cast<long long>(token), length);
    if (data.size() - pos < static_cast<size_t>(length))
      return truncated(token);
    llvm::StringRef piece = data.substr(pos, length);
    pos += length;

    // run.c's exporter wrote spaces for U+2581 and wrapped BOS and EOS in
    // newlines for printing; restore SentencePiece's spelling.
    TokenKind kind = TokenKind::normal;
    std::string spelled;
    if (token == 0) {
      kind = TokenKind::unknown;
      spelled = piece.str();
    } else if (token == 1 || token == 2) {
      kind = TokenKind::control;
      spelled = piece.trim("\n").str();
    } else {
      if (parseBytePiece(piece))
        kind = TokenKind::byte;
      for (char c : piece) {
        if (c == ' ')
          spelled += kSpaceMark;
        else
          spelled += c;
      }
    }
    pieces.push_back(std::move(spelled));
    scores.push_back(score);
    kinds.push_back(kind);
  }
  if (pos != data.size())
    return llvm::createStringError(
        "llama2.c tokenizer '%s' holds more than %lld tokens (%zu bytes "
        "follow the last one)",
        path.str().c_str(), static_cast<long long>(vocabSize),
        data.size() - pos);

  SpecialTokens special;
  special.unknown = 0;
  special.bos = vocabSize > 1 ? 1 : -1;
  special.eos = vocabSize > 2 ? 2 : -1;
  special.addBos = true;
  return createSentencePiece(std::move(pieces), std::move(scores),
                             std::move(kinds), special);
}
