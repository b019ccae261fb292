//===- FuseLowRank.cpp - SVDQuant's branch inside the low-bit layer -------===//
//
// lowbit-lowrank-split leaves a layer as y = lowbit.linear(x', R) plus a
// branch of two f32 matmuls, t = x L_down^T and y += t L_up^T, the second
// accumulating onto the layer's result (x' is x itself, or its quantized
// form under activation quantization). Unfused, the low-bit kernel writes
// y, and the second matmul reads it back, adds an r-term dot product per
// element and writes it again, with the up factor widened to f32 in memory
// first. Fused, lowbit.linear takes `lowrank(t, L_up)` and its kernels add
// the branch to each output before writing it, reading the factor in its
// own f16. The down projection, a small [r, K] GEMV, stays a separate op:
// inside the low-bit kernel every block of rows would recompute it.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Dialect/LowBit/IR/LowBitDialect.h"
#include "lowbit/Dialect/LowBit/IR/LowBitOps.h"
#include "lowbit/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir::lowbit {
#define GEN_PASS_DEF_FUSELOWRANKPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

namespace {

/// The branch's up factor in its stored precision: the source of a widening
/// to f32, or the f32 tensor itself.
Value storedUpFactor(Value up) {
  if (auto extend = up.getDefiningOp<arith::ExtFOp>())
    return extend.getIn();
  return up;
}

struct FuseLowRankPass
    : public lowbit::impl::FuseLowRankPassBase<FuseLowRankPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::MatmulOp> branches;
    getOperation().walk([&](linalg::MatmulOp matmul) {
      if (matmul->hasAttr(kLowRankOfAttr))
        branches.push_back(matmul);
    });
    for (linalg::MatmulOp up : branches) {
      auto layer = up.getDpsInits()[0].getDefiningOp<LinearOp>();
      if (!layer || !layer.getResult().hasOneUse() ||
          layer.getLowrankInput() || layer.getGated() || !isa<linalg::MatmulTransposeBOp>(up.getOperation()) ||
          up.getResult(0).getType() != layer.getResult().getType())
        continue;
      Value branch = up.getDpsInputs()[0];
      auto branchType = cast<RankedTensorType>(branch.getType());
      auto inputType = layer.getInput().getType();
      if (branchType.getRank() != inputType.getRank() ||
          branchType.getShape().drop_back() !=
              inputType.getShape().drop_back())
        continue;
      OpBuilder b(up);
      auto fused = LinearOp::create(
          b, up.getLoc(), layer.getResult().getType(), layer.getInput(),
          layer.getWeight(), layer.getScales(), layer.getZeroPoints(),
          layer.getBias(), branch, storedUpFactor(up.getDpsInputs()[1]),
          layer.getScheme(), layer.getPackingAttr(), layer.getGatedAttr());
      fused->setDiscardableAttrs(layer->getDiscardableAttrDictionary());
      Value widened = up.getDpsInputs()[1];
      up.getResult(0).replaceAllUsesWith(fused.getResult());
      up.erase();
      layer.erase();
      if (Operation *extend = widened.getDefiningOp<arith::ExtFOp>();
          extend && extend->use_empty())
        extend->erase();
      ++numFused;
    }
  }
};

} // namespace
