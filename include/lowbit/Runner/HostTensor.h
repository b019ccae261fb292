//===- HostTensor.h - Dense tensors in host memory --------------*- C++ -*-===//
//
// The runner's currency: a dense, row-major, 64-byte aligned tensor with an
// element type, read from and written to NumPy files and handed to compiled
// code as a memref descriptor.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_RUNNER_HOSTTENSOR_H
#define LOWBIT_RUNNER_HOSTTENSOR_H

#include "mlir/IR/Types.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace mlir::lowbit {

/// Element types the runner moves between files and compiled code.
/// `e8m0` is f8E8M0FNU, the power-of-two scale type of the MX formats.
enum class DType { f32, f64, f16, bf16, e8m0, i8, u8, i16, i32, i64 };

/// Bytes per element.
size_t getDTypeSize(DType dtype);
/// The name used in messages (`f32`, `i8`, ...).
llvm::StringRef getDTypeName(DType dtype);
/// The runner's element type for an MLIR element type, if it has one.
std::optional<DType> getDTypeFor(Type type);


/// Frees tensor data allocated with aligned_alloc, unless it is borrowed.
struct HostTensorDeleter {
  bool owned = true;
  void operator()(uint8_t *p) const;
};


class HostTensor {
public:
  HostTensor() = default;
  HostTensor(DType dtype, llvm::ArrayRef<int64_t> shape);

  DType getDType() const { return dtype; }
  llvm::ArrayRef<int64_t> getShape() const { return shape; }
  int64_t getNumElements() const;
  size_t getSizeInBytes() const { return getNumElements() * getDTypeSize(dtype); }
  uint8_t *getData() { return data.get(); }
  const uint8_t *getData() const { return data.get(); }
  template <typename T>
  T *getDataAs() {
    return reinterpret_cast<T *>(data.get());
  }
  template <typename T>
  const T *getDataAs() const {
    return reinterpret_cast<const T *>(data.get());
  }

  /// Element `i` (row-major) converted to double.
  double getAsDouble(int64_t i) const;

  /// Fills the tensor with reproducible pseudo-random values: standard normal
  /// for floats, uniform over the type's range for 8-bit integers and over
  /// [-64, 64] for wider ones. Never all zeros.
  void fillRandom(uint64_t seed);

  /// A view of `other`'s data that does not own it: writes through it reach
  /// `other`, which must outlive the view.
  static HostTensor borrow(HostTensor &other);

  /// `tensor<2x3xf32>`-style description.
  std::string getTypeString() const;

private:
  DType dtype = DType::f32;
  llvm::SmallVector<int64_t> shape;
  std::unique_ptr<uint8_t, HostTensorDeleter> data;
};

} // namespace mlir::lowbit

#endif // LOWBIT_RUNNER_HOSTTENSOR_H
