//===- CudaDecoder.cpp - Run a GPU artefact's decode step ----------------===//
//
// Loads the artefact's cubin through liblowbit_cuda, uploads the weights,
// allocates the activations and the KV cache, and records the step's
// launches (DecodeKernels.h) once as a CUDA graph on a stream of its own:
// a step is then a copy of (token, position) into the device buffer the
// kernels read them from, one graph launch, and a copy of the logits back.
//
//===----------------------------------------------------------------------===//

#include "Decoder.h"

#include "lowbit-c/lowbit_cuda.h"
#include "lowbit/GPU/Layouts.h"

using namespace lowbit::runtime;

namespace {
class CudaDecoder : public Decoder {
public:
  explicit CudaDecoder(const DecoderConfig &config) : c(config) {}
  ~CudaDecoder() override {
    if (graph)
      lowbit_cuda_graph_destroy(graph);
    if (stream)
      lowbit_cuda_stream_destroy(stream);
    for (uint64_t pointer : allocations)
      lowbit_cuda_free(pointer);
    lowbit_cuda_unload(module);
  }

  lowbit_status open(const DecoderWeights &weights, std::string &error);
  lowbit_status step(int32_t token, int64_t position, float *logits,
                     std::string &error) override;

private:
  struct Launch {
    void *kernel;
    uint32_t grid, block;
    std::vector<uint64_t> args;
  };

  /// Fails with the runtime's message when `code` is not OK.
  bool ok(int code, const std::string &what, std::string &error) {
    if (code == LOWBIT_CUDA_OK)
      return true;
    error = what + ": " + lowbit_cuda_last_error();
    return false;
  }
  bool allocate(size_t bytes, uint64_t &pointer, std::string &error) {
    if (!ok(lowbit_cuda_malloc(bytes, &pointer),
            "allocating " + std::to_string(bytes) + " bytes", error))
      return false;
    allocations.push_back(pointer);
    return true;
  }
  /// An activation buffer or cache: it starts as NaN (all bits set, in f16
  /// and f32), so whatever a kernel fails to write shows in the logits.
  bool scratch(size_t bytes, uint64_t &pointer, std::string &error) {
    return allocate(bytes, pointer, error) &&
           ok(lowbit_cuda_memset(pointer, 0xff, bytes), "poisoning", error);
  }
  bool add(const std::string &role, std::vector<uint64_t> args,
           std::string &error);

  DecoderConfig c;
  lowbit_cuda_module *module = nullptr;
  void *stream = nullptr, *graph = nullptr;
  std::vector<uint64_t> allocations;
  std::map<std::string, uint64_t> weightOf;
  uint64_t stepBuffer = 0, logitsBuffer = 0;
  std::vector<Launch> launches;
  std::vector<uint16_t> hostLogits;
};
} // namespace

bool CudaDecoder::add(const std::string &role, std::vector<uint64_t> args,
                      std::string &error) {
  auto it = c.kernels.find(role);
  if (it == c.kernels.end()) {
    error = "the manifest has no kernel for the step's " + role;
    return false;
  }
  void *kernel;
  if (!ok(lowbit_cuda_get_kernel(module, it->second.name.c_str(), &kernel),
          c.directory + "/kernels.cubin", error))
    return false;
  launches.push_back(
      {kernel, it->second.grid, it->second.block, std::move(args)});
  return true;
}

lowbit_status CudaDecoder::open(const DecoderWeights &weights,
                                std::string &error) {
  std::string cubin = c.directory + "/kernels.cubin";
  if (!ok(lowbit_cuda_load(cubin.c_str(), 0, &module), "loading " + cubin,
          error))
    return LOWBIT_ERROR_DEVICE;
  for (const std::string &name : weights.names()) {
    DecoderWeights::View view = weights.get(name);
    if (!view.data)
      continue;
    uint64_t pointer;
    if (!allocate(view.bytes, pointer, error) ||
        !ok(lowbit_cuda_copy_to_device(pointer, view.data, view.bytes),
            "uploading " + name, error))
      return LOWBIT_ERROR_DEVICE;
    weightOf[name] = pointer;
  }
  const int64_t D = c.dim, KV = c.kvDim();
  std::vector<float> rope = ropeTable(c);
  uint64_t ropeBuffer, h, xn, qkv, attention, delta, gu, act, keys, values;
  size_t cacheBytes = size_t(c.layers * c.context * KV * 2);
  if (!allocate(8, stepBuffer, error) ||
      !allocate(rope.size() * 4, ropeBuffer, error) ||
      !scratch(D * 4, h, error) || !scratch(D * 2, xn, error) ||
      !scratch(c.qkvDim() * 2, qkv, error) ||
      !scratch(D * 2, attention, error) || !scratch(D * 2, delta, error) ||
      !scratch(4 * c.hidden, gu, error) || !scratch(2 * c.hidden, act, error) ||
      !scratch(c.vocabRows * 2, logitsBuffer, error) ||
      !scratch(cacheBytes, keys, error) || !scratch(cacheBytes, values, error))
    return LOWBIT_ERROR_DEVICE;
  if (!ok(lowbit_cuda_copy_to_device(ropeBuffer, rope.data(), rope.size() * 4),
          "uploading the RoPE table", error))
    return LOWBIT_ERROR_DEVICE;

  // The matmul `role` of weight `name`: (x, w[, scales], y).
  auto matmul = [&](const std::string &role, const std::string &name,
                    uint64_t x, uint64_t y) {
    std::string weight = weightOf.count(name) ? name : "token_embd";
    std::vector<uint64_t> args = {x, weightOf[weight]};
    if (c.isW4(name))
      args.push_back(weightOf[weight + ".scales"]);
    args.push_back(y);
    return add(role, args, error);
  };
  bool built = add("embed", {weightOf["token_embd"], stepBuffer, h}, error);
  for (int64_t l = 0; built && l < c.layers; ++l) {
    std::string p = "blk." + std::to_string(l) + ".";
    uint64_t layerKeys = keys + uint64_t(l * c.context * KV * 2);
    uint64_t layerValues = values + uint64_t(l * c.context * KV * 2);
    built = (l == 0 ? add("norm", {h, weightOf[p + "attn_norm"], xn}, error)
                    : add("add_norm", {h, delta, weightOf[p + "attn_norm"], xn},
                          error)) &&
            matmul("qkv", p + "qkv", xn, qkv) &&
            add("attention",
                {qkv, ropeBuffer, layerKeys, layerValues, stepBuffer,
                 attention},
                error) &&
            matmul("attn_out", p + "attn_out", attention, delta) &&
            add("add_norm", {h, delta, weightOf[p + "ffn_norm"], xn}, error) &&
            matmul("gate_up", p + "gate_up", xn, gu) &&
            add("silu_mul", {gu, act}, error) &&
            matmul("ffn_down", p + "ffn_down", act, delta);
  }
  built = built &&
          add("add_norm", {h, delta, weightOf["output_norm"], xn}, error) &&
          matmul("head", "output", xn, logitsBuffer);
  if (!built)
    return LOWBIT_ERROR_FORMAT;

  // One graph of the whole step.
  if (!ok(lowbit_cuda_stream_create(&stream), "creating a stream", error) ||
      !ok(lowbit_cuda_graph_begin(stream), "recording the step", error))
    return LOWBIT_ERROR_DEVICE;
  for (const Launch &launch : launches)
    if (!ok(lowbit_cuda_launch_kernel(launch.kernel, launch.grid, launch.block,
                                      launch.args.data(), launch.args.size(),
                                      stream),
            "recording the step", error)) {
      lowbit_cuda_graph_end(stream, &graph);
      return LOWBIT_ERROR_DEVICE;
    }
  if (!ok(lowbit_cuda_graph_end(stream, &graph), "recording the step", error))
    return LOWBIT_ERROR_DEVICE;
  hostLogits.resize(c.vocabRows);
  return LOWBIT_OK;
}

lowbit_status CudaDecoder::step(int32_t token, int64_t position, float *logits,
                                std::string &error) {
  int32_t values[2] = {token, int32_t(position)};
  if (!ok(lowbit_cuda_copy_to_device(stepBuffer, values, sizeof(values)),
          "the step's token", error) ||
      !ok(lowbit_cuda_graph_launch(graph, stream), "running the step", error) ||
      !ok(lowbit_cuda_stream_synchronize(stream), "running the step", error))
    return LOWBIT_ERROR_DEVICE;
  if (!logits)
    return LOWBIT_OK;
  if (!ok(lowbit_cuda_copy_to_host(hostLogits.data(), logitsBuffer,
                                   hostLogits.size() * 2),
          "reading the logits", error))
    return LOWBIT_ERROR_DEVICE;
  for (int64_t i = 0; i < c.vocab; ++i)
    logits[i] = mlir::lowbit::gpu::halfBitsToFloat(hostLogits[i]);
  return LOWBIT_OK;
}

std::unique_ptr<Decoder>
lowbit::runtime::openCudaDecoder(const DecoderConfig &config,
                                 const DecoderWeights &weights,
                                 lowbit_status &status, std::string &error) {
  auto decoder = std::make_unique<CudaDecoder>(config);
  status = decoder->open(weights, error);
  if (status != LOWBIT_OK)
    return nullptr;
  return decoder;
}
