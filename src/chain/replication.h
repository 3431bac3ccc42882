// Internal to lucid_chain: hub replication (docs/ipfs.md "Replication"). Hubs announce the
// published versions they keep pinned in IPFS; the chain keeps who pins what, so anyone can
// see where a version lives and which versions have fewer than params.replication.min_replicas
// hubs. The chain cannot see a hub's disk: an announcement is the hub's bonded claim, and
// `lucid hub status --probe` checks it by asking the hub for blocks of the files.
// Thread-safety: free functions over caller-owned overlays.
#pragma once

#include <optional>
#include <vector>

#include "chain/execute.h"

namespace lucid::chain {

Result<std::optional<HubRecord>> LoadHub(const StateOverlay& state, const Address& hub);
Result<std::vector<HubRecord>> LoadHubs(const StateOverlay& state);
Result<std::vector<Cid>> LoadHubPins(const StateOverlay& state, const Address& hub);
// NotFound when manifest is no published version's manifest.
Result<VersionReplication> LoadReplication(const StateOverlay& state, const Cid& manifest, const Params& params);
Result<std::vector<VersionReplication>> LoadAllReplication(const StateOverlay& state, const Params& params);

TxOutcome ApplyAnnouncePins(StateOverlay& state, const Tx& tx, const AnnouncePinsTx& body, const ExecEnv& env);

}  // namespace lucid::chain
