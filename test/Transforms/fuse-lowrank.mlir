// RUN: quant-opt %s --lowbit-fuse-lowrank | FileCheck %s
// RUN: quant-opt %s --lowbit-fuse-lowrank | FileCheck %s --check-prefix=COUNT
// COUNT-COUNT-5: lowrank(
// COUNT-NOT: lowrank(
// Numerics: the unfused branch (two matmuls onto the layer's reference
// lowering) against the fused layer's reference lowering, and its vector
// kernels (GEMV and prefill) on this CPU and in their AVX2 form, on seeded
// random inputs, codes and factors.
// RUN: quant-opt %s --lowbit-to-llvm="fuse=false vectorize=false" -o %t.unfused.mlir
// RUN: quant-opt %s --lowbit-to-llvm="vectorize=false" -o %t.reference.mlir
// RUN: quant-opt %s --lowbit-to-llvm -o %t.host.mlir
// RUN: quant-opt %s --lowbit-to-llvm="target=avx2" -o %t.avx2.mlir
// RUN: for f in lowrank_i4 lowrank_u4_zero_points lowrank_prefill lowrank_w4a4 lowrank_f32_factor; do \
// RUN:   for t in reference host avx2; do \
// RUN:     lowbit-run compare %t.unfused.mlir %t.$t.mlir --entry $f --seed 5 --tolerance 1e-5 || exit 1; \
// RUN:   done; \
// RUN: done | FileCheck %s --check-prefix=CLOSE
// CLOSE-COUNT-15: max relative difference:

// The branch's second matmul goes into the layer, which reads the up factor
// in f16; the down projection stays.
// CHECK-LABEL: func.func @lowrank_i4
// CHECK-SAME: %[[X:[^:]*]]: tensor<1x64xf32>, %[[W:[^:]*]]: tensor<32x32xi8>, %[[S:[^:]*]]: tensor<32x2xf16>, %[[DOWN:[^:]*]]: tensor<8x64xf16>, %[[UP:[^:]*]]: tensor<32x8xf16>
// CHECK: %[[T:.*]] = linalg.matmul indexing_maps = [{{.*}}] {lowbit.lowrank_of = "lowrank_i4"}
// CHECK: %[[Y:.*]] = lowbit.linear %[[X]], %[[W]] scales(%[[S]]) lowrank(%[[T]], %[[UP]]) scheme<i4, per_group<32>, scale = f16>
// CHECK-SAME: (tensor<1x64xf32>, tensor<32x32xi8>, tensor<32x2xf16>, tensor<1x8xf32>, tensor<32x8xf16>) -> tensor<1x32xf32>
// CHECK-NOT: linalg.matmul
// CHECK: return %[[Y]]

func.func @lowrank_i4(%x: tensor<1x64xf32>, %w: tensor<32x32xi8>, %s: tensor<32x2xf16>, %down: tensor<8x64xf16>, %upf: tensor<32x8xf16>) -> tensor<1x32xf32> {
  %y0 = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<32>, scale = f16>
      : (tensor<1x64xf32>, tensor<32x32xi8>, tensor<32x2xf16>) -> tensor<1x32xf32>
  %d = arith.extf %down : tensor<8x64xf16> to tensor<8x64xf32>
  %e = tensor.empty() : tensor<1x8xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8xf32>) -> tensor<1x8xf32>
  %t = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] {lowbit.lowrank_of = "lowrank_i4"}
      ins(%x, %d : tensor<1x64xf32>, tensor<8x64xf32>) outs(%init : tensor<1x8xf32>) -> tensor<1x8xf32>
  %u = arith.extf %upf : tensor<32x8xf16> to tensor<32x8xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] {lowbit.lowrank_of = "lowrank_i4"}
      ins(%t, %u : tensor<1x8xf32>, tensor<32x8xf32>) outs(%y0 : tensor<1x32xf32>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}


// CHECK-LABEL: func.func @lowrank_u4_zero_points
// CHECK: lowbit.linear {{.*}} zero_points(%{{.*}}) lowrank(%{{.*}}, %{{.*}}) scheme<ui4
func.func @lowrank_u4_zero_points(%x: tensor<2x64xf32>, %w: tensor<16x32xi8>, %s: tensor<16x2xf32>, %z: tensor<16x2xf32>, %down: tensor<16x64xf16>, %upf: tensor<16x16xf16>) -> tensor<2x16xf32> {
  %y0 = lowbit.linear %x, %w scales(%s) zero_points(%z) scheme<ui4, per_group<32>, zero_point>
      : (tensor<2x64xf32>, tensor<16x32xi8>, tensor<16x2xf32>, tensor<16x2xf32>) -> tensor<2x16xf32>
  %d = arith.extf %down : tensor<16x64xf16> to tensor<16x64xf32>
  %e = tensor.empty() : tensor<2x16xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<2x16xf32>) -> tensor<2x16xf32>
  %t = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] {lowbit.lowrank_of = "lowrank_u4_zero_points"}
      ins(%x, %d : tensor<2x64xf32>, tensor<16x64xf32>) outs(%init : tensor<2x16xf32>) -> tensor<2x16xf32>
  %u = arith.extf %upf : tensor<16x16xf16> to tensor<16x16xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] {lowbit.lowrank_of = "lowrank_u4_zero_points"}
      ins(%t, %u : tensor<2x16xf32>, tensor<16x16xf32>) outs(%y0 : tensor<2x16xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}


// CHECK-LABEL: func.func @lowrank_prefill
// CHECK: lowbit.linear {{.*}} lowrank(
// CHECK-SAME: tensor<9x8xf32>, tensor<32x8xf16>) -> tensor<9x32xf32>
func.func @lowrank_prefill(%x: tensor<9x64xf32>, %w: tensor<32x32xi8>, %s: tensor<32x2xf16>, %down: tensor<8x64xf16>, %upf: tensor<32x8xf16>) -> tensor<9x32xf32> {
  %y0 = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<32>, scale = f16>
      : (tensor<9x64xf32>, tensor<32x32xi8>, tensor<32x2xf16>) -> tensor<9x32xf32>
  %d = arith.extf %down : tensor<8x64xf16> to tensor<8x64xf32>
  %e = tensor.empty() : tensor<9x8xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<9x8xf32>) -> tensor<9x8xf32>
  %t = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] {lowbit.lowrank_of = "lowrank_prefill"}
      ins(%x, %d : tensor<9x64xf32>, tensor<8x64xf32>) outs(%init : tensor<9x8xf32>) -> tensor<9x8xf32>
  %u = arith.extf %upf : tensor<32x8xf16> to tensor<32x8xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] {lowbit.lowrank_of = "lowrank_prefill"}
      ins(%t, %u : tensor<9x8xf32>, tensor<32x8xf32>) outs(%y0 : tensor<9x32xf32>) -> tensor<9x32xf32>
  return %y : tensor<9x32xf32>
}


// W4A4: the layer reads the quantized input, the branch the float one.
// CHECK-LABEL: func.func @lowrank_w4a4
// CHECK-SAME: (%[[X:[^:]*]]: tensor<1x64xf32>
// CHECK: %[[XQ:.*]] = lowbit.dequantize
// CHECK: %[[T:.*]] = linalg.matmul indexing_maps = [{{.*}}] {lowbit.lowrank_of = "lowrank_w4a4"} ins(%[[X]],
// CHECK: lowbit.linear %[[XQ]], {{.*}} lowrank(%[[T]], %{{.*}})
func.func @lowrank_w4a4(%x: tensor<1x64xf32>, %w: tensor<32x32xi8>, %s: tensor<32x2xf16>, %down: tensor<8x64xf16>, %upf: tensor<32x8xf16>) -> tensor<1x32xf32> {
  %q, %qs = lowbit.quantize_dynamic %x scheme<i4, per_group<32>>
      : tensor<1x64xf32> -> (tensor<1x32xi8>, tensor<1x2xf32>)
  %xq = lowbit.dequantize %q scales(%qs) scheme<i4, per_group<32>>
      : (tensor<1x32xi8>, tensor<1x2xf32>) -> tensor<1x64xf32>
  %y0 = lowbit.linear %xq, %w scales(%s) scheme<i4, per_group<32>, scale = f16>
      : (tensor<1x64xf32>, tensor<32x32xi8>, tensor<32x2xf16>) -> tensor<1x32xf32>
  %d = arith.extf %down : tensor<8x64xf16> to tensor<8x64xf32>
  %e = tensor.empty() : tensor<1x8xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8xf32>) -> tensor<1x8xf32>
  %t = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] {lowbit.lowrank_of = "lowrank_w4a4"}
      ins(%x, %d : tensor<1x64xf32>, tensor<8x64xf32>) outs(%init : tensor<1x8xf32>) -> tensor<1x8xf32>
  %u = arith.extf %upf : tensor<32x8xf16> to tensor<32x8xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] {lowbit.lowrank_of = "lowrank_w4a4"}
      ins(%t, %u : tensor<1x8xf32>, tensor<32x8xf32>) outs(%y0 : tensor<1x32xf32>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}


// An f32 factor is taken as it is.
// CHECK-LABEL: func.func @lowrank_f32_factor
// CHECK: lowbit.linear {{.*}} lowrank(%{{.*}}, %{{.*}}) scheme<i8, per_channel> : ({{.*}}, tensor<16x4xf32>) -> tensor<1x16xf32>
func.func @lowrank_f32_factor(%x: tensor<1x64xf32>, %w: tensor<16x64xi8>, %s: tensor<16x1xf32>, %down: tensor<4x64xf16>, %upf: tensor<16x4xf32>) -> tensor<1x16xf32> {
  %y0 = lowbit.linear %x, %w scales(%s) scheme<i8, per_channel>
      : (tensor<1x64xf32>, tensor<16x64xi8>, tensor<16x1xf32>) -> tensor<1x16xf32>
  %d = arith.extf %down : tensor<4x64xf16> to tensor<4x64xf32>
  %e = tensor.empty() : tensor<1x4xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x4xf32>) -> tensor<1x4xf32>
  %t = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] {lowbit.lowrank_of = "lowrank_f32_factor"}
      ins(%x, %d : tensor<1x64xf32>, tensor<4x64xf32>) outs(%init : tensor<1x4xf32>) -> tensor<1x4xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] {lowbit.lowrank_of = "lowrank_f32_factor"}
      ins(%t, %upf : tensor<1x4xf32>, tensor<16x4xf32>) outs(%y0 : tensor<1x16xf32>) -> tensor<1x16xf32>
  return %y : tensor<1x16xf32>
}


// A branch onto something other than a low-bit layer, and a layer whose
// result is used elsewhere too: left alone.
// CHECK-LABEL: func.func @branch_onto_float
// CHECK: linalg.matmul indexing_maps = [{{.*}}] {lowbit.lowrank_of = "f"}
// CHECK: linalg.matmul indexing_maps = [{{.*}}] {lowbit.lowrank_of = "f"}
func.func @branch_onto_float(%x: tensor<1x64xf32>, %y0: tensor<1x32xf32>, %d: tensor<8x64xf32>, %u: tensor<32x8xf32>) -> tensor<1x32xf32> {
  %e = tensor.empty() : tensor<1x8xf32>
  %zero = arith.constant 0.0 : f32
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<1x8xf32>) -> tensor<1x8xf32>
  %t = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] {lowbit.lowrank_of = "f"}
      ins(%x, %d : tensor<1x64xf32>, tensor<8x64xf32>) outs(%init : tensor<1x8xf32>) -> tensor<1x8xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] {lowbit.lowrank_of = "f"}
      ins(%t, %u : tensor<1x8xf32>, tensor<32x8xf32>) outs(%y0 : tensor<1x32xf32>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// CHECK-LABEL: func.func @layer_used_twice
// CHECK-NOT: lowrank(
// CHECK: linalg.matmul indexing_maps = [{{.*}}] {lowbit.lowrank_of = "g"} {{.*}} outs(%{{.*}} : tensor<1x32xf32>)
func.func @layer_used_twice(%x: tensor<1x64xf32>, %w: tensor<32x32xi8>, %s: tensor<32x2xf16>, %t: tensor<1x8xf32>, %u: tensor<32x8xf32>) -> (tensor<1x32xf32>, tensor<1x32xf32>) {
  %y0 = lowbit.linear %x, %w scales(%s) scheme<i4, per_group<32>, scale = f16>
      : (tensor<1x64xf32>, tensor<32x32xi8>, tensor<32x2xf16>) -> tensor<1x32xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>, affine_map<(m, n, k) -> (m, n)>] {lowbit.lowrank_of = "g"}
      ins(%t, %u : tensor<1x8xf32>, tensor<32x8xf32>) outs(%y0 : tensor<1x32xf32>) -> tensor<1x32xf32>
  return %y, %y0 : tensor<1x32xf32>, tensor<1x32xf32>
}
