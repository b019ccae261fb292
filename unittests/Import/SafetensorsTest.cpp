//===- SafetensorsTest.cpp - The Hugging Face safetensors reader ----------===//
//
// Synthetic checkpoints written by a small safetensors writer into temporary
// directories: a two-layer grouped-query Llama in F32, F16 and BF16, tied and
// untied, single-file and sharded; the RoPE row permutation checked against
// attention scores; and damaged files, each of which must be a clean error.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Import/Safetensors.h"

#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>

using namespace lowbit;
namespace json = llvm::json;

namespace {

//===----------------------------------------------------------------------===//
// Writing safetensors
//===----------------------------------------------------------------------===//

struct RawTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};
using RawTensors = std::map<std::string, RawTensor>;

/// Float to IEEE half for values a half holds exactly (the tests use k/32).
uint16_t floatToHalf(float value) {
  uint32_t bits = llvm::bit_cast<uint32_t>(value);
  uint16_t sign = (bits >> 16) & 0x8000u;
  if ((bits & 0x7fffffffu) == 0)
    return sign;
  int32_t exponent = int32_t((bits >> 23) & 0xff) - 127 + 15;
  EXPECT_TRUE(exponent > 0 && exponent < 31 && (bits & 0x1fffu) == 0)
      << value << " is not exact in f16";
  return sign | uint16_t(exponent << 10) | uint16_t((bits >> 13) & 0x3ffu);
}

uint16_t floatToBf16(float value) {
  uint32_t bits = llvm::bit_cast<uint32_t>(value);
  EXPECT_EQ(bits & 0xffffu, 0u) << value << " is not exact in bf16";
  return uint16_t(bits >> 16);
}

RawTensor encode(const FloatTensor &tensor, llvm::StringRef dtype) {
  RawTensor raw{dtype.str(), tensor.shape, ""};
  for (float value : tensor.data) {
    char bytes[4];
    if (dtype == "F32") {
      llvm::support::endian::write32le(bytes, llvm::bit_cast<uint32_t>(value));
      raw.bytes.append(bytes, 4);
    } else {
      llvm::support::endian::write16le(
          bytes, dtype == "F16" ? floatToHalf(value) : floatToBf16(value));
      raw.bytes.append(bytes, 2);
    }
  }
  return raw;
}

std::string toJson(json::Value value) {
  return llvm::formatv("{0}", value).str();
}

/// A .safetensors file: the header padded with spaces to 8 bytes, as the
/// Python writer does. `edit` may damage the header before it is written.
std::string serialize(const RawTensors &tensors,
                      llvm::function_ref<void(json::Object &)> edit = nullptr) {
  json::Object header;
  header["__metadata__"] = json::Object{{"format", "pt"}};
  std::string data;
  for (const auto &[name, tensor] : tensors) {
    json::Array shape;
    for (int64_t extent : tensor.shape)
      shape.push_back(extent);
    header[name] =
        json::Object{{"dtype", tensor.dtype},
                     {"shape", std::move(shape)},
                     {"data_offsets",
                      json::Array{int64_t(data.size()),
                                  int64_t(data.size() + tensor.bytes.size())}}};
    data += tensor.bytes;
  }
  if (edit)
    edit(header);
  std::string text = toJson(std::move(header));
  text.append((8 - text.size() % 8) % 8, ' ');
  char size[8];
  llvm::support::endian::write64le(size, text.size());
  return std::string(size, 8) + text + data;
}

/// A fresh directory, removed with everything in it at the end of the test.
class TempDir {
public:
  TempDir() {
    std::error_code ec =
        llvm::sys::fs::createUniqueDirectory("lowbit-safetensors", path);
    EXPECT_FALSE(ec) << ec.message();
  }
  ~TempDir() { llvm::sys::fs::remove_directories(path); }

  std::string file(llvm::StringRef name) const {
    llvm::SmallString<256> result(path);
    llvm::sys::path::append(result, name);
    return std::string(result);
  }
  std::string str() const { return std::string(path); }

private:
  llvm::SmallString<256> path;
};

void writeFile(const std::string &path, llvm::StringRef bytes) {
  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec);
  ASSERT_FALSE(ec) << path << ": " << ec.message();
  out << bytes;
}

//===----------------------------------------------------------------------===//
// A tiny Llama in Hugging Face layout
//===----------------------------------------------------------------------===//

struct TinyLlama {
  int64_t dim = 32, hidden = 48, layers = 2, heads = 4, kvHeads = 2, vocab = 40;
  /// Hugging Face's tensors, rows of q_proj and k_proj in halves order.
  std::map<std::string, FloatTensor> weights;
  std::map<std::string, std::string> dtypes;

  int64_t headDim() const { return dim / heads; }

  json::Object config() const {
    return json::Object{{"architectures", json::Array{"LlamaForCausalLM"}},
                        {"model_type", "llama"},
                        {"hidden_size", dim},
                        {"intermediate_size", hidden},
                        {"num_hidden_layers", layers},
                        {"num_attention_heads", heads},
                        {"num_key_value_heads", kvHeads},
                        {"vocab_size", vocab},
                        {"max_position_embeddings", 128},
                        {"rms_norm_eps", 1e-5},
                        {"rope_theta", 500000.0},
                        {"rope_scaling", nullptr},
                        {"hidden_act", "silu"},
                        {"tie_word_embeddings", false},
                        {"torch_dtype", "bfloat16"},
                        {"bos_token_id", 1},
                        {"eos_token_id", 2}};
  }

  RawTensors tensors() const {
    RawTensors raw;
    for (const auto &[name, tensor] : weights)
      raw[name] = encode(tensor, dtypes.at(name));
    return raw;
  }
};

/// Values k/32 for k in [-16, 16]: exact in F32, F16 and BF16, so every
/// comparison below is exact. The dtypes cycle F32, F16, BF16 over the
/// tensors.
TinyLlama makeTinyLlama(bool withLmHead, unsigned seed = 1) {
  TinyLlama model;
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> numerator(-16, 16);
  const char *dtypes[] = {"F32", "F16", "BF16"};
  int next = 0;
  auto add = [&](const std::string &name, std::vector<int64_t> shape) {
    FloatTensor tensor(std::move(shape));
    for (float &value : tensor.data)
      value = numerator(rng) / 32.0f;
    model.weights[name] = std::move(tensor);
    model.dtypes[name] = dtypes[next++ % 3];
  };
  int64_t d = model.dim, h = model.hidden;
  int64_t kv = model.headDim() * model.kvHeads;
  add("model.embed_tokens.weight", {model.vocab, d});
  for (int64_t i = 0; i < model.layers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    add(p + "input_layernorm.weight", {d});
    add(p + "self_attn.q_proj.weight", {d, d});
    add(p + "self_attn.k_proj.weight", {kv, d});
    add(p + "self_attn.v_proj.weight", {kv, d});
    add(p + "self_attn.o_proj.weight", {d, d});
    add(p + "post_attention_layernorm.weight", {d});
    add(p + "mlp.gate_proj.weight", {h, d});
    add(p + "mlp.up_proj.weight", {h, d});
    add(p + "mlp.down_proj.weight", {d, h});
  }
  add("model.norm.weight", {d});
  if (withLmHead)
    add("lm_head.weight", {model.vocab, d});
  return model;
}

void writeCheckpoint(const TempDir &dir, const TinyLlama &model,
                     json::Object config) {
  writeFile(dir.file("config.json"), toJson(std::move(config)));
  writeFile(dir.file("model.safetensors"), serialize(model.tensors()));
}

void writeCheckpoint(const TempDir &dir, const TinyLlama &model) {
  writeCheckpoint(dir, model, model.config());
}

/// Hugging Face's q_proj/k_proj rows in LowBit's order, spelled out
/// independently of the reader: row 2i of a head is HF row i, row 2i + 1 is
/// HF row i + d/2.
FloatTensor toPairOrder(const FloatTensor &hf, int64_t heads) {
  FloatTensor ours(hf.shape);
  int64_t cols = hf.shape[1], d = hf.shape[0] / heads;
  for (int64_t row = 0; row < hf.shape[0]; ++row) {
    int64_t head = row / d, r = row % d;
    int64_t source = head * d + (r % 2 == 0 ? r / 2 : d / 2 + r / 2);
    std::copy_n(hf.data.begin() + source * cols, cols,
                ours.data.begin() + row * cols);
  }
  return ours;
}

/// Expects `result` to fail with a message holding every one of `parts`.
template <typename T>
void expectError(llvm::Expected<T> result,
                 std::initializer_list<llvm::StringRef> parts) {
  if (result) {
    ADD_FAILURE() << "expected an error mentioning '" << parts.begin()->str()
                  << "'";
    return;
  }
  std::string message = llvm::toString(result.takeError());
  for (llvm::StringRef part : parts)
    EXPECT_NE(message.find(part.str()), std::string::npos)
        << "'" << part.str() << "' not in: " << message;
}

//===----------------------------------------------------------------------===//
// SafetensorsFile
//===----------------------------------------------------------------------===//

TEST(SafetensorsFileTest, ConvertsF16AndBf16Exactly) {
  TempDir dir;
  auto raw16 = [](std::initializer_list<uint16_t> values) {
    std::string bytes;
    for (uint16_t value : values) {
      char b[2];
      llvm::support::endian::write16le(b, value);
      bytes.append(b, 2);
    }
    return bytes;
  };
  RawTensors tensors;
  // 1, -2, the smallest subnormal 2^-24, the largest normal, +inf, -0.
  tensors["half"] = {
      "F16", {6}, raw16({0x3c00, 0xc000, 0x0001, 0x7bff, 0x7c00, 0x8000})};
  // 1, -0.5, 3.140625, 2^-126 (the smallest normal f32).
  tensors["bf16"] = {"BF16", {2, 2}, raw16({0x3f80, 0xbf00, 0x4049, 0x0080})};
  tensors["f32"] = encode(FloatTensor({1}), "F32");
  writeFile(dir.file("a.safetensors"), serialize(tensors));

  llvm::Expected<SafetensorsFile> file =
      SafetensorsFile::open(dir.file("a.safetensors"));
  ASSERT_TRUE(bool(file)) << llvm::toString(file.takeError());
  EXPECT_EQ(file->getTensors().size(), 3u);
  EXPECT_EQ(file->getMetadata().lookup("format"), "pt");
  EXPECT_EQ(file->lookup("nothing"), nullptr);

  llvm::Expected<FloatTensor> half = file->readFloat("half");
  ASSERT_TRUE(bool(half)) << llvm::toString(half.takeError());
  EXPECT_EQ(half->shape, std::vector<int64_t>{6});
  EXPECT_EQ(half->data[0], 1.0f);
  EXPECT_EQ(half->data[1], -2.0f);
  EXPECT_EQ(half->data[2], std::ldexp(1.0f, -24));
  EXPECT_EQ(half->data[3], 65504.0f);
  EXPECT_TRUE(std::isinf(half->data[4]) && half->data[4] > 0);
  EXPECT_TRUE(half->data[5] == 0.0f && std::signbit(half->data[5]));

  llvm::Expected<FloatTensor> bf16 = file->readFloat("bf16");
  ASSERT_TRUE(bool(bf16)) << llvm::toString(bf16.takeError());
  EXPECT_EQ(bf16->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(bf16->data, (std::vector<float>{1.0f, -0.5f, 3.140625f,
                                            std::ldexp(1.0f, -126)}));
  expectError(file->readFloat("nothing"), {"a.safetensors", "'nothing'"});
}

//===----------------------------------------------------------------------===//
// Whole checkpoints
//===----------------------------------------------------------------------===//

/// Every tensor of `model` as read equals the Hugging Face tensor it came
/// from, q_proj and k_proj in pair order.
void expectSameWeights(const LlamaCheckpoint &model, const TinyLlama &hf) {
  auto expectEqual = [](const FloatTensor &actual, const FloatTensor &expected,
                        const std::string &name) {
    EXPECT_EQ(actual.shape, expected.shape) << name;
    EXPECT_EQ(actual.data, expected.data) << name;
  };
  expectEqual(model.tokenEmbedding, hf.weights.at("model.embed_tokens.weight"),
              "embed_tokens");
  ASSERT_EQ(model.layers.size(), size_t(hf.layers));
  for (int64_t i = 0; i < hf.layers; ++i) {
    const LlamaLayer &l = model.layers[i];
    std::string p = "model.layers." + std::to_string(i) + ".";
    auto w = [&](const char *name) -> const FloatTensor & {
      return hf.weights.at(p + name);
    };
    expectEqual(l.attnNorm, w("input_layernorm.weight"), p + "attn_norm");
    expectEqual(l.wq, toPairOrder(w("self_attn.q_proj.weight"), hf.heads),
                p + "q_proj");
    expectEqual(l.wk, toPairOrder(w("self_attn.k_proj.weight"), hf.kvHeads),
                p + "k_proj");
    expectEqual(l.wv, w("self_attn.v_proj.weight"), p + "v_proj");
    expectEqual(l.wo, w("self_attn.o_proj.weight"), p + "o_proj");
    expectEqual(l.ffnNorm, w("post_attention_layernorm.weight"),
                p + "ffn_norm");
    expectEqual(l.wGate, w("mlp.gate_proj.weight"), p + "gate_proj");
    expectEqual(l.wUp, w("mlp.up_proj.weight"), p + "up_proj");
    expectEqual(l.wDown, w("mlp.down_proj.weight"), p + "down_proj");
  }
  expectEqual(model.finalNorm, hf.weights.at("model.norm.weight"), "norm");
}

TEST(SafetensorsTest, ReadsAnUntiedGqaLlamaInThreeDtypes) {
  TempDir dir;
  TinyLlama hf = makeTinyLlama(/*withLmHead=*/true);
  writeCheckpoint(dir, hf);

  llvm::Expected<LlamaCheckpoint> model = readSafetensors(dir.str());
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  const LlamaConfig &c = model->config;
  EXPECT_EQ(c.architecture, "llama");
  EXPECT_EQ(c.dim, 32);
  EXPECT_EQ(c.hiddenDim, 48);
  EXPECT_EQ(c.numLayers, 2);
  EXPECT_EQ(c.numHeads, 4);
  EXPECT_EQ(c.numKvHeads, 2);
  EXPECT_EQ(c.getKvDim(), 16);
  EXPECT_EQ(c.vocabSize, 40);
  EXPECT_EQ(c.maxSeqLen, 128);
  EXPECT_FLOAT_EQ(c.normEps, 1e-5f);
  EXPECT_FLOAT_EQ(c.ropeTheta, 500000.0f);
  EXPECT_FALSE(c.tiedEmbeddings);
  EXPECT_EQ(model->tokenizer, nullptr);
  expectSameWeights(*model, hf);
  EXPECT_EQ(model->output.data, hf.weights.at("lm_head.weight").data);
  EXPECT_EQ(&model->getOutput(), &model->output);
  // All three dtypes were exercised.
  std::set<std::string> dtypes;
  for (const auto &entry : hf.dtypes)
    dtypes.insert(entry.second);
  EXPECT_EQ(dtypes.size(), 3u);
}

TEST(SafetensorsTest, TiesTheOutputWhenLmHeadIsAbsent) {
  TempDir dir;
  TinyLlama hf = makeTinyLlama(/*withLmHead=*/false);
  writeCheckpoint(dir, hf); // tie_word_embeddings is false in config.json
  llvm::Expected<LlamaCheckpoint> model = readSafetensors(dir.str());
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_TRUE(model->config.tiedEmbeddings);
  EXPECT_TRUE(model->output.shape.empty());
  EXPECT_EQ(&model->getOutput(), &model->tokenEmbedding);
  expectSameWeights(*model, hf);
}

TEST(SafetensorsTest, TiesTheOutputWhenConfigSaysSo) {
  TempDir dir;
  // A stale lm_head next to tie_word_embeddings: transformers uses the
  // embedding.
  TinyLlama hf = makeTinyLlama(/*withLmHead=*/true);
  json::Object config = hf.config();
  config["tie_word_embeddings"] = true;
  writeCheckpoint(dir, hf, std::move(config));
  llvm::Expected<LlamaCheckpoint> model = readSafetensors(dir.str());
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_TRUE(model->config.tiedEmbeddings);
  EXPECT_TRUE(model->output.shape.empty());
  EXPECT_EQ(model->getOutput().data,
            hf.weights.at("model.embed_tokens.weight").data);
}

TEST(SafetensorsTest, ReadsAFileWithConfigBesideIt) {
  TempDir dir;
  TinyLlama hf = makeTinyLlama(/*withLmHead=*/true);
  writeFile(dir.file("config.json"), toJson(hf.config()));
  writeFile(dir.file("weights.safetensors"), serialize(hf.tensors()));
  llvm::Expected<LlamaCheckpoint> model =
      readSafetensors(dir.file("weights.safetensors"));
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  expectSameWeights(*model, hf);
  // readCheckpoint sends .safetensors files here.
  llvm::Expected<LlamaCheckpoint> viaFile =
      readCheckpoint(dir.file("weights.safetensors"));
  ASSERT_TRUE(bool(viaFile)) << llvm::toString(viaFile.takeError());
}

TEST(SafetensorsTest, ConfigDefaultsFollowTransformers) {
  TempDir dir;
  // Without num_key_value_heads every head has its own K and V.
  TinyLlama hf = makeTinyLlama(/*withLmHead=*/true);
  hf.kvHeads = hf.heads;
  for (int64_t i = 0; i < hf.layers; ++i)
    for (const char *name : {"k_proj", "v_proj"}) {
      FloatTensor square({hf.dim, hf.dim});
      for (auto [j, value] : llvm::enumerate(square.data))
        value = float(int(j % 33) - 16) / 32.0f;
      hf.weights["model.layers." + std::to_string(i) + ".self_attn." + name +
                 ".weight"] = std::move(square);
    }
  json::Object config = hf.config();
  for (const char *key : {"num_key_value_heads", "rope_theta", "rms_norm_eps",
                          "max_position_embeddings", "tie_word_embeddings",
                          "hidden_act", "rope_scaling"})
    config.erase(key);
  writeCheckpoint(dir, hf, std::move(config));
  llvm::Expected<LlamaCheckpoint> model = readSafetensors(dir.str());
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_EQ(model->config.numKvHeads, 4);
  EXPECT_FLOAT_EQ(model->config.ropeTheta, 10000.0f);
  EXPECT_FLOAT_EQ(model->config.normEps, 1e-6f);
  EXPECT_EQ(model->config.maxSeqLen, 2048);
  expectSameWeights(*model, hf);
}

TEST(SafetensorsTest, ReadsShardsThroughTheIndex) {
  TempDir dir;
  TinyLlama hf = makeTinyLlama(/*withLmHead=*/true);
  writeFile(dir.file("config.json"), toJson(hf.config()));
  // Layer 0 and the embedding in the first shard, the rest in the second.
  RawTensors shards[2];
  json::Object weightMap;
  const char *names[] = {"model-00001-of-00002.safetensors",
                         "model-00002-of-00002.safetensors"};
  for (auto &[name, tensor] : hf.tensors()) {
    int shard = llvm::StringRef(name).starts_with("model.layers.0.") ||
                        name == "model.embed_tokens.weight"
                    ? 0
                    : 1;
    shards[shard][name] = tensor;
    weightMap[name] = names[shard];
  }
  for (int shard = 0; shard < 2; ++shard)
    writeFile(dir.file(names[shard]), serialize(shards[shard]));
  writeFile(dir.file("model.safetensors.index.json"),
            toJson(json::Object{{"metadata", json::Object{{"total_size", 1}}},
                                {"weight_map", std::move(weightMap)}}));

  llvm::Expected<LlamaCheckpoint> model = readSafetensors(dir.str());
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  expectSameWeights(*model, hf);
  EXPECT_EQ(model->output.data, hf.weights.at("lm_head.weight").data);

  // The index is a file name too.
  llvm::Expected<LlamaCheckpoint> viaIndex =
      readSafetensors(dir.file("model.safetensors.index.json"));
  EXPECT_TRUE(bool(viaIndex)) << llvm::toString(viaIndex.takeError());
}

//===----------------------------------------------------------------------===//
// RoPE: Hugging Face's halves against LowBit's adjacent pairs
//===----------------------------------------------------------------------===//

std::vector<double> matVec(const FloatTensor &w, const std::vector<double> &x) {
  std::vector<double> y(w.shape[0], 0.0);
  for (int64_t r = 0; r < w.shape[0]; ++r)
    for (int64_t c = 0; c < w.shape[1]; ++c)
      y[r] += double(w.data[r * w.shape[1] + c]) * x[c];
  return y;
}

/// transformers' apply_rotary_pos_emb: q * cos + rotate_half(q) * sin, with
/// cos and sin of frequency i repeated over both halves of each head.
void ropeHalves(std::vector<double> &v, int64_t headDim, int64_t pos,
                double theta) {
  int64_t half = headDim / 2;
  for (size_t base = 0; base < v.size(); base += headDim)
    for (int64_t i = 0; i < half; ++i) {
      double angle = pos * std::pow(theta, -2.0 * i / headDim);
      double a = v[base + i], b = v[base + half + i];
      v[base + i] = a * std::cos(angle) - b * std::sin(angle);
      v[base + half + i] = b * std::cos(angle) + a * std::sin(angle);
    }
}

/// llama2.c's run.c: pairs (v[2i], v[2i+1]) rotated by frequency i.
void ropePairs(std::vector<double> &v, int64_t headDim, int64_t pos,
               double theta) {
  for (size_t base = 0; base < v.size(); base += headDim)
    for (int64_t i = 0; i < headDim / 2; ++i) {
      double angle = pos * std::pow(theta, -2.0 * i / headDim);
      double a = v[base + 2 * i], b = v[base + 2 * i + 1];
      v[base + 2 * i] = a * std::cos(angle) - b * std::sin(angle);
      v[base + 2 * i + 1] = a * std::sin(angle) + b * std::cos(angle);
    }
}

/// q.k for every query head against its KV head (grouped-query attention).
std::vector<double> scores(const std::vector<double> &q,
                           const std::vector<double> &k, int64_t heads,
                           int64_t kvHeads, int64_t headDim) {
  std::vector<double> result;
  for (int64_t h = 0; h < heads; ++h) {
    int64_t g = h / (heads / kvHeads);
    double dot = 0;
    for (int64_t i = 0; i < headDim; ++i)
      dot += q[h * headDim + i] * k[g * headDim + i];
    result.push_back(dot);
  }
  return result;
}

TEST(SafetensorsTest, RopePermutationPreservesAttentionScores) {
  TempDir dir;
  TinyLlama hf = makeTinyLlama(/*withLmHead=*/true);
  // Random, not merely k/32, weights for q and k, stored as F32.
  std::mt19937 rng(7);
  std::normal_distribution<float> normal;
  for (const char *name :
       {"self_attn.q_proj.weight", "self_attn.k_proj.weight"})
    for (int64_t i = 0; i < hf.layers; ++i) {
      std::string key = "model.layers." + std::to_string(i) + "." + name;
      for (float &value : hf.weights[key].data)
        value = normal(rng);
      hf.dtypes[key] = "F32";
    }
  writeCheckpoint(dir, hf);
  llvm::Expected<LlamaCheckpoint> model = readSafetensors(dir.str());
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  double theta = model->config.ropeTheta;
  int64_t d = hf.headDim();

  std::normal_distribution<double> input;
  int compared = 0, differentWithoutPermutation = 0;
  for (int64_t layer = 0; layer < hf.layers; ++layer) {
    std::string p = "model.layers." + std::to_string(layer) + ".self_attn.";
    const FloatTensor &wqHf = hf.weights.at(p + "q_proj.weight");
    const FloatTensor &wkHf = hf.weights.at(p + "k_proj.weight");
    const LlamaLayer &ours = model->layers[layer];
    for (auto [qPos, kPos] : {std::pair<int64_t, int64_t>{0, 0},
                              {1, 0},
                              {5, 3},
                              {17, 17},
                              {100, 42}}) {
      std::vector<double> xq(hf.dim), xk(hf.dim);
      for (double &value : xq)
        value = input(rng);
      for (double &value : xk)
        value = input(rng);
      std::vector<double> qHf = matVec(wqHf, xq), kHf = matVec(wkHf, xk);
      ropeHalves(qHf, d, qPos, theta);
      ropeHalves(kHf, d, kPos, theta);
      std::vector<double> qOurs = matVec(ours.wq, xq),
                          kOurs = matVec(ours.wk, xk);
      ropePairs(qOurs, d, qPos, theta);
      ropePairs(kOurs, d, kPos, theta);
      std::vector<double> expected = scores(qHf, kHf, hf.heads, hf.kvHeads, d);
      std::vector<double> actual =
          scores(qOurs, kOurs, hf.heads, hf.kvHeads, d);
      for (size_t h = 0; h < expected.size(); ++h) {
        EXPECT_NEAR(actual[h], expected[h], 1e-9 * (1 + std::abs(expected[h])))
            << "layer " << layer << " head " << h << " positions " << qPos
            << ", " << kPos;
        ++compared;
      }

      // The check has teeth: HF's rows with pair RoPE give other scores
      // whenever a rotation happens.
      std::vector<double> qWrong = matVec(wqHf, xq), kWrong = matVec(wkHf, xk);
      ropePairs(qWrong, d, qPos, theta);
      ropePairs(kWrong, d, kPos, theta);
      std::vector<double> wrong =
          scores(qWrong, kWrong, hf.heads, hf.kvHeads, d);
      if (std::abs(wrong[0] - expected[0]) > 1e-3)
        ++differentWithoutPermutation;
    }
  }
  EXPECT_EQ(compared, 2 * 5 * 4);
  // Every pair of positions but (0, 0) and (17, 17) rotates q against k.
  EXPECT_GE(differentWithoutPermutation, 2 * 3);
}

TEST(SafetensorsTest, PermutationInterleavesTheHalvesOfEachHead) {
  // Two heads of size 4, one column holding the row index.
  FloatTensor w({8, 1});
  for (int64_t i = 0; i < 8; ++i)
    w.data[i] = float(i);
  ASSERT_FALSE(bool(permuteRopeHalvesToPairs(w, 2)));
  EXPECT_EQ(w.data, (std::vector<float>{0, 2, 1, 3, 4, 6, 5, 7}));

  FloatTensor odd({6, 1});
  llvm::Error error = permuteRopeHalvesToPairs(odd, 2); // heads of size 3
  EXPECT_TRUE(bool(error));
  llvm::consumeError(std::move(error));
}

//===----------------------------------------------------------------------===//
// Damaged input
//===----------------------------------------------------------------------===//

/// A valid checkpoint in `dir` whose model.safetensors is then replaced.
void writeWithWeights(const TempDir &dir, llvm::StringRef weights) {
  writeCheckpoint(dir, makeTinyLlama(true));
  writeFile(dir.file("model.safetensors"), weights);
}

TEST(SafetensorsErrorTest, TruncatedFiles) {
  TempDir dir;
  std::string good = serialize(makeTinyLlama(true).tensors());

  writeWithWeights(dir, good.substr(0, 5));
  expectError(readSafetensors(dir.str()),
              {"model.safetensors", "truncated", "8-byte header size"});

  writeWithWeights(dir, good.substr(0, 100)); // inside the header
  expectError(readSafetensors(dir.str()),
              {"model.safetensors", "header size", "larger than the file"});

  // Header intact, data cut short: offsets point past the end.
  writeWithWeights(dir, good.substr(0, good.size() - 10));
  expectError(readSafetensors(dir.str()),
              {"model.safetensors", "outside the data section"});
}

TEST(SafetensorsErrorTest, InvalidJsonHeader) {
  TempDir dir;
  std::string text = "{\"a\": [1, 2";
  char size[8];
  llvm::support::endian::write64le(size, text.size());
  writeWithWeights(dir, std::string(size, 8) + text);
  expectError(readSafetensors(dir.str()),
              {"model.safetensors", "invalid JSON"});

  text = "[1, 2, 3]";
  llvm::support::endian::write64le(size, text.size());
  writeWithWeights(dir, std::string(size, 8) + text);
  expectError(readSafetensors(dir.str()),
              {"model.safetensors", "not a JSON object"});
}

TEST(SafetensorsErrorTest, BadEntries) {
  TempDir dir;
  RawTensors tensors = makeTinyLlama(true).tensors();
  const std::string name = "model.norm.weight";
  auto withEdit = [&](llvm::function_ref<void(json::Object &)> edit) {
    writeWithWeights(dir, serialize(tensors, edit));
    return readSafetensors(dir.str());
  };
  auto entry = [&](json::Object &header) { return header.getObject(name); };

  // Offsets beyond the data section.
  expectError(withEdit([&](json::Object &h) {
                (*entry(h))["data_offsets"] = json::Array{0, 1 << 30};
              }),
              {"model.safetensors", name, "outside the data section"});
  // Begin after end.
  expectError(withEdit([&](json::Object &h) {
                (*entry(h))["data_offsets"] = json::Array{8, 4};
              }),
              {name, "outside the data section"});
  // A byte range that does not match shape x dtype.
  expectError(withEdit([&](json::Object &h) {
                (*entry(h))["shape"] = json::Array{31};
              }),
              {name, "needs"});
  // A shape whose size overflows 64 bits.
  expectError(
      withEdit([&](json::Object &h) {
        (*entry(h))["shape"] = json::Array{int64_t(1) << 40, int64_t(1) << 40};
      }),
      {name, "more than 2^64"});
  // Wrong types.
  expectError(withEdit([&](json::Object &h) { (*entry(h))["dtype"] = 4; }),
              {name, "\"dtype\" must be a string"});
  expectError(withEdit([&](json::Object &h) {
                (*entry(h))["shape"] = json::Array{-1};
              }),
              {name, "non-negative integer"});
  expectError(withEdit([&](json::Object &h) {
                (*entry(h))["data_offsets"] = json::Array{0};
              }),
              {name, "data_offsets"});
  expectError(withEdit([&](json::Object &h) { h[name] = "nope"; }),
              {name, "expected an object"});
}

TEST(SafetensorsErrorTest, UnsupportedDtype) {
  TempDir dir;
  TinyLlama hf = makeTinyLlama(true);
  RawTensors tensors = hf.tensors();
  // I8 is a valid safetensors dtype with a consistent size, but not a float.
  RawTensor &norm = tensors["model.layers.1.input_layernorm.weight"];
  norm = RawTensor{"I8", norm.shape, std::string(hf.dim, '\1')};
  writeWithWeights(dir, serialize(tensors));
  expectError(readSafetensors(dir.str()),
              {"model.safetensors", "model.layers.1.input_layernorm.weight",
               "dtype I8"});
}

TEST(SafetensorsErrorTest, MissingTensor) {
  TempDir dir;
  RawTensors tensors = makeTinyLlama(true).tensors();
  tensors.erase("model.layers.1.mlp.up_proj.weight");
  writeWithWeights(dir, serialize(tensors));
  expectError(readSafetensors(dir.str()),
              {"model.safetensors", "missing tensor",
               "model.layers.1.mlp.up_proj.weight"});
}

TEST(SafetensorsErrorTest, ShapeInconsistentWithConfig) {
  TempDir dir;
  TinyLlama hf = makeTinyLlama(true);
  // k_proj as if there were 4 KV heads.
  hf.weights["model.layers.0.self_attn.k_proj.weight"] =
      FloatTensor({hf.dim, hf.dim});
  writeCheckpoint(dir, hf);
  expectError(readSafetensors(dir.str()),
              {"model.safetensors", "model.layers.0.self_attn.k_proj.weight",
               "[32, 32]", "[16, 32]"});

  // config.json claiming fewer layers than the file has.
  hf = makeTinyLlama(true);
  json::Object config = hf.config();
  config["num_hidden_layers"] = 1;
  writeCheckpoint(dir, hf, std::move(config));
  expectError(readSafetensors(dir.str()),
              {"model.safetensors", "belongs to layer 1", "1 layers"});

  // Absurd sizes fail at the first tensor that is not there, without
  // allocating for them.
  config = hf.config();
  config["num_hidden_layers"] = int64_t(1) << 40;
  writeCheckpoint(dir, hf, std::move(config));
  expectError(readSafetensors(dir.str()),
              {"missing tensor", "model.layers.2.input_layernorm.weight"});

  // A vocabulary of another size.
  config = hf.config();
  config["vocab_size"] = 41;
  writeCheckpoint(dir, hf, std::move(config));
  expectError(readSafetensors(dir.str()),
              {"model.embed_tokens.weight", "[40, 32]", "[41, 32]"});
}

TEST(SafetensorsErrorTest, TensorsALlamaDoesNotHave) {
  TempDir dir;
  TinyLlama hf = makeTinyLlama(true);
  hf.weights["model.layers.0.self_attn.q_proj.bias"] = FloatTensor({hf.dim});
  hf.dtypes["model.layers.0.self_attn.q_proj.bias"] = "F32";
  writeCheckpoint(dir, hf);
  expectError(readSafetensors(dir.str()), {"unexpected tensor", "q_proj.bias"});
}

TEST(SafetensorsErrorTest, BadConfig) {
  TempDir dir;
  TinyLlama hf = makeTinyLlama(true);
  writeFile(dir.file("model.safetensors"), serialize(hf.tensors()));

  expectError(readSafetensors(dir.str()), {"config.json", "cannot read"});

  auto withConfig = [&](llvm::function_ref<void(json::Object &)> edit) {
    json::Object config = hf.config();
    edit(config);
    writeFile(dir.file("config.json"), toJson(std::move(config)));
    return readSafetensors(dir.str());
  };
  for (const char *key :
       {"hidden_size", "intermediate_size", "num_hidden_layers",
        "num_attention_heads", "vocab_size"})
    expectError(withConfig([&](json::Object &c) { c.erase(key); }),
                {"config.json", "missing key", key});
  expectError(withConfig([](json::Object &c) { c["hidden_size"] = "32"; }),
              {"config.json", "\"hidden_size\" must be an integer", "\"32\""});
  expectError(withConfig([](json::Object &c) { c["hidden_size"] = 32.5; }),
              {"\"hidden_size\" must be an integer"});
  expectError(withConfig([](json::Object &c) { c["rms_norm_eps"] = true; }),
              {"\"rms_norm_eps\" must be a number"});
  expectError(withConfig([](json::Object &c) { c["tie_word_embeddings"] = 1; }),
              {"\"tie_word_embeddings\" must be a boolean"});
  expectError(withConfig([](json::Object &c) {
                c["rope_scaling"] =
                    json::Object{{"rope_type", "llama3"}, {"factor", 8.0}};
              }),
              {"config.json", "rope_scaling", "'llama3'", "not supported"});
  expectError(
      withConfig([](json::Object &c) {
        c["rope_scaling"] = json::Object{{"type", "linear"}, {"factor", 2.0}};
      }),
      {"'linear'"});
  expectError(withConfig([](json::Object &c) { c["model_type"] = "gpt2"; }),
              {"config.json", "'gpt2'", "not a Llama"});
  expectError(withConfig([](json::Object &c) { c["hidden_act"] = "gelu"; }),
              {"hidden_act 'gelu'"});
  expectError(withConfig([](json::Object &c) { c["attention_bias"] = true; }),
              {"\"attention_bias\" is true"});
  expectError(withConfig([](json::Object &c) { c["head_dim"] = 16; }),
              {"head_dim 16"});
  expectError(withConfig([](json::Object &c) { c["num_key_value_heads"] = 3; }),
              {"config.json", "not a multiple of the KV head count 3"});
  expectError(withConfig([](json::Object &c) {
                c["model_type"] = "mistral";
                c["sliding_window"] = 64;
              }),
              {"sliding_window 64"});

  // What is accepted: an explicit default RoPE, a mistral without a window,
  // a config naming only its class.
  llvm::Expected<LlamaCheckpoint> ok = withConfig([](json::Object &c) {
    c["rope_scaling"] = json::Object{{"rope_type", "default"}};
  });
  EXPECT_TRUE(bool(ok)) << llvm::toString(ok.takeError());
  ok = withConfig([](json::Object &c) {
    c["model_type"] = "mistral";
    c["sliding_window"] = nullptr;
  });
  EXPECT_TRUE(bool(ok)) << llvm::toString(ok.takeError());
  ok = withConfig([](json::Object &c) { c.erase("model_type"); });
  EXPECT_TRUE(bool(ok)) << llvm::toString(ok.takeError());
  // transformers 5 keeps theta and the RoPE type in rope_parameters.
  ok = withConfig([](json::Object &c) {
    c.erase("rope_theta");
    c.erase("rope_scaling");
    c["rope_parameters"] =
        json::Object{{"rope_type", "default"}, {"rope_theta", 1e6}};
  });
  ASSERT_TRUE(bool(ok)) << llvm::toString(ok.takeError());
  EXPECT_FLOAT_EQ(ok->config.ropeTheta, 1e6f);
  expectError(withConfig([](json::Object &c) {
                c["rope_parameters"] = json::Object{{"rope_type", "yarn"}};
              }),
              {"rope_parameters", "'yarn'"});

  writeFile(dir.file("config.json"), "{\"hidden_size\": ");
  expectError(readSafetensors(dir.str()), {"config.json", "invalid JSON"});
}

TEST(SafetensorsErrorTest, BadPaths) {
  TempDir dir;
  expectError(readSafetensors(dir.str()),
              {dir.str(), "neither model.safetensors"});
  expectError(readSafetensors(dir.file("model.bin")),
              {"model.bin", "not a directory"});
  writeFile(dir.file("config.json"), toJson(makeTinyLlama(true).config()));
  expectError(readSafetensors(dir.file("absent.safetensors")),
              {"absent.safetensors", "cannot read"});
}

TEST(SafetensorsErrorTest, BadIndex) {
  TempDir dir;
  TinyLlama hf = makeTinyLlama(true);
  writeFile(dir.file("config.json"), toJson(hf.config()));
  writeFile(dir.file("model-00001-of-00001.safetensors"),
            serialize(hf.tensors()));
  auto withMap = [&](json::Object weightMap) {
    writeFile(dir.file("model.safetensors.index.json"),
              toJson(json::Object{{"weight_map", std::move(weightMap)}}));
    return readSafetensors(dir.str());
  };
  auto fullMap = [&] {
    json::Object map;
    for (const auto &entry : hf.weights)
      map[entry.first] = "model-00001-of-00001.safetensors";
    return map;
  };

  llvm::Expected<LlamaCheckpoint> ok = withMap(fullMap());
  ASSERT_TRUE(bool(ok)) << llvm::toString(ok.takeError());

  json::Object map = fullMap();
  map["model.norm.weight"] = "model-00002-of-00002.safetensors";
  expectError(withMap(std::move(map)),
              {"model-00002-of-00002.safetensors", "cannot read"});

  map = fullMap();
  map.erase("model.norm.weight");
  expectError(withMap(std::move(map)), {"model.safetensors.index.json",
                                        "missing tensor", "model.norm.weight"});

  map = fullMap();
  map["model.norm.weight"] = "../elsewhere.safetensors";
  expectError(withMap(std::move(map)), {"not a file name"});

  // The index names a tensor its shard does not hold.
  writeFile(dir.file("other.safetensors"), serialize(RawTensors{}));
  map = fullMap();
  map["model.norm.weight"] = "other.safetensors";
  expectError(withMap(std::move(map)),
              {"other.safetensors", "model.norm.weight", "not there"});

  writeFile(dir.file("model.safetensors.index.json"), "{\"metadata\": {}}");
  expectError(readSafetensors(dir.str()),
              {"model.safetensors.index.json", "weight_map"});
}

//===----------------------------------------------------------------------===//
// tokenizer.json
//===----------------------------------------------------------------------===//

/// A byte-level BPE tokenizer.json in the shape `tokenizers` writes.
json::Object makeTokenizerJson(json::Value preTokenizer, json::Value merges) {
  return json::Object{
      {"version", "1.0"},
      {"added_tokens",
       json::Array{
           json::Object{
               {"id", 5}, {"content", "<|begin_of_text|>"}, {"special", true}},
           json::Object{
               {"id", 6}, {"content", "<|end_of_text|>"}, {"special", true}},
           json::Object{{"id", 8}, {"content", "<tool>"}, {"special", false}}}},
      {"normalizer", nullptr},
      {"pre_tokenizer", std::move(preTokenizer)},
      {"post_processor",
       json::Object{
           {"type", "TemplateProcessing"},
           {"single",
            json::Array{
                json::Object{
                    {"SpecialToken", json::Object{{"id", "<|begin_of_text|>"},
                                                  {"type_id", 0}}}},
                json::Object{{"Sequence",
                              json::Object{{"id", "A"}, {"type_id", 0}}}}}}}},
      {"decoder", json::Object{{"type", "ByteLevel"}}},
      {"model", json::Object{{"type", "BPE"},
                             {"unk_token", nullptr},
                             {"vocab", json::Object{{"a", 0},
                                                    {"b", 1},
                                                    {"ab", 2},
                                                    {"\xC4\xA0", 3},
                                                    {"\xC4\xA0"
                                                     "ab",
                                                     4}}},
                             {"merges", std::move(merges)}}}};
}

json::Object byteLevel(bool useRegex) {
  return json::Object{{"type", "ByteLevel"},
                      {"add_prefix_space", false},
                      {"trim_offsets", true},
                      {"use_regex", useRegex}};
}

json::Object splitThenByteLevel(llvm::StringRef regex) {
  return json::Object{
      {"type", "Sequence"},
      {"pretokenizers",
       json::Array{json::Object{{"type", "Split"},
                                {"pattern", json::Object{{"Regex", regex}}},
                                {"behavior", "Isolated"},
                                {"invert", false}},
                   byteLevel(false)}}};
}

const char *kLlama3Regex =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

llvm::Expected<std::optional<HfByteLevelBpe>>
parseTokenizer(json::Object tokenizer, SpecialTokens special = {}) {
  return parseHfByteLevelBpe(toJson(std::move(tokenizer)), "tokenizer.json",
                             special);
}

TEST(HfTokenizerTest, ParsesAByteLevelBpe) {
  SpecialTokens fromConfig;
  fromConfig.eos = 6;
  auto parsed = parseTokenizer(
      makeTokenizerJson(byteLevel(true), json::Array{"a b", "\xC4\xA0 ab"}),
      fromConfig);
  ASSERT_TRUE(bool(parsed)) << llvm::toString(parsed.takeError());
  ASSERT_TRUE(parsed->has_value());
  const HfByteLevelBpe &bpe = **parsed;
  EXPECT_EQ(bpe.preTokenizer, "gpt2");
  EXPECT_EQ(bpe.pieces,
            (std::vector<std::string>{"a", "b", "ab", "\xC4\xA0",
                                      "\xC4\xA0"
                                      "ab",
                                      "<|begin_of_text|>", "<|end_of_text|>",
                                      "<unused_7>", "<tool>"}));
  EXPECT_EQ(bpe.kinds,
            (std::vector<TokenKind>{TokenKind::normal, TokenKind::normal,
                                    TokenKind::normal, TokenKind::normal,
                                    TokenKind::normal, TokenKind::control,
                                    TokenKind::control, TokenKind::unused,
                                    TokenKind::userDefined}));
  EXPECT_EQ(bpe.merges, (std::vector<std::string>{"a b", "\xC4\xA0 ab"}));
  // BOS from the post-processor's template, EOS from config.json.
  EXPECT_TRUE(bpe.special.addBos);
  EXPECT_EQ(bpe.special.bos, 5);
  EXPECT_EQ(bpe.special.eos, 6);
  EXPECT_EQ(bpe.special.unknown, -1);
}

TEST(HfTokenizerTest, MergesAsPairs) {
  auto parsed = parseTokenizer(makeTokenizerJson(
      byteLevel(true),
      json::Array{json::Array{"a", "b"}, json::Array{"\xC4\xA0", "ab"}}));
  ASSERT_TRUE(bool(parsed)) << llvm::toString(parsed.takeError());
  ASSERT_TRUE(parsed->has_value());
  EXPECT_EQ((*parsed)->merges,
            (std::vector<std::string>{"a b", "\xC4\xA0 ab"}));
}

TEST(HfTokenizerTest, RecognisesPreTokenizers) {
  auto preOf = [](json::Value pre) -> std::string {
    auto parsed =
        parseTokenizer(makeTokenizerJson(std::move(pre), json::Array{}));
    if (!parsed)
      return "error: " + llvm::toString(parsed.takeError());
    return parsed->has_value() ? (*parsed)->preTokenizer : "none";
  };
  EXPECT_EQ(preOf(splitThenByteLevel(kLlama3Regex)), "llama3");
  EXPECT_EQ(
      preOf(splitThenByteLevel("'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| "
                               "?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+")),
      "gpt2");
  EXPECT_EQ(
      preOf(json::Object{{"type", "Sequence"},
                         {"pretokenizers",
                          json::Array{json::Object{{"type", "Digits"},
                                                   {"individual_digits", true}},
                                      byteLevel(true)}}}),
      "smollm");
  // Not byte-level: SentencePiece-style BPE, or none at all.
  EXPECT_EQ(preOf(json::Object{{"type", "Metaspace"}, {"replacement", "_"}}),
            "none");
  EXPECT_EQ(preOf(nullptr), "none");
  // Byte-level with a split LowBit cannot reproduce is an error, not a
  // silently different tokenization.
  std::string other = preOf(splitThenByteLevel("\\p{L}+|\\s+"));
  EXPECT_NE(other.find("[Split, ByteLevel]"), std::string::npos) << other;
  std::string noRegex = preOf(byteLevel(false));
  EXPECT_NE(noRegex.find("error"), std::string::npos) << noRegex;
}

TEST(HfTokenizerTest, RejectsMalformedTokenizers) {
  expectError(parseHfByteLevelBpe("{\"model\": ", "t.json", {}),
              {"t.json", "invalid JSON"});
  expectError(parseHfByteLevelBpe("{}", "t.json", {}), {"t.json", "\"model\""});

  json::Object badMerge = makeTokenizerJson(byteLevel(true), json::Array{"ab"});
  expectError(parseTokenizer(std::move(badMerge)), {"model.merges[0]"});

  json::Object badId = makeTokenizerJson(byteLevel(true), json::Array{});
  (*badId.getObject("model")->getObject("vocab"))["c"] = -3;
  expectError(parseTokenizer(std::move(badId)), {"'c'", "-3"});

  json::Object duplicate = makeTokenizerJson(byteLevel(true), json::Array{});
  (*duplicate.getObject("model")->getObject("vocab"))["c"] = 1;
  expectError(parseTokenizer(std::move(duplicate)), {"token id 1"});

  json::Object normalized = makeTokenizerJson(byteLevel(true), json::Array{});
  normalized["normalizer"] = json::Object{{"type", "NFC"}};
  expectError(parseTokenizer(std::move(normalized)), {"normalizer 'NFC'"});

  SpecialTokens farEos;
  farEos.eos = 1000;
  expectError(
      parseTokenizer(makeTokenizerJson(byteLevel(true), json::Array{}), farEos),
      {"EOS token id 1000"});
}

TEST(HfTokenizerTest, NonByteLevelTokenizerLeavesTheCheckpointWithout) {
  TempDir dir;
  writeCheckpoint(dir, makeTinyLlama(true));
  writeFile(dir.file("tokenizer.json"),
            toJson(makeTokenizerJson(
                json::Object{{"type", "Metaspace"}, {"replacement", "_"}},
                json::Array{})));
  llvm::Expected<LlamaCheckpoint> model = readSafetensors(dir.str());
  ASSERT_TRUE(bool(model)) << llvm::toString(model.takeError());
  EXPECT_EQ(model->tokenizer, nullptr);
}

TEST(HfTokenizerTest, ByteLevelTokenizerReachesTheFactory) {
  TempDir dir;
  writeCheckpoint(dir, makeTinyLlama(true));
  writeFile(dir.file("tokenizer.json"),
            toJson(makeTokenizerJson(splitThenByteLevel(kLlama3Regex),
                                     json::Array{"a b", "\xC4\xA0 ab"})));
  llvm::Expected<LlamaCheckpoint> model = readSafetensors(dir.str());
  // Tokenizer::createByteLevelBpe may not be built yet; either way its
  // outcome must come through: a tokenizer padded to the model's vocabulary,
  // or its error under tokenizer.json's path.
  if (model) {
    ASSERT_NE(model->tokenizer, nullptr);
    EXPECT_EQ(model->tokenizer->getVocabSize(), 40);
    EXPECT_EQ(model->tokenizer->getBos(), 1); // config.json's bos_token_id
    EXPECT_EQ(model->tokenizer->getEos(), 2);
  } else {
    std::string message = llvm::toString(model.takeError());
    EXPECT_NE(message.find("tokenizer.json"), std::string::npos) << message;
  }

  // Llama 3.1 lists several EOS ids; the first is the EOS.
  json::Object config = makeTinyLlama(true).config();
  config["eos_token_id"] = json::Array{6, 2};
  writeFile(dir.file("config.json"), toJson(std::move(config)));
  model = readSafetensors(dir.str());
  if (model)
    EXPECT_EQ(model->tokenizer->getEos(), 6);
  else
    llvm::consumeError(model.takeError());

  // A tokenizer larger than the embedding is inconsistent.
  json::Object big = makeTokenizerJson(byteLevel(true), json::Array{});
  (*big.getObject("model")->getObject("vocab"))["z"] = 45;
  writeFile(dir.file("tokenizer.json"), toJson(std::move(big)));
  expectError(readSafetensors(dir.str()),
              {"tokenizer.json", "46 tokens", "vocab_size 40"});
}

} // namespace
