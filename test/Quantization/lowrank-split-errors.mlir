// RUN: quant-opt %s -split-input-file -verify-diagnostics --lowbit-lowrank-split="rank=3"
// RUN: not quant-opt %s -split-input-file --lowbit-lowrank-split="rank=0" 2>&1 | FileCheck %s --check-prefix=RANK
// RANK: error: rank must be at least 1 and iterations at least 0, got rank=0 iterations=4

// Layers the low-rank split cannot take: each error names the layer.

#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
       affine_map<(m, n, k) -> (m, n)>]
func.func @rank_too_large(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[0.5, 1.0, -1.5, 2.0], [0.25, -0.75, 1.0, 0.5]]> : tensor<2x4xf32>
  %zero = arith.constant dense<0.0> : tensor<1x2xf32>
  // expected-error @+1 {{rank 3 is larger than the 2x4 matrix of layer 'blk.0.attn_k'}}
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<1x4xf32>, tensor<2x4xf32>)
      outs(%zero : tensor<1x2xf32>) {lowbit.name = "blk.0.attn_k"} -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
       affine_map<(m, n, k) -> (m, n)>]
func.func @tied_weight(%x: tensor<1x4xf32>, %i: index) -> (tensor<1x4xf32>, f32) {
  %w = arith.constant dense<0.5> : tensor<4x4xf32>
  %zero = arith.constant dense<0.0> : tensor<1x4xf32>
  // expected-error @+1 {{the weight of layer 'blk.0.attn_q' is also used elsewhere (a tied embedding?); cannot split it}}
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<1x4xf32>, tensor<4x4xf32>)
      outs(%zero : tensor<1x4xf32>) {lowbit.name = "blk.0.attn_q"} -> tensor<1x4xf32>
  %e = tensor.extract %w[%i, %i] : tensor<4x4xf32>
  return %y, %e : tensor<1x4xf32>, f32
}
