//===- GptqTest.cpp - GPTQ against round-to-nearest on a correlated layer -===//
//
// A random linear layer with strongly correlated inputs (X = Z A, so X^T X is
// far from diagonal): GPTQ must give a smaller layer output error
// ||X W^T - X Q^T|| than round-to-nearest for every low-bit scheme, whatever
// its lazy-batch block size, and reduce to round-to-nearest when the Hessian
// is diagonal. The pass's round-to-nearest must be the reference quantizer's
// bytes.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Quantization/Gptq.h"
#include "lowbit/Dialect/LowBit/IR/LowBitDialect.h"
#include "lowbit/Dialect/LowBit/IR/LowBitOps.h"
#include "lowbit/Quantization/Passes.h"
#include "lowbit/Support/QuantMath.h"
#include "lowbit/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Pass/PassManager.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstdio>
#include <random>

using namespace mlir;
using namespace mlir::lowbit;

namespace {

constexpr int64_t kOut = 64, kIn = 128, kRows = 512;

/// A layer and its calibration data: W is N x K, X is rows x K.
struct Layer {
  std::vector<float> weights;
  std::vector<double> inputs;
  std::vector<double> gram;
};

/// X = Z A with Z and A standard normal (columns strongly correlated), a few
/// channels scaled up as in real activations, and W normal with outliers.
/// Neither is ever all zeros.
Layer makeLayer(unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  Layer layer;
  std::vector<double> z(kRows * kIn), a(kIn * kIn);
  for (double &v : z)
    v = normal(rng);
  for (double &v : a)
    v = normal(rng) / std::sqrt(double(kIn));
  layer.inputs.assign(kRows * kIn, 0.0);
  for (int64_t r = 0; r < kRows; ++r)
    for (int64_t t = 0; t < kIn; ++t)
      for (int64_t c = 0; c < kIn; ++c)
        layer.inputs[r * kIn + c] += z[r * kIn + t] * a[t * kIn + c];
  for (int64_t r = 0; r < kRows; ++r)
    for (int64_t c = 0; c < kIn; c += 17)
      layer.inputs[r * kIn + c] *= 6.0;
  layer.gram.assign(kIn * kIn, 0.0);
  for (int64_t r = 0; r < kRows; ++r)
    for (int64_t i = 0; i < kIn; ++i)
      for (int64_t j = 0; j < kIn; ++j)
        layer.gram[i * kIn + j] +=
            layer.inputs[r * kIn + i] * layer.inputs[r * kIn + j];
  layer.weights.resize(kOut * kIn);
  for (float &w : layer.weights)
    w = static_cast<float>(0.05 * normal(rng));
  for (size_t i = 0; i < layer.weights.size(); i += 101)
    layer.weights[i] *= 6.0f;
  return layer;
}

/// ||X W^T - X Q^T||_F / ||X W^T||_F.
double outputError(const Layer &layer, const std::vector<float> &quantized) {
  double err = 0.0, ref = 0.0;
  for (int64_t r = 0; r < kRows; ++r) {
    const double *x = &layer.inputs[r * kIn];
    for (int64_t n = 0; n < kOut; ++n) {
      double y = 0.0, yq = 0.0;
      for (int64_t k = 0; k < kIn; ++k) {
        y += x[k] * layer.weights[n * kIn + k];
        yq += x[k] * quantized[n * kIn + k];
      }
      err += (y - yq) * (y - yq);
      ref += y * y;
    }
  }
  return std::sqrt(err / ref);
}

/// `group` > 0: groups along the input channels; < 0: per-input-channel
/// groups of -group rows; 0: one scale per row.
QuantScheme makeScheme(ElementFormat format, unsigned bits, int64_t group,
                       bool symmetric = true) {
  QuantScheme scheme;
  scheme.format = {format, bits};
  scheme.granularity = group == 0  ? Granularity::per_channel
                       : group > 0 ? Granularity::per_group
                                   : Granularity::per_ic_group;
  scheme.groupSize = std::abs(group);
  scheme.symmetric = symmetric;
  scheme.scale = ScaleFormat::f16;
  return scheme;
}

std::vector<float> dequantize(const QuantScheme &scheme,
                              const QuantizedTensor &tensor) {
  return dequantizeReference(scheme, PackingSpec(), {kOut, kIn}, tensor);
}

std::vector<float> runGptq(const QuantScheme &scheme, const Layer &layer,
                           const GptqOptions &options,
                           QuantizedTensor *out = nullptr) {
  auto result = quantizeGptq(scheme, PackingSpec(), kOut, kIn, layer.weights,
                             getHessianFromGram(layer.gram, kRows), options);
  EXPECT_TRUE(bool(result)) << llvm::toString(result.takeError());
  if (!result)
    return {};
  if (out)
    *out = *result;
  return dequantize(scheme, *result);
}

struct SchemeCase {
  const char *name;
  ElementFormat format;
  unsigned bits;
  int64_t group;
  bool symmetric;
};

const SchemeCase kSchemes[] = {
    {"i4_g32", ElementFormat::sint, 4, 32, true},
    {"i4_per_channel", ElementFormat::sint, 4, 0, true},
    {"i3_g32", ElementFormat::sint, 3, 32, true},
    {"i3_per_channel", ElementFormat::sint, 3, 0, true},
    {"i2_g32", ElementFormat::sint, 2, 32, true},
    {"i2_per_channel", ElementFormat::sint, 2, 0, true},
    {"ui4_g32_zero_point", ElementFormat::uint, 4, 32, false},
    {"nf4_g32", ElementFormat::nf4, 4, 32, true},
    {"f4E2M1FN_g32", ElementFormat::f4E2M1FN, 4, 32, true},
    {"i4_ic_g8", ElementFormat::sint, 4, -8, true},
    {"i3_ic_g16", ElementFormat::sint, 3, -16, true},
};

/// How gtest shows a case in test names and failures.
void PrintTo(const SchemeCase &c, std::ostream *os) { *os << c.name; }

class GptqVsRtnTest : public testing::TestWithParam<SchemeCase> {};

TEST_P(GptqVsRtnTest, LowerOutputErrorThanRtn) {
  const SchemeCase &c = GetParam();
  Layer layer = makeLayer(42);
  QuantScheme scheme = makeScheme(c.format, c.bits, c.group, c.symmetric);
  double rtn = outputError(
      layer, dequantize(scheme, quantizeReference(scheme, PackingSpec(),
                                                  {kOut, kIn}, layer.weights)));
  GptqOptions options;
  options.blockSize = 32; // Four lazy batches over K = 128.
  double gptq = outputError(layer, runGptq(scheme, layer, options));
  options.actOrder = true;
  double actOrder = outputError(layer, runGptq(scheme, layer, options));
  std::printf("%-20s rtn %.4f  gptq %.4f  gptq act-order %.4f\n", c.name, rtn,
              gptq, actOrder);
  RecordProperty("rtn", std::to_string(rtn));
  RecordProperty("gptq", std::to_string(gptq));
  RecordProperty("gptq_act_order", std::to_string(actOrder));
  EXPECT_LT(gptq, rtn);
  EXPECT_LT(actOrder, rtn);
}

INSTANTIATE_TEST_SUITE_P(Schemes, GptqVsRtnTest, testing::ValuesIn(kSchemes),
                         [](const testing::TestParamInfo<SchemeCase> &info) {
                           return std::string(info.param.name);
                         });

// Lazy batch updates only regroup the same arithmetic: any block size gives
// the same quantization, also when act-order scatters a group's columns over
// several blocks (so group scales need the pending updates of a block).
TEST(GptqTest, BlockSizeDoesNotChangeTheResult) {
  Layer layer = makeLayer(7);
  for (bool actOrder : {false, true}) {
    QuantScheme scheme = makeScheme(ElementFormat::sint, 4, 32);
    GptqOptions whole;
    whole.blockSize = kIn;
    whole.actOrder = actOrder;
    GptqOptions small = whole;
    small.blockSize = 12; // Not a multiple of the group size.
    std::vector<float> a = runGptq(scheme, layer, whole);
    std::vector<float> b = runGptq(scheme, layer, small);
    EXPECT_NEAR(outputError(layer, a), outputError(layer, b), 1e-6)
        << "act-order " << actOrder;
    int64_t differing = 0;
    for (size_t i = 0; i < a.size(); ++i)
      differing += a[i] != b[i];
    EXPECT_LE(differing, 2) << "act-order " << actOrder;
  }
}

/// GPTQ as the paper writes it, one column at a time without lazy batches,
/// with U = chol(H^-1)^T from an explicit Gauss-Jordan inverse: an
/// independent check of the factorisation route and the batching.
std::vector<float> textbookGptq(const QuantScheme &scheme, const Layer &layer,
                                double damp) {
  const int64_t k = kIn;
  std::vector<double> h = getHessianFromGram(layer.gram, kRows);
  double mean = 0.0;
  for (int64_t i = 0; i < k; ++i)
    mean += h[i * k + i] / k;
  for (int64_t i = 0; i < k; ++i)
    h[i * k + i] += damp * mean;
  // Gauss-Jordan inverse (H is positive definite: no pivoting needed).
  std::vector<double> inv(k * k, 0.0);
  for (int64_t i = 0; i < k; ++i)
    inv[i * k + i] = 1.0;
  for (int64_t p = 0; p < k; ++p) {
    double pivot = h[p * k + p];
    for (int64_t j = 0; j < k; ++j) {
      h[p * k + j] /= pivot;
      inv[p * k + j] /= pivot;
    }
    for (int64_t r = 0; r < k; ++r) {
      if (r == p)
        continue;
      double f = h[r * k + p];
      for (int64_t j = 0; j < k; ++j) {
        h[r * k + j] -= f * h[p * k + j];
        inv[r * k + j] -= f * inv[p * k + j];
      }
    }
  }
  // Lower Cholesky L of H^-1; U = L^T.
  std::vector<double> l(k * k, 0.0);
  for (int64_t j = 0; j < k; ++j) {
    for (int64_t i = j; i < k; ++i) {
      double sum = inv[i * k + j];
      for (int64_t t = 0; t < j; ++t)
        sum -= l[i * k + t] * l[j * k + t];
      l[i * k + j] = i == j ? std::sqrt(sum) : sum / l[j * k + j];
    }
  }
  std::vector<double> w(layer.weights.begin(), layer.weights.end());
  std::vector<float> result(kOut * kIn);
  const int64_t group = scheme.groupSize ? scheme.groupSize : k;
  QuantScheme rowScheme = scheme;
  rowScheme.granularity = Granularity::per_channel;
  rowScheme.groupSize = 0;
  QuantizedTensor scales;
  for (int64_t i = 0; i < k; ++i) {
    if (i % group == 0) {
      std::vector<float> block(kOut * group);
      for (int64_t r = 0; r < kOut; ++r)
        for (int64_t c = 0; c < group; ++c)
          block[r * group + c] = float(w[r * k + i + c]);
      scales = computeReferenceScales(rowScheme, {kOut, group}, block);
    }
    double u = l[i * k + i];
    for (int64_t r = 0; r < kOut; ++r) {
      float s = scales.scales[r];
      float z = scales.zeroPoints.empty() ? 0.0f : scales.zeroPoints[r];
      float x = float(w[r * k + i]) / s + z;
      float q =
          (decodeField(scheme.format, encodeValue(scheme.format, x)) - z) * s;
      result[r * k + i] = q;
      double e = (w[r * k + i] - q) / u;
      for (int64_t j = i + 1; j < k; ++j)
        w[r * k + j] -= e * l[j * k + i];
    }
  }
  return result;
}

TEST(GptqTest, MatchesTextbookGptq) {
  Layer layer = makeLayer(13);
  for (int64_t group : {int64_t(0), int64_t(32)}) {
    QuantScheme scheme = makeScheme(ElementFormat::sint, 3, group);
    GptqOptions options;
    options.blockSize = 48;
    std::vector<float> ours = runGptq(scheme, layer, options);
    std::vector<float> textbook = textbookGptq(scheme, layer, options.damp);
    int64_t differing = 0;
    for (size_t i = 0; i < ours.size(); ++i)
      differing += ours[i] != textbook[i];
    EXPECT_LE(differing, 2) << "group " << group;
    EXPECT_NEAR(outputError(layer, ours), outputError(layer, textbook), 1e-4);
  }
}

// With a diagonal Hessian no error can be compensated: GPTQ is RTN, byte for
// byte, also with act-order.
TEST(GptqTest, DiagonalHessianGivesRoundToNearest) {
  Layer layer = makeLayer(3);
  std::vector<double> hessian(kIn * kIn, 0.0);
  for (int64_t i = 0; i < kIn; ++i)
    hessian[i * kIn + i] = 1.0 + 0.01 * double(i);
  for (const SchemeCase &c : kSchemes) {
    QuantScheme scheme = makeScheme(c.format, c.bits, c.group, c.symmetric);
    QuantizedTensor rtn =
        quantizeReference(scheme, PackingSpec(), {kOut, kIn}, layer.weights);
    for (bool actOrder : {false, true}) {
      GptqOptions options;
      options.actOrder = actOrder;
      auto gptq = quantizeGptq(scheme, PackingSpec(), kOut, kIn, layer.weights,
                               hessian, options);
      ASSERT_TRUE(bool(gptq)) << llvm::toString(gptq.takeError());
      EXPECT_EQ(gptq->packed, rtn.packed) << c.name;
      EXPECT_EQ(gptq->scales, rtn.scales) << c.name;
      EXPECT_EQ(gptq->zeroPoints, rtn.zeroPoints) << c.name;
    }
  }
}

// A channel that never fired (H_ii = 0) gets weight 0 and does not disturb
// the others.
TEST(GptqTest, DeadChannelsGetZeroWeight) {
  Layer layer = makeLayer(5);
  const int64_t dead = 9;
  for (int64_t i = 0; i < kIn; ++i) {
    layer.gram[dead * kIn + i] = 0.0;
    layer.gram[i * kIn + dead] = 0.0;
  }
  for (int64_t r = 0; r < kRows; ++r)
    layer.inputs[r * kIn + dead] = 0.0;
  QuantScheme scheme = makeScheme(ElementFormat::sint, 4, 32);
  GptqOptions options;
  options.actOrder = true;
  std::vector<float> q = runGptq(scheme, layer, options);
  ASSERT_EQ(q.size(), size_t(kOut * kIn));
  for (int64_t n = 0; n < kOut; ++n)
    EXPECT_EQ(q[n * kIn + dead], 0.0f);
  for (float v : q)
    EXPECT_TRUE(std::isfinite(v));
  double rtn = outputError(
      layer, dequantize(scheme, quantizeReference(scheme, PackingSpec(),
                                                  {kOut, kIn}, layer.weights)));
  EXPECT_LT(outputError(layer, q), rtn);
}

TEST(GptqTest, RejectsIndefiniteHessianAndBadShapes) {
  QuantScheme scheme = makeScheme(ElementFormat::sint, 4, 0);
  std::vector<float> weights = {1.0f, -0.5f, 0.25f, 2.0f};
  GptqOptions options;
  options.damp = 0.0;
  auto indefinite = quantizeGptq(scheme, PackingSpec(), 2, 2, weights,
                                 {1.0, 2.0, 2.0, 1.0}, options);
  ASSERT_FALSE(bool(indefinite));
  EXPECT_NE(llvm::toString(indefinite.takeError()).find("positive definite"),
            std::string::npos);
  auto badHessian = quantizeGptq(scheme, PackingSpec(), 2, 2, weights,
                                 {1.0, 0.0, 0.0}, options);
  ASSERT_FALSE(bool(badHessian));
  llvm::consumeError(badHessian.takeError());
  QuantScheme grouped = makeScheme(ElementFormat::sint, 4, 3);
  auto badGroup = quantizeGptq(grouped, PackingSpec(), 2, 2, weights,
                               {1.0, 0.0, 0.0, 1.0}, options);
  ASSERT_FALSE(bool(badGroup));
  llvm::consumeError(badGroup.takeError());
}

/// Builds `func @f(%x) { %w = constant; linalg.matmul {lowbit.name} }` with
/// the weights as a dense_resource blob, the form the model builder emits.
OwningOpRef<ModuleOp> buildLinearModule(MLIRContext &context,
                                        ArrayRef<float> weights) {
  OpBuilder b(&context);
  Location loc = b.getUnknownLoc();
  OwningOpRef<ModuleOp> module = ModuleOp::create(loc);
  b.setInsertionPointToEnd(module->getBody());
  auto xType = RankedTensorType::get({2, kIn}, b.getF32Type());
  auto yType = RankedTensorType::get({2, kOut}, b.getF32Type());
  auto wType = RankedTensorType::get({kOut, kIn}, b.getF32Type());
  auto func =
      func::FuncOp::create(b, loc, "f", b.getFunctionType({xType}, {yType}));
  b.setInsertionPointToStart(func.addEntryBlock());
  auto blob = DenseF32ResourceElementsAttr::get(
      wType, "blk.0.attn_q",
      HeapAsmResourceBlob::allocateAndCopyInferAlign(weights));
  Value w = arith::ConstantOp::create(b, loc, cast<TypedAttr>(blob));
  Value zero = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(yType, b.getF32FloatAttr(0.0f)));
  AffineExpr m, n, k;
  bindDims(&context, m, n, k);
  auto maps = b.getAffineMapArrayAttr({AffineMap::get(3, 0, {m, k}, &context),
                                       AffineMap::get(3, 0, {n, k}, &context),
                                       AffineMap::get(3, 0, {m, n}, &context)});
  auto matmul = linalg::MatmulOp::create(
      b, loc, TypeRange{yType}, ValueRange{func.getArgument(0), w},
      ValueRange{zero}, {b.getNamedAttr("indexing_maps", maps)});
  matmul->setAttr(kLayerNameAttr, b.getStringAttr("blk.0.attn_q"));
  func::ReturnOp::create(b, loc, matmul.getResult(0));
  return module;
}

template <typename T> ArrayRef<T> constantBlob(Value value) {
  auto attr = cast<DenseResourceElementsAttr>(
      value.getDefiningOp<arith::ConstantOp>().getValue());
  ArrayRef<char> bytes = attr.getRawHandle().getBlob()->getData();
  return ArrayRef<T>(reinterpret_cast<const T *>(bytes.data()),
                     bytes.size() / sizeof(T));
}

// The pass's round-to-nearest writes exactly the reference quantizer's codes
// and scales (f16, so compared after the exact conversion).
TEST(QuantizeWeightsPassTest, RtnMatchesQuantizeReference) {
  MLIRContext context;
  context.loadDialect<arith::ArithDialect, func::FuncDialect,
                      linalg::LinalgDialect, LowBitDialect>();
  Layer layer = makeLayer(11);
  for (int64_t group : {int64_t(0), int64_t(32)}) {
    OwningOpRef<ModuleOp> module = buildLinearModule(context, layer.weights);
    PassManager pm(&context);
    QuantizeWeightsPassOptions options;
    options.format = "i4";
    options.group = group;
    pm.addPass(createQuantizeWeightsPass(options));
    ASSERT_TRUE(succeeded(pm.run(*module)));
    LinearOp linear;
    module->walk([&](LinearOp op) { linear = op; });
    ASSERT_TRUE(linear);
    QuantScheme scheme = makeScheme(ElementFormat::sint, 4, group);
    EXPECT_EQ(getQuantScheme(linear.getScheme()).granularity,
              scheme.granularity);
    QuantizedTensor reference =
        quantizeReference(scheme, PackingSpec(), {kOut, kIn}, layer.weights);
    ArrayRef<uint8_t> codes = constantBlob<uint8_t>(linear.getWeight());
    EXPECT_EQ(std::vector<uint8_t>(codes.begin(), codes.end()),
              reference.packed);
    ArrayRef<uint16_t> scales = constantBlob<uint16_t>(linear.getScales());
    ASSERT_EQ(scales.size(), reference.scales.size());
    for (size_t i = 0; i < scales.size(); ++i)
      EXPECT_EQ(halfToFloat(scales[i]), reference.scales[i]);
  }
}

} // namespace
