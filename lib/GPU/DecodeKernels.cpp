//===- DecodeKernels.cpp - The kernels of a decoder's decode step --------===//
//
// Each kernel is gpu-dialect text with the model's extents substituted for
// `${NAME}` placeholders, parsed with the matmul kernels by buildKernels.
// See DecodeKernels.h for the sequence they run in. Exponentials and square
// roots are single PTX instructions (ex2.approx.f32, sqrt.rn.f32) in inline
// assembly: math ops and LLVM's intrinsics would lower to libdevice calls,
// which need the toolkit's bitcode at compile time.
//
//===----------------------------------------------------------------------===//

#include "lowbit/GPU/DecodeKernels.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FormatVariadic.h"

#include <algorithm>
#include <cmath>

using namespace mlir::lowbit::gpu;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

namespace {
/// A linear layer of the step: its role, rows and input channels, and
/// whether its weights are W4A16 (else float16).
struct Linear {
  const char *role;
  int64_t n, k;
  bool w4;
};
} // namespace

static std::vector<Linear> linears(const DecodeShape &s) {
  bool w4 = s.group > 0;
  return {{"qkv", s.getQkvDim(), s.dim, w4},
          {"attn_out", s.dim, s.dim, w4},
          {"gate_up", 2 * s.hidden, s.dim, w4},
          {"ffn_down", s.dim, s.hidden, w4},
          {"head", s.vocab, s.dim, w4 && !s.headF16}};
}

/// Threads of the attention kernel's block (one block a head; its warps
/// split the positions) and the rows each lane has in flight.
constexpr int64_t kAttentionThreads = 512;
constexpr int64_t kAttentionUnroll = 4;
/// The largest head dim: 32 lanes of 4 channels.
constexpr int64_t kMaxHeadDim = 128;
constexpr int64_t kElementwiseThreads = 256;
/// Shared memory the attention kernel may spend on one f32 score a position.
constexpr int64_t kMaxContext = 8192;

/// Each thread of the norm's block holds `perThread` consecutive channels
/// in registers: the fewest (1, 2, 4 or 8) that take the width in at most
/// 1024 threads, a whole number of warps. 0 when there is none.
static int64_t normChannelsPerThread(int64_t dim) {
  for (int64_t per : {1, 2, 4, 8})
    if (dim % per == 0 && dim / per <= 1024 && (dim / per) % 32 == 0)
      return per;
  return 0;
}

llvm::Error mlir::lowbit::gpu::verifyDecodeShape(const DecodeShape &s) {
  for (auto [value, name] :
       {std::pair{s.dim, "dim"}, std::pair{s.hidden, "hidden"},
        std::pair{s.numHeads, "heads"}, std::pair{s.numKvHeads, "kv heads"},
        std::pair{s.headDim, "head dim"}, std::pair{s.vocab, "vocab"},
        std::pair{s.context, "context"}})
    if (value < 1)
      return makeError(llvm::Twine("the decoder's ") + name + " is " +
                       llvm::Twine(value) + "; it must be positive");
  if (s.numHeads * s.headDim != s.dim)
    return makeError(llvm::formatv("{0} heads of {1} channels do not make the "
                                   "model width {2}",
                                   s.numHeads, s.headDim, s.dim));
  if (s.numHeads % s.numKvHeads)
    return makeError(llvm::formatv("{0} query heads do not share {1} KV heads "
                                   "evenly",
                                   s.numHeads, s.numKvHeads));
  if (s.headDim < 8 || s.headDim > kMaxHeadDim || (s.headDim & (s.headDim - 1)))
    return makeError(llvm::formatv("head dim {0}: the attention kernel takes "
                                   "8, 16, 32, 64 or 128",
                                   s.headDim));
  if (!normChannelsPerThread(s.dim))
    return makeError(llvm::formatv("model width {0}: the norm kernel takes "
                                   "widths of 32 to 8192 that 1, 2, 4 or 8 "
                                   "channels a thread split into whole warps",
                                   s.dim));
  if (s.context > kMaxContext)
    return makeError(llvm::formatv("context {0}: the attention kernel keeps a "
                                   "score a position in shared memory, at "
                                   "most {1}",
                                   s.context, kMaxContext));
  for (const Linear &linear : linears(s)) {
    auto where = [&] {
      return llvm::formatv("the {0} layer ({1} x {2})", linear.role, linear.n,
                           linear.k)
          .str();
    };
    if (linear.w4) {
      MmaShape mma = chooseMmaShape(1, linear.n, linear.k, s.group);
      if (llvm::Error error = verifyMmaShape(mma))
        return makeError(where() + ": " + llvm::toString(std::move(error)));
    } else if (linear.n % 16 || linear.k % 8) {
      return makeError(where() + ": the f16 GEMV needs rows in multiples of "
                                 "16 and input channels in multiples of 8");
    }
  }
  return llvm::Error::success();
}

static std::string denseGemvName(const DenseGemvShape &shape) {
  return llvm::formatv("lb_gemv_f16_n{0}_k{1}_r{2}", shape.n, shape.k,
                       shape.rowsPerWarp);
}

/// Rows a warp: four while that still leaves two blocks an SM of an H100
/// class GPU (more loads in flight a lane), then two, then one.
static DenseGemvShape chooseDenseGemv(int64_t n, int64_t k) {
  DenseGemvShape shape{n, k, 1};
  const int64_t warps = kDenseGemvThreads / 32;
  for (int64_t rows : {4, 2})
    if (n % (warps * rows) == 0 && n / (warps * rows) >= 264) {
      shape.rowsPerWarp = rows;
      return shape;
    }
  shape.rowsPerWarp = n % (2 * warps) == 0 ? 2 : 1;
  return shape;
}

static int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

DecodePlan mlir::lowbit::gpu::planDecode(const DecodeShape &s) {
  DecodePlan plan;
  auto elementwise = [](const char *name, int64_t threads) {
    return DecodeLaunch{name, ceilDiv(threads, kElementwiseThreads),
                        kElementwiseThreads};
  };
  plan.embed = elementwise("lb_embed", s.dim);
  const int64_t normThreads = s.dim / normChannelsPerThread(s.dim);
  plan.norm = {"lb_rmsnorm", 1, normThreads};
  plan.addNorm = {"lb_add_rmsnorm", 1, normThreads};
  plan.attention = {"lb_attention", s.numHeads, kAttentionThreads};
  plan.siluMul = elementwise("lb_silu_mul", s.hidden);
  llvm::StringSet<> built;
  DecodeLaunch *targets[] = {&plan.qkv, &plan.attnOut, &plan.gateUp,
                             &plan.ffnDown, &plan.head};
  for (auto [linear, launch] : llvm::zip_equal(linears(s), targets)) {
    if (linear.w4) {
      MmaShape mma = chooseMmaShape(1, linear.n, linear.k, s.group);
      *launch = {mmaKernelName(mma), mmaGridSize(mma), mmaBlockSize(mma)};
      if (built.insert(launch->kernel).second)
        plan.mma.push_back(mma);
    } else {
      DenseGemvShape dense = chooseDenseGemv(linear.n, linear.k);
      *launch = {denseGemvName(dense),
                 linear.n / (dense.rowsPerWarp * kDenseGemvThreads / 32),
                 kDenseGemvThreads};
      if (built.insert(launch->kernel).second)
        plan.dense.push_back(dense);
    }
  }
  return plan;
}

std::vector<std::pair<std::string, const DecodeLaunch *>>
DecodePlan::roles() const {
  return {{"embed", &embed},         {"norm", &norm},
          {"add_norm", &addNorm},    {"qkv", &qkv},
          {"attention", &attention}, {"attn_out", &attnOut},
          {"gate_up", &gateUp},      {"silu_mul", &siluMul},
          {"ffn_down", &ffnDown},    {"head", &head}};
}

//===----------------------------------------------------------------------===//
// Kernel text
//===----------------------------------------------------------------------===//

namespace {
using Substitutions = std::vector<std::pair<std::string, std::string>>;
} // namespace

/// `text` with each `${NAME}` replaced by its value.
static std::string substitute(llvm::StringRef text,
                              const Substitutions &substitutions) {
  std::string result = text.str();
  for (const auto &[name, value] : substitutions) {
    std::string key = "${" + name + "}";
    for (size_t at = 0; (at = result.find(key, at)) != std::string::npos;
         at += value.size())
      result.replace(at, key.size(), value);
  }
  return result;
}

/// The constants and thread indices every kernel starts with (those it does
/// not use fold away).
static const char *const kPrologue = R"(      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c3 = arith.constant 3 : index
      %c4 = arith.constant 4 : index
      %c5 = arith.constant 5 : index
      %c6 = arith.constant 6 : index
      %c7 = arith.constant 7 : index
      %c8 = arith.constant 8 : index
      %c32 = arith.constant 32 : index
      %o1 = arith.constant 1 : i32
      %o2 = arith.constant 2 : i32
      %o4 = arith.constant 4 : i32
      %o8 = arith.constant 8 : i32
      %o16 = arith.constant 16 : i32
      %width = arith.constant 32 : i32
      %zero = arith.constant 0.0 : f32
      %tid = gpu.thread_id x
      %bid = gpu.block_id x
      %lane = gpu.lane_id
      %warp = arith.divui %tid, %c32 : index
)";

static std::string workgroup(int64_t size) {
  return llvm::formatv("memref<{0}xf32, #gpu.address_space<workgroup>>", size);
}

/// Reduces `value` (f32, one per thread) over a block of `warps` warps with
/// `op` (addf, maximumf): butterflies in each warp, then every thread folds
/// the warps' results from `buffer`. The result is %<id>_total.
static std::string blockReduce(llvm::StringRef id, llvm::StringRef value,
                               llvm::StringRef op, llvm::StringRef buffer,
                               int64_t warps) {
  std::string text;
  llvm::raw_string_ostream os(text);
  std::string current = value.str();
  for (int offset : {16, 8, 4, 2, 1}) {
    os << llvm::formatv("      %{0}_s{1}, %{0}_ok{1} = gpu.shuffle xor {2}, "
                        "%o{1}, %width : f32\n"
                        "      %{0}_r{1} = arith.{3} {2}, %{0}_s{1} : f32\n",
                        id, offset, current, op);
    current = llvm::formatv("%{0}_r{1}", id, offset);
  }
  os << llvm::formatv("      %{0}_first = arith.cmpi eq, %lane, %c0 : index\n"
                      "      scf.if %{0}_first {{\n"
                      "        memref.store {1}, {2}[%warp] : {3}\n"
                      "      }\n"
                      "      gpu.barrier\n",
                      id, current, buffer, workgroup(warps));
  current = llvm::formatv("%{0}_p0", id);
  os << llvm::formatv("      {0} = memref.load {1}[%c0] : {2}\n", current,
                      buffer, workgroup(warps));
  for (int64_t w = 1; w < warps; ++w) {
    os << llvm::formatv("      %{0}_i{1} = arith.constant {1} : index\n"
                        "      %{0}_p{1} = memref.load {2}[%{0}_i{1}] : {3}\n"
                        "      %{0}_f{1} = arith.{4} {5}, %{0}_p{1} : f32\n",
                        id, w, buffer, workgroup(warps), op, current);
    current = llvm::formatv("%{0}_f{1}", id, w);
  }
  // A named result (x + 0 or max(x, x), folded away).
  os << llvm::formatv("      %{0}_total = arith.{1} {2}, {3} : f32\n", id, op,
                      current, op == "addf" ? "%zero" : current);
  return text;
}

static std::string f32Literal(double value) {
  return llvm::formatv("{0:e}", value).str();
}

static void writeEmbed(llvm::raw_ostream &os, const DecodeShape &s) {
  os << substitute(
      R"(    gpu.func @lb_embed(%table: memref<${V}x${D}xf16>, %step: memref<2xi32>, %h: memref<${D}xf32>) kernel attributes {known_block_size = array<i32: 256, 1, 1>} {
${PROLOGUE}      %cD = arith.constant ${D} : index
      %c256 = arith.constant 256 : index
      %base = arith.muli %bid, %c256 : index
      %i = arith.addi %base, %tid : index
      %in = arith.cmpi ult, %i, %cD : index
      scf.if %in {
        %token32 = memref.load %step[%c0] : memref<2xi32>
        %token = arith.index_cast %token32 : i32 to index
        %e = memref.load %table[%token, %i] : memref<${V}x${D}xf16>
        %f = arith.extf %e : f16 to f32
        memref.store %f, %h[%i] : memref<${D}xf32>
      }
      gpu.return
    }
)",
      {{"PROLOGUE", kPrologue},
       {"V", std::to_string(s.vocab)},
       {"D", std::to_string(s.dim)}});
}

/// RMSNorm of the residual stream, after adding `delta` to it when `add`:
/// one block, each thread loading its channels once (vector loads), a
/// block sum of squares, and the scaled channels stored from registers.
static void writeNorm(llvm::raw_ostream &os, const DecodeShape &s, bool add) {
  const int64_t per = normChannelsPerThread(s.dim);
  const int64_t threads = s.dim / per, warps = threads / 32;
  std::string update =
      add ? R"(      %d = vector.load %delta[%i] : memref<${D}xf16>, ${VH}
      %df = arith.extf %d : ${VH} to ${VF}
      %v = arith.addf %v0, %df : ${VF}
      vector.store %v, %h[%i] : memref<${D}xf32>, ${VF}
)"
          : "      %v = arith.addf %v0, %zv : ${VF}\n";
  os << substitute(
      R"(    gpu.func @${NAME}(%h: memref<${D}xf32>, ${DELTA}%gamma: memref<${D}xf32>, %out: memref<${D}xf16>) workgroup(%red: ${RED}) kernel attributes {known_block_size = array<i32: ${THREADS}, 1, 1>} {
${PROLOGUE}      %cPer = arith.constant ${PER} : index
      %zv = arith.constant dense<0.0> : ${VF}
      %i = arith.muli %tid, %cPer : index
      %v0 = vector.load %h[%i] : memref<${D}xf32>, ${VF}
${UPDATE}      %sq = arith.mulf %v, %v : ${VF}
      %ss = vector.reduction <add>, %sq : ${VF} into f32
${REDUCE}      %width_f = arith.constant ${DF} : f32
      %eps = arith.constant ${EPS} : f32
      %mean = arith.divf %sum_total, %width_f : f32
      %shifted = arith.addf %mean, %eps : f32
      %root = llvm.inline_asm "sqrt.rn.f32 $0, $1;", "=f,f" %shifted : (f32) -> f32
      %one = arith.constant 1.0 : f32
      %r = arith.divf %one, %root : f32
      %rv = vector.broadcast %r : f32 to ${VF}
      %g = vector.load %gamma[%i] : memref<${D}xf32>, ${VF}
      %a = arith.mulf %v, %rv : ${VF}
      %b = arith.mulf %a, %g : ${VF}
      %t = arith.truncf %b : ${VF} to ${VH}
      vector.store %t, %out[%i] : memref<${D}xf16>, ${VH}
      gpu.return
    }
)",
      {{"PROLOGUE", kPrologue},
       {"UPDATE", update},
       {"REDUCE", blockReduce("sum", "%ss", "addf", "%red", warps)},
       {"NAME", add ? "lb_add_rmsnorm" : "lb_rmsnorm"},
       {"DELTA", add ? "%delta: memref<${D}xf16>, " : ""},
       {"RED", workgroup(warps)},
       {"THREADS", std::to_string(threads)},
       {"PER", std::to_string(per)},
       {"VF", llvm::formatv("vector<{0}xf32>", per).str()},
       {"VH", llvm::formatv("vector<{0}xf16>", per).str()},
       {"DF", f32Literal(double(s.dim))},
       {"EPS", f32Literal(double(s.normEps))},
       {"D", std::to_string(s.dim)}});
}

static void writeDenseGemv(llvm::raw_ostream &os, const DenseGemvShape &g) {
  const int64_t R = g.rowsPerWarp;
  std::string wType = llvm::formatv("memref<{0}x{1}xf16>", g.n, g.k);
  std::string accumulators, inits, types, loads, math, yields;
  for (int64_t r = 0; r < R; ++r) {
    const char *sep = r ? ", " : "";
    inits += llvm::formatv("{0}%a{1} = %zv", sep, r);
    types += llvm::formatv("{0}vector<8xf32>", sep);
    yields += llvm::formatv("{0}%n{1}", sep, r);
    loads += llvm::formatv("        %w{0} = vector.load %w[%row{0}, %col] "
                           "{{alignment = 16 : i64} : {1}, vector<8xf16>\n",
                           r, wType);
    math += llvm::formatv(
        "        %wf{0} = arith.extf %w{0} : vector<8xf16> to vector<8xf32>\n"
        "        %p{0} = arith.mulf %wf{0}, %xf fastmath<contract> : "
        "vector<8xf32>\n"
        "        %n{0} = arith.addf %a{0}, %p{0} fastmath<contract> : "
        "vector<8xf32>\n",
        r);
  }
  std::string rows;
  for (int64_t r = 1; r < R; ++r)
    rows +=
        llvm::formatv("      %row{0} = arith.addi %row0, %c{0} : index\n", r);
  std::string stores;
  for (int64_t r = 0; r < R; ++r) {
    std::string current = llvm::formatv("%s{0}", r);
    stores += llvm::formatv("      {0} = vector.reduction <add>, %acc#{1} : "
                            "vector<8xf32> into f32\n",
                            current, r);
    for (int offset : {16, 8, 4, 2, 1}) {
      stores += llvm::formatv(
          "      %x{0}_{1}, %ok{0}_{1} = gpu.shuffle xor {2}, %o{1}, %width "
          ": f32\n"
          "      %t{0}_{1} = arith.addf {2}, %x{0}_{1} : f32\n",
          r, offset, current);
      current = llvm::formatv("%t{0}_{1}", r, offset);
    }
    stores += llvm::formatv("      %h{0} = arith.truncf {1} : f32 to f16\n", r,
                            current);
  }
  std::string writes;
  for (int64_t r = 0; r < R; ++r)
    writes += llvm::formatv(
        "        memref.store %h{0}, %y[%row{0}] : memref<{1}xf16>\n", r, g.n);
  os << substitute(
      R"(    gpu.func @${NAME}(%x: memref<${K}xf16>, %w: ${WTYPE}, %y: memref<${N}xf16>) kernel attributes {known_block_size = array<i32: 256, 1, 1>} {
${PROLOGUE}      %chunks = arith.constant ${CHUNKS} : index
      %rowsPerBlock = arith.constant ${RPB} : index
      %rowsPerWarp = arith.constant ${R} : index
      %zv = arith.constant dense<0.0> : vector<8xf32>
      %blockRow = arith.muli %bid, %rowsPerBlock : index
      %warpRow = arith.muli %warp, %rowsPerWarp : index
      %row0 = arith.addi %blockRow, %warpRow : index
${ROWS}      %acc:${R} = scf.for %c = %lane to %chunks step %c32 iter_args(${INITS}) -> (${TYPES}) {
        %col = arith.muli %c, %c8 : index
        %xv = vector.load %x[%col] {alignment = 16 : i64} : memref<${K}xf16>, vector<8xf16>
${LOADS}        %xf = arith.extf %xv : vector<8xf16> to vector<8xf32>
${MATH}        scf.yield ${YIELDS} : ${TYPES}
      }
${STORES}      %first = arith.cmpi eq, %lane, %c0 : index
      scf.if %first {
${WRITES}      }
      gpu.return
    }
)",
      {{"PROLOGUE", kPrologue},
       {"NAME", denseGemvName(g)},
       {"WTYPE", wType},
       {"ROWS", rows},
       {"INITS", inits},
       {"TYPES", types},
       {"LOADS", loads},
       {"MATH", math},
       {"YIELDS", yields},
       {"STORES", stores},
       {"WRITES", writes},
       {"CHUNKS", std::to_string(g.k / 8)},
       {"RPB", std::to_string(R * kDenseGemvThreads / 32)},
       {"R", std::to_string(R)},
       {"K", std::to_string(g.k)},
       {"N", std::to_string(g.n)}});
}

/// RoPE of a lane's fragment `value` (f16, `cpl` channels starting at an
/// even channel, or one channel whose pair is in the neighbouring lane) by
/// %angles (cos, sin of each pair, interleaved as in the table): x cos +
/// swap(x) sin (-1, +1, ...). The result, rounded to f16 as the cache holds
/// it, is %<name>Rounded.
static std::string rotateFragment(llvm::StringRef value, llvm::StringRef name,
                                  int64_t cpl) {
  std::string vf = llvm::formatv("vector<{0}xf32>", cpl);
  std::string vh = llvm::formatv("vector<{0}xf16>", cpl);
  std::string text = llvm::formatv(
      "      %{0}F = arith.extf {1} : {2} to {3}\n", name, value, vh, vf);
  auto mask = [&](auto element) {
    std::string list;
    for (int64_t i = 0; i < cpl; ++i)
      list += (i ? ", " : "") + std::to_string(element(i));
    return list;
  };
  if (cpl == 1) {
    // The pair's other channel is in lane ^ 1; even lanes subtract.
    text += llvm::formatv(
        "      %{0}S = vector.extract %{0}F[0] : f32 from {1}\n"
        "      %{0}P, %{0}Ok = gpu.shuffle xor %{0}S, %o1, %width : f32\n"
        "      %{0}Swap = vector.broadcast %{0}P : f32 to {1}\n"
        "      %{0}Parity = arith.remui %lane, %c2 : index\n"
        "      %{0}Odd = arith.cmpi eq, %{0}Parity, %c1 : index\n"
        "      %{0}PairBase = arith.subi %channel, %{0}Parity : index\n"
        "      %{0}SinIndex = arith.addi %{0}PairBase, %c1 : index\n"
        "      %{0}C = memref.load %rope[%last, %{0}PairBase] : "
        "memref<${{S}x${{HD}xf32>\n"
        "      %{0}N = memref.load %rope[%last, %{0}SinIndex] : "
        "memref<${{S}x${{HD}xf32>\n"
        "      %{0}NegN = arith.negf %{0}N : f32\n"
        "      %{0}Sn = arith.select %{0}Odd, %{0}N, %{0}NegN : f32\n"
        "      %{0}Cos = vector.broadcast %{0}C : f32 to {1}\n"
        "      %{0}Sin = vector.broadcast %{0}Sn : f32 to {1}\n",
        name, vf);
  } else {
    text += llvm::formatv(
        "      %{0}Swap = vector.shuffle %{0}F, %{0}F [{2}] : {1}, {1}\n"
        "      %{0}Cos = vector.shuffle %angles, %angles [{3}] : {1}, {1}\n"
        "      %{0}SinU = vector.shuffle %angles, %angles [{4}] : {1}, {1}\n"
        "      %{0}Signs = arith.constant dense<[{5}]> : {1}\n"
        "      %{0}Sin = arith.mulf %{0}SinU, %{0}Signs : {1}\n",
        name, vf, mask([](int64_t i) { return i ^ 1; }),
        mask([](int64_t i) { return i & ~int64_t(1); }),
        mask([](int64_t i) { return i | 1; }), [&] {
          std::string signs;
          for (int64_t i = 0; i < cpl; ++i)
            signs += std::string(i ? ", " : "") + (i % 2 ? "1.0" : "-1.0");
          return signs;
        }());
  }
  text +=
      llvm::formatv("      %{0}Xc = arith.mulf %{0}F, %{0}Cos : {1}\n"
                    "      %{0}Xs = arith.mulf %{0}Swap, %{0}Sin : {1}\n"
                    "      %{0}Rot = arith.addf %{0}Xc, %{0}Xs : {1}\n"
                    "      %{0}Rounded = arith.truncf %{0}Rot : {1} to {2}\n",
                    name, vf, vh);
  return text;
}

/// One block a query head, its warps strided over positions. A position's
/// key (then value) row is read by `lanesPerRow` lanes of a warp, each
/// holding `channelsPerLane` channels, so a warp reads whole rows at once
/// (coalesced) and `kAttentionUnroll` rows a lane are in flight: the
/// scores go to shared memory with a block max and sum for the softmax, each
/// lane accumulates the weighted values of its channels, and the warps'
/// partial rows are added.
static void writeAttention(llvm::raw_ostream &os, const DecodeShape &s) {
  const int64_t warps = kAttentionThreads / 32, unroll = kAttentionUnroll;
  const int64_t cpl = std::max<int64_t>(1, s.headDim / 32);
  const int64_t lanesPerRow = s.headDim / cpl, rowsPerWarp = 32 / lanesPerRow;
  const int64_t partialRows = warps * rowsPerWarp;
  const int64_t trip = partialRows * unroll;
  std::string frag = llvm::formatv("vector<{0}xf16>", cpl);
  std::string fragF = llvm::formatv("vector<{0}xf32>", cpl);
  std::string kvType =
      llvm::formatv("memref<{0}x{1}xf16>", s.context, s.getKvDim());
  std::string scoresType = llvm::formatv(
      "memref<{0}xf32, #gpu.address_space<workgroup>>", s.context);
  std::string partType =
      llvm::formatv("memref<{0}x{1}xf32, #gpu.address_space<workgroup>>",
                    partialRows, s.headDim);
  // The position of row u of this lane in the trip at %trip0, clamped.
  auto position = [&](int64_t u) -> std::string {
    return llvm::formatv(
        "        %t{0} = arith.addi %trip0, %rowBase{0} : index\n"
        "        %valid{0} = arith.cmpi ult, %t{0}, %n : index\n"
        "        %tc{0} = arith.select %valid{0}, %t{0}, %last : index\n",
        u);
  };
  std::string rowBases;
  for (int64_t u = 0; u < unroll; ++u)
    rowBases += llvm::formatv(
        "      %rowOff{0} = arith.constant {1} : index\n"
        "      %rowBase{0} = arith.addi %warpRow, %rowOff{0} : index\n",
        u, u * rowsPerWarp);

  std::string scoreBody;
  for (int64_t u = 0; u < unroll; ++u)
    scoreBody += position(u) +
                 llvm::formatv("        %k{0} = vector.load %kc[%tc{0}, %ki] "
                               ": {1}, {2}\n",
                               u, kvType, frag)
                     .str();
  std::string m = "%m";
  for (int64_t u = 0; u < unroll; ++u) {
    scoreBody += llvm::formatv(
        "        %kl{0} = arith.extf %k{0} : {1} to {2}\n"
        "        %now{0} = arith.cmpi eq, %tc{0}, %last : index\n"
        "        %kf{0} = arith.select %now{0}, %kNow, %kl{0} : {2}\n"
        "        %qk{0} = arith.mulf %qf, %kf{0} : {2}\n"
        "        %d{0}_{3} = vector.reduction <add>, %qk{0} : {2} into f32\n",
        u, frag, fragF, lanesPerRow);
    std::string current = llvm::formatv("%d{0}_{1}", u, lanesPerRow);
    for (int64_t offset = lanesPerRow / 2; offset >= 1; offset /= 2) {
      scoreBody += llvm::formatv(
          "        %x{0}_{1}, %ok{0}_{1} = gpu.shuffle xor {2}, %o{1}, %width "
          ": f32\n"
          "        %d{0}_{1} = arith.addf {2}, %x{0}_{1} : f32\n",
          u, offset, current);
      current = llvm::formatv("%d{0}_{1}", u, offset);
    }
    scoreBody += llvm::formatv(
        "        %s{0} = arith.mulf {1}, %scale : f32\n"
        "        %w{0} = arith.andi %valid{0}, %rowLead : i1\n"
        "        scf.if %w{0} {{\n"
        "          memref.store %s{0}, %scores[%t{0}] : {2}\n"
        "        }\n"
        "        %mx{0} = arith.maximumf {3}, %s{0} : f32\n"
        "        %m{0} = arith.select %valid{0}, %mx{0}, {3} : f32\n",
        u, current, scoresType, m);
    m = llvm::formatv("%m{0}", u);
  }
  scoreBody += "        scf.yield " + m + " : f32\n";

  std::string valueBody, acc = "%acc";
  for (int64_t u = 0; u < unroll; ++u)
    valueBody += position(u) +
                 llvm::formatv("        %v{0} = vector.load %vc[%tc{0}, %ki] "
                               ": {1}, {2}\n"
                               "        %p{0} = memref.load %scores[%tc{0}] : "
                               "{3}\n",
                               u, kvType, frag, scoresType)
                     .str();
  for (int64_t u = 0; u < unroll; ++u) {
    valueBody += llvm::formatv(
        "        %pz{0} = arith.select %valid{0}, %p{0}, %zero : f32\n"
        "        %pb{0} = vector.broadcast %pz{0} : f32 to {1}\n"
        "        %vl{0} = arith.extf %v{0} : {2} to {1}\n"
        "        %vnow{0} = arith.cmpi eq, %tc{0}, %last : index\n"
        "        %vf{0} = arith.select %vnow{0}, %vNow, %vl{0} : {1}\n"
        "        %pv{0} = arith.mulf %pb{0}, %vf{0} : {1}\n"
        "        %a{0} = arith.addf {3}, %pv{0} : {1}\n",
        u, fragF, frag, acc);
    acc = llvm::formatv("%a{0}", u);
  }
  valueBody += "        scf.yield " + acc + " : " + fragF + "\n";

  os << substitute(
      R"(    gpu.func @lb_attention(%qkv: memref<${QKV}xf16>, %rope: memref<${S}x${HD}xf32>, %kc: ${KVT}, %vc: ${KVT}, %step: memref<2xi32>, %out: memref<${D}xf16>) workgroup(%scores: ${SCORES}, %redMax: ${RED}, %redSum: ${RED}, %part: ${PART}) kernel attributes {known_block_size = array<i32: ${THREADS}, 1, 1>} {
${PROLOGUE}      %cThreads = arith.constant ${THREADS} : index
      %cHD = arith.constant ${HD} : index
      %cGroup = arith.constant ${GROUP} : index
      %cTrip = arith.constant ${TRIP} : index
      %cLanes = arith.constant ${LANES} : index
      %cCpl = arith.constant ${CPL} : index
      %cRowsTrip = arith.constant ${ROWS_WARP_TRIP} : index
      %cRowsWarp = arith.constant ${ROWS_WARP} : index
      %cPartial = arith.constant ${PARTIAL} : index
      %scale = arith.constant ${SCALE} : f32
      %negInf = arith.constant 0xFF800000 : f32
      %log2e = arith.constant 1.44269504 : f32
      %zf = arith.constant dense<0.0> : ${FRAGF}
      %kvHead = arith.divui %bid, %cGroup : index
      %qBase = arith.muli %bid, %cHD : index
      %kBase = arith.muli %kvHead, %cHD : index
      %pos32 = memref.load %step[%c1] : memref<2xi32>
      %last = arith.index_cast %pos32 : i32 to index
      %n = arith.addi %last, %c1 : index
      %row = arith.divui %lane, %cLanes : index
      %group = arith.remui %lane, %cLanes : index
      %channel = arith.muli %group, %cCpl : index
      %rowLead = arith.cmpi eq, %group, %c0 : index
      %warpRows = arith.muli %warp, %cRowsTrip : index
      %warpRow = arith.addi %warpRows, %row : index
${ROW_BASES}      %qi = arith.addi %qBase, %channel : index
      %ki = arith.addi %kBase, %channel : index
      %q = vector.load %qkv[%qi] : memref<${QKV}xf16>, ${FRAG}
      %kNowOffset = arith.constant ${D} : index
      %vNowOffset = arith.constant ${DKV} : index
      %kNowIndex = arith.addi %ki, %kNowOffset : index
      %vNowIndex = arith.addi %ki, %vNowOffset : index
      %kNowHalf = vector.load %qkv[%kNowIndex] : memref<${QKV}xf16>, ${FRAG}
      %vNowHalf = vector.load %qkv[%vNowIndex] : memref<${QKV}xf16>, ${FRAG}
      %angles = vector.load %rope[%last, %channel] : memref<${S}x${HD}xf32>, ${FRAGF}
${ROTATE_Q}${ROTATE_K}      %qf = arith.extf %qRounded : ${FRAG} to ${FRAGF}
      %kNow = arith.extf %kRounded : ${FRAG} to ${FRAGF}
      %vNow = arith.extf %vNowHalf : ${FRAG} to ${FRAGF}
      // The first query head of each KV head stores the position's key and
      // value; the others take them from registers like this block.
      %headOfGroup = arith.remui %bid, %cGroup : index
      %firstHead = arith.cmpi eq, %headOfGroup, %c0 : index
      %firstWarp = arith.cmpi eq, %warp, %c0 : index
      %firstRow = arith.cmpi eq, %row, %c0 : index
      %writesA = arith.andi %firstHead, %firstWarp : i1
      %writes = arith.andi %writesA, %firstRow : i1
      scf.if %writes {
        vector.store %kRounded, %kc[%last, %ki] : ${KVT}, ${FRAG}
        vector.store %vNowHalf, %vc[%last, %ki] : ${KVT}, ${FRAG}
      }
      %localMax = scf.for %trip0 = %c0 to %n step %cTrip iter_args(%m = %negInf) -> (f32) {
${SCORE_BODY}      }
${REDUCE_MAX}      %localSum = scf.for %t = %tid to %n step %cThreads iter_args(%a = %zero) -> (f32) {
        %sc = memref.load %scores[%t] : ${SCORES}
        %sh = arith.subf %sc, %max_total : f32
        %shl = arith.mulf %sh, %log2e : f32
        %e = llvm.inline_asm "ex2.approx.f32 $0, $1;", "=f,f" %shl : (f32) -> f32
        memref.store %e, %scores[%t] : ${SCORES}
        %na = arith.addf %a, %e : f32
        scf.yield %na : f32
      }
${REDUCE_SUM}      %weighted = scf.for %trip0 = %c0 to %n step %cTrip iter_args(%acc = %zf) -> (${FRAGF}) {
${VALUE_BODY}      }
      %partRow0 = arith.muli %warp, %cRowsWarp : index
      %partRow = arith.addi %partRow0, %row : index
      vector.store %weighted, %part[%partRow, %channel] : ${PART}, ${FRAGF}
      gpu.barrier
      %writer = arith.cmpi ult, %tid, %cHD : index
      scf.if %writer {
        %o = scf.for %i = %c0 to %cPartial step %c1 iter_args(%a = %zero) -> (f32) {
          %pi = memref.load %part[%i, %tid] : ${PART}
          %na = arith.addf %a, %pi : f32
          scf.yield %na : f32
        }
        %oi = arith.addi %qBase, %tid : index
        %normed = arith.divf %o, %sum_total : f32
        %oh = arith.truncf %normed : f32 to f16
        memref.store %oh, %out[%oi] : memref<${D}xf16>
      }
      gpu.return
    }
)",
      {{"PROLOGUE", kPrologue},
       {"SCORE_BODY", scoreBody},
       {"ROTATE_Q", rotateFragment("%q", "q", cpl)},
       {"ROTATE_K", rotateFragment("%kNowHalf", "k", cpl)},
       {"DKV", std::to_string(s.dim + s.getKvDim())},
       {"S", std::to_string(s.context)},
       {"VALUE_BODY", valueBody},
       {"ROW_BASES", rowBases},
       {"REDUCE_MAX",
        blockReduce("max", "%localMax", "maximumf", "%redMax", warps)},
       {"REDUCE_SUM",
        blockReduce("sum", "%localSum", "addf", "%redSum", warps)},
       {"RED", workgroup(warps)},
       {"PART", partType},
       {"SCORES", scoresType},
       {"KVT", kvType},
       {"FRAG", frag},
       {"FRAGF", fragF},
       {"THREADS", std::to_string(kAttentionThreads)},
       {"TRIP", std::to_string(trip)},
       {"LANES", std::to_string(lanesPerRow)},
       {"CPL", std::to_string(cpl)},
       {"ROWS_WARP_TRIP", std::to_string(rowsPerWarp * unroll)},
       {"ROWS_WARP", std::to_string(rowsPerWarp)},
       {"PARTIAL", std::to_string(partialRows)},
       {"QKV", std::to_string(s.getQkvDim())},
       {"HD", std::to_string(s.headDim)},
       {"GROUP", std::to_string(s.numHeads / s.numKvHeads)},
       {"SCALE", f32Literal(1.0 / std::sqrt(double(s.headDim)))},
       {"D", std::to_string(s.dim)}});
}

static void writeSiluMul(llvm::raw_ostream &os, const DecodeShape &s) {
  os << substitute(
      R"(    gpu.func @lb_silu_mul(%gu: memref<${GU}xf16>, %act: memref<${F}xf16>) kernel attributes {known_block_size = array<i32: 256, 1, 1>} {
${PROLOGUE}      %c256 = arith.constant 256 : index
      %cF = arith.constant ${F} : index
      %one = arith.constant 1.0 : f32
      %minusLog2e = arith.constant -1.44269504 : f32
      %base = arith.muli %bid, %c256 : index
      %i = arith.addi %base, %tid : index
      %in = arith.cmpi ult, %i, %cF : index
      scf.if %in {
        %iu = arith.addi %i, %cF : index
        %gh = memref.load %gu[%i] : memref<${GU}xf16>
        %uh = memref.load %gu[%iu] : memref<${GU}xf16>
        %g = arith.extf %gh : f16 to f32
        %u = arith.extf %uh : f16 to f32
        %ng = arith.mulf %g, %minusLog2e : f32
        %e = llvm.inline_asm "ex2.approx.f32 $0, $1;", "=f,f" %ng : (f32) -> f32
        %den = arith.addf %one, %e : f32
        %silu = arith.divf %g, %den : f32
        %prod = arith.mulf %silu, %u : f32
        %h = arith.truncf %prod : f32 to f16
        memref.store %h, %act[%i] : memref<${F}xf16>
      }
      gpu.return
    }
)",
      {{"PROLOGUE", kPrologue},
       {"GU", std::to_string(2 * s.hidden)},
       {"F", std::to_string(s.hidden)}});
}

void mlir::lowbit::gpu::writeDecodeKernels(llvm::raw_ostream &os,
                                           const DecodeShape &shape,
                                           const DecodePlan &plan) {
  writeEmbed(os, shape);
  writeNorm(os, shape, /*add=*/false);
  writeNorm(os, shape, /*add=*/true);
  writeAttention(os, shape);
  writeSiluMul(os, shape);
  for (const DenseGemvShape &dense : plan.dense)
    writeDenseGemv(os, dense);
}
