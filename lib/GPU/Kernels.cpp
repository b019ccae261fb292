//===- Kernels.cpp - GPU kernels generated from IR ------------------------===//
//
// The W4A16 GEMV is written out as gpu-dialect IR for each shape (every
// extent a constant, so the loops and the address arithmetic fold), parsed,
// and lowered by upstream's NVVM pipeline. See Kernels.h for the layout.
//
//===----------------------------------------------------------------------===//

#include "lowbit/GPU/Kernels.h"
#include "lowbit/GPU/DecodeKernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Pipelines/Passes.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"

#include <optional>
#include <regex>

using namespace mlir;
using namespace mlir::lowbit::gpu;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

namespace {
/// Collects the diagnostics emitted while it lives, with their locations,
/// for an error message.
struct DiagnosticCollector {
  explicit DiagnosticCollector(MLIRContext *context)
      : handler(context, [this](Diagnostic &diagnostic) {
          llvm::raw_string_ostream(text)
              << diagnostic.getLocation() << ": " << diagnostic << "\n";
          return success();
        }) {}
  std::string text;
  ScopedDiagnosticHandler handler;
};
} // namespace

std::string mlir::lowbit::gpu::gemvKernelName(const GemvShape &shape) {
  return llvm::formatv("gemv_w4g{0}_m{1}_n{2}_k{3}", shape.group, shape.m,
                       shape.n, shape.k)
      .str();
}

llvm::Error mlir::lowbit::gpu::verifyGemvShape(const GemvShape &shape) {
  std::string name = llvm::formatv("M={0} N={1} K={2} G={3}", shape.m, shape.n,
                                   shape.k, shape.group);
  if (shape.m < 1 || shape.m > 16)
    return makeError("GEMV " + name + ": M must be in [1, 16]");
  if (shape.group < 32 || shape.group % 32)
    return makeError("GEMV " + name +
                     ": the group size must be a multiple "
                     "of 32");
  if (shape.k < shape.group || shape.k % shape.group)
    return makeError("GEMV " + name + ": the group size must divide K");
  if (shape.rowsPerWarp < 1 || shape.rowsPerWarp > 4)
    return makeError("GEMV " + name + ": rows per warp must be in [1, 4]");
  if (shape.n < 1 || shape.n % gemvRowsPerBlock(shape))
    return makeError("GEMV " + name + ": N must be a multiple of " +
                     llvm::Twine(gemvRowsPerBlock(shape)));
  return llvm::Error::success();
}

/// Writes one kernel. Values are named after what they hold: %w<r> the 16
/// weight bytes of row r, %x<m>_<t> eight activations of row m, %v<r>_<t>
/// eight dequantized (unscaled) weights.
static void writeGemvKernel(llvm::raw_ostream &os, const GemvShape &shape) {
  const int64_t m = shape.m, n = shape.n, k = shape.k, g = shape.group;
  const int64_t R = shape.rowsPerWarp;
  std::string xType = llvm::formatv("memref<{0}x{1}xf16>", m, k);
  std::string wType = llvm::formatv("memref<{0}x{1}xi32>", n, k / 8);
  std::string sType = llvm::formatv("memref<{0}x{1}xf16>", n, k / g);
  std::string yType = llvm::formatv("memref<{0}x{1}xf16>", m, n);
  // The R x m accumulators named %<prefix><r>_<i>, comma-separated; with
  // `init`, each as `name = init(index)` for iter_args.
  auto accumulators = [&](llvm::StringRef prefix,
                          llvm::function_ref<std::string(int64_t)> init =
                              nullptr) {
    std::string list;
    for (int64_t index = 0; index < R * m; ++index) {
      list += llvm::formatv("{0}%{1}{2}_{3}", index ? ", " : "", prefix,
                            index / m, index % m);
      if (init)
        list += " = " + init(index);
    }
    return list;
  };
  std::string f32s;
  for (int64_t i = 0; i < R * m; ++i)
    f32s += i ? ", f32" : "f32";

  os << llvm::formatv(
      "    gpu.func @{0}(%x: {1}, %w: {2}, %s: {3}, %y: {4}) kernel "
      "attributes {{known_block_size = array<i32: {5}, 1, 1>} {{\n",
      gemvKernelName(shape), xType, wType, sType, yType, kGemvThreadsPerBlock);
  os << llvm::formatv(R"(      %c0 = arith.constant 0 : index
      %c4 = arith.constant 4 : index
      %c32 = arith.constant 32 : index
      %chunks = arith.constant {0} : index
      %chunksPerGroup = arith.constant {1} : index
      %rowsPerBlock = arith.constant {2} : index
      %rowsPerWarp = arith.constant {3} : index
      %lane = gpu.lane_id
      %tid = gpu.thread_id x
      %warp = arith.divui %tid, %c32 : index
      %block = gpu.block_id x
      %blockRow = arith.muli %block, %rowsPerBlock : index
      %warpRow = arith.muli %warp, %rowsPerWarp : index
      %row0 = arith.addi %blockRow, %warpRow : index
      %zero = arith.constant 0.0 : f32
      %mask = arith.constant dense<983055> : vector<4xi32>
      %magic = arith.constant dense<1677747200> : vector<4xi32>
      %bias = arith.constant dense<1032.0> : vector<8xf16>
      %width = arith.constant 32 : i32
)",
                      k / 32, g / 32, gemvRowsPerBlock(shape), R);
  for (int64_t r = 1; r < R; ++r)
    os << llvm::formatv("      %r{0} = arith.constant {0} : index\n"
                        "      %row{0} = arith.addi %row0, %r{0} : index\n",
                        r);
  for (int64_t t = 1; t < 4; ++t)
    os << llvm::formatv(
        "      %shift{0} = arith.constant dense<{1}> : vector<4xi32>\n", t,
        4 * t);
  for (int64_t t = 1; t < 4; ++t)
    os << llvm::formatv("      %xoff{0} = arith.constant {1} : index\n", t,
                        8 * t);
  for (int64_t i = 0; i < m; ++i)
    os << llvm::formatv("      %m{0} = arith.constant {0} : index\n", i);
  for (int64_t u = 0; u < 4; ++u)
    os << llvm::formatv("      %off{0} = arith.constant {1} : index\n", u,
                        32 * u);
  for (int64_t offset : {16, 8, 4, 2, 1})
    os << llvm::formatv("      %lane{0} = arith.constant {0} : i32\n", offset);

  // One chunk of 32 codes per row: its loads, dequantization and products.
  // Values get `tag` in their names; `in` and the tag's %n are the
  // accumulators before and after.
  static const std::regex local(
      "%(wcol|xcol|group|(?:w|sh|s|xc|x|ws|wm|wo|wf|v|p|q|h8|l8|f4|h4|l4|f2|"
      "e|d|g|n)\\d)");
  auto writeChunk = [&](llvm::StringRef tag, llvm::StringRef chunkIndex,
                        llvm::StringRef in) {
    std::string text;
    llvm::raw_string_ostream chunk(text);
    chunk << "        %wcol = arith.muli {C}, %c4 : index\n"
             "        %xcol = arith.muli {C}, %c32 : index\n"
             "        %group = arith.divui {C}, %chunksPerGroup : index\n";
    for (int64_t r = 0; r < R; ++r)
      chunk << llvm::formatv("        %w{0} = vector.load %w[%row{0}, %wcol] "
                             "{{alignment = 16 : i64} : {1}, vector<4xi32>\n",
                             r, wType);
    for (int64_t r = 0; r < R; ++r)
      chunk << llvm::formatv(
          "        %sh{0} = memref.load %s[%row{0}, %group] : {1}\n"
          "        %s{0} = arith.extf %sh{0} : f16 to f32\n",
          r, sType);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t t = 0; t < 4; ++t) {
        if (t)
          chunk << llvm::formatv(
              "        %xc{0}_{1} = arith.addi %xcol, %xoff{1} : index\n", i,
              t);
        chunk << llvm::formatv("        %x{0}_{1} = vector.load %x[%m{0}, {2}] "
                               "{{alignment = 16 : i64} : {3}, vector<8xf16>\n",
                               i, t,
                               t ? llvm::formatv("%xc{0}_{1}", i, t).str()
                                 : std::string("%xcol"),
                               xType);
      }
    for (int64_t r = 0; r < R; ++r) {
      for (int64_t t = 0; t < 4; ++t) {
        std::string word = llvm::formatv("%w{0}", r);
        if (t) {
          chunk << llvm::formatv("        %ws{0}_{1} = arith.shrui %w{0}, "
                                 "%shift{1} : vector<4xi32>\n",
                                 r, t);
          word = llvm::formatv("%ws{0}_{1}", r, t);
        }
        chunk << llvm::formatv(
            "        %wm{0}_{1} = arith.andi {2}, %mask : vector<4xi32>\n"
            "        %wo{0}_{1} = arith.ori %wm{0}_{1}, %magic : "
            "vector<4xi32>\n"
            "        %wf{0}_{1} = vector.bitcast %wo{0}_{1} : vector<4xi32> to "
            "vector<8xf16>\n"
            "        %v{0}_{1} = arith.subf %wf{0}_{1}, %bias : "
            "vector<8xf16>\n",
            r, t, word);
      }
      // Four products of each lane element in f16 (|code| <= 8), then f32.
      for (int64_t i = 0; i < m; ++i) {
        chunk << llvm::formatv(
            "        %p{0}_{1}_0 = arith.mulf %v{0}_0, %x{1}_0 "
            "fastmath<contract> : vector<8xf16>\n",
            r, i);
        for (int64_t t = 1; t < 4; ++t)
          chunk << llvm::formatv(
              "        %q{0}_{1}_{2} = arith.mulf %v{0}_{2}, %x{1}_{2} "
              "fastmath<contract> : vector<8xf16>\n"
              "        %p{0}_{1}_{2} = arith.addf %q{0}_{1}_{2}, %p{0}_{1}_{3} "
              "fastmath<contract> : vector<8xf16>\n",
              r, i, t, t - 1);
        // Up to four activation rows, halve the eight f16 sums twice in f16
        // (fewer conversions); past that the extra values spill, so the
        // eight go to f32 at once.
        if (m <= 4)
          chunk << llvm::formatv(
              "        %h8{0}_{1} = vector.shuffle %p{0}_{1}_3, %p{0}_{1}_3 "
              "[4, 5, 6, 7] : vector<8xf16>, vector<8xf16>\n"
              "        %l8{0}_{1} = vector.shuffle %p{0}_{1}_3, %p{0}_{1}_3 "
              "[0, 1, 2, 3] : vector<8xf16>, vector<8xf16>\n"
              "        %f4{0}_{1} = arith.addf %l8{0}_{1}, %h8{0}_{1} : "
              "vector<4xf16>\n"
              "        %h4{0}_{1} = vector.shuffle %f4{0}_{1}, %f4{0}_{1} [2, "
              "3] : vector<4xf16>, vector<4xf16>\n"
              "        %l4{0}_{1} = vector.shuffle %f4{0}_{1}, %f4{0}_{1} [0, "
              "1] : vector<4xf16>, vector<4xf16>\n"
              "        %f2{0}_{1} = arith.addf %l4{0}_{1}, %h4{0}_{1} : "
              "vector<2xf16>\n"
              "        %e{0}_{1} = arith.extf %f2{0}_{1} : vector<2xf16> to "
              "vector<2xf32>\n"
              "        %d{0}_{1} = vector.reduction <add>, %e{0}_{1} "
              "fastmath<reassoc> : vector<2xf32> into f32\n",
              r, i);
        else
          chunk << llvm::formatv(
              "        %e{0}_{1} = arith.extf %p{0}_{1}_3 : vector<8xf16> to "
              "vector<8xf32>\n"
              "        %d{0}_{1} = vector.reduction <add>, %e{0}_{1} "
              "fastmath<reassoc> : vector<8xf32> into f32\n",
              r, i);
        chunk << llvm::formatv(
            // mulf + addf that may contract: math.fma would become a
            // libdevice call.
            "        %g{0}_{1} = arith.mulf %d{0}_{1}, %s{0} "
            "fastmath<contract> "
            ": f32\n"
            "        %n{0}_{1} = arith.addf %g{0}_{1}, %a{0}_{1} "
            "fastmath<contract> "
            ": f32\n",
            r, i);
      }
    }
    text = std::regex_replace(text, local, "%" + tag.str() + "$1");
    for (auto [from, to] : {std::pair{llvm::StringRef("{C}"), chunkIndex},
                            std::pair{llvm::StringRef("%a"), in}})
      for (size_t at = 0; (at = text.find(from.str(), at)) != std::string::npos;
           at += to.size())
        text.replace(at, from.size(), to.str());
    os << text;
  };

  // Lanes take chunks lane-strided (a warp's loads of one row are 512
  // consecutive bytes), `unroll` chunks a step so that that many 16-byte
  // loads per row are in flight; the chunks left over take a second loop.
  const int64_t unroll = m == 1 ? 4 : m <= 4 ? 2 : 1;
  // Past four rows of activations the registers are spent on those rows:
  // a single lane-strided loop, which LLVM cannot unroll, keeps them in
  // registers.
  const int64_t steps = m > 4 ? 0 : k / 32 / (32 * unroll);
  os << llvm::formatv("      %steps = arith.constant {0} : index\n"
                      "      %c1 = arith.constant 1 : index\n"
                      "      %stride = arith.constant {1} : index\n"
                      "      %main:{2} = scf.for %it = %c0 to %steps step %c1 "
                      "iter_args({3}) -> ({4}) {{\n"
                      "        %itBase = arith.muli %it, %stride : index\n"
                      "        %base = arith.addi %itBase, %lane : index\n",
                      steps, 32 * unroll, R * m,
                      accumulators("a", [](int64_t) { return "%zero"; }), f32s);
  for (int64_t u = 0; u < unroll; ++u) {
    std::string tag = llvm::formatv("u{0}", u);
    os << llvm::formatv("        %chunk{0} = arith.addi %base, %off{0} : "
                        "index\n",
                        u);
    writeChunk(tag, llvm::formatv("%chunk{0}", u).str(),
               u ? llvm::formatv("%u{0}n", u - 1).str() : "%a");
  }
  os << "        scf.yield "
     << accumulators("u" + std::to_string(unroll - 1) + "n") << " : " << f32s
     << "\n      }\n";
  os << llvm::formatv(
      "      %restStart = arith.constant {0} : index\n"
      "      %rest = arith.addi %restStart, %lane : index\n"
      "      %sums:{1} = scf.for %c = %rest to %chunks step "
      "%c32 iter_args({2}) -> ({3}) {{\n",
      32 * unroll * steps, R * m,
      accumulators(
          "b", [](int64_t index) { return "%main#" + std::to_string(index); }),
      f32s);
  writeChunk("r", "%c", "%b");
  os << "        scf.yield " << accumulators("rn") << " : " << f32s << "\n";
  os << "      }\n";

  // Butterfly sums over the warp; lane 0 writes.
  int64_t index = 0;
  for (int64_t r = 0; r < R; ++r)
    for (int64_t i = 0; i < m; ++i, ++index) {
      std::string value = llvm::formatv("%sums#{0}", index);
      for (int64_t offset : {16, 8, 4, 2, 1}) {
        os << llvm::formatv(
            "      %sf{0}_{1}_{2}, %ok{0}_{1}_{2} = gpu.shuffle xor {3}, "
            "%lane{2}, %width : f32\n"
            "      %t{0}_{1}_{2} = arith.addf {3}, %sf{0}_{1}_{2} : f32\n",
            r, i, offset, value);
        value = llvm::formatv("%t{0}_{1}_{2}", r, i, offset);
      }
      os << llvm::formatv("      %h{0}_{1} = arith.truncf {2} : f32 to f16\n",
                          r, i, value);
    }
  os << "      %first = arith.cmpi eq, %lane, %c0 : index\n"
        "      scf.if %first {\n";
  for (int64_t r = 0; r < R; ++r)
    for (int64_t i = 0; i < m; ++i)
      os << llvm::formatv(
          "        memref.store %h{0}_{1}, %y[%m{1}, %row{0}] : {2}\n", r, i,
          yType);
  os << "      }\n      gpu.return\n    }\n";
}

std::unique_ptr<MLIRContext> mlir::lowbit::gpu::createKernelContext() {
  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllGPUToLLVMIRTranslations(registry);
  NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  LLVMInitializeNVPTXTarget();
  LLVMInitializeNVPTXTargetInfo();
  LLVMInitializeNVPTXTargetMC();
  LLVMInitializeNVPTXAsmPrinter();
  return std::make_unique<MLIRContext>(registry);
}

llvm::Expected<OwningOpRef<ModuleOp>> mlir::lowbit::gpu::buildKernels(
    MLIRContext &context, llvm::ArrayRef<GemvShape> gemv,
    llvm::ArrayRef<MmaShape> mma, llvm::ArrayRef<W8A8Shape> w8a8,
    llvm::StringRef chip, const DecodeShape *decode) {
  if (!chip.starts_with("sm_"))
    return makeError("unknown GPU chip '" + chip +
                     "' (expected sm_80, sm_90, ...)");
  for (const GemvShape &shape : gemv)
    if (llvm::Error error = verifyGemvShape(shape))
      return std::move(error);
  for (const MmaShape &shape : mma)
    if (llvm::Error error = verifyMmaShape(shape))
      return std::move(error);
  for (const W8A8Shape &shape : w8a8)
    if (llvm::Error error = verifyW8A8Shape(shape))
      return std::move(error);
  std::vector<MmaShape> mmaShapes(mma.begin(), mma.end());
  std::optional<DecodePlan> plan;
  if (decode) {
    if (llvm::Error error = verifyDecodeShape(*decode))
      return std::move(error);
    plan = planDecode(*decode);
    for (const MmaShape &shape : plan->mma)
      if (llvm::none_of(mmaShapes, [&](const MmaShape &other) {
            return mmaKernelName(other) == mmaKernelName(shape);
          }))
        mmaShapes.push_back(shape);
  }
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "module attributes {gpu.container_module} {\n"
     << llvm::formatv("  gpu.module @lowbit_kernels [#nvvm.target<chip = "
                      "\"{0}\", features = \"+ptx80\", O = 3>] {{\n",
                      chip);
  for (const GemvShape &shape : gemv)
    writeGemvKernel(os, shape);
  if (plan)
    writeDecodeKernels(os, *decode, *plan);
  os << "  }\n}\n";
  context.loadDialect<arith::ArithDialect, mlir::gpu::GPUDialect,
                      LLVM::LLVMDialect, memref::MemRefDialect,
                      NVVM::NVVMDialect, nvgpu::NVGPUDialect, scf::SCFDialect,
                      vector::VectorDialect>();
  DiagnosticCollector diagnostics(&context);
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(text, &context, "lowbit-kernels");
  if (!module) {
    // A LowBit bug: the locations point into the generated text.
    if (const char *dump = std::getenv("LOWBIT_DUMP_KERNELS")) {
      std::error_code error;
      llvm::raw_fd_ostream(dump, error) << text;
    }
    return makeError("the generated GPU kernels do not parse (a LowBit "
                     "bug; LOWBIT_DUMP_KERNELS=FILE writes them): " +
                     diagnostics.text);
  }
  auto kernels = *module->getOps<mlir::gpu::GPUModuleOp>().begin();
  OpBuilder builder(&context);
  builder.setInsertionPointToEnd(kernels.getBody());
  for (const MmaShape &shape : mmaShapes)
    emitMmaKernel(builder, UnknownLoc::get(&context), shape);
  for (const W8A8Shape &shape : w8a8)
    emitW8A8Kernel(builder, UnknownLoc::get(&context), shape);
  if (failed(mlir::verify(*module)))
    return makeError("the generated tensor-core kernels do not verify (a "
                     "LowBit bug): " +
                     diagnostics.text);
  // Folded, so that the IR printed is the IR that matters.
  PassManager pm(&context);
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  if (failed(pm.run(*module)))
    return makeError("simplifying the GPU kernels failed: " + diagnostics.text);
  return module;
}

llvm::Expected<std::string>
mlir::lowbit::gpu::lowerToPtx(ModuleOp module, llvm::StringRef chip) {
  PassManager pm(module.getContext());
  mlir::gpu::GPUToNVVMPipelineOptions options;
  options.cubinChip = chip.str();
  options.cubinFeatures = "+ptx80";
  options.cubinFormat = "isa";
  options.optLevel = 3;
  options.kernelUseBarePtrCallConv = true;
  mlir::gpu::buildLowerToNVVMPassPipeline(pm, options);
  DiagnosticCollector diagnostics(module.getContext());
  if (failed(pm.run(module)))
    return makeError("lowering the GPU kernels to PTX failed: " +
                     diagnostics.text);
  std::string ptx;
  module.walk([&](mlir::gpu::BinaryOp binary) {
    for (Attribute object : binary.getObjects())
      if (auto gpuObject = dyn_cast<mlir::gpu::ObjectAttr>(object))
        if (auto target = dyn_cast<NVVM::NVVMTargetAttr>(gpuObject.getTarget()))
          if (target.getChip() == chip)
            ptx = gpuObject.getObject().str();
  });
  if (ptx.empty())
    return makeError("the NVVM pipeline produced no PTX for " + chip);
  return ptx;
}

static llvm::Expected<std::string> findPtxas() {
  llvm::SmallVector<std::string> candidates;
  if (const char *cudaPath = std::getenv("CUDA_PATH"))
    candidates.push_back(std::string(cudaPath) + "/bin/ptxas");
  candidates.push_back("/usr/local/cuda/bin/ptxas");
  for (const std::string &candidate : candidates)
    if (llvm::sys::fs::can_execute(candidate))
      return candidate;
  if (llvm::ErrorOr<std::string> onPath = llvm::sys::findProgramByName("ptxas"))
    return *onPath;
  return makeError("ptxas not found (install the CUDA toolkit or set "
                   "CUDA_PATH)");
}

llvm::Expected<std::vector<char>>
mlir::lowbit::gpu::assemblePtx(llvm::StringRef ptx, llvm::StringRef chip,
                               std::string *report) {
  llvm::Expected<std::string> ptxas = findPtxas();
  if (!ptxas)
    return ptxas.takeError();
  llvm::SmallString<128> input, output, log;
  for (auto [path, suffix] :
       {std::pair{&input, "ptx"}, std::pair{&output, "cubin"},
        std::pair{&log, "log"}})
    if (std::error_code error =
            llvm::sys::fs::createTemporaryFile("lowbit", suffix, *path))
      return makeError("cannot create a temporary file: " + error.message());
  llvm::scope_exit cleanup([&] {
    llvm::sys::fs::remove(input);
    llvm::sys::fs::remove(output);
    llvm::sys::fs::remove(log);
  });
  {
    std::error_code error;
    llvm::raw_fd_ostream os(input, error);
    if (error)
      return makeError(input + ": " + error.message());
    os << ptx;
  }
  std::string arch = "-arch=" + chip.str();
  llvm::SmallVector<llvm::StringRef> args = {*ptxas, arch, "-O3", "-v",
                                             input,  "-o", output};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, log.str(),
                                                log.str()};
  std::string errorMessage;
  int status = llvm::sys::ExecuteAndWait(*ptxas, args, std::nullopt, redirects,
                                         0, 0, &errorMessage);
  auto logText = llvm::MemoryBuffer::getFile(log);
  std::string logString = logText ? (*logText)->getBuffer().str() : "";
  if (status != 0)
    return makeError("ptxas failed" +
                     (errorMessage.empty() ? "" : ": " + errorMessage) + "\n" +
                     logString);
  if (report)
    *report = logString;
  auto cubin = llvm::MemoryBuffer::getFile(output, /*IsText=*/false);
  if (!cubin)
    return makeError(output + ": " + cubin.getError().message());
  return std::vector<char>((*cubin)->getBufferStart(),
                           (*cubin)->getBufferEnd());
}
