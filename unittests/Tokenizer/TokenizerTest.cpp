//===- TokenizerTest.cpp - SentencePiece and byte-level BPE tokenizers ----===//
//
// Hand-built vocabularies pin down the algorithms; the real tokenizers (the
// llama2.c ones in ../shared/data, SmolLM2's from a fixture extracted from its
// GGUF file) are checked against ids computed offline by the reference
// implementations: the sentencepiece library for Llama 2's tokenizer.model and
// Hugging Face tokenizers for SmolLM2 (BPE model, Digits(individual_digits)
// then ByteLevel pre-tokenizer, which is llama.cpp's "smollm"). The expected
// ids below are those libraries' outputs, not this code's.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Tokenizer/Tokenizer.h"

// The pre-tokenizer is private to the library; its splits are tested directly.
#include "../../lib/Tokenizer/PreTokenizer.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <chrono>
#include <random>

using namespace lowbit;

namespace {

std::string dataPath(llvm::StringRef relative) {
  return (llvm::Twine(LOWBIT_SHARED_DATA_DIR) + "/" + relative).str();
}

std::string inputPath(llvm::StringRef name) {
  llvm::SmallString<256> path(llvm::sys::path::parent_path(__FILE__));
  llvm::sys::path::append(path, "Inputs", name);
  return std::string(path);
}

std::string readFile(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer) {
    ADD_FAILURE() << "cannot read " << path.str();
    return {};
  }
  return (*buffer)->getBuffer().str();
}

std::string messageOf(llvm::Error error) {
  return error ? llvm::toString(std::move(error)) : std::string();
}

template <typename T> std::string messageOf(llvm::Expected<T> expected) {
  return expected ? std::string() : messageOf(expected.takeError());
}

#define ASSERT_OK(expected)                                                    \
  ASSERT_TRUE(bool(expected)) << messageOf(expected.takeError())

/// FNV-1a over the little-endian bytes of the ids, as the offline script
/// hashed the reference libraries' output.
uint64_t hashIds(llvm::ArrayRef<int32_t> ids) {
  uint64_t hash = 0xcbf29ce484222325ULL;
  for (int32_t id : ids) {
    uint32_t bits = static_cast<uint32_t>(id);
    for (int shift = 0; shift < 32; shift += 8) {
      hash ^= (bits >> shift) & 0xFF;
      hash *= 0x100000001b3ULL;
    }
  }
  return hash;
}

/// Encodes `text`, reporting the speed.
std::vector<int32_t> timedEncode(const Tokenizer &tokenizer,
                                 llvm::StringRef text, llvm::StringRef what) {
  auto start = std::chrono::steady_clock::now();
  std::vector<int32_t> ids = tokenizer.encode(text);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  llvm::outs() << llvm::format(
      "[ timing   ] %s: %zu bytes -> %zu tokens in %.3f s (%.2f MB/s)\n",
      what.str().c_str(), text.size(), ids.size(), seconds,
      text.size() / 1e6 / seconds);
  llvm::outs().flush();
  // Generous: only a quadratic algorithm (hours on this text) fails it.
  EXPECT_LT(seconds, 60.0) << what.str();
  return ids;
}

std::string wikiText() {
  return readFile(dataPath("text/wikitext2_wiki.test.raw"));
}

/// Real sentences (WikiText-2 test lines and their parts, digits, CJK,
/// accents, dashes, tabs and CRLF, runs of spaces).
const char *const kSentences[] = {
    "Hello world",
    " = Robert Boulter = ",
    " Robert Boulter is an English film , television and theatre actor . He "
    "had a guest @-@ starring role on the television series The Bill in 2000 . "
    "This was follow",
    "the census of 754 recorded 52 @.@ 9 million people , but ten years later",
    "ed around 752 , and by 757 the couple had had five children — three sons "
    "and two daughters — but one",
    "ese critics traditionally used the term 集大成 ( jídàchéng- \" complete "
    "symphony \" ) , a reference to Me",
    "naïve café — 1,234.5%\ttab\r\nnew line",
    "  two  spaces   end ",
};

//===----------------------------------------------------------------------===//
// SentencePiece, hand-built vocabulary
//===----------------------------------------------------------------------===//

std::unique_ptr<Tokenizer> makeSmallSentencePiece() {
  // U+2581 "▁" is SentencePiece's space.
  std::vector<std::string> pieces = {"<unk>", "<s>", "</s>", "<0xC3>", "<0xA9>",
                                     "▁",     "a",   "b",    "ab",     "ba",
                                     "▁a",    "aa",  "▁ab",  "<sep>"};
  std::vector<float> scores = {0,  0,  0,  0,  0,    -5,   -5,
                               -5, -1, -2, -3, -1.5, -0.5, 0};
  std::vector<TokenKind> kinds(pieces.size(), TokenKind::normal);
  kinds[0] = TokenKind::unknown;
  kinds[1] = kinds[2] = TokenKind::control;
  kinds[3] = kinds[4] = TokenKind::byte;
  kinds[13] = TokenKind::userDefined;
  SpecialTokens special;
  special.bos = 1;
  special.eos = 2;
  special.unknown = 0;
  auto tokenizer =
      Tokenizer::createSentencePiece(pieces, scores, kinds, special);
  if (!tokenizer) {
    ADD_FAILURE() << messageOf(tokenizer.takeError());
    return nullptr;
  }
  return std::move(*tokenizer);
}

TEST(SentencePieceTest, MergesHighestScoreFirstLeftmostAmongEquals) {
  std::unique_ptr<Tokenizer> tokenizer = makeSmallSentencePiece();
  ASSERT_TRUE(tokenizer);
  using Ids = std::vector<int32_t>;
  // ▁ a b a: "ab" (-1) beats "ba" (-2) and "▁a" (-3); then "▁ab" (-0.5).
  EXPECT_EQ(tokenizer->encode("aba"), (Ids{12, 6}));
  // ▁ b a b: the better pair is to the right.
  EXPECT_EQ(tokenizer->encode("bab"), (Ids{5, 7, 8}));
  // Equal scores: the leftmost "aa" merges.
  EXPECT_EQ(tokenizer->encode("aaa"), (Ids{5, 11, 6}));
  // Spaces are U+2581; the dummy prefix comes once.
  EXPECT_EQ(tokenizer->encode("a a"), (Ids{10, 10}));
  EXPECT_EQ(tokenizer->encode(""), Ids{});
}

TEST(SentencePieceTest, FallsBackToBytesThenUnknown) {
  std::unique_ptr<Tokenizer> tokenizer = makeSmallSentencePiece();
  ASSERT_TRUE(tokenizer);
  using Ids = std::vector<int32_t>;
  // "é" has no piece but both of its bytes do.
  EXPECT_EQ(tokenizer->encode("é"), (Ids{5, 3, 4}));
  // "ü" (C3 BC) lacks <0xBC>: the whole character is unknown.
  EXPECT_EQ(tokenizer->encode("üa"), (Ids{5, 0, 6}));
  // Byte symbols stay apart while the pieces around them merge.
  EXPECT_EQ(tokenizer->encode("aéb"), (Ids{10, 3, 4, 7}));
}

TEST(SentencePieceTest, CanGoWithoutTheDummyPrefix) {
  std::unique_ptr<Tokenizer> tokenizer = makeSmallSentencePiece();
  ASSERT_TRUE(tokenizer);
  SpecialTokens special = tokenizer->getSpecialTokens();
  special.addSpacePrefix = false;
  std::vector<std::string> pieces;
  for (int32_t token = 0; token < tokenizer->getVocabSize(); ++token)
    pieces.push_back(tokenizer->getPiece(token).str());
  std::vector<float> scores = {0,  0,  0,  0,  0,    -5,   -5,
                               -5, -1, -2, -3, -1.5, -0.5, 0};
  auto bare = Tokenizer::createSentencePiece(pieces, scores, {}, special);
  ASSERT_OK(bare);
  EXPECT_EQ((*bare)->encode("aba"), (std::vector<int32_t>{8, 6}));
  EXPECT_EQ((*bare)->decodeToken(1, 10), " a");
}

TEST(SentencePieceTest, MatchesUserDefinedPiecesWhole) {
  std::unique_ptr<Tokenizer> tokenizer = makeSmallSentencePiece();
  ASSERT_TRUE(tokenizer);
  EXPECT_EQ(tokenizer->encode("a<sep>b"), (std::vector<int32_t>{10, 13, 7}));
}

TEST(SentencePieceTest, DecodesSpacesBytesAndControls) {
  std::unique_ptr<Tokenizer> tokenizer = makeSmallSentencePiece();
  ASSERT_TRUE(tokenizer);
  // After BOS (or at the start) the dummy prefix's space is dropped.
  EXPECT_EQ(tokenizer->decodeToken(1, 12), "ab");
  EXPECT_EQ(tokenizer->decodeToken(-1, 12), "ab");
  EXPECT_EQ(tokenizer->decodeToken(6, 12), " ab");
  EXPECT_EQ(tokenizer->decodeToken(6, 3), "\xC3");
  EXPECT_EQ(tokenizer->decodeToken(6, 2), "");
  EXPECT_EQ(tokenizer->decode({1, 10, 10, 3, 4, 13, 2}), "a aé<sep>");
  for (llvm::StringRef text : {"aba", "a a", " a", "é b"})
    EXPECT_EQ(tokenizer->decode(tokenizer->encode(text)), text);
}

TEST(SentencePieceTest, RejectsInconsistentVocabularies) {
  SpecialTokens special;
  EXPECT_EQ(
      messageOf(Tokenizer::createSentencePiece({"a", "b"}, {0}, {}, special)),
      "SentencePiece vocabulary has 2 pieces but 1 scores");
  EXPECT_EQ(messageOf(Tokenizer::createSentencePiece(
                {"a", "b"}, {0, 0}, {TokenKind::normal}, special)),
            "SentencePiece vocabulary has 2 pieces but 1 kinds");
  special.bos = 7;
  EXPECT_EQ(messageOf(Tokenizer::createSentencePiece({"a", "<unk>"}, {0, 0}, {},
                                                     special)),
            "BOS token 7 is outside the vocabulary of 2 pieces");
  special.bos = -1;
  EXPECT_NE(messageOf(Tokenizer::createSentencePiece({"a"}, {0}, {}, special))
                .find("neither an unknown piece nor <0xXX> pieces"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// SentencePiece, llama2.c's tokenizer.bin
//===----------------------------------------------------------------------===//

/// run.c's encoding algorithm restated naively: pieces as tokenizer.bin spells
/// them, quadratic merging. The reference for tok512, which has no .model file.
class RunCEncoder {
public:
  explicit RunCEncoder(llvm::StringRef path) {
    std::string data = readFile(path);
    for (size_t pos = 4; pos + 8 <= data.size();) {
      float score;
      int32_t length;
      memcpy(&score, data.data() + pos, 4);
      memcpy(&length, data.data() + pos + 4, 4);
      pos += 8;
      ids.try_emplace(data.substr(pos, length),
                      static_cast<int32_t>(scores.size()));
      pieces.push_back(data.substr(pos, length));
      scores.push_back(score);
      pos += length;
    }
  }

  std::vector<int32_t> encode(llvm::StringRef text) const {
    std::vector<int32_t> tokens;
    if (text.empty())
      return tokens;
    tokens.push_back(lookup(" "));
    for (size_t pos = 0; pos < text.size();) {
      size_t length = 1;
      while (pos + length < text.size() && length < 4 &&
             (static_cast<uint8_t>(text[pos + length]) & 0xC0) == 0x80)
        ++length;
      int32_t id = lookup(text.substr(pos, length));
      if (id >= 0) {
        tokens.push_back(id);
      } else {
        for (size_t i = 0; i < length; ++i)
          tokens.push_back(static_cast<uint8_t>(text[pos + i]) + 3);
      }
      pos += length;
    }
    while (true) {
      float bestScore = -1e10f;
      int32_t bestId = -1;
      size_t bestIndex = 0;
      for (size_t i = 0; i + 1 < tokens.size(); ++i) {
        int32_t id = lookup(pieces[tokens[i]] + pieces[tokens[i + 1]]);
        if (id >= 0 && scores[id] > bestScore) {
          bestScore = scores[id];
          bestId = id;
          bestIndex = i;
        }
      }
      if (bestId < 0)
        break;
      tokens[bestIndex] = bestId;
      tokens.erase(tokens.begin() + bestIndex + 1);
    }
    return tokens;
  }

  size_t size() const { return pieces.size(); }

private:
  int32_t lookup(llvm::StringRef piece) const {
    auto it = ids.find(piece);
    return it == ids.end() ? -1 : it->second;
  }

  llvm::StringMap<int32_t> ids;
  std::vector<std::string> pieces;
  std::vector<float> scores;
};

TEST(Llama2cTokenizerTest, ReadsTok512) {
  auto tokenizer =
      Tokenizer::readLlama2c(dataPath("stories260K/tok512.bin"), 512);
  ASSERT_OK(tokenizer);
  const Tokenizer &tok = **tokenizer;
  EXPECT_EQ(tok.getVocabSize(), 512);
  EXPECT_EQ(tok.getBos(), 1);
  EXPECT_EQ(tok.getEos(), 2);
  EXPECT_EQ(tok.getPiece(1), "<s>");
  EXPECT_EQ(tok.getPiece(2), "</s>");
  EXPECT_EQ(tok.getPiece(3), "<0x00>");
  // run.c's spaces are SentencePiece's U+2581 again.
  EXPECT_EQ(tok.getPiece(259), "▁t");
}

TEST(Llama2cTokenizerTest, MatchesRunCOnWikiTextLines) {
  std::string text = wikiText();
  llvm::SmallVector<llvm::StringRef> lines;
  llvm::StringRef(text).split(lines, "\r\n");
  for (auto [path, vocabSize] :
       {std::pair<const char *, int64_t>{"stories260K/tok512.bin", 512},
        {"tokenizers/llama2c/tokenizer.bin", 32000}}) {
    RunCEncoder reference(dataPath(path));
    ASSERT_EQ(reference.size(), static_cast<size_t>(vocabSize));
    auto tokenizer = Tokenizer::readLlama2c(dataPath(path), vocabSize);
    ASSERT_OK(tokenizer);
    // run.c is quadratic: the first 80 lines (34 KB) suffice.
    for (llvm::StringRef line : llvm::ArrayRef(lines).take_front(80))
      ASSERT_EQ((*tokenizer)->encode(line), reference.encode(line))
          << path << ": " << line.str();
  }
}

TEST(Llama2cTokenizerTest, MatchesSentencePieceOnSentences) {
  // sentencepiece's encode of each sentence with Llama 2's tokenizer.model.
  const std::vector<int32_t> expected[] = {
      {15043, 3186},
      {29871, 353, 4755, 350, 5059, 357, 353, 29871},
      {29871, 4755,  350,   5059,  357, 338,   385,  4223,  2706, 1919,  11456,
       322,   24520, 11339, 869,   940, 750,   263,  17838, 732,  29899, 29992,
       380,   23693, 6297,  373,   278, 11456, 3652, 450,   6682, 297,   29871,
       29906, 29900, 29900, 29900, 869, 910,   471,  1101},
      {278,   16411, 310,   29871, 29955, 29945, 29946, 10478,
       29871, 29945, 29906, 732,   21240, 29871, 29929, 7284,
       2305,  1919,  541,   3006,  2440,  2678},
      {1226,  2820,  29871, 29955, 29945, 29906, 1919, 322,  491,  29871,
       29955, 29945, 29955, 278,   7303,  750,   750,  5320, 4344, 813,
       2211,  18025, 322,   1023,  29215, 813,   541,  697},
      {15371, 28431, 11399, 635,   1304,  278,   1840, 29871, 30893, 30257,
       30494, 313,   432,   13480, 30001, 11555, 865,  29899, 376,   4866,
       5016,  22214, 376,   1723,  1919,  263,   3407, 304,   2191},
      {1055,  30085, 345,   274,   28059, 813,   29871,
       29896, 29892, 29906, 29941, 29946, 29889, 29945,
       29995, 12,    3891,  30004, 13,    1482,  1196},
      {259, 1023, 29871, 8162, 259, 1095, 29871},
  };
  static_assert(std::size(expected) == std::size(kSentences));
  auto tokenizer = Tokenizer::readLlama2c(
      dataPath("tokenizers/llama2c/tokenizer.bin"), 32000);
  ASSERT_OK(tokenizer);
  for (auto [sentence, ids] : llvm::zip_equal(kSentences, expected)) {
    EXPECT_EQ((*tokenizer)->encode(sentence), ids) << sentence;
    std::vector<int32_t> withBos = {(*tokenizer)->getBos()};
    llvm::append_range(withBos, ids);
    EXPECT_EQ((*tokenizer)->decode(withBos), sentence);
  }
}

TEST(Llama2cTokenizerTest, MatchesSentencePieceOnWikiText2AndRoundTrips) {
  std::string text = wikiText();
  ASSERT_EQ(text.size(), 1290547u);
  auto tokenizer = Tokenizer::readLlama2c(
      dataPath("tokenizers/llama2c/tokenizer.bin"), 32000);
  ASSERT_OK(tokenizer);
  std::vector<int32_t> ids =
      timedEncode(**tokenizer, text, "Llama 2 SentencePiece, WikiText-2 test");
  // sentencepiece's encode of the whole file, as one string.
  EXPECT_EQ(ids.size(), 332754u);
  EXPECT_EQ(hashIds(ids), 0x203b160b952f42fbULL);
  ids.insert(ids.begin(), (*tokenizer)->getBos());
  EXPECT_TRUE((*tokenizer)->decode(ids) == text);
}

TEST(Llama2cTokenizerTest, Tok512RoundTripsWikiText2) {
  std::string text = wikiText();
  auto tokenizer =
      Tokenizer::readLlama2c(dataPath("stories260K/tok512.bin"), 512);
  ASSERT_OK(tokenizer);
  std::vector<int32_t> ids =
      timedEncode(**tokenizer, text, "tok512 SentencePiece, WikiText-2 test");
  // Characters outside the 512 pieces went through <0xXX> pieces.
  EXPECT_TRUE(
      llvm::any_of(ids, [](int32_t id) { return id >= 3 && id < 259; }));
  ids.insert(ids.begin(), (*tokenizer)->getBos());
  EXPECT_TRUE((*tokenizer)->decode(ids) == text);
}

TEST(Llama2cTokenizerTest, RoundTripsArbitraryBytes) {
  auto tokenizer =
      Tokenizer::readLlama2c(dataPath("stories260K/tok512.bin"), 512);
  ASSERT_OK(tokenizer);
  std::mt19937 random(42);
  for (int round = 0; round < 20; ++round) {
    std::string text;
    for (int i = 0; i < 500; ++i)
      text += static_cast<char>(random() & 0xFF);
    std::vector<int32_t> ids = {(*tokenizer)->getBos()};
    llvm::append_range(ids, (*tokenizer)->encode(text));
    ASSERT_TRUE((*tokenizer)->decode(ids) == text) << "round " << round;
  }
}

/// A scratch copy of the first `size` bytes of tok512.bin.
class TruncatedTokenizerFile {
public:
  explicit TruncatedTokenizerFile(size_t size) {
    std::string data = readFile(dataPath("stories260K/tok512.bin"));
    int fd;
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
            "tok512-truncated", "bin", fd, path)) {
      ADD_FAILURE() << ec.message();
      return;
    }
    remover.setFile(path);
    llvm::raw_fd_ostream out(fd, /*shouldClose=*/true);
    out << llvm::StringRef(data).take_front(size);
  }
  llvm::StringRef getPath() const { return path; }

private:
  llvm::SmallString<128> path;
  llvm::FileRemover remover;
};

TEST(Llama2cTokenizerTest, ReportsMissingTruncatedAndMiscountedFiles) {
  std::string missing = dataPath("stories260K/no-such-tokenizer.bin");
  std::string message = messageOf(Tokenizer::readLlama2c(missing, 512));
  EXPECT_NE(message.find("cannot read llama2.c tokenizer '" + missing + "'"),
            std::string::npos)
      << message;

  // 4-byte header, then <unk>: 8 + 5 bytes; cut inside token 1.
  TruncatedTokenizerFile inToken(4 + 13 + 6);
  EXPECT_EQ(messageOf(Tokenizer::readLlama2c(inToken.getPath(), 512)),
            ("llama2.c tokenizer '" + inToken.getPath() +
             "' is truncated in token 1 of 512")
                .str());
  TruncatedTokenizerFile noHeader(2);
  EXPECT_EQ(messageOf(Tokenizer::readLlama2c(noHeader.getPath(), 512)),
            ("llama2.c tokenizer '" + noHeader.getPath() +
             "' is truncated: 2 bytes, no header")
                .str());

  std::string tok512 = dataPath("stories260K/tok512.bin");
  EXPECT_EQ(messageOf(Tokenizer::readLlama2c(tok512, 513)),
            "llama2.c tokenizer '" + tok512 +
                "' holds 512 tokens, expected 513");
  message = messageOf(Tokenizer::readLlama2c(tok512, 511));
  EXPECT_NE(message.find("llama2.c tokenizer '" + tok512 +
                         "' holds more than 511 tokens"),
            std::string::npos)
      << message;
  EXPECT_NE(messageOf(Tokenizer::readLlama2c(tok512, 0))
                .find("invalid vocabulary size 0"),
            std::string::npos);
}

//===----------------------------------------------------------------------===//
// Pre-tokenizers
//===----------------------------------------------------------------------===//

struct SplitCase {
  const char *text;
  std::vector<std::string> words;
};

/// Splits by Python's `regex` module running each pre-tokenizer's expressions
/// in sequence, every piece and gap of one step cut again by the next.
const std::pair<const char *, std::vector<SplitCase>> kSplitCases[] = {
    {"gpt2",
     {
         {"Hello, world! It's 2024.",
          {"Hello", ",", " world", "!", " It", "'s", " 2024", "."}},
         {"  leading and trailing  \n\n  ",
          {" ", " leading", " and", " trailing", "  \n\n  "}},
         {"I'LL DO IT'S we've they'd",
          {"I", "'", "LL", " DO", " IT", "'", "S", " we", "'ve", " they",
           "'d"}},
         {"x  =  12345678 + 3.14159;\r\n\tnext",
          {"x", " ", " =", " ", " 12345678", " +", " 3", ".", "14159", ";",
           "\r\n", "\t", "next"}},
         {"naïve café—über 集大成 ½ ٣٤",
          {"naïve", " café", "—", "über", " 集大成", " ½", " ٣٤"}},
         {"(hello) [world] {foo}$^~|<=>",
          {"(", "hello", ")", " [", "world", "]", " {", "foo", "}$^~|<=>"}},
         {"a\302\240b e\314\201 \342\200\203x",
          {"a", "\302\240", "b", " e", "\314\201", " ", "\342\200\203", "x"}},
         {"line one\r\n\r\n line two  \n",
          {"line", " one", "\r\n\r\n", " line", " two", "  \n"}},
     }},
    {"smollm",
     {
         {"Hello, world! It's 2024.",
          {"Hello", ",", " world", "!", " It", "'s", " ", "2", "0", "2", "4",
           "."}},
         {"  leading and trailing  \n\n  ",
          {" ", " leading", " and", " trailing", "  \n\n  "}},
         {"I'LL DO IT'S we've they'd",
          {"I", "'", "LL", " DO", " IT", "'", "S", " we", "'ve", " they",
           "'d"}},
         {"x  =  12345678 + 3.14159;\r\n\tnext",
          {"x", " ", " =", "  ", "1",    "2",  "3",   "4", "5",
           "6", "7", "8",  " +", " ",    "3",  ".",   "1", "4",
           "1", "5", "9",  ";",  "\r\n", "\t", "next"}},
         {"naïve café—über 集大成 ½ ٣٤",
          {"naïve", " café", "—", "über", " 集大成", " ", "½", " ", "٣", "٤"}},
         {"(hello) [world] {foo}$^~|<=>",
          {"(", "hello", ")", " [", "world", "]", " {", "foo", "}$^~|<=>"}},
         {"a\302\240b e\314\201 \342\200\203x",
          {"a", "\302\240", "b", " e", "\314\201", " ", "\342\200\203", "x"}},
         {"line one\r\n\r\n line two  \n",
          {"line", " one", "\r\n\r\n", " line", " two", "  \n"}},
     }},
    {"llama3",
     {
         {"Hello, world! It's 2024.",
          {"Hello", ",", " world", "!", " It", "'s", " ", "202", "4", "."}},
         {"  leading and trailing  \n\n  ",
          {" ", " leading", " and", " trailing", "  \n\n", "  "}},
         {"I'LL DO IT'S we've they'd",
          {"I", "'LL", " DO", " IT", "'S", " we", "'ve", " they", "'d"}},
         {"x  =  12345678 + 3.14159;\r\n\tnext",
          {"x", " ", " =", " ", " ", "123", "456", "78", " +", " ", "3", ".",
           "141", "59", ";\r\n", "\tnext"}},
         {"naïve café—über 集大成 ½ ٣٤",
          {"naïve", " café", "—über", " 集大成", " ", "½", " ", "٣٤"}},
         {"(hello) [world] {foo}$^~|<=>",
          {"(hello", ")", " [", "world", "]", " {", "foo", "}$^~|<=>"}},
         {"a\302\240b e\314\201 \342\200\203x",
          {"a", "\302\240b", " e", "\314\201", " ", "\342\200\203x"}},
         {"line one\r\n\r\n line two  \n",
          {"line", " one", "\r\n\r\n", " line", " two", "  \n"}},
     }},
    {"default",
     {
         {"Hello, world! It's 2024.",
          {"Hello", ",", " world", "!", " It", "'", "s", " ", "202", "4", "."}},
         {"  leading and trailing  \n\n  ",
          {" ", " leading", " and", " trailing", "  \n\n  "}},
         {"I'LL DO IT'S we've they'd",
          {"I", "'", "LL", " DO", " IT", "'", "S", " we", "'", "ve", " they",
           "'", "d"}},
         {"x  =  12345678 + 3.14159;\r\n\tnext",
          {"x", "  ", "=", " ", " ", "123", "456", "78", " ", "+", " ", "3",
           ".", "141", "59", ";", "\r\n", "\t", "next"}},
         {"naïve café—über 集大成 ½ ٣٤",
          {"naïve", " café", "—", "über", " 集大成", " ", "½", " ", "٣٤"}},
         {"(hello) [world] {foo}$^~|<=>",
          {"(", "hello", ")", " ", "[", "world", "]", " ", "{", "foo",
           "}$^~|<=>"}},
         {"a\302\240b e\314\201 \342\200\203x",
          {"a", "\302\240", "b", " e", "\314\201", " ", "\342\200\203", "x"}},
         {"line one\r\n\r\n line two  \n",
          {"line", " one", "\r\n\r\n", " line", " two", "  \n"}},
     }},
};

TEST(PreTokenizerTest, SplitsLikeTheRegularExpressions) {
  for (const auto &[name, cases] : kSplitCases) {
    auto preTokenizer = PreTokenizer::get(name);
    ASSERT_OK(preTokenizer);
    for (const SplitCase &splitCase : cases) {
      std::vector<llvm::StringRef> words;
      preTokenizer->split(splitCase.text, words);
      std::vector<std::string> strings(words.begin(), words.end());
      EXPECT_EQ(strings, splitCase.words) << name << ": " << splitCase.text;
    }
  }
}

TEST(PreTokenizerTest, KeepsInvalidUtf8) {
  auto preTokenizer = PreTokenizer::get("gpt2");
  ASSERT_OK(preTokenizer);
  std::vector<llvm::StringRef> words;
  preTokenizer->split("ab\xFF\xC3 cd\xE2\x96", words);
  std::vector<std::string> strings(words.begin(), words.end());
  EXPECT_EQ(strings,
            (std::vector<std::string>{"ab", "\xFF\xC3", " cd", "\xE2\x96"}));
}

TEST(PreTokenizerTest, RejectsUnknownNames) {
  EXPECT_EQ(messageOf(PreTokenizer::get("gpt-5")),
            "unknown byte-level BPE pre-tokenizer 'gpt-5' (known: default, "
            "gpt2, smollm, llama3, llama-bpe)");
}

//===----------------------------------------------------------------------===//
// Byte-level BPE, hand-built vocabulary
//===----------------------------------------------------------------------===//

// In GPT-2's byte alphabet a space is spelled U+0120 "Ġ", a newline U+010A "Ċ".
std::vector<std::string> smallBpePieces() {
  return {
      "<|endoftext|>", // 0
      "<|im_start|>",  // 1
      "Ġ",             // 2
      "t",             // 3
      "h",             // 4
      "e",             // 5
      "a",             // 6
      "Ċ",             // 7
      "he",            // 8
      "Ġt",            // 9
      "th",            // 10
      "Ġthe",          // 11
      "aa",            // 12
      "<tab>",         // 13
  };
}
std::vector<std::string> smallBpeMerges() {
  return {"h e", "Ġ t", "t h", "Ġt he", "a a"};
}

std::unique_ptr<Tokenizer> makeSmallBpe(llvm::StringRef preTokenizer) {
  std::vector<TokenKind> kinds(smallBpePieces().size(), TokenKind::normal);
  kinds[0] = kinds[1] = TokenKind::control;
  kinds[13] = TokenKind::userDefined;
  SpecialTokens special;
  special.bos = special.eos = special.unknown = 0;
  auto tokenizer = Tokenizer::createByteLevelBpe(
      smallBpePieces(), kinds, smallBpeMerges(), preTokenizer, special);
  if (!tokenizer) {
    ADD_FAILURE() << messageOf(tokenizer.takeError());
    return nullptr;
  }
  return std::move(*tokenizer);
}

TEST(ByteLevelBpeTest, MergesByRankLeftmostAmongEquals) {
  std::unique_ptr<Tokenizer> tokenizer = makeSmallBpe("gpt2");
  ASSERT_TRUE(tokenizer);
  using Ids = std::vector<int32_t>;
  // Ġ t h e: "h e" (rank 0), "Ġ t" (1), then "Ġt he" (3).
  EXPECT_EQ(tokenizer->encode(" the"), Ids{11});
  // t h e: "h e" (0) beats the leftmost "t h" (2), and "t he" is no merge.
  EXPECT_EQ(tokenizer->encode("the"), (Ids{3, 8}));
  EXPECT_EQ(tokenizer->encode("aaa"), (Ids{12, 6}));
  // Words never merge across: "e" + " t" stays apart.
  EXPECT_EQ(tokenizer->encode("the the"), (Ids{3, 8, 11}));
  // A byte without a piece is the unknown token.
  EXPECT_EQ(tokenizer->encode("az"), (Ids{6, 0}));
  EXPECT_EQ(tokenizer->encode(""), Ids{});
}

TEST(ByteLevelBpeTest, MatchesControlAndUserDefinedPiecesWhole) {
  std::unique_ptr<Tokenizer> tokenizer = makeSmallBpe("gpt2");
  ASSERT_TRUE(tokenizer);
  EXPECT_EQ(tokenizer->encode("<|im_start|>the\n<tab> the<|endoftext|>"),
            (std::vector<int32_t>{1, 3, 8, 7, 13, 11, 0}));
}

TEST(ByteLevelBpeTest, IgnoresMergesForWholeWordsUnderLlama3) {
  std::unique_ptr<Tokenizer> gpt2 = makeSmallBpe("gpt2");
  std::unique_ptr<Tokenizer> llama3 = makeSmallBpe("llama3");
  ASSERT_TRUE(gpt2 && llama3);
  // "th" is a piece but merges only make t + he; Llama 3 takes the piece.
  EXPECT_EQ(gpt2->encode("th"), (std::vector<int32_t>{10}));
  EXPECT_EQ(gpt2->encode("the"), (std::vector<int32_t>{3, 8}));
  EXPECT_EQ(llama3->encode("the"), (std::vector<int32_t>{3, 8}));
  EXPECT_EQ(llama3->encode(" the"), (std::vector<int32_t>{11}));
}

TEST(ByteLevelBpeTest, DecodesTheByteAlphabet) {
  std::unique_ptr<Tokenizer> tokenizer = makeSmallBpe("gpt2");
  ASSERT_TRUE(tokenizer);
  EXPECT_EQ(tokenizer->decodeToken(-1, 11), " the");
  EXPECT_EQ(tokenizer->decodeToken(-1, 7), "\n");
  EXPECT_EQ(tokenizer->decodeToken(-1, 1), "");
  EXPECT_EQ(tokenizer->decodeToken(-1, 13), "<tab>");
  EXPECT_EQ(tokenizer->decode({1, 11, 11, 7}), " the the\n");
}

TEST(ByteLevelBpeTest, RejectsBadMergesAndPreTokenizers) {
  auto create = [](std::vector<std::string> merges,
                   llvm::StringRef preTokenizer = "gpt2") {
    return messageOf(Tokenizer::createByteLevelBpe(
        smallBpePieces(), {}, merges, preTokenizer, SpecialTokens()));
  };
  EXPECT_EQ(create({}, "gpt-5"),
            "unknown byte-level BPE pre-tokenizer 'gpt-5' (known: default, "
            "gpt2, smollm, llama3, llama-bpe)");
  EXPECT_EQ(create({"h e", "h zz"}),
            "byte-level BPE merge 1 'h zz' names unknown piece 'zz'");
  EXPECT_EQ(create({"a e"}),
            "byte-level BPE merge 0 'a e' names unknown piece 'ae'");
  EXPECT_EQ(create({"he"}),
            "byte-level BPE merge 0 'he' is not of the form 'left right'");
  EXPECT_EQ(messageOf(Tokenizer::createByteLevelBpe(
                {"a"}, {TokenKind::normal, TokenKind::normal}, {}, "gpt2",
                SpecialTokens())),
            "byte-level BPE vocabulary has 1 pieces but 2 kinds");
}

//===----------------------------------------------------------------------===//
// Byte-level BPE, SmolLM2's vocabulary
//===----------------------------------------------------------------------===//

/// Reads Inputs/smollm2-135m-tokenizer.txt (see its header for the format).
llvm::Expected<std::unique_ptr<Tokenizer>> readSmolLm2Fixture() {
  std::string path = inputPath("smollm2-135m-tokenizer.txt");
  std::string data = readFile(path);
  llvm::SmallVector<llvm::StringRef> lines;
  llvm::StringRef(data).split(lines, '\n');
  auto fail = [&](const llvm::Twine &what) {
    return llvm::createStringError("%s: %s", path.c_str(), what.str().c_str());
  };
  std::string pre;
  SpecialTokens special;
  std::vector<int32_t> controls;
  std::vector<std::string> pieces, merges;
  size_t next = 0;
  for (; next < lines.size(); ++next) {
    llvm::StringRef line = lines[next];
    if (line.starts_with("#"))
      continue;
    auto [key, rest] = line.split(' ');
    llvm::SmallVector<llvm::StringRef> fields;
    rest.split(fields, ' ', -1, /*KeepEmpty=*/false);
    if (key == "pre") {
      pre = rest.str();
    } else if (key == "special" && fields.size() == 4) {
      int32_t *targets[] = {&special.bos, &special.eos, &special.unknown,
                            &special.padding};
      for (auto [field, target] : llvm::zip_equal(fields, targets))
        if (field.getAsInteger(10, *target))
          return fail("bad special ids");
    } else if (key == "control") {
      for (llvm::StringRef field : fields)
        if (field.getAsInteger(10, controls.emplace_back()))
          return fail("bad control id");
    } else if (key == "tokens" || key == "merges") {
      size_t count;
      if (rest.getAsInteger(10, count) || next + 1 + count > lines.size())
        return fail("bad count");
      auto &list = key == "tokens" ? pieces : merges;
      for (size_t i = 0; i < count; ++i)
        list.push_back(lines[next + 1 + i].str());
      next += count;
    } else if (!line.empty()) {
      return fail("unexpected line '" + line + "'");
    }
  }
  std::vector<TokenKind> kinds(pieces.size(), TokenKind::normal);
  for (int32_t control : controls)
    kinds[control] = TokenKind::control;
  special.addBos = false;
  return Tokenizer::createByteLevelBpe(std::move(pieces), std::move(kinds),
                                       merges, pre, special);
}

TEST(SmolLm2TokenizerTest, MatchesHuggingFaceOnSentences) {
  const char *const chatSentences[] = {
      "<|im_start|>user\nI'm sure they'll say it's 12345!<|im_end|>\n",
      "def f(x):\n    return x**2  # NOTE: don't\n\n\n",
  };
  // Hugging Face tokenizers' encode of kSentences, then of chatSentences.
  const std::vector<int32_t> expected[] = {
      {19556, 905},
      {446, 6356, 389, 9226, 352, 446, 216},
      {6356, 389,   9226,  352,  314, 354,  2321, 4771,  3297, 8552,
       284,  16984, 17523, 1673, 909, 761,  253,  16204, 3394, 29,
       48,   45608, 1791,  335,  260, 8552, 3086, 378,   8593, 281,
       216,  34,    32,    32,   32,  1673, 669,  436,   1066},
      {1195, 13243, 282, 216, 39,   37,  36,   5797, 216,  37,  34,  3394,
       30,   48,    216, 41,  2215, 701, 3297, 564,  3772, 929, 1916},
      {277,  1130,  216, 39,  37,    34,   3297, 284,  411,  216,
       39,   37,    39,  260, 6075,  761,  761,  2531, 1122, 1841,
       1296, 11393, 284, 827, 16924, 1841, 564,  582},
      {2796,  12815, 11854, 804,  260,  2115,  30866, 245,  224, 41479,
       35094, 365,   544,   6160, 84,   16739, 322,   2756, 863, 29,
       476,   2994,  34396, 476,  2481, 3297,  253,   4594, 288, 2867},
      {3546, 46494, 37366, 1841, 216, 33, 28, 34, 35, 36, 30, 37, 21, 197,
       15999, 201, 198, 2241, 1761},
      {216, 827, 216, 5600, 256, 1112, 216},
      {1,   4093, 198, 57, 5248, 2090, 502, 3060, 1643, 357,
       506, 216,  33,  34, 35,   36,   37,  17,   2,    198},
      {1604, 275, 24, 104, 727, 472, 1003, 1792, 828, 34, 216, 907, 34079, 42,
       1326, 982, 16506},
  };
  std::vector<const char *> sentences(std::begin(kSentences),
                                      std::end(kSentences));
  llvm::append_range(sentences, chatSentences);
  ASSERT_EQ(sentences.size(), std::size(expected));
  auto tokenizer = readSmolLm2Fixture();
  ASSERT_OK(tokenizer);
  EXPECT_EQ((*tokenizer)->getVocabSize(), 49152);
  for (auto [sentence, ids] : llvm::zip_equal(sentences, expected)) {
    EXPECT_EQ((*tokenizer)->encode(sentence), ids) << sentence;
    // Control tokens decode to nothing.
    std::string withoutControls = sentence;
    for (llvm::StringRef control : {"<|im_start|>", "<|im_end|>"})
      for (size_t at;
           (at = withoutControls.find(control.str())) != std::string::npos;)
        withoutControls.erase(at, control.size());
    EXPECT_EQ((*tokenizer)->decode(ids), withoutControls);
  }
}

TEST(SmolLm2TokenizerTest, RoundTripsArbitraryCharacters) {
  auto tokenizer = readSmolLm2Fixture();
  ASSERT_OK(tokenizer);
  std::mt19937 random(42);
  // SmolLM2 has no piece for the bytes 04 06 13 14 16 1D C0 C1 F1 F2 F5-FF,
  // which become its unknown id, <|endoftext|>, a control token that decodes
  // to nothing; the text keeps clear of them: printable ASCII, whitespace, and
  // code points below U+30000 (whose UTF-8 starts with at most F0).
  for (int round = 0; round < 20; ++round) {
    std::string text;
    for (int i = 0; i < 300; ++i) {
      uint32_t cp = random() % 4 ? random() % 0x80 : random() % 0x30000;
      if ((cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
          (cp >= 0xD800 && cp <= 0xDFFF))
        continue;
      if (cp < 0x80) {
        text += static_cast<char>(cp);
      } else if (cp < 0x800) {
        text += static_cast<char>(0xC0 | (cp >> 6));
        text += static_cast<char>(0x80 | (cp & 0x3F));
      } else if (cp < 0x10000) {
        text += static_cast<char>(0xE0 | (cp >> 12));
        text += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        text += static_cast<char>(0x80 | (cp & 0x3F));
      } else {
        text += static_cast<char>(0xF0 | (cp >> 18));
        text += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        text += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        text += static_cast<char>(0x80 | (cp & 0x3F));
      }
    }
    // No control piece may appear by chance: they would decode to nothing.
    ASSERT_EQ(text.find("<|"), std::string::npos);
    ASSERT_TRUE((*tokenizer)->decode((*tokenizer)->encode(text)) == text)
        << "round " << round;
  }
}

TEST(SmolLm2TokenizerTest, MatchesHuggingFaceOnWikiText2AndRoundTrips) {
  std::string text = wikiText();
  auto tokenizer = readSmolLm2Fixture();
  ASSERT_OK(tokenizer);
  std::vector<int32_t> ids =
      timedEncode(**tokenizer, text, "SmolLM2 byte-level BPE, WikiText-2 test");
  // Hugging Face tokenizers' encode of the whole file, as one string.
  EXPECT_EQ(ids.size(), 304830u);
  EXPECT_EQ(hashIds(ids), 0xdc9aa100a7284498ULL);
  EXPECT_TRUE((*tokenizer)->decode(ids) == text);
}

//===----------------------------------------------------------------------===//
// Serialization
//===----------------------------------------------------------------------===//

/// The first 200 KB of WikiText-2's test split.
std::string wikiTextPrefix() { return wikiText().substr(0, 200 * 1024); }

/// Checks that deserializing `tokenizer`'s bytes gives a tokenizer that
/// cannot be told apart from it: same pieces and special tokens, same ids and
/// text for `text`, same decoding of every token, and the same bytes again.
void expectRoundTrip(const Tokenizer &tokenizer, llvm::StringRef text,
                     llvm::StringRef what) {
  SCOPED_TRACE(what.str());
  std::string bytes = tokenizer.serialize();
  llvm::outs() << llvm::format("[ size     ] %s: %zu bytes serialized\n",
                               what.str().c_str(), bytes.size());
  llvm::outs().flush();
  auto deserialized = Tokenizer::deserialize(bytes);
  ASSERT_OK(deserialized);
  const Tokenizer &copy = **deserialized;

  ASSERT_EQ(copy.getVocabSize(), tokenizer.getVocabSize());
  const SpecialTokens &expected = tokenizer.getSpecialTokens();
  const SpecialTokens &actual = copy.getSpecialTokens();
  EXPECT_EQ(actual.bos, expected.bos);
  EXPECT_EQ(actual.eos, expected.eos);
  EXPECT_EQ(actual.unknown, expected.unknown);
  EXPECT_EQ(actual.padding, expected.padding);
  EXPECT_EQ(actual.addBos, expected.addBos);
  EXPECT_EQ(actual.addSpacePrefix, expected.addSpacePrefix);
  int32_t bos = tokenizer.getBos();
  for (int32_t token = 0; token < tokenizer.getVocabSize(); ++token) {
    ASSERT_EQ(copy.getPiece(token), tokenizer.getPiece(token)) << token;
    ASSERT_EQ(copy.decodeToken(-1, token), tokenizer.decodeToken(-1, token))
        << token;
    ASSERT_EQ(copy.decodeToken(token, token),
              tokenizer.decodeToken(token, token))
        << token;
    if (bos >= 0)
      ASSERT_EQ(copy.decodeToken(bos, token), tokenizer.decodeToken(bos, token))
          << token;
  }

  std::vector<int32_t> ids = tokenizer.encode(text);
  std::vector<int32_t> copyIds = copy.encode(text);
  EXPECT_EQ(copyIds.size(), ids.size());
  // Whole vectors only on success: a failure would print every id.
  EXPECT_TRUE(copyIds == ids);
  if (bos >= 0)
    ids.insert(ids.begin(), bos);
  EXPECT_TRUE(copy.decode(ids) == tokenizer.decode(ids));

  EXPECT_TRUE(copy.serialize() == bytes);
}

TEST(TokenizerSerializationTest, RoundTripsHandBuiltSentencePiece) {
  std::unique_ptr<Tokenizer> tokenizer = makeSmallSentencePiece();
  ASSERT_TRUE(tokenizer);
  llvm::StringRef text = "aba bab aaa a<sep>b é üa  a\n";
  expectRoundTrip(*tokenizer, text, "hand-built SentencePiece");

  // Flags other than the defaults, and kinds left to the factory.
  SpecialTokens special = tokenizer->getSpecialTokens();
  special.addBos = false;
  special.addSpacePrefix = false;
  special.padding = 13;
  std::vector<std::string> pieces;
  for (int32_t token = 0; token < tokenizer->getVocabSize(); ++token)
    pieces.push_back(tokenizer->getPiece(token).str());
  std::vector<float> scores = {0,  0,  0,  0,  0,    -5,   -5,
                               -5, -1, -2, -3, -1.5, -0.5, 0};
  auto bare = Tokenizer::createSentencePiece(pieces, scores, {}, special);
  ASSERT_OK(bare);
  expectRoundTrip(**bare, text, "hand-built SentencePiece, no dummy prefix");
}

TEST(TokenizerSerializationTest, RoundTripsHandBuiltByteLevelBpe) {
  llvm::StringRef text =
      "<|im_start|>the th\n<tab> the aaa 12345 x<|endoftext|>";
  for (llvm::StringRef name :
       {"gpt2", "smollm", "llama3", "llama-bpe", "default"}) {
    std::unique_ptr<Tokenizer> tokenizer = makeSmallBpe(name);
    ASSERT_TRUE(tokenizer);
    expectRoundTrip(*tokenizer, text, ("hand-built BPE, " + name).str());
  }

  // A pair listed twice keeps its first rank; the blob lists it once, and the
  // rebuilt tokenizer merges the same way.
  std::vector<std::string> merges = {"a a", "h e",   "Ġ t", "h e",
                                     "t h", "Ġt he", "a a"};
  auto repeated = Tokenizer::createByteLevelBpe(smallBpePieces(), {}, merges,
                                                "gpt2", SpecialTokens());
  ASSERT_OK(repeated);
  expectRoundTrip(**repeated, text, "hand-built BPE, repeated merges");
  auto dedup = Tokenizer::createByteLevelBpe(
      smallBpePieces(), {}, {"a a", "h e", "Ġ t", "t h", "Ġt he"}, "gpt2",
      SpecialTokens());
  ASSERT_OK(dedup);
  EXPECT_TRUE((*repeated)->serialize() == (*dedup)->serialize());
}

TEST(TokenizerSerializationTest, RoundTripsLlama2cTokenizersOnWikiText2) {
  std::string text = wikiTextPrefix();
  for (auto [path, vocabSize] :
       {std::pair<const char *, int64_t>{"stories260K/tok512.bin", 512},
        {"tokenizers/llama2c/tokenizer.bin", 32000}}) {
    auto tokenizer = Tokenizer::readLlama2c(dataPath(path), vocabSize);
    ASSERT_OK(tokenizer);
    expectRoundTrip(**tokenizer, text, path);
  }
}

TEST(TokenizerSerializationTest, RoundTripsSmolLm2OnWikiText2) {
  auto tokenizer = readSmolLm2Fixture();
  ASSERT_OK(tokenizer);
  expectRoundTrip(**tokenizer, wikiTextPrefix(), "SmolLM2 byte-level BPE");
}

TEST(TokenizerSerializationTest, WritesTheDocumentedLayout) {
  SpecialTokens special;
  special.padding = 1;
  auto tokenizer = Tokenizer::createSentencePiece(
      {"<unk>", "a"}, {0.0f, -1.5f}, {TokenKind::unknown, TokenKind::normal},
      special);
  ASSERT_OK(tokenizer);
  EXPECT_EQ(llvm::toHex((*tokenizer)->serialize(), /*LowerCase=*/true),
            "4c42544b"   // magic "LBTK"
            "01000000"   // version 1
            "01"         // SentencePiece
            "03"         // flags: addBos, addSpacePrefix
            "ffffffff"   // no BOS
            "ffffffff"   // no EOS
            "00000000"   // unknown 0 (the factory found it)
            "01000000"   // padding 1
            "02000000"   // 2 pieces
            "05000000"   // piece 0, 5 bytes
            "3c756e6b3e" // "<unk>"
            "01000000"   // piece 1, 1 byte
            "61"         // "a"
            "02"         // kind of piece 0: unknown
            "01"         // kind of piece 1: normal
            "00000000"   // score of piece 0: 0.0
            "0000c0bf"); // score of piece 1: -1.5
}

/// Serialized hand-built tokenizers of both kinds and a real one.
std::vector<std::pair<std::string, std::string>> smallBlobs() {
  std::vector<std::pair<std::string, std::string>> blobs;
  if (std::unique_ptr<Tokenizer> sentencePiece = makeSmallSentencePiece())
    blobs.emplace_back("hand-built SentencePiece", sentencePiece->serialize());
  if (std::unique_ptr<Tokenizer> bpe = makeSmallBpe("llama-bpe"))
    blobs.emplace_back("hand-built BPE", bpe->serialize());
  auto tok512 = Tokenizer::readLlama2c(dataPath("stories260K/tok512.bin"), 512);
  if (tok512)
    blobs.emplace_back("tok512", (*tok512)->serialize());
  else
    ADD_FAILURE() << messageOf(tok512.takeError());
  return blobs;
}

TEST(TokenizerSerializationTest, RejectsEveryTruncatedPrefix) {
  for (const auto &[what, bytes] : smallBlobs()) {
    for (size_t size = 0; size < bytes.size(); ++size) {
      std::string message = messageOf(
          Tokenizer::deserialize(llvm::StringRef(bytes).take_front(size)));
      ASSERT_FALSE(message.empty()) << what << " cut to " << size << " bytes";
      // The error names an offset inside the prefix.
      llvm::StringRef rest = message;
      size_t offset;
      ASSERT_TRUE(rest.consume_front("serialized tokenizer at byte offset ") &&
                  !rest.consumeInteger(10, offset) && offset <= size)
          << what << " cut to " << size << " bytes: " << message;
    }
  }

  std::string bytes = makeSmallSentencePiece()->serialize();
  auto cut = [&](size_t size) {
    return messageOf(
        Tokenizer::deserialize(llvm::StringRef(bytes).take_front(size)));
  };
  EXPECT_EQ(cut(0), "serialized tokenizer at byte offset 0: truncated in the "
                    "magic (needs 4 bytes, 0 left)");
  EXPECT_EQ(cut(6), "serialized tokenizer at byte offset 4: truncated in the "
                    "version (needs 4 bytes, 2 left)");
  EXPECT_EQ(cut(12), "serialized tokenizer at byte offset 10: truncated in the "
                     "BOS token (needs 4 bytes, 2 left)");
  // Piece 0 "<unk>" starts at offset 30, after the 4-byte piece count.
  EXPECT_EQ(cut(32), "serialized tokenizer at byte offset 26: 14 pieces need "
                     "at least 70 bytes, but 2 are left");
  EXPECT_EQ(cut(bytes.size() - 1),
            "serialized tokenizer at byte offset " +
                std::to_string(bytes.size() - 14 * 4) +
                ": truncated in the piece scores (needs 56 bytes, 55 left)");
}

TEST(TokenizerSerializationTest, RejectsCorruptHeaders) {
  std::string bytes = makeSmallSentencePiece()->serialize();
  auto corrupt = [&](size_t at, llvm::StringRef replacement) {
    std::string copy = bytes;
    copy.replace(at, replacement.size(), replacement.str());
    return messageOf(Tokenizer::deserialize(copy));
  };
  EXPECT_EQ(corrupt(0, "X"), "serialized tokenizer at byte offset 0: bad "
                             "magic 0x5842544B, expected 0x4C42544B ('LBTK')");
  EXPECT_EQ(corrupt(4, "\x02"), "serialized tokenizer at byte offset 4: "
                                "unsupported version 2 (this build reads "
                                "version 1)");
  EXPECT_EQ(corrupt(7, "\x80"), "serialized tokenizer at byte offset 4: "
                                "unsupported version 2147483649 (this build "
                                "reads version 1)");
  EXPECT_EQ(corrupt(8, "\x07"), "serialized tokenizer at byte offset 8: "
                                "unknown algorithm 7 (1: SentencePiece, 2: "
                                "byte-level BPE)");
  EXPECT_EQ(corrupt(9, "\x83"),
            "serialized tokenizer at byte offset 9: unknown flag bits 0x80");
}

TEST(TokenizerSerializationTest, RejectsCorruptBodies) {
  std::string bytes = makeSmallSentencePiece()->serialize();
  auto corrupt = [&](size_t at, llvm::StringRef replacement) {
    std::string copy = bytes;
    copy.replace(at, replacement.size(), replacement.str());
    return messageOf(Tokenizer::deserialize(copy));
  };
  std::string left = std::to_string(bytes.size() - 30);
  EXPECT_EQ(corrupt(26, "\xFF\xFF\xFF\xFF"),
            "serialized tokenizer at byte offset 26: 4294967295 pieces need "
            "at least 21474836475 bytes, but " +
                left + " are left");
  EXPECT_EQ(corrupt(30, "\xFF\xFF\xFF\x7F"),
            "serialized tokenizer at byte offset 30: length 2147483647 of "
            "piece 0 exceeds the " +
                std::to_string(bytes.size() - 34) + " bytes left");
  size_t kindsAt = bytes.size() - 14 * 4 - 14;
  EXPECT_EQ(corrupt(kindsAt + 5, "\x09"),
            "serialized tokenizer at byte offset " +
                std::to_string(kindsAt + 5) + ": piece 5 has unknown kind 9");
  EXPECT_EQ(messageOf(Tokenizer::deserialize(bytes + "xy")),
            "serialized tokenizer at byte offset " +
                std::to_string(bytes.size()) +
                ": 2 unexpected trailing bytes after the last score");
  EXPECT_EQ(corrupt(10, "\x63"),
            "serialized tokenizer is well-formed but inconsistent: BOS token "
            "99 is outside the vocabulary of 14 pieces");

  std::string bpe = makeSmallBpe("gpt2")->serialize();
  size_t name = bpe.find("gpt2");
  ASSERT_NE(name, std::string::npos);
  bpe.replace(name, 4, "gpt5");
  EXPECT_EQ(messageOf(Tokenizer::deserialize(bpe)),
            "serialized tokenizer is well-formed but inconsistent: unknown "
            "byte-level BPE pre-tokenizer 'gpt5' (known: default, gpt2, "
            "smollm, llama3, llama-bpe)");
  EXPECT_EQ(messageOf(Tokenizer::deserialize(bpe.substr(0, name) + "gpt2" +
                                             bpe.substr(name + 4) + "z")),
            "serialized tokenizer at byte offset " +
                std::to_string(bpe.size()) +
                ": 1 unexpected trailing bytes after the last merge");
}

TEST(TokenizerSerializationTest, SurvivesRandomCorruption) {
  // Whatever a flipped byte does, deserializing fails cleanly or yields a
  // working tokenizer; it never reads out of bounds or allocates wildly.
  std::mt19937 random(7);
  int rejected = 0, accepted = 0;
  for (const auto &[what, bytes] : smallBlobs()) {
    for (int round = 0; round < 2000; ++round) {
      std::string copy = bytes;
      for (int flips = 1 + random() % 3; flips > 0; --flips)
        copy[random() % copy.size()] ^= static_cast<char>(1 + random() % 255);
      auto tokenizer = Tokenizer::deserialize(copy);
      if (!tokenizer) {
        llvm::consumeError(tokenizer.takeError());
        ++rejected;
        continue;
      }
      ++accepted;
      (*tokenizer)->decode((*tokenizer)->encode("the aba <sep> é 123"));
    }
  }
  llvm::outs() << llvm::format(
      "[ corrupt  ] %d corrupted blobs rejected, %d still valid\n", rejected,
      accepted);
  llvm::outs().flush();
  EXPECT_GT(rejected, 0);
}

} // namespace
