// AVX-512 VNNI Q8_0_R16 and Q4_0_R16 x Q8_0_S products (bitwise ref::gemm_q8_0_r16 and
// ref::gemm_q4_0_r16): per block column, 8 vectors of 64 bytes hold the 16 rows' 32 values
// as unsigned bytes (Q8_0_R16: 8 loads of q + 128; Q4_0_R16: the two nibbles of 4 loads),
// each vpdpbusd against 4 activation bytes broadcast advances all 16 row sums, and one
// subtraction takes back the offset (128 or 8 times sum(a)); the 16 scales convert in one
// instruction.
#include <immintrin.h>

#include <array>
#include <utility>

#include "kernels/avx512/dpbusd_bcast.h"
#include "kernels/packed.h"
#include "quant/blocks.h"

namespace moe::avx512 {
namespace {

// The two layouts' block columns: bytes, the 8 chunks of unsigned values (chunk c: values
// 4c..4c+3 of the 16 rows), and the offset those values carry times sum(a).
struct Q8Column {
  static constexpr size_t kBytes = kPackRows * sizeof(BlockQ8_0);  // 544
  static void chunks(const uint8_t* q, __m512i (&w)[8]) {
    for (int c = 0; c < 8; ++c) w[c] = _mm512_loadu_si512(q + 64 * c);
  }
  // the int32 sums' start, -128 sum(a): a broadcast load
  static __m512i start(const BlockQ8_0S& a) { return _mm512_set1_epi32(a.neg_sum128); }
};
struct Q40Column {
  static constexpr size_t kBytes = kPackRows * sizeof(BlockQ4_0);  // 288
  static void chunks(const uint8_t* q, __m512i (&w)[8]) {
    const __m512i m0f = _mm512_set1_epi8(0x0F);
    for (int c = 0; c < 4; ++c) {
      const __m512i v = _mm512_loadu_si512(q + 64 * c);
      w[c] = _mm512_and_si512(v, m0f);
      w[c + 4] = _mm512_and_si512(_mm512_srli_epi16(v, 4), m0f);
    }
  }
  // -8 sum(a) (the shift is exact: 128 divides neg_sum128)
  static __m512i start(const BlockQ8_0S& a) {
    return _mm512_srai_epi32(_mm512_set1_epi32(a.neg_sum128), 4);
  }
};

// Prefetch distance ahead of the column being read (a group is one sequential stream), by
// the tokens sharing each load: from DRAM on huge pages, 1-2 tokens read 5-7 % faster 2048
// bytes ahead than 8192, 8-16 tokens 3-7 % slower (PERFORMANCE.md, "The probe on huge pages").
template <int T>
constexpr size_t kPrefetchBytes = T < 8 ? 2048 : 8192;
// Tokens sharing each weight load (prefill): 16 accumulators and the column's 8 chunks
// fit the 32 registers, and a column read from memory serves 16 tokens at once.
constexpr int kTile = 16;

// Tokens [0, T) (activation rows a_stride bytes apart from a0) against one group of 16
// rows; y rows contiguous per token.
template <class F, int T>
inline void group_tile(int64_t nb, const uint8_t* group, const uint8_t* a0, int64_t a_stride,
                       float* y, int64_t y_stride) {
  __m512 acc[T];  // (every loop over t unrolled, so acc stays in registers)
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * F::kBytes;
#pragma GCC unroll 16
    for (size_t off = 0; off < F::kBytes; off += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(col + kPrefetchBytes<T> + off), _MM_HINT_T1);
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(col)));
    const uint8_t* q = col + kPackRows * sizeof(uint16_t);
    __m512i w[8];
    F::chunks(q, w);
    const uint8_t* at = a0 + b * static_cast<int64_t>(sizeof(BlockQ8_0S));
#pragma GCC unroll 16
    for (int t = 0; t < T; ++t, at += a_stride) {
      const BlockQ8_0S& a = *reinterpret_cast<const BlockQ8_0S*>(at);
      // One chain per token, started at -offset sum(a) (a broadcast load): the tokens' chains
      // overlap out of order, and neither a second chain's add nor the offset's subtraction
      // takes a port vpdpbusd needs.
      __m512i isum = dpbusd_bcast(F::start(a), w[0], a.qs + 0);
#pragma GCC unroll 8
      for (int c = 1; c < 8; ++c) isum = dpbusd_bcast(isum, w[c], a.qs + 4 * c);
      const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(a.d));
      acc[t] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(isum), acc[t]);
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, acc[t]);
}

using TileFn = void (*)(int64_t, const uint8_t*, const uint8_t*, int64_t, float*, int64_t);
template <class F, size_t... I>
constexpr std::array<TileFn, sizeof...(I)> make_tiles(std::index_sequence<I...>) {
  return {group_tile<F, static_cast<int>(I) + 1>...};
}
// kTiles<F>[T - 1] serves T tokens.
template <class F>
constexpr std::array<TileFn, kTile> kTiles = make_tiles<F>(std::make_index_sequence<kTile>{});

template <class F>
void gemm_groups(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                 size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / kQK;
  for (int64_t g = 0; g < rows / kPackRows; ++g) {
    const uint8_t* group = static_cast<const uint8_t*>(w) + g * kPackRows * w_row_bytes;
    for (int64_t t0 = 0; t0 < tokens; t0 += kTile) {
      const int tn = static_cast<int>(tokens - t0 < kTile ? tokens - t0 : kTile);
      kTiles<F>[tn - 1](nb, group, static_cast<const uint8_t*>(a) + t0 * a_row_bytes,
                        static_cast<int64_t>(a_row_bytes), y + t0 * y_stride + g * kPackRows,
                        y_stride);
    }
  }
}

}  // namespace

void gemm_q8_0_r16(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                   size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  gemm_groups<Q8Column>(n, w, w_row_bytes, rows, a, a_row_bytes, tokens, y, y_stride);
}
void gemm_q4_0_r16(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                   size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  gemm_groups<Q40Column>(n, w, w_row_bytes, rows, a, a_row_bytes, tokens, y, y_stride);
}

}  // namespace moe::avx512
