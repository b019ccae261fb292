//===- MmaKernels.cpp - W4A16 and W8A8 matmuls on the tensor cores --------===//
//
// The tensor-core kernels are built with the op builders into the
// gpu.module of Kernels.cpp: gpu, scf, vector and arith ops around
// nvgpu.mma.sync (m16n8k16 f16 for W4A16, m16n8k32 s8 for W8A8), lowered by
// the same upstream NVVM pipeline. Kernels.h describes the layouts and the
// work split.
//
//===----------------------------------------------------------------------===//

#include "lowbit/GPU/Kernels.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MathExtras.h"

#include <array>

using namespace mlir;
using namespace mlir::lowbit::gpu;

std::string mlir::lowbit::gpu::mmaKernelName(const MmaShape &shape) {
  return llvm::formatv("mma_w4g{0}_m{1}_n{2}_k{3}_w{4}u{5}r{6}", shape.group,
                       shape.m, shape.n, shape.k, shape.warps, shape.unroll,
                       shape.rowTiles)
      .str();
}

MmaShape mlir::lowbit::gpu::chooseMmaShape(int64_t m, int64_t n, int64_t k,
                                           int64_t group) {
  MmaShape shape{m, n, k, group};
  if (n <= 0 || k <= 0 || group <= 0)
    return shape; // verifyMmaShape says what is wrong
  // Up to 8 activation rows the kernel is a stream of weights: as many warps
  // as the device holds at once (132 SMs x 64), each with a trip of loads
  // in flight. Past that the activations' fragments cost registers and L2
  // traffic: fewer warps, and two weight tiles a warp to share them.
  const int64_t tiles = n / 16, groups = k / group;
  if (m > 16 || (m > 8 && tiles >= 512))
    shape.rowTiles = 2;
  if (n % (16 * shape.rowTiles))
    shape.rowTiles = 1;
  const int64_t blocks = std::max<int64_t>(1, tiles / shape.rowTiles);
  int64_t warps;
  if (m <= 8) {
    // One wave at least (rounded up to a power of two); where the groups
    // outnumber the warps, 16 warps taking two groups a trip.
    warps =
        int64_t(llvm::bit_ceil(uint64_t(std::max<int64_t>(1, 8192 / blocks))));
    warps = std::min<int64_t>(warps, 32);
    shape.unroll = 1;
    if (groups > warps) {
      warps = std::min<int64_t>(warps, 16);
      shape.unroll = 2;
    }
  } else {
    const int64_t gridWarps = m <= 16 ? 4096 : 512;
    warps = int64_t(llvm::bit_floor(
        uint64_t(std::clamp<int64_t>(gridWarps / blocks, 2, 32))));
    shape.unroll = 1;
  }
  warps = std::clamp<int64_t>(warps, 1, std::max<int64_t>(1, groups));
  shape.warps = warps;
  return shape;
}

/// Slots of partial tiles in shared memory: one a warp where they fit in
/// the 48 KiB of static shared memory, else fewer, which the warps past
/// them fold into first.
static int64_t reductionSlots(int64_t warps, int64_t valuesPerLane) {
  int64_t slots = warps;
  while (slots > 1 && slots * 32 * valuesPerLane * 4 > 48 * 1024)
    slots = llvm::divideCeil(slots, 2);
  return slots;
}

llvm::Error mlir::lowbit::gpu::verifyMmaShape(const MmaShape &shape) {
  std::string name = llvm::formatv("tensor-core M={0} N={1} K={2} G={3}",
                                   shape.m, shape.n, shape.k, shape.group);
  auto error = [&](const llvm::Twine &what) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   name + ": " + what);
  };
  if (shape.m < 1 || shape.m > 64)
    return error("M must be in [1, 64]");
  if (shape.rowTiles < 1 || shape.rowTiles > 4)
    return error("row tiles must be in [1, 4]");
  if (shape.n < 16 * shape.rowTiles || shape.n % (16 * shape.rowTiles))
    return error("N must be a multiple of " + llvm::Twine(16 * shape.rowTiles));
  if (shape.group < kMmaStep || shape.group % kMmaStep)
    return error("the group size must be a multiple of 64");
  if (shape.k < shape.group || shape.k % shape.group)
    return error("the group size must divide K");
  if (shape.warps < 1 || shape.warps > 32)
    return error("warps must be in [1, 32]");
  if (shape.unroll < 1 || shape.unroll > 8)
    return error("unroll must be in [1, 8]");
  return llvm::Error::success();
}

/// The activation row whose B fragments lane group `group8` loads, for each
/// n-tile of 8 of the `m` rows: columns of the last n-tile past M read row
/// M - 1, and their sums are dropped.
static SmallVector<Value> activationRows(ImplicitLocOpBuilder &b, Value group8,
                                         int64_t m) {
  SmallVector<Value> rows;
  for (int64_t j = 0, tiles = llvm::divideCeil(m, 8); j < tiles; ++j) {
    Value row = arith::AddIOp::create(b, group8,
                                      arith::ConstantIndexOp::create(b, 8 * j));
    if (8 * (j + 1) > m)
      row = arith::MinUIOp::create(b, row,
                                   arith::ConstantIndexOp::create(b, m - 1));
    rows.push_back(row);
  }
  return rows;
}

/// Stores a lane's outputs of one weight tile. Lane (g, q) holds rows g and
/// g+8 of the tile and activation columns 2q and 2q+1 of each n-tile:
/// element e of n-tile j goes to y[8j + 2q + e % 2, e < 2 ? rowLow :
/// rowHigh], as `value(4j + e, batch)` builds it, inside a guard where the
/// last n-tile passes M (so that nothing of a row past M is read either).
static void
storeOutputs(ImplicitLocOpBuilder &b, Value y, Value lane, int64_t m,
             Value rowLow, Value rowHigh,
             llvm::function_ref<Value(int64_t at, Value batch)> value) {
  auto idx = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, v);
  };
  Value pair =
      arith::MulIOp::create(b, arith::RemUIOp::create(b, lane, idx(4)), idx(2));
  for (int64_t j = 0, tiles = llvm::divideCeil(m, 8); j < tiles; ++j)
    for (int64_t e = 0; e < 4; ++e) {
      Value batch = arith::AddIOp::create(b, pair, idx(8 * j + e % 2));
      OpBuilder::InsertionGuard inner(b);
      if (8 * (j + 1) > m) {
        Value inside =
            arith::CmpIOp::create(b, arith::CmpIPredicate::ult, batch, idx(m));
        auto ifInside = scf::IfOp::create(b, inside, /*withElseRegion=*/false);
        b.setInsertionPointToStart(&ifInside.getThenRegion().front());
      }
      memref::StoreOp::create(b, value(4 * j + e, batch), y,
                              ValueRange{batch, e < 2 ? rowLow : rowHigh});
    }
}

/// Adds each lane's accumulator `tiles` (vector<2x2>, all f32 or all i32),
/// element by element, over the block's `warps`
/// through `buffer` (workgroup memory of `slots` x 32 x sums; none for one
/// warp): where a slot a warp does not fit, the warps past the slots first
/// hand theirs to the lower warps, round by round, in a fixed order. Leaves
/// the builder inside an scf.if of warp 0 and returns its totals.
static SmallVector<Value> addOverWarps(ImplicitLocOpBuilder &b, Value buffer,
                                       Value warp, Value lane, ValueRange tiles,
                                       int64_t warps, int64_t slots) {
  SmallVector<Value> sums;
  for (Value tile : tiles)
    for (int64_t e = 0; e < 4; ++e)
      sums.push_back(
          vector::ExtractOp::create(b, tile, ArrayRef<int64_t>{e / 2, e % 2}));
  auto idx = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, value);
  };
  auto plus = [&](Value lhs, Value rhs) -> Value {
    if (isa<FloatType>(lhs.getType()))
      return arith::AddFOp::create(b, lhs, rhs);
    return arith::AddIOp::create(b, lhs, rhs);
  };
  Value writer = idx(0);
  if (warps > 1) {
    // Warps [r * slots, (r + 1) * slots) hand their sums to warps
    // [0, slots), round by round, until `slots` warps hold them all.
    for (int64_t round = 1; round * slots < warps; ++round) {
      Value from = idx(round * slots);
      Value handing = arith::AndIOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::uge, warp, from),
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, warp,
                                idx((round + 1) * slots)));
      auto hand = scf::IfOp::create(b, handing, /*withElseRegion=*/false);
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(&hand.getThenRegion().front());
        Value slot = arith::SubIOp::create(b, warp, from);
        for (auto [e, value] : llvm::enumerate(sums))
          memref::StoreOp::create(b, value, buffer,
                                  ValueRange{slot, lane, idx(e)});
      }
      mlir::gpu::BarrierOp::create(b);
      // Warps whose partner exists take its sums.
      Value taking =
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, warp,
                                idx(std::min(slots, warps - round * slots)));
      SmallVector<Type> types(sums.size(), sums.front().getType());
      auto take = scf::IfOp::create(b, types, taking, /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(&take.getThenRegion().front());
        SmallVector<Value> added;
        for (auto [e, value] : llvm::enumerate(sums))
          added.push_back(
              plus(value, memref::LoadOp::create(
                              b, buffer, ValueRange{warp, lane, idx(e)})));
        scf::YieldOp::create(b, added);
        b.setInsertionPointToStart(&take.getElseRegion().front());
        scf::YieldOp::create(b, sums);
      }
      sums = SmallVector<Value>(take.getResults());
      mlir::gpu::BarrierOp::create(b);
    }
    Value holding =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, warp, idx(slots));
    auto hold = scf::IfOp::create(b, holding, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(&hold.getThenRegion().front());
    for (auto [e, value] : llvm::enumerate(sums))
      memref::StoreOp::create(b, value, buffer, ValueRange{warp, lane, idx(e)});
  }
  if (warps > 1) {
    mlir::gpu::BarrierOp::create(b);
    writer = warp;
  }
  Value first =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, writer, idx(0));
  auto ifFirst = scf::IfOp::create(b, first, /*withElseRegion=*/false);
  b.setInsertionPointToStart(&ifFirst.getThenRegion().front());
  if (warps > 1) {
    for (auto [e, value] : llvm::enumerate(sums)) {
      Value total = value;
      for (int64_t other = 1; other < slots; ++other)
        total =
            plus(total, memref::LoadOp::create(
                            b, buffer, ValueRange{idx(other), lane, idx(e)}));
      sums[e] = total;
    }
  }
  return sums;
}

namespace {
/// Emits one tensor-core kernel at the builder's insertion point.
class MmaKernelEmitter {
public:
  MmaKernelEmitter(OpBuilder &builder, Location loc, const MmaShape &shape)
      : b(loc, builder), shape(shape), nTiles(llvm::divideCeil(shape.m, 8)) {
    f16 = b.getF16Type();
    f32 = b.getF32Type();
  }

  void emit();

private:
  /// What one group's compute needs loaded, for each weight tile of the
  /// warp: the lane's words of each k-step and the scales of its two rows.
  struct GroupLoads {
    Value group;
    SmallVector<SmallVector<Value>> words;
    SmallVector<Value> lowScale, highScale;
    /// Whether the group exists (null: it always does); a trip's groups past
    /// K load the last one and count zero.
    Value valid;
  };

  Value index(int64_t value) {
    return arith::ConstantIndexOp::create(b, value);
  }
  Value splat(Type element, int64_t lanes, Attribute value) {
    auto type = VectorType::get({lanes}, element);
    return arith::ConstantOp::create(b, type,
                                     DenseElementsAttr::get(type, value));
  }
  Value add(Value lhs, Value rhs) { return arith::AddIOp::create(b, lhs, rhs); }
  Value mul(Value lhs, int64_t rhs) {
    return arith::MulIOp::create(b, lhs, index(rhs));
  }

  /// Elements `at` and `at` + 1 of a vector of f16: one 32-bit register.
  Value pair(Value vector, int64_t at) {
    return vector::ShuffleOp::create(b, vector, vector,
                                     ArrayRef<int64_t>{at, at + 1});
  }
  /// The rows of an MMA fragment (vector<N x 2 x f16>) from its registers.
  Value stack(ArrayRef<int64_t> shape, ArrayRef<Value> rows) {
    auto type = VectorType::get(shape, f16);
    Value fragment = arith::ConstantOp::create(
        b, type, DenseElementsAttr::get(type, b.getF16FloatAttr(0.0)));
    for (auto [i, row] : llvm::enumerate(rows))
      fragment = vector::InsertOp::create(b, row, fragment, int64_t(i));
    return fragment;
  }

  GroupLoads load(Value group, bool mayBePastK);
  SmallVector<Value> accumulate(const GroupLoads &loads, ValueRange acc);
  /// The A fragments of the four k-tiles of one k-step's words.
  SmallVector<Value> decode(Value words);

  ImplicitLocOpBuilder b;
  MmaShape shape;
  int64_t nTiles;
  Type f16, f32;
  Value x, w, s, y;
  Value lane, warp, quad;
  /// Per weight tile of the block: its index and the lane's two rows.
  SmallVector<Value> tiles, rowLow, rowHigh;
  /// The activation row whose B fragments the lane loads, per n-tile.
  SmallVector<Value> xRows;
};
} // namespace

MmaKernelEmitter::GroupLoads MmaKernelEmitter::load(Value group,
                                                    bool mayBePastK) {
  GroupLoads loads;
  if (mayBePastK) {
    Value last = index(shape.k / shape.group - 1);
    loads.valid =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ule, group, last);
    group = arith::MinUIOp::create(b, group, last);
  }
  loads.group = group;
  auto words = VectorType::get({4}, b.getI32Type());
  const int64_t steps = shape.group / kMmaStep;
  for (auto [tile, low, high] : llvm::zip(tiles, rowLow, rowHigh)) {
    SmallVector<Value> &tileWords = loads.words.emplace_back();
    for (int64_t st = 0; st < steps; ++st) {
      Value step = add(mul(group, steps), index(st));
      Value column = add(mul(step, 128), mul(lane, 4));
      tileWords.push_back(
          vector::LoadOp::create(b, words, w, ValueRange{tile, column},
                                 /*nontemporal=*/false, llvm::MaybeAlign(16)));
    }
    loads.lowScale.push_back(
        memref::LoadOp::create(b, s, ValueRange{low, group}));
    loads.highScale.push_back(
        memref::LoadOp::create(b, s, ValueRange{high, group}));
  }
  return loads;
}

SmallVector<Value> MmaKernelEmitter::decode(Value words) {
  auto mask = [&](int64_t bits) {
    return splat(b.getI32Type(), 4, b.getI32IntegerAttr(bits));
  };
  auto half8 = VectorType::get({8}, f16);
  // (words & mask) | 1024 as f16 pairs, less `bias`: the codes, exactly.
  auto pairs = [&](Value from, int64_t bits, double bias) {
    Value masked = arith::AndIOp::create(b, from, mask(bits));
    Value biased = arith::OrIOp::create(b, masked, mask(0x64006400));
    Value halves = vector::BitCastOp::create(b, half8, biased);
    return arith::SubFOp::create(b, halves,
                                 splat(f16, 8, b.getF16FloatAttr(bias)));
  };
  Value shifted = arith::ShRUIOp::create(b, words, mask(8));
  Value reg0 = pairs(words, 0x000F000F, 1032.0);
  Value reg1 = pairs(words, 0x00F000F0, 1152.0); // 16 x the codes
  Value reg2 = pairs(shifted, 0x000F000F, 1032.0);
  Value reg3 = pairs(shifted, 0x00F000F0, 1152.0);
  SmallVector<Value> fragments;
  for (int64_t t = 0; t < 4; ++t)
    fragments.push_back(stack({4, 2}, {pair(reg0, 2 * t), pair(reg1, 2 * t),
                                       pair(reg2, 2 * t), pair(reg3, 2 * t)}));
  return fragments;
}

SmallVector<Value> MmaKernelEmitter::accumulate(const GroupLoads &loads,
                                                ValueRange acc) {
  // Accumulators and partial tiles are indexed [weight tile][n-tile].
  const int64_t rows = shape.rowTiles;
  auto tileType = VectorType::get({2, 2}, f32);
  Value zero = arith::ConstantOp::create(
      b, tileType, DenseElementsAttr::get(tileType, b.getF32FloatAttr(0.0)));
  SmallVector<Value> partial(rows * nTiles, zero);
  auto half8 = VectorType::get({8}, f16);
  auto mmaShape = b.getI64ArrayAttr({16, 8, 16});
  const int64_t steps = shape.group / kMmaStep;
  for (int64_t st = 0; st < steps; ++st) {
    SmallVector<SmallVector<Value>> a;
    for (int64_t r = 0; r < rows; ++r)
      a.push_back(decode(loads.words[r][st]));
    Value step = add(mul(loads.group, steps), index(st));
    Value column = add(mul(step, kMmaStep), quad);
    Value columnHigh = add(column, index(8));
    for (int64_t j = 0; j < nTiles; ++j) {
      Value xLow =
          vector::LoadOp::create(b, half8, x, ValueRange{xRows[j], column},
                                 false, llvm::MaybeAlign(16));
      Value xHigh =
          vector::LoadOp::create(b, half8, x, ValueRange{xRows[j], columnHigh},
                                 false, llvm::MaybeAlign(16));
      for (int64_t t = 0; t < 4; ++t) {
        Value source = t < 2 ? xLow : xHigh;
        int64_t at = 4 * (t % 2);
        Value fragment =
            stack({2, 2}, {pair(source, at), pair(source, at + 2)});
        for (int64_t r = 0; r < rows; ++r)
          partial[r * nTiles + j] = nvgpu::MmaSyncOp::create(
              b, a[r][t], fragment, partial[r * nTiles + j], mmaShape);
      }
    }
  }
  // Rows g and g+8 of each partial tile take their own scale; those of g+8
  // were decoded 16 times too large.
  auto contract = arith::FastMathFlags::contract;
  SmallVector<Value> next;
  for (int64_t r = 0; r < rows; ++r) {
    Value low = arith::ExtFOp::create(b, f32, loads.lowScale[r]);
    Value high = arith::MulFOp::create(
        b, arith::ExtFOp::create(b, f32, loads.highScale[r]),
        arith::ConstantOp::create(b, b.getF32FloatAttr(1.0 / 16)));
    if (loads.valid) {
      Value none = arith::ConstantOp::create(b, b.getF32FloatAttr(0.0));
      low = arith::SelectOp::create(b, loads.valid, low, none);
      high = arith::SelectOp::create(b, loads.valid, high, none);
    }
    Value scales = vector::FromElementsOp::create(
        b, tileType, ValueRange{low, low, high, high});
    for (int64_t j = 0; j < nTiles; ++j) {
      int64_t at = r * nTiles + j;
      Value scaled = arith::MulFOp::create(b, partial[at], scales, contract);
      next.push_back(arith::AddFOp::create(b, acc[at], scaled, contract));
    }
  }
  return next;
}

void MmaKernelEmitter::emit() {
  MLIRContext *context = b.getContext();
  const int64_t m = shape.m, n = shape.n, k = shape.k, g = shape.group;
  const int64_t warps = shape.warps, unroll = shape.unroll;
  auto xType = MemRefType::get({m, k}, f16);
  auto wType = MemRefType::get({n / 16, k / 8 * 16}, b.getI32Type());
  auto sType = MemRefType::get({n, k / g}, f16);
  auto yType = MemRefType::get({m, n}, f16);
  auto workgroup = mlir::gpu::AddressSpaceAttr::get(
      context, mlir::gpu::AddressSpace::Workgroup);
  const int64_t rows = shape.rowTiles;
  const int64_t slots = reductionSlots(warps, 4 * nTiles * rows);
  auto reductionType = MemRefType::get({slots, 32, 4 * nTiles * rows}, f32,
                                       MemRefLayoutAttrInterface{}, workgroup);
  SmallVector<Type> attributions;
  if (warps > 1)
    attributions.push_back(reductionType);
  auto func = mlir::gpu::GPUFuncOp::create(
      b, mmaKernelName(shape),
      b.getFunctionType({xType, wType, sType, yType}, {}), attributions);
  func->setAttr(mlir::gpu::GPUDialect::getKernelFuncAttrName(),
                b.getUnitAttr());
  func.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({int32_t(32 * warps), 1, 1}));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&func.getBody().front());
  x = func.getArgument(0);
  w = func.getArgument(1);
  s = func.getArgument(2);
  y = func.getArgument(3);

  lane = mlir::gpu::LaneIdOp::create(b, /*upper_bound=*/nullptr);
  Value thread = mlir::gpu::ThreadIdOp::create(b, mlir::gpu::Dimension::x);
  warp = arith::DivUIOp::create(b, thread, index(32));
  Value block = mlir::gpu::BlockIdOp::create(b, mlir::gpu::Dimension::x);
  Value group8 = arith::DivUIOp::create(b, lane, index(4));
  quad = mul(arith::RemUIOp::create(b, lane, index(4)), 16);
  for (int64_t r = 0; r < rows; ++r) {
    tiles.push_back(add(mul(block, rows), index(r)));
    rowLow.push_back(add(mul(tiles.back(), 16), group8));
    rowHigh.push_back(add(rowLow.back(), index(8)));
  }
  xRows = activationRows(b, group8, m);

  auto tileType = VectorType::get({2, 2}, f32);
  Value zero = arith::ConstantOp::create(
      b, tileType, DenseElementsAttr::get(tileType, b.getF32FloatAttr(0.0)));
  SmallVector<Value> acc(rows * nTiles, zero);

  // Warp w takes groups w, w + warps, ...: `unroll` of them a trip, their
  // loads first. Where the trips overrun K, the groups past it count zero
  // (so every trip is the same straight-line code). With several trips the
  // loop is software-pipelined: each trip issues the next trip's loads
  // (carried in registers) before computing its own, so a warp always has
  // a trip of loads in flight.
  const int64_t groups = k / g, perTrip = warps * unroll;
  const int64_t trips = llvm::divideCeil(groups, perTrip);
  const bool pipelined = trips > 1;
  auto loadTrip = [&](Value it) {
    Value base = add(mul(it, perTrip), warp);
    SmallVector<GroupLoads> loads;
    for (int64_t u = 0; u < unroll; ++u) {
      int64_t highest = (trips - 1) * perTrip + (u + 1) * warps - 1;
      // A prefetch past the last trip is clamped too; it is never used.
      loads.push_back(
          load(add(base, index(u * warps)), pipelined || highest >= groups));
    }
    return loads;
  };
  // GroupLoads to and from the values a loop carries.
  auto flatten = [](ArrayRef<GroupLoads> trip) {
    SmallVector<Value> values;
    for (const GroupLoads &loads : trip) {
      values.push_back(loads.group);
      values.push_back(loads.valid);
      for (ArrayRef<Value> words : loads.words)
        llvm::append_range(values, words);
      llvm::append_range(values, loads.lowScale);
      llvm::append_range(values, loads.highScale);
    }
    return values;
  };
  auto unflatten = [&](ValueRange values) {
    SmallVector<GroupLoads> trip(unroll);
    for (GroupLoads &loads : trip) {
      loads.group = values.front();
      loads.valid = values[1];
      values = values.drop_front(2);
      for (int64_t r = 0; r < rows; ++r) {
        loads.words.emplace_back(values.take_front(g / kMmaStep));
        values = values.drop_front(g / kMmaStep);
      }
      loads.lowScale.assign(values.take_front(rows).begin(),
                            values.take_front(rows).end());
      values = values.drop_front(rows);
      loads.highScale.assign(values.take_front(rows).begin(),
                             values.take_front(rows).end());
      values = values.drop_front(rows);
    }
    return trip;
  };
  SmallVector<Value> init(acc);
  if (pipelined)
    llvm::append_range(init, flatten(loadTrip(index(0))));
  const size_t accumulators = acc.size();
  auto main = scf::ForOp::create(
      b, index(0), index(trips), index(1), init,
      [&](OpBuilder &nested, Location loc, Value it, ValueRange iterArgs) {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPoint(nested.getInsertionBlock(),
                            nested.getInsertionPoint());
        SmallVector<GroupLoads> current, next;
        if (pipelined) {
          current = unflatten(iterArgs.drop_front(accumulators));
          next = loadTrip(add(it, index(1)));
        } else {
          current = loadTrip(it);
        }
        SmallVector<Value> sums(iterArgs.take_front(accumulators));
        for (const GroupLoads &group : current)
          sums = accumulate(group, sums);
        if (pipelined)
          llvm::append_range(sums, flatten(next));
        scf::YieldOp::create(b, sums);
      });
  acc = SmallVector<Value>(main.getResults().take_front(accumulators));

  // Each lane's 4 x nTiles x rows sums, added over the warps.
  SmallVector<Value> sums = addOverWarps(
      b, warps > 1 ? Value(func.getWorkgroupAttributions()[0]) : Value(), warp,
      lane, acc, warps, slots);
  for (int64_t r = 0; r < rows; ++r)
    storeOutputs(
        b, y, lane, m, rowLow[r], rowHigh[r], [&](int64_t at, Value) -> Value {
          return arith::TruncFOp::create(b, f16, sums[4 * nTiles * r + at]);
        });
  b.setInsertionPointToEnd(&func.getBody().front());
  mlir::gpu::ReturnOp::create(b);
}

void mlir::lowbit::gpu::emitMmaKernel(OpBuilder &builder, Location loc,
                                      const MmaShape &shape) {
  MmaKernelEmitter(builder, loc, shape).emit();
}

//===----------------------------------------------------------------------===//
// W8A8
//===----------------------------------------------------------------------===//

std::string mlir::lowbit::gpu::w8a8KernelName(const W8A8Shape &shape) {
  return llvm::formatv("mma_w8a8_m{0}_n{1}_k{2}_w{3}u{4}", shape.m, shape.n,
                       shape.k, shape.warps, shape.unroll)
      .str();
}

llvm::Error mlir::lowbit::gpu::verifyW8A8Shape(const W8A8Shape &shape) {
  std::string name =
      llvm::formatv("W8A8 M={0} N={1} K={2}", shape.m, shape.n, shape.k);
  auto error = [&](const llvm::Twine &what) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   name + ": " + what);
  };
  if (shape.m < 1 || shape.m > 64)
    return error("M must be in [1, 64]");
  if (shape.n < 16 || shape.n % 16)
    return error("N must be a multiple of 16");
  if (shape.k < kMmaStep || shape.k % kMmaStep)
    return error("K must be a multiple of 64");
  if (shape.warps < 1 || shape.warps > 32)
    return error("warps must be in [1, 32]");
  if (shape.unroll < 1 || shape.unroll > 8)
    return error("unroll must be in [1, 8]");
  return llvm::Error::success();
}

W8A8Shape mlir::lowbit::gpu::chooseW8A8Shape(int64_t m, int64_t n, int64_t k) {
  // The rules of chooseMmaShape with one row tile, steps for groups.
  MmaShape like = chooseMmaShape(m, n, k, kMmaStep);
  W8A8Shape shape{m, n, k};
  shape.warps = like.warps * like.rowTiles;
  shape.unroll = like.unroll;
  return shape;
}

void mlir::lowbit::gpu::emitW8A8Kernel(OpBuilder &builder, Location loc,
                                       const W8A8Shape &shape) {
  ImplicitLocOpBuilder b(loc, builder);
  MLIRContext *context = b.getContext();
  const int64_t m = shape.m, n = shape.n, k = shape.k;
  const int64_t warps = shape.warps, unroll = shape.unroll;
  const int64_t nTiles = llvm::divideCeil(m, 8);
  Type i8 = b.getI8Type(), i32 = b.getI32Type(), f32 = b.getF32Type(),
       f16 = b.getF16Type();
  auto index = [&](int64_t value) -> Value {
    return arith::ConstantIndexOp::create(b, value);
  };
  auto add = [&](Value lhs, Value rhs) -> Value {
    return arith::AddIOp::create(b, lhs, rhs);
  };
  auto mul = [&](Value lhs, int64_t rhs) -> Value {
    return arith::MulIOp::create(b, lhs, index(rhs));
  };
  // Bytes [at, at + 4) of a vector<16xi8>, the rows of a fragment.
  auto four = [&](Value bytes, int64_t at) -> Value {
    return vector::ShuffleOp::create(
        b, bytes, bytes, ArrayRef<int64_t>{at, at + 1, at + 2, at + 3});
  };
  auto stack = [&](int64_t rows, ArrayRef<Value> values) -> Value {
    auto type = VectorType::get({rows, 4}, i8);
    Value fragment = arith::ConstantOp::create(
        b, type, DenseElementsAttr::get(type, b.getI8IntegerAttr(0)));
    for (auto [i, row] : llvm::enumerate(values))
      fragment = vector::InsertOp::create(b, row, fragment, int64_t(i));
    return fragment;
  };

  auto xType = MemRefType::get({m, k}, i8);
  auto xsType = MemRefType::get({m}, f32);
  auto wType = MemRefType::get({n / 16, k / kMmaStep * 256}, i32);
  auto wsType = MemRefType::get({n}, f32);
  auto yType = MemRefType::get({m, n}, f16);
  const int64_t values = 4 * nTiles;
  const int64_t slots = reductionSlots(warps, values);
  auto workgroup = mlir::gpu::AddressSpaceAttr::get(
      context, mlir::gpu::AddressSpace::Workgroup);
  SmallVector<Type> attributions;
  if (warps > 1)
    attributions.push_back(MemRefType::get(
        {slots, 32, values}, i32, MemRefLayoutAttrInterface{}, workgroup));
  auto func = mlir::gpu::GPUFuncOp::create(
      b, w8a8KernelName(shape),
      b.getFunctionType({xType, xsType, wType, wsType, yType}, {}),
      attributions);
  func->setAttr(mlir::gpu::GPUDialect::getKernelFuncAttrName(),
                b.getUnitAttr());
  func.setKnownBlockSizeAttr(
      b.getDenseI32ArrayAttr({int32_t(32 * warps), 1, 1}));
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(&func.getBody().front());
  Value x = func.getArgument(0), xs = func.getArgument(1),
        w = func.getArgument(2), ws = func.getArgument(3),
        y = func.getArgument(4);

  Value lane = mlir::gpu::LaneIdOp::create(b, /*upper_bound=*/nullptr);
  Value thread = mlir::gpu::ThreadIdOp::create(b, mlir::gpu::Dimension::x);
  Value warp = arith::DivUIOp::create(b, thread, index(32));
  Value tile = mlir::gpu::BlockIdOp::create(b, mlir::gpu::Dimension::x);
  Value group8 = arith::DivUIOp::create(b, lane, index(4));
  Value quad = mul(arith::RemUIOp::create(b, lane, index(4)), 16);
  Value rowLow = add(mul(tile, 16), group8);
  Value rowHigh = add(rowLow, index(8));
  SmallVector<Value> xRows = activationRows(b, group8, m);

  auto tileType = VectorType::get({2, 2}, i32);
  Value zero = arith::ConstantOp::create(
      b, tileType, DenseElementsAttr::get(tileType, b.getI32IntegerAttr(0)));
  SmallVector<Value> acc(nTiles, zero);
  auto wordsType = VectorType::get({4}, i32);
  auto bytesType = VectorType::get({16}, i8);
  Value noWords = arith::ConstantOp::create(
      b, wordsType, DenseElementsAttr::get(wordsType, b.getI32IntegerAttr(0)));
  auto mmaShape = b.getI64ArrayAttr({16, 8, 32});

  // Warp w takes steps w, w + warps, ...: `unroll` of them a trip, loads
  // first; steps past K load the last one and count zero.
  const int64_t steps = k / kMmaStep, perTrip = warps * unroll;
  const int64_t trips = llvm::divideCeil(steps, perTrip);
  auto main = scf::ForOp::create(
      b, index(0), index(trips), index(1), acc,
      [&](OpBuilder &nested, Location, Value it, ValueRange iterArgs) {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPoint(nested.getInsertionBlock(),
                            nested.getInsertionPoint());
        Value base = add(mul(it, perTrip), warp);
        SmallVector<Value> stepIndex;
        SmallVector<std::array<Value, 2>> words;
        for (int64_t u = 0; u < unroll; ++u) {
          Value step = add(base, index(u * warps));
          Value valid;
          if ((trips - 1) * perTrip + (u + 1) * warps > steps) {
            valid = arith::CmpIOp::create(b, arith::CmpIPredicate::ult, step,
                                          index(steps));
            step = arith::MinUIOp::create(b, step, index(steps - 1));
          }
          std::array<Value, 2> pair;
          for (int64_t t = 0; t < 2; ++t) {
            Value column =
                add(add(mul(step, 256), index(128 * t)), mul(lane, 4));
            pair[t] = vector::LoadOp::create(
                b, wordsType, w, ValueRange{tile, column},
                /*nontemporal=*/false, llvm::MaybeAlign(16));
            if (valid)
              pair[t] = arith::SelectOp::create(b, valid, pair[t], noWords);
          }
          stepIndex.push_back(step);
          words.push_back(pair);
        }
        SmallVector<Value> sums(iterArgs);
        for (int64_t u = 0; u < unroll; ++u) {
          SmallVector<Value> a;
          for (Value tileWords : words[u]) {
            Value bytes = vector::BitCastOp::create(b, bytesType, tileWords);
            a.push_back(stack(4, {four(bytes, 0), four(bytes, 4),
                                  four(bytes, 8), four(bytes, 12)}));
          }
          Value column = add(mul(stepIndex[u], kMmaStep), quad);
          for (int64_t j = 0; j < nTiles; ++j) {
            Value activations = vector::LoadOp::create(
                b, bytesType, x, ValueRange{xRows[j], column}, false,
                llvm::MaybeAlign(16));
            for (int64_t t = 0; t < 2; ++t)
              sums[j] = nvgpu::MmaSyncOp::create(
                  b, a[t],
                  stack(2, {four(activations, 8 * t),
                            four(activations, 8 * t + 4)}),
                  sums[j], mmaShape);
          }
        }
        scf::YieldOp::create(b, sums);
      });

  SmallVector<Value> sums = addOverWarps(
      b, warps > 1 ? Value(func.getWorkgroupAttributions()[0]) : Value(), warp,
      lane, main.getResults(), warps, slots);
  // y = xs[batch] * ws[row] * the exact integer sum.
  Value lowScale = memref::LoadOp::create(b, ws, ValueRange{rowLow});
  Value highScale = memref::LoadOp::create(b, ws, ValueRange{rowHigh});
  storeOutputs(b, y, lane, m, rowLow, rowHigh,
               [&](int64_t at, Value batch) -> Value {
                 Value sum = arith::SIToFPOp::create(b, f32, sums[at]);
                 Value scale = arith::MulFOp::create(
                     b, at % 4 < 2 ? lowScale : highScale,
                     memref::LoadOp::create(b, xs, ValueRange{batch}));
                 return arith::TruncFOp::create(
                     b, f16, arith::MulFOp::create(b, sum, scale));
               });
  b.setInsertionPointToEnd(&func.getBody().front());
  mlir::gpu::ReturnOp::create(b);
}
