#include "api/client.h"

#include <algorithm>

#include <httplib.h>

namespace lucid::api {
namespace {

Code CodeFromName(const std::string& name) {
  for (int c = 0; c <= static_cast<int>(Code::kUnavailable); ++c)
    if (CodeName(static_cast<Code>(c)) == name) return static_cast<Code>(c);
  return Code::kInternal;
}

Status ErrorFrom(const httplib::Result& res, const std::string& url) {
  if (!res) return Unavailable("cannot reach the Lucid API at " + url + " (" + httplib::to_string(res.error()) +
                               "); is `lucid devnet` running? (--node URL)");
  json j = json::parse(res->body, nullptr, false);
  if (!j.is_discarded() && j.contains("error") && j["error"].is_object())
    return Status(CodeFromName(j["error"].value("code", "")), j["error"].value("message", ""));
  return Internal("HTTP " + std::to_string(res->status) + " from " + url);
}

Result<json> JsonBody(const httplib::Result& res, const std::string& url) {
  if (!res || res->status != 200) return ErrorFrom(res, url);
  json j = json::parse(res->body, nullptr, false);
  if (j.is_discarded()) return Internal("invalid JSON from " + url);
  return j;
}

std::unique_ptr<httplib::Client> MakeClient(const std::string& base) {
  auto c = std::make_unique<httplib::Client>(base);
  c->set_connection_timeout(5);
  c->set_read_timeout(120);
  c->set_write_timeout(120);
  return c;
}

}  // namespace

ApiClient::ApiClient(std::string base_url) : base_url_(std::move(base_url)) {
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

Result<json> ApiClient::Get(const std::string& path) const {
  auto c = MakeClient(base_url_);
  return JsonBody(c->Get(path), base_url_ + path);
}

Result<json> ApiClient::Post(const std::string& path, const json& body) const {
  auto c = MakeClient(base_url_);
  return JsonBody(c->Post(path, body.dump(), "application/json"), base_url_ + path);
}

Result<std::pair<int, json>> ApiClient::PostWithStatus(const std::string& path, const json& body) const {
  auto c = MakeClient(base_url_);
  auto res = c->Post(path, body.dump(), "application/json");
  if (!res) return ErrorFrom(res, base_url_ + path);
  json j = json::parse(res->body, nullptr, false);
  if (j.is_discarded()) return Internal("invalid JSON from " + base_url_ + path);
  if (j.contains("error")) return ErrorFrom(res, base_url_ + path);
  return std::make_pair(res->status, j);
}

Result<Bytes> ApiClient::GetRaw(const std::string& path, const TransferProgress& progress) const {
  auto c = MakeClient(base_url_);
  auto res = progress ? c->Get(path, [&](uint64_t done, uint64_t total) {
    progress(done, total);
    return true;
  })
                      : c->Get(path);
  if (!res || res->status != 200) return ErrorFrom(res, base_url_ + path);
  return ToBytes(res->body);
}

Result<json> ApiClient::PostRaw(const std::string& path, ByteView body, const std::string& content_type,
                                const TransferProgress& progress) const {
  auto c = MakeClient(base_url_);
  if (!progress)
    return JsonBody(c->Post(path, reinterpret_cast<const char*>(body.data()), body.size(), content_type),
                    base_url_ + path);
  constexpr size_t kPiece = 1 << 20;
  auto provider = [&](size_t offset, size_t length, httplib::DataSink& sink) {
    const size_t n = std::min(length, kPiece);
    if (!sink.write(reinterpret_cast<const char*>(body.data()) + offset, n)) return false;
    progress(offset + n, body.size());
    return true;
  };
  return JsonBody(c->Post(path, httplib::Headers{}, body.size(), provider, content_type), base_url_ + path);
}

}  // namespace lucid::api
