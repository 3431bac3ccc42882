#include "zk/fraction_sum.h"

#include <string>

#include "zk/multilinear.h"

namespace lucid::zk {
namespace {

struct Level {
  std::vector<Fp2> p, q;
};

Fp2 Lerp(Fp2 a, Fp2 b, Fp2 t) { return a + t * (b - a); }

// eq(point, ·)[p0 q1 + p1 q0 + lambda q0 q1] over the multilinears (eq, p0, p1, q0, q1).
VirtualPolynomial LayerPolynomial(unsigned num_vars, Fp2 lambda) {
  VirtualPolynomial poly;
  poly.num_vars = num_vars;
  poly.num_multilinears = 5;
  poly.terms = {{Fp2::One(), {0, 1, 4}}, {Fp2::One(), {0, 2, 3}}, {lambda, {0, 3, 4}}};
  return poly;
}

}  // namespace

void FractionSumProof::WriteTo(codec::Writer& w) const {
  WriteFp2(w, root_p);
  WriteFp2(w, root_q);
  for (const auto& layer : layers)
    for (Fp2 v : layer) WriteFp2(w, v);
  for (const auto& s : sumchecks) s.WriteTo(w);
}

Result<FractionSumProof> FractionSumProof::ReadFrom(codec::Reader& r, unsigned num_vars) {
  if (num_vars < 1 || num_vars > kMaxFractionVars)
    return InvalidArgument("fraction sum: " + std::to_string(num_vars) + " variables is out of range");
  FractionSumProof proof;
  ASSIGN_OR_RETURN(proof.root_p, ReadFp2(r));
  ASSIGN_OR_RETURN(proof.root_q, ReadFp2(r));
  proof.layers.resize(num_vars);
  for (auto& layer : proof.layers) {
    for (Fp2& v : layer) {
      ASSIGN_OR_RETURN(v, ReadFp2(r));
    }
  }
  for (unsigned k = 1; k < num_vars; ++k) {
    ASSIGN_OR_RETURN(SumcheckProof s, SumcheckProof::ReadFrom(r));
    if (s.round_polys.size() != k)
      return InvalidArgument("fraction sum: level " + std::to_string(k + 1) + " sumcheck has " +
                             std::to_string(s.round_polys.size()) + " rounds, expected " + std::to_string(k));
    for (const auto& round : s.round_polys)
      if (round.size() != 4) return InvalidArgument("fraction sum: a sumcheck round does not have 4 values");
    proof.sumchecks.push_back(std::move(s));
  }
  return proof;
}

Result<FractionSumProverOutput> ProveFractionSum(std::span<const Fp2> p, std::span<const Fp2> q,
                                                 Transcript& transcript, int threads) {
  if (p.size() != q.size() || p.size() < 2 || (p.size() & (p.size() - 1)) != 0 ||
      p.size() > (size_t{1} << kMaxFractionVars))
    return InvalidArgument("fraction sum: p and q must have the same power-of-two size in [2, 2^28]");
  unsigned n = 0;
  while ((size_t{1} << n) < p.size()) ++n;

  // levels[k] has 2^k nodes; levels[n] are the leaves (copied once: the sumchecks borrow halves).
  std::vector<Level> levels(n + 1);
  levels[n].p.assign(p.begin(), p.end());
  levels[n].q.assign(q.begin(), q.end());
  for (unsigned k = n; k-- > 0;) {
    size_t half = size_t{1} << k;
    const Level& up = levels[k + 1];
    Level& level = levels[k];
    level.p.resize(half);
    level.q.resize(half);
    for (size_t x = 0; x < half; ++x) {
      level.p[x] = up.p[x] * up.q[x + half] + up.p[x + half] * up.q[x];
      level.q[x] = up.q[x] * up.q[x + half];
    }
  }

  FractionSumProverOutput out;
  FractionSumProof& proof = out.proof;
  proof.root_p = levels[0].p[0];
  proof.root_q = levels[0].q[0];
  transcript.AbsorbU64("frac/num_vars", n);
  transcript.AbsorbFp2("frac/root", std::vector<Fp2>{proof.root_p, proof.root_q});

  const Level& first = levels[1];
  proof.layers.push_back({first.p[0], first.p[1], first.q[0], first.q[1]});
  transcript.AbsorbFp2("frac/layer", proof.layers.back());
  Fp2 mu = transcript.ChallengeFp2("frac/mu");
  std::vector<Fp2> point = {mu};
  Fp2 claim_p = Lerp(first.p[0], first.p[1], mu), claim_q = Lerp(first.q[0], first.q[1], mu);

  SumcheckOptions options;
  options.threads = threads;
  for (unsigned k = 1; k < n; ++k) {
    size_t half = size_t{1} << k;
    const Level& up = levels[k + 1];
    Fp2 lambda = transcript.ChallengeFp2("frac/lambda");
    ASSIGN_OR_RETURN(std::vector<Fp2> eq, EqTable(point));
    std::span<const Fp2> up_p(up.p), up_q(up.q);
    std::vector<MultilinearRef> tables = {std::span<const Fp2>(eq), up_p.subspan(0, half), up_p.subspan(half),
                                          up_q.subspan(0, half), up_q.subspan(half)};
    ASSIGN_OR_RETURN(SumcheckProverOutput s,
                           ProveSumcheck(LayerPolynomial(k, lambda), tables, transcript, options));
    if (!(s.claimed_sum == claim_p + lambda * claim_q))
      return Internal("fraction sum: level sum disagrees with the claim (prover bug)");
    std::array<Fp2, 4> values = {s.final_values[1], s.final_values[2], s.final_values[3], s.final_values[4]};
    proof.sumchecks.push_back(std::move(s.proof));
    proof.layers.push_back(values);
    transcript.AbsorbFp2("frac/layer", values);
    mu = transcript.ChallengeFp2("frac/mu");
    point = std::move(s.point);
    point.push_back(mu);
    claim_p = Lerp(values[0], values[1], mu);
    claim_q = Lerp(values[2], values[3], mu);
  }
  out.claim = {proof.root_p, proof.root_q, std::move(point), claim_p, claim_q};
  return out;
}

Result<FractionLeafClaim> VerifyFractionSum(unsigned num_vars, const FractionSumProof& proof,
                                            Transcript& transcript) {
  unsigned n = num_vars;
  if (n < 1 || n > kMaxFractionVars || proof.layers.size() != n || proof.sumchecks.size() != n - 1)
    return InvalidArgument("fraction sum: the proof's shape does not match " + std::to_string(n) + " variables");
  transcript.AbsorbU64("frac/num_vars", n);
  transcript.AbsorbFp2("frac/root", std::vector<Fp2>{proof.root_p, proof.root_q});

  const auto& first = proof.layers[0];
  if (!(proof.root_p == first[0] * first[3] + first[1] * first[2]) || !(proof.root_q == first[2] * first[3]))
    return InvalidArgument("fraction sum: level 1 does not add up to the root");
  transcript.AbsorbFp2("frac/layer", first);
  Fp2 mu = transcript.ChallengeFp2("frac/mu");
  std::vector<Fp2> point = {mu};
  Fp2 claim_p = Lerp(first[0], first[1], mu), claim_q = Lerp(first[2], first[3], mu);

  for (unsigned k = 1; k < n; ++k) {
    Fp2 lambda = transcript.ChallengeFp2("frac/lambda");
    auto sub = VerifySumcheck(k, 3, claim_p + lambda * claim_q, proof.sumchecks[k - 1], transcript);
    if (!sub.ok())
      return InvalidArgument("fraction sum: level " + std::to_string(k + 1) + ": " + sub.status().message());
    const auto& v = proof.layers[k];
    ASSIGN_OR_RETURN(Fp2 eq, EqEvaluate(point, sub->point));
    std::vector<Fp2> values = {eq, v[0], v[1], v[2], v[3]};
    Status final_check = sub->CheckFinal(LayerPolynomial(k, lambda), values);
    if (!final_check.ok())
      return InvalidArgument("fraction sum: level " + std::to_string(k + 1) + " values do not match its sumcheck");
    transcript.AbsorbFp2("frac/layer", v);
    mu = transcript.ChallengeFp2("frac/mu");
    point = std::move(sub->point);
    point.push_back(mu);
    claim_p = Lerp(v[0], v[1], mu);
    claim_q = Lerp(v[2], v[3], mu);
  }
  return FractionLeafClaim{proof.root_p, proof.root_q, std::move(point), claim_p, claim_q};
}

}  // namespace lucid::zk
