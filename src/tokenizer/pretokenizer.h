// Pre-tokenizers: split text into the pieces ("words") that BPE encodes independently.
//
// Each DeepSeek pre-tokenizer is a sequence of regex Split steps with behavior "Isolated":
// a step finds the leftmost-first, non-overlapping matches of its pattern in every piece
// the previous step left (matches and the stretches between them alike) and makes each
// match and each non-empty stretch between matches its own piece. A pattern never sees past
// the end of its piece (lookaheads and `$` stop there).
//
// deepseek-v3 (DeepSeek-V3/R1 tokenizer.json; tests/data/deepseek-v3-pretokenizer.json):
//   1. \p{N}{1,3}
//   2. [一-龥\u3040-ゟ゠-ヿ]+
//   3. [!"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~][A-Za-z]+|[^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+|
//      ?[\p{P}\p{S}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
// deepseek-llm (DeepSeek-LLM / V2; llama.cpp's LLAMA_VOCAB_PRE_TYPE_DEEPSEEK_LLM):
//   1. [\r\n]   2. \s?[A-Za-zµÀ-ÖØ-ö... cased letters]+   3. \s?[!-/:-~！-／：-～‘-‟　-。]+
//   4. \s+$     5. [一-龥ࠀ-一가-퟿]+   6. \p{N}+
// deepseek-coder:
//   1. [\r\n]   2. \s?\p{L}+   3. \s?\p{P}+   4. [一-龥ࠀ-一가-퟿]+   5. \p{N}
// kimi-k2 (Kimi-K2 and Moonlight: tiktoken's pat_str in their tokenization_kimi.py, one step;
// tests/data/kimi-k2-pretokenizer.json), with U = [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]],
// L = [\p{Ll}\p{Lm}\p{Lo}\p{M}&&[^\p{Han}]] and C = (?i:'s|'t|'re|'ve|'m|'ll|'d):
//   [\p{Han}]+|[^\r\n\p{L}\p{N}]?U*L+C?|[^\r\n\p{L}\p{N}]?U+L*C?|\p{N}{1,3}
//   | ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// Patterns are matched by hand-written matchers (no std::regex); each states the
// backtracking result of its alternative in closed form. Invalid UTF-8 bytes are single
// characters of no class (see unicode.h), so every byte of the input lands in some piece.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace moe {

enum class PreTokenizerKind : uint8_t {
  kDeepSeekV3,     // "deepseek-v3"
  kDeepSeekLlm,    // "deepseek-llm"
  kDeepSeekCoder,  // "deepseek-coder"
  kKimiK2,         // "kimi-k2" (Kimi-K2, Moonlight)
};

// From GGUF `tokenizer.ggml.pre`.
Result<PreTokenizerKind> pre_tokenizer_from_name(std::string_view name);
std::string_view pre_tokenizer_name(PreTokenizerKind kind);

// A half-open range [begin, end) of the text (bytes) or of its characters.
struct Span {
  size_t begin = 0;
  size_t end = 0;
};

// Reusable buffers: splitting allocates nothing once these have grown.
struct PreTokenizerScratch {
  std::vector<uint32_t> cps;     // code point per character (kInvalidCodePoint for bad bytes)
  std::vector<uint16_t> flags;   // unicode_flags per character
  std::vector<size_t> offsets;   // byte offset per character, plus the text size
  std::vector<Span> pieces;      // in characters
  std::vector<Span> next;        // in characters
};

// Splits `text` into pieces, appended to `out` as byte ranges of `text`, in order; together
// they cover `text` exactly.
void pre_tokenize(PreTokenizerKind kind, std::string_view text, PreTokenizerScratch& scratch,
                  std::vector<Span>& out);

// Convenience for tests and tools: the pieces as strings.
std::vector<std::string> pre_tokenize(PreTokenizerKind kind, std::string_view text);

}  // namespace moe
