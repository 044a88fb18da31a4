// Special-token matching: control and user-defined tokens (`<｜User｜>`, `<think>`, ...) are
// cut out of the text before pre-tokenization and become their own ids.
//
// A byte trie of the token texts finds, at a position, the longest token that starts there;
// the encoder scans left to right, so matches are leftmost-longest. llama.cpp instead
// splits on each token in turn, longest first; the two agree unless one special token's
// text occurs inside another's at an offset, which no DeepSeek vocabulary has.
#pragma once

#include <bitset>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tokenizer/bpe.h"

namespace moe {

// Which special tokens encode() recognizes in text.
enum class SpecialParsing : uint8_t {
  kAll,              // control and user-defined (llama.cpp parse_special=true)
  kUserDefinedOnly,  // user-defined only (llama.cpp parse_special=false)
  kNone,             // none: all text is ordinary text (e.g. untrusted user content)
};

class SpecialTokenMatcher {
 public:
  SpecialTokenMatcher();

  // `control`: a control (or unknown) token, matched only under SpecialParsing::kAll.
  void add(std::string_view text, TokenId id, bool control);
  size_t size() const { return n_tokens_; }

  // Whether some token starts with this byte (a cheap filter before match_at).
  bool may_start(uint8_t byte) const { return first_bytes_.test(byte); }

  struct Match {
    size_t len = 0;  // 0: no match
    TokenId id = kNoToken;
  };
  // The longest token allowed by `mode` that starts at text[pos].
  Match match_at(std::string_view text, size_t pos, SpecialParsing mode) const;

 private:
  struct Node {
    std::vector<std::pair<uint8_t, uint32_t>> children;  // sorted by byte
    TokenId id = kNoToken;
    bool control = false;
  };
  std::vector<Node> nodes_;  // nodes_[0] is the root
  std::bitset<256> first_bytes_;
  size_t n_tokens_ = 0;
};

}  // namespace moe
