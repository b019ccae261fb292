//===- LlamaBuilder.h - Float IR of a Llama-family model --------*- C++ -*-===//
//
// Builds the float IR of a checkpoint in upstream dialects only (func, linalg,
// tensor, arith, math), weights as dense_resource blobs. Each entry point runs
// T tokens at a position and returns their logits:
//
//   func.func @forward_T(%tokens: tensor<Txi32>, %pos: tensor<1xi32>,
//                        %k_cache: tensor<LxSxKVxDxf32> {bufferization.writable},
//                        %v_cache: tensor<LxSxKVxDxf32> {bufferization.writable})
//       -> tensor<TxVxf32>
//
// The KV caches are buffers the caller owns: the entry writes the keys and
// values of its tokens at [pos, pos + T) in place and attends over [0, S)
// with a causal mask. Every linear layer is a linalg.matmul of the
// activations and a constant [out, in] weight (transposed-B indexing maps)
// that carries its name (`blk.3.ffn_up`) in a `lowbit.name` attribute; the
// model's hyper-parameters are in the module's `lowbit.model` dictionary.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_MODEL_LLAMABUILDER_H
#define LOWBIT_MODEL_LLAMABUILDER_H

#include "lowbit/Import/Checkpoint.h"
#include "lowbit/Transforms/Passes.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <vector>

namespace mlir::lowbit {

struct LlamaBuildOptions {
  /// The token counts T to build entry points for (`@forward_T`).
  std::vector<int64_t> tokenCounts = {1};
  /// KV cache length S: the longest context the entry points can attend
  /// over. 0 means the model's own context length, at most `cacheCap`.
  int64_t cacheLength = 0;
  /// Upper bound of the default cache length; 0 means none.
  int64_t cacheCap = 0;
};

/// Name of the module attribute holding the model's hyper-parameters.
constexpr llvm::StringLiteral kModelAttr = "lowbit.model";

/// Builds the module. Moves the weights out of `checkpoint` into resource
/// blobs owned by the context (no copy).
OwningOpRef<ModuleOp> buildLlamaModule(MLIRContext &context,
                                       ::lowbit::LlamaCheckpoint &checkpoint,
                                       const LlamaBuildOptions &options);

/// The name of the entry point for `tokenCount` tokens: `forward_<T>`.
std::string getForwardName(int64_t tokenCount);

} // namespace mlir::lowbit

#endif // LOWBIT_MODEL_LLAMABUILDER_H
