//===- LowerLookups.cpp - lowbit.lookup as permutes or extracts -----------===//
//
// A 16-entry f32 table indexed by 16 i32 lanes is one AVX-512 instruction,
// vpermps, which reads the low four bits of each index: the lookup becomes a
// call of its LLVM intrinsic. With AVX2, whose vpermps has 8 lanes and
// reads three bits, 8 lanes look up both halves of the table and bit 3 of
// the index picks one. Any other lookup (or a target without either)
// becomes per-lane extracts of the masked indices, which is correct
// everywhere and slow enough that the kernels avoid it.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Dialect/LowBit/IR/LowBitOps.h"
#include "lowbit/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::lowbit {
#define GEN_PASS_DEF_LOWERLOOKUPSPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

static Value lowerToPermute(ImplicitLocOpBuilder &b, LookupOp op) {
  return LLVM::CallIntrinsicOp::create(
             b, op.getResult().getType(),
             b.getStringAttr("llvm.x86.avx512.permvar.sf.512"),
             ValueRange{op.getTable(), op.getIndices()})
      .getResult(0);
}

static Value lowerToTwoPermutes(ImplicitLocOpBuilder &b, LookupOp op) {
  auto half = VectorType::get({8}, b.getF32Type());
  Value indices = op.getIndices();
  auto permute = [&](int64_t offset) -> Value {
    Value entries = vector::ExtractStridedSliceOp::create(
        b, op.getTable(), ArrayRef<int64_t>{offset}, ArrayRef<int64_t>{8},
        ArrayRef<int64_t>{1});
    return LLVM::CallIntrinsicOp::create(b, half,
                                         b.getStringAttr("llvm.x86.avx2.permps"),
                                         ValueRange{entries, indices})
        .getResult(0);
  };
  Value low = permute(0), high = permute(8);
  auto indexType = cast<ShapedType>(indices.getType());
  Value bit = arith::ConstantOp::create(
      b, DenseElementsAttr::get(indexType, Attribute(b.getI32IntegerAttr(8))));
  Value upper = arith::CmpIOp::create(
      b, arith::CmpIPredicate::ne, arith::AndIOp::create(b, indices, bit),
      arith::ConstantOp::create(b, b.getZeroAttr(indexType)));
  return arith::SelectOp::create(b, upper, high, low);
}

static Value lowerToExtracts(ImplicitLocOpBuilder &b, LookupOp op) {
  VectorType indexType = op.getIndices().getType();
  int64_t entries = op.getTable().getType().getNumElements();
  Value mask = arith::ConstantOp::create(
      b, b.getIntegerAttr(indexType.getElementType(), entries - 1));
  Value result = arith::ConstantOp::create(
      b, b.getZeroAttr(op.getResult().getType()));
  for (int64_t lane = 0; lane < indexType.getNumElements(); ++lane) {
    Value raw = vector::ExtractOp::create(b, op.getIndices(), lane);
    Value entry = arith::IndexCastUIOp::create(
        b, b.getIndexType(), arith::AndIOp::create(b, raw, mask));
    Value value = vector::ExtractOp::create(b, op.getTable(),
                                            ArrayRef<OpFoldResult>{entry});
    result = vector::InsertOp::create(b, value, result, lane);
  }
  return result;
}

/// One vpdpbusd (AVX-512 VNNI).
static Value lowerToVnni(ImplicitLocOpBuilder &b, DotBytesOp op) {
  return LLVM::CallIntrinsicOp::create(
             b, op.getResult().getType(),
             b.getStringAttr("llvm.x86.avx512.vpdpbusd.512"),
             ValueRange{op.getAcc(), op.getLhs(), op.getRhs()})
      .getResult(0);
}

/// Widened products, summed four at a time into the accumulator's lanes:
/// product j of each lane's four is one strided shuffle.
static Value lowerToWideningSums(ImplicitLocOpBuilder &b, DotBytesOp op) {
  int64_t lanes = op.getAcc().getType().getNumElements();
  auto wide = VectorType::get({4 * lanes}, b.getI32Type());
  Value products =
      arith::MulIOp::create(b, arith::ExtUIOp::create(b, wide, op.getLhs()),
                            arith::ExtSIOp::create(b, wide, op.getRhs()));
  Value sum = op.getAcc();
  for (int64_t j = 0; j < 4; ++j) {
    SmallVector<int64_t> mask;
    for (int64_t lane = 0; lane < lanes; ++lane)
      mask.push_back(4 * lane + j);
    sum = arith::AddIOp::create(
        b, sum, vector::ShuffleOp::create(b, products, products, mask));
  }
  return sum;
}

namespace {
struct LowerLookupsPass
    : public lowbit::impl::LowerLookupsPassBase<LowerLookupsPass> {
  using Base::Base;

  void runOnOperation() override {
    FailureOr<CpuTarget> cpu =
        parseCpuTarget(getOperation(), target, "lowbit-lower-lookups");
    if (failed(cpu))
      return signalPassFailure();
    getOperation()->walk([&](LookupOp op) {
      ImplicitLocOpBuilder b(op.getLoc(), op);
      VectorType table = op.getTable().getType();
      VectorType indices = op.getIndices().getType();
      bool sixteen = table.getNumElements() == 16 &&
                     table.getElementType().isF32() &&
                     indices.getElementType().isInteger(32);
      Value result;
      if (sixteen && cpu->avx512 && indices.getNumElements() == 16)
        result = lowerToPermute(b, op);
      else if (sixteen && cpu->avx2 && indices.getNumElements() == 8)
        result = lowerToTwoPermutes(b, op);
      else
        result = lowerToExtracts(b, op);
      op.getResult().replaceAllUsesWith(result);
      op.erase();
    });
    getOperation()->walk([&](DotBytesOp op) {
      ImplicitLocOpBuilder b(op.getLoc(), op);
      Value result = cpu->vnni && op.getAcc().getType().getNumElements() == 16
                         ? lowerToVnni(b, op)
                         : lowerToWideningSums(b, op);
      op.getResult().replaceAllUsesWith(result);
      op.erase();
    });
  }
};
} // namespace
