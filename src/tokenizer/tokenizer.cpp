#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <array>
#include <functional>
#include <limits>
#include <unordered_map>

#include "tokenizer/byte_map.h"

namespace moe {

struct Tokenizer::State {
  PreTokenizerKind pre = PreTokenizerKind::kDeepSeekV3;
  TokenId bos_id = kNoToken;
  TokenId eos_id = kNoToken;
  TokenId pad_id = kNoToken;
  bool add_bos = true;
  bool add_eos = false;
  std::vector<TokenId> end_ids;  // ends_generation()

  // Token texts as spelled in the vocab, and their decoded bytes, in flat buffers.
  std::vector<char> text;
  std::vector<uint32_t> text_offsets;  // n_vocab + 1
  std::vector<char> bytes;
  std::vector<uint32_t> bytes_offsets;  // n_vocab + 1
  std::vector<TokenType> types;
  std::unordered_map<std::string_view, TokenId> by_text;  // views into `text`

  std::array<TokenId, 256> byte_tokens{};
  BpeMergeTable merges;
  SpecialTokenMatcher special;

  std::string_view text_of(TokenId id) const {
    return {text.data() + text_offsets[id], text_offsets[id + 1] - text_offsets[id]};
  }
  std::string_view bytes_of(TokenId id) const {
    return {bytes.data() + bytes_offsets[id], bytes_offsets[id + 1] - bytes_offsets[id]};
  }
};

namespace {

bool valid_type(int32_t t) { return t >= 0 && t <= 6; }

// "<0x0A>" -> 0x0A, or -1.
int parse_byte_token(std::string_view s) {
  if (s.size() != 6 || s.substr(0, 3) != "<0x" || s[5] != '>') return -1;
  int value = 0;
  for (char ch : s.substr(3, 2)) {
    int d = -1;
    if (ch >= '0' && ch <= '9') d = ch - '0';
    if (ch >= 'A' && ch <= 'F') d = ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f') d = ch - 'a' + 10;
    if (d < 0) return -1;
    value = value * 16 + d;
  }
  return value;
}

Status check_id(TokenId id, size_t n_vocab, const char* key) {
  if (id == kNoToken || (id >= 0 && static_cast<size_t>(id) < n_vocab)) return Status::ok();
  return Status::error(std::string("tokenizer.ggml.") + key + ": id " + std::to_string(id) +
                       " is outside the vocabulary of " + std::to_string(n_vocab) + " tokens");
}

}  // namespace

Result<Tokenizer> Tokenizer::create(const VocabData& data) {
  if (data.model != "gpt2") {
    return Status::error("tokenizer.ggml.model: expected 'gpt2' (byte-level BPE), found '" +
                         data.model + "'");
  }
  MOE_ASSIGN_OR_RETURN(const PreTokenizerKind pre, pre_tokenizer_from_name(data.pre));
  const size_t n_vocab = data.tokens.size();
  if (n_vocab == 0) return Status::error("tokenizer.ggml.tokens: empty vocabulary");
  if (n_vocab >= static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    return Status::error("tokenizer.ggml.tokens: " + std::to_string(n_vocab) + " tokens");
  }
  if (!data.token_types.empty() && data.token_types.size() != n_vocab) {
    return Status::error("tokenizer.ggml.token_type: " + std::to_string(data.token_types.size()) +
                         " entries, expected one per token (" + std::to_string(n_vocab) + ")");
  }
  MOE_RETURN_IF_ERROR(check_id(data.bos_id, n_vocab, "bos_token_id"));
  MOE_RETURN_IF_ERROR(check_id(data.eos_id, n_vocab, "eos_token_id"));
  MOE_RETURN_IF_ERROR(check_id(data.pad_id, n_vocab, "padding_token_id"));
  MOE_RETURN_IF_ERROR(check_id(data.eot_id, n_vocab, "eot_token_id"));
  MOE_RETURN_IF_ERROR(check_id(data.eom_id, n_vocab, "eom_token_id"));
  if (data.add_bos && data.bos_id == kNoToken) {
    return Status::error("tokenizer.ggml.add_bos_token is set but there is no bos_token_id");
  }
  if (data.add_eos && data.eos_id == kNoToken) {
    return Status::error("tokenizer.ggml.add_eos_token is set but there is no eos_token_id");
  }

  auto state = std::make_shared<State>();
  State& s = *state;
  s.pre = pre;
  s.bos_id = data.bos_id;
  s.eos_id = data.eos_id;
  s.pad_id = data.pad_id;
  s.add_bos = data.add_bos;
  s.add_eos = data.add_eos;

  const ByteMap byte_map;
  s.types.resize(n_vocab, TokenType::kNormal);
  s.text_offsets.reserve(n_vocab + 1);
  s.bytes_offsets.reserve(n_vocab + 1);
  s.text_offsets.push_back(0);
  s.bytes_offsets.push_back(0);
  std::string decoded;
  for (size_t id = 0; id < n_vocab; ++id) {
    const std::string& t = data.tokens[id];
    if (!data.token_types.empty()) {
      if (!valid_type(data.token_types[id])) {
        return Status::error("tokenizer.ggml.token_type[" + std::to_string(id) + "]: " +
                             std::to_string(data.token_types[id]) + " is not a token type (0..6)");
      }
      s.types[id] = static_cast<TokenType>(data.token_types[id]);
    }
    s.text.insert(s.text.end(), t.begin(), t.end());
    if (s.text.size() >= std::numeric_limits<uint32_t>::max() / 2) {
      return Status::error("tokenizer.ggml.tokens: token texts exceed 2 GiB");
    }
    s.text_offsets.push_back(static_cast<uint32_t>(s.text.size()));
    // Decoded bytes.
    decoded.clear();
    switch (s.types[id]) {
      case TokenType::kNormal:
      case TokenType::kUndefined:
        byte_map.decode(t, decoded);  // unmapped characters pass through as written
        break;
      case TokenType::kByte: {
        const int b = parse_byte_token(t);
        if (b >= 0) decoded.push_back(static_cast<char>(b));
        break;
      }
      case TokenType::kControl:
      case TokenType::kUserDefined:
        decoded = t;
        break;
      case TokenType::kUnknown:
      case TokenType::kUnused:
        break;
    }
    s.bytes.insert(s.bytes.end(), decoded.begin(), decoded.end());
    s.bytes_offsets.push_back(static_cast<uint32_t>(s.bytes.size()));
  }
  s.by_text.reserve(n_vocab);
  for (size_t id = 0; id < n_vocab; ++id) {
    s.by_text.emplace(s.text_of(static_cast<TokenId>(id)), static_cast<TokenId>(id));
  }

  // The token spelling each single byte.
  std::string spelled;
  for (int b = 0; b < 256; ++b) {
    spelled = byte_map.encode(std::string_view(reinterpret_cast<const char*>(&b), 1));
    auto it = s.by_text.find(spelled);
    s.byte_tokens[b] = it == s.by_text.end() ? kNoToken : it->second;
  }

  // Merges: "left right" -> (left id, right id) -> merged id, rank = position.
  s.merges.reserve(data.merges.size());
  for (size_t rank = 0; rank < data.merges.size(); ++rank) {
    const std::string& m = data.merges[rank];
    const size_t space = m.find(' ', 1);
    auto bad = [&](const std::string& why) {
      return Status::error("tokenizer.ggml.merges[" + std::to_string(rank) + "] '" + m + "': " + why);
    };
    if (space == std::string::npos) return bad("expected 'left right'");
    const std::string_view left(m.data(), space);
    const std::string_view right(m.data() + space + 1, m.size() - space - 1);
    const auto l = s.by_text.find(left);
    const auto r = s.by_text.find(right);
    if (l == s.by_text.end() || r == s.by_text.end()) return bad("names a token not in the vocabulary");
    std::string joined(left);
    joined += right;
    const auto merged = s.by_text.find(joined);
    if (merged == s.by_text.end()) return bad("the merged token is not in the vocabulary");
    s.merges.insert(l->second, r->second, static_cast<int32_t>(rank), merged->second);
  }

  // Special tokens: control, user-defined and unknown.
  for (size_t id = 0; id < n_vocab; ++id) {
    const TokenType t = s.types[id];
    if (t == TokenType::kControl || t == TokenType::kUnknown || t == TokenType::kUserDefined) {
      s.special.add(s.text_of(static_cast<TokenId>(id)), static_cast<TokenId>(id),
                    t != TokenType::kUserDefined);
    }
  }
  for (TokenId id : {data.eos_id, data.eot_id, data.eom_id}) {
    if (id != kNoToken) s.end_ids.push_back(id);
  }
  if (auto it = s.by_text.find("<|im_end|>");
      it != s.by_text.end() && s.types[it->second] == TokenType::kControl) {
    s.end_ids.push_back(it->second);
  }
  return Tokenizer(std::move(state));
}

bool Tokenizer::ends_generation(TokenId id) const {
  return std::find(state_->end_ids.begin(), state_->end_ids.end(), id) != state_->end_ids.end();
}

size_t Tokenizer::n_vocab() const { return state_->types.size(); }
TokenId Tokenizer::bos_id() const { return state_->bos_id; }
TokenId Tokenizer::eos_id() const { return state_->eos_id; }
TokenId Tokenizer::pad_id() const { return state_->pad_id; }
bool Tokenizer::add_bos_token() const { return state_->add_bos; }
bool Tokenizer::add_eos_token() const { return state_->add_eos; }
PreTokenizerKind Tokenizer::pre_tokenizer() const { return state_->pre; }

TokenType Tokenizer::token_type(TokenId id) const {
  return is_valid(id) ? state_->types[id] : TokenType::kUndefined;
}

std::string_view Tokenizer::token_text(TokenId id) const {
  return is_valid(id) ? state_->text_of(id) : std::string_view();
}

std::optional<TokenId> Tokenizer::find_token(std::string_view text) const {
  auto it = state_->by_text.find(text);
  if (it == state_->by_text.end()) return std::nullopt;
  return it->second;
}

std::vector<TokenId> Tokenizer::encode(std::string_view text, bool add_bos,
                                       SpecialParsing special) const {
  EncodeScratch scratch;
  std::vector<TokenId> out;
  out.reserve(text.size() / 3 + 2);
  encode(text, EncodeOptions{add_bos, false, special}, scratch, out);
  return out;
}

void Tokenizer::encode(std::string_view text, const EncodeOptions& options,
                       EncodeScratch& scratch, std::vector<TokenId>& out) const {
  const State& s = *state_;
  if (scratch.cache_owner != state_.get()) {
    scratch.cache.clear();
    scratch.cache_owner = state_.get();
  }
  if (options.add_bos && s.bos_id != kNoToken) out.push_back(s.bos_id);
  size_t fragment = 0;
  if (options.special != SpecialParsing::kNone && s.special.size() > 0) {
    for (size_t pos = 0; pos < text.size();) {
      if (!s.special.may_start(static_cast<uint8_t>(text[pos]))) {
        ++pos;
        continue;
      }
      const SpecialTokenMatcher::Match m = s.special.match_at(text, pos, options.special);
      if (m.len == 0) {
        ++pos;
        continue;
      }
      encode_text(text.substr(fragment, pos - fragment), scratch, out);
      out.push_back(m.id);
      pos += m.len;
      fragment = pos;
    }
  }
  encode_text(text.substr(fragment), scratch, out);
  if (options.add_eos && s.eos_id != kNoToken) out.push_back(s.eos_id);
}

namespace {

// Where long text may be cut into independently encoded chunks: after a '\n' followed by
// an ASCII letter. No match of any DeepSeek pre-tokenizer step crosses such a point (the
// newline ends a `\s*[\r\n]+` match, or is isolated by `[\r\n]`, and the letter cannot
// be glued to what precedes it), and every pattern looks only forward, so the pieces are
// those of the whole text. Returns 0 when there is no such point at or after `from`.
size_t find_chunk_boundary(std::string_view text, size_t from) {
  while (from < text.size()) {
    const size_t nl = text.find('\n', from);
    if (nl == std::string_view::npos || nl + 1 >= text.size()) return 0;
    const char next = static_cast<char>(text[nl + 1] | 0x20);
    if (next >= 'a' && next <= 'z') return nl + 1;
    from = nl + 1;
  }
  return 0;
}

}  // namespace

void Tokenizer::encode_text(std::string_view text, EncodeScratch& scratch,
                            std::vector<TokenId>& out) const {
  // Chunking bounds the scratch memory and keeps it in cache.
  constexpr size_t kChunkBytes = 32 * 1024;
  while (text.size() > 2 * kChunkBytes) {
    const size_t cut = find_chunk_boundary(text, kChunkBytes);
    if (cut == 0) break;
    encode_chunk(text.substr(0, cut), scratch, out);
    text.remove_prefix(cut);
  }
  encode_chunk(text, scratch, out);
}

void Tokenizer::encode_chunk(std::string_view text, EncodeScratch& scratch,
                             std::vector<TokenId>& out) const {
  if (text.empty()) return;
  const State& s = *state_;
  scratch.pieces.clear();
  pre_tokenize(s.pre, text, scratch.pre, scratch.pieces);
  const std::hash<std::string_view> hasher;
  for (const Span& piece : scratch.pieces) {
    const std::string_view word = text.substr(piece.begin, piece.end - piece.begin);
    if (word.size() == 1) {  // one byte: no merges possible
      const TokenId id = s.byte_tokens[static_cast<uint8_t>(word[0])];
      if (id != kNoToken) out.push_back(id);
      continue;
    }
    if (word.size() > BpeCache::kMaxWordBytes) {
      bpe_encode_word(word, s.byte_tokens, s.merges, scratch.bpe, out);
      continue;
    }
    const size_t hash = hasher(word);
    if (scratch.cache.lookup(word, hash, out)) continue;
    const size_t first = out.size();
    bpe_encode_word(word, s.byte_tokens, s.merges, scratch.bpe, out);
    scratch.cache.insert(word, hash, out.data() + first, out.size() - first);
  }
}

std::string_view Tokenizer::token_to_piece(TokenId id, bool render_special) const {
  if (!is_valid(id)) return {};
  if (!render_special && state_->types[id] == TokenType::kControl) return {};
  return state_->bytes_of(id);
}

std::string Tokenizer::decode(std::span<const TokenId> ids, bool render_special) const {
  std::string out;
  for (TokenId id : ids) out.append(token_to_piece(id, render_special));
  return out;
}

}  // namespace moe
