//===- lowbit.cpp - liblowbit: run an ahead-of-time artefact --------------===//
//
// Opens an artefact (see lowbit/Artefact/Format.h): checks the manifest,
// maps the weight file and checks its header, index and every weight's hash,
// loads model.so, points each of its weight slots at the mapped bytes and
// calls its forward_T entry points on memref descriptors, keeping the KV
// caches between calls. GPU artefacts run through Decoder.h instead. Plain
// C++ and POSIX: no LLVM, no MLIR.
//
//===----------------------------------------------------------------------===//

#include "lowbit-c/lowbit.h"
#include "lowbit/Artefact/Format.h"

#include "Decoder.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <dlfcn.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace lowbit::artefact;

namespace {

thread_local std::string lastError;

lowbit_status failWith(lowbit_status status, std::string message) {
  lastError = std::move(message);
  return status;
}

/// A ranked memref descriptor as MLIR's C interface lays it out.
template <int Rank> struct Descriptor {
  void *allocated, *aligned;
  int64_t offset, sizes[Rank], strides[Rank];
};

template <int Rank>
Descriptor<Rank> describe(void *data, const std::vector<int64_t> &shape) {
  Descriptor<Rank> descriptor{data, data, 0, {}, {}};
  int64_t stride = 1;
  for (int d = Rank - 1; d >= 0; --d) {
    descriptor.sizes[d] = shape[d];
    descriptor.strides[d] = stride;
    stride *= shape[d];
  }
  return descriptor;
}

using ForwardFn = void (*)(Descriptor<2> *, Descriptor<1> *, Descriptor<1> *,
                           Descriptor<4> *, Descriptor<4> *);

int64_t product(const std::vector<int64_t> &shape) {
  int64_t count = 1;
  for (int64_t extent : shape)
    count *= extent;
  return count;
}

} // namespace

struct lowbit_model {
  std::string directory;
  int64_t vocab = 0, context = 0, position = 0;
  std::vector<int64_t> keyShape, valueShape;
  std::map<int64_t, ForwardFn> entries; // by token count, ascending
  std::vector<float> keyCache, valueCache;
  void *library = nullptr;
  void *weights = MAP_FAILED;
  size_t weightsSize = 0;

  ~lowbit_model() {
    if (library)
      dlclose(library);
    if (weights != MAP_FAILED)
      munmap(weights, weightsSize);
  }

  lowbit_status readManifest();
  template <typename Bad>
  lowbit_status readDecoderLine(const std::string &key,
                                const std::vector<std::string> &words,
                                const std::vector<int64_t> &values,
                                bool numeric, Bad bad, bool &handled);
  lowbit_status mapWeights(std::vector<std::pair<std::string, void *>> &out);
  lowbit_status openDecoder(
      const std::vector<std::pair<std::string, void *>> &weightAddresses,
      const char *device);
  lowbit_status loadLibrary(
      const std::vector<std::pair<std::string, void *>> &weightAddresses,
      const std::vector<int64_t> &tokenCounts);
  lowbit_status runEntry(int64_t entryTokens, const int32_t *tokens,
                         int64_t count, float *logits);

  std::vector<int64_t> tokenCounts;

  // GPU artefacts: the decoder the manifest describes and its runner.
  std::string target;
  std::map<std::string, size_t> weightSizes;
  lowbit::runtime::DecoderConfig decoder;
  std::unique_ptr<lowbit::runtime::Decoder> runner;
};

lowbit_status lowbit_model::openDecoder(
    const std::vector<std::pair<std::string, void *>> &weightAddresses,
    const char *device) {
  std::map<std::string, std::pair<const void *, size_t>> mapped;
  for (const auto &[name, address] : weightAddresses)
    mapped[name] = {address, weightSizes.at(name)};
  lowbit::runtime::DecoderWeights loaded;
  std::string error;
  if (lowbit_status status = loaded.init(decoder, mapped, error);
      status != LOWBIT_OK)
    return failWith(status, directory + "/" + kWeightsFile + ": " + error);
  std::string where = device ? device : "cuda";
  if (where == "reference") {
    runner = lowbit::runtime::openReferenceDecoder(decoder, loaded);
    // The reference copies what it needs.
    return LOWBIT_OK;
  }
  if (where != "cuda")
    return failWith(LOWBIT_ERROR_ARGUMENT,
                    "unknown device '" + where +
                        "' for a GPU artefact (cuda or reference)");
  lowbit_status status = LOWBIT_OK;
  runner = lowbit::runtime::openCudaDecoder(decoder, loaded, status, error);
  if (!runner)
    return failWith(status, directory + ": " + error);
  return LOWBIT_OK;
}

lowbit_status lowbit_model::readManifest() {
  std::string path = directory + "/" + kManifestFile;
  std::ifstream file(path);
  if (!file)
    return failWith(LOWBIT_ERROR_IO, path + ": cannot be read (" +
                                         std::strerror(errno) +
                                         "); is this a quant-compile artefact?");
  std::string magic;
  int version = 0;
  file >> magic >> version;
  if (magic != kManifestMagic)
    return failWith(LOWBIT_ERROR_FORMAT,
                    path + ":1: not a LowBit artefact manifest");
  if (version != kManifestVersion)
    return failWith(LOWBIT_ERROR_FORMAT,
                    path + ":1: artefact version " + std::to_string(version) +
                        ", this runtime reads version " +
                        std::to_string(kManifestVersion));
  std::string line;
  std::getline(file, line);
  int lineNumber = 1;
  while (std::getline(file, line)) {
    ++lineNumber;
    std::istringstream fields(line);
    std::string key;
    if (!(fields >> key))
      continue;
    std::vector<std::string> words;
    for (std::string word; fields >> word;)
      words.push_back(word);
    // The numeric fields (all of a line's fields for most keys).
    std::vector<int64_t> values;
    bool numeric = true;
    for (const std::string &word : words) {
      char *end = nullptr;
      errno = 0;
      long long value = std::strtoll(word.c_str(), &end, 10);
      numeric = numeric && errno == 0 && end && *end == '\0';
      values.push_back(value);
    }
    auto bad = [&](const std::string &why) {
      return failWith(LOWBIT_ERROR_FORMAT, path + ":" +
                                               std::to_string(lineNumber) +
                                               ": " + key + ": " + why);
    };
    if (key == "target") {
      if (words.size() != 1)
        return bad("expected one target");
      target = words[0];
      continue;
    }
    bool decoderKey = false;
    if (lowbit_status status =
            readDecoderLine(key, words, values, numeric, bad, decoderKey);
        status != LOWBIT_OK)
      return status;
    if (decoderKey)
      continue;
    if (!numeric)
      return bad("expected numbers");
    if (key == "vocab" || key == "context") {
      if (values.size() != 1 || values[0] < 1)
        return bad("expected one positive number");
      (key == "vocab" ? vocab : context) = values[0];
    } else if (key == "entries") {
      if (values.empty())
        return bad("expected token counts");
      tokenCounts = values;
    } else if (key == "key_cache" || key == "value_cache") {
      if (values.size() != 4)
        return bad("expected 4 extents");
      for (int64_t extent : values)
        if (extent < 1)
          return bad("extents must be positive");
      (key == "key_cache" ? keyShape : valueShape) = values;
    }
  }
  if (target == "cuda") {
    decoder.directory = directory;
    decoder.vocab = vocab;
    decoder.context = context;
    if (!vocab || !context || !decoder.dim || decoder.kernels.size() < 10)
      return failWith(LOWBIT_ERROR_FORMAT,
                      path + ": incomplete (a GPU artefact needs vocab, "
                             "context, decoder, weights and a kernel for each "
                             "of the 10 roles of the step)");
    if (vocab > decoder.vocabRows)
      return failWith(LOWBIT_ERROR_FORMAT,
                      path + ": the decoder has fewer vocabulary rows than "
                             "the vocabulary");
    return LOWBIT_OK;
  }
  if (!vocab || !context || tokenCounts.empty() || keyShape.empty() ||
      valueShape.empty())
    return failWith(LOWBIT_ERROR_FORMAT,
                    path + ": incomplete (needs vocab, context, entries, "
                           "key_cache and value_cache)");
  return LOWBIT_OK;
}

template <typename Bad>
lowbit_status lowbit_model::readDecoderLine(
    const std::string &key, const std::vector<std::string> &words,
    const std::vector<int64_t> &values, bool numeric, Bad bad, bool &handled) {
  handled = true;
  auto positive = [&](size_t count) {
    if (values.size() != count || !numeric)
      return false;
    for (int64_t value : values)
      if (value < 1)
        return false;
    return true;
  };
  if (key == "decoder") {
    if (!positive(7))
      return bad("expected 7 positive extents (dim hidden heads kv_heads "
                 "head_dim vocab_rows layers)");
    decoder.dim = values[0];
    decoder.hidden = values[1];
    decoder.heads = values[2];
    decoder.kvHeads = values[3];
    decoder.headDim = values[4];
    decoder.vocabRows = values[5];
    decoder.layers = values[6];
    if (decoder.heads * decoder.headDim != decoder.dim ||
        decoder.heads % decoder.kvHeads)
      return bad("the heads do not divide the model width");
  } else if (key == "norm_eps" || key == "rope_theta") {
    char *end = nullptr;
    float value = words.size() == 1 ? std::strtof(words[0].c_str(), &end) : 0;
    if (!end || *end || !(value > 0))
      return bad("expected one positive number");
    (key == "norm_eps" ? decoder.normEps : decoder.ropeTheta) = value;
  } else if (key == "weights") {
    if (words.size() == 1 && words[0] == "f16")
      decoder.group = 0;
    else if (words.size() == 2 && words[0] == "w4" &&
             std::strtoll(words[1].c_str(), nullptr, 10) >= 64)
      decoder.group = std::strtoll(words[1].c_str(), nullptr, 10);
    else
      return bad("expected f16 or w4 GROUP");
  } else if (key == "head") {
    if (words.size() != 1 || (words[0] != "f16" && words[0] != "w4"))
      return bad("expected f16 or w4");
    decoder.headF16 = words[0] == "f16";
  } else if (key == "random") {
    if (values.size() != 1 || !numeric || values[0] < 0)
      return bad("expected a seed");
    decoder.randomSeed = uint64_t(values[0]);
  } else if (key == "kernel") {
    char *end = nullptr;
    if (words.size() != 4)
      return bad("expected ROLE NAME GRID BLOCK");
    long grid = std::strtol(words[2].c_str(), &end, 10);
    long block = *end ? 0 : std::strtol(words[3].c_str(), &end, 10);
    if (*end || grid < 1 || block < 1 || block > 1024)
      return bad("expected a positive grid and a block of 1 to 1024 threads");
    decoder.kernels[words[0]] = {words[1], uint32_t(grid), uint32_t(block)};
  } else if (key != "chip") { // the chip is the cubin's, checked on load
    handled = false;
  }
  return LOWBIT_OK;
}

lowbit_status lowbit_model::mapWeights(
    std::vector<std::pair<std::string, void *>> &out) {
  std::string path = directory + "/" + kWeightsFile;
  int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0)
    return failWith(LOWBIT_ERROR_IO, path + ": cannot be opened (" +
                                         std::strerror(errno) + ")");
  struct stat info;
  if (fstat(fd, &info) != 0) {
    close(fd);
    return failWith(LOWBIT_ERROR_IO, path + ": cannot be read");
  }
  weightsSize = size_t(info.st_size);
  if (weightsSize < sizeof(WeightsHeader)) {
    close(fd);
    return failWith(LOWBIT_ERROR_FORMAT,
                    path + ": truncated (" + std::to_string(weightsSize) +
                        " bytes, shorter than the header)");
  }
  weights = mmap(nullptr, weightsSize, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (weights == MAP_FAILED)
    return failWith(LOWBIT_ERROR_IO, path + ": cannot be mapped (" +
                                         std::strerror(errno) + ")");
  const auto *base = static_cast<const unsigned char *>(weights);
  WeightsHeader header;
  std::memcpy(&header, base, sizeof(header));
  if (std::memcmp(header.magic, kWeightsMagic, sizeof(kWeightsMagic)) != 0)
    return failWith(LOWBIT_ERROR_FORMAT,
                    path + ": not a LowBit weight file (bad magic)");
  if (header.version != kWeightsVersion)
    return failWith(LOWBIT_ERROR_FORMAT,
                    path + ": weight file version " +
                        std::to_string(header.version) + ", expected " +
                        std::to_string(kWeightsVersion));
  if (header.fileSize != weightsSize)
    return failWith(LOWBIT_ERROR_FORMAT,
                    path + ": " + std::to_string(weightsSize) +
                        " bytes, the header says " +
                        std::to_string(header.fileSize) +
                        " (truncated or appended to)");
  uint64_t at = sizeof(WeightsHeader);
  for (uint32_t i = 0; i < header.count; ++i) {
    uint32_t length;
    if (at + 4 > weightsSize)
      return failWith(LOWBIT_ERROR_FORMAT, path + ": index truncated");
    std::memcpy(&length, base + at, 4);
    at += 4;
    if (length == 0 || length > 4096 || at + length > weightsSize)
      return failWith(LOWBIT_ERROR_FORMAT,
                      path + ": index entry " + std::to_string(i) +
                          " has a bad name length");
    std::string name(reinterpret_cast<const char *>(base + at), length);
    at = alignTo(at + length, 8);
    WeightRecord record;
    if (at + sizeof(record) > weightsSize)
      return failWith(LOWBIT_ERROR_FORMAT, path + ": index truncated");
    std::memcpy(&record, base + at, sizeof(record));
    at += sizeof(record);
    if (record.offset % kWeightAlignment != 0 || record.offset > weightsSize ||
        record.size > weightsSize - record.offset)
      return failWith(LOWBIT_ERROR_FORMAT,
                      path + ": weight '" + name +
                          "' lies outside the file");
    if (hashBytes(base + record.offset, record.size) != record.hash)
      return failWith(LOWBIT_ERROR_FORMAT,
                      path + ": weight '" + name +
                          "' is corrupt (its hash does not match)");
    out.emplace_back(name, const_cast<unsigned char *>(base + record.offset));
    weightSizes[name] = record.size;
  }
  return LOWBIT_OK;
}

lowbit_status lowbit_model::loadLibrary(
    const std::vector<std::pair<std::string, void *>> &weightAddresses,
    const std::vector<int64_t> &counts) {
  // The code calls back into this library (memrefCopy): make its symbols
  // global even when it was itself loaded with RTLD_LOCAL (by Python).
  Dl_info self;
  if (dladdr(reinterpret_cast<void *>(&lowbit_open), &self) && self.dli_fname)
    dlopen(self.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
  std::string path = directory + "/" + kLibraryFile;
  library = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!library)
    return failWith(LOWBIT_ERROR_IO, path + ": cannot be loaded (" +
                                         std::string(dlerror()) + ")");
  for (const auto &[name, address] : weightAddresses) {
    std::string slot = kWeightSlotPrefix + name;
    auto **pointer = static_cast<void **>(dlsym(library, slot.c_str()));
    if (!pointer)
      return failWith(LOWBIT_ERROR_FORMAT,
                      path + ": has no slot for weight '" + name +
                          "' (the code and the weight file do not match)");
    *pointer = address;
  }
  for (int64_t tokens : counts) {
    std::string symbol = "_mlir_ciface_forward_" + std::to_string(tokens);
    void *entry = dlsym(library, symbol.c_str());
    if (!entry)
      return failWith(LOWBIT_ERROR_FORMAT,
                      path + ": has no entry point " + symbol);
    entries[tokens] = reinterpret_cast<ForwardFn>(entry);
  }
  return LOWBIT_OK;
}

lowbit_status lowbit_model::runEntry(int64_t entryTokens,
                                     const int32_t *tokens, int64_t count,
                                     float *logits) {
  std::vector<int32_t> ids(entryTokens, 0);
  std::copy(tokens, tokens + count, ids.begin());
  int32_t at = int32_t(position);
  Descriptor<1> tokenArg = describe<1>(ids.data(), {entryTokens});
  Descriptor<1> positionArg = describe<1>(&at, {1});
  Descriptor<4> keyArg = describe<4>(keyCache.data(), keyShape);
  Descriptor<4> valueArg = describe<4>(valueCache.data(), valueShape);
  Descriptor<2> result{};
  entries.at(entryTokens)(&result, &tokenArg, &positionArg, &keyArg,
                          &valueArg);
  if (!result.aligned)
    return failWith(LOWBIT_ERROR_FORMAT, "the entry point returned no logits");
  if (logits) {
    const auto *rows = static_cast<const float *>(result.aligned) +
                       result.offset;
    for (int64_t row = 0; row < count; ++row)
      std::memcpy(logits + row * vocab, rows + row * result.strides[0],
                  sizeof(float) * vocab);
  }
  std::free(result.allocated);
  position += count;
  return LOWBIT_OK;
}

namespace {
/// The ranked descriptor behind an unranked memref, as MLIR lays it out.
struct UnrankedMemref {
  int64_t rank;
  void *descriptor;
};

void copyStrided(char *to, const char *from, int64_t rank,
                 const int64_t *sizes, const int64_t *fromStrides,
                 const int64_t *toStrides, int64_t elementSize) {
  if (rank == 0) {
    std::memcpy(to, from, elementSize);
    return;
  }
  for (int64_t i = 0; i < sizes[0]; ++i)
    copyStrided(to + i * toStrides[0] * elementSize,
                from + i * fromStrides[0] * elementSize, rank - 1, sizes + 1,
                fromStrides + 1, toStrides + 1, elementSize);
}
} // namespace

extern "C" {

/// The strided copy that lowered memref.copy calls for non-contiguous
/// views (MLIR's C runner utilities have it; an artefact must not need
/// them).
LOWBIT_API void memrefCopy(int64_t elementSize, UnrankedMemref *source,
                           UnrankedMemref *target) {
  auto fields = [](UnrankedMemref *memref, char *&data,
                   const int64_t *&sizes, const int64_t *&strides) {
    auto *words = static_cast<int64_t *>(memref->descriptor);
    auto *pointers = static_cast<char **>(memref->descriptor);
    data = pointers[1]; // aligned; the offset is returned
    sizes = words + 3;
    strides = words + 3 + memref->rank;
    return words[2];
  };
  char *from, *to;
  const int64_t *sizes, *fromStrides, *toSizes, *toStrides;
  int64_t fromOffset = fields(source, from, sizes, fromStrides);
  int64_t toOffset = fields(target, to, toSizes, toStrides);
  copyStrided(to + toOffset * elementSize, from + fromOffset * elementSize,
              source->rank, sizes, fromStrides, toStrides, elementSize);
}

const char *lowbit_last_error(void) { return lastError.c_str(); }

lowbit_status lowbit_open(const char *directory, lowbit_model **model) {
  return lowbit_open_on(directory, nullptr, model);
}

lowbit_status lowbit_open_on(const char *directory, const char *device,
                             lowbit_model **model) {
  if (!directory || !model)
    return failWith(LOWBIT_ERROR_ARGUMENT,
                    "lowbit_open: directory and model must not be null");
  *model = nullptr;
  auto *opened = new lowbit_model();
  opened->directory = directory;
  std::vector<std::pair<std::string, void *>> addresses;
  lowbit_status status = opened->readManifest();
  if (status == LOWBIT_OK && opened->target == "cuda") {
    if (!opened->decoder.randomSeed)
      status = opened->mapWeights(addresses);
    if (status == LOWBIT_OK)
      status = opened->openDecoder(addresses, device);
    if (status != LOWBIT_OK) {
      delete opened;
      return status;
    }
    *model = opened;
    return LOWBIT_OK;
  }
  if (status == LOWBIT_OK && device && std::strcmp(device, "cpu") != 0)
    status = failWith(LOWBIT_ERROR_ARGUMENT,
                      std::string("device '") + device + "': " + directory +
                          " is a CPU artefact (target " + opened->target +
                          "), which runs on the cpu only");
  if (status == LOWBIT_OK)
    status = opened->mapWeights(addresses);
  if (status == LOWBIT_OK)
    status = opened->loadLibrary(addresses, opened->tokenCounts);
  if (status != LOWBIT_OK) {
    delete opened;
    return status;
  }
  opened->keyCache.assign(product(opened->keyShape), 0.0f);
  opened->valueCache.assign(product(opened->valueShape), 0.0f);
  *model = opened;
  return LOWBIT_OK;
}

void lowbit_close(lowbit_model *model) { delete model; }

int64_t lowbit_vocab_size(const lowbit_model *model) {
  return model ? model->vocab : 0;
}
int64_t lowbit_context_length(const lowbit_model *model) {
  return model ? model->context : 0;
}
int64_t lowbit_position(const lowbit_model *model) {
  return model ? model->position : 0;
}
void lowbit_reset(lowbit_model *model) {
  if (model)
    model->position = 0;
}

lowbit_status lowbit_forward(lowbit_model *model, const int32_t *tokens,
                             int64_t count, float *logits) {
  if (!model || !tokens || count < 1)
    return failWith(LOWBIT_ERROR_ARGUMENT,
                    "lowbit_forward: needs a model and at least one token");
  if (model->position + count > model->context)
    return failWith(LOWBIT_ERROR_CONTEXT,
                    "context overflow: " +
                        std::to_string(model->position + count) +
                        " tokens, the cache holds " +
                        std::to_string(model->context));
  for (int64_t i = 0; i < count; ++i)
    if (tokens[i] < 0 || tokens[i] >= model->vocab)
      return failWith(LOWBIT_ERROR_ARGUMENT,
                      "token id " + std::to_string(tokens[i]) +
                          " is outside the vocabulary of " +
                          std::to_string(model->vocab));
  if (model->runner) {
    // GPU artefacts run one token a step.
    for (int64_t i = 0; i < count; ++i) {
      std::string error;
      if (lowbit_status status = model->runner->step(
              tokens[i], model->position,
              logits ? logits + i * model->vocab : nullptr, error);
          status != LOWBIT_OK)
        return failWith(status, error);
      ++model->position;
    }
    return LOWBIT_OK;
  }
  int64_t done = 0;
  while (done < count) {
    int64_t remaining = count - done;
    // The smallest entry that takes the rest, if its padding fits in the
    // cache; else the largest that fits without padding.
    int64_t entry = -1;
    for (const auto &[tokensOfEntry, fn] : model->entries)
      if (tokensOfEntry >= remaining &&
          model->position + tokensOfEntry <= model->context) {
        entry = tokensOfEntry;
        break;
      }
    if (entry < 0)
      for (auto it = model->entries.rbegin(); it != model->entries.rend(); ++it)
        if (it->first <= remaining) {
          entry = it->first;
          break;
        }
    if (entry < 0)
      return failWith(LOWBIT_ERROR_CONTEXT,
                      "no entry point fits " + std::to_string(remaining) +
                          " tokens at position " +
                          std::to_string(model->position));
    int64_t step = std::min(entry, remaining);
    lowbit_status status = model->runEntry(
        entry, tokens + done, step,
        logits ? logits + done * model->vocab : nullptr);
    if (status != LOWBIT_OK)
      return status;
    done += step;
  }
  return LOWBIT_OK;
}

lowbit_status lowbit_generate(lowbit_model *model, const int32_t *prompt,
                              int64_t prompt_count, int64_t max_tokens,
                              int32_t eos, int32_t *out, int64_t *generated) {
  if (!model || !out || !generated || max_tokens < 1)
    return failWith(LOWBIT_ERROR_ARGUMENT,
                    "lowbit_generate: needs a model, an output buffer and "
                    "max_tokens >= 1");
  *generated = 0;
  std::vector<float> logits(prompt_count * model->vocab);
  lowbit_status status =
      lowbit_forward(model, prompt, prompt_count, logits.data());
  if (status != LOWBIT_OK)
    return status;
  const float *last = logits.data() + (prompt_count - 1) * model->vocab;
  while (true) {
    int32_t next = int32_t(std::max_element(last, last + model->vocab) - last);
    out[(*generated)++] = next;
    if (next == eos || *generated == max_tokens)
      return LOWBIT_OK;
    status = lowbit_forward(model, &next, 1, logits.data());
    if (status != LOWBIT_OK)
      return status;
    last = logits.data();
  }
}

} // extern "C"
