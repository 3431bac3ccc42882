// src/zk foundation benchmarks (docs/zk.md, Foundation): field throughput, NTT, multilinear
// evaluation and the sumcheck prover. "per_elem" is wall time per input element.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "zk/field.h"
#include "zk/multilinear.h"
#include "zk/ntt.h"
#include "zk/sumcheck.h"
#include "zk/transcript.h"

namespace lucid::zk {
namespace {

std::vector<Fp> RandomFp(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Fp> v(n);
  for (Fp& x : v) x = Fp::FromU64(rng());
  return v;
}
std::vector<Fp2> RandomFp2(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Fp2> v(n);
  for (Fp2& x : v) x = Fp2(Fp::FromU64(rng()), Fp::FromU64(rng()));
  return v;
}

void SetPerElement(benchmark::State& state, size_t n) {
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  // Seconds per element; Google Benchmark prints it with an SI prefix ("33.4n" = 33.4 ns).
  state.counters["per_elem"] = benchmark::Counter(
      static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                  benchmark::Counter::kInvert);
}

// Throughput: independent operations over arrays that fit in L1.
constexpr size_t kArray = 1024;

void BM_FpMul(benchmark::State& state) {
  std::vector<Fp> a = RandomFp(kArray, 1), b = RandomFp(kArray, 2);
  for (auto _ : state) {
    for (size_t i = 0; i < kArray; ++i) a[i] = a[i] * b[i];
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
  SetPerElement(state, kArray);
}
BENCHMARK(BM_FpMul);

void BM_FpAdd(benchmark::State& state) {
  std::vector<Fp> a = RandomFp(kArray, 1), b = RandomFp(kArray, 2);
  for (auto _ : state) {
    for (size_t i = 0; i < kArray; ++i) a[i] = a[i] + b[i];
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
  SetPerElement(state, kArray);
}
BENCHMARK(BM_FpAdd);

// Latency: a chain of dependent multiplications.
void BM_FpMulLatency(benchmark::State& state) {
  Fp x = Fp::FromU64(3), y = Fp::FromU64(0x1234567890abcdefULL);
  for (auto _ : state) {
    for (size_t i = 0; i < kArray; ++i) x *= y;
    benchmark::DoNotOptimize(x);
  }
  SetPerElement(state, kArray);
}
BENCHMARK(BM_FpMulLatency);

void BM_Fp2Mul(benchmark::State& state) {
  std::vector<Fp2> a = RandomFp2(kArray, 1), b = RandomFp2(kArray, 2);
  for (auto _ : state) {
    for (size_t i = 0; i < kArray; ++i) a[i] = a[i] * b[i];
    benchmark::DoNotOptimize(a.data());
    benchmark::ClobberMemory();
  }
  SetPerElement(state, kArray);
}
BENCHMARK(BM_Fp2Mul);

void BM_FpInverse(benchmark::State& state) {
  Fp x = Fp::FromU64(0x1234567890abcdefULL);
  for (auto _ : state) {
    x = x.Inverse() + Fp::One();
    benchmark::DoNotOptimize(x);
  }
}
BENCHMARK(BM_FpInverse);

// Args: log2 size, threads.
void BM_Ntt(benchmark::State& state) {
  const size_t n = size_t{1} << state.range(0);
  const int threads = static_cast<int>(state.range(1));
  std::vector<Fp> v = RandomFp(n, 3);
  for (auto _ : state) {
    if (!Ntt(v, threads).ok()) state.SkipWithError("NTT failed");
    benchmark::ClobberMemory();
  }
  SetPerElement(state, n);
}
BENCHMARK(BM_Ntt)->Args({20, 1})->Args({20, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ReedSolomon(benchmark::State& state) {
  const size_t n = size_t{1} << state.range(0);
  const std::vector<Fp> msg = RandomFp(n, 4);
  for (auto _ : state) {
    auto code = ReedSolomonEncode(msg, 2, static_cast<int>(state.range(1)));
    if (!code.ok()) state.SkipWithError("encode failed");
    benchmark::DoNotOptimize(code);
  }
  SetPerElement(state, n);
}
BENCHMARK(BM_ReedSolomon)->Args({18, 1})->Args({18, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_MleEvaluate(benchmark::State& state) {
  const unsigned vars = static_cast<unsigned>(state.range(0));
  const std::vector<Fp> evals = RandomFp(size_t{1} << vars, 5);
  const std::vector<Fp2> point = RandomFp2(vars, 6);
  for (auto _ : state) {
    auto v = EvaluateMultilinear(evals, point, static_cast<int>(state.range(1)));
    benchmark::DoNotOptimize(v);
  }
  SetPerElement(state, evals.size());
}
BENCHMARK(BM_MleEvaluate)->Args({20, 1})->Args({20, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_EqTable(benchmark::State& state) {
  const std::vector<Fp2> point = RandomFp2(static_cast<size_t>(state.range(0)), 7);
  for (auto _ : state) {
    auto t = EqTable(point);
    benchmark::DoNotOptimize(t);
  }
  SetPerElement(state, size_t{1} << state.range(0));
}
BENCHMARK(BM_EqTable)->Arg(20)->Unit(benchmark::kMillisecond);

// Sumcheck prover for sum_x f(x) g(x) (degree 2, Fp inputs: a matrix-product claim), and for
// sum_x eq(x) f(x) g(x) (degree 3, eq in Fp2). Args: log2 size, threads.
void RunSumcheck(benchmark::State& state, bool with_eq) {
  const unsigned vars = static_cast<unsigned>(state.range(0));
  const size_t n = size_t{1} << vars;
  const std::vector<Fp> f = RandomFp(n, 8), g = RandomFp(n, 9);
  std::vector<Fp2> eq;
  VirtualPolynomial poly;
  poly.num_vars = vars;
  std::vector<MultilinearRef> refs = {std::span<const Fp>(f), std::span<const Fp>(g)};
  if (with_eq) {
    eq = *EqTable(RandomFp2(vars, 10));
    refs.emplace_back(std::span<const Fp2>(eq));
    poly.terms.push_back({Fp2::One(), {2, 0, 1}});
  } else {
    poly.terms.push_back({Fp2::One(), {0, 1}});
  }
  poly.num_multilinears = refs.size();
  const SumcheckOptions options{static_cast<int>(state.range(1))};
  for (auto _ : state) {
    Transcript t("lucid:bench:v1");
    auto out = ProveSumcheck(poly, refs, t, options);
    if (!out.ok()) state.SkipWithError("prover failed");
    benchmark::DoNotOptimize(out);
  }
  SetPerElement(state, n);
}
void BM_SumcheckProduct(benchmark::State& state) { RunSumcheck(state, false); }
void BM_SumcheckEqProduct(benchmark::State& state) { RunSumcheck(state, true); }
BENCHMARK(BM_SumcheckProduct)->Args({20, 1})->Args({20, 2})->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SumcheckEqProduct)->Args({20, 1})->Args({20, 2})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace lucid::zk

BENCHMARK_MAIN();
