//===- ByteLevelBpe.cpp -----------------------------------------------===//
// Placeholder until the tokenizer lands.
#include "lowbit/Tokenizer/Tokenizer.h"
using namespace lowbit;
llvm::Expected<std::unique_ptr<Tokenizer>>
Tokenizer::createByteLevelBpe(std::vector<std::string>, std::vector<TokenKind>,
                              const std::vector<std::string> &, llvm::StringRef,
                              SpecialTokens) {
  return llvm::createStringError("byte-level BPE tokenizer not built yet");
}
