//===- NpyTest.cpp - NumPy .npy files -------------------------------------===//

#include "lowbit/Runner/Npy.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include "gtest/gtest.h"

#include <cstring>

using namespace mlir::lowbit;

namespace {

std::string tempPath(const char *name) {
  llvm::SmallString<128> path;
  llvm::sys::path::system_temp_directory(/*ErasedOnReboot=*/true, path);
  llvm::sys::path::append(path, std::string("lowbit-npy-") +
                                    std::to_string(::getpid()) + "-" + name);
  return std::string(path);
}

std::string readAll(const std::string &path) {
  auto buffer = llvm::MemoryBuffer::getFile(path);
  return buffer ? (*buffer)->getBuffer().str() : std::string();
}

TEST(NpyTest, RoundTripsEveryType) {
  for (DType dtype : {DType::f32, DType::f64, DType::f16, DType::i8, DType::u8,
                      DType::i16, DType::i32, DType::i64}) {
    for (auto shape : {std::vector<int64_t>{}, std::vector<int64_t>{7},
                       std::vector<int64_t>{3, 5}, std::vector<int64_t>{2, 1, 4}}) {
      HostTensor tensor(dtype, shape);
      tensor.fillRandom(42);
      std::string path = tempPath("roundtrip.npy");
      ASSERT_FALSE(bool(writeNpy(path, tensor)));
      std::string contents = readAll(path);
      // The data starts on a 64-byte boundary, as the format asks.
      EXPECT_EQ((contents.size() - tensor.getSizeInBytes()) % 64, 0u);
      auto back = readNpy(path);
      ASSERT_TRUE(bool(back)) << llvm::toString(back.takeError());
      EXPECT_EQ(back->getDType(), dtype);
      EXPECT_EQ(back->getShape(), tensor.getShape());
      EXPECT_EQ(std::memcmp(back->getData(), tensor.getData(),
                            tensor.getSizeInBytes()),
                0);
      llvm::sys::fs::remove(path);
    }
  }
}

TEST(NpyTest, RandomDataIsNeverAllZero) {
  for (DType dtype : {DType::f32, DType::f16, DType::bf16, DType::i8,
                      DType::i32, DType::e8m0}) {
    HostTensor tensor(dtype, {64});
    tensor.fillRandom(0);
    int nonzero = 0;
    for (int64_t i = 0; i < 64; ++i)
      nonzero += tensor.getAsDouble(i) != 0.0;
    EXPECT_GT(nonzero, 32) << getDTypeName(dtype).str();
  }
}

std::string header(const std::string &dict) {
  std::string text = "\x93NUMPY\x01";
  text += '\0';
  std::string padded = dict;
  while ((10 + padded.size() + 1) % 64)
    padded += ' ';
  padded += '\n';
  text += char(padded.size() & 0xFF);
  text += char(padded.size() >> 8);
  return text + padded;
}

std::string errorOf(const std::string &contents) {
  auto result = parseNpy(contents, "damaged.npy");
  return result ? std::string() : llvm::toString(result.takeError());
}

TEST(NpyTest, RejectsDamagedFiles) {
  std::string good = header("{'descr': '<f4', 'fortran_order': False, "
                            "'shape': (2, 2), }") +
                     std::string(16, '\1');
  EXPECT_EQ(errorOf(good), "");
  EXPECT_NE(errorOf("PK\x03\x04 not numpy").find("bad magic"),
            std::string::npos);
  EXPECT_NE(errorOf(good.substr(0, 20)).find("truncated header"),
            std::string::npos);
  EXPECT_NE(errorOf(good.substr(0, good.size() - 3)).find("expected 16 bytes"),
            std::string::npos);
  EXPECT_NE(errorOf(header("{'descr': '>f4', 'fortran_order': False, "
                           "'shape': (2,), }") +
                    std::string(8, '\0'))
                .find("unsupported element type '>f4'"),
            std::string::npos);
  EXPECT_NE(errorOf(header("{'descr': '<f4', 'fortran_order': True, "
                           "'shape': (2, 2), }") +
                    std::string(16, '\0'))
                .find("Fortran-ordered"),
            std::string::npos);
  EXPECT_NE(errorOf(header("{'descr': '<f4', 'fortran_order': False, "
                           "'shape': (2, x), }"))
                .find("malformed shape"),
            std::string::npos);
  EXPECT_NE(errorOf(header("{'descr': '<f4', 'shape': (2,), }"))
                .find("lacks"),
            std::string::npos);
  auto missing = readNpy("/nonexistent/dir/file.npy");
  ASSERT_FALSE(bool(missing));
  EXPECT_NE(llvm::toString(missing.takeError()).find("cannot open"),
            std::string::npos);
}

} // namespace
