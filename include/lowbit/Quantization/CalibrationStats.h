//===- CalibrationStats.h - Per-layer calibration statistics ----*- C++ -*-===//
//
// The statistics calibration collects for the input of every linear layer,
// and the reader of the statistics files `lowbit-run calibrate` writes. The
// quantization passes read them (GPTQ's Hessian is 2 X^T X / rows); the
// writer lives with the observers' runtime in lib/Model/Calibration.cpp.
//
// A statistics file is MLIR (bytecode, or text for tests): a module whose
// `lowbit.calibration` attribute is a dictionary from layer name
// (`blk.0.attn_q`) to a dictionary {rows: i64, absmax: tensor<Cxf32>,
// mean_abs: tensor<Cxf32>, gram: tensor<CxCxf64>}, the tensors as
// dense_resource blobs, plus `lowbit.calibration_info` (model, text, samples,
// context).
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_QUANTIZATION_CALIBRATIONSTATS_H
#define LOWBIT_QUANTIZATION_CALIBRATIONSTATS_H

#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace mlir::lowbit {

/// The module attribute of a statistics file holding the per-layer entries.
inline constexpr llvm::StringLiteral kCalibrationStatsAttrName =
    "lowbit.calibration";
/// The module attribute of a statistics file describing the calibration run.
inline constexpr llvm::StringLiteral kCalibrationInfoAttrName =
    "lowbit.calibration_info";

/// Statistics of one layer's input channels.
struct LayerStatistics {
  /// Rows (tokens) observed.
  int64_t rows = 0;
  /// max |x_c| and mean |x_c| of every input channel c.
  std::vector<float> absMax;
  std::vector<float> meanAbs;
  /// The Gram matrix X^T X, C x C, row-major, symmetric.
  std::vector<double> gram;
  int64_t getChannels() const { return int64_t(absMax.size()); }
};

/// Reads a statistics file, keyed by layer name. The file is parsed in
/// `context`, whose resource manager keeps the blobs it holds.
llvm::Expected<llvm::StringMap<LayerStatistics>>
readCalibrationStats(MLIRContext &context, llvm::StringRef path);

/// Reads a statistics file in a private context, so that its blobs (Gram
/// matrices of K^2 doubles a layer) are freed once they are copied out.
llvm::Expected<llvm::StringMap<LayerStatistics>>
readCalibrationStats(llvm::StringRef path);

} // namespace mlir::lowbit

#endif // LOWBIT_QUANTIZATION_CALIBRATIONSTATS_H
