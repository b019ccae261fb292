//===- Passes.h - LowBit transforms -----------------------------*- C++ -*-===//

#ifndef LOWBIT_TRANSFORMS_PASSES_H
#define LOWBIT_TRANSFORMS_PASSES_H

#include "lowbit/Dialect/LowBit/IR/LowBitDialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::lowbit {

/// Name of the module attribute in which `lowbit-externalize-weights` records
/// the blob behind each external weight global: a dictionary from the
/// global's symbol name to its `dense_resource` attribute.
inline constexpr llvm::StringLiteral kExternalWeightsAttrName =
    "lowbit.external_weights";

/// Name of the module attribute in which `lowbit-instrument-linear-inputs`
/// maps every layer name to the key of the observer of its input.
inline constexpr llvm::StringLiteral kObserversAttrName =
    "lowbit.layer_observers";

class LinearOp;

/// The x86-64 extensions the CPU kernels may use.
struct CpuTarget {
  bool avx2 = false;
  bool avx512 = false;
  /// AVX-512 VNNI (vpdpbusd): int8 products of W8A8 layers in integers.
  bool vnni = false;
};

/// The extensions of `target`, a pass option (host, avx512-vnni, avx512,
/// avx2, generic); nullopt for an unknown target. `host` asks this CPU.
std::optional<CpuTarget> parseCpuTarget(llvm::StringRef target);
/// The same, or an error on `op` that names the option's pass.
FailureOr<CpuTarget> parseCpuTarget(Operation *op, llvm::StringRef target,
                                    llvm::StringRef pass);

/// The block of `#lowbit.packing<interleaved, block = B>` in which the
/// vector kernels of `target` read the sequentially packed weights of `op`
/// without splitting its input by channel residues (B codes a step of the
/// kernel); nullopt when the kernels do not take `op`, its codes are not
/// sequential or there is nothing to gain (8-bit codes).
std::optional<int64_t> getKernelInterleaveBlock(LinearOp op, CpuTarget target);

#define GEN_PASS_DECL
#include "lowbit/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "lowbit/Transforms/Passes.h.inc"

} // namespace mlir::lowbit

#endif // LOWBIT_TRANSFORMS_PASSES_H
