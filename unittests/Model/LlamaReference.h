//===- LlamaReference.h - A naive Llama forward, for tests ------*- C++ -*-===//
//
// An independent reference for the compiled model: plain loops over the
// checkpoint's f32 weights, one token at a time with a KV cache, written from
// the model's definition (llama2.c's run.c) and sharing no code with the IR
// builder.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_UNITTESTS_MODEL_LLAMAREFERENCE_H
#define LOWBIT_UNITTESTS_MODEL_LLAMAREFERENCE_H

#include "lowbit/Import/Checkpoint.h"

#include <cmath>
#include <functional>
#include <string>
#include <vector>

namespace lowbit::testing {

class LlamaReference {
public:
  explicit LlamaReference(const LlamaCheckpoint &model) : m(model) {
    const LlamaConfig &c = m.config;
    keys.assign(c.numLayers, std::vector<float>(c.maxSeqLen * c.getKvDim()));
    values = keys;
  }

  /// Called with the input of every linear layer (named as in GGUF).
  std::function<void(const std::string &, const std::vector<float> &)>
      onLinearInput;

  /// Logits of `token` at `position` (positions must come in order).
  std::vector<float> step(int32_t token, int64_t position) {
    const LlamaConfig &c = m.config;
    int64_t dim = c.dim, kvDim = c.getKvDim(), headDim = c.getHeadDim();
    std::vector<float> x(m.tokenEmbedding.data.begin() + token * dim,
                         m.tokenEmbedding.data.begin() + (token + 1) * dim);
    for (int64_t l = 0; l < c.numLayers; ++l) {
      const LlamaLayer &w = m.layers[l];
      std::string p = "blk." + std::to_string(l) + ".";
      std::vector<float> h = rmsNorm(x, w.attnNorm);
      observe(p + "attn_q", h);
      std::vector<float> q = matvec(w.wq, h), k = matvec(w.wk, h),
                         v = matvec(w.wv, h);
      rope(q, position);
      rope(k, position);
      std::copy(k.begin(), k.end(), keys[l].begin() + position * kvDim);
      std::copy(v.begin(), v.end(), values[l].begin() + position * kvDim);
      std::vector<float> attended(dim, 0.0f);
      int64_t group = c.numHeads / c.numKvHeads;
      for (int64_t head = 0; head < c.numHeads; ++head) {
        int64_t kvHead = head / group;
        std::vector<float> scores(position + 1);
        float maxScore = -INFINITY;
        for (int64_t s = 0; s <= position; ++s) {
          double dot = 0;
          for (int64_t i = 0; i < headDim; ++i)
            dot += double(q[head * headDim + i]) *
                   keys[l][s * kvDim + kvHead * headDim + i];
          scores[s] = float(dot / std::sqrt(double(headDim)));
          maxScore = std::max(maxScore, scores[s]);
        }
        double sum = 0;
        for (float &score : scores) {
          score = std::exp(score - maxScore);
          sum += score;
        }
        for (int64_t s = 0; s <= position; ++s)
          for (int64_t i = 0; i < headDim; ++i)
            attended[head * headDim + i] +=
                float(scores[s] / sum) *
                values[l][s * kvDim + kvHead * headDim + i];
      }
      observe(p + "attn_output", attended);
      std::vector<float> o = matvec(w.wo, attended);
      for (int64_t i = 0; i < dim; ++i)
        x[i] += o[i];
      std::vector<float> h2 = rmsNorm(x, w.ffnNorm);
      observe(p + "ffn_gate", h2);
      std::vector<float> gate = matvec(w.wGate, h2), up = matvec(w.wUp, h2);
      for (size_t i = 0; i < gate.size(); ++i)
        gate[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
      observe(p + "ffn_down", gate);
      std::vector<float> down = matvec(w.wDown, gate);
      for (int64_t i = 0; i < dim; ++i)
        x[i] += down[i];
    }
    std::vector<float> normed = rmsNorm(x, m.finalNorm);
    observe("output", normed);
    return matvec(m.getOutput(), normed);
  }

private:
  void observe(const std::string &name, const std::vector<float> &input) {
    if (onLinearInput)
      onLinearInput(name, input);
  }

  std::vector<float> rmsNorm(const std::vector<float> &x,
                             const FloatTensor &gamma) const {
    double sumSquares = 0;
    for (float value : x)
      sumSquares += double(value) * value;
    float inv = float(1.0 / std::sqrt(sumSquares / x.size() +
                                      m.config.normEps));
    std::vector<float> y(x.size());
    for (size_t i = 0; i < x.size(); ++i)
      y[i] = x[i] * inv * gamma.data[i];
    return y;
  }

  static std::vector<float> matvec(const FloatTensor &w,
                                   const std::vector<float> &x) {
    int64_t rows = w.shape[0], cols = w.shape[1];
    std::vector<float> y(rows);
    for (int64_t r = 0; r < rows; ++r) {
      double sum = 0;
      for (int64_t i = 0; i < cols; ++i)
        sum += double(w.data[r * cols + i]) * x[i];
      y[r] = float(sum);
    }
    return y;
  }

  /// Rotates adjacent pairs of each head by position * theta^(-2i/D).
  void rope(std::vector<float> &v, int64_t position) const {
    int64_t headDim = m.config.getHeadDim();
    for (size_t base = 0; base < v.size(); base += headDim)
      for (int64_t i = 0; i < headDim; i += 2) {
        double frequency =
            std::pow(double(m.config.ropeTheta), -double(i) / headDim);
        double angle = position * frequency;
        float c = float(std::cos(angle)), s = float(std::sin(angle));
        float x0 = v[base + i], x1 = v[base + i + 1];
        v[base + i] = x0 * c - x1 * s;
        v[base + i + 1] = x0 * s + x1 * c;
      }
  }

  const LlamaCheckpoint &m;
  std::vector<std::vector<float>> keys, values;
};

} // namespace lowbit::testing

#endif // LOWBIT_UNITTESTS_MODEL_LLAMAREFERENCE_H
