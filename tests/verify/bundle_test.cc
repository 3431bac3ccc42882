// verify::CheckBundle: the one sequence of checks behind `lucid verify` and the web verify page.
#include "verify/bundle.h"

#include <gtest/gtest.h>

#include <cstring>

#include "crypto/hash.h"

namespace lucid::verify {
namespace {

using protocol::Mode;

const crypto::PrivateKey& RequesterKey() {
  static const auto key = crypto::PrivateKey::FromSeed("bundle-requester");
  return key;
}
const crypto::PrivateKey& NodeKey() {
  static const auto key = crypto::PrivateKey::FromSeed("bundle-node");
  return key;
}
const crypto::PrivateKey& ValidatorKey() {
  static const auto key = crypto::PrivateKey::FromSeed("bundle-validator");
  return key;
}
constexpr char kChain[] = "lucid-bundle";

TensorMap Tensors(float a, float b) {
  Bytes data(8);
  std::memcpy(data.data(), &a, 4);
  std::memcpy(data.data() + 4, &b, 4);
  auto t = Tensor::FromBytes(DType::kFloat32, {2}, data);
  EXPECT_TRUE(t.ok());
  return {{"x", *t}};
}

// An honest vanilla bundle: signed request, receipt, node evidence, inputs and outputs, and
// the receipt's inclusion (second of three) under a validator-signed header.
Bundle Honest() {
  protocol::SubmitResultTx r;
  auto& q = r.request.request;
  q.chain_id = kChain;
  q.requester = RequesterKey().address();
  q.model = crypto::Cid::Of(ToBytes("manifest"));
  q.mode = Mode::kVanilla;
  q.input_hash = HashTensorMap(Tensors(1, 2));
  q.max_fee = 100;
  q.nonce = 1;
  q.node = NodeKey().address();
  r.request.signature = RequesterKey().Sign(protocol::SigningDigest(q.Hash()));
  auto& c = r.receipt;
  c.chain_id = kChain;
  c.request_hash = q.Hash();
  c.model = q.model;
  c.input_hash = q.input_hash;
  c.output_hash = HashTensorMap(Tensors(3, 4));
  c.mode = Mode::kVanilla;
  c.node = NodeKey().address();
  c.engine = "lucid-onnx/f32-canonical/1";
  c.fee = 60;
  r.evidence = MakeVanillaEvidence(c, NodeKey());

  std::vector<Hash32> leaves = {crypto::Sha256(ToBytes("a")), crypto::MerkleLeafHash(c.Id()),
                                crypto::Sha256(ToBytes("b"))};
  protocol::SignedHeader header;
  auto& h = header.header;
  h.chain_id = kChain;
  h.height = 7;
  h.time_ms = 1000;
  h.receipts_root = crypto::MerkleRoot(leaves);
  h.receipt_count = 3;
  h.proposer = ValidatorKey().address();
  header.signature = ValidatorKey().Sign(protocol::SigningDigest(h.Hash()));

  Bundle b;
  b.receipt_id = c.Id();
  b.request = r.request;
  b.receipt = r.receipt;
  b.evidence = r.evidence;
  b.inputs = Tensors(1, 2);
  b.outputs = Tensors(3, 4);
  auto proof = crypto::MerkleProve(leaves, 1);
  EXPECT_TRUE(proof.ok());
  b.proof = *proof;
  b.header = header;
  return b;
}

BundleCheckOptions Options() {
  BundleCheckOptions o;
  o.chain_id = kChain;
  o.validators = {ValidatorKey().address()};
  o.chain_facts = [](const protocol::SubmitResultTx&) {
    ChainFacts f;
    f.view.chain_id = kChain;
    f.view.node_registered_for_mode = true;
    return f;
  };
  return o;
}

std::vector<std::string> Names(const Report& r) {
  std::vector<std::string> names;
  for (const auto& c : r.checks) names.push_back(c.name);
  return names;
}

std::vector<std::string> Failed(const Report& r) {
  std::vector<std::string> names;
  for (const auto& c : r.checks)
    if (!c.ok) names.push_back(c.name);
  return names;
}

const ReportCheck* Find(const Report& r, std::string_view name) {
  for (const auto& c : r.checks)
    if (c.name == name) return &c;
  return nullptr;
}

const std::vector<std::string> kOrder = {"bundle_decodes", "receipt_id",   "request_signature",
                                         "chain_id",       "receipt_matches_request", "fee_within_max",
                                         "node_registered", "evidence",    "inputs_hash",
                                         "outputs_hash",   "inclusion",    "header_signer"};

TEST(CheckBundleTest, HonestBundlePassesEveryCheckInOrder) {
  const Report r = CheckBundle(Honest(), Options());
  EXPECT_EQ(Names(r), kOrder);
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(Failed(r));
  EXPECT_EQ(Find(r, "header_signer")->detail, "block 7 signed by a genesis validator");
}

TEST(CheckBundleTest, UndecodableBundleHoldsOnlyBundleDecodes) {
  Bundle b = Honest();
  b.receipt = InvalidArgument("receipt: trailing bytes");
  const Report r = CheckBundle(b, Options());
  ASSERT_EQ(Names(r), std::vector<std::string>{"bundle_decodes"});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.checks[0].detail, "receipt: trailing bytes");
}

TEST(CheckBundleTest, TensorsNotHeldAreSkippedAndStillValid) {
  Bundle b = Honest();
  b.inputs.reset();
  b.outputs.reset();
  BundleCheckOptions o = Options();
  o.wording.inputs_not_held = "no inputs given";
  const Report r = CheckBundle(b, o);
  EXPECT_TRUE(r.ok());
  EXPECT_TRUE(Find(r, "inputs_hash")->skipped);
  EXPECT_EQ(Find(r, "inputs_hash")->detail, "no inputs given");
  EXPECT_EQ(Find(r, "outputs_hash")->detail, "outputs not held locally");
}

TEST(CheckBundleTest, TamperedOutputsAndWrongIdFail) {
  Bundle b = Honest();
  b.outputs = Tensors(3, 5);
  EXPECT_EQ(Failed(CheckBundle(b, Options())), std::vector<std::string>{"outputs_hash"});
  b = Honest();
  b.receipt_id[0] ^= 1;
  // The receipt still hashes to itself; the proof is for the id asked for: both fail.
  EXPECT_EQ(Failed(CheckBundle(b, Options())), (std::vector<std::string>{"receipt_id", "inclusion"}));
}

TEST(CheckBundleTest, UnknownProposerAndMissingProof) {
  BundleCheckOptions o = Options();
  o.validators = {NodeKey().address()};
  o.wording.unknown_proposer = "is not a genesis validator";
  const Report r = CheckBundle(Honest(), o);
  EXPECT_EQ(Failed(r), std::vector<std::string>{"header_signer"});
  EXPECT_NE(Find(r, "header_signer")->detail.find("is not a genesis validator"), std::string::npos);

  Bundle b = Honest();
  b.proof = NotFound("bundle lacks an inclusion proof");
  b.header = b.proof.status();
  const Report missing = CheckBundle(b, Options());
  EXPECT_EQ(Failed(missing), std::vector<std::string>{"inclusion"});
  EXPECT_EQ(Find(missing, "header_signer"), nullptr);  // no header, nothing to name
}

TEST(CheckBundleTest, CallbacksReplaceInclusionAndCompareLast) {
  BundleCheckOptions o = Options();
  o.check_inclusion = [](const Hash32&, const crypto::InclusionProof&, const protocol::BlockHeader& h, Report& r) {
    r.Add("comet_commit", Status::Ok(), "block " + std::to_string(h.height));
  };
  o.compare_with_chain = [](const protocol::SubmitResultTx&, const protocol::SignedHeader* h, Report& r) {
    r.Add("chain_agrees", h ? Status::Ok() : DataLoss("no header"), "same");
  };
  const Report r = CheckBundle(Honest(), o);
  EXPECT_EQ(Names(r).back(), "chain_agrees");
  EXPECT_EQ(Find(r, "inclusion"), nullptr);
  EXPECT_EQ(Find(r, "header_signer"), nullptr);
  EXPECT_EQ(Find(r, "comet_commit")->detail, "block 7");
  EXPECT_TRUE(r.ok());
}

TEST(CheckBundleTest, EnclaveRegistrationComesFromTheCallerBeforeTheVerdict) {
  BundleCheckOptions o = Options();
  o.chain_facts = [](const protocol::SubmitResultTx&) {
    ChainFacts f;
    f.view.chain_id = kChain;
    f.view.node_registered_for_mode = true;
    f.enclave_registration = NotFound("no enclave");
    return f;
  };
  const Report r = CheckBundle(Honest(), o);
  EXPECT_EQ(Names(r)[2], "enclave_registration");
  EXPECT_EQ(Failed(r), std::vector<std::string>{"enclave_registration"});
  EXPECT_EQ(r.checks[2].detail, "no enclave");
}

}  // namespace
}  // namespace lucid::verify

namespace lucid::verify {
namespace {

// An async request the chain recorded (a workflow run carries no signature): accepted only
// when the caller's chain facts say the request is on chain.
TEST(CheckBundleTest, UnsignedRequestPassesOnlyWhenRecordedOnChain) {
  Bundle b = Honest();
  b.request->signature = crypto::Signature{};
  EXPECT_EQ(Failed(CheckBundle(b, Options())), std::vector<std::string>{"request_signature"});
  BundleCheckOptions o = Options();
  o.chain_facts = [](const protocol::SubmitResultTx&) {
    ChainFacts f;
    f.view.chain_id = kChain;
    f.view.node_registered_for_mode = true;
    f.view.request_on_chain = true;
    return f;
  };
  const Report r = CheckBundle(b, o);
  EXPECT_TRUE(r.ok()) << ::testing::PrintToString(Failed(r));
  EXPECT_NE(Find(r, "request_signature")->detail.find("recorded on chain"), std::string::npos);
}

// A replay receipt is valid only once final on chain; pending, challenged and overturned fail
// the settlement check (and only it).
TEST(CheckBundleTest, ReplayReceiptIsValidOnlyOnceFinal) {
  for (const auto& [status, ok] : std::vector<std::pair<std::string, bool>>{
           {"final", true}, {"pending", false}, {"challenged", false}, {"overturned", false}}) {
    BundleCheckOptions o = Options();
    o.chain_facts = [status = status](const protocol::SubmitResultTx&) {
      ChainFacts f;
      f.view.chain_id = kChain;
      f.view.node_registered_for_mode = true;
      f.settlement = ReplaySettlement(status, 17);
      f.settlement_detail = "final";
      return f;
    };
    const Report r = CheckBundle(Honest(), o);
    ASSERT_NE(Find(r, "settlement"), nullptr) << status;
    EXPECT_EQ(r.ok(), ok) << status;
    if (!ok) {
      EXPECT_EQ(Failed(r), std::vector<std::string>{"settlement"}) << status;
    }
  }
  EXPECT_NE(ReplaySettlement("pending", 17).message().find("until block 17"), std::string::npos);
  EXPECT_FALSE(ReplaySettlement("bogus", 1).ok());
}

}  // namespace
}  // namespace lucid::verify
