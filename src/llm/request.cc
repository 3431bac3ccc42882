#include "llm/request.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include <nlohmann/json.hpp>

#include "codec/codec.h"
#include "crypto/hash.h"

namespace lucid::llm {
namespace {

using ojson = nlohmann::ordered_json;

// The ranges of engine.h's ValidateSampling, restated so that this library does not need
// the engine (the engine checks again before generating).
Status CheckSampling(const SamplingParams& p) {
  if (!std::isfinite(p.temperature) || p.temperature < 0) return InvalidArgument("temperature must be finite and >= 0");
  if (p.top_k < 0) return InvalidArgument("top_k must be >= 0");
  if (!(p.top_p > 0 && p.top_p <= 1)) return InvalidArgument("top_p must be in (0, 1]");
  if (!(p.min_p >= 0 && p.min_p <= 1)) return InvalidArgument("min_p must be in [0, 1]");
  if (!(p.repeat_penalty > 0) || !std::isfinite(p.repeat_penalty)) return InvalidArgument("repeat_penalty must be > 0");
  if (p.repeat_last_n < -1) return InvalidArgument("repeat_last_n must be >= -1");
  return Status::Ok();
}

uint32_t FloatBits(float f) {
  if (f == 0.0f) f = 0.0f;  // -0 → +0
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
float BitsFloat(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

void WriteCalls(codec::Writer& w, const std::vector<ToolCall>& calls) {
  w.U32(static_cast<uint32_t>(calls.size()));
  for (const ToolCall& c : calls) {
    w.Str(c.id);
    w.Str(c.name);
    w.Str(c.arguments);
  }
}

Result<std::vector<ToolCall>> ReadCalls(codec::Reader& r) {
  ASSIGN_OR_RETURN(uint32_t n, r.Count(12));
  std::vector<ToolCall> calls(n);
  for (ToolCall& c : calls) {
    ASSIGN_OR_RETURN(c.id, r.Str());
    ASSIGN_OR_RETURN(c.name, r.Str());
    ASSIGN_OR_RETURN(c.arguments, r.Str());
  }
  return calls;
}

Result<Tensor> BytesTensor(ByteView b) {
  return Tensor::FromBytes(DType::kUint8, {static_cast<int64_t>(b.size())}, Bytes(b.begin(), b.end()));
}

Result<Bytes> TensorBytes(const TensorMap& m, std::string_view name, DType dtype) {
  auto it = m.find(std::string(name));
  if (it == m.end()) return InvalidArgument("no tensor \"" + std::string(name) + "\"");
  if (it->second.dtype() != dtype || it->second.shape().size() != 1)
    return InvalidArgument("tensor \"" + std::string(name) + "\" must be a 1-D " + std::string(DTypeName(dtype)));
  return it->second.bytes();
}

}  // namespace

// ---- canonical request ----

Bytes LlmRequest::Encode() const {
  codec::Writer w;
  w.U8(kLlmRequestVersion);
  w.U8(static_cast<uint8_t>(kind));
  w.Str(model);
  w.U32(static_cast<uint32_t>(messages.size()));
  for (const ChatMessage& m : messages) {
    w.Str(m.role);
    w.Str(m.content);
    WriteCalls(w, m.tool_calls);
    w.Str(m.tool_call_id);
    w.Str(m.name);
  }
  w.Str(prompt);
  w.U32(static_cast<uint32_t>(tools.size()));
  for (const std::string& t : tools) w.Str(t);
  w.Str(tool_choice);
  w.U32(FloatBits(sampling.temperature));
  w.U32(static_cast<uint32_t>(sampling.top_k));
  w.U32(FloatBits(sampling.top_p));
  w.U32(FloatBits(sampling.min_p));
  w.U32(FloatBits(sampling.repeat_penalty));
  w.U32(static_cast<uint32_t>(sampling.repeat_last_n));
  w.U64(sampling.seed);
  w.U32(static_cast<uint32_t>(max_tokens));
  w.U32(static_cast<uint32_t>(stop.size()));
  for (const std::string& s : stop) w.Str(s);
  return w.Take();
}

Result<LlmRequest> LlmRequest::Decode(ByteView bytes) {
  codec::Reader r(bytes);
  ASSIGN_OR_RETURN(uint8_t version, r.U8());
  if (version != kLlmRequestVersion)
    return InvalidArgument("llm request: unknown version " + std::to_string(version));
  LlmRequest q;
  ASSIGN_OR_RETURN(uint8_t kind, r.U8());
  if (kind != 1 && kind != 2) return InvalidArgument("llm request: unknown kind " + std::to_string(kind));
  q.kind = static_cast<RequestKind>(kind);
  ASSIGN_OR_RETURN(q.model, r.Str());
  ASSIGN_OR_RETURN(uint32_t nm, r.Count(20));
  q.messages.resize(nm);
  for (ChatMessage& m : q.messages) {
    ASSIGN_OR_RETURN(m.role, r.Str());
    ASSIGN_OR_RETURN(m.content, r.Str());
    ASSIGN_OR_RETURN(m.tool_calls, ReadCalls(r));
    ASSIGN_OR_RETURN(m.tool_call_id, r.Str());
    ASSIGN_OR_RETURN(m.name, r.Str());
  }
  ASSIGN_OR_RETURN(q.prompt, r.Str());
  ASSIGN_OR_RETURN(uint32_t nt, r.Count(4));
  q.tools.resize(nt);
  for (std::string& t : q.tools) {
    ASSIGN_OR_RETURN(t, r.Str());
  }
  ASSIGN_OR_RETURN(q.tool_choice, r.Str());
  ASSIGN_OR_RETURN(uint32_t temp, r.U32());
  ASSIGN_OR_RETURN(uint32_t top_k, r.U32());
  ASSIGN_OR_RETURN(uint32_t top_p, r.U32());
  ASSIGN_OR_RETURN(uint32_t min_p, r.U32());
  ASSIGN_OR_RETURN(uint32_t rp, r.U32());
  ASSIGN_OR_RETURN(uint32_t rln, r.U32());
  q.sampling.temperature = BitsFloat(temp);
  q.sampling.top_k = static_cast<int32_t>(top_k);
  q.sampling.top_p = BitsFloat(top_p);
  q.sampling.min_p = BitsFloat(min_p);
  q.sampling.repeat_penalty = BitsFloat(rp);
  q.sampling.repeat_last_n = static_cast<int32_t>(rln);
  ASSIGN_OR_RETURN(q.sampling.seed, r.U64());
  ASSIGN_OR_RETURN(uint32_t mt, r.U32());
  q.max_tokens = static_cast<int32_t>(mt);
  ASSIGN_OR_RETURN(uint32_t ns, r.Count(4));
  q.stop.resize(ns);
  for (std::string& s : q.stop) {
    ASSIGN_OR_RETURN(s, r.Str());
  }
  RETURN_IF_ERROR(r.Finish());
  if (q.Encode() != Bytes(bytes.begin(), bytes.end()))
    return InvalidArgument("llm request: not in canonical form (-0 or NaN bit patterns)");
  RETURN_IF_ERROR(CheckSampling(q.sampling).WithContext("llm request"));
  if (q.max_tokens < 0) return InvalidArgument("llm request: max_tokens is negative");
  if (q.tool_choice != "auto" && q.tool_choice != "none")
    return InvalidArgument("llm request: tool_choice must be \"auto\" or \"none\"");
  if (q.stop.size() > kMaxStopStrings) return InvalidArgument("llm request: more than 4 stop strings");
  for (const std::string& stop : q.stop)
    if (stop.empty() || stop.size() > kMaxStopBytes) return InvalidArgument("llm request: a stop string must have 1 to 256 bytes");
  if (q.tools.size() > kMaxTools) return InvalidArgument("llm request: more than 64 tools");
  if (q.kind == RequestKind::kChat ? (q.messages.empty() || !q.prompt.empty()) : (!q.messages.empty() || !q.tools.empty()))
    return InvalidArgument("llm request: a chat has messages and no prompt, a completion a prompt and no messages or tools");
  return q;
}

TensorMap LlmRequest::ToInputs() const {
  TensorMap m;
  m.emplace(std::string(kRequestTensor), *BytesTensor(Encode()));
  return m;
}

Result<LlmRequest> LlmRequest::FromInputs(const TensorMap& inputs) {
  if (inputs.size() != 1) return InvalidArgument("an LLM request has exactly one input tensor, \"llm_request\"");
  ASSIGN_OR_RETURN(Bytes b, TensorBytes(inputs, kRequestTensor, DType::kUint8));
  return Decode(b);
}

// ---- canonical output ----

std::string_view FinishName(OutputFinish f) {
  switch (f) {
    case OutputFinish::kStop: return "stop";
    case OutputFinish::kLength: return "length";
    case OutputFinish::kToolCalls: return "tool_calls";
  }
  return "stop";
}

Bytes LlmOutput::EncodeOutput() const {
  codec::Writer w;
  w.U8(kLlmOutputVersion);
  w.U8(static_cast<uint8_t>(finish));
  w.Str(text);
  WriteCalls(w, tool_calls);
  return w.Take();
}

TensorMap LlmOutput::ToOutputs() const {
  TensorMap m;
  m.emplace(std::string(kOutputTensor), *BytesTensor(EncodeOutput()));
  Bytes tb(tokens.size() * 4);
  for (size_t i = 0; i < tokens.size(); ++i) {
    uint32_t u = static_cast<uint32_t>(tokens[i]);
    for (int k = 0; k < 4; ++k) tb[i * 4 + k] = static_cast<uint8_t>(u >> (8 * k));  // little-endian
  }
  m.emplace(std::string(kTokensTensor),
            *Tensor::FromBytes(DType::kInt32, {static_cast<int64_t>(tokens.size())}, std::move(tb)));
  return m;
}

Result<LlmOutput> LlmOutput::FromOutputs(const TensorMap& outputs) {
  if (outputs.size() != 2) return InvalidArgument("an LLM answer has exactly the tensors \"llm_output\" and \"tokens\"");
  ASSIGN_OR_RETURN(Bytes ob, TensorBytes(outputs, kOutputTensor, DType::kUint8));
  ASSIGN_OR_RETURN(Bytes tb, TensorBytes(outputs, kTokensTensor, DType::kInt32));
  LlmOutput o;
  for (size_t i = 0; i + 4 <= tb.size(); i += 4)
    o.tokens.push_back(static_cast<int32_t>(tb[i] | (tb[i + 1] << 8) | (tb[i + 2] << 16) |
                                            (static_cast<uint32_t>(tb[i + 3]) << 24)));
  codec::Reader r(ob);
  ASSIGN_OR_RETURN(uint8_t version, r.U8());
  if (version != kLlmOutputVersion) return InvalidArgument("llm output: unknown version " + std::to_string(version));
  ASSIGN_OR_RETURN(uint8_t finish, r.U8());
  if (finish < 1 || finish > 3) return InvalidArgument("llm output: unknown finish " + std::to_string(finish));
  o.finish = static_cast<OutputFinish>(finish);
  ASSIGN_OR_RETURN(o.text, r.Str());
  ASSIGN_OR_RETURN(o.tool_calls, ReadCalls(r));
  RETURN_IF_ERROR(r.Finish());
  return o;
}

// ---- JSON ----

Result<std::string> CanonicalJson(std::string_view text, std::string_view what) {
  bool duplicate = false;
  std::vector<std::vector<std::string>> keys;  // per open object
  ojson j;
  try {
    j = ojson::parse(text, [&](int, ojson::parse_event_t ev, ojson& parsed) {
      if (ev == ojson::parse_event_t::object_start) {
        keys.emplace_back();
      } else if (ev == ojson::parse_event_t::object_end) {
        if (!keys.empty()) keys.pop_back();
      } else if (ev == ojson::parse_event_t::key && !keys.empty()) {
        const std::string k = parsed.get<std::string>();
        if (std::find(keys.back().begin(), keys.back().end(), k) != keys.back().end()) duplicate = true;
        keys.back().push_back(k);
      }
      return true;
    });
  } catch (const std::exception& e) {
    return InvalidArgument(std::string(what) + " is not JSON: " + e.what());
  }
  if (duplicate) return InvalidArgument(std::string(what) + " has a duplicate key");
  try {
    return j.dump();
  } catch (const std::exception& e) {
    return InvalidArgument(std::string(what) + ": " + e.what());
  }
}

namespace {

bool Fail(ApiError* e, Status s, std::string param) {
  e->status = std::move(s);
  e->param = std::move(param);
  return false;
}

bool GetFloat(const ojson& body, const char* key, float* out, ApiError* e) {
  if (!body.contains(key) || body[key].is_null()) return true;
  if (!body[key].is_number()) return Fail(e, InvalidArgument(std::string(key) + " must be a number"), key);
  double d = body[key].get<double>();
  if (!std::isfinite(d)) return Fail(e, InvalidArgument(std::string(key) + " must be finite"), key);
  *out = static_cast<float>(d);
  return true;
}

bool GetInt(const ojson& body, const char* key, int64_t lo, int64_t hi, int64_t* out, ApiError* e) {
  if (!body.contains(key) || body[key].is_null()) return true;
  const ojson& v = body[key];
  if (!v.is_number_integer())
    return Fail(e, InvalidArgument(std::string(key) + " must be an integer"), key);
  if (v.is_number_unsigned() ? v.get<uint64_t>() > static_cast<uint64_t>(hi) : (v.get<int64_t>() < lo || v.get<int64_t>() > hi))
    return Fail(e, InvalidArgument(std::string(key) + " must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]"),
                key);
  *out = v.is_number_unsigned() ? static_cast<int64_t>(v.get<uint64_t>()) : v.get<int64_t>();
  return true;
}

// Content may be a string or an array of {"type": "text", "text": …} parts.
bool ContentText(const ojson& c, std::string* out, const std::string& param, ApiError* e) {
  if (c.is_null()) return true;
  if (c.is_string()) {
    *out = c.get<std::string>();
    return true;
  }
  if (c.is_array()) {
    for (const auto& part : c) {
      if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") || !part["text"].is_string())
        return Fail(e, InvalidArgument("only text content parts are supported"), param);
      *out += part["text"].get<std::string>();
    }
    return true;
  }
  return Fail(e, InvalidArgument("content must be a string or an array of text parts"), param);
}

}  // namespace

bool ParseOpenAiRequest(std::string_view text, bool chat, const std::string& model_cid, LlmRequest* out,
                        ApiError* e) {
  ojson body = ojson::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object())
    return Fail(e, InvalidArgument("the request body is not a JSON object"), "");
  LlmRequest q;
  q.kind = chat ? RequestKind::kChat : RequestKind::kCompletion;
  q.model = model_cid;
  q.max_tokens = -1;
  if (chat) {
    if (!body.contains("messages") || !body["messages"].is_array() || body["messages"].empty())
      return Fail(e, InvalidArgument("messages must be a non-empty array"), "messages");
    size_t i = 0;
    for (const auto& m : body["messages"]) {
      const std::string p = "messages[" + std::to_string(i++) + "]";
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
        return Fail(e, InvalidArgument(p + " needs a string role"), p + ".role");
      ChatMessage cm;
      cm.role = m["role"].get<std::string>();
      if (cm.role == "developer") cm.role = "system";
      if (cm.role != "system" && cm.role != "user" && cm.role != "assistant" && cm.role != "tool")
        return Fail(e, InvalidArgument(p + ": unknown role \"" + cm.role + "\""), p + ".role");
      if (m.contains("content") && !ContentText(m["content"], &cm.content, p + ".content", e)) return false;
      if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
        if (!m["tool_calls"].is_array()) return Fail(e, InvalidArgument(p + ".tool_calls must be an array"), p + ".tool_calls");
        for (const auto& c : m["tool_calls"]) {
          if (!c.is_object() || !c.contains("function") || !c["function"].is_object() ||
              !c["function"].contains("name") || !c["function"]["name"].is_string())
            return Fail(e, InvalidArgument(p + ": each tool call needs function.name"), p + ".tool_calls");
          ToolCall tc;
          tc.id = c.value("id", "");
          tc.name = c["function"]["name"].get<std::string>();
          std::string args = "{}";
          if (c["function"].contains("arguments")) {
            if (!c["function"]["arguments"].is_string())
              return Fail(e, InvalidArgument(p + ": function.arguments must be a JSON string"), p + ".tool_calls");
            args = c["function"]["arguments"].get<std::string>();
          }
          auto canon = CanonicalJson(args, p + " tool call arguments");
          if (!canon.ok()) return Fail(e, canon.status(), p + ".tool_calls");
          tc.arguments = *canon;
          cm.tool_calls.push_back(std::move(tc));
        }
      }
      if (m.contains("tool_call_id") && m["tool_call_id"].is_string()) cm.tool_call_id = m["tool_call_id"].get<std::string>();
      if (m.contains("name") && m["name"].is_string()) cm.name = m["name"].get<std::string>();
      q.messages.push_back(std::move(cm));
    }
    if (body.contains("tools") && !body["tools"].is_null()) {
      const ojson& tools = body["tools"];
      if (!tools.is_array()) return Fail(e, InvalidArgument("tools must be an array"), "tools");
      if (tools.size() > kMaxTools)
        return Fail(e, InvalidArgument("at most " + std::to_string(kMaxTools) + " tools"), "tools");
      size_t k = 0;
      for (const auto& t : tools) {
        const std::string p = "tools[" + std::to_string(k++) + "]";
        if (!t.is_object() || t.value("type", "") != "function" || !t.contains("function") || !t["function"].is_object())
          return Fail(e, InvalidArgument(p + " must be {\"type\": \"function\", \"function\": {...}}"), p);
        const ojson& f = t["function"];
        if (!f.contains("name") || !f["name"].is_string() || f["name"].get<std::string>().empty())
          return Fail(e, InvalidArgument(p + ".function.name must be a non-empty string"), p + ".function.name");
        if (f.contains("parameters") && !f["parameters"].is_object())
          return Fail(e, InvalidArgument(p + ".function.parameters must be a JSON Schema object"), p + ".function.parameters");
        if (f.contains("parameters") && f["parameters"].contains("type") && !f["parameters"]["type"].is_string())
          return Fail(e, InvalidArgument(p + ".function.parameters.type must be a string"), p + ".function.parameters");
        q.tools.push_back(t.dump());
      }
    }
    if (body.contains("tool_choice") && !body["tool_choice"].is_null()) {
      const ojson& tc = body["tool_choice"];
      if (!tc.is_string() || (tc != "auto" && tc != "none"))
        return Fail(e, InvalidArgument("tool_choice must be \"auto\" or \"none\" (forced calls are not supported)"),
                    "tool_choice");
      q.tool_choice = tc.get<std::string>();
    }
  } else {
    if (!body.contains("prompt") || !body["prompt"].is_string())
      return Fail(e, InvalidArgument("prompt must be a string"), "prompt");
    q.prompt = body["prompt"].get<std::string>();
    if (q.prompt.empty()) return Fail(e, InvalidArgument("prompt is empty"), "prompt");
  }
  // Sampling: OpenAI's defaults (temperature 1, top_p 1); seed 0 unless given.
  q.sampling.temperature = 1.0f;
  if (!GetFloat(body, "temperature", &q.sampling.temperature, e)) return false;
  if (!GetFloat(body, "top_p", &q.sampling.top_p, e)) return false;
  if (!GetFloat(body, "min_p", &q.sampling.min_p, e)) return false;
  if (!GetFloat(body, "repeat_penalty", &q.sampling.repeat_penalty, e)) return false;
  if (q.sampling.temperature > 2.0f)
    return Fail(e, InvalidArgument("temperature must be in [0, 2]"), "temperature");
  int64_t v = q.sampling.top_k;
  if (!GetInt(body, "top_k", 0, 1 << 20, &v, e)) return false;
  q.sampling.top_k = static_cast<int32_t>(v);
  v = q.sampling.repeat_last_n;
  if (!GetInt(body, "repeat_last_n", -1, 1 << 20, &v, e)) return false;
  q.sampling.repeat_last_n = static_cast<int32_t>(v);
  int64_t seed = 0;
  if (!GetInt(body, "seed", INT64_MIN, INT64_MAX, &seed, e)) return false;
  q.sampling.seed = static_cast<uint64_t>(seed);
  for (const char* key : {"frequency_penalty", "presence_penalty"}) {
    float f = 0;
    if (!GetFloat(body, key, &f, e)) return false;
    if (f != 0) return Fail(e, InvalidArgument(std::string(key) + " is not supported (use repeat_penalty)"), key);
  }
  int64_t n = 1;
  if (!GetInt(body, "n", 1, 1, &n, e)) return false;
  int64_t max_tokens = -1;
  if (!GetInt(body, "max_tokens", 0, 1 << 20, &max_tokens, e)) return false;
  if (!GetInt(body, "max_completion_tokens", 0, 1 << 20, &max_tokens, e)) return false;
  q.max_tokens = static_cast<int32_t>(max_tokens);
  if (body.contains("stop") && !body["stop"].is_null()) {
    const ojson& s = body["stop"];
    if (s.is_string()) {
      q.stop.push_back(s.get<std::string>());
    } else if (s.is_array()) {
      for (const auto& x : s) {
        if (!x.is_string()) return Fail(e, InvalidArgument("stop must be a string or an array of strings"), "stop");
        q.stop.push_back(x.get<std::string>());
      }
    } else {
      return Fail(e, InvalidArgument("stop must be a string or an array of strings"), "stop");
    }
    if (q.stop.size() > kMaxStopStrings)
      return Fail(e, InvalidArgument("at most " + std::to_string(kMaxStopStrings) + " stop strings"), "stop");
    for (const auto& x : q.stop)
      if (x.empty() || x.size() > kMaxStopBytes)
        return Fail(e, InvalidArgument("each stop string must have 1 to 256 bytes"), "stop");
  }
  if (body.contains("response_format") && body["response_format"].is_object() &&
      body["response_format"].value("type", "text") != "text")
    return Fail(e, InvalidArgument("only response_format {\"type\": \"text\"} is supported"), "response_format");
  Status s = CheckSampling(q.sampling);
  if (!s.ok()) {
    std::string param = "temperature";
    for (const char* k : {"top_k", "top_p", "min_p", "repeat_penalty", "repeat_last_n"})
      if (s.message().find(k) != std::string::npos) param = k;
    return Fail(e, s, param);
  }
  *out = std::move(q);
  return true;
}

// ---- tool calls in the model's text ----

namespace {

std::string Trim(std::string_view s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return std::string(s.substr(a, b - a));
}

std::string CallId(const Hash32& input_hash, uint32_t index) {
  Bytes b(input_hash.begin(), input_hash.end());
  for (int k = 3; k >= 0; --k) b.push_back(static_cast<uint8_t>(index >> (8 * k)));
  Hash32 h = crypto::TaggedSha256("lucid:llm-tool-call:v1", b);
  std::string hex = ToHex(ByteView(h.data(), 12));
  if (hex.rfind("0x", 0) == 0) hex = hex.substr(2);
  return "call_" + hex;
}

}  // namespace

void ParseToolCalls(const ChatTemplate& tmpl, const Hash32& input_hash, std::string* text, std::vector<ToolCall>* calls) {
  ChatTemplate::Parsed parsed = tmpl.ParseAssistant(*text);
  if (parsed.tool_calls.empty()) return;
  for (uint32_t i = 0; i < parsed.tool_calls.size(); ++i) {
    ToolCall& c = parsed.tool_calls[i];
    c.id = CallId(input_hash, i);
    auto canon = CanonicalJson(c.arguments.empty() ? "{}" : c.arguments, "tool call arguments");
    if (!canon.ok()) return;  // not calls after all: keep the text
    c.arguments = *canon;
  }
  *text = Trim(parsed.content);
  *calls = std::move(parsed.tool_calls);
}

}  // namespace lucid::llm
