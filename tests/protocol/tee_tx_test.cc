// RegisterEnclaveTx and UpdateTeeParamsTx codecs: round trip, strict decoding.
#include <gtest/gtest.h>

#include "samples.h"

namespace lucid::protocol {
namespace {

using testing::RequesterKey;
using testing::SampleTx;

Bytes Key65() {
  const auto pub = crypto::PrivateKey::FromSeed("enclave").PublicKey();
  Bytes k(65, 0x04);
  std::copy(pub.begin(), pub.end(), k.begin() + 1);
  return k;
}

TEST(TeeTxTest, RegisterEnclaveRoundTrips) {
  RegisterEnclaveTx body{Key65(), Bytes{0x84, 1, 2, 3}};
  const SignedTx s = SignedTx::Sign(SampleTx(body), RequesterKey());
  EXPECT_EQ(s.tx.type(), TxType::kRegisterEnclave);
  auto back = SignedTx::Decode(s.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  const auto& b = std::get<RegisterEnclaveTx>(back->tx.body);
  EXPECT_EQ(b.enclave_public_key, body.enclave_public_key);
  EXPECT_EQ(b.attestation_document, body.attestation_document);
  EXPECT_EQ(back->Encode(), s.Encode());
  EXPECT_TRUE(back->CheckSignature().ok());
}

TEST(TeeTxTest, RegisterEnclaveKeyMustBeUncompressed65) {
  for (Bytes key : {Bytes(33, 0x02), Bytes(64, 0x01), Bytes{}}) {
    auto r = SignedTx::Decode(SignedTx::Sign(SampleTx(RegisterEnclaveTx{key, Bytes{1}}), RequesterKey()).Encode());
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("enclave_public_key"), std::string::npos) << r.status().ToString();
  }
  Bytes wrong_prefix = Key65();
  wrong_prefix[0] = 0x02;
  EXPECT_FALSE(
      SignedTx::Decode(SignedTx::Sign(SampleTx(RegisterEnclaveTx{wrong_prefix, Bytes{1}}), RequesterKey()).Encode())
          .ok());
}

TEST(TeeTxTest, RegisterEnclaveDocumentLimit) {
  RegisterEnclaveTx body{Key65(), Bytes(kMaxAttestationDocumentBytes + 1, 0x84)};
  auto r = SignedTx::Decode(SignedTx::Sign(SampleTx(body), RequesterKey()).Encode());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kOutOfRange) << r.status().ToString();
}

TEST(TeeTxTest, UpdateTeeParamsRoundTrips) {
  UpdateTeeParamsTx body;
  body.add_pcr0 = {Bytes(48, 0xaa), Bytes(48, 0xbb)};
  body.remove_pcr0 = {Bytes(48, 0xcc)};
  body.heartbeat_ms = 3600000;
  const SignedTx s = SignedTx::Sign(SampleTx(body), RequesterKey());
  EXPECT_EQ(s.tx.type(), TxType::kUpdateTeeParams);
  auto back = SignedTx::Decode(s.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  const auto& b = std::get<UpdateTeeParamsTx>(back->tx.body);
  EXPECT_EQ(b.add_pcr0, body.add_pcr0);
  EXPECT_EQ(b.remove_pcr0, body.remove_pcr0);
  EXPECT_EQ(b.heartbeat_ms, body.heartbeat_ms);
  EXPECT_FALSE(b.max_document_age_ms.has_value());
  EXPECT_EQ(back->Encode(), s.Encode());
}

TEST(TeeTxTest, UpdateTeeParamsStrict) {
  UpdateTeeParamsTx short_pcr;
  short_pcr.add_pcr0 = {Bytes(47, 1)};
  auto r = SignedTx::Decode(SignedTx::Sign(SampleTx(short_pcr), RequesterKey()).Encode());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("48 bytes"), std::string::npos) << r.status().ToString();

  UpdateTeeParamsTx too_many;
  too_many.remove_pcr0.assign(kMaxPcr0ChangesPerTx + 1, Bytes(48, 1));
  EXPECT_FALSE(SignedTx::Decode(SignedTx::Sign(SampleTx(too_many), RequesterKey()).Encode()).ok());

  // A bool other than 0/1 for the optional heartbeat is refused, as is a trailing byte.
  UpdateTeeParamsTx empty;
  Bytes enc = SignedTx::Sign(SampleTx(empty), RequesterKey()).Encode();
  const size_t flag = enc.size() - 65 - 2;  // heartbeat flag, then max age flag, then signature
  ASSERT_EQ(enc[flag], 0);
  enc[flag] = 2;
  EXPECT_FALSE(SignedTx::Decode(enc).ok());
}

}  // namespace
}  // namespace lucid::protocol
