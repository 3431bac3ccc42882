#include "consensus/abci_chain_access.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "crypto/hash.h"

namespace lucid::consensus {

namespace {

std::string Base64Encode(ByteView bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t v = (uint32_t{bytes[i]} << 16) | (uint32_t{bytes[i + 1]} << 8) | bytes[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i < bytes.size()) {
    uint32_t v = uint32_t{bytes[i]} << 16;
    if (i + 1 < bytes.size()) v |= uint32_t{bytes[i + 1]} << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

}  // namespace

Result<chain::TxResult> CometBroadcastTxSync(const std::string& rpc_url, ByteView tx) {
  httplib::Client client(rpc_url);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(30, 0);
  const nlohmann::json call = {
      {"jsonrpc", "2.0"}, {"id", 1}, {"method", "broadcast_tx_sync"}, {"params", {{"tx", Base64Encode(tx)}}}};
  auto res = client.Post("/", call.dump(), "application/json");
  if (!res) return Unavailable("CometBFT RPC " + rpc_url + ": " + httplib::to_string(res.error()));
  nlohmann::json j = nlohmann::json::parse(res->body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Unavailable("CometBFT RPC " + rpc_url + ": not a JSON-RPC answer");
  chain::TxResult r;
  r.tx_hash = crypto::Sha256(tx);
  if (j.contains("error")) {
    // e.g. "tx already exists in cache", "mempool is full": not a CheckTx verdict.
    const nlohmann::json& e = j["error"];
    std::string msg = e.value("message", std::string("error"));
    if (e.contains("data") && e["data"].is_string()) msg += ": " + e["data"].get<std::string>();
    if (msg.find("already exists") != std::string::npos) return AlreadyExists("CometBFT: " + msg);
    return Unavailable("CometBFT broadcast_tx_sync: " + msg);
  }
  const nlohmann::json& result = j.value("result", nlohmann::json::object());
  r.code = static_cast<chain::TxCode>(result.value("code", 0u));
  r.log = result.value("log", std::string());
  return r;
}

chain::AppInfo AbciChainAccess::Info() {
  return app_->WithApp([](const chain::Application& app) { return app.Info(); });
}
chain::Genesis AbciChainAccess::GenesisInfo() {
  return app_->WithApp([](const chain::Application& app) {
    return app.initialized() ? app.genesis() : chain::Genesis{};
  });
}
Result<chain::Account> AbciChainAccess::GetAccount(const crypto::Address& a) {
  return app_->WithApp([&](const chain::Application& app) { return app.GetAccount(a); });
}
Result<chain::Repo> AbciChainAccess::GetRepo(std::string_view name) {
  return app_->WithApp([&](const chain::Application& app) { return app.GetRepo(name); });
}
Result<std::vector<chain::Repo>> AbciChainAccess::ListRepos(std::string_view query) {
  return app_->WithApp([&](const chain::Application& app) { return app.ListRepos(query); });
}
Result<chain::VersionEntry> AbciChainAccess::ResolveModel(std::string_view ref) {
  return app_->WithApp([&](const chain::Application& app) { return app.ResolveModel(ref); });
}
Result<chain::NodeInfo> AbciChainAccess::GetNode(const crypto::Address& a) {
  return app_->WithApp([&](const chain::Application& app) { return app.GetNode(a); });
}
Result<chain::EnclaveInfo> AbciChainAccess::GetEnclave(const crypto::Address& node) {
  return app_->WithApp([&](const chain::Application& app) { return app.GetEnclave(node); });
}
Result<chain::TeeParams> AbciChainAccess::GetTeeParams() {
  return app_->WithApp([](const chain::Application& app) { return app.GetTeeParams(); });
}
Result<std::vector<chain::NodeInfo>> AbciChainAccess::ListNodes() {
  return app_->WithApp([](const chain::Application& app) { return app.ListNodes(); });
}
Result<chain::AsyncRequest> AbciChainAccess::GetAsyncRequest(const Hash32& request_id) {
  return app_->WithApp([&](const chain::Application& app) { return app.GetAsyncRequest(request_id); });
}
Result<std::vector<chain::AsyncRequest>> AbciChainAccess::PendingRequestsFor(const crypto::Address& node) {
  return app_->WithApp([&](const chain::Application& app) { return app.PendingRequestsFor(node); });
}
Result<chain::Challenge> AbciChainAccess::GetChallenge(const Hash32& receipt_id) {
  return app_->WithApp([&](const chain::Application& app) { return app.GetChallenge(receipt_id); });
}
Result<std::vector<chain::Challenge>> AbciChainAccess::OpenChallengesFor(const crypto::Address& node) {
  return app_->WithApp([&](const chain::Application& app) { return app.OpenChallengesFor(node); });
}
Result<chain::DataFeed> AbciChainAccess::GetFeed(std::string_view name) {
  return app_->WithApp([&](const chain::Application& app) { return app.GetFeed(name); });
}
Result<chain::Workflow> AbciChainAccess::GetWorkflow(uint64_t id) {
  return app_->WithApp([&](const chain::Application& app) { return app.GetWorkflow(id); });
}
Result<chain::ReceiptRecord> AbciChainAccess::GetReceipt(const Hash32& id) {
  return app_->WithApp([&](const chain::Application& app) { return app.GetReceipt(id); });
}
Result<crypto::InclusionProof> AbciChainAccess::ProveReceipt(const Hash32& id) {
  return app_->WithApp([&](const chain::Application& app) { return app.ProveReceipt(id); });
}
Result<chain::StoredBlock> AbciChainAccess::GetBlock(uint64_t height) {
  return app_->WithApp([&](const chain::Application& app) { return app.GetBlock(height); });
}

Result<node::BroadcastResult> AbciChainAccess::Broadcast(ByteView tx, std::chrono::milliseconds wait) {
  const Hash32 hash = crypto::Sha256(tx);
  if (wait.count() > 0) app_->ExpectTx(hash);
  auto check = CometBroadcastTxSync(rpc_url_, tx);
  node::BroadcastResult out;
  if (!check.ok() || check->code != chain::TxCode::kOk || wait.count() == 0) {
    if (wait.count() > 0) (void)app_->WaitForTx(hash, std::chrono::milliseconds(0));  // drop the expectation
    if (!check.ok()) return check.status();
    out.check = *check;
    return out;
  }
  out.check = *check;
  std::optional<chain::TxResult> r = app_->WaitForTx(hash, wait);
  if (!r) return Unavailable("tx " + ToHex(hash) + " not included within " + std::to_string(wait.count()) + " ms");
  out.height = r->height;
  out.deliver = *r;
  return out;
}

Result<chain::HubRecord> AbciChainAccess::GetHub(const crypto::Address& hub) {
  return app_->WithApp([&](const chain::Application& app) { return app.GetHub(hub); });
}
Result<std::vector<chain::HubRecord>> AbciChainAccess::ListHubs() {
  return app_->WithApp([&](const chain::Application& app) { return app.ListHubs(); });
}
Result<std::vector<crypto::Cid>> AbciChainAccess::HubPins(const crypto::Address& hub) {
  return app_->WithApp([&](const chain::Application& app) { return app.HubPins(hub); });
}
Result<chain::VersionReplication> AbciChainAccess::GetReplication(const crypto::Cid& manifest) {
  return app_->WithApp([&](const chain::Application& app) { return app.GetReplication(manifest); });
}
Result<std::vector<chain::VersionReplication>> AbciChainAccess::ListReplication() {
  return app_->WithApp([&](const chain::Application& app) { return app.ListReplication(); });
}

}  // namespace lucid::consensus
