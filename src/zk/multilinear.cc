#include "zk/multilinear.h"

#include <bit>

#include "zk/parallel.h"

namespace lucid::zk {
namespace {

Status CheckVarCount(size_t n) {
  if (n > kMaxMultilinearVars)
    return InvalidArgument("multilinear with " + std::to_string(n) + " variables exceeds 2^" +
                           std::to_string(kMaxMultilinearVars) + " evaluations");
  return Status::Ok();
}

// Below this many evaluations a second thread costs more than it saves.
constexpr size_t kMinParallelEvals = size_t{1} << 14;

template <typename F>
Fp2 EvaluateUnchecked(std::span<const F> evals, std::span<const Fp2> point) {
  if (point.empty()) return Fp2(evals[0]);
  std::vector<Fp2> buf(evals.size() / 2);
  FoldFirstVariable(evals, point[0], buf);
  size_t size = buf.size();
  for (size_t i = 1; i < point.size(); ++i) {
    std::span<Fp2> cur(buf.data(), size);
    FoldFirstVariable(cur, point[i], cur.first(size / 2));
    size /= 2;
  }
  return buf[0];
}

template <typename F>
Result<Fp2> EvaluateImpl(std::span<const F> evals, std::span<const Fp2> point, int threads) {
  RETURN_IF_ERROR(CheckVarCount(point.size()));
  if (evals.size() != size_t{1} << point.size())
    return InvalidArgument("multilinear has " + std::to_string(evals.size()) +
                           " evaluations, point has " + std::to_string(point.size()) +
                           " coordinates");
  if (threads < 2 || evals.size() < kMinParallelEvals) return EvaluateUnchecked(evals, point);
  // f = (1 - x_{n-1}) f(.., 0) + x_{n-1} f(.., 1); the halves are contiguous.
  const size_t half = evals.size() / 2;
  const std::span<const Fp2> rest = point.first(point.size() - 1);
  Fp2 lo, hi;
  internal::RunPair(true, [&] { lo = EvaluateUnchecked(evals.first(half), rest); },
                    [&] { hi = EvaluateUnchecked(evals.subspan(half), rest); });
  return lo + point.back() * (hi - lo);
}

}  // namespace

// The folds are the prover's hottest loops after the round sums; both are written to reduce
// as few times as possible (a reduction costs about as much as a multiplication).
void FoldFirstVariable(std::span<const Fp> in, Fp2 r, std::span<Fp2> out) {
  const size_t half = in.size() / 2;
  const uint64_t r0 = r.c0().value();
  const Fp r1 = r.c1();
  for (size_t j = 0; j < half; ++j) {
    const Fp lo = in[2 * j];
    const Fp d = in[2 * j + 1] - lo;
    // lo + r0 d < p + p^2 < 2^128: one reduction.
    out[j] = Fp2(Fp::FromU128(static_cast<u128>(r0) * d.value() + lo.value()), r1 * d);
  }
}

void FoldFirstVariable(std::span<const Fp2> in, Fp2 r, std::span<Fp2> out) {
  const size_t half = in.size() / 2;
  // lo + r d with r d = (r0 d0 + 7 r1 d1) + (r0 d1 + r1 d0) X, 7 r1 precomputed.
  const Fp r0 = r.c0(), r1 = r.c1(), r1_nr = Fp::MulSmall(r1, Fp2::kNonResidue);
  for (size_t j = 0; j < half; ++j) {
    const Fp2 lo = in[2 * j];
    const Fp2 d = in[2 * j + 1] - lo;
    out[j] = Fp2(lo.c0() + Fp::SumOfProducts(r0, d.c0(), r1_nr, d.c1()),
                 lo.c1() + Fp::SumOfProducts(r0, d.c1(), r1, d.c0()));
  }
}

Result<Fp2> EvaluateMultilinear(std::span<const Fp> evals, std::span<const Fp2> point,
                                int threads) {
  return EvaluateImpl(evals, point, threads);
}
Result<Fp2> EvaluateMultilinear(std::span<const Fp2> evals, std::span<const Fp2> point,
                                int threads) {
  return EvaluateImpl(evals, point, threads);
}

Result<std::vector<Fp2>> EqTable(std::span<const Fp2> r) {
  RETURN_IF_ERROR(CheckVarCount(r.size()));
  std::vector<Fp2> table(size_t{1} << r.size());
  table[0] = Fp2::One();
  for (size_t i = 0, size = 1; i < r.size(); ++i, size *= 2) {
    // Entries with bit i set live at b + 2^i.
    for (size_t b = 0; b < size; ++b) {
      const Fp2 hi = table[b] * r[i];
      table[b + size] = hi;
      table[b] -= hi;
    }
  }
  return table;
}

Result<Fp2> EqEvaluate(std::span<const Fp2> a, std::span<const Fp2> b) {
  if (a.size() != b.size())
    return InvalidArgument("eq of points with " + std::to_string(a.size()) + " and " +
                           std::to_string(b.size()) + " coordinates");
  Fp2 acc = Fp2::One();
  for (size_t i = 0; i < a.size(); ++i) {
    const Fp2 ab = a[i] * b[i];
    // a b + (1 - a)(1 - b) = 1 - a - b + 2 a b
    acc *= Fp2::One() - a[i] - b[i] + ab + ab;
  }
  return acc;
}

template <typename F>
Result<Multilinear<F>> Multilinear<F>::FromEvaluations(std::vector<F> evals) {
  const size_t n = evals.size();
  if (n == 0 || !std::has_single_bit(n))
    return InvalidArgument("multilinear needs a power-of-two number of evaluations, got " +
                           std::to_string(n));
  const unsigned vars = static_cast<unsigned>(std::countr_zero(n));
  RETURN_IF_ERROR(CheckVarCount(vars));
  Multilinear out;
  out.evals_ = std::move(evals);
  out.num_vars_ = vars;
  return out;
}

template <typename F>
Result<Multilinear<F>> Multilinear<F>::Extension(std::span<const F> values) {
  if (values.size() > (size_t{1} << kMaxMultilinearVars))
    return InvalidArgument("vector of " + std::to_string(values.size()) +
                           " entries is too long for a multilinear extension");
  std::vector<F> evals(std::bit_ceil(std::max<size_t>(values.size(), 1)));
  std::copy(values.begin(), values.end(), evals.begin());
  return FromEvaluations(std::move(evals));
}

template <typename F>
Result<Fp2> Multilinear<F>::Evaluate(std::span<const Fp2> point) const {
  return EvaluateImpl(std::span<const F>(evals_), point, 1);
}

template <typename F>
Result<Multilinear<Fp2>> Multilinear<F>::FoldFirst(Fp2 r) const {
  if (num_vars_ == 0) return InvalidArgument("cannot fold a multilinear in 0 variables");
  std::vector<Fp2> out(evals_.size() / 2);
  FoldFirstVariable(std::span<const F>(evals_), r, out);
  return Multilinear<Fp2>::FromEvaluations(std::move(out));
}

template class Multilinear<Fp>;
template class Multilinear<Fp2>;

}  // namespace lucid::zk
