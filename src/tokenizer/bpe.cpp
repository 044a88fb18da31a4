#include "tokenizer/bpe.h"

#include <algorithm>
#include <cstring>

namespace moe {

// ---- BpeMergeTable ----

void BpeMergeTable::reserve(size_t n_merges) {
  size_t n_slots = 16;
  while (n_slots < 2 * n_merges) n_slots *= 2;
  if (n_slots <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(n_slots, Slot{kEmptyKey, {}});
  mask_ = n_slots - 1;
  size_ = 0;
  for (const Slot& s : old) {
    if (s.key != kEmptyKey) insert(TokenId(s.key >> 32), TokenId(uint32_t(s.key)), s.merge.rank,
                                   s.merge.merged);
  }
}

void BpeMergeTable::grow() { reserve(std::max<size_t>(16, size_ * 2 + 2)); }

bool BpeMergeTable::insert(TokenId left, TokenId right, int32_t rank, TokenId merged) {
  if (2 * (size_ + 1) > slots_.size()) grow();
  const uint64_t key = make_key(left, right);
  for (size_t i = hash(key) & mask_;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.key == key) return false;
    if (s.key == kEmptyKey) {
      s.key = key;
      s.merge = {rank, merged};
      ++size_;
      return true;
    }
  }
}

// ---- bpe_encode_word ----

namespace {

// Min-heap order: lowest rank, then leftmost.
struct CandidateAfter {
  bool operator()(const BpeScratch::Candidate& a, const BpeScratch::Candidate& b) const {
    return a.rank != b.rank ? a.rank > b.rank : a.left > b.left;
  }
};

void push_candidate(const BpeMergeTable& merges, BpeScratch& s, int32_t left) {
  if (left < 0) return;
  const int32_t right = s.symbols[left].next;
  if (right < 0) return;
  const TokenId left_id = s.symbols[left].id;
  const TokenId right_id = s.symbols[right].id;
  const BpeMergeTable::Merge m = merges.find(left_id, right_id);
  if (m.rank < 0) return;
  s.heap.push_back({m.rank, left, left_id, right_id});
  std::push_heap(s.heap.begin(), s.heap.end(), CandidateAfter());
}

}  // namespace

void bpe_encode_word(std::string_view word, const std::array<TokenId, 256>& byte_tokens,
                     const BpeMergeTable& merges, BpeScratch& s, std::vector<TokenId>& out) {
  s.symbols.clear();
  s.heap.clear();
  for (char ch : word) {
    const TokenId id = byte_tokens[static_cast<uint8_t>(ch)];
    if (id == kNoToken) continue;
    const auto index = static_cast<int32_t>(s.symbols.size());
    s.symbols.push_back({id, index - 1, index + 1});
  }
  if (s.symbols.empty()) return;
  s.symbols.back().next = -1;
  if (s.symbols.size() == 1) {
    out.push_back(s.symbols[0].id);
    return;
  }
  for (int32_t i = 0; i + 1 < static_cast<int32_t>(s.symbols.size()); ++i) {
    push_candidate(merges, s, i);
  }
  while (!s.heap.empty()) {
    std::pop_heap(s.heap.begin(), s.heap.end(), CandidateAfter());
    const BpeScratch::Candidate c = s.heap.back();
    s.heap.pop_back();
    BpeScratch::Symbol& left = s.symbols[c.left];
    // Stale when the left symbol was merged away or changed, or its right neighbour did.
    if (left.id != c.left_id || left.next < 0) continue;
    BpeScratch::Symbol& right = s.symbols[left.next];
    if (right.id != c.right_id) continue;
    left.id = merges.find(c.left_id, c.right_id).merged;
    right.id = kNoToken;  // dead
    left.next = right.next;
    if (right.next >= 0) s.symbols[right.next].prev = c.left;
    push_candidate(merges, s, left.prev);
    push_candidate(merges, s, c.left);
  }
  for (int32_t i = 0; i >= 0; i = s.symbols[i].next) out.push_back(s.symbols[i].id);
}

// ---- BpeCache ----

BpeCache::BpeCache(size_t max_entries) : max_entries_(std::max<size_t>(max_entries, 16)) {}

void BpeCache::clear() {
  slots_.clear();
  entries_.clear();
  keys_.clear();
  ids_.clear();
}

void BpeCache::rehash(size_t n_slots) {
  slots_.assign(n_slots, 0);
  const size_t mask = n_slots - 1;
  for (size_t e = 0; e < entries_.size(); ++e) {
    size_t i = entries_[e].hash & mask;
    while (slots_[i] != 0) i = (i + 1) & mask;
    slots_[i] = static_cast<uint32_t>(e + 1);
  }
}

bool BpeCache::lookup(std::string_view word, size_t hash, std::vector<TokenId>& out) const {
  if (slots_.empty()) return false;
  const size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask; slots_[i] != 0; i = (i + 1) & mask) {
    const Entry& e = entries_[slots_[i] - 1];
    if (e.hash == hash && e.key_size == word.size() &&
        std::memcmp(keys_.data() + e.key_offset, word.data(), word.size()) == 0) {
      out.insert(out.end(), ids_.begin() + e.ids_offset, ids_.begin() + e.ids_offset + e.n_ids);
      return true;
    }
  }
  return false;
}

void BpeCache::insert(std::string_view word, size_t hash, const TokenId* ids, size_t n_ids) {
  if (word.size() > kMaxWordBytes) return;
  if (entries_.size() >= max_entries_) clear();
  if (2 * (entries_.size() + 1) > slots_.size()) {
    rehash(std::max<size_t>(1024, slots_.size() * 2));
  }
  entries_.push_back({hash, static_cast<uint32_t>(keys_.size()),
                      static_cast<uint32_t>(word.size()), static_cast<uint32_t>(ids_.size()),
                      static_cast<uint32_t>(n_ids)});
  keys_.append(word);
  ids_.insert(ids_.end(), ids, ids + n_ids);
  const size_t mask = slots_.size() - 1;
  size_t i = hash & mask;
  while (slots_[i] != 0) i = (i + 1) & mask;
  slots_[i] = static_cast<uint32_t>(entries_.size());
}

}  // namespace moe
