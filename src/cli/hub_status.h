// `lucid hub status NAME@VERSION --ipfs API...` (docs/ipfs.md): the version's files (Lucid CID,
// IPFS root, size) and, for each kubo RPC API given, whether it pins each file's root.
#pragma once

#include <string>
#include <vector>

#include "cli/context.h"

namespace lucid::cli {

// A version's replication as the chain records it (the hubs that announced pinning it, R, and
// whether it is under-replicated) and, for each kubo API named, whether each file is pinned there.
int HubStatus(const Context& ctx, const std::string& ref, const std::vector<std::string>& ipfs_apis);
// Every published version's replication (only the under-replicated ones with only_under).
int HubReplication(const Context& ctx, bool only_under);
// Sends AnnouncePinsTx{retire} from --from: every pin dropped, the bond returned.
int HubRetire(const Context& ctx);

}  // namespace lucid::cli
