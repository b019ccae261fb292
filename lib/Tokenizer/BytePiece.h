//===- BytePiece.h - The <0xXX> byte-fallback pieces ------------*- C++ -*-===//

#ifndef LOWBIT_LIB_TOKENIZER_BYTEPIECE_H
#define LOWBIT_LIB_TOKENIZER_BYTEPIECE_H

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>

namespace lowbit {

/// The byte a piece spelled "<0xXX>" (two hex digits) stands for.
inline std::optional<uint8_t> parseBytePiece(llvm::StringRef piece) {
  if (piece.size() != 6 || !piece.starts_with("<0x") || piece.back() != '>')
    return std::nullopt;
  unsigned high = llvm::hexDigitValue(piece[3]);
  unsigned low = llvm::hexDigitValue(piece[4]);
  if (high > 15 || low > 15)
    return std::nullopt;
  return static_cast<uint8_t>(high * 16 + low);
}

} // namespace lowbit

#endif // LOWBIT_LIB_TOKENIZER_BYTEPIECE_H
