#include "api/json_views.h"

#include <gtest/gtest.h>

#include "chain/state.h"
#include "crypto/hash.h"

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
  EXPECT_EQ(chain::EncodeGenesis(*back), chain::EncodeGenesis(g));  // same genesis, same app hash
  // Settlement params (docs/settlement.md) round-trip; an absent field keeps its default.
  g.params.settlement.challenge_bond = 77;
  g.params.settlement.replay_challenge_blocks = 3;
  auto with = GenesisFromJson(GenesisJson(g));
  ASSERT_TRUE(with.ok());
  EXPECT_TRUE(with->params.settlement == g.params.settlement);
  json partial = GenesisJson(g);
  partial["params"]["settlement"].erase("challenge_bond");
  EXPECT_EQ(GenesisFromJson(partial)->params.settlement.challenge_bond, chain::SettlementParams{}.challenge_bond);
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

TEST(JsonViewsTest, NodePenaltiesAndReceiptSettlementRoundTrip) {
  chain::NodeInfo n;
  n.address = crypto::PrivateKey::FromSeed("n").address();
  n.stake = 9900;
  n.modes = protocol::ModeBit(protocol::Mode::kVanilla) | protocol::ModeBit(protocol::Mode::kReplay);
  n.endpoint = "http://127.0.0.1:1";
  n.jailed = true;
  n.slashed = 100;
  n.missed_deadlines = 2;
  auto node = NodeFromJson(NodeJson(n));
  ASSERT_TRUE(node.ok()) << node.status().ToString();
  EXPECT_TRUE(node->jailed);
  EXPECT_EQ(node->slashed, 100u);
  EXPECT_EQ(node->missed_deadlines, 2u);
  EXPECT_EQ(node->modes, n.modes);
  json bad = NodeJson(n);
  bad["jailed"] = "yes";
  EXPECT_NE(NodeFromJson(bad).status().message().find("jailed"), std::string::npos);

  protocol::Receipt receipt;
  receipt.chain_id = "c";
  receipt.mode = protocol::Mode::kReplay;
  chain::ReceiptRecord rec;
  rec.result.receipt = receipt;
  rec.result.evidence = protocol::Evidence{protocol::Mode::kReplay, Bytes(65, 2)};
  rec.settlement = chain::SettlementStatus::kPending;
  rec.final_height = 17;
  rec.held = 30;
  json j = {{"receipt_id", ToHex(receipt.Id())}, {"height", 7}, {"index", 0}, {"node_paid", 0}, {"publisher_paid", 0},
            {"raw",
             {{"request", ToHex(rec.result.request.Encode())},
              {"receipt", ToHex(receipt.Encode())},
              {"evidence", ToHex(rec.result.evidence.Encode())}}}};
  AddSettlementJson(rec, j);
  EXPECT_EQ(j["settlement"], "pending");
  auto back = ReceiptRecordFromJson(j);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->settlement, chain::SettlementStatus::kPending);
  EXPECT_EQ(back->final_height, 17u);
  EXPECT_EQ(back->held, 30u);
  for (auto s : {chain::SettlementStatus::kFinal, chain::SettlementStatus::kChallenged,
                 chain::SettlementStatus::kOverturned}) {
    rec.settlement = s;
    AddSettlementJson(rec, j);
    EXPECT_EQ(ReceiptRecordFromJson(j)->settlement, s);
  }
  j["settlement"] = "settled-ish";
  EXPECT_FALSE(ReceiptRecordFromJson(j).ok());
}

chain::AsyncRequest SampleAsync() {
  const crypto::PrivateKey requester = crypto::PrivateKey::FromSeed("requester");
  chain::AsyncRequest a;
  a.request.request.chain_id = "c";
  a.request.request.requester = requester.address();
  a.request.request.model = crypto::Cid::Of(AsBytes("manifest"));
  a.request.request.mode = protocol::Mode::kReplay;
  a.request.request.max_fee = 50;
  a.request.request.nonce = 4;
  a.request.request.deadline_height = 30;
  a.request.signature = requester.Sign(protocol::SigningDigest(a.request.request.Hash()));
  a.id = a.request.request.Hash();
  a.inputs = Bytes{1, 2, 3};
  a.assigned = crypto::PrivateKey::FromSeed("node").address();
  a.escrow = 50;
  a.created_height = 10;
  return a;
}

TEST(JsonViewsTest, AsyncRequestRoundTrip) {
  chain::AsyncRequest a = SampleAsync();
  for (auto status : {chain::AsyncStatus::kPending, chain::AsyncStatus::kAnswered, chain::AsyncStatus::kExpired}) {
    a.status = status;
    a.receipt_id = status == chain::AsyncStatus::kAnswered ? std::optional<Hash32>(crypto::Sha256(AsBytes("r")))
                                                           : std::nullopt;
    a.closed_height = status == chain::AsyncStatus::kPending ? 0 : 29;
    a.workflow_id = status == chain::AsyncStatus::kExpired ? 3 : 0;
    const json j = AsyncRequestJson(a);
    EXPECT_EQ(j["request"]["requester"], a.request.request.requester.ToHex());
    auto back = AsyncRequestFromJson(j);
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->id, a.id);
    EXPECT_EQ(back->request.Encode(), a.request.Encode());
    EXPECT_EQ(back->inputs, a.inputs);
    EXPECT_EQ(back->assigned, a.assigned);
    EXPECT_EQ(back->escrow, a.escrow);
    EXPECT_EQ(back->created_height, a.created_height);
    EXPECT_EQ(back->status, a.status);
    EXPECT_EQ(back->receipt_id, a.receipt_id);
    EXPECT_EQ(back->closed_height, a.closed_height);
    EXPECT_EQ(back->workflow_id, a.workflow_id);
  }
  // The id must be the recorded request's hash.
  json j = AsyncRequestJson(a);
  j["id"] = ToHex(crypto::Sha256(AsBytes("other")));
  EXPECT_EQ(AsyncRequestFromJson(j).status().code(), Code::kDataLoss);
  j = AsyncRequestJson(a);
  j["status"] = "lost";
  EXPECT_FALSE(AsyncRequestFromJson(j).ok());
  j = AsyncRequestJson(a);
  j.erase("assigned");
  EXPECT_NE(AsyncRequestFromJson(j).status().message().find("assigned"), std::string::npos);
}

TEST(JsonViewsTest, ChallengeFeedWorkflowRoundTrip) {
  chain::Challenge c;
  c.receipt_id = crypto::Sha256(AsBytes("receipt"));
  c.challenger = crypto::PrivateKey::FromSeed("challenger").address();
  c.claimed_output_hash = crypto::Sha256(AsBytes("claim"));
  c.inputs = Bytes{9, 8};
  c.bond = 1000;
  c.height = 12;
  c.vote_deadline = 32;
  c.committee = {crypto::PrivateKey::FromSeed("m1").address(), crypto::PrivateKey::FromSeed("m2").address()};
  c.votes = {{c.committee[0], crypto::Sha256(AsBytes("out")), 14}};
  for (int status = 1; status <= 5; ++status) {
    c.status = static_cast<chain::ChallengeStatus>(status);
    c.decided_output_hash = status == 1 ? std::nullopt : std::optional<Hash32>(crypto::Sha256(AsBytes("out")));
    c.closed_height = status == 1 ? 0 : 33;
    auto back = ChallengeFromJson(ChallengeJson(c));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->receipt_id, c.receipt_id);
    EXPECT_EQ(back->challenger, c.challenger);
    EXPECT_EQ(back->claimed_output_hash, c.claimed_output_hash);
    EXPECT_EQ(back->inputs, c.inputs);
    EXPECT_EQ(back->bond, c.bond);
    EXPECT_EQ(back->height, c.height);
    EXPECT_EQ(back->vote_deadline, c.vote_deadline);
    EXPECT_EQ(back->committee, c.committee);
    ASSERT_EQ(back->votes.size(), 1u);
    EXPECT_EQ(back->votes[0].voter, c.votes[0].voter);
    EXPECT_EQ(back->votes[0].output_hash, c.votes[0].output_hash);
    EXPECT_EQ(back->votes[0].height, 14u);
    EXPECT_EQ(back->status, c.status);
    EXPECT_EQ(back->decided_output_hash, c.decided_output_hash);
    EXPECT_EQ(back->closed_height, c.closed_height);
  }
  json cj = ChallengeJson(c);
  cj["committee"] = {"0x12"};
  EXPECT_FALSE(ChallengeFromJson(cj).ok());

  chain::DataFeed f;
  f.name = "eth-usd";
  f.owner = crypto::PrivateKey::FromSeed("owner").address();
  f.posters = {crypto::PrivateKey::FromSeed("poster").address()};
  f.value = Bytes{4, 5, 6};
  f.updated_height = 8;
  auto feed = FeedFromJson(FeedJson(f));
  ASSERT_TRUE(feed.ok()) << feed.status().ToString();
  EXPECT_EQ(feed->name, f.name);
  EXPECT_EQ(feed->owner, f.owner);
  EXPECT_EQ(feed->posters, f.posters);
  EXPECT_EQ(feed->value, f.value);
  EXPECT_EQ(feed->updated_height, 8u);

  chain::Workflow w;
  w.id = 3;
  w.owner = f.owner;
  w.spec.model = crypto::Cid::Of(AsBytes("forecast"));
  w.spec.mode = protocol::Mode::kReplay;
  w.spec.feed = f.name;
  w.spec.every_blocks = 5;
  w.spec.runs = 4;
  w.spec.max_fee_per_run = 40;
  w.spec.seed = 7;
  w.spec.params = Bytes{1};
  w.created_height = 20;
  w.next_height = 30;
  w.runs_done = 2;
  w.escrow = 80;
  w.history = {{25, crypto::Sha256(AsBytes("run1"))}, {30, Hash32{}}};
  auto wf = WorkflowFromJson(WorkflowJson(w));
  ASSERT_TRUE(wf.ok()) << wf.status().ToString();
  EXPECT_EQ(wf->id, 3u);
  EXPECT_EQ(wf->owner, w.owner);
  EXPECT_EQ(wf->spec.model, w.spec.model);
  EXPECT_EQ(wf->spec.mode, w.spec.mode);
  EXPECT_EQ(wf->spec.feed, w.spec.feed);
  EXPECT_EQ(wf->spec.every_blocks, 5u);
  EXPECT_EQ(wf->spec.runs, 4u);
  EXPECT_EQ(wf->spec.max_fee_per_run, 40u);
  EXPECT_EQ(wf->spec.seed, 7u);
  EXPECT_EQ(wf->spec.params, w.spec.params);
  EXPECT_EQ(wf->created_height, 20u);
  EXPECT_EQ(wf->next_height, 30u);
  EXPECT_EQ(wf->runs_done, 2u);
  EXPECT_EQ(wf->escrow, 80u);
  ASSERT_EQ(wf->history.size(), 2u);
  EXPECT_EQ(wf->history[0].height, 25u);
  EXPECT_EQ(wf->history[0].request_id, w.history[0].request_id);
  EXPECT_EQ(wf->history[1].request_id, Hash32{});
  json wj = WorkflowJson(w);
  wj["spec"]["mode"] = "telepathy";
  EXPECT_FALSE(WorkflowFromJson(wj).ok());
}

TEST(JsonViewsTest, NewTxViewsNameTheirFields) {
  const crypto::PrivateKey k = crypto::PrivateKey::FromSeed("sender");
  auto view = [&](protocol::TxBody body) {
    protocol::Tx tx;
    tx.chain_id = "c";
    tx.from = k.address();
    tx.body = std::move(body);
    return TxJson(protocol::SignedTx::Sign(std::move(tx), k));
  };
  chain::AsyncRequest a = SampleAsync();
  json r = view(protocol::RequestInferenceTx{a.request, a.inputs});
  EXPECT_EQ(r["type"], "request_inference");
  EXPECT_EQ(r["request_id"], ToHex(a.id));
  EXPECT_EQ(r["mode"], "replay");
  EXPECT_EQ(r["max_fee"], 50);
  EXPECT_EQ(r["deadline_height"], 30);
  EXPECT_EQ(r["input_bytes"], 3);
  protocol::Receipt first, second;
  first.node = second.node = k.address();
  second.output_hash = crypto::Sha256(AsBytes("other"));
  json conflict = view(protocol::ReportConflictTx{first, {}, second, {}});
  EXPECT_EQ(conflict["type"], "report_conflict");
  EXPECT_EQ(conflict["first_receipt_id"], ToHex(first.Id()));
  EXPECT_EQ(conflict["second_receipt_id"], ToHex(second.Id()));
  protocol::ChallengeTx ch;
  ch.receipt_id = first.Id();
  ch.claimed_output_hash = second.output_hash;
  json challenge = view(ch);
  EXPECT_EQ(challenge["type"], "challenge");
  EXPECT_EQ(challenge["receipt_id"], ToHex(first.Id()));
  json vote = view(protocol::ChallengeVoteTx{first.Id(), second.output_hash});
  EXPECT_EQ(vote["type"], "challenge_vote");
  EXPECT_EQ(vote["output_hash"], ToHex(second.output_hash));
  protocol::CreateWorkflowTx wf;
  wf.feed = "eth-usd";
  wf.every_blocks = 5;
  wf.runs = 3;
  json workflow = view(wf);
  EXPECT_EQ(workflow["type"], "create_workflow");
  EXPECT_EQ(workflow["feed"], "eth-usd");
  EXPECT_EQ(workflow["runs"], 3);
  json post = view(protocol::PostDataTx{"eth-usd", Bytes(10, 1), {k.address()}});
  EXPECT_EQ(post["type"], "post_data");
  EXPECT_EQ(post["value_bytes"], 10);
  EXPECT_EQ(post["add_posters"], json::array({k.address().ToHex()}));
}

}  // namespace
}  // namespace lucid::api
