// A small JSON-over-HTTP client for the Lucid API, used by the CLI. Errors returned by the
// server ({"error": {"code", "message"}}) come back as the same Status codes.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "base/bytes.h"

namespace lucid::api {

using nlohmann::json;

// Transfer progress: bytes done so far and the total (0 when the server sent no length).
using TransferProgress = std::function<void(uint64_t done, uint64_t total)>;

class ApiClient {
 public:
  explicit ApiClient(std::string base_url);
  Result<json> Get(const std::string& path) const;
  Result<json> Post(const std::string& path, const json& body) const;
  Result<Bytes> GetRaw(const std::string& path, const TransferProgress& progress = nullptr) const;
  // The body is sent in 1 MiB pieces, progress called after each.
  Result<json> PostRaw(const std::string& path, ByteView body, const std::string& content_type,
                       const TransferProgress& progress = nullptr) const;
  // POST that returns the JSON body even for a 422 refusal (tx results carry the reason).
  Result<std::pair<int, json>> PostWithStatus(const std::string& path, const json& body) const;
  const std::string& base_url() const { return base_url_; }

 private:
  std::string base_url_;
};

}  // namespace lucid::api
