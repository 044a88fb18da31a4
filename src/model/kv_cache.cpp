#include "model/kv_cache.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "base/half.h"
#include "gguf/types.h"
#include "kernels/kernels.h"
#include "kernels/packed.h"
#include "quant/blocks.h"

namespace moe {
namespace {

constexpr int64_t kMaxRowBlocks = 64;  // a q8_0 row on the stack: up to 2048 values

// q8_0 rows reuse the weight format: blocks of 32 values with an f16 scale.
void store_q8_0(const float* x, int64_t n, uint8_t* out) {
  auto* blocks = reinterpret_cast<BlockQ8_0*>(out);
  for (int64_t b = 0; b < n / kQK; ++b) {
    const float* v = x + b * kQK;
    float amax = 0.0f;
    for (int i = 0; i < kQK; ++i) amax = std::max(amax, std::abs(v[i]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    blocks[b].d = f32_to_f16(d);
    for (int i = 0; i < kQK; ++i) blocks[b].qs[i] = static_cast<int8_t>(std::nearbyint(v[i] * id));
  }
}

}  // namespace

Result<KvCacheType> parse_kv_cache_type(const std::string& name) {
  for (KvCacheType t : {KvCacheType::kF16, KvCacheType::kBF16, KvCacheType::kQ8_0}) {
    if (name == kv_cache_type_name(t)) return t;
  }
  return Status::error("unknown cache type '" + name + "' (expected f16, bf16 or q8_0)");
}

const char* kv_cache_type_name(KvCacheType type) {
  switch (type) {
    case KvCacheType::kF16: return "f16";
    case KvCacheType::kQ8_0: return "q8_0";
    case KvCacheType::kBF16: return "bf16";
  }
  return "?";
}

Result<KvCache> KvCache::create(const ModelArgs& args, KvCacheType type, int64_t n_ctx_total,
                                int max_seqs, int64_t block_tokens) {
  if (n_ctx_total <= 0 || max_seqs <= 0 || block_tokens <= 0) {
    return Status::error("KV cache: context, sequences and block size must be positive");
  }
  KvCache kv;
  kv.type_ = type;
  kv.n_layers_ = args.n_layers;
  kv.width_ = args.kv_cache_width();
  if (type == KvCacheType::kQ8_0) {
    if (args.kv_lora_rank % kQK != 0 || args.qk_rope_head_dim % kQK != 0) {
      return Status::error("q8_0 cache needs kv_lora_rank and rope dim multiples of 32");
    }
    if (block_tokens % kPackRows != 0) {
      return Status::error("q8_0 cache needs blocks of a multiple of 16 positions (its rows are 16-row groups)");
    }
    kv.row_bytes_ = static_cast<size_t>(kv.width_ / kQK) * sizeof(BlockQ8_0);
  } else {
    if (type == KvCacheType::kBF16 && block_tokens % 2 != 0) {
      return Status::error("bf16 cache needs blocks of an even number of positions (its weighted sums take rows in pairs)");
    }
    kv.row_bytes_ = static_cast<size_t>(kv.width_) * 2;
  }
  kv.block_tokens_ = block_tokens;
  kv.block_bytes_ = kv.row_bytes_ * static_cast<size_t>(block_tokens * kv.n_layers_);
  kv.n_blocks_ = static_cast<int32_t>((n_ctx_total + block_tokens - 1) / block_tokens);
  kv.pool_.assign(kv.block_bytes_ * static_cast<size_t>(kv.n_blocks_), 0);
  kv.free_blocks_.reserve(static_cast<size_t>(kv.n_blocks_));
  for (int32_t b = kv.n_blocks_ - 1; b >= 0; --b) kv.free_blocks_.push_back(b);
  kv.seqs_.resize(static_cast<size_t>(max_seqs));
  return kv;
}

Status KvCache::reserve(int seq, int64_t n_tokens) {
  MOE_CHECK(seq >= 0 && seq < max_seqs());
  Sequence& s = seqs_[seq];
  const int64_t need = (n_tokens + block_tokens_ - 1) / block_tokens_;
  const int64_t more = need - static_cast<int64_t>(s.blocks.size());
  if (more <= 0) return Status::ok();
  if (more > static_cast<int64_t>(free_blocks_.size())) {
    return Status::error("context full: " + std::to_string(n_tokens) + " positions needed, " +
                         std::to_string(s.blocks.size() * block_tokens_ + free_tokens()) +
                         " available in the KV cache");
  }
  for (int64_t i = 0; i < more; ++i) {
    s.blocks.push_back(free_blocks_.back());
    free_blocks_.pop_back();
  }
  return Status::ok();
}

void KvCache::truncate(int seq, int64_t n) {
  MOE_CHECK(seq >= 0 && seq < max_seqs());
  Sequence& s = seqs_[seq];
  s.length = std::min(s.length, n);
  const size_t keep = static_cast<size_t>((n + block_tokens_ - 1) / block_tokens_);
  while (s.blocks.size() > keep) {
    free_blocks_.push_back(s.blocks.back());
    s.blocks.pop_back();
  }
}

uint8_t* KvCache::slot(int layer, int seq, int64_t pos) {
  return const_cast<uint8_t*>(static_cast<const KvCache*>(this)->slot(layer, seq, pos));
}

const uint8_t* KvCache::slot(int layer, int seq, int64_t pos) const {
  const Sequence& s = seqs_[seq];
  const size_t b = static_cast<size_t>(pos / block_tokens_);
  MOE_CHECK(b < s.blocks.size());
  const size_t in_block = static_cast<size_t>(layer * block_tokens_ + pos % block_tokens_);
  return pool_.data() + static_cast<size_t>(s.blocks[b]) * block_bytes_ + in_block * row_bytes_;
}

const uint8_t* KvCache::q8_0_group(int layer, int seq, int64_t pos) const {
  MOE_CHECK(type_ == KvCacheType::kQ8_0 && pos % kPackRows == 0);
  return slot(layer, seq, pos);
}

const uint16_t* KvCache::bf16_rows(int layer, int seq, int64_t pos) const {
  MOE_CHECK(type_ == KvCacheType::kBF16);
  return reinterpret_cast<const uint16_t*>(slot(layer, seq, pos));
}

void KvCache::read_row(int layer, int seq, int64_t pos, uint8_t* out) const {
  if (type_ != KvCacheType::kQ8_0) {
    std::memcpy(out, slot(layer, seq, pos), row_bytes_);
    return;
  }
  const uint8_t* group = slot(layer, seq, pos - pos % kPackRows);
  packed::read_q8_0_r16_row(group, width_ / kQK, static_cast<int>(pos % kPackRows), reinterpret_cast<BlockQ8_0*>(out));
}

void KvCache::write_row(int layer, int seq, int64_t pos, const uint8_t* in) {
  if (type_ != KvCacheType::kQ8_0) {
    std::memcpy(slot(layer, seq, pos), in, row_bytes_);
    return;
  }
  uint8_t* group = slot(layer, seq, pos - pos % kPackRows);
  packed::write_q8_0_r16_row(reinterpret_cast<const BlockQ8_0*>(in), width_ / kQK, static_cast<int>(pos % kPackRows),
                             group);
}

void KvCache::store(int layer, int seq, int64_t pos, const float* values) {
  if (type_ == KvCacheType::kQ8_0) {
    BlockQ8_0 blocks[kMaxRowBlocks];
    MOE_CHECK(width_ / kQK <= kMaxRowBlocks);
    store_q8_0(values, width_, reinterpret_cast<uint8_t*>(blocks));
    write_row(layer, seq, pos, reinterpret_cast<const uint8_t*>(blocks));
    return;
  }
  auto* h = reinterpret_cast<uint16_t*>(slot(layer, seq, pos));
  if (type_ == KvCacheType::kBF16) {
    for (int64_t i = 0; i < width_; ++i) h[i] = f32_to_bf16(values[i]);
    return;
  }
  for (int64_t i = 0; i < width_; ++i) h[i] = f32_to_f16(values[i]);
}

void KvCache::load(int layer, int seq, int64_t pos, float* values, const KernelTable* k) const {
  load_columns(layer, seq, pos, 0, width_, values, k);
}

void KvCache::prefetch_columns(int layer, int seq, int64_t pos, int64_t begin, int64_t end) const {
  const uint8_t* first;
  const uint8_t* last;
  if (type_ == KvCacheType::kQ8_0) {
    // Every row of a 16-row group reads 4 bytes of each line of the group's span of these
    // columns: the group's first row asks for the span, the others have nothing to add.
    if (pos % kPackRows != 0) return;
    const size_t block_stride = kPackRows * sizeof(BlockQ8_0);
    const uint8_t* group = slot(layer, seq, pos - pos % kPackRows);
    first = group + static_cast<size_t>(begin / kQK) * block_stride;
    last = group + static_cast<size_t>(end / kQK) * block_stride;
  } else {
    first = slot(layer, seq, pos) + begin * 2;
    last = first + (end - begin) * 2;
  }
  for (const uint8_t* p = first; p < last; p += 64) __builtin_prefetch(p);
}

void KvCache::load_columns(int layer, int seq, int64_t pos, int64_t begin, int64_t end, float* values,
                           const KernelTable* k) const {
  MOE_CHECK(0 <= begin && begin <= end && end <= width_);
  if (type_ == KvCacheType::kQ8_0) {
    MOE_CHECK(begin % kQK == 0 && end % kQK == 0);
    // The group keeps each block of 32 columns of its 16 rows together, block after block.
    const uint8_t* group = slot(layer, seq, pos - pos % kPackRows);
    const size_t block_stride = kPackRows * sizeof(BlockQ8_0);
    const Q8_0R16RowFn row = k != nullptr ? k->q8_0_r16_to_f32 : packed::dequantize_q8_0_r16_row;
    row(group + static_cast<size_t>(begin / kQK) * block_stride, (end - begin) / kQK,
        static_cast<int>(pos % kPackRows), values);
    return;
  }
  const auto* h = reinterpret_cast<const uint16_t*>(slot(layer, seq, pos)) + begin;
  const int64_t n = end - begin;
  if (type_ == KvCacheType::kBF16) {
    for (int64_t i = 0; i < n; ++i) values[i] = bf16_to_f32(h[i]);
    return;
  }
  if (k != nullptr) return k->f16_to_f32(h, values, n);
  for (int64_t i = 0; i < n; ++i) values[i] = f16_to_f32(h[i]);
}

}  // namespace moe
