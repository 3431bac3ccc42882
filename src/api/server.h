// The HTTP API (cpp-httplib): chain queries with inclusion proofs, tx broadcast, the Model
// Hub (files by CID, versions), and inference. Every handler returns JSON; errors are
// {"error": {"code": "...", "message": "..."}} with a 4xx status for caller mistakes.
// Nothing throws out of a handler. Binds to 127.0.0.1 unless told otherwise.
// Thread-safety: the server runs handlers on its own thread pool; the objects it is given
// must be thread-safe (ChainAccess, Hub and InferenceNode are).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>

#include "base/status.h"
#include "crypto/secp256k1.h"

namespace httplib { class Server; }

namespace lucid::hub { class Hub; }
namespace lucid::node {
class ChainAccess;
class InferenceNode;
}

namespace lucid::api {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 26680;                       // 0 picks a free port
  uint64_t max_body_bytes = 256ull << 20;  // uploads of model files
  uint64_t max_json_bytes = 32ull << 20;   // inference requests
  // OpenAI-compatible routes (api/openai.h): bearer API key → the requester key the node's
  // gateway signs LLM requests with. Empty: /v1 answers 401.
  std::map<std::string, crypto::PrivateKey> api_keys;
};

class Server {
 public:
  Server(node::ChainAccess* chain, hub::Hub* hub, node::InferenceNode* node, ServerOptions options);
  ~Server();
  // Binds and starts serving on a background thread; returns the bound port.
  Result<int> Start();
  void Stop();

 private:
  void Routes();
  node::ChainAccess* chain_;
  hub::Hub* hub_;
  node::InferenceNode* node_;
  ServerOptions options_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
};

}  // namespace lucid::api
