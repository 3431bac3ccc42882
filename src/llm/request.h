// LLM requests and answers as signed, hashed data (docs/formats/llm.md).
// A chat or completion request (model version CID, messages with roles, content and tool
// calls, tool definitions, every sampling parameter incl. the seed, max_tokens, stop strings)
// has ONE canonical byte encoding; it travels as the input tensor "llm_request" (uint8), so
// the InferenceRequest's input_hash = HashTensorMap of it covers the whole request and the
// protocol (signing, receipts, settlement, `lucid verify`) is unchanged. The answer is the
// output tensors "tokens" (int32, every generated token id) and "llm_output" (uint8: the
// canonical encoding of finish reason, text and tool calls), so the receipt's output_hash
// covers both. Also here: the OpenAI JSON → LlmRequest parser (with the offending "param"
// named) and the parser of a model's tool-call text.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "llm/chat_template.h"
#include "llm/engine.h"
#include "tensor/tensor.h"

namespace lucid::llm {

// Receipt engine id of LLM answers: the engine, the prompt/stop/tool-call rules of this file.
inline constexpr std::string_view kLlmEngineId = "lucid-llm/1";
inline constexpr uint8_t kLlmRequestVersion = 1;
inline constexpr uint8_t kLlmOutputVersion = 1;
inline constexpr std::string_view kRequestTensor = "llm_request";
inline constexpr std::string_view kTokensTensor = "tokens";
inline constexpr std::string_view kOutputTensor = "llm_output";
// Defaults and bounds applied by the OpenAI parser.
inline constexpr int32_t kDefaultMaxTokens = 256;
inline constexpr size_t kMaxStopStrings = 4;
inline constexpr size_t kMaxStopBytes = 256;
inline constexpr size_t kMaxTools = 64;

enum class RequestKind : uint8_t { kChat = 1, kCompletion = 2 };

struct LlmRequest {
  RequestKind kind = RequestKind::kChat;
  std::string model;                  // manifest CID (text form) of the GGUF version
  std::vector<ChatMessage> messages;  // chat only; tool-call arguments in canonical JSON
  std::string prompt;                 // completion only
  std::vector<std::string> tools;     // chat only: canonical JSON of each tool definition
  std::string tool_choice = "auto";   // "auto" or "none" ("none": no tools offered or parsed)
  SamplingParams sampling;
  int32_t max_tokens = kDefaultMaxTokens;
  std::vector<std::string> stop;      // stop strings (the text ends before the first match)

  Bytes Encode() const;
  // Refuses anything that does not re-encode to exactly the same bytes.
  static Result<LlmRequest> Decode(ByteView bytes);
  TensorMap ToInputs() const;  // {"llm_request": uint8[n]}
  static Result<LlmRequest> FromInputs(const TensorMap& inputs);
  Hash32 InputHash() const { return HashTensorMap(ToInputs()); }
};

enum class OutputFinish : uint8_t { kStop = 1, kLength = 2, kToolCalls = 3 };
std::string_view FinishName(OutputFinish f);  // OpenAI's finish_reason: stop, length, tool_calls

struct LlmOutput {
  std::vector<int32_t> tokens;  // every generated token id (incl. those of a matched stop string)
  OutputFinish finish = OutputFinish::kStop;
  std::string text;             // content (tool-call markup removed when calls were parsed)
  std::vector<ToolCall> tool_calls;  // arguments in canonical JSON

  Bytes EncodeOutput() const;  // finish, text, tool calls (the "llm_output" tensor)
  TensorMap ToOutputs() const;  // {"llm_output": uint8[m], "tokens": int32[n]}
  static Result<LlmOutput> FromOutputs(const TensorMap& outputs);
};

// JSON text in Lucid's canonical form: compact, members in the order given, numbers as
// nlohmann writes them, UTF-8 kept. kInvalidArgument naming `what` if it does not parse,
// has duplicate keys or is not valid UTF-8.
Result<std::string> CanonicalJson(std::string_view text, std::string_view what);

// A caller mistake in an OpenAI request: the status and OpenAI's "param".
struct ApiError {
  Status status;
  std::string param;
};

// Parses an OpenAI /v1/chat/completions (chat = true) or /v1/completions body (as JSON text)
// into a request for model_cid. max_tokens < 0 when the body gave none (the caller fills it
// from the context left). Sampling values are checked with ValidateSampling.
// Returns false and fills *error on a caller mistake.
bool ParseOpenAiRequest(std::string_view body, bool chat, const std::string& model_cid, LlmRequest* out,
                        ApiError* error);

// The model's tool-call markup → calls, by ChatTemplate::ParseAssistant (ChatML/Hermes
// <tool_call>{"name": …, "arguments": {…}}</tool_call> blocks; Llama-3: the whole answer is
// {"name": …, "parameters": {…}}); the content is the rest, trimmed. Text that does not parse
// as calls stays text. Arguments in canonical JSON; call ids "call_" + 24 hex of
// TaggedSha256("lucid:llm-tool-call:v1", input_hash || u32 index), unique per request.
void ParseToolCalls(const ChatTemplate& tmpl, const Hash32& input_hash, std::string* text,
                    std::vector<ToolCall>* calls);

// The prompt token ids of a request for a model (template for chat, raw text for completion).
Result<std::vector<int32_t>> PromptTokens(const LlmRequest& req, const Tokenizer& tok, const ChatTemplate& tmpl);

// Runs a request on an engine (the node, publication checks and `lucid verify --replay` all
// use this one function): prompt, generation, stop strings (the text is cut before the first
// match; generation stops at the token that completes it), tool-call parsing. on_text gets
// each piece of content text as it is decided (a stop string's prefix is held back); return
// false to cancel (the result is then an error).
struct RunStats {
  int32_t prompt_tokens = 0;
  double prefill_ms = 0, decode_ms = 0;
};
Result<LlmOutput> RunRequest(Engine& engine, const LlmRequest& req, RunStats* stats = nullptr,
                             const std::function<bool(std::string_view)>& on_text = {});

}  // namespace lucid::llm
