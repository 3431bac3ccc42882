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
// Sends AnnouncePinsTx from --from: the versions (NAME@MAJOR.MINOR) it now pins / no longer pins,
// for a hub whose pins are managed by hand (its own kubo, `ipfs pin add`).
int HubAnnounce(const Context& ctx, const std::vector<std::string>& pin, const std::vector<std::string>& unpin,
                const std::string& ipfs_peer, const std::string& endpoint);
// Asks every hub that announced REF for `samples` random ranges of each of its files
// (GET /hub/holds/CID, answered only from the hub's own copy) and compares them with copies
// fetched from --node and checked by CID. Exit 1 unless every hub holds every file.
int HubAudit(const Context& ctx, const std::string& ref, int samples);

}  // namespace lucid::cli
