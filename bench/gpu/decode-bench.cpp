//===- decode-bench.cpp - Decode tokens/s of GPU artefacts ---------------===//
//
//   lowbit-bench-decode ARTEFACT... [--tokens N] [--warmup N]
//
// Runs each GPU artefact (quant-compile --target cuda) through the C API,
// one token a step as in generation, and prints its decode tokens/s beside
// the bytes of weights a step reads, the bandwidth that makes, the device's
// copy bandwidth measured in the same run (a 1 GiB device-to-device copy,
// read + write) and the speed-up over the float16 build of the same model
// given before it. Needs only liblowbit, liblowbit_cuda and the CUDA
// driver.
//
//===----------------------------------------------------------------------===//

#include "lowbit-c/lowbit.h"
#include "lowbit-c/lowbit_cuda.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "lowbit-bench-decode: error: %s\n", message.c_str());
  std::exit(1);
}

double seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

/// What a decode step reads, from the artefact's manifest: every weight
/// but the embedding (one row of it), the KV cache aside.
struct StepBytes {
  std::string weights, shape; // the decoder line: the model's extents
  double bytes = 0;
  int64_t layers = 0;
};

StepBytes stepBytes(const std::string &dir) {
  std::ifstream file(dir + "/manifest.txt");
  if (!file)
    fail(dir + "/manifest.txt cannot be read");
  int64_t dim = 0, hidden = 0, heads = 0, kvHeads = 0, headDim = 0,
          vocabRows = 0, group = 0;
  bool headF16 = false;
  StepBytes result;
  std::string line;
  while (std::getline(file, line)) {
    std::istringstream fields(line);
    std::string key;
    fields >> key;
    if (key == "decoder") {
      fields >> dim >> hidden >> heads >> kvHeads >> headDim >> vocabRows >>
          result.layers;
      result.shape = line;
    } else if (key == "head") {
      std::string kind;
      fields >> kind;
      headF16 = kind == "f16";
    } else if (key == "weights") {
      std::string kind;
      fields >> kind;
      if (kind == "w4")
        fields >> group;
      result.weights = kind == "w4" ? "W4A16 g" + std::to_string(group)
                                    : std::string("float16");
    }
  }
  if (!dim || result.weights.empty())
    fail(dir + ": not a GPU artefact (no decoder in its manifest)");
  auto linear = [&](double n, double k) {
    return group ? n * k / 2 + n * (k / group) * 2 : n * k * 2;
  };
  double kv = double(kvHeads * headDim);
  double layer = linear(dim + 2 * kv, dim) + linear(dim, dim) +
                 linear(2 * hidden, dim) + linear(dim, hidden) + 8.0 * dim;
  double head = group && headF16 ? 2.0 * vocabRows * dim
                                 : linear(double(vocabRows), double(dim));
  result.bytes = result.layers * layer + head + 4.0 * dim + 2.0 * dim;
  if (group)
    result.weights += headF16 ? ", head f16" : ", head w4";
  return result;
}

/// Copy bandwidth of the device (read + write bytes a second).
double copyBandwidth() {
  const size_t bytes = size_t(1) << 30;
  uint64_t from = 0, to = 0;
  if (lowbit_cuda_malloc(bytes, &from) || lowbit_cuda_malloc(bytes, &to) ||
      lowbit_cuda_memset(from, 1, bytes))
    fail(std::string("the bandwidth probe: ") + lowbit_cuda_last_error());
  lowbit_cuda_copy_device(to, from, bytes);
  lowbit_cuda_synchronize();
  const int repeats = 10;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i)
    lowbit_cuda_copy_device(to, from, bytes);
  lowbit_cuda_synchronize();
  double elapsed = seconds(start);
  lowbit_cuda_free(from);
  lowbit_cuda_free(to);
  return 2.0 * bytes * repeats / elapsed;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> dirs;
  int64_t tokens = 256, warmup = 16;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto count = [&](int64_t &slot) {
      if (i + 1 >= argc)
        fail(arg + " needs a count");
      char *end;
      slot = std::strtoll(argv[++i], &end, 10);
      if (*end || slot < 1)
        fail(arg + " takes a positive count");
    };
    if (arg == "--tokens")
      count(tokens);
    else if (arg == "--warmup")
      count(warmup);
    else if (!arg.empty() && arg[0] == '-')
      fail("unknown option " + arg +
           "\nusage: lowbit-bench-decode ARTEFACT... [--tokens N] "
           "[--warmup N]");
    else
      dirs.push_back(arg);
  }
  if (dirs.empty())
    fail("usage: lowbit-bench-decode ARTEFACT... [--tokens N] [--warmup N]");

  char device[256] = "an unknown GPU";
  double copy = copyBandwidth();
  lowbit_cuda_device_name(device, sizeof(device));
  std::printf("device: %s; copy bandwidth (1 GiB, read + write): %.0f GB/s\n",
              device, copy / 1e9);
  std::printf("decode: %lld tokens after %lld warm-up tokens, one token a "
              "step (a CUDA graph a step)\n\n",
              (long long)tokens, (long long)warmup);
  std::printf("| artefact | weights | layers | MB a step | ms a token | "
              "tokens/s | GB/s | of copy bw | vs float16 |\n"
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
  std::map<std::string, double> float16Rate; // by the model's extents
  for (const std::string &dir : dirs) {
    StepBytes bytes = stepBytes(dir);
    lowbit_model *model = nullptr;
    if (lowbit_open_on(dir.c_str(), "cuda", &model) != LOWBIT_OK)
      fail(dir + ": " + lowbit_last_error());
    int64_t vocab = lowbit_vocab_size(model);
    int64_t context = lowbit_context_length(model);
    if (warmup + tokens > context)
      fail(dir + ": " + std::to_string(warmup + tokens) +
           " tokens do not fit its context of " + std::to_string(context));
    std::mt19937_64 rng(1);
    std::vector<float> logits(vocab);
    auto run = [&](int64_t count) {
      for (int64_t i = 0; i < count; ++i) {
        int32_t token = int32_t(rng() % uint64_t(vocab));
        if (lowbit_forward(model, &token, 1, logits.data()) != LOWBIT_OK)
          fail(dir + ": " + lowbit_last_error());
      }
    };
    run(warmup);
    auto start = std::chrono::steady_clock::now();
    run(tokens);
    double perToken = seconds(start) / double(tokens);
    lowbit_close(model);
    double rate = 1.0 / perToken;
    if (bytes.weights == "float16")
      float16Rate[bytes.shape] = rate;
    std::string versus = "-";
    if (auto it = float16Rate.find(bytes.shape); it != float16Rate.end()) {
      char ratio[32];
      std::snprintf(ratio, sizeof(ratio), "%.2fx", rate / it->second);
      versus = ratio;
    }
    std::printf("| %s | %s | %lld | %.1f | %.3f | %.1f | %.0f | %.0f%% | "
                "%s |\n",
                dir.c_str(), bytes.weights.c_str(), (long long)bytes.layers,
                bytes.bytes / 1e6, perToken * 1e3, rate,
                bytes.bytes / perToken / 1e9,
                100.0 * bytes.bytes / perToken / copy, versus.c_str());
  }
  return 0;
}
