// Options the pass rejects before it looks at a layer: an error at the
// module's location and a failing run.

// RUN: not quant-opt %s --lowbit-quantize-weights="format=i9" 2>&1 | FileCheck %s --check-prefix=BITS
// BITS: error: unsupported quantization scheme #lowbit.scheme<i9, per_channel, scale = f16>: bit width 9 is not supported by sint (integer formats take 2 to 8 bits)

// RUN: not quant-opt %s --lowbit-quantize-weights="format=f16" 2>&1 | FileCheck %s --check-prefix=FORMAT
// FORMAT: error: unsupported quantization scheme {{.*}}: expected an element format (an integer type, f8E4M3FN, f8E5M2, f4E2M1FN, nf4 or ternary), got 'f16'

// RUN: not quant-opt %s --lowbit-quantize-weights="format=i4>" 2>&1 | FileCheck %s --check-prefix=SYNTAX
// SYNTAX: error: invalid format 'i4>' or scale-type 'f16'

// RUN: not quant-opt %s --lowbit-quantize-weights="format=ui4" 2>&1 | FileCheck %s --check-prefix=UNSIGNED
// UNSIGNED: error: unsigned codes (ui4) need zero points: use symmetric=false with i4

// RUN: not quant-opt %s --lowbit-quantize-weights="format=nf4 symmetric=false" 2>&1 | FileCheck %s --check-prefix=ZP-FLOAT
// ZP-FLOAT: error: unsupported quantization scheme {{.*}}: a zero point needs an integer format, not nf4

// RUN: not quant-opt %s --lowbit-quantize-weights="scale-type=f8E8M0FNU symmetric=false" 2>&1 | FileCheck %s --check-prefix=ZP-E8M0
// ZP-E8M0: error: power-of-two scales (f8E8M0FNU) take no zero points: use symmetric=true

// RUN: not quant-opt %s --lowbit-quantize-weights="scale-type=f64" 2>&1 | FileCheck %s --check-prefix=SCALE
// SCALE: error: unsupported quantization scheme {{.*}}: scale type must be f32, f16, bf16 or f8E8M0FNU, got 'f64'

// RUN: not quant-opt %s --lowbit-quantize-weights="group=-32" 2>&1 | FileCheck %s --check-prefix=GROUP
// GROUP: error: group sizes must be 0 (off) or positive, got group=-32 ic-group=0

// RUN: not quant-opt %s --lowbit-quantize-weights="method=awq" 2>&1 | FileCheck %s --check-prefix=METHOD
// METHOD: for the --method option: Cannot find option named 'awq'!

// RUN: not quant-opt %s --lowbit-quantize-weights="method=gptq" 2>&1 | FileCheck %s --check-prefix=NO-STATS
// NO-STATS: error: method=gptq needs calibration statistics: stats=FILE (from lowbit-run calibrate)

// RUN: not quant-opt %s --lowbit-quantize-weights="method=gptq stats=%t.missing" 2>&1 | FileCheck %s --check-prefix=MISSING
// MISSING: error: {{.*}}.missing: not a statistics file: could not open input file

// RUN: not quant-opt %s --lowbit-quantize-weights="method=gptq stats=%S/Inputs/not-stats.mlir" 2>&1 | FileCheck %s --check-prefix=NOT-STATS
// NOT-STATS: error: {{.*}}not-stats.mlir: no 'lowbit.calibration' attribute; not a statistics file

// RUN: not quant-opt %s --lowbit-quantize-weights="method=gptq stats=%S/Inputs/stats.mlir damp=-0.5" 2>&1 | FileCheck %s --check-prefix=DAMP
// DAMP: error: GPTQ needs damp >= 0 and block-size > 0, got damp=-5.000000e-01 block-size=128

// The module is not printed with the error.
// BITS-NOT: builtin.module

func.func @f(%x: tensor<1x8xf32>) -> tensor<1x8xf32> {
  return %x : tensor<1x8xf32>
}
