//===- JitModule.h - JIT-compile and call functions on tensors --*- C++ -*-===//
//
// Lowers a module through the reference pipeline, JIT-compiles it with MLIR's
// ExecutionEngine and calls its functions on host tensors. This is the
// harness behind `lowbit-run` and every numerical test of a transform.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_RUNNER_JITMODULE_H
#define LOWBIT_RUNNER_JITMODULE_H

#include "lowbit/Runner/HostTensor.h"
#include "lowbit/Runtime/Observers.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

#include <memory>

namespace mlir {
class ExecutionEngine;

namespace lowbit {

struct JitOptions {
  /// LLVM optimization level of the JIT-compiled code.
  unsigned optLevel = 2;
  /// Lowering of a module not yet in the LLVM dialect: linear layers as
  /// vectorized kernels (lowbit-to-llvm's default) or as the scalar
  /// reference loops (`lowbit-to-llvm{vectorize=false}`).
  bool vectorize = true;
  /// Whether vectorized linear layers run on all cores (OpenMP).
  bool parallel = true;
  /// Whether SwiGLU pairs of low-bit layers become one gated layer
  /// (lowbit-to-llvm's `fuse`; off: the unfused reference of the fusion).
  bool fuse = true;
  /// Whether constant low-bit weights are repacked into the layout of the
  /// kernels (lowbit-to-llvm's `repack`).
  bool repack = true;
};

/// The OpenMP runtime that parallel code calls: $LOWBIT_LIBOMP if set, else
/// the libomp beside this MLIR's libraries, else "libomp.so.5".
std::string findOpenMPRuntime();

class JitModule {
public:
  ~JitModule();

  /// Lowers `module` in place (unless it is already in the LLVM dialect) and
  /// compiles it to machine code before returning. Problems in the IR are reported through the context's
  /// diagnostic handler; the returned error says which stage failed.
  static llvm::Expected<std::unique_ptr<JitModule>>
  create(ModuleOp module, const JitOptions &options = {});

  /// The tensor signature a public function had before lowering.
  llvm::Expected<FunctionType> getSignature(llvm::StringRef name) const;

  /// The public functions on tensors, in module order.
  llvm::ArrayRef<std::string> getFunctionNames() const { return functionNames; }

  /// Calls `name` on `args`, which must match its signature (element types
  /// and static extents), and returns its results.
  llvm::Expected<llvm::SmallVector<HostTensor>>
  invoke(llvm::StringRef name, llvm::ArrayRef<HostTensor> args);

  /// Calls `_mlir_ciface_<name>` with `packedArgs` laid out as
  /// ExecutionEngine::invokePacked takes them: one pointer per argument, to
  /// the argument (for a memref, to a pointer to its descriptor), the result
  /// descriptor's pointer first. Nothing is checked: for callers that own
  /// their buffers, such as benchmarks of functions on memrefs.
  llvm::Error invokePacked(llvm::StringRef name,
                           llvm::MutableArrayRef<void *> packedArgs);

  /// How many external weight globals were bound to their blobs.
  size_t getExternalWeightCount() const { return externalWeightCount; }

  /// Calibration statistics of the module's `lowbit.observe` ops,
  /// accumulated over every call.
  ::lowbit::runtime::ObserverRegistry &getObservers() { return *observers; }

private:
  JitModule() = default;

  std::unique_ptr<ExecutionEngine> engine;
  llvm::StringMap<FunctionType> signatures;
  std::vector<std::string> functionNames;
  std::unique_ptr<::lowbit::runtime::ObserverRegistry> observers;
  size_t externalWeightCount = 0;
};

/// Random inputs for `signature`, one per argument, each from its own seed
/// derived from `seed`. Fails for arguments that are not statically shaped
/// tensors of a supported element type.
llvm::Expected<llvm::SmallVector<HostTensor>>
makeRandomInputs(FunctionType signature, uint64_t seed);

} // namespace lowbit
} // namespace mlir

#endif // LOWBIT_RUNNER_JITMODULE_H
