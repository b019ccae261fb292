//===- Unicode.h - UTF-8 decoding and character classes ---------*- C++ -*-===//
//
// What the pre-tokenizers need to know about characters: the Unicode general
// category groups that their regular expressions name (\p{L}, \p{N}, \p{P}) and
// White_Space (\s). Private to the tokenizer library.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_TOKENIZER_UNICODE_H
#define LOWBIT_LIB_TOKENIZER_UNICODE_H

#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <string>

namespace lowbit::unicode {

/// Stands for a byte that does not start a valid UTF-8 sequence; it is a
/// character of its own, of class `other`.
constexpr uint32_t kInvalid = 0xFFFFFFFF;

/// Character classes as bit flags. A character is at most one of letter,
/// number and punctuation; whitespace never overlaps them.
enum CharClass : uint8_t {
  other = 0,
  letter = 1 << 0,      // \p{L}
  number = 1 << 1,      // \p{N}
  punctuation = 1 << 2, // \p{P}
  whitespace = 1 << 3,  // \s (White_Space)
};

/// The class of code point `cp` (kInvalid is `other`).
uint8_t classify(uint32_t cp);

/// Decodes the UTF-8 character that starts at `text[pos]` into `cp` and
/// returns its length in bytes (at least 1). Invalid, overlong, truncated or
/// surrogate sequences decode as one byte of value kInvalid, so every input
/// splits into characters whose bytes concatenate back to it.
size_t decodeUtf8(llvm::StringRef text, size_t pos, uint32_t &cp);

/// Appends the UTF-8 encoding of `cp` to `out`.
void appendUtf8(uint32_t cp, std::string &out);

} // namespace lowbit::unicode

#endif // LOWBIT_LIB_TOKENIZER_UNICODE_H
