//===- ApproximateMath.cpp - math functions as inline polynomials ---------===//
//
// Softmax and SiLU call math.exp once per element; lowered to LLVM that is a
// call of libm's expf per element, which no loop around it can vectorize.
// Upstream's polynomial approximations (range reduction and a minimax
// polynomial in arith ops, for scalars and vectors alike) replace the calls
// with straight-line code the vectorizers can work with.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringSet.h"

namespace mlir::lowbit {
#define GEN_PASS_DEF_APPROXIMATEMATHPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

namespace {
struct ApproximateMathPass
    : public lowbit::impl::ApproximateMathPassBase<ApproximateMathPass> {
  using ApproximateMathPassBase::ApproximateMathPassBase;

  void runOnOperation() override {
    // Upstream's predicate receives operation names (`math.exp`).
    llvm::StringSet<> names;
    for (const std::string &function : functions)
      names.insert("math." + function);
    if (names.empty())
      names.insert("math.exp");
    auto selected = [&](StringRef name) { return names.contains(name); };
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns, selected);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      return signalPassFailure();
  }
};
} // namespace
