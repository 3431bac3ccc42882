// Sumcheck for a "virtual polynomial": sum over x in {0,1}^n of sum_t c_t prod_{j in S_t} f_j(x),
// where f_0..f_{m-1} are multilinears (Fp or Fp2 evaluations, multilinear.h order) and the
// terms (c_t in Fp2, S_t a list of multilinear indices, repeats allowed) have at most
// degree d = max |S_t| factors.
//
// Protocol (both sides use the caller's transcript, which must already bind everything the
// claim depends on, including the terms and coefficients unless those are themselves
// challenges: sumcheck absorbs only n, d and the claim):
//   absorb u64 "sumcheck/num_vars" = n, u64 "sumcheck/degree" = d, Fp2 "sumcheck/claim" = C;
//   for round i = 0..n-1: the prover sends g_i as its d+1 values g_i(0), ..., g_i(d);
//   the verifier requires exactly d+1 values and g_i(0) + g_i(1) == claim_i (claim_0 = C),
//   absorbs Fp2 "sumcheck/round" = g_i, draws r_i = ChallengeFp2("sumcheck/challenge") and
//   sets claim_{i+1} = g_i(r_i). Round i binds variable i (bit i of the index), so the final
//   point is (r_0, ..., r_{n-1}) in multilinear.h order.
// VerifySumcheck returns that point and claim_n; the caller MUST then check
//   VirtualPolynomial::Evaluate(values) == claim_n   (SumcheckSubclaim::CheckFinal)
// where values[j] = f_j(point) comes from a PCS opening, its own evaluation of a public
// polynomial, or becomes the claim of a later sumcheck. The prover returns those values.
//
// Soundness: each round errs with probability <= d / |Fp2| ~ d 2^-128 (Schwartz-Zippel),
// so n rounds err with <= n d 2^-128.
// Prover cost: O(2^n (d + 1) |terms|) per proof; the first round computes in Fp when all a
// term's factors are Fp; multilinears are folded into half-size buffers each round. With
// options.threads == 2, the large rounds are split in two halves; the proof is bit-identical
// for any thread count (field sums are exact).
// Thread-safety: ProveSumcheck/VerifySumcheck are reentrant; the multilinears must stay
// alive and unchanged during ProveSumcheck.
#pragma once

#include <cstdint>
#include <span>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "codec/codec.h"
#include "zk/field.h"
#include "zk/transcript.h"

namespace lucid::zk {

inline constexpr unsigned kMaxSumcheckDegree = 16;
inline constexpr unsigned kMaxSumcheckVars = 30;

struct ProductTerm {
  Fp2 coeff;
  std::vector<uint32_t> factors;  // indices into the multilinear list, 1..kMaxSumcheckDegree
};

struct VirtualPolynomial {
  unsigned num_vars = 0;
  size_t num_multilinears = 0;
  std::vector<ProductTerm> terms;

  // 1 <= num_vars <= kMaxSumcheckVars, at least one term, every term with
  // 1..kMaxSumcheckDegree factors, every index < num_multilinears.
  Status Validate() const;
  // Largest number of factors in a term (0 when there are no terms).
  unsigned Degree() const;
  // sum_t c_t prod_{j in S_t} values[j]; InvalidArgument if values.size() != num_multilinears
  // or a factor index is out of range.
  Result<Fp2> Evaluate(std::span<const Fp2> values) const;
};

// A borrowed multilinear's evaluations (2^num_vars entries).
using MultilinearRef = std::variant<std::span<const Fp>, std::span<const Fp2>>;

struct SumcheckOptions {
  int threads = 2;  // 1, or 2 (more count as 2); the proof does not depend on it
};

struct SumcheckProof {
  static constexpr uint8_t kVersion = 1;
  static constexpr size_t kMaxRounds = 64;

  // round_polys[i] = g_i(0), ..., g_i(d).
  std::vector<std::vector<Fp2>> round_polys;

  // u32 round count, then per round u32 value count and 16-byte Fp2 values (big-endian
  // c0, c1). No version byte: for embedding in a larger proof.
  void WriteTo(codec::Writer& w) const;
  // Refuses > kMaxRounds rounds, > kMaxSumcheckDegree + 1 values per round, values >= p.
  static Result<SumcheckProof> ReadFrom(codec::Reader& r);
  // Standalone: version byte kVersion then WriteTo; Decode refuses other versions and
  // trailing bytes.
  Bytes Encode() const;
  static Result<SumcheckProof> Decode(ByteView bytes);
};

struct SumcheckProverOutput {
  SumcheckProof proof;
  Fp2 claimed_sum;                 // C, computed by the prover
  std::vector<Fp2> point;          // (r_0, ..., r_{n-1})
  std::vector<Fp2> final_values;   // f_j(point) for every multilinear j
};

// InvalidArgument if poly is invalid, multilinears.size() != poly.num_multilinears or a
// multilinear does not have 2^num_vars evaluations.
Result<SumcheckProverOutput> ProveSumcheck(const VirtualPolynomial& poly,
                                           std::span<const MultilinearRef> multilinears,
                                           Transcript& transcript,
                                           const SumcheckOptions& options = {});

struct SumcheckSubclaim {
  std::vector<Fp2> point;
  Fp2 expected_value;  // must equal poly.Evaluate(f_j(point)...)

  // The caller's final check: Ok iff poly.Evaluate(values) == expected_value, where
  // values[j] = f_j(point) as the caller established it (PCS opening, own evaluation, or
  // the claim of a later sumcheck).
  Status CheckFinal(const VirtualPolynomial& poly, std::span<const Fp2> values) const;
};

// InvalidArgument for a wrong number of rounds or values per round, a failed round check, or
// num_vars / degree out of range.
Result<SumcheckSubclaim> VerifySumcheck(unsigned num_vars, unsigned degree, Fp2 claimed_sum,
                                        const SumcheckProof& proof, Transcript& transcript);

// The polynomial of degree < evals.size() through (i, evals[i]) for i = 0..d, evaluated at r
// (barycentric form; exact at the nodes). Returns 0 for empty evals.
Fp2 InterpolateAt(std::span<const Fp2> evals, Fp2 r);

}  // namespace lucid::zk
