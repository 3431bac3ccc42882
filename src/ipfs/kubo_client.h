// A client of kubo's HTTP RPC API (`/api/v0/...`, docs/ipfs.md), on loopback only.
// Files travel streamed: AddFile reads the file from disk in chunks into a multipart body,
// CatToFile writes what kubo sends to a file while hashing it, so neither holds a file
// in memory. CatToFile checks the bytes against the Lucid whole-file CID (sha2-256 of the
// file, crypto/cid.h) and deletes the output on mismatch: a peer can withhold a file but
// never substitute one.
// Thread-safety: a KuboClient is safe for concurrent use (each call opens its own
// connection).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/cid.h"

namespace lucid::ipfs {

// How files are added: CIDv1, raw leaves, 1 MiB chunks, pinned. With these a file of at most
// 1 MiB (every manifest) has the same CID in IPFS as in Lucid ("bafkrei..."); a larger
// one has a dag-pb root ("bafybei...") that the manifest records next to the Lucid CID.
inline constexpr uint64_t kChunkBytes = 1u << 20;

struct AddedFile {
  std::string ipfs_cid;  // root CID text
  uint64_t size = 0;     // bytes read from the file
  crypto::Cid cid;       // the Lucid whole-file CID, hashed while streaming
};

struct PeerInfo {
  std::string id;                      // peer ID
  std::vector<std::string> addresses;  // multiaddrs ending in /p2p/ID
  std::string agent;                   // "kubo/0.43.1/..."
};

class KuboClient {
 public:
  // api: "127.0.0.1:5001", "http://127.0.0.1:5001" or a multiaddr "/ip4/127.0.0.1/tcp/5001".
  // Refuses hosts other than loopback ones (127.0.0.0/8, localhost, ::1).
  static Result<KuboClient> Connect(std::string_view api,
                                    std::chrono::seconds timeout = std::chrono::seconds(120));

  const std::string& host() const { return host_; }
  int port() const { return port_; }
  std::string address() const;  // "127.0.0.1:PORT"

  // POST /api/v0/id.
  Result<PeerInfo> Id() const;
  // Streams the file at `path` to /api/v0/add (cid-version=1, raw-leaves=true,
  // chunker=size-1048576, pin=true) and returns the root CID.
  Result<AddedFile> AddFile(const std::string& path) const;
  // Streams /api/v0/cat of `ipfs_cid` into out_path (created or truncated) while hashing,
  // within the client's timeout (also passed to kubo, which stops looking for missing blocks);
  // OUT_OF_RANGE past max_bytes, DATA_LOSS (and out_path removed) when the bytes do not hash
  // to `expect`. The error names the peer (this API's address).
  Status CatToFile(std::string_view ipfs_cid, const crypto::Cid& expect, const std::string& out_path,
                   uint64_t max_bytes) const;
  // Small blobs: cat into memory (at most max_bytes), checked against `expect`.
  Result<Bytes> Cat(std::string_view ipfs_cid, const crypto::Cid& expect, uint64_t max_bytes) const;
  Status PinAdd(std::string_view ipfs_cid) const;
  // Whether `ipfs_cid` is pinned (recursively or indirectly) on this node.
  Result<bool> IsPinned(std::string_view ipfs_cid) const;
  // Recursive pins' root CIDs.
  Result<std::vector<std::string>> PinLs() const;
  Status SwarmConnect(std::string_view multiaddr) const;
  // Connected peers' IDs.
  Result<std::vector<std::string>> SwarmPeers() const;

 private:
  KuboClient(std::string host, int port, std::chrono::seconds timeout)
      : host_(std::move(host)), port_(port), timeout_(timeout) {}
  // POST path (query included) with an empty body; the reply's body as text, or an error
  // naming kubo's message.
  Result<std::string> Call(const std::string& path_and_query) const;

  std::string host_;
  int port_ = 0;
  std::chrono::seconds timeout_;
};

// "/ip4/127.0.0.1/tcp/5001" -> {"127.0.0.1", 5001}; also accepts "HOST:PORT" and
// "http://HOST:PORT".
Result<std::pair<std::string, int>> ParseApiAddress(std::string_view api);

}  // namespace lucid::ipfs
