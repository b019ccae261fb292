//===- ChannelSinks.h - Where a channel transform can be folded -*- C++ -*-===//
//
// Smoothing, reordering and rotation all apply an invertible transform T to
// the input channels of linear layers and undo it in their weights:
// y = (x T)(T^-1 W^T). The transform of x is free where some earlier op can
// absorb it: a norm's gamma vector, or the output rows of an earlier linear
// layer with constant weights, reached through ops that commute with the
// transform on the channel axis (reshapes and transposes that keep it,
// inserts into and reads from the KV cache, the attention product P V for
// the value channels, the SiLU-gate product for the up projection's). This
// analysis finds, for every group of linear layers reading one value, that
// sink and how the layers' input channels map onto the sink's channels.
// Every quantization pass that transforms channels uses it.
//
// The analysis follows each input channel separately: a channel is a set of
// coordinates of a tensor (each dimension fixed or free), pushed backwards
// through each op until it reaches the sink, a zero fill (which every
// transform leaves as it is), or the model's state (a writable function
// argument: the KV cache, written only by these same entry points). It then
// checks that nothing else reads the values on the way.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_ANALYSIS_CHANNELSINKS_H
#define LOWBIT_ANALYSIS_CHANNELSINKS_H

#include "lowbit/Dialect/LowBit/IR/LowBitDialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"

#include <vector>

#include <string>

namespace mlir::lowbit {

/// Whether `matmul` has the form of a linear layer,
/// C[m, n] += A[m, k] * W[n, k].
bool isTransposedBMatmul(linalg::MatmulOp matmul);

/// The constant f32 weight `[N, K]` of a named linear layer, or null when
/// `matmul` is not one: not named, not of the transposed-B form, or its
/// weight not a static f32 `dense`/`dense_resource` constant.
arith::ConstantOp getLinearLayerWeight(linalg::MatmulOp matmul);

/// The name of a linear layer (empty when it has none).
llvm::StringRef getLayerName(Operation *op);

/// What absorbs a transform of a group's input channels.
enum class ChannelSinkKind {
  /// Nothing does: the transform is applied at run time by an explicit op
  /// (`lowbit.channel_scale` for scales; permutations cannot be).
  none,
  /// A constant vector the input is multiplied by channel by channel: a
  /// norm's gamma. Absorbs diagonal scales.
  scaleVector,
  /// The output rows of an earlier linear layer with constant weights.
  /// Absorbs diagonal scales, and permutations within the classes of
  /// `ChannelGroup::permutationClasses`.
  linearRows,
};

/// One group of linear layers that read the same value, and where a
/// transform of that value's channels is absorbed.
struct ChannelGroup {
  /// The value every layer of the group reads.
  Value input;
  /// The linear layers reading it, in program order.
  llvm::SmallVector<linalg::MatmulOp> consumers;

  ChannelSinkKind sink = ChannelSinkKind::none;
  /// scaleVector: the op multiplying by the vector (a `linalg.generic`);
  /// linearRows: the producer (a `linalg.matmul`).
  Operation *sinkOp = nullptr;
  /// scaleVector: the operand of `sinkOp` holding the vector; linearRows: 1
  /// (the weight).
  unsigned sinkOperand = 0;
  /// The constant the transform is folded into: the vector, or the
  /// producer's weight.
  arith::ConstantOp sinkConstant;
  /// Channels of the sink: the vector's length or the producer's rows. With
  /// no sink, the consumers' input channels.
  int64_t sinkChannels = 0;
  /// For every input channel of the consumers, the sink channel it comes
  /// from. Several input channels may share one (the query heads that share
  /// a KV head under grouped-query attention): a transform is then defined
  /// per sink channel.
  llvm::SmallVector<int64_t> sinkChannelOf;
  /// Which sink channels a permutation may exchange: channels of one class
  /// take paths alike to the consumers (under attention, the channels of
  /// one head). Empty when the sink takes no permutations (a vector, or a
  /// path through ops that treat channels differently).
  llvm::SmallVector<int64_t> permutationClasses;
  /// Producers whose rows must be permuted along with the sink's (the gate
  /// projection beside the up projection: silu(g) * u is permuted only if
  /// both are), and their weights.
  llvm::SmallVector<Operation *> companionSinks;
  llvm::SmallVector<arith::ConstantOp> companionConstants;
  /// Why there is no sink (for remarks and diagnostics).
  std::string reason;

  int64_t getInputChannels() const { return int64_t(sinkChannelOf.size()); }
  /// A description of the sink for remarks: "the vector blk.0.attn_norm
  /// (scaled by a linalg.generic)", "the rows of blk.0.attn_v".
  std::string describeSink() const;
  /// The consumers' names, comma-separated: the group's identity across
  /// entry points.
  std::string getKey() const;
};

/// Finds the channel groups of every function of a module. Named linear
/// layers (see getLinearLayerWeight) that read the same value form a group.
class ChannelSinkAnalysis {
public:
  explicit ChannelSinkAnalysis(Operation *root);

  llvm::ArrayRef<ChannelGroup> getGroups() const { return groups; }
  /// The group a linear layer belongs to, or null.
  const ChannelGroup *lookup(linalg::MatmulOp consumer) const;

private:
  std::vector<ChannelGroup> groups;
  llvm::DenseMap<Operation *, size_t> groupOfConsumer;
};

} // namespace mlir::lowbit

#endif // LOWBIT_ANALYSIS_CHANNELSINKS_H
