// RUN: quant-opt %s -split-input-file -verify-diagnostics --lowbit-quantize-weights="method=gptq stats=%S/Inputs/stats.mlir"

// Layers GPTQ cannot quantize with the statistics it was given. Each error
// names the layer; the pass fails.

#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
       affine_map<(m, n, k) -> (m, n)>]
func.func @missing_statistics(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<0.5> : tensor<2x4xf32>
  %zero = arith.constant dense<0.0> : tensor<1x2xf32>
  // expected-error-re @+1 {{no calibration statistics for layer 'blk.7.ffn_down' in {{.*}}stats.mlir}}
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<1x4xf32>, tensor<2x4xf32>)
      outs(%zero : tensor<1x2xf32>) {lowbit.name = "blk.7.ffn_down"} -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
       affine_map<(m, n, k) -> (m, n)>]
func.func @channel_mismatch(%x: tensor<1x4xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<0.5> : tensor<2x4xf32>
  %zero = arith.constant dense<0.0> : tensor<1x2xf32>
  // expected-error @+1 {{the statistics of layer 'blk.0.attn_k' have 32 channels, but the layer has 4 input channels}}
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<1x4xf32>, tensor<2x4xf32>)
      outs(%zero : tensor<1x2xf32>) {lowbit.name = "blk.0.attn_k"} -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
       affine_map<(m, n, k) -> (m, n)>]
func.func @indefinite_hessian(%x: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[0.5, -0.25], [1.0, 0.75]]> : tensor<2x2xf32>
  %zero = arith.constant dense<0.0> : tensor<1x2xf32>
  // expected-error @+1 {{layer 'blk.0.corrupt': GPTQ: the damped Hessian is not positive definite; increase damp}}
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<1x2xf32>, tensor<2x2xf32>)
      outs(%zero : tensor<1x2xf32>) {lowbit.name = "blk.0.corrupt"} -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}

// -----

#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
       affine_map<(m, n, k) -> (m, n)>]
// A blob whose data was elided when the IR was printed.
func.func @elided_weights(%x: tensor<1x64xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense_resource<__elided__> : tensor<2x64xf32>
  %zero = arith.constant dense<0.0> : tensor<1x2xf32>
  // expected-error @+1 {{the data of the weight of layer 'blk.0.attn_q' is missing (dense_resource<__elided__>)}}
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<1x64xf32>, tensor<2x64xf32>)
      outs(%zero : tensor<1x2xf32>) {lowbit.name = "blk.0.attn_q"} -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
