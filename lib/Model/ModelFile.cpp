//===- ModelFile.cpp - Open any model file as IR plus tokenizer -----------===//

#include "lowbit/Model/ModelFile.h"

#include "mlir/Bytecode/BytecodeWriter.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"

#include <chrono>

using namespace mlir;
using namespace mlir::lowbit;

static llvm::Error irError(llvm::StringRef path, const llvm::Twine &message) {
  return llvm::createStringError(path + ": " + message);
}

/// The model's hyper-parameters back from the `lowbit.model` attribute.
static llvm::Expected<::lowbit::LlamaConfig>
readConfig(DictionaryAttr model, llvm::StringRef path) {
  ::lowbit::LlamaConfig c;
  std::string missing;
  auto getInt = [&](llvm::StringRef key, int64_t &value) {
    if (auto attr = model.getAs<IntegerAttr>(key))
      value = attr.getInt();
    else
      missing += (missing.empty() ? "" : ", ") + key.str();
  };
  auto getFloat = [&](llvm::StringRef key, float &value) {
    if (auto attr = model.getAs<FloatAttr>(key))
      value = float(attr.getValueAsDouble());
    else
      missing += (missing.empty() ? "" : ", ") + key.str();
  };
  getInt("dim", c.dim);
  getInt("hidden_dim", c.hiddenDim);
  getInt("layers", c.numLayers);
  getInt("heads", c.numHeads);
  getInt("kv_heads", c.numKvHeads);
  getInt("vocab", c.vocabSize);
  getInt("context", c.maxSeqLen);
  getFloat("norm_eps", c.normEps);
  getFloat("rope_theta", c.ropeTheta);
  if (auto name = model.getAs<StringAttr>("architecture"))
    c.architecture = name.str();
  if (!missing.empty())
    return irError(path, "the '" + kModelAttr + "' attribute lacks " + missing);
  if (llvm::Error error = c.verify())
    return irError(path, llvm::toString(std::move(error)));
  return c;
}

static llvm::Expected<LoadedModel>
loadModelIR(MLIRContext &context, llvm::StringRef path,
            const LlamaBuildOptions &options, llvm::raw_ostream *log) {
  auto start = std::chrono::steady_clock::now();
  // Parse errors go through the context's handler, with their location.
  ParserConfig config(&context);
  OwningOpRef<ModuleOp> module = parseSourceFile<ModuleOp>(path, config);
  if (!module)
    return irError(path, "cannot parse the file as an MLIR module");
  auto model = (*module)->getAttrOfType<DictionaryAttr>(kModelAttr);
  if (!model)
    return irError(path, "not a LowBit model: the module has no '" +
                             kModelAttr + "' attribute");
  auto c = readConfig(model, path);
  if (!c)
    return c.takeError();
  auto cache = model.getAs<IntegerAttr>("cache_length");
  if (!cache || cache.getInt() <= 0)
    return irError(path, "the '" + kModelAttr + "' attribute has no cache_length");
  if (options.cacheLength > cache.getInt())
    return irError(path, "the model was built for a context of " +
                             llvm::Twine(cache.getInt()) + " tokens, fewer than " +
                             llvm::Twine(options.cacheLength) +
                             " (import it again with a larger --ctx)");

  auto blob = (*module)->getAttrOfType<DenseResourceElementsAttr>(kTokenizerAttr);
  if (!blob || !blob.getRawHandle().getBlob())
    return irError(path, "the model has no tokenizer ('" + kTokenizerAttr +
                             "' attribute with its blob)");
  llvm::ArrayRef<char> bytes = blob.getRawHandle().getBlob()->getData();
  auto tokenizer = ::lowbit::Tokenizer::deserialize(
      llvm::StringRef(bytes.data(), bytes.size()));
  if (!tokenizer)
    return irError(path, "the tokenizer is damaged: " +
                             llvm::toString(tokenizer.takeError()));
  if ((*tokenizer)->getVocabSize() != c->vocabSize)
    return irError(path, "the tokenizer has " +
                             llvm::Twine((*tokenizer)->getVocabSize()) +
                             " tokens, the model a vocabulary of " +
                             llvm::Twine(c->vocabSize));
  if (log)
    *log << llvm::format("model: %s (LowBit IR), %lld layers, dim %lld, "
                         "vocab %lld, cache %lld; read in %.1f s\n",
                         path.str().c_str(), (long long)c->numLayers,
                         (long long)c->dim, (long long)c->vocabSize,
                         (long long)cache.getInt(),
                         std::chrono::duration<double>(
                             std::chrono::steady_clock::now() - start)
                             .count());
  LoadedModel loaded;
  loaded.config = *c;
  loaded.tokenizer = std::move(*tokenizer);
  loaded.module = std::move(module);
  return loaded;
}

llvm::Error mlir::lowbit::saveModel(ModuleOp module,
                                    const ::lowbit::Tokenizer &tokenizer,
                                    llvm::StringRef path) {
  std::string bytes = tokenizer.serialize();
  auto type = RankedTensorType::get({int64_t(bytes.size())},
                                    IntegerType::get(module.getContext(), 8));
  module->setAttr(kTokenizerAttr,
                  DenseResourceElementsAttr::get(
                      type, "lowbit_tokenizer",
                      HeapAsmResourceBlob::allocateAndCopyInferAlign(
                          llvm::ArrayRef<char>(bytes.data(), bytes.size()))));
  std::string error;
  auto file = openOutputFile(path, &error);
  if (!file)
    return llvm::createStringError(path + ": " + error);
  if (path.ends_with(".mlirbc")) {
    if (failed(writeBytecodeToFile(module, file->os())))
      return llvm::createStringError(path + ": writing bytecode failed");
  } else {
    module->print(file->os(), OpPrintingFlags().enableDebugInfo(false));
  }
  file->keep();
  return llvm::Error::success();
}

llvm::Expected<LoadedModel>
mlir::lowbit::loadModel(MLIRContext &context, llvm::StringRef path,
                        const LlamaBuildOptions &options,
                        llvm::raw_ostream *log) {
  if (path.ends_with(".mlir") || path.ends_with(".mlirbc"))
    return loadModelIR(context, path, options, log);
  auto start = std::chrono::steady_clock::now();
  auto checkpoint = ::lowbit::readCheckpoint(path);
  if (!checkpoint)
    return checkpoint.takeError();
  if (!checkpoint->tokenizer)
    return llvm::createStringError(path + ": the checkpoint has no tokenizer");
  LoadedModel loaded;
  loaded.config = checkpoint->config;
  loaded.tokenizer = std::move(checkpoint->tokenizer);
  const ::lowbit::LlamaConfig &c = loaded.config;
  if (log)
    *log << llvm::format(
        "model: %s, %lld layers, dim %lld, ffn %lld, %lld heads (%lld KV), "
        "vocab %lld, context %lld; read in %.1f s\n",
        path.str().c_str(), (long long)c.numLayers, (long long)c.dim,
        (long long)c.hiddenDim, (long long)c.numHeads, (long long)c.numKvHeads,
        (long long)c.vocabSize, (long long)c.maxSeqLen,
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
            .count());
  loaded.module = buildLlamaModule(context, *checkpoint, options);
  return loaded;
}
