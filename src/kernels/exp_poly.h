// The constants of the vectorized e^x that the ISA activations share (avx2/ and avx512/
// activations.cpp): e^x = 2^n e^r with n = round(x log2 e) and r = x - n ln 2, ln 2 in two
// parts (the first has few bits, so n times it is exact), and e^r by Cephes' degree-6
// polynomial for expf (relative error about 1.5e-7 on |r| <= ln 2 / 2). Constants only: the
// ISA sources must not share inline functions (see kernels/avx2/tile.h).
#pragma once

namespace moe::exp_poly {

inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kLn2Hi = 0.693359375f;
inline constexpr float kLn2Lo = -2.12194440e-4f;
// q = ((((c0 r + c1) r + c2) r + c3) r + c4) r + c5; e^r = q r^2 + r + 1
inline constexpr float kPoly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                   4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

}  // namespace moe::exp_poly
