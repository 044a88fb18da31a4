// Q8_0 -> Q8_0_R16 (layout in packed.h).
#include <cstring>

#include "base/check.h"
#include "kernels/packed.h"
#include "quant/blocks.h"

namespace moe::packed {

void repack_q8_0_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  MOE_CHECK(rows % kPackRows == 0 && n % kQK == 0);
  const int64_t nb = n / kQK;
  const auto* in = static_cast<const BlockQ8_0*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  for (int64_t g = 0; g < rows / kPackRows; ++g) {
    const BlockQ8_0* rows_in = in + g * kPackRows * nb;
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* col = out + (g * nb + b) * kPackRows * sizeof(BlockQ8_0);
      uint8_t* q = col + kPackRows * sizeof(uint16_t);
      for (int r = 0; r < kPackRows; ++r) {
        const BlockQ8_0& blk = rows_in[r * nb + b];
        std::memcpy(col + r * sizeof(uint16_t), &blk.d, sizeof(uint16_t));
        for (int c = 0; c < kQK / 4; ++c) {  // 4 values at a time; q + 128 == q ^ 0x80 as bytes
          uint32_t four;
          std::memcpy(&four, blk.qs + 4 * c, 4);
          four ^= 0x80808080u;
          std::memcpy(q + (c * kPackRows + r) * 4, &four, 4);
        }
      }
    }
  }
}

}  // namespace moe::packed
