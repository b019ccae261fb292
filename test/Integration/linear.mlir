// RUN: lowbit-run exec %s --entry main --print | FileCheck %s

// A quantized linear layer with int8 per-channel weights and a bias, on
// numbers small enough to check by hand:
//   y0 = 0.5  * (1*1 + 2*0 + 3*-1 + 4*2) + 1 = 4
//   y1 = 0.25 * (1*3 + 2*3 + 3*3 + 4*3) - 1 = 6.5
// and the same weights as int4 in groups of 2 with one scale per group.

func.func @main() -> (tensor<1x2xf32>, tensor<2x1x2xf32>) {
  %x = arith.constant dense<[[1.0, 2.0, 3.0, 4.0]]> : tensor<1x4xf32>
  %w = arith.constant dense<[[1, 0, -1, 2], [3, 3, 3, 3]]> : tensor<2x4xi8>
  %s = arith.constant dense<[[0.5], [0.25]]> : tensor<2x1xf32>
  %b = arith.constant dense<[1.0, -1.0]> : tensor<2xf32>
  %y = lowbit.linear %x, %w scales(%s) bias(%b) scheme<i8, per_channel> : (tensor<1x4xf32>, tensor<2x4xi8>, tensor<2x1xf32>, tensor<2xf32>) -> tensor<1x2xf32>

  // Rank-3 input; int4 codes [1, 0 | -1, 2] and [3, 3 | 3, 3] with group
  // scales [1, 2] and [0.5, 0.25]: y0 = 1*1 + 2*(-3 + 8) = 11,
  // y1 = 0.5*(3 + 6) + 0.25*(9 + 12) = 9.75; the second batch row is 2x.
  %x3 = arith.constant dense<[[[1.0, 2.0, 3.0, 4.0]], [[2.0, 4.0, 6.0, 8.0]]]> : tensor<2x1x4xf32>
  %w4 = arith.constant dense<[[0x01, 0x2F], [0x33, 0x33]]> : tensor<2x2xi8>
  %g = arith.constant dense<[[1.0, 2.0], [0.5, 0.25]]> : tensor<2x2xf32>
  %y3 = lowbit.linear %x3, %w4 scales(%g) scheme<i4, per_group<2>> : (tensor<2x1x4xf32>, tensor<2x2xi8>, tensor<2x2xf32>) -> tensor<2x1x2xf32>
  return %y, %y3 : tensor<1x2xf32>, tensor<2x1x2xf32>
}

// CHECK:      output 0: tensor<1x2xf32>
// CHECK-NEXT: {{\[}}[4, 6.5]]
// CHECK:      output 1: tensor<2x1x2xf32>
// CHECK-NEXT: {{\[}}{{\[}}[11, 9.75]], {{\[}}[22, 19.5]]]
