// RUN: quant-opt %s -split-input-file -verify-diagnostics

// Every verifier and attribute-parser error of the lowbit dialect.

//===----------------------------------------------------------------------===//
// #lowbit.scheme
//===----------------------------------------------------------------------===//

func.func @int_too_wide(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{bit width 9 is not supported by sint (integer formats take 2 to 8 bits)}}
  %0 = lowbit.quantize %x scales(%s) scheme<i9, per_channel> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x72xi8>
  return
}

// -----

func.func @int_too_narrow(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{bit width 1 is not supported by sint}}
  %0 = lowbit.quantize %x scales(%s) scheme<i1, per_channel> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x8xi8>
  return
}

// -----

func.func @zero_group(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{group size must be positive, got 0}}
  %0 = lowbit.quantize %x scales(%s) scheme<i4, per_group<0>> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x32xi8>
  return
}

// -----

func.func @zero_point_on_codebook(%x: tensor<4x64xf32>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{a zero point needs an integer format, not nf4}}
  %0 = lowbit.quantize %x scales(%s) scheme<nf4, per_group<32>, zero_point> : (tensor<4x64xf32>, tensor<4x2xf32>) -> tensor<4x32xi8>
  return
}

// -----

func.func @integer_scale_type(%x: tensor<4x64xf32>, %s: tensor<4x1xi32>) {
  // expected-error @+1 {{scale type must be f32, f16, bf16 or f8E8M0FNU, got 'i32'}}
  %0 = lowbit.quantize %x scales(%s) scheme<i4, per_channel, scale = i32> : (tensor<4x64xf32>, tensor<4x1xi32>) -> tensor<4x32xi8>
  return
}

// -----

func.func @unknown_format(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{expected an element format (an integer type, f8E4M3FN, }}
  %0 = lowbit.quantize %x scales(%s) scheme<f16, per_channel> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x128xi8>
  return
}

// -----

func.func @unknown_granularity(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{expected a granularity (per_tensor, per_channel, }}
  %0 = lowbit.quantize %x scales(%s) scheme<i4, per_row> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x32xi8>
  return
}

//===----------------------------------------------------------------------===//
// #lowbit.packing
//===----------------------------------------------------------------------===//

// -----

func.func @interleaved_without_block(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{interleaved packing needs a positive block size}}
  %0 = lowbit.quantize %x scales(%s) scheme<i4, per_channel> packing<interleaved> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x32xi8>
  return
}

// -----

func.func @sequential_with_block(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{sequential packing takes no block size}}
  %0 = lowbit.quantize %x scales(%s) scheme<i4, per_channel> packing<sequential, block = 32> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x32xi8>
  return
}

// -----

func.func @interleaved_three_bits(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{interleaved packing needs a bit width that divides 8, not 3}}
  %0 = lowbit.quantize %x scales(%s) scheme<i3, per_channel> packing<interleaved, block = 32> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x24xi8>
  return
}

// -----

func.func @interleaved_odd_block(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{interleaved block 3 must be a positive multiple of the 2 codes a byte holds}}
  %0 = lowbit.quantize %x scales(%s) scheme<i4, per_channel> packing<interleaved, block = 3> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x32xi8>
  return
}

// -----

func.func @interleaved_block_not_dividing(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{interleaved block 48 does not divide the row length 64}}
  %0 = lowbit.quantize %x scales(%s) scheme<i4, per_channel> packing<interleaved, block = 48> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x32xi8>
  return
}

// -----

func.func @base3_not_ternary(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{base3 packing holds only ternary codes}}
  %0 = lowbit.quantize %x scales(%s) scheme<i2, per_channel> packing<base3> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x13xi8>
  return
}

//===----------------------------------------------------------------------===//
// Packed layouts, scales and zero points (shared by every quantized op)
//===----------------------------------------------------------------------===//

// -----

func.func @packed_rank(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{expected the packed result to have rank 2, got 1}}
  %0 = lowbit.quantize %x scales(%s) scheme<i4, per_channel> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<128xi8>
  return
}

// -----

func.func @packed_outer_extent(%q: tensor<3x32xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{axis 0 of the packed input has extent 3, expected 4}}
  %0 = lowbit.dequantize %q scales(%s) scheme<i4, per_channel> : (tensor<3x32xi8>, tensor<4x1xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @packed_row_bytes(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{expected 24 packed bytes per row of 64 3-bit codes, got 32}}
  %0 = lowbit.quantize %x scales(%s) scheme<i3, per_channel> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x32xi8>
  return
}

// -----

func.func @group_not_dividing(%x: tensor<4x64xf32>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{group size 48 does not divide axis 1 of extent 64}}
  %0 = lowbit.quantize %x scales(%s) scheme<i4, per_group<48>> : (tensor<4x64xf32>, tensor<4x2xf32>) -> tensor<4x32xi8>
  return
}

// -----

func.func @ic_group_not_dividing(%x: tensor<100x64xf32>, %s: tensor<1x64xf32>) {
  // expected-error @+1 {{group size 128 does not divide axis 0 of extent 100}}
  %0 = lowbit.quantize %x scales(%s) scheme<i4, per_ic_group<128>> : (tensor<100x64xf32>, tensor<1x64xf32>) -> tensor<100x32xi8>
  return
}

// -----

func.func @ic_group_rank1(%x: tensor<64xf32>, %s: tensor<64xf32>) {
  // expected-error @+1 {{per-input-channel groups need a tensor of rank at least 2}}
  %0 = lowbit.quantize %x scales(%s) scheme<i4, per_ic_group<32>> : (tensor<64xf32>, tensor<64xf32>) -> tensor<32xi8>
  return
}

// -----

func.func @scales_shape(%x: tensor<4x64xf32>, %s: tensor<4x4xf32>) {
  // expected-error @+1 {{expected scales of shape 4x2 for data of shape 4x64, got 4x4}}
  %0 = lowbit.quantize %x scales(%s) scheme<i4, per_group<32>> : (tensor<4x64xf32>, tensor<4x4xf32>) -> tensor<4x32xi8>
  return
}

// -----

func.func @scales_type(%x: tensor<4x64xf32>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{scales have element type 'f32' but the scheme stores scales as 'f16'}}
  %0 = lowbit.quantize %x scales(%s) scheme<i4, per_group<32>, scale = f16> : (tensor<4x64xf32>, tensor<4x2xf32>) -> tensor<4x32xi8>
  return
}

// -----

func.func @zero_points_on_symmetric(%x: tensor<4x64xf32>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{a symmetric scheme takes no zero points}}
  %0 = lowbit.quantize %x scales(%s) zero_points(%s) scheme<i4, per_group<32>> : (tensor<4x64xf32>, tensor<4x2xf32>, tensor<4x2xf32>) -> tensor<4x32xi8>
  return
}

// -----

func.func @missing_zero_points(%q: tensor<4x32xi8>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{the scheme has a zero point but no zero_points operand is given}}
  %0 = lowbit.dequantize %q scales(%s) scheme<ui4, per_group<32>, zero_point> : (tensor<4x32xi8>, tensor<4x2xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @zero_points_shape(%q: tensor<4x32xi8>, %s: tensor<4x2xf32>, %z: tensor<4x1xf32>) {
  // expected-error @+1 {{expected zero points of the shape of the scales, 4x2, got 4x1}}
  %0 = lowbit.dequantize %q scales(%s) zero_points(%z) scheme<ui4, per_group<32>, zero_point> : (tensor<4x32xi8>, tensor<4x2xf32>, tensor<4x1xf32>) -> tensor<4x64xf32>
  return
}

// -----

func.func @rank0_data(%x: tensor<f32>, %s: tensor<f32>) {
  // expected-error @+1 {{expected quantized data of rank at least 1}}
  %0 = lowbit.quantize %x scales(%s) scheme<i8, per_tensor> : (tensor<f32>, tensor<f32>) -> tensor<i8>
  return
}

// -----

func.func @quantize_float_result(%x: tensor<4x64xf32>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{result #0 must be ranked tensor of 8-bit signless integer values}}
  %0 = lowbit.quantize %x scales(%s) scheme<i8, per_channel> : (tensor<4x64xf32>, tensor<4x1xf32>) -> tensor<4x64xf32>
  return
}

//===----------------------------------------------------------------------===//
// lowbit.linear
//===----------------------------------------------------------------------===//

// -----

func.func @linear_weight_rank(%x: tensor<2x64xf32>, %w: tensor<4x4x32xi8>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{expected a packed weight of rank 2 ([N, K] codes), got rank 3}}
  %0 = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<32>> : (tensor<2x64xf32>, tensor<4x4x32xi8>, tensor<4x2xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_result_shape(%x: tensor<2x64xf32>, %w: tensor<4x32xi8>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{expected a result of shape 2x4, got 2x8}}
  %0 = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<32>> : (tensor<2x64xf32>, tensor<4x32xi8>, tensor<4x2xf32>) -> tensor<2x8xf32>
  return
}

// -----

func.func @linear_gated_result_shape(%x: tensor<2x64xf32>, %w: tensor<4x32xi8>, %s: tensor<4x2xf32>) {
  // expected-error @+1 {{expected a result of shape 2x2, got 2x4}}
  %0 = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<32>> gated<silu> : (tensor<2x64xf32>, tensor<4x32xi8>, tensor<4x2xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_gated_odd_rows(%x: tensor<2x64xf32>, %w: tensor<5x32xi8>, %s: tensor<5x2xf32>) {
  // expected-error @+1 {{expected (gate, up) pairs of weight rows when gated, got 5 rows}}
  %0 = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<32>> gated<silu> : (tensor<2x64xf32>, tensor<5x32xi8>, tensor<5x2xf32>) -> tensor<2x2xf32>
  return
}

// -----

func.func @linear_gated_unknown_activation(%x: tensor<2x64xf32>, %w: tensor<4x32xi8>, %s: tensor<4x2xf32>) {
  // expected-error @+2 {{expected ::mlir::lowbit::GatedActivation to be one of: silu}}
  // expected-error @+1 {{failed to parse LowBit_GatedActivationAttr parameter 'value'}}
  %0 = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<32>> gated<relu> : (tensor<2x64xf32>, tensor<4x32xi8>, tensor<4x2xf32>) -> tensor<2x2xf32>
  return
}

// -----

func.func @linear_lowrank_up_shape(%x: tensor<2x64xf32>, %w: tensor<4x32xi8>, %s: tensor<4x2xf32>, %t: tensor<2x8xf32>, %u: tensor<6x8xf16>) {
  // expected-error @+1 {{expected a low-rank up factor of shape 4xR, got 6x8}}
  %0 = lowbit.linear %x, %w scales(%s) lowrank(%t, %u) scheme<i4, per_group<32>> : (tensor<2x64xf32>, tensor<4x32xi8>, tensor<4x2xf32>, tensor<2x8xf32>, tensor<6x8xf16>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_lowrank_input_shape(%x: tensor<2x64xf32>, %w: tensor<4x32xi8>, %s: tensor<4x2xf32>, %t: tensor<3x4xf32>, %u: tensor<4x8xf16>) {
  // expected-error @+1 {{expected a low-rank input of shape 2x8, got 3x4}}
  %0 = lowbit.linear %x, %w scales(%s) lowrank(%t, %u) scheme<i4, per_group<32>> : (tensor<2x64xf32>, tensor<4x32xi8>, tensor<4x2xf32>, tensor<3x4xf32>, tensor<4x8xf16>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_lowrank_half(%x: tensor<2x64xf32>, %w: tensor<4x32xi8>, %s: tensor<4x2xf32>, %t: tensor<2x8xf32>) {
  // expected-error @+1 {{expected both the low-rank input and its up factor}}
  %0 = "lowbit.linear"(%x, %w, %s, %t) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0, 1, 0>, scheme = #lowbit.scheme<i4, per_group<32>>}> : (tensor<2x64xf32>, tensor<4x32xi8>, tensor<4x2xf32>, tensor<2x8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_reduction_mismatch(%x: tensor<2x128xf32>, %w: tensor<4x32xi8>, %s: tensor<4x4xf32>) {
  // expected-error @+1 {{expected 64 packed bytes per row of 128 4-bit codes, got 32}}
  %0 = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<32>> : (tensor<2x128xf32>, tensor<4x32xi8>, tensor<4x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_bias_shape(%x: tensor<2x64xf32>, %w: tensor<4x32xi8>, %s: tensor<4x2xf32>, %b: tensor<8xf32>) {
  // expected-error @+1 {{expected a bias of shape 4, got 8}}
  %0 = lowbit.linear %x, %w scales(%s) bias(%b) scheme<i4, per_group<32>> : (tensor<2x64xf32>, tensor<4x32xi8>, tensor<4x2xf32>, tensor<8xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @linear_scales_shape(%x: tensor<2x64xf32>, %w: tensor<4x32xi8>, %s: tensor<4x1xf32>) {
  // expected-error @+1 {{expected scales of shape 4x2 for data of shape 4x64, got 4x1}}
  %0 = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<32>> : (tensor<2x64xf32>, tensor<4x32xi8>, tensor<4x1xf32>) -> tensor<2x4xf32>
  return
}

//===----------------------------------------------------------------------===//
// lowbit.channel_scale and lowbit.observe
//===----------------------------------------------------------------------===//

// -----

func.func @channel_scale_shape(%x: tensor<2x64xf32>, %s: tensor<32xf32>) {
  // expected-error @+1 {{expected scales of shape 64 (one per channel of the last axis), got 32}}
  %0 = lowbit.channel_scale %x, %s : tensor<2x64xf32>, tensor<32xf32>
  return
}

// -----

func.func @observe_empty_key(%x: tensor<2x64xf32>) {
  // expected-error @+1 {{expected a non-empty key}}
  lowbit.observe %x key("") stats <absmax> : tensor<2x64xf32>
  return
}

// -----

func.func @observe_nothing(%x: tensor<2x64xf32>) {
  // expected-error @+1 {{expected at least one statistic to collect}}
  lowbit.observe %x key("layer0") stats <none> : tensor<2x64xf32>
  return
}

// -----

func.func @observe_dynamic_gram(%x: tensor<2x?xf32>) {
  // expected-error @+1 {{a Gram matrix needs a static channel count}}
  lowbit.observe %x key("layer0") stats <gram> : tensor<2x?xf32>
  return
}

//===----------------------------------------------------------------------===//
// lowbit.quantize_dynamic
//===----------------------------------------------------------------------===//

// -----

func.func @dynamic_zero_point(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{dynamic quantization is symmetric: the scheme takes no zero point}}
  %0:2 = lowbit.quantize_dynamic %x scheme<ui8, per_channel, zero_point> : tensor<4x64xf32> -> (tensor<4x64xi8>, tensor<4x1xf32>)
  return
}

// -----

func.func @dynamic_f16_scales(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{dynamic quantization computes f32 scales, but the scheme stores them as 'f16'}}
  %0:2 = lowbit.quantize_dynamic %x scheme<i8, per_channel, scale = f16> : tensor<4x64xf32> -> (tensor<4x64xi8>, tensor<4x1xf32>)
  return
}

// -----

func.func @dynamic_ternary(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{ternary codes take their scale from the mean, not the maximum: no dynamic ternary quantization}}
  %0:2 = lowbit.quantize_dynamic %x scheme<ternary, per_channel> : tensor<4x64xf32> -> (tensor<4x13xi8>, tensor<4x1xf32>)
  return
}

// -----

func.func @dynamic_ic_groups(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{per-input-channel groups are a weight layout}}
  %0:2 = lowbit.quantize_dynamic %x scheme<i8, per_ic_group<2>> : tensor<4x64xf32> -> (tensor<4x64xi8>, tensor<2x64xf32>)
  return
}

// -----

func.func @dynamic_channel_scales_shape(%x: tensor<4x64xf32>, %c: tensor<32xf32>) {
  // expected-error @+1 {{expected channel scales of shape 64 (one per channel of the last axis), got 32}}
  %0:2 = lowbit.quantize_dynamic %x channel_scales(%c) scheme<i8, per_channel> : tensor<4x64xf32>, tensor<32xf32> -> (tensor<4x64xi8>, tensor<4x1xf32>)
  return
}

// -----

func.func @dynamic_scales_shape(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{expected scales of shape 4x2 for data of shape 4x64, got 4x1}}
  %0:2 = lowbit.quantize_dynamic %x scheme<i4, per_group<32>> : tensor<4x64xf32> -> (tensor<4x32xi8>, tensor<4x1xf32>)
  return
}

// -----

func.func @dynamic_packed_bytes(%x: tensor<4x64xf32>) {
  // expected-error @+1 {{expected 32 packed bytes per row of 64 4-bit codes, got 64}}
  %0:2 = lowbit.quantize_dynamic %x scheme<i4, per_channel> : tensor<4x64xf32> -> (tensor<4x64xi8>, tensor<4x1xf32>)
  return
}

// -----

func.func @lookup_table_size(%t: vector<12xf32>, %i: vector<16xi32>) -> vector<16xf32> {
  // expected-error @+1 {{expected a fixed-size table of a power of two entries, at most 64, but got 'vector<12xf32>'}}
  %0 = lowbit.lookup %t[%i] : vector<12xf32>, vector<16xi32> -> vector<16xf32>
  return %0 : vector<16xf32>
}

// -----

func.func @lookup_result_lanes(%t: vector<16xf32>, %i: vector<16xi32>) -> vector<8xf32> {
  // expected-error @+1 {{expected a result of the table's element type with one lane per index, but got 'vector<8xf32>'}}
  %0 = lowbit.lookup %t[%i] : vector<16xf32>, vector<16xi32> -> vector<8xf32>
  return %0 : vector<8xf32>
}

// -----

func.func @lookup_result_type(%t: vector<16xf32>, %i: vector<16xi32>) -> vector<16xf16> {
  // expected-error @+1 {{expected a result of the table's element type with one lane per index, but got 'vector<16xf16>'}}
  %0 = lowbit.lookup %t[%i] : vector<16xf32>, vector<16xi32> -> vector<16xf16>
  return %0 : vector<16xf16>
}

// -----

func.func @dot_bytes_lanes(%acc: vector<16xi32>, %x: vector<32xi8>) -> vector<16xi32> {
  // expected-error @+1 {{expected four bytes a lane of the accumulator, but got 'vector<32xi8>' for 'vector<16xi32>'}}
  %0 = lowbit.dot_bytes %acc, %x, %x : vector<16xi32>, vector<32xi8>
  return %0 : vector<16xi32>
}

// -----

func.func @dot_bytes_acc_type(%acc: vector<16xi8>, %x: vector<64xi8>) -> vector<16xi8> {
  // expected-error @+1 {{operand #0 must be vector of 32-bit signless integer values of ranks 1}}
  %0 = lowbit.dot_bytes %acc, %x, %x : vector<16xi8>, vector<64xi8>
  return %0 : vector<16xi8>
}
