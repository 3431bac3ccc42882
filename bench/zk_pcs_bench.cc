// Polynomial commitment benchmarks (docs/zk.md, "Polynomial commitment"): commit, open and
// verify for n variables with the default 148 queries; commit and open with 1 and 2 threads
// (verify is single-threaded); open/verify with 1 claim and with 8 claims (sumcheck
// batching). "proof_bytes" is the encoded opening.
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "zk/multilinear.h"
#include "zk/pcs.h"

namespace lucid::zk::pcs {
namespace {

constexpr std::string_view kTag = "lucid:bench:pcs:v1";

std::vector<Fp> RandomEvals(unsigned n) {
  std::mt19937_64 rng(n);
  std::vector<Fp> v(size_t{1} << n);
  for (Fp& x : v) x = Fp::FromU64(rng());
  return v;
}

std::vector<Claim> RandomClaims(const std::vector<Fp>& evals, unsigned n, size_t count) {
  std::mt19937_64 rng(1000 + n);
  std::vector<Claim> claims(count);
  for (Claim& c : claims) {
    for (unsigned i = 0; i < n; ++i) c.point.emplace_back(Fp::FromU64(rng()), Fp::FromU64(rng()));
    c.value = *EvaluateMultilinear(evals, c.point, 2);
  }
  return claims;
}

void BM_PcsCommit(benchmark::State& state) {
  const unsigned n = static_cast<unsigned>(state.range(0));
  const std::vector<Fp> evals = RandomEvals(n);
  Params params;
  params.threads = static_cast<int>(state.range(1));
  for (auto _ : state) {
    auto data = Commit(evals, params);
    if (!data.ok()) state.SkipWithError("commit failed");
    benchmark::DoNotOptimize(data);
  }
  state.counters["log_rows"] = ChooseLogRows(n, kDefaultQueries);
}
BENCHMARK(BM_PcsCommit)
    ->ArgsProduct({{16, 18, 20}, {1, 2}})
    ->ArgNames({"n", "threads"})
    ->Unit(benchmark::kMillisecond);

void BM_PcsOpen(benchmark::State& state) {
  const unsigned n = static_cast<unsigned>(state.range(0));
  const std::vector<Fp> evals = RandomEvals(n);
  const ProverData data = *Commit(evals);
  const std::vector<Claim> claims = RandomClaims(evals, n, static_cast<size_t>(state.range(1)));
  Params params;
  params.threads = static_cast<int>(state.range(2));
  size_t bytes = 0;
  for (auto _ : state) {
    Transcript t(kTag);
    auto proof = Open(data, claims, t, params);
    if (!proof.ok()) state.SkipWithError("open failed");
    bytes = proof->Encode().size();
  }
  state.counters["proof_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_PcsOpen)
    ->ArgsProduct({{16, 18, 20}, {1, 8}, {1, 2}})
    ->ArgNames({"n", "claims", "threads"})
    ->Unit(benchmark::kMillisecond);

void BM_PcsVerify(benchmark::State& state) {
  const unsigned n = static_cast<unsigned>(state.range(0));
  const std::vector<Fp> evals = RandomEvals(n);
  const ProverData data = *Commit(evals);
  const std::vector<Claim> claims = RandomClaims(evals, n, static_cast<size_t>(state.range(1)));
  Transcript tp(kTag);
  const Bytes bytes = Open(data, claims, tp)->Encode();
  for (auto _ : state) {
    // Decoding is part of what a verifier does with the bytes it receives.
    auto proof = OpeningProof::Decode(bytes, data.commitment);
    Transcript t(kTag);
    if (!proof.ok() || !Verify(data.commitment, claims, *proof, t).ok())
      state.SkipWithError("verify failed");
  }
  state.counters["proof_bytes"] = static_cast<double>(bytes.size());
}
BENCHMARK(BM_PcsVerify)
    ->ArgsProduct({{16, 18, 20}, {1, 8}})
    ->ArgNames({"n", "claims"})
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace lucid::zk::pcs

BENCHMARK_MAIN();
