// RUN: quant-opt %s --lowbit-externalize-weights="min-bytes=64" | FileCheck %s
// RUN: quant-opt %s --lowbit-externalize-weights | FileCheck %s --check-prefix=DEFAULT

// A 128-byte weight moves out into an external constant global, read back
// through a restrict to_tensor; the module records which blob it stands for.
// Both uses of the blob share one global; the 8-byte constant stays inline.

// CHECK: module attributes {lowbit.external_weights = {__lowbit_weight_blk_0_attn_q = dense_resource<blk.0.attn_q> : tensor<4x8xf32>}}
// CHECK: memref.global constant @__lowbit_weight_blk_0_attn_q : memref<4x8xf32>{{$}}
// CHECK-NOT: memref.global

// CHECK-LABEL: func.func @linear
// CHECK: %[[M:.*]] = memref.get_global @__lowbit_weight_blk_0_attn_q : memref<4x8xf32>
// CHECK: %[[W:.*]] = bufferization.to_tensor %[[M]] restrict : memref<4x8xf32> to tensor<4x8xf32>
// CHECK: linalg.matmul {{.*}} ins(%{{.*}}, %[[W]] :
func.func @linear(%x: tensor<2x8xf32>) -> tensor<2x4xf32> {
  %w = arith.constant dense_resource<blk.0.attn_q> : tensor<4x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %acc = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%x, %w : tensor<2x8xf32>, tensor<4x8xf32>)
      outs(%acc : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// CHECK-LABEL: func.func @shared
// CHECK: memref.get_global @__lowbit_weight_blk_0_attn_q : memref<4x8xf32>
// CHECK: arith.constant dense_resource<bias> : tensor<2xf32>
func.func @shared() -> (tensor<4x8xf32>, tensor<2xf32>) {
  %w = arith.constant dense_resource<blk.0.attn_q> : tensor<4x8xf32>
  %b = arith.constant dense_resource<bias> : tensor<2xf32>
  return %w, %b : tensor<4x8xf32>, tensor<2xf32>
}

// Under the default threshold of 4 KiB everything stays inline.
// DEFAULT-NOT: lowbit.external_weights
// DEFAULT-NOT: memref.global
// DEFAULT: arith.constant dense_resource<blk.0.attn_q> : tensor<4x8xf32>

{-#
  dialect_resources: {
    builtin: {
      blk.0.attn_q: "0x04000000000040C0000030C0000020C0000010C0000000C00000E0BF0000C0BF0000A0BF000080BF000040BF000000BF000080BE000000000000803E0000003F0000403F0000803F0000A03F0000C03F0000E03F000000400000104000002040000030400000404000005040000060400000704000008040000088400000904000009840",
      bias: "0x040000000000C03F000000C0"
    }
  }
#-}
