//===- Layouts.cpp - The GPU kernels' weight layouts ----------------------===//
//
// Plain C++ (no LLVM or MLIR), so that programs which run on the GPU
// machine, such as lowbit-gpu-check, can pack weights as the kernels read
// them. Kernels.h describes both layouts.
//
//===----------------------------------------------------------------------===//

#include "lowbit/GPU/Layouts.h"

#include <cmath>
#include <cstring>

namespace mlir::lowbit::gpu {

std::vector<uint32_t> packW4ForGpu(const std::vector<int8_t> &codes, int64_t n,
                                   int64_t k) {
  std::vector<uint32_t> words(n * k / 8, 0);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t col = 0; col < k; ++col) {
      int64_t chunk = col / 32, within = col % 32;
      int64_t t = within / 8, j = (within % 8) / 2, h = within % 2;
      uint32_t biased = uint32_t(codes[row * k + col] + 8) & 0xF;
      words[row * (k / 8) + chunk * 4 + j] |= biased << (16 * h + 4 * t);
    }
  return words;
}

namespace {
/// Where packW4ForMma keeps the code of (row, col): a word and a bit.
struct MmaSlot {
  int64_t word, shift;
};

MmaSlot mmaSlot(int64_t row, int64_t col, int64_t k) {
  int64_t r = row % 16, c = col % kMmaStep;
  int64_t q = c / 16, t = c % 16 / 4, j = c % 4;
  int64_t lane = 4 * (r % 8) + q;
  int64_t reg = (j < 2 ? 0 : 2) + (r >= 8 ? 1 : 0);
  int64_t word =
      (((row / 16) * (k / kMmaStep) + col / kMmaStep) * 32 + lane) * 4 + t;
  return {word, 16 * (j % 2) + 4 * reg};
}
} // namespace

std::vector<uint32_t> packW4ForMma(const std::vector<int8_t> &codes, int64_t n,
                                   int64_t k) {
  std::vector<uint32_t> words(n * k / 8, 0);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t col = 0; col < k; ++col) {
      MmaSlot slot = mmaSlot(row, col, k);
      uint32_t biased = uint32_t(codes[row * k + col] + 8) & 0xF;
      words[slot.word] |= biased << slot.shift;
    }
  return words;
}

std::vector<int8_t> unpackW4FromMma(const std::vector<uint32_t> &words,
                                    int64_t n, int64_t k) {
  std::vector<int8_t> codes(n * k);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t col = 0; col < k; ++col) {
      MmaSlot slot = mmaSlot(row, col, k);
      uint32_t biased = words[slot.word] >> slot.shift & 0xF;
      codes[row * k + col] = int8_t(int32_t(biased) - 8);
    }
  return codes;
}

std::vector<uint32_t> packW8ForMma(const std::vector<int8_t> &codes, int64_t n,
                                   int64_t k) {
  std::vector<uint32_t> words(n * k / 4, 0);
  for (int64_t row = 0; row < n; ++row)
    for (int64_t col = 0; col < k; ++col) {
      int64_t r = row % 16, c = col % kMmaStep;
      int64_t q = c / 16, t = c % 16 / 8, h = c % 8 / 4, e = c % 4;
      int64_t lane = 4 * (r % 8) + q, reg = 2 * h + r / 8;
      int64_t word =
          ((((row / 16) * (k / kMmaStep) + col / kMmaStep) * 2 + t) * 32 +
           lane) *
              4 +
          reg;
      words[word] |= uint32_t(uint8_t(codes[row * k + col])) << (8 * e);
    }
  return words;
}

uint16_t floatToHalfBits(float value) {
  uint32_t x;
  std::memcpy(&x, &value, 4);
  uint32_t sign = (x >> 16) & 0x8000, magnitude = x & 0x7fffffff;
  if (magnitude >= 0x7f800000) // inf, NaN
    return uint16_t(sign | 0x7c00 | (magnitude > 0x7f800000 ? 0x200 : 0));
  if (magnitude >= 0x477ff000) // rounds past 65504
    return uint16_t(sign | 0x7c00);
  if (magnitude < 0x38800000) { // a subnormal half: units of 2^-24
    float f;
    std::memcpy(&f, &magnitude, 4);
    return uint16_t(sign | uint32_t(std::nearbyint(f * 16777216.0f)));
  }
  uint32_t half = ((magnitude >> 23) - 112) << 10 | (magnitude >> 13 & 0x3ff);
  uint32_t rest = magnitude & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1)))
    ++half; // to nearest even; a carry moves into the exponent correctly
  return uint16_t(sign | half);
}

float halfBitsToFloat(uint16_t bits) {
  uint32_t sign = uint32_t(bits & 0x8000) << 16;
  uint32_t exponent = bits >> 10 & 0x1f, mantissa = bits & 0x3ff;
  if (exponent == 0) {
    float f = std::ldexp(float(mantissa), -24);
    return sign ? -f : f;
  }
  uint32_t x = exponent == 31 ? sign | 0x7f800000 | mantissa << 13
                              : sign | (exponent + 112) << 23 | mantissa << 13;
  float f;
  std::memcpy(&f, &x, 4);
  return f;
}

} // namespace mlir::lowbit::gpu
