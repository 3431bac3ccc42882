// GEMM kernel throughput. Counters: "GOPS" = 2·m·n·k / time / 1e9 (one multiply-add is
// two operations). BM_CpuCycles measures the core clock with a chain of dependent adds
// (one cycle each), which compare.py uses to compute the machine's peak.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "base/cpu.h"

#include "tensor/gemm.h"
#include "tensor/gemm_internal.h"

namespace {

template <typename T>
std::vector<T> RandomVec(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<T> v(n);
  for (auto& x : v) {
    if constexpr (std::is_floating_point_v<T>)
      x = static_cast<T>(static_cast<int>(rng() % 2001) - 1000) / 1000.0f;
    else
      x = static_cast<T>(rng());
  }
  return v;
}

void SetOps(benchmark::State& state, int64_t m, int64_t n, int64_t k) {
  state.counters["GOPS"] = benchmark::Counter(2.0 * double(m) * double(n) * double(k) * double(state.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
}

void BM_GemmF32(benchmark::State& state) {
  int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  int threads = static_cast<int>(state.range(3));
  auto a = RandomVec<float>(m * k, 1), b = RandomVec<float>(k * n, 2);
  std::vector<float> c(m * n);
  for (auto _ : state) {
    lucid::gemm::GemmF32(m, n, k, a.data(), k, b.data(), n, c.data(), n, threads);
    benchmark::DoNotOptimize(c.data());
  }
  SetOps(state, m, n, k);
}

void BM_GemmF32Reference(benchmark::State& state) {
  int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  auto a = RandomVec<float>(m * k, 1), b = RandomVec<float>(k * n, 2);
  std::vector<float> c(m * n);
  for (auto _ : state) {
    lucid::gemm::GemmF32Reference(m, n, k, a.data(), k, b.data(), n, c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  SetOps(state, m, n, k);
}

void BM_GemmU8S8S32(benchmark::State& state) {
  int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  int threads = static_cast<int>(state.range(3));
  auto a = RandomVec<uint8_t>(m * k, 1);
  auto b = RandomVec<int8_t>(k * n, 2);
  std::vector<int32_t> c(m * n);
  for (auto _ : state) {
    lucid::gemm::GemmU8S8S32(m, n, k, a.data(), k, b.data(), n, c.data(), n, threads);
    benchmark::DoNotOptimize(c.data());
  }
  SetOps(state, m, n, k);
}

void BM_GemmS8S8S32(benchmark::State& state) {
  int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  int threads = static_cast<int>(state.range(3));
  auto a = RandomVec<int8_t>(m * k, 1);
  auto b = RandomVec<int8_t>(k * n, 2);
  std::vector<int32_t> c(m * n);
  for (auto _ : state) {
    lucid::gemm::GemmS8S8S32(m, n, k, a.data(), k, b.data(), n, c.data(), n, threads);
    benchmark::DoNotOptimize(c.data());
  }
  SetOps(state, m, n, k);
}

// The kernels of the path named by range(4) (0 scalar, 1 AVX2, 2 AVX-512 VNNI), labelled;
// nullptr (and the benchmark skipped) when the CPU lacks the path.
const lucid::gemm::internal::Kernels* PathOf(benchmark::State& state) {
  const auto* kernels =
      lucid::gemm::internal::KernelsFor(static_cast<lucid::gemm::internal::Path>(state.range(4)));
  if (!kernels) {
    state.SkipWithError("this CPU does not run that path");
    return nullptr;
  }
  state.SetLabel(std::string(kernels->name));
  return kernels;
}

// u8·s8 with B packed once (what the engine runs for constant weights), on one named path.
void BM_GemmU8S8S32PackedPath(benchmark::State& state) {
  int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  int threads = static_cast<int>(state.range(3));
  const auto* kernels = PathOf(state);
  if (!kernels) return;
  auto a = RandomVec<uint8_t>(m * k, 1);
  auto b = RandomVec<int8_t>(k * n, 2);
  auto packed = lucid::gemm::internal::PackI8BFor(*kernels, k, n, b.data(), n);
  std::vector<int32_t> c(m * n);
  for (auto _ : state) {
    lucid::gemm::internal::GemmU8S8S32PackedWith(*kernels, m, n, k, a.data(), k, packed, c.data(), n, threads);
    benchmark::DoNotOptimize(c.data());
  }
  SetOps(state, m, n, k);
}

// Float with B packed once (constant weights, and Conv's im2col strips), on one named path.
void BM_GemmF32PackedPath(benchmark::State& state) {
  int64_t m = state.range(0), n = state.range(1), k = state.range(2);
  int threads = static_cast<int>(state.range(3));
  const auto* kernels = PathOf(state);
  if (!kernels) return;
  auto a = RandomVec<float>(m * k, 1), b = RandomVec<float>(k * n, 2);
  std::vector<float> packed(static_cast<size_t>(lucid::gemm::PackedF32Size(k, n))), c(m * n);
  lucid::gemm::PackF32B(k, n, b.data(), n, packed.data());
  for (auto _ : state) {
    lucid::gemm::internal::GemmF32PackedWith(*kernels, m, n, k, a.data(), k, packed.data(), c.data(), n, threads);
    benchmark::DoNotOptimize(c.data());
  }
  SetOps(state, m, n, k);
}

// Independent 512-bit vpdpbusd (12 accumulators, no loads) per second: the machine's VNNI
// instruction throughput, from which compare.py computes the peak (64 MACs = 128 ops each)
// instead of assuming a pipe count. Reports 0 without AVX-512 VNNI.
#if defined(__x86_64__)
__attribute__((target("avx512f,avx512vnni"))) void VnniLoop(int64_t iters) {
  for (int64_t i = 0; i < iters; ++i)
    asm volatile(
        ".rept 4\n\t"
        "vpdpbusd %%zmm14, %%zmm15, %%zmm0\n\tvpdpbusd %%zmm14, %%zmm15, %%zmm1\n\t"
        "vpdpbusd %%zmm14, %%zmm15, %%zmm2\n\tvpdpbusd %%zmm14, %%zmm15, %%zmm3\n\t"
        "vpdpbusd %%zmm14, %%zmm15, %%zmm4\n\tvpdpbusd %%zmm14, %%zmm15, %%zmm5\n\t"
        "vpdpbusd %%zmm14, %%zmm15, %%zmm6\n\tvpdpbusd %%zmm14, %%zmm15, %%zmm7\n\t"
        "vpdpbusd %%zmm14, %%zmm15, %%zmm8\n\tvpdpbusd %%zmm14, %%zmm15, %%zmm9\n\t"
        "vpdpbusd %%zmm14, %%zmm15, %%zmm10\n\tvpdpbusd %%zmm14, %%zmm15, %%zmm11\n\t"
        ".endr" ::: "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11");
}
#endif

void BM_VnniThroughput(benchmark::State& state) {
  constexpr int64_t kIters = 1 << 20;
  bool has = lucid::CpuHasAvx512Vnni();
  for (auto _ : state) {
#if defined(__x86_64__)
    if (has) VnniLoop(kIters);
#endif
  }
  state.counters["Ginstr"] =
      benchmark::Counter(has ? 48.0 * kIters * double(state.iterations()) / 1e9 : 0.0, benchmark::Counter::kIsRate);
}

// 64 dependent adds per iteration: one cycle each on every x86 core of the last decade, so
// cycles/second = adds/second (the loop counter runs in parallel on another port).
void BM_CpuCycles(benchmark::State& state) {
  constexpr int64_t kIters = 1 << 22;
  for (auto _ : state) {
    uint64_t x = 0;
#if defined(__x86_64__)
    for (int64_t i = 0; i < kIters; ++i)
      asm volatile(
          ".rept 64\n\t"
          "add $1, %0\n\t"
          ".endr"
          : "+r"(x));
#endif
    benchmark::DoNotOptimize(x);
  }
  state.counters["GHz"] = benchmark::Counter(64.0 * kIters * double(state.iterations()) / 1e9, benchmark::Counter::kIsRate);
}

void Shapes(benchmark::internal::Benchmark* b) {
  for (int threads : {1, 2}) {
    b->Args({256, 256, 256, threads});
    b->Args({512, 512, 512, threads});
    b->Args({32, 1024, 1024, threads});  // the MLP's hidden layer
  }
}

BENCHMARK(BM_GemmF32)->Apply(Shapes)->UseRealTime();
BENCHMARK(BM_GemmF32Reference)->Args({256, 256, 256, 1});
BENCHMARK(BM_GemmU8S8S32)->Apply(Shapes)->UseRealTime();
BENCHMARK(BM_GemmS8S8S32)->Args({512, 512, 512, 1})->UseRealTime();
BENCHMARK(BM_GemmU8S8S32PackedPath)
    ->ArgsProduct({{512}, {512}, {512}, {1}, {0, 1, 2}})
    ->ArgsProduct({{32}, {1024}, {1024}, {1}, {1, 2}})
    ->ArgsProduct({{512}, {512}, {512}, {2}, {1, 2}})
    ->UseRealTime();
BENCHMARK(BM_GemmF32PackedPath)
    ->ArgsProduct({{512}, {512}, {512}, {1}, {1, 2}})
    ->ArgsProduct({{32}, {1024}, {1024}, {1}, {1, 2}})
    ->UseRealTime();
BENCHMARK(BM_VnniThroughput);
BENCHMARK(BM_CpuCycles);

}  // namespace

BENCHMARK_MAIN();
