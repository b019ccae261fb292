// A tiny W4A16 MLP layer: int4 weights in groups of 32, f16 scales.
func.func @mlp(%x: tensor<3x64xf32>, %w: tensor<16x32xi8>, %s: tensor<16x2xf16>) -> tensor<3x16xf32> {
  %0 = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<32>, scale = f16> : (tensor<3x64xf32>, tensor<16x32xi8>, tensor<16x2xf16>) -> tensor<3x16xf32>
  return %0 : tensor<3x16xf32>
}

func.func @scale_rows(%x: tensor<3x16xf32>) -> tensor<3x16xf32> {
  %c = arith.constant dense<2.0> : tensor<3x16xf32>
  %0 = arith.mulf %x, %c : tensor<3x16xf32>
  return %0 : tensor<3x16xf32>
}

func.func @dynamic(%x: tensor<?x64xf32>) -> tensor<?x64xf32> {
  return %x : tensor<?x64xf32>
}
