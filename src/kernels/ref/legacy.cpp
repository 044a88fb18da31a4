// The 32-value formats: decode a block to int8 values, integer dot with the activation,
// scale once per block (ggml's order: sumi * (d_w * d_a) [+ m_w * s_a]).
#include <cstring>

#include "base/half.h"
#include "kernels/ref/ref_kernels.h"
#include "quant/blocks.h"

namespace moe::ref {
namespace {

// Values of a block before scaling: q - 8 (Q4_0), q - 16 (Q5_0), the level (IQ4_NL), q (Q4_1,
// Q5_1, Q8_0).
void decode(const BlockQ4_0& b, int* q) {
  for (int l = 0; l < 16; ++l) {
    q[l] = (b.qs[l] & 0xF) - 8;
    q[l + 16] = (b.qs[l] >> 4) - 8;
  }
}
void decode(const BlockQ4_1& b, int* q) {
  for (int l = 0; l < 16; ++l) {
    q[l] = b.qs[l] & 0xF;
    q[l + 16] = b.qs[l] >> 4;
  }
}
void decode5(const uint8_t* qs, const uint8_t* qh_bytes, int offset, int* q) {
  uint32_t qh;
  std::memcpy(&qh, qh_bytes, 4);
  for (int l = 0; l < 16; ++l) {
    q[l] = ((qs[l] & 0xF) | (((qh >> l) & 1) << 4)) - offset;
    q[l + 16] = ((qs[l] >> 4) | (((qh >> (l + 16)) & 1) << 4)) - offset;
  }
}
void decode(const BlockQ5_0& b, int* q) { decode5(b.qs, b.qh, 16, q); }
void decode(const BlockIQ4_NL& b, int* q) {
  for (int l = 0; l < 16; ++l) {
    q[l] = kIq4nlValues[b.qs[l] & 0xF];
    q[l + 16] = kIq4nlValues[b.qs[l] >> 4];
  }
}
void decode(const BlockQ5_1& b, int* q) { decode5(b.qs, b.qh, 0, q); }
void decode(const BlockQ8_0& b, int* q) {
  for (int l = 0; l < 32; ++l) q[l] = b.qs[l];
}

int idot(const int* q, const int8_t* a) {
  int s = 0;
  for (int l = 0; l < kQK; ++l) s += q[l] * a[l];
  return s;
}

template <class W>
float dot_symmetric(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const W*>(w);
  const auto* y = static_cast<const BlockQ8_0*>(a);
  float sum = 0.0f;
  int q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i) {
    decode(x[i], q);
    sum += static_cast<float>(idot(q, y[i].qs)) * (f16_to_f32(x[i].d) * f16_to_f32(y[i].d));
  }
  return sum;
}

template <class W>
float dot_affine(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const W*>(w);
  const auto* y = static_cast<const BlockQ8_1*>(a);
  float sum = 0.0f;
  int q[kQK];
  for (int64_t i = 0; i < n / kQK; ++i) {
    decode(x[i], q);
    sum += static_cast<float>(idot(q, y[i].qs)) * (f16_to_f32(x[i].d) * f16_to_f32(y[i].d)) +
           f16_to_f32(x[i].m) * f16_to_f32(y[i].s);
  }
  return sum;
}

}  // namespace

float vec_dot_q8_0_q8_0(int64_t n, const void* w, const void* a) {
  return dot_symmetric<BlockQ8_0>(n, w, a);
}
float vec_dot_q4_0_q8_0(int64_t n, const void* w, const void* a) {
  return dot_symmetric<BlockQ4_0>(n, w, a);
}
float vec_dot_q5_0_q8_0(int64_t n, const void* w, const void* a) {
  return dot_symmetric<BlockQ5_0>(n, w, a);
}
float vec_dot_iq4_nl_q8_0(int64_t n, const void* w, const void* a) {
  return dot_symmetric<BlockIQ4_NL>(n, w, a);
}
float vec_dot_q4_1_q8_1(int64_t n, const void* w, const void* a) {
  return dot_affine<BlockQ4_1>(n, w, a);
}
float vec_dot_q5_1_q8_1(int64_t n, const void* w, const void* a) {
  return dot_affine<BlockQ5_1>(n, w, a);
}

}  // namespace moe::ref
