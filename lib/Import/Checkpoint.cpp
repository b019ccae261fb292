//===- Checkpoint.cpp - Shapes, checks and format sniffing ----------------===//

#include "lowbit/Import/Checkpoint.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace lowbit;
using llvm::createStringError;

FloatTensor::FloatTensor(std::vector<int64_t> shape) : shape(std::move(shape)) {
  data.resize(getNumElements());
}

int64_t FloatTensor::getNumElements() const {
  if (shape.empty())
    return 0;
  int64_t n = 1;
  for (int64_t extent : shape)
    n *= extent;
  return n;
}

static std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "(none)";
  std::string text;
  for (int64_t extent : shape)
    text += (text.empty() ? "" : "x") + std::to_string(extent);
  return text;
}

llvm::Error LlamaConfig::verify() const {
  auto positive = [&](int64_t value, llvm::StringRef what) -> llvm::Error {
    if (value <= 0)
      return createStringError("model " + what + " must be positive, got " +
                               std::to_string(value));
    return llvm::Error::success();
  };
  for (auto [value, what] :
       {std::pair<int64_t, const char *>{dim, "dim"},
        {hiddenDim, "hidden dim"},
        {numLayers, "layer count"},
        {numHeads, "head count"},
        {numKvHeads, "KV head count"},
        {vocabSize, "vocabulary size"},
        {maxSeqLen, "context length"}})
    if (llvm::Error error = positive(value, what))
      return error;
  if (dim % numHeads != 0)
    return createStringError("dim " + std::to_string(dim) +
                             " is not a multiple of the head count " +
                             std::to_string(numHeads));
  if (numHeads % numKvHeads != 0)
    return createStringError("head count " + std::to_string(numHeads) +
                             " is not a multiple of the KV head count " +
                             std::to_string(numKvHeads));
  if (getHeadDim() % 2 != 0)
    return createStringError("head dim " + std::to_string(getHeadDim()) +
                             " is odd; RoPE rotates pairs");
  if (!(normEps > 0.0f) || !(ropeTheta > 0.0f))
    return createStringError("norm epsilon and RoPE theta must be positive");
  return llvm::Error::success();
}

llvm::Error LlamaCheckpoint::verifyShapes() const {
  if (llvm::Error error = config.verify())
    return error;
  const LlamaConfig &c = config;
  auto expect = [](const FloatTensor &tensor, llvm::StringRef name,
                   std::vector<int64_t> shape) -> llvm::Error {
    if (tensor.shape != shape)
      return createStringError("tensor " + name + " has shape " +
                               formatShape(tensor.shape) + ", expected " +
                               formatShape(shape));
    if (static_cast<int64_t>(tensor.data.size()) != tensor.getNumElements())
      return createStringError("tensor " + name + " holds " +
                               std::to_string(tensor.data.size()) +
                               " values for shape " + formatShape(shape));
    return llvm::Error::success();
  };
  if (llvm::Error e =
          expect(tokenEmbedding, "token_embd", {c.vocabSize, c.dim}))
    return e;
  if (static_cast<int64_t>(layers.size()) != c.numLayers)
    return createStringError("expected " + std::to_string(c.numLayers) +
                             " layers, got " + std::to_string(layers.size()));
  int64_t kvDim = c.getKvDim();
  for (size_t i = 0; i < layers.size(); ++i) {
    const LlamaLayer &l = layers[i];
    std::string p = "blk." + std::to_string(i) + ".";
    for (auto [tensor, name, shape] :
         {std::tuple<const FloatTensor &, std::string, std::vector<int64_t>>{
              l.attnNorm, p + "attn_norm", {c.dim}},
          {l.wq, p + "attn_q", {c.dim, c.dim}},
          {l.wk, p + "attn_k", {kvDim, c.dim}},
          {l.wv, p + "attn_v", {kvDim, c.dim}},
          {l.wo, p + "attn_output", {c.dim, c.dim}},
          {l.ffnNorm, p + "ffn_norm", {c.dim}},
          {l.wGate, p + "ffn_gate", {c.hiddenDim, c.dim}},
          {l.wUp, p + "ffn_up", {c.hiddenDim, c.dim}},
          {l.wDown, p + "ffn_down", {c.dim, c.hiddenDim}}})
      if (llvm::Error e = expect(tensor, name, shape))
        return e;
  }
  if (llvm::Error e = expect(finalNorm, "output_norm", {c.dim}))
    return e;
  if (!c.tiedEmbeddings)
    if (llvm::Error e = expect(output, "output", {c.vocabSize, c.dim}))
      return e;
  return llvm::Error::success();
}

/// llama2.c models come with a tokenizer file beside them: tokenizer.bin, or
/// tok<vocab>.bin for the small story models.
static std::string findLlama2cTokenizer(llvm::StringRef modelPath) {
  llvm::SmallString<256> dir(modelPath);
  llvm::sys::path::remove_filename(dir);
  std::error_code ec;
  std::string found;
  for (llvm::sys::fs::directory_iterator it(dir.empty() ? llvm::StringRef(".") : llvm::StringRef(dir), ec), end;
       it != end && !ec; it.increment(ec)) {
    llvm::StringRef name = llvm::sys::path::filename(it->path());
    if (name == "tokenizer.bin")
      return it->path();
    if (name.starts_with("tok") && name.ends_with(".bin") &&
        name != llvm::sys::path::filename(modelPath))
      found = it->path();
  }
  return found;
}

llvm::Expected<LlamaCheckpoint>
lowbit::readCheckpoint(llvm::StringRef path, llvm::StringRef tokenizerPath) {
  if (llvm::sys::fs::is_directory(path) || path.ends_with(".safetensors"))
    return readSafetensors(path);
  auto file = llvm::MemoryBuffer::getFileSlice(path, 4, 0, false);
  if (!file)
    return createStringError(path + ": cannot open: " +
                             file.getError().message());
  llvm::StringRef magic = (*file)->getBuffer();
  if (magic == "GGUF")
    return readGguf(path);
  if (path.ends_with(".bin")) {
    std::string tokenizer = tokenizerPath.str();
    if (tokenizer.empty())
      tokenizer = findLlama2cTokenizer(path);
    if (tokenizer.empty())
      return createStringError(path +
                               ": a llama2.c model needs its tokenizer.bin; "
                               "none found beside it");
    return readLlama2c(path, tokenizer);
  }
  return createStringError(path + ": not a GGUF, llama2.c (.bin) or "
                                  "safetensors checkpoint");
}
