// RUN: quant-opt %s --convert-lowbit-to-linalg --canonicalize | FileCheck %s

// Observers become calls into the runtime, identified by their index in the
// module's `lowbit.observers` list and the statistics they ask for as flags
// (absmax = 1, mean_abs = 2, gram = 4).

// CHECK: module attributes {lowbit.observers = ["blk0.attn_in", "blk0.mlp_in"]}
// CHECK: func.func private @lowbit_observe(i64, i64, memref<*xf32>) attributes {llvm.emit_c_interface}
// CHECK-LABEL: func.func @observed
// CHECK-SAME: (%[[X:.+]]: tensor<2x64xf32>, %[[Y:.+]]: tensor<3x64xf32>)
// CHECK-DAG:  %[[ID0:.+]] = arith.constant 0 : i64
// CHECK-DAG:  %[[ID1:.+]] = arith.constant 1 : i64
// CHECK-DAG:  %[[F0:.+]] = arith.constant 5 : i64
// CHECK-DAG:  %[[F1:.+]] = arith.constant 7 : i64
// CHECK:      %[[B0:.+]] = bufferization.to_buffer %[[X]] read_only
// CHECK:      %[[U0:.+]] = memref.cast %[[B0]] {{.*}} to memref<*xf32>
// CHECK:      call @lowbit_observe(%[[ID0]], %[[F0]], %[[U0]])
// CHECK:      bufferization.to_buffer %[[Y]] read_only
// CHECK:      call @lowbit_observe(%[[ID1]], %[[F1]], %{{.+}})
// The same key again reuses its index.
// CHECK:      call @lowbit_observe(%[[ID0]], %[[F0]], %{{.+}})
// CHECK-NOT:  lowbit.observe
func.func @observed(%x: tensor<2x64xf32>, %y: tensor<3x64xf32>) -> tensor<2x64xf32> {
  lowbit.observe %x key("blk0.attn_in") stats <absmax, gram> : tensor<2x64xf32>
  lowbit.observe %y key("blk0.mlp_in") stats <all> : tensor<3x64xf32>
  lowbit.observe %y key("blk0.attn_in") stats <absmax, gram> : tensor<3x64xf32>
  return %x : tensor<2x64xf32>
}
