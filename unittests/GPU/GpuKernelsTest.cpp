//===- GpuKernelsTest.cpp - The GPU layout and the CUDA runtime's errors --===//

#include "lowbit-c/lowbit_cuda.h"
#include "lowbit/GPU/Kernels.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

using namespace mlir::lowbit::gpu;

static float halfToFloat(uint16_t h) { return halfBitsToFloat(h); }

// The host-side f16 encoding: every half survives a round trip, halfway
// values go to the even neighbour, and overflow becomes infinity.
TEST(GpuLayoutTest, HalfEncodingRoundsToNearestEven) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff))
      continue; // NaN payloads
    EXPECT_EQ(floatToHalfBits(halfBitsToFloat(uint16_t(h))), h) << h;
  }
  EXPECT_EQ(floatToHalfBits(1.0f + 1.0f / 2048), 0x3c00);      // tie: even
  EXPECT_EQ(floatToHalfBits(1.0f + 3.0f / 2048), 0x3c02);      // tie: even
  EXPECT_EQ(floatToHalfBits(65520.0f), 0x7c00);                // overflow
  EXPECT_EQ(floatToHalfBits(std::ldexp(1.0f, -25) * 1.5f), 1); // subnormal
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

// The host reference of GPU artefacts reads W4 weights back out of the
// tensor-core layout: unpacking inverts packing for every code, on a shape
// of several row tiles and steps.
TEST(GpuLayoutTest, UnpackInvertsTheTensorCorePacking) {
  const int64_t n = 48, k = 192;
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> code(-8, 7);
  std::vector<int8_t> codes(n * k);
  for (int8_t &c : codes)
    c = int8_t(code(rng));
  std::vector<uint32_t> words = packW4ForMma(codes, n, k);
  ASSERT_EQ(words.size(), size_t(n * k / 8));
  EXPECT_EQ(unpackW4FromMma(words, n, k), codes);
}

// Runs the tensor-core kernel's arithmetic on the CPU, lane by lane: the
// decode of each lane's words (masks, the f16 1024, biases 1032 and 1152),
// the B fragments from its two 16-byte activation loads, the fragments put
// where PTX's mma.m16n8k16 (row.col) puts them, and the per-group scales
// (rows g+8 divided by 16). The product must match the plain one: this pins
// the layout of packW4ForMma and the channel permutation to the ISA.
TEST(GpuLayoutTest, MmaFragmentsComputeTheProduct) {
  const int64_t m = 3, n = 32, k = 256, group = 64;
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> code(-8, 7);
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<int8_t> codes(n * k);
  for (int8_t &c : codes)
    c = int8_t(code(rng));
  std::vector<float> x(m * k), scales(n * (k / group));
  for (float &v : x)
    v = uniform(rng);
  for (float &v : scales)
    v = 0.01f + 0.02f * std::abs(uniform(rng));
  std::vector<uint32_t> words = packW4ForMma(codes, n, k);
  ASSERT_EQ(words.size(), size_t(n * k / 8));

  for (int64_t tile = 0; tile < n / 16; ++tile) {
    double acc[16][8] = {};
    for (int64_t grp = 0; grp < k / group; ++grp) {
      double partial[16][8] = {};
      for (int64_t step = grp * group / 64; step < (grp + 1) * group / 64;
           ++step)
        for (int64_t t = 0; t < 4; ++t) {
          float a[16][16], bm[16][8];
          for (int64_t lane = 0; lane < 32; ++lane) {
            int64_t g = lane / 4, q = lane % 4;
            uint32_t word =
                words[((tile * (k / 64) + step) * 32 + lane) * 4 + t];
            for (int64_t reg = 0; reg < 4; ++reg) {
              uint32_t from = reg < 2 ? word : word >> 8;
              uint32_t pair =
                  (from & (reg % 2 ? 0x00F000F0u : 0x000F000Fu)) | 0x64006400u;
              for (int64_t h = 0; h < 2; ++h)
                a[g + 8 * (reg % 2)][2 * q + h + 8 * (reg / 2)] =
                    halfToFloat(uint16_t(pair >> (16 * h))) -
                    (reg % 2 ? 1152.0f : 1032.0f);
            }
            int64_t row = std::min<int64_t>(g, m - 1);
            for (int64_t reg = 0; reg < 2; ++reg)
              for (int64_t h = 0; h < 2; ++h)
                bm[2 * q + h + 8 * reg][g] =
                    x[row * k + step * 64 + 16 * q + 4 * t + 2 * reg + h];
          }
          for (int64_t r = 0; r < 16; ++r)
            for (int64_t c = 0; c < 8; ++c)
              for (int64_t kk = 0; kk < 16; ++kk)
                partial[r][c] += double(a[r][kk]) * bm[kk][c];
        }
      for (int64_t r = 0; r < 16; ++r)
        for (int64_t c = 0; c < 8; ++c)
          acc[r][c] += partial[r][c] *
                       scales[(tile * 16 + r) * (k / group) + grp] /
                       (r >= 8 ? 16.0 : 1.0);
    }
    for (int64_t r = 0; r < 16; ++r)
      for (int64_t c = 0; c < m; ++c) {
        int64_t row = tile * 16 + r;
        double expected = 0;
        for (int64_t col = 0; col < k; ++col)
          expected += double(x[c * k + col]) * codes[row * k + col] *
                      scales[row * (k / group) + col / group];
        EXPECT_NEAR(acc[r][c], expected, 1e-9 * (1 + std::abs(expected)))
            << "row " << row << " activation row " << c;
      }
  }
}

// The W8A8 kernel's arithmetic on the CPU, lane by lane, as PTX's
// mma.m16n8k32 (row.col, s8) places fragments: a lane's 16 bytes of k-tile
// t (registers of rows g, g+8, g, g+8) and its one 16-byte activation load
// of a step (bytes 8t..8t+3 and 8t+4..8t+7) must give the exact integer
// product.
TEST(GpuLayoutTest, W8A8FragmentsComputeTheProduct) {
  const int64_t m = 5, n = 32, k = 192;
  std::mt19937 rng(13);
  std::uniform_int_distribution<int> value(-127, 127);
  std::vector<int8_t> weights(n * k), x(m * k);
  for (int8_t &v : weights)
    v = int8_t(value(rng));
  for (int8_t &v : x)
    v = int8_t(value(rng));
  std::vector<uint32_t> words = packW8ForMma(weights, n, k);
  ASSERT_EQ(words.size(), size_t(n * k / 4));
  for (int64_t tile = 0; tile < n / 16; ++tile) {
    int64_t acc[16][8] = {};
    for (int64_t step = 0; step < k / 64; ++step)
      for (int64_t t = 0; t < 2; ++t) {
        int64_t a[16][32], b[32][8];
        for (int64_t lane = 0; lane < 32; ++lane) {
          int64_t g = lane / 4, q = lane % 4;
          for (int64_t reg = 0; reg < 4; ++reg) {
            uint32_t word =
                words[(((tile * (k / 64) + step) * 2 + t) * 32 + lane) * 4 +
                      reg];
            for (int64_t e = 0; e < 4; ++e)
              a[g + 8 * (reg % 2)][4 * q + 16 * (reg / 2) + e] =
                  int8_t(uint8_t(word >> (8 * e)));
          }
          int64_t row = std::min<int64_t>(g, m - 1);
          for (int64_t reg = 0; reg < 2; ++reg)
            for (int64_t e = 0; e < 4; ++e)
              b[4 * q + 16 * reg + e][g] =
                  x[row * k + step * 64 + 16 * q + 8 * t + 4 * reg + e];
        }
        for (int64_t r = 0; r < 16; ++r)
          for (int64_t c = 0; c < 8; ++c)
            for (int64_t kk = 0; kk < 32; ++kk)
              acc[r][c] += a[r][kk] * b[kk][c];
      }
    for (int64_t r = 0; r < 16; ++r)
      for (int64_t c = 0; c < m; ++c) {
        int64_t row = tile * 16 + r, expected = 0;
        for (int64_t col = 0; col < k; ++col)
          expected += int64_t(x[c * k + col]) * weights[row * k + col];
        EXPECT_EQ(acc[r][c], expected)
            << "row " << row << " activation row " << c;
      }
  }
}

TEST(GpuKernelsTest, RejectsTensorCoreShapesTheKernelCannotTake) {
  for (MmaShape shape :
       {MmaShape{0, 64, 256, 64}, MmaShape{65, 64, 256, 64},
        MmaShape{1, 40, 256, 64}, MmaShape{1, 64, 256, 32},
        MmaShape{1, 64, 320, 128}, MmaShape{1, 64, 256, 64, 0, 2},
        MmaShape{1, 64, 256, 64, 33, 2}, MmaShape{1, 64, 256, 64, 4, 9}}) {
    llvm::Error error = verifyMmaShape(shape);
    EXPECT_TRUE(bool(error)) << mmaKernelName(shape);
    llvm::consumeError(std::move(error));
  }
  EXPECT_FALSE(bool(verifyMmaShape({64, 11008, 4096, 128})));
  EXPECT_EQ(mmaKernelName({16, 4096, 11008, 128}),
            "mma_w4g128_m16_n4096_k11008_w4u2r1");
  EXPECT_EQ(mmaKernelName({1, 4096, 4096, 128, 8, 1}),
            "mma_w4g128_m1_n4096_k4096_w8u1r1");
  // The shapes chosen for the 7B layers are ones the kernel takes.
  for (int64_t m : {1, 4, 16, 64})
    for (auto [n, k] : {std::pair{4096, 4096}, std::pair{11008, 4096},
                        std::pair{4096, 11008}, std::pair{32, 256}})
      EXPECT_FALSE(llvm::errorToBool(
          verifyMmaShape(chooseMmaShape(m, n, k, k % 128 ? 64 : 128))))
          << m << "x" << n << "x" << k;
  EXPECT_EQ(mmaKernelName(chooseMmaShape(1, 4096, 4096, 128)),
            "mma_w4g128_m1_n4096_k4096_w32u1r1");
  EXPECT_TRUE(llvm::errorToBool(verifyMmaShape({1, 48, 256, 64, 4, 2, 2})));
  EXPECT_FALSE(llvm::errorToBool(verifyMmaShape({1, 64, 256, 64, 4, 2, 2})));
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
  EXPECT_EQ(lowbit_cuda_load(path.c_str(), 0, &module), LOWBIT_CUDA_BAD_MODULE);
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
