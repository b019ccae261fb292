//===- JitModule.cpp - JIT-compile and call functions on tensors ----------===//

#include "lowbit/Runner/JitModule.h"
#include "lowbit/Conversion/LowBitToLinalg/LowBitToLinalg.h"
#include "lowbit/Pipelines/Pipelines.h"
#include "lowbit/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/DebugStringHelper.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/OpenMP/OpenMPToLLVMIRTranslation.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Support/DynamicLibrary.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/TargetSelect.h"

#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <set>

using namespace mlir;
using namespace mlir::lowbit;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

JitModule::~JitModule() = default;

/// The OpenMP runtime that code with `omp` ops calls (`__kmpc_fork_call`,
/// ...): $LOWBIT_LIBOMP if set, else the libomp of the LLVM installation
/// that this MLIR comes from (Debian's libomp-22-dev puts it beside
/// libMLIR.so), else whatever the dynamic loader finds.
std::string mlir::lowbit::findOpenMPRuntime() {
  if (const char *path = std::getenv("LOWBIT_LIBOMP"))
    return path;
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&makeOptimizingTransformer),
             &info) &&
      info.dli_fname) {
    llvm::SmallString<256> path(llvm::sys::path::parent_path(info.dli_fname));
    llvm::sys::path::append(path, "libomp.so");
    if (llvm::sys::fs::exists(path))
      return std::string(path);
  }
  return "libomp.so.5";
}

/// Addresses of the external weight globals that lowbit-externalize-weights
/// recorded on the module: each is bound to its blob's bytes in place.
static llvm::Expected<llvm::StringMap<void *>>
collectExternalWeights(ModuleOp module) {
  llvm::StringMap<void *> addresses;
  auto records = module->getAttrOfType<DictionaryAttr>(kExternalWeightsAttrName);
  if (!records)
    return addresses;
  for (NamedAttribute record : records) {
    auto weight = dyn_cast<DenseResourceElementsAttr>(record.getValue());
    if (!weight)
      return makeError("'" + kExternalWeightsAttrName + "' entry " +
                       record.getName().getValue() +
                       " is not a dense_resource attribute");
    AsmResourceBlob *blob = weight.getRawHandle().getBlob();
    if (!blob)
      return makeError("the data of external weight @" +
                       record.getName().getValue() + " (resource '" +
                       weight.getRawHandle().getKey() +
                       "') is missing from the module");
    ArrayRef<char> bytes = blob->getData();
    auto type = weight.getType();
    int64_t expected =
        type.getNumElements() *
        int64_t(type.getElementType().getIntOrFloatBitWidth() / 8);
    if (int64_t(bytes.size()) != expected)
      return makeError("external weight @" + record.getName().getValue() +
                       " has " + llvm::Twine(bytes.size()) +
                       " bytes of data, its type needs " +
                       llvm::Twine(expected));
    addresses[record.getName().getValue()] =
        const_cast<char *>(bytes.data());
  }
  return addresses;
}

llvm::Expected<std::unique_ptr<JitModule>>
JitModule::create(ModuleOp module, const JitOptions &options) {
  std::unique_ptr<JitModule> jit(new JitModule());

  // Record the tensor signatures before lowering erases them. A module that
  // LowBit's pipeline already lowered carries them as attributes.
  for (auto function : module.getOps<func::FuncOp>()) {
    if (!function.isPublic() || function.isExternal())
      continue;
    jit->signatures[function.getName()] = function.getFunctionType();
    jit->functionNames.push_back(function.getName().str());
  }
  bool lowered = jit->functionNames.empty() &&
                 !module.getOps<LLVM::LLVMFuncOp>().empty();
  if (lowered) {
    for (auto function : module.getOps<LLVM::LLVMFuncOp>()) {
      auto signature =
          function->getAttrOfType<TypeAttr>(kTensorSignatureAttrName);
      if (!signature || !isa<FunctionType>(signature.getValue()))
        continue;
      jit->signatures[function.getName()] =
          cast<FunctionType>(signature.getValue());
      jit->functionNames.push_back(function.getName().str());
    }
    if (jit->functionNames.empty())
      return makeError("the module is in the LLVM dialect but no function "
                       "carries '" +
                       kTensorSignatureAttrName +
                       "'; lower it with quant-opt --lowbit-to-llvm");
  } else {
    PassManager pm(module.getContext());
    LowerToLLVMOptions pipeline;
    pipeline.vectorize = options.vectorize;
    pipeline.parallel = options.parallel;
    pipeline.fuse = options.fuse;
    pipeline.repack = options.repack;
    buildLowerToLLVMPipeline(pm, pipeline);
    if (failed(pm.run(module)))
      return makeError("lowering to the LLVM dialect failed");
  }

  std::vector<std::string> keys;
  if (auto keyAttr = module->getAttrOfType<ArrayAttr>(kObserverKeysAttrName))
    for (Attribute key : keyAttr)
      keys.push_back(cast<StringAttr>(key).str());
  jit->observers = std::make_unique<::lowbit::runtime::ObserverRegistry>(keys);

  // Weights stay in the context's blobs; the code reads them in place.
  llvm::Expected<llvm::StringMap<void *>> weights =
      collectExternalWeights(module);
  if (!weights)
    return weights.takeError();
  bool usesOpenMP = false;
  module.walk([&](omp::ParallelOp) {
    usesOpenMP = true;
    return WalkResult::interrupt();
  });
  if (usesOpenMP) {
    // Loaded into the process, where the JIT resolves symbols it lacks.
    std::string openMPRuntime = findOpenMPRuntime();
    std::string message;
    if (llvm::sys::DynamicLibrary::LoadLibraryPermanently(
            openMPRuntime.c_str(), &message))
      return makeError("the module runs on threads with OpenMP, but the "
                       "OpenMP runtime '" +
                       openMPRuntime + "' cannot be loaded (" + message +
                       "); install libomp or set LOWBIT_LIBOMP");
  }
  registerBuiltinDialectTranslation(*module.getContext());
  registerLLVMDialectTranslation(*module.getContext());
  registerOpenMPDialectTranslation(*module.getContext());

  static bool targetsInitialized = [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    return true;
  }();
  (void)targetsInitialized;

  ExecutionEngineOptions engineOptions;
  auto transformer = makeOptimizingTransformer(options.optLevel,
                                               /*sizeLevel=*/0, nullptr);
  engineOptions.transformer = transformer;
  engineOptions.jitCodeGenOptLevel =
      options.optLevel >= 2 ? llvm::CodeGenOptLevel::Default
                            : llvm::CodeGenOptLevel::None;
  auto engine = ExecutionEngine::create(module, engineOptions);
  if (!engine)
    return makeError("JIT compilation failed: " +
                     llvm::toString(engine.takeError()));
  jit->engine = std::move(*engine);
  jit->engine->registerSymbols([&](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap symbols;
    symbols[interner("_mlir_ciface_lowbit_observe")] = {
        llvm::orc::ExecutorAddr::fromPtr(&_mlir_ciface_lowbit_observe),
        llvm::JITSymbolFlags::Exported};
    for (const auto &weight : *weights)
      symbols[interner(weight.getKey())] = {
          llvm::orc::ExecutorAddr::fromPtr(weight.getValue()),
          llvm::JITSymbolFlags::Exported};
    return symbols;
  });
  jit->externalWeightCount = weights->size();
  jit->engine->initialize();
  // Compile now rather than on the first call: the module is one unit of
  // the JIT, so looking up one function compiles all of them. A failed
  // lookup (no C interface) is reported by invoke, with its context.
  if (!jit->functionNames.empty()) {
    auto compiled = jit->engine->lookupPacked("_mlir_ciface_" +
                                              jit->functionNames.front());
    if (!compiled)
      llvm::consumeError(compiled.takeError());
  }
  return jit;
}

llvm::Expected<FunctionType> JitModule::getSignature(StringRef name) const {
  auto it = signatures.find(name);
  if (it == signatures.end()) {
    std::string known;
    for (const std::string &candidate : functionNames)
      known += (known.empty() ? "@" : ", @") + candidate;
    return makeError("no public function @" + name + " in the module" +
                     (known.empty() ? "" : " (it has " + known + ")"));
  }
  return it->second;
}

namespace {
/// A ranked memref descriptor as MLIR's LLVM lowering lays it out:
/// {allocated, aligned, offset, sizes[rank], strides[rank]}, all 8 bytes.
struct DescriptorView {
  int64_t *words;
  int64_t rank;
  void *allocated() const { return reinterpret_cast<void *>(words[0]); }
  uint8_t *aligned() const { return reinterpret_cast<uint8_t *>(words[1]); }
  int64_t offset() const { return words[2]; }
  int64_t size(int64_t axis) const { return words[3 + axis]; }
  int64_t stride(int64_t axis) const { return words[3 + rank + axis]; }
};
} // namespace

/// Checks that `tensor` can be passed as an argument of type `type`.
static llvm::Error checkArgument(StringRef function, unsigned index, Type type,
                                 const HostTensor &tensor) {
  auto tensorType = dyn_cast<RankedTensorType>(type);
  if (!tensorType)
    return makeError("argument " + llvm::Twine(index) + " of @" + function +
                     " is not a ranked tensor; the runner passes tensors only");
  std::optional<DType> dtype = getDTypeFor(tensorType.getElementType());
  if (!dtype || *dtype != tensor.getDType())
    return makeError("argument " + llvm::Twine(index) + " of @" + function +
                     ": expected " + llvm::Twine(debugString(tensorType)) +
                     ", got " + tensor.getTypeString());
  ArrayRef<int64_t> shape = tensorType.getShape();
  bool matches = shape.size() == tensor.getShape().size();
  for (size_t axis = 0; matches && axis < shape.size(); ++axis)
    matches = ShapedType::isDynamic(shape[axis]) ||
              shape[axis] == tensor.getShape()[axis];
  if (!matches)
    return makeError("argument " + llvm::Twine(index) + " of @" + function +
                     ": expected " + llvm::Twine(debugString(tensorType)) +
                     ", got " + tensor.getTypeString());
  return llvm::Error::success();
}

/// Copies a strided memref into a dense host tensor.
static void copyStrided(const DescriptorView &view, HostTensor &out) {
  size_t elementSize = getDTypeSize(out.getDType());
  int64_t rank = view.rank;
  int64_t count = out.getNumElements();
  SmallVector<int64_t> index(rank, 0);
  uint8_t *dst = out.getData();
  for (int64_t i = 0; i < count; ++i) {
    int64_t offset = view.offset();
    for (int64_t axis = 0; axis < rank; ++axis)
      offset += index[axis] * view.stride(axis);
    std::memcpy(dst + i * elementSize, view.aligned() + offset * elementSize,
                elementSize);
    for (int64_t axis = rank - 1; axis >= 0; --axis) {
      if (++index[axis] < view.size(axis))
        break;
      index[axis] = 0;
    }
  }
}

llvm::Expected<SmallVector<HostTensor>>
JitModule::invoke(StringRef name, ArrayRef<HostTensor> args) {
  llvm::Expected<FunctionType> signature = getSignature(name);
  if (!signature)
    return signature.takeError();
  if (args.size() != signature->getNumInputs())
    return makeError("@" + name + " takes " +
                     llvm::Twine(signature->getNumInputs()) +
                     " arguments, got " + llvm::Twine(args.size()));

  // One descriptor per argument, and one block for all results.
  std::vector<std::vector<int64_t>> argDescriptors;
  std::set<void *> argumentBuffers;
  for (auto [index, arg] : llvm::enumerate(args)) {
    if (llvm::Error error =
            checkArgument(name, index, signature->getInput(index), arg))
      return std::move(error);
    std::vector<int64_t> words{reinterpret_cast<int64_t>(arg.getData()),
                               reinterpret_cast<int64_t>(arg.getData()), 0};
    ArrayRef<int64_t> shape = arg.getShape();
    words.insert(words.end(), shape.begin(), shape.end());
    SmallVector<int64_t> strides(shape.size(), 1);
    for (int64_t axis = int64_t(shape.size()) - 2; axis >= 0; --axis)
      strides[axis] = strides[axis + 1] * shape[axis + 1];
    words.insert(words.end(), strides.begin(), strides.end());
    argDescriptors.push_back(std::move(words));
    argumentBuffers.insert(const_cast<uint8_t *>(arg.getData()));
  }
  size_t resultWords = 0;
  SmallVector<RankedTensorType> resultTypes;
  for (Type type : signature->getResults()) {
    auto tensorType = dyn_cast<RankedTensorType>(type);
    if (!tensorType || !getDTypeFor(tensorType.getElementType()))
      return makeError("@" + name + " returns " + llvm::Twine(debugString(type)) +
                       "; the runner reads back ranked tensors of f32, f64, "
                       "f16, bf16 or integer elements only");
    resultTypes.push_back(tensorType);
    resultWords += 3 + 2 * tensorType.getRank();
  }
  std::vector<int64_t> results(std::max<size_t>(resultWords, 1), 0);

  SmallVector<void *> pointers;
  SmallVector<void *> packed;
  pointers.reserve(args.size() + 1);
  if (!resultTypes.empty())
    pointers.push_back(results.data());
  for (auto &words : argDescriptors)
    pointers.push_back(words.data());
  for (void *&pointer : pointers)
    packed.push_back(&pointer);

  ::lowbit::runtime::setActiveObserverRegistry(observers.get());
  llvm::Error error =
      engine->invokePacked(("_mlir_ciface_" + name).str(), packed);
  ::lowbit::runtime::setActiveObserverRegistry(nullptr);
  if (error)
    return makeError("calling @" + name + " failed: " +
                     llvm::toString(std::move(error)));
  if (!observers->getError().empty())
    return makeError("calibration observers: " + observers->getError());

  // Read the results back; the caller owns their buffers (the deallocation
  // pipeline guarantees it for public functions), so free each once.
  SmallVector<HostTensor> outputs;
  std::set<void *> freed;
  size_t offset = 0;
  for (RankedTensorType type : resultTypes) {
    DescriptorView view{&results[offset], type.getRank()};
    SmallVector<int64_t> shape;
    for (int64_t axis = 0; axis < type.getRank(); ++axis)
      shape.push_back(view.size(axis));
    HostTensor out(*getDTypeFor(type.getElementType()), shape);
    copyStrided(view, out);
    outputs.push_back(std::move(out));
    offset += 3 + 2 * type.getRank();
  }
  offset = 0;
  for (RankedTensorType type : resultTypes) {
    void *allocated = reinterpret_cast<void *>(results[offset]);
    if (allocated && !argumentBuffers.count(allocated) &&
        freed.insert(allocated).second)
      std::free(allocated);
    offset += 3 + 2 * type.getRank();
  }
  return outputs;
}

llvm::Error JitModule::invokePacked(StringRef name,
                                    MutableArrayRef<void *> packedArgs) {
  if (llvm::Error error =
          engine->invokePacked(("_mlir_ciface_" + name).str(), packedArgs))
    return makeError("calling @" + name + " failed: " +
                     llvm::toString(std::move(error)));
  return llvm::Error::success();
}

llvm::Expected<SmallVector<HostTensor>>
mlir::lowbit::makeRandomInputs(FunctionType signature, uint64_t seed) {
  SmallVector<HostTensor> inputs;
  for (auto [index, type] : llvm::enumerate(signature.getInputs())) {
    auto tensorType = dyn_cast<RankedTensorType>(type);
    if (!tensorType || !tensorType.hasStaticShape())
      return makeError("argument " + llvm::Twine(index) + " has type " +
                       llvm::Twine(debugString(type)) +
                       "; random inputs need statically shaped tensors (pass "
                       "this one with --input)");
    std::optional<DType> dtype = getDTypeFor(tensorType.getElementType());
    if (!dtype)
      return makeError("argument " + llvm::Twine(index) +
                       " has an unsupported element type " +
                       llvm::Twine(debugString(tensorType.getElementType())));
    HostTensor tensor(*dtype, tensorType.getShape());
    // Mix the argument index into the seed so arguments differ.
    tensor.fillRandom(seed * 0x9E3779B97F4A7C15ull + index + 1);
    inputs.push_back(std::move(tensor));
  }
  return inputs;
}
