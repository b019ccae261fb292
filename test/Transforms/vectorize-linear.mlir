// RUN: quant-opt %s --pass-pipeline='builtin.module(func.func(lowbit-vectorize-linear{threads=2 target=avx512}))' | FileCheck %s
// RUN: quant-opt %s --pass-pipeline='builtin.module(func.func(lowbit-vectorize-linear{threads=2 target=avx2}))' | FileCheck %s --check-prefix=AVX2
// Numerics: the vector kernels (this CPU's and the AVX2 form) against the
// reference lowering (dequantize, then the f32 loops) on seeded random
// codes, scales, zero points and inputs.
// RUN: quant-opt %s --lowbit-to-llvm="vectorize=false" -o %t.reference.mlir
// RUN: quant-opt %s --lowbit-to-llvm -o %t.host.mlir
// RUN: quant-opt %s --lowbit-to-llvm="target=avx2" -o %t.avx2.mlir
// RUN: lowbit-run compare %t.reference.mlir %t.host.mlir --entry gemv_i4 --seed 1 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.host.mlir --entry gemv_u4_zero_points --seed 2 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.host.mlir --entry gemv_i8 --seed 3 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.host.mlir --entry prefill_i4 --seed 4 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.host.mlir --entry with_bias --seed 5 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.avx2.mlir --entry gemv_i4 --seed 6 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.avx2.mlir --entry gemv_u4_zero_points --seed 7 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.avx2.mlir --entry prefill_i4 --seed 8 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.host.mlir --entry gemv_i2 --seed 20 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.avx2.mlir --entry gemv_i2 --seed 21 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.host.mlir --entry gemv_u2_zero_points --seed 22 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.avx2.mlir --entry gemv_u2_zero_points --seed 23 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.host.mlir --entry gemv_nf4 --seed 24 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.avx2.mlir --entry gemv_nf4 --seed 25 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.host.mlir --entry gemv_mxfp4 --seed 26 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.avx2.mlir --entry gemv_mxfp4 --seed 27 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.host.mlir --entry gemv_interleaved --seed 28 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.avx2.mlir --entry gemv_interleaved --seed 29 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.host.mlir --entry prefill_i2 --seed 30 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.avx2.mlir --entry prefill_i2 --seed 31 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.host.mlir --entry prefill_nf4_interleaved --seed 32 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// RUN: lowbit-run compare %t.reference.mlir %t.avx2.mlir --entry prefill_nf4_interleaved --seed 33 --tolerance 1e-5 | FileCheck %s --check-prefix=CLOSE
// CLOSE: max relative difference:
// RUN: not quant-opt %s --pass-pipeline='builtin.module(func.func(lowbit-vectorize-linear{target=sse9}))' 2>&1 | FileCheck %s --check-prefix=TARGET
// TARGET: error: unknown target 'sse9' of lowbit-vectorize-linear (host, avx512-vnni, avx512, avx2, generic)

// Decode, int4 in groups of 64 with f16 scales: blocks of output rows
// (8 rows, 8 blocks) over the cores, 4 rows at a time; codes read from the weights' buffer
// with a prefetch ahead, their nibbles looked up in the code table, FMAed
// into the deinterleaved input, each group scaled by one vector FMA.
// CHECK-LABEL: func.func @gemv_i4
// CHECK: %[[BUF:.*]] = bufferization.to_buffer %arg1 read_only : tensor<64x64xi8> to memref<64x64xi8>
// CHECK: scf.forall (%{{.*}}) in (8)
// CHECK:   scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c4
// CHECK:     scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK:       memref.prefetch %[[BUF]]
// CHECK:       vector.transfer_read %[[BUF]]{{.*}} : memref<64x64xi8>, vector<16xi8>
// CHECK:       arith.extui {{.*}} : vector<16xi8> to vector<16xi32>
// CHECK:       lowbit.lookup %{{.*}}[%{{.*}}] : vector<16xf32>, vector<16xi32> -> vector<16xf32>
// CHECK:       vector.fma
// CHECK:     arith.extf {{.*}} : f16 to f32
// CHECK:     vector.broadcast
// CHECK:     vector.fma
// CHECK:   vector.reduction <add>
// CHECK:   tensor.parallel_insert_slice
// CHECK-NOT: lowbit.linear
// AVX2-LABEL: func.func @gemv_i4
// AVX2-NOT: lowbit.lookup
// AVX2: arith.shrsi {{.*}} : vector<32xi8>
// AVX2: arith.sitofp {{.*}} : vector<32xi8> to vector<32xf32>
// AVX2: vector.fma {{.*}} : vector<32xf32>
func.func @gemv_i4(%x: tensor<1x128xf32>, %w: tensor<64x64xi8>, %s: tensor<64x2xf16>) -> tensor<1x64xf32> {
  %y = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<64>, scale = f16>
      : (tensor<1x128xf32>, tensor<64x64xi8>, tensor<64x2xf16>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// Unsigned codes with zero points, groups of 32, two input rows: the
// group sums of the input are computed once and the zero points enter as
// s z sum(x).
// CHECK-LABEL: func.func @gemv_u4_zero_points
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2x4x32xf32>) outs(%{{.*}} : tensor<2x4xf32>)
// CHECK: scf.forall
// CHECK: lowbit.lookup
// CHECK: arith.subf {{.*}} : f32
func.func @gemv_u4_zero_points(%x: tensor<2x128xf32>, %w: tensor<32x64xi8>, %s: tensor<32x4xf32>, %z: tensor<32x4xf32>) -> tensor<2x32xf32> {
  %y = lowbit.linear %x, %w scales(%s) zero_points(%z) scheme<ui4, per_group<32>, zero_point>
      : (tensor<2x128xf32>, tensor<32x64xi8>, tensor<32x4xf32>, tensor<32x4xf32>) -> tensor<2x32xf32>
  return %y : tensor<2x32xf32>
}

// int8 per channel, three rows: 32 codes a step converted with sitofp.
// CHECK-LABEL: func.func @gemv_i8
// CHECK: scf.forall
// CHECK: arith.sitofp {{.*}} : vector<32xi8> to vector<32xf32>
func.func @gemv_i8(%x: tensor<3x96xf32>, %w: tensor<40x96xi8>, %s: tensor<40x1xf32>) -> tensor<3x40xf32> {
  %y = lowbit.linear %x, %w scales(%s) scheme<i8, per_channel>
      : (tensor<3x96xf32>, tensor<40x96xi8>, tensor<40x1xf32>) -> tensor<3x40xf32>
  return %y : tensor<3x40xf32>
}

// Prefill (9 rows > max-gemv-rows): the weights are decoded once, in
// parallel, and an f32 matmul takes the product.
// CHECK-LABEL: func.func @prefill_i4
// CHECK: scf.forall
// CHECK:   vector.shuffle
// CHECK:   vector.transfer_write {{.*}} : vector<32xf32>, tensor<8x128xf32>
// CHECK: linalg.matmul
func.func @prefill_i4(%x: tensor<9x128xf32>, %w: tensor<64x64xi8>, %s: tensor<64x4xf16>) -> tensor<9x64xf32> {
  %y = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<32>, scale = f16>
      : (tensor<9x128xf32>, tensor<64x64xi8>, tensor<64x4xf16>) -> tensor<9x64xf32>
  return %y : tensor<9x64xf32>
}

// A bias is not handled by the kernels: the layer is left to the
// reference lowering.
// CHECK-LABEL: func.func @with_bias
// CHECK: lowbit.linear
func.func @with_bias(%x: tensor<1x64xf32>, %w: tensor<16x32xi8>, %s: tensor<16x1xf32>, %b: tensor<16xf32>) -> tensor<1x16xf32> {
  %y = lowbit.linear %x, %w scales(%s) bias(%b) scheme<i4, per_channel>
      : (tensor<1x64xf32>, tensor<16x32xi8>, tensor<16x1xf32>, tensor<16xf32>) -> tensor<1x16xf32>
  return %y : tensor<1x16xf32>
}

// A gated layer (rows in (gate, up) pairs): a block of 8 rows computes its
// dot products as usual, then splits them into gates and ups with two
// shuffles and writes silu(gate) * up, 4 features of the [1, 32] result,
// on whole vectors.
// CHECK-LABEL: func.func @gemv_gated
// CHECK: scf.forall (%{{.*}}) in (8) shared_outs(%{{.*}} = %{{.*}}) -> (tensor<1x32xf32>)
// CHECK:   scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c4{{.*}} iter_args(%{{.*}} = %{{.*}}) -> (tensor<1x8xf32>)
// CHECK:     vector.reduction <add>
// CHECK:     tensor.insert
// CHECK:   %[[ROW:.*]] = vector.transfer_read %{{.*}} : tensor<1x8xf32>, vector<8xf32>
// CHECK:   %[[GATE:.*]] = vector.shuffle %[[ROW]], %[[ROW]] [0, 2, 4, 6]
// CHECK:   %[[UP:.*]] = vector.shuffle %[[ROW]], %[[ROW]] [1, 3, 5, 7]
// CHECK:   math.exp %{{.*}} : vector<4xf32>
// CHECK:   %[[SILU:.*]] = arith.divf %[[GATE]], %{{.*}} : vector<4xf32>
// CHECK:   %[[H:.*]] = arith.mulf %[[SILU]], %[[UP]] : vector<4xf32>
// CHECK:   %[[OUT:.*]] = vector.transfer_write %[[H]], %{{.*}} : vector<4xf32>, tensor<1x4xf32>
// CHECK:   tensor.parallel_insert_slice %[[OUT]] into %{{.*}}[0, %{{.*}}] [1, 4] [1, 1] : tensor<1x4xf32> into tensor<1x32xf32>
// CHECK-NOT: lowbit.linear
func.func @gemv_gated(%x: tensor<1x128xf32>, %w: tensor<64x64xi8>, %s: tensor<64x2xf16>) -> tensor<1x32xf32> {
  %y = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<64>, scale = f16> gated<silu>
      : (tensor<1x128xf32>, tensor<64x64xi8>, tensor<64x2xf16>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// Prefill of a gated layer: the decoded tile's matmul, then the epilogue
// on the (gate, up) pairs of its product.
// CHECK-LABEL: func.func @prefill_gated
// CHECK: %[[MM:.*]] = linalg.matmul
// CHECK: %[[PAIRS:.*]] = tensor.expand_shape %[[MM]] {{\[\[}}0], [1, 2]] output_shape [9, 32, 2] : tensor<9x64xf32> into tensor<9x32x2xf32>
// CHECK: linalg.generic {{.*}} ins(%[[PAIRS]], %[[PAIRS]] : tensor<9x32x2xf32>, tensor<9x32x2xf32>) outs(%{{.*}} : tensor<9x32xf32>)
func.func @prefill_gated(%x: tensor<9x128xf32>, %w: tensor<64x64xi8>, %s: tensor<64x4xf16>) -> tensor<9x32xf32> {
  %y = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<32>, scale = f16> gated<silu>
      : (tensor<9x128xf32>, tensor<64x64xi8>, tensor<64x4xf16>) -> tensor<9x32xf32>
  return %y : tensor<9x32xf32>
}

// A low-rank branch: each input row's projection is read once as a vector,
// each output row's f16 up factor widened, and their dot product added to
// the row's sum before it is written.
// CHECK-LABEL: func.func @gemv_lowrank
// CHECK-SAME: %[[T:[^:]*]]: tensor<1x16xf32>, %[[U:[^:]*]]: tensor<64x16xf16>
// CHECK: %[[TV:.*]] = vector.transfer_read %[[T]]{{.*}} : tensor<1x16xf32>, vector<16xf32>
// CHECK: scf.forall
// CHECK:   %[[UV:.*]] = vector.transfer_read %[[U]]{{.*}} : tensor<64x16xf16>, vector<16xf16>
// CHECK:   %[[UF:.*]] = arith.extf %[[UV]] : vector<16xf16> to vector<16xf32>
// CHECK:   %[[DOT:.*]] = vector.reduction <add>
// CHECK:   %[[P:.*]] = arith.mulf %[[TV]], %[[UF]] : vector<16xf32>
// CHECK:   %[[BRANCH:.*]] = vector.reduction <add>, %[[P]]
// CHECK:   arith.addf %[[DOT]], %[[BRANCH]] : f32
// CHECK-NOT: lowbit.linear
func.func @gemv_lowrank(%x: tensor<1x128xf32>, %w: tensor<64x64xi8>, %s: tensor<64x2xf16>, %t: tensor<1x16xf32>, %u: tensor<64x16xf16>) -> tensor<1x64xf32> {
  %y = lowbit.linear %x, %w scales(%s) lowrank(%t, %u) scheme<i4, per_group<64>, scale = f16>
      : (tensor<1x128xf32>, tensor<64x64xi8>, tensor<64x2xf16>, tensor<1x16xf32>, tensor<64x16xf16>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// int2 in groups of 64, packed sequentially: byte j holds channels 4j to
// 4j + 3, so the input is split once into its four channel residues and
// each of the four fields of a 16-byte step (shift left, arithmetic shift
// right) meets one of them, in a chain of its own.
// CHECK-LABEL: func.func @gemv_i2
// CHECK-COUNT-4: linalg.copy ins(%{{.*}} : tensor<1x32xf32>) outs(%{{.*}} : tensor<1x32xf32>)
// CHECK: scf.forall
// CHECK:   scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>,
// CHECK:     vector.transfer_read %{{.*}} : memref<32x32xi8>, vector<16xi8>
// CHECK:     arith.shli {{.*}} : vector<16xi8>
// CHECK:     arith.shrsi {{.*}} : vector<16xi8>
// CHECK:     arith.sitofp {{.*}} : vector<16xi8> to vector<16xf32>
// CHECK:     vector.fma {{.*}} : vector<16xf32>
// CHECK-NOT: lowbit.linear
func.func @gemv_i2(%x: tensor<1x128xf32>, %w: tensor<32x32xi8>, %s: tensor<32x2xf16>) -> tensor<1x32xf32> {
  %y = lowbit.linear %x, %w scales(%s) scheme<i2, per_group<64>, scale = f16>
      : (tensor<1x128xf32>, tensor<32x32xi8>, tensor<32x2xf16>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// Unsigned 2-bit codes with zero points (as the W2/W3 GPTQ recipes make
// them), two input rows: fields by shift right and mask.
// CHECK-LABEL: func.func @gemv_u2_zero_points
// CHECK: scf.forall
// CHECK:   arith.shrui {{.*}} : vector<8xi8>
// CHECK:   arith.andi {{.*}} : vector<8xi8>
// CHECK:   arith.uitofp {{.*}} : vector<8xi8> to vector<8xf32>
// CHECK:   arith.subf {{.*}} : f32
func.func @gemv_u2_zero_points(%x: tensor<2x64xf32>, %w: tensor<16x16xi8>, %s: tensor<16x2xf32>, %z: tensor<16x2xf32>) -> tensor<2x16xf32> {
  %y = lowbit.linear %x, %w scales(%s) zero_points(%z) scheme<ui2, per_group<32>, zero_point>
      : (tensor<2x64xf32>, tensor<16x16xi8>, tensor<16x2xf32>, tensor<16x2xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// NF4 through its 16-entry table: one 16-lane lookup per block of 16 bytes
// and nibble with AVX-512, 8-lane lookups with AVX2 (two permutes and a
// blend once lowered).
// CHECK-LABEL: func.func @gemv_nf4
// CHECK: scf.forall
// CHECK:   arith.constant dense<[-1.000000e+00, -0.6961928{{[0-9]*}}, {{.*}}, 1.000000e+00]> : vector<16xf32>
// CHECK:   lowbit.lookup %{{.*}}[%{{.*}}] : vector<16xf32>, vector<16xi32> -> vector<16xf32>
// CHECK-NOT: lowbit.linear
// AVX2-LABEL: func.func @gemv_nf4
// AVX2: arith.extui {{.*}} : vector<8xi8> to vector<8xi32>
// AVX2: lowbit.lookup %{{.*}}[%{{.*}}] : vector<16xf32>, vector<8xi32> -> vector<8xf32>
// AVX2: arith.shrui {{.*}} : vector<8xi32>
// AVX2: vector.fma {{.*}} : vector<8xf32>
// AVX2-NOT: lowbit.linear
func.func @gemv_nf4(%x: tensor<1x128xf32>, %w: tensor<32x64xi8>, %s: tensor<32x2xf16>) -> tensor<1x32xf32> {
  %y = lowbit.linear %x, %w scales(%s) scheme<nf4, per_group<64>, scale = f16>
      : (tensor<1x128xf32>, tensor<32x64xi8>, tensor<32x2xf16>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// MXFP4: E2M1 codes through their table, power-of-two E8M0 scales widened
// to f32 once a group.
// CHECK-LABEL: func.func @gemv_mxfp4
// CHECK: arith.constant dense<[0.000000e+00, 5.000000e-01, 1.000000e+00, {{.*}}, -6.000000e+00]> : vector<16xf32>
// CHECK: lowbit.lookup
// CHECK: arith.extf {{.*}} : f8E8M0FNU to f32
// CHECK-NOT: lowbit.linear
func.func @gemv_mxfp4(%x: tensor<3x64xf32>, %w: tensor<16x32xi8>, %s: tensor<16x2xf8E8M0FNU>) -> tensor<3x16xf32> {
  %y = lowbit.linear %x, %w scales(%s) scheme<f4E2M1FN, per_group<32>, scale = f8E8M0FNU>
      : (tensor<3x64xf32>, tensor<16x32xi8>, tensor<16x2xf8E8M0FNU>) -> tensor<3x16xf32>
  return %y : tensor<3x16xf32>
}

// Codes interleaved in blocks of one step (GGUF's Q4_0 order, block 32):
// each nibble of 16 bytes is 16 consecutive channels, so the input is read
// as it is, with no residue copies.
// CHECK-LABEL: func.func @gemv_interleaved
// CHECK-NOT: linalg.copy
// CHECK: scf.forall
// CHECK: lowbit.lookup
// CHECK-NOT: lowbit.linear
// AVX2-LABEL: func.func @gemv_interleaved
// AVX2-NOT: linalg.copy
// AVX2: arith.sitofp {{.*}} : vector<16xi8> to vector<16xf32>
func.func @gemv_interleaved(%x: tensor<1x128xf32>, %w: tensor<32x64xi8>, %s: tensor<32x4xf16>) -> tensor<1x32xf32> {
  %y = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<32>, scale = f16> packing<interleaved, block = 32>
      : (tensor<1x128xf32>, tensor<32x64xi8>, tensor<32x4xf16>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// Interleaved blocks that are not one step of a kernel (here 128 codes,
// 64 bytes at 4 bits) are left to the reference lowering, as are 3-bit
// codes, which straddle bytes.
// CHECK-LABEL: func.func @interleaved_too_wide
// CHECK: lowbit.linear
func.func @interleaved_too_wide(%x: tensor<1x128xf32>, %w: tensor<16x64xi8>, %s: tensor<16x1xf32>) -> tensor<1x16xf32> {
  %y = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<128>> packing<interleaved, block = 128>
      : (tensor<1x128xf32>, tensor<16x64xi8>, tensor<16x1xf32>) -> tensor<1x16xf32>
  return %y : tensor<1x16xf32>
}
// CHECK-LABEL: func.func @gemv_i3
// CHECK: lowbit.linear
func.func @gemv_i3(%x: tensor<1x64xf32>, %w: tensor<16x24xi8>, %s: tensor<16x1xf32>) -> tensor<1x16xf32> {
  %y = lowbit.linear %x, %w scales(%s) scheme<i3, per_channel>
      : (tensor<1x64xf32>, tensor<16x24xi8>, tensor<16x1xf32>) -> tensor<1x16xf32>
  return %y : tensor<1x16xf32>
}

// Prefill of sequential 2-bit codes: the four fields of a step go back
// into channel order with three shuffles (two pairs, then the pairs).
// CHECK-LABEL: func.func @prefill_i2
// CHECK: scf.forall
// CHECK-COUNT-3: vector.shuffle
// CHECK:   vector.transfer_write {{.*}} : vector<64xf32>, tensor<8x128xf32>
// CHECK: linalg.matmul
func.func @prefill_i2(%x: tensor<9x128xf32>, %w: tensor<64x32xi8>, %s: tensor<64x2xf32>) -> tensor<9x64xf32> {
  %y = lowbit.linear %x, %w scales(%s) scheme<i2, per_group<64>>
      : (tensor<9x128xf32>, tensor<64x32xi8>, tensor<64x2xf32>) -> tensor<9x64xf32>
  return %y : tensor<9x64xf32>
}

// Prefill of interleaved NF4: each looked-up piece is a run of channels,
// written where it belongs without a shuffle.
// CHECK-LABEL: func.func @prefill_nf4_interleaved
// CHECK: scf.forall
// CHECK-NOT: vector.shuffle
// CHECK:   vector.transfer_write {{.*}} : vector<16xf32>, tensor<8x128xf32>
// CHECK: linalg.matmul
func.func @prefill_nf4_interleaved(%x: tensor<9x128xf32>, %w: tensor<64x64xi8>, %s: tensor<64x2xf16>) -> tensor<9x64xf32> {
  %y = lowbit.linear %x, %w scales(%s) scheme<nf4, per_group<64>, scale = f16> packing<interleaved, block = 64>
      : (tensor<9x128xf32>, tensor<64x64xi8>, tensor<64x2xf16>) -> tensor<9x64xf32>
  return %y : tensor<9x64xf32>
}
