// RoPE frequencies with YaRN, as DeepSeek's precompute_freqs_cis, and the softmax scale.
#pragma once

#include <vector>

#include "model/config.h"

namespace moe {

class RopeYarn {
 public:
  explicit RopeYarn(const ModelArgs& args);

  // (cos, sin) pairs for position `pos`: rope_dim / 2 of them, computed in double.
  void cos_sin(int64_t pos, float* out) const;
  const std::vector<double>& freqs() const { return freqs_; }
  // (nope + rope)^-1/2, times mscale^2 under YaRN.
  float softmax_scale() const { return softmax_scale_; }

 private:
  std::vector<double> freqs_;
  float softmax_scale_;
};

}  // namespace moe
