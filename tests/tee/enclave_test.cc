// The dev enclave (tee/enclave.h): attestation documents that verify with the dev root and bind
// the enclave key, a fresh key per start, tee execution signed by the enclave key, the HTTP
// interface, and the dev PKI on disk.
#include "tee/enclave.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "crypto/hash.h"
#include "tee/nitro.h"
#include "tensor/tensor_json.h"
#include "verify/sig_cache.h"
#include "verify/verify.h"

namespace lucid::tee {
namespace {

uint64_t NowMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

std::string DataPath(const std::string& name) { return std::string(LUCID_SOURCE_DIR) + "/tests/data/onnx/" + name; }

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class EnclaveTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto pki = GenerateDevPki();
    ASSERT_TRUE(pki.ok()) << pki.status().ToString();
    pki_ = new DevPki(std::move(*pki));
  }
  static void TearDownTestSuite() { delete pki_; }

  std::unique_ptr<DevEnclave> Make() {
    EnclaveConfig c;
    c.pki = *pki_;
    auto e = DevEnclave::Create(std::move(c));
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? std::move(*e) : nullptr;
  }

  protocol::Receipt ReceiptFor(const TensorMap& inputs, const DevEnclave& e) {
    protocol::Receipt r;
    r.chain_id = "lucid-devnet";
    r.request_hash = crypto::Sha256(AsBytes("request"));
    r.input_hash = HashTensorMap(inputs);
    r.mode = protocol::Mode::kTee;
    r.node = crypto::PrivateKey::FromSeed("node").address();
    r.fee = 10;
    (void)e;
    return r;
  }

  static TensorMap MlpInputs() {
    auto j = nlohmann::json::parse(ReadText(DataPath("mlp.json")));
    auto m = TensorMapFromJson(j["inputs"]);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return *m;
  }

  static DevPki* pki_;
};
DevPki* EnclaveTest::pki_ = nullptr;

TEST_F(EnclaveTest, MeasurementIsSha384OfOwnBinary) {
  auto self = SelfMeasurement();
  ASSERT_TRUE(self.ok());
  ASSERT_EQ(self->size(), 48u);
  auto e = Make();
  ASSERT_TRUE(e);
  EXPECT_EQ(e->pcr0(), *self);
  EXPECT_EQ(Sha384(AsBytes("abc")),
            *FromHex("cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7"));
  EXPECT_NE(DevPcr1(), Bytes(48, 0));
  EXPECT_NE(DevPcr2(), Bytes(48, 0));
}

TEST_F(EnclaveTest, DocumentVerifiesWithDevRootAndBindsKey) {
  auto e = Make();
  ASSERT_TRUE(e);
  ASSERT_EQ(e->public_key().size(), 65u);
  EXPECT_EQ(e->public_key()[0], 0x04);
  const Bytes nonce = {1, 2, 3, 4};
  const uint64_t now = NowMs();
  auto doc = e->Attest(nonce, now);
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();

  VerifyOptions o;
  o.time_ms = static_cast<int64_t>(now);
  o.trusted_root_der = pki_->root_der;
  o.expected_pcr0 = e->pcr0();
  o.expected_nonce = nonce;
  o.expected_key_hash = crypto::Sha256(e->public_key());  // what RegisterEnclave asks for
  auto v = VerifyNitroDocument(*doc, o);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->document.public_key, e->public_key());
  EXPECT_EQ(v->document.timestamp_ms, now);
  EXPECT_FALSE(IsDebugMode(v->document));

  // Another key's hash is refused (a document for key A cannot register key B).
  VerifyOptions other = o;
  other.expected_key_hash = crypto::Sha256(UncompressedPublicKey(crypto::PrivateKey::FromSeed("b")));
  EXPECT_FALSE(VerifyNitroDocument(*doc, other).ok());
  // The pinned AWS root refuses a dev document.
  VerifyOptions aws = o;
  aws.trusted_root_der.clear();
  EXPECT_FALSE(VerifyNitroDocument(*doc, aws).ok());
  // A flipped byte is refused.
  Bytes bad = *doc;
  bad[bad.size() - 10] ^= 1;
  EXPECT_FALSE(VerifyNitroDocument(bad, o).ok());
  // No nonce asked: the document carries null.
  auto doc2 = e->Attest(std::nullopt, now);
  ASSERT_TRUE(doc2.ok());
  o.expected_nonce.reset();
  EXPECT_TRUE(VerifyNitroDocument(*doc2, o).ok());
}

TEST_F(EnclaveTest, RestartedEnclaveHasAnotherKey) {
  auto a = Make();
  auto b = Make();
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->public_key(), b->public_key());
  EXPECT_NE(a->address(), b->address());
  EXPECT_EQ(a->pcr0(), b->pcr0());
}

TEST_F(EnclaveTest, ExecuteSignsTeeReceipt) {
  auto e = Make();
  ASSERT_TRUE(e);
  const std::string model = ReadText(DataPath("mlp.onnx"));
  const TensorMap inputs = MlpInputs();
  auto r = e->Execute(AsBytes(model), inputs, ReceiptFor(inputs, *e));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->receipt.output_hash, HashTensorMap(r->outputs));
  EXPECT_FALSE(r->receipt.engine.empty());
  ASSERT_TRUE(r->outputs.count("probs"));

  verify::EnclaveView view{e->address(), e->pcr0(), NowMs() + 60'000, true};
  protocol::Evidence ev{protocol::Mode::kTee, Bytes(r->signature.begin(), r->signature.end())};
  EXPECT_TRUE(verify::VerifyEvidence(r->receipt, ev, std::nullopt, view, NowMs()).ok());
  // A flipped signature byte, or another enclave's key, is refused.
  protocol::Evidence bad = ev;
  bad.data[5] ^= 1;
  EXPECT_FALSE(verify::VerifyEvidence(r->receipt, bad, std::nullopt, view, NowMs()).ok());
  auto other = Make();
  verify::EnclaveView other_view{other->address(), other->pcr0(), NowMs() + 60'000, true};
  EXPECT_FALSE(verify::VerifyEvidence(r->receipt, ev, std::nullopt, other_view, NowMs()).ok());

  // Wrong mode, wrong input hash: refused.
  protocol::Receipt vanilla = ReceiptFor(inputs, *e);
  vanilla.mode = protocol::Mode::kVanilla;
  EXPECT_FALSE(e->Execute(AsBytes(model), inputs, vanilla).ok());
  protocol::Receipt wrong = ReceiptFor(inputs, *e);
  wrong.input_hash[0] ^= 1;
  EXPECT_FALSE(e->Execute(AsBytes(model), inputs, wrong).ok());
}

TEST_F(EnclaveTest, HttpAttestAndExecute) {
  auto e = Make();
  ASSERT_TRUE(e);
  EnclaveHttp http(e.get());
  EXPECT_FALSE(http.Bind("0.0.0.0", 0).ok());  // loopback only
  auto port = http.Bind("127.0.0.1", 0);
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  std::thread server([&] { http.Serve(); });

  EnclaveClient client("127.0.0.1:" + std::to_string(*port));
  const Bytes nonce = {9, 9, 9};
  auto a = client.Attest(nonce);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->public_key, e->public_key());
  EXPECT_EQ(a->pcr0, e->pcr0());
  VerifyOptions o;
  o.time_ms = static_cast<int64_t>(NowMs());
  o.trusted_root_der = pki_->root_der;
  o.expected_nonce = nonce;
  o.expected_key_hash = crypto::Sha256(a->public_key);
  EXPECT_TRUE(VerifyNitroDocument(a->document, o).ok());

  const TensorMap inputs = MlpInputs();
  auto r = client.ExecuteFile(DataPath("mlp.onnx"), inputs, ReceiptFor(inputs, *e));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto local = e->Execute(AsBytes(ReadText(DataPath("mlp.onnx"))), inputs, ReceiptFor(inputs, *e));
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(r->receipt.Id(), local->receipt.Id());  // deterministic engine
  verify::EnclaveView view{e->address(), e->pcr0(), NowMs() + 60'000, true};
  protocol::Evidence ev{protocol::Mode::kTee, Bytes(r->signature.begin(), r->signature.end())};
  EXPECT_TRUE(verify::VerifyEvidence(r->receipt, ev, std::nullopt, view, NowMs()).ok());
  auto by_bytes = client.Execute(AsBytes(ReadText(DataPath("mlp.onnx"))), inputs, ReceiptFor(inputs, *e));
  ASSERT_TRUE(by_bytes.ok()) << by_bytes.status().ToString();
  EXPECT_EQ(by_bytes->receipt.Id(), local->receipt.Id());

  // Errors come back with their reason.
  auto missing = client.ExecuteFile("/nonexistent/model.onnx", inputs, ReceiptFor(inputs, *e));
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().ToString().find("cannot read"), std::string::npos) << missing.status().ToString();

  http.Stop();
  server.join();
  EXPECT_FALSE(client.Attest(std::nullopt).ok());  // gone
}

TEST_F(EnclaveTest, DevPkiOnDisk) {
  const std::string dir = ::testing::TempDir() + "/lucid_enclave_pki_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  auto created = LoadOrCreateDevPki(dir);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  auto again = LoadOrCreateDevPki(dir);  // read back, not regenerated
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->root_der, created->root_der);
  EXPECT_EQ(again->leaf_key_der, created->leaf_key_der);
  EnclaveConfig c;
  c.pki = *again;
  auto e = DevEnclave::Create(std::move(c));
  ASSERT_TRUE(e.ok());
  auto doc = (*e)->Attest(std::nullopt, NowMs());
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  VerifyOptions o;
  o.time_ms = static_cast<int64_t>(NowMs());
  o.trusted_root_der = created->root_der;
  EXPECT_TRUE(VerifyNitroDocument(*doc, o).ok());
  std::filesystem::remove_all(dir);
}

// The check validators run on every tee receipt (signature recovery over the receipt id, the
// enclave view's expiry and PCR0): median of 2000 runs, printed. Target <= 100 us.
TEST_F(EnclaveTest, BenchReceiptSignatureCheck) {
  auto e = Make();
  ASSERT_TRUE(e);
  const TensorMap inputs = MlpInputs();
  auto r = e->Execute(AsBytes(ReadText(DataPath("mlp.onnx"))), inputs, ReceiptFor(inputs, *e));
  ASSERT_TRUE(r.ok());
  verify::EnclaveView view{e->address(), e->pcr0(), NowMs() + 60'000, true};
  protocol::Evidence ev{protocol::Mode::kTee, Bytes(r->signature.begin(), r->signature.end())};
  std::vector<double> us;
  // Every check recovers the signature (no hit in the process's signature cache).
  const size_t cache = verify::SignatureCacheCapacity();
  verify::SetSignatureCacheCapacity(0);
  for (int i = 0; i < 2000; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    Status s = verify::VerifyEvidence(r->receipt, ev, std::nullopt, view, NowMs());
    const auto t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(s.ok());
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  verify::SetSignatureCacheCapacity(cache);
  std::sort(us.begin(), us.end());
  std::printf("tee receipt signature check: median %.1f us, p90 %.1f us (2000 runs; target <= 100 us)\n",
              us[us.size() / 2], us[us.size() * 9 / 10]);
}

}  // namespace
}  // namespace lucid::tee
