// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-lowrank-split="rank=4" | FileCheck %s
// RUN: quant-opt %S/Inputs/layers.mlir --lowbit-lowrank-split="rank=4" --lowbit-quantize-weights="format=i4 group=32" | FileCheck %s --check-prefix=QUANT

// Each named layer (the LM head is skipped by default) keeps its name and
// weight blob, now the residual, and gains a branch of two matmuls on f16
// factors, the second accumulating onto the layer's result, which replaces
// it for every user.

// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: tensor<4x64xf32>)
// CHECK:      %[[W:.*]] = arith.constant dense_resource<blk.0.attn_q> : tensor<16x64xf32>
// CHECK:      %[[Y0:.*]] = linalg.matmul {{.*}}{lowbit.name = "blk.0.attn_q"} ins(%[[X]], %[[W]] :
// CHECK:      %[[D16:.*]] = arith.constant dense_resource<blk.0.attn_q.lowrank_down> : tensor<4x64xf16>
// CHECK:      %[[D:.*]] = arith.extf %[[D16]] : tensor<4x64xf16> to tensor<4x64xf32>
// CHECK:      %[[Z:.*]] = linalg.fill {{.*}} -> tensor<4x4xf32>
// CHECK:      %[[T:.*]] = linalg.matmul {{.*}}{lowbit.lowrank_of = "blk.0.attn_q"} ins(%[[X]], %[[D]] : tensor<4x64xf32>, tensor<4x64xf32>) outs(%[[Z]] : tensor<4x4xf32>)
// CHECK:      %[[U16:.*]] = arith.constant dense_resource<blk.0.attn_q.lowrank_up> : tensor<16x4xf16>
// CHECK:      %[[U:.*]] = arith.extf %[[U16]] : tensor<16x4xf16> to tensor<16x4xf32>
// CHECK:      %[[Y:.*]] = linalg.matmul {{.*}}{lowbit.lowrank_of = "blk.0.attn_q"} ins(%[[T]], %[[U]] : tensor<4x4xf32>, tensor<16x4xf32>) outs(%[[Y0]] : tensor<4x16xf32>)
// CHECK:      lowbit.lowrank_of = "blk.0.attn_output"
// CHECK:      %[[H:.*]] = linalg.matmul {{.*}}{lowbit.name = "output"}
// CHECK-NOT:  lowbit.lowrank_of = "output"
// CHECK:      return %[[Y]], %{{.*}}, %[[H]]

// Weight quantization then quantizes the residual and leaves the branch in
// float.
// QUANT:      %[[Y0:.*]] = lowbit.linear %{{.*}} scheme<i4, per_group<32>, scale = f16> {lowbit.name = "blk.0.attn_q"}
// QUANT:      linalg.matmul {{.*}}{lowbit.lowrank_of = "blk.0.attn_q"}
// QUANT:      linalg.matmul {{.*}}{lowbit.lowrank_of = "blk.0.attn_q"} ins({{.*}}) outs(%[[Y0]] : tensor<4x16xf32>)
