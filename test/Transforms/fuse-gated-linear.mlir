// RUN: quant-opt %s --lowbit-fuse-gated-linear | FileCheck %s
// RUN: quant-opt %s --lowbit-fuse-gated-linear | FileCheck %s --check-prefix=COUNT
// COUNT-COUNT-5: gated<silu>
// COUNT-NOT: gated<silu>
// Numerics: the unfused reference lowering against the gated layer's
// reference lowering, its vector kernels (GEMV and prefill) on this CPU and
// in their AVX2 form, on seeded random inputs and codes.
// RUN: quant-opt %s --lowbit-to-llvm="fuse=false vectorize=false" -o %t.unfused.mlir
// RUN: quant-opt %s --lowbit-to-llvm="vectorize=false" -o %t.reference.mlir
// RUN: quant-opt %s --lowbit-to-llvm -o %t.host.mlir
// RUN: quant-opt %s --lowbit-to-llvm="target=avx2" -o %t.avx2.mlir
// RUN: for f in swiglu_i4 swiglu_u4_zero_points swiglu_i8_prefill swiglu_bias sigmoid_form; do \
// RUN:   for t in reference host avx2; do \
// RUN:     lowbit-run compare %t.unfused.mlir %t.$t.mlir --entry $f --seed 3 --tolerance 1e-5 || exit 1; \
// RUN:   done; \
// RUN: done | FileCheck %s --check-prefix=CLOSE
// CLOSE-COUNT-15: max relative difference:

#id = affine_map<(d0, d1) -> (d0, d1)>

// The Llama builder's SwiGLU: rows of the two layers interleaved into one
// constant of twice the rows, scales likewise, the product and the
// elementwise op gone.
// CHECK-LABEL: func.func @swiglu_i4
// CHECK-DAG: %[[W:.*]] = arith.constant dense<"0x0BCA6571{{.*}}"> : tensor<32x32xi8>
// CHECK-DAG: %[[S:.*]] = arith.constant dense<{{.*}}> : tensor<32x2xf16>
// CHECK: %[[H:.*]] = lowbit.linear %arg0, %[[W]] scales(%[[S]]) scheme<i4, per_group<32>, scale = f16> gated<silu>
// CHECK-SAME: (tensor<1x64xf32>, tensor<32x32xi8>, tensor<32x2xf16>) -> tensor<1x16xf32>
// CHECK-NOT: linalg.generic
// CHECK: return %[[H]]

func.func @swiglu_i4(%x: tensor<1x64xf32>) -> tensor<1x16xf32> {
  %wg = arith.constant dense<"0x0BCA657129C1862015EAA62F3C4D2F65E2798A14DFD61346C2A7EA552BAD27B9C5D1B78E193257CCB4A77AC857B2215FF02C2169A691D9815D8672FF0F86BC52DE9926A1793D8C4CA1B9FC9E47154AF7C85C8351FA0813CD05D2F3D72266C6C770BEAF389FA2BFC112450E7DD10570F19E77E7FA9F93AA010D08A1152180320DEBA3EB02C89B597EE38D434EBB646B4A37AFC533D2A3C71FEEF9CDD783FEAC7D6961DAF709F89EB7A125D758652783A9ED4B015BBFE54F1C9B5CDD9D0F48BF8B8B345BF13ED7A289059DBDA474404F037EC3E378AFC7D9F709D5764E56014B6AF1F94E5248789421B4F27FF04EB61D0305C5AAC47398B3FF884D9EE1CFA3DDBF033CC57E696E8483271B6198D4C4C1B1FC139178DE84A9311FFE4061D676DAB3A2671138006E19DEBF8DB0FDAF3A7480E9BA971E8D82FE54650B67296B420AA79DC32708D5E301C46BE6837732F2DD619F662CAF08260102061713702A565E5891EEBA3596014423F47E478AE833643D49ABB8F907C1EC976C1016BE47E6080A34388E3AFCDC7D01929B6A1C6E98905F55961F2FA64DFBDCB0482B24CD17A2196847349B1A9DAB8F98868029F456BBE3B2A0AC190E0232D2ACC944B9CCFDF3A6DBEA2FE132087B502E4F27E6E1E2A3E19EF6CC132AB80F7A3D8AEAE4923289179EAD02F0F677641A387A99F2F13ED323C4AB920C5A57AB2D8F0A6E74AA8B1AA6"> : tensor<16x32xi8>
  %sg = arith.constant dense<"0x12270325AE261A233C2AC324B828A325C129AC28D1239B291E2AE82932280D248824082A1C286924CE29912832286A26C5260325E621C42959271528DC252029"> : tensor<16x2xf16>
  %wu = arith.constant dense<"0x76689A8ED8CDF386E075EB383508C7DFF0E6414DF18945871A13BE68D75BF59F72A3F2EA59861777C977469B5881E3284923D63A11571FEDA46EBA946B549306587A6FEE1EECF05FC15B292E35B09ED8A4375B8ED0CF9D17860613C7E870852F8DDAA35D34E57CDAC81BC367EE236304161B640724C067436AD2844A3B793F6866C84A7FF7842CA652A720E94312746E33E142CE73E6D381F834F913B8A243404FEBBC3E342FFE4F729C5324887882A363135D5888C5BDEB2D106F582B22345016A2ED7854C627837C323D5D586162201AE3BFFCB419834BC6BD44736AB3D40365EFE49603C45139EBC18CBB2D6376B98FCAE2B1AEC852B25D437368C86375DC3762AD9B2D0D6DAD577B90E503FB17D8DC2EE5CFACC23872F2E5575D576E4512BE34067CEB338ED79A16B7A3B22302C566275C96AD5C387355CA8FB86ED249F119D243B300A67B7A8A5FF6A8ACCB79030CA5D77337A4EB05AB2BA066842E0365B8DD1844E981A63E18701C13042A2514DF4353546166B8ED3EDB9D72E76B5060702358DFDF24E1E90FB562363978B96C5B033598CED41791758A05BFBBC694EEB28129A9D96C7E0408EA120A022FF07313846B3E13FCC1C0029FD7496014D84E9D1B892EF0B7AD2D9A4FDCCF9B711237813602A2DC6BAE2130324B6B5CB338788C3FD6CC331CAAD50BD3F61E97E375E55263A93BCB8672B33CAFC2AB63707A8C"> : tensor<16x32xi8>
  %su = arith.constant dense<"0xBD24F82995296C235F2878275328A828B325342A55277F28882871246322C6263129742904297023F5296329C629EB27F8291322BE21892126251B257B242F28"> : tensor<16x2xf16>
  %g = lowbit.linear %x, %wg scales(%sg) scheme<i4, per_group<32>, scale = f16>
      : (tensor<1x64xf32>, tensor<16x32xi8>, tensor<16x2xf16>) -> tensor<1x16xf32>
  %u = lowbit.linear %x, %wu scales(%su) scheme<i4, per_group<32>, scale = f16>
      : (tensor<1x64xf32>, tensor<16x32xi8>, tensor<16x2xf16>) -> tensor<1x16xf32>
  %init = tensor.empty() : tensor<1x16xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<1x16xf32>, tensor<1x16xf32>) outs(%init : tensor<1x16xf32>) {
    ^bb0(%a: f32, %b: f32, %out: f32):
      %n = arith.negf %a : f32
      %e = math.exp %n : f32
      %one = arith.constant 1.0 : f32
      %d = arith.addf %one, %e : f32
      %s = arith.divf %a, %d : f32
      %p = arith.mulf %s, %b : f32
      linalg.yield %p : f32
  } -> tensor<1x16xf32>
  return %h : tensor<1x16xf32>
}


// Zero points are interleaved with their rows.
// CHECK-LABEL: func.func @swiglu_u4_zero_points
// CHECK: lowbit.linear %arg0, %{{.*}} scales(%{{.*}}) zero_points(%{{.*}}) scheme<ui4, per_group<32>, zero_point> gated<silu>
// CHECK-SAME: (tensor<2x64xf32>, tensor<16x32xi8>, tensor<16x2xf32>, tensor<16x2xf32>) -> tensor<2x8xf32>
func.func @swiglu_u4_zero_points(%x: tensor<2x64xf32>) -> tensor<2x8xf32> {
  %wg = arith.constant dense<"0x0BCA657129C1862015EAA62F3C4D2F65E2798A14DFD61346C2A7EA552BAD27B9C5D1B78E193257CCB4A77AC857B2215FF02C2169A691D9815D8672FF0F86BC52DE9926A1793D8C4CA1B9FC9E47154AF7C85C8351FA0813CD05D2F3D72266C6C770BEAF389FA2BFC112450E7DD10570F19E77E7FA9F93AA010D08A1152180320DEBA3EB02C89B597EE38D434EBB646B4A37AFC533D2A3C71FEEF9CDD783FEAC7D6961DAF709F89EB7A125D758652783A9ED4B015BBFE54F1C9B5CDD9D0F48BF8B8B345BF13ED7A289059DBDA474404F037EC3E378AFC7D9F709D5764E56014B6AF1F94E5248789421B4F27FF04EB61D0305C5AAC47398B3FF884D9EE1CFA3DDBF"> : tensor<8x32xi8>
  %sg = arith.constant dense<"0xC0912B3C62F7903CB1571A3DA2A7933C7902CB3C8B49263C7CF4303DA888843C609BA93C9131393DDFF7F83CD1C1333D71C5113DE37D223D75CD5F3CFA9E013D"> : tensor<8x2xf32>
  %zg = arith.constant dense<"0x00003041000000410000104100005041000020410000A04000002041000010410000803F00000000000020410000C040000010410000A0400000404000000040"> : tensor<8x2xf32>
  %wu = arith.constant dense<"0xDBEA2FE132087B502E4F27E6E1E2A3E19EF6CC132AB80F7A3D8AEAE4923289179EAD02F0F677641A387A99F2F13ED323C4AB920C5A57AB2D8F0A6E74AA8B1AA657CF470FA5E238F0901725DBD590D4BDA76DE08D63A08AE7C9B0FF53F8194198011A76E7C31443772ADF1373AC018AB74AFB7181BC4D782B0A34268319D468CC3EBBBFFF9103435F03F54597346706292A5FF408781231A111B8FA58EA4AD658D39C12FB139F6871EEF9DB1BB397E767925B6875B39D5911FF8166C7905DBCA57452961020C9C5B1B5D58E4099BA0B6D970355BE49C4E50D9DA8168CC430B8AE13C30EE0F80DD162F921B178938BBE243DAFDD1565FB5711C3ED048FCEE6D4E0"> : tensor<8x32xi8>
  %su = arith.constant dense<"0xF394D83C5565A03CFEC73C3C0A85383D932FEB3C3FAF023D8A7CBB3C9C0E243D605A343CAFE0CB3CF9BA373CEA60743CE66A473D3FBA143D3D3DDE3C068AFD3C"> : tensor<8x2xf32>
  %zu = arith.constant dense<"0x0000C04000005041000020410000A04000000000000010410000804000002041000050410000A040000060410000004100000041000040410000404100006041"> : tensor<8x2xf32>
  %g = lowbit.linear %x, %wg scales(%sg) zero_points(%zg) scheme<ui4, per_group<32>, zero_point>
      : (tensor<2x64xf32>, tensor<8x32xi8>, tensor<8x2xf32>, tensor<8x2xf32>) -> tensor<2x8xf32>
  %u = lowbit.linear %x, %wu scales(%su) zero_points(%zu) scheme<ui4, per_group<32>, zero_point>
      : (tensor<2x64xf32>, tensor<8x32xi8>, tensor<8x2xf32>, tensor<8x2xf32>) -> tensor<2x8xf32>
  %init = tensor.empty() : tensor<2x8xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<2x8xf32>, tensor<2x8xf32>) outs(%init : tensor<2x8xf32>) {
    ^bb0(%a: f32, %b: f32, %out: f32):
      %n = arith.negf %a : f32
      %e = math.exp %n : f32
      %one = arith.constant 1.0 : f32
      %d = arith.addf %one, %e : f32
      %s = arith.divf %a, %d : f32
      %p = arith.mulf %s, %b : f32
      linalg.yield %p : f32
  } -> tensor<2x8xf32>
  return %h : tensor<2x8xf32>
}


// CHECK-LABEL: func.func @swiglu_i8_prefill
// CHECK: lowbit.linear {{.*}} scheme<i8, per_channel> gated<silu>
// CHECK-SAME: -> tensor<8x8xf32>
func.func @swiglu_i8_prefill(%x: tensor<8x32xf32>) -> tensor<8x8xf32> {
  %wg = arith.constant dense<"0x0BCA657129C1862015EAA62F3C4D2F65E2798A14DFD61346C2A7EA552BAD27B9C5D1B78E193257CCB4A77AC857B2215FF02C2169A691D9815D8672FF0F86BC52DE9926A1793D8C4CA1B9FC9E47154AF7C85C8351FA0813CD05D2F3D72266C6C770BEAF389FA2BFC112450E7DD10570F19E77E7FA9F93AA010D08A1152180320DEBA3EB02C89B597EE38D434EBB646B4A37AFC533D2A3C71FEEF9CDD783FEAC7D6961DAF709F89EB7A125D758652783A9ED4B015BBFE54F1C9B5CDD9D0F48BF8B8B345BF13ED7A289059DBDA474404F037EC3E378AFC7D9F709D5764E56014B6AF1F94E5248789421B4F27FF04EB61D0305C5AAC47398B3FF884D9EE1CFA3DDBF"> : tensor<8x32xi8>
  %sg = arith.constant dense<"0xC0912B3C62F7903CB1571A3DA2A7933C7902CB3C8B49263C7CF4303DA888843C"> : tensor<8x1xf32>
  %wu = arith.constant dense<"0x9DC32708D5E301C46BE6837732F2DD619F662CAF08260102061713702A565E5891EEBA3596014423F47E478AE833643D49ABB8F907C1EC976C1016BE47E6080A34388E3AFCDC7D01929B6A1C6E98905F55961F2FA64DFBDCB0482B24CD17A2196847349B1A9DAB8F98868029F456BBE3B2A0AC190E0232D2ACC944B9CCFDF3A6DBEA2FE132087B502E4F27E6E1E2A3E19EF6CC132AB80F7A3D8AEAE4923289179EAD02F0F677641A387A99F2F13ED323C4AB920C5A57AB2D8F0A6E74AA8B1AA657CF470FA5E238F0901725DBD590D4BDA76DE08D63A08AE7C9B0FF53F8194198011A76E7C31443772ADF1373AC018AB74AFB7181BC4D782B0A34268319D468CC"> : tensor<8x32xi8>
  %su = arith.constant dense<"0x352B383D0F75153D82187A3CBF6A333DC2C7433DC70E3D3D834D063D9695813C"> : tensor<8x1xf32>
  %g = lowbit.linear %x, %wg scales(%sg) scheme<i8, per_channel>
      : (tensor<8x32xf32>, tensor<8x32xi8>, tensor<8x1xf32>) -> tensor<8x8xf32>
  %u = lowbit.linear %x, %wu scales(%su) scheme<i8, per_channel>
      : (tensor<8x32xf32>, tensor<8x32xi8>, tensor<8x1xf32>) -> tensor<8x8xf32>
  %init = tensor.empty() : tensor<8x8xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<8x8xf32>, tensor<8x8xf32>) outs(%init : tensor<8x8xf32>) {
    ^bb0(%a: f32, %b: f32, %out: f32):
      %n = arith.negf %a : f32
      %e = math.exp %n : f32
      %one = arith.constant 1.0 : f32
      %d = arith.addf %one, %e : f32
      %s = arith.divf %a, %d : f32
      %p = arith.mulf %s, %b : f32
      linalg.yield %p : f32
  } -> tensor<8x8xf32>
  return %h : tensor<8x8xf32>
}


// Biases too.
// CHECK-LABEL: func.func @swiglu_bias
// CHECK: lowbit.linear {{.*}} bias(%{{.*}}) scheme<i4, per_channel> gated<silu>
// CHECK-SAME: tensor<16xf32>) -> tensor<1x8xf32>
func.func @swiglu_bias(%x: tensor<1x32xf32>) -> tensor<1x8xf32> {
  %wg = arith.constant dense<"0x0BCA657129C1862015EAA62F3C4D2F65E2798A14DFD61346C2A7EA552BAD27B9C5D1B78E193257CCB4A77AC857B2215FF02C2169A691D9815D8672FF0F86BC52DE9926A1793D8C4CA1B9FC9E47154AF7C85C8351FA0813CD05D2F3D72266C6C770BEAF389FA2BFC112450E7DD10570F19E77E7FA9F93AA010D08A1152180320D"> : tensor<8x16xi8>
  %sg = arith.constant dense<"0x11104C3D69D42A3DD9E50E3DC1FD4A3DEC78983C146B863C88510D3D49A3403C"> : tensor<8x1xf32>
  %bg = arith.constant dense<"0x51BBEDBE3DF0733C8D6B0ABD0497D53EE353043EB44D673C0DE74CBBB94581BE"> : tensor<8xf32>
  %wu = arith.constant dense<"0x033CC57E696E8483271B6198D4C4C1B1FC139178DE84A9311FFE4061D676DAB3A2671138006E19DEBF8DB0FDAF3A7480E9BA971E8D82FE54650B67296B420AA79DC32708D5E301C46BE6837732F2DD619F662CAF08260102061713702A565E5891EEBA3596014423F47E478AE833643D49ABB8F907C1EC976C1016BE47E6080A"> : tensor<8x16xi8>
  %su = arith.constant dense<"0x8B4EF83C62B8373D8C4CC83C6BF70A3DD1AB4A3C6FF0D03CC6C5BB3C3023833C"> : tensor<8x1xf32>
  %bu = arith.constant dense<"0x11F7A13EEDE4F6BD711EF53E914DB83DBC27D73DFA4E0D3E5FAF343EEACBB2BE"> : tensor<8xf32>
  %g = lowbit.linear %x, %wg scales(%sg) bias(%bg) scheme<i4, per_channel>
      : (tensor<1x32xf32>, tensor<8x16xi8>, tensor<8x1xf32>, tensor<8xf32>) -> tensor<1x8xf32>
  %u = lowbit.linear %x, %wu scales(%su) bias(%bu) scheme<i4, per_channel>
      : (tensor<1x32xf32>, tensor<8x16xi8>, tensor<8x1xf32>, tensor<8xf32>) -> tensor<1x8xf32>
  %init = tensor.empty() : tensor<1x8xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<1x8xf32>, tensor<1x8xf32>) outs(%init : tensor<1x8xf32>) {
    ^bb0(%a: f32, %b: f32, %out: f32):
      %n = arith.negf %a : f32
      %e = math.exp %n : f32
      %one = arith.constant 1.0 : f32
      %d = arith.addf %one, %e : f32
      %s = arith.divf %a, %d : f32
      %p = arith.mulf %s, %b : f32
      linalg.yield %p : f32
  } -> tensor<1x8xf32>
  return %h : tensor<1x8xf32>
}


// SiLU written with the sigmoid, the up projection first.
// CHECK-LABEL: func.func @sigmoid_form
// CHECK: lowbit.linear {{.*}} gated<silu>
// CHECK-NOT: linalg.generic
func.func @sigmoid_form(%x: tensor<1x32xf32>) -> tensor<1x8xf32> {
  %wg = arith.constant dense<"0x0BCA657129C1862015EAA62F3C4D2F65E2798A14DFD61346C2A7EA552BAD27B9C5D1B78E193257CCB4A77AC857B2215FF02C2169A691D9815D8672FF0F86BC52DE9926A1793D8C4CA1B9FC9E47154AF7C85C8351FA0813CD05D2F3D72266C6C770BEAF389FA2BFC112450E7DD10570F19E77E7FA9F93AA010D08A1152180320D"> : tensor<8x16xi8>
  %sg = arith.constant dense<"0x11104C3D69D42A3DD9E50E3DC1FD4A3DEC78983C146B863C88510D3D49A3403C"> : tensor<8x1xf32>
  %wu = arith.constant dense<"0x8B345BF13ED7A289059DBDA474404F037EC3E378AFC7D9F709D5764E56014B6AF1F94E5248789421B4F27FF04EB61D0305C5AAC47398B3FF884D9EE1CFA3DDBF033CC57E696E8483271B6198D4C4C1B1FC139178DE84A9311FFE4061D676DAB3A2671138006E19DEBF8DB0FDAF3A7480E9BA971E8D82FE54650B67296B420AA7"> : tensor<8x16xi8>
  %su = arith.constant dense<"0x609BA93C9131393DDFF7F83CD1C1333D71C5113DE37D223D75CD5F3CFA9E013D"> : tensor<8x1xf32>
  %g = lowbit.linear %x, %wg scales(%sg) scheme<i4, per_channel>
      : (tensor<1x32xf32>, tensor<8x16xi8>, tensor<8x1xf32>) -> tensor<1x8xf32>
  %u = lowbit.linear %x, %wu scales(%su) scheme<i4, per_channel>
      : (tensor<1x32xf32>, tensor<8x16xi8>, tensor<8x1xf32>) -> tensor<1x8xf32>
  %init = tensor.empty() : tensor<1x8xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%u, %g : tensor<1x8xf32>, tensor<1x8xf32>) outs(%init : tensor<1x8xf32>) {
    ^bb0(%b: f32, %a: f32, %out: f32):
      %n = arith.negf %a : f32
      %e = math.exp %n : f32
      %one = arith.constant 1.0 : f32
      %d = arith.addf %e, %one : f32
      %r = arith.divf %one, %d : f32
      %s = arith.mulf %r, %a : f32
      %p = arith.mulf %b, %s : f32
      linalg.yield %p : f32
  } -> tensor<1x8xf32>
  return %h : tensor<1x8xf32>
}


// Not a SiLU gate: left alone.
// CHECK-LABEL: func.func @not_silu
// CHECK-COUNT-2: lowbit.linear
// CHECK-NOT: gated
// CHECK: linalg.generic
func.func @not_silu(%x: tensor<1x32xf32>) -> tensor<1x8xf32> {
  %wg = arith.constant dense<"0x0BCA657129C1862015EAA62F3C4D2F65E2798A14DFD61346C2A7EA552BAD27B9C5D1B78E193257CCB4A77AC857B2215FF02C2169A691D9815D8672FF0F86BC52DE9926A1793D8C4CA1B9FC9E47154AF7C85C8351FA0813CD05D2F3D72266C6C770BEAF389FA2BFC112450E7DD10570F19E77E7FA9F93AA010D08A1152180320D"> : tensor<8x16xi8>
  %sg = arith.constant dense<"0x11104C3D69D42A3DD9E50E3DC1FD4A3DEC78983C146B863C88510D3D49A3403C"> : tensor<8x1xf32>
  %wu = arith.constant dense<"0x8B345BF13ED7A289059DBDA474404F037EC3E378AFC7D9F709D5764E56014B6AF1F94E5248789421B4F27FF04EB61D0305C5AAC47398B3FF884D9EE1CFA3DDBF033CC57E696E8483271B6198D4C4C1B1FC139178DE84A9311FFE4061D676DAB3A2671138006E19DEBF8DB0FDAF3A7480E9BA971E8D82FE54650B67296B420AA7"> : tensor<8x16xi8>
  %su = arith.constant dense<"0x609BA93C9131393DDFF7F83CD1C1333D71C5113DE37D223D75CD5F3CFA9E013D"> : tensor<8x1xf32>
  %g = lowbit.linear %x, %wg scales(%sg) scheme<i4, per_channel>
      : (tensor<1x32xf32>, tensor<8x16xi8>, tensor<8x1xf32>) -> tensor<1x8xf32>
  %u = lowbit.linear %x, %wu scales(%su) scheme<i4, per_channel>
      : (tensor<1x32xf32>, tensor<8x16xi8>, tensor<8x1xf32>) -> tensor<1x8xf32>
  %init = tensor.empty() : tensor<1x8xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<1x8xf32>, tensor<1x8xf32>) outs(%init : tensor<1x8xf32>) {
    ^bb0(%a: f32, %b: f32, %out: f32):
      %zero = arith.constant 0.0 : f32
      %r = arith.maximumf %a, %zero : f32
      %p = arith.mulf %r, %b : f32
      linalg.yield %p : f32
  } -> tensor<1x8xf32>
  return %h : tensor<1x8xf32>
}


// Different inputs, a result used twice, weights that are not constants
// and different schemes: nothing to fuse.
// CHECK-LABEL: func.func @different_inputs
// CHECK-NOT: gated
// CHECK: linalg.generic
func.func @different_inputs(%x: tensor<1x32xf32>, %y: tensor<1x32xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16]]> : tensor<2x16xi8>
  %s = arith.constant dense<[[0.5], [0.25]]> : tensor<2x1xf32>
  %g = lowbit.linear %x, %w scales(%s) scheme<i4, per_channel> : (tensor<1x32xf32>, tensor<2x16xi8>, tensor<2x1xf32>) -> tensor<1x2xf32>
  %u = lowbit.linear %y, %w scales(%s) scheme<i4, per_channel> : (tensor<1x32xf32>, tensor<2x16xi8>, tensor<2x1xf32>) -> tensor<1x2xf32>
  %init = tensor.empty() : tensor<1x2xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<1x2xf32>, tensor<1x2xf32>) outs(%init : tensor<1x2xf32>) {
    ^bb0(%a: f32, %b: f32, %out: f32):
      %n = arith.negf %a : f32
      %e = math.exp %n : f32
      %one = arith.constant 1.0 : f32
      %d = arith.addf %one, %e : f32
      %q = arith.divf %a, %d : f32
      %p = arith.mulf %q, %b : f32
      linalg.yield %p : f32
  } -> tensor<1x2xf32>
  return %h : tensor<1x2xf32>
}

// CHECK-LABEL: func.func @gate_used_twice
// CHECK-NOT: gated
// CHECK: linalg.generic
func.func @gate_used_twice(%x: tensor<1x32xf32>) -> (tensor<1x2xf32>, tensor<1x2xf32>) {
  %w = arith.constant dense<[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16]]> : tensor<2x16xi8>
  %s = arith.constant dense<[[0.5], [0.25]]> : tensor<2x1xf32>
  %v = arith.constant dense<[[7, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16]]> : tensor<2x16xi8>
  %g = lowbit.linear %x, %w scales(%s) scheme<i4, per_channel> : (tensor<1x32xf32>, tensor<2x16xi8>, tensor<2x1xf32>) -> tensor<1x2xf32>
  %u = lowbit.linear %x, %v scales(%s) scheme<i4, per_channel> : (tensor<1x32xf32>, tensor<2x16xi8>, tensor<2x1xf32>) -> tensor<1x2xf32>
  %init = tensor.empty() : tensor<1x2xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<1x2xf32>, tensor<1x2xf32>) outs(%init : tensor<1x2xf32>) {
    ^bb0(%a: f32, %b: f32, %out: f32):
      %n = arith.negf %a : f32
      %e = math.exp %n : f32
      %one = arith.constant 1.0 : f32
      %d = arith.addf %one, %e : f32
      %q = arith.divf %a, %d : f32
      %p = arith.mulf %q, %b : f32
      linalg.yield %p : f32
  } -> tensor<1x2xf32>
  return %h, %g : tensor<1x2xf32>, tensor<1x2xf32>
}

// CHECK-LABEL: func.func @weights_from_arguments
// CHECK-NOT: gated
// CHECK: linalg.generic
func.func @weights_from_arguments(%x: tensor<1x32xf32>, %w: tensor<2x16xi8>, %v: tensor<2x16xi8>) -> tensor<1x2xf32> {
  %s = arith.constant dense<[[0.5], [0.25]]> : tensor<2x1xf32>
  %g = lowbit.linear %x, %w scales(%s) scheme<i4, per_channel> : (tensor<1x32xf32>, tensor<2x16xi8>, tensor<2x1xf32>) -> tensor<1x2xf32>
  %u = lowbit.linear %x, %v scales(%s) scheme<i4, per_channel> : (tensor<1x32xf32>, tensor<2x16xi8>, tensor<2x1xf32>) -> tensor<1x2xf32>
  %init = tensor.empty() : tensor<1x2xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<1x2xf32>, tensor<1x2xf32>) outs(%init : tensor<1x2xf32>) {
    ^bb0(%a: f32, %b: f32, %out: f32):
      %n = arith.negf %a : f32
      %e = math.exp %n : f32
      %one = arith.constant 1.0 : f32
      %d = arith.addf %one, %e : f32
      %q = arith.divf %a, %d : f32
      %p = arith.mulf %q, %b : f32
      linalg.yield %p : f32
  } -> tensor<1x2xf32>
  return %h : tensor<1x2xf32>
}

// CHECK-LABEL: func.func @different_schemes
// CHECK-NOT: gated
// CHECK: linalg.generic
func.func @different_schemes(%x: tensor<1x32xf32>) -> tensor<1x2xf32> {
  %w = arith.constant dense<[[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16]]> : tensor<2x16xi8>
  %s = arith.constant dense<[[0.5], [0.25]]> : tensor<2x1xf32>
  %v = arith.constant dense<[[7, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [-1, -2, -3, -4, -5, -6, -7, -8, -9, -10, -11, -12, -13, -14, -15, -16]]> : tensor<2x16xi8>
  %g = lowbit.linear %x, %w scales(%s) scheme<i4, per_channel> : (tensor<1x32xf32>, tensor<2x16xi8>, tensor<2x1xf32>) -> tensor<1x2xf32>
  %u = lowbit.linear %x, %v scales(%s) scheme<ui4, per_channel> : (tensor<1x32xf32>, tensor<2x16xi8>, tensor<2x1xf32>) -> tensor<1x2xf32>
  %init = tensor.empty() : tensor<1x2xf32>
  %h = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%g, %u : tensor<1x2xf32>, tensor<1x2xf32>) outs(%init : tensor<1x2xf32>) {
    ^bb0(%a: f32, %b: f32, %out: f32):
      %n = arith.negf %a : f32
      %e = math.exp %n : f32
      %one = arith.constant 1.0 : f32
      %d = arith.addf %one, %e : f32
      %q = arith.divf %a, %d : f32
      %p = arith.mulf %q, %b : f32
      linalg.yield %p : f32
  } -> tensor<1x2xf32>
  return %h : tensor<1x2xf32>
}
