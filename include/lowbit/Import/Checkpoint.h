//===- Checkpoint.h - Llama-family checkpoints in host memory ---*- C++ -*-===//
//
// What every importer produces: the hyper-parameters of a Llama-family model
// (RMSNorm, RoPE, grouped-query attention, SwiGLU MLP) read from the file,
// its weights dequantized to f32, and its tokenizer. The IR builder turns
// this into float IR. Plain C++ over LLVM Support; no MLIR.
//
// Layout conventions, whatever the file stores:
//   - a linear layer's weight is [out_features, in_features], row-major;
//   - RoPE rotates adjacent pairs (x[2i], x[2i+1]) of each head (llama2.c and
//     GGUF's convention); importers of checkpoints that rotate halves
//     (Hugging Face) permute the rows of wq and wk to match.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_IMPORT_CHECKPOINT_H
#define LOWBIT_IMPORT_CHECKPOINT_H

#include "lowbit/Tokenizer/Tokenizer.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lowbit {

/// A dense row-major f32 tensor.
struct FloatTensor {
  std::vector<int64_t> shape;
  std::vector<float> data;

  FloatTensor() = default;
  explicit FloatTensor(std::vector<int64_t> shape);
  int64_t getNumElements() const;
};

struct LlamaConfig {
  std::string architecture = "llama";
  std::string name;
  int64_t dim = 0;        // model width
  int64_t hiddenDim = 0;  // MLP width
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKvHeads = 0;
  int64_t vocabSize = 0;
  int64_t maxSeqLen = 0;  // context length the model was trained for
  float normEps = 1e-5f;
  float ropeTheta = 10000.0f;
  bool tiedEmbeddings = false;

  int64_t getHeadDim() const { return dim / numHeads; }
  int64_t getKvDim() const { return getHeadDim() * numKvHeads; }
  /// Checks the numbers are positive and divide as attention needs.
  llvm::Error verify() const;
};

struct LlamaLayer {
  FloatTensor attnNorm; // [dim]
  FloatTensor wq;       // [dim, dim]
  FloatTensor wk;       // [kv_dim, dim]
  FloatTensor wv;       // [kv_dim, dim]
  FloatTensor wo;       // [dim, dim]
  FloatTensor ffnNorm;  // [dim]
  FloatTensor wGate;    // [hidden, dim]
  FloatTensor wUp;      // [hidden, dim]
  FloatTensor wDown;    // [dim, hidden]
};

struct LlamaCheckpoint {
  LlamaConfig config;
  FloatTensor tokenEmbedding; // [vocab, dim]
  std::vector<LlamaLayer> layers;
  FloatTensor finalNorm;      // [dim]
  /// [vocab, dim]; empty (no shape) when tied to the token embedding.
  FloatTensor output;
  /// May be null when the checkpoint carries none.
  std::unique_ptr<Tokenizer> tokenizer;

  const FloatTensor &getOutput() const {
    return config.tiedEmbeddings ? tokenEmbedding : output;
  }
  /// Checks every tensor has the shape the config implies.
  llvm::Error verifyShapes() const;
};

/// llama2.c's .bin (the 7-int header, then fp32 weights; a negative vocab size
/// means a separate classifier) with its tokenizer.bin.
llvm::Expected<LlamaCheckpoint> readLlama2c(llvm::StringRef modelPath,
                                            llvm::StringRef tokenizerPath);

/// GGUF version 2 or 3 with architecture "llama".
llvm::Expected<LlamaCheckpoint> readGguf(llvm::StringRef path);

/// A Hugging Face Llama checkpoint: a directory (or a .safetensors file beside
/// its config.json) with model.safetensors or sharded model-*.safetensors.
llvm::Expected<LlamaCheckpoint> readSafetensors(llvm::StringRef path);

/// Any of the above, told apart by content and name: GGUF by its magic, a
/// directory or .safetensors file as Hugging Face, a .bin as llama2.c (its
/// tokenizer from `tokenizerPath`, or tokenizer.bin / tok<N>.bin beside it).
llvm::Expected<LlamaCheckpoint>
readCheckpoint(llvm::StringRef path, llvm::StringRef tokenizerPath = "");

} // namespace lowbit

#endif // LOWBIT_IMPORT_CHECKPOINT_H
