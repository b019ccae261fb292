// The same signature as pipeline.mlir's @mlp with a different weight format.
func.func @mlp(%x: tensor<3x64xf32>, %w: tensor<16x32xi8>, %s: tensor<16x2xf16>, %b: tensor<16xf32>) -> tensor<3x16xf32> {
  %0 = lowbit.linear %x, %w scales(%s) bias(%b) scheme<ui4, per_group<32>, scale = f16> : (tensor<3x64xf32>, tensor<16x32xi8>, tensor<16x2xf16>, tensor<16xf32>) -> tensor<3x16xf32>
  %1 = math.tanh %0 : tensor<3x16xf32>
  return %1 : tensor<3x16xf32>
}
