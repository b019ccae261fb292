// RUN: quant-opt %s --canonicalize --cse --split-input-file | FileCheck %s

// An explicitly written default packing folds away, so equal ops print and
// CSE alike; other packings stay.

// CHECK-LABEL: func.func @drop_default_packing
func.func @drop_default_packing(%x: tensor<4x64xf32>, %q: tensor<4x32xi8>, %s: tensor<4x2xf32>)
    -> (tensor<4x32xi8>, tensor<4x64xf32>, tensor<2x4xf32>) {
  // CHECK: lowbit.quantize %{{.*}} scales(%{{.*}}) scheme<i4, per_group<32>> :
  %0 = lowbit.quantize %x scales(%s) scheme<i4, per_group<32>> packing<sequential> : (tensor<4x64xf32>, tensor<4x2xf32>) -> tensor<4x32xi8>
  // CHECK: lowbit.dequantize %{{.*}} scales(%{{.*}}) scheme<i4, per_group<32>> :
  %1 = lowbit.dequantize %q scales(%s) scheme<i4, per_group<32>> packing<sequential> : (tensor<4x32xi8>, tensor<4x2xf32>) -> tensor<4x64xf32>
  // CHECK: lowbit.linear %{{.*}}, %{{.*}} scales(%{{.*}}) scheme<i4, per_group<32>> :
  %2 = lowbit.linear %x, %q scales(%s) scheme<i4, per_group<32>> packing<sequential> : (tensor<4x64xf32>, tensor<4x32xi8>, tensor<4x2xf32>) -> tensor<4x4xf32>
  %3 = tensor.extract_slice %2[0, 0] [2, 4] [1, 1] : tensor<4x4xf32> to tensor<2x4xf32>
  return %0, %1, %3 : tensor<4x32xi8>, tensor<4x64xf32>, tensor<2x4xf32>
}

// -----

// CHECK-LABEL: func.func @keep_other_packings
func.func @keep_other_packings(%q: tensor<4x32xi8>, %s: tensor<4x2xf32>) -> tensor<4x64xf32> {
  // CHECK: packing<interleaved, block = 32>
  %0 = lowbit.dequantize %q scales(%s) scheme<i4, per_group<32>> packing<interleaved, block = 32> : (tensor<4x32xi8>, tensor<4x2xf32>) -> tensor<4x64xf32>
  return %0 : tensor<4x64xf32>
}

// -----

// Identical quantized ops written with and without the default packing are
// one op after canonicalization and CSE.
// CHECK-LABEL: func.func @cse_after_fold
// CHECK-COUNT-1: lowbit.dequantize
// CHECK-NOT: lowbit.dequantize
func.func @cse_after_fold(%q: tensor<4x32xi8>, %s: tensor<4x2xf32>) -> (tensor<4x64xf32>, tensor<4x64xf32>) {
  %0 = lowbit.dequantize %q scales(%s) scheme<i4, per_group<32>> packing<sequential> : (tensor<4x32xi8>, tensor<4x2xf32>) -> tensor<4x64xf32>
  %1 = lowbit.dequantize %q scales(%s) scheme<i4, per_group<32>> : (tensor<4x32xi8>, tensor<4x2xf32>) -> tensor<4x64xf32>
  return %0, %1 : tensor<4x64xf32>, tensor<4x64xf32>
}

// -----

// A smoothing scale left at run time folds into the dynamic quantizer that
// reads it; one with other users stays for them.

// CHECK-LABEL: func.func @fold_channel_scale_into_quantizer
// CHECK-SAME: (%[[X:.+]]: tensor<4x64xf32>, %[[C:.+]]: tensor<64xf32>)
// CHECK:      %[[Q:.+]], %[[S:.+]] = lowbit.quantize_dynamic %[[X]] channel_scales(%[[C]]) scheme<i8, per_channel>
// CHECK-NOT:  lowbit.channel_scale
// CHECK:      return %[[Q]], %[[S]]
func.func @fold_channel_scale_into_quantizer(%x: tensor<4x64xf32>, %c: tensor<64xf32>) -> (tensor<4x64xi8>, tensor<4x1xf32>) {
  %0 = lowbit.channel_scale %x, %c : tensor<4x64xf32>, tensor<64xf32>
  %q, %s = lowbit.quantize_dynamic %0 scheme<i8, per_channel> : tensor<4x64xf32> -> (tensor<4x64xi8>, tensor<4x1xf32>)
  return %q, %s : tensor<4x64xi8>, tensor<4x1xf32>
}

// -----

// CHECK-LABEL: func.func @keep_shared_channel_scale
// CHECK:      %[[Y:.+]] = lowbit.channel_scale
// CHECK:      lowbit.quantize_dynamic %{{.*}} channel_scales(%{{.*}}) scheme<i8, per_channel>
// CHECK:      return %{{.*}}, %[[Y]]
func.func @keep_shared_channel_scale(%x: tensor<4x64xf32>, %c: tensor<64xf32>) -> (tensor<4x64xi8>, tensor<4x64xf32>) {
  %0 = lowbit.channel_scale %x, %c : tensor<4x64xf32>, tensor<64xf32>
  %q, %s = lowbit.quantize_dynamic %0 scheme<i8, per_channel> : tensor<4x64xf32> -> (tensor<4x64xi8>, tensor<4x1xf32>)
  return %q, %0 : tensor<4x64xi8>, tensor<4x64xf32>
}
