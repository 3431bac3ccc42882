// The hub replicator (docs/ipfs.md "Replication"): what makes a published version live on at
// least R hubs (params.replication.min_replicas) instead of only on the hub it was uploaded to.
// Each round it
//   1. repairs what this hub announced: every file, test vectors blob and manifest of each
//      version it pins must be in its blob store (right size) and pinned on its own kubo; a lost
//      copy is fetched again from the swarm (checked against its CID) and added again; a version
//      it cannot restore for kUnpinAfterFailures rounds in a row (or whose manifest contradicts
//      its files) is unpinned on chain, so the chain does not keep a claim it knows is false;
//   2. takes on under-replicated versions: those pinned by fewer than R hubs, not by this one.
//      Who takes which is decided without talking: the hubs not yet pinning a version are
//      ranked by SHA-256(manifest digest || hub address) and the first (R - replicas) take it;
//      every `patience` rounds it stays short one more hub in rank order joins, so a dead hub
//      ranked first cannot block it and a slow fetch does not bring every hub at once. A version
//      whose files this hub already pins (it was uploaded here) is always taken. Taking =
//      fetching every file through IPFS into the blob store (checked) and adding it to the own
//      kubo, pinned; a root only named by a manifest is never pinned as such. At most
//      max_new_per_round attempts per round; a failed version waits 2, 4, ... 64 rounds; one
//      whose manifest contradicts its files is never taken;
//   3. announces the changes in one AnnouncePinsTx (the first one registers the hub and bonds
//      params.replication.hub_bond).
// Thread-safety: RunOnce is not reentrant; Start runs it on one background thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <set>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hub/hub.h"
#include "ipfs/kubo_client.h"
#include "node/chain_access.h"

namespace lucid::replication {

struct ReplicatorOptions {
  crypto::Address hub;             // the account announcing (signs through `submit`)
  std::string kubo_api;            // this hub's own kubo RPC API (loopback)
  std::string endpoint;            // this hub's Lucid API, announced with the pins (may be empty)
  std::chrono::milliseconds interval{5000};
  size_t max_new_per_round = 4;    // versions taken on per round
  int patience = 5;                // every this many rounds a version stays short, one more hub takes it
  bool take_on = true;             // false: only repair and announce what is pinned here
  // Sends a tx body signed by `hub`, waiting for its block; returns its hash or why it failed.
  std::function<Result<Hash32>(protocol::TxBody)> submit;
};

struct RoundReport {
  std::vector<crypto::Cid> pinned;      // announced as pinned this round
  std::vector<crypto::Cid> unpinned;    // announced as no longer pinned (could not be restored)
  size_t repaired_files = 0;            // copies fetched again or re-pinned
  bool registered = false;              // this round's tx made the hub
  std::vector<std::string> errors;      // per version, what failed (logged too)
};

// A ReplicatorOptions::submit that signs with `key` (its own account: the next nonce read from
// the chain each time) and waits up to 30 s for the block.
std::function<Result<Hash32>(protocol::TxBody)> SubmitSignedBy(node::ChainAccess* chain, crypto::PrivateKey key);

class Replicator {
 public:
  // REQUIRES: chain and hub outlive the Replicator; hub runs with IPFS hooks on kubo_api.
  static Result<std::unique_ptr<Replicator>> Create(ReplicatorOptions options, node::ChainAccess* chain, hub::Hub* hub);
  ~Replicator();

  Result<RoundReport> RunOnce();
  void Start();  // rounds every options.interval on a background thread, until Stop
  void Stop();

 private:
  Replicator(ReplicatorOptions options, node::ChainAccess* chain, hub::Hub* hub, ipfs::KuboClient kubo)
      : options_(std::move(options)), chain_(chain), hub_(hub), kubo_(std::move(kubo)) {}
  // Every (Lucid CID, IPFS root, size) a version consists of, manifest included.
  struct Part {
    crypto::Cid cid;
    std::string root;
    std::optional<uint64_t> size;
  };
  Result<std::vector<Part>> PartsOf(const crypto::Cid& manifest);
  // Makes every part stored here and pinned on the own kubo; counts what it had to restore.
  Status Hold(const std::vector<Part>& parts, const std::set<std::string>& pinned, size_t* restored);

  static constexpr uint64_t kMaxManifestBytes = 1u << 20;
  static constexpr int kUnpinAfterFailures = 3;
  struct Backoff {
    int failures = 0;
    uint64_t retry_round = 0;
  };

  ReplicatorOptions options_;
  node::ChainAccess* chain_;
  hub::Hub* hub_;
  ipfs::KuboClient kubo_;
  // Round state (RunOnce only).
  uint64_t round_ = 0;
  std::map<crypto::Cid, int> short_rounds_;    // version -> rounds seen under-replicated
  std::map<crypto::Cid, int> hold_failures_;   // announced version -> rounds in a row it failed
  std::map<crypto::Cid, Backoff> backoff_;     // version that failed to be taken on
  std::set<crypto::Cid> refused_;              // manifest contradicts its files: never taken on
  std::map<crypto::Cid, std::string> own_roots_;  // file -> the root this hub's kubo gave it
  std::string last_error_;                   // of the last round (background thread only)

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace lucid::replication
