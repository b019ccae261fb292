//===- linear-bench.cpp - Low-bit linear layers against float and memory --===//
//
// JIT-compiles y = x W^T as lowbit.linear in several weight formats through
// the default lowbit-to-llvm pipeline, on the shapes of SmolLM2-135M and of a
// 7B Llama, and times each at several batch sizes beside, from the same run:
// the machine's read bandwidth and FMA peak (probes), and LowBit's own f32
// kernel on the same shape. The weights are function arguments, not
// constants, so every call reads them from memory (or from the cache when
// they fit: the table says which).
//
//   lowbit-bench-linear [--batch 1,4,16,128] [--shapes smollm2,llama7b]
//                       [--formats f32,i8,w8a8,i4g64,i4g128] [--min-time 0.3]
//                       [--swiglu]
//
// w8a8 is int8 weights with the input quantized per token inside the kernel
// function, as the W8A8 recipes leave a layer: on CPUs with AVX-512 VNNI it
// runs in int8 and its %peak is of the VNNI probe's int8 peak.
//
// --swiglu also times each low-bit format's gate/up pair as a SwiGLU: two
// layers and the elementwise SiLU product (fuse=false) against the one gated
// layer that lowbit-fuse-gated-linear makes of them.
//
//===----------------------------------------------------------------------===//

#include "PeakProbes.h"

#include "lowbit/InitAll.h"
#include "lowbit/Pipelines/Pipelines.h"
#include "lowbit/Runner/JitModule.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sys/mman.h>
#include <thread>

using namespace mlir;
using namespace mlir::lowbit;

namespace cl = llvm::cl;

static cl::list<int64_t>
    batches("batch", cl::desc("Input rows to run (default 1,4,16,128)"),
            cl::CommaSeparated);
static cl::list<std::string>
    shapeSets("shapes", cl::desc("Shape sets: smollm2, llama7b (default both)"),
              cl::CommaSeparated);
static cl::list<std::string> formatNames(
    "formats",
    cl::desc("Weight formats: f32, i8 (per channel), w8a8 (i8 weights, "
             "int8 per-token activations), i4gG, u4gG (zero "
             "points), i2gG, u2gG, nf4gG, fp4gG (E2M1), each with +il for "
             "codes interleaved in the kernel's blocks (default "
             "f32,i8,i4g64,i4g128)"),
    cl::CommaSeparated);
static cl::opt<double> minTime("min-time",
                               cl::desc("Seconds to repeat each kernel for"),
                               cl::init(0.3));
static cl::opt<double> coldMiB(
    "cold-mib",
    cl::desc("Rotate over copies of the weights that together take this many "
             "MiB, so that every call reads them from memory rather than the "
             "cache (0: one copy, warm)"),
    cl::init(1024));
static cl::opt<bool> hugePages(
    "huge-pages",
    cl::desc("Ask for transparent huge pages for the weights (as the runtime "
             "does)"),
    cl::init(true));
static cl::opt<bool> swiglu(
    "swiglu",
    cl::desc("Also time the ffn_gate/up pair as a SwiGLU, unfused (two "
             "layers and the SiLU product) and fused (one gated layer)"),
    cl::init(false));
static cl::opt<unsigned>
    threadCount("probe-threads", cl::desc("Threads of the probes (default: all cores)"),
                cl::init(0));

namespace {
using Clock = std::chrono::steady_clock;

struct Shape {
  const char *set, *name;
  int64_t n, k;
};
constexpr Shape kShapes[] = {
    {"smollm2", "attn_q/o", 576, 576},   {"smollm2", "ffn_gate/up", 1536, 576},
    {"smollm2", "ffn_down", 576, 1536},  {"smollm2", "output", 49152, 576},
    {"llama7b", "attn_q/o", 4096, 4096}, {"llama7b", "ffn_gate/up", 11008, 4096},
    {"llama7b", "ffn_down", 4096, 11008}};

/// A weight format: its element format (the scheme's spelling without the
/// width: i, ui, nf, f), bits per code, its group (0: per channel), whether
/// it has zero points, and the block of interleaved packing (0:
/// sequential).
struct Format {
  std::string name;
  unsigned bits; // 32 for the float kernel
  int64_t group;
  bool zeroPoints;
  std::string element = "i";
  int64_t interleaveBlock = 0;
  /// The input quantized to int8 per token before the layer (W8A8).
  bool int8Input = false;

  int64_t groups(int64_t k) const { return group ? k / group : 1; }
  /// Bytes of weights, scales (f16) and zero points (f32) an N x K layer reads.
  double weightBytes(int64_t n, int64_t k) const {
    if (bits == 32)
      return 4.0 * n * k;
    return double(n) * k * bits / 8 + 2.0 * n * groups(k) +
           (zeroPoints ? 4.0 * n * groups(k) : 0);
  }
  /// The scheme's element format, e.g. i4, ui2, nf4, f4E2M1FN.
  std::string getElement() const {
    if (element == "f")
      return "f4E2M1FN";
    return element + std::to_string(bits);
  }
};

/// f32, i8, then i4gG, u4gG (zero points), i2gG, u2gG, nf4gG, fp4gG, each
/// with an optional `+il`: the codes interleaved in blocks of the kernel's
/// step (64 codes, or 32 where 64 does not divide the group), as
/// lowbit-pack-weights lays out constant weights.
std::optional<Format> parseFormat(llvm::StringRef name) {
  if (name == "f32")
    return Format{name.str(), 32, 0, false};
  if (name == "i8")
    return Format{name.str(), 8, 0, false};
  if (name == "w8a8") {
    Format format{name.str(), 8, 0, false};
    format.int8Input = true;
    return format;
  }
  std::string full = name.str();
  bool interleaved = name.consume_back("+il");
  struct Prefix {
    const char *spelling, *element;
    unsigned bits;
    bool zeroPoints;
  };
  for (Prefix prefix : {Prefix{"i4g", "i", 4, false}, {"u4g", "ui", 4, true},
                        {"i2g", "i", 2, false}, {"u2g", "ui", 2, true},
                        {"nf4g", "nf", 4, false}, {"fp4g", "f", 4, false}}) {
    llvm::StringRef rest = name;
    int64_t group;
    if (!rest.consume_front(prefix.spelling) || rest.getAsInteger(10, group) ||
        group < 32 || group % 32)
      continue;
    Format format{full, prefix.bits, group, prefix.zeroPoints, prefix.element};
    if (interleaved)
      format.interleaveBlock = group % 64 == 0 ? 64 : 32;
    return format;
  }
  return std::nullopt;
}

/// How the low-bit kernels use their weights: one layer; a SwiGLU of two
/// layers and the SiLU product; the same as one gated layer.
enum class LowBitLayout { single, swiglu, gated };

/// The weight operands of one low-bit layer of `rows` rows: codes, scales
/// and (when the format has them) zero points, as function arguments
/// (`suffix` names them) turned into tensors.
struct LayerText {
  std::string arguments, tensors, operands, types;
};
LayerText lowBitLayer(const Format &format, int64_t rows, int64_t k,
                      llvm::StringRef suffix) {
  int64_t packed = k * format.bits / 8, groups = format.groups(k);
  LayerText text;
  auto add = [&](llvm::StringRef name, llvm::StringRef element,
                 int64_t columns) {
    std::string memref =
        llvm::formatv("memref<{0}x{1}x{2}>", rows, columns, element).str();
    std::string tensor =
        llvm::formatv("tensor<{0}x{1}x{2}>", rows, columns, element).str();
    text.arguments += llvm::formatv(", %{0}{1}: {2}", name, suffix, memref);
    text.tensors += llvm::formatv(
        "  %t{0}{1} = bufferization.to_tensor %{0}{1} restrict : {2} to {3}\n",
        name, suffix, memref, tensor);
    text.types += ", " + tensor;
  };
  add("w", "i8", packed);
  add("s", "f16", groups);
  text.operands = llvm::formatv("%tw{0} scales(%ts{0})", suffix).str();
  if (format.zeroPoints) {
    add("z", "f32", groups);
    text.operands += llvm::formatv(" zero_points(%tz{0})", suffix).str();
  }
  return text;
}

/// A low-bit kernel y = x W^T, or a SwiGLU (unfused or gated), on
/// caller-owned memrefs in destination-passing style; the weights come as
/// in lowBitLayer, the gate's before the up's.
std::string buildLowBitKernel(const Format &format, int64_t m, int64_t n,
                              int64_t k, LowBitLayout layout) {
  std::string granularity =
      format.group ? llvm::formatv("per_group<{0}>", format.group).str()
                   : "per_channel";
  std::string scheme =
      llvm::formatv("scheme<{0}, {1}{2}, scale = f16>", format.getElement(),
                    granularity, format.zeroPoints ? ", zero_point" : "")
          .str();
  if (format.interleaveBlock)
    scheme += llvm::formatv(" packing<interleaved, block = {0}>",
                            format.interleaveBlock)
                  .str();
  std::string input = llvm::formatv("tensor<{0}x{1}xf32>", m, k).str();
  std::string output = llvm::formatv("tensor<{0}x{1}xf32>", m, n).str();
  std::string arguments, body;
  // W8A8: the per-token quantizer and the dequantized input, as
  // lowbit-quantize-activations leaves them.
  if (format.int8Input)
    body += llvm::formatv(
        "  %q, %qs = lowbit.quantize_dynamic %tx scheme<i8, per_channel>\n"
        "      : {0} -> (tensor<{1}x{2}xi8>, tensor<{1}x1xf32>)\n"
        "  %tx8 = lowbit.dequantize %q scales(%qs) scheme<i8, per_channel>\n"
        "      : (tensor<{1}x{2}xi8>, tensor<{1}x1xf32>) -> {0}\n",
        input, m, k);
  llvm::StringRef x = format.int8Input ? "%tx8" : "%tx";
  auto linear = [&](llvm::StringRef result, const LayerText &layer,
                    llvm::StringRef extra) {
    arguments += layer.arguments;
    body += layer.tensors;
    body += llvm::formatv("  %{0} = lowbit.linear {7}, {1} {2}{3}\n"
                          "      : ({4}{5}) -> {6}\n",
                          result, layer.operands, scheme, extra, input,
                          layer.types, output, x);
  };
  switch (layout) {
  case LowBitLayout::single:
    linear("r", lowBitLayer(format, n, k, ""), "");
    break;
  case LowBitLayout::gated:
    linear("r", lowBitLayer(format, 2 * n, k, ""), " gated<silu>");
    break;
  case LowBitLayout::swiglu:
    linear("g", lowBitLayer(format, n, k, "g"), "");
    linear("u", lowBitLayer(format, n, k, "u"), "");
    body += llvm::formatv(R"mlir(  %e = tensor.empty() : {0}
  %r = linalg.generic {{indexing_maps = [affine_map<(m, n) -> (m, n)>,
                                        affine_map<(m, n) -> (m, n)>,
                                        affine_map<(m, n) -> (m, n)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : {0}, {0}) outs(%e : {0}) {{
  ^bb0(%a: f32, %b: f32, %out: f32):
    %minus = arith.negf %a : f32
    %exp = math.exp %minus : f32
    %one = arith.constant 1.0 : f32
    %den = arith.addf %one, %exp : f32
    %silu = arith.divf %a, %den : f32
    %p = arith.mulf %silu, %b : f32
    linalg.yield %p : f32
  } -> {0}
)mlir",
                          output)
                .str();
    break;
  }
  return llvm::formatv(R"mlir(
func.func @kernel(%x: memref<{0}x{1}xf32>{2}, %y: memref<{0}x{3}xf32>) {
  %tx = bufferization.to_tensor %x restrict : memref<{0}x{1}xf32> to {4}
{5}  bufferization.materialize_in_destination %r in restrict writable %y
      : ({6}, memref<{0}x{3}xf32>) -> ()
  return
}
)mlir",
                       m, k, arguments, n, input, body, output)
      .str();
}

/// y = x W^T on caller-owned memrefs, in destination-passing style.
std::string buildKernel(const Format &format, int64_t m, int64_t n,
                        int64_t k) {
  if (format.bits == 32)
    return llvm::formatv(R"mlir(
func.func @kernel(%x: memref<{0}x{2}xf32>, %w: memref<{1}x{2}xf32>,
                  %y: memref<{0}x{1}xf32>) {
  %tx = bufferization.to_tensor %x restrict : memref<{0}x{2}xf32> to tensor<{0}x{2}xf32>
  %tw = bufferization.to_tensor %w restrict : memref<{1}x{2}xf32> to tensor<{1}x{2}xf32>
  %ty = bufferization.to_tensor %y restrict writable : memref<{0}x{1}xf32> to tensor<{0}x{1}xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%ty : tensor<{0}x{1}xf32>) -> tensor<{0}x{1}xf32>
  %r = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%tx, %tw : tensor<{0}x{2}xf32>, tensor<{1}x{2}xf32>)
      outs(%init : tensor<{0}x{1}xf32>) -> tensor<{0}x{1}xf32>
  bufferization.materialize_in_destination %r in restrict writable %y
      : (tensor<{0}x{1}xf32>, memref<{0}x{1}xf32>) -> ()
  return
}
)mlir",
                         m, n, k)
        .str();
  return buildLowBitKernel(format, m, n, k, LowBitLayout::single);
}

/// A rank-2 memref descriptor as the C interface takes it.
struct Descriptor2D {
  void *allocated, *aligned;
  int64_t offset, sizes[2], strides[2];
};

/// Bytes on 64-byte boundaries (2 MiB ones, in transparent huge pages
/// where the kernel gives them, for large buffers), freed on scope exit.
struct Buffer {
  explicit Buffer(size_t bytes) {
    size_t alignment = bytes >= (size_t(1) << 21) ? size_t(1) << 21 : 64;
    size_t rounded = (bytes + alignment - 1) / alignment * alignment;
    data = std::aligned_alloc(alignment, rounded);
    if (hugePages && alignment > 64)
      madvise(data, rounded, MADV_HUGEPAGE);
  }
  ~Buffer() { std::free(data); }
  Buffer(const Buffer &) = delete;
  Buffer &operator=(const Buffer &) = delete;
  void *data;
};

struct Operand {
  std::unique_ptr<Buffer> buffer;
  Descriptor2D descriptor;
  size_t bytes;
};

Operand makeOperand(int64_t rows, int64_t columns, size_t elementBytes) {
  Operand operand;
  operand.bytes = rows * columns * elementBytes;
  operand.buffer = std::make_unique<Buffer>(operand.bytes);
  operand.descriptor = {operand.buffer->data, operand.buffer->data, 0,
                        {rows, columns}, {columns, 1}};
  return operand;
}

/// Fills the operands with random, never all-zero data: normal floats,
/// random codes, f16 scales in [0.005, 0.02), zero points in [4, 12).
void fill(Operand &operand, unsigned kind, std::mt19937 &rng) {
  int64_t count = operand.descriptor.sizes[0] * operand.descriptor.sizes[1];
  std::normal_distribution<float> normal;
  std::uniform_real_distribution<float> uniform(0, 1);
  switch (kind) {
  case 0: { // f32 normal
    auto *data = static_cast<float *>(operand.buffer->data);
    for (int64_t i = 0; i < count; ++i)
      data[i] = normal(rng);
    break;
  }
  case 1: { // i8 codes
    auto *data = static_cast<uint8_t *>(operand.buffer->data);
    for (int64_t i = 0; i < count; ++i)
      data[i] = uint8_t(rng());
    break;
  }
  case 2: { // f16 scales: 0.005 .. 0.02 as IEEE half bits
    auto *data = static_cast<uint16_t *>(operand.buffer->data);
    for (int64_t i = 0; i < count; ++i) {
      float value = 0.005f + 0.015f * uniform(rng);
      uint32_t bits;
      std::memcpy(&bits, &value, 4);
      int exponent = int((bits >> 23) & 0xff) - 127 + 15;
      data[i] = uint16_t((exponent << 10) | ((bits >> 13) & 0x3ff));
    }
    break;
  }
  case 3: { // f32 zero points
    auto *data = static_cast<float *>(operand.buffer->data);
    for (int64_t i = 0; i < count; ++i)
      data[i] = float(4 + rng() % 8);
    break;
  }
  }
}

struct Result {
  double seconds = 0, compileSeconds = 0;
  int64_t copies = 1;
};

/// The weight operands of a kernel in `format`: for each of `layers` layers
/// of `rows` rows, codes, scales and zero points (or one f32 matrix).
std::vector<Operand> makeWeights(const Format &format, int64_t layers,
                                 int64_t rows, int64_t k, std::mt19937 &rng) {
  std::vector<Operand> weights;
  for (int64_t layer = 0; layer < layers; ++layer) {
    if (format.bits == 32) {
      weights.push_back(makeOperand(rows, k, 4));
      fill(weights.back(), 0, rng);
      continue;
    }
    weights.push_back(makeOperand(rows, k * format.bits / 8, 1));
    fill(weights.back(), 1, rng);
    weights.push_back(makeOperand(rows, format.groups(k), 2));
    fill(weights.back(), 2, rng);
    if (format.zeroPoints) {
      weights.push_back(makeOperand(rows, format.groups(k), 4));
      fill(weights.back(), 3, rng);
    }
  }
  return weights;
}

/// Compiles `kernel` (x [m, k], the weights, y [m, n]) through
/// lowbit-to-llvm and times it.
llvm::Expected<Result> timeKernel(MLIRContext &context,
                                  const std::string &kernel, int64_t m,
                                  int64_t n, int64_t k,
                                  std::vector<Operand> weights, bool fuse,
                                  std::mt19937 &rng) {
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(kernel, &context);
  if (!module)
    return llvm::createStringError("the benchmark IR does not parse");
  auto compileStart = Clock::now();
  PassManager pm(&context);
  LowerToLLVMOptions lowering;
  lowering.fuse = fuse;
  buildLowerToLLVMPipeline(pm, lowering);
  if (failed(pm.run(*module)))
    return llvm::createStringError("lowering failed");
  auto jit = JitModule::create(*module);
  if (!jit)
    return jit.takeError();
  Result result;
  result.compileSeconds =
      std::chrono::duration<double>(Clock::now() - compileStart).count();

  // The input and output once; the weight operands in as many copies as
  // fill --cold-mib, the first random and the others copies of it.
  std::vector<Operand> operands;
  operands.push_back(makeOperand(m, k, 4));
  fill(operands.back(), 0, rng);
  size_t perCopy = 0;
  for (const Operand &weight : weights)
    perCopy += weight.bytes;
  int64_t copies = std::max<int64_t>(
      1, int64_t(coldMiB * (1 << 20) / double(perCopy)));
  std::vector<std::vector<Operand>> sets(copies);
  sets[0] = std::move(weights);
  for (int64_t copy = 1; copy < copies; ++copy)
    for (const Operand &weight : sets[0]) {
      sets[copy].push_back(makeOperand(weight.descriptor.sizes[0],
                                       weight.descriptor.sizes[1],
                                       weight.bytes /
                                           (weight.descriptor.sizes[0] *
                                            weight.descriptor.sizes[1])));
      std::memcpy(sets[copy].back().buffer->data, weight.buffer->data,
                  weight.bytes);
    }
  Operand output = makeOperand(m, n, 4);

  auto call = [&](int64_t copy) -> llvm::Error {
    std::vector<void *> pointers;
    pointers.push_back(&operands[0].descriptor);
    for (Operand &weight : sets[copy])
      pointers.push_back(&weight.descriptor);
    pointers.push_back(&output.descriptor);
    std::vector<void *> packed;
    for (void *&pointer : pointers)
      packed.push_back(&pointer);
    return (*jit)->invokePacked("kernel", packed);
  };
  // Each copy once to warm page tables; then whole rotations, timed
  // together (cold: the mean; warm, one copy: the best call).
  for (int64_t copy = 0; copy < copies; ++copy)
    if (llvm::Error error = call(copy))
      return std::move(error);
  double best = 1e30, total = 0;
  int64_t calls = 0;
  while (calls < 3 * copies || total < minTime) {
    auto start = Clock::now();
    for (int64_t copy = 0; copy < copies; ++copy)
      if (llvm::Error error = call(copy))
        return std::move(error);
    double elapsed =
        std::chrono::duration<double>(Clock::now() - start).count();
    best = std::min(best, elapsed / copies);
    total += elapsed;
    calls += copies;
  }
  result.copies = copies;
  if (copies > 1)
    best = total / calls;
  result.seconds = best;
  return result;
}
} // namespace

int main(int argc, char **argv) {
  cl::ParseCommandLineOptions(argc, argv, "LowBit low-bit linear benchmark\n");
  unsigned threads = threadCount ? threadCount
                                 : std::max(1u, std::thread::hardware_concurrency());
  SmallVector<int64_t> rows(batches.begin(), batches.end());
  if (rows.empty())
    rows = {1, 4, 16, 128};
  SmallVector<std::string> sets(shapeSets.begin(), shapeSets.end());
  if (sets.empty())
    sets = {"smollm2", "llama7b"};
  SmallVector<std::string> names(formatNames.begin(), formatNames.end());
  if (names.empty())
    names = {"f32", "i8", "i4g64", "i4g128"};
  SmallVector<Format> formats;
  for (const std::string &name : names) {
    std::optional<Format> format = parseFormat(name);
    if (!format) {
      llvm::errs() << "error: unknown format '" << name
                   << "' (f32, i8, w8a8, i4gG, u4gG, i2gG, u2gG, nf4gG, "
                      "fp4gG, +il)\n";
      return 1;
    }
    formats.push_back(*format);
  }
  for (const std::string &set : sets)
    if (set != "smollm2" && set != "llama7b") {
      llvm::errs() << "error: unknown shape set '" << set
                   << "' (smollm2, llama7b)\n";
      return 1;
    }

  llvm::outs() << "probing the machine (" << threads << " threads)...\n";
  llvm::outs().flush();
  double fmaPeak = ::lowbit::bench::measureFmaPeakGflops(threads);
  double vnniPeak = 0;
  if (llvm::any_of(formats, [](const Format &f) { return f.int8Input; }))
    vnniPeak = ::lowbit::bench::measureVnniPeakGops(threads);
  double readPeak =
      ::lowbit::bench::measureReadBandwidthGBs(threads, size_t(1) << 30);
  llvm::outs() << llvm::format("FMA peak (%u threads): %.1f GFLOP/s\n", threads,
                               fmaPeak);
  if (vnniPeak > 0)
    llvm::outs() << llvm::format("VNNI int8 peak (%u threads): %.1f GOP/s "
                                 "(w8a8's %%peak)\n",
                                 threads, vnniPeak);
  llvm::outs() << llvm::format("read bandwidth (sum of 1 GiB, %u threads): "
                               "%.1f GB/s\n\n",
                               threads, readPeak);

  DialectRegistry registry;
  registerLowBitDialects(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  std::mt19937 rng(7);

  llvm::outs() << llvm::format(
      "%-8s %-12s %6s %6s %4s %-9s | %9s %8s %6s %7s %6s | %7s\n", "model",
      "layer", "N", "K", "M", "format", "us", "GFLOP/s", "%peak", "GB/s",
      "%bw", "vs f32");
  double compileSeconds = 0;
  for (const Shape &shape : kShapes) {
    if (!llvm::is_contained(sets, shape.set))
      continue;
    for (int64_t m : rows) {
      double floatSeconds = 0;
      for (const Format &format : formats) {
        if (format.group && shape.k % format.group != 0)
          continue;
        auto result = timeKernel(
            context, buildKernel(format, m, shape.n, shape.k), m, shape.n,
            shape.k, makeWeights(format, 1, shape.n, shape.k, rng),
            /*fuse=*/true, rng);
        if (!result) {
          llvm::errs() << "error: " << shape.name << " " << format.name
                       << " M=" << m << ": "
                       << llvm::toString(result.takeError()) << "\n";
          return 1;
        }
        compileSeconds += result->compileSeconds;
        double seconds = result->seconds;
        if (format.bits == 32)
          floatSeconds = seconds;
        double flop = 2.0 * m * shape.n * shape.k;
        double bytes = format.weightBytes(shape.n, shape.k) +
                       4.0 * m * (shape.n + shape.k);
        double gbs = bytes / seconds * 1e-9, gflops = flop / seconds * 1e-9;
        llvm::outs() << llvm::format(
            "%-8s %-12s %6lld %6lld %4lld %-9s | %9.1f %8.1f %5.0f%% %7.1f "
            "%5.0f%% | ",
            shape.set, shape.name, (long long)shape.n, (long long)shape.k,
            (long long)m, format.name.c_str(), seconds * 1e6, gflops,
            100 * gflops /
                (format.int8Input && vnniPeak > 0 ? vnniPeak : fmaPeak),
            gbs, 100 * gbs / readPeak);
        if (floatSeconds > 0)
          llvm::outs() << llvm::format("%6.2fx\n", floatSeconds / seconds);
        else
          llvm::outs() << llvm::format("%7s\n", "-");
        llvm::outs().flush();
      }
    }
  }
  if (swiglu) {
    llvm::outs() << "\nSwiGLU of ffn_gate/up: two layers and the SiLU product "
                    "(unfused) against one gated layer\n"
                 << llvm::format("%-8s %6s %6s %4s %-9s | %11s %9s %8s | "
                                 "%7s %6s\n",
                                 "model", "N", "K", "M", "format",
                                 "unfused us", "gated us", "speed-up",
                                 "GB/s", "%bw");
    for (const Shape &shape : kShapes) {
      if (!llvm::is_contained(sets, shape.set) ||
          llvm::StringRef(shape.name) != "ffn_gate/up")
        continue;
      int64_t n = shape.n, k = shape.k;
      for (int64_t m : rows)
        for (const Format &format : formats) {
          if (format.bits == 32 || (format.group && k % format.group != 0))
            continue;
          auto unfused = timeKernel(
              context, buildLowBitKernel(format, m, n, k, LowBitLayout::swiglu),
              m, n, k, makeWeights(format, 2, n, k, rng), /*fuse=*/false, rng);
          auto gated = timeKernel(
              context, buildLowBitKernel(format, m, n, k, LowBitLayout::gated),
              m, n, k, makeWeights(format, 1, 2 * n, k, rng), /*fuse=*/true,
              rng);
          if (!unfused || !gated) {
            llvm::Error error = unfused ? gated.takeError()
                                        : unfused.takeError();
            llvm::errs() << "error: swiglu " << format.name << " M=" << m
                         << ": " << llvm::toString(std::move(error)) << "\n";
            return 1;
          }
          compileSeconds += unfused->compileSeconds + gated->compileSeconds;
          double bytes = 2 * format.weightBytes(n, k) + 4.0 * m * (k + n);
          double gbs = bytes / gated->seconds * 1e-9;
          llvm::outs() << llvm::format(
              "%-8s %6lld %6lld %4lld %-9s | %11.1f %9.1f %7.2fx | %7.1f "
              "%5.0f%%\n",
              shape.set, (long long)n, (long long)k, (long long)m,
              format.name.c_str(), unfused->seconds * 1e6,
              gated->seconds * 1e6, unfused->seconds / gated->seconds, gbs,
              100 * gbs / readPeak);
          llvm::outs().flush();
        }
    }
  }
  llvm::outs() << llvm::format("\nJIT compile, all kernels: %.1f s\n",
                               compileSeconds)
               << "GB/s: weights, scales, input and output moved once; %bw: "
                  "of the read bandwidth; weights rotated over "
               << llvm::format("%.0f", double(coldMiB))
               << " MiB of copies (mean per call) so that they come from "
                  "memory; vs f32: speed-up over LowBit's f32 kernel.\n";
  return 0;
}
