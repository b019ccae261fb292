//===- ObserversTest.cpp - Calibration statistics -------------------------===//

#include "lowbit/Runtime/Observers.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace lowbit::runtime;

namespace {

// Statistics of a strided [2, 3, 4] view (rows are the 6 leading indices)
// against a direct computation.
TEST(ObserversTest, MatchesDirectComputation) {
  const int64_t sizes[3] = {2, 3, 4};
  // A padded layout: rows of 5 floats, 4 used, planes of 16.
  const int64_t strides[3] = {16, 5, 1};
  std::vector<float> storage(32);
  std::mt19937 rng(11);
  std::normal_distribution<float> dist;
  for (float &x : storage)
    x = dist(rng);

  ObserverRegistry registry({"layer"});
  uint32_t all = kObserveAbsMax | kObserveMeanAbs | kObserveGram;
  registry.observe(0, all, 3, storage.data(), sizes, strides);
  registry.observe(0, all, 3, storage.data(), sizes, strides); // Twice.
  ASSERT_EQ(registry.getError(), "");
  const ChannelStatistics &stats = registry.get(0);
  EXPECT_EQ(stats.rows, 12);
  EXPECT_EQ(stats.channels, 4);

  std::vector<std::vector<float>> rows;
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 3; ++b) {
      std::vector<float> row;
      for (int64_t k = 0; k < 4; ++k)
        row.push_back(storage[a * 16 + b * 5 + k]);
      rows.push_back(row);
    }
  std::vector<double> gram = stats.getGram();
  std::vector<float> meanAbs = stats.getMeanAbs();
  for (int64_t k = 0; k < 4; ++k) {
    float absMax = 0.0f;
    double absSum = 0.0;
    for (auto &row : rows) {
      absMax = std::max(absMax, std::fabs(row[k]));
      absSum += std::fabs(row[k]);
    }
    EXPECT_EQ(stats.absMax[k], absMax);
    EXPECT_NEAR(meanAbs[k], absSum / 6.0, 1e-6);
    for (int64_t j = 0; j < 4; ++j) {
      double dot = 0.0;
      for (auto &row : rows)
        dot += double(row[k]) * double(row[j]);
      EXPECT_NEAR(gram[k * 4 + j], 2.0 * dot, 1e-9);
    }
  }
}

TEST(ObserversTest, ReportsInconsistentUse) {
  ObserverRegistry registry({"a"});
  float data[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  const int64_t sizes4[2] = {2, 4}, strides4[2] = {4, 1};
  const int64_t sizes2[2] = {4, 2}, strides2[2] = {2, 1};
  registry.observe(0, kObserveAbsMax, 2, data, sizes4, strides4);
  registry.observe(0, kObserveAbsMax, 2, data, sizes2, strides2);
  EXPECT_NE(registry.getError().find("saw 4 channels, then 2"),
            std::string::npos);
  ObserverRegistry other({"a"});
  other.observe(3, kObserveAbsMax, 2, data, sizes4, strides4);
  EXPECT_NE(other.getError().find("unknown"), std::string::npos);
}

} // namespace
