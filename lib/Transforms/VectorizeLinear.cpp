//===- VectorizeLinear.cpp - Low-bit linear layers as vector kernels ------===//
//
// lowbit.linear with dequantization inside the kernel: the float weights are
// never materialised for decode. Codes are read as vectors of bytes, their
// nibbles split with shifts (a 4-bit row's byte j holds codes 2j and 2j+1),
// widened to f32 and multiplied into the input, which is deinterleaved once
// into its even and odd channels so that both halves of a byte meet their
// inputs in contiguous vectors. Each group's dot product is reduced once and
// scaled once (zero points through the group's input sum:
// sum (q - z) s x = s (sum q x - z sum x)), so the inner loop is
// load, widen, convert and FMA. Rows are shared out over the cores with
// scf.forall.
//
// With more input rows than `max-gemv-rows` (prefill), the same decoder
// writes the dequantized weights once per call and an f32 linalg.matmul,
// which lowbit-vectorize-matmul turns into its register-blocked kernel,
// computes the product: the decode is then amortised over the rows.
//
// W8A8 layers on VNNI targets (int8 weights per channel whose input is a
// dequantized per-token or per-tensor int8 quantizer) skip the float form:
// the kernel reads the activation codes, and AVX-512 VNNI's vpdpbusd
// multiplies 64 byte pairs into 16 i32 sums an instruction; each output is
// scaled once, by its token's and its channel's scale.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Conversion/LowBitToLinalg/LowBitToLinalg.h"
#include "lowbit/Dialect/LowBit/IR/LowBitOps.h"
#include "lowbit/Support/QuantMath.h"
#include "lowbit/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

#include "llvm/TargetParser/Host.h"

#include <thread>

namespace mlir::lowbit {
#define GEN_PASS_DEF_VECTORIZELINEARPASS
#include "lowbit/Transforms/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

namespace {

/// A lowbit.linear the kernels handle, and how they cut it.
struct LinearShape {
  int64_t rows, outFeatures, inFeatures;
  unsigned bits;
  bool isSigned, hasZeroPoints;
  /// Codes per group (a scale each), and per step of the inner loop.
  int64_t group, chunk;
  /// The codes are packed `interleaved` with blocks of one step: field p of
  /// a step's byte j is channel j + p * (bytes a step), so each field of a
  /// vector of bytes meets consecutive channels of the input as it is.
  /// Otherwise (sequential) field p of byte j is channel j * fields + p and
  /// the input is split once into its `fields` channel residues.
  bool interleaved = false;
  /// Codes decoded by a lane permute of a 16-entry f32 table (`lookupLanes`
  /// lanes a permute): NF4 and FP4 always, 4-bit integers where AVX-512's
  /// vpermps makes that cheaper than shifts and conversions. Empty: shifts
  /// and integer-to-float conversions.
  SmallVector<float> table;
  int64_t lookupLanes = 0;
  /// A gated linear unit: rows in (gate, up) pairs, act(gate) * up out.
  std::optional<GatedActivation> gated;
  /// The rank of a low-rank branch added to each output (0: none).
  int64_t lowrank = 0;
  /// W8A8 with VNNI: the int8 codes [rows, K] of the dequantized input and
  /// their f32 scales ([rows, 1] per token, [1, 1] per tensor), which the
  /// integer kernel reads instead of the float input.
  Value inputCodes, inputScales;
  int64_t getGroups() const { return inFeatures / group; }
  /// Codes per byte.
  int64_t getFields() const { return 8 / bits; }
  int64_t getStepBytes() const { return chunk * bits / 8; }
};

/// Sets `shape.inputCodes` and `shape.inputScales` when the integer kernel
/// takes `op`: a VNNI target; symmetric int8 weights, one scale a channel,
/// no zero points or low-rank branch, and K a multiple of 64 (a vpdpbusd
/// step); an input that is `lowbit.dequantize` of symmetric int8 codes
/// with one f32 scale per row or per tensor.
static void matchInt8Input(LinearOp op, CpuTarget target, LinearShape &shape) {
  if (!target.vnni || shape.bits != 8 || !shape.isSigned ||
      shape.hasZeroPoints || shape.lowrank || shape.group != shape.inFeatures ||
      shape.inFeatures % 64 != 0)
    return;
  auto input = op.getInput().getDefiningOp<DequantizeOp>();
  if (!input || input.getZeroPoints())
    return;
  QuantSchemeAttr scheme = input.getScheme();
  FormatSpec format = getFormatSpec(scheme);
  Granularity granularity = scheme.getGranularity();
  if (format.format != ElementFormat::sint || format.bits != 8 ||
      !scheme.getSymmetric() ||
      (granularity != Granularity::per_channel &&
       granularity != Granularity::per_tensor))
    return;
  auto codes = cast<RankedTensorType>(input.getInput().getType());
  auto scales = cast<RankedTensorType>(input.getScales().getType());
  if (codes.getShape() != ArrayRef<int64_t>{shape.rows, shape.inFeatures} ||
      !scales.getElementType().isF32() || !scales.hasStaticShape() ||
      scales.getRank() != 2 || scales.getDimSize(1) != 1)
    return;
  shape.inputCodes = input.getInput();
  shape.inputScales = input.getScales();
}

/// Whether the kernels can compute `op` with its weights packed as
/// `packing`, and with which cut: rank-2 f32 input; 2-, 4- or 8-bit
/// integer codes or 4-bit NF4/FP4 codes, packed sequentially or
/// interleaved in blocks of one step; per-channel or per-group scales (f32,
/// f16, bf16 or e8m0); f32 zero points; no bias; a low-rank branch of f32
/// inputs and f32 or f16 up factors.
std::optional<LinearShape> matchLinear(LinearOp op, CpuTarget target,
                                       PackingAttr packing) {
  RankedTensorType input = op.getInput().getType();
  if (input.getRank() != 2 || !input.hasStaticShape() ||
      !input.getElementType().isF32() ||
      !op.getResult().getType().getElementType().isF32() || op.getBias() ||
      !op.getWeight().getType().hasStaticShape())
    return std::nullopt;
  QuantSchemeAttr scheme = op.getScheme();
  FormatSpec format = getFormatSpec(scheme);
  bool tableFormat = format.format == ElementFormat::nf4 ||
                     format.format == ElementFormat::f4E2M1FN;
  if (format.isInteger() ? (format.bits != 2 && format.bits != 4 &&
                            format.bits != 8)
                         : !tableFormat)
    return std::nullopt;
  if (packing.getOrder() == PackOrder::base3)
    return std::nullopt;
  Type scaleType = scheme.getScaleType();
  if (!scaleType.isF32() && !scaleType.isF16() && !scaleType.isBF16() &&
      !isa<Float8E8M0FNUType>(scaleType))
    return std::nullopt;
  LinearShape shape;
  shape.rows = input.getDimSize(0);
  shape.outFeatures = op.getOutFeatures();
  shape.inFeatures = op.getInFeatures();
  shape.bits = format.bits;
  shape.isSigned = format.format == ElementFormat::sint;
  shape.hasZeroPoints = !scheme.getSymmetric();
  shape.gated = op.getGated();
  shape.interleaved = packing.getOrder() == PackOrder::interleaved;
  if (Value branch = op.getLowrankInput()) {
    auto branchType = cast<RankedTensorType>(branch.getType());
    auto upType = cast<RankedTensorType>(op.getLowrankUp().getType());
    if (branchType.getRank() != 2 || !branchType.hasStaticShape() ||
        !branchType.getElementType().isF32() || !upType.hasStaticShape() ||
        (!upType.getElementType().isF32() && !upType.getElementType().isF16()))
      return std::nullopt;
    shape.lowrank = upType.getDimSize(1);
  }
  if (shape.hasZeroPoints &&
      !cast<RankedTensorType>(op.getZeroPoints().getType())
           .getElementType()
           .isF32())
    return std::nullopt;
  switch (scheme.getGranularity()) {
  case Granularity::per_channel:
    shape.group = shape.inFeatures;
    break;
  case Granularity::per_group:
    shape.group = scheme.getGroupSize();
    break;
  default:
    return std::nullopt;
  }
  matchInt8Input(op, target, shape);
  // 4-bit codes through a table: NF4/FP4 need one; with AVX-512 a 16-lane
  // permute also beats shifts for integers. Without AVX-512 a lookup is 8
  // lanes (AVX2: two 8-entry permutes and a blend).
  if (tableFormat || (target.avx512 && shape.bits == 4)) {
    if (format.isInteger())
      for (int field = 0; field < 16; ++field)
        shape.table.push_back(
            float(shape.isSigned && field >= 8 ? field - 16 : field));
    else
      shape.table = getDecodeTable(format);
    shape.lookupLanes = target.avx512 ? 16 : 8;
  }
  // A step is up to 64 codes and 8 to 64 bytes, a whole number of lookups,
  // that tiles each group; interleaved codes must be in blocks of one step.
  int64_t minimumBytes = shape.table.empty() ? 8 : shape.lookupLanes;
  auto fits = [&](int64_t chunk) {
    int64_t bytes = chunk * shape.bits / 8;
    return chunk * shape.bits % 8 == 0 && bytes >= minimumBytes &&
           chunk <= 64 && bytes % minimumBytes == 0 &&
           shape.group % chunk == 0;
  };
  if (shape.interleaved) {
    if (!fits(packing.getBlock()))
      return std::nullopt;
    shape.chunk = packing.getBlock();
    return shape;
  }
  for (int64_t chunk : {64, 32, 16, 8}) {
    if (fits(chunk)) {
      shape.chunk = chunk;
      return shape;
    }
  }
  return std::nullopt;
}

/// Emits the kernels of one lowbit.linear.
class LinearKernelBuilder {
public:
  LinearKernelBuilder(ImplicitLocOpBuilder &b, LinearOp op,
                      const LinearShape &shape, int64_t rowsPerBlock)
      : b(b), op(op), shape(shape), rowsPerBlock(rowsPerBlock),
        f32(b.getF32Type()) {}

  Value buildGemv();
  Value buildDequantizeAndMatmul();
  /// W8A8 (shape.inputCodes set): the integer kernel, a GEMV for up to
  /// `gemvRows` input rows and register tiles of 4 x 4 outputs beyond.
  Value buildInt8Product(int64_t gemvRows);

private:
  Value index(int64_t value) { return arith::ConstantIndexOp::create(b, value); }
  Value floatConstant(float value) {
    return arith::ConstantOp::create(b, b.getF32FloatAttr(value));
  }
  VectorType vector(int64_t lanes, Type element) {
    return VectorType::get({lanes}, element);
  }
  Value splat(VectorType type, Attribute value) {
    return arith::ConstantOp::create(
        b, DenseElementsAttr::get(cast<ShapedType>(type), value));
  }
  Value read(Value source, ValueRange indices, int64_t lanes) {
    auto type = cast<ShapedType>(source.getType());
    Type element = type.getElementType();
    Value padding = arith::ConstantOp::create(b, b.getZeroAttr(element));
    return vector::TransferReadOp::create(b, vector(lanes, element), source,
                                          indices, padding,
                                          ArrayRef<bool>{true});
  }
  /// `lanes` code bytes of row `n` from `column`; for the GEMV, from the
  /// weights' buffer, prefetching (when `prefetch`) the same column of the
  /// row `prefetchRows` ahead: the hardware prefetchers alone do not keep
  /// enough lines in flight for a kernel that also has to decode.
  Value readWeights(Value n, Value column, int64_t lanes, bool prefetch) {
    if (!weightBuffer)
      return read(op.getWeight(), ValueRange{n, column}, lanes);
    if (prefetch && prefetchRows > 0) {
      Value ahead = arith::MinUIOp::create(
          b, arith::AddIOp::create(b, n, index(prefetchRows)),
          index(shape.outFeatures - 1));
      memref::PrefetchOp::create(b, weightBuffer, ValueRange{ahead, column},
                                 /*isWrite=*/false, /*localityHint=*/3,
                                 /*isDataCache=*/true);
    }
    return read(weightBuffer, ValueRange{n, column}, lanes);
  }
  /// The scale (or zero point) of row `n`, group `g`, as an f32.
  Value readScalar(Value source, Value n, Value g) {
    Value value = tensor::ExtractOp::create(b, source, ValueRange{n, g});
    if (!value.getType().isF32())
      value = arith::ExtFOp::create(b, f32, value);
    return value;
  }
  /// One vector of decoded codes of a step and where its inputs are: which
  /// of splitInput()'s tensors, at which column past the step's first
  /// (stepColumns() a step), and which field of the bytes it is (each field
  /// accumulates into its own chain).
  struct Piece {
    Value codes;
    unsigned input;
    int64_t column;
    int64_t field;
  };
  /// The codes of step `step` of row `n` as f32 vectors, field by field of
  /// each block of bytes (one block, or one per lookup).
  SmallVector<Piece> decode(Value n, Value step);
  /// Columns of each splitInput() tensor that a step covers.
  int64_t stepColumns() const {
    return shape.interleaved ? shape.chunk : shape.getStepBytes();
  }
  /// Lanes of each decoded piece.
  int64_t getPieceLanes() const {
    return shape.table.empty() ? shape.getStepBytes() : shape.lookupLanes;
  }
  /// Row `n` of the low-rank branch's up factor as an f32 vector.
  Value lowrankUpRow(Value n) {
    Value row = read(op.getLowrankUp(), ValueRange{n, index(0)}, shape.lowrank);
    if (!cast<VectorType>(row.getType()).getElementType().isF32())
      row = arith::ExtFOp::create(b, vector(shape.lowrank, f32), row);
    return row;
  }
  /// `init + lhs rhs^T` as a linalg.matmul (the form lowbit-vectorize-matmul
  /// blocks for registers).
  Value transposedBMatmul(Value lhs, Value rhs, Value init) {
    return linalg::MatmulTransposeBOp::create(b, b.getLoc(),
                                              TypeRange{init.getType()},
                                              ValueRange{lhs, rhs},
                                              ValueRange{init})
        .getResult(0);
  }
  /// [a0, b0, c0, .., a1, b1, c1, ..] of vectors [a, b, c, ..] of one
  /// type (a power-of-two count of them).
  Value interleaveLanes(ArrayRef<Value> vectors);
  /// The low-rank branch after the product of a prefill: t up^T onto it.
  Value addLowrank(Value product);
  /// A gated layer's epilogue on a GEMV block [rows, 2 features] of
  /// (gate, up) pairs: act(gate) * up as [rows, features].
  Value gateTile(Value tile, int64_t features);
  /// For sequentially packed codes of f fields a byte, the input's channel
  /// residues x[:, f j + p] as contiguous tensors (p < f); otherwise x.
  SmallVector<Value> splitInput();
  /// sum over each group of the input, [rows, groups] (for zero points).
  Value groupSums();
  /// The i32 lane sums of one pass over K: for weight rows `weightRows`
  /// and input rows `inputRows`, the dot product of weight row t and input
  /// row r at [t * inputRows + r], each input byte offset by 128 (vpdpbusd
  /// multiplies unsigned by signed bytes); then, with `withSums`, each
  /// weight row's sum of codes, which takes the offset back out.
  SmallVector<Value> int8Pass(ArrayRef<Value> weightRows,
                              ArrayRef<Value> inputRows, bool withSums);
  /// `acc` plus the four-byte dot products of unsigned `a` and signed `b`
  /// (vector<64xi8> each) in its 16 i32 lanes: lowbit.dot_bytes, one
  /// vpdpbusd once lowered.
  Value dotBytes(Value acc, Value a, Value b);

  ImplicitLocOpBuilder &b;
  LinearOp op;
  const LinearShape &shape;
  int64_t rowsPerBlock;
  Type f32;
  /// The GEMV reads the codes from their buffer, to prefetch them.
  Value weightBuffer;
  int64_t prefetchRows = 0;
  /// The GEMV's low-rank input rows, as vectors.
  SmallVector<Value> lowrankInputs;
};

} // namespace

SmallVector<LinearKernelBuilder::Piece>
LinearKernelBuilder::decode(Value n, Value step) {
  int64_t bytes = shape.getStepBytes(), fields = shape.getFields();
  unsigned bits = shape.bits;
  Value offset = arith::MulIOp::create(b, step, index(bytes));
  // Field `field` of the bytes from `block` on: its input and column.
  auto place = [&](Value codes, int64_t field, int64_t block) -> Piece {
    if (shape.interleaved)
      return {codes, 0, field * bytes + block, field};
    return {codes, unsigned(field), block, field};
  };
  SmallVector<Piece> pieces;
  if (!shape.table.empty()) {
    // A lookup reads the low four bits of each i32 lane as the index into
    // the table of code values.
    VectorType tableType = vector(16, f32);
    Value values = arith::ConstantOp::create(
        b, DenseElementsAttr::get(tableType, llvm::ArrayRef(shape.table)));
    int64_t lanes = shape.lookupLanes;
    VectorType indexType = vector(lanes, b.getI32Type());
    for (int64_t block = 0; block < bytes; block += lanes) {
      Value at = arith::AddIOp::create(b, offset, index(block));
      Value wide = arith::ExtUIOp::create(
          b, indexType, readWeights(n, at, lanes, block == 0));
      for (int64_t field = 0; field < fields; ++field) {
        Value indices = wide;
        if (field)
          indices = arith::ShRUIOp::create(
              b, wide, splat(indexType, b.getI32IntegerAttr(bits * field)));
        pieces.push_back(place(
            LookupOp::create(b, vector(lanes, f32), values, indices), field,
            block));
      }
    }
    return pieces;
  }
  VectorType byteType = vector(bytes, b.getI8Type());
  Value packed = readWeights(n, offset, bytes, true);
  auto shift = [&](int64_t amount) {
    return splat(byteType, b.getI8IntegerAttr(amount));
  };
  for (int64_t field = 0; field < fields; ++field) {
    // Field `field` occupies bits [bits * field, bits * (field + 1)).
    Value codes = packed;
    if (shape.isSigned) {
      int64_t left = 8 - bits * (field + 1);
      if (left)
        codes = arith::ShLIOp::create(b, codes, shift(left));
      if (bits != 8)
        codes = arith::ShRSIOp::create(b, codes, shift(8 - bits));
    } else if (bits != 8) {
      if (field)
        codes = arith::ShRUIOp::create(b, codes, shift(bits * field));
      if (field + 1 != fields)
        codes = arith::AndIOp::create(b, codes, shift((1 << bits) - 1));
    }
    VectorType type = vector(bytes, f32);
    codes = shape.isSigned ? Value(arith::SIToFPOp::create(b, type, codes))
                           : Value(arith::UIToFPOp::create(b, type, codes));
    pieces.push_back(place(codes, field, 0));
  }
  return pieces;
}

SmallVector<Value> LinearKernelBuilder::splitInput() {
  Value x = op.getInput();
  int64_t fields = shape.getFields();
  if (shape.interleaved || fields == 1)
    return {x};
  int64_t m = shape.rows, k = shape.inFeatures;
  Value residues = tensor::ExpandShapeOp::create(
      b, RankedTensorType::get({m, k / fields, fields}, f32), x,
      ArrayRef<ReassociationIndices>{{0}, {1, 2}});
  SmallVector<Value> parts;
  for (int64_t field = 0; field < fields; ++field) {
    // A strided view, copied once so that the kernel reads it contiguously.
    Value strided = tensor::ExtractSliceOp::create(
        b, RankedTensorType::get({m, k / fields}, f32), residues, ValueRange{},
        ValueRange{}, ValueRange{}, ArrayRef<int64_t>{0, 0, field},
        ArrayRef<int64_t>{m, k / fields, 1}, ArrayRef<int64_t>{1, 1, 1});
    Value empty =
        tensor::EmptyOp::create(b, ArrayRef<int64_t>{m, k / fields}, f32);
    parts.push_back(linalg::CopyOp::create(b, strided, empty).getResult(0));
  }
  return parts;
}

Value LinearKernelBuilder::groupSums() {
  int64_t m = shape.rows, groups = shape.getGroups();
  Value view = tensor::ExpandShapeOp::create(
      b, RankedTensorType::get({m, groups, shape.group}, f32), op.getInput(),
      ArrayRef<ReassociationIndices>{{0}, {1, 2}});
  Value zero = floatConstant(0.0f);
  Value init =
      linalg::FillOp::create(
          b, ValueRange{zero},
          ValueRange{tensor::EmptyOp::create(
              b, ArrayRef<int64_t>{m, groups}, f32)})
          .getResult(0);
  MLIRContext *context = b.getContext();
  AffineExpr d0, d1, d2;
  bindDims(context, d0, d1, d2);
  return linalg::GenericOp::create(
             b, TypeRange{init.getType()}, ValueRange{view}, ValueRange{init},
             {AffineMap::get(3, 0, {d0, d1, d2}, context),
              AffineMap::get(3, 0, {d0, d1}, context)},
             {utils::IteratorType::parallel, utils::IteratorType::parallel,
              utils::IteratorType::reduction},
             [](OpBuilder &nb, Location loc, ValueRange args) {
               linalg::YieldOp::create(
                   nb, loc,
                   Value(arith::AddFOp::create(nb, loc, args[0], args[1])));
             })
      .getResult(0);
}

Value LinearKernelBuilder::buildGemv() {
  int64_t m = shape.rows, n = shape.outFeatures;
  int64_t columns = stepColumns();
  int64_t stepsPerGroup = shape.group / shape.chunk;
  // Output rows computed together: each input vector read serves all of
  // them, and their weight streams and FMA chains are independent.
  int64_t together = std::min<int64_t>(std::max<int64_t>(1, 4 / m),
                                       rowsPerBlock);
  while (rowsPerBlock % together != 0)
    --together;
  // A gated layer's block of rows holds whole (gate, up) pairs and yields
  // one feature per pair.
  int64_t rowsPerFeature = shape.gated ? 2 : 1;
  SmallVector<Value> inputs = splitInput();
  int64_t chains = shape.getFields();
  auto weightType = cast<RankedTensorType>(op.getWeight().getType());
  weightBuffer = bufferization::ToBufferOp::create(
      b, MemRefType::get(weightType.getShape(), weightType.getElementType()),
      op.getWeight(), /*readOnly=*/true);
  // About 2 KiB ahead, in whole rows.
  int64_t rowBytes = weightType.getDimSize(1);
  prefetchRows = std::max<int64_t>(together, (4096 + rowBytes - 1) / rowBytes);
  Value sums = shape.hasZeroPoints ? groupSums() : Value();
  // Each input row's low-rank projection, read once as a vector.
  for (int64_t r = 0; shape.lowrank && r < m; ++r)
    lowrankInputs.push_back(read(op.getLowrankInput(),
                                 ValueRange{index(r), index(0)},
                                 shape.lowrank));
  Value zero = floatConstant(0.0f);
  Value c0 = index(0), c1 = index(1);
  VectorType accType = vector(getPieceLanes(), f32);
  Value zeroVector = splat(accType, b.getF32FloatAttr(0.0f));

  int64_t featuresPerBlock = rowsPerBlock / rowsPerFeature;
  auto tileType = RankedTensorType::get({m, rowsPerBlock}, f32);
  Value result = tensor::EmptyOp::create(
      b, ArrayRef<int64_t>{m, n / rowsPerFeature}, f32);
  auto forall = scf::ForallOp::create(
      b, ArrayRef<OpFoldResult>{b.getIndexAttr(n / rowsPerBlock)},
      ValueRange{result}, std::nullopt,
      [&](OpBuilder &nb, Location loc, ValueRange args) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
        Value block = args[0], out = args[1];
        Value first = arith::MulIOp::create(b, block, index(rowsPerBlock));
        Value firstFeature =
            arith::MulIOp::create(b, block, index(featuresPerBlock));
        Value tile = tensor::EmptyOp::create(b, tileType.getShape(), f32);
        auto rowLoop = scf::ForOp::create(
            b, c0, index(rowsPerBlock), index(together), ValueRange{tile},
            [&](OpBuilder &rb, Location rloc, Value i, ValueRange tiles) {
              OpBuilder::InsertionGuard guard(b);
              b.setInsertionPoint(rb.getInsertionBlock(),
                                  rb.getInsertionPoint());
              SmallVector<Value> rows;
              for (int64_t t = 0; t < together; ++t)
                rows.push_back(arith::AddIOp::create(
                    b, arith::AddIOp::create(b, first, i), index(t)));
              // Carried over the groups, per output row t and input row r:
              // the scaled sum as a vector (reduced once at the end) and,
              // with zero points, sum_g s z sum(x_g).
              auto slot = [&](int64_t t, int64_t r) { return t * m + r; };
              int64_t slots = together * m;
              SmallVector<Value> initial(slots, zeroVector);
              if (shape.hasZeroPoints)
                initial.append(slots, zero);
              auto groupLoop = scf::ForOp::create(
                  b, c0, index(shape.getGroups()), c1, initial,
                  [&](OpBuilder &gb, Location gloc, Value g, ValueRange ys) {
                    OpBuilder::InsertionGuard guard(b);
                    b.setInsertionPoint(gb.getInsertionBlock(),
                                        gb.getInsertionPoint());
                    // The group's partial sums, one chain per slot and
                    // field of the bytes.
                    SmallVector<Value> zeros(slots * chains, zeroVector);
                    auto stepLoop = scf::ForOp::create(
                        b, c0, index(stepsPerGroup), c1, zeros,
                        [&](OpBuilder &sb, Location sloc, Value s,
                            ValueRange accs) {
                          OpBuilder::InsertionGuard guard(b);
                          b.setInsertionPoint(sb.getInsertionBlock(),
                                              sb.getInsertionPoint());
                          Value step = arith::AddIOp::create(
                              b, arith::MulIOp::create(b, g,
                                                       index(stepsPerGroup)),
                              s);
                          Value offset =
                              arith::MulIOp::create(b, step, index(columns));
                          SmallVector<Value> next(accs.begin(), accs.end());
                          SmallVector<SmallVector<Piece>> codes;
                          for (Value row : rows)
                            codes.push_back(decode(row, step));
                          for (size_t p = 0; p < codes[0].size(); ++p) {
                            const Piece &piece = codes[0][p];
                            Value column = arith::AddIOp::create(
                                b, offset, index(piece.column));
                            for (int64_t r = 0; r < m; ++r) {
                              Value x = read(inputs[piece.input],
                                             ValueRange{index(r), column},
                                             accType.getNumElements());
                              for (int64_t t = 0; t < together; ++t) {
                                Value &acc =
                                    next[slot(t, r) * chains + piece.field];
                                acc = vector::FMAOp::create(
                                    b, codes[t][p].codes, x, acc);
                              }
                            }
                          }
                          scf::YieldOp::create(b, next);
                        });
                    SmallVector<Value> updated;
                    SmallVector<Value> scaledZeros;
                    for (int64_t t = 0; t < together; ++t) {
                      Value scale = readScalar(op.getScales(), rows[t], g);
                      Value scales =
                          vector::BroadcastOp::create(b, accType, scale);
                      for (int64_t r = 0; r < m; ++r) {
                        Value dot =
                            stepLoop.getResult(slot(t, r) * chains);
                        for (int64_t p = 1; p < chains; ++p)
                          dot = arith::AddFOp::create(
                              b, dot,
                              stepLoop.getResult(slot(t, r) * chains + p));
                        updated.push_back(vector::FMAOp::create(
                            b, dot, scales, ys[slot(t, r)]));
                      }
                      if (shape.hasZeroPoints)
                        scaledZeros.push_back(arith::MulFOp::create(
                            b, scale,
                            readScalar(op.getZeroPoints(), rows[t], g)));
                    }
                    for (int64_t t = 0; t < int64_t(scaledZeros.size()); ++t)
                      for (int64_t r = 0; r < m; ++r) {
                        Value sum = tensor::ExtractOp::create(
                            b, sums, ValueRange{index(r), g});
                        updated.push_back(arith::AddFOp::create(
                            b, ys[slots + slot(t, r)],
                            arith::MulFOp::create(b, scaledZeros[t], sum)));
                      }
                    scf::YieldOp::create(b, updated);
                  });
              Value next = tiles[0];
              for (int64_t t = 0; t < together; ++t) {
                Value column = arith::AddIOp::create(b, i, index(t));
                // The low-rank branch's up factor row of this output.
                Value up = shape.lowrank ? lowrankUpRow(rows[t]) : Value();
                for (int64_t r = 0; r < m; ++r) {
                  Value y = vector::ReductionOp::create(
                      b, vector::CombiningKind::ADD,
                      groupLoop.getResult(slot(t, r)));
                  if (shape.hasZeroPoints)
                    y = arith::SubFOp::create(
                        b, y, groupLoop.getResult(slots + slot(t, r)));
                  if (up)
                    y = arith::AddFOp::create(
                        b, y,
                        vector::ReductionOp::create(
                            b, vector::CombiningKind::ADD,
                            arith::MulFOp::create(b, lowrankInputs[r], up)));
                  next = tensor::InsertOp::create(b, y, next,
                                                  ValueRange{index(r), column});
                }
              }
              scf::YieldOp::create(b, next);
            });
        Value computed = rowLoop.getResult(0);
        if (shape.gated)
          computed = gateTile(computed, featuresPerBlock);
        auto terminator = scf::InParallelOp::create(b);
        b.setInsertionPointToStart(terminator.getBody());
        tensor::ParallelInsertSliceOp::create(
            b, computed, out,
            ArrayRef<OpFoldResult>{b.getIndexAttr(0), firstFeature},
            ArrayRef<OpFoldResult>{b.getIndexAttr(m),
                                   b.getIndexAttr(featuresPerBlock)},
            ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
      });
  return forall.getResult(0);
}

Value LinearKernelBuilder::dotBytes(Value acc, Value a, Value bytes) {
  return DotBytesOp::create(b, acc.getType(), acc, a, bytes);
}

SmallVector<Value> LinearKernelBuilder::int8Pass(ArrayRef<Value> weightRows,
                                                 ArrayRef<Value> inputRows,
                                                 bool withSums) {
  constexpr int64_t kStep = 64;
  VectorType accType = vector(16, b.getI32Type());
  VectorType byteType = vector(kStep, b.getI8Type());
  Value zero = splat(accType, b.getI32IntegerAttr(0));
  Value offset = splat(byteType, b.getI8IntegerAttr(-128));
  Value ones = splat(byteType, b.getI8IntegerAttr(1));
  int64_t dots = weightRows.size() * inputRows.size();
  SmallVector<Value> initial(dots + (withSums ? weightRows.size() : 0), zero);
  auto loop = scf::ForOp::create(
      b, index(0), index(shape.inFeatures / kStep), index(1), initial,
      [&](OpBuilder &sb, Location, Value step, ValueRange accs) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(sb.getInsertionBlock(), sb.getInsertionPoint());
        Value column = arith::MulIOp::create(b, step, index(kStep));
        SmallVector<Value> next(accs.begin(), accs.end());
        SmallVector<Value> weights;
        for (Value row : weightRows)
          weights.push_back(readWeights(row, column, kStep, true));
        for (auto [r, row] : llvm::enumerate(inputRows)) {
          // x + 128 as an unsigned byte is x with its sign bit flipped.
          Value x = arith::XOrIOp::create(
              b, read(shape.inputCodes, ValueRange{row, column}, kStep),
              offset);
          for (auto [t, w] : llvm::enumerate(weights)) {
            Value &acc = next[t * inputRows.size() + r];
            acc = dotBytes(acc, x, w);
          }
        }
        for (auto [t, w] : llvm::enumerate(weights))
          if (withSums)
            next[dots + t] = dotBytes(next[dots + t], ones, w);
        scf::YieldOp::create(b, next);
      });
  return SmallVector<Value>(loop.getResults());
}

Value LinearKernelBuilder::buildInt8Product(int64_t gemvRows) {
  int64_t m = shape.rows, n = shape.outFeatures;
  // Weight rows a pass shares its input loads over, and input rows it
  // shares its weight loads over: 4 x 4 dot chains fill half the vector
  // registers with accumulators.
  int64_t together = std::min<int64_t>(4, rowsPerBlock);
  while (rowsPerBlock % together != 0)
    --together;
  bool gemv = m <= gemvRows;
  int64_t tileRows = gemv ? m : 4;
  auto weightType = cast<RankedTensorType>(op.getWeight().getType());
  weightBuffer = bufferization::ToBufferOp::create(
      b, MemRefType::get(weightType.getShape(), weightType.getElementType()),
      op.getWeight(), /*readOnly=*/true);
  prefetchRows = std::max<int64_t>(together, 4096 / shape.inFeatures + 1);
  bool perTensor =
      cast<RankedTensorType>(shape.inputScales.getType()).getDimSize(0) == 1;
  int64_t rowsPerFeature = shape.gated ? 2 : 1;
  int64_t featuresPerBlock = rowsPerBlock / rowsPerFeature;
  auto tileType = RankedTensorType::get({m, rowsPerBlock}, f32);
  Value result =
      tensor::EmptyOp::create(b, ArrayRef<int64_t>{m, n / rowsPerFeature}, f32);
  auto forall = scf::ForallOp::create(
      b, ArrayRef<OpFoldResult>{b.getIndexAttr(n / rowsPerBlock)},
      ValueRange{result}, std::nullopt,
      [&](OpBuilder &nb, Location loc, ValueRange args) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
        Value block = args[0], out = args[1];
        Value first = arith::MulIOp::create(b, block, index(rowsPerBlock));
        Value firstFeature =
            arith::MulIOp::create(b, block, index(featuresPerBlock));
        Value tile = tensor::EmptyOp::create(b, tileType.getShape(), f32);
        auto rowLoop = scf::ForOp::create(
            b, index(0), index(rowsPerBlock), index(together), ValueRange{tile},
            [&](OpBuilder &rb, Location, Value i, ValueRange tiles) {
              OpBuilder::InsertionGuard guard(b);
              b.setInsertionPoint(rb.getInsertionBlock(),
                                  rb.getInsertionPoint());
              SmallVector<Value> rows, channelScales;
              for (int64_t t = 0; t < together; ++t) {
                rows.push_back(arith::AddIOp::create(
                    b, arith::AddIOp::create(b, first, i), index(t)));
                channelScales.push_back(
                    readScalar(op.getScales(), rows.back(), index(0)));
              }
              // sum_k (x + 128) w = sum_k x w + 128 sum_k w: the weight
              // rows' code sums, in the GEMV's own pass, or in a pass of
              // their own ahead of the tiles, which then finds the rows
              // in the cache.
              auto rowSums = [&](ArrayRef<Value> lanes) {
                SmallVector<Value> sums;
                for (Value sum : lanes)
                  sums.push_back(arith::ShLIOp::create(
                      b,
                      vector::ReductionOp::create(b, vector::CombiningKind::ADD,
                                                  sum),
                      arith::ConstantOp::create(b, b.getI32IntegerAttr(7))));
                return sums;
              };
              SmallVector<Value> offsets;
              if (!gemv)
                offsets = rowSums(int8Pass(rows, {}, /*withSums=*/true));
              // Input rows [base, base + count): their outputs of this
              // pass's weight rows into `written`.
              auto tilePass = [&](Value base, int64_t count, Value written) {
                SmallVector<Value> inputs;
                for (int64_t r = 0; r < count; ++r)
                  inputs.push_back(arith::AddIOp::create(b, base, index(r)));
                SmallVector<Value> lanes = int8Pass(rows, inputs, gemv);
                if (gemv)
                  offsets = rowSums(
                      ArrayRef<Value>(lanes).drop_front(together * count));
                for (int64_t r = 0; r < count; ++r) {
                  Value inputScale = tensor::ExtractOp::create(
                      b, shape.inputScales,
                      ValueRange{perTensor ? index(0) : inputs[r], index(0)});
                  for (int64_t t = 0; t < together; ++t) {
                    Value dot =
                        arith::SubIOp::create(b,
                                              vector::ReductionOp::create(
                                                  b, vector::CombiningKind::ADD,
                                                  lanes[t * count + r]),
                                              offsets[t]);
                    Value y = arith::MulFOp::create(
                        b, arith::SIToFPOp::create(b, f32, dot),
                        arith::MulFOp::create(b, inputScale, channelScales[t]));
                    written = tensor::InsertOp::create(
                        b, y, written,
                        ValueRange{inputs[r],
                                   arith::AddIOp::create(b, i, index(t))});
                  }
                }
                return written;
              };
              Value written = tiles[0];
              int64_t full = m / tileRows, rest = m % tileRows;
              if (full == 1) {
                written = tilePass(index(0), tileRows, written);
              } else if (full > 1) {
                auto tiles = scf::ForOp::create(
                    b, index(0), index(full * tileRows), index(tileRows),
                    ValueRange{written},
                    [&](OpBuilder &tb, Location, Value base, ValueRange t) {
                      OpBuilder::InsertionGuard guard(b);
                      b.setInsertionPoint(tb.getInsertionBlock(),
                                          tb.getInsertionPoint());
                      scf::YieldOp::create(b, tilePass(base, tileRows, t[0]));
                    });
                written = tiles.getResult(0);
              }
              if (rest)
                written = tilePass(index(full * tileRows), rest, written);
              scf::YieldOp::create(b, written);
            });
        Value computed = rowLoop.getResult(0);
        if (shape.gated)
          computed = gateTile(computed, featuresPerBlock);
        auto terminator = scf::InParallelOp::create(b);
        b.setInsertionPointToStart(terminator.getBody());
        tensor::ParallelInsertSliceOp::create(
            b, computed, out,
            ArrayRef<OpFoldResult>{b.getIndexAttr(0), firstFeature},
            ArrayRef<OpFoldResult>{b.getIndexAttr(m),
                                   b.getIndexAttr(featuresPerBlock)},
            ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
      });
  return forall.getResult(0);
}

Value LinearKernelBuilder::interleaveLanes(ArrayRef<Value> vectors) {
  if (vectors.size() == 1)
    return vectors[0];
  // Interleaving the even-indexed and the odd-indexed halves and then the
  // two results puts lane j of vector q at j * count + q.
  SmallVector<Value> evens, odds;
  for (auto [position, value] : llvm::enumerate(vectors))
    (position % 2 ? odds : evens).push_back(value);
  Value low = interleaveLanes(evens), high = interleaveLanes(odds);
  int64_t lanes = cast<VectorType>(low.getType()).getNumElements();
  SmallVector<int64_t> mask;
  for (int64_t j = 0; j < lanes; ++j) {
    mask.push_back(j);
    mask.push_back(j + lanes);
  }
  return vector::ShuffleOp::create(b, low, high, mask);
}

Value LinearKernelBuilder::addLowrank(Value product) {
  Value up = op.getLowrankUp();
  auto upType = cast<RankedTensorType>(up.getType());
  if (!upType.getElementType().isF32())
    up = arith::ExtFOp::create(
        b, RankedTensorType::get(upType.getShape(), f32), up);
  return transposedBMatmul(op.getLowrankInput(), up, product);
}

Value LinearKernelBuilder::gateTile(Value tile, int64_t features) {
  // Deinterleaves each row's (gate, up) pairs with two shuffles and
  // applies the activation to whole vectors, which the polynomial exp then
  // keeps in vector registers.
  SmallVector<int64_t> gates, ups;
  for (int64_t j = 0; j < features; ++j) {
    gates.push_back(2 * j);
    ups.push_back(2 * j + 1);
  }
  Value gated = tensor::EmptyOp::create(
      b, ArrayRef<int64_t>{shape.rows, features}, f32);
  for (int64_t r = 0; r < shape.rows; ++r) {
    Value row = read(tile, ValueRange{index(r), index(0)}, 2 * features);
    Value gate = vector::ShuffleOp::create(b, row, row, gates);
    Value up = vector::ShuffleOp::create(b, row, row, ups);
    Value value = arith::MulFOp::create(
        b, buildGateActivation(b, b.getLoc(), gate, *shape.gated), up);
    gated = vector::TransferWriteOp::create(b, value, gated,
                                            ValueRange{index(r), index(0)},
                                            ArrayRef<bool>{true})
                .getResult();
  }
  return gated;
}

Value LinearKernelBuilder::buildDequantizeAndMatmul() {
  int64_t n = shape.outFeatures, k = shape.inFeatures;
  int64_t columns = stepColumns();
  int64_t stepsPerGroup = shape.group / shape.chunk;
  Value c0 = index(0), c1 = index(1);
  // Sequentially packed fields of one block of bytes are channel residues:
  // interleaved back into channel order (f fields: f pieces, one vector).
  // Interleaved packing and 8-bit codes give consecutive channels already.
  int64_t width = shape.interleaved ? 1 : shape.getFields();

  auto tileType = RankedTensorType::get({rowsPerBlock, k}, f32);
  Value weights = tensor::EmptyOp::create(b, ArrayRef<int64_t>{n, k}, f32);
  auto forall = scf::ForallOp::create(
      b, ArrayRef<OpFoldResult>{b.getIndexAttr(n / rowsPerBlock)},
      ValueRange{weights}, std::nullopt,
      [&](OpBuilder &nb, Location loc, ValueRange args) {
        OpBuilder::InsertionGuard guard(b);
        b.setInsertionPoint(nb.getInsertionBlock(), nb.getInsertionPoint());
        Value block = args[0], out = args[1];
        Value first = arith::MulIOp::create(b, block, index(rowsPerBlock));
        Value tile = tensor::EmptyOp::create(b, tileType.getShape(), f32);
        auto rowLoop = scf::ForOp::create(
            b, c0, index(rowsPerBlock), c1, ValueRange{tile},
            [&](OpBuilder &rb, Location, Value i, ValueRange tiles) {
              OpBuilder::InsertionGuard guard(b);
              b.setInsertionPoint(rb.getInsertionBlock(),
                                  rb.getInsertionPoint());
              Value row = arith::AddIOp::create(b, first, i);
              auto stepLoop = scf::ForOp::create(
                  b, c0, index(k / shape.chunk), c1, ValueRange{tiles[0]},
                  [&](OpBuilder &sb, Location, Value step, ValueRange t) {
                    OpBuilder::InsertionGuard guard(b);
                    b.setInsertionPoint(sb.getInsertionBlock(),
                                        sb.getInsertionPoint());
                    SmallVector<Piece> codes = decode(row, step);
                    Value g = arith::DivUIOp::create(b, step,
                                                     index(stepsPerGroup));
                    Value scale = readScalar(op.getScales(), row, g);
                    Value zeroPoint =
                        shape.hasZeroPoints
                            ? readScalar(op.getZeroPoints(), row, g)
                            : Value();
                    Value written = t[0];
                    for (size_t p = 0; p < codes.size(); p += width) {
                      SmallVector<Value> fields;
                      for (int64_t q = 0; q < width; ++q)
                        fields.push_back(codes[p + q].codes);
                      Value values = interleaveLanes(fields);
                      auto type = cast<VectorType>(values.getType());
                      if (zeroPoint)
                        values = arith::SubFOp::create(
                            b, values,
                            vector::BroadcastOp::create(b, type, zeroPoint));
                      values = arith::MulFOp::create(
                          b, values,
                          vector::BroadcastOp::create(b, type, scale));
                      // Channel `width * c` for column c of the inputs.
                      Value column = arith::MulIOp::create(
                          b,
                          arith::AddIOp::create(
                              b, arith::MulIOp::create(b, step, index(columns)),
                              index(codes[p].column)),
                          index(width));
                      written = vector::TransferWriteOp::create(
                                    b, values, written, ValueRange{i, column},
                                    ArrayRef<bool>{true})
                                    .getResult();
                    }
                    scf::YieldOp::create(b, written);
                  });
              scf::YieldOp::create(b, stepLoop.getResult(0));
            });
        auto terminator = scf::InParallelOp::create(b);
        b.setInsertionPointToStart(terminator.getBody());
        tensor::ParallelInsertSliceOp::create(
            b, rowLoop.getResult(0), out,
            ArrayRef<OpFoldResult>{first, b.getIndexAttr(0)},
            ArrayRef<OpFoldResult>{b.getIndexAttr(rowsPerBlock),
                                   b.getIndexAttr(k)},
            ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
      });

  // The product, which lowbit-vectorize-matmul makes a register-blocked
  // kernel.
  int64_t m = shape.rows;
  Value zero = floatConstant(0.0f);
  Value acc = linalg::FillOp::create(
                  b, ValueRange{zero},
                  ValueRange{tensor::EmptyOp::create(
                      b, ArrayRef<int64_t>{m, n}, f32)})
                  .getResult(0);
  Value product = transposedBMatmul(op.getInput(), forall.getResult(0), acc);
  if (shape.lowrank)
    product = addLowrank(product);
  if (shape.gated)
    return buildGatedEpilogue(b, b.getLoc(), product, *shape.gated, f32);
  return product;
}

std::optional<CpuTarget> mlir::lowbit::parseCpuTarget(StringRef target) {
  if (target == "host") {
    llvm::StringMap<bool> features = llvm::sys::getHostCPUFeatures();
    bool avx512 = features.lookup("avx512f");
    return CpuTarget{features.lookup("avx2"), avx512,
                     avx512 && features.lookup("avx512vnni")};
  }
  if (target == "avx512-vnni")
    return CpuTarget{true, true, true};
  if (target == "avx512")
    return CpuTarget{true, true, false};
  if (target == "avx2")
    return CpuTarget{true, false, false};
  if (target == "generic")
    return CpuTarget{false, false, false};
  return std::nullopt;
}

FailureOr<CpuTarget> mlir::lowbit::parseCpuTarget(Operation *op,
                                                  StringRef target,
                                                  StringRef pass) {
  if (std::optional<CpuTarget> cpu = parseCpuTarget(target))
    return *cpu;
  return op->emitError() << "unknown target '" << target << "' of " << pass
                         << " (host, avx512-vnni, avx512, avx2, generic)";
}

std::optional<int64_t> mlir::lowbit::getKernelInterleaveBlock(LinearOp op,
                                                              CpuTarget target) {
  PackingAttr packing = op.getPackingOrDefault();
  if (packing.getOrder() != PackOrder::sequential)
    return std::nullopt;
  std::optional<LinearShape> shape = matchLinear(op, target, packing);
  if (!shape || shape->getFields() == 1)
    return std::nullopt;
  return shape->chunk;
}

namespace {
struct VectorizeLinearPass
    : public lowbit::impl::VectorizeLinearPassBase<VectorizeLinearPass> {
  using Base::Base;

  void runOnOperation() override {
    FailureOr<CpuTarget> cpu =
        parseCpuTarget(getOperation(), target, "lowbit-vectorize-linear");
    if (failed(cpu))
      return signalPassFailure();
    unsigned threadCount =
        threads > 0 ? unsigned(threads)
                    : std::max(1u, std::thread::hardware_concurrency());
    SmallVector<LinearOp> layers;
    getOperation().walk([&](LinearOp op) { layers.push_back(op); });
    for (LinearOp op : layers) {
      std::optional<LinearShape> shape =
          matchLinear(op, *cpu, op.getPackingOrDefault());
      if (!shape)
        continue;
      // Blocks of rows that divide the layer, at least a few per thread
      // (whole (gate, up) pairs of a gated layer).
      int64_t rowsPerBlock = shape->gated ? 2 : 1;
      for (int64_t candidate : {64, 32, 16, 8, 4, 2}) {
        if (shape->outFeatures % candidate == 0 &&
            shape->outFeatures / candidate >= 4 * int64_t(threadCount)) {
          rowsPerBlock = candidate;
          break;
        }
      }
      ImplicitLocOpBuilder b(op.getLoc(), op);
      LinearKernelBuilder kernel(b, op, *shape, rowsPerBlock);
      Value result = shape->inputCodes ? kernel.buildInt8Product(maxGemvRows)
                     : shape->rows <= maxGemvRows
                         ? kernel.buildGemv()
                         : kernel.buildDequantizeAndMatmul();
      op.getResult().replaceAllUsesWith(result);
      op.erase();
    }
  }
};
} // namespace
