// Starts and stops a kubo daemon (`ipfs daemon`) in a PRIVATE swarm, for hubs, nodes, the
// devnet and tests (docs/ipfs.md "What Lucid configures"): the repo is initialised with the
// test profile, a swarm key (a private network: only peers holding the same key connect),
// LIBP2P_FORCE_PNET=1, no bootstrap peers, no mDNS, no DHT or delegated routers
// (Routing.Type "none"), no AutoConf, no telemetry, no NAT port mapping, no relays, no
// AutoNAT service, and every listener (swarm, API, gateway) on 127.0.0.1 (port 0 unless
// given: the daemon picks free ports). Peers are found only through Peering.Peers or
// `swarm connect`.
// Thread-safety: one thread drives a KuboNode.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "ipfs/kubo_client.h"

namespace lucid::ipfs {

struct KuboNodeOptions {
  std::string binary;       // the `ipfs` executable; empty: FindKuboBinary()
  std::string repo;         // IPFS_PATH; created and configured on first start
  std::string swarm_key;    // file copied into the repo as swarm.key (required)
  std::vector<std::string> peers;  // multiaddrs .../p2p/ID put in Peering.Peers
  int swarm_port = 0;       // 127.0.0.1 TCP ports, 0: any free one
  int api_port = 0;
  std::string log_path;     // daemon stdout/stderr; empty: <repo>/daemon.log
  std::string storage_max = "10GB";  // Datastore.StorageMax (docs/ipfs.md "Disk limits")
  std::chrono::seconds start_timeout{60};
};

// Writes a new swarm key ("/key/swarm/psk/1.0.0/\n/base16/\n" + 64 hex chars from the OS
// RNG) to path, mode 0600. Refuses to overwrite an existing file.
Status WriteSwarmKey(const std::string& path);
// Checks a swarm key file's format.
Status CheckSwarmKey(const std::string& path);

// $LUCID_IPFS_BIN, else <dir of this executable>/../../.tools/bin/ipfs and ./.tools/bin/ipfs
// relative to the source tree (LUCID_SOURCE_DIR), else `ipfs` on PATH. Empty if none exists.
std::string FindKuboBinary();

// The settings Lucid applies to a kubo config (JSON text in, JSON text out); exposed for tests.
Result<std::string> ApplyPrivateConfig(const std::string& config_json, const KuboNodeOptions& options);

class KuboNode {
 public:
  explicit KuboNode(KuboNodeOptions options);
  ~KuboNode();  // Stop()
  KuboNode(const KuboNode&) = delete;
  KuboNode& operator=(const KuboNode&) = delete;

  // Inits the repo if needed, (re)applies the private config, starts the daemon and waits
  // until its API answers `id`.
  Status Start();
  // SIGTERM, then SIGKILL after 10 s. Idempotent.
  void Stop();
  bool running() const { return pid_ > 0; }

  const std::string& api_address() const { return api_; }  // "127.0.0.1:PORT"
  const std::string& peer_id() const { return peer_id_; }
  // "/ip4/127.0.0.1/tcp/PORT/p2p/ID" (what other nodes put in their peers).
  const std::string& swarm_address() const { return swarm_; }
  Result<KuboClient> Client() const { return KuboClient::Connect(api_); }

 private:
  Status Init();
  Status RunIpfs(const std::vector<std::string>& args, std::string* output) const;

  KuboNodeOptions options_;
  int pid_ = -1;
  std::string api_;
  std::string peer_id_;
  std::string swarm_;
};

}  // namespace lucid::ipfs
