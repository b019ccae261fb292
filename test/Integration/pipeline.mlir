// The named pipeline lowers lowbit IR all the way to the LLVM dialect; the
// runner executes the lowered file, and it computes what the source computes.
// RUN: quant-opt %s --lowbit-to-llvm -o %t.llvm.mlir
// RUN: FileCheck %s --check-prefix=LLVM < %t.llvm.mlir
// RUN: lowbit-run exec %t.llvm.mlir --entry mlp --seed 11 --print | FileCheck %s --check-prefix=EXEC
// RUN: lowbit-run compare %s %t.llvm.mlir --entry mlp --seed 11 --tolerance 0 | FileCheck %s --check-prefix=SAME
// A scheme that differs (int4 codes read as int8 rows) is caught.
// RUN: not lowbit-run compare %s %S/Inputs/mlp-other-scheme.mlir --entry mlp --seed 11 --tolerance 1e-3 2>&1 | FileCheck %s --check-prefix=DIFF

// LLVM-NOT: lowbit.linear
// LLVM-NOT: linalg.
// LLVM: llvm.func @mlp(
// LLVM: llvm.func @_mlir_ciface_mlp(
// LLVM-NOT: lowbit.linear

// EXEC: output 0: tensor<3x16xf32>
// EXEC-NEXT: {{\[}}[{{-?[0-9]}}

// SAME: max relative difference: 0{{$}}

// DIFF: max relative difference: {{[0-9.e+-]+}}
// DIFF: error: max relative difference {{.*}} exceeds the tolerance 0.001{{$}}

func.func @mlp(%x: tensor<3x64xf32>, %w: tensor<16x32xi8>, %s: tensor<16x2xf16>, %b: tensor<16xf32>) -> tensor<3x16xf32> {
  %0 = lowbit.linear %x, %w scales(%s) bias(%b) scheme<i4, per_group<32>, scale = f16> : (tensor<3x64xf32>, tensor<16x32xi8>, tensor<16x2xf16>, tensor<16xf32>) -> tensor<3x16xf32>
  %1 = math.tanh %0 : tensor<3x16xf32>
  return %1 : tensor<3x16xf32>
}
