//===- quant-opt.cpp - LowBit's optimizer driver --------------------------===//
//
// mlir-opt with the lowbit dialect, LowBit's passes and pipelines, and the
// upstream dialects and passes those pipelines use.
//
//===----------------------------------------------------------------------===//

#include "lowbit/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::lowbit::registerLowBitDialects(registry);
  mlir::lowbit::registerLowBitPasses();
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "LowBit quantization compiler optimizer driver\n", registry));
}
