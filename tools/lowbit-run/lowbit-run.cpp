//===- lowbit-run.cpp - Run LowBit IR on the CPU --------------------------===//
//
//   lowbit-run exec FILE --entry F [--input A.npy ...] [--seed S] [-o DIR]
//                   [--runs N] [--stats-out STATS]
//   lowbit-run compare A B --entry F [--input A.npy ...] [--seed S]
//   lowbit-run generate MODEL --prompt TEXT [-n N] [--seed S] [--temperature T]
//                       [--ignore-eos]
//   lowbit-run perplexity MODEL TEXTFILE [--ctx 512] [--chunks K]
//
// `exec` JIT-compiles FILE through the reference lowering and calls F on
// inputs read from .npy files or drawn from a seeded generator. `compare`
// runs two files on the same inputs and reports how far apart their outputs
// are; it is the harness of every transform's numerical test.
//
//===----------------------------------------------------------------------===//

#include "ModelCommands.h"

#include "lowbit/InitAll.h"
#include "lowbit/Model/Calibration.h"
#include "lowbit/Transforms/Passes.h"
#include "lowbit/Runner/JitModule.h"
#include "lowbit/Runner/Npy.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Support/DebugStringHelper.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/WithColor.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>

using namespace mlir;
using namespace mlir::lowbit;
namespace cl = llvm::cl;
namespace runtime = ::lowbit::runtime;

static cl::OptionCategory runCategory("lowbit-run options");

static cl::SubCommand execCommand("exec", "Run a function of a .mlir file");
static cl::SubCommand compareCommand(
    "compare", "Run a function of two .mlir files on the same inputs and "
               "compare the outputs");

static cl::SubCommand generateCommand(
    "generate", "Continue a prompt with a model (GGUF, llama2.c, safetensors)");
static cl::SubCommand perplexityCommand(
    "perplexity", "Perplexity of a model over a text file (llama.cpp's method: "
                  "windows of --ctx tokens, second half scored)");

static cl::SubCommand calibrateCommand(
    "calibrate", "Collect calibration statistics of every linear layer's input "
                 "over a text file");

static cl::SubCommand importCommand(
    "import", "Import a checkpoint into float IR with its tokenizer "
              "(.mlirbc or .mlir), which every model command accepts");

static cl::SubCommand quantizeCommand(
    "quantize", "Apply a quantization recipe to a model (import, calibrate, "
                "quantize) and write it as LowBit IR");

static cl::opt<std::string> modelFile(cl::Positional, cl::Required,
                                      cl::desc("<model>"),
                                      cl::cat(runCategory),
                                      cl::sub(importCommand),
                                      cl::sub(quantizeCommand),
                                      cl::sub(generateCommand),
                                      cl::sub(perplexityCommand),
                                      cl::sub(calibrateCommand));
static cl::opt<std::string> textFile(cl::Positional, cl::Required,
                                     cl::desc("<text file>"),
                                     cl::cat(runCategory),
                                     cl::sub(perplexityCommand),
                                     cl::sub(calibrateCommand));
static cl::opt<std::string> statsFile("o", cl::Required,
                                      cl::desc("The statistics file to write"),
                                      cl::value_desc("stats"),
                                      cl::cat(runCategory),
                                      cl::sub(calibrateCommand));
static cl::opt<std::string> importOutput("o", cl::Required,
                                         cl::desc("The model file to write"),
                                         cl::value_desc("out.mlirbc"),
                                         cl::cat(runCategory),
                                         cl::sub(importCommand),
                                         cl::sub(quantizeCommand));
static cl::opt<std::string> recipe(
    "recipe", cl::Required,
    cl::desc("The recipe: a named quant-opt pipeline (w4a16-rtn, ...)"),
    cl::cat(runCategory), cl::sub(quantizeCommand));
static cl::opt<std::string> statsInput(
    "stats", cl::desc("Calibration statistics (from lowbit-run calibrate)"),
    cl::value_desc("stats.mlirbc"), cl::cat(runCategory),
    cl::sub(quantizeCommand));
static cl::opt<std::string> calibrationText(
    "calib", cl::desc("Calibrate on this text first (instead of --stats)"),
    cl::value_desc("textfile"), cl::cat(runCategory),
    cl::sub(quantizeCommand));
static cl::opt<int64_t> calibrationContext(
    "calib-ctx", cl::init(512),
    cl::desc("Tokens of each calibration sample (with --calib)"),
    cl::cat(runCategory), cl::sub(quantizeCommand));
static cl::list<int64_t> entryTokens(
    "entries", cl::CommaSeparated,
    cl::desc("Token counts of the entry points to build (default 1,64)"),
    cl::cat(runCategory), cl::sub(importCommand), cl::sub(quantizeCommand));
static cl::opt<int64_t> samples("samples", cl::init(32),
                                cl::desc("Calibration sequences to run"),
                                cl::cat(runCategory),
                                cl::sub(calibrateCommand),
                                cl::sub(quantizeCommand));
static cl::opt<std::string> prompt("prompt", cl::Required,
                                   cl::desc("The text to continue"),
                                   cl::cat(runCategory),
                                   cl::sub(generateCommand));
static cl::opt<int64_t> newTokens("n", cl::init(64),
                                  cl::desc("How many tokens to generate"),
                                  cl::cat(runCategory),
                                  cl::sub(generateCommand));
static cl::opt<double>
    temperature("temperature", cl::init(0.0),
                cl::desc("Sampling temperature; 0 picks the most likely token"),
                cl::cat(runCategory), cl::sub(generateCommand));
static cl::opt<bool> ignoreEos(
    "ignore-eos", cl::init(false),
    cl::desc("Keep generating past the end-of-text token (benchmarks: "
             "exactly -n tokens)"),
    cl::cat(runCategory), cl::sub(generateCommand));
static cl::opt<int64_t>
    contextLength("ctx", cl::init(0),
                  cl::desc("Context length (generate: the KV cache, default "
                           "the model's up to 2048; perplexity: the window, "
                           "default 512; import: the KV cache, default 512)"),
                  cl::cat(runCategory), cl::sub(importCommand),
                  cl::sub(quantizeCommand), cl::sub(generateCommand),
                  cl::sub(perplexityCommand), cl::sub(calibrateCommand));
static cl::opt<int64_t>
    chunks("chunks", cl::init(-1),
           cl::desc("Evaluate only the first K windows (default: all)"),
           cl::cat(runCategory), cl::sub(perplexityCommand));

static cl::opt<std::string> execFile(cl::Positional, cl::Required,
                                     cl::desc("<file.mlir>"),
                                     cl::cat(runCategory), cl::sub(execCommand));
static cl::list<std::string> compareFiles(cl::Positional, cl::OneOrMore,
                                          cl::desc("<a.mlir> <b.mlir>"),
                                          cl::cat(runCategory), cl::sub(compareCommand));

static cl::opt<std::string> entry("entry", cl::Required,
                                  cl::desc("The function to call"),
                                  cl::value_desc("name"), cl::cat(runCategory), cl::sub(execCommand),
                                  cl::sub(compareCommand));
static cl::list<std::string>
    inputs("input", cl::desc("An argument as a .npy file, in order; "
                             "arguments not given are drawn at random"),
           cl::value_desc("file.npy"), cl::sub(execCommand),
           cl::sub(compareCommand));
static cl::opt<uint64_t> seed("seed", cl::init(0),
                              cl::desc("Seed of the random inputs or of "
                                       "sampling"),
                              cl::cat(runCategory), cl::sub(execCommand),
                              cl::sub(compareCommand),
                              cl::sub(generateCommand));
static cl::opt<unsigned> optLevel("O", cl::init(2),
                                  cl::desc("LLVM optimization level (0-3)"),
                                  cl::cat(runCategory), cl::sub(execCommand),
                                  cl::sub(compareCommand),
                                  cl::sub(generateCommand),
                                  cl::sub(perplexityCommand),
                                  cl::sub(calibrateCommand),
                                  cl::sub(quantizeCommand));
static cl::opt<std::string> device(
    "device",
    cl::desc("Where an artefact runs: its own target by default; "
             "'reference' runs a GPU artefact's step on the host, in f32"),
    cl::cat(runCategory), cl::sub(generateCommand));
static cl::opt<bool> fuse(
    "fuse", cl::init(true),
    cl::desc("Fuse kernels (SwiGLU pairs of low-bit layers into one gated "
             "layer); --fuse=false gives the unfused reference"),
    cl::cat(runCategory), cl::sub(generateCommand),
    cl::sub(perplexityCommand));
static cl::opt<bool> repack(
    "repack", cl::init(true),
    cl::desc("Repack low-bit weights into the layout of the kernels "
             "(lowbit-pack-weights); --repack=false keeps their layout"),
    cl::cat(runCategory), cl::sub(generateCommand),
    cl::sub(perplexityCommand));
static cl::opt<std::string> outputDir(
    "o", cl::desc("Write the outputs as DIR/output<i>.npy"),
    cl::value_desc("dir"), cl::cat(runCategory), cl::sub(execCommand));
static cl::opt<bool> printValues("print", cl::desc("Print the output values"),
                                 cl::cat(runCategory), cl::sub(execCommand));
static cl::opt<bool>
    printStats("print-stats",
               cl::desc("Print the statistics the observers collected"),
               cl::cat(runCategory), cl::sub(execCommand));
static cl::opt<int64_t> runs(
    "runs", cl::init(1),
    cl::desc("Run this many times, with seeds S, S+1, ... (observers "
             "accumulate over all runs)"),
    cl::cat(runCategory), cl::sub(execCommand));
static cl::opt<std::string> statsOutput(
    "stats-out",
    cl::desc("Write what the observers of linear layers collected as a "
             "calibration statistics file (instrument the module with "
             "quant-opt --lowbit-instrument-linear-inputs)"),
    cl::value_desc("stats.mlirbc"), cl::cat(runCategory),
    cl::sub(execCommand));
static cl::opt<double> tolerance(
    "tolerance", cl::init(-1.0),
    cl::desc("Exit with an error if the max relative difference exceeds this"),
    cl::cat(runCategory), cl::sub(compareCommand));

static int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "lowbit-run") << message << "\n";
  return 1;
}

namespace {
/// A parsed and JIT-compiled file.
struct LoadedModule {
  OwningOpRef<ModuleOp> module;
  std::unique_ptr<JitModule> jit;
  /// The observer of each linear layer's input, when the module was
  /// instrumented for calibration (read before lowering drops it).
  llvm::StringMap<std::string> layerObservers;
};
} // namespace

static llvm::Expected<LoadedModule> load(MLIRContext &context,
                                         StringRef path) {
  std::string message;
  auto file = openInputFile(path, &message);
  if (!file)
    return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
  auto sourceMgr = std::make_shared<llvm::SourceMgr>();
  sourceMgr->AddNewSourceBuffer(std::move(file), llvm::SMLoc());
  SourceMgrDiagnosticHandler handler(*sourceMgr, &context);
  LoadedModule loaded;
  loaded.module = parseSourceFile<ModuleOp>(sourceMgr, &context);
  if (!loaded.module)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "could not parse " + path);
  if (auto map = (*loaded.module)
                     ->getAttrOfType<DictionaryAttr>(kObserversAttrName))
    for (NamedAttribute entry : map)
      if (auto key = dyn_cast<StringAttr>(entry.getValue()))
        loaded.layerObservers[entry.getName()] = key.str();
  JitOptions options;
  options.optLevel = optLevel;
  auto jit = JitModule::create(*loaded.module, options);
  if (!jit)
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   path + ": " + toString(jit.takeError()));
  loaded.jit = std::move(*jit);
  return loaded;
}

/// The arguments of `entry`: files first, the rest at random.
static llvm::Expected<SmallVector<HostTensor>>
prepareInputs(JitModule &jit) {
  auto signature = jit.getSignature(entry);
  if (!signature)
    return signature.takeError();
  auto random = makeRandomInputs(*signature, seed);
  SmallVector<HostTensor> args;
  if (inputs.size() > signature->getNumInputs())
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "@" + entry + " takes " + llvm::Twine(signature->getNumInputs()) +
            " arguments but " + llvm::Twine(inputs.size()) +
            " --input files were given");
  for (const std::string &path : inputs) {
    auto tensor = readNpy(path);
    if (!tensor)
      return tensor.takeError();
    args.push_back(std::move(*tensor));
  }
  if (args.size() < signature->getNumInputs()) {
    if (!random)
      return random.takeError();
    for (size_t i = args.size(); i < random->size(); ++i)
      args.push_back(std::move((*random)[i]));
  }
  return args;
}

/// Prints a tensor as nested lists, `[[1, 2], [3, 4]]`.
static void printTensor(llvm::raw_ostream &os, const HostTensor &tensor) {
  ArrayRef<int64_t> shape = tensor.getShape();
  int64_t index = 0;
  std::function<void(size_t)> print = [&](size_t axis) {
    if (axis == shape.size()) {
      os << llvm::format("%g", tensor.getAsDouble(index++));
      return;
    }
    os << "[";
    for (int64_t i = 0; i < shape[axis]; ++i) {
      if (i)
        os << ", ";
      print(axis + 1);
    }
    os << "]";
  };
  print(0);
  os << "\n";
}

template <typename T>
static void printList(llvm::raw_ostream &os, const std::vector<T> &values) {
  os << "[";
  for (size_t i = 0; i < values.size(); ++i)
    os << (i ? ", " : "") << llvm::format("%g", double(values[i]));
  os << "]\n";
}

static void printObserverStats(const runtime::ObserverRegistry &observers) {
  llvm::raw_ostream &os = llvm::outs();
  for (size_t id = 0; id < observers.size(); ++id) {
    const runtime::ChannelStatistics &stats = observers.get(id);
    os << "observer '" << observers.getKeys()[id] << "': rows " << stats.rows
       << ", channels " << stats.channels << "\n";
    if (stats.flags & runtime::kObserveAbsMax) {
      os << "  absmax: ";
      printList(os, stats.absMax);
    }
    if (stats.flags & runtime::kObserveMeanAbs) {
      os << "  mean_abs: ";
      printList(os, stats.getMeanAbs());
    }
    if (stats.flags & runtime::kObserveGram) {
      std::vector<double> gram = stats.getGram();
      for (int64_t i = 0; i < stats.channels; ++i) {
        os << "  gram[" << i << "]: ";
        printList(os, std::vector<double>(gram.begin() + i * stats.channels,
                                          gram.begin() + (i + 1) * stats.channels));
      }
    }
  }
}

static int runExec(MLIRContext &context) {
  if (runs < 1)
    return fail("--runs must be at least 1");
  auto loaded = load(context, execFile);
  if (!loaded)
    return fail(toString(loaded.takeError()));
  if (!statsOutput.empty() && loaded->layerObservers.empty())
    return fail(execFile + " observes no linear layers; instrument it with "
                           "quant-opt --lowbit-instrument-linear-inputs "
                           "before --stats-out");
  uint64_t firstSeed = seed;
  llvm::Expected<SmallVector<HostTensor>> outputs = SmallVector<HostTensor>();
  for (int64_t run = 0; run < runs; ++run) {
    seed = firstSeed + run;
    auto args = prepareInputs(*loaded->jit);
    if (!args)
      return fail(toString(args.takeError()));
    outputs = loaded->jit->invoke(entry, *args);
    if (!outputs)
      return fail(toString(outputs.takeError()));
  }
  if (!statsOutput.empty()) {
    CalibrationInfo info{execFile, "seeded inputs", runs, 0};
    if (llvm::Error error = writeCalibrationStats(
            context, statsOutput, loaded->layerObservers,
            loaded->jit->getObservers(), info))
      return fail(toString(std::move(error)));
  }
  if (!outputDir.empty()) {
    if (std::error_code ec = llvm::sys::fs::create_directories(outputDir))
      return fail("cannot create " + outputDir + ": " + ec.message());
  }
  for (auto [index, output] : llvm::enumerate(*outputs)) {
    llvm::outs() << "output " << index << ": " << output.getTypeString();
    if (!outputDir.empty()) {
      llvm::SmallString<256> path(outputDir);
      llvm::sys::path::append(path, "output" + std::to_string(index) + ".npy");
      if (llvm::Error error = writeNpy(path, output))
        return fail(toString(std::move(error)));
      llvm::outs() << " -> " << path;
    }
    llvm::outs() << "\n";
    if (printValues)
      printTensor(llvm::outs(), output);
  }
  if (printStats)
    printObserverStats(loaded->jit->getObservers());
  return 0;
}

/// max |a - b| / max |a|: the difference relative to the first output's
/// largest magnitude. Matching NaNs are ignored; a NaN on one side only
/// makes the difference infinite.
static double relativeDifference(const HostTensor &a, const HostTensor &b,
                                 double &maxAbsDiff, double &maxAbs) {
  maxAbsDiff = 0.0;
  maxAbs = 0.0;
  for (int64_t i = 0; i < a.getNumElements(); ++i) {
    double x = a.getAsDouble(i), y = b.getAsDouble(i);
    if (std::isnan(x) || std::isnan(y)) {
      if (std::isnan(x) != std::isnan(y))
        maxAbsDiff = INFINITY;
      continue;
    }
    maxAbsDiff = std::max(maxAbsDiff, std::fabs(x - y));
    maxAbs = std::max(maxAbs, std::fabs(x));
  }
  return maxAbs > 0.0 ? maxAbsDiff / maxAbs : maxAbsDiff;
}

static int runCompare(MLIRContext &context) {
  if (compareFiles.size() != 2)
    return fail("compare takes exactly two files, got " +
                llvm::Twine(compareFiles.size()));
  auto first = load(context, compareFiles[0]);
  if (!first)
    return fail(toString(first.takeError()));
  auto second = load(context, compareFiles[1]);
  if (!second)
    return fail(toString(second.takeError()));
  auto firstSignature = first->jit->getSignature(entry);
  auto secondSignature = second->jit->getSignature(entry);
  if (!firstSignature)
    return fail(compareFiles[0] + ": " + toString(firstSignature.takeError()));
  if (!secondSignature)
    return fail(compareFiles[1] + ": " + toString(secondSignature.takeError()));
  if (firstSignature->getInputs() != secondSignature->getInputs() ||
      firstSignature->getNumResults() != secondSignature->getNumResults())
    return fail("@" + entry + " has different signatures: " +
                debugString(*firstSignature) + " vs " +
                debugString(*secondSignature));

  auto args = prepareInputs(*first->jit);
  if (!args)
    return fail(toString(args.takeError()));
  auto a = first->jit->invoke(entry, *args);
  if (!a)
    return fail(compareFiles[0] + ": " + toString(a.takeError()));
  auto b = second->jit->invoke(entry, *args);
  if (!b)
    return fail(compareFiles[1] + ": " + toString(b.takeError()));

  double worst = 0.0;
  for (size_t i = 0; i < a->size(); ++i) {
    const HostTensor &x = (*a)[i], &y = (*b)[i];
    if (x.getShape() != y.getShape())
      return fail("output " + llvm::Twine(i) + " has shape " +
                  x.getTypeString() + " in the first file and " +
                  y.getTypeString() + " in the second");
    double maxAbsDiff, maxAbs;
    double relative = relativeDifference(x, y, maxAbsDiff, maxAbs);
    llvm::outs() << "output " << i << ": " << x.getTypeString()
                 << llvm::format(", max |a-b| %.6g, max |a| %.6g, relative %.6g\n",
                                 maxAbsDiff, maxAbs, relative);
    worst = std::max(worst, relative);
  }
  llvm::outs() << llvm::format("max relative difference: %.6g\n", worst);
  llvm::outs().flush();
  if (tolerance >= 0.0 && !(worst <= tolerance)) {
    std::string message;
    llvm::raw_string_ostream os(message);
    os << llvm::format("max relative difference %.6g exceeds the tolerance "
                       "%.6g",
                       worst, tolerance.getValue());
    return fail(message);
  }
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Show only lowbit-run's own options, not every option LLVM registers.
  for (cl::SubCommand *sub :
       {&cl::SubCommand::getTopLevel(), &execCommand, &compareCommand,
        &importCommand, &quantizeCommand, &generateCommand, &perplexityCommand, &calibrateCommand})
    cl::HideUnrelatedOptions(runCategory, *sub);
  cl::ParseCommandLineOptions(
      argc, argv,
      "lowbit-run: JIT-compile LowBit IR and run it on the CPU\n\n"
      "  lowbit-run exec FILE --entry F [--input A.npy ...] [--seed S] [-o DIR]"
      " [--runs N] [--stats-out STATS]\n"
      "  lowbit-run compare A B --entry F [--input A.npy ...] [--seed S]\n"
      "  lowbit-run import MODEL -o OUT.mlirbc [--ctx 512] [--entries 1,64]\n"
      "  lowbit-run quantize MODEL --recipe NAME [--stats STATS | --calib "
      "TEXTFILE] -o OUT.mlirbc\n"
      "  lowbit-run generate MODEL --prompt TEXT [-n N] [--seed S] "
      "[--temperature T] [--ignore-eos]\n"
      "  lowbit-run perplexity MODEL TEXTFILE [--ctx 512] [--chunks K]\n"
      "  lowbit-run calibrate MODEL TEXTFILE -o STATS [--samples N] "
      "[--ctx L]\n");

  DialectRegistry registry;
  registerLowBitDialects(registry);
  registerLowBitPasses(); // The recipes of `quantize` are pass pipelines.
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // A diagnostic names its layer; printing the op (or a whole model) beside
  // it helps nobody.
  context.printOpOnDiagnostic(false);

  if (execCommand)
    return runExec(context);
  if (compareCommand)
    return runCompare(context);
  if (importCommand) {
    ::lowbit::run::ImportOptions options;
    options.model = modelFile;
    options.output = importOutput;
    if (contextLength > 0)
      options.context = contextLength;
    if (!entryTokens.empty())
      options.entries.assign(entryTokens.begin(), entryTokens.end());
    return ::lowbit::run::runImport(context, options);
  }
  if (quantizeCommand) {
    ::lowbit::run::QuantizeOptions options;
    options.model = modelFile;
    options.recipe = recipe;
    options.stats = statsInput;
    options.calibrationText = calibrationText;
    options.output = importOutput;
    options.samples = samples;
    options.calibrationContext = calibrationContext;
    if (contextLength > 0)
      options.context = contextLength;
    if (!entryTokens.empty())
      options.entries.assign(entryTokens.begin(), entryTokens.end());
    options.optLevel = optLevel;
    return ::lowbit::run::runQuantize(context, options);
  }
  if (generateCommand) {
    ::lowbit::run::GenerateOptions options;
    options.model = modelFile;
    options.prompt = prompt;
    options.tokens = newTokens;
    options.seed = seed;
    options.temperature = temperature;
    options.ignoreEos = ignoreEos;
    options.context = contextLength;
    options.optLevel = optLevel;
    options.fuse = fuse;
    options.device = device;
    options.repack = repack;
    return ::lowbit::run::runGenerate(context, options);
  }
  if (perplexityCommand) {
    ::lowbit::run::PerplexityOptions options;
    options.model = modelFile;
    options.textFile = textFile;
    options.context = contextLength > 0 ? int64_t(contextLength) : 512;
    options.chunks = chunks;
    options.optLevel = optLevel;
    options.fuse = fuse;
    options.repack = repack;
    return ::lowbit::run::runPerplexity(context, options);
  }
  if (calibrateCommand) {
    ::lowbit::run::CalibrateOptions options;
    options.model = modelFile;
    options.textFile = textFile;
    options.output = statsFile;
    options.samples = samples;
    options.context = contextLength > 0 ? int64_t(contextLength) : 512;
    options.optLevel = optLevel;
    return ::lowbit::run::runCalibrate(context, options);
  }
  return fail("expected a command: exec, compare, import, quantize, "
              "generate, perplexity or calibrate (see --help)");
}
