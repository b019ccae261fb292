//===- LowRank.cpp - Low-rank approximation of weight matrices ------------===//

#include "lowbit/Quantization/LowRank.h"

#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>

using namespace mlir::lowbit;

namespace {

/// Standard normal numbers from a SplitMix64 stream (Box-Muller).
class Gaussian {
public:
  explicit Gaussian(uint64_t seed) : state(seed) {}
  double next() {
    double u1 = uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }

private:
  double uniform() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (double((z >> 11) + 1)) * 0x1.0p-53;
  }
  uint64_t state;
};

/// A row-major matrix of doubles.
struct Matrix {
  int64_t rows = 0, columns = 0;
  std::vector<double> data;
  Matrix(int64_t rows, int64_t columns)
      : rows(rows), columns(columns), data(rows * columns, 0.0) {}
  double &at(int64_t r, int64_t c) { return data[r * columns + c]; }
  double at(int64_t r, int64_t c) const { return data[r * columns + c]; }
};

/// W X, with W `rows x columns` floats and X `columns x p`.
Matrix multiply(llvm::ArrayRef<float> w, int64_t rows, int64_t columns,
                const Matrix &x) {
  Matrix y(rows, x.columns);
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = &w[r * columns];
    double *out = &y.data[r * x.columns];
    for (int64_t k = 0; k < columns; ++k) {
      double value = row[k];
      const double *in = &x.data[k * x.columns];
      for (int64_t j = 0; j < x.columns; ++j)
        out[j] += value * in[j];
    }
  }
  return y;
}

/// W^T Y, with W `rows x columns` floats and Y `rows x p`.
Matrix multiplyTransposed(llvm::ArrayRef<float> w, int64_t rows,
                          int64_t columns, const Matrix &y) {
  Matrix z(columns, y.columns);
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = &w[r * columns];
    const double *in = &y.data[r * y.columns];
    for (int64_t k = 0; k < columns; ++k) {
      double value = row[k];
      double *out = &z.data[k * y.columns];
      for (int64_t j = 0; j < y.columns; ++j)
        out[j] += value * in[j];
    }
  }
  return z;
}

/// Orthonormalizes the columns of `m` in place: modified Gram-Schmidt, each
/// column projected out twice ("twice is enough"). A column that lies in the
/// span of the earlier ones (the matrix has lower rank) carries no new
/// direction, only rounding noise: it becomes zero, which the callers treat
/// as a direction of singular value 0.
void orthonormalizeColumns(Matrix &m) {
  for (int64_t j = 0; j < m.columns; ++j) {
    auto norm = [&] {
      double sum = 0.0;
      for (int64_t r = 0; r < m.rows; ++r)
        sum += m.at(r, j) * m.at(r, j);
      return std::sqrt(sum);
    };
    double original = norm();
    for (int pass = 0; pass < 2; ++pass)
      for (int64_t i = 0; i < j; ++i) {
        double dot = 0.0;
        for (int64_t r = 0; r < m.rows; ++r)
          dot += m.at(r, i) * m.at(r, j);
        for (int64_t r = 0; r < m.rows; ++r)
          m.at(r, j) -= dot * m.at(r, i);
      }
    double remaining = norm();
    double inverse =
        remaining > 1e-10 * original && remaining > 1e-300 ? 1.0 / remaining
                                                           : 0.0;
    for (int64_t r = 0; r < m.rows; ++r)
      m.at(r, j) *= inverse;
  }
}

/// Eigenvalues and eigenvectors (columns of `vectors`) of the symmetric
/// matrix `a` (n x n), by cyclic Jacobi rotations; `a` is destroyed.
void symmetricEigen(Matrix &a, std::vector<double> &values, Matrix &vectors) {
  int64_t n = a.rows;
  vectors = Matrix(n, n);
  for (int64_t i = 0; i < n; ++i)
    vectors.at(i, i) = 1.0;
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0.0, total = 0.0;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        total += a.at(i, j) * a.at(i, j);
        if (i != j)
          off += a.at(i, j) * a.at(i, j);
      }
    if (off <= 1e-30 * total)
      break;
    for (int64_t p = 0; p < n; ++p) {
      for (int64_t q = p + 1; q < n; ++q) {
        double apq = a.at(p, q);
        if (std::fabs(apq) < 1e-300)
          continue;
        double theta = (a.at(q, q) - a.at(p, p)) / (2.0 * apq);
        double t = (theta >= 0 ? 1.0 : -1.0) /
                   (std::fabs(theta) + std::sqrt(theta * theta + 1.0));
        double c = 1.0 / std::sqrt(t * t + 1.0), s = t * c;
        for (int64_t k = 0; k < n; ++k) {
          double akp = a.at(k, p), akq = a.at(k, q);
          a.at(k, p) = c * akp - s * akq;
          a.at(k, q) = s * akp + c * akq;
        }
        for (int64_t k = 0; k < n; ++k) {
          double apk = a.at(p, k), aqk = a.at(q, k);
          a.at(p, k) = c * apk - s * aqk;
          a.at(q, k) = s * apk + c * aqk;
        }
        for (int64_t k = 0; k < n; ++k) {
          double vkp = vectors.at(k, p), vkq = vectors.at(k, q);
          vectors.at(k, p) = c * vkp - s * vkq;
          vectors.at(k, q) = s * vkp + c * vkq;
        }
      }
    }
  }
  values.resize(n);
  for (int64_t i = 0; i < n; ++i)
    values[i] = a.at(i, i);
}

} // namespace

LowRankFactors mlir::lowbit::computeLowRank(llvm::ArrayRef<float> weights,
                                            int64_t rows, int64_t columns,
                                            int64_t rank, int iterations,
                                            int64_t oversample,
                                            uint64_t seed) {
  assert(rank >= 1 && rank <= std::min(rows, columns) && "rank out of range");
  int64_t p = std::min(rank + oversample, std::min(rows, columns));

  // The dominant subspace of the columns of W, by subspace iteration.
  Gaussian gaussian(seed);
  Matrix omega(columns, p);
  for (double &value : omega.data)
    value = gaussian.next();
  Matrix q = multiply(weights, rows, columns, omega);
  orthonormalizeColumns(q);
  for (int it = 0; it < iterations; ++it) {
    Matrix z = multiplyTransposed(weights, rows, columns, q);
    orthonormalizeColumns(z);
    q = multiply(weights, rows, columns, z);
    orthonormalizeColumns(q);
  }

  // B = Q^T W (p x columns), then B B^T = U S^2 U^T exactly.
  Matrix bt = multiplyTransposed(weights, rows, columns, q); // columns x p
  Matrix gram(p, p);
  for (int64_t i = 0; i < p; ++i)
    for (int64_t j = i; j < p; ++j) {
      double dot = 0.0;
      for (int64_t k = 0; k < columns; ++k)
        dot += bt.at(k, i) * bt.at(k, j);
      gram.at(i, j) = gram.at(j, i) = dot;
    }
  std::vector<double> eigenvalues;
  Matrix eigenvectors(p, p);
  symmetricEigen(gram, eigenvalues, eigenvectors);
  std::vector<int64_t> order(p);
  std::iota(order.begin(), order.end(), 0);
  llvm::sort(order, [&](int64_t a, int64_t b) {
    return eigenvalues[a] > eigenvalues[b];
  });

  LowRankFactors factors;
  factors.rank = rank;
  factors.up.assign(rows * rank, 0.0);
  factors.down.assign(rank * columns, 0.0);
  factors.singularValues.assign(rank, 0.0);
  for (int64_t i = 0; i < rank; ++i) {
    int64_t e = order[i];
    double sigma = std::sqrt(std::max(eigenvalues[e], 0.0));
    factors.singularValues[i] = sigma;
    if (sigma <= 0.0)
      continue;
    // down_i = u_i^T B / sigma: a unit right singular vector.
    for (int64_t k = 0; k < columns; ++k) {
      double sum = 0.0;
      for (int64_t j = 0; j < p; ++j)
        sum += eigenvectors.at(j, e) * bt.at(k, j);
      factors.down[i * columns + k] = sum / sigma;
    }
    // up_i = Q u_i sigma.
    for (int64_t r = 0; r < rows; ++r) {
      double sum = 0.0;
      for (int64_t j = 0; j < p; ++j)
        sum += q.at(r, j) * eigenvectors.at(j, e);
      factors.up[r * rank + i] = sum * sigma;
    }
  }
  return factors;
}

std::vector<double>
mlir::lowbit::computeSingularValues(llvm::ArrayRef<double> matrix,
                                    int64_t rows, int64_t columns) {
  // One-sided Jacobi on the columns of A (or of A^T, whichever is taller).
  bool transpose = rows < columns;
  int64_t m = transpose ? columns : rows, n = transpose ? rows : columns;
  Matrix a(m, n);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < columns; ++c)
      (transpose ? a.at(c, r) : a.at(r, c)) = matrix[r * columns + c];
  for (int sweep = 0; sweep < 100; ++sweep) {
    bool rotated = false;
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t j = i + 1; j < n; ++j) {
        double alpha = 0.0, beta = 0.0, gamma = 0.0;
        for (int64_t k = 0; k < m; ++k) {
          alpha += a.at(k, i) * a.at(k, i);
          beta += a.at(k, j) * a.at(k, j);
          gamma += a.at(k, i) * a.at(k, j);
        }
        if (std::fabs(gamma) <= 1e-15 * std::sqrt(alpha * beta))
          continue;
        rotated = true;
        double zeta = (beta - alpha) / (2.0 * gamma);
        double t = (zeta >= 0 ? 1.0 : -1.0) /
                   (std::fabs(zeta) + std::sqrt(1.0 + zeta * zeta));
        double c = 1.0 / std::sqrt(1.0 + t * t), s = c * t;
        for (int64_t k = 0; k < m; ++k) {
          double x = a.at(k, i), y = a.at(k, j);
          a.at(k, i) = c * x - s * y;
          a.at(k, j) = s * x + c * y;
        }
      }
    }
    if (!rotated)
      break;
  }
  std::vector<double> values(n);
  for (int64_t j = 0; j < n; ++j) {
    double norm = 0.0;
    for (int64_t k = 0; k < m; ++k)
      norm += a.at(k, j) * a.at(k, j);
    values[j] = std::sqrt(norm);
  }
  llvm::sort(values, std::greater<double>());
  return values;
}
