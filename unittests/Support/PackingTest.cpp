//===- PackingTest.cpp - Packing of sub-byte codes -------------------------===//

#include "lowbit/Support/QuantMath.h"

#include "gtest/gtest.h"

#include <random>

using namespace mlir::lowbit;

namespace {

std::vector<uint8_t> randomFields(size_t n, uint32_t limit, unsigned seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> fields(n);
  for (uint8_t &f : fields)
    f = static_cast<uint8_t>(rng() % limit);
  return fields;
}

std::vector<uint8_t> roundTrip(PackingSpec packing, unsigned bits,
                               const std::vector<uint8_t> &fields) {
  std::vector<uint8_t> bytes(getPackedRowBytes(packing, bits, fields.size()));
  packRow(packing, bits, fields, bytes);
  std::vector<uint8_t> back(fields.size());
  unpackRow(packing, bits, bytes, back);
  return back;
}

TEST(PackingTest, SequentialRoundTripsEveryWidth) {
  PackingSpec sequential{PackOrder::sequential, 0};
  for (unsigned bits = 2; bits <= 8; ++bits) {
    // Row lengths whose bit count is and is not a multiple of 8.
    for (size_t length : {1, 3, 8, 13, 64, 100}) {
      auto fields = randomFields(length, 1u << bits, bits * 100 + length);
      EXPECT_EQ(roundTrip(sequential, bits, fields), fields)
          << bits << "-bit, length " << length;
    }
  }
}

TEST(PackingTest, InterleavedRoundTrips) {
  for (unsigned bits : {2u, 4u, 8u}) {
    for (int64_t block : {8, 32, 64}) {
      PackingSpec interleaved{PackOrder::interleaved, block};
      auto fields = randomFields(block * 3, 1u << bits, bits + block);
      EXPECT_EQ(roundTrip(interleaved, bits, fields), fields)
          << bits << "-bit, block " << block;
    }
  }
}

TEST(PackingTest, Base3RoundTrips) {
  PackingSpec base3{PackOrder::base3, 0};
  for (size_t length : {1, 5, 7, 64, 101}) {
    auto fields = randomFields(length, 3, length);
    EXPECT_EQ(roundTrip(base3, 2, fields), fields) << "length " << length;
  }
}

TEST(PackingTest, SequentialLayout) {
  PackingSpec sequential{PackOrder::sequential, 0};
  std::vector<uint8_t> bytes(2);
  packRow(sequential, 4, std::vector<uint8_t>{1, 2, 3, 4}, bytes);
  EXPECT_EQ(bytes, (std::vector<uint8_t>{0x21, 0x43}));
  // 3-bit codes 1..8 as a little-endian bit stream:
  // 001 010 011 100 101 110 111 000 (LSB first) -> 0xD1 0x58 0x1F.
  std::vector<uint8_t> three(3);
  packRow(sequential, 3, std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 7, 0}, three);
  EXPECT_EQ(three, (std::vector<uint8_t>{0xD1, 0x58, 0x1F}));
  std::vector<uint8_t> two(1);
  packRow(sequential, 2, std::vector<uint8_t>{0, 1, 2, 3}, two);
  EXPECT_EQ(two[0], 0xE4);
}

TEST(PackingTest, InterleavedIsGGUFQ4Layout) {
  // In a block of 32 nibbles, byte j holds code j (low) and code j+16 (high).
  PackingSpec q4{PackOrder::interleaved, 32};
  std::vector<uint8_t> fields(32);
  for (int k = 0; k < 32; ++k)
    fields[k] = k % 16;
  std::vector<uint8_t> bytes(16);
  packRow(q4, 4, fields, bytes);
  for (int j = 0; j < 16; ++j)
    EXPECT_EQ(bytes[j], fields[j] | (fields[j + 16] << 4)) << "byte " << j;
}

TEST(PackingTest, Base3Layout) {
  PackingSpec base3{PackOrder::base3, 0};
  std::vector<uint8_t> bytes(2);
  packRow(base3, 2, std::vector<uint8_t>{0, 1, 2, 0, 1, 2}, bytes);
  EXPECT_EQ(bytes[0], 0 * 1 + 1 * 3 + 2 * 9 + 0 * 27 + 1 * 81);
  EXPECT_EQ(bytes[1], 2);
}

TEST(PackingTest, RowBytes) {
  PackingSpec sequential{PackOrder::sequential, 0};
  EXPECT_EQ(getPackedRowBytes(sequential, 4, 4096), 2048);
  EXPECT_EQ(getPackedRowBytes(sequential, 3, 128), 48);
  EXPECT_EQ(getPackedRowBytes(sequential, 3, 10), 4);
  EXPECT_EQ(getPackedRowBytes(sequential, 8, 7), 7);
  EXPECT_EQ(getPackedRowBytes({PackOrder::interleaved, 32}, 4, 64), 32);
  EXPECT_EQ(getPackedRowBytes({PackOrder::base3, 0}, 2, 11), 3);
}

TEST(PackingTest, RejectsImpossiblePackings) {
  FormatSpec i3{ElementFormat::sint, 3}, i4{ElementFormat::sint, 4};
  FormatSpec ternary{ElementFormat::ternary, 2};
  EXPECT_EQ(checkPacking({PackOrder::sequential, 0}, i3, 10), "");
  EXPECT_NE(checkPacking({PackOrder::interleaved, 32}, i3, 64), "");
  EXPECT_NE(checkPacking({PackOrder::interleaved, 32}, i4, 48), "");
  EXPECT_NE(checkPacking({PackOrder::interleaved, 3}, i4, 48), "");
  EXPECT_NE(checkPacking({PackOrder::base3, 0}, i4, 10), "");
  EXPECT_EQ(checkPacking({PackOrder::base3, 0}, ternary, 10), "");
}

} // namespace
