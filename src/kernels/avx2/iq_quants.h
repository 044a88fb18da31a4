// Block policies (see tile.h) of the IQ codebook formats against Q8_K: IQ2_XXS, IQ1_S, IQ1_M.
// decode expands a super-block once per row (so once per tile of tokens) into 256 unsigned
// bytes q + kOffset, where q is the integer value the reference uses (ref/k_quants.cpp:
// IQ2_XXS +-8/25/43, the IQ1 formats 8 grid +- 1), one int16 scale per 16 values and d / 8.
// contrib is then Q3_K's arithmetic: vpmaddubsw, vpmaddwd with the scales (or
// AVX512-VNNI's vpdpwssd), and the offset taken back through the activation's bsums:
//   sum_j sc_j (q + off) . a_j - sum_j (off sc_j) bsums_j
// all exact in int32 (|q| + off <= 86: a pair of products stays below 2^15).
#pragma once

#include <cstring>

#include "kernels/avx2/k_quants.h"
#include "quant/iq_grids.h"

namespace moe::avx2 {
namespace {

struct IqDec {
  __m256i q[8];       // 32 values each, q + offset, unsigned
  __m256i scales[8];  // int16: lanes 0..7 the chunk's first 16 values' scale, 8..15 the next
  __m256i off_scales; // int16 offset * scale per 16 values, against the bsums
  float d;
};

// The int16 lanes of one 32-value chunk: scale lo for lanes 0..7, hi for lanes 8..15.
inline __m256i chunk_scales(int lo, int hi) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(hi)), _mm_set1_epi16(static_cast<int16_t>(lo)));
}

// 16 int16 scales (one per 16 values) times the offset.
inline __m256i offset_scales(const int16_t (&sc)[16], int offset) {
  __m256i v;
  std::memcpy(&v, sc, 32);
  return _mm256_mullo_epi16(v, _mm256_set1_epi16(static_cast<int16_t>(offset)));
}

// Byte-wise 8 g + add for bytes g in {-1, 0, 1}: the 16-bit shift's spill into the next byte
// is masked off.
inline __m256i times8_plus(__m256i g, __m256i add) {
  return _mm256_add_epi8(_mm256_and_si256(_mm256_slli_epi16(g, 3), _mm256_set1_epi8(static_cast<char>(0xF8))), add);
}

template <bool kVnni, class Expand>
struct IqP : NoTail {
  using W = typename Expand::W;
  using A = BlockQ8_K;
  static constexpr int kBlockValues = kQK_K;
  using Dec = IqDec;
  static Dec decode(const W& b) {
    Dec o;
    Expand::expand(b, &o);
    return o;
  }
  static __m256 contrib(const Dec& w, const A& a) {
    const __m256i offs = _mm256_madd_epi16(w.off_scales, load256(a.bsums));
    __m256i sums[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int k = 0; k < 8; ++k) sums[k & 1] = scaled_dot<kVnni>(sums[k & 1], w.q[k], a.qs + 32 * k, w.scales[k]);
    const __m256i sumi = _mm256_sub_epi32(_mm256_add_epi32(sums[0], sums[1]), offs);
    return _mm256_mul_ps(_mm256_set1_ps(a.d * w.d), _mm256_cvtepi32_ps(sumi));
  }
};

// IQ2_XXS: magnitudes from the grid, signs from the sign table, one scale 2s + 1 per 32.
struct ExpandIq2xxs {
  using W = BlockIQ2_XXS;
  static constexpr int kOffset = 43;
  static void expand(const W& b, IqDec* o) {
    int16_t sc[16];
    const __m256i off = _mm256_set1_epi8(kOffset);
    for (int g = 0; g < 8; ++g) {
      uint32_t aux[2];
      std::memcpy(aux, b.qs + 4 * g, 8);
      const __m256i mag = _mm256_set_epi64x(static_cast<int64_t>(kIq2xxsGrid.v[aux[0] >> 24]),
                                            static_cast<int64_t>(kIq2xxsGrid.v[(aux[0] >> 16) & 0xFF]),
                                            static_cast<int64_t>(kIq2xxsGrid.v[(aux[0] >> 8) & 0xFF]),
                                            static_cast<int64_t>(kIq2xxsGrid.v[aux[0] & 0xFF]));
      const uint32_t signs = static_cast<uint32_t>(kIq2Signs.v[aux[1] & 127]) |
                             static_cast<uint32_t>(kIq2Signs.v[(aux[1] >> 7) & 127]) << 8 |
                             static_cast<uint32_t>(kIq2Signs.v[(aux[1] >> 14) & 127]) << 16 |
                             static_cast<uint32_t>(kIq2Signs.v[(aux[1] >> 21) & 127]) << 24;
      const __m256i neg = bytes_from_bits_32(reinterpret_cast<const uint8_t*>(&signs));
      // (m ^ neg) - neg negates where neg is all ones
      o->q[g] = _mm256_add_epi8(_mm256_sub_epi8(_mm256_xor_si256(mag, neg), neg), off);
      const int s = static_cast<int>(2 * (aux[1] >> 28) + 1);
      o->scales[g] = _mm256_set1_epi16(static_cast<int16_t>(s));
      sc[2 * g] = sc[2 * g + 1] = static_cast<int16_t>(s);
    }
    o->off_scales = offset_scales(sc, kOffset);
    o->d = f16(b.d) * 0.125f;
  }
};

// IQ1_S: 8 grid + shift (+-1 per 32 values), one scale 2s + 1 per 32.
struct ExpandIq1s {
  using W = BlockIQ1_S;
  static constexpr int kOffset = 9;
  static void expand(const W& b, IqDec* o) {
    int16_t sc[16];
    for (int g = 0; g < 8; ++g) {
      const int qh = b.qh[g];
      const uint8_t* qs = b.qs + 4 * g;
      const __m256i grid = _mm256_set_epi64x(static_cast<int64_t>(kIq1sGrid.v[qs[3] | (((qh >> 9) & 7) << 8)]),
                                             static_cast<int64_t>(kIq1sGrid.v[qs[2] | (((qh >> 6) & 7) << 8)]),
                                             static_cast<int64_t>(kIq1sGrid.v[qs[1] | (((qh >> 3) & 7) << 8)]),
                                             static_cast<int64_t>(kIq1sGrid.v[qs[0] | ((qh & 7) << 8)]));
      const int shift = qh & 0x8000 ? -1 : 1;
      o->q[g] = times8_plus(grid, _mm256_set1_epi8(static_cast<char>(kOffset + shift)));
      const int s = 2 * ((qh >> 12) & 7) + 1;
      o->scales[g] = _mm256_set1_epi16(static_cast<int16_t>(s));
      sc[2 * g] = sc[2 * g + 1] = static_cast<int16_t>(s);
    }
    o->off_scales = offset_scales(sc, kOffset);
    o->d = f16(b.d) * 0.125f;
  }
};

// IQ1_M: 8 grid + shift (+-1 per 8 values), one scale 2s + 1 per 16; d in the scales' top
// nibbles.
struct ExpandIq1m {
  using W = BlockIQ1_M;
  static constexpr int kOffset = 9;
  static int64_t sub_group(const W& b, int k, int64_t* add) {
    const int nib = (b.qh[k / 2] >> (4 * (k % 2))) & 0xF;
    *add = static_cast<int64_t>(0x0101010101010101ULL * static_cast<uint64_t>(kOffset + (nib & 8 ? -1 : 1)));
    return static_cast<int64_t>(kIq1sGrid.v[b.qs[k] | ((nib & 7) << 8)]);
  }
  static void expand(const W& b, IqDec* o) {
    uint16_t w[4];
    std::memcpy(w, b.scales, 8);
    int16_t sc[16];
    for (int j = 0; j < 16; ++j) sc[j] = static_cast<int16_t>(2 * ((w[j / 4] >> (3 * (j % 4))) & 7) + 1);
    for (int g = 0; g < 8; ++g) {
      int64_t add[4];
      const int64_t e0 = sub_group(b, 4 * g, &add[0]), e1 = sub_group(b, 4 * g + 1, &add[1]);
      const int64_t e2 = sub_group(b, 4 * g + 2, &add[2]), e3 = sub_group(b, 4 * g + 3, &add[3]);
      o->q[g] = times8_plus(_mm256_set_epi64x(e3, e2, e1, e0), _mm256_set_epi64x(add[3], add[2], add[1], add[0]));
      o->scales[g] = chunk_scales(sc[2 * g], sc[2 * g + 1]);
    }
    o->off_scales = offset_scales(sc, kOffset);
    const uint16_t dh = static_cast<uint16_t>((w[0] >> 12) | ((w[1] >> 8) & 0x00F0) | ((w[2] >> 4) & 0x0F00) |
                                              (w[3] & 0xF000));
    o->d = f16(dh) * 0.125f;
  }
};

template <bool kVnni>
using Iq2xxsP = IqP<kVnni, ExpandIq2xxs>;
template <bool kVnni>
using Iq1sP = IqP<kVnni, ExpandIq1s>;
template <bool kVnni>
using Iq1mP = IqP<kVnni, ExpandIq1m>;

}  // namespace
}  // namespace moe::avx2
