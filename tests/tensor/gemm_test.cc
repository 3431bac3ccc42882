// Every GEMM path (scalar; AVX2 and AVX-512 VNNI when the CPU has them) through the threaded
// driver must equal the scalar reference bit for bit for any shape, leading dimension and
// thread count.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "base/cpu.h"
#include "tensor/gemm.h"
#include "tensor/gemm_internal.h"

namespace lucid::gemm {
namespace {

using internal::Kernels;
using internal::Path;

std::vector<const Kernels*> AllPaths() {
  std::vector<const Kernels*> out;
  for (Path p : {Path::kScalar, Path::kAvx2, Path::kAvx512Vnni})
    if (const Kernels* k = internal::KernelsFor(p)) out.push_back(k);
  return out;
}

TEST(Gemm, DispatchPicksTheBestPathThisCpuRuns) {
  // Every path the CPU supports is tested below, and the dispatcher picks the widest one
  // (unless LUCID_GEMM_PATH names another); the log records which paths were covered.
  std::vector<std::string> names;
  for (const Kernels* k : AllPaths()) names.emplace_back(k->name);
  std::vector<std::string> want = {"scalar"};
  if (CpuHasAvx2()) want.push_back("avx2");
  if (CpuHasAvx512Vnni()) want.push_back("avx512-vnni");
  EXPECT_EQ(names, want);
  if (std::getenv("LUCID_GEMM_PATH") == nullptr) {
    EXPECT_EQ(std::string(ActivePath()), want.back());
  }
  std::string list;
  for (const auto& n : names) list += n + " ";
  std::cout << "[ info ] GEMM paths tested on this CPU: " << list << "(active: " << ActivePath() << ")\n";
}

const int64_t kEdge[] = {1, 7, 8, 9, 15, 16, 17, 63, 64, 65};

struct Shape {
  int64_t m, n, k;
};

std::vector<Shape> Shapes() {
  std::vector<Shape> s;
  std::mt19937 rng(7);
  for (int64_t m : kEdge)
    for (int64_t n : kEdge) s.push_back({m, n, kEdge[(m * 3 + n) % 10]});
  for (int64_t k : kEdge) s.push_back({13, 33, k});
  s.push_back({5, 300, 600});   // several k panels and a partial last one (odd)
  s.push_back({100, 130, 257});  // several row and column blocks
  s.push_back({3, 5, 0});        // empty sum is +0
  for (int64_t m : {2, 3, 4}) s.push_back({m, 40 + m, 31 + 2 * m});  // few-row and few-column int8 paths
  s.push_back({4, 64, 1});
  s.push_back({200, 3, 77});
  s.push_back({7, 1100, 40});  // more than one 512-column block
  s.push_back({13, 70, 1030});  // VNNI: several 512-k panels, k % 4 = 2, a partial 4-strip group
  s.push_back({6, 64, 513});    // k % 4 = 1 right after a panel boundary
  s.push_back({30, 300, 3});    // one partial quad only
  for (int i = 0; i < 6; ++i) s.push_back({int64_t(rng() % 70 + 1), int64_t(rng() % 150 + 1), int64_t(rng() % 300)});
  return s;
}

bool SameBits(const std::vector<float>& x, const std::vector<float>& y) {
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

// Runs one float case; the odd padding of every leading dimension catches stride bugs, and
// the sentinel in the padding catches writes outside C.
void CheckF32(const Shape& s, std::mt19937& rng, bool specials) {
  int64_t lda = s.k + 3, ldb = s.n + 5, ldc = s.n + 1;
  std::vector<float> a(size_t(s.m * lda)), b(size_t(std::max<int64_t>(s.k, 1) * ldb));
  std::uniform_real_distribution<float> dist(-2.0f, 2.0f);
  const float special[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                           -std::numeric_limits<float>::infinity(), -0.0f, 0.0f,
                           std::numeric_limits<float>::denorm_min(), -1e-40f, 3e38f, -3e38f, 1e-30f};
  auto fill = [&](std::vector<float>& v) {
    for (auto& x : v) x = specials && rng() % 8 == 0 ? special[rng() % 10] : dist(rng);
  };
  fill(a);
  fill(b);
  std::vector<float> want(size_t(s.m * ldc), 12345.0f);
  GemmF32Reference(s.m, s.n, s.k, a.data(), lda, b.data(), ldb, want.data(), ldc);
  for (float v : want)
    if (v != v) {
      ASSERT_EQ(std::bit_cast<uint32_t>(v), kCanonicalNaNBits);
    }
  for (const Kernels* path : AllPaths())
    for (int threads : {1, 2, 3, 4}) {
      std::vector<float> got(size_t(s.m * ldc), 12345.0f);
      internal::GemmF32With(*path, s.m, s.n, s.k, a.data(), lda, b.data(), ldb, got.data(), ldc, threads);
      ASSERT_TRUE(SameBits(want, got)) << path->name << " m=" << s.m << " n=" << s.n << " k=" << s.k
                                       << " threads=" << threads << " specials=" << specials;
    }
  // The same product with B packed ahead of time (constant weights).
  std::vector<float> packed(size_t(PackedF32Size(s.k, s.n)), 777.0f);
  PackF32B(s.k, s.n, b.data(), ldb, packed.data());
  for (const Kernels* path : AllPaths())
    for (int threads : {1, 2, 3, 4}) {
      std::vector<float> got(size_t(s.m * ldc), 12345.0f);
      internal::GemmF32PackedWith(*path, s.m, s.n, s.k, a.data(), lda, packed.data(), got.data(), ldc, threads);
      ASSERT_TRUE(SameBits(want, got)) << "packed " << path->name << " m=" << s.m << " n=" << s.n << " k=" << s.k
                                       << " threads=" << threads << " specials=" << specials;
    }
}

TEST(Gemm, F32EveryPathEqualsReference) {
  std::mt19937 rng(1);
  for (const Shape& s : Shapes()) CheckF32(s, rng, false);
}

TEST(Gemm, F32SpecialValuesEqualReference) {
  std::mt19937 rng(2);
  for (const Shape& s : Shapes()) CheckF32(s, rng, true);
}

TEST(Gemm, F32SignedZeroAndDenormals) {
  // -0·x sums: the reference's +0 start makes an all-(-0) column +0, denormal products survive.
  float a[2] = {-0.0f, std::numeric_limits<float>::denorm_min()};
  float b[2] = {1.0f, 1.0f};
  for (const Kernels* path : AllPaths()) {
    float c[1] = {7.0f};
    internal::GemmF32With(*path, 1, 1, 1, a, 2, b, 1, c, 1, 1);
    EXPECT_FALSE(std::signbit(c[0])) << path->name;
    EXPECT_EQ(c[0], 0.0f);
    internal::GemmF32With(*path, 1, 1, 2, a, 2, b, 1, c, 1, 1);
    EXPECT_EQ(c[0], std::numeric_limits<float>::denorm_min()) << path->name;
  }
}

TEST(Gemm, F32NonAssociativeOrderIsSequential) {
  // 1e8 + 1 − 1e8 summed left to right in float is 0, not 1: a path that reassociates fails.
  const int64_t k = 3, n = 20;
  float a[k] = {1e8f, 1.0f, -1e8f};
  std::vector<float> b(size_t(k * n), 1.0f);
  for (const Kernels* path : AllPaths()) {
    std::vector<float> c(n, 5.0f);
    internal::GemmF32With(*path, 1, n, k, a, k, b.data(), n, c.data(), n, 2);
    for (float v : c) EXPECT_EQ(v, 0.0f) << path->name;
  }
}

template <typename A, typename Run, typename Ref>
void CheckInt(Run run, Ref ref, int seed) {
  std::mt19937 rng(seed);
  for (const Shape& s : Shapes()) {
    int64_t lda = s.k + 1, ldb = s.n + 3, ldc = s.n + 2;
    std::vector<A> a(size_t(s.m * lda));
    std::vector<int8_t> b(size_t(std::max<int64_t>(s.k, 1) * ldb));
    // Mostly extremes (−128, 127, 255) to show no saturation anywhere.
    for (auto& x : a) x = static_cast<A>(rng() % 3 == 0 ? std::numeric_limits<A>::min() : rng() % 3 == 1 ? std::numeric_limits<A>::max() : A(rng()));
    for (auto& x : b) x = static_cast<int8_t>(rng() % 3 == 0 ? -128 : rng() % 3 == 1 ? 127 : int8_t(rng()));
    std::vector<int32_t> want(size_t(s.m * ldc), 777);
    ref(s.m, s.n, s.k, a.data(), lda, b.data(), ldb, want.data(), ldc);
    for (const Kernels* path : AllPaths())
      for (int threads : {1, 2, 3, 4}) {
        std::vector<int32_t> got(size_t(s.m * ldc), 777);
        run(*path, s.m, s.n, s.k, a.data(), lda, b.data(), ldb, got.data(), ldc, threads);
        ASSERT_EQ(want, got) << path->name << " m=" << s.m << " n=" << s.n << " k=" << s.k << " threads=" << threads;
      }
  }
}

TEST(Gemm, S8S8EveryPathEqualsReference) {
  CheckInt<int8_t>(internal::GemmS8S8S32With, GemmS8S8S32Reference, 3);
}

TEST(Gemm, U8S8EveryPathEqualsReference) {
  CheckInt<uint8_t>(internal::GemmU8S8S32With, GemmU8S8S32Reference, 4);
}

// B packed once (PackI8B, in each path's layout) gives the reference's sums on every path
// and thread count; B packed for another path still gives them (the scalar fallback).
template <typename A, typename Run, typename Ref>
void CheckIntPacked(Run run, Ref ref, int seed) {
  std::mt19937 rng(seed);
  for (const Shape& s : Shapes()) {
    int64_t lda = s.k + 1, ldb = s.n + 3, ldc = s.n + 2;
    std::vector<A> a(size_t(s.m * lda));
    std::vector<int8_t> b(size_t(std::max<int64_t>(s.k, 1) * ldb));
    for (auto& x : a) x = static_cast<A>(rng() % 3 == 0 ? std::numeric_limits<A>::min() : rng() % 3 == 1 ? std::numeric_limits<A>::max() : A(rng()));
    for (auto& x : b) x = static_cast<int8_t>(rng() % 3 == 0 ? -128 : rng() % 3 == 1 ? 127 : int8_t(rng()));
    std::vector<int32_t> want(size_t(s.m * ldc), 777);
    ref(s.m, s.n, s.k, a.data(), lda, b.data(), ldb, want.data(), ldc);
    for (const Kernels* path : AllPaths()) {
      PackedI8B packed = internal::PackI8BFor(*path, s.k, s.n, b.data(), ldb);
      for (int threads : {1, 2, 3, 4}) {
        std::vector<int32_t> got(size_t(s.m * ldc), 777);
        run(*path, s.m, s.n, s.k, a.data(), lda, packed, got.data(), ldc, threads);
        ASSERT_EQ(want, got) << path->name << " m=" << s.m << " n=" << s.n << " k=" << s.k << " threads=" << threads;
      }
      for (const Kernels* other : AllPaths()) {
        std::vector<int32_t> got(size_t(s.m * ldc), 777);
        run(*other, s.m, s.n, s.k, a.data(), lda, packed, got.data(), ldc, 2);
        ASSERT_EQ(want, got) << "packed for " << path->name << ", run on " << other->name << " m=" << s.m;
      }
    }
  }
}

TEST(Gemm, S8S8PackedEveryPathEqualsReference) {
  CheckIntPacked<int8_t>(internal::GemmS8S8S32PackedWith, GemmS8S8S32Reference, 5);
}

TEST(Gemm, U8S8PackedEveryPathEqualsReference) {
  CheckIntPacked<uint8_t>(internal::GemmU8S8S32PackedWith, GemmU8S8S32Reference, 6);
}

TEST(Gemm, IntExtremesDoNotSaturate) {
  // 255·(−128) twice in a row overflows int16 (the vpmaddubsw trap); the exact sum is −65280.
  uint8_t a[2] = {255, 255};
  int8_t b[2] = {-128, -128};
  for (const Kernels* path : AllPaths()) {
    int32_t c = 0;
    internal::GemmU8S8S32With(*path, 1, 1, 2, a, 2, b, 1, &c, 1, 1);
    EXPECT_EQ(c, -65280) << path->name;
  }
}

TEST(Gemm, IntSumsExactAtTheBoundOnK) {
  // k = 2^16 extremes: 255·(−128)·2^16 = −2^31 + 2^23 and (−128)²·2^16 = 2^30, both within
  // int32 only if no partial sum saturates or is lost; every path must give them exactly.
  const int64_t k = int64_t{1} << 16, n = 33, m = 7;
  std::vector<uint8_t> au(size_t(m * k), 255);
  std::vector<int8_t> as(size_t(m * k), -128), b(size_t(k * n), -128);
  for (int64_t j = 0; j < n; j += 2) b[size_t(j)] = 127;  // one odd row entry per even column
  std::vector<int32_t> want_u(size_t(m * n)), want_s(size_t(m * n));
  GemmU8S8S32Reference(m, n, k, au.data(), k, b.data(), n, want_u.data(), n);
  GemmS8S8S32Reference(m, n, k, as.data(), k, b.data(), n, want_s.data(), n);
  EXPECT_EQ(want_u[1], -255 * 128 * k);
  EXPECT_EQ(want_s[1], 128 * 128 * k);
  for (const Kernels* path : AllPaths()) {
    std::vector<int32_t> got(size_t(m * n));
    internal::GemmU8S8S32With(*path, m, n, k, au.data(), k, b.data(), n, got.data(), n, 2);
    EXPECT_EQ(want_u, got) << path->name;
    internal::GemmS8S8S32With(*path, m, n, k, as.data(), k, b.data(), n, got.data(), n, 2);
    EXPECT_EQ(want_s, got) << path->name;
    PackedI8B packed = internal::PackI8BFor(*path, k, n, b.data(), n);
    internal::GemmU8S8S32PackedWith(*path, m, n, k, au.data(), k, packed, got.data(), n, 2);
    EXPECT_EQ(want_u, got) << "packed " << path->name;
    internal::GemmS8S8S32PackedWith(*path, m, n, k, as.data(), k, packed, got.data(), n, 2);
    EXPECT_EQ(want_s, got) << "packed " << path->name;
  }
}

TEST(Gemm, PublicEntryPointsUseActivePath) {
  std::string_view p = ActivePath();
  EXPECT_TRUE(p == "scalar" || p == "avx2" || p == "avx512-vnni") << p;
  std::mt19937 rng(9);
  const int64_t m = 31, n = 47, k = 70;
  std::vector<float> a(m * k), b(k * n), want(m * n), got(m * n);
  for (auto& x : a) x = float(int(rng() % 2001) - 1000) / 7.0f;
  for (auto& x : b) x = float(int(rng() % 2001) - 1000) / 3.0f;
  GemmF32Reference(m, n, k, a.data(), k, b.data(), n, want.data(), n);
  GemmF32(m, n, k, a.data(), k, b.data(), n, got.data(), n, 3);
  EXPECT_TRUE(SameBits(want, got));
  std::vector<float> packed(size_t(PackedF32Size(k, n))), got_packed(m * n);
  PackF32B(k, n, b.data(), n, packed.data());
  GemmF32PackedB(m, n, k, a.data(), k, packed.data(), got_packed.data(), n, 3);
  EXPECT_TRUE(SameBits(want, got_packed));
}

}  // namespace
}  // namespace lucid::gemm
