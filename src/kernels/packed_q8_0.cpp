// Q8_0 -> Q8_0_R16 (layout in packed.h), and the lossless conversions of the other
// symmetric 32-value formats (Q5_0, IQ4_NL: d * small signed integers) into it. (Q4_0 has a
// packed layout of its own bytes, packed_q4_0.cpp.)
#include <cstring>

#include "base/check.h"
#include "base/half.h"
#include "kernels/packed.h"
#include "quant/blocks.h"

namespace moe::packed {
namespace {

// Row r's block in one block column of a group: its f16 scale, then its 32 values 4 at a
// time among the 16 rows' (q + 128 == q ^ 0x80 as bytes).
void put_block(const BlockQ8_0& blk, int r, uint8_t* col) {
  std::memcpy(col + r * sizeof(uint16_t), &blk.d, sizeof(uint16_t));
  for (int c = 0; c < kQK / 4; ++c) {
    uint32_t four;
    std::memcpy(&four, blk.qs + 4 * c, 4);
    four ^= 0x80808080u;
    std::memcpy(col + kPackRows * sizeof(uint16_t) + (c * kPackRows + r) * 4, &four, 4);
  }
}

void get_block(const uint8_t* col, int r, BlockQ8_0* blk) {
  std::memcpy(&blk->d, col + r * sizeof(uint16_t), sizeof(uint16_t));
  for (int c = 0; c < kQK / 4; ++c) {
    uint32_t four;
    std::memcpy(&four, col + kPackRows * sizeof(uint16_t) + (c * kPackRows + r) * 4, 4);
    four ^= 0x80808080u;
    std::memcpy(blk->qs + 4 * c, &four, 4);
  }
}

void decode(const BlockQ8_0& b, int8_t* q) { std::memcpy(q, b.qs, kQK); }

void decode(const BlockQ5_0& b, int8_t* q) {
  uint32_t high;
  std::memcpy(&high, b.qh, sizeof(high));
  for (int i = 0; i < kQK / 2; ++i) {
    q[i] = static_cast<int8_t>(((b.qs[i] & 15) | ((high >> i) & 1) << 4) - 16);
    q[i + kQK / 2] = static_cast<int8_t>(((b.qs[i] >> 4) | ((high >> (i + 16)) & 1) << 4) - 16);
  }
}

void decode(const BlockIQ4_NL& b, int8_t* q) {
  for (int i = 0; i < kQK / 2; ++i) {
    q[i] = kIq4nlValues[b.qs[i] & 15];
    q[i + kQK / 2] = kIq4nlValues[b.qs[i] >> 4];
  }
}

// Rows of `Block` (32 values, f16 `d`) -> Q8_0_R16 groups (16 x 34 bytes per block column).
template <class Block>
void repack_rows(const void* src, int64_t rows, int64_t n, void* dst) {
  MOE_CHECK(rows % kPackRows == 0 && n % kQK == 0);
  const int64_t nb = n / kQK;
  const auto* in = static_cast<const Block*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t g = 0; g < rows / kPackRows; ++g) {
    const Block* rows_in = in + g * kPackRows * nb;
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* col = out + (g * nb + b) * kPackRows * sizeof(BlockQ8_0);
      for (int r = 0; r < kPackRows; ++r) {
        const Block& blk = rows_in[r * nb + b];
        BlockQ8_0 plain;
        std::memcpy(&plain.d, &blk.d, sizeof(uint16_t));
        decode(blk, plain.qs);
        put_block(plain, r, col);
      }
    }
  }
}

}  // namespace

void write_q8_0_r16_row(const BlockQ8_0* row, int64_t nb, int r, void* group) {
  MOE_CHECK(r >= 0 && r < kPackRows);
  auto* g = static_cast<uint8_t*>(group);
  for (int64_t b = 0; b < nb; ++b) put_block(row[b], r, g + b * kPackRows * sizeof(BlockQ8_0));
}

void read_q8_0_r16_row(const void* group, int64_t nb, int r, BlockQ8_0* row) {
  MOE_CHECK(r >= 0 && r < kPackRows);
  const auto* g = static_cast<const uint8_t*>(group);
  for (int64_t b = 0; b < nb; ++b) get_block(g + b * kPackRows * sizeof(BlockQ8_0), r, &row[b]);
}

void dequantize_q8_0_r16_row(const void* group, int64_t nb, int r, float* out) {
  MOE_CHECK(r >= 0 && r < kPackRows);
  const auto* g = static_cast<const uint8_t*>(group);
  for (int64_t b = 0; b < nb; ++b, out += kQK) {
    const uint8_t* col = g + b * kPackRows * sizeof(BlockQ8_0);
    uint16_t h;
    std::memcpy(&h, col + r * sizeof(uint16_t), sizeof(h));
    const float d = f16_to_f32(h);
    const uint8_t* q = col + kPackRows * sizeof(uint16_t) + r * 4;
    for (int c = 0; c < kQK / 4; ++c) {
      for (int j = 0; j < 4; ++j)
        out[4 * c + j] = d * static_cast<int8_t>(q[c * kPackRows * 4 + j] ^ 0x80);
    }
  }
}

void repack_q8_0_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  repack_rows<BlockQ8_0>(src, rows, n, dst);
}
void repack_q5_0_to_q8_0_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  repack_rows<BlockQ5_0>(src, rows, n, dst);
}
void repack_iq4_nl_to_q8_0_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  repack_rows<BlockIQ4_NL>(src, rows, n, dst);
}

}  // namespace moe::packed
