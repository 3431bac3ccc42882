#include "api/server.h"

#include "api/http_util.h"

#include <httplib.h>

#include <charconv>
#include <chrono>

#include <nlohmann/json.hpp>

#include "api/json_views.h"
#include "api/metrics_text.h"
#include "api/openai.h"
#include "api/web.h"
#include "base/metrics.h"
#include "hub/hub.h"
#include "node/chain_access.h"
#include "node/inference_node.h"
#include "tensor/tensor_json.h"

namespace lucid::api {
namespace {

using http::Guard;
using http::HttpStatusFor;
using http::ParseBody;
using http::SendError;
using http::SendJson;

Result<Hash32> PathHash(const httplib::Request& req) { return Hash32FromHex(req.matches[1].str()); }

std::chrono::milliseconds WaitFrom(const json& j, uint64_t max_ms = 60000) {
  uint64_t ms = 0;
  if (j.contains("wait_ms") && j["wait_ms"].is_number_unsigned()) ms = std::min<uint64_t>(j["wait_ms"].get<uint64_t>(), max_ms);
  return std::chrono::milliseconds(ms);
}

}  // namespace

Server::Server(node::ChainAccess* chain, hub::Hub* hub, node::InferenceNode* node, ServerOptions options)
    : chain_(chain), hub_(hub), node_(node), options_(std::move(options)), http_(std::make_unique<httplib::Server>()) {
  Routes();
}

Server::~Server() { Stop(); }

Result<int> Server::Start() {
  http_->set_payload_max_length(options_.max_body_bytes);
  // Long-lived LLM streams hold a handler thread each: enough threads that 8+ concurrent
  // streams never starve chain queries and other requests.
  http_->new_task_queue = [] { return new httplib::ThreadPool(32); };
  // An error httplib answers itself (no route: 404; an unreadable request: 400; too large:
  // 413) gets the same JSON error body as a handler's, so every response of this API is
  // what /openapi.json says it is. Handler errors already have a body and pass through.
  http_->set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    Code code = res.status == 404 ? Code::kNotFound : res.status == 413 ? Code::kOutOfRange
              : res.status < 500 ? Code::kInvalidArgument : Code::kInternal;
    std::string message = res.status == 404 ? "no route for " + req.method + " " + req.path
                                            : "the HTTP layer refused the request (status " +
                                                  std::to_string(res.status) + ")";
    res.set_content(json{{"error", {{"code", CodeName(code)}, {"message", message}}}}.dump(
                        -1, ' ', false, json::error_handler_t::replace),
                    "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  // /metrics: every response counted by status class (lock-free; httplib calls the logger
  // once per request, router 404s included).
  http_->set_logger([](const httplib::Request&, const httplib::Response& res) {
    const int cls = res.status / 100;
    if (cls >= 1 && cls <= 5) metrics::Global().http_responses[static_cast<size_t>(cls)].Inc();
  });
  int port = options_.port;
  if (port == 0) {
    port = http_->bind_to_any_port(options_.host);
    if (port < 0) return Unavailable("cannot bind " + options_.host);
  } else if (!http_->bind_to_port(options_.host, port)) {
    return Unavailable("cannot bind " + options_.host + ":" + std::to_string(port) + " (in use?)");
  }
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  // httplib's stop() only acts once the listen loop is running: wait for it, so a Stop()
  // right after Start() cannot leave the thread blocked in accept().
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!http_->is_running()) {
    if (std::chrono::steady_clock::now() > deadline) return Internal("HTTP server did not start listening");
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return port;
}

void Server::Stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

void Server::Routes() {
  httplib::Server& s = *http_;

  s.Get("/status", Guard([this](const httplib::Request&, httplib::Response& res) -> Status {
    chain::AppInfo info = chain_->Info();
    json j = {{"chain_id", info.chain_id},
              {"height", info.height},
              {"app_hash", ToHex(info.app_hash)},
              {"last_block_hash", ToHex(info.last_block_hash)},
              {"last_time_ms", info.last_time_ms},
              {"dev_mode", chain_->GenesisInfo().params.dev_mode}};
    if (node_) {
      j["node"] = {{"address", node_->address().ToHex()},
                   {"fee_per_inference", node_->config().fee_per_inference},
                   {"fees", {{"vanilla", node_->config().fee_per_inference},
                             {"zkml", node_->config().zkml_fee_per_inference}}}};
    }
    SendJson(res, j);
    return Status::Ok();
  }));

  s.Get("/chain/genesis", Guard([this](const httplib::Request&, httplib::Response& res) -> Status {
    SendJson(res, GenesisJson(chain_->GenesisInfo()));
    return Status::Ok();
  }));

  s.Get(R"(/chain/accounts/([^/]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(crypto::Address a, crypto::Address::FromHex(req.matches[1].str()));
    ASSIGN_OR_RETURN(chain::Account acct, chain_->GetAccount(a));
    json j = AccountJson(acct);
    j["address"] = a.ToHex();
    SendJson(res, j);
    return Status::Ok();
  }));

  s.Get(R"(/chain/blocks/([^/]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    std::string h = req.matches[1].str();
    uint64_t height = 0;
    if (h == "latest") {
      height = chain_->Info().height;
    } else {
      auto [p, ec] = std::from_chars(h.data(), h.data() + h.size(), height);
      if (ec != std::errc() || p != h.data() + h.size()) return InvalidArgument("block height must be a number or 'latest'");
    }
    ASSIGN_OR_RETURN(chain::StoredBlock block, chain_->GetBlock(height));
    json txs = json::array();
    for (size_t i = 0; i < block.txs.size(); ++i) {
      json t;
      auto decoded = protocol::SignedTx::Decode(block.txs[i]);
      if (decoded.ok()) t = TxJson(*decoded);
      t["raw"] = ToHex(block.txs[i]);
      if (i < block.results.size()) t["result"] = TxResultJson(block.results[i]);
      txs.push_back(std::move(t));
    }
    SendJson(res, {{"header", HeaderJson(block.header)}, {"header_raw", ToHex(block.header.Encode())}, {"txs", txs}});
    return Status::Ok();
  }));

  s.Get(R"(/chain/receipts/([0-9a-fA-Fx]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(Hash32 id, PathHash(req));
    ASSIGN_OR_RETURN(chain::ReceiptRecord rec, chain_->GetReceipt(id));
    ASSIGN_OR_RETURN(crypto::InclusionProof proof, chain_->ProveReceipt(id));
    ASSIGN_OR_RETURN(chain::StoredBlock block, chain_->GetBlock(rec.height));
    json out = {{"receipt_id", ToHex(id)},
                   {"height", rec.height},
                   {"index", rec.index},
                   {"node_paid", rec.node_paid},
                   {"publisher_paid", rec.publisher_paid},
                   {"receipt", ReceiptJson(rec.result.receipt)},
                   {"request", RequestJson(rec.result.request.request)},
                   {"raw",
                    {{"request", ToHex(rec.result.request.Encode())},
                     {"receipt", ToHex(rec.result.receipt.Encode())},
                     {"evidence", ToHex(rec.result.evidence.Encode())},
                     {"header", ToHex(block.header.Encode())}}},
                   {"proof", ProofJson(proof)},
                   {"header", HeaderJson(block.header)}};
    AddSettlementJson(rec, out);  // replay receipts: pending until final_height, or overturned
    SendJson(res, out);
    return Status::Ok();
  }));

  s.Get("/chain/nodes", Guard([this](const httplib::Request&, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(auto nodes, chain_->ListNodes());
    json arr = json::array();
    for (const auto& n : nodes) arr.push_back(NodeJson(n));
    SendJson(res, {{"nodes", arr}});
    return Status::Ok();
  }));

  s.Get(R"(/chain/nodes/(0x[0-9a-fA-F]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(crypto::Address a, crypto::Address::FromHex(req.matches[1].str()));
    ASSIGN_OR_RETURN(chain::NodeInfo n, chain_->GetNode(a));
    SendJson(res, NodeJson(n));
    return Status::Ok();
  }));

  // ---- async requests, replay challenges, data feeds, workflows (docs/settlement.md) ----
  s.Get(R"(/chain/requests/([0-9a-fA-Fx]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(Hash32 id, PathHash(req));
    ASSIGN_OR_RETURN(chain::AsyncRequest a, chain_->GetAsyncRequest(id));
    SendJson(res, AsyncRequestJson(a));
    return Status::Ok();
  }));

  s.Get(R"(/chain/nodes/(0x[0-9a-fA-F]+)/pending)", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(crypto::Address a, crypto::Address::FromHex(req.matches[1].str()));
    ASSIGN_OR_RETURN(auto pending, chain_->PendingRequestsFor(a));
    json arr = json::array();
    for (const auto& p : pending) arr.push_back(AsyncRequestJson(p));
    SendJson(res, {{"node", a.ToHex()}, {"requests", arr}});
    return Status::Ok();
  }));

  s.Get(R"(/chain/nodes/(0x[0-9a-fA-F]+)/challenges)", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(crypto::Address a, crypto::Address::FromHex(req.matches[1].str()));
    ASSIGN_OR_RETURN(auto open, chain_->OpenChallengesFor(a));
    json arr = json::array();
    for (const auto& c : open) arr.push_back(ChallengeJson(c));
    SendJson(res, {{"node", a.ToHex()}, {"challenges", arr}});
    return Status::Ok();
  }));

  s.Get(R"(/chain/challenges/([0-9a-fA-Fx]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(Hash32 id, PathHash(req));
    ASSIGN_OR_RETURN(chain::Challenge c, chain_->GetChallenge(id));
    SendJson(res, ChallengeJson(c));
    return Status::Ok();
  }));

  s.Get(R"(/chain/feeds/([^/]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(chain::DataFeed f, chain_->GetFeed(req.matches[1].str()));
    SendJson(res, FeedJson(f));
    return Status::Ok();
  }));

  s.Get(R"(/chain/workflows/([^/]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    const std::string text = req.matches[1].str();
    uint64_t id = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || p != text.data() + text.size()) return InvalidArgument("workflow id must be a number");
    ASSIGN_OR_RETURN(chain::Workflow w, chain_->GetWorkflow(id));
    SendJson(res, WorkflowJson(w));
    return Status::Ok();
  }));

  // Hub replication (docs/ipfs.md "Replication").
  s.Get("/chain/hubs", Guard([this](const httplib::Request&, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(auto hubs, chain_->ListHubs());
    json arr = json::array();
    for (const auto& h : hubs) arr.push_back(HubJson(h));
    SendJson(res, {{"hubs", arr}});
    return Status::Ok();
  }));

  s.Get(R"(/chain/hubs/(0x[0-9a-fA-F]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(crypto::Address a, crypto::Address::FromHex(req.matches[1].str()));
    ASSIGN_OR_RETURN(chain::HubRecord h, chain_->GetHub(a));
    ASSIGN_OR_RETURN(auto pins, chain_->HubPins(a));
    json j = HubJson(h);
    json arr = json::array();
    for (const auto& c : pins) arr.push_back(c.ToString());
    j["pinned"] = arr;
    SendJson(res, j);
    return Status::Ok();
  }));

  s.Get("/chain/replication", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    const bool only_under = req.has_param("under_replicated") && req.get_param_value("under_replicated") != "false" &&
                            req.get_param_value("under_replicated") != "0";
    ASSIGN_OR_RETURN(auto all, chain_->ListReplication());
    json arr = json::array();
    size_t under = 0;
    for (const auto& r : all) {
      if (r.under_replicated()) ++under;
      if (!only_under || r.under_replicated()) arr.push_back(ReplicationJson(r));
    }
    SendJson(res, {{"min_replicas", chain_->GenesisInfo().params.replication.min_replicas},
                   {"published", all.size()},
                   {"under_replicated", under},
                   {"versions", arr}});
    return Status::Ok();
  }));

  s.Get(R"(/chain/replication/([a-z0-9]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(crypto::Cid cid, crypto::Cid::Parse(req.matches[1].str()));
    ASSIGN_OR_RETURN(chain::VersionReplication r, chain_->GetReplication(cid));
    SendJson(res, ReplicationJson(r));
    return Status::Ok();
  }));

  // tee: the current tee params (docs/tee-chain.md).
  s.Get("/chain/tee/params", Guard([this](const httplib::Request&, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(chain::TeeParams params, chain_->GetTeeParams());
    SendJson(res, TeeParamsJson(params));
    return Status::Ok();
  }));

  // tee: a node's enclave registration (docs/tee-enclave.md).
  s.Get(R"(/chain/enclaves/([^/]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(crypto::Address node, crypto::Address::FromHex(req.matches[1].str()));
    ASSIGN_OR_RETURN(chain::EnclaveInfo e, chain_->GetEnclave(node));
    ASSIGN_OR_RETURN(chain::TeeParams params, chain_->GetTeeParams());
    bool allowed = false;
    for (const Bytes& p : params.allowed_pcr0) allowed |= p == e.pcr0;
    json j = EnclaveJson(e);
    j["pcr0_allowed"] = allowed;
    SendJson(res, j);
    return Status::Ok();
  }));

  s.Get(R"(/chain/models/([^/]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(chain::VersionEntry v, chain_->ResolveModel(req.matches[1].str()));
    SendJson(res, VersionJson(v));
    return Status::Ok();
  }));

  s.Post("/chain/txs", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(json j, ParseBody(req, options_.max_json_bytes));
    if (!j.contains("tx") || !j["tx"].is_string()) return InvalidArgument("body must carry \"tx\": hex of a signed tx");
    ASSIGN_OR_RETURN(Bytes tx, FromHex(j["tx"].get<std::string>()));
    ASSIGN_OR_RETURN(node::BroadcastResult r, chain_->Broadcast(tx, WaitFrom(j)));
    json out = {{"check", TxResultJson(r.check)}};
    if (r.height) out["height"] = *r.height;
    if (r.deliver) out["deliver"] = TxResultJson(*r.deliver);
    // A refused tx is the caller's mistake: 422 with the chain's code and reason.
    int status = r.check.code != chain::TxCode::kOk || (r.deliver && r.deliver->code != chain::TxCode::kOk) ? 422 : 200;
    SendJson(res, out, status);
    return Status::Ok();
  }));

  // ---- hub ----
  s.Get("/hub/repos", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    std::string q = req.has_param("q") ? req.get_param_value("q") : "";
    ASSIGN_OR_RETURN(auto repos, chain_->ListRepos(q));
    json arr = json::array();
    for (const auto& r : repos) arr.push_back(RepoJson(r));
    SendJson(res, {{"repos", arr}});
    return Status::Ok();
  }));

  s.Get(R"(/hub/repos/([^/]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(chain::Repo r, chain_->GetRepo(req.matches[1].str()));
    SendJson(res, RepoJson(r));
    return Status::Ok();
  }));

  s.Get(R"(/hub/manifests/([a-z0-9]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(crypto::Cid cid, crypto::Cid::Parse(req.matches[1].str()));
    ASSIGN_OR_RETURN(Bytes bytes, hub_->GetFile(cid));
    // Parsed to refuse a CID that names a file rather than a manifest.
    RETURN_IF_ERROR(hub::ParseManifest(bytes).status());
    res.set_content(AsString(bytes), "application/json");
    return Status::Ok();
  }));

  s.Post("/hub/files", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(crypto::Cid cid, hub_->PutFile(AsBytes(req.body)));
    SendJson(res, {{"cid", cid.ToString()}, {"size", req.body.size()}});
    return Status::Ok();
  }));

  s.Get(R"(/hub/files/([a-z0-9]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(crypto::Cid cid, crypto::Cid::Parse(req.matches[1].str()));
    ASSIGN_OR_RETURN(Bytes bytes, hub_->GetFile(cid));
    res.set_content(AsString(bytes), "application/octet-stream");
    return Status::Ok();
  }));

  // A hub audit (docs/ipfs.md "Audits"): a range of a file this hub holds, never fetched.
  s.Get(R"(/hub/holds/([a-z0-9]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(crypto::Cid cid, crypto::Cid::Parse(req.matches[1].str()));
    auto number = [&](const char* name) -> Result<uint64_t> {
      if (!req.has_param(name)) return InvalidArgument(std::string("missing query parameter ") + name);
      const std::string text = req.get_param_value(name);
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
      if (ec != std::errc() || p != text.data() + text.size() || text.empty())
        return InvalidArgument(std::string(name) + " must be a number");
      return v;
    };
    ASSIGN_OR_RETURN(uint64_t offset, number("offset"));
    ASSIGN_OR_RETURN(uint64_t length, number("length"));
    ASSIGN_OR_RETURN(Bytes bytes, hub_->ReadHeldRange(cid, offset, length));
    res.set_content(AsString(bytes), "application/octet-stream");
    return Status::Ok();
  }));

  s.Post("/hub/versions", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    ASSIGN_OR_RETURN(json j, ParseBody(req, options_.max_json_bytes));
    hub::VersionSpec spec;
    if (!j.contains("name") || !j["name"].is_string()) return InvalidArgument("missing \"name\"");
    if (!j.contains("version") || !j["version"].is_string()) return InvalidArgument("missing \"version\" (MAJOR.MINOR)");
    if (!j.contains("files") || !j["files"].is_array()) return InvalidArgument("missing \"files\"");
    spec.name = j["name"].get<std::string>();
    ASSIGN_OR_RETURN(auto ver, hub::ParseVersion(j["version"].get<std::string>()));
    spec.major = ver.first;
    spec.minor = ver.second;
    for (const auto& f : j["files"]) {
      if (!f.is_object() || !f.contains("path") || !f.contains("cid") || !f["path"].is_string() || !f["cid"].is_string())
        return InvalidArgument("each file needs \"path\" and \"cid\"");
      ASSIGN_OR_RETURN(crypto::Cid cid, crypto::Cid::Parse(f["cid"].get<std::string>()));
      spec.files.push_back({f["path"].get<std::string>(), cid});
    }
    if (j.contains("test_vectors_cid") && j["test_vectors_cid"].is_string()) {
      ASSIGN_OR_RETURN(crypto::Cid cid, crypto::Cid::Parse(j["test_vectors_cid"].get<std::string>()));
      spec.test_vectors = cid;
    }
    if (j.contains("exact_match")) {
      if (!j["exact_match"].is_boolean()) return InvalidArgument("\"exact_match\" must be true or false");
      spec.exact_match = j["exact_match"].get<bool>();
    }
    if (j.contains("zkml")) {
      if (!j["zkml"].is_boolean()) return InvalidArgument("\"zkml\" must be true or false");
      spec.zkml = j["zkml"].get<bool>();
    }
    if (j.contains("quantization")) {
      if (!j["quantization"].is_string()) return InvalidArgument("\"quantization\" must be a string");
      spec.quantization = j["quantization"].get<std::string>();
    }
    if (j.contains("quantized_from")) {
      const json& q = j["quantized_from"];
      for (const char* key : {"manifest", "max_abs_diff", "argmax_agreement"}) {
        if (!q.is_object() || !q.contains(key) || !q[key].is_string())
          return InvalidArgument(std::string("\"quantized_from\" needs string \"") + key + "\"");
      }
      ASSIGN_OR_RETURN(crypto::Cid from, crypto::Cid::Parse(q["manifest"].get<std::string>()));
      spec.quantized_from = hub::QuantizedFrom{from, q["max_abs_diff"].get<std::string>(),
                                               q["argmax_agreement"].get<std::string>()};
    }
    ASSIGN_OR_RETURN(hub::PreparedVersion prepared, hub_->PrepareVersion(spec));
    ASSIGN_OR_RETURN(Bytes manifest_bytes, hub::SerializeManifest(prepared.manifest));
    SendJson(res, {{"manifest_cid", prepared.manifest_cid.ToString()},
                   {"manifest", json::parse(AsString(manifest_bytes))}});
    return Status::Ok();
  }));

  // zkml proof jobs of this node: proving, submitted (tx hash) or failed (why).
  s.Get(R"(/node/proofs/([0-9a-fA-Fx]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    if (!node_) return Unavailable("this server runs no inference node");
    ASSIGN_OR_RETURN(Hash32 id, PathHash(req));
    ASSIGN_OR_RETURN(node::ProofJob job, node_->ProofStatus(id));
    json out = {{"receipt_id", ToHex(id)}, {"status", node::ProofStateName(job.state)}, {"detail", job.detail}};
    if (job.state == node::ProofJob::State::kSubmitted) out["tx_hash"] = ToHex(job.tx_hash);
    SendJson(res, out);
    return Status::Ok();
  }));

  // Outputs of async requests this node answered (docs/settlement.md): the chain records only
  // their hash; the requester checks them against the receipt's output_hash.
  s.Get(R"(/node/results/([0-9a-fA-Fx]+))", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    if (!node_) return Unavailable("this server runs no inference node");
    ASSIGN_OR_RETURN(Hash32 id, PathHash(req));
    ASSIGN_OR_RETURN(TensorMap outputs, node_->AsyncOutputs(id));
    SendJson(res, {{"receipt_id", ToHex(id)}, {"outputs", TensorMapToJson(outputs)}});
    return Status::Ok();
  }));

  // ---- meta (docs/api.md): the OpenAPI document of every route here, and Prometheus metrics ----
  // A route added anywhere in this server must be added to src/api/openapi.json too
  // (tests/e2e/test_openapi_e2e.py checks both directions).
  s.Get("/openapi.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(OpenApiJson()), "application/json");
  });
  s.Get("/metrics", Guard([this](const httplib::Request&, httplib::Response& res) -> Status {
    res.set_content(PrometheusText(chain_->Info().height), "text/plain; version=0.0.4; charset=utf-8");
    return Status::Ok();
  }));

  // ---- OpenAI-compatible LLM routes (api/openai.h) ----
  AddOpenAiRoutes(s, chain_, hub_, node_, OpenAiOptions{options_.api_keys, options_.max_json_bytes});
  AddWebRoutes(s, chain_, hub_, node_, WebOptions{options_.api_keys, options_.max_json_bytes});  // web UI (api/web.h)

  // ---- inference ----
  s.Post("/infer", Guard([this](const httplib::Request& req, httplib::Response& res) -> Status {
    if (!node_) return Unavailable("this server runs no inference node");
    ASSIGN_OR_RETURN(json j, ParseBody(req, options_.max_json_bytes));
    if (!j.contains("request") || !j["request"].is_string())
      return InvalidArgument("body must carry \"request\": hex of a signed inference request");
    if (!j.contains("inputs")) return InvalidArgument("body must carry \"inputs\": named tensors");
    ASSIGN_OR_RETURN(Bytes raw, FromHex(j["request"].get<std::string>()));
    ASSIGN_OR_RETURN(protocol::SignedRequest request, protocol::SignedRequest::Decode(raw));
    ASSIGN_OR_RETURN(TensorMap inputs, TensorMapFromJson(j["inputs"]));
    ASSIGN_OR_RETURN(node::InferenceResult r, node_->Infer(request, inputs, WaitFrom(j)));
    json out = {{"outputs", TensorMapToJson(r.outputs)},
                {"receipt_id", ToHex(r.receipt_id)},
                {"receipt", ReceiptJson(r.result.receipt)},
                {"tx_hash", ToHex(r.tx_hash)},
                {"raw",
                 {{"request", ToHex(r.result.request.Encode())},
                  {"receipt", ToHex(r.result.receipt.Encode())},
                  {"evidence", ToHex(r.result.evidence.Encode())}}}};
    if (r.submitted.height) out["height"] = *r.submitted.height;
    // What the chain said of the SubmitResult (its CheckTx, and the block's result when waited).
    json submitted = {{"check", TxResultJson(r.submitted.check)}};
    if (r.submitted.deliver) submitted["deliver"] = TxResultJson(*r.submitted.deliver);
    out["submitted"] = submitted;
    if (r.proving) out["status"] = "proving";  // the zkml proof follows in a SubmitResult
    SendJson(res, out);
    return Status::Ok();
  }));
}

}  // namespace lucid::api
