//===- LiteralTokens.cpp - Pieces matched verbatim in the text ------------===//

#include "LiteralTokens.h"

using namespace lowbit;

void LiteralTokens::add(llvm::StringRef text, int32_t token) {
  if (text.empty())
    return;
  auto &bucket = byFirstByte[static_cast<uint8_t>(text.front())];
  auto it = bucket.begin();
  for (; it != bucket.end() && it->first.size() >= text.size(); ++it)
    if (it->first == text)
      return;
  bucket.insert(it, {text.str(), token});
  ++count;
}

void LiteralTokens::split(llvm::StringRef text,
                          llvm::function_ref<void(llvm::StringRef)> onText,
                          llvm::function_ref<void(int32_t)> onToken) const {
  if (empty()) {
    if (!text.empty())
      onText(text);
    return;
  }
  size_t stretchBegin = 0;
  for (size_t pos = 0; pos < text.size();) {
    const auto &bucket = byFirstByte[static_cast<uint8_t>(text[pos])];
    const std::pair<std::string, int32_t> *found = nullptr;
    for (const auto &literal : bucket) {
      if (text.substr(pos).starts_with(literal.first)) {
        found = &literal;
        break;
      }
    }
    if (!found) {
      ++pos;
      continue;
    }
    if (pos > stretchBegin)
      onText(text.slice(stretchBegin, pos));
    onToken(found->second);
    pos += found->first.size();
    stretchBegin = pos;
  }
  if (stretchBegin < text.size())
    onText(text.substr(stretchBegin));
}
