//===- ModelCommands.h - lowbit-run's model commands ------------*- C++ -*-===//

#ifndef LOWBIT_TOOLS_LOWBITRUN_MODELCOMMANDS_H
#define LOWBIT_TOOLS_LOWBITRUN_MODELCOMMANDS_H

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lowbit::run {

struct ImportOptions {
  std::string model;
  std::string output;
  int64_t context = 512;
  std::vector<int64_t> entries = {1, 64};
};

struct QuantizeOptions {
  std::string model;
  std::string recipe;
  std::string stats;           // a statistics file, or
  std::string calibrationText; // text to calibrate on first
  std::string output;
  int64_t samples = 32;
  int64_t calibrationContext = 512;
  int64_t context = 512;
  std::vector<int64_t> entries = {1, 64};
  unsigned optLevel = 2;
  // --target cuda only.
  std::string chip = "sm_90";
  std::optional<uint64_t> randomSeed; // no weights: drawn by the runtime
};

struct GenerateOptions {
  std::string model;
  std::string prompt;
  int64_t tokens = 64;
  uint64_t seed = 0;
  double temperature = 0.0; // 0: greedy
  bool ignoreEos = false;   // decode exactly `tokens` tokens
  std::string device; // artefacts: "" (their target), cpu, cuda, reference
  int64_t context = 0;      // 0: the model's, at most 2048
  unsigned optLevel = 2;
  bool fuse = true; // lowbit-to-llvm's kernel fusion
  bool repack = true; // lowbit-to-llvm's weight repacking
};

struct PerplexityOptions {
  std::string model;
  std::string textFile;
  int64_t context = 512;
  int64_t chunks = -1; // all
  unsigned optLevel = 2;
  bool fuse = true; // lowbit-to-llvm's kernel fusion
  bool repack = true; // lowbit-to-llvm's weight repacking
};

struct CalibrateOptions {
  std::string model;
  std::string textFile;
  std::string output;
  int64_t samples = 32;
  int64_t context = 512;
  unsigned optLevel = 2;
};

int runImport(mlir::MLIRContext &context, const ImportOptions &options);
int runQuantize(mlir::MLIRContext &context, const QuantizeOptions &options);
/// quant-compile: the recipe as in runQuantize, then an artefact in
/// options.output (a directory) for `target`.
int runCompile(mlir::MLIRContext &context, const QuantizeOptions &options,
               llvm::StringRef target);
int runCalibrate(mlir::MLIRContext &context, const CalibrateOptions &options);
int runGenerate(mlir::MLIRContext &context, const GenerateOptions &options);
int runPerplexity(mlir::MLIRContext &context,
                  const PerplexityOptions &options);

} // namespace lowbit::run

#endif // LOWBIT_TOOLS_LOWBITRUN_MODELCOMMANDS_H
