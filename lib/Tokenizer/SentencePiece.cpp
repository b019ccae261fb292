//===- SentencePiece.cpp ----------------------------------------------===//
// Placeholder until the tokenizer lands.
#include "lowbit/Tokenizer/Tokenizer.h"
using namespace lowbit;
llvm::Expected<std::unique_ptr<Tokenizer>>
Tokenizer::createSentencePiece(std::vector<std::string>, std::vector<float>,
                               std::vector<TokenKind>, SpecialTokens) {
  return llvm::createStringError("SentencePiece tokenizer not built yet");
}
llvm::Expected<std::unique_ptr<Tokenizer>>
Tokenizer::readLlama2c(llvm::StringRef, int64_t) {
  return llvm::createStringError("llama2.c tokenizer not built yet");
}
