//===- WeightQuantization.cpp - Weight schemes and their error ------------===//

#include "lowbit/Quantization/WeightQuantization.h"

#include "mlir/AsmParser/AsmParser.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::lowbit;

FailureOr<QuantSchemeAttr>
mlir::lowbit::buildWeightScheme(MLIRContext *context, Location loc,
                                const WeightSchemeOptions &options) {
  if (options.group < 0 || options.icGroup < 0)
    return emitError(loc) << "group sizes must be 0 (off) or positive, got "
                             "group="
                          << options.group << " ic-group=" << options.icGroup;
  if (options.group > 0 && options.icGroup > 0)
    return emitError(loc) << "give group (along the input channels) or "
                             "ic-group (along the output channels), not both";
  auto isWord = [](StringRef text) {
    return !text.empty() && llvm::all_of(text, [](char c) {
      return llvm::isAlnum(c) || c == '_';
    });
  };
  if (!isWord(options.format) || !isWord(options.scaleType))
    return emitError(loc) << "invalid format '" << options.format
                          << "' or scale-type '" << options.scaleType << "'";
  if (options.perTensor && (options.group > 0 || options.icGroup > 0))
    return emitError(loc) << "a per-tensor scale takes no group size";
  std::string text = "#lowbit.scheme<" + options.format + ", ";
  if (options.perTensor)
    text += "per_tensor";
  else if (options.group > 0)
    text += "per_group<" + std::to_string(options.group) + ">";
  else if (options.icGroup > 0)
    text += "per_ic_group<" + std::to_string(options.icGroup) + ">";
  else
    text += "per_channel";
  if (!options.symmetric)
    text += ", zero_point";
  text += ", scale = " + options.scaleType + ">";

  std::string problem;
  Attribute parsed;
  {
    ScopedDiagnosticHandler handler(context, [&](Diagnostic &diag) {
      problem += diag.str();
      return success();
    });
    parsed = parseAttribute(text, context);
  }
  auto scheme = dyn_cast_if_present<QuantSchemeAttr>(parsed);
  if (!scheme)
    return emitError(loc) << "unsupported quantization scheme " << text << ": "
                          << problem;

  ElementFormat format = scheme.getFormat();
  if (format == ElementFormat::uint && scheme.getSymmetric())
    return emitError(loc) << "unsigned codes (" << options.format
                          << ") need zero points: use symmetric=false with i"
                          << scheme.getBits();
  // Asymmetric integer codes are unsigned, as in GGUF's Q4_1 and GPTQ
  // checkpoints: the zero point then lies within the code range.
  if (format == ElementFormat::sint && !scheme.getSymmetric())
    scheme = QuantSchemeAttr::get(context, ElementFormat::uint,
                                  scheme.getBits(), scheme.getGranularity(),
                                  scheme.getGroupSize(), false,
                                  scheme.getScaleType());
  if (isa<Float8E8M0FNUType>(scheme.getScaleType()) && !scheme.getSymmetric())
    return emitError(loc)
           << "power-of-two scales (f8E8M0FNU) take no zero points: use "
              "symmetric=true";
  return scheme;
}

std::vector<LinearLayer> mlir::lowbit::collectLinearLayers(ModuleOp module) {
  std::vector<LinearLayer> layers;
  DenseMap<std::pair<Attribute, Attribute>, size_t> indexOf;
  module.walk([&](linalg::MatmulOp matmul) {
    arith::ConstantOp weight = getLinearLayerWeight(matmul);
    if (!weight)
      return;
    std::pair<Attribute, Attribute> key(matmul->getAttr(kLayerNameAttr),
                                        weight.getValue());
    auto [it, inserted] = indexOf.try_emplace(key, layers.size());
    if (inserted) {
      LinearLayer layer;
      layer.name = getLayerName(matmul);
      layer.weight = weight;
      auto type = cast<RankedTensorType>(weight.getType());
      layer.outFeatures = type.getDimSize(0);
      layer.inFeatures = type.getDimSize(1);
      layers.push_back(std::move(layer));
    }
    layers[it->second].matmuls.push_back(matmul);
  });
  return layers;
}

LayerNameFilter::LayerNameFilter(StringRef list) {
  SmallVector<StringRef> parts;
  list.split(parts, ',', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  for (StringRef part : parts)
    if (!part.trim().empty())
      entries.push_back(part.trim().str());
}

bool LayerNameFilter::matches(StringRef name) const {
  return llvm::any_of(entries, [&](StringRef entry) {
    return name == entry || (name.ends_with(entry) &&
                             name.drop_back(entry.size()).ends_with("."));
  });
}

std::vector<float> mlir::lowbit::fakeQuantize(const QuantScheme &scheme,
                                              int64_t rows, int64_t columns,
                                              ArrayRef<float> weights) {
  const int64_t shape[] = {rows, columns};
  QuantizedTensor quantized =
      quantizeReference(scheme, PackingSpec(), shape, weights);
  return dequantizeReference(scheme, PackingSpec(), shape, quantized);
}

double mlir::lowbit::getOutputError(int64_t rows, int64_t columns,
                                    ArrayRef<float> delta,
                                    ArrayRef<float> gram) {
  // Eight partial sums per product so that the compiler vectorizes it.
  constexpr int64_t kLanes = 8;
  double total = 0.0;
  for (int64_t r = 0; r < rows; ++r) {
    const float *d = &delta[r * columns];
    double row = 0.0;
    for (int64_t i = 0; i < columns; ++i) {
      if (d[i] == 0.0f)
        continue;
      const float *g = &gram[i * columns];
      float partial[kLanes] = {};
      int64_t j = 0;
      for (; j + kLanes <= columns; j += kLanes)
        for (int64_t l = 0; l < kLanes; ++l)
          partial[l] += g[j + l] * d[j + l];
      float sum = 0.0f;
      for (; j < columns; ++j)
        sum += g[j] * d[j];
      for (float p : partial)
        sum += p;
      row += double(d[i]) * sum;
    }
    total += row;
  }
  return total;
}
