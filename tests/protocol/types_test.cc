#include "protocol/types.h"

#include <gtest/gtest.h>

#include <functional>

#include "codec/codec.h"
#include "samples.h"

namespace lucid::protocol {
namespace {

using namespace testing;  // NOLINT: samples

// One encoded value and how to decode and check it.
struct Case {
  std::string name;
  Bytes encoding;
  // Decodes; returns the value's identity hash, or an error. When decode succeeds the
  // re-encoding must equal the input (one encoding per value).
  std::function<Result<Hash32>(ByteView)> decode;
  // For signed structures: Ok iff the decoded value's signature is valid.
  std::function<Status(ByteView)> check_signature;
};

template <typename T, typename IdFn>
Result<Hash32> DecodeCanonical(ByteView bytes, IdFn id) {
  ASSIGN_OR_RETURN(T value, T::Decode(bytes));
  if (value.Encode() != Bytes(bytes.begin(), bytes.end())) return Internal("re-encoding differs from input");
  return id(value);
}

Status HeaderSignature(const SignedHeader& h) {
  ASSIGN_OR_RETURN(Address signer, crypto::RecoverAddress(SigningDigest(h.header.Hash()), h.signature));
  if (signer != h.header.proposer) return PermissionDenied("not the proposer");
  return Status::Ok();
}

std::vector<Case> AllCases() {
  std::vector<Case> cases;
  cases.push_back({"request", SampleRequest().Encode(),
                   [](ByteView b) { return DecodeCanonical<InferenceRequest>(b, [](auto& v) { return v.Hash(); }); },
                   nullptr});
  cases.push_back({"signed_request", SampleSignedRequest().Encode(),
                   [](ByteView b) {
                     return DecodeCanonical<SignedRequest>(b, [](auto& v) { return v.request.Hash(); });
                   },
                   [](ByteView b) -> Status {
                     ASSIGN_OR_RETURN(auto v, SignedRequest::Decode(b));
                     return v.CheckSignature();
                   }});
  cases.push_back({"receipt", SampleReceipt().Encode(),
                   [](ByteView b) { return DecodeCanonical<Receipt>(b, [](auto& v) { return v.Id(); }); }, nullptr});
  cases.push_back({"evidence", SampleEvidence().Encode(),
                   [](ByteView b) {
                     return DecodeCanonical<Evidence>(b, [](auto& v) { return crypto::Sha256(v.Encode()); });
                   },
                   nullptr});
  const char* body_names[] = {"transfer",          "create_repo",     "publish_version", "register_node",
                              "submit_result",     "request_inference", "report_conflict", "challenge",
                              "challenge_vote",    "create_workflow", "post_data",       "announce_pins"};
  int index = 0;
  for (auto& body : SampleBodies()) {
    cases.push_back({std::string("tx_") + body_names[index++], SignedTx::Sign(SampleTx(body), RequesterKey()).Encode(),
                     [](ByteView b) { return DecodeCanonical<SignedTx>(b, [](auto& v) { return v.Hash(); }); },
                     [](ByteView b) -> Status {
                       ASSIGN_OR_RETURN(auto v, SignedTx::Decode(b));
                       return v.CheckSignature();
                     }});
  }
  cases.push_back({"header", SampleHeader().Encode(),
                   [](ByteView b) { return DecodeCanonical<BlockHeader>(b, [](auto& v) { return v.Hash(); }); },
                   nullptr});
  cases.push_back({"signed_header", SampleSignedHeader().Encode(),
                   [](ByteView b) {
                     return DecodeCanonical<SignedHeader>(b, [](auto& v) { return v.header.Hash(); });
                   },
                   [](ByteView b) -> Status {
                     ASSIGN_OR_RETURN(auto v, SignedHeader::Decode(b));
                     return HeaderSignature(v);
                   }});
  return cases;
}

TEST(ModeTest, NamesRoundTrip) {
  EXPECT_EQ(ModeName(Mode::kVanilla), "vanilla");
  EXPECT_EQ(ModeName(Mode::kTee), "tee");
  EXPECT_EQ(ModeName(Mode::kZkml), "zkml");
  EXPECT_EQ(ModeName(Mode::kReplay), "replay");
  for (Mode m : {Mode::kVanilla, Mode::kTee, Mode::kZkml, Mode::kReplay}) {
    auto back = ModeFromName(ModeName(m));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, m);
  }
  auto bad = ModeFromName("VANILLA");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("VANILLA"), std::string::npos);
}

TEST(SigningDigestTest, IsEip191PersonalSign) {
  Hash32 h{};
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint8_t>(i);
  Bytes message = ToBytes("\x19" "Ethereum Signed Message:\n32");
  message.insert(message.end(), h.begin(), h.end());
  EXPECT_EQ(SigningDigest(h), crypto::Keccak256(message));
  EXPECT_EQ(message.size(), 28u + 32u);
}

TEST(RoundTripTest, Request) {
  const InferenceRequest q = SampleRequest();
  auto back = InferenceRequest::Decode(q.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->chain_id, q.chain_id);
  EXPECT_EQ(back->requester, q.requester);
  EXPECT_EQ(back->model, q.model);
  EXPECT_EQ(back->mode, q.mode);
  EXPECT_EQ(back->input_hash, q.input_hash);
  EXPECT_EQ(back->params, q.params);
  EXPECT_EQ(back->seed, q.seed);
  EXPECT_EQ(back->max_fee, q.max_fee);
  EXPECT_EQ(back->nonce, q.nonce);
  EXPECT_EQ(back->deadline_height, q.deadline_height);
  EXPECT_EQ(back->node, q.node);
  EXPECT_EQ(back->Hash(), q.Hash());
  EXPECT_EQ(q.Encode()[0], kFormatVersion);
}

TEST(RoundTripTest, SignedRequestVerifies) {
  const SignedRequest s = SampleSignedRequest();
  auto back = SignedRequest::Decode(s.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->signature, s.signature);
  EXPECT_EQ(back->request.Hash(), s.request.Hash());
  EXPECT_TRUE(back->CheckSignature().ok()) << back->CheckSignature().ToString();
}

TEST(RoundTripTest, Receipt) {
  const Receipt c = SampleReceipt();
  auto back = Receipt::Decode(c.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->chain_id, c.chain_id);
  EXPECT_EQ(back->request_hash, c.request_hash);
  EXPECT_EQ(back->model, c.model);
  EXPECT_EQ(back->input_hash, c.input_hash);
  EXPECT_EQ(back->output_hash, c.output_hash);
  EXPECT_EQ(back->mode, c.mode);
  EXPECT_EQ(back->node, c.node);
  EXPECT_EQ(back->engine, c.engine);
  EXPECT_EQ(back->fee, c.fee);
  EXPECT_EQ(back->Id(), c.Id());
}

TEST(RoundTripTest, Evidence) {
  const Evidence e = SampleEvidence();
  auto back = Evidence::Decode(e.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->mode, e.mode);
  EXPECT_EQ(back->data, e.data);
}

TEST(RoundTripTest, EveryTxBody) {
  for (auto& body : SampleBodies()) {
    const SignedTx s = SignedTx::Sign(SampleTx(body), RequesterKey());
    ASSERT_TRUE(s.CheckSignature().ok()) << s.CheckSignature().ToString();
    auto back = SignedTx::Decode(s.Encode());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->tx.type(), s.tx.type());
    EXPECT_EQ(back->tx.body.index(), s.tx.body.index());
    EXPECT_EQ(back->tx.chain_id, s.tx.chain_id);
    EXPECT_EQ(back->tx.from, s.tx.from);
    EXPECT_EQ(back->tx.nonce, s.tx.nonce);
    EXPECT_EQ(back->tx.max_tx_fee, s.tx.max_tx_fee);
    EXPECT_EQ(back->tx.SigningHash(), s.tx.SigningHash());
    EXPECT_EQ(back->Hash(), s.Hash());
    EXPECT_EQ(back->Hash(), crypto::Sha256(s.Encode()));
    EXPECT_TRUE(back->CheckSignature().ok());
  }
}

TEST(RoundTripTest, TxBodyFields) {
  auto bodies = SampleBodies();
  auto back = SignedTx::Decode(SignedTx::Sign(SampleTx(bodies[1]), RequesterKey()).Encode());
  ASSERT_TRUE(back.ok());
  const auto& repo = std::get<CreateRepoTx>(back->tx.body);
  EXPECT_EQ(repo.name, "digits-mlp");
  EXPECT_EQ(repo.description, "# Digits\nA small MLP.");
  EXPECT_EQ(repo.task, "image-classification");
  EXPECT_EQ(repo.license, "MIT");
  EXPECT_EQ(repo.tags, (std::vector<std::string>{"onnx", "mnist"}));

  back = SignedTx::Decode(SignedTx::Sign(SampleTx(bodies[2]), RequesterKey()).Encode());
  ASSERT_TRUE(back.ok());
  const auto& publish = std::get<PublishVersionTx>(back->tx.body);
  EXPECT_EQ(publish.major, 1u);
  EXPECT_EQ(publish.minor, 2u);
  EXPECT_EQ(publish.manifest.digest, H("manifest"));
  EXPECT_EQ(publish.price, 10u);

  back = SignedTx::Decode(SignedTx::Sign(SampleTx(bodies[3]), RequesterKey()).Encode());
  ASSERT_TRUE(back.ok());
  const auto& node = std::get<RegisterNodeTx>(back->tx.body);
  EXPECT_EQ(node.stake, 1000000u);
  EXPECT_EQ(node.modes, ModeBit(Mode::kVanilla) | ModeBit(Mode::kTee));
  EXPECT_EQ(node.endpoint, "http://127.0.0.1:8700");

  back = SignedTx::Decode(SignedTx::Sign(SampleTx(bodies[4]), RequesterKey()).Encode());
  ASSERT_TRUE(back.ok());
  const auto& submit = std::get<SubmitResultTx>(back->tx.body);
  EXPECT_EQ(submit.request.Encode(), SampleSignedRequest().Encode());
  EXPECT_EQ(submit.receipt.Id(), SampleReceipt().Id());
  EXPECT_EQ(submit.evidence.data, SampleEvidence().data);
}

TEST(RoundTripTest, HeaderAndSignedHeader) {
  const SignedHeader s = SampleSignedHeader();
  auto back = SignedHeader::Decode(s.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->header.Hash(), s.header.Hash());
  EXPECT_EQ(back->header.height, 42u);
  EXPECT_EQ(back->header.time_ms, 1700000000123ull);
  EXPECT_EQ(back->header.receipts_root, H("receipts"));
  EXPECT_EQ(back->signature, s.signature);
  EXPECT_TRUE(HeaderSignature(*back).ok());
  auto plain = BlockHeader::Decode(s.header.Encode());
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->Hash(), s.header.Hash());
}

TEST(DecodeTest, EveryStrictPrefixFails) {
  for (const auto& c : AllCases()) {
    ASSERT_TRUE(c.decode(c.encoding).ok()) << c.name << ": " << c.decode(c.encoding).status().ToString();
    for (size_t n = 0; n < c.encoding.size(); ++n)
      EXPECT_FALSE(c.decode(ByteView(c.encoding.data(), n)).ok()) << c.name << " prefix " << n;
  }
}

TEST(DecodeTest, TrailingBytesRefused) {
  for (const auto& c : AllCases()) {
    Bytes longer = c.encoding;
    longer.push_back(0);
    auto r = c.decode(longer);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.status().message().find("trailing"), std::string::npos) << r.status().ToString();
  }
}

TEST(DecodeTest, SingleByteFlipFailsOrChangesIdentity) {
  for (const auto& c : AllCases()) {
    auto original = c.decode(c.encoding);
    ASSERT_TRUE(original.ok());
    for (size_t i = 0; i < c.encoding.size(); ++i) {
      for (uint8_t mask : {0x01, 0x80, 0xff}) {
        Bytes flipped = c.encoding;
        flipped[i] ^= mask;
        auto r = c.decode(flipped);
        if (!r.ok()) continue;
        if (c.check_signature) {
          // Any change to a signed structure breaks its signature.
          EXPECT_FALSE(c.check_signature(flipped).ok()) << c.name << " byte " << i << " mask " << int(mask);
        } else {
          EXPECT_NE(*r, *original) << c.name << " byte " << i << " mask " << int(mask);
        }
      }
    }
  }
}

TEST(DecodeTest, UnknownVersionRefused) {
  for (const auto& c : AllCases()) {
    Bytes bad = c.encoding;
    bad[0] = 2;
    auto r = c.decode(bad);
    ASSERT_FALSE(r.ok()) << c.name;
    EXPECT_NE(r.status().message().find("unknown format version 2"), std::string::npos) << r.status().ToString();
  }
}

TEST(DecodeTest, UnknownModeRefused) {
  for (uint8_t bad_mode : {0, 5, 255}) {
    InferenceRequest q = SampleRequest();
    q.mode = static_cast<Mode>(bad_mode);
    auto r = InferenceRequest::Decode(q.Encode());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("request.mode: unknown mode"), std::string::npos) << r.status().ToString();
    Evidence e{static_cast<Mode>(bad_mode), {}};
    EXPECT_FALSE(Evidence::Decode(e.Encode()).ok());
  }
}

TEST(DecodeTest, UnknownTxTypeRefused) {
  Bytes enc = SignedTx::Sign(SampleTx(SampleBodies()[0]), RequesterKey()).Encode();
  // Type byte follows version, chain id (4 + 10), from (20), nonce, max_tx_fee.
  const size_t type_offset = 1 + 4 + 10 + 20 + 8 + 8;
  ASSERT_EQ(enc[type_offset], static_cast<uint8_t>(TxType::kTransfer));
  for (uint8_t bad : {0, 15, 200}) {
    enc[type_offset] = bad;
    auto r = SignedTx::Decode(enc);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("unknown transaction type"), std::string::npos) << r.status().ToString();
  }
}

TEST(DecodeTest, UnknownModeBitsRefused) {
  RegisterNodeTx body{1, ModeBit(Mode::kVanilla) | (1u << 9), "http://x"};
  auto r = SignedTx::Decode(SignedTx::Sign(SampleTx(body), RequesterKey()).Encode());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("unknown mode bits"), std::string::npos) << r.status().ToString();
  body.modes = 1;  // bit 0 names no mode
  EXPECT_FALSE(SignedTx::Decode(SignedTx::Sign(SampleTx(body), RequesterKey()).Encode()).ok());
}

TEST(DecodeTest, EthereumStyleRecoveryIdRefusedOnWire) {
  SignedRequest s = SampleSignedRequest();
  s.signature[64] += 27;
  EXPECT_TRUE(s.CheckSignature().ok());  // in memory the signature is still good
  auto r = SignedRequest::Decode(s.Encode());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("recovery id"), std::string::npos) << r.status().ToString();
}

TEST(DecodeTest, OversizeFieldsRefused) {
  InferenceRequest q = SampleRequest();
  q.chain_id = std::string(65, 'c');
  auto r = InferenceRequest::Decode(q.Encode());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kOutOfRange);
  EXPECT_NE(r.status().message().find("request.chain_id"), std::string::npos) << r.status().ToString();

  CreateRepoTx repo{"r", "", "", "", std::vector<std::string>(33, "t")};
  auto t = SignedTx::Decode(SignedTx::Sign(SampleTx(repo), RequesterKey()).Encode());
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("create_repo.tags"), std::string::npos) << t.status().ToString();

  Receipt c = SampleReceipt();
  c.engine = std::string(129, 'e');
  EXPECT_EQ(Receipt::Decode(c.Encode()).status().code(), Code::kOutOfRange);

  // A length prefix claiming more than the input holds fails without allocating it.
  Bytes huge = {kFormatVersion, 0x7f, 0xff, 0xff, 0xff};
  EXPECT_FALSE(InferenceRequest::Decode(huge).ok());
}

TEST(DecodeTest, AnnouncePinsRoundTripAndLimits) {
  AnnouncePinsTx body{"12D3KooWSamplePeer0123", "https://hub.example/api", {}, {}, false};
  for (size_t i = 0; i < kMaxPinChangesPerTx; ++i) body.pin.push_back(Cid{H("pin " + std::to_string(i))});
  body.unpin = {Cid{H("b")}, Cid{H("a")}, Cid{H("b")}};  // order and repeats kept: execution judges them
  const SignedTx s = SignedTx::Sign(SampleTx(body), RequesterKey());
  auto back = SignedTx::Decode(s.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->tx.type(), TxType::kAnnouncePins);
  EXPECT_EQ(static_cast<uint8_t>(TxType::kAnnouncePins), 14);
  const auto& got = std::get<AnnouncePinsTx>(back->tx.body);
  EXPECT_EQ(got.ipfs_peer, body.ipfs_peer);
  EXPECT_EQ(got.endpoint, body.endpoint);
  EXPECT_EQ(got.pin, body.pin);
  EXPECT_EQ(got.unpin, body.unpin);
  EXPECT_FALSE(got.retire);
  EXPECT_EQ(back->Encode(), s.Encode());
  EXPECT_TRUE(back->CheckSignature().ok());
  AnnouncePinsTx retire{"", "", {}, {}, true};
  auto r = SignedTx::Decode(SignedTx::Sign(SampleTx(retire), RequesterKey()).Encode());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(std::get<AnnouncePinsTx>(r->tx.body).retire);
  EXPECT_TRUE(std::get<AnnouncePinsTx>(r->tx.body).pin.empty());

  // Over the limits: refused at decode, naming the field.
  auto refused = [&](AnnouncePinsTx b, std::string_view field) {
    auto d = SignedTx::Decode(SignedTx::Sign(SampleTx(std::move(b)), RequesterKey()).Encode());
    ASSERT_FALSE(d.ok()) << field;
    EXPECT_EQ(d.status().code(), Code::kOutOfRange) << d.status().ToString();
    EXPECT_NE(d.status().message().find(field), std::string::npos) << d.status().ToString();
  };
  AnnouncePinsTx big = body;
  big.pin.push_back(Cid{H("one too many")});
  refused(big, "announce_pins.pin");
  big = body;
  big.unpin = big.pin;
  big.unpin.push_back(Cid{H("one too many")});
  refused(big, "announce_pins.unpin");
  big = body;
  big.ipfs_peer = std::string(kMaxIpfsPeerBytes + 1, 'Q');
  refused(big, "announce_pins.ipfs_peer");
  big = body;
  big.endpoint = "http://" + std::string(kMaxHubEndpointBytes, 'e');
  refused(big, "announce_pins.endpoint");
  // At the limits exactly: accepted.
  AnnouncePinsTx full = body;
  full.unpin = full.pin;
  full.ipfs_peer = std::string(kMaxIpfsPeerBytes, 'Q');
  full.endpoint = std::string(kMaxHubEndpointBytes, 'e');
  EXPECT_TRUE(SignedTx::Decode(SignedTx::Sign(SampleTx(full), RequesterKey()).Encode()).ok());
  // A retire byte other than 0 or 1 is refused.
  Bytes enc = SignedTx::Sign(SampleTx(retire), RequesterKey()).Encode();
  const size_t retire_offset = enc.size() - 65 - 1;  // the body's last byte, before the signature
  ASSERT_EQ(enc[retire_offset], 1);
  enc[retire_offset] = 2;
  EXPECT_FALSE(SignedTx::Decode(enc).ok());
}

TEST(DecodeTest, DuplicateTagsKeptInOrder) {
  CreateRepoTx repo{"r", "", "", "", {"b", "a", "b"}};
  auto t = SignedTx::Decode(SignedTx::Sign(SampleTx(repo), RequesterKey()).Encode());
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(std::get<CreateRepoTx>(t->tx.body).tags, (std::vector<std::string>{"b", "a", "b"}));
}

TEST(SignatureTest, RequestTamperOfAnyFieldFails) {
  std::vector<std::pair<std::string, std::function<void(InferenceRequest&)>>> tampers = {
      {"chain_id", [](auto& q) { q.chain_id += "x"; }},
      {"requester", [](auto& q) { q.requester.bytes[0] ^= 1; }},
      {"model", [](auto& q) { q.model.digest[31] ^= 1; }},
      {"mode", [](auto& q) { q.mode = Mode::kTee; }},
      {"input_hash", [](auto& q) { q.input_hash[0] ^= 1; }},
      {"params", [](auto& q) { q.params.push_back(0); }},
      {"seed", [](auto& q) { q.seed ^= 1; }},
      {"max_fee", [](auto& q) { q.max_fee += 1; }},
      {"nonce", [](auto& q) { q.nonce += 1; }},
      {"deadline_height", [](auto& q) { q.deadline_height += 1; }},
      {"node", [](auto& q) { q.node.bytes[19] ^= 1; }},
  };
  for (auto& [field, tamper] : tampers) {
    SignedRequest s = SampleSignedRequest();
    ASSERT_TRUE(s.CheckSignature().ok());
    tamper(s.request);
    Status st = s.CheckSignature();
    EXPECT_FALSE(st.ok()) << field;
    EXPECT_EQ(st.code(), Code::kPermissionDenied) << field << ": " << st.ToString();
  }
  for (size_t i = 0; i < 65; ++i) {
    SignedRequest s = SampleSignedRequest();
    s.signature[i] ^= 1;
    EXPECT_FALSE(s.CheckSignature().ok()) << "signature byte " << i;
  }
}

TEST(SignatureTest, TxTamperOfAnyFieldFails) {
  using Tamper = std::function<void(Tx&)>;
  std::vector<std::pair<std::string, Tamper>> tampers = {
      {"chain_id", [](Tx& t) { t.chain_id = "other"; }},
      {"from", [](Tx& t) { t.from.bytes[5] ^= 1; }},
      {"nonce", [](Tx& t) { t.nonce += 1; }},
      {"max_tx_fee", [](Tx& t) { t.max_tx_fee += 1; }},
      {"transfer.to", [](Tx& t) { std::get<TransferTx>(t.body).to.bytes[0] ^= 1; }},
      {"transfer.amount", [](Tx& t) { std::get<TransferTx>(t.body).amount += 1; }},
      {"create_repo.name", [](Tx& t) { std::get<CreateRepoTx>(t.body).name += "x"; }},
      {"create_repo.description", [](Tx& t) { std::get<CreateRepoTx>(t.body).description += "x"; }},
      {"create_repo.task", [](Tx& t) { std::get<CreateRepoTx>(t.body).task += "x"; }},
      {"create_repo.license", [](Tx& t) { std::get<CreateRepoTx>(t.body).license = "GPL"; }},
      {"create_repo.tags", [](Tx& t) { std::swap(std::get<CreateRepoTx>(t.body).tags[0],
                                                 std::get<CreateRepoTx>(t.body).tags[1]); }},
      {"publish.name", [](Tx& t) { std::get<PublishVersionTx>(t.body).name += "x"; }},
      {"publish.major", [](Tx& t) { std::get<PublishVersionTx>(t.body).major += 1; }},
      {"publish.minor", [](Tx& t) { std::get<PublishVersionTx>(t.body).minor += 1; }},
      {"publish.manifest", [](Tx& t) { std::get<PublishVersionTx>(t.body).manifest.digest[0] ^= 1; }},
      {"publish.price", [](Tx& t) { std::get<PublishVersionTx>(t.body).price += 1; }},
      {"publish.zkml_commitment", [](Tx& t) { (*std::get<PublishVersionTx>(t.body).zkml_commitment)[0] ^= 1; }},
      {"publish.zkml_commitment dropped", [](Tx& t) { std::get<PublishVersionTx>(t.body).zkml_commitment.reset(); }},
      {"register.stake", [](Tx& t) { std::get<RegisterNodeTx>(t.body).stake -= 1; }},
      {"register.modes", [](Tx& t) { std::get<RegisterNodeTx>(t.body).modes ^= ModeBit(Mode::kZkml); }},
      {"register.endpoint", [](Tx& t) { std::get<RegisterNodeTx>(t.body).endpoint += "/"; }},
      {"submit.request", [](Tx& t) { std::get<SubmitResultTx>(t.body).request.request.max_fee += 1; }},
      {"submit.request_signature", [](Tx& t) { std::get<SubmitResultTx>(t.body).request.signature[3] ^= 1; }},
      {"submit.receipt", [](Tx& t) { std::get<SubmitResultTx>(t.body).receipt.output_hash[0] ^= 1; }},
      {"submit.evidence", [](Tx& t) { std::get<SubmitResultTx>(t.body).evidence.data[0] ^= 1; }},
  };
  for (auto& [field, tamper] : tampers) {
    bool applied = false;
    for (auto& body : SampleBodies()) {
      SignedTx s = SignedTx::Sign(SampleTx(body), RequesterKey());
      ASSERT_TRUE(s.CheckSignature().ok());
      const Hash32 before = s.Hash();
      try {
        tamper(s.tx);
      } catch (const std::bad_variant_access&) {
        continue;  // field of another body type
      }
      applied = true;
      EXPECT_FALSE(s.CheckSignature().ok()) << field;
      EXPECT_NE(s.Hash(), before) << field;
    }
    EXPECT_TRUE(applied) << field;
  }
  SignedTx s = SignedTx::Sign(SampleTx(SampleBodies()[0]), RequesterKey());
  s.signature[10] ^= 1;
  EXPECT_FALSE(s.CheckSignature().ok());
  // A valid signature by another key is refused too.
  s = SignedTx::Sign(SampleTx(SampleBodies()[0]), NodeKey());
  EXPECT_EQ(s.CheckSignature().code(), Code::kPermissionDenied);
}

TEST(HashTest, TagsSeparateDomains) {
  const Bytes enc = SampleRequest().Encode();
  EXPECT_EQ(SampleRequest().Hash(), crypto::TaggedSha256("lucid:request:v1", enc));
  EXPECT_EQ(SampleReceipt().Id(), crypto::TaggedSha256("lucid:receipt:v1", SampleReceipt().Encode()));
  const Tx tx = SampleTx(SampleBodies()[0]);
  EXPECT_EQ(tx.SigningHash(), crypto::TaggedSha256("lucid:tx:v1", tx.EncodeUnsigned()));
  EXPECT_EQ(SampleHeader().Hash(), crypto::TaggedSha256("lucid:block:v1", SampleHeader().Encode()));
  // Signed forms are the unsigned encoding followed by the 65-byte signature.
  const SignedTx stx = SignedTx::Sign(tx, RequesterKey());
  Bytes expected = tx.EncodeUnsigned();
  expected.insert(expected.end(), stx.signature.begin(), stx.signature.end());
  EXPECT_EQ(stx.Encode(), expected);
}

}  // namespace
}  // namespace lucid::protocol
