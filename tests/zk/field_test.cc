#include "zk/field.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

namespace lucid::zk {
namespace {

constexpr uint64_t kP = Fp::kModulus;

// Reference arithmetic with the compiler's 128-bit %, independent of the field code.
uint64_t RefMul(uint64_t a, uint64_t b) { return static_cast<uint64_t>(static_cast<u128>(a) * b % kP); }
uint64_t RefAdd(uint64_t a, uint64_t b) { return static_cast<uint64_t>((static_cast<u128>(a) + b) % kP); }
uint64_t RefSub(uint64_t a, uint64_t b) { return static_cast<uint64_t>((static_cast<u128>(a) + kP - b) % kP); }

// Random canonical values, biased towards the edges where carries and borrows happen.
class FieldRng {
 public:
  explicit FieldRng(uint64_t seed) : rng_(seed) {}
  Fp Next() {
    static constexpr uint64_t kEdges[] = {0, 1, 2, kP - 1, kP - 2, 1ULL << 32, (1ULL << 32) - 1,
                                          (1ULL << 32) + 1, kP / 2, kP / 2 + 1, 1ULL << 63};
    if (rng_() % 8 == 0) return Fp::FromU64(kEdges[rng_() % std::size(kEdges)]);
    uint64_t v = rng_();
    while (v >= kP) v = rng_();
    return Fp::FromU64(v);
  }
  Fp2 Next2() { return Fp2(Next(), Next()); }

 private:
  std::mt19937_64 rng_;
};

TEST(FieldTest, MatchesReferenceArithmetic) {
  FieldRng rng(1);
  for (int i = 0; i < 100000; ++i) {
    const Fp a = rng.Next(), b = rng.Next();
    ASSERT_EQ((a * b).value(), RefMul(a.value(), b.value())) << a.value() << " " << b.value();
    ASSERT_EQ((a + b).value(), RefAdd(a.value(), b.value()));
    ASSERT_EQ((a - b).value(), RefSub(a.value(), b.value()));
    ASSERT_EQ((-a).value(), RefSub(0, a.value()));
    ASSERT_EQ(a.Square(), a * a);
    const Fp c = rng.Next(), d = rng.Next();
    ASSERT_EQ(Fp::SumOfProducts(a, b, c, d).value(),
              RefAdd(RefMul(a.value(), b.value()), RefMul(c.value(), d.value())));
    const uint32_t k = static_cast<uint32_t>(b.value());
    ASSERT_EQ(Fp::MulSmall(a, k).value(), RefMul(a.value(), k));
  }
  // The 129-bit carry of SumOfProducts: (p-1)^2 + (p-1)^2 > 2^128.
  const Fp m = Fp::FromU64(kP - 1);
  EXPECT_EQ(Fp::SumOfProducts(m, m, m, m), Fp::FromU64(2));
  EXPECT_EQ(Fp::MulSmall(m, 0xFFFFFFFFu).value(), RefMul(kP - 1, 0xFFFFFFFFu));
}

TEST(FieldTest, Reduce128CoversTheFullRange) {
  std::mt19937_64 rng(2);
  const u128 kEdges[] = {0, kP, static_cast<u128>(kP) * kP, ~u128{0}, ~u128{0} - 1,
                         static_cast<u128>(~0ULL) << 64, (static_cast<u128>(1) << 96) - 1,
                         static_cast<u128>(1) << 96};
  for (u128 x : kEdges) EXPECT_EQ(Fp::Reduce128(x), static_cast<uint64_t>(x % kP));
  for (int i = 0; i < 100000; ++i) {
    const u128 x = static_cast<u128>(rng()) << 64 | rng();
    ASSERT_EQ(Fp::Reduce128(x), static_cast<uint64_t>(x % kP));
  }
}

TEST(FieldTest, Axioms) {
  FieldRng rng(3);
  for (int i = 0; i < 20000; ++i) {
    const Fp a = rng.Next(), b = rng.Next(), c = rng.Next();
    ASSERT_EQ(a + b, b + a);
    ASSERT_EQ(a * b, b * a);
    ASSERT_EQ((a + b) + c, a + (b + c));
    ASSERT_EQ((a * b) * c, a * (b * c));
    ASSERT_EQ(a * (b + c), a * b + a * c);
    ASSERT_EQ(a + Fp::Zero(), a);
    ASSERT_EQ(a * Fp::One(), a);
    ASSERT_EQ(a + (-a), Fp::Zero());
    ASSERT_EQ(a - b, a + (-b));
    if (!a.IsZero()) {
      ASSERT_EQ(a * a.Inverse(), Fp::One());
    }
  }
}

TEST(FieldTest, KnownValues) {
  const Fp p_minus_1 = Fp::FromU64(kP - 1);
  EXPECT_EQ(p_minus_1 * p_minus_1, Fp::One());  // (-1)^2
  EXPECT_EQ(p_minus_1 + Fp::One(), Fp::Zero());
  EXPECT_EQ(Fp::Zero() - Fp::One(), p_minus_1);
  EXPECT_EQ(Fp::FromU64(2).Inverse().value(), (kP + 1) / 2);
  EXPECT_EQ(Fp::FromU64(2).Inverse().value(), 0x7FFF'FFFF'8000'0001ULL);
  const Fp two32 = Fp::FromU64(1ULL << 32);
  EXPECT_EQ((two32 * two32).value(), (1ULL << 32) - 1);  // 2^64 = 2^32 - 1
  EXPECT_EQ(two32.Pow(3), p_minus_1);                    // 2^96 = -1
  EXPECT_EQ(two32.Pow(6), Fp::One());                    // 2^192 = 1
  EXPECT_EQ(Fp::Zero().Inverse(), Fp::Zero());
  EXPECT_EQ(Fp::One().Inverse(), Fp::One());
  EXPECT_EQ(p_minus_1.Inverse(), p_minus_1);
  EXPECT_EQ(Fp::FromU64(kP), Fp::Zero());
  EXPECT_EQ(Fp::FromU64(~0ULL).value(), (1ULL << 32) - 2);
  EXPECT_EQ(-Fp::Zero(), Fp::Zero());
  EXPECT_EQ(Fp::FromU64(3).Pow(0), Fp::One());
  EXPECT_EQ(Fp::FromU64(3).Pow(5).value(), 243u);
  // Fermat: a^(p-1) = 1.
  EXPECT_EQ(Fp::FromU64(123456789).Pow(kP - 1), Fp::One());
}

TEST(FieldTest, SignedEmbedding) {
  EXPECT_EQ(Fp::FromI64(-1).value(), kP - 1);
  EXPECT_EQ(Fp::FromI64(-5) + Fp::FromI64(5), Fp::Zero());
  EXPECT_EQ(Fp::FromI64(std::numeric_limits<int64_t>::min()).value(), kP - (1ULL << 63));
  EXPECT_EQ(Fp::FromI64(std::numeric_limits<int64_t>::max()).value(), (1ULL << 63) - 1);
  EXPECT_EQ(Fp::FromU64(kP - 1).ToSigned(), -1);
  const int64_t half = static_cast<int64_t>((kP - 1) / 2);
  EXPECT_EQ(Fp::FromU64((kP - 1) / 2).ToSigned(), half);
  EXPECT_EQ(Fp::FromU64((kP + 1) / 2).ToSigned(), -half);
  EXPECT_EQ(Fp::FromI64(-half).ToSigned(), -half);
  std::mt19937_64 rng(4);
  for (int i = 0; i < 10000; ++i) {
    int64_t x = static_cast<int64_t>(rng() >> (rng() % 64));
    if (x > half) x = half;
    if (rng() & 1) x = -x;
    ASSERT_EQ(Fp::FromI64(x).ToSigned(), x);
    // The embedding is a ring map on small values.
    const int64_t y = static_cast<int32_t>(rng());
    const int64_t z = static_cast<int32_t>(rng());
    ASSERT_EQ((Fp::FromI64(y) * Fp::FromI64(z)).ToSigned(), y * z);
    ASSERT_EQ((Fp::FromI64(y) - Fp::FromI64(z)).ToSigned(), y - z);
  }
}

TEST(FieldTest, BytesRoundTripAndRefuseNonCanonical) {
  FieldRng rng(5);
  for (int i = 0; i < 1000; ++i) {
    const Fp a = rng.Next();
    const auto bytes = a.ToBytes();
    auto back = Fp::FromBytes(bytes);
    ASSERT_TRUE(back.ok());
    ASSERT_EQ(*back, a);
    const Fp2 b = rng.Next2();
    auto back2 = Fp2::FromBytes(b.ToBytes());
    ASSERT_TRUE(back2.ok());
    ASSERT_EQ(*back2, b);
  }
  EXPECT_EQ(ToHex(Fp::FromU64(0x0102030405060708).ToBytes()), "0102030405060708");
  EXPECT_EQ(ToHex(Fp::FromU64(kP - 1).ToBytes()), "ffffffff00000000");
  // p itself, p + 1 and 2^64 - 1 are not canonical.
  for (uint64_t bad : {kP, kP + 1, uint64_t{~0ULL}}) {
    codec::Writer w;
    w.U64(bad);
    EXPECT_FALSE(Fp::FromBytes(w.bytes()).ok()) << bad;
    codec::Reader r(w.bytes());
    EXPECT_FALSE(ReadFp(r).ok()) << bad;
    Bytes two(16, 0);
    std::copy(w.bytes().begin(), w.bytes().end(), two.begin() + 8);  // bad c1
    EXPECT_FALSE(Fp2::FromBytes(two).ok());
    std::copy(w.bytes().begin(), w.bytes().end(), two.begin());  // bad c0
    EXPECT_FALSE(Fp2::FromBytes(two).ok());
  }
  EXPECT_FALSE(Fp::FromBytes(Bytes(7, 0)).ok());
  EXPECT_FALSE(Fp::FromBytes(Bytes(9, 0)).ok());
  EXPECT_FALSE(Fp2::FromBytes(Bytes(15, 0)).ok());
  codec::Writer w;
  WriteFp2(w, Fp2(Fp::FromU64(9), Fp::FromU64(kP - 1)));
  codec::Reader r(w.bytes());
  auto x = ReadFp2(r);
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(*x, Fp2(Fp::FromU64(9), Fp::FromU64(kP - 1)));
  EXPECT_TRUE(r.Finish().ok());
  codec::Reader truncated(ByteView(w.bytes()).first(12));
  EXPECT_FALSE(ReadFp2(truncated).ok());
}

TEST(FieldTest, SevenGeneratesTheMultiplicativeGroup) {
  // p - 1 = 2^32 * 3 * 5 * 17 * 257 * 65537.
  EXPECT_EQ(static_cast<u128>(1ULL << 32) * 3 * 5 * 17 * 257 * 65537, kP - 1);
  const Fp g = Fp::FromU64(Fp::kGenerator);
  for (uint64_t q : {2ULL, 3ULL, 5ULL, 17ULL, 257ULL, 65537ULL})
    EXPECT_NE(g.Pow((kP - 1) / q), Fp::One()) << q;
  // Non-residue (Euler's criterion): X^2 - 7 is irreducible, so Fp2 is a field.
  EXPECT_EQ(g.Pow((kP - 1) / 2), Fp::FromI64(-1));
}

TEST(FieldTest, RootsOfUnity) {
  const Fp w32 = RootOfUnity(32);
  EXPECT_EQ(w32.value(), 1753635133440165772ULL);
  EXPECT_EQ(w32, Fp::FromU64(7).Pow((kP - 1) >> 32));
  EXPECT_EQ(w32.Pow(1ULL << 32), Fp::One());
  EXPECT_EQ(w32.Pow(1ULL << 31), Fp::FromI64(-1));  // order exactly 2^32
  EXPECT_EQ(RootOfUnity(0), Fp::One());
  EXPECT_EQ(RootOfUnity(1), Fp::FromI64(-1));
  for (unsigned k = 1; k <= 32; ++k) {
    EXPECT_EQ(RootOfUnity(k).Square(), RootOfUnity(k - 1)) << k;
    EXPECT_EQ(RootOfUnity(k).Pow(1ULL << (k - 1)), Fp::FromI64(-1)) << k;
  }
  EXPECT_EQ(RootOfUnity(33), Fp::Zero());
}

TEST(FieldTest, ExtensionAxiomsAndInverse) {
  FieldRng rng(6);
  const Fp2 x(Fp::Zero(), Fp::One());
  EXPECT_EQ(x * x, Fp2::FromU64(7));
  EXPECT_EQ(x.Square(), Fp2::FromU64(7));
  for (int i = 0; i < 20000; ++i) {
    const Fp2 a = rng.Next2(), b = rng.Next2(), c = rng.Next2();
    ASSERT_EQ(a * b, b * a);
    ASSERT_EQ((a * b) * c, a * (b * c));
    ASSERT_EQ(a * (b + c), a * b + a * c);
    ASSERT_EQ(a.Square(), a * a);
    ASSERT_EQ(a - a, Fp2::Zero());
    ASSERT_EQ(a + (-a), Fp2::Zero());
    // Schoolbook product with X^2 = 7.
    const Fp seven = Fp::FromU64(7);
    ASSERT_EQ(a * b, Fp2(a.c0() * b.c0() + seven * a.c1() * b.c1(),
                         a.c0() * b.c1() + a.c1() * b.c0()));
    ASSERT_EQ(a * b.c0(), a * Fp2(b.c0()));
    ASSERT_EQ(a.Norm() * b.Norm(), (a * b).Norm());
    if (!a.IsZero()) {
      ASSERT_FALSE(a.Norm().IsZero());
      ASSERT_EQ(a * a.Inverse(), Fp2::One());
    }
  }
  EXPECT_EQ(Fp2::Zero().Inverse(), Fp2::Zero());
  // The embedding of Fp is a ring map.
  const Fp u = rng.Next(), v = rng.Next();
  EXPECT_EQ(Fp2(u) * Fp2(v), Fp2(u * v));
  EXPECT_EQ(Fp2(u) + Fp2(v), Fp2(u + v));
  EXPECT_EQ(Fp2(u).Inverse(), Fp2(u.Inverse()));
  // Fermat in Fp2: a^(|Fp2| - 1) = 1 with |Fp2| - 1 = (p - 1)(p + 1): check via two steps.
  const Fp2 a = rng.Next2();
  EXPECT_EQ(a.Pow(kP - 1).Pow(kP + 1), Fp2::One());
}

TEST(FieldTest, BatchInverse) {
  FieldRng rng(7);
  std::vector<Fp> xs(257);
  for (Fp& x : xs) x = rng.Next();
  xs[0] = xs[100] = xs[256] = Fp::Zero();
  std::vector<Fp> inv = xs;
  BatchInverse(inv);
  for (size_t i = 0; i < xs.size(); ++i) EXPECT_EQ(inv[i], xs[i].Inverse()) << i;
  std::vector<Fp2> ys(65);
  for (Fp2& y : ys) y = rng.Next2();
  ys[3] = Fp2::Zero();
  std::vector<Fp2> inv2 = ys;
  BatchInverse(inv2);
  for (size_t i = 0; i < ys.size(); ++i) EXPECT_EQ(inv2[i], ys[i].Inverse()) << i;
  std::vector<Fp> empty;
  BatchInverse(empty);
}

}  // namespace
}  // namespace lucid::zk
