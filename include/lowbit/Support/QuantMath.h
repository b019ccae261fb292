//===- QuantMath.h - Formats, packing and reference quantization -*- C++ -*-===//
//
// The numerics every part of LowBit agrees on: what each element format's
// codes mean, how codes are packed into bytes, how scales are rounded to their
// storage type, and a reference round-to-nearest quantizer. The verifiers, the
// reference lowering's tables, the quantization passes and the tests all use
// these functions, so there is one definition of every format.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_SUPPORT_QUANTMATH_H
#define LOWBIT_SUPPORT_QUANTMATH_H

#include "lowbit/Dialect/LowBit/IR/LowBitEnums.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::lowbit {

//===----------------------------------------------------------------------===//
// Element formats
//===----------------------------------------------------------------------===//

/// An element format and its width in bits. A "field" is the raw b-bit
/// pattern stored for one element; a "code" is the value it stands for
/// before scaling.
struct FormatSpec {
  ElementFormat format;
  unsigned bits;

  bool isInteger() const {
    return format == ElementFormat::sint || format == ElementFormat::uint;
  }
  /// Number of distinct fields, 2^bits.
  unsigned getNumFields() const { return 1u << bits; }
  /// Smallest and largest code of an integer format.
  int64_t getMinCode() const;
  int64_t getMaxCode() const;
  /// Largest finite magnitude a code can have (for integer formats the
  /// largest code of the symmetric range, 2^(b-1)-1 or 2^b-1).
  float getMaxMagnitude() const;
};

/// The width a non-integer format always has (8 for fp8, 4 for fp4 and nf4,
/// 2 for ternary); 0 for integer formats, whose width is chosen.
unsigned getNaturalBitWidth(ElementFormat format);

/// Whether `bits` is a width `format` can have: 2 to 8 for integers, the
/// natural width otherwise.
bool isSupportedBitWidth(ElementFormat format, unsigned bits);

/// The value of a field (before scale and zero point). NaN patterns of the
/// float formats decode to NaN; the unused ternary field 3 decodes to 0.
float decodeField(FormatSpec spec, uint32_t field);

/// The values of all 2^bits fields, indexed by field.
llvm::SmallVector<float> getDecodeTable(FormatSpec spec);

/// The field of the representable value nearest to `x`: round to nearest,
/// ties to even, saturating at the largest finite value. NaN maps to the
/// field of zero.
uint32_t encodeValue(FormatSpec spec, float x);

/// The representable values of a non-integer format in increasing order,
/// with the decision thresholds between neighbours that `encodeValue` uses.
/// `x` encodes to `fields[i]` where i counts the thresholds below x
/// (`x > thresholds[j]`, or `x == thresholds[j]` where `tieUp[j]`).
struct Codebook {
  llvm::SmallVector<float> values;
  llvm::SmallVector<uint32_t> fields;
  llvm::SmallVector<float> thresholds;
  llvm::SmallVector<bool> tieUp;
};
Codebook getCodebook(FormatSpec spec);

//===----------------------------------------------------------------------===//
// Scale storage types
//===----------------------------------------------------------------------===//

/// How scales are stored.
enum class ScaleFormat { f32, f16, bf16, e8m0 };

uint16_t floatToHalf(float x);
float halfToFloat(uint16_t h);
uint16_t floatToBFloat16(float x);
float bfloat16ToFloat(uint16_t b);
/// E8M0 holds 2^(e-127); encoding rounds up to the next power of two.
uint8_t floatToE8M0(float x);
float e8m0ToFloat(uint8_t e);

/// The scale `s` as stored in `format`, rounded up in magnitude so that a
/// block's largest element still fits the code range after rounding.
float roundScaleUp(ScaleFormat format, float s);
/// The scale `s` as stored in `format`, rounded to nearest.
float roundScaleNearest(ScaleFormat format, float s);

//===----------------------------------------------------------------------===//
// Packing
//===----------------------------------------------------------------------===//

struct PackingSpec {
  PackOrder order = PackOrder::sequential;
  int64_t block = 0;
};

/// Why `packing` cannot hold `bits`-wide codes in rows of `rowLength`
/// (negative: unknown), or an empty string if it can.
std::string checkPacking(PackingSpec packing, FormatSpec format,
                         int64_t rowLength);

/// Bytes one packed row of `rowLength` fields takes.
int64_t getPackedRowBytes(PackingSpec packing, unsigned bits,
                          int64_t rowLength);

/// Packs one row of fields (each < 2^bits; for base3, < 3) into
/// `getPackedRowBytes` bytes.
void packRow(PackingSpec packing, unsigned bits, llvm::ArrayRef<uint8_t> fields,
             llvm::MutableArrayRef<uint8_t> bytes);
/// Unpacks one row: the inverse of `packRow`.
void unpackRow(PackingSpec packing, unsigned bits,
               llvm::ArrayRef<uint8_t> bytes,
               llvm::MutableArrayRef<uint8_t> fields);

//===----------------------------------------------------------------------===//
// Reference quantization of whole tensors
//===----------------------------------------------------------------------===//

/// A quantization scheme as plain data (the value of a
/// `#lowbit.scheme<...>` attribute).
struct QuantScheme {
  FormatSpec format;
  Granularity granularity = Granularity::per_channel;
  int64_t groupSize = 0;
  bool symmetric = true;
  ScaleFormat scale = ScaleFormat::f32;
};

/// Maps the elements of a tensor to the index of their scale. The tensor is
/// viewed as `rows x K` with K the last axis; for per-input-channel groups
/// the second-to-last axis (of extent `channelRows`) is the grouped one.
class ScaleIndexer {
public:
  /// `shape` must be static and valid for `scheme` (see getScaleShape).
  ScaleIndexer(const QuantScheme &scheme, llvm::ArrayRef<int64_t> shape);
  int64_t getNumScales() const { return numScales; }
  int64_t getRowLength() const { return rowLength; }
  int64_t getNumRows() const { return numRows; }
  int64_t index(int64_t row, int64_t k) const;

private:
  Granularity granularity;
  int64_t groupSize, rowLength, numRows, channelRows, numScales;
};

/// The shape of the scales of a tensor of `shape` under `scheme`, or an
/// error message. Dynamic extents stay dynamic.
std::string computeScaleShape(const QuantScheme &scheme,
                              llvm::ArrayRef<int64_t> shape,
                              llvm::SmallVectorImpl<int64_t> &scaleShape);

/// A quantized tensor: packed bytes plus scales and zero points, both as the
/// f32 values of what is stored (already rounded to the scale format).
struct QuantizedTensor {
  std::vector<uint8_t> packed;
  std::vector<float> scales;
  std::vector<float> zeroPoints; ///< Empty for symmetric schemes.
};

/// The scales and zero points `quantizeReference` gives each block of `data`
/// (`packed` is left empty). Quantizers that choose codes themselves (GPTQ)
/// use it to get the same scales as round-to-nearest.
QuantizedTensor computeReferenceScales(const QuantScheme &scheme,
                                       llvm::ArrayRef<int64_t> shape,
                                       llvm::ArrayRef<float> data);

/// Round-to-nearest quantization with scales from each block's range:
/// symmetric integers use s = absmax / (2^(b-1)-1), asymmetric integers map
/// [min, max] onto the code range with a real-valued zero point, float
/// formats use s = absmax / max|code|, ternary uses the block's mean |x|
/// (as in BitNet b1.58). Blocks of zeros get scale 1.
QuantizedTensor quantizeReference(const QuantScheme &scheme,
                                  PackingSpec packing,
                                  llvm::ArrayRef<int64_t> shape,
                                  llvm::ArrayRef<float> data);

/// Quantizes `data` with given scales and zero points (as f32 values).
std::vector<uint8_t> quantizeWithScales(const QuantScheme &scheme,
                                        PackingSpec packing,
                                        llvm::ArrayRef<int64_t> shape,
                                        llvm::ArrayRef<float> data,
                                        llvm::ArrayRef<float> scales,
                                        llvm::ArrayRef<float> zeroPoints);

/// The float values a quantized tensor stands for.
std::vector<float> dequantizeReference(const QuantScheme &scheme,
                                       PackingSpec packing,
                                       llvm::ArrayRef<int64_t> shape,
                                       const QuantizedTensor &tensor);

} // namespace mlir::lowbit

#endif // LOWBIT_SUPPORT_QUANTMATH_H
