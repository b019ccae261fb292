// A valid MLIR file that is not a statistics file (no lowbit.calibration).
module {
}
