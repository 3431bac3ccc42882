// What an inference node and the HTTP API need from the chain, behind one interface so
// the same node runs beside the in-process solo producer (devnet) or, later, beside a
// CometBFT network (over its RPC). Thread-safety: implementations must be thread-safe.
#pragma once

#include <chrono>
#include <optional>

#include "chain/app.h"

namespace lucid::node {

struct BroadcastResult {
  chain::TxResult check;             // CheckTx outcome (code != ok: never enters a block)
  std::optional<uint64_t> height;    // set once included, when waited for
  std::optional<chain::TxResult> deliver;  // the block's result for the tx, when waited for
};

class ChainAccess {
 public:
  virtual ~ChainAccess() = default;
  virtual chain::AppInfo Info() = 0;
  virtual chain::Genesis GenesisInfo() = 0;
  virtual Result<chain::Account> GetAccount(const crypto::Address& a) = 0;
  virtual Result<chain::Repo> GetRepo(std::string_view name) = 0;
  virtual Result<std::vector<chain::Repo>> ListRepos(std::string_view query) = 0;
  virtual Result<chain::VersionEntry> ResolveModel(std::string_view ref) = 0;
  virtual Result<chain::NodeInfo> GetNode(const crypto::Address& a) = 0;
  // tee: a node's enclave registration and the current tee params (docs/tee-chain.md).
  virtual Result<chain::EnclaveInfo> GetEnclave(const crypto::Address& node) {
    (void)node;
    return Unimplemented("this chain access has no enclave registrations");
  }
  virtual Result<chain::TeeParams> GetTeeParams() { return Unimplemented("this chain access has no tee params"); }
  virtual Result<std::vector<chain::NodeInfo>> ListNodes() = 0;
  // Async requests, replay challenges, data feeds and workflows (docs/settlement.md); NotFound
  // if none. PendingRequestsFor: the pending async requests assigned to node, oldest deadline
  // first; OpenChallengesFor: open challenges whose committee includes node.
  virtual Result<chain::AsyncRequest> GetAsyncRequest(const Hash32& request_id) = 0;
  virtual Result<std::vector<chain::AsyncRequest>> PendingRequestsFor(const crypto::Address& node) = 0;
  virtual Result<chain::Challenge> GetChallenge(const Hash32& receipt_id) = 0;
  virtual Result<std::vector<chain::Challenge>> OpenChallengesFor(const crypto::Address& node) = 0;
  virtual Result<chain::DataFeed> GetFeed(std::string_view name) = 0;
  virtual Result<chain::Workflow> GetWorkflow(uint64_t id) = 0;
  // Hub replication (docs/ipfs.md "Replication"); NotFound for an unknown hub or a CID that is no
  // published version's manifest.
  virtual Result<chain::HubRecord> GetHub(const crypto::Address& hub) = 0;
  virtual Result<std::vector<chain::HubRecord>> ListHubs() = 0;
  virtual Result<std::vector<crypto::Cid>> HubPins(const crypto::Address& hub) = 0;
  virtual Result<chain::VersionReplication> GetReplication(const crypto::Cid& manifest) = 0;
  virtual Result<std::vector<chain::VersionReplication>> ListReplication() = 0;
  virtual Result<chain::ReceiptRecord> GetReceipt(const Hash32& id) = 0;
  virtual Result<crypto::InclusionProof> ProveReceipt(const Hash32& id) = 0;
  virtual Result<chain::StoredBlock> GetBlock(uint64_t height) = 0;
  // Submit a signed tx; when wait > 0, block until it is in a block or the time runs out.
  virtual Result<BroadcastResult> Broadcast(ByteView tx, std::chrono::milliseconds wait) = 0;
};

}  // namespace lucid::node
