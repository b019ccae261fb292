//===- Recipes.cpp - Named quantization recipes ---------------------------===//

#include "lowbit/Pipelines/Recipes.h"
#include "lowbit/Quantization/Passes.h"

#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::lowbit;

namespace {

/// The name the model builders give the LM head.
constexpr llvm::StringLiteral kHeadLayer = "output";

/// The layers every pass of a recipe but the head's leaves alone: the
/// user's, and the LM head, which has a format of its own (`head`).
std::string skipped(const RecipeOptions &options) {
  if (StringRef(options.skip).trim().empty())
    return kHeadLayer.str();
  return options.skip + "," + kHeadLayer.str();
}

QuantizeWeightsPassOptions weights(const RecipeOptions &options,
                                   StringRef format, int64_t group) {
  QuantizeWeightsPassOptions pass;
  pass.format = format.str();
  pass.group = group;
  pass.skip = skipped(options);
  return pass;
}

/// The LM head is the largest layer of a small model (SmolLM2-135M's is a
/// fifth of its weights, tied to the embedding) and dominates decode time
/// if left in float; per-channel int8 leaves its logits within noise (as
/// llama.cpp keeps the head at 6-8 bits in its 4-bit formats). It is
/// quantized last, weight-only, round to nearest; `head=f32` or naming it
/// in `skip` keeps it in float.
void addHead(OpPassManager &pm, const RecipeOptions &options) {
  if (StringRef(options.head) == "f32")
    return;
  QuantizeWeightsPassOptions pass;
  pass.format = options.head;
  pass.group = 0;
  pass.skip = options.skip;
  pass.only = kHeadLayer.str();
  pm.addPass(createQuantizeWeightsPass(pass));
}

/// GPTQ with act-order; below 4 bits with zero points (unsigned codes), as
/// GPTQ checkpoints are: a 2-bit symmetric grid has one positive level.
QuantizeWeightsPassOptions gptq(const RecipeOptions &options,
                                StringRef format, bool symmetric) {
  QuantizeWeightsPassOptions pass = weights(options, format, options.group);
  pass.method = WeightQuantMethod::gptq;
  pass.symmetric = symmetric;
  pass.stats = options.stats;
  pass.actOrder = true;
  return pass;
}

SmoothPassOptions smoothing(const RecipeOptions &options, SmoothMethod method,
                            int64_t group) {
  SmoothPassOptions pass;
  pass.method = method;
  pass.alpha = options.alpha;
  pass.stats = options.stats;
  pass.group = group;
  pass.skip = skipped(options);
  return pass;
}

QuantizeActivationsPassOptions activations(const RecipeOptions &options,
                                           StringRef format, int64_t group) {
  QuantizeActivationsPassOptions pass;
  pass.format = format.str();
  pass.group = group;
  pass.skip = skipped(options);
  return pass;
}

ReorderChannelsPassOptions reorder(const RecipeOptions &options) {
  ReorderChannelsPassOptions pass;
  pass.stats = options.stats;
  pass.skip = skipped(options);
  return pass;
}

/// The recipes end with a cleanup of what the passes left unused (the float
/// weights they replaced).
void finish(OpPassManager &pm) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void buildW8A8Rtn(OpPassManager &pm, const RecipeOptions &options) {
  pm.addPass(createQuantizeWeightsPass(weights(options, "i8", 0)));
  pm.addPass(createQuantizeActivationsPass(activations(options, "i8", 0)));
  finish(pm);
}

void buildW8A8SmoothQuant(OpPassManager &pm, const RecipeOptions &options) {
  pm.addPass(
      createSmoothPass(smoothing(options, SmoothMethod::smoothquant, 0)));
  buildW8A8Rtn(pm, options);
}

void buildW4A16Rtn(OpPassManager &pm, const RecipeOptions &options) {
  pm.addPass(createQuantizeWeightsPass(weights(options, "i4", options.group)));
  finish(pm);
}

void buildW4A16Awq(OpPassManager &pm, const RecipeOptions &options) {
  pm.addPass(
      createSmoothPass(smoothing(options, SmoothMethod::awq, options.group)));
  buildW4A16Rtn(pm, options);
}

void buildW4A16SmoothQuantPlus(OpPassManager &pm,
                               const RecipeOptions &options) {
  pm.addPass(createSmoothPass(
      smoothing(options, SmoothMethod::smoothquantPlus, options.group)));
  buildW4A16Rtn(pm, options);
}

void buildGptq(OpPassManager &pm, const RecipeOptions &options,
               StringRef format, bool symmetric) {
  pm.addPass(createReorderChannelsPass(reorder(options)));
  pm.addPass(createQuantizeWeightsPass(gptq(options, format, symmetric)));
  finish(pm);
}

void buildW4A16Gptq(OpPassManager &pm, const RecipeOptions &options) {
  buildGptq(pm, options, "i4", /*symmetric=*/true);
}
void buildW3A16Gptq(OpPassManager &pm, const RecipeOptions &options) {
  buildGptq(pm, options, "i3", /*symmetric=*/false);
}
void buildW2A16Gptq(OpPassManager &pm, const RecipeOptions &options) {
  buildGptq(pm, options, "i2", /*symmetric=*/false);
}

void buildW4A4Rtn(OpPassManager &pm, const RecipeOptions &options) {
  pm.addPass(createQuantizeWeightsPass(weights(options, "i4", options.group)));
  pm.addPass(createQuantizeActivationsPass(
      activations(options, "i4", options.group)));
  finish(pm);
}

void buildW4A4SvdQuant(OpPassManager &pm, const RecipeOptions &options) {
  pm.addPass(
      createSmoothPass(smoothing(options, SmoothMethod::smoothquant, 0)));
  LowRankSplitPassOptions lowRank;
  lowRank.rank = options.rank;
  lowRank.skip = skipped(options);
  pm.addPass(createLowRankSplitPass(lowRank));
  buildW4A4Rtn(pm, options);
}

void buildW2Ptq161(OpPassManager &pm, const RecipeOptions &options) {
  pm.addPass(createReorderChannelsPass(reorder(options)));
  SplitSalientPassOptions salient;
  salient.stats = options.stats;
  salient.fraction = options.fraction;
  // Both parts keep whole groups of the rest's scheme.
  salient.multiple = options.group > 0 ? options.group : 1;
  salient.format = "i4";
  salient.skip = skipped(options);
  pm.addPass(createSplitSalientPass(salient));
  pm.addPass(
      createQuantizeWeightsPass(gptq(options, "i2", /*symmetric=*/false)));
  finish(pm);
}

const Recipe kRecipes[] = {
    {"w8a8-rtn",
     "W8A8 without smoothing (the naive baseline): int8 per-channel weights, "
     "dynamic per-token int8 activations",
     /*needsStatistics=*/false,
     buildW8A8Rtn},
    {"w8a8-smoothquant",
     "W8A8 SmoothQuant (Xiao et al.): smoothing with alpha folded into the "
     "norms and producers, int8 per-channel weights, dynamic per-token int8 "
     "activations",
     /*needsStatistics=*/true,
     buildW8A8SmoothQuant},
    {"w4a16-rtn",
     "W4A16 round to nearest: symmetric int4 weights in groups of `group` "
     "input channels, f16 scales",
     /*needsStatistics=*/false,
     buildW4A16Rtn},
    {"w4a16-awq",
     "W4A16 AWQ (Lin et al.): activation-aware scales mean|X|^a, a searched "
     "per group of layers for the least calibration error, then int4 RTN",
     /*needsStatistics=*/true,
     buildW4A16Awq},
    {"w4a16-gptq",
     "W4A16 GPTQ (Frantar et al.): channels reordered by salience where the "
     "graph allows, then GPTQ with act-order on the calibration Hessian",
     /*needsStatistics=*/true,
     buildW4A16Gptq},
    {"w4a16-smoothquant-plus",
     "W4A16 SmoothQuant+ (Pan et al.): SmoothQuant's scales with a searched "
     "per group for the least calibration error, then int4 RTN",
     /*needsStatistics=*/true,
     buildW4A16SmoothQuantPlus},
    {"w4a4-rtn",
     "W4A4 without outlier handling (the naive baseline): int4 weights and "
     "dynamic int4 activations in groups of `group`",
     /*needsStatistics=*/false,
     buildW4A4Rtn},
    {"w4a4-svdquant",
     "W4A4 SVDQuant (Li et al.): smoothing, a 16-bit low-rank branch of rank "
     "`rank`, int4 weights and activations in groups of `group`",
     /*needsStatistics=*/true,
     buildW4A4SvdQuant},
    {"w3a16-gptq", "W3A16 GPTQ: as w4a16-gptq with 3-bit weights and zero points",
     /*needsStatistics=*/true,
     buildW3A16Gptq},
    {"w2a16-gptq", "W2A16 GPTQ: as w4a16-gptq with 2-bit weights and zero points",
     /*needsStatistics=*/true,
     buildW2A16Gptq},
    {"w2-ptq161",
     "W2 PTQ1.61-style (Zhao et al.): the `fraction` most salient input "
     "channels of every layer in int4, the rest in 2 bits with zero points, "
     "both by GPTQ",
     /*needsStatistics=*/true,
     buildW2Ptq161},
};

} // namespace

llvm::ArrayRef<Recipe> mlir::lowbit::getRecipes() { return kRecipes; }

void mlir::lowbit::registerLowBitRecipes() {
  // Every recipe ends with the LM head's pass: the passes before it have
  // left the head alone, so smoothing and activation quantization see it in
  // float as they always did.
  for (const Recipe &recipe : kRecipes)
    PassPipelineRegistration<RecipeOptions>(
        recipe.name, recipe.description,
        [build = recipe.build](OpPassManager &pm,
                               const RecipeOptions &options) {
          build(pm, options);
          addHead(pm, options);
        });
}
