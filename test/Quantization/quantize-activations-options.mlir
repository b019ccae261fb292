// Options the activation quantizer rejects: an error at the module's
// location and a failing run.

// RUN: not quant-opt %s --lowbit-quantize-activations="static=true" 2>&1 | FileCheck %s --check-prefix=STATIC-TOKEN
// STATIC-TOKEN: error: static activation scales are per tensor: use granularity=per-tensor

// RUN: not quant-opt %s --lowbit-quantize-activations="granularity=per-tensor static=true" 2>&1 | FileCheck %s --check-prefix=STATIC-STATS
// STATIC-STATS: error: static activation scales need calibration statistics: stats=FILE (from lowbit-run calibrate)

// RUN: not quant-opt %s --lowbit-quantize-activations="granularity=per-tensor group=32" 2>&1 | FileCheck %s --check-prefix=TENSOR-GROUP
// TENSOR-GROUP: error: a per-tensor scale takes no group size

// RUN: not quant-opt %s --lowbit-quantize-activations="format=ternary" 2>&1 | FileCheck %s --check-prefix=TERNARY
// TERNARY: error: activations take signed integer or float formats, not ternary

// RUN: not quant-opt %s --lowbit-quantize-activations="format=i3x" 2>&1 | FileCheck %s --check-prefix=FORMAT
// FORMAT: error: unsupported quantization scheme #lowbit.scheme<i3x, per_channel, scale = f32>

// RUN: not quant-opt %s --lowbit-quantize-activations="granularity=per-row" 2>&1 | FileCheck %s --check-prefix=GRANULARITY
// GRANULARITY: for the --granularity option: Cannot find option named 'per-row'!

func.func @empty() {
  return
}

// A group size that does not divide a layer's input channels is an error on
// the layer.
// RUN: quant-opt %s -split-input-file -verify-diagnostics --lowbit-quantize-activations="format=i4 group=48"
// -----
func.func @group_does_not_divide(%x: tensor<4x64xf32>, %w: tensor<16x32xi8>, %s: tensor<16x1xf32>) -> tensor<4x16xf32> {
  // expected-error @+1 {{group size 48 does not divide}}
  %y = lowbit.linear %x, %w scales(%s) scheme<i4, per_channel> {lowbit.name = "blk.0.attn_q"} : (tensor<4x64xf32>, tensor<16x32xi8>, tensor<16x1xf32>) -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
