// Multilinear polynomials given by their evaluations over the Boolean hypercube {0,1}^n.
//
// Variable order (fixed, used by every zk module): variable i is bit i of the index, so
// variable 0 is the least-significant bit and
//   f(x_0, ..., x_{n-1}) = sum_b evals[b] * prod_i (b_i ? x_i : 1 - x_i),  b = sum_i b_i 2^i.
// A point is a list (x_0, ..., x_{n-1}) in that order. FoldFirst fixes x_0, which pairs
// adjacent entries: g[j] = evals[2j] + r (evals[2j+1] - evals[2j]); g is a multilinear in
// (x_1, ..., x_{n-1}). EqTable(r)[b] = eq(r, b) = prod_i (b_i ? r_i : 1 - r_i), in the same
// index order, so f(r) = sum_b evals[b] EqTable(r)[b].
// The multilinear extension of a vector v of any length pads it with zeros to the next power
// of two (at least 1 entry, i.e. 0 variables).
//
// Thread-safety: values; const methods are safe to call concurrently.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "zk/field.h"

namespace lucid::zk {

// Largest number of variables accepted anywhere in src/zk (2^30 evaluations).
inline constexpr unsigned kMaxMultilinearVars = 30;

template <typename F>
class Multilinear {
 public:
  Multilinear() : evals_(1) {}  // the zero polynomial in 0 variables
  // InvalidArgument unless evals.size() is a power of two <= 2^kMaxMultilinearVars.
  static Result<Multilinear> FromEvaluations(std::vector<F> evals);
  // The multilinear extension of values, zero-padded to a power of two.
  static Result<Multilinear> Extension(std::span<const F> values);

  unsigned num_vars() const { return num_vars_; }
  std::span<const F> evals() const { return evals_; }
  std::vector<F>& mutable_evals() { return evals_; }  // the size must not change

  // f(point) in O(2^n); InvalidArgument if point.size() != num_vars().
  Result<Fp2> Evaluate(std::span<const Fp2> point) const;
  // The multilinear with x_0 fixed to r (num_vars() >= 1, else InvalidArgument).
  Result<Multilinear<Fp2>> FoldFirst(Fp2 r) const;

 private:
  std::vector<F> evals_;
  unsigned num_vars_ = 0;
};

// g[j] = in[2j] + r (in[2j+1] - in[2j]) for j < in.size() / 2; in.size() must be even and
// out.size() == in.size() / 2. out may alias the first half of in (in-place folding).
void FoldFirstVariable(std::span<const Fp> in, Fp2 r, std::span<Fp2> out);
void FoldFirstVariable(std::span<const Fp2> in, Fp2 r, std::span<Fp2> out);

// f(point) for evaluations over {0,1}^n (evals.size() == 2^point.size(), else
// InvalidArgument). Folds variable 0 first, then 1, ...: 2^n extension-field operations.
// threads == 2 evaluates the halves x_{n-1} = 0 and 1 on two threads (same result).
Result<Fp2> EvaluateMultilinear(std::span<const Fp> evals, std::span<const Fp2> point,
                                int threads = 1);
Result<Fp2> EvaluateMultilinear(std::span<const Fp2> evals, std::span<const Fp2> point,
                                int threads = 1);

// eq(r, b) for every b in {0,1}^n in index order: 2^n entries, 2^n multiplications.
// InvalidArgument if r.size() > kMaxMultilinearVars.
Result<std::vector<Fp2>> EqTable(std::span<const Fp2> r);
// eq(a, b) = prod_i (a_i b_i + (1 - a_i)(1 - b_i)); InvalidArgument on a length mismatch.
Result<Fp2> EqEvaluate(std::span<const Fp2> a, std::span<const Fp2> b);

}  // namespace lucid::zk
