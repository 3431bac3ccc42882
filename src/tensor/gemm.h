// Matrix-product kernels shared by the float and integer executors (and, later, the zk
// circuit, which proves exactly the integer products computed here).
// Row-major; ld* are row strides in elements. Results never depend on `threads` or on the
// SIMD path chosen at run time: float sums run over k = 0 … K−1 sequentially in float32
// for each output element (docs/formats/onnx-semantics.md), integer sums are exact int32.
// Thread-safety: free functions; callers own the buffers.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace lucid::gemm {

inline constexpr uint32_t kCanonicalNaNBits = 0x7FC00000u;  // positive quiet NaN

// C[m,n] = Σ_k A[m,k]·B[k,n], each product rounded to float then added left to right from +0.
// A NaN result is always kCanonicalNaNBits (whether a result is NaN is fixed by IEEE; its
// sign and payload would depend on the compiler's operand order).
void GemmF32(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
             int64_t ldc, int threads) noexcept;

// A constant B (weights) laid out once for GemmF32PackedB: columns in strips of 16, each
// strip k × 16 row-major, the last strip zero-padded. Holds PackedF32Size(k, n) floats.
int64_t PackedF32Size(int64_t k, int64_t n) noexcept;
void PackF32B(int64_t k, int64_t n, const float* b, int64_t ldb, float* packed) noexcept;
// GemmF32 with B from PackF32B: the same products and sums, so the same bytes, without
// re-packing B on every call.
void GemmF32PackedB(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* packed_b, float* c,
                    int64_t ldc, int threads) noexcept;

// C[m,n] = Σ_k A[m,k]·B[k,n] exactly in int32. REQUIRES: k ≤ 2^16 (no int32 overflow:
// |a·b| ≤ 2^14 for int8·int8, 2^15 for uint8·int8).
void GemmS8S8S32(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                 int32_t* c, int64_t ldc, int threads) noexcept;
void GemmU8S8S32(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                 int32_t* c, int64_t ldc, int threads) noexcept;

// A constant int8 B (weights) laid out once for the PackedB products, in the layout of
// the kernels this CPU runs: int16 k pairs in 16-column strips for the AVX2/scalar paths
// (vpmaddwd), byte quads in 16-column strips plus column sums for AVX-512 VNNI
// (vpdpbusd). Which layout is an internal detail; every layout gives the same sums.
struct PackedI8B {
  // One k quad of a 16-column strip: (b[4q+h, 16s+l]) at byte 4l + h; one cache line.
  struct alignas(64) QuadLine {
    int8_t bytes[64];
  };
  int64_t k = 0, n = 0;
  uint8_t layout = 0;             // internal::I8Layout
  std::vector<int16_t> pairs;     // kPairs: strip s, pair q, column l, half h
  std::vector<QuadLine> quads;    // kQuads: strip s, quad q
  std::vector<int32_t> col_sums;  // kQuads: Σ_k b[k, j] per column, zero-padded to whole strips
};
PackedI8B PackI8B(int64_t k, int64_t n, const int8_t* b, int64_t ldb);
// GemmS8S8S32 / GemmU8S8S32 with B from PackI8B: the same exact sums, without re-packing B
// on every call. REQUIRES: packed_b came from PackI8B in this process with this k and n.
void GemmS8S8S32PackedB(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const PackedI8B& packed_b,
                        int32_t* c, int64_t ldc, int threads) noexcept;
void GemmU8S8S32PackedB(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const PackedI8B& packed_b,
                        int32_t* c, int64_t ldc, int threads) noexcept;

// The scalar references every SIMD path must match bit for bit (tests compare them).
void GemmF32Reference(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                      float* c, int64_t ldc) noexcept;
void GemmS8S8S32Reference(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int8_t* b,
                          int64_t ldb, int32_t* c, int64_t ldc) noexcept;
void GemmU8S8S32Reference(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int8_t* b,
                          int64_t ldb, int32_t* c, int64_t ldc) noexcept;

// Which path the dispatcher picked on this CPU: "scalar", "avx2" or "avx512-vnni" (AVX2 float
// kernels, AVX-512 VNNI int8 kernels).
std::string_view ActivePath() noexcept;

}  // namespace lucid::gemm
