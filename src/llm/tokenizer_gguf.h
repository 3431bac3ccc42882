// The tokenizer's Vocabulary from a GGUF file's metadata (tokenizer.ggml.* keys and
// tokenizer.chat_template), as llama.cpp reads them.
#pragma once

#include "base/status.h"
#include "llm/gguf.h"
#include "llm/tokenizer.h"

namespace lucid::llm {

// Errors name the key: kNotFound for a required key (tokenizer.ggml.model, .tokens),
// kInvalidArgument for a key of the wrong type or size.
Result<Vocabulary> VocabularyFromGguf(const GgufFile& file);

}  // namespace lucid::llm
