//===- Safetensors.cpp - Hugging Face Llama checkpoints -------------------===//
//
// A Hugging Face checkpoint is a directory: config.json (transformers'
// LlamaConfig), the weights in model.safetensors or in shards listed by
// model.safetensors.index.json, and usually tokenizer.json. Everything read
// from these files is checked before it is used: sizes and offsets against the
// file, shapes against the config, so damaged input is an error naming the
// file, never a crash.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Import/Safetensors.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MathExtras.h"
#include "llvm/Support/Path.h"

#include <cmath>
#include <cstring>

using namespace lowbit;
using llvm::createStringError;
namespace json = llvm::json;

static llvm::Error fail(llvm::StringRef path, const llvm::Twine &message) {
  return createStringError(path + ": " + message);
}

static std::string formatShape(llvm::ArrayRef<int64_t> shape) {
  std::string text = "[";
  for (auto [i, extent] : llvm::enumerate(shape))
    text += (i ? ", " : "") + std::to_string(extent);
  return text + "]";
}

/// A short description of a JSON value for "expected X, got Y" messages.
static std::string describe(const json::Value &value) {
  switch (value.kind()) {
  case json::Value::Null:
    return "null";
  case json::Value::Boolean:
    return *value.getAsBoolean() ? "true" : "false";
  case json::Value::Number:
  case json::Value::String: {
    std::string text = llvm::formatv("{0}", value).str();
    return text.size() > 40 ? text.substr(0, 40) + "..." : text;
  }
  case json::Value::Array:
    return "an array";
  case json::Value::Object:
    return "an object";
  }
  llvm_unreachable("unknown JSON kind");
}

static llvm::Expected<json::Value> parseJson(llvm::StringRef text,
                                             llvm::StringRef path) {
  llvm::Expected<json::Value> value = json::parse(text);
  if (!value)
    return fail(path, "invalid JSON: " + llvm::toString(value.takeError()));
  return value;
}

static llvm::Expected<std::unique_ptr<llvm::MemoryBuffer>>
openFile(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return fail(path, "cannot read: " + buffer.getError().message());
  return std::move(*buffer);
}

//===----------------------------------------------------------------------===//
// SafetensorsFile
//===----------------------------------------------------------------------===//

/// Bytes per element of the dtypes the safetensors format defines; 0 for
/// names it does not (sub-byte formats included), whose sizes go unchecked.
static uint64_t getElementSize(llvm::StringRef dtype) {
  return llvm::StringSwitch<uint64_t>(dtype)
      .Cases({"F64", "I64", "U64", "C64"}, 8)
      .Cases({"F32", "I32", "U32"}, 4)
      .Cases({"F16", "BF16", "I16", "U16"}, 2)
      .Cases({"I8", "U8", "BOOL", "F8_E4M3", "F8_E5M2", "F8_E8M0"}, 1)
      .Default(0);
}

/// IEEE half to float, subnormals, infinities and NaNs included.
static float halfToFloat(uint16_t half) {
  uint32_t sign = uint32_t(half & 0x8000u) << 16;
  uint32_t exponent = (half >> 10) & 0x1fu;
  uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0) {
    float magnitude = std::ldexp(float(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  uint32_t bits = exponent == 0x1f
                      ? sign | 0x7f800000u | (mantissa << 13)
                      : sign | ((exponent + 112) << 23) | (mantissa << 13);
  return llvm::bit_cast<float>(bits);
}

static llvm::Expected<SafetensorsTensorInfo>
parseTensorEntry(const json::Value &value, llvm::StringRef name,
                 uint64_t dataSize, llvm::StringRef path) {
  auto bad = [&](const llvm::Twine &problem) {
    return fail(path, "tensor '" + name + "': " + problem);
  };
  const json::Object *entry = value.getAsObject();
  if (!entry)
    return bad("expected an object, got " + describe(value));
  SafetensorsTensorInfo info;
  std::optional<llvm::StringRef> dtype = entry->getString("dtype");
  if (!dtype)
    return bad("\"dtype\" must be a string");
  info.dtype = dtype->str();

  const json::Array *shape = entry->getArray("shape");
  if (!shape)
    return bad("\"shape\" must be an array");
  uint64_t numElements = 1;
  bool overflow = false;
  for (const json::Value &extent : *shape) {
    std::optional<int64_t> n = extent.getAsInteger();
    if (!n || *n < 0)
      return bad("\"shape\" holds " + describe(extent) +
                 ", not a non-negative integer");
    info.shape.push_back(*n);
    bool stepOverflowed = false;
    numElements =
        llvm::SaturatingMultiply(numElements, uint64_t(*n), &stepOverflowed);
    overflow |= stepOverflowed;
  }

  const json::Array *offsets = entry->getArray("data_offsets");
  std::optional<uint64_t> begin, end;
  if (offsets && offsets->size() == 2) {
    begin = (*offsets)[0].getAsUINT64();
    end = (*offsets)[1].getAsUINT64();
  }
  if (!begin || !end)
    return bad("\"data_offsets\" must be two non-negative integers");
  if (*begin > *end || *end > dataSize)
    return bad("data_offsets [" + llvm::Twine(*begin) + ", " +
               llvm::Twine(*end) + "] lie outside the data section of " +
               llvm::Twine(dataSize) + " bytes");
  info.begin = *begin;
  info.end = *end;

  if (uint64_t elementSize = getElementSize(info.dtype)) {
    bool bytesOverflowed = false;
    uint64_t bytes =
        llvm::SaturatingMultiply(numElements, elementSize, &bytesOverflowed);
    overflow |= bytesOverflowed;
    if (overflow || bytes != *end - *begin)
      return bad(
          "data_offsets [" + llvm::Twine(*begin) + ", " + llvm::Twine(*end) +
          "] hold " + llvm::Twine(*end - *begin) + " bytes, but " + info.dtype +
          " " + formatShape(info.shape) + " needs " +
          (overflow ? std::string("more than 2^64") : std::to_string(bytes)));
  }
  return info;
}

llvm::Expected<SafetensorsFile> SafetensorsFile::open(llvm::StringRef path) {
  SafetensorsFile file;
  file.path = path.str();
  auto buffer = openFile(path);
  if (!buffer)
    return buffer.takeError();
  file.buffer = std::move(*buffer);
  llvm::StringRef bytes = file.buffer->getBuffer();
  if (bytes.size() < 8)
    return fail(path, "truncated: " + llvm::Twine(bytes.size()) +
                          " bytes, shorter than the 8-byte header size");
  uint64_t headerSize = llvm::support::endian::read64le(bytes.data());
  if (headerSize > bytes.size() - 8)
    return fail(path, "header size " + llvm::Twine(headerSize) +
                          " is larger than the file (" +
                          llvm::Twine(bytes.size()) + " bytes)");
  file.dataStart = 8 + headerSize;
  uint64_t dataSize = bytes.size() - file.dataStart;

  llvm::Expected<json::Value> header =
      parseJson(bytes.substr(8, headerSize), path);
  if (!header)
    return header.takeError();
  const json::Object *entries = header->getAsObject();
  if (!entries)
    return fail(path,
                "the header is " + describe(*header) + ", not a JSON object");
  for (const auto &[key, value] : *entries) {
    if (key == "__metadata__") {
      const json::Object *metadata = value.getAsObject();
      if (!metadata)
        return fail(path, "\"__metadata__\" must be an object");
      for (const auto &[metaKey, metaValue] : *metadata)
        if (std::optional<llvm::StringRef> text = metaValue.getAsString())
          file.metadata[metaKey.str()] = text->str();
      continue;
    }
    llvm::Expected<SafetensorsTensorInfo> info =
        parseTensorEntry(value, key.str(), dataSize, path);
    if (!info)
      return info.takeError();
    file.tensors[key.str()] = std::move(*info);
  }
  return file;
}

const SafetensorsTensorInfo *
SafetensorsFile::lookup(llvm::StringRef name) const {
  auto it = tensors.find(name);
  return it == tensors.end() ? nullptr : &it->second;
}

llvm::Expected<FloatTensor>
SafetensorsFile::readFloat(llvm::StringRef name) const {
  const SafetensorsTensorInfo *info = lookup(name);
  if (!info)
    return fail(path, "no tensor '" + name + "'");
  llvm::StringRef dtype = info->dtype;
  if (dtype != "F32" && dtype != "F16" && dtype != "BF16")
    return fail(path, "tensor '" + name + "' has dtype " + dtype +
                          "; only F32, F16 and BF16 are supported");
  if (info->shape.empty())
    return fail(path, "tensor '" + name + "' is a scalar; expected an array");
  // open() checked that the byte range matches the shape and lies in the file.
  FloatTensor tensor(info->shape);
  const char *src = buffer->getBufferStart() + dataStart + info->begin;
  using namespace llvm::support::endian;
  if (dtype == "F32") {
    for (float &value : tensor.data) {
      value = llvm::bit_cast<float>(read32le(src));
      src += 4;
    }
  } else if (dtype == "F16") {
    for (float &value : tensor.data) {
      value = halfToFloat(read16le(src));
      src += 2;
    }
  } else {
    for (float &value : tensor.data) {
      value = llvm::bit_cast<float>(uint32_t(read16le(src)) << 16);
      src += 2;
    }
  }
  return tensor;
}

//===----------------------------------------------------------------------===//
// config.json
//===----------------------------------------------------------------------===//

namespace {
/// Typed access to the keys of a JSON object; null counts as absent, as
/// transformers writes null for "use the default".
class JsonFields {
public:
  JsonFields(const json::Object &object, llvm::StringRef path)
      : object(object), path(path) {}

  const json::Value *get(llvm::StringRef key) const {
    const json::Value *value = object.get(key);
    return value && value->kind() != json::Value::Null ? value : nullptr;
  }

  llvm::Expected<int64_t> getInt(llvm::StringRef key,
                                 std::optional<int64_t> fallback) const {
    const json::Value *value = get(key);
    if (!value) {
      if (fallback)
        return *fallback;
      return missing(key);
    }
    if (std::optional<int64_t> n = value->getAsInteger())
      return *n;
    return wrongType(key, "an integer", *value);
  }

  llvm::Expected<double> getNumber(llvm::StringRef key,
                                   std::optional<double> fallback) const {
    const json::Value *value = get(key);
    if (!value) {
      if (fallback)
        return *fallback;
      return missing(key);
    }
    if (std::optional<double> x = value->getAsNumber())
      return *x;
    return wrongType(key, "a number", *value);
  }

  llvm::Expected<bool> getBool(llvm::StringRef key, bool fallback) const {
    const json::Value *value = get(key);
    if (!value)
      return fallback;
    if (std::optional<bool> b = value->getAsBoolean())
      return *b;
    return wrongType(key, "a boolean", *value);
  }

  /// The empty string when absent.
  llvm::Expected<std::string> getString(llvm::StringRef key) const {
    const json::Value *value = get(key);
    if (!value)
      return std::string();
    if (std::optional<llvm::StringRef> s = value->getAsString())
      return s->str();
    return wrongType(key, "a string", *value);
  }

  /// Null when absent.
  llvm::Expected<const json::Object *> getObject(llvm::StringRef key) const {
    const json::Value *value = get(key);
    if (!value)
      return nullptr;
    if (const json::Object *o = value->getAsObject())
      return o;
    return wrongType(key, "an object", *value);
  }

private:
  llvm::Error missing(llvm::StringRef key) const {
    return fail(path, "missing key \"" + key + "\"");
  }
  llvm::Error wrongType(llvm::StringRef key, llvm::StringRef expected,
                        const json::Value &value) const {
    return fail(path, "\"" + key + "\" must be " + expected + ", got " +
                          describe(value));
  }

  const json::Object &object;
  llvm::StringRef path;
};
} // namespace

/// transformers names the RoPE variant "rope_type" (older: "type"); only the
/// plain one matches LowBit's RoPE.
static llvm::Error checkRopeScaling(const JsonFields &fields,
                                    llvm::StringRef key, llvm::StringRef path) {
  llvm::Expected<const json::Object *> scaling = fields.getObject(key);
  if (!scaling)
    return scaling.takeError();
  if (!*scaling)
    return llvm::Error::success();
  JsonFields scalingFields(**scaling, path);
  llvm::Expected<std::string> type = scalingFields.getString("rope_type");
  if (!type)
    return type.takeError();
  if (type->empty()) {
    llvm::Expected<std::string> legacy = scalingFields.getString("type");
    if (!legacy)
      return legacy.takeError();
    *type = std::move(*legacy);
  }
  if (*type == "default")
    return llvm::Error::success();
  return fail(path, "\"" + key + "\" of type '" +
                        (type->empty() ? "(unnamed)" : *type) +
                        "' is not supported; LowBit implements only plain "
                        "RoPE");
}

llvm::Expected<LlamaConfig> lowbit::parseHfLlamaConfig(llvm::StringRef text,
                                                       llvm::StringRef path) {
  llvm::Expected<json::Value> root = parseJson(text, path);
  if (!root)
    return root.takeError();
  const json::Object *object = root->getAsObject();
  if (!object)
    return fail(path, "expected a JSON object, got " + describe(*root));
  JsonFields fields(*object, path);

  llvm::Expected<std::string> modelType = fields.getString("model_type");
  if (!modelType)
    return modelType.takeError();
  if (modelType->empty()) {
    // Old configs name only the class.
    if (const json::Array *architectures = object->getArray("architectures"))
      for (const json::Value &name : *architectures)
        if (name.getAsString() == "LlamaForCausalLM")
          *modelType = "llama";
  }
  if (*modelType != "llama" && *modelType != "mistral")
    return fail(path, "model_type '" +
                          (modelType->empty() ? "(none)" : *modelType) +
                          "' is not a Llama model (expected \"llama\" or a "
                          "\"mistral\" without a sliding window)");

  LlamaConfig c;
  c.architecture = "llama";
  auto getInt = [&](int64_t &out, llvm::StringRef key,
                    std::optional<int64_t> fallback) -> llvm::Error {
    llvm::Expected<int64_t> value = fields.getInt(key, fallback);
    if (!value)
      return value.takeError();
    out = *value;
    return llvm::Error::success();
  };
  for (auto [out, key, fallback] :
       {std::tuple<int64_t &, const char *, std::optional<int64_t>>{
            c.dim, "hidden_size", std::nullopt},
        {c.hiddenDim, "intermediate_size", std::nullopt},
        {c.numLayers, "num_hidden_layers", std::nullopt},
        {c.numHeads, "num_attention_heads", std::nullopt},
        {c.vocabSize, "vocab_size", std::nullopt},
        {c.maxSeqLen, "max_position_embeddings", 2048}})
    if (llvm::Error error = getInt(out, key, fallback))
      return std::move(error);
  if (llvm::Error error =
          getInt(c.numKvHeads, "num_key_value_heads", c.numHeads))
    return std::move(error);

  llvm::Expected<double> eps = fields.getNumber("rms_norm_eps", 1e-6);
  if (!eps)
    return eps.takeError();
  c.normEps = static_cast<float>(*eps);

  // transformers 5 moves rope_theta and the RoPE type into rope_parameters.
  llvm::Expected<const json::Object *> ropeParameters =
      fields.getObject("rope_parameters");
  if (!ropeParameters)
    return ropeParameters.takeError();
  double defaultTheta = 10000.0;
  if (*ropeParameters) {
    llvm::Expected<double> theta =
        JsonFields(**ropeParameters, path).getNumber("rope_theta", 10000.0);
    if (!theta)
      return theta.takeError();
    defaultTheta = *theta;
  }
  llvm::Expected<double> theta = fields.getNumber("rope_theta", defaultTheta);
  if (!theta)
    return theta.takeError();
  c.ropeTheta = static_cast<float>(*theta);
  for (llvm::StringRef key : {"rope_scaling", "rope_parameters"})
    if (llvm::Error error = checkRopeScaling(fields, key, path))
      return std::move(error);

  llvm::Expected<bool> tied = fields.getBool("tie_word_embeddings", false);
  if (!tied)
    return tied.takeError();
  c.tiedEmbeddings = *tied;

  // What LowBit's Llama block cannot express.
  llvm::Expected<std::string> activation = fields.getString("hidden_act");
  if (!activation)
    return activation.takeError();
  if (!activation->empty() && *activation != "silu")
    return fail(path, "hidden_act '" + *activation +
                          "' is not supported; the Llama MLP uses silu");
  for (llvm::StringRef key : {"attention_bias", "mlp_bias"}) {
    llvm::Expected<bool> bias = fields.getBool(key, false);
    if (!bias)
      return bias.takeError();
    if (*bias)
      return fail(path, "\"" + key +
                            "\" is true; LowBit's Llama has no "
                            "biases");
  }
  if (fields.get("head_dim")) {
    int64_t headDim = 0;
    if (llvm::Error error = getInt(headDim, "head_dim", std::nullopt))
      return std::move(error);
    if (c.numHeads <= 0 || c.dim % c.numHeads != 0 ||
        c.dim / c.numHeads != headDim)
      return fail(path, "head_dim " + llvm::Twine(headDim) +
                            " is not hidden_size / num_attention_heads; not "
                            "supported");
  }
  if (*modelType == "mistral" && fields.get("sliding_window")) {
    int64_t window = 0;
    if (llvm::Error error = getInt(window, "sliding_window", std::nullopt))
      return std::move(error);
    if (window < c.maxSeqLen)
      return fail(path, "sliding_window " + llvm::Twine(window) +
                            " is shorter than the context; sliding-window "
                            "attention is not supported");
  }

  llvm::Expected<std::string> name = fields.getString("_name_or_path");
  if (!name)
    return name.takeError();
  c.name = std::move(*name);
  if (llvm::Error error = c.verify())
    return fail(path, llvm::toString(std::move(error)));
  return c;
}

/// config.json's bos_token_id, eos_token_id (the first when a list) and
/// pad_token_id; -1 where absent.
static llvm::Expected<SpecialTokens>
parseSpecialTokenIds(const json::Object &object, llvm::StringRef path) {
  JsonFields fields(object, path);
  SpecialTokens special;
  for (auto [out, key] :
       {std::pair<int32_t &, const char *>{special.bos, "bos_token_id"},
        {special.eos, "eos_token_id"},
        {special.padding, "pad_token_id"}}) {
    const json::Value *value = fields.get(key);
    if (!value)
      continue;
    if (const json::Array *list = value->getAsArray()) {
      if (list->empty())
        continue;
      value = &list->front();
    }
    std::optional<int64_t> id = value->getAsInteger();
    if (!id || *id < 0 || *id > INT32_MAX)
      return fail(path, "\"" + llvm::Twine(key) +
                            "\" must be a token id or a list of them");
    out = static_cast<int32_t>(*id);
  }
  return special;
}

//===----------------------------------------------------------------------===//
// RoPE permutation
//===----------------------------------------------------------------------===//

llvm::Error lowbit::permuteRopeHalvesToPairs(FloatTensor &weight,
                                             int64_t numHeads) {
  if (weight.shape.size() != 2 || numHeads <= 0 ||
      weight.shape[0] % numHeads != 0 ||
      (weight.shape[0] / numHeads) % 2 != 0 ||
      static_cast<int64_t>(weight.data.size()) != weight.getNumElements())
    return createStringError("cannot permute a " + formatShape(weight.shape) +
                             " weight for RoPE over " +
                             std::to_string(numHeads) + " heads of even size");
  int64_t cols = weight.shape[1];
  int64_t headDim = weight.shape[0] / numHeads, half = headDim / 2;
  std::vector<float> permuted(weight.data.size());
  auto row = [&](std::vector<float> &data, int64_t r) {
    return data.data() + r * cols;
  };
  for (int64_t h = 0; h < numHeads; ++h) {
    int64_t base = h * headDim;
    for (int64_t i = 0; i < half; ++i) {
      std::memcpy(row(permuted, base + 2 * i), row(weight.data, base + i),
                  cols * sizeof(float));
      std::memcpy(row(permuted, base + 2 * i + 1),
                  row(weight.data, base + half + i), cols * sizeof(float));
    }
  }
  weight.data = std::move(permuted);
  return llvm::Error::success();
}

//===----------------------------------------------------------------------===//
// tokenizer.json
//===----------------------------------------------------------------------===//

// The Split patterns of the byte-level pre-tokenizers LowBit's tokenizer
// reproduces, as tokenizer.json spells them.
static constexpr llvm::StringLiteral kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|"
    "\\s+(?!\\S)|\\s+";
static constexpr llvm::StringLiteral kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|"
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|"
    "\\s+";

static llvm::StringRef getType(const json::Value &value) {
  if (const json::Object *object = value.getAsObject())
    if (std::optional<llvm::StringRef> type = object->getString("type"))
      return *type;
  return "";
}

/// GGUF's name for a byte-level pre-tokenizer; "" when `pre` has no
/// ByteLevel step, an error when it has one among steps LowBit cannot match.
static llvm::Expected<std::string> classifyPreTokenizer(const json::Value &pre,
                                                        llvm::StringRef path) {
  auto useRegex = [](const json::Value &step) {
    return step.getAsObject()->getBoolean("use_regex").value_or(true);
  };
  llvm::StringRef type = getType(pre);
  if (type == "ByteLevel") {
    if (useRegex(pre))
      return std::string("gpt2");
    return fail(path, "a ByteLevel pre-tokenizer without its regex is not "
                      "supported");
  }
  if (type != "Sequence")
    return std::string();
  const json::Array *steps = pre.getAsObject()->getArray("pretokenizers");
  if (!steps)
    return fail(path, "pre_tokenizer Sequence without \"pretokenizers\"");
  if (llvm::none_of(*steps, [](const json::Value &step) {
        return getType(step) == "ByteLevel";
      }))
    return std::string();
  if (steps->size() == 2 && getType((*steps)[1]) == "ByteLevel") {
    const json::Value &first = (*steps)[0];
    const json::Object *object = first.getAsObject();
    if (getType(first) == "Split" && !useRegex((*steps)[1])) {
      std::optional<llvm::StringRef> pattern;
      if (const json::Object *p = object->getObject("pattern"))
        pattern = p->getString("Regex");
      if (pattern == kLlama3Pattern)
        return std::string("llama3");
      if (pattern == kGpt2Pattern)
        return std::string("gpt2");
    }
    // SmolLM: single digits, then GPT-2's split.
    if (getType(first) == "Digits" && useRegex((*steps)[1]) &&
        object->getBoolean("individual_digits").value_or(false))
      return std::string("smollm");
  }
  std::string names;
  for (const json::Value &step : *steps)
    names += (names.empty() ? "" : ", ") + getType(step).str();
  return fail(path, "byte-level pre-tokenizer Sequence [" + names +
                        "] is not one LowBit reproduces (GPT-2's, Llama 3's "
                        "or SmolLM's)");
}

/// Whether the post-processor puts a special token before a single sequence,
/// and which.
static std::optional<llvm::StringRef>
getPrefixToken(const json::Value &postProcessor) {
  llvm::StringRef type = getType(postProcessor);
  const json::Object *object = postProcessor.getAsObject();
  if (type == "Sequence") {
    if (const json::Array *steps = object->getArray("processors"))
      for (const json::Value &step : *steps)
        if (std::optional<llvm::StringRef> token = getPrefixToken(step))
          return token;
    return std::nullopt;
  }
  if (type != "TemplateProcessing")
    return std::nullopt;
  const json::Array *single = object->getArray("single");
  if (!single || single->empty())
    return std::nullopt;
  if (const json::Object *first = single->front().getAsObject())
    if (const json::Object *special = first->getObject("SpecialToken"))
      return special->getString("id");
  return std::nullopt;
}

llvm::Expected<std::optional<HfByteLevelBpe>>
lowbit::parseHfByteLevelBpe(llvm::StringRef text, llvm::StringRef path,
                            SpecialTokens special) {
  llvm::Expected<json::Value> root = parseJson(text, path);
  if (!root)
    return root.takeError();
  const json::Object *object = root->getAsObject();
  if (!object)
    return fail(path, "expected a JSON object, got " + describe(*root));
  const json::Object *model = object->getObject("model");
  if (!model)
    return fail(path, "missing object \"model\"");
  if (model->getString("type") != "BPE")
    return std::nullopt;
  const json::Value *pre = object->get("pre_tokenizer");
  if (!pre)
    return std::nullopt;
  llvm::Expected<std::string> preTokenizer = classifyPreTokenizer(*pre, path);
  if (!preTokenizer)
    return preTokenizer.takeError();
  if (preTokenizer->empty())
    return std::nullopt;
  if (const json::Value *normalizer = object->get("normalizer");
      normalizer && normalizer->kind() != json::Value::Null)
    return fail(path, "normalizer '" + getType(*normalizer) +
                          "' is not supported with a byte-level BPE");

  HfByteLevelBpe bpe;
  bpe.preTokenizer = std::move(*preTokenizer);
  // Ids are dense in practice; the cap keeps a damaged id from allocating
  // gigabytes.
  constexpr int64_t kMaxTokens = int64_t(1) << 24;
  auto place = [&](int64_t id, llvm::StringRef piece, TokenKind kind,
                   bool allowReplace) -> llvm::Error {
    if (id < 0 || id >= kMaxTokens)
      return fail(path, "token '" + piece + "' has id " + llvm::Twine(id) +
                            ", outside [0, 2^24)");
    if (id >= static_cast<int64_t>(bpe.pieces.size())) {
      for (int64_t gap = bpe.pieces.size(); gap <= id; ++gap)
        bpe.pieces.push_back("<unused_" + std::to_string(gap) + ">");
      bpe.kinds.resize(id + 1, TokenKind::unused);
    } else if (bpe.kinds[id] != TokenKind::unused && !allowReplace) {
      return fail(path, "token id " + llvm::Twine(id) + " is given to both '" +
                            bpe.pieces[id] + "' and '" + piece + "'");
    }
    bpe.pieces[id] = piece.str();
    bpe.kinds[id] = kind;
    return llvm::Error::success();
  };

  const json::Object *vocab = model->getObject("vocab");
  if (!vocab)
    return fail(path, "model.vocab must be an object of token ids");
  for (const auto &[piece, id] : *vocab) {
    std::optional<int64_t> n = id.getAsInteger();
    if (!n)
      return fail(path, "model.vocab['" + piece.str() + "'] is " +
                            describe(id) + ", not a token id");
    if (llvm::Error error = place(*n, piece.str(), TokenKind::normal, false))
      return std::move(error);
  }
  // Added tokens are often also in the vocabulary (SmolLM); they then only
  // change its kind.
  if (const json::Value *added = object->get("added_tokens");
      added && added->kind() != json::Value::Null) {
    const json::Array *list = added->getAsArray();
    if (!list)
      return fail(path, "added_tokens must be an array");
    for (auto [i, entry] : llvm::enumerate(*list)) {
      const json::Object *token = entry.getAsObject();
      std::optional<int64_t> id =
          token ? token->getInteger("id") : std::nullopt;
      std::optional<llvm::StringRef> content =
          token ? token->getString("content") : std::nullopt;
      if (!id || !content)
        return fail(path, "added_tokens[" + llvm::Twine(i) +
                              "] needs an integer id and a string content");
      TokenKind kind = token->getBoolean("special").value_or(false)
                           ? TokenKind::control
                           : TokenKind::userDefined;
      if (llvm::Error error = place(*id, *content, kind, true))
        return std::move(error);
    }
  }

  const json::Array *merges = model->getArray("merges");
  if (!merges)
    return fail(path, "model.merges must be an array");
  bpe.merges.reserve(merges->size());
  for (auto [i, merge] : llvm::enumerate(*merges)) {
    // "left right", or [left, right] since tokenizers 0.20.
    if (std::optional<llvm::StringRef> pair = merge.getAsString()) {
      if (pair->count(' ') == 1) {
        bpe.merges.push_back(pair->str());
        continue;
      }
    } else if (const json::Array *parts = merge.getAsArray();
               parts && parts->size() == 2) {
      std::optional<llvm::StringRef> left = (*parts)[0].getAsString();
      std::optional<llvm::StringRef> right = (*parts)[1].getAsString();
      // Byte-level pieces never hold a space: it is mapped to U+0120.
      if (left && right && !left->contains(' ') && !right->contains(' ')) {
        bpe.merges.push_back((*left + " " + *right).str());
        continue;
      }
    }
    return fail(path, "model.merges[" + llvm::Twine(i) + "] is " +
                          describe(merge) +
                          ", not \"left right\" or [left, right]");
  }

  auto findPiece = [&](llvm::StringRef piece) -> int32_t {
    for (auto [id, candidate] : llvm::enumerate(bpe.pieces))
      if (candidate == piece)
        return static_cast<int32_t>(id);
    return -1;
  };
  if (std::optional<llvm::StringRef> unknown = model->getString("unk_token"))
    special.unknown = findPiece(*unknown);
  special.addBos = false;
  if (const json::Value *post = object->get("post_processor"))
    if (std::optional<llvm::StringRef> prefix = getPrefixToken(*post)) {
      special.addBos = true;
      if (special.bos < 0)
        special.bos = findPiece(*prefix);
    }
  for (auto [id, what] : {std::pair<int32_t, const char *>{special.bos, "BOS"},
                          {special.eos, "EOS"},
                          {special.padding, "padding"}})
    if (id >= static_cast<int64_t>(bpe.pieces.size()))
      return fail(path, llvm::Twine(what) + " token id " + llvm::Twine(id) +
                            " is outside the vocabulary of " +
                            llvm::Twine(bpe.pieces.size()));
  bpe.special = special;
  return bpe;
}

//===----------------------------------------------------------------------===//
// readSafetensors
//===----------------------------------------------------------------------===//

namespace {
/// The safetensors files of one checkpoint and which holds each tensor.
class TensorSource {
public:
  /// `path` is model.safetensors, another .safetensors file, or an index.
  static llvm::Expected<TensorSource> open(llvm::StringRef path);

  /// Names of every tensor the checkpoint lists.
  llvm::SmallVector<llvm::StringRef> getNames() const {
    llvm::SmallVector<llvm::StringRef> names;
    for (const auto &entry : owner)
      names.push_back(entry.getKey());
    return names;
  }
  bool contains(llvm::StringRef name) const { return owner.contains(name); }

  /// Reads `name`, failing unless its shape is `shape`.
  llvm::Error read(llvm::StringRef name, std::vector<int64_t> shape,
                   FloatTensor &out) const;

private:
  std::string path;
  std::vector<SafetensorsFile> files;
  llvm::StringMap<unsigned> owner;
};
} // namespace

llvm::Expected<TensorSource> TensorSource::open(llvm::StringRef path) {
  TensorSource source;
  source.path = path.str();
  if (path.ends_with(".safetensors")) {
    llvm::Expected<SafetensorsFile> file = SafetensorsFile::open(path);
    if (!file)
      return file.takeError();
    for (const auto &entry : file->getTensors())
      source.owner[entry.getKey()] = 0;
    source.files.push_back(std::move(*file));
    return source;
  }

  // An index: {"metadata": {...}, "weight_map": {tensor: shard file}}.
  auto buffer = openFile(path);
  if (!buffer)
    return buffer.takeError();
  llvm::Expected<json::Value> index = parseJson((*buffer)->getBuffer(), path);
  if (!index)
    return index.takeError();
  const json::Object *root = index->getAsObject();
  const json::Object *weightMap =
      root ? root->getObject("weight_map") : nullptr;
  if (!weightMap)
    return fail(path, "missing object \"weight_map\"");
  llvm::StringRef dir = llvm::sys::path::parent_path(path);
  llvm::StringMap<unsigned> shardIds;
  for (const auto &[name, value] : *weightMap) {
    std::optional<llvm::StringRef> shard = value.getAsString();
    // Shards lie beside the index; a path could point anywhere.
    if (!shard || shard->empty() ||
        shard->find_first_of("/\\") != llvm::StringRef::npos || *shard == "." ||
        *shard == "..")
      return fail(path, "weight_map['" + name.str() + "'] is " +
                            describe(value) + ", not a file name");
    auto [it, inserted] = shardIds.try_emplace(*shard, source.files.size());
    if (inserted) {
      llvm::SmallString<256> shardPath(dir);
      llvm::sys::path::append(shardPath, *shard);
      llvm::Expected<SafetensorsFile> file = SafetensorsFile::open(shardPath);
      if (!file)
        return file.takeError();
      source.files.push_back(std::move(*file));
    }
    source.owner[name.str()] = it->second;
  }
  return source;
}

llvm::Error TensorSource::read(llvm::StringRef name, std::vector<int64_t> shape,
                               FloatTensor &out) const {
  auto it = owner.find(name);
  if (it == owner.end())
    return fail(path, "missing tensor '" + name + "'");
  const SafetensorsFile &file = files[it->second];
  const SafetensorsTensorInfo *info = file.lookup(name);
  if (!info)
    return fail(file.getPath(), "the index puts tensor '" + name +
                                    "' in this file, but it is not there");
  if (info->shape != shape)
    return fail(file.getPath(),
                "tensor '" + name + "' has shape " + formatShape(info->shape) +
                    ", but config.json implies " + formatShape(shape));
  llvm::Expected<FloatTensor> tensor = file.readFloat(name);
  if (!tensor)
    return tensor.takeError();
  out = std::move(*tensor);
  return llvm::Error::success();
}

/// The per-layer tensors of a Hugging Face Llama, by name under
/// model.layers.N.
static constexpr std::pair<FloatTensor LlamaLayer::*, const char *>
    kLayerTensors[] = {
        {&LlamaLayer::attnNorm, "input_layernorm.weight"},
        {&LlamaLayer::wq, "self_attn.q_proj.weight"},
        {&LlamaLayer::wk, "self_attn.k_proj.weight"},
        {&LlamaLayer::wv, "self_attn.v_proj.weight"},
        {&LlamaLayer::wo, "self_attn.o_proj.weight"},
        {&LlamaLayer::ffnNorm, "post_attention_layernorm.weight"},
        {&LlamaLayer::wGate, "mlp.gate_proj.weight"},
        {&LlamaLayer::wUp, "mlp.up_proj.weight"},
        {&LlamaLayer::wDown, "mlp.down_proj.weight"},
};

/// Rejects layer tensors a Llama block would silently ignore (biases,
/// quantized weights) and layers beyond the config's count.
static llvm::Error checkLayerTensorNames(const TensorSource &source,
                                         const LlamaConfig &c,
                                         llvm::StringRef path) {
  for (llvm::StringRef name : source.getNames()) {
    llvm::StringRef rest = name;
    if (!rest.consume_front("model.layers."))
      continue;
    auto [number, layerSuffix] = rest.split('.');
    llvm::StringRef suffix = layerSuffix;
    int64_t layer = 0;
    if (number.getAsInteger(10, layer) || layer < 0)
      return fail(path, "unexpected tensor '" + name + "'");
    if (layer >= c.numLayers)
      return fail(path, "tensor '" + name + "' belongs to layer " + number +
                            ", but config.json has " +
                            llvm::Twine(c.numLayers) + " layers");
    // Old checkpoints store RoPE's inverse frequencies; they follow from
    // rope_theta.
    if (suffix == "self_attn.rotary_emb.inv_freq")
      continue;
    if (llvm::none_of(kLayerTensors, [&](const auto &entry) {
          return suffix == entry.second;
        }))
      return fail(path, "unexpected tensor '" + name +
                            "'; a Llama layer has no such weight (biases and "
                            "quantized weights are not supported)");
  }
  return llvm::Error::success();
}

/// tokenizer.json beside the weights, when it is byte-level BPE.
static llvm::Error readTokenizer(llvm::StringRef dir,
                                 llvm::StringRef configText,
                                 llvm::StringRef configPath,
                                 LlamaCheckpoint &model) {
  llvm::SmallString<256> path(dir);
  llvm::sys::path::append(path, "tokenizer.json");
  if (!llvm::sys::fs::exists(path))
    return llvm::Error::success();
  // parseHfLlamaConfig has already accepted this text as a JSON object.
  json::Value config = cantFail(json::parse(configText));
  llvm::Expected<SpecialTokens> special =
      parseSpecialTokenIds(*config.getAsObject(), configPath);
  if (!special)
    return special.takeError();
  auto buffer = openFile(path);
  if (!buffer)
    return buffer.takeError();
  llvm::Expected<std::optional<HfByteLevelBpe>> bpe =
      parseHfByteLevelBpe((*buffer)->getBuffer(), path, *special);
  if (!bpe)
    return bpe.takeError();
  if (!*bpe)
    return llvm::Error::success();
  HfByteLevelBpe &spec = **bpe;
  int64_t vocabSize = model.config.vocabSize;
  if (static_cast<int64_t>(spec.pieces.size()) > vocabSize)
    return fail(path, "the tokenizer has " + llvm::Twine(spec.pieces.size()) +
                          " tokens, more than the model's vocab_size " +
                          llvm::Twine(vocabSize));
  // Embeddings are often padded beyond the tokenizer; give every id a piece.
  for (int64_t id = spec.pieces.size(); id < vocabSize; ++id) {
    spec.pieces.push_back("<unused_" + std::to_string(id) + ">");
    spec.kinds.push_back(TokenKind::unused);
  }
  llvm::Expected<std::unique_ptr<Tokenizer>> tokenizer =
      Tokenizer::createByteLevelBpe(std::move(spec.pieces),
                                    std::move(spec.kinds), spec.merges,
                                    spec.preTokenizer, spec.special);
  if (!tokenizer)
    return fail(path, llvm::toString(tokenizer.takeError()));
  model.tokenizer = std::move(*tokenizer);
  return llvm::Error::success();
}

llvm::Expected<LlamaCheckpoint> lowbit::readSafetensors(llvm::StringRef path) {
  // Find the weights and the directory holding config.json.
  llvm::SmallString<256> dir, weights;
  if (llvm::sys::fs::is_directory(path)) {
    dir = path;
    for (llvm::StringRef name :
         {"model.safetensors.index.json", "model.safetensors"}) {
      llvm::SmallString<256> candidate(dir);
      llvm::sys::path::append(candidate, name);
      if (llvm::sys::fs::exists(candidate)) {
        weights = candidate;
        break;
      }
    }
    if (weights.empty())
      return fail(path, "neither model.safetensors nor "
                        "model.safetensors.index.json is in this directory");
  } else if (path.ends_with(".safetensors") ||
             path.ends_with(".safetensors.index.json")) {
    weights = path;
    dir = llvm::sys::path::parent_path(path);
    if (dir.empty())
      dir = ".";
  } else {
    return fail(path, "not a directory, .safetensors file or "
                      ".safetensors.index.json");
  }

  llvm::SmallString<256> configPath(dir);
  llvm::sys::path::append(configPath, "config.json");
  auto configBuffer = openFile(configPath);
  if (!configBuffer)
    return configBuffer.takeError();
  llvm::StringRef configText = (*configBuffer)->getBuffer();
  llvm::Expected<LlamaConfig> config =
      parseHfLlamaConfig(configText, configPath);
  if (!config)
    return config.takeError();

  llvm::Expected<TensorSource> source = TensorSource::open(weights);
  if (!source)
    return source.takeError();

  LlamaCheckpoint model;
  model.config = std::move(*config);
  LlamaConfig &c = model.config;
  if (c.name.empty())
    c.name = path.str();
  if (llvm::Error error = checkLayerTensorNames(*source, c, weights))
    return std::move(error);
  if (!source->contains("lm_head.weight"))
    c.tiedEmbeddings = true;

  int64_t d = c.dim, h = c.hiddenDim, kvDim = c.getKvDim();
  if (llvm::Error error = source->read("model.embed_tokens.weight",
                                       {c.vocabSize, d}, model.tokenEmbedding))
    return std::move(error);
  // One layer at a time: a config claiming absurdly many layers fails at the
  // first missing tensor instead of allocating them all.
  for (int64_t i = 0; i < c.numLayers; ++i) {
    LlamaLayer &layer = model.layers.emplace_back();
    std::string prefix = "model.layers." + std::to_string(i) + ".";
    std::vector<int64_t> shapes[] = {{d},        {d, d}, {kvDim, d},
                                     {kvDim, d}, {d, d}, {d},
                                     {h, d},     {h, d}, {d, h}};
    for (auto [entry, shape] : llvm::zip_equal(kLayerTensors, shapes))
      if (llvm::Error error =
              source->read(prefix + entry.second, shape, layer.*entry.first))
        return std::move(error);
    // Shapes were checked above, so the permutation cannot fail.
    cantFail(permuteRopeHalvesToPairs(layer.wq, c.numHeads));
    cantFail(permuteRopeHalvesToPairs(layer.wk, c.numKvHeads));
  }
  if (llvm::Error error =
          source->read("model.norm.weight", {d}, model.finalNorm))
    return std::move(error);
  // A tied model may still carry a copy of the embedding as lm_head; the
  // embedding is what transformers uses then.
  if (!c.tiedEmbeddings)
    if (llvm::Error error =
            source->read("lm_head.weight", {c.vocabSize, d}, model.output))
      return std::move(error);

  if (llvm::Error error = model.verifyShapes())
    return fail(path, llvm::toString(std::move(error)));
  if (llvm::Error error = readTokenizer(dir, configText, configPath, model))
    return std::move(error);
  return model;
}
