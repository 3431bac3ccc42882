// Async requests, replay challenges, conflicting-result slashing and workflows
// (docs/settlement.md): each path with balances checked to the unit, each refusal changing
// nothing, and state that survives a restart of the application on the same store.
#include <gtest/gtest.h>

#include <map>

#include "chain/app.h"
#include "chain/settlement.h"
#include "chain/state.h"
#include "chain_fixture.h"
#include "tensor/tensor.h"

namespace lucid::chain {
namespace {

using namespace lucid::chain::testing;

constexpr uint64_t kPrice = 7;
constexpr uint64_t kNodeFee = 10;

TensorMap Inputs(float v) {
  TensorMap m;
  m["x"] = Tensor::Scalar(v);
  return m;
}

class SettlementTest : public ChainFixture {
 protected:
  void SetUp() override {
    ChainFixture::SetUp();
    model_ = Cid::Of(ToBytes("forecast manifest v1.0"));
    ASSERT_EQ(Run(SignTx(k_.publisher, 0, CreateRepoTx{"forecast", "", "time-series", "MIT", {}})).code, TxCode::kOk);
    ASSERT_EQ(Run(SignTx(k_.publisher, 1, PublishVersionTx{"forecast", 1, 0, model_, kPrice, std::nullopt})).code,
              TxCode::kOk);
  }

  // Funds key from bob and registers it as a node for modes with stake.
  void AddNode(const PrivateKey& key, uint64_t stake, uint32_t modes) {
    ASSERT_EQ(Run(SignTx(k_.bob, NextNonce(k_.bob), TransferTx{key.address(), stake + 100'000})).code, TxCode::kOk);
    ASSERT_EQ(Run(SignTx(key, NextNonce(key), RegisterNodeTx{stake, modes, "http://node"})).code, TxCode::kOk);
  }

  InferenceRequest Request(uint64_t nonce, uint64_t deadline, float input = 1.0f, uint64_t max_fee = 100,
                           Mode mode = Mode::kVanilla) {
    InferenceRequest req;
    req.chain_id = std::string(kChainId);
    req.requester = k_.alice.address();
    req.model = model_;
    req.mode = mode;
    req.input_hash = HashTensorMap(Inputs(input));
    req.seed = 1;
    req.max_fee = max_fee;
    req.nonce = nonce;
    req.deadline_height = deadline;
    return req;
  }
  RequestInferenceTx Post(const InferenceRequest& req, float input = 1.0f) {
    return RequestInferenceTx{SignedRequest{req, k_.alice.Sign(SigningDigest(req.Hash()))},
                              EncodeTensorMap(Inputs(input))};
  }
  SubmitResultTx Answer(const SignedRequest& signed_request, const PrivateKey& node, std::string_view output,
                        uint64_t fee = kNodeFee, std::string engine = "lucid-onnx/test/1") {
    const InferenceRequest& req = signed_request.request;
    SubmitResultTx out;
    out.request = signed_request;
    out.receipt.chain_id = req.chain_id;
    out.receipt.request_hash = req.Hash();
    out.receipt.model = req.model;
    out.receipt.input_hash = req.input_hash;
    out.receipt.output_hash = crypto::Sha256(ToBytes(output));
    out.receipt.mode = req.mode;
    out.receipt.node = node.address();
    out.receipt.engine = std::move(engine);
    out.receipt.fee = fee;
    out.evidence = req.mode == Mode::kReplay ? verify::MakeReplayEvidence(out.receipt, node)
                                             : verify::MakeVanillaEvidence(out.receipt, node);
    return out;
  }
  // Runs a tx from key; returns its result and the tx size (its fee at 1 per byte).
  std::pair<TxResult, uint64_t> Send(const PrivateKey& key, TxBody body) {
    Bytes tx = SignTx(key, NextNonce(key), std::move(body));
    const uint64_t size = tx.size();
    return {Run(std::move(tx)), size};
  }
  void EmptyBlocks(int n) {
    for (int i = 0; i < n; ++i) RunBlock(*app_, k_.validator, {});
  }
  uint64_t Height() { return app_->Info().height; }
  uint64_t Stake(const PrivateKey& key) { return app_->GetNode(key.address())->stake; }

  Cid model_;
};

// ---- async requests ----

TEST_F(SettlementTest, AsyncRequestIsAssignedAnsweredAndPaidFromEscrow) {
  AddNode(k_.node, 1000, ModeBit(Mode::kVanilla));
  const uint64_t alice0 = Balance(k_.alice), node0 = Balance(k_.node), pub0 = Balance(k_.publisher);
  const InferenceRequest req = Request(0, Height() + 6);
  auto [posted, post_size] = Send(k_.alice, Post(req));
  ASSERT_EQ(posted.code, TxCode::kOk) << posted.log;
  EXPECT_EQ(Balance(k_.alice), alice0 - post_size - 100);  // max fee escrowed
  EXPECT_EQ(Acct(k_.alice).request_nonce, 1u);
  auto a = app_->GetAsyncRequest(req.Hash());
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->status, AsyncStatus::kPending);
  EXPECT_EQ(a->assigned, k_.node.address());
  EXPECT_EQ(a->escrow, 100u);
  ASSERT_EQ(app_->PendingRequestsFor(k_.node.address())->size(), 1u);

  Reopen();  // survives a restart
  auto [answered, answer_size] = Send(k_.node, Answer(a->request, k_.node, "out"));
  ASSERT_EQ(answered.code, TxCode::kOk) << answered.log;
  // Paid exactly fee + price; the rest of the escrow came back.
  EXPECT_EQ(Balance(k_.alice), alice0 - post_size - kNodeFee - kPrice);
  EXPECT_EQ(Balance(k_.node), node0 + kNodeFee - answer_size);
  EXPECT_EQ(Balance(k_.publisher), pub0 + kPrice);
  a = app_->GetAsyncRequest(req.Hash());
  EXPECT_EQ(a->status, AsyncStatus::kAnswered);
  EXPECT_EQ(a->receipt_id, answered.receipt_id);
  EXPECT_EQ(a->escrow, 0u);
  EXPECT_TRUE(app_->PendingRequestsFor(k_.node.address())->empty());
  // Answered once only, even with another output, and never as a direct request either.
  EXPECT_EQ(Send(k_.node, Answer(a->request, k_.node, "other")).first.code, TxCode::kWrongState);
  // At its deadline nothing more happens (no refund, no slash).
  const uint64_t alice1 = Balance(k_.alice);
  EmptyBlocks(6);
  EXPECT_EQ(Balance(k_.alice), alice1);
  EXPECT_EQ(Stake(k_.node), 1000u);
}

TEST_F(SettlementTest, UnansweredRequestIsRefundedAtDeadlineAndTheNodeSlashed) {
  AddNode(k_.node, 1000, ModeBit(Mode::kVanilla));
  const uint64_t alice0 = Balance(k_.alice);
  const uint64_t deadline = Height() + 4;  // the post lands in the next block: 3 blocks to answer
  const InferenceRequest req = Request(0, deadline);
  auto [posted, post_size] = Send(k_.alice, Post(req));
  ASSERT_EQ(posted.code, TxCode::kOk) << posted.log;
  EmptyBlocks(1);
  Reopen();
  while (Height() < deadline - 1) EmptyBlocks(1);
  EXPECT_EQ(app_->GetAsyncRequest(req.Hash())->status, AsyncStatus::kPending);
  EmptyBlocks(1);  // the deadline block: it ends with the expiry
  ASSERT_EQ(Height(), deadline);
  auto a = app_->GetAsyncRequest(req.Hash());
  EXPECT_EQ(a->status, AsyncStatus::kExpired);
  EXPECT_EQ(a->closed_height, deadline);
  // 1 % of 1000 stake = 10, burned; the requester gets the whole escrow back.
  EXPECT_EQ(Stake(k_.node), 990u);
  EXPECT_EQ(app_->GetNode(k_.node.address())->slashed, 10u);
  EXPECT_EQ(app_->GetNode(k_.node.address())->missed_deadlines, 1u);
  EXPECT_EQ(Balance(k_.alice), alice0 - post_size);
  EXPECT_TRUE(app_->PendingRequestsFor(k_.node.address())->empty());
  // Too late to answer now.
  EXPECT_EQ(Send(k_.node, Answer(a->request, k_.node, "out")).first.code, TxCode::kWrongState);
}

TEST_F(SettlementTest, BadAsyncRequestsAreRefusedAndChangeNothing) {
  AddNode(k_.node, 1000, ModeBit(Mode::kVanilla));
  const uint64_t h = Height();  // every Send below is one block: deadlines leave room
  auto expect_refused = [&](const PrivateKey& sender, TxBody body, TxCode code) {
    const Account before = Acct(sender);
    TxResult r = Send(sender, std::move(body)).first;
    EXPECT_EQ(r.code, code) << TxCodeName(r.code) << ": " << r.log;
    EXPECT_FALSE(r.log.empty());
    EXPECT_EQ(Acct(sender).balance, before.balance);
    EXPECT_EQ(Acct(sender).request_nonce, before.request_nonce);
  };
  RequestInferenceTx wrong_inputs = Post(Request(0, h + 50), 1.0f);
  wrong_inputs.inputs = EncodeTensorMap(Inputs(2.0f));
  expect_refused(k_.alice, wrong_inputs, TxCode::kBadRequest);
  RequestInferenceTx garbage = Post(Request(0, h + 50));
  garbage.inputs = Bytes{1, 2, 3};
  expect_refused(k_.alice, garbage, TxCode::kInvalidField);
  expect_refused(k_.alice, Post(Request(0, 0)), TxCode::kInvalidField);        // no deadline
  expect_refused(k_.alice, Post(Request(0, h + 500)), TxCode::kInvalidField);  // too far
  expect_refused(k_.alice, Post(Request(0, Height() + 2)), TxCode::kInvalidField);  // too near: 1 block to run
  expect_refused(k_.alice, Post(Request(kChainMadeNonceBit | 7, h + 50)), TxCode::kBadRequest);  // reserved
  expect_refused(k_.alice, Post(Request(0, h + 50, 1.0f, kPrice - 1)), TxCode::kFeeTooHigh);
  expect_refused(k_.alice, Post(Request(0, h + 50, 1.0f, 2'000'000)), TxCode::kInsufficientFunds);
  expect_refused(k_.alice, Post(Request(0, h + 50, 1.0f, 100, Mode::kReplay)), TxCode::kNoNodeAvailable);
  expect_refused(k_.bob, Post(Request(0, h + 50)), TxCode::kUnauthorized);  // requester is alice
  RequestInferenceTx bad_sig = Post(Request(0, h + 50));
  bad_sig.request.signature[5] ^= 1;
  expect_refused(k_.alice, bad_sig, TxCode::kBadRequest);
  InferenceRequest unknown_model = Request(0, h + 50);
  unknown_model.model = Cid::Of(ToBytes("nothing"));
  expect_refused(k_.alice, Post(unknown_model), TxCode::kNotFound);

  // A good one, then its replay (same request) and a used nonce.
  ASSERT_EQ(Send(k_.alice, Post(Request(3, h + 60))).first.code, TxCode::kOk);
  expect_refused(k_.alice, Post(Request(3, h + 60)), TxCode::kAlreadyExists);
  expect_refused(k_.alice, Post(Request(2, h + 60)), TxCode::kBadRequest);
  // Only the assigned node may answer, and a direct SubmitResult cannot reuse the nonce.
  const PrivateKey other = PrivateKey::FromSeed("other node");
  AddNode(other, 1000, ModeBit(Mode::kVanilla));
  auto a = app_->GetAsyncRequest(Request(3, h + 60).Hash());
  ASSERT_TRUE(a.ok());
  const PrivateKey& wrong = a->assigned == other.address() ? k_.node : other;
  EXPECT_EQ(Send(wrong, Answer(a->request, wrong, "out")).first.code, TxCode::kUnauthorized);
}

TEST_F(SettlementTest, AssignmentIsDeterministicAndStakeWeighted) {
  const PrivateKey small = PrivateKey::FromSeed("small"), big = PrivateKey::FromSeed("big");
  AddNode(small, 1000, ModeBit(Mode::kVanilla));
  AddNode(big, 3000, ModeBit(Mode::kVanilla));
  StateOverlay state(store_.get());
  std::map<Address, int> counts;
  for (int i = 0; i < 2000; ++i) {
    const Hash32 id = crypto::Sha256(ToBytes("request " + std::to_string(i)));
    auto picked = AssignNode(state, id, Mode::kVanilla);
    ASSERT_TRUE(picked.ok() && picked->has_value());
    EXPECT_EQ(**AssignNode(state, id, Mode::kVanilla), **picked);  // same id, same node
    counts[**picked] += 1;
  }
  // Expected 500 / 1500; a binomial's 4-sigma band is about +-77.
  EXPECT_NEAR(counts[small.address()], 500, 80);
  EXPECT_NEAR(counts[big.address()], 1500, 80);
  EXPECT_FALSE(AssignNode(state, Hash32{}, Mode::kReplay)->has_value());
}

// ---- conflicting results ----

TEST_F(SettlementTest, ConflictingResultsSlashAndJailOnceAndOnlyOnce) {
  AddNode(k_.node, 2000, ModeBit(Mode::kVanilla));
  const InferenceRequest req = Request(0, 0);
  const SignedRequest signed_request{req, k_.alice.Sign(SigningDigest(req.Hash()))};
  const SubmitResultTx one = Answer(signed_request, k_.node, "output A");
  const SubmitResultTx two = Answer(signed_request, k_.node, "output B");
  ReportConflictTx report{one.receipt, one.evidence, two.receipt, two.evidence};

  auto refused = [&](ReportConflictTx bad, TxCode code) {
    const uint64_t bob = Balance(k_.bob), stake = Stake(k_.node);
    TxResult r = Send(k_.bob, std::move(bad)).first;
    EXPECT_EQ(r.code, code) << TxCodeName(r.code) << ": " << r.log;
    EXPECT_EQ(Balance(k_.bob), bob);
    EXPECT_EQ(Stake(k_.node), stake);
  };
  ReportConflictTx flipped = report;
  flipped.second_evidence.data[3] ^= 1;
  refused(flipped, TxCode::kBadEvidence);
  refused(ReportConflictTx{one.receipt, one.evidence, one.receipt, one.evidence}, TxCode::kInvalidField);
  SubmitResultTx other_model = Answer(signed_request, k_.node, "output B");
  other_model.receipt.model = Cid::Of(ToBytes("another model"));
  other_model.evidence = verify::MakeVanillaEvidence(other_model.receipt, k_.node);
  refused(ReportConflictTx{one.receipt, one.evidence, other_model.receipt, other_model.evidence},
          TxCode::kInvalidField);
  const PrivateKey impostor = PrivateKey::FromSeed("impostor");
  ReportConflictTx forged = report;
  forged.second_evidence = verify::MakeVanillaEvidence(two.receipt, impostor);  // not the node's signature
  refused(forged, TxCode::kBadEvidence);

  // A pending async request of the node: refunded when the node is jailed, not slashed again.
  const InferenceRequest pending = Request(1, Height() + 20);
  auto [posted, post_size] = Send(k_.alice, Post(pending));
  ASSERT_EQ(posted.code, TxCode::kOk) << posted.log;
  const uint64_t alice0 = Balance(k_.alice);
  // Another engine string is no way out: one request, one output per node.
  const SubmitResultTx other_engine = Answer(signed_request, k_.node, "output B", kNodeFee, "lucid-onnx/other/2");
  report = ReportConflictTx{one.receipt, one.evidence, other_engine.receipt, other_engine.evidence};
  const uint64_t bob0 = Balance(k_.bob);
  auto [ok, size] = Send(k_.bob, report);
  ASSERT_EQ(ok.code, TxCode::kOk) << ok.log;
  EXPECT_EQ(Stake(k_.node), 1000u);  // 50 % of 2000
  EXPECT_EQ(app_->GetAsyncRequest(pending.Hash())->status, AsyncStatus::kExpired);
  EXPECT_EQ(Balance(k_.alice), alice0 + 100);  // the escrow back
  EXPECT_TRUE(app_->PendingRequestsFor(k_.node.address())->empty());
  EXPECT_TRUE(app_->GetNode(k_.node.address())->jailed);
  EXPECT_EQ(Balance(k_.bob), bob0 - size + 500);  // half of the slash; the other half is burned
  Reopen();
  // The same evidence, or the pair swapped, slashes nothing more.
  refused(report, TxCode::kAlreadyExists);
  refused(ReportConflictTx{two.receipt, two.evidence, one.receipt, one.evidence}, TxCode::kAlreadyExists);
  EmptyBlocks(20);
  EXPECT_EQ(Stake(k_.node), 1000u);  // its refunded request's deadline slashes nothing
  // A jailed node's results are refused.
  EXPECT_EQ(Send(k_.node, one).first.code, TxCode::kNodeJailed);
}

// ---- replay mode ----

class ReplayTest : public SettlementTest {
 protected:
  void SetUp() override {
    SettlementTest::SetUp();
    AddNode(k_.node, 2000, ModeBit(Mode::kReplay));
    for (const auto* key : {&v1_, &v2_, &v3_}) AddNode(*key, 1000, ModeBit(Mode::kReplay));
  }
  // A replay receipt settled through a direct (signed) request; returns the receipt id.
  Hash32 Settle(std::string_view output) {
    const InferenceRequest req = Request(Acct(k_.alice).request_nonce, 0, 1.0f, 100, Mode::kReplay);
    const SubmitResultTx result = Answer(SignedRequest{req, k_.alice.Sign(SigningDigest(req.Hash()))}, k_.node, output);
    auto [r, size] = Send(k_.node, result);
    EXPECT_EQ(r.code, TxCode::kOk) << r.log;
    node_tx_fees_ += size;
    return result.receipt.Id();
  }
  const PrivateKey& KeyOf(const Address& a) {
    for (const auto* key : {&v1_, &v2_, &v3_})
      if (key->address() == a) return *key;
    ADD_FAILURE() << "not a committee key";
    return v1_;
  }
  static Bytes In() { return EncodeTensorMap(Inputs(1.0f)); }
  PrivateKey v1_ = PrivateKey::FromSeed("v1"), v2_ = PrivateKey::FromSeed("v2"), v3_ = PrivateKey::FromSeed("v3");
  uint64_t node_tx_fees_ = 0;
};

TEST_F(ReplayTest, UnchallengedReceiptIsPaidWhenItsWindowCloses) {
  const uint64_t alice0 = Balance(k_.alice), node0 = Balance(k_.node), pub0 = Balance(k_.publisher);
  const Hash32 id = Settle("right");
  auto rec = app_->GetReceipt(id);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->settlement, SettlementStatus::kPending);
  EXPECT_EQ(rec->held, kNodeFee + kPrice);
  EXPECT_EQ(Balance(k_.alice), alice0 - kNodeFee - kPrice);  // held from the requester now
  EXPECT_EQ(Balance(k_.node), node0 - node_tx_fees_);         // not paid yet
  while (Height() < rec->final_height - 1) EmptyBlocks(1);
  EXPECT_EQ(app_->GetReceipt(id)->settlement, SettlementStatus::kPending);
  Reopen();
  EmptyBlocks(1);
  rec = app_->GetReceipt(id);
  EXPECT_EQ(rec->settlement, SettlementStatus::kFinal);
  EXPECT_EQ(rec->held, 0u);
  EXPECT_EQ(Balance(k_.node), node0 - node_tx_fees_ + kNodeFee);
  EXPECT_EQ(Balance(k_.publisher), pub0 + kPrice);
  // Closed: no challenge now.
  EXPECT_EQ(Send(k_.bob, ChallengeTx{id, crypto::Sha256(ToBytes("x")), In()}).first.code, TxCode::kWrongState);
}

TEST_F(ReplayTest, HonestChallengeWinsAndTheLyingNodeLosesStake) {
  const uint64_t alice0 = Balance(k_.alice), pub0 = Balance(k_.publisher);
  const Hash32 id = Settle("wrong output");
  const Hash32 truth = crypto::Sha256(ToBytes("right output"));
  const uint64_t bob0 = Balance(k_.bob);
  auto [challenged, challenge_size] = Send(k_.bob, ChallengeTx{id, truth, In()});
  ASSERT_EQ(challenged.code, TxCode::kOk) << challenged.log;
  EXPECT_EQ(Balance(k_.bob), bob0 - challenge_size - 1000);  // bond
  auto c = app_->GetChallenge(id);
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->committee.empty());  // drawn at the end of the next block, from its prev_hash
  EXPECT_EQ(Send(KeyOf(v1_.address()), ChallengeVoteTx{id, truth}).first.code, TxCode::kWrongState);
  c = app_->GetChallenge(id);  // (that vote's block drew it)
  ASSERT_EQ(c->committee.size(), 3u);
  for (const Address& member : c->committee) {
    EXPECT_NE(member, k_.node.address());
    EXPECT_NE(member, k_.bob.address());
  }
  EXPECT_EQ(app_->GetReceipt(id)->settlement, SettlementStatus::kChallenged);
  // Outsiders cannot vote; a member votes once.
  EXPECT_EQ(Send(k_.stranger, ChallengeVoteTx{id, truth}).first.code, TxCode::kUnknownAccount);
  EXPECT_EQ(Send(k_.alice, ChallengeVoteTx{id, truth}).first.code, TxCode::kUnauthorized);
  const PrivateKey& m0 = KeyOf(c->committee[0]);
  const PrivateKey& m1 = KeyOf(c->committee[1]);
  ASSERT_EQ(Send(m0, ChallengeVoteTx{id, truth}).first.code, TxCode::kOk);
  EXPECT_EQ(Send(m0, ChallengeVoteTx{id, truth}).first.code, TxCode::kAlreadyExists);
  Reopen();
  ASSERT_EQ(Send(m1, ChallengeVoteTx{id, truth}).first.code, TxCode::kOk);  // 2 of 3: decided
  c = app_->GetChallenge(id);
  EXPECT_EQ(c->status, ChallengeStatus::kChallengerWon);
  // Node: 50 % of its 2000 stake; half of that to the challenger with the bond back, half burned.
  EXPECT_EQ(Stake(k_.node), 1000u);
  EXPECT_EQ(Balance(k_.bob), bob0 - challenge_size + 500);
  // Requester gets back everything that was held; the publisher is not paid.
  EXPECT_EQ(Balance(k_.alice), alice0);
  EXPECT_EQ(Balance(k_.publisher), pub0);
  EXPECT_EQ(app_->GetReceipt(id)->settlement, SettlementStatus::kOverturned);
  // A closed challenge takes no more votes, and the window end pays nothing.
  const PrivateKey& m2 = KeyOf(c->committee[2]);
  EXPECT_EQ(Send(m2, ChallengeVoteTx{id, truth}).first.code, TxCode::kWrongState);
  EmptyBlocks(12);
  EXPECT_EQ(Balance(k_.alice), alice0);
  EXPECT_EQ(app_->GetReceipt(id)->settlement, SettlementStatus::kOverturned);
}

TEST_F(ReplayTest, FalseChallengeLosesTheBondToTheNode) {
  const uint64_t node0 = Balance(k_.node), pub0 = Balance(k_.publisher);
  const Hash32 id = Settle("right output");
  const Hash32 node_output = crypto::Sha256(ToBytes("right output"));
  const uint64_t bob0 = Balance(k_.bob);
  auto [challenged, challenge_size] = Send(k_.bob, ChallengeTx{id, crypto::Sha256(ToBytes("a lie")), In()});
  ASSERT_EQ(challenged.code, TxCode::kOk) << challenged.log;
  EmptyBlocks(1);  // the committee is drawn
  auto c = app_->GetChallenge(id);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(Send(KeyOf(c->committee[0]), ChallengeVoteTx{id, node_output}).first.code, TxCode::kOk);
  ASSERT_EQ(Send(KeyOf(c->committee[1]), ChallengeVoteTx{id, node_output}).first.code, TxCode::kOk);
  EXPECT_EQ(app_->GetChallenge(id)->status, ChallengeStatus::kNodeWon);
  EXPECT_EQ(Stake(k_.node), 2000u);
  EXPECT_EQ(Balance(k_.bob), bob0 - challenge_size - 1000);
  EXPECT_EQ(Balance(k_.node), node0 - node_tx_fees_ + 1000 + kNodeFee);  // bond + its fee
  EXPECT_EQ(Balance(k_.publisher), pub0 + kPrice);
  EXPECT_EQ(app_->GetReceipt(id)->settlement, SettlementStatus::kFinal);
}

TEST_F(ReplayTest, ChallengeWithoutMajorityIsVoidAndTheReceiptSettles) {
  const uint64_t node0 = Balance(k_.node);
  const Hash32 id = Settle("output");
  // Own receipt, its own output, an unknown receipt: refused.
  EXPECT_EQ(Send(k_.node, ChallengeTx{id, Hash32{}, In()}).first.code, TxCode::kInvalidField);
  EXPECT_EQ(Send(k_.alice, ChallengeTx{id, crypto::Sha256(ToBytes("output")), In()}).first.code, TxCode::kInvalidField);
  // A direct request's inputs are not on chain: the challenge must carry them, hashing right.
  EXPECT_EQ(Send(k_.alice, ChallengeTx{id, Hash32{}, {}}).first.code, TxCode::kInvalidField);
  EXPECT_EQ(Send(k_.alice, ChallengeTx{id, Hash32{}, EncodeTensorMap(Inputs(2.0f))}).first.code, TxCode::kBadRequest);
  EXPECT_EQ(Send(k_.alice, ChallengeTx{Hash32{}, Hash32{}, In()}).first.code, TxCode::kNotFound);
  const uint64_t bob0 = Balance(k_.bob);
  auto [challenged, challenge_size] = Send(k_.bob, ChallengeTx{id, crypto::Sha256(ToBytes("claim")), In()});
  ASSERT_EQ(challenged.code, TxCode::kOk);
  EXPECT_EQ(Send(k_.alice, ChallengeTx{id, Hash32{}, In()}).first.code, TxCode::kWrongState);  // already challenged
  auto c = app_->GetChallenge(id);  // (drawn at the end of that block)
  ASSERT_EQ(Send(KeyOf(c->committee[0]), ChallengeVoteTx{id, crypto::Sha256(ToBytes("p"))}).first.code, TxCode::kOk);
  ASSERT_EQ(Send(KeyOf(c->committee[1]), ChallengeVoteTx{id, crypto::Sha256(ToBytes("q"))}).first.code, TxCode::kOk);
  while (Height() < c->vote_deadline) EmptyBlocks(1);
  EXPECT_EQ(app_->GetChallenge(id)->status, ChallengeStatus::kVoid);
  EXPECT_EQ(Balance(k_.bob), bob0 - challenge_size);  // bond back
  EXPECT_EQ(app_->GetReceipt(id)->settlement, SettlementStatus::kFinal);
  EXPECT_EQ(Balance(k_.node), node0 - node_tx_fees_ + kNodeFee);
  // One challenge per receipt, even after a void one.
  EXPECT_NE(Send(k_.alice, ChallengeTx{id, Hash32{}, In()}).first.code, TxCode::kOk);
}

// Fewer independent replay nodes than the committee size: the challenge is void rather than
// decided by a thin committee (here the challenger is a replay node itself, leaving 2 others).
TEST_F(ReplayTest, ThinCommitteeMakesTheChallengeVoid) {
  const Hash32 id = Settle("output");
  const uint64_t v1_before = Balance(v1_);
  auto [challenged, size] = Send(v1_, ChallengeTx{id, crypto::Sha256(ToBytes("claim")), In()});
  ASSERT_EQ(challenged.code, TxCode::kOk) << challenged.log;
  EmptyBlocks(1);
  auto c = app_->GetChallenge(id);
  EXPECT_EQ(c->status, ChallengeStatus::kVoid);
  EXPECT_TRUE(c->committee.empty());
  EXPECT_EQ(Balance(v1_), v1_before - size);  // bond back
  EXPECT_EQ(app_->GetReceipt(id)->settlement, SettlementStatus::kPending);  // its window still runs
}

// A node jailed for conflicting results is not paid for its replay receipts still in their
// window: they are overturned and the requester refunded.
TEST_F(ReplayTest, JailedNodesHeldReceiptsAreRefunded) {
  const uint64_t alice0 = Balance(k_.alice);
  const Hash32 id = Settle("output");
  auto rec = app_->GetReceipt(id);
  const SubmitResultTx& one = rec->result;
  SubmitResultTx two = one;
  two.receipt.output_hash = crypto::Sha256(ToBytes("other"));
  two.evidence = verify::MakeReplayEvidence(two.receipt, k_.node);
  ASSERT_EQ(Send(k_.bob, ReportConflictTx{one.receipt, one.evidence, two.receipt, two.evidence}).first.code,
            TxCode::kOk);
  while (Height() <= rec->final_height) EmptyBlocks(1);
  EXPECT_EQ(app_->GetReceipt(id)->settlement, SettlementStatus::kOverturned);
  EXPECT_EQ(Balance(k_.alice), alice0);
}

TEST_F(ReplayTest, ChallengeOfAnAsyncReceiptTakesTheInputsFromTheChain) {
  const InferenceRequest req = Request(0, Height() + 10, 5.0f, 100, Mode::kReplay);
  ASSERT_EQ(Send(k_.alice, Post(req, 5.0f)).first.code, TxCode::kOk);
  auto a = app_->GetAsyncRequest(req.Hash());
  ASSERT_TRUE(a.ok());
  const PrivateKey* assigned = nullptr;
  for (const auto* key : {&k_.node, &v1_, &v2_, &v3_})
    if (key->address() == a->assigned) assigned = key;
  ASSERT_NE(assigned, nullptr);
  const SubmitResultTx result = Answer(a->request, *assigned, "replayed");
  ASSERT_EQ(Send(*assigned, result).first.code, TxCode::kOk);
  EXPECT_EQ(app_->GetReceipt(result.receipt.Id())->settlement, SettlementStatus::kPending);
  ASSERT_EQ(Send(k_.bob, ChallengeTx{result.receipt.Id(), crypto::Sha256(ToBytes("claim")), {}}).first.code,
            TxCode::kOk);
  auto c = app_->GetChallenge(result.receipt.Id());
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->inputs, EncodeTensorMap(Inputs(5.0f)));
  for (const Address& m : c->committee) EXPECT_NE(m, a->assigned);
}

// ---- workflows ----

TEST_F(SettlementTest, WorkflowRunsAtItsHeightsWithExactFees) {
  AddNode(k_.node, 1000, ModeBit(Mode::kVanilla));
  // A feed: only its owner (bob) and the posters it names may post.
  auto [fed, feed_size] = Send(k_.bob, PostDataTx{"prices", EncodeTensorMap(Inputs(3.0f)), {}});
  ASSERT_EQ(fed.code, TxCode::kOk) << fed.log;
  EXPECT_EQ(Send(k_.alice, PostDataTx{"prices", EncodeTensorMap(Inputs(4.0f)), {}}).first.code, TxCode::kUnauthorized);
  EXPECT_EQ(Send(k_.bob, PostDataTx{"prices", Bytes{9, 9}, {}}).first.code, TxCode::kInvalidField);
  ASSERT_EQ(Send(k_.bob, PostDataTx{"prices", EncodeTensorMap(Inputs(3.0f)), {k_.alice.address()}}).first.code,
            TxCode::kOk);

  const uint64_t alice0 = Balance(k_.alice), pub0 = Balance(k_.publisher);
  CreateWorkflowTx spec;
  spec.model = model_;
  spec.feed = "prices";
  spec.every_blocks = 2;
  spec.runs = 3;
  spec.max_fee_per_run = 50;
  EXPECT_EQ(Send(k_.alice, CreateWorkflowTx{spec.model, Mode::kVanilla, "prices", 0, 3, 50, 0, {}}).first.code,
            TxCode::kInvalidField);
  auto [created, create_size] = Send(k_.alice, spec);
  ASSERT_EQ(created.code, TxCode::kOk) << created.log;
  const uint64_t h0 = Height();
  EXPECT_EQ(Balance(k_.alice), alice0 - create_size - 150);  // 3 runs prepaid
  auto wf = app_->GetWorkflow(1);
  ASSERT_TRUE(wf.ok()) << wf.status().ToString();
  EXPECT_EQ(wf->next_height, h0 + 2);

  uint64_t alice_tx_fees = create_size;
  std::vector<Hash32> answered;
  for (int run = 0; run < 3; ++run) {
    // The feed changes between runs (alice was added as a poster).
    auto [posted, size] = Send(k_.alice, PostDataTx{"prices", EncodeTensorMap(Inputs(10.0f + run)), {}});
    ASSERT_EQ(posted.code, TxCode::kOk) << posted.log;
    alice_tx_fees += size;
    while (Height() < h0 + 2 * (run + 1)) EmptyBlocks(1);
    if (run == 1) Reopen();
    wf = app_->GetWorkflow(1);
    ASSERT_EQ(wf->history.size(), static_cast<size_t>(run + 1));
    EXPECT_EQ(wf->history[run].height, h0 + 2 * (run + 1));
    auto a = app_->GetAsyncRequest(wf->history[run].request_id);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(a->workflow_id, 1u);
    EXPECT_EQ(a->request.request.input_hash, HashTensorMap(Inputs(10.0f + run)));  // the feed at run time
    EXPECT_EQ(a->request.request.requester, k_.alice.address());
    EXPECT_EQ(a->assigned, k_.node.address());
    ASSERT_EQ(Send(k_.node, Answer(a->request, k_.node, "forecast " + std::to_string(run))).first.code, TxCode::kOk);
    EXPECT_EQ(app_->GetAsyncRequest(a->id)->status, AsyncStatus::kAnswered);
  }
  wf = app_->GetWorkflow(1);
  EXPECT_EQ(wf->runs_done, 3u);
  EXPECT_EQ(wf->next_height, 0u);
  EXPECT_EQ(wf->escrow, 0u);
  // Three runs at fee + price each; the rest of the prepayment came back.
  EXPECT_EQ(Balance(k_.alice), alice0 - alice_tx_fees - 3 * (kNodeFee + kPrice));
  EXPECT_EQ(Balance(k_.publisher), pub0 + 3 * kPrice);
  EmptyBlocks(4);
  EXPECT_EQ(app_->GetWorkflow(1)->history.size(), 3u);  // no fourth run
}

TEST_F(SettlementTest, WorkflowRunWithoutFeedOrNodeIsSkippedAndRefunded) {
  const uint64_t alice0 = Balance(k_.alice);
  CreateWorkflowTx spec{model_, Mode::kVanilla, "empty-feed", 1, 2, 40, 0, {}};
  auto [created, size] = Send(k_.alice, spec);
  ASSERT_EQ(created.code, TxCode::kOk) << created.log;
  EmptyBlocks(3);
  auto wf = app_->GetWorkflow(1);
  ASSERT_TRUE(wf.ok());
  EXPECT_EQ(wf->runs_done, 2u);
  EXPECT_EQ(wf->history[0].request_id, Hash32{});  // skipped: no feed value
  EXPECT_EQ(Balance(k_.alice), alice0 - size);      // both prepaid fees back
}

}  // namespace
}  // namespace lucid::chain

namespace lucid::chain {
namespace {

// The new state records decode to what was encoded, and refuse trailing bytes and truncation.
template <typename T, typename Enc, typename Dec>
void ExpectStrictRoundTrip(const T& value, Enc enc, Dec dec) {
  const Bytes bytes = enc(value);
  auto back = dec(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(enc(*back), bytes);
  Bytes trailing = bytes;
  trailing.push_back(0);
  EXPECT_FALSE(dec(trailing).ok());
  for (size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(dec(ByteView(bytes.data(), n)).ok()) << n;
}

TEST(SettlementRecordsTest, RoundTripStrictly) {
  const PrivateKey key = PrivateKey::FromSeed("records");
  AsyncRequest a;
  a.id = crypto::Sha256(ToBytes("id"));
  a.request.request.chain_id = "c";
  a.request.request.deadline_height = 9;
  a.inputs = Bytes{1, 2};
  a.assigned = key.address();
  a.escrow = 5;
  a.status = AsyncStatus::kAnswered;
  a.receipt_id = crypto::Sha256(ToBytes("r"));
  a.workflow_id = 3;
  ExpectStrictRoundTrip(a, EncodeAsyncRequest, DecodeAsyncRequest);
  Challenge c;
  c.receipt_id = a.id;
  c.challenger = key.address();
  c.committee = {key.address(), PrivateKey::FromSeed("m").address()};
  c.votes = {{key.address(), a.id, 4}};
  c.status = ChallengeStatus::kNodeRefuted;
  c.decided_output_hash = a.id;
  ExpectStrictRoundTrip(c, EncodeChallenge, DecodeChallenge);
  DataFeed f{"prices", key.address(), {key.address()}, Bytes{3}, 8};
  ExpectStrictRoundTrip(f, EncodeFeed, DecodeFeed);
  Workflow w;
  w.id = 2;
  w.owner = key.address();
  w.spec.feed = "prices";
  w.spec.mode = Mode::kReplay;
  w.history = {{5, a.id}, {7, Hash32{}}};
  ExpectStrictRoundTrip(w, EncodeWorkflow, DecodeWorkflow);
  // Penalised nodes and replay receipts use the extended record versions; others keep v1 bytes.
  NodeInfo plain{key.address(), 10, 2, "e", 1};
  EXPECT_EQ(EncodeNode(plain)[0], 1);
  NodeInfo jailed = plain;
  jailed.jailed = true;
  jailed.slashed = 4;
  EXPECT_EQ(EncodeNode(jailed)[0], 2);
  ExpectStrictRoundTrip(jailed, EncodeNode, DecodeNode);
  EXPECT_TRUE(DecodeNode(EncodeNode(jailed))->jailed);
  Genesis g;
  g.chain_id = "c";
  g.validators = {key.address()};
  EXPECT_EQ(EncodeGenesis(g)[0], 1);  // default params: same bytes (and app hash) as before
  g.params.settlement.challenge_bond = 77;
  EXPECT_EQ(EncodeGenesis(g)[0], 3);
  EXPECT_EQ(DecodeGenesis(EncodeGenesis(g))->params.settlement.challenge_bond, 77u);
}

}  // namespace
}  // namespace lucid::chain
