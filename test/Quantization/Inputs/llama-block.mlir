// One Llama block with grouped-query attention (2 query heads share 1 KV
// head), in the form the model importers emit: RMSNorm feeding q, k and v,
// a KV cache written in place, per-KV-head attention products, the output
// projection, and a SwiGLU MLP. Small dense weights, each norm with one
// outlier channel. The cache holds as many positions as the block gets
// tokens, so a call at position 0 (Inputs/position-0.npy; %pos comes first
// so that tests can pass it from a file) overwrites all of it.

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
#mm_a = affine_map<(m, n, k) -> (m, k)>
#mm_b = affine_map<(m, n, k) -> (n, k)>
#mm_c = affine_map<(m, n, k) -> (m, n)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#red3 = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @block(%pos: tensor<1xi32>, %x: tensor<2x8xf32>,
    %kc: tensor<1x1x2x4xf32> {bufferization.writable = true},
    %vc: tensor<1x1x4x2xf32> {bufferization.writable = true}) -> tensor<2x8xf32> {
  %zero = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  %p32 = tensor.extract %pos[%c0] : tensor<1xi32>
  %p = arith.index_cast %p32 : i32 to index
  %h_e = tensor.empty() : tensor<2xf32>
  %h_z = linalg.fill ins(%zero : f32) outs(%h_e : tensor<2xf32>) -> tensor<2xf32>
  %h_ss = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<2x8xf32>) outs(%h_z : tensor<2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  } -> tensor<2xf32>
  %h_gamma = arith.constant dense<[0.9232, 1.1534, 6.0000, 0.9055, 0.7210, 0.9360, 1.3336, 1.1272]> : tensor<8xf32>
  %h_o = tensor.empty() : tensor<2x8xf32>
  %h = linalg.generic {indexing_maps = [#id2, #row, #col, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %h_ss, %h_gamma : tensor<2x8xf32>, tensor<2xf32>, tensor<8xf32>) outs(%h_o : tensor<2x8xf32>) {
  ^bb0(%a: f32, %ss: f32, %g: f32, %out: f32):
    %inv_d = arith.constant 0.125 : f32
    %mean = arith.mulf %ss, %inv_d : f32
    %eps = arith.constant 1.0e-05 : f32
    %sh = arith.addf %mean, %eps : f32
    %r = math.rsqrt %sh : f32
    %n = arith.mulf %a, %r : f32
    %y = arith.mulf %n, %g : f32
    linalg.yield %y : f32
  } -> tensor<2x8xf32>
  %q_w = arith.constant dense<[[0.5184, 0.1245, 0.1974, 0.0927, -0.8330, 0.4276, 0.2532, 0.2494], [-0.8457, -0.8719, -0.4448, -0.2341, 0.1527, -0.0230, 0.2605, -0.3211], [0.1544, 0.1971, -0.3306, 0.8588, 0.2783, 0.5985, -0.3102, -0.3698], [-0.1720, -0.0532, 0.3160, 0.1242, -0.2237, -0.4785, -0.2603, 0.6105], [-0.4040, 0.1224, 0.2133, -0.7449, 0.0242, 0.6531, -1.0072, -0.1608], [-0.0531, -0.4086, 0.2487, -0.0311, -0.7323, 0.4139, 0.3347, 0.4729], [0.7203, 0.1811, 0.0596, -0.6496, 0.3077, -0.3059, -0.2264, -0.6324], [-0.4838, -0.2656, 0.6444, -1.0159, -0.7289, 0.1197, 0.7217, 0.2892]]> : tensor<8x8xf32>
  %q_e = tensor.empty() : tensor<2x8xf32>
  %q_z = linalg.fill ins(%zero : f32) outs(%q_e : tensor<2x8xf32>) -> tensor<2x8xf32>
  %q = linalg.matmul indexing_maps = [#mm_a, #mm_b, #mm_c] {lowbit.name = "blk.0.attn_q"}
      ins(%h, %q_w : tensor<2x8xf32>, tensor<8x8xf32>) outs(%q_z : tensor<2x8xf32>) -> tensor<2x8xf32>
  %k_w = arith.constant dense<[[-0.9500, -1.2591, 0.1787, -0.3681, -0.5599, 0.4887, 0.5509, 0.0786], [0.1229, 0.2172, 0.7970, 0.3095, 0.2593, 0.2739, -0.7842, 0.6409], [0.4776, 0.2648, -0.9869, -0.3168, 0.4212, -0.9056, -0.0920, 0.5098], [-0.6556, 0.8051, 0.2760, -0.0751, 0.1624, 0.3249, 0.0602, 0.5728]]> : tensor<4x8xf32>
  %k_e = tensor.empty() : tensor<2x4xf32>
  %k_z = linalg.fill ins(%zero : f32) outs(%k_e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %k = linalg.matmul indexing_maps = [#mm_a, #mm_b, #mm_c] {lowbit.name = "blk.0.attn_k"}
      ins(%h, %k_w : tensor<2x8xf32>, tensor<4x8xf32>) outs(%k_z : tensor<2x4xf32>) -> tensor<2x4xf32>
  %v_w = arith.constant dense<[[-0.3308, -0.2074, 0.5208, 0.0134, -0.4402, 0.4732, 0.7327, -0.2224], [-0.6900, -0.0674, -0.0745, -0.1490, 0.7024, -0.5135, 0.6303, -0.6342], [-0.3935, 0.3158, 0.5643, 0.4295, 0.1726, 0.0712, 0.0762, 0.2876], [-0.0881, 0.1387, 0.2864, 0.0004, 0.3820, 0.2829, 1.0053, 0.1625]]> : tensor<4x8xf32>
  %v_e = tensor.empty() : tensor<2x4xf32>
  %v_z = linalg.fill ins(%zero : f32) outs(%v_e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %v = linalg.matmul indexing_maps = [#mm_a, #mm_b, #mm_c] {lowbit.name = "blk.0.attn_v"}
      ins(%h, %v_w : tensor<2x8xf32>, tensor<4x8xf32>) outs(%v_z : tensor<2x4xf32>) -> tensor<2x4xf32>
  // The KV cache: keys [L, KV, S, D], values transposed [L, KV, D, S].
  %k3 = tensor.expand_shape %k [[0], [1, 2]] output_shape [2, 1, 4] : tensor<2x4xf32> into tensor<2x1x4xf32>
  %kt_e = tensor.empty() : tensor<1x2x4xf32>
  %kt = linalg.transpose ins(%k3 : tensor<2x1x4xf32>) outs(%kt_e : tensor<1x2x4xf32>) permutation = [1, 0, 2]
  %kc1 = tensor.insert_slice %kt into %kc[0, 0, %p, 0] [1, 1, 2, 4] [1, 1, 1, 1] : tensor<1x2x4xf32> into tensor<1x1x2x4xf32>
  %v3 = tensor.expand_shape %v [[0], [1, 2]] output_shape [2, 1, 4] : tensor<2x4xf32> into tensor<2x1x4xf32>
  %vt_e = tensor.empty() : tensor<1x4x2xf32>
  %vt = linalg.transpose ins(%v3 : tensor<2x1x4xf32>) outs(%vt_e : tensor<1x4x2xf32>) permutation = [1, 2, 0]
  %vc1 = tensor.insert_slice %vt into %vc[0, 0, 0, %p] [1, 1, 4, 2] [1, 1, 1, 1] : tensor<1x4x2xf32> into tensor<1x1x4x2xf32>
  // Queries grouped by their KV head: [T, H * D] -> [KV, T * g, D].
  %q4 = tensor.expand_shape %q [[0], [1, 2, 3]] output_shape [2, 1, 2, 4] : tensor<2x8xf32> into tensor<2x1x2x4xf32>
  %qt_e = tensor.empty() : tensor<1x2x2x4xf32>
  %qt = linalg.transpose ins(%q4 : tensor<2x1x2x4xf32>) outs(%qt_e : tensor<1x2x2x4xf32>) permutation = [1, 0, 2, 3]
  %qg = tensor.collapse_shape %qt [[0], [1, 2], [3]] : tensor<1x2x2x4xf32> into tensor<1x4x4xf32>
  // Scores per KV head.
  %sc_e = tensor.empty() : tensor<1x4x2xf32>
  %sc_z = linalg.fill ins(%zero : f32) outs(%sc_e : tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %qa = tensor.extract_slice %qg[0, 0, 0] [1, 4, 4] [1, 1, 1] : tensor<1x4x4xf32> to tensor<4x4xf32>
  %sa = tensor.extract_slice %sc_z[0, 0, 0] [1, 4, 2] [1, 1, 1] : tensor<1x4x2xf32> to tensor<4x2xf32>
  %kh = tensor.extract_slice %kc1[0, 0, 0, 0] [1, 1, 2, 4] [1, 1, 1, 1] : tensor<1x1x2x4xf32> to tensor<2x4xf32>
  %s0 = linalg.matmul indexing_maps = [#mm_a, #mm_b, #mm_c] ins(%qa, %kh : tensor<4x4xf32>, tensor<2x4xf32>) outs(%sa : tensor<4x2xf32>) -> tensor<4x2xf32>
  %scores = tensor.insert_slice %s0 into %sc_z[0, 0, 0] [1, 4, 2] [1, 1, 1] : tensor<4x2xf32> into tensor<1x4x2xf32>
  // Softmax over the cache positions.
  %ex_e = tensor.empty() : tensor<1x4x2xf32>
  %ex = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%scores : tensor<1x4x2xf32>) outs(%ex_e : tensor<1x4x2xf32>) {
  ^bb0(%a: f32, %out: f32):
    %scale = arith.constant 0.5 : f32
    %t = arith.mulf %a, %scale : f32
    %e = math.exp %t : f32
    linalg.yield %e : f32
  } -> tensor<1x4x2xf32>
  %sum_e = tensor.empty() : tensor<1x4xf32>
  %sum_z = linalg.fill ins(%zero : f32) outs(%sum_e : tensor<1x4xf32>) -> tensor<1x4xf32>
  %sum = linalg.generic {indexing_maps = [#id3, #red3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%ex : tensor<1x4x2xf32>) outs(%sum_z : tensor<1x4xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %s = arith.addf %a, %acc : f32
    linalg.yield %s : f32
  } -> tensor<1x4xf32>
  %pr_e = tensor.empty() : tensor<1x4x2xf32>
  %probs = linalg.generic {indexing_maps = [#id3, #red3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ex, %sum : tensor<1x4x2xf32>, tensor<1x4xf32>) outs(%pr_e : tensor<1x4x2xf32>) {
  ^bb0(%a: f32, %s: f32, %out: f32):
    %d = arith.divf %a, %s : f32
    linalg.yield %d : f32
  } -> tensor<1x4x2xf32>
  // P V per KV head, then back to [T, H * D].
  %at_e = tensor.empty() : tensor<1x4x4xf32>
  %at_z = linalg.fill ins(%zero : f32) outs(%at_e : tensor<1x4x4xf32>) -> tensor<1x4x4xf32>
  %pa = tensor.extract_slice %probs[0, 0, 0] [1, 4, 2] [1, 1, 1] : tensor<1x4x2xf32> to tensor<4x2xf32>
  %aa = tensor.extract_slice %at_z[0, 0, 0] [1, 4, 4] [1, 1, 1] : tensor<1x4x4xf32> to tensor<4x4xf32>
  %vh = tensor.extract_slice %vc1[0, 0, 0, 0] [1, 1, 4, 2] [1, 1, 1, 1] : tensor<1x1x4x2xf32> to tensor<4x2xf32>
  %o0 = linalg.matmul indexing_maps = [#mm_a, #mm_b, #mm_c] ins(%pa, %vh : tensor<4x2xf32>, tensor<4x2xf32>) outs(%aa : tensor<4x4xf32>) -> tensor<4x4xf32>
  %att = tensor.insert_slice %o0 into %at_z[0, 0, 0] [1, 4, 4] [1, 1, 1] : tensor<4x4xf32> into tensor<1x4x4xf32>
  %att4 = tensor.expand_shape %att [[0], [1, 2], [3]] output_shape [1, 2, 2, 4] : tensor<1x4x4xf32> into tensor<1x2x2x4xf32>
  %heads_e = tensor.empty() : tensor<2x1x2x4xf32>
  %heads = linalg.transpose ins(%att4 : tensor<1x2x2x4xf32>) outs(%heads_e : tensor<2x1x2x4xf32>) permutation = [1, 0, 2, 3]
  %attended = tensor.collapse_shape %heads [[0], [1, 2, 3]] : tensor<2x1x2x4xf32> into tensor<2x8xf32>
  %o_w = arith.constant dense<[[-0.2138, -0.1863, -0.0066, 0.4619, -0.1683, 0.1929, 0.9187, -1.2823], [-0.5620, 0.1219, 0.1992, 0.1193, -0.2156, 0.3276, 0.1411, -0.2610], [1.2150, 0.1776, -0.2771, -0.0497, -0.1128, -0.0314, -1.3640, -0.2434], [0.5043, -0.5843, -0.0334, 0.4768, 0.4281, 0.7455, -0.8507, -0.1767], [-0.1705, 0.3116, 0.5459, -1.3414, 0.5443, -0.7238, 0.3416, -0.7461], [0.0879, 0.5973, -0.0747, 0.0956, 0.3986, 0.0707, -0.0442, 0.7666], [0.5242, -0.1469, 1.3727, -0.5734, 0.4573, -0.1329, 0.0662, 0.3525], [0.1111, 0.3193, -0.7637, -0.7548, 0.3075, -0.4816, -0.5133, -0.7351]]> : tensor<8x8xf32>
  %o_e = tensor.empty() : tensor<2x8xf32>
  %o_z = linalg.fill ins(%zero : f32) outs(%o_e : tensor<2x8xf32>) -> tensor<2x8xf32>
  %o = linalg.matmul indexing_maps = [#mm_a, #mm_b, #mm_c] {lowbit.name = "blk.0.attn_output"}
      ins(%attended, %o_w : tensor<2x8xf32>, tensor<8x8xf32>) outs(%o_z : tensor<2x8xf32>) -> tensor<2x8xf32>
  %x1_e = tensor.empty() : tensor<2x8xf32>
  %x1 = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %o : tensor<2x8xf32>, tensor<2x8xf32>) outs(%x1_e : tensor<2x8xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x8xf32>
  %h2_e = tensor.empty() : tensor<2xf32>
  %h2_z = linalg.fill ins(%zero : f32) outs(%h2_e : tensor<2xf32>) -> tensor<2xf32>
  %h2_ss = linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x1 : tensor<2x8xf32>) outs(%h2_z : tensor<2xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %sq = arith.mulf %a, %a : f32
    %s = arith.addf %sq, %acc : f32
    linalg.yield %s : f32
  } -> tensor<2xf32>
  %h2_gamma = arith.constant dense<[1.3799, 1.2240, 1.4419, 0.7187, 1.0003, 6.0000, 1.2298, 1.4768]> : tensor<8xf32>
  %h2_o = tensor.empty() : tensor<2x8xf32>
  %h2 = linalg.generic {indexing_maps = [#id2, #row, #col, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x1, %h2_ss, %h2_gamma : tensor<2x8xf32>, tensor<2xf32>, tensor<8xf32>) outs(%h2_o : tensor<2x8xf32>) {
  ^bb0(%a: f32, %ss: f32, %g: f32, %out: f32):
    %inv_d = arith.constant 0.125 : f32
    %mean = arith.mulf %ss, %inv_d : f32
    %eps = arith.constant 1.0e-05 : f32
    %sh = arith.addf %mean, %eps : f32
    %r = math.rsqrt %sh : f32
    %n = arith.mulf %a, %r : f32
    %y = arith.mulf %n, %g : f32
    linalg.yield %y : f32
  } -> tensor<2x8xf32>
  %gate_w = arith.constant dense<[[-0.4451, 0.7802, 0.4940, -0.0889, -0.9860, 0.7033, -0.0481, -0.3014], [0.1998, 0.2050, 0.7490, -0.5101, 0.5681, 0.7437, 0.7261, -0.0903], [-0.3720, 0.5093, 0.0576, 0.0621, 0.7121, -0.1317, -1.1484, -0.1936], [-0.9270, 0.4094, 0.1585, -0.3056, -0.0048, 0.4163, 0.0395, 0.6633], [-0.0306, 0.5202, 0.7457, 0.8049, -0.3359, 0.4400, -0.9380, -0.5417], [-0.9814, 0.5345, -0.6160, -0.0064, -0.0961, -0.0143, -0.2958, 0.1168], [0.8956, 0.0221, 0.2655, 0.5003, -0.0990, -0.6298, -0.2777, 0.5368], [-0.8231, -0.2989, 0.5037, 0.3964, 0.0038, 0.4026, 0.0830, -0.5895], [-0.7820, -0.3195, 0.4614, -0.2828, -0.4512, -0.3855, -0.7659, -0.0586], [-0.5898, 0.1821, -1.1800, 0.1639, -0.3208, -0.9711, 0.3624, -0.1378], [-1.1150, -0.4375, 0.1455, -0.2293, 0.3900, 0.3738, 0.3331, 0.1633], [0.6668, 0.3299, 0.2256, -1.0420, 0.4483, 0.6547, -0.1484, -0.2348]]> : tensor<12x8xf32>
  %gate_e = tensor.empty() : tensor<2x12xf32>
  %gate_z = linalg.fill ins(%zero : f32) outs(%gate_e : tensor<2x12xf32>) -> tensor<2x12xf32>
  %gate = linalg.matmul indexing_maps = [#mm_a, #mm_b, #mm_c] {lowbit.name = "blk.0.ffn_gate"}
      ins(%h2, %gate_w : tensor<2x8xf32>, tensor<12x8xf32>) outs(%gate_z : tensor<2x12xf32>) -> tensor<2x12xf32>
  %up_w = arith.constant dense<[[0.9701, -0.8791, 0.2344, 1.2119, -0.4638, 0.3448, 0.9432, -0.0601], [0.2806, 0.4513, -0.4529, -0.0445, 0.1464, 0.4127, -0.0173, -0.0977], [-0.5080, -0.1795, 0.4458, 0.0509, -0.4265, -0.4208, 1.3333, 0.5699], [0.3187, -1.2965, 0.3107, 0.2403, 0.8420, 0.2139, -0.0337, 0.2612], [-0.9721, 0.5166, 0.1624, -0.3510, 0.6628, 0.9047, -0.7012, -0.3332], [0.1456, 0.0917, -0.1992, -0.4871, 1.0602, 0.5187, -0.5971, -0.6725], [0.8516, 0.4946, 0.9105, 0.4051, -0.4360, 0.1303, -1.0800, -0.3741], [-0.0295, 0.2614, -0.3638, -0.0621, 0.2293, 0.1883, 0.3190, 0.1045], [-0.1620, 0.3946, 0.0247, -0.4130, -0.3130, -0.0002, -0.0548, 0.0785], [-0.0002, 0.0879, -0.0671, -0.6292, 0.2107, 0.5268, 0.2173, -0.0946], [0.2232, -0.4829, -0.9481, 0.0298, -0.4652, 0.3699, -0.5420, -1.3143], [-0.5198, 0.7890, -0.1909, -0.6847, -0.3817, 0.2604, 0.2484, 0.0884]]> : tensor<12x8xf32>
  %up_e = tensor.empty() : tensor<2x12xf32>
  %up_z = linalg.fill ins(%zero : f32) outs(%up_e : tensor<2x12xf32>) -> tensor<2x12xf32>
  %up = linalg.matmul indexing_maps = [#mm_a, #mm_b, #mm_c] {lowbit.name = "blk.0.ffn_up"}
      ins(%h2, %up_w : tensor<2x8xf32>, tensor<12x8xf32>) outs(%up_z : tensor<2x12xf32>) -> tensor<2x12xf32>
  %act_e = tensor.empty() : tensor<2x12xf32>
  %act = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%gate, %up : tensor<2x12xf32>, tensor<2x12xf32>) outs(%act_e : tensor<2x12xf32>) {
  ^bb0(%g: f32, %u: f32, %out: f32):
    %ng = arith.negf %g : f32
    %e = math.exp %ng : f32
    %one = arith.constant 1.0 : f32
    %den = arith.addf %one, %e : f32
    %silu = arith.divf %g, %den : f32
    %y = arith.mulf %silu, %u : f32
    linalg.yield %y : f32
  } -> tensor<2x12xf32>
  %down_w = arith.constant dense<[[0.7419, 0.3533, -0.0105, 0.2983, 0.8273, 0.4857, 0.5119, -0.5414, -0.0742, 0.3649, -0.1482, 0.5344], [0.2982, 0.4541, -0.1062, 1.2732, 0.6200, -0.1077, 0.0453, 1.2976, -0.1716, 0.4371, 0.4902, 0.0033], [-0.5836, 0.0938, 0.1797, 0.5648, 0.3914, 0.0122, 0.4268, 0.2699, 0.1030, 0.0276, -0.1217, 0.3431], [-0.5271, -0.3143, 0.0025, -0.7320, -0.2179, -1.0044, -0.3414, 0.2842, 0.2832, -0.0273, -0.1161, -0.7084], [0.9139, 0.2580, 0.5467, -0.4412, -0.0926, -0.9098, 0.3902, 0.4676, -0.9487, -0.0261, 0.3152, -0.8810], [-0.9127, -0.5325, -0.3146, -0.7014, 0.0158, 0.1248, 0.3170, 0.3510, 0.7513, 0.5822, -0.6559, -0.2527], [-0.5301, -0.5383, -0.0406, 0.0027, 0.2452, -0.7935, -0.6188, -0.0116, -0.0997, -0.1556, -0.0316, -0.3799], [0.3506, 0.1771, -0.0439, -0.3360, -0.0871, -1.3608, -0.4907, 0.0187, -0.7520, 0.0998, 0.0737, -0.6888]]> : tensor<8x12xf32>
  %down_e = tensor.empty() : tensor<2x8xf32>
  %down_z = linalg.fill ins(%zero : f32) outs(%down_e : tensor<2x8xf32>) -> tensor<2x8xf32>
  %down = linalg.matmul indexing_maps = [#mm_a, #mm_b, #mm_c] {lowbit.name = "blk.0.ffn_down"}
      ins(%act, %down_w : tensor<2x12xf32>, tensor<8x12xf32>) outs(%down_z : tensor<2x8xf32>) -> tensor<2x8xf32>
  %x2_e = tensor.empty() : tensor<2x8xf32>
  %x2 = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x1, %down : tensor<2x8xf32>, tensor<2x8xf32>) outs(%x2_e : tensor<2x8xf32>) {
  ^bb0(%a: f32, %b: f32, %out: f32):
    %s = arith.addf %a, %b : f32
    linalg.yield %s : f32
  } -> tensor<2x8xf32>
  return %x2 : tensor<2x8xf32>
}

