// Simple quantizers for the IQ codebook formats (IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M, IQ3_XXS,
// IQ3_S), for synthetic models and tests: per group, a least-squares scale and the nearest
// codebook entries, refined twice; then the group scales rounded onto the format's few levels and
// the entries chosen again. Not ggml's importance-weighted search (which needs an imatrix), but
// bit-compatible.
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <vector>

#include "base/half.h"
#include "quant/blocks.h"
#include "quant/iq_grids.h"
#include "quant/quantize.h"

namespace moe {
namespace {

inline int nearest_int(float v) { return static_cast<int>(std::nearbyint(v)); }

// A codebook of kValues-value entries over kLevels levels (IQ1 / IQ2: 8 values, 3 levels; IQ3:
// 4 values, 8 magnitudes), searched for the entry nearest to kValues targets at a given scale.
// ggml's grids hold only some of the kLevels^kValues patterns, so the exact nearest pattern is
// looked up first, with every pattern one or two positions away from it (each such position
// moved to its second-nearest level); only when none of those is in the book is every entry
// tried.
template <int kValues, int kLevels>
class GridSearch {
 public:
  static constexpr int kWidth = kValues;  // values an entry holds

  // grid: entries with value j in byte j; byte_levels: the bytes of the levels, in order.
  template <class Entry>
  GridSearch(const Entry* grid, int size, const std::array<int, kLevels>& byte_levels,
             const std::array<float, kLevels>& levels)
      : levels_(levels), codes_(size), index_(kPatterns, -1) {
    for (int k = 0; k < size; ++k) {
      int pattern = 0;
      for (int j = kValues - 1; j >= 0; --j) {
        const int byte = static_cast<int>((grid[k] >> (8 * j)) & 0xFF);
        const int code = static_cast<int>(std::find(byte_levels.begin(), byte_levels.end(), byte) -
                                          byte_levels.begin());
        codes_[k][j] = static_cast<uint8_t>(code);
        pattern = kLevels * pattern + code;
      }
      index_[pattern] = static_cast<int16_t>(k);
    }
  }

  // The entry minimizing sum_j (t_j - scale * level_j)^2 (scale > 0); its error in *err.
  int nearest(const float* t, float scale, float* err) const {
    int best_code[kValues], second[kValues];
    float cost0[kValues], extra[kValues];
    for (int j = 0; j < kValues; ++j) {
      float c[kLevels];
      for (int i = 0; i < kLevels; ++i)
        c[i] = (t[j] - scale * levels_[i]) * (t[j] - scale * levels_[i]);
      int b = 0;
      for (int i = 1; i < kLevels; ++i) b = c[i] < c[b] ? i : b;
      int s = b == 0 ? 1 : 0;
      for (int i = 0; i < kLevels; ++i) s = i != b && c[i] < c[s] ? i : s;
      best_code[j] = b;
      second[j] = s;
      cost0[j] = c[b];
      extra[j] = c[s] - c[b];
    }
    float base = 0.0f;
    int base_pattern = 0, move[kValues];  // moving position j changes the pattern by move[j]
    for (int j = kValues - 1; j >= 0; --j) base_pattern = kLevels * base_pattern + best_code[j];
    for (int j = 0, p = 1; j < kValues; ++j, p *= kLevels) {
      base += cost0[j];
      move[j] = (second[j] - best_code[j]) * p;
    }
    int best = -1;
    float best_err = 0.0f;
    const auto consider = [&](int pattern, float e) {
      const int k = index_[pattern];
      if (k >= 0 && (best < 0 || e < best_err)) {
        best = k;
        best_err = e;
      }
    };
    consider(base_pattern, base);
    for (int a = 0; a < kValues; ++a) {
      consider(base_pattern + move[a], base + extra[a]);
      for (int b = a + 1; b < kValues; ++b)
        consider(base_pattern + move[a] + move[b], base + extra[a] + extra[b]);
    }
    if (best < 0) {
      for (int k = 0; k < static_cast<int>(codes_.size()); ++k) {
        float e = 0.0f;
        for (int j = 0; j < kValues; ++j) {
          const float d = t[j] - scale * levels_[codes_[k][j]];
          e += d * d;
        }
        if (best < 0 || e < best_err) {
          best = k;
          best_err = e;
        }
      }
    }
    *err = best_err;
    return best;
  }

  float level(int k, int j) const { return levels_[codes_[k][j]]; }

 private:
  static constexpr int kPatterns = [] {
    int n = 1;
    for (int j = 0; j < kValues; ++j) n *= kLevels;
    return n;
  }();
  std::array<float, kLevels> levels_;
  std::vector<std::array<uint8_t, kValues>> codes_;
  std::vector<int16_t> index_;
};

using Grid8x3 = GridSearch<8, 3>;  // IQ1_S / IQ1_M, IQ2_XXS
using Grid4x8 = GridSearch<4, 8>;  // IQ3_XXS, IQ3_S

// The nearest entries of n sub-groups of targets t at `scale` into idx; then, where `refit` is
// given, the least-squares scale for those entries, kept if positive.
template <class Search>
void fit_entries(const Search& s, const float* t, int n, float scale, int* idx, float* refit) {
  float tg = 0.0f, gg = 0.0f;
  for (int l = 0; l < n; ++l) {
    float err;
    idx[l] = s.nearest(t + Search::kWidth * l, scale, &err);
    for (int j = 0; j < Search::kWidth; ++j) {
      const float lv = s.level(idx[l], j);
      tg += t[Search::kWidth * l + j] * lv;
      gg += lv * lv;
    }
  }
  if (refit != nullptr && tg > 0.0f) *refit = tg / gg;
}

const Grid8x3& iq2xxs_search() {
  static const Grid8x3 s(kIq2xxsGrid.v, kIq2xxsGridSize, {8, 25, 43}, {8.0f, 25.0f, 43.0f});
  return s;
}

const Grid8x3& iq1s_search() {
  static const Grid8x3 s(kIq1sGrid.v, kIq1sGridSize, {0xff, 0x00, 0x01}, {-1.0f, 0.0f, 1.0f});
  return s;
}

// ---- IQ2_XXS. Values are sign * scale * magnitude; the 8 signs of a sub-group must have an
// even count of minus signs, so an odd count flips the sign of its smallest value (whose
// target then becomes -|x|).
struct Iq2Group {
  float t[32];       // targets: |x|, or -|x| for a flipped sign
  uint8_t signs[4];  // 7 stored bits per sub-group
  int idx[4];
  float scale;
};

void iq2_signs(const float* x, Iq2Group* g) {
  for (int l = 0; l < 4; ++l) {
    int bits = 0, smallest = 0;
    for (int j = 0; j < 8; ++j) {
      const float v = x[8 * l + j];
      g->t[8 * l + j] = std::fabs(v);
      if (v < 0) bits |= 1 << j;
      if (std::fabs(v) < std::fabs(x[8 * l + smallest])) smallest = j;
    }
    if (__builtin_popcount(bits) & 1) {
      bits ^= 1 << smallest;
      g->t[8 * l + smallest] = -g->t[8 * l + smallest];
    }
    g->signs[l] = static_cast<uint8_t>(bits & 127);
  }
}

void iq2_fit(Iq2Group* g, float scale, bool refit) {
  fit_entries(iq2xxs_search(), g->t, 4, scale, g->idx, refit ? &g->scale : nullptr);
}

void quantize_block_iq2_xxs(const float* x, BlockIQ2_XXS* y) {
  Iq2Group g[8];
  float max_scale = 0.0f;
  for (int k = 0; k < 8; ++k) {
    iq2_signs(x + 32 * k, &g[k]);
    float amax = 0.0f;
    for (float t : g[k].t) amax = std::max(amax, t);
    g[k].scale = amax / 43.0f;
    if (g[k].scale > 0.0f) {
      for (int it = 0; it < 2; ++it) iq2_fit(&g[k], g[k].scale, true);
    }
    max_scale = std::max(max_scale, g[k].scale);
  }
  std::memset(y, 0, sizeof(*y));
  // group scale = d * (2s + 1) / 8 with s in 0..15
  y->d = f32_to_f16(max_scale * 8.0f / 31.0f);
  const float d = f16_to_f32(y->d);
  if (d == 0.0f) return;
  for (int k = 0; k < 8; ++k) {
    const int s = std::clamp(nearest_int((g[k].scale * 8.0f / d - 1.0f) / 2.0f), 0, 15);
    iq2_fit(&g[k], d * static_cast<float>(2 * s + 1) / 8.0f, false);
    uint32_t aux[2] = {0, static_cast<uint32_t>(s) << 28};
    for (int l = 0; l < 4; ++l) {
      aux[0] |= static_cast<uint32_t>(g[k].idx[l]) << (8 * l);
      aux[1] |= static_cast<uint32_t>(g[k].signs[l]) << (7 * l);
    }
    std::memcpy(y->qs + 4 * k, aux, 8);
  }
}

// ---- IQ2_XS / IQ2_S: IQ2_XXS's values (IQ2_XS's grid of 512 entries with IQ2_XXS's sign
// rule, IQ2_S's of 1024 with free signs) under a scale per 16 values.
const Grid8x3& iq2xs_search() {
  static const Grid8x3 s(kIq2xsGrid.v, kIq2xsGridSize, {8, 25, 43}, {8.0f, 25.0f, 43.0f});
  return s;
}

const Grid8x3& iq2s_search() {
  static const Grid8x3 s(kIq2sGrid.v, kIq2sGridSize, {8, 25, 43}, {8.0f, 25.0f, 43.0f});
  return s;
}

// 16 targets (two sub-groups of 8) with their entries and scale.
struct Iq2Half {
  const float* t;
  int idx[2];
  float scale;
};

void iq2_half_fit(const Grid8x3& s, Iq2Half* g, float scale, bool refit) {
  fit_entries(s, g->t, 2, scale, g->idx, refit ? &g->scale : nullptr);
}

// The 16 halves of a block of targets t: their entries at scales d (2s + 1) / 8; returns d
// (0: an all-zero block) and the 4-bit s of each half in s[16].
float iq2_per16(const Grid8x3& s, const float* t, Iq2Half (&h)[16], int (&sc)[16]) {
  float max_scale = 0.0f;
  for (int j = 0; j < 16; ++j) {
    h[j].t = t + 16 * j;
    float amax = 0.0f;
    for (int i = 0; i < 16; ++i) amax = std::max(amax, h[j].t[i]);
    h[j].scale = amax / 43.0f;
    if (h[j].scale > 0.0f) {
      for (int it = 0; it < 2; ++it) iq2_half_fit(s, &h[j], h[j].scale, true);
    }
    max_scale = std::max(max_scale, h[j].scale);
  }
  const float d = f16_to_f32(f32_to_f16(max_scale * 8.0f / 31.0f));
  if (d == 0.0f) return 0.0f;
  for (int j = 0; j < 16; ++j) {
    sc[j] = std::clamp(nearest_int((h[j].scale * 8.0f / d - 1.0f) / 2.0f), 0, 15);
    iq2_half_fit(s, &h[j], d * static_cast<float>(2 * sc[j] + 1) / 8.0f, false);
  }
  return d;
}

void quantize_block_iq2_xs(const float* x, BlockIQ2_XS* y) {
  float t[kQK_K];
  uint8_t signs[32];
  for (int k = 0; k < 8; ++k) {
    Iq2Group g;  // IQ2_XXS's sign rule per 8 values
    iq2_signs(x + 32 * k, &g);
    std::copy(g.t, g.t + 32, t + 32 * k);
    std::copy(g.signs, g.signs + 4, signs + 4 * k);
  }
  Iq2Half h[16];
  int sc[16];
  std::memset(y, 0, sizeof(*y));
  const float d = iq2_per16(iq2xs_search(), t, h, sc);
  y->d = f32_to_f16(d);
  if (d == 0.0f) return;
  for (int j = 0; j < 16; ++j) {
    y->scales[j / 2] = static_cast<uint8_t>(y->scales[j / 2] | sc[j] << (4 * (j % 2)));
    for (int l = 0; l < 2; ++l) {
      const int k = 2 * j + l;
      y->qs[k] = static_cast<uint16_t>(h[j].idx[l] | signs[k] << 9);
    }
  }
}

void quantize_block_iq2_s(const float* x, BlockIQ2_S* y) {
  float t[kQK_K];
  for (int i = 0; i < kQK_K; ++i) t[i] = std::fabs(x[i]);
  Iq2Half h[16];
  int sc[16];
  std::memset(y, 0, sizeof(*y));
  const float d = iq2_per16(iq2s_search(), t, h, sc);
  y->d = f32_to_f16(d);
  if (d == 0.0f) return;
  for (int j = 0; j < 16; ++j) {
    y->scales[j / 2] = static_cast<uint8_t>(y->scales[j / 2] | sc[j] << (4 * (j % 2)));
    for (int l = 0; l < 2; ++l) {
      const int k = 2 * j + l;
      y->qs[k] = static_cast<uint8_t>(h[j].idx[l] & 0xFF);
      y->qh[k / 4] = static_cast<uint8_t>(y->qh[k / 4] | (h[j].idx[l] >> 8) << (2 * (k % 4)));
      for (int i = 0; i < 8; ++i) {
        if (x[8 * k + i] < 0) y->signs[k] = static_cast<uint8_t>(y->signs[k] | 1 << i);
      }
    }
  }
}

// ---- IQ1_S / IQ1_M. Values are scale * (grid + shift), shift = +-1/8: for a fixed shift the
// targets are x - scale * shift on the grid's levels -1, 0, 1.
struct Iq1Sub {
  int idx = 0;
  bool negative_shift = false;
};

// Sub-group of 8 at `scale` with the given shift sign: the best entry; returns its squared error.
float iq1_pick(const float* x, float scale, bool negative_shift, Iq1Sub* sub) {
  float t[8];
  const float shift = scale * (negative_shift ? -0.125f : 0.125f);
  for (int j = 0; j < 8; ++j) t[j] = x[j] - shift;
  float err;
  sub->idx = iq1s_search().nearest(t, scale, &err);
  sub->negative_shift = negative_shift;
  return err;
}

// The same with the shift sign free (IQ1_M): the better of the two.
void iq1_pick_free(const float* x, float scale, Iq1Sub* sub) {
  Iq1Sub negative;
  const float err_pos = iq1_pick(x, scale, false, sub);
  if (iq1_pick(x, scale, true, &negative) < err_pos) *sub = negative;
}

// n_sub sub-groups of 8 sharing one shift (IQ1_S): the entries for the better shift sign,
// which is returned (true: negative).
bool iq1_pick_shared(const float* x, float scale, int n_sub, Iq1Sub* subs) {
  float err[2] = {0.0f, 0.0f};
  Iq1Sub cand[2][4];
  for (int sign = 0; sign < 2; ++sign)
    for (int l = 0; l < n_sub; ++l) err[sign] += iq1_pick(x + 8 * l, scale, sign == 1, &cand[sign][l]);
  const int best = err[1] < err[0] ? 1 : 0;
  std::copy(cand[best], cand[best] + n_sub, subs);
  return best == 1;
}

// Least-squares scale of n_sub sub-groups of 8 for their chosen entries and shifts.
float iq1_refit(const float* x, const Iq1Sub* subs, int n_sub, float scale) {
  const Grid8x3& s = iq1s_search();
  float xv = 0.0f, vv = 0.0f;
  for (int l = 0; l < n_sub; ++l) {
    for (int j = 0; j < 8; ++j) {
      const float v = s.level(subs[l].idx, j) + (subs[l].negative_shift ? -0.125f : 0.125f);
      xv += x[8 * l + j] * v;
      vv += v * v;
    }
  }
  return xv > 0.0f ? xv / vv : scale;
}

// One scale for n_sub sub-groups: per-sub-group shifts (IQ1_M) or one shared shift (IQ1_S).
float iq1_fit_scale(const float* x, int n_sub, bool shared_shift, Iq1Sub* subs) {
  float amax = 0.0f;
  for (int j = 0; j < 8 * n_sub; ++j) amax = std::max(amax, std::fabs(x[j]));
  float scale = amax / 1.125f;
  if (scale == 0.0f) return 0.0f;
  for (int it = 0; it < 2; ++it) {
    if (shared_shift) {
      iq1_pick_shared(x, scale, n_sub, subs);
    } else {
      for (int l = 0; l < n_sub; ++l) iq1_pick_free(x + 8 * l, scale, &subs[l]);
    }
    scale = iq1_refit(x, subs, n_sub, scale);
  }
  return scale;
}

// Rounds a group scale onto d * (2s + 1), s in 0..7.
int iq1_scale_code(float scale, float d) { return std::clamp(nearest_int((scale / d - 1.0f) / 2.0f), 0, 7); }

void quantize_block_iq1_s(const float* x, BlockIQ1_S* y) {
  Iq1Sub subs[8][4];
  float scales[8], max_scale = 0.0f;
  for (int k = 0; k < 8; ++k) {
    scales[k] = iq1_fit_scale(x + 32 * k, 4, true, subs[k]);
    max_scale = std::max(max_scale, scales[k]);
  }
  std::memset(y, 0, sizeof(*y));
  y->d = f32_to_f16(max_scale / 15.0f);
  const float d = f16_to_f32(y->d);
  if (d == 0.0f) return;
  for (int k = 0; k < 8; ++k) {
    const int s = iq1_scale_code(scales[k], d);
    const float scale = d * static_cast<float>(2 * s + 1);
    Iq1Sub sub[4];
    const bool negative = iq1_pick_shared(x + 32 * k, scale, 4, sub);
    uint16_t qh = static_cast<uint16_t>((s << 12) | (negative ? 0x8000 : 0));
    for (int l = 0; l < 4; ++l) {
      y->qs[4 * k + l] = static_cast<uint8_t>(sub[l].idx & 0xFF);
      qh = static_cast<uint16_t>(qh | ((sub[l].idx >> 8) << (3 * l)));
    }
    y->qh[k] = qh;
  }
}

void quantize_block_iq1_m(const float* x, BlockIQ1_M* y) {
  Iq1Sub subs[16][2];
  float scales[16], max_scale = 0.0f;
  for (int j = 0; j < 16; ++j) {
    scales[j] = iq1_fit_scale(x + 16 * j, 2, false, subs[j]);
    max_scale = std::max(max_scale, scales[j]);
  }
  std::memset(y, 0, sizeof(*y));
  const uint16_t dh = f32_to_f16(max_scale / 15.0f);
  const float d = f16_to_f32(dh);
  uint16_t sc[4] = {0, 0, 0, 0};
  for (int w = 0; w < 4; ++w) sc[w] = static_cast<uint16_t>(((dh >> (4 * w)) & 0xF) << 12);
  if (d != 0.0f) {
    for (int j = 0; j < 16; ++j) {
      const int s = iq1_scale_code(scales[j], d);
      sc[j / 4] = static_cast<uint16_t>(sc[j / 4] | (s << (3 * (j % 4))));
      const float scale = d * static_cast<float>(2 * s + 1);
      for (int h = 0; h < 2; ++h) {
        const int k = 2 * j + h;  // sub-group of 8
        Iq1Sub sub;
        iq1_pick_free(x + 8 * k, scale, &sub);
        y->qs[k] = static_cast<uint8_t>(sub.idx & 0xFF);
        const int nib = (sub.idx >> 8) | (sub.negative_shift ? 8 : 0);
        y->qh[k / 2] = static_cast<uint8_t>(y->qh[k / 2] | (nib << (4 * (k % 2))));
      }
    }
  }
  std::memcpy(y->scales, sc, 8);
}

// ---- IQ3_XXS / IQ3_S. Entries of 4 magnitudes out of 8 levels (Grid4x8).
const Grid4x8& iq3xxs_search() {
  static const Grid4x8 s(kIq3xxsGrid.v, kIq3xxsGridSize, {4, 12, 20, 28, 36, 44, 52, 62},
                         {4.0f, 12.0f, 20.0f, 28.0f, 36.0f, 44.0f, 52.0f, 62.0f});
  return s;
}

const Grid4x8& iq3s_search() {
  static const Grid4x8 s(kIq3sGrid.v, kIq3sGridSize, {1, 3, 5, 7, 9, 11, 13, 15},
                         {1.0f, 3.0f, 5.0f, 7.0f, 9.0f, 11.0f, 13.0f, 15.0f});
  return s;
}

// A group of 32 of an IQ3 format: targets (|x|, or -|x| where a sign had to flip), the 8
// entries and the group's scale (one unit of magnitude).
struct Iq3Group {
  float t[32];
  int idx[8];
  float scale;
};

void iq3_fit(const Grid4x8& s, Iq3Group* g, float scale, bool refit) {
  fit_entries(s, g->t, 8, scale, g->idx, refit ? &g->scale : nullptr);
}

// The group's scale from its largest target on the largest magnitude, refined twice.
void iq3_group_scale(const Grid4x8& s, float top_level, Iq3Group* g) {
  float amax = 0.0f;
  for (float t : g->t) amax = std::max(amax, t);
  g->scale = amax / top_level;
  if (g->scale > 0.0f) {
    for (int it = 0; it < 2; ++it) iq3_fit(s, g, g->scale, true);
  }
}

// IQ3_XXS: group scale d (2s + 1) / 4; the 8 signs of each half group (two entries) with an
// even count of minus signs, as IQ2_XXS's.
void quantize_block_iq3_xxs(const float* x, BlockIQ3_XXS* y) {
  const Grid4x8& s = iq3xxs_search();
  Iq3Group g[8];
  uint8_t signs[8][4];
  float max_scale = 0.0f;
  for (int k = 0; k < 8; ++k) {
    Iq2Group sg;  // the same sign rule per 8 values
    iq2_signs(x + 32 * k, &sg);
    std::copy(sg.t, sg.t + 32, g[k].t);
    std::copy(sg.signs, sg.signs + 4, signs[k]);
    iq3_group_scale(s, 62.0f, &g[k]);
    max_scale = std::max(max_scale, g[k].scale);
  }
  std::memset(y, 0, sizeof(*y));
  y->d = f32_to_f16(max_scale * 4.0f / 31.0f);
  const float d = f16_to_f32(y->d);
  if (d == 0.0f) return;
  for (int k = 0; k < 8; ++k) {
    const int sc = std::clamp(nearest_int((g[k].scale * 4.0f / d - 1.0f) / 2.0f), 0, 15);
    iq3_fit(s, &g[k], d * static_cast<float>(2 * sc + 1) / 4.0f, false);
    uint32_t aux = static_cast<uint32_t>(sc) << 28;
    for (int l = 0; l < 4; ++l) aux |= static_cast<uint32_t>(signs[k][l]) << (7 * l);
    for (int e = 0; e < 8; ++e) y->qs[8 * k + e] = static_cast<uint8_t>(g[k].idx[e]);
    std::memcpy(y->sas + 4 * k, &aux, 4);
  }
}

// IQ3_S: group scale d (2s + 1); free signs (one bit each), entries of 9-bit indices.
void quantize_block_iq3_s(const float* x, BlockIQ3_S* y) {
  const Grid4x8& s = iq3s_search();
  Iq3Group g[8];
  float max_scale = 0.0f;
  for (int k = 0; k < 8; ++k) {
    for (int j = 0; j < 32; ++j) g[k].t[j] = std::fabs(x[32 * k + j]);
    iq3_group_scale(s, 15.0f, &g[k]);
    max_scale = std::max(max_scale, g[k].scale);
  }
  std::memset(y, 0, sizeof(*y));
  y->d = f32_to_f16(max_scale / 31.0f);
  const float d = f16_to_f32(y->d);
  if (d == 0.0f) return;
  for (int k = 0; k < 8; ++k) {
    const int sc = std::clamp(nearest_int((g[k].scale / d - 1.0f) / 2.0f), 0, 15);
    iq3_fit(s, &g[k], d * static_cast<float>(2 * sc + 1), false);
    y->scales[k / 2] = static_cast<uint8_t>(y->scales[k / 2] | sc << (4 * (k % 2)));
    for (int e = 0; e < 8; ++e) {
      y->qs[8 * k + e] = static_cast<uint8_t>(g[k].idx[e] & 0xFF);
      y->qh[k] = static_cast<uint8_t>(y->qh[k] | (g[k].idx[e] >> 8) << e);
    }
    for (int j = 0; j < 32; ++j) {
      const int v = 32 * k + j;
      if (x[v] < 0) y->signs[v / 8] = static_cast<uint8_t>(y->signs[v / 8] | 1 << (v % 8));
    }
  }
}

template <class Block, void (*kQuantizeBlock)(const float*, Block*)>
void quantize_blocks(const float* x, void* out, int64_t n) {
  auto* y = static_cast<Block*>(out);
  for (int64_t i = 0; i < n / kQK_K; ++i) kQuantizeBlock(x + i * kQK_K, y + i);
}

}  // namespace

void quantize_row_iq2_xxs_ref(const float* x, void* out, int64_t n) {
  quantize_blocks<BlockIQ2_XXS, quantize_block_iq2_xxs>(x, out, n);
}
void quantize_row_iq1_s_ref(const float* x, void* out, int64_t n) {
  quantize_blocks<BlockIQ1_S, quantize_block_iq1_s>(x, out, n);
}
void quantize_row_iq1_m_ref(const float* x, void* out, int64_t n) {
  quantize_blocks<BlockIQ1_M, quantize_block_iq1_m>(x, out, n);
}
void quantize_row_iq2_xs_ref(const float* x, void* out, int64_t n) {
  quantize_blocks<BlockIQ2_XS, quantize_block_iq2_xs>(x, out, n);
}
void quantize_row_iq2_s_ref(const float* x, void* out, int64_t n) {
  quantize_blocks<BlockIQ2_S, quantize_block_iq2_s>(x, out, n);
}
void quantize_row_iq3_xxs_ref(const float* x, void* out, int64_t n) {
  quantize_blocks<BlockIQ3_XXS, quantize_block_iq3_xxs>(x, out, n);
}
void quantize_row_iq3_s_ref(const float* x, void* out, int64_t n) {
  quantize_blocks<BlockIQ3_S, quantize_block_iq3_s>(x, out, n);
}

}  // namespace moe
