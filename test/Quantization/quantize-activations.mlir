// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="format=i8 skip=" --lowbit-quantize-activations | FileCheck %s
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="format=i8 skip=" --lowbit-quantize-activations="format=f8E4M3FN skip=output" | FileCheck %s --check-prefix=FP8
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="format=i4 group=32 skip=" --lowbit-quantize-activations="format=i4 group=32" | FileCheck %s --check-prefix=W4A4
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="format=i8 skip=" --lowbit-quantize-activations="granularity=per-tensor" | FileCheck %s --check-prefix=TENSOR
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="format=i8" --lowbit-quantize-activations="granularity=per-tensor static=true stats=%S/Inputs/stats.mlir" | FileCheck %s --check-prefix=STATIC
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="format=i8 skip=" --lowbit-quantize-activations --lowbit-quantize-activations | FileCheck %s --check-prefix=TWICE

// Inputs/layers.mlir: three linear layers reading one input. They share one
// quantizer: per token by default, its scales computed at run time, then
// dequantized for the layers (the float form of an int8 GEMM).

// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>)
// CHECK:      %[[Q:.*]], %[[S:.*]] = lowbit.quantize_dynamic %[[X]] scheme<i8, per_channel> : tensor<4x64xf32> -> (tensor<4x64xi8>, tensor<4x1xf32>)
// CHECK:      %[[XQ:.*]] = lowbit.dequantize %[[Q]] scales(%[[S]]) scheme<i8, per_channel> : (tensor<4x64xi8>, tensor<4x1xf32>) -> tensor<4x64xf32>
// CHECK-NOT:  lowbit.quantize_dynamic
// CHECK:      lowbit.linear %[[XQ]], {{.*}}lowbit.name = "blk.0.attn_q"
// CHECK:      lowbit.linear %[[XQ]], {{.*}}lowbit.name = "blk.0.attn_output"
// CHECK:      lowbit.linear %[[XQ]], {{.*}}lowbit.name = "output"

// Skipped layers keep the float input.
// FP8:       %[[Q:.*]], %[[S:.*]] = lowbit.quantize_dynamic %[[X:.*]] scheme<f8E4M3FN, per_channel>
// FP8:       %[[XQ:.*]] = lowbit.dequantize %[[Q]] scales(%[[S]]) scheme<f8E4M3FN, per_channel>
// FP8:       lowbit.linear %[[XQ]], {{.*}}lowbit.name = "blk.0.attn_q"
// FP8:       lowbit.linear %[[XQ]], {{.*}}lowbit.name = "blk.0.attn_output"
// FP8:       lowbit.linear %[[X]], {{.*}}lowbit.name = "output"

// W4A4:      lowbit.quantize_dynamic %{{.*}} scheme<i4, per_group<32>> : tensor<4x64xf32> -> (tensor<4x32xi8>, tensor<4x2xf32>)
// W4A4:      lowbit.dequantize %{{.*}} scheme<i4, per_group<32>> : (tensor<4x32xi8>, tensor<4x2xf32>) -> tensor<4x64xf32>

// TENSOR:    lowbit.quantize_dynamic %{{.*}} scheme<i8, per_tensor> : tensor<4x64xf32> -> (tensor<4x64xi8>, tensor<1x1xf32>)

// Static: the largest |x| calibration saw over the format's largest code
// (max over channels of blk.0.attn_q's absmax, 3.9324, / 127).
// STATIC:    %[[S:.*]] = arith.constant dense<0.03096{{[0-9]*}}> : tensor<1x1xf32>
// STATIC:    %[[Q:.*]] = lowbit.quantize %{{.*}} scales(%[[S]]) scheme<i8, per_tensor> : (tensor<4x64xf32>, tensor<1x1xf32>) -> tensor<4x64xi8>
// STATIC:    lowbit.dequantize %[[Q]] scales(%[[S]]) scheme<i8, per_tensor>

// Inputs that are already quantized are left alone.
// TWICE-COUNT-1: lowbit.quantize_dynamic
// TWICE-NOT:     lowbit.quantize_dynamic
