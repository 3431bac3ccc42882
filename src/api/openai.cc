#include "api/openai.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

#include <nlohmann/json.hpp>

#include "api/json_views.h"
#include "hub/hub.h"
#include "llm/request.h"
#include "node/chain_access.h"
#include "node/inference_node.h"

namespace lucid::api {
namespace {

using ojson = nlohmann::ordered_json;

struct OaiError {
  int http = 400;
  std::string message, type = "invalid_request_error", param, code;
};

// Model text may hold invalid UTF-8 (byte tokens): JSON shows U+FFFD there; the receipt's
// canonical bytes keep the exact bytes (lucid.llm_output).
std::string Dump(const ojson& j) { return j.dump(-1, ' ', false, ojson::error_handler_t::replace); }

ojson ErrorBody(const OaiError& e) {
  return {{"error",
           {{"message", e.message},
            {"type", e.type},
            {"param", e.param.empty() ? ojson(nullptr) : ojson(e.param)},
            {"code", e.code.empty() ? ojson(nullptr) : ojson(e.code)}}}};
}

void SendError(httplib::Response& res, const OaiError& e) {
  res.status = e.http;
  res.set_content(Dump(ErrorBody(e)), "application/json");
}

// A Status from the node or chain → OpenAI's shape (4xx for the caller's mistakes).
OaiError FromStatus(const Status& s, std::string param = "") {
  OaiError e;
  e.message = s.message();
  e.param = std::move(param);
  switch (s.code()) {
    case Code::kInvalidArgument: e.http = 400; e.code = "invalid_value"; break;
    case Code::kNotFound: e.http = 404; e.code = "model_not_found"; break;
    case Code::kOutOfRange: e.http = 400; e.code = "context_length_exceeded"; break;
    case Code::kPermissionDenied: e.http = 403; e.type = "permission_error"; break;
    case Code::kFailedPrecondition: e.http = 402; e.type = "insufficient_quota"; e.code = "insufficient_quota"; break;
    case Code::kUnimplemented: e.http = 400; e.code = "unsupported"; break;
    case Code::kUnavailable: e.http = 503; e.type = "server_error"; break;
    default: e.http = 500; e.type = "server_error"; break;
  }
  return e;
}

int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string Hex(const Hash32& h) {
  std::string s = ToHex(h);
  return s.rfind("0x", 0) == 0 ? s.substr(2) : s;
}

// Everything prepared before the answer starts: the checks that make a 4xx.
struct Prepared {
  std::string ref;  // the "model" the caller named
  crypto::Cid model;
  const crypto::PrivateKey* requester = nullptr;
  llm::LlmRequest request;
  TensorMap inputs;
  protocol::InferenceRequest unsigned_request;
  bool stream = false;
  int32_t prompt_tokens = 0;
  protocol::Mode mode = protocol::Mode::kVanilla;
};

class OpenAi {
 public:
  OpenAi(node::ChainAccess* chain, hub::Hub* hub, node::InferenceNode* node, OpenAiOptions options)
      : chain_(chain), hub_(hub), node_(node), options_(std::move(options)) {}

  bool Prepare(const httplib::Request& req, bool chat, Prepared* p, OaiError* e) {
    if (!node_) return Err(e, 503, "this server runs no inference node", "server_error", "", "");
    // The gateway's requester: the bearer API key.
    std::string auth = req.get_header_value("Authorization");
    if (auth.rfind("Bearer ", 0) != 0) {
      *e = {401, "missing API key: send Authorization: Bearer KEY", "invalid_request_error", "", "invalid_api_key"};
      return false;
    }
    auto key = options_.api_keys.find(auth.substr(7));
    if (key == options_.api_keys.end()) {
      *e = {401, "unknown API key", "invalid_request_error", "", "invalid_api_key"};
      return false;
    }
    p->requester = &key->second;
    if (req.body.size() > options_.max_json_bytes)
      return Err(e, 413, "request body is " + std::to_string(req.body.size()) + " bytes", "invalid_request_error", "", "");
    ojson body = ojson::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object())
      return Err(e, 400, "the request body is not a JSON object", "invalid_request_error", "", "invalid_json");
    if (!body.contains("model") || !body["model"].is_string())
      return Err(e, 400, "model must name a hub version, NAME@MAJOR.MINOR", "invalid_request_error", "model", "");
    p->ref = body["model"].get<std::string>();
    auto entry = chain_->ResolveModel(p->ref);
    if (!entry.ok())
      return Err(e, 404, "model '" + p->ref + "' is not a published version: " + entry.status().message(),
                 "invalid_request_error", "model", "model_not_found");
    p->model = entry->manifest;
    auto manifest = hub_->GetManifest(p->model);
    if (!manifest.ok()) return Fail(e, FromStatus(manifest.status(), "model"));
    if (manifest->format != "gguf")
      return Err(e, 400, "model '" + p->ref + "' is a " + manifest->format + " version, not an LLM (gguf)",
                 "invalid_request_error", "model", "model_not_supported");
    if (body.contains("stream") && !body["stream"].is_null()) {
      if (!body["stream"].is_boolean()) return Err(e, 400, "stream must be true or false", "invalid_request_error", "stream", "");
      p->stream = body["stream"].get<bool>();
    }
    // Lucid's mode (docs/llm.md "Modes"): the body's "lucid_mode" or the X-Lucid-Mode header,
    // "vanilla" (default) or "tee" (the answer is generated and signed in the node's enclave).
    std::string mode_name;
    if (body.contains("lucid_mode") && !body["lucid_mode"].is_null()) {
      if (!body["lucid_mode"].is_string())
        return Err(e, 400, "lucid_mode must be \"vanilla\" or \"tee\"", "invalid_request_error", "lucid_mode", "invalid_value");
      mode_name = body["lucid_mode"].get<std::string>();
    }
    if (req.has_header("X-Lucid-Mode")) {
      const std::string header = req.get_header_value("X-Lucid-Mode");
      if (!mode_name.empty() && header != mode_name)
        return Err(e, 400, "X-Lucid-Mode says '" + header + "', lucid_mode '" + mode_name + "'", "invalid_request_error",
                   "lucid_mode", "invalid_value");
      mode_name = header;
    }
    if (!mode_name.empty() && mode_name != "vanilla" && mode_name != "tee")
      return Err(e, 400, "lucid_mode must be \"vanilla\" or \"tee\", not '" + mode_name + "'", "invalid_request_error",
                 "lucid_mode", "invalid_value");
    p->mode = mode_name == "tee" ? protocol::Mode::kTee : protocol::Mode::kVanilla;
    if ((node_->config().modes & protocol::ModeBit(p->mode)) == 0)
      return Err(e, 400, "this node does not serve mode " + std::string(protocol::ModeName(p->mode)),
                 "invalid_request_error", "lucid_mode", "unsupported");
    llm::ApiError perr;
    if (!llm::ParseOpenAiRequest(req.body, chat, p->model.ToString(), &p->request, &perr))
      return Fail(e, OaiError{400, perr.status.message(), "invalid_request_error", perr.param, "invalid_value"});
    // The prompt must fit the context; max_tokens defaults to what is left (at most 256).
    const int32_t asked = p->request.max_tokens;
    p->request.max_tokens = 0;
    auto budget = node_->LlmBudget(p->model, p->request.ToInputs());
    if (!budget.ok()) return Fail(e, FromStatus(budget.status(), chat ? "messages" : "prompt"));
    auto [prompt, context] = *budget;
    p->prompt_tokens = prompt;
    if (prompt >= context)
      return Err(e, 400,
                 "the prompt has " + std::to_string(prompt) + " tokens; this model's context is " + std::to_string(context),
                 "invalid_request_error", chat ? "messages" : "prompt", "context_length_exceeded");
    if (asked < 0) {
      p->request.max_tokens = std::min(llm::kDefaultMaxTokens, context - prompt);
    } else if (static_cast<int64_t>(prompt) + asked > context) {
      return Err(e, 400,
                 "the prompt (" + std::to_string(prompt) + " tokens) plus max_tokens (" + std::to_string(asked) +
                     ") is beyond this model's context of " + std::to_string(context) + " tokens",
                 "invalid_request_error", "max_tokens", "context_length_exceeded");
    } else {
      p->request.max_tokens = asked;
    }
    p->inputs = p->request.ToInputs();
    protocol::InferenceRequest& r = p->unsigned_request;
    r.model = p->model;
    r.mode = p->mode;
    r.input_hash = HashTensorMap(p->inputs);
    r.seed = p->request.sampling.seed;
    auto fee = node_->QuoteFee(p->model, p->mode);
    if (!fee.ok()) return Fail(e, FromStatus(fee.status(), "model"));
    r.max_fee = *fee;
    r.node = node_->address();
    return true;
  }

  ojson LucidField(const Prepared& p, const node::InferenceResult& r, const llm::LlmOutput& out) {
    // The field is a result bundle as it stands (`lucid verify RECEIPT --bundle FILE --replay`).
    ojson j = {{"receipt_id", Hex(r.receipt_id)},
               {"tx_hash", Hex(r.tx_hash)},
               {"model_cid", p.model.ToString()},
               {"input_hash", Hex(r.result.receipt.input_hash)},
               {"output_hash", Hex(r.result.receipt.output_hash)},
               {"requester", r.result.request.request.requester.ToHex()},
               {"request_nonce", r.result.request.request.nonce},
               {"node", r.result.receipt.node.ToHex()},
               {"engine", r.result.receipt.engine},
               {"mode", std::string(protocol::ModeName(r.result.receipt.mode))},
               {"tokens", out.tokens},
               {"prefill_ms", r.llm.prefill_ms},
               {"decode_ms", r.llm.decode_ms},
               {"request", ToHex(r.result.request.Encode())},
               {"receipt", ToHex(r.result.receipt.Encode())},
               {"evidence", ToHex(r.result.evidence.Encode())},
               {"llm_request", ToHex(p.request.Encode())},
               {"llm_output", ToHex(out.EncodeOutput())}};
    if (r.submitted.height) j["height"] = *r.submitted.height;
    if (r.result.receipt.mode == protocol::Mode::kTee && r.result.evidence.data.size() == 65) {
      // The registration the enclave signed under (`lucid verify` re-checks it from its block,
      // so the receipt keeps verifying after the enclave restarts with another key).
      crypto::Signature sig{};
      std::copy(r.result.evidence.data.begin(), r.result.evidence.data.end(), sig.begin());
      auto signer = crypto::RecoverAddress(protocol::SigningDigest(r.receipt_id), sig);
      auto enclave = chain_->GetEnclave(r.result.receipt.node);
      if (signer.ok() && enclave.ok() && enclave->enclave_address == *signer)
        j["enclave_registration"] = {{"registered_height", enclave->registered_height}};
    }
    return j;
  }

  static ojson Usage(int32_t prompt, size_t completion) {
    return {{"prompt_tokens", prompt},
            {"completion_tokens", completion},
            {"total_tokens", static_cast<int64_t>(prompt) + static_cast<int64_t>(completion)}};
  }

  static ojson Message(const llm::LlmOutput& out) {
    ojson m = {{"role", "assistant"}, {"content", out.text.empty() && !out.tool_calls.empty() ? ojson(nullptr) : ojson(out.text)}};
    if (!out.tool_calls.empty()) m["tool_calls"] = ToolCalls(out, false);
    return m;
  }

  static ojson ToolCalls(const llm::LlmOutput& out, bool with_index) {
    ojson calls = ojson::array();
    for (size_t i = 0; i < out.tool_calls.size(); ++i) {
      const auto& c = out.tool_calls[i];
      ojson call;
      if (with_index) call["index"] = i;
      call["id"] = c.id;
      call["type"] = "function";
      call["function"] = {{"name", c.name}, {"arguments", c.arguments}};
      calls.push_back(std::move(call));
    }
    return calls;
  }

  void Handle(const httplib::Request& req, httplib::Response& res, bool chat) {
    auto p = std::make_shared<Prepared>();
    OaiError e;
    if (!Prepare(req, chat, p.get(), &e)) return SendError(res, e);
    const int64_t created = Now();
    const std::string id = (chat ? "chatcmpl-" : "cmpl-") + std::to_string(created) + "-" + std::to_string(++counter_);
    const std::string object = chat ? "chat.completion" : "text_completion";
    if (!p->stream) {
      auto r = node_->InferAsRequester(p->unsigned_request, *p->requester, p->inputs, std::chrono::milliseconds(0));
      if (!r.ok()) return SendError(res, FromStatus(r.status()));
      auto out = llm::LlmOutput::FromOutputs(r->outputs);
      if (!out.ok()) return SendError(res, FromStatus(out.status()));
      ojson choice = {{"index", 0}};
      if (chat) {
        choice["message"] = Message(*out);
      } else {
        choice["text"] = out->text;
      }
      choice["logprobs"] = nullptr;
      choice["finish_reason"] = llm::FinishName(out->finish);
      ojson body = {{"id", id},
                    {"object", object},
                    {"created", created},
                    {"model", p->ref},
                    {"system_fingerprint", std::string(llm::kLlmEngineId)},
                    {"choices", ojson::array({choice})},
                    {"usage", Usage(r->llm.prompt_tokens ? r->llm.prompt_tokens : p->prompt_tokens, out->tokens.size())},
                    {"lucid", LucidField(*p, *r, *out)}};
      res.set_header("X-Lucid-Receipt", Hex(r->receipt_id));
      res.status = 200;
      res.set_content(Dump(body), "application/json");
      return;
    }
    // Server-sent events: one chunk per piece of text, the last one with finish_reason, usage
    // and the receipt ("lucid"), then [DONE]. Errors after the headers are sent come as an
    // event with OpenAI's error shape.
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    const std::string ref = p->ref;
    res.set_chunked_content_provider(
        "text/event-stream", [this, p, chat, id, object, created, ref](size_t, httplib::DataSink& sink) {
          try {
          auto chunk = [&](ojson delta_or_text, const ojson& finish) {
            ojson choice = {{"index", 0}};
            if (chat) {
              choice["delta"] = std::move(delta_or_text);
            } else {
              choice["text"] = std::move(delta_or_text);
            }
            choice["logprobs"] = nullptr;
            choice["finish_reason"] = finish;
            return ojson{{"id", id},
                         {"object", chat ? "chat.completion.chunk" : "text_completion"},
                         {"created", created},
                         {"model", ref},
                         {"system_fingerprint", std::string(llm::kLlmEngineId)},
                         {"choices", ojson::array({choice})}};
          };
          auto send = [&](const ojson& j) {
            std::string s = "data: " + Dump(j) + "\n\n";
            return sink.write(s.data(), s.size());
          };
          bool first = true;
          auto on_text = [&](std::string_view piece) {
            if (piece.empty()) return true;
            ojson d = chat ? ojson{{"content", std::string(piece)}} : ojson(std::string(piece));
            if (chat && first) d = ojson{{"role", "assistant"}, {"content", std::string(piece)}};
            first = false;
            return send(chunk(d, nullptr));
          };
          if (chat && !send(chunk(ojson{{"role", "assistant"}, {"content", ""}}, nullptr))) return false;
          first = false;
          auto r = node_->InferAsRequester(p->unsigned_request, *p->requester, p->inputs, std::chrono::milliseconds(0),
                                           on_text);
          if (!r.ok()) {
            send(ErrorBody(FromStatus(r.status())));
          } else {
            auto out = llm::LlmOutput::FromOutputs(r->outputs);
            if (!out.ok()) {
              send(ErrorBody(FromStatus(out.status())));
            } else {
              ojson last_delta = chat ? ojson::object() : ojson("");
              if (chat && !out->tool_calls.empty()) last_delta["tool_calls"] = ToolCalls(*out, true);
              ojson last = chunk(last_delta, llm::FinishName(out->finish));
              last["usage"] = Usage(r->llm.prompt_tokens ? r->llm.prompt_tokens : p->prompt_tokens, out->tokens.size());
              last["lucid"] = LucidField(*p, *r, *out);
              send(last);
            }
          }
          const std::string done = "data: [DONE]\n\n";
          sink.write(done.data(), done.size());
          sink.done();
          return true;
          } catch (const std::exception& ex) {
            // Never let an exception out of the server's thread: end this stream only.
            std::string s = "data: " + Dump(ErrorBody(OaiError{500, std::string("unexpected: ") + ex.what(), "server_error", "", ""})) +
                            "\n\ndata: [DONE]\n\n";
            sink.write(s.data(), s.size());
            sink.done();
            return true;
          }
        });
  }

  void Models(httplib::Response& res) {
    auto repos = chain_->ListRepos("");
    if (!repos.ok()) return SendError(res, FromStatus(repos.status()));
    ojson data = ojson::array();
    for (const auto& repo : *repos) {
      for (const auto& v : repo.versions) {
        auto m = hub_->GetManifest(v.manifest);
        if (!m.ok() || m->format != "gguf") continue;
        data.push_back({{"id", repo.name + "@" + std::to_string(v.major) + "." + std::to_string(v.minor)},
                        {"object", "model"},
                        {"created", 0},
                        {"owned_by", repo.owner.ToHex()},
                        {"lucid", {{"manifest_cid", v.manifest.ToString()}, {"height", v.height}, {"price", v.price}}}});
      }
    }
    res.status = 200;
    res.set_content(Dump(ojson{{"object", "list"}, {"data", data}}), "application/json");
  }

 private:
  static bool Err(OaiError* e, int http, std::string message, std::string type, std::string param, std::string code) {
    *e = OaiError{http, std::move(message), std::move(type), std::move(param), std::move(code)};
    return false;
  }
  static bool Fail(OaiError* e, OaiError v) {
    *e = std::move(v);
    return false;
  }

  node::ChainAccess* chain_;
  hub::Hub* hub_;
  node::InferenceNode* node_;
  OpenAiOptions options_;
  std::atomic<uint64_t> counter_{0};
};

template <typename Fn>
httplib::Server::Handler GuardOai(Fn fn) {
  return [fn](const httplib::Request& req, httplib::Response& res) {
    try {
      fn(req, res);
    } catch (const std::exception& ex) {
      SendError(res, OaiError{500, std::string("unexpected: ") + ex.what(), "server_error", "", ""});
    }
  };
}

}  // namespace

void AddOpenAiRoutes(httplib::Server& s, node::ChainAccess* chain, hub::Hub* hub, node::InferenceNode* node,
                     const OpenAiOptions& options) {
  auto api = std::make_shared<OpenAi>(chain, hub, node, options);
  s.Get("/v1/models", GuardOai([api](const httplib::Request&, httplib::Response& res) { api->Models(res); }));
  s.Post("/v1/chat/completions",
         GuardOai([api](const httplib::Request& req, httplib::Response& res) { api->Handle(req, res, true); }));
  s.Post("/v1/completions",
         GuardOai([api](const httplib::Request& req, httplib::Response& res) { api->Handle(req, res, false); }));
}

}  // namespace lucid::api
