// The AVX2 "tile and accumulate" driver shared by every AVX2 (and AVX-512) product.
// Included only by sources compiled with -mavx2 -mfma -mf16c.
//
// A block policy P supplies:
//   using W, A;                 weight / activation block types (one block of each pairs up)
//   kBlockValues                values per block
//   struct Dec; decode(const W&)               per-row work, done once per tile of tokens
//   __m256 contrib(const Dec&, const A&)       that block's contribution (8 partial sums)
//   kTail; tail(rem, const W*, const A*)       (float formats: the last n % 16 values)
//
// Every output element is computed as: acc = 0; for each pair of blocks (i, i+1):
// acc += (contrib_i + contrib_{i+1}); an odd last block: acc += contrib; y = hsum(acc)
// [+ tail]. A tile of R rows x T tokens only interleaves independent accumulators, so
// gemm results are bitwise those of vec_dot (which is the 1 x 1 tile). The pairwise sum
// halves the length of the one serial dependency chain of a single-row product.
//
// Everything here has internal linkage (unnamed namespace): the AVX-512 sources include this
// header too, and an inline function compiled with AVX-512 flags must never be the copy the
// linker keeps for the AVX2 table. For the same reason ISA sources avoid the shared inline
// helpers of other headers (base/half.h, <algorithm>) and use intrinsics instead.
#pragma once

#include <immintrin.h>

#include <cstddef>
#include <cstdint>

namespace moe::avx2 {
namespace {

inline float hsum(__m256 v) {
  __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

inline float f16(uint16_t h) { return _cvtsh_ss(h); }
// f32 -> f16 round-to-nearest-even, as base/half.h's f32_to_f16 (both IEEE conversions).
inline uint16_t to_f16(float f) { return static_cast<uint16_t>(_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT)); }
inline float bf16(uint16_t h) { return _mm_cvtss_f32(_mm_castsi128_ps(_mm_cvtsi32_si128(static_cast<int>(h) << 16))); }
inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

// An empty asm the value passes through: integer sums stay in program order. Without it
// GCC reassociates an unrolled chain of integer adds into a tree, computing all the products
// first and spilling them to the stack (about a fifth of a Q4_K tile's speed).
inline void in_order(__m256i& v) { asm("" : "+x"(v)); }

// How far ahead of the current block pair each weight row is prefetched. Rough tuning on
// a loaded 2-core VM (512: worse, 2048/4096: alike, +20-40 % over no prefetch for
// Q4_K/Q6_K/Q8_0 gemv from DRAM); retune on the target machine with bench/kernels_bench.
constexpr size_t kPrefetchBytes = 2048;

template <class P, int R, int T>
inline void tile(int64_t nb, int64_t n, const uint8_t* w, size_t w_row_bytes, const uint8_t* a,
                 size_t a_row_bytes, float* y, int64_t y_stride) {
  using W = typename P::W;
  using A = typename P::A;
  const W* wr[R];
  const A* ar[T];
  for (int r = 0; r < R; ++r) wr[r] = reinterpret_cast<const W*>(w + r * w_row_bytes);
  for (int t = 0; t < T; ++t) ar[t] = reinterpret_cast<const A*>(a + t * a_row_bytes);
  __m256 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      // Software prefetch of the weight stream: the hardware prefetcher alone leaves
      // compute and DRAM reads serialized. Past the row's end the hint is harmless (the
      // address is formed as an integer, so no out-of-range pointer exists).
      const uintptr_t ahead = reinterpret_cast<uintptr_t>(wr[r] + i) + kPrefetchBytes;
      for (size_t off = 0; off < 2 * sizeof(W); off += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(ahead + off), _MM_HINT_T0);
      }
      const typename P::Dec d0 = P::decode(wr[r][i]);
      const typename P::Dec d1 = P::decode(wr[r][i + 1]);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const __m256 c = _mm256_add_ps(P::contrib(d0, ar[t][i]), P::contrib(d1, ar[t][i + 1]));
        acc[r][t] = _mm256_add_ps(acc[r][t], c);
      }
    }
  }
  if (i < nb) {
    for (int r = 0; r < R; ++r) {
      const typename P::Dec d0 = P::decode(wr[r][i]);
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_add_ps(acc[r][t], P::contrib(d0, ar[t][i]));
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) {
      float s = hsum(acc[r][t]);
      if constexpr (P::kTail) s += P::tail(n - nb * P::kBlockValues, wr[r] + nb, ar[t] + nb);
      y[t * y_stride + r] = s;
    }
  }
}

template <class P, int R, int T>
inline void tile_tokens(int tn, int64_t nb, int64_t n, const uint8_t* w, size_t wrb,
                        const uint8_t* a, size_t arb, float* y, int64_t ys) {
  static_assert(T <= 4);
  switch (tn) {
    case 1: return tile<P, R, 1>(nb, n, w, wrb, a, arb, y, ys);
    case 2: return tile<P, R, (T >= 2 ? 2 : 1)>(nb, n, w, wrb, a, arb, y, ys);
    case 3: return tile<P, R, (T >= 3 ? 3 : 1)>(nb, n, w, wrb, a, arb, y, ys);
    default: return tile<P, R, T>(nb, n, w, wrb, a, arb, y, ys);
  }
}

// The order of a gemm's tiles: rows are walked in panels whose weights stay in L2 while every
// group of T tokens passes over them; inside a panel, tiles of R rows (the last rows of a
// panel one at a time) x up to T tokens. fn(r, whole, t0, tn): the tile of rows from r (R of
// them when `whole`, else 1) and tokens [t0, t0 + tn).
template <int R, int T, class Fn>
inline void for_panel_tiles(int64_t rows, size_t w_row_bytes, int64_t tokens, Fn&& fn) {
  constexpr size_t kPanelBytes = 256 * 1024;
  const int64_t fit = static_cast<int64_t>(kPanelBytes / (w_row_bytes > 0 ? w_row_bytes : 1)) / R * R;
  const int64_t panel = fit > R ? fit : R;
  for (int64_t r0 = 0; r0 < rows; r0 += panel) {
    const int64_t r_end = min64(rows, r0 + panel);
    for (int64_t t0 = 0; t0 < tokens; t0 += T) {
      const int tn = static_cast<int>(min64(T, tokens - t0));
      int64_t r = r0;
      for (; r + R <= r_end; r += R) fn(r, true, t0, tn);
      for (; r < r_end; ++r) fn(r, false, t0, tn);
    }
  }
}

template <class P, int R, int T>
void gemm_tiled(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  const int64_t nb = n / P::kBlockValues;
  for_panel_tiles<R, T>(rows, w_row_bytes, tokens, [&](int64_t r, bool whole, int64_t t0, int tn) {
    const uint8_t* wr = wb + r * w_row_bytes;
    const uint8_t* at = ab + t0 * a_row_bytes;
    float* yt = y + t0 * y_stride + r;
    if (whole) {
      tile_tokens<P, R, T>(tn, nb, n, wr, w_row_bytes, at, a_row_bytes, yt, y_stride);
    } else {
      tile_tokens<P, 1, T>(tn, nb, n, wr, w_row_bytes, at, a_row_bytes, yt, y_stride);
    }
  });
}

template <class P>
float vec_dot_tiled(int64_t n, const void* w, const void* a) {
  float y;
  tile<P, 1, 1>(n / P::kBlockValues, n, static_cast<const uint8_t*>(w), 0,
                static_cast<const uint8_t*>(a), 0, &y, 1);
  return y;
}

// 32 bytes: byte j = 0xFF where bit j of the little-endian 32-bit word at p is set.
inline __m256i bytes_from_bits_32(const uint8_t* p) {
  uint32_t x32;
  __builtin_memcpy(&x32, p, 4);
  const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202,
                                         0x0101010101010101, 0x0000000000000000);
  __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32(static_cast<int>(x32)), shuf);
  // byte k of each 8 gets every bit but bit k set: all ones iff bit k of the source is set
  bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
  return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

// 16 bytes of nibbles -> 32 bytes: low nibbles in bytes 0..15, high nibbles in 16..31.
inline __m256i nibbles_32(const uint8_t* p) {
  const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i m = _mm_set1_epi8(0x0F);
  return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(b, 4), m), _mm_and_si128(b, m));
}

}  // namespace
}  // namespace moe::avx2
