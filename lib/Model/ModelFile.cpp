//===- ModelFile.cpp - Open any model file as IR plus tokenizer -----------===//

#include "lowbit/Model/ModelFile.h"

#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace mlir;
using namespace mlir::lowbit;

llvm::Expected<LoadedModel>
mlir::lowbit::loadModel(MLIRContext &context, llvm::StringRef path,
                        const LlamaBuildOptions &options,
                        llvm::raw_ostream *log) {
  if (path.ends_with(".mlir") || path.ends_with(".mlirbc"))
    return llvm::createStringError(
        path + ": running .mlir models needs their tokenizer, which LowBit "
               "does not store in IR yet; pass the checkpoint instead");
  auto start = std::chrono::steady_clock::now();
  auto checkpoint = ::lowbit::readCheckpoint(path);
  if (!checkpoint)
    return checkpoint.takeError();
  if (!checkpoint->tokenizer)
    return llvm::createStringError(path + ": the checkpoint has no tokenizer");
  LoadedModel loaded;
  loaded.config = checkpoint->config;
  loaded.tokenizer = std::move(checkpoint->tokenizer);
  const ::lowbit::LlamaConfig &c = loaded.config;
  if (log)
    *log << llvm::format(
        "model: %s, %lld layers, dim %lld, ffn %lld, %lld heads (%lld KV), "
        "vocab %lld, context %lld; read in %.1f s\n",
        path.str().c_str(), (long long)c.numLayers, (long long)c.dim,
        (long long)c.hiddenDim, (long long)c.numHeads, (long long)c.numKvHeads,
        (long long)c.vocabSize, (long long)c.maxSeqLen,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
  loaded.module = buildLlamaModule(context, *checkpoint, options);
  return loaded;
}
