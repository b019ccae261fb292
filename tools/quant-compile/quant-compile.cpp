//===- quant-compile.cpp - Compile a model ahead of time ------------------===//
//
//   quant-compile MODEL --recipe NAME [--stats S | --calib TEXT]
//                 [--target x86-64|x86-64-avx512|host|cuda] -o DIR
//
// Imports MODEL (GGUF, llama2.c, safetensors or LowBit IR), applies the
// quantization recipe (`none` keeps it float) and writes an artefact into
// DIR: model.so, weights.bin, tokenizer.bin and manifest.txt, which
// liblowbit's C API, `lowbit-run generate DIR` and the Python bindings run.
// With --target cuda (a checkpoint; recipes none and w4a16-rtn) the
// artefact holds the decode step's kernels as kernels.cubin instead of
// model.so (lowbit/GPU/DecodeKernels.h); --random-weights SEED leaves the
// weights to the runtime, for speed runs from a config.json alone.
//
//===----------------------------------------------------------------------===//

#include "../lowbit-run/ModelCommands.h"

#include "lowbit/InitAll.h"
#include "lowbit/Pipelines/Recipes.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/WithColor.h"

#include <cstring>
#include <string>
#include <vector>

namespace cl = llvm::cl;

static cl::OptionCategory category("quant-compile options");
static cl::opt<std::string> modelFile(cl::Positional, cl::Required,
                                      cl::desc("<model>"), cl::cat(category));
static cl::opt<std::string>
    output("o", cl::Required, cl::desc("The artefact directory to write"),
           cl::value_desc("dir"), cl::cat(category));
static cl::opt<std::string> recipe(
    "recipe", cl::Required,
    cl::desc("The recipe (w4a16-rtn, w8a8-smoothquant, ...; none: float)"),
    cl::cat(category));
static cl::opt<std::string>
    target("target", cl::init("host"),
           cl::desc("x86-64 (AVX2), x86-64-avx512, x86-64-avx512-vnni (W8A8 "
                    "in int8), host (this CPU), or cuda "
                    "(NVIDIA GPUs; recipes none and w4a16-rtn)"),
           cl::cat(category));
static cl::opt<std::string> chip("chip", cl::init("sm_90"),
                                 cl::desc("The GPU of --target cuda (sm_80, "
                                          "sm_90, ...)"),
                                 cl::cat(category));
static cl::opt<int64_t> randomWeights(
    "random-weights", cl::init(-1),
    cl::desc("--target cuda: write no weights; the runtime draws them from "
             "this seed (speed runs of models too large to ship; MODEL may "
             "then be a config.json)"),
    cl::value_desc("seed"), cl::cat(category));
// LLVM owns the global -stats flag: --stats is spelled --calibration-stats
// here and renamed before parsing.
static cl::opt<std::string> stats(
    "calibration-stats",
    cl::desc("Calibration statistics (from lowbit-run calibrate); --stats "
             "is the same"),
    cl::value_desc("stats.mlirbc"), cl::cat(category));
static cl::opt<std::string> calibrationText(
    "calib", cl::desc("Calibrate on this text first (instead of --stats)"),
    cl::value_desc("textfile"), cl::cat(category));
static cl::opt<int64_t> samples("samples", cl::init(32),
                                cl::desc("Calibration sequences (--calib)"),
                                cl::cat(category));
static cl::opt<int64_t> contextLength("ctx", cl::init(512),
                                      cl::desc("Context (KV cache) length"),
                                      cl::cat(category));
static cl::list<int64_t> entryTokens(
    "entries", cl::CommaSeparated,
    cl::desc("Token counts of the entry points (default 1,64)"),
    cl::cat(category));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  std::vector<std::string> renamed(argv, argv + argc);
  for (std::string &arg : renamed)
    for (const char *spelling : {"--stats", "-stats"})
      if (arg == spelling || llvm::StringRef(arg).starts_with(
                                 std::string(spelling) + "="))
        arg = "--calibration-stats" + arg.substr(std::strlen(spelling));
  std::vector<const char *> args;
  for (const std::string &arg : renamed)
    args.push_back(arg.c_str());
  // --mlir-timing and the other pass-manager options apply to the lowering.
  mlir::registerPassManagerCLOptions();
  mlir::registerDefaultTimingManagerCLOptions();
  // --help lists quant-compile's own options, not LLVM's hundreds.
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(int(args.size()), args.data(),
                              "quant-compile: compile a model ahead of time "
                              "into a shared library and a weight file\n\n"
                              "--help-hidden also lists the pass-manager "
                              "options (--mlir-timing) and LLVM's.\n");
  mlir::DialectRegistry registry;
  mlir::lowbit::registerLowBitDialects(registry);
  mlir::lowbit::registerLowBitPasses();
  mlir::MLIRContext context(registry);
  context.loadAllAvailableDialects();
  context.printOpOnDiagnostic(false);

  ::lowbit::run::QuantizeOptions options;
  options.model = modelFile;
  options.recipe = recipe;
  options.stats = stats;
  options.calibrationText = calibrationText;
  options.output = output;
  options.samples = samples;
  options.context = contextLength;
  options.chip = chip;
  if (randomWeights >= 0)
    options.randomSeed = uint64_t(randomWeights);
  if (!entryTokens.empty())
    options.entries.assign(entryTokens.begin(), entryTokens.end());
  return ::lowbit::run::runCompile(context, options, target);
}
