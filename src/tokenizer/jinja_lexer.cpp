#include "tokenizer/jinja_lexer.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace moe::jinja {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_name_char(char c) { return is_name_start(c) || is_digit(c); }

void append_utf8(uint32_t cp, std::string& out) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  Lexer(std::string_view src, const LexOptions& opts) : src_(src), opts_(opts) {}

  Result<std::vector<Token>> run() {
    size_t pos = 0;
    bool strip_leading = false;  // the previous tag ended with '-'
    while (true) {
      size_t p = find_tag(pos);
      if (p == std::string_view::npos) {
        size_t begin = pos, end = src_.size();
        if (strip_leading) begin = skip_space(begin, end);
        if (!opts_.keep_trailing_newline && end > begin && src_[end - 1] == '\n') {
          --end;
          if (end > begin && src_[end - 1] == '\r') --end;
        }
        emit_text(begin, end);
        break;
      }
      char kind = src_[p + 1];
      char ctrl = p + 2 < src_.size() ? src_[p + 2] : '\0';
      size_t begin = pos, end = p;
      if (strip_leading) begin = skip_space(begin, end);
      if (ctrl == '-') {
        while (end > begin && is_space(src_[end - 1])) --end;
      } else if (opts_.lstrip_blocks && kind != '{' && ctrl != '+') {
        size_t q = p;
        while (q > 0 && (src_[q - 1] == ' ' || src_[q - 1] == '\t')) --q;
        if (q == 0 || src_[q - 1] == '\n') end = std::max(begin, std::min(end, q));
      }
      emit_text(begin, end);
      size_t inner = p + 2 + ((ctrl == '-' || ctrl == '+') ? 1 : 0);
      Result<size_t> next = kind == '#' ? lex_comment(p, inner, strip_leading)
                                        : lex_tag(kind, p, inner, strip_leading);
      if (!next.is_ok()) return next.status();
      pos = *next;
    }
    tokens_.push_back(Token{TokenType::kEof, "", 0, 0, line_at(src_.size())});
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return std::string_view::npos;
  }

  size_t skip_space(size_t begin, size_t end) const {
    while (begin < end && is_space(src_[begin])) ++begin;
    return begin;
  }

  // Skips one newline after a block/comment tag when trim_blocks is on.
  size_t trim_newline(size_t pos) const {
    if (!opts_.trim_blocks) return pos;
    if (pos < src_.size() && src_[pos] == '\n') return pos + 1;
    if (pos + 1 < src_.size() && src_[pos] == '\r' && src_[pos + 1] == '\n') return pos + 2;
    return pos;
  }

  int line_at(size_t offset) {
    while (line_pos_ < offset && line_pos_ < src_.size()) {
      if (src_[line_pos_] == '\n') ++line_;
      ++line_pos_;
    }
    return line_;
  }

  void emit_text(size_t begin, size_t end) {
    if (end <= begin) return;
    tokens_.push_back(Token{TokenType::kText, std::string(src_.substr(begin, end - begin)), 0, 0, line_at(begin)});
  }

  Status error_at(size_t offset, const std::string& what) {
    return Status::error("template line " + std::to_string(line_at(offset)) + ": " + what);
  }

  Result<size_t> lex_comment(size_t p, size_t inner, bool& strip_leading) {
    size_t close = src_.find("#}", inner);
    if (close == std::string_view::npos) return error_at(p, "unclosed comment");
    strip_leading = close > inner && src_[close - 1] == '-';
    return strip_leading ? close + 2 : trim_newline(close + 2);
  }

  // Matches `{% raw %}` at p; returns the offset after it, or npos.
  size_t match_keyword_tag(size_t p, std::string_view word, bool* strip_before, bool* strip_after) const {
    if (src_.compare(p, 2, "{%") != 0) return std::string_view::npos;
    size_t i = p + 2;
    *strip_before = i < src_.size() && src_[i] == '-';
    if (i < src_.size() && (src_[i] == '-' || src_[i] == '+')) ++i;
    while (i < src_.size() && is_space(src_[i])) ++i;
    if (src_.compare(i, word.size(), word) != 0) return std::string_view::npos;
    i += word.size();
    while (i < src_.size() && is_space(src_[i])) ++i;
    *strip_after = i < src_.size() && src_[i] == '-';
    if (*strip_after) ++i;
    if (src_.compare(i, 2, "%}") != 0) return std::string_view::npos;
    return i + 2;
  }

  Result<size_t> lex_raw(size_t body, bool& strip_leading) {
    size_t begin = body;
    if (strip_leading) begin = skip_space(begin, src_.size());
    for (size_t p = src_.find("{%", body); p != std::string_view::npos; p = src_.find("{%", p + 2)) {
      bool before = false, after = false;
      size_t next = match_keyword_tag(p, "endraw", &before, &after);
      if (next == std::string_view::npos) continue;
      size_t end = p;
      if (before) {
        while (end > begin && is_space(src_[end - 1])) --end;
      }
      emit_text(begin, std::max(begin, end));
      strip_leading = after;
      return after ? next : trim_newline(next);
    }
    return error_at(body, "unclosed {% raw %} block");
  }

  Result<size_t> lex_tag(char kind, size_t p, size_t inner, bool& strip_leading) {
    if (kind == '%') {
      bool before = false, after = false;
      size_t next = match_keyword_tag(p, "raw", &before, &after);
      if (next != std::string_view::npos) {
        strip_leading = after;
        return lex_raw(after ? next : trim_newline(next), strip_leading);
      }
    }
    const bool is_var = kind == '{';
    tokens_.push_back(Token{is_var ? TokenType::kVarBegin : TokenType::kBlockBegin, "", 0, 0, line_at(p)});
    int depth = 0;
    size_t i = inner;
    while (true) {
      while (i < src_.size() && is_space(src_[i])) ++i;
      if (i >= src_.size()) return error_at(p, std::string("unclosed ") + (is_var ? "{{" : "{%") + " tag");
      if (depth == 0) {
        const char* closer = is_var ? "}}" : "%}";
        bool dash = src_[i] == '-' && src_.compare(i + 1, 2, closer) == 0;
        if (dash || src_.compare(i, 2, closer) == 0) {
          tokens_.push_back(Token{is_var ? TokenType::kVarEnd : TokenType::kBlockEnd, "", 0, 0, line_at(i)});
          size_t after = i + 2 + (dash ? 1 : 0);
          strip_leading = dash;
          return (dash || is_var) ? after : trim_newline(after);
        }
      }
      MOE_ASSIGN_OR_RETURN(i, lex_token(i, depth));
    }
  }

  Result<size_t> lex_token(size_t i, int& depth) {
    const int line = line_at(i);
    char c = src_[i];
    if (is_name_start(c)) {
      size_t j = i;
      while (j < src_.size() && is_name_char(src_[j])) ++j;
      tokens_.push_back(Token{TokenType::kName, std::string(src_.substr(i, j - i)), 0, 0, line});
      return j;
    }
    if (is_digit(c)) return lex_number(i, line);
    if (c == '\'' || c == '"') return lex_string(i, line);
    static constexpr std::string_view kTwoCharOps[] = {"//", "**", "==", "!=", "<=", ">="};
    for (std::string_view op : kTwoCharOps) {
      if (src_.compare(i, 2, op) == 0) {
        tokens_.push_back(Token{TokenType::kOp, std::string(op), 0, 0, line});
        return i + 2;
      }
    }
    static constexpr std::string_view kOneCharOps = "+-*/%~<>=.,:|()[]{}";
    if (kOneCharOps.find(c) == std::string_view::npos) {
      return error_at(i, std::string("unexpected character '") + c + "' in tag");
    }
    if (c == '(' || c == '[' || c == '{') ++depth;
    if ((c == ')' || c == ']' || c == '}') && depth > 0) --depth;
    tokens_.push_back(Token{TokenType::kOp, std::string(1, c), 0, 0, line});
    return i + 1;
  }

  Result<size_t> lex_number(size_t i, int line) {
    size_t j = i;
    std::string digits;
    while (j < src_.size() && (is_digit(src_[j]) || src_[j] == '_')) {
      if (src_[j] != '_') digits += src_[j];
      ++j;
    }
    bool is_float = false;
    if (j + 1 < src_.size() && src_[j] == '.' && is_digit(src_[j + 1])) {
      is_float = true;
      digits += '.';
      ++j;
      while (j < src_.size() && (is_digit(src_[j]) || src_[j] == '_')) {
        if (src_[j] != '_') digits += src_[j];
        ++j;
      }
    }
    if (j < src_.size() && (src_[j] == 'e' || src_[j] == 'E')) {
      size_t k = j + 1;
      if (k < src_.size() && (src_[k] == '+' || src_[k] == '-')) ++k;
      if (k < src_.size() && is_digit(src_[k])) {
        is_float = true;
        digits += 'e';
        digits.append(src_.substr(j + 1, k - j - 1));
        while (k < src_.size() && is_digit(src_[k])) digits += src_[k++];
        j = k;
      }
    }
    Token t{is_float ? TokenType::kFloat : TokenType::kInt, digits, 0, 0, line};
    if (is_float) {
      t.float_value = std::strtod(digits.c_str(), nullptr);
    } else {
      auto res = std::from_chars(digits.data(), digits.data() + digits.size(), t.int_value);
      if (res.ec != std::errc()) return error_at(i, "integer literal out of range: " + digits);
    }
    tokens_.push_back(std::move(t));
    return j;
  }

  Result<size_t> lex_string(size_t i, int line) {
    const char quote = src_[i];
    std::string value;
    size_t j = i + 1;
    while (true) {
      if (j >= src_.size()) return error_at(i, "unterminated string literal");
      char c = src_[j];
      if (c == quote) break;
      if (c != '\\' || j + 1 >= src_.size()) {
        value += c;
        ++j;
        continue;
      }
      char e = src_[j + 1];
      j += 2;
      switch (e) {
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case 'a': value += '\a'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'v': value += '\v'; break;
        case '0': value += '\0'; break;
        case '\\': value += '\\'; break;
        case '\'': value += '\''; break;
        case '"': value += '"'; break;
        case '\n': break;  // line continuation
        case 'x':
        case 'u':
        case 'U': {
          size_t n = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          if (j + n > src_.size()) return error_at(i, "truncated \\" + std::string(1, e) + " escape");
          uint32_t cp = 0;
          auto res = std::from_chars(src_.data() + j, src_.data() + j + n, cp, 16);
          if (res.ec != std::errc() || res.ptr != src_.data() + j + n) {
            return error_at(i, "bad \\" + std::string(1, e) + " escape");
          }
          append_utf8(cp, value);
          j += n;
          break;
        }
        default:
          value += '\\';
          value += e;
      }
    }
    tokens_.push_back(Token{TokenType::kString, std::move(value), 0, 0, line});
    return j + 1;
  }

  std::string_view src_;
  LexOptions opts_;
  std::vector<Token> tokens_;
  size_t line_pos_ = 0;
  int line_ = 1;
};

}  // namespace

Result<std::vector<Token>> lex(std::string_view source, const LexOptions& opts) {
  return Lexer(source, opts).run();
}

}  // namespace moe::jinja
