//===- Safetensors.cpp - Hugging Face checkpoints -------------------------===//
// Placeholder until the safetensors reader lands.
#include "lowbit/Import/Checkpoint.h"
using namespace lowbit;
llvm::Expected<LlamaCheckpoint> lowbit::readSafetensors(llvm::StringRef path) {
  return llvm::createStringError(path + ": safetensors reader not built yet");
}
