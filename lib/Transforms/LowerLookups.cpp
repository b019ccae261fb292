//===- LowerLookups.cpp - lowbit.lookup as permutes or extracts -----------===//
//
// A 16-entry f32 table indexed by 16 i32 lanes is one AVX-512 instruction,
// vpermps, which reads the low four bits of each index: the lookup becomes a
// call of its LLVM intrinsic. Any other lookup (or a target without
// AVX-512) becomes per-lane extracts of the masked indices, which is correct
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

namespace {
struct LowerLookupsPass
    : public lowbit::impl::LowerLookupsPassBase<LowerLookupsPass> {
  using Base::Base;

  void runOnOperation() override {
    std::optional<bool> avx512 = targetHasAvx512(target);
    if (!avx512) {
      getOperation()->emitError()
          << "unknown target '" << target
          << "' of lowbit-lower-lookups (host, avx512, avx2, generic)";
      return signalPassFailure();
    }
    getOperation()->walk([&](LookupOp op) {
      ImplicitLocOpBuilder b(op.getLoc(), op);
      VectorType table = op.getTable().getType();
      VectorType indices = op.getIndices().getType();
      bool permute = *avx512 && table.getNumElements() == 16 &&
                     table.getElementType().isF32() &&
                     indices.getNumElements() == 16 &&
                     indices.getElementType().isInteger(32);
      op.getResult().replaceAllUsesWith(permute ? lowerToPermute(b, op)
                                                : lowerToExtracts(b, op));
      op.erase();
    });
  }
};
} // namespace
