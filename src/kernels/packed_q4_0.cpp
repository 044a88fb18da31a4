// Q4_0 -> Q4_0_R16 (layout in packed.h): each row's scale, then its bytes 4 at a time among
// the 16 rows', unchanged (the file already holds values j and j + 16 in one byte).
#include <cstring>

#include "base/check.h"
#include "kernels/packed.h"
#include "quant/blocks.h"

namespace moe::packed {

void repack_q4_0_r16(const void* src, int64_t rows, int64_t n, void* dst) {
  MOE_CHECK(rows % kPackRows == 0 && n % kQK == 0);
  const int64_t nb = n / kQK;
  const auto* in = static_cast<const BlockQ4_0*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  constexpr size_t kScales = kPackRows * sizeof(uint16_t);
  for (int64_t g = 0; g < rows / kPackRows; ++g) {
    const BlockQ4_0* rows_in = in + g * kPackRows * nb;
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* col = out + (g * nb + b) * kPackRows * sizeof(BlockQ4_0);
      for (int r = 0; r < kPackRows; ++r) {
        const BlockQ4_0& blk = rows_in[r * nb + b];
        std::memcpy(col + r * sizeof(uint16_t), &blk.d, sizeof(uint16_t));
        for (int c = 0; c < kQK / 8; ++c)
          std::memcpy(col + kScales + (c * kPackRows + r) * 4, blk.qs + 4 * c, 4);
      }
    }
  }
}

}  // namespace moe::packed
