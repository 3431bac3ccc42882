// The web UI served by the node (docs/web.md): static files from web/, compiled into the
// binary (cmake/embed_web.cmake), at / (index.html) and /ui/FILE, and the few JSON routes
// the UI needs that the API lacks, under /ui/api/:
//   GET  /ui/api/blocks?limit=N&before=H&nonempty=1  recent block summaries
//   GET  /ui/api/txs/HASH[?height=H]                  one tx and its result
//   GET  /ui/api/verify/RECEIPT_ID                    the checks `lucid verify` runs, against
//   POST /ui/api/verify {receipt_id, bundle?}         this node's chain state (verify library)
//   POST /ui/api/infer {model, inputs, mode?}         "try it": the gateway signs the request
//        for the requester its bearer API key maps to (the same keys as /v1; `lucid devnet`
//        maps lucid-dev-key to dev1), the node runs it; answers receipt and result bundle.
// Errors: {"error": {"code", "message"}} with 4xx for the caller's mistakes, as server.cc.
// Thread-safety: as server.h.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "crypto/secp256k1.h"

namespace httplib { class Server; }
namespace lucid::hub { class Hub; }
namespace lucid::node {
class ChainAccess;
class InferenceNode;
}

namespace lucid::api {

struct WebOptions {
  std::map<std::string, crypto::PrivateKey> api_keys;  // as ServerOptions::api_keys
  uint64_t max_json_bytes = 32ull << 20;
};

// One file of web/ as compiled in (generated web_assets.cc).
struct WebAsset {
  std::string_view path;  // relative to web/, '/'-separated
  const unsigned char* data;
  unsigned long size;
};
const std::vector<WebAsset>& WebAssets();

// Content-Type for a path by its extension (text types in UTF-8).
std::string_view WebContentType(std::string_view path);

void AddWebRoutes(httplib::Server& s, node::ChainAccess* chain, hub::Hub* hub, node::InferenceNode* node,
                  const WebOptions& options);

}  // namespace lucid::api
