// Internal to lucid_llm (and its tests/benchmarks): the per-path row kernels behind
// quant.h's MatMul, and the integer/float helpers every path shares so that the float
// combination of block results is literally the same code on every path.
// Thread-safety: free functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "llm/quant.h"

namespace lucid::llm::internal {

enum class Path : uint8_t { kScalar, kAvx2, kAvx512Vnni };

// One weight row (nb blocks) · one quantized activation row.
using DotQ8 = float (*)(const uint8_t* w, const ActQ8* a, int64_t nb);
using DotQ8K = float (*)(const uint8_t* w, const ActQ8K* a, int64_t nb);
// One float-type weight row (n elements) · float activations.
using DotF = float (*)(const uint8_t* w, const float* x, int64_t n);

// Up to eight activation columns for the multi-column kernels: column c's blocks q[c][0..nb);
// the same blocks' d, s and sum as contiguous arrays (8 blocks' scales in one load; readable
// up to the next multiple of 8 blocks); and qt[c], the quants of each group of 8 blocks (the
// last one zero-padded) transposed in 4-byte pieces: group G's 256 bytes at qt[c] + 256·G,
// byte 32·g + 4·l + k = q[c][8G + l].qs[4g + k] (see TransposeActQ8).
struct ActColumns {
  const ActQ8* q[8];
  const float* d[8];
  const float* s[8];
  const int32_t* sum[8];
  const int8_t* qt[8];
};
inline int64_t ActGroups(int64_t nb) { return (nb + 7) / 8; }
// Writes qt (above) for nb blocks: ActGroups(nb)·256 bytes.
inline void TransposeActQ8(const ActQ8* q, int64_t nb, int8_t* qt) {
  for (int64_t g8 = 0; g8 < nb; g8 += 8, qt += 256)
    for (int g = 0; g < 8; ++g)
      for (int l = 0; l < 8; ++l)
        for (int k = 0; k < 4; ++k) qt[32 * g + 4 * l + k] = g8 + l < nb ? q[g8 + l].qs[4 * g + k] : int8_t{0};
}
// One weight row (nb blocks) · four (x4) or eight (x8) activation columns, each weight block
// loaded and unpacked once: out[c] == the single-column DotQ8(w, q[c], nb) bit for bit (same
// integer block sums, same float terms, added in the same block order; only the columns'
// chains interleave).
using DotQ8xN = void (*)(const uint8_t* w, const ActColumns& a, int64_t nb, float* out);
// Four weight rows (row i at w + i·row_bytes) · activation column 0 of `a` (mat-vec): out[i]
// == DotQ8(row i, q[0], nb) bit for bit (the rows' add chains interleave).
using DotQ8R4 = void (*)(const uint8_t* w, int64_t row_bytes, const ActColumns& a, int64_t nb, float* out);

struct Kernels {
  std::string_view name;
  DotQ8 q8_0, q4_0, q4_1;
  DotQ8K q4_k, q5_k, q6_k;
  DotF f32, f16, bf16;
  DotQ8xN q8_0x4, q4_0x4, q4_1x4;
  DotQ8xN q8_0x8, q4_0x8, q4_1x8;
  DotQ8R4 q8_0r4, q4_0r4, q4_1r4;
  // QuantizeActQ8 (the scalar path's is that function; the SIMD ones give the same bytes).
  void (*quantize_q8)(const float* x, int64_t n, ActQ8* out);
};

// Kernels for a path; nullptr when this CPU cannot run it.
const Kernels* KernelsFor(Path path);
const Kernels& ActiveKernels();

// MatMul with an explicit path (tests run every path through it).
void MatMulWith(const Kernels& kernels, const WeightMatrix& w, int64_t batch, const float* x, int64_t ldx,
                float* y, int64_t ldy, int threads);
void MatMulWith(const Kernels& kernels, const WeightMatrix& w, MatMulInput& in, float* y, int64_t ldy, int threads);

const Kernels& ScalarKernels();
const Kernels& Avx2Kernels();    // call only when CpuHasAvx2()
const Kernels& Avx512Kernels();  // call only when CpuHasAvx512Vnni()

namespace {  // internal linkage: each translation unit (and target) gets its own copy

// IEEE half -> float, exact (NaNs keep their payload and become quiet, like vcvtph2ps).
inline float H2F(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1Fu, man = h & 0x3FFu, bits;
  if (exp == 0x1F) {
    bits = sign | 0x7F800000u | (man << 13) | (man ? 0x00400000u : 0u);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (man << 13);
  } else if (man == 0) {
    bits = sign;
  } else {  // subnormal: normalize
    int e = -1;
    do {
      ++e;
      man <<= 1;
    } while ((man & 0x400u) == 0);
    bits = sign | (static_cast<uint32_t>(112 - e) << 23) | ((man & 0x3FFu) << 13);
  }
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}

// ggml's get_scale_min_k4: 6-bit scale and min of sub-block j < 8 of a Q4_K/Q5_K block.
inline void ScaleMinK4(int j, const uint8_t* q, int32_t* sc, int32_t* m) {
  if (j < 4) {
    *sc = q[j] & 63;
    *m = q[j + 4] & 63;
  } else {
    *sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// The fixed float steps per block, given the block's exact integer sums.
// Weight scales arrive converted from fp16 (H2F, or vcvtph2ps on the SIMD paths: both exact).
inline float StepQ8_0(float acc, float wd, const ActQ8& a, int32_t dot) {
  return acc + static_cast<float>(dot) * (wd * a.d);
}
inline float StepQ4_0(float acc, float wd, const ActQ8& a, int32_t dot_u) {  // dot_u = Σ q·y, q in 0..15
  return acc + static_cast<float>(dot_u - 8 * a.sum) * (wd * a.d);
}
inline float StepQ4_1(float acc, float wd, float wm, const ActQ8& a, int32_t dot_u) {
  return acc + ((wd * a.d) * static_cast<float>(dot_u) + wm * a.s);
}
// Q4_K / Q5_K: dots[j] = Σ q·y over sub-block j (32 elements).
inline float StepK4(float acc, float wd, float wdmin, const uint8_t* scales, const ActQ8K& a,
                    const int32_t* dots) {
  int32_t sumi = 0, summ = 0;
  for (int j = 0; j < 8; ++j) {
    int32_t sc, m;
    ScaleMinK4(j, scales, &sc, &m);
    sumi += sc * dots[j];
    summ += m * (a.bsums[2 * j] + a.bsums[2 * j + 1]);
  }
  return acc + ((wd * a.d) * static_cast<float>(sumi) - (wdmin * a.d) * static_cast<float>(summ));
}
// Q6_K: dots[j] = Σ q·y over 16 elements j (q in 0..63, before the −32).
inline float StepQ6K(float acc, float wd, const int8_t* scales, const ActQ8K& a, const int32_t* dots) {
  int32_t sumi = 0;
  for (int j = 0; j < 16; ++j) sumi += scales[j] * (dots[j] - 32 * a.bsums[j]);
  return acc + (wd * a.d) * static_cast<float>(sumi);
}
// Float rows: 16 lane sums -> one float, fixed tree.
inline float ReduceLanes(float* l) {
  for (int i = 0; i < 8; ++i) l[i] = l[i] + l[i + 8];
  for (int i = 0; i < 4; ++i) l[i] = l[i] + l[i + 4];
  for (int i = 0; i < 2; ++i) l[i] = l[i] + l[i + 2];
  return l[0] + l[1];
}

}  // namespace
}  // namespace lucid::llm::internal
