// RUN: quant-opt %s --lowbit-outline-loop-nests=min-nests=2 | FileCheck %s
// RUN: quant-opt %s --lowbit-outline-loop-nests | FileCheck %s --check-prefix=FEW
// Numerically, outlining is covered by the model tests: stories260K's entry
// points have over 32 nests, and their logits match the reference forward.

// Each top-level loop nest moves into a private no_inline function that
// takes what the nest uses, except constants, which move in with it (LLVM
// then sees trip counts and shift amounts); the function calls them in
// order. The third nest repeats the first one: its calls go to the first
// copy. The fourth differs from the first only in a constant: it is a
// function of its own.
// CHECK-NOT: __nest2
// CHECK: func.func private @nests__nest0(%{{.*}}: memref<4xf32>, %{{.*}}: f32, %{{.*}}: memref<4xf32>) attributes {no_inline}
// CHECK-DAG: arith.constant 4 : index
// CHECK-DAG: arith.constant 0 : index
// CHECK:   scf.for
// CHECK:     arith.mulf
// CHECK: func.func private @nests__nest1({{.*}}) attributes {no_inline}
// CHECK:   scf.for
// CHECK:     arith.addf
// CHECK: func.func private @nests__nest3(%{{.*}}: memref<4xf32>, %{{.*}}: f32, %{{.*}}: memref<4xf32>) attributes {no_inline}
// CHECK:   arith.constant 2 : index
// CHECK-LABEL: func.func @nests
// CHECK-NOT: scf.for
// CHECK: call @nests__nest0(%{{.*}}, %{{.*}}, %{{.*}}) :
// CHECK-NEXT: call @nests__nest1(
// CHECK-NEXT: call @nests__nest0(
// CHECK-NEXT: call @nests__nest3(
// CHECK-NEXT: return

// Below min-nests (32 by default) the function stays as it is.
// FEW-NOT: __nest
// FEW: scf.for
// FEW: scf.for

func.func @nests(%a: memref<4xf32>, %b: memref<4xf32>, %s: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c2 = arith.constant 2 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %x = memref.load %a[%i] : memref<4xf32>
    %y = arith.mulf %x, %s : f32
    memref.store %y, %b[%i] : memref<4xf32>
  }
  scf.for %i = %c0 to %c4 step %c1 {
    %x = memref.load %b[%i] : memref<4xf32>
    %y = arith.addf %x, %x : f32
    memref.store %y, %a[%i] : memref<4xf32>
  }
  scf.for %i = %c0 to %c4 step %c1 {
    %x = memref.load %a[%i] : memref<4xf32>
    %y = arith.mulf %x, %s : f32
    memref.store %y, %b[%i] : memref<4xf32>
  }
  scf.for %i = %c0 to %c2 step %c1 {
    %x = memref.load %a[%i] : memref<4xf32>
    %y = arith.mulf %x, %s : f32
    memref.store %y, %b[%i] : memref<4xf32>
  }
  return
}
