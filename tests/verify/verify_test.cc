#include "verify/verify.h"

#include <gtest/gtest.h>

#include <functional>

#include "crypto/hash.h"

namespace lucid::verify {
namespace {

using protocol::Mode;

const crypto::PrivateKey& RequesterKey() {
  static const auto key = crypto::PrivateKey::FromSeed("verify-requester");
  return key;
}
const crypto::PrivateKey& NodeKey() {
  static const auto key = crypto::PrivateKey::FromSeed("verify-node");
  return key;
}
const crypto::PrivateKey& OtherKey() {
  static const auto key = crypto::PrivateKey::FromSeed("verify-other");
  return key;
}

const std::vector<std::string> kCheckOrder = {"request_signature", "chain_id",        "receipt_matches_request",
                                              "fee_within_max",    "node_registered", "evidence"};

TensorMap Outputs() {
  Bytes data = {0, 0, 128, 63, 0, 0, 0, 64};  // float32 {1, 2}
  auto t = Tensor::FromBytes(DType::kFloat32, {2}, data);
  EXPECT_TRUE(t.ok());
  return {{"logits", *t}};
}

void SignRequest(protocol::SignedRequest& s) {
  s.signature = RequesterKey().Sign(protocol::SigningDigest(s.request.Hash()));
}
void SignEvidence(protocol::SubmitResultTx& r, const crypto::PrivateKey& key) {
  r.evidence = MakeVanillaEvidence(r.receipt, key);
}

// An honest vanilla result: request signed by the requester, receipt consistent with it,
// evidence signed by the node the request names.
protocol::SubmitResultTx Honest() {
  protocol::SubmitResultTx r;
  auto& q = r.request.request;
  q.chain_id = "lucid-verify";
  q.requester = RequesterKey().address();
  q.model = crypto::Cid::Of(ToBytes("manifest"));
  q.mode = Mode::kVanilla;
  q.input_hash = crypto::Sha256(ToBytes("inputs"));
  q.max_fee = 100;
  q.nonce = 1;
  q.node = NodeKey().address();
  SignRequest(r.request);
  auto& c = r.receipt;
  c.chain_id = q.chain_id;
  c.request_hash = q.Hash();
  c.model = q.model;
  c.input_hash = q.input_hash;
  c.output_hash = HashTensorMap(Outputs());
  c.mode = Mode::kVanilla;
  c.node = NodeKey().address();
  c.engine = "lucid-onnx/f32-canonical/1";
  c.fee = 60;
  SignEvidence(r, NodeKey());
  return r;
}

ChainView View() {
  ChainView v;
  v.chain_id = "lucid-verify";
  v.node_registered_for_mode = true;
  return v;
}

std::vector<std::string> Failed(const Verdict& v) {
  std::vector<std::string> names;
  for (const auto& c : v.checks) {
    if (!c.ok) {
      EXPECT_FALSE(c.detail.empty()) << c.name << " failed without saying why";
      names.push_back(c.name);
    }
  }
  return names;
}

std::string Detail(const Verdict& v, std::string_view name) {
  for (const auto& c : v.checks)
    if (c.name == name) return c.detail;
  return "";
}

TEST(VerifyResultTest, HonestResultPassesEveryCheckInOrder) {
  const Verdict v = VerifyResult(Honest(), View());
  ASSERT_EQ(v.checks.size(), kCheckOrder.size());
  for (size_t i = 0; i < kCheckOrder.size(); ++i) {
    EXPECT_EQ(v.checks[i].name, kCheckOrder[i]);
    EXPECT_TRUE(v.checks[i].ok) << v.checks[i].name << ": " << v.checks[i].detail;
  }
  EXPECT_TRUE(v.ok());
  EXPECT_TRUE(VerifyOutputs(Honest().receipt, Outputs()).ok());
}

TEST(VerifyResultTest, EmptyVerdictIsNotOk) { EXPECT_FALSE(Verdict{}.ok()); }

TEST(VerifyResultTest, RequestSignatureByteTampered) {
  auto r = Honest();
  r.request.signature[7] ^= 0x01;
  const Verdict v = VerifyResult(r, View());
  EXPECT_FALSE(v.ok());
  EXPECT_EQ(Failed(v), std::vector<std::string>{"request_signature"});
}

TEST(VerifyResultTest, RequestSignedByAnotherKey) {
  auto r = Honest();
  r.request.signature = OtherKey().Sign(protocol::SigningDigest(r.request.request.Hash()));
  const Verdict v = VerifyResult(r, View());
  EXPECT_EQ(Failed(v), std::vector<std::string>{"request_signature"});
  EXPECT_NE(Detail(v, "request_signature").find(OtherKey().address().ToHex()), std::string::npos);
}

TEST(VerifyResultTest, RequestFieldTamperedAfterSigning) {
  auto r = Honest();
  r.request.request.max_fee = 1000;  // a node raising the requester's limit
  const Verdict v = VerifyResult(r, View());
  // The signature no longer covers the request, and the receipt names another request.
  EXPECT_EQ(Failed(v), (std::vector<std::string>{"request_signature", "receipt_matches_request"}));
}

TEST(VerifyResultTest, WrongChain) {
  auto v = VerifyResult(Honest(), ChainView{"lucid-other", true, std::nullopt});
  EXPECT_EQ(Failed(v), std::vector<std::string>{"chain_id"});
  EXPECT_NE(Detail(v, "chain_id").find("lucid-other"), std::string::npos);

  auto r = Honest();
  r.receipt.chain_id = "lucid-other";
  SignEvidence(r, NodeKey());
  EXPECT_EQ(Failed(VerifyResult(r, View())), std::vector<std::string>{"chain_id"});
}

TEST(VerifyResultTest, ReceiptFieldsMustMatchRequest) {
  std::vector<std::pair<std::string, std::function<void(protocol::Receipt&)>>> tampers = {
      {"request_hash", [](auto& c) { c.request_hash[0] ^= 1; }},
      {"model", [](auto& c) { c.model.digest[31] ^= 1; }},
      {"input_hash", [](auto& c) { c.input_hash[5] ^= 1; }},
  };
  for (auto& [field, tamper] : tampers) {
    auto r = Honest();
    tamper(r.receipt);
    SignEvidence(r, NodeKey());  // the node signs the altered receipt: evidence is valid
    const Verdict v = VerifyResult(r, View());
    EXPECT_EQ(Failed(v), std::vector<std::string>{"receipt_matches_request"}) << field;
    EXPECT_NE(Detail(v, "receipt_matches_request").find(field), std::string::npos) << Detail(v, "receipt_matches_request");
  }
}

TEST(VerifyResultTest, ReceiptModeMustMatchRequest) {
  auto r = Honest();
  r.receipt.mode = Mode::kTee;
  r.evidence.mode = Mode::kTee;
  const Verdict v = VerifyResult(r, View());
  // tee evidence is refused too: the view names no enclave registration.
  EXPECT_EQ(Failed(v), (std::vector<std::string>{"receipt_matches_request", "evidence"}));
  EXPECT_NE(Detail(v, "receipt_matches_request").find("mode"), std::string::npos);
}

TEST(VerifyResultTest, AnotherNodeCannotAnswerANamedRequest) {
  auto r = Honest();
  r.receipt.node = OtherKey().address();
  SignEvidence(r, OtherKey());
  EXPECT_EQ(Failed(VerifyResult(r, View())), std::vector<std::string>{"receipt_matches_request"});

  // With no node named, any registered node may answer.
  r.request.request.node = crypto::Address{};
  SignRequest(r.request);
  r.receipt.request_hash = r.request.request.Hash();
  SignEvidence(r, OtherKey());
  EXPECT_TRUE(VerifyResult(r, View()).ok());
}

TEST(VerifyResultTest, FeeAboveMax) {
  auto r = Honest();
  r.receipt.fee = r.request.request.max_fee + 1;
  SignEvidence(r, NodeKey());
  const Verdict v = VerifyResult(r, View());
  EXPECT_EQ(Failed(v), std::vector<std::string>{"fee_within_max"});
  r.receipt.fee = r.request.request.max_fee;  // equal is allowed
  SignEvidence(r, NodeKey());
  EXPECT_TRUE(VerifyResult(r, View()).ok());
}

TEST(VerifyResultTest, NodeNotRegistered) {
  const Verdict v = VerifyResult(Honest(), ChainView{"lucid-verify", false, std::nullopt});
  EXPECT_EQ(Failed(v), std::vector<std::string>{"node_registered"});
}

TEST(VerifyResultTest, NodeSignatureByteTampered) {
  for (size_t i : {0, 31, 32, 63, 64}) {
    auto r = Honest();
    r.evidence.data[i] ^= 0x01;
    EXPECT_EQ(Failed(VerifyResult(r, View())), std::vector<std::string>{"evidence"}) << "byte " << i;
  }
}

TEST(VerifyResultTest, OutputHashTamperedInReceipt) {
  auto r = Honest();
  r.receipt.output_hash[0] ^= 0x01;  // the node's signature covered the old receipt
  EXPECT_EQ(Failed(VerifyResult(r, View())), std::vector<std::string>{"evidence"});
  Status s = VerifyOutputs(r.receipt, Outputs());
  EXPECT_EQ(s.code(), Code::kDataLoss) << s.ToString();
}

TEST(VerifyOutputsTest, TamperedOutputTensorRefused) {
  TensorMap outputs = Outputs();
  outputs.begin()->second.mutable_bytes()[0] ^= 1;
  Status s = VerifyOutputs(Honest().receipt, outputs);
  EXPECT_EQ(s.code(), Code::kDataLoss);
  EXPECT_NE(s.message().find("output_hash"), std::string::npos);
}

TEST(VerifyEvidenceTest, WrongLengthSignerAndMode) {
  auto r = Honest();
  protocol::Evidence short_sig = r.evidence;
  short_sig.data.pop_back();
  Status s = VerifyEvidence(r.receipt, short_sig);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("65 bytes"), std::string::npos);

  EXPECT_EQ(VerifyEvidence(r.receipt, MakeVanillaEvidence(r.receipt, OtherKey())).code(), Code::kPermissionDenied);

  protocol::Evidence eth_v = r.evidence;
  eth_v.data[64] += 27;
  EXPECT_FALSE(VerifyEvidence(r.receipt, eth_v).ok());

  protocol::Evidence wrong_mode = r.evidence;
  wrong_mode.mode = Mode::kZkml;
  EXPECT_FALSE(VerifyEvidence(r.receipt, wrong_mode).ok());
}

TEST(VerifyEvidenceTest, ZkmlEvidenceIsRefusedWithoutACommitmentOrWithGarbage) {
  auto r = Honest();
  r.receipt.mode = Mode::kZkml;
  Status none = VerifyEvidence(r.receipt, protocol::Evidence{Mode::kZkml, Bytes(65, 1)});
  EXPECT_EQ(none.code(), Code::kFailedPrecondition);
  EXPECT_NE(none.message().find("no zkml commitment"), std::string::npos) << none.message();
  Status garbage = VerifyEvidence(r.receipt, protocol::Evidence{Mode::kZkml, Bytes(65, 1)}, Hash32{});
  EXPECT_FALSE(garbage.ok());
}

TEST(VerifyEvidenceTest, TeeEvidenceChecksRegistrationExpiryMeasurementAndSigner) {
  auto r = Honest();
  r.receipt.mode = Mode::kTee;
  const crypto::PrivateKey enclave_key = crypto::PrivateKey::FromSeed("enclave key");
  const protocol::Evidence ev = MakeTeeEvidence(r.receipt, enclave_key);
  EnclaveView enclave;
  enclave.enclave_address = enclave_key.address();
  enclave.pcr0 = Bytes(48, 7);
  enclave.expires_at_ms = 5000;
  enclave.pcr0_allowed = true;
  EXPECT_TRUE(VerifyEvidence(r.receipt, ev, std::nullopt, enclave, 4999).ok());
  // No registration.
  Status none = VerifyEvidence(r.receipt, ev, std::nullopt, std::nullopt, 4999);
  EXPECT_EQ(none.code(), Code::kFailedPrecondition);
  EXPECT_NE(none.message().find("no registered enclave"), std::string::npos) << none.ToString();
  // Expired at exactly expires_at_ms.
  Status expired = VerifyEvidence(r.receipt, ev, std::nullopt, enclave, 5000);
  EXPECT_NE(expired.message().find("expired"), std::string::npos) << expired.ToString();
  // Revoked measurement.
  EnclaveView revoked = enclave;
  revoked.pcr0_allowed = false;
  Status rev = VerifyEvidence(r.receipt, ev, std::nullopt, revoked, 4999);
  EXPECT_NE(rev.message().find("revoked"), std::string::npos) << rev.ToString();
  // Signed by another key (e.g. the node's own key, or an unregistered enclave).
  Status other = VerifyEvidence(r.receipt, MakeTeeEvidence(r.receipt, OtherKey()), std::nullopt, enclave, 4999);
  EXPECT_EQ(other.code(), Code::kPermissionDenied) << other.ToString();
  // A signature over another receipt (output hash changed).
  auto changed = r.receipt;
  changed.output_hash[0] ^= 1;
  EXPECT_FALSE(VerifyEvidence(changed, ev, std::nullopt, enclave, 4999).ok());
  // Truncated signature.
  protocol::Evidence short_sig = ev;
  short_sig.data.pop_back();
  EXPECT_FALSE(VerifyEvidence(r.receipt, short_sig, std::nullopt, enclave, 4999).ok());
}

// replay evidence is the node's signature over the receipt id (finality is the chain's
// challenge window); a wrong signer or a flipped byte is refused.
TEST(VerifyEvidenceTest, ReplayEvidenceIsTheNodeSignature) {
  auto r = Honest();
  r.receipt.mode = Mode::kReplay;
  const protocol::Evidence good = MakeReplayEvidence(r.receipt, NodeKey());
  EXPECT_TRUE(VerifyEvidence(r.receipt, good).ok());
  protocol::Evidence flipped = good;
  flipped.data[7] ^= 1;
  EXPECT_FALSE(VerifyEvidence(r.receipt, flipped).ok());
  const protocol::Evidence other = MakeReplayEvidence(r.receipt, crypto::PrivateKey::FromSeed("someone else"));
  EXPECT_EQ(VerifyEvidence(r.receipt, other).code(), Code::kPermissionDenied);
  protocol::Evidence vanilla_mode = good;
  vanilla_mode.mode = Mode::kVanilla;  // evidence mode must be the receipt's
  EXPECT_FALSE(VerifyEvidence(r.receipt, vanilla_mode).ok());
}

// ---- inclusion ----

struct Block {
  std::vector<Hash32> receipt_ids;
  protocol::SignedHeader header;
};

Block MakeBlock() {
  Block b;
  std::vector<Hash32> leaves;
  for (int i = 0; i < 5; ++i) {
    auto r = Honest();
    r.receipt.fee = static_cast<uint64_t>(i);
    b.receipt_ids.push_back(r.receipt.Id());
    leaves.push_back(crypto::MerkleLeafHash(b.receipt_ids.back()));
  }
  auto& h = b.header.header;
  h.chain_id = "lucid-verify";
  h.height = 9;
  h.time_ms = 1000;
  h.receipts_root = crypto::MerkleRoot(leaves);
  h.receipt_count = static_cast<uint32_t>(leaves.size());
  h.proposer = OtherKey().address();
  b.header.signature = OtherKey().Sign(protocol::SigningDigest(h.Hash()));
  return b;
}

crypto::InclusionProof Prove(const Block& b, uint64_t index) {
  std::vector<Hash32> leaves;
  for (const auto& id : b.receipt_ids) leaves.push_back(crypto::MerkleLeafHash(id));
  auto proof = crypto::MerkleProve(leaves, index);
  EXPECT_TRUE(proof.ok());
  return *proof;
}

TEST(VerifyInclusionTest, EveryReceiptOfTheBlockIsIncluded) {
  const Block b = MakeBlock();
  for (uint64_t i = 0; i < b.receipt_ids.size(); ++i) {
    Status s = VerifyInclusion(b.receipt_ids[i], Prove(b, i), b.header);
    EXPECT_TRUE(s.ok()) << i << ": " << s.ToString();
  }
}

TEST(VerifyInclusionTest, ProofPathByteTampered) {
  const Block b = MakeBlock();
  auto proof = Prove(b, 2);
  ASSERT_FALSE(proof.path.empty());
  for (size_t step = 0; step < proof.path.size(); ++step) {
    auto bad = proof;
    bad.path[step][0] ^= 0x01;
    EXPECT_FALSE(VerifyInclusion(b.receipt_ids[2], bad, b.header).ok()) << step;
  }
  auto wrong_index = proof;
  wrong_index.leaf_index = 3;
  EXPECT_FALSE(VerifyInclusion(b.receipt_ids[2], wrong_index, b.header).ok());
}

// RFC 9162 paths do not pin the tree size: index 0 of 5 has the same path shape as index 0
// of 6..8. The header's receipt_count must decide, so a proof cannot claim another size.
TEST(VerifyInclusionTest, TreeSizeMustMatchTheHeader) {
  const Block b = MakeBlock();
  auto proof = Prove(b, 0);
  for (uint64_t size : {6u, 7u, 8u}) {
    auto bad = proof;
    bad.tree_size = size;
    Status s = VerifyInclusion(b.receipt_ids[0], bad, b.header);
    ASSERT_FALSE(s.ok()) << size;
    EXPECT_NE(s.message().find("holds 5"), std::string::npos) << s.ToString();
  }
}

TEST(VerifyInclusionTest, ReceiptNotInBlock) {
  const Block b = MakeBlock();
  Hash32 other = b.receipt_ids[2];
  other[31] ^= 1;
  Status s = VerifyInclusion(other, Prove(b, 2), b.header);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not included"), std::string::npos) << s.ToString();
}

TEST(VerifyInclusionTest, HeaderRootTampered) {
  Block b = MakeBlock();
  b.header.header.receipts_root[0] ^= 0x01;
  // Unsigned change: the proposer's signature fails.
  Status s = VerifyInclusion(b.receipt_ids[1], Prove(b, 1), b.header);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kPermissionDenied) << s.ToString();
  // Re-signed by the proposer: the root no longer holds the receipt.
  b.header.signature = OtherKey().Sign(protocol::SigningDigest(b.header.header.Hash()));
  s = VerifyInclusion(b.receipt_ids[1], Prove(b, 1), b.header);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("not included"), std::string::npos) << s.ToString();
}

TEST(VerifyInclusionTest, HeaderSignatureTamperedOrWrongProposer) {
  Block b = MakeBlock();
  auto tampered = b.header;
  tampered.signature[40] ^= 0x01;
  EXPECT_FALSE(VerifyInclusion(b.receipt_ids[0], Prove(b, 0), tampered).ok());
  auto wrong = b.header;
  wrong.signature = NodeKey().Sign(protocol::SigningDigest(wrong.header.Hash()));
  Status s = VerifyInclusion(b.receipt_ids[0], Prove(b, 0), wrong);
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_NE(s.message().find("proposer"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace lucid::verify
