// `lucid feed post|show`, `lucid workflow create` and `lucid query workflow` (docs/settlement.md
// "Workflows"): on-chain data feeds (PostDataTx) and scheduled inferences fed from them
// (CreateWorkflowTx), and a workflow's run history with each run's request, receipt and output.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/context.h"

namespace lucid::cli {

// Registers `feed` and `workflow` on app and `workflow` on query (`lucid query`); their
// callbacks set rc.
void AddWorkflowCommands(CLI::App& app, CLI::App& query, Context& ctx, int& rc);

}  // namespace lucid::cli
