#include "llm/chat_template.h"

#include <nlohmann/json.hpp>

namespace lucid::llm {
namespace {

using Json = nlohmann::ordered_json;

void Dump(const Json& j, int indent, int depth, std::string& out) {
  auto newline = [&](int d) {
    out += '\n';
    out.append(static_cast<size_t>(indent * d), ' ');
  };
  if (j.is_object()) {
    if (j.empty()) { out += "{}"; return; }
    out += '{';
    bool first = true;
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (!first) out += indent > 0 ? "," : ", ";
      first = false;
      if (indent > 0) newline(depth + 1);
      out += Json(it.key()).dump(-1, ' ', false, Json::error_handler_t::replace);
      out += ": ";
      Dump(it.value(), indent, depth + 1, out);
    }
    if (indent > 0) newline(depth);
    out += '}';
  } else if (j.is_array()) {
    if (j.empty()) { out += "[]"; return; }
    out += '[';
    bool first = true;
    for (const auto& v : j) {
      if (!first) out += indent > 0 ? "," : ", ";
      first = false;
      if (indent > 0) newline(depth + 1);
      Dump(v, indent, depth + 1, out);
    }
    if (indent > 0) newline(depth);
    out += ']';
  } else {
    out += j.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
}

Result<Json> ParseJson(std::string_view text, std::string_view what) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(std::string(what) + " is not JSON");
  return j;
}

std::string Trim(std::string_view s) {
  size_t a = 0, b = s.size();
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (a < b && ws(s[a])) ++a;
  while (b > a && ws(s[b - 1])) --b;
  return std::string(s.substr(a, b - a));
}

// The literal default system prompt of a ChatML template: the text of a Jinja string
// literal '<|im_start|>system\n...<|im_end|>' that has no expression in it.
std::string DefaultSystem(std::string_view t) {
  for (std::string_view marker : {std::string_view("<|im_start|>system\\n"), std::string_view("<|im_start|>system\n")}) {
    size_t pos = 0;
    while ((pos = t.find(marker, pos)) != std::string_view::npos) {
      pos += marker.size();
      size_t end = t.find("<|im_end|>", pos);
      if (end == std::string_view::npos) break;
      std::string_view body = t.substr(pos, end - pos);
      if (body.empty() || body.find_first_of("'\"{}+") != std::string_view::npos) continue;
      std::string out;
      for (size_t i = 0; i < body.size(); ++i) {
        if (body[i] == '\\' && i + 1 < body.size() && body[i + 1] == 'n') out += '\n', ++i;
        else out += body[i];
      }
      return out;
    }
  }
  return {};
}

Status CheckRole(const ChatMessage& m) {
  if (m.role == "system" || m.role == "user" || m.role == "assistant" || m.role == "tool") return Status::Ok();
  return InvalidArgument("unknown message role '" + m.role + "' (system, user, assistant, tool)");
}

}  // namespace

Result<std::string> PythonJson(std::string_view json, int indent) {
  ASSIGN_OR_RETURN(Json j, ParseJson(json, "value"));
  std::string out;
  Dump(j, indent, 0, out);
  return out;
}

ChatTemplate ChatTemplate::Chatml(std::string default_system) {
  ChatTemplate t;
  t.format_ = ChatFormat::kChatml;
  t.default_system_ = std::move(default_system);
  return t;
}

ChatTemplate ChatTemplate::Llama3() {
  ChatTemplate t;
  t.format_ = ChatFormat::kLlama3;
  t.bos_ = true;
  return t;
}

Result<ChatTemplate> ChatTemplate::FromJinja(std::string_view jinja) {
  if (jinja.find("<|im_start|>") != std::string_view::npos && jinja.find("<|im_end|>") != std::string_view::npos)
    return Chatml(DefaultSystem(jinja));
  if (jinja.find("<|start_header_id|>") != std::string_view::npos &&
      jinja.find("<|eot_id|>") != std::string_view::npos) {
    ChatTemplate t = Llama3();
    t.bos_ = jinja.find("bos_token") != std::string_view::npos;
    t.knowledge_date_ = jinja.find("Cutting Knowledge Date") != std::string_view::npos;
    return t;
  }
  std::string head(jinja.substr(0, 80));
  return Unimplemented(jinja.empty() ? "chat template: the model has none (supported: ChatML, Llama-3)"
                                     : "chat template not recognised (supported: ChatML with <|im_start|>/<|im_end|>, "
                                       "Llama-3 with <|start_header_id|>/<|eot_id|>); it starts: " + head);
}

Result<std::string> ChatTemplate::Render(const std::vector<ChatMessage>& messages, const std::vector<std::string>& tools,
                                         bool add_generation_prompt) const {
  std::vector<Json> tool_defs;
  for (size_t i = 0; i < tools.size(); ++i) {
    ASSIGN_OR_RETURN(Json j, ParseJson(tools[i], "tool definition " + std::to_string(i)));
    if (!j.is_object()) return InvalidArgument("tool definition " + std::to_string(i) + " is not a JSON object");
    tool_defs.push_back(std::move(j));
  }
  std::string out;
  bool seen_call = false;
  if (format_ == ChatFormat::kChatml) {
    size_t i = 0;
    std::string system;
    bool have_system = !messages.empty() && messages[0].role == "system";
    if (have_system) system = messages[0].content, i = 1;
    else system = default_system_;
    if (!tool_defs.empty()) {
      out += "<|im_start|>system\n" + system;
      out += "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
             "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
      for (const Json& d : tool_defs) {
        out += '\n';
        Dump(d, 0, 0, out);
      }
      out += "\n</tools>\n\nFor each function call, return a json object with function name and arguments within "
             "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": "
             "<args-json-object>}\n</tool_call><|im_end|>\n";
    } else if (have_system || !system.empty()) {
      out += "<|im_start|>system\n" + system + "<|im_end|>\n";
    }
    for (; i < messages.size(); ++i) {
      const ChatMessage& m = messages[i];
      RETURN_IF_ERROR(CheckRole(m));
      if (m.role == "tool") {
        if (!seen_call) return InvalidArgument("message " + std::to_string(i) + ": a tool result without a tool call before it");
        // Consecutive tool results share one user turn.
        if (i == 0 || messages[i - 1].role != "tool") out += "<|im_start|>user";
        out += "\n<tool_response>\n" + m.content + "\n</tool_response>";
        if (i + 1 == messages.size() || messages[i + 1].role != "tool") out += "<|im_end|>\n";
        continue;
      }
      out += "<|im_start|>" + m.role + "\n" + m.content;
      if (m.role == "assistant") {
        for (size_t k = 0; k < m.tool_calls.size(); ++k) {
          const ToolCall& c = m.tool_calls[k];
          ASSIGN_OR_RETURN(Json args, ParseJson(c.arguments, "tool call '" + c.name + "' arguments"));
          if (!m.content.empty() || k > 0) out += '\n';
          out += "<tool_call>\n{\"name\": " + Json(c.name).dump() + ", \"arguments\": ";
          Dump(args, 0, 0, out);
          out += "}\n</tool_call>";
          seen_call = true;
        }
      } else if (m.role == "system" && i > 0) {
        // a later system message is rendered in place
      }
      out += "<|im_end|>\n";
    }
    if (add_generation_prompt) out += "<|im_start|>assistant\n";
    return out;
  }
  // Llama-3 (3.1 JSON tool calling).
  if (bos_) out += "<|begin_of_text|>";
  size_t i = 0;
  std::string system;
  bool have_system = !messages.empty() && messages[0].role == "system";
  if (have_system) system = Trim(messages[0].content), i = 1;
  if (have_system || knowledge_date_ || !tool_defs.empty()) {
    out += "<|start_header_id|>system<|end_header_id|>\n\n";
    if (!tool_defs.empty()) out += "Environment: ipython\n";
    if (knowledge_date_) out += "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n";
    out += system + "<|eot_id|>";
  }
  bool tools_pending = !tool_defs.empty();
  for (; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    RETURN_IF_ERROR(CheckRole(m));
    if (m.role == "tool") {
      if (!seen_call) return InvalidArgument("message " + std::to_string(i) + ": a tool result without a tool call before it");
      out += "<|start_header_id|>ipython<|end_header_id|>\n\n" + m.content + "<|eot_id|>";
      continue;
    }
    out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n";
    if (m.role == "user" && tools_pending) {
      out += "Given the following functions, please respond with a JSON for a function call with its proper "
             "arguments that best answers the given prompt.\n\nRespond in the format {\"name\": function name, "
             "\"parameters\": dictionary of argument name and its value}.Do not use variables.\n\n";
      for (const Json& d : tool_defs) {
        Dump(d, 4, 0, out);
        out += "\n\n";
      }
      tools_pending = false;
    }
    if (m.role == "assistant" && !m.tool_calls.empty()) {
      if (m.tool_calls.size() != 1)
        return InvalidArgument("message " + std::to_string(i) + ": Llama-3 takes one tool call per assistant turn");
      const ToolCall& c = m.tool_calls[0];
      ASSIGN_OR_RETURN(Json args, ParseJson(c.arguments, "tool call '" + c.name + "' arguments"));
      out += "{\"name\": " + Json(c.name).dump() + ", \"parameters\": ";
      Dump(args, 0, 0, out);
      out += "}<|eot_id|>";
      seen_call = true;
      continue;
    }
    out += Trim(m.content) + "<|eot_id|>";
  }
  if (add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

namespace {

// One call from {"name": ..., "arguments"|"parameters": {...}}; false when not that shape.
bool CallFromJson(const Json& j, std::vector<ToolCall>& out) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) return false;
  const Json* args = nullptr;
  if (j.contains("arguments")) args = &j["arguments"];
  else if (j.contains("parameters")) args = &j["parameters"];
  ToolCall c;
  c.id = "call_" + std::to_string(out.size());
  c.name = j["name"].get<std::string>();
  if (args == nullptr) c.arguments = "{}";
  else if (args->is_string()) c.arguments = args->get<std::string>();  // some models quote it
  else c.arguments = args->dump(-1, ' ', false, Json::error_handler_t::replace);
  out.push_back(std::move(c));
  return true;
}

bool CallsFromJson(const Json& j, std::vector<ToolCall>& out) {
  std::vector<ToolCall> calls = out;
  if (j.is_array()) {
    if (j.empty()) return false;
    for (const Json& e : j)
      if (!CallFromJson(e, calls)) return false;
  } else if (!CallFromJson(j, calls)) {
    return false;
  }
  out = std::move(calls);
  return true;
}

}  // namespace

ChatTemplate::Parsed ChatTemplate::ParseAssistant(std::string_view text) const {
  Parsed p;
  if (format_ == ChatFormat::kLlama3) {
    std::string t = Trim(text);
    if (!t.empty() && t.front() == '{') {
      Json j = Json::parse(t, nullptr, false);
      if (!j.is_discarded() && CallsFromJson(j, p.tool_calls)) return p;
    }
    p.content = std::string(text);
    return p;
  }
  constexpr std::string_view kOpen = "<tool_call>", kClose = "</tool_call>";
  std::string content;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t open = text.find(kOpen, pos);
    if (open == std::string_view::npos) break;
    size_t close = text.find(kClose, open + kOpen.size());
    if (close == std::string_view::npos) break;
    std::string_view body = text.substr(open + kOpen.size(), close - open - kOpen.size());
    Json j = Json::parse(body.begin(), body.end(), nullptr, false);
    content.append(text.substr(pos, open - pos));
    if (j.is_discarded() || !CallsFromJson(j, p.tool_calls))
      content.append(text.substr(open, close + kClose.size() - open));  // not a call: kept as text
    pos = close + kClose.size();
  }
  content.append(text.substr(pos));
  p.content = p.tool_calls.empty() ? std::string(text) : Trim(content);
  return p;
}

}  // namespace lucid::llm
