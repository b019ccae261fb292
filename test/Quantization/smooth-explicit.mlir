// RUN: quant-opt %s --lowbit-smooth="stats=%S/Inputs/stats.mlir explicit-scales=true" | FileCheck %s
// RUN: quant-opt %s --lowbit-smooth="stats=%S/Inputs/stats.mlir explicit-scales=true" -o %t.mlir
// RUN: lowbit-run compare %s %t.mlir --entry main --seed 1 --tolerance 1e-5

// Without a sink (the input is an argument), explicit-scales divides the
// input at run time with one lowbit.channel_scale shared by the group; the
// weights' columns take the scales, and the outputs stay the same.

#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
       affine_map<(m, n, k) -> (m, n)>]
// CHECK-LABEL: func.func @main
// CHECK:       %[[S:.*]] = arith.constant dense<{{.*}}> : tensor<64xf32>
// CHECK:       %[[X:.*]] = lowbit.channel_scale %arg0, %[[S]] : tensor<4x64xf32>, tensor<64xf32>
// CHECK:       linalg.matmul {{.*}}{lowbit.input_transform = {scale = dense<{{.*}}> : tensor<64xf32>}, lowbit.name = "blk.0.attn_q"} ins(%[[X]],
// CHECK:       linalg.matmul {{.*}}{lowbit.input_transform = {scale = dense<{{.*}}> : tensor<64xf32>}, lowbit.name = "blk.0.attn_output"} ins(%[[X]],
// CHECK-NOT:   lowbit.channel_scale
func.func @main(%x: tensor<4x64xf32>) -> (tensor<4x16xf32>, tensor<4x8xf32>) {
  %wq = arith.constant dense<0.5> : tensor<16x64xf32>
  %wo = arith.constant dense<-0.25> : tensor<8x64xf32>
  %zero = arith.constant 0.0 : f32
  %e16 = tensor.empty() : tensor<4x16xf32>
  %acc16 = linalg.fill ins(%zero : f32) outs(%e16 : tensor<4x16xf32>) -> tensor<4x16xf32>
  %e8 = tensor.empty() : tensor<4x8xf32>
  %acc8 = linalg.fill ins(%zero : f32) outs(%e8 : tensor<4x8xf32>) -> tensor<4x8xf32>
  %q = linalg.matmul indexing_maps = #tB
      ins(%x, %wq : tensor<4x64xf32>, tensor<16x64xf32>)
      outs(%acc16 : tensor<4x16xf32>) {lowbit.name = "blk.0.attn_q"} -> tensor<4x16xf32>
  %o = linalg.matmul indexing_maps = #tB
      ins(%x, %wo : tensor<4x64xf32>, tensor<8x64xf32>)
      outs(%acc8 : tensor<4x8xf32>) {lowbit.name = "blk.0.attn_output"} -> tensor<4x8xf32>
  return %q, %o : tensor<4x16xf32>, tensor<4x8xf32>
}
