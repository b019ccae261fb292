//===- LowRankTest.cpp - Low-rank factors against the exact SVD -----------===//
//
// The randomized factorization must find the top singular values that
// one-sided Jacobi computes exactly, give the optimal approximation error
// (the norm of the trailing singular values), and handle rank-deficient and
// full-rank requests.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Quantization/LowRank.h"
#include "lowbit/Quantization/WeightQuantization.h"

#include "gtest/gtest.h"

#include <cmath>
#include <random>

using namespace mlir::lowbit;

namespace {

/// A rows x columns matrix U diag(s) V^T with s_i = decay^i and random
/// orthogonal-ish U, V (Gaussian; their columns are close to orthogonal
/// for these sizes), plus small noise: a spectrum like a trained layer's.
std::vector<float> makeMatrix(int64_t rows, int64_t columns, double decay,
                              unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  int64_t n = std::min(rows, columns);
  std::vector<double> u(rows * n), v(columns * n);
  for (double &x : u)
    x = normal(rng) / std::sqrt(double(rows));
  for (double &x : v)
    x = normal(rng) / std::sqrt(double(columns));
  std::vector<float> w(rows * columns);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < columns; ++c) {
      double sum = 0.01 * normal(rng);
      for (int64_t i = 0; i < n; ++i)
        sum += u[r * n + i] * std::pow(decay, double(i)) * v[c * n + i];
      w[r * columns + c] = float(sum);
    }
  return w;
}

double frobeniusError(const std::vector<float> &w, const LowRankFactors &f,
                      int64_t rows, int64_t columns) {
  double error = 0.0;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < columns; ++c) {
      double approx = 0.0;
      for (int64_t i = 0; i < f.rank; ++i)
        approx += f.up[r * f.rank + i] * f.down[i * columns + c];
      double d = w[r * columns + c] - approx;
      error += d * d;
    }
  return std::sqrt(error);
}

TEST(LowRankTest, MatchesExactSingularValuesAndOptimalError) {
  for (auto [rows, columns] : {std::pair<int64_t, int64_t>{48, 96}, {96, 48}}) {
    std::vector<float> w = makeMatrix(rows, columns, 0.8, 3);
    std::vector<double> exact = computeSingularValues(
        std::vector<double>(w.begin(), w.end()), rows, columns);
    for (int64_t rank : {1, 4, 12}) {
      LowRankFactors f = computeLowRank(w, rows, columns, rank);
      ASSERT_EQ(f.rank, rank);
      // Four rounds of subspace iteration converge fast at the top of the
      // spectrum and more slowly where it flattens into the noise floor.
      for (int64_t i = 0; i < rank; ++i)
        EXPECT_NEAR(f.singularValues[i], exact[i],
                    (i < 4 ? 1e-6 : 5e-4) * exact[0])
            << rows << "x" << columns << " rank " << rank << " value " << i;
      // Eckart-Young: the best error is the norm of what is left.
      double optimal = 0.0;
      for (size_t i = rank; i < exact.size(); ++i)
        optimal += exact[i] * exact[i];
      optimal = std::sqrt(optimal);
      EXPECT_NEAR(frobeniusError(w, f, rows, columns), optimal,
                  1e-3 * optimal)
          << rows << "x" << columns << " rank " << rank;
      // The right factors are orthonormal.
      for (int64_t i = 0; i < rank; ++i)
        for (int64_t j = 0; j < rank; ++j) {
          double dot = 0.0;
          for (int64_t c = 0; c < columns; ++c)
            dot += f.down[i * columns + c] * f.down[j * columns + c];
          EXPECT_NEAR(dot, i == j ? 1.0 : 0.0, 1e-9);
        }
    }
  }
}

TEST(LowRankTest, FullRankReproducesTheMatrix) {
  std::vector<float> w = makeMatrix(16, 24, 0.5, 9);
  LowRankFactors f = computeLowRank(w, 16, 24, 16);
  double norm = 0.0;
  for (float x : w)
    norm += double(x) * x;
  EXPECT_LT(frobeniusError(w, f, 16, 24), 1e-6 * std::sqrt(norm));
}

TEST(LowRankTest, RankDeficientMatrixGivesZeroTrailingValues) {
  // Rank 2: every row is a combination of two vectors.
  std::vector<float> w(12 * 20);
  for (int64_t r = 0; r < 12; ++r)
    for (int64_t c = 0; c < 20; ++c)
      w[r * 20 + c] = float((r + 1) * std::sin(c + 1.0) + (r % 3) * 0.5 * c);
  LowRankFactors f = computeLowRank(w, 12, 20, 5);
  EXPECT_GT(f.singularValues[1], 1e-3);
  for (int64_t i = 2; i < 5; ++i)
    EXPECT_LT(f.singularValues[i], 1e-5 * f.singularValues[0]);
  EXPECT_LT(frobeniusError(w, f, 12, 20), 1e-4);
}

TEST(OutputErrorTest, EqualsTheErrorOnTheData) {
  // sum_n dW_n G dW_n^T with G = X^T X is ||X dW^T||^2.
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  const int64_t rows = 7, columns = 19, samples = 33;
  std::vector<float> delta(rows * columns), x(samples * columns);
  for (float &v : delta)
    v = normal(rng);
  for (float &v : x)
    v = normal(rng);
  std::vector<float> gram(columns * columns, 0.0f);
  double direct = 0.0;
  for (int64_t s = 0; s < samples; ++s) {
    for (int64_t i = 0; i < columns; ++i)
      for (int64_t j = 0; j < columns; ++j)
        gram[i * columns + j] += x[s * columns + i] * x[s * columns + j];
    for (int64_t r = 0; r < rows; ++r) {
      double y = 0.0;
      for (int64_t c = 0; c < columns; ++c)
        y += double(delta[r * columns + c]) * x[s * columns + c];
      direct += y * y;
    }
  }
  EXPECT_NEAR(getOutputError(rows, columns, delta, gram), direct,
              1e-4 * direct);
}

} // namespace
