// libFuzzer target: the LLM tokenizers (src/llm/tokenizer.h) on arbitrary bytes: byte-level
// BPE under each pre-tokenizer and SentencePiece with byte fallback, special tokens parsed or
// not, the streaming decoder, and ChatTemplate::ParseAssistant (tool calls in model output).
// Checks: no crash, every id in range, and Decode(Encode(x)) == x (for every input: invalid
// UTF-8 is kept byte for byte; for SentencePiece, inputs without U+2581, which stands for a
// space there).
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "llm/chat_template.h"
#include "llm/tokenizer.h"

using namespace lucid::llm;

namespace {

std::string Utf8(uint32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

std::unique_ptr<Tokenizer> Bpe(const char* pre) {
  Vocabulary v;
  v.model = "gpt2";
  v.pre = pre;
  v.tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool>"};
  v.token_types = {3, 3, 3, 4};
  for (int b = 0; b < 256; ++b) {
    v.tokens.push_back(Utf8(ByteToCodepoint(static_cast<uint8_t>(b))));
    v.token_types.push_back(1);
  }
  const std::string G = Utf8(ByteToCodepoint(' '));
  const char* pairs[][2] = {{"t", "h"}, {"th", "e"}, {"i", "n"}, {"e", "r"}, {"a", "n"}, {"1", "2"}};
  for (auto& p : pairs) {
    v.merges.push_back(std::string(p[0]) + " " + p[1]);
    v.tokens.push_back(std::string(p[0]) + p[1]);
    v.token_types.push_back(1);
  }
  v.merges.push_back(G + " the");
  v.tokens.push_back(G + "the");
  v.token_types.push_back(1);
  v.bos_id = 0;
  v.eos_id = 2;
  auto t = Tokenizer::Create(v);
  if (!t.ok()) std::abort();
  return std::move(t).value();
}

std::unique_ptr<Tokenizer> Spm() {
  Vocabulary v;
  v.model = "llama";
  v.tokens = {"<unk>", "<s>", "</s>"};
  v.token_types = {2, 3, 3};
  v.scores = {0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    char n[8];
    std::snprintf(n, sizeof n, "<0x%02X>", b);
    v.tokens.push_back(n);
    v.token_types.push_back(6);
    v.scores.push_back(0);
  }
  const std::string S = "\xE2\x96\x81";
  const char* pieces[] = {"t", "h", "e", "th", "the", "a", "n", "an", "é", "ü", "中", "文", "中文"};
  float score = -1;
  for (const char* p : pieces) {
    v.tokens.push_back(p);
    v.token_types.push_back(1);
    v.scores.push_back(score -= 0.5f);
  }
  v.tokens.push_back(S);
  v.tokens.push_back(S + "the");
  v.token_types.insert(v.token_types.end(), {1, 1});
  v.scores.insert(v.scores.end(), {-0.5f, -3.0f});
  v.unk_id = 0;
  v.bos_id = 1;
  v.eos_id = 2;
  auto t = Tokenizer::Create(v);
  if (!t.ok()) std::abort();
  return std::move(t).value();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::unique_ptr<Tokenizer> toks[] = {Bpe("gpt-2"), Bpe("smollm"), Bpe("qwen2"), Bpe("llama-bpe"), Spm()};
  if (size == 0) return 0;
  const Tokenizer& t = *toks[data[0] % 5];
  bool parse_special = (data[0] >> 3) & 1;
  bool add_special = (data[0] >> 4) & 1;
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  // Tool calls read back from untrusted model output: no crash, calls have names.
  static const ChatTemplate chatml = ChatTemplate::Chatml(), llama3 = ChatTemplate::Llama3();
  for (const ChatTemplate* ct : {&chatml, &llama3}) {
    auto parsed = ct->ParseAssistant(text);
    for (const ToolCall& c : parsed.tool_calls)
      if (c.id.empty()) std::abort();
  }
  auto ids = t.Encode(text, add_special, parse_special);
  for (int32_t id : ids)
    if (id < 0 || id >= t.size()) std::abort();
  // BOS/EOS added by add_special are not part of the text.
  std::vector<int32_t> body(ids);
  if (add_special && t.add_bos() && !body.empty()) body.erase(body.begin());
  // SentencePiece writes spaces as U+2581, so a U+2581 in the text itself comes back as a
  // space (as in llama.cpp and sentencepiece): no round trip for such texts.
  if (!t.is_gpt2() && text.find("\xE2\x96\x81") != std::string_view::npos) return 0;
  if (t.Decode(body, /*render_special=*/true) != text) std::abort();
  // Streaming, token by token, gives the same bytes.
  StreamDecoder d(&t, true);
  std::string streamed;
  for (int32_t id : body) streamed += d.Push(id);
  streamed += d.Flush();
  if (streamed != text) std::abort();
  return 0;
}
