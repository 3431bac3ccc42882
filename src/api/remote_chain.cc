#include "api/remote_chain.h"

#include <openssl/evp.h>

#include <cctype>
#include <charconv>
#include <thread>

#include <httplib.h>
#include <spdlog/spdlog.h>

#include "api/json_views.h"
#include "crypto/hash.h"
#include "protocol/types.h"

namespace lucid::api {
namespace {

std::string Base64(ByteView bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(), static_cast<int>(bytes.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// A JSON-RPC answer's "result", or its "error" as a Status naming the RPC's message.
Result<json> RpcResult(const httplib::Result& res, const std::string& what) {
  if (!res) return Unavailable("cannot reach the CometBFT RPC for " + what + " (" + httplib::to_string(res.error()) + ")");
  json j = json::parse(res->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Internal("invalid JSON from the CometBFT RPC (" + what + ")");
  if (j.contains("error")) {
    const json& e = j["error"];
    std::string message = e.is_object() ? e.value("message", "") : e.dump();
    if (e.is_object() && e.contains("data") && e["data"].is_string()) message += ": " + e["data"].get<std::string>();
    return Unavailable("CometBFT RPC " + what + ": " + message);
  }
  if (!j.contains("result")) return Internal("CometBFT RPC " + what + ": no result");
  return j["result"];
}

std::unique_ptr<httplib::Client> RpcClient(const std::string& url) {
  auto c = std::make_unique<httplib::Client>(url);
  c->set_connection_timeout(5);
  c->set_read_timeout(60);
  c->set_write_timeout(60);
  return c;
}

// CometBFT's JSON carries int64 as strings ("12") and codes as numbers.
uint64_t JsonU64(const json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    uint64_t v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
  }
  return 0;
}

}  // namespace


Result<std::unique_ptr<RemoteChainAccess>> RemoteChainAccess::Connect(RemoteChainOptions options) {
  if (options.api_url.empty()) return InvalidArgument("the chain's Lucid API URL is empty");
  std::unique_ptr<RemoteChainAccess> c(new RemoteChainAccess(std::move(options)));
  ASSIGN_OR_RETURN(json g, c->api_.Get("/chain/genesis"));
  ASSIGN_OR_RETURN(c->genesis_, GenesisFromJson(g));
  ASSIGN_OR_RETURN(c->last_info_, c->ReadStatus());
  if (c->last_info_.chain_id != c->genesis_.chain_id)
    return DataLoss("the API's status names chain '" + c->last_info_.chain_id + "' but its genesis '" +
                    c->genesis_.chain_id + "'");
  return c;
}

Result<chain::AppInfo> RemoteChainAccess::ReadStatus() const {
  ASSIGN_OR_RETURN(json s, api_.Get("/status"));
  try {
    chain::AppInfo info;
    info.chain_id = s.at("chain_id").get<std::string>();
    info.height = s.at("height").get<uint64_t>();
    ASSIGN_OR_RETURN(info.app_hash, Hash32FromHex(s.at("app_hash").get<std::string>()));
    ASSIGN_OR_RETURN(info.last_block_hash, Hash32FromHex(s.at("last_block_hash").get<std::string>()));
    info.last_time_ms = s.at("last_time_ms").get<uint64_t>();
    return info;
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("status: ") + e.what());
  }
}

chain::AppInfo RemoteChainAccess::Info() {
  auto info = ReadStatus();
  std::lock_guard<std::mutex> lock(info_mu_);
  if (info.ok()) {
    last_info_ = *info;
  } else {
    spdlog::warn("chain status from {} unavailable, using the last one (height {}): {}", options_.api_url,
                 last_info_.height, info.status().ToString());
  }
  return last_info_;
}

Result<chain::Account> RemoteChainAccess::GetAccount(const crypto::Address& a) {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/accounts/" + a.ToHex()));
  return AccountFromJson(j);
}

Result<chain::Repo> RemoteChainAccess::GetRepo(std::string_view name) {
  ASSIGN_OR_RETURN(json j, api_.Get("/hub/repos/" + UrlEncode(name)));
  return RepoFromJson(j);
}

Result<std::vector<chain::Repo>> RemoteChainAccess::ListRepos(std::string_view query) {
  ASSIGN_OR_RETURN(json j, api_.Get("/hub/repos?q=" + UrlEncode(query)));
  if (!j.contains("repos") || !j["repos"].is_array()) return InvalidArgument("repos: missing \"repos\"");
  std::vector<chain::Repo> out;
  for (const json& r : j["repos"]) {
    ASSIGN_OR_RETURN(chain::Repo repo, RepoFromJson(r));
    out.push_back(std::move(repo));
  }
  return out;
}

Result<chain::VersionEntry> RemoteChainAccess::ResolveModel(std::string_view ref) {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/models/" + UrlEncode(ref)));
  return VersionFromJson(j);
}

Result<std::vector<chain::NodeInfo>> RemoteChainAccess::ListNodes() {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/nodes"));
  if (!j.contains("nodes") || !j["nodes"].is_array()) return InvalidArgument("nodes: missing \"nodes\"");
  std::vector<chain::NodeInfo> out;
  for (const json& n : j["nodes"]) {
    ASSIGN_OR_RETURN(chain::NodeInfo node, NodeFromJson(n));
    out.push_back(std::move(node));
  }
  return out;
}

Result<chain::NodeInfo> RemoteChainAccess::GetNode(const crypto::Address& a) {
  ASSIGN_OR_RETURN(auto nodes, ListNodes());
  for (auto& n : nodes)
    if (n.address == a) return std::move(n);
  return NotFound("node " + a.ToHex() + " is not registered");
}

Result<chain::EnclaveInfo> RemoteChainAccess::GetEnclave(const crypto::Address& node) {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/enclaves/" + node.ToHex()));
  return EnclaveFromJson(j);
}

Result<chain::TeeParams> RemoteChainAccess::GetTeeParams() {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/tee/params"));
  ASSIGN_OR_RETURN(chain::TeeParams t, TeeParamsFromJson(j));
  // admin and the dev root are fixed at genesis; the API serves only the mutable part.
  t.admin = genesis_.params.tee.admin;
  t.dev_root_der = genesis_.params.tee.dev_root_der;
  return t;
}

Result<chain::AsyncRequest> RemoteChainAccess::GetAsyncRequest(const Hash32& request_id) {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/requests/" + ToHex(request_id)));
  return AsyncRequestFromJson(j);
}

Result<std::vector<chain::AsyncRequest>> RemoteChainAccess::PendingRequestsFor(const crypto::Address& node) {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/nodes/" + node.ToHex() + "/pending"));
  if (!j.contains("requests") || !j["requests"].is_array()) return InvalidArgument("pending: missing \"requests\"");
  std::vector<chain::AsyncRequest> out;
  for (const json& r : j["requests"]) {
    ASSIGN_OR_RETURN(chain::AsyncRequest a, AsyncRequestFromJson(r));
    out.push_back(std::move(a));
  }
  return out;
}

Result<chain::Challenge> RemoteChainAccess::GetChallenge(const Hash32& receipt_id) {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/challenges/" + ToHex(receipt_id)));
  return ChallengeFromJson(j);
}

Result<std::vector<chain::Challenge>> RemoteChainAccess::OpenChallengesFor(const crypto::Address& node) {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/nodes/" + node.ToHex() + "/challenges"));
  if (!j.contains("challenges") || !j["challenges"].is_array())
    return InvalidArgument("challenges: missing \"challenges\"");
  std::vector<chain::Challenge> out;
  for (const json& c : j["challenges"]) {
    ASSIGN_OR_RETURN(chain::Challenge ch, ChallengeFromJson(c));
    out.push_back(std::move(ch));
  }
  return out;
}

Result<chain::DataFeed> RemoteChainAccess::GetFeed(std::string_view name) {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/feeds/" + UrlEncode(name)));
  return FeedFromJson(j);
}

Result<chain::HubRecord> RemoteChainAccess::GetHub(const crypto::Address& hub) {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/hubs/" + hub.ToHex()));
  return HubFromJson(j);
}

Result<std::vector<chain::HubRecord>> RemoteChainAccess::ListHubs() {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/hubs"));
  if (!j.contains("hubs") || !j["hubs"].is_array()) return InvalidArgument("hubs: missing \"hubs\"");
  std::vector<chain::HubRecord> out;
  for (const json& h : j["hubs"]) {
    ASSIGN_OR_RETURN(chain::HubRecord r, HubFromJson(h));
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<crypto::Cid>> RemoteChainAccess::HubPins(const crypto::Address& hub) {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/hubs/" + hub.ToHex()));
  if (!j.contains("pinned") || !j["pinned"].is_array()) return InvalidArgument("hub: missing \"pinned\"");
  std::vector<crypto::Cid> out;
  for (const json& c : j["pinned"]) {
    if (!c.is_string()) return InvalidArgument("hub: \"pinned\" holds a non-string");
    ASSIGN_OR_RETURN(crypto::Cid cid, crypto::Cid::Parse(c.get<std::string>()));
    out.push_back(cid);
  }
  return out;
}

Result<chain::VersionReplication> RemoteChainAccess::GetReplication(const crypto::Cid& manifest) {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/replication/" + manifest.ToString()));
  return ReplicationFromJson(j);
}

Result<std::vector<chain::VersionReplication>> RemoteChainAccess::ListReplication() {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/replication"));
  if (!j.contains("versions") || !j["versions"].is_array()) return InvalidArgument("replication: missing \"versions\"");
  std::vector<chain::VersionReplication> out;
  for (const json& v : j["versions"]) {
    ASSIGN_OR_RETURN(chain::VersionReplication r, ReplicationFromJson(v));
    out.push_back(std::move(r));
  }
  return out;
}

Result<chain::Workflow> RemoteChainAccess::GetWorkflow(uint64_t id) {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/workflows/" + std::to_string(id)));
  return WorkflowFromJson(j);
}

Result<chain::ReceiptRecord> RemoteChainAccess::GetReceipt(const Hash32& id) {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/receipts/" + ToHex(id)));
  return ReceiptRecordFromJson(j);
}

Result<crypto::InclusionProof> RemoteChainAccess::ProveReceipt(const Hash32& id) {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/receipts/" + ToHex(id)));
  if (!j.contains("proof")) return InvalidArgument("receipt: missing \"proof\"");
  return ProofFromJson(j["proof"]);
}

Result<chain::StoredBlock> RemoteChainAccess::GetBlock(uint64_t height) {
  ASSIGN_OR_RETURN(json j, api_.Get("/chain/blocks/" + std::to_string(height)));
  return StoredBlockFromJson(j);
}

Result<node::BroadcastResult> RemoteChainAccess::Broadcast(ByteView tx, std::chrono::milliseconds wait) {
  if (!options_.comet_rpc_url.empty()) return BroadcastComet(tx, wait);
  json body = {{"tx", ToHex(tx)}};
  if (wait.count() > 0) body["wait_ms"] = static_cast<uint64_t>(wait.count());
  // 422 carries the chain's refusal in the same shape as a 200.
  ASSIGN_OR_RETURN(auto answer, api_.PostWithStatus("/chain/txs", body));
  const json& j = answer.second;
  if (!j.contains("check")) return Internal("tx broadcast: no \"check\" in the answer");
  node::BroadcastResult out;
  ASSIGN_OR_RETURN(out.check, TxResultFromJson(j["check"]));
  if (j.contains("height") && j["height"].is_number_unsigned()) out.height = j["height"].get<uint64_t>();
  if (j.contains("deliver")) {
    ASSIGN_OR_RETURN(chain::TxResult d, TxResultFromJson(j["deliver"]));
    d.height = out.height.value_or(0);
    out.deliver = std::move(d);
  }
  return out;
}

Result<node::BroadcastResult> RemoteChainAccess::BroadcastComet(ByteView tx, std::chrono::milliseconds wait) {
  const Hash32 hash = crypto::Sha256(tx);  // CometBFT's tx key; equals SignedTx::Hash()
  node::BroadcastResult out;
  out.check.tx_hash = hash;
  auto rpc = RpcClient(options_.comet_rpc_url);
  const json call = {{"jsonrpc", "2.0"}, {"id", 1}, {"method", "broadcast_tx_sync"}, {"params", {{"tx", Base64(tx)}}}};
  ASSIGN_OR_RETURN(json r, RpcResult(rpc->Post("/", call.dump(), "application/json"), "broadcast_tx_sync"));
  const uint64_t code = JsonU64(r.value("code", json(0)));
  out.check.code = static_cast<chain::TxCode>(code);
  out.check.log = r.value("log", "");
  if (code != 0 || wait.count() <= 0) return out;

  const auto deadline = std::chrono::steady_clock::now() + wait;
  const std::string path = "/tx?hash=0x" + ToHex(hash);
  while (true) {
    auto found = RpcResult(rpc->Get(path), "tx");
    if (found.ok() && found->contains("height")) {
      const uint64_t height = JsonU64((*found)["height"]);
      ASSIGN_OR_RETURN(chain::StoredBlock block, GetBlock(height));
      for (const chain::TxResult& result : block.results) {
        if (result.tx_hash != hash) continue;
        out.height = height;
        out.deliver = result;
        return out;
      }
      return DataLoss("CometBFT says tx " + ToHex(hash) + " is in block " + std::to_string(height) +
                      " but the Lucid API's block has no result for it");
    }
    if (std::chrono::steady_clock::now() >= deadline) return out;  // not included yet: only CheckTx known
    std::this_thread::sleep_for(options_.poll);
  }
}

}  // namespace lucid::api
