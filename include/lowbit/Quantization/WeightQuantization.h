//===- WeightQuantization.h - Weight schemes and their error ---*- C++ -*-===//
//
// What the weight-quantizing passes share: the scheme their options
// describe, and the output error a quantized layer makes on the calibration
// data, tr(dW G dW^T) with G = X^T X, which scale searches minimise.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_QUANTIZATION_WEIGHTQUANTIZATION_H
#define LOWBIT_QUANTIZATION_WEIGHTQUANTIZATION_H

#include "lowbit/Dialect/LowBit/IR/LowBitAttrs.h"
#include "lowbit/Analysis/ChannelSinks.h"
#include "lowbit/Support/QuantMath.h"

#include "mlir/IR/Location.h"
#include "llvm/ADT/ArrayRef.h"

#include <string>
#include <vector>

namespace mlir::lowbit {

/// A weight scheme as pass options spell it.
struct WeightSchemeOptions {
  /// An element format in the dialect's spelling (i4, nf4, f8E4M3FN, ...).
  std::string format = "i4";
  /// One scale for the whole tensor (excludes the group sizes).
  bool perTensor = false;
  /// Groups of this many input channels share a scale (0: one per row).
  int64_t group = 0;
  /// Groups of this many output channels share a scale per input channel
  /// (AdaDim's per-input-channel groups; 0: off). Excludes `group`.
  int64_t icGroup = 0;
  /// False adds zero points; signed integer formats then become unsigned.
  bool symmetric = true;
  /// Storage type of the scales (f16, f32, bf16, f8E8M0FNU).
  std::string scaleType = "f16";
};

/// The scheme `options` describe, parsed by the dialect itself so that the
/// options take exactly its spellings and rules. Errors go to `loc`.
FailureOr<QuantSchemeAttr> buildWeightScheme(MLIRContext *context,
                                             Location loc,
                                             const WeightSchemeOptions &options);

/// A named linear layer of a model (see getLinearLayerWeight), once, with
/// its matmul in every entry point.
struct LinearLayer {
  llvm::StringRef name;
  /// The weight constant of the first matmul; the others share its value.
  arith::ConstantOp weight;
  llvm::SmallVector<linalg::MatmulOp> matmuls;
  int64_t outFeatures = 0, inFeatures = 0;
};

/// The named linear layers of `module` in program order, the matmuls of one
/// layer name and weight value together.
std::vector<LinearLayer> collectLinearLayers(ModuleOp module);

/// A comma-separated list of layer names or name suffixes after a `.`
/// (`output` matches `output` and `blk.0.output`, not `blk.0.attn_output`),
/// as the passes' `skip` options take it.
class LayerNameFilter {
public:
  explicit LayerNameFilter(llvm::StringRef list);
  bool matches(llvm::StringRef name) const;

private:
  std::vector<std::string> entries;
};

/// Round-to-nearest quantization of `weights` (`rows x columns`) and back:
/// the float values the quantized layer computes with.
std::vector<float> fakeQuantize(const QuantScheme &scheme, int64_t rows,
                                int64_t columns, llvm::ArrayRef<float> weights);

/// The squared output error sum_n dW_n G dW_n^T of a layer whose weights
/// (`rows x columns`, y = x W^T) are off by `delta`, over inputs with Gram
/// matrix `gram` (columns x columns, X^T X).
double getOutputError(int64_t rows, int64_t columns,
                      llvm::ArrayRef<float> delta,
                      llvm::ArrayRef<float> gram);

} // namespace mlir::lowbit

#endif // LOWBIT_QUANTIZATION_WEIGHTQUANTIZATION_H
