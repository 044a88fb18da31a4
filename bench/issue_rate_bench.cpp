// Instruction issue rates of the vector products a kernel can be built from: 12 independent
// accumulator chains, so each figure is the core's throughput, not latency. Answers "would
// this instruction beat the f32 FMA here" before a kernel is written for it.
// Counters: Ginstr/s (instructions per second / 1e9) and GMAC/s (multiply-adds).
//
// Every loop is written in assembly. With intrinsics, 12 chains that start equal and take the
// same operands are the same value, and GCC computed one and copied it: the loop held a
// single instruction, and the "rate" was 12 times the inverse of its latency (the figures
// these cases printed before 2026-11-30 06:45 UTC). AVX2's int8 step kept some of its int16
// accumulators on the stack too. The loops only run after a check of the CPU, so
// kernels_bench still starts on a machine without AVX-512.
#include <benchmark/benchmark.h>

#include <cstdint>

#include "base/cpu_features.h"

namespace {

constexpr int64_t kSteps = 1 << 20;  // per call, 12 steps each

// kSteps iterations of 12 STEP(i, t): register 12 and 13 are the operands, 0-11 the chains,
// 14 and 15 a product's temporary (alternating), all zero at the start (vzeroall clears
// zmm0-15 whole). `V` is the register prefix ("ymm" or "zmm") that STEP pastes.
#define MOE_ISSUE_LOOP(STEP)                                                                            \
  int64_t n = kSteps;                                                                                   \
  asm volatile("vzeroall\n\t"                                                                           \
               "1:\n\t" STEP(0, 14) STEP(1, 15) STEP(2, 14) STEP(3, 15) STEP(4, 14) STEP(5, 15)         \
                   STEP(6, 14) STEP(7, 15) STEP(8, 14) STEP(9, 15) STEP(10, 14) STEP(11, 15)           \
               "dec %0\n\tjnz 1b\n\tvzeroupper"                                                        \
               : "+r"(n)                                                                                \
               :                                                                                        \
               : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",  \
                 "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");                                    \
  return static_cast<float>(n)

// One instruction `op` on operands 13, 12 into chain i.
#define MOE_ACC(op, V, i) #op " %%" #V "13, %%" #V "12, %%" #V #i "\n\t"

float run_fma_f32() {
#define STEP(i, t) MOE_ACC(vfmadd231ps, zmm, i)
  MOE_ISSUE_LOOP(STEP);
#undef STEP
}

float run_dpbf16ps() {
#define STEP(i, t) MOE_ACC(vdpbf16ps, zmm, i)
  MOE_ISSUE_LOOP(STEP);
#undef STEP
}

float run_dpbusd() {
#define STEP(i, t) MOE_ACC(vpdpbusd, zmm, i)
  MOE_ISSUE_LOOP(STEP);
#undef STEP
}

// AVX2 (the Zen 3 path): the ymm FMA, and the int8 step of the AVX2 integer kernels
// (kernels/avx2/packed.cpp): vpmaddubsw into int16 pair sums, vpaddw into an accumulator;
// there is no vpdpbusd, so this pair is the kernels' ceiling: 32 multiply-adds a pair.
float run_fma_f32_avx2() {
#define STEP(i, t) MOE_ACC(vfmadd231ps, ymm, i)
  MOE_ISSUE_LOOP(STEP);
#undef STEP
}

float run_maddubs_avx2() {
#define STEP(i, t) "vpmaddubsw %%ymm13, %%ymm12, %%ymm" #t "\n\tvpaddw %%ymm" #t ", %%ymm" #i ", %%ymm" #i "\n\t"
  MOE_ISSUE_LOOP(STEP);
#undef STEP
}

#undef MOE_ACC
#undef MOE_ISSUE_LOOP

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
