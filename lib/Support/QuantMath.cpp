//===- QuantMath.cpp - Formats, packing and reference quantization --------===//

#include "lowbit/Support/QuantMath.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/MathExtras.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>

using namespace mlir::lowbit;

//===----------------------------------------------------------------------===//
// Element formats
//===----------------------------------------------------------------------===//

/// The 16 NormalFloat levels of QLoRA (bitsandbytes' NF4 table).
static constexpr float kNF4Levels[16] = {
    -1.0f,
    -0.6961928009986877f,
    -0.5250730514526367f,
    -0.39491748809814453f,
    -0.28444138169288635f,
    -0.18477343022823334f,
    -0.09105003625154495f,
    0.0f,
    0.07958029955625534f,
    0.16093020141124725f,
    0.24611230194568634f,
    0.33791524171829224f,
    0.44070982933044434f,
    0.5626170039176941f,
    0.7229568362236023f,
    1.0f};

int64_t FormatSpec::getMinCode() const {
  assert(isInteger() && "integer format expected");
  return format == ElementFormat::sint ? -(int64_t(1) << (bits - 1)) : 0;
}

int64_t FormatSpec::getMaxCode() const {
  assert(isInteger() && "integer format expected");
  return format == ElementFormat::sint ? (int64_t(1) << (bits - 1)) - 1
                                       : (int64_t(1) << bits) - 1;
}

float FormatSpec::getMaxMagnitude() const {
  switch (format) {
  case ElementFormat::sint:
  case ElementFormat::uint:
    return static_cast<float>(getMaxCode());
  case ElementFormat::f8E4M3FN:
    return 448.0f;
  case ElementFormat::f8E5M2:
    return 57344.0f;
  case ElementFormat::f4E2M1FN:
    return 6.0f;
  case ElementFormat::nf4:
  case ElementFormat::ternary:
    return 1.0f;
  }
  llvm_unreachable("unknown element format");
}

unsigned mlir::lowbit::getNaturalBitWidth(ElementFormat format) {
  switch (format) {
  case ElementFormat::sint:
  case ElementFormat::uint:
    return 0;
  case ElementFormat::f8E4M3FN:
  case ElementFormat::f8E5M2:
    return 8;
  case ElementFormat::f4E2M1FN:
  case ElementFormat::nf4:
    return 4;
  case ElementFormat::ternary:
    return 2;
  }
  llvm_unreachable("unknown element format");
}

bool mlir::lowbit::isSupportedBitWidth(ElementFormat format, unsigned bits) {
  unsigned natural = getNaturalBitWidth(format);
  if (natural == 0)
    return bits >= 2 && bits <= 8;
  return bits == natural;
}

/// Decodes a small IEEE-like float with `expBits` exponent and `manBits`
/// mantissa bits. `finiteOnly` formats (the "FN" ones) have no infinities and
/// use only the all-ones pattern as NaN; E5M2 follows IEEE.
static float decodeMiniFloat(uint32_t field, unsigned expBits,
                             unsigned manBits, bool finiteOnly) {
  unsigned bias = (1u << (expBits - 1)) - 1;
  bool negative = (field >> (expBits + manBits)) & 1;
  uint32_t exponent = (field >> manBits) & ((1u << expBits) - 1);
  uint32_t mantissa = field & ((1u << manBits) - 1);
  uint32_t maxExponent = (1u << expBits) - 1;
  float magnitude;
  if (finiteOnly && expBits + manBits == 7 && exponent == maxExponent &&
      mantissa == (1u << manBits) - 1) {
    magnitude = std::numeric_limits<float>::quiet_NaN(); // E4M3FN NaN.
  } else if (!finiteOnly && exponent == maxExponent) {
    magnitude = mantissa == 0 ? std::numeric_limits<float>::infinity()
                              : std::numeric_limits<float>::quiet_NaN();
  } else if (exponent == 0) {
    magnitude = std::ldexp(static_cast<float>(mantissa),
                           1 - static_cast<int>(bias) - static_cast<int>(manBits));
  } else {
    magnitude = std::ldexp(1.0f + std::ldexp(static_cast<float>(mantissa),
                                             -static_cast<int>(manBits)),
                           static_cast<int>(exponent) - static_cast<int>(bias));
  }
  return negative ? -magnitude : magnitude;
}

float mlir::lowbit::decodeField(FormatSpec spec, uint32_t field) {
  assert(field < spec.getNumFields() && "field out of range");
  switch (spec.format) {
  case ElementFormat::sint:
    return static_cast<float>(llvm::SignExtend32(field, spec.bits));
  case ElementFormat::uint:
    return static_cast<float>(field);
  case ElementFormat::f8E4M3FN:
    return decodeMiniFloat(field, 4, 3, /*finiteOnly=*/true);
  case ElementFormat::f8E5M2:
    return decodeMiniFloat(field, 5, 2, /*finiteOnly=*/false);
  case ElementFormat::f4E2M1FN:
    return decodeMiniFloat(field, 2, 1, /*finiteOnly=*/true);
  case ElementFormat::nf4:
    return kNF4Levels[field];
  case ElementFormat::ternary:
    return field < 3 ? static_cast<float>(field) - 1.0f : 0.0f;
  }
  llvm_unreachable("unknown element format");
}

llvm::SmallVector<float> mlir::lowbit::getDecodeTable(FormatSpec spec) {
  llvm::SmallVector<float> table;
  for (uint32_t field = 0; field < spec.getNumFields(); ++field)
    table.push_back(decodeField(spec, field));
  return table;
}

Codebook mlir::lowbit::getCodebook(FormatSpec spec) {
  assert(!spec.isInteger() && "integer formats encode arithmetically");
  llvm::SmallVector<std::pair<float, uint32_t>> entries;
  for (uint32_t field = 0; field < spec.getNumFields(); ++field) {
    float value = decodeField(spec, field);
    if (!std::isfinite(value))
      continue;
    if (spec.format == ElementFormat::ternary && field == 3)
      continue;
    // Keep one zero: +0 is field 0 in every format that has two.
    if (value == 0.0f && llvm::any_of(entries, [](auto &e) {
          return e.first == 0.0f;
        }))
      continue;
    entries.push_back({value, field});
  }
  llvm::sort(entries, [](auto &a, auto &b) { return a.first < b.first; });
  Codebook book;
  for (auto [value, field] : entries) {
    book.values.push_back(value);
    book.fields.push_back(field);
  }
  for (size_t i = 0; i + 1 < entries.size(); ++i) {
    double mid = 0.5 * (double(entries[i].first) + double(entries[i + 1].first));
    book.thresholds.push_back(static_cast<float>(mid));
    // A value exactly halfway goes to the even field, which for the float
    // formats is the one with an even mantissa: IEEE round-half-to-even.
    book.tieUp.push_back((entries[i + 1].second & 1) == 0);
  }
  return book;
}

uint32_t mlir::lowbit::encodeValue(FormatSpec spec, float x) {
  if (spec.isInteger()) {
    if (std::isnan(x))
      x = 0.0f;
    double rounded = std::nearbyint(static_cast<double>(x)); // Ties to even.
    rounded = std::clamp(rounded, double(spec.getMinCode()),
                         double(spec.getMaxCode()));
    return static_cast<uint32_t>(static_cast<int64_t>(rounded)) &
           (spec.getNumFields() - 1);
  }
  // The codebooks are tiny and fixed; build each once.
  static const auto books = [] {
    std::vector<Codebook> all(7);
    for (ElementFormat f :
         {ElementFormat::f8E4M3FN, ElementFormat::f8E5M2,
          ElementFormat::f4E2M1FN, ElementFormat::nf4, ElementFormat::ternary})
      all[static_cast<size_t>(f)] =
          getCodebook(FormatSpec{f, getNaturalBitWidth(f)});
    return all;
  }();
  const Codebook &book = books[static_cast<size_t>(spec.format)];
  if (std::isnan(x))
    x = 0.0f;
  size_t index = std::upper_bound(book.thresholds.begin(),
                                  book.thresholds.end(), x) -
                 book.thresholds.begin();
  // upper_bound counts thresholds <= x; a tie that rounds down is not passed.
  if (index > 0 && book.thresholds[index - 1] == x && !book.tieUp[index - 1])
    --index;
  return book.fields[index];
}

//===----------------------------------------------------------------------===//
// Scale storage types
//===----------------------------------------------------------------------===//

static uint32_t floatBits(float x) {
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof(bits));
  return bits;
}

static float bitsFloat(uint32_t bits) {
  float x;
  std::memcpy(&x, &bits, sizeof(x));
  return x;
}

uint16_t mlir::lowbit::floatToHalf(float x) {
  uint32_t f = floatBits(x);
  uint32_t sign = (f >> 16) & 0x8000u;
  uint32_t exponent = (f >> 23) & 0xFFu;
  uint32_t mantissa = f & 0x7FFFFFu;
  if (exponent == 0xFF) // Inf or NaN.
    return static_cast<uint16_t>(sign | 0x7C00u | (mantissa ? 0x200u : 0u));
  int32_t e = static_cast<int32_t>(exponent) - 127 + 15;
  if (e >= 31)
    return static_cast<uint16_t>(sign | 0x7C00u);
  if (e <= 0) {
    // Subnormal half (or zero): shift the full mantissa into place and round
    // to nearest even.
    if (e < -10)
      return static_cast<uint16_t>(sign);
    uint32_t full = mantissa | 0x800000u;
    uint32_t shift = static_cast<uint32_t>(14 - e);
    uint32_t half = full >> shift;
    uint32_t rest = full & ((1u << shift) - 1);
    uint32_t halfway = 1u << (shift - 1);
    if (rest > halfway || (rest == halfway && (half & 1)))
      ++half;
    return static_cast<uint16_t>(sign | half);
  }
  uint32_t half = (static_cast<uint32_t>(e) << 10) | (mantissa >> 13);
  uint32_t rest = mantissa & 0x1FFFu;
  if (rest > 0x1000u || (rest == 0x1000u && (half & 1)))
    ++half; // May carry into the exponent, up to infinity: correct.
  return static_cast<uint16_t>(sign | half);
}

float mlir::lowbit::halfToFloat(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1Fu;
  uint32_t mantissa = h & 0x3FFu;
  if (exponent == 0x1F)
    return bitsFloat(sign | 0x7F800000u | (mantissa << 13));
  if (exponent == 0) {
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  return bitsFloat(sign | ((exponent - 15 + 127) << 23) | (mantissa << 13));
}

uint16_t mlir::lowbit::floatToBFloat16(float x) {
  uint32_t f = floatBits(x);
  if (std::isnan(x))
    return static_cast<uint16_t>((f >> 16) | 0x40u);
  uint32_t rounding = 0x7FFFu + ((f >> 16) & 1u);
  return static_cast<uint16_t>((f + rounding) >> 16);
}

float mlir::lowbit::bfloat16ToFloat(uint16_t b) {
  return bitsFloat(static_cast<uint32_t>(b) << 16);
}

uint8_t mlir::lowbit::floatToE8M0(float x) {
  if (!(x > 0.0f) || std::isinf(x))
    return x > 0.0f ? 254 : 0; // Largest power of two, or the smallest.
  int exponent;
  float mantissa = std::frexp(x, &exponent); // x = m * 2^e, m in [0.5, 1).
  int power = mantissa == 0.5f ? exponent - 1 : exponent;
  return static_cast<uint8_t>(std::clamp(power + 127, 0, 254));
}

float mlir::lowbit::e8m0ToFloat(uint8_t e) {
  if (e == 0xFF)
    return std::numeric_limits<float>::quiet_NaN();
  return std::ldexp(1.0f, static_cast<int>(e) - 127);
}

float mlir::lowbit::roundScaleNearest(ScaleFormat format, float s) {
  switch (format) {
  case ScaleFormat::f32:
    return s;
  case ScaleFormat::f16:
    return halfToFloat(floatToHalf(s));
  case ScaleFormat::bf16:
    return bfloat16ToFloat(floatToBFloat16(s));
  case ScaleFormat::e8m0: {
    if (!(s > 0.0f))
      return e8m0ToFloat(0);
    float up = e8m0ToFloat(floatToE8M0(s));
    float down = up * 0.5f;
    return (s - down < up - s && down > 0.0f) ? down : up;
  }
  }
  llvm_unreachable("unknown scale format");
}

float mlir::lowbit::roundScaleUp(ScaleFormat format, float s) {
  switch (format) {
  case ScaleFormat::f32:
    return s;
  case ScaleFormat::f16: {
    uint16_t h = floatToHalf(s);
    if (halfToFloat(h) < s)
      ++h;
    return halfToFloat(h);
  }
  case ScaleFormat::bf16: {
    uint16_t b = floatToBFloat16(s);
    if (bfloat16ToFloat(b) < s)
      ++b;
    return bfloat16ToFloat(b);
  }
  case ScaleFormat::e8m0:
    return e8m0ToFloat(floatToE8M0(s));
  }
  llvm_unreachable("unknown scale format");
}

//===----------------------------------------------------------------------===//
// Packing
//===----------------------------------------------------------------------===//

std::string mlir::lowbit::checkPacking(PackingSpec packing, FormatSpec format,
                                       int64_t rowLength) {
  switch (packing.order) {
  case PackOrder::sequential:
    if (packing.block != 0)
      return "sequential packing takes no block size";
    return "";
  case PackOrder::base3:
    if (format.format != ElementFormat::ternary)
      return "base3 packing holds only ternary codes";
    if (packing.block != 0)
      return "base3 packing takes no block size";
    return "";
  case PackOrder::interleaved: {
    if (8 % format.bits != 0)
      return "interleaved packing needs a bit width that divides 8, not " +
             std::to_string(format.bits);
    int64_t perByte = 8 / format.bits;
    if (packing.block <= 0 || packing.block % perByte != 0)
      return "interleaved block " + std::to_string(packing.block) +
             " must be a positive multiple of the " + std::to_string(perByte) +
             " codes a byte holds";
    if (rowLength >= 0 && rowLength % packing.block != 0)
      return "interleaved block " + std::to_string(packing.block) +
             " does not divide the row length " + std::to_string(rowLength);
    return "";
  }
  }
  llvm_unreachable("unknown pack order");
}

int64_t mlir::lowbit::getPackedRowBytes(PackingSpec packing, unsigned bits,
                                        int64_t rowLength) {
  switch (packing.order) {
  case PackOrder::sequential:
  case PackOrder::interleaved:
    return llvm::divideCeil(rowLength * bits, 8);
  case PackOrder::base3:
    return llvm::divideCeil(rowLength, 5);
  }
  llvm_unreachable("unknown pack order");
}

void mlir::lowbit::packRow(PackingSpec packing, unsigned bits,
                           llvm::ArrayRef<uint8_t> fields,
                           llvm::MutableArrayRef<uint8_t> bytes) {
  int64_t length = fields.size();
  assert(static_cast<int64_t>(bytes.size()) ==
             getPackedRowBytes(packing, bits, length) &&
         "wrong packed row size");
  std::fill(bytes.begin(), bytes.end(), 0);
  switch (packing.order) {
  case PackOrder::sequential:
    for (int64_t k = 0; k < length; ++k) {
      uint32_t bit = static_cast<uint32_t>(k * bits);
      uint32_t value = static_cast<uint32_t>(fields[k]) << (bit % 8);
      bytes[bit / 8] |= static_cast<uint8_t>(value);
      if (value >> 8)
        bytes[bit / 8 + 1] |= static_cast<uint8_t>(value >> 8);
    }
    return;
  case PackOrder::interleaved: {
    int64_t perByte = 8 / bits;
    int64_t bytesPerBlock = packing.block / perByte;
    for (int64_t k = 0; k < length; ++k) {
      int64_t block = k / packing.block, j = k % packing.block;
      int64_t byte = block * bytesPerBlock + j % bytesPerBlock;
      int64_t slot = j / bytesPerBlock;
      bytes[byte] |= static_cast<uint8_t>(fields[k] << (slot * bits));
    }
    return;
  }
  case PackOrder::base3: {
    static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
    for (int64_t k = 0; k < length; ++k)
      bytes[k / 5] += static_cast<uint8_t>(fields[k] * kPow3[k % 5]);
    return;
  }
  }
  llvm_unreachable("unknown pack order");
}

void mlir::lowbit::unpackRow(PackingSpec packing, unsigned bits,
                             llvm::ArrayRef<uint8_t> bytes,
                             llvm::MutableArrayRef<uint8_t> fields) {
  int64_t length = fields.size();
  uint32_t mask = (1u << bits) - 1;
  switch (packing.order) {
  case PackOrder::sequential:
    for (int64_t k = 0; k < length; ++k) {
      uint32_t bit = static_cast<uint32_t>(k * bits);
      uint32_t window = bytes[bit / 8];
      if (bit / 8 + 1 < bytes.size())
        window |= static_cast<uint32_t>(bytes[bit / 8 + 1]) << 8;
      fields[k] = static_cast<uint8_t>((window >> (bit % 8)) & mask);
    }
    return;
  case PackOrder::interleaved: {
    int64_t perByte = 8 / bits;
    int64_t bytesPerBlock = packing.block / perByte;
    for (int64_t k = 0; k < length; ++k) {
      int64_t block = k / packing.block, j = k % packing.block;
      int64_t byte = block * bytesPerBlock + j % bytesPerBlock;
      int64_t slot = j / bytesPerBlock;
      fields[k] = static_cast<uint8_t>((bytes[byte] >> (slot * bits)) & mask);
    }
    return;
  }
  case PackOrder::base3: {
    static constexpr uint8_t kPow3[5] = {1, 3, 9, 27, 81};
    for (int64_t k = 0; k < length; ++k)
      fields[k] = static_cast<uint8_t>((bytes[k / 5] / kPow3[k % 5]) % 3);
    return;
  }
  }
  llvm_unreachable("unknown pack order");
}

//===----------------------------------------------------------------------===//
// Reference quantization of whole tensors
//===----------------------------------------------------------------------===//

std::string
mlir::lowbit::computeScaleShape(const QuantScheme &scheme,
                                llvm::ArrayRef<int64_t> shape,
                                llvm::SmallVectorImpl<int64_t> &scaleShape) {
  constexpr int64_t kDynamic = std::numeric_limits<int64_t>::min();
  scaleShape.clear();
  if (shape.empty())
    return "expected a tensor of rank at least 1";
  size_t rank = shape.size();
  auto divideAxis = [&](size_t axis) -> std::string {
    int64_t extent = shape[axis];
    if (extent != kDynamic && extent % scheme.groupSize != 0)
      return "group size " + std::to_string(scheme.groupSize) +
             " does not divide axis " + std::to_string(axis) + " of extent " +
             std::to_string(extent);
    scaleShape[axis] = extent == kDynamic ? kDynamic : extent / scheme.groupSize;
    return "";
  };
  switch (scheme.granularity) {
  case Granularity::per_tensor:
    scaleShape.assign(rank, 1);
    return "";
  case Granularity::per_channel:
    scaleShape.assign(shape.begin(), shape.end());
    scaleShape.back() = 1;
    return "";
  case Granularity::per_group:
    scaleShape.assign(shape.begin(), shape.end());
    return divideAxis(rank - 1);
  case Granularity::per_ic_group:
    if (rank < 2)
      return "per-input-channel groups need a tensor of rank at least 2";
    scaleShape.assign(shape.begin(), shape.end());
    return divideAxis(rank - 2);
  }
  llvm_unreachable("unknown granularity");
}

ScaleIndexer::ScaleIndexer(const QuantScheme &scheme,
                           llvm::ArrayRef<int64_t> shape)
    : granularity(scheme.granularity), groupSize(scheme.groupSize),
      rowLength(shape.back()), numRows(1), channelRows(1) {
  for (int64_t extent : shape.drop_back())
    numRows *= extent;
  if (shape.size() >= 2)
    channelRows = shape[shape.size() - 2];
  switch (granularity) {
  case Granularity::per_tensor:
    numScales = 1;
    break;
  case Granularity::per_channel:
    numScales = numRows;
    break;
  case Granularity::per_group:
    numScales = numRows * (rowLength / groupSize);
    break;
  case Granularity::per_ic_group:
    numScales = (numRows / groupSize) * rowLength;
    break;
  }
}

int64_t ScaleIndexer::index(int64_t row, int64_t k) const {
  switch (granularity) {
  case Granularity::per_tensor:
    return 0;
  case Granularity::per_channel:
    return row;
  case Granularity::per_group:
    return row * (rowLength / groupSize) + k / groupSize;
  case Granularity::per_ic_group: {
    int64_t outer = row / channelRows, inner = row % channelRows;
    return (outer * (channelRows / groupSize) + inner / groupSize) * rowLength +
           k;
  }
  }
  llvm_unreachable("unknown granularity");
}

/// Packs the fields of a `rows x K` tensor row by row.
static std::vector<uint8_t> packRows(const QuantScheme &scheme,
                                     PackingSpec packing, int64_t numRows,
                                     int64_t rowLength,
                                     llvm::ArrayRef<uint8_t> fields) {
  int64_t rowBytes =
      getPackedRowBytes(packing, scheme.format.bits, rowLength);
  std::vector<uint8_t> packed(numRows * rowBytes);
  for (int64_t row = 0; row < numRows; ++row)
    packRow(packing, scheme.format.bits, fields.slice(row * rowLength, rowLength),
            llvm::MutableArrayRef<uint8_t>(packed).slice(row * rowBytes,
                                                          rowBytes));
  return packed;
}

std::vector<uint8_t> mlir::lowbit::quantizeWithScales(
    const QuantScheme &scheme, PackingSpec packing,
    llvm::ArrayRef<int64_t> shape, llvm::ArrayRef<float> data,
    llvm::ArrayRef<float> scales, llvm::ArrayRef<float> zeroPoints) {
  ScaleIndexer indexer(scheme, shape);
  int64_t rowLength = indexer.getRowLength(), numRows = indexer.getNumRows();
  std::vector<uint8_t> fields(data.size());
  for (int64_t row = 0; row < numRows; ++row) {
    for (int64_t k = 0; k < rowLength; ++k) {
      int64_t s = indexer.index(row, k);
      float x = data[row * rowLength + k] / scales[s];
      if (!zeroPoints.empty())
        x += zeroPoints[s];
      fields[row * rowLength + k] =
          static_cast<uint8_t>(encodeValue(scheme.format, x));
    }
  }
  return packRows(scheme, packing, numRows, rowLength, fields);
}

QuantizedTensor
mlir::lowbit::computeReferenceScales(const QuantScheme &scheme,
                                     llvm::ArrayRef<int64_t> shape,
                                     llvm::ArrayRef<float> data) {
  ScaleIndexer indexer(scheme, shape);
  int64_t rowLength = indexer.getRowLength(), numRows = indexer.getNumRows();
  int64_t numScales = indexer.getNumScales();
  std::vector<float> lo(numScales, std::numeric_limits<float>::infinity());
  std::vector<float> hi(numScales, -std::numeric_limits<float>::infinity());
  std::vector<double> absSum(numScales, 0.0);
  std::vector<int64_t> count(numScales, 0);
  for (int64_t row = 0; row < numRows; ++row) {
    for (int64_t k = 0; k < rowLength; ++k) {
      int64_t s = indexer.index(row, k);
      float x = data[row * rowLength + k];
      lo[s] = std::min(lo[s], x);
      hi[s] = std::max(hi[s], x);
      absSum[s] += std::fabs(x);
      ++count[s];
    }
  }

  QuantizedTensor result;
  result.scales.resize(numScales);
  if (!scheme.symmetric)
    result.zeroPoints.resize(numScales);
  const FormatSpec &format = scheme.format;
  for (int64_t s = 0; s < numScales; ++s) {
    float absMax = std::max(std::fabs(lo[s]), std::fabs(hi[s]));
    float scale;
    if (!scheme.symmetric) {
      // Map [min(lo, 0), max(hi, 0)] onto the code range: the range always
      // covers zero, and the zero point is real-valued (GGUF's Q4_1 minimum
      // m is the zero point -m/d).
      float low = std::min(lo[s], 0.0f), high = std::max(hi[s], 0.0f);
      float range = static_cast<float>(format.getMaxCode() - format.getMinCode());
      scale = high > low ? (high - low) / range : 1.0f;
      scale = roundScaleUp(scheme.scale, scale);
      result.zeroPoints[s] = static_cast<float>(format.getMinCode()) - low / scale;
    } else if (format.format == ElementFormat::ternary) {
      float meanAbs = static_cast<float>(absSum[s] / std::max<int64_t>(count[s], 1));
      scale = meanAbs > 0.0f ? roundScaleNearest(scheme.scale, meanAbs) : 1.0f;
    } else {
      scale = absMax > 0.0f ? absMax / format.getMaxMagnitude() : 1.0f;
      scale = roundScaleUp(scheme.scale, scale);
    }
    result.scales[s] = scale;
  }
  return result;
}

QuantizedTensor mlir::lowbit::quantizeReference(const QuantScheme &scheme,
                                                PackingSpec packing,
                                                llvm::ArrayRef<int64_t> shape,
                                                llvm::ArrayRef<float> data) {
  QuantizedTensor result = computeReferenceScales(scheme, shape, data);
  result.packed = quantizeWithScales(scheme, packing, shape, data,
                                     result.scales, result.zeroPoints);
  return result;
}

std::vector<float>
mlir::lowbit::dequantizeReference(const QuantScheme &scheme,
                                  PackingSpec packing,
                                  llvm::ArrayRef<int64_t> shape,
                                  const QuantizedTensor &tensor) {
  ScaleIndexer indexer(scheme, shape);
  int64_t rowLength = indexer.getRowLength(), numRows = indexer.getNumRows();
  int64_t rowBytes = getPackedRowBytes(packing, scheme.format.bits, rowLength);
  llvm::SmallVector<float> table = getDecodeTable(scheme.format);
  std::vector<float> values(numRows * rowLength);
  std::vector<uint8_t> fields(rowLength);
  for (int64_t row = 0; row < numRows; ++row) {
    unpackRow(packing, scheme.format.bits,
              llvm::ArrayRef<uint8_t>(tensor.packed).slice(row * rowBytes,
                                                           rowBytes),
              fields);
    for (int64_t k = 0; k < rowLength; ++k) {
      int64_t s = indexer.index(row, k);
      float zero = tensor.zeroPoints.empty() ? 0.0f : tensor.zeroPoints[s];
      // base3 fields are digits 0..2, the same values as ternary fields.
      values[row * rowLength + k] = (table[fields[k]] - zero) * tensor.scales[s];
    }
  }
  return values;
}
