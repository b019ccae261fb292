//===- LowBitAttrs.cpp - lowbit attributes --------------------------------===//

#include "lowbit/Dialect/LowBit/IR/LowBitAttrs.h"
#include "lowbit/Dialect/LowBit/IR/LowBitDialect.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectImplementation.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::lowbit;

#define GET_ATTRDEF_CLASSES
#include "lowbit/Dialect/LowBit/IR/LowBitAttrs.cpp.inc"

void LowBitDialect::registerAttributes() {
  addAttributes<
#define GET_ATTRDEF_LIST
#include "lowbit/Dialect/LowBit/IR/LowBitAttrs.cpp.inc"
      >();
}

//===----------------------------------------------------------------------===//
// Conversions to the numerics library
//===----------------------------------------------------------------------===//

std::optional<ScaleFormat> mlir::lowbit::getScaleFormat(Type type) {
  if (type.isF32())
    return ScaleFormat::f32;
  if (type.isF16())
    return ScaleFormat::f16;
  if (type.isBF16())
    return ScaleFormat::bf16;
  if (isa<Float8E8M0FNUType>(type))
    return ScaleFormat::e8m0;
  return std::nullopt;
}

FormatSpec mlir::lowbit::getFormatSpec(QuantSchemeAttr scheme) {
  return FormatSpec{scheme.getFormat(), scheme.getBits()};
}

QuantScheme mlir::lowbit::getQuantScheme(QuantSchemeAttr scheme) {
  QuantScheme result;
  result.format = getFormatSpec(scheme);
  result.granularity = scheme.getGranularity();
  result.groupSize = scheme.getGroupSize();
  result.symmetric = scheme.getSymmetric();
  result.scale = getScaleFormat(scheme.getScaleType()).value_or(ScaleFormat::f32);
  return result;
}

PackingSpec mlir::lowbit::getPackingSpec(PackingAttr packing) {
  return PackingSpec{packing.getOrder(), packing.getBlock()};
}

//===----------------------------------------------------------------------===//
// QuantSchemeAttr
//===----------------------------------------------------------------------===//

int64_t QuantSchemeAttr::getMinCode() const {
  return getFormatSpec(*this).getMinCode();
}

int64_t QuantSchemeAttr::getMaxCode() const {
  return getFormatSpec(*this).getMaxCode();
}

bool QuantSchemeAttr::isIntegerFormat() const {
  return getFormatSpec(*this).isInteger();
}

FailureOr<SmallVector<int64_t>> QuantSchemeAttr::getScaleShape(
    ArrayRef<int64_t> shape,
    function_ref<InFlightDiagnostic()> emitError) const {
  SmallVector<int64_t> scaleShape;
  std::string problem =
      computeScaleShape(getQuantScheme(*this), shape, scaleShape);
  if (!problem.empty())
    return emitError() << problem;
  return scaleShape;
}

LogicalResult
QuantSchemeAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                        ElementFormat format, unsigned bits,
                        Granularity granularity, int64_t groupSize,
                        bool symmetric, Type scaleType) {
  if (!isSupportedBitWidth(format, bits)) {
    InFlightDiagnostic diag = emitError()
                              << "bit width " << bits << " is not supported by "
                              << stringifyElementFormat(format);
    if (getNaturalBitWidth(format) == 0)
      diag << " (integer formats take 2 to 8 bits)";
    else
      diag << " (it is always " << getNaturalBitWidth(format) << " bits)";
    return diag;
  }
  bool grouped = granularity == Granularity::per_group ||
                 granularity == Granularity::per_ic_group;
  if (grouped && groupSize <= 0)
    return emitError() << "group size must be positive, got " << groupSize;
  if (!grouped && groupSize != 0)
    return emitError() << stringifyGranularity(granularity)
                       << " takes no group size, got " << groupSize;
  if (!symmetric && getNaturalBitWidth(format) != 0)
    return emitError() << "a zero point needs an integer format, not "
                       << stringifyElementFormat(format);
  if (!scaleType || !getScaleFormat(scaleType))
    return emitError() << "scale type must be f32, f16, bf16 or f8E8M0FNU, got "
                       << scaleType;
  return success();
}

/// Parses the element format: an integer type, a builtin small float type,
/// or one of the keywords `nf4` and `ternary`.
static ParseResult parseElementFormat(AsmParser &parser, ElementFormat &format,
                                      unsigned &bits) {
  if (succeeded(parser.parseOptionalKeyword("nf4"))) {
    format = ElementFormat::nf4;
    bits = 4;
    return success();
  }
  if (succeeded(parser.parseOptionalKeyword("ternary"))) {
    format = ElementFormat::ternary;
    bits = 2;
    return success();
  }
  SMLoc loc = parser.getCurrentLocation();
  Type type;
  if (parser.parseType(type))
    return failure();
  if (auto intType = dyn_cast<IntegerType>(type)) {
    format = intType.isUnsigned() ? ElementFormat::uint : ElementFormat::sint;
    bits = intType.getWidth();
    return success();
  }
  if (isa<Float8E4M3FNType>(type)) {
    format = ElementFormat::f8E4M3FN;
  } else if (isa<Float8E5M2Type>(type)) {
    format = ElementFormat::f8E5M2;
  } else if (isa<Float4E2M1FNType>(type)) {
    format = ElementFormat::f4E2M1FN;
  } else {
    return parser.emitError(loc)
           << "expected an element format (an integer type, f8E4M3FN, "
              "f8E5M2, f4E2M1FN, nf4 or ternary), got "
           << type;
  }
  bits = getNaturalBitWidth(format);
  return success();
}

static void printElementFormat(AsmPrinter &printer, ElementFormat format,
                               unsigned bits) {
  switch (format) {
  case ElementFormat::sint:
    printer << "i" << bits;
    return;
  case ElementFormat::uint:
    printer << "ui" << bits;
    return;
  default:
    printer << stringifyElementFormat(format);
  }
}

Attribute QuantSchemeAttr::parse(AsmParser &parser, Type) {
  SMLoc loc = parser.getCurrentLocation();
  ElementFormat format;
  unsigned bits;
  std::string granularityName;
  if (parser.parseLess() || parseElementFormat(parser, format, bits) ||
      parser.parseComma() || parser.parseKeywordOrString(&granularityName))
    return {};
  std::optional<Granularity> granularity =
      symbolizeGranularity(granularityName);
  if (!granularity) {
    parser.emitError(loc, "expected a granularity (per_tensor, per_channel, "
                          "per_group<G> or per_ic_group<G>), got '")
        << granularityName << "'";
    return {};
  }
  int64_t groupSize = 0;
  if (*granularity == Granularity::per_group ||
      *granularity == Granularity::per_ic_group) {
    if (parser.parseLess() || parser.parseInteger(groupSize) ||
        parser.parseGreater())
      return {};
  }
  bool symmetric = true;
  Type scaleType = Float32Type::get(parser.getContext());
  while (succeeded(parser.parseOptionalComma())) {
    if (succeeded(parser.parseOptionalKeyword("zero_point"))) {
      symmetric = false;
      continue;
    }
    if (parser.parseKeyword("scale", "or 'zero_point'") || parser.parseEqual() ||
        parser.parseType(scaleType))
      return {};
  }
  if (parser.parseGreater())
    return {};
  return parser.getChecked<QuantSchemeAttr>(loc, parser.getContext(), format,
                                            bits, *granularity, groupSize,
                                            symmetric, scaleType);
}

void QuantSchemeAttr::print(AsmPrinter &printer) const {
  printer << "<";
  printElementFormat(printer, getFormat(), getBits());
  printer << ", " << stringifyGranularity(getGranularity());
  if (getGroupSize() != 0)
    printer << "<" << getGroupSize() << ">";
  if (!getSymmetric())
    printer << ", zero_point";
  if (!getScaleType().isF32())
    printer << ", scale = " << getScaleType();
  printer << ">";
}

//===----------------------------------------------------------------------===//
// PackingAttr
//===----------------------------------------------------------------------===//

PackingAttr PackingAttr::getDefault(MLIRContext *context) {
  return PackingAttr::get(context, PackOrder::sequential, 0);
}

LogicalResult PackingAttr::verify(function_ref<InFlightDiagnostic()> emitError,
                                  PackOrder order, int64_t block) {
  if (order == PackOrder::interleaved && block <= 0)
    return emitError() << "interleaved packing needs a positive block size";
  if (order != PackOrder::interleaved && block != 0)
    return emitError() << stringifyPackOrder(order)
                       << " packing takes no block size";
  return success();
}
