// Unpacking of the packed sub-block scales of the K formats, shared by the reference
// decoders and every kernel (so all of them read the bits the same way).
#pragma once

#include <cstdint>

namespace moe {

// Q4_K / Q5_K: 8 six-bit scales and 8 six-bit mins in 12 bytes.
//   j < 4:  sc = q[j] & 63,                         m = q[j+4] & 63
//   j >= 4: sc = (q[j+4] & 15) | (q[j-4] >> 6) << 4, m = (q[j+4] >> 4) | (q[j] >> 6) << 4
inline void k4_scale_min(int j, const uint8_t* q, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// Q3_K: 16 six-bit scales (stored biased by 32) in 12 bytes. The low 4 bits of scale j are
// the low (j < 8) or high (j >= 8) nibble of byte j % 8; its high 2 bits are bits
// 2*(j/4)..2*(j/4)+1 of byte 8 + j % 4. Returns the signed scale (-32..31).
inline int q3_K_scale(int j, const uint8_t* s) {
  const int lo = j < 8 ? (s[j] & 0xF) : (s[j - 8] >> 4);
  const int hi = (s[8 + (j & 3)] >> (2 * (j >> 2))) & 3;
  return (lo | (hi << 4)) - 32;
}

}  // namespace moe
