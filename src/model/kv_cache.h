// The latent MLA cache: per token and layer only the normalized c (kv_lora values) and the
// roped k_pe (rope values), never per-head K/V. Storage is a pool of fixed-size blocks
// (block_tokens positions x all layers); each sequence owns a list of blocks, so sequences
// of different lengths share one preallocated pool and "context full" is a clear error.
//
// Within a block, the rows of one layer follow each other. A q8_0 cache keeps each 16 of
// them as one Q8_0_R16 group (the packed weight layout, kernels/packed.h), so the attention
// scores are the packed int8 gemm over the cache in place, positions as rows.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/cache_aligned.h"
#include "base/status.h"
#include "model/config.h"

namespace moe {

struct KernelTable;

// bf16: the f16 cache's size with 3 fewer mantissa bits, for the AVX512-BF16 attention
// kernels (twice the products per instruction of f32, read in place) on long contexts.
// (Values are stored in slot files: append new types.)
enum class KvCacheType { kF16, kQ8_0, kBF16 };
Result<KvCacheType> parse_kv_cache_type(const std::string& name);  // "f16" | "bf16" | "q8_0"
const char* kv_cache_type_name(KvCacheType type);

class KvCache {
 public:
  // `n_ctx_total` positions in all, shared by up to `max_seqs` sequences.
  static Result<KvCache> create(const ModelArgs& args, KvCacheType type, int64_t n_ctx_total,
                                int max_seqs, int64_t block_tokens = 256);

  KvCacheType type() const { return type_; }
  int64_t width() const { return width_; }  // kv_lora + rope values per row
  size_t row_bytes() const { return row_bytes_; }
  int max_seqs() const { return static_cast<int>(seqs_.size()); }
  int64_t capacity_tokens() const { return static_cast<int64_t>(n_blocks_) * block_tokens_; }
  int64_t free_tokens() const { return static_cast<int64_t>(free_blocks_.size()) * block_tokens_; }
  size_t bytes() const { return pool_.size(); }

  // Tokens cached for `seq` (its next position).
  int64_t length(int seq) const { return seqs_[seq].length; }
  // Makes positions [0, n_tokens) of `seq` writable, taking blocks from the pool.
  Status reserve(int seq, int64_t n_tokens);
  // Marks positions [0, n) as valid (after they were written).
  void set_length(int seq, int64_t n) { seqs_[seq].length = n; }
  // Drops positions >= n, returning whole blocks to the pool.
  void truncate(int seq, int64_t n);
  void clear(int seq) { truncate(seq, 0); }

  // One row as row_bytes() in the plain layout (f16 or bf16 values, or Q8_0 blocks), for
  // slot files.
  void read_row(int layer, int seq, int64_t pos, uint8_t* out) const;
  void write_row(int layer, int seq, int64_t pos, const uint8_t* in);

  // q8_0: the Q8_0_R16 group of positions [pos, pos + 16) (pos a multiple of 16); the groups
  // of [pos, pos + contiguous_rows(pos)) follow each other (16 * row_bytes() apart).
  const uint8_t* q8_0_group(int layer, int seq, int64_t pos) const;
  // bf16: the row of `pos`; the rows of [pos, pos + contiguous_rows(pos)) follow it
  // (row_bytes() apart).
  const uint16_t* bf16_rows(int layer, int seq, int64_t pos) const;
  // Positions from `pos` to the end of its block (they are contiguous in memory).
  int64_t contiguous_rows(int64_t pos) const { return block_tokens_ - pos % block_tokens_; }

  // Stores / loads one row of `width()` floats in the cache's type (bf16: rounded to nearest even).
  void store(int layer, int seq, int64_t pos, const float* values);
  // `k`: a kernel table whose row conversions (f16, q8_0) to use; they give the results of
  // the scalar conversions used when it is null.
  void load(int layer, int seq, int64_t pos, float* values, const KernelTable* k = nullptr) const;
  // Asks the CPU to fetch the bytes load_columns(layer, seq, pos, begin, end) will read
  // (q8_0: those of the whole 16-row group, asked for by its first row only).
  void prefetch_columns(int layer, int seq, int64_t pos, int64_t begin, int64_t end) const;
  // Values [begin, end) of one row (q8_0: multiples of 32), as load() gives them.
  void load_columns(int layer, int seq, int64_t pos, int64_t begin, int64_t end, float* values,
                    const KernelTable* k = nullptr) const;

 private:
  struct Sequence {
    std::vector<int32_t> blocks;
    int64_t length = 0;
  };
  // Where the row of (layer, seq, pos) starts (q8_0: its slot in the group's bytes).
  uint8_t* slot(int layer, int seq, int64_t pos);
  const uint8_t* slot(int layer, int seq, int64_t pos) const;

  KvCacheType type_ = KvCacheType::kF16;
  int64_t n_layers_ = 0;
  int64_t width_ = 0;
  size_t row_bytes_ = 0;
  int64_t block_tokens_ = 0;
  size_t block_bytes_ = 0;
  int32_t n_blocks_ = 0;
  CacheAlignedVector<uint8_t> pool_;  // rows of whole cache lines start on one
  std::vector<int32_t> free_blocks_;
  std::vector<Sequence> seqs_;
};

}  // namespace moe
