// `lucid devnet`: the whole network in one process on embedded defaults: a solo block
// producer over RocksDB state, the Model Hub over a local blob store, one inference node
// and the HTTP API, with prefunded dev accounts and the demo models published.
// INSECURE by design: every key it uses is derived from a public seed, and the chain is
// created with dev_mode = true, the only kind of chain that accepts those keys.
// Thread-safety: Start/Stop from one thread; the running parts are thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/secp256k1.h"

namespace lucid::devnet {

struct DevnetOptions {
  std::string home = ".lucid";
  std::string http_host = "127.0.0.1";
  int http_port = 26680;           // 0 picks a free port
  std::chrono::milliseconds block_time{1000};
  size_t dev_accounts = 4;
  uint64_t dev_balance = 1'000'000'000'000;
  bool publish_demo_models = true;
  int threads = 1;
  // tee: this `lucid` binary is started as `lucid enclave --dev` (a child process on
  // 127.0.0.1); its dev PKI root goes into a new genesis as params.tee.dev_root_der and its
  // PCR0 (SHA-384 of the binary) into allowed_pcr0; the node serves tee through it. Empty: no tee.
  std::string enclave_binary;
  // tee: how long an enclave registration lasts on a new chain (0: the default hour).
  std::chrono::milliseconds tee_heartbeat{0};
  // IPFS (docs/ipfs.md): kubo RPC addresses (127.0.0.1); the hub adds every version's files to
  // the first (pinned, roots recorded in the manifest) and fetches files it lacks through them
  // in order. Empty: no IPFS, the local blob store only.
  std::vector<std::string> ipfs_apis;
  // Replication (docs/ipfs.md "Replication"), with IPFS only: the hub's replicator announces
  // its pins on chain as the devnet hub account (protocol::DevnetHubKey), repairs lost copies
  // and takes on versions pinned by fewer than min_replicas hubs, every replicate_interval.
  bool replicate = true;
  std::chrono::milliseconds replicate_interval{0};  // 0: the block time
  // A new chain's params.replication.min_replicas (R); an existing chain keeps its own.
  uint64_t min_replicas = 1;
};

struct DemoModel {
  std::string ref;                 // name@version
  std::string manifest_cid;
};

struct DevnetInfo {
  std::string chain_id;
  std::string api_url;
  crypto::Address validator;
  crypto::Address node;
  std::vector<std::pair<std::string, crypto::Address>> dev_accounts;  // name, address
  std::vector<DemoModel> demo_models;
  std::string enclave;  // tee: the dev enclave's address, empty without one
  Bytes enclave_pcr0;
  std::string hub;  // the hub account announcing IPFS pins; empty without replication
};

class Devnet {
 public:
  explicit Devnet(DevnetOptions options);
  ~Devnet();
  // Opens or creates the home, resumes the chain from its last committed block, starts
  // block production and the API, registers the node and publishes demo models once.
  Result<DevnetInfo> Start();
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// "1s", "500ms", "2" (seconds), "5m", "2h", "1d" → duration; refuses zero, garbage and more than max.
Result<std::chrono::milliseconds> ParseDuration(std::string_view text,
                                                std::chrono::milliseconds max = std::chrono::hours(1));
// "127.0.0.1:26680" → host, port.
Result<std::pair<std::string, int>> ParseHostPort(std::string_view text);

}  // namespace lucid::devnet
