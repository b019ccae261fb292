// The JIT binds external weight globals to their blobs: a lowered file with
// the weights moved out computes exactly what the one with inline weights
// computes, on both the scalar and the vectorized path.
// RUN: quant-opt %s --lowbit-to-llvm="vectorize=false externalize-weights=false" -o %t.inline.mlir
// RUN: quant-opt %s --lowbit-to-llvm="vectorize=false weight-min-bytes=64" -o %t.scalar.mlir
// RUN: quant-opt %s --lowbit-to-llvm="weight-min-bytes=64" -o %t.fast.mlir
// RUN: FileCheck %s --check-prefix=INLINE < %t.inline.mlir
// RUN: FileCheck %s --check-prefix=EXTERNAL < %t.fast.mlir
// RUN: lowbit-run compare %t.inline.mlir %t.scalar.mlir --entry linear --seed 7 --tolerance 0 | FileCheck %s --check-prefix=SAME
// RUN: lowbit-run compare %t.inline.mlir %t.fast.mlir --entry linear --seed 7 --tolerance 1e-6 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.inline.mlir %t.fast.mlir --entry tied --seed 7 --tolerance 1e-6 | FileCheck %s --check-prefix=CLOSE
// Without the blob's bytes the runner says which weight lacks them.
// RUN: sed -e '/^{-#$/,$d' %t.fast.mlir > %t.nodata.mlir
// RUN: not lowbit-run exec %t.nodata.mlir --entry linear 2>&1 | FileCheck %s --check-prefix=NODATA

// INLINE: llvm.mlir.global private constant @{{.*}}(dense_resource<blk.0.attn_q>

// EXTERNAL: lowbit.external_weights = {__lowbit_weight_blk_0_attn_q = dense_resource<blk.0.attn_q>
// EXTERNAL: llvm.mlir.global external constant @__lowbit_weight_blk_0_attn_q() {{.*}} : !llvm.array<4 x array<8 x f32>>{{$}}
// EXTERNAL-NOT: llvm.mlir.global {{.*}}dense_resource<blk.0.attn_q>

// SAME: max relative difference: 0{{$}}
// CLOSE: max relative difference: {{[0-9.e+-]+}}
// NODATA: error: {{.*}}the data of external weight @__lowbit_weight_blk_0_attn_q (resource 'blk.0.attn_q') is missing from the module

func.func @linear(%x: tensor<3x8xf32>) -> tensor<3x4xf32> {
  %w = arith.constant dense_resource<blk.0.attn_q> : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<3x4xf32>) -> tensor<3x4xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<3x8xf32>, tensor<4x8xf32>)
      outs(%acc : tensor<3x4xf32>) -> tensor<3x4xf32>
  return %y : tensor<3x4xf32>
}

// The weight as an embedding table and as the output head (tied weights):
// one global, read by tensor.extract and by the matmul.
func.func @tied(%tokens: tensor<2xi32>) -> tensor<2x4xf32> {
  %table = arith.constant dense_resource<blk.0.attn_q> : tensor<4x8xf32>
  %e = tensor.empty() : tensor<2x8xf32>
  %x = linalg.generic {indexing_maps = [affine_map<(t, i) -> (t)>,
                                        affine_map<(t, i) -> (t, i)>],
                       iterator_types = ["parallel", "parallel"]}
      ins(%tokens : tensor<2xi32>) outs(%e : tensor<2x8xf32>) {
  ^bb0(%token: i32, %out: f32):
    %row = arith.index_cast %token : i32 to index
    %c4 = arith.constant 4 : index
    %safe = arith.remui %row, %c4 : index
    %col = linalg.index 1 : index
    %v = tensor.extract %table[%safe, %col] : tensor<4x8xf32>
    linalg.yield %v : f32
  } -> tensor<2x8xf32>
  %zero = arith.constant 0.0 : f32
  %e2 = tensor.empty() : tensor<2x4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %table : tensor<2x8xf32>, tensor<4x8xf32>)
      outs(%acc : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

{-#
  dialect_resources: {
    builtin: {
      blk.0.attn_q: "0x04000000000040C0000030C0000020C0000010C0000000C00000E0BF0000C0BF0000A0BF000080BF000040BF000000BF000080BE000000000000803E0000003F0000403F0000803F0000A03F0000C03F0000E03F000000400000104000002040000030400000404000005040000060400000704000008040000088400000904000009840"
    }
  }
#-}
