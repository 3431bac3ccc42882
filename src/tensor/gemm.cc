// Scalar reference kernels and the dispatcher. Optimised paths (blocked, SIMD, threaded)
// live beside these and must reproduce them bit for bit.
#include "tensor/gemm.h"

namespace lucid::gemm {

void GemmF32Reference(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                      float* c, int64_t ldc) noexcept {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float acc = 0.0f;
      for (int64_t p = 0; p < k; ++p) acc = acc + a[i * lda + p] * b[p * ldb + j];
      c[i * ldc + j] = acc;
    }
}

template <typename A>
static void GemmIntReference(int64_t m, int64_t n, int64_t k, const A* a, int64_t lda, const int8_t* b, int64_t ldb,
                             int32_t* c, int64_t ldc) noexcept {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      int32_t acc = 0;
      for (int64_t p = 0; p < k; ++p) acc += static_cast<int32_t>(a[i * lda + p]) * static_cast<int32_t>(b[p * ldb + j]);
      c[i * ldc + j] = acc;
    }
}

void GemmS8S8S32Reference(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int8_t* b,
                          int64_t ldb, int32_t* c, int64_t ldc) noexcept {
  GemmIntReference(m, n, k, a, lda, b, ldb, c, ldc);
}
void GemmU8S8S32Reference(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int8_t* b,
                          int64_t ldb, int32_t* c, int64_t ldc) noexcept {
  GemmIntReference(m, n, k, a, lda, b, ldb, c, ldc);
}

void GemmF32(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
             int64_t ldc, int /*threads*/) noexcept {
  GemmF32Reference(m, n, k, a, lda, b, ldb, c, ldc);
}
void GemmS8S8S32(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                 int32_t* c, int64_t ldc, int /*threads*/) noexcept {
  GemmS8S8S32Reference(m, n, k, a, lda, b, ldb, c, ldc);
}
void GemmU8S8S32(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                 int32_t* c, int64_t ldc, int /*threads*/) noexcept {
  GemmU8S8S32Reference(m, n, k, a, lda, b, ldb, c, ldc);
}

std::string_view ActivePath() noexcept { return "scalar"; }

}  // namespace lucid::gemm
