// AVX-512 block kernels of the "avx512-vnni" path.
//
// Float: each lane does exactly the reference's operations for one C element, acc = acc + a·b
// with a separately rounded multiply and add (no FMA; -ffp-contract=off keeps the compiler
// from fusing them), k in increasing order, so the result is bit-identical to
// GemmF32Reference; 16 lanes instead of AVX2's 8.
//
// Int8: vpdpbusd multiplies 4 unsigned bytes of A by 4 signed
// bytes of B, adds the 4 products (each within ±2^15, so their sum is exact) to an int32
// lane without saturation (the saturating form is vpdpbusds, not used). Every lane
// therefore holds the exact sum modulo 2^32, and gemm.h's bound on k keeps the true sum
// inside int32: the result equals the scalar reference whatever the order of the sums.
// Signed A (s8·s8) runs as (a + 128)·b − 128·Σ_k b, with Σ_k b per column computed when B
// is packed; the modular arithmetic makes that exact too.
// Only functions carrying LUCID_VNNI use AVX-512; callers check CpuHasAvx512Vnni() first.
// No inline library templates are instantiated here, so no AVX-512 code can leak into
// callers on other CPUs.
#include <immintrin.h>

#include <cstdlib>
#include <cstring>

#include "tensor/gemm.h"
#include "tensor/gemm_internal.h"

// GCC 12 reports the deliberately undefined pass-through operand inside its own AVX-512
// intrinsics (_mm512_undefined_epi32) as maybe-uninitialized; the lanes are all written.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#define LUCID_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

namespace lucid::gemm::internal {
namespace {

using QuadLine = PackedI8B::QuadLine;

constexpr int kMr = 6;                // rows per micro-tile
constexpr int kNv = 4;                // 16-column strips per micro-tile (24 accumulators)
constexpr int64_t kPanelQuads = 128;  // k quads per panel: 4 strips × 128 lines = 32 KiB of B in L1
constexpr int64_t kNcUnpacked = 256;  // columns per B panel packed on the fly

// Broadcasts A's 4 bytes at p (tail < 4: only the first `tail` bytes are read, the rest
// are 0; B's padding is 0 there, so they add nothing).
LUCID_VNNI inline __m512i BroadcastQuad(const uint8_t* p, int tail) {
  if (tail == 0) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm512_set1_epi32(v);
  }
  return _mm512_broadcastd_epi32(_mm_maskz_loadu_epi8(static_cast<__mmask16>((1u << tail) - 1), p));
}

// C[0:MR, 0:16·NV] (= `cols` columns) over `full` whole quads and one partial quad of
// `tail` bytes (0 = none). `b` is strip 0's first line, strips are `stride` lines apart.
// Start: C itself unless `first`, minus 128·sums[col] when `sums` is given (signed A).
// Accumulators are named variables, not arrays: GCC keeps arrays of vectors in memory and
// would load and store every one of them each quad step.
#define LUCID_VNNI_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

template <int MR, int NV, bool kSignedA>
LUCID_VNNI void Micro(int64_t full, int tail, const uint8_t* a, int64_t lda, const QuadLine* b, int64_t stride,
                      const int32_t* sums, int32_t* c, int64_t ldc, bool first, int64_t cols) {
  static_assert(MR >= 1 && MR <= kMr && NV >= 1 && NV <= kNv);
  __mmask16 mask[kNv];
  for (int v = 0; v < kNv; ++v) {
    int64_t left = cols - 16 * v;
    mask[v] = left >= 16 ? static_cast<__mmask16>(0xFFFF) : left <= 0 ? 0 : static_cast<__mmask16>((1u << left) - 1);
  }
  __m512i start[kNv];  // −128·Σb for signed A on the first panel, else 0
  for (int v = 0; v < kNv; ++v)
    start[v] = sums && v < NV ? _mm512_sub_epi32(_mm512_setzero_si512(), _mm512_slli_epi32(_mm512_loadu_si512(sums + 16 * v), 7))
                              : _mm512_setzero_si512();
#define LUCID_INIT(r, v)                                                                                 \
  __m512i x##r##v = start[v];                                                                            \
  if (MR > r && NV > v && !first)                                                                        \
    x##r##v = _mm512_add_epi32(x##r##v, _mm512_maskz_loadu_epi32(mask[v], c + (r) * ldc + 16 * (v)));
#define LUCID_DECL(r) LUCID_INIT(r, 0) LUCID_INIT(r, 1) LUCID_INIT(r, 2) LUCID_INIT(r, 3)
  LUCID_VNNI_ROWS(LUCID_DECL)
#undef LUCID_DECL
#undef LUCID_INIT
  const __m512i flip = _mm512_set1_epi32(static_cast<int32_t>(0x80808080u));
  // One quad step; the empty asm pins each row's accumulators in registers.
#define LUCID_DP(r, v) \
  if (NV > v) x##r##v = _mm512_dpbusd_epi32(x##r##v, av, b##v);
#define LUCID_ROW(r)                                                                   \
  if (MR > r) {                                                                        \
    __m512i av = BroadcastQuad(a + (r) * lda + 4 * q, t);                              \
    if constexpr (kSignedA) av = _mm512_xor_si512(av, flip); /* a + 128, unsigned */  \
    LUCID_DP(r, 0) LUCID_DP(r, 1) LUCID_DP(r, 2) LUCID_DP(r, 3)                        \
    __asm__("" : "+v"(x##r##0), "+v"(x##r##1), "+v"(x##r##2), "+v"(x##r##3));         \
  }
#define LUCID_QUAD_STEP                                                                \
  {                                                                                    \
    __m512i b0 = _mm512_load_si512(b + q), b1 = b0, b2 = b0, b3 = b0;                  \
    if (NV > 1) b1 = _mm512_load_si512(b + stride + q);                                \
    if (NV > 2) b2 = _mm512_load_si512(b + 2 * stride + q);                            \
    if (NV > 3) b3 = _mm512_load_si512(b + 3 * stride + q);                            \
    LUCID_VNNI_ROWS(LUCID_ROW)                                                         \
  }
  {
    const int t = 0;
    for (int64_t q = 0; q < full; ++q) LUCID_QUAD_STEP
  }
  if (tail) {
    // Signed A: a masked-off byte is 0, flipped to 128, times B's zero padding: still 0.
    const int t = tail;
    const int64_t q = full;
    LUCID_QUAD_STEP
  }
#undef LUCID_QUAD_STEP
#undef LUCID_ROW
#undef LUCID_DP
#define LUCID_PUT(r, v) \
  if (MR > r && NV > v) _mm512_mask_storeu_epi32(c + (r) * ldc + 16 * (v), mask[v], x##r##v);
#define LUCID_STORE(r) LUCID_PUT(r, 0) LUCID_PUT(r, 1) LUCID_PUT(r, 2) LUCID_PUT(r, 3)
  LUCID_VNNI_ROWS(LUCID_STORE)
#undef LUCID_STORE
#undef LUCID_PUT
}

template <bool kSignedA, int NV>
LUCID_VNNI void MicroRows(int rows, int64_t full, int tail, const uint8_t* a, int64_t lda, const QuadLine* b,
                          int64_t stride, const int32_t* sums, int32_t* c, int64_t ldc, bool first, int64_t cols) {
  switch (rows) {
    case 6: return Micro<6, NV, kSignedA>(full, tail, a, lda, b, stride, sums, c, ldc, first, cols);
    case 5: return Micro<5, NV, kSignedA>(full, tail, a, lda, b, stride, sums, c, ldc, first, cols);
    case 4: return Micro<4, NV, kSignedA>(full, tail, a, lda, b, stride, sums, c, ldc, first, cols);
    case 3: return Micro<3, NV, kSignedA>(full, tail, a, lda, b, stride, sums, c, ldc, first, cols);
    case 2: return Micro<2, NV, kSignedA>(full, tail, a, lda, b, stride, sums, c, ldc, first, cols);
    default: return Micro<1, NV, kSignedA>(full, tail, a, lda, b, stride, sums, c, ldc, first, cols);
  }
}

template <bool kSignedA>
LUCID_VNNI void MicroTile(int rows, int strips, int64_t full, int tail, const uint8_t* a, int64_t lda,
                          const QuadLine* b, int64_t stride, const int32_t* sums, int32_t* c, int64_t ldc, bool first,
                          int64_t cols) {
  switch (strips) {
    case 4: return MicroRows<kSignedA, 4>(rows, full, tail, a, lda, b, stride, sums, c, ldc, first, cols);
    case 3: return MicroRows<kSignedA, 3>(rows, full, tail, a, lda, b, stride, sums, c, ldc, first, cols);
    case 2: return MicroRows<kSignedA, 2>(rows, full, tail, a, lda, b, stride, sums, c, ldc, first, cols);
    default: return MicroRows<kSignedA, 1>(rows, full, tail, a, lda, b, stride, sums, c, ldc, first, cols);
  }
}

// C[0:m, 0:n] = A[0:m, 0:k] · B where B's strip 0 starts at `b` (strips `stride` lines
// apart, quad 0 = k 0) and `sums` (signed A only) are its columns' sums. A k panel at a
// time; within it each group of 4 strips stays in L1 while every row block passes by.
// `first_panel_sums`: true when `sums` cover all of k (applied once, with the first panel).
template <bool kSignedA>
LUCID_VNNI void Block(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const QuadLine* b,
                      int64_t stride, const int32_t* sums, int32_t* c, int64_t ldc, bool accumulate) {
  const int64_t quads = QuadsOf(k);
  const int tail = static_cast<int>(k % 4);
  for (int64_t q0 = 0; q0 < quads; q0 += kPanelQuads) {
    int64_t nq = quads - q0 < kPanelQuads ? quads - q0 : kPanelQuads;
    bool last = q0 + nq == quads;
    int64_t full = last && tail ? nq - 1 : nq;
    bool first = q0 == 0 && !accumulate;
    for (int64_t j = 0; j < n; j += 16 * kNv) {
      int64_t cols = n - j < 16 * kNv ? n - j : 16 * kNv;
      int strips = static_cast<int>((cols + 15) / 16);
      const int32_t* s = kSignedA && q0 == 0 ? sums + j : nullptr;
      for (int64_t i = 0; i < m; i += kMr) {
        int rows = static_cast<int>(m - i < kMr ? m - i : kMr);
        MicroTile<kSignedA>(rows, strips, full, last ? tail : 0, a + i * lda + 4 * q0, lda, b + (j / 16) * stride + q0,
                            stride, s, c + i * ldc + j, ldc, first, cols);
      }
    }
  }
}

template <typename A>
constexpr bool IsSigned() {
  return static_cast<A>(-1) < static_cast<A>(0);
}

template <typename A>
void PackedVnni(int64_t m, int64_t n, int64_t k, const A* a, int64_t lda, const PackedI8B& b, int64_t j0, int32_t* c,
                int64_t ldc) {
  const int64_t stride = QuadsOf(b.k);
  Block<IsSigned<A>()>(m, n, k, reinterpret_cast<const uint8_t*>(a), lda, b.quads.data() + (j0 / 16) * stride, stride,
                       b.col_sums.data() + j0, c, ldc, false);
}

// B[0:kc, 0:cols] into quad lines (strip-major, `quads` lines per strip, zero-padded) and,
// for signed A, the column sums of those kc rows.
LUCID_VNNI void PackQuads(int64_t kc, int64_t cols, const int8_t* b, int64_t ldb, QuadLine* out, int32_t* sums) {
  const int64_t quads = QuadsOf(kc);
  for (int64_t s = 0; s * 16 < cols; ++s) {
    int64_t width = cols - s * 16 < 16 ? cols - s * 16 : 16;
    QuadLine* dst = out + s * quads;
    if (width == 16) {
      for (int64_t q = 0; q < quads; ++q) {
        const int8_t* src = b + 4 * q * ldb + s * 16;
        __m128i r[4];
        for (int h = 0; h < 4; ++h)
          r[h] = 4 * q + h < kc ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + h * ldb)) : _mm_setzero_si128();
        __m128i lo01 = _mm_unpacklo_epi8(r[0], r[1]), hi01 = _mm_unpackhi_epi8(r[0], r[1]);
        __m128i lo23 = _mm_unpacklo_epi8(r[2], r[3]), hi23 = _mm_unpackhi_epi8(r[2], r[3]);
        auto* line = reinterpret_cast<__m128i*>(dst[q].bytes);
        _mm_store_si128(line, _mm_unpacklo_epi16(lo01, lo23));      // columns 0–3
        _mm_store_si128(line + 1, _mm_unpackhi_epi16(lo01, lo23));  // 4–7
        _mm_store_si128(line + 2, _mm_unpacklo_epi16(hi01, hi23));  // 8–11
        _mm_store_si128(line + 3, _mm_unpackhi_epi16(hi01, hi23));  // 12–15
      }
    } else {
      for (int64_t q = 0; q < quads; ++q)
        for (int64_t l = 0; l < 16; ++l)
          for (int64_t h = 0; h < 4; ++h) {
            int64_t p = 4 * q + h;
            dst[q].bytes[4 * l + h] = l < width && p < kc ? b[p * ldb + s * 16 + l] : int8_t{0};
          }
    }
    if (sums) {
      for (int64_t l = 0; l < 16; ++l) sums[s * 16 + l] = 0;
      for (int64_t p = 0; p < kc; ++p)
        for (int64_t l = 0; l < width; ++l) sums[s * 16 + l] += b[p * ldb + s * 16 + l];
    }
  }
}

// B changes on every call: pack a k panel of up to kNcUnpacked columns at a time (with its
// column sums for signed A) and accumulate the panels into C. Few rows would not repay the
// packing; the AVX2 kernel multiplies them from B in place.
template <typename A>
void UnpackedVnni(int64_t m, int64_t n, int64_t k, const A* a, int64_t lda, const int8_t* b, int64_t ldb, int32_t* c,
                  int64_t ldc) {
  constexpr bool kSignedA = IsSigned<A>();
  if (m <= 4) {
    if constexpr (kSignedA)
      return GemmS8S8S32Avx2(m, n, k, a, lda, b, ldb, c, ldc);
    else
      return GemmU8S8S32Avx2(m, n, k, a, lda, b, ldb, c, ldc);
  }
  constexpr int64_t kKc = 4 * kPanelQuads;
  struct Buffers {  // once per thread: no allocation (or page faults) per product
    QuadLine* lines = static_cast<QuadLine*>(std::aligned_alloc(64, sizeof(QuadLine) * kPanelQuads * (kNcUnpacked / 16)));
    int32_t* sums = static_cast<int32_t*>(std::aligned_alloc(64, sizeof(int32_t) * kNcUnpacked));
    ~Buffers() {
      std::free(lines);
      std::free(sums);
    }
  };
  static thread_local Buffers buffers;
  if (!buffers.lines || !buffers.sums) {  // out of memory: the reference needs no buffers
    if constexpr (kSignedA)
      return GemmS8S8S32Reference(m, n, k, a, lda, b, ldb, c, ldc);
    else
      return GemmU8S8S32Reference(m, n, k, a, lda, b, ldb, c, ldc);
  }
  for (int64_t jc = 0; jc < n; jc += kNcUnpacked) {
    int64_t nc = n - jc < kNcUnpacked ? n - jc : kNcUnpacked;
    for (int64_t pc = 0; pc < k; pc += kKc) {
      int64_t kc = k - pc < kKc ? k - pc : kKc;
      PackQuads(kc, nc, b + pc * ldb + jc, ldb, buffers.lines, kSignedA ? buffers.sums : nullptr);
      Block<kSignedA>(m, nc, kc, reinterpret_cast<const uint8_t*>(a) + pc, lda, buffers.lines, QuadsOf(kc),
                      buffers.sums, c + jc, ldc, pc > 0);
    }
  }
}

// ---- float -------------------------------------------------------------------------

#define LUCID_F32_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)

constexpr int kMrF = 4;                  // rows per float micro-tile (measured best of 4-6 x 3-4)
constexpr int kNvF = 4;                  // 16-float strips per micro-tile (16 accumulators)
constexpr int64_t kKcF = 256;            // k per panel: 4 strips × 256 × 64 B = 64 KiB of B (L1/L2)
constexpr int64_t kNcF = 256;            // columns per B panel packed on the fly

// C[0:MR, 0:cols] over k steps p = 0 … kc−1 (continuing from C unless `first`); B strip v
// at b + v·strip, row p at + 16p. NaN results are stored as the canonical NaN.
template <int MR, int NV>
LUCID_VNNI void MicroF32(int64_t kc, const float* a, int64_t lda, const float* b, int64_t strip, float* c,
                         int64_t ldc, bool first, int64_t cols) {
  static_assert(MR >= 1 && MR <= 8 && NV >= 1 && NV <= 4);
  __mmask16 mask[4];
  for (int v = 0; v < 4; ++v) {
    int64_t left = cols - 16 * v;
    mask[v] = left >= 16 ? static_cast<__mmask16>(0xFFFF) : left <= 0 ? 0 : static_cast<__mmask16>((1u << left) - 1);
  }
#define LUCID_INIT(r, v)                                                             \
  __m512 x##r##v = _mm512_setzero_ps();                                              \
  if (MR > r && NV > v && !first) x##r##v = _mm512_maskz_loadu_ps(mask[v], c + (r) * ldc + 16 * (v));
#define LUCID_DECL(r) LUCID_INIT(r, 0) LUCID_INIT(r, 1) LUCID_INIT(r, 2) LUCID_INIT(r, 3)
  LUCID_F32_ROWS(LUCID_DECL)
#undef LUCID_DECL
#undef LUCID_INIT
#define LUCID_MA(r, v) \
  if (NV > v) x##r##v = _mm512_add_ps(x##r##v, _mm512_mul_ps(av, b##v));
#define LUCID_ROW(r)                                                              \
  if (MR > r) {                                                                   \
    __m512 av = _mm512_set1_ps(a[(r) * lda + p]);                                 \
    LUCID_MA(r, 0) LUCID_MA(r, 1) LUCID_MA(r, 2) LUCID_MA(r, 3)                   \
    __asm__("" : "+v"(x##r##0), "+v"(x##r##1), "+v"(x##r##2), "+v"(x##r##3));    \
  }
  for (int64_t p = 0; p < kc; ++p) {
    __m512 b0 = _mm512_loadu_ps(b + 16 * p), b1 = b0, b2 = b0, b3 = b0;
    if (NV > 1) b1 = _mm512_loadu_ps(b + strip + 16 * p);
    if (NV > 2) b2 = _mm512_loadu_ps(b + 2 * strip + 16 * p);
    if (NV > 3) b3 = _mm512_loadu_ps(b + 3 * strip + 16 * p);
    LUCID_F32_ROWS(LUCID_ROW)
  }
#undef LUCID_ROW
#undef LUCID_MA
  const __m512 nan = _mm512_castsi512_ps(_mm512_set1_epi32(static_cast<int32_t>(kCanonicalNaNBits)));
#define LUCID_PUT(r, v)                                                                              \
  if (MR > r && NV > v)                                                                              \
    _mm512_mask_storeu_ps(c + (r) * ldc + 16 * (v), mask[v],                                         \
                          _mm512_mask_mov_ps(x##r##v, _mm512_cmp_ps_mask(x##r##v, x##r##v, _CMP_UNORD_Q), nan));
#define LUCID_STORE(r) LUCID_PUT(r, 0) LUCID_PUT(r, 1) LUCID_PUT(r, 2) LUCID_PUT(r, 3)
  LUCID_F32_ROWS(LUCID_STORE)
#undef LUCID_STORE
#undef LUCID_PUT
}

template <int NV>
LUCID_VNNI void MicroF32Rows(int rows, int64_t kc, const float* a, int64_t lda, const float* b, int64_t strip,
                             float* c, int64_t ldc, bool first, int64_t cols) {
  switch (rows) {
    case 8: return MicroF32<8, NV>(kc, a, lda, b, strip, c, ldc, first, cols);
    case 7: return MicroF32<7, NV>(kc, a, lda, b, strip, c, ldc, first, cols);
    case 6: return MicroF32<6, NV>(kc, a, lda, b, strip, c, ldc, first, cols);
    case 5: return MicroF32<5, NV>(kc, a, lda, b, strip, c, ldc, first, cols);
    case 4: return MicroF32<4, NV>(kc, a, lda, b, strip, c, ldc, first, cols);
    case 3: return MicroF32<3, NV>(kc, a, lda, b, strip, c, ldc, first, cols);
    case 2: return MicroF32<2, NV>(kc, a, lda, b, strip, c, ldc, first, cols);
    default: return MicroF32<1, NV>(kc, a, lda, b, strip, c, ldc, first, cols);
  }
}

// C[0:m, 0:n] over k panels p0 … p0+kc−1 of a strip-packed B: strip 0 at `b` (holding row
// p0 first), strips `strip` floats apart. Panels in increasing k keep the reference's order.
LUCID_VNNI void BlockF32(int64_t m, int64_t n, int64_t kc, const float* a, int64_t lda, const float* b, int64_t strip,
                         float* c, int64_t ldc, bool first) {
  for (int64_t j = 0; j < n; j += 16 * kNvF) {
    int64_t cols = n - j < 16 * kNvF ? n - j : 16 * kNvF;
    int strips = static_cast<int>((cols + 15) / 16);
    const float* bj = b + (j / 16) * strip;
    for (int64_t i = 0; i < m; i += kMrF) {
      int rows = static_cast<int>(m - i < kMrF ? m - i : kMrF);
      float* ci = c + i * ldc + j;
      const float* ai = a + i * lda;
      switch (strips) {
        case 4: MicroF32Rows<4>(rows, kc, ai, lda, bj, strip, ci, ldc, first, cols); break;
        case 3: MicroF32Rows<3>(rows, kc, ai, lda, bj, strip, ci, ldc, first, cols); break;
        case 2: MicroF32Rows<2>(rows, kc, ai, lda, bj, strip, ci, ldc, first, cols); break;
        default: MicroF32Rows<1>(rows, kc, ai, lda, bj, strip, ci, ldc, first, cols); break;
      }
    }
  }
}

// B[0:kc, 0:cols] into 16-column strips of kc rows, zero-padded.
void PackF32Strips(int64_t kc, int64_t cols, const float* b, int64_t ldb, float* out) {
  for (int64_t s = 0; s * 16 < cols; ++s) {
    int64_t width = cols - s * 16 < 16 ? cols - s * 16 : 16;
    float* dst = out + s * kc * 16;
    for (int64_t p = 0; p < kc; ++p) {
      std::memcpy(dst + p * 16, b + p * ldb + s * 16, static_cast<size_t>(width) * sizeof(float));
      for (int64_t l = width; l < 16; ++l) dst[p * 16 + l] = 0.0f;
    }
  }
}

}  // namespace

void GemmF32Avx512(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                   int64_t ldc) {
  // Few rows read B about once: packing it would cost as much as the product.
  if (m < 4) return GemmF32Avx2(m, n, k, a, lda, b, ldb, c, ldc);
  struct Buffer {  // once per thread
    float* strips = static_cast<float*>(std::aligned_alloc(64, sizeof(float) * kKcF * kNcF));
    ~Buffer() { std::free(strips); }
  };
  static thread_local Buffer buffer;
  if (!buffer.strips) return GemmF32Reference(m, n, k, a, lda, b, ldb, c, ldc);  // out of memory
  for (int64_t jc = 0; jc < n; jc += kNcF) {
    int64_t nc = n - jc < kNcF ? n - jc : kNcF;
    for (int64_t pc = 0; pc < k; pc += kKcF) {
      int64_t kc = k - pc < kKcF ? k - pc : kKcF;
      PackF32Strips(kc, nc, b + pc * ldb + jc, ldb, buffer.strips);
      BlockF32(m, nc, kc, a + pc, lda, buffer.strips, kc * 16, c + jc, ldc, pc == 0);
    }
  }
}

void GemmF32PackedAvx512(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* packed,
                         int64_t ldk, float* c, int64_t ldc) {
  for (int64_t pc = 0; pc < k; pc += kKcF) {
    int64_t kc = k - pc < kKcF ? k - pc : kKcF;
    BlockF32(m, n, kc, a + pc, lda, packed + pc * 16, ldk * 16, c, ldc, pc == 0);
  }
}

void GemmS8S8S32Vnni(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                     int32_t* c, int64_t ldc) {
  UnpackedVnni(m, n, k, a, lda, b, ldb, c, ldc);
}
void GemmU8S8S32Vnni(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                     int32_t* c, int64_t ldc) {
  UnpackedVnni(m, n, k, a, lda, b, ldb, c, ldc);
}
void GemmS8S8S32PackedVnni(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const PackedI8B& b,
                           int64_t j0, int32_t* c, int64_t ldc) {
  PackedVnni(m, n, k, a, lda, b, j0, c, ldc);
}
void GemmU8S8S32PackedVnni(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const PackedI8B& b,
                           int64_t j0, int32_t* c, int64_t ldc) {
  PackedVnni(m, n, k, a, lda, b, j0, c, ldc);
}

}  // namespace lucid::gemm::internal
