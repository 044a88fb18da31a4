// Shared pieces of the AVX2 packed products (packed.cpp, packed_iq1_s.cpp): loads and
// broadcasts, the prefetch ahead of a group's stream, the K tiles' column start, and the
// driver over groups of 16 rows. Internal linkage, as tile.h (only -mavx2 sources include it).
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "kernels/packed.h"
#include "quant/blocks.h"

namespace moe::avx2 {
namespace {

// Ahead of the column being read: from DRAM on huge pages (as the engine's packed weights are),
// one and two tokens read 7-11 % faster 2048 bytes ahead than 4096 (Q6_K the same) on the Xeon
// of PERFORMANCE.md ("The probe on huge pages"; 4096 had been chosen on 4 KiB pages).
constexpr size_t kGroupPrefetchBytes = 2048;

inline __m256i load256(const void* p) {
  return _mm256_loadu_si256(static_cast<const __m256i*>(p));
}
inline __m128i load64(const void* p) {
  return _mm_loadl_epi64(static_cast<const __m128i*>(p));
}
inline __m128i load128(const void* p) {
  return _mm_loadu_si128(static_cast<const __m128i*>(p));
}
// 4 activation bytes in every 32-bit lane.
inline __m256i bcast4(const int8_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, sizeof(v));
  return _mm256_set1_epi32(v);
}
// The int16 pair (p[0], p[1]) in every 32-bit lane.
inline __m256i bcast_pair(const int16_t* p) {
  int32_t v;
  __builtin_memcpy(&v, p, sizeof(v));
  return _mm256_set1_epi32(v);
}
// The 8 bytes at p (one per row) as the int16 pair (x, x) in each row's 32-bit lane.
inline __m128i dup_bytes(const void* p) {
  const __m128i x = load64(p);
  return _mm_unpacklo_epi8(x, x);
}

// The 4 chunks of a 32-byte half line of 2-bit values (Q2_K_R16's layout, 8 rows): chunk k =
// (w >> 2k) & 3.
inline void two_bit_chunks(__m256i w, __m256i (&v)[4]) {
  const __m256i m3 = _mm256_set1_epi8(3);
  v[0] = _mm256_and_si256(w, m3);
  v[1] = _mm256_and_si256(_mm256_srli_epi16(w, 2), m3);
  v[2] = _mm256_and_si256(_mm256_srli_epi16(w, 4), m3);
  v[3] = _mm256_and_si256(_mm256_srli_epi16(w, 6), m3);
}

// The 3-bit values of half hh of a line, w, with the line's 32 high-bit bytes hw (Q3_K_R16's
// layout) as two chunks a byte: shifted up by 2 hh, the half's high bits sit in bits 2, 3, 6,
// 7, so x02 = (w & 0x33) | (h & 0x44) holds chunks 0 and 2 as its two nibbles and
// x13 = ((w >> 2) & 0x33) | ((h >> 1) & 0x44) chunks 1 and 3 (packed_k.cpp). Bits 3 and 7
// are clear.
inline void three_bit_pairs(__m256i w, __m256i hw, int hh, __m256i* x02, __m256i* x13) {
  const __m256i m33 = _mm256_set1_epi8(0x33), m44 = _mm256_set1_epi8(0x44);
  const __m256i hx = _mm256_sll_epi16(hw, _mm_cvtsi32_si128(2 * hh));
  *x02 = _mm256_or_si256(_mm256_and_si256(w, m33), _mm256_and_si256(hx, m44));
  *x13 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(w, 2), m33),
                         _mm256_and_si256(_mm256_srli_epi16(hx, 1), m44));
}

// `lines` cache lines from kGroupPrefetchBytes ahead of p into L2 (constant counts: unrolled).
inline void prefetch_ahead(const uint8_t* p, int lines) {
#pragma GCC unroll 64
  for (int k = 0; k < lines; ++k) {
    _mm_prefetch(reinterpret_cast<const char*>(p + kGroupPrefetchBytes + 64 * k), _MM_HINT_T1);
  }
}

// The K tiles' float sums (tokens [0, T) x halves [h0, h0 + H)) start at zero in y.
template <int T, int H>
inline void zero_sums_in_y(float* y, int64_t y_stride, int h0) {
  for (int t = 0; t < T; ++t) {
    for (int h = 0; h < H; ++h)
      _mm256_storeu_ps(y + t * y_stride + 8 * (h0 + h), _mm256_setzero_ps());
  }
}

// A K tile's block column b: each token's activation block, and its int32 sums at zero.
template <int T, int H>
inline void start_column(const BlockQ8_K* const* act, int64_t b, const BlockQ8_K* (&a)[T],
                         __m256i (&isum)[T][H]) {
  for (int t = 0; t < T; ++t) {
    a[t] = act[t] + b;
    for (int h = 0; h < H; ++h) isum[t][h] = _mm256_setzero_si256();
  }
}

template <class A>
using TileFn = void (*)(int64_t, const uint8_t*, int, const A* const*, float*, int64_t);

// Calls of at most this many tokens pass once over both halves of each group (gemm_groups).
constexpr int kOnePassTokens = 4;

// Groups of 16 rows: one token in one pass over both halves, else up to kTile tokens per pass
// over each half (kMulti[k] takes k + 2 tokens). A call of 2 to kOnePassTokens tokens also
// passes once over both halves (kPair[k] takes k + 2 tokens): its weights come from memory,
// and half passes would leave the second one's arithmetic with no memory traffic to overlap
// (`kernels_bench` t2/t4 from DRAM: about a fifth faster). The remainder tiles of larger
// calls keep the half passes: their group is in L2, and with 3 or 4 tokens the one-pass
// tiles run short of registers.
template <class A, size_t kBlockValues, int kTile, TileFn<A> kOne, TileFn<A> const* kMulti,
          TileFn<A> const* kPair>
void gemm_groups(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                 size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / static_cast<int64_t>(kBlockValues);
  for (int64_t g = 0; g < rows / kPackRows; ++g) {
    const uint8_t* group = static_cast<const uint8_t*>(w) + g * kPackRows * w_row_bytes;
    for (int64_t t0 = 0; t0 < tokens; t0 += kTile) {
      const A* act[kTile];
      const int tn = static_cast<int>(tokens - t0 < kTile ? tokens - t0 : kTile);
      for (int t = 0; t < tn; ++t) {
        act[t] =
            reinterpret_cast<const A*>(static_cast<const uint8_t*>(a) + (t0 + t) * a_row_bytes);
      }
      float* yt = y + t0 * y_stride + g * kPackRows;
      if (tn == 1) {
        kOne(nb, group, 0, act, yt, y_stride);
      } else if (tokens <= kOnePassTokens) {
        kPair[tn - 2](nb, group, 0, act, yt, y_stride);
      } else {
        for (int h = 0; h < 2; ++h) kMulti[tn - 2](nb, group, h, act, yt, y_stride);
      }
    }
  }
}

}  // namespace
}  // namespace moe::avx2

// A K-style tile's tables for gemm_groups (tile<T, H>): Multi takes 2-8 tokens over a half
// group, Pair 2-4 tokens in one pass over both halves.
#define MOE_AVX2_K_TILES(Multi, Pair, tile)                                              \
  constexpr TileFn<BlockQ8_K> Multi[] = {tile<2, 1>, tile<3, 1>, tile<4, 1>, tile<5, 1>, \
                                         tile<6, 1>, tile<7, 1>, tile<8, 1>};            \
  constexpr TileFn<BlockQ8_K> Pair[kOnePassTokens - 1] = {tile<2, 2>, tile<3, 2>, tile<4, 2>};

// gemm_<name>: one token in one pass (tile<1, 2>), else the tables (gemm_groups).
#define MOE_AVX2_K_GEMM(name, tile, Multi, Pair)                                                 \
  void gemm_##name(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,    \
                   size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {             \
    gemm_groups<BlockQ8_K, kQK_K, 8, tile<1, 2>, Multi, Pair>(n, w, w_row_bytes, rows, a,        \
                                                              a_row_bytes, tokens, y, y_stride); \
  }
