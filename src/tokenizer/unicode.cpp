#include "tokenizer/unicode.h"

#include <algorithm>

namespace moe {
namespace unicode_detail {
extern const uint32_t kClassRuns[];
extern const size_t kClassRunCount;
}  // namespace unicode_detail

namespace {

// A class run entry: (first code point << kClassShift) | the major class in bits 0-2, with
// kUpperOrTitleBit for Lu/Lt, kLowerBit for Ll and kHanBit for Script=Han
// (gen_unicode_tables.py).
constexpr uint32_t kClassShift = 6;
constexpr uint32_t kMajorMask = 7;
constexpr uint32_t kUpperOrTitleBit = 8;
constexpr uint32_t kLowerBit = 16;
constexpr uint32_t kHanBit = 32;

constexpr uint16_t ascii_flags(uint32_t c) {
  if (c == '\r' || c == '\n') return kCharSpace | kCharNewline;
  if ((c >= 0x09 && c <= 0x0D) || c == ' ') return kCharSpace;
  if (c >= 'a' && c <= 'z') return kCharLetter | kCharLower;
  if (c >= 'A' && c <= 'Z') return kCharLetter | kCharUpperOrTitle;
  if (c >= '0' && c <= '9') return kCharNumber;
  // ASCII symbols (Sm, Sc, Sk): $ + < = > ^ ` | ~
  if (c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' || c == '`' ||
      c == '|' || c == '~')
    return kCharSymbol;
  if (c >= 0x21 && c <= 0x7E) return kCharPunctuation;
  return 0;  // other controls
}

struct AsciiTable {
  uint16_t flags[128];
  constexpr AsciiTable() : flags() {
    for (uint32_t c = 0; c < 128; ++c) flags[c] = ascii_flags(c);
  }
};
constexpr AsciiTable kAscii;

// The class run entry covering cp (cp <= U+10FFFF).
uint32_t class_code(uint32_t cp) {
  const uint32_t* runs = unicode_detail::kClassRuns;
  const uint32_t* end = runs + unicode_detail::kClassRunCount;
  // The last run whose first code point is <= cp.
  const uint32_t* it = std::upper_bound(runs, end, (cp << kClassShift) | ((1u << kClassShift) - 1));
  return it[-1] & ((1u << kClassShift) - 1);
}

}  // namespace

UnicodeClass unicode_class(uint32_t cp) {
  if (cp > 0x10FFFF) return UnicodeClass::kNone;
  return static_cast<UnicodeClass>(class_code(cp) & kMajorMask);
}

bool unicode_is_space(uint32_t cp) {
  if (cp < 0x80) return (kAscii.flags[cp] & kCharSpace) != 0;
  return cp == 0x85 || cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) ||
         cp == 0x2028 || cp == 0x2029 || cp == 0x202F || cp == 0x205F || cp == 0x3000;
}

uint16_t unicode_flags(uint32_t cp) {
  if (cp < 0x80) return kAscii.flags[cp];
  if (cp > 0x10FFFF) return 0;
  uint16_t flags = unicode_is_space(cp) ? kCharSpace : 0;
  const uint32_t code = class_code(cp);
  if (code & kUpperOrTitleBit) flags |= kCharUpperOrTitle;
  if (code & kLowerBit) flags |= kCharLower;
  if (code & kHanBit) flags |= kCharHan;
  switch (static_cast<UnicodeClass>(code & kMajorMask)) {
    case UnicodeClass::kLetter: return flags | kCharLetter;
    case UnicodeClass::kMark: return flags | kCharMark;
    case UnicodeClass::kNumber: return flags | kCharNumber;
    case UnicodeClass::kPunctuation: return flags | kCharPunctuation;
    case UnicodeClass::kSymbol: return flags | kCharSymbol;
    default: return flags;
  }
}

int utf8_sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if (lead < 0xC2) return 0;  // continuation byte, or overlong 2-byte lead C0/C1
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  if (lead < 0xF5) return 4;
  return 0;
}

Utf8Char utf8_decode(std::string_view s, size_t pos) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data()) + pos;
  const size_t left = s.size() - pos;
  const uint8_t b0 = p[0];
  if (b0 < 0x80) return {b0, 1};
  const int n = utf8_sequence_length(b0);
  if (n == 0 || static_cast<size_t>(n) > left) return {};
  auto cont = [&](int i) { return (p[i] & 0xC0) == 0x80; };
  if (n == 2) {
    if (!cont(1)) return {};
    return {(uint32_t(b0 & 0x1F) << 6) | (p[1] & 0x3F), 2};
  }
  if (n == 3) {
    if (!cont(1) || !cont(2)) return {};
    const uint32_t cp = (uint32_t(b0 & 0x0F) << 12) | (uint32_t(p[1] & 0x3F) << 6) | (p[2] & 0x3F);
    if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return {};
    return {cp, 3};
  }
  if (!cont(1) || !cont(2) || !cont(3)) return {};
  const uint32_t cp = (uint32_t(b0 & 0x07) << 18) | (uint32_t(p[1] & 0x3F) << 12) |
                      (uint32_t(p[2] & 0x3F) << 6) | (p[3] & 0x3F);
  if (cp < 0x10000 || cp > 0x10FFFF) return {};
  return {cp, 4};
}

void utf8_append(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace moe
