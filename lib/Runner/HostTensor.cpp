//===- HostTensor.cpp - Dense tensors in host memory ----------------------===//

#include "lowbit/Runner/HostTensor.h"
#include "lowbit/Support/QuantMath.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/Support/ErrorHandling.h"
#include "llvm/Support/raw_ostream.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

using namespace mlir;
using namespace mlir::lowbit;

size_t mlir::lowbit::getDTypeSize(DType dtype) {
  switch (dtype) {
  case DType::f64:
  case DType::i64:
    return 8;
  case DType::f32:
  case DType::i32:
    return 4;
  case DType::f16:
  case DType::bf16:
  case DType::i16:
    return 2;
  case DType::e8m0:
  case DType::i8:
  case DType::u8:
    return 1;
  }
  llvm_unreachable("unknown dtype");
}

StringRef mlir::lowbit::getDTypeName(DType dtype) {
  switch (dtype) {
  case DType::f32:
    return "f32";
  case DType::f64:
    return "f64";
  case DType::f16:
    return "f16";
  case DType::bf16:
    return "bf16";
  case DType::e8m0:
    return "f8E8M0FNU";
  case DType::i8:
    return "i8";
  case DType::u8:
    return "ui8";
  case DType::i16:
    return "i16";
  case DType::i32:
    return "i32";
  case DType::i64:
    return "i64";
  }
  llvm_unreachable("unknown dtype");
}

std::optional<DType> mlir::lowbit::getDTypeFor(Type type) {
  if (type.isF32())
    return DType::f32;
  if (type.isF64())
    return DType::f64;
  if (type.isF16())
    return DType::f16;
  if (type.isBF16())
    return DType::bf16;
  if (isa<Float8E8M0FNUType>(type))
    return DType::e8m0;
  if (type.isUnsignedInteger(8))
    return DType::u8;
  if (type.isInteger(8))
    return DType::i8;
  if (type.isInteger(16))
    return DType::i16;
  if (type.isInteger(32))
    return DType::i32;
  if (type.isInteger(64) || type.isIndex())
    return DType::i64;
  return std::nullopt;
}

void HostTensorDeleter::operator()(uint8_t *p) const {
  if (owned)
    std::free(p);
}

HostTensor HostTensor::borrow(HostTensor &other) {
  HostTensor view;
  view.dtype = other.dtype;
  view.shape = other.shape;
  view.data = std::unique_ptr<uint8_t, HostTensorDeleter>(
      other.getData(), HostTensorDeleter{false});
  return view;
}

HostTensor::HostTensor(DType dtype, ArrayRef<int64_t> shape)
    : dtype(dtype), shape(shape) {
  // aligned_alloc needs a size that is a multiple of the alignment; keep at
  // least one block so that empty tensors have a valid pointer.
  size_t bytes = getSizeInBytes();
  size_t rounded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
  data.reset(static_cast<uint8_t *>(std::aligned_alloc(64, rounded)));
  if (!data)
    llvm::report_fatal_error("out of memory allocating a host tensor");
  std::memset(data.get(), 0, rounded);
}

int64_t HostTensor::getNumElements() const {
  int64_t n = 1;
  for (int64_t extent : shape)
    n *= extent;
  return n;
}

double HostTensor::getAsDouble(int64_t i) const {
  switch (dtype) {
  case DType::f32:
    return getDataAs<float>()[i];
  case DType::f64:
    return getDataAs<double>()[i];
  case DType::f16:
    return halfToFloat(getDataAs<uint16_t>()[i]);
  case DType::bf16:
    return bfloat16ToFloat(getDataAs<uint16_t>()[i]);
  case DType::e8m0:
    return e8m0ToFloat(getData()[i]);
  case DType::i8:
    return getDataAs<int8_t>()[i];
  case DType::u8:
    return getDataAs<uint8_t>()[i];
  case DType::i16:
    return getDataAs<int16_t>()[i];
  case DType::i32:
    return getDataAs<int32_t>()[i];
  case DType::i64:
    return static_cast<double>(getDataAs<int64_t>()[i]);
  }
  llvm_unreachable("unknown dtype");
}

namespace {
/// SplitMix64: a tiny, well-mixed generator whose output is the same on
/// every platform (unlike std::normal_distribution's).
class SplitMix64 {
public:
  explicit SplitMix64(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  /// Uniform in (0, 1].
  double uniform() { return (double((next() >> 11) + 1)) * 0x1.0p-53; }
  /// Standard normal, by Box-Muller.
  double normal() {
    double u1 = uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }

private:
  uint64_t state;
};
} // namespace

void HostTensor::fillRandom(uint64_t seed) {
  SplitMix64 rng(seed);
  int64_t n = getNumElements();
  for (int64_t i = 0; i < n; ++i) {
    switch (dtype) {
    case DType::f32:
      getDataAs<float>()[i] = static_cast<float>(rng.normal());
      break;
    case DType::f64:
      getDataAs<double>()[i] = rng.normal();
      break;
    case DType::f16:
      getDataAs<uint16_t>()[i] = floatToHalf(static_cast<float>(rng.normal()));
      break;
    case DType::bf16:
      getDataAs<uint16_t>()[i] =
          floatToBFloat16(static_cast<float>(rng.normal()));
      break;
    case DType::e8m0: // Powers of two in [2^-8, 2^7].
      getData()[i] = static_cast<uint8_t>(119 + rng.next() % 16);
      break;
    case DType::i8:
    case DType::u8:
      getData()[i] = static_cast<uint8_t>(rng.next() >> 56);
      break;
    case DType::i16:
      getDataAs<int16_t>()[i] = static_cast<int16_t>(rng.next() % 129) - 64;
      break;
    case DType::i32:
      getDataAs<int32_t>()[i] = static_cast<int32_t>(rng.next() % 129) - 64;
      break;
    case DType::i64:
      getDataAs<int64_t>()[i] = static_cast<int64_t>(rng.next() % 129) - 64;
      break;
    }
  }
}

std::string HostTensor::getTypeString() const {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << "tensor<";
  for (int64_t extent : shape)
    os << extent << "x";
  os << getDTypeName(dtype) << ">";
  return text;
}
