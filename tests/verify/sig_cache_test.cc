// The signature cache (verify/sig_cache.h): same answers as a fresh recovery, hits only for the
// identical digest and signature bytes, bounded, and off at capacity 0.
#include "verify/sig_cache.h"

#include <gtest/gtest.h>

#include "crypto/hash.h"
#include "protocol/types.h"

namespace lucid::verify {
namespace {

struct CacheTest : ::testing::Test {
  void SetUp() override {
    capacity_ = SignatureCacheCapacity();
    SetSignatureCacheCapacity(0);  // empty it
    SetSignatureCacheCapacity(1 << 10);
  }
  void TearDown() override {
    SetSignatureCacheCapacity(0);
    SetSignatureCacheCapacity(capacity_);
  }
  size_t capacity_ = 0;
};

Hash32 Digest(int i) { return protocol::SigningDigest(crypto::Sha256(ToBytes("msg " + std::to_string(i)))); }

TEST_F(CacheTest, HitGivesTheSameAddressAsRecovery) {
  const auto key = crypto::PrivateKey::FromSeed("cache-signer");
  const Hash32 d = Digest(1);
  const crypto::Signature sig = key.Sign(d);
  const auto before = GetSignatureCacheStats();
  auto first = RecoverAddressCached(d, sig);
  auto second = RecoverAddressCached(d, sig);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, key.address());
  EXPECT_EQ(*second, key.address());
  EXPECT_EQ(*second, *crypto::RecoverAddress(d, sig));
  const auto after = GetSignatureCacheStats();
  EXPECT_EQ(after.misses - before.misses, 1u);
  EXPECT_EQ(after.hits - before.hits, 1u);
}

// After the genuine signature is cached, every tampered variant is still refused (or recovers
// to someone else), exactly as without the cache.
TEST_F(CacheTest, TamperedSignatureRefusedAfterGenuineCached) {
  const auto key = crypto::PrivateKey::FromSeed("cache-signer");
  const Hash32 h = crypto::Sha256(ToBytes("receipt id"));
  const crypto::Signature sig = key.Sign(protocol::SigningDigest(h));
  ASSERT_TRUE(CheckSignerCached(h, sig, key.address(), "node").ok());
  ASSERT_TRUE(CheckSignerCached(h, sig, key.address(), "node").ok());  // a hit
  for (size_t byte : {0u, 17u, 31u, 32u, 50u, 63u, 64u}) {
    crypto::Signature bad = sig;
    bad[byte] ^= byte == 64 ? 0x01 : 0x40;
    Status cached = CheckSignerCached(h, bad, key.address(), "node");
    Status fresh = protocol::CheckSigner(h, bad, key.address(), "node");
    EXPECT_FALSE(cached.ok()) << "byte " << byte;
    EXPECT_EQ(cached.ToString(), fresh.ToString()) << "byte " << byte;
    // and again, now that a tampered recovery may itself be cached
    EXPECT_FALSE(CheckSignerCached(h, bad, key.address(), "node").ok());
  }
  // The genuine signature over another digest is not a hit for the first one's answer.
  const Hash32 other = crypto::Sha256(ToBytes("another receipt id"));
  EXPECT_FALSE(CheckSignerCached(other, sig, key.address(), "node").ok());
  EXPECT_TRUE(CheckSignerCached(h, sig, key.address(), "node").ok());
  // The wrong expected signer is refused with CheckSigner's words.
  const auto stranger = crypto::PrivateKey::FromSeed("stranger");
  EXPECT_EQ(CheckSignerCached(h, sig, stranger.address(), "node").ToString(),
            protocol::CheckSigner(h, sig, stranger.address(), "node").ToString());
}

TEST_F(CacheTest, BoundedAndOffAtZero) {
  const auto key = crypto::PrivateKey::FromSeed("cache-signer");
  SetSignatureCacheCapacity(64);
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(RecoverAddressCached(Digest(i), key.Sign(Digest(i))).ok());
  EXPECT_LE(GetSignatureCacheStats().entries, 64u);
  SetSignatureCacheCapacity(0);
  EXPECT_EQ(GetSignatureCacheStats().entries, 0u);
  const auto before = GetSignatureCacheStats();
  for (int i = 0; i < 3; ++i) {
    auto a = RecoverAddressCached(Digest(1), key.Sign(Digest(1)));
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(*a, key.address());
  }
  EXPECT_EQ(GetSignatureCacheStats().hits, before.hits);
  EXPECT_EQ(GetSignatureCacheStats().entries, 0u);
}

TEST_F(CacheTest, InvalidSignaturesAreNotCached) {
  crypto::Signature zero{};
  EXPECT_FALSE(RecoverAddressCached(Digest(5), zero).ok());
  EXPECT_EQ(GetSignatureCacheStats().entries, 0u);
  EXPECT_FALSE(RecoverAddressCached(Digest(5), zero).ok());
}

}  // namespace
}  // namespace lucid::verify
