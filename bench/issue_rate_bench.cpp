// Instruction issue rates of the vector products a kernel can be built from: 12 independent
// accumulator chains, so each figure is the core's throughput, not latency. Answers "would
// this instruction beat the f32 FMA here" before a kernel is written for it (on one Xeon,
// vdpbf16ps zmm issued at a quarter of vfmadd231ps's rate: half the MACs per cycle).
// Counters: Ginstr/s (instructions per second / 1e9) and GMAC/s (multiply-adds).
// Only the loops are built for AVX-512 or AVX2 (target attributes, or assembly) and run after
// a check of the CPU, so kernels_bench still starts on a machine without them.
// GCC 12's 512-bit reduce intrinsics read an "undefined" vector (bug 105593, as in
// src/kernels/avx512/float.cpp).
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <benchmark/benchmark.h>
#include <immintrin.h>

#include "base/cpu_features.h"

namespace {

constexpr int64_t kSteps = 1 << 20;  // per call, 12 instructions each

#define MOE_R12(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define MOE_SUM(i) +_mm512_reduce_add_ps(a##i)

__attribute__((target("avx512f"))) float run_fma_f32() {
  __m512 x = _mm512_set1_ps(1.0001f);
  const __m512 y = _mm512_set1_ps(0.9999f);
#define DECL(i) __m512 a##i = _mm512_setzero_ps();
  MOE_R12(DECL)
#undef DECL
  for (int64_t n = 0; n < kSteps; ++n) {
#define STEP(i) a##i = _mm512_fmadd_ps(x, y, a##i);
    MOE_R12(STEP)
#undef STEP
    asm volatile("" : "+v"(x));
  }
  return 0.0f MOE_R12(MOE_SUM);
}

__attribute__((target("avx512f,avx512bf16"))) float run_dpbf16ps() {
  __m512bh x = reinterpret_cast<__m512bh>(_mm512_set1_epi32(0x3f803f80));
  const __m512bh y = x;
#define DECL(i) __m512 a##i = _mm512_setzero_ps();
  MOE_R12(DECL)
#undef DECL
  for (int64_t n = 0; n < kSteps; ++n) {
#define STEP(i) a##i = _mm512_dpbf16_ps(a##i, x, y);
    MOE_R12(STEP)
#undef STEP
    asm volatile("" : "+v"(x));
  }
  return 0.0f MOE_R12(MOE_SUM);
}

__attribute__((target("avx512f,avx512vnni"))) float run_dpbusd() {
  __m512i x = _mm512_set1_epi32(0x01010101);
  const __m512i y = x;
#define DECL(i) __m512i a##i = _mm512_setzero_si512();
  MOE_R12(DECL)
#undef DECL
  for (int64_t n = 0; n < kSteps; ++n) {
#define STEP(i) a##i = _mm512_dpbusd_epi32(a##i, x, y);
    MOE_R12(STEP)
#undef STEP
    asm volatile("" : "+v"(x));
  }
#define SUM_I(i) +static_cast<float>(_mm512_reduce_add_epi32(a##i))
  return 0.0f MOE_R12(SUM_I);
#undef SUM_I
}

// AVX2 (the Zen 3 path): the ymm FMA, and the int8 step of the AVX2 integer kernels
// (kernels/avx2/packed.cpp): vpmaddubsw into int16 pair sums, vpaddw into an accumulator;
// there is no vpdpbusd, so this pair is the kernels' ceiling: 32 multiply-adds a pair.
#define MOE_SUM8(i) +_mm256_cvtss_f32(a##i)
__attribute__((target("avx2,fma"))) float run_fma_f32_avx2() {
  __m256 x = _mm256_set1_ps(1.0001f);
  const __m256 y = _mm256_set1_ps(0.9999f);
#define DECL(i) __m256 a##i = _mm256_setzero_ps();
  MOE_R12(DECL)
#undef DECL
  for (int64_t n = 0; n < kSteps; ++n) {
#define STEP(i) a##i = _mm256_fmadd_ps(x, y, a##i);
    MOE_R12(STEP)
#undef STEP
    asm volatile("" : "+x"(x));
  }
  return 0.0f MOE_R12(MOE_SUM8);
}

// In assembly: with intrinsics GCC kept some of the 12 int16 accumulators on the stack.
float run_maddubs_avx2() {
  int64_t n = kSteps;
#define PAIR(i, t) "vpmaddubsw %%ymm13, %%ymm12, %%ymm" #t "\n\tvpaddw %%ymm" #t ", %%ymm" #i ", %%ymm" #i "\n\t"
  asm volatile(
      "vpxor %%xmm12, %%xmm12, %%xmm12\n\tvpxor %%xmm13, %%xmm13, %%xmm13\n\t"
      "1:\n\t" PAIR(0, 14) PAIR(1, 15) PAIR(2, 14) PAIR(3, 15) PAIR(4, 14) PAIR(5, 15) PAIR(6, 14) PAIR(7, 15)
          PAIR(8, 14) PAIR(9, 15) PAIR(10, 14) PAIR(11, 15) "dec %0\n\tjnz 1b\n\tvzeroupper"
      : "+r"(n)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
        "xmm13", "xmm14", "xmm15", "cc");
#undef PAIR
  return static_cast<float>(n);
}
#undef MOE_SUM8

// `instr_per_step`: instructions in one of the 12 steps of `loop` (Ginstr/s counts them all).
void run(benchmark::State& state, bool supported, float (*loop)(), double macs_per_step, int instr_per_step = 1) {
  if (!supported) return state.SkipWithError("instruction not supported by this CPU");
  for (auto _ : state) benchmark::DoNotOptimize(loop());
  const double steps = static_cast<double>(state.iterations()) * kSteps * 12;
  state.counters["Ginstr/s"] = benchmark::Counter(steps * instr_per_step / 1e9, benchmark::Counter::kIsRate);
  state.counters["GMAC/s"] = benchmark::Counter(steps * macs_per_step / 1e9, benchmark::Counter::kIsRate);
}

const moe::CpuFeatures& cpu() {
  static const moe::CpuFeatures f = moe::detect_cpu_features();
  return f;
}

void BM_issue_fma_f32(benchmark::State& s) { run(s, cpu().avx512f, run_fma_f32, 16); }
void BM_issue_dpbf16ps(benchmark::State& s) { run(s, cpu().avx512f && cpu().avx512bf16, run_dpbf16ps, 32); }
void BM_issue_dpbusd(benchmark::State& s) { run(s, cpu().avx512f && cpu().avx512vnni, run_dpbusd, 64); }
void BM_issue_fma_f32_avx2(benchmark::State& s) { run(s, cpu().avx2 && cpu().fma, run_fma_f32_avx2, 8); }
void BM_issue_maddubs_paddw_avx2(benchmark::State& s) { run(s, cpu().avx2, run_maddubs_avx2, 32, 2); }

}  // namespace

BENCHMARK(BM_issue_fma_f32);
BENCHMARK(BM_issue_dpbf16ps);
BENCHMARK(BM_issue_dpbusd);
BENCHMARK(BM_issue_fma_f32_avx2);
BENCHMARK(BM_issue_maddubs_paddw_avx2);
