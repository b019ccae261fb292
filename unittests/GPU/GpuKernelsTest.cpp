//===- GpuKernelsTest.cpp - The GPU layout and the CUDA runtime's errors --===//

#include "lowbit/GPU/Kernels.h"
#include "lowbit-c/lowbit_cuda.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

using namespace mlir::lowbit::gpu;

/// The f16 value of bits `h` (normal numbers only, as the decode makes).
static float halfToFloat(uint16_t h) {
  uint32_t bits = ((h & 0x8000u) << 16) | ((((h >> 10) & 0x1f) + 112) << 23) |
                  ((h & 0x3ffu) << 13);
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

// Decodes the packed words exactly as the kernel does (shift, mask, OR the
// f16 exponent of 1024, subtract 1032) and expects the original codes in
// order, for every code of a random (never constant) weight.
TEST(GpuLayoutTest, KernelDecodeRecoversTheCodes) {
  const int64_t n = 8, k = 256;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> code(-8, 7);
  std::vector<int8_t> codes(n * k);
  for (int8_t &c : codes)
    c = int8_t(code(rng));
  std::vector<uint32_t> words = packW4ForGpu(codes, n, k);
  ASSERT_EQ(words.size(), size_t(n * k / 8));
  for (int64_t row = 0; row < n; ++row)
    for (int64_t chunk = 0; chunk < k / 32; ++chunk)
      for (int64_t t = 0; t < 4; ++t)
        for (int64_t j = 0; j < 4; ++j) {
          uint32_t word = words[row * (k / 8) + chunk * 4 + j];
          uint32_t pair = ((word >> (4 * t)) & 0x000F000Fu) | 0x64006400u;
          for (int64_t h = 0; h < 2; ++h) {
            float value = halfToFloat(uint16_t(pair >> (16 * h))) - 1032.0f;
            int64_t col = chunk * 32 + 8 * t + 2 * j + h;
            EXPECT_EQ(value, float(codes[row * k + col]))
                << "row " << row << " col " << col;
          }
        }
}

TEST(GpuKernelsTest, RejectsShapesTheKernelCannotTake) {
  for (GemvShape shape : {GemvShape{0, 64, 256, 64}, GemvShape{17, 64, 256, 64},
                          GemvShape{1, 60, 256, 64}, GemvShape{1, 64, 256, 48},
                          GemvShape{1, 64, 200, 64}}) {
    llvm::Error error = verifyGemvShape(shape);
    EXPECT_TRUE(bool(error)) << gemvKernelName(shape);
    llvm::consumeError(std::move(error));
  }
  EXPECT_FALSE(bool(verifyGemvShape({16, 4096, 11008, 128})));
}

TEST(CudaRuntimeTest, RejectsMissingAndForeignModules) {
  lowbit_cuda_module *module = reinterpret_cast<lowbit_cuda_module *>(1);
  EXPECT_EQ(lowbit_cuda_load("/nonexistent/kernels.cubin", 0, &module),
            LOWBIT_CUDA_BAD_MODULE);
  EXPECT_EQ(module, nullptr);
  EXPECT_NE(std::string(lowbit_cuda_last_error()).find("cannot be read"),
            std::string::npos);

  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("lowbit", "cubin", path));
  {
    std::error_code error;
    llvm::raw_fd_ostream os(path, error);
    os << "not a cubin";
  }
  EXPECT_EQ(lowbit_cuda_load(path.c_str(), 0, &module),
            LOWBIT_CUDA_BAD_MODULE);
  EXPECT_NE(std::string(lowbit_cuda_last_error()).find("not a cubin"),
            std::string::npos);
  llvm::sys::fs::remove(path);
}

// Without a GPU (as in CI) every call that needs the driver says so with a
// code and a message instead of crashing; with one, a launch of a kernel
// the (absent) module lacks is refused.
TEST(CudaRuntimeTest, ReportsAMissingDriverOrDevice) {
  int code = lowbit_cuda_synchronize();
  if (code == LOWBIT_CUDA_OK)
    GTEST_SKIP() << "a GPU is present";
  EXPECT_TRUE(code == LOWBIT_CUDA_NO_DRIVER || code == LOWBIT_CUDA_NO_DEVICE);
  EXPECT_GT(std::strlen(lowbit_cuda_last_error()), 0u);
  uint64_t pointer = 0;
  EXPECT_NE(lowbit_cuda_malloc(64, &pointer), LOWBIT_CUDA_OK);
  EXPECT_NE(lowbit_cuda_launch(nullptr, "k", 1, 1, nullptr, 0, nullptr),
            LOWBIT_CUDA_OK);
}
