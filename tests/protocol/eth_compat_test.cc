// Vectors from tools/vectors/protocol_vectors.py: an independent Python encoder (from
// docs/formats/protocol.md) and an eth-account personal_sign signature.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "protocol/types.h"

namespace lucid::protocol {
namespace {

nlohmann::json LoadVectors() {
  std::ifstream in(std::string(LUCID_SOURCE_DIR) + "/tests/data/protocol/eth_vectors.json");
  EXPECT_TRUE(in.good()) << "missing tests/data/protocol/eth_vectors.json";
  std::stringstream text;
  text << in.rdbuf();
  return nlohmann::json::parse(text.str());
}

Hash32 HashFromHex(const std::string& hex) {
  auto h = Hash32FromHex(hex);
  EXPECT_TRUE(h.ok()) << hex;
  return h.ok() ? *h : Hash32{};
}

struct Vector {
  SignedRequest signed_request;
  nlohmann::json json;
};

Vector BuildFromVectors() {
  Vector v;
  v.json = LoadVectors();
  const auto& r = v.json["request"];
  InferenceRequest& q = v.signed_request.request;
  q.chain_id = r["chain_id"].get<std::string>();
  q.requester = *Address::FromHex(r["requester"].get<std::string>());
  q.model.digest = HashFromHex(r["model_digest"].get<std::string>());
  q.mode = static_cast<Mode>(r["mode"].get<int>());
  q.input_hash = HashFromHex(r["input_hash"].get<std::string>());
  q.params = *FromHex(r["params"].get<std::string>());
  q.seed = r["seed"].get<uint64_t>();
  q.max_fee = r["max_fee"].get<uint64_t>();
  q.nonce = r["nonce"].get<uint64_t>();
  q.deadline_height = r["deadline_height"].get<uint64_t>();
  q.node = *Address::FromHex(r["node"].get<std::string>());
  Bytes sig = *FromHex(v.json["signature_eth"].get<std::string>());
  EXPECT_EQ(sig.size(), 65u);
  std::copy(sig.begin(), sig.end(), v.signed_request.signature.begin());
  return v;
}

TEST(EthCompatTest, PythonEncoderAgrees) {
  Vector v = BuildFromVectors();
  EXPECT_EQ(ToHex(v.signed_request.request.Encode()), v.json["request_encoding"].get<std::string>());
  EXPECT_EQ(ToHex(v.signed_request.request.Hash()), v.json["request_hash"].get<std::string>());
  EXPECT_EQ(ToHex(SigningDigest(v.signed_request.request.Hash())), v.json["signing_digest"].get<std::string>());
}

TEST(EthCompatTest, EthAccountSignatureVerifiesAsLucidSignature) {
  Vector v = BuildFromVectors();
  SignedRequest& s = v.signed_request;
  ASSERT_GE(s.signature[64], 27);
  s.signature[64] -= 27;  // wire form: recovery id 0/1
  ASSERT_TRUE(s.CheckSignature().ok()) << s.CheckSignature().ToString();
  auto back = SignedRequest::Decode(s.Encode());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->CheckSignature().ok());
  // The same key in Lucid gives the same address and a signature that verifies.
  auto key = crypto::PrivateKey::FromBytes(*FromHex(v.json["private_key"].get<std::string>()));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->address().ToHex(), v.json["address"].get<std::string>());
  // Tampering any byte of the request breaks it.
  s.request.nonce += 1;
  EXPECT_FALSE(s.CheckSignature().ok());
}

}  // namespace
}  // namespace lucid::protocol
