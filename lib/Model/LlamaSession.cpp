//===- LlamaSession.cpp - Run a compiled Llama model token by token -------===//

#include "lowbit/Model/LlamaSession.h"
#include "lowbit/Model/LlamaBuilder.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/STLExtras.h"

#include <algorithm>
#include <cstring>

using namespace mlir;
using namespace mlir::lowbit;

static llvm::Error makeError(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

llvm::Expected<std::unique_ptr<LlamaSession>>
LlamaSession::create(ModuleOp module, const JitOptions &options) {
  std::unique_ptr<LlamaSession> session(new LlamaSession());
  auto model = module->getAttrOfType<DictionaryAttr>(kModelAttr);
  if (!model)
    return makeError("the module has no '" + kModelAttr +
                     "' attribute; it is not a LowBit model");
  auto getInt = [&](StringRef key) -> int64_t {
    auto attr = model.getAs<IntegerAttr>(key);
    return attr ? attr.getInt() : -1;
  };
  session->cacheLength = getInt("cache_length");
  session->vocabSize = getInt("vocab");
  int64_t layers = getInt("layers"), kvHeads = getInt("kv_heads"),
          heads = getInt("heads"), dim = getInt("dim");
  if (session->cacheLength <= 0 || session->vocabSize <= 0 || layers <= 0 ||
      kvHeads <= 0 || heads <= 0 || dim <= 0 || dim % heads != 0)
    return makeError("the module's '" + kModelAttr +
                     "' attribute is incomplete or inconsistent");
  for (auto function : module.getOps<func::FuncOp>()) {
    StringRef name = function.getName();
    int64_t tokens;
    if (name.consume_front("forward_") && !name.getAsInteger(10, tokens))
      session->entryTokenCounts.push_back(tokens);
  }
  if (session->entryTokenCounts.empty())
    return makeError("the module has no @forward_<T> entry point");
  llvm::sort(session->entryTokenCounts);

  // The caches' layouts are the entry points' to choose: take their shapes
  // from the signature.
  auto entry = module.lookupSymbol<func::FuncOp>(
      getForwardName(session->entryTokenCounts.front()));
  FunctionType signature = entry.getFunctionType();
  auto cacheShape = [&](unsigned arg) -> SmallVector<int64_t> {
    if (signature.getNumInputs() != 4)
      return {};
    auto type = dyn_cast<RankedTensorType>(signature.getInput(arg));
    return type ? SmallVector<int64_t>(type.getShape())
                : SmallVector<int64_t>();
  };
  SmallVector<int64_t> keyShape = cacheShape(2), valueShape = cacheShape(3);
  if (keyShape.size() != 4 || valueShape.size() != 4)
    return makeError("the entry points do not take (tokens, position, key "
                     "cache, value cache)");
  auto jit = JitModule::create(module, options);
  if (!jit)
    return jit.takeError();
  session->jit = std::move(*jit);
  session->keyCache = HostTensor(DType::f32, keyShape);
  session->valueCache = HostTensor(DType::f32, valueShape);
  std::memset(session->keyCache.getData(), 0,
              session->keyCache.getSizeInBytes());
  std::memset(session->valueCache.getData(), 0,
              session->valueCache.getSizeInBytes());
  return session;
}

llvm::Expected<HostTensor>
LlamaSession::runEntry(int64_t entryTokens, llvm::ArrayRef<int32_t> tokens) {
  HostTensor tokenTensor(DType::i32, {entryTokens});
  int32_t *ids = tokenTensor.getDataAs<int32_t>();
  std::fill(ids, ids + entryTokens, 0);
  std::copy(tokens.begin(), tokens.end(), ids);
  HostTensor positionTensor(DType::i32, {1});
  positionTensor.getDataAs<int32_t>()[0] = static_cast<int32_t>(position);
  // The caches are written in place; pass views of the session's buffers.
  SmallVector<HostTensor> args;
  args.push_back(std::move(tokenTensor));
  args.push_back(std::move(positionTensor));
  args.push_back(HostTensor::borrow(keyCache));
  args.push_back(HostTensor::borrow(valueCache));
  auto results = jit->invoke(getForwardName(entryTokens), args);
  if (!results)
    return results.takeError();
  HostTensor &logits = (*results)[0];
  position += static_cast<int64_t>(tokens.size());
  if (static_cast<int64_t>(tokens.size()) == entryTokens)
    return std::move(logits);
  HostTensor trimmed(DType::f32, {static_cast<int64_t>(tokens.size()),
                                  vocabSize});
  std::memcpy(trimmed.getData(), logits.getData(), trimmed.getSizeInBytes());
  return trimmed;
}

llvm::Expected<HostTensor>
LlamaSession::forward(llvm::ArrayRef<int32_t> tokens) {
  int64_t n = static_cast<int64_t>(tokens.size());
  if (n == 0)
    return makeError("forward needs at least one token");
  if (position + n > cacheLength)
    return makeError("context overflow: " + llvm::Twine(position + n) +
                     " tokens, the cache holds " + llvm::Twine(cacheLength));
  for (int32_t token : tokens)
    if (token < 0 || token >= vocabSize)
      return makeError("token id " + llvm::Twine(token) +
                       " is outside the vocabulary of " +
                       llvm::Twine(vocabSize));
  HostTensor all(DType::f32, {n, vocabSize});
  float *out = all.getDataAs<float>();
  int64_t done = 0;
  while (done < n) {
    int64_t remaining = n - done;
    // The smallest entry that takes the rest, if its padding fits in the
    // cache; else the largest entry that fits without padding.
    int64_t entry = -1;
    for (int64_t tokensOfEntry : entryTokenCounts)
      if (tokensOfEntry >= remaining && position + tokensOfEntry <= cacheLength) {
        entry = tokensOfEntry;
        break;
      }
    if (entry < 0)
      for (int64_t tokensOfEntry : llvm::reverse(entryTokenCounts))
        if (tokensOfEntry <= remaining) {
          entry = tokensOfEntry;
          break;
        }
    if (entry < 0)
      return makeError("no entry point fits " + llvm::Twine(remaining) +
                       " tokens at position " + llvm::Twine(position));
    int64_t count = std::min(entry, remaining);
    auto logits = runEntry(entry, tokens.slice(done, count));
    if (!logits)
      return logits.takeError();
    std::memcpy(out + done * vocabSize, logits->getData(),
                logits->getSizeInBytes());
    done += count;
  }
  return all;
}
