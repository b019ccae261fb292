//===- OutlineLoopNests.cpp - One function per top-level loop nest --------===//

#include "lowbit/Transforms/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Utils/Utils.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::lowbit {
#define GEN_PASS_DEF_OUTLINELOOPNESTSPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

/// Moves `loop` (a loop nest or a parallel region) into a function named
/// after `base` and replaces it by a call; returns the call.
static FailureOr<func::CallOp> outlineLoop(RewriterBase &rewriter,
                                           SymbolTable &symbols,
                                           Operation *loop, StringRef base,
                                           unsigned &counter) {
  Location loc = loop->getLoc();
  // outlineSingleBlockRegion takes a region: wrap the loop in one.
  rewriter.setInsertionPoint(loop);
  auto wrapper = scf::ExecuteRegionOp::create(rewriter, loc, TypeRange{});
  Block *body = rewriter.createBlock(&wrapper.getRegion());
  rewriter.moveOpBefore(loop, body, body->end());
  rewriter.setInsertionPointToEnd(body);
  scf::YieldOp::create(rewriter, loc);

  std::string name;
  do {
    name = (base + "__nest" + llvm::Twine(counter++)).str();
  } while (symbols.lookup(name));
  FailureOr<func::FuncOp> outlined =
      outlineSingleBlockRegion(rewriter, loc, wrapper.getRegion(), name);
  if (failed(outlined))
    return failure();
  symbols.insert(*outlined);
  outlined->setPrivate();
  outlined->setNoInline(true);

  // The wrapper now holds the call: put it back in line.
  Block &callBlock = wrapper.getRegion().front();
  func::CallOp call = *callBlock.getOps<func::CallOp>().begin();
  rewriter.eraseOp(callBlock.getTerminator());
  rewriter.inlineBlockBefore(&callBlock, wrapper);
  rewriter.eraseOp(wrapper);
  return call;
}

/// Moves the constants `call` passes to `callee` into its body: a shift
/// amount or a trip count that LLVM sees as a constant is folded into the
/// instruction (a vector shift by an unknown amount is a long emulation on
/// x86 for bytes), and the nests of equal layers still share one function.
static LogicalResult sinkConstants(RewriterBase &rewriter,
                                   func::FuncOp callee, func::CallOp call) {
  Block &entry = callee.front();
  llvm::BitVector sunk(call.getNumOperands());
  rewriter.setInsertionPointToStart(&entry);
  for (auto [index, operand] : llvm::enumerate(call.getOperands())) {
    Operation *definition = operand.getDefiningOp();
    if (!definition || definition->getNumResults() != 1 ||
        !definition->hasTrait<OpTrait::ConstantLike>())
      continue;
    BlockArgument argument = entry.getArgument(index);
    if (!argument.use_empty())
      argument.replaceAllUsesWith(rewriter.clone(*definition)->getResult(0));
    sunk.set(index);
  }
  if (failed(callee.eraseArguments(sunk)))
    return failure();
  call->eraseOperands(sunk);
  return success();
}

/// The text of `function` under a fixed name: equal for functions that do
/// the same thing on arguments of the same types.
static std::string getBodyKey(func::FuncOp function) {
  StringAttr name = function.getSymNameAttr();
  function.setSymName("__lowbit_key");
  std::string key;
  llvm::raw_string_ostream os(key);
  function->print(os, OpPrintingFlags().assumeVerified().useLocalScope());
  function.setSymNameAttr(name);
  return key;
}

namespace {
struct OutlineLoopNestsPass
    : public lowbit::impl::OutlineLoopNestsPassBase<OutlineLoopNestsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    IRRewriter rewriter(&getContext());
    llvm::StringMap<func::FuncOp> functionsByBody;
    for (auto function : llvm::to_vector(module.getOps<func::FuncOp>())) {
      if (function.isExternal())
        continue;
      SmallVector<Operation *> nests;
      for (Block &block : function.getBody())
        for (Operation &op : block)
          if ((isa<scf::ForOp>(op) && op.getNumResults() == 0) ||
              isa<omp::ParallelOp>(op))
            nests.push_back(&op);
      if (int64_t(nests.size()) < minNests)
        continue;
      unsigned counter = 0;
      for (Operation *loop : nests) {
        FailureOr<func::CallOp> call = outlineLoop(
            rewriter, symbols, loop, function.getName(), counter);
        if (failed(call)) {
          loop->emitError("outlining the loop nest failed");
          return signalPassFailure();
        }
        // The same nest on the same types (every layer of a model has the
        // same ones) is compiled once: its call goes to the first copy.
        auto outlined = symbols.lookup<func::FuncOp>(call->getCallee());
        if (failed(sinkConstants(rewriter, outlined, *call))) {
          outlined.emitError("moving constants into the outlined nest failed");
          return signalPassFailure();
        }
        auto [it, inserted] =
            functionsByBody.try_emplace(getBodyKey(outlined), outlined);
        if (inserted)
          continue;
        call->setCallee(it->second.getSymName());
        symbols.erase(outlined);
      }
    }
  }
};
} // namespace
