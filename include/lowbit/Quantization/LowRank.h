//===- LowRank.h - Low-rank approximation of weight matrices ---*- C++ -*-===//
//
// The best rank-r approximation W ~ L1 L2 of a layer's weights (the top r
// singular triplets), which SVDQuant keeps in 16 bits beside a quantized
// residual. Randomized subspace iteration (Halko, Martinsson and Tropp):
// a few products with W and W^T find the dominant subspace, and the small
// projected problem is solved exactly by Jacobi rotations.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_QUANTIZATION_LOWRANK_H
#define LOWBIT_QUANTIZATION_LOWRANK_H

#include "llvm/ADT/ArrayRef.h"

#include <cstdint>
#include <vector>

namespace mlir::lowbit {

/// W (rows x columns, row-major) ~ up * down: `up` is rows x rank (the left
/// singular vectors scaled by the singular values), `down` rank x columns
/// (the right singular vectors, orthonormal rows). `singularValues` are in
/// decreasing order.
struct LowRankFactors {
  int64_t rank = 0;
  std::vector<double> up, down, singularValues;
};

/// The top `rank` singular triplets of `weights`, by `iterations` rounds of
/// subspace iteration with `oversample` extra directions from a generator
/// seeded with `seed`. `rank` must be at most min(rows, columns).
LowRankFactors computeLowRank(llvm::ArrayRef<float> weights, int64_t rows,
                              int64_t columns, int64_t rank,
                              int iterations = 4, int64_t oversample = 8,
                              uint64_t seed = 1);

/// All singular values of a small matrix, in decreasing order, by one-sided
/// Jacobi rotations: the exact reference for tests.
std::vector<double> computeSingularValues(llvm::ArrayRef<double> matrix,
                                          int64_t rows, int64_t columns);

} // namespace mlir::lowbit

#endif // LOWBIT_QUANTIZATION_LOWRANK_H
