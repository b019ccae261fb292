//===- PrintChannelSinks.cpp - Report the channel-sink analysis -----------===//

#include "lowbit/Analysis/ChannelSinks.h"
#include "lowbit/Quantization/Passes.h"

#include "llvm/ADT/DenseSet.h"

namespace mlir::lowbit {
#define GEN_PASS_DEF_PRINTCHANNELSINKSPASS
#include "lowbit/Quantization/Passes.h.inc"
} // namespace mlir::lowbit

using namespace mlir;
using namespace mlir::lowbit;

namespace {
struct PrintChannelSinksPass
    : public lowbit::impl::PrintChannelSinksPassBase<PrintChannelSinksPass> {
  void runOnOperation() override {
    const auto &analysis = getAnalysis<ChannelSinkAnalysis>();
    for (const ChannelGroup &group : analysis.getGroups()) {
      linalg::MatmulOp front = group.consumers.front();
      InFlightDiagnostic remark = front.emitRemark();
      remark << group.getKey() << ": " << group.getInputChannels()
             << " channels -> ";
      if (group.sink == ChannelSinkKind::none) {
        remark << "no sink: " << group.reason;
        continue;
      }
      remark << group.describeSink() << " (" << group.sinkChannels
             << " channels), ";
      if (group.permutationClasses.empty()) {
        remark << "scales only";
        continue;
      }
      llvm::DenseSet<int64_t> classes(group.permutationClasses.begin(),
                                      group.permutationClasses.end());
      remark << "scales and permutations within " << classes.size()
             << (classes.size() == 1 ? " class" : " classes");
      for (Operation *companion : group.companionSinks)
        remark << ", with the rows of " << getLayerName(companion);
    }
    markAllAnalysesPreserved();
  }
};
} // namespace
