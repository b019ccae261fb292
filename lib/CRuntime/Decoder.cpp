//===- Decoder.cpp - GPU artefacts' weights and the host reference -------===//
//
// The host reference runs the step of lowbit/GPU/DecodeKernels.h in f32 on
// the dequantized weights, rounding to f16 where the kernels store f16
// (normed inputs, matmul outputs, the KV cache, attention and MLP
// activations), so that the GPU is compared with the same arithmetic up to
// summation order.
//
//===----------------------------------------------------------------------===//

#include "Decoder.h"

#include "lowbit/GPU/Layouts.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <thread>

using namespace lowbit::runtime;

using mlir::lowbit::gpu::floatToHalfBits;
using mlir::lowbit::gpu::halfBitsToFloat;

static float roundToHalf(float value) {
  return halfBitsToFloat(floatToHalfBits(value));
}

LinearShape lowbit::runtime::linearShape(const DecoderConfig &c,
                                         const std::string &name) {
  auto ends = [&](const char *suffix) {
    size_t length = std::strlen(suffix);
    return name.size() >= length &&
           name.compare(name.size() - length, length, suffix) == 0;
  };
  if (name == "output")
    return {c.vocabRows, c.dim};
  if (ends(".qkv"))
    return {c.qkvDim(), c.dim};
  if (ends(".attn_out"))
    return {c.dim, c.dim};
  if (ends(".gate_up"))
    return {2 * c.hidden, c.dim};
  return {c.dim, c.hidden}; // .ffn_down
}

std::vector<std::pair<std::string, size_t>>
lowbit::runtime::expectedWeights(const DecoderConfig &c) {
  std::vector<std::pair<std::string, size_t>> weights;
  auto linear = [&](const std::string &name) {
    LinearShape shape = linearShape(c, name);
    if (!c.isW4(name)) {
      weights.emplace_back(name, size_t(shape.n * shape.k * 2));
      return;
    }
    weights.emplace_back(name, size_t(shape.n * shape.k / 2));
    weights.emplace_back(name + ".scales",
                         size_t(shape.n * (shape.k / c.group) * 2));
  };
  weights.emplace_back("token_embd", size_t(c.vocabRows * c.dim * 2));
  for (int64_t l = 0; l < c.layers; ++l) {
    std::string prefix = "blk." + std::to_string(l) + ".";
    weights.emplace_back(prefix + "attn_norm", size_t(c.dim * 4));
    weights.emplace_back(prefix + "ffn_norm", size_t(c.dim * 4));
    for (const char *role : {"qkv", "attn_out", "gate_up", "ffn_down"})
      linear(prefix + role);
  }
  weights.emplace_back("output_norm", size_t(c.dim * 4));
  linear("output");
  return weights;
}

namespace {
uint64_t splitmix(uint64_t &state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/// Fills `count` elements with `draw(state)` in parallel chunks, each chunk
/// seeded from (seed, its index) so that the result does not depend on the
/// number of threads.
template <typename T, typename Draw>
void fillParallel(T *out, size_t count, uint64_t seed, Draw draw) {
  constexpr size_t kChunk = size_t(1) << 20;
  size_t chunks = (count + kChunk - 1) / kChunk;
  unsigned threads =
      std::max(1u, std::min(std::thread::hardware_concurrency(), 32u));
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      for (size_t chunk = t; chunk < chunks; chunk += threads) {
        uint64_t state = seed ^ (chunk * 0xd1b54a32d192ed03ull);
        splitmix(state);
        size_t end = std::min(count, (chunk + 1) * kChunk);
        for (size_t i = chunk * kChunk; i < end; ++i)
          out[i] = draw(state);
      }
    });
  for (std::thread &thread : pool)
    thread.join();
}

float uniform(uint64_t &state) { // in [-1, 1)
  return float(int64_t(splitmix(state) >> 40) - (int64_t(1) << 23)) /
         float(1 << 23);
}
} // namespace

lowbit_status DecoderWeights::init(
    const DecoderConfig &c,
    const std::map<std::string, std::pair<const void *, size_t>> &mapped,
    std::string &error) {
  uint64_t index = 0;
  for (const auto &[name, bytes] : expectedWeights(c)) {
    ++index;
    order.push_back(name);
    if (!c.randomSeed) {
      auto it = mapped.find(name);
      if (it == mapped.end()) {
        // A float16 head may be the embedding itself.
        if (name == "output" && !c.isW4(name)) {
          views[name] = {nullptr, 0};
          continue;
        }
        error = "no weight '" + name + "', which the manifest's decoder needs";
        return LOWBIT_ERROR_FORMAT;
      }
      if (it->second.second != bytes) {
        error = "weight '" + name + "' has " +
                std::to_string(it->second.second) +
                " bytes; the manifest's decoder needs " + std::to_string(bytes);
        return LOWBIT_ERROR_FORMAT;
      }
      views[name] = {it->second.first, bytes};
      continue;
    }
    // Seeded weights of the right scale: unit-variance activations stay so.
    std::vector<char> &data = drawn.emplace_back(bytes);
    uint64_t seed = *c.randomSeed * 0x9e3779b97f4a7c15ull + index;
    bool isNorm = name.find("norm") != std::string::npos;
    bool isScales =
        name.size() > 7 && name.compare(name.size() - 7, 7, ".scales") == 0;
    if (isNorm) {
      std::fill_n(reinterpret_cast<float *>(data.data()), bytes / 4, 1.0f);
    } else if (name == "token_embd") {
      fillParallel(reinterpret_cast<uint16_t *>(data.data()), bytes / 2, seed,
                   [](uint64_t &s) { return floatToHalfBits(uniform(s)); });
    } else {
      std::string matrix = isScales ? name.substr(0, name.size() - 7) : name;
      float k = float(linearShape(c, matrix).k);
      if (isScales) {
        // Codes in [-8, 7] have a spread of about 4.6.
        float base = 0.22f / std::sqrt(k);
        fillParallel(reinterpret_cast<uint16_t *>(data.data()), bytes / 2, seed,
                     [base](uint64_t &s) {
                       return floatToHalfBits(base *
                                              (1.0f + 0.25f * uniform(s)));
                     });
      } else if (c.isW4(matrix)) {
        fillParallel(reinterpret_cast<uint32_t *>(data.data()), bytes / 4, seed,
                     [](uint64_t &s) { return uint32_t(splitmix(s)); });
      } else {
        float bound = std::sqrt(3.0f / k);
        fillParallel(reinterpret_cast<uint16_t *>(data.data()), bytes / 2, seed,
                     [bound](uint64_t &s) {
                       return floatToHalfBits(bound * uniform(s));
                     });
      }
    }
    views[name] = {data.data(), bytes};
  }
  return LOWBIT_OK;
}

DecoderWeights::View DecoderWeights::get(const std::string &name) const {
  auto it = views.find(name);
  return it == views.end() ? View{nullptr, 0} : it->second;
}

std::vector<float> lowbit::runtime::ropeTable(const DecoderConfig &c) {
  std::vector<float> table(c.context * c.headDim);
  for (int64_t pos = 0; pos < c.context; ++pos)
    for (int64_t j = 0; j < c.headDim / 2; ++j) {
      // As the float IR: theta^(-2j/D) in double, the angle in f32.
      float inverse =
          float(std::pow(double(c.ropeTheta), -2.0 * j / double(c.headDim)));
      float angle = float(pos) * inverse;
      table[pos * c.headDim + 2 * j] = std::cos(angle);
      table[pos * c.headDim + 2 * j + 1] = std::sin(angle);
    }
  return table;
}

//===----------------------------------------------------------------------===//
// The host reference
//===----------------------------------------------------------------------===//

namespace {
class ReferenceDecoder : public Decoder {
public:
  ReferenceDecoder(const DecoderConfig &config, const DecoderWeights &weights)
      : c(config), rope(ropeTable(config)) {
    embedding = halves(weights.get("token_embd"));
    for (int64_t l = 0; l < c.layers; ++l) {
      std::string prefix = "blk." + std::to_string(l) + ".";
      Layer &layer = layers.emplace_back();
      layer.attnNorm = floats(weights.get(prefix + "attn_norm"));
      layer.ffnNorm = floats(weights.get(prefix + "ffn_norm"));
      layer.qkv = linear(weights, prefix + "qkv");
      layer.attnOut = linear(weights, prefix + "attn_out");
      layer.gateUp = linear(weights, prefix + "gate_up");
      layer.ffnDown = linear(weights, prefix + "ffn_down");
    }
    outputNorm = floats(weights.get("output_norm"));
    head = weights.get("output").data ? linear(weights, "output") : embedding;
    keys.assign(c.layers * c.context * c.kvDim(), 0.0f);
    values.assign(keys.size(), 0.0f);
  }

  lowbit_status step(int32_t token, int64_t pos, float *logits,
                     std::string &) override {
    const int64_t D = c.dim, KV = c.kvDim(), HD = c.headDim;
    std::vector<float> h(embedding.begin() + token * D,
                         embedding.begin() + (token + 1) * D);
    std::vector<float> xn, qkv, attention(D), delta, gu, act(c.hidden);
    for (int64_t l = 0; l < c.layers; ++l) {
      const Layer &layer = layers[l];
      xn = norm(h, layer.attnNorm);
      qkv = matvec(layer.qkv, xn, c.qkvDim(), D);
      // RoPE on q and k, pairs (2j, 2j + 1) of each head.
      auto rotate = [&](float *x, int64_t channels) {
        for (int64_t p = 0; p < channels / 2; ++p) {
          int64_t j = p % (HD / 2);
          float cs = rope[pos * HD + 2 * j], sn = rope[pos * HD + 2 * j + 1];
          float a = x[2 * p], b = x[2 * p + 1];
          x[2 * p] = roundToHalf(a * cs - b * sn);
          x[2 * p + 1] = roundToHalf(a * sn + b * cs);
        }
      };
      rotate(qkv.data(), D);
      rotate(qkv.data() + D, KV);
      float *k = &keys[(l * c.context + pos) * KV];
      float *v = &values[(l * c.context + pos) * KV];
      std::copy_n(qkv.begin() + D, KV, k);
      std::copy_n(qkv.begin() + D + KV, KV, v);
      const int64_t group = c.heads / c.kvHeads;
      std::vector<float> scores(pos + 1);
      for (int64_t head = 0; head < c.heads; ++head) {
        int64_t kvHead = head / group;
        const float *q = &qkv[head * HD];
        float best = -INFINITY;
        for (int64_t t = 0; t <= pos; ++t) {
          const float *kt = &keys[(l * c.context + t) * KV + kvHead * HD];
          double dot = 0;
          for (int64_t d = 0; d < HD; ++d)
            dot += double(q[d]) * kt[d];
          scores[t] = float(dot / std::sqrt(double(HD)));
          best = std::max(best, scores[t]);
        }
        double sum = 0;
        for (float &s : scores)
          sum += (s = std::exp(s - best));
        for (int64_t d = 0; d < HD; ++d) {
          double o = 0;
          for (int64_t t = 0; t <= pos; ++t)
            o += double(scores[t]) *
                 values[(l * c.context + t) * KV + kvHead * HD + d];
          attention[head * HD + d] = roundToHalf(float(o / sum));
        }
      }
      delta = matvec(layer.attnOut, attention, D, D);
      for (int64_t i = 0; i < D; ++i)
        h[i] += delta[i];
      xn = norm(h, layer.ffnNorm);
      gu = matvec(layer.gateUp, xn, 2 * c.hidden, D);
      for (int64_t i = 0; i < c.hidden; ++i) {
        float g = gu[i];
        act[i] = roundToHalf(g / (1.0f + std::exp(-g)) * gu[c.hidden + i]);
      }
      delta = matvec(layer.ffnDown, act, D, c.hidden);
      for (int64_t i = 0; i < D; ++i)
        h[i] += delta[i];
    }
    xn = norm(h, outputNorm);
    std::vector<float> out = matvec(head, xn, c.vocabRows, D);
    if (logits)
      std::copy_n(out.begin(), c.vocab, logits);
    return LOWBIT_OK;
  }

private:
  struct Layer {
    std::vector<float> attnNorm, ffnNorm, qkv, attnOut, gateUp, ffnDown;
  };

  static std::vector<float> floats(DecoderWeights::View view) {
    const auto *data = static_cast<const float *>(view.data);
    return std::vector<float>(data, data + view.bytes / 4);
  }
  static std::vector<float> halves(DecoderWeights::View view) {
    const auto *data = static_cast<const uint16_t *>(view.data);
    std::vector<float> result(view.bytes / 2);
    for (size_t i = 0; i < result.size(); ++i)
      result[i] = halfBitsToFloat(data[i]);
    return result;
  }
  /// The dequantized [N, K] matrix of linear layer `name`.
  std::vector<float> linear(const DecoderWeights &weights,
                            const std::string &name) const {
    DecoderWeights::View view = weights.get(name);
    if (!c.isW4(name))
      return halves(view);
    LinearShape shape = linearShape(c, name);
    const auto *words = static_cast<const uint32_t *>(view.data);
    std::vector<int8_t> codes = mlir::lowbit::gpu::unpackW4FromMma(
        std::vector<uint32_t>(words, words + view.bytes / 4), shape.n, shape.k);
    std::vector<float> scales = halves(weights.get(name + ".scales"));
    std::vector<float> result(shape.n * shape.k);
    const int64_t groups = shape.k / c.group;
    for (int64_t row = 0; row < shape.n; ++row)
      for (int64_t col = 0; col < shape.k; ++col)
        result[row * shape.k + col] = float(codes[row * shape.k + col]) *
                                      scales[row * groups + col / c.group];
    return result;
  }
  /// f16(W x) for W [n, k].
  static std::vector<float> matvec(const std::vector<float> &w,
                                   const std::vector<float> &x, int64_t n,
                                   int64_t k) {
    std::vector<float> y(n);
    for (int64_t row = 0; row < n; ++row) {
      double sum = 0;
      for (int64_t col = 0; col < k; ++col)
        sum += double(w[row * k + col]) * x[col];
      y[row] = roundToHalf(float(sum));
    }
    return y;
  }
  std::vector<float> norm(const std::vector<float> &h,
                          const std::vector<float> &gamma) const {
    double squares = 0;
    for (float v : h)
      squares += double(v) * v;
    float r = float(1.0 / std::sqrt(squares / double(h.size()) + c.normEps));
    std::vector<float> out(h.size());
    for (size_t i = 0; i < h.size(); ++i)
      out[i] = roundToHalf(h[i] * r * gamma[i]);
    return out;
  }

  DecoderConfig c;
  std::vector<float> rope, embedding, outputNorm, head, keys, values;
  std::vector<Layer> layers;
};
} // namespace

std::unique_ptr<Decoder>
lowbit::runtime::openReferenceDecoder(const DecoderConfig &config,
                                      const DecoderWeights &weights) {
  return std::make_unique<ReferenceDecoder>(config, weights);
}
