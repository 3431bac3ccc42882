#include "zk/multilinear.h"

#include <gtest/gtest.h>

#include <random>

namespace lucid::zk {
namespace {

class Rng {
 public:
  explicit Rng(uint64_t seed) : rng_(seed) {}
  Fp Base() { return Fp::FromU64(rng_()); }
  Fp2 Ext() { return Fp2(Base(), Base()); }
  std::vector<Fp> Bases(size_t n) {
    std::vector<Fp> v(n);
    for (Fp& x : v) x = Base();
    return v;
  }
  std::vector<Fp2> Exts(size_t n) {
    std::vector<Fp2> v(n);
    for (Fp2& x : v) x = Ext();
    return v;
  }

 private:
  std::mt19937_64 rng_;
};

// The definition: sum_b evals[b] prod_i (b_i ? x_i : 1 - x_i), variable i = bit i.
template <typename F>
Fp2 NaiveEvaluate(const std::vector<F>& evals, const std::vector<Fp2>& x) {
  Fp2 sum;
  for (size_t b = 0; b < evals.size(); ++b) {
    Fp2 w = Fp2::One();
    for (size_t i = 0; i < x.size(); ++i) w *= (b >> i & 1) ? x[i] : Fp2::One() - x[i];
    sum += w * Fp2(evals[b]);
  }
  return sum;
}

TEST(MultilinearTest, EvaluateMatchesTheDefinition) {
  Rng rng(1);
  for (unsigned n = 0; n <= 7; ++n) {
    const std::vector<Fp> base = rng.Bases(size_t{1} << n);
    const std::vector<Fp2> ext = rng.Exts(size_t{1} << n);
    const std::vector<Fp2> x = rng.Exts(n);
    auto a = EvaluateMultilinear(base, x);
    auto b = EvaluateMultilinear(ext, x);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, NaiveEvaluate(base, x)) << n;
    EXPECT_EQ(*b, NaiveEvaluate(ext, x)) << n;
    auto poly = Multilinear<Fp>::FromEvaluations(base);
    ASSERT_TRUE(poly.ok());
    EXPECT_EQ(poly->num_vars(), n);
    EXPECT_EQ(*poly->Evaluate(x), *a);
  }
}

TEST(MultilinearTest, TwoThreadsGiveTheSameValue) {
  Rng rng(6);
  const unsigned n = 15;  // above the two-thread threshold
  const std::vector<Fp> base = rng.Bases(size_t{1} << n);
  const std::vector<Fp2> ext = rng.Exts(size_t{1} << n);
  const std::vector<Fp2> x = rng.Exts(n);
  EXPECT_EQ(*EvaluateMultilinear(base, x, 2), *EvaluateMultilinear(base, x, 1));
  EXPECT_EQ(*EvaluateMultilinear(ext, x, 2), *EvaluateMultilinear(ext, x, 1));
  // Against the eq-table inner product, an independent route.
  const std::vector<Fp2> eq = *EqTable(x);
  Fp2 dot;
  for (size_t b = 0; b < base.size(); ++b) dot += eq[b] * base[b];
  EXPECT_EQ(*EvaluateMultilinear(base, x, 2), dot);
  EXPECT_FALSE(EvaluateMultilinear(base, std::span(x).first(n - 1), 2).ok());
}

TEST(MultilinearTest, VariableZeroIsTheLowBit) {
  // evals = e_1 (only index 1 = (x0=1, x1=0) is one): f = x0 (1 - x1).
  const std::vector<Fp> e1 = {Fp::Zero(), Fp::One(), Fp::Zero(), Fp::Zero()};
  const Fp2 r0 = Fp2::FromU64(5), r1 = Fp2::FromU64(11);
  const std::vector<Fp2> point = {r0, r1};
  EXPECT_EQ(*EvaluateMultilinear(e1, point), r0 * (Fp2::One() - r1));
}

TEST(MultilinearTest, BooleanPointsGiveTheTable) {
  Rng rng(2);
  const unsigned n = 5;
  const std::vector<Fp2> evals = rng.Exts(1 << n);
  for (size_t b = 0; b < evals.size(); ++b) {
    std::vector<Fp2> x(n);
    for (unsigned i = 0; i < n; ++i) x[i] = (b >> i & 1) ? Fp2::One() : Fp2::Zero();
    EXPECT_EQ(*EvaluateMultilinear(evals, x), evals[b]) << b;
  }
}

TEST(MultilinearTest, FoldFirstFixesVariableZero) {
  Rng rng(3);
  for (unsigned n = 1; n <= 6; ++n) {
    auto poly = Multilinear<Fp>::FromEvaluations(rng.Bases(size_t{1} << n));
    ASSERT_TRUE(poly.ok());
    const std::vector<Fp2> x = rng.Exts(n);
    auto folded = poly->FoldFirst(x[0]);
    ASSERT_TRUE(folded.ok());
    EXPECT_EQ(folded->num_vars(), n - 1);
    EXPECT_EQ(*folded->Evaluate(std::span(x).subspan(1)), *poly->Evaluate(x));
    // In place on Fp2: out aliases the first half of in.
    std::vector<Fp2> ext = rng.Exts(size_t{1} << n);
    std::vector<Fp2> copy = ext;
    FoldFirstVariable(std::span<const Fp2>(ext), x[0], std::span<Fp2>(ext).first(ext.size() / 2));
    ext.resize(ext.size() / 2);
    EXPECT_EQ(*EvaluateMultilinear(ext, std::span(x).subspan(1)), *EvaluateMultilinear(copy, x));
  }
  EXPECT_FALSE(Multilinear<Fp>().FoldFirst(Fp2::One()).ok());
}

TEST(MultilinearTest, EqTableAndEqEvaluate) {
  Rng rng(4);
  for (unsigned n = 0; n <= 6; ++n) {
    const std::vector<Fp2> r = rng.Exts(n);
    auto table = EqTable(r);
    ASSERT_TRUE(table.ok());
    ASSERT_EQ(table->size(), size_t{1} << n);
    Fp2 total;
    for (size_t b = 0; b < table->size(); ++b) {
      std::vector<Fp2> bits(n);
      for (unsigned i = 0; i < n; ++i) bits[i] = (b >> i & 1) ? Fp2::One() : Fp2::Zero();
      EXPECT_EQ((*table)[b], *EqEvaluate(r, bits)) << n << " " << b;
      total += (*table)[b];
    }
    EXPECT_EQ(total, Fp2::One());  // sum_b eq(r, b) = 1
    // f(r) = <evals, eq(r, .)>
    const std::vector<Fp> evals = rng.Bases(size_t{1} << n);
    Fp2 dot;
    for (size_t b = 0; b < evals.size(); ++b) dot += (*table)[b] * evals[b];
    EXPECT_EQ(dot, *EvaluateMultilinear(evals, r));
    // eq is symmetric and eq(r, r') at random points agrees with the table's MLE.
    const std::vector<Fp2> s = rng.Exts(n);
    EXPECT_EQ(*EqEvaluate(r, s), *EqEvaluate(s, r));
    EXPECT_EQ(*EqEvaluate(r, s), *EvaluateMultilinear(*table, s));
  }
  const std::vector<Fp2> two(2), three(3);
  EXPECT_FALSE(EqEvaluate(two, three).ok());
  EXPECT_FALSE(EqTable(std::vector<Fp2>(kMaxMultilinearVars + 1)).ok());
}

TEST(MultilinearTest, ExtensionPadsWithZeros) {
  Rng rng(5);
  const std::vector<Fp> v = rng.Bases(5);
  auto mle = Multilinear<Fp>::Extension(v);
  ASSERT_TRUE(mle.ok());
  EXPECT_EQ(mle->num_vars(), 3u);
  ASSERT_EQ(mle->evals().size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(mle->evals()[i], i < 5 ? v[i] : Fp::Zero());
  auto empty = Multilinear<Fp>::Extension(std::vector<Fp>{});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->num_vars(), 0u);
  EXPECT_EQ(*empty->Evaluate({}), Fp2::Zero());
  auto single = Multilinear<Fp2>::Extension(std::vector<Fp2>{Fp2::FromU64(9)});
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->num_vars(), 0u);
  EXPECT_EQ(*single->Evaluate({}), Fp2::FromU64(9));
}

TEST(MultilinearTest, RefusesBadShapes) {
  EXPECT_FALSE(Multilinear<Fp>::FromEvaluations({}).ok());
  EXPECT_FALSE(Multilinear<Fp>::FromEvaluations(std::vector<Fp>(3)).ok());
  EXPECT_FALSE(Multilinear<Fp2>::FromEvaluations(std::vector<Fp2>(12)).ok());
  auto poly = Multilinear<Fp>::FromEvaluations(std::vector<Fp>(8));
  ASSERT_TRUE(poly.ok());
  EXPECT_FALSE(poly->Evaluate(std::vector<Fp2>(2)).ok());
  EXPECT_FALSE(poly->Evaluate(std::vector<Fp2>(4)).ok());
  EXPECT_FALSE(EvaluateMultilinear(std::vector<Fp>(6), std::vector<Fp2>(3)).ok());
}

}  // namespace
}  // namespace lucid::zk
