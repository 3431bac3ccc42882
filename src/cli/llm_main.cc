// `lucid-llm`: the `lucid llm` commands alone (quick to build; bench/ and tests/llm/parity.py).
#include <CLI/CLI.hpp>

#include "cli/llm.h"

int main(int argc, char** argv) {
  CLI::App app{"lucid-llm: Lucid's deterministic LLM engine on a GGUF file"};
  app.require_subcommand(1);
  int rc = 0;
  lucid::cli::AddLlmCommands(app, &rc);
  CLI11_PARSE(app, argc, argv);
  return rc;
}
