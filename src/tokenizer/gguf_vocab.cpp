// GGUF -> VocabData: the `tokenizer.ggml.*` keys (llama.cpp's names).
#include <algorithm>

#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace moe {
namespace {

Result<std::vector<std::string>> read_strings(const GgufMetadata& md, std::string_view key,
                                              bool required) {
  MOE_ASSIGN_OR_RETURN(const std::vector<GgufValue>* items, md.get_array(key, GgufType::STRING));
  std::vector<std::string> out;
  if (items == nullptr) {
    if (required) return Status::error(std::string(key) + ": missing");
    return out;
  }
  out.reserve(items->size());
  for (const GgufValue& v : *items) out.emplace_back(v.str);
  return out;
}

Result<TokenId> read_token_id(const GgufMetadata& md, std::string_view key) {
  MOE_ASSIGN_OR_RETURN(const std::optional<uint64_t> v, md.get_uint(key));
  if (!v) return kNoToken;
  if (*v > 0x7FFFFFFF) return Status::error(std::string(key) + ": " + std::to_string(*v) + " is not a token id");
  return static_cast<TokenId>(*v);
}

}  // namespace

Result<VocabData> read_vocab_data(const GgufMetadata& md) {
  VocabData data;
  MOE_ASSIGN_OR_RETURN(const std::optional<std::string_view> model,
                       md.get_string("tokenizer.ggml.model"));
  if (!model) return Status::error("tokenizer.ggml.model: missing");
  data.model = std::string(*model);
  MOE_ASSIGN_OR_RETURN(const std::optional<std::string_view> pre,
                       md.get_string("tokenizer.ggml.pre"));
  if (!pre) return Status::error("tokenizer.ggml.pre: missing");
  data.pre = std::string(*pre);
  MOE_ASSIGN_OR_RETURN(data.tokens, read_strings(md, "tokenizer.ggml.tokens", true));
  MOE_ASSIGN_OR_RETURN(data.merges, read_strings(md, "tokenizer.ggml.merges", true));

  const char* kTypes = "tokenizer.ggml.token_type";
  const GgufValue* types = md.find(kTypes);
  if (types != nullptr) {
    if (!types->is_array()) return Status::error(std::string(kTypes) + ": not an array");
    data.token_types.reserve(types->items.size());
    for (const GgufValue& v : types->items) {
      if (!v.is_integer()) return Status::error(std::string(kTypes) + ": expected integers");
      const bool is_signed = v.type == GgufType::INT8 || v.type == GgufType::INT16 ||
                             v.type == GgufType::INT32 || v.type == GgufType::INT64;
      const int64_t t = is_signed ? v.i : static_cast<int64_t>(std::min<uint64_t>(v.u, 1000));
      if (t < 0 || t > 6) {
        return Status::error(std::string(kTypes) + ": " + std::to_string(t) +
                             " is not a token type (0..6)");
      }
      data.token_types.push_back(static_cast<int32_t>(t));
    }
  }

  MOE_ASSIGN_OR_RETURN(data.bos_id, read_token_id(md, "tokenizer.ggml.bos_token_id"));
  MOE_ASSIGN_OR_RETURN(data.eos_id, read_token_id(md, "tokenizer.ggml.eos_token_id"));
  MOE_ASSIGN_OR_RETURN(data.pad_id, read_token_id(md, "tokenizer.ggml.padding_token_id"));
  MOE_ASSIGN_OR_RETURN(data.eot_id, read_token_id(md, "tokenizer.ggml.eot_token_id"));
  MOE_ASSIGN_OR_RETURN(data.eom_id, read_token_id(md, "tokenizer.ggml.eom_token_id"));
  MOE_ASSIGN_OR_RETURN(const std::optional<bool> add_bos,
                       md.get_bool("tokenizer.ggml.add_bos_token"));
  MOE_ASSIGN_OR_RETURN(const std::optional<bool> add_eos,
                       md.get_bool("tokenizer.ggml.add_eos_token"));
  // Absent: add BOS when the model has one (llama.cpp's default for BPE vocabularies).
  data.add_bos = add_bos.value_or(data.bos_id != kNoToken);
  data.add_eos = add_eos.value_or(false);
  return data;
}

Result<Tokenizer> load_tokenizer(const GgufMetadata& metadata) {
  MOE_ASSIGN_OR_RETURN(const VocabData data, read_vocab_data(metadata));
  return Tokenizer::create(data);
}

Result<Tokenizer> load_tokenizer(const GgufModel& model) {
  Result<Tokenizer> t = load_tokenizer(model.metadata());
  if (!t.is_ok()) return t.status().with_context(model.files().front().path);
  return t;
}

}  // namespace moe
