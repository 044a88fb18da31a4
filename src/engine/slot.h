// One slot of the scheduler: a KV sequence, the tokens cached in it, and the state of the
// request it is serving (if any). Engine thread only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "base/timer.h"
#include "engine/generation.h"
#include "sampling/sampler.h"
#include "tokenizer/reasoning_parser.h"
#include "tokenizer/tokenizer.h"

namespace moe {

struct Slot {
  int id = 0;
  std::vector<int32_t> cached;  // tokens whose rows are in the cache (== its length)
  uint64_t last_used = 0;

  // The request being served; null when the slot is free.
  std::shared_ptr<RequestHandle> handle;
  GenerationRequest request;
  size_t n_fed = 0;            // prompt tokens in the cache
  bool generating = false;     // prompt done; `next` is the token to feed
  int32_t next = 0;
  std::vector<int32_t> history;  // prompt + generated (penalties)
  std::unique_ptr<Sampler> sampler;
  std::optional<StreamingDecoder> decoder;
  std::optional<ReasoningParser> parser;
  StopMatcher stop;
  GenerationTimings timings;
  Timer timer;                 // since admission
  double prompt_done_ms = 0;

  bool busy() const { return handle != nullptr; }
};

}  // namespace moe
