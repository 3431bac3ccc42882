// `lucid llm run|bench`: the local LLM engine on a GGUF file (docs/llm.md, "CLI").
#pragma once

#include <CLI/CLI.hpp>

namespace lucid::cli {

// Adds the `llm` subcommand to app; its callbacks store their exit code in *rc.
void AddLlmCommands(CLI::App& app, int* rc);

}  // namespace lucid::cli
