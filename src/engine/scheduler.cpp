#include "engine/scheduler.h"

#include <algorithm>
#include <map>

#include "base/log.h"
#include "engine/session.h"

namespace moe {
namespace {

size_t common_prefix(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

void append_delta(ReasoningDelta& into, ReasoningDelta more) {
  into.reasoning_content += more.reasoning_content;
  into.content += more.content;
  for (ToolCallDelta& t : more.tool_calls) into.tool_calls.push_back(std::move(t));
}

}  // namespace

Scheduler::Scheduler(ModelStep& step, Tokenizer tokenizer, SchedulerOptions options)
    : step_(step), tokenizer_(std::move(tokenizer)), options_(options) {
  slots_.resize(static_cast<size_t>(step_.max_seqs()));
  for (size_t i = 0; i < slots_.size(); ++i) slots_[i].id = static_cast<int>(i);
  free_slots_ = static_cast<int>(slots_.size());
  metrics_.slots_total = static_cast<int>(slots_.size());
  metrics_.kv_capacity_tokens = step_.capacity_tokens();
  slot_info_.resize(slots_.size());
  for (size_t i = 0; i < slots_.size(); ++i) slot_info_[i].id = static_cast<int>(i);
}

Scheduler::~Scheduler() { stop(); }

void Scheduler::start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable() || stop_) return;
  thread_ = std::thread([this] { engine_loop(); });
}

void Scheduler::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Whatever is still queued (or never started) ends here.
  std::deque<Pending> left;
  std::deque<Task> tasks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    left.swap(queue_);
    tasks.swap(tasks_);
  }
  for (Pending& p : left) {
    GenerationEvent e;
    e.done = true;
    e.finish = FinishReason::kError;
    e.error = "server stopping";
    p.handle->push(std::move(e));
  }
  for (Task& t : tasks) t();  // they see stop_ and fail
}

void Scheduler::wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

SubmitResult Scheduler::submit(GenerationRequest request) {
  SubmitResult r;
  if (request.prompt.empty()) {
    r.error = SubmitError::kInvalid;
    r.message = "the prompt is empty";
    return r;
  }
  if (static_cast<int64_t>(request.prompt.size()) > options_.slot_ctx) {
    r.error = SubmitError::kInvalid;
    r.message = "the prompt has " + std::to_string(request.prompt.size()) + " tokens, more than the slot context of " +
                std::to_string(options_.slot_ctx);
    return r;
  }
  for (int32_t t : request.prompt) {
    if (t < 0 || t >= step_.n_vocab()) {
      r.error = SubmitError::kInvalid;
      r.message = "token id " + std::to_string(t) + " outside the vocabulary";
      return r;
    }
  }
  auto handle = std::make_shared<RequestHandle>([this] { wake(); });
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_) {
      r.error = SubmitError::kStopped;
      r.message = "server stopping";
      return r;
    }
    if (static_cast<int>(queue_.size()) >= free_slots_ + options_.max_queue) {
      r.error = SubmitError::kQueueFull;
      r.message = "all slots are busy and the queue is full (" + std::to_string(options_.max_queue) + ")";
      return r;
    }
    queue_.push_back({std::move(request), handle});
    woken_ = true;
  }
  cv_.notify_all();
  r.handle = std::move(handle);
  return r;
}

std::vector<SlotInfo> Scheduler::slots() const {
  std::lock_guard<std::mutex> lock(mu_);
  return slot_info_;
}

SchedulerMetrics Scheduler::metrics() const {
  std::lock_guard<std::mutex> lock(mu_);
  SchedulerMetrics m = metrics_;
  m.queued = static_cast<int>(queue_.size());
  return m;
}

Result<int64_t> Scheduler::run_task(std::function<Result<int64_t>()> fn) {
  auto promise = std::make_shared<std::promise<Result<int64_t>>>();
  auto future = promise->get_future();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stop_ || !thread_.joinable()) return Status::error("the engine is not running");
    tasks_.push_back([this, promise, fn = std::move(fn)] {
      bool stopping;
      {
        std::lock_guard<std::mutex> lock(mu_);
        stopping = stop_;
      }
      promise->set_value(stopping ? Result<int64_t>(Status::error("server stopping")) : fn());
    });
    woken_ = true;
  }
  cv_.notify_all();
  return future.get();
}

Result<int64_t> Scheduler::save_slot(int id, const std::string& path) {
  if (id < 0 || id >= n_slots()) return Status::error("no slot " + std::to_string(id));
  return run_task([this, id, path]() -> Result<int64_t> {
    Slot& s = slots_[static_cast<size_t>(id)];
    if (s.busy()) return Status::error("slot " + std::to_string(id) + " is busy");
    MOE_RETURN_IF_ERROR(step_.save(id, s.cached, path));
    return static_cast<int64_t>(s.cached.size());
  });
}

Result<int64_t> Scheduler::restore_slot(int id, const std::string& path) {
  if (id < 0 || id >= n_slots()) return Status::error("no slot " + std::to_string(id));
  return run_task([this, id, path]() -> Result<int64_t> {
    Slot& s = slots_[static_cast<size_t>(id)];
    if (s.busy()) return Status::error("slot " + std::to_string(id) + " is busy");
    auto tokens = step_.restore(id, path, options_.slot_ctx);
    if (!tokens) {
      s.cached.resize(std::min<size_t>(s.cached.size(), static_cast<size_t>(step_.length(id))));
      return tokens.status();
    }
    s.cached = std::move(*tokens);
    s.last_used = ++use_clock_;
    return static_cast<int64_t>(s.cached.size());
  });
}

Result<int64_t> Scheduler::erase_slot(int id) {
  if (id < 0 || id >= n_slots()) return Status::error("no slot " + std::to_string(id));
  return run_task([this, id]() -> Result<int64_t> {
    Slot& s = slots_[static_cast<size_t>(id)];
    if (s.busy()) return Status::error("slot " + std::to_string(id) + " is busy");
    const int64_t n = static_cast<int64_t>(s.cached.size());
    step_.truncate(id, 0);
    s.cached.clear();
    return n;
  });
}

void Scheduler::engine_loop() {
  for (;;) {
    std::vector<Pending> admitted;
    std::deque<Task> tasks;
    {
      std::unique_lock<std::mutex> lock(mu_);
      const bool busy = std::any_of(slots_.begin(), slots_.end(), [](const Slot& s) { return s.busy(); });
      if (!busy) {
        cv_.wait(lock, [&] { return stop_ || woken_ || !tasks_.empty() || (!queue_.empty() && free_slots_ > 0); });
      }
      woken_ = false;
      if (stop_) break;
      tasks.swap(tasks_);
      while (!queue_.empty() && free_slots_ > 0) {
        admitted.push_back(std::move(queue_.front()));
        queue_.pop_front();
        --free_slots_;
      }
    }
    for (Task& t : tasks) t();
    for (Pending& p : admitted) admit(std::move(p));
    drop_cancelled();
    if (std::any_of(slots_.begin(), slots_.end(), [](const Slot& s) { return s.busy(); })) step_once();
    publish_metrics();
  }
  for (Slot& s : slots_) {
    if (s.busy()) finish(s, FinishReason::kError, "server stopping");
  }
  publish_metrics();
}

void Scheduler::admit(Pending p) {
  if (p.handle->cancelled()) {
    std::lock_guard<std::mutex> lock(mu_);
    ++free_slots_;
    return;
  }
  // The free slot sharing the longest prefix with the prompt; ties: least recently used.
  Slot* best = nullptr;
  size_t best_len = 0;
  for (Slot& s : slots_) {
    if (s.busy()) continue;
    const size_t n = common_prefix(s.cached, p.request.prompt);
    if (best == nullptr || n > best_len || (n == best_len && s.last_used < best->last_used)) {
      best = &s;
      best_len = n;
    }
  }
  Slot& s = *best;  // a free slot exists: free_slots_ was counted under the lock
  const size_t keep = std::min(best_len, p.request.prompt.size() - 1);
  step_.truncate(s.id, static_cast<int64_t>(keep));
  s.cached.resize(keep);
  s.last_used = ++use_clock_;
  s.handle = std::move(p.handle);
  s.request = std::move(p.request);
  s.n_fed = keep;
  s.generating = false;
  s.history = s.request.prompt;
  s.sampler = std::make_unique<Sampler>(s.request.sampling);
  s.decoder.emplace(tokenizer_);
  if (s.request.reasoning) {
    s.parser.emplace(*s.request.reasoning);
  } else {
    s.parser.reset();
  }
  s.stop = StopMatcher(s.request.stops);
  s.timings = {};
  s.timings.cache_n = static_cast<int64_t>(keep);
  s.timer.reset();
  s.prompt_done_ms = 0;
  std::lock_guard<std::mutex> lock(mu_);
  metrics_.cache_tokens_reused += static_cast<int64_t>(keep);
  ++metrics_.slots_busy;
  slot_info_[static_cast<size_t>(s.id)].busy = true;
}

void Scheduler::drop_cancelled() {
  for (Slot& s : slots_) {
    if (s.busy() && s.handle->cancelled()) finish(s, FinishReason::kCancelled);
  }
}

void Scheduler::step_once() {
  struct Group {
    std::vector<BatchToken> batch;
    std::vector<int> slot_of;  // per batch entry
    int n_prefill = 0;
  };
  std::map<int, Group> groups;  // by n_experts
  int n_decode = 0;
  for (Slot& s : slots_) {
    if (!s.busy() || !s.generating) continue;
    Group& g = groups[s.request.n_experts];
    g.batch.push_back({s.next, static_cast<int32_t>(s.cached.size()), s.id, true});
    g.slot_of.push_back(s.id);
    ++n_decode;
  }
  int64_t budget = std::max<int64_t>(options_.batch_size - n_decode, 16);
  std::vector<Slot*> prefilling;
  for (Slot& s : slots_) {
    if (s.busy() && !s.generating) prefilling.push_back(&s);
  }
  std::sort(prefilling.begin(), prefilling.end(), [](const Slot* a, const Slot* b) { return a->last_used < b->last_used; });
  for (Slot* s : prefilling) {
    if (budget <= 0) break;
    const std::vector<int32_t>& prompt = s->request.prompt;
    const size_t n = static_cast<size_t>(std::min<int64_t>(budget, static_cast<int64_t>(prompt.size() - s->n_fed)));
    Group& g = groups[s->request.n_experts];
    for (size_t i = 0; i < n; ++i) {
      const size_t at = s->n_fed + i;
      g.batch.push_back({prompt[at], static_cast<int32_t>(at), s->id, at + 1 == prompt.size()});
      g.slot_of.push_back(s->id);
    }
    g.n_prefill += static_cast<int>(n);
    budget -= static_cast<int64_t>(n);
  }

  for (auto& [n_experts, g] : groups) {
    if (g.batch.empty()) continue;
    Timer t;
    Status st = step_.run(g.batch, n_experts, g.n_prefill > 0, logits_);
    const double dt = t.seconds();
    if (!st) {
      MOE_LOG_WARN("engine step failed: %s", st.message().c_str());
      for (int id : g.slot_of) {
        Slot& s = slots_[static_cast<size_t>(id)];
        s.cached.resize(std::min<size_t>(s.cached.size(), static_cast<size_t>(step_.length(id))));
        if (s.busy()) finish(s, FinishReason::kError, st.message());
      }
      continue;
    }
    const int total = static_cast<int>(g.batch.size());
    const int decode = total - g.n_prefill;
    {
      std::lock_guard<std::mutex> lock(mu_);
      metrics_.prompt_tokens += g.n_prefill;
      metrics_.prompt_seconds += dt * g.n_prefill / total;
      metrics_.decode_seconds += dt * decode / total;
    }
    for (size_t i = 0; i < g.batch.size(); ++i) {
      Slot& s = slots_[static_cast<size_t>(g.slot_of[i])];
      s.cached.push_back(g.batch[i].token);
      if (!s.generating) ++s.n_fed;
    }
    for (size_t r = 0; r < logits_.rows(); ++r) {
      Slot& s = slots_[static_cast<size_t>(g.slot_of[static_cast<size_t>(logits_.batch_index[r])])];
      if (s.busy()) sample_slot(s, logits_.row(r));
    }
  }
}

void Scheduler::sample_slot(Slot& s, const float* logits) {
  const GenerationRequest& rq = s.request;
  if (!s.generating) {
    s.generating = true;
    s.prompt_done_ms = s.timer.seconds() * 1e3;
    s.timings.prompt_ms = s.prompt_done_ms;
    s.timings.prompt_n = static_cast<int64_t>(rq.prompt.size()) - s.timings.cache_n;
  }
  const int32_t tok = s.sampler->sample(logits, step_.n_vocab(), s.history);
  GenerationEvent ev;
  ev.tokens.push_back(tok);
  if (rq.top_logprobs >= 0) {
    auto top = top_logprobs(logits, step_.n_vocab(), rq.top_logprobs, scratch_);
    ev.logprobs.push_back({tok, scratch_[static_cast<size_t>(tok)], std::move(top)});
  }
  s.history.push_back(tok);
  ++s.timings.predicted_n;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++metrics_.generated_tokens;
  }

  FinishReason reason = FinishReason::kNone;
  bool matched = false;
  if (tokenizer_.ends_generation(tok) && !rq.ignore_eos) {
    reason = FinishReason::kStop;
  } else {
    std::string piece;
    s.decoder->push(tok, piece);
    ev.text = s.stop.feed(piece, matched);
    if (matched) reason = FinishReason::kStop;
  }
  if (reason == FinishReason::kNone && rq.max_tokens >= 0 && s.timings.predicted_n >= rq.max_tokens) {
    reason = FinishReason::kLength;
  }
  // Feeding `tok` needs a free position in the slot: none left ends with "length".
  if (reason == FinishReason::kNone && static_cast<int64_t>(s.cached.size()) >= options_.slot_ctx) {
    reason = FinishReason::kLength;
  }
  if (reason != FinishReason::kNone && !matched) {
    std::string tail;
    s.decoder->flush(tail);
    bool m2 = false;
    ev.text += s.stop.feed(tail, m2);
    if (!m2) ev.text += s.stop.flush();
  }
  if (s.parser) {
    ev.delta = s.parser->feed(ev.text);
    if (reason != FinishReason::kNone) append_delta(ev.delta, s.parser->finish());
  }
  s.handle->push(std::move(ev));
  if (reason != FinishReason::kNone) {
    finish(s, reason);
  } else {
    s.next = tok;
  }
}

void Scheduler::finish(Slot& s, FinishReason reason, std::string error) {
  GenerationEvent done;
  done.done = true;
  done.finish = reason;
  done.error = std::move(error);
  done.slot = s.id;
  done.prompt_tokens = static_cast<int64_t>(s.request.prompt.size());
  if (s.generating) s.timings.predicted_ms = s.timer.seconds() * 1e3 - s.prompt_done_ms;
  done.timings = s.timings;
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++free_slots_;
    ++metrics_.requests_finished;
    // Visible before the request sees its end (publish_metrics() redoes it after the step).
    metrics_.slots_busy = std::max(0, metrics_.slots_busy - 1);
    slot_info_[static_cast<size_t>(s.id)].busy = false;
    slot_info_[static_cast<size_t>(s.id)].n_cached = static_cast<int64_t>(s.cached.size());
  }
  s.handle->push(std::move(done));
  s.handle.reset();
  s.generating = false;
  s.sampler.reset();
  s.decoder.reset();
  s.parser.reset();
  s.history.clear();
  s.last_used = ++use_clock_;
}

void Scheduler::publish_metrics() {
  std::lock_guard<std::mutex> lock(mu_);
  int busy = 0;
  for (size_t i = 0; i < slots_.size(); ++i) {
    slot_info_[i].busy = slots_[i].busy();
    slot_info_[i].n_cached = static_cast<int64_t>(slots_[i].cached.size());
    busy += slots_[i].busy() ? 1 : 0;
  }
  metrics_.slots_busy = busy;
  metrics_.kv_used_tokens = step_.used_tokens();
}

}  // namespace moe
