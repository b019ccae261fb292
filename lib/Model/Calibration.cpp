//===- Calibration.cpp - Observe linear inputs, save statistics -----------===//

#include "lowbit/Model/Calibration.h"
#include "lowbit/Dialect/LowBit/IR/LowBitDialect.h"
#include "lowbit/Dialect/LowBit/IR/LowBitOps.h"
#include "lowbit/Model/LlamaBuilder.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
using namespace mlir::lowbit;

llvm::StringMap<std::string>
mlir::lowbit::instrumentLinearInputs(ModuleOp module) {
  PassManager pm(module.getContext());
  pm.addPass(createInstrumentLinearInputsPass());
  llvm::StringMap<std::string> observerOfLayer;
  if (failed(pm.run(module)))
    return observerOfLayer;
  if (auto map = module->getAttrOfType<DictionaryAttr>(kObserversAttrName))
    for (NamedAttribute entry : map)
      observerOfLayer[entry.getName()] =
          cast<StringAttr>(entry.getValue()).str();
  return observerOfLayer;
}

template <typename AttrT, typename T>
static Attribute makeBlob(MLIRContext &context, StringRef name,
                          ArrayRef<int64_t> shape, Type element,
                          ArrayRef<T> values) {
  auto type = RankedTensorType::get(shape, element);
  return AttrT::get(type, name,
                    HeapAsmResourceBlob::allocateAndCopyInferAlign(values));
}

llvm::Error mlir::lowbit::writeCalibrationStats(
    MLIRContext &context, llvm::StringRef path,
    const llvm::StringMap<std::string> &observerOfLayer,
    const ::lowbit::runtime::ObserverRegistry &registry,
    const CalibrationInfo &info) {
  if (!registry.getError().empty())
    return llvm::createStringError("calibration failed: " +
                                   registry.getError());
  llvm::StringMap<int64_t> idOfKey;
  for (auto [id, key] : llvm::enumerate(registry.getKeys()))
    idOfKey[key] = int64_t(id);

  OpBuilder b(&context);
  SmallVector<NamedAttribute> layers;
  // Sort by name so the file does not depend on hash order.
  std::vector<std::string> names;
  for (const auto &entry : observerOfLayer)
    names.push_back(entry.getKey().str());
  llvm::sort(names);
  // Layers that read one input (q, k and v) share their observer's blobs, so
  // the file holds each Gram matrix once.
  llvm::StringMap<DictionaryAttr> entryOfObserver;
  for (const std::string &name : names) {
    const std::string &key = observerOfLayer.lookup(name);
    DictionaryAttr &shared = entryOfObserver[key];
    if (!shared) {
      auto id = idOfKey.find(key);
      if (id == idOfKey.end())
        return llvm::createStringError("layer " + name +
                                       " was never observed");
      const ::lowbit::runtime::ChannelStatistics &stats =
          registry.get(id->second);
      if (stats.rows == 0)
        return llvm::createStringError("layer " + name + " saw no rows");
      int64_t c = stats.channels;
      NamedAttrList entry;
      entry.append("rows", b.getI64IntegerAttr(stats.rows));
      entry.append("absmax", makeBlob<DenseF32ResourceElementsAttr>(
                                 context, key + ".absmax", {c},
                                 b.getF32Type(), ArrayRef<float>(stats.absMax)));
      std::vector<float> meanAbs = stats.getMeanAbs();
      entry.append("mean_abs", makeBlob<DenseF32ResourceElementsAttr>(
                                   context, key + ".mean_abs", {c},
                                   b.getF32Type(), ArrayRef<float>(meanAbs)));
      std::vector<double> gram = stats.getGram();
      entry.append("gram", makeBlob<DenseF64ResourceElementsAttr>(
                               context, key + ".gram", {c, c}, b.getF64Type(),
                               ArrayRef<double>(gram)));
      shared = entry.getDictionary(&context);
    }
    layers.push_back(b.getNamedAttr(name, shared));
  }

  OwningOpRef<ModuleOp> module = ModuleOp::create(b.getUnknownLoc());
  (*module)->setAttr(kCalibrationStatsAttrName, b.getDictionaryAttr(layers));
  (*module)->setAttr(
      kCalibrationInfoAttrName,
      b.getDictionaryAttr(
          {b.getNamedAttr("model", b.getStringAttr(info.model)),
           b.getNamedAttr("text", b.getStringAttr(info.text)),
           b.getNamedAttr("samples", b.getI64IntegerAttr(info.samples)),
           b.getNamedAttr("context", b.getI64IntegerAttr(info.context))}));
  std::error_code ec;
  llvm::ToolOutputFile out(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return llvm::createStringError(path + ": cannot write: " + ec.message());
  if (failed(writeBytecodeToFile(*module, out.os())))
    return llvm::createStringError(path + ": cannot write bytecode");
  out.keep();
  return llvm::Error::success();
}
