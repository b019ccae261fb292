//===- ByteLevelBpe.cpp - GPT-2 style byte-level BPE ----------------------===//
//
// Byte-level BPE spells every byte as a printable character (GPT-2's
// bytes_to_unicode: printable Latin-1 bytes stand for themselves, the other 68
// become U+0100 upwards in byte order), so that pieces and merges are text.
// Encoding cuts control and user-defined pieces out of the text, splits the
// rest into words with the named pre-tokenizer, and within each word starts
// from one symbol per byte and merges the adjacent pair of lowest merge rank,
// leftmost first, until no pair has a merge: what Hugging Face tokenizers and
// llama.cpp do. A heap of candidate pairs keeps long words (runs of spaces or
// punctuation) from costing quadratic time.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Tokenizer/Tokenizer.h"

#include "BytePiece.h"
#include "LiteralTokens.h"
#include "PreTokenizer.h"
#include "Unicode.h"

#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringMap.h"

#include <algorithm>
#include <array>
#include <limits>

using namespace lowbit;

namespace {
/// GPT-2's byte-to-unicode table: the code point that spells each byte.
struct ByteAlphabet {
  std::array<uint32_t, 256> codePoints;
  /// The byte each code point below kSize spells, or -1.
  static constexpr uint32_t kSize = 256 + 68;
  std::array<int16_t, kSize> bytes;

  ByteAlphabet() {
    bytes.fill(-1);
    uint32_t next = 256;
    for (uint32_t byte = 0; byte < 256; ++byte) {
      bool printable = (byte >= '!' && byte <= '~') ||
                       (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
      codePoints[byte] = printable ? byte : next++;
      bytes[codePoints[byte]] = static_cast<int16_t>(byte);
    }
    assert(next == kSize && "68 bytes are not printable");
  }
};

const ByteAlphabet &getByteAlphabet() {
  static const ByteAlphabet alphabet;
  return alphabet;
}

/// The bytes a piece spelled in the byte alphabet stands for; characters
/// outside the alphabet stand for their own UTF-8.
std::string unspellBytes(llvm::StringRef piece) {
  const ByteAlphabet &alphabet = getByteAlphabet();
  std::string bytes;
  bytes.reserve(piece.size());
  for (size_t pos = 0; pos < piece.size();) {
    uint32_t cp;
    size_t length = unicode::decodeUtf8(piece, pos, cp);
    if (cp < ByteAlphabet::kSize && alphabet.bytes[cp] >= 0)
      bytes += static_cast<char>(alphabet.bytes[cp]);
    else
      bytes += piece.substr(pos, length);
    pos += length;
  }
  return bytes;
}

/// Reusable buffers of one encode() call.
struct MergeScratch {
  struct Symbol {
    int32_t token;
    int32_t prev, next;
  };
  struct Candidate {
    int32_t rank;
    int32_t left, right;
    int32_t leftToken, rightToken, result;
  };
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
  std::vector<llvm::StringRef> words;
  std::string spelled;
};

class ByteLevelBpeTokenizer final : public Tokenizer {
public:
  ByteLevelBpeTokenizer(std::vector<std::string> pieces,
                        std::vector<TokenKind> kinds, SpecialTokens special,
                        PreTokenizer preTokenizer,
                        llvm::StringRef preTokenizerName)
      : Tokenizer(std::move(pieces), special), kinds(std::move(kinds)),
        preTokenizer(preTokenizer), preTokenizerName(preTokenizerName) {}

  /// Indexes pieces and parses `merges`; fails on a malformed merge.
  llvm::Error initialize(const std::vector<std::string> &merges);

  std::vector<int32_t> encode(llvm::StringRef text) const override;
  std::string decodeToken(int32_t previous, int32_t token) const override;

protected:
  Spec getSpec() const override;

private:
  void encodeWord(llvm::StringRef word, MergeScratch &scratch,
                  std::vector<int32_t> &tokens) const;

  static uint64_t pairKey(int32_t left, int32_t right) {
    return (static_cast<uint64_t>(left) << 32) | static_cast<uint32_t>(right);
  }

  struct Merge {
    int32_t rank;
    int32_t result;
  };

  std::vector<TokenKind> kinds;
  PreTokenizer preTokenizer;
  /// The name `preTokenizer` was created from ("llama3" and "llama-bpe" are
  /// one kind), kept for serialize().
  std::string preTokenizerName;
  /// Every piece by its spelling (the first, if a spelling repeats).
  llvm::StringMap<int32_t> tokenIds;
  /// The merges by (left, right) token pair.
  llvm::DenseMap<uint64_t, Merge> merges;
  /// The piece that spells each byte alone, or -1.
  std::array<int32_t, 256> byteTokens;
  LiteralTokens literals;
  /// The bytes each token decodes to.
  std::vector<std::string> texts;
};

llvm::Error
ByteLevelBpeTokenizer::initialize(const std::vector<std::string> &mergeList) {
  texts.resize(pieces.size());
  for (auto [index, piece] : llvm::enumerate(pieces)) {
    int32_t token = static_cast<int32_t>(index);
    tokenIds.try_emplace(piece, token);
    switch (kinds[token]) {
    case TokenKind::normal:
      texts[token] = unspellBytes(piece);
      break;
    case TokenKind::byte:
      if (std::optional<uint8_t> byte = parseBytePiece(piece))
        texts[token] = std::string(1, static_cast<char>(*byte));
      else
        texts[token] = unspellBytes(piece);
      break;
    case TokenKind::userDefined:
    case TokenKind::unknown:
      texts[token] = piece;
      break;
    case TokenKind::control:
    case TokenKind::unused:
      break;
    }
    if (kinds[token] == TokenKind::control ||
        kinds[token] == TokenKind::userDefined)
      literals.add(piece, token);
  }

  const ByteAlphabet &alphabet = getByteAlphabet();
  for (unsigned byte = 0; byte < 256; ++byte) {
    std::string spelled;
    unicode::appendUtf8(alphabet.codePoints[byte], spelled);
    auto it = tokenIds.find(spelled);
    byteTokens[byte] = it == tokenIds.end() ? special.unknown : it->second;
  }

  merges.reserve(mergeList.size());
  for (auto [rank, merge] : llvm::enumerate(mergeList)) {
    auto [left, right] = llvm::StringRef(merge).split(' ');
    if (left.empty() || right.empty())
      return llvm::createStringError(
          "byte-level BPE merge %zu '%s' is not of the form 'left right'", rank,
          merge.c_str());
    int32_t ids[3];
    llvm::StringRef names[3] = {left, right, ""};
    std::string joined = (left + right).str();
    names[2] = joined;
    for (int i = 0; i < 3; ++i) {
      auto it = tokenIds.find(names[i]);
      if (it == tokenIds.end())
        return llvm::createStringError(
            "byte-level BPE merge %zu '%s' names unknown piece '%s'", rank,
            merge.c_str(), names[i].str().c_str());
      ids[i] = it->second;
    }
    // A pair listed twice keeps its first (best) rank.
    merges.try_emplace(pairKey(ids[0], ids[1]),
                       Merge{static_cast<int32_t>(rank), ids[2]});
  }
  return llvm::Error::success();
}

Tokenizer::Spec ByteLevelBpeTokenizer::getSpec() const {
  // The merge list is rebuilt from the merge table rather than kept: in rank
  // order, each merge spelled from its pieces. A merge's left side holds no
  // space (initialize() splits at the first one) and names the first piece of
  // its spelling, so each rebuilt merge parses to the same pair. Only repeats
  // of a pair are gone, which never took effect.
  std::vector<std::pair<int32_t, uint64_t>> ranked;
  ranked.reserve(merges.size());
  for (const auto &[key, merge] : merges)
    ranked.emplace_back(merge.rank, key);
  llvm::sort(ranked);
  Spec spec{Algorithm::byteLevelBpe, kinds, {}, preTokenizerName, {}};
  spec.merges.reserve(ranked.size());
  for (uint64_t key : llvm::make_second_range(ranked)) {
    int32_t left = static_cast<int32_t>(key >> 32);
    int32_t right = static_cast<int32_t>(key & 0xFFFFFFFF);
    spec.merges.push_back(pieces[left] + " " + pieces[right]);
  }
  return spec;
}

std::vector<int32_t> ByteLevelBpeTokenizer::encode(llvm::StringRef text) const {
  std::vector<int32_t> tokens;
  tokens.reserve(text.size() / 3);
  MergeScratch scratch;
  literals.split(
      text,
      [&](llvm::StringRef stretch) {
        scratch.words.clear();
        preTokenizer.split(stretch, scratch.words);
        for (llvm::StringRef word : scratch.words)
          encodeWord(word, scratch, tokens);
      },
      [&](int32_t token) { tokens.push_back(token); });
  return tokens;
}

void ByteLevelBpeTokenizer::encodeWord(llvm::StringRef word,
                                       MergeScratch &scratch,
                                       std::vector<int32_t> &tokens) const {
  if (preTokenizer.ignoresMerges()) {
    const ByteAlphabet &alphabet = getByteAlphabet();
    scratch.spelled.clear();
    for (char c : word)
      unicode::appendUtf8(alphabet.codePoints[static_cast<uint8_t>(c)],
                          scratch.spelled);
    auto it = tokenIds.find(scratch.spelled);
    if (it != tokenIds.end()) {
      tokens.push_back(it->second);
      return;
    }
  }

  // One symbol per byte; a byte without a piece is the unknown piece, or is
  // dropped where there is none (only bytes that valid UTF-8 never holds lack
  // a piece in real vocabularies).
  auto &symbols = scratch.symbols;
  symbols.clear();
  for (char c : word) {
    int32_t token = byteTokens[static_cast<uint8_t>(c)];
    if (token < 0)
      continue;
    int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back({token, index - 1, index + 1});
  }
  if (symbols.empty())
    return;
  symbols.back().next = -1;

  // A min-heap on (rank, left position); dead symbols have token -1, and a
  // candidate is stale once either side's token has changed.
  auto &heap = scratch.heap;
  heap.clear();
  auto later = [](const MergeScratch::Candidate &a,
                  const MergeScratch::Candidate &b) {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  };
  auto consider = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0)
      return;
    int32_t leftToken = symbols[left].token, rightToken = symbols[right].token;
    auto it = merges.find(pairKey(leftToken, rightToken));
    if (it == merges.end())
      return;
    heap.push_back({it->second.rank, left, right, leftToken, rightToken,
                    it->second.result});
    std::push_heap(heap.begin(), heap.end(), later);
  };
  for (size_t i = 0; i + 1 < symbols.size(); ++i)
    consider(static_cast<int32_t>(i), static_cast<int32_t>(i + 1));
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), later);
    MergeScratch::Candidate best = heap.back();
    heap.pop_back();
    MergeScratch::Symbol &left = symbols[best.left];
    MergeScratch::Symbol &right = symbols[best.right];
    if (left.next != best.right || left.token != best.leftToken ||
        right.token != best.rightToken)
      continue;
    left.token = best.result;
    left.next = right.next;
    if (right.next >= 0)
      symbols[right.next].prev = best.left;
    right.token = -1;
    consider(left.prev, best.left);
    consider(best.left, left.next);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next)
    tokens.push_back(symbols[i].token);
}

std::string ByteLevelBpeTokenizer::decodeToken(int32_t previous,
                                               int32_t token) const {
  (void)previous;
  if (token < 0 || token >= getVocabSize())
    return {};
  return texts[token];
}
} // namespace

llvm::Expected<std::unique_ptr<Tokenizer>> Tokenizer::createByteLevelBpe(
    std::vector<std::string> pieces, std::vector<TokenKind> kinds,
    const std::vector<std::string> &merges, llvm::StringRef preTokenizerName,
    SpecialTokens special) {
  size_t size = pieces.size();
  if (size == 0)
    return llvm::createStringError("byte-level BPE vocabulary is empty");
  if (size > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    return llvm::createStringError(
        "byte-level BPE vocabulary of %zu pieces is too large", size);
  if (kinds.empty())
    kinds.assign(size, TokenKind::normal);
  else if (kinds.size() != size)
    return llvm::createStringError(
        "byte-level BPE vocabulary has %zu pieces but %zu kinds", size,
        kinds.size());
  for (auto [name, token] :
       {std::pair<const char *, int32_t>{"BOS", special.bos},
        {"EOS", special.eos},
        {"unknown", special.unknown},
        {"padding", special.padding}})
    if (token < -1 || token >= static_cast<int64_t>(size))
      return llvm::createStringError(
          "%s token %d is outside the vocabulary of %zu pieces", name, token,
          size);
  llvm::Expected<PreTokenizer> preTokenizer =
      PreTokenizer::get(preTokenizerName);
  if (!preTokenizer)
    return preTokenizer.takeError();
  auto tokenizer = std::make_unique<ByteLevelBpeTokenizer>(
      std::move(pieces), std::move(kinds), special, *preTokenizer,
      preTokenizerName);
  if (llvm::Error error = tokenizer->initialize(merges))
    return std::move(error);
  return std::unique_ptr<Tokenizer>(std::move(tokenizer));
}
