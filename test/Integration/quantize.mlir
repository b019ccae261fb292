// RUN: lowbit-run exec %s --entry encode --print | FileCheck %s

// Quantization rounds to the nearest code, ties to even, and saturates.

func.func @encode() -> (tensor<2x2xi8>, tensor<2x4xf32>, tensor<2x4xi8>, tensor<1x6xi8>) {
  // x / s = [0.2, -1.2, 2.5, 7], [-7, 7, 0, 2.9]
  %x = arith.constant dense<[[0.1, -0.6, 1.25, 3.5], [-7.0, 7.0, 0.0, 2.9]]> : tensor<2x4xf32>
  %s = arith.constant dense<[[0.5], [1.0]]> : tensor<2x1xf32>
  %q4 = lowbit.quantize %x scales(%s) scheme<i4, per_channel> : (tensor<2x4xf32>, tensor<2x1xf32>) -> tensor<2x2xi8>
  %d4 = lowbit.dequantize %q4 scales(%s) scheme<i4, per_channel> : (tensor<2x2xi8>, tensor<2x1xf32>) -> tensor<2x4xf32>
  // int2 saturates to [-2, 1].
  %t = arith.constant dense<[[1.0]]> : tensor<1x1xf32>
  %q2 = lowbit.quantize %x scales(%t) scheme<i2, per_tensor> : (tensor<2x4xf32>, tensor<1x1xf32>) -> tensor<2x1xi8>
  %d2 = lowbit.dequantize %q2 scales(%t) scheme<i2, per_tensor> : (tensor<2x1xi8>, tensor<1x1xf32>) -> tensor<2x4xf32>
  %q2f = arith.fptosi %d2 : tensor<2x4xf32> to tensor<2x4xi8>
  // FP4 e2m1 rounds to its grid {0, 0.5, 1, 1.5, 2, 3, 4, 6}; 2.5 ties to 2
  // (even mantissa), 5 ties to 4, 100 saturates to 6 (code 7), -0.25 ties to
  // -0 (code 8).
  %f = arith.constant dense<[[2.5, 5.0, 100.0, -0.25, 1.2, -3.4]]> : tensor<1x6xf32>
  %q8 = lowbit.quantize %f scales(%t) scheme<f4E2M1FN, per_tensor> : (tensor<1x6xf32>, tensor<1x1xf32>) -> tensor<1x3xi8>
  // Read the raw codes back as unsigned nibbles.
  %z = arith.constant dense<[[0.0]]> : tensor<1x1xf32>
  %codes = lowbit.dequantize %q8 scales(%t) zero_points(%z) scheme<ui4, per_tensor, zero_point> : (tensor<1x3xi8>, tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<1x6xf32>
  %c = arith.fptosi %codes : tensor<1x6xf32> to tensor<1x6xi8>
  return %q4, %d4, %q2f, %c : tensor<2x2xi8>, tensor<2x4xf32>, tensor<2x4xi8>, tensor<1x6xi8>
}

// Packed: 0 | (-1 & 15) << 4 = 0xF0 = -16, 2 | 7 << 4 = 0x72 = 114.
// CHECK:      output 0: tensor<2x2xi8>
// CHECK-NEXT: {{\[}}[-16, 114], [121, 48]]
// CHECK:      output 1: tensor<2x4xf32>
// CHECK-NEXT: {{\[}}[0, -0.5, 1, 3.5], [-7, 7, 0, 3]]
// CHECK:      output 2: tensor<2x4xi8>
// CHECK-NEXT: {{\[}}[0, -1, 1, 1], [-2, 1, 0, 1]]
// FP4 codes: 2 -> 4, 4 -> 6, 6 -> 7, 0 -> 0, 1 -> 2, -3 -> 13.
// CHECK:      output 3: tensor<1x6xi8>
// CHECK-NEXT: {{\[}}[4, 6, 7, 0, 2, 13]]
