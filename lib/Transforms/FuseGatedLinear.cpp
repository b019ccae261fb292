//===- FuseGatedLinear.cpp - SwiGLU as one gated lowbit.linear ------------===//
//
// A Llama MLP computes silu(x Wg^T) * (x Wu^T): two linear layers that read
// the same input, each writing a tensor that an elementwise op reads back.
// Fused, the pair is one lowbit.linear with the weights' rows interleaved
// (gate 0, up 0, gate 1, up 1, ...) and `gated<silu>`: its kernels read the
// input once for both, keep each pair of dot products in registers and write
// only act(gate) * up. The rows are interleaved rather than stacked so that a
// pair's codes, scales and zero points sit next to each other and a kernel's
// block of rows holds whole pairs.
//
// The interleaved constants are built once per pair of blobs, so entry
// points that share a layer's weights share the fused ones too.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Dialect/LowBit/IR/LowBitDialect.h"
#include "lowbit/Dialect/LowBit/IR/LowBitOps.h"
#include "lowbit/Transforms/Constants.h"
#include "lowbit/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Matchers.h"

#define DEBUG_TYPE "lowbit-fuse-gated-linear"

namespace mlir::lowbit {
#define GEN_PASS_DEF_FUSEGATEDLINEARPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

namespace {

/// Whether `value` is the f32 constant 1 (scalar).
bool isOne(Value value) {
  return matchPattern(value, m_OneFloat());
}

/// Whether `value` is 1 + exp(-x).
bool isOnePlusExpNeg(Value value, Value x) {
  auto add = value.getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value exp = add.getRhs();
  if (!isOne(add.getLhs())) {
    if (!isOne(add.getRhs()))
      return false;
    exp = add.getLhs();
  }
  auto expOp = exp.getDefiningOp<math::ExpOp>();
  if (!expOp)
    return false;
  auto negated = expOp.getOperand().getDefiningOp<arith::NegFOp>();
  return negated && negated.getOperand() == x;
}

/// Whether `value` is silu(x): x / (1 + exp(-x)) or x * (1 / (1 + exp(-x))).
bool isSilu(Value value, Value x) {
  if (auto div = value.getDefiningOp<arith::DivFOp>())
    return div.getLhs() == x && isOnePlusExpNeg(div.getRhs(), x);
  auto mul = value.getDefiningOp<arith::MulFOp>();
  if (!mul)
    return false;
  for (auto [a, b] : {std::pair(mul.getLhs(), mul.getRhs()),
                      std::pair(mul.getRhs(), mul.getLhs())}) {
    auto sigmoid = b.getDefiningOp<arith::DivFOp>();
    if (a == x && sigmoid && isOne(sigmoid.getLhs()) &&
        isOnePlusExpNeg(sigmoid.getRhs(), x))
      return true;
  }
  return false;
}

/// The operand indices (gate, up) when `generic` is an elementwise
/// silu(gate) * up on two rank-2 tensors of the same shape.
std::optional<std::pair<unsigned, unsigned>>
matchSwiGlu(linalg::GenericOp generic) {
  if (generic.getNumDpsInputs() != 2 || generic.getNumDpsInits() != 1 ||
      generic.getNumResults() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops() ||
      generic.getNumLoops() != 2 ||
      !llvm::all_of(generic.getIndexingMapsArray(),
                    [](AffineMap map) { return map.isIdentity(); }))
    return std::nullopt;
  Block &body = generic.getRegion().front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto mul = yield.getValues()[0].getDefiningOp<arith::MulFOp>();
  if (!mul || mul->getBlock() != &body)
    return std::nullopt;
  for (unsigned gate : {0u, 1u}) {
    Value x = body.getArgument(gate), y = body.getArgument(1 - gate);
    if ((mul.getRhs() == y && isSilu(mul.getLhs(), x)) ||
        (mul.getLhs() == y && isSilu(mul.getRhs(), x)))
      return std::pair(gate, 1 - gate);
  }
  return std::nullopt;
}

/// Whether `gate` and `up` can become one gated layer: the same input,
/// scheme, packing and operand types, constant operands with one row of
/// scales (and zero points) per weight row.
bool canFuse(LinearOp gate, LinearOp up) {
  if (gate == up || gate.getGated() || up.getGated() ||
      gate.getLowrankInput() || up.getLowrankInput() ||
      gate.getInput() != up.getInput() ||
      gate.getScheme() != up.getScheme() ||
      gate.getPackingOrDefault() != up.getPackingOrDefault() ||
      gate.getResult().getType() != up.getResult().getType() ||
      !gate.getResult().hasOneUse() || !up.getResult().hasOneUse())
    return false;
  auto sameConstants = [&](Value a, Value b, bool perRow) {
    if (!a || !b)
      return !a && !b;
    auto type = cast<RankedTensorType>(a.getType());
    if (type != b.getType() || !getConstantBytes(a) || !getConstantBytes(b))
      return false;
    return !perRow || (type.getRank() >= 1 &&
                       type.getDimSize(0) == gate.getOutFeatures());
  };
  return !ShapedType::isDynamic(gate.getOutFeatures()) &&
         sameConstants(gate.getWeight(), up.getWeight(), true) &&
         sameConstants(gate.getScales(), up.getScales(), true) &&
         sameConstants(gate.getZeroPoints(), up.getZeroPoints(), true) &&
         sameConstants(gate.getBias(), up.getBias(), true);
}

/// Interleaves the rows of two constants of one type [N, ...] into
/// [2N, ...]: gate row n at 2n, up row n at 2n + 1.
class RowInterleaver {
public:
  Value interleave(OpBuilder &b, Location loc, Value gate, Value up) {
    if (!gate)
      return Value();
    auto gateConstant = gate.getDefiningOp<arith::ConstantOp>();
    auto upConstant = up.getDefiningOp<arith::ConstantOp>();
    TypedAttr &fused = cache[{gateConstant.getValue(), upConstant.getValue()}];
    if (!fused)
      fused = build(gateConstant, upConstant);
    return arith::ConstantOp::create(b, loc, fused);
  }

private:
  TypedAttr build(arith::ConstantOp gate, arith::ConstantOp up) {
    auto type = cast<RankedTensorType>(gate.getType());
    ArrayRef<char> a = *getConstantBytes(gate), b = *getConstantBytes(up);
    int64_t rows = type.getDimSize(0);
    size_t rowBytes = a.size() / rows;
    std::vector<char> bytes;
    bytes.reserve(2 * a.size());
    for (int64_t row = 0; row < rows; ++row) {
      bytes.insert(bytes.end(), a.begin() + row * rowBytes,
                   a.begin() + (row + 1) * rowBytes);
      bytes.insert(bytes.end(), b.begin() + row * rowBytes,
                   b.begin() + (row + 1) * rowBytes);
    }
    SmallVector<int64_t> shape(type.getShape());
    shape[0] *= 2;
    auto fusedType = RankedTensorType::get(shape, type.getElementType());
    // Blobs stay blobs, so that large weights are still externalized.
    if (!isa<DenseResourceElementsAttr>(up.getValue()))
      return DenseElementsAttr::getFromRawBuffer(fusedType, bytes);
    return makeConstantLike(gate.getValue(), fusedType, ".gated", bytes);
  }

  DenseMap<std::pair<Attribute, Attribute>, TypedAttr> cache;
};

struct FuseGatedLinearPass
    : public lowbit::impl::FuseGatedLinearPassBase<FuseGatedLinearPass> {
  using Base::Base;

  void runOnOperation() override {
    RowInterleaver interleaver;
    SmallVector<linalg::GenericOp> candidates;
    getOperation().walk(
        [&](linalg::GenericOp generic) { candidates.push_back(generic); });
    for (linalg::GenericOp generic : candidates) {
      std::optional<std::pair<unsigned, unsigned>> operands =
          matchSwiGlu(generic);
      if (!operands)
        continue;
      auto gate =
          generic.getDpsInputs()[operands->first].getDefiningOp<LinearOp>();
      auto up =
          generic.getDpsInputs()[operands->second].getDefiningOp<LinearOp>();
      if (!gate || !up || !canFuse(gate, up) ||
          generic.getResult(0).getType() != gate.getResult().getType())
        continue;
      fuse(generic, gate, up, interleaver);
      ++numFused;
    }
  }

  void fuse(linalg::GenericOp generic, LinearOp gate, LinearOp up,
            RowInterleaver &interleaver) {
    // After the later of the two layers, where all operands are defined.
    Operation *later = gate->isBeforeInBlock(up) ? up : gate;
    OpBuilder b(later->getNextNode());
    Location loc = b.getFusedLoc({gate.getLoc(), up.getLoc()});
    auto pair = [&](Value a, Value c) {
      return interleaver.interleave(b, loc, a, c);
    };
    auto fused = LinearOp::create(
        b, loc, generic.getResult(0).getType(), gate.getInput(),
        pair(gate.getWeight(), up.getWeight()),
        pair(gate.getScales(), up.getScales()),
        pair(gate.getZeroPoints(), up.getZeroPoints()),
        pair(gate.getBias(), up.getBias()), /*lowrank_input=*/Value(),
        /*lowrank_up=*/Value(), gate.getScheme(),
        gate.getPackingAttr(),
        GatedActivationAttr::get(&getContext(), GatedActivation::silu));
    auto gateName = gate->getAttrOfType<StringAttr>(kLayerNameAttr);
    auto upName = up->getAttrOfType<StringAttr>(kLayerNameAttr);
    if (gateName && upName)
      fused->setAttr(kLayerNameAttr,
                     b.getStringAttr(gateName.getValue() + "+" +
                                     upName.getValue()));
    generic.getResult(0).replaceAllUsesWith(fused.getResult());
    generic.erase();
    for (LinearOp layer : {gate, up}) {
      SmallVector<Value> operands(layer->getOperands());
      layer.erase();
      for (Value operand : operands)
        if (Operation *constant = operand.getDefiningOp<arith::ConstantOp>();
            constant && constant->use_empty())
          constant->erase();
    }
  }
};

} // namespace
