//===- MmaKernels.cpp - W4A16 matmul on the tensor cores ------------------===//
//
// The tensor-core kernel is built with the op builders into the gpu.module
// of Kernels.cpp: gpu, scf, vector and arith ops around nvgpu.mma.sync,
// lowered by the same upstream NVVM pipeline. Kernels.h describes the
// layout and the work split.
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
static int64_t reductionSlots(const MmaShape &shape) {
  const int64_t tileBytes =
      32 * 4 * llvm::divideCeil(shape.m, 8) * shape.rowTiles * 4;
  int64_t slots = shape.warps;
  while (slots > 1 && slots * tileBytes > 48 * 1024)
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
  const int64_t slots = reductionSlots(shape);
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
  // Columns of the last n-tile past M read row M - 1; their sums are
  // dropped.
  for (int64_t j = 0; j < nTiles; ++j) {
    Value row = add(group8, index(8 * j));
    if (8 * (j + 1) > m)
      row = arith::MinUIOp::create(b, row, index(m - 1));
    xRows.push_back(row);
  }

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

  // Each lane's 4 x nTiles sums, added over the warps in shared memory.
  SmallVector<Value> sums;
  for (Value tileSums : acc)
    for (int64_t e = 0; e < 4; ++e)
      sums.push_back(vector::ExtractOp::create(
          b, tileSums, ArrayRef<int64_t>{e / 2, e % 2}));
  Value writer = index(0);
  if (warps > 1) {
    Value reduction = func.getWorkgroupAttributions()[0];
    // Warps [r * slots, (r + 1) * slots) hand their sums to warps
    // [0, slots), round by round, until `slots` warps hold them all.
    for (int64_t round = 1; round * slots < warps; ++round) {
      Value from = index(round * slots);
      Value handing = arith::AndIOp::create(
          b, arith::CmpIOp::create(b, arith::CmpIPredicate::uge, warp, from),
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, warp,
                                index((round + 1) * slots)));
      auto hand = scf::IfOp::create(b, handing, /*withElseRegion=*/false);
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(&hand.getThenRegion().front());
        Value slot = arith::SubIOp::create(b, warp, from);
        for (auto [e, value] : llvm::enumerate(sums))
          memref::StoreOp::create(b, value, reduction,
                                  ValueRange{slot, lane, index(e)});
      }
      mlir::gpu::BarrierOp::create(b);
      // Warps whose partner exists take its sums.
      Value taking =
          arith::CmpIOp::create(b, arith::CmpIPredicate::ult, warp,
                                index(std::min(slots, warps - round * slots)));
      SmallVector<Type> types(sums.size(), f32);
      auto take = scf::IfOp::create(b, types, taking, /*withElseRegion=*/true);
      {
        OpBuilder::InsertionGuard inner(b);
        b.setInsertionPointToStart(&take.getThenRegion().front());
        SmallVector<Value> added;
        for (auto [e, value] : llvm::enumerate(sums))
          added.push_back(arith::AddFOp::create(
              b, value,
              memref::LoadOp::create(b, reduction,
                                     ValueRange{warp, lane, index(e)})));
        scf::YieldOp::create(b, added);
        b.setInsertionPointToStart(&take.getElseRegion().front());
        scf::YieldOp::create(b, sums);
      }
      sums = SmallVector<Value>(take.getResults());
      mlir::gpu::BarrierOp::create(b);
    }
    Value holding =
        arith::CmpIOp::create(b, arith::CmpIPredicate::ult, warp, index(slots));
    auto hold = scf::IfOp::create(b, holding, /*withElseRegion=*/false);
    OpBuilder::InsertionGuard inner(b);
    b.setInsertionPointToStart(&hold.getThenRegion().front());
    for (auto [e, value] : llvm::enumerate(sums))
      memref::StoreOp::create(b, value, reduction,
                              ValueRange{warp, lane, index(e)});
  }
  if (warps > 1) {
    mlir::gpu::BarrierOp::create(b);
    writer = warp;
  }
  Value first =
      arith::CmpIOp::create(b, arith::CmpIPredicate::eq, writer, index(0));
  auto ifFirst = scf::IfOp::create(b, first, /*withElseRegion=*/false);
  b.setInsertionPointToStart(&ifFirst.getThenRegion().front());
  if (warps > 1) {
    Value reduction = func.getWorkgroupAttributions()[0];
    for (auto [e, value] : llvm::enumerate(sums)) {
      Value total = value;
      for (int64_t other = 1; other < slots; ++other)
        total = arith::AddFOp::create(
            b, total,
            memref::LoadOp::create(b, reduction,
                                   ValueRange{index(other), lane, index(e)}));
      sums[e] = total;
    }
  }
  // Lane (g, q) holds rows g and g+8 of each weight tile and activation
  // columns 2q and 2q+1 of each n-tile.
  Value pair = mul(arith::RemUIOp::create(b, lane, index(4)), 2);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < nTiles; ++j)
      for (int64_t e = 0; e < 4; ++e) {
        Value batch = add(pair, index(8 * j + e % 2));
        Value row = e < 2 ? rowLow[r] : rowHigh[r];
        Value value =
            arith::TruncFOp::create(b, f16, sums[4 * (r * nTiles + j) + e]);
        OpBuilder::InsertionGuard inner(b);
        if (8 * (j + 1) > m) {
          Value inside = arith::CmpIOp::create(b, arith::CmpIPredicate::ult,
                                               batch, index(m));
          auto ifInside = scf::IfOp::create(b, inside, false);
          b.setInsertionPointToStart(&ifInside.getThenRegion().front());
        }
        memref::StoreOp::create(b, value, y, ValueRange{batch, row});
      }
  b.setInsertionPointToEnd(&func.getBody().front());
  mlir::gpu::ReturnOp::create(b);
}

void mlir::lowbit::gpu::emitMmaKernel(OpBuilder &builder, Location loc,
                                      const MmaShape &shape) {
  MmaKernelEmitter(builder, loc, shape).emit();
}
