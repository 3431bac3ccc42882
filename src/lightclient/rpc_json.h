// Parsers for CometBFT v0.38 RPC JSON (untrusted input): GET /commit?height=H,
// GET /validators?height=H, and a genesis document (the local genesis.json, or GET /genesis).
// Each accepts the JSON-RPC envelope ({"jsonrpc", "id", "result": {...}}) or the result alone;
// an {"error": ...} envelope is returned as UNAVAILABLE with the node's message.
// Hex fields are CometBFT's upper-case hex; signatures and keys are base64; 64-bit integers
// are decimal strings (plain numbers are accepted too); times are RFC 3339 with nanoseconds.
// Thread-safety: free functions.
#pragma once

#include <string>
#include <string_view>

#include "lightclient/lightclient.h"

namespace lucid::lightclient {

// Standard base64 with padding (what Go's encoding/json writes for []byte).
Result<Bytes> DecodeBase64(std::string_view text);
// RFC 3339 ("2026-12-02T14:33:13.97504906Z", or with a numeric offset) to seconds + nanos
// since the Unix epoch (proleptic Gregorian, years 0001-9999).
Result<Timestamp> ParseRfc3339(std::string_view text);

Result<SignedHeader> ParseCommitJson(std::string_view json_text);

// One page of /validators: the validators on it and the set's total count.
struct ValidatorsPage {
  int64_t block_height = 0;
  std::vector<Validator> validators;
  int64_t total = 0;  // number of validators in the set (all pages)
};
Result<ValidatorsPage> ParseValidatorsJson(std::string_view json_text);

struct Genesis {
  std::string chain_id;
  int64_t initial_height = 1;  // "0" in the file means 1, as CometBFT reads it
  ValidatorSet validators;
};
// Refuses a genesis without validators (the set would then come from the app's InitChain,
// which a light client cannot know without trusting a node).
Result<Genesis> ParseGenesisJson(std::string_view json_text);

}  // namespace lucid::lightclient
