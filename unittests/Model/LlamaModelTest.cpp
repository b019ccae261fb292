//===- LlamaModelTest.cpp - The compiled model against the reference -----===//
//
// Imports stories260K, builds its float IR, JIT-compiles it, and checks its
// logits against the naive reference forward for a prompt run as one prefill
// span followed by single-token decode steps (exercising the KV cache in
// place, padding to a larger entry, and position offsets).
//
//===----------------------------------------------------------------------===//

#include "LlamaReference.h"
#include "Stories260K.h"

#include "lowbit/InitAll.h"
#include "lowbit/Model/Calibration.h"
#include "lowbit/Model/LlamaBuilder.h"
#include "lowbit/Model/LlamaSession.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

#include "llvm/Support/FileSystem.h"

#include "gtest/gtest.h"

#include <map>

using namespace mlir;
using namespace mlir::lowbit;

static const std::string kModel =
    std::string(LOWBIT_SHARED_DATA_DIR) + "/stories260K/stories260K.bin";

namespace {
struct Loaded {
  std::unique_ptr<MLIRContext> context;
  OwningOpRef<ModuleOp> module;
  ::lowbit::LlamaCheckpoint reference;
};
} // namespace

static Loaded load(const LlamaBuildOptions &options) {
  Loaded loaded;
  DialectRegistry registry;
  registerLowBitDialects(registry);
  loaded.context = std::make_unique<MLIRContext>(registry);
  auto forIr = ::lowbit::readLlama2c(kModel, "");
  auto forReference = ::lowbit::readLlama2c(kModel, "");
  EXPECT_TRUE(bool(forIr)) << llvm::toString(forIr.takeError());
  EXPECT_TRUE(bool(forReference))
      << llvm::toString(forReference.takeError());
  if (!forIr || !forReference)
    return loaded;
  ::lowbit::testing::repairIfDamagedStories260K(kModel, *forIr);
  ::lowbit::testing::repairIfDamagedStories260K(kModel, *forReference);
  loaded.reference = std::move(*forReference);
  loaded.module = buildLlamaModule(*loaded.context, *forIr, options);
  return loaded;
}

static double maxRelativeDifference(const float *actual,
                                    const std::vector<float> &expected) {
  double maxDiff = 0, maxAbs = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    maxDiff = std::max(maxDiff, double(std::fabs(actual[i] - expected[i])));
    maxAbs = std::max(maxAbs, double(std::fabs(expected[i])));
  }
  return maxDiff / maxAbs;
}

TEST(LlamaModelTest, ModuleVerifies) {
  Loaded loaded = load({/*tokenCounts=*/{1, 4}, /*cacheLength=*/32});
  ASSERT_TRUE(loaded.module);
  EXPECT_TRUE(succeeded(verify(*loaded.module)));
}

TEST(LlamaModelTest, LogitsMatchTheReference) {
  Loaded loaded = load({/*tokenCounts=*/{1, 8}, /*cacheLength=*/64});
  ASSERT_TRUE(loaded.module);
  auto session = LlamaSession::create(*loaded.module);
  ASSERT_TRUE(bool(session)) << llvm::toString(session.takeError());

  // A real sequence: BOS, then token ids of "Once upon a time" style text
  // spread over the vocabulary (never all zeros).
  std::vector<int32_t> prompt{1, 403, 407, 261, 378, 88};
  std::vector<int32_t> continuation{300, 17, 511, 2, 45};
  ::lowbit::testing::LlamaReference reference(loaded.reference);

  // The prompt as one span of 6, padded to the 8-token entry.
  auto logits = (*session)->forward(prompt);
  ASSERT_TRUE(bool(logits)) << llvm::toString(logits.takeError());
  int64_t vocab = (*session)->getVocabSize();
  for (size_t t = 0; t < prompt.size(); ++t) {
    std::vector<float> expected = reference.step(prompt[t], t);
    EXPECT_LT(maxRelativeDifference(logits->getDataAs<float>() + t * vocab,
                                    expected),
              1e-4)
        << "prefill token " << t;
  }
  // Then one token at a time through the 1-token entry.
  for (size_t i = 0; i < continuation.size(); ++i) {
    int64_t position = prompt.size() + i;
    auto step = (*session)->forward({continuation[i]});
    ASSERT_TRUE(bool(step)) << llvm::toString(step.takeError());
    std::vector<float> expected = reference.step(continuation[i], position);
    EXPECT_LT(maxRelativeDifference(step->getDataAs<float>(), expected), 1e-4)
        << "decode position " << position;
  }
  EXPECT_EQ((*session)->getPosition(), 11);
}

TEST(LlamaModelTest, RejectsContextOverflowAndBadTokens) {
  Loaded loaded = load({/*tokenCounts=*/{1, 4}, /*cacheLength=*/8});
  ASSERT_TRUE(loaded.module);
  auto session = LlamaSession::create(*loaded.module);
  ASSERT_TRUE(bool(session)) << llvm::toString(session.takeError());
  auto bad = (*session)->forward({1, 512});
  ASSERT_FALSE(bool(bad));
  EXPECT_EQ(llvm::toString(bad.takeError()),
            "token id 512 is outside the vocabulary of 512");
  ASSERT_TRUE(bool((*session)->forward({1, 2, 3, 4, 5, 6, 7})));
  auto overflow = (*session)->forward({1, 2});
  ASSERT_FALSE(bool(overflow));
  EXPECT_EQ(llvm::toString(overflow.takeError()),
            "context overflow: 9 tokens, the cache holds 8");
}

TEST(LlamaModelTest, CalibrationStatisticsMatchADirectComputation) {
  constexpr int64_t kContext = 12;
  Loaded loaded = load({/*tokenCounts=*/{kContext}, /*cacheLength=*/kContext});
  ASSERT_TRUE(loaded.module);
  llvm::StringMap<std::string> observerOfLayer =
      instrumentLinearInputs(*loaded.module);
  // 5 layers x 7 linears + the classifier; q/k/v and gate/up share inputs.
  EXPECT_EQ(observerOfLayer.size(), 36u);
  EXPECT_EQ(observerOfLayer.lookup("blk.2.attn_v"), "blk.2.attn_q");
  EXPECT_EQ(observerOfLayer.lookup("blk.2.ffn_up"), "blk.2.ffn_gate");

  auto session = LlamaSession::create(*loaded.module);
  ASSERT_TRUE(bool(session)) << llvm::toString(session.takeError());
  auto &registry = (*session)->getJit().getObservers();
  ::lowbit::runtime::setActiveObserverRegistry(&registry);

  // The direct computation: every input row each layer sees in the naive
  // reference, over the same two sequences.
  std::map<std::string, std::vector<std::vector<float>>> rows;
  std::vector<std::vector<int32_t>> sequences{
      {1, 403, 407, 261, 378, 88, 300, 17, 511, 2, 45, 9},
      {1, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160}};
  for (const auto &sequence : sequences) {
    (*session)->reset();
    ASSERT_TRUE(bool((*session)->forward(sequence)));
    ::lowbit::testing::LlamaReference reference(loaded.reference);
    reference.onLinearInput = [&](const std::string &name,
                                  const std::vector<float> &input) {
      rows[name].push_back(input);
    };
    for (size_t t = 0; t < sequence.size(); ++t)
      reference.step(sequence[t], t);
  }
  ::lowbit::runtime::setActiveObserverRegistry(nullptr);

  llvm::SmallString<128> path;
  ASSERT_FALSE(llvm::sys::fs::createTemporaryFile("stats", "mlirbc", path));
  CalibrationInfo info{"stories260K", "tokens", 2, kContext};
  ASSERT_FALSE(bool(writeCalibrationStats(*loaded.context, path,
                                          observerOfLayer, registry, info)));
  auto stats = readCalibrationStats(*loaded.context, path);
  llvm::sys::fs::remove(path);
  ASSERT_TRUE(bool(stats)) << llvm::toString(stats.takeError());
  EXPECT_EQ(stats->size(), 36u);

  for (const auto &[name, inputs] : rows) {
    SCOPED_TRACE(name);
    ASSERT_TRUE(stats->count(name));
    const LayerStatistics &layer = stats->find(name)->second;
    int64_t channels = inputs.front().size();
    ASSERT_EQ(layer.getChannels(), channels);
    EXPECT_EQ(layer.rows, int64_t(inputs.size()));
    double worstAbs = 0, worstMean = 0, worstGram = 0, scale = 0;
    for (int64_t i = 0; i < channels; ++i) {
      double absMax = 0, absSum = 0;
      for (const auto &row : inputs) {
        absMax = std::max(absMax, double(std::fabs(row[i])));
        absSum += std::fabs(row[i]);
      }
      scale = std::max(scale, absMax);
      worstAbs = std::max(worstAbs, std::fabs(absMax - layer.absMax[i]));
      worstMean = std::max(worstMean, std::fabs(absSum / inputs.size() -
                                                layer.meanAbs[i]));
      for (int64_t j = 0; j < channels; ++j) {
        double gram = 0;
        for (const auto &row : inputs)
          gram += double(row[i]) * row[j];
        worstGram =
            std::max(worstGram, std::fabs(gram - layer.gram[i * channels + j]));
      }
    }
    EXPECT_LT(worstAbs, 1e-4 * scale);
    EXPECT_LT(worstMean, 1e-4 * scale);
    EXPECT_LT(worstGram, 1e-4 * scale * scale * inputs.size());
  }
}

TEST(LlamaModelTest, GreedyContinuationMatchesTheReference) {
  Loaded loaded = load({/*tokenCounts=*/{1, 32}, /*cacheLength=*/64});
  ASSERT_TRUE(loaded.module);
  auto session = LlamaSession::create(*loaded.module);
  ASSERT_TRUE(bool(session)) << llvm::toString(session.takeError());
  ::lowbit::testing::LlamaReference reference(loaded.reference);
  int64_t vocab = (*session)->getVocabSize();
  std::vector<int32_t> compiled{1}, expected{1};
  auto logits = (*session)->forward({1});
  ASSERT_TRUE(bool(logits));
  for (int i = 0; i < 20; ++i) {
    const float *row = logits->getDataAs<float>();
    compiled.push_back(int32_t(std::max_element(row, row + vocab) - row));
    std::vector<float> ref = reference.step(expected.back(), i);
    expected.push_back(
        int32_t(std::max_element(ref.begin(), ref.end()) - ref.begin()));
    logits = (*session)->forward({compiled.back()});
    ASSERT_TRUE(bool(logits));
  }
  EXPECT_EQ(compiled, expected);
}

// The whole path on real weights and the real tokenizer: the repaired
// stories260K continues its training distribution's stock opening.
TEST(LlamaModelTest, GreedyContinuationTellsAStory) {
  Loaded loaded = load({/*tokenCounts=*/{1, 32}, /*cacheLength=*/64});
  ASSERT_TRUE(loaded.module);
  auto tokenizer = ::lowbit::Tokenizer::readLlama2c(
      std::string(LOWBIT_SHARED_DATA_DIR) + "/stories260K/tok512.bin", 512);
  ASSERT_TRUE(bool(tokenizer)) << llvm::toString(tokenizer.takeError());
  auto session = LlamaSession::create(*loaded.module);
  ASSERT_TRUE(bool(session)) << llvm::toString(session.takeError());
  std::vector<int32_t> tokens{(*tokenizer)->getBos()};
  std::vector<int32_t> prompt = (*tokenizer)->encode("Once upon a time");
  tokens.insert(tokens.end(), prompt.begin(), prompt.end());
  auto logits = (*session)->forward(tokens);
  ASSERT_TRUE(bool(logits));
  int64_t vocab = (*session)->getVocabSize();
  const float *row = logits->getDataAs<float>() + (tokens.size() - 1) * vocab;
  for (int i = 0; i < 16; ++i) {
    tokens.push_back(int32_t(std::max_element(row, row + vocab) - row));
    logits = (*session)->forward({tokens.back()});
    ASSERT_TRUE(bool(logits));
    row = logits->getDataAs<float>();
  }
  std::string text = (*tokenizer)->decode(tokens);
  EXPECT_EQ(text.rfind("Once upon a time, there was a little girl named Lily",
                       0),
            0u)
      << text;
}
