//===- LlamaBuilder.cpp - Float IR of a Llama-family model ----------------===//
//
// One entry point per token count; each is a straight-line sequence of
// linalg ops over static shapes. The pieces, in the order a layer uses them:
// embedding gather, RMSNorm, linear layers (linalg.matmul against constant
// [out, in] weights), RoPE on adjacent pairs, KV cache update in place,
// grouped-query attention with a causal mask, SwiGLU.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Model/LlamaBuilder.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include "llvm/ADT/ScopeExit.h"

#include <cmath>

using namespace mlir;
using namespace mlir::lowbit;
using ::lowbit::FloatTensor;
using ::lowbit::LlamaCheckpoint;
using ::lowbit::LlamaConfig;

std::string mlir::lowbit::getForwardName(int64_t tokenCount) {
  return "forward_" + std::to_string(tokenCount);
}

namespace {
using utils::IteratorType;
constexpr IteratorType kPar = IteratorType::parallel;
constexpr IteratorType kRed = IteratorType::reduction;

/// Builds the body of one entry point.
class LlamaEmitter {
public:
  LlamaEmitter(ImplicitLocOpBuilder &b, const LlamaConfig &config,
               llvm::StringMap<DenseResourceElementsAttr> &weights,
               int64_t tokens, int64_t cacheLength)
      : b(b), c(config), weights(weights), T(tokens), S(cacheLength),
        f32(b.getF32Type()) {}

  void emit(func::FuncOp function);

private:
  // Shapes and constants.
  RankedTensorType type(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, f32);
  }
  Value empty(ArrayRef<int64_t> shape) {
    return tensor::EmptyOp::create(b, shape, f32);
  }
  Value constF(double value) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(value));
  }
  Value filled(ArrayRef<int64_t> shape, double value) {
    return linalg::FillOp::create(b, ValueRange{constF(value)},
                                  ValueRange{empty(shape)})
        .getResult(0);
  }
  Value weight(StringRef name) {
    auto attr = weights.lookup(name);
    assert(attr && "weight not registered");
    return arith::ConstantOp::create(b, attr);
  }
  AffineMap map(unsigned dims, ArrayRef<AffineExpr> results) {
    return AffineMap::get(dims, 0, results, b.getContext());
  }
  AffineExpr d(unsigned i) { return b.getAffineDimExpr(i); }

  Value generic(ArrayRef<int64_t> shape, ValueRange inputs,
                ArrayRef<AffineMap> maps, ArrayRef<IteratorType> iterators,
                function_ref<Value(OpBuilder &, Location, ValueRange)> body,
                Value init = nullptr) {
    if (!init)
      init = empty(shape);
    return linalg::GenericOp::create(
               b, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
               iterators,
               [&](OpBuilder &nested, Location loc, ValueRange args) {
                 linalg::YieldOp::create(nested, loc, body(nested, loc, args));
               })
        .getResult(0);
  }

  // Model pieces.
  Value embed(Value tokens);
  Value rmsNorm(Value x, StringRef gammaName);
  Value linear(Value x, StringRef weightName);
  Value rope(Value x, int64_t heads, Value position);
  Value attention(Value q, Value keyCache, Value valueCache, int64_t layer,
                  Value position);
  Value add(Value x, Value y);
  Value swiglu(Value gate, Value up);
  Value transpose(Value x, ArrayRef<int64_t> permutation);
  Value cachePosition(Value position);
  Value updateKeyCache(Value cache, Value keys, int64_t layer, Value position);
  Value updateValueCache(Value cache, Value values, int64_t layer,
                         Value position);
  Value cacheHead(Value cache, int64_t layer, int64_t kvHead);
  Value perKvHeadMatmul(Value lhs, Value cache, int64_t layer,
                        int64_t columns);

  ImplicitLocOpBuilder &b;
  const LlamaConfig &c;
  llvm::StringMap<DenseResourceElementsAttr> &weights;
  int64_t T, S;
  Type f32;
};
} // namespace

Value LlamaEmitter::embed(Value tokens) {
  Value table = weight("token_embd");
  // x[t, i] = table[tokens[t], i]
  return generic({T, c.dim}, {tokens}, {map(2, {d(0)}), map(2, {d(0), d(1)})},
                 {kPar, kPar}, [&](OpBuilder &nb, Location loc, ValueRange a) {
                   Value row = arith::IndexCastOp::create(
                       nb, loc, nb.getIndexType(), a[0]);
                   Value col = linalg::IndexOp::create(nb, loc, 1);
                   return tensor::ExtractOp::create(nb, loc, table,
                                                    ValueRange{row, col})
                       .getResult();
                 });
}

Value LlamaEmitter::rmsNorm(Value x, StringRef gammaName) {
  // ss[t] = sum_i x[t, i]^2
  Value sumSquares = generic(
      {T}, {x}, {map(2, {d(0), d(1)}), map(2, {d(0)})}, {kPar, kRed},
      [&](OpBuilder &nb, Location loc, ValueRange a) {
        Value square = arith::MulFOp::create(nb, loc, a[0], a[0]);
        return arith::AddFOp::create(nb, loc, square, a[1]).getResult();
      },
      filled({T}, 0.0));
  Value gamma = weight(gammaName);
  double invDim = 1.0 / double(c.dim);
  double eps = c.normEps;
  // y[t, i] = x[t, i] * rsqrt(ss[t] / dim + eps) * gamma[i]
  return generic({T, c.dim}, {x, sumSquares, gamma},
                 {map(2, {d(0), d(1)}), map(2, {d(0)}), map(2, {d(1)}),
                  map(2, {d(0), d(1)})},
                 {kPar, kPar}, [&](OpBuilder &nb, Location loc, ValueRange a) {
                   Value mean = arith::MulFOp::create(
                       nb, loc, a[1],
                       arith::ConstantOp::create(nb, loc,
                                                 nb.getF32FloatAttr(invDim)));
                   Value shifted = arith::AddFOp::create(
                       nb, loc, mean,
                       arith::ConstantOp::create(nb, loc,
                                                 nb.getF32FloatAttr(eps)));
                   Value inv = math::RsqrtOp::create(nb, loc, shifted);
                   Value scaled = arith::MulFOp::create(nb, loc, a[0], inv);
                   return arith::MulFOp::create(nb, loc, scaled, a[2])
                       .getResult();
                 });
}

Value LlamaEmitter::linear(Value x, StringRef weightName) {
  // The layer's ops carry its name as their location, so diagnostics about
  // a layer say which one.
  Location outer = b.getLoc();
  b.setLoc(NameLoc::get(b.getStringAttr(weightName), outer));
  llvm::scope_exit restore([&] { b.setLoc(outer); });
  DenseResourceElementsAttr attr = weights.lookup(weightName);
  int64_t outFeatures = attr.getType().getDimSize(0);
  Value w = weight(weightName);
  Value acc = filled({T, outFeatures}, 0.0);
  auto matmul = linalg::MatmulTransposeBOp::create(
      b, b.getLoc(), TypeRange{acc.getType()}, ValueRange{x, w},
      ValueRange{acc});
  matmul->setAttr(kLayerNameAttr, b.getStringAttr(weightName));
  return matmul.getResult(0);
}

Value LlamaEmitter::rope(Value x, int64_t heads, Value position) {
  int64_t headDim = c.getHeadDim(), half = headDim / 2;
  // View x [T, heads * D] as [T, heads, D/2, 2]: pairs (x[2i], x[2i+1]).
  Value pairs = tensor::ExpandShapeOp::create(
      b, type({T, heads, half, 2}), x,
      ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}});
  // Inverse frequencies theta^(-2i/D), computed here in double precision.
  SmallVector<float> inverse(half);
  for (int64_t i = 0; i < half; ++i)
    inverse[i] = float(std::pow(double(c.ropeTheta), -2.0 * i / headDim));
  Value frequencies = arith::ConstantOp::create(
      b, DenseElementsAttr::get(type({half}), ArrayRef<float>(inverse)));
  Value start = arith::SIToFPOp::create(
      b, f32,
      tensor::ExtractOp::create(b, position,
                                ValueRange{arith::ConstantIndexOp::create(b, 0)}));
  AffineExpr zero = b.getAffineConstantExpr(0), one = b.getAffineConstantExpr(1);
  Value rotated = generic(
      {T, heads, half, 2}, {pairs, pairs, frequencies},
      {map(4, {d(0), d(1), d(2), zero}), map(4, {d(0), d(1), d(2), one}),
       map(4, {d(2)}), map(4, {d(0), d(1), d(2), d(3)})},
      {kPar, kPar, kPar, kPar}, [&](OpBuilder &nb, Location loc, ValueRange a) {
        Value t = linalg::IndexOp::create(nb, loc, 0);
        Value j = linalg::IndexOp::create(nb, loc, 3);
        Value tf = arith::UIToFPOp::create(
            nb, loc, nb.getF32Type(),
            arith::IndexCastUIOp::create(nb, loc, nb.getI32Type(), t));
        Value pos = arith::AddFOp::create(nb, loc, start, tf);
        Value angle = arith::MulFOp::create(nb, loc, pos, a[2]);
        Value cos = math::CosOp::create(nb, loc, angle);
        Value sin = math::SinOp::create(nb, loc, angle);
        // (x0 cos - x1 sin, x0 sin + x1 cos)
        Value first = arith::SubFOp::create(
            nb, loc, arith::MulFOp::create(nb, loc, a[0], cos),
            arith::MulFOp::create(nb, loc, a[1], sin));
        Value second = arith::AddFOp::create(
            nb, loc, arith::MulFOp::create(nb, loc, a[0], sin),
            arith::MulFOp::create(nb, loc, a[1], cos));
        Value isFirst = arith::CmpIOp::create(
            nb, loc, arith::CmpIPredicate::eq, j,
            arith::ConstantIndexOp::create(nb, loc, 0));
        return arith::SelectOp::create(nb, loc, isFirst, first, second)
            .getResult();
      });
  return tensor::CollapseShapeOp::create(
      b, type({T, heads * headDim}), rotated,
      ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}});
}

Value LlamaEmitter::transpose(Value x, ArrayRef<int64_t> permutation) {
  auto shape = cast<RankedTensorType>(x.getType()).getShape();
  SmallVector<int64_t> permuted;
  for (int64_t dim : permutation)
    permuted.push_back(shape[dim]);
  return linalg::TransposeOp::create(b, x, empty(permuted), permutation)
      .getResult()[0];
}

Value LlamaEmitter::cachePosition(Value position) {
  return arith::IndexCastOp::create(
      b, b.getIndexType(),
      tensor::ExtractOp::create(b, position,
                                ValueRange{arith::ConstantIndexOp::create(b, 0)}));
}

Value LlamaEmitter::updateKeyCache(Value cache, Value keys, int64_t layer,
                                   Value position) {
  int64_t kv = c.numKvHeads, headDim = c.getHeadDim();
  // [T, KV * D] -> [KV, T, D], written at [layer, :, pos : pos + T, :].
  Value heads = transpose(
      tensor::ExpandShapeOp::create(b, type({T, kv, headDim}), keys,
                                    ArrayRef<ReassociationIndices>{{0}, {1, 2}}),
      {1, 0, 2});
  SmallVector<OpFoldResult> offsets{b.getIndexAttr(layer), b.getIndexAttr(0),
                                    cachePosition(position), b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), b.getIndexAttr(kv),
                                  b.getIndexAttr(T), b.getIndexAttr(headDim)};
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, heads, cache, offsets, sizes,
                                       strides);
}

Value LlamaEmitter::updateValueCache(Value cache, Value values, int64_t layer,
                                     Value position) {
  int64_t kv = c.numKvHeads, headDim = c.getHeadDim();
  // [T, KV * D] -> [KV, D, T], written at [layer, :, :, pos : pos + T].
  Value heads = transpose(
      tensor::ExpandShapeOp::create(b, type({T, kv, headDim}), values,
                                    ArrayRef<ReassociationIndices>{{0}, {1, 2}}),
      {1, 2, 0});
  SmallVector<OpFoldResult> offsets{b.getIndexAttr(layer), b.getIndexAttr(0),
                                    b.getIndexAttr(0), cachePosition(position)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), b.getIndexAttr(kv),
                                  b.getIndexAttr(headDim), b.getIndexAttr(T)};
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  return tensor::InsertSliceOp::create(b, heads, cache, offsets, sizes,
                                       strides);
}

Value LlamaEmitter::cacheHead(Value cache, int64_t layer, int64_t kvHead) {
  // The [rows, columns] matrix of one layer and KV head: keys are [S, D],
  // values (transposed) [D, S].
  auto shape = cast<RankedTensorType>(cache.getType()).getShape();
  SmallVector<OpFoldResult> offsets{b.getIndexAttr(layer),
                                    b.getIndexAttr(kvHead), b.getIndexAttr(0),
                                    b.getIndexAttr(0)};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(1), b.getIndexAttr(1),
                                  b.getIndexAttr(shape[2]),
                                  b.getIndexAttr(shape[3])};
  SmallVector<OpFoldResult> strides(4, b.getIndexAttr(1));
  return tensor::ExtractSliceOp::create(b, type({shape[2], shape[3]}), cache,
                                        offsets, sizes, strides);
}

Value LlamaEmitter::perKvHeadMatmul(Value lhs, Value cache, int64_t layer,
                                    int64_t columns) {
  // out[j] = lhs[j] * cacheHead(j)^T for every KV head j: a linear layer's
  // transposed-B form, so attention runs on the same kernels.
  int64_t kv = c.numKvHeads, rows = T * (c.numHeads / kv);
  auto lhsShape = cast<RankedTensorType>(lhs.getType()).getShape();
  Value out = filled({kv, rows, columns}, 0.0);
  SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
  for (int64_t j = 0; j < kv; ++j) {
    SmallVector<OpFoldResult> lhsOffsets{b.getIndexAttr(j), b.getIndexAttr(0),
                                         b.getIndexAttr(0)};
    SmallVector<OpFoldResult> lhsSizes{b.getIndexAttr(1),
                                       b.getIndexAttr(lhsShape[1]),
                                       b.getIndexAttr(lhsShape[2])};
    Value a = tensor::ExtractSliceOp::create(
        b, type({lhsShape[1], lhsShape[2]}), lhs, lhsOffsets, lhsSizes,
        strides);
    SmallVector<OpFoldResult> outOffsets{b.getIndexAttr(j), b.getIndexAttr(0),
                                         b.getIndexAttr(0)};
    SmallVector<OpFoldResult> outSizes{b.getIndexAttr(1), b.getIndexAttr(rows),
                                       b.getIndexAttr(columns)};
    Value acc = tensor::ExtractSliceOp::create(b, type({rows, columns}), out,
                                               outOffsets, outSizes, strides);
    Value product = linalg::MatmulTransposeBOp::create(
                        b, b.getLoc(), TypeRange{acc.getType()},
                        ValueRange{a, cacheHead(cache, layer, j)},
                        ValueRange{acc})
                        .getResult(0);
    out = tensor::InsertSliceOp::create(b, product, out, outOffsets, outSizes,
                                        strides);
  }
  return out;
}

Value LlamaEmitter::attention(Value q, Value keyCache, Value valueCache,
                              int64_t layer, Value position) {
  int64_t H = c.numHeads, KV = c.numKvHeads, D = c.getHeadDim();
  int64_t group = H / KV, rows = T * group;
  // Query heads grouped by the KV head they share, one row per (t, i):
  // [T, H * D] -> [T, KV, g, D] -> [KV, T, g, D] -> [KV, T * g, D].
  Value grouped = transpose(
      tensor::ExpandShapeOp::create(
          b, type({T, KV, group, D}), q,
          ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}}),
      {1, 0, 2, 3});
  Value queries = tensor::CollapseShapeOp::create(
      b, type({KV, rows, D}), grouped,
      ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}});

  // scores[j, (t, i), s] = q[t, j * g + i, :] . keys[j, s, :]
  Value scores = perKvHeadMatmul(queries, keyCache, layer, S);

  // Scale, and mask keys after the query: s > pos + t, with t = row / g.
  Value start = cachePosition(position);
  double scale = 1.0 / std::sqrt(double(D));
  AffineMap id3 = map(3, {d(0), d(1), d(2)}), rowMap = map(3, {d(0), d(1)});
  Value masked = generic(
      {KV, rows, S}, {scores}, {id3, id3}, {kPar, kPar, kPar},
      [&](OpBuilder &nb, Location loc, ValueRange a) {
        Value row = linalg::IndexOp::create(nb, loc, 1);
        Value t = arith::DivUIOp::create(
            nb, loc, row, arith::ConstantIndexOp::create(nb, loc, group));
        Value s = linalg::IndexOp::create(nb, loc, 2);
        Value last = arith::AddIOp::create(nb, loc, start, t);
        Value future =
            arith::CmpIOp::create(nb, loc, arith::CmpIPredicate::ugt, s, last);
        Value scaled = arith::MulFOp::create(
            nb, loc, a[0],
            arith::ConstantOp::create(nb, loc, nb.getF32FloatAttr(scale)));
        Value minusInf = arith::ConstantOp::create(
            nb, loc, nb.getF32FloatAttr(-INFINITY));
        return arith::SelectOp::create(nb, loc, future, minusInf, scaled)
            .getResult();
      });

  // Softmax over s: max, exp(x - max) summed, divide.
  Value rowMax = generic(
      {KV, rows}, {masked}, {id3, rowMap}, {kPar, kPar, kRed},
      [&](OpBuilder &nb, Location loc, ValueRange a) {
        return arith::MaximumFOp::create(nb, loc, a[0], a[1]).getResult();
      },
      filled({KV, rows}, -INFINITY));
  Value exps = generic(
      {KV, rows, S}, {masked, rowMax}, {id3, rowMap, id3}, {kPar, kPar, kPar},
      [&](OpBuilder &nb, Location loc, ValueRange a) {
        Value shifted = arith::SubFOp::create(nb, loc, a[0], a[1]);
        return math::ExpOp::create(nb, loc, shifted).getResult();
      });
  Value rowSum = generic(
      {KV, rows}, {exps}, {id3, rowMap}, {kPar, kPar, kRed},
      [&](OpBuilder &nb, Location loc, ValueRange a) {
        return arith::AddFOp::create(nb, loc, a[0], a[1]).getResult();
      },
      filled({KV, rows}, 0.0));
  Value probs = generic(
      {KV, rows, S}, {exps, rowSum}, {id3, rowMap, id3}, {kPar, kPar, kPar},
      [&](OpBuilder &nb, Location loc, ValueRange a) {
        return arith::DivFOp::create(nb, loc, a[0], a[1]).getResult();
      });

  // out[j, (t, i), :] = probs[j, (t, i), :] . values[j, :, s] (values are
  // cached transposed, [D, S]), then back to [T, H * D].
  Value out = perKvHeadMatmul(probs, valueCache, layer, D);
  Value heads = transpose(
      tensor::ExpandShapeOp::create(
          b, type({KV, T, group, D}), out,
          ArrayRef<ReassociationIndices>{{0}, {1, 2}, {3}}),
      {1, 0, 2, 3});
  return tensor::CollapseShapeOp::create(
      b, type({T, H * D}), heads,
      ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}});
}

Value LlamaEmitter::add(Value x, Value y) {
  auto shape = cast<RankedTensorType>(x.getType()).getShape();
  AffineMap id = map(2, {d(0), d(1)});
  return generic(shape, {x, y}, {id, id, id}, {kPar, kPar},
                 [&](OpBuilder &nb, Location loc, ValueRange a) {
                   return arith::AddFOp::create(nb, loc, a[0], a[1])
                       .getResult();
                 });
}

Value LlamaEmitter::swiglu(Value gate, Value up) {
  auto shape = cast<RankedTensorType>(gate.getType()).getShape();
  AffineMap id = map(2, {d(0), d(1)});
  // silu(g) * u = g / (1 + exp(-g)) * u
  return generic(shape, {gate, up}, {id, id, id}, {kPar, kPar},
                 [&](OpBuilder &nb, Location loc, ValueRange a) {
                   Value negated = arith::NegFOp::create(nb, loc, a[0]);
                   Value exp = math::ExpOp::create(nb, loc, negated);
                   Value one = arith::ConstantOp::create(
                       nb, loc, nb.getF32FloatAttr(1.0f));
                   Value denominator = arith::AddFOp::create(nb, loc, one, exp);
                   Value silu = arith::DivFOp::create(nb, loc, a[0], denominator);
                   return arith::MulFOp::create(nb, loc, silu, a[1]).getResult();
                 });
}

void LlamaEmitter::emit(func::FuncOp function) {
  Block *entry = function.addEntryBlock();
  b.setInsertionPointToStart(entry);
  Value tokens = entry->getArgument(0), position = entry->getArgument(1);
  Value keyCache = entry->getArgument(2), valueCache = entry->getArgument(3);

  Value x = embed(tokens);
  for (int64_t layer = 0; layer < c.numLayers; ++layer) {
    std::string p = "blk." + std::to_string(layer) + ".";
    Value h = rmsNorm(x, p + "attn_norm");
    Value q = rope(linear(h, p + "attn_q"), c.numHeads, position);
    Value k = rope(linear(h, p + "attn_k"), c.numKvHeads, position);
    Value v = linear(h, p + "attn_v");
    keyCache = updateKeyCache(keyCache, k, layer, position);
    valueCache = updateValueCache(valueCache, v, layer, position);
    Value attended = attention(q, keyCache, valueCache, layer, position);
    x = add(x, linear(attended, p + "attn_output"));
    Value h2 = rmsNorm(x, p + "ffn_norm");
    Value gated = swiglu(linear(h2, p + "ffn_gate"), linear(h2, p + "ffn_up"));
    x = add(x, linear(gated, p + "ffn_down"));
  }
  Value logits = linear(rmsNorm(x, "output_norm"), "output");
  func::ReturnOp::create(b, ValueRange{logits});
}

/// Moves a tensor's data into a resource blob the context owns.
static DenseResourceElementsAttr makeWeight(MLIRContext &context,
                                            StringRef name,
                                            FloatTensor &tensor) {
  auto type = RankedTensorType::get(tensor.shape, Float32Type::get(&context));
  auto *owned = new std::vector<float>(std::move(tensor.data));
  ArrayRef<char> bytes(reinterpret_cast<const char *>(owned->data()),
                       owned->size() * sizeof(float));
  AsmResourceBlob blob(
      bytes, alignof(float),
      [owned](void *, size_t, size_t) { delete owned; },
      /*dataIsMutable=*/false);
  return DenseResourceElementsAttr::get(type, name, std::move(blob));
}

OwningOpRef<ModuleOp>
mlir::lowbit::buildLlamaModule(MLIRContext &context,
                               LlamaCheckpoint &checkpoint,
                               const LlamaBuildOptions &options) {
  context.loadDialect<arith::ArithDialect, bufferization::BufferizationDialect,
                      func::FuncDialect, linalg::LinalgDialect,
                      math::MathDialect, tensor::TensorDialect>();
  const LlamaConfig &c = checkpoint.config;
  int64_t cacheLength = options.cacheLength;
  if (cacheLength <= 0)
    cacheLength = options.cacheCap > 0
                      ? std::min(c.maxSeqLen, options.cacheCap)
                      : c.maxSeqLen;

  // Weights, named as in GGUF.
  llvm::StringMap<DenseResourceElementsAttr> weights;
  auto add = [&](StringRef name, FloatTensor &tensor) {
    weights[name] = makeWeight(context, name, tensor);
  };
  add("token_embd", checkpoint.tokenEmbedding);
  for (auto [index, layer] : llvm::enumerate(checkpoint.layers)) {
    std::string p = "blk." + std::to_string(index) + ".";
    add(p + "attn_norm", layer.attnNorm);
    add(p + "attn_q", layer.wq);
    add(p + "attn_k", layer.wk);
    add(p + "attn_v", layer.wv);
    add(p + "attn_output", layer.wo);
    add(p + "ffn_norm", layer.ffnNorm);
    add(p + "ffn_gate", layer.wGate);
    add(p + "ffn_up", layer.wUp);
    add(p + "ffn_down", layer.wDown);
  }
  add("output_norm", checkpoint.finalNorm);
  if (c.tiedEmbeddings)
    weights["output"] = weights["token_embd"];
  else
    add("output", checkpoint.output);

  ImplicitLocOpBuilder b(UnknownLoc::get(&context), &context);
  OwningOpRef<ModuleOp> module = ModuleOp::create(b.getLoc());
  NamedAttrList model;
  model.append("architecture", b.getStringAttr(c.architecture));
  model.append("dim", b.getI64IntegerAttr(c.dim));
  model.append("hidden_dim", b.getI64IntegerAttr(c.hiddenDim));
  model.append("layers", b.getI64IntegerAttr(c.numLayers));
  model.append("heads", b.getI64IntegerAttr(c.numHeads));
  model.append("kv_heads", b.getI64IntegerAttr(c.numKvHeads));
  model.append("vocab", b.getI64IntegerAttr(c.vocabSize));
  model.append("context", b.getI64IntegerAttr(c.maxSeqLen));
  model.append("cache_length", b.getI64IntegerAttr(cacheLength));
  model.append("norm_eps", b.getF32FloatAttr(c.normEps));
  model.append("rope_theta", b.getF32FloatAttr(c.ropeTheta));
  (*module)->setAttr(kModelAttr, model.getDictionary(&context));

  // Keys as [L, KV, S, D] and values transposed, [L, KV, D, S]: per KV head,
  // both attention products are then transposed-B matmuls.
  auto keyCacheType = RankedTensorType::get(
      {c.numLayers, c.numKvHeads, cacheLength, c.getHeadDim()},
      b.getF32Type());
  auto valueCacheType = RankedTensorType::get(
      {c.numLayers, c.numKvHeads, c.getHeadDim(), cacheLength},
      b.getF32Type());
  for (int64_t tokens : options.tokenCounts) {
    b.setInsertionPointToEnd(module->getBody());
    auto signature = b.getFunctionType(
        {RankedTensorType::get({tokens}, b.getI32Type()),
         RankedTensorType::get({1}, b.getI32Type()), keyCacheType,
         valueCacheType},
        {RankedTensorType::get({tokens, c.vocabSize}, b.getF32Type())});
    auto function =
        func::FuncOp::create(b, getForwardName(tokens), signature);
    for (unsigned arg : {2u, 3u})
      function.setArgAttr(arg, "bufferization.writable", b.getBoolAttr(true));
    LlamaEmitter(b, c, weights, tokens, cacheLength).emit(function);
  }
  return module;
}
