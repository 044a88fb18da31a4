#include "tokenizer/special_tokens.h"

#include <algorithm>

namespace moe {

SpecialTokenMatcher::SpecialTokenMatcher() : nodes_(1) {}

void SpecialTokenMatcher::add(std::string_view text, TokenId id, bool control) {
  if (text.empty()) return;
  uint32_t node = 0;
  for (char ch : text) {
    const auto byte = static_cast<uint8_t>(ch);
    auto& children = nodes_[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), byte,
                               [](const auto& edge, uint8_t b) { return edge.first < b; });
    if (it != children.end() && it->first == byte) {
      node = it->second;
      continue;
    }
    const auto child = static_cast<uint32_t>(nodes_.size());
    children.insert(it, {byte, child});
    nodes_.emplace_back();  // invalidates `children`; not used again
    node = child;
  }
  if (nodes_[node].id != kNoToken) return;  // the first token with this text wins
  nodes_[node].id = id;
  nodes_[node].control = control;
  first_bytes_.set(static_cast<uint8_t>(text[0]));
  ++n_tokens_;
}

SpecialTokenMatcher::Match SpecialTokenMatcher::match_at(std::string_view text, size_t pos,
                                                         SpecialParsing mode) const {
  Match best;
  if (mode == SpecialParsing::kNone) return best;
  uint32_t node = 0;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto byte = static_cast<uint8_t>(text[i]);
    const auto& children = nodes_[node].children;
    auto it = std::lower_bound(children.begin(), children.end(), byte,
                               [](const auto& edge, uint8_t b) { return edge.first < b; });
    if (it == children.end() || it->first != byte) break;
    node = it->second;
    const Node& n = nodes_[node];
    if (n.id != kNoToken && (mode == SpecialParsing::kAll || !n.control)) {
      best = {i + 1 - pos, n.id};
    }
  }
  return best;
}

}  // namespace moe
