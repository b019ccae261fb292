//===- matmul-bench.cpp - Linear layers through lowbit-to-llvm ------------===//
//
// JIT-compiles C = A * B^T (a linalg.matmul with transposed-B maps, the form
// of every linear layer) on SmolLM2-135M's shapes through the default
// lowbit-to-llvm pipeline and through its scalar reference path
// (vectorize=false), times both, and sets the results beside this machine's
// FMA peak and memory read bandwidth, measured in the same run.
//
//   lowbit-bench-matmul [--rows 1,16,128,512] [--min-time 0.5]
//                       [--reference-max-gflop 8] [--probe-threads N]
//
//===----------------------------------------------------------------------===//

#include "PeakProbes.h"

#include "lowbit/InitAll.h"
#include "lowbit/Pipelines/Pipelines.h"
#include "lowbit/Runner/JitModule.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>
#include <vector>

using namespace mlir;
using namespace mlir::lowbit;

namespace cl = llvm::cl;

static cl::list<int64_t> rowCounts(
    "rows", cl::desc("Rows of A (tokens) to run (default 1,16,128,512)"),
    cl::CommaSeparated);
static cl::opt<double>
    minTime("min-time",
            cl::desc("Seconds to repeat each kernel for (at least 3 calls)"),
            cl::init(0.5));
static cl::opt<double> referenceMaxGflop(
    "reference-max-gflop",
    cl::desc("Skip the scalar reference on shapes above this many GFLOP"),
    cl::init(8.0));
static cl::opt<unsigned>
    threadCount("probe-threads",
                cl::desc("Threads of the probes (default: all cores)"),
                cl::init(0));

namespace {
using Clock = std::chrono::steady_clock;

/// SmolLM2-135M's linear layers: N x K of q/o (576x576), gate/up
/// (1536x576), down (576x1536) and the tied output head (49152x576).
struct LayerShape {
  const char *name;
  int64_t n, k;
};
constexpr LayerShape kLayers[] = {{"attn_q/o", 576, 576},
                                  {"ffn_gate/up", 1536, 576},
                                  {"ffn_down", 576, 1536},
                                  {"output", 49152, 576}};

/// A rank-2 memref descriptor as the C interface takes it.
struct Descriptor2D {
  float *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
};

Descriptor2D describe(float *data, int64_t rows, int64_t columns) {
  return {data, data, 0, {rows, columns}, {columns, 1}};
}

/// A buffer of floats on 64-byte boundaries, freed on scope exit.
struct Buffer {
  explicit Buffer(size_t count)
      : data(static_cast<float *>(
            std::aligned_alloc(64, ((count * 4 + 63) / 64) * 64))) {}
  ~Buffer() { std::free(data); }
  float *data;
};

/// C = A * B^T into a caller-owned C, in destination-passing style.
std::string buildMatmul(int64_t m, int64_t n, int64_t k) {
  return llvm::formatv(R"mlir(
func.func @mm(%a: memref<{0}x{2}xf32>, %b: memref<{1}x{2}xf32>,
              %c: memref<{0}x{1}xf32>) {
  %ta = bufferization.to_tensor %a restrict : memref<{0}x{2}xf32> to tensor<{0}x{2}xf32>
  %tb = bufferization.to_tensor %b restrict : memref<{1}x{2}xf32> to tensor<{1}x{2}xf32>
  %tc = bufferization.to_tensor %c restrict writable : memref<{0}x{1}xf32> to tensor<{0}x{1}xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%tc : tensor<{0}x{1}xf32>) -> tensor<{0}x{1}xf32>
  %r = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%ta, %tb : tensor<{0}x{2}xf32>, tensor<{1}x{2}xf32>)
      outs(%init : tensor<{0}x{1}xf32>) -> tensor<{0}x{1}xf32>
  bufferization.materialize_in_destination %r in restrict writable %c
      : (tensor<{0}x{1}xf32>, memref<{0}x{1}xf32>) -> ()
  return
}
)mlir",
                       m, n, k)
      .str();
}

struct Timing {
  double compileSeconds = 0, callSeconds = 0;
  bool ran = false;
};

/// Compiles the kernel with `options` and times calls on A, B, C.
llvm::Expected<Timing> timeKernel(MLIRContext &context, int64_t m, int64_t n,
                                  int64_t k, const LowerToLLVMOptions &options,
                                  float *a, float *b, float *c,
                                  double seconds, int minCalls) {
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(buildMatmul(m, n, k), &context);
  if (!module)
    return llvm::createStringError("the benchmark IR does not parse");
  Timing timing;
  auto compileStart = Clock::now();
  PassManager pm(&context);
  buildLowerToLLVMPipeline(pm, options);
  if (failed(pm.run(*module)))
    return llvm::createStringError("lowering failed");
  auto jit = JitModule::create(*module);
  if (!jit)
    return jit.takeError();
  timing.compileSeconds =
      std::chrono::duration<double>(Clock::now() - compileStart).count();

  Descriptor2D da = describe(a, m, k), db = describe(b, n, k),
               dc = describe(c, m, n);
  void *pa = &da, *pb = &db, *pc = &dc;
  void *packed[] = {&pa, &pb, &pc};
  // One call to warm caches and page tables, then the best of the rest.
  if (llvm::Error error = (*jit)->invokePacked("mm", packed))
    return std::move(error);
  double best = 1e30, total = 0;
  for (int call = 0; call < minCalls || total < seconds; ++call) {
    auto start = Clock::now();
    if (llvm::Error error = (*jit)->invokePacked("mm", packed))
      return std::move(error);
    double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    best = std::min(best, elapsed);
    total += elapsed;
  }
  timing.callSeconds = best;
  timing.ran = true;
  return timing;
}
} // namespace

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(argc, argv, "LowBit matmul benchmark\n");
  unsigned threads =
      threadCount ? threadCount : std::max(1u, std::thread::hardware_concurrency());
  SmallVector<int64_t> rows(rowCounts.begin(), rowCounts.end());
  if (rows.empty())
    rows = {1, 16, 128, 512};

  llvm::outs() << "probing the machine (" << threads << " threads)...\n";
  llvm::outs().flush();
  double fmaPeak = ::lowbit::bench::measureFmaPeakGflops(threads);
  double readPeak = ::lowbit::bench::measureReadBandwidthGBs(
      threads, size_t(1) << 30);
  llvm::outs() << llvm::format("FMA peak (AVX2, %u threads): %.1f GFLOP/s\n",
                               threads, fmaPeak)
               << llvm::format("read bandwidth (sum of 1 GiB, %u threads): "
                               "%.1f GB/s\n\n",
                               threads, readPeak);

  DialectRegistry registry;
  registerLowBitDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();

  LowerToLLVMOptions fast;
  LowerToLLVMOptions scalar;
  scalar.vectorize = false;

  llvm::outs() << llvm::format(
      "%-12s %5s %6s %5s | %9s %8s %6s %7s %6s | %8s %8s | %7s\n", "layer",
      "M", "N", "K", "ms", "GFLOP/s", "%peak", "GB/s", "%bw", "ref ms",
      "GFLOP/s", "speedup");
  std::mt19937 rng(42);
  std::normal_distribution<float> normal;
  double compileFast = 0, compileScalar = 0;
  for (const LayerShape &layer : kLayers) {
    for (int64_t m : rows) {
      int64_t n = layer.n, k = layer.k;
      Buffer a(m * k), b(n * k), c(m * n);
      for (int64_t i = 0; i < m * k; ++i)
        a.data[i] = normal(rng);
      for (int64_t i = 0; i < n * k; ++i)
        b.data[i] = normal(rng);
      double flop = 2.0 * m * n * k;
      double bytes = 4.0 * (m * k + n * k + m * n);

      auto fastTiming = timeKernel(context, m, n, k, fast, a.data, b.data,
                                   c.data, minTime, 3);
      if (!fastTiming) {
        llvm::errs() << "error: " << llvm::toString(fastTiming.takeError())
                     << "\n";
        return 1;
      }
      compileFast += fastTiming->compileSeconds;
      Timing scalarTiming;
      if (flop * 1e-9 <= referenceMaxGflop) {
        auto timed = timeKernel(context, m, n, k, scalar, a.data, b.data,
                                c.data, 0.0, 1);
        if (!timed) {
          llvm::errs() << "error: " << llvm::toString(timed.takeError())
                       << "\n";
          return 1;
        }
        scalarTiming = *timed;
        compileScalar += scalarTiming.compileSeconds;
      }

      double seconds = fastTiming->callSeconds;
      double gflops = flop / seconds * 1e-9, gbs = bytes / seconds * 1e-9;
      llvm::outs() << llvm::format(
          "%-12s %5lld %6lld %5lld | %9.3f %8.1f %5.0f%% %7.1f %5.0f%% | ",
          layer.name, (long long)m, (long long)n, (long long)k,
          seconds * 1e3, gflops, 100 * gflops / fmaPeak, gbs,
          100 * gbs / readPeak);
      if (scalarTiming.ran)
        llvm::outs() << llvm::format(
            "%8.1f %8.2f | %6.1fx\n", scalarTiming.callSeconds * 1e3,
            flop / scalarTiming.callSeconds * 1e-9,
            scalarTiming.callSeconds / seconds);
      else
        llvm::outs() << llvm::format("%8s %8s | %7s\n", "-", "-", "-");
      llvm::outs().flush();
    }
  }
  llvm::outs() << llvm::format(
      "\nJIT compile (lowering + LLVM), all shapes: %.2f s vectorized, "
      "%.2f s scalar\n",
      compileFast, compileScalar);
  llvm::outs() << "%peak: of the FMA peak; %bw: A, B and C moved once, of "
                  "the read bandwidth; best of repeated calls\n";
  return 0;
}
