//===- Passes.td - lowbit conversion passes ----------------*- tablegen -*-===//

#ifndef LOWBIT_CONVERSION_PASSES_TD
#define LOWBIT_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertLowBitToLinalgPass : Pass<"convert-lowbit-to-linalg", "ModuleOp"> {
  let summary = "Lower lowbit ops to linalg, tensor and arith (the reference lowering)";
  let description = [{
    The reference lowering: every lowbit op becomes plain upstream IR that any
    MLIR CPU pipeline can run, written for clarity rather than speed. It is
    the definition the fast lowerings are checked against.

    - `lowbit.dequantize` becomes a `linalg.generic` over the logical shape
      that reads each code's byte(s) with `tensor.extract`, unpacks it with
      shifts and masks, decodes it (arithmetic for integers, a table lookup
      for fp8/fp4/nf4/ternary) and applies scale and zero point; scales are
      read through the indexing map of their granularity (`d1 floordiv G`).
    - `lowbit.quantize` becomes two `linalg.generic`s: one that rounds each
      element to its nearest code (round-half-even and clamp for integers; a
      branch-free binary search over the codebook's decision thresholds for
      the others), one that packs the codes of each byte.
    - `lowbit.linear` becomes a dequantize followed by a `linalg.matmul` with
      a transposed right-hand side, accumulating in f32, plus the bias.
    - `lowbit.channel_scale` becomes a broadcasting multiply.
    - `lowbit.observe` becomes a call to the runtime function
      `lowbit_observe(id, stats, memref<*xf32>)` (C interface); the keys,
      indexed by id, are listed in the module attribute `lowbit.observers`.

    Example:

    ```mlir
    %w = lowbit.dequantize %q scales(%s) #lowbit.scheme<i4, per_group<32>>
        : (tensor<16x32xi8>, tensor<16x2xf32>) -> tensor<16x64xf32>
    // becomes
    %w = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1 floordiv 32)>,
                                          affine_map<(d0, d1) -> (d0, d1)>], ...}
        ins(%s : tensor<16x2xf32>) outs(%e : tensor<16x64xf32>) {
      // tensor.extract %q[%i, %byte], shift, mask, sign-extend, mulf
    }
    ```
  }];
  let dependentDialects = [
    "::mlir::arith::ArithDialect",
    "::mlir::bufferization::BufferizationDialect",
    "::mlir::func::FuncDialect",
    "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect",
    "::mlir::memref::MemRefDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

def LowBitExportCInterfacePass : Pass<"lowbit-export-c-interface", "ModuleOp"> {
  let summary = "Give every public function a C interface";
  let description = [{
    Marks every public `func.func` definition with `llvm.emit_c_interface`,
    so that lowering to LLVM also emits `_mlir_ciface_<name>`, the entry point
    that takes memrefs as pointers to descriptors, and records the function's
    signature on tensors as `lowbit.tensor_signature`, which survives the
    conversion to `llvm.func`. LowBit's runner and runtime call compiled
    functions through the C interface and size their buffers from the
    signature.
  }];
}

#endif // LOWBIT_CONVERSION_PASSES_TD
