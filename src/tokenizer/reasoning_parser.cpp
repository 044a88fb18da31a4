#include "tokenizer/reasoning_parser.h"

#include <algorithm>
#include <cctype>
#include <initializer_list>

namespace moe {
namespace {

constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";
constexpr std::string_view kFence = "```";

// The markers of one tool-call syntax (reasoning_parser.h). A section may also open and close
// with a second spelling (the *_alt markers; the same as the first where there is none).
struct ToolMarkers {
  std::string_view calls_begin, calls_end, call_begin, call_end, header_end;
  std::string_view calls_begin_alt, calls_end_alt;
  bool opens_section(std::string_view m) const { return m == calls_begin || m == calls_begin_alt; }
};
constexpr ToolMarkers kDeepSeekMarkers{"<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>",
                                       "<｜tool▁call▁begin｜>",  "<｜tool▁call▁end｜>",
                                       "<｜tool▁sep｜>",         "<｜tool▁calls▁begin｜>",
                                       "<｜tool▁calls▁end｜>"};
// Some Kimi-K2 checkpoints write the section markers in the singular (as vLLM's Kimi parser
// also accepts): <|tool_call_section_begin|> ... <|tool_call_section_end|>.
constexpr ToolMarkers kKimiMarkers{"<|tool_calls_section_begin|>", "<|tool_calls_section_end|>",
                                   "<|tool_call_begin|>",          "<|tool_call_end|>",
                                   "<|tool_call_argument_begin|>", "<|tool_call_section_begin|>",
                                   "<|tool_call_section_end|>"};

const ToolMarkers& markers_of(ToolCallSyntax syntax) {
  return syntax == ToolCallSyntax::kKimi ? kKimiMarkers : kDeepSeekMarkers;
}

// A Kimi call header "functions.NAME:INDEX" -> NAME.
std::string kimi_function_name(std::string_view header) {
  constexpr std::string_view kPrefix = "functions.";
  if (header.substr(0, kPrefix.size()) == kPrefix) header.remove_prefix(kPrefix.size());
  const size_t colon = header.rfind(':');
  if (colon != std::string_view::npos && colon + 1 < header.size() &&
      std::all_of(header.begin() + colon + 1, header.end(),
                  [](char c) { return c >= '0' && c <= '9'; })) {
    header = header.substr(0, colon);
  }
  return std::string(header);
}

bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// Whether s could still grow into `word` (s is a prefix of it).
bool is_prefix_of(std::string_view s, std::string_view word) { return s.size() <= word.size() && starts_with(word, s); }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ws(s.back())) s.remove_suffix(1);
  return s;
}

// Length of the longest suffix of s that is a proper prefix of one of the markers.
size_t partial_marker_suffix(std::string_view s, std::initializer_list<std::string_view> markers) {
  size_t longest = 0;
  for (std::string_view m : markers) longest = std::max(longest, m.size() - 1);
  for (size_t len = std::min(s.size(), longest); len > 0; --len) {
    std::string_view tail = s.substr(s.size() - len);
    for (std::string_view m : markers) {
      if (starts_with(m, tail)) return len;
    }
  }
  return 0;
}

// Bytes at the end of s that start a UTF-8 character not yet complete.
size_t incomplete_utf8_tail(std::string_view s) {
  for (size_t back = 1; back <= std::min<size_t>(4, s.size()); ++back) {
    unsigned char c = s[s.size() - back];
    if ((c & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    size_t need = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    return need > back ? back : 0;
  }
  return 0;
}

// Earliest position of any marker in s (npos if none); *which receives the marker.
size_t find_first(std::string_view s, std::initializer_list<std::string_view> markers, std::string_view* which) {
  size_t best = std::string_view::npos;
  for (std::string_view m : markers) {
    size_t p = s.find(m);
    if (p < best) {
      best = p;
      *which = m;
    }
  }
  return best;
}

// Whether s could be the start of the end of a call's arguments: ws* [``` ws*] call_end.
bool is_viable_args_tail(std::string_view s, std::string_view call_end) {
  size_t i = 0;
  while (i < s.size() && is_ws(s[i])) ++i;
  size_t ticks = 0;
  while (i < s.size() && s[i] == '`' && ticks < 3) {
    ++i;
    ++ticks;
  }
  if (ticks > 0 && ticks < 3) return i == s.size();
  if (ticks == 3) {
    while (i < s.size() && is_ws(s[i])) ++i;
  }
  return is_prefix_of(s.substr(i), call_end);
}

// Strips the closing "\n```" (and whitespace) from a call's complete arguments.
std::string_view strip_closing_fence(std::string_view args) {
  while (!args.empty() && is_ws(args.back())) args.remove_suffix(1);
  if (args.size() >= kFence.size() && args.substr(args.size() - kFence.size()) == kFence) {
    args.remove_suffix(kFence.size());
    while (!args.empty() && is_ws(args.back())) args.remove_suffix(1);
  }
  return args;
}

}  // namespace

ToolCallSyntax tool_call_syntax_of(const Tokenizer& tokenizer) {
  return tokenizer.find_token(kKimiMarkers.calls_begin) ||
                 tokenizer.find_token(kKimiMarkers.calls_begin_alt)
             ? ToolCallSyntax::kKimi
             : ToolCallSyntax::kDeepSeek;
}

ReasoningParser::ReasoningParser(ReasoningParserOptions opts) : opts_(std::move(opts)) {
  if (opts_.format == ReasoningFormat::kNone) {
    state_ = State::kContent;
  } else {
    state_ = opts_.starts_in_reasoning ? State::kReasoning : State::kStart;
  }
}

ReasoningDelta ReasoningParser::feed(std::string_view piece) {
  ReasoningDelta d;
  buf_.append(piece);
  while (step(false, d)) {
  }
  return d;
}

ReasoningDelta ReasoningParser::finish() {
  ReasoningDelta d;
  while (step(true, d)) {
  }
  return d;
}

bool ReasoningParser::step(bool final, ReasoningDelta& d) {
  switch (state_) {
    case State::kStart: return step_start(final, d);
    case State::kReasoning: return step_reasoning(final, d);
    case State::kContent: return step_content(final, d);
    case State::kToolCalls: return step_tool_calls(final, d);
    case State::kToolCallHeader: return step_tool_call_header(final, d);
    case State::kToolCallName: return step_tool_call_name(final, d);
    case State::kToolCallArgs: return step_tool_call_args(final, d);
  }
  return false;
}

// Before any output: is the model opening <think> itself?
bool ReasoningParser::step_start(bool final, ReasoningDelta&) {
  std::string_view rest = buf_;
  while (!rest.empty() && is_ws(rest.front())) rest.remove_prefix(1);
  if (starts_with(rest, kThinkOpen)) {
    buf_.erase(0, buf_.size() - rest.size() + kThinkOpen.size());
    state_ = State::kReasoning;
    return true;
  }
  if (!final && is_prefix_of(rest, kThinkOpen)) return false;  // undecided
  state_ = State::kContent;
  return true;
}

bool ReasoningParser::step_reasoning(bool final, ReasoningDelta& d) {
  // Kimi may open its tool calls inside the reasoning, which ends it. (Other syntaxes look
  // for </think> twice: the marker lists are fixed.)
  const bool calls_end_it = opts_.parse_tool_calls && opts_.tool_syntax == ToolCallSyntax::kKimi;
  const ToolMarkers& m = markers_of(opts_.tool_syntax);
  const std::string_view calls_begin = calls_end_it ? m.calls_begin : kThinkClose;
  const std::string_view calls_begin_alt = calls_end_it ? m.calls_begin_alt : kThinkClose;
  std::string_view marker;
  size_t p = find_first(buf_, {kThinkClose, calls_begin, calls_begin_alt}, &marker);
  if (p != std::string::npos) {
    emit_reasoning(std::string_view(buf_).substr(0, p), d);
    reasoning_ws_.clear();  // trailing whitespace of the reasoning
    buf_.erase(0, p + marker.size());
    state_ = marker == kThinkClose ? State::kContent : State::kToolCalls;
    trim_content_ = true;
    return true;
  }
  size_t keep =
      final ? 0 : partial_marker_suffix(buf_, {kThinkClose, calls_begin, calls_begin_alt});
  if (!final) keep += incomplete_utf8_tail(std::string_view(buf_).substr(0, buf_.size() - keep));
  emit_reasoning(std::string_view(buf_).substr(0, buf_.size() - keep), d);
  buf_.erase(0, buf_.size() - keep);
  if (final) reasoning_ws_.clear();
  return false;
}

bool ReasoningParser::step_content(bool final, ReasoningDelta& d) {
  const ToolMarkers& m = markers_of(opts_.tool_syntax);
  if (opts_.parse_tool_calls) {
    std::string_view marker;
    size_t p = find_first(buf_, {m.calls_begin, m.calls_begin_alt, m.call_begin}, &marker);
    if (p != std::string::npos) {
      emit_content(std::string_view(buf_).substr(0, p), d);
      buf_.erase(0, p + marker.size());
      state_ = m.opens_section(marker) ? State::kToolCalls : State::kToolCallHeader;
      return true;
    }
  }
  size_t keep = 0;
  if (!final) {
    if (opts_.parse_tool_calls)
      keep = partial_marker_suffix(buf_, {m.calls_begin, m.calls_begin_alt, m.call_begin});
    keep += incomplete_utf8_tail(std::string_view(buf_).substr(0, buf_.size() - keep));
  }
  emit_content(std::string_view(buf_).substr(0, buf_.size() - keep), d);
  buf_.erase(0, buf_.size() - keep);
  return false;
}

// Between calls: another call_begin, or calls_end.
bool ReasoningParser::step_tool_calls(bool final, ReasoningDelta&) {
  const ToolMarkers& m = markers_of(opts_.tool_syntax);
  size_t i = 0;
  while (i < buf_.size() && is_ws(buf_[i])) ++i;
  std::string_view rest = std::string_view(buf_).substr(i);
  if (starts_with(rest, m.call_begin)) {
    buf_.erase(0, i + m.call_begin.size());
    state_ = State::kToolCallHeader;
    return true;
  }
  for (std::string_view calls_end : {m.calls_end, m.calls_end_alt}) {
    if (starts_with(rest, calls_end)) {
      buf_.erase(0, i + calls_end.size());
      state_ = State::kContent;
      trim_content_ = true;
      return true;
    }
  }
  if (!final && (is_prefix_of(rest, m.call_begin) || is_prefix_of(rest, m.calls_end) ||
                 is_prefix_of(rest, m.calls_end_alt))) {
    return false;
  }
  buf_.erase(0, i);  // anything else is content again
  state_ = State::kContent;
  return !buf_.empty();
}

// "function<｜tool▁sep｜>" (R1), "NAME<｜tool▁sep｜>" (V3.1) or
// "functions.NAME:INDEX<|tool_call_argument_begin|>" (Kimi).
bool ReasoningParser::step_tool_call_header(bool final, ReasoningDelta& d) {
  const std::string_view header_end = markers_of(opts_.tool_syntax).header_end;
  size_t p = buf_.find(header_end);
  if (p == std::string::npos) {
    if (!final) return false;
    if (!trim(buf_).empty()) start_tool_call(std::string(trim(buf_)), d);  // truncated mid-header
    buf_.clear();
    state_ = State::kContent;
    return false;
  }
  std::string header(trim(std::string_view(buf_).substr(0, p)));
  buf_.erase(0, p + header_end.size());
  if (opts_.tool_syntax == ToolCallSyntax::kDeepSeek && header == "function") {
    state_ = State::kToolCallName;
    return true;
  }
  start_tool_call(std::move(header), d);
  state_ = State::kToolCallArgs;
  args_start_ = true;
  return true;
}

// R1: the name runs to the end of the line.
bool ReasoningParser::step_tool_call_name(bool final, ReasoningDelta& d) {
  size_t p = buf_.find('\n');
  if (p == std::string::npos && !final) return false;
  if (p == std::string::npos) p = buf_.size();
  start_tool_call(std::string(trim(std::string_view(buf_).substr(0, p))), d);
  buf_.erase(0, std::min(buf_.size(), p + 1));
  state_ = State::kToolCallArgs;
  args_start_ = true;
  return !final || !buf_.empty();
}

bool ReasoningParser::step_tool_call_args(bool final, ReasoningDelta& d) {
  if (args_start_) {  // skip whitespace and an opening ```json line
    size_t i = 0;
    while (i < buf_.size() && is_ws(buf_[i])) ++i;
    std::string_view rest = std::string_view(buf_).substr(i);
    if (!final && (rest.empty() || (rest.size() < kFence.size() && is_prefix_of(rest, kFence)))) return false;
    if (starts_with(rest, kFence)) {
      size_t j = kFence.size();
      while (j < rest.size() && std::isalpha(static_cast<unsigned char>(rest[j]))) ++j;
      if (j == rest.size() && !final) return false;  // the fence line is not complete yet
      if (j < rest.size() && (rest[j] == '\n' || rest[j] == '\r')) {
        i += j + 1;
      }
    }
    buf_.erase(0, i);
    args_start_ = false;
  }
  const std::string_view call_end = markers_of(opts_.tool_syntax).call_end;
  size_t p = buf_.find(call_end);
  if (p != std::string::npos || final) {
    std::string_view args = std::string_view(buf_).substr(0, p == std::string::npos ? buf_.size() : p);
    emit_arguments(strip_closing_fence(args), d);
    buf_.erase(0, p == std::string::npos ? buf_.size() : p + call_end.size());
    state_ = State::kToolCalls;
    return p != std::string::npos;
  }
  size_t hold = buf_.size();
  for (size_t i = 0; i < buf_.size(); ++i) {
    char c = buf_[i];
    if ((is_ws(c) || c == '`' || c == call_end[0]) &&
        is_viable_args_tail(std::string_view(buf_).substr(i), call_end)) {
      hold = i;
      break;
    }
  }
  hold -= incomplete_utf8_tail(std::string_view(buf_).substr(0, hold));
  emit_arguments(std::string_view(buf_).substr(0, hold), d);
  buf_.erase(0, hold);
  return false;
}

void ReasoningParser::emit_reasoning(std::string_view text, ReasoningDelta& d) {
  if (!reasoning_started_) {
    while (!text.empty() && is_ws(text.front())) text.remove_prefix(1);
    if (text.empty()) return;
    reasoning_started_ = true;
  }
  size_t end = text.size();
  while (end > 0 && is_ws(text[end - 1])) --end;
  if (end == 0) {
    reasoning_ws_.append(text);
    return;
  }
  d.reasoning_content += reasoning_ws_;
  d.reasoning_content.append(text.substr(0, end));
  reasoning_ws_.assign(text.substr(end));
}

void ReasoningParser::emit_content(std::string_view text, ReasoningDelta& d) {
  if (trim_content_) {
    while (!text.empty() && is_ws(text.front())) text.remove_prefix(1);
    if (text.empty()) return;
    trim_content_ = false;
  }
  d.content.append(text);
}

// `header`: the name (DeepSeek), or Kimi's "functions.NAME:INDEX", which is also the id.
void ReasoningParser::start_tool_call(std::string header, ReasoningDelta& d) {
  ++tool_index_;
  ToolCallDelta call;
  call.index = tool_index_;
  if (opts_.tool_syntax == ToolCallSyntax::kKimi) {
    call.name = kimi_function_name(header);
    call.id = std::move(header);
  } else {
    call.id = opts_.tool_call_id_prefix + std::to_string(tool_index_);
    call.name = std::move(header);
  }
  d.tool_calls.push_back(std::move(call));
}

void ReasoningParser::emit_arguments(std::string_view text, ReasoningDelta& d) {
  if (text.empty() || tool_index_ < 0) return;
  if (d.tool_calls.empty() || d.tool_calls.back().index != tool_index_) {
    ToolCallDelta call;
    call.index = tool_index_;
    d.tool_calls.push_back(std::move(call));
  }
  d.tool_calls.back().arguments.append(text);
}

void ParsedMessage::append(const ReasoningDelta& d) {
  reasoning_content += d.reasoning_content;
  content += d.content;
  for (const ToolCallDelta& t : d.tool_calls) {
    if (t.index >= static_cast<int>(tool_calls.size())) tool_calls.resize(t.index + 1);
    ParsedToolCall& call = tool_calls[t.index];
    if (!t.id.empty()) call.id = t.id;
    if (!t.name.empty()) call.name = t.name;
    call.arguments += t.arguments;
  }
}

ParsedMessage parse_generated_text(std::string_view text, const ReasoningParserOptions& opts) {
  ReasoningParser parser(opts);
  ParsedMessage message;
  message.append(parser.feed(text));
  message.append(parser.finish());
  return message;
}

}  // namespace moe
