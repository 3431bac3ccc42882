// Shared state of one `lucid` invocation: global flags, output helpers, API client, keys.
#pragma once

#include <cstdio>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "api/client.h"
#include "crypto/secp256k1.h"

namespace lucid::cli {

using api::ApiClient;

struct Context {
  std::string node_url = "http://127.0.0.1:26680";
  std::string home = ".lucid";
  std::string from = "dev0";
  bool json_output = false;

  ApiClient api() const { return ApiClient(node_url); }
  Result<crypto::PrivateKey> FromKey() const;
  // A key name in the keystore or a 0x address.
  Result<crypto::Address> ResolveAddress(const std::string& name_or_address) const;
};

// Exit codes: 0 ok, 1 the operation failed or was refused, 2 usage error.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;

// Prints "error: <message>" and "hint: <hint>" (or {"error": {code, message, hint}} with --json)
// and returns kExitFailed. hint: the next step to take; empty: NextStep's, if any.
int Fail(const Context& ctx, const Status& s, const std::string& hint = "");
// The next step for errors any command can meet (no node at --node, a balance too low for a fee,
// a key missing or damaged, another chain), or "".
std::string NextStep(const Context& ctx, const Status& s);
void PrintJson(const nlohmann::json& j);

}  // namespace lucid::cli
