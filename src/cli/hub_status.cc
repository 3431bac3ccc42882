#include "cli/hub_status.h"

#include <iostream>

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

}  // namespace lucid::cli
