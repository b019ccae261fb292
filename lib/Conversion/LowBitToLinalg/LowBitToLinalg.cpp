//===- LowBitToLinalg.cpp - Reference lowering of lowbit ops --------------===//
//
// Lowers lowbit ops to linalg/tensor/arith so that any lowbit IR runs on the
// CPU through upstream pipelines. Clarity over speed: this lowering is the
// definition the fast kernels are tested against.
//
//===----------------------------------------------------------------------===//

#include "lowbit/Conversion/LowBitToLinalg/LowBitToLinalg.h"
#include "lowbit/Conversion/Passes.h"
#include "lowbit/Dialect/LowBit/IR/LowBitOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/Transforms/DialectConversion.h"
#include "llvm/Support/MathExtras.h"

namespace mlir::lowbit {
#define GEN_PASS_DEF_CONVERTLOWBITTOLINALGPASS
#define GEN_PASS_DEF_LOWBITEXPORTCINTERFACEPASS
#include "lowbit/Conversion/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

//===----------------------------------------------------------------------===//
// Scalar building blocks
//===----------------------------------------------------------------------===//

namespace {
/// Scalar arithmetic on index and i32 values, named for what the lowering
/// computes rather than for the ops it takes.
class ScalarBuilder {
public:
  explicit ScalarBuilder(ImplicitLocOpBuilder &b) : b(b) {}

  Value index(int64_t value) { return arith::ConstantIndexOp::create(b, value); }
  Value i32(int64_t value) { return arith::ConstantIntOp::create(b, value, 32); }
  Value f32(float value) {
    return arith::ConstantFloatOp::create(b, b.getF32Type(),
                                          APFloat(value));
  }
  Value add(Value x, Value y) { return arith::AddIOp::create(b, x, y); }
  Value sub(Value x, Value y) { return arith::SubIOp::create(b, x, y); }
  Value mul(Value x, Value y) { return arith::MulIOp::create(b, x, y); }
  Value div(Value x, Value y) { return arith::DivUIOp::create(b, x, y); }
  Value rem(Value x, Value y) { return arith::RemUIOp::create(b, x, y); }
  Value min(Value x, Value y) { return arith::MinSIOp::create(b, x, y); }
  Value max(Value x, Value y) { return arith::MaxSIOp::create(b, x, y); }
  Value shl(Value x, Value y) { return arith::ShLIOp::create(b, x, y); }
  Value shr(Value x, Value y) { return arith::ShRUIOp::create(b, x, y); }
  Value bitAnd(Value x, Value y) { return arith::AndIOp::create(b, x, y); }
  Value bitOr(Value x, Value y) { return arith::OrIOp::create(b, x, y); }
  Value select(Value c, Value x, Value y) {
    return arith::SelectOp::create(b, c, x, y);
  }
  Value cmp(arith::CmpIPredicate p, Value x, Value y) {
    return arith::CmpIOp::create(b, p, x, y);
  }
  Value toI32(Value indexValue) {
    return arith::IndexCastOp::create(b, b.getI32Type(), indexValue);
  }
  Value toIndex(Value i32Value) {
    return arith::IndexCastUIOp::create(b, b.getIndexType(), i32Value);
  }
  /// Widens any float or integer scalar to f32 (integers as signed).
  Value toF32(Value v) {
    Type type = v.getType();
    if (type.isF32())
      return v;
    if (isa<IntegerType>(type))
      return arith::SIToFPOp::create(b, b.getF32Type(), v);
    return arith::ExtFOp::create(b, b.getF32Type(), v);
  }
  Value fromF32(Value v, Type type) {
    if (type.isF32())
      return v;
    return arith::TruncFOp::create(b, type, v);
  }
  /// Reads byte `byteIndex` of row `lead` of `packed` as an unsigned i32.
  Value loadByte(Value packed, ValueRange lead, Value byteIndex) {
    SmallVector<Value> indices(lead);
    indices.push_back(byteIndex);
    Value byte = tensor::ExtractOp::create(b, packed, indices);
    return arith::ExtUIOp::create(b, b.getI32Type(), byte);
  }

  ImplicitLocOpBuilder &b;
};
} // namespace

/// A rank-1 constant tensor of `values` with element type `type`.
template <typename T>
static Value constantTable(ImplicitLocOpBuilder &b, Type type,
                           ArrayRef<T> values) {
  auto tableType = RankedTensorType::get({int64_t(values.size())}, type);
  return arith::ConstantOp::create(b, DenseElementsAttr::get(tableType, values));
}

/// The indexing map from the iteration space of a tensor of rank `rank` to
/// its scales under `scheme`.
static AffineMap getScaleIndexingMap(QuantSchemeAttr scheme, unsigned rank,
                                     MLIRContext *context) {
  SmallVector<AffineExpr> exprs;
  for (unsigned d = 0; d < rank; ++d)
    exprs.push_back(getAffineDimExpr(d, context));
  AffineExpr zero = getAffineConstantExpr(0, context);
  switch (scheme.getGranularity()) {
  case Granularity::per_tensor:
    exprs.assign(rank, zero);
    break;
  case Granularity::per_channel:
    exprs.back() = zero;
    break;
  case Granularity::per_group:
    exprs.back() = exprs.back().floorDiv(scheme.getGroupSize());
    break;
  case Granularity::per_ic_group:
    exprs[rank - 2] = exprs[rank - 2].floorDiv(scheme.getGroupSize());
    break;
  }
  return AffineMap::get(rank, 0, exprs, context);
}

/// The sizes of `value`'s dynamic axes, for tensor.empty.
static SmallVector<Value> getDynamicSizes(ImplicitLocOpBuilder &b, Value value,
                                          size_t numAxes) {
  SmallVector<Value> sizes;
  auto type = cast<RankedTensorType>(value.getType());
  for (size_t axis = 0; axis < numAxes; ++axis)
    if (type.isDynamicDim(axis))
      sizes.push_back(tensor::DimOp::create(b, value, axis));
  return sizes;
}

//===----------------------------------------------------------------------===//
// Unpacking and decoding
//===----------------------------------------------------------------------===//

/// Reads the b-bit field of code `k` in row `lead` of `packed` (an i32).
static Value extractField(ScalarBuilder &s, Value packed, ValueRange lead,
                          Value k, FormatSpec format, PackingSpec packing,
                          int64_t rowBytes) {
  unsigned bits = format.bits;
  Value mask = s.i32((1 << bits) - 1);
  switch (packing.order) {
  case PackOrder::sequential: {
    Value bit = s.mul(k, s.index(bits));
    Value byteIndex = s.div(bit, s.index(8));
    Value shift = s.toI32(s.rem(bit, s.index(8)));
    Value window = s.loadByte(packed, lead, byteIndex);
    if (8 % bits != 0) {
      // The field may continue in the next byte. At the end of a row the
      // next byte does not exist, but then the field does not straddle and
      // whatever the clamped read returns is masked off.
      Value next = s.min(s.add(byteIndex, s.index(1)), s.index(rowBytes - 1));
      window = s.bitOr(window, s.shl(s.loadByte(packed, lead, next), s.i32(8)));
    }
    return s.bitAnd(s.shr(window, shift), mask);
  }
  case PackOrder::interleaved: {
    int64_t bytesPerBlock = packing.block / (8 / bits);
    Value j = s.rem(k, s.index(packing.block));
    Value byteIndex =
        s.add(s.mul(s.div(k, s.index(packing.block)), s.index(bytesPerBlock)),
              s.rem(j, s.index(bytesPerBlock)));
    Value shift =
        s.toI32(s.mul(s.div(j, s.index(bytesPerBlock)), s.index(bits)));
    Value byte = s.loadByte(packed, lead, byteIndex);
    return s.bitAnd(s.shr(byte, shift), mask);
  }
  case PackOrder::base3: {
    Value powers = constantTable<int32_t>(s.b, s.b.getI32Type(),
                                          ArrayRef<int32_t>{1, 3, 9, 27, 81});
    Value byte = s.loadByte(packed, lead, s.div(k, s.index(5)));
    Value power =
        tensor::ExtractOp::create(s.b, powers, ValueRange{s.rem(k, s.index(5))});
    return s.rem(s.div(byte, power), s.i32(3));
  }
  }
  llvm_unreachable("unknown pack order");
}

/// The f32 value of an i32 field: arithmetic for integer formats, a lookup in
/// `table` (from getDecodeTable) for the others.
static Value emitDecode(ScalarBuilder &s, Value field, FormatSpec format,
                         Value table) {
  ImplicitLocOpBuilder &b = s.b;
  switch (format.format) {
  case ElementFormat::sint: {
    Value shift = s.i32(32 - format.bits);
    Value value = arith::ShRSIOp::create(b, s.shl(field, shift), shift);
    return arith::SIToFPOp::create(b, b.getF32Type(), value);
  }
  case ElementFormat::uint:
    return arith::UIToFPOp::create(b, b.getF32Type(), field);
  default:
    return tensor::ExtractOp::create(b, table, ValueRange{s.toIndex(field)});
  }
}

FailureOr<Value> mlir::lowbit::buildReferenceDequantize(
    OpBuilder &builder, Location loc, Value packed, Value scales,
    Value zeroPoints, QuantSchemeAttr scheme, PackingAttr packing,
    RankedTensorType resultType) {
  ImplicitLocOpBuilder b(loc, builder);
  int64_t rank = resultType.getRank();
  int64_t rowLength = resultType.getShape().back();
  if (ShapedType::isDynamic(rowLength))
    return failure();
  FormatSpec format = getFormatSpec(scheme);
  PackingSpec packingSpec = getPackingSpec(packing);
  int64_t rowBytes = getPackedRowBytes(packingSpec, format.bits, rowLength);

  Value table;
  if (!format.isInteger())
    table = constantTable<float>(b, b.getF32Type(), getDecodeTable(format));

  MLIRContext *context = b.getContext();
  AffineMap identity = b.getMultiDimIdentityMap(rank);
  AffineMap scaleMap = getScaleIndexingMap(scheme, rank, context);
  SmallVector<Value> inputs{scales};
  SmallVector<AffineMap> maps{scaleMap};
  if (zeroPoints) {
    inputs.push_back(zeroPoints);
    maps.push_back(scaleMap);
  }
  maps.push_back(identity);
  Value init = tensor::EmptyOp::create(b, resultType,
                                       getDynamicSizes(b, packed, rank - 1));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, TypeRange{resultType}, inputs, ValueRange{init}, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        ImplicitLocOpBuilder nb(nestedLoc, nested);
        ScalarBuilder s(nb);
        SmallVector<Value> lead;
        for (int64_t axis = 0; axis + 1 < rank; ++axis)
          lead.push_back(linalg::IndexOp::create(nb, axis));
        Value k = linalg::IndexOp::create(nb, rank - 1);
        Value field = extractField(s, packed, lead, k, format, packingSpec,
                                   rowBytes);
        Value value = emitDecode(s, field, format, table);
        if (zeroPoints)
          value = arith::SubFOp::create(nb, value, s.toF32(args[1]));
        value = arith::MulFOp::create(nb, value, s.toF32(args[0]));
        linalg::YieldOp::create(
            nb, s.fromF32(value, resultType.getElementType()));
      });
  return generic.getResult(0);
}

//===----------------------------------------------------------------------===//
// Encoding and packing
//===----------------------------------------------------------------------===//

namespace {
/// The constant tables `encodeValue` searches for non-integer formats.
struct CodebookTables {
  Value thresholds; ///< tensor<(n-1)xf32>, increasing.
  Value tieUp;      ///< tensor<(n-1)xi1>: ties at a threshold round up.
  Value fields;     ///< tensor<nxi32>: the field of each bucket.
  int64_t numThresholds;
};
} // namespace

static CodebookTables buildCodebookTables(ImplicitLocOpBuilder &b,
                                          FormatSpec format) {
  Codebook book = getCodebook(format);
  SmallVector<int32_t> fields(book.fields.begin(), book.fields.end());
  SmallVector<bool> tieUp(book.tieUp.begin(), book.tieUp.end());
  CodebookTables tables;
  tables.thresholds =
      constantTable<float>(b, b.getF32Type(), book.thresholds);
  tables.tieUp = constantTable<bool>(b, b.getI1Type(), tieUp);
  tables.fields = constantTable<int32_t>(b, b.getI32Type(), fields);
  tables.numThresholds = book.thresholds.size();
  return tables;
}

/// The i32 field nearest to the f32 value `x` (already divided by the scale
/// and shifted by the zero point); see `mlir::lowbit::encodeValue`.
static Value emitEncode(ScalarBuilder &s, Value x, FormatSpec format,
                         const CodebookTables &tables) {
  ImplicitLocOpBuilder &b = s.b;
  // NaN encodes as zero, like the C++ reference.
  Value isNan = arith::CmpFOp::create(b, arith::CmpFPredicate::UNO, x, x);
  x = s.select(isNan, s.f32(0.0f), x);
  if (format.isInteger()) {
    Value rounded = math::RoundEvenOp::create(b, x);
    rounded = arith::MaximumFOp::create(b, rounded,
                                        s.f32(float(format.getMinCode())));
    rounded = arith::MinimumFOp::create(b, rounded,
                                        s.f32(float(format.getMaxCode())));
    Value code = arith::FPToSIOp::create(b, b.getI32Type(), rounded);
    return s.bitAnd(code, s.i32(format.getNumFields() - 1));
  }
  // Branch-free binary search for the number of thresholds below x: after
  // the step of size `step`, `position` is the largest count, in multiples
  // of `step`, known to be below x.
  int64_t m = tables.numThresholds;
  Value position = s.index(0);
  for (int64_t step = llvm::PowerOf2Ceil(m + 1) / 2; step >= 1; step /= 2) {
    Value candidate = s.add(position, s.index(step));
    Value inRange = s.cmp(arith::CmpIPredicate::sle, candidate, s.index(m));
    Value probe = s.sub(s.min(candidate, s.index(m)), s.index(1));
    Value threshold =
        tensor::ExtractOp::create(b, tables.thresholds, ValueRange{probe});
    Value tieUp = tensor::ExtractOp::create(b, tables.tieUp, ValueRange{probe});
    Value above = arith::CmpFOp::create(b, arith::CmpFPredicate::OGT, x,
                                        threshold);
    Value tie = arith::AndIOp::create(
        b, arith::CmpFOp::create(b, arith::CmpFPredicate::OEQ, x, threshold),
        tieUp);
    Value passes = arith::AndIOp::create(
        b, inRange, arith::OrIOp::create(b, above, tie));
    position = s.select(passes, candidate, position);
  }
  return tensor::ExtractOp::create(b, tables.fields, ValueRange{position});
}

/// Packs the fields (one i8 each, shape [..., K]) of `fields` into bytes,
/// returning a tensor of `packedType`.
static Value packFields(ImplicitLocOpBuilder &b, Value fields,
                        RankedTensorType packedType, FormatSpec format,
                        PackingSpec packing, int64_t rowLength) {
  int64_t rank = packedType.getRank();
  unsigned bits = format.bits;
  Value init = tensor::EmptyOp::create(b, packedType,
                                       getDynamicSizes(b, fields, rank - 1));
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, TypeRange{packedType}, ValueRange{}, ValueRange{init},
      ArrayRef<AffineMap>{b.getMultiDimIdentityMap(rank)}, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange) {
        ImplicitLocOpBuilder nb(nestedLoc, nested);
        ScalarBuilder s(nb);
        SmallVector<Value> lead;
        for (int64_t axis = 0; axis + 1 < rank; ++axis)
          lead.push_back(linalg::IndexOp::create(nb, axis));
        Value byteIndex = linalg::IndexOp::create(nb, rank - 1);
        Value lastCode = s.index(rowLength - 1);
        // The field of code `e`, or 0 past the end of the row.
        auto fieldAt = [&](Value e) {
          Value valid = s.cmp(arith::CmpIPredicate::sle, e, lastCode);
          Value field = s.loadByte(fields, lead, s.min(e, lastCode));
          return s.select(valid, field, s.i32(0));
        };
        Value byte = s.i32(0);
        switch (packing.order) {
        case PackOrder::sequential: {
          // Codes overlapping bits [8c, 8c+8): starting with the one holding
          // bit 8c, at most ceil(8/b)+1 of them.
          Value firstBit = s.mul(byteIndex, s.index(8));
          Value first = s.div(firstBit, s.index(bits));
          int64_t maxCodes = llvm::divideCeil(8, bits) + 1;
          for (int64_t t = 0; t < maxCodes; ++t) {
            Value e = s.add(first, s.index(t));
            // Offset of code e's lowest bit from this byte's lowest bit.
            Value offset = s.toI32(s.sub(s.mul(e, s.index(bits)), firstBit));
            Value field = fieldAt(e);
            Value up = s.shl(field, s.max(offset, s.i32(0)));
            Value down =
                s.shr(field, s.max(s.sub(s.i32(0), offset), s.i32(0)));
            Value isUp = s.cmp(arith::CmpIPredicate::sge, offset, s.i32(0));
            byte = s.bitOr(byte, s.select(isUp, up, down));
          }
          break;
        }
        case PackOrder::interleaved: {
          int64_t perByte = 8 / bits;
          int64_t bytesPerBlock = packing.block / perByte;
          Value blockStart = s.mul(s.div(byteIndex, s.index(bytesPerBlock)),
                                   s.index(packing.block));
          Value j = s.rem(byteIndex, s.index(bytesPerBlock));
          for (int64_t slot = 0; slot < perByte; ++slot) {
            Value e = s.add(blockStart, s.add(j, s.index(slot * bytesPerBlock)));
            byte = s.bitOr(byte, s.shl(fieldAt(e), s.i32(slot * bits)));
          }
          break;
        }
        case PackOrder::base3: {
          Value first = s.mul(byteIndex, s.index(5));
          for (int64_t t = 0, power = 1; t < 5; ++t, power *= 3) {
            Value field = fieldAt(s.add(first, s.index(t)));
            byte = s.add(byte, s.mul(field, s.i32(power)));
          }
          break;
        }
        }
        linalg::YieldOp::create(
            nb, Value(arith::TruncIOp::create(nb, nb.getI8Type(), byte)));
      });
  return generic.getResult(0);
}

//===----------------------------------------------------------------------===//
// Patterns
//===----------------------------------------------------------------------===//

namespace {

struct DequantizeOpLowering : OpConversionPattern<DequantizeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(DequantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    FailureOr<Value> result = buildReferenceDequantize(
        rewriter, op.getLoc(), adaptor.getInput(), adaptor.getScales(),
        adaptor.getZeroPoints(), op.getScheme(), op.getPackingOrDefault(),
        op.getResult().getType());
    if (failed(result))
      return rewriter.notifyMatchFailure(op, "dynamic row length");
    rewriter.replaceOp(op, *result);
    return success();
  }
};

struct QuantizeOpLowering : OpConversionPattern<QuantizeOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(QuantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    RankedTensorType inputType = op.getInput().getType();
    int64_t rank = inputType.getRank();
    int64_t rowLength = inputType.getShape().back();
    if (ShapedType::isDynamic(rowLength))
      return rewriter.notifyMatchFailure(op, "dynamic row length");
    QuantSchemeAttr scheme = op.getScheme();
    FormatSpec format = getFormatSpec(scheme);

    CodebookTables tables{};
    if (!format.isInteger())
      tables = buildCodebookTables(b, format);

    AffineMap identity = b.getMultiDimIdentityMap(rank);
    AffineMap scaleMap = getScaleIndexingMap(scheme, rank, b.getContext());
    SmallVector<Value> inputs{adaptor.getInput(), adaptor.getScales()};
    SmallVector<AffineMap> maps{identity, scaleMap};
    if (Value zeroPoints = adaptor.getZeroPoints()) {
      inputs.push_back(zeroPoints);
      maps.push_back(scaleMap);
    }
    maps.push_back(identity);
    auto fieldsType = RankedTensorType::get(inputType.getShape(), b.getI8Type());
    Value init = tensor::EmptyOp::create(
        b, fieldsType, getDynamicSizes(b, adaptor.getInput(), rank));
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    bool hasZeroPoint = adaptor.getZeroPoints() != nullptr;
    auto fieldsOp = linalg::GenericOp::create(
        b, TypeRange{fieldsType}, inputs, ValueRange{init}, maps, iterators,
        [&](OpBuilder &nested, Location loc, ValueRange args) {
          ImplicitLocOpBuilder nb(loc, nested);
          ScalarBuilder s(nb);
          Value x = arith::DivFOp::create(nb, s.toF32(args[0]),
                                          s.toF32(args[1]));
          if (hasZeroPoint)
            x = arith::AddFOp::create(nb, x, s.toF32(args[2]));
          Value field = emitEncode(s, x, format, tables);
          linalg::YieldOp::create(
              nb, Value(arith::TruncIOp::create(nb, nb.getI8Type(), field)));
        });
    Value packed =
        packFields(b, fieldsOp.getResult(0), op.getResult().getType(), format,
                   getPackingSpec(op.getPackingOrDefault()), rowLength);
    rewriter.replaceOp(op, packed);
    return success();
  }
};

struct QuantizeDynamicOpLowering : OpConversionPattern<QuantizeDynamicOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(QuantizeDynamicOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    RankedTensorType inputType = op.getInput().getType();
    int64_t rank = inputType.getRank();
    int64_t channels = inputType.getShape().back();
    if (ShapedType::isDynamic(channels))
      return rewriter.notifyMatchFailure(op, "dynamic row length");
    QuantSchemeAttr scheme = op.getScheme();
    FloatType f32 = b.getF32Type();
    Value input = adaptor.getInput();
    if (Value channelScales = adaptor.getChannelScales())
      input = ChannelScaleOp::create(b, inputType, input, channelScales);

    // Block maxima of |x|: the input viewed as [..., blocks, group] and
    // reduced over its last axis, or over everything per tensor.
    SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, b.getLoc(), input);
    Value zero = arith::ConstantFloatOp::create(b, f32, APFloat(0.0f));
    auto absMaxBody = [&](OpBuilder &nested, Location loc, ValueRange args) {
      ImplicitLocOpBuilder nb(loc, nested);
      ScalarBuilder s(nb);
      Value magnitude = math::AbsFOp::create(nb, s.toF32(args[0]));
      linalg::YieldOp::create(
          nb, Value(arith::MaximumFOp::create(nb, magnitude, args[1])));
    };
    Value absMax;
    if (scheme.getGranularity() == Granularity::per_tensor) {
      auto scalarType = RankedTensorType::get({}, f32);
      Value init = linalg::FillOp::create(
                       b, ValueRange{zero},
                       ValueRange{tensor::EmptyOp::create(b, scalarType,
                                                          ValueRange{})})
                       .getResult(0);
      absMax = linalg::GenericOp::create(
                   b, TypeRange{scalarType}, ValueRange{input},
                   ValueRange{init},
                   {b.getMultiDimIdentityMap(rank),
                    AffineMap::get(rank, 0, {}, b.getContext())},
                   SmallVector<utils::IteratorType>(
                       rank, utils::IteratorType::reduction),
                   absMaxBody)
                   .getResult(0);
      absMax = tensor::ExpandShapeOp::create(
          b, RankedTensorType::get(SmallVector<int64_t>(rank, 1), f32), absMax,
          ArrayRef<ReassociationIndices>{});
    } else {
      int64_t group = scheme.getGranularity() == Granularity::per_group
                          ? scheme.getGroupSize()
                          : channels;
      int64_t blocks = channels / group;
      SmallVector<int64_t> viewShape(inputType.getShape());
      viewShape.back() = blocks;
      viewShape.push_back(group);
      SmallVector<OpFoldResult> viewSizes(sizes);
      viewSizes.back() = b.getIndexAttr(blocks);
      viewSizes.push_back(b.getIndexAttr(group));
      SmallVector<ReassociationIndices> reassociation;
      for (int64_t axis = 0; axis + 1 < rank; ++axis)
        reassociation.push_back({axis});
      reassociation.push_back({rank - 1, rank});
      Value view = tensor::ExpandShapeOp::create(
          b, RankedTensorType::get(viewShape, inputType.getElementType()),
          input, reassociation, viewSizes);
      SmallVector<int64_t> blockShape(inputType.getShape());
      blockShape.back() = blocks;
      auto blockType = RankedTensorType::get(blockShape, f32);
      SmallVector<Value> dynamicSizes = getDynamicSizes(b, input, rank - 1);
      Value init =
          linalg::FillOp::create(
              b, ValueRange{zero},
              ValueRange{tensor::EmptyOp::create(b, blockType, dynamicSizes)})
              .getResult(0);
      SmallVector<AffineExpr> kept;
      for (int64_t axis = 0; axis < rank; ++axis)
        kept.push_back(b.getAffineDimExpr(axis));
      SmallVector<utils::IteratorType> iterators(rank,
                                                 utils::IteratorType::parallel);
      iterators.push_back(utils::IteratorType::reduction);
      absMax = linalg::GenericOp::create(
                   b, TypeRange{blockType}, ValueRange{view}, ValueRange{init},
                   {b.getMultiDimIdentityMap(rank + 1),
                    AffineMap::get(rank + 1, 0, kept, b.getContext())},
                   iterators, absMaxBody)
                   .getResult(0);
    }

    // s = absmax / max|code|, exactly as the reference quantizer; blocks of
    // zeros get 1.
    auto scalesType = cast<RankedTensorType>(absMax.getType());
    float maxMagnitude = getFormatSpec(scheme).getMaxMagnitude();
    int64_t scalesRank = scalesType.getRank();
    Value scalesInit = tensor::EmptyOp::create(
        b, scalesType, getDynamicSizes(b, absMax, scalesRank));
    Value scales =
        linalg::GenericOp::create(
            b, TypeRange{scalesType}, ValueRange{absMax},
            ValueRange{scalesInit},
            {b.getMultiDimIdentityMap(scalesRank),
             b.getMultiDimIdentityMap(scalesRank)},
            SmallVector<utils::IteratorType>(scalesRank,
                                             utils::IteratorType::parallel),
            [&](OpBuilder &nested, Location loc, ValueRange args) {
              ImplicitLocOpBuilder nb(loc, nested);
              Value positive = arith::CmpFOp::create(
                  nb, arith::CmpFPredicate::OGT, args[0],
                  arith::ConstantFloatOp::create(nb, nb.getF32Type(),
                                                 APFloat(0.0f)));
              Value ratio = arith::DivFOp::create(
                  nb, args[0],
                  arith::ConstantFloatOp::create(nb, nb.getF32Type(),
                                                 APFloat(maxMagnitude)));
              Value one = arith::ConstantFloatOp::create(nb, nb.getF32Type(),
                                                         APFloat(1.0f));
              linalg::YieldOp::create(
                  nb, Value(arith::SelectOp::create(nb, positive, ratio, one)));
            })
            .getResult(0);

    Value packed = QuantizeOp::create(b, op.getResult().getType(), input,
                                      scales, /*zero_points=*/Value(), scheme,
                                      op.getPackingAttr());
    rewriter.replaceOp(op, {packed, scales});
    return success();
  }
};

} // namespace

Value mlir::lowbit::buildGateActivation(OpBuilder &builder, Location loc,
                                        Value x, GatedActivation activation) {
  switch (activation) {
  case GatedActivation::silu: {
    Value one = arith::ConstantOp::create(
        builder, loc, x.getType(),
        isa<VectorType>(x.getType())
            ? cast<TypedAttr>(DenseElementsAttr::get(
                  cast<ShapedType>(x.getType()), builder.getF32FloatAttr(1)))
            : cast<TypedAttr>(builder.getF32FloatAttr(1)));
    Value exp = math::ExpOp::create(builder, loc,
                                    arith::NegFOp::create(builder, loc, x));
    return arith::DivFOp::create(builder, loc, x,
                                 arith::AddFOp::create(builder, loc, one, exp));
  }
  }
  llvm_unreachable("unknown gated activation");
}

Value mlir::lowbit::buildGatedEpilogue(OpBuilder &builder, Location loc,
                                       Value product,
                                       GatedActivation activation,
                                       Type resultElement) {
  ImplicitLocOpBuilder b(loc, builder);
  auto type = cast<RankedTensorType>(product.getType());
  int64_t features = type.getDimSize(1) / 2;
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, product);
  SmallVector<OpFoldResult> pairShape{sizes[0], b.getIndexAttr(features),
                                      b.getIndexAttr(2)};
  Value pairs = tensor::ExpandShapeOp::create(
      b,
      RankedTensorType::get({type.getDimSize(0), features, 2},
                            type.getElementType()),
      product, ArrayRef<ReassociationIndices>{{0}, {1, 2}}, pairShape);
  SmallVector<Value> dynamicRows;
  if (type.isDynamicDim(0))
    dynamicRows.push_back(tensor::DimOp::create(b, product, 0));
  auto outType =
      RankedTensorType::get({type.getDimSize(0), features}, resultElement);
  Value init = tensor::EmptyOp::create(b, outType, dynamicRows);
  MLIRContext *context = b.getContext();
  AffineExpr m = getAffineDimExpr(0, context), n = getAffineDimExpr(1, context);
  auto half = [&](int64_t which) {
    return AffineMap::get(2, 0, {m, n, getAffineConstantExpr(which, context)},
                          context);
  };
  return linalg::GenericOp::create(
             b, TypeRange{outType}, ValueRange{pairs, pairs}, ValueRange{init},
             {half(0), half(1), b.getMultiDimIdentityMap(2)},
             {utils::IteratorType::parallel, utils::IteratorType::parallel},
             [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
               ImplicitLocOpBuilder nb(nestedLoc, nested);
               ScalarBuilder s(nb);
               Value gate =
                   buildGateActivation(nb, nestedLoc, args[0], activation);
               Value value = arith::MulFOp::create(nb, gate, args[1]);
               linalg::YieldOp::create(nb, s.fromF32(value, resultElement));
             })
      .getResult(0);
}

namespace {

struct LinearOpLowering : OpConversionPattern<LinearOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(LinearOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    int64_t outFeatures = op.getOutFeatures(), inFeatures = op.getInFeatures();
    if (ShapedType::isDynamic(inFeatures) || ShapedType::isDynamic(outFeatures))
      return rewriter.notifyMatchFailure(op, "dynamic weight shape");
    Type f32 = b.getF32Type();
    FailureOr<Value> weight = buildReferenceDequantize(
        b, b.getLoc(), adaptor.getWeight(), adaptor.getScales(),
        adaptor.getZeroPoints(), op.getScheme(), op.getPackingOrDefault(),
        RankedTensorType::get({outFeatures, inFeatures}, f32));
    if (failed(weight))
      return failure();

    // View the input as a matrix [M, K].
    Value input = adaptor.getInput();
    RankedTensorType inputType = op.getInput().getType();
    int64_t rank = inputType.getRank();
    SmallVector<OpFoldResult> leadSizes =
        tensor::getMixedSizes(b, b.getLoc(), input);
    leadSizes.pop_back();
    auto asMatrix = [&](Value tensor) -> Value {
      auto type = cast<RankedTensorType>(tensor.getType());
      if (rank == 1)
        return tensor::ExpandShapeOp::create(
            b,
            RankedTensorType::get({1, type.getDimSize(0)},
                                  type.getElementType()),
            tensor, ArrayRef<ReassociationIndices>{{0, 1}});
      if (rank == 2)
        return tensor;
      ReassociationIndices rows;
      for (int64_t axis = 0; axis + 1 < rank; ++axis)
        rows.push_back(axis);
      return tensor::CollapseShapeOp::create(
          b, tensor, ArrayRef<ReassociationIndices>{rows, {rank - 1}});
    };
    Value matrix = asMatrix(input);
    auto matrixType = cast<RankedTensorType>(matrix.getType());
    auto accType =
        RankedTensorType::get({matrixType.getDimSize(0), outFeatures}, f32);
    SmallVector<Value> dynamicRows;
    if (accType.isDynamicDim(0))
      dynamicRows.push_back(tensor::DimOp::create(b, matrix, 0));
    Value zero = arith::ConstantFloatOp::create(b, b.getF32Type(), APFloat(0.0f));
    Value acc = linalg::FillOp::create(
                    b, ValueRange{zero},
                    ValueRange{tensor::EmptyOp::create(b, accType, dynamicRows)})
                    .getResult(0);

    MLIRContext *context = b.getContext();
    Value product = linalg::MatmulTransposeBOp::create(
                        b, b.getLoc(), TypeRange{accType},
                        ValueRange{matrix, *weight}, ValueRange{acc})
                        .getResult(0);
    // The low-rank branch accumulates onto the product.
    if (Value lowrank = adaptor.getLowrankInput()) {
      Value up = adaptor.getLowrankUp();
      auto upType = cast<RankedTensorType>(up.getType());
      if (!upType.getElementType().isF32())
        up = arith::ExtFOp::create(
            b, RankedTensorType::get(upType.getShape(), f32), up);
      Value branch = asMatrix(lowrank);
      auto branchType = cast<RankedTensorType>(branch.getType());
      if (!branchType.getElementType().isF32())
        branch = arith::ExtFOp::create(
            b, RankedTensorType::get(branchType.getShape(), f32), branch);
      product = linalg::MatmulTransposeBOp::create(
                    b, b.getLoc(), TypeRange{accType}, ValueRange{branch, up},
                    ValueRange{product})
                    .getResult(0);
    }

    // Bias and the conversion to the result's element type in one pass
    // (a gated layer converts after its gate).
    Type resultElement = op.getResult().getType().getElementType();
    std::optional<GatedActivation> gated = op.getGated();
    Type biasedElement = gated ? f32 : resultElement;
    auto outType = RankedTensorType::get(accType.getShape(), biasedElement);
    SmallVector<Value> epilogueInputs{product};
    SmallVector<AffineMap> epilogueMaps{b.getMultiDimIdentityMap(2)};
    if (Value bias = adaptor.getBias()) {
      epilogueInputs.push_back(bias);
      epilogueMaps.push_back(AffineMap::get(2, 0, {getAffineDimExpr(1, context)},
                                            context));
    }
    epilogueMaps.push_back(b.getMultiDimIdentityMap(2));
    Value out = product;
    if (adaptor.getBias() || !biasedElement.isF32()) {
      Value init = tensor::EmptyOp::create(b, outType, dynamicRows);
      out = linalg::GenericOp::create(
                b, TypeRange{outType}, epilogueInputs, ValueRange{init},
                epilogueMaps,
                {utils::IteratorType::parallel, utils::IteratorType::parallel},
                [&](OpBuilder &nested, Location loc, ValueRange args) {
                  ImplicitLocOpBuilder nb(loc, nested);
                  ScalarBuilder s(nb);
                  Value value = args[0];
                  if (args.size() == 3)
                    value = arith::AddFOp::create(nb, value, s.toF32(args[1]));
                  linalg::YieldOp::create(nb, s.fromF32(value, biasedElement));
                })
                .getResult(0);
    }
    if (gated)
      out = buildGatedEpilogue(b, b.getLoc(), out, *gated, resultElement);

    // Back to the input's leading shape.
    if (rank == 1) {
      out = tensor::CollapseShapeOp::create(
          b, out, ArrayRef<ReassociationIndices>{{0, 1}});
    } else if (rank > 2) {
      ReassociationIndices rows;
      for (int64_t axis = 0; axis + 1 < rank; ++axis)
        rows.push_back(axis);
      SmallVector<OpFoldResult> outShape = leadSizes;
      outShape.push_back(b.getIndexAttr(op.getResultFeatures()));
      out = tensor::ExpandShapeOp::create(
          b, op.getResult().getType(), out,
          ArrayRef<ReassociationIndices>{rows, {rank - 1}}, outShape);
    }
    rewriter.replaceOp(op, out);
    return success();
  }
};

struct ChannelScaleOpLowering : OpConversionPattern<ChannelScaleOp> {
  using OpConversionPattern::OpConversionPattern;

  LogicalResult
  matchAndRewrite(ChannelScaleOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    ImplicitLocOpBuilder b(op.getLoc(), rewriter);
    RankedTensorType type = op.getInput().getType();
    int64_t rank = type.getRank();
    AffineMap channelMap = AffineMap::get(
        rank, 0, {getAffineDimExpr(rank - 1, b.getContext())}, b.getContext());
    Value init = tensor::EmptyOp::create(
        b, type, getDynamicSizes(b, adaptor.getInput(), rank));
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    auto generic = linalg::GenericOp::create(
        b, TypeRange{type}, ValueRange{adaptor.getInput(), adaptor.getScales()},
        ValueRange{init},
        {b.getMultiDimIdentityMap(rank), channelMap,
         b.getMultiDimIdentityMap(rank)},
        iterators, [&](OpBuilder &nested, Location loc, ValueRange args) {
          ImplicitLocOpBuilder nb(loc, nested);
          ScalarBuilder s(nb);
          Value product = arith::MulFOp::create(nb, s.toF32(args[0]),
                                                s.toF32(args[1]));
          linalg::YieldOp::create(nb,
                                  s.fromF32(product, type.getElementType()));
        });
    rewriter.replaceOp(op, generic.getResult(0));
    return success();
  }
};

} // namespace

void mlir::lowbit::populateLowBitToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<QuantizeOpLowering, QuantizeDynamicOpLowering,
               DequantizeOpLowering, LinearOpLowering, ChannelScaleOpLowering>(
      patterns.getContext());
}

//===----------------------------------------------------------------------===//
// Observers
//===----------------------------------------------------------------------===//

/// Declares the runtime entry point observers call:
///   func.func private @lowbit_observe(i64, i64, memref<*xf32>)
static func::FuncOp getOrDeclareObserveFunction(ModuleOp module) {
  if (auto existing = module.lookupSymbol<func::FuncOp>(kObserveFunctionName))
    return existing;
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  MLIRContext *context = module.getContext();
  auto type = b.getFunctionType(
      {b.getI64Type(), b.getI64Type(),
       UnrankedMemRefType::get(b.getF32Type(), /*memorySpace=*/0)},
      {});
  auto function = func::FuncOp::create(b, module.getLoc(),
                                       kObserveFunctionName, type);
  function.setPrivate();
  function->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                    UnitAttr::get(context));
  return function;
}

/// Replaces each observer with a call that hands the runtime a read-only view
/// of its input, and records the keys, indexed by id, on the module.
static void lowerObservers(ModuleOp module) {
  SmallVector<ObserveOp> observers;
  module.walk([&](ObserveOp op) { observers.push_back(op); });
  if (observers.empty())
    return;
  func::FuncOp callee = getOrDeclareObserveFunction(module);
  SmallVector<Attribute> keys;
  if (auto existing = module->getAttrOfType<ArrayAttr>(kObserverKeysAttrName))
    keys.assign(existing.begin(), existing.end());
  llvm::StringMap<int64_t> ids;
  for (auto [id, key] : llvm::enumerate(keys))
    ids[cast<StringAttr>(key).getValue()] = id;

  for (ObserveOp op : observers) {
    ImplicitLocOpBuilder b(op.getLoc(), op);
    auto [it, inserted] = ids.try_emplace(op.getKey(), keys.size());
    if (inserted)
      keys.push_back(op.getKeyAttr());
    Value input = op.getInput();
    RankedTensorType type = op.getInput().getType();
    int64_t rank = type.getRank();
    if (!type.getElementType().isF32()) {
      auto f32Type = RankedTensorType::get(type.getShape(), b.getF32Type());
      Value init =
          tensor::EmptyOp::create(b, f32Type, getDynamicSizes(b, input, rank));
      input = linalg::GenericOp::create(
                  b, TypeRange{f32Type}, ValueRange{input}, ValueRange{init},
                  {b.getMultiDimIdentityMap(rank),
                   b.getMultiDimIdentityMap(rank)},
                  SmallVector<utils::IteratorType>(
                      rank, utils::IteratorType::parallel),
                  [&](OpBuilder &nested, Location loc, ValueRange args) {
                    Value wide = arith::ExtFOp::create(
                        nested, loc, nested.getF32Type(), args[0]);
                    linalg::YieldOp::create(nested, loc, wide);
                  })
                  .getResult(0);
    }
    // A fully dynamic layout accepts whatever buffer bufferization picks.
    SmallVector<int64_t> dynamicStrides(rank, ShapedType::kDynamic);
    auto layout = StridedLayoutAttr::get(b.getContext(), ShapedType::kDynamic,
                                         dynamicStrides);
    auto memrefType =
        MemRefType::get(type.getShape(), b.getF32Type(), layout);
    Value buffer = bufferization::ToBufferOp::create(b, memrefType, input,
                                                     b.getUnitAttr());
    Value unranked = memref::CastOp::create(
        b, UnrankedMemRefType::get(b.getF32Type(), 0), buffer);
    Value id = arith::ConstantIntOp::create(b, it->second, 64);
    Value stats =
        arith::ConstantIntOp::create(b, static_cast<int64_t>(op.getStats()), 64);
    func::CallOp::create(b, callee, ValueRange{id, stats, unranked});
    op.erase();
  }
  module->setAttr(kObserverKeysAttrName,
                  ArrayAttr::get(module.getContext(), keys));
}

//===----------------------------------------------------------------------===//
// Passes
//===----------------------------------------------------------------------===//

namespace {

struct ConvertLowBitToLinalgPass
    : lowbit::impl::ConvertLowBitToLinalgPassBase<ConvertLowBitToLinalgPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    // The reference lowering addresses codes with static row lengths; say so
    // at the op rather than failing to legalize it.
    WalkResult walk = module.walk([](Operation *op) {
      RankedTensorType logical;
      if (auto quantize = dyn_cast<QuantizeOp>(op))
        logical = quantize.getInput().getType();
      else if (auto dequantize = dyn_cast<DequantizeOp>(op))
        logical = dequantize.getResult().getType();
      else if (auto linear = dyn_cast<LinearOp>(op))
        logical = linear.getInput().getType();
      if (logical && logical.isDynamicDim(logical.getRank() - 1)) {
        op->emitOpError("needs a static row length (last axis) to be lowered");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    lowerObservers(module);

    ConversionTarget target(getContext());
    target.addIllegalDialect<LowBitDialect>();
    // The vector kernels' table lookups are lowered later, on vectors.
    target.addLegalOp<LookupOp, DotBytesOp>();
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, tensor::TensorDialect>();
    RewritePatternSet patterns(&getContext());
    populateLowBitToLinalgPatterns(patterns);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};

struct LowBitExportCInterfacePass
    : lowbit::impl::LowBitExportCInterfacePassBase<LowBitExportCInterfacePass> {
  void runOnOperation() override {
    StringRef name = LLVM::LLVMDialect::getEmitCWrapperAttrName();
    for (auto function : getOperation().getOps<func::FuncOp>()) {
      if (!function.isPublic() || function.isExternal())
        continue;
      function->setAttr(name, UnitAttr::get(&getContext()));
      if (!function->hasAttr(kTensorSignatureAttrName))
        function->setAttr(kTensorSignatureAttrName,
                          TypeAttr::get(function.getFunctionType()));
    }
  }
};

} // namespace
