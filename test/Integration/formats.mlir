// RUN: lowbit-run exec %s --entry decode --print | FileCheck %s

// The reference lowering decodes hand-packed bytes of every element format to
// the values the formats define. Codes are packed low bits first.

func.func @decode() -> (tensor<2x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x6xf32>,
                        tensor<1x2xf32>, tensor<1x4xf32>, tensor<1x5xf32>, tensor<1x32xf32>) {
  // Signed 4-bit: 0x21 holds 1, 2; 0xF8 holds -8, -1. Scales per row.
  %q0 = arith.constant dense<[[0x21, 0xF8], [0x7F, 0x90]]> : tensor<2x2xi8>
  %s0 = arith.constant dense<[[0.5], [0.25]]> : tensor<2x1xf32>
  %d0 = lowbit.dequantize %q0 scales(%s0) scheme<i4, per_channel> : (tensor<2x2xi8>, tensor<2x1xf32>) -> tensor<2x4xf32>

  // NF4: code 0 is -1, code 15 is 1, code 7 is 0, code 8 is 0.0795803.
  %q1 = arith.constant dense<[[0xF0, 0x87]]> : tensor<1x2xi8>
  %s1 = arith.constant dense<[[2.0]]> : tensor<1x1xf16>
  %d1 = lowbit.dequantize %q1 scales(%s1) scheme<nf4, per_channel, scale = f16> : (tensor<1x2xi8>, tensor<1x1xf16>) -> tensor<1x4xf32>

  // FP4 e2m1 with a power-of-two (e8m0) block scale of 2^-1:
  // 0x1 = 0.5, 0x2 = 1, 0x7 = 6, 0xF = -6.
  %q2 = arith.constant dense<[[0x21, 0xF7]]> : tensor<1x2xi8>
  %s2 = arith.constant dense<[[0.5]]> : tensor<1x1xf8E8M0FNU>
  %d2 = lowbit.dequantize %q2 scales(%s2) scheme<f4E2M1FN, per_group<4>, scale = f8E8M0FNU> : (tensor<1x2xi8>, tensor<1x1xf8E8M0FNU>) -> tensor<1x4xf32>

  // FP8 e4m3fn: 1, 2, -2, 448 (the largest), 2^-9 (the smallest subnormal), 0.
  %q3 = arith.constant dense<[[0x38, 0x40, 0xC0, 0x7E, 0x01, 0x00]]> : tensor<1x6xi8>
  %s3 = arith.constant dense<[[1.0]]> : tensor<1x1xf32>
  %d3 = lowbit.dequantize %q3 scales(%s3) scheme<f8E4M3FN, per_tensor> : (tensor<1x6xi8>, tensor<1x1xf32>) -> tensor<1x6xf32>

  // FP8 e5m2: 1 and 57344 (the largest finite value).
  %q4 = arith.constant dense<[[0x3C, 0x7B]]> : tensor<1x2xi8>
  %s4 = arith.constant dense<[[1.0]]> : tensor<1x1xf32>
  %d4 = lowbit.dequantize %q4 scales(%s4) scheme<f8E5M2, per_tensor> : (tensor<1x2xi8>, tensor<1x1xf32>) -> tensor<1x2xf32>

  // Unsigned 4-bit with zero point 8 and scale 0.5: (10 - 8) / 2, (3 - 8) / 2, ...
  %q5 = arith.constant dense<[[0x3A, 0xF0]]> : tensor<1x2xi8>
  %s5 = arith.constant dense<[[0.5]]> : tensor<1x1xf32>
  %z5 = arith.constant dense<[[8.0]]> : tensor<1x1xf32>
  %d5 = lowbit.dequantize %q5 scales(%s5) zero_points(%z5) scheme<ui4, per_channel, zero_point> : (tensor<1x2xi8>, tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<1x4xf32>

  // Ternary, five trits a byte in base 3 (digit 0, 1, 2 = -1, 0, +1):
  // 65 = 2 + 0*3 + 1*9 + 2*27 + 0*81 holds +1, -1, 0, +1, -1.
  %q6 = arith.constant dense<[[65]]> : tensor<1x1xi8>
  %s6 = arith.constant dense<[[1.5]]> : tensor<1x1xf32>
  %d6 = lowbit.dequantize %q6 scales(%s6) scheme<ternary, per_channel> packing<base3> : (tensor<1x1xi8>, tensor<1x1xf32>) -> tensor<1x5xf32>

  // Interleaved nibbles (GGUF's Q4 layout): byte j of a 32-code block holds
  // code j in its low and code j + 16 in its high nibble. Byte j = j | (15 - j) << 4.
  %q7 = arith.constant dense<[[0xF0, 0xE1, 0xD2, 0xC3, 0xB4, 0xA5, 0x96, 0x87, 0x78, 0x69, 0x5A, 0x4B, 0x3C, 0x2D, 0x1E, 0x0F]]> : tensor<1x16xi8>
  %s7 = arith.constant dense<[[1.0]]> : tensor<1x1xf32>
  %z7 = arith.constant dense<[[0.0]]> : tensor<1x1xf32>
  %d7 = lowbit.dequantize %q7 scales(%s7) zero_points(%z7) scheme<ui4, per_group<32>, zero_point> packing<interleaved, block = 32> : (tensor<1x16xi8>, tensor<1x1xf32>, tensor<1x1xf32>) -> tensor<1x32xf32>

  return %d0, %d1, %d2, %d3, %d4, %d5, %d6, %d7 : tensor<2x4xf32>, tensor<1x4xf32>, tensor<1x4xf32>, tensor<1x6xf32>, tensor<1x2xf32>, tensor<1x4xf32>, tensor<1x5xf32>, tensor<1x32xf32>
}

// CHECK:      output 0: tensor<2x4xf32>
// CHECK-NEXT: {{\[}}[0.5, 1, -4, -0.5], [-0.25, 1.75, 0, -1.75]]
// CHECK:      output 1: tensor<1x4xf32>
// CHECK-NEXT: {{\[}}[-2, 2, 0, 0.159161]]
// CHECK:      output 2: tensor<1x4xf32>
// CHECK-NEXT: {{\[}}[0.25, 0.5, 3, -3]]
// CHECK:      output 3: tensor<1x6xf32>
// CHECK-NEXT: {{\[}}[1, 2, -2, 448, 0.00195312, 0]]
// CHECK:      output 4: tensor<1x2xf32>
// CHECK-NEXT: {{\[}}[1, 57344]]
// CHECK:      output 5: tensor<1x4xf32>
// CHECK-NEXT: {{\[}}[1, -2.5, -4, 3.5]]
// CHECK:      output 6: tensor<1x5xf32>
// CHECK-NEXT: {{\[}}[1.5, -1.5, 0, 1.5, -1.5]]
// CHECK:      output 7: tensor<1x32xf32>
// CHECK-NEXT: {{\[}}[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]]
