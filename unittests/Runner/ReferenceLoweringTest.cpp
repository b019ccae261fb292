//===- ReferenceLoweringTest.cpp - Lowered IR agrees with the C++ spec ----===//
//
// JIT-compiles lowbit.quantize, lowbit.quantize_dynamic and
// lowbit.dequantize through the reference lowering for every format, packing
// and granularity, and checks the results bit for bit against the C++
// definitions in QuantMath. The IR lowering and the compile-time quantizers
// therefore cannot drift apart.
//
//===----------------------------------------------------------------------===//

#include "lowbit/InitAll.h"
#include "lowbit/Runner/JitModule.h"
#include "lowbit/Support/QuantMath.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "llvm/Support/FormatVariadic.h"

#include "gtest/gtest.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::lowbit;

namespace {

struct LoweringCase {
  const char *format;  ///< As written in the scheme: i4, ui3, nf4, ...
  FormatSpec spec;
  const char *granularity; ///< per_group<32>, per_channel, ...
  Granularity granularityKind;
  int64_t groupSize;
  bool symmetric;
  const char *scaleType;
  ScaleFormat scaleFormat;
  const char *packing; ///< Empty for the default (sequential).
  PackingSpec packingSpec;
  std::vector<int64_t> shape;
};

std::string printCase(const LoweringCase &c) {
  return llvm::formatv("{0} {1} {2} {3} {4}", c.format, c.granularity,
                       c.symmetric ? "symmetric" : "zero_point", c.scaleType,
                       c.packing)
      .str();
}

/// How gtest shows a case in failure messages.
void PrintTo(const LoweringCase &c, std::ostream *os) { *os << printCase(c); }

DType scaleDType(ScaleFormat format) {
  switch (format) {
  case ScaleFormat::f32:
    return DType::f32;
  case ScaleFormat::f16:
    return DType::f16;
  case ScaleFormat::bf16:
    return DType::bf16;
  case ScaleFormat::e8m0:
    return DType::e8m0;
  }
  return DType::f32;
}

std::string tensorType(llvm::ArrayRef<int64_t> shape, llvm::StringRef element) {
  std::string text = "tensor<";
  for (int64_t extent : shape)
    text += std::to_string(extent) + "x";
  return text + element.str() + ">";
}

class ReferenceLoweringTest : public ::testing::TestWithParam<LoweringCase> {
protected:
  ReferenceLoweringTest() {
    DialectRegistry registry;
    registerLowBitDialects(registry);
    context = std::make_unique<MLIRContext>(registry);
    context->loadAllAvailableDialects();
  }
  std::unique_ptr<MLIRContext> context;
};

/// Stores `values` (f32) in a host tensor of the scale storage type.
HostTensor makeScaleTensor(ScaleFormat format, llvm::ArrayRef<int64_t> shape,
                           const std::vector<float> &values) {
  HostTensor tensor(scaleDType(format), shape);
  for (size_t i = 0; i < values.size(); ++i) {
    switch (format) {
    case ScaleFormat::f32:
      tensor.getDataAs<float>()[i] = values[i];
      break;
    case ScaleFormat::f16:
      tensor.getDataAs<uint16_t>()[i] = floatToHalf(values[i]);
      break;
    case ScaleFormat::bf16:
      tensor.getDataAs<uint16_t>()[i] = floatToBFloat16(values[i]);
      break;
    case ScaleFormat::e8m0:
      tensor.getData()[i] = floatToE8M0(values[i]);
      break;
    }
  }
  return tensor;
}

TEST_P(ReferenceLoweringTest, MatchesQuantMath) {
  const LoweringCase &c = GetParam();
  QuantScheme scheme;
  scheme.format = c.spec;
  scheme.granularity = c.granularityKind;
  scheme.groupSize = c.groupSize;
  scheme.symmetric = c.symmetric;
  scheme.scale = c.scaleFormat;
  llvm::SmallVector<int64_t> scaleShape;
  ASSERT_EQ(computeScaleShape(scheme, c.shape, scaleShape), "");
  llvm::SmallVector<int64_t> packedShape(c.shape.begin(), c.shape.end());
  packedShape.back() =
      getPackedRowBytes(c.packingSpec, c.spec.bits, c.shape.back());

  std::string schemeText =
      llvm::formatv("scheme<{0}, {1}{2}{3}>", c.format, c.granularity,
                    c.symmetric ? "" : ", zero_point",
                    llvm::StringRef(c.scaleType) == "f32"
                        ? std::string()
                        : std::string(", scale = ") + c.scaleType)
          .str();
  std::string packingText =
      std::string(c.packing).empty() ? "" : std::string(" ") + c.packing;
  std::string data = tensorType(c.shape, "f32");
  std::string packed = tensorType(packedShape, "i8");
  std::string scales = tensorType(scaleShape, c.scaleType);
  std::string zeros = tensorType(scaleShape, "f32");
  std::string zeroArg = c.symmetric ? "" : ", %z: " + zeros;
  std::string zeroUse = c.symmetric ? "" : " zero_points(%z)";
  std::string zeroType = c.symmetric ? "" : ", " + zeros;
  std::string source = llvm::formatv(R"mlir(
func.func @dequantize(%q: {0}, %s: {1}{2}) -> {3} {
  %w = lowbit.dequantize %q scales(%s){4} {5}{6} : ({0}, {1}{7}) -> {3}
  return %w : {3}
}
func.func @quantize(%x: {3}, %s: {1}{2}) -> {0} {
  %q = lowbit.quantize %x scales(%s){4} {5}{6} : ({3}, {1}{7}) -> {0}
  return %q : {0}
}
)mlir",
                                     packed, scales, zeroArg, data, zeroUse,
                                     schemeText, packingText, zeroType)
                           .str();
  OwningOpRef<ModuleOp> module =
      parseSourceString<ModuleOp>(source, context.get());
  ASSERT_TRUE(module) << source;
  auto jit = JitModule::create(*module);
  ASSERT_TRUE(bool(jit)) << llvm::toString(jit.takeError());

  // Realistic scales and zero points from the reference quantizer.
  int64_t numElements = 1;
  for (int64_t extent : c.shape)
    numElements *= extent;
  HostTensor input(DType::f32, c.shape);
  input.fillRandom(17);
  std::vector<float> values(input.getDataAs<float>(),
                            input.getDataAs<float>() + numElements);
  QuantizedTensor reference =
      quantizeReference(scheme, c.packingSpec, c.shape, values);
  HostTensor scaleTensor =
      makeScaleTensor(c.scaleFormat, scaleShape, reference.scales);
  llvm::SmallVector<HostTensor> extra;
  HostTensor zeroTensor(DType::f32, scaleShape);
  if (!c.symmetric)
    std::memcpy(zeroTensor.getData(), reference.zeroPoints.data(),
                reference.zeroPoints.size() * sizeof(float));

  // Quantize: the packed bytes must be identical.
  {
    llvm::SmallVector<HostTensor> args;
    args.push_back(std::move(input));
    args.push_back(makeScaleTensor(c.scaleFormat, scaleShape, reference.scales));
    if (!c.symmetric) {
      HostTensor z(DType::f32, scaleShape);
      std::memcpy(z.getData(), zeroTensor.getData(), zeroTensor.getSizeInBytes());
      args.push_back(std::move(z));
    }
    auto outputs = (*jit)->invoke("quantize", args);
    ASSERT_TRUE(bool(outputs)) << llvm::toString(outputs.takeError());
    const HostTensor &out = (*outputs)[0];
    ASSERT_EQ(out.getSizeInBytes(), reference.packed.size());
    for (size_t i = 0; i < reference.packed.size(); ++i)
      ASSERT_EQ(out.getData()[i], reference.packed[i])
          << printCase(c) << ": byte " << i;
  }

  // Dynamic quantization computes the reference scales itself: symmetric
  // schemes with f32 scales, every format but ternary.
  if (c.symmetric && c.scaleFormat == ScaleFormat::f32 &&
      c.spec.format != ElementFormat::ternary &&
      c.granularityKind != Granularity::per_ic_group) {
    std::string dynamicSource =
        llvm::formatv(R"mlir(
func.func @quantize_dynamic(%x: {0}) -> ({1}, {2}) {
  %q, %s = lowbit.quantize_dynamic %x {3}{4} : {0} -> ({1}, {2})
  return %q, %s : {1}, {2}
}
)mlir",
                      data, packed, scales, schemeText, packingText)
            .str();
    OwningOpRef<ModuleOp> dynamicModule =
        parseSourceString<ModuleOp>(dynamicSource, context.get());
    ASSERT_TRUE(dynamicModule) << dynamicSource;
    auto dynamicJit = JitModule::create(*dynamicModule);
    ASSERT_TRUE(bool(dynamicJit)) << llvm::toString(dynamicJit.takeError());
    HostTensor x(DType::f32, c.shape);
    std::memcpy(x.getData(), values.data(), values.size() * sizeof(float));
    llvm::SmallVector<HostTensor> args;
    args.push_back(std::move(x));
    auto outputs = (*dynamicJit)->invoke("quantize_dynamic", args);
    ASSERT_TRUE(bool(outputs)) << llvm::toString(outputs.takeError());
    const HostTensor &codes = (*outputs)[0];
    ASSERT_EQ(codes.getSizeInBytes(), reference.packed.size());
    for (size_t i = 0; i < reference.packed.size(); ++i)
      ASSERT_EQ(codes.getData()[i], reference.packed[i])
          << printCase(c) << ": dynamic byte " << i;
    const float *got = (*outputs)[1].getDataAs<float>();
    for (size_t i = 0; i < reference.scales.size(); ++i)
      ASSERT_EQ(got[i], reference.scales[i])
          << printCase(c) << ": dynamic scale " << i;
  }

  // Dequantize arbitrary bytes, invalid codes included.
  {
    HostTensor bytes(DType::i8, packedShape);
    bytes.fillRandom(23);
    QuantizedTensor arbitrary;
    arbitrary.packed.assign(bytes.getData(),
                            bytes.getData() + bytes.getSizeInBytes());
    arbitrary.scales = reference.scales;
    arbitrary.zeroPoints = reference.zeroPoints;
    std::vector<float> expected =
        dequantizeReference(scheme, c.packingSpec, c.shape, arbitrary);
    llvm::SmallVector<HostTensor> args;
    args.push_back(std::move(bytes));
    args.push_back(std::move(scaleTensor));
    if (!c.symmetric)
      args.push_back(std::move(zeroTensor));
    auto outputs = (*jit)->invoke("dequantize", args);
    ASSERT_TRUE(bool(outputs)) << llvm::toString(outputs.takeError());
    const float *got = (*outputs)[0].getDataAs<float>();
    for (int64_t i = 0; i < numElements; ++i) {
      if (std::isnan(expected[i])) {
        ASSERT_TRUE(std::isnan(got[i])) << printCase(c) << ": element " << i;
        continue;
      }
      ASSERT_EQ(got[i], expected[i]) << printCase(c) << ": element " << i;
    }
  }
}

const PackingSpec kSequential{PackOrder::sequential, 0};

INSTANTIATE_TEST_SUITE_P(
    Formats, ReferenceLoweringTest,
    ::testing::Values(
        LoweringCase{"i4", {ElementFormat::sint, 4}, "per_group<32>",
                     Granularity::per_group, 32, true, "f32", ScaleFormat::f32,
                     "", kSequential, {8, 64}},
        LoweringCase{"i4", {ElementFormat::sint, 4}, "per_group<32>",
                     Granularity::per_group, 32, true, "f16", ScaleFormat::f16,
                     "packing<interleaved, block = 32>",
                     {PackOrder::interleaved, 32}, {8, 64}},
        LoweringCase{"ui4", {ElementFormat::uint, 4}, "per_group<32>",
                     Granularity::per_group, 32, false, "f16", ScaleFormat::f16,
                     "packing<interleaved, block = 32>",
                     {PackOrder::interleaved, 32}, {8, 64}},
        LoweringCase{"i3", {ElementFormat::sint, 3}, "per_channel",
                     Granularity::per_channel, 0, true, "f32", ScaleFormat::f32,
                     "", kSequential, {8, 40}},
        LoweringCase{"ui3", {ElementFormat::uint, 3}, "per_group<16>",
                     Granularity::per_group, 16, false, "bf16",
                     ScaleFormat::bf16, "", kSequential, {4, 48}},
        LoweringCase{"i2", {ElementFormat::sint, 2}, "per_tensor",
                     Granularity::per_tensor, 0, true, "f32", ScaleFormat::f32,
                     "packing<interleaved, block = 16>",
                     {PackOrder::interleaved, 16}, {4, 64}},
        LoweringCase{"i5", {ElementFormat::sint, 5}, "per_channel",
                     Granularity::per_channel, 0, true, "f32", ScaleFormat::f32,
                     "", kSequential, {4, 24}},
        LoweringCase{"ui6", {ElementFormat::uint, 6}, "per_channel",
                     Granularity::per_channel, 0, false, "f32",
                     ScaleFormat::f32, "", kSequential, {4, 20}},
        LoweringCase{"i7", {ElementFormat::sint, 7}, "per_group<8>",
                     Granularity::per_group, 8, true, "f32", ScaleFormat::f32,
                     "", kSequential, {2, 3, 16}},
        LoweringCase{"i8", {ElementFormat::sint, 8}, "per_channel",
                     Granularity::per_channel, 0, true, "f32", ScaleFormat::f32,
                     "", kSequential, {8, 32}},
        LoweringCase{"ui8", {ElementFormat::uint, 8}, "per_tensor",
                     Granularity::per_tensor, 0, false, "f32",
                     ScaleFormat::f32, "", kSequential, {8, 32}},
        LoweringCase{"i4", {ElementFormat::sint, 4}, "per_ic_group<4>",
                     Granularity::per_ic_group, 4, true, "f32",
                     ScaleFormat::f32, "", kSequential, {8, 32}},
        LoweringCase{"f8E4M3FN", {ElementFormat::f8E4M3FN, 8}, "per_tensor",
                     Granularity::per_tensor, 0, true, "f32", ScaleFormat::f32,
                     "", kSequential, {8, 32}},
        LoweringCase{"f8E5M2", {ElementFormat::f8E5M2, 8}, "per_channel",
                     Granularity::per_channel, 0, true, "f32", ScaleFormat::f32,
                     "", kSequential, {8, 32}},
        LoweringCase{"f4E2M1FN", {ElementFormat::f4E2M1FN, 4}, "per_group<32>",
                     Granularity::per_group, 32, true, "f8E8M0FNU",
                     ScaleFormat::e8m0, "", kSequential, {4, 64}},
        LoweringCase{"nf4", {ElementFormat::nf4, 4}, "per_group<16>",
                     Granularity::per_group, 16, true, "f16", ScaleFormat::f16,
                     "packing<interleaved, block = 16>",
                     {PackOrder::interleaved, 16}, {4, 64}},
        LoweringCase{"ternary", {ElementFormat::ternary, 2}, "per_channel",
                     Granularity::per_channel, 0, true, "f32", ScaleFormat::f32,
                     "", kSequential, {4, 30}},
        LoweringCase{"ternary", {ElementFormat::ternary, 2}, "per_channel",
                     Granularity::per_channel, 0, true, "f32", ScaleFormat::f32,
                     "packing<base3>", {PackOrder::base3, 0}, {4, 33}}));

} // namespace
