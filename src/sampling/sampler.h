// Token sampling from raw logits: penalties, logit bias, temperature, top-k, top-p, min-p,
// then a draw from a seeded RNG (or greedy argmax). Per-request state; the model never
// samples.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <utility>
#include <vector>

namespace moe {

struct SamplingParams {
  bool greedy = false;
  float temperature = 0.8f;  // <= 0 means greedy
  int top_k = 40;            // <= 0: off
  float top_p = 0.95f;       // >= 1: off
  float min_p = 0.05f;       // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off (llama.cpp semantics: divide positive logits)
  int repeat_last_n = 64;       // tokens of history the penalties look at
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  uint64_t seed = 0xC0FFEE;
  std::vector<std::pair<int32_t, float>> logit_bias;
};

class Sampler {
 public:
  explicit Sampler(SamplingParams params);

  // Picks the next token from `n_vocab` logits given the generated/prompt history.
  int32_t sample(const float* logits, int64_t n_vocab, std::span<const int32_t> history);

  const SamplingParams& params() const { return params_; }

 private:
  struct Candidate {
    int32_t id;
    float logit;
  };
  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<Candidate> candidates_;
  std::vector<float> probs_;
};

// Index of the largest logit (lowest index on ties).
int32_t argmax(const float* logits, int64_t n);

}  // namespace moe
