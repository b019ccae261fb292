//===- PackWeights.cpp - Weights in the layout of the target's kernels ----===//
//
// Sequentially packed codes put the fields of one byte on neighbouring
// channels, so a vector kernel that splits a vector of bytes into its fields
// has to meet them with the input's channel residues (x[2j], x[2j + 1] at 4
// bits), which it copies out once a call. Interleaved in blocks of one
// kernel step, field p of byte j is channel j + p * (bytes a step): each
// field of a vector of bytes is a run of consecutive channels, the input is
// read as it is, and prefill writes decoded weights without shuffling them
// back into channel order. The block is the step the target's kernels take
// (vector width, lookup lanes, group size), so the layout is chosen per
// target; the repacked codes are cached per blob, so entry points that share
// a layer share its repacked weights.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Dialect/LowBit/IR/LowBitAttrs.h"
#include "lowbit/Dialect/LowBit/IR/LowBitOps.h"
#include "lowbit/Support/QuantMath.h"
#include "lowbit/Transforms/Constants.h"
#include "lowbit/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"

namespace mlir::lowbit {
#define GEN_PASS_DEF_PACKWEIGHTSPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

namespace {

/// `bytes`, rows of `inFeatures` sequentially packed `bits`-bit fields,
/// repacked row by row as `interleaved, block`.
std::vector<char> interleaveRows(ArrayRef<char> bytes, int64_t rows,
                                 int64_t inFeatures, unsigned bits,
                                 int64_t block) {
  PackingSpec sequential, interleaved{PackOrder::interleaved, block};
  int64_t rowBytes = getPackedRowBytes(sequential, bits, inFeatures);
  std::vector<char> result(bytes.size());
  std::vector<uint8_t> fields(inFeatures);
  for (int64_t row = 0; row < rows; ++row) {
    auto in = ArrayRef<uint8_t>(
        reinterpret_cast<const uint8_t *>(bytes.data()) + row * rowBytes,
        rowBytes);
    auto out = MutableArrayRef<uint8_t>(
        reinterpret_cast<uint8_t *>(result.data()) + row * rowBytes,
        rowBytes);
    unpackRow(sequential, bits, in, fields);
    packRow(interleaved, bits, fields, out);
  }
  return result;
}

struct PackWeightsPass
    : public lowbit::impl::PackWeightsPassBase<PackWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    FailureOr<CpuTarget> cpu =
        parseCpuTarget(getOperation(), target, "lowbit-pack-weights");
    if (failed(cpu))
      return signalPassFailure();
    DenseMap<std::pair<Attribute, int64_t>, TypedAttr> repacked;
    getOperation()->walk([&](LinearOp op) {
      std::optional<int64_t> block = getKernelInterleaveBlock(op, *cpu);
      std::optional<ArrayRef<char>> bytes = getConstantBytes(op.getWeight());
      if (!block || !bytes)
        return;
      auto constant = op.getWeight().getDefiningOp<arith::ConstantOp>();
      RankedTensorType type = op.getWeight().getType();
      TypedAttr &packed = repacked[{constant.getValue(), *block}];
      if (!packed) {
        std::vector<char> interleaved =
            interleaveRows(*bytes, type.getDimSize(0), op.getInFeatures(),
                           op.getScheme().getBits(), *block);
        packed = makeConstantLike(constant.getValue(), type,
                                  (".interleaved" + Twine(*block)).str(),
                                  interleaved);
      }
      OpBuilder b(op);
      op.getWeightMutable().assign(
          arith::ConstantOp::create(b, constant.getLoc(), packed));
      op.setPackingAttr(
          PackingAttr::get(&getContext(), PackOrder::interleaved, *block));
      if (constant->use_empty())
        constant->erase();
      ++numRepacked;
    });
  }
};

} // namespace
