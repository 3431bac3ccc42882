// AVX2 version of math::Exp over arrays. Each lane performs exactly the scalar Exp's IEEE
// double operations in the same order (conversion, range reduction, the same Horner
// polynomial with separate multiply and add, the same power-of-two scaling, one rounding
// to float), so every result is bit-identical to math::Exp; tests compare them.
// Only functions carrying LUCID_AVX2 use AVX2; callers check the CPU first.
#include <immintrin.h>

#include <cstddef>

#include "tensor/math_internal.h"

#define LUCID_AVX2 __attribute__((target("avx2")))

namespace lucid::math::internal {
namespace {

LUCID_AVX2 inline __m256d Pow2(__m128i n) {
  __m256i biased = _mm256_add_epi64(_mm256_cvtepi32_epi64(n), _mm256_set1_epi64x(1023));
  return _mm256_castsi256_pd(_mm256_slli_epi64(biased, 52));
}

// Four lanes of ExpDouble for inputs already inside [-104, 89].
LUCID_AVX2 inline __m128 Exp4(__m128 xf) {
  const __m256d d = _mm256_cvtps_pd(xf);
  const __m256d t = _mm256_mul_pd(d, _mm256_set1_pd(kInvLn2));
  const __m256d half = _mm256_set1_pd(0.5);
  const __m256d negative = _mm256_cmp_pd(t, _mm256_setzero_pd(), _CMP_LT_OQ);
  const __m256d rounded = _mm256_blendv_pd(_mm256_add_pd(t, half), _mm256_sub_pd(t, half), negative);
  const __m128i n = _mm256_cvttpd_epi32(rounded);  // truncation, as (int) in the scalar code
  const __m256d nd = _mm256_cvtepi32_pd(n);
  const __m256d r = _mm256_sub_pd(_mm256_sub_pd(d, _mm256_mul_pd(nd, _mm256_set1_pd(kLn2Hi))),
                                  _mm256_mul_pd(nd, _mm256_set1_pd(kLn2Lo)));
  __m256d p = _mm256_set1_pd(kExpCoefficients[0]);
  for (size_t i = 1; i < kExpCoefficientCount; ++i)
    p = _mm256_add_pd(_mm256_mul_pd(p, r), _mm256_set1_pd(kExpCoefficients[i]));
  const __m256d v = _mm256_add_pd(_mm256_set1_pd(1.0), _mm256_mul_pd(p, r));
  // half_n = n / 2 truncated toward zero: add the sign bit before the arithmetic shift.
  const __m128i half_n = _mm_srai_epi32(_mm_add_epi32(n, _mm_srli_epi32(n, 31)), 1);
  const __m128i rest = _mm_sub_epi32(n, half_n);
  return _mm256_cvtpd_ps(_mm256_mul_pd(_mm256_mul_pd(v, Pow2(half_n)), Pow2(rest)));
}

}  // namespace

LUCID_AVX2 void ExpArrayAvx2(float* values, size_t count) {
  const __m256 hi = _mm256_set1_ps(89.0f), lo = _mm256_set1_ps(-104.0f);
  const __m256 inf = _mm256_set1_ps(__builtin_inff());
  size_t i = 0;
  for (; i + 8 <= count; i += 8) {
    __m256 x = _mm256_loadu_ps(values + i);
    // Lanes outside the polynomial's range compute on a harmless 0 and are replaced below.
    __m256 special = _mm256_or_ps(_mm256_cmp_ps(x, hi, _CMP_GT_OQ),
                                  _mm256_or_ps(_mm256_cmp_ps(x, lo, _CMP_LT_OQ), _mm256_cmp_ps(x, x, _CMP_UNORD_Q)));
    __m256 safe = _mm256_andnot_ps(special, x);
    __m256 y = _mm256_set_m128(Exp4(_mm256_extractf128_ps(safe, 1)), Exp4(_mm256_castps256_ps128(safe)));
    y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(x, lo, _CMP_LT_OQ));
    y = _mm256_blendv_ps(y, inf, _mm256_cmp_ps(x, hi, _CMP_GT_OQ));
    y = _mm256_blendv_ps(y, x, _mm256_cmp_ps(x, x, _CMP_UNORD_Q));  // NaN passes through
    _mm256_storeu_ps(values + i, y);
  }
  for (; i < count; ++i) values[i] = ExpScalar(values[i]);
}

}  // namespace lucid::math::internal
