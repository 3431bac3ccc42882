// `lucid llm run GGUF --prompt TEXT` and `lucid llm bench GGUF` (docs/llm.md, "CLI").
#include "cli/llm.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "llm/engine.h"
#include "llm/quant.h"

namespace lucid::cli {
namespace {

using llm::Engine;
using llm::Model;

struct RunOptions {
  std::string gguf, prompt, tokens, system;
  int32_t max_tokens = 128;
  int threads = 1;
  bool chat = false, json = false, logits = false, ignore_eos = false;
  llm::SamplingParams sampling;
};

struct BenchOptions {
  std::string gguf;
  int32_t prompt_tokens = 512, gen_tokens = 128;
  int threads = 1;
};

int Fail(const std::string& msg, bool json) {
  if (json) {
    std::cout << nlohmann::json{{"error", msg}}.dump() << "\n";
  } else {
    std::cerr << "error: " << msg << "\n";
  }
  return 1;
}

// %.9g round-trips a float.
std::string FloatList(const std::vector<float>& v) {
  std::string s = "[";
  char buf[32];
  for (size_t i = 0; i < v.size(); ++i) {
    std::snprintf(buf, sizeof(buf), "%s%.9g", i ? "," : "", static_cast<double>(v[i]));
    s += buf;
  }
  return s + "]";
}

const char* FinishName(llm::FinishReason r) {
  switch (r) {
    case llm::FinishReason::kStop: return "stop";
    case llm::FinishReason::kLength: return "length";
    default: return "cancelled";
  }
}

Result<std::vector<int32_t>> PromptTokens(const Model& model, const RunOptions& o) {
  std::vector<int32_t> ids;
  if (!o.tokens.empty()) {
    std::stringstream ss(o.tokens);
    std::string item;
    while (std::getline(ss, item, ','))
      if (!item.empty()) ids.push_back(static_cast<int32_t>(std::stol(item)));
    return ids;
  }
  std::string text = o.prompt;
  if (o.chat) {
    std::vector<llm::ChatMessage> msgs;
    if (!o.system.empty()) msgs.push_back({"system", o.system, {}, "", ""});
    msgs.push_back({"user", o.prompt, {}, "", ""});
    ASSIGN_OR_RETURN(text, model.chat_template().Render(msgs, {}, true));
  }
  return model.tokenizer().Encode(text, /*add_special=*/true, /*parse_special=*/o.chat);
}

int Run(const RunOptions& o) {
  auto model = Model::Load(o.gguf);
  if (!model.ok()) return Fail(model.status().ToString(), o.json);
  const Model& m = **model;
  auto prompt = PromptTokens(m, o);
  if (!prompt.ok()) return Fail(prompt.status().ToString(), o.json);
  Engine engine(*model, {.threads = o.threads});
  std::vector<float> logits;
  if (o.logits) {
    auto l = engine.PromptLogits(*prompt);
    if (!l.ok()) return Fail(l.status().ToString(), o.json);
    logits = std::move(*l);
  }
  llm::GenerateRequest req;
  req.prompt = *prompt;
  req.max_tokens = o.max_tokens;
  req.sampling = o.sampling;
  req.ignore_eos = o.ignore_eos;
  llm::StreamDecoder dec(&m.tokenizer());
  auto res = engine.Generate(req, [&](int32_t id) {
    if (!o.json) std::cout << dec.Push(id) << std::flush;
    return true;
  });
  if (!res.ok()) return Fail(res.status().ToString(), o.json);
  if (!o.json) {
    std::cout << dec.Flush() << "\n";
    std::fprintf(stderr, "[%d prompt tokens, %zu generated (%s); prefill %.1f ms, decode %.1f ms]\n", res->prompt_tokens,
                 res->tokens.size(), FinishName(res->finish), res->prefill_ms, res->decode_ms);
    return 0;
  }
  nlohmann::json j;
  j["model"] = m.info().name;
  j["prompt_tokens"] = *prompt;
  j["tokens"] = res->tokens;
  j["text"] = m.tokenizer().Decode(res->tokens, false);
  j["finish"] = FinishName(res->finish);
  j["prefill_ms"] = res->prefill_ms;
  j["decode_ms"] = res->decode_ms;
  std::string out = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (o.logits) out = out.substr(0, out.size() - 1) + ",\"last_logits\":" + FloatList(logits) + "}";
  std::cout << out << "\n";
  return 0;
}

// Prefill: PromptLogits over prompt_tokens tokens. Decode: gen_tokens tokens after a short
// prompt, EOS ignored; decode_ms covers the gen_tokens − 1 steps after the first token.
int Bench(const BenchOptions& o) {
  auto model = Model::Load(o.gguf);
  if (!model.ok()) return Fail(model.status().ToString(), true);
  const Model& m = **model;
  Engine engine(*model, {.threads = o.threads});
  std::vector<int32_t> prompt;
  std::string text = "The quick brown fox jumps over the lazy dog. ";
  while (static_cast<int32_t>(prompt.size()) < o.prompt_tokens) {
    auto ids = m.tokenizer().Encode(text, false, false);
    prompt.insert(prompt.end(), ids.begin(), ids.end());
  }
  prompt.resize(static_cast<size_t>(o.prompt_tokens));
  const auto t0 = std::chrono::steady_clock::now();
  auto l = engine.PromptLogits(prompt);
  const double prefill_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!l.ok()) return Fail(l.status().ToString(), true);
  llm::GenerateRequest req;
  req.prompt = std::vector<int32_t>(prompt.begin(), prompt.begin() + 8);
  req.max_tokens = o.gen_tokens + 1;
  req.ignore_eos = true;
  auto res = engine.Generate(req);
  if (!res.ok()) return Fail(res.status().ToString(), true);
  const double steps = static_cast<double>(res->tokens.size()) - 1;
  nlohmann::json j;
  j["threads"] = o.threads;
  j["prefill_tokens"] = o.prompt_tokens;
  j["prefill_ms"] = prefill_ms;
  j["prefill_tok_s"] = o.prompt_tokens / (prefill_ms / 1000.0);
  j["decode_tokens"] = steps;
  j["decode_ms"] = res->decode_ms;
  j["decode_tok_s"] = steps / (res->decode_ms / 1000.0);
  j["path"] = std::string(llm::ActiveQuantPath());
  std::cout << j.dump() << "\n";
  return 0;
}

}  // namespace

void AddLlmCommands(CLI::App& app, int* rc) {
  auto* llm_cmd = app.add_subcommand("llm", "Run a GGUF LLM locally with Lucid's deterministic engine");
  llm_cmd->require_subcommand(1);
  static RunOptions run;
  auto* r = llm_cmd->add_subcommand("run", "Generate from a prompt (greedy unless --temperature)");
  r->add_option("GGUF", run.gguf, "The model file")->required()->check(CLI::ExistingFile);
  r->add_option("--prompt", run.prompt, "Prompt text");
  r->add_option("--tokens", run.tokens, "Prompt token ids, comma-separated (instead of --prompt)");
  r->add_flag("--chat", run.chat, "Render --prompt as a user message with the model's chat template");
  r->add_option("--system", run.system, "System message (with --chat)");
  r->add_option("--max-tokens", run.max_tokens, "Tokens to generate")->capture_default_str();
  r->add_option("--threads", run.threads, "Threads")->capture_default_str();
  r->add_option("--temperature", run.sampling.temperature, "0: greedy")->capture_default_str();
  r->add_option("--top-k", run.sampling.top_k, "0: off")->capture_default_str();
  r->add_option("--top-p", run.sampling.top_p, "1: off")->capture_default_str();
  r->add_option("--min-p", run.sampling.min_p, "0: off")->capture_default_str();
  r->add_option("--repeat-penalty", run.sampling.repeat_penalty, "1: off")->capture_default_str();
  r->add_option("--seed", run.sampling.seed, "Sampling seed")->capture_default_str();
  r->add_flag("--ignore-eos", run.ignore_eos, "Do not stop at end-of-generation tokens");
  r->add_flag("--logits", run.logits, "With --json: the last prompt position's logits as last_logits");
  r->add_flag("--json", run.json, "Print one JSON object: prompt tokens, tokens, text, timings");
  r->callback([rc] { *rc = Run(run); });
  static BenchOptions bench;
  auto* b = llm_cmd->add_subcommand("bench", "Prefill and decode speed (JSON)");
  b->add_option("GGUF", bench.gguf, "The model file")->required()->check(CLI::ExistingFile);
  b->add_option("--prompt-tokens", bench.prompt_tokens, "Prefill length")->capture_default_str();
  b->add_option("--gen-tokens", bench.gen_tokens, "Decode steps")->capture_default_str();
  b->add_option("--threads", bench.threads, "Threads")->capture_default_str();
  b->callback([rc] { *rc = Bench(bench); });
}

}  // namespace lucid::cli
