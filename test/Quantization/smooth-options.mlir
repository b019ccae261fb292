// Options the smoothing pass rejects before it looks at a layer: an error at
// the module's location and a failing run.

// RUN: not quant-opt %s --lowbit-smooth 2>&1 | FileCheck %s --check-prefix=STATS
// STATS: error: lowbit-smooth needs calibration statistics: stats=FILE (from lowbit-run calibrate)

// RUN: not quant-opt %s --lowbit-smooth="stats=%S/Inputs/stats.mlir alpha=1.5" 2>&1 | FileCheck %s --check-prefix=ALPHA
// ALPHA: error: alpha must be in [0, 1], got 1.5

// RUN: not quant-opt %s --lowbit-smooth="stats=%S/Inputs/stats.mlir method=awq grid=0" 2>&1 | FileCheck %s --check-prefix=GRID
// GRID: error: grid must be at least 1, got 0

// RUN: not quant-opt %s --lowbit-smooth="stats=%S/Inputs/stats.mlir method=awq format=i9" 2>&1 | FileCheck %s --check-prefix=FORMAT
// FORMAT: error: unsupported quantization scheme #lowbit.scheme<i9, per_group<128>, scale = f16>

// RUN: not quant-opt %s --lowbit-smooth="stats=%S/Inputs/missing.mlir" 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: {{.*}}missing.mlir: not a statistics file

// RUN: not quant-opt %s --lowbit-smooth="stats=%S/Inputs/not-stats.mlir" 2>&1 | FileCheck %s --check-prefix=NOT-STATS
// NOT-STATS: error: {{.*}}not-stats.mlir: no 'lowbit.calibration' attribute; not a statistics file

// RUN: not quant-opt %s --lowbit-smooth="method=gptq" 2>&1 | FileCheck %s --check-prefix=METHOD
// METHOD: for the --method option: Cannot find option named 'gptq'!

func.func @empty() {
  return
}
