//===- VectorizeMatmul.cpp - Register-blocked kernels for linear layers ---===//
//
// C[m, n] += A[m, k] * B[n, k] with both operands contiguous along K: every
// output element is a dot product of two contiguous rows. The kernel keeps,
// for a micro-tile of mr rows by nr columns, mr * nr vectors of partial dot
// products (one per lane of an 8-float slice of K), so that the loop over K is
// nothing but contiguous loads and FMAs; the lanes are summed once at the
// end. Everything is done with upstream transformations on tensors: splitOp
// for ragged extents, tileUsingSCF for the thread blocks and micro-tiles,
// splitReduction for the lane split, linalg::vectorize, subset hoisting and
// the vector contraction lowering.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Affine/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/SubsetInsertionOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/TilingInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/IR/ValueBoundsOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/SubsetInsertionOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Vector/Transforms/SubsetOpInterfaceImpl.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "mlir/Transforms/LoopInvariantCodeMotionUtils.h"

#include <thread>

namespace mlir::lowbit {
#define GEN_PASS_DEF_VECTORIZEMATMULPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

namespace {
/// The loop dimensions and static extents of a transposed-B matmul.
struct MatmulShape {
  unsigned m, n, k;
  int64_t rows, columns, depth;
};

/// How one matmul is cut: micro-tiles of `rows` x `columns`, column blocks
/// of `block` columns distributed over threads when `parallel` is set.
struct KernelShape {
  int64_t rows, columns, block;
};
} // namespace

/// Matches a statically shaped f32 contraction on tensors whose maps are
/// (m, k), (n, k) -> (m, n): both operands contiguous along the reduction.
static std::optional<MatmulShape> matchTransposedBMatmul(linalg::LinalgOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !linalg::isaContractionOpInterface(op))
    return std::nullopt;
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || !dims->batch.empty() || dims->m.size() != 1 ||
      dims->n.size() != 1 || dims->k.size() != 1)
    return std::nullopt;
  unsigned m = dims->m[0], n = dims->n[0], k = dims->k[0];
  MLIRContext *context = op.getContext();
  auto map = [&](unsigned first, unsigned second) {
    return AffineMap::get(3, 0,
                          {getAffineDimExpr(first, context),
                           getAffineDimExpr(second, context)},
                          context);
  };
  SmallVector<AffineMap> maps = op.getIndexingMapsArray();
  if (op.getNumLoops() != 3 || maps[0] != map(m, k) || maps[1] != map(n, k) ||
      maps[2] != map(m, n))
    return std::nullopt;
  for (OpOperand &operand : op->getOpOperands())
    if (!getElementTypeOrSelf(operand.get().getType()).isF32())
      return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return std::nullopt;
  return MatmulShape{m, n, k, ranges[m], ranges[n], ranges[k]};
}

/// Splits `op` along loop `dim` where the tile size `tile` stops dividing
/// it: returns each part with the tile size it should be tiled with (the
/// extent itself for a part smaller than `tile`).
static SmallVector<std::pair<linalg::LinalgOp, int64_t>>
splitForTile(RewriterBase &rewriter, linalg::LinalgOp op, unsigned dim,
             int64_t tile) {
  int64_t extent = op.getStaticLoopRanges()[dim];
  if (extent <= tile)
    return {{op, extent}};
  int64_t rest = extent % tile;
  if (rest == 0)
    return {{op, tile}};
  rewriter.setInsertionPoint(op);
  auto [head, tail] = linalg::splitOp(
      rewriter, cast<TilingInterface>(op.getOperation()), dim,
      rewriter.getIndexAttr(extent - rest));
  return {{cast<linalg::LinalgOp>(head.getOperation()), tile},
          {cast<linalg::LinalgOp>(tail.getOperation()), rest}};
}

/// Tiles `op` with `sizes` (one per loop, 0 for untiled) into `scf.for` or
/// `scf.forall` loops, replaces it, and returns the innermost tiled op.
static FailureOr<linalg::LinalgOp>
tile(RewriterBase &rewriter, linalg::LinalgOp op, ArrayRef<int64_t> sizes,
     scf::SCFTilingOptions::LoopType loopType,
     ArrayRef<int64_t> interchange = {}) {
  scf::SCFTilingOptions options;
  options.setLoopType(loopType);
  options.setTileSizes(getAsIndexOpFoldResult(op.getContext(), sizes));
  if (!interchange.empty())
    options.setInterchange(interchange);
  rewriter.setInsertionPoint(op);
  FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
      rewriter, cast<TilingInterface>(op.getOperation()), options);
  if (failed(tiled))
    return failure();
  rewriter.replaceOp(op, tiled->replacements);
  return cast<linalg::LinalgOp>(tiled->tiledOps.back());
}

/// The number of columns of a block of B (nb rows of K floats) that the
/// threads share out: a multiple of the micro-tile's columns within the
/// cache budget and the thread count, dividing N when such a size is close.
static int64_t chooseBlock(int64_t columns, int64_t depth, int64_t tileColumns,
                           int64_t blockBytes, int64_t threads) {
  int64_t limit = std::max<int64_t>(blockBytes / (depth * 4), tileColumns);
  limit = std::min(limit, std::max(columns / threads, tileColumns));
  limit -= limit % tileColumns;
  for (int64_t block = limit; block >= std::max(tileColumns, limit / 2);
       block -= tileColumns)
    if (columns % block == 0)
      return block;
  return limit;
}

namespace {
struct VectorizeMatmulPass
    : public lowbit::impl::VectorizeMatmulPassBase<VectorizeMatmulPass> {
  using Base::Base;

  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    // The interfaces that tiling, splitting and subset hoisting query, and
    // bufferization of the vector transfers left on tensors.
    affine::registerValueBoundsOpInterfaceExternalModels(registry);
    arith::registerValueBoundsOpInterfaceExternalModels(registry);
    linalg::registerTilingInterfaceExternalModels(registry);
    linalg::registerSubsetOpInterfaceExternalModels(registry);
    scf::registerValueBoundsOpInterfaceExternalModels(registry);
    tensor::registerValueBoundsOpInterfaceExternalModels(registry);
    tensor::registerSubsetOpInterfaceExternalModels(registry);
    vector::registerBufferizableOpInterfaceExternalModels(registry);
    vector::registerSubsetOpInterfaceExternalModels(registry);
  }

  void runOnOperation() override;

private:
  LogicalResult rewriteMatmul(RewriterBase &rewriter, linalg::LinalgOp op,
                              SmallVectorImpl<Operation *> &toVectorize);
  LogicalResult emitKernel(RewriterBase &rewriter, linalg::LinalgOp op,
                           const KernelShape &shape,
                           SmallVectorImpl<Operation *> &toVectorize);
  int64_t getThreadCount() const {
    if (threads > 0)
      return threads;
    return std::max(1u, std::thread::hardware_concurrency());
  }
};
} // namespace

LogicalResult
VectorizeMatmulPass::emitKernel(RewriterBase &rewriter, linalg::LinalgOp op,
                                const KernelShape &shape,
                                SmallVectorImpl<Operation *> &toVectorize) {
  MatmulShape dims = *matchTransposedBMatmul(op);
  SmallVector<int64_t> sizes(3, 0);
  // Column blocks over threads.
  if (parallel && dims.columns > shape.block) {
    sizes[dims.n] = shape.block;
    FailureOr<linalg::LinalgOp> tiled =
        tile(rewriter, op, sizes, scf::SCFTilingOptions::LoopType::ForallOp);
    if (failed(tiled))
      return op.emitError("tiling into column blocks failed");
    op = *tiled;
  }
  // Micro-tiles, rows outer: the mr rows of A stay in L1 while the block's
  // rows of B stream from L2.
  sizes.assign(3, 0);
  sizes[dims.m] = shape.rows;
  sizes[dims.n] = shape.columns;
  SmallVector<int64_t> interchange{dims.m, dims.n, dims.k};
  FailureOr<linalg::LinalgOp> micro = tile(
      rewriter, op, sizes, scf::SCFTilingOptions::LoopType::ForOp, interchange);
  if (failed(micro))
    return op.emitError("tiling into micro-tiles failed");

  // Lanes: C'[m, n, l] += A[m, k0, l] * B[n, k0, l], then C += sum_l C'.
  int64_t vectorLanes = lanes;
  linalg::ControlSplitReductionFn control = [&](linalg::LinalgOp) {
    return linalg::SplitReductionOptions{vectorLanes, /*index=*/2,
                                         /*innerParallel=*/true};
  };
  rewriter.setInsertionPoint(*micro);
  FailureOr<linalg::SplitReductionResult> split =
      linalg::splitReduction(rewriter, *micro, control);
  if (failed(split))
    return micro->emitError("splitting the reduction by lanes failed");

  // One vector of K per step of the loop that carries the accumulators.
  linalg::LinalgOp partial = split->splitLinalgOp;
  SmallVector<int64_t> stepSizes(partial.getNumLoops(), 0);
  for (auto [dim, iterator] : llvm::enumerate(partial.getIteratorTypesArray()))
    if (iterator == utils::IteratorType::reduction)
      stepSizes[dim] = 1;
  FailureOr<linalg::LinalgOp> step = tile(
      rewriter, partial, stepSizes, scf::SCFTilingOptions::LoopType::ForOp);
  if (failed(step))
    return partial.emitError("tiling the reduction failed");

  toVectorize.push_back(split->fillOp);
  toVectorize.push_back(*step);
  toVectorize.push_back(split->resultCombiningLinalgOp);
  return success();
}

LogicalResult
VectorizeMatmulPass::rewriteMatmul(RewriterBase &rewriter, linalg::LinalgOp op,
                                   SmallVectorImpl<Operation *> &toVectorize) {
  MatmulShape dims = *matchTransposedBMatmul(op);
  if (dims.depth < lanes)
    return success(); // Too short a reduction to vectorize along it.
  // The last K mod lanes columns stay a plain matmul on the first part's
  // result.
  if (dims.depth % lanes != 0) {
    rewriter.setInsertionPoint(op);
    auto [head, tail] = linalg::splitOp(
        rewriter, cast<TilingInterface>(op.getOperation()), dims.k,
        rewriter.getIndexAttr(dims.depth - dims.depth % lanes));
    op = cast<linalg::LinalgOp>(head.getOperation());
    (void)tail;
  }

  int64_t threadCount = getThreadCount();
  for (auto [rowPart, rows] :
       splitForTile(rewriter, op, dims.m, std::min<int64_t>(maxRows, dims.rows))) {
    int64_t columns =
        std::max<int64_t>(1, std::min<int64_t>(accumulators / rows, lanes));
    int64_t block = chooseBlock(dims.columns, dims.depth, columns, blockBytes,
                                threadCount);
    for (auto [blockPart, blockColumns] :
         splitForTile(rewriter, rowPart, dims.n, block)) {
      // A tail block narrower than `block` may leave a last ragged tile.
      for (auto [part, tileColumns] :
           splitForTile(rewriter, blockPart, dims.n, columns)) {
        KernelShape shape{rows, tileColumns, blockColumns};
        if (failed(emitKernel(rewriter, part, shape, toVectorize)))
          return failure();
      }
    }
  }
  return success();
}

void VectorizeMatmulPass::runOnOperation() {
  func::FuncOp function = getOperation();
  MLIRContext *context = &getContext();
  SmallVector<linalg::LinalgOp> matmuls;
  function.walk([&](linalg::LinalgOp op) {
    if (matchTransposedBMatmul(op))
      matmuls.push_back(op);
  });
  if (matmuls.empty())
    return;

  IRRewriter rewriter(context);
  SmallVector<Operation *> toVectorize;
  for (linalg::LinalgOp op : matmuls)
    if (failed(rewriteMatmul(rewriter, op, toVectorize)))
      return signalPassFailure();

  for (Operation *op : toVectorize) {
    rewriter.setInsertionPoint(op);
    FailureOr<linalg::VectorizationResult> result =
        linalg::vectorize(rewriter, op);
    if (failed(result)) {
      op->emitError("vectorizing a micro-tile failed");
      return signalPassFailure();
    }
    rewriter.replaceOp(op, result->replacements);
  }

  // The cleanups of transform.structured.vectorize_children_and_apply_patterns
  // and the canonicalizer: read and write the tiles straight from the
  // tensors, fold the zero fill into the accumulators' initial value.
  {
    RewritePatternSet patterns(context);
    vector::populateVectorTransferPermutationMapLoweringPatterns(patterns);
    vector::populateVectorReductionToContractPatterns(patterns);
    vector::populateSinkVectorOpsPatterns(patterns);
    tensor::populateFoldTensorSubsetIntoVectorTransferPatterns(patterns);
    for (Dialect *dialect : context->getLoadedDialects())
      dialect->getCanonicalizationPatterns(patterns);
    for (RegisteredOperationName op : context->getRegisteredOperations())
      op.getCanonicalizationPatterns(patterns, context);
    if (failed(applyPatternsGreedily(function, std::move(patterns))))
      return signalPassFailure();
  }

  // The accumulator tile, read and written at the same place on every step
  // of the K loop, becomes a loop-carried vector (innermost loops first).
  SmallVector<LoopLikeOpInterface> loops;
  function.walk([&](scf::ForOp loop) { loops.push_back(loop); });
  for (LoopLikeOpInterface loop : loops)
    (void)hoistLoopInvariantSubsets(rewriter, loop);

  // Contractions with a unit reduction dimension are elementwise FMAs.
  {
    RewritePatternSet patterns(context);
    vector::populateVectorContractLoweringPatterns(
        patterns, vector::VectorContractLowering::ParallelArith);
    for (Dialect *dialect : context->getLoadedDialects())
      dialect->getCanonicalizationPatterns(patterns);
    for (RegisteredOperationName op : context->getRegisteredOperations())
      op.getCanonicalizationPatterns(patterns, context);
    if (failed(applyPatternsGreedily(function, std::move(patterns))))
      return signalPassFailure();
  }
}
