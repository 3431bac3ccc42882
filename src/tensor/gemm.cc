// Scalar reference kernels, the threaded tile driver and the run-time dispatcher.
// Optimised block kernels (gemm_avx2.cc) reproduce the references bit for bit; the
// driver only decides which block of C each thread computes, never how a sum is split.
#include "tensor/gemm.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <numeric>
#include <vector>

#include "base/cpu.h"
#include "base/parallel.h"
#include "tensor/gemm_internal.h"

namespace lucid::gemm {
namespace {
// x86 keeps the first operand's NaN, and compilers may swap commutative operands, so
// NaN sign/payload would differ between builds; every NaN result is this one instead.
float CanonicalNaN() noexcept { return std::bit_cast<float>(kCanonicalNaNBits); }
}  // namespace

void GemmF32Reference(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                      float* c, int64_t ldc) noexcept {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int64_t p = 0; p < k; ++p) acc = acc + a[i * lda + p] * b[p * ldb + j];
      c[i * ldc + j] = acc == acc ? acc : CanonicalNaN();
    }
}

template <typename A>
static void GemmIntReference(int64_t m, int64_t n, int64_t k, const A* a, int64_t lda, const int8_t* b, int64_t ldb,
                             int32_t* c, int64_t ldc) noexcept {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int32_t acc = 0;
      for (int64_t p = 0; p < k; ++p) acc += static_cast<int32_t>(a[i * lda + p]) * static_cast<int32_t>(b[p * ldb + j]);
      c[i * ldc + j] = acc;
    }
}

void GemmS8S8S32Reference(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int8_t* b,
                          int64_t ldb, int32_t* c, int64_t ldc) noexcept {
  GemmIntReference(m, n, k, a, lda, b, ldb, c, ldc);
}
void GemmU8S8S32Reference(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int8_t* b,
                          int64_t ldb, int32_t* c, int64_t ldc) noexcept {
  GemmIntReference(m, n, k, a, lda, b, ldb, c, ldc);
}

namespace internal {
namespace {

void F32Scalar(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
               int64_t ldc) {
  GemmF32Reference(m, n, k, a, lda, b, ldb, c, ldc);
}
// The reference loop reading B from the strip layout.
void F32PackedScalar(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* packed, int64_t ldk,
                     float* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      const float* col = packed + (j / 16) * ldk * 16 + j % 16;
      float acc = 0.0f;
      for (int64_t p = 0; p < k; ++p) acc = acc + a[i * lda + p] * col[p * 16];
      c[i * ldc + j] = acc == acc ? acc : CanonicalNaN();
    }
}
void S8Scalar(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int8_t* b, int64_t ldb, int32_t* c,
              int64_t ldc) {
  GemmS8S8S32Reference(m, n, k, a, lda, b, ldb, c, ldc);
}
void U8Scalar(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
              int32_t* c, int64_t ldc) {
  GemmU8S8S32Reference(m, n, k, a, lda, b, ldb, c, ldc);
}

// One element b[p, j] of a packed B, in either layout.
int32_t PackedAt(const PackedI8B& b, int64_t p, int64_t j) {
  if (b.layout == static_cast<uint8_t>(I8Layout::kQuads))
    return b.quads[static_cast<size_t>((j / 16) * QuadsOf(b.k) + p / 4)].bytes[4 * (j % 16) + p % 4];
  return b.pairs[static_cast<size_t>((j / 16) * ((b.k + 1) / 2 * 32) + (p / 2) * 32 + 2 * (j % 16) + p % 2)];
}

// Exact int32 sums over a packed B of either layout (any order gives the same integers).
template <typename A>
void I8PackedScalar(int64_t m, int64_t n, int64_t k, const A* a, int64_t lda, const PackedI8B& b, int64_t j0,
                    int32_t* c, int64_t ldc) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int32_t acc = 0;
      for (int64_t p = 0; p < k; ++p) acc += static_cast<int32_t>(a[i * lda + p]) * PackedAt(b, p, j0 + j);
      c[i * ldc + j] = acc;
    }
}
void S8PackedScalar(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const PackedI8B& b, int64_t j0,
                    int32_t* c, int64_t ldc) {
  I8PackedScalar(m, n, k, a, lda, b, j0, c, ldc);
}
void U8PackedScalar(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const PackedI8B& b, int64_t j0,
                    int32_t* c, int64_t ldc) {
  I8PackedScalar(m, n, k, a, lda, b, j0, c, ldc);
}

// The AVX2 kernels read the pair layout from the strip holding column j0.
const int16_t* PairStrip(const PackedI8B& b, int64_t j0) { return b.pairs.data() + (j0 / 16) * ((b.k + 1) / 2 * 32); }
void S8PackedAvx2(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const PackedI8B& b, int64_t j0,
                  int32_t* c, int64_t ldc) {
  GemmS8S8S32PackedAvx2(m, n, k, a, lda, PairStrip(b, j0), c, ldc);
}
void U8PackedAvx2(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const PackedI8B& b, int64_t j0,
                  int32_t* c, int64_t ldc) {
  GemmU8S8S32PackedAvx2(m, n, k, a, lda, PairStrip(b, j0), c, ldc);
}

constexpr Kernels kScalarKernels{"scalar",       F32Scalar,      F32PackedScalar, S8Scalar,
                                 U8Scalar,       S8PackedScalar, U8PackedScalar,  I8Layout::kPairs};
constexpr Kernels kAvx2Kernels{"avx2",          GemmF32Avx2,  GemmF32PackedAvx2, GemmS8S8S32Avx2,
                               GemmU8S8S32Avx2, S8PackedAvx2, U8PackedAvx2,      I8Layout::kPairs};
constexpr Kernels kVnniKernels{"avx512-vnni",         GemmF32Avx512,         GemmF32PackedAvx512,
                               GemmS8S8S32Vnni,       GemmU8S8S32Vnni,       GemmS8S8S32PackedVnni,
                               GemmU8S8S32PackedVnni, I8Layout::kQuads};

// The best path this CPU runs, unless LUCID_GEMM_PATH names another one it runs (benchmarks
// and the determinism script compare paths with it; every path gives the same bytes).
const Kernels& ChooseActive() noexcept {
  const Kernels* best = CpuHasAvx512Vnni() ? &kVnniKernels : CpuHasAvx2() ? &kAvx2Kernels : &kScalarKernels;
  if (const char* want = std::getenv("LUCID_GEMM_PATH")) {
    for (Path p : {Path::kScalar, Path::kAvx2, Path::kAvx512Vnni})
      if (const Kernels* k = KernelsFor(p); k && k->name == want) return *k;
  }
  return *best;
}

const Kernels& Active() noexcept {
  static const Kernels& chosen = ChooseActive();
  return chosen;
}

// Below this many multiply-adds a thread costs more than it saves.
constexpr int64_t kMinWorkPerThread = int64_t{1} << 16;

// Splits C into a grid of blocks (rows a multiple of 6, columns of 16, matching the
// micro-kernels) with at least `workers` blocks when possible, and runs contiguous block
// ranges on the workers. Each C element lies in exactly one block.
template <typename Fn>
void RunTiles(int64_t m, int64_t n, int64_t k, int threads, Fn&& block) noexcept {
  if (m <= 0 || n <= 0) return;
  int64_t work = m * n * std::max<int64_t>(k, 1);
  int64_t workers = std::clamp<int64_t>(threads, 1, 64);
  workers = std::min(workers, std::max<int64_t>(1, work / kMinWorkPerThread));
  int64_t mc = std::min<int64_t>(m, 96), nc = std::min<int64_t>(n, 512);
  auto count = [&] { return ((m + mc - 1) / mc) * ((n + nc - 1) / nc); };
  // Split columns first (each block re-reads its A rows, not B), then rows.
  while (count() < workers && nc > 16) nc = std::max<int64_t>(16, ((nc / 2) + 15) / 16 * 16);
  while (count() < workers && mc > 6) mc = std::max<int64_t>(6, ((mc / 2) + 5) / 6 * 6);
  if (int64_t total = count(); workers > 1 && total % workers != 0 && total < 8 * workers && m > 6) {
    // Few blocks that do not divide evenly (3 blocks on 2 workers: one does twice the work):
    // more, smaller row blocks so that every worker gets the same number.
    int64_t col_blocks = (n + nc - 1) / nc, rows = (m + mc - 1) / mc;
    int64_t step = workers / std::gcd(col_blocks, workers);
    rows = (rows + step - 1) / step * step;
    mc = std::max<int64_t>(6, ((m + rows - 1) / rows + 5) / 6 * 6);
  }
  int64_t col_blocks = (n + nc - 1) / nc, blocks = count();
  workers = std::min(workers, blocks);
  auto run_range = [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      int64_t i0 = (t / col_blocks) * mc, j0 = (t % col_blocks) * nc;
      block(i0, std::min(mc, m - i0), j0, std::min(nc, n - j0));
    }
  };
  if (workers <= 1) return run_range(0, blocks);
  // Contiguous block ranges on the shared pool; which thread runs a block never matters.
  ParallelFor(blocks, static_cast<int>(workers), run_range);
}

template <typename A, typename C, typename Block>
void Drive(Block kernel, int64_t m, int64_t n, int64_t k, const A* a, int64_t lda, const int8_t* b, int64_t ldb,
           C* c, int64_t ldc, int threads) noexcept {
  if (k <= 0) {
    for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, C{0});
    return;
  }
  RunTiles(m, n, k, threads, [&](int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
    kernel(rows, cols, k, a + i0 * lda, lda, b + j0, ldb, c + i0 * ldc + j0, ldc);
  });
}

}  // namespace

const Kernels* KernelsFor(Path path) noexcept {
  switch (path) {
    case Path::kScalar:
      return &kScalarKernels;
    case Path::kAvx2:
      return CpuHasAvx2() ? &kAvx2Kernels : nullptr;
    case Path::kAvx512Vnni:
      return CpuHasAvx512Vnni() ? &kVnniKernels : nullptr;
  }
  return nullptr;
}

void GemmF32With(const Kernels& kernels, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                 int64_t ldb, float* c, int64_t ldc, int threads) noexcept {
  if (k <= 0) {
    for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    return;
  }
  RunTiles(m, n, k, threads, [&](int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
    kernels.f32(rows, cols, k, a + i0 * lda, lda, b + j0, ldb, c + i0 * ldc + j0, ldc);
  });
}
void GemmF32PackedWith(const Kernels& kernels, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                       const float* packed_b, float* c, int64_t ldc, int threads) noexcept {
  if (k <= 0) {
    for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0.0f);
    return;
  }
  // RunTiles' column blocks start at multiples of 16 (or cover all of n), i.e. at a strip.
  RunTiles(m, n, k, threads, [&](int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
    kernels.f32_packed(rows, cols, k, a + i0 * lda, lda, packed_b + (j0 / 16) * k * 16, k, c + i0 * ldc + j0, ldc);
  });
}
void GemmS8S8S32With(const Kernels& kernels, int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda,
                     const int8_t* b, int64_t ldb, int32_t* c, int64_t ldc, int threads) noexcept {
  Drive(kernels.s8s8, m, n, k, a, lda, b, ldb, c, ldc, threads);
}
void GemmU8S8S32With(const Kernels& kernels, int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda,
                     const int8_t* b, int64_t ldb, int32_t* c, int64_t ldc, int threads) noexcept {
  Drive(kernels.u8s8, m, n, k, a, lda, b, ldb, c, ldc, threads);
}

namespace {
template <typename A, typename Block, typename Fallback>
void DrivePacked(Block kernel, Fallback scalar, I8Layout layout, int64_t m, int64_t n, int64_t k, const A* a,
                 int64_t lda, const PackedI8B& packed, int32_t* c, int64_t ldc, int threads) noexcept {
  if (k <= 0) {
    for (int64_t i = 0; i < m; ++i) std::fill(c + i * ldc, c + i * ldc + n, 0);
    return;
  }
  // B packed for another path (or another shape) is still read correctly, by the scalar loop.
  if (packed.layout != static_cast<uint8_t>(layout) || packed.k != k || packed.n < n) kernel = scalar;
  // RunTiles' column blocks start at multiples of 16 (or cover all of n), i.e. at a strip.
  RunTiles(m, n, k, threads, [&](int64_t i0, int64_t rows, int64_t j0, int64_t cols) {
    kernel(rows, cols, k, a + i0 * lda, lda, packed, j0, c + i0 * ldc + j0, ldc);
  });
}
}  // namespace

void GemmS8S8S32PackedWith(const Kernels& kernels, int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda,
                           const PackedI8B& packed_b, int32_t* c, int64_t ldc, int threads) noexcept {
  DrivePacked(kernels.s8s8_packed, S8PackedScalar, kernels.i8_layout, m, n, k, a, lda, packed_b, c, ldc, threads);
}
void GemmU8S8S32PackedWith(const Kernels& kernels, int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda,
                           const PackedI8B& packed_b, int32_t* c, int64_t ldc, int threads) noexcept {
  DrivePacked(kernels.u8s8_packed, U8PackedScalar, kernels.i8_layout, m, n, k, a, lda, packed_b, c, ldc, threads);
}

PackedI8B PackI8BFor(const Kernels& kernels, int64_t k, int64_t n, const int8_t* b, int64_t ldb) {
  PackedI8B out;
  out.k = std::max<int64_t>(k, 0);
  out.n = std::max<int64_t>(n, 0);
  out.layout = static_cast<uint8_t>(kernels.i8_layout);
  const int64_t strips = (out.n + 15) / 16;
  if (kernels.i8_layout == I8Layout::kPairs) {
    const int64_t pairs = (out.k + 1) / 2;
    out.pairs.assign(static_cast<size_t>(strips * pairs * 32), 0);
    for (int64_t s = 0; s < strips; ++s)
      for (int64_t p = 0; p < out.k; ++p)
        for (int64_t l = 0; l < 16 && s * 16 + l < out.n; ++l)
          out.pairs[static_cast<size_t>((s * pairs + p / 2) * 32 + 2 * l + p % 2)] = b[p * ldb + s * 16 + l];
    return out;
  }
  const int64_t quads = QuadsOf(out.k);
  out.quads.assign(static_cast<size_t>(strips * quads), PackedI8B::QuadLine{});
  out.col_sums.assign(static_cast<size_t>(strips * 16), 0);
  for (int64_t s = 0; s < strips; ++s)
    for (int64_t p = 0; p < out.k; ++p)
      for (int64_t l = 0; l < 16 && s * 16 + l < out.n; ++l) {
        int8_t v = b[p * ldb + s * 16 + l];
        out.quads[static_cast<size_t>(s * quads + p / 4)].bytes[4 * l + p % 4] = v;
        out.col_sums[static_cast<size_t>(s * 16 + l)] += v;
      }
  return out;
}

}  // namespace internal

void GemmF32(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
             int64_t ldc, int threads) noexcept {
  internal::GemmF32With(internal::Active(), m, n, k, a, lda, b, ldb, c, ldc, threads);
}
int64_t PackedF32Size(int64_t k, int64_t n) noexcept { return (n + 15) / 16 * 16 * std::max<int64_t>(k, 0); }

void PackF32B(int64_t k, int64_t n, const float* b, int64_t ldb, float* packed) noexcept {
  for (int64_t s = 0; s * 16 < n; ++s)
    for (int64_t p = 0; p < k; ++p)
      for (int64_t l = 0; l < 16; ++l) {
        int64_t j = s * 16 + l;
        packed[(s * k + p) * 16 + l] = j < n ? b[p * ldb + j] : 0.0f;
      }
}

void GemmF32PackedB(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* packed_b, float* c,
                    int64_t ldc, int threads) noexcept {
  internal::GemmF32PackedWith(internal::Active(), m, n, k, a, lda, packed_b, c, ldc, threads);
}
void GemmS8S8S32(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                 int32_t* c, int64_t ldc, int threads) noexcept {
  internal::GemmS8S8S32With(internal::Active(), m, n, k, a, lda, b, ldb, c, ldc, threads);
}
void GemmU8S8S32(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                 int32_t* c, int64_t ldc, int threads) noexcept {
  internal::GemmU8S8S32With(internal::Active(), m, n, k, a, lda, b, ldb, c, ldc, threads);
}

PackedI8B PackI8B(int64_t k, int64_t n, const int8_t* b, int64_t ldb) {
  return internal::PackI8BFor(internal::Active(), k, n, b, ldb);
}
void GemmS8S8S32PackedB(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const PackedI8B& packed_b,
                        int32_t* c, int64_t ldc, int threads) noexcept {
  internal::GemmS8S8S32PackedWith(internal::Active(), m, n, k, a, lda, packed_b, c, ldc, threads);
}
void GemmU8S8S32PackedB(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const PackedI8B& packed_b,
                        int32_t* c, int64_t ldc, int threads) noexcept {
  internal::GemmU8S8S32PackedWith(internal::Active(), m, n, k, a, lda, packed_b, c, ldc, threads);
}

std::string_view ActivePath() noexcept { return internal::Active().name; }

}  // namespace lucid::gemm
