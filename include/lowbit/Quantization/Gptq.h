//===- Gptq.h - GPTQ weight quantization -------------------------*- C++
//-*-===//
//
// GPTQ (Frantar et al., 2022): quantizes a linear layer's weights one input
// column at a time and spreads each column's rounding error over the columns
// not yet quantized, weighted by the inverse Hessian of the layer's output
// error, H = 2 X^T X / rows. Scales, codes and packing are those of
// lowbit/Support/QuantMath.h, so the result is a `QuantizedTensor` like the
// round-to-nearest reference's and decodes with the same functions.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_QUANTIZATION_GPTQ_H
#define LOWBIT_QUANTIZATION_GPTQ_H

#include "lowbit/Support/QuantMath.h"

#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <vector>

namespace mlir::lowbit {

/// The knobs of GPTQ, with the defaults of the reference implementation.
struct GptqOptions {
  /// Fraction of the mean of diag(H) added to the diagonal (dampening).
  double damp = 0.01;
  /// Columns quantized between two updates of the remaining columns (lazy
  /// batch updates). Any value gives the same result up to rounding.
  int64_t blockSize = 128;
  /// Quantize the columns in order of decreasing H_ii (act-order). Only the
  /// order of quantization changes; the codes keep the original layout.
  bool actOrder = false;
};

/// The Hessian of the layer's squared output error, H = 2 X^T X / rows, from
/// the Gram matrix X^T X of `rows` calibration rows (`gram` is K x K,
/// row-major).
std::vector<double> getHessianFromGram(llvm::ArrayRef<double> gram,
                                       int64_t rows);

/// Quantizes the `outFeatures x inFeatures` row-major weights of a linear
/// layer (y = x W^T) with GPTQ, given the K x K Hessian of its inputs
/// (K = inFeatures), for any granularity; per-input-channel groups take
/// each column's scales from the column as it stands when it is quantized.
///
/// Input channels that calibration never saw active (H_ii = 0) get weight 0.
/// A group's scales (and zero points) are those `computeReferenceScales`
/// gives the group's current weights, taken when the first column of the
/// group is quantized: with error feedback already applied to every column
/// of the group, and, under act-order, whatever the group's columns' places
/// in the quantization order. Fails if the damped Hessian is not positive
/// definite or the scheme cannot be used.
llvm::Expected<QuantizedTensor>
quantizeGptq(const QuantScheme &scheme, PackingSpec packing,
             int64_t outFeatures, int64_t inFeatures,
             llvm::ArrayRef<float> weights, llvm::ArrayRef<double> hessian,
             const GptqOptions &options);

} // namespace mlir::lowbit

#endif // LOWBIT_QUANTIZATION_GPTQ_H
