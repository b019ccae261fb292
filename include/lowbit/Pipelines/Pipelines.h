//===- Pipelines.h - LowBit's named pass pipelines --------------*- C++ -*-===//

#ifndef LOWBIT_PIPELINES_PIPELINES_H
#define LOWBIT_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::lowbit {

/// Options of `lowbit-to-llvm`, the reference lowering to the LLVM dialect.
struct LowerToLLVMOptions : public PassPipelineOptions<LowerToLLVMOptions> {
  PassOptions::Option<bool> emitCInterface{
      *this, "emit-c-interface",
      llvm::cl::desc("Give public functions a _mlir_ciface_ entry point "
                     "taking memref descriptors by pointer"),
      llvm::cl::init(true)};
};

/// lowbit (and float linalg/tensor) IR -> LLVM dialect, through the
/// reference lowering: convert-lowbit-to-linalg, one-shot bufferization with
/// ownership-based deallocation (results of public functions are owned by
/// the caller and freed with free()), loops, and the LLVM conversions.
void buildLowerToLLVMPipeline(OpPassManager &pm,
                              const LowerToLLVMOptions &options);

/// Registers LowBit's named pipelines with the global pipeline registry.
void registerLowBitPipelines();

} // namespace mlir::lowbit

#endif // LOWBIT_PIPELINES_PIPELINES_H
