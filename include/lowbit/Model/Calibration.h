//===- Calibration.h - Observe linear inputs, save statistics ---*- C++ -*-===//
//
// Calibration instruments the float IR so that the input of every named
// linear layer is observed (`lowbit.observe`, one observer per distinct input
// tensor: q, k and v share theirs), runs it over calibration text, and writes
// what the observers collected to a statistics file keyed by layer name.
//
// The statistics file is MLIR bytecode: a module whose `lowbit.calibration`
// attribute is a dictionary from layer name (`blk.0.attn_q`) to a dictionary
// {rows: i64, absmax: tensor<Cxf32>, mean_abs: tensor<Cxf32>,
//  gram: tensor<CxCxf64>}, the tensors as dense_resource blobs, plus
// `lowbit.calibration_info` (model, text, samples, context). quant-opt can
// print it; the quantization passes read it with readCalibrationStats
// (lowbit/Quantization/CalibrationStats.h).
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_MODEL_CALIBRATION_H
#define LOWBIT_MODEL_CALIBRATION_H

#include "lowbit/Quantization/CalibrationStats.h"
#include "lowbit/Runtime/Observers.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/Error.h"

namespace mlir::lowbit {

/// Inserts observers before every linalg.matmul that carries a layer name,
/// one per distinct input. Returns each layer's observer key.
llvm::StringMap<std::string> instrumentLinearInputs(ModuleOp module);

struct CalibrationInfo {
  std::string model, text;
  int64_t samples = 0, context = 0;
};

/// Writes what `registry` collected: one entry per linear layer of
/// `observerOfLayer` (layers that share an input share its statistics).
llvm::Error
writeCalibrationStats(MLIRContext &context, llvm::StringRef path,
                      const llvm::StringMap<std::string> &observerOfLayer,
                      const ::lowbit::runtime::ObserverRegistry &registry,
                      const CalibrationInfo &info);

} // namespace mlir::lowbit

#endif // LOWBIT_MODEL_CALIBRATION_H
