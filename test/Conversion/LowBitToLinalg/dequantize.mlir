// RUN: quant-opt %s --convert-lowbit-to-linalg --canonicalize --split-input-file | FileCheck %s

// Dequantization becomes one elementwise linalg.generic over the logical
// shape: its input is the scale tensor (indexed by the group map), and its
// body gathers the packed byte(s), extracts the field and decodes it.

// CHECK-DAG: #[[GROUP:.+]] = affine_map<(d0, d1) -> (d0, d1 floordiv 32)>
// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-LABEL: func.func @signed_int4_groups
// CHECK-SAME: (%[[Q:.+]]: tensor<4x32xi8>, %[[S:.+]]: tensor<4x2xf16>)
// CHECK:      linalg.generic {indexing_maps = [#[[GROUP]], #[[ID]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME:   ins(%[[S]] : tensor<4x2xf16>) outs(%{{.*}} : tensor<4x64xf32>)
// CHECK:      ^bb0(%[[SCALE:.+]]: f16, %{{.*}}: f32):
// CHECK:        %[[ROW:.+]] = linalg.index 0
// CHECK:        %[[COL:.+]] = linalg.index 1
// CHECK:        %[[BIT:.+]] = arith.muli %[[COL]], %c4
// CHECK:        %[[BYTE:.+]] = arith.divui %[[BIT]], %c8
// CHECK:        tensor.extract %[[Q]][%[[ROW]], %[[BYTE]]] : tensor<4x32xi8>
// CHECK:        arith.andi %{{.*}}, %c15_i32
// Sign extension of the 4-bit field.
// CHECK:        arith.shli %{{.*}}, %c28_i32
// CHECK:        arith.shrsi %{{.*}}, %c28_i32
// CHECK:        %[[CODE:.+]] = arith.sitofp
// CHECK:        %[[EXT:.+]] = arith.extf %[[SCALE]] : f16 to f32
// CHECK:        %[[R:.+]] = arith.mulf %[[CODE]], %[[EXT]]
// CHECK:        linalg.yield %[[R]]
func.func @signed_int4_groups(%q: tensor<4x32xi8>, %s: tensor<4x2xf16>) -> tensor<4x64xf32> {
  %0 = lowbit.dequantize %q scales(%s) scheme<i4, per_group<32>, scale = f16> : (tensor<4x32xi8>, tensor<4x2xf16>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// -----

// Codebook formats decode through a constant lookup table.
// CHECK-LABEL: func.func @nf4_lookup
// CHECK:      %[[LUT:.+]] = arith.constant dense<[-1.000000e+00, -0.6961928, {{.*}}, 0.722956836, 1.000000e+00]> : tensor<16xf32>
// CHECK:      linalg.generic
// CHECK:        %[[FIELD:.+]] = arith.andi %{{.*}}, %c15_i32
// CHECK:        %[[IDX:.+]] = arith.index_castui %[[FIELD]] : i32 to index
// CHECK:        %[[VAL:.+]] = tensor.extract %[[LUT]][%[[IDX]]] : tensor<16xf32>
// CHECK:        arith.mulf %[[VAL]], %{{.*}} : f32
func.func @nf4_lookup(%q: tensor<4x32xi8>, %s: tensor<4x2xf32>) -> tensor<4x64xf32> {
  %0 = lowbit.dequantize %q scales(%s) scheme<nf4, per_group<32>> : (tensor<4x32xi8>, tensor<4x2xf32>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// -----

// An asymmetric scheme subtracts the zero point before scaling.
// CHECK-DAG: #[[ROWMAP:.+]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-LABEL: func.func @unsigned_zero_point
// CHECK:      linalg.generic {indexing_maps = [#[[ROWMAP]], #[[ROWMAP]], #{{.+}}]
// CHECK:      ^bb0(%[[SC:.+]]: f32, %[[ZP:.+]]: f32, %{{.*}}: f32):
// CHECK:        %[[U:.+]] = arith.uitofp %{{.*}} : i32 to f32
// CHECK:        %[[D:.+]] = arith.subf %[[U]], %[[ZP]] : f32
// CHECK:        arith.mulf %[[D]], %[[SC]] : f32
func.func @unsigned_zero_point(%q: tensor<4x32xi8>, %s: tensor<4x1xf32>, %z: tensor<4x1xf32>) -> tensor<4x64xf32> {
  %0 = lowbit.dequantize %q scales(%s) zero_points(%z) scheme<ui4, per_channel, zero_point> : (tensor<4x32xi8>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// -----

// A 3-bit field may straddle two bytes: both are read (the second clamped to
// the row) and joined before the shift.
// CHECK-LABEL: func.func @int3_straddles_bytes
// CHECK-SAME: (%[[Q:.+]]: tensor<4x24xi8>
// CHECK:        %[[B0:.+]] = arith.divui %{{.*}}, %c8
// CHECK:        tensor.extract %[[Q]][%{{.*}}, %[[B0]]]
// CHECK:        %[[NEXT:.+]] = arith.addi %[[B0]], %c1
// CHECK:        %[[B1:.+]] = arith.minsi %[[NEXT]], %c23
// CHECK:        tensor.extract %[[Q]][%{{.*}}, %[[B1]]]
// CHECK:        arith.shli %{{.*}}, %c8_i32
// CHECK:        arith.ori
// CHECK:        arith.andi %{{.*}}, %c7_i32
// CHECK:        arith.shli %{{.*}}, %c29_i32
// CHECK:        arith.shrsi %{{.*}}, %c29_i32
func.func @int3_straddles_bytes(%q: tensor<4x24xi8>, %s: tensor<4x1xf32>) -> tensor<4x64xf32> {
  %0 = lowbit.dequantize %q scales(%s) scheme<i3, per_channel> : (tensor<4x24xi8>, tensor<4x1xf32>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// -----

// Base-3 packing holds five trits a byte: digit i of byte k is
// (byte / 3^i) mod 3.
// CHECK-LABEL: func.func @ternary_base3
// CHECK-DAG:  %[[POW:.+]] = arith.constant dense<[1, 3, 9, 27, 81]> : tensor<5xi32>
// CHECK-DAG:  %[[TRIT:.+]] = arith.constant dense<[-1.000000e+00, 0.000000e+00, 1.000000e+00, 0.000000e+00]> : tensor<4xf32>
// CHECK:        %[[BYTE:.+]] = arith.divui %{{.*}}, %c5 : index
// CHECK:        tensor.extract %{{.*}}[%{{.*}}, %[[BYTE]]] : tensor<4x13xi8>
// CHECK:        %[[DIGIT:.+]] = arith.remui %{{.*}}, %c5 : index
// CHECK:        %[[P:.+]] = tensor.extract %[[POW]][%[[DIGIT]]]
// CHECK:        %[[Y:.+]] = arith.divui %{{.*}}, %[[P]] : i32
// CHECK:        arith.remui %[[Y]], %c3_i32 : i32
// CHECK:        tensor.extract %[[TRIT]]
func.func @ternary_base3(%q: tensor<4x13xi8>, %s: tensor<4x1xf32>) -> tensor<4x64xf32> {
  %0 = lowbit.dequantize %q scales(%s) scheme<ternary, per_channel> packing<base3> : (tensor<4x13xi8>, tensor<4x1xf32>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}
