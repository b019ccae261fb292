// RUN: quant-opt %s -verify-diagnostics --lowbit-quantize-weights="ic-group=3" -o /dev/null
// Per-input-channel groups must divide the output channels.
#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
        affine_map<(m, n, k) -> (m, n)>]
func.func @ic_group_does_not_divide(%x: tensor<1x48xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<0.5> : tensor<2x48xf32>
  %zero = arith.constant dense<0.0> : tensor<1x2xf32>
  // expected-error @+1 {{ic-group size 3 does not divide the 2 output channels of layer 'blk.0.ffn_down'}}
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<1x48xf32>, tensor<2x48xf32>)
      outs(%zero : tensor<1x2xf32>) {lowbit.name = "blk.0.ffn_down"} -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
