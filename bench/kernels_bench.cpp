// Single-threaded (unless a case says otherwise) GB/s of the weight-streaming kernels: gemv
// (one token) over a 64 MB matrix, per ISA table, beside a plain read of the same buffer (the
// machine's single-thread bandwidth, measured in the same run). Prefill: gemm with 8 tokens.
//
//   ./kernels_bench --benchmark_min_time=1   (a plain number: Debian 12's Google Benchmark)
//
// Counters: "GB/s" = weight bytes streamed per second; "%read" = that over the plain read.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "base/cache_aligned.h"
#include "base/half.h"
#include "base/memory.h"
#include "kernels/kernels.h"
#include "quant/blocks.h"
#include "quant/quantize.h"

namespace moe {
namespace {

constexpr int64_t kN = 7168;  // DeepSeek-V3 hidden size
constexpr size_t kMatrixBytes = 64u << 20;

struct Matrix {
  GgmlType type;
  int64_t rows;
  size_t row_bytes;
  std::vector<uint8_t> w;
  std::vector<uint8_t> a;  // 8 activation rows
};

// A row of weights: random normals, quantized.
void random_row(GgmlType t, std::mt19937& rng, std::vector<float>& x, uint8_t* out) {
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (auto& v : x) v = g(rng);
  quantize_row(t, x.data(), out, kN);
}

// Weights from quantizing random normals (one row, repeated: the bytes streamed are real
// blocks; repetition does not help the caches at 64 MB).
const Matrix& matrix(GgmlType type) {
  static const auto make = [](GgmlType t) {
    Matrix m;
    m.type = t;
    m.row_bytes = row_bytes(t, kN);
    m.rows = static_cast<int64_t>(kMatrixBytes / m.row_bytes);
    std::mt19937 rng(1);
    std::normal_distribution<float> g(0.0f, 1.0f);
    std::vector<float> x(kN);
    m.w.resize(m.rows * m.row_bytes);
    for (int64_t r = 0; r < m.rows; ++r) {
      if (r < 16) {
        random_row(t, rng, x, m.w.data() + r * m.row_bytes);
      } else {
        std::memcpy(m.w.data() + r * m.row_bytes, m.w.data() + (r % 16) * m.row_bytes, m.row_bytes);
      }
    }
    const size_t arb = activation_row_bytes(t, kN);
    m.a.resize(8 * arb);
    for (int k = 0; k < 8; ++k) {
      for (auto& v : x) v = g(rng);
      quantize_row(activation_type(t), x.data(), m.a.data() + k * arb, kN);
    }
    return m;
  };
  static const Matrix q8_0 = make(GgmlType::Q8_0), q4_K = make(GgmlType::Q4_K),
                      q6_K = make(GgmlType::Q6_K), bf16 = make(GgmlType::BF16),
                      q2_K = make(GgmlType::Q2_K), q3_K = make(GgmlType::Q3_K),
                      q5_K = make(GgmlType::Q5_K), q4_0 = make(GgmlType::Q4_0),
                      iq4_nl = make(GgmlType::IQ4_NL);
  // the codebook formats' quantizers are slow: built on first use only
  static const auto iq = [](GgmlType t) -> const Matrix& {
    static const Matrix iq2_xxs = make(GgmlType::IQ2_XXS);
    static const Matrix iq1_s = make(GgmlType::IQ1_S);
    static const Matrix iq1_m = make(GgmlType::IQ1_M);
    static const Matrix iq4_xs = make(GgmlType::IQ4_XS);
    static const Matrix iq3_xxs = make(GgmlType::IQ3_XXS);
    static const Matrix iq3_s = make(GgmlType::IQ3_S);
    static const Matrix iq2_xs = make(GgmlType::IQ2_XS);
    static const Matrix iq2_s = make(GgmlType::IQ2_S);
    switch (t) {
      case GgmlType::IQ2_XXS: return iq2_xxs;
      case GgmlType::IQ1_S: return iq1_s;
      case GgmlType::IQ4_XS: return iq4_xs;
      case GgmlType::IQ3_XXS: return iq3_xxs;
      case GgmlType::IQ3_S: return iq3_s;
      case GgmlType::IQ2_XS: return iq2_xs;
      case GgmlType::IQ2_S: return iq2_s;
      default: return iq1_m;
    }
  };
  switch (type) {
    case GgmlType::Q8_0: return q8_0;
    case GgmlType::Q4_K: return q4_K;
    case GgmlType::Q6_K: return q6_K;
    case GgmlType::Q2_K: return q2_K;
    case GgmlType::Q3_K: return q3_K;
    case GgmlType::Q5_K: return q5_K;
    case GgmlType::Q4_0:
      return q4_0;
    case GgmlType::IQ4_NL:
      return iq4_nl;
    case GgmlType::IQ2_XXS: case GgmlType::IQ1_S: case GgmlType::IQ1_M: case GgmlType::IQ4_XS:
    case GgmlType::IQ3_XXS: case GgmlType::IQ3_S: case GgmlType::IQ2_XS: case GgmlType::IQ2_S:
      return iq(type);
    default: return bf16;
  }
}

void BM_read(benchmark::State& state) {
  const Matrix& m = matrix(GgmlType::Q8_0);
  const auto* p = reinterpret_cast<const uint64_t*>(m.w.data());
  const size_t words = m.w.size() / 8;
  for (auto _ : state) {
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i + 4 <= words; i += 4) {
      s0 += p[i];
      s1 += p[i + 1];
      s2 += p[i + 2];
      s3 += p[i + 3];
    }
    benchmark::DoNotOptimize(s0 + s1 + s2 + s3);
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(m.w.size()) * state.iterations() / 1e9,
                                              benchmark::Counter::kIsRate);
}
BENCHMARK(BM_read)->Unit(benchmark::kMillisecond);

void BM_gemm(benchmark::State& state, GgmlType type, Isa isa, int tokens) {
  if (!isa_supported(isa)) {
    state.SkipWithError("ISA not supported");
    return;
  }
  const KernelTable& k = kernel_table(isa);
  const Matrix& m = matrix(type);
  std::vector<float> y(m.rows * tokens);
  const size_t arb = activation_row_bytes(type, kN);
  for (auto _ : state) {
    k.for_type(type).gemm(kN, m.w.data(), m.row_bytes, m.rows, m.a.data(), arb, tokens, y.data(), m.rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GB/s"] = benchmark::Counter(static_cast<double>(m.w.size()) * state.iterations() / 1e9,
                                              benchmark::Counter::kIsRate);
  state.counters["tok*GB/s"] = benchmark::Counter(
      static_cast<double>(m.w.size()) * tokens * state.iterations() / 1e9, benchmark::Counter::kIsRate);
}

// The load-time packed layout (kernels/packed.h) of the same weights, as the SIMD tables
// repack them. `resident_rows` = 0: the whole 64 MB matrix (streaming; it still fits a large
// L3); > 0: only that many rows, which stay in L2 (the kernel's compute speed, as in
// prefill); kFromDram: 16 copies of the 64 MB matrix, 1 GB, more than any L3. The buffer is
// on transparent huge pages, as the engine's packed weights are (on 4 KiB pages a KVM guest
// read 30 % less: PERFORMANCE.md, "The probe on huge pages").
constexpr int64_t kFromDram = -1;
void BM_gemm_packed(benchmark::State& state, GgmlType type, Isa isa, int tokens, int64_t resident_rows) {
  if (!isa_supported(isa)) {
    state.SkipWithError("ISA not supported");
    return;
  }
  const KernelTable& k = kernel_table(isa);
  const PackedLayout& layout = k.packing[static_cast<uint32_t>(type)];
  const Matrix& m = matrix(type);
  const int64_t whole = m.rows / layout.group_rows * layout.group_rows;
  const int copies = resident_rows == kFromDram ? 16 : 1;
  const int64_t rows = resident_rows > 0 ? resident_rows : whole * copies;
  const size_t prb = row_bytes(layout.packed, kN);  // m.row_bytes but for a conversion
  auto region = MemoryRegion::allocate(rows * prb, PagePolicy::kThp);
  if (!region) {
    state.SkipWithError(region.status().message().c_str());
    return;
  }
  uint8_t* packed = region->data();
  layout.repack(m.w.data(), rows / copies, kN, packed);
  for (int c = 1; c < copies; ++c) std::memcpy(packed + c * whole * prb, packed, whole * prb);
  const size_t arb = activation_row_bytes(layout.packed, kN);
  std::vector<uint8_t> act(tokens * arb);
  std::vector<float> x(kN);
  for (int t = 0; t < tokens; ++t) {
    for (int64_t i = 0; i < kN; ++i) x[i] = static_cast<float>((i * 7 + t) % 13) - 6.0f;
    quantize_activation(k, layout.packed, x.data(), act.data() + t * arb, kN);
  }
  std::vector<float> y(rows * tokens);
  for (auto _ : state) {
    k.for_type(layout.packed).gemm(kN, packed, prb, rows, act.data(), arb, tokens, y.data(), rows);
    benchmark::DoNotOptimize(y.data());
  }
  const double bytes = static_cast<double>(region->size());
  state.counters["GB/s"] =
      benchmark::Counter(bytes * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  state.counters["tok*GB/s"] =
      benchmark::Counter(bytes * tokens * state.iterations() / 1e9, benchmark::Counter::kIsRate);
  // multiply-adds per second (n values x rows x tokens)
  state.counters["GMAC/s"] = benchmark::Counter(static_cast<double>(kN) * rows * tokens * state.iterations() / 1e9,
                                                benchmark::Counter::kIsRate);
}

#define MOE_BENCH_PACKED(type, isa, tokens)                                                                   \
  BENCHMARK_CAPTURE(BM_gemm_packed, type##_R16_##isa##_t##tokens, GgmlType::type, Isa::isa, tokens, 0)        \
      ->Unit(benchmark::kMillisecond);                                                                         \
  BENCHMARK_CAPTURE(BM_gemm_packed, type##_R16_##isa##_t##tokens##_in_L2, GgmlType::type, Isa::isa, tokens, 32) \
      ->Unit(benchmark::kMicrosecond)

#define MOE_BENCH_PACKED_DRAM(type, isa, tokens)                                              \
  BENCHMARK_CAPTURE(BM_gemm_packed, type##_R16_##isa##_t##tokens##_from_dram, GgmlType::type, \
                    Isa::isa, tokens, kFromDram)                                              \
      ->Unit(benchmark::kMillisecond)

// One token over the Q8_0 matrices of an R1 decode step, each shape as the engine calls it:
// `rows` x `cols` weights, packed, copied until the buffer holds 4 GiB (from DRAM; 1 GB could
// partly stay in a 480 MiB L3), one gemm call per copy. Shows whether a matrix's shape (the
// down projection's short rows, the attention's narrow inputs) costs bandwidth that the
// 7168-wide stream above does not. The expert shape also runs on two threads at once (each
// its own buffer): the kernel alone against `bench --membw -t 2`, without the engine around it.
void BM_gemm_q8_0_shape(benchmark::State& state, Isa isa, int64_t rows, int64_t cols) {
  if (!isa_supported(isa)) {
    state.SkipWithError("ISA not supported");
    return;
  }
  const KernelTable& k = kernel_table(isa);
  const PackedLayout& layout = k.packing[static_cast<uint32_t>(GgmlType::Q8_0)];
  const size_t rb = row_bytes(GgmlType::Q8_0, cols);
  const size_t prb = row_bytes(layout.packed, cols);
  std::mt19937 rng(1);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(cols);
  std::vector<uint8_t> w(rows * rb);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : x) v = g(rng);
    quantize_row(GgmlType::Q8_0, x.data(), w.data() + r * rb, cols);
  }
  const size_t matrix_bytes = rows * prb;
  const int64_t copies = std::max<int64_t>(1, static_cast<int64_t>((4ull << 30) / matrix_bytes));
  auto region = MemoryRegion::allocate(copies * matrix_bytes, PagePolicy::kThp);
  if (!region) {
    state.SkipWithError(region.status().message().c_str());
    return;
  }
  layout.repack(w.data(), rows, cols, region->data());
  for (int64_t c = 1; c < copies; ++c)
    std::memcpy(region->data() + c * matrix_bytes, region->data(), matrix_bytes);
  std::vector<uint8_t> act(activation_row_bytes(layout.packed, cols));
  for (auto& v : x) v = g(rng);
  quantize_activation(k, layout.packed, x.data(), act.data(), cols);
  std::vector<float> y(rows);
  for (auto _ : state) {
    for (int64_t c = 0; c < copies; ++c) {
      k.for_type(layout.packed)
          .gemm(cols, region->data() + c * matrix_bytes, prb, rows, act.data(), act.size(), 1,
                y.data(), rows);
    }
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GB/s"] =
      benchmark::Counter(static_cast<double>(copies * matrix_bytes) * state.iterations() / 1e9,
                         benchmark::Counter::kIsRate);
}

// rows x cols of R1's Q8_0 decode matrices (DEEPSEEK.md): an expert's gate/up and down, the
// dense FFN's down, the attention's q_a, q_b, kv_a and output projections.
#define MOE_BENCH_Q8_0_SHAPES(isa)                                                           \
  BENCHMARK_CAPTURE(BM_gemm_q8_0_shape, isa##_expert_gate_2048x7168, Isa::isa, 2048, 7168)   \
      ->Unit(benchmark::kMillisecond)                                                        \
      ->Threads(1)                                                                           \
      ->Threads(2)                                                                           \
      ->UseRealTime();                                                                       \
  BENCHMARK_CAPTURE(BM_gemm_q8_0_shape, isa##_expert_down_7168x2048, Isa::isa, 7168, 2048)   \
      ->Unit(benchmark::kMillisecond);                                                       \
  BENCHMARK_CAPTURE(BM_gemm_q8_0_shape, isa##_dense_down_7168x18432, Isa::isa, 7168, 18432)  \
      ->Unit(benchmark::kMillisecond);                                                       \
  BENCHMARK_CAPTURE(BM_gemm_q8_0_shape, isa##_q_a_1536x7168, Isa::isa, 1536, 7168)           \
      ->Unit(benchmark::kMillisecond);                                                       \
  BENCHMARK_CAPTURE(BM_gemm_q8_0_shape, isa##_q_b_24576x1536, Isa::isa, 24576, 1536)         \
      ->Unit(benchmark::kMillisecond);                                                       \
  BENCHMARK_CAPTURE(BM_gemm_q8_0_shape, isa##_kv_a_576x7168, Isa::isa, 576, 7168)            \
      ->Unit(benchmark::kMillisecond);                                                       \
  BENCHMARK_CAPTURE(BM_gemm_q8_0_shape, isa##_attn_output_7168x16384, Isa::isa, 7168, 16384) \
      ->Unit(benchmark::kMillisecond)
MOE_BENCH_Q8_0_SHAPES(kAvx512);
MOE_BENCH_Q8_0_SHAPES(kAvx2);

// One decode step's MLA attention for one layer and 64 heads (one thread's share of R1's
// 128 on two threads) at a context of `positions`: the scores (f32 gemm of the heads'
// 576-value queries against every latent row) and the weighted sum of the latent rows.
// `part`: 1 the scores only, 2 the weighted sum only, 3 both.
// Shapes of the attention cases: R1's latent rows (kv_lora 512 + rope 64) and 64 heads.
constexpr int64_t kAttnWidth = 576, kAttnLora = 512, kAttnHeads = 64;

// The GMAC/s counter of an attention case: per head and position, 576 products for the
// scores (part & 1) and 512 for the weighted sums (part & 2).
void set_attention_rate(benchmark::State& state, int64_t positions, int part) {
  const int64_t macs = ((part & 1) ? kAttnWidth : 0) + ((part & 2) ? kAttnLora : 0);
  state.counters["GMAC/s"] = benchmark::Counter(
      static_cast<double>(kAttnHeads * positions * macs) * static_cast<double>(state.iterations()) / 1e9,
      benchmark::Counter::kIsRate);
}

void BM_attention_f32(benchmark::State& state, Isa isa, int64_t positions, int part) {
  if (!isa_supported(isa)) {
    state.SkipWithError("ISA not supported");
    return;
  }
  constexpr int64_t kWidth = kAttnWidth, kLora = kAttnLora, kHeads = kAttnHeads;
  const KernelTable& k = kernel_table(isa);
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  // on cache lines, as the engine's latent rows, queries and scores are (base/cache_aligned.h)
  CacheAlignedVector<float> lat(positions * kWidth), q(kHeads * kWidth), scores(kHeads * positions),
      ctx(kHeads * kLora);
  for (auto& v : lat) v = u(rng);
  for (auto& v : q) v = u(rng);
  for (auto& v : scores) v = u(rng);
  for (auto _ : state) {
    if (part & 1) {
      k.for_type(GgmlType::F32).gemm(kWidth, lat.data(), kWidth * sizeof(float), positions, q.data(),
                                     kWidth * sizeof(float), kHeads, scores.data(), positions);
    }
    if (part & 2) k.weighted_rows(scores.data(), positions, kHeads, positions, lat.data(), kWidth, ctx.data(), kLora, kLora, false);
    benchmark::DoNotOptimize(ctx.data());
    benchmark::DoNotOptimize(scores.data());
  }
  set_attention_rate(state, positions, part);
}
// The same step over a bf16 cache read in place (AVX512-BF16's vdpbf16ps: 32 products per
// instruction against the f32 FMA's 16; whether that is faster depends on the CPU's issue
// rate of each, which BM_issue_* shows). Queries and softmax weights in bf16, as the model
// rounds them.
void BM_attention_bf16(benchmark::State& state, int64_t positions, int part) {
  const KernelTable& k = kernel_table(Isa::kAvx512);
  if (!isa_supported(Isa::kAvx512) || k.bf16_scores == nullptr) {
    state.SkipWithError("AVX512-BF16 not supported");
    return;
  }
  constexpr int64_t kWidth = kAttnWidth, kLora = kAttnLora, kHeads = kAttnHeads;
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  CacheAlignedVector<uint16_t> lat(positions * kWidth), q(kHeads * kWidth), weights(kHeads * positions);
  CacheAlignedVector<float> scores(kHeads * positions), ctx(kHeads * kLora);
  for (auto& v : lat) v = f32_to_bf16(u(rng));
  for (auto& v : q) v = f32_to_bf16(u(rng));
  for (auto& v : weights) v = f32_to_bf16(u(rng));
  for (auto _ : state) {
    if (part & 1) k.bf16_scores(kWidth, lat.data(), kWidth, positions, q.data(), kWidth, kHeads, scores.data(), positions);
    if (part & 2) {
      k.bf16_weighted_rows(weights.data(), positions, kHeads, positions, lat.data(), kWidth, ctx.data(), kLora, kLora,
                           false);
    }
    benchmark::DoNotOptimize(ctx.data());
    benchmark::DoNotOptimize(scores.data());
  }
  set_attention_rate(state, positions, part);
}
BENCHMARK_CAPTURE(BM_attention_bf16, ctx2048, 2048, 3)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_attention_bf16, ctx2048_scores, 2048, 1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_attention_bf16, ctx2048_weighted, 2048, 2)->Unit(benchmark::kMillisecond);

#define MOE_BENCH_ATTENTION(isa)                                                                                   \
  BENCHMARK_CAPTURE(BM_attention_f32, isa##_ctx2048, Isa::isa, 2048, 3)->Unit(benchmark::kMillisecond);           \
  BENCHMARK_CAPTURE(BM_attention_f32, isa##_ctx2048_scores, Isa::isa, 2048, 1)->Unit(benchmark::kMillisecond);    \
  BENCHMARK_CAPTURE(BM_attention_f32, isa##_ctx2048_weighted, Isa::isa, 2048, 2)->Unit(benchmark::kMillisecond)
MOE_BENCH_ATTENTION(kAvx2);
MOE_BENCH_ATTENTION(kAvx512);

MOE_BENCH_PACKED_DRAM(Q8_0, kAvx512, 1);
MOE_BENCH_PACKED_DRAM(Q4_K, kAvx512, 1);
MOE_BENCH_PACKED_DRAM(Q6_K, kAvx512, 1);
MOE_BENCH_PACKED_DRAM(Q8_0, kAvx2, 1);
MOE_BENCH_PACKED_DRAM(Q4_K, kAvx2, 1);
MOE_BENCH_PACKED_DRAM(Q6_K, kAvx2, 1);
// A few tokens per pass over weights from memory: a decode step of 2-4 sequences, or an
// expert of a prompt chunk at R1's 256 experts (64 tokens x 8 used: 2 per expert on average).
MOE_BENCH_PACKED_DRAM(Q8_0, kAvx512, 2);
MOE_BENCH_PACKED_DRAM(Q8_0, kAvx2, 2);
MOE_BENCH_PACKED_DRAM(Q8_0, kAvx2, 4);
MOE_BENCH_PACKED_DRAM(Q4_K, kAvx2, 2);
MOE_BENCH_PACKED_DRAM(Q4_K, kAvx2, 4);
MOE_BENCH_PACKED_DRAM(Q6_K, kAvx2, 2);
// Prompt tiles with weights from memory: an expert of a prompt chunk (128 tokens x 8 of
// r1-bench's 64 experts: 16 tokens each on average; R1's 256 experts at 512 tokens too).
MOE_BENCH_PACKED_DRAM(Q8_0, kAvx512, 8);
MOE_BENCH_PACKED_DRAM(Q8_0, kAvx512, 16);
MOE_BENCH_PACKED(Q8_0, kAvx512, 16);
MOE_BENCH_PACKED(Q8_0, kAvx512, 1);
MOE_BENCH_PACKED(Q4_K, kAvx512, 1);
MOE_BENCH_PACKED(Q6_K, kAvx512, 1);
MOE_BENCH_PACKED(Q8_0, kAvx512, 8);
MOE_BENCH_PACKED(Q4_K, kAvx512, 8);
MOE_BENCH_PACKED(Q6_K, kAvx512, 8);
// 16 tokens (here, and for AVX2 below): an expert's share of a pp128 chunk of r1-bench; the
// AVX2 tiles take them in two 8-token passes.
MOE_BENCH_PACKED(Q4_K, kAvx512, 16);
MOE_BENCH_PACKED(Q6_K, kAvx512, 16);
// Q2_K_R16
MOE_BENCH_PACKED_DRAM(Q2_K, kAvx512, 1);
MOE_BENCH_PACKED_DRAM(Q2_K, kAvx2, 1);
MOE_BENCH_PACKED(Q2_K, kAvx512, 1);
MOE_BENCH_PACKED(Q2_K, kAvx512, 8);
MOE_BENCH_PACKED(Q2_K, kAvx512, 16);
MOE_BENCH_PACKED(Q2_K, kAvx2, 1);
MOE_BENCH_PACKED(Q2_K, kAvx2, 8);
MOE_BENCH_PACKED(Q2_K, kAvx2, 16);
// Q3_K_R16
MOE_BENCH_PACKED_DRAM(Q3_K, kAvx512, 1);
MOE_BENCH_PACKED_DRAM(Q3_K, kAvx2, 1);
MOE_BENCH_PACKED(Q3_K, kAvx512, 1);
MOE_BENCH_PACKED(Q3_K, kAvx512, 8);
MOE_BENCH_PACKED(Q3_K, kAvx512, 16);
MOE_BENCH_PACKED(Q3_K, kAvx2, 1);
MOE_BENCH_PACKED(Q3_K, kAvx2, 8);
MOE_BENCH_PACKED(Q3_K, kAvx2, 16);
// Q5_K_R16
MOE_BENCH_PACKED_DRAM(Q5_K, kAvx512, 1);
MOE_BENCH_PACKED_DRAM(Q5_K, kAvx2, 1);
MOE_BENCH_PACKED(Q5_K, kAvx512, 1);
MOE_BENCH_PACKED(Q5_K, kAvx512, 8);
MOE_BENCH_PACKED(Q5_K, kAvx512, 16);
MOE_BENCH_PACKED(Q5_K, kAvx2, 1);
MOE_BENCH_PACKED(Q5_K, kAvx2, 8);
MOE_BENCH_PACKED(Q5_K, kAvx2, 16);
MOE_BENCH_PACKED(Q8_0, kAvx2, 1);
MOE_BENCH_PACKED(Q4_K, kAvx2, 1);
MOE_BENCH_PACKED(Q6_K, kAvx2, 1);
MOE_BENCH_PACKED(Q8_0, kAvx2, 8);
MOE_BENCH_PACKED(Q4_K, kAvx2, 8);
MOE_BENCH_PACKED(Q6_K, kAvx2, 8);
// 16 tokens (see above)
MOE_BENCH_PACKED(Q8_0, kAvx2, 16);
MOE_BENCH_PACKED(Q4_K, kAvx2, 16);
MOE_BENCH_PACKED(Q6_K, kAvx2, 16);

#define MOE_BENCH(type, isa, tokens)                                                          \
  BENCHMARK_CAPTURE(BM_gemm, type##_##isa##_t##tokens, GgmlType::type, Isa::isa, tokens)      \
      ->Unit(benchmark::kMillisecond)

MOE_BENCH(Q8_0, kAvx2, 1);
MOE_BENCH(Q8_0, kAvx512, 1);
MOE_BENCH(Q4_K, kAvx2, 1);
MOE_BENCH(Q4_K, kAvx512, 1);
MOE_BENCH(Q6_K, kAvx2, 1);
MOE_BENCH(Q6_K, kAvx512, 1);
MOE_BENCH(BF16, kAvx2, 1);
MOE_BENCH(BF16, kAvx512, 1);
MOE_BENCH(Q8_0, kScalar, 1);
MOE_BENCH(Q4_K, kScalar, 1);
MOE_BENCH(Q8_0, kAvx2, 8);
MOE_BENCH(Q8_0, kAvx512, 8);
MOE_BENCH(Q4_K, kAvx2, 8);
MOE_BENCH(Q4_K, kAvx512, 8);
MOE_BENCH(Q6_K, kAvx2, 8);
MOE_BENCH(BF16, kAvx2, 8);
// The file-layout products of Q2_K / Q3_K / Q5_K (packed at load since Q2_K_R16 / Q3_K_R16 /
// Q5_K_R16: these are the "before"): published R1 Q2_K, Q3_K_M, Q5_K_M and the dynamic 2-bit
// mixes.
MOE_BENCH(Q2_K, kAvx2, 1);
MOE_BENCH(Q2_K, kAvx512, 1);
MOE_BENCH(Q3_K, kAvx2, 1);
MOE_BENCH(Q3_K, kAvx512, 1);
MOE_BENCH(Q5_K, kAvx2, 1);
MOE_BENCH(Q5_K, kAvx512, 1);
MOE_BENCH(Q2_K, kAvx2, 8);
MOE_BENCH(Q3_K, kAvx2, 8);
MOE_BENCH(Q5_K, kAvx2, 8);
MOE_BENCH(Q5_K, kAvx512, 8);
// The codebook formats of the dynamic 1-2 bit files (file layout, expanded per tile).
MOE_BENCH(IQ2_XXS, kAvx2, 1);
MOE_BENCH(IQ2_XXS, kAvx512, 1);
MOE_BENCH(IQ1_S, kAvx2, 1);
MOE_BENCH(IQ1_S, kAvx512, 1);
MOE_BENCH(IQ1_M, kAvx2, 1);
MOE_BENCH(IQ1_M, kAvx512, 1);
MOE_BENCH(IQ2_XXS, kAvx2, 8);
MOE_BENCH(IQ2_XXS, kAvx512, 8);
MOE_BENCH(IQ1_S, kAvx2, 8);
MOE_BENCH(IQ1_S, kAvx512, 8);
MOE_BENCH(IQ1_M, kAvx2, 8);
MOE_BENCH(IQ1_M, kAvx512, 8);
// IQ1_S_R16 (the conversion into 2-bit values; GB/s of its own, 1.4x larger, bytes)
MOE_BENCH_PACKED_DRAM(IQ1_S, kAvx512, 1);
MOE_BENCH_PACKED_DRAM(IQ1_S, kAvx2, 1);
MOE_BENCH_PACKED(IQ1_S, kAvx512, 1);
MOE_BENCH_PACKED(IQ1_S, kAvx512, 8);
MOE_BENCH_PACKED(IQ1_S, kAvx512, 16);
MOE_BENCH_PACKED(IQ1_S, kAvx2, 1);
MOE_BENCH_PACKED(IQ1_S, kAvx2, 8);
MOE_BENCH_PACKED(IQ1_S, kAvx2, 16);
// IQ2_XXS_R16 (3-bit codes, 1.55x the file's bytes)
MOE_BENCH_PACKED_DRAM(IQ2_XXS, kAvx512, 1);
MOE_BENCH_PACKED_DRAM(IQ2_XXS, kAvx2, 1);
MOE_BENCH_PACKED(IQ2_XXS, kAvx512, 1);
MOE_BENCH_PACKED(IQ2_XXS, kAvx512, 8);
MOE_BENCH_PACKED(IQ2_XXS, kAvx512, 16);
MOE_BENCH_PACKED(IQ2_XXS, kAvx2, 1);
MOE_BENCH_PACKED(IQ2_XXS, kAvx2, 8);
MOE_BENCH_PACKED(IQ2_XXS, kAvx2, 16);
// IQ1_M_R16 (Q3_K_R16's layout with 3-bit codes, 1.96x the file's bytes)
MOE_BENCH_PACKED_DRAM(IQ1_M, kAvx512, 1);
MOE_BENCH_PACKED_DRAM(IQ1_M, kAvx2, 1);
MOE_BENCH_PACKED(IQ1_M, kAvx512, 1);
MOE_BENCH_PACKED(IQ1_M, kAvx512, 8);
MOE_BENCH_PACKED(IQ1_M, kAvx2, 1);
MOE_BENCH_PACKED(IQ1_M, kAvx2, 8);
// IQ4_XS: the file layout (kept with --no-repack) and IQ4_XS_R16 (its own bytes, 16 rows
// interleaved)
MOE_BENCH(IQ4_XS, kAvx2, 1);
MOE_BENCH(IQ4_XS, kAvx512, 1);
MOE_BENCH(IQ4_XS, kAvx2, 8);
MOE_BENCH(IQ4_XS, kAvx512, 8);
MOE_BENCH_PACKED_DRAM(IQ4_XS, kAvx512, 1);
MOE_BENCH_PACKED_DRAM(IQ4_XS, kAvx2, 1);
MOE_BENCH_PACKED(IQ4_XS, kAvx512, 1);
MOE_BENCH_PACKED(IQ4_XS, kAvx512, 8);
MOE_BENCH_PACKED(IQ4_XS, kAvx512, 16);
MOE_BENCH_PACKED(IQ4_XS, kAvx2, 1);
MOE_BENCH_PACKED(IQ4_XS, kAvx2, 8);
MOE_BENCH_PACKED(IQ4_XS, kAvx2, 16);
// IQ3_XXS / IQ3_S: the file layout's codebook expansion and their conversions into IQ4_XS_R16's
// layout (IQ3_XXS_R16 1.39x, IQ3_S_R16 1.24x the file's bytes)
MOE_BENCH(IQ3_XXS, kAvx2, 1);
MOE_BENCH(IQ3_XXS, kAvx512, 1);
MOE_BENCH(IQ3_XXS, kAvx512, 8);
MOE_BENCH(IQ3_S, kAvx2, 1);
MOE_BENCH(IQ3_S, kAvx512, 1);
MOE_BENCH(IQ3_S, kAvx512, 8);
MOE_BENCH_PACKED_DRAM(IQ3_XXS, kAvx512, 1);
MOE_BENCH_PACKED(IQ3_XXS, kAvx512, 1);
MOE_BENCH_PACKED(IQ3_XXS, kAvx512, 8);
MOE_BENCH_PACKED(IQ3_XXS, kAvx2, 1);
MOE_BENCH_PACKED(IQ3_XXS, kAvx2, 8);
MOE_BENCH_PACKED_DRAM(IQ3_S, kAvx512, 1);
MOE_BENCH_PACKED(IQ3_S, kAvx512, 1);
MOE_BENCH_PACKED(IQ3_S, kAvx512, 8);
MOE_BENCH_PACKED(IQ3_S, kAvx2, 1);
MOE_BENCH_PACKED(IQ3_S, kAvx2, 8);
// IQ2_XS / IQ2_S: the file layout and IQ2_XS_R16 (IQ2_XXS_R16's codes, a scale per 16 values)
MOE_BENCH(IQ2_XS, kAvx2, 1);
MOE_BENCH(IQ2_XS, kAvx512, 1);
MOE_BENCH(IQ2_XS, kAvx512, 8);
MOE_BENCH(IQ2_S, kAvx512, 1);
MOE_BENCH_PACKED_DRAM(IQ2_XS, kAvx512, 1);
MOE_BENCH_PACKED(IQ2_XS, kAvx512, 1);
MOE_BENCH_PACKED(IQ2_XS, kAvx512, 8);
MOE_BENCH_PACKED(IQ2_XS, kAvx2, 1);
MOE_BENCH_PACKED(IQ2_XS, kAvx2, 8);
MOE_BENCH_PACKED(IQ2_S, kAvx512, 1);
// Q4_0 / IQ4_NL in the file layout: Q4_0 before Q4_0_R16 (below); what IQ4_NL routed
// experts run on past the memory limit (pack_weights converts them into Q8_0_R16 within it).
MOE_BENCH(Q4_0, kAvx2, 1);
MOE_BENCH(Q4_0, kAvx512, 1);
MOE_BENCH(IQ4_NL, kAvx2, 1);
MOE_BENCH(IQ4_NL, kAvx512, 1);
MOE_BENCH(Q4_0, kAvx2, 8);
MOE_BENCH(Q4_0, kAvx512, 8);
// Q4_0_R16 (the file's bytes, 16 rows interleaved)
MOE_BENCH_PACKED_DRAM(Q4_0, kAvx512, 1);
MOE_BENCH_PACKED_DRAM(Q4_0, kAvx2, 1);
MOE_BENCH_PACKED(Q4_0, kAvx512, 1);
MOE_BENCH_PACKED(Q4_0, kAvx512, 8);
MOE_BENCH_PACKED(Q4_0, kAvx512, 16);
MOE_BENCH_PACKED(Q4_0, kAvx2, 1);
MOE_BENCH_PACKED(Q4_0, kAvx2, 8);
MOE_BENCH_PACKED(Q4_0, kAvx2, 16);

}  // namespace
}  // namespace moe

BENCHMARK_MAIN();
