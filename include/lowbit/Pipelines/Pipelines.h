//===- Pipelines.h - LowBit's named pass pipelines --------------*- C++ -*-===//

#ifndef LOWBIT_PIPELINES_PIPELINES_H
#define LOWBIT_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::lowbit {

/// Options of `lowbit-to-llvm`, the lowering to the LLVM dialect.
struct LowerToLLVMOptions : public PassPipelineOptions<LowerToLLVMOptions> {
  PassOptions::Option<bool> emitCInterface{
      *this, "emit-c-interface",
      llvm::cl::desc("Give public functions a _mlir_ciface_ entry point "
                     "taking memref descriptors by pointer"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> fuse{
      *this, "fuse",
      llvm::cl::desc("Fuse low-rank branches into their low-bit layers "
                     "(lowbit-fuse-lowrank) and gate and up projections "
                     "with their SiLU product into one gated lowbit.linear "
                     "(lowbit-fuse-gated-linear)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> repack{
      *this, "repack",
      llvm::cl::desc("Repack constant low-bit weights into the layout the "
                     "target's vector kernels read (lowbit-pack-weights)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> approximateMath{
      *this, "approximate-math",
      llvm::cl::desc("Expand math.exp into an inline polynomial "
                     "(lowbit-approximate-math) rather than calls of libm"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> vectorize{
      *this, "vectorize",
      llvm::cl::desc("Lower f32 linear layers (transposed-B matmuls) to "
                     "tiled, vectorized FMA kernels; false gives the scalar "
                     "reference loops"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> parallel{
      *this, "parallel",
      llvm::cl::desc("Share the column blocks of vectorized linear layers "
                     "out over all cores with OpenMP (the JIT loads libomp)"),
      llvm::cl::init(true)};
  PassOptions::Option<std::string> target{
      *this, "target",
      llvm::cl::desc(
          "Instruction set of the kernels: host (this CPU's), "
          "avx512-vnni (int8 products of W8A8 layers), avx512, avx2 or "
          "generic"),
      llvm::cl::init("host")};
  PassOptions::Option<bool> externalizeWeights{
      *this, "externalize-weights",
      llvm::cl::desc("Read large dense_resource constants from external "
                     "globals that the JIT binds to the blobs, instead of "
                     "compiling them into the code"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> weightMinBytes{
      *this, "weight-min-bytes",
      llvm::cl::desc("Externalize constants of at least this many bytes"),
      llvm::cl::init(4096)};
};

/// lowbit (and float linalg/tensor) IR -> LLVM dialect:
/// convert-lowbit-to-linalg (the reference lowering), large weights moved
/// out into external globals, linear layers tiled and vectorized into
/// multithreaded FMA kernels (unless `vectorize` is off), one-shot
/// bufferization with ownership-based deallocation (results of public
/// functions are owned by the caller and freed with free()), loops for the
/// remaining linalg ops, and the LLVM conversions (OpenMP included).
void buildLowerToLLVMPipeline(OpPassManager &pm,
                              const LowerToLLVMOptions &options);

/// Registers LowBit's named pipelines with the global pipeline registry.
void registerLowBitPipelines();

} // namespace mlir::lowbit

#endif // LOWBIT_PIPELINES_PIPELINES_H
