// SubmitResult: settlement of a verified inference result, and every way it is refused.
#include <gtest/gtest.h>

#include <limits>

#include "chain/app.h"
#include "chain_fixture.h"

namespace lucid::chain {
namespace {

using namespace lucid::chain::testing;

constexpr uint64_t kPrice = 7;

class SubmitResultTest : public ChainFixture {
 protected:
  void SetUp() override {
    ChainFixture::SetUp();
    model_ = Cid::Of(ToBytes("digits manifest v1.0"));
    ASSERT_EQ(Run(SignTx(k_.publisher, 0, CreateRepoTx{"digits", "", "image-classification", "MIT", {}})).code,
              TxCode::kOk);
    ASSERT_EQ(Run(SignTx(k_.publisher, 1, PublishVersionTx{"digits", 1, 0, model_, kPrice, std::nullopt})).code, TxCode::kOk);
    ASSERT_EQ(Run(SignTx(k_.node, 0, RegisterNodeTx{1000, ModeBit(Mode::kVanilla), "http://node:8080"})).code,
              TxCode::kOk);
  }

  InferenceRequest Request(uint64_t nonce, uint64_t max_fee = 100, const PrivateKey* requester = nullptr) {
    InferenceRequest req;
    req.chain_id = std::string(kChainId);
    req.requester = (requester ? *requester : k_.alice).address();
    req.model = model_;
    req.mode = Mode::kVanilla;
    req.input_hash = crypto::Sha256(ToBytes("input"));
    req.seed = 42;
    req.max_fee = max_fee;
    req.nonce = nonce;
    return req;
  }

  SubmitResultTx Result(const InferenceRequest& req, uint64_t fee, const PrivateKey* node = nullptr,
                        const PrivateKey* requester = nullptr) {
    const PrivateKey& node_key = node ? *node : k_.node;
    const PrivateKey& req_key = requester ? *requester : k_.alice;
    SubmitResultTx out;
    out.request = SignedRequest{req, req_key.Sign(SigningDigest(req.Hash()))};
    out.receipt.chain_id = req.chain_id;
    out.receipt.request_hash = req.Hash();
    out.receipt.model = req.model;
    out.receipt.input_hash = req.input_hash;
    out.receipt.output_hash = crypto::Sha256(ToBytes("output"));
    out.receipt.mode = req.mode;
    out.receipt.node = node_key.address();
    out.receipt.engine = "lucid-onnx/test/1";
    out.receipt.fee = fee;
    out.evidence = verify::MakeVanillaEvidence(out.receipt, node_key);
    return out;
  }

  TxResult Submit(const SubmitResultTx& result, const PrivateKey* sender = nullptr) {
    const PrivateKey& key = sender ? *sender : k_.node;
    return Run(SignTx(key, NextNonce(key), result));
  }

  struct Snapshot {
    Account alice, node, publisher, validator;
    bool operator==(const Snapshot& o) const {
      auto eq = [](const Account& a, const Account& b) {
        return a.balance == b.balance && a.nonce == b.nonce && a.request_nonce == b.request_nonce;
      };
      return eq(alice, o.alice) && eq(node, o.node) && eq(publisher, o.publisher) && eq(validator, o.validator);
    }
  };
  Snapshot Snap() { return {Acct(k_.alice), Acct(k_.node), Acct(k_.publisher), Acct(k_.validator)}; }

  // Submits and expects a refusal with code; no balance, nonce or request nonce changes.
  void ExpectRefused(const SubmitResultTx& result, TxCode code, const PrivateKey* sender = nullptr) {
    const Snapshot before = Snap();
    TxResult r = Submit(result, sender);
    EXPECT_EQ(r.code, code) << TxCodeName(r.code) << ": " << r.log;
    EXPECT_FALSE(r.log.empty());
    EXPECT_FALSE(r.receipt_id.has_value());
    EXPECT_TRUE(Snap() == before);
    EXPECT_EQ(app_->GetReceipt(result.receipt.Id()).status().code(), Code::kNotFound);
  }

  Cid model_;
};

TEST_F(SubmitResultTest, HappyPathSettlesFeesAndRecordsReceipt) {
  const Snapshot before = Snap();
  SubmitResultTx result = Result(Request(0), 20);
  Bytes tx = SignTx(k_.node, NextNonce(k_.node), result);
  auto block = RunBlock(*app_, k_.validator, {tx});
  ASSERT_EQ(block.results.size(), 1u);
  const TxResult& r = block.results[0];
  ASSERT_EQ(r.code, TxCode::kOk) << r.log;
  const Hash32 id = result.receipt.Id();
  ASSERT_TRUE(r.receipt_id.has_value());
  EXPECT_EQ(*r.receipt_id, id);

  const Snapshot after = Snap();
  EXPECT_EQ(after.alice.balance, before.alice.balance - 20 - kPrice);
  EXPECT_EQ(after.alice.request_nonce, 1u);
  EXPECT_EQ(after.node.balance, before.node.balance + 20 - tx.size());
  EXPECT_EQ(after.publisher.balance, before.publisher.balance + kPrice);
  EXPECT_EQ(after.validator.balance, before.validator.balance + tx.size());

  auto rec = app_->GetReceipt(id);
  ASSERT_TRUE(rec.ok()) << rec.status().ToString();
  EXPECT_EQ(rec->height, block.header.height);
  EXPECT_EQ(rec->index, 0u);
  EXPECT_EQ(rec->node_paid, 20u);
  EXPECT_EQ(rec->publisher_paid, kPrice);
  EXPECT_EQ(rec->result.receipt.Id(), id);

  // Inclusion proof against the block's receipts_root, and through verify's check.
  EXPECT_EQ(block.header.receipts_root, crypto::MerkleRoot({crypto::MerkleLeafHash(id)}));
  auto proof = app_->ProveReceipt(id);
  ASSERT_TRUE(proof.ok()) << proof.status().ToString();
  EXPECT_TRUE(crypto::MerkleVerify(crypto::MerkleLeafHash(id), *proof, block.header.receipts_root).ok());
  auto stored = app_->GetBlock(block.header.height);
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(verify::VerifyInclusion(id, *proof, stored->header).ok());
  Hash32 other = id;
  other[0] ^= 1;
  EXPECT_FALSE(verify::VerifyInclusion(other, *proof, stored->header).ok());
  EXPECT_EQ(app_->ProveReceipt(other).status().code(), Code::kNotFound);
}

TEST_F(SubmitResultTest, SeveralReceiptsInOneBlockGetIndexesAndProofs) {
  SubmitResultTx r0 = Result(Request(0), 10);
  SubmitResultTx r1 = Result(Request(3), 10);  // requests may skip nonces ahead
  auto block = RunBlock(*app_, k_.validator, {SignTx(k_.node, 1, r0), SignTx(k_.node, 2, r1)});
  ASSERT_EQ(block.results[0].code, TxCode::kOk) << block.results[0].log;
  ASSERT_EQ(block.results[1].code, TxCode::kOk) << block.results[1].log;
  EXPECT_EQ(Acct(k_.alice).request_nonce, 4u);
  EXPECT_EQ(app_->GetReceipt(r1.receipt.Id())->index, 1u);
  for (const auto* r : {&r0, &r1}) {
    auto proof = app_->ProveReceipt(r->receipt.Id());
    ASSERT_TRUE(proof.ok());
    EXPECT_EQ(proof->tree_size, 2u);
    EXPECT_TRUE(crypto::MerkleVerify(crypto::MerkleLeafHash(r->receipt.Id()), *proof, block.header.receipts_root).ok());
  }
  // A nonce below the next request nonce is a replay even if it was never used.
  ExpectRefused(Result(Request(2), 10), TxCode::kBadRequest);
}

TEST_F(SubmitResultTest, TamperedReceiptRefused) {
  SubmitResultTx result = Result(Request(0), 20);
  result.receipt.output_hash[0] ^= 1;  // after the node signed it
  ExpectRefused(result, TxCode::kBadEvidence);
}

TEST_F(SubmitResultTest, TamperedEvidenceRefused) {
  SubmitResultTx result = Result(Request(0), 20);
  result.evidence.data[5] ^= 1;
  ExpectRefused(result, TxCode::kBadEvidence);
}

TEST_F(SubmitResultTest, TamperedRequestSignatureRefused) {
  SubmitResultTx result = Result(Request(0), 20);
  result.request.signature[7] ^= 1;
  ExpectRefused(result, TxCode::kBadRequest);
  // A request signed by someone other than the requester.
  SubmitResultTx forged = Result(Request(0), 20);
  forged.request.signature = k_.bob.Sign(SigningDigest(forged.request.request.Hash()));
  ExpectRefused(forged, TxCode::kBadRequest);
}

TEST_F(SubmitResultTest, ReceiptNotMatchingRequestRefused) {
  SubmitResultTx result = Result(Request(0), 20);
  result.receipt.input_hash[3] ^= 1;
  result.evidence = verify::MakeVanillaEvidence(result.receipt, k_.node);  // node signs the wrong receipt
  ExpectRefused(result, TxCode::kBadReceipt);
}

TEST_F(SubmitResultTest, FeeAboveMaxRefused) {
  // Node fee within max, but fee + publisher price above it: the chain catches it.
  ExpectRefused(Result(Request(0, 100), 95), TxCode::kFeeTooHigh);
  // Node fee alone above max: verify catches it.
  ExpectRefused(Result(Request(0, 100), 101), TxCode::kFeeTooHigh);
  // Exactly at the max is fine.
  EXPECT_EQ(Submit(Result(Request(0, 100), 100 - kPrice)).code, TxCode::kOk);
}

TEST_F(SubmitResultTest, ReplayedRequestNonceRefused) {
  SubmitResultTx result = Result(Request(0), 20);
  ASSERT_EQ(Submit(result).code, TxCode::kOk);
  const Snapshot before = Snap();
  TxResult replay = Submit(result);  // new tx (fresh tx nonce), same request
  EXPECT_EQ(replay.code, TxCode::kBadRequest);
  EXPECT_NE(replay.log.find("nonce"), std::string::npos);
  Snapshot after = Snap();
  EXPECT_EQ(after.alice.balance, before.alice.balance);
  EXPECT_EQ(after.alice.request_nonce, 1u);
}

TEST_F(SubmitResultTest, UnregisteredNodeRefused) {
  // bob is not a registered node; he signs the receipt and submits it himself.
  ExpectRefused(Result(Request(0), 20, &k_.bob), TxCode::kNodeNotRegistered, &k_.bob);
}

TEST_F(SubmitResultTest, UnknownModelRefused) {
  InferenceRequest req = Request(0);
  req.model = Cid::Of(ToBytes("never published"));
  ExpectRefused(Result(req, 20), TxCode::kNotFound);
}

TEST_F(SubmitResultTest, SenderMustBeTheReceiptNode) {
  ExpectRefused(Result(Request(0), 20), TxCode::kUnauthorized, &k_.alice);
  // The request names another node.
  InferenceRequest req = Request(0);
  req.node = k_.bob.address();
  ExpectRefused(Result(req, 20), TxCode::kUnauthorized);
}

TEST_F(SubmitResultTest, DeadlineWrongChainFundsAndOverflowRefused) {
  InferenceRequest late = Request(0);
  late.deadline_height = 1;  // the fixture already produced 3 blocks
  ExpectRefused(Result(late, 20), TxCode::kBadRequest);

  InferenceRequest other_chain = Request(0);
  other_chain.chain_id = "other-chain";
  ExpectRefused(Result(other_chain, 20), TxCode::kWrongChain);

  // The stranger signs a request but has no funds.
  ExpectRefused(Result(Request(0, 100, &k_.stranger), 20, nullptr, &k_.stranger), TxCode::kInsufficientFunds);

  const uint64_t max = std::numeric_limits<uint64_t>::max();
  ExpectRefused(Result(Request(0, max), max), TxCode::kOverflow);  // fee + price overflows
  // Nonces with bit 63 (the largest included) are reserved for chain-made requests.
  ExpectRefused(Result(Request(max), 20), TxCode::kBadRequest);
  ExpectRefused(Result(Request(kChainMadeNonceBit), 20), TxCode::kBadRequest);
}

TEST_F(SubmitResultTest, CheckTxRefusesBadResultBeforeTheMempool) {
  SubmitResultTx bad = Result(Request(0), 20);
  bad.evidence.data[1] ^= 1;
  EXPECT_EQ(app_->CheckTx(SignTx(k_.node, NextNonce(k_.node), bad)).code, TxCode::kBadEvidence);
  EXPECT_EQ(app_->CheckTx(SignTx(k_.node, NextNonce(k_.node), Result(Request(0), 20))).code, TxCode::kOk);
}

}  // namespace
}  // namespace lucid::chain
