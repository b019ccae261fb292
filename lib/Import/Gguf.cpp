//===- Gguf.cpp - GGUF checkpoints ----------------------------------------===//
// Placeholder until the GGUF reader lands.
#include "lowbit/Import/Checkpoint.h"
using namespace lowbit;
llvm::Expected<LlamaCheckpoint> lowbit::readGguf(llvm::StringRef path) {
  return llvm::createStringError(path + ": GGUF reader not built yet");
}
