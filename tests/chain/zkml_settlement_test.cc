// SubmitResult in zkml mode with real proofs: validators verify the proof against the
// version's zkml commitment before paying; every mismatch is refused and changes nothing.
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "chain/app.h"
#include "chain_fixture.h"
#include "onnx/model.h"
#include "onnx/quantize.h"
#include "zkml/zkml.h"

namespace lucid::chain {
namespace {

using namespace lucid::chain::testing;

Bytes ReadSource(const std::string& rel) {
  std::ifstream in(std::string(LUCID_SOURCE_DIR) + "/" + rel, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(in), {});
}

TensorMap Image(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto t = Tensor::Make(DType::kFloat32, {1, 64});
  float* p = t->data<float>();
  for (int i = 0; i < 64; ++i) p[i] = static_cast<float>(rng() % 17) / 16.0f;
  return {{"x", *t}};
}

// The digits MLP quantized on 16 pseudo-random images (calibration seed varies the model).
Bytes QuantizedMlp(uint64_t calibration_seed) {
  std::vector<TensorMap> calibration;
  for (uint64_t i = 0; i < 16; ++i) calibration.push_back(Image(calibration_seed * 100 + i));
  auto q = onnx::QuantizeStatic(ReadSource("models/digits/mlp.onnx"), calibration);
  EXPECT_TRUE(q.ok()) << q.status().ToString();
  return q.ok() ? q->model : Bytes{};
}

class ZkmlSettlementTest : public ChainFixture {
 protected:
  void SetUp() override {
    ChainFixture::SetUp();
    auto key = zkml::Setup(QuantizedMlp(1));
    ASSERT_TRUE(key.ok()) << key.status().ToString();
    key_ = std::make_unique<zkml::ProvingKey>(std::move(*key));
    model_ = Cid::Of(ToBytes("digits8 manifest v1.0"));
    bare_model_ = Cid::Of(ToBytes("digits8 manifest v1.1 (no zkml)"));
    ASSERT_EQ(Run(SignTx(k_.publisher, 0, CreateRepoTx{"digits8", "", "image-classification", "MIT", {}})).code,
              TxCode::kOk);
    ASSERT_EQ(Run(SignTx(k_.publisher, 1, PublishVersionTx{"digits8", 1, 0, model_, 3, key_->model_commitment})).code,
              TxCode::kOk);
    ASSERT_EQ(Run(SignTx(k_.publisher, 2, PublishVersionTx{"digits8", 1, 1, bare_model_, 3, std::nullopt})).code, TxCode::kOk);
    ASSERT_EQ(Run(SignTx(k_.node, 0, RegisterNodeTx{1000, ModeBit(Mode::kVanilla) | ModeBit(Mode::kZkml),
                                                    "http://node:8080"})).code,
              TxCode::kOk);
  }

  // A complete zkml result for input `seed`, proved with `key`.
  SubmitResultTx Result(uint64_t nonce, uint64_t seed, const Cid& model, const zkml::ProvingKey& key) {
    TensorMap inputs = Image(seed);
    InferenceRequest req;
    req.chain_id = std::string(kChainId);
    req.requester = k_.alice.address();
    req.model = model;
    req.mode = Mode::kZkml;
    req.input_hash = HashTensorMap(inputs);
    req.max_fee = 100;
    req.nonce = nonce;
    auto proof = zkml::Prove(key, inputs);
    EXPECT_TRUE(proof.ok()) << proof.status().ToString();
    SubmitResultTx out;
    out.request = SignedRequest{req, k_.alice.Sign(SigningDigest(req.Hash()))};
    out.receipt.chain_id = req.chain_id;
    out.receipt.request_hash = req.Hash();
    out.receipt.model = req.model;
    out.receipt.input_hash = req.input_hash;
    out.receipt.output_hash = HashTensorMap(proof->outputs);
    out.receipt.mode = Mode::kZkml;
    out.receipt.node = k_.node.address();
    out.receipt.engine = std::string(onnx::kEngineId);
    out.receipt.fee = 20;
    out.evidence = protocol::Evidence{Mode::kZkml, proof->proof};
    return out;
  }

  // Refused with kBadEvidence (or `code`) and nothing but the node's tx nonce/fee moves.
  void ExpectRefused(const SubmitResultTx& result, TxCode code = TxCode::kBadEvidence) {
    uint64_t alice = Balance(k_.alice), publisher = Balance(k_.publisher);
    uint64_t request_nonce = Acct(k_.alice).request_nonce;
    TxResult r = Run(SignTx(k_.node, NextNonce(k_.node), result));
    EXPECT_EQ(r.code, code) << TxCodeName(r.code) << ": " << r.log;
    EXPECT_EQ(Balance(k_.alice), alice);
    EXPECT_EQ(Balance(k_.publisher), publisher);
    EXPECT_EQ(Acct(k_.alice).request_nonce, request_nonce);
    EXPECT_EQ(app_->GetReceipt(result.receipt.Id()).status().code(), Code::kNotFound);
  }

  std::unique_ptr<zkml::ProvingKey> key_;
  Cid model_, bare_model_;
};

TEST_F(ZkmlSettlementTest, ValidProofIsPaidAndTamperedOnesAreNot) {
  SubmitResultTx good = Result(0, 7, model_, *key_);
  // A flipped byte at a few places of the proof; the receipt's output or input hash changed.
  for (size_t at : {size_t{30}, good.evidence.data.size() / 2, good.evidence.data.size() - 10}) {
    SubmitResultTx bad = good;
    bad.evidence.data[at] ^= 0x20;
    ExpectRefused(bad);
  }
  {
    // Another input's proof under this receipt: the proof is valid, but not for this receipt.
    SubmitResultTx other = Result(0, 8, model_, *key_);
    SubmitResultTx bad = good;
    bad.evidence = other.evidence;
    ExpectRefused(bad);
  }
  uint64_t alice = Balance(k_.alice), publisher = Balance(k_.publisher);
  TxResult ok = Run(SignTx(k_.node, NextNonce(k_.node), good));
  ASSERT_EQ(ok.code, TxCode::kOk) << ok.log;
  EXPECT_EQ(Balance(k_.alice), alice - 20 - 3);
  EXPECT_EQ(Balance(k_.publisher), publisher + 3);
  EXPECT_TRUE(app_->GetReceipt(good.receipt.Id()).ok());
}

TEST_F(ZkmlSettlementTest, ProofOfAnotherModelOrAVersionWithoutCommitmentIsRefused) {
  // A model quantized with other calibration data: another commitment.
  auto other_key = zkml::Setup(QuantizedMlp(2));
  ASSERT_TRUE(other_key.ok());
  ASSERT_NE(other_key->model_commitment, key_->model_commitment);
  ExpectRefused(Result(0, 7, model_, *other_key));
  // Version 1.1 was published without a zkml commitment.
  ExpectRefused(Result(0, 7, bare_model_, *key_));
}

}  // namespace
}  // namespace lucid::chain
