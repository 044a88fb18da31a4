// vpdpbusd with its signed operand broadcast from memory ({1to16}): one instruction where
// GCC 12 emits a vpbroadcastd and then the vpdpbusd. In the multi-token tiles every
// activation dword feeds one product, so those broadcasts were a third of the
// instructions and the front end, not the VNNI ports, set the pace.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace moe::avx512 {

// acc + dpbusd(u8, the 4 bytes at s8x4 in every lane): _mm512_dpbusd_epi32 bit for bit.
inline __m512i dpbusd_bcast(__m512i acc, __m512i u8, const void* s8x4) {
  using Dword = int32_t __attribute__((may_alias));  // the bytes are int8 blocks
  asm("vpdpbusd %2%{1to16%}, %1, %0" : "+v"(acc) : "v"(u8), "m"(*static_cast<const Dword*>(s8x4)));
  return acc;
}

}  // namespace moe::avx512
