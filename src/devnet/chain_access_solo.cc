#include "devnet/chain_access_solo.h"

namespace lucid::devnet {

Result<std::unique_ptr<SoloChainAccess>> SoloChainAccess::Start(const std::string& path,
                                                                const chain::Genesis& genesis,
                                                                const crypto::PrivateKey& validator_key,
                                                                std::chrono::milliseconds block_time) {
  std::unique_ptr<SoloChainAccess> access(new SoloChainAccess());
  access->genesis_ = genesis;
  consensus::SoloConfig config;
  config.block_time = block_time;
  ASSIGN_OR_RETURN(access->producer_, consensus::SoloProducer::Open(path, genesis, validator_key, config));
  RETURN_IF_ERROR(access->producer_->Start());
  return access;
}

void SoloChainAccess::Stop() {
  if (producer_) producer_->Stop();
}

chain::AppInfo SoloChainAccess::Info() {
  return producer_->WithApp([](const chain::Application& app) { return app.Info(); });
}
Result<chain::Account> SoloChainAccess::GetAccount(const crypto::Address& a) {
  return producer_->WithApp([&](const chain::Application& app) { return app.GetAccount(a); });
}
Result<chain::Repo> SoloChainAccess::GetRepo(std::string_view name) {
  return producer_->WithApp([&](const chain::Application& app) { return app.GetRepo(name); });
}
Result<std::vector<chain::Repo>> SoloChainAccess::ListRepos(std::string_view query) {
  return producer_->WithApp([&](const chain::Application& app) { return app.ListRepos(query); });
}
Result<chain::VersionEntry> SoloChainAccess::ResolveModel(std::string_view ref) {
  return producer_->WithApp([&](const chain::Application& app) { return app.ResolveModel(ref); });
}
Result<chain::NodeInfo> SoloChainAccess::GetNode(const crypto::Address& a) {
  return producer_->WithApp([&](const chain::Application& app) { return app.GetNode(a); });
}
Result<chain::EnclaveInfo> SoloChainAccess::GetEnclave(const crypto::Address& node) {
  return producer_->WithApp([&](const chain::Application& app) { return app.GetEnclave(node); });
}
Result<chain::TeeParams> SoloChainAccess::GetTeeParams() {
  return producer_->WithApp([](const chain::Application& app) { return app.GetTeeParams(); });
}
Result<std::vector<chain::NodeInfo>> SoloChainAccess::ListNodes() {
  return producer_->WithApp([](const chain::Application& app) { return app.ListNodes(); });
}
Result<chain::AsyncRequest> SoloChainAccess::GetAsyncRequest(const Hash32& request_id) {
  return producer_->WithApp([&](const chain::Application& app) { return app.GetAsyncRequest(request_id); });
}
Result<std::vector<chain::AsyncRequest>> SoloChainAccess::PendingRequestsFor(const crypto::Address& node) {
  return producer_->WithApp([&](const chain::Application& app) { return app.PendingRequestsFor(node); });
}
Result<chain::Challenge> SoloChainAccess::GetChallenge(const Hash32& receipt_id) {
  return producer_->WithApp([&](const chain::Application& app) { return app.GetChallenge(receipt_id); });
}
Result<std::vector<chain::Challenge>> SoloChainAccess::OpenChallengesFor(const crypto::Address& node) {
  return producer_->WithApp([&](const chain::Application& app) { return app.OpenChallengesFor(node); });
}
Result<chain::DataFeed> SoloChainAccess::GetFeed(std::string_view name) {
  return producer_->WithApp([&](const chain::Application& app) { return app.GetFeed(name); });
}
Result<chain::Workflow> SoloChainAccess::GetWorkflow(uint64_t id) {
  return producer_->WithApp([&](const chain::Application& app) { return app.GetWorkflow(id); });
}
Result<chain::ReceiptRecord> SoloChainAccess::GetReceipt(const Hash32& id) {
  return producer_->WithApp([&](const chain::Application& app) { return app.GetReceipt(id); });
}
Result<crypto::InclusionProof> SoloChainAccess::ProveReceipt(const Hash32& id) {
  return producer_->WithApp([&](const chain::Application& app) { return app.ProveReceipt(id); });
}
Result<chain::StoredBlock> SoloChainAccess::GetBlock(uint64_t height) {
  return producer_->WithApp([&](const chain::Application& app) { return app.GetBlock(height); });
}

Result<node::BroadcastResult> SoloChainAccess::Broadcast(ByteView tx, std::chrono::milliseconds wait) {
  node::BroadcastResult out;
  if (wait.count() == 0) {
    ASSIGN_OR_RETURN(out.check, producer_->BroadcastTx(tx));
    return out;
  }
  ASSIGN_OR_RETURN(chain::TxResult result, producer_->SubmitAndWait(tx, wait));
  out.check = result;
  if (result.height != 0) {  // included in a block (a CheckTx refusal has no height)
    out.check.code = chain::TxCode::kOk;
    out.check.log.clear();
    out.height = result.height;
    out.deliver = result;
  }
  return out;
}

Result<chain::HubRecord> SoloChainAccess::GetHub(const crypto::Address& hub) {
  return producer_->WithApp([&](const chain::Application& app) { return app.GetHub(hub); });
}
Result<std::vector<chain::HubRecord>> SoloChainAccess::ListHubs() {
  return producer_->WithApp([&](const chain::Application& app) { return app.ListHubs(); });
}
Result<std::vector<crypto::Cid>> SoloChainAccess::HubPins(const crypto::Address& hub) {
  return producer_->WithApp([&](const chain::Application& app) { return app.HubPins(hub); });
}
Result<chain::VersionReplication> SoloChainAccess::GetReplication(const crypto::Cid& manifest) {
  return producer_->WithApp([&](const chain::Application& app) { return app.GetReplication(manifest); });
}
Result<std::vector<chain::VersionReplication>> SoloChainAccess::ListReplication() {
  return producer_->WithApp([&](const chain::Application& app) { return app.ListReplication(); });
}

}  // namespace lucid::devnet
