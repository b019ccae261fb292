//===- lowbit-gpu-check.cpp - Check LowBit's GPU kernels on the GPU -------===//
//
// Runs every kernel of a directory written by lowbit-gpu-kernels on the GPU,
// through liblowbit_cuda, against a CPU reference computed here in double
// precision from the same random (never zero) inputs. Weights are packed by
// LowBit's own packers (Layouts.h), outputs are poisoned with NaN first so
// that an element left unwritten fails, and each kernel is run on fresh
// draws. Prints one line a check and `N passed, M failed`; exits non-zero
// on a failure. Needs only the CUDA driver: no LLVM, MLIR, toolkit or
// Python.
//
//   lowbit-gpu-check DIR [--seeds N]
//   lowbit-gpu-check --model ARTEFACT... [--steps N]  # a decoder's whole step
//
//===----------------------------------------------------------------------===//

#include "lowbit-c/lowbit.h"
#include "lowbit-c/lowbit_cuda.h"
#include "lowbit/GPU/Layouts.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace lbgpu = mlir::lowbit::gpu;

namespace {

[[noreturn]] void fail(const std::string &message) {
  std::fprintf(stderr, "lowbit-gpu-check: error: %s\n", message.c_str());
  std::exit(1);
}

void check(int status, const char *what) {
  if (status != LOWBIT_CUDA_OK)
    fail(std::string(what) + ": " + lowbit_cuda_last_error());
}

bool isNan(uint16_t half) {
  return (half & 0x7c00) == 0x7c00 && (half & 0x3ff);
}

/// One line of kernels.txt: `NAME KIND M N K G grid GRID block BLOCK`.
struct Kernel {
  std::string name, kind;
  int64_t m, n, k, group;
  uint32_t grid, block;
};

std::vector<Kernel> readManifest(const std::string &dir) {
  std::string path = dir + "/kernels.txt";
  std::ifstream file(path);
  if (!file)
    fail("cannot read " + path +
         " (a directory written by "
         "lowbit-gpu-kernels -o DIR)");
  std::vector<Kernel> kernels;
  std::string line;
  for (int number = 1; std::getline(file, line); ++number) {
    std::istringstream fields(line);
    Kernel kernel;
    std::string gridWord, blockWord, extra;
    if (line.find(" decode_") != std::string::npos)
      continue; // NAME decode_ROLE grid G block B: see --model
    if (!(fields >> kernel.name >> kernel.kind >> kernel.m >> kernel.n >>
          kernel.k >> kernel.group >> gridWord >> kernel.grid >> blockWord >>
          kernel.block) ||
        gridWord != "grid" || blockWord != "block" || (fields >> extra))
      fail(path + ":" + std::to_string(number) +
           ": expected NAME KIND M N K G grid GRID block BLOCK");
    // A decoder's step is checked whole, through an artefact (--model).
    if (kernel.kind.rfind("decode_", 0) == 0)
      continue;
    if (kernel.kind != "gemv_w4" && kernel.kind != "mma_w4" &&
        kernel.kind != "mma_w8a8")
      fail(path + ":" + std::to_string(number) + ": unknown kernel kind '" +
           kernel.kind + "' (expected gemv_w4, mma_w4 or mma_w8a8)");
    // W8A8 kernels scale per channel: their group is 0.
    bool perChannel = kernel.kind == "mma_w8a8";
    if (kernel.m < 1 || kernel.n < 1 || kernel.n % 16 || kernel.k < 64 ||
        kernel.k % 64 ||
        (perChannel ? kernel.group != 0
                    : kernel.group < 1 || kernel.k % kernel.group))
      fail(path + ":" + std::to_string(number) +
           ": impossible shape M=" + std::to_string(kernel.m) +
           " N=" + std::to_string(kernel.n) + " K=" + std::to_string(kernel.k) +
           " G=" + std::to_string(kernel.group));
    kernels.push_back(kernel);
  }
  if (kernels.empty())
    fail(path + ": no kernels");
  return kernels;
}

/// Device memory freed on scope exit.
struct DeviceBuffer {
  uint64_t pointer = 0;
  explicit DeviceBuffer(size_t bytes) {
    check(lowbit_cuda_malloc(bytes, &pointer), "allocating device memory");
  }
  ~DeviceBuffer() {
    if (pointer)
      lowbit_cuda_free(pointer);
  }
  DeviceBuffer(DeviceBuffer &&other) : pointer(other.pointer) {
    other.pointer = 0;
  }
  DeviceBuffer(const DeviceBuffer &) = delete;
  DeviceBuffer &operator=(const DeviceBuffer &) = delete;
};

template <typename T> DeviceBuffer upload(const std::vector<T> &host) {
  DeviceBuffer buffer(host.size() * sizeof(T));
  check(lowbit_cuda_copy_to_device(buffer.pointer, host.data(),
                                   host.size() * sizeof(T)),
        "copying to the device");
  return buffer;
}

/// Runs `kernel` on device copies of `inputs` and an output of `m` x `n`
/// f16 poisoned with NaN; returns the output.
std::vector<uint16_t> run(lowbit_cuda_module *module, const Kernel &kernel,
                          std::vector<DeviceBuffer> inputs) {
  std::vector<uint16_t> y(kernel.m * kernel.n, 0x7e00); // NaN shows unwritten
  inputs.push_back(upload(y));
  std::vector<uint64_t> args;
  for (const DeviceBuffer &buffer : inputs)
    args.push_back(buffer.pointer);
  check(lowbit_cuda_launch(module, kernel.name.c_str(), kernel.grid,
                           kernel.block, args.data(), args.size(), nullptr),
        ("launching " + kernel.name).c_str());
  check(lowbit_cuda_synchronize(), ("running " + kernel.name).c_str());
  check(lowbit_cuda_copy_to_host(y.data(), inputs.back().pointer, y.size() * 2),
        "copying from the device");
  return y;
}

/// Compares `y` with `reference` ([M, N]); prints the check's line.
bool compare(const Kernel &kernel, unsigned seed,
             const std::vector<uint16_t> &y,
             const std::vector<double> &reference) {
  double error = 0, norm = 0;
  int64_t unwritten = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (isNan(y[i])) {
      ++unwritten;
      continue;
    }
    double difference = lbgpu::halfBitsToFloat(y[i]) - reference[i];
    error += difference * difference;
    norm += reference[i] * reference[i];
  }
  double relative = std::sqrt(error / norm);
  // f16 outputs round to 2^-11 relative; 2e-3 leaves room for the sums.
  bool ok = unwritten == 0 && relative < 2e-3;
  std::printf("check %s seed %u: relative error %.2e, %lld unwritten: %s\n",
              kernel.name.c_str(), seed, relative, (long long)unwritten,
              ok ? "ok" : "FAIL");
  return ok;
}

/// The W8A8 kernel: int8 weights and activations, per-channel and
/// per-token f32 scales.
bool checkW8A8(lowbit_cuda_module *module, const Kernel &kernel,
               unsigned seed) {
  const int64_t m = kernel.m, n = kernel.n, k = kernel.k;
  std::mt19937 rng(seed * 7919 + unsigned(m * 31 + n + k));
  std::uniform_int_distribution<int> value(-127, 127);
  std::uniform_real_distribution<float> weightScale(0.001f, 0.01f),
      activationScale(0.01f, 0.05f);
  std::vector<int8_t> weights(n * k), x(m * k);
  for (int8_t &v : weights)
    v = int8_t(value(rng));
  for (int8_t &v : x)
    v = int8_t(value(rng));
  std::vector<float> ws(n), xs(m);
  for (float &s : ws)
    s = weightScale(rng);
  for (float &s : xs)
    s = activationScale(rng);
  std::vector<DeviceBuffer> inputs;
  inputs.push_back(upload(x));
  inputs.push_back(upload(xs));
  inputs.push_back(upload(lbgpu::packW8ForMma(weights, n, k)));
  inputs.push_back(upload(ws));
  std::vector<uint16_t> y = run(module, kernel, std::move(inputs));
  std::vector<double> reference(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t row = 0; row < n; ++row) {
      int64_t sum = 0;
      for (int64_t col = 0; col < k; ++col)
        sum += int64_t(x[i * k + col]) * weights[row * k + col];
      reference[i * n + row] = double(sum) * xs[i] * ws[row];
    }
  return compare(kernel, seed, y, reference);
}

/// Runs one kernel on draws of `seed`; returns whether it matched.
bool checkKernel(lowbit_cuda_module *module, const Kernel &kernel,
                 unsigned seed) {
  const int64_t m = kernel.m, n = kernel.n, k = kernel.k, g = kernel.group;
  std::mt19937 rng(seed * 7919 + unsigned(m * 31 + n + k));
  std::uniform_int_distribution<int> code(-8, 7);
  std::uniform_real_distribution<float> scale(0.005f, 0.025f);
  std::normal_distribution<float> activation(0.0f, 1.0f);
  std::vector<int8_t> codes(n * k);
  for (int8_t &c : codes)
    c = int8_t(code(rng));
  std::vector<uint16_t> scales(n * (k / g)), x(m * k);
  for (uint16_t &s : scales)
    s = lbgpu::floatToHalfBits(scale(rng));
  for (uint16_t &v : x)
    v = lbgpu::floatToHalfBits(activation(rng));
  std::vector<uint32_t> words = kernel.kind == "mma_w4"
                                    ? lbgpu::packW4ForMma(codes, n, k)
                                    : lbgpu::packW4ForGpu(codes, n, k);
  std::vector<DeviceBuffer> inputs;
  inputs.push_back(upload(x));
  inputs.push_back(upload(words));
  inputs.push_back(upload(scales));
  std::vector<uint16_t> y = run(module, kernel, std::move(inputs));
  std::vector<double> reference(m * n);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t row = 0; row < n; ++row) {
      double expected = 0;
      for (int64_t col = 0; col < k; ++col)
        expected += double(lbgpu::halfBitsToFloat(x[i * k + col])) *
                    codes[row * k + col] *
                    lbgpu::halfBitsToFloat(scales[row * (k / g) + col / g]);
      reference[i * n + row] = expected;
    }
  return compare(kernel, seed, y, reference);
}

/// Runs a GPU artefact's decode step on the GPU and on the host reference
/// (lowbit_open_on "reference": the same step in f32 with the same f16
/// roundings) over `steps` seeded tokens and compares every step's logits:
/// the largest difference relative to the largest reference logit must be
/// within `bound`, and no logit may be NaN (the runtime poisons its buffers
/// with NaN when it opens the model).
bool checkModel(const std::string &dir, int64_t steps, double bound) {
  lowbit_model *gpu = nullptr, *host = nullptr;
  if (lowbit_open_on(dir.c_str(), "cuda", &gpu) != LOWBIT_OK)
    fail(dir + " on the GPU: " + lowbit_last_error());
  if (lowbit_open_on(dir.c_str(), "reference", &host) != LOWBIT_OK)
    fail(dir + " on the reference: " + lowbit_last_error());
  const int64_t vocab = lowbit_vocab_size(gpu);
  steps = std::min(steps, lowbit_context_length(gpu));
  std::vector<float> got(vocab), want(vocab);
  std::mt19937_64 rng(7);
  double worst = 0;
  int64_t agree = 0;
  bool finite = true;
  for (int64_t step = 0; step < steps; ++step) {
    int32_t token = int32_t(rng() % uint64_t(vocab));
    if (lowbit_forward(gpu, &token, 1, got.data()) != LOWBIT_OK)
      fail(dir + " on the GPU: " + lowbit_last_error());
    if (lowbit_forward(host, &token, 1, want.data()) != LOWBIT_OK)
      fail(dir + " on the reference: " + lowbit_last_error());
    double largest = 0, difference = 0;
    for (int64_t i = 0; i < vocab; ++i) {
      finite = finite && std::isfinite(got[i]);
      largest = std::max(largest, std::fabs(double(want[i])));
      difference = std::max(difference, std::fabs(double(got[i]) - want[i]));
    }
    worst = std::max(worst, difference / std::max(largest, 1e-30));
    agree += std::max_element(got.begin(), got.end()) - got.begin() ==
             std::max_element(want.begin(), want.end()) - want.begin();
  }
  lowbit_close(gpu);
  lowbit_close(host);
  bool ok = finite && worst <= bound;
  std::printf("%s model %s: %lld steps, max |gpu - reference| / max "
              "|reference| = %.2e (bound %.0e), same top token %lld/%lld%s\n",
              ok ? "PASS" : "FAIL", dir.c_str(), (long long)steps, worst, bound,
              (long long)agree, (long long)steps,
              finite ? "" : ", NaN or inf in the GPU's logits");
  return ok;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<std::string> models;
  int64_t steps = 32;
  std::string dir;
  unsigned seeds = 2;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--seeds" && i + 1 < argc) {
      char *end;
      long value = std::strtol(argv[++i], &end, 10);
      if (*end || value < 1 || value > 100)
        fail("--seeds takes a count from 1 to 100");
      seeds = unsigned(value);
    } else if (arg == "--model" && i + 1 < argc) {
      models.push_back(argv[++i]);
    } else if (arg == "--steps" && i + 1 < argc) {
      char *end;
      steps = std::strtol(argv[++i], &end, 10);
      if (*end || steps < 1)
        fail("--steps takes a positive count");
    } else if (!arg.empty() && arg[0] == '-') {
      fail("unknown option " + arg +
           "\nusage: lowbit-gpu-check DIR "
           "[--seeds N]");
    } else if (dir.empty()) {
      dir = arg;
    } else {
      fail("one directory expected\nusage: lowbit-gpu-check DIR [--seeds N]");
    }
  }
  if (dir.empty() && models.empty())
    fail("usage: lowbit-gpu-check DIR [--seeds N] (DIR written by "
         "lowbit-gpu-kernels -o DIR), or --model ARTEFACT... [--steps N] "
         "(GPU artefacts from quant-compile --target cuda)");
  if (dir.empty()) {
    int passed = 0, failed = 0;
    for (const std::string &model : models)
      (checkModel(model, steps, 2e-2) ? passed : failed) += 1;
    std::printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
  }
  std::vector<Kernel> kernels = readManifest(dir);
  lowbit_cuda_module *module = nullptr;
  check(lowbit_cuda_load((dir + "/kernels.cubin").c_str(), 0, &module),
        "cannot use the GPU");
  int passed = 0, failed = 0;
  for (const Kernel &kernel : kernels)
    for (unsigned seed = 1; seed <= seeds; ++seed)
      ((kernel.kind == "mma_w8a8" ? checkW8A8(module, kernel, seed)
                                  : checkKernel(module, kernel, seed))
           ? passed
           : failed) += 1;
  lowbit_cuda_unload(module);
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
