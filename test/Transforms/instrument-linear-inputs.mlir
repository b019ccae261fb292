// RUN: quant-opt %s --lowbit-instrument-linear-inputs | FileCheck %s
// Running it twice changes nothing.
// RUN: quant-opt %s --lowbit-instrument-linear-inputs --lowbit-instrument-linear-inputs | FileCheck %s
// The observers collect what the runner prints per key.
// RUN: quant-opt %s --lowbit-instrument-linear-inputs | lowbit-run exec - --entry block --seed 2 --print-stats | FileCheck %s --check-prefix=STATS

// q and k read the same normed input: one observer, keyed by q; the down
// projection reads another tensor; a matmul without a layer name is not
// observed.
// CHECK: module attributes {lowbit.layer_observers = {blk.0.attn_k = "blk.0.attn_q", blk.0.attn_q = "blk.0.attn_q", blk.0.ffn_down = "blk.0.ffn_down"}}
// CHECK-LABEL: func.func @block
// CHECK-COUNT-1: lowbit.observe %arg0 key("blk.0.attn_q") stats <all>
// CHECK-NOT: lowbit.observe %arg0
// CHECK: linalg.matmul {{.*}}lowbit.name = "blk.0.attn_q"
// CHECK: linalg.matmul {{.*}}lowbit.name = "blk.0.attn_k"
// CHECK: lowbit.observe %{{.*}} key("blk.0.ffn_down") stats <all>
// CHECK: linalg.matmul {{.*}}lowbit.name = "blk.0.ffn_down"
// CHECK-NOT: lowbit.observe
// CHECK: linalg.matmul
// CHECK-NOT: lowbit.name

// STATS: observer 'blk.0.attn_q': rows 2, channels 8
// STATS: observer 'blk.0.ffn_down': rows 2, channels 8
// STATS-NOT: observer
#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
       affine_map<(m, n, k) -> (m, n)>]
func.func @block(%x: tensor<2x8xf32>, %wq: tensor<8x8xf32>,
                 %wk: tensor<4x8xf32>, %wd: tensor<8x8xf32>)
    -> (tensor<2x8xf32>, tensor<2x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e8 = tensor.empty() : tensor<2x8xf32>
  %e4 = tensor.empty() : tensor<2x4xf32>
  %z8 = linalg.fill ins(%zero : f32) outs(%e8 : tensor<2x8xf32>) -> tensor<2x8xf32>
  %z4 = linalg.fill ins(%zero : f32) outs(%e4 : tensor<2x4xf32>) -> tensor<2x4xf32>
  %q = linalg.matmul indexing_maps = #tB
      ins(%x, %wq : tensor<2x8xf32>, tensor<8x8xf32>)
      outs(%z8 : tensor<2x8xf32>) {lowbit.name = "blk.0.attn_q"} -> tensor<2x8xf32>
  %k = linalg.matmul indexing_maps = #tB
      ins(%x, %wk : tensor<2x8xf32>, tensor<4x8xf32>)
      outs(%z4 : tensor<2x4xf32>) {lowbit.name = "blk.0.attn_k"} -> tensor<2x4xf32>
  %d = linalg.matmul indexing_maps = #tB
      ins(%q, %wd : tensor<2x8xf32>, tensor<8x8xf32>)
      outs(%z8 : tensor<2x8xf32>) {lowbit.name = "blk.0.ffn_down"} -> tensor<2x8xf32>
  %u = linalg.matmul indexing_maps = #tB ins(%d, %wd : tensor<2x8xf32>, tensor<8x8xf32>)
      outs(%z8 : tensor<2x8xf32>) -> tensor<2x8xf32>
  return %u, %k : tensor<2x8xf32>, tensor<2x4xf32>
}
