#include "tokenizer/byte_map.h"

#include "tokenizer/unicode.h"

namespace moe {

ByteMap::ByteMap() {
  cp_to_byte_.fill(-1);
  uint32_t next = 0x100;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE);
    const uint32_t cp = printable ? b : next++;
    byte_to_cp_[b] = cp;
    cp_to_byte_[cp] = static_cast<int16_t>(b);
  }
}

bool ByteMap::decode(std::string_view token_text, std::string& out) const {
  bool ok = true;
  for (size_t pos = 0; pos < token_text.size();) {
    const Utf8Char c = utf8_decode(token_text, pos);
    const int byte = c.cp == kInvalidCodePoint ? -1 : to_byte(c.cp);
    if (byte >= 0) {
      out.push_back(static_cast<char>(byte));
    } else {
      out.append(token_text.substr(pos, c.len));
      ok = false;
    }
    pos += c.len;
  }
  return ok;
}

std::string ByteMap::encode(std::string_view bytes) const {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char ch : bytes) utf8_append(byte_to_cp_[static_cast<uint8_t>(ch)], out);
  return out;
}

}  // namespace moe
