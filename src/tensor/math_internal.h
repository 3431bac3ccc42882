// Internal to lucid_tensor: constants shared by the scalar transcendental functions
// (math.cc) and their AVX2 array versions (math_avx2.cc), so both evaluate the very same
// operations.
#pragma once

#include <cstddef>

namespace lucid::math::internal {

// ln 2 split so that n * kLn2Hi is exact for |n| < 2^20 (fdlibm's constants).
inline constexpr double kLn2Hi = 6.93147180369123816490e-01;
inline constexpr double kLn2Lo = 1.90821492927058770002e-10;
inline constexpr double kInvLn2 = 1.44269504088896338700e+00;

// e^r − 1 = r · P(r) for |r| ≤ 0.35, P of degree 12 (Taylor to r^13): coefficients from the
// top, evaluated by Horner p = p · r + c (separate multiply and add). Truncation < 5e-18.
inline constexpr double kExpCoefficients[] = {
    1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0,
    1.0 / 40320.0,      1.0 / 5040.0,      1.0 / 720.0,      1.0 / 120.0,     1.0 / 24.0,
    1.0 / 6.0,          0.5,               1.0};
inline constexpr size_t kExpCoefficientCount = sizeof(kExpCoefficients) / sizeof(kExpCoefficients[0]);

float ExpScalar(float x);                            // = math::Exp
void ExpArrayAvx2(float* values, size_t count);      // call only when the CPU has AVX2

}  // namespace lucid::math::internal
