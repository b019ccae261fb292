//===- ModelFile.h - Open any model file as IR plus tokenizer ---*- C++ -*-===//
//
// What `lowbit-run generate/perplexity/calibrate` accept as MODEL: a
// checkpoint (GGUF, llama2.c, safetensors), imported and built into float IR,
// or a .mlir/.mlirbc file LowBit wrote.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_MODEL_MODELFILE_H
#define LOWBIT_MODEL_MODELFILE_H

#include "lowbit/Import/Checkpoint.h"
#include "lowbit/Model/LlamaBuilder.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::lowbit {

struct LoadedModel {
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<::lowbit::Tokenizer> tokenizer;
  ::lowbit::LlamaConfig config;
};

/// Name of the module attribute that holds the model's tokenizer in IR
/// files: a `dense_resource` tensor of i8 with Tokenizer::serialize()'s bytes.
constexpr llvm::StringLiteral kTokenizerAttr = "lowbit.tokenizer";

/// Opens `path` and builds entry points for `options`. A .mlir/.mlirbc file
/// (written by saveModel) already has its entry points and cache length:
/// `options.cacheLength` must not exceed the latter, and its token counts
/// are not rebuilt (the session splits spans over the entries it has).
/// Progress goes to `log` if given.
llvm::Expected<LoadedModel> loadModel(MLIRContext &context,
                                      llvm::StringRef path,
                                      const LlamaBuildOptions &options,
                                      llvm::raw_ostream *log = nullptr);

/// Writes `module` (a model built by buildLlamaModule, possibly transformed)
/// with `tokenizer` attached to `path`: MLIR bytecode for .mlirbc, text
/// otherwise (the weights then go in the file's resource section as hex).
llvm::Error saveModel(ModuleOp module, const ::lowbit::Tokenizer &tokenizer,
                      llvm::StringRef path);

} // namespace mlir::lowbit

#endif // LOWBIT_MODEL_MODELFILE_H
