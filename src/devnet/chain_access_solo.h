// node::ChainAccess over the in-process solo block producer: queries run under the
// producer's lock against committed state; Broadcast goes through CheckTx and the mempool.
// Thread-safety: thread-safe (the producer serialises access).
#pragma once

#include <memory>

#include "consensus/solo.h"
#include "node/chain_access.h"

namespace lucid::devnet {

class SoloChainAccess : public node::ChainAccess {
 public:
  // Opens the chain store at path (creating it with genesis when new) and starts producing.
  static Result<std::unique_ptr<SoloChainAccess>> Start(const std::string& path, const chain::Genesis& genesis,
                                                        const crypto::PrivateKey& validator_key,
                                                        std::chrono::milliseconds block_time);
  void Stop();

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
  SoloChainAccess() = default;
  std::unique_ptr<consensus::SoloProducer> producer_;
  chain::Genesis genesis_;
};

}  // namespace lucid::devnet
