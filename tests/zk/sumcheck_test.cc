#include "zk/sumcheck.h"

#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "zk/multilinear.h"

namespace lucid::zk {
namespace {

constexpr std::string_view kTag = "lucid:test:sumcheck:v1";

// A sumcheck instance that owns its multilinears (some Fp, some Fp2).
struct Instance {
  VirtualPolynomial poly;
  std::vector<std::vector<Fp>> base;  // base[j] non-empty when f_j is an Fp multilinear
  std::vector<std::vector<Fp2>> ext;  // ext[j] otherwise

  std::vector<MultilinearRef> Refs() const {
    std::vector<MultilinearRef> refs;
    for (size_t j = 0; j < base.size(); ++j) {
      if (!base[j].empty()) {
        refs.emplace_back(std::span<const Fp>(base[j]));
      } else {
        refs.emplace_back(std::span<const Fp2>(ext[j]));
      }
    }
    return refs;
  }
  // f_j as Fp2 evaluations.
  std::vector<Fp2> Table(size_t j) const {
    if (base[j].empty()) return ext[j];
    std::vector<Fp2> out;
    for (Fp x : base[j]) out.emplace_back(x);
    return out;
  }
  // The sum straight from the definition.
  Fp2 BruteForceSum() const {
    Fp2 sum;
    const size_t size = size_t{1} << poly.num_vars;
    std::vector<std::vector<Fp2>> tables;
    for (size_t j = 0; j < base.size(); ++j) tables.push_back(Table(j));
    for (size_t b = 0; b < size; ++b)
      for (const ProductTerm& t : poly.terms) {
        Fp2 p = t.coeff;
        for (uint32_t j : t.factors) p *= tables[j][b];
        sum += p;
      }
    return sum;
  }
  std::vector<Fp2> ValuesAt(std::span<const Fp2> point) const {
    std::vector<Fp2> out;
    for (size_t j = 0; j < base.size(); ++j) out.push_back(*EvaluateMultilinear(Table(j), point));
    return out;
  }
};

// is_base[j] picks the field of f_j; terms are (coeff, factors).
Instance MakeInstance(unsigned num_vars, const std::vector<bool>& is_base,
                      const std::vector<std::vector<uint32_t>>& terms, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto fp = [&] { return Fp::FromU64(rng()); };
  Instance in;
  in.poly.num_vars = num_vars;
  in.poly.num_multilinears = is_base.size();
  const size_t size = size_t{1} << num_vars;
  for (bool b : is_base) {
    in.base.emplace_back();
    in.ext.emplace_back();
    for (size_t i = 0; i < size; ++i) {
      if (b) {
        in.base.back().push_back(fp());
      } else {
        in.ext.back().emplace_back(fp(), fp());
      }
    }
  }
  for (const auto& factors : terms) in.poly.terms.push_back({Fp2(fp(), fp()), factors});
  return in;
}

// Proves, checks the prover's outputs against the definition, verifies with a fresh
// transcript, and runs the caller's final check. Returns the proof.
SumcheckProof ProveAndVerify(const Instance& in, int threads = 2) {
  Transcript pt(kTag);
  pt.Absorb("statement", ToBytes("test"));
  const std::vector<MultilinearRef> refs = in.Refs();
  auto out = ProveSumcheck(in.poly, refs, pt, {threads});
  EXPECT_TRUE(out.ok()) << out.status().ToString();
  if (!out.ok()) return {};
  EXPECT_EQ(out->claimed_sum, in.BruteForceSum());
  EXPECT_EQ(out->final_values, in.ValuesAt(out->point));

  Transcript vt(kTag);
  vt.Absorb("statement", ToBytes("test"));
  auto sub = VerifySumcheck(in.poly.num_vars, in.poly.Degree(), out->claimed_sum, out->proof, vt);
  EXPECT_TRUE(sub.ok()) << sub.status().ToString();
  if (!sub.ok()) return out->proof;
  EXPECT_EQ(sub->point, out->point);
  EXPECT_EQ(*in.poly.Evaluate(out->final_values), sub->expected_value);
  EXPECT_EQ(vt.state(), pt.state());  // both sides end in the same transcript state
  return out->proof;
}

// The verifier side plus the caller's final check; returns false on any rejection.
bool Accepts(const Instance& in, Fp2 claim, const SumcheckProof& proof,
             std::span<const Fp2> final_values, unsigned degree) {
  Transcript vt(kTag);
  vt.Absorb("statement", ToBytes("test"));
  auto sub = VerifySumcheck(in.poly.num_vars, degree, claim, proof, vt);
  if (!sub.ok()) return false;
  auto value = in.poly.Evaluate(final_values);
  const bool equal = value.ok() && *value == sub->expected_value;
  EXPECT_EQ(sub->CheckFinal(in.poly, final_values).ok(), equal);
  return equal;
}

TEST(SumcheckTest, HonestProofsVerify) {
  // degree 1: c f
  ProveAndVerify(MakeInstance(6, {true}, {{0}}, 1));
  ProveAndVerify(MakeInstance(1, {false}, {{0}}, 2));
  // degree 2: c f g (the matrix-product shape), Fp and Fp2 inputs
  ProveAndVerify(MakeInstance(7, {true, true}, {{0, 1}}, 3));
  ProveAndVerify(MakeInstance(5, {false, false}, {{0, 1}}, 4));
  // degree 3: c eq f g
  ProveAndVerify(MakeInstance(6, {false, true, true}, {{0, 1, 2}}, 5));
  // mixed terms and fields, a repeated factor (f^2 h), degree 4 and 5
  ProveAndVerify(MakeInstance(6, {true, false, true}, {{0, 1}, {2}, {0, 0, 2}, {1, 2, 0, 1}}, 6));
  ProveAndVerify(MakeInstance(4, {true, true}, {{0, 1, 0, 1, 0}, {1}}, 7));
  // a multilinear no term uses still gets its final value
  ProveAndVerify(MakeInstance(3, {true, true, false}, {{0, 1}}, 8));
  // the largest degree, in every field combination, and a single variable
  const std::vector<uint32_t> sixteen = {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1};
  ProveAndVerify(MakeInstance(2, {true, true}, {sixteen}, 30));
  ProveAndVerify(MakeInstance(2, {false, false}, {sixteen}, 31));
  ProveAndVerify(MakeInstance(2, {true, false}, {sixteen, {1}}, 32));
  ProveAndVerify(MakeInstance(1, {true, false}, {{0, 1}, {0}}, 33));
}

TEST(SumcheckTest, ProofIndependentOfThreadCount) {
  // 2^14 points: the first rounds are above the two-thread threshold.
  const Instance in = MakeInstance(14, {true, false, true}, {{0, 1, 2}, {2, 2}, {0}}, 9);
  const SumcheckProof one = ProveAndVerify(in, 1);
  const SumcheckProof two = ProveAndVerify(in, 2);
  EXPECT_EQ(one.Encode(), two.Encode());
}

// The protocol as docs/zk.md and sumcheck.h describe it, run by a naive prover that can lie.
// tamper(round, g, true_claim) may change g before it is sent.
struct NaiveRun {
  Fp2 claim;
  SumcheckProof proof;
  std::vector<Fp2> point;
  std::vector<Fp2> final_values;
};
NaiveRun NaiveProve(const Instance& in, Fp2 claimed_sum,
                    const std::function<void(unsigned, std::vector<Fp2>&, Fp2)>& tamper) {
  const unsigned d = in.poly.Degree();
  std::vector<std::vector<Fp2>> tables;
  for (size_t j = 0; j < in.base.size(); ++j) tables.push_back(in.Table(j));
  Transcript t(kTag);
  t.Absorb("statement", ToBytes("test"));
  t.AbsorbU64("sumcheck/num_vars", in.poly.num_vars);
  t.AbsorbU64("sumcheck/degree", d);
  t.AbsorbFp2("sumcheck/claim", claimed_sum);
  NaiveRun run{claimed_sum, {}, {}, {}};
  Fp2 claim = claimed_sum;
  for (unsigned round = 0; round < in.poly.num_vars; ++round) {
    const size_t half = tables[0].size() / 2;
    std::vector<Fp2> g(d + 1);
    for (unsigned x = 0; x <= d; ++x) {
      const Fp2 tx = Fp2::FromU64(x);
      for (size_t b = 0; b < half; ++b)
        for (const ProductTerm& term : in.poly.terms) {
          Fp2 p = term.coeff;
          for (uint32_t j : term.factors) {
            const Fp2 lo = tables[j][2 * b], hi = tables[j][2 * b + 1];
            p *= lo + tx * (hi - lo);
          }
          g[x] += p;
        }
    }
    tamper(round, g, claim);
    t.AbsorbFp2("sumcheck/round", g);
    const Fp2 r = t.ChallengeFp2("sumcheck/challenge");
    claim = InterpolateAt(g, r);
    run.point.push_back(r);
    for (auto& table : tables) {
      std::vector<Fp2> next(half);
      for (size_t b = 0; b < half; ++b) next[b] = table[2 * b] + r * (table[2 * b + 1] - table[2 * b]);
      table = std::move(next);
    }
    run.proof.round_polys.push_back(std::move(g));
  }
  for (const auto& table : tables) run.final_values.push_back(table[0]);
  return run;
}

TEST(SumcheckTest, NaiveProverFollowingTheDocsMatchesTheLibrary) {
  const Instance in = MakeInstance(5, {true, false}, {{0, 1}, {1, 1, 0}}, 10);
  Transcript pt(kTag);
  pt.Absorb("statement", ToBytes("test"));
  auto out = ProveSumcheck(in.poly, in.Refs(), pt);
  ASSERT_TRUE(out.ok());
  const NaiveRun naive = NaiveProve(in, in.BruteForceSum(), [](unsigned, std::vector<Fp2>&, Fp2) {});
  EXPECT_EQ(naive.proof.Encode(), out->proof.Encode());
  EXPECT_EQ(naive.final_values, out->final_values);
  EXPECT_TRUE(Accepts(in, naive.claim, naive.proof, naive.final_values, in.poly.Degree()));
}

TEST(SumcheckTest, CheatingProversAreRejected) {
  const Instance in = MakeInstance(6, {true, false, true}, {{0, 1, 2}, {1}}, 11);
  const unsigned d = in.poly.Degree();
  const Fp2 sum = in.BruteForceSum();
  const Fp2 delta = Fp2(Fp::FromU64(1), Fp::FromU64(3));
  auto honest = [](unsigned, std::vector<Fp2>&, Fp2) {};

  // A wrong claim with honest round polynomials: round 0's check fails.
  {
    const NaiveRun run = NaiveProve(in, sum + delta, honest);
    EXPECT_FALSE(Accepts(in, sum + delta, run.proof, run.final_values, d));
  }
  // A wrong claim, round 0 shifted to match it, later rounds recomputed honestly from the
  // new challenges: round 1's check fails.
  {
    const NaiveRun run = NaiveProve(in, sum + delta, [&](unsigned round, std::vector<Fp2>& g, Fp2) {
      if (round == 0) g[0] += delta;
    });
    EXPECT_FALSE(Accepts(in, sum + delta, run.proof, run.final_values, d));
  }
  // An adaptive cheater: every round is shifted so that g(0) + g(1) equals the running
  // (false) claim, so every round check passes; the final evaluation check catches it.
  for (unsigned start : {0u, 3u, 5u}) {
    const Fp2 claimed = start == 0 ? sum + delta : sum;
    const NaiveRun run = NaiveProve(in, claimed, [&](unsigned round, std::vector<Fp2>& g, Fp2 claim) {
      if (round == start && start != 0) g[2] += delta;  // a lie about g(2) only
      if (round >= start) g[0] += claim - (g[0] + g[1]);
    });
    Transcript vt(kTag);
    vt.Absorb("statement", ToBytes("test"));
    auto sub = VerifySumcheck(in.poly.num_vars, d, claimed, run.proof, vt);
    ASSERT_TRUE(sub.ok()) << "the round checks cannot see this lie: " << sub.status().ToString();
    EXPECT_NE(*in.poly.Evaluate(run.final_values), sub->expected_value) << start;
    EXPECT_FALSE(Accepts(in, claimed, run.proof, run.final_values, d));
  }
  // Honest proof, but one wrong final evaluation.
  {
    const NaiveRun run = NaiveProve(in, sum, honest);
    ASSERT_TRUE(Accepts(in, sum, run.proof, run.final_values, d));
    for (size_t j = 0; j < run.final_values.size(); ++j) {
      std::vector<Fp2> bad = run.final_values;
      bad[j] += Fp2::One();
      EXPECT_FALSE(Accepts(in, sum, run.proof, bad, d)) << j;
    }
  }
  // Extra or missing values in a round, sent from the start (absorbed into the transcript,
  // later rounds computed from the resulting challenges): the count must be exact, even for
  // an extra value that lies on the same polynomial (the rest of this proof is then honest,
  // so only the count check can refuse it).
  {
    const NaiveRun run = NaiveProve(in, sum, honest);
    for (unsigned round : {0u, 2u, 5u}) {
      const NaiveRun extra = NaiveProve(in, sum, [&](unsigned r, std::vector<Fp2>& g, Fp2) {
        if (r == round) g.push_back(InterpolateAt(g, Fp2::FromU64(d + 1)));
      });
      EXPECT_FALSE(Accepts(in, sum, extra.proof, extra.final_values, d)) << round;
      // The same extended proof with the check done at degree d + 1 everywhere would need
      // every round extended; here only one is, so no degree makes it pass.
      EXPECT_FALSE(Accepts(in, sum, extra.proof, extra.final_values, d + 1)) << round;
      const NaiveRun missing = NaiveProve(in, sum, [&](unsigned r, std::vector<Fp2>& g, Fp2) {
        if (r == round) g.pop_back();
      });
      EXPECT_FALSE(Accepts(in, sum, missing.proof, missing.final_values, d)) << round;
      // Appended after the fact (transcript mismatch aside), also refused.
      SumcheckProof appended = run.proof;
      appended.round_polys[round].push_back(Fp2::Zero());
      EXPECT_FALSE(Accepts(in, sum, appended, run.final_values, d)) << round;
    }
    // A verifier that expects a different degree than the prover used.
    EXPECT_FALSE(Accepts(in, sum, run.proof, run.final_values, d + 1));
    EXPECT_FALSE(Accepts(in, sum, run.proof, run.final_values, d - 1));
    // Missing and extra rounds.
    SumcheckProof fewer = run.proof;
    fewer.round_polys.pop_back();
    EXPECT_FALSE(Accepts(in, sum, fewer, run.final_values, d));
    SumcheckProof more = run.proof;
    more.round_polys.push_back(more.round_polys.back());
    EXPECT_FALSE(Accepts(in, sum, more, run.final_values, d));
  }
  // A modified round polynomial with the later rounds recomputed honestly.
  for (unsigned round : {0u, 1u, 4u, 5u}) {
    const NaiveRun run = NaiveProve(in, sum, [&](unsigned r, std::vector<Fp2>& g, Fp2) {
      if (r == round) g[d] += delta;  // keeps g(0) + g(1), changes g elsewhere
    });
    EXPECT_FALSE(Accepts(in, sum, run.proof, run.final_values, d)) << round;
  }
}

TEST(SumcheckTest, TranscriptContextIsBound) {
  const Instance in = MakeInstance(5, {true, true}, {{0, 1}}, 12);
  Transcript pt(kTag);
  pt.Absorb("statement", ToBytes("test"));
  auto out = ProveSumcheck(in.poly, in.Refs(), pt);
  ASSERT_TRUE(out.ok());
  Transcript vt(kTag);
  vt.Absorb("statement", ToBytes("other"));
  auto sub = VerifySumcheck(in.poly.num_vars, 2, out->claimed_sum, out->proof, vt);
  // Different challenges: the round checks after round 0 fail.
  EXPECT_FALSE(sub.ok());
}

TEST(SumcheckTest, RandomByteMutationsAreRejected) {
  const Instance in = MakeInstance(8, {true, false, true}, {{0, 1, 2}, {1, 2}}, 13);
  Transcript pt(kTag);
  pt.Absorb("statement", ToBytes("test"));
  auto out = ProveSumcheck(in.poly, in.Refs(), pt);
  ASSERT_TRUE(out.ok());
  const Bytes good = out->proof.Encode();
  auto decoded = SumcheckProof::Decode(good);
  ASSERT_TRUE(decoded.ok());
  ASSERT_TRUE(Accepts(in, out->claimed_sum, *decoded, out->final_values, 3));

  std::mt19937_64 rng(14);
  int refused_by_decoder = 0, refused_by_verifier = 0;
  for (int i = 0; i < 3000; ++i) {
    Bytes bad = good;
    const size_t pos = rng() % bad.size();
    bad[pos] ^= static_cast<uint8_t>(1 + rng() % 255);
    auto proof = SumcheckProof::Decode(bad);
    if (!proof.ok()) {
      ++refused_by_decoder;
      continue;
    }
    ASSERT_FALSE(Accepts(in, out->claimed_sum, *proof, out->final_values, 3))
        << "mutation at byte " << pos << " accepted";
    ++refused_by_verifier;
  }
  EXPECT_GT(refused_by_decoder, 0);
  EXPECT_GT(refused_by_verifier, 1000);
  // Truncations and trailing bytes.
  for (size_t n = 0; n < good.size(); n += 7)
    EXPECT_FALSE(SumcheckProof::Decode(ByteView(good).first(n)).ok()) << n;
  Bytes longer = good;
  longer.push_back(0);
  EXPECT_FALSE(SumcheckProof::Decode(longer).ok());
}

TEST(SumcheckTest, DecoderRefusesOversizedShapes) {
  codec::Writer w;
  w.U8(SumcheckProof::kVersion);
  w.U32(SumcheckProof::kMaxRounds + 1);
  for (size_t i = 0; i <= SumcheckProof::kMaxRounds; ++i) w.U32(0);
  EXPECT_FALSE(SumcheckProof::Decode(w.bytes()).ok());
  codec::Writer w2;
  w2.U8(SumcheckProof::kVersion);
  w2.U32(1);
  w2.U32(kMaxSumcheckDegree + 2);
  for (unsigned i = 0; i < kMaxSumcheckDegree + 2; ++i) WriteFp2(w2, Fp2::One());
  EXPECT_FALSE(SumcheckProof::Decode(w2.bytes()).ok());
  codec::Writer w3;
  w3.U8(2);  // unknown version
  w3.U32(0);
  EXPECT_FALSE(SumcheckProof::Decode(w3.bytes()).ok());
  codec::Writer w4;
  w4.U8(SumcheckProof::kVersion);
  w4.U32(1);
  w4.U32(1);
  w4.U64(Fp::kModulus);  // non-canonical
  w4.U64(0);
  EXPECT_FALSE(SumcheckProof::Decode(w4.bytes()).ok());
  codec::Writer w5;
  w5.U8(SumcheckProof::kVersion);
  w5.U32(0xFFFFFFFF);  // a count the remaining bytes cannot hold
  EXPECT_FALSE(SumcheckProof::Decode(w5.bytes()).ok());
}

TEST(SumcheckTest, RefusesInvalidInstances) {
  Transcript t(kTag);
  const Instance ok = MakeInstance(3, {true, true}, {{0, 1}}, 15);
  {
    Instance bad = ok;
    bad.poly.num_vars = 0;
    EXPECT_FALSE(ProveSumcheck(bad.poly, bad.Refs(), t).ok());
  }
  {
    Instance bad = ok;
    bad.poly.terms.clear();
    EXPECT_FALSE(ProveSumcheck(bad.poly, bad.Refs(), t).ok());
  }
  {
    Instance bad = ok;
    bad.poly.terms[0].factors = {0, 2};  // no multilinear 2
    EXPECT_FALSE(ProveSumcheck(bad.poly, bad.Refs(), t).ok());
    EXPECT_FALSE(bad.poly.Evaluate(std::vector<Fp2>(2)).ok());
  }
  {
    Instance bad = ok;
    bad.poly.terms[0].factors = {};
    EXPECT_FALSE(ProveSumcheck(bad.poly, bad.Refs(), t).ok());
    bad.poly.terms[0].factors.assign(kMaxSumcheckDegree + 1, 0);
    EXPECT_FALSE(ProveSumcheck(bad.poly, bad.Refs(), t).ok());
  }
  {
    Instance bad = ok;
    bad.base[1].pop_back();  // wrong length
    EXPECT_FALSE(ProveSumcheck(bad.poly, bad.Refs(), t).ok());
    std::vector<MultilinearRef> one = ok.Refs();
    one.pop_back();  // wrong count
    EXPECT_FALSE(ProveSumcheck(ok.poly, one, t).ok());
  }
  EXPECT_FALSE(ok.poly.Evaluate(std::vector<Fp2>(3)).ok());
  SumcheckProof empty;
  EXPECT_FALSE(VerifySumcheck(0, 2, Fp2(), empty, t).ok());
  EXPECT_FALSE(VerifySumcheck(3, 0, Fp2(), empty, t).ok());
  EXPECT_FALSE(VerifySumcheck(3, kMaxSumcheckDegree + 1, Fp2(), empty, t).ok());
}

TEST(SumcheckTest, InterpolateAt) {
  std::mt19937_64 rng(16);
  for (size_t n = 1; n <= kMaxSumcheckDegree + 1; ++n) {
    std::vector<Fp2> coeffs(n);
    for (Fp2& c : coeffs) c = Fp2(Fp::FromU64(rng()), Fp::FromU64(rng()));
    auto eval = [&](Fp2 x) {
      Fp2 acc;
      for (size_t i = n; i-- > 0;) acc = acc * x + coeffs[i];
      return acc;
    };
    std::vector<Fp2> values(n);
    for (size_t i = 0; i < n; ++i) values[i] = eval(Fp2::FromU64(i));
    const Fp2 r(Fp::FromU64(rng()), Fp::FromU64(rng()));
    EXPECT_EQ(InterpolateAt(values, r), eval(r)) << n;
    const Fp2 base_point = Fp2::FromU64(n + 5);
    EXPECT_EQ(InterpolateAt(values, base_point), eval(base_point)) << n;
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(InterpolateAt(values, Fp2::FromU64(i)), values[i]);
  }
  EXPECT_EQ(InterpolateAt({}, Fp2::One()), Fp2::Zero());
}

}  // namespace
}  // namespace lucid::zk
