//===- LowRankSplit.cpp - SVDQuant's 16-bit low-rank branch ---------------===//

#include "lowbit/Analysis/ChannelSinks.h"
#include "lowbit/Quantization/ChannelTransforms.h"
#include "lowbit/Quantization/LowRank.h"
#include "lowbit/Quantization/Passes.h"
#include "lowbit/Quantization/WeightQuantization.h"
#include "lowbit/Support/QuantMath.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Threading.h"

namespace mlir::lowbit {
#define GEN_PASS_DEF_LOWRANKSPLITPASS
#include "lowbit/Quantization/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

namespace {

/// One layer to split, and the results of the parallel part.
struct SplitJob {
  LinearLayer *layer = nullptr;
  std::vector<float> weights;
  /// Factors rounded to f16 (as bits), and the residual.
  std::vector<uint16_t> up, down;
  std::vector<float> residual;
};

struct LowRankSplitPass
    : public lowbit::impl::LowRankSplitPassBase<LowRankSplitPass> {
  using Base::Base;
  void runOnOperation() override;

private:
  void split(SplitJob &job) const;
  void rewrite(SplitJob &job, ChannelTransformer &transformer);
};

} // namespace

void LowRankSplitPass::split(SplitJob &job) const {
  int64_t n = job.layer->outFeatures, k = job.layer->inFeatures, r = rank;
  LowRankFactors factors =
      computeLowRank(job.weights, n, k, r, int(iterations));
  // The branch computes with the f16 factors; the residual is taken from
  // those, so W = up * down + residual up to the residual's f32 rounding.
  auto toHalf = [](double v) { return floatToHalf(float(v)); };
  job.up.resize(factors.up.size());
  llvm::transform(factors.up, job.up.begin(), toHalf);
  job.down.resize(factors.down.size());
  llvm::transform(factors.down, job.down.begin(), toHalf);
  job.residual.resize(n * k);
  std::vector<double> row(k);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t c = 0; c < k; ++c)
      row[c] = job.weights[i * k + c];
    for (int64_t j = 0; j < r; ++j) {
      double u = halfToFloat(job.up[i * r + j]);
      if (u == 0.0)
        continue;
      for (int64_t c = 0; c < k; ++c)
        row[c] -= u * halfToFloat(job.down[j * k + c]);
    }
    for (int64_t c = 0; c < k; ++c)
      job.residual[i * k + c] = float(row[c]);
  }
}

/// A constant of f16 values (bits), as a blob or a dense literal.
static TypedAttr makeF16Constant(RankedTensorType type, StringRef name,
                                 ArrayRef<uint16_t> bits, bool asBlob) {
  if (asBlob)
    return DenseResourceElementsAttr::get(
        type, name, HeapAsmResourceBlob::allocateAndCopyInferAlign(bits));
  SmallVector<APFloat> values;
  for (uint16_t b : bits)
    values.push_back(APFloat(APFloat::IEEEhalf(), APInt(16, b)));
  return DenseElementsAttr::get(type, values);
}

void LowRankSplitPass::rewrite(SplitJob &job, ChannelTransformer &transformer) {
  LinearLayer &layer = *job.layer;
  MLIRContext *context = &getContext();
  int64_t n = layer.outFeatures, k = layer.inFeatures, r = rank;
  bool asBlob = isa<DenseResourceElementsAttr>(layer.weight.getValue());
  Type f16 = Float16Type::get(context), f32 = Float32Type::get(context);
  TypedAttr downAttr =
      makeF16Constant(RankedTensorType::get({r, k}, f16),
                      (layer.name + ".lowrank_down").str(), job.down, asBlob);
  TypedAttr upAttr =
      makeF16Constant(RankedTensorType::get({n, r}, f16),
                      (layer.name + ".lowrank_up").str(), job.up, asBlob);
  transformer.update(layer.weight, job.residual);

  for (linalg::MatmulOp matmul : layer.matmuls) {
    OpBuilder b(context);
    b.setInsertionPointAfter(matmul);
    Location loc = matmul.getLoc();
    Value input = matmul.getDpsInputs()[0], result = matmul.getResult(0);
    auto resultType = cast<RankedTensorType>(result.getType());
    StringAttr name = b.getStringAttr(layer.name);

    Value down = arith::ExtFOp::create(
        b, loc, RankedTensorType::get({r, k}, f32),
        arith::ConstantOp::create(b, loc, downAttr).getResult());
    SmallVector<OpFoldResult> rows =
        tensor::getMixedSizes(b, loc, input);
    rows.back() = b.getIndexAttr(r);
    Value empty = tensor::EmptyOp::create(b, loc, rows, f32);
    Value zero = arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0.0f));
    Value init =
        linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{empty})
            .getResult(0);
    auto first = linalg::MatmulTransposeBOp::create(
        b, loc, TypeRange{init.getType()}, ValueRange{input, down},
        ValueRange{init});
    first->setAttr(kLowRankOfAttr, name);

    Value up = arith::ExtFOp::create(
        b, loc, RankedTensorType::get({n, r}, f32),
        arith::ConstantOp::create(b, loc, upAttr).getResult());
    auto second = linalg::MatmulTransposeBOp::create(
        b, loc, TypeRange{resultType}, ValueRange{first.getResult(0), up},
        ValueRange{result});
    second->setAttr(kLowRankOfAttr, name);
    result.replaceAllUsesExcept(second.getResult(0), second);
  }
  ++numSplit;
}

void LowRankSplitPass::runOnOperation() {
  ModuleOp module = getOperation();
  if (rank < 1 || iterations < 0) {
    emitError(module.getLoc())
        << "rank must be at least 1 and iterations at least 0, got rank="
        << int64_t(rank) << " iterations=" << int64_t(iterations);
    return signalPassFailure();
  }
  LayerNameFilter skipped(skip);
  std::vector<LinearLayer> layers = collectLinearLayers(module);
  ChannelTransformer transformer(module);
  std::vector<SplitJob> jobs;
  for (LinearLayer &layer : layers) {
    if (skipped.matches(layer.name))
      continue;
    linalg::MatmulOp front = layer.matmuls.front();
    if (rank > std::min(layer.outFeatures, layer.inFeatures)) {
      front.emitError() << "rank " << int64_t(rank)
                        << " is larger than the " << layer.outFeatures << "x"
                        << layer.inFeatures << " matrix of layer '"
                        << layer.name << "'";
      return signalPassFailure();
    }
    bool exclusive = transformer.isUsedOnlyBy(layer.weight, [&](OpOperand &use) {
      return use.getOperandNumber() == 1 &&
             llvm::is_contained(layer.matmuls, use.getOwner());
    });
    if (!exclusive) {
      front.emitError() << "the weight of layer '" << layer.name
                        << "' is also used elsewhere (a tied embedding?); "
                           "cannot split it";
      return signalPassFailure();
    }
    SplitJob job;
    job.layer = &layer;
    job.weights = readConstant(layer.weight);
    if (job.weights.empty()) {
      front.emitError() << "the data of the weight of layer '" << layer.name
                        << "' is missing";
      return signalPassFailure();
    }
    jobs.push_back(std::move(job));
  }
  parallelForEach(&getContext(), jobs, [&](SplitJob &job) { split(job); });
  for (SplitJob &job : jobs)
    rewrite(job, transformer);
}
