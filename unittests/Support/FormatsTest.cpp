//===- FormatsTest.cpp - Element formats and scale storage types ----------===//

#include "lowbit/Support/QuantMath.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

using namespace mlir::lowbit;

namespace {

const FormatSpec kE4M3{ElementFormat::f8E4M3FN, 8};
const FormatSpec kE5M2{ElementFormat::f8E5M2, 8};
const FormatSpec kE2M1{ElementFormat::f4E2M1FN, 4};
const FormatSpec kNF4{ElementFormat::nf4, 4};
const FormatSpec kTernary{ElementFormat::ternary, 2};

std::vector<FormatSpec> codebookFormats() {
  return {kE4M3, kE5M2, kE2M1, kNF4, kTernary};
}

std::vector<FormatSpec> integerFormats() {
  std::vector<FormatSpec> formats;
  for (unsigned bits = 2; bits <= 8; ++bits) {
    formats.push_back({ElementFormat::sint, bits});
    formats.push_back({ElementFormat::uint, bits});
  }
  return formats;
}

TEST(FormatsTest, BitWidths) {
  for (unsigned bits = 2; bits <= 8; ++bits) {
    EXPECT_TRUE(isSupportedBitWidth(ElementFormat::sint, bits));
    EXPECT_TRUE(isSupportedBitWidth(ElementFormat::uint, bits));
  }
  EXPECT_FALSE(isSupportedBitWidth(ElementFormat::sint, 1));
  EXPECT_FALSE(isSupportedBitWidth(ElementFormat::uint, 9));
  EXPECT_TRUE(isSupportedBitWidth(ElementFormat::f8E4M3FN, 8));
  EXPECT_FALSE(isSupportedBitWidth(ElementFormat::f8E4M3FN, 4));
  EXPECT_FALSE(isSupportedBitWidth(ElementFormat::nf4, 3));
  EXPECT_TRUE(isSupportedBitWidth(ElementFormat::ternary, 2));
  EXPECT_FALSE(isSupportedBitWidth(ElementFormat::ternary, 4));
}

TEST(FormatsTest, IntegerCodeRanges) {
  FormatSpec i4{ElementFormat::sint, 4}, u4{ElementFormat::uint, 4};
  EXPECT_EQ(i4.getMinCode(), -8);
  EXPECT_EQ(i4.getMaxCode(), 7);
  EXPECT_EQ(u4.getMinCode(), 0);
  EXPECT_EQ(u4.getMaxCode(), 15);
  FormatSpec i3{ElementFormat::sint, 3};
  EXPECT_EQ(decodeField(i3, 0b011), 3.0f);
  EXPECT_EQ(decodeField(i3, 0b100), -4.0f);
  EXPECT_EQ(decodeField(i3, 0b111), -1.0f);
}

TEST(FormatsTest, KnownFloatValues) {
  // E4M3FN: bias 7, no infinities, 0x7F is NaN, 448 the largest finite.
  EXPECT_EQ(decodeField(kE4M3, 0x38), 1.0f);
  EXPECT_EQ(decodeField(kE4M3, 0x7E), 448.0f);
  EXPECT_EQ(decodeField(kE4M3, 0xFE), -448.0f);
  EXPECT_EQ(decodeField(kE4M3, 0x01), std::ldexp(1.0f, -9)); // Smallest subnormal.
  EXPECT_TRUE(std::isnan(decodeField(kE4M3, 0x7F)));
  EXPECT_TRUE(std::isnan(decodeField(kE4M3, 0xFF)));
  // E5M2: IEEE-like, bias 15, with infinities.
  EXPECT_EQ(decodeField(kE5M2, 0x3C), 1.0f);
  EXPECT_EQ(decodeField(kE5M2, 0x7B), 57344.0f);
  EXPECT_TRUE(std::isinf(decodeField(kE5M2, 0x7C)));
  EXPECT_TRUE(std::isnan(decodeField(kE5M2, 0x7D)));
  // E2M1: the eight magnitudes of FP4.
  const float e2m1[8] = {0, 0.5, 1, 1.5, 2, 3, 4, 6};
  for (uint32_t field = 0; field < 8; ++field) {
    EXPECT_EQ(decodeField(kE2M1, field), e2m1[field]);
    EXPECT_EQ(decodeField(kE2M1, field | 8), -e2m1[field]);
  }
  EXPECT_EQ(decodeField(kNF4, 0), -1.0f);
  EXPECT_EQ(decodeField(kNF4, 7), 0.0f);
  EXPECT_EQ(decodeField(kNF4, 15), 1.0f);
  EXPECT_EQ(decodeField(kTernary, 0), -1.0f);
  EXPECT_EQ(decodeField(kTernary, 1), 0.0f);
  EXPECT_EQ(decodeField(kTernary, 2), 1.0f);
}

TEST(FormatsTest, RepresentableValuesRoundTrip) {
  for (FormatSpec format : codebookFormats()) {
    for (uint32_t field = 0; field < format.getNumFields(); ++field) {
      float value = decodeField(format, field);
      if (!std::isfinite(value) ||
          (format.format == ElementFormat::ternary && field == 3))
        continue;
      uint32_t encoded = encodeValue(format, value);
      // -0 encodes to +0; everything else to itself.
      EXPECT_EQ(decodeField(format, encoded), value)
          << "format " << stringifyElementFormat(format.format).str()
          << " field " << field;
      if (value != 0.0f)
        EXPECT_EQ(encoded, field);
    }
  }
  for (FormatSpec format : integerFormats())
    for (int64_t code = format.getMinCode(); code <= format.getMaxCode(); ++code)
      EXPECT_EQ(decodeField(format, encodeValue(format, float(code))),
                float(code));
}

TEST(FormatsTest, EncodeIsNearest) {
  std::mt19937 rng(7);
  for (FormatSpec format : codebookFormats()) {
    Codebook book = getCodebook(format);
    float range = book.values.back() * 1.25f;
    std::uniform_real_distribution<float> dist(-range, range);
    for (int trial = 0; trial < 2000; ++trial) {
      float x = dist(rng);
      float got = decodeField(format, encodeValue(format, x));
      for (float candidate : book.values)
        ASSERT_LE(std::fabs(got - x), std::fabs(candidate - x))
            << stringifyElementFormat(format.format).str() << " x=" << x;
    }
  }
}

TEST(FormatsTest, TiesRoundToEven) {
  // FP4: 2.5 lies between 2 (mantissa 0) and 3 (mantissa 1).
  EXPECT_EQ(decodeField(kE2M1, encodeValue(kE2M1, 2.5f)), 2.0f);
  EXPECT_EQ(decodeField(kE2M1, encodeValue(kE2M1, 5.0f)), 4.0f);
  EXPECT_EQ(decodeField(kE2M1, encodeValue(kE2M1, 0.75f)), 1.0f);
  EXPECT_EQ(decodeField(kE2M1, encodeValue(kE2M1, -2.5f)), -2.0f);
  // E4M3: between 1 (0x38) and 1.125 (0x39), 1.0625 goes to 1.
  EXPECT_EQ(encodeValue(kE4M3, 1.0625f), 0x38u);
  EXPECT_EQ(encodeValue(kE4M3, 1.1875f), 0x3Au); // Between 1.125 and 1.25.
  // Integers: half to even.
  FormatSpec i4{ElementFormat::sint, 4};
  EXPECT_EQ(decodeField(i4, encodeValue(i4, 2.5f)), 2.0f);
  EXPECT_EQ(decodeField(i4, encodeValue(i4, 3.5f)), 4.0f);
  EXPECT_EQ(decodeField(i4, encodeValue(i4, -2.5f)), -2.0f);
}

TEST(FormatsTest, EncodeSaturates) {
  EXPECT_EQ(decodeField(kE4M3, encodeValue(kE4M3, 1e6f)), 448.0f);
  EXPECT_EQ(decodeField(kE4M3, encodeValue(kE4M3, -1e6f)), -448.0f);
  EXPECT_EQ(decodeField(kE5M2, encodeValue(kE5M2, 1e9f)), 57344.0f);
  EXPECT_EQ(decodeField(kE2M1, encodeValue(kE2M1, 100.0f)), 6.0f);
  EXPECT_EQ(decodeField(kNF4, encodeValue(kNF4, -3.0f)), -1.0f);
  FormatSpec i4{ElementFormat::sint, 4}, u3{ElementFormat::uint, 3};
  EXPECT_EQ(decodeField(i4, encodeValue(i4, 100.0f)), 7.0f);
  EXPECT_EQ(decodeField(i4, encodeValue(i4, -100.0f)), -8.0f);
  EXPECT_EQ(decodeField(u3, encodeValue(u3, -1.0f)), 0.0f);
  EXPECT_EQ(decodeField(u3, encodeValue(u3, 9.0f)), 7.0f);
  float nan = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(decodeField(kE4M3, encodeValue(kE4M3, nan)), 0.0f);
  EXPECT_EQ(decodeField(i4, encodeValue(i4, nan)), 0.0f);
}

TEST(FormatsTest, HalfConversionIsExactOnHalfValues) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    float value = halfToFloat(static_cast<uint16_t>(h));
    if (std::isnan(value))
      continue;
    ASSERT_EQ(floatToHalf(value), h) << "half 0x" << std::hex << h;
  }
  EXPECT_EQ(halfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(halfToFloat(0x7BFF), 65504.0f);
  EXPECT_EQ(halfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(floatToHalf(1e6f), 0x7C00);           // Overflow to infinity.
  EXPECT_EQ(floatToHalf(1.0f + 0x1p-11f), 0x3C00); // Tie to even (down).
  EXPECT_EQ(floatToHalf(1.0f + 3 * 0x1p-11f), 0x3C02); // Tie to even (up).
}

TEST(FormatsTest, BFloat16Conversion) {
  EXPECT_EQ(floatToBFloat16(1.0f), 0x3F80);
  EXPECT_EQ(bfloat16ToFloat(0x3F80), 1.0f);
  for (uint32_t b = 0; b < 0x10000; ++b) {
    float value = bfloat16ToFloat(static_cast<uint16_t>(b));
    if (!std::isnan(value))
      ASSERT_EQ(floatToBFloat16(value), b);
  }
  EXPECT_EQ(floatToBFloat16(1.0f + 0x1p-8f), 0x3F80); // Tie to even.
  EXPECT_EQ(floatToBFloat16(1.0f + 3 * 0x1p-8f), 0x3F82);
}

TEST(FormatsTest, ScaleRounding) {
  for (float s : {0.013f, 0.3f, 1.7f, 123.456f}) {
    for (ScaleFormat format :
         {ScaleFormat::f32, ScaleFormat::f16, ScaleFormat::bf16,
          ScaleFormat::e8m0}) {
      float up = roundScaleUp(format, s);
      EXPECT_GE(up, s);
      EXPECT_EQ(roundScaleUp(format, up), up); // Representable: a fixed point.
    }
    float e8 = roundScaleUp(ScaleFormat::e8m0, s);
    EXPECT_EQ(e8, std::exp2(std::ceil(std::log2(s))));
    EXPECT_LE(std::fabs(roundScaleNearest(ScaleFormat::f16, s) - s),
              s * 0x1p-11f);
  }
  EXPECT_EQ(e8m0ToFloat(127), 1.0f);
  EXPECT_EQ(floatToE8M0(1.0f), 127);
  EXPECT_EQ(floatToE8M0(1.5f), 128);
}

} // namespace
