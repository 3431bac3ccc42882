#include "tensor/math.h"

#include <bit>
#include <cstdint>
#include <limits>

#include "base/cpu.h"
#include "tensor/math_internal.h"

namespace lucid::math {
namespace {

using internal::kExpCoefficientCount;
using internal::kExpCoefficients;
using internal::kInvLn2;
using internal::kLn2Hi;
using internal::kLn2Lo;
constexpr double kTwoOverSqrtPi = 1.12837916709551257390e+00;

// 2^n as a double for -1022 ≤ n ≤ 1023.
double Pow2(int n) { return std::bit_cast<double>(static_cast<uint64_t>(n + 1023) << 52); }

// Round to nearest integer (ties away from zero); |v| is small here.
int RoundToInt(double v) { return static_cast<int>(v < 0 ? v - 0.5 : v + 0.5); }

// e^r - 1 for |r| ≤ 0.35: Taylor polynomial of degree 13, Horner from the top
// (math_internal.h). Truncation error < 0.35^14/14! ≈ 5e-18.
double Expm1Reduced(double r) {
  double p = kExpCoefficients[0];
  for (size_t i = 1; i < kExpCoefficientCount; ++i) p = p * r + kExpCoefficients[i];
  return p * r;
}

// x = n ln2 + r with |r| ≤ ln2/2 (plus rounding slack).
void Reduce(double x, int& n, double& r) {
  n = RoundToInt(x * kInvLn2);
  r = (x - n * kLn2Hi) - n * kLn2Lo;
}

}  // namespace

double Expm1Double(double x) {
  int n;
  double r;
  Reduce(x, n, r);
  double p = Expm1Reduced(r);
  if (n == 0) return p;
  // 2^n (1 + p) - 1; split 2^n in two factors so that n up to 1023 stays finite.
  int half = n / 2;
  return (Pow2(half) * (1.0 + p)) * Pow2(n - half) - 1.0;
}

double ExpDouble(double x) {
  int n;
  double r;
  Reduce(x, n, r);
  double v = 1.0 + Expm1Reduced(r);
  int half = n / 2;
  return (v * Pow2(half)) * Pow2(n - half);
}

float Exp(float x) {
  if (x != x) return x;
  if (x > 89.0f) return std::numeric_limits<float>::infinity();
  if (x < -104.0f) return 0.0f;
  // The double result rounds once to float (denormals and overflow included).
  return static_cast<float>(ExpDouble(static_cast<double>(x)));
}

namespace internal {
float ExpScalar(float x) { return Exp(x); }
}  // namespace internal

void ExpArray(float* values, size_t count) {
  static const bool avx2 = CpuHasAvx2();
  if (avx2) return internal::ExpArrayAvx2(values, count);
  for (size_t i = 0; i < count; ++i) values[i] = Exp(values[i]);
}

void ExpArrayScalar(float* values, size_t count) {
  for (size_t i = 0; i < count; ++i) values[i] = Exp(values[i]);
}

float Log(float x) {
  if (x != x) return x;
  if (x == 0.0f) return -std::numeric_limits<float>::infinity();
  if (x < 0.0f) return std::numeric_limits<float>::quiet_NaN();
  if (x == std::numeric_limits<float>::infinity()) return x;
  // Every float (denormals too) is a normal double: x = m * 2^e, m in [1, 2).
  uint64_t bits = std::bit_cast<uint64_t>(static_cast<double>(x));
  int e = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
  double m = std::bit_cast<double>((bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
  if (m > 1.41421356237309504880) {  // keep m in [sqrt(1/2), sqrt(2)]
    m *= 0.5;
    e += 1;
  }
  // log(m) = 2 atanh(s), s = (m-1)/(m+1), |s| ≤ 0.1716; series to s^25 (error < 1e-19).
  double s = (m - 1.0) / (m + 1.0);
  double s2 = s * s;
  double p = 1.0 / 25.0;
  p = p * s2 + 1.0 / 23.0;
  p = p * s2 + 1.0 / 21.0;
  p = p * s2 + 1.0 / 19.0;
  p = p * s2 + 1.0 / 17.0;
  p = p * s2 + 1.0 / 15.0;
  p = p * s2 + 1.0 / 13.0;
  p = p * s2 + 1.0 / 11.0;
  p = p * s2 + 1.0 / 9.0;
  p = p * s2 + 1.0 / 7.0;
  p = p * s2 + 1.0 / 5.0;
  p = p * s2 + 1.0 / 3.0;
  p = p * s2 + 1.0;
  double log_m = 2.0 * s * p;
  double result = (e * kLn2Hi) + (log_m + e * kLn2Lo);
  return static_cast<float>(result);
}

float Tanh(float x) {
  if (x != x || x == 0.0f) return x;  // NaN, and keeps the sign of zero
  double a = x < 0 ? -static_cast<double>(x) : static_cast<double>(x);
  double t;
  if (a >= 10.0) {
    t = 1.0;
  } else {
    double em1 = Expm1Double(2.0 * a);  // tanh(a) = (e^2a - 1) / (e^2a + 1)
    t = em1 / (em1 + 2.0);
  }
  return static_cast<float>(x < 0 ? -t : t);
}

float Erf(float x) {
  if (x != x || x == 0.0f) return x;
  double a = x < 0 ? -static_cast<double>(x) : static_cast<double>(x);
  double v;
  if (a >= 4.0) {
    v = 1.0;
  } else {
    // erf(a) = 2/sqrt(pi) e^(-a^2) Σ_{n≥0} 2^n a^(2n+1) / (1·3·…·(2n+1)); all terms
    // positive (no cancellation). 120 terms, summed in index order; the tail at a < 4 is
    // below 1e-20 of the sum.
    double a2 = a * a;
    double term = a;
    double sum = a;
    for (int n = 0; n < 120; ++n) {
      term = term * (2.0 * a2) / (2.0 * n + 3.0);
      sum = sum + term;
    }
    v = kTwoOverSqrtPi * ExpDouble(-a2) * sum;
    if (v > 1.0) v = 1.0;
  }
  return static_cast<float>(x < 0 ? -v : v);
}

float Sigmoid(float x) {
  if (x != x) return x;
  if (x > 40.0f) return 1.0f;
  if (x < -104.0f) return 0.0f;
  double e = ExpDouble(-static_cast<double>(x));
  return static_cast<float>(1.0 / (1.0 + e));
}

}  // namespace lucid::math
