//===- PeakProbes.h - What this machine can do at best ----------*- C++ -*-===//
//
// Two probes that bound any kernel from above, measured in the same run as
// the kernels they are compared with: the FMA throughput of all cores and
// the bandwidth of reading memory on all cores.
//
//===----------------------------------------------------------------------===//

#ifndef LOWBIT_BENCH_PEAKPROBES_H
#define LOWBIT_BENCH_PEAKPROBES_H

#include <cstddef>

namespace lowbit::bench {

/// f32 GFLOP/s of `threads` threads each running independent chains of
/// 256-bit FMAs (enough of them to hide the FMA latency); best of `trials`.
double measureFmaPeakGflops(unsigned threads, int trials = 3);

/// int8 GOP/s (a multiply and an add per byte pair) of `threads` threads
/// each running independent chains of 512-bit vpdpbusd; 0 where the CPU
/// has no AVX-512 VNNI.
double measureVnniPeakGops(unsigned threads, int trials = 3);

/// GB/s of `threads` threads summing disjoint parts of a `bytes` array of
/// floats (touched beforehand); best of `trials`.
double measureReadBandwidthGBs(unsigned threads, size_t bytes,
                               int trials = 3);

} // namespace lowbit::bench

#endif // LOWBIT_BENCH_PEAKPROBES_H
