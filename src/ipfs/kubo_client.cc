#include "ipfs/kubo_client.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "crypto/hash.h"

namespace lucid::ipfs {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

bool IsLoopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

std::unique_ptr<httplib::Client> MakeClient(const std::string& host, int port, std::chrono::seconds timeout) {
  auto cli = std::make_unique<httplib::Client>(host, port);
  cli->set_connection_timeout(std::chrono::seconds(5));
  cli->set_read_timeout(timeout);
  cli->set_write_timeout(timeout);
  cli->set_keep_alive(false);
  return cli;
}

// kubo answers errors as {"Message": "...", "Code": 0, "Type": "error"}.
std::string KuboMessage(const std::string& body) {
  json j = json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("Message") && j["Message"].is_string())
    return j["Message"].get<std::string>();
  return body.substr(0, 300);
}

}  // namespace


Result<std::pair<std::string, int>> ParseApiAddress(std::string_view api) {
  std::string text(api);
  std::string host;
  std::string port_text;
  if (text.rfind("/ip4/", 0) == 0 || text.rfind("/ip6/", 0) == 0 || text.rfind("/dns/", 0) == 0) {
    // /ip4/HOST/tcp/PORT[/http]
    std::vector<std::string> parts;
    size_t start = 1;
    while (start <= text.size()) {
      size_t slash = text.find('/', start);
      if (slash == std::string::npos) slash = text.size();
      parts.push_back(text.substr(start, slash - start));
      start = slash + 1;
    }
    if (parts.size() < 4 || parts[2] != "tcp") return InvalidArgument("IPFS API multiaddr \"" + text + "\" is not /ip4/HOST/tcp/PORT");
    host = parts[1];
    port_text = parts[3];
  } else {
    if (text.rfind("http://", 0) == 0) text = text.substr(7);
    while (!text.empty() && text.back() == '/') text.pop_back();
    const size_t colon = text.rfind(':');
    if (colon == std::string::npos || colon == 0) return InvalidArgument("IPFS API address \"" + std::string(api) + "\" is not HOST:PORT");
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  }
  int port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9' || port > 65535) return InvalidArgument("IPFS API address \"" + std::string(api) + "\": bad port");
    port = port * 10 + (c - '0');
  }
  if (port_text.empty() || port <= 0 || port > 65535)
    return InvalidArgument("IPFS API address \"" + std::string(api) + "\": bad port");
  return std::make_pair(host, port);
}

Result<KuboClient> KuboClient::Connect(std::string_view api, std::chrono::seconds timeout) {
  ASSIGN_OR_RETURN(auto hp, ParseApiAddress(api));
  if (!IsLoopback(hp.first))
    return InvalidArgument("IPFS API host \"" + hp.first +
                           "\" is not a loopback address: kubo's RPC API has no authentication, keep it on 127.0.0.1");
  return KuboClient(hp.first, hp.second, timeout);
}

std::string KuboClient::address() const { return host_ + ":" + std::to_string(port_); }

Result<std::string> KuboClient::Call(const std::string& path_and_query) const {
  auto cli = MakeClient(host_, port_, timeout_);
  auto res = cli->Post(path_and_query.c_str(), "", "application/octet-stream");
  if (!res) {
    return Unavailable("IPFS API " + address() + " unreachable (" + httplib::to_string(res.error()) + ") on " +
                       path_and_query.substr(0, path_and_query.find('?')));
  }
  if (res->status != 200) {
    return Unavailable("IPFS API " + address() + " " + path_and_query.substr(0, path_and_query.find('?')) +
                       ": HTTP " + std::to_string(res->status) + ": " + KuboMessage(res->body));
  }
  return res->body;
}

Result<PeerInfo> KuboClient::Id() const {
  ASSIGN_OR_RETURN(std::string body, Call("/api/v0/id"));
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("ID")) return DataLoss("IPFS API " + address() + ": id answer is not JSON");
  PeerInfo info;
  info.id = j.value("ID", "");
  info.agent = j.value("AgentVersion", "");
  if (j.contains("Addresses") && j["Addresses"].is_array())
    for (const json& a : j["Addresses"])
      if (a.is_string()) info.addresses.push_back(a.get<std::string>());
  return info;
}

Result<AddedFile> KuboClient::AddFile(const std::string& path) const {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec) return NotFound("cannot read " + path + ": " + ec.message());
  auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
  if (!*file) return NotFound("cannot open " + path);

  const std::string boundary = "lucid-ipfs-boundary-7d3f9a1c5e";
  const std::string head = "--" + boundary +
                           "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"blob\"\r\n"
                           "Content-Type: application/octet-stream\r\n\r\n";
  const std::string tail = "\r\n--" + boundary + "--\r\n";
  const uint64_t total = head.size() + size + tail.size();
  auto hasher = std::make_shared<crypto::Sha256Stream>();
  auto read_bytes = std::make_shared<uint64_t>(0);
  auto read_error = std::make_shared<bool>(false);

  // The provider is asked for [offset, offset+length) in order; it serves the header, the
  // file's bytes (read here, 1 MiB at a time, hashed once) and the trailer.
  httplib::ContentProvider provider = [=](size_t offset, size_t length, httplib::DataSink& sink) -> bool {
    size_t pos = offset;
    const size_t end = offset + length;
    std::vector<char> buf;
    while (pos < end) {
      if (pos < head.size()) {
        const size_t n = std::min(end, head.size()) - pos;
        sink.write(head.data() + pos, n);
        pos += n;
      } else if (pos < head.size() + size) {
        const uint64_t file_pos = pos - head.size();
        if (file_pos != *read_bytes) {  // never happens with httplib's sequential provider
          *read_error = true;
          return false;
        }
        const size_t n = static_cast<size_t>(std::min<uint64_t>({end - pos, size - file_pos, 1u << 20}));
        buf.resize(n);
        file->read(buf.data(), static_cast<std::streamsize>(n));
        if (static_cast<size_t>(file->gcount()) != n) {
          *read_error = true;
          return false;
        }
        hasher->Update(ByteView(reinterpret_cast<const uint8_t*>(buf.data()), n));
        *read_bytes += n;
        if (!sink.write(buf.data(), n)) return false;
        pos += n;
      } else {
        const size_t off = pos - head.size() - size;
        const size_t n = std::min(end - pos, tail.size() - off);
        sink.write(tail.data() + off, n);
        pos += n;
      }
    }
    return true;
  };

  auto cli = MakeClient(host_, port_, timeout_);
  const std::string query = "/api/v0/add?cid-version=1&raw-leaves=true&chunker=size-" + std::to_string(kChunkBytes) +
                            "&pin=true&progress=false&quieter=true";
  auto res = cli->Post(query.c_str(), static_cast<size_t>(total), provider,
                       ("multipart/form-data; boundary=" + boundary).c_str());
  if (*read_error) return DataLoss("reading " + path + " changed under the upload");
  if (!res) return Unavailable("IPFS API " + address() + " unreachable (" + httplib::to_string(res.error()) + ") on add");
  if (res->status != 200)
    return Unavailable("IPFS API " + address() + " add: HTTP " + std::to_string(res->status) + ": " + KuboMessage(res->body));
  if (*read_bytes != size) return DataLoss("sent " + std::to_string(*read_bytes) + " of " + std::to_string(size) + " bytes of " + path);
  // One JSON object per line; the last names the root.
  std::string last;
  size_t start = 0;
  while (start < res->body.size()) {
    size_t nl = res->body.find('\n', start);
    if (nl == std::string::npos) nl = res->body.size();
    if (nl > start) last = res->body.substr(start, nl - start);
    start = nl + 1;
  }
  json j = json::parse(last, nullptr, false);
  if (j.is_discarded() || !j.contains("Hash") || !j["Hash"].is_string())
    return DataLoss("IPFS API " + address() + " add: unexpected answer: " + last.substr(0, 200));
  AddedFile out;
  out.ipfs_cid = j["Hash"].get<std::string>();
  out.size = size;
  out.cid.digest = hasher->Finish();
  return out;
}

Status KuboClient::CatToFile(std::string_view ipfs_cid, const crypto::Cid& expect, const std::string& out_path,
                             uint64_t max_bytes) const {
  std::FILE* out = std::fopen(out_path.c_str(), "wb");
  if (!out) return Internal("cannot write " + out_path);
  crypto::Sha256Stream hasher;
  uint64_t got = 0;
  bool too_big = false;
  bool write_failed = false;
  int status = 0;
  std::string error_body;

  httplib::Request req;
  req.method = "POST";
  // kubo's own deadline too: without one it keeps looking for a block no peer has.
  req.path = "/api/v0/cat?arg=" + UrlEncode(ipfs_cid) + "&progress=false&timeout=" + std::to_string(timeout_.count()) + "s";
  req.set_header("Content-Type", "application/octet-stream");
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (status != 200) {
      if (error_body.size() < 4096) error_body.append(data, std::min<size_t>(n, 4096));
      return true;
    }
    if (got + n > max_bytes) {
      too_big = true;
      return false;
    }
    hasher.Update(ByteView(reinterpret_cast<const uint8_t*>(data), n));
    if (std::fwrite(data, 1, n, out) != n) {
      write_failed = true;
      return false;
    }
    got += n;
    return true;
  };
  auto cli = MakeClient(host_, port_, timeout_);
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  const bool sent = cli->send(req, res, err);
  const bool closed = std::fclose(out) == 0;
  auto fail = [&](Status s) {
    std::error_code ec;
    fs::remove(out_path, ec);
    return s;
  };
  const std::string peer = "IPFS peer " + address();
  if (too_big)
    return fail(OutOfRange(peer + " sent more than " + std::to_string(max_bytes) + " bytes for " + std::string(ipfs_cid)));
  if (write_failed || !closed) return fail(Internal("writing " + out_path + " failed"));
  if (status != 0 && status != 200)
    return fail(Unavailable(peer + " cat " + std::string(ipfs_cid) + ": HTTP " + std::to_string(status) + ": " +
                            KuboMessage(error_body)));
  if (!sent) return fail(Unavailable(peer + " unreachable (" + httplib::to_string(err) + ") on cat " + std::string(ipfs_cid)));
  const Hash32 digest = hasher.Finish();
  if (digest != expect.digest) {
    crypto::Cid actual;
    actual.digest = digest;
    return fail(DataLoss(peer + " sent " + std::to_string(got) + " bytes for " + std::string(ipfs_cid) +
                         " that do not match the whole-file CID " + expect.ToString() + " (they hash to " +
                         actual.ToString() + "): refused, not kept"));
  }
  return Status::Ok();
}

Result<Bytes> KuboClient::Cat(std::string_view ipfs_cid, const crypto::Cid& expect, uint64_t max_bytes) const {
  auto cli = MakeClient(host_, port_, timeout_);
  const std::string path = "/api/v0/cat?arg=" + UrlEncode(ipfs_cid) + "&progress=false&timeout=" + std::to_string(timeout_.count()) + "s";
  Bytes body;
  int status = 0;
  bool too_big = false;
  httplib::Request req;
  req.method = "POST";
  req.path = path;
  req.set_header("Content-Type", "application/octet-stream");
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (body.size() + n > max_bytes + 4096) {
      too_big = true;
      return false;
    }
    body.insert(body.end(), data, data + n);
    return true;
  };
  httplib::Response res;
  httplib::Error err = httplib::Error::Success;
  const bool sent = cli->send(req, res, err);
  const std::string peer = "IPFS peer " + address();
  if (too_big) return OutOfRange(peer + " sent more than " + std::to_string(max_bytes) + " bytes for " + std::string(ipfs_cid));
  if (status != 0 && status != 200)
    return Unavailable(peer + " cat " + std::string(ipfs_cid) + ": HTTP " + std::to_string(status) + ": " +
                       KuboMessage(std::string(body.begin(), body.end())));
  if (!sent) return Unavailable(peer + " unreachable (" + httplib::to_string(err) + ") on cat " + std::string(ipfs_cid));
  if (body.size() > max_bytes) return OutOfRange(peer + " sent more than " + std::to_string(max_bytes) + " bytes");
  if (crypto::Cid::Of(body) != expect)
    return DataLoss(peer + " sent " + std::to_string(body.size()) + " bytes for " + std::string(ipfs_cid) +
                    " that do not match the whole-file CID " + expect.ToString() + ": refused, not kept");
  return body;
}

Status KuboClient::PinAdd(std::string_view ipfs_cid) const {
  return Call("/api/v0/pin/add?arg=" + UrlEncode(ipfs_cid) + "&recursive=true&progress=false").status();
}

Result<bool> KuboClient::IsPinned(std::string_view ipfs_cid) const {
  auto body = Call("/api/v0/pin/ls?arg=" + UrlEncode(ipfs_cid) + "&type=all");
  if (body.ok()) return body->find(std::string(ipfs_cid)) != std::string::npos;
  // kubo answers HTTP 500 "... is not pinned" for a CID it does not pin.
  if (body.status().message().find("not pinned") != std::string::npos) return false;
  return body.status();
}

Result<std::vector<std::string>> KuboClient::PinLs() const {
  ASSIGN_OR_RETURN(std::string body, Call("/api/v0/pin/ls?type=recursive"));
  json j = json::parse(body, nullptr, false);
  std::vector<std::string> out;
  if (j.is_discarded() || !j.contains("Keys")) return DataLoss("IPFS API " + address() + ": pin/ls answer is not JSON");
  for (auto it = j["Keys"].begin(); it != j["Keys"].end(); ++it) out.push_back(it.key());
  return out;
}

Status KuboClient::SwarmConnect(std::string_view multiaddr) const {
  return Call("/api/v0/swarm/connect?arg=" + UrlEncode(multiaddr)).status();
}

Result<std::vector<std::string>> KuboClient::SwarmPeers() const {
  ASSIGN_OR_RETURN(std::string body, Call("/api/v0/swarm/peers"));
  json j = json::parse(body, nullptr, false);
  std::vector<std::string> out;
  if (j.is_discarded()) return DataLoss("IPFS API " + address() + ": swarm/peers answer is not JSON");
  if (j.contains("Peers") && j["Peers"].is_array())
    for (const json& p : j["Peers"])
      if (p.contains("Peer") && p["Peer"].is_string()) out.push_back(p["Peer"].get<std::string>());
  return out;
}

}  // namespace lucid::ipfs
