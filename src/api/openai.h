// OpenAI-compatible routes on the node's API (docs/llm.md "OpenAI-compatible API"):
// GET /v1/models, POST /v1/chat/completions, POST /v1/completions (stream: true as
// server-sent events). "model" names a hub ref (NAME@MAJOR.MINOR) of a GGUF version.
// Requests are made by a local gateway: the bearer API key maps to a requester key held
// here, the node signs the InferenceRequest for that requester and settles it as any
// result; the body carries the receipt (the "lucid" field) and the X-Lucid-Receipt header.
// Errors use OpenAI's shape {"error": {"message", "type", "param", "code"}}.
// Thread-safety: as server.h.
#pragma once

#include <map>
#include <string>

#include "crypto/secp256k1.h"

namespace httplib { class Server; }
namespace lucid::hub { class Hub; }
namespace lucid::node {
class ChainAccess;
class InferenceNode;
}

namespace lucid::api {

struct OpenAiOptions {
  // API key → the requester key the gateway signs with. Empty: the routes answer 401.
  std::map<std::string, crypto::PrivateKey> api_keys;
  uint64_t max_json_bytes = 32ull << 20;
};

void AddOpenAiRoutes(httplib::Server& s, node::ChainAccess* chain, hub::Hub* hub, node::InferenceNode* node,
                     const OpenAiOptions& options);

}  // namespace lucid::api
