// RUN: quant-opt %s | quant-opt | FileCheck %s
// RUN: quant-opt %s --mlir-print-op-generic | quant-opt | FileCheck %s

// Every op, every element format, granularity, packing and scale type
// survives printing and parsing, in the custom and the generic form.

// CHECK-LABEL: func.func @integer_formats
func.func @integer_formats(%x: tensor<4x64xf32>, %s: tensor<4x2xf32>, %s1: tensor<4x1xf32>, %z: tensor<4x1xf32>) {
  // CHECK: lowbit.quantize %{{.*}} scales(%{{.*}}) scheme<i4, per_group<32>> : (tensor<4x64xf32>, tensor<4x2xf32>) -> tensor<4x32xi8>
  %0 = lowbit.quantize %x scales(%s) scheme<i4, per_group<32>> : (tensor<4x64xf32>, tensor<4x2xf32>) -> tensor<4x32xi8>
  // `si` spells the same signed format.
  // CHECK: scheme<i4, per_group<32>>
  %1 = lowbit.quantize %x scales(%s) scheme<si4, per_group<32>> : (tensor<4x64xf32>, tensor<4x2xf32>) -> tensor<4x32xi8>
  // CHECK: scheme<i2, per_channel>
  %2 = lowbit.quantize %x scales(%s1) scheme<i2, per_channel> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x16xi8>
  // CHECK: scheme<i3, per_channel>
  %3 = lowbit.quantize %x scales(%s1) scheme<i3, per_channel> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x24xi8>
  // CHECK: scheme<i5, per_channel>
  %4 = lowbit.quantize %x scales(%s1) scheme<i5, per_channel> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x40xi8>
  // CHECK: scheme<i6, per_channel>
  %5 = lowbit.quantize %x scales(%s1) scheme<i6, per_channel> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x48xi8>
  // CHECK: scheme<i7, per_channel>
  %6 = lowbit.quantize %x scales(%s1) scheme<i7, per_channel> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x56xi8>
  // CHECK: scheme<i8, per_channel>
  %7 = lowbit.quantize %x scales(%s1) scheme<i8, per_channel> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x64xi8>
  // CHECK: zero_points(%{{.*}}) scheme<ui4, per_channel, zero_point>
  %8 = lowbit.quantize %x scales(%s1) zero_points(%z) scheme<ui4, per_channel, zero_point> : (tensor<4x64xf32>, tensor<4x1xf32>, tensor<4x1xf32>) -> tensor<4x32xi8>
  return
}

// CHECK-LABEL: func.func @float_formats
func.func @float_formats(%x: tensor<4x64xf32>, %t: tensor<1x1xf32>, %c: tensor<4x1xf32>, %g: tensor<4x2xf8E8M0FNU>, %h: tensor<4x4xf16>) {
  // CHECK: scheme<f8E4M3FN, per_tensor>
  %0 = lowbit.quantize %x scales(%t) scheme<f8E4M3FN, per_tensor> : (tensor<4x64xf32>, tensor<1x1xf32>) -> tensor<4x64xi8>
  // CHECK: scheme<f8E5M2, per_channel>
  %1 = lowbit.quantize %x scales(%c) scheme<f8E5M2, per_channel> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x64xi8>
  // CHECK: scheme<f4E2M1FN, per_group<32>, scale = f8E8M0FNU>
  %2 = lowbit.quantize %x scales(%g) scheme<f4E2M1FN, per_group<32>, scale = f8E8M0FNU> : (tensor<4x64xf32>, tensor<4x2xf8E8M0FNU>) -> tensor<4x32xi8>
  // CHECK: scheme<nf4, per_group<16>, scale = f16>
  %3 = lowbit.quantize %x scales(%h) scheme<nf4, per_group<16>, scale = f16> : (tensor<4x64xf32>, tensor<4x4xf16>) -> tensor<4x32xi8>
  // CHECK: scheme<ternary, per_channel>
  %4 = lowbit.quantize %x scales(%c) scheme<ternary, per_channel> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x16xi8>
  // CHECK: scheme<ternary, per_channel> packing<base3>
  %5 = lowbit.quantize %x scales(%c) scheme<ternary, per_channel> packing<base3> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x13xi8>
  return
}

// CHECK-LABEL: func.func @granularities_and_packings
func.func @granularities_and_packings(%w: tensor<256x64xf32>, %ic: tensor<2x64xbf16>, %g: tensor<256x2xf16>, %z: tensor<256x2xf16>) {
  // CHECK: scheme<i4, per_ic_group<128>, scale = bf16>
  %0 = lowbit.quantize %w scales(%ic) scheme<i4, per_ic_group<128>, scale = bf16> : (tensor<256x64xf32>, tensor<2x64xbf16>) -> tensor<256x32xi8>
  // GGUF Q4_1: unsigned nibbles, f16 scale and minimum, interleaved halves.
  // CHECK: scheme<ui4, per_group<32>, zero_point, scale = f16> packing<interleaved, block = 32>
  %1 = lowbit.quantize %w scales(%g) zero_points(%z) scheme<ui4, per_group<32>, zero_point, scale = f16> packing<interleaved, block = 32> : (tensor<256x64xf32>, tensor<256x2xf16>, tensor<256x2xf16>) -> tensor<256x32xi8>
  // An explicit default packing is kept as written (canonicalization drops it).
  // CHECK: scheme<i4, per_group<32>, scale = f16> packing<sequential> :
  %2 = lowbit.quantize %w scales(%g) scheme<i4, per_group<32>, scale = f16> packing<sequential> : (tensor<256x64xf32>, tensor<256x2xf16>) -> tensor<256x32xi8>
  return
}

// CHECK-LABEL: func.func @dequantize
func.func @dequantize(%q: tensor<?x32xi8>, %s: tensor<?x2xf16>, %z: tensor<?x2xi8>) -> (tensor<?x64xf32>, tensor<?x64xbf16>) {
  // CHECK: lowbit.dequantize %{{.*}} scales(%{{.*}}) scheme<i4, per_group<32>, scale = f16> : (tensor<?x32xi8>, tensor<?x2xf16>) -> tensor<?x64xf32>
  %0 = lowbit.dequantize %q scales(%s) scheme<i4, per_group<32>, scale = f16> : (tensor<?x32xi8>, tensor<?x2xf16>) -> tensor<?x64xf32>
  // Integer zero points, as GPTQ stores them.
  // CHECK: lowbit.dequantize %{{.*}} scales(%{{.*}}) zero_points(%{{.*}}) scheme<ui4, per_group<32>, zero_point, scale = f16> : (tensor<?x32xi8>, tensor<?x2xf16>, tensor<?x2xi8>) -> tensor<?x64xbf16>
  %1 = lowbit.dequantize %q scales(%s) zero_points(%z) scheme<ui4, per_group<32>, zero_point, scale = f16> : (tensor<?x32xi8>, tensor<?x2xf16>, tensor<?x2xi8>) -> tensor<?x64xbf16>
  return %0, %1 : tensor<?x64xf32>, tensor<?x64xbf16>
}

// CHECK-LABEL: func.func @linear
func.func @linear(%x: tensor<2x?x64xf16>, %v: tensor<64xf32>, %w: tensor<16x32xi8>, %s: tensor<16x2xf16>, %z: tensor<16x2xf16>, %b: tensor<16xf16>, %t: tensor<2x?x8xf16>, %u: tensor<16x8xf16>) -> (tensor<2x?x16xf16>, tensor<16xf32>) {
  // CHECK: lowbit.linear %{{.*}}, %{{.*}} scales(%{{.*}}) zero_points(%{{.*}}) bias(%{{.*}}) scheme<ui4, per_group<32>, zero_point, scale = f16> packing<interleaved, block = 32> : (tensor<2x?x64xf16>, tensor<16x32xi8>, tensor<16x2xf16>, tensor<16x2xf16>, tensor<16xf16>) -> tensor<2x?x16xf16>
  %0 = lowbit.linear %x, %w scales(%s) zero_points(%z) bias(%b) scheme<ui4, per_group<32>, zero_point, scale = f16> packing<interleaved, block = 32> : (tensor<2x?x64xf16>, tensor<16x32xi8>, tensor<16x2xf16>, tensor<16x2xf16>, tensor<16xf16>) -> tensor<2x?x16xf16>
  // CHECK: lowbit.linear %{{.*}}, %{{.*}} scales(%{{.*}}) lowrank(%{{.*}}, %{{.*}}) scheme<i4, per_group<32>, scale = f16> : (tensor<2x?x64xf16>, tensor<16x32xi8>, tensor<16x2xf16>, tensor<2x?x8xf16>, tensor<16x8xf16>) -> tensor<2x?x16xf16>
  %l = lowbit.linear %x, %w scales(%s) lowrank(%t, %u) scheme<i4, per_group<32>, scale = f16> : (tensor<2x?x64xf16>, tensor<16x32xi8>, tensor<16x2xf16>, tensor<2x?x8xf16>, tensor<16x8xf16>) -> tensor<2x?x16xf16>
  // CHECK: lowbit.linear %{{.*}}, %{{.*}} scales(%{{.*}}) bias(%{{.*}}) scheme<i4, per_group<32>, scale = f16> gated<silu> : (tensor<2x?x64xf16>, tensor<16x32xi8>, tensor<16x2xf16>, tensor<16xf16>) -> tensor<2x?x8xf16>
  %g = lowbit.linear %x, %w scales(%s) bias(%b) scheme<i4, per_group<32>, scale = f16> gated<silu> : (tensor<2x?x64xf16>, tensor<16x32xi8>, tensor<16x2xf16>, tensor<16xf16>) -> tensor<2x?x8xf16>
  // CHECK: lowbit.linear %{{.*}}, %{{.*}} scales(%{{.*}}) scheme<i4, per_group<32>, scale = f16> : (tensor<64xf32>, tensor<16x32xi8>, tensor<16x2xf16>) -> tensor<16xf32>
  %1 = lowbit.linear %v, %w scales(%s) scheme<i4, per_group<32>, scale = f16> : (tensor<64xf32>, tensor<16x32xi8>, tensor<16x2xf16>) -> tensor<16xf32>
  return %0, %1 : tensor<2x?x16xf16>, tensor<16xf32>
}

// CHECK-LABEL: func.func @channel_scale_and_observe
func.func @channel_scale_and_observe(%x: tensor<?x64xbf16>, %s: tensor<64xbf16>) -> tensor<?x64xbf16> {
  // CHECK: lowbit.channel_scale %{{.*}}, %{{.*}} : tensor<?x64xbf16>, tensor<64xbf16>
  %0 = lowbit.channel_scale %x, %s : tensor<?x64xbf16>, tensor<64xbf16>
  // CHECK: lowbit.observe %{{.*}} key("blk.0.attn_q") stats <absmax, gram> : tensor<?x64xbf16>
  lowbit.observe %0 key("blk.0.attn_q") stats <absmax, gram> : tensor<?x64xbf16>
  // CHECK: lowbit.observe %{{.*}} key("blk.0.ffn_down") stats <all> : tensor<?x64xbf16>
  lowbit.observe %0 key("blk.0.ffn_down") stats <absmax, mean_abs, gram> : tensor<?x64xbf16>
  return %0 : tensor<?x64xbf16>
}

// CHECK-LABEL: func.func @quantize_dynamic
func.func @quantize_dynamic(%x: tensor<?x64xf32>, %c: tensor<64xf32>) -> (tensor<?x64xi8>, tensor<?x1xf32>, tensor<?x32xi8>, tensor<?x2xf32>, tensor<?x64xi8>, tensor<1x1xf32>) {
  // CHECK: lowbit.quantize_dynamic %{{.*}} scheme<i8, per_channel> : tensor<?x64xf32> -> (tensor<?x64xi8>, tensor<?x1xf32>)
  %0:2 = lowbit.quantize_dynamic %x scheme<i8, per_channel> : tensor<?x64xf32> -> (tensor<?x64xi8>, tensor<?x1xf32>)
  // CHECK: lowbit.quantize_dynamic %{{.*}} channel_scales(%{{.*}}) scheme<i4, per_group<32>> : tensor<?x64xf32>, tensor<64xf32> -> (tensor<?x32xi8>, tensor<?x2xf32>)
  %1:2 = lowbit.quantize_dynamic %x channel_scales(%c) scheme<i4, per_group<32>> : tensor<?x64xf32>, tensor<64xf32> -> (tensor<?x32xi8>, tensor<?x2xf32>)
  // CHECK: lowbit.quantize_dynamic %{{.*}} scheme<f8E4M3FN, per_tensor> : tensor<?x64xf32> -> (tensor<?x64xi8>, tensor<1x1xf32>)
  %2:2 = lowbit.quantize_dynamic %x scheme<f8E4M3FN, per_tensor> : tensor<?x64xf32> -> (tensor<?x64xi8>, tensor<1x1xf32>)
  return %0#0, %0#1, %1#0, %1#1, %2#0, %2#1 : tensor<?x64xi8>, tensor<?x1xf32>, tensor<?x32xi8>, tensor<?x2xf32>, tensor<?x64xi8>, tensor<1x1xf32>
}

// CHECK-LABEL: func.func @vector_ops
func.func @vector_ops(%t: vector<16xf32>, %i: vector<16xi32>, %acc: vector<16xi32>, %x: vector<64xi8>, %w: vector<64xi8>) -> (vector<16xf32>, vector<16xi32>) {
  // CHECK: lowbit.lookup %{{.*}}[%{{.*}}] : vector<16xf32>, vector<16xi32> -> vector<16xf32>
  %0 = lowbit.lookup %t[%i] : vector<16xf32>, vector<16xi32> -> vector<16xf32>
  // CHECK: lowbit.dot_bytes %{{.*}}, %{{.*}}, %{{.*}} : vector<16xi32>, vector<64xi8>
  %1 = lowbit.dot_bytes %acc, %x, %w : vector<16xi32>, vector<64xi8>
  return %0, %1 : vector<16xf32>, vector<16xi32>
}
