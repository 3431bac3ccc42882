// `lucid chat NAME@VERSION`: a chat with a GGUF (LLM) version over the node's OpenAI-compatible
// route (api/openai.h), streamed as server-sent events; each answer's receipt (the final
// event's "lucid" field) is saved as a result bundle, so `lucid verify RECEIPT --replay`
// regenerates it locally. --prompt asks once and exits (scripts, tests).
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/commands.h"

namespace lucid::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Turn {
  std::string text;
  json tool_calls = json::array();
  json last;  // the final chunk (finish_reason, usage, lucid)
};

// One streamed answer: prints content as it arrives.
Result<Turn> Ask(const Context& ctx, const std::string& ref, const ChatOptions& opts, const json& messages) {
  httplib::Client client(ctx.node_url);
  client.set_read_timeout(600, 0);
  json body = {{"model", ref}, {"messages", messages}, {"stream", true}, {"temperature", opts.temperature},
               {"seed", opts.seed}};
  if (opts.max_tokens >= 0) body["max_tokens"] = opts.max_tokens;
  body["lucid_mode"] = opts.mode;
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.headers = {{"Authorization", "Bearer " + opts.api_key}, {"Accept", "text/event-stream"}};
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  Turn turn;
  std::string pending, error_body;
  Status stream_error = Status::Ok();
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    pending.append(data, n);
    size_t end;
    while ((end = pending.find("\n\n")) != std::string::npos) {
      std::string event = pending.substr(0, end);
      pending.erase(0, end + 2);
      if (event.rfind("data: ", 0) != 0) {
        error_body += event;
        continue;
      }
      std::string payload = event.substr(6);
      if (payload == "[DONE]") continue;
      json j = json::parse(payload, nullptr, false);
      if (j.is_discarded()) continue;
      if (j.contains("error")) {
        stream_error = Unavailable(j["error"].value("message", "error"));
        continue;
      }
      if (!j.contains("choices") || j["choices"].empty()) continue;
      const json& choice = j["choices"][0];
      const json& delta = choice.value("delta", json::object());
      if (delta.contains("content") && delta["content"].is_string()) {
        std::string piece = delta["content"].get<std::string>();
        turn.text += piece;
        if (!ctx.json_output) std::cout << piece << std::flush;
      }
      if (delta.contains("tool_calls")) turn.tool_calls = delta["tool_calls"];
      if (!choice["finish_reason"].is_null()) turn.last = j;
    }
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  if (!client.send(req, res, err)) return Unavailable("cannot reach " + ctx.node_url + ": " + httplib::to_string(err));
  if (res.status != 200) {
    json j = json::parse(pending + error_body + res.body, nullptr, false);
    std::string msg = !j.is_discarded() && j.contains("error") ? j["error"].value("message", "") : pending + res.body;
    return InvalidArgument("the node answered " + std::to_string(res.status) + ": " + msg);
  }
  if (!stream_error.ok()) return stream_error;
  if (turn.last.is_null()) return Unavailable("the stream ended without its final event");
  return turn;
}

Result<std::string> SaveBundle(const Context& ctx, const std::string& ref, const json& lucid) {
  json bundle = lucid;
  bundle["format"] = "lucid-result-bundle/1";
  bundle["model"] = ref;
  const std::string id = lucid["receipt_id"].get<std::string>();
  fs::path dir = fs::path(ctx.home) / "results";
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::path path = dir / (id + ".json");
  std::ofstream f(path);
  f << bundle.dump(2);
  if (!f) return Internal("cannot write " + path.string());
  return path.string();
}

}  // namespace

int Chat(const Context& ctx, const std::string& ref, const ChatOptions& opts) {
  json messages = json::array();
  if (!opts.system.empty()) messages.push_back({{"role", "system"}, {"content", opts.system}});
  const bool one_shot = !opts.prompt.empty();
  if (!one_shot) std::cerr << "chat with " << ref << " (empty line or EOF ends)\n";
  for (;;) {
    std::string line;
    if (one_shot) {
      line = opts.prompt;
    } else {
      std::cerr << "> " << std::flush;
      if (!std::getline(std::cin, line) || line.empty()) return kExitOk;
    }
    messages.push_back({{"role", "user"}, {"content", line}});
    auto turn = Ask(ctx, ref, opts, messages);
    if (!ctx.json_output) std::cout << "\n";
    if (!turn.ok())
      return Fail(ctx, turn.status(),
                  turn.status().code() == Code::kNotFound
                      ? "see the models with `lucid hub list`; chat takes a GGUF version, NAME@MAJOR.MINOR"
                      : "");
    if (ctx.json_output) {  // one document per answer: the text, tool calls, usage and the receipt
      const json& last = turn->last;
      auto saved = SaveBundle(ctx, ref, last["lucid"]);
      PrintJson({{"text", turn->text}, {"tool_calls", turn->tool_calls},
                 {"finish_reason", last["choices"][0]["finish_reason"]}, {"usage", last["usage"]},
                 {"lucid", last["lucid"]}, {"bundle", saved.ok() ? json(*saved) : json(nullptr)}});
      messages.push_back({{"role", "assistant"}, {"content", turn->text}});
      if (one_shot) return kExitOk;
      continue;
    }
    for (const auto& c : turn->tool_calls)
      std::cout << "tool call " << c["function"]["name"].get<std::string>() << " "
                << c["function"]["arguments"].get<std::string>() << "\n";
    json assistant = {{"role", "assistant"}, {"content", turn->text}};
    if (!turn->tool_calls.empty()) assistant["tool_calls"] = turn->tool_calls;
    messages.push_back(assistant);
    const json& lucid = turn->last["lucid"];
    const json& usage = turn->last["usage"];
    auto saved = SaveBundle(ctx, ref, lucid);
    std::cerr << "(" << usage["completion_tokens"] << " tokens, finish "
              << turn->last["choices"][0]["finish_reason"].get<std::string>() << ") receipt "
              << lucid["receipt_id"].get<std::string>();
    if (saved.ok()) std::cerr << ", bundle " << *saved;
    std::cerr << "\n  verify with: lucid verify " << lucid["receipt_id"].get<std::string>() << " --replay\n";
    if (one_shot) return kExitOk;
  }
}

}  // namespace lucid::cli
