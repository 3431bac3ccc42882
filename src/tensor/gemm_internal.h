// Internal to lucid_tensor (and its tests/benchmarks): the per-path block kernels behind
// gemm.h's dispatcher. A block kernel computes a whole m×n block of C over all of k, so
// any split of C into blocks (threads, tiles) gives the same bytes.
// Thread-safety: free functions; callers own the buffers.
#pragma once

#include <cstdint>
#include <string_view>

#include "tensor/gemm.h"

namespace lucid::gemm::internal {

enum class Path : uint8_t { kScalar, kAvx2, kAvx512Vnni };

// PackedI8B::layout values.
enum class I8Layout : uint8_t { kPairs = 0, kQuads = 1 };

using F32Block = void (*)(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb,
                          float* c, int64_t ldc);
// B from PackF32B: `packed` is the strip holding the block's first column (a multiple of
// 16), `ldk` the packed matrix's full k (strips are ldk × 16 floats apart).
using F32PackedBlock = void (*)(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* packed,
                                int64_t ldk, float* c, int64_t ldc);
using S8Block = void (*)(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                         int32_t* c, int64_t ldc);
using U8Block = void (*)(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                         int32_t* c, int64_t ldc);
// B from PackI8B in the kernels' layout: columns j0 … j0+n−1 of it (j0 a multiple of 16).
using S8PackedBlock = void (*)(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const PackedI8B& b,
                               int64_t j0, int32_t* c, int64_t ldc);
using U8PackedBlock = void (*)(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const PackedI8B& b,
                               int64_t j0, int32_t* c, int64_t ldc);

struct Kernels {
  std::string_view name;
  F32Block f32;
  F32PackedBlock f32_packed;
  S8Block s8s8;
  U8Block u8s8;
  S8PackedBlock s8s8_packed;
  U8PackedBlock u8s8_packed;
  I8Layout i8_layout;  // the PackedI8B layout its packed kernels read
};

// Kernels for a path; nullptr when this CPU cannot run it.
const Kernels* KernelsFor(Path path) noexcept;

// AVX2 block kernels (gemm_avx2.cc). Call only when the CPU supports AVX2.
void GemmF32Avx2(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                 int64_t ldc);
void GemmF32PackedAvx2(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* packed, int64_t ldk,
                       float* c, int64_t ldc);
void GemmS8S8S32Avx2(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                     int32_t* c, int64_t ldc);
void GemmU8S8S32Avx2(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                     int32_t* c, int64_t ldc);
void GemmS8S8S32PackedAvx2(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int16_t* packed,
                           int32_t* c, int64_t ldc);
void GemmU8S8S32PackedAvx2(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int16_t* packed,
                           int32_t* c, int64_t ldc);

// AVX-512 block kernels (gemm_avx512.cc). Call only when CpuHasAvx512Vnni().
void GemmF32Avx512(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b, int64_t ldb, float* c,
                   int64_t ldc);
void GemmF32PackedAvx512(int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* packed,
                         int64_t ldk, float* c, int64_t ldc);
void GemmS8S8S32Vnni(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                     int32_t* c, int64_t ldc);
void GemmU8S8S32Vnni(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const int8_t* b, int64_t ldb,
                     int32_t* c, int64_t ldc);
void GemmS8S8S32PackedVnni(int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda, const PackedI8B& b,
                           int64_t j0, int32_t* c, int64_t ldc);
void GemmU8S8S32PackedVnni(int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda, const PackedI8B& b,
                           int64_t j0, int32_t* c, int64_t ldc);

// Quad layout: strip s (columns 16s … 16s+15), quad q (k = 4q … 4q+3), column l, byte h:
// quads[s·QuadsOf(k) + q].bytes[4l + h] = b[4q+h, 16s+l], zero-padded.
inline int64_t QuadsOf(int64_t k) { return (k + 3) / 4; }

// PackI8B for a given kernel set (tests pack once per path).
PackedI8B PackI8BFor(const Kernels& kernels, int64_t k, int64_t n, const int8_t* b, int64_t ldb);

// The threaded driver with an explicit path (tests run every path through it).
void GemmF32With(const Kernels& kernels, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda, const float* b,
                 int64_t ldb, float* c, int64_t ldc, int threads) noexcept;
void GemmF32PackedWith(const Kernels& kernels, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                       const float* packed_b, float* c, int64_t ldc, int threads) noexcept;
void GemmS8S8S32With(const Kernels& kernels, int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda,
                     const int8_t* b, int64_t ldb, int32_t* c, int64_t ldc, int threads) noexcept;
void GemmU8S8S32With(const Kernels& kernels, int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda,
                     const int8_t* b, int64_t ldb, int32_t* c, int64_t ldc, int threads) noexcept;
void GemmS8S8S32PackedWith(const Kernels& kernels, int64_t m, int64_t n, int64_t k, const int8_t* a, int64_t lda,
                           const PackedI8B& packed_b, int32_t* c, int64_t ldc, int threads) noexcept;
void GemmU8S8S32PackedWith(const Kernels& kernels, int64_t m, int64_t n, int64_t k, const uint8_t* a, int64_t lda,
                           const PackedI8B& packed_b, int32_t* c, int64_t ldc, int threads) noexcept;

}  // namespace lucid::gemm::internal
