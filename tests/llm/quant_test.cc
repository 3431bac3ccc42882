// Quantized products: every SIMD path equals the scalar reference bit for bit for many
// shapes, batches and thread counts; the reference agrees with the dequantized float
// product; half/bfloat conversions are exact.
#include <gtest/gtest.h>
#include <immintrin.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "llm/quant.h"
#include "llm/quant_internal.h"

namespace lucid::llm {
namespace {

using internal::KernelsFor;
using internal::Path;

// Random weights of `type` with finite, moderate scales.
std::vector<uint8_t> RandomWeights(GgmlType type, int64_t rows, int64_t cols, std::mt19937& rng) {
  int64_t rb = RowBytes(type, cols);
  std::vector<uint8_t> w(static_cast<size_t>(rows * rb));
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : w) b = static_cast<uint8_t>(byte(rng));
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f), val(-2.0f, 2.0f);
  auto put16 = [&](uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); };
  const TypeInfo* ti = TypeInfoOf(static_cast<uint32_t>(type));
  int64_t nblocks = rows * cols / ti->block_size;
  for (int64_t i = 0; i < nblocks; ++i) {
    uint8_t* blk = w.data() + i * ti->type_size;
    switch (type) {
      case GgmlType::kF32: { float f = val(rng); std::memcpy(blk, &f, 4); break; }
      case GgmlType::kF16: put16(blk, FloatToHalf(val(rng))); break;
      case GgmlType::kBF16: { float f = val(rng); uint32_t u; std::memcpy(&u, &f, 4); put16(blk, u >> 16); break; }
      case GgmlType::kQ8_0: case GgmlType::kQ4_0: put16(blk, FloatToHalf(scale(rng))); break;
      case GgmlType::kQ4_1: put16(blk, FloatToHalf(scale(rng))); put16(blk + 2, FloatToHalf(scale(rng))); break;
      case GgmlType::kQ4_K: case GgmlType::kQ5_K: put16(blk, FloatToHalf(scale(rng))); put16(blk + 2, FloatToHalf(scale(rng))); break;
      case GgmlType::kQ6_K: put16(blk + 208, FloatToHalf(scale(rng))); break;
      default: break;
    }
  }
  return w;
}

const GgmlType kTypes[] = {GgmlType::kF32,  GgmlType::kF16,  GgmlType::kBF16, GgmlType::kQ8_0, GgmlType::kQ4_0,
                           GgmlType::kQ4_1, GgmlType::kQ4_K, GgmlType::kQ5_K, GgmlType::kQ6_K};

TEST(Quant, HalfConversionsAreExact) {
  for (uint32_t h = 0; h < 65536; ++h) {
    float f = HalfToFloat(static_cast<uint16_t>(h));
    if (std::isnan(f)) continue;
    ASSERT_EQ(FloatToHalf(f), h) << h;  // every non-NaN half round-trips
  }
  EXPECT_EQ(HalfToFloat(0x3C00), 1.0f);
  EXPECT_EQ(HalfToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(HalfToFloat(0x7BFF), 65504.0f);
  EXPECT_EQ(FloatToHalf(65520.0f), 0x7C00);        // rounds up to inf
  EXPECT_EQ(FloatToHalf(65519.0f), 0x7BFF);
  EXPECT_EQ(FloatToHalf(1.0f + std::ldexp(1.0f, -11)), 0x3C00);  // tie to even
  EXPECT_EQ(FloatToHalf(std::ldexp(1.0f, -25)), 0x0000);          // tie to even (0)
  EXPECT_EQ(FloatToHalf(std::ldexp(1.5f, -25)), 0x0001);
  EXPECT_TRUE(std::isnan(HalfToFloat(FloatToHalf(NAN))));
  EXPECT_EQ(Bf16ToFloat(0x3F80), 1.0f);
}

// The scalar reference against the float product of the dequantized weights with the
// activations the kernel actually used (exact up to float rounding).
TEST(Quant, ReferenceMatchesDequantizedProduct) {
  std::mt19937 rng(1);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t rows = 5, cols = 512;
  for (GgmlType type : kTypes) {
    SCOPED_TRACE(TypeName(type));
    auto wb = RandomWeights(type, rows, cols, rng);
    WeightMatrix w{type, rows, cols, RowBytes(type, cols), wb.data()};
    std::vector<float> x(cols), y(rows);
    for (auto& v : x) v = nd(rng);
    internal::MatMulWith(internal::ScalarKernels(), w, 1, x.data(), cols, y.data(), rows, 1);
    std::vector<float> deq(cols);
    for (int64_t r = 0; r < rows; ++r) {
      DequantizeRow(type, wb.data() + r * w.row_bytes, deq.data(), cols);
      double exact = 0, mag = 0;
      for (int64_t i = 0; i < cols; ++i) {
        exact += static_cast<double>(deq[i]) * x[i];
        mag += std::fabs(static_cast<double>(deq[i]) * x[i]);
      }
      // Float weights: float rounding only; quantized: activations quantized to 8 bits.
      bool is_float = type == GgmlType::kF32 || type == GgmlType::kF16 || type == GgmlType::kBF16;
      double tol = is_float ? 1e-5 * mag + 1e-6 : 0.02 * mag + 1e-4;
      EXPECT_NEAR(y[r], exact, tol) << "row " << r;
    }
  }
}

// Every path == scalar, for many shapes, batches and thread counts.
TEST(Quant, SimdPathsMatchScalarBitForBit) {
  std::mt19937 rng(7);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<Path> paths = {Path::kAvx2, Path::kAvx512Vnni};
  int ran = 0;
  for (GgmlType type : kTypes) {
    const TypeInfo* ti = TypeInfoOf(static_cast<uint32_t>(type));
    std::vector<int64_t> col_list = ti->block_size == 256 ? std::vector<int64_t>{256, 512, 1536}
                                    : ti->block_size == 32 ? std::vector<int64_t>{32, 96, 576}
                                                           : std::vector<int64_t>{1, 15, 16, 33, 576};
    for (int64_t cols : col_list) {
      for (int64_t rows : {1, 7, 64}) {
        auto wb = RandomWeights(type, rows, cols, rng);
        WeightMatrix w{type, rows, cols, RowBytes(type, cols), wb.data()};
        for (int64_t batch : {1, 3, 4, 9}) {  // 4 and 9: the four-column kernels (and a remainder)
          std::vector<float> x(batch * cols);
          for (auto& v : x) v = nd(rng);
          if (cols >= 64) x[5] = 40.0f;  // an outlier
          std::vector<float> want(batch * rows), got(batch * rows);
          internal::MatMulWith(internal::ScalarKernels(), w, batch, x.data(), cols, want.data(), rows, 1);
          // Batch composition: each column alone gives the same bytes.
          for (int64_t b = 0; b < batch; ++b) {
            std::vector<float> one(rows);
            internal::MatMulWith(internal::ScalarKernels(), w, 1, x.data() + b * cols, cols, one.data(), rows, 1);
            ASSERT_EQ(std::memcmp(one.data(), want.data() + b * rows, rows * 4), 0);
          }
          for (Path p : paths) {
            const internal::Kernels* k = KernelsFor(p);
            if (!k) continue;
            for (int threads : {1, 2, 3, 8}) {
              std::fill(got.begin(), got.end(), -1.0f);
              internal::MatMulWith(*k, w, batch, x.data(), cols, got.data(), rows, threads);
              ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * 4), 0)
                  << TypeName(type) << " " << k->name << " rows " << rows << " cols " << cols << " batch " << batch
                  << " threads " << threads;
              ++ran;
            }
          }
          // The public entry point (active path) too.
          MatMul(w, batch, x.data(), cols, got.data(), rows, 2);
          ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * 4), 0);
        }
      }
    }
  }
  std::printf("active path %s; %d SIMD comparisons\n", std::string(ActiveQuantPath()).c_str(), ran);
  if (!KernelsFor(Path::kAvx2)) GTEST_SKIP() << "no AVX2 on this CPU: only the scalar path ran";
}

// NaN scales (a corrupt or hostile file) give the canonical NaN on every path.
TEST(Quant, NaNIsCanonical) {
  const int64_t cols = 512, rows = 3;
  for (GgmlType type : kTypes) {
    std::mt19937 rng(5);
    auto wb = RandomWeights(type, rows, cols, rng);
    const TypeInfo* ti = TypeInfoOf(static_cast<uint32_t>(type));
    // Row 1: a NaN with a payload and the sign bit in its first block's scale (or value).
    uint8_t* blk = wb.data() + RowBytes(type, cols);
    uint16_t nan16 = 0xFE01;
    uint32_t nan32 = 0xFFC01234u;
    int off = type == GgmlType::kQ6_K ? 208 : 0;
    if (type == GgmlType::kF32) std::memcpy(blk, &nan32, 4); else if (type == GgmlType::kBF16) { uint16_t b = 0xFFC1; std::memcpy(blk, &b, 2); } else std::memcpy(blk + off, &nan16, 2);
    (void)ti;
    WeightMatrix w{type, rows, cols, RowBytes(type, cols), wb.data()};
    std::vector<float> x(cols, 0.5f), got(rows);
    for (Path p : {Path::kScalar, Path::kAvx2, Path::kAvx512Vnni}) {
      const internal::Kernels* k = KernelsFor(p);
      if (!k) continue;
      internal::MatMulWith(*k, w, 1, x.data(), cols, got.data(), rows, 1);
      uint32_t bits;
      std::memcpy(&bits, &got[1], 4);
      EXPECT_EQ(bits, 0x7FC00000u) << TypeName(type) << " " << k->name;
      EXPECT_FALSE(std::isnan(got[0]));
    }
  }
}

// Adversarial block contents: extreme int8 weights (-128), all-equal activations, zeros.
TEST(Quant, ExtremeValues) {
  const int64_t cols = 512, rows = 4;
  for (GgmlType type : kTypes) {
    std::mt19937 rng(3);
    auto wb = RandomWeights(type, rows, cols, rng);
    if (type == GgmlType::kQ8_0)
      for (int64_t b = 0; b < rows * cols / 32; ++b) std::memset(wb.data() + b * 34 + 2, 0x80, 32);  // all −128
    if (type == GgmlType::kQ4_0 || type == GgmlType::kQ4_1 || type == GgmlType::kQ4_K || type == GgmlType::kQ5_K ||
        type == GgmlType::kQ6_K) {
      // keep the random nibbles: they already span 0..15 / 0..63
    }
    WeightMatrix w{type, rows, cols, RowBytes(type, cols), wb.data()};
    for (float fill : {0.0f, 1.0f, -3.0f}) {
      std::vector<float> x(cols, fill), want(rows), got(rows);
      x[0] = -fill * 2;  // the max-magnitude element is negative
      internal::MatMulWith(internal::ScalarKernels(), w, 1, x.data(), cols, want.data(), rows, 1);
      for (Path p : {Path::kAvx2, Path::kAvx512Vnni}) {
        if (const internal::Kernels* k = KernelsFor(p)) {
          internal::MatMulWith(*k, w, 1, x.data(), cols, got.data(), rows, 2);
          ASSERT_EQ(std::memcmp(got.data(), want.data(), rows * 4), 0) << TypeName(type) << " " << k->name;
        }
      }
    }
  }
}

// The SIMD activation quantizers give QuantizeActQ8's bytes exactly: random blocks of many
// magnitudes, exact rounding ties (amax 127: v·id = v), NaN, ±inf, subnormals, huge values.
TEST(Quant, SimdQuantizeActQ8MatchesScalar) {
  std::mt19937 rng(13);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::uniform_int_distribution<int> pick(0, 9);
  const int64_t nblocks = 4000;
  std::vector<float> x(static_cast<size_t>(nblocks * 32));
  for (int64_t b = 0; b < nblocks; ++b) {
    float* v = x.data() + b * 32;
    const float mag = std::ldexp(1.0f, static_cast<int>(b % 60) - 30);
    for (int j = 0; j < 32; ++j) v[j] = nd(rng) * mag;
    switch (b % 12) {
      case 0: v[0] = v[1] = v[2] = 0.0f; v[3] = 127.0f; for (int j = 4; j < 32; ++j) v[j] = static_cast<float>(j - 18) + 0.5f; break;  // ties
      case 1: v[7] = NAN; break;
      case 2: v[0] = INFINITY; break;
      case 3: v[9] = -INFINITY; v[10] = NAN; break;
      case 4: for (int j = 0; j < 32; ++j) v[j] = std::ldexp(static_cast<float>(j - 16), -149); break;  // subnormal
      case 5: v[5] = 3.0e38f; v[6] = -3.0e38f; break;
      case 6: for (int j = 0; j < 32; ++j) v[j] = 0.0f; v[pick(rng)] = -0.0f; break;
      case 7: for (int j = 0; j < 32; ++j) v[j] = -0.0f; v[2] = NAN; break;
      case 8: v[0] = 0.0f; v[1] = -127.0f; for (int j = 2; j < 32; ++j) v[j] = -static_cast<float>(j) - 0.5f; break;
      default: break;
    }
  }
  std::vector<ActQ8> want(static_cast<size_t>(nblocks)), got(want.size());
  QuantizeActQ8(x.data(), nblocks * 32, want.data());
  int ran = 0;
  for (Path p : {Path::kScalar, Path::kAvx2, Path::kAvx512Vnni}) {
    const internal::Kernels* k = KernelsFor(p);
    if (!k) continue;
    std::memset(got.data(), 0xAB, got.size() * sizeof(ActQ8));
    k->quantize_q8(x.data(), nblocks * 32, got.data());
    for (int64_t b = 0; b < nblocks; ++b)
      ASSERT_EQ(std::memcmp(&got[static_cast<size_t>(b)], &want[static_cast<size_t>(b)], sizeof(ActQ8)), 0)
          << k->name << " block " << b;
    ++ran;
  }
  EXPECT_GE(ran, 1);
}

// The multi-column and four-row kernels and MatMulInput (one quantized input shared by several products,
// of different weight types): every output equals the scalar single-column product of its
// own column, bit for bit — NaN scales, extreme weights and outliers included — for every
// path, batch size and thread count.
TEST(Quant, MultiColumnAndSharedInputMatchSingleColumn) {
  std::mt19937 rng(11);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  const int64_t cols = 768, rows = 37;  // 24 blocks of 32 (3 steps of 8), 3 of 256
  const GgmlType types[] = {GgmlType::kQ4_1, GgmlType::kQ8_0, GgmlType::kQ4_K, GgmlType::kQ4_0, GgmlType::kF16};
  std::vector<std::vector<uint8_t>> wbs;
  std::vector<WeightMatrix> ws;
  for (GgmlType type : types) wbs.push_back(RandomWeights(type, rows, cols, rng));
  // Row 3 of the Q4_1 matrix: a NaN scale; the Q8_0 matrix: row 5 all −128.
  const uint16_t nan16 = 0xFE01;
  std::memcpy(wbs[0].data() + 3 * RowBytes(types[0], cols) + 20 * 7, &nan16, 2);
  for (int64_t b = 0; b < cols / 32; ++b) std::memset(wbs[1].data() + 5 * RowBytes(types[1], cols) + b * 34 + 2, 0x80, 32);
  for (size_t i = 0; i < wbs.size(); ++i) ws.push_back({types[i], rows, cols, RowBytes(types[i], cols), wbs[i].data()});
  int ran = 0;
  for (int64_t batch : {1, 3, 4, 5, 8, 13, 20}) {  // 1, 3: four rows at a time; else groups of 8, 4, 1 columns
    const int64_t ldx = cols + 3, ldy = rows + 2;
    std::vector<float> x(static_cast<size_t>(batch * ldx));
    for (auto& v : x) v = nd(rng);
    if (batch > 1) x[static_cast<size_t>(ldx + 9)] = 60.0f;  // an outlier in column 1
    if (batch > 2)
      for (int64_t i = 0; i < cols; ++i) x[static_cast<size_t>(2 * ldx + i)] = 0.0f;  // column 2 all zero
    for (size_t m = 0; m < ws.size(); ++m) {
      std::vector<float> want(static_cast<size_t>(batch * ldy), 0.0f);
      for (int64_t b = 0; b < batch; ++b)
        internal::MatMulWith(internal::ScalarKernels(), ws[m], 1, x.data() + b * ldx, cols, want.data() + b * ldy, rows, 1);
      for (Path p : {Path::kScalar, Path::kAvx2, Path::kAvx512Vnni}) {
        const internal::Kernels* k = KernelsFor(p);
        if (!k) continue;
        for (int threads : {1, 2, 5}) {
          // A fresh input per matrix, and one input shared by all matrices in turn.
          MatMulInput shared;
          shared.Reset(batch, x.data(), ldx, cols);
          for (size_t other = 0; other < ws.size(); ++other) {
            std::vector<float> got(static_cast<size_t>(batch * ldy), 0.0f);
            internal::MatMulWith(*k, ws[other], shared, got.data(), ldy, threads);
            if (other != m) continue;
            ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * 4), 0)
                << TypeName(types[m]) << " " << k->name << " batch " << batch << " threads " << threads << " (shared)";
          }
          std::vector<float> got(static_cast<size_t>(batch * ldy), 0.0f);
          internal::MatMulWith(*k, ws[m], batch, x.data(), ldx, got.data(), ldy, threads);
          ASSERT_EQ(std::memcmp(got.data(), want.data(), got.size() * 4), 0)
              << TypeName(types[m]) << " " << k->name << " batch " << batch << " threads " << threads;
          ++ran;
        }
      }
      if (m == 0) {  // the NaN row is canonical in every column
        for (int64_t b = 0; b < batch; ++b) {
          uint32_t bits;
          std::memcpy(&bits, &want[static_cast<size_t>(b * ldy + 3)], 4);
          EXPECT_EQ(bits, 0x7FC00000u);
        }
      }
    }
  }
  // Reset forgets the quantized forms: new values behind the same pointer are re-quantized.
  {
    const int64_t batch = 4;
    std::vector<float> x(static_cast<size_t>(batch * cols)), a(static_cast<size_t>(batch * rows)), b(a.size());
    for (auto& v : x) v = nd(rng);
    MatMulInput in;
    in.Reset(batch, x.data(), cols, cols);
    MatMul(ws[0], in, a.data(), rows, 1);
    for (auto& v : x) v = v * 2.0f + 1.0f;
    in.Reset(batch, x.data(), cols, cols);
    MatMul(ws[0], in, a.data(), rows, 1);
    MatMul(ws[0], batch, x.data(), cols, b.data(), rows, 1);
    ASSERT_EQ(std::memcmp(a.data(), b.data(), a.size() * 4), 0);
  }
  std::printf("%d multi-column comparisons\n", ran);
}

}  // namespace
}  // namespace lucid::llm

namespace lucid::llm {
namespace {
__attribute__((target("f16c"))) float F16c(uint16_t h) { return _cvtsh_ss(h); }

// The SIMD paths convert fp16 scales with vcvtph2ps: the same bits as HalfToFloat, NaNs too.
TEST(Quant, F16cConversionEqualsHalfToFloat) {
  if (!KernelsFor(Path::kAvx2)) GTEST_SKIP() << "no AVX2/F16C on this CPU";
  for (uint32_t h = 0; h < 65536; ++h) {
    float a = HalfToFloat(static_cast<uint16_t>(h)), b = F16c(static_cast<uint16_t>(h));
    ASSERT_EQ(std::memcmp(&a, &b, 4), 0) << h;
  }
}
}  // namespace
}  // namespace lucid::llm
