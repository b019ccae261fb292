#!/usr/bin/env python3
"""LowBit's W4A16 GPU kernels against cuBLAS float16 and PyTorch's int4 kernel.

In one run on the GPU: the device's copy bandwidth (a device-to-device copy,
bytes read plus written); for each 7B Llama shape and batch, LowBit's
kernels (a cubin from lowbit-gpu-kernels, launched through liblowbit_cuda:
the CUDA-core GEMV and the tensor-core matmul, each timed, the faster one in
the table),
cuBLAS float16 (torch.nn.functional.linear) and PyTorch's int4 weight-only
matmul (torch._weight_int4pack_mm, tinygemm). Every LowBit kernel is first
checked against a float32 reference on random inputs (fresh per check) with
its output poisoned with NaN, so an unwritten element fails. Timings are
medians of CUDA-graph replays that rotate over enough weight copies to miss
the L2 cache.

  lowbit-gpu-kernels --mma 1x4096x4096g128,... [--gemv ...] -o KERNELS
  python3 bench/gpu/gemv-bench.py --kernels KERNELS --runtime liblowbit_cuda.so
"""
import argparse
import ctypes
import statistics
import sys

import torch

SHAPES = [(4096, 4096), (11008, 4096), (4096, 11008)]  # (N, K)
BATCHES = [1, 4, 16, 64, 256]


class Runtime:
    def __init__(self, path, cubin):
        self.lib = ctypes.CDLL(path)
        self.lib.lowbit_cuda_last_error.restype = ctypes.c_char_p
        self.lib.lowbit_cuda_launch.argtypes = [
            ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint32, ctypes.c_uint32,
            ctypes.POINTER(ctypes.c_uint64), ctypes.c_size_t, ctypes.c_void_p]
        torch.cuda.init()
        torch.empty(1, device="cuda")  # the primary context, shared with us
        self.module = ctypes.c_void_p()
        self.check(self.lib.lowbit_cuda_load(cubin.encode(), 0,
                                             ctypes.byref(self.module)))

    def check(self, code):
        if code != 0:
            raise RuntimeError(self.lib.lowbit_cuda_last_error().decode())

    def launch(self, kernel, grid, block, tensors):
        args = (ctypes.c_uint64 * len(tensors))(*[t.data_ptr() for t in tensors])
        stream = torch.cuda.current_stream().cuda_stream
        self.check(self.lib.lowbit_cuda_launch(
            self.module, kernel.encode(), grid, block, args, len(tensors),
            ctypes.c_void_p(stream)))


def pack_w4(codes):
    """[N, K] int codes in [-8, 7] -> [N, K/8] int32 words (Kernels.h)."""
    n, k = codes.shape
    u = (codes.to(torch.int32) + 8).reshape(n, k // 32, 4, 4, 2)  # t, j, h
    words = torch.zeros(n, k // 32, 4, dtype=torch.int32, device=codes.device)
    for t in range(4):
        for h in range(2):
            words |= u[:, :, t, :, h] << (16 * h + 4 * t)
    return words.reshape(n, k // 8)


def pack_w4_mma(codes):
    """[N, K] int codes in [-8, 7] -> the tensor-core layout (Kernels.h):
    words [N/16, K/64, 32 lanes, 4 tiles]; row 8h + g, channel
    16q + 4t + 2jh + jl of a step goes to lane 4g + q, word t, bit
    16jl + 4(2jh + h)."""
    n, k = codes.shape
    u = (codes.to(torch.int32) + 8).reshape(n // 16, 2, 8, k // 64, 4, 4, 2, 2)
    words = torch.zeros(n // 16, 8, k // 64, 4, 4, dtype=torch.int32,
                        device=codes.device)
    for h in range(2):
        for jh in range(2):
            for jl in range(2):
                words |= u[:, h, :, :, :, :, jh, jl] << (16 * jl + 4 * (2 * jh + h))
    return words.permute(0, 2, 1, 3, 4).reshape(n // 16, k // 64 * 128).contiguous()


PACKERS = {"gemv_w4": pack_w4, "mma_w4": pack_w4_mma}


def pack_w8_mma(weights):
    """[N, K] int8 -> the W8A8 layout (Kernels.h): words
    [N/16, K/64, 2 tiles, 32 lanes, 4]; row 8hi + g, channel
    16q + 8t + 4h + e of a step goes to tile t, lane 4g + q, word 2h + hi,
    byte e."""
    n, k = weights.shape
    b = weights.view(torch.uint8).reshape(n // 16, 2, 8, k // 64, 4, 2, 2, 4)
    # (T, hi, g, S, q, t, h, e) -> (T, S, t, g, q, h, hi, e)
    b = b.permute(0, 3, 5, 2, 4, 6, 1, 7).contiguous()
    return b.view(torch.int32).reshape(n // 16, k // 64 * 256)


def random_w8a8(m, n, k, gen):
    """int8 weights and activations with per-channel and per-token scales."""
    w = torch.randint(-127, 128, (n, k), generator=gen, device="cuda",
                      dtype=torch.int8)
    ws = torch.rand(n, generator=gen, device="cuda") * 0.009 + 0.001
    x = torch.randint(-127, 128, (m, k), generator=gen, device="cuda",
                      dtype=torch.int8)
    xs = torch.rand(m, generator=gen, device="cuda") * 0.04 + 0.01
    return w, ws, x, xs


def reference_w8a8(w, ws, x, xs):
    return (x.double() @ w.double().t()) * xs.double()[:, None] * ws.double()


def random_layer(n, k, group, gen):
    codes = torch.randint(-8, 8, (n, k), generator=gen, device="cuda",
                          dtype=torch.int8)
    scales = (torch.rand(n, k // group, generator=gen, device="cuda") * 0.02
              + 0.005).half()
    return codes, scales


def reference(x, codes, scales, group):
    w = codes.float() * scales.float().repeat_interleave(group, dim=1)
    return x.float() @ w.t()


def time_graph(body, copies, repeats=20):
    """Median microseconds per call of body(i) over CUDA-graph replays."""
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for i in range(copies):  # warm up outside the capture
            body(i)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    calls = max(copies, 50)
    with torch.cuda.graph(graph):
        for i in range(calls):
            body(i % copies)
    times = []
    for _ in range(repeats):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1e3 / calls)
    return statistics.median(times)


def copy_bandwidth():
    size = 2 << 30
    src = torch.empty(size, dtype=torch.uint8, device="cuda").random_()
    dst = torch.empty_like(src)
    for _ in range(3):
        dst.copy_(src)
    times = []
    for _ in range(10):
        start = torch.cuda.Event(enable_timing=True)
        end = torch.cuda.Event(enable_timing=True)
        start.record()
        dst.copy_(src)
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) * 1e-3)
    return 2 * size / statistics.median(times) / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", required=True,
                        help="directory written by lowbit-gpu-kernels")
    parser.add_argument("--runtime", required=True, help="liblowbit_cuda.so")
    parser.add_argument("--check-only", action="store_true")
    parser.add_argument("--shapes", default=None,
                        help="NxK,... (default: the 7B Llama shapes)")
    parser.add_argument("--batches", default=None,
                        help="M,... (default: 1,4,16,64,256)")
    parser.add_argument("--rotate-mib", type=int, default=512,
                        help="weight bytes to rotate over (beats the L2)")
    args = parser.parse_args()
    global SHAPES, BATCHES
    if args.shapes:
        SHAPES = [tuple(int(v) for v in shape.split("x"))
                  for shape in args.shapes.split(",")]
    if args.batches:
        BATCHES = [int(m) for m in args.batches.split(",")]

    kernels = {}  # (m, n, k) -> [(name, kind, group, grid, block)]
    for line in open(f"{args.kernels}/kernels.txt"):
        f = line.split()
        m, n, k, g = map(int, f[2:6])
        kernels.setdefault((m, n, k), []).append(
            (f[0], f[1], g, int(f[7]), int(f[9])))
    rt = Runtime(args.runtime, f"{args.kernels}/kernels.cubin")
    props = torch.cuda.get_device_properties(0)
    print(f"device: {props.name}, {props.multi_processor_count} SMs, "
          f"{props.total_memory / 2**30:.0f} GiB; torch {torch.__version__}")

    # Correctness: every kernel, two fresh random draws, poisoned outputs.
    gen = torch.Generator(device="cuda")
    failures = checks = 0
    for (m, n, k), variants in sorted(kernels.items()):
        for name, kind, g, grid, block in variants:
            for seed in (1, 2):
                gen.manual_seed(seed * 1000 + m)
                y = torch.full((m, n), float("nan"), device="cuda",
                               dtype=torch.half)
                if kind == "mma_w8a8":
                    w, ws, xq, xs = random_w8a8(m, n, k, gen)
                    rt.launch(name, grid, block,
                              [xq, xs, pack_w8_mma(w), ws, y])
                    torch.cuda.synchronize()
                    ref = reference_w8a8(w, ws, xq, xs)
                else:
                    codes, scales = random_layer(n, k, g, gen)
                    x = torch.randn(m, k, generator=gen, device="cuda").half()
                    rt.launch(name, grid, block,
                              [x, PACKERS[kind](codes), scales, y])
                    torch.cuda.synchronize()
                    ref = reference(x, codes, scales, g)
                unwritten = int(torch.isnan(y).sum())
                error = float((y.double() - ref).norm() / ref.norm())
                ok = unwritten == 0 and error < 2e-3
                failures += not ok
                checks += 1
                print(f"check {name} seed {seed}: relative error {error:.2e}, "
                      f"{unwritten} unwritten: {'ok' if ok else 'FAIL'}")
    print(f"{checks - failures} passed, {failures} failed")
    if failures or args.check_only:
        sys.exit(1 if failures else 0)

    bandwidth = copy_bandwidth()
    print(f"copy bandwidth: {bandwidth:.0f} GB/s (read + write)")
    rows, rows8 = [], []
    for n, k in SHAPES:
        w16_bytes = n * k * 2
        copies16 = max(2, (args.rotate_mib << 20) // w16_bytes + 1)
        w16 = [torch.randn(n, k, device="cuda").half() * 0.02
               for _ in range(copies16)]
        codes, scales = random_layer(n, k, 128, gen)
        w4_bytes = n * k // 2 + n * k // 128 * 2
        copies4 = max(2, (args.rotate_mib << 20) // w4_bytes + 1)
        packs = {kind: [pack(codes) for _ in range(copies4)]
                 for kind, pack in PACKERS.items()}
        scale_copies = [scales.clone() for _ in range(copies4)]
        # What moving the W4 bytes alone costs at this size (a copy of half
        # of them: as many bytes read plus written, same rotation): the
        # launch and ramp of a kernel this small, which the copy bandwidth
        # of 2 GiB hides.
        halves = [torch.empty(w4_bytes // 2, dtype=torch.uint8, device="cuda")
                  for _ in range(2 * copies4)]
        read_us = time_graph(
            lambda i: halves[2 * i + 1].copy_(halves[2 * i]), copies4)
        del halves
        print(f"copy moving {w4_bytes / 1e6:.1f} MB ({n}x{k} W4 g128): "
              f"{read_us:.1f} us, {w4_bytes / read_us / 1e3:.0f} GB/s")
        # tinygemm wants bf16 activations, its own packing, and
        # [K/G, N, 2] scales and zeros.
        tiny = None
        try:
            u8 = ((codes.to(torch.int32) + 8).reshape(n, k // 2, 2))
            u8 = (u8[:, :, 0] << 4 | u8[:, :, 1]).to(torch.uint8)
            tiny_w = torch._convert_weight_to_int4pack(u8, 8)
            sz = torch.stack([scales.t().bfloat16(),
                              (8 * scales.t()).bfloat16()], dim=2).contiguous()
            tiny = ([tiny_w.clone() for _ in range(copies4)], sz)
        except Exception as error:  # noqa: BLE001 - report and go on
            print(f"torch int4 kernel unavailable: {error}")
        w8, ws8, _, _ = random_w8a8(1, n, k, gen)
        w8_bytes = n * k + 4 * n
        copies8 = max(2, (args.rotate_mib << 20) // w8_bytes + 1)
        packs8 = [pack_w8_mma(w8) for _ in range(copies8)]
        for m in BATCHES:
            x = torch.randn(m, k, device="cuda").half()
            y = torch.empty(m, n, device="cuda").half()
            cublas = time_graph(lambda i: torch.nn.functional.linear(x, w16[i]),
                                copies16)
            tiny_us = None
            if tiny is not None:
                xb = x.bfloat16()
                tiny_us = time_graph(
                    lambda i: torch._weight_int4pack_mm(xb, tiny[0][i], 128,
                                                        tiny[1]), copies4)
            lowbit = None
            for name, kind, g, grid, block in kernels.get((m, n, k), []):
                if kind not in PACKERS:
                    continue
                us = time_graph(
                    lambda i: rt.launch(name, grid, block,
                                        [x, packs[kind][i], scale_copies[i],
                                         y]),
                    copies4)
                print(f"time {name}: {us:.1f} us")
                if lowbit is None or us < lowbit[0]:
                    lowbit = (us, kind)
            rows.append((n, k, m, w4_bytes, lowbit, cublas, tiny_us))
            xq = torch.randint(-127, 128, (m, k), device="cuda",
                               dtype=torch.int8)
            xs = torch.rand(m, device="cuda") * 0.04 + 0.01
            for name, kind, g, grid, block in kernels.get((m, n, k), []):
                if kind != "mma_w8a8":
                    continue
                us = time_graph(
                    lambda i: rt.launch(name, grid, block,
                                        [xq, xs, packs8[i], ws8, y]), copies8)
                print(f"time {name}: {us:.1f} us")
                rows8.append((n, k, m, w8_bytes, us, cublas))
        del packs8

    print(f"\n| N x K | batch | LowBit kernel | LowBit W4A16 us | GB/s | "
          f"of copy bw | cuBLAS f16 us | speedup | torch int4 us | speedup |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for n, k, m, w4_bytes, best, cublas, tiny_us in rows:
        def cell(v):
            return f"{v:.1f}" if v is not None else "-"
        lowbit, kind = best if best else (None, "-")
        if lowbit is not None:
            gbs = (w4_bytes + 2 * m * (n + k)) / lowbit / 1e3
            ratios = (f"{gbs:.0f} | {gbs / bandwidth:.0%} | {cublas:.1f} | "
                      f"{cublas / lowbit:.2f}x | {cell(tiny_us)} | "
                      + (f"{tiny_us / lowbit:.2f}x" if tiny_us else "-"))
        else:
            ratios = f"- | - | {cublas:.1f} | - | {cell(tiny_us)} | -"
        print(f"| {n}x{k} | {m} | {kind} | {cell(lowbit)} | {ratios} |")

    if rows8:
        print(f"\n| N x K | batch | LowBit W8A8 us | GB/s | of copy bw | "
              f"cuBLAS f16 us | speedup |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        for n, k, m, w8_bytes, us, cublas in rows8:
            gbs = (w8_bytes + m * k + 4 * m + 2 * m * n) / us / 1e3
            print(f"| {n}x{k} | {m} | {us:.1f} | {gbs:.0f} | "
                  f"{gbs / bandwidth:.0%} | {cublas:.1f} | "
                  f"{cublas / us:.2f}x |")


if __name__ == "__main__":
    main()
