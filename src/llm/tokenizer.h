// Tokenizers from GGUF metadata, as llama.cpp reads them (docs/llm.md, "Tokenizers"):
//  - "gpt2": byte-level BPE (GPT-2, SmolLM2, Qwen2, Llama-3): bytes mapped to printable
//    code points, a pre-tokenizer that splits text by Unicode categories (hand-written per
//    `pre` type; categories from ICU), merges applied by rank.
//  - "llama": SentencePiece BPE (scores, U+2581 for spaces, <0xNN> byte fallback).
// Special tokens (control, unknown and user-defined types) are split out of the text first.
// The vocabulary is plain data (Vocabulary) so it can come from a GGUF file
// (VocabularyFromGguf, tokenizer_gguf.h) or be written by hand in tests.
// Differences from llama.cpp, on purpose: invalid UTF-8 is kept byte for byte (llama.cpp
// replaces it with U+FFFD), so Decode(Encode(x)) == x for every byte string x (SentencePiece:
// every x without U+2581, the character that stands for a space there).
// Thread-safety: a built Tokenizer is immutable; const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace lucid::llm {

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  kUndefined = 0, kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6,
};

struct Vocabulary {
  std::string model;                 // tokenizer.ggml.model: "gpt2" or "llama"
  std::string pre;                   // tokenizer.ggml.pre: "smollm", "qwen2", "llama-bpe", "gpt2", ...
  std::vector<std::string> tokens;   // tokenizer.ggml.tokens
  std::vector<float> scores;         // tokenizer.ggml.scores (llama; may be empty for gpt2)
  std::vector<int32_t> token_types;  // tokenizer.ggml.token_type (empty: all normal)
  std::vector<std::string> merges;   // tokenizer.ggml.merges, "left right" (gpt2)
  int32_t bos_id = -1, eos_id = -1, unk_id = -1, pad_id = -1, eot_id = -1;
  int add_bos = -1;           // tokenizer.ggml.add_bos_token: -1 absent (model default), 0, 1
  int add_eos = -1;
  int add_space_prefix = -1;  // tokenizer.ggml.add_space_prefix (llama default: 1)
  std::string chat_template;  // tokenizer.chat_template (may be empty)
};

class Tokenizer {
 public:
  // Checks the vocabulary (kinds, sizes, ids in range, merges naming tokens).
  // kUnimplemented for an unknown model or pre-tokenizer type.
  static Result<std::unique_ptr<Tokenizer>> Create(Vocabulary vocab);

  // Token ids of `text`. add_special: prepend BOS (and append EOS) as the vocabulary asks.
  // parse_special: control tokens written in the text (e.g. "<|im_start|>") become their ids;
  // otherwise they are tokenized as plain text. User-defined tokens are always split out.
  std::vector<int32_t> Encode(std::string_view text, bool add_special, bool parse_special) const;

  // The bytes of one token. Control and unknown tokens give their text only when render_special.
  std::string TokenBytes(int32_t id, bool render_special) const;
  // The bytes of a sequence (for SentencePiece, the leading space added by add_space_prefix
  // is removed from the first piece, as llama.cpp's detokenize does).
  std::string Decode(const std::vector<int32_t>& ids, bool render_special) const;

  const Vocabulary& vocab() const { return vocab_; }
  int32_t size() const { return static_cast<int32_t>(vocab_.tokens.size()); }
  int32_t bos_id() const { return vocab_.bos_id; }
  int32_t eos_id() const { return vocab_.eos_id; }
  bool add_bos() const { return add_bos_; }
  bool is_gpt2() const { return gpt2_; }
  // End of generation: eos, eot, or a control token named <|im_end|>, <|eot_id|>, <|end|>.
  bool IsEndOfGeneration(int32_t id) const;
  // The id of an exact token text, or -1.
  int32_t Find(std::string_view text) const;

 private:
  Tokenizer() = default;
  Status Init();
  void EncodeText(std::string_view text, std::vector<int32_t>& out) const;
  void EncodeBpeWord(std::string_view word, std::vector<int32_t>& out) const;
  void EncodeSpm(std::string_view text, std::vector<int32_t>& out) const;
  int32_t TokenType(int32_t id) const;

  Vocabulary vocab_;
  bool gpt2_ = false;
  bool add_bos_ = false, add_eos_ = false, add_space_prefix_ = false;
  int pre_kind_ = 0;
  bool ignore_merges_ = false;
  std::unordered_map<std::string, int32_t> index_;
  std::unordered_map<std::string, int32_t> merge_rank_;  // "left right" -> rank
  std::vector<int32_t> specials_;                        // longest text first
  int32_t byte_tokens_[256];                             // llama: <0xNN> ids (-1 absent)
};

// Splits text into pre-tokenizer words (byte ranges) the way llama.cpp does for `pre`
// ("gpt2", "smollm", "qwen2", "llama3"); exposed for tests. Returns false for an unknown pre.
bool PreTokenize(std::string_view pre, std::string_view text, std::vector<std::string_view>& words);

// GPT-2's byte -> code point map (printable bytes map to themselves; others to U+0100...).
uint32_t ByteToCodepoint(uint8_t b);

// Streaming detokenizer: feeds token bytes and returns only complete UTF-8; a partial
// multi-byte sequence at the end is held back until its remaining bytes arrive. Invalid
// bytes are passed through (never held forever). Flush returns what is held.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer* tok, bool render_special = false)
      : tok_(tok), render_special_(render_special) {}
  std::string Push(int32_t id);
  std::string PushBytes(std::string_view bytes);
  std::string Flush();

 private:
  const Tokenizer* tok_;
  bool render_special_;
  bool first_ = true;
  std::string pending_;
};

}  // namespace lucid::llm
