//===- LlamaSession.h - Run a compiled Llama model token by token -*- C++ -*-===//
//
// Owns a JIT-compiled model and its KV caches: `forward` runs a span of
// tokens at the current position and returns their logits, choosing among
// the module's `@forward_T` entry points (padding a span to the next larger
// one, splitting spans longer than the largest).
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_MODEL_LLAMASESSION_H
#define LOWBIT_MODEL_LLAMASESSION_H

#include "lowbit/Runner/HostTensor.h"
#include "lowbit/Runner/JitModule.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"

#include <memory>
#include <vector>

namespace mlir::lowbit {

class LlamaSession {
public:
  /// Compiles `module` (built by buildLlamaModule or a transform of it).
  static llvm::Expected<std::unique_ptr<LlamaSession>>
  create(ModuleOp module, const JitOptions &options = {});

  /// Runs `tokens` at positions [position(), position() + n) and returns
  /// their logits, [n, vocab]. Fails if the cache would overflow.
  llvm::Expected<HostTensor> forward(llvm::ArrayRef<int32_t> tokens);

  /// Forgets the context: the next token is at position 0.
  void reset() { position = 0; }
  int64_t getPosition() const { return position; }
  int64_t getCacheLength() const { return cacheLength; }
  int64_t getVocabSize() const { return vocabSize; }
  JitModule &getJit() { return *jit; }

private:
  LlamaSession() = default;
  llvm::Expected<HostTensor> runEntry(int64_t entryTokens,
                                      llvm::ArrayRef<int32_t> tokens);

  std::unique_ptr<JitModule> jit;
  std::vector<int64_t> entryTokenCounts; // ascending
  HostTensor keyCache, valueCache;
  int64_t cacheLength = 0, vocabSize = 0, position = 0;
};

} // namespace mlir::lowbit

#endif // LOWBIT_MODEL_LLAMASESSION_H
