// RUN: lowbit-run exec %s --entry main --print-stats | FileCheck %s

// Observers accumulate over every call site with the same key: here two
// tensors of 2 and 1 rows feed key "mlp_in".
//   rows: [1, -2], [3, 4], [-5, 0]
//   absmax   = [5, 4]
//   mean_abs = [(1+3+5)/3, (2+4+0)/3] = [3, 2]
//   gram     = X^T X = [[1+9+25, -2+12+0], [., 4+16+0]] = [[35, 10], [10, 20]]

func.func @main() {
  %a = arith.constant dense<[[1.0, -2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %b = arith.constant dense<[[-5.0, 0.0]]> : tensor<1x2xf32>
  lowbit.observe %a key("mlp_in") stats <all> : tensor<2x2xf32>
  lowbit.observe %b key("mlp_in") stats <all> : tensor<1x2xf32>
  lowbit.observe %a key("attn_in") stats <absmax> : tensor<2x2xf32>
  return
}

// CHECK:      observer 'mlp_in': rows 3, channels 2
// CHECK-NEXT:   absmax: [5, 4]
// CHECK-NEXT:   mean_abs: [3, 2]
// CHECK-NEXT:   gram[0]: [35, 10]
// CHECK-NEXT:   gram[1]: [10, 20]
// CHECK:      observer 'attn_in': rows 2, channels 2
// CHECK-NEXT:   absmax: [3, 4]
// CHECK-NOT:    mean_abs
