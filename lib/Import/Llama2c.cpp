//===- Llama2c.cpp - llama2.c checkpoints ---------------------------------===//
//
// The format of karpathy/llama2.c's run.c: seven int32 (dim, hidden_dim,
// n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size
// means the classifier is not shared with the embedding), then fp32 arrays:
// token_embedding [vocab, dim], rms_att [L, dim], wq [L, dim, dim],
// wk [L, kv_dim, dim], wv [L, kv_dim, dim], wo [L, dim, dim], rms_ffn [L, dim],
// w1 [L, hidden, dim], w2 [L, dim, hidden], w3 [L, hidden, dim],
// rms_final [dim], two legacy RoPE tables [seq_len, head_dim / 2] each, and
// wcls [vocab, dim] when not shared. w1 is the gate, w3 the up projection.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Import/Checkpoint.h"

#include "llvm/Support/MemoryBuffer.h"

#include <cstring>

using namespace lowbit;
using llvm::createStringError;

namespace {
/// Reads consecutive fp32 arrays, failing cleanly at the end of the file.
class Reader {
public:
  Reader(llvm::StringRef path, llvm::StringRef bytes)
      : path(path), bytes(bytes) {}

  llvm::Error read(FloatTensor &tensor, std::vector<int64_t> shape,
                   llvm::StringRef name) {
    tensor = FloatTensor(std::move(shape));
    return readInto(tensor.data.data(), tensor.getNumElements(), name);
  }

  llvm::Error readInto(float *out, int64_t count, llvm::StringRef name) {
    uint64_t size = static_cast<uint64_t>(count) * sizeof(float);
    if (offset + size > bytes.size())
      return createStringError(
          path + ": truncated: " + name + " needs " + std::to_string(size) +
          " bytes at offset " + std::to_string(offset) + ", the file has " +
          std::to_string(bytes.size()));
    std::memcpy(out, bytes.data() + offset, size);
    offset += size;
    return llvm::Error::success();
  }

  llvm::Error skip(uint64_t size, llvm::StringRef name) {
    if (offset + size > bytes.size())
      return createStringError(path + ": truncated in " + name);
    offset += size;
    return llvm::Error::success();
  }

  uint64_t getOffset() const { return offset; }

private:
  std::string path;
  llvm::StringRef bytes;
  uint64_t offset = 0;
};
} // namespace

llvm::Expected<LlamaCheckpoint>
lowbit::readLlama2c(llvm::StringRef modelPath, llvm::StringRef tokenizerPath) {
  auto file = llvm::MemoryBuffer::getFile(modelPath, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  if (!file)
    return createStringError(modelPath + ": cannot open: " +
                             file.getError().message());
  llvm::StringRef bytes = (*file)->getBuffer();
  int32_t header[7];
  if (bytes.size() < sizeof(header))
    return createStringError(modelPath +
                             ": truncated: shorter than the 28-byte header");
  std::memcpy(header, bytes.data(), sizeof(header));

  LlamaCheckpoint model;
  LlamaConfig &c = model.config;
  c.architecture = "llama";
  c.name = modelPath.str();
  c.dim = header[0];
  c.hiddenDim = header[1];
  c.numLayers = header[2];
  c.numHeads = header[3];
  c.numKvHeads = header[4];
  c.vocabSize = header[5] < 0 ? -int64_t(header[5]) : header[5];
  c.tiedEmbeddings = header[5] > 0;
  c.maxSeqLen = header[6];
  c.normEps = 1e-5f;      // run.c's rmsnorm
  c.ropeTheta = 10000.0f; // run.c's RoPE
  if (llvm::Error error = c.verify())
    return createStringError(modelPath + ": bad header: " +
                             llvm::toString(std::move(error)));

  // The payload size follows from the header; check it before reading so a
  // wrong header reads as a wrong header, not as a truncated file.
  int64_t kvDim = c.getKvDim(), L = c.numLayers, d = c.dim, h = c.hiddenDim;
  uint64_t floats = c.vocabSize * d + L * (2 * d + 2 * d * d + 2 * kvDim * d +
                                           3 * h * d) +
                    d + c.maxSeqLen * c.getHeadDim();
  uint64_t expected = 28 + floats * 4;
  uint64_t withClassifier = expected + uint64_t(c.vocabSize * d) * 4;
  uint64_t want = c.tiedEmbeddings ? expected : withClassifier;
  if (bytes.size() < want)
    return createStringError(
        modelPath + ": truncated: the header describes " +
        std::to_string(want) + " bytes, the file has " +
        std::to_string(bytes.size()));
  if (bytes.size() > want)
    return createStringError(
        modelPath + ": " + std::to_string(bytes.size() - want) +
        " bytes more than the header describes (" + std::to_string(want) +
        "); not a llama2.c checkpoint, or a different version of the format");

  Reader reader(modelPath, bytes);
  cantFail(reader.skip(28, "header"));
  if (llvm::Error e = reader.read(model.tokenEmbedding, {c.vocabSize, d},
                                  "token_embedding"))
    return std::move(e);
  model.layers.resize(L);
  // Each weight kind is stored for all layers in a row.
  auto readAll = [&](FloatTensor LlamaLayer::*member, std::vector<int64_t> shape,
                     llvm::StringRef name) -> llvm::Error {
    for (int64_t i = 0; i < L; ++i)
      if (llvm::Error e = reader.read(model.layers[i].*member, shape, name))
        return e;
    return llvm::Error::success();
  };
  for (auto [member, shape, name] :
       {std::tuple<FloatTensor LlamaLayer::*, std::vector<int64_t>,
                   const char *>{&LlamaLayer::attnNorm, {d}, "rms_att_weight"},
        {&LlamaLayer::wq, {d, d}, "wq"},
        {&LlamaLayer::wk, {kvDim, d}, "wk"},
        {&LlamaLayer::wv, {kvDim, d}, "wv"},
        {&LlamaLayer::wo, {d, d}, "wo"},
        {&LlamaLayer::ffnNorm, {d}, "rms_ffn_weight"},
        {&LlamaLayer::wGate, {h, d}, "w1"},
        {&LlamaLayer::wDown, {d, h}, "w2"},
        {&LlamaLayer::wUp, {h, d}, "w3"}})
    if (llvm::Error e = readAll(member, shape, name))
      return std::move(e);
  if (llvm::Error e = reader.read(model.finalNorm, {d}, "rms_final_weight"))
    return std::move(e);
  // Legacy precomputed RoPE tables, unused: RoPE is computed from theta.
  if (llvm::Error e = reader.skip(uint64_t(c.maxSeqLen) * c.getHeadDim() * 4,
                                  "freq_cis"))
    return std::move(e);
  if (!c.tiedEmbeddings)
    if (llvm::Error e = reader.read(model.output, {c.vocabSize, d}, "wcls"))
      return std::move(e);

  if (!tokenizerPath.empty()) {
    auto tokenizer = Tokenizer::readLlama2c(tokenizerPath, c.vocabSize);
    if (!tokenizer)
      return tokenizer.takeError();
    model.tokenizer = std::move(*tokenizer);
  }
  if (llvm::Error error = model.verifyShapes())
    return std::move(error);
  return model;
}
