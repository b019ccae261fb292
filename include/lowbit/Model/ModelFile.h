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

/// Opens `path` and builds entry points for `options` (a .mlir file must
/// already have them). Progress goes to `log` if given.
llvm::Expected<LoadedModel> loadModel(MLIRContext &context,
                                      llvm::StringRef path,
                                      const LlamaBuildOptions &options,
                                      llvm::raw_ostream *log = nullptr);

} // namespace mlir::lowbit

#endif // LOWBIT_MODEL_MODELFILE_H
