// Repacking of Q4_K, Q5_K, Q6_K, Q2_K, Q3_K and IQ4_XS rows into their 16-row interleaved layouts,
// and the conversions of IQ1_S, IQ2_XXS, IQ2_XS, IQ2_S, IQ1_M, IQ3_XXS and IQ3_S rows into theirs.
// Plain code: every kernel table uses these functions.
//
// The K layouts keep the source's bytes per row (the IQ conversions grow them, below). Group g
// (rows 16g..16g+15) occupies bytes [16g * row_bytes, 16(g+1) * row_bytes), one "column" per
// super-block b of 256 values, column b at offset b * 16 * block_bytes inside the group. In the
// tables below r is the row in the group (0..15); a "chunk" is 4 consecutive bytes of one row, so
// chunk i of the 16 rows is one 64-byte vector whose 32-bit lane r is row r.
//
// Q4_K_R16 column (16 x 144 = 2304 bytes):
//   [   0,   32) uint16_t d[16]          f16 d of rows 0..15
//   [  32,   64) uint16_t dmin[16]       f16 dmin of rows 0..15
//   [  64,  256) uint8_t  sm[12][16]     byte k of row r's re-encoded scales at sm[k][r]:
//                  k < 8:  sc_k | (m_k >> 4) << 6              (sc, m: 6-bit scale, min of
//                  k >= 8: (m_(k-8) & 15) | (m_(k-4) & 15) << 4  sub-block k of 32 values)
//   [ 256, 2304) uint8_t  q[32][16][4]   q[8c + i][r] = row r's qs[32c + 4i .. 32c + 4i + 3]
// so q[8c + i]'s low nibbles are values 64c + 4i.. (sub-block 2c) and its high nibbles
// values 64c + 32 + 4i.. (sub-block 2c + 1), 4 per row, in the activation's order.
//
// Q5_K_R16 column (16 x 176 = 2816 bytes), q5 = nibble + 16 * hbit (x = d*sc*q5 - dmin*m):
//   [   0, 2304) Q4_K_R16's column: d, dmin, sm[12][16], and the low 4 bits as its q[32][16][4]
//   [2304, 2816) uint8_t  h[8][16][4]    lines z = 4g..4g+3: bit 2 (z % 4) + n of h[g]'s byte
//                  4r + l is the fifth bit of the value in nibble n (0 low, 1 high) of q[z]'s
//                  byte 4r + l
// so each 64-byte h line matches the q lines byte for byte (a 32-byte half: 8 rows).
//
// Q6_K_R16 column (16 x 210 = 3360 bytes), q6 = the unsigned 6-bit value (x = d*sc*(q6-32)):
//   [   0,   32) uint16_t d[16]          f16 d of rows 0..15
//   [  32,  288) int8_t   sc[16][16]     sc[j][r] = scale of sub-block j (16 values) of row r
//   [ 288, 3360) uint8_t  q[16][3][16][4]  sub-block j, plane p (0..2), row r, byte l (0..3):
//                  q6[16j + 4p + l] | ((q6[16j + 12 + l] >> 2p) & 3) << 6
// so plane p & 63 is chunk p of the sub-block and the planes' top 2 bits together hold
// chunk 3 (values 16j + 12..15).
//
// Q2_K_R16 column (16 x 84 = 1344 bytes), q2 = the 2-bit value (x = d*sc*q2 - dmin*m):
//   [   0,   32) uint16_t d[16]          f16 d of rows 0..15
//   [  32,   64) uint16_t dmin[16]       f16 dmin of rows 0..15
//   [  64,  320) uint8_t  sm[16][16]     sm[j][r] = row r's scales[j]: sc_j | m_j << 4 of
//                                        sub-block j (16 values)
//   [ 320, 1344) uint8_t  q[16][16][4]   sub-block j, row r, byte l (0..3): bits 2k..2k+1 hold
//                  q2[16j + 4k + l], k = 0..3
// so (line j >> 2k) & 3 gives values 16j + 4k.. of each row, 4 per row in the activation's
// order, and a sub-block is one 64-byte line (the activation's bsums are per 16 values too).
//
// Q3_K_R16 column (16 x 110 = 1760 bytes), q3 = q2 + 4 * hbit, the unsigned 3-bit value
// (x = d * sc * (q3 - 4), sc the signed 6-bit scale):
//   [   0,   32) uint16_t d[16]          f16 d of rows 0..15
//   [  32,  224) uint8_t  sm[12][16]     sm[k][r] = row r's scales[k] (the file's 12 bytes: low
//                                        nibbles of sc_j + 32 in byte j % 8, nibble j / 8; top
//                                        2 bits in byte 8 + j % 4, bits 2 (j / 4))
//   [ 224, 1248) uint8_t  q[16][16][4]   the low 2 bits q2, as Q2_K_R16's q
//   [1248, 1760) uint8_t  h[16][32]      sub-block j: bit hpos(k, r / 8) of byte 4 (r % 8) + l is
//                  the high bit of value 16j + 4k + l of row r, hpos = (k & 1) + 4 (k >> 1) +
//                  2 (1 - r / 8): rows 0-7 in bits 2, 3, 6, 7, rows 8-15 in bits 0, 1, 4, 5
// so a 32-byte half of a line (8 rows) finds all its high bits in one 32-byte vector (rows
// 8-15's shifted up by 2), where (line & 0x33) | (h & 0x44) holds chunks 0 and 2 as two
// nibbles and ((line >> 2) & 0x33) | ((h >> 1) & 0x44) chunks 1 and 3; and the 16 scales of
// 16 rows decode from three 64-byte vectors.
//
// IQ1_S_R16 column (16 x 70 = 1120 bytes), a lossless conversion of IQ1_S (50 bytes a block):
// u = grid + 1 in {0, 1, 2}, the codebook looked up once at load (x = d/8 * sc * (8u - 8 + shift)):
//   [   0,   32) uint16_t d[16]          f16 d of rows 0..15 (the file's)
//   [  32,   96) uint8_t  sm[4][16]      sm[k][r]: nibble n (0 low, 1 high) describes group
//                  2k + n of 32 values: bits 0-2 the scale s (sc = 2s + 1), bit 3 set for
//                  shift = -1 (else +1)
//   [  96, 1120) uint8_t  q[16][16][4]   u as Q2_K_R16's q: line j, row r, byte l: bits
//                  2k..2k+1 hold u[16j + 4k + l]
// so a group of 32 is two lines and sum(q * a) = 8 sum(u * a) + (shift - 8) sum(a).
//
// IQ2_XXS_R16 column (16 x 102 = 1632 bytes), a lossless conversion of IQ2_XXS (66 bytes): each
// value's code c in 0..5 for q = -43, -25, -8, 8, 25, 43 (x = d/8 * sc * q), stored as Q3_K_R16
// stores q3 (the codebook and the sign tables looked up once at load):
//   [   0,   32) uint16_t d[16]          f16 d of rows 0..15 (the file's)
//   [  32,   96) uint8_t  sm[4][16]      sm[k][r]: nibble n holds the scale s of group 2k + n
//                                        of 32 values (sc = 2s + 1)
//   [  96, 1120) uint8_t  q[16][16][4]   the low 2 bits of c, as Q2_K_R16's q
//   [1120, 1632) uint8_t  h[16][32]      the high bit of c, as Q3_K_R16's h
// so the products find each chunk's codes as Q3_K_R16's values and turn them into q + 43 (0 to
// 86, unsigned) with one byte shuffle; a group's sum is sc (sum((q + 43) a) - 43 sum(a)).
//
// IQ2_XS_R16 and IQ2_S_R16 columns (16 x 106 = 1696 bytes), lossless conversions of IQ2_XS (74
// bytes) and IQ2_S (82), whose values are IQ2_XXS's (d/8 * sc * q, q one of -43, -25, -8, 8, 25,
// 43) under a scale per 16 values: IQ2_XXS_R16's column with 16 scales a row:
//   [   0,   32) uint16_t d[16]          f16 d of rows 0..15 (the file's)
//   [  32,  160) uint8_t  sm[8][16]      sm[k][r] = row r's scales[k]: nibble n holds the scale s
//                                        of values 32k + 16n .. (sc = 2s + 1)
//   [ 160, 1184) uint8_t  q[16][16][4]   the low 2 bits of the codes, as Q2_K_R16's q
//   [1184, 1696) uint8_t  h[16][32]      the high bit of the codes, as Q3_K_R16's h
// so line j (16 values) has one scale, nibble j % 2 of sm[j / 2].
//
// IQ1_M_R16 column (16 x 110 = 1760 bytes), a lossless conversion of IQ1_M (56 bytes): a
// Q3_K_R16 column whose d is IQ1_M's (assembled from its scales' top bits), whose 16 signed
// 6-bit scales are IQ1_M's sc = 2s + 1 per 16 values (in Q3_K's 12-byte packing), and whose
// 3-bit values are codes c in 0..5 for q = 8 grid + shift = -9, -7, -1, 1, 7, 9 (the grid
// value and the shift of each 8 values looked up once at load; x = d/8 * sc * q). The
// products turn the codes into q + 9 (0 to 18) with one byte shuffle; a sub-block's sum is
// sc (sum((q + 9) a) - 9 sum(a)), Q3_K_R16's with the offset 9 for 4.
//
// IQ4_XS_R16 column (16 x 136 = 2176 bytes, IQ4_XS's own; x = d * (ls - 32) * level[nibble],
// the 16 IQ4_NL levels -127..113, ls the 6-bit scale of each sub-block of 32 values):
//   [   0,   32) uint16_t d[16]          f16 d of rows 0..15
//   [  32,   96) uint32_t sl[16]         row r's scales_l (4 bytes): bits 4j..4j+3 are ls_j & 15
//   [  96,  128) uint16_t sh[16]         row r's scales_h: bits 2j, 2j+1 are ls_j >> 4
//   [ 128, 2176) uint8_t  q[32][16][4]   as Q4_K_R16's q: line 8c + i's low nibbles are values
//                  64c + 4i.. (sub-block 2c) of each row, its high nibbles 64c + 32 + 4i..
// so the products find the nibbles where Q4_K_R16's are, and a byte shuffle turns them into
// u = level + 128 (1 to 241, unsigned); a sub-block's sum is (ls - 32) (sum(u a) - 128 sum(a)).
//
// IQ3_XXS_R16 and IQ3_S_R16 columns (16 x 136 bytes; lossless conversions of IQ3_XXS, 98 bytes,
// and IQ3_S, 110): IQ4_XS_R16's, the nibbles 4-bit codes of the formats' signed values (their
// codebook entries and signs looked up once at load; levels kIq3xxsLevels, kIq3sLevels in
// packed.h) and ls = 2s + 1 + 32 (sc = 2s + 1); IQ3_XXS's d is d/4 of the products.
//
// The products (ref/packed_k.cpp defines their arithmetic) take Q8_K activations.
#include <cstring>

#include "base/check.h"
#include "kernels/packed.h"
#include "quant/block_scales.h"
#include "quant/blocks.h"
#include "quant/iq_grids.h"

namespace moe::packed {
namespace {

// The 256 unsigned 6-bit values of a Q6_K block (ggml's bit layout, as ref/k_quants.cpp):
// per half of 128, value l + 32k takes its low 4 bits from ql and its top 2 from qh.
void q6_values(const BlockQ6_K& b, int q6[kQK_K]) {
  for (int n = 0; n < 2; ++n) {
    const uint8_t* ql = b.ql + 64 * n;
    const uint8_t* qh = b.qh + 32 * n;
    int* y = q6 + 128 * n;
    for (int l = 0; l < 32; ++l) {
      y[l] = (ql[l] & 0xF) | (qh[l] & 3) << 4;
      y[l + 32] = (ql[l + 32] & 0xF) | (qh[l] >> 2 & 3) << 4;
      y[l + 64] = (ql[l] >> 4) | (qh[l] >> 4 & 3) << 4;
      y[l + 96] = (ql[l + 32] >> 4) | (qh[l] >> 6 & 3) << 4;
    }
  }
}

// The 256 2-bit values of a Q2_K block (ggml's bit layout, as quant/dequantize.cpp): half n
// uses qs[32n..32n+31], its value 32k + l (l < 32) is bits 2k of qs[32n + l].
void q2_values(const BlockQ2_K& b, int q2[kQK_K]) {
  for (int n = 0; n < 2; ++n) {
    for (int k = 0; k < 4; ++k) {
      for (int l = 0; l < 32; ++l) q2[128 * n + 32 * k + l] = (b.qs[32 * n + l] >> (2 * k)) & 3;
    }
  }
}

// Bit position of the high bit of chunk k of row r in Q3_K_R16's h bytes (see above).
int q3_high_bit_pos(int k, int r) { return (k & 1) + 4 * (k >> 1) + 2 * (1 - r / 8); }

// Row r's 256 values into the 2-bit lines at q (Q2_K_R16's q) and, with h, their third bits
// into Q3_K_R16's high-bit lines (h zeroed by the caller beforehand).
void write_lines(const int v[kQK_K], int r, uint8_t* q, uint8_t* h) {
  for (int j = 0; j < 16; ++j) {
    for (int l = 0; l < 4; ++l) {
      int byte = 0;
      for (int k = 0; k < 4; ++k) {
        const int x = v[16 * j + 4 * k + l];
        byte |= (x & 3) << (2 * k);
        if (h != nullptr) h[32 * j + 4 * (r % 8) + l] |= static_cast<uint8_t>((x >> 2) << q3_high_bit_pos(k, r));
      }
      q[64 * j + 4 * r + l] = static_cast<uint8_t>(byte);
    }
  }
}

void repack_column_q2_K(const BlockQ2_K* const* rows, int64_t b, uint8_t* col) {
  uint8_t* sm = col + 64;
  uint8_t* q = col + 320;
  for (int r = 0; r < kPackRows; ++r) {
    const BlockQ2_K& x = rows[r][b];
    std::memcpy(col + 2 * r, &x.d, 2);
    std::memcpy(col + 32 + 2 * r, &x.dmin, 2);
    int q2[kQK_K];
    q2_values(x, q2);
    for (int j = 0; j < 16; ++j) sm[16 * j + r] = x.scales[j];
    write_lines(q2, r, q, nullptr);
  }
}

constexpr size_t kIq1sR16Block = 70;  // 2 (d) + 4 (sm) + 64 (q) bytes per row and block

void repack_column_iq1_s(const BlockIQ1_S* const* rows, int64_t b, uint8_t* col) {
  uint8_t* sm = col + 32;
  uint8_t* q = col + 96;
  for (int r = 0; r < kPackRows; ++r) {
    const BlockIQ1_S& x = rows[r][b];
    std::memcpy(col + 2 * r, &x.d, 2);
    int u[kQK_K];
    for (int g = 0; g < 8; ++g) {
      const int qh = x.qh[g];
      const int info = ((qh >> 12) & 7) | (qh >> 15) << 3;
      if (g % 2 == 0) sm[16 * (g / 2) + r] = static_cast<uint8_t>(info);
      if (g % 2 == 1) sm[16 * (g / 2) + r] |= static_cast<uint8_t>(info << 4);
      for (int l = 0; l < 4; ++l) {
        const uint64_t e = kIq1sGrid.v[x.qs[4 * g + l] | (((qh >> (3 * l)) & 7) << 8)];
        for (int j = 0; j < 8; ++j) u[32 * g + 8 * l + j] = static_cast<int8_t>(e >> (8 * j)) + 1;
      }
    }
    write_lines(u, r, q, nullptr);
  }
}

// The 256 unsigned 3-bit values of a Q3_K block (q2 + 4 * hbit, as quant/dequantize.cpp: the
// low bits sit where Q2_K's do, value 128n + 32k + l takes its high bit from bit 4n + k of
// hmask[l]).
void q3_values(const BlockQ3_K& b, int q3[kQK_K]) {
  for (int n = 0; n < 2; ++n) {
    for (int k = 0; k < 4; ++k) {
      for (int l = 0; l < 32; ++l) {
        const int q2 = (b.qs[32 * n + l] >> (2 * k)) & 3;
        q3[128 * n + 32 * k + l] = q2 | ((b.hmask[l] >> (4 * n + k)) & 1) << 2;
      }
    }
  }
}

// The IQ2_XXS magnitudes 8, 25, 43 with their signs, as codes 0..5 in ascending order.
int iq2_xxs_code(int q) {
  const int m = q < 0 ? -q : q;
  const int level = m == 8 ? 0 : m == 25 ? 1 : 2;
  return q < 0 ? 2 - level : 3 + level;
}

constexpr size_t kIq2xxsR16Block = 102;  // 2 (d) + 4 (sm) + 64 (q) + 32 (h) bytes per row and block

void repack_column_iq2_xxs(const BlockIQ2_XXS* const* rows, int64_t b, uint8_t* col) {
  uint8_t* sm = col + 32;
  uint8_t* q = col + 96;
  uint8_t* h = col + 1120;
  std::memset(sm, 0, 64);
  std::memset(h, 0, 512);
  for (int r = 0; r < kPackRows; ++r) {
    const BlockIQ2_XXS& x = rows[r][b];
    std::memcpy(col + 2 * r, &x.d, 2);
    int code[kQK_K];
    for (int g = 0; g < 8; ++g) {
      uint32_t aux[2];
      std::memcpy(aux, x.qs + 4 * g, 8);
      sm[16 * (g / 2) + r] |= static_cast<uint8_t>((aux[1] >> 28) << (4 * (g % 2)));
      for (int l = 0; l < 4; ++l) {
        const uint64_t e = kIq2xxsGrid.v[(aux[0] >> (8 * l)) & 0xFF];
        const int signs = kIq2Signs.v[(aux[1] >> (7 * l)) & 127];
        for (int j = 0; j < 8; ++j) {
          const int m = static_cast<int>((e >> (8 * j)) & 0xFF);
          code[32 * g + 8 * l + j] = iq2_xxs_code((signs >> j) & 1 ? -m : m);
        }
      }
    }
    write_lines(code, r, q, h);
  }
}

constexpr size_t kIq2xsR16Block = 106;  // 2 (d) + 8 (sm) + 64 (q) + 32 (h) bytes per row and block

// IQ2_XS / IQ2_S: d, the scale bytes as they are (nibble u % 2 of byte u / 2 is the scale of
// the 16 values u), and each value's code as IQ2_XXS_R16's. `entry(x, k, &grid, &signs)` gives
// sub-group k's (8 values) grid entry and sign bits.
template <class Block, class Entry>
void repack_column_iq2_per16(const Block* const* rows, int64_t b, uint8_t* col, Entry entry) {
  uint8_t* sm = col + 32;
  uint8_t* q = col + 160;
  uint8_t* h = col + 1184;
  std::memset(h, 0, 512);
  for (int r = 0; r < kPackRows; ++r) {
    const Block& x = rows[r][b];
    std::memcpy(col + 2 * r, &x.d, 2);
    for (int k = 0; k < 8; ++k) sm[16 * k + r] = x.scales[k];
    int code[kQK_K];
    for (int k = 0; k < 32; ++k) {
      uint64_t e;
      int signs;
      entry(x, k, &e, &signs);
      for (int j = 0; j < 8; ++j) {
        const int m = static_cast<int>((e >> (8 * j)) & 0xFF);
        code[8 * k + j] = iq2_xxs_code((signs >> j) & 1 ? -m : m);
      }
    }
    write_lines(code, r, q, h);
  }
}

void repack_column_iq2_xs(const BlockIQ2_XS* const* rows, int64_t b, uint8_t* col) {
  repack_column_iq2_per16(rows, b, col, [](const BlockIQ2_XS& x, int k, uint64_t* e, int* signs) {
    *e = kIq2xsGrid.v[x.qs[k] & 511];
    *signs = kIq2Signs.v[x.qs[k] >> 9];
  });
}

void repack_column_iq2_s(const BlockIQ2_S* const* rows, int64_t b, uint8_t* col) {
  repack_column_iq2_per16(rows, b, col, [](const BlockIQ2_S& x, int k, uint64_t* e, int* signs) {
    *e = kIq2sGrid.v[x.qs[k] | ((x.qh[k / 4] >> (2 * (k % 4))) & 3) << 8];
    *signs = x.signs[k];
  });
}

// IQ1_M's 16 scales (sc = 2s + 1) as Q3_K stores its signed 6-bit scales: sc + 32, the low
// nibble of sub-block j in nibble j / 8 of byte j % 8, the top 2 bits in bits 2 (j / 4) of
// byte 8 + j % 4 (quant/block_scales.h's q3_K_scale reads them back).
void pack_q3_K_scales(const int sc[16], uint8_t out[12]) {
  std::memset(out, 0, 12);
  for (int j = 0; j < 16; ++j) {
    const int biased = sc[j] + 32;
    out[j % 8] |= static_cast<uint8_t>((biased & 15) << (4 * (j / 8)));
    out[8 + j % 4] |= static_cast<uint8_t>((biased >> 4) << (2 * (j / 4)));
  }
}

// Row r of a Q3_K_R16 column: its f16 d, its 12 scale bytes and its 256 3-bit values (the
// column's high-bit lines, at 1248, start zeroed).
void write_q3_K_row(uint8_t* col, int r, uint16_t d, const uint8_t scales[12], const int v[kQK_K]) {
  std::memcpy(col + 2 * r, &d, 2);
  for (int k = 0; k < 12; ++k) col[32 + 16 * k + r] = scales[k];
  write_lines(v, r, col + 224, col + 1248);
}

void repack_column_iq1_m(const BlockIQ1_M* const* rows, int64_t b, uint8_t* col) {
  std::memset(col + 1248, 0, 512);
  for (int r = 0; r < kPackRows; ++r) {
    const BlockIQ1_M& x = rows[r][b];
    uint16_t s4[4];
    std::memcpy(s4, x.scales, 8);
    const auto d = static_cast<uint16_t>((s4[0] >> 12) | ((s4[1] >> 8) & 0x00F0) |
                                         ((s4[2] >> 4) & 0x0F00) | (s4[3] & 0xF000));
    int sc[16];
    for (int j = 0; j < 16; ++j) sc[j] = 2 * ((s4[j / 4] >> (3 * (j % 4))) & 7) + 1;
    uint8_t scales[12];
    pack_q3_K_scales(sc, scales);
    int code[kQK_K];
    for (int k = 0; k < 32; ++k) {  // groups of 8 values: grid index and shift sign
      const int nib = (x.qh[k / 2] >> (4 * (k % 2))) & 15;
      const uint64_t e = kIq1sGrid.v[x.qs[k] | ((nib & 7) << 8)];
      for (int l = 0; l < 8; ++l) {
        const int grid = static_cast<int8_t>(e >> (8 * l));    // -1, 0, 1
        code[8 * k + l] = 2 * (grid + 1) + (nib & 8 ? 0 : 1);  // q = 8 grid -1 / +1
      }
    }
    write_q3_K_row(col, r, d, scales, code);
  }
}

void repack_column_q3_K(const BlockQ3_K* const* rows, int64_t b, uint8_t* col) {
  std::memset(col + 1248, 0, 512);
  for (int r = 0; r < kPackRows; ++r) {
    const BlockQ3_K& x = rows[r][b];
    int q3[kQK_K];
    q3_values(x, q3);
    write_q3_K_row(col, r, x.d, x.scales, q3);
  }
}

// Q4_K_R16's part of a column (Q5_K_R16's first 2304 bytes): row r of Q4_K or Q5_K block x.
template <class Block>
void repack_row_q4_K(const Block& x, int r, uint8_t* col) {
  uint8_t* sm = col + 64;
  uint8_t* q = col + 256;
  std::memcpy(col + 2 * r, &x.d, 2);
  std::memcpy(col + 32 + 2 * r, &x.dmin, 2);
  uint8_t sc[8], m[8];
  for (int j = 0; j < 8; ++j) k4_scale_min(j, x.scales, &sc[j], &m[j]);
  for (int k = 0; k < 8; ++k) sm[16 * k + r] = static_cast<uint8_t>(sc[k] | (m[k] >> 4) << 6);
  for (int k = 0; k < 4; ++k) sm[16 * (8 + k) + r] = static_cast<uint8_t>((m[k] & 15) | (m[k + 4] & 15) << 4);
  for (int z = 0; z < 32; ++z) std::memcpy(q + 64 * z + 4 * r, x.qs + 4 * z, 4);
}

void repack_column_q4_K(const BlockQ4_K* const* rows, int64_t b, uint8_t* col) {
  for (int r = 0; r < kPackRows; ++r) repack_row_q4_K(rows[r][b], r, col);
}

// Line z = 8c + i holds qs[32c + 4i + l]: values 64c + 4i + l (low nibble) and 64c + 32 + 4i
// + l (high), whose fifth bits are bits 2c and 2c + 1 of qh[4i + l].
void repack_column_q5_K(const BlockQ5_K* const* rows, int64_t b, uint8_t* col) {
  uint8_t* h = col + 2304;
  std::memset(h, 0, 512);
  for (int r = 0; r < kPackRows; ++r) {
    const BlockQ5_K& x = rows[r][b];
    repack_row_q4_K(x, r, col);
    for (int z = 0; z < 32; ++z) {
      const int c = z / 8, i = z % 8;
      for (int l = 0; l < 4; ++l) {
        const int bits = (x.qh[4 * i + l] >> (2 * c)) & 3;  // (low, high) nibble's fifth bits
        h[64 * (z / 4) + 4 * r + l] |= static_cast<uint8_t>(bits << (2 * (z % 4)));
      }
    }
  }
}

void repack_column_q6_K(const BlockQ6_K* const* rows, int64_t b, uint8_t* col) {
  auto* sc = reinterpret_cast<int8_t*>(col + 32);
  uint8_t* q = col + 288;
  for (int r = 0; r < kPackRows; ++r) {
    const BlockQ6_K& x = rows[r][b];
    std::memcpy(col + 2 * r, &x.d, 2);
    int q6[kQK_K];
    q6_values(x, q6);
    for (int j = 0; j < 16; ++j) {
      sc[16 * j + r] = x.scales[j];
      for (int p = 0; p < 3; ++p) {
        for (int l = 0; l < 4; ++l) {
          const int top = (q6[16 * j + 12 + l] >> (2 * p)) & 3;
          q[(3 * j + p) * 64 + 4 * r + l] = static_cast<uint8_t>(q6[16 * j + 4 * p + l] | top << 6);
        }
      }
    }
  }
}

// Row r of an IQ4_XS_R16 column: d, the 8 scales ls_j (0 to 63; the scale is ls_j - 32) and
// the 256 codes, written in Q4_K's byte order (byte 32c + l: value 64c + l low, 64c + 32 + l
// high) as Q4_K_R16's lines.
void write_level_row(uint8_t* col, int r, uint16_t d, const int ls[8], const uint8_t code[kQK_K]) {
  uint32_t sl = 0;
  uint16_t sh = 0;
  for (int j = 0; j < 8; ++j) {
    sl |= static_cast<uint32_t>(ls[j] & 15) << (4 * j);
    sh = static_cast<uint16_t>(sh | (ls[j] >> 4) << (2 * j));
  }
  std::memcpy(col + 2 * r, &d, 2);
  std::memcpy(col + 32 + 4 * r, &sl, 4);
  std::memcpy(col + 96 + 2 * r, &sh, 2);
  uint8_t* q = col + 128;
  for (int z = 0; z < 32; ++z) {
    for (int l = 0; l < 4; ++l) {
      const int i = 64 * (z / 8) + 4 * (z % 8) + l;
      q[64 * z + 4 * r + l] = static_cast<uint8_t>(code[i] | code[i + 32] << 4);
    }
  }
}

// IQ4_XS: its nibbles are the codes (value l of sub-block j: byte 16j + l % 16, low nibble for
// l < 16), its scales ls.
void repack_column_iq4_xs(const BlockIQ4_XS* const* rows, int64_t b, uint8_t* col) {
  for (int r = 0; r < kPackRows; ++r) {
    const BlockIQ4_XS& x = rows[r][b];
    int ls[8];
    for (int j = 0; j < 8; ++j)
      ls[j] = ((x.scales_l[j / 2] >> (4 * (j % 2))) & 15) | ((x.scales_h >> (2 * j)) & 3) << 4;
    uint8_t code[kQK_K];
    for (int i = 0; i < kQK_K; ++i) {
      const uint8_t byte = x.qs[16 * (i / 32) + i % 16];
      code[i] = i % 32 < 16 ? byte & 15 : byte >> 4;
    }
    write_level_row(col, r, x.d, ls, code);
  }
}

// The code of a signed value of the IQ3 formats: magnitude index m (0..7), codes 0-7 negative
// (7 - m), 8-15 positive (8 + m), as kIq3xxsLevels / kIq3sLevels order them.
uint8_t iq3_code(int m, bool negative) {
  return static_cast<uint8_t>(negative ? 7 - m : 8 + m);
}

// IQ3_XXS: x = d/4 * (2s + 1) * sign * magnitude, magnitudes 4, 12, .., 52, 62 (index
// (magnitude - 4) / 8, which puts 62 last).
void repack_column_iq3_xxs(const BlockIQ3_XXS* const* rows, int64_t b, uint8_t* col) {
  for (int r = 0; r < kPackRows; ++r) {
    const BlockIQ3_XXS& x = rows[r][b];
    int ls[8];
    uint8_t code[kQK_K];
    for (int g = 0; g < 8; ++g) {
      uint32_t aux;
      std::memcpy(&aux, x.sas + 4 * g, 4);
      ls[g] = 2 * static_cast<int>(aux >> 28) + 1 + 32;
      for (int l = 0; l < 4; ++l) {
        const uint32_t signs = kIq2Signs.v[(aux >> (7 * l)) & 127];
        for (int h = 0; h < 2; ++h) {
          const uint32_t e = kIq3xxsGrid.v[x.qs[8 * g + 2 * l + h]];
          for (int m = 0; m < 4; ++m) {
            const int mag = (e >> (8 * m)) & 0xFF;
            code[32 * g + 8 * l + 4 * h + m] = iq3_code((mag - 4) / 8, (signs >> (4 * h + m)) & 1);
          }
        }
      }
    }
    write_level_row(col, r, x.d, ls, code);
  }
}

// IQ3_S: x = d * (2s + 1) * sign * magnitude, magnitudes 1, 3, .., 15 (index (magnitude - 1) / 2).
void repack_column_iq3_s(const BlockIQ3_S* const* rows, int64_t b, uint8_t* col) {
  for (int r = 0; r < kPackRows; ++r) {
    const BlockIQ3_S& x = rows[r][b];
    int ls[8];
    for (int g = 0; g < 8; ++g) ls[g] = 2 * ((x.scales[g / 2] >> (4 * (g % 2))) & 15) + 1 + 32;
    uint8_t code[kQK_K];
    for (int e = 0; e < 64; ++e) {
      const uint32_t entry = kIq3sGrid.v[x.qs[e] | ((x.qh[e / 8] >> (e % 8)) & 1) << 8];
      for (int m = 0; m < 4; ++m) {
        const int v = 4 * e + m;
        const int mag = (entry >> (8 * m)) & 0xFF;
        code[v] = iq3_code((mag - 1) / 2, (x.signs[v / 8] >> (v % 8)) & 1);
      }
    }
    write_level_row(col, r, x.d, ls, code);
  }
}

// kOutBlock: bytes per row and block of the packed layout (the source's unless converting).
template <class Block, void (*kColumn)(const Block* const*, int64_t, uint8_t*),
          size_t kOutBlock = sizeof(Block)>
void repack(const void* src, int64_t rows, int64_t n, void* dst) {
  MOE_CHECK(rows % kPackRows == 0 && n % kQK_K == 0);
  const int64_t nb = n / kQK_K;
  const size_t row_bytes = nb * sizeof(Block), out_row_bytes = nb * kOutBlock;
  const auto* s = static_cast<const uint8_t*>(src);
  auto* d = static_cast<uint8_t*>(dst);
  for (int64_t g = 0; g < rows / kPackRows; ++g) {
    const Block* group[kPackRows];
    for (int r = 0; r < kPackRows; ++r) {
      group[r] = reinterpret_cast<const Block*>(s + (kPackRows * g + r) * row_bytes);
    }
    uint8_t* out = d + kPackRows * g * out_row_bytes;
    for (int64_t b = 0; b < nb; ++b) kColumn(group, b, out + b * kPackRows * kOutBlock);
  }
}

}  // namespace

void repack_q4_K_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  repack<BlockQ4_K, repack_column_q4_K>(src, rows, n, dst);
}

void repack_q5_K_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  repack<BlockQ5_K, repack_column_q5_K>(src, rows, n, dst);
}

void repack_q6_K_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  repack<BlockQ6_K, repack_column_q6_K>(src, rows, n, dst);
}

void repack_q2_K_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  repack<BlockQ2_K, repack_column_q2_K>(src, rows, n, dst);
}

void repack_q3_K_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  repack<BlockQ3_K, repack_column_q3_K>(src, rows, n, dst);
}

void repack_iq1_s_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  repack<BlockIQ1_S, repack_column_iq1_s, kIq1sR16Block>(src, rows, n, dst);
}

void repack_iq2_xxs_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  repack<BlockIQ2_XXS, repack_column_iq2_xxs, kIq2xxsR16Block>(src, rows, n, dst);
}

void repack_iq1_m_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  repack<BlockIQ1_M, repack_column_iq1_m, sizeof(BlockQ3_K)>(src, rows, n, dst);
}

void repack_iq4_xs_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  repack<BlockIQ4_XS, repack_column_iq4_xs>(src, rows, n, dst);
}

void repack_iq3_xxs_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  repack<BlockIQ3_XXS, repack_column_iq3_xxs, sizeof(BlockIQ4_XS)>(src, rows, n, dst);
}

void repack_iq2_xs_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  repack<BlockIQ2_XS, repack_column_iq2_xs, kIq2xsR16Block>(src, rows, n, dst);
}

void repack_iq2_s_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  repack<BlockIQ2_S, repack_column_iq2_s, kIq2xsR16Block>(src, rows, n, dst);
}

void repack_iq3_s_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  repack<BlockIQ3_S, repack_column_iq3_s, sizeof(BlockIQ4_XS)>(src, rows, n, dst);
}

}  // namespace moe::packed
