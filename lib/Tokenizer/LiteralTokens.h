//===- LiteralTokens.h - Pieces matched verbatim in the text ----*- C++ -*-===//
//
// Control and user-defined pieces ("<|im_start|>") stand for themselves
// wherever they occur; tokenizers cut them out of the text before splitting
// or merging anything else.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_LIB_TOKENIZER_LITERALTOKENS_H
#define LOWBIT_LIB_TOKENIZER_LITERALTOKENS_H

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lowbit {

class LiteralTokens {
public:
  /// Matches `text` as `token`; empty texts and repeats of a text already
  /// added are ignored.
  void add(llvm::StringRef text, int32_t token);

  bool empty() const { return count == 0; }

  /// Walks `text` left to right, taking the longest literal that starts at
  /// each position: calls `onText` for each non-empty stretch between
  /// literals and `onToken` for each literal, in text order.
  void split(llvm::StringRef text,
             llvm::function_ref<void(llvm::StringRef)> onText,
             llvm::function_ref<void(int32_t)> onToken) const;

private:
  /// Literals by their first byte, longest first.
  std::array<std::vector<std::pair<std::string, int32_t>>, 256> byFirstByte;
  size_t count = 0;
};

} // namespace lowbit

#endif // LOWBIT_LIB_TOKENIZER_LITERALTOKENS_H
