//===- CompileCuda.cpp - Compile a decoder into a GPU artefact -----------===//
//
// A GPU artefact is the decode step of DecodeKernels.h generated for the
// model's extents and assembled into one cubin, plus the weights in the
// layouts those kernels read: f16 rows for the float16 build, or W4A16
// codes (round to nearest, symmetric, one f16 scale a group, as the CPU
// recipe w4a16-rtn quantizes) in packW4ForMma's layout. Linear layers that
// read the same input are concatenated ([Wq; Wk; Wv] and [Wgate; Wup]), and
// the MLP width and vocabulary are padded with zero rows and columns to the
// kernels' multiples, which leaves the products unchanged.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Artefact/Compile.h"
#include "lowbit/Artefact/Format.h"
#include "lowbit/GPU/DecodeKernels.h"
#include "lowbit/GPU/Layouts.h"
#include "lowbit/Import/Checkpoint.h"
#include "lowbit/Support/QuantMath.h"
#include "lowbit/Tokenizer/Tokenizer.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"

#include <chrono>
#include <cmath>

using namespace mlir;
using namespace mlir::lowbit;
namespace fmt = ::lowbit::artefact;
namespace lbgpu = mlir::lowbit::gpu;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static int64_t roundUp(int64_t value, int64_t multiple) {
  return (value + multiple - 1) / multiple * multiple;
}

namespace {
/// A weight being written: its name and bytes.
struct OwnedWeight {
  std::string name;
  std::vector<char> bytes;
};

template <typename T> std::vector<char> toBytes(const std::vector<T> &values) {
  std::vector<char> bytes(values.size() * sizeof(T));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}

/// Rows of `n` x `k` f32, zero-padded from a tensor of `rows` x `cols`.
struct Matrix {
  int64_t n, k;
  std::vector<float> data;
  Matrix(int64_t n, int64_t k) : n(n), k(k), data(n * k, 0.0f) {}
  /// Copies `tensor` (rows x cols, cols <= k) into rows [at, at + rows).
  void place(const ::lowbit::FloatTensor &tensor, int64_t at) {
    int64_t rows = tensor.shape[0], cols = tensor.shape[1];
    for (int64_t r = 0; r < rows; ++r)
      std::copy_n(tensor.data.begin() + r * cols, cols,
                  data.begin() + (at + r) * k);
  }
};

class WeightWriter {
public:
  explicit WeightWriter(int64_t group) : group(group) {}

  void addVector(const std::string &name, const ::lowbit::FloatTensor &t) {
    weights.push_back({name, toBytes(t.data)});
  }

  void addHalf(const std::string &name, const Matrix &m) {
    std::vector<uint16_t> half(m.data.size());
    for (size_t i = 0; i < half.size(); ++i)
      half[i] = floatToHalf(m.data[i]);
    weights.push_back({name, toBytes(half)});
  }

  /// Adds `m` as the linear layer `name`: f16 rows, or W4A16 codes and
  /// scales.
  void addLinear(const std::string &name, const Matrix &m) {
    if (!group)
      return addHalf(name, m);
    // The reference quantizer's scales (absmax / 7, rounded up to f16; 1
    // for a block of zeros), and its codes, kept unpacked for the layout.
    QuantScheme scheme;
    scheme.format = {ElementFormat::sint, 4};
    scheme.granularity = Granularity::per_group;
    scheme.groupSize = group;
    scheme.scale = ScaleFormat::f16;
    std::vector<float> blockScales =
        computeReferenceScales(scheme, {m.n, m.k}, m.data).scales;
    const int64_t groups = m.k / group;
    std::vector<int8_t> codes(m.n * m.k);
    std::vector<uint16_t> scales(m.n * groups);
    for (int64_t row = 0; row < m.n; ++row)
      for (int64_t g = 0; g < groups; ++g) {
        float scale = blockScales[row * groups + g];
        scales[row * groups + g] = floatToHalf(scale);
        for (int64_t i = g * group; i < (g + 1) * group; ++i)
          codes[row * m.k + i] = int8_t(std::clamp(
              std::nearbyint(m.data[row * m.k + i] / scale), -8.0f, 7.0f));
      }
    weights.push_back({name, toBytes(lbgpu::packW4ForMma(codes, m.n, m.k))});
    weights.push_back({name + ".scales", toBytes(scales)});
  }

  uint64_t totalBytes() const {
    uint64_t total = 0;
    for (const OwnedWeight &w : weights)
      total += w.bytes.size();
    return total;
  }

  llvm::Error write(llvm::StringRef path) const {
    std::vector<ArtefactWeight> views;
    for (const OwnedWeight &w : weights)
      views.push_back({w.name, w.bytes});
    return writeWeightFile(path, views);
  }

private:
  int64_t group;
  std::vector<OwnedWeight> weights;
};
} // namespace

static lbgpu::DecodeShape decodeShapeOf(const ::lowbit::LlamaConfig &c,
                                        const CudaArtefactOptions &options) {
  lbgpu::DecodeShape shape;
  shape.dim = c.dim;
  // The MLP width is the gate/up kernel's rows / 2 and the down kernel's K.
  shape.hidden = roundUp(c.hiddenDim, options.group ? options.group : 16);
  shape.numHeads = c.numHeads;
  shape.numKvHeads = c.numKvHeads;
  shape.headDim = c.getHeadDim();
  shape.vocab = roundUp(c.vocabSize, 16);
  shape.context = options.context;
  shape.normEps = c.normEps;
  shape.group = options.group;
  shape.headF16 = !options.group || options.headF16;
  return shape;
}

/// The weights of `model` in the kernels' layouts.
static WeightWriter convertWeights(const ::lowbit::LlamaCheckpoint &model,
                                   const lbgpu::DecodeShape &shape,
                                   llvm::raw_ostream &log) {
  const ::lowbit::LlamaConfig &c = model.config;
  WeightWriter writer(shape.group);
  Matrix embedding(shape.vocab, shape.dim);
  embedding.place(model.tokenEmbedding, 0);
  writer.addHalf("token_embd", embedding);
  const int64_t kv = shape.getKvDim();
  for (int64_t l = 0; l < c.numLayers; ++l) {
    const ::lowbit::LlamaLayer &layer = model.layers[l];
    std::string prefix = "blk." + std::to_string(l) + ".";
    writer.addVector(prefix + "attn_norm", layer.attnNorm);
    writer.addVector(prefix + "ffn_norm", layer.ffnNorm);
    Matrix qkv(shape.getQkvDim(), shape.dim);
    qkv.place(layer.wq, 0);
    qkv.place(layer.wk, shape.dim);
    qkv.place(layer.wv, shape.dim + kv);
    writer.addLinear(prefix + "qkv", qkv);
    Matrix out(shape.dim, shape.dim);
    out.place(layer.wo, 0);
    writer.addLinear(prefix + "attn_out", out);
    Matrix gateUp(2 * shape.hidden, shape.dim);
    gateUp.place(layer.wGate, 0);
    gateUp.place(layer.wUp, shape.hidden);
    writer.addLinear(prefix + "gate_up", gateUp);
    // Down's input channels past the real MLP width stay zero.
    Matrix down(shape.dim, shape.hidden);
    for (int64_t r = 0; r < shape.dim; ++r)
      std::copy_n(layer.wDown.data.begin() + r * c.hiddenDim, c.hiddenDim,
                  down.data.begin() + r * shape.hidden);
    writer.addLinear(prefix + "ffn_down", down);
    if ((l + 1) % 8 == 0 || l + 1 == c.numLayers)
      log << "converted " << l + 1 << " of " << c.numLayers << " layers\n";
  }
  writer.addVector("output_norm", model.finalNorm);
  // A float16 head tied to the embedding reads token_embd itself.
  if (!shape.headF16 || !c.tiedEmbeddings) {
    Matrix head(shape.vocab, shape.dim);
    head.place(model.getOutput(), 0);
    if (shape.headF16)
      writer.addHalf("output", head);
    else
      writer.addLinear("output", head);
  }
  return writer;
}

llvm::Error mlir::lowbit::compileCudaArtefact(
    const ::lowbit::LlamaCheckpoint &model, llvm::StringRef directory,
    const CudaArtefactOptions &options, llvm::raw_ostream &log) {
  const ::lowbit::LlamaConfig &c = model.config;
  if (llvm::Error error = c.verify())
    return error;
  if (options.group && (options.group < 64 || options.group % 64))
    return makeError(llvm::formatv("--target cuda: groups of {0}: the W4A16 "
                                   "kernel takes groups of a multiple of 64",
                                   options.group));
  lbgpu::DecodeShape shape = decodeShapeOf(c, options);
  if (llvm::Error error = lbgpu::verifyDecodeShape(shape))
    return makeError(
        "--target cuda: " +
        (c.name.empty() ? std::string("the model") : c.name) +
        " does not fit the GPU kernels: " + llvm::toString(std::move(error)));
  if (!options.randomSeed) {
    if (model.layers.size() != size_t(c.numLayers))
      return makeError("--target cuda: the checkpoint has no weights (give "
                       "--random-weights for a speed run)");
    if (llvm::Error error = model.verifyShapes())
      return error;
  }

  auto start = std::chrono::steady_clock::now();
  auto seconds = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                         start)
        .count();
  };
  std::unique_ptr<MLIRContext> context = lbgpu::createKernelContext();
  auto kernels =
      lbgpu::buildKernels(*context, {}, {}, {}, options.chip, &shape);
  if (!kernels)
    return kernels.takeError();
  auto ptx = lbgpu::lowerToPtx(**kernels, options.chip);
  if (!ptx)
    return ptx.takeError();
  auto cubin = lbgpu::assemblePtx(*ptx, options.chip);
  if (!cubin)
    return cubin.takeError();
  log << llvm::format("generated the decode kernels for %s in %.1f s\n",
                      options.chip.c_str(), seconds());

  if (std::error_code error = llvm::sys::fs::create_directories(directory))
    return makeError(directory + ": " + error.message());
  auto pathOf = [&](llvm::StringRef file) {
    llvm::SmallString<256> path(directory);
    llvm::sys::path::append(path, file);
    return std::string(path);
  };
  if (llvm::Error error =
          writeArtefactFile(pathOf(fmt::kKernelsFile),
                    llvm::StringRef(cubin->data(), cubin->size())))
    return error;

  std::string weightsNote = "random weights";
  if (!options.randomSeed) {
    WeightWriter weights = convertWeights(model, shape, log);
    if (llvm::Error error = weights.write(pathOf(fmt::kWeightsFile)))
      return error;
    weightsNote = std::to_string(weights.totalBytes()) + " bytes of weights";
  } else {
    // A stale weight file would contradict the manifest.
    llvm::sys::fs::remove(pathOf(fmt::kWeightsFile));
  }
  if (model.tokenizer) {
    if (llvm::Error error = writeArtefactFile(pathOf(fmt::kTokenizerFile),
                                      model.tokenizer->serialize()))
      return error;
  }

  lbgpu::DecodePlan plan = lbgpu::planDecode(shape);
  std::string manifest = llvm::formatv(
      "{0} {1}\nvocab {2}\ncontext {3}\ntarget cuda\nchip {4}\n"
      "decoder {5} {6} {7} {8} {9} {10} {11}\nnorm_eps {12:e}\n"
      "rope_theta {13:e}\n",
      fmt::kManifestMagic, fmt::kManifestVersion, c.vocabSize, shape.context,
      options.chip, shape.dim, shape.hidden, shape.numHeads, shape.numKvHeads,
      shape.headDim, shape.vocab, c.numLayers, double(c.normEps),
      double(c.ropeTheta));
  manifest += shape.group ? "weights w4 " + std::to_string(shape.group) + "\n"
                          : std::string("weights f16\n");
  if (shape.group)
    manifest += shape.headF16 ? "head f16\n" : "head w4\n";
  if (options.randomSeed)
    manifest += "random " + std::to_string(*options.randomSeed) + "\n";
  for (const auto &[role, launch] : plan.roles())
    manifest += llvm::formatv("kernel {0} {1} {2} {3}\n", role, launch->kernel,
                              launch->grid, launch->block);
  if (llvm::Error error = writeArtefactFile(pathOf(fmt::kManifestFile), manifest))
    return error;
  log << "wrote " << directory << ": " << fmt::kKernelsFile << " ("
      << cubin->size() << " bytes), "
      << (options.randomSeed ? "" : std::string(fmt::kWeightsFile) + " (")
      << weightsNote << (options.randomSeed ? "" : ")") << ", "
      << (model.tokenizer ? std::string(fmt::kTokenizerFile) + ", " : "")
      << fmt::kManifestFile << llvm::format(" in %.1f s\n", seconds());
  return llvm::Error::success();
}
