// RUN: quant-opt %s --convert-lowbit-to-linalg --canonicalize --split-input-file | FileCheck %s

// Quantization is two generics: one encodes every element to its code (one
// byte per code), one packs the codes of each output byte.

// CHECK-DAG: #[[ID:.+]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[GROUP:.+]] = affine_map<(d0, d1) -> (d0, d1 floordiv 32)>
// CHECK-LABEL: func.func @int4_round_to_nearest_even
// CHECK-SAME: (%[[X:.+]]: tensor<4x64xf32>, %[[S:.+]]: tensor<4x2xf32>)
// CHECK-DAG:  %[[HI:.+]] = arith.constant 7.000000e+00 : f32
// CHECK-DAG:  %[[LO:.+]] = arith.constant -8.000000e+00 : f32
// CHECK:      %[[CODES:.+]] = linalg.generic {indexing_maps = [#[[ID]], #[[GROUP]], #[[ID]]]
// CHECK-SAME:   ins(%[[X]], %[[S]] : tensor<4x64xf32>, tensor<4x2xf32>) outs(%{{.*}} : tensor<4x64xi8>)
// CHECK:        %[[Y:.+]] = arith.divf
// NaN quantizes to code 0.
// CHECK:        arith.cmpf uno, %[[Y]], %[[Y]]
// CHECK:        %[[R:.+]] = math.roundeven
// CHECK:        %[[C0:.+]] = arith.maximumf %[[R]], %[[LO]]
// CHECK:        arith.minimumf %[[C0]], %[[HI]]
// CHECK:        arith.fptosi
// CHECK:      } -> tensor<4x64xi8>
// CHECK:      %[[PACKED:.+]] = linalg.generic {indexing_maps = [#[[ID]]], iterator_types = ["parallel", "parallel"]} outs(%{{.*}} : tensor<4x32xi8>)
// CHECK:        tensor.extract %[[CODES]]
// CHECK:        arith.shli
// CHECK:        arith.ori
// CHECK:        linalg.yield %{{.*}} : i8
// CHECK:      return %[[PACKED]]
func.func @int4_round_to_nearest_even(%x: tensor<4x64xf32>, %s: tensor<4x2xf32>) -> tensor<4x32xi8> {
  %0 = lowbit.quantize %x scales(%s) scheme<i4, per_group<32>> : (tensor<4x64xf32>, tensor<4x2xf32>) -> tensor<4x32xi8>
  return %0 : tensor<4x32xi8>
}

// -----

// A non-uniform format encodes by a branch-free binary search over the
// decision thresholds (midpoints of neighbouring values), with a tie-break
// table for round-half-to-even, and a final table mapping ranks to codes.
// CHECK-LABEL: func.func @fp4_binary_search
// CHECK-DAG:  %[[THRESH:.+]] = arith.constant dense<[-5.000000e+00, -3.500000e+00, {{.*}}, 3.500000e+00, 5.000000e+00]> : tensor<14xf32>
// CHECK-DAG:  %[[TIE:.+]] = arith.constant dense<[true, false, {{.*}}]> : tensor<14xi1>
// CHECK-DAG:  %[[CODE:.+]] = arith.constant dense<[15, 14, 13, 12, 11, 10, 9, 0, 1, 2, 3, 4, 5, 6, 7]> : tensor<15xi32>
// CHECK:      linalg.generic
// CHECK-COUNT-3: tensor.extract %[[THRESH]]
// CHECK:        tensor.extract %[[CODE]]
// CHECK-NOT:    scf.
// CHECK:      } -> tensor<4x64xi8>
func.func @fp4_binary_search(%x: tensor<4x64xf32>, %s: tensor<4x2xf32>) -> tensor<4x32xi8> {
  %0 = lowbit.quantize %x scales(%s) scheme<f4E2M1FN, per_group<32>> : (tensor<4x64xf32>, tensor<4x2xf32>) -> tensor<4x32xi8>
  return %0 : tensor<4x32xi8>
}

// -----

// Dynamic quantization: the maxima of |x| per token (the input viewed as
// [T, blocks, group] and reduced over the group), s = max / max|code| with 1
// for blocks of zeros, then the quantizer of lowbit.quantize on those
// scales.

// CHECK-DAG: #[[VIEW:.+]] = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
// CHECK-DAG: #[[BLOCK:.+]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func.func @dynamic_per_token
// CHECK-SAME: (%[[X:.+]]: tensor<4x64xf32>)
// CHECK-DAG:  %[[MAXCODE:.+]] = arith.constant 1.270000e+02 : f32
// CHECK:      %[[V:.+]] = tensor.expand_shape %[[X]] {{\[}}[0], [1, 2]] output_shape [4, 1, 64]
// CHECK:      %[[M:.+]] = linalg.generic {indexing_maps = [#[[VIEW]], #[[BLOCK]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME:   ins(%[[V]] : tensor<4x1x64xf32>)
// CHECK:        math.absf
// CHECK:        arith.maximumf
// CHECK:      %[[S:.+]] = linalg.generic {{.*}} ins(%[[M]] : tensor<4x1xf32>)
// CHECK:        arith.cmpf ogt
// CHECK:        arith.divf %{{.*}}, %[[MAXCODE]]
// CHECK:        arith.select
// CHECK:      linalg.generic {{.*}} ins(%[[X]], %[[S]] : tensor<4x64xf32>, tensor<4x1xf32>)
// CHECK:      return %{{.*}}, %[[S]]
func.func @dynamic_per_token(%x: tensor<4x64xf32>) -> (tensor<4x64xi8>, tensor<4x1xf32>) {
  %q, %s = lowbit.quantize_dynamic %x scheme<i8, per_channel> : tensor<4x64xf32> -> (tensor<4x64xi8>, tensor<4x1xf32>)
  return %q, %s : tensor<4x64xi8>, tensor<4x1xf32>
}

// -----

// Per tensor: one reduction over everything; channel scales multiply first.

// CHECK-LABEL: func.func @dynamic_per_tensor_with_channel_scales
// CHECK-SAME: (%[[X:.+]]: tensor<4x64xf32>, %[[C:.+]]: tensor<64xf32>)
// CHECK-DAG:  arith.constant 4.480000e+02 : f32
// CHECK:      %[[XC:.+]] = linalg.generic {{.*}} ins(%[[X]], %[[C]] : tensor<4x64xf32>, tensor<64xf32>)
// CHECK:        arith.mulf
// CHECK:      linalg.generic {{.*}} iterator_types = ["reduction", "reduction"]} ins(%[[XC]] : tensor<4x64xf32>) outs(%{{.*}} : tensor<f32>)
// CHECK:      tensor.expand_shape %{{.*}} [] output_shape [1, 1] : tensor<f32> into tensor<1x1xf32>
func.func @dynamic_per_tensor_with_channel_scales(%x: tensor<4x64xf32>, %c: tensor<64xf32>) -> (tensor<4x64xi8>, tensor<1x1xf32>) {
  %q, %s = lowbit.quantize_dynamic %x channel_scales(%c) scheme<f8E4M3FN, per_tensor> : tensor<4x64xf32>, tensor<64xf32> -> (tensor<4x64xi8>, tensor<1x1xf32>)
  return %q, %s : tensor<4x64xi8>, tensor<1x1xf32>
}
