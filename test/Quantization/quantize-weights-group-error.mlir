// RUN: quant-opt %s -verify-diagnostics --lowbit-quantize-weights="group=32"

// Groups must divide every quantized layer's input channels; the LM head
// is skipped, so its 48 channels do not matter.

#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
       affine_map<(m, n, k) -> (m, n)>]
func.func @group_does_not_divide(%x: tensor<1x48xf32>) -> (tensor<1x2xf32>, tensor<1x2xf32>) {
  %w = arith.constant dense<0.5> : tensor<2x48xf32>
  %zero = arith.constant dense<0.0> : tensor<1x2xf32>
  // expected-error @+1 {{group size 32 does not divide the 48 input channels of layer 'blk.0.ffn_down'}}
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<1x48xf32>, tensor<2x48xf32>)
      outs(%zero : tensor<1x2xf32>) {lowbit.name = "blk.0.ffn_down"} -> tensor<1x2xf32>
  %h = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<1x48xf32>, tensor<2x48xf32>)
      outs(%zero : tensor<1x2xf32>) {lowbit.name = "output"} -> tensor<1x2xf32>
  return %y, %h : tensor<1x2xf32>, tensor<1x2xf32>
}

// The same layer in another entry point is not diagnosed again.
func.func @group_does_not_divide_3(%x: tensor<3x48xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<0.5> : tensor<2x48xf32>
  %zero = arith.constant dense<0.0> : tensor<3x2xf32>
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<3x48xf32>, tensor<2x48xf32>)
      outs(%zero : tensor<3x2xf32>) {lowbit.name = "blk.0.ffn_down"} -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

