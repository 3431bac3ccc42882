#include "zk/fraction_sum.h"

#include <gtest/gtest.h>

#include <random>

#include "zk/multilinear.h"

namespace lucid::zk {
namespace {

constexpr std::string_view kTag = "lucid:test:frac:v1";

Fp2 RandomFp2(std::mt19937_64& rng) { return Fp2(Fp::FromU64(rng()), Fp::FromU64(rng())); }

struct Leaves {
  std::vector<Fp2> p, q;
};

Leaves RandomLeaves(unsigned n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Leaves l;
  for (size_t i = 0; i < (size_t{1} << n); ++i) {
    l.p.push_back(Fp2::FromU64(rng() % 5));  // small numerators, like multiplicities
    l.q.push_back(RandomFp2(rng));
  }
  return l;
}

Bytes Encode(const FractionSumProof& proof) {
  codec::Writer w;
  proof.WriteTo(w);
  return w.Take();
}

Status VerifyBytes(ByteView bytes, unsigned n, const Leaves& leaves) {
  codec::Reader r(bytes);
  ASSIGN_OR_RETURN(FractionSumProof proof, FractionSumProof::ReadFrom(r, n));
  if (r.remaining() != 0) return InvalidArgument("trailing bytes");
  Transcript t(kTag);
  ASSIGN_OR_RETURN(FractionLeafClaim claim, VerifyFractionSum(n, proof, t));
  // The caller's leaf check, here against the leaves themselves.
  ASSIGN_OR_RETURN(Fp2 p, EvaluateMultilinear(std::span<const Fp2>(leaves.p), claim.point));
  ASSIGN_OR_RETURN(Fp2 q, EvaluateMultilinear(std::span<const Fp2>(leaves.q), claim.point));
  if (!(p == claim.p_value) || !(q == claim.q_value)) return InvalidArgument("leaf claim is false");
  return Status::Ok();
}

TEST(FractionSumTest, HonestProofsVerifyAndTheRootIsTheSum) {
  for (unsigned n = 1; n <= 10; ++n) {
    Leaves l = RandomLeaves(n, n);
    Transcript tp(kTag);
    auto out = ProveFractionSum(l.p, l.q, tp, n % 2 + 1);
    ASSERT_TRUE(out.ok()) << out.status().message();
    // P/Q equals the plain sum of fractions.
    Fp2 sum = Fp2::Zero();
    for (size_t i = 0; i < l.p.size(); ++i) sum += l.p[i] * l.q[i].Inverse();
    EXPECT_EQ(out->proof.root_p * out->proof.root_q.Inverse(), sum) << n;
    Transcript tv(kTag);
    auto claim = VerifyFractionSum(n, out->proof, tv);
    ASSERT_TRUE(claim.ok()) << claim.status().message();
    EXPECT_EQ(claim->point, out->claim.point);
    EXPECT_EQ(tp.state(), tv.state());
    EXPECT_TRUE(VerifyBytes(Encode(out->proof), n, l).ok()) << n;
  }
}

TEST(FractionSumTest, ProofDoesNotDependOnThreads) {
  Leaves l = RandomLeaves(12, 7);
  Transcript t1(kTag), t2(kTag);
  auto a = ProveFractionSum(l.p, l.q, t1, 1);
  auto b = ProveFractionSum(l.p, l.q, t2, 2);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(Encode(a->proof), Encode(b->proof));
}

TEST(FractionSumTest, EveryValueChangedIsRejected) {
  const unsigned n = 6;
  Leaves l = RandomLeaves(n, 3);
  Transcript tp(kTag);
  auto out = ProveFractionSum(l.p, l.q, tp);
  ASSERT_TRUE(out.ok());
  auto check = [&](FractionSumProof proof, const std::string& what) {
    EXPECT_FALSE(VerifyBytes(Encode(proof), n, l).ok()) << what;
  };
  {
    auto p = out->proof;
    p.root_p += Fp2::One();
    check(p, "root p");
    p = out->proof;
    p.root_q += Fp2::One();
    check(p, "root q");
  }
  for (size_t k = 0; k < n; ++k)
    for (size_t j = 0; j < 4; ++j) {
      auto p = out->proof;
      p.layers[k][j] += Fp2::One();
      check(p, "layer " + std::to_string(k) + " value " + std::to_string(j));
    }
  for (size_t k = 0; k + 1 < n; ++k) {
    auto p = out->proof;
    p.sumchecks[k].round_polys[0][1] += Fp2::One();
    check(p, "sumcheck " + std::to_string(k));
  }
}

TEST(FractionSumTest, ProofOfOtherLeavesFailsTheLeafCheck) {
  const unsigned n = 5;
  Leaves l = RandomLeaves(n, 11);
  Leaves other = l;
  other.q[17] += Fp2::One();  // one denominator differs
  Transcript tp(kTag);
  auto out = ProveFractionSum(other.p, other.q, tp);
  ASSERT_TRUE(out.ok());
  EXPECT_FALSE(VerifyBytes(Encode(out->proof), n, l).ok());
  EXPECT_TRUE(VerifyBytes(Encode(out->proof), n, other).ok());
}

TEST(FractionSumTest, RandomByteMutationsAreRejected) {
  const unsigned n = 5;
  Leaves l = RandomLeaves(n, 5);
  Transcript tp(kTag);
  auto out = ProveFractionSum(l.p, l.q, tp);
  ASSERT_TRUE(out.ok());
  Bytes good = Encode(out->proof);
  std::mt19937_64 rng(99);
  for (int i = 0; i < 1000; ++i) {
    Bytes bad = good;
    size_t at = rng() % bad.size();
    bad[at] ^= static_cast<uint8_t>(1 + rng() % 255);
    EXPECT_FALSE(VerifyBytes(bad, n, l).ok()) << "byte " << at;
  }
  EXPECT_FALSE(VerifyBytes(ByteView(good).subspan(0, good.size() - 1), n, l).ok());
}

TEST(FractionSumTest, BadShapesAreRefused) {
  std::vector<Fp2> three(3), four(4);
  Transcript t(kTag);
  EXPECT_FALSE(ProveFractionSum(three, three, t).ok());
  EXPECT_FALSE(ProveFractionSum(four, three, t).ok());
  FractionSumProof empty;
  EXPECT_FALSE(VerifyFractionSum(3, empty, t).ok());
  EXPECT_FALSE(VerifyFractionSum(0, empty, t).ok());
}

}  // namespace
}  // namespace lucid::zk
