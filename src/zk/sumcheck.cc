#include "zk/sumcheck.h"

#include <algorithm>
#include <array>

#include "zk/multilinear.h"
#include "zk/parallel.h"

namespace lucid::zk {
namespace {

// Rounds with fewer pairs than this run on one thread (a thread start costs ~tens of µs).
constexpr size_t kMinParallelPairs = size_t{1} << 12;

// An unreduced 192-bit sum: up to 2^64 additions of 128-bit values (products of canonical
// values) without overflow, reduced once at the end.
struct Wide {
  u128 low = 0;
  uint64_t top = 0;
  void Add(u128 x) {
    low += x;
    top += low < x;  // carry out of the low 128 bits
  }
  void Merge(const Wide& o) {
    Add(o.low);
    top += o.top;
  }
  // top 2^128 + low, with 2^128 = -2^32 (mod p).
  Fp Reduce() const {
    return Fp::FromU128(low) - Fp::FromU64(top) * Fp::FromU64(uint64_t{1} << 32);
  }
};

// Lazy sums of products: the last multiplication of each product is accumulated without
// reduction (a reduction costs about as much as the multiplication).
struct AccFp {
  Wide s;
  void Add(Fp x) { s.Add(x.value()); }
  void AddProduct(Fp a, Fp b) { s.Add(static_cast<u128>(a.value()) * b.value()); }
  void Merge(const AccFp& o) { s.Merge(o.s); }
  Fp2 Get() const { return Fp2(s.Reduce()); }
};
struct AccFp2 {
  Wide s00, s11, s01;  // sums of a0 b0, a1 b1 and a0 b1 + a1 b0
  void Add(Fp2 x) {
    s00.Add(x.c0().value());
    s01.Add(x.c1().value());
  }
  void AddProduct(Fp2 a, Fp2 b) {
    s00.Add(static_cast<u128>(a.c0().value()) * b.c0().value());
    s11.Add(static_cast<u128>(a.c1().value()) * b.c1().value());
    s01.Add(static_cast<u128>(a.c0().value()) * b.c1().value());
    s01.Add(static_cast<u128>(a.c1().value()) * b.c0().value());
  }
  void AddProduct(Fp2 a, Fp b) {
    s00.Add(static_cast<u128>(a.c0().value()) * b.value());
    s01.Add(static_cast<u128>(a.c1().value()) * b.value());
  }
  void Merge(const AccFp2& o) {
    s00.Merge(o.s00);
    s11.Merge(o.s11);
    s01.Merge(o.s01);
  }
  // (c0 + c1 X) with X^2 = 7: c0 = sum a0 b0 + 7 sum a1 b1.
  Fp2 Get() const {
    return Fp2(s00.Reduce() + Fp::MulSmall(s11.Reduce(), Fp2::kNonResidue), s01.Reduce());
  }
};
template <typename F>
using AccOf = std::conditional_t<std::is_same_v<F, Fp>, AccFp, AccFp2>;

template <typename F>
struct PtrLoad {
  const F* const* tables;
  F operator()(size_t f, size_t i) const { return tables[f][i]; }
};
// S(t) = sum_j prod_f v_f(t) for t = 0..d over pairs j in [begin, end), where
// v_f(t) = T_f[2j] + t (T_f[2j+1] - T_f[2j]). t = 1 is skipped unless with_one (the prover
// derives g(1) from the claim after round 0). kFactors > 0 fixes the factor count at compile
// time so the inner loops unroll.
template <typename F, int kFactors, typename Load>
void TermSums(const Load& load, size_t num_factors, unsigned degree, bool with_one,
              size_t begin, size_t end, AccOf<F>* acc) {
  const size_t nf = kFactors > 0 ? static_cast<size_t>(kFactors) : num_factors;
  std::array<F, kMaxSumcheckDegree> v, hi, diff;
  for (size_t j = begin; j < end; ++j) {
    for (size_t f = 0; f < nf; ++f) {
      v[f] = load(f, 2 * j);
      hi[f] = load(f, 2 * j + 1);
      diff[f] = hi[f] - v[f];
    }
    auto accumulate = [&](AccOf<F>& a) {
      if (nf == 1) {
        a.Add(v[0]);
        return;
      }
      F p = v[0];
      for (size_t f = 1; f + 1 < nf; ++f) p *= v[f];
      a.AddProduct(p, v[nf - 1]);
    };
    accumulate(acc[0]);
    v = hi;  // t = 1
    if (with_one) accumulate(acc[1]);
    for (unsigned t = 2; t <= degree; ++t) {
      for (size_t f = 0; f < nf; ++f) v[f] += diff[f];
      accumulate(acc[t]);
    }
  }
}

template <typename F, typename Load>
void DispatchTermSums(const Load& load, size_t num_factors, unsigned degree, bool with_one,
                      size_t begin, size_t end, AccOf<F>* acc) {
  switch (num_factors) {
    case 1: return TermSums<F, 1>(load, 1, degree, with_one, begin, end, acc);
    case 2: return TermSums<F, 2>(load, 2, degree, with_one, begin, end, acc);
    case 3: return TermSums<F, 3>(load, 3, degree, with_one, begin, end, acc);
    case 4: return TermSums<F, 4>(load, 4, degree, with_one, begin, end, acc);
    default: return TermSums<F, 0>(load, num_factors, degree, with_one, begin, end, acc);
  }
}

// As TermSums for a term with nb Fp factors and ne Fp2 factors (round 0 only): the Fp
// factors are multiplied in Fp, then the product is scaled into the Fp2 part (2 base
// multiplications instead of an Fp2 multiplication per Fp factor).
template <int kBase, int kExt>
void MixedTermSums(const Fp* const* base, size_t nb, const Fp2* const* ext, size_t ne,
                   unsigned degree, bool with_one, size_t begin, size_t end, AccFp2* acc) {
  nb = kBase > 0 ? static_cast<size_t>(kBase) : nb;
  ne = kExt > 0 ? static_cast<size_t>(kExt) : ne;
  std::array<Fp, kMaxSumcheckDegree> vb, hb, db;
  std::array<Fp2, kMaxSumcheckDegree> ve, he, de;
  for (size_t j = begin; j < end; ++j) {
    for (size_t f = 0; f < nb; ++f) {
      vb[f] = base[f][2 * j];
      hb[f] = base[f][2 * j + 1];
      db[f] = hb[f] - vb[f];
    }
    for (size_t f = 0; f < ne; ++f) {
      ve[f] = ext[f][2 * j];
      he[f] = ext[f][2 * j + 1];
      de[f] = he[f] - ve[f];
    }
    auto accumulate = [&](AccFp2& a) {
      Fp pb = vb[0];
      for (size_t f = 1; f < nb; ++f) pb *= vb[f];
      Fp2 pe = ve[0];
      for (size_t f = 1; f < ne; ++f) pe *= ve[f];
      a.AddProduct(pe, pb);
    };
    auto step = [&] {
      for (size_t f = 0; f < nb; ++f) vb[f] += db[f];
      for (size_t f = 0; f < ne; ++f) ve[f] += de[f];
    };
    accumulate(acc[0]);
    vb = hb;  // t = 1
    ve = he;
    if (with_one) accumulate(acc[1]);
    for (unsigned t = 2; t <= degree; ++t) {
      step();
      accumulate(acc[t]);
    }
  }
}

void DispatchMixedTermSums(const Fp* const* base, size_t nb, const Fp2* const* ext, size_t ne,
                           unsigned degree, bool with_one, size_t begin, size_t end,
                           AccFp2* acc) {
  if (nb == 1 && ne == 1)
    return MixedTermSums<1, 1>(base, nb, ext, ne, degree, with_one, begin, end, acc);
  if (nb == 2 && ne == 1)  // eq(x) f(x) g(x)
    return MixedTermSums<2, 1>(base, nb, ext, ne, degree, with_one, begin, end, acc);
  if (nb == 1 && ne == 2)
    return MixedTermSums<1, 2>(base, nb, ext, ne, degree, with_one, begin, end, acc);
  return MixedTermSums<0, 0>(base, nb, ext, ne, degree, with_one, begin, end, acc);
}

// One multilinear during proving: borrowed in round 0, then an owned Fp2 table that halves
// every round (folded into `spare`, then swapped).
struct Table {
  const Fp* base = nullptr;   // round 0, Fp input
  const Fp2* ext = nullptr;   // current Fp2 evaluations (borrowed or owned.data())
  bool borrowed = true;       // until the first fold
  std::vector<Fp2> owned, spare;

  // Where the next fold writes: a fresh owned table after round 0, else the spare one.
  std::vector<Fp2>& FoldTarget() { return borrowed ? owned : spare; }
};

// Per-term partial sums over one range of pairs, for one thread.
struct PartialSums {
  std::vector<AccFp> base;   // [term][t], used by all-Fp terms
  std::vector<AccFp2> ext;   // [term][t], used by the others
};

class Prover {
 public:
  Prover(const VirtualPolynomial& poly, std::vector<Table> tables, int threads)
      : poly_(poly), degree_(poly.Degree()), tables_(std::move(tables)), threads_(threads) {}

  // g(0..d) for the current round; size is the current table length (>= 2).
  std::vector<Fp2> RoundPoly(size_t size, bool with_one, Fp2 claim) {
    const size_t pairs = size / 2;
    const size_t stride = degree_ + 1;
    auto make = [&] {
      PartialSums s;
      s.base.resize(poly_.terms.size() * stride);
      s.ext.resize(poly_.terms.size() * stride);
      return s;
    };
    PartialSums lo = make(), hi = make();
    const size_t mid = Split(pairs);
    internal::RunPair(mid < pairs, [&] { RangeSums(0, mid, with_one, lo); },
                      [&] { RangeSums(mid, pairs, with_one, hi); });
    std::vector<Fp2> g(stride);
    for (size_t t = 0; t < poly_.terms.size(); ++t) {
      for (size_t x = 0; x < stride; ++x) {
        const size_t k = t * stride + x;
        AccFp b = lo.base[k];
        b.Merge(hi.base[k]);
        AccFp2 e = lo.ext[k];
        e.Merge(hi.ext[k]);
        g[x] += poly_.terms[t].coeff * (b.Get() + e.Get());
      }
    }
    if (!with_one) g[1] = claim - g[0];
    return g;
  }

  // Fixes the current first variable of every table to r.
  void Fold(size_t size, Fp2 r) {
    const size_t half = size / 2;
    for (Table& t : tables_) t.FoldTarget().resize(half);
    const size_t mid = Split(half);
    internal::RunPair(mid < half, [&] { FoldRange(0, mid, r); },
                      [&] { FoldRange(mid, half, r); });
    for (Table& t : tables_) {
      if (t.borrowed) {
        t.borrowed = false;
        t.base = nullptr;
      } else {
        std::swap(t.owned, t.spare);
      }
      t.ext = t.owned.data();
    }
  }

  std::vector<Fp2> FinalValues() const {
    std::vector<Fp2> out;
    out.reserve(tables_.size());
    for (const Table& t : tables_) out.push_back(t.ext[0]);
    return out;
  }

 private:
  size_t Split(size_t n) const { return threads_ >= 2 && n >= kMinParallelPairs ? n / 2 : n; }

  void RangeSums(size_t begin, size_t end, bool with_one, PartialSums& out) const {
    if (begin == end) return;
    const size_t stride = degree_ + 1;
    for (size_t t = 0; t < poly_.terms.size(); ++t) {
      const std::vector<uint32_t>& factors = poly_.terms[t].factors;
      // The term's Fp factors (round 0 only) and Fp2 factors, each in term order.
      std::array<const Fp*, kMaxSumcheckDegree> base{};
      std::array<const Fp2*, kMaxSumcheckDegree> ext{};
      size_t nb = 0, ne = 0;
      for (uint32_t j : factors) {
        const Table& table = tables_[j];
        if (table.base) {
          base[nb++] = table.base;
        } else {
          ext[ne++] = table.ext;
        }
      }
      if (ne == 0) {
        DispatchTermSums<Fp>(PtrLoad<Fp>{base.data()}, nb, degree_, with_one, begin, end,
                             &out.base[t * stride]);
      } else if (nb == 0) {
        DispatchTermSums<Fp2>(PtrLoad<Fp2>{ext.data()}, ne, degree_, with_one, begin, end,
                              &out.ext[t * stride]);
      } else {
        DispatchMixedTermSums(base.data(), nb, ext.data(), ne, degree_, with_one, begin, end,
                              &out.ext[t * stride]);
      }
    }
  }

  void FoldRange(size_t begin, size_t end, Fp2 r) {
    if (begin == end) return;
    for (Table& t : tables_) {
      const std::span<Fp2> out = std::span<Fp2>(t.FoldTarget()).subspan(begin, end - begin);
      if (t.base) {
        FoldFirstVariable(std::span<const Fp>(t.base + 2 * begin, 2 * (end - begin)), r, out);
      } else {
        FoldFirstVariable(std::span<const Fp2>(t.ext + 2 * begin, 2 * (end - begin)), r, out);
      }
    }
  }

  const VirtualPolynomial& poly_;
  const unsigned degree_;
  std::vector<Table> tables_;
  const int threads_;
};

void AbsorbHeader(Transcript& transcript, unsigned num_vars, unsigned degree, Fp2 claim) {
  transcript.AbsorbU64("sumcheck/num_vars", num_vars);
  transcript.AbsorbU64("sumcheck/degree", degree);
  transcript.AbsorbFp2("sumcheck/claim", claim);
}

}  // namespace

Status VirtualPolynomial::Validate() const {
  if (num_vars < 1 || num_vars > kMaxSumcheckVars)
    return InvalidArgument("sumcheck needs 1.." + std::to_string(kMaxSumcheckVars) +
                           " variables, got " + std::to_string(num_vars));
  if (terms.empty()) return InvalidArgument("virtual polynomial has no terms");
  for (size_t t = 0; t < terms.size(); ++t) {
    const auto& factors = terms[t].factors;
    if (factors.empty() || factors.size() > kMaxSumcheckDegree)
      return InvalidArgument("term " + std::to_string(t) + " has " +
                             std::to_string(factors.size()) + " factors (allowed 1.." +
                             std::to_string(kMaxSumcheckDegree) + ")");
    for (uint32_t j : factors)
      if (j >= num_multilinears)
        return InvalidArgument("term " + std::to_string(t) + " names multilinear " +
                               std::to_string(j) + " of " + std::to_string(num_multilinears));
  }
  return Status::Ok();
}

unsigned VirtualPolynomial::Degree() const {
  size_t d = 0;
  for (const ProductTerm& t : terms) d = std::max(d, t.factors.size());
  return static_cast<unsigned>(d);
}

Result<Fp2> VirtualPolynomial::Evaluate(std::span<const Fp2> values) const {
  if (values.size() != num_multilinears)
    return InvalidArgument("virtual polynomial has " + std::to_string(num_multilinears) +
                           " multilinears, got " + std::to_string(values.size()) + " values");
  Fp2 sum;
  for (const ProductTerm& t : terms) {
    Fp2 p = t.coeff;
    for (uint32_t j : t.factors) {
      if (j >= values.size()) return InvalidArgument("factor index out of range");
      p *= values[j];
    }
    sum += p;
  }
  return sum;
}

void SumcheckProof::WriteTo(codec::Writer& w) const {
  w.U32(static_cast<uint32_t>(round_polys.size()));
  for (const auto& g : round_polys) {
    w.U32(static_cast<uint32_t>(g.size()));
    for (Fp2 x : g) WriteFp2(w, x);
  }
}

Result<SumcheckProof> SumcheckProof::ReadFrom(codec::Reader& r) {
  ASSIGN_OR_RETURN(uint32_t rounds, r.Count(4));
  if (rounds > kMaxRounds)
    return InvalidArgument("sumcheck proof has " + std::to_string(rounds) + " rounds (max " +
                           std::to_string(kMaxRounds) + ")");
  SumcheckProof proof;
  proof.round_polys.resize(rounds);
  for (auto& g : proof.round_polys) {
    ASSIGN_OR_RETURN(uint32_t n, r.Count(Fp2::kBytes));
    if (n > kMaxSumcheckDegree + 1)
      return InvalidArgument("sumcheck round polynomial has " + std::to_string(n) +
                             " values (max " + std::to_string(kMaxSumcheckDegree + 1) + ")");
    g.resize(n);
    for (Fp2& x : g) {
      ASSIGN_OR_RETURN(x, ReadFp2(r));
    }
  }
  return proof;
}

Bytes SumcheckProof::Encode() const {
  codec::Writer w;
  w.U8(kVersion);
  WriteTo(w);
  return w.Take();
}

Result<SumcheckProof> SumcheckProof::Decode(ByteView bytes) {
  codec::Reader r(bytes);
  ASSIGN_OR_RETURN(uint8_t version, r.U8());
  if (version != kVersion)
    return InvalidArgument("sumcheck proof version " + std::to_string(version) + " (expected " +
                           std::to_string(kVersion) + ")");
  ASSIGN_OR_RETURN(SumcheckProof proof, ReadFrom(r));
  RETURN_IF_ERROR(r.Finish());
  return proof;
}

Fp2 InterpolateAt(std::span<const Fp2> evals, Fp2 r) {
  if (evals.empty()) return Fp2::Zero();
  const size_t n = evals.size();
  if (r.IsBase() && r.c0().value() < n) return evals[r.c0().value()];
  // L_i(r) = prod_{j != i} (r - j) / (i - j) = total / ((r - i) * w_i),
  // w_i = prod_{j != i} (i - j) = (-1)^(n-1-i) i! (n-1-i)!.
  std::vector<Fp2> denom(n);
  Fp2 total = Fp2::One();
  std::vector<Fp> fact(n);
  fact[0] = Fp::One();
  for (size_t i = 1; i < n; ++i) fact[i] = fact[i - 1] * Fp::FromU64(i);
  for (size_t i = 0; i < n; ++i) {
    const Fp2 diff = r - Fp2::FromU64(i);
    total *= diff;
    Fp w = fact[i] * fact[n - 1 - i];
    if ((n - 1 - i) % 2 == 1) w = -w;
    denom[i] = diff * w;  // non-zero: r is not a node and w is a product of small non-zeros
  }
  BatchInverse(denom);
  Fp2 sum;
  for (size_t i = 0; i < n; ++i) sum += evals[i] * denom[i];
  return total * sum;
}

Result<SumcheckProverOutput> ProveSumcheck(const VirtualPolynomial& poly,
                                           std::span<const MultilinearRef> multilinears,
                                           Transcript& transcript,
                                           const SumcheckOptions& options) {
  RETURN_IF_ERROR(poly.Validate());
  if (multilinears.size() != poly.num_multilinears)
    return InvalidArgument("virtual polynomial has " + std::to_string(poly.num_multilinears) +
                           " multilinears, got " + std::to_string(multilinears.size()));
  const size_t size = size_t{1} << poly.num_vars;
  std::vector<Table> tables(multilinears.size());
  for (size_t j = 0; j < multilinears.size(); ++j) {
    const size_t n = std::visit([](auto s) { return s.size(); }, multilinears[j]);
    if (n != size)
      return InvalidArgument("multilinear " + std::to_string(j) + " has " + std::to_string(n) +
                             " evaluations, expected 2^" + std::to_string(poly.num_vars));
    if (const auto* b = std::get_if<std::span<const Fp>>(&multilinears[j])) {
      tables[j].base = b->data();
    } else {
      tables[j].ext = std::get<std::span<const Fp2>>(multilinears[j]).data();
    }
  }

  const unsigned degree = poly.Degree();
  Prover prover(poly, std::move(tables), options.threads);
  SumcheckProverOutput out;
  out.proof.round_polys.reserve(poly.num_vars);
  out.point.reserve(poly.num_vars);
  Fp2 claim;
  for (unsigned round = 0; round < poly.num_vars; ++round) {
    const size_t cur = size >> round;
    std::vector<Fp2> g = prover.RoundPoly(cur, /*with_one=*/round == 0, claim);
    if (round == 0) {
      out.claimed_sum = g[0] + g[1];
      AbsorbHeader(transcript, poly.num_vars, degree, out.claimed_sum);
    }
    transcript.AbsorbFp2("sumcheck/round", g);
    const Fp2 r = transcript.ChallengeFp2("sumcheck/challenge");
    claim = InterpolateAt(g, r);
    prover.Fold(cur, r);
    out.point.push_back(r);
    out.proof.round_polys.push_back(std::move(g));
  }
  out.final_values = prover.FinalValues();
  return out;
}

Status SumcheckSubclaim::CheckFinal(const VirtualPolynomial& poly,
                                    std::span<const Fp2> values) const {
  ASSIGN_OR_RETURN(Fp2 value, poly.Evaluate(values));
  if (value != expected_value)
    return InvalidArgument("sumcheck final evaluation does not match the last round's claim");
  return Status::Ok();
}

Result<SumcheckSubclaim> VerifySumcheck(unsigned num_vars, unsigned degree, Fp2 claimed_sum,
                                        const SumcheckProof& proof, Transcript& transcript) {
  if (num_vars < 1 || num_vars > kMaxSumcheckVars)
    return InvalidArgument("sumcheck variable count " + std::to_string(num_vars) +
                           " out of range");
  if (degree < 1 || degree > kMaxSumcheckDegree)
    return InvalidArgument("sumcheck degree " + std::to_string(degree) + " out of range");
  if (proof.round_polys.size() != num_vars)
    return InvalidArgument("sumcheck proof has " + std::to_string(proof.round_polys.size()) +
                           " rounds, expected " + std::to_string(num_vars));
  AbsorbHeader(transcript, num_vars, degree, claimed_sum);
  SumcheckSubclaim sub;
  sub.point.reserve(num_vars);
  Fp2 claim = claimed_sum;
  for (unsigned round = 0; round < num_vars; ++round) {
    const std::vector<Fp2>& g = proof.round_polys[round];
    if (g.size() != degree + 1)
      return InvalidArgument("sumcheck round " + std::to_string(round) + " has " +
                             std::to_string(g.size()) + " values, expected " +
                             std::to_string(degree + 1));
    if (g[0] + g[1] != claim)
      return InvalidArgument("sumcheck round " + std::to_string(round) +
                             ": g(0) + g(1) does not equal the claim");
    transcript.AbsorbFp2("sumcheck/round", g);
    const Fp2 r = transcript.ChallengeFp2("sumcheck/challenge");
    claim = InterpolateAt(g, r);
    sub.point.push_back(r);
  }
  sub.expected_value = claim;
  return sub;
}

}  // namespace lucid::zk
