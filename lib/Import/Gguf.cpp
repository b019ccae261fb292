//===- Gguf.cpp - GGUF checkpoints ----------------------------------------===//
//
// Parses GGUF files (the layout is in Gguf.h), converts ggml's block formats
// to f32, and maps llama.cpp's tensor names onto LlamaCheckpoint. Every size
// read from the file is checked against the bytes that remain before it is
// used, so hostile lengths and counts end in errors, not in reads past the
// end or huge allocations.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Import/Gguf.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/Twine.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/SwapByteOrder.h"

#include <algorithm>
#include <cstring>
#include <limits>

using namespace lowbit;
using llvm::ArrayRef;
using llvm::MutableArrayRef;
using llvm::StringRef;
using llvm::Twine;
namespace endian = llvm::support::endian;

//===----------------------------------------------------------------------===//
// ggml types
//===----------------------------------------------------------------------===//

// Block geometry of every type ggml.h defines, so that files holding types
// LowBit cannot convert still open (and fail only when such a tensor is
// dequantized).
static const GgmlTypeInfo kGgmlTypes[] = {
    {GgmlType::F32, "F32", 1, 4, true},
    {GgmlType::F16, "F16", 1, 2, true},
    {GgmlType::Q4_0, "Q4_0", 32, 18, true},
    {GgmlType::Q4_1, "Q4_1", 32, 20, true},
    {GgmlType::Q5_0, "Q5_0", 32, 22, true},
    {GgmlType::Q5_1, "Q5_1", 32, 24, true},
    {GgmlType::Q8_0, "Q8_0", 32, 34, true},
    {GgmlType::Q8_1, "Q8_1", 32, 36, false},
    {GgmlType::Q2_K, "Q2_K", 256, 84, true},
    {GgmlType::Q3_K, "Q3_K", 256, 110, true},
    {GgmlType::Q4_K, "Q4_K", 256, 144, true},
    {GgmlType::Q5_K, "Q5_K", 256, 176, true},
    {GgmlType::Q6_K, "Q6_K", 256, 210, true},
    {GgmlType::Q8_K, "Q8_K", 256, 292, false},
    {GgmlType::IQ2_XXS, "IQ2_XXS", 256, 66, false},
    {GgmlType::IQ2_XS, "IQ2_XS", 256, 74, false},
    {GgmlType::IQ3_XXS, "IQ3_XXS", 256, 98, false},
    {GgmlType::IQ1_S, "IQ1_S", 256, 50, false},
    {GgmlType::IQ4_NL, "IQ4_NL", 32, 18, false},
    {GgmlType::IQ3_S, "IQ3_S", 256, 110, false},
    {GgmlType::IQ2_S, "IQ2_S", 256, 82, false},
    {GgmlType::IQ4_XS, "IQ4_XS", 256, 136, false},
    {GgmlType::I8, "I8", 1, 1, false},
    {GgmlType::I16, "I16", 1, 2, false},
    {GgmlType::I32, "I32", 1, 4, false},
    {GgmlType::I64, "I64", 1, 8, false},
    {GgmlType::F64, "F64", 1, 8, true},
    {GgmlType::IQ1_M, "IQ1_M", 256, 56, false},
    {GgmlType::BF16, "BF16", 1, 2, true},
    {GgmlType::TQ1_0, "TQ1_0", 256, 54, false},
    {GgmlType::TQ2_0, "TQ2_0", 256, 66, false},
    {GgmlType::MXFP4, "MXFP4", 32, 17, false},
    {GgmlType::NVFP4, "NVFP4", 64, 36, false},
};

const GgmlTypeInfo *lowbit::getGgmlTypeInfo(uint32_t type) {
  for (const GgmlTypeInfo &info : kGgmlTypes)
    if (static_cast<uint32_t>(info.type) == type)
      return &info;
  return nullptr;
}

std::string lowbit::describeGgmlType(uint32_t type) {
  if (const GgmlTypeInfo *info = getGgmlTypeInfo(type))
    return (info->name + " (" + Twine(type) + ")").str();
  return "unknown type " + std::to_string(type);
}

static std::string listDequantizableTypes() {
  std::string list;
  for (const GgmlTypeInfo &info : kGgmlTypes)
    if (info.canDequantize)
      list += (list.empty() ? "" : ", ") + info.name.str();
  return list;
}

//===----------------------------------------------------------------------===//
// Dequantization
//===----------------------------------------------------------------------===//

float lowbit::convertHalfToFloat(uint16_t bits) {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  if (exponent == 0) {
    // Zero or subnormal: mantissa * 2^-24, exact in f32.
    float magnitude = static_cast<float>(mantissa) * 0x1p-24f;
    return sign ? -magnitude : magnitude;
  }
  uint32_t result;
  if (exponent == 0x1f) // Infinity or NaN, payload kept.
    result = sign | 0x7f800000u | (mantissa << 13);
  else // Rebias the exponent from 15 to 127.
    result = sign | ((exponent + 112) << 23) | (mantissa << 13);
  float value;
  std::memcpy(&value, &result, sizeof(value));
  return value;
}

float lowbit::convertBFloat16ToFloat(uint16_t bits) {
  uint32_t result = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &result, sizeof(value));
  return value;
}

static inline uint16_t readU16(const uint8_t *p) {
  return static_cast<uint16_t>(p[0] | (p[1] << 8));
}
static inline float readHalf(const uint8_t *p) {
  return convertHalfToFloat(readU16(p));
}

// One decoder per block format, each a plain function over one block: the
// dispatch on the type happens once per call of dequantizeRow(), and the
// per-block loop below inlines the decoder.

// Q4_0: f16 scale d, then 16 bytes; byte i holds element i in its low nibble
// and element i + 16 in its high nibble, each stored with an offset of 8.
static void decodeQ4_0(const uint8_t *block, float *out) {
  float d = readHalf(block);
  const uint8_t *qs = block + 2;
  for (int i = 0; i < 16; ++i) {
    out[i] = static_cast<float>((qs[i] & 0xf) - 8) * d;
    out[i + 16] = static_cast<float>((qs[i] >> 4) - 8) * d;
  }
}

// Q4_1: f16 scale d and f16 minimum m, then nibbles as in Q4_0, unsigned.
static void decodeQ4_1(const uint8_t *block, float *out) {
  float d = readHalf(block), m = readHalf(block + 2);
  const uint8_t *qs = block + 4;
  for (int i = 0; i < 16; ++i) {
    out[i] = static_cast<float>(qs[i] & 0xf) * d + m;
    out[i + 16] = static_cast<float>(qs[i] >> 4) * d + m;
  }
}

// Q5_0 and Q5_1 add a fifth bit per element: bit i of a little-endian u32.
static inline int fifthBit(uint32_t highBits, int element) {
  return static_cast<int>((highBits >> element) & 1u) << 4;
}

// Q5_0: f16 d, u32 high bits, 16 bytes of nibbles; offset 16.
static void decodeQ5_0(const uint8_t *block, float *out) {
  float d = readHalf(block);
  uint32_t highBits = endian::read32le(block + 2);
  const uint8_t *qs = block + 6;
  for (int i = 0; i < 16; ++i) {
    int low = (qs[i] & 0xf) | fifthBit(highBits, i);
    int high = (qs[i] >> 4) | fifthBit(highBits, i + 16);
    out[i] = static_cast<float>(low - 16) * d;
    out[i + 16] = static_cast<float>(high - 16) * d;
  }
}

// Q5_1: f16 d, f16 m, u32 high bits, 16 bytes of nibbles; unsigned.
static void decodeQ5_1(const uint8_t *block, float *out) {
  float d = readHalf(block), m = readHalf(block + 2);
  uint32_t highBits = endian::read32le(block + 4);
  const uint8_t *qs = block + 8;
  for (int i = 0; i < 16; ++i) {
    int low = (qs[i] & 0xf) | fifthBit(highBits, i);
    int high = (qs[i] >> 4) | fifthBit(highBits, i + 16);
    out[i] = static_cast<float>(low) * d + m;
    out[i + 16] = static_cast<float>(high) * d + m;
  }
}

// Q8_0: f16 d, then 32 int8.
static void decodeQ8_0(const uint8_t *block, float *out) {
  float d = readHalf(block);
  const uint8_t *qs = block + 2;
  for (int i = 0; i < 32; ++i)
    out[i] = static_cast<float>(static_cast<int8_t>(qs[i])) * d;
}

// The K-quants split a super-block of 256 elements into sub-blocks of 16 or
// 32 with their own small-integer scales, themselves scaled by f16 values.
//
// Q2_K: 16 bytes of (4-bit scale | 4-bit min << 4), one per 16 elements; 64
// bytes of 2-bit quants; f16 d; f16 dmin. Element 128h + 32j + t is bits
// 2j..2j+1 of quant byte 32h + t, and x = d*scale*q - dmin*min.
static void decodeQ2_K(const uint8_t *block, float *out) {
  const uint8_t *scales = block, *qs = block + 16;
  float d = readHalf(block + 80), dmin = readHalf(block + 82);
  for (int half = 0; half < 2; ++half)
    for (int j = 0; j < 4; ++j)
      for (int group = 0; group < 2; ++group) {
        int first = 128 * half + 32 * j + 16 * group;
        uint8_t packed = scales[first / 16];
        float scale = d * static_cast<float>(packed & 0xf);
        float min = dmin * static_cast<float>(packed >> 4);
        const uint8_t *q = qs + 32 * half + 16 * group;
        for (int t = 0; t < 16; ++t)
          out[first + t] =
              scale * static_cast<float>((q[t] >> (2 * j)) & 3) - min;
      }
}

// Q3_K: 32 bytes of high bits, 64 bytes of 2-bit quants, 12 bytes packing
// sixteen 6-bit scales (offset 32), f16 d. Scale i keeps its low nibble in
// byte i (i < 8) or in the high nibble of byte i - 8, and its top two bits at
// bit 2*(i/4) of byte 8 + i%4. Element e = 128h + 32j + t takes bits 2j..2j+1
// of quant byte 32h + t, minus 4 unless bit 4h + j of high-bit byte t is set.
static void decodeQ3_K(const uint8_t *block, float *out) {
  const uint8_t *highMask = block, *qs = block + 32, *packed = block + 96;
  float d = readHalf(block + 108);
  float scales[16];
  for (int i = 0; i < 16; ++i) {
    int low = i < 8 ? packed[i] & 0xf : packed[i - 8] >> 4;
    int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
    scales[i] = d * static_cast<float>((low | (high << 4)) - 32);
  }
  for (int half = 0; half < 2; ++half)
    for (int j = 0; j < 4; ++j) {
      int shift = 2 * j, highBit = 4 * half + j;
      const uint8_t *q = qs + 32 * half;
      float *y = out + 128 * half + 32 * j;
      for (int t = 0; t < 32; ++t) {
        int value =
            ((q[t] >> shift) & 3) - (((highMask[t] >> highBit) & 1) ? 0 : 4);
        y[t] =
            scales[(128 * half + 32 * j + t) / 16] * static_cast<float>(value);
      }
    }
}

// Q4_K and Q5_K pack eight 6-bit scales and eight 6-bit mins in 12 bytes:
// bytes 0-3 hold scales 0-3 and bytes 4-7 mins 0-3 in their low six bits;
// sub-blocks 4-7 keep their low nibbles in bytes 8-11 (scale low, min high)
// and their top two bits in the spare top bits of bytes 0-3 (scales) and 4-7
// (mins).
static void unpackScalesAndMins(const uint8_t *packed, uint8_t scales[8],
                                uint8_t mins[8]) {
  for (int i = 0; i < 4; ++i) {
    scales[i] = packed[i] & 63;
    mins[i] = packed[i + 4] & 63;
    scales[i + 4] = (packed[i + 8] & 0xf) | ((packed[i] >> 6) << 4);
    mins[i + 4] = (packed[i + 8] >> 4) | ((packed[i + 4] >> 6) << 4);
  }
}

// Q4_K: f16 d, f16 dmin, 12 bytes of scales and mins, 128 bytes of nibbles.
// Sub-block s (32 elements) reads the low (even s) or high (odd s) nibbles of
// bytes 32*(s/2) .. +31; x = d*scale[s]*q - dmin*min[s].
static void decodeQ4_K(const uint8_t *block, float *out) {
  float d = readHalf(block), dmin = readHalf(block + 2);
  uint8_t scales[8], mins[8];
  unpackScalesAndMins(block + 4, scales, mins);
  const uint8_t *qs = block + 16;
  for (int sub = 0; sub < 8; ++sub) {
    float scale = d * static_cast<float>(scales[sub]);
    float min = dmin * static_cast<float>(mins[sub]);
    const uint8_t *q = qs + 32 * (sub / 2);
    int shift = 4 * (sub % 2);
    float *y = out + 32 * sub;
    for (int t = 0; t < 32; ++t)
      y[t] = scale * static_cast<float>((q[t] >> shift) & 0xf) - min;
  }
}

// Q5_K: as Q4_K with 32 bytes of fifth bits after the scales (bit s of byte
// t belongs to element t of sub-block s) and the nibbles after those.
static void decodeQ5_K(const uint8_t *block, float *out) {
  float d = readHalf(block), dmin = readHalf(block + 2);
  uint8_t scales[8], mins[8];
  unpackScalesAndMins(block + 4, scales, mins);
  const uint8_t *qh = block + 16, *qs = block + 48;
  for (int sub = 0; sub < 8; ++sub) {
    float scale = d * static_cast<float>(scales[sub]);
    float min = dmin * static_cast<float>(mins[sub]);
    const uint8_t *q = qs + 32 * (sub / 2);
    int shift = 4 * (sub % 2);
    float *y = out + 32 * sub;
    for (int t = 0; t < 32; ++t) {
      int value = ((q[t] >> shift) & 0xf) | (((qh[t] >> sub) & 1) << 4);
      y[t] = scale * static_cast<float>(value) - min;
    }
  }
}

// Q6_K: 128 bytes of low nibbles, 64 bytes of 2-bit high parts, 16 int8
// scales (one per 16 elements), f16 d. Element e = 128h + 32k + t: its low
// nibble is in byte 64h + 32(k%2) + t (low nibble for k < 2, high for
// k >= 2), its high part at bits 2k..2k+1 of byte 32h + t of the high parts;
// x = d * scale[e/16] * (q - 32).
static void decodeQ6_K(const uint8_t *block, float *out) {
  const uint8_t *ql = block, *qh = block + 128;
  const int8_t *scales = reinterpret_cast<const int8_t *>(block + 192);
  float d = readHalf(block + 208);
  float groupScale[16];
  for (int i = 0; i < 16; ++i)
    groupScale[i] = d * static_cast<float>(scales[i]);
  for (int half = 0; half < 2; ++half)
    for (int k = 0; k < 4; ++k) {
      const uint8_t *low = ql + 64 * half + 32 * (k % 2);
      const uint8_t *high = qh + 32 * half;
      int lowShift = 4 * (k / 2), highShift = 2 * k;
      int first = 128 * half + 32 * k;
      for (int t = 0; t < 32; ++t) {
        int value =
            ((low[t] >> lowShift) & 0xf) | (((high[t] >> highShift) & 3) << 4);
        out[first + t] =
            groupScale[(first + t) / 16] * static_cast<float>(value - 32);
      }
    }
}

template <typename DecodeBlock>
static void decodeBlocks(const uint8_t *src, float *dst, size_t numBlocks,
                         size_t blockBytes, size_t blockSize,
                         DecodeBlock decode) {
  for (size_t i = 0; i < numBlocks; ++i)
    decode(src + i * blockBytes, dst + i * blockSize);
}

llvm::Error lowbit::dequantizeRow(GgmlType type, ArrayRef<uint8_t> blocks,
                                  MutableArrayRef<float> out) {
  uint32_t number = static_cast<uint32_t>(type);
  const GgmlTypeInfo *info = getGgmlTypeInfo(number);
  if (!info)
    return llvm::createStringError("cannot dequantize " +
                                   describeGgmlType(number));
  if (!info->canDequantize)
    return llvm::createStringError(
        "cannot dequantize ggml type " + describeGgmlType(number) +
        "; supported types are " + listDequantizableTypes());
  size_t count = out.size();
  if (count % info->blockSize != 0)
    return llvm::createStringError(
        Twine(count) + " values are not a whole number of " + info->name +
        " blocks of " + Twine(info->blockSize));
  size_t numBlocks = count / info->blockSize;
  if (numBlocks > std::numeric_limits<size_t>::max() / info->blockBytes ||
      blocks.size() != numBlocks * info->blockBytes)
    return llvm::createStringError(Twine(count) + " values of " + info->name +
                                   " take " + Twine(numBlocks) + " blocks of " +
                                   Twine(info->blockBytes) + " bytes, but " +
                                   Twine(blocks.size()) + " bytes were given");

  const uint8_t *src = blocks.data();
  float *dst = out.data();
  switch (type) {
  case GgmlType::F32:
    if (llvm::sys::IsLittleEndianHost) {
      if (count)
        std::memcpy(dst, src, count * sizeof(float));
    } else {
      for (size_t i = 0; i < count; ++i) {
        uint32_t bits = endian::read32le(src + 4 * i);
        std::memcpy(dst + i, &bits, sizeof(float));
      }
    }
    break;
  case GgmlType::F16:
    for (size_t i = 0; i < count; ++i)
      dst[i] = convertHalfToFloat(readU16(src + 2 * i));
    break;
  case GgmlType::BF16:
    for (size_t i = 0; i < count; ++i)
      dst[i] = convertBFloat16ToFloat(readU16(src + 2 * i));
    break;
  case GgmlType::F64:
    for (size_t i = 0; i < count; ++i) {
      uint64_t bits = endian::read64le(src + 8 * i);
      double value;
      std::memcpy(&value, &bits, sizeof(value));
      dst[i] = static_cast<float>(value);
    }
    break;
  case GgmlType::Q4_0:
    decodeBlocks(src, dst, numBlocks, 18, 32, decodeQ4_0);
    break;
  case GgmlType::Q4_1:
    decodeBlocks(src, dst, numBlocks, 20, 32, decodeQ4_1);
    break;
  case GgmlType::Q5_0:
    decodeBlocks(src, dst, numBlocks, 22, 32, decodeQ5_0);
    break;
  case GgmlType::Q5_1:
    decodeBlocks(src, dst, numBlocks, 24, 32, decodeQ5_1);
    break;
  case GgmlType::Q8_0:
    decodeBlocks(src, dst, numBlocks, 34, 32, decodeQ8_0);
    break;
  case GgmlType::Q2_K:
    decodeBlocks(src, dst, numBlocks, 84, 256, decodeQ2_K);
    break;
  case GgmlType::Q3_K:
    decodeBlocks(src, dst, numBlocks, 110, 256, decodeQ3_K);
    break;
  case GgmlType::Q4_K:
    decodeBlocks(src, dst, numBlocks, 144, 256, decodeQ4_K);
    break;
  case GgmlType::Q5_K:
    decodeBlocks(src, dst, numBlocks, 176, 256, decodeQ5_K);
    break;
  case GgmlType::Q6_K:
    decodeBlocks(src, dst, numBlocks, 210, 256, decodeQ6_K);
    break;
  default:
    llvm_unreachable("type marked dequantizable without a decoder");
  }
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// Metadata values
//===----------------------------------------------------------------------===//

StringRef lowbit::getGgufValueTypeName(GgufValueType type) {
  switch (type) {
  case GgufValueType::UInt8:
    return "uint8";
  case GgufValueType::Int8:
    return "int8";
  case GgufValueType::UInt16:
    return "uint16";
  case GgufValueType::Int16:
    return "int16";
  case GgufValueType::UInt32:
    return "uint32";
  case GgufValueType::Int32:
    return "int32";
  case GgufValueType::Float32:
    return "float32";
  case GgufValueType::Bool:
    return "bool";
  case GgufValueType::String:
    return "string";
  case GgufValueType::Array:
    return "array";
  case GgufValueType::UInt64:
    return "uint64";
  case GgufValueType::Int64:
    return "int64";
  case GgufValueType::Float64:
    return "float64";
  }
  return "unknown";
}

uint64_t lowbit::getGgufScalarSize(GgufValueType type) {
  switch (type) {
  case GgufValueType::UInt8:
  case GgufValueType::Int8:
  case GgufValueType::Bool:
    return 1;
  case GgufValueType::UInt16:
  case GgufValueType::Int16:
    return 2;
  case GgufValueType::UInt32:
  case GgufValueType::Int32:
  case GgufValueType::Float32:
    return 4;
  case GgufValueType::UInt64:
  case GgufValueType::Int64:
  case GgufValueType::Float64:
    return 8;
  case GgufValueType::String:
  case GgufValueType::Array:
    return 0;
  }
  return 0;
}

static bool isIntegerType(GgufValueType type) {
  switch (type) {
  case GgufValueType::UInt8:
  case GgufValueType::Int8:
  case GgufValueType::UInt16:
  case GgufValueType::Int16:
  case GgufValueType::UInt32:
  case GgufValueType::Int32:
  case GgufValueType::UInt64:
  case GgufValueType::Int64:
    return true;
  default:
    return false;
  }
}

static bool isFloatType(GgufValueType type) {
  return type == GgufValueType::Float32 || type == GgufValueType::Float64;
}

GgufValue GgufValue::decodeScalar(GgufValueType type, const uint8_t *bytes) {
  GgufValue value;
  value.type = type;
  auto signExtend = [](int64_t v) { return static_cast<uint64_t>(v); };
  switch (type) {
  case GgufValueType::UInt8:
  case GgufValueType::Bool:
    value.integer = bytes[0];
    break;
  case GgufValueType::Int8:
    value.integer = signExtend(static_cast<int8_t>(bytes[0]));
    break;
  case GgufValueType::UInt16:
    value.integer = endian::read16le(bytes);
    break;
  case GgufValueType::Int16:
    value.integer = signExtend(static_cast<int16_t>(endian::read16le(bytes)));
    break;
  case GgufValueType::UInt32:
    value.integer = endian::read32le(bytes);
    break;
  case GgufValueType::Int32:
    value.integer = signExtend(static_cast<int32_t>(endian::read32le(bytes)));
    break;
  case GgufValueType::UInt64:
  case GgufValueType::Int64:
    value.integer = endian::read64le(bytes);
    break;
  case GgufValueType::Float32: {
    uint32_t bits = endian::read32le(bytes);
    float f;
    std::memcpy(&f, &bits, sizeof(f));
    value.real = f;
    break;
  }
  case GgufValueType::Float64: {
    uint64_t bits = endian::read64le(bytes);
    std::memcpy(&value.real, &bits, sizeof(value.real));
    break;
  }
  case GgufValueType::String:
  case GgufValueType::Array:
    llvm_unreachable("not a fixed-size scalar type");
  }
  return value;
}

GgufValue GgufValue::makeString(StringRef text) {
  GgufValue value;
  value.type = GgufValueType::String;
  value.bytes = text;
  return value;
}

GgufValue GgufValue::makeScalarArray(GgufValueType elementType, uint64_t size,
                                     StringRef raw) {
  assert(getGgufScalarSize(elementType) * size == raw.size() &&
         "raw bytes must hold exactly the elements");
  GgufValue value;
  value.type = GgufValueType::Array;
  value.elementType = elementType;
  value.arraySize = size;
  value.bytes = raw;
  return value;
}

GgufValue GgufValue::makeStringArray(std::vector<StringRef> strings) {
  GgufValue value;
  value.type = GgufValueType::Array;
  value.elementType = GgufValueType::String;
  value.arraySize = strings.size();
  value.strings = std::move(strings);
  return value;
}

GgufValue GgufValue::makeNestedArray(std::vector<GgufValue> arrays) {
  GgufValue value;
  value.type = GgufValueType::Array;
  value.elementType = GgufValueType::Array;
  value.arraySize = arrays.size();
  value.arrays = std::move(arrays);
  return value;
}

std::optional<int64_t> GgufValue::getInteger() const {
  if (!isIntegerType(type))
    return std::nullopt;
  if (type == GgufValueType::UInt64 &&
      integer > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    return std::nullopt;
  return static_cast<int64_t>(integer);
}

std::optional<double> GgufValue::getFloat() const {
  if (isFloatType(type))
    return real;
  if (type == GgufValueType::UInt64)
    return static_cast<double>(integer);
  if (isIntegerType(type))
    return static_cast<double>(static_cast<int64_t>(integer));
  return std::nullopt;
}

std::optional<bool> GgufValue::getBool() const {
  if (type != GgufValueType::Bool)
    return std::nullopt;
  return integer != 0;
}

std::optional<StringRef> GgufValue::getString() const {
  if (type != GgufValueType::String)
    return std::nullopt;
  return bytes;
}

std::optional<GgufValue> GgufValue::getArrayElement(uint64_t index) const {
  if (!isArray() || index >= arraySize)
    return std::nullopt;
  if (elementType == GgufValueType::String)
    return makeString(strings[index]);
  if (elementType == GgufValueType::Array)
    return arrays[index];
  uint64_t size = getGgufScalarSize(elementType);
  return decodeScalar(elementType, bytes.bytes_begin() + index * size);
}

std::optional<std::vector<int64_t>> GgufValue::getIntegerArray() const {
  if (!isArray() || !isIntegerType(elementType))
    return std::nullopt;
  std::vector<int64_t> result;
  result.reserve(arraySize);
  uint64_t size = getGgufScalarSize(elementType);
  for (uint64_t i = 0; i < arraySize; ++i) {
    std::optional<int64_t> element =
        decodeScalar(elementType, bytes.bytes_begin() + i * size).getInteger();
    if (!element)
      return std::nullopt;
    result.push_back(*element);
  }
  return result;
}

std::optional<std::vector<double>> GgufValue::getFloatArray() const {
  if (!isArray() || !(isFloatType(elementType) || isIntegerType(elementType)))
    return std::nullopt;
  std::vector<double> result;
  result.reserve(arraySize);
  uint64_t size = getGgufScalarSize(elementType);
  for (uint64_t i = 0; i < arraySize; ++i)
    result.push_back(
        *decodeScalar(elementType, bytes.bytes_begin() + i * size).getFloat());
  return result;
}

std::optional<ArrayRef<StringRef>> GgufValue::getStringArray() const {
  if (!isArray() || elementType != GgufValueType::String)
    return std::nullopt;
  return ArrayRef<StringRef>(strings);
}

std::optional<ArrayRef<GgufValue>> GgufValue::getNestedArrays() const {
  if (!isArray() || elementType != GgufValueType::Array)
    return std::nullopt;
  return ArrayRef<GgufValue>(arrays);
}

/// "uint32", "array of string", ...
static std::string describeValueType(const GgufValue &value) {
  if (value.isArray())
    return ("array of " + getGgufValueTypeName(value.getElementType())).str();
  return getGgufValueTypeName(value.getType()).str();
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

namespace {
// Smallest encodings, used to reject counts the rest of the file cannot hold
// before anything is allocated for them.
constexpr uint64_t kMinMetadataEntryBytes = 8 + 4 + 1; // key, type, uint8
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;
constexpr uint64_t kMinStringBytes = 8;
constexpr uint64_t kMinArrayBytes = 4 + 8;
// Arrays of arrays recurse; real files nest at most once or twice.
constexpr unsigned kMaxArrayDepth = 8;
constexpr uint32_t kMaxDims = 4;
// Entries and tensors are much larger in memory than their smallest
// encodings; beyond this many, vectors grow only with what actually parses.
constexpr uint64_t kMaxReserve = 4096;

/// Bounds-checked little-endian reads over the file image. Errors say which
/// section was being read, what was wanted and where.
class Cursor {
public:
  Cursor(StringRef path, StringRef bytes) : path(path), bytes(bytes) {}

  void setSection(StringRef name) { section = name; }
  uint64_t getOffset() const { return offset; }
  uint64_t getRemaining() const { return bytes.size() - offset; }

  llvm::Error need(uint64_t size, const Twine &what) const {
    if (size <= getRemaining())
      return llvm::Error::success();
    return llvm::createStringError(
        path + ": truncated " + section + ": " + what + " needs " +
        Twine(size) + " bytes at offset " + Twine(offset) +
        ", but the file has only " + Twine(getRemaining()) + " more");
  }

  /// The next `size` bytes, which need() has checked are there.
  const uint8_t *take(uint64_t size) {
    const uint8_t *start = bytes.bytes_begin() + offset;
    offset += size;
    return start;
  }

  llvm::Error readU32(uint32_t &value, const Twine &what) {
    if (llvm::Error error = need(4, what))
      return error;
    value = endian::read32le(take(4));
    return llvm::Error::success();
  }

  llvm::Error readU64(uint64_t &value, const Twine &what) {
    if (llvm::Error error = need(8, what))
      return error;
    value = endian::read64le(take(8));
    return llvm::Error::success();
  }

  llvm::Error readString(StringRef &value, const Twine &what) {
    uint64_t length;
    if (llvm::Error error = readU64(length, "the length of " + what))
      return error;
    if (llvm::Error error = need(length, what))
      return error;
    value = StringRef(reinterpret_cast<const char *>(take(length)), length);
    return llvm::Error::success();
  }

private:
  StringRef path;
  StringRef bytes;
  StringRef section = "header";
  uint64_t offset = 0;
};
} // namespace

static std::string formatShape(ArrayRef<int64_t> shape) {
  std::string text;
  for (int64_t extent : shape)
    text += (text.empty() ? "" : "x") + std::to_string(extent);
  return text.empty() ? "(scalar)" : text;
}

/// The fewest bytes a value of `type` takes in the file.
static uint64_t getMinEncodedSize(GgufValueType type) {
  if (type == GgufValueType::String)
    return kMinStringBytes;
  if (type == GgufValueType::Array)
    return kMinArrayBytes;
  return getGgufScalarSize(type);
}

/// Parses one value of type `rawType` (already read) for metadata `key`.
static llvm::Error parseValue(Cursor &in, StringRef path, StringRef key,
                              uint32_t rawType, unsigned depth,
                              GgufValue &value) {
  if (rawType > static_cast<uint32_t>(GgufValueType::Float64))
    return llvm::createStringError(path + ": metadata '" + key +
                                   "' has unknown value type " +
                                   Twine(rawType));
  auto type = static_cast<GgufValueType>(rawType);
  if (uint64_t size = getGgufScalarSize(type)) {
    if (llvm::Error error = in.need(size, "the value of '" + key + "'"))
      return error;
    value = GgufValue::decodeScalar(type, in.take(size));
    return llvm::Error::success();
  }
  if (type == GgufValueType::String) {
    StringRef text;
    if (llvm::Error error =
            in.readString(text, "the string value of '" + key + "'"))
      return error;
    value = GgufValue::makeString(text);
    return llvm::Error::success();
  }

  uint32_t rawElementType;
  if (llvm::Error error =
          in.readU32(rawElementType, "the element type of array '" + key + "'"))
    return error;
  if (rawElementType > static_cast<uint32_t>(GgufValueType::Float64))
    return llvm::createStringError(path + ": metadata array '" + key +
                                   "' has elements of unknown value type " +
                                   Twine(rawElementType));
  auto elementType = static_cast<GgufValueType>(rawElementType);
  uint64_t count;
  if (llvm::Error error =
          in.readU64(count, "the length of array '" + key + "'"))
    return error;
  uint64_t elementSize = getGgufScalarSize(elementType);
  uint64_t minElementBytes = getMinEncodedSize(elementType);
  if (count > in.getRemaining() / minElementBytes)
    return llvm::createStringError(
        path + ": truncated metadata: array '" + key + "' claims " +
        Twine(count) + " elements of type " +
        getGgufValueTypeName(elementType) + " (at least " +
        Twine(minElementBytes) + " bytes each) at offset " +
        Twine(in.getOffset()) + ", but the file has only " +
        Twine(in.getRemaining()) + " more bytes");

  if (elementSize) {
    StringRef raw(reinterpret_cast<const char *>(in.take(count * elementSize)),
                  count * elementSize);
    value = GgufValue::makeScalarArray(elementType, count, raw);
    return llvm::Error::success();
  }
  if (elementType == GgufValueType::String) {
    std::vector<StringRef> strings;
    strings.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      StringRef text;
      if (llvm::Error error = in.readString(
              text, "element " + Twine(i) + " of array '" + key + "'"))
        return error;
      strings.push_back(text);
    }
    value = GgufValue::makeStringArray(std::move(strings));
    return llvm::Error::success();
  }
  if (depth + 1 >= kMaxArrayDepth)
    return llvm::createStringError(path + ": metadata array '" + key +
                                   "' nests arrays more than " +
                                   Twine(kMaxArrayDepth) + " deep");
  std::vector<GgufValue> arrays;
  for (uint64_t i = 0; i < count; ++i) {
    GgufValue element;
    if (llvm::Error error = parseValue(
            in, path, key, static_cast<uint32_t>(GgufValueType::Array),
            depth + 1, element))
      return error;
    arrays.push_back(std::move(element));
  }
  value = GgufValue::makeNestedArray(std::move(arrays));
  return llvm::Error::success();
}

/// Reads one tensor table entry and checks its dims and type.
static llvm::Error parseTensorInfo(Cursor &in, StringRef path, uint64_t index,
                                   GgufTensorInfo &info) {
  if (llvm::Error error =
          in.readString(info.name, "the name of tensor " + Twine(index)))
    return error;
  std::string where = ("tensor '" + info.name + "'").str();
  uint32_t numDims;
  if (llvm::Error error =
          in.readU32(numDims, "the dimension count of " + where))
    return error;
  if (numDims == 0 || numDims > kMaxDims)
    return llvm::createStringError(path + ": " + where + " has " +
                                   Twine(numDims) +
                                   " dimensions; GGUF allows 1 to 4");
  for (uint32_t i = 0; i < numDims; ++i) {
    uint64_t extent;
    if (llvm::Error error =
            in.readU64(extent, "dimension " + Twine(i) + " of " + where))
      return error;
    if (extent > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
      return llvm::createStringError(path + ": " + where + " has dimension " +
                                     Twine(i) + " of " + Twine(extent) +
                                     ", more than int64 can count");
    info.dims.push_back(static_cast<int64_t>(extent));
  }
  if (llvm::Error error = in.readU32(info.type, "the type of " + where))
    return error;
  if (llvm::Error error =
          in.readU64(info.offset, "the data offset of " + where))
    return error;

  const GgmlTypeInfo *typeInfo = getGgmlTypeInfo(info.type);
  if (!typeInfo)
    return llvm::createStringError(
        path + ": " + where + " has unknown ggml type " + Twine(info.type));
  int64_t numElements = 1;
  for (int64_t extent : info.dims)
    if (llvm::MulOverflow(numElements, extent, numElements))
      return llvm::createStringError(path + ": " + where + " has dims " +
                                     formatShape(info.dims) +
                                     " whose element count overflows 64 bits");
  info.numElements = static_cast<uint64_t>(numElements);
  if (info.dims[0] % typeInfo->blockSize != 0)
    return llvm::createStringError(
        path + ": " + where + " has rows of " + Twine(info.dims[0]) +
        " values, not a whole number of " + typeInfo->name + " blocks of " +
        Twine(typeInfo->blockSize));
  uint64_t numBlocks = info.numElements / typeInfo->blockSize;
  if (numBlocks > std::numeric_limits<uint64_t>::max() / typeInfo->blockBytes)
    return llvm::createStringError(path + ": " + where +
                                   " has a byte size that overflows 64 bits");
  info.numBytes = numBlocks * typeInfo->blockBytes;
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// GgufFile
//===----------------------------------------------------------------------===//

llvm::Expected<std::unique_ptr<GgufFile>> GgufFile::open(StringRef path) {
  // Large files are mapped, not read: tensors are only touched when
  // dequantized.
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return llvm::createStringError(
        path + ": cannot open: " + buffer.getError().message());
  return parse(std::move(*buffer));
}

llvm::Expected<std::unique_ptr<GgufFile>>
GgufFile::parse(std::unique_ptr<llvm::MemoryBuffer> buffer) {
  std::unique_ptr<GgufFile> file(new GgufFile());
  file->path = buffer->getBufferIdentifier().str();
  file->buffer = std::move(buffer);
  if (llvm::Error error = file->parseAll())
    return std::move(error);
  return std::move(file);
}

llvm::Error GgufFile::makeError(const Twine &message) const {
  return llvm::createStringError(path + ": " + message);
}

llvm::Error GgufFile::parseAll() {
  StringRef bytes = buffer->getBuffer();
  Cursor in(path, bytes);

  in.setSection("header");
  if (llvm::Error error = in.need(4, "the magic"))
    return error;
  StringRef magic = bytes.take_front(4);
  if (magic != "GGUF")
    return makeError("not a GGUF file: it starts with bytes " +
                     llvm::toHex(magic) + ", not \"GGUF\"");
  in.take(4);
  if (llvm::Error error = in.readU32(version, "the version"))
    return error;
  if (version != 2 && version != 3)
    return makeError("unsupported GGUF version " + Twine(version) +
                     "; LowBit reads versions 2 and 3");
  uint64_t tensorCount, metadataCount;
  if (llvm::Error error = in.readU64(tensorCount, "the tensor count"))
    return error;
  if (llvm::Error error = in.readU64(metadataCount, "the metadata count"))
    return error;

  in.setSection("metadata");
  if (metadataCount > in.getRemaining() / kMinMetadataEntryBytes)
    return makeError("truncated metadata: the header announces " +
                     Twine(metadataCount) + " entries, more than the " +
                     Twine(in.getRemaining()) + " bytes after it can hold");
  metadata.reserve(std::min<uint64_t>(metadataCount, kMaxReserve));
  for (uint64_t i = 0; i < metadataCount; ++i) {
    GgufMetadataEntry entry;
    if (llvm::Error error =
            in.readString(entry.key, "the key of metadata entry " + Twine(i)))
      return error;
    uint32_t rawType;
    if (llvm::Error error =
            in.readU32(rawType, "the value type of '" + entry.key + "'"))
      return error;
    if (llvm::Error error =
            parseValue(in, path, entry.key, rawType, 0, entry.value))
      return error;
    if (!metadataIndex.try_emplace(entry.key, metadata.size()).second)
      return makeError("metadata key '" + entry.key + "' appears twice");
    metadata.push_back(std::move(entry));
  }

  in.setSection("tensor table");
  if (tensorCount > in.getRemaining() / kMinTensorInfoBytes)
    return makeError("truncated tensor table: the header announces " +
                     Twine(tensorCount) + " tensors, more than the " +
                     Twine(in.getRemaining()) + " bytes left can describe");
  tensors.reserve(std::min<uint64_t>(tensorCount, kMaxReserve));
  for (uint64_t i = 0; i < tensorCount; ++i) {
    GgufTensorInfo info;
    if (llvm::Error error = parseTensorInfo(in, path, i, info))
      return error;
    if (!tensorIndex.try_emplace(info.name, tensors.size()).second)
      return makeError("tensor '" + info.name + "' appears twice");
    tensors.push_back(std::move(info));
  }

  if (const GgufValue *value = lookup("general.alignment")) {
    std::optional<int64_t> requested = value->getInteger();
    if (!requested)
      return makeError("general.alignment is a " + describeValueType(*value) +
                       ", expected an integer");
    if (*requested <= 0 || *requested > std::numeric_limits<uint32_t>::max() ||
        !llvm::isPowerOf2_64(static_cast<uint64_t>(*requested)))
      return makeError("general.alignment " + Twine(*requested) +
                       " is not a power of two that fits in 32 bits");
    alignment = static_cast<uint64_t>(*requested);
  }
  dataOffset = llvm::alignTo(in.getOffset(), alignment);

  uint64_t fileSize = bytes.size();
  uint64_t dataSize = fileSize > dataOffset ? fileSize - dataOffset : 0;
  for (const GgufTensorInfo &info : tensors) {
    if (info.offset % alignment != 0)
      return makeError("tensor '" + info.name + "' has data offset " +
                       Twine(info.offset) +
                       ", not a multiple of the alignment " + Twine(alignment));
    if (info.offset > dataSize || info.numBytes > dataSize - info.offset)
      return makeError(
          "tensor '" + info.name +
          "' data out of bounds (truncated or corrupt file): " +
          Twine(info.numBytes) + " bytes at offset " + Twine(info.offset) +
          " of the data section, which starts at byte " + Twine(dataOffset) +
          " of a file of " + Twine(fileSize) + " bytes");
  }
  return llvm::Error::success();
}

const GgufValue *GgufFile::lookup(StringRef key) const {
  auto it = metadataIndex.find(key);
  return it == metadataIndex.end() ? nullptr : &metadata[it->second].value;
}

namespace {
/// The shared shape of the typed lookups: find the key, convert, and name
/// the key and both kinds when the value is of another kind.
template <typename T, typename Convert>
llvm::Expected<T> lookupAs(const GgufFile &file, StringRef key,
                           std::optional<T> defaultValue, StringRef expected,
                           Convert convert) {
  const GgufValue *value = file.lookup(key);
  if (!value) {
    if (defaultValue)
      return std::move(*defaultValue);
    return llvm::createStringError(file.getPath() + ": missing metadata '" +
                                   key + "'");
  }
  auto converted = convert(*value);
  if (!converted)
    return llvm::createStringError(file.getPath() + ": metadata '" + key +
                                   "' is " + describeValueType(*value) +
                                   ", expected " + expected);
  return T(std::move(*converted));
}
} // namespace

static const char kIntegerKind[] = "an integer (that fits in int64)";

llvm::Expected<int64_t> GgufFile::getInteger(StringRef key) const {
  return lookupAs<int64_t>(*this, key, std::nullopt, kIntegerKind,
                           [](const GgufValue &v) { return v.getInteger(); });
}
llvm::Expected<int64_t> GgufFile::getInteger(StringRef key,
                                             int64_t defaultValue) const {
  return lookupAs<int64_t>(*this, key, defaultValue, kIntegerKind,
                           [](const GgufValue &v) { return v.getInteger(); });
}
llvm::Expected<double> GgufFile::getFloat(StringRef key) const {
  return lookupAs<double>(*this, key, std::nullopt, "a number",
                          [](const GgufValue &v) { return v.getFloat(); });
}
llvm::Expected<double> GgufFile::getFloat(StringRef key,
                                          double defaultValue) const {
  return lookupAs<double>(*this, key, defaultValue, "a number",
                          [](const GgufValue &v) { return v.getFloat(); });
}
llvm::Expected<bool> GgufFile::getBool(StringRef key) const {
  return lookupAs<bool>(*this, key, std::nullopt, "a bool",
                        [](const GgufValue &v) { return v.getBool(); });
}
llvm::Expected<bool> GgufFile::getBool(StringRef key, bool defaultValue) const {
  return lookupAs<bool>(*this, key, defaultValue, "a bool",
                        [](const GgufValue &v) { return v.getBool(); });
}
llvm::Expected<StringRef> GgufFile::getString(StringRef key) const {
  return lookupAs<StringRef>(*this, key, std::nullopt, "a string",
                             [](const GgufValue &v) { return v.getString(); });
}
llvm::Expected<StringRef> GgufFile::getString(StringRef key,
                                              StringRef defaultValue) const {
  return lookupAs<StringRef>(*this, key, defaultValue, "a string",
                             [](const GgufValue &v) { return v.getString(); });
}
llvm::Expected<ArrayRef<StringRef>>
GgufFile::getStringArray(StringRef key) const {
  return lookupAs<ArrayRef<StringRef>>(
      *this, key, std::nullopt, "an array of string",
      [](const GgufValue &v) { return v.getStringArray(); });
}
llvm::Expected<std::vector<int64_t>>
GgufFile::getIntegerArray(StringRef key) const {
  return lookupAs<std::vector<int64_t>>(
      *this, key, std::nullopt, "an array of integers",
      [](const GgufValue &v) { return v.getIntegerArray(); });
}
llvm::Expected<std::vector<double>>
GgufFile::getFloatArray(StringRef key) const {
  return lookupAs<std::vector<double>>(
      *this, key, std::nullopt, "an array of numbers",
      [](const GgufValue &v) { return v.getFloatArray(); });
}

std::vector<int64_t> GgufTensorInfo::getShape() const {
  return std::vector<int64_t>(dims.rbegin(), dims.rend());
}

const GgufTensorInfo *GgufFile::findTensor(StringRef name) const {
  auto it = tensorIndex.find(name);
  return it == tensorIndex.end() ? nullptr : &tensors[it->second];
}

ArrayRef<uint8_t> GgufFile::getTensorData(const GgufTensorInfo &tensor) const {
  const uint8_t *start =
      buffer->getBuffer().bytes_begin() + dataOffset + tensor.offset;
  return ArrayRef<uint8_t>(start, tensor.numBytes);
}

llvm::Expected<FloatTensor>
GgufFile::dequantize(const GgufTensorInfo &tensor) const {
  const GgmlTypeInfo *info = getGgmlTypeInfo(tensor.type);
  if (!info || !info->canDequantize)
    return makeError("tensor '" + tensor.name + "' has ggml type " +
                     describeGgmlType(tensor.type) +
                     ", which LowBit cannot dequantize (it reads " +
                     listDequantizableTypes() + ")");
  FloatTensor result(tensor.getShape());
  if (llvm::Error error =
          dequantizeRow(tensor.getType(), getTensorData(tensor), result.data))
    return makeError("tensor '" + tensor.name +
                     "': " + llvm::toString(std::move(error)));
  return std::move(result);
}

llvm::Expected<FloatTensor> GgufFile::dequantize(StringRef name) const {
  const GgufTensorInfo *tensor = findTensor(name);
  if (!tensor)
    return makeError("missing tensor '" + name + "'");
  return dequantize(*tensor);
}

//===----------------------------------------------------------------------===//
// Llama hyper-parameters and tokenizer
//===----------------------------------------------------------------------===//

llvm::Expected<LlamaConfig> GgufFile::readLlamaConfig() const {
  llvm::Expected<StringRef> architecture = getString("general.architecture");
  if (!architecture)
    return architecture.takeError();
  if (*architecture != "llama")
    return makeError("architecture '" + *architecture +
                     "' is not supported; LowBit reads GGUF models of "
                     "architecture 'llama'");
  LlamaConfig config;
  config.architecture = architecture->str();
  llvm::Expected<StringRef> name = getString("general.name", path);
  if (!name)
    return name.takeError();
  config.name = name->str();

  for (auto [field, key] :
       {std::pair<int64_t *, StringRef>{&config.dim, "llama.embedding_length"},
        {&config.hiddenDim, "llama.feed_forward_length"},
        {&config.numLayers, "llama.block_count"},
        {&config.numHeads, "llama.attention.head_count"},
        {&config.maxSeqLen, "llama.context_length"}}) {
    llvm::Expected<int64_t> value = getInteger(key);
    if (!value)
      return value.takeError();
    *field = *value;
  }
  llvm::Expected<int64_t> numKvHeads =
      getInteger("llama.attention.head_count_kv", config.numHeads);
  if (!numKvHeads)
    return numKvHeads.takeError();
  config.numKvHeads = *numKvHeads;
  llvm::Expected<double> normEps =
      getFloat("llama.attention.layer_norm_rms_epsilon");
  if (!normEps)
    return normEps.takeError();
  config.normEps = static_cast<float>(*normEps);
  llvm::Expected<double> ropeTheta = getFloat("llama.rope.freq_base", 10000.0);
  if (!ropeTheta)
    return ropeTheta.takeError();
  config.ropeTheta = static_cast<float>(*ropeTheta);

  // The vocabulary is as long as the token list; files without one may say
  // so in llama.vocab_size, or leave it to the embedding.
  if (lookup("tokenizer.ggml.tokens")) {
    llvm::Expected<ArrayRef<StringRef>> tokens =
        getStringArray("tokenizer.ggml.tokens");
    if (!tokens)
      return tokens.takeError();
    config.vocabSize = static_cast<int64_t>(tokens->size());
  } else if (lookup("llama.vocab_size")) {
    llvm::Expected<int64_t> vocabSize = getInteger("llama.vocab_size");
    if (!vocabSize)
      return vocabSize.takeError();
    config.vocabSize = *vocabSize;
  } else if (const GgufTensorInfo *embedding =
                 findTensor("token_embd.weight")) {
    config.vocabSize = embedding->dims.back();
  } else {
    return makeError("cannot tell the vocabulary size: no "
                     "tokenizer.ggml.tokens, llama.vocab_size or "
                     "token_embd.weight");
  }
  config.tiedEmbeddings = findTensor("output.weight") == nullptr;

  if (llvm::Error error = config.verify())
    return makeError("bad hyper-parameters: " +
                     llvm::toString(std::move(error)));
  if (lookup("llama.rope.dimension_count")) {
    llvm::Expected<int64_t> ropeDims = getInteger("llama.rope.dimension_count");
    if (!ropeDims)
      return ropeDims.takeError();
    if (*ropeDims != config.getHeadDim())
      return makeError("llama.rope.dimension_count " + Twine(*ropeDims) +
                       " differs from the head dim " +
                       Twine(config.getHeadDim()) +
                       "; partial RoPE is not supported");
  }
  return config;
}

/// GGUF's token types are llama.cpp's: 0 undefined, then TokenKind's values.
static std::optional<TokenKind> convertTokenType(int64_t type) {
  if (type == 0)
    return TokenKind::normal;
  if (type >= static_cast<int64_t>(TokenKind::normal) &&
      type <= static_cast<int64_t>(TokenKind::byte))
    return static_cast<TokenKind>(type);
  return std::nullopt;
}

llvm::Expected<std::optional<GgufTokenizerData>>
GgufFile::readTokenizerData() const {
  if (!lookup("tokenizer.ggml.model"))
    return std::nullopt;
  llvm::Expected<StringRef> model = getString("tokenizer.ggml.model");
  if (!model)
    return model.takeError();
  if (*model == "none" || *model == "no_vocab")
    return std::nullopt;

  GgufTokenizerData data;
  data.model = model->str();
  llvm::Expected<ArrayRef<StringRef>> tokens =
      getStringArray("tokenizer.ggml.tokens");
  if (!tokens)
    return tokens.takeError();
  size_t size = tokens->size();
  if (size > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
    return makeError("tokenizer.ggml.tokens has " + Twine(size) +
                     " tokens, more than int32 ids can number");
  data.tokens.reserve(size);
  for (StringRef token : *tokens)
    data.tokens.push_back(token.str());

  if (lookup("tokenizer.ggml.scores")) {
    llvm::Expected<std::vector<double>> scores =
        getFloatArray("tokenizer.ggml.scores");
    if (!scores)
      return scores.takeError();
    if (scores->size() != size)
      return makeError("tokenizer.ggml.scores has " + Twine(scores->size()) +
                       " entries for " + Twine(size) + " tokens");
    data.scores.assign(scores->begin(), scores->end());
  } else {
    data.scores.assign(size, 0.0f);
  }

  if (lookup("tokenizer.ggml.token_type")) {
    llvm::Expected<std::vector<int64_t>> types =
        getIntegerArray("tokenizer.ggml.token_type");
    if (!types)
      return types.takeError();
    if (types->size() != size)
      return makeError("tokenizer.ggml.token_type has " + Twine(types->size()) +
                       " entries for " + Twine(size) + " tokens");
    data.kinds.reserve(size);
    for (auto [index, type] : llvm::enumerate(*types)) {
      std::optional<TokenKind> kind = convertTokenType(type);
      if (!kind)
        return makeError("tokenizer.ggml.token_type[" + Twine(index) + "] is " +
                         Twine(type) + ", not a token type (0 to 6)");
      data.kinds.push_back(*kind);
    }
  }

  if (lookup("tokenizer.ggml.merges")) {
    llvm::Expected<ArrayRef<StringRef>> merges =
        getStringArray("tokenizer.ggml.merges");
    if (!merges)
      return merges.takeError();
    data.merges.reserve(merges->size());
    for (StringRef merge : *merges)
      data.merges.push_back(merge.str());
  }

  llvm::Expected<StringRef> pre = getString("tokenizer.ggml.pre", "default");
  if (!pre)
    return pre.takeError();
  data.preTokenizer = pre->str();

  for (auto [field, key] :
       {std::pair<int32_t *, StringRef>{&data.special.bos,
                                        "tokenizer.ggml.bos_token_id"},
        {&data.special.eos, "tokenizer.ggml.eos_token_id"},
        {&data.special.unknown, "tokenizer.ggml.unknown_token_id"},
        {&data.special.padding, "tokenizer.ggml.padding_token_id"}}) {
    llvm::Expected<int64_t> id = getInteger(key, -1);
    if (!id)
      return id.takeError();
    if (*id < -1 || *id > std::numeric_limits<int32_t>::max())
      return makeError(key + " is " + Twine(*id) + ", not a token id");
    *field = static_cast<int32_t>(*id);
  }
  // SentencePiece vocabularies start prompts with BOS unless told otherwise;
  // GPT-2-style ones do not.
  llvm::Expected<bool> addBos =
      getBool("tokenizer.ggml.add_bos_token", data.model == "llama");
  if (!addBos)
    return addBos.takeError();
  data.special.addBos = *addBos;
  return std::optional<GgufTokenizerData>(std::move(data));
}

llvm::Expected<std::unique_ptr<Tokenizer>>
lowbit::createGgufTokenizer(GgufTokenizerData data) {
  if (data.model == "gpt2")
    return Tokenizer::createByteLevelBpe(std::move(data.tokens),
                                         std::move(data.kinds), data.merges,
                                         data.preTokenizer, data.special);
  if (data.model == "llama")
    return Tokenizer::createSentencePiece(std::move(data.tokens),
                                          std::move(data.scores),
                                          std::move(data.kinds), data.special);
  return llvm::createStringError("tokenizer model '" + data.model +
                                 "' is not supported; LowBit reads 'gpt2' "
                                 "(byte-level BPE) and 'llama' "
                                 "(SentencePiece)");
}

//===----------------------------------------------------------------------===//
// readGguf
//===----------------------------------------------------------------------===//

llvm::Expected<LlamaCheckpoint> lowbit::readGguf(StringRef path) {
  llvm::Expected<std::unique_ptr<GgufFile>> opened = GgufFile::open(path);
  if (!opened)
    return opened.takeError();
  const GgufFile &file = **opened;
  llvm::Expected<LlamaConfig> config = file.readLlamaConfig();
  if (!config)
    return config.takeError();

  LlamaCheckpoint model;
  model.config = std::move(*config);
  const LlamaConfig &c = model.config;
  // Shapes are checked before dequantizing, so a wrong config reads as a
  // shape error naming the tensor, not as a huge allocation.
  auto load = [&](const std::string &name, std::vector<int64_t> shape,
                  FloatTensor &out) -> llvm::Error {
    const GgufTensorInfo *tensor = file.findTensor(name);
    if (!tensor)
      return llvm::createStringError(path + ": missing tensor '" + name +
                                     "' (expected shape " + formatShape(shape) +
                                     ")");
    std::vector<int64_t> stored = tensor->getShape();
    if (stored != shape)
      return llvm::createStringError(
          path + ": tensor '" + name + "' has shape " + formatShape(stored) +
          ", expected " + formatShape(shape) + " (dim " + Twine(c.dim) +
          ", hidden " + Twine(c.hiddenDim) + ", KV dim " + Twine(c.getKvDim()) +
          ", vocabulary " + Twine(c.vocabSize) + ")");
    llvm::Expected<FloatTensor> values = file.dequantize(*tensor);
    if (!values)
      return values.takeError();
    out = std::move(*values);
    return llvm::Error::success();
  };

  int64_t dim = c.dim, hidden = c.hiddenDim, kvDim = c.getKvDim();
  if (llvm::Error error =
          load("token_embd.weight", {c.vocabSize, dim}, model.tokenEmbedding))
    return std::move(error);
  // Layers are appended one at a time, so a block count the file does not
  // back fails at the first missing tensor rather than allocating for all.
  for (int64_t i = 0; i < c.numLayers; ++i) {
    LlamaLayer layer;
    std::string prefix = "blk." + std::to_string(i) + ".";
    for (auto [member, suffix, shape] :
         {std::tuple<FloatTensor LlamaLayer::*, const char *,
                     std::vector<int64_t>>{
              &LlamaLayer::attnNorm, "attn_norm", {dim}},
          {&LlamaLayer::wq, "attn_q", {dim, dim}},
          {&LlamaLayer::wk, "attn_k", {kvDim, dim}},
          {&LlamaLayer::wv, "attn_v", {kvDim, dim}},
          {&LlamaLayer::wo, "attn_output", {dim, dim}},
          {&LlamaLayer::ffnNorm, "ffn_norm", {dim}},
          {&LlamaLayer::wGate, "ffn_gate", {hidden, dim}},
          {&LlamaLayer::wUp, "ffn_up", {hidden, dim}},
          {&LlamaLayer::wDown, "ffn_down", {dim, hidden}}})
      if (llvm::Error error =
              load(prefix + suffix + ".weight", shape, layer.*member))
        return std::move(error);
    model.layers.push_back(std::move(layer));
  }
  if (llvm::Error error = load("output_norm.weight", {dim}, model.finalNorm))
    return std::move(error);
  if (!c.tiedEmbeddings)
    if (llvm::Error error =
            load("output.weight", {c.vocabSize, dim}, model.output))
      return std::move(error);

  llvm::Expected<std::optional<GgufTokenizerData>> tokenizerData =
      file.readTokenizerData();
  if (!tokenizerData)
    return tokenizerData.takeError();
  if (*tokenizerData) {
    llvm::Expected<std::unique_ptr<Tokenizer>> tokenizer =
        createGgufTokenizer(std::move(**tokenizerData));
    if (!tokenizer)
      return llvm::createStringError(
          path + ": tokenizer: " + llvm::toString(tokenizer.takeError()));
    model.tokenizer = std::move(*tokenizer);
  }

  if (llvm::Error error = model.verifyShapes())
    return llvm::createStringError(path + ": " +
                                   llvm::toString(std::move(error)));
  return std::move(model);
}
