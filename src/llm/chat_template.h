// Chat templates: the prompt text a model family expects for a list of messages. The GGUF's
// tokenizer.chat_template (Jinja) is recognised by its text, not run: ChatML
// (<|im_start|>role\ncontent<|im_end|>\n; SmolLM2, Qwen2) and Llama-3
// (<|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>). Anything else is refused.
// Tools (docs/llm.md, "Chat templates"): ChatML renders them the Qwen2.5/Hermes way
// (<tools> in the system turn, <tool_call> JSON in assistant turns, <tool_response> in a user
// turn); Llama-3 the Llama-3.1 JSON way (definitions in the first user turn, calls as
// {"name", "parameters"}, results in "ipython" turns).
// Thread-safety: immutable after construction.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace lucid::llm {

struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;  // a JSON object, as text (OpenAI's "arguments")
};

struct ChatMessage {
  std::string role;  // system, user, assistant, tool
  std::string content;
  std::vector<ToolCall> tool_calls;  // assistant
  std::string tool_call_id;          // tool
  std::string name;                  // tool: the function's name (optional)
};

enum class ChatFormat { kChatml, kLlama3 };

class ChatTemplate {
 public:
  // Recognises a Jinja chat template's text. kUnimplemented (naming the families known) for
  // an empty or unknown template.
  static Result<ChatTemplate> FromJinja(std::string_view jinja);
  static ChatTemplate Chatml(std::string default_system = "");
  static ChatTemplate Llama3();

  // The prompt text (special tokens written as text: tokenize with parse_special).
  // tools: OpenAI tool definitions ({"type":"function","function":{...}}) as JSON text.
  // kInvalidArgument for an unknown role, a tool definition or tool-call arguments that are
  // not JSON, a tool message without a preceding call.
  Result<std::string> Render(const std::vector<ChatMessage>& messages, const std::vector<std::string>& tools,
                             bool add_generation_prompt) const;

  // Splits a generated assistant answer into text and tool calls, the inverse of how Render
  // writes calls: ChatML <tool_call>{"name", "arguments"}</tool_call> blocks (a JSON list of
  // calls inside one block too), Llama-3 an answer that is one JSON object with "name" and
  // "parameters" (or "arguments"). Model output is untrusted: a block whose JSON does not
  // parse (or has no string name) stays in the content. Ids are "call_0", "call_1", ...
  struct Parsed {
    std::string content;
    std::vector<ToolCall> tool_calls;
  };
  Parsed ParseAssistant(std::string_view text) const;

  ChatFormat format() const { return format_; }
  const std::string& default_system() const { return default_system_; }
  // The text that ends an assistant turn ("<|im_end|>", "<|eot_id|>").
  std::string_view end_of_turn() const { return format_ == ChatFormat::kChatml ? "<|im_end|>" : "<|eot_id|>"; }

 private:
  ChatFormat format_ = ChatFormat::kChatml;
  std::string default_system_;  // ChatML: used when the first message is not a system one
  bool bos_ = false;            // Llama-3: the template starts with {{ bos_token }}
  bool knowledge_date_ = false; // Llama-3.1: "Cutting Knowledge Date" lines in the system turn
};

// JSON text as Python's json.dumps(ensure_ascii=False) writes it (", " and ": ", keys in
// their given order; indent > 0: one item a line), the way Jinja's tojson shows it.
Result<std::string> PythonJson(std::string_view json, int indent = 0);

}  // namespace lucid::llm
