// The DeepSeek tokenizer: byte-level BPE (GPT-2 byte map) with the DeepSeek pre-tokenizers
// and special-token parsing, built from a GGUF file's `tokenizer.ggml.*` metadata.
//
//   encode: text -> [BOS] + for each stretch between special tokens: pre-tokenize, then
//           BPE each piece (cached per word) ; special tokens -> their ids [+ EOS]
//   decode: ids -> bytes (normal tokens through the inverse byte map; user-defined tokens
//           as written; control tokens as written only when rendering specials)
//
// A Tokenizer is immutable and cheap to copy (shared state): share one across threads.
// Per-caller working memory, including the word cache, lives in an EncodeScratch.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tokenizer/bpe.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/special_tokens.h"

namespace moe {

class GgufMetadata;
class GgufModel;

// GGUF `tokenizer.ggml.token_type` values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  kUndefined = 0,
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

// Everything a tokenizer is built from, as plain data (GGUF `tokenizer.ggml.*`).
struct VocabData {
  std::string model = "gpt2";       // tokenizer.ggml.model
  std::string pre = "deepseek-v3";  // tokenizer.ggml.pre
  std::vector<std::string> tokens;  // tokenizer.ggml.tokens, byte-map spelled
  std::vector<int32_t> token_types; // tokenizer.ggml.token_type (empty: all normal)
  std::vector<std::string> merges;  // tokenizer.ggml.merges, "left right", by rank
  TokenId bos_id = kNoToken;
  TokenId eos_id = kNoToken;
  TokenId pad_id = kNoToken;
  TokenId eot_id = kNoToken;  // tokenizer.ggml.eot_token_id (end of turn), when present
  TokenId eom_id = kNoToken;  // tokenizer.ggml.eom_token_id (end of message), when present
  bool add_bos = false;  // tokenizer.ggml.add_bos_token
  bool add_eos = false;  // tokenizer.ggml.add_eos_token
};

struct EncodeOptions {
  bool add_bos = false;
  bool add_eos = false;
  SpecialParsing special = SpecialParsing::kAll;
};

// Working memory for encode(): reuse one per thread to avoid allocation and keep the
// word cache warm. (Used with another tokenizer, its cache is cleared first.)
struct EncodeScratch {
  PreTokenizerScratch pre;
  std::vector<Span> pieces;
  BpeScratch bpe;
  BpeCache cache;
  const void* cache_owner = nullptr;  // the tokenizer state the cache belongs to
};

class Tokenizer {
 public:
  // Validates `data` (token ids in range, merges naming existing tokens, ...).
  static Result<Tokenizer> create(const VocabData& data);

  size_t n_vocab() const;
  TokenId bos_id() const;
  TokenId eos_id() const;
  TokenId pad_id() const;
  bool add_bos_token() const;  // what the model's metadata asks for
  bool add_eos_token() const;
  PreTokenizerKind pre_tokenizer() const;
  // Whether generating `id` ends the answer: EOS, the end-of-turn / end-of-message tokens the
  // metadata names, and the control token <|im_end|> (Kimi-K2 ends its turns with it; its
  // files may name [EOS] as EOS).
  bool ends_generation(TokenId id) const;

  bool is_valid(TokenId id) const { return id >= 0 && static_cast<size_t>(id) < n_vocab(); }
  TokenType token_type(TokenId id) const;    // kUndefined for an invalid id
  std::string_view token_text(TokenId id) const;  // as spelled in the vocab ("Ġthe")
  std::optional<TokenId> find_token(std::string_view text) const;  // by vocab spelling

  // Text -> ids. Any bytes are accepted (invalid UTF-8 is encoded byte by byte) and
  // decode() gives them back.
  std::vector<TokenId> encode(std::string_view text, bool add_bos,
                              SpecialParsing special = SpecialParsing::kAll) const;
  // Appends to `out`.
  void encode(std::string_view text, const EncodeOptions& options, EncodeScratch& scratch,
              std::vector<TokenId>& out) const;

  // The bytes of one token (may be part of a UTF-8 character). Control tokens give their
  // text only with `render_special`; unused/unknown and invalid ids give nothing.
  std::string_view token_to_piece(TokenId id, bool render_special = true) const;
  // The concatenated bytes of `ids` (not necessarily valid UTF-8 when cut mid-character).
  std::string decode(std::span<const TokenId> ids, bool render_special = true) const;

 private:
  struct State;
  explicit Tokenizer(std::shared_ptr<const State> state) : state_(std::move(state)) {}
  void encode_text(std::string_view text, EncodeScratch& scratch,
                   std::vector<TokenId>& out) const;
  void encode_chunk(std::string_view text, EncodeScratch& scratch,
                    std::vector<TokenId>& out) const;

  std::shared_ptr<const State> state_;
};

// Decodes a token stream into text that is always valid UTF-8: holds back the bytes of a
// character until it is complete, and replaces bytes that cannot form one with U+FFFD.
class StreamingDecoder {
 public:
  explicit StreamingDecoder(Tokenizer tokenizer, bool render_special = false)
      : tokenizer_(std::move(tokenizer)), render_special_(render_special) {}

  // Appends the text that is complete after `id` to `out`.
  void push(TokenId id, std::string& out);
  std::string push(TokenId id) {
    std::string out;
    push(id, out);
    return out;
  }
  // Raw bytes (e.g. from another source), same rules.
  void push_bytes(std::string_view bytes, std::string& out);
  // End of stream: an incomplete trailing character becomes U+FFFD.
  void flush(std::string& out);
  std::string flush() {
    std::string out;
    flush(out);
    return out;
  }
  size_t pending_bytes() const { return pending_.size(); }

 private:
  Tokenizer tokenizer_;  // shares the vocabulary
  bool render_special_;
  std::string pending_;  // an incomplete UTF-8 prefix, at most 3 bytes
};

// Reads `tokenizer.ggml.*` from GGUF metadata into plain data (strings copied).
Result<VocabData> read_vocab_data(const GgufMetadata& metadata);
Result<Tokenizer> load_tokenizer(const GgufMetadata& metadata);
Result<Tokenizer> load_tokenizer(const GgufModel& model);

}  // namespace moe
