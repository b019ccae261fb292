// RUN: quant-opt %s --pass-pipeline='builtin.module(func.func(lowbit-vectorize-matmul{threads=2 block-bytes=320}))' | FileCheck %s
// Numerics: the vectorized, multithreaded lowering against the scalar loops
// on seeded random inputs, for every function.
// RUN: quant-opt %s --lowbit-to-llvm="vectorize=false" -o %t.scalar.mlir
// RUN: quant-opt %s --lowbit-to-llvm -o %t.fast.mlir
// RUN: lowbit-run compare %t.scalar.mlir %t.fast.mlir --entry linear --seed 3 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.scalar.mlir %t.fast.mlir --entry wide --seed 4 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.scalar.mlir %t.fast.mlir --entry plain --seed 5 --tolerance 0 | FileCheck %s --check-prefix=CLOSE
// CLOSE: max relative difference:

// A 5x11 output with K = 20: rows split 4 + 1, columns into blocks of 3
// (320 bytes of B, 16 floats a row) shared out by scf.forall plus a ragged
// tail of 2, K split at 16 with the last 4 columns left a plain matmul.
// CHECK-LABEL: func.func @linear
// CHECK: %[[HEAD:.*]] = tensor.extract_slice %arg0[0, 0] [5, 16]
// CHECK: scf.forall (%{{.*}}) = (0) to (9) step (3)
// CHECK:   scf.for {{.*}} iter_args(%{{.*}} = %{{.*}}) -> (vector<4x3x8xf32>)
// CHECK:     vector.transfer_read {{.*}} : tensor<4x2x8xf32>, vector<4x1x8xf32>
// CHECK:     vector.transfer_read {{.*}} : tensor<3x2x8xf32>, vector<3x1x8xf32>
// CHECK:     vector.fma {{.*}} : vector<4x3x8xf32>
// CHECK:   vector.multi_reduction <add>, {{.*}} [2] : vector<4x3x8xf32> to vector<4x3xf32>
// CHECK:   tensor.parallel_insert_slice
// CHECK: scf.for {{.*}} -> (vector<4x2x8xf32>)
// CHECK: scf.for {{.*}} -> (vector<1x8x8xf32>)
// CHECK: scf.for {{.*}} -> (vector<1x3x8xf32>)
// CHECK: %[[TAILA:.*]] = tensor.extract_slice %arg0[0, 16] [5, 4]
// CHECK: %[[TAILB:.*]] = tensor.extract_slice %arg1[0, 16] [11, 4]
// CHECK: linalg.matmul {{.*}} ins(%[[TAILA]], %[[TAILB]] : tensor<5x4xf32>, tensor<11x4xf32>)
// CHECK-NOT: linalg.matmul
// CHECK: return
func.func @linear(%x: tensor<5x20xf32>, %w: tensor<11x20xf32>) -> tensor<5x11xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<5x11xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<5x11xf32>) -> tensor<5x11xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<5x20xf32>, tensor<11x20xf32>)
      outs(%acc : tensor<5x11xf32>) -> tensor<5x11xf32>
  return %y : tensor<5x11xf32>
}

// One row (decode): 1x8 micro-tiles over 64 columns of K = 32.
// CHECK-LABEL: func.func @wide
// CHECK: scf.for {{.*}} -> (vector<1x8x8xf32>)
// CHECK:   vector.fma {{.*}} : vector<1x8x8xf32>
// CHECK-NOT: linalg.matmul
// CHECK: return
func.func @wide(%x: tensor<1x32xf32>, %w: tensor<64x32xf32>) -> tensor<1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x64xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<1x64xf32>) -> tensor<1x64xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<1x32xf32>, tensor<64x32xf32>)
      outs(%acc : tensor<1x64xf32>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// Not the transposed-B form (B is K x N): left alone.
// CHECK-LABEL: func.func @plain
// CHECK-NOT: vector.
// CHECK: linalg.matmul ins(%arg0, %arg1 : tensor<4x16xf32>, tensor<16x8xf32>)
func.func @plain(%x: tensor<4x16xf32>, %w: tensor<16x8xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = linalg.matmul ins(%x, %w : tensor<4x16xf32>, tensor<16x8xf32>)
      outs(%acc : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}

// A reduction shorter than one vector: left alone.
// CHECK-LABEL: func.func @short
// CHECK-NOT: vector.
// CHECK: linalg.matmul
func.func @short(%x: tensor<4x4xf32>, %w: tensor<8x4xf32>) -> tensor<4x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x8xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<4x8xf32>) -> tensor<4x8xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<4x4xf32>, tensor<8x4xf32>)
      outs(%acc : tensor<4x8xf32>) -> tensor<4x8xf32>
  return %y : tensor<4x8xf32>
}
