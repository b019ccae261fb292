//===- QuantizeTest.cpp - Reference quantization error bounds -------------===//

#include "lowbit/Support/QuantMath.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace mlir::lowbit;

namespace {

std::vector<float> randomData(size_t n, unsigned seed, float spread = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, spread);
  std::vector<float> data(n);
  for (float &x : data)
    x = dist(rng);
  // A few outliers, as real activations and weights have.
  for (size_t i = 0; i < n; i += 97)
    data[i] *= 8.0f;
  return data;
}

struct SchemeCase {
  Granularity granularity;
  int64_t groupSize;
};

const SchemeCase kGranularities[] = {{Granularity::per_tensor, 0},
                                     {Granularity::per_channel, 0},
                                     {Granularity::per_group, 16},
                                     {Granularity::per_ic_group, 4}};

TEST(QuantizeTest, ScaleShapes) {
  QuantScheme scheme;
  scheme.format = {ElementFormat::sint, 4};
  llvm::SmallVector<int64_t> shape;
  scheme.granularity = Granularity::per_group;
  scheme.groupSize = 128;
  EXPECT_EQ(computeScaleShape(scheme, {4096, 4096}, shape), "");
  EXPECT_EQ(shape, (llvm::SmallVector<int64_t>{4096, 32}));
  EXPECT_NE(computeScaleShape(scheme, {4096, 4000}, shape), "");
  scheme.granularity = Granularity::per_ic_group;
  EXPECT_EQ(computeScaleShape(scheme, {256, 64}, shape), "");
  EXPECT_EQ(shape, (llvm::SmallVector<int64_t>{2, 64}));
  EXPECT_NE(computeScaleShape(scheme, {64}, shape), "");
  scheme.granularity = Granularity::per_channel;
  EXPECT_EQ(computeScaleShape(scheme, {2, 3, 8}, shape), "");
  EXPECT_EQ(shape, (llvm::SmallVector<int64_t>{2, 3, 1}));
}

TEST(QuantizeTest, ScaleIndexerCoversEveryScale) {
  for (const SchemeCase &c : kGranularities) {
    QuantScheme scheme;
    scheme.format = {ElementFormat::sint, 4};
    scheme.granularity = c.granularity;
    scheme.groupSize = c.groupSize;
    ScaleIndexer indexer(scheme, {2, 8, 32});
    std::vector<int> hits(indexer.getNumScales(), 0);
    for (int64_t row = 0; row < indexer.getNumRows(); ++row)
      for (int64_t k = 0; k < indexer.getRowLength(); ++k)
        ++hits[indexer.index(row, k)];
    int64_t perScale = 2 * 8 * 32 / indexer.getNumScales();
    for (int count : hits)
      EXPECT_EQ(count, perScale);
  }
}

// Round to nearest: every element is within half a step (s/2) of its
// dequantized value, for every integer width, granularity, zero-point
// choice and scale storage type.
TEST(QuantizeTest, IntegerErrorAtMostHalfAStep) {
  std::vector<int64_t> shape{16, 64};
  std::vector<float> data = randomData(16 * 64, 1);
  for (unsigned bits = 2; bits <= 8; ++bits) {
    for (const SchemeCase &c : kGranularities) {
      for (bool symmetric : {true, false}) {
        for (ScaleFormat scale :
             {ScaleFormat::f32, ScaleFormat::f16, ScaleFormat::bf16}) {
          QuantScheme scheme;
          scheme.format = {symmetric ? ElementFormat::sint : ElementFormat::uint,
                           bits};
          scheme.granularity = c.granularity;
          scheme.groupSize = c.groupSize;
          scheme.symmetric = symmetric;
          scheme.scale = scale;
          for (PackingSpec packing :
               {PackingSpec{PackOrder::sequential, 0},
                PackingSpec{PackOrder::interleaved, 16}}) {
            if (packing.order == PackOrder::interleaved && 8 % bits != 0)
              continue;
            QuantizedTensor q = quantizeReference(scheme, packing, shape, data);
            std::vector<float> back =
                dequantizeReference(scheme, packing, shape, q);
            ScaleIndexer indexer(scheme, shape);
            for (int64_t row = 0; row < 16; ++row) {
              for (int64_t k = 0; k < 64; ++k) {
                float s = q.scales[indexer.index(row, k)];
                float x = data[row * 64 + k];
                ASSERT_LE(std::fabs(back[row * 64 + k] - x),
                          0.5f * s * (1 + 1e-5f) + 1e-6f * std::fabs(x))
                    << bits << "-bit, granularity "
                    << stringifyGranularity(c.granularity).str()
                    << (symmetric ? " symmetric" : " asymmetric");
              }
            }
          }
        }
      }
    }
  }
}

// Values a float format can represent exactly (times a power-of-two scale)
// come back bit for bit.
TEST(QuantizeTest, FloatFormatsRoundTripRepresentableValues) {
  for (FormatSpec format :
       {FormatSpec{ElementFormat::f8E4M3FN, 8},
        FormatSpec{ElementFormat::f8E5M2, 8},
        FormatSpec{ElementFormat::f4E2M1FN, 4},
        FormatSpec{ElementFormat::nf4, 4}}) {
    Codebook book = getCodebook(format);
    int64_t n = book.values.size();
    int64_t groups = 4, group = ((n + 7) / 8) * 8;
    std::vector<float> data;
    const float kScale = 0.25f;
    for (int64_t g = 0; g < groups; ++g)
      for (int64_t i = 0; i < group; ++i)
        // Each group holds the largest magnitude, so its scale is exactly
        // kScale, and the remaining codebook values in some order.
        data.push_back(kScale * (i == 0 ? book.values.back()
                                        : book.values[(i * 7 + g) % n]));
    QuantScheme scheme;
    scheme.format = format;
    scheme.granularity = Granularity::per_group;
    scheme.groupSize = group;
    std::vector<int64_t> shape{groups, group};
    PackingSpec packing{PackOrder::sequential, 0};
    QuantizedTensor q = quantizeReference(scheme, packing, shape, data);
    std::vector<float> back = dequantizeReference(scheme, packing, shape, q);
    for (size_t i = 0; i < data.size(); ++i)
      ASSERT_EQ(back[i], data[i])
          << stringifyElementFormat(format.format).str() << " element " << i;
  }
}

// For the float formats, the error is at most half the gap between the two
// representable values around x (times the scale).
TEST(QuantizeTest, FloatFormatsRoundToNearest) {
  std::vector<int64_t> shape{8, 64};
  std::vector<float> data = randomData(8 * 64, 3);
  for (FormatSpec format :
       {FormatSpec{ElementFormat::f8E4M3FN, 8},
        FormatSpec{ElementFormat::f4E2M1FN, 4},
        FormatSpec{ElementFormat::nf4, 4}}) {
    for (ScaleFormat scaleFormat : {ScaleFormat::f32, ScaleFormat::e8m0}) {
      QuantScheme scheme;
      scheme.format = format;
      scheme.granularity = Granularity::per_group;
      scheme.groupSize = 32;
      scheme.scale = scaleFormat;
      PackingSpec packing{PackOrder::sequential, 0};
      QuantizedTensor q = quantizeReference(scheme, packing, shape, data);
      std::vector<float> back = dequantizeReference(scheme, packing, shape, q);
      Codebook book = getCodebook(format);
      ScaleIndexer indexer(scheme, shape);
      for (int64_t row = 0; row < 8; ++row) {
        for (int64_t k = 0; k < 64; ++k) {
          float s = q.scales[indexer.index(row, k)];
          float x = data[row * 64 + k] / s;
          // The representable neighbours of x bound the error.
          float best = INFINITY;
          for (float v : book.values)
            best = std::min(best, std::fabs(v - x));
          ASSERT_NEAR(std::fabs(back[row * 64 + k] / s - x), best,
                      1e-6f * (1.0f + std::fabs(x)))
              << stringifyElementFormat(format.format).str();
        }
      }
    }
  }
}

TEST(QuantizeTest, TernaryUsesMeanAbsoluteScale) {
  QuantScheme scheme;
  scheme.format = {ElementFormat::ternary, 2};
  scheme.granularity = Granularity::per_channel;
  std::vector<float> data{0.1f, -0.2f, 0.9f, -0.6f, 0.0f};
  std::vector<int64_t> shape{1, 5};
  for (PackingSpec packing :
       {PackingSpec{PackOrder::sequential, 0}, PackingSpec{PackOrder::base3, 0}}) {
    QuantizedTensor q = quantizeReference(scheme, packing, shape, data);
    ASSERT_EQ(q.scales.size(), 1u);
    EXPECT_FLOAT_EQ(q.scales[0], 0.36f);
    std::vector<float> back = dequantizeReference(scheme, packing, shape, q);
    std::vector<float> expected{0.0f, -0.36f, 0.36f, -0.36f, 0.0f};
    for (size_t i = 0; i < data.size(); ++i)
      EXPECT_FLOAT_EQ(back[i], expected[i]);
  }
}

TEST(QuantizeTest, AsymmetricKeepsZeroExact) {
  QuantScheme scheme;
  scheme.format = {ElementFormat::uint, 4};
  scheme.granularity = Granularity::per_channel;
  scheme.symmetric = false;
  std::vector<float> data{0.0f, 0.5f, 1.0f, 2.0f, 3.0f, 0.0f, 1.5f, 2.5f};
  std::vector<int64_t> shape{1, 8};
  PackingSpec packing{PackOrder::sequential, 0};
  QuantizedTensor q = quantizeReference(scheme, packing, shape, data);
  std::vector<float> back = dequantizeReference(scheme, packing, shape, q);
  EXPECT_EQ(back[0], 0.0f);
  EXPECT_EQ(back[5], 0.0f);
  EXPECT_FLOAT_EQ(q.scales[0], 3.0f / 15.0f);
}

} // namespace
