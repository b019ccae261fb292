//===- Unicode.cpp - UTF-8 decoding and character classes -----------------===//

#include "Unicode.h"

#include <algorithm>
#include <array>

using namespace lowbit;
using namespace lowbit::unicode;

namespace {
struct ClassRange {
  uint32_t first;
  uint32_t last;
  uint8_t cls;
};

constexpr uint8_t L = letter;
constexpr uint8_t N = number;
constexpr uint8_t P = punctuation;

// Non-ASCII letters, numbers and punctuation, generated from the Unicode
// database (see the file for how); the table is exact, not an approximation,
// for the Unicode version it names.
constexpr ClassRange kRanges[] = {
#include "UnicodeTables.inc"
};

/// Classes of the 128 ASCII characters, from the same categories: letters
/// A-Z a-z, numbers 0-9, and punctuation !"#%&'()*,-./:;?@[\]_{} (the rest
/// of the printable characters, $+<=>^`|~, are symbols).
constexpr std::array<uint8_t, 128> makeAsciiClasses() {
  std::array<uint8_t, 128> classes{};
  for (int c = 'A'; c <= 'Z'; ++c)
    classes[c] = letter;
  for (int c = 'a'; c <= 'z'; ++c)
    classes[c] = letter;
  for (int c = '0'; c <= '9'; ++c)
    classes[c] = number;
  for (const char *c = "!\"#%&'()*,-./:;?@[\\]_{}"; *c; ++c)
    classes[static_cast<unsigned char>(*c)] = punctuation;
  for (int c : {'\t', '\n', '\v', '\f', '\r', ' '})
    classes[c] = whitespace;
  return classes;
}
constexpr std::array<uint8_t, 128> kAsciiClasses = makeAsciiClasses();

/// Unicode's White_Space property outside ASCII.
bool isNonAsciiWhitespace(uint32_t cp) {
  switch (cp) {
  case 0x0085: // next line
  case 0x00A0: // no-break space
  case 0x1680: // ogham space mark
  case 0x2028: // line separator
  case 0x2029: // paragraph separator
  case 0x202F: // narrow no-break space
  case 0x205F: // medium mathematical space
  case 0x3000: // ideographic space
    return true;
  default:
    return cp >= 0x2000 && cp <= 0x200A; // en quad .. hair space
  }
}
} // namespace

uint8_t unicode::classify(uint32_t cp) {
  if (cp < 128)
    return kAsciiClasses[cp];
  if (cp == kInvalid)
    return other;
  if (isNonAsciiWhitespace(cp))
    return whitespace;
  const ClassRange *end = std::end(kRanges);
  const ClassRange *it =
      std::upper_bound(std::begin(kRanges), end, cp,
                       [](uint32_t value, const ClassRange &range) {
                         return value < range.first;
                       });
  if (it == std::begin(kRanges))
    return other;
  --it;
  return cp <= it->last ? it->cls : other;
}

size_t unicode::decodeUtf8(llvm::StringRef text, size_t pos, uint32_t &cp) {
  auto byteAt = [&](size_t i) { return static_cast<uint8_t>(text[i]); };
  uint8_t lead = byteAt(pos);
  if (lead < 0x80) {
    cp = lead;
    return 1;
  }
  size_t length;
  uint32_t value, minimum;
  if ((lead & 0xE0) == 0xC0) {
    length = 2, value = lead & 0x1F, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    length = 3, value = lead & 0x0F, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    length = 4, value = lead & 0x07, minimum = 0x10000;
  } else {
    cp = kInvalid;
    return 1;
  }
  if (pos + length > text.size()) {
    cp = kInvalid;
    return 1;
  }
  for (size_t i = 1; i < length; ++i) {
    uint8_t next = byteAt(pos + i);
    if ((next & 0xC0) != 0x80) {
      cp = kInvalid;
      return 1;
    }
    value = (value << 6) | (next & 0x3F);
  }
  if (value < minimum || value > 0x10FFFF ||
      (value >= 0xD800 && value <= 0xDFFF)) {
    cp = kInvalid;
    return 1;
  }
  cp = value;
  return length;
}

void unicode::appendUtf8(uint32_t cp, std::string &out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}
