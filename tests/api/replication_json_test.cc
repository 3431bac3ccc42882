// The hub replication JSON views (GET /chain/hubs, /chain/replication; docs/ipfs.md
// "Replication"): HubJson / ReplicationJson and their inverses, and the genesis's
// replication params.
#include <gtest/gtest.h>

#include "api/json_views.h"
#include "chain/state.h"
#include "crypto/hash.h"

namespace lucid::api {
namespace {

chain::HubRecord SampleHub(std::string_view seed, uint64_t pins) {
  chain::HubRecord h;
  h.address = crypto::PrivateKey::FromSeed(seed).address();
  h.ipfs_peer = "12D3KooWSampleHubPeer" + std::string(seed);
  h.endpoint = "http://" + std::string(seed) + ":8700";
  h.bond = 5000;
  h.registered_height = 11;
  h.updated_height = 19;
  h.pins = pins;
  return h;
}

void ExpectSameHub(const chain::HubRecord& a, const chain::HubRecord& b) {
  EXPECT_EQ(a.address, b.address);
  EXPECT_EQ(a.ipfs_peer, b.ipfs_peer);
  EXPECT_EQ(a.endpoint, b.endpoint);
  EXPECT_EQ(a.bond, b.bond);
  EXPECT_EQ(a.registered_height, b.registered_height);
  EXPECT_EQ(a.updated_height, b.updated_height);
  EXPECT_EQ(a.pins, b.pins);
  EXPECT_EQ(chain::EncodeHub(a), chain::EncodeHub(b));
}

TEST(ReplicationJsonTest, HubRoundTrip) {
  const chain::HubRecord h = SampleHub("hub-a", 3);
  const json j = HubJson(h);
  EXPECT_EQ(j["address"], h.address.ToHex());
  EXPECT_EQ(j["ipfs_peer"], h.ipfs_peer);
  EXPECT_EQ(j["endpoint"], "http://hub-a:8700");
  EXPECT_EQ(j["bond"], 5000);
  EXPECT_EQ(j["registered_height"], 11);
  EXPECT_EQ(j["updated_height"], 19);
  EXPECT_EQ(j["pins"], 3);
  auto back = HubFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ExpectSameHub(*back, h);
  // Through text, as a client reads it.
  auto reparsed = HubFromJson(json::parse(j.dump()));
  ASSERT_TRUE(reparsed.ok()) << reparsed.status().ToString();
  ExpectSameHub(*reparsed, h);
  // An empty endpoint (optional) round-trips.
  chain::HubRecord bare = h;
  bare.endpoint.clear();
  ExpectSameHub(*HubFromJson(HubJson(bare)), bare);

  // Each field is required and typed; the error names it.
  for (const char* field : {"address", "ipfs_peer", "endpoint", "bond", "registered_height", "updated_height", "pins"}) {
    json missing = j;
    missing.erase(field);
    auto r = HubFromJson(missing);
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status().ToString();
  }
  json bad = j;
  bad["address"] = "0x12";
  EXPECT_FALSE(HubFromJson(bad).ok());
  bad = j;
  bad["bond"] = -1;
  EXPECT_FALSE(HubFromJson(bad).ok());
  bad = j;
  bad["pins"] = "3";
  EXPECT_FALSE(HubFromJson(bad).ok());
  bad = j;
  bad["ipfs_peer"] = 7;
  EXPECT_FALSE(HubFromJson(bad).ok());
}

TEST(ReplicationJsonTest, ReplicationRoundTrip) {
  chain::VersionReplication r;
  r.manifest = crypto::Cid::Of(AsBytes("forecast manifest"));
  r.repo = "forecast";
  r.major = 1;
  r.minor = 2;
  r.min_replicas = 2;
  r.pinned_by = {{SampleHub("hub-a", 3), 14}, {SampleHub("hub-b", 1), 15}};
  json j = ReplicationJson(r);
  EXPECT_EQ(j["manifest"], r.manifest.ToString());
  EXPECT_EQ(j["model"], "forecast@1.2");
  EXPECT_EQ(j["repo"], "forecast");
  EXPECT_EQ(j["major"], 1);
  EXPECT_EQ(j["minor"], 2);
  EXPECT_EQ(j["min_replicas"], 2);
  EXPECT_EQ(j["replicas"], 2);
  EXPECT_EQ(j["under_replicated"], false);
  ASSERT_EQ(j["pinned_by"].size(), 2u);
  EXPECT_EQ(j["pinned_by"][0]["pinned_height"], 14);
  EXPECT_EQ(j["pinned_by"][1]["address"], r.pinned_by[1].hub.address.ToHex());

  auto back = ReplicationFromJson(json::parse(j.dump()));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->manifest, r.manifest);
  EXPECT_EQ(back->repo, r.repo);
  EXPECT_EQ(back->major, 1u);
  EXPECT_EQ(back->minor, 2u);
  EXPECT_EQ(back->min_replicas, 2u);
  EXPECT_FALSE(back->under_replicated());
  ASSERT_EQ(back->pinned_by.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    ExpectSameHub(back->pinned_by[i].hub, r.pinned_by[i].hub);
    EXPECT_EQ(back->pinned_by[i].height, r.pinned_by[i].height);
  }
  EXPECT_EQ(ReplicationJson(*back), j);  // the view of the inverse is the same view

  // Under-replicated: fewer hubs than R (none at all here).
  r.pinned_by.clear();
  r.min_replicas = 3;
  j = ReplicationJson(r);
  EXPECT_EQ(j["replicas"], 0);
  EXPECT_EQ(j["under_replicated"], true);
  EXPECT_EQ(j["pinned_by"], json::array());
  back = ReplicationFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->under_replicated());
  EXPECT_TRUE(back->pinned_by.empty());

  // Refusals.
  r.pinned_by = {{SampleHub("hub-a", 3), 14}};
  const json good = ReplicationJson(r);
  for (const char* field : {"manifest", "repo", "major", "minor", "min_replicas", "pinned_by"}) {
    json missing = good;
    missing.erase(field);
    auto res = ReplicationFromJson(missing);
    ASSERT_FALSE(res.ok()) << field;
    EXPECT_NE(res.status().message().find(field), std::string::npos) << res.status().ToString();
  }
  json bad = good;
  bad["manifest"] = "not-a-cid";
  EXPECT_FALSE(ReplicationFromJson(bad).ok());
  bad = good;
  bad["major"] = uint64_t{1} << 32;  // a version number is 32 bits
  EXPECT_FALSE(ReplicationFromJson(bad).ok());
  bad = good;
  bad["minor"] = uint64_t{1} << 32;
  EXPECT_FALSE(ReplicationFromJson(bad).ok());
  bad = good;
  bad["major"] = 0xffffffffu;  // the largest is fine
  EXPECT_EQ(ReplicationFromJson(bad)->major, 0xffffffffu);
  bad = good;
  bad["pinned_by"] = json::object();
  EXPECT_FALSE(ReplicationFromJson(bad).ok());
  bad = good;
  bad["pinned_by"][0].erase("pinned_height");
  EXPECT_FALSE(ReplicationFromJson(bad).ok());
  bad = good;
  bad["pinned_by"][0].erase("ipfs_peer");
  EXPECT_FALSE(ReplicationFromJson(bad).ok());
}

TEST(ReplicationJsonTest, GenesisReplicationParamsRoundTrip) {
  chain::Genesis g;
  g.chain_id = "c";
  g.genesis_time_ms = 5;
  g.validators.push_back(crypto::PrivateKey::FromSeed("v").address());
  json j = GenesisJson(g);
  EXPECT_EQ(j["params"]["replication"]["min_replicas"], 1);
  EXPECT_EQ(j["params"]["replication"]["hub_bond"], 1000);
  auto back = GenesisFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(chain::EncodeGenesis(*back), chain::EncodeGenesis(g));  // default: the same genesis bytes
  EXPECT_EQ(chain::EncodeGenesis(*back)[0], 1);

  g.params.replication.min_replicas = 3;
  g.params.replication.hub_bond = 250;
  back = GenesisFromJson(GenesisJson(g));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->params.replication == g.params.replication);
  EXPECT_EQ(chain::EncodeGenesis(*back), chain::EncodeGenesis(g));
  EXPECT_EQ(chain::EncodeGenesis(*back)[0], 4);
  // An absent field keeps its default; an absent object keeps both.
  json partial = GenesisJson(g);
  partial["params"]["replication"].erase("hub_bond");
  back = GenesisFromJson(partial);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->params.replication.min_replicas, 3u);
  EXPECT_EQ(back->params.replication.hub_bond, chain::ReplicationParams{}.hub_bond);
  partial["params"].erase("replication");
  back = GenesisFromJson(partial);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->params.replication == chain::ReplicationParams{});
}

}  // namespace
}  // namespace lucid::api
