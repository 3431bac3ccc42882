// `lucid completion bash|zsh` (README "CLI reference"): shell completion generated from the CLI11 tree.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace lucid::cli {

// The completion script for `shell` ("bash" or "zsh") covering every subcommand and option
// of `root` (root options offered after any subcommand, as `lucid` accepts them there).
std::string CompletionScript(const CLI::App& root, const std::string& shell);

// Adds the `completion SHELL` subcommand to app; its callback prints the script.
void AddCompletionCommand(CLI::App& app, int& rc);

}  // namespace lucid::cli
