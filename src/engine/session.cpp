#include "engine/session.h"

#include <algorithm>

#include "kernels/ops.h"

namespace moe {

Session::Session(const Model& model, ThreadPool& pool, KvCache& kv, int seq, SessionConfig config)
    : model_(model),
      pool_(pool),
      kv_(kv),
      seq_(seq),
      config_(config),
      n_ctx_(kv.capacity_tokens()),
      forward_(model, pool) {
  forward_.set_n_experts(config.n_experts);
}

Status Session::feed(std::span<const int32_t> tokens) {
  if (tokens.empty()) return Status::error("nothing to feed");
  const int64_t start = kv_.length(seq_);
  const size_t step = static_cast<size_t>(std::max(1, config_.batch_size));
  for (size_t i = 0; i < tokens.size(); i += step) {
    const size_t n = std::min(step, tokens.size() - i);
    batch_.clear();
    for (size_t j = 0; j < n; ++j) {
      const bool last = i + j + 1 == tokens.size();
      batch_.push_back({tokens[i + j], static_cast<int32_t>(start + i + j), seq_, last});
    }
    const int threads = n > 1 ? config_.threads_batch : config_.threads;
    pool_.set_active(threads > 0 ? threads : pool_.size());
    MOE_RETURN_IF_ERROR(forward_.run(batch_, kv_, logits_));
  }
  return Status::ok();
}

std::vector<std::pair<int32_t, float>> top_logprobs(const float* logits, int64_t n_vocab, int n,
                                                    std::vector<float>& scratch) {
  scratch.resize(static_cast<size_t>(n_vocab));
  log_softmax(logits, n_vocab, scratch.data());
  std::vector<std::pair<int32_t, float>> top;
  top.reserve(static_cast<size_t>(n_vocab));
  for (int64_t i = 0; i < n_vocab; ++i) top.emplace_back(static_cast<int32_t>(i), scratch[i]);
  const size_t k = std::min<size_t>(static_cast<size_t>(std::max(n, 0)), top.size());
  std::partial_sort(top.begin(), top.begin() + k, top.end(), [](const auto& a, const auto& b) {
    return a.second > b.second || (a.second == b.second && a.first < b.first);
  });
  top.resize(k);
  return top;
}

}  // namespace moe
