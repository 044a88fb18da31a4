#include "tokenizer/pretokenizer.h"

#include <algorithm>
#include <iterator>

#include "tokenizer/unicode.h"

namespace moe {
namespace {

// The decoded characters of the text being split.
struct Chars {
  const uint32_t* cp;
  const uint16_t* flags;
};

constexpr uint16_t kLetterOrMark = kCharLetter | kCharMark;
constexpr uint16_t kPunctOrSymbol = kCharPunctuation | kCharSymbol;

struct CodePointRange {
  uint32_t first;
  uint32_t last;
};

template <size_t N>
bool in_ranges(const CodePointRange (&ranges)[N], uint32_t cp) {
  // Ranges are sorted by `first` and do not overlap.
  const CodePointRange* it = std::upper_bound(
      std::begin(ranges), std::end(ranges), cp,
      [](uint32_t c, const CodePointRange& r) { return c < r.first; });
  return it != std::begin(ranges) && cp <= it[-1].last;
}

// Length of the run of characters satisfying `pred` from `pos`, stopping at `end`.
template <typename Pred>
size_t run_end(const Chars& c, size_t pos, size_t end, Pred pred) {
  while (pos < end && pred(c, pos)) ++pos;
  return pos;
}

bool is_space(const Chars& c, size_t i) { return (c.flags[i] & kCharSpace) != 0; }
bool is_newline(const Chars& c, size_t i) { return (c.flags[i] & kCharNewline) != 0; }
bool is_number(const Chars& c, size_t i) { return (c.flags[i] & kCharNumber) != 0; }
bool is_letter(const Chars& c, size_t i) { return (c.flags[i] & kCharLetter) != 0; }
bool is_punct(const Chars& c, size_t i) { return (c.flags[i] & kCharPunctuation) != 0; }
bool is_letter_or_mark(const Chars& c, size_t i) { return (c.flags[i] & kLetterOrMark) != 0; }
bool is_punct_or_symbol(const Chars& c, size_t i) { return (c.flags[i] & kPunctOrSymbol) != 0; }
bool is_ascii_letter(const Chars& c, size_t i) {
  const uint32_t cp = c.cp[i] | 0x20;
  return cp >= 'a' && cp <= 'z';
}
bool is_ascii_punct(const Chars& c, size_t i) {  // [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~]
  const uint32_t cp = c.cp[i];
  return (cp >= 0x21 && cp <= 0x2F) || (cp >= 0x3A && cp <= 0x40) ||
         (cp >= 0x5B && cp <= 0x60) || (cp >= 0x7B && cp <= 0x7E);
}

// Applies one Isolated split step: every piece of `in` is cut around the matches of
// `match(c, pos, end)`, which returns the end of the match at `pos` or `pos` for none.
template <typename Matcher>
void apply_step(const Chars& c, const std::vector<Span>& in, std::vector<Span>& out,
                Matcher match) {
  out.clear();
  for (const Span& piece : in) {
    size_t gap = piece.begin;
    for (size_t pos = piece.begin; pos < piece.end;) {
      const size_t e = match(c, pos, piece.end);
      if (e > pos) {
        if (gap < pos) out.push_back({gap, pos});
        out.push_back({pos, e});
        pos = gap = e;
      } else {
        ++pos;
      }
    }
    if (gap < piece.end) out.push_back({gap, piece.end});
  }
}

// ---- deepseek-v3 ----

// \p{N}{1,3}
size_t match_numbers_1_3(const Chars& c, size_t pos, size_t end) {
  return run_end(c, pos, std::min(end, pos + 3), is_number);
}

// [一-龥\u3040-ゟ゠-ヿ]+
bool is_v3_cjk(const Chars& c, size_t i) {
  const uint32_t cp = c.cp[i];
  return (cp >= 0x4E00 && cp <= 0x9FA5) || (cp >= 0x3040 && cp <= 0x30FF);
}
size_t match_v3_cjk(const Chars& c, size_t pos, size_t end) {
  return run_end(c, pos, end, is_v3_cjk);
}

// \s*[\r\n]+|\s+(?!\S)|\s+ : the whitespace alternatives that end the v3 and kimi-k2
// patterns, at a character of \s (pos < end).
size_t match_whitespace_tail(const Chars& c, size_t pos, size_t end) {
  // They all start inside the run [pos, ws_end).
  const size_t ws_end = run_end(c, pos, end, is_space);
  // \s*[\r\n]+ : backtracking ends the match after the run's last \r or \n.
  for (size_t i = ws_end; i > pos; --i) {
    if (is_newline(c, i - 1)) return i;
  }
  // \s+(?!\S) : the whole run at the end of the piece, else all but its last character.
  if (ws_end == end) return ws_end;
  if (ws_end - pos >= 2) return ws_end - 1;
  // \s+
  return ws_end;
}

// The letter / punctuation / whitespace pattern, one alternative at a time (first wins).
size_t match_v3_main(const Chars& c, size_t pos, size_t end) {
  const uint16_t f0 = c.flags[pos];
  // [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+
  if (is_ascii_punct(c, pos) && pos + 1 < end && is_ascii_letter(c, pos + 1)) {
    return run_end(c, pos + 1, end, is_ascii_letter);
  }
  // [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+ : with the optional character when one fits and a
  // letter or mark follows it; otherwise a run of letters and marks from `pos`.
  if (!(f0 & (kCharNewline | kCharLetter | kPunctOrSymbol)) && pos + 1 < end &&
      is_letter_or_mark(c, pos + 1)) {
    return run_end(c, pos + 1, end, is_letter_or_mark);
  }
  if (f0 & kLetterOrMark) return run_end(c, pos, end, is_letter_or_mark);
  // ` ?[\p{P}\p{S}]+[\r\n]*`
  size_t p = pos;
  if (c.cp[p] == ' ' && p + 1 < end && is_punct_or_symbol(c, p + 1)) ++p;
  if (is_punct_or_symbol(c, p)) {
    p = run_end(c, p, end, is_punct_or_symbol);
    return run_end(c, p, end, is_newline);
  }
  if (!(f0 & kCharSpace)) return pos;
  return match_whitespace_tail(c, pos, end);
}

// ---- kimi-k2 (Kimi-K2, Moonlight: the pat_str of their tokenization_kimi.py) ----
//
// U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]] and L = [\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]]:
// Lm, Lo and marks are in both.
bool is_han(const Chars& c, size_t i) {
  return (c.flags[i] & kCharHan) != 0;
}
bool is_kimi_upper(const Chars& c, size_t i) {
  const uint16_t f = c.flags[i];
  return (f & kLetterOrMark) && !(f & (kCharLower | kCharHan));
}
bool is_kimi_lower(const Chars& c, size_t i) {
  const uint16_t f = c.flags[i];
  return (f & kLetterOrMark) && !(f & (kCharUpperOrTitle | kCharHan));
}
// [^\s\p{L}\p{N}]
bool is_kimi_other(const Chars& c, size_t i) {
  return !(c.flags[i] & (kCharSpace | kCharLetter | kCharNumber));
}

constexpr size_t kNoMatch = static_cast<size_t>(-1);

uint32_t ascii_lower(uint32_t cp) {
  return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d)? at pos: the end of the contraction, or pos for none. Case
// folding also makes U+017F (long s) an s.
size_t kimi_contraction(const Chars& c, size_t pos, size_t end) {
  if (pos + 1 >= end || c.cp[pos] != '\'') return pos;
  const uint32_t a = ascii_lower(c.cp[pos + 1]);
  if (a == 's' || a == 0x17F || a == 't' || a == 'm' || a == 'd') return pos + 2;
  const uint32_t b = pos + 2 < end ? ascii_lower(c.cp[pos + 2]) : 0;
  if (((a == 'r' || a == 'v') && b == 'e') || (a == 'l' && b == 'l')) return pos + 3;
  return pos;
}

// U*L+C? from s, or kNoMatch. U* takes its longest run; when no L follows it, it gives back
// characters until it has given one that is also in L, which L+ then takes alone (the
// characters after it in the run are not in L).
size_t kimi_lower_word(const Chars& c, size_t s, size_t end) {
  const size_t u_end = run_end(c, s, end, is_kimi_upper);
  size_t l_start = u_end;
  if (u_end == end || !is_kimi_lower(c, u_end)) {
    while (l_start > s && !is_kimi_lower(c, l_start - 1)) --l_start;
    if (l_start == s) return kNoMatch;
    --l_start;
  }
  return kimi_contraction(c, run_end(c, l_start, end, is_kimi_lower), end);
}

// U+L*C? from s, or kNoMatch.
size_t kimi_upper_word(const Chars& c, size_t s, size_t end) {
  if (!is_kimi_upper(c, s)) return kNoMatch;
  const size_t u_end = run_end(c, s, end, is_kimi_upper);
  return kimi_contraction(c, run_end(c, u_end, end, is_kimi_lower), end);
}

// [^\r\n\p{L}\p{N}]?U*L+C? | [^\r\n\p{L}\p{N}]?U+L*C? : each alternative first with the
// optional character, then without it.
size_t match_kimi_word(const Chars& c, size_t pos, size_t end) {
  const bool prefix = !(c.flags[pos] & (kCharNewline | kCharLetter | kCharNumber)) && pos + 1 < end;
  for (auto word : {kimi_lower_word, kimi_upper_word}) {
    if (prefix) {
      if (const size_t e = word(c, pos + 1, end); e != kNoMatch) return e;
    }
    if (const size_t e = word(c, pos, end); e != kNoMatch) return e;
  }
  return pos;
}

// [\p{Han}]+ | the words | \p{N}{1,3} | ` ?[^\s\p{L}\p{N}]+[\r\n]*` | the whitespace tail.
size_t match_kimi(const Chars& c, size_t pos, size_t end) {
  if (is_han(c, pos)) return run_end(c, pos, end, is_han);
  if (const size_t e = match_kimi_word(c, pos, end); e > pos) return e;
  if (is_number(c, pos)) return match_numbers_1_3(c, pos, end);
  size_t p = pos;
  if (c.cp[p] == ' ' && p + 1 < end && is_kimi_other(c, p + 1)) ++p;
  if (is_kimi_other(c, p)) return run_end(c, run_end(c, p, end, is_kimi_other), end, is_newline);
  return match_whitespace_tail(c, pos, end);  // every other character is \s
}

// ---- deepseek-llm and deepseek-coder ----

// [\r\n]
size_t match_one_newline(const Chars& c, size_t pos, size_t /*end*/) {
  return is_newline(c, pos) ? pos + 1 : pos;
}

// \s?[class]+ for a character class `in_class`.
template <typename Pred>
size_t match_space_then_run(const Chars& c, size_t pos, size_t end, Pred in_class) {
  if (is_space(c, pos) && pos + 1 < end && in_class(c, pos + 1)) {
    return run_end(c, pos + 1, end, in_class);
  }
  return run_end(c, pos, end, in_class);
}

// The cased-letter class of deepseek-llm's second step, verbatim from its regex.
constexpr CodePointRange kLlmLetters[] = {
    {0x41, 0x5A}, {0x61, 0x7A}, {0xB5, 0xB5}, {0xC0, 0xD6}, {0xD8, 0xF6}, {0xF8, 0x1BA},
    {0x1BC, 0x1BF}, {0x1C4, 0x293}, {0x295, 0x2AF}, {0x370, 0x373}, {0x376, 0x377},
    {0x37B, 0x37D}, {0x37F, 0x37F}, {0x386, 0x386}, {0x388, 0x38A}, {0x38C, 0x38C},
    {0x38E, 0x3A1}, {0x3A3, 0x3F5}, {0x3F7, 0x481}, {0x48A, 0x52F}, {0x531, 0x556},
    {0x10A0, 0x10C5}, {0x13A0, 0x13F5}, {0x13F8, 0x13FD}, {0x1C90, 0x1CBA}, {0x1CBD, 0x1CBF},
    {0x1D00, 0x1D2B}, {0x1D6B, 0x1D77}, {0x1D79, 0x1D9A}, {0x1E00, 0x1F15}, {0x1F18, 0x1F1D},
    {0x1F20, 0x1F45}, {0x1F48, 0x1F4D}, {0x1F50, 0x1F57}, {0x1F59, 0x1F59}, {0x1F5B, 0x1F5B},
    {0x1F5D, 0x1F5D}, {0x1F5F, 0x1F7D}, {0x1F80, 0x1FB4}, {0x1FB6, 0x1FBC}, {0x1FBE, 0x1FBE},
    {0x1FC2, 0x1FC4}, {0x1FC6, 0x1FCC}, {0x1FD0, 0x1FD3}, {0x1FD6, 0x1FDB}, {0x1FE0, 0x1FEC},
    {0x1FF2, 0x1FF4}, {0x1FF6, 0x1FFC}, {0x2102, 0x2102}, {0x2107, 0x2107}, {0x210A, 0x2113},
    {0x2115, 0x2115}, {0x2119, 0x211D}, {0x2124, 0x2124}, {0x2126, 0x2126}, {0x2128, 0x2128},
    {0x212A, 0x212D}, {0x212F, 0x2134}, {0x2139, 0x2139}, {0x213C, 0x213F}, {0x2145, 0x2149},
    {0x214E, 0x214E}, {0x2183, 0x2184}, {0x2C00, 0x2C7B}, {0x2C7E, 0x2CE4}, {0x2CEB, 0x2CEE},
    {0x2CF2, 0x2CF3}, {0xA640, 0xA66D}, {0xA680, 0xA69B}, {0xA722, 0xA76F}, {0xA771, 0xA787},
    {0xA78B, 0xA78E}, {0xAB70, 0xABBF}, {0xFB00, 0xFB06}, {0xFB13, 0xFB17}, {0xFF21, 0xFF3A},
    {0xFF41, 0xFF5A}, {0x10400, 0x1044F}, {0x104B0, 0x104D3}, {0x104D8, 0x104FB},
    {0x10C80, 0x10CB2}, {0x10CC0, 0x10CF2}, {0x118A0, 0x118DF}, {0x1E900, 0x1E943},
};
bool is_llm_letter(const Chars& c, size_t i) {
  const uint32_t cp = c.cp[i];
  if (cp < 0x80) return (c.flags[i] & kCharLetter) != 0;
  return in_ranges(kLlmLetters, cp);
}

// [!-/:-~！-／：-～‘-‟　-。]
constexpr CodePointRange kLlmPunct[] = {
    {0x21, 0x2F}, {0x3A, 0x7E}, {0x2018, 0x201F}, {0x3000, 0x3002}, {0xFF01, 0xFF0F},
    {0xFF1A, 0xFF5E},
};
bool is_llm_punct(const Chars& c, size_t i) { return in_ranges(kLlmPunct, c.cp[i]); }

// [一-龥ࠀ-一가-퟿] (U+0800..U+9FA5 and U+AC00..U+D7FF)
bool is_llm_cjk(const Chars& c, size_t i) {
  const uint32_t cp = c.cp[i];
  return (cp >= 0x0800 && cp <= 0x9FA5) || (cp >= 0xAC00 && cp <= 0xD7FF);
}

// \s+$ : only the whitespace run that reaches the end of a piece can match, so each piece
// splits at most once, before its trailing whitespace.
void apply_trailing_space_step(const Chars& c, const std::vector<Span>& in,
                               std::vector<Span>& out) {
  out.clear();
  for (const Span& piece : in) {
    size_t ws = piece.end;
    while (ws > piece.begin && is_space(c, ws - 1)) --ws;
    if (ws > piece.begin) out.push_back({piece.begin, ws});
    if (ws < piece.end) out.push_back({ws, piece.end});
  }
}

void split_deepseek_v3(const Chars& c, PreTokenizerScratch& s) {
  apply_step(c, s.pieces, s.next, match_numbers_1_3);
  apply_step(c, s.next, s.pieces, match_v3_cjk);
  apply_step(c, s.pieces, s.next, match_v3_main);
  s.pieces.swap(s.next);
}

void split_deepseek_llm(const Chars& c, PreTokenizerScratch& s) {
  apply_step(c, s.pieces, s.next, match_one_newline);
  apply_step(c, s.next, s.pieces, [](const Chars& cc, size_t pos, size_t end) {
    return match_space_then_run(cc, pos, end, is_llm_letter);
  });
  apply_step(c, s.pieces, s.next, [](const Chars& cc, size_t pos, size_t end) {
    return match_space_then_run(cc, pos, end, is_llm_punct);
  });
  apply_trailing_space_step(c, s.next, s.pieces);
  apply_step(c, s.pieces, s.next, [](const Chars& cc, size_t pos, size_t end) {
    return run_end(cc, pos, end, is_llm_cjk);
  });
  apply_step(c, s.next, s.pieces, [](const Chars& cc, size_t pos, size_t end) {
    return run_end(cc, pos, end, is_number);
  });
}

void split_deepseek_coder(const Chars& c, PreTokenizerScratch& s) {
  apply_step(c, s.pieces, s.next, match_one_newline);
  apply_step(c, s.next, s.pieces, [](const Chars& cc, size_t pos, size_t end) {
    return match_space_then_run(cc, pos, end, is_letter);
  });
  apply_step(c, s.pieces, s.next, [](const Chars& cc, size_t pos, size_t end) {
    return match_space_then_run(cc, pos, end, is_punct);
  });
  apply_step(c, s.next, s.pieces, [](const Chars& cc, size_t pos, size_t end) {
    return run_end(cc, pos, end, is_llm_cjk);
  });
  apply_step(c, s.pieces, s.next, [](const Chars& cc, size_t pos, size_t /*end*/) {
    return is_number(cc, pos) ? pos + 1 : pos;
  });
  s.pieces.swap(s.next);
}

void split_kimi_k2(const Chars& c, PreTokenizerScratch& s) {
  apply_step(c, s.pieces, s.next, match_kimi);
  s.pieces.swap(s.next);
}

}  // namespace

Result<PreTokenizerKind> pre_tokenizer_from_name(std::string_view name) {
  if (name == "deepseek-v3") return PreTokenizerKind::kDeepSeekV3;
  if (name == "deepseek-llm") return PreTokenizerKind::kDeepSeekLlm;
  if (name == "deepseek-coder") return PreTokenizerKind::kDeepSeekCoder;
  if (name == "kimi-k2") return PreTokenizerKind::kKimiK2;
  return Status::error("tokenizer.ggml.pre: unsupported pre-tokenizer '" + std::string(name) +
                       "' (expected deepseek-v3, deepseek-llm, deepseek-coder or kimi-k2)");
}

std::string_view pre_tokenizer_name(PreTokenizerKind kind) {
  switch (kind) {
    case PreTokenizerKind::kDeepSeekV3: return "deepseek-v3";
    case PreTokenizerKind::kDeepSeekLlm: return "deepseek-llm";
    case PreTokenizerKind::kDeepSeekCoder: return "deepseek-coder";
    case PreTokenizerKind::kKimiK2: return "kimi-k2";
  }
  return "unknown";
}

void pre_tokenize(PreTokenizerKind kind, std::string_view text, PreTokenizerScratch& s,
                  std::vector<Span>& out) {
  if (text.empty()) return;
  s.cps.clear();
  s.flags.clear();
  s.offsets.clear();
  for (size_t pos = 0; pos < text.size();) {
    const auto b = static_cast<uint8_t>(text[pos]);
    Utf8Char ch = b < 0x80 ? Utf8Char{b, 1} : utf8_decode(text, pos);
    s.cps.push_back(ch.cp);
    s.flags.push_back(ch.cp == kInvalidCodePoint ? 0 : unicode_flags(ch.cp));
    s.offsets.push_back(pos);
    pos += ch.len;
  }
  s.offsets.push_back(text.size());
  const Chars chars{s.cps.data(), s.flags.data()};
  s.pieces.clear();
  s.pieces.push_back({0, s.cps.size()});
  switch (kind) {
    case PreTokenizerKind::kDeepSeekV3: split_deepseek_v3(chars, s); break;
    case PreTokenizerKind::kDeepSeekLlm: split_deepseek_llm(chars, s); break;
    case PreTokenizerKind::kDeepSeekCoder: split_deepseek_coder(chars, s); break;
    case PreTokenizerKind::kKimiK2: split_kimi_k2(chars, s); break;
  }
  for (const Span& piece : s.pieces) out.push_back({s.offsets[piece.begin], s.offsets[piece.end]});
}

std::vector<std::string> pre_tokenize(PreTokenizerKind kind, std::string_view text) {
  PreTokenizerScratch scratch;
  std::vector<Span> spans;
  pre_tokenize(kind, text, scratch, spans);
  std::vector<std::string> pieces;
  pieces.reserve(spans.size());
  for (const Span& s : spans) pieces.emplace_back(text.substr(s.begin, s.end - s.begin));
  return pieces;
}

}  // namespace moe
