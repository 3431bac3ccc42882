// The hub's IPFS hooks (hub::HubOptions::ipfs_add / ipfs_fetch, docs/ipfs.md) over kubo
// RPC APIs: adds go to the first API (this process's own kubo) with CIDv1, raw leaves and
// pinning; fetches try each API in order (the own one first, then other peers' APIs), each
// streamed to disk and checked against the whole-file CID. A peer that serves wrong bytes
// or fails is logged by name and the next one is tried; what was fetched is pinned on the
// first API so this node keeps serving it to the swarm.
// Thread-safety: the returned functions are safe for concurrent use.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/cid.h"

namespace lucid::ipfs {

struct HubHooks {
  std::function<Result<std::string>(const crypto::Cid& cid, const std::string& path)> add;
  std::function<Status(const crypto::Cid& cid, const std::string& ipfs_cid, uint64_t max_bytes,
                       const std::string& out_path)>
      fetch;
};

// apis: kubo RPC addresses (loopback), at least one. pin_fetched: pin fetched roots on apis[0].
// timeout: per call and per peer (kubo stops looking for blocks no connected peer has then).
Result<HubHooks> MakeHubHooks(const std::vector<std::string>& apis, bool pin_fetched = true,
                              std::chrono::seconds timeout = std::chrono::seconds(120));

}  // namespace lucid::ipfs
