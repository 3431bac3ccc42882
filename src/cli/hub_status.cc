#include "cli/hub_status.h"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <random>

#include <nlohmann/json.hpp>

#include "api/client.h"
#include "api/json_views.h"
#include "cli/cli_util.h"
#include "hub/manifest.h"
#include "ipfs/kubo_client.h"

namespace lucid::cli {

int HubStatus(const Context& ctx, const std::string& ref, const std::vector<std::string>& ipfs_apis) {
  using json = nlohmann::json;
  api::ApiClient client(ctx.node_url);
  auto model = client.Get("/chain/models/" + ref);
  if (!model.ok()) return Fail(ctx, model.status().WithContext("resolving " + ref));
  if (!model->contains("manifest") || !(*model)["manifest"].is_string())
    return Fail(ctx, DataLoss("the chain's answer for " + ref + " names no manifest"));
  auto manifest_cid = crypto::Cid::Parse((*model)["manifest"].get<std::string>());
  if (!manifest_cid.ok()) return Fail(ctx, manifest_cid.status());
  auto raw = client.GetRaw("/hub/files/" + manifest_cid->ToString());
  if (!raw.ok()) return Fail(ctx, raw.status().WithContext("fetching the manifest"));
  if (Status s = manifest_cid->Check(*raw); !s.ok()) return Fail(ctx, s);
  auto m = hub::ParseManifest(*raw);
  if (!m.ok()) return Fail(ctx, m.status());
  // Where the chain says it is pinned: the hubs that announced the version (every file of it).
  auto replication = client.Get("/chain/replication/" + manifest_cid->ToString());
  if (!replication.ok()) return Fail(ctx, replication.status().WithContext("reading the version's pins from the chain"));
  auto parsed = api::ReplicationFromJson(*replication);
  if (!parsed.ok()) return Fail(ctx, parsed.status().WithContext("the chain's answer for the version's pins"));
  const chain::VersionReplication& repl = *parsed;
  json hubs = json::array();
  for (const chain::HubPin& p : repl.pinned_by)
    hubs.push_back({{"address", p.hub.address.ToHex()}, {"ipfs_peer", p.hub.ipfs_peer}, {"endpoint", p.hub.endpoint},
                    {"pinned_height", p.height}});

  struct Row {
    std::string what, lucid, root;
    uint64_t size;
  };
  std::vector<Row> rows;
  rows.push_back({"(manifest)", manifest_cid->ToString(), manifest_cid->ToString(), raw->size()});
  for (const hub::ManifestFile& f : m->files) rows.push_back({f.path, f.cid.ToString(), f.ipfs, f.size});
  if (m->test_vectors) rows.push_back({"(test vectors)", m->test_vectors->cid.ToString(), m->test_vectors->ipfs, 0});

  json nodes = json::array();
  std::vector<std::vector<std::string>> state(rows.size());
  for (const std::string& api : ipfs_apis) {
    json node = {{"api", api}};
    auto kubo = ipfs::KuboClient::Connect(api, std::chrono::seconds(10));
    std::string peer;
    if (kubo.ok()) {
      auto id = kubo->Id();
      if (id.ok()) peer = id->id;
    }
    node["peer_id"] = peer;
    for (size_t i = 0; i < rows.size(); ++i) {
      std::string s;
      if (!kubo.ok() || peer.empty()) s = "unreachable";
      else if (rows[i].root.empty()) s = "no ipfs root";
      else {
        auto pinned = kubo->IsPinned(rows[i].root);
        s = !pinned.ok() ? "error: " + pinned.status().message() : (*pinned ? "pinned" : "not pinned");
      }
      state[i].push_back(s);
    }
    nodes.push_back(node);
  }
  if (ctx.json_output) {
    json files = json::array();
    for (size_t i = 0; i < rows.size(); ++i) {
      json where = json::object();
      size_t pinned = 0;
      for (size_t k = 0; k < ipfs_apis.size(); ++k) {
        where[ipfs_apis[k]] = state[i][k];
        pinned += state[i][k] == "pinned";
      }
      json file = {{"path", rows[i].what}, {"cid", rows[i].lucid}, {"ipfs", rows[i].root}, {"size", rows[i].size},
                   {"hubs", repl.pinned_by.size()}};
      if (!ipfs_apis.empty()) {
        file["pinned_on"] = pinned;
        file["status"] = where;
      }
      files.push_back(file);
    }
    json out = {{"ref", ref},
                {"manifest", manifest_cid->ToString()},
                {"min_replicas", repl.min_replicas},
                {"replicas", repl.pinned_by.size()},
                {"under_replicated", repl.under_replicated()},
                {"hubs", hubs},
                {"files", files}};
    if (!ipfs_apis.empty()) out["nodes"] = nodes;
    PrintJson(out);
    return kExitOk;
  }
  std::cout << ref << "  manifest " << manifest_cid->ToString() << "\n"
            << "pinned by " << repl.pinned_by.size() << " of R=" << repl.min_replicas << " hubs (chain)"
            << (repl.under_replicated() ? "  UNDER-REPLICATED" : "") << "\n";
  for (const chain::HubPin& p : repl.pinned_by)
    std::cout << "  hub " << p.hub.address.ToHex() << "  peer " << p.hub.ipfs_peer << "  "
              << (p.hub.endpoint.empty() ? "-" : p.hub.endpoint) << "  since block " << p.height << "\n";
  if (ipfs_apis.empty()) {
    std::cout << "files (each pinned by the hubs above):\n";
    for (const Row& r : rows)
      std::cout << "  " << r.what << "  " << r.lucid << "  ipfs " << (r.root.empty() ? "-" : r.root) << "\n";
    return kExitOk;
  }
  for (size_t k = 0; k < ipfs_apis.size(); ++k)
    std::cout << "  kubo " << k << "  " << ipfs_apis[k] << "  "
              << (nodes[k]["peer_id"].get<std::string>().empty() ? "unreachable" : nodes[k]["peer_id"].get<std::string>())
              << "\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    size_t pinned = 0;
    for (const std::string& s : state[i]) pinned += s == "pinned";
    std::cout << rows[i].what << "  " << rows[i].lucid << "  ipfs " << (rows[i].root.empty() ? "-" : rows[i].root)
              << "  pinned on " << pinned << "/" << ipfs_apis.size() << ":";
    for (size_t k = 0; k < state[i].size(); ++k) std::cout << "  [" << k << "] " << state[i][k];
    std::cout << "\n";
  }
  return kExitOk;
}

}  // namespace lucid::cli

namespace lucid::cli {

int HubReplication(const Context& ctx, bool only_under) {
  using json = nlohmann::json;
  api::ApiClient client(ctx.node_url);
  auto all = client.Get(std::string("/chain/replication") + (only_under ? "?under_replicated=true" : ""));
  if (!all.ok()) return Fail(ctx, all.status().WithContext("reading replication from the chain"));
  if (ctx.json_output) {
    PrintJson(*all);
    return kExitOk;
  }
  const json& j = *all;
  if (!j.contains("versions") || !j["versions"].is_array()) return Fail(ctx, DataLoss("the chain's answer has no versions"));
  std::cout << "R=" << j.value("min_replicas", 0) << "  published " << j.value("published", 0) << "  under-replicated "
            << j.value("under_replicated", 0) << "\n";
  for (const json& v : j["versions"]) {
    auto r = api::ReplicationFromJson(v);
    if (!r.ok()) return Fail(ctx, r.status());
    std::cout << "  " << r->repo << "@" << r->major << "." << r->minor << "  " << r->pinned_by.size() << "/"
              << r->min_replicas << (r->under_replicated() ? "  UNDER-REPLICATED" : "") << "  " << r->manifest.ToString()
              << "\n";
  }
  return kExitOk;
}

int HubRetire(const Context& ctx) {
  protocol::AnnouncePinsTx body;
  body.retire = true;
  auto sent = SendTx(ctx, body);
  if (!sent.ok()) return Fail(ctx, sent.status().WithContext("retiring the hub"));
  if (ctx.json_output) PrintJson(*sent);
  else std::cout << "retired: every pin dropped, bond returned\n";
  return kExitOk;
}

namespace {

// The manifest CID the chain records for NAME@MAJOR.MINOR.
Result<crypto::Cid> ManifestOf(const api::ApiClient& client, const std::string& ref) {
  ASSIGN_OR_RETURN(nlohmann::json model, client.Get("/chain/models/" + ref));
  if (!model.contains("manifest") || !model["manifest"].is_string())
    return DataLoss("the chain's answer for " + ref + " names no manifest");
  return crypto::Cid::Parse(model["manifest"].get<std::string>());
}

}  // namespace

int HubAnnounce(const Context& ctx, const std::vector<std::string>& pin, const std::vector<std::string>& unpin,
                const std::string& ipfs_peer, const std::string& endpoint) {
  api::ApiClient client(ctx.node_url);
  protocol::AnnouncePinsTx body;
  body.ipfs_peer = ipfs_peer;
  body.endpoint = endpoint;
  for (const auto& [refs, out] : {std::pair{&pin, &body.pin}, std::pair{&unpin, &body.unpin}})
    for (const std::string& ref : *refs) {
      auto cid = ManifestOf(client, ref);
      if (!cid.ok()) return Fail(ctx, cid.status().WithContext("resolving " + ref));
      out->push_back(*cid);
    }
  auto sent = SendTx(ctx, body);
  if (!sent.ok()) return Fail(ctx, sent.status().WithContext("announcing pins"));
  if (ctx.json_output) PrintJson(*sent);
  else std::cout << "announced: " << body.pin.size() << " pinned, " << body.unpin.size() << " unpinned\n";
  return kExitOk;
}

int HubAudit(const Context& ctx, const std::string& ref, int samples) {
  using json = nlohmann::json;
  api::ApiClient client(ctx.node_url);
  auto manifest_cid = ManifestOf(client, ref);
  if (!manifest_cid.ok()) return Fail(ctx, manifest_cid.status().WithContext("resolving " + ref));
  auto replication = client.Get("/chain/replication/" + manifest_cid->ToString());
  if (!replication.ok()) return Fail(ctx, replication.status().WithContext("reading the version's pins from the chain"));
  auto repl = api::ReplicationFromJson(*replication);
  if (!repl.ok()) return Fail(ctx, repl.status());

  // Reference copies from the --node API's hub, each checked against its CID.
  struct Part {
    std::string what;
    crypto::Cid cid;
    Bytes bytes;
  };
  std::vector<Part> parts;
  auto fetch = [&](const std::string& what, const crypto::Cid& cid) -> Status {
    ASSIGN_OR_RETURN(Bytes b, client.GetRaw("/hub/files/" + cid.ToString()));
    RETURN_IF_ERROR(cid.Check(b).WithContext("reference copy of " + what));
    parts.push_back({what, cid, std::move(b)});
    return Status::Ok();
  };
  if (Status s = fetch("(manifest)", *manifest_cid); !s.ok()) return Fail(ctx, s);
  auto m = hub::ParseManifest(parts.front().bytes);
  if (!m.ok()) return Fail(ctx, m.status());
  for (const hub::ManifestFile& f : m->files)
    if (Status s = fetch(f.path, f.cid); !s.ok()) return Fail(ctx, s);
  if (m->test_vectors)
    if (Status s = fetch("(test vectors)", m->test_vectors->cid); !s.ok()) return Fail(ctx, s);

  // Ranges nobody can predict: each hub must answer from the copy it holds.
  std::random_device entropy;
  std::mt19937_64 rng((static_cast<uint64_t>(entropy()) << 32) ^ entropy());
  constexpr uint64_t kSampleBytes = 4096;
  json hubs = json::array();
  bool all_hold = true;
  // An endpoint or kubo peer is not bound to the hub's key: hubs naming the same one could all
  // be answered by one copy, so none of them counts as holding it.
  std::map<std::string, int> endpoints, peers;
  for (const chain::HubPin& pin : repl->pinned_by) {
    ++endpoints[pin.hub.endpoint];
    ++peers[pin.hub.ipfs_peer];
  }
  for (const chain::HubPin& pin : repl->pinned_by) {
    json row = {{"address", pin.hub.address.ToHex()}, {"endpoint", pin.hub.endpoint}};
    std::string verdict = "holds";
    std::string detail;
    size_t checked = 0;
    double slowest_ms = 0;
    if (pin.hub.endpoint.empty()) {
      verdict = "no endpoint";
    } else if (endpoints[pin.hub.endpoint] > 1 || peers[pin.hub.ipfs_peer] > 1) {
      verdict = "shared";
      detail = endpoints[pin.hub.endpoint] > 1 ? "another announcing hub names the same endpoint"
                                                : "another announcing hub names the same kubo peer";
    } else {
      api::ApiClient hub_api(pin.hub.endpoint);
      for (const Part& p : parts) {
        for (int k = 0; k < samples && verdict == "holds"; ++k) {
          const uint64_t size = p.bytes.size();
          const uint64_t offset = size == 0 ? 0 : rng() % size;
          const uint64_t length = std::min<uint64_t>(kSampleBytes, size - offset);
          const auto start = std::chrono::steady_clock::now();
          auto got = hub_api.GetRaw("/hub/holds/" + p.cid.ToString() + "?offset=" + std::to_string(offset) +
                                    "&length=" + std::to_string(std::max<uint64_t>(length, 1)));
          slowest_ms = std::max(slowest_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
          if (!got.ok()) {
            verdict = got.status().code() == Code::kNotFound ? "missing" : got.status().code() == Code::kUnavailable ? "unreachable" : "error";
            detail = p.what + ": " + got.status().message();
          } else if (!std::equal(got->begin(), got->end(), p.bytes.begin() + static_cast<long>(offset),
                                 p.bytes.begin() + static_cast<long>(offset + length)) || got->size() != length) {
            verdict = "wrong bytes";
            detail = p.what + " at offset " + std::to_string(offset);
          } else {
            ++checked;
          }
        }
      }
    }
    all_hold = all_hold && verdict == "holds";
    row["verdict"] = verdict;
    row["samples_ok"] = checked;
    row["slowest_ms"] = slowest_ms;
    if (!detail.empty()) row["detail"] = detail;
    hubs.push_back(row);
  }
  if (ctx.json_output) {
    PrintJson({{"ref", ref}, {"manifest", manifest_cid->ToString()}, {"min_replicas", repl->min_replicas},
               {"replicas", repl->pinned_by.size()}, {"all_hold", all_hold}, {"hubs", hubs}});
  } else {
    std::cout << ref << "  manifest " << manifest_cid->ToString() << "  " << repl->pinned_by.size() << " hub(s) announce it, "
              << samples << " random " << kSampleBytes << "-byte range(s) per file each\n";
    for (const json& h : hubs)
      std::cout << "  " << h["address"].get<std::string>() << "  " << h["verdict"].get<std::string>() << "  ("
                << h["samples_ok"].get<size_t>() << " ranges right, slowest " << static_cast<int>(h["slowest_ms"].get<double>())
                << " ms)" << (h.contains("detail") ? "  " + h["detail"].get<std::string>() : "") << "\n";
  }
  return all_hold ? kExitOk : kExitFailed;
}

}  // namespace lucid::cli
