//===- Layouts.h - The GPU kernels' weight layouts --------------*- C++ -*-===//
//
// The packers of the layouts Kernels.h describes, and the f16 encoding the
// kernels' activations and scales use, in plain C++ (no LLVM or MLIR) for
// programs that run where only the CUDA driver is.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_GPU_LAYOUTS_H
#define LOWBIT_GPU_LAYOUTS_H

#include <cstdint>
#include <vector>

namespace mlir::lowbit::gpu {

/// Input channels of one step of the tensor-core kernel: four MMA k-tiles
/// of 16, one 16-byte load of weights a lane.
constexpr int64_t kMmaStep = 64;

/// Repacks row-major signed 4-bit codes (one int8 in [-8, 7] per weight,
/// [N, K]) into the CUDA-core GEMV's layout: [N, K / 8] 32-bit words.
std::vector<uint32_t> packW4ForGpu(const std::vector<int8_t> &codes, int64_t n,
                                   int64_t k);

/// Repacks row-major signed 4-bit codes ([N, K]) into the tensor-core
/// kernel's layout: words [N / 16][K / 64][32 lanes][4 tiles].
std::vector<uint32_t> packW4ForMma(const std::vector<int8_t> &codes, int64_t n,
                                   int64_t k);

/// The row-major codes ([N, K], in [-8, 7]) of packW4ForMma's words.
std::vector<int8_t> unpackW4FromMma(const std::vector<uint32_t> &words,
                                    int64_t n, int64_t k);

/// IEEE half precision bits of `value`, rounded to nearest even (NaN stays
/// NaN, overflow becomes infinity), and back.
uint16_t floatToHalfBits(float value);
float halfBitsToFloat(uint16_t bits);

/// Repacks row-major int8 weights ([N, K]) into the W8A8 tensor-core
/// kernel's layout: words [N / 16][K / 64][2 k-tiles][32 lanes][4].
std::vector<uint32_t> packW8ForMma(const std::vector<int8_t> &codes, int64_t n,
                                   int64_t k);

} // namespace mlir::lowbit::gpu

#endif // LOWBIT_GPU_LAYOUTS_H
