// libFuzzer target: the pre-tokenizers split any request text (also invalid UTF-8) into
// pieces that must cover it exactly, in order, with no empty piece. The first input byte
// picks the pre-tokenizer.
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string_view>
#include <vector>

#include "tokenizer/pretokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  constexpr moe::PreTokenizerKind kKinds[] = {
      moe::PreTokenizerKind::kDeepSeekV3, moe::PreTokenizerKind::kDeepSeekLlm,
      moe::PreTokenizerKind::kDeepSeekCoder, moe::PreTokenizerKind::kKimiK2};
  const moe::PreTokenizerKind kind = kKinds[data[0] % std::size(kKinds)];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  moe::PreTokenizerScratch scratch;
  std::vector<moe::Span> pieces;
  moe::pre_tokenize(kind, text, scratch, pieces);
  size_t at = 0;
  for (const moe::Span& s : pieces) {
    if (s.begin != at || s.end <= s.begin || s.end > text.size()) __builtin_trap();
    at = s.end;
  }
  if (at != text.size()) __builtin_trap();
  return 0;
}
