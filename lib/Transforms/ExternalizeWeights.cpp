//===- ExternalizeWeights.cpp - Large constants as external globals -------===//

#include "lowbit/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringExtras.h"

namespace mlir::lowbit {
#define GEN_PASS_DEF_EXTERNALIZEWEIGHTSPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

/// The size in bytes of a statically shaped tensor of integers or floats, or
/// nullopt for other element types.
static std::optional<int64_t> getSizeInBytes(RankedTensorType type) {
  Type element = type.getElementType();
  if (!type.hasStaticShape() || !element.isIntOrFloat())
    return std::nullopt;
  int64_t bits = element.getIntOrFloatBitWidth();
  if (bits % 8 != 0)
    return std::nullopt; // Blobs of i1 and sub-byte types are not packed.
  return type.getNumElements() * (bits / 8);
}

/// A symbol name for the blob `key` that LLVM and the JIT accept as is:
/// GGUF names such as `blk.0.attn_q` have dots.
static std::string getSymbolNameFor(StringRef key) {
  std::string name = "__lowbit_weight_";
  for (char c : key)
    name += llvm::isAlnum(c) ? c : '_';
  return name;
}

namespace {
struct ExternalizeWeightsPass
    : public lowbit::impl::ExternalizeWeightsPassBase<ExternalizeWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *context = &getContext();
    SymbolTable symbols(module);
    NamedAttrList records;
    if (auto existing =
            module->getAttrOfType<DictionaryAttr>(kExternalWeightsAttrName))
      records.append(existing.getValue());

    SmallVector<arith::ConstantOp> constants;
    module.walk([&](arith::ConstantOp constant) {
      auto blob = dyn_cast<DenseResourceElementsAttr>(constant.getValue());
      if (!blob)
        return;
      std::optional<int64_t> bytes =
          getSizeInBytes(cast<RankedTensorType>(blob.getType()));
      if (bytes && *bytes >= minBytes)
        constants.push_back(constant);
    });

    // One global per blob and type: constants of the same attribute (tied
    // embeddings, or one weight used by several functions) share it.
    llvm::DenseMap<Attribute, memref::GlobalOp> globals;
    OpBuilder builder(context);
    for (arith::ConstantOp constant : constants) {
      auto blob = cast<DenseResourceElementsAttr>(constant.getValue());
      auto tensorType = cast<RankedTensorType>(blob.getType());
      auto memrefType = MemRefType::get(tensorType.getShape(),
                                        tensorType.getElementType());
      memref::GlobalOp &global = globals[blob];
      if (!global) {
        builder.setInsertionPointToStart(module.getBody());
        global = memref::GlobalOp::create(
            builder, constant.getLoc(),
            builder.getStringAttr(getSymbolNameFor(blob.getRawHandle().getKey())),
            /*sym_visibility=*/StringAttr(), TypeAttr::get(memrefType),
            /*initial_value=*/Attribute(), builder.getUnitAttr(),
            /*alignment=*/IntegerAttr());
        symbols.insert(global); // Renames it if the name is taken.
        records.set(global.getSymNameAttr(), blob);
      }
      builder.setInsertionPoint(constant);
      Value buffer = memref::GetGlobalOp::create(
          builder, constant.getLoc(), memrefType,
          FlatSymbolRefAttr::get(global.getSymNameAttr()));
      // restrict: no other tensor aliases this buffer; not writable, so
      // bufferization copies before anything writes into a weight.
      Value tensor = bufferization::ToTensorOp::create(
          builder, constant.getLoc(), tensorType, buffer, /*restrict=*/true,
          /*writable=*/false);
      constant.getResult().replaceAllUsesWith(tensor);
      constant.erase();
    }
    if (!records.empty())
      module->setAttr(kExternalWeightsAttrName,
                      records.getDictionary(context));
  }
};
} // namespace
