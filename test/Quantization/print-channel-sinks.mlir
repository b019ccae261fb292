// RUN: quant-opt %s --lowbit-print-channel-sinks -split-input-file -verify-diagnostics -o /dev/null

// The channel-sink analysis on small hand-written layers: what absorbs a
// transform of each group's input channels, or why nothing does.

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// A norm feeding three projections: its gamma absorbs scales, not
// permutations (the norm's input would have to be permuted too).
func.func @norm_feeds_three(%x: tensor<2x4xf32>, %ss: tensor<2xf32>) -> (tensor<2x4xf32>, tensor<2x2xf32>, tensor<2x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %gamma = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %e = tensor.empty() : tensor<2x4xf32>
  %h = linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %gamma : tensor<2x4xf32>, tensor<2xf32>, tensor<4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%in: f32, %s: f32, %g: f32, %out: f32):
    %r = math.rsqrt %s : f32
    %n = arith.mulf %in, %r : f32
    %y = arith.mulf %n, %g : f32
    linalg.yield %y : f32
  } -> tensor<2x4xf32>
  %wq = arith.constant dense<0.5> : tensor<4x4xf32>
  %q_e = tensor.empty() : tensor<2x4xf32>
  %q_z = linalg.fill ins(%zero : f32) outs(%q_e : tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-remark @+1 {{q,k,v: 4 channels -> a constant vector (4 channels), scales only}}
  %q = linalg.matmul indexing_maps = [#a, #b, #c] {lowbit.name = "q"} ins(%h, %wq : tensor<2x4xf32>, tensor<4x4xf32>) outs(%q_z : tensor<2x4xf32>) -> tensor<2x4xf32>
  %wk = arith.constant dense<0.25> : tensor<2x4xf32>
  %k_e = tensor.empty() : tensor<2x2xf32>
  %k_z = linalg.fill ins(%zero : f32) outs(%k_e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %k = linalg.matmul indexing_maps = [#a, #b, #c] {lowbit.name = "k"} ins(%h, %wk : tensor<2x4xf32>, tensor<2x4xf32>) outs(%k_z : tensor<2x2xf32>) -> tensor<2x2xf32>
  %wv = arith.constant dense<0.125> : tensor<2x4xf32>
  %v_e = tensor.empty() : tensor<2x2xf32>
  %v_z = linalg.fill ins(%zero : f32) outs(%v_e : tensor<2x2xf32>) -> tensor<2x2xf32>
  %v = linalg.matmul indexing_maps = [#a, #b, #c] {lowbit.name = "v"} ins(%h, %wv : tensor<2x4xf32>, tensor<2x4xf32>) outs(%v_z : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %q, %k, %v : tensor<2x4xf32>, tensor<2x2xf32>, tensor<2x2xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// A SwiGLU MLP: the down projection's channels come from the up
// projection's rows through silu(gate) * up, which permutes only if the
// gate's rows are permuted too.
func.func @mlp(%x: tensor<2x4xf32>, %ss: tensor<2xf32>) -> tensor<2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %gamma = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %e = tensor.empty() : tensor<2x4xf32>
  %h = linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %gamma : tensor<2x4xf32>, tensor<2xf32>, tensor<4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%in: f32, %s: f32, %g: f32, %out: f32):
    %r = math.rsqrt %s : f32
    %n = arith.mulf %in, %r : f32
    %y = arith.mulf %n, %g : f32
    linalg.yield %y : f32
  } -> tensor<2x4xf32>
  %wg = arith.constant dense<0.5> : tensor<6x4xf32>
  %g_e = tensor.empty() : tensor<2x6xf32>
  %g_z = linalg.fill ins(%zero : f32) outs(%g_e : tensor<2x6xf32>) -> tensor<2x6xf32>
  // expected-remark @+1 {{gate,up: 4 channels -> a constant vector (4 channels), scales only}}
  %g = linalg.matmul indexing_maps = [#a, #b, #c] {lowbit.name = "gate"} ins(%h, %wg : tensor<2x4xf32>, tensor<6x4xf32>) outs(%g_z : tensor<2x6xf32>) -> tensor<2x6xf32>
  %wu = arith.constant dense<0.25> : tensor<6x4xf32>
  %u_e = tensor.empty() : tensor<2x6xf32>
  %u_z = linalg.fill ins(%zero : f32) outs(%u_e : tensor<2x6xf32>) -> tensor<2x6xf32>
  %u = linalg.matmul indexing_maps = [#a, #b, #c] {lowbit.name = "up"} ins(%h, %wu : tensor<2x4xf32>, tensor<6x4xf32>) outs(%u_z : tensor<2x6xf32>) -> tensor<2x6xf32>
  %ae = tensor.empty() : tensor<2x6xf32>
  %act = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<2x6xf32>, tensor<2x6xf32>) outs(%ae : tensor<2x6xf32>) {
  ^bb0(%gi: f32, %ui: f32, %out: f32):
    %ng = arith.negf %gi : f32
    %ex = math.exp %ng : f32
    %one = arith.constant 1.0 : f32
    %den = arith.addf %one, %ex : f32
    %silu = arith.divf %gi, %den : f32
    %y = arith.mulf %silu, %ui : f32
    linalg.yield %y : f32
  } -> tensor<2x6xf32>
  %wd = arith.constant dense<0.125> : tensor<4x6xf32>
  %d_e = tensor.empty() : tensor<2x4xf32>
  %d_z = linalg.fill ins(%zero : f32) outs(%d_e : tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-remark @+1 {{down: 6 channels -> the rows of up (6 channels), scales and permutations within 1 class, with the rows of gate}}
  %d = linalg.matmul indexing_maps = [#a, #b, #c] {lowbit.name = "down"} ins(%act, %wd : tensor<2x6xf32>, tensor<4x6xf32>) outs(%d_z : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %d : tensor<2x4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// No sink: the input is a function argument.
func.func @argument(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %wq = arith.constant dense<0.5> : tensor<4x4xf32>
  %q_e = tensor.empty() : tensor<2x4xf32>
  %q_z = linalg.fill ins(%zero : f32) outs(%q_e : tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-remark @+1 {{q: 4 channels -> no sink: it is a function argument}}
  %q = linalg.matmul indexing_maps = [#a, #b, #c] {lowbit.name = "q"} ins(%x, %wq : tensor<2x4xf32>, tensor<4x4xf32>) outs(%q_z : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %q : tensor<2x4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// No sink: something other than the linear layers reads the normed value,
// which a folded transform would change.
func.func @shared_with_return(%x: tensor<2x4xf32>, %ss: tensor<2xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %gamma = arith.constant dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %e = tensor.empty() : tensor<2x4xf32>
  %h = linalg.generic {indexing_maps = [#id, #row, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %ss, %gamma : tensor<2x4xf32>, tensor<2xf32>, tensor<4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%in: f32, %s: f32, %g: f32, %out: f32):
    %r = math.rsqrt %s : f32
    %n = arith.mulf %in, %r : f32
    %y = arith.mulf %n, %g : f32
    linalg.yield %y : f32
  } -> tensor<2x4xf32>
  %wq = arith.constant dense<0.5> : tensor<4x4xf32>
  %q_e = tensor.empty() : tensor<2x4xf32>
  %q_z = linalg.fill ins(%zero : f32) outs(%q_e : tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-remark @+1 {{q: 4 channels -> no sink: 'func.return' also reads a value on the way to the sink}}
  %q = linalg.matmul indexing_maps = [#a, #b, #c] {lowbit.name = "q"} ins(%h, %wq : tensor<2x4xf32>, tensor<4x4xf32>) outs(%q_z : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %q, %h : tensor<2x4xf32>, tensor<2x4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// No sink: a residual sum is no multiple of either operand.
func.func @residual(%x: tensor<2x4xf32>, %y: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %r = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%x, %y : tensor<2x4xf32>, tensor<2x4xf32>) outs(%e : tensor<2x4xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x4xf32>
  %wq = arith.constant dense<0.5> : tensor<4x4xf32>
  %q_e = tensor.empty() : tensor<2x4xf32>
  %q_z = linalg.fill ins(%zero : f32) outs(%q_e : tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-remark @+1 {{q: 4 channels -> no sink: a linalg.generic makes it that is not a multiple of one of its operands}}
  %q = linalg.matmul indexing_maps = [#a, #b, #c] {lowbit.name = "q"} ins(%r, %wq : tensor<2x4xf32>, tensor<4x4xf32>) outs(%q_z : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %q : tensor<2x4xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#a = affine_map<(m, n, k) -> (m, k)>
#b = affine_map<(m, n, k) -> (n, k)>
#c = affine_map<(m, n, k) -> (m, n)>

// A linear layer after another one: the producer's rows take scales and
// any permutation. A layer without a name is not one of the groups.
func.func @chained(%x: tensor<2x4xf32>) -> tensor<2x4xf32> {
  %zero = arith.constant 0.0 : f32
  %wp = arith.constant dense<0.5> : tensor<4x4xf32>
  %p_e = tensor.empty() : tensor<2x4xf32>
  %p_z = linalg.fill ins(%zero : f32) outs(%p_e : tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-remark @+1 {{first: 4 channels -> no sink: it is a function argument}}
  %p = linalg.matmul indexing_maps = [#a, #b, #c] {lowbit.name = "first"} ins(%x, %wp : tensor<2x4xf32>, tensor<4x4xf32>) outs(%p_z : tensor<2x4xf32>) -> tensor<2x4xf32>
  %wq = arith.constant dense<0.25> : tensor<4x4xf32>
  %q_e = tensor.empty() : tensor<2x4xf32>
  %q_z = linalg.fill ins(%zero : f32) outs(%q_e : tensor<2x4xf32>) -> tensor<2x4xf32>
  // expected-remark @+1 {{second: 4 channels -> the rows of first (4 channels), scales and permutations within 1 class}}
  %q = linalg.matmul indexing_maps = [#a, #b, #c] {lowbit.name = "second"} ins(%p, %wq : tensor<2x4xf32>, tensor<4x4xf32>) outs(%q_z : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %q : tensor<2x4xf32>
}

