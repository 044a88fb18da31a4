#include "model/rope_yarn.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace moe {
namespace {

// The dimension index at which `n_rotations` full turns fit in the original context.
double correction_dim(double n_rotations, double dim, double base, double orig_ctx) {
  return dim * std::log(orig_ctx / (n_rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(base));
}

}  // namespace

RopeYarn::RopeYarn(const ModelArgs& a) {
  const int64_t dim = a.qk_rope_head_dim;
  const int64_t half = dim / 2;
  freqs_.resize(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    freqs_[i] = 1.0 / std::pow(a.rope_theta, static_cast<double>(2 * i) / static_cast<double>(dim));
  }
  double scale = 1.0 / std::sqrt(static_cast<double>(a.qk_head_dim()));
  if (a.uses_yarn()) {
    const double orig = static_cast<double>(a.original_seq_len);
    double low = std::floor(correction_dim(a.beta_fast, dim, a.rope_theta, orig));
    double high = std::ceil(correction_dim(a.beta_slow, dim, a.rope_theta, orig));
    low = std::max(low, 0.0);
    high = std::min(high, static_cast<double>(dim - 1));
    if (low == high) high += 0.001;
    for (int64_t i = 0; i < half; ++i) {
      const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
      freqs_[i] = freqs_[i] / a.rope_factor * ramp + freqs_[i] * (1.0 - ramp);
    }
    const double m = 1.0 + 0.1 * a.mscale * std::log(a.rope_factor);
    scale *= m * m;
  }
  softmax_scale_ = static_cast<float>(scale);
}

void RopeYarn::cos_sin(int64_t pos, float* out) const {
  for (size_t i = 0; i < freqs_.size(); ++i) {
    const double angle = static_cast<double>(pos) * freqs_[i];
    out[2 * i] = static_cast<float>(std::cos(angle));
    out[2 * i + 1] = static_cast<float>(std::sin(angle));
  }
}

}  // namespace moe
