// `lucid hub status NAME@VERSION --ipfs API...` (docs/ipfs.md): the version's files (Lucid CID,
// IPFS root, size) and, for each kubo RPC API given, whether it pins each file's root.
#pragma once

#include <string>
#include <vector>

#include "cli/context.h"

namespace lucid::cli {

int HubStatus(const Context& ctx, const std::string& ref, const std::vector<std::string>& ipfs_apis);

}  // namespace lucid::cli
