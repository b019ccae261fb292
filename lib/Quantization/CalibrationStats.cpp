//===- CalibrationStats.cpp - Read calibration statistics files -----------===//

#include "lowbit/Quantization/CalibrationStats.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/Parser/Parser.h"

using namespace mlir;
using namespace mlir::lowbit;

llvm::Expected<llvm::StringMap<LayerStatistics>>
mlir::lowbit::readCalibrationStats(MLIRContext &context, llvm::StringRef path) {
  std::string diagnostics;
  OwningOpRef<ModuleOp> module;
  {
    ScopedDiagnosticHandler handler(&context, [&](Diagnostic &diag) {
      diagnostics += diag.str() + "\n";
      return success();
    });
    module = parseSourceFile<ModuleOp>(path, ParserConfig(&context));
  }
  if (!module)
    return llvm::createStringError(
        path + ": not a statistics file: " + StringRef(diagnostics).rtrim());
  auto layers =
      (*module)->getAttrOfType<DictionaryAttr>(kCalibrationStatsAttrName);
  if (!layers)
    return llvm::createStringError(path + ": no '" + kCalibrationStatsAttrName +
                                   "' attribute; not a statistics file");
  llvm::StringMap<LayerStatistics> result;
  for (NamedAttribute layer : layers) {
    auto bad = [&](const llvm::Twine &what) {
      return llvm::createStringError(path + ": layer " +
                                     layer.getName().getValue() + ": " + what);
    };
    auto entry = dyn_cast<DictionaryAttr>(layer.getValue());
    if (!entry)
      return bad("expected a dictionary");
    auto rows = entry.getAs<IntegerAttr>("rows");
    auto absMax = entry.getAs<DenseF32ResourceElementsAttr>("absmax");
    auto meanAbs = entry.getAs<DenseF32ResourceElementsAttr>("mean_abs");
    auto gram = entry.getAs<DenseF64ResourceElementsAttr>("gram");
    if (!rows || !absMax || !meanAbs || !gram)
      return bad("expected rows, absmax, mean_abs and gram");
    auto absMaxValues = absMax.tryGetAsArrayRef();
    auto meanAbsValues = meanAbs.tryGetAsArrayRef();
    auto gramValues = gram.tryGetAsArrayRef();
    if (!absMaxValues || !meanAbsValues || !gramValues)
      return bad("statistics data missing from the file");
    size_t channels = absMaxValues->size();
    if (meanAbsValues->size() != channels ||
        gramValues->size() != channels * channels)
      return bad("statistics of inconsistent sizes");
    LayerStatistics &stats = result[layer.getName().getValue()];
    stats.rows = rows.getInt();
    stats.absMax.assign(absMaxValues->begin(), absMaxValues->end());
    stats.meanAbs.assign(meanAbsValues->begin(), meanAbsValues->end());
    stats.gram.assign(gramValues->begin(), gramValues->end());
  }
  return result;
}

llvm::Expected<llvm::StringMap<LayerStatistics>>
mlir::lowbit::readCalibrationStats(llvm::StringRef path) {
  MLIRContext context(MLIRContext::Threading::DISABLED);
  return readCalibrationStats(context, path);
}
