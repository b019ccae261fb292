// RUN: quant-opt %s -split-input-file -verify-diagnostics --lowbit-quantize-weights="format=i8 scale-type=f32" | FileCheck %s

// The forms of linear layers the pass meets: dense literals are quantized
// like blobs, a non-zero accumulator is added back, and layers it cannot
// quantize stay in float with a remark.

#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
       affine_map<(m, n, k) -> (m, n)>]

// A dense literal weight, small enough to check the bytes by hand: row 0
// has absmax 1 (scale 1/127: codes 127, -127, 32, -95, 0, 13, 76, 114),
// row 1 absmax 2 (scale 2/127: codes 127, 0, .., 0, -127).
// CHECK-LABEL: func.func @dense_weight
// CHECK-DAG:   %[[C:.*]] = arith.constant dense_resource<blk.0.ffn_up.codes> : tensor<2x8xi8>
// CHECK-DAG:   %[[S:.*]] = arith.constant dense_resource<blk.0.ffn_up.scales> : tensor<2x1xf32>
// CHECK:       %[[Y:.*]] = lowbit.linear %arg0, %[[C]] scales(%[[S]]) scheme<i8, per_channel> {lowbit.name = "blk.0.ffn_up"}
// CHECK-NOT:   linalg.matmul
// CHECK:       return %[[Y]]
// CHECK:       blk.0.ffn_up.codes: "0x010000007F8120A1000D4C727F00000000000081"
// CHECK:       blk.0.ffn_up.scales: "0x040000000402013C0402813C"
func.func @dense_weight(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, -1.0, 0.25, -0.75, 0.0, 0.1, 0.6, 0.9],
                             [2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -2.0]]> : tensor<2x8xf32>
  %zero = arith.constant dense<0.0> : tensor<3x2xf32>
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<3x8xf32>, tensor<2x8xf32>)
      outs(%zero : tensor<3x2xf32>) {lowbit.name = "blk.0.ffn_up"} -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
       affine_map<(m, n, k) -> (m, n)>]

// A matmul that accumulates into a live tensor keeps doing so.
// CHECK-LABEL: func.func @accumulate
// CHECK-SAME:  (%[[X:.*]]: tensor<3x8xf32>, %[[ACC:.*]]: tensor<3x2xf32>)
// CHECK:       %[[Y:.*]] = lowbit.linear %[[X]]
// CHECK:       %[[SUM:.*]] = linalg.add ins(%[[Y]], %[[ACC]] : tensor<3x2xf32>, tensor<3x2xf32>) outs(%[[ACC]] : tensor<3x2xf32>)
// CHECK:       return %[[SUM]]
func.func @accumulate(%x: tensor<3x8xf32>, %acc: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<[[1.0, -1.0, 0.25, -0.75, 0.0, 0.1, 0.6, 0.9],
                             [2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -2.0]]> : tensor<2x8xf32>
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<3x8xf32>, tensor<2x8xf32>)
      outs(%acc : tensor<3x2xf32>) {lowbit.name = "blk.0.ffn_up"} -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
       affine_map<(m, n, k) -> (m, n)>]

// Weights that are not constants (a function argument) stay in float.
// CHECK-LABEL: func.func @not_constant
// CHECK:       linalg.matmul
// CHECK-NOT:   lowbit.linear
func.func @not_constant(%x: tensor<3x8xf32>, %w: tensor<2x8xf32>) -> tensor<3x2xf32> {
  %zero = arith.constant dense<0.0> : tensor<3x2xf32>
  // expected-remark @+1 {{layer 'blk.0.ffn_up' left in float: the weight is not a constant}}
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<3x8xf32>, tensor<2x8xf32>)
      outs(%zero : tensor<3x2xf32>) {lowbit.name = "blk.0.ffn_up"} -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

// A plain matmul, A[m, k] * B[k, n], is not the form of a linear layer.
// CHECK-LABEL: func.func @not_transposed
// CHECK:       linalg.matmul
// CHECK-NOT:   lowbit.linear
func.func @not_transposed(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense<1.0> : tensor<8x2xf32>
  %zero = arith.constant dense<0.0> : tensor<3x2xf32>
  // expected-remark @+1 {{layer 'blk.0.ffn_up' left in float: not of the form A[m, k] * W[n, k]}}
  %y = linalg.matmul {lowbit.name = "blk.0.ffn_up"}
      ins(%x, %w : tensor<3x8xf32>, tensor<8x2xf32>)
      outs(%zero : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

// -----

#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
       affine_map<(m, n, k) -> (m, n)>]

// f16 layers stay in float; so do matmuls without a layer name, silently.
// CHECK-LABEL: func.func @f16_and_unnamed
// CHECK-COUNT-2: linalg.matmul
// CHECK-NOT:   lowbit.linear
func.func @f16_and_unnamed(%x: tensor<3x8xf16>, %x32: tensor<3x8xf32>) -> (tensor<3x2xf16>, tensor<3x2xf32>) {
  %w = arith.constant dense<1.0> : tensor<2x8xf16>
  %zero = arith.constant dense<0.0> : tensor<3x2xf16>
  // expected-remark @+1 {{layer 'blk.0.ffn_up' left in float: expected f32 tensors and a weight of static shape}}
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<3x8xf16>, tensor<2x8xf16>)
      outs(%zero : tensor<3x2xf16>) {lowbit.name = "blk.0.ffn_up"} -> tensor<3x2xf16>
  %w32 = arith.constant dense<1.0> : tensor<2x8xf32>
  %zero32 = arith.constant dense<0.0> : tensor<3x2xf32>
  %u = linalg.matmul indexing_maps = #tB
      ins(%x32, %w32 : tensor<3x8xf32>, tensor<2x8xf32>)
      outs(%zero32 : tensor<3x2xf32>) -> tensor<3x2xf32>
  return %y, %u : tensor<3x2xf16>, tensor<3x2xf32>
}

// -----

#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
       affine_map<(m, n, k) -> (m, n)>]

// A model has an entry point per token count, each using the same weights:
// each layer is quantized once and its blobs are shared.
// CHECK-LABEL: func.func @forward_1
// CHECK:       arith.constant dense_resource<blk.0.ffn_up.codes> : tensor<2x8xi8>
// CHECK:       lowbit.linear
// CHECK-LABEL: func.func @forward_3
// CHECK:       arith.constant dense_resource<blk.0.ffn_up.codes> : tensor<2x8xi8>
// CHECK:       lowbit.linear
// CHECK:       dialect_resources
// CHECK-COUNT-1: blk.0.ffn_up.codes
// CHECK-NOT:   blk.0.ffn_up.codes
func.func @forward_1(%x: tensor<1x8xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense_resource<blk.0.ffn_up> : tensor<2x8xf32>
  %zero = arith.constant dense<0.0> : tensor<1x2xf32>
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<1x8xf32>, tensor<2x8xf32>)
      outs(%zero : tensor<1x2xf32>) {lowbit.name = "blk.0.ffn_up"} -> tensor<1x2xf32>
  return %y : tensor<1x2xf32>
}
func.func @forward_3(%x: tensor<3x8xf32>) -> tensor<3x2xf32> {
  %w = arith.constant dense_resource<blk.0.ffn_up> : tensor<2x8xf32>
  %zero = arith.constant dense<0.0> : tensor<3x2xf32>
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<3x8xf32>, tensor<2x8xf32>)
      outs(%zero : tensor<3x2xf32>) {lowbit.name = "blk.0.ffn_up"} -> tensor<3x2xf32>
  return %y : tensor<3x2xf32>
}

{-#
  dialect_resources: {
    builtin: {
      blk.0.ffn_up: "0x040000000000803F000080BF0000803E000040BF00000000CDCCCC3D9A99193F6666663F00000040000000000000000000000000000000000000000000000000000000C0"
    }
  }
#-}

// -----

// A layer's own scheme (lowbit.weight_scheme, from a mixed-precision split)
// wins over the pass's options; its name, input transform and statistics
// key carry over to the lowbit.linear.
#tB = [affine_map<(m, n, k) -> (m, k)>, affine_map<(m, n, k) -> (n, k)>,
       affine_map<(m, n, k) -> (m, n)>]
// CHECK-LABEL: func.func @own_scheme
// CHECK: lowbit.linear {{.*}} scheme<i4, per_channel, scale = f16> {lowbit.input_transform = {perm = dense<[1, 0]> : tensor<2xi64>}, lowbit.name = "blk.0.attn_q.salient", lowbit.stats_key = "blk.0.attn_q"}
// CHECK: lowbit.linear {{.*}} scheme<i8, per_channel> {lowbit.name = "blk.0.attn_k"}
func.func @own_scheme(%x: tensor<1x2xf32>) -> (tensor<1x2xf32>, tensor<1x2xf32>) {
  %w = arith.constant dense<[[0.5, -1.0], [2.0, 0.25]]> : tensor<2x2xf32>
  %v = arith.constant dense<[[1.5, -0.5], [0.75, 1.0]]> : tensor<2x2xf32>
  %zero = arith.constant dense<0.0> : tensor<1x2xf32>
  %y = linalg.matmul indexing_maps = #tB
      ins(%x, %w : tensor<1x2xf32>, tensor<2x2xf32>)
      outs(%zero : tensor<1x2xf32>) {lowbit.name = "blk.0.attn_q.salient", lowbit.stats_key = "blk.0.attn_q",
        lowbit.weight_scheme = #lowbit.scheme<i4, per_channel, scale = f16>,
        lowbit.input_transform = {perm = dense<[1, 0]> : tensor<2xi64>}} -> tensor<1x2xf32>
  %z = linalg.matmul indexing_maps = #tB
      ins(%x, %v : tensor<1x2xf32>, tensor<2x2xf32>)
      outs(%zero : tensor<1x2xf32>) {lowbit.name = "blk.0.attn_k"} -> tensor<1x2xf32>
  return %y, %z : tensor<1x2xf32>, tensor<1x2xf32>
}
