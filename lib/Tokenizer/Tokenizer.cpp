//===- Tokenizer.cpp - What every tokenizer shares ------------------------===//

#include "lowbit/Tokenizer/Tokenizer.h"

using namespace lowbit;

Tokenizer::~Tokenizer() = default;

std::string Tokenizer::decode(llvm::ArrayRef<int32_t> tokens) const {
  std::string text;
  int32_t previous = -1;
  for (int32_t token : tokens) {
    text += decodeToken(previous, token);
    previous = token;
  }
  return text;
}
