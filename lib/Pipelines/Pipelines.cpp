//===- Pipelines.cpp - LowBit's named pass pipelines ----------------------===//

#include "lowbit/Pipelines/Pipelines.h"
#include "lowbit/Conversion/Passes.h"
#include "lowbit/Transforms/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Bufferization/Pipelines/Passes.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Dialect/Vector/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::lowbit;

void mlir::lowbit::buildLowerToLLVMPipeline(OpPassManager &pm,
                                            const LowerToLLVMOptions &options) {
  // Low-rank branches go into their low-bit layers, and SwiGLU pairs of
  // low-bit layers become one gated layer, first, for both the vector
  // kernels and the reference lowering.
  if (options.fuse) {
    pm.addPass(createFuseLowRankPass());
    pm.addPass(createFuseGatedLinearPass());
  }
  // Low-bit linear layers the vector kernels handle skip the reference
  // lowering (which dequantizes the whole weight before an f32 product).
  if (options.vectorize) {
    // Weights in the layout the kernels read, chosen for the target.
    if (options.repack) {
      PackWeightsPassOptions pack;
      pack.target = options.target;
      pm.addPass(createPackWeightsPass(pack));
    }
    VectorizeLinearPassOptions linear;
    if (!options.parallel)
      linear.threads = 1;
    linear.target = options.target;
    pm.addNestedPass<func::FuncOp>(createVectorizeLinearPass(linear));
  }
  pm.addPass(createConvertLowBitToLinalgPass());
  if (options.emitCInterface)
    pm.addPass(createLowBitExportCInterfacePass());
  // Elementwise arith/math on whole tensors (common in imported float IR)
  // becomes linalg.generic so that it bufferizes like everything else.
  pm.addPass(createConvertElementwiseToLinalgPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());

  // Weights leave the code before bufferization would turn them into LLVM
  // globals with initializers; the JIT binds them to the blobs.
  if (options.externalizeWeights) {
    ExternalizeWeightsPassOptions externalize;
    externalize.minBytes = options.weightMinBytes;
    pm.addPass(createExternalizeWeightsPass(externalize));
  }
  // Linear layers become tiled, vectorized kernels while still on tensors,
  // where tiling, splitting and hoisting are plain SSA rewrites.
  if (options.vectorize) {
    VectorizeMatmulPassOptions kernels;
    kernels.parallel = options.parallel;
    pm.addNestedPass<func::FuncOp>(createVectorizeMatmulPass(kernels));
    pm.addPass(createCSEPass());
  }

  bufferization::OneShotBufferizePassOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.functionBoundaryTypeConversion =
      bufferization::LayoutMapOption::IdentityLayoutMap;
  pm.addPass(bufferization::createOneShotBufferizePass(bufferize));
  bufferization::buildBufferDeallocationPipeline(pm);
  pm.addPass(createConvertBufferizationToMemRefPass());

  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  // Column blocks of the kernels run on all cores: scf.forall ->
  // scf.parallel -> omp.parallel/omp.wsloop. The canonicalizer then inlines
  // the memref.alloca_scope that SCF-to-OpenMP wraps each body in (nothing
  // is allocated on the stack there), which must go before SCF-to-CF.
  pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
  if (options.vectorize && options.parallel) {
    pm.addPass(createConvertSCFToOpenMPPass());
    pm.addPass(createCanonicalizerPass());
  }
  // A model's entry point is hundreds of loop nests in a row, which LLVM
  // optimizes in quadratic time: give each nest a function of its own.
  pm.addPass(createOutlineLoopNestsPass());
  if (options.vectorize) {
    // Lane sums, then n-D transfers unrolled to 1-D loads and stores.
    pm.addNestedPass<func::FuncOp>(vector::createLowerVectorMultiReductionPass(
        vector::VectorMultiReductionLowering::InnerReduction));
    VectorTransferToSCFOptions transfers;
    transfers.enableFullUnroll();
    pm.addNestedPass<func::FuncOp>(createConvertVectorToSCFPass(transfers));
  }
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());

  // exp inline (softmax and SiLU call it per element) instead of libm calls.
  if (options.approximateMath)
    pm.addPass(createApproximateMathPass());
  arith::ArithExpandOpsPassOptions expand;
  expand.includeF8E8M0 = true; // Power-of-two block scales.
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(createConvertMathToLLVMPass());
  if (options.vectorize) {
    // The only vector reductions are the kernels' lane sums, which the lane
    // split has already reassociated: let LLVM sum them as a tree.
    LowerLookupsPassOptions lookups;
    lookups.target = options.target;
    pm.addPass(createLowerLookupsPass(lookups));
    ConvertVectorToLLVMPassOptions vectorToLLVM;
    vectorToLLVM.reassociateFPReductions = true;
    pm.addPass(createConvertVectorToLLVMPass(vectorToLLVM));
  }
  if (options.vectorize && options.parallel)
    pm.addPass(createConvertOpenMPToLLVMPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createArithToLLVMConversionPass());
  pm.addPass(createConvertIndexToLLVMPass());
  pm.addPass(createConvertControlFlowToLLVMPass());
  pm.addPass(createConvertFuncToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::lowbit::registerLowBitPipelines() {
  PassPipelineRegistration<LowerToLLVMOptions>(
      "lowbit-to-llvm",
      "Lower lowbit and float tensor IR to the LLVM dialect: the reference "
      "lowering of lowbit ops, external weights, vectorized multithreaded "
      "linear layers (vectorize=false: scalar loops), bufferization, loops",
      buildLowerToLLVMPipeline);
}
