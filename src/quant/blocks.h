// Bit layouts of the ggml block formats, exactly as GGUF files store them.
// Every struct is static_asserted against the size the type table gives (gguf/types.cpp).
// Scales `d`/`dmin` are IEEE half precision stored as uint16_t.
#pragma once

#include <cstdint>

namespace moe {

constexpr int kQK = 32;    // values per block of the "legacy" formats
constexpr int kQK_K = 256;  // values per super-block of the K formats
constexpr int kKScaleBytes = 12;

// x = d * (q - 8), q a 4-bit value; qs[i] holds value i (low nibble) and i+16 (high).
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4_0) == 18);

// x = d * q + m.
struct BlockQ4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ4_1) == 20);

// x = d * (q - 16), q 5-bit: low 4 bits as in Q4_0, bit 4 of value j in bit j of qh.
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5_0) == 22);

// x = d * q + m, q 5-bit.
struct BlockQ5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockQ5_1) == 24);

// IQ4_NL (llama.cpp's fallback for Q2_K / Q3_K / IQ rows that are not a multiple of 256):
// x = d * kIq4nlValues[nibble], nibbles as Q4_0 (value l low, l + 16 high nibble of qs[l]).
struct BlockIQ4_NL {
  uint16_t d;
  uint8_t qs[kQK / 2];
};
static_assert(sizeof(BlockIQ4_NL) == 18);
// The format's 16 non-linear levels (part of its definition, as ggml-common.h gives them).
inline constexpr int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

// x = d * q, q int8.
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8_0) == 34);

// x = d * q; s = d * sum(q) (used by the Q4_1/Q5_1 dot products).
struct BlockQ8_1 {
  uint16_t d;
  uint16_t s;
  int8_t qs[kQK];
};
static_assert(sizeof(BlockQ8_1) == 36);

// 16 sub-blocks of 16: x = d * (scales[j] & 15) * q - dmin * (scales[j] >> 4), q 2-bit.
struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];
  uint8_t qs[kQK_K / 4];
  uint16_t d;
  uint16_t dmin;
};
static_assert(sizeof(BlockQ2_K) == 84);

// 16 sub-blocks of 16: x = d * (scale6 - 32) * (q2 - (hmask bit ? 0 : 4)).
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[12];
  uint16_t d;
};
static_assert(sizeof(BlockQ3_K) == 110);

// 8 sub-blocks of 32 with 6-bit scales and mins packed in 12 bytes: x = d*sc*q - dmin*m.
struct BlockQ4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ5_K) == 176);

// 16 sub-blocks of 16 with int8 scales: x = d * scales[j] * (q6 - 32).
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};
static_assert(sizeof(BlockQ6_K) == 210);

// IQ4_XS: IQ4_NL's levels under K-style scales. 8 groups of 32; group g's 6-bit scale ls is
// ((scales_l[g / 2] >> 4 (g % 2)) & 15) | ((scales_h >> 2g) & 3) << 4; its nibbles are
// qs[16g .. 16g+15] (value l low, l + 16 high): x = d * (ls - 32) * kIq4nlValues[nibble].
struct BlockIQ4_XS {
  uint16_t d;
  uint16_t scales_h;
  uint8_t scales_l[kQK_K / 64];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockIQ4_XS) == 136);

// The IQ formats of the dynamic 1-2 bit files (codebooks in quant/iq_grids.h).
// IQ2_XXS: 8 groups of 32; group g is qs[4g .. 4g+3] read as two little-endian uint32,
// aux0 and aux1. Byte l of aux0 indexes kIq2xxsGrid for values 8l .. 8l+7 (magnitudes 8, 25,
// 43); bits 7l .. 7l+6 of aux1 are their signs as an index into kIq2xxsSigns; aux1 >> 28 is
// the group scale s: x = d * (0.5 + s) / 4 * sign * magnitude.
struct BlockIQ2_XXS {
  uint16_t d;
  uint16_t qs[kQK_K / 8];
};
static_assert(sizeof(BlockIQ2_XXS) == 66);

// IQ1_S: 8 groups of 32 with qh[g]: bits 3l .. 3l+2 are the high bits of sub-group l's 11-bit
// index qs[4g + l] | (those << 8) into kIq1sGrid (8 values of -1, 0, +1), bits 12-14 the
// scale s, bit 15 the sign of the shift: x = d * (2s + 1) * (grid + (bit 15 ? -1/8 : 1/8)).
struct BlockIQ1_S {
  uint16_t d;
  uint8_t qs[kQK_K / 8];
  uint16_t qh[kQK_K / 32];
};
static_assert(sizeof(BlockIQ1_S) == 50);

// IQ1_M: sub-group k of 8 values indexes kIq1sGrid with qs[k] | ((qh[k / 2] >> 4 (k % 2)) & 7) << 8;
// bit 3 of that nibble is the sign of its shift. `scales` read as four little-endian uint16:
// 3 bits per 16 values (scale j at bit 3 (j % 4) of word j / 4), and the top nibbles of the
// four words are the f16 d (word 0's is its lowest nibble). x = d * (2s + 1) * (grid +- 1/8).
struct BlockIQ1_M {
  uint8_t qs[kQK_K / 8];
  uint8_t qh[kQK_K / 16];
  uint8_t scales[kQK_K / 32];
};
static_assert(sizeof(BlockIQ1_M) == 56);

// IQ2_XS: qs[k] (8 values) holds a 9-bit index into kIq2xsGrid (bits 0-8) and 7 sign bits
// (bits 9-15, kIq2Signs); scales: 4 bits per 16 values (group j: nibble j % 2 of scales[j / 2]):
// x = d * (0.5 + s) / 4 * sign * magnitude.
struct BlockIQ2_XS {
  uint16_t d;
  uint16_t qs[kQK_K / 8];
  uint8_t scales[kQK_K / 32];
};
static_assert(sizeof(BlockIQ2_XS) == 74);

// IQ2_S: sub-group k of 8 indexes kIq2sGrid with qs[k] | ((qh[k / 4] >> 2 (k % 4)) & 3) << 8;
// its signs are the bits of signs[k]; scales as IQ2_XS.
struct BlockIQ2_S {
  uint16_t d;
  uint8_t qs[kQK_K / 8];
  uint8_t signs[kQK_K / 8];
  uint8_t qh[kQK_K / 32];
  uint8_t scales[kQK_K / 32];
};
static_assert(sizeof(BlockIQ2_S) == 82);

// IQ3_XXS: qs[e] indexes kIq3xxsGrid for values 4e .. 4e+3; group g of 32 has the
// little-endian uint32 aux at sas[4g]: 7 sign bits per 8 values (bits 7l, kIq2Signs) and the
// scale s in bits 28-31: x = d * (0.5 + s) / 2 * sign * magnitude.
struct BlockIQ3_XXS {
  uint16_t d;
  uint8_t qs[kQK_K / 4];
  uint8_t sas[kQK_K / 8];
};
static_assert(sizeof(BlockIQ3_XXS) == 98);

// IQ3_S: entry e (4 values) indexes kIq3sGrid with qs[e] | ((qh[e / 8] >> (e % 8)) & 1) << 8;
// signs are bits (value 8k + j: bit j of signs[k]); group g of 32 has the scale nibble g % 2
// of scales[g / 2]: x = d * (1 + 2s) * sign * magnitude.
struct BlockIQ3_S {
  uint16_t d;
  uint8_t qs[kQK_K / 4];
  uint8_t qh[kQK_K / 32];
  uint8_t signs[kQK_K / 8];
  uint8_t scales[kQK_K / 64];
};
static_assert(sizeof(BlockIQ3_S) == 110);

// Activation format for K-quant dot products: float scale, int8 values, and the sums of
// each group of 16 values (the K formats' min terms use them).
struct BlockQ8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};
static_assert(sizeof(BlockQ8_K) == 292);

}  // namespace moe
