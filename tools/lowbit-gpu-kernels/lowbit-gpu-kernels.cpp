//===- lowbit-gpu-kernels.cpp - Generate and compile LowBit's GPU kernels -===//
//
// Writes the W4A16 kernels for the given shapes (the CUDA-core GEMV and the
// tensor-core matmul) and the W8A8 tensor-core matmul as gpu-dialect IR, PTX
// (through upstream's NVVM pipeline and LLVM's NVPTX backend) and a cubin
// (through the CUDA toolkit's ptxas). No GPU is needed.
//
//   lowbit-gpu-kernels --gemv 1x4096x4096g128 --mma 16x11008x4096g128 \
//                      [--chip sm_90] -o DIR       # kernels.{mlir,ptx,cubin}
//   lowbit-gpu-kernels --gemv 1x64x256g64 --emit mlir|ptx   # to stdout
//   lowbit-gpu-kernels --decode dim=64,hidden=192,heads=8,kv_heads=4,\
//                      vocab=512,context=512,group=64 --emit mlir
//                                        # a decoder's step (DecodeKernels.h)
//
//===----------------------------------------------------------------------===//

#include "lowbit/GPU/DecodeKernels.h"
#include "lowbit/GPU/Kernels.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>

using namespace mlir;
namespace cl = llvm::cl;
namespace lbgpu = mlir::lowbit::gpu;

static cl::OptionCategory category("lowbit-gpu-kernels options");
static cl::list<std::string>
    gemvShapes("gemv", cl::CommaSeparated, cl::ZeroOrMore,
               cl::desc("W4A16 GEMV shapes as MxNxKgG (e.g. 1x4096x4096g128)"),
               cl::cat(category));
static cl::list<std::string>
    mmaShapes("mma", cl::CommaSeparated, cl::ZeroOrMore,
              cl::desc("W4A16 tensor-core matmul shapes as MxNxKgG, "
                       "optionally with wW (warps), uU (unroll) and rR "
                       "(row tiles) "
                       "(e.g. 16x4096x4096g128, 1x4096x4096g128w8u1)"),
              cl::cat(category));
static cl::list<std::string>
    w8a8Shapes("w8a8", cl::CommaSeparated, cl::ZeroOrMore,
               cl::desc("W8A8 tensor-core matmul shapes as MxNxK, optionally "
                        "with wW (warps) and uU (unroll) (e.g. 16x4096x4096)"),
               cl::cat(category));
static cl::opt<std::string> decodeSpec(
    "decode",
    cl::desc("Every kernel of a decoder's step: dim=D,hidden=F,heads=H,"
             "kv_heads=KV,vocab=V,context=S[,head_dim=HD][,group=G (W4A16; "
             "none: float16)][,head=f16|w4 (the LM head of W4A16)][,eps=E]"),
    cl::value_desc("key=value,..."), cl::cat(category));
static cl::opt<int64_t>
    mmaWarps("mma-warps", cl::init(0),
             cl::desc("Warps of a tensor-core block, splitting K (1 to 32; "
                      "default: chosen per shape)"),
             cl::cat(category));
static cl::opt<int64_t> mmaUnroll(
    "mma-unroll", cl::init(0),
    cl::desc("Groups a tensor-core warp loads at once (1 to 8; default: "
             "chosen per shape)"),
    cl::cat(category));
static cl::opt<std::string> chip("chip", cl::init("sm_90"),
                                 cl::desc("The GPU (sm_80, sm_90, ...)"),
                                 cl::cat(category));
static cl::opt<int64_t>
    rowsPerWarp("rows-per-warp", cl::init(2),
                cl::desc("Output rows each warp computes (1 to 4)"),
                cl::cat(category));
static cl::opt<std::string>
    emit("emit", cl::init("all"),
         cl::desc("mlir or ptx: print that to stdout; all: write -o DIR"),
         cl::cat(category));
static cl::opt<std::string> output("o", cl::desc("Output directory"),
                                   cl::value_desc("dir"), cl::cat(category));

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "lowbit-gpu-kernels") << message << "\n";
  return 1;
}

/// Parses MxNxKgG into the shape's m, n, k and group.
template <typename Shape>
static bool parseShape(llvm::StringRef text, Shape &shape) {
  auto [dims, group] = text.split('g');
  llvm::SmallVector<llvm::StringRef> parts;
  dims.split(parts, 'x');
  return parts.size() == 3 && !group.empty() &&
         !parts[0].getAsInteger(10, shape.m) &&
         !parts[1].getAsInteger(10, shape.n) &&
         !parts[2].getAsInteger(10, shape.k) &&
         !group.getAsInteger(10, shape.group);
}

/// Parses the options after a shape (e.g. `w8u1r2`: letters of `keys`, each
/// with a count), setting each through `field`.
static bool parseSuffix(llvm::StringRef rest, llvm::StringRef keys,
                        llvm::function_ref<int64_t &(char)> field) {
  while (!rest.empty()) {
    char key = rest.front();
    size_t end = rest.find_first_of(keys, 1);
    int64_t value;
    if (!keys.contains(key) || rest.substr(1, end - 1).getAsInteger(10, value))
      return false;
    field(key) = value;
    rest = rest.substr(std::min(end, rest.size()));
  }
  return true;
}

/// Parses MxNxKgG[wW][uU][rR]: a tensor-core shape, optionally with its own
/// warps, unroll and row tiles (so that one cubin can hold variants).
static bool parseMmaShape(llvm::StringRef text, lbgpu::MmaShape &shape) {
  size_t options = text.find_first_of("wur");
  if (!parseShape(text.substr(0, options), shape))
    return false;
  shape = lbgpu::chooseMmaShape(shape.m, shape.n, shape.k, shape.group);
  if (mmaWarps)
    shape.warps = mmaWarps;
  if (mmaUnroll)
    shape.unroll = mmaUnroll;
  return parseSuffix(text.substr(std::min(options, text.size())), "wur",
                     [&](char key) -> int64_t & {
                       return key == 'w'   ? shape.warps
                              : key == 'u' ? shape.unroll
                                           : shape.rowTiles;
                     });
}

/// Parses MxNxK[wW][uU]: a W8A8 shape.
static bool parseW8A8Shape(llvm::StringRef text, lbgpu::W8A8Shape &shape) {
  size_t options = text.find_first_of("wu");
  llvm::SmallVector<llvm::StringRef> parts;
  text.substr(0, options).split(parts, 'x');
  if (parts.size() != 3 || parts[0].getAsInteger(10, shape.m) ||
      parts[1].getAsInteger(10, shape.n) || parts[2].getAsInteger(10, shape.k))
    return false;
  shape = lbgpu::chooseW8A8Shape(shape.m, shape.n, shape.k);
  if (mmaWarps)
    shape.warps = mmaWarps;
  if (mmaUnroll)
    shape.unroll = mmaUnroll;
  return parseSuffix(text.substr(std::min(options, text.size())), "wu",
                     [&](char key) -> int64_t & {
                       return key == 'w' ? shape.warps : shape.unroll;
                     });
}

/// Parses --decode's key=value list.
static bool parseDecodeShape(llvm::StringRef text, lbgpu::DecodeShape &shape,
                             std::string &problem) {
  llvm::SmallVector<llvm::StringRef> fields;
  text.split(fields, ',');
  int64_t headDim = 0;
  for (llvm::StringRef field : fields) {
    auto [key, value] = field.split('=');
    if (key == "head") {
      if (value != "f16" && value != "w4") {
        problem = "head must be f16 or w4";
        return false;
      }
      shape.headF16 = value == "f16";
      continue;
    }
    if (key == "eps") {
      double eps;
      if (value.getAsDouble(eps) || eps <= 0) {
        problem = "eps must be a positive number";
        return false;
      }
      shape.normEps = float(eps);
      continue;
    }
    int64_t *slot = llvm::StringSwitch<int64_t *>(key)
                        .Case("dim", &shape.dim)
                        .Case("hidden", &shape.hidden)
                        .Case("heads", &shape.numHeads)
                        .Case("kv_heads", &shape.numKvHeads)
                        .Case("head_dim", &headDim)
                        .Case("vocab", &shape.vocab)
                        .Case("context", &shape.context)
                        .Case("group", &shape.group)
                        .Default(nullptr);
    if (!slot || value.getAsInteger(10, *slot)) {
      problem = ("'" + field +
                 "' is not one of dim, hidden, heads, kv_heads, "
                 "head_dim, vocab, context, group or eps with a number, or head=f16|w4")
                    .str();
      return false;
    }
  }
  if (shape.numKvHeads == 0)
    shape.numKvHeads = shape.numHeads;
  shape.headDim =
      headDim ? headDim : (shape.numHeads ? shape.dim / shape.numHeads : 0);
  return true;
}

static int writeFile(const llvm::Twine &path, llvm::StringRef data) {
  std::error_code error;
  llvm::raw_fd_ostream os(path.str(), error, llvm::sys::fs::OF_None);
  if (error)
    return fail(path + ": " + error.message());
  os << data;
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(argc, argv,
                              "lowbit-gpu-kernels: generate LowBit's GPU "
                              "kernels and compile them to PTX and cubin\n");
  if (emit != "all" && emit != "mlir" && emit != "ptx")
    return fail("--emit must be mlir, ptx or all");
  if (emit == "all" && output.empty())
    return fail("-o DIR is required unless --emit is mlir or ptx");
  if (gemvShapes.empty() && mmaShapes.empty() && w8a8Shapes.empty() &&
      decodeSpec.empty())
    return fail("no kernels asked for: give --gemv, --mma, --w8a8 or "
                "--decode shapes");
  std::optional<lbgpu::DecodeShape> decode;
  if (!decodeSpec.empty()) {
    std::string problem;
    decode.emplace();
    if (!parseDecodeShape(decodeSpec, *decode, problem))
      return fail("--decode " + decodeSpec + ": " + problem);
  }
  llvm::StringSet<> names;
  std::vector<lbgpu::GemvShape> shapes;
  for (const std::string &text : gemvShapes) {
    lbgpu::GemvShape shape;
    if (!parseShape(text, shape))
      return fail("--gemv " + text +
                  ": expected MxNxKgG, e.g. 1x4096x4096g128");
    shape.rowsPerWarp = rowsPerWarp;
    if (names.insert(lbgpu::gemvKernelName(shape)).second)
      shapes.push_back(shape); // the same kernel asked twice is built once
  }
  std::vector<lbgpu::MmaShape> mma;
  for (const std::string &text : mmaShapes) {
    lbgpu::MmaShape shape;
    if (!parseMmaShape(text, shape))
      return fail("--mma " + text +
                  ": expected MxNxKgG[wW][uU][rR], e.g. 16x4096x4096g128");
    if (names.insert(lbgpu::mmaKernelName(shape)).second)
      mma.push_back(shape);
  }

  std::vector<lbgpu::W8A8Shape> w8a8;
  for (const std::string &text : w8a8Shapes) {
    lbgpu::W8A8Shape shape;
    if (!parseW8A8Shape(text, shape))
      return fail("--w8a8 " + text +
                  ": expected MxNxK[wW][uU], e.g. 16x4096x4096");
    if (names.insert(lbgpu::w8a8KernelName(shape)).second)
      w8a8.push_back(shape);
  }

  std::unique_ptr<MLIRContext> kernelContext = lbgpu::createKernelContext();
  MLIRContext &context = *kernelContext;

  auto module = lbgpu::buildKernels(context, shapes, mma, w8a8, chip,
                                    decode ? &*decode : nullptr);
  if (!module)
    return fail(llvm::toString(module.takeError()));
  std::string ir;
  {
    llvm::raw_string_ostream os(ir);
    (*module)->print(os);
  }
  if (emit == "mlir") {
    llvm::outs() << ir;
    return 0;
  }
  auto ptx = lbgpu::lowerToPtx(**module, chip);
  if (!ptx)
    return fail(llvm::toString(ptx.takeError()));
  if (emit == "ptx") {
    llvm::outs() << *ptx;
    return 0;
  }
  std::string report;
  auto cubin = lbgpu::assemblePtx(*ptx, chip, &report);
  if (!cubin)
    return fail(llvm::toString(cubin.takeError()));
  if (std::error_code error = llvm::sys::fs::create_directories(output))
    return fail(output + ": " + error.message());
  std::string manifest;
  for (const lbgpu::GemvShape &shape : shapes)
    manifest +=
        llvm::formatv("{0} gemv_w4 {1} {2} {3} {4} grid {5} block "
                      "{6}\n",
                      lbgpu::gemvKernelName(shape), shape.m, shape.n, shape.k,
                      shape.group, shape.n / lbgpu::gemvRowsPerBlock(shape),
                      lbgpu::kGemvThreadsPerBlock)
            .str();
  for (const lbgpu::MmaShape &shape : mma)
    manifest += llvm::formatv("{0} mma_w4 {1} {2} {3} {4} grid {5} block {6}\n",
                              lbgpu::mmaKernelName(shape), shape.m, shape.n,
                              shape.k, shape.group, lbgpu::mmaGridSize(shape),
                              lbgpu::mmaBlockSize(shape))
                    .str();
  for (const lbgpu::W8A8Shape &shape : w8a8)
    manifest += llvm::formatv("{0} mma_w8a8 {1} {2} {3} 0 grid {4} block {5}\n",
                              lbgpu::w8a8KernelName(shape), shape.m, shape.n,
                              shape.k, shape.n / 16, 32 * shape.warps)
                    .str();
  if (decode) {
    lbgpu::DecodePlan plan = lbgpu::planDecode(*decode);
    for (const auto &[role, launch] : plan.roles())
      manifest +=
          llvm::formatv("{0} decode_{1} grid {2} block {3}\n", launch->kernel,
                        role, launch->grid, launch->block)
              .str();
  }
  if (int status = writeFile(output + "/kernels.mlir", ir))
    return status;
  if (int status = writeFile(output + "/kernels.ptx", *ptx))
    return status;
  if (int status = writeFile(output + "/kernels.cubin",
                             llvm::StringRef(cubin->data(), cubin->size())))
    return status;
  if (int status = writeFile(output + "/kernels.txt", manifest))
    return status;
  llvm::errs() << report;
  llvm::errs() << "wrote " << output << ": kernels.mlir, kernels.ptx, "
               << "kernels.cubin (" << cubin->size() << " bytes, " << chip
               << "), kernels.txt (" << llvm::StringRef(ir).count("gpu.func @")
               << " kernels)\n";
  return 0;
}
