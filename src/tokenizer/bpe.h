// Byte-level BPE: merges by rank over token ids, plus a bounded per-word result cache.
//
// A word (one pre-tokenizer piece, raw bytes) starts as one symbol per byte, each the id
// of the token that spells that byte. The adjacent pair with the lowest merge rank is
// merged, leftmost first among equal ranks, until no adjacent pair has a merge: the order
// Hugging Face's BPE and llama.cpp's llm_tokenizer_bpe use. A heap keeps this
// O(n log n), so pathological words (a megabyte without spaces) stay fast.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace moe {

using TokenId = int32_t;
constexpr TokenId kNoToken = -1;

// (left id, right id) -> (rank, merged id), open addressing.
class BpeMergeTable {
 public:
  struct Merge {
    int32_t rank = -1;
    TokenId merged = kNoToken;
  };

  void reserve(size_t n_merges);
  // Keeps the first (lowest-rank) entry of a pair; returns false for a repeat.
  bool insert(TokenId left, TokenId right, int32_t rank, TokenId merged);
  // rank < 0 when the pair has no merge.
  Merge find(TokenId left, TokenId right) const {
    if (slots_.empty()) return {};
    const uint64_t key = make_key(left, right);
    for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return s.merge;
      if (s.key == kEmptyKey) return {};
    }
  }
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint64_t key;
    Merge merge;
  };
  static constexpr uint64_t kEmptyKey = ~0ull;
  static uint64_t make_key(TokenId left, TokenId right) {
    return (uint64_t(uint32_t(left)) << 32) | uint32_t(right);
  }
  static size_t hash(uint64_t key) {
    key ^= key >> 29;
    key *= 0xBF58476D1CE4E5B9ull;
    key ^= key >> 32;
    return static_cast<size_t>(key);
  }
  void grow();

  std::vector<Slot> slots_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

// Working memory of bpe_encode_word, reused across words.
struct BpeScratch {
  struct Symbol {
    TokenId id;
    int32_t prev;
    int32_t next;
  };
  struct Candidate {
    int32_t rank;
    int32_t left;  // symbol index
    TokenId left_id;
    TokenId right_id;
  };
  std::vector<Symbol> symbols;
  std::vector<Candidate> heap;
};

// Encodes one word. `byte_tokens[b]` is the token spelling byte b (kNoToken: the byte is
// dropped, as Hugging Face drops characters outside a vocabulary without an unknown token).
void bpe_encode_word(std::string_view word, const std::array<TokenId, 256>& byte_tokens,
                     const BpeMergeTable& merges, BpeScratch& scratch, std::vector<TokenId>& out);

// A bounded map word -> token ids. Words longer than kMaxWordBytes are not cached; when
// full, it starts over (cheap, and frequent words come straight back).
class BpeCache {
 public:
  static constexpr size_t kMaxWordBytes = 128;
  explicit BpeCache(size_t max_entries = 1 << 16);

  // Appends the cached ids of `word` to `out`; false when absent.
  bool lookup(std::string_view word, size_t hash, std::vector<TokenId>& out) const;
  void insert(std::string_view word, size_t hash, const TokenId* ids, size_t n_ids);
  size_t size() const { return entries_.size(); }
  void clear();

 private:
  struct Entry {
    size_t hash;
    uint32_t key_offset;
    uint32_t key_size;
    uint32_t ids_offset;
    uint32_t n_ids;
  };
  void rehash(size_t n_slots);

  size_t max_entries_;
  std::vector<uint32_t> slots_;  // entry index + 1; 0 is empty
  std::vector<Entry> entries_;
  std::string keys_;
  std::vector<TokenId> ids_;
};

}  // namespace moe
