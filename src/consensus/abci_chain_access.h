// node::ChainAccess over a validator's AbciApp (what `lucid validator --http` serves): queries
// read the app's committed state under its lock; Broadcast forwards the tx to CometBFT's RPC
// (broadcast_tx_sync: CheckTx through CometBFT's mempool, gossiped to every validator) and,
// with a wait, returns the tx's result once this app commits the block holding it.
// Thread-safety: thread-safe.
#pragma once

#include <memory>
#include <string>

#include "consensus/abci_app.h"
#include "node/chain_access.h"

namespace lucid::consensus {

class AbciChainAccess : public node::ChainAccess {
 public:
  // comet_rpc_url: e.g. http://127.0.0.1:26657 (the local CometBFT's RPC).
  AbciChainAccess(AbciApp* app, std::string comet_rpc_url) : app_(app), rpc_url_(std::move(comet_rpc_url)) {}

  chain::AppInfo Info() override;
  chain::Genesis GenesisInfo() override;
  Result<chain::Account> GetAccount(const crypto::Address& a) override;
  Result<chain::Repo> GetRepo(std::string_view name) override;
  Result<std::vector<chain::Repo>> ListRepos(std::string_view query) override;
  Result<chain::VersionEntry> ResolveModel(std::string_view ref) override;
  Result<chain::NodeInfo> GetNode(const crypto::Address& a) override;
  Result<chain::EnclaveInfo> GetEnclave(const crypto::Address& node) override;
  Result<chain::TeeParams> GetTeeParams() override;
  Result<std::vector<chain::NodeInfo>> ListNodes() override;
  Result<chain::AsyncRequest> GetAsyncRequest(const Hash32& request_id) override;
  Result<std::vector<chain::AsyncRequest>> PendingRequestsFor(const crypto::Address& node) override;
  Result<chain::Challenge> GetChallenge(const Hash32& receipt_id) override;
  Result<std::vector<chain::Challenge>> OpenChallengesFor(const crypto::Address& node) override;
  Result<chain::DataFeed> GetFeed(std::string_view name) override;
  Result<chain::Workflow> GetWorkflow(uint64_t id) override;
  Result<chain::HubRecord> GetHub(const crypto::Address& hub) override;
  Result<std::vector<chain::HubRecord>> ListHubs() override;
  Result<std::vector<crypto::Cid>> HubPins(const crypto::Address& hub) override;
  Result<chain::VersionReplication> GetReplication(const crypto::Cid& manifest) override;
  Result<std::vector<chain::VersionReplication>> ListReplication() override;
  Result<chain::ReceiptRecord> GetReceipt(const Hash32& id) override;
  Result<crypto::InclusionProof> ProveReceipt(const Hash32& id) override;
  Result<chain::StoredBlock> GetBlock(uint64_t height) override;
  Result<node::BroadcastResult> Broadcast(ByteView tx, std::chrono::milliseconds wait) override;

 private:
  AbciApp* app_;
  std::string rpc_url_;
};

// CometBFT JSON-RPC broadcast_tx_sync: the CheckTx outcome (code, log) of tx at rpc_url.
Result<chain::TxResult> CometBroadcastTxSync(const std::string& rpc_url, ByteView tx);

}  // namespace lucid::consensus
