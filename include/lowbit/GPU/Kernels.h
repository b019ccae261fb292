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

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
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

/// The kernels as a gpu.module @lowbit_kernels (with an #nvvm.target for
/// `chip`) inside a gpu.container_module.
llvm::Expected<OwningOpRef<ModuleOp>>
buildGemvKernels(MLIRContext &context, llvm::ArrayRef<GemvShape> shapes,
                 llvm::StringRef chip);

/// Lowers a module built by buildGemvKernels to PTX through upstream's
/// gpu-lower-to-nvvm pipeline (bare-pointer kernel arguments).
llvm::Expected<std::string> lowerToPtx(ModuleOp module, llvm::StringRef chip);

/// Assembles PTX into a cubin for `chip` with the CUDA toolkit's ptxas
/// (found through $CUDA_PATH, /usr/local/cuda or PATH). `report` receives
/// ptxas's resource usage (registers, spills) when not null.
llvm::Expected<std::vector<char>> assemblePtx(llvm::StringRef ptx,
                                              llvm::StringRef chip,
                                              std::string *report = nullptr);

/// Repacks row-major signed 4-bit codes (one int8 in [-8, 7] per weight,
/// [N, K]) into the GPU layout described above: [N, K / 8] 32-bit words.
std::vector<uint32_t> packW4ForGpu(llvm::ArrayRef<int8_t> codes, int64_t n,
                                   int64_t k);

} // namespace mlir::lowbit::gpu

#endif // LOWBIT_GPU_KERNELS_H
