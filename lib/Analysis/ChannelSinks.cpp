//===- ChannelSinks.cpp - Where a channel transform can be folded ---------===//

#include "lowbit/Analysis/ChannelSinks.h"
#include "lowbit/Dialect/LowBit/IR/LowBitOps.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/Hashing.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallBitVector.h"

using namespace mlir;
using namespace mlir::lowbit;

//===----------------------------------------------------------------------===//
// Linear layers
//===----------------------------------------------------------------------===//

bool mlir::lowbit::isTransposedBMatmul(linalg::MatmulOp matmul) {
  return isa<linalg::MatmulTransposeBOp>(matmul.getOperation());
}

/// The static f32 matrix constant `value` is, or null.
static arith::ConstantOp getConstantMatrix(Value value) {
  auto constant = value.getDefiningOp<arith::ConstantOp>();
  if (!constant)
    return {};
  auto type = dyn_cast<RankedTensorType>(constant.getType());
  if (!type || type.getRank() != 2 || !type.hasStaticShape() ||
      !type.getElementType().isF32())
    return {};
  if (!isa<DenseF32ResourceElementsAttr, DenseFPElementsAttr>(
          constant.getValue()))
    return {};
  return constant;
}

arith::ConstantOp mlir::lowbit::getLinearLayerWeight(linalg::MatmulOp matmul) {
  if (!matmul->hasAttr(kLayerNameAttr) || !isTransposedBMatmul(matmul))
    return {};
  auto inputType = dyn_cast<RankedTensorType>(matmul.getDpsInputs()[0].getType());
  auto resultType = dyn_cast<RankedTensorType>(matmul.getResult(0).getType());
  if (!inputType || !resultType || !inputType.getElementType().isF32() ||
      !resultType.getElementType().isF32() ||
      ShapedType::isDynamic(inputType.getShape().back()))
    return {};
  return getConstantMatrix(matmul.getDpsInputs()[1]);
}

llvm::StringRef mlir::lowbit::getLayerName(Operation *op) {
  if (auto name = op->getAttrOfType<StringAttr>(kLayerNameAttr))
    return name.getValue();
  return {};
}

std::string ChannelGroup::getKey() const {
  std::string key;
  for (linalg::MatmulOp consumer : consumers) {
    if (!key.empty())
      key += ",";
    key += getLayerName(consumer).str();
  }
  return key;
}

/// What a constant is called in remarks: its blob's name, or "a constant".
static std::string describeConstant(arith::ConstantOp constant) {
  if (auto blob = dyn_cast<DenseResourceElementsAttr>(constant.getValue()))
    return blob.getRawHandle().getKey().str();
  return "a constant";
}

std::string ChannelGroup::describeSink() const {
  switch (sink) {
  case ChannelSinkKind::none:
    return "none";
  case ChannelSinkKind::scaleVector:
    if (arith::ConstantOp constant = sinkConstant;
        isa<DenseResourceElementsAttr>(constant.getValue()))
      return "the vector " + describeConstant(sinkConstant);
    return "a constant vector";
  case ChannelSinkKind::linearRows: {
    StringRef name = getLayerName(sinkOp);
    return "the rows of " +
           (name.empty() ? describeConstant(sinkConstant) : name.str());
  }
  }
  llvm_unreachable("unknown sink kind");
}

//===----------------------------------------------------------------------===//
// Tracing one channel
//===----------------------------------------------------------------------===//

namespace {

/// A set of coordinates of a tensor: each dimension fixed or free.
constexpr int64_t kAny = -1;
using Coord = SmallVector<int64_t, 4>;

/// Every coordinate a value was visited at, per dimension: the fixed values
/// seen, or free.
struct Footprint {
  SmallVector<llvm::SmallDenseSet<int64_t, 8>> values;
  llvm::SmallBitVector any;

  void add(ArrayRef<int64_t> coord) {
    if (values.empty()) {
      values.resize(coord.size());
      any.resize(coord.size());
    }
    for (auto [dim, c] : llvm::enumerate(coord)) {
      if (c == kAny)
        any.set(dim);
      else
        values[dim].insert(c);
    }
  }
  /// Whether no visited coordinate lies in the box `offsets + [0, sizes)`
  /// (unknown extents given as kAny): some fixed dimension must miss it.
  bool isDisjointFrom(ArrayRef<int64_t> offsets, ArrayRef<int64_t> sizes) const {
    for (size_t dim = 0; dim < values.size(); ++dim) {
      if (any.test(dim) || offsets[dim] == kAny || sizes[dim] == kAny)
        continue;
      if (llvm::none_of(values[dim], [&](int64_t c) {
            return c >= offsets[dim] && c < offsets[dim] + sizes[dim];
          }))
        return true;
    }
    return false;
  }
};

/// The static offsets and sizes of a slice op, kAny where dynamic; failure
/// when a stride is not 1.
template <typename SliceOp>
static LogicalResult getBox(SliceOp op, SmallVectorImpl<int64_t> &offsets,
                            SmallVectorImpl<int64_t> &sizes) {
  if (llvm::any_of(op.getStaticStrides(), [](int64_t s) { return s != 1; }))
    return failure();
  for (int64_t offset : op.getStaticOffsets())
    offsets.push_back(ShapedType::isDynamic(offset) ? kAny : offset);
  for (int64_t size : op.getStaticSizes())
    sizes.push_back(ShapedType::isDynamic(size) ? kAny : size);
  return success();
}

/// Follows the channels of one group's input back to their sink.
class ChannelTracer {
public:
  explicit ChannelTracer(ChannelGroup &group) : group(group) {}

  /// Traces input channel `channel`; on failure `group.reason` says why.
  bool traceChannel(int64_t channel);
  /// After every channel: whether nothing off the traced paths reads a
  /// value on them.
  bool checkUses();
  /// Whether permutations of the sink's channels are safe: classes of sink
  /// channels that may be exchanged, or empty.
  SmallVector<int64_t> getPermutationClasses() const;

private:
  bool visit(Value value, Coord coord);
  bool visitGeneric(linalg::GenericOp generic, ArrayRef<int64_t> coord);
  bool fail(const Twine &why) {
    if (group.reason.empty())
      group.reason = why.str();
    return false;
  }
  /// Marks the path from `user`'s result into its operand `operand`.
  void enter(Operation *user, unsigned operand) {
    pathUses.insert({user, operand});
    signature = llvm::hash_combine(signature, user);
  }
  bool isAllowedUse(OpOperand &use, const Footprint &footprint,
                    unsigned depth);
  /// Records that the channel being traced comes from `channel` of a sink.
  bool recordSink(ChannelSinkKind kind, Operation *op, unsigned operand,
                  arith::ConstantOp constant, int64_t channels,
                  int64_t channel);
  /// Traces an operand that must be permuted along with the sink for the
  /// result to be permuted (the gate beside the up projection). Failing
  /// only rules out permutations.
  void traceCompanion(Value value, Coord coord);

  ChannelGroup &group;
  /// While tracing a companion: its sink must be the rows of a producer.
  bool inCompanion = false;
  /// The sink leaf of the channel being traced (sink op, operand, index).
  std::optional<int64_t> currentSinkChannel;
  llvm::hash_code signature = 0;
  /// Sink channels whose paths take different ops, or pass through ops that
  /// treat channels differently, must not be exchanged.
  DenseMap<int64_t, llvm::hash_code> signatureOfSinkChannel;
  bool permutable = true;

  llvm::MapVector<Value, Footprint> footprints;
  DenseSet<std::pair<Operation *, unsigned>> pathUses;
};

} // namespace

bool ChannelTracer::traceChannel(int64_t channel) {
  currentSinkChannel.reset();
  signature = llvm::hash_code(0);
  auto type = cast<RankedTensorType>(group.input.getType());
  Coord coord(type.getRank(), kAny);
  coord.back() = channel;
  if (!visit(group.input, coord))
    return false;
  if (!currentSinkChannel)
    return fail("input channel " + Twine(channel) + " comes from no sink");
  group.sinkChannelOf.push_back(*currentSinkChannel);
  auto [it, inserted] =
      signatureOfSinkChannel.try_emplace(*currentSinkChannel, signature);
  if (!inserted && it->second != signature)
    permutable = false; // One sink channel reached along two kinds of path.
  return true;
}

bool ChannelTracer::visit(Value value, Coord coord) {
  footprints[value].add(coord);

  if (auto arg = dyn_cast<BlockArgument>(value)) {
    auto function = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
    if (function && arg.getOwner()->isEntryBlock() &&
        function.getArgAttr(arg.getArgNumber(), "bufferization.writable"))
      return true; // The model's state, written only with what we trace.
    return fail("it is a function argument");
  }

  Operation *op = value.getDefiningOp();
  if (auto fill = dyn_cast<linalg::FillOp>(op)) {
    if (matchPattern(fill.getInputs()[0], m_AnyZeroFloat()))
      return true; // Zeros stay zeros under every transform.
    return fail("it is filled with a non-zero value");
  }

  if (auto expand = dyn_cast<tensor::ExpandShapeOp>(op)) {
    ArrayRef<int64_t> shape = expand.getResultType().getShape();
    Coord source;
    for (const ReassociationIndices &dims : expand.getReassociationIndices()) {
      int64_t flat = 0;
      for (int64_t dim : dims) {
        if (coord[dim] == kAny || ShapedType::isDynamic(shape[dim])) {
          flat = kAny;
          break;
        }
        flat = flat * shape[dim] + coord[dim];
      }
      source.push_back(flat);
    }
    enter(op, 0);
    return visit(expand.getSrc(), source);
  }

  if (auto collapse = dyn_cast<tensor::CollapseShapeOp>(op)) {
    ArrayRef<int64_t> shape = collapse.getSrcType().getShape();
    Coord source(shape.size(), kAny);
    for (auto [resultDim, dims] :
         llvm::enumerate(collapse.getReassociationIndices())) {
      int64_t flat = coord[resultDim];
      if (flat == kAny)
        continue;
      for (int64_t dim : llvm::reverse(dims)) {
        if (ShapedType::isDynamic(shape[dim]))
          return fail("a dynamic reshape splits the channel axis");
        source[dim] = flat % shape[dim];
        flat /= shape[dim];
      }
    }
    enter(op, 0);
    return visit(collapse.getSrc(), source);
  }

  if (auto transpose = dyn_cast<linalg::TransposeOp>(op)) {
    Coord source(coord.size(), kAny);
    for (auto [dim, from] : llvm::enumerate(transpose.getPermutation()))
      source[from] = coord[dim];
    enter(op, 0);
    return visit(transpose.getInput(), source);
  }

  if (auto extract = dyn_cast<tensor::ExtractSliceOp>(op)) {
    SmallVector<int64_t> offsets, sizes;
    if (failed(getBox(extract, offsets, sizes)))
      return fail("a strided slice reads it");
    llvm::SmallBitVector dropped = extract.getDroppedDims();
    Coord source;
    unsigned next = 0;
    for (size_t dim = 0; dim < offsets.size(); ++dim) {
      if (dropped.test(dim)) {
        source.push_back(offsets[dim]);
        continue;
      }
      int64_t c = coord[next++];
      source.push_back(c == kAny || offsets[dim] == kAny ? kAny
                                                         : offsets[dim] + c);
    }
    enter(op, 0);
    return visit(extract.getSource(), source);
  }

  if (auto insert = dyn_cast<tensor::InsertSliceOp>(op)) {
    SmallVector<int64_t> offsets, sizes;
    if (failed(getBox(insert, offsets, sizes)))
      return fail("a strided slice writes it");
    bool outside = false, inside = true;
    for (size_t dim = 0; dim < coord.size(); ++dim) {
      if (coord[dim] == kAny || offsets[dim] == kAny || sizes[dim] == kAny) {
        inside = false;
        continue;
      }
      if (coord[dim] < offsets[dim] || coord[dim] >= offsets[dim] + sizes[dim])
        outside = true;
    }
    if (!outside) {
      llvm::SmallBitVector dropped = insert.getDroppedDims();
      Coord source;
      for (size_t dim = 0; dim < coord.size(); ++dim) {
        if (dropped.test(dim))
          continue;
        source.push_back(coord[dim] == kAny || offsets[dim] == kAny
                             ? kAny
                             : coord[dim] - offsets[dim]);
      }
      enter(op, 0);
      if (!visit(insert.getSource(), source))
        return false;
    }
    if (!inside) {
      enter(op, 1);
      return visit(insert.getDest(), coord);
    }
    return true;
  }

  if (auto matmul = dyn_cast<linalg::MatmulOp>(op)) {
    if (!isTransposedBMatmul(matmul))
      return fail("a matmul not of the form A[m, k] * B[n, k] makes it");
    int64_t column = coord[1];
    if (column == kAny)
      return fail("it is the rows of a matmul");
    enter(op, 2);
    if (!visit(matmul.getDpsInits()[0], coord))
      return false;
    if (arith::ConstantOp weight = getConstantMatrix(matmul.getDpsInputs()[1]))
      return recordSink(ChannelSinkKind::linearRows, op, 1, weight,
                        cast<RankedTensorType>(weight.getType()).getDimSize(0),
                        column);
    enter(op, 1);
    return visit(matmul.getDpsInputs()[1], Coord{column, kAny});
  }

  if (auto generic = dyn_cast<linalg::GenericOp>(op))
    return visitGeneric(generic, coord);

  // A scale an earlier pass could not fold: later scales join it.
  if (auto channelScale = dyn_cast<ChannelScaleOp>(op)) {
    auto constant = channelScale.getScales().getDefiningOp<arith::ConstantOp>();
    if (!constant || coord.back() == kAny ||
        !isa<DenseF32ResourceElementsAttr, DenseFPElementsAttr>(
            constant.getValue()))
      return fail("a lowbit.channel_scale by a non-constant makes it");
    return recordSink(ChannelSinkKind::scaleVector, op, 1, constant,
                      channelScale.getScales().getType().getNumElements(),
                      coord.back());
  }

  return fail("'" + op->getName().getStringRef() +
              "' does not commute with channel transforms");
}

/// The factors of `value` in a product: the operands of a tree of mulf (and
/// the numerators of divf) in a generic's body.
static void collectFactors(Value value, SmallVectorImpl<Value> &factors) {
  Operation *def = value.getDefiningOp();
  if (auto mul = dyn_cast_if_present<arith::MulFOp>(def)) {
    collectFactors(mul.getLhs(), factors);
    collectFactors(mul.getRhs(), factors);
    return;
  }
  if (auto div = dyn_cast_if_present<arith::DivFOp>(def)) {
    collectFactors(div.getLhs(), factors);
    return;
  }
  factors.push_back(value);
}

bool ChannelTracer::visitGeneric(linalg::GenericOp generic,
                                 ArrayRef<int64_t> coord) {
  if (generic.getNumDpsInits() != 1 ||
      generic.getNumParallelLoops() != generic.getNumLoops())
    return fail("a linalg.generic that is not elementwise makes it");
  AffineMap outputMap = generic.getIndexingMapsArray().back();
  if (!outputMap.isPermutation())
    return fail("a linalg.generic whose output map is not a permutation "
                "makes it");
  // The iteration coordinate of the result's.
  Coord iteration(generic.getNumLoops(), kAny);
  for (auto [dim, expr] : llvm::enumerate(outputMap.getResults()))
    iteration[cast<AffineDimExpr>(expr).getPosition()] = coord[dim];

  Block *body = generic.getBody();
  SmallVector<Value> factors;
  collectFactors(body->getTerminator()->getOperand(0), factors);

  // An input operand that the result is a plain multiple of: read at one
  // coordinate per element and used once, in the product.
  auto operandCoord = [&](unsigned input) -> std::optional<Coord> {
    AffineMap map = generic.getIndexingMapsArray()[input];
    Coord result;
    for (AffineExpr expr : map.getResults()) {
      if (auto dim = dyn_cast<AffineDimExpr>(expr))
        result.push_back(iteration[dim.getPosition()]);
      else if (auto constant = dyn_cast<AffineConstantExpr>(expr))
        result.push_back(constant.getValue());
      else
        return std::nullopt;
    }
    return result;
  };
  SmallVector<unsigned> candidates;
  for (Value factor : factors) {
    auto arg = dyn_cast<BlockArgument>(factor);
    if (!arg || arg.getOwner() != body ||
        arg.getArgNumber() >= generic.getNumDpsInputs() || !arg.hasOneUse())
      continue;
    candidates.push_back(arg.getArgNumber());
  }

  // A constant vector is a sink (a norm's gamma).
  for (unsigned input : candidates) {
    Value operand = generic.getDpsInputs()[input];
    auto constant = operand.getDefiningOp<arith::ConstantOp>();
    if (!constant)
      continue;
    auto type = cast<RankedTensorType>(constant.getType());
    std::optional<Coord> at = operandCoord(input);
    if (!at || !type.hasStaticShape() || !type.getElementType().isF32() ||
        !isa<DenseF32ResourceElementsAttr, DenseFPElementsAttr>(
            constant.getValue()))
      continue;
    int64_t flat = 0;
    bool fixed = true;
    for (auto [dim, c] : llvm::enumerate(*at)) {
      if (c == kAny) {
        fixed = false;
        break;
      }
      flat = flat * type.getDimSize(dim) + c;
    }
    if (!fixed)
      continue;
    return recordSink(ChannelSinkKind::scaleVector, generic, input, constant,
                      type.getNumElements(), flat);
  }

  // Otherwise the walk goes on into the one operand the result is a
  // multiple of (the up projection, through the SiLU gate).
  candidates.erase(llvm::remove_if(candidates,
                                   [&](unsigned input) {
                                     return generic.getDpsInputs()[input]
                                         .getDefiningOp<arith::ConstantOp>();
                                   }),
                   candidates.end());
  if (candidates.size() != 1)
    return fail("a linalg.generic makes it that is not a multiple of one of "
                "its operands");
  unsigned input = candidates.front();
  std::optional<Coord> at = operandCoord(input);
  if (!at)
    return fail("a linalg.generic reads its operand at a computed index");
  // Exchanging channels is safe only if the body treats all of them alike:
  // no index is read, and every other operand that depends on the channel
  // is permuted alike (the gate, beside the up projection).
  if (!body->getOps<linalg::IndexOp>().empty())
    permutable = false;
  SmallVector<std::pair<unsigned, Coord>> companions;
  for (auto [other, map] : llvm::enumerate(generic.getIndexingMapsArray())) {
    if (other == input || int64_t(other) == generic.getNumDpsInputs())
      continue;
    bool dependsOnChannel = llvm::any_of(map.getResults(), [&](AffineExpr e) {
      auto dim = dyn_cast<AffineDimExpr>(e);
      return dim && iteration[dim.getPosition()] != kAny;
    });
    if (!dependsOnChannel)
      continue;
    if (std::optional<Coord> otherAt = operandCoord(other))
      companions.push_back({unsigned(other), *otherAt});
    else
      permutable = false;
  }
  enter(generic, input);
  if (!visit(generic.getDpsInputs()[input], *at))
    return false;
  for (auto &[other, otherAt] : companions) {
    enter(generic, other);
    traceCompanion(generic.getDpsInputs()[other], otherAt);
  }
  return true;
}

bool ChannelTracer::recordSink(ChannelSinkKind kind, Operation *op,
                               unsigned operand, arith::ConstantOp constant,
                               int64_t channels, int64_t channel) {
  if (inCompanion) {
    if (kind != ChannelSinkKind::linearRows || op == group.sinkOp)
      return fail("a companion comes from the sink itself or a vector");
    if (!currentSinkChannel || *currentSinkChannel != channel ||
        channels != group.sinkChannels)
      return fail("a companion comes from another row");
    if (!llvm::is_contained(group.companionSinks, op)) {
      group.companionSinks.push_back(op);
      group.companionConstants.push_back(constant);
    }
    return true;
  }
  if (group.sinkOp && (group.sinkOp != op || group.sinkOperand != operand))
    return fail("its channels come from more than one sink");
  if (currentSinkChannel && *currentSinkChannel != channel)
    return fail("a channel comes from two places of its sink");
  group.sink = kind;
  group.sinkOp = op;
  group.sinkOperand = operand;
  group.sinkConstant = constant;
  group.sinkChannels = channels;
  currentSinkChannel = channel;
  // A vector can be scaled but not permuted: the norm's input would have to
  // be permuted too.
  if (kind == ChannelSinkKind::scaleVector)
    permutable = false;
  return true;
}

void ChannelTracer::traceCompanion(Value value, Coord coord) {
  if (!permutable)
    return;
  // Trace on the side: a failed companion leaves no footprints behind.
  llvm::MapVector<Value, Footprint> savedFootprints = std::move(footprints);
  DenseSet<std::pair<Operation *, unsigned>> savedUses = std::move(pathUses);
  footprints.clear();
  pathUses.clear();
  std::string savedReason = group.reason;
  size_t savedCompanions = group.companionSinks.size();
  bool wasInCompanion = inCompanion;
  inCompanion = true;
  bool ok = visit(value, coord);
  inCompanion = wasInCompanion;
  group.reason = savedReason;
  if (!ok) {
    permutable = false;
    group.companionSinks.resize(savedCompanions);
    group.companionConstants.resize(savedCompanions);
    footprints = std::move(savedFootprints);
    pathUses = std::move(savedUses);
    return;
  }
  for (auto &[v, footprint] : footprints) {
    Footprint &into = savedFootprints[v];
    if (into.values.empty()) {
      into = footprint;
      continue;
    }
    for (auto [dim, values] : llvm::enumerate(footprint.values)) {
      into.values[dim].insert(values.begin(), values.end());
      if (footprint.any.test(dim))
        into.any.set(dim);
    }
  }
  savedUses.insert(pathUses.begin(), pathUses.end());
  footprints = std::move(savedFootprints);
  pathUses = std::move(savedUses);
}

bool ChannelTracer::isAllowedUse(OpOperand &use, const Footprint &footprint,
                                 unsigned depth) {
  Operation *user = use.getOwner();
  if (pathUses.contains({user, use.getOperandNumber()}))
    return true;
  if (isa<ObserveOp>(user))
    return true;
  if (auto matmul = dyn_cast<linalg::MatmulOp>(user);
      matmul && use.getOperandNumber() == 0 &&
      llvm::is_contained(group.consumers, matmul))
    return true;
  // Slices of a region the channels do not touch: the rest of a KV cache.
  SmallVector<int64_t> offsets, sizes;
  if (auto extract = dyn_cast<tensor::ExtractSliceOp>(user))
    return succeeded(getBox(extract, offsets, sizes)) &&
           footprint.isDisjointFrom(offsets, sizes);
  if (auto insert = dyn_cast<tensor::InsertSliceOp>(user);
      insert && use.getOperandNumber() == 1 && depth < 1024) {
    if (failed(getBox(insert, offsets, sizes)))
      return false;
    // The region written is elsewhere, so the traced values pass through
    // to the result unchanged: whoever reads that must be allowed too.
    if (!footprint.isDisjointFrom(offsets, sizes))
      return false;
    return llvm::all_of(insert->getUses(), [&](OpOperand &next) {
      return isAllowedUse(next, footprint, depth + 1);
    });
  }
  return false;
}

bool ChannelTracer::checkUses() {
  for (auto &[value, footprint] : footprints) {
    if (isa<BlockArgument>(value))
      continue; // The state: read by later calls, transformed alike.
    for (OpOperand &use : value.getUses()) {
      if (isAllowedUse(use, footprint, 0))
        continue;
      return fail("'" + use.getOwner()->getName().getStringRef() +
                  "' also reads a value on the way to the sink");
    }
  }
  return true;
}

SmallVector<int64_t> ChannelTracer::getPermutationClasses() const {
  if (!permutable || group.sink != ChannelSinkKind::linearRows)
    return {};
  // Sink channels whose paths are alike may be exchanged.
  SmallVector<int64_t> classes(group.sinkChannels, -1);
  DenseMap<llvm::hash_code, int64_t> classOfSignature;
  for (auto [channel, signature] : signatureOfSinkChannel)
    classes[channel] =
        classOfSignature.try_emplace(signature, classOfSignature.size())
            .first->second;
  return classes;
}

//===----------------------------------------------------------------------===//
// The analysis
//===----------------------------------------------------------------------===//

ChannelSinkAnalysis::ChannelSinkAnalysis(Operation *root) {
  // Groups: named linear layers by the value they read.
  llvm::MapVector<Value, SmallVector<linalg::MatmulOp>> consumersOf;
  root->walk([&](linalg::MatmulOp matmul) {
    if (getLinearLayerWeight(matmul))
      consumersOf[matmul.getDpsInputs()[0]].push_back(matmul);
  });

  for (auto &[input, consumers] : consumersOf) {
    ChannelGroup group;
    group.input = input;
    group.consumers = consumers;
    int64_t channels =
        cast<RankedTensorType>(input.getType()).getShape().back();

    ChannelTracer tracer(group);
    bool found = true;
    for (int64_t channel = 0; channel < channels && found; ++channel)
      found = tracer.traceChannel(channel);
    found = found && tracer.checkUses();
    if (found) {
      group.permutationClasses = tracer.getPermutationClasses();
      if (group.permutationClasses.empty()) {
        group.companionSinks.clear();
        group.companionConstants.clear();
      }
    } else {
      // No sink: an explicit op transforms the input of each consumer.
      group.sink = ChannelSinkKind::none;
      group.sinkOp = nullptr;
      group.sinkConstant = {};
      group.sinkChannels = channels;
      group.sinkChannelOf.clear();
      for (int64_t channel = 0; channel < channels; ++channel)
        group.sinkChannelOf.push_back(channel);
      group.permutationClasses.clear();
      group.companionSinks.clear();
      group.companionConstants.clear();
    }
    for (linalg::MatmulOp consumer : group.consumers)
      groupOfConsumer[consumer] = groups.size();
    groups.push_back(std::move(group));
  }
}

const ChannelGroup *
ChannelSinkAnalysis::lookup(linalg::MatmulOp consumer) const {
  auto it = groupOfConsumer.find(consumer);
  return it == groupOfConsumer.end() ? nullptr : &groups[it->second];
}
