// tee mode on chain: RegisterEnclave verified at block time (dev PKI documents in the exact
// Nitro format), UpdateTeeParams by the admin, and SubmitResult with enclave-signed receipts.
// Every refusal names its reason and changes no balance.
#include <gtest/gtest.h>

#include <functional>

#include "chain/state.h"
#include "chain_fixture.h"
#include "tee/dev_pki.h"
#include "tee/nitro.h"

namespace lucid::chain::testing {
namespace {

constexpr uint64_t kT0 = 1'780'000'000'000;  // genesis time, ms (2026)
constexpr uint64_t kHour = 3600ull * 1000;

Bytes Pcr(uint8_t fill) { return Bytes(tee::kPcrBytes, fill); }

Bytes PublicKey65(const PrivateKey& key) {
  const auto xy = key.PublicKey();
  Bytes k(65, 0x04);
  std::copy(xy.begin(), xy.end(), k.begin() + 1);
  return k;
}

Bytes KeyHash(const PrivateKey& key) {
  const Hash32 h = crypto::Sha256(PublicKey65(key));
  return Bytes(h.begin(), h.end());
}

tee::DevPki MakePki(std::string name = "lucid-dev") {
  tee::DevPkiOptions o;
  o.not_before_s = static_cast<int64_t>(kT0 / 1000) - 60;
  o.name = std::move(name);
  auto pki = tee::GenerateDevPki(o);
  EXPECT_TRUE(pki.ok()) << pki.status().ToString();
  return *pki;
}

class TeeSettlementTest : public ChainFixture {
 protected:
  void SetUp() override { Start(/*dev_mode=*/true); }

  void Start(bool dev_mode, bool with_dev_root = true) {
    dir_ = TempDir("teechain");
    Reopen();
    pki_ = MakePki();
    Genesis g = MakeGenesis(k_);
    g.genesis_time_ms = kT0;
    g.params.dev_mode = dev_mode;
    g.params.tee.admin = k_.bob.address();
    g.params.tee.allowed_pcr0 = {Pcr(0xa1)};
    if (dev_mode && with_dev_root) g.params.tee.dev_root_der = pki_.root_der;
    now_ = kT0;
    Status s = app_->InitChain(g);
    ASSERT_TRUE(s.ok()) << s.ToString();
    ASSERT_EQ(Run(SignTx(k_.publisher, 0, CreateRepoTx{"m", "", "classification", "MIT", {}})).code, TxCode::kOk);
    ASSERT_EQ(Run(SignTx(k_.publisher, 1, PublishVersionTx{"m", 1, 0, model_, 3, std::nullopt})).code, TxCode::kOk);
    ASSERT_EQ(Run(SignTx(k_.node, 0, RegisterNodeTx{1000, ModeBit(Mode::kVanilla) | ModeBit(Mode::kTee),
                                                    "http://node:8080"})).code,
              TxCode::kOk);
  }

  // One-tx block at now_ + step.
  TxResult RunAt(uint64_t step, Bytes tx) {
    now_ += step;
    AppInfo info = app_->Info();
    BlockInput in;
    in.height = info.height + 1;
    in.time_ms = now_;
    in.proposer = k_.validator.address();
    in.prev_hash = info.last_block_hash;
    in.txs = {std::move(tx)};
    auto fin = app_->FinalizeBlock(in);
    EXPECT_TRUE(fin.ok()) << fin.status().ToString();
    if (!fin.ok()) return {};
    Status s = app_->Commit(SignedHeader{fin->header, k_.validator.Sign(SigningDigest(fin->header.Hash()))});
    EXPECT_TRUE(s.ok()) << s.ToString();
    return fin->results.at(0);
  }
  TxResult Run(Bytes tx) { return RunAt(1000, std::move(tx)); }

  tee::NitroPayload Payload(const PrivateKey& enclave, uint64_t timestamp_ms, uint8_t pcr0 = 0xa1) {
    tee::NitroPayload p;
    p.timestamp_ms = timestamp_ms;
    p.pcrs = {{0, Pcr(pcr0)}, {1, Pcr(0xb2)}, {2, Pcr(0xc3)}, {3, Pcr(0)}, {4, Pcr(0x44)}};
    p.public_key = KeyHash(enclave);
    p.nonce = protocol::EnclaveNonce(k_.node.address());  // the registering node (required)
    return p;
  }
  Bytes Document(const tee::NitroPayload& p, const tee::DevPki* pki = nullptr) {
    auto doc = tee::BuildNitroDocument(pki ? *pki : pki_, p);
    EXPECT_TRUE(doc.ok()) << doc.status().ToString();
    return doc.ok() ? *doc : Bytes{};
  }
  // RegisterEnclave in the next block (1 s later), the document dated `age_ms` before it.
  TxResult Register(const PrivateKey& enclave, Bytes document, const PrivateKey* sender = nullptr) {
    const PrivateKey& from = sender ? *sender : k_.node;
    return Run(SignTx(from, NextNonce(from), RegisterEnclaveTx{PublicKey65(enclave), std::move(document)}));
  }
  TxResult RegisterFresh(const PrivateKey& enclave, uint8_t pcr0 = 0xa1) {
    return Register(enclave, Document(Payload(enclave, now_ + 1000 - 2000, pcr0)));
  }

  SubmitResultTx Result(uint64_t nonce, const PrivateKey& signer, uint8_t output = 1) {
    InferenceRequest req;
    req.chain_id = std::string(kChainId);
    req.requester = k_.alice.address();
    req.model = model_;
    req.mode = Mode::kTee;
    req.input_hash = crypto::Sha256(ToBytes("input"));
    req.max_fee = 100;
    req.nonce = nonce;
    req.node = k_.node.address();
    SubmitResultTx out;
    out.request = SignedRequest{req, k_.alice.Sign(SigningDigest(req.Hash()))};
    out.receipt.chain_id = req.chain_id;
    out.receipt.request_hash = req.Hash();
    out.receipt.model = req.model;
    out.receipt.input_hash = req.input_hash;
    out.receipt.output_hash = crypto::Sha256(Bytes{output});
    out.receipt.mode = Mode::kTee;
    out.receipt.node = k_.node.address();
    out.receipt.engine = "lucid-onnx/f32-canonical/1";
    out.receipt.fee = 7;
    out.evidence = verify::MakeTeeEvidence(out.receipt, signer);
    return out;
  }
  TxResult Submit(const SubmitResultTx& r, uint64_t step = 1000) {
    return RunAt(step, SignTx(k_.node, NextNonce(k_.node), r));
  }

  struct Balances {
    uint64_t alice, node, publisher;
    bool operator==(const Balances&) const = default;
  };
  // Balances of the parties a SubmitResult pays, excluding the node's tx fees.
  Balances Snapshot() { return {Balance(k_.alice), Balance(k_.node), Balance(k_.publisher)}; }

  // Expects a refusal with `code` whose log contains `reason`, with no balance or nonce change.
  void ExpectRefused(const std::function<TxResult()>& send, TxCode code, std::string_view reason) {
    const Balances before = Snapshot();
    const uint64_t node_nonce = NextNonce(k_.node);
    const auto enclave_before = app_->GetEnclave(k_.node.address());
    TxResult r = send();
    EXPECT_EQ(r.code, code) << TxCodeName(r.code) << ": " << r.log;
    EXPECT_NE(r.log.find(reason), std::string::npos) << "expected \"" << reason << "\" in: " << r.log;
    EXPECT_TRUE(Snapshot() == before);
    EXPECT_EQ(NextNonce(k_.node), node_nonce);
    const auto enclave_after = app_->GetEnclave(k_.node.address());
    EXPECT_EQ(enclave_after.ok(), enclave_before.ok());
    if (enclave_after.ok() && enclave_before.ok()) {
      EXPECT_EQ(EncodeEnclaveForTest(*enclave_after), EncodeEnclaveForTest(*enclave_before));
    }
  }
  static std::string EncodeEnclaveForTest(const EnclaveInfo& e) {
    return ToHex(e.public_key) + "/" + e.enclave_address.ToHex() + "/" + ToHex(e.pcr0) + "/" +
           std::to_string(e.registered_at_ms) + "/" + std::to_string(e.expires_at_ms);
  }

  tee::DevPki pki_;
  uint64_t now_ = kT0;
  Cid model_ = Cid::Of(ToBytes("tee model manifest"));
  PrivateKey enclave_a_ = PrivateKey::FromSeed("enclave A");
  PrivateKey enclave_b_ = PrivateKey::FromSeed("enclave B");
};

TEST_F(TeeSettlementTest, RegisterThenReceiptSettles) {
  TxResult reg = RegisterFresh(enclave_a_);
  ASSERT_EQ(reg.code, TxCode::kOk) << reg.log;
  auto e = app_->GetEnclave(k_.node.address());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->enclave_address, enclave_a_.address());
  EXPECT_EQ(e->pcr0, Pcr(0xa1));
  EXPECT_EQ(e->registered_at_ms, now_);
  EXPECT_EQ(e->expires_at_ms, now_ + kHour);
  EXPECT_EQ(e->public_key, PublicKey65(enclave_a_));

  const Balances before = Snapshot();
  TxResult r = Submit(Result(0, enclave_a_));
  ASSERT_EQ(r.code, TxCode::kOk) << r.log;
  ASSERT_TRUE(r.receipt_id.has_value());
  EXPECT_EQ(Balance(k_.alice), before.alice - 10);
  EXPECT_EQ(Balance(k_.publisher), before.publisher + 3);
  auto rec = app_->GetReceipt(*r.receipt_id);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->result.evidence.mode, Mode::kTee);

  // The registration is state: it survives a restart.
  Reopen();
  auto again = app_->GetEnclave(k_.node.address());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->enclave_address, enclave_a_.address());
}


// The document must name the registering node in its nonce: a document (public on chain once
// registered) cannot register its enclave key for another node, nor can one without a nonce.
TEST_F(TeeSettlementTest, DocumentMustNameTheRegisteringNode) {
  PrivateKey enclave = PrivateKey::FromSeed("enclave for another node");
  tee::NitroPayload p = Payload(enclave, now_ - 1000);
  p.nonce = protocol::EnclaveNonce(PrivateKey::FromSeed("some other node").address());
  TxResult other = Register(enclave, Document(p));
  EXPECT_EQ(other.code, TxCode::kBadAttestation) << other.log;
  EXPECT_NE(other.log.find("nonce"), std::string::npos) << other.log;
  p.nonce.reset();
  TxResult none = Register(enclave, Document(p));
  EXPECT_EQ(none.code, TxCode::kBadAttestation) << none.log;
  EXPECT_EQ(app_->GetEnclave(k_.node.address()).status().code(), Code::kNotFound);
}

TEST_F(TeeSettlementTest, MempoolChecksTheDocumentAtTheLastBlockTime) {
  const Bytes doc = Document(Payload(enclave_a_, now_ - 1000));
  Bytes flipped = doc;
  flipped[flipped.size() - 10] ^= 0x80;  // inside the COSE signature
  TxResult bad = app_->CheckTx(SignTx(k_.node, NextNonce(k_.node), RegisterEnclaveTx{PublicKey65(enclave_a_), flipped}));
  EXPECT_EQ(bad.code, TxCode::kBadAttestation) << bad.log;
  TxResult ok = app_->CheckTx(SignTx(k_.node, NextNonce(k_.node), RegisterEnclaveTx{PublicKey65(enclave_a_), doc}));
  EXPECT_EQ(ok.code, TxCode::kOk) << ok.log;
  EXPECT_FALSE(app_->GetEnclave(k_.node.address()).ok());  // CheckTx writes no committed state
}

TEST_F(TeeSettlementTest, DocumentForKeyAUsedToRegisterKeyB) {
  ExpectRefused([&] { return Register(enclave_b_, Document(Payload(enclave_a_, now_ - 1000))); },
                TxCode::kBadAttestation, "key binding");
}

TEST_F(TeeSettlementTest, TooOldDocumentRefused) {
  // Max document age is 5 min by default: a document 6 min old at block time is refused.
  ExpectRefused([&] { return Register(enclave_a_, Document(Payload(enclave_a_, now_ + 1000 - 6 * 60 * 1000))); },
                TxCode::kBadAttestation, "attestation document refused");
}

TEST_F(TeeSettlementTest, ExpiredLeafRefused) {
  // The dev leaf lives 3 hours from kT0 - 60 s; a block 4 hours later sees it expired even
  // with a fresh document timestamp.
  now_ += 4 * kHour;
  ExpectRefused([&] { return Register(enclave_a_, Document(Payload(enclave_a_, now_))); }, TxCode::kBadAttestation,
                "attestation document refused");
}

TEST_F(TeeSettlementTest, DisallowedMeasurementRefused) {
  ExpectRefused([&] { return RegisterFresh(enclave_a_, 0xee); }, TxCode::kMeasurementNotAllowed,
                "not an allowed measurement");
}

TEST_F(TeeSettlementTest, DebugModeDocumentRefused) {
  tee::NitroPayload p = Payload(enclave_a_, now_);
  p.pcrs[0] = Pcr(0);
  p.pcrs[1] = Pcr(0);
  p.pcrs[2] = Pcr(0);
  ExpectRefused([&] { return Register(enclave_a_, Document(p)); }, TxCode::kBadAttestation, "debug");
}

TEST_F(TeeSettlementTest, DocumentFromAnotherDevPkiRefused) {
  const tee::DevPki other = MakePki("other-dev");
  ExpectRefused([&] { return Register(enclave_a_, Document(Payload(enclave_a_, now_), &other)); },
                TxCode::kBadAttestation, "against the dev root");
}

TEST_F(TeeSettlementTest, FlippedByteAnywhereRefused) {
  const Bytes doc = Document(Payload(enclave_a_, now_ + 1000));
  ASSERT_FALSE(doc.empty());
  // Every 41st byte plus the first and last: header, payload fields, certificates, signature.
  std::vector<size_t> positions = {0, doc.size() - 1};
  for (size_t i = 1; i + 1 < doc.size(); i += 41) positions.push_back(i);
  for (size_t pos : positions) {
    Bytes bad = doc;
    bad[pos] ^= 0x01;
    SCOPED_TRACE("byte " + std::to_string(pos) + " of " + std::to_string(doc.size()));
    ExpectRefused([&] { return Register(enclave_a_, bad); }, TxCode::kBadAttestation, "attestation document");
  }
  // The untouched document registers.
  EXPECT_EQ(Register(enclave_a_, doc).code, TxCode::kOk);
}

TEST_F(TeeSettlementTest, KeyNotOnTheCurveRefused) {
  Bytes key = PublicKey65(enclave_a_);
  key[64] ^= 1;  // y no longer matches x
  const Hash32 h = crypto::Sha256(key);
  tee::NitroPayload p = Payload(enclave_a_, now_);
  p.public_key = Bytes(h.begin(), h.end());  // the document binds exactly these bytes
  ExpectRefused([&] { return Run(SignTx(k_.node, NextNonce(k_.node), RegisterEnclaveTx{key, Document(p)})); },
                TxCode::kInvalidField, "not a point on secp256k1");
}

TEST_F(TeeSettlementTest, OnlyATeeNodeMayRegister) {
  ExpectRefused([&] { return Register(enclave_a_, Document(Payload(enclave_a_, now_)), &k_.alice); },
                TxCode::kNodeNotRegistered, "not a registered node");
}

TEST_F(TeeSettlementTest, ReceiptSignedByUnregisteredKeyRefused) {
  // No registration at all.
  ExpectRefused([&] { return Submit(Result(0, enclave_a_)); }, TxCode::kBadEvidence, "no registered enclave");
  ASSERT_EQ(RegisterFresh(enclave_a_).code, TxCode::kOk);
  // Registered enclave A, receipt signed by B, and by the node's own key.
  ExpectRefused([&] { return Submit(Result(0, enclave_b_)); }, TxCode::kBadEvidence, "enclave signature recovers to");
  ExpectRefused([&] { return Submit(Result(0, k_.node)); }, TxCode::kBadEvidence, "enclave signature recovers to");
  // Evidence for another output than the receipt's.
  SubmitResultTx swapped = Result(0, enclave_a_, 1);
  swapped.evidence = Result(0, enclave_a_, 2).evidence;
  ExpectRefused([&] { return Submit(swapped); }, TxCode::kBadEvidence, "enclave signature");
  EXPECT_EQ(Submit(Result(0, enclave_a_)).code, TxCode::kOk);
}

TEST_F(TeeSettlementTest, ExpiredRegistrationRefusedUntilReattested) {
  ASSERT_EQ(RegisterFresh(enclave_a_).code, TxCode::kOk);
  const uint64_t expires = app_->GetEnclave(k_.node.address())->expires_at_ms;
  // One block just before expiry settles.
  EXPECT_EQ(Submit(Result(0, enclave_a_), expires - 1 - now_).code, TxCode::kOk);
  // A block at the expiry time refuses.
  ExpectRefused([&] { return Submit(Result(1, enclave_a_), expires - now_); }, TxCode::kBadEvidence, "expired");
  // Heartbeat: a new enclave key re-attests (within the leaf's life); the old key stays refused.
  ASSERT_EQ(RegisterFresh(enclave_b_).code, TxCode::kOk);
  EXPECT_EQ(app_->GetEnclave(k_.node.address())->enclave_address, enclave_b_.address());
  ExpectRefused([&] { return Submit(Result(1, enclave_a_)); }, TxCode::kBadEvidence, "enclave signature recovers to");
  EXPECT_EQ(Submit(Result(1, enclave_b_)).code, TxCode::kOk);
}

TEST_F(TeeSettlementTest, RevokedMeasurementStopsReceipts) {
  ASSERT_EQ(RegisterFresh(enclave_a_).code, TxCode::kOk);
  EXPECT_EQ(Submit(Result(0, enclave_a_)).code, TxCode::kOk);

  // Only the admin (bob) may change the params.
  UpdateTeeParamsTx revoke;
  revoke.remove_pcr0 = {Pcr(0xa1)};
  revoke.add_pcr0 = {Pcr(0xa2)};
  ExpectRefused([&] { return Run(SignTx(k_.alice, NextNonce(k_.alice), revoke)); }, TxCode::kUnauthorized,
                "not the tee admin");
  ExpectRefused([&] { return Run(SignTx(k_.node, NextNonce(k_.node), revoke)); }, TxCode::kUnauthorized,
                "not the tee admin");
  ASSERT_EQ(app_->GetTeeParams()->allowed_pcr0, std::vector<Bytes>{Pcr(0xa1)});

  TxResult up = Run(SignTx(k_.bob, NextNonce(k_.bob), revoke));
  ASSERT_EQ(up.code, TxCode::kOk) << up.log;
  EXPECT_EQ(app_->GetTeeParams()->allowed_pcr0, std::vector<Bytes>{Pcr(0xa2)});
  ExpectRefused([&] { return Submit(Result(1, enclave_a_)); }, TxCode::kBadEvidence, "revoked");
  // The revoked measurement cannot register again; the newly allowed one can.
  ExpectRefused([&] { return RegisterFresh(enclave_a_, 0xa1); }, TxCode::kMeasurementNotAllowed,
                "not an allowed measurement");
  ASSERT_EQ(RegisterFresh(enclave_b_, 0xa2).code, TxCode::kOk);
  EXPECT_EQ(Submit(Result(1, enclave_b_)).code, TxCode::kOk);

  // Heartbeat and document age updates; removing an unknown measurement is refused.
  UpdateTeeParamsTx times;
  times.heartbeat_ms = 10 * 60 * 1000;
  times.max_document_age_ms = 60 * 1000;
  ASSERT_EQ(Run(SignTx(k_.bob, NextNonce(k_.bob), times)).code, TxCode::kOk);
  EXPECT_EQ(app_->GetTeeParams()->heartbeat_ms, 10u * 60 * 1000);
  EXPECT_EQ(app_->GetTeeParams()->max_document_age_ms, 60u * 1000);
  UpdateTeeParamsTx unknown;
  unknown.remove_pcr0 = {Pcr(0x77)};
  EXPECT_EQ(Run(SignTx(k_.bob, NextNonce(k_.bob), unknown)).code, TxCode::kNotFound);
  UpdateTeeParamsTx zero;
  zero.heartbeat_ms = 0;
  EXPECT_EQ(Run(SignTx(k_.bob, NextNonce(k_.bob), zero)).code, TxCode::kInvalidField);
  // A document 2 minutes old is now too old.
  ExpectRefused([&] { return Register(enclave_a_, Document(Payload(enclave_a_, now_ - 2 * 60 * 1000, 0xa2))); },
                TxCode::kBadAttestation, "attestation document refused");
}

class TeeNonDevChainTest : public TeeSettlementTest {
 protected:
  void SetUp() override { Start(/*dev_mode=*/false); }
};

TEST_F(TeeNonDevChainTest, DevRootDocumentRefused) {
  // A non-dev chain trusts only the pinned AWS root: the dev document does not chain to it.
  ExpectRefused([&] { return RegisterFresh(enclave_a_); }, TxCode::kBadAttestation, "attestation document refused");
  EXPECT_EQ(app_->GetTeeParams()->dev_root_der, Bytes{});
}

TEST(TeeGenesisTest, DevRootOnlyInDevMode) {
  auto dir = TempDir("teegenesis");
  {
    auto store = store::KvStore::Open(dir.string());
    ASSERT_TRUE(store.ok());
    auto app = Application::Open(store->get());
    ASSERT_TRUE(app.ok());
    Keys k;
    Genesis g = MakeGenesis(k);
    g.params.dev_mode = false;
    g.params.tee.dev_root_der = MakePki().root_der;
    Status s = (*app)->InitChain(g);
    EXPECT_EQ(s.code(), Code::kPermissionDenied) << s.ToString();
    g.params.tee.dev_root_der.clear();
    g.params.tee.allowed_pcr0 = {Bytes(47, 1)};
    EXPECT_EQ((*app)->InitChain(g).code(), Code::kInvalidArgument);
  }
  std::filesystem::remove_all(dir);
}

TEST(TeeGenesisTest, GenesisRecordKeepsVersion1WithoutTeeParams) {
  Keys k;
  Genesis plain = MakeGenesis(k);
  EXPECT_EQ(EncodeGenesis(plain)[0], 1);
  Genesis with_tee = plain;
  with_tee.params.tee.admin = k.bob.address();
  with_tee.params.tee.allowed_pcr0 = {Bytes(48, 2), Bytes(48, 1)};
  const Bytes enc = EncodeGenesis(with_tee);
  EXPECT_EQ(enc[0], 2);
  auto back = DecodeGenesis(enc);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->params.tee.admin, with_tee.params.tee.admin);
  EXPECT_EQ(back->params.tee.allowed_pcr0, (std::vector<Bytes>{Bytes(48, 1), Bytes(48, 2)}));
  EXPECT_NE(GenesisAppHash(plain), GenesisAppHash(with_tee));
  Bytes trailing = enc;
  trailing.push_back(0);
  EXPECT_FALSE(DecodeGenesis(trailing).ok());
}

}  // namespace
}  // namespace lucid::chain::testing
