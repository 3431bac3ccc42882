#include "api/json_views.h"

#include <gtest/gtest.h>

namespace lucid::api {
namespace {

TEST(JsonViewsTest, ProofRoundTripAndRefusals) {
  crypto::InclusionProof p{3, 7, {crypto::MerkleLeafHash(AsBytes("a")), crypto::MerkleLeafHash(AsBytes("b"))}};
  auto back = ProofFromJson(ProofJson(p));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->leaf_index, 3u);
  EXPECT_EQ(back->tree_size, 7u);
  EXPECT_EQ(back->path, p.path);
  EXPECT_FALSE(ProofFromJson(json::object()).ok());
  EXPECT_FALSE(ProofFromJson({{"leaf_index", -1}, {"tree_size", 1}, {"path", json::array()}}).ok());
  EXPECT_FALSE(ProofFromJson({{"leaf_index", 0}, {"tree_size", 1}, {"path", {"zz"}}}).ok());
}

TEST(JsonViewsTest, GenesisRoundTrip) {
  chain::Genesis g;
  g.chain_id = "c";
  g.genesis_time_ms = 5;
  g.params.dev_mode = true;
  g.accounts.push_back({crypto::PrivateKey::FromSeed("a").address(), 9});
  g.validators.push_back(crypto::PrivateKey::FromSeed("v").address());
  auto back = GenesisFromJson(GenesisJson(g));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->chain_id, "c");
  EXPECT_TRUE(back->params.dev_mode);
  EXPECT_EQ(back->accounts.at(0).address, g.accounts[0].address);
  EXPECT_EQ(back->accounts.at(0).balance, 9u);
  EXPECT_EQ(back->validators, g.validators);
  json bad = GenesisJson(g);
  bad["validators"] = {"0x12"};
  EXPECT_FALSE(GenesisFromJson(bad).ok());
  bad.erase("params");
  EXPECT_FALSE(GenesisFromJson(bad).ok());
}

TEST(JsonViewsTest, GenesisTeeParamsRoundTrip) {
  chain::Genesis g;
  g.chain_id = "c";
  g.genesis_time_ms = 5;
  g.params.dev_mode = true;
  g.validators.push_back(crypto::PrivateKey::FromSeed("v").address());
  EXPECT_FALSE(GenesisJson(g)["params"].contains("tee"));  // absent when default
  g.params.tee.admin = crypto::PrivateKey::FromSeed("admin").address();
  g.params.tee.allowed_pcr0 = {Bytes(48, 0xa1)};
  g.params.tee.heartbeat_ms = 1234;
  g.params.tee.max_document_age_ms = 99;
  g.params.tee.dev_root_der = Bytes{0x30, 0x82, 1, 2};
  auto back = GenesisFromJson(GenesisJson(g));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->params.tee == g.params.tee);
  json bad = GenesisJson(g);
  bad["params"]["tee"]["allowed_pcr0"] = {"zz"};
  EXPECT_FALSE(GenesisFromJson(bad).ok());
}

}  // namespace
}  // namespace lucid::api
