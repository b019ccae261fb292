// RUN: quant-opt %s --pass-pipeline='builtin.module(func.func(lowbit-vectorize-linear{threads=2 target=avx512-vnni}))' | FileCheck %s
// RUN: quant-opt %s --pass-pipeline='builtin.module(func.func(lowbit-vectorize-linear{threads=2 target=avx512}))' | FileCheck %s --check-prefix=FLOAT
// Numerics: the integer kernels against the float form of the same layers
// (the reference lowering: quantize, dequantize, an f32 product) on seeded
// random inputs, codes and scales. Here the kernels' byte dots take the
// generic lowering (widening multiplies), which any CPU runs;
// vectorize-linear-int8-numerics.test runs them as vpdpbusd where the CPU
// has VNNI. Integer sums are exact: the two differ by the float form's
// rounding alone.
// RUN: quant-opt %s --lowbit-to-llvm="vectorize=false" -o %t.reference.mlir
// RUN: quant-opt %s --pass-pipeline='builtin.module(func.func(lowbit-vectorize-linear{target=avx512-vnni}))' | quant-opt --lowbit-to-llvm="target=avx2" -o %t.generic.mlir
// RUN: for f in gemv_w8a8 prefill_w8a8 gemv_w8a8_per_tensor gemv_w8a8_gated not_int8; do \
// RUN:   lowbit-run compare %t.reference.mlir %t.generic.mlir --entry $f --seed 40 --tolerance 1e-5 || exit 1; \
// RUN: done | FileCheck %s --check-prefix=CLOSE
// CLOSE-COUNT-5: max relative difference:

// W8A8 layers as lowbit-quantize-activations leaves them: a per-token
// quantizer, its codes dequantized for the layer. Without VNNI the layer
// takes the float kernel on the dequantized input.
// FLOAT-LABEL: func.func @gemv_w8a8
// FLOAT: lowbit.dequantize
// FLOAT: arith.sitofp {{.*}} : vector<64xi8> to vector<64xf32>
// FLOAT-NOT: lowbit.dot_bytes

// Decode: the kernel reads the activation codes, not the floats (the
// dequantize is left without users). Four weight rows a pass share each
// input load; per step, the input's sign bits flipped (x + 128), a
// vpdpbusd per weight row into its dot, and one against bytes of ones into
// the row's code sum. Each output: (dot - 128 sum) converted once, times
// the token's scale times the channel's.
// CHECK-LABEL: func.func @gemv_w8a8
// CHECK-SAME: (%[[X:.*]]: tensor<1x128xf32>, %[[W:.*]]: tensor<64x128xi8>, %[[S:.*]]: tensor<64x1xf16>)
// CHECK: %[[Q:.*]], %[[QS:.*]] = lowbit.quantize_dynamic %[[X]] scheme<i8, per_channel>
// CHECK: %[[BUF:.*]] = bufferization.to_buffer %[[W]] read_only
// CHECK: scf.forall
// CHECK:   %[[CS:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK-DAG: %[[FLIP:.*]] = arith.constant dense<-128> : vector<64xi8>
// CHECK-DAG: %[[ONES:.*]] = arith.constant dense<1> : vector<64xi8>
// CHECK:   %[[PASS:.*]]:8 = scf.for
// CHECK:     memref.prefetch %[[BUF]]
// CHECK:     %[[WV:.*]] = vector.transfer_read %[[BUF]]{{.*}} : memref<64x128xi8>, vector<64xi8>
// CHECK-COUNT-3: vector.transfer_read %[[BUF]]
// CHECK:     %[[XV:.*]] = vector.transfer_read %[[Q]]{{.*}} : tensor<1x128xi8>, vector<64xi8>
// CHECK:     %[[XU:.*]] = arith.xori %[[XV]], %[[FLIP]] : vector<64xi8>
// CHECK:     lowbit.dot_bytes %{{.*}}, %[[XU]], %[[WV]] : vector<16xi32>, vector<64xi8>
// CHECK-COUNT-3: lowbit.dot_bytes %{{.*}}, %[[XU]]
// CHECK:     lowbit.dot_bytes %{{.*}}, %[[ONES]], %[[WV]]
// CHECK:   %[[SUM:.*]] = vector.reduction <add>, %[[PASS]]#4 : vector<16xi32> into i32
// CHECK:   %[[OFF:.*]] = arith.shli %[[SUM]], %{{.*}} : i32
// CHECK:   %[[XS:.*]] = tensor.extract %[[QS]]
// CHECK:   %[[DOT:.*]] = vector.reduction <add>, %[[PASS]]#0 : vector<16xi32> into i32
// CHECK:   %[[EXACT:.*]] = arith.subi %[[DOT]], %[[OFF]] : i32
// CHECK:   %[[F:.*]] = arith.sitofp %[[EXACT]] : i32 to f32
// CHECK:   %[[BOTH:.*]] = arith.mulf %[[XS]], %[[CS]] : f32
// CHECK:   arith.mulf %[[F]], %[[BOTH]] : f32
// CHECK-NOT: lowbit.linear
func.func @gemv_w8a8(%x: tensor<1x128xf32>, %w: tensor<64x128xi8>, %s: tensor<64x1xf16>) -> tensor<1x64xf32> {
  %q, %qs = lowbit.quantize_dynamic %x scheme<i8, per_channel>
      : tensor<1x128xf32> -> (tensor<1x128xi8>, tensor<1x1xf32>)
  %xq = lowbit.dequantize %q scales(%qs) scheme<i8, per_channel>
      : (tensor<1x128xi8>, tensor<1x1xf32>) -> tensor<1x128xf32>
  %y = lowbit.linear %xq, %w scales(%s) scheme<i8, per_channel, scale = f16>
      : (tensor<1x128xf32>, tensor<64x128xi8>, tensor<64x1xf16>) -> tensor<1x64xf32>
  return %y : tensor<1x64xf32>
}

// Prefill, 10 rows: each pass of 4 weight rows first sums them (4 sum
// chains, no input), then runs two tiles of 4 input rows in a loop (16 dot
// chains) and the last 2 rows after it.
// CHECK-LABEL: func.func @prefill_w8a8
// CHECK: scf.forall
// CHECK:   %[[SUMS:.*]]:4 = scf.for
// CHECK-COUNT-4: lowbit.dot_bytes
// CHECK-NOT: lowbit.dot_bytes
// CHECK:   scf.yield
// CHECK:   scf.for %{{.*}} = %{{.*}} to %c8 step %c4{{.*}} -> (tensor<10x4xf32>)
// CHECK:     scf.for {{.*}} -> (vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>)
// CHECK-COUNT-16: lowbit.dot_bytes
// CHECK:   scf.for {{.*}} -> (vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>, vector<16xi32>)
// CHECK-COUNT-8: lowbit.dot_bytes
func.func @prefill_w8a8(%x: tensor<10x192xf32>, %w: tensor<32x192xi8>, %s: tensor<32x1xf32>) -> tensor<10x32xf32> {
  %q, %qs = lowbit.quantize_dynamic %x scheme<i8, per_channel>
      : tensor<10x192xf32> -> (tensor<10x192xi8>, tensor<10x1xf32>)
  %xq = lowbit.dequantize %q scales(%qs) scheme<i8, per_channel>
      : (tensor<10x192xi8>, tensor<10x1xf32>) -> tensor<10x192xf32>
  %y = lowbit.linear %xq, %w scales(%s) scheme<i8, per_channel>
      : (tensor<10x192xf32>, tensor<32x192xi8>, tensor<32x1xf32>) -> tensor<10x32xf32>
  return %y : tensor<10x32xf32>
}

// One scale for the whole input (static or per-tensor quantization): both
// rows read element [0, 0].
// CHECK-LABEL: func.func @gemv_w8a8_per_tensor
// CHECK: %[[Q:.*]], %[[QS:.*]] = lowbit.quantize_dynamic %{{.*}} scheme<i8, per_tensor>
// CHECK: scf.forall
// CHECK-COUNT-2: tensor.extract %[[QS]][%c0{{[_0-9]*}}, %c0{{[_0-9]*}}] : tensor<1x1xf32>
func.func @gemv_w8a8_per_tensor(%x: tensor<2x64xf32>, %w: tensor<16x64xi8>, %s: tensor<16x1xf32>) -> tensor<2x16xf32> {
  %q, %qs = lowbit.quantize_dynamic %x scheme<i8, per_tensor>
      : tensor<2x64xf32> -> (tensor<2x64xi8>, tensor<1x1xf32>)
  %xq = lowbit.dequantize %q scales(%qs) scheme<i8, per_tensor>
      : (tensor<2x64xi8>, tensor<1x1xf32>) -> tensor<2x64xf32>
  %y = lowbit.linear %xq, %w scales(%s) scheme<i8, per_channel>
      : (tensor<2x64xf32>, tensor<16x64xi8>, tensor<16x1xf32>) -> tensor<2x16xf32>
  return %y : tensor<2x16xf32>
}

// A gated W8A8 layer (rows in (gate, up) pairs): the integer tile, then the
// SiLU product on registers.
// CHECK-LABEL: func.func @gemv_w8a8_gated
// CHECK: scf.forall
// CHECK:   lowbit.dot_bytes
// CHECK:   vector.shuffle
// CHECK:   math.exp
// CHECK:   tensor.parallel_insert_slice %{{.*}} into %{{.*}} : tensor<1x4xf32> into tensor<1x32xf32>
func.func @gemv_w8a8_gated(%x: tensor<1x64xf32>, %w: tensor<64x64xi8>, %s: tensor<64x1xf32>) -> tensor<1x32xf32> {
  %q, %qs = lowbit.quantize_dynamic %x scheme<i8, per_channel>
      : tensor<1x64xf32> -> (tensor<1x64xi8>, tensor<1x1xf32>)
  %xq = lowbit.dequantize %q scales(%qs) scheme<i8, per_channel>
      : (tensor<1x64xi8>, tensor<1x1xf32>) -> tensor<1x64xf32>
  %y = lowbit.linear %xq, %w scales(%s) scheme<i8, per_channel> gated<silu>
      : (tensor<1x64xf32>, tensor<64x64xi8>, tensor<64x1xf32>) -> tensor<1x32xf32>
  return %y : tensor<1x32xf32>
}

// Left to the float kernels: K not a multiple of 64, weights in groups,
// and 4-bit activations.
// CHECK-LABEL: func.func @not_int8
// CHECK-NOT: lowbit.dot_bytes
// CHECK: return
func.func @not_int8(%x: tensor<1x96xf32>, %w: tensor<16x96xi8>, %s: tensor<16x1xf32>,
                    %x2: tensor<1x128xf32>, %wg: tensor<16x128xi8>, %sg: tensor<16x2xf32>)
    -> (tensor<1x16xf32>, tensor<1x16xf32>, tensor<1x16xf32>) {
  %q, %qs = lowbit.quantize_dynamic %x scheme<i8, per_channel>
      : tensor<1x96xf32> -> (tensor<1x96xi8>, tensor<1x1xf32>)
  %xq = lowbit.dequantize %q scales(%qs) scheme<i8, per_channel>
      : (tensor<1x96xi8>, tensor<1x1xf32>) -> tensor<1x96xf32>
  %odd = lowbit.linear %xq, %w scales(%s) scheme<i8, per_channel>
      : (tensor<1x96xf32>, tensor<16x96xi8>, tensor<16x1xf32>) -> tensor<1x16xf32>
  %q2, %qs2 = lowbit.quantize_dynamic %x2 scheme<i8, per_channel>
      : tensor<1x128xf32> -> (tensor<1x128xi8>, tensor<1x1xf32>)
  %xq2 = lowbit.dequantize %q2 scales(%qs2) scheme<i8, per_channel>
      : (tensor<1x128xi8>, tensor<1x1xf32>) -> tensor<1x128xf32>
  %grouped = lowbit.linear %xq2, %wg scales(%sg) scheme<i8, per_group<64>>
      : (tensor<1x128xf32>, tensor<16x128xi8>, tensor<16x2xf32>) -> tensor<1x16xf32>
  %q4, %qs4 = lowbit.quantize_dynamic %x2 scheme<i4, per_channel>
      : tensor<1x128xf32> -> (tensor<1x64xi8>, tensor<1x1xf32>)
  %xq4 = lowbit.dequantize %q4 scales(%qs4) scheme<i4, per_channel>
      : (tensor<1x64xi8>, tensor<1x1xf32>) -> tensor<1x128xf32>
  %w4a = lowbit.linear %xq4, %wg scales(%s) scheme<i8, per_channel>
      : (tensor<1x128xf32>, tensor<16x128xi8>, tensor<16x1xf32>) -> tensor<1x16xf32>
  return %odd, %grouped, %w4a : tensor<1x16xf32>, tensor<1x16xf32>, tensor<1x16xf32>
}
