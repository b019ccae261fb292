//===- Recipes.h - Named quantization recipes -------------------*- C++ -*-===//
//
// The methods of the literature as quant-opt pipelines over a model's float
// IR: each recipe is a documented sequence of LowBit's quantization passes
// with the settings of the paper it follows. `lowbit-run quantize --recipe
// NAME` runs one after calibrating (or on given statistics).
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_PIPELINES_RECIPES_H
#define LOWBIT_PIPELINES_RECIPES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

#include <string>

namespace mlir::lowbit {

/// The options every recipe takes; each uses those that concern it.
struct RecipeOptions : public PassPipelineOptions<RecipeOptions> {
  PassOptions::Option<std::string> stats{
      *this, "stats",
      llvm::cl::desc("Calibration statistics (lowbit-run calibrate); all but "
                     "the round-to-nearest recipes need them")};
  PassOptions::Option<int64_t> group{
      *this, "group",
      llvm::cl::desc("Group size of the weights' (and W4A4's activations') "
                     "scales along the input channels; 0: per row"),
      llvm::cl::init(128)};
  PassOptions::Option<double> alpha{
      *this, "alpha",
      llvm::cl::desc("SmoothQuant's migration strength (w8a8-smoothquant, "
                     "w4a4-svdquant)"),
      llvm::cl::init(0.5)};
  PassOptions::Option<int64_t> rank{
      *this, "rank",
      llvm::cl::desc("Rank of SVDQuant's 16-bit branch (w4a4-svdquant)"),
      llvm::cl::init(32)};
  PassOptions::Option<double> fraction{
      *this, "fraction",
      llvm::cl::desc("Fraction of each layer's input channels kept in 4 "
                     "bits (w2-ptq161)"),
      llvm::cl::init(0.1)};
  PassOptions::Option<std::string> skip{
      *this, "skip",
      llvm::cl::desc("Layers left in float (names or .suffixes); naming "
                     "`output` keeps the LM head in float too"),
      llvm::cl::init("")};
  PassOptions::Option<std::string> head{
      *this, "head",
      llvm::cl::desc("Weight format of the LM head (the layer `output`), one "
                     "scale per output channel and weight-only whatever the "
                     "recipe; f32 leaves it in float"),
      llvm::cl::init("i8")};
};

/// One recipe: its name, what it does, and how it builds its pipeline.
struct Recipe {
  const char *name;
  const char *description;
  /// Whether the recipe needs calibration statistics (all but RTN's).
  bool needsStatistics;
  void (*build)(OpPassManager &pm, const RecipeOptions &options);
};

/// Every recipe, in the order the documentation lists them.
llvm::ArrayRef<Recipe> getRecipes();

/// Registers the recipes as named pipelines.
void registerLowBitRecipes();

} // namespace mlir::lowbit

#endif // LOWBIT_PIPELINES_RECIPES_H
