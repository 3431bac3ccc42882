// AVX2 block kernels. Float: each vector lane does exactly the reference's operations for
// one C element — acc = acc + a·b with a separate rounded multiply and add (no FMA), k in
// increasing order — so the result is bit-identical to GemmF32Reference. Int8: operands
// are widened to int16 and multiplied pairwise with vpmaddwd, which is exact (vpmaddubsw
// would saturate), so int32 sums equal the reference's.
// Only functions carrying LUCID_AVX2 use AVX2; no inline library templates are
// instantiated here, so no AVX2 code can leak into callers on other CPUs.
#include <immintrin.h>

#include <cstdlib>
#include <cstring>

#include "tensor/gemm.h"
#include "tensor/gemm_internal.h"

#define LUCID_AVX2 __attribute__((target("avx2")))

namespace lucid::gemm::internal {
namespace {

constexpr int64_t kMr = 6;     // rows per micro-tile (float)
constexpr int64_t kMrI8 = 4;   // int8: madd needs a temporary per product, 6 rows would spill
constexpr int64_t kNr = 16;    // columns per micro-tile (two vectors)
constexpr int64_t kKc = 256;   // k per packed panel
constexpr int64_t kNc = 128;   // columns per packed B panel (float)
constexpr int64_t kNcI8 = 256;  // int8: wider, so each packed A panel serves more columns

// ---- float -------------------------------------------------------------------------

// Accumulators are named variables, not arrays: GCC keeps arrays of vectors in memory and
// would store all twelve every k step.
#define LUCID_ROWS(X) X(0) X(1) X(2) X(3) X(4) X(5)

template <int MR>
LUCID_AVX2 inline void MicroF32(int64_t kc, const float* a, int64_t lda, const float* bp, int64_t ldb, float* c,
                                int64_t ldc, bool first) {
#define LUCID_DECL(r)                                                                          \
  __m256 x##r = _mm256_setzero_ps(), y##r = _mm256_setzero_ps();                               \
  if (MR > r && !first) {                                                                       \
    x##r = _mm256_loadu_ps(c + r * ldc);                                                        \
    y##r = _mm256_loadu_ps(c + r * ldc + 8);                                                    \
  }
  LUCID_ROWS(LUCID_DECL)
#undef LUCID_DECL
  for (int64_t p = 0; p < kc; ++p) {
    __m256 b0 = _mm256_loadu_ps(bp + p * ldb), b1 = _mm256_loadu_ps(bp + p * ldb + 8);
#define LUCID_STEP(r)                                            \
  if (MR > r) {                                                  \
    __m256 av = _mm256_broadcast_ss(a + r * lda + p);            \
    x##r = _mm256_add_ps(x##r, _mm256_mul_ps(av, b0));           \
    y##r = _mm256_add_ps(y##r, _mm256_mul_ps(av, b1));           \
  }
    LUCID_ROWS(LUCID_STEP)
#undef LUCID_STEP
  }
  const __m256 nan = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(kCanonicalNaNBits)));
  // NaN lanes become the canonical NaN, as in the reference.
#define LUCID_STORE(r)                                                                                  \
  if (MR > r) {                                                                                         \
    _mm256_storeu_ps(c + r * ldc, _mm256_blendv_ps(x##r, nan, _mm256_cmp_ps(x##r, x##r, _CMP_UNORD_Q)));     \
    _mm256_storeu_ps(c + r * ldc + 8, _mm256_blendv_ps(y##r, nan, _mm256_cmp_ps(y##r, y##r, _CMP_UNORD_Q))); \
  }
  LUCID_ROWS(LUCID_STORE)
#undef LUCID_STORE
}

template <int MR>
LUCID_AVX2 void MicroF32Edge(int64_t kc, const float* a, int64_t lda, const float* bp, int64_t ldb, float* c,
                             int64_t ldc, bool first, int64_t cols) {
  if (cols == kNr) return MicroF32<MR>(kc, a, lda, bp, ldb, c, ldc, first);
  alignas(32) float tmp[MR * kNr] = {};
  if (!first)
    for (int r = 0; r < MR; ++r) std::memcpy(tmp + r * kNr, c + r * ldc, static_cast<size_t>(cols) * sizeof(float));
  MicroF32<MR>(kc, a, lda, bp, ldb, tmp, kNr, first);
  for (int r = 0; r < MR; ++r) std::memcpy(c + r * ldc, tmp + r * kNr, static_cast<size_t>(cols) * sizeof(float));
}

LUCID_AVX2 void MicroF32Rows(int64_t rows, int64_t kc, const float* a, int64_t lda, const float* bp, int64_t ldb,
                             float* c, int64_t ldc, bool first, int64_t cols) {
  switch (rows) {
    case 6: return MicroF32Edge<6>(kc, a, lda, bp, ldb, c, ldc, first, cols);
    case 5: return MicroF32Edge<5>(kc, a, lda, bp, ldb, c, ldc, first, cols);
    case 4: return MicroF32Edge<4>(kc, a, lda, bp, ldb, c, ldc, first, cols);
    case 3: return MicroF32Edge<3>(kc, a, lda, bp, ldb, c, ldc, first, cols);
    case 2: return MicroF32Edge<2>(kc, a, lda, bp, ldb, c, ldc, first, cols);
    default: return MicroF32Edge<1>(kc, a, lda, bp, ldb, c, ldc, first, cols);
  }
}

// Packs B[0:kc, 0:cols] into 16-column strips, p-major inside a strip; missing columns are 0
// (their lanes are computed but never stored).
void PackF32(int64_t kc, int64_t cols, const float* b, int64_t ldb, float* bp) {
  for (int64_t s = 0; s * kNr < cols; ++s) {
    int64_t width = cols - s * kNr < kNr ? cols - s * kNr : kNr;
    float* dst = bp + s * kc * kNr;
    if (width == kNr) {
      for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * kNr, b + p * ldb + s * kNr, kNr * sizeof(float));
      continue;
    }
    for (int64_t p = 0; p < kc; ++p) {
      const float* src = b + p * ldb + s * kNr;
      for (int64_t l = 0; l < width; ++l) dst[p * kNr + l] = src[l];
      for (int64_t l = width; l < kNr; ++l) dst[p * kNr + l] = 0.0f;
    }
  }
}

void* AlignedBuffer(size_t bytes) { return std::aligned_alloc(64, (bytes + 63) / 64 * 64); }

// ---- int8 --------------------------------------------------------------------------

template <int MR>
LUCID_AVX2 inline void MicroI8(int64_t pairs, const int32_t* ap, const int16_t* bp, int32_t* c, int64_t ldc,
                               bool first) {
#define LUCID_DECL(r)                                                                     \
  __m256i x##r = _mm256_setzero_si256(), y##r = _mm256_setzero_si256();                   \
  if (MR > r && !first) {                                                                  \
    x##r = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + r * ldc));              \
    y##r = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c + r * ldc + 8));          \
  }
  LUCID_ROWS(LUCID_DECL)
#undef LUCID_DECL
  for (int64_t q = 0; q < pairs; ++q) {
    __m256i b0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + q * 2 * kNr));
    __m256i b1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(bp + q * 2 * kNr + kNr));
// The empty asm pins each row's accumulators in registers after its two adds: without it
// GCC computes all 8 products first and copies every accumulator back each step (+24%
// GOP/s at 512³ with it). It emits no instruction.
#define LUCID_STEP(r)                                                \
  if (MR > r) {                                                      \
    __m256i av = _mm256_set1_epi32(ap[q * MR + r]);                  \
    x##r = _mm256_add_epi32(x##r, _mm256_madd_epi16(av, b0));        \
    y##r = _mm256_add_epi32(y##r, _mm256_madd_epi16(av, b1));        \
    __asm__("" : "+x"(x##r), "+x"(y##r));                            \
  }
    LUCID_ROWS(LUCID_STEP)
#undef LUCID_STEP
  }
#define LUCID_STORE(r)                                                             \
  if (MR > r) {                                                                    \
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc), x##r);            \
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc + 8), y##r);        \
  }
  LUCID_ROWS(LUCID_STORE)
#undef LUCID_STORE
}

template <int MR>
LUCID_AVX2 void MicroI8Edge(int64_t pairs, const int32_t* ap, const int16_t* bp, int32_t* c, int64_t ldc, bool first,
                            int64_t cols) {
  if (cols == kNr) return MicroI8<MR>(pairs, ap, bp, c, ldc, first);
  alignas(32) int32_t tmp[MR * kNr] = {};
  if (!first)
    for (int r = 0; r < MR; ++r) std::memcpy(tmp + r * kNr, c + r * ldc, static_cast<size_t>(cols) * sizeof(int32_t));
  MicroI8<MR>(pairs, ap, bp, tmp, kNr, first);
  for (int r = 0; r < MR; ++r) std::memcpy(c + r * ldc, tmp + r * kNr, static_cast<size_t>(cols) * sizeof(int32_t));
}

LUCID_AVX2 void MicroI8Rows(int64_t rows, int64_t pairs, const int32_t* ap, const int16_t* bp, int32_t* c,
                            int64_t ldc, bool first, int64_t cols) {
  switch (rows) {
    case 6: return MicroI8Edge<6>(pairs, ap, bp, c, ldc, first, cols);
    case 5: return MicroI8Edge<5>(pairs, ap, bp, c, ldc, first, cols);
    case 4: return MicroI8Edge<4>(pairs, ap, bp, c, ldc, first, cols);
    case 3: return MicroI8Edge<3>(pairs, ap, bp, c, ldc, first, cols);
    case 2: return MicroI8Edge<2>(pairs, ap, bp, c, ldc, first, cols);
    default: return MicroI8Edge<1>(pairs, ap, bp, c, ldc, first, cols);
  }
}

// B[0:kc, 0:cols] widened to int16 and interleaved by k pairs: strip s, pair q holds
// (b[2q, j], b[2q+1, j]) for j = 0…15; odd kc and missing columns are padded with 0.
LUCID_AVX2 void PackI8B(int64_t kc, int64_t cols, const int8_t* b, int64_t ldb, int16_t* bp) {
  int64_t pairs = (kc + 1) / 2;
  for (int64_t s = 0; s * kNr < cols; ++s) {
    int64_t width = cols - s * kNr < kNr ? cols - s * kNr : kNr;
    int16_t* dst = bp + s * pairs * 2 * kNr;
    if (width == kNr) {
      // Interleave rows 2q and 2q+1 byte-wise, then sign-extend: (b[2q, j], b[2q+1, j]) pairs.
      for (int64_t q = 0; q < pairs; ++q) {
        const int8_t* src = b + 2 * q * ldb + s * kNr;
        __m128i r0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
        __m128i r1 = 2 * q + 1 < kc ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + ldb)) : _mm_setzero_si128();
        _mm256_store_si256(reinterpret_cast<__m256i*>(dst + q * 2 * kNr), _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(r0, r1)));
        _mm256_store_si256(reinterpret_cast<__m256i*>(dst + q * 2 * kNr + kNr),
                           _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(r0, r1)));
      }
      continue;
    }
    for (int64_t q = 0; q < pairs; ++q)
      for (int64_t l = 0; l < kNr; ++l)
        for (int64_t h = 0; h < 2; ++h) {
          int64_t p = 2 * q + h;
          dst[(q * kNr + l) * 2 + h] = (l < width && p < kc) ? static_cast<int16_t>(b[p * ldb + s * kNr + l]) : 0;
        }
  }
}

// A[0:rows, 0:kc] as int32 words holding the int16 pair (a[r, 2q], a[r, 2q+1]), q-major.
template <typename A>
void PackI8A(int64_t rows, int64_t kc, const A* a, int64_t lda, int32_t* ap, int64_t first_pair = 0) {
  int64_t pairs = (kc + 1) / 2;
  for (int64_t q = first_pair; q < pairs; ++q)
    for (int64_t r = 0; r < rows; ++r) {
      int64_t p = 2 * q;
      auto lo = static_cast<uint16_t>(static_cast<int16_t>(a[r * lda + p]));
      auto hi = p + 1 < kc ? static_cast<uint16_t>(static_cast<int16_t>(a[r * lda + p + 1])) : uint16_t{0};
      ap[q * rows + r] = static_cast<int32_t>(static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16));
    }
}

// Widens 16 A values to int16.
LUCID_AVX2 inline __m256i Widen16(const int8_t* p) {
  return _mm256_cvtepi8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
LUCID_AVX2 inline __m256i Widen16(const uint8_t* p) {
  return _mm256_cvtepu8_epi16(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

// PackI8A for 4 rows, 8 pairs at a time: each row's 16 values widened (8 pair words), then
// the 4 × 8 words transposed to pair-major. Returns the first pair left to PackI8A.
template <typename A>
LUCID_AVX2 int64_t PackI8A4(int64_t kc, const A* a, int64_t lda, int32_t* ap) {
  int64_t q = 0;
  for (; 2 * q + 16 <= kc; q += 8) {
    __m256i r0 = Widen16(a + 2 * q), r1 = Widen16(a + lda + 2 * q);
    __m256i r2 = Widen16(a + 2 * lda + 2 * q), r3 = Widen16(a + 3 * lda + 2 * q);
    __m256i t0 = _mm256_unpacklo_epi32(r0, r1), t1 = _mm256_unpackhi_epi32(r0, r1);  // rows 0,1 of q0,q1|q4,q5 and q2,q3|q6,q7
    __m256i t2 = _mm256_unpacklo_epi32(r2, r3), t3 = _mm256_unpackhi_epi32(r2, r3);
    __m256i p0 = _mm256_unpacklo_epi64(t0, t2), p1 = _mm256_unpackhi_epi64(t0, t2);  // q0|q4, q1|q5
    __m256i p2 = _mm256_unpacklo_epi64(t1, t3), p3 = _mm256_unpackhi_epi64(t1, t3);  // q2|q6, q3|q7
    auto* dst = reinterpret_cast<__m256i*>(ap + q * 4);
    _mm256_storeu_si256(dst, _mm256_permute2x128_si256(p0, p1, 0x20));
    _mm256_storeu_si256(dst + 1, _mm256_permute2x128_si256(p2, p3, 0x20));
    _mm256_storeu_si256(dst + 2, _mm256_permute2x128_si256(p0, p1, 0x31));
    _mm256_storeu_si256(dst + 3, _mm256_permute2x128_si256(p2, p3, 0x31));
  }
  return q;
}

// Few columns (matrix·vector): vectorise over k instead of n. Integer sums are exact, so
// the order does not matter. `col` holds k int16 values (the column of B).
template <typename A>
LUCID_AVX2 void DotRowsI8(int64_t m, int64_t k, const A* a, int64_t lda, const int16_t* col, int32_t* c,
                          int64_t ldc) {
  int64_t k16 = k / 16 * 16;
  for (int64_t i = 0; i < m; ++i) {
    const A* row = a + i * lda;
    __m256i acc = _mm256_setzero_si256();
    for (int64_t p = 0; p < k16; p += 16)
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(Widen16(row + p),
                                                    _mm256_loadu_si256(reinterpret_cast<const __m256i*>(col + p))));
    alignas(32) int32_t lanes[8];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), acc);
    int32_t sum = 0;
    for (int32_t v : lanes) sum += v;
    for (int64_t p = k16; p < k; ++p) sum += static_cast<int32_t>(row[p]) * col[p];
    c[i * ldc] = sum;
  }
}

// Few rows: B is used about once, so packing it would cost as much as the product. Each
// k pair of 16 B columns is widened and interleaved in registers, exactly as PackI8B lays
// it out, and multiplied into up to 4 rows. Full 16-column strips only.
template <int MR, typename A>
LUCID_AVX2 void FewRowsI8(int64_t k, const A* a, int64_t lda, const int8_t* b, int64_t ldb, int32_t* c, int64_t ldc) {
  __m256i x[4], y[4];
  for (int r = 0; r < MR; ++r) x[r] = y[r] = _mm256_setzero_si256();
  auto pair_of = [&](int r, int64_t p, bool has_next) {
    auto lo = static_cast<uint16_t>(static_cast<int16_t>(a[r * lda + p]));
    auto hi = has_next ? static_cast<uint16_t>(static_cast<int16_t>(a[r * lda + p + 1])) : uint16_t{0};
    return static_cast<int32_t>(static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16));
  };
  for (int64_t p = 0; p < k; p += 2) {
    bool has_next = p + 1 < k;
    __m128i r0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + p * ldb));
    __m128i r1 = has_next ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + (p + 1) * ldb)) : _mm_setzero_si128();
    __m256i b0 = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(r0, r1)), b1 = _mm256_cvtepi8_epi16(_mm_unpackhi_epi8(r0, r1));
    for (int r = 0; r < MR; ++r) {
      __m256i av = _mm256_set1_epi32(pair_of(r, p, has_next));
      x[r] = _mm256_add_epi32(x[r], _mm256_madd_epi16(av, b0));
      y[r] = _mm256_add_epi32(y[r], _mm256_madd_epi16(av, b1));
    }
  }
  for (int r = 0; r < MR; ++r) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc), x[r]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(c + r * ldc + 8), y[r]);
  }
}

template <typename A>
void GemmI8Avx2(int64_t m, int64_t n, int64_t k, const A* a, int64_t lda, const int8_t* b, int64_t ldb, int32_t* c,
                int64_t ldc);

template <typename A>
LUCID_AVX2 bool TryFewRowsI8(int64_t m, int64_t n, int64_t k, const A* a, int64_t lda, const int8_t* b, int64_t ldb,
                             int32_t* c, int64_t ldc) {
  if (m > 4 || n < kNr) return false;
  int64_t full = n / kNr * kNr;
  for (int64_t j = 0; j < full; j += kNr) {
    switch (m) {
      case 4: FewRowsI8<4>(k, a, lda, b + j, ldb, c + j, ldc); break;
      case 3: FewRowsI8<3>(k, a, lda, b + j, ldb, c + j, ldc); break;
      case 2: FewRowsI8<2>(k, a, lda, b + j, ldb, c + j, ldc); break;
      default: FewRowsI8<1>(k, a, lda, b + j, ldb, c + j, ldc); break;
    }
  }
  if (full < n) GemmI8Avx2(m, n - full, k, a, lda, b + full, ldb, c + full, ldc);
  return true;
}

template <typename A>
void GemmI8Avx2(int64_t m, int64_t n, int64_t k, const A* a, int64_t lda, const int8_t* b, int64_t ldb, int32_t* c,
                int64_t ldc) {
  if (TryFewRowsI8(m, n, k, a, lda, b, ldb, c, ldc)) return;
  if (n < 4) {
    auto* col = static_cast<int16_t*>(AlignedBuffer(sizeof(int16_t) * static_cast<size_t>(k)));
    if (col) {
      for (int64_t j = 0; j < n; ++j) {
        for (int64_t p = 0; p < k; ++p) col[p] = b[p * ldb + j];
        DotRowsI8(m, k, a, lda, col, c + j, ldc);
      }
      std::free(col);
      return;
    }
  }
  constexpr int64_t kPairs = kKc / 2;
  // Packing buffers of fixed size, allocated once per thread (a fresh 128 KiB allocation per
  // call costs page faults on every small product).
  struct Buffers {
    int16_t* bp = static_cast<int16_t*>(AlignedBuffer(sizeof(int16_t) * 2 * kPairs * kNcI8));
    int32_t* ap = static_cast<int32_t*>(AlignedBuffer(sizeof(int32_t) * kPairs * kMr));
    ~Buffers() {
      std::free(bp);
      std::free(ap);
    }
  };
  static thread_local Buffers buffers;
  int16_t* bp = buffers.bp;
  int32_t* ap = buffers.ap;
  if (!bp || !ap) {  // out of memory: the reference needs no buffers
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        int32_t acc = 0;
        for (int64_t p = 0; p < k; ++p) acc += static_cast<int32_t>(a[i * lda + p]) * static_cast<int32_t>(b[p * ldb + j]);
        c[i * ldc + j] = acc;
      }
    return;
  }
  for (int64_t jc = 0; jc < n; jc += kNcI8) {
    int64_t nc = n - jc < kNcI8 ? n - jc : kNcI8;
    for (int64_t pc = 0; pc < k; pc += kKc) {
      int64_t kc = k - pc < kKc ? k - pc : kKc, pairs = (kc + 1) / 2;
      PackI8B(kc, nc, b + pc * ldb + jc, ldb, bp);
      for (int64_t ir = 0; ir < m; ir += kMrI8) {
        int64_t rows = m - ir < kMrI8 ? m - ir : kMrI8;
        int64_t packed = rows == 4 ? PackI8A4(kc, a + ir * lda + pc, lda, ap) : 0;
        PackI8A(rows, kc, a + ir * lda + pc, lda, ap, packed);
        for (int64_t s = 0; s * kNr < nc; ++s) {
          int64_t cols = nc - s * kNr < kNr ? nc - s * kNr : kNr;
          MicroI8Rows(rows, pairs, ap, bp + s * pairs * 2 * kNr, c + ir * ldc + jc + s * kNr, ldc, pc == 0, cols);
        }
      }
    }
  }
}

}  // namespace

void GemmF32Avx2(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                 int64_t ldc) {
  // With many rows the B panel is packed into contiguous 16-column strips (read once per
  // 6 rows, so the copy pays off); with few rows full strips are read in place. A partial
  // last strip is always copied, zero-padded, so that no load reads past B.
  bool pack_all = m >= 4 * kMr;
  auto* bp = static_cast<float*>(AlignedBuffer(sizeof(float) * kKc * (pack_all ? kNc : kNr)));
  if (!bp) return GemmF32Reference(m, n, k, a, lda, b, ldb, c, ldc);  // out of memory: no buffers needed
  for (int64_t jc = 0; jc < n; jc += kNc) {
    int64_t nc = n - jc < kNc ? n - jc : kNc;
    int64_t full = pack_all ? 0 : nc / kNr * kNr;  // columns read in place
    for (int64_t pc = 0; pc < k; pc += kKc) {
      int64_t kc = k - pc < kKc ? k - pc : kKc;
      if (full < nc) PackF32(kc, nc - full, b + pc * ldb + jc + full, ldb, bp);
      for (int64_t ir = 0; ir < m; ir += kMr) {
        int64_t rows = m - ir < kMr ? m - ir : kMr;
        for (int64_t j = 0; j < nc; j += kNr) {
          bool in_place = j < full;
          const float* strip = in_place ? b + pc * ldb + jc + j : bp + ((j - full) / kNr) * kc * kNr;
          MicroF32Rows(rows, kc, a + ir * lda + pc, lda, strip, in_place ? ldb : kNr, c + ir * ldc + jc + j, ldc,
                       pc == 0, nc - j < kNr ? nc - j : kNr);
        }
      }
    }
  }
  std::free(bp);
}

void GemmF32PackedAvx2(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* packed, int64_t ldk,
                       float* c, int64_t ldc) {
  // GemmF32Avx2's blocking with its packing step done once, ahead of time (PackF32B).
  for (int64_t jc = 0; jc < n; jc += kNc) {
    int64_t nc = n - jc < kNc ? n - jc : kNc;
    for (int64_t pc = 0; pc < k; pc += kKc) {
      int64_t kc = k - pc < kKc ? k - pc : kKc;
      for (int64_t ir = 0; ir < m; ir += kMr) {
        int64_t rows = m - ir < kMr ? m - ir : kMr;
        for (int64_t j = 0; j < nc; j += kNr) {
          const float* strip = packed + ((jc + j) / kNr) * ldk * kNr + pc * kNr;
          MicroF32Rows(rows, kc, a + ir * lda + pc, lda, strip, kNr, c + ir * ldc + jc + j, ldc, pc == 0,
                       nc - j < kNr ? nc - j : kNr);
        }
      }
    }
  }
}

namespace {
// GemmI8Avx2 with B packed once ahead of time (PackI8BPairs): per k panel, each 4-row A
// panel is packed once and multiplied into every strip of the block.
template <typename A>
void GemmI8PackedAvx2(int64_t m, int64_t n, int64_t k, const A* a, int64_t lda, const int16_t* packed, int32_t* c,
                      int64_t ldc) {
  constexpr int64_t kPairs = kKc / 2;
  struct Panel {  // the A panel buffer, once per thread
    int32_t* ap = static_cast<int32_t*>(AlignedBuffer(sizeof(int32_t) * kPairs * kMrI8));
    ~Panel() { std::free(ap); }
  };
  static thread_local Panel panel;
  int32_t* ap = panel.ap;
  if (!ap) {  // out of memory: exact sums need no buffers
    const int64_t strip = (k + 1) / 2 * 32;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        int32_t acc = 0;
        for (int64_t p = 0; p < k; ++p)
          acc += static_cast<int32_t>(a[i * lda + p]) * packed[(j / 16) * strip + (p / 2) * 32 + 2 * (j % 16) + p % 2];
        c[i * ldc + j] = acc;
      }
    return;
  }
  const int64_t all_pairs = (k + 1) / 2;
  for (int64_t pc = 0; pc < k; pc += kKc) {  // kKc is even: panels start at a pair
    int64_t kc = k - pc < kKc ? k - pc : kKc, pairs = (kc + 1) / 2;
    for (int64_t ir = 0; ir < m; ir += kMrI8) {
      int64_t rows = m - ir < kMrI8 ? m - ir : kMrI8;
      int64_t done = rows == 4 ? PackI8A4(kc, a + ir * lda + pc, lda, ap) : 0;
      PackI8A(rows, kc, a + ir * lda + pc, lda, ap, done);
      for (int64_t s = 0; s * kNr < n; ++s) {
        int64_t cols = n - s * kNr < kNr ? n - s * kNr : kNr;
        MicroI8Rows(rows, pairs, ap, packed + (s * all_pairs + pc / 2) * 2 * kNr, c + ir * ldc + s * kNr, ldc, pc == 0,
                    cols);
      }
    }
  }
}
}  // namespace

void GemmS8S8S32PackedAvx2(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int16_t* packed,
                           int32_t* c, int64_t ldc) {
  GemmI8PackedAvx2(m, n, k, a, lda, packed, c, ldc);
}
void GemmU8S8S32PackedAvx2(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int16_t* packed,
                           int32_t* c, int64_t ldc) {
  GemmI8PackedAvx2(m, n, k, a, lda, packed, c, ldc);
}

void GemmS8S8S32Avx2(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                     int32_t* c, int64_t ldc) {
  GemmI8Avx2(m, n, k, a, lda, b, ldb, c, ldc);
}
void GemmU8S8S32Avx2(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                     int32_t* c, int64_t ldc) {
  GemmI8Avx2(m, n, k, a, lda, b, ldb, c, ldc);
}

}  // namespace lucid::gemm::internal
