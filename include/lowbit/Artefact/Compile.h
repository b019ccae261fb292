//===- Compile.h - Compile a model into an ahead-of-time artefact -*- C++ -*-===//

#ifndef LOWBIT_ARTEFACT_COMPILE_H
#define LOWBIT_ARTEFACT_COMPILE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace lowbit {
class Tokenizer;
}

namespace mlir::lowbit {

struct ArtefactOptions {
  /// x86-64 (AVX2, any x86-64-v3 CPU), x86-64-avx512 (x86-64-v4) or host.
  std::string target = "host";
  unsigned optLevel = 2;
};

/// Whether `target` names an artefact target (checked before any work).
llvm::Error checkArtefactTarget(llvm::StringRef target);

/// Lowers `module` (a LowBit model: lowbit/tensor IR with @forward_T entry
/// points, quantized or not) for `options.target`, compiles it to a shared
/// library and writes the artefact described in lowbit/Artefact/Format.h
/// into `directory` (created if missing). `module` is lowered in place.
/// Progress goes to `log`.
llvm::Error compileArtefact(ModuleOp module,
                            const ::lowbit::Tokenizer &tokenizer,
                            llvm::StringRef directory,
                            const ArtefactOptions &options,
                            llvm::raw_ostream &log);

} // namespace mlir::lowbit

#endif // LOWBIT_ARTEFACT_COMPILE_H
