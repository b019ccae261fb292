// RUN: quant-opt %s --lowbit-approximate-math | FileCheck %s
// RUN: quant-opt %s --lowbit-approximate-math="functions=exp,sin" | FileCheck %s --check-prefix=SIN
// RUN: quant-opt %s --lowbit-to-llvm | FileCheck %s --check-prefix=LLVM
// RUN: quant-opt %s --lowbit-to-llvm="approximate-math=false" | FileCheck %s --check-prefix=LIBM

// exp (scalar and vector) becomes arith and math.fma; sin stays unless named.
// CHECK-LABEL: func.func @f
// CHECK-NOT:   math.exp
// CHECK:       math.fma {{.*}} : vector<16xf32>
// CHECK:       math.sin
// CHECK-NOT:   math.exp

// SIN-LABEL: func.func @f
// SIN-NOT:   math.sin
// SIN-NOT:   math.exp

// In the pipeline, no exp intrinsic is left (LLVM would call expf for it).
// LLVM-NOT: llvm.intr.exp
// LIBM: llvm.intr.exp
func.func @f(%x: f32, %v: vector<16xf32>) -> (f32, vector<16xf32>, f32) {
  %a = math.exp %x : f32
  %b = math.exp %v : vector<16xf32>
  %c = math.sin %x : f32
  return %a, %b, %c : f32, vector<16xf32>, f32
}
