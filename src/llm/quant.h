// ggml tensor types (block layouts as in ggml's ggml-common.h), exact dequantization, and the
// deterministic matrix-vector / matrix-matrix products of the LLM forward pass.
//
// Products y = W·x (W [rows x k] in any supported type, x float activations):
//  * Quantized W: x is first quantized per row-block like ggml does (Q8_0 blocks of 32 for
//    Q8_0/Q4_0/Q4_1 weights, Q8_K blocks of 256 for Q4_K/Q5_K/Q6_K). Inside a block the
//    weight·activation products are summed as exact integers (any SIMD order gives the
//    same int32); the per-block results are then combined with the float scales in ONE
//    fixed order, block 0 … n−1, each multiply and add rounded separately (the project
//    builds with -ffp-contract=off and without -ffast-math).
//  * F32/F16/BF16 W: float products w·x accumulated into 16 lanes (element i into lane
//    i mod 16, i increasing), lanes then summed in a fixed tree (8, 4, 2, 1 apart).
// Every SIMD path (scalar reference, AVX2, AVX-512 VNNI) performs exactly these operations,
// so results are bit-identical across paths, thread counts and batch composition
// (each output element depends only on its weight row and its activation column).
// A NaN result is always the canonical quiet NaN 0x7FC00000.
// The path is picked once per process from the CPU; LUCID_GEMM_PATH=scalar|avx2|avx512-vnni
// selects another one the CPU runs (as for tensor/gemm.h).
// Thread-safety: free functions; callers own the buffers.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace lucid::llm {

// ggml_type values as stored in GGUF tensor infos.
enum class GgmlType : uint32_t {
  kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ4_1 = 3, kQ5_0 = 6, kQ5_1 = 7, kQ8_0 = 8, kQ8_1 = 9,
  kQ2_K = 10, kQ3_K = 11, kQ4_K = 12, kQ5_K = 13, kQ6_K = 14, kQ8_K = 15, kBF16 = 30,
};

struct TypeInfo {
  std::string_view name;  // "Q4_K"
  int64_t block_size;     // elements per block
  int64_t type_size;      // bytes per block
  bool supported;         // dequantize / products implemented here
};
// nullptr for a value that is no ggml type this library knows.
const TypeInfo* TypeInfoOf(uint32_t type);
std::string_view TypeName(GgmlType type);

inline constexpr int64_t kQK = 32;    // Q4_0, Q4_1, Q8_0 block
inline constexpr int64_t kQKK = 256;  // K-quant super-block

// IEEE half <-> float (round to nearest even); bfloat16 -> float.
float HalfToFloat(uint16_t h);
uint16_t FloatToHalf(float f);
float Bf16ToFloat(uint16_t b);

// Bytes of a row of n elements; -1 when n is not a whole number of blocks.
int64_t RowBytes(GgmlType type, int64_t n);

// Dequantizes n elements (a whole number of blocks) with ggml's formulas exactly.
// REQUIRES: type supported, n % block_size == 0.
void DequantizeRow(GgmlType type, const void* src, float* dst, int64_t n);

// A weight matrix: `rows` rows of `cols` elements, row r at data + r·row_bytes.
struct WeightMatrix {
  GgmlType type = GgmlType::kF32;
  int64_t rows = 0, cols = 0;
  int64_t row_bytes = 0;
  const uint8_t* data = nullptr;
};

// y[b·ldy + r] = Σ_k W[r, k]·x[b·ldx + k] for b < batch, r < rows, in the fixed order above.
// REQUIRES: W.type supported; W.cols a multiple of its block size.
void MatMul(const WeightMatrix& w, int64_t batch, const float* x, int64_t ldx, float* y, int64_t ldy,
            int threads);
inline void MatVec(const WeightMatrix& w, const float* x, float* y, int threads) {
  MatMul(w, 1, x, w.cols, y, w.rows, threads);
}

struct ActQ8;
struct ActQ8K;
// One activation matrix for several products (Q/K/V, gate/up share their input): the input
// is quantized at most once per activation kind (Q8 for Q8_0/Q4_0/Q4_1 weights, Q8_K for
// K-quants), on the first MatMul that needs it, instead of once per MatMul.
// MatMul(w, in, y, ldy, threads) writes exactly the bytes of MatMul(w, batch, x, ldx, y, ldy,
// threads). x is held by pointer: it must stay alive and unchanged until the next Reset.
// Not thread-safe: one MatMul at a time per MatMulInput.
class MatMulInput {
 public:
  MatMulInput();
  ~MatMulInput();
  MatMulInput(const MatMulInput&) = delete;
  MatMulInput& operator=(const MatMulInput&) = delete;
  // `batch` columns of `cols` floats, column b at x + b·ldx; forgets earlier quantized forms
  // (their buffers are kept for reuse).
  void Reset(int64_t batch, const float* x, int64_t ldx, int64_t cols);
  int64_t batch() const { return batch_; }
  int64_t cols() const { return cols_; }
  int64_t ldx() const { return ldx_; }
  const float* x() const { return x_; }

  // Internal (quant.cc): the quantized forms, filled on demand.
  struct Quantized;
  Quantized& quantized() { return *q_; }

 private:
  int64_t batch_ = 0, cols_ = 0, ldx_ = 0;
  const float* x_ = nullptr;
  std::unique_ptr<Quantized> q_;
};
// REQUIRES: in.cols() == w.cols, as for MatMul.
void MatMul(const WeightMatrix& w, MatMulInput& in, float* y, int64_t ldy, int threads);

// "scalar", "avx2" or "avx512-vnni": the path MatMul runs on this CPU.
std::string_view ActiveQuantPath();

// ---- Block layouts (ggml-common.h) and activation blocks, for tests and kernels. ----
#pragma pack(push, 1)
struct BlockQ4_0 { uint16_t d; uint8_t qs[16]; };
struct BlockQ4_1 { uint16_t d, m; uint8_t qs[16]; };
struct BlockQ8_0 { uint16_t d; int8_t qs[32]; };
struct BlockQ4_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128]; };
struct BlockQ5_K { uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128]; };
struct BlockQ6_K { uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d; };
#pragma pack(pop)
static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ8_0) == 34);
static_assert(sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210);

// Activations quantized for Q8_0/Q4_0/Q4_1 weights (ggml's Q8_0 / Q8_1): d is the fp16-rounded
// scale as a float, s = fp16(d_unrounded · Σqs) as a float (for Q4_1's min term), sum = Σqs.
struct ActQ8 { float d; float s; int32_t sum; int8_t qs[32]; };
// Activations for K-quant weights (ggml's Q8_K): float scale, 256 values, sums per 16.
struct ActQ8K { float d; int8_t qs[256]; int16_t bsums[16]; };
void QuantizeActQ8(const float* x, int64_t n, ActQ8* out);    // n % 32 == 0
void QuantizeActQ8K(const float* x, int64_t n, ActQ8K* out);  // n % 256 == 0

}  // namespace lucid::llm
