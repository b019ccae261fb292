// RUN: quant-opt %s -split-input-file -verify-diagnostics --lowbit-smooth="stats=%S/Inputs/stats.mlir explicit-scales=true"

// Layers the smoothing pass cannot transform. Each error names the layer;
// the pass fails.

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

// A tied weight: the layer's weight also feeds something else (here an
// embedding lookup), which a change of its columns would corrupt.
#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
       affine_map<(m, n, k) -> (m, n)>]
func.func @tied_weight(%x: tensor<1x64xf32>, %i: index) -> (tensor<1x2xf32>, f32) {
  %w = arith.constant dense<0.5> : tensor<2x64xf32>
  %zero = arith.constant dense<0.0> : tensor<1x2xf32>
  // expected-error @+1 {{the weight of layer 'blk.0.attn_q' is also used elsewhere (a tied embedding?); cannot transform its input channels}}
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<1x64xf32>, tensor<2x64xf32>)
      outs(%zero : tensor<1x2xf32>) {lowbit.name = "blk.0.attn_q"} -> tensor<1x2xf32>
  %e = tensor.extract %w[%i, %i] : tensor<2x64xf32>
  return %y, %e : tensor<1x2xf32>, f32
}
