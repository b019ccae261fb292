//===- PeakProbes.cpp - FMA, VNNI and memory read peaks (-O3 -mavx2) -----===//

#include "PeakProbes.h"

#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include <sys/mman.h>

using namespace lowbit::bench;

namespace {
using Clock = std::chrono::steady_clock;

/// Runs `work(thread)` on `threads` threads at once and returns the wall
/// time in seconds.
template <typename Work> double timeOnThreads(unsigned threads, Work work) {
  std::vector<std::thread> pool;
  auto start = Clock::now();
  for (unsigned t = 0; t < threads; ++t)
    pool.emplace_back([&work, t] { work(t); });
  for (std::thread &thread : pool)
    thread.join();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// 12 independent accumulators: more than FMA latency x FMA ports on any
/// AVX2 core (Zen 1: 5 x 1 ymm; Haswell to Zen 4: 4-5 x 2).
constexpr int kChains = 12;

float fmaChains(long iterations, float seed) {
  __m256 acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = _mm256_set1_ps(seed + float(i));
  const __m256 scale = _mm256_set1_ps(0.999999f);
  const __m256 shift = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iterations; ++it) {
    for (int i = 0; i < kChains; ++i)
      acc[i] = _mm256_fmadd_ps(acc[i], scale, shift);
    // Keep the compiler from reasoning about the loop.
    __asm__ volatile("" : "+x"(acc[0]), "+x"(acc[1]), "+x"(acc[2]),
                     "+x"(acc[3]), "+x"(acc[4]), "+x"(acc[5]));
  }
  __m256 sum = acc[0];
  for (int i = 1; i < kChains; ++i)
    sum = _mm256_add_ps(sum, acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  return lanes[0] + lanes[7];
}

/// vpdpbusd chains, compiled for AVX-512 VNNI alone (the caller checks the
/// CPU first).
__attribute__((target("avx512f,avx512vnni"))) int vnniChains(long iterations,
                                                             int seed) {
  __m512i acc[kChains];
  for (int i = 0; i < kChains; ++i)
    acc[i] = _mm512_set1_epi32(seed + i);
  const __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-5);
  for (long it = 0; it < iterations; ++it) {
    for (int i = 0; i < kChains; ++i)
      acc[i] = _mm512_dpbusd_epi32(acc[i], a, b);
    __asm__ volatile(""
                     : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]),
                       "+v"(acc[4]), "+v"(acc[5]));
  }
  __m512i sum = acc[0];
  for (int i = 1; i < kChains; ++i)
    sum = _mm512_add_epi32(sum, acc[i]);
  return _mm512_reduce_add_epi32(sum);
}

float sumFloats(const float *data, size_t count) {
  __m256 acc[8];
  for (__m256 &a : acc)
    a = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 64 <= count; i += 64)
    for (int j = 0; j < 8; ++j)
      acc[j] = _mm256_add_ps(acc[j], _mm256_loadu_ps(data + i + 8 * j));
  __m256 sum = acc[0];
  for (int j = 1; j < 8; ++j)
    sum = _mm256_add_ps(sum, acc[j]);
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  float total = 0;
  for (float lane : lanes)
    total += lane;
  for (; i < count; ++i)
    total += data[i];
  return total;
}
} // namespace

double lowbit::bench::measureFmaPeakGflops(unsigned threads, int trials) {
  constexpr long kIterations = 50'000'000;
  double best = 0;
  std::vector<float> sink(threads);
  for (int trial = 0; trial < trials; ++trial) {
    double seconds = timeOnThreads(threads, [&](unsigned t) {
      sink[t] = fmaChains(kIterations, float(t + trial));
    });
    double flops = double(threads) * kIterations * kChains * 8 * 2;
    best = std::max(best, flops / seconds * 1e-9);
  }
  volatile float keep = sink[0];
  (void)keep;
  return best;
}

double lowbit::bench::measureVnniPeakGops(unsigned threads, int trials) {
  if (!__builtin_cpu_supports("avx512vnni"))
    return 0;
  constexpr long kIterations = 20'000'000;
  double best = 0;
  std::vector<int> sink(threads);
  for (int trial = 0; trial < trials; ++trial) {
    double seconds = timeOnThreads(threads, [&](unsigned t) {
      sink[t] = vnniChains(kIterations, int(t + trial));
    });
    // 64 byte pairs an instruction, a multiply and an add each.
    double ops = double(threads) * kIterations * kChains * 64 * 2;
    best = std::max(best, ops / seconds * 1e-9);
  }
  volatile int keep = sink[0];
  (void)keep;
  return best;
}

double lowbit::bench::measureReadBandwidthGBs(unsigned threads, size_t bytes,
                                              int trials) {
  size_t count = bytes / sizeof(float);
  // In 2 MiB pages where the kernel gives them: the TLB misses of 4 KiB
  // pages, not the memory, would otherwise bound the probe (and a kernel
  // whose weights are in huge pages would exceed it).
  size_t huge = size_t(1) << 21;
  size_t rounded = (count * 4 + huge - 1) / huge * huge;
  auto *data = static_cast<float *>(std::aligned_alloc(huge, rounded));
  if (!data)
    return 0;
  madvise(data, rounded, MADV_HUGEPAGE);
  // Touch every page from the threads that will read them.
  size_t perThread = (count + threads - 1) / threads;
  timeOnThreads(threads, [&](unsigned t) {
    size_t begin = std::min(count, t * perThread);
    size_t end = std::min(count, begin + perThread);
    for (size_t i = begin; i < end; ++i)
      data[i] = float(i & 1023) * 1e-3f;
  });
  double best = 0;
  std::vector<float> sink(threads);
  for (int trial = 0; trial < trials; ++trial) {
    double seconds = timeOnThreads(threads, [&](unsigned t) {
      size_t begin = std::min(count, t * perThread);
      size_t end = std::min(count, begin + perThread);
      sink[t] = sumFloats(data + begin, end - begin);
    });
    best = std::max(best, double(count * 4) / seconds * 1e-9);
  }
  volatile float keep = sink[0];
  (void)keep;
  std::free(data);
  return best;
}
