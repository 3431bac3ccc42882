// Quantized mat-vec (src/llm/quant.h) at SmolLM2-135M's shapes, against the memory read
// bandwidth measured in the same run. A decode step streams every weight once, so a
// mat-vec is bound by how fast its weight bytes arrive: "weight_GBps" = weight bytes / time,
// "of_bw" = weight_GBps / the measured read bandwidth with the same thread count
// (BM_ReadBandwidth: a 512 MiB buffer summed with AVX2/scalar loads, the kernel's access
// pattern). Shapes are rows x cols (out x in): 576x576 (attn q/o), 1536x576 (ffn gate/up),
// 576x1536 (ffn down), 49152x576 (output / tied embedding). Q4_K needs cols % 256 == 0, so
// it runs at 576x1536 (and at 576x768 / 1536x768 / 49152x768 as the nearest K-quant shapes).
// The path is the CPU's best unless LUCID_GEMM_PATH=scalar|avx2|avx512-vnni.
// Run: build-bench/bench/llm_quant_bench [--benchmark_filter=...]
#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <immintrin.h>
#include <map>
#include <random>
#include <vector>

#include "base/cpu.h"
#include "base/parallel.h"
#include "llm/quant.h"

namespace {

using lucid::llm::GgmlType;

std::vector<uint8_t> RandomWeights(GgmlType type, int64_t rows, int64_t cols) {
  std::mt19937 rng(42);
  int64_t rb = lucid::llm::RowBytes(type, cols);
  std::vector<uint8_t> w(static_cast<size_t>(rows * rb));
  for (auto& b : w) b = static_cast<uint8_t>(rng());
  const lucid::llm::TypeInfo* ti = lucid::llm::TypeInfoOf(static_cast<uint32_t>(type));
  uint16_t h = lucid::llm::FloatToHalf(0.01f);
  for (int64_t i = 0; i < rows * cols / ti->block_size; ++i) {
    uint8_t* blk = w.data() + i * ti->type_size;
    int off = type == GgmlType::kQ6_K ? 208 : 0;
    std::memcpy(blk + off, &h, 2);
    if (type == GgmlType::kQ4_1 || type == GgmlType::kQ4_K) std::memcpy(blk + 2, &h, 2);
  }
  return w;
}

// Sum of a large buffer with every thread reading its own contiguous part.
__attribute__((target("avx2"))) float SumAvx2(const float* p, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = 0; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(p + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(p + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(p + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(p + i + 24));
  }
  alignas(32) float l[8];
  _mm256_store_ps(l, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  return l[0] + l[1] + l[2] + l[3] + l[4] + l[5] + l[6] + l[7];
}
float SumScalar(const float* p, int64_t n) {
  float a[4] = {};
  for (int64_t i = 0; i + 4 <= n; i += 4)
    for (int j = 0; j < 4; ++j) a[j] += p[i + j];
  return a[0] + a[1] + a[2] + a[3];
}

std::map<int, double>& Bandwidth() {  // threads -> bytes/s, measured by BM_ReadBandwidth
  static std::map<int, double> bw;
  return bw;
}

void BM_ReadBandwidth(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const int64_t n = int64_t{128} << 20;  // 512 MiB of floats
  std::vector<float> buf(static_cast<size_t>(n), 1.0f);
  const bool avx2 = lucid::CpuHasAvx2();
  std::vector<float> sink(16);
  auto start = std::chrono::steady_clock::now();
  int64_t iters = 0;
  for (auto _ : state) {
    lucid::ParallelFor(threads, threads, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t part = n / threads;
        sink[t] = avx2 ? SumAvx2(buf.data() + t * part, part) : SumScalar(buf.data() + t * part, part);
      }
    });
    benchmark::DoNotOptimize(sink.data());
    ++iters;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  double rate = double(n) * 4 * double(iters) / secs;
  Bandwidth()[threads] = rate;
  state.counters["GBps"] = benchmark::Counter(double(n) * 4 * double(state.iterations()) / 1e9,
                                              benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ReadBandwidth)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(1.0);

void BM_MatVec(benchmark::State& state) {
  auto type = static_cast<GgmlType>(state.range(0));
  int64_t rows = state.range(1), cols = state.range(2);
  int threads = static_cast<int>(state.range(3));
  auto wb = RandomWeights(type, rows, cols);
  lucid::llm::WeightMatrix w{type, rows, cols, lucid::llm::RowBytes(type, cols), wb.data()};
  std::vector<float> x(static_cast<size_t>(cols)), y(static_cast<size_t>(rows));
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  for (auto& v : x) v = nd(rng);
  for (auto _ : state) {
    lucid::llm::MatVec(w, x.data(), y.data(), threads);
    benchmark::DoNotOptimize(y.data());
  }
  double bytes = double(wb.size()) * double(state.iterations());
  state.counters["weight_GBps"] = benchmark::Counter(bytes / 1e9, benchmark::Counter::kIsRate);
  state.counters["GMACs"] = benchmark::Counter(double(rows) * double(cols) * double(state.iterations()) / 1e9,
                                               benchmark::Counter::kIsRate);
  if (auto it = Bandwidth().find(threads); it != Bandwidth().end())
    state.counters["of_bw"] = benchmark::Counter(bytes / it->second, benchmark::Counter::kIsRate);
  state.SetLabel(std::string(lucid::llm::TypeName(type)) + " " + std::string(lucid::llm::ActiveQuantPath()) +
                 " " + std::to_string(wb.size() / 1024) + " KiB");
}

void Shapes(benchmark::internal::Benchmark* b) {
  const int64_t q41 = static_cast<int64_t>(GgmlType::kQ4_1), q80 = static_cast<int64_t>(GgmlType::kQ8_0),
                q4k = static_cast<int64_t>(GgmlType::kQ4_K);
  const std::vector<std::pair<int64_t, int64_t>> smol = {{576, 576}, {1536, 576}, {576, 1536}, {49152, 576}};
  const std::vector<std::pair<int64_t, int64_t>> kq = {{576, 768}, {1536, 768}, {576, 1536}, {49152, 768}};
  for (int64_t t : {1, 2}) {
    for (int64_t type : {q41, q80})
      for (auto [r, c] : smol) b->Args({type, r, c, t});
    for (auto [r, c] : kq) b->Args({q4k, r, c, t});
  }
}
BENCHMARK(BM_MatVec)->Apply(Shapes)->ArgNames({"type", "rows", "cols", "threads"})->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
