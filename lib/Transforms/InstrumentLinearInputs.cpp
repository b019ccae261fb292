//===- InstrumentLinearInputs.cpp - Observers for calibration -------------===//

#include "lowbit/Dialect/LowBit/IR/LowBitOps.h"
#include "lowbit/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

namespace mlir::lowbit {
#define GEN_PASS_DEF_INSTRUMENTLINEARINPUTSPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

namespace {
struct InstrumentLinearInputsPass
    : public lowbit::impl::InstrumentLinearInputsPassBase<
          InstrumentLinearInputsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    Builder builder(&getContext());
    llvm::DenseMap<Value, StringAttr> observerOfInput;
    NamedAttrList observerOfLayer;
    // A module instrumented before keeps its observers and its map.
    if (auto existing =
            module->getAttrOfType<DictionaryAttr>(kObserversAttrName))
      observerOfLayer.append(existing.getValue());
    module.walk([&](ObserveOp observe) {
      observerOfInput.try_emplace(observe.getInput(), observe.getKeyAttr());
    });
    module.walk([&](linalg::MatmulOp matmul) {
      auto name = matmul->getAttrOfType<StringAttr>(kLayerNameAttr);
      if (!name)
        return;
      Value input = matmul.getDpsInputs()[0];
      auto [it, inserted] = observerOfInput.try_emplace(input, name);
      if (inserted) {
        OpBuilder b(matmul);
        ObserveOp::create(b, matmul.getLoc(), input, name.getValue(),
                          ObserveStats::all);
      }
      observerOfLayer.set(name, it->second);
    });
    module->setAttr(kObserversAttrName,
                    observerOfLayer.getDictionary(&getContext()));
  }
};
} // namespace
