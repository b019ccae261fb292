// RUN: not quant-opt %s --convert-lowbit-to-linalg 2>&1 | FileCheck %s

// The reference lowering needs the packed row length at compile time; a
// dynamic one is reported at the op, and the pass fails.

// CHECK: invalid.mlir:[[@LINE+3]]:8: error: 'lowbit.dequantize' op
// CHECK-SAME: row length
func.func @dynamic_row(%q: tensor<4x?xi8>, %s: tensor<4x1xf32>) -> tensor<4x?xf32> {
  %0 = lowbit.dequantize %q scales(%s) scheme<i8, per_channel> : (tensor<4x?xi8>, tensor<4x1xf32>) -> tensor<4x?xf32>
  return %0 : tensor<4x?xf32>
}
