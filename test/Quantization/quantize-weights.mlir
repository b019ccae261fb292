// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights | FileCheck %s --implicit-check-not="blk.0.attn_q:"
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="group=32" | FileCheck %s --check-prefix=G32
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="format=i8 scale-type=f32" | FileCheck %s --check-prefix=I8
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="group=32 symmetric=false" | FileCheck %s --check-prefix=ASYM
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="format=i3 group=32 scale-type=bf16" | FileCheck %s --check-prefix=I3
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="format=i2" | FileCheck %s --check-prefix=I2
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="format=nf4 group=64" | FileCheck %s --check-prefix=NF4
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="format=f4E2M1FN group=32 scale-type=f8E8M0FNU" | FileCheck %s --check-prefix=MXFP4
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="format=f8E4M3FN" | FileCheck %s --check-prefix=FP8
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="skip=blk.0.attn_q,attn_output" | FileCheck %s --check-prefix=SKIP
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="skip=" | FileCheck %s --check-prefix=ALL
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="format=i8 skip= only=output" | FileCheck %s --check-prefix=ONLY
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="only=output" | FileCheck %s --check-prefix=NONE
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="ic-group=4" | FileCheck %s --check-prefix=IC
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="ic-group=4 method=gptq stats=%S/Inputs/stats.mlir" | FileCheck %s --check-prefix=IC
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="method=gptq stats=%S/Inputs/stats.mlir group=32" | FileCheck %s --check-prefix=GPTQ
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-quantize-weights="method=gptq stats=%S/Inputs/stats.mlir group=32 act-order=true block-size=16" | FileCheck %s --check-prefix=GPTQ

// Inputs/layers.mlir holds three linear layers as the model builder emits
// them. Each quantized layer
// becomes a lowbit.linear on new blobs named after it, the float blob goes
// away, and "output" (the LM head) stays in float unless `skip` says
// otherwise; "blk.0.attn_output" is not matched by the suffix "output".

// CHECK-LABEL: func.func @main
// CHECK-DAG:   %[[WH:.*]] = arith.constant dense_resource<output> : tensor<8x64xf32>
// CHECK-DAG:   %[[QC:.*]] = arith.constant dense_resource<blk.0.attn_q.codes> : tensor<16x32xi8>
// CHECK-DAG:   %[[QS:.*]] = arith.constant dense_resource<blk.0.attn_q.scales> : tensor<16x1xf16>
// CHECK:       %[[Q:.*]] = lowbit.linear %arg0, %[[QC]] scales(%[[QS]]) scheme<i4, per_channel, scale = f16> {lowbit.name = "blk.0.attn_q"} : (tensor<4x64xf32>, tensor<16x32xi8>, tensor<16x1xf16>) -> tensor<4x16xf32>
// CHECK-DAG:   %[[OC:.*]] = arith.constant dense_resource<blk.0.attn_output.codes> : tensor<16x32xi8>
// CHECK-DAG:   %[[OS:.*]] = arith.constant dense_resource<blk.0.attn_output.scales> : tensor<16x1xf16>
// CHECK:       %[[O:.*]] = lowbit.linear %arg0, %[[OC]] scales(%[[OS]]) {{.*}}{lowbit.name = "blk.0.attn_output"}
// CHECK:       %[[H:.*]] = linalg.matmul {{.*}}{lowbit.name = "output"} ins(%arg0, %[[WH]] :
// CHECK:       return %[[Q]], %[[O]], %[[H]]
// CHECK:       dialect_resources
// CHECK-DAG:   output: "0x04000000
// CHECK-DAG:   blk.0.attn_q.codes: "0x01000000
// CHECK-DAG:   blk.0.attn_q.scales: "0x02000000

// G32:   dense_resource<blk.0.attn_q.scales> : tensor<16x2xf16>
// G32:   lowbit.linear {{.*}} scheme<i4, per_group<32>, scale = f16> {lowbit.name = "blk.0.attn_q"} : (tensor<4x64xf32>, tensor<16x32xi8>, tensor<16x2xf16>) -> tensor<4x16xf32>

// I8:    lowbit.linear {{.*}} scheme<i8, per_channel> {lowbit.name = "blk.0.attn_q"} : (tensor<4x64xf32>, tensor<16x64xi8>, tensor<16x1xf32>) -> tensor<4x16xf32>

// Asymmetric integer codes are unsigned; zero points are exact f32 values.
// ASYM-DAG: %[[C:.*]] = arith.constant dense_resource<blk.0.attn_q.codes> : tensor<16x32xi8>
// ASYM-DAG: %[[S:.*]] = arith.constant dense_resource<blk.0.attn_q.scales> : tensor<16x2xf16>
// ASYM-DAG: %[[Z:.*]] = arith.constant dense_resource<blk.0.attn_q.zero_points> : tensor<16x2xf32>
// ASYM:     lowbit.linear %arg0, %[[C]] scales(%[[S]]) zero_points(%[[Z]]) scheme<ui4, per_group<32>, zero_point, scale = f16> {lowbit.name = "blk.0.attn_q"}

// 3-bit codes straddle bytes: 64 codes take 24 bytes.
// I3:    lowbit.linear {{.*}} scheme<i3, per_group<32>, scale = bf16> {lowbit.name = "blk.0.attn_q"} : (tensor<4x64xf32>, tensor<16x24xi8>, tensor<16x2xbf16>) -> tensor<4x16xf32>

// I2:    lowbit.linear {{.*}} scheme<i2, per_channel, scale = f16> {lowbit.name = "blk.0.attn_q"} : (tensor<4x64xf32>, tensor<16x16xi8>, tensor<16x1xf16>) -> tensor<4x16xf32>

// NF4:   lowbit.linear {{.*}} scheme<nf4, per_group<64>, scale = f16> {lowbit.name = "blk.0.attn_q"} : (tensor<4x64xf32>, tensor<16x32xi8>, tensor<16x1xf16>) -> tensor<4x16xf32>

// MXFP4: lowbit.linear {{.*}} scheme<f4E2M1FN, per_group<32>, scale = f8E8M0FNU> {lowbit.name = "blk.0.attn_q"} : (tensor<4x64xf32>, tensor<16x32xi8>, tensor<16x2xf8E8M0FNU>) -> tensor<4x16xf32>

// FP8:   lowbit.linear {{.*}} scheme<f8E4M3FN, per_channel, scale = f16> {lowbit.name = "blk.0.attn_q"} : (tensor<4x64xf32>, tensor<16x64xi8>, tensor<16x1xf16>) -> tensor<4x16xf32>

// A skip list replaces the default: names and .suffixes stay in float.
// SKIP: linalg.matmul {{.*}}{lowbit.name = "blk.0.attn_q"}
// SKIP: linalg.matmul {{.*}}{lowbit.name = "blk.0.attn_output"}
// SKIP: lowbit.linear {{.*}}{lowbit.name = "output"}

// An empty skip list quantizes every layer.
// ALL-NOT: linalg.matmul
// ALL-COUNT-3: lowbit.linear
// ALL-NOT: linalg.matmul

// `only` quantizes the layers it names; `skip` still wins over it.
// ONLY: linalg.matmul {{.*}}{lowbit.name = "blk.0.attn_q"}
// ONLY: linalg.matmul {{.*}}{lowbit.name = "blk.0.attn_output"}
// ONLY: lowbit.linear {{.*}} scheme<i8, per_channel, scale = f16> {lowbit.name = "output"}
// NONE-NOT: lowbit.linear

// GPTQ changes the codes, not the IR's shape.
// GPTQ:  lowbit.linear {{.*}} scheme<i4, per_group<32>, scale = f16> {lowbit.name = "blk.0.attn_q"} : (tensor<4x64xf32>, tensor<16x32xi8>, tensor<16x2xf16>) -> tensor<4x16xf32>
// GPTQ:  lowbit.linear {{.*}} {lowbit.name = "blk.0.attn_output"}
// GPTQ:  linalg.matmul {{.*}}{lowbit.name = "output"}

// AdaDim's per-input-channel groups: 4 output rows share a scale per input
// channel, 16/4 x 64 scales; by RTN and by GPTQ, whose scales run down each
// column as it is quantized.
// IC:    lowbit.linear {{.*}} scheme<i4, per_ic_group<4>, scale = f16> {lowbit.name = "blk.0.attn_q"} : (tensor<4x64xf32>, tensor<16x32xi8>, tensor<4x64xf16>) -> tensor<4x16xf32>
