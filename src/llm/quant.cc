// Types, dequantization, activation quantization, the scalar reference kernels and the
// threaded MatMul driver (quant.h). The AVX2 / AVX-512 kernels live in quant_avx2.cc and
// quant_avx512.cc (both from quant_simd.inc) and reproduce these bit for bit.
#include "llm/quant.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "base/cpu.h"
#include "base/parallel.h"
#include "llm/quant_internal.h"

namespace lucid::llm {
namespace {

constexpr TypeInfo kUnknown{"", 0, 0, false};
const TypeInfo& Info(uint32_t t) {
  static const TypeInfo kF32{"F32", 1, 4, true}, kF16{"F16", 1, 2, true}, kQ4_0{"Q4_0", 32, 18, true},
      kQ4_1{"Q4_1", 32, 20, true}, kQ5_0{"Q5_0", 32, 22, false}, kQ5_1{"Q5_1", 32, 24, false},
      kQ8_0{"Q8_0", 32, 34, true}, kQ8_1{"Q8_1", 32, 36, false}, kQ2_K{"Q2_K", 256, 84, false},
      kQ3_K{"Q3_K", 256, 110, false}, kQ4_K{"Q4_K", 256, 144, true}, kQ5_K{"Q5_K", 256, 176, true},
      kQ6_K{"Q6_K", 256, 210, true}, kQ8_K{"Q8_K", 256, 292, false}, kBF16{"BF16", 1, 2, true};
  switch (t) {
    case 0: return kF32;
    case 1: return kF16;
    case 2: return kQ4_0;
    case 3: return kQ4_1;
    case 6: return kQ5_0;
    case 7: return kQ5_1;
    case 8: return kQ8_0;
    case 9: return kQ8_1;
    case 10: return kQ2_K;
    case 11: return kQ3_K;
    case 12: return kQ4_K;
    case 13: return kQ5_K;
    case 14: return kQ6_K;
    case 15: return kQ8_K;
    case 30: return kBF16;
    default: return kUnknown;
  }
}

using internal::H2F;

// Reads a little-endian uint16 at p (blocks are packed, so fields may be unaligned).
inline uint16_t U16(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

// int conversions that never hit undefined behaviour (NaN -> 0, clamp to ±127).
inline int8_t ClampQ(float v) {
  if (!(v >= -127.0f)) return v != v ? 0 : -127;
  if (v > 127.0f) return 127;
  return static_cast<int8_t>(v);
}

}  // namespace

const TypeInfo* TypeInfoOf(uint32_t type) {
  const TypeInfo& i = Info(type);
  return i.block_size == 0 ? nullptr : &i;
}
std::string_view TypeName(GgmlType type) {
  const TypeInfo* i = TypeInfoOf(static_cast<uint32_t>(type));
  return i ? i->name : std::string_view("unknown");
}

float HalfToFloat(uint16_t h) { return H2F(h); }

uint16_t FloatToHalf(float f) {
  uint32_t x;
  std::memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000u;
  uint32_t ax = x & 0x7FFFFFFFu;
  if (ax >= 0x7F800000u) return static_cast<uint16_t>(sign | 0x7C00u | (ax > 0x7F800000u ? 0x200u | ((ax >> 13) & 0x3FFu) : 0));
  if (ax >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // rounds to >= 65520: inf
  if (ax < 0x38800000u) {  // below the smallest normal half: subnormal or zero
    if (ax < 0x33000000u) return static_cast<uint16_t>(sign);  // < 2^-25: rounds to 0
    uint32_t e = ax >> 23, man = (ax & 0x7FFFFFu) | 0x800000u;
    uint32_t shift = 126 - e;  // value = man·2^(e−150); half subnormal unit 2^−24
    uint32_t q = man >> shift, rem = man & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (q & 1))) ++q;
    return static_cast<uint16_t>(sign | q);
  }
  uint32_t e = (ax >> 23) - 112, man = ax & 0x7FFFFFu;
  uint32_t h = (e << 10) | (man >> 13), rem = man & 0x1FFFu;
  if (rem > 0x1000u || (rem == 0x1000u && (h & 1))) ++h;
  return static_cast<uint16_t>(sign | h);
}

float Bf16ToFloat(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

int64_t RowBytes(GgmlType type, int64_t n) {
  const TypeInfo* i = TypeInfoOf(static_cast<uint32_t>(type));
  if (!i || n < 0 || n % i->block_size != 0) return -1;
  return n / i->block_size * i->type_size;
}

void DequantizeRow(GgmlType type, const void* src, float* y, int64_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(src);
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(y, p, static_cast<size_t>(n) * 4);
      return;
    case GgmlType::kF16:
      for (int64_t i = 0; i < n; ++i) y[i] = H2F(U16(p + 2 * i));
      return;
    case GgmlType::kBF16:
      for (int64_t i = 0; i < n; ++i) y[i] = Bf16ToFloat(U16(p + 2 * i));
      return;
    case GgmlType::kQ8_0:
      for (int64_t b = 0; b < n / 32; ++b, p += 34) {
        float d = H2F(U16(p));
        for (int j = 0; j < 32; ++j) y[b * 32 + j] = static_cast<float>(static_cast<int8_t>(p[2 + j])) * d;
      }
      return;
    case GgmlType::kQ4_0:
      for (int64_t b = 0; b < n / 32; ++b, p += 18) {
        float d = H2F(U16(p));
        for (int j = 0; j < 16; ++j) {
          y[b * 32 + j] = static_cast<float>((p[2 + j] & 0xF) - 8) * d;
          y[b * 32 + j + 16] = static_cast<float>((p[2 + j] >> 4) - 8) * d;
        }
      }
      return;
    case GgmlType::kQ4_1:
      for (int64_t b = 0; b < n / 32; ++b, p += 20) {
        float d = H2F(U16(p)), m = H2F(U16(p + 2));
        for (int j = 0; j < 16; ++j) {
          y[b * 32 + j] = static_cast<float>(p[4 + j] & 0xF) * d + m;
          y[b * 32 + j + 16] = static_cast<float>(p[4 + j] >> 4) * d + m;
        }
      }
      return;
    case GgmlType::kQ4_K:
    case GgmlType::kQ5_K: {
      const bool five = type == GgmlType::kQ5_K;
      const int64_t bytes = five ? 176 : 144;
      for (int64_t b = 0; b < n / 256; ++b, p += bytes) {
        float d = H2F(U16(p)), dmin = H2F(U16(p + 2));
        const uint8_t* scales = p + 4;
        const uint8_t* qh = p + 16;
        const uint8_t* qs = five ? p + 48 : p + 16;
        float* out = y + b * 256;
        for (int c = 0; c < 4; ++c) {
          int32_t sc1, m1, sc2, m2;
          internal::ScaleMinK4(2 * c, scales, &sc1, &m1);
          internal::ScaleMinK4(2 * c + 1, scales, &sc2, &m2);
          float d1 = d * static_cast<float>(sc1), mm1 = dmin * static_cast<float>(m1);
          float d2 = d * static_cast<float>(sc2), mm2 = dmin * static_cast<float>(m2);
          for (int l = 0; l < 32; ++l) {
            int q1 = qs[32 * c + l] & 0xF, q2 = qs[32 * c + l] >> 4;
            if (five) {
              q1 += ((qh[l] >> (2 * c)) & 1) << 4;
              q2 += ((qh[l] >> (2 * c + 1)) & 1) << 4;
            }
            out[64 * c + l] = d1 * static_cast<float>(q1) - mm1;
            out[64 * c + 32 + l] = d2 * static_cast<float>(q2) - mm2;
          }
        }
      }
      return;
    }
    case GgmlType::kQ6_K:
      for (int64_t b = 0; b < n / 256; ++b, p += 210) {
        const uint8_t* ql = p;
        const uint8_t* qh = p + 128;
        const int8_t* sc = reinterpret_cast<const int8_t*>(p + 192);
        float d = H2F(U16(p + 208));
        float* out = y + b * 256;
        for (int h = 0; h < 2; ++h) {
          for (int l = 0; l < 32; ++l) {
            const uint8_t* L = ql + 64 * h;
            uint8_t H = qh[32 * h + l];
            int q1 = ((L[l] & 0xF) | ((H & 3) << 4)) - 32;
            int q2 = ((L[l + 32] & 0xF) | (((H >> 2) & 3) << 4)) - 32;
            int q3 = ((L[l] >> 4) | (((H >> 4) & 3) << 4)) - 32;
            int q4 = ((L[l + 32] >> 4) | (((H >> 6) & 3) << 4)) - 32;
            int base = 128 * h;
            out[base + l] = d * static_cast<float>(sc[(base + l) / 16]) * static_cast<float>(q1);
            out[base + l + 32] = d * static_cast<float>(sc[(base + l + 32) / 16]) * static_cast<float>(q2);
            out[base + l + 64] = d * static_cast<float>(sc[(base + l + 64) / 16]) * static_cast<float>(q3);
            out[base + l + 96] = d * static_cast<float>(sc[(base + l + 96) / 16]) * static_cast<float>(q4);
          }
        }
      }
      return;
    default:
      std::abort();  // REQUIRES violated: unsupported type
  }
}

// ggml's quantize_row_q8_1_ref (d rounded to fp16, s = fp16(d·Σq)); Q8_0 uses d and qs only.
void QuantizeActQ8(const float* x, int64_t n, ActQ8* out) {
  for (int64_t b = 0; b < n / 32; ++b) {
    const float* v = x + 32 * b;
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::fmax(amax, std::fabs(v[j]));
    float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
    ActQ8& a = out[b];
    int32_t sum = 0;
    for (int j = 0; j < 32; ++j) {
      a.qs[j] = ClampQ(std::round(v[j] * id));
      sum += a.qs[j];
    }
    a.sum = sum;
    a.d = H2F(FloatToHalf(d));
    a.s = H2F(FloatToHalf(d * static_cast<float>(sum)));
  }
}

// ggml's quantize_row_q8_K_ref.
void QuantizeActQ8K(const float* x, int64_t n, ActQ8K* out) {
  for (int64_t b = 0; b < n / 256; ++b) {
    const float* v = x + 256 * b;
    ActQ8K& a = out[b];
    float amax = 0, max = 0;
    for (int j = 0; j < 256; ++j) {
      float ax = std::fabs(v[j]);
      if (ax > amax) {
        amax = ax;
        max = v[j];
      }
    }
    if (amax == 0 || !std::isfinite(amax)) {
      a.d = 0;
      std::memset(a.qs, 0, sizeof a.qs);
      std::memset(a.bsums, 0, sizeof a.bsums);
      continue;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < 256; ++j) a.qs[j] = ClampQ(std::nearbyint(iscale * v[j]));
    for (int j = 0; j < 16; ++j) {
      int sum = 0;
      for (int i = 0; i < 16; ++i) sum += a.qs[16 * j + i];
      a.bsums[j] = static_cast<int16_t>(sum);
    }
    a.d = 1.0f / iscale;
  }
}

struct MatMulInput::Quantized {
  bool has_q8 = false, has_q8k = false;
  std::vector<ActQ8> q8;              // [batch][cols / 32]
  std::vector<float> d, s;            // q8's d and s, same layout
  std::vector<int32_t> sum;           // q8's sum, same layout
  std::vector<int8_t> qt;             // q8's quants transposed per 8 blocks: [batch][cols / 256][256]
  std::vector<ActQ8K> q8k;            // [batch][cols / 256]
};

namespace internal {
namespace {

// ---- Scalar reference kernels ----
float DotQ8_0Ref(const uint8_t* w, const ActQ8* a, int64_t nb) {
  float acc = 0;
  for (int64_t b = 0; b < nb; ++b, w += 34) {
    int32_t dot = 0;
    for (int j = 0; j < 32; ++j) dot += static_cast<int8_t>(w[2 + j]) * a[b].qs[j];
    acc = StepQ8_0(acc, H2F(U16(w)), a[b], dot);
  }
  return acc;
}
float DotQ4_0Ref(const uint8_t* w, const ActQ8* a, int64_t nb) {
  float acc = 0;
  for (int64_t b = 0; b < nb; ++b, w += 18) {
    int32_t dot = 0;
    for (int j = 0; j < 16; ++j) dot += (w[2 + j] & 0xF) * a[b].qs[j] + (w[2 + j] >> 4) * a[b].qs[j + 16];
    acc = StepQ4_0(acc, H2F(U16(w)), a[b], dot);
  }
  return acc;
}
float DotQ4_1Ref(const uint8_t* w, const ActQ8* a, int64_t nb) {
  float acc = 0;
  for (int64_t b = 0; b < nb; ++b, w += 20) {
    int32_t dot = 0;
    for (int j = 0; j < 16; ++j) dot += (w[4 + j] & 0xF) * a[b].qs[j] + (w[4 + j] >> 4) * a[b].qs[j + 16];
    acc = StepQ4_1(acc, H2F(U16(w)), H2F(U16(w + 2)), a[b], dot);
  }
  return acc;
}
template <bool kFive>
float DotK45Ref(const uint8_t* w, const ActQ8K* a, int64_t nb) {
  float acc = 0;
  for (int64_t b = 0; b < nb; ++b, w += kFive ? 176 : 144) {
    const uint8_t* qh = w + 16;
    const uint8_t* qs = kFive ? w + 48 : w + 16;
    int32_t dots[8];
    for (int c = 0; c < 4; ++c) {
      int32_t lo = 0, hi = 0;
      for (int l = 0; l < 32; ++l) {
        int q1 = qs[32 * c + l] & 0xF, q2 = qs[32 * c + l] >> 4;
        if (kFive) {
          q1 += ((qh[l] >> (2 * c)) & 1) << 4;
          q2 += ((qh[l] >> (2 * c + 1)) & 1) << 4;
        }
        lo += q1 * a[b].qs[64 * c + l];
        hi += q2 * a[b].qs[64 * c + 32 + l];
      }
      dots[2 * c] = lo;
      dots[2 * c + 1] = hi;
    }
    acc = StepK4(acc, H2F(U16(w)), H2F(U16(w + 2)), w + 4, a[b], dots);
  }
  return acc;
}
float DotQ6KRef(const uint8_t* w, const ActQ8K* a, int64_t nb) {
  float acc = 0;
  for (int64_t b = 0; b < nb; ++b, w += 210) {
    int32_t dots[16] = {};
    for (int h = 0; h < 2; ++h) {
      const uint8_t* L = w + 64 * h;
      const uint8_t* Hp = w + 128 + 32 * h;
      for (int l = 0; l < 32; ++l) {
        int base = 128 * h;
        uint8_t H = Hp[l];
        int q[4] = {(L[l] & 0xF) | ((H & 3) << 4), (L[l + 32] & 0xF) | (((H >> 2) & 3) << 4),
                    (L[l] >> 4) | (((H >> 4) & 3) << 4), (L[l + 32] >> 4) | (((H >> 6) & 3) << 4)};
        for (int t = 0; t < 4; ++t) {
          int e = base + l + 32 * t;
          dots[e / 16] += q[t] * a[b].qs[e];
        }
      }
    }
    acc = StepQ6K(acc, H2F(U16(w + 208)), reinterpret_cast<const int8_t*>(w + 192), a[b], dots);
  }
  return acc;
}
template <int kType>  // 0 f32, 1 f16, 2 bf16
float DotFloatRef(const uint8_t* w, const float* x, int64_t n) {
  float lanes[16] = {};
  for (int64_t i = 0; i < n; ++i) {
    float wi;
    if (kType == 0) {
      std::memcpy(&wi, w + 4 * i, 4);
    } else if (kType == 1) {
      wi = H2F(U16(w + 2 * i));
    } else {
      wi = Bf16ToFloat(U16(w + 2 * i));
    }
    lanes[i % 16] = lanes[i % 16] + wi * x[i];
  }
  return ReduceLanes(lanes);
}

// The scalar multi-column kernels are the single-column ones, column by column.
template <DotQ8 kDot, int kCols>
void DotNRef(const uint8_t* w, const ActColumns& a, int64_t nb, float* out) {
  for (int c = 0; c < kCols; ++c) out[c] = kDot(w, a.q[c], nb);
}
template <DotQ8 kDot>
void Rows4Ref(const uint8_t* w, int64_t row_bytes, const ActColumns& a, int64_t nb, float* out) {
  for (int i = 0; i < 4; ++i) out[i] = kDot(w + i * row_bytes, a.q[0], nb);
}

constexpr Kernels kScalar{"scalar",      DotQ8_0Ref,        DotQ4_0Ref,        DotQ4_1Ref,        DotK45Ref<false>,
                          DotK45Ref<true>, DotQ6KRef,       DotFloatRef<0>,    DotFloatRef<1>,    DotFloatRef<2>,
                          DotNRef<DotQ8_0Ref, 4>, DotNRef<DotQ4_0Ref, 4>, DotNRef<DotQ4_1Ref, 4>,
                          DotNRef<DotQ8_0Ref, 8>, DotNRef<DotQ4_0Ref, 8>, DotNRef<DotQ4_1Ref, 8>,
                          Rows4Ref<DotQ8_0Ref>, Rows4Ref<DotQ4_0Ref>, Rows4Ref<DotQ4_1Ref>,
                          QuantizeActQ8};

const Kernels& Choose() {
  const Kernels* best = CpuHasAvx512Vnni() ? &Avx512Kernels() : CpuHasAvx2() ? &Avx2Kernels() : &kScalar;
  if (const char* want = std::getenv("LUCID_GEMM_PATH")) {
    for (Path p : {Path::kScalar, Path::kAvx2, Path::kAvx512Vnni})
      if (const Kernels* k = KernelsFor(p); k && k->name == want) return *k;
  }
  return *best;
}

}  // namespace

const Kernels& ScalarKernels() { return kScalar; }

const Kernels* KernelsFor(Path path) {
  switch (path) {
    case Path::kScalar:
      return &kScalar;
    case Path::kAvx2:
      return CpuHasAvx2() ? &Avx2Kernels() : nullptr;
    case Path::kAvx512Vnni:
      return CpuHasAvx512Vnni() ? &Avx512Kernels() : nullptr;
  }
  return nullptr;
}

const Kernels& ActiveKernels() {
  static const Kernels& chosen = Choose();
  return chosen;
}

namespace {
inline float Canonical(float v) {
  // A NaN's sign and payload would depend on the compiler's operand order; whether a result
  // is NaN does not: every NaN is written as the one canonical quiet NaN.
  return v != v ? std::bit_cast<float>(0x7FC00000u) : v;
}
}  // namespace

void MatMulWith(const Kernels& k, const WeightMatrix& w, int64_t batch, const float* x, int64_t ldx, float* y,
                int64_t ldy, int threads) {
  MatMulInput in;
  in.Reset(batch, x, ldx, w.cols);
  MatMulWith(k, w, in, y, ldy, threads);
}

void MatMulWith(const Kernels& k, const WeightMatrix& w, MatMulInput& in, float* y, int64_t ldy, int threads) {
  const int64_t batch = in.batch();
  if (w.rows <= 0 || batch <= 0) return;
  const int64_t n = w.cols;
  const float* x = in.x();
  const int64_t ldx = in.ldx();
  DotQ8 dq8 = nullptr;
  DotQ8xN dq8x4 = nullptr, dq8x8 = nullptr;
  DotQ8R4 dq8r4 = nullptr;
  DotQ8K dq8k = nullptr;
  DotF df = nullptr;
  switch (w.type) {
    case GgmlType::kQ8_0: dq8 = k.q8_0; dq8x4 = k.q8_0x4; dq8x8 = k.q8_0x8; dq8r4 = k.q8_0r4; break;
    case GgmlType::kQ4_0: dq8 = k.q4_0; dq8x4 = k.q4_0x4; dq8x8 = k.q4_0x8; dq8r4 = k.q4_0r4; break;
    case GgmlType::kQ4_1: dq8 = k.q4_1; dq8x4 = k.q4_1x4; dq8x8 = k.q4_1x8; dq8r4 = k.q4_1r4; break;
    case GgmlType::kQ4_K: dq8k = k.q4_k; break;
    case GgmlType::kQ5_K: dq8k = k.q5_k; break;
    case GgmlType::kQ6_K: dq8k = k.q6_k; break;
    case GgmlType::kF32: df = k.f32; break;
    case GgmlType::kF16: df = k.f16; break;
    case GgmlType::kBF16: df = k.bf16; break;
    default: std::abort();  // REQUIRES violated
  }
  if (in.cols() != n) std::abort();  // REQUIRES violated
  const int64_t nb32 = n / 32, nb256 = n / 256;
  MatMulInput::Quantized& qz = in.quantized();
  // Quantize the input once per kind (columns in parallel: each column's blocks are its own).
  if (dq8 && !qz.has_q8) {
    // d, s, sum: one column after another, nb32 each, zero-padded so that the 8 blocks from
    // any block of the last group can be loaded; qt: ActGroups(nb32)·256 bytes a column.
    const int64_t padded = batch * nb32 + 8;
    qz.q8.resize(static_cast<size_t>(batch * nb32));
    qz.d.assign(static_cast<size_t>(padded), 0.0f);
    qz.s.assign(static_cast<size_t>(padded), 0.0f);
    qz.sum.assign(static_cast<size_t>(padded), 0);
    qz.qt.resize(static_cast<size_t>(batch * internal::ActGroups(nb32) * 256));
    ParallelFor(batch, std::max(1, threads), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) {
        ActQ8* a = qz.q8.data() + b * nb32;
        k.quantize_q8(x + b * ldx, n, a);
        for (int64_t i = 0; i < nb32; ++i) {
          qz.d[static_cast<size_t>(b * nb32 + i)] = a[i].d;
          qz.s[static_cast<size_t>(b * nb32 + i)] = a[i].s;
          qz.sum[static_cast<size_t>(b * nb32 + i)] = a[i].sum;
        }
        internal::TransposeActQ8(a, nb32, qz.qt.data() + b * internal::ActGroups(nb32) * 256);
      }
    }, 16);
    qz.has_q8 = true;
  } else if (dq8k && !qz.has_q8k) {
    qz.q8k.resize(static_cast<size_t>(batch * nb256));
    ParallelFor(batch, std::max(1, threads), [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) QuantizeActQ8K(x + b * ldx, n, qz.q8k.data() + b * nb256);
    }, 16);
    qz.has_q8k = true;
  }
  const ActQ8* q8 = qz.q8.data();
  const ActQ8K* q8k = qz.q8k.data();
  // Weights are tiled by rows (~16 KiB a tile, kept in L1) and each tile is run against the
  // columns eight (then four) at a time by the multi-column kernels; every output is still one kernel's
  // result for its own (row, column), so tiles, chunks and grouping change no bits.
  const int64_t tile = std::max<int64_t>(4, (int64_t{1} << 14) / std::max<int64_t>(1, w.row_bytes));
  auto rows = [&](int64_t r0, int64_t r1) {
    if (dq8x4 && batch >= 4) {
      auto group = [&](int64_t b, int n, DotQ8xN kernel, int64_t t0, int64_t t1) {
        ActColumns cols;
        for (int c = 0; c < n; ++c) {
          const int64_t o = (b + c) * nb32;
          cols.q[c] = q8 + o;
          cols.d[c] = qz.d.data() + o;
          cols.s[c] = qz.s.data() + o;
          cols.sum[c] = qz.sum.data() + o;
          cols.qt[c] = qz.qt.data() + (b + c) * internal::ActGroups(nb32) * 256;
        }
        for (int64_t r = t0; r < t1; ++r) {
          float o[8];
          kernel(w.data + r * w.row_bytes, cols, nb32, o);
          for (int c = 0; c < n; ++c) y[(b + c) * ldy + r] = Canonical(o[c]);
        }
      };
      for (int64_t t0 = r0; t0 < r1; t0 += tile) {
        const int64_t t1 = std::min(r1, t0 + tile);
        int64_t b = 0;
        for (; b + 8 <= batch; b += 8) group(b, 8, dq8x8, t0, t1);
        for (; b + 4 <= batch; b += 4) group(b, 4, dq8x4, t0, t1);
        for (; b < batch; ++b)
          for (int64_t r = t0; r < t1; ++r) y[b * ldy + r] = Canonical(dq8(w.data + r * w.row_bytes, q8 + b * nb32, nb32));
      }
      return;
    }
    if (dq8r4) {  // fewer than 4 columns (decode): four rows at a time per column
      int64_t r = r0;
      for (; r + 4 <= r1; r += 4) {
        for (int64_t b = 0; b < batch; ++b) {
          ActColumns col;
          col.q[0] = q8 + b * nb32;
          col.d[0] = qz.d.data() + b * nb32;
          col.s[0] = qz.s.data() + b * nb32;
          col.sum[0] = qz.sum.data() + b * nb32;
          float o[4];
          dq8r4(w.data + r * w.row_bytes, w.row_bytes, col, nb32, o);
          for (int i = 0; i < 4; ++i) y[b * ldy + r + i] = Canonical(o[i]);
        }
      }
      for (; r < r1; ++r)
        for (int64_t b = 0; b < batch; ++b) y[b * ldy + r] = Canonical(dq8(w.data + r * w.row_bytes, q8 + b * nb32, nb32));
      return;
    }
    for (int64_t r = r0; r < r1; ++r) {
      const uint8_t* row = w.data + r * w.row_bytes;
      for (int64_t b = 0; b < batch; ++b) {
        float v = dq8 ? dq8(row, q8 + b * nb32, nb32)
                      : dq8k ? dq8k(row, q8k + b * nb256, nb256) : df(row, x + b * ldx, n);
        y[b * ldy + r] = Canonical(v);
      }
    }
  };
  // ~64 KiB of weights per chunk at least: below that a wake-up costs more than it saves.
  int64_t min_rows = std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, w.row_bytes * batch));
  ParallelFor(w.rows, std::max(1, threads), rows, min_rows);
}

}  // namespace internal

void MatMul(const WeightMatrix& w, int64_t batch, const float* x, int64_t ldx, float* y, int64_t ldy, int threads) {
  internal::MatMulWith(internal::ActiveKernels(), w, batch, x, ldx, y, ldy, threads);
}

MatMulInput::MatMulInput() : q_(std::make_unique<Quantized>()) {}
MatMulInput::~MatMulInput() = default;

void MatMulInput::Reset(int64_t batch, const float* x, int64_t ldx, int64_t cols) {
  batch_ = batch;
  x_ = x;
  ldx_ = ldx;
  cols_ = cols;
  q_->has_q8 = q_->has_q8k = false;
}

void MatMul(const WeightMatrix& w, MatMulInput& in, float* y, int64_t ldy, int threads) {
  internal::MatMulWith(internal::ActiveKernels(), w, in, y, ldy, threads);
}

std::string_view ActiveQuantPath() { return internal::ActiveKernels().name; }

}  // namespace lucid::llm
