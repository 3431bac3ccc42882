// The signature work of issue 7 (verify/sig_cache.h, chain::WarmSignatures): a block's
// results and app hashes are the same with the signature cache and the memo of passed checks
// on or off and for 1 or 2 warm-up threads; tampered signatures stay refused after the genuine
// ones were cached.
#include <gtest/gtest.h>

#include "chain/app.h"
#include "chain_fixture.h"
#include "verify/sig_cache.h"

namespace lucid::chain {
namespace {

using namespace lucid::chain::testing;

constexpr uint64_t kPrice = 7;
const Cid& Model() {
  static const Cid m = Cid::Of(ToBytes("digits manifest v1.0"));
  return m;
}

SubmitResultTx MakeResult(const PrivateKey& requester, const PrivateKey& node, uint64_t request_nonce) {
  InferenceRequest req;
  req.chain_id = std::string(kChainId);
  req.requester = requester.address();
  req.model = Model();
  req.mode = Mode::kVanilla;
  req.input_hash = crypto::Sha256(ToBytes("input"));
  req.seed = request_nonce;
  req.max_fee = 100;
  req.nonce = request_nonce;
  SubmitResultTx out;
  out.request = SignedRequest{req, requester.Sign(SigningDigest(req.Hash()))};
  out.receipt.chain_id = req.chain_id;
  out.receipt.request_hash = req.Hash();
  out.receipt.model = req.model;
  out.receipt.input_hash = req.input_hash;
  out.receipt.output_hash = crypto::Sha256(ToBytes("output"));
  out.receipt.mode = req.mode;
  out.receipt.node = node.address();
  out.receipt.engine = "lucid-onnx/test/1";
  out.receipt.fee = 5;
  out.evidence = verify::MakeVanillaEvidence(out.receipt, node);
  return out;
}

// Blocks of mixed txs: good SubmitResults, a tampered evidence signature, a tampered request
// signature, a tampered tx signature, and replays of cached-genuine txs with one byte changed.
std::vector<std::vector<Bytes>> Scenario(const Keys& k) {
  std::vector<std::vector<Bytes>> blocks;
  blocks.push_back({SignTx(k.publisher, 0, CreateRepoTx{"digits", "", "image-classification", "MIT", {}}),
                    SignTx(k.publisher, 1, PublishVersionTx{"digits", 1, 0, Model(), kPrice, std::nullopt}),
                    SignTx(k.node, 0, RegisterNodeTx{1000, ModeBit(Mode::kVanilla), "http://node:8080"})});
  uint64_t node_nonce = 1;
  for (int b = 0; b < 3; ++b) {
    std::vector<Bytes> txs;
    for (int i = 0; i < 6; ++i) {
      const uint64_t rn = static_cast<uint64_t>(b * 10 + i);
      SubmitResultTx r = MakeResult(i % 2 ? k.bob : k.alice, k.node, rn);
      if (i == 2) r.evidence.data[10] ^= 0x01;                 // bad evidence
      if (i == 3) r.request.signature[20] ^= 0x01;            // bad request signature
      Bytes tx = SignTx(k.node, i == 2 || i == 3 ? node_nonce : node_nonce++, r);
      if (i == 2 || i == 3) {  // refused: the next tx reuses its nonce
        txs.push_back(std::move(tx));
        continue;
      }
      if (i == 4) {
        Bytes bad = tx;
        bad[bad.size() - 5] ^= 0x02;  // tx signature tampered: refused, then the genuine one passes
        txs.push_back(std::move(bad));
      }
      txs.push_back(std::move(tx));
    }
    blocks.push_back(std::move(txs));
  }
  return blocks;
}

struct Outcome {
  std::vector<Hash32> app_hashes;
  std::vector<std::vector<std::pair<TxCode, std::string>>> results;
};

Outcome Execute(size_t cache, int threads, bool memo) {
  verify::SetSignatureCacheCapacity(0);  // empty
  verify::SetSignatureCacheCapacity(cache);
  SetSignatureThreads(threads);
  SetPassedCheckMemo(memo);
  Keys k;
  const auto dir = TempDir("sigspeed");
  Outcome out;
  {
    auto store = store::KvStore::Open(dir.string());
    EXPECT_TRUE(store.ok());
    auto app = Application::Open(store->get());
    EXPECT_TRUE(app.ok());
    EXPECT_TRUE((*app)->InitChain(MakeGenesis(k)).ok());
    for (auto& txs : Scenario(k)) {
      // CheckTx first (fills the cache as a validator's mempool would), then the block.
      for (const Bytes& tx : txs) (void)(*app)->CheckTx(tx);
      FinalizedBlock fin = RunBlock(**app, k.validator, txs);
      out.app_hashes.push_back(fin.header.app_hash);
      std::vector<std::pair<TxCode, std::string>> codes;
      for (const auto& r : fin.results) codes.push_back({r.code, r.log});
      out.results.push_back(std::move(codes));
    }
  }
  std::filesystem::remove_all(dir);
  return out;
}

class SignatureSpeedupTest : public ::testing::Test {
 protected:
  void TearDown() override {
    verify::SetSignatureCacheCapacity(0);
    verify::SetSignatureCacheCapacity(1 << 17);
    SetSignatureThreads(0);
    SetPassedCheckMemo(true);
  }
};

TEST_F(SignatureSpeedupTest, SameResultsAndAppHashesWithCacheOnOffAndOneOrTwoThreads) {
  const Outcome base = Execute(0, 1, false);  // no cache, no memo, no warm-up: the plain path
  // The scenario's verdicts: per block of SubmitResults, ok ok BAD_EVIDENCE BAD_REQUEST
  // (BAD_SIGNATURE ok) ok.
  ASSERT_EQ(base.results.size(), 4u);
  for (size_t b = 1; b < base.results.size(); ++b) {
    const auto& r = base.results[b];
    ASSERT_EQ(r.size(), 7u);
    EXPECT_EQ(r[0].first, TxCode::kOk) << r[0].second;
    EXPECT_EQ(r[1].first, TxCode::kOk) << r[1].second;
    EXPECT_EQ(r[2].first, TxCode::kBadEvidence) << r[2].second;
    EXPECT_EQ(r[3].first, TxCode::kBadRequest) << r[3].second;
    EXPECT_EQ(r[4].first, TxCode::kBadSignature) << r[4].second;
    EXPECT_EQ(r[5].first, TxCode::kOk) << r[5].second;
    EXPECT_EQ(r[6].first, TxCode::kOk) << r[6].second;
  }
  for (size_t cache : {size_t{0}, size_t{1} << 17, size_t{16}})
    for (int threads : {1, 2})
      for (bool memo : {false, true}) {
        const Outcome run = Execute(cache, threads, memo);
        EXPECT_EQ(run.app_hashes, base.app_hashes) << "cache " << cache << " threads " << threads << " memo " << memo;
        EXPECT_EQ(run.results, base.results) << "cache " << cache << " threads " << threads << " memo " << memo;
      }
}

// The genuine tx is checked (its three signatures cached), then each signature tampered in turn:
// every variant is refused with the code it gets without any cache.
TEST_F(SignatureSpeedupTest, TamperedAfterGenuineCachedStillRefused) {
  for (size_t cache : {size_t{1} << 17, size_t{0}}) {
    verify::SetSignatureCacheCapacity(0);
    verify::SetSignatureCacheCapacity(cache);
    Keys k;
    const auto dir = TempDir("sigtamper");
    {
      auto store = store::KvStore::Open(dir.string());
      ASSERT_TRUE(store.ok());
      auto app = Application::Open(store->get());
      ASSERT_TRUE(app.ok());
      ASSERT_TRUE((*app)->InitChain(MakeGenesis(k)).ok());
      RunBlock(**app, k.validator, Scenario(k)[0]);
      const SubmitResultTx genuine = MakeResult(k.alice, k.node, 0);
      const Bytes good = SignTx(k.node, 1, genuine);
      WarmSignatures({ByteView(good)}, 2);
      ASSERT_EQ((*app)->CheckTx(good).code, TxCode::kOk);
      (void)(*app)->Info();
      // a fresh check state for each variant: commit an empty block
      RunBlock(**app, k.validator, {});
      SubmitResultTx bad_evidence = genuine;
      bad_evidence.evidence.data[3] ^= 0x01;
      SubmitResultTx bad_request = genuine;
      bad_request.request.signature[40] ^= 0x01;
      Bytes bad_tx = good;
      bad_tx[bad_tx.size() - 10] ^= 0x01;
      const std::vector<std::pair<Bytes, TxCode>> cases = {
          {SignTx(k.node, 1, bad_evidence), TxCode::kBadEvidence},
          {SignTx(k.node, 1, bad_request), TxCode::kBadRequest},
          {bad_tx, TxCode::kBadSignature}};
      for (const auto& [tx, code] : cases) {
        EXPECT_EQ((*app)->CheckTx(tx).code, code) << "cache " << cache;
        auto fin = RunBlock(**app, k.validator, {tx});
        ASSERT_EQ(fin.results.size(), 1u);
        EXPECT_EQ(fin.results[0].code, code) << "cache " << cache << ": " << fin.results[0].log;
      }
      // and the genuine one still settles
      auto fin = RunBlock(**app, k.validator, {good});
      ASSERT_EQ(fin.results.size(), 1u);
      EXPECT_EQ(fin.results[0].code, TxCode::kOk) << fin.results[0].log;
    }
    std::filesystem::remove_all(dir);
  }
}

}  // namespace
}  // namespace lucid::chain
