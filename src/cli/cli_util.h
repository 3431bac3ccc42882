// Helpers every `lucid` command file shares: send a tx from --from and wait for its block,
// read a JSON file, print tensors for people. Thread-safety: free functions.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "protocol/types.h"

namespace lucid::cli {

// Signs body as ctx.from with its next nonce, broadcasts it and waits (30 s) for its block;
// prints nothing. FAILED_PRECONDITION naming the code and log when the chain refuses it.
Result<nlohmann::json> SendTx(const Context& ctx, protocol::TxBody body);

// The JSON document in the file at path.
Result<nlohmann::json> ReadJsonFile(const std::string& path);

// Tensors as the API shows them ({name: {dtype, shape, data}}), for people: floats to 6
// significant digits, at most 64 values each (--json prints exact values).
void PrintTensorMap(const nlohmann::json& tensors, const std::string& indent = "  ");

}  // namespace lucid::cli
