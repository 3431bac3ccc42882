// AVX-512 VNNI row kernels of the "avx512-vnni" path: quant_simd.inc with vpdpbusd (u8·s8
// quads summed into int32 without saturation) on 256-bit registers (AVX512VL).
// Only functions carrying LUCID_TGT use AVX-512; callers check CpuHasAvx512Vnni() first.
#include <immintrin.h>

#include "llm/quant.h"
#include "llm/quant_internal.h"

#define LUCID_TGT __attribute__((target("avx2,f16c,avx512f,avx512bw,avx512vl,avx512vnni")))
#define LUCID_NS vnni
#define LUCID_DOT(u, s) _mm256_dpbusd_epi32(_mm256_setzero_si256(), (u), (s))
#define LUCID_DOT_ACC(acc, u, s) _mm256_dpbusd_epi32((acc), (u), (s))
#include "llm/quant_simd.inc"

namespace lucid::llm::internal {
const Kernels& Avx512Kernels() {
  using namespace vnni;
  static constexpr Kernels k{"avx512-vnni", DotQ8_0, DotQ4_0, DotQ4_1, DotK45<false>, DotK45<true>, DotQ6K,
                             DotFloat<0>, DotFloat<1>, DotFloat<2>, DotQ8_0x4, DotQ4_0x4, DotQ4_1x4,
                             DotQ8_0x8, DotQ4_0x8, DotQ4_1x8,
                             DotQ8_0r4, DotQ4_0r4, DotQ4_1r4, QuantizeQ8};
  return k;
}
}  // namespace lucid::llm::internal
