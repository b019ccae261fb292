//===- ModelCommands.cpp - generate and perplexity ------------------------===//
//
// `generate` continues a prompt, greedily or by sampling at a temperature;
// `perplexity` follows llama.cpp's perplexity tool: the text is tokenized as
// a whole (with BOS), cut into non-overlapping windows of `ctx` tokens, each
// window run from an empty cache with its first token replaced by BOS, and
// only the second half of each window scored (every scored token sees at
// least ctx/2 tokens of context). `calibrate` runs the model instrumented
// with observers over windows of calibration text and saves the statistics.
//
//===----------------------------------------------------------------------===//

#include "ModelCommands.h"

#include "lowbit-c/lowbit.h"
#include "lowbit/Artefact/Compile.h"
#include "lowbit/Artefact/Format.h"
#include "lowbit/Import/Checkpoint.h"
#include "lowbit/Import/Safetensors.h"
#include "lowbit/Model/Calibration.h"
#include "lowbit/Model/LlamaSession.h"
#include "lowbit/Model/ModelFile.h"
#include "lowbit/Pipelines/Recipes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

using namespace mlir;
using namespace mlir::lowbit;
using namespace ::lowbit::run;

static int fail(const llvm::Twine &message) {
  // The tool's own name: these commands serve lowbit-run and quant-compile.
  std::string tool = llvm::sys::path::filename(
                         llvm::sys::fs::getMainExecutable(nullptr, nullptr))
                         .str();
  llvm::WithColor::error(llvm::errs(), tool.empty() ? "lowbit" : tool)
      << message << "\n";
  return 1;
}

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

static double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                       start)
      .count();
}

namespace {
/// A progress bar on stderr: redrawn in place on a terminal, a line every few
/// seconds otherwise (logs).
class ProgressBar {
public:
  ProgressBar(int64_t total, llvm::StringRef unit)
      : total(total), unit(unit.str()),
        interactive(llvm::sys::Process::StandardErrIsDisplayed()),
        start(std::chrono::steady_clock::now()), lastPrint(start) {}

  void update(int64_t done, const std::string &detail) {
    auto now = std::chrono::steady_clock::now();
    bool finished = done == total;
    if (!interactive && !finished &&
        std::chrono::duration<double>(now - lastPrint).count() < 5.0)
      return;
    lastPrint = now;
    double elapsed = secondsSince(start);
    double eta = done > 0 ? elapsed * (total - done) / done : 0.0;
    constexpr int width = 30;
    int filled = total > 0 ? int(width * done / total) : width;
    std::string bar(filled, '=');
    if (filled < width)
      bar += '>' + std::string(width - filled - 1, ' ');
    llvm::errs() << (interactive ? "\r" : "")
                 << llvm::format("[%s] %lld/%lld %s, %s, %.0fs elapsed, "
                                 "ETA %.0fs",
                                 bar.c_str(), (long long)done,
                                 (long long)total, unit.c_str(),
                                 detail.c_str(), elapsed, eta)
                 << (interactive && !finished ? "" : "\n");
  }

private:
  int64_t total;
  std::string unit;
  bool interactive;
  std::chrono::steady_clock::time_point start, lastPrint;
};
} // namespace

/// Index of the largest logit, or a sample from softmax(logits / T).
/// Tokens whose probability is below e^-40 of the most likely one's (their
/// logits more than 40 T below the largest) are left out of the sample:
/// together they weigh under 49152 e^-40 ~ 2e-13 of a vocabulary's mass, and
/// skipping them spares most of the exponentials (a decode step of a small
/// model is a few milliseconds; a softmax over the vocabulary in double is
/// a tenth of that).
static int32_t pickToken(const float *logits, int64_t vocab,
                         double temperature, std::mt19937_64 &rng) {
  const float *largest = std::max_element(logits, logits + vocab);
  if (temperature <= 0.0)
    return int32_t(largest - logits);
  constexpr double kCutoff = 40.0;
  double maxLogit = *largest;
  double floor = maxLogit - kCutoff * temperature;
  std::vector<std::pair<int32_t, double>> candidates;
  double total = 0.0;
  for (int64_t i = 0; i < vocab; ++i) {
    if (logits[i] < floor)
      continue;
    total += std::exp((logits[i] - maxLogit) / temperature);
    candidates.emplace_back(int32_t(i), total);
  }
  double draw = std::uniform_real_distribution<double>(0.0, total)(rng);
  auto picked = std::upper_bound(
      candidates.begin(), candidates.end(), draw,
      [](double value, const auto &entry) { return value < entry.second; });
  return picked == candidates.end() ? candidates.back().first : picked->first;
}

/// The bytes of a model's weight blobs, each once (tied embeddings share
/// theirs).
static uint64_t countWeightBytes(ModuleOp module) {
  uint64_t bytes = 0;
  llvm::DenseSet<const void *> seen;
  module.walk([&](arith::ConstantOp constant) {
    if (auto blob = dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
      if (AsmResourceBlob *data = blob.getRawHandle().getBlob())
        if (seen.insert(data->getData().data()).second)
          bytes += data->getData().size();
  });
  return bytes;
}

int ::lowbit::run::runImport(MLIRContext &context,
                             const ImportOptions &options) {
  if (options.context < 1)
    return fail("--ctx must be at least 1");
  for (int64_t tokens : options.entries)
    if (tokens < 1 || tokens > options.context)
      return fail("--entries: " + llvm::Twine(tokens) +
                  " tokens is not between 1 and the context of " +
                  llvm::Twine(options.context));
  llvm::StringRef output = options.output;
  if (!output.ends_with(".mlirbc") && !output.ends_with(".mlir"))
    return fail("-o: the model file must end in .mlirbc (bytecode) or .mlir");
  if (llvm::StringRef(options.model).ends_with(".mlir") ||
      llvm::StringRef(options.model).ends_with(".mlirbc"))
    return fail(options.model + " is already LowBit IR");
  LlamaBuildOptions build;
  build.tokenCounts = options.entries;
  build.cacheLength = options.context;
  llvm::errs() << "loading " << options.model << "\n";
  auto loaded = loadModel(context, options.model, build, &llvm::errs());
  if (!loaded)
    return fail(llvm::toString(loaded.takeError()));
  if (llvm::Error error =
          saveModel(*loaded->module, *loaded->tokenizer, output))
    return fail(llvm::toString(std::move(error)));
  uint64_t size = 0;
  llvm::sys::fs::file_size(output, size);
  llvm::outs() << "wrote " << output << ": " << size << " bytes ("
               << countWeightBytes(*loaded->module)
               << " bytes of weights), entries";
  for (int64_t tokens : options.entries)
    llvm::outs() << " " << getForwardName(tokens);
  llvm::outs() << ", context " << options.context << "\n";
  return 0;
}

/// An artefact's model through the C API, and its tokenizer.
struct OpenedArtefact {
  lowbit_model *model = nullptr;
  std::unique_ptr<::lowbit::Tokenizer> tokenizer;
  ~OpenedArtefact() { lowbit_close(model); }
};

static llvm::Error openArtefact(llvm::StringRef directory,
                                llvm::StringRef device,
                                OpenedArtefact &opened) {
  if (lowbit_open_on(directory.str().c_str(),
                     device.empty() ? nullptr : device.str().c_str(),
                     &opened.model) != LOWBIT_OK)
    return makeError(lowbit_last_error());
  llvm::SmallString<256> path(directory);
  llvm::sys::path::append(path, ::lowbit::artefact::kTokenizerFile);
  auto bytes = llvm::MemoryBuffer::getFile(path);
  if (!bytes)
    return makeError(path + ": " + bytes.getError().message());
  auto tokenizer = ::lowbit::Tokenizer::deserialize((*bytes)->getBuffer());
  if (!tokenizer)
    return makeError(path + ": " + llvm::toString(tokenizer.takeError()));
  opened.tokenizer = std::move(*tokenizer);
  return llvm::Error::success();
}

/// The logits of the last token of a span: what a model's forward step
/// gives the generation loop. The pointer stays valid until the next call.
using ForwardStep =
    llvm::function_ref<llvm::Expected<const float *>(llvm::ArrayRef<int32_t>)>;

/// The generation loop of both kinds of model: prefills the prompt, samples
/// or picks each next token, prints the text as it comes, and ends with a
/// line of prefill and decode tokens/s. Stops at the end-of-text token
/// unless `--ignore-eos` (benchmarks decode exactly -n tokens).
/// `context` names the model's context in the error when the prompt and
/// the new tokens do not fit it.
static int generateTokens(const GenerateOptions &options,
                          const ::lowbit::Tokenizer &tokenizer,
                          int64_t contextLength, const llvm::Twine &context,
                          int64_t vocab, ForwardStep forward) {
  std::vector<int32_t> prompt;
  if (tokenizer.getSpecialTokens().addBos && tokenizer.getBos() >= 0)
    prompt.push_back(tokenizer.getBos());
  std::vector<int32_t> encoded = tokenizer.encode(options.prompt);
  prompt.insert(prompt.end(), encoded.begin(), encoded.end());
  if (int64_t(prompt.size()) + options.tokens > contextLength)
    return fail("the prompt (" + llvm::Twine(prompt.size()) + " tokens) and " +
                llvm::Twine(options.tokens) + " new tokens do not fit " +
                context);

  auto prefillStart = std::chrono::steady_clock::now();
  llvm::Expected<const float *> logits = forward(prompt);
  if (!logits)
    return fail(llvm::toString(logits.takeError()));
  double prefillSeconds = secondsSince(prefillStart);

  std::mt19937_64 rng(options.seed);
  int32_t next = pickToken(*logits, vocab, options.temperature, rng);
  llvm::outs() << tokenizer.decode(prompt);
  int32_t previous = prompt.back();
  int64_t generated = 0;
  auto decodeStart = std::chrono::steady_clock::now();
  while (options.ignoreEos || next != tokenizer.getEos()) {
    llvm::outs() << tokenizer.decodeToken(previous, next);
    llvm::outs().flush();
    if (++generated == options.tokens)
      break;
    logits = forward(next);
    if (!logits)
      return fail(llvm::toString(logits.takeError()));
    previous = next;
    next = pickToken(*logits, vocab, options.temperature, rng);
  }
  double decodeSeconds = secondsSince(decodeStart);
  // The first token comes from the prefill: decode time covers the others.
  llvm::outs() << "\n"
               << llvm::format(
                      "prefill: %zu tokens in %.3f s (%.1f tokens/s); decode: "
                      "%lld tokens in %.3f s (%.1f tokens/s)\n",
                      prompt.size(), prefillSeconds,
                      prompt.size() / prefillSeconds, (long long)generated,
                      decodeSeconds,
                      generated > 1 ? (generated - 1) / decodeSeconds : 0.0);
  return 0;
}

/// generate on an artefact directory: the same loop as on IR, through the
/// C API.
static int runGenerateArtefact(const GenerateOptions &options) {
  OpenedArtefact artefact;
  auto openStart = std::chrono::steady_clock::now();
  if (llvm::Error error = openArtefact(options.model, options.device, artefact))
    return fail(llvm::toString(std::move(error)));
  llvm::errs() << llvm::format("opened %s in %.2f s\n", options.model.c_str(),
                               secondsSince(openStart));
  int64_t contextLength = lowbit_context_length(artefact.model);
  int64_t vocab = lowbit_vocab_size(artefact.model);
  std::vector<float> logits;
  auto forward = [&](llvm::ArrayRef<int32_t> span)
      -> llvm::Expected<const float *> {
    logits.resize(std::max(logits.size(), span.size() * vocab));
    if (lowbit_forward(artefact.model, span.data(), int64_t(span.size()),
                       logits.data()) != LOWBIT_OK)
      return makeError(lowbit_last_error());
    return logits.data() + (span.size() - 1) * vocab;
  };
  return generateTokens(options, *artefact.tokenizer, contextLength,
                        "the artefact's context of " +
                            llvm::Twine(contextLength),
                        vocab, forward);
}

int ::lowbit::run::runGenerate(MLIRContext &context,
                             const GenerateOptions &options) {
  if (options.tokens < 1)
    return fail("-n must be at least 1");
  if (options.temperature < 0.0)
    return fail("--temperature must not be negative");
  if (llvm::sys::fs::is_directory(options.model))
    return runGenerateArtefact(options);
  LlamaBuildOptions build;
  build.tokenCounts = {1, 32};
  build.cacheLength = options.context;
  build.cacheCap = 2048;
  llvm::errs() << "loading " << options.model << "\n";
  auto loaded = loadModel(context, options.model, build, &llvm::errs());
  if (!loaded)
    return fail(llvm::toString(loaded.takeError()));
  const ::lowbit::Tokenizer &tokenizer = *loaded->tokenizer;

  auto compileStart = std::chrono::steady_clock::now();
  JitOptions jitOptions;
  jitOptions.optLevel = options.optLevel;
  jitOptions.fuse = options.fuse;
  jitOptions.repack = options.repack;
  auto session = LlamaSession::create(*loaded->module, jitOptions);
  if (!session)
    return fail(llvm::toString(session.takeError()));
  llvm::errs() << llvm::format("compiled in %.1f s\n",
                               secondsSince(compileStart));

  int64_t contextLength = (*session)->getCacheLength();
  int64_t vocab = (*session)->getVocabSize();
  std::optional<HostTensor> logits;
  auto forward = [&](llvm::ArrayRef<int32_t> span)
      -> llvm::Expected<const float *> {
    auto result = (*session)->forward(span);
    if (!result)
      return result.takeError();
    logits = std::move(*result);
    return logits->getDataAs<float>() + (span.size() - 1) * vocab;
  };
  return generateTokens(options, tokenizer, contextLength,
                        "the context of " + llvm::Twine(contextLength) +
                            " (see --ctx)",
                        vocab, forward);
}

int ::lowbit::run::runPerplexity(MLIRContext &context,
                               const PerplexityOptions &options) {
  int64_t ctx = options.context;
  if (ctx < 4 || ctx % 2 != 0)
    return fail("--ctx must be an even number of at least 4, got " +
                llvm::Twine(ctx));
  auto text = llvm::MemoryBuffer::getFile(options.textFile, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  if (!text)
    return fail(options.textFile + ": cannot open: " +
                text.getError().message());

  LlamaBuildOptions build;
  build.tokenCounts = {ctx};
  build.cacheLength = ctx;
  llvm::errs() << "loading " << options.model << "\n";
  auto loaded = loadModel(context, options.model, build, &llvm::errs());
  if (!loaded)
    return fail(llvm::toString(loaded.takeError()));
  const ::lowbit::Tokenizer &tokenizer = *loaded->tokenizer;
  if (ctx > loaded->config.maxSeqLen)
    llvm::WithColor::warning(llvm::errs(), "lowbit-run")
        << "--ctx " << ctx << " exceeds the model's context length "
        << loaded->config.maxSeqLen << "\n";

  auto tokenizeStart = std::chrono::steady_clock::now();
  std::vector<int32_t> tokens;
  if (tokenizer.getBos() >= 0)
    tokens.push_back(tokenizer.getBos());
  std::vector<int32_t> encoded = tokenizer.encode((*text)->getBuffer());
  tokens.insert(tokens.end(), encoded.begin(), encoded.end());
  llvm::errs() << llvm::format("tokenized %s: %zu tokens in %.1f s\n",
                               options.textFile.c_str(), tokens.size(),
                               secondsSince(tokenizeStart));

  int64_t available = int64_t(tokens.size()) / ctx;
  if (available == 0)
    return fail("the text has " + llvm::Twine(tokens.size()) +
                " tokens, fewer than one window of " + llvm::Twine(ctx));
  int64_t chunks = options.chunks > 0 ? std::min(options.chunks, available)
                                      : available;

  auto compileStart = std::chrono::steady_clock::now();
  JitOptions jitOptions;
  jitOptions.optLevel = options.optLevel;
  jitOptions.fuse = options.fuse;
  jitOptions.repack = options.repack;
  auto session = LlamaSession::create(*loaded->module, jitOptions);
  if (!session)
    return fail(llvm::toString(session.takeError()));
  llvm::errs() << llvm::format("compiled in %.1f s\n",
                               secondsSince(compileStart));

  int64_t vocab = (*session)->getVocabSize();
  int64_t first = ctx / 2;
  double negativeLogLikelihood = 0.0;
  int64_t scored = 0;
  ProgressBar progress(chunks, "windows");
  auto evalStart = std::chrono::steady_clock::now();
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    std::vector<int32_t> window(tokens.begin() + chunk * ctx,
                                tokens.begin() + (chunk + 1) * ctx);
    if (tokenizer.getBos() >= 0)
      window[0] = tokenizer.getBos();
    (*session)->reset();
    auto logits = (*session)->forward(window);
    if (!logits)
      return fail(llvm::toString(logits.takeError()));
    const float *rows = logits->getDataAs<float>();
    for (int64_t j = first; j < ctx - 1; ++j) {
      const float *row = rows + j * vocab;
      double maxLogit = *std::max_element(row, row + vocab);
      double sum = 0.0;
      for (int64_t v = 0; v < vocab; ++v)
        sum += std::exp(double(row[v]) - maxLogit);
      double logProb = double(row[window[j + 1]]) - maxLogit - std::log(sum);
      negativeLogLikelihood -= logProb;
      ++scored;
    }
    double elapsed = secondsSince(evalStart);
    progress.update(
        chunk + 1,
        llvm::formatv("ppl {0:F4}, {1:F1} tokens/s",
                      std::exp(negativeLogLikelihood / scored),
                      (chunk + 1) * ctx / elapsed)
            .str());
  }
  double elapsed = secondsSince(evalStart);
  llvm::outs() << llvm::format("evaluated %lld windows of %lld tokens in "
                               "%.1f s (%.1f tokens/s)\n",
                               (long long)chunks, (long long)ctx, elapsed,
                               chunks * ctx / elapsed);
  llvm::outs() << llvm::format("perplexity: %.4f (tokens: %lld, ctx: %lld)\n",
                               std::exp(negativeLogLikelihood / scored),
                               (long long)scored, (long long)ctx);
  return 0;
}

/// Runs `model` (instrumented here, on a clone, so the caller's module is
/// left as it is) over `samples` windows of `ctx` tokens of `textFile` and
/// writes the statistics of its linear layers' inputs to `output`.
static llvm::Error calibrate(MLIRContext &context, const LoadedModel &model,
                             llvm::StringRef modelName,
                             llvm::StringRef textFile, int64_t samples,
                             int64_t ctx, unsigned optLevel,
                             llvm::StringRef output) {
  auto text = llvm::MemoryBuffer::getFile(textFile, /*IsText=*/false,
                                          /*RequiresNullTerminator=*/false);
  if (!text)
    return llvm::createStringError(textFile + ": cannot open: " +
                                   text.getError().message());
  const ::lowbit::Tokenizer &tokenizer = *model.tokenizer;
  std::vector<int32_t> tokens = tokenizer.encode((*text)->getBuffer());
  int64_t available = int64_t(tokens.size()) / (ctx - 1);
  if (available < samples)
    return llvm::createStringError(
        textFile + " has " + llvm::Twine(tokens.size()) +
        " tokens, enough for " + llvm::Twine(available) + " samples of " +
        llvm::Twine(ctx) + ", not " + llvm::Twine(samples));

  OwningOpRef<ModuleOp> instrumented = model.module.get().clone();
  llvm::StringMap<std::string> observerOfLayer =
      instrumentLinearInputs(*instrumented);
  JitOptions jitOptions;
  jitOptions.optLevel = optLevel;
  auto compileStart = std::chrono::steady_clock::now();
  auto session = LlamaSession::create(*instrumented, jitOptions);
  if (!session)
    return session.takeError();
  llvm::errs() << llvm::format("compiled in %.1f s\n",
                               secondsSince(compileStart));
  ::lowbit::runtime::ObserverRegistry &registry =
      (*session)->getJit().getObservers();
  ::lowbit::runtime::setActiveObserverRegistry(&registry);
  llvm::scope_exit deactivate(
      [] { ::lowbit::runtime::setActiveObserverRegistry(nullptr); });

  // Each sample: BOS and the next ctx - 1 tokens of the text.
  ProgressBar progress(samples, "samples");
  auto start = std::chrono::steady_clock::now();
  for (int64_t sample = 0; sample < samples; ++sample) {
    auto begin = tokens.begin() + sample * (ctx - 1);
    std::vector<int32_t> window;
    window.push_back(tokenizer.getBos() >= 0 ? tokenizer.getBos() : *begin);
    window.insert(window.end(), begin, begin + ctx - 1);
    (*session)->reset();
    if (auto logits = (*session)->forward(window); !logits)
      return logits.takeError();
    progress.update(sample + 1,
                    llvm::formatv("{0:F1} tokens/s",
                                  (sample + 1) * ctx / secondsSince(start))
                        .str());
  }

  CalibrationInfo info{modelName.str(), textFile.str(), samples, ctx};
  if (llvm::Error error = writeCalibrationStats(context, output,
                                                observerOfLayer, registry,
                                                info))
    return error;
  llvm::errs() << "wrote statistics of " << observerOfLayer.size()
               << " linear layers (" << registry.size() << " observers, "
               << samples * ctx << " tokens) to " << output << "\n";
  return llvm::Error::success();
}

int ::lowbit::run::runCalibrate(MLIRContext &context,
                               const CalibrateOptions &options) {
  if (options.samples < 1)
    return fail("--samples must be at least 1");
  if (options.context < 2)
    return fail("--ctx must be at least 2");
  LlamaBuildOptions build;
  build.tokenCounts = {options.context};
  build.cacheLength = options.context;
  llvm::errs() << "loading " << options.model << "\n";
  auto loaded = loadModel(context, options.model, build, &llvm::errs());
  if (!loaded)
    return fail(llvm::toString(loaded.takeError()));
  if (llvm::Error error =
          calibrate(context, *loaded, options.model, options.textFile,
                    options.samples, options.context, options.optLevel,
                    options.output))
    return fail(llvm::toString(std::move(error)));
  llvm::outs() << "wrote " << options.output << "\n";
  return 0;
}

/// Loads options.model, calibrates it if asked (writing the statistics to
/// `calibrationStats`) and applies the recipe.
static llvm::Expected<LoadedModel>
applyRecipe(MLIRContext &context, const QuantizeOptions &options,
            llvm::StringRef calibrationStats) {
  if (!options.stats.empty() && !options.calibrationText.empty())
    return makeError("give either --stats or --calib, not both");
  if (options.samples < 1 || options.calibrationContext < 2)
    return makeError("--samples must be at least 1 and --calib-ctx at least 2");

  // The statistics: given, or to be collected from the calibration text.
  std::string stats = options.stats;
  if (!options.calibrationText.empty())
    stats = calibrationStats.str();

  // The recipe is a named quant-opt pipeline (checked before the model is
  // loaded), with options of its own
  // (`w4a16-gptq{group=64}`); the statistics go in as its `stats` option.
  StringRef recipe = StringRef(options.recipe).trim();
  StringRef recipeName = recipe.take_until([](char c) { return c == '{'; });
  bool keepFloat = recipe == "none";
  const Recipe *known = llvm::find_if(getRecipes(), [&](const Recipe &r) {
    return recipeName == r.name;
  });
  if (!keepFloat && known == getRecipes().end()) {
    std::string names;
    for (const Recipe &r : getRecipes())
      names += (names.empty() ? "" : ", ") + std::string(r.name);
    return makeError("unknown recipe '" + recipeName + "'; the recipes are " +
                names);
  }
  if (!keepFloat && known->needsStatistics && stats.empty())
    return makeError("recipe '" + recipeName + "' needs calibration statistics: "
                "give --stats STATS (from lowbit-run calibrate) or --calib "
                "TEXTFILE");
  std::string pipeline = recipe.str();
  if (!keepFloat && !stats.empty()) {
    std::string statsOption = "stats=" + stats;
    if (recipe.ends_with("}"))
      pipeline.insert(pipeline.size() - 1, " " + statsOption);
    else
      pipeline += "{" + statsOption + "}";
  }
  PassManager pm(&context);
  std::string parseErrors;
  llvm::raw_string_ostream errorStream(parseErrors);
  if (!keepFloat && failed(parsePassPipeline(pipeline, pm, errorStream)))
    return makeError("cannot run recipe '" + options.recipe + "': " + parseErrors);
  LlamaBuildOptions build;
  build.tokenCounts = options.entries;
  build.cacheLength = options.context;
  llvm::errs() << "loading " << options.model << "\n";
  auto loaded = loadModel(context, options.model, build, &llvm::errs());
  if (!loaded)
    return loaded.takeError();

  // The statistics: given, or collected now from the calibration text.
  if (!options.calibrationText.empty()) {
    llvm::errs() << "calibrating on " << options.calibrationText << " ("
                 << options.samples << " samples of "
                 << options.calibrationContext << " tokens)\n";
    if (llvm::Error error = calibrate(
            context, *loaded, options.model, options.calibrationText,
            options.samples, options.calibrationContext, options.optLevel,
            stats))
      return std::move(error);
  }

  auto start = std::chrono::steady_clock::now();
  if (failed(pm.run(*loaded->module)))
    return makeError("recipe '" + options.recipe + "' failed (see above)");
  llvm::errs() << llvm::format("applied %s in %.1f s\n",
                               options.recipe.c_str(), secondsSince(start));

  return std::move(*loaded);
}

/// The weights of a recipe the GPU kernels run: `none` (float16) or
/// `w4a16-rtn` with options group=G (128) and head=f16|w4 (f16: the LM
/// head stays in float16, as the CPU recipes keep it at 8 bits).
static llvm::Error parseCudaRecipe(llvm::StringRef recipe,
                                   CudaArtefactOptions &cuda) {
  recipe = recipe.trim();
  if (recipe == "none")
    return llvm::Error::success();
  auto unsupported = [&] {
    return makeError("--target cuda builds float16 (--recipe none) and W4A16 "
                     "round-to-nearest (--recipe w4a16-rtn or "
                     "'w4a16-rtn{group=G head=f16|w4}') artefacts; '" +
                     recipe + "' runs on the CPU targets only");
  };
  llvm::StringRef options;
  if (recipe != "w4a16-rtn") {
    options = recipe;
    if (!options.consume_front("w4a16-rtn{") || !options.consume_back("}"))
      return unsupported();
  }
  cuda.group = 128;
  llvm::SmallVector<llvm::StringRef> fields;
  options.split(fields, ' ', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef field : fields) {
    auto [key, value] = field.split('=');
    if (key == "group" && !value.getAsInteger(10, cuda.group))
      continue;
    if (key == "head" && (value == "f16" || value == "w4")) {
      cuda.headF16 = value == "f16";
      continue;
    }
    return makeError("--target cuda: w4a16-rtn option '" + field +
                     "' is not group=N or head=f16|w4");
  }
  return llvm::Error::success();
}

static int runCompileCuda(const QuantizeOptions &options) {
  if (!options.stats.empty() || !options.calibrationText.empty())
    return fail("--target cuda: its recipes need no calibration (drop "
                "--stats and --calib)");
  CudaArtefactOptions cuda;
  if (llvm::Error error = parseCudaRecipe(options.recipe, cuda))
    return fail(llvm::toString(std::move(error)));
  if (options.context < 1)
    return fail("--ctx must be at least 1");
  auto start = std::chrono::steady_clock::now();
  llvm::StringRef model = options.model;
  ::lowbit::LlamaCheckpoint checkpoint;
  if (model.ends_with(".mlirbc") || model.ends_with(".mlir")) {
    return fail("--target cuda compiles a checkpoint (GGUF, llama2.c or "
                "safetensors), not LowBit IR: " +
                model);
  } else if (model.ends_with(".json")) {
    // A config.json alone: the shapes of a model, for speed runs.
    if (!options.randomSeed)
      return fail(model + " is a config without weights: give "
                          "--random-weights SEED for a speed run");
    auto text = llvm::MemoryBuffer::getFile(model);
    if (!text)
      return fail(model + ": " + text.getError().message());
    auto config = ::lowbit::parseHfLlamaConfig((*text)->getBuffer(), model);
    if (!config)
      return fail(llvm::toString(config.takeError()));
    checkpoint.config = *config;
  } else {
    llvm::errs() << "loading " << model << "\n";
    auto loaded = ::lowbit::readCheckpoint(model);
    if (!loaded)
      return fail(llvm::toString(loaded.takeError()));
    checkpoint = std::move(*loaded);
  }
  cuda.chip = options.chip;
  cuda.context = options.context;
  cuda.randomSeed = options.randomSeed;
  if (llvm::Error error =
          compileCudaArtefact(checkpoint, options.output, cuda, llvm::errs()))
    return fail(llvm::toString(std::move(error)));
  llvm::outs() << llvm::format("compiled %s with %s for cuda (%s) into %s in "
                               "%.1f s\n",
                               options.model.c_str(), options.recipe.c_str(),
                               options.chip.c_str(), options.output.c_str(),
                               secondsSince(start));
  return 0;
}

int ::lowbit::run::runCompile(MLIRContext &context,
                             const QuantizeOptions &options,
                             llvm::StringRef target) {
  if (llvm::Error error = checkArtefactTarget(target))
    return fail(llvm::toString(std::move(error)));
  if (target == "cuda")
    return runCompileCuda(options);
  if (options.randomSeed)
    return fail("--random-weights: only GPU artefacts (--target cuda) draw "
                "their weights at run time");
  llvm::SmallString<256> stats(options.output);
  llvm::sys::path::append(stats, "calibration.stats.mlirbc");
  if (!options.calibrationText.empty())
    if (std::error_code error =
            llvm::sys::fs::create_directories(options.output))
      return fail(options.output + ": " + error.message());
  auto start = std::chrono::steady_clock::now();
  auto loaded = applyRecipe(context, options, stats);
  if (!loaded)
    return fail(llvm::toString(loaded.takeError()));
  ArtefactOptions artefact;
  artefact.target = target.str();
  artefact.optLevel = options.optLevel;
  if (llvm::Error error = compileArtefact(*loaded->module, *loaded->tokenizer,
                                          options.output, artefact,
                                          llvm::errs()))
    return fail(llvm::toString(std::move(error)));
  llvm::outs() << llvm::format("compiled %s with %s into %s in %.1f s\n",
                               options.model.c_str(), options.recipe.c_str(),
                               options.output.c_str(), secondsSince(start));
  return 0;
}

int ::lowbit::run::runQuantize(MLIRContext &context,
                              const QuantizeOptions &options) {
  llvm::StringRef output = options.output;
  if (!output.ends_with(".mlirbc") && !output.ends_with(".mlir"))
    return fail("-o: the model file must end in .mlirbc (bytecode) or .mlir");
  auto loaded =
      applyRecipe(context, options, (output + ".stats.mlirbc").str());
  if (!loaded)
    return fail(llvm::toString(loaded.takeError()));
  if (llvm::Error error = saveModel(*loaded->module, *loaded->tokenizer, output))
    return fail(llvm::toString(std::move(error)));
  uint64_t size = 0;
  llvm::sys::fs::file_size(output, size);
  llvm::outs() << "wrote " << output << ": " << size << " bytes ("
               << countWeightBytes(*loaded->module) << " bytes of weights)\n";
  return 0;
}
