//===- DecodeKernels.h - The kernels of a decoder's decode step -*- C++ -*-===//
//
// A GPU artefact runs a Llama-family decoder one token at a time through a
// fixed sequence of kernels, all generated here as gpu-dialect IR for the
// model's exact extents (the same way as the matmul kernels of Kernels.h):
//
//   embed      h = f32(embedding[token])
//   norm       xn = rmsnorm(h) * gamma                    (first layer)
//   add_norm   h += f32(delta); xn = rmsnorm(h) * gamma   (the others)
//   qkv        qkv = [Wq; Wk; Wv] xn                      (one matmul)
//   attention  one block a query head over positions [0, pos]: RoPE of its
//              q and of the position's k in registers, the position's k
//              and v written to the KV cache by its KV head's first block
//   attn_out   delta = Wo attn
//   gate_up    gu = [Wgate; Wup] xn                       (one matmul)
//   silu_mul   act = silu(gate) * up
//   ffn_down   delta = Wdown act
//   head       logits = Wout xn                           (after add_norm)
//
// Activations between kernels are f16, the residual stream h is f32, and
// every sum is in f32. The linear layers are W4A16 tensor-core kernels
// (`mmaW4`, groups of `group`) or, for the float16 build and for a float16
// LM head (`headF16`), the dense f16 GEMV below. The step's token and
// position are read from a device buffer, so one recorded sequence of
// launches serves every position.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_GPU_DECODEKERNELS_H
#define LOWBIT_GPU_DECODEKERNELS_H

#include "lowbit/GPU/Kernels.h"

#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::lowbit::gpu {

/// The extents of one decoder, as its kernels see them.
struct DecodeShape {
  int64_t dim = 0, hidden = 0, numHeads = 0, numKvHeads = 0, headDim = 0;
  int64_t vocab = 0;
  /// Positions of the KV cache (the longest context).
  int64_t context = 0;
  float normEps = 1e-5f;
  /// 0: float16 weights; otherwise W4A16 with groups of this many.
  int64_t group = 0;
  /// The LM head as a float16 GEMV (always without a group).
  bool headF16 = true;

  int64_t getKvDim() const { return numKvHeads * headDim; }
  int64_t getQkvDim() const { return dim + 2 * getKvDim(); }
};

/// Checks that the kernels can be generated: head dims a power of two from
/// 8 to 128, heads a multiple of the KV heads, a model width the norm's one
/// block holds, the context small enough for one block's shared scores, and
/// every linear layer's extents fitting its kernel (multiples of 16 rows; K
/// a multiple of 8, and of the group for W4A16).
llvm::Error verifyDecodeShape(const DecodeShape &shape);

/// A dense f16 GEMV, y[N] = W[N, K] x[K] (W row-major f16): each warp owns
/// `rowsPerWarp` rows, lanes read 16 bytes of each row per step.
struct DenseGemvShape {
  int64_t n = 0, k = 0, rowsPerWarp = 2;
};
constexpr int64_t kDenseGemvThreads = 256;

/// One launch of the decode step.
struct DecodeLaunch {
  std::string kernel;
  int64_t grid = 1, block = 1;
};

/// The launches of a decode step by role, and the matmul kernels they need.
struct DecodePlan {
  DecodeLaunch embed, norm, addNorm, qkv, attention, attnOut, gateUp, siluMul,
      ffnDown, head;
  std::vector<MmaShape> mma;
  std::vector<DenseGemvShape> dense;
  /// (role, launch) in the manifest's order.
  std::vector<std::pair<std::string, const DecodeLaunch *>> roles() const;
};

/// The kernels and launch extents of `shape` (which must verify).
DecodePlan planDecode(const DecodeShape &shape);

/// Writes the non-tensor-core kernels of `plan` (everything but its `mma`
/// shapes, which buildKernels emits) as gpu.func text.
void writeDecodeKernels(llvm::raw_ostream &os, const DecodeShape &shape,
                        const DecodePlan &plan);

} // namespace mlir::lowbit::gpu

#endif // LOWBIT_GPU_DECODEKERNELS_H
