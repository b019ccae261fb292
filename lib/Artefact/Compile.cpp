//===- Compile.cpp - A model as a shared library and a weight file --------===//
//
// The model is lowered through lowbit-to-llvm for the chosen target with its
// large constants as external globals. Each such global becomes a pointer
// slot (`__lowbit_weight_<name>`, exported, null until the runtime sets it)
// and every use of its address a load of the slot, so that the code reads
// the weights where the runtime has mapped them. LLVM then optimizes and
// compiles the module to an object file, ld.lld links it into model.so, and
// the weights, the manifest and the tokenizer are written beside it. The
// module is split into parts that are optimized and compiled on every core.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Artefact/Compile.h"
#include "lowbit/Artefact/Format.h"
#include "lowbit/Model/LlamaBuilder.h"
#include "lowbit/Pipelines/Pipelines.h"
#include "lowbit/Runner/JitModule.h"
#include "lowbit/Tokenizer/Tokenizer.h"
#include "lowbit/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/Transforms/Utils/SplitModule.h"

#include <atomic>
#include <chrono>
#include <thread>

using namespace mlir;
using namespace mlir::lowbit;
namespace fmt = ::lowbit::artefact;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

namespace {
struct Target {
  std::string kernels; // lowbit-to-llvm's target option
  std::string cpu, features;
};

/// The compiler's view of an artefact target.
llvm::Expected<Target> resolveTarget(llvm::StringRef name) {
  if (name == "x86-64")
    return Target{"avx2", "x86-64-v3", ""};
  if (name == "x86-64-avx512")
    return Target{"avx512", "x86-64-v4", ""};
  if (name == "x86-64-avx512-vnni")
    return Target{"avx512-vnni", "x86-64-v4", "+avx512vnni"};
  if (name == "host") {
    std::string features;
    for (const auto &feature : llvm::sys::getHostCPUFeatures())
      features += (features.empty() ? "" : ",") +
                  std::string(feature.second ? "+" : "-") +
                  feature.first().str();
    return Target{"host", llvm::sys::getHostCPUName().str(), features};
  }
  if (name == "cuda")
    return makeError("--target cuda: GPU artefacts are built from a "
                     "checkpoint by compileCudaArtefact, not from lowered IR");
  return makeError("unknown target '" + name +
                   "' (x86-64, x86-64-avx512, x86-64-avx512-vnni, host, cuda)");
}

using Weight = ArtefactWeight;

/// The blobs behind the external weight globals, in name order.
llvm::Expected<std::vector<Weight>> collectWeights(ModuleOp module) {
  std::vector<Weight> weights;
  auto records =
      module->getAttrOfType<DictionaryAttr>(kExternalWeightsAttrName);
  if (!records)
    return weights;
  for (NamedAttribute record : records) {
    auto weight = dyn_cast<DenseResourceElementsAttr>(record.getValue());
    AsmResourceBlob *blob = weight ? weight.getRawHandle().getBlob() : nullptr;
    if (!blob)
      return makeError("the data of external weight @" +
                       record.getName().getValue() +
                       " is missing from the module");
    weights.push_back({record.getName().str(), blob->getData()});
  }
  return weights;
}

/// Every external weight global becomes a pointer slot that the runtime
/// sets; its address is loaded from the slot where it was used.
LogicalResult redirectWeightsThroughSlots(ModuleOp module,
                                          llvm::ArrayRef<Weight> weights) {
  OpBuilder builder(module.getContext());
  auto pointer = LLVM::LLVMPointerType::get(module.getContext());
  llvm::StringMap<LLVM::GlobalOp> slots;
  for (const Weight &weight : weights) {
    auto global = module.lookupSymbol<LLVM::GlobalOp>(weight.name);
    if (!global)
      return module.emitError() << "no LLVM global for weight @"
                                << weight.name;
    builder.setInsertionPoint(global);
    auto slot = LLVM::GlobalOp::create(
        builder, global.getLoc(), pointer, /*isConstant=*/false,
        LLVM::Linkage::External, fmt::kWeightSlotPrefix + weight.name,
        Attribute());
    Block *init = builder.createBlock(&slot.getInitializerRegion());
    builder.setInsertionPointToStart(init);
    Value null = LLVM::ZeroOp::create(builder, global.getLoc(), pointer);
    LLVM::ReturnOp::create(builder, global.getLoc(), null);
    slots[weight.name] = slot;
  }
  WalkResult walk = module.walk([&](LLVM::AddressOfOp address) {
    auto it = slots.find(address.getGlobalName());
    if (it == slots.end())
      return WalkResult::advance();
    builder.setInsertionPoint(address);
    Value slot = LLVM::AddressOfOp::create(builder, address.getLoc(),
                                           it->second);
    Value loaded =
        LLVM::LoadOp::create(builder, address.getLoc(), pointer, slot);
    address.getResult().replaceAllUsesWith(loaded);
    address.erase();
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  for (const Weight &weight : weights)
    module.lookupSymbol<LLVM::GlobalOp>(weight.name).erase();
  return success();
}

} // namespace

llvm::Error mlir::lowbit::writeArtefactFile(llvm::StringRef path,
                                            llvm::StringRef contents) {
  std::error_code error;
  llvm::raw_fd_ostream os(path, error);
  if (error)
    return makeError(path + ": " + error.message());
  os << contents;
  os.close();
  if (os.has_error())
    return makeError(path + ": write failed");
  return llvm::Error::success();
}

llvm::Error
mlir::lowbit::writeWeightFile(llvm::StringRef path,
                              llvm::ArrayRef<ArtefactWeight> weights) {
  // The index first, then the data at page-aligned offsets.
  uint64_t indexEnd = sizeof(fmt::WeightsHeader);
  for (const Weight &weight : weights)
    indexEnd = fmt::alignTo(indexEnd + 4 + weight.name.size(), 8) +
               sizeof(fmt::WeightRecord);
  std::vector<fmt::WeightRecord> records;
  uint64_t at = fmt::alignTo(indexEnd, fmt::kWeightAlignment);
  for (const Weight &weight : weights) {
    records.push_back({at, weight.bytes.size(),
                       fmt::hashBytes(weight.bytes.data(),
                                      weight.bytes.size())});
    at = fmt::alignTo(at + weight.bytes.size(), fmt::kWeightAlignment);
  }
  uint64_t fileSize = records.empty()
                          ? indexEnd
                          : records.back().offset + records.back().size;
  std::error_code error;
  llvm::raw_fd_ostream os(path, error);
  if (error)
    return makeError(path + ": " + error.message());
  fmt::WeightsHeader header{};
  std::memcpy(header.magic, fmt::kWeightsMagic, sizeof(header.magic));
  header.version = fmt::kWeightsVersion;
  header.count = uint32_t(weights.size());
  header.fileSize = fileSize;
  os.write(reinterpret_cast<const char *>(&header), sizeof(header));
  uint64_t written = sizeof(header);
  auto pad = [&](uint64_t to) {
    for (; written < to; ++written)
      os << '\0';
  };
  for (auto [weight, record] : llvm::zip(weights, records)) {
    uint32_t length = uint32_t(weight.name.size());
    os.write(reinterpret_cast<const char *>(&length), 4);
    os << weight.name;
    written += 4 + length;
    pad(fmt::alignTo(written, 8));
    os.write(reinterpret_cast<const char *>(&record), sizeof(record));
    written += sizeof(record);
  }
  for (auto [weight, record] : llvm::zip(weights, records)) {
    pad(record.offset);
    os.write(weight.bytes.data(), weight.bytes.size());
    written += weight.bytes.size();
  }
  os.close();
  if (os.has_error())
    return makeError(path + ": write failed");
  return llvm::Error::success();
}

namespace {
/// ld.lld of this LLVM (beside its tools), else the one on PATH.
llvm::Expected<std::string> findLinker() {
  for (const char *name : {"ld.lld-22", "ld.lld"}) {
    auto found = llvm::sys::findProgramByName(name, {"/usr/lib/llvm-22/bin"});
    if (found)
      return *found;
    found = llvm::sys::findProgramByName(name);
    if (found)
      return *found;
  }
  return makeError("ld.lld is not installed (it links the artefact's "
                   "shared library; install lld)");
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
      .count();
}
} // namespace

llvm::Error mlir::lowbit::checkArtefactTarget(llvm::StringRef target) {
  if (target == "cuda")
    return llvm::Error::success();
  return resolveTarget(target).takeError();
}

llvm::Error mlir::lowbit::compileArtefact(ModuleOp module,
                                          const ::lowbit::Tokenizer &tokenizer,
                                          llvm::StringRef directory,
                                          const ArtefactOptions &options,
                                          llvm::raw_ostream &log) {
  llvm::Expected<Target> target = resolveTarget(options.target);
  if (!target)
    return target.takeError();

  // What the runtime needs to call the entry points.
  auto model = module->getAttrOfType<DictionaryAttr>(kModelAttr);
  if (!model)
    return makeError("the module is not a LowBit model (no '" + kModelAttr +
                     "' attribute)");
  auto getInt = [&](llvm::StringRef key) -> int64_t {
    auto attr = model.getAs<IntegerAttr>(key);
    return attr ? attr.getInt() : -1;
  };
  std::vector<int64_t> entries;
  FunctionType signature;
  for (auto function : module.getOps<func::FuncOp>()) {
    llvm::StringRef name = function.getName();
    int64_t tokens;
    if (name.consume_front("forward_") && !name.getAsInteger(10, tokens)) {
      entries.push_back(tokens);
      signature = function.getFunctionType();
    }
  }
  if (entries.empty() || signature.getNumInputs() != 4)
    return makeError("the model has no @forward_T(tokens, position, key "
                     "cache, value cache) entry point");
  llvm::sort(entries);
  std::string manifest = llvm::formatv("{0} {1}\nvocab {2}\ncontext {3}\n"
                                       "target {4}\nentries",
                                       fmt::kManifestMagic,
                                       fmt::kManifestVersion,
                                       getInt("vocab"), getInt("cache_length"),
                                       options.target)
                             .str();
  for (int64_t tokens : entries)
    manifest += " " + std::to_string(tokens);
  for (auto [key, arg] : {std::pair{"key_cache", 2u}, {"value_cache", 3u}}) {
    auto type = dyn_cast<RankedTensorType>(signature.getInput(arg));
    if (!type || type.getRank() != 4 || !type.hasStaticShape())
      return makeError("the entry points' caches are not static rank-4 "
                       "tensors");
    manifest += std::string("\n") + key;
    for (int64_t extent : type.getShape())
      manifest += " " + std::to_string(extent);
  }
  manifest += "\n";

  if (std::error_code error = llvm::sys::fs::create_directories(directory))
    return makeError(directory + ": " + error.message());

  auto start = std::chrono::steady_clock::now();
  PassManager pm(module.getContext());
  LowerToLLVMOptions lowering;
  lowering.target = target->kernels;
  buildLowerToLLVMPipeline(pm, lowering);
  // Honours --mlir-timing and friends where the tool registered them.
  (void)applyPassManagerCLOptions(pm);
  applyDefaultTimingPassManagerCLOptions(pm);
  if (failed(pm.run(module)))
    return makeError("lowering to the LLVM dialect failed (see above)");
  llvm::Expected<std::vector<Weight>> weights = collectWeights(module);
  if (!weights)
    return weights.takeError();
  if (failed(redirectWeightsThroughSlots(module, *weights)))
    return makeError("redirecting the weights through slots failed");
  log << llvm::format("lowered in %.1f s\n", secondsSince(start));

  start = std::chrono::steady_clock::now();
  registerBuiltinDialectTranslation(*module.getContext());
  registerLLVMDialectTranslation(*module.getContext());
  registerOpenMPDialectTranslation(*module.getContext());
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, llvmContext, "lowbit_model");
  if (!llvmModule)
    return makeError("translation to LLVM IR failed");
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string lookupError;
  const llvm::Target *llvmTarget =
      llvm::TargetRegistry::lookupTarget(triple, lookupError);
  if (!llvmTarget)
    return makeError("no LLVM target for " + triple.str() + ": " +
                     lookupError);
  llvm::TargetOptions targetOptions;
  std::unique_ptr<llvm::TargetMachine> machine(
      llvmTarget->createTargetMachine(triple, target->cpu, target->features,
                                      targetOptions, llvm::Reloc::PIC_));
  llvmModule->setDataLayout(machine->createDataLayout());
  llvmModule->setTargetTriple(triple);
  // LLVM's optimizer and code generator work on one module at a time: cut
  // the module into parts (each nest is a function of its own, so little is
  // lost) and compile them on threads, each in a context of its own, into
  // object files that the linker joins. Four parts a core, taken from a
  // shared counter, keep every core busy when the parts differ in size.
  unsigned cores = std::max(1u, std::thread::hardware_concurrency());
  unsigned parts = 4 * cores;
  std::vector<llvm::SmallString<0>> bitcodes;
  llvm::SplitModule(
      *llvmModule, parts,
      [&](std::unique_ptr<llvm::Module> part) {
        llvm::SmallString<0> bitcode;
        llvm::raw_svector_ostream os(bitcode);
        llvm::WriteBitcodeToFile(*part, os);
        bitcodes.push_back(std::move(bitcode));
      },
      /*PreserveLocals=*/false);
  llvmModule.reset();
  std::vector<std::string> objectPaths(bitcodes.size()), errors(bitcodes.size());
  auto compilePart = [&](size_t index) {
    llvm::LLVMContext partContext;
    auto part = llvm::parseBitcodeFile(
        llvm::MemoryBufferRef(llvm::StringRef(bitcodes[index].data(),
                                              bitcodes[index].size()),
                              "part"),
        partContext);
    if (!part) {
      errors[index] = llvm::toString(part.takeError());
      return;
    }
    std::unique_ptr<llvm::TargetMachine> partMachine(
        llvmTarget->createTargetMachine(triple, target->cpu, target->features,
                                        targetOptions, llvm::Reloc::PIC_));
    auto optimize =
        makeOptimizingTransformer(options.optLevel, 0, partMachine.get());
    if (llvm::Error error = optimize(part->get())) {
      errors[index] = llvm::toString(std::move(error));
      return;
    }
    llvm::SmallString<256> path(directory);
    llvm::sys::path::append(path, "model." + std::to_string(index) + ".o");
    std::error_code error;
    llvm::raw_fd_ostream object(path, error);
    if (error) {
      errors[index] = (path + ": " + error.message()).str();
      return;
    }
    llvm::legacy::PassManager codegen;
    if (partMachine->addPassesToEmitFile(codegen, object, nullptr,
                                         llvm::CodeGenFileType::ObjectFile)) {
      errors[index] = "the target cannot emit object files";
      return;
    }
    codegen.run(**part);
    objectPaths[index] = path.str().str();
  };
  std::atomic<size_t> nextPart{0};
  std::vector<std::thread> workers;
  for (unsigned worker = 0; worker < std::min<size_t>(cores, bitcodes.size());
       ++worker)
    workers.emplace_back([&] {
      for (size_t index; (index = nextPart++) < bitcodes.size();)
        compilePart(index);
    });
  for (std::thread &worker : workers)
    worker.join();
  for (const std::string &error : errors)
    if (!error.empty())
      return makeError("compiling the model failed: " + error);
  log << llvm::format("compiled (%s, %s) in %.1f s\n", options.target.c_str(),
                      target->cpu.c_str(), secondsSince(start));

  // model.so, needing libomp (found through its rpath) and libc.
  llvm::Expected<std::string> linker = findLinker();
  if (!linker)
    return linker.takeError();
  llvm::SmallString<256> libraryPath(directory);
  llvm::sys::path::append(libraryPath, fmt::kLibraryFile);
  std::string openMP = findOpenMPRuntime();
  std::string openMPDir = llvm::sys::path::parent_path(openMP).str();
  llvm::SmallVector<llvm::StringRef> args = {*linker, "-shared", "-o",
                                             libraryPath};
  for (const std::string &object : objectPaths)
    args.push_back(object);
  std::string rpath = "-rpath=" + openMPDir;
  if (!openMPDir.empty()) {
    args.push_back(openMP);
    args.push_back(rpath);
  } else {
    args.push_back("-lomp");
  }
  std::string linkError;
  if (llvm::sys::ExecuteAndWait(*linker, args, std::nullopt, {}, 0, 0,
                                &linkError) != 0)
    return makeError("linking " + libraryPath + " failed" +
                     (linkError.empty() ? "" : ": " + linkError));
  for (const std::string &object : objectPaths)
    llvm::sys::fs::remove(object);

  llvm::SmallString<256> path(directory);
  llvm::sys::path::append(path, fmt::kWeightsFile);
  if (llvm::Error error = writeWeightFile(path, *weights))
    return error;
  path = directory;
  llvm::sys::path::append(path, fmt::kTokenizerFile);
  if (llvm::Error error = writeArtefactFile(path, tokenizer.serialize()))
    return error;
  path = directory;
  llvm::sys::path::append(path, fmt::kManifestFile);
  if (llvm::Error error = writeArtefactFile(path, manifest))
    return error;
  uint64_t weightBytes = 0;
  for (const Weight &weight : *weights)
    weightBytes += weight.bytes.size();
  log << "wrote " << directory << ": " << fmt::kLibraryFile << ", "
      << fmt::kWeightsFile << " (" << weights->size() << " weights, "
      << weightBytes << " bytes), " << fmt::kTokenizerFile << ", "
      << fmt::kManifestFile << "\n";
  return llvm::Error::success();
}
