//===- Passes.h - LowBit quantization passes --------------------*- C++ -*-===//
//
// The passes that turn float linear layers into lowbit ones: weight
// quantizers (round-to-nearest, GPTQ) guided by calibration statistics.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_QUANTIZATION_PASSES_H
#define LOWBIT_QUANTIZATION_PASSES_H

#include "lowbit/Dialect/LowBit/IR/LowBitDialect.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::lowbit {

/// How `lowbit-quantize-weights` chooses the codes.
enum class WeightQuantMethod {
  /// Round to nearest with each block's range as the scale.
  rtn,
  /// GPTQ: error feedback through the inverse Hessian of the layer's inputs.
  gptq,
};

/// How `lowbit-smooth` chooses its scales.
enum class SmoothMethod {
  /// SmoothQuant: max|X|^a / max|W|^(1-a) with a fixed a.
  smoothquant,
  /// SmoothQuant+: the same, a searched per group for the least error.
  smoothquantPlus,
  /// AWQ: mean|X|^a, a searched per group for the least error.
  awq,
};

/// Which activations share a scale in `lowbit-quantize-activations`.
enum class ActivationGranularity {
  /// One scale per row (token), or per group of channels within it.
  perToken,
  /// One scale for the whole input.
  perTensor,
};

#define GEN_PASS_DECL
#include "lowbit/Quantization/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lowbit/Quantization/Passes.h.inc"

} // namespace mlir::lowbit

#endif // LOWBIT_QUANTIZATION_PASSES_H
