#include <algorithm>

#include "llm/request.h"

namespace lucid::llm {

// ---- running a request ----

Result<std::vector<int32_t>> PromptTokens(const LlmRequest& req, const Tokenizer& tok, const ChatTemplate& tmpl) {
  std::vector<int32_t> ids;
  if (req.kind == RequestKind::kCompletion) {
    ids = tok.Encode(req.prompt, /*add_special=*/true, /*parse_special=*/false);
  } else {
    std::vector<std::string> tools;
    if (req.tool_choice != "none") tools = req.tools;
    ASSIGN_OR_RETURN(std::string text, tmpl.Render(req.messages, tools, /*add_generation_prompt=*/true));
    ids = tok.Encode(text, /*add_special=*/true, /*parse_special=*/true);
    // A template that writes the BOS itself (Llama-3) must not get a second one.
    if (ids.size() >= 2 && ids[0] == tok.bos_id() && ids[1] == tok.bos_id()) ids.erase(ids.begin());
  }
  if (ids.empty()) return InvalidArgument("the prompt has no tokens");
  return ids;
}

Result<LlmOutput> RunRequest(Engine& engine, const LlmRequest& req, RunStats* stats,
                             const std::function<bool(std::string_view)>& on_text) {
  const Model& model = engine.model();
  const Tokenizer& tok = model.tokenizer();
  ASSIGN_OR_RETURN(std::vector<int32_t> prompt, PromptTokens(req, tok, model.chat_template()));
  GenerateRequest g;
  g.prompt = std::move(prompt);
  g.max_tokens = req.max_tokens;
  g.sampling = req.sampling;
  const bool tools = req.kind == RequestKind::kChat && !req.tools.empty() && req.tool_choice != "none";
  size_t hold = 0;  // bytes kept back: a stop string may still begin there
  for (const auto& s : req.stop) hold = std::max(hold, s.size() - 1);

  StreamDecoder dec(&tok);
  std::string text;    // decoded so far (without a matched stop string)
  size_t emitted = 0;  // bytes of text given to on_text
  bool stopped = false, cancelled = false;
  std::vector<int32_t> seen;
  auto emit = [&](size_t upto) {
    if (!on_text || tools || upto <= emitted) return true;
    bool go = on_text(std::string_view(text).substr(emitted, upto - emitted));
    emitted = upto;
    return go;
  };
  auto check_stop = [&]() {
    size_t cut = std::string::npos;
    for (const auto& s : req.stop) cut = std::min(cut, text.find(s));
    if (cut == std::string::npos) return false;
    text.resize(cut);
    return true;
  };
  auto on_token = [&](int32_t id) -> bool {
    seen.push_back(id);
    if (tok.IsEndOfGeneration(id)) return true;
    text += dec.Push(id);
    if (check_stop()) {
      stopped = true;
      return false;
    }
    if (!emit(text.size() > hold ? text.size() - hold : 0)) {
      cancelled = true;
      return false;
    }
    return true;
  };
  ASSIGN_OR_RETURN(GenerateResult r, engine.Generate(g, on_token));
  if (cancelled) return Unavailable("cancelled: the client went away");
  LlmOutput out;
  out.tokens = r.tokens;
  if (!stopped) {
    text += dec.Flush();
    stopped = check_stop();
  }
  out.finish = stopped || r.finish == FinishReason::kStop ? OutputFinish::kStop : OutputFinish::kLength;
  if (r.finish == FinishReason::kCancelled && !stopped) return Unavailable("generation was cancelled");
  out.text = std::move(text);
  if (tools) {
    ParseToolCalls(model.chat_template(), req.InputHash(), &out.text, &out.tool_calls);
    if (!out.tool_calls.empty()) out.finish = OutputFinish::kToolCalls;
  }
  if (on_text && !tools && emitted < out.text.size()) {
    std::string_view tail = std::string_view(out.text).substr(emitted);
    on_text(tail);
  } else if (on_text && tools && !out.text.empty()) {
    on_text(out.text);
  }
  if (stats) {
    stats->prompt_tokens = r.prompt_tokens;
    stats->prefill_ms = r.prefill_ms;
    stats->decode_ms = r.decode_ms;
  }
  return out;
}

}  // namespace lucid::llm
