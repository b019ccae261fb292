//===- InitAll.h - Register LowBit and the upstream parts it uses -*- C++ -*-===//

#ifndef LOWBIT_INITALL_H
#define LOWBIT_INITALL_H

namespace mlir {
class DialectRegistry;

namespace lowbit {

/// Registers the lowbit dialect and the upstream dialects (with their
/// interface implementations) that LowBit's pipelines produce or consume.
void registerLowBitDialects(DialectRegistry &registry);

/// Registers LowBit's passes and pipelines, and the upstream passes its
/// pipelines are made of, so that each can be run on its own.
void registerLowBitPasses();

} // namespace lowbit
} // namespace mlir

#endif // LOWBIT_INITALL_H
