//===- model-bench.cpp - Compile and run a whole model --------------------===//
//
// Where the time of a whole model goes: the lowering passes (MLIR), LLVM's
// compilation in the JIT, a prefill of `--prefill` tokens and `--decode`
// single-token steps, for the default lowering and (with --scalar) for the
// scalar reference one. Beside them, the limits this machine sets, measured
// in the same run: prefill is bound by the FMA peak (2 FLOPs per weight per
// token), decode by the read bandwidth (every weight read once per token).
//
//   lowbit-bench-model MODEL [--prefill 32] [--decode 16] [--ctx 256]
//                      [--scalar] [--pass-timing]
//
//===----------------------------------------------------------------------===//

#include "PeakProbes.h"

#include "lowbit/InitAll.h"
#include "lowbit/Model/LlamaSession.h"
#include "lowbit/Model/ModelFile.h"
#include "lowbit/Pipelines/Pipelines.h"
#include "lowbit/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>
#include <thread>

using namespace mlir;
using namespace mlir::lowbit;

namespace cl = llvm::cl;

static cl::opt<std::string> modelPath(cl::Positional, cl::Required,
                                      cl::desc("<model checkpoint>"));
static cl::opt<int64_t> prefillTokens("prefill",
                                      cl::desc("Tokens of the prefill entry"),
                                      cl::init(32));
static cl::opt<int64_t> decodeSteps("decode",
                                    cl::desc("Single-token steps to time"),
                                    cl::init(16));
static cl::opt<int64_t> contextLength("ctx", cl::desc("KV cache length"),
                                      cl::init(256));
static cl::opt<bool> runScalar("scalar",
                               cl::desc("Also run the scalar reference path"),
                               cl::init(false));
static cl::opt<bool> skipVectorized(
    "skip-vectorized", cl::desc("Run only the scalar reference path"),
    cl::init(false), cl::Hidden);
static cl::opt<std::string> dumpLowered(
    "dump-lowered", cl::desc("Write the lowered module (LLVM dialect) here"),
    cl::init(""), cl::Hidden);
static cl::opt<bool> passTiming(
    "pass-timing", cl::desc("Print the time of each lowering pass"),
    cl::init(false));

namespace {
using Clock = std::chrono::steady_clock;
double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int fail(const llvm::Twine &message) {
  llvm::errs() << "lowbit-bench-model: error: " << message << "\n";
  return 1;
}

/// The limits of this machine for a model, from the probes.
struct Roofline {
  double peakGflops = 0.0, bandwidthGBs = 0.0;
  /// FLOPs of the linear layers per token, and bytes of f32 weights.
  double flopsPerToken = 0.0, weightBytes = 0.0;

  double getPrefillLimit() const {
    return peakGflops * 1e9 / flopsPerToken;
  }
  double getDecodeLimit() const {
    return bandwidthGBs * 1e9 / weightBytes;
  }
};
Roofline roofline;

/// Compiles and runs the model with linear layers vectorized or not.
int benchmark(bool vectorize) {
  DialectRegistry registry;
  registerLowBitDialects(registry);
  MLIRContext context(registry);
  LlamaBuildOptions build;
  build.tokenCounts = {1, prefillTokens};
  build.cacheLength = contextLength;
  auto loaded = loadModel(context, modelPath, build);
  if (!loaded)
    return fail(llvm::toString(loaded.takeError()));
  const char *name = vectorize ? "vectorized" : "scalar";
  if (roofline.flopsPerToken == 0.0) {
    const auto &c = loaded->config;
    double perLayer = double(c.dim) * (2 * c.dim + 2 * c.getKvDim()) +
                      3.0 * c.dim * c.hiddenDim;
    double weights = c.numLayers * perLayer + double(c.vocabSize) * c.dim;
    roofline.flopsPerToken = 2.0 * weights;
    roofline.weightBytes = 4.0 * weights;
  }

  // The lowering alone, on a copy (the session lowers the module itself).
  {
    OwningOpRef<ModuleOp> copy = loaded->module->clone();
    PassManager pm(&context);
    if (passTiming)
      pm.enableTiming();
    LowerToLLVMOptions options;
    options.vectorize = vectorize;
    buildLowerToLLVMPipeline(pm, options);
    auto start = Clock::now();
    if (failed(pm.run(*copy)))
      return fail("lowering failed");
    llvm::outs() << llvm::format("%s: lowering passes %.2f s\n", name,
                                 since(start));
    if (!dumpLowered.empty()) {
      std::error_code error;
      llvm::raw_fd_ostream out(dumpLowered, error);
      // Without the weights' record, so that their blobs are not printed.
      (*copy)->removeAttr(kExternalWeightsAttrName);
      copy->print(out);
    }
  }

  JitOptions options;
  options.vectorize = vectorize;
  auto start = Clock::now();
  auto session = LlamaSession::create(*loaded->module, options);
  if (!session)
    return fail(llvm::toString(session.takeError()));
  double compileSeconds = since(start);

  std::vector<int32_t> prompt(prefillTokens);
  for (int64_t i = 0; i < prefillTokens; ++i)
    prompt[i] = int32_t((i * 7919 + 13) % loaded->config.vocabSize);
  start = Clock::now();
  auto logits = (*session)->forward(prompt);
  if (!logits)
    return fail(llvm::toString(logits.takeError()));
  double prefillSeconds = since(start);
  start = Clock::now();
  for (int64_t step = 0; step < decodeSteps; ++step) {
    auto next = (*session)->forward({int32_t(step % 100 + 1)});
    if (!next)
      return fail(llvm::toString(next.takeError()));
  }
  double decodeSeconds = since(start);
  llvm::outs() << llvm::format(
      "%s: JIT compile (passes + LLVM) %.2f s, %zu external weights; "
      "prefill %lld tokens %.3f s (%.1f tokens/s); decode %.1f ms/token "
      "(%.1f tokens/s)\n",
      name, compileSeconds, (*session)->getJit().getExternalWeightCount(),
      (long long)prefillTokens, prefillSeconds,
      prefillTokens / prefillSeconds, 1e3 * decodeSeconds / decodeSteps,
      decodeSteps / decodeSeconds);
  llvm::outs() << llvm::format(
      "%s: prefill at %.0f%% of the FMA-peak limit (%.1f tokens/s), decode "
      "at %.0f%% of the read-bandwidth limit (%.1f tokens/s)\n",
      name, 100.0 * prefillTokens / prefillSeconds / roofline.getPrefillLimit(),
      roofline.getPrefillLimit(),
      100.0 * decodeSteps / decodeSeconds / roofline.getDecodeLimit(),
      roofline.getDecodeLimit());
  llvm::outs().flush();
  return 0;
}
} // namespace

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(argc, argv, "LowBit whole-model benchmark\n");
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  roofline.peakGflops = ::lowbit::bench::measureFmaPeakGflops(threads);
  roofline.bandwidthGBs =
      ::lowbit::bench::measureReadBandwidthGBs(threads, size_t(1) << 30);
  llvm::outs() << llvm::format("FMA peak (%u threads): %.1f GFLOP/s; read "
                               "bandwidth (1 GiB, %u threads): %.1f GB/s\n",
                               threads, roofline.peakGflops, threads,
                               roofline.bandwidthGBs);
  if (!skipVectorized)
    if (int status = benchmark(/*vectorize=*/true))
      return status;
  if (runScalar)
    return benchmark(/*vectorize=*/false);
  return 0;
}
