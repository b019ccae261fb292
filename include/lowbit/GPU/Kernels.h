//===- Kernels.h - GPU kernels generated from IR ----------------*- C++ -*-===//
//
// LowBit's GPU kernels are generated as gpu-dialect IR for the exact shape of
// each layer, lowered through upstream MLIR (gpu -> nvvm -> LLVM's NVPTX
// backend) to PTX, and assembled by the CUDA toolkit's ptxas into a cubin.
// Nothing here needs a GPU.
//
// W4A16 GEMV (`gemvW4`): y[M, N] = x[M, K] * dequant(W)[N, K]^T with f16
// activations and outputs, signed 4-bit weights in groups of G along K with
// one f16 scale per group, f32 accumulation across groups. The weights use
// the GPU layout of `packW4ForGpu`: every 32 codes of a row are four 32-bit
// words; code k of a chunk (k = 8t + 2j + h) is stored biased by 8 in word j
// at bit 16h + 4t, so that (word >> 4t) & 0x000F000F | 0x6400 6400 is two
// f16 values 1024 + code + 8 in order. A warp reads one 16-byte word group
// per lane per row (coalesced), dequantizes in registers and reduces with
// shuffles; each warp owns two rows.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_GPU_KERNELS_H
#define LOWBIT_GPU_KERNELS_H

#include "lowbit/GPU/Layouts.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlir::lowbit::gpu {

/// One W4A16 GEMV kernel: M activation rows, an N x K weight, groups of G.
/// `rowsPerWarp` output rows share each warp (more bytes in flight a warp).
struct GemvShape {
  int64_t m = 1, n = 0, k = 0, group = 128;
  int64_t rowsPerWarp = 2;
};

constexpr int64_t kGemvThreadsPerBlock = 128;

/// Rows each block computes (warps per block times rows per warp); the
/// grid is N / gemvRowsPerBlock blocks of kGemvThreadsPerBlock threads.
inline int64_t gemvRowsPerBlock(const GemvShape &shape) {
  return shape.rowsPerWarp * (kGemvThreadsPerBlock / 32);
}

/// The kernel's symbol, e.g. gemv_w4g128_m1_n4096_k4096.
std::string gemvKernelName(const GemvShape &shape);

/// Checks that the kernel can be generated (K and G multiples of 32, G
/// dividing K, N a multiple of the rows per block, 1 <= M <= 16, 1 to 4
/// rows a warp).
llvm::Error verifyGemvShape(const GemvShape &shape);

/// One W4A16 matmul on the tensor cores (`mmaW4`): the same product as the
/// GEMV, for M up to 64 activation rows, through mma.sync m16n8k16 (f16
/// operands, f32 accumulators). Each block owns a tile of 16 weight rows;
/// its `warps` warps split K between them by groups (warp w takes groups w,
/// w + warps, ...), `unroll` groups a trip (loads first), and add their partial
/// tiles in shared memory. Weight rows go to the MMA's M side and activation
/// rows to its N side (ceil(M / 8) MMAs of 8 columns per k-tile of 16).
///
/// The layout (`packW4ForMma`) makes each lane's 16-byte load exactly its
/// A fragments of four k-tiles: words [N / 16][K / 64][32 lanes][4 tiles].
/// Within a k-step of 64, the MMA's k index c of tile t held by lane (g, q)
/// (c in {2q, 2q+1} and {2q+8, 2q+9}) stands for input channel
/// 16q + 4t + {0, 1} and {2, 3}: so the lane's B fragments of the four
/// tiles are 16 consecutive activations, two 16-byte loads. In the word of
/// tile t, register i of the A fragment (rows g, g+8, g, g+8 for i = 0..3)
/// holds its two codes, biased by 8, at bits 4i and 16 + 4i: masks with
/// 0x000F000F and 0x00F000F0 (and the same after a shift by 8) OR-ed into
/// the f16 exponent of 1024 give the codes as f16 pairs exactly, those of
/// rows g+8 times 16 (undone in their scale). Scales multiply each group's
/// f32 partial tile, so products and sums within a group are exact in f16
/// codes. The group size must be a multiple of 64. With `rowTiles` R, a
/// block owns R tiles of 16 rows, every warp computing all R.
struct MmaShape {
  int64_t m = 1, n = 0, k = 0, group = 128;
  int64_t warps = 4, unroll = 2;
  /// Weight tiles of 16 rows each warp (and block) computes, sharing the
  /// activation fragments.
  int64_t rowTiles = 1;
};

/// The kernel's symbol, e.g. mma_w4g128_m16_n4096_k4096_w16u1r1 (warps,
/// unroll, row tiles).
std::string mmaKernelName(const MmaShape &shape);

/// The warps, unroll and row tiles for a layer, from measurements on an
/// H200 (bench/gpu/NOTES.md): about one resident wave of warps while
/// activations are few, fewer warps and two row tiles a warp past 8 rows.
MmaShape chooseMmaShape(int64_t m, int64_t n, int64_t k, int64_t group);

/// Checks that the kernel can be generated (1 <= M <= 64, N a multiple of
/// 16 x rowTiles (1 to 4), G a multiple of 64 dividing K, 1 to 32 warps, unroll
/// 1 to 8).
llvm::Error verifyMmaShape(const MmaShape &shape);

/// Blocks of the grid (N / 16 / rowTiles) and threads of a block (32 * warps).
inline int64_t mmaGridSize(const MmaShape &shape) {
  return shape.n / (16 * shape.rowTiles);
}
inline int64_t mmaBlockSize(const MmaShape &shape) { return 32 * shape.warps; }

/// One W8A8 matmul on the tensor cores: y[M, N] = xs[M] ws[N] (xq[M, K] *
/// wq[N, K]^T) with int8 activations (an f32 scale a row: per token), int8
/// weights (an f32 scale a row: per channel) and f16 outputs, through
/// mma.sync m16n8k32 (s8 operands, s32 accumulators: the sums are exact).
/// Blocks, warps and trips as for MmaShape, with steps of 64 channels in
/// place of groups. The layout (`packW8ForMma`): words [N / 16][K / 64]
/// [2 k-tiles][32 lanes][4]; a lane's 16 bytes of k-tile t are its A
/// fragment (registers of rows g, g+8, g, g+8), channel 16q + 8t + 4h + e
/// of a step standing for the MMA's k index 4q + 16h + e, so that a lane's
/// B fragments of a step are 16 consecutive activations, one load.
struct W8A8Shape {
  int64_t m = 1, n = 0, k = 0;
  int64_t warps = 4, unroll = 2;
};

/// The kernel's symbol, e.g. mma_w8a8_m16_n4096_k4096_w16u1.
std::string w8a8KernelName(const W8A8Shape &shape);

/// Checks that the kernel can be generated (1 <= M <= 64, N a multiple of
/// 16, K of 64, 1 to 32 warps, unroll 1 to 8).
llvm::Error verifyW8A8Shape(const W8A8Shape &shape);

/// Warps and unroll for a layer: chooseMmaShape's for groups of 64, its
/// warps times its row tiles (this kernel has one row tile a block).
W8A8Shape chooseW8A8Shape(int64_t m, int64_t n, int64_t k);

/// Emits the W8A8 kernel of `shape` as a gpu.func at the builder's
/// insertion point (inside a gpu.module).
void emitW8A8Kernel(OpBuilder &builder, Location loc, const W8A8Shape &shape);

/// Emits the tensor-core kernel of `shape` as a gpu.func at the builder's
/// insertion point (inside a gpu.module).
void emitMmaKernel(OpBuilder &builder, Location loc, const MmaShape &shape);

struct DecodeShape;

/// A context that can lower the kernels to PTX: every dialect with its
/// extensions, the NVVM target and the GPU-to-LLVM-IR translations, with
/// LLVM's NVPTX backend initialized.
std::unique_ptr<MLIRContext> createKernelContext();

/// The GEMV kernels of `gemv`, the tensor-core kernels of `mma` and `w8a8`,
/// and with `decode` every kernel of that decoder's step (DecodeKernels.h),
/// as a gpu.module @lowbit_kernels (with an #nvvm.target for `chip`) inside
/// a gpu.container_module.
llvm::Expected<OwningOpRef<ModuleOp>>
buildKernels(MLIRContext &context, llvm::ArrayRef<GemvShape> gemv,
             llvm::ArrayRef<MmaShape> mma, llvm::ArrayRef<W8A8Shape> w8a8,
             llvm::StringRef chip, const DecodeShape *decode = nullptr);

/// Lowers a module built by buildKernels to PTX through upstream's
/// gpu-lower-to-nvvm pipeline (bare-pointer kernel arguments).
llvm::Expected<std::string> lowerToPtx(ModuleOp module, llvm::StringRef chip);

/// Assembles PTX into a cubin for `chip` with the CUDA toolkit's ptxas
/// (found through $CUDA_PATH, /usr/local/cuda or PATH). `report` receives
/// ptxas's resource usage (registers, spills) when not null.
llvm::Expected<std::vector<char>> assemblePtx(llvm::StringRef ptx,
                                              llvm::StringRef chip,
                                              std::string *report = nullptr);

} // namespace mlir::lowbit::gpu

#endif // LOWBIT_GPU_KERNELS_H
