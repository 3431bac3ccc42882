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

namespace lucid::api {
namespace {

// 0x04 || x || y, as RegisterEnclave carries it.
Bytes Sec1(const crypto::PrivateKey& k) {
  const auto xy = k.PublicKey();
  Bytes out(65, 0x04);
  std::copy(xy.begin(), xy.end(), out.begin() + 1);
  return out;
}

// The inverse views give back the values the views were made from (RemoteChainAccess).
TEST(JsonViewsTest, ChainValuesRoundTrip) {
  chain::Account a{123, 4, 5};
  auto acct = AccountFromJson(AccountJson(a));
  ASSERT_TRUE(acct.ok()) << acct.status().ToString();
  EXPECT_EQ(acct->balance, 123u);
  EXPECT_EQ(acct->nonce, 4u);
  EXPECT_EQ(acct->request_nonce, 5u);

  chain::VersionEntry v;
  v.major = 2;
  v.minor = 11;
  v.manifest = crypto::Cid::Of(AsBytes("manifest"));
  v.price = 7;
  v.height = 99;
  v.zkml_commitment = crypto::MerkleLeafHash(AsBytes("c"));
  auto ver = VersionFromJson(VersionJson(v));
  ASSERT_TRUE(ver.ok()) << ver.status().ToString();
  EXPECT_EQ(ver->major, 2u);
  EXPECT_EQ(ver->minor, 11u);
  EXPECT_EQ(ver->manifest, v.manifest);
  EXPECT_EQ(ver->zkml_commitment, v.zkml_commitment);
  v.zkml_commitment.reset();
  EXPECT_FALSE(VersionFromJson(VersionJson(v))->zkml_commitment.has_value());

  chain::Repo r;
  r.name = "digits";
  r.owner = crypto::PrivateKey::FromSeed("o").address();
  r.tags = {"a", "b"};
  r.created_height = 3;
  r.versions = {v};
  auto repo = RepoFromJson(RepoJson(r));
  ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  EXPECT_EQ(repo->owner, r.owner);
  EXPECT_EQ(repo->tags, r.tags);
  ASSERT_EQ(repo->versions.size(), 1u);
  EXPECT_EQ(repo->versions[0].price, 7u);

  chain::NodeInfo n;
  n.address = crypto::PrivateKey::FromSeed("n").address();
  n.stake = 10;
  n.modes = protocol::ModeBit(protocol::Mode::kVanilla) | protocol::ModeBit(protocol::Mode::kTee);
  n.endpoint = "http://127.0.0.1:1";
  auto node = NodeFromJson(NodeJson(n));
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_EQ(node->modes, n.modes);
  EXPECT_EQ(node->endpoint, n.endpoint);

  chain::TxResult t;
  t.code = chain::TxCode::kBadEvidence;
  t.log = "why";
  t.tx_hash = crypto::MerkleLeafHash(AsBytes("t"));
  t.receipt_id = crypto::MerkleLeafHash(AsBytes("r"));
  auto tx = TxResultFromJson(TxResultJson(t));
  ASSERT_TRUE(tx.ok()) << tx.status().ToString();
  EXPECT_EQ(tx->code, t.code);
  EXPECT_EQ(tx->log, "why");
  EXPECT_EQ(tx->receipt_id, t.receipt_id);

  chain::EnclaveInfo e;
  e.node = n.address;
  const crypto::PrivateKey enclave_key = crypto::PrivateKey::FromSeed("enclave");
  e.public_key = Sec1(enclave_key);
  e.enclave_address = enclave_key.address();
  e.pcr0 = Bytes(48, 0xaa);
  e.registered_at_ms = 1;
  e.expires_at_ms = 2;
  e.registered_height = 3;
  e.document_timestamp_ms = 4;
  auto enclave = EnclaveFromJson(EnclaveJson(e));
  ASSERT_TRUE(enclave.ok()) << enclave.status().ToString();
  EXPECT_EQ(enclave->node, e.node);
  EXPECT_EQ(enclave->public_key, e.public_key);
  EXPECT_EQ(enclave->enclave_address, e.enclave_address);
  EXPECT_EQ(enclave->pcr0, e.pcr0);
  EXPECT_EQ(enclave->registered_at_ms, 1u);
  EXPECT_EQ(enclave->expires_at_ms, 2u);
  EXPECT_EQ(enclave->registered_height, 3u);
  EXPECT_EQ(enclave->document_timestamp_ms, 4u);

  chain::TeeParams p;
  p.allowed_pcr0 = {Bytes(48, 1), Bytes(48, 2)};
  p.heartbeat_ms = 8000;
  p.max_document_age_ms = 9;
  auto params = TeeParamsFromJson(TeeParamsJson(p));
  ASSERT_TRUE(params.ok()) << params.status().ToString();
  EXPECT_EQ(*params, p);
}

TEST(JsonViewsTest, ReceiptRecordFromItsCanonicalBytes) {
  protocol::SignedRequest request;
  request.request.chain_id = "c";
  protocol::Receipt receipt;
  receipt.chain_id = "c";
  receipt.fee = 10;
  protocol::Evidence evidence{protocol::Mode::kVanilla, Bytes(65, 1)};
  json j = {{"receipt_id", ToHex(receipt.Id())},
            {"height", 5},
            {"index", 1},
            {"node_paid", 10},
            {"publisher_paid", 2},
            {"raw",
             {{"request", ToHex(request.Encode())},
              {"receipt", ToHex(receipt.Encode())},
              {"evidence", ToHex(evidence.Encode())}}}};
  auto rec = ReceiptRecordFromJson(j);
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ(rec->height, 5u);
  EXPECT_EQ(rec->result.receipt.Encode(), receipt.Encode());
  EXPECT_EQ(rec->result.evidence.data, evidence.data);
  // A receipt whose bytes were changed no longer hashes to the id it was fetched by.
  protocol::Receipt other = receipt;
  other.fee = 11;
  j["raw"]["receipt"] = ToHex(other.Encode());
  auto tampered = ReceiptRecordFromJson(j);
  EXPECT_EQ(tampered.status().code(), Code::kDataLoss) << tampered.status().ToString();
  j["raw"]["receipt"] = "zz";
  EXPECT_FALSE(ReceiptRecordFromJson(j).ok());
}

TEST(JsonViewsTest, InverseViewsNameWhatIsWrong) {
  json a = AccountJson(chain::Account{1, 2, 3});
  a.erase("nonce");
  auto missing = AccountFromJson(a);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nonce"), std::string::npos);
  a["nonce"] = "2";
  EXPECT_NE(AccountFromJson(a).status().message().find("unsigned"), std::string::npos);
  EXPECT_FALSE(AccountFromJson(json::array()).ok());

  chain::VersionEntry v;
  v.manifest = crypto::Cid::Of(AsBytes("m"));
  for (const char* bad : {"1", "1.", ".1", "x.1", "1.2.3", "99999999999.1"}) {
    json j = VersionJson(v);
    j["version"] = bad;
    EXPECT_FALSE(VersionFromJson(j).ok()) << bad;
  }
  json j = VersionJson(v);
  j["manifest"] = "bafkreinotacid";
  EXPECT_FALSE(VersionFromJson(j).ok());

  chain::NodeInfo n;
  json nj = NodeJson(n);
  nj["modes"] = {"vanilla", "telepathy"};
  EXPECT_FALSE(NodeFromJson(nj).ok());

  chain::EnclaveInfo e;
  e.public_key = Bytes(64, 4);  // not a 65-byte point
  EXPECT_FALSE(EnclaveFromJson(EnclaveJson(e)).ok());
  // An address that is not the key's: refused (a view that disagrees with itself).
  const crypto::PrivateKey k = crypto::PrivateKey::FromSeed("enclave");
  e.public_key = Sec1(k);
  e.enclave_address = crypto::PrivateKey::FromSeed("other").address();
  EXPECT_EQ(EnclaveFromJson(EnclaveJson(e)).status().code(), Code::kDataLoss);
  e.enclave_address = k.address();
  EXPECT_TRUE(EnclaveFromJson(EnclaveJson(e)).ok());
}

}  // namespace
}  // namespace lucid::api
