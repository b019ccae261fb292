//===- ChannelTransforms.h - Apply channel transforms to IR ----*- C++ -*-===//
//
// The mechanics every channel-transforming pass shares: reading and
// rewriting constant weights, folding a diagonal scale or a permutation of a
// group's input channels into its sink and its consumers' weight columns
// (or an explicit op where there is no sink), across all entry points of a
// model at once, and recording on each layer what was done to its input so
// that calibration statistics can be carried over.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_QUANTIZATION_CHANNELTRANSFORMS_H
#define LOWBIT_QUANTIZATION_CHANNELTRANSFORMS_H

#include "lowbit/Analysis/ChannelSinks.h"
#include "lowbit/Quantization/CalibrationStats.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"

#include <vector>

namespace mlir::lowbit {

/// The attribute on a linear layer recording how its input relates to the
/// input calibration observed: `{perm = dense<..> : tensor<Kxi64>, scale =
/// dense<..> : tensor<Kxf32>}` with x'[c] = x[perm[c]] / scale[c]. Either
/// entry may be absent (identity).
inline constexpr llvm::StringLiteral kInputTransformAttrName =
    "lowbit.input_transform";

/// The attribute naming the calibration statistics a layer's input is
/// described by, when they are not its own name's: the parts of a split
/// layer (`blk.0.attn_q.salient`) read the entry of the layer they came
/// from, through their input transform.
inline constexpr llvm::StringLiteral kStatsKeyAttrName = "lowbit.stats_key";

/// The attribute giving a linear layer its own weight scheme (a
/// `#lowbit.scheme`), which lowbit-quantize-weights uses instead of its
/// options: the salient channels of a mixed-precision split.
inline constexpr llvm::StringLiteral kWeightSchemeAttrName =
    "lowbit.weight_scheme";

/// A layer's input transform as plain data; empty vectors are identities.
struct InputTransform {
  std::vector<int64_t> perm;
  std::vector<float> scale;

  bool isIdentity() const { return perm.empty() && scale.empty(); }
  /// The input channel calibration saw as channel `c`.
  int64_t source(int64_t c) const { return perm.empty() ? c : perm[c]; }
  float divisor(int64_t c) const { return scale.empty() ? 1.0f : scale[c]; }
};

InputTransform getInputTransform(Operation *layer);
void setInputTransform(Operation *layer, const InputTransform &transform);

/// The statistics of a layer's input as the layer sees it now, given those
/// calibration collected and the transform since (`channels` is the
/// layer's current input width).
LayerStatistics transformStatistics(const LayerStatistics &stats,
                                    const InputTransform &transform,
                                    int64_t channels);

/// The statistics of the input of `layer` (a named linear layer with
/// `channels` input channels) as it sees it now: the entry of its name (or
/// of its `lowbit.stats_key`) in `stats`, transformed by its
/// `lowbit.input_transform`. Fails, with an
/// error on the layer, when the entry is missing or has another width.
FailureOr<LayerStatistics>
getLayerStatistics(const llvm::StringMap<LayerStatistics> &stats,
                   Operation *layer, int64_t channels,
                   llvm::StringRef statsFile);

/// The f32 values of a constant tensor (dense or dense_resource).
std::vector<float> readConstant(arith::ConstantOp constant);

/// A constant of `type` holding `values`: a new blob named `name` when
/// `asBlob` (the weights of real models), else a dense literal.
TypedAttr makeF32Constant(RankedTensorType type, llvm::StringRef name,
                          llvm::ArrayRef<float> values, bool asBlob);

/// A channel group as it appears in every entry point of a model: the
/// instances (one per function) share their layers' names, weights and
/// sink.
struct ChannelGroupInstances {
  llvm::SmallVector<const ChannelGroup *> instances;
  const ChannelGroup &front() const { return *instances.front(); }
};

/// Collects the analysis' groups of `module` by their consumers' names, in
/// program order. Fails (with a diagnostic) when one group has different
/// weights or sinks in different entry points.
FailureOr<std::vector<ChannelGroupInstances>>
collectChannelGroups(ModuleOp module, const ChannelSinkAnalysis &analysis);

/// Folds channel transforms into a module's weights.
class ChannelTransformer {
public:
  explicit ChannelTransformer(ModuleOp module);

  /// Divides the group's input channels by `sinkScales` (one per sink
  /// channel, positive): the consumers' weight columns are multiplied by
  /// them, and the sink divided, or, without a usable sink, a
  /// `lowbit.channel_scale` multiplies the input by 1/s before the
  /// consumers. Fails, with a diagnostic, when a consumer's weights are
  /// shared with something outside the group.
  LogicalResult scale(const ChannelGroupInstances &group,
                      llvm::ArrayRef<float> sinkScales);

  /// Reorders the group's input channels: new sink channel j is old sink
  /// channel `sinkPerm[j]`, within the group's permutation classes. The
  /// rows of the sink and its companions and the consumers' columns are
  /// permuted.
  LogicalResult permute(const ChannelGroupInstances &group,
                        llvm::ArrayRef<int64_t> sinkPerm);

  /// Whether `group`'s sink constant may be rewritten: only its sink ops use
  /// it. Without that the transform goes through an explicit op.
  bool isSinkExclusive(const ChannelGroupInstances &group) const;
  /// Whether the producers permuted along with the sink are used only there.
  bool areCompanionsExclusive(const ChannelGroupInstances &group) const;

  /// Whether every use of `constant` (and of the constants sharing its
  /// attribute) is one `allowed` accepts.
  bool isUsedOnlyBy(arith::ConstantOp constant,
                    llvm::function_ref<bool(OpOperand &)> allowed) const;
  /// Rewrites the values of `constant` and of every constant sharing its
  /// attribute (a blob is rewritten in place).
  void update(arith::ConstantOp constant, llvm::ArrayRef<float> values);

private:
  LogicalResult checkConsumerWeights(const ChannelGroupInstances &group);

  ModuleOp module;
  DenseMap<Attribute, llvm::SmallVector<arith::ConstantOp>> constantsOf;
};

} // namespace mlir::lowbit

#endif // LOWBIT_QUANTIZATION_CHANNELTRANSFORMS_H
