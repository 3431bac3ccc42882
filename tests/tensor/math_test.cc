#include "tensor/math.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <vector>

namespace lucid::math {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Distance in float ulps between our float result and the double reference rounded to
// float (so 0 means correctly rounded).
int64_t UlpDistance(float got, double want) {
  float w = static_cast<float>(want);
  if (got == w) return 0;
  if (std::isnan(got) || std::isnan(w)) return INT64_MAX;
  auto key = [](float f) {
    int32_t i = std::bit_cast<int32_t>(f);
    return i < 0 ? static_cast<int64_t>(INT32_MIN) - i : static_cast<int64_t>(i);
  };
  int64_t d = key(got) - key(w);
  return d < 0 ? -d : d;
}

struct Case {
  const char* name;
  float (*ours)(float);
  double (*reference)(double);
  float lo, hi;
};

double RefSigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }
double RefExp(double x) { return std::exp(x); }
double RefLog(double x) { return std::log(x); }
double RefTanh(double x) { return std::tanh(x); }
double RefErf(double x) { return std::erf(x); }

// Max ulp error measured (this test prints it): Exp, Log, Tanh, Erf and Sigmoid are all
// within 1 ulp of the correctly rounded result over the sampled ranges.
TEST(MathTest, AccuracyWithinOneUlp) {
  const Case cases[] = {
      {"Exp", Exp, RefExp, -103.9f, 88.7f},
      {"Log", Log, RefLog, 1e-44f, 3e38f},
      {"Tanh", Tanh, RefTanh, -12.0f, 12.0f},
      {"Erf", Erf, RefErf, -5.0f, 5.0f},
      {"Sigmoid", Sigmoid, RefSigmoid, -110.0f, 45.0f},
  };
  std::mt19937 rng(12345);
  for (const Case& c : cases) {
    int64_t max_ulp = 0;
    float worst = 0;
    auto check = [&](float x) {
      int64_t d = UlpDistance(c.ours(x), c.reference(static_cast<double>(x)));
      if (d > max_ulp) {
        max_ulp = d;
        worst = x;
      }
    };
    std::uniform_real_distribution<float> uniform(c.lo, c.hi);
    for (int i = 0; i < 200000; ++i) check(uniform(rng));
    // Log-spaced magnitudes too (small arguments, both signs), and every float near 0/1.
    for (int i = 0; i < 100000; ++i) {
      float x = std::bit_cast<float>(static_cast<uint32_t>(rng()) & 0x7fffffffu);
      if (x < c.hi && x > 0) check(x);
      if (-x > c.lo && c.lo < 0) check(-x);
    }
    for (uint32_t bits = 0x3f7ff000u; bits < 0x3f801000u; ++bits) {
      float x = std::bit_cast<float>(bits);
      if (x > c.lo && x < c.hi) check(x);
    }
    std::printf("%-8s max error %lld ulp (at x=%.9g)\n", c.name, static_cast<long long>(max_ulp), worst);
    EXPECT_LE(max_ulp, 1) << c.name << " worst at " << worst;
  }
}

TEST(MathTest, ExpSpecialValues) {
  EXPECT_EQ(Exp(0.0f), 1.0f);
  EXPECT_EQ(Exp(-0.0f), 1.0f);
  EXPECT_EQ(Exp(kInf), kInf);
  EXPECT_EQ(Exp(-kInf), 0.0f);
  EXPECT_TRUE(std::isnan(Exp(kNaN)));
  EXPECT_EQ(Exp(88.8f), kInf);
  EXPECT_EQ(Exp(1000.0f), kInf);
  EXPECT_EQ(Exp(-200.0f), 0.0f);
  EXPECT_EQ(Exp(88.72f), std::exp(88.72f));
  // Results in the denormal range are rounded once, like the reference.
  EXPECT_LE(UlpDistance(Exp(-100.0f), std::exp(-100.0)), 1);
  EXPECT_GT(Exp(-100.0f), 0.0f);
  EXPECT_EQ(Exp(1e-45f), 1.0f);  // denormal argument
}

TEST(MathTest, LogSpecialValues) {
  EXPECT_EQ(Log(1.0f), 0.0f);
  EXPECT_EQ(Log(0.0f), -kInf);
  EXPECT_EQ(Log(-0.0f), -kInf);
  EXPECT_TRUE(std::isnan(Log(-1.0f)));
  EXPECT_TRUE(std::isnan(Log(-kInf)));
  EXPECT_TRUE(std::isnan(Log(kNaN)));
  EXPECT_EQ(Log(kInf), kInf);
  EXPECT_LE(UlpDistance(Log(1e-45f), std::log(static_cast<double>(1e-45f))), 1);  // smallest denormal
  EXPECT_LE(UlpDistance(Log(3.4028235e38f), std::log(3.4028235e38)), 1);
}

TEST(MathTest, TanhErfSigmoidSpecialValues) {
  for (auto f : {Tanh, Erf}) {
    EXPECT_EQ(f(kInf), 1.0f);
    EXPECT_EQ(f(-kInf), -1.0f);
    EXPECT_TRUE(std::isnan(f(kNaN)));
    EXPECT_TRUE(std::signbit(f(-0.0f)));
    EXPECT_EQ(f(0.0f), 0.0f);
    EXPECT_EQ(f(1e30f), 1.0f);
    EXPECT_EQ(f(-1e30f), -1.0f);
  }
  EXPECT_EQ(Tanh(1e-45f), 1e-45f);  // tanh(x) = x for tiny x, denormals included
  EXPECT_EQ(Tanh(1e-20f), 1e-20f);
  EXPECT_LE(UlpDistance(Erf(1e-45f), std::erf(static_cast<double>(1e-45f))), 1);
  EXPECT_EQ(Sigmoid(0.0f), 0.5f);
  EXPECT_EQ(Sigmoid(kInf), 1.0f);
  EXPECT_EQ(Sigmoid(-kInf), 0.0f);
  EXPECT_TRUE(std::isnan(Sigmoid(kNaN)));
  EXPECT_EQ(Sigmoid(100.0f), 1.0f);
  EXPECT_GT(Sigmoid(-100.0f), 0.0f);
  EXPECT_EQ(Sigmoid(1e-45f), 0.5f);
}

TEST(MathTest, DoubleHelpers) {
  EXPECT_NEAR(ExpDouble(1.0), 2.718281828459045, 1e-15);
  EXPECT_NEAR(Expm1Double(1e-10) / 1e-10, 1.00000000005, 1e-14);
  EXPECT_NEAR(ExpDouble(700.0) / std::exp(700.0), 1.0, 1e-14);
  EXPECT_NEAR(ExpDouble(-700.0) / std::exp(-700.0), 1.0, 1e-14);
}

// The vectorised array form must give Exp's bits exactly: special values, the whole
// finite range around the cut-offs, and random bit patterns (NaN payloads included).
TEST(MathTest, ExpArrayMatchesExpBitForBit) {
  std::vector<float> x = {0.0f, -0.0f, 1.0f, -1.0f, 88.72f, 88.73f, 89.0f, 89.00001f, -103.9f, -104.0f, -104.00001f,
                          std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::quiet_NaN(),
                          std::numeric_limits<float>::denorm_min(), std::numeric_limits<float>::max(),
                          std::numeric_limits<float>::lowest()};
  for (float v = -110.0f; v < 95.0f; v += 0.00137f) x.push_back(v);
  uint32_t state = 12345;
  for (int i = 0; i < 200000; ++i) {
    state = state * 1664525u + 1013904223u;
    x.push_back(std::bit_cast<float>(state));
  }
  for (size_t offset : {0u, 1u, 3u}) {  // unaligned starts and every tail length
    std::vector<float> fast(x.begin() + offset, x.end()), slow = fast;
    ExpArray(fast.data(), fast.size());
    ExpArrayScalar(slow.data(), slow.size());
    for (size_t i = 0; i < fast.size(); ++i) {
      ASSERT_EQ(std::bit_cast<uint32_t>(fast[i]), std::bit_cast<uint32_t>(slow[i])) << "x = " << x[i + offset];
      if (i < 64) {
        ASSERT_EQ(std::bit_cast<uint32_t>(slow[i]), std::bit_cast<uint32_t>(Exp(x[i + offset])));
      }
    }
  }
}

}  // namespace
}  // namespace lucid::math
