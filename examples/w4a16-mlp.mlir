// A SwiGLU MLP block of a Llama-style model with W4A16 weights: int4 codes in
// groups of 32 along the input channels, f16 group scales, float activations.
//   y = down(silu(gate(x)) * up(x))
// Run it end to end with
//   quant-opt examples/w4a16-mlp.mlir --lowbit-to-llvm -o mlp.llvm.mlir
//   lowbit-run exec mlp.llvm.mlir --entry mlp --seed 1 --print

func.func @mlp(%x: tensor<4x64xf32>,
               %wg: tensor<128x32xi8>, %sg: tensor<128x2xf16>,
               %wu: tensor<128x32xi8>, %su: tensor<128x2xf16>,
               %wd: tensor<64x64xi8>, %sd: tensor<64x4xf16>) -> tensor<4x64xf32> {
  %gate = lowbit.linear %x, %wg scales(%sg) scheme<i4, per_group<32>, scale = f16>
      : (tensor<4x64xf32>, tensor<128x32xi8>, tensor<128x2xf16>) -> tensor<4x128xf32>
  %up = lowbit.linear %x, %wu scales(%su) scheme<i4, per_group<32>, scale = f16>
      : (tensor<4x64xf32>, tensor<128x32xi8>, tensor<128x2xf16>) -> tensor<4x128xf32>
  // silu(g) = g / (1 + exp(-g))
  %one = arith.constant dense<1.0> : tensor<4x128xf32>
  %neg = arith.negf %gate : tensor<4x128xf32>
  %exp = math.exp %neg : tensor<4x128xf32>
  %den = arith.addf %one, %exp : tensor<4x128xf32>
  %silu = arith.divf %gate, %den : tensor<4x128xf32>
  %h = arith.mulf %silu, %up : tensor<4x128xf32>
  %y = lowbit.linear %h, %wd scales(%sd) scheme<i4, per_group<32>, scale = f16>
      : (tensor<4x128xf32>, tensor<64x64xi8>, tensor<64x4xf16>) -> tensor<4x64xf32>
  return %y : tensor<4x64xf32>
}
