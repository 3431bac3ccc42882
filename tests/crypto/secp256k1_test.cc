#include "crypto/secp256k1.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "crypto/hash.h"

namespace lucid::crypto {
namespace {

Signature SigFromHex(std::string_view hex) {
  auto bytes = FromHex(hex);
  EXPECT_TRUE(bytes.ok());
  EXPECT_EQ(bytes->size(), 65u);
  Signature sig{};
  std::copy(bytes->begin(), bytes->end(), sig.begin());
  return sig;
}

Hash32 H(std::string_view hex) { return *Hash32FromHex(hex); }

// n - s, the malleable twin of a signature's s.
std::array<uint8_t, 32> NegateS(const uint8_t* s) {
  static constexpr std::array<uint8_t, 32> kOrder = {
      0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
      0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};
  std::array<uint8_t, 32> out{};
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int diff = kOrder[i] - s[i] - borrow;
    borrow = diff < 0;
    out[i] = static_cast<uint8_t>(diff + (borrow ? 256 : 0));
  }
  return out;
}

TEST(PrivateKeyTest, FromBytesRefusesZeroOrderAndWrongLength) {
  Bytes zero(32, 0);
  auto r = PrivateKey::FromBytes(zero);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  auto order = FromHex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141");
  EXPECT_FALSE(PrivateKey::FromBytes(*order).ok());
  auto above = FromHex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364142");
  EXPECT_FALSE(PrivateKey::FromBytes(*above).ok());
  auto max = FromHex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364140");
  EXPECT_TRUE(PrivateKey::FromBytes(*max).ok());
  EXPECT_FALSE(PrivateKey::FromBytes(Bytes(31, 1)).ok());
  EXPECT_FALSE(PrivateKey::FromBytes(Bytes(33, 1)).ok());
}

TEST(PrivateKeyTest, KnownAddressOfKeyOne) {
  Bytes one(32, 0);
  one[31] = 1;
  auto key = PrivateKey::FromBytes(one);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key->address().ToChecksumHex(), "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf");
  EXPECT_EQ(key->address().ToHex(), "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf");
  // Generator point G.
  EXPECT_EQ(ToHex(key->PublicKey()),
            "79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798"
            "483ada7726a3c4655da4fbfc0e1108a8fd17b448a68554199c47d08ffb10d4b8");
}

TEST(PrivateKeyTest, FromSeedIsSha256OfSeed) {
  PrivateKey key = PrivateKey::FromSeed("alice");
  EXPECT_EQ(key.secret(), Sha256(AsBytes("alice")));
  EXPECT_EQ(PrivateKey::FromSeed("alice").address(), key.address());
  EXPECT_NE(PrivateKey::FromSeed("bob").address(), key.address());
}

TEST(PrivateKeyTest, GenerateGivesDistinctWorkingKeys) {
  std::set<std::array<uint8_t, 32>> secrets;
  for (int i = 0; i < 8; ++i) {
    PrivateKey key = PrivateKey::Generate();
    EXPECT_TRUE(PrivateKey::FromBytes(key.secret()).ok());
    secrets.insert(key.secret());
  }
  EXPECT_EQ(secrets.size(), 8u);
}

TEST(AddressTest, HexRoundTripAndErrors) {
  Address a = PrivateKey::FromSeed("x").address();
  EXPECT_EQ(*Address::FromHex(a.ToHex()), a);
  EXPECT_EQ(*Address::FromHex(a.ToChecksumHex()), a);
  EXPECT_EQ(*Address::FromHex(a.ToHex().substr(2)), a);
  EXPECT_FALSE(Address::FromHex("0x1234").ok());
  EXPECT_FALSE(Address::FromHex(a.ToHex() + "00").ok());
  std::string bad = a.ToHex();
  bad[5] = 'g';
  auto r = Address::FromHex(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(bad), std::string::npos);
}

// EIP-55's own examples.
TEST(AddressTest, Eip55Examples) {
  for (const char* text : {"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359",
                           "0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB", "0xD1220A0cf47c7B9Be7A2E6BA89F429762e7b9aDb"}) {
    auto a = Address::FromHex(text);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->ToChecksumHex(), text);
  }
}

TEST(SignatureTest, SignRecoverRoundTripIsDeterministic) {
  PrivateKey key = PrivateKey::FromSeed("signer");
  Hash32 digest = Sha256(AsBytes("message"));
  Signature sig = key.Sign(digest);
  EXPECT_EQ(key.Sign(digest), sig);
  EXPECT_LE(sig[64], 1);
  auto addr = RecoverAddress(digest, sig);
  ASSERT_TRUE(addr.ok()) << addr.status().ToString();
  EXPECT_EQ(*addr, key.address());
  auto pub = RecoverPublicKey(digest, sig);
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(*pub, key.PublicKey());
}

TEST(SignatureTest, AcceptsV27And28) {
  PrivateKey key = PrivateKey::FromSeed("v");
  for (int i = 0; i < 6; ++i) {
    Hash32 digest = Sha256(Bytes{static_cast<uint8_t>(i)});
    Signature sig = key.Sign(digest);
    sig[64] = static_cast<uint8_t>(sig[64] + 27);
    auto addr = RecoverAddress(digest, sig);
    ASSERT_TRUE(addr.ok());
    EXPECT_EQ(*addr, key.address());
  }
}

TEST(SignatureTest, TamperedSignatureOrDigestIsRejected) {
  PrivateKey key = PrivateKey::FromSeed("tamper");
  Hash32 digest = Sha256(AsBytes("receipt"));
  Signature sig = key.Sign(digest);
  for (size_t pos : {0, 17, 31, 32, 50, 63}) {
    Signature bad = sig;
    bad[pos] ^= 0x01;
    auto addr = RecoverAddress(digest, bad);
    EXPECT_TRUE(!addr.ok() || *addr != key.address()) << "byte " << pos;
  }
  Signature flipped_v = sig;
  flipped_v[64] ^= 0x01;
  auto other = RecoverAddress(digest, flipped_v);
  EXPECT_TRUE(!other.ok() || *other != key.address());
  for (uint8_t v : {2, 3, 26, 29, 255}) {
    Signature bad_v = sig;
    bad_v[64] = v;
    auto r = RecoverAddress(digest, bad_v);
    ASSERT_FALSE(r.ok()) << int(v);
    EXPECT_NE(r.status().message().find("v must be"), std::string::npos);
  }
  Hash32 other_digest = digest;
  other_digest[0] ^= 0x80;
  auto wrong = RecoverAddress(other_digest, sig);
  EXPECT_TRUE(!wrong.ok() || *wrong != key.address());
}

TEST(SignatureTest, HighSIsRefused) {
  PrivateKey key = PrivateKey::FromSeed("malleable");
  for (int i = 0; i < 8; ++i) {
    Hash32 digest = Sha256(Bytes{static_cast<uint8_t>(i), 1});
    Signature sig = key.Sign(digest);
    // The twin (r, n - s, v ^ 1) is a mathematically valid signature by the same key.
    Signature twin = sig;
    auto high_s = NegateS(sig.data() + 32);
    std::copy(high_s.begin(), high_s.end(), twin.begin() + 32);
    twin[64] ^= 0x01;
    auto r = RecoverAddress(digest, twin);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("high s"), std::string::npos);
  }
}

TEST(SignatureTest, OutOfRangeOrZeroRIsAnError) {
  Hash32 digest = Sha256(AsBytes("x"));
  Signature zero{};
  EXPECT_FALSE(RecoverAddress(digest, zero).ok());
  Signature big_r{};
  std::fill(big_r.begin(), big_r.begin() + 32, 0xff);
  big_r[63] = 1;
  auto r = RecoverAddress(digest, big_r);
  ASSERT_FALSE(r.ok());
}

TEST(SignatureTest, ConcurrentSigningAgrees) {
  PrivateKey key = PrivateKey::FromSeed("threads");
  Hash32 digest = Sha256(AsBytes("same"));
  Signature expected = key.Sign(digest);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (key.Sign(digest) != expected) ++mismatches;
        auto a = RecoverAddress(digest, expected);
        if (!a.ok() || *a != key.address()) ++mismatches;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
}

// Vectors from eth-account (tools/vectors/eth_account_vectors.py).
TEST(EthAccountVectorsTest, AddressesAndSignaturesMatch) {
  std::ifstream in(std::string(LUCID_SOURCE_DIR) + "/tests/data/crypto/eth_account_vectors.json");
  ASSERT_TRUE(in.good());
  nlohmann::json doc = nlohmann::json::parse(in);
  ASSERT_GE(doc["keys"].size(), 8u);
  int checked = 0;
  for (const auto& entry : doc["keys"]) {
    auto secret = FromHex(entry["private_key"].get<std::string>());
    ASSERT_TRUE(secret.ok());
    auto key = PrivateKey::FromBytes(*secret);
    ASSERT_TRUE(key.ok());
    const std::string address = entry["address"];
    EXPECT_EQ(key->address().ToChecksumHex(), address);
    for (const auto& s : entry["signatures"]) {
      Hash32 hash = H(s["hash"].get<std::string>());
      Signature expected = SigFromHex(s["signature"].get<std::string>());
      EXPECT_EQ(ToHex(ByteView(key->Sign(hash))), ToHex(ByteView(expected)));
      auto recovered = RecoverAddress(hash, expected);
      ASSERT_TRUE(recovered.ok());
      EXPECT_EQ(recovered->ToChecksumHex(), address);

      // EIP-191 personal_sign over the 32 raw bytes.
      Bytes prefixed = ToBytes("\x19""Ethereum Signed Message:\n32");
      prefixed.insert(prefixed.end(), hash.begin(), hash.end());
      Hash32 personal_digest = Keccak256(prefixed);
      EXPECT_EQ(ToHex(personal_digest), s["personal_digest"].get<std::string>());
      Signature personal = SigFromHex(s["personal_signature"].get<std::string>());
      EXPECT_EQ(key->Sign(personal_digest), personal);
      auto personal_signer = RecoverAddress(personal_digest, personal);
      ASSERT_TRUE(personal_signer.ok());
      EXPECT_EQ(personal_signer->ToChecksumHex(), address);
      ++checked;
    }
  }
  EXPECT_GE(checked, 32);
}

}  // namespace
}  // namespace lucid::crypto

namespace lucid::crypto {
namespace {

TEST(PublicKeyTest, IsValidPublicKeyChecksTheCurve) {
  auto xy = PrivateKey::FromSeed("on curve").PublicKey();
  EXPECT_TRUE(IsValidPublicKey(xy));
  xy[63] ^= 1;
  EXPECT_FALSE(IsValidPublicKey(xy));
  EXPECT_FALSE(IsValidPublicKey(std::array<uint8_t, 64>{}));
}

}  // namespace
}  // namespace lucid::crypto
