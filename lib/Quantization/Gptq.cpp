//===- Gptq.cpp - GPTQ weight quantization --------------------------------===//

#include "lowbit/Quantization/Gptq.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallVector.h"

#include <algorithm>
#include <cmath>
#include <numeric>

using namespace mlir::lowbit;

std::vector<double>
mlir::lowbit::getHessianFromGram(llvm::ArrayRef<double> gram, int64_t rows) {
  double factor = rows > 0 ? 2.0 / static_cast<double>(rows) : 0.0;
  std::vector<double> hessian(gram.size());
  for (size_t i = 0; i < gram.size(); ++i)
    hessian[i] = factor * gram[i];
  return hessian;
}

/// The upper triangular U with H^-1 = U^T U, from which GPTQ takes its error
/// feedback (the reference implementation computes it as
/// cholesky(cholesky_inverse(cholesky(H)), upper=True)). We factor H = R R^T
/// with R upper triangular, a Cholesky factorisation started from the last
/// row, and invert R: H^-1 = R^-T R^-1, so U = R^-1, the unique such factor
/// with a positive diagonal, at half the cost of the three-step route. `h` is
/// n x n, row-major and symmetric; only its upper triangle is read, and it is
/// overwritten with R. Returns false if H is not positive definite.
static bool getUpperCholeskyOfInverse(std::vector<double> &h, int64_t n,
                                      std::vector<double> &u) {
  // R[i][j] = (H[i][j] - sum_{k>j} R[i][k] R[j][k]) / R[j][j] for i <= j.
  for (int64_t j = n - 1; j >= 0; --j) {
    double *rowJ = &h[j * n];
    double diagonal = rowJ[j];
    for (int64_t k = j + 1; k < n; ++k)
      diagonal -= rowJ[k] * rowJ[k];
    if (!(diagonal > 0.0)) // Also rejects NaN.
      return false;
    diagonal = std::sqrt(diagonal);
    rowJ[j] = diagonal;
    for (int64_t i = 0; i < j; ++i) {
      double *rowI = &h[i * n];
      double sum = rowI[j];
      for (int64_t k = j + 1; k < n; ++k)
        sum -= rowI[k] * rowJ[k];
      rowI[j] = sum / diagonal;
    }
  }
  // Row i of U = R^-1 from (U R)[i][j] = delta_ij, accumulating along rows of
  // R so that every inner loop is contiguous.
  u.assign(n * n, 0.0);
  std::vector<double> acc(n);
  for (int64_t i = 0; i < n; ++i) {
    std::fill(acc.begin() + i, acc.end(), 0.0);
    double *rowU = &u[i * n];
    for (int64_t k = i; k < n; ++k) {
      const double *rowR = &h[k * n];
      double value = ((k == i ? 1.0 : 0.0) - acc[k]) / rowR[k];
      rowU[k] = value;
      for (int64_t j = k + 1; j < n; ++j)
        acc[j] += value * rowR[j];
    }
  }
  return true;
}

llvm::Expected<QuantizedTensor> mlir::lowbit::quantizeGptq(
    const QuantScheme &scheme, PackingSpec packing, int64_t outFeatures,
    int64_t inFeatures, llvm::ArrayRef<float> weights,
    llvm::ArrayRef<double> hessian, const GptqOptions &options) {
  const int64_t n = outFeatures, k = inFeatures;
  if (n <= 0 || k <= 0 || static_cast<int64_t>(weights.size()) != n * k)
    return llvm::createStringError("GPTQ: expected " + std::to_string(n) +
                                   " x " + std::to_string(k) + " weights");
  if (static_cast<int64_t>(hessian.size()) != k * k)
    return llvm::createStringError(
        "GPTQ: expected a " + std::to_string(k) + " x " + std::to_string(k) +
        " Hessian, got " + std::to_string(hessian.size()) + " values");
  std::string problem = checkPacking(packing, scheme.format, k);
  if (!problem.empty())
    return llvm::createStringError("GPTQ: " + problem);
  // Columns sharing scales: a group along K, the whole row, or (for
  // per-input-channel groups, whose scales run down a column) one column.
  const bool perInputChannel = scheme.granularity == Granularity::per_ic_group;
  if (perInputChannel && (scheme.groupSize <= 0 || n % scheme.groupSize != 0))
    return llvm::createStringError("GPTQ: ic-group size " +
                                   std::to_string(scheme.groupSize) +
                                   " does not divide " + std::to_string(n));
  const int64_t groupSize = scheme.granularity == Granularity::per_group
                                ? scheme.groupSize
                                : perInputChannel ? 1 : k;
  if (groupSize <= 0 || k % groupSize != 0)
    return llvm::createStringError("GPTQ: group size " +
                                   std::to_string(groupSize) +
                                   " does not divide " + std::to_string(k));
  const int64_t blockSize = std::max<int64_t>(options.blockSize, 1);

  // Channels calibration never saw active carry no information: GPTQ gives
  // them H_ii = 1 (keeping H invertible) and weight 0.
  std::vector<double> h(hessian.begin(), hessian.end());
  std::vector<bool> dead(k, false);
  for (int64_t c = 0; c < k; ++c) {
    if (h[c * k + c] == 0.0) {
      dead[c] = true;
      h[c * k + c] = 1.0;
    }
  }

  // The quantization order: act-order takes the most salient columns (the
  // largest H_ii) first, while most columns are still free to absorb error.
  llvm::SmallVector<int64_t> order(k);
  std::iota(order.begin(), order.end(), 0);
  if (options.actOrder)
    llvm::sort(order, [&](int64_t a, int64_t b) {
      double ha = h[a * k + a], hb = h[b * k + b];
      return ha > hb || (ha == hb && a < b); // Ties keep the layout order.
    });
  llvm::SmallVector<int64_t> position(k);
  for (int64_t i = 0; i < k; ++i)
    position[order[i]] = i;

  // The damped Hessian in quantization order, and U with H^-1 = U^T U.
  double meanDiagonal = 0.0;
  for (int64_t c = 0; c < k; ++c)
    meanDiagonal += h[c * k + c];
  meanDiagonal /= static_cast<double>(k);
  std::vector<double> permuted(k * k);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      permuted[i * k + j] = h[order[i] * k + order[j]];
  for (int64_t i = 0; i < k; ++i)
    permuted[i * k + i] += options.damp * meanDiagonal;
  std::vector<double> u;
  if (!getUpperCholeskyOfInverse(permuted, k, u))
    return llvm::createStringError(
        "GPTQ: the damped Hessian is not positive definite; increase damp");

  // The weights being quantized, in quantization order and in double for
  // the error feedback.
  std::vector<double> w(n * k);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t i = 0; i < k; ++i)
      w[r * k + i] = dead[order[i]] ? 0.0 : weights[r * k + order[i]];

  const int64_t shape[] = {n, k};
  ScaleIndexer indexer(scheme, shape);
  QuantizedTensor result;
  result.scales.assign(indexer.getNumScales(), 1.0f);
  if (!scheme.symmetric)
    result.zeroPoints.assign(indexer.getNumScales(), 0.0f);
  // A group's scales are the reference ones of its N x groupSize block (for
  // per-input-channel groups, of its column, G rows a scale).
  QuantScheme groupScheme = scheme;
  groupScheme.granularity = scheme.granularity == Granularity::per_tensor
                                ? Granularity::per_tensor
                                : Granularity::per_channel;
  groupScheme.groupSize = 0;
  const int64_t rowsPerScale = perInputChannel ? scheme.groupSize : 1;
  const int64_t groupShape[] = {n / rowsPerScale, groupSize * rowsPerScale};
  llvm::SmallVector<float> decoded = getDecodeTable(scheme.format);

  std::vector<uint8_t> fields(n * k);
  std::vector<bool> groupDone(k / groupSize, false);
  std::vector<float> groupValues(n * groupSize);
  // Err[r][t]: the scaled error of column i1 + t of the current block.
  std::vector<double> err(n * blockSize);

  for (int64_t i1 = 0; i1 < k; i1 += blockSize) {
    const int64_t i2 = std::min(i1 + blockSize, k);
    for (int64_t i = i1; i < i2; ++i) {
      const int64_t column = order[i], group = column / groupSize;
      if (!groupDone[group]) {
        // The group's weights as they stand now. Columns past this block
        // have not received the updates of the block's quantized columns
        // yet (they are applied in a batch at its end): add them here.
        // Laid out [n / rowsPerScale, groupSize * rowsPerScale]: one row of
        // the view per scale.
        for (int64_t c = 0; c < groupSize; ++c) {
          const int64_t p = position[group * groupSize + c];
          for (int64_t r = 0; r < n; ++r) {
            double value = w[r * k + p];
            if (p >= i2)
              for (int64_t t = 0; t < i - i1; ++t)
                value -= err[r * blockSize + t] * u[(i1 + t) * k + p];
            groupValues[(r / rowsPerScale) * groupSize * rowsPerScale +
                        (r % rowsPerScale) * groupSize + c] =
                static_cast<float>(value);
          }
        }
        QuantizedTensor groupScales =
            computeReferenceScales(groupScheme, groupShape, groupValues);
        for (int64_t r = 0; r < n; ++r) {
          int64_t from = groupScales.scales.size() == 1 ? 0 : r / rowsPerScale;
          int64_t to = indexer.index(r, group * groupSize);
          result.scales[to] = groupScales.scales[from];
          if (!scheme.symmetric)
            result.zeroPoints[to] = groupScales.zeroPoints[from];
        }
        groupDone[group] = true;
      }

      // Quantize column i as quantizeWithScales would, and push its error
      // onto the rest of the block.
      const double *rowU = &u[i * k];
      const double diagonal = rowU[i];
      for (int64_t r = 0; r < n; ++r) {
        const int64_t s = indexer.index(r, column);
        const float scale = result.scales[s];
        const float zero = scheme.symmetric ? 0.0f : result.zeroPoints[s];
        double *rowW = &w[r * k];
        const double x = rowW[i];
        float scaled = static_cast<float>(x) / scale;
        if (!scheme.symmetric)
          scaled += zero;
        uint32_t field = encodeValue(scheme.format, scaled);
        fields[r * k + column] = static_cast<uint8_t>(field);
        const double q = (decoded[field] - zero) * scale;
        const double e = (x - q) / diagonal;
        err[r * blockSize + (i - i1)] = e;
        for (int64_t j = i + 1; j < i2; ++j)
          rowW[j] -= e * rowU[j];
      }
    }
    // The lazy batch update: W[:, i2:] -= Err * U[i1:i2, i2:].
    for (int64_t r = 0; r < n; ++r) {
      double *rowW = &w[r * k];
      for (int64_t t = 0; t < i2 - i1; ++t) {
        const double e = err[r * blockSize + t];
        if (e == 0.0)
          continue;
        const double *rowU = &u[(i1 + t) * k];
        for (int64_t j = i2; j < k; ++j)
          rowW[j] -= e * rowU[j];
      }
    }
  }

  const int64_t rowBytes = getPackedRowBytes(packing, scheme.format.bits, k);
  result.packed.assign(n * rowBytes, 0);
  for (int64_t r = 0; r < n; ++r)
    packRow(packing, scheme.format.bits,
            llvm::ArrayRef<uint8_t>(fields).slice(r * k, k),
            llvm::MutableArrayRef<uint8_t>(result.packed)
                .slice(r * rowBytes, rowBytes));
  return result;
}
