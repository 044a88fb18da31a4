#include "engine/model_step.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <thread>

namespace moe {
namespace {

// Slot file (little-endian, written and read by the same build on the same machine):
//   char[8]  magic "MOESLOT1"
//   u64      fingerprint   model + cache layout (KvModelStep::fingerprint)
//   u64      n_layers
//   u64      row_bytes     bytes of one cached row (one layer, one position)
//   u64      n_tokens
//   i32      tokens[n_tokens]
//   u8       rows[n_layers][n_tokens][row_bytes]
// Everything is checked on restore against this model and the remaining file size.
constexpr char kSlotMagic[8] = {'M', 'O', 'E', 'S', 'L', 'O', 'T', '1'};

struct FileCloser {
  void operator()(FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};
using File = std::unique_ptr<FILE, FileCloser>;

bool write_u64(FILE* f, uint64_t v) { return std::fwrite(&v, sizeof v, 1, f) == 1; }
bool read_u64(FILE* f, uint64_t& v) { return std::fread(&v, sizeof v, 1, f) == 1; }

uint64_t fnv1a(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

KvModelStep::KvModelStep(const Model& model, ThreadPool& pool, KvCache kv, SessionConfig config)
    : model_(model), pool_(pool), kv_(std::move(kv)), config_(config), forward_(model, pool) {}

int64_t KvModelStep::used_tokens() const {
  int64_t n = 0;
  for (int s = 0; s < kv_.max_seqs(); ++s) n += kv_.length(s);
  return n;
}

Status KvModelStep::run(std::span<const BatchToken> batch, int n_experts, bool prefill, Logits& out) {
  const int threads = prefill ? config_.threads_batch : config_.threads;
  pool_.set_active(threads > 0 ? threads : pool_.size());
  forward_.set_n_experts(n_experts > 0 ? n_experts : config_.n_experts);
  return forward_.run(batch, kv_, out);
}

uint64_t KvModelStep::fingerprint() const {
  const ModelArgs& a = model_.args();
  const int64_t fields[] = {a.vocab_size,        a.dim,           a.inter_dim,
                            a.moe_inter_dim,     a.n_layers,      a.n_dense_layers,
                            a.n_heads,           a.n_routed_experts, a.n_shared_experts,
                            a.kv_lora_rank,      a.qk_rope_head_dim, a.qk_nope_head_dim,
                            static_cast<int64_t>(model_.file().file_bytes()),
                            static_cast<int64_t>(model_.file().tensors().size()),
                            static_cast<int64_t>(kv_.type()), static_cast<int64_t>(kv_.row_bytes())};
  uint64_t h = fnv1a(1469598103934665603ull, fields, sizeof fields);
  for (const TensorInfo& t : model_.file().tensors()) {
    h = fnv1a(h, t.name.data(), t.name.size());
    h = fnv1a(h, &t.offset, sizeof t.offset);
  }
  return h;
}

Status KvModelStep::save(int seq, std::span<const int32_t> tokens, const std::string& path) const {
  const int64_t n = kv_.length(seq);
  if (static_cast<int64_t>(tokens.size()) != n) return Status::error("slot tokens and cache disagree");
  File f(std::fopen(path.c_str(), "wb"));
  if (!f) return Status::error("cannot write " + path + ": " + std::strerror(errno));
  const uint64_t n_layers = static_cast<uint64_t>(model_.args().n_layers);
  bool ok = std::fwrite(kSlotMagic, sizeof kSlotMagic, 1, f.get()) == 1 && write_u64(f.get(), fingerprint()) &&
            write_u64(f.get(), n_layers) && write_u64(f.get(), kv_.row_bytes()) &&
            write_u64(f.get(), static_cast<uint64_t>(n));
  if (ok && n > 0) ok = std::fwrite(tokens.data(), sizeof(int32_t), tokens.size(), f.get()) == tokens.size();
  std::vector<uint8_t> row(kv_.row_bytes());
  for (uint64_t layer = 0; ok && layer < n_layers; ++layer) {
    for (int64_t pos = 0; ok && pos < n; ++pos) {
      kv_.read_row(static_cast<int>(layer), seq, pos, row.data());
      ok = std::fwrite(row.data(), row.size(), 1, f.get()) == 1;
    }
  }
  if (!ok || std::fflush(f.get()) != 0) return Status::error("writing " + path + " failed");
  return Status::ok();
}

Result<std::vector<int32_t>> KvModelStep::restore(int seq, const std::string& path, int64_t max_tokens) {
  File f(std::fopen(path.c_str(), "rb"));
  if (!f) return Status::error("cannot open " + path + ": " + std::strerror(errno));
  std::fseek(f.get(), 0, SEEK_END);
  const long size = std::ftell(f.get());
  std::fseek(f.get(), 0, SEEK_SET);
  char magic[8];
  uint64_t fp = 0, n_layers = 0, row_bytes = 0, n = 0;
  if (std::fread(magic, sizeof magic, 1, f.get()) != 1 || std::memcmp(magic, kSlotMagic, 8) != 0) {
    return Status::error(path + ": not a moeinfer slot file (bad magic)");
  }
  if (!read_u64(f.get(), fp) || !read_u64(f.get(), n_layers) || !read_u64(f.get(), row_bytes) ||
      !read_u64(f.get(), n)) {
    return Status::error(path + ": truncated header");
  }
  if (fp != fingerprint()) return Status::error(path + ": saved with another model or cache type");
  if (n_layers != static_cast<uint64_t>(model_.args().n_layers) || row_bytes != kv_.row_bytes()) {
    return Status::error(path + ": cache layout differs (layers " + std::to_string(n_layers) + ", row bytes " +
                         std::to_string(row_bytes) + ")");
  }
  if (n > static_cast<uint64_t>(max_tokens)) {
    return Status::error(path + ": " + std::to_string(n) + " tokens exceed the slot context of " +
                         std::to_string(max_tokens));
  }
  const uint64_t expect = 40 + n * 4 + n_layers * n * row_bytes;
  if (size < 0 || static_cast<uint64_t>(size) != expect) {
    return Status::error(path + ": size " + std::to_string(size) + " bytes, expected " + std::to_string(expect));
  }
  std::vector<int32_t> tokens(n);
  if (n > 0 && std::fread(tokens.data(), sizeof(int32_t), n, f.get()) != n) return Status::error(path + ": truncated");
  for (int32_t t : tokens) {
    if (t < 0 || t >= n_vocab()) return Status::error(path + ": token id " + std::to_string(t) + " outside the vocabulary");
  }
  kv_.clear(seq);
  MOE_RETURN_IF_ERROR(kv_.reserve(seq, static_cast<int64_t>(n)));
  std::vector<uint8_t> row(row_bytes);
  for (uint64_t layer = 0; layer < n_layers; ++layer) {
    for (uint64_t pos = 0; pos < n; ++pos) {
      if (std::fread(row.data(), row_bytes, 1, f.get()) != 1) {
        kv_.clear(seq);
        return Status::error(path + ": truncated rows");
      }
      kv_.write_row(static_cast<int>(layer), seq, static_cast<int64_t>(pos), row.data());
    }
  }
  kv_.set_length(seq, static_cast<int64_t>(n));
  return tokens;
}

ScriptedStep::ScriptedStep(int64_t n_vocab, int max_seqs, int64_t ctx_per_seq, std::vector<int32_t> script,
                           int32_t end_token, int step_delay_ms)
    : n_vocab_(n_vocab),
      ctx_per_seq_(ctx_per_seq),
      script_(std::move(script)),
      end_token_(end_token),
      step_delay_ms_(step_delay_ms),
      seqs_(static_cast<size_t>(max_seqs)) {}

void ScriptedStep::truncate(int seq, int64_t n) {
  Seq& s = seqs_[seq];
  s.length = std::min(s.length, n);
  s.emitted = 0;
}

int64_t ScriptedStep::used_tokens() const {
  int64_t n = 0;
  for (const Seq& s : seqs_) n += s.length;
  return n;
}

Status ScriptedStep::run(std::span<const BatchToken> batch, int, bool, Logits& out) {
  if (step_delay_ms_ > 0) std::this_thread::sleep_for(std::chrono::milliseconds(step_delay_ms_));
  std::vector<int64_t> next(seqs_.size(), -1);
  for (const BatchToken& b : batch) {
    if (b.token < 0 || b.token >= n_vocab_) return Status::error("token id outside the vocabulary");
    if (b.seq < 0 || b.seq >= max_seqs()) return Status::error("bad sequence");
    int64_t& expect = next[static_cast<size_t>(b.seq)];
    if (expect < 0) expect = seqs_[b.seq].length;
    if (b.pos != expect || b.pos >= ctx_per_seq_) return Status::error("bad position");
    ++expect;
  }
  out.n_vocab = n_vocab_;
  out.batch_index.clear();
  out.values.clear();
  for (size_t i = 0; i < batch.size(); ++i) {
    Seq& s = seqs_[batch[i].seq];
    s.length = batch[i].pos + 1;
    if (!batch[i].want_logits) continue;
    const int32_t tok = s.emitted < script_.size() ? script_[s.emitted] : end_token_;
    ++s.emitted;
    out.batch_index.push_back(static_cast<int32_t>(i));
    out.values.resize(out.values.size() + static_cast<size_t>(n_vocab_), -1e9f);
    out.values[out.values.size() - static_cast<size_t>(n_vocab_) + static_cast<size_t>(tok)] = 0.0f;
  }
  return Status::ok();
}

Status ScriptedStep::save(int, std::span<const int32_t>, const std::string&) const {
  return Status::error("slot files need the real model");
}

Result<std::vector<int32_t>> ScriptedStep::restore(int, const std::string&, int64_t) {
  return Status::error("slot files need the real model");
}

}  // namespace moe
