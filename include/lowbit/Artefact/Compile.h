//===- Compile.h - Compile a model into an ahead-of-time artefact -*- C++ -*-===//

#ifndef LOWBIT_ARTEFACT_COMPILE_H
#define LOWBIT_ARTEFACT_COMPILE_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <optional>
#include <string>

namespace lowbit {
class Tokenizer;
struct LlamaCheckpoint;
} // namespace lowbit

namespace mlir::lowbit {

struct ArtefactOptions {
  /// x86-64 (AVX2, any x86-64-v3 CPU), x86-64-avx512 (x86-64-v4),
  /// x86-64-avx512-vnni (x86-64-v4 with VNNI: W8A8 in int8) or host.
  std::string target = "host";
  unsigned optLevel = 2;
};

/// One weight of an artefact's weights.bin: its name and bytes.
struct ArtefactWeight {
  std::string name;
  llvm::ArrayRef<char> bytes;
};

/// Writes `contents` to the artefact's file `path`.
llvm::Error writeArtefactFile(llvm::StringRef path, llvm::StringRef contents);

/// Writes `weights` as a weight file (lowbit/Artefact/Format.h) at `path`.
llvm::Error writeWeightFile(llvm::StringRef path,
                            llvm::ArrayRef<ArtefactWeight> weights);

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

struct CudaArtefactOptions {
  std::string chip = "sm_90";
  /// 0: float16 weights; otherwise W4A16 round-to-nearest, groups of this.
  int64_t group = 0;
  /// W4A16: the LM head in float16 (read from the embedding when tied)
  /// rather than in W4A16.
  bool headF16 = true;
  /// Positions of the KV cache.
  int64_t context = 512;
  /// Speed runs: no weight file; the runtime draws the weights from this.
  std::optional<uint64_t> randomSeed;
};

/// Writes a GPU artefact of `model` into `directory` (Format.h): the decode
/// step's kernels generated for its extents and assembled into one cubin,
/// its weights converted (f16) or quantized (W4A16) into the kernels'
/// layouts, the manifest and the tokenizer (when the checkpoint has one).
/// With a random seed only the model's config is read.
llvm::Error compileCudaArtefact(const ::lowbit::LlamaCheckpoint &model,
                                llvm::StringRef directory,
                                const CudaArtefactOptions &options,
                                llvm::raw_ostream &log);

} // namespace mlir::lowbit

#endif // LOWBIT_ARTEFACT_COMPILE_H
