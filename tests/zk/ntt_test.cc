#include "zk/ntt.h"

#include <gtest/gtest.h>

#include <random>

namespace lucid::zk {
namespace {

std::vector<Fp> RandomVector(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Fp> v(n);
  for (Fp& x : v) x = Fp::FromU64(rng());
  return v;
}

// Horner evaluation of the polynomial with coefficients c at x.
Fp EvalPoly(const std::vector<Fp>& c, Fp x) {
  Fp acc;
  for (size_t i = c.size(); i-- > 0;) acc = acc * x + c[i];
  return acc;
}

// O(n^2) DFT straight from the definition A[i] = sum_j a[j] w^(ij).
std::vector<Fp> NaiveDft(const std::vector<Fp>& a, Fp w) {
  std::vector<Fp> out(a.size());
  Fp wi = Fp::One();
  for (size_t i = 0; i < a.size(); ++i, wi *= w) out[i] = EvalPoly(a, wi);
  return out;
}

TEST(NttTest, MatchesNaiveDftForEverySmallSize) {
  for (unsigned k = 0; k <= 9; ++k) {
    const size_t n = size_t{1} << k;
    const std::vector<Fp> a = RandomVector(n, k);
    const std::vector<Fp> expect = NaiveDft(a, RootOfUnity(k));
    for (int threads : {1, 2}) {
      std::vector<Fp> got = a;
      ASSERT_TRUE(Ntt(got, threads).ok());
      ASSERT_EQ(got, expect) << "n=" << n << " threads=" << threads;
      ASSERT_TRUE(InverseNtt(got, threads).ok());
      ASSERT_EQ(got, a) << "n=" << n;
    }
  }
}

TEST(NttTest, LargeSizeThreadsAgreeAndMatchTheDefinition) {
  const unsigned k = 14;  // above the two-thread threshold
  const size_t n = size_t{1} << k;
  const std::vector<Fp> a = RandomVector(n, 99);
  std::vector<Fp> one = a, two = a;
  ASSERT_TRUE(Ntt(one, 1).ok());
  ASSERT_TRUE(Ntt(two, 2).ok());
  ASSERT_EQ(one, two);
  const Fp w = RootOfUnity(k);
  for (size_t i : {size_t{0}, size_t{1}, size_t{2}, n / 2 - 1, n / 2, n / 2 + 1, n - 1, size_t{12345}})
    EXPECT_EQ(one[i], EvalPoly(a, w.Pow(i))) << i;
  ASSERT_TRUE(InverseNtt(two, 2).ok());
  EXPECT_EQ(two, a);
}

TEST(NttTest, KnownTransforms) {
  // The transform of a delta at 0 is all ones; of a constant c it is (n c, 0, ..., 0).
  std::vector<Fp> delta(16);
  delta[0] = Fp::One();
  ASSERT_TRUE(Ntt(delta).ok());
  for (Fp x : delta) EXPECT_EQ(x, Fp::One());
  std::vector<Fp> constant(16, Fp::FromU64(3));
  ASSERT_TRUE(Ntt(constant).ok());
  EXPECT_EQ(constant[0], Fp::FromU64(48));
  for (size_t i = 1; i < 16; ++i) EXPECT_EQ(constant[i], Fp::Zero());
}

TEST(NttTest, RefusesBadSizes) {
  std::vector<Fp> v(6);
  EXPECT_FALSE(Ntt(v).ok());
  EXPECT_FALSE(InverseNtt(v).ok());
  std::vector<Fp> empty;
  EXPECT_FALSE(Ntt(empty).ok());
  std::vector<Fp> three(3);
  EXPECT_FALSE(InverseNtt(three).ok());
}

TEST(NttTest, ReedSolomonEvaluatesTheMessagePolynomial) {
  for (unsigned log_n : {0u, 1u, 3u, 6u}) {
    for (unsigned b : {0u, 1u, 2u, 3u}) {
      const std::vector<Fp> msg = RandomVector(size_t{1} << log_n, 7 * log_n + b);
      auto code = ReedSolomonEncode(msg, b, 2);
      ASSERT_TRUE(code.ok()) << code.status().ToString();
      ASSERT_EQ(code->size(), msg.size() << b);
      const Fp w = RootOfUnity(log_n + b);
      Fp x = Fp::One();
      for (size_t i = 0; i < code->size(); ++i, x *= w)
        ASSERT_EQ((*code)[i], EvalPoly(msg, x)) << "log_n=" << log_n << " b=" << b << " i=" << i;
      // Plain subgroup (no coset): position i * 2^b is the evaluation at w_n^i, i.e. the
      // message's own NTT.
      std::vector<Fp> ntt = msg;
      ASSERT_TRUE(Ntt(ntt).ok());
      for (size_t i = 0; i < msg.size(); ++i) ASSERT_EQ((*code)[i << b], ntt[i]);
    }
  }
}

TEST(NttTest, ReedSolomonEqualsTheNttOfThePaddedMessage) {
  // Sizes above the two-thread threshold; the encoder skips stages the plain NTT runs.
  for (unsigned b : {0u, 1u, 2u, 4u}) {
    const std::vector<Fp> msg = RandomVector(size_t{1} << 12, 40 + b);
    std::vector<Fp> padded(msg.size() << b);
    std::copy(msg.begin(), msg.end(), padded.begin());
    ASSERT_TRUE(Ntt(padded, 1).ok());
    for (int threads : {1, 2}) {
      auto code = ReedSolomonEncode(msg, b, threads);
      ASSERT_TRUE(code.ok());
      EXPECT_EQ(*code, padded) << "b=" << b << " threads=" << threads;
    }
  }
}

TEST(NttTest, ReedSolomonRefusesBadShapes) {
  EXPECT_FALSE(ReedSolomonEncode(std::vector<Fp>(3), 1).ok());
  EXPECT_FALSE(ReedSolomonEncode(std::vector<Fp>(), 1).ok());
  EXPECT_FALSE(ReedSolomonEncode(std::vector<Fp>(4), 23).ok());  // 2^25 > 2^24
  EXPECT_FALSE(ReedSolomonEncode(std::vector<Fp>(1), 25).ok());
  EXPECT_FALSE(ReedSolomonEncode(std::vector<Fp>(1), 1000).ok());
}

}  // namespace
}  // namespace lucid::zk
