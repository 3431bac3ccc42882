// AVX2 row kernels of the "avx2" path (quant_simd.inc with vpmaddubsw + vpmaddwd sums).
// Only functions carrying LUCID_TGT use AVX2/F16C; callers check CpuHasAvx2() first.
#include <immintrin.h>

#include "llm/quant.h"
#include "llm/quant_internal.h"

#define LUCID_TGT __attribute__((target("avx2,f16c")))
#define LUCID_NS avx2
#define LUCID_DOT(u, s) _mm256_madd_epi16(_mm256_maddubs_epi16((u), (s)), _mm256_set1_epi16(1))
#define LUCID_DOT_ACC(acc, u, s) _mm256_add_epi32((acc), LUCID_DOT((u), (s)))
#include "llm/quant_simd.inc"

namespace lucid::llm::internal {
const Kernels& Avx2Kernels() {
  using namespace avx2;
  static constexpr Kernels k{"avx2", DotQ8_0, DotQ4_0, DotQ4_1, DotK45<false>, DotK45<true>, DotQ6K,
                             DotFloat<0>, DotFloat<1>, DotFloat<2>, DotQ8_0x4, DotQ4_0x4, DotQ4_1x4,
                             DotQ8_0x8, DotQ4_0x8, DotQ4_1x8,
                             DotQ8_0r4, DotQ4_0r4, DotQ4_1r4, QuantizeQ8};
  return k;
}
}  // namespace lucid::llm::internal
