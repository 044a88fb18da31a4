#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace moe {
namespace {

constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD

// Whether `bytes` (1..3 bytes, first a lead byte) can still become a valid character.
bool is_valid_prefix(std::string_view bytes) {
  const auto b0 = static_cast<uint8_t>(bytes[0]);
  for (size_t i = 1; i < bytes.size(); ++i) {
    const auto b = static_cast<uint8_t>(bytes[i]);
    if ((b & 0xC0) != 0x80) return false;
  }
  if (bytes.size() >= 2) {  // second-byte limits that rule out overlongs and surrogates
    const auto b1 = static_cast<uint8_t>(bytes[1]);
    if (b0 == 0xE0 && b1 < 0xA0) return false;
    if (b0 == 0xED && b1 > 0x9F) return false;
    if (b0 == 0xF0 && b1 < 0x90) return false;
    if (b0 == 0xF4 && b1 > 0x8F) return false;
  }
  return true;
}

}  // namespace

void StreamingDecoder::push(TokenId id, std::string& out) {
  push_bytes(tokenizer_.token_to_piece(id, render_special_), out);
}

void StreamingDecoder::push_bytes(std::string_view bytes, std::string& out) {
  if (bytes.empty()) return;
  // Complete a held-back character first, one byte at a time.
  size_t used = 0;
  while (!pending_.empty() && used < bytes.size()) {
    pending_.push_back(bytes[used++]);
    const int need = utf8_sequence_length(static_cast<uint8_t>(pending_[0]));
    if (!is_valid_prefix(pending_)) {
      // The lead byte cannot start a character here: replace it and rescan the rest.
      out.append(kReplacement);
      std::string rest = pending_.substr(1);
      pending_.clear();
      push_bytes(rest, out);
      continue;
    }
    if (static_cast<int>(pending_.size()) == need) {
      out.append(pending_);
      pending_.clear();
    }
  }
  const std::string_view s = bytes.substr(used);
  for (size_t pos = 0; pos < s.size();) {
    const auto b = static_cast<uint8_t>(s[pos]);
    if (b < 0x80) {
      out.push_back(static_cast<char>(b));
      ++pos;
      continue;
    }
    const int need = utf8_sequence_length(b);
    if (need == 0) {
      out.append(kReplacement);
      ++pos;
      continue;
    }
    if (pos + need > s.size() && is_valid_prefix(s.substr(pos))) {
      pending_.assign(s.substr(pos));  // wait for the rest of this character
      return;
    }
    const Utf8Char c = utf8_decode(s, pos);
    if (c.cp == kInvalidCodePoint) {
      out.append(kReplacement);
      ++pos;
    } else {
      out.append(s.substr(pos, c.len));
      pos += c.len;
    }
  }
}

void StreamingDecoder::flush(std::string& out) {
  if (!pending_.empty()) out.append(kReplacement);
  pending_.clear();
}

}  // namespace moe
