// RUN: quant-opt %s --convert-lowbit-to-linalg --canonicalize --split-input-file | FileCheck %s

// The reference linear layer dequantizes the [N, K] weight, folds the leading
// axes of the input into rows, and multiplies by the transposed weight
// through linalg.matmul's indexing maps (no transpose is materialised).

// CHECK-DAG: #[[A:.+]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[B:.+]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[C:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[BIAS:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @linear_with_bias
// CHECK-SAME: (%[[X:.+]]: tensor<2x3x64xf32>, %[[W:.+]]: tensor<8x32xi8>, %[[S:.+]]: tensor<8x2xf32>, %[[BI:.+]]: tensor<8xf32>)
// CHECK:      %[[WF:.+]] = linalg.generic {{.*}} ins(%[[S]] : tensor<8x2xf32>) outs(%{{.*}} : tensor<8x64xf32>)
// CHECK:        tensor.extract %[[W]]
// CHECK:      %[[ROWS:.+]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<2x3x64xf32> into tensor<6x64xf32>
// CHECK:      %[[ZERO:.+]] = linalg.fill
// CHECK:      %[[MM:.+]] = linalg.matmul indexing_maps = [#[[A]], #[[B]], #[[C]]] ins(%[[ROWS]], %[[WF]] : tensor<6x64xf32>, tensor<8x64xf32>) outs(%[[ZERO]] : tensor<6x8xf32>)
// CHECK:      %[[OUT:.+]] = linalg.generic {indexing_maps = [#{{.+}}, #[[BIAS]], #{{.+}}]{{.*}} ins(%[[MM]], %[[BI]] : tensor<6x8xf32>, tensor<8xf32>)
// CHECK:        arith.addf
// CHECK:      %[[R:.+]] = tensor.expand_shape %[[OUT]] {{\[}}[0, 1], [2]] output_shape [2, 3, 8] : tensor<6x8xf32> into tensor<2x3x8xf32>
// CHECK:      return %[[R]]
func.func @linear_with_bias(%x: tensor<2x3x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>, %b: tensor<8xf32>) -> tensor<2x3x8xf32> {
  %0 = lowbit.linear %x, %w scales(%s) bias(%b) scheme<i4, per_group<32>> : (tensor<2x3x64xf32>, tensor<8x32xi8>, tensor<8x2xf32>, tensor<8xf32>) -> tensor<2x3x8xf32>
  return %0 : tensor<2x3x8xf32>
}

// -----

// A rank-2 input needs no reshape, and no bias means no epilogue.
// CHECK-LABEL: func.func @linear_matrix
// CHECK-NOT:  tensor.collapse_shape
// CHECK:      %[[MM:.+]] = linalg.matmul
// CHECK-NOT:  linalg.generic
// CHECK:      return %[[MM]]
func.func @linear_matrix(%x: tensor<5x64xf32>, %w: tensor<8x64xi8>, %s: tensor<8x1xf32>) -> tensor<5x8xf32> {
  %0 = lowbit.linear %x, %w scales(%s) scheme<i8, per_channel> : (tensor<5x64xf32>, tensor<8x64xi8>, tensor<8x1xf32>) -> tensor<5x8xf32>
  return %0 : tensor<5x8xf32>
}

// -----

// A gated layer: the product (with its bias, still f32) viewed as (gate, up)
// pairs, then silu(gate) * up converted to the result type, back in the
// input's leading shape.
// CHECK-DAG: #[[GATE:.+]] = affine_map<(d0, d1) -> (d0, d1, 0)>
// CHECK-DAG: #[[UP:.+]] = affine_map<(d0, d1) -> (d0, d1, 1)>
// CHECK-LABEL: func.func @linear_gated
// CHECK:      %[[MM:.+]] = linalg.matmul
// CHECK:      %[[BIASED:.+]] = linalg.generic {{.*}} ins(%[[MM]], %{{.*}} : tensor<6x8xf32>, tensor<8xf16>) outs(%{{.*}} : tensor<6x8xf32>)
// CHECK:      %[[PAIRS:.+]] = tensor.expand_shape %[[BIASED]] {{\[\[}}0], [1, 2]] output_shape [6, 4, 2] : tensor<6x8xf32> into tensor<6x4x2xf32>
// CHECK:      %[[OUT:.+]] = linalg.generic {indexing_maps = [#[[GATE]], #[[UP]], #{{.+}}]{{.*}} ins(%[[PAIRS]], %[[PAIRS]] : tensor<6x4x2xf32>, tensor<6x4x2xf32>) outs(%{{.*}} : tensor<6x4xf16>)
// CHECK:        arith.negf
// CHECK:        math.exp
// CHECK:        arith.divf
// CHECK:        arith.mulf
// CHECK:        arith.truncf {{.*}} : f32 to f16
// CHECK:      tensor.expand_shape %[[OUT]] {{\[\[}}0, 1], [2]] output_shape [2, 3, 4] : tensor<6x4xf16> into tensor<2x3x4xf16>
func.func @linear_gated(%x: tensor<2x3x64xf16>, %w: tensor<8x32xi8>, %s: tensor<8x2xf16>, %b: tensor<8xf16>) -> tensor<2x3x4xf16> {
  %0 = lowbit.linear %x, %w scales(%s) bias(%b) scheme<i4, per_group<32>, scale = f16> gated<silu> : (tensor<2x3x64xf16>, tensor<8x32xi8>, tensor<8x2xf16>, tensor<8xf16>) -> tensor<2x3x4xf16>
  return %0 : tensor<2x3x4xf16>
}

// -----

// A low-rank branch: its input t [.., r] as a matrix, the f16 up factor
// widened, and t x up^T accumulated onto the product.
// CHECK-LABEL: func.func @linear_lowrank
// CHECK-SAME: (%{{[^:]*}}: tensor<2x3x64xf32>, %{{[^:]*}}: tensor<8x32xi8>, %{{[^:]*}}: tensor<8x2xf32>, %[[T:[^:]*]]: tensor<2x3x4xf32>, %[[U:[^:]*]]: tensor<8x4xf16>)
// CHECK:      %[[MM:.+]] = linalg.matmul
// CHECK-DAG:  %[[UP:.+]] = arith.extf %[[U]] : tensor<8x4xf16> to tensor<8x4xf32>
// CHECK-DAG:  %[[TM:.+]] = tensor.collapse_shape %[[T]] {{\[\[}}0, 1], [2]] : tensor<2x3x4xf32> into tensor<6x4xf32>
// CHECK:      %[[Y:.+]] = linalg.matmul {{.*}} ins(%[[TM]], %[[UP]] : tensor<6x4xf32>, tensor<8x4xf32>) outs(%[[MM]] : tensor<6x8xf32>)
// CHECK:      tensor.expand_shape %[[Y]]
func.func @linear_lowrank(%x: tensor<2x3x64xf32>, %w: tensor<8x32xi8>, %s: tensor<8x2xf32>, %t: tensor<2x3x4xf32>, %u: tensor<8x4xf16>) -> tensor<2x3x8xf32> {
  %0 = lowbit.linear %x, %w scales(%s) lowrank(%t, %u) scheme<i4, per_group<32>> : (tensor<2x3x64xf32>, tensor<8x32xi8>, tensor<8x2xf32>, tensor<2x3x4xf32>, tensor<8x4xf16>) -> tensor<2x3x8xf32>
  return %0 : tensor<2x3x8xf32>
}

// -----

// lowbit.channel_scale is a broadcast multiply along the last axis.
// CHECK-DAG: #[[VEC:.+]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @channel_scale
// CHECK-SAME: (%[[X:.+]]: tensor<2x64xf32>, %[[S:.+]]: tensor<64xf32>)
// CHECK:      linalg.generic {indexing_maps = [#{{.+}}, #[[VEC]], #{{.+}}]{{.*}} ins(%[[X]], %[[S]] : tensor<2x64xf32>, tensor<64xf32>)
// CHECK:        arith.mulf
func.func @channel_scale(%x: tensor<2x64xf32>, %s: tensor<64xf32>) -> tensor<2x64xf32> {
  %0 = lowbit.channel_scale %x, %s : tensor<2x64xf32>, tensor<64xf32>
  return %0 : tensor<2x64xf32>
}
