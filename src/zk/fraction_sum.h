// A GKR-style proof of a sum of fractions, the engine of the logUp lookup argument:
//   P/Q = sum_{x in {0,1}^n} p(x)/q(x)
// proved as a binary tree whose nodes add fractions without reducing them,
//   p_k[x] = p_{k+1}[x] q_{k+1}[x + 2^k] + p_{k+1}[x + 2^k] q_{k+1}[x]
//   q_k[x] = q_{k+1}[x] q_{k+1}[x + 2^k]        (level k has 2^k nodes; level n = leaves)
// so the root (p_0, q_0) = (P, Q). Nothing is committed: the verifier ends with one claim
// p(rho), q(rho) on the leaves' multilinear extensions at a random point rho, which the caller
// checks against its own commitments or public data (zkml.md "lookups").
//
// Transcript (docs/zk.md): absorb u64 "frac/num_vars" n, Fp2 "frac/root" (P, Q); for level 1
// the prover sends (p_1[0], p_1[1], q_1[0], q_1[1]) ("frac/layer"); the verifier checks them
// against the root, draws mu = "frac/mu" and sets the claims p~_1(mu), q~_1(mu). For level
// k = 1..n-1: lambda = "frac/lambda"; sumcheck (degree 3, k rounds) of
//   sum_x eq(rho_k, x) [p0 q1 + p1 q0 + lambda q0 q1] = claim_p + lambda claim_q
// with p0 = p_{k+1}[x], p1 = p_{k+1}[x + 2^k] (same for q); the prover sends p0, p1, q0, q1 at
// the sumcheck point rho' ("frac/layer"), the verifier checks the final claim, draws mu and
// moves to rho_{k+1} = (rho', mu) (mu binds the new top variable, bit k).
// Soundness: each level adds the sumcheck's k*3/|Fp2| and 2/|Fp2| for lambda and mu
// (Schwartz-Zippel), so a proof errs with probability < 4 n^2 / 2^127.
#pragma once

#include <span>
#include <vector>

#include "base/status.h"
#include "codec/codec.h"
#include "zk/field.h"
#include "zk/sumcheck.h"
#include "zk/transcript.h"

namespace lucid::zk {

inline constexpr unsigned kMaxFractionVars = 28;

struct FractionSumProof {
  Fp2 root_p, root_q;
  std::vector<std::array<Fp2, 4>> layers;   // per level 1..n: p0, p1, q0, q1 at the level's point
  std::vector<SumcheckProof> sumchecks;     // per level 2..n (level k+1 uses k rounds)

  void WriteTo(codec::Writer& w) const;
  // Strict for n variables: exactly n layers and n - 1 sumchecks of k rounds, 4 values each.
  static Result<FractionSumProof> ReadFrom(codec::Reader& r, unsigned num_vars);
};

// The claim the verifier is left with: p~(point) = p_value and q~(point) = q_value.
struct FractionLeafClaim {
  Fp2 root_p, root_q;
  std::vector<Fp2> point;  // n coordinates, multilinear.h order
  Fp2 p_value, q_value;
};

struct FractionSumProverOutput {
  FractionSumProof proof;
  FractionLeafClaim claim;
};

// p and q: 2^n leaves each (1 <= n <= kMaxFractionVars). The prover does not divide, so a
// zero q is allowed here; the caller's check of root_q != 0 catches it.
Result<FractionSumProverOutput> ProveFractionSum(std::span<const Fp2> p, std::span<const Fp2> q,
                                                 Transcript& transcript, int threads = 2);

Result<FractionLeafClaim> VerifyFractionSum(unsigned num_vars, const FractionSumProof& proof,
                                            Transcript& transcript);

}  // namespace lucid::zk
