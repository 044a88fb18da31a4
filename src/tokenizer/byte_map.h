// GPT-2's byte-to-unicode map: byte-level BPE vocabularies spell every byte as one
// printable code point, so token strings never contain raw control bytes or spaces.
// Printable Latin-1 bytes ('!'..'~', U+00A1..U+00AC, U+00AE..U+00FF) map to themselves; the
// other 68 bytes map, in byte order, to U+0100, U+0101, ... (so ' ' is U+0120 'Ġ', '\n' is
// U+010A 'Ċ').
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace moe {

class ByteMap {
 public:
  ByteMap();

  // The code point that spells `byte`.
  uint32_t to_code_point(uint8_t byte) const { return byte_to_cp_[byte]; }
  // The byte a code point spells, or -1 when it spells none.
  int to_byte(uint32_t cp) const { return cp < cp_to_byte_.size() ? cp_to_byte_[cp] : -1; }

  // "Ġhello" -> " hello". Returns false (and leaves a best-effort result: unmapped
  // characters copied through as UTF-8) when some character spells no byte.
  bool decode(std::string_view token_text, std::string& out) const;
  // " hello" -> "Ġhello".
  std::string encode(std::string_view bytes) const;

 private:
  std::array<uint32_t, 256> byte_to_cp_{};
  std::array<int16_t, 0x144> cp_to_byte_{};  // every mapped code point is < U+0144
};

}  // namespace moe
