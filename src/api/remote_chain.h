// node::ChainAccess over another process's Lucid API (a devnet's, or a validator's): what a
// standalone `lucid node` uses. Queries are GETs answered from that API's committed state,
// decoded back into chain values (the receipt's canonical bytes are checked against its id).
// Transactions go to the same API (POST /chain/txs) or, with comet_rpc_url set, straight to
// a CometBFT node's RPC (broadcast_tx_sync), and inclusion is awaited by polling the tx by
// hash there; the block's result is then read from the Lucid API (Lucid heights are CometBFT
// heights). The answers are that API's word: a node trusts the chain it chose to serve, and
// clients verify results themselves (`lucid verify`).
// Thread-safety: thread-safe (each call opens its own HTTP client; the genesis is fixed).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>

#include "api/client.h"
#include "node/chain_access.h"

namespace lucid::api {

struct RemoteChainOptions {
  std::string api_url;        // e.g. http://127.0.0.1:26680
  std::string comet_rpc_url;  // empty: broadcast through the Lucid API
  std::chrono::milliseconds poll{100};  // while waiting for a tx's block
};

class RemoteChainAccess : public node::ChainAccess {
 public:
  // Reads the genesis once (the chain id and params never change) and the status.
  static Result<std::unique_ptr<RemoteChainAccess>> Connect(RemoteChainOptions options);

  // The last status read; an unreachable API keeps the previous answer (logged), since the
  // interface has no error here. Callers needing certainty use the Result-returning queries.
  chain::AppInfo Info() override;
  chain::Genesis GenesisInfo() override { return genesis_; }
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
  explicit RemoteChainAccess(RemoteChainOptions options) : options_(std::move(options)), api_(options_.api_url) {}
  Result<chain::AppInfo> ReadStatus() const;
  Result<node::BroadcastResult> BroadcastComet(ByteView tx, std::chrono::milliseconds wait);

  RemoteChainOptions options_;
  ApiClient api_;
  chain::Genesis genesis_;
  std::mutex info_mu_;
  chain::AppInfo last_info_;  // guarded by info_mu_
};


}  // namespace lucid::api
