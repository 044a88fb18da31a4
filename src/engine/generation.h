// One generation request as the scheduler sees it, the events it sends back, and the
// thread-safe handle between the engine thread and the request's (HTTP) thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sampling/sampler.h"
#include "tokenizer/reasoning_parser.h"

namespace moe {

struct GenerationRequest {
  std::vector<int32_t> prompt;     // validated: ids in the vocabulary, fits the slot context
  SamplingParams sampling;
  int64_t max_tokens = -1;         // -1: until EOS, a stop string or the context is full
  std::vector<std::string> stops;  // stop strings (not part of the output)
  bool ignore_eos = false;
  int n_experts = 0;               // routed experts per token (0: the server's default)
  int top_logprobs = -1;           // -1: no logprobs; 0..20: the chosen token plus that many
  // Split the text into reasoning_content / content / tool_calls (chat); absent: text only.
  std::optional<ReasoningParserOptions> reasoning;
};

enum class FinishReason { kNone, kStop, kLength, kError, kCancelled };
const char* finish_reason_name(FinishReason r);  // "stop", "length", ...

struct TokenLogprob {
  int32_t id = 0;
  float logprob = 0.0f;
  std::vector<std::pair<int32_t, float>> top;
};

struct GenerationTimings {
  int64_t prompt_n = 0;   // prompt tokens processed (not taken from the cache)
  int64_t cache_n = 0;    // prompt tokens reused from the slot's cache
  double prompt_ms = 0;
  int64_t predicted_n = 0;
  double predicted_ms = 0;
};

struct GenerationEvent {
  std::string text;              // new text (stop strings held back and removed)
  ReasoningDelta delta;          // the same text split, when the request asked for it
  std::vector<int32_t> tokens;   // tokens sampled since the last event
  std::vector<TokenLogprob> logprobs;
  bool done = false;
  FinishReason finish = FinishReason::kNone;
  std::string error;             // with FinishReason::kError
  int64_t prompt_tokens = 0;     // on the done event
  int slot = -1;
  GenerationTimings timings;     // on the done event
};

// The request side waits for events; the engine pushes them. cancel() (client gone) is seen
// by the engine at its next step, which frees the slot.
class RequestHandle {
 public:
  explicit RequestHandle(std::function<void()> wake_engine) : wake_engine_(std::move(wake_engine)) {}

  void push(GenerationEvent event);
  // Waits up to `timeout` for events and moves them into `out`; false when none came.
  bool wait(std::vector<GenerationEvent>& out, std::chrono::milliseconds timeout);
  void cancel();
  bool cancelled() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<GenerationEvent> events_;
  bool cancelled_ = false;
  std::function<void()> wake_engine_;
};

// Holds back text that may be the start of a stop string; finds the first stop string.
class StopMatcher {
 public:
  explicit StopMatcher(std::vector<std::string> stops = {}) : stops_(std::move(stops)) {}
  // Appends `text`; returns what is safe to emit. `matched` becomes true at a stop string,
  // whose text and everything after it is dropped.
  std::string feed(std::string_view text, bool& matched);
  std::string flush();

 private:
  std::vector<std::string> stops_;
  std::string held_;
};

}  // namespace moe
