//===- Serialization.cpp - Tokenizers as byte blobs -----------------------===//
//
// The binary form of a tokenizer is the input of the factory that built it, so
// that deserializing is calling that factory again. All integers are
// little-endian and fixed-width; a string is a u32 byte count, then the bytes.
//
//   magic      4 bytes "LBTK"
//   version    u32, kVersion
//   algorithm  u8, Tokenizer::Algorithm
//   flags      u8, bit 0 addBos, bit 1 addSpacePrefix, the rest zero
//   special    i32 bos, eos, unknown, padding (-1: none)
//   pieces     u32 count n, then n strings
//   kinds      n u8, TokenKind
//   SentencePiece:  n f32 scores (IEEE-754 bits)
//   byte-level BPE: string pre-tokenizer name, u32 count m, m merge strings
//
// Nothing follows. Reading checks every length against the bytes left before
// trusting it, so a blob that is cut short or corrupt is an error that names
// the byte offset, never a read out of bounds or a huge allocation.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Tokenizer/Tokenizer.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/ADT/bit.h"
#include "llvm/Support/Endian.h"

using namespace lowbit;

namespace {
constexpr llvm::StringLiteral kMagic = "LBTK";
/// Bump on any change to the layout above.
constexpr uint32_t kVersion = 1;

enum Flags : uint8_t {
  kAddBos = 1 << 0,
  kAddSpacePrefix = 1 << 1,
  kKnownFlags = kAddBos | kAddSpacePrefix,
};

void writeU8(std::string &out, uint8_t value) {
  out += static_cast<char>(value);
}

void writeU32(std::string &out, uint32_t value) {
  char bytes[4];
  llvm::support::endian::write32le(bytes, value);
  out.append(bytes, sizeof(bytes));
}

void writeString(std::string &out, llvm::StringRef value) {
  assert(value.size() <= UINT32_MAX && "string too long for a u32 length");
  writeU32(out, static_cast<uint32_t>(value.size()));
  out += value;
}

/// Reads serialize()'s fields in order. Each read names what it reads (as a
/// Twine, formatted only on failure) for the error message.
class BlobReader {
public:
  explicit BlobReader(llvm::StringRef bytes) : bytes(bytes) {}

  size_t getOffset() const { return offset; }
  size_t getRemaining() const { return bytes.size() - offset; }

  /// An error about the field at `at`.
  llvm::Error fail(size_t at, const llvm::Twine &message) const {
    return llvm::createStringError("serialized tokenizer at byte offset " +
                                   llvm::Twine(at) + ": " + message);
  }

  llvm::Expected<llvm::StringRef> readBytes(size_t size,
                                            const llvm::Twine &what) {
    if (getRemaining() < size)
      return fail(offset, "truncated in " + what + " (needs " +
                              llvm::Twine(size) + " bytes, " +
                              llvm::Twine(getRemaining()) + " left)");
    llvm::StringRef result = bytes.substr(offset, size);
    offset += size;
    return result;
  }

  llvm::Expected<uint8_t> readU8(const llvm::Twine &what) {
    llvm::Expected<llvm::StringRef> field = readBytes(1, what);
    if (!field)
      return field.takeError();
    return static_cast<uint8_t>(field->front());
  }

  llvm::Expected<uint32_t> readU32(const llvm::Twine &what) {
    llvm::Expected<llvm::StringRef> field = readBytes(4, what);
    if (!field)
      return field.takeError();
    return llvm::support::endian::read32le(field->data());
  }

  llvm::Expected<int32_t> readI32(const llvm::Twine &what) {
    llvm::Expected<uint32_t> value = readU32(what);
    if (!value)
      return value.takeError();
    return static_cast<int32_t>(*value);
  }

  llvm::Expected<llvm::StringRef> readString(const llvm::Twine &what) {
    size_t at = offset;
    llvm::Expected<uint32_t> length = readU32("the length of " + what);
    if (!length)
      return length.takeError();
    if (*length > getRemaining())
      return fail(at, "length " + llvm::Twine(*length) + " of " + what +
                          " exceeds the " + llvm::Twine(getRemaining()) +
                          " bytes left");
    return readBytes(*length, what);
  }

  /// Reads a count of items that take at least `minItemSize` bytes each, and
  /// rejects one that the bytes left cannot hold, before anything allocates
  /// room for that many.
  llvm::Expected<uint32_t> readCount(size_t minItemSize,
                                     const llvm::Twine &what) {
    size_t at = offset;
    llvm::Expected<uint32_t> count = readU32("the count of " + what);
    if (!count)
      return count.takeError();
    if (*count > getRemaining() / minItemSize)
      return fail(
          at, llvm::Twine(*count) + " " + what + " need at least " +
                  llvm::Twine(static_cast<uint64_t>(*count) * minItemSize) +
                  " bytes, but " + llvm::Twine(getRemaining()) + " are left");
    return *count;
  }

  /// Fails unless every byte has been read.
  llvm::Error expectEnd(const llvm::Twine &after) const {
    if (getRemaining() == 0)
      return llvm::Error::success();
    return fail(offset, llvm::Twine(getRemaining()) +
                            " unexpected trailing bytes after " + after);
  }

private:
  llvm::StringRef bytes;
  size_t offset = 0;
};

bool isKnownTokenKind(uint8_t value) {
  return value >= static_cast<uint8_t>(TokenKind::normal) &&
         value <= static_cast<uint8_t>(TokenKind::byte);
}
} // namespace

std::string Tokenizer::serialize() const {
  Spec spec = getSpec();
  assert(spec.kinds.size() == pieces.size() && "one kind per piece");
  std::string out;
  out += kMagic;
  writeU32(out, kVersion);
  writeU8(out, static_cast<uint8_t>(spec.algorithm));
  writeU8(out, (special.addBos ? kAddBos : 0) |
                   (special.addSpacePrefix ? kAddSpacePrefix : 0));
  for (int32_t token :
       {special.bos, special.eos, special.unknown, special.padding})
    writeU32(out, static_cast<uint32_t>(token));
  writeU32(out, static_cast<uint32_t>(pieces.size()));
  for (const std::string &piece : pieces)
    writeString(out, piece);
  for (TokenKind kind : spec.kinds)
    writeU8(out, static_cast<uint8_t>(kind));
  switch (spec.algorithm) {
  case Algorithm::sentencePiece:
    assert(spec.scores.size() == pieces.size() && "one score per piece");
    for (float score : spec.scores)
      writeU32(out, llvm::bit_cast<uint32_t>(score));
    break;
  case Algorithm::byteLevelBpe:
    writeString(out, spec.preTokenizer);
    writeU32(out, static_cast<uint32_t>(spec.merges.size()));
    for (const std::string &merge : spec.merges)
      writeString(out, merge);
    break;
  }
  return out;
}

llvm::Expected<std::unique_ptr<Tokenizer>>
Tokenizer::deserialize(llvm::StringRef bytes) {
  BlobReader reader(bytes);

  llvm::Expected<llvm::StringRef> magic = reader.readBytes(4, "the magic");
  if (!magic)
    return magic.takeError();
  if (*magic != kMagic)
    return reader.fail(0, llvm::Twine("bad magic 0x") + llvm::toHex(*magic) +
                              ", expected 0x" + llvm::toHex(kMagic) + " ('" +
                              kMagic + "')");
  llvm::Expected<uint32_t> version = reader.readU32("the version");
  if (!version)
    return version.takeError();
  if (*version != kVersion)
    return reader.fail(4, "unsupported version " + llvm::Twine(*version) +
                              " (this build reads version " +
                              llvm::Twine(kVersion) + ")");

  size_t algorithmAt = reader.getOffset();
  llvm::Expected<uint8_t> algorithm = reader.readU8("the algorithm");
  if (!algorithm)
    return algorithm.takeError();
  if (*algorithm != static_cast<uint8_t>(Algorithm::sentencePiece) &&
      *algorithm != static_cast<uint8_t>(Algorithm::byteLevelBpe))
    return reader.fail(algorithmAt,
                       "unknown algorithm " +
                           llvm::Twine(static_cast<unsigned>(*algorithm)) +
                           " (1: SentencePiece, 2: byte-level "
                           "BPE)");

  size_t flagsAt = reader.getOffset();
  llvm::Expected<uint8_t> flags = reader.readU8("the flags");
  if (!flags)
    return flags.takeError();
  if (*flags & ~kKnownFlags)
    return reader.fail(flagsAt,
                       "unknown flag bits 0x" +
                           llvm::Twine::utohexstr(*flags & ~kKnownFlags));
  SpecialTokens special;
  special.addBos = *flags & kAddBos;
  special.addSpacePrefix = *flags & kAddSpacePrefix;
  for (auto [name, token] :
       {std::pair<const char *, int32_t *>{"the BOS token", &special.bos},
        {"the EOS token", &special.eos},
        {"the unknown token", &special.unknown},
        {"the padding token", &special.padding}}) {
    llvm::Expected<int32_t> value = reader.readI32(name);
    if (!value)
      return value.takeError();
    *token = *value;
  }

  // Each piece takes at least its length, and then a kind byte.
  llvm::Expected<uint32_t> count = reader.readCount(5, "pieces");
  if (!count)
    return count.takeError();
  std::vector<std::string> pieces;
  pieces.reserve(*count);
  for (uint32_t i = 0; i < *count; ++i) {
    llvm::Expected<llvm::StringRef> piece =
        reader.readString("piece " + llvm::Twine(i));
    if (!piece)
      return piece.takeError();
    pieces.push_back(piece->str());
  }

  llvm::Expected<llvm::StringRef> kindBytes =
      reader.readBytes(*count, "the piece kinds");
  if (!kindBytes)
    return kindBytes.takeError();
  std::vector<TokenKind> kinds;
  kinds.reserve(*count);
  for (auto [i, byte] : llvm::enumerate(kindBytes->bytes())) {
    if (!isKnownTokenKind(byte))
      return reader.fail(reader.getOffset() - *count + i,
                         "piece " + llvm::Twine(i) + " has unknown kind " +
                             llvm::Twine(static_cast<unsigned>(byte)));
    kinds.push_back(static_cast<TokenKind>(byte));
  }

  // The factories' own checks (special tokens inside the vocabulary, merges
  // naming pieces, known pre-tokenizer) cover what remains.
  auto build = [&](llvm::Expected<std::unique_ptr<Tokenizer>> tokenizer)
      -> llvm::Expected<std::unique_ptr<Tokenizer>> {
    if (!tokenizer)
      return llvm::createStringError(
          "serialized tokenizer is well-formed but inconsistent: " +
          llvm::toString(tokenizer.takeError()));
    return tokenizer;
  };

  if (*algorithm == static_cast<uint8_t>(Algorithm::sentencePiece)) {
    llvm::Expected<llvm::StringRef> scoreBytes =
        reader.readBytes(4 * static_cast<size_t>(*count), "the piece scores");
    if (!scoreBytes)
      return scoreBytes.takeError();
    std::vector<float> scores;
    scores.reserve(*count);
    for (size_t i = 0; i < *count; ++i)
      scores.push_back(llvm::bit_cast<float>(
          llvm::support::endian::read32le(scoreBytes->data() + 4 * i)));
    if (llvm::Error error = reader.expectEnd("the last score"))
      return std::move(error);
    return build(createSentencePiece(std::move(pieces), std::move(scores),
                                     std::move(kinds), special));
  }

  llvm::Expected<llvm::StringRef> preTokenizer =
      reader.readString("the pre-tokenizer name");
  if (!preTokenizer)
    return preTokenizer.takeError();
  llvm::Expected<uint32_t> mergeCount = reader.readCount(4, "merges");
  if (!mergeCount)
    return mergeCount.takeError();
  std::vector<std::string> merges;
  merges.reserve(*mergeCount);
  for (uint32_t i = 0; i < *mergeCount; ++i) {
    llvm::Expected<llvm::StringRef> merge =
        reader.readString("merge " + llvm::Twine(i));
    if (!merge)
      return merge.takeError();
    merges.push_back(merge->str());
  }
  if (llvm::Error error = reader.expectEnd(
          *mergeCount ? "the last merge" : "the empty merge list"))
    return std::move(error);
  return build(createByteLevelBpe(std::move(pieces), std::move(kinds), merges,
                                  *preTokenizer, special));
}
