// `lucid validator`: the ABCI application of one Lucid validator beside its CometBFT process
// (docs/consensus.md), optionally serving the Lucid HTTP API's read side with tx broadcast
// forwarded to CometBFT's RPC. Built only with the ABCI parts (LUCID_HAVE_ABCI).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/context.h"

namespace lucid::cli {

// Registers the `validator` subcommand; its callback sets rc.
void AddValidatorCommand(CLI::App& app, Context& ctx, int& rc);

}  // namespace lucid::cli
