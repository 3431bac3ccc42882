#include "llm/tokenizer_gguf.h"

namespace lucid::llm {
namespace {

Status Optional(const GgufFile& f, std::string_view key, int32_t& out) {
  if (f.Find(key) == nullptr) return Status::Ok();
  ASSIGN_OR_RETURN(uint32_t v, f.GetU32(key));
  out = static_cast<int32_t>(v);
  return Status::Ok();
}

Status OptionalBool(const GgufFile& f, std::string_view key, int& out) {
  if (f.Find(key) == nullptr) return Status::Ok();
  ASSIGN_OR_RETURN(bool v, f.GetBool(key));
  out = v ? 1 : 0;
  return Status::Ok();
}

}  // namespace

Result<Vocabulary> VocabularyFromGguf(const GgufFile& f) {
  Vocabulary v;
  ASSIGN_OR_RETURN(std::string_view model, f.GetString("tokenizer.ggml.model"));
  v.model = std::string(model);
  if (f.Find("tokenizer.ggml.pre") != nullptr) {
    ASSIGN_OR_RETURN(std::string_view pre, f.GetString("tokenizer.ggml.pre"));
    v.pre = std::string(pre);
  } else if (v.model == "gpt2") {
    v.pre = "gpt-2";  // llama.cpp warns and uses its default; we take GPT-2's own expression
  }
  ASSIGN_OR_RETURN(std::vector<std::string_view> tokens, f.GetStringArray("tokenizer.ggml.tokens"));
  v.tokens.assign(tokens.begin(), tokens.end());
  if (f.Find("tokenizer.ggml.scores") != nullptr) {
    ASSIGN_OR_RETURN(v.scores, f.GetF32Array("tokenizer.ggml.scores"));
  }
  if (f.Find("tokenizer.ggml.token_type") != nullptr) {
    ASSIGN_OR_RETURN(std::vector<int64_t> types, f.GetIntArray("tokenizer.ggml.token_type"));
    v.token_types.reserve(types.size());
    for (int64_t t : types) v.token_types.push_back(static_cast<int32_t>(t));
  }
  if (f.Find("tokenizer.ggml.merges") != nullptr) {
    ASSIGN_OR_RETURN(std::vector<std::string_view> merges, f.GetStringArray("tokenizer.ggml.merges"));
    v.merges.assign(merges.begin(), merges.end());
  }
  RETURN_IF_ERROR(Optional(f, "tokenizer.ggml.bos_token_id", v.bos_id));
  RETURN_IF_ERROR(Optional(f, "tokenizer.ggml.eos_token_id", v.eos_id));
  RETURN_IF_ERROR(Optional(f, "tokenizer.ggml.unknown_token_id", v.unk_id));
  RETURN_IF_ERROR(Optional(f, "tokenizer.ggml.padding_token_id", v.pad_id));
  RETURN_IF_ERROR(Optional(f, "tokenizer.ggml.eot_token_id", v.eot_id));
  RETURN_IF_ERROR(OptionalBool(f, "tokenizer.ggml.add_bos_token", v.add_bos));
  RETURN_IF_ERROR(OptionalBool(f, "tokenizer.ggml.add_eos_token", v.add_eos));
  RETURN_IF_ERROR(OptionalBool(f, "tokenizer.ggml.add_space_prefix", v.add_space_prefix));
  if (f.Find("tokenizer.chat_template") != nullptr) {
    ASSIGN_OR_RETURN(std::string_view t, f.GetString("tokenizer.chat_template"));
    v.chat_template = std::string(t);
  }
  return v;
}

}  // namespace lucid::llm
