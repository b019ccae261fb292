//===- GgufTest.cpp - The GGUF reader on synthetic and real files ---------===//
//
// Synthetic files come from a small GGUF writer below, so each test states
// exactly the bytes it feeds the reader. Dequantization is checked on single
// blocks against values worked out by hand from ggml's block layouts.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Import/Gguf.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <iostream>
#include <limits>

using namespace lowbit;
using llvm::StringRef;

static const std::string kModelDir = LOWBIT_MODEL_DIR;
static const std::string kSmolLM2 =
    kModelDir + "/SmolLM2-135M-Instruct.Q4_1.gguf";

//===----------------------------------------------------------------------===//
// A GGUF writer
//===----------------------------------------------------------------------===//

namespace {
std::string littleEndian(uint64_t value, int bytes) {
  std::string out(bytes, '\0');
  for (int i = 0; i < bytes; ++i)
    out[i] = static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}
std::string u8(uint8_t v) { return littleEndian(v, 1); }
std::string u16(uint16_t v) { return littleEndian(v, 2); }
std::string u32(uint32_t v) { return littleEndian(v, 4); }
std::string u64(uint64_t v) { return littleEndian(v, 8); }
std::string f32(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  return u32(bits);
}
std::string f64(double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  return u64(bits);
}
std::string str(StringRef s) { return u64(s.size()) + s.str(); }
std::string bytes(std::initializer_list<uint8_t> values) {
  std::string out;
  for (uint8_t v : values)
    out += static_cast<char>(v);
  return out;
}

uint32_t typeNumber(GgufValueType type) { return static_cast<uint32_t>(type); }
uint32_t typeNumber(GgmlType type) { return static_cast<uint32_t>(type); }

/// An array value: element type, count, encoded elements.
std::string arrayPayload(GgufValueType element, uint64_t count,
                         const std::string &elements) {
  return u32(typeNumber(element)) + u64(count) + elements;
}

/// Where the sections of a built file start.
struct Layout {
  size_t headerEnd = 0, metadataEnd = 0, tableEnd = 0, dataStart = 0;
};

class GgufBuilder {
public:
  explicit GgufBuilder(uint32_t version = 3) : version(version) {}

  GgufBuilder &add(StringRef key, GgufValueType type, std::string payload) {
    return addRaw(key, typeNumber(type), std::move(payload));
  }
  GgufBuilder &addRaw(StringRef key, uint32_t type, std::string payload) {
    entries.push_back({key.str(), type, std::move(payload)});
    return *this;
  }
  GgufBuilder &addU32(StringRef key, uint32_t v) {
    return add(key, GgufValueType::UInt32, u32(v));
  }
  GgufBuilder &addF32(StringRef key, float v) {
    return add(key, GgufValueType::Float32, f32(v));
  }
  GgufBuilder &addBool(StringRef key, bool v) {
    return add(key, GgufValueType::Bool, u8(v));
  }
  GgufBuilder &addString(StringRef key, StringRef v) {
    return add(key, GgufValueType::String, str(v));
  }
  GgufBuilder &addStrings(StringRef key, const std::vector<std::string> &v) {
    std::string elements;
    for (const std::string &s : v)
      elements += str(s);
    return add(key, GgufValueType::Array,
               arrayPayload(GgufValueType::String, v.size(), elements));
  }
  GgufBuilder &addI32s(StringRef key, const std::vector<int32_t> &v) {
    std::string elements;
    for (int32_t x : v)
      elements += u32(static_cast<uint32_t>(x));
    return add(key, GgufValueType::Array,
               arrayPayload(GgufValueType::Int32, v.size(), elements));
  }
  GgufBuilder &addF32s(StringRef key, const std::vector<float> &v) {
    std::string elements;
    for (float x : v)
      elements += f32(x);
    return add(key, GgufValueType::Array,
               arrayPayload(GgufValueType::Float32, v.size(), elements));
  }
  /// Sets the layout alignment and records general.alignment.
  GgufBuilder &setAlignment(uint32_t value) {
    alignment = value;
    return addU32("general.alignment", value);
  }

  /// A tensor; `declaredOffset` replaces the offset written in the table
  /// (the data is still placed where it belongs).
  GgufBuilder &addTensor(StringRef name, std::vector<uint64_t> dims,
                         uint32_t type, std::string data,
                         std::optional<uint64_t> declaredOffset = {}) {
    tensors.push_back(
        {name.str(), std::move(dims), type, std::move(data), declaredOffset});
    return *this;
  }
  GgufBuilder &addTensor(StringRef name, std::vector<uint64_t> dims,
                         GgmlType type, std::string data) {
    return addTensor(name, std::move(dims), typeNumber(type), std::move(data));
  }
  bool removeTensor(StringRef name) {
    for (auto it = tensors.begin(); it != tensors.end(); ++it)
      if (it->name == name) {
        tensors.erase(it);
        return true;
      }
    return false;
  }
  bool removeKey(StringRef key) {
    for (auto it = entries.begin(); it != entries.end(); ++it)
      if (it->key == key) {
        entries.erase(it);
        return true;
      }
    return false;
  }
  /// Changes the dims or type of a tensor already added.
  void setTensorDims(StringRef name, std::vector<uint64_t> dims) {
    for (Tensor &t : tensors)
      if (t.name == name)
        t.dims = dims;
  }
  void setTensorType(StringRef name, uint32_t type) {
    for (Tensor &t : tensors)
      if (t.name == name)
        t.type = type;
  }

  std::string build(Layout *layout = nullptr) const {
    std::string out =
        "GGUF" + u32(version) + u64(tensors.size()) + u64(entries.size());
    Layout l;
    l.headerEnd = out.size();
    for (const Entry &e : entries)
      out += str(e.key) + u32(e.type) + e.payload;
    l.metadataEnd = out.size();
    std::vector<uint64_t> placed;
    uint64_t running = 0;
    for (const Tensor &t : tensors) {
      placed.push_back(running);
      running = llvm::alignTo(running + t.data.size(), alignment);
    }
    for (size_t i = 0; i < tensors.size(); ++i) {
      const Tensor &t = tensors[i];
      out += str(t.name) + u32(t.dims.size());
      for (uint64_t d : t.dims)
        out += u64(d);
      out += u32(t.type) + u64(t.declaredOffset.value_or(placed[i]));
    }
    l.tableEnd = out.size();
    out.resize(llvm::alignTo(out.size(), alignment), '\0');
    l.dataStart = out.size();
    for (size_t i = 0; i < tensors.size(); ++i) {
      out.resize(l.dataStart + placed[i], '\0');
      out += tensors[i].data;
    }
    if (layout)
      *layout = l;
    return out;
  }

private:
  struct Entry {
    std::string key;
    uint32_t type;
    std::string payload;
  };
  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t type;
    std::string data;
    std::optional<uint64_t> declaredOffset;
  };
  uint32_t version;
  uint64_t alignment = 32;
  std::vector<Entry> entries;
  std::vector<Tensor> tensors;
};

std::string f32Data(int64_t count, const std::function<float(int64_t)> &f) {
  std::string out;
  for (int64_t i = 0; i < count; ++i)
    out += f32(f(i));
  return out;
}

template <typename T> std::string errorText(llvm::Expected<T> value) {
  if (value)
    return "";
  return llvm::toString(value.takeError());
}

/// Expects `message` to be an error holding every one of `parts`.
void expectMessage(const std::string &message,
                   std::initializer_list<const char *> parts) {
  EXPECT_FALSE(message.empty()) << "expected an error";
  for (const char *part : parts)
    EXPECT_NE(message.find(part), std::string::npos)
        << "expected \"" << part << "\" in: " << message;
}

std::unique_ptr<llvm::MemoryBuffer> memory(const std::string &image,
                                           StringRef name = "mem.gguf") {
  return llvm::MemoryBuffer::getMemBufferCopy(image, name);
}

llvm::Expected<std::unique_ptr<GgufFile>> parseImage(const std::string &image) {
  return GgufFile::parse(memory(image));
}

/// Files under a fresh directory, removed afterwards.
class GgufFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("lowbit-gguf", dir));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }

  std::string write(StringRef name, const std::string &contents) {
    llvm::SmallString<256> path(dir);
    llvm::sys::path::append(path, name);
    std::error_code ec;
    llvm::raw_fd_ostream out(path, ec);
    EXPECT_FALSE(ec) << ec.message();
    out << contents;
    return std::string(path);
  }

  llvm::SmallString<256> dir;
};
} // namespace

//===----------------------------------------------------------------------===//
// Dequantization of single blocks
//===----------------------------------------------------------------------===//

static std::vector<float> dequantize(GgmlType type, const std::string &blocks,
                                     size_t count) {
  std::vector<float> out(count, -12345.0f);
  llvm::ArrayRef<uint8_t> raw(reinterpret_cast<const uint8_t *>(blocks.data()),
                              blocks.size());
  llvm::Error error = dequantizeRow(type, raw, out);
  EXPECT_FALSE(error) << llvm::toString(std::move(error));
  return out;
}

// f16 bit patterns used below.
constexpr uint16_t kHalfOne = 0x3c00, kHalfHalf = 0x3800, kHalfQuarter = 0x3400,
                   kHalfEighth = 0x3000, kHalfMinusTwo = 0xc000;

TEST(GgufDequantTest, HalfAndBFloat16Conversions) {
  EXPECT_EQ(convertHalfToFloat(0x3c00), 1.0f);
  EXPECT_EQ(convertHalfToFloat(0xc000), -2.0f);
  EXPECT_EQ(convertHalfToFloat(0x3555), 0.333251953125f);
  EXPECT_EQ(convertHalfToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(convertHalfToFloat(0x0400), 6.103515625e-05f); // smallest normal
  EXPECT_EQ(convertHalfToFloat(0x0001), 5.9604644775390625e-08f);
  EXPECT_EQ(convertHalfToFloat(0x03ff), 6.097555160522461e-05f);
  EXPECT_TRUE(std::signbit(convertHalfToFloat(0x8000)));
  EXPECT_EQ(convertHalfToFloat(0xfc00),
            -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(convertHalfToFloat(0x7e00)));
  EXPECT_EQ(convertBFloat16ToFloat(0x3f80), 1.0f);
  EXPECT_EQ(convertBFloat16ToFloat(0xc040), -3.0f);
  EXPECT_EQ(convertBFloat16ToFloat(0x4049), 3.140625f);
}

TEST(GgufDequantTest, FloatFormats) {
  std::vector<float> f32Values =
      dequantize(GgmlType::F32, f32(1.5f) + f32(-0.25f) + f32(3e-8f), 3);
  EXPECT_EQ(f32Values, (std::vector<float>{1.5f, -0.25f, 3e-8f}));
  std::vector<float> f16Values = dequantize(
      GgmlType::F16, u16(0x3c00) + u16(0xc000) + u16(0x3555) + u16(0x0001), 4);
  EXPECT_EQ(f16Values, (std::vector<float>{1.0f, -2.0f, 0.333251953125f,
                                           5.9604644775390625e-08f}));
  std::vector<float> bf16Values =
      dequantize(GgmlType::BF16, u16(0xc040) + u16(0x4049) + u16(0), 3);
  EXPECT_EQ(bf16Values, (std::vector<float>{-3.0f, 3.140625f, 0.0f}));
  std::vector<float> f64Values =
      dequantize(GgmlType::F64, f64(-0.125) + f64(1e10), 2);
  EXPECT_EQ(f64Values, (std::vector<float>{-0.125f, 1e10f}));
}

TEST(GgufDequantTest, Q8_0) {
  // d = 0.125; qs[i] = 8i - 128, so x[i] = i - 16.
  std::string block = u16(kHalfEighth);
  for (int i = 0; i < 32; ++i)
    block += u8(static_cast<uint8_t>(static_cast<int8_t>(8 * i - 128)));
  std::vector<float> x = dequantize(GgmlType::Q8_0, block, 32);
  EXPECT_EQ(x[0], -16.0f);
  EXPECT_EQ(x[1], -15.0f);
  EXPECT_EQ(x[16], 0.0f);
  EXPECT_EQ(x[31], 15.0f);
}

/// Byte i holds nibble i in the low half and 15 - i in the high half.
static std::string rampNibbles() {
  std::string qs;
  for (int i = 0; i < 16; ++i)
    qs += u8(static_cast<uint8_t>(i | ((15 - i) << 4)));
  return qs;
}

TEST(GgufDequantTest, Q4_0TwoBlocks) {
  // Element j < 16 is the low nibble of byte j, element j + 16 the high
  // nibble; both offset by 8. The second block has d = -2.
  std::string blocks =
      u16(kHalfHalf) + rampNibbles() + u16(kHalfMinusTwo) + rampNibbles();
  std::vector<float> x = dequantize(GgmlType::Q4_0, blocks, 64);
  EXPECT_EQ(x[0], -4.0f);  // (0 - 8) * 0.5
  EXPECT_EQ(x[5], -1.5f);  // (5 - 8) * 0.5
  EXPECT_EQ(x[15], 3.5f);  // (15 - 8) * 0.5
  EXPECT_EQ(x[16], 3.5f);  // high nibble of byte 0 is 15
  EXPECT_EQ(x[31], -4.0f); // high nibble of byte 15 is 0
  EXPECT_EQ(x[32], 16.0f); // (0 - 8) * -2
  EXPECT_EQ(x[63], 16.0f);
  EXPECT_EQ(x[47], -14.0f); // (15 - 8) * -2
}

TEST(GgufDequantTest, Q4_1) {
  // d = 0.5, m = -2: x = q * 0.5 - 2.
  std::string block = u16(kHalfHalf) + u16(kHalfMinusTwo) + rampNibbles();
  std::vector<float> x = dequantize(GgmlType::Q4_1, block, 32);
  EXPECT_EQ(x[0], -2.0f);
  EXPECT_EQ(x[5], 0.5f);
  EXPECT_EQ(x[15], 5.5f);
  EXPECT_EQ(x[16], 5.5f);
  EXPECT_EQ(x[31], -2.0f);
}

// Fifth bits for Q5_0/Q5_1: bit i set when i % 3 == 0.
constexpr uint32_t kEveryThirdBit = 0x49249249;

TEST(GgufDequantTest, Q5_0) {
  // d = 0.5; x = (nibble | bit << 4) - 16, times d.
  std::string block = u16(kHalfHalf) + u32(kEveryThirdBit) + rampNibbles();
  std::vector<float> x = dequantize(GgmlType::Q5_0, block, 32);
  EXPECT_EQ(x[0], 0.0f);   // 0 | 16 -> 0
  EXPECT_EQ(x[1], -7.5f);  // 1 -> -15
  EXPECT_EQ(x[3], 1.5f);   // 3 | 16 -> 3
  EXPECT_EQ(x[16], -0.5f); // 15, bit 16 clear -> -1
  EXPECT_EQ(x[18], 6.5f);  // 13 | 16 -> 13
  EXPECT_EQ(x[31], -8.0f); // 0, bit 31 clear -> -16
}

TEST(GgufDequantTest, Q5_1) {
  // d = 0.25, m = 1: x = (nibble | bit << 4) * 0.25 + 1.
  std::string block =
      u16(kHalfQuarter) + u16(kHalfOne) + u32(kEveryThirdBit) + rampNibbles();
  std::vector<float> x = dequantize(GgmlType::Q5_1, block, 32);
  EXPECT_EQ(x[0], 5.0f);
  EXPECT_EQ(x[1], 1.25f);
  EXPECT_EQ(x[18], 8.25f);
  EXPECT_EQ(x[31], 1.0f);
}

TEST(GgufDequantTest, Q2_K) {
  // Scale byte i = scale i | min (15 - i) << 4; quant byte i = i;
  // d = 0.5, dmin = 0.25. Element 128h + 32j + t = bits 2j of byte 32h + t.
  std::string block;
  for (int i = 0; i < 16; ++i)
    block += u8(static_cast<uint8_t>(i | ((15 - i) << 4)));
  for (int i = 0; i < 64; ++i)
    block += u8(static_cast<uint8_t>(i));
  block += u16(kHalfHalf) + u16(kHalfQuarter);
  std::vector<float> x = dequantize(GgmlType::Q2_K, block, 256);
  EXPECT_EQ(x[0], -3.75f);   // q 0, min 15: -0.25 * 15
  EXPECT_EQ(x[19], -2.0f);   // byte 19 & 3 = 3; scale 1, min 14
  EXPECT_EQ(x[45], -0.25f);  // (13 >> 2) & 3 = 3; scale 2, min 13
  EXPECT_EQ(x[100], -2.25f); // (4 >> 6) = 0; min 9
  EXPECT_EQ(x[150], 7.5f);   // byte 54 & 3 = 2; scale 9, min 6
  EXPECT_EQ(x[215], 19.0f);  // (55 >> 4) & 3 = 3; scale 13, min 2
}

TEST(GgufDequantTest, Q3_K) {
  // High-bit byte t = 0xf0 | (t & 15); quant byte i = i; d = 0.5. The 12
  // scale bytes pack the 6-bit scales 4i + 2 (i = 0..15), i.e. -30, -26, ...,
  // 30 after the offset of 32.
  std::string block;
  for (int t = 0; t < 32; ++t)
    block += u8(static_cast<uint8_t>(0xf0 | (t & 15)));
  for (int i = 0; i < 64; ++i)
    block += u8(static_cast<uint8_t>(i));
  block += bytes(
      {0x22, 0x66, 0xaa, 0xee, 0x22, 0x66, 0xaa, 0xee, 0xe4, 0xe4, 0xe4, 0xe4});
  block += u16(kHalfHalf);
  std::vector<float> x = dequantize(GgmlType::Q3_K, block, 256);
  EXPECT_EQ(x[0], 60.0f);   // q 0 - 4 (high bit clear), scale -30
  EXPECT_EQ(x[1], -15.0f);  // q 1 (high bit set), scale -30
  EXPECT_EQ(x[45], 11.0f);  // q 3 - 4, scale -22
  EXPECT_EQ(x[100], 12.0f); // q 0 - 4, scale -6
  EXPECT_EQ(x[150], 6.0f);  // q 2, scale 6
  EXPECT_EQ(x[215], 33.0f); // q 3, scale 22
  EXPECT_EQ(x[255], 0.0f);  // q 0, scale 30
}

/// Scales {1, 2, 3, 4, 40, 50, 60, 63} and mins {5, 6, 7, 8, 33, 17, 0, 63}
/// in the 12-byte packing of Q4_K and Q5_K.
static std::string packedScalesAndMins() {
  return bytes(
      {0x81, 0xc2, 0xc3, 0xc4, 0x85, 0x46, 0x07, 0xc8, 0x18, 0x12, 0x0c, 0xff});
}

/// Byte i holds nibble i % 16 low and 15 - i % 16 high.
static std::string rampNibbles128() {
  std::string qs;
  for (int i = 0; i < 128; ++i)
    qs += u8(static_cast<uint8_t>((i % 16) | ((15 - i % 16) << 4)));
  return qs;
}

TEST(GgufDequantTest, Q4_K) {
  // d = 1, dmin = 0.5; x = scale[s] * q - 0.5 * min[s] in sub-block s.
  std::string block =
      u16(kHalfOne) + u16(kHalfHalf) + packedScalesAndMins() + rampNibbles128();
  std::vector<float> x = dequantize(GgmlType::Q4_K, block, 256);
  EXPECT_EQ(x[0], -2.5f);    // q 0, min 5
  EXPECT_EQ(x[33], 25.0f);   // high nibble 14, scale 2, min 6
  EXPECT_EQ(x[130], 63.5f);  // q 2, scale 40, min 33
  EXPECT_EQ(x[200], 480.0f); // q 8, scale 60, min 0
  EXPECT_EQ(x[255], -31.5f); // q 0, min 63
}

TEST(GgufDequantTest, Q5_K) {
  // As Q4_K, with fifth bits 0xaa for even bytes and 0x55 for odd ones.
  std::string highBits;
  for (int t = 0; t < 32; ++t)
    highBits += u8(t % 2 == 0 ? 0xaa : 0x55);
  std::string block = u16(kHalfOne) + u16(kHalfHalf) + packedScalesAndMins() +
                      highBits + rampNibbles128();
  std::vector<float> x = dequantize(GgmlType::Q5_K, block, 256);
  EXPECT_EQ(x[0], -2.5f);  // bit clear
  EXPECT_EQ(x[32], 59.0f); // 15 + 16, scale 2, min 6
  EXPECT_EQ(x[33], 25.0f);
  EXPECT_EQ(x[130], 63.5f);
  EXPECT_EQ(x[161], 691.5f); // 14, scale 50, min 17
  EXPECT_EQ(x[200], 480.0f);
  EXPECT_EQ(x[224], 1921.5f); // 15 + 16, scale 63, min 63
  EXPECT_EQ(x[255], -31.5f);
}

TEST(GgufDequantTest, Q6_K) {
  // Low byte i = (i % 16) | ((i + 3) % 16) << 4; high byte i = i in the
  // first half and i + 192 in the second; scales alternate 1, -2, 3, ...,
  // -16; d = 0.25. x = d * scale[e / 16] * (q - 32).
  std::string block;
  for (int i = 0; i < 128; ++i)
    block += u8(static_cast<uint8_t>((i % 16) | (((i + 3) % 16) << 4)));
  for (int i = 0; i < 64; ++i)
    block += u8(static_cast<uint8_t>(i < 32 ? i : i + 192));
  for (int i = 0; i < 16; ++i)
    block += u8(static_cast<uint8_t>(
        static_cast<int8_t>((i % 2 == 0 ? 1 : -1) * (i + 1))));
  block += u16(kHalfQuarter);
  std::vector<float> x = dequantize(GgmlType::Q6_K, block, 256);
  EXPECT_EQ(x[0], -8.0f);     // q -32, scale 1
  EXPECT_EQ(x[37], -8.25f);   // 5 | 16 -> -11, scale 3
  EXPECT_EQ(x[70], -28.75f);  // 9 -> -23, scale 5
  EXPECT_EQ(x[127], 60.0f);   // 2 -> -30, scale -8
  EXPECT_EQ(x[200], 35.75f);  // 11 | 32 -> 11, scale 13
  EXPECT_EQ(x[208], -66.5f);  // 3 | 48 -> 19, scale -14
  EXPECT_EQ(x[250], -116.0f); // 13 | 48 -> 29, scale -16
  EXPECT_EQ(x[255], -72.0f);  // 2 | 48 -> 18, scale -16
}

TEST(GgufDequantTest, RejectsBadSizesAndTypes) {
  std::vector<float> out(32);
  std::string block(18, '\0');
  llvm::ArrayRef<uint8_t> raw(reinterpret_cast<const uint8_t *>(block.data()),
                              block.size());
  llvm::MutableArrayRef<float> values(out);
  expectMessage(
      llvm::toString(dequantizeRow(GgmlType::Q4_0, raw.drop_back(), values)),
      {"32 values of Q4_0", "17 bytes"});
  expectMessage(
      llvm::toString(dequantizeRow(GgmlType::Q4_0, raw, values.take_front(31))),
      {"not a whole number of Q4_0 blocks of 32"});
  expectMessage(llvm::toString(dequantizeRow(GgmlType::IQ2_XXS, raw, values)),
                {"IQ2_XXS (16)", "supported types are F32"});
  expectMessage(
      llvm::toString(dequantizeRow(static_cast<GgmlType>(77), raw, values)),
      {"unknown type 77"});
  EXPECT_EQ(describeGgmlType(12), "Q4_K (12)");
  EXPECT_EQ(getGgmlTypeInfo(4), nullptr); // retired Q4_2
}

//===----------------------------------------------------------------------===//
// Metadata
//===----------------------------------------------------------------------===//

/// One key of every value type, arrays included.
static GgufBuilder everyValueType(uint32_t version) {
  GgufBuilder b(version);
  b.add("u8", GgufValueType::UInt8, u8(200))
      .add("i8", GgufValueType::Int8, u8(0x80))
      .add("u16", GgufValueType::UInt16, u16(65535))
      .add("i16", GgufValueType::Int16, u16(0xfffe))
      .add("u32", GgufValueType::UInt32, u32(4000000000u))
      .add("i32", GgufValueType::Int32, u32(static_cast<uint32_t>(-7)))
      .add("f32", GgufValueType::Float32, f32(-1.5f))
      .add("bool", GgufValueType::Bool, u8(1))
      .add("false", GgufValueType::Bool, u8(0))
      .add("string", GgufValueType::String,
           str(StringRef("h\xc3\xa9llo\0x", 8)))
      .add("u64", GgufValueType::UInt64, u64(~0ull))
      .add("i64", GgufValueType::Int64, u64(static_cast<uint64_t>(-3)))
      .add("f64", GgufValueType::Float64, f64(2.5e-300))
      .add("empty", GgufValueType::String, str(""))
      .add("u8s", GgufValueType::Array,
           arrayPayload(GgufValueType::UInt8, 3, u8(1) + u8(2) + u8(255)))
      .add("i16s", GgufValueType::Array,
           arrayPayload(GgufValueType::Int16, 2, u16(0x8000) + u16(0x7fff)))
      .add("bools", GgufValueType::Array,
           arrayPayload(GgufValueType::Bool, 2, u8(0) + u8(1)))
      .add("f64s", GgufValueType::Array,
           arrayPayload(GgufValueType::Float64, 2, f64(0.5) + f64(-4)))
      .add("noElements", GgufValueType::Array,
           arrayPayload(GgufValueType::UInt64, 0, ""))
      .addStrings("strings", {"a", "", "long string"})
      .addF32s("f32s", {0.25f, -8.0f})
      .addI32s("i32s", {-1, 0, 7})
      .add("nested", GgufValueType::Array,
           arrayPayload(GgufValueType::Array, 2,
                        arrayPayload(GgufValueType::Int32, 2,
                                     u32(1) + u32(static_cast<uint32_t>(-2))) +
                            arrayPayload(GgufValueType::String, 1, str("x"))));
  return b;
}

TEST(GgufMetadataTest, ReadsEveryValueTypeInVersions2And3) {
  for (uint32_t version : {2u, 3u}) {
    SCOPED_TRACE("version " + std::to_string(version));
    auto file = parseImage(everyValueType(version).build());
    ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
    const GgufFile &f = **file;
    EXPECT_EQ(f.getVersion(), version);
    EXPECT_EQ(f.getMetadata().size(), 23u);
    EXPECT_EQ(f.getMetadata()[0].key, "u8");
    EXPECT_EQ(f.getTensors().size(), 0u);

    EXPECT_EQ(*f.lookup("u8")->getInteger(), 200);
    EXPECT_EQ(*f.lookup("i8")->getInteger(), -128);
    EXPECT_EQ(*f.lookup("u16")->getInteger(), 65535);
    EXPECT_EQ(*f.lookup("i16")->getInteger(), -2);
    EXPECT_EQ(*f.lookup("u32")->getInteger(), 4000000000);
    EXPECT_EQ(*f.lookup("i32")->getInteger(), -7);
    EXPECT_EQ(*f.lookup("i64")->getInteger(), -3);
    // uint64 beyond int64 is no integer, but still a number.
    EXPECT_FALSE(f.lookup("u64")->getInteger());
    EXPECT_EQ(*f.lookup("u64")->getFloat(), 18446744073709551615.0);
    EXPECT_EQ(*f.lookup("f32")->getFloat(), -1.5);
    EXPECT_EQ(*f.lookup("f64")->getFloat(), 2.5e-300);
    EXPECT_EQ(*f.lookup("i32")->getFloat(), -7.0);
    EXPECT_EQ(*f.lookup("bool")->getBool(), true);
    EXPECT_EQ(*f.lookup("false")->getBool(), false);
    EXPECT_EQ(*f.lookup("string")->getString(),
              StringRef("h\xc3\xa9llo\0x", 8));
    EXPECT_EQ(*f.lookup("empty")->getString(), "");
    EXPECT_EQ(f.lookup("u16")->getType(), GgufValueType::UInt16);
    EXPECT_FALSE(f.lookup("string")->getInteger());
    EXPECT_FALSE(f.lookup("bool")->getInteger());
    EXPECT_FALSE(f.lookup("u8")->getString());
    EXPECT_EQ(f.lookup("missing"), nullptr);

    EXPECT_EQ(*f.lookup("u8s")->getIntegerArray(),
              (std::vector<int64_t>{1, 2, 255}));
    EXPECT_EQ(*f.lookup("i16s")->getIntegerArray(),
              (std::vector<int64_t>{-32768, 32767}));
    EXPECT_EQ(f.lookup("bools")->getElementType(), GgufValueType::Bool);
    EXPECT_EQ(*f.lookup("bools")->getArrayElement(1)->getBool(), true);
    EXPECT_FALSE(f.lookup("bools")->getArrayElement(2));
    EXPECT_EQ(*f.lookup("f64s")->getFloatArray(),
              (std::vector<double>{0.5, -4.0}));
    EXPECT_EQ(f.lookup("noElements")->getArraySize(), 0u);
    EXPECT_TRUE(f.lookup("noElements")->getIntegerArray()->empty());
    llvm::ArrayRef<StringRef> strings = *f.lookup("strings")->getStringArray();
    ASSERT_EQ(strings.size(), 3u);
    EXPECT_EQ(strings[1], "");
    EXPECT_EQ(strings[2], "long string");
    EXPECT_EQ(*f.lookup("f32s")->getFloatArray(),
              (std::vector<double>{0.25, -8.0}));
    EXPECT_EQ(*f.lookup("i32s")->getIntegerArray(),
              (std::vector<int64_t>{-1, 0, 7}));
    EXPECT_FALSE(f.lookup("strings")->getIntegerArray());

    llvm::ArrayRef<GgufValue> nested = *f.lookup("nested")->getNestedArrays();
    ASSERT_EQ(nested.size(), 2u);
    EXPECT_EQ(*nested[0].getIntegerArray(), (std::vector<int64_t>{1, -2}));
    EXPECT_EQ((*nested[1].getStringArray())[0], "x");
    EXPECT_EQ(f.lookup("nested")->getArrayElement(1)->getArraySize(), 1u);
  }
}

TEST(GgufMetadataTest, TypedLookupsNameTheKey) {
  auto file = parseImage(everyValueType(3).build());
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  const GgufFile &f = **file;
  EXPECT_EQ(*f.getInteger("u32"), 4000000000);
  EXPECT_EQ(*f.getInteger("missing", 42), 42);
  EXPECT_EQ(*f.getFloat("f32"), -1.5);
  EXPECT_EQ(*f.getFloat("missing", 0.5), 0.5);
  EXPECT_EQ(*f.getBool("bool"), true);
  EXPECT_EQ(*f.getBool("missing", true), true);
  EXPECT_EQ(*f.getString("string", "x"), StringRef("h\xc3\xa9llo\0x", 8));
  EXPECT_EQ(*f.getString("missing", "fallback"), "fallback");
  EXPECT_EQ(f.getStringArray("strings")->size(), 3u);
  EXPECT_EQ(f.getIntegerArray("i32s")->size(), 3u);
  EXPECT_EQ(f.getFloatArray("f32s")->size(), 2u);

  expectMessage(errorText(f.getInteger("missing")),
                {"mem.gguf", "missing metadata 'missing'"});
  expectMessage(errorText(f.getInteger("string")),
                {"mem.gguf", "'string' is string, expected an integer"});
  expectMessage(errorText(f.getInteger("u64")), {"'u64' is uint64"});
  expectMessage(errorText(f.getString("u8", "default")),
                {"'u8' is uint8, expected a string"});
  expectMessage(errorText(f.getBool("u8")), {"expected a bool"});
  expectMessage(errorText(f.getStringArray("f32s")),
                {"'f32s' is array of float32, expected an array of string"});
  expectMessage(errorText(f.getFloat("strings")),
                {"'strings' is array of string, expected a number"});
}

TEST(GgufMetadataTest, RejectsMalformedMetadata) {
  // A value type past float64.
  expectMessage(
      errorText(parseImage(GgufBuilder().addRaw("k", 13, u32(0)).build())),
      {"mem.gguf", "metadata 'k' has unknown value type 13"});
  expectMessage(
      errorText(parseImage(GgufBuilder()
                               .add("k", GgufValueType::Array, u32(99) + u64(0))
                               .build())),
      {"array 'k' has elements of unknown value type 99"});
  // Hostile lengths: a string of 2^63 bytes, an array of 2^62 elements.
  expectMessage(errorText(parseImage(
                    GgufBuilder()
                        .add("k", GgufValueType::String, u64(1ull << 63) + "ab")
                        .build())),
                {"truncated metadata", "the string value of 'k' needs "
                                       "9223372036854775808 bytes"});
  expectMessage(
      errorText(parseImage(
          GgufBuilder()
              .add("k", GgufValueType::Array,
                   u32(typeNumber(GgufValueType::String)) + u64(1ull << 62))
              .build())),
      {"truncated metadata", "array 'k' claims 4611686018427387904 elements"});
  // A key whose length runs past the end.
  std::string image = GgufBuilder().addU32("key", 1).build();
  image.replace(24, 8, u64(~0ull));
  expectMessage(errorText(parseImage(image)),
                {"truncated metadata", "key of metadata entry 0"});
  // Arrays of arrays nested without end.
  std::string deep;
  for (int i = 0; i < 100; ++i)
    deep += u32(typeNumber(GgufValueType::Array)) + u64(1);
  deep += u32(typeNumber(GgufValueType::UInt8)) + u64(0);
  expectMessage(
      errorText(parseImage(
          GgufBuilder().add("deep", GgufValueType::Array, deep).build())),
      {"'deep' nests arrays more than 8 deep"});
  // The same key twice.
  expectMessage(errorText(parseImage(
                    GgufBuilder().addU32("k", 1).addU32("k", 2).build())),
                {"metadata key 'k' appears twice"});
}

//===----------------------------------------------------------------------===//
// Header, tensor table and alignment
//===----------------------------------------------------------------------===//

TEST(GgufHeaderTest, RejectsBadMagicAndVersions) {
  std::string image = GgufBuilder().build();
  std::string badMagic = image;
  badMagic[3] = 'X';
  expectMessage(errorText(parseImage(badMagic)),
                {"mem.gguf", "not a GGUF file", "47475558"});
  expectMessage(errorText(parseImage("GG")),
                {"truncated header", "the magic needs 4 bytes"});
  for (uint32_t version : {0u, 1u, 4u}) {
    expectMessage(errorText(parseImage(GgufBuilder(version).build())),
                  {"unsupported GGUF version", "versions 2 and 3"});
  }
  expectMessage(errorText(parseImage(image.substr(0, 10))),
                {"truncated header", "tensor count"});
  // Counts the file cannot hold.
  std::string manyTensors = image;
  manyTensors.replace(8, 8, u64(1ull << 62));
  expectMessage(errorText(parseImage(manyTensors)),
                {"truncated tensor table", "announces 4611686018427387904"});
  std::string manyEntries = image;
  manyEntries.replace(16, 8, u64(~0ull));
  expectMessage(errorText(parseImage(manyEntries)),
                {"truncated metadata", "announces 18446744073709551615"});
}

TEST(GgufHeaderTest, TensorTable) {
  GgufBuilder b;
  b.addTensor("matrix", {3, 2}, GgmlType::F32, f32Data(6, [](int64_t i) {
                return static_cast<float>(i) - 2.5f;
              }));
  b.addTensor("vector", {32}, GgmlType::Q8_0,
              u16(kHalfOne) + std::string(32, '\x02'));
  auto file = parseImage(b.build());
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  ASSERT_EQ((*file)->getTensors().size(), 2u);
  const GgufTensorInfo *matrix = (*file)->findTensor("matrix");
  ASSERT_NE(matrix, nullptr);
  EXPECT_EQ(matrix->getType(), GgmlType::F32);
  EXPECT_EQ(matrix->dims, (llvm::SmallVector<int64_t, 4>{3, 2}));
  EXPECT_EQ(matrix->getShape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(matrix->numElements, 6u);
  EXPECT_EQ(matrix->numBytes, 24u);
  EXPECT_EQ(matrix->offset, 0u);
  EXPECT_EQ((*file)->findTensor("vector")->offset, 32u);
  EXPECT_EQ((*file)->findTensor("vector")->numBytes, 34u);
  EXPECT_EQ((*file)->findTensor("other"), nullptr);
  // Row-major [2, 3]: element (1, 0) is the fourth stored value.
  llvm::Expected<FloatTensor> values = (*file)->dequantize("matrix");
  ASSERT_TRUE(bool(values)) << llvm::toString(values.takeError());
  EXPECT_EQ(values->shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(values->data[1 * 3 + 0], 0.5f);
  llvm::Expected<FloatTensor> vector = (*file)->dequantize("vector");
  ASSERT_TRUE(bool(vector)) << llvm::toString(vector.takeError());
  EXPECT_EQ(vector->data, std::vector<float>(32, 2.0f));
  expectMessage(errorText((*file)->dequantize("other")),
                {"mem.gguf", "missing tensor 'other'"});
}

TEST(GgufHeaderTest, RejectsBadTensorEntries) {
  auto withTensor = [](std::vector<uint64_t> dims, uint32_t type,
                       std::string data, std::optional<uint64_t> offset = {}) {
    return errorText(parseImage(
        GgufBuilder().addTensor("t", dims, type, data, offset).build()));
  };
  std::string four = f32Data(4, [](int64_t) { return 1.0f; });
  uint32_t f32Type = typeNumber(GgmlType::F32);
  expectMessage(withTensor({4}, 77, four),
                {"mem.gguf", "tensor 't' has unknown ggml type 77"});
  expectMessage(
      withTensor({1ull << 32, 1ull << 32}, f32Type, four),
      {"tensor 't' has dims 4294967296x4294967296", "overflows 64 bits"});
  expectMessage(withTensor({~0ull}, f32Type, four),
                {"tensor 't' has dimension 0 of 18446744073709551615"});
  expectMessage(withTensor({1, 1, 1, 1, 4}, f32Type, four),
                {"tensor 't' has 5 dimensions; GGUF allows 1 to 4"});
  expectMessage(withTensor({}, f32Type, four), {"tensor 't' has 0 dimensions"});
  expectMessage(
      withTensor({16, 2}, typeNumber(GgmlType::Q4_0), std::string(36, '\0')),
      {"rows of 16 values, not a whole number of Q4_0 blocks"});
  expectMessage(withTensor({4}, f32Type, four, 1ull << 62),
                {"tensor 't' data out of bounds", "4611686018427387904"});
  expectMessage(withTensor({4}, f32Type, four, 16),
                {"tensor 't' has data offset 16, not a multiple of the "
                 "alignment 32"});
  expectMessage(withTensor({8}, f32Type, four),
                {"tensor 't' data out of bounds", "32 bytes"});
  std::string twice = GgufBuilder()
                          .addTensor("t", {4}, GgmlType::F32, four)
                          .addTensor("t", {4}, GgmlType::F32, four)
                          .build();
  expectMessage(errorText(parseImage(twice)), {"tensor 't' appears twice"});
}

TEST(GgufHeaderTest, UndequantizableTypeNamesTheTensor) {
  // IQ2_XXS opens (its block size is known) but does not convert.
  auto file = parseImage(GgufBuilder()
                             .addTensor("blk.0.attn_q.weight", {256},
                                        GgmlType::IQ2_XXS, std::string(66, 'x'))
                             .build());
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  expectMessage(errorText((*file)->dequantize("blk.0.attn_q.weight")),
                {"mem.gguf", "tensor 'blk.0.attn_q.weight'", "IQ2_XXS (16)",
                 "cannot dequantize"});
}

TEST_F(GgufFileTest, Alignment) {
  auto ramp = [](float base) {
    return f32Data(5, [base](int64_t i) { return base + i; });
  };
  // Default alignment 32: the data starts on a multiple of 32 and the second
  // tensor (20 bytes after the first) at offset 32.
  {
    std::string path =
        write("default.gguf", GgufBuilder()
                                  .addString("general.name", "odd length name")
                                  .addTensor("a", {5}, GgmlType::F32, ramp(0))
                                  .addTensor("b", {5}, GgmlType::F32, ramp(10))
                                  .build());
    auto file = GgufFile::open(path);
    ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
    EXPECT_EQ((*file)->getAlignment(), 32u);
    EXPECT_EQ((*file)->getDataOffset() % 32, 0u);
    EXPECT_EQ((*file)->findTensor("b")->offset, 32u);
    EXPECT_EQ((*file)->dequantize("b")->data[4], 14.0f);
  }
  // general.alignment 64.
  {
    std::string path = write("aligned64.gguf",
                             GgufBuilder()
                                 .setAlignment(64)
                                 .addTensor("a", {5}, GgmlType::F32, ramp(0))
                                 .addTensor("b", {5}, GgmlType::F32, ramp(10))
                                 .build());
    auto file = GgufFile::open(path);
    ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
    EXPECT_EQ((*file)->getAlignment(), 64u);
    EXPECT_EQ((*file)->getDataOffset() % 64, 0u);
    EXPECT_EQ((*file)->findTensor("b")->offset, 64u);
    EXPECT_EQ((*file)->dequantize("a")->data[0], 0.0f);
    EXPECT_EQ((*file)->dequantize("b")->data[4], 14.0f);
  }
  // Offsets aligned to 32 only are misaligned under 64.
  expectMessage(
      errorText(parseImage(
          GgufBuilder()
              .setAlignment(64)
              .addTensor("a", {5}, typeNumber(GgmlType::F32), ramp(0), 32)
              .build())),
      {"tensor 'a' has data offset 32, not a multiple of the "
       "alignment 64"});
  expectMessage(errorText(parseImage(
                    GgufBuilder().addU32("general.alignment", 48).build())),
                {"general.alignment 48 is not a power of two"});
  expectMessage(errorText(parseImage(
                    GgufBuilder().addU32("general.alignment", 0).build())),
                {"general.alignment 0 is not a power of two"});
  expectMessage(
      errorText(parseImage(
          GgufBuilder().addString("general.alignment", "32").build())),
      {"general.alignment is a string, expected an integer"});
  expectMessage(errorText(GgufFile::open((dir + "/absent.gguf").str())),
                {"absent.gguf: cannot open"});
}

//===----------------------------------------------------------------------===//
// A tiny Llama
//===----------------------------------------------------------------------===//

namespace {
// dim 8, 2 heads of 4, 1 KV head (KV dim 4), hidden 32, 2 layers, vocab 10.
constexpr int64_t kDim = 8, kHidden = 32, kKvDim = 4, kVocab = 10;

/// Value k of float tensor number `id`: exact in f16 and bf16 for ids < 32.
float tinyValue(int id, int64_t k) {
  return static_cast<float>(id) + static_cast<float>(k % 16) * 0.125f - 1.0f;
}

std::string halfData(int id, int64_t count) {
  std::string out;
  for (int64_t k = 0; k < count; ++k) {
    float v = tinyValue(id, k);
    // Exact: a multiple of 1/8 below 32 has at most 9 significant bits.
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    uint32_t exponent = (bits >> 23) & 0xff, mantissa = bits & 0x7fffff;
    uint16_t half = 0;
    if (v != 0.0f)
      half = static_cast<uint16_t>(((bits >> 16) & 0x8000) |
                                   ((exponent - 112) << 10) | (mantissa >> 13));
    out += u16(half);
  }
  return out;
}

std::string bf16Data(int id, int64_t count) {
  std::string out;
  for (int64_t k = 0; k < count; ++k) {
    float v = tinyValue(id, k);
    uint32_t bits;
    std::memcpy(&bits, &v, 4);
    out += u16(static_cast<uint16_t>(bits >> 16));
  }
  return out;
}

/// Q8_0 rows of one block each: row r holds (j - 16 + r) * 0.5.
std::string q8Rows(int64_t rows) {
  std::string out;
  for (int64_t r = 0; r < rows; ++r) {
    out += u16(kHalfHalf);
    for (int j = 0; j < 32; ++j)
      out += u8(static_cast<uint8_t>(static_cast<int8_t>(j - 16 + r)));
  }
  return out;
}

/// The tensor number of each float tensor, for tinyValue().
int tinyId(StringRef name) {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n = {"token_embd.weight", "output_norm.weight",
                                  "output.weight"};
    for (int i = 0; i < 2; ++i)
      for (const char *s : {"attn_norm", "attn_q", "attn_k", "attn_v",
                            "attn_output", "ffn_norm", "ffn_gate", "ffn_up"})
        n.push_back("blk." + std::to_string(i) + "." + s + ".weight");
    return n;
  }();
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == name)
      return static_cast<int>(i);
  ADD_FAILURE() << "no id for " << name.str();
  return 0;
}

GgufBuilder tinyLlama(bool tied, uint32_t version = 3) {
  GgufBuilder b(version);
  b.addString("general.architecture", "llama")
      .addString("general.name", "tiny")
      .addU32("llama.embedding_length", kDim)
      .addU32("llama.feed_forward_length", kHidden)
      .addU32("llama.block_count", 2)
      .addU32("llama.attention.head_count", 2)
      .addU32("llama.attention.head_count_kv", 1)
      .addU32("llama.context_length", 64)
      .addF32("llama.attention.layer_norm_rms_epsilon", 1e-6f)
      .addF32("llama.rope.freq_base", 500000.0f)
      .addU32("llama.rope.dimension_count", 4)
      .addU32("llama.vocab_size", kVocab);
  auto floats = [&](const std::string &name, std::vector<uint64_t> dims) {
    int64_t count = 1;
    for (uint64_t d : dims)
      count *= d;
    int id = tinyId(name);
    b.addTensor(name, dims, GgmlType::F32,
                f32Data(count, [id](int64_t k) { return tinyValue(id, k); }));
  };
  floats("token_embd.weight", {kDim, kVocab});
  for (int i = 0; i < 2; ++i) {
    std::string p = "blk." + std::to_string(i) + ".";
    floats(p + "attn_norm.weight", {kDim});
    b.addTensor(p + "attn_q.weight", {kDim, kDim}, GgmlType::F16,
                halfData(tinyId(p + "attn_q.weight"), kDim * kDim));
    floats(p + "attn_k.weight", {kDim, kKvDim});
    b.addTensor(p + "attn_v.weight", {kDim, kKvDim}, GgmlType::BF16,
                bf16Data(tinyId(p + "attn_v.weight"), kDim * kKvDim));
    floats(p + "attn_output.weight", {kDim, kDim});
    floats(p + "ffn_norm.weight", {kDim});
    floats(p + "ffn_gate.weight", {kDim, kHidden});
    floats(p + "ffn_up.weight", {kDim, kHidden});
    b.addTensor(p + "ffn_down.weight", {kHidden, kDim}, GgmlType::Q8_0,
                q8Rows(kDim));
  }
  floats("output_norm.weight", {kDim});
  if (!tied)
    floats("output.weight", {kDim, kVocab});
  return b;
}

void addTinyTokenizer(GgufBuilder &b) {
  b.addString("tokenizer.ggml.model", "gpt2")
      .addString("tokenizer.ggml.pre", "smollm")
      .addStrings("tokenizer.ggml.tokens",
                  {"<|endoftext|>", "a", "b", "c", "ab", "\xc4\xa0",
                   "\xc4\xa0"
                   "a",
                   "abc", "<s>", "</s>"})
      .addI32s("tokenizer.ggml.token_type", {3, 1, 1, 1, 1, 1, 1, 1, 3, 3})
      .addStrings("tokenizer.ggml.merges", {"a b", "\xc4\xa0 a", "ab c"})
      .addU32("tokenizer.ggml.bos_token_id", 8)
      .addU32("tokenizer.ggml.eos_token_id", 9)
      .addU32("tokenizer.ggml.unknown_token_id", 0)
      .addBool("tokenizer.ggml.add_bos_token", false);
}

void expectTinyValues(const LlamaCheckpoint &model, bool tied) {
  const LlamaConfig &c = model.config;
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.name, "tiny");
  EXPECT_EQ(c.dim, kDim);
  EXPECT_EQ(c.hiddenDim, kHidden);
  EXPECT_EQ(c.numLayers, 2);
  EXPECT_EQ(c.numHeads, 2);
  EXPECT_EQ(c.numKvHeads, 1);
  EXPECT_EQ(c.vocabSize, kVocab);
  EXPECT_EQ(c.maxSeqLen, 64);
  EXPECT_EQ(c.normEps, 1e-6f);
  EXPECT_EQ(c.ropeTheta, 500000.0f);
  EXPECT_EQ(c.tiedEmbeddings, tied);
  ASSERT_EQ(model.layers.size(), 2u);

  // GGUF dims [in, out] are row-major [out, in]: element (r, c) is stored
  // value r * in + c.
  auto at = [](const FloatTensor &t, int64_t r, int64_t col) {
    return t.data[r * t.shape[1] + col];
  };
  EXPECT_EQ(model.tokenEmbedding.shape, (std::vector<int64_t>{kVocab, kDim}));
  EXPECT_EQ(at(model.tokenEmbedding, 9, 7),
            tinyValue(tinyId("token_embd.weight"), 9 * kDim + 7));
  const LlamaLayer &l1 = model.layers[1];
  EXPECT_EQ(l1.wk.shape, (std::vector<int64_t>{kKvDim, kDim}));
  EXPECT_EQ(at(l1.wk, 3, 5), tinyValue(tinyId("blk.1.attn_k.weight"), 29));
  EXPECT_EQ(l1.wq.shape, (std::vector<int64_t>{kDim, kDim}));
  EXPECT_EQ(at(l1.wq, 6, 2), tinyValue(tinyId("blk.1.attn_q.weight"), 50));
  EXPECT_EQ(at(model.layers[0].wv, 1, 1),
            tinyValue(tinyId("blk.0.attn_v.weight"), 9));
  EXPECT_EQ(l1.wGate.shape, (std::vector<int64_t>{kHidden, kDim}));
  EXPECT_EQ(at(l1.wUp, 31, 0), tinyValue(tinyId("blk.1.ffn_up.weight"), 248));
  EXPECT_EQ(l1.wDown.shape, (std::vector<int64_t>{kDim, kHidden}));
  EXPECT_EQ(at(l1.wDown, 7, 31), 11.0f); // (31 - 16 + 7) * 0.5
  EXPECT_EQ(at(l1.wDown, 0, 0), -8.0f);  // (0 - 16) * 0.5
  EXPECT_EQ(l1.ffnNorm.data[7], tinyValue(tinyId("blk.1.ffn_norm.weight"), 7));
  EXPECT_EQ(model.finalNorm.data[2],
            tinyValue(tinyId("output_norm.weight"), 2));
  if (tied) {
    EXPECT_TRUE(model.output.shape.empty());
    EXPECT_EQ(&model.getOutput(), &model.tokenEmbedding);
  } else {
    EXPECT_EQ(model.output.shape, (std::vector<int64_t>{kVocab, kDim}));
    EXPECT_EQ(at(model.output, 4, 3),
              tinyValue(tinyId("output.weight"), 4 * kDim + 3));
  }
}
} // namespace

TEST_F(GgufFileTest, ReadsTinyLlamaTiedAndUntied) {
  for (bool tied : {true, false})
    for (uint32_t version : {2u, 3u}) {
      SCOPED_TRACE((tied ? "tied, version " : "untied, version ") +
                   std::to_string(version));
      std::string path = write("tiny.gguf", tinyLlama(tied, version).build());
      llvm::Expected<LlamaCheckpoint> model = readGguf(path);
      ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
      expectTinyValues(*model, tied);
      EXPECT_EQ(model->tokenizer, nullptr);
      // readCheckpoint tells GGUF by its magic.
      llvm::Expected<LlamaCheckpoint> sniffed = readCheckpoint(path);
      ASSERT_TRUE(bool(sniffed)) << llvm::toString(sniffed.takeError());
      EXPECT_EQ(sniffed->config.tiedEmbeddings, tied);
    }
}

TEST(GgufLlamaTest, ConfigDefaultsAndVocabularySources) {
  GgufBuilder b = tinyLlama(true);
  b.removeKey("llama.attention.head_count_kv");
  b.removeKey("llama.rope.freq_base");
  b.removeKey("llama.vocab_size");
  b.removeKey("general.name");
  auto file = parseImage(b.build());
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  llvm::Expected<LlamaConfig> config = (*file)->readLlamaConfig();
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->numKvHeads, 2);       // head_count
  EXPECT_EQ(config->ropeTheta, 10000.0f); // the default
  EXPECT_EQ(config->vocabSize, kVocab);   // from token_embd
  EXPECT_EQ(config->name, "mem.gguf");

  // The token list wins over llama.vocab_size.
  GgufBuilder withTokens = tinyLlama(true);
  addTinyTokenizer(withTokens);
  withTokens.removeKey("llama.vocab_size");
  withTokens.addU32("llama.vocab_size", 99);
  auto tokenFile = parseImage(withTokens.build());
  ASSERT_TRUE(bool(tokenFile)) << llvm::toString(tokenFile.takeError());
  EXPECT_EQ((*tokenFile)->readLlamaConfig()->vocabSize, kVocab);
}

TEST(GgufLlamaTest, TokenizerMetadata) {
  GgufBuilder b = tinyLlama(true);
  addTinyTokenizer(b);
  auto file = parseImage(b.build());
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  llvm::Expected<std::optional<GgufTokenizerData>> data =
      (*file)->readTokenizerData();
  ASSERT_TRUE(bool(data)) << llvm::toString(data.takeError());
  ASSERT_TRUE(data->has_value());
  const GgufTokenizerData &t = **data;
  EXPECT_EQ(t.model, "gpt2");
  EXPECT_EQ(t.preTokenizer, "smollm");
  ASSERT_EQ(t.tokens.size(), 10u);
  EXPECT_EQ(t.tokens[6], "\xc4\xa0"
                         "a");
  EXPECT_EQ(t.scores, std::vector<float>(10, 0.0f)); // none stored
  ASSERT_EQ(t.kinds.size(), 10u);
  EXPECT_EQ(t.kinds[0], TokenKind::control);
  EXPECT_EQ(t.kinds[1], TokenKind::normal);
  EXPECT_EQ(t.merges, (std::vector<std::string>{"a b", "\xc4\xa0 a", "ab c"}));
  EXPECT_EQ(t.special.bos, 8);
  EXPECT_EQ(t.special.eos, 9);
  EXPECT_EQ(t.special.unknown, 0);
  EXPECT_EQ(t.special.padding, -1);
  EXPECT_FALSE(t.special.addBos);

  // SentencePiece metadata: scores kept, BOS added by default.
  GgufBuilder spm = tinyLlama(true);
  spm.addString("tokenizer.ggml.model", "llama")
      .addStrings("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>",
                                            "\xe2\x96\x81"
                                            "a"})
      .addF32s("tokenizer.ggml.scores", {0.0f, 0.0f, 0.0f, -1.5f})
      .addI32s("tokenizer.ggml.token_type", {2, 3, 3, 0})
      .addU32("tokenizer.ggml.bos_token_id", 1);
  auto spmFile = parseImage(spm.build());
  ASSERT_TRUE(bool(spmFile)) << llvm::toString(spmFile.takeError());
  auto spmData = (*spmFile)->readTokenizerData();
  ASSERT_TRUE(bool(spmData)) << llvm::toString(spmData.takeError());
  EXPECT_EQ((*spmData)->scores[3], -1.5f);
  EXPECT_EQ((*spmData)->kinds[0], TokenKind::unknown);
  EXPECT_EQ((*spmData)->kinds[3], TokenKind::normal); // 0: undefined
  EXPECT_EQ((*spmData)->preTokenizer, "default");
  EXPECT_TRUE((*spmData)->special.addBos);
  EXPECT_EQ((*spmData)->special.bos, 1);

  // No tokenizer at all.
  auto bare = parseImage(tinyLlama(true).build());
  ASSERT_TRUE(bool(bare));
  auto none = (*bare)->readTokenizerData();
  ASSERT_TRUE(bool(none));
  EXPECT_FALSE(none->has_value());
}

TEST(GgufLlamaTest, RejectsBadTokenizerMetadata) {
  auto tokenizerError = [](std::function<void(GgufBuilder &)> edit) {
    GgufBuilder b = tinyLlama(true);
    addTinyTokenizer(b);
    edit(b);
    auto file = parseImage(b.build());
    if (!file)
      return llvm::toString(file.takeError());
    return errorText((*file)->readTokenizerData());
  };
  expectMessage(tokenizerError([](GgufBuilder &b) {
                  b.removeKey("tokenizer.ggml.token_type");
                  b.addI32s("tokenizer.ggml.token_type", {1, 1});
                }),
                {"tokenizer.ggml.token_type has 2 entries for 10 tokens"});
  expectMessage(
      tokenizerError([](GgufBuilder &b) {
        b.removeKey("tokenizer.ggml.token_type");
        b.addI32s("tokenizer.ggml.token_type", {1, 1, 1, 1, 1, 1, 1, 9, 1, 1});
      }),
      {"tokenizer.ggml.token_type[7] is 9, not a token type"});
  expectMessage(tokenizerError([](GgufBuilder &b) {
                  b.addF32s("tokenizer.ggml.scores", {1.0f});
                }),
                {"tokenizer.ggml.scores has 1 entries for 10 tokens"});
  expectMessage(tokenizerError([](GgufBuilder &b) {
                  b.removeKey("tokenizer.ggml.tokens");
                }),
                {"missing metadata 'tokenizer.ggml.tokens'"});
  expectMessage(tokenizerError([](GgufBuilder &b) {
                  b.removeKey("tokenizer.ggml.bos_token_id");
                  b.add("tokenizer.ggml.bos_token_id", GgufValueType::Int64,
                        u64(static_cast<uint64_t>(-5)));
                }),
                {"tokenizer.ggml.bos_token_id is -5, not a token id"});
  // An unknown tokenizer model fails in readGguf with the file named.
  GgufBuilder bert = tinyLlama(true);
  addTinyTokenizer(bert);
  bert.removeKey("tokenizer.ggml.model");
  bert.addString("tokenizer.ggml.model", "bert");
  auto file = parseImage(bert.build());
  ASSERT_TRUE(bool(file));
  auto data = (*file)->readTokenizerData();
  ASSERT_TRUE(bool(data));
  expectMessage(errorText(createGgufTokenizer(std::move(**data))),
                {"tokenizer model 'bert' is not supported"});
}

TEST_F(GgufFileTest, ReadGgufBuildsTheTokenizerOrSaysWhyNot) {
  // The tokenizer factories are Tokenizer's; whatever they say, readGguf
  // either hands over a tokenizer of the file's vocabulary or fails with
  // an error about the tokenizer, naming the file.
  GgufBuilder b = tinyLlama(false);
  addTinyTokenizer(b);
  std::string path = write("tokenized.gguf", b.build());
  llvm::Expected<LlamaCheckpoint> model = readGguf(path);
  if (model) {
    expectTinyValues(*model, false);
    ASSERT_NE(model->tokenizer, nullptr);
    EXPECT_EQ(model->tokenizer->getVocabSize(), kVocab);
    EXPECT_EQ(model->tokenizer->getBos(), 8);
  } else {
    std::string message = llvm::toString(model.takeError());
    std::cout << "[ note     ] no tokenizer: " << message << "\n";
    expectMessage(message, {"tokenized.gguf: tokenizer: "});
  }
}

//===----------------------------------------------------------------------===//
// Damaged Llama files
//===----------------------------------------------------------------------===//

TEST_F(GgufFileTest, TruncationAtEachSection) {
  Layout layout;
  std::string image = tinyLlama(false).build(&layout);
  struct Cut {
    size_t at;
    const char *expected;
  } cuts[] = {
      {0, "truncated header"},
      {3, "truncated header"},
      {12, "truncated header"},
      {layout.headerEnd + 5, "truncated metadata"},
      {layout.metadataEnd - 2, "truncated metadata"},
      {layout.metadataEnd + 9, "truncated tensor table"},
      {layout.tableEnd - 1, "truncated tensor table"},
      {layout.dataStart, "data out of bounds (truncated or corrupt file)"},
      {layout.dataStart + 100,
       "data out of bounds (truncated or corrupt file)"},
      {image.size() - 1, "data out of bounds (truncated or corrupt file)"},
  };
  for (const Cut &cut : cuts) {
    SCOPED_TRACE("cut at " + std::to_string(cut.at));
    std::string path = write("cut.gguf", image.substr(0, cut.at));
    expectMessage(errorText(readGguf(path)), {"cut.gguf: ", cut.expected});
  }
  // Data truncation names the first tensor that no longer fits.
  std::string path = write("cut.gguf", image.substr(0, image.size() - 1));
  expectMessage(errorText(readGguf(path)), {"tensor 'output.weight'"});
}

TEST(GgufDamageTest, EveryPrefixFailsCleanly) {
  std::string image = tinyLlama(false).build();
  for (size_t size = 0; size < image.size(); ++size) {
    std::string message = errorText(parseImage(image.substr(0, size)));
    ASSERT_NE(message.find("truncated"), std::string::npos)
        << "prefix of " << size << " bytes: " << message;
  }
}

TEST(GgufDamageTest, CorruptBytesNeverCrash) {
  // Flip bytes across the header, metadata and tensor table; whatever
  // parses must also survive the Llama mapping and dequantization.
  Layout layout;
  std::string image = tinyLlama(false).build(&layout);
  uint64_t state = 0x9e3779b97f4a7c15ull;
  auto next = [&state] {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  };
  int opened = 0;
  for (int trial = 0; trial < 3000; ++trial) {
    std::string damaged = image;
    int flips = 1 + static_cast<int>(next() % 4);
    for (int i = 0; i < flips; ++i) {
      size_t at = next() % layout.tableEnd;
      damaged[at] = static_cast<char>(next() & 0xff);
    }
    auto file = parseImage(damaged);
    if (!file) {
      std::string message = llvm::toString(file.takeError());
      ASSERT_EQ(message.rfind("mem.gguf: ", 0), 0u) << message;
      continue;
    }
    ++opened;
    for (const GgufTensorInfo &tensor : (*file)->getTensors())
      llvm::consumeError((*file)->dequantize(tensor).takeError());
    llvm::consumeError((*file)->readLlamaConfig().takeError());
    llvm::consumeError((*file)->readTokenizerData().takeError());
  }
  EXPECT_GT(opened, 0);
}

TEST_F(GgufFileTest, RejectsInconsistentLlamaFiles) {
  auto readError = [&](GgufBuilder b) {
    return errorText(readGguf(write("bad.gguf", b.build())));
  };
  {
    GgufBuilder b = tinyLlama(false);
    b.setTensorDims("blk.0.attn_k.weight", {kDim, 3});
    expectMessage(readError(b),
                  {"bad.gguf: ", "tensor 'blk.0.attn_k.weight' has shape 3x8, "
                                 "expected 4x8"});
  }
  {
    GgufBuilder b = tinyLlama(false);
    b.setTensorDims("token_embd.weight", {kDim + 1, kVocab});
    expectMessage(readError(b), {"tensor 'token_embd.weight' has shape 10x9, "
                                 "expected 10x8"});
  }
  {
    GgufBuilder b = tinyLlama(false);
    ASSERT_TRUE(b.removeTensor("blk.1.ffn_up.weight"));
    expectMessage(readError(b),
                  {"bad.gguf: ", "missing tensor 'blk.1.ffn_up.weight'"});
  }
  {
    GgufBuilder b = tinyLlama(false);
    ASSERT_TRUE(b.removeTensor("output_norm.weight"));
    expectMessage(readError(b), {"missing tensor 'output_norm.weight'"});
  }
  {
    GgufBuilder b = tinyLlama(false);
    b.setTensorType("blk.0.ffn_gate.weight", 77);
    expectMessage(readError(b),
                  {"bad.gguf: ", "tensor 'blk.0.ffn_gate.weight' has unknown "
                                 "ggml type 77"});
  }
  {
    // A known type LowBit does not convert; IQ4_NL blocks (32 values in 18
    // bytes) are smaller than the Q8_0 blocks they replace, so the data fits.
    GgufBuilder b = tinyLlama(false);
    b.setTensorType("blk.1.ffn_down.weight", typeNumber(GgmlType::IQ4_NL));
    expectMessage(readError(b), {"tensor 'blk.1.ffn_down.weight' has ggml "
                                 "type IQ4_NL (20)"});
  }
  {
    GgufBuilder b = tinyLlama(false);
    b.removeKey("general.architecture");
    b.addString("general.architecture", "qwen2");
    expectMessage(readError(b), {"bad.gguf: ", "architecture 'qwen2' is not "
                                               "supported"});
  }
  {
    GgufBuilder b = tinyLlama(false);
    b.removeKey("llama.embedding_length");
    expectMessage(readError(b), {"missing metadata 'llama.embedding_length'"});
  }
  {
    GgufBuilder b = tinyLlama(false);
    b.removeKey("llama.attention.head_count");
    b.addU32("llama.attention.head_count", 3);
    expectMessage(readError(b), {"bad hyper-parameters", "dim 8 is not a "
                                                         "multiple of the head "
                                                         "count 3"});
  }
  {
    // More layers than the file holds: an error at the first missing one.
    GgufBuilder b = tinyLlama(false);
    b.removeKey("llama.block_count");
    b.addU32("llama.block_count", 4000000000u);
    expectMessage(readError(b), {"missing tensor 'blk.2.attn_norm.weight'"});
  }
  {
    GgufBuilder b = tinyLlama(false);
    b.removeKey("llama.rope.dimension_count");
    b.addU32("llama.rope.dimension_count", 2);
    expectMessage(readError(b), {"partial RoPE is not supported"});
  }
}

//===----------------------------------------------------------------------===//
// SmolLM2-135M-Instruct, Q4_1
//===----------------------------------------------------------------------===//

static std::unique_ptr<GgufFile> openSmolLM2() {
  if (!llvm::sys::fs::exists(kSmolLM2)) {
    ADD_FAILURE() << kSmolLM2
                  << " is missing; run scripts/fetch-models.sh to fetch it";
    return nullptr;
  }
  auto file = GgufFile::open(kSmolLM2);
  if (!file) {
    ADD_FAILURE() << llvm::toString(file.takeError());
    return nullptr;
  }
  return std::move(*file);
}

TEST(GgufSmolLM2Test, ConfigAndTokenizerMetadata) {
  std::unique_ptr<GgufFile> file = openSmolLM2();
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->getVersion(), 3u);
  EXPECT_EQ(file->getTensors().size(), 272u); // 30 * 9 + 2, tied
  llvm::Expected<LlamaConfig> config = file->readLlamaConfig();
  ASSERT_TRUE(bool(config)) << llvm::toString(config.takeError());
  EXPECT_EQ(config->dim, 576);
  EXPECT_EQ(config->hiddenDim, 1536);
  EXPECT_EQ(config->numLayers, 30);
  EXPECT_EQ(config->numHeads, 9);
  EXPECT_EQ(config->numKvHeads, 3);
  EXPECT_EQ(config->getHeadDim(), 64);
  EXPECT_EQ(config->vocabSize, 49152);
  EXPECT_EQ(config->maxSeqLen, 8192);
  EXPECT_EQ(config->ropeTheta, 100000.0f);
  EXPECT_NEAR(config->normEps, 1e-5f, 1e-9f);
  EXPECT_TRUE(config->tiedEmbeddings);

  auto data = file->readTokenizerData();
  ASSERT_TRUE(bool(data)) << llvm::toString(data.takeError());
  ASSERT_TRUE(data->has_value());
  const GgufTokenizerData &t = **data;
  EXPECT_EQ(t.model, "gpt2");
  EXPECT_EQ(t.preTokenizer, "smollm");
  EXPECT_EQ(t.tokens.size(), 49152u);
  EXPECT_EQ(t.tokens[1], "<|im_start|>");
  EXPECT_EQ(t.merges.size(), 48900u);
  EXPECT_EQ(t.merges[0], "\xc4\xa0 t");
  EXPECT_EQ(t.kinds[0], TokenKind::control);
  EXPECT_EQ(t.special.bos, 1);
  EXPECT_EQ(t.special.eos, 2);
  EXPECT_EQ(t.special.padding, 2);
  EXPECT_FALSE(t.special.addBos);

  EXPECT_EQ(file->findTensor("token_embd.weight")->getType(), GgmlType::Q8_0);
  EXPECT_EQ(file->findTensor("blk.0.attn_q.weight")->getType(), GgmlType::Q4_1);
  EXPECT_EQ(file->findTensor("blk.0.attn_k.weight")->getShape(),
            (std::vector<int64_t>{192, 576}));
}

TEST(GgufSmolLM2Test, DequantizesEverything) {
  std::unique_ptr<GgufFile> file = openSmolLM2();
  ASSERT_NE(file, nullptr);
  // Values decoded independently from the file's bytes.
  struct Known {
    const char *tensor;
    int64_t index;
    float value;
  } known[] = {
      {"token_embd.weight", 0, -0.10654449462890625f},
      {"token_embd.weight", 12345, 0.031005859375f},
      {"token_embd.weight", 49152LL * 576 - 1, -0.0417022705078125f},
      {"blk.0.attn_q.weight", 0, -0.0963134765625f},
      {"blk.0.attn_q.weight", 17, 0.2841796875f},
      {"blk.0.attn_q.weight", 1000, -0.138427734375f},
      {"blk.0.attn_q.weight", 576 * 576 - 1, -0.255859375f},
      {"blk.29.ffn_down.weight", 777777, -0.050750732421875f},
      {"blk.0.attn_norm.weight", 575, -0.038330078125f},
      {"output_norm.weight", 3, 1.6015625f},
  };

  // Checks each tensor as it comes rather than holding the whole model.
  double seconds = 0;
  uint64_t total = 0;
  for (const GgufTensorInfo &info : file->getTensors()) {
    auto start = std::chrono::steady_clock::now();
    llvm::Expected<FloatTensor> values = file->dequantize(info);
    seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count();
    ASSERT_TRUE(bool(values)) << llvm::toString(values.takeError());
    const FloatTensor &t = *values;
    total += t.data.size();
    EXPECT_EQ(t.shape, info.getShape());
    double sumAbs = 0, maxAbs = 0;
    for (float v : t.data) {
      ASSERT_TRUE(std::isfinite(v)) << info.name.str();
      sumAbs += std::fabs(v);
      maxAbs = std::max(maxAbs, static_cast<double>(std::fabs(v)));
    }
    double meanAbs = sumAbs / t.data.size();
    // Weights of a trained small model: neither dead nor exploded.
    EXPECT_GT(meanAbs, 1e-3) << info.name.str();
    EXPECT_LT(meanAbs, 10.0) << info.name.str();
    EXPECT_LT(maxAbs, 100.0) << info.name.str();
    for (const Known &k : known)
      if (info.name == k.tensor)
        EXPECT_NEAR(t.data[k.index], k.value, 1e-6f)
            << k.tensor << "[" << k.index << "]";
  }
  std::cout << "[ timing   ] dequantized " << total << " values of "
            << file->getTensors().size() << " tensors in " << seconds << " s\n";
  RecordProperty("dequantize_seconds", std::to_string(seconds));
  EXPECT_GT(total, 130000000u);
  EXPECT_LT(seconds, 10.0) << "dequantization should take a few seconds";
}

TEST(GgufSmolLM2Test, ReadGguf) {
  if (!llvm::sys::fs::exists(kSmolLM2))
    FAIL() << kSmolLM2 << " is missing; run scripts/fetch-models.sh";
  llvm::Expected<LlamaCheckpoint> model = readGguf(kSmolLM2);
  if (!model) {
    // Only the tokenizer, which is not this reader's, may be what fails.
    std::string message = llvm::toString(model.takeError());
    std::cout << "[ note     ] no tokenizer: " << message << "\n";
    expectMessage(message, {": tokenizer: "});
    return;
  }
  EXPECT_EQ(model->layers.size(), 30u);
  EXPECT_TRUE(model->config.tiedEmbeddings);
  EXPECT_EQ(model->layers[0].wk.shape, (std::vector<int64_t>{192, 576}));
  EXPECT_EQ(model->layers[29].wDown.shape, (std::vector<int64_t>{576, 1536}));
  ASSERT_NE(model->tokenizer, nullptr);
  EXPECT_EQ(model->tokenizer->getVocabSize(), 49152);
}
