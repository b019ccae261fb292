//===- Npy.h - NumPy .npy files ---------------------------------*- C++ -*-===//

#ifndef LOWBIT_RUNNER_NPY_H
#define LOWBIT_RUNNER_NPY_H

#include "lowbit/Runner/HostTensor.h"
#include "llvm/Support/Error.h"

namespace mlir::lowbit {

/// Reads a C-ordered, little-endian .npy file (format version 1, 2 or 3) of
/// f32, f64, f16, int8, uint8, int16, int32 or int64 elements. Errors name
/// the file and what is wrong with it.
llvm::Expected<HostTensor> readNpy(llvm::StringRef path);

/// Parses .npy content already in memory; `name` is used in messages.
llvm::Expected<HostTensor> parseNpy(llvm::StringRef contents,
                                    llvm::StringRef name);

/// Writes `tensor` as a version 1.0 .npy file. bf16 and f8E8M0FNU, which
/// NumPy lacks, are written as f32.
llvm::Error writeNpy(llvm::StringRef path, const HostTensor &tensor);

} // namespace mlir::lowbit

#endif // LOWBIT_RUNNER_NPY_H
