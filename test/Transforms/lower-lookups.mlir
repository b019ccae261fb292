// RUN: quant-opt %s --lowbit-lower-lookups=target=avx512 | FileCheck %s
// RUN: quant-opt %s --lowbit-lower-lookups=target=generic | FileCheck %s --check-prefix=GENERIC
// RUN: quant-opt %s --lowbit-lower-lookups=target=avx2 | FileCheck %s --check-prefix=AVX2
// Numerics: vpermps (on this CPU) and the per-lane extracts give the
// table's entries for random indices, high bits included.
// RUN: quant-opt %s --lowbit-to-llvm="target=generic" -o %t.generic.mlir
// RUN: quant-opt %s --lowbit-to-llvm -o %t.host.mlir
// RUN: lowbit-run compare %t.generic.mlir %t.host.mlir --entry lookup16 --seed 11 --tolerance 0 | FileCheck %s --check-prefix=SAME
// RUN: quant-opt %s --lowbit-to-llvm="target=avx2" -o %t.avx2.mlir
// RUN: lowbit-run compare %t.generic.mlir %t.avx2.mlir --entry lookup16by8 --seed 12 --tolerance 0 | FileCheck %s --check-prefix=SAME
// SAME: max relative difference: 0
// RUN: quant-opt %s --lowbit-lower-lookups=target=avx512-vnni | FileCheck %s --check-prefix=VNNI
// Numerics of dot_bytes: the widening form against vpdpbusd, random bytes
// of both signs, exact.
// RUN: %if avx512vnni %{ quant-opt %s --lowbit-to-llvm="target=avx512-vnni" -o %t.vnni.mlir %}
// RUN: %if avx512vnni %{ lowbit-run compare %t.generic.mlir %t.vnni.mlir --entry dot_bytes16 --seed 13 --tolerance 0 | FileCheck %s --check-prefix=SAME %}
// RUN: not quant-opt %s --lowbit-lower-lookups=target=mmx 2>&1 | FileCheck %s --check-prefix=TARGET
// TARGET: error: unknown target 'mmx' of lowbit-lower-lookups (host, avx512-vnni, avx512, avx2, generic)

// CHECK-LABEL: func.func @lookup16
// CHECK: llvm.call_intrinsic "llvm.x86.avx512.permvar.sf.512"(%{{.*}}, %{{.*}}) : (vector<16xf32>, vector<16xi32>) -> vector<16xf32>
// GENERIC-LABEL: func.func @lookup16
// GENERIC-NOT: llvm.call_intrinsic
// GENERIC: %[[MASK:.*]] = arith.constant 15 : i32
// GENERIC: %[[I:.*]] = vector.extract %{{.*}}[0] : i32 from vector<16xi32>
// GENERIC: %[[M:.*]] = arith.andi %[[I]], %[[MASK]] : i32
// GENERIC: %[[E:.*]] = arith.index_castui %[[M]] : i32 to index
// GENERIC: vector.extract %{{.*}}[%[[E]]] : f32 from vector<16xf32>
// GENERIC: vector.insert
func.func @lookup16(%indices: tensor<16xi32>) -> tensor<16xf32> {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0 : i32
  %table = arith.constant dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, -8.0, -7.0, -6.0, -5.0, -4.0, -3.0, -2.0, -1.0]> : vector<16xf32>
  %v = vector.transfer_read %indices[%c0], %pad {in_bounds = [true]} : tensor<16xi32>, vector<16xi32>
  %r = lowbit.lookup %table[%v] : vector<16xf32>, vector<16xi32> -> vector<16xf32>
  %e = tensor.empty() : tensor<16xf32>
  %w = vector.transfer_write %r, %e[%c0] {in_bounds = [true]} : vector<16xf32>, tensor<16xf32>
  return %w : tensor<16xf32>
}

// An 8-entry table is never a vpermps: lane extracts with a mask of 7.
// CHECK-LABEL: func.func @lookup8
// CHECK-NOT: llvm.call_intrinsic
// CHECK: arith.constant 7 : i8
func.func @lookup8(%table: vector<8xf16>, %indices: vector<4xi8>) -> vector<4xf16> {
  %r = lowbit.lookup %table[%indices] : vector<8xf16>, vector<4xi8> -> vector<4xf16>
  return %r : vector<4xf16>
}

// A 16-entry table by 8 lanes: with AVX2, both halves of the table go
// through an 8-lane vpermps (which reads three bits of the index) and bit 3
// picks one; elsewhere, extracts.
// AVX2-LABEL: func.func @lookup16by8
// AVX2: %[[LO:.*]] = vector.extract_strided_slice %[[T:.*]] {offsets = [0], sizes = [8], strides = [1]} : vector<16xf32> to vector<8xf32>
// AVX2: %[[A:.*]] = llvm.call_intrinsic "llvm.x86.avx2.permps"(%[[LO]], %[[I:.*]]) : (vector<8xf32>, vector<8xi32>) -> vector<8xf32>
// AVX2: %[[HI:.*]] = vector.extract_strided_slice %[[T]] {offsets = [8], sizes = [8], strides = [1]} : vector<16xf32> to vector<8xf32>
// AVX2: %[[B:.*]] = llvm.call_intrinsic "llvm.x86.avx2.permps"(%[[HI]], %[[I]])
// AVX2: %[[BIT:.*]] = arith.constant dense<8> : vector<8xi32>
// AVX2: %[[AND:.*]] = arith.andi %[[I]], %[[BIT]] : vector<8xi32>
// AVX2: %[[UP:.*]] = arith.cmpi ne, %[[AND]], %{{.*}} : vector<8xi32>
// AVX2: arith.select %[[UP]], %[[B]], %[[A]] : vector<8xi1>, vector<8xf32>
// CHECK-LABEL: func.func @lookup16by8
// CHECK-NOT: llvm.call_intrinsic
// CHECK: vector.extract
func.func @lookup16by8(%indices: tensor<8xi32>) -> tensor<8xf32> {
  %c0 = arith.constant 0 : index
  %pad = arith.constant 0 : i32
  %table = arith.constant dense<[-1.0, -0.75, -0.5, -0.25, 0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0, 1.5, 2.0, 3.0]> : vector<16xf32>
  %v = vector.transfer_read %indices[%c0], %pad {in_bounds = [true]} : tensor<8xi32>, vector<8xi32>
  %r = lowbit.lookup %table[%v] : vector<16xf32>, vector<8xi32> -> vector<8xf32>
  %e = tensor.empty() : tensor<8xf32>
  %w = vector.transfer_write %r, %e[%c0] {in_bounds = [true]} : vector<8xf32>, tensor<8xf32>
  return %w : tensor<8xf32>
}

// lowbit.dot_bytes: one vpdpbusd with VNNI; elsewhere widened products and
// four strided lane sums.
// VNNI-LABEL: func.func @dot_bytes16
// VNNI: llvm.call_intrinsic "llvm.x86.avx512.vpdpbusd.512"(%{{.*}}, %{{.*}}, %{{.*}}) : (vector<16xi32>, vector<64xi8>, vector<64xi8>) -> vector<16xi32>
// CHECK-LABEL: func.func @dot_bytes16
// CHECK-NOT: llvm.call_intrinsic
// CHECK: %[[U:.*]] = arith.extui %{{.*}} : vector<64xi8> to vector<64xi32>
// CHECK: %[[S:.*]] = arith.extsi %{{.*}} : vector<64xi8> to vector<64xi32>
// CHECK: %[[P:.*]] = arith.muli %[[U]], %[[S]] : vector<64xi32>
// CHECK: vector.shuffle %[[P]], %[[P]] [0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60]
// CHECK: vector.shuffle %[[P]], %[[P]] [3, 7, 11, 15, 19, 23, 27, 31, 35, 39, 43, 47, 51, 55, 59, 63]
// CHECK-COUNT-4: arith.addi
func.func @dot_bytes16(%acc: tensor<16xi32>, %lhs: tensor<64xi8>, %rhs: tensor<64xi8>) -> tensor<16xi32> {
  %c0 = arith.constant 0 : index
  %p32 = arith.constant 0 : i32
  %p8 = arith.constant 0 : i8
  %a = vector.transfer_read %acc[%c0], %p32 {in_bounds = [true]} : tensor<16xi32>, vector<16xi32>
  %x = vector.transfer_read %lhs[%c0], %p8 {in_bounds = [true]} : tensor<64xi8>, vector<64xi8>
  %w = vector.transfer_read %rhs[%c0], %p8 {in_bounds = [true]} : tensor<64xi8>, vector<64xi8>
  %r = lowbit.dot_bytes %a, %x, %w : vector<16xi32>, vector<64xi8>
  %e = tensor.empty() : tensor<16xi32>
  %o = vector.transfer_write %r, %e[%c0] {in_bounds = [true]} : vector<16xi32>, tensor<16xi32>
  return %o : tensor<16xi32>
}

// vpdpbusd has 16 lanes; 8 lanes take the widening form even with VNNI.
// VNNI-LABEL: func.func @dot_bytes8
// VNNI-NOT: llvm.call_intrinsic
// VNNI: arith.extui %{{.*}} : vector<32xi8> to vector<32xi32>
func.func @dot_bytes8(%acc: vector<8xi32>, %lhs: vector<32xi8>, %rhs: vector<32xi8>) -> vector<8xi32> {
  %r = lowbit.dot_bytes %acc, %lhs, %rhs : vector<8xi32>, vector<32xi8>
  return %r : vector<8xi32>
}
