// Integer kernels: QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger,
// ConvInteger, QLinearMatMul, QLinearConv, and MaxPool on int8/uint8.
//
// Exact semantics (rounding, saturation, fixed-point requantization, overflow bounds) are
// specified in docs/formats/integer-semantics.md; this file implements that document.
// Integer products go through the GEMM contract (tensor/gemm.h): activations are the A
// operand (uint8 or int8), weights the B operand (int8; uint8 weights are shifted by −128
// together with their zero point, which leaves every (w − zp) unchanged). Zero-point
// corrections are applied exactly in int64, so results never depend on threads.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "base/cpu.h"
#include "onnx/op_internal.h"
#include "tensor/gemm.h"

// Only functions carrying LUCID_INT_AVX2 use AVX2 (chosen at run time); they use intrinsics
// and plain loops only, no library templates.
#if defined(__x86_64__)
#define LUCID_INT_AVX2 __attribute__((target("avx2")))
#define LUCID_INT_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl")))
#endif

namespace lucid::onnx::internal {
namespace {

constexpr int64_t kMaxReduction = 1 << 15;  // K bound that keeps every int32 accumulator exact

bool IsQuant(DType d) { return d == DType::kInt8 || d == DType::kUint8; }

// ParallelFor's min_per_chunk for items of `cost` elementary steps each: a chunk is worth a
// thread wake-up from about 16 Ki steps (tiny models then run on the calling thread).
int64_t MinRows(int64_t cost) { return std::max<int64_t>(1, (int64_t{1} << 14) / std::max<int64_t>(cost, 1)); }

Status NeedDType(const Node& node, const Tensor& t, std::string_view what, std::initializer_list<DType> ok) {
  for (DType d : ok)
    if (t.dtype() == d) return Status::Ok();
  return Unimplemented(node.Describe() + ": " + std::string(what) + " has unsupported dtype " +
                       std::string(DTypeName(t.dtype())));
}

// Reads element i of an int8/uint8/int32 tensor as int64.
int64_t IntAt(const Tensor& t, uint64_t i) {
  switch (t.dtype()) {
    case DType::kInt8: return t.data<int8_t>()[i];
    case DType::kUint8: return t.data<uint8_t>()[i];
    case DType::kInt32: return t.data<int32_t>()[i];
    default: return 0;
  }
}

std::pair<int64_t, int64_t> QuantRange(DType d) {
  return d == DType::kInt8 ? std::pair<int64_t, int64_t>{-128, 127} : std::pair<int64_t, int64_t>{0, 255};
}

// Scales: every entry finite and > 0 (a zero or negative scale has no meaning).
Result<std::vector<float>> ReadScales(const Node& node, const Tensor& s, std::string_view what) {
  if (s.dtype() != DType::kFloat32) return Unimplemented(node.Describe() + ": " + std::string(what) + " must be float32");
  if (s.rank() > 1) return InvalidArgument(node.Describe() + ": " + std::string(what) + " must be a scalar or 1-D");
  std::vector<float> v(s.data<float>(), s.data<float>() + s.num_elements());
  if (v.empty()) return InvalidArgument(node.Describe() + ": " + std::string(what) + " is empty");
  for (float f : v)
    if (!(f > 0.0f) || !std::isfinite(f))
      return InvalidArgument(node.Describe() + ": " + std::string(what) + " must be finite and > 0");
  return v;
}

// Zero points: scalar or 1-D; absent → zeros of `dtype`.
Result<std::vector<int64_t>> ReadZeroPoints(const Node& node, const Tensor* zp, std::string_view what) {
  if (zp == nullptr) return std::vector<int64_t>{0};
  if (!IsQuant(zp->dtype()) && zp->dtype() != DType::kInt32)
    return Unimplemented(node.Describe() + ": " + std::string(what) + " has unsupported dtype " +
                         std::string(DTypeName(zp->dtype())));
  if (zp->rank() > 1) return InvalidArgument(node.Describe() + ": " + std::string(what) + " must be a scalar or 1-D");
  std::vector<int64_t> v(zp->num_elements());
  for (size_t i = 0; i < v.size(); ++i) v[i] = IntAt(*zp, i);
  if (v.empty()) return InvalidArgument(node.Describe() + ": " + std::string(what) + " is empty");
  return v;
}

// Per-tensor (size 1) or per-axis (size == dim) parameters; returns the index stride for axis.
struct AxisPlan {
  uint64_t inner = 1;  // elements after the axis
  int64_t dim = 1;     // extent of the axis (1 when per-tensor)
  bool per_axis = false;
};

Result<AxisPlan> PlanAxis(const Node& node, const Tensor& x, size_t params, int64_t axis_attr) {
  AxisPlan plan;
  if (params == 1) return plan;
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_attr, static_cast<int64_t>(x.rank()), node));
  if (static_cast<int64_t>(params) != x.shape()[axis])
    return InvalidArgument(node.Describe() + ": " + std::to_string(params) + " scales/zero points for axis " +
                           std::to_string(axis) + " of extent " + std::to_string(x.shape()[axis]));
  plan.per_axis = true;
  plan.dim = x.shape()[axis];
  plan.inner = Product(x.shape(), axis + 1, x.rank());
  return plan;
}

// ONNX QuantizeLinear: saturate(round_half_even(x / scale) + zp), division in float32.
int64_t QuantizeOne(float x, float scale, int64_t zp, int64_t lo, int64_t hi) {
  double q = std::nearbyint(static_cast<double>(x / scale)) + static_cast<double>(zp);  // default mode: ties to even
  if (!(q >= static_cast<double>(lo))) return lo;  // also −inf
  if (q > static_cast<double>(hi)) return hi;
  return static_cast<int64_t>(q);
}

void StoreQuant(Tensor& y, uint64_t i, int64_t v) {
  if (y.dtype() == DType::kInt8) y.data<int8_t>()[i] = static_cast<int8_t>(v);
  else y.data<uint8_t>()[i] = static_cast<uint8_t>(v);
}

Status CheckNoNan(const Node& node, const Tensor& x) {
  const float* p = x.data<float>();
  for (uint64_t i = 0; i < x.num_elements(); ++i)
    if (std::isnan(p[i])) return InvalidArgument(node.Describe() + ": input contains NaN, which has no quantized value");
  return Status::Ok();
}

// ---- Requantization (docs/formats/integer-semantics.md §4) ----

// An integer view of `input_scale · weight_scale / output_scale`.
struct FixedMultiplier {
  int64_t m = 0;  // in [2^30, 2^31)
  int shift = 0;  // in [1, 62]
};

Result<FixedMultiplier> MakeMultiplier(const Node& node, float s_in, float s_w, float s_out) {
  double real = static_cast<double>(s_in) * static_cast<double>(s_w) / static_cast<double>(s_out);
  int exponent = 0;
  double mantissa = std::frexp(real, &exponent);  // real = mantissa · 2^exponent, mantissa in [0.5, 1)
  int64_t m = std::llround(std::ldexp(mantissa, 31));
  if (m == (int64_t{1} << 31)) {
    m >>= 1;
    ++exponent;
  }
  int shift = 31 - exponent;
  if (!std::isfinite(real) || real <= 0 || shift < 1 || shift > 62)
    return OutOfRange(node.Describe() + ": requantization multiplier " + std::to_string(real) +
                      " is outside [2^-31, 2^30)");
  return FixedMultiplier{m, shift};
}

// ---- Integer matrix product with zero points ----

// Weights as int8 plus their (shifted) zero points, laid out [K, N] row-major.
struct IntWeights {
  std::vector<int8_t> b;      // [K, N]
  std::vector<int64_t> zp;    // per column (size N) after the uint8 → int8 shift
  std::vector<int64_t> col_sum;  // Σ_k b[k, n]
  std::vector<int64_t> max_abs;  // max_k |b[k, n] − zp[n]|, for the accumulator bound
  bool zero_zp = true;           // every zp is 0: no row-sum term
  gemm::PackedI8B packed;        // b laid out once for this CPU's GEMM kernels
};

// acc[i, n] = Σ_k (a[i,k] − za)(b[k,n] − zb[n]) + bias[n], exactly; A is [M, K] row-major;
// acc is [M, N] int32. Returns an error if any accumulator leaves int32 (the spec's bound
// makes this unreachable for K ≤ 2^15 and |bias| < 2^24).
Status IntMatMul(const Node& node, const Tensor& a_tensor, uint64_t a_offset, int64_t m_dim, int64_t k_dim, int64_t za,
                 const IntWeights& w, int64_t n_dim, const int32_t* bias, int threads, std::vector<int32_t>& acc) {
  if (k_dim > kMaxReduction)
    return OutOfRange(node.Describe() + ": reduction length " + std::to_string(k_dim) + " exceeds " +
                      std::to_string(kMaxReduction));
  acc.resize(static_cast<size_t>(m_dim * n_dim));
  std::vector<int64_t> row_sum(static_cast<size_t>(m_dim), 0);
  bool is_u8 = a_tensor.dtype() == DType::kUint8;
  if (is_u8) {
    gemm::GemmU8S8S32(m_dim, n_dim, k_dim, a_tensor.data<uint8_t>() + a_offset, k_dim, w.b.data(), n_dim, acc.data(),
                      n_dim, threads);
  } else {
    gemm::GemmS8S8S32(m_dim, n_dim, k_dim, a_tensor.data<int8_t>() + a_offset, k_dim, w.b.data(), n_dim, acc.data(),
                      n_dim, threads);
  }
  // Per column: everything that does not depend on the row, exactly in int64.
  std::vector<int64_t> column_term(static_cast<size_t>(n_dim));
  for (int64_t n = 0; n < n_dim; ++n)
    column_term[n] = k_dim * za * w.zp[n] - za * w.col_sum[n] + (bias ? bias[n] : 0);
  std::atomic<bool> overflow{false};
  ParallelFor(m_dim, threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      int32_t sum = 0;  // |sum| ≤ K · 255 < 2^23: int32 is exact and vectorises
      if (is_u8) {
        const uint8_t* row = a_tensor.data<uint8_t>() + a_offset + i * k_dim;
        for (int64_t k = 0; k < k_dim; ++k) sum += row[k];
      } else {
        const int8_t* row = a_tensor.data<int8_t>() + a_offset + i * k_dim;
        for (int64_t k = 0; k < k_dim; ++k) sum += row[k];
      }
      int32_t* c = acc.data() + i * n_dim;
      for (int64_t n = 0; n < n_dim; ++n) {
        int64_t v = static_cast<int64_t>(c[n]) - w.zp[n] * static_cast<int64_t>(sum) + column_term[n];
        if (v < std::numeric_limits<int32_t>::min() || v > std::numeric_limits<int32_t>::max()) overflow = true;
        c[n] = static_cast<int32_t>(v);
      }
    }
  }, MinRows(k_dim + n_dim));
  if (overflow) return OutOfRange(node.Describe() + ": int32 accumulator overflow");
  return Status::Ok();
}

// Builds IntWeights from a [N, K] (n_major) or [K, N] weight tensor. Conv weights
// ([N, C, taps] with taps = kh·kw > 1) are reordered to k = tap·C + c, the order of the
// channels-last im2col rows (the sum is exact, so its order changes nothing).
Result<IntWeights> PrepareWeights(const Node& node, const Tensor& w, uint64_t offset, int64_t k_dim, int64_t n_dim,
                                  bool n_major, const std::vector<int64_t>& zp, int64_t taps = 1) {
  if (zp.size() != 1 && static_cast<int64_t>(zp.size()) != n_dim)
    return InvalidArgument(node.Describe() + ": weight zero point has " + std::to_string(zp.size()) +
                           " entries, expected 1 or " + std::to_string(n_dim));
  IntWeights out;
  int64_t shift = w.dtype() == DType::kUint8 ? 128 : 0;
  out.b.resize(static_cast<size_t>(k_dim * n_dim));
  out.zp.resize(static_cast<size_t>(n_dim));
  out.col_sum.assign(static_cast<size_t>(n_dim), 0);
  const std::pair<int64_t, int64_t> lo_hi_range = QuantRange(w.dtype());
  const int64_t lo = lo_hi_range.first, hi = lo_hi_range.second;
  out.max_abs.assign(static_cast<size_t>(n_dim), 0);
  for (int64_t n = 0; n < n_dim; ++n) {
    int64_t z = zp.size() == 1 ? zp[0] : zp[n];
    if (z < lo || z > hi) return InvalidArgument(node.Describe() + ": weight zero point out of range");
    out.zp[n] = z - shift;
    out.zero_zp = out.zero_zp && out.zp[n] == 0;
  }
  if (taps < 1 || k_dim % taps != 0) return InvalidArgument(node.Describe() + ": weight shape is inconsistent");
  const int64_t channels = k_dim / taps;
  for (int64_t k = 0; k < k_dim; ++k)
    for (int64_t n = 0; n < n_dim; ++n) {
      uint64_t src = offset + static_cast<uint64_t>(n_major ? n * k_dim + k : k * n_dim + n);
      int64_t v = IntAt(w, src) - shift;
      int64_t dst = n_major && taps > 1 ? (k % taps) * channels + k / taps : k;  // [c, tap] → [tap, c]
      out.b[dst * n_dim + n] = static_cast<int8_t>(v);
      out.col_sum[n] += v;
      out.max_abs[n] = std::max(out.max_abs[n], std::abs(v - out.zp[n]));
    }
  out.packed = gemm::PackI8B(k_dim, n_dim, out.b.data(), n_dim);
  return out;
}

// ---- Fused output stage of QLinearConv / QLinearMatMul ----
//
// The GEMM gives raw[i, n] = Σ_k a[i,k]·b[k,n]; the exact accumulator of §2 is
//   acc[i, n] = raw[i, n] + column[n] − zb[n]·Σ_k a[i,k],  column[n] = K·za·zb[n] − za·Σ_k b[k,n] + bias[n],
// and §4 turns it into a code. Both happen in one pass over raw, row by row.

// 0: scalar only, 1: up to AVX2, 2: up to AVX-512 (tests step through them).
std::atomic<int> g_int_simd_level{2};

bool IntSimd() { return CpuHasAvx2() && g_int_simd_level.load(std::memory_order_relaxed) >= 1; }

// AVX-512 output stage (on CPUs of the avx512-vnni GEMM path); off with the other SIMD.
bool IntAvx512() { return IntSimd() && CpuHasAvx512Vnni() && g_int_simd_level.load(std::memory_order_relaxed) >= 2; }

struct OutputStage {
  int64_t cols = 0;
  std::vector<int64_t> column;        // exact
  std::vector<int64_t> zb;            // empty when every zb is 0 (no row term)
  std::vector<int64_t> m, round;      // per column: M and 2^(shift−1)
  std::vector<int> shift;
  int64_t zp = 0, lo = 0, hi = 0;
  bool bounded = false;  // |acc| < 2^31 for every possible input: no per-element check needed
  // SIMD path (bounded, no row term, every shift ≥ 32), per column: column mod 2^32, M,
  // shift − 32, and the rounding terms of each 8-column block as [even columns, odd columns].
  bool simd = false;
  std::vector<int32_t> column32, m32, shift_hi;
  std::vector<int64_t> round_pairs;
  // The same for AVX-512 (16 columns a step): rounding terms of each 16-column block.
  bool avx512 = false;
  std::vector<int64_t> round_pairs16;
};

// `mult` has 1 entry or one per column of the whole op; this product's columns start at n0.
// Fills `s` in place (its vectors keep their capacity between calls).
void MakeOutputStage(int64_t k_dim, int64_t za, DType a_type, const IntWeights& w, int64_t n_dim, const int32_t* bias,
                     const std::vector<FixedMultiplier>& mult, int64_t n0, int64_t zp, int64_t lo, int64_t hi,
                     OutputStage& s) {
  for (auto* v : {&s.column, &s.zb, &s.m, &s.round, &s.round_pairs, &s.round_pairs16}) v->clear();
  for (auto* v : {&s.column32, &s.m32, &s.shift_hi}) v->clear();
  s.shift.clear();
  s.cols = n_dim;
  s.zp = zp;
  s.lo = lo;
  s.hi = hi;
  const std::pair<int64_t, int64_t> a_range = QuantRange(a_type);
  const int64_t a_max = std::max(za - a_range.first, a_range.second - za);  // max |a − za|
  s.bounded = true;
  s.simd = w.zero_zp;
  if (!w.zero_zp) s.zb = w.zp;
  for (int64_t n = 0; n < n_dim; ++n) {
    const FixedMultiplier& f = mult[mult.size() == 1 ? 0 : n0 + n];
    int64_t b = bias ? bias[n] : 0;
    s.column.push_back(k_dim * za * w.zp[n] - za * w.col_sum[n] + b);
    s.m.push_back(f.m);
    s.shift.push_back(f.shift);
    s.round.push_back(int64_t{1} << (f.shift - 1));
    // |acc| ≤ K · max|a − za| · max|b − zb| + |bias| (K ≤ 2^15 keeps every term small).
    s.bounded = s.bounded && k_dim * a_max * w.max_abs[n] + std::abs(b) < (int64_t{1} << 31);
    s.simd = s.simd && f.shift >= 32;
  }
  s.simd = s.simd && s.bounded && IntSimd();
  if (s.simd) {
    for (int64_t n = 0; n < n_dim; ++n) {
      s.column32.push_back(static_cast<int32_t>(static_cast<uint32_t>(s.column[n])));  // mod 2^32
      s.m32.push_back(static_cast<int32_t>(s.m[n]));
      s.shift_hi.push_back(s.shift[n] - 32);
    }
    for (int64_t b = 0; b + 8 <= n_dim; b += 8) {
      for (int64_t j = 0; j < 8; j += 2) s.round_pairs.push_back(s.round[b + j]);
      for (int64_t j = 1; j < 8; j += 2) s.round_pairs.push_back(s.round[b + j]);
    }
  }
  s.avx512 = s.simd && IntAvx512();
  if (s.avx512) {
    for (int64_t b = 0; b + 16 <= n_dim; b += 16) {
      for (int64_t j = 0; j < 16; j += 2) s.round_pairs16.push_back(s.round[b + j]);
      for (int64_t j = 1; j < 16; j += 2) s.round_pairs16.push_back(s.round[b + j]);
    }
  }
}

// Columns [n_begin, cols) of one row; false if an accumulator left int32 (only possible
// when the stage is not bounded).
template <typename Q>
bool OutputRowScalar(const OutputStage& s, const int32_t* raw, int64_t row_sum, int64_t n_begin, Q* out) {
  bool ok = true;
  for (int64_t n = n_begin; n < s.cols; ++n) {
    int64_t acc = raw[n] + s.column[n] - (s.zb.empty() ? 0 : s.zb[n] * row_sum);
    if (acc < std::numeric_limits<int32_t>::min() || acc > std::numeric_limits<int32_t>::max()) {
      ok = false;
      acc = 0;
    }
    // §4: floor((acc·M + 2^(shift−1)) / 2^shift), round half up; >> on int64 is floor (C++20).
    out[n] = static_cast<Q>(std::clamp<int64_t>(((acc * s.m[n] + s.round[n]) >> s.shift[n]) + s.zp, s.lo, s.hi));
  }
  return ok;
}

#if defined(__x86_64__)
// 8 columns: acc = raw + column (exact: bounded), then §4 with shift ≥ 32. The 64-bit
// products of even and odd lanes are formed separately; the high dword of (acc·M + round)
// is floor(· / 2^32), and an arithmetic shift by shift − 32 finishes the floor division.
LUCID_INT_AVX2 inline __m256i OutputLanes(const OutputStage& s, const int32_t* raw, int64_t n) {
  __m256i acc = _mm256_add_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(raw + n)),
                                 _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s.column32.data() + n)));
  __m256i m = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s.m32.data() + n));
  const __m256i* round = reinterpret_cast<const __m256i*>(s.round_pairs.data() + n);
  __m256i even = _mm256_add_epi64(_mm256_mul_epi32(acc, m), _mm256_loadu_si256(round));
  __m256i odd = _mm256_add_epi64(_mm256_mul_epi32(_mm256_srli_epi64(acc, 32), _mm256_srli_epi64(m, 32)),
                                 _mm256_loadu_si256(round + 1));
  __m256i high = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
  __m256i q = _mm256_srav_epi32(high, _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s.shift_hi.data() + n)));
  q = _mm256_add_epi32(q, _mm256_set1_epi32(static_cast<int32_t>(s.zp)));
  q = _mm256_max_epi32(q, _mm256_set1_epi32(static_cast<int32_t>(s.lo)));
  return _mm256_min_epi32(q, _mm256_set1_epi32(static_cast<int32_t>(s.hi)));
}

// GCC 12 flags the deliberately undefined pass-through operand inside its own AVX-512
// intrinsics (_mm512_undefined_epi32) as maybe-uninitialized; every lane is written.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
// OutputLanes on 16 columns (AVX-512): the same integer steps, twice as wide; the codes,
// already inside [lo, hi], are narrowed to bytes.
LUCID_INT_AVX512 inline __m128i OutputLanes16(const OutputStage& s, const int32_t* raw, int64_t n, bool is_signed) {
  __m512i acc = _mm512_add_epi32(_mm512_loadu_si512(raw + n), _mm512_loadu_si512(s.column32.data() + n));
  __m512i m = _mm512_loadu_si512(s.m32.data() + n);
  const int64_t* round = s.round_pairs16.data() + n;  // block n/16: 8 even then 8 odd
  __m512i even = _mm512_add_epi64(_mm512_mul_epi32(acc, m), _mm512_loadu_si512(round));
  __m512i odd = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(acc, 32), _mm512_srli_epi64(m, 32)),
                                 _mm512_loadu_si512(round + 8));
  __m512i high = _mm512_mask_blend_epi32(static_cast<__mmask16>(0xAAAA), _mm512_srli_epi64(even, 32), odd);
  __m512i q = _mm512_srav_epi32(high, _mm512_loadu_si512(s.shift_hi.data() + n));
  q = _mm512_add_epi32(q, _mm512_set1_epi32(static_cast<int32_t>(s.zp)));
  q = _mm512_max_epi32(q, _mm512_set1_epi32(static_cast<int32_t>(s.lo)));
  q = _mm512_min_epi32(q, _mm512_set1_epi32(static_cast<int32_t>(s.hi)));
  return is_signed ? _mm512_cvtsepi32_epi8(q) : _mm512_cvtusepi32_epi8(q);
}

LUCID_INT_AVX512 int64_t OutputRowAvx512(const OutputStage& s, const int32_t* raw, bool is_signed, uint8_t* out) {
  int64_t n = 0;
  for (; n + 16 <= s.cols; n += 16)
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + n), OutputLanes16(s, raw, n, is_signed));
  return n;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// Columns [0, 16·⌊cols/16⌋) of one row; returns where the scalar tail starts.
LUCID_INT_AVX2 int64_t OutputRowAvx2(const OutputStage& s, const int32_t* raw, bool is_signed, uint8_t* out) {
  int64_t n = 0;
  for (; n + 16 <= s.cols; n += 16) {
    // Codes are already inside [lo, hi], so the saturating packs only narrow.
    __m256i words = _mm256_permute4x64_epi64(_mm256_packs_epi32(OutputLanes(s, raw, n), OutputLanes(s, raw, n + 8)),
                                             0xD8);
    __m128i lo = _mm256_castsi256_si128(words), hi = _mm256_extracti128_si256(words, 1);
    __m128i bytes = is_signed ? _mm_packs_epi16(lo, hi) : _mm_packus_epi16(lo, hi);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + n), bytes);
  }
  return n;
}
#endif

// out[i, n] = code of acc[i, n] for rows × s.cols; row_sums only when the stage has a row term.
Status RunOutputStage(const Node& node, const OutputStage& s, const int32_t* raw, const int32_t* row_sums,
                      int64_t rows, bool is_signed, uint8_t* out, int threads) {
  std::atomic<bool> overflow{false};
  ParallelFor(rows, threads, [&](int64_t begin, int64_t end) {
    bool ok = true;
    for (int64_t i = begin; i < end; ++i) {
      const int32_t* r = raw + i * s.cols;
      uint8_t* y = out + i * s.cols;
      int64_t n = 0;
#if defined(__x86_64__)
      if (s.avx512)
        n = OutputRowAvx512(s, r, is_signed, y);
      else if (s.simd)
        n = OutputRowAvx2(s, r, is_signed, y);
#endif
      int64_t row_sum = row_sums ? row_sums[i] : 0;
      ok = (is_signed ? OutputRowScalar(s, r, row_sum, n, reinterpret_cast<int8_t*>(y))
                      : OutputRowScalar(s, r, row_sum, n, y)) && ok;
    }
    if (!ok) overflow = true;
  }, MinRows(s.cols));
  if (overflow) return OutOfRange(node.Describe() + ": int32 accumulator overflow");
  return Status::Ok();
}

// Σ_k a[i, k] per row (the zb term), exact in int32 (|sum| ≤ K · 255 < 2^23).
void RowSums(const uint8_t* a, bool is_signed, int64_t rows, int64_t k_dim, int32_t* sums, int threads) {
  ParallelFor(rows, threads, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      int32_t sum = 0;
      if (is_signed) {
        const int8_t* row = reinterpret_cast<const int8_t*>(a) + i * k_dim;
        for (int64_t k = 0; k < k_dim; ++k) sum += row[k];
      } else {
        const uint8_t* row = a + i * k_dim;
        for (int64_t k = 0; k < k_dim; ++k) sum += row[k];
      }
      sums[i] = sum;
    }
  }, MinRows(k_dim));
}

#if defined(__x86_64__)
// One 16 × 16 block of bytes transposed in registers: unpacks by 8, 16, 32 and 64 bits.
LUCID_INT_AVX2 void Transpose16(const uint8_t* src, int64_t src_stride, uint8_t* dst, int64_t dst_stride) {
  __m128i r[16], t[16];
  for (int i = 0; i < 16; ++i) r[i] = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i * src_stride));
  for (int i = 0; i < 8; ++i) {  // t[8h + i]: rows 2i, 2i+1 of columns 8h … 8h+7
    t[i] = _mm_unpacklo_epi8(r[2 * i], r[2 * i + 1]);
    t[i + 8] = _mm_unpackhi_epi8(r[2 * i], r[2 * i + 1]);
  }
  for (int h = 0; h < 2; ++h)
    for (int i = 0; i < 4; ++i) {  // r[4g + i]: rows 4i … 4i+3 of columns 4g … 4g+3
      r[8 * h + i] = _mm_unpacklo_epi16(t[8 * h + 2 * i], t[8 * h + 2 * i + 1]);
      r[8 * h + 4 + i] = _mm_unpackhi_epi16(t[8 * h + 2 * i], t[8 * h + 2 * i + 1]);
    }
  for (int g = 0; g < 4; ++g)
    for (int half = 0; half < 2; ++half) {  // rows 8·half … 8·half+7 of columns (4g, 4g+1) and (4g+2, 4g+3)
      t[4 * g + 2 * half] = _mm_unpacklo_epi32(r[4 * g + 2 * half], r[4 * g + 2 * half + 1]);
      t[4 * g + 2 * half + 1] = _mm_unpackhi_epi32(r[4 * g + 2 * half], r[4 * g + 2 * half + 1]);
    }
  for (int g = 0; g < 4; ++g)
    for (int p = 0; p < 2; ++p) {
      __m128i top = t[4 * g + p], bottom = t[4 * g + 2 + p];
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + (4 * g + 2 * p) * dst_stride), _mm_unpacklo_epi64(top, bottom));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + (4 * g + 2 * p + 1) * dst_stride),
                       _mm_unpackhi_epi64(top, bottom));
    }
}
#endif

// dst[j, i] = src[i, j] for rows [row_begin, row_end) of a rows × cols byte matrix.
void TransposeBytes(const uint8_t* src, int64_t cols, int64_t src_stride, uint8_t* dst, int64_t dst_stride,
                    int64_t row_begin, int64_t row_end, bool simd) {
  int64_t i = row_begin;
#if defined(__x86_64__)
  if (simd) {
    for (; i + 16 <= row_end; i += 16) {
      int64_t j = 0;
      for (; j + 16 <= cols; j += 16) Transpose16(src + i * src_stride + j, src_stride, dst + j * dst_stride + i, dst_stride);
      for (; j < cols; ++j)
        for (int64_t r = i; r < i + 16; ++r) dst[j * dst_stride + r] = src[r * src_stride + j];
    }
  }
#endif
  for (; i < row_end; ++i)
    for (int64_t j = 0; j < cols; ++j) dst[j * dst_stride + i] = src[i * src_stride + j];
}

// Transposes `count` row-major rows × cols byte matrices (src_gap and dst_gap apart) on threads,
// in blocks of 16 rows.
void TransposeMatrices(const uint8_t* src, int64_t src_gap, uint8_t* dst, int64_t dst_gap, int64_t count, int64_t rows,
                       int64_t cols, int threads) {
  const int64_t blocks = (rows + 15) / 16;
  const bool simd = IntSimd();
  ParallelFor(count * blocks, threads, [&](int64_t begin, int64_t end) {
    for (int64_t job = begin; job < end; ++job) {
      int64_t mat = job / blocks, block = job % blocks;
      TransposeBytes(src + mat * src_gap, cols, cols, dst + mat * dst_gap, rows, block * 16,
                     std::min(rows, block * 16 + 16), simd);
    }
  }, MinRows(16 * cols));
}

// Reusable per-thread buffers (kernels run one at a time per calling thread).
template <typename T>
T* Scratch(std::vector<T>& buffer, int64_t size) {
  if (buffer.size() < static_cast<size_t>(size)) buffer.resize(static_cast<size_t>(size));
  return buffer.data();
}

// The product a [rows, K] · w then the output stage, into out [rows, w's N] codes.
Status QuantizedProduct(const Node& node, const uint8_t* a, DType a_type, int64_t rows, int64_t k_dim, int64_t za,
                        const IntWeights& w, int64_t n_dim, const int32_t* bias, const std::vector<FixedMultiplier>& mult,
                        int64_t n0, int64_t zp, int64_t lo, int64_t hi, bool out_signed, uint8_t* out, int threads) {
  if (k_dim > kMaxReduction)
    return OutOfRange(node.Describe() + ": reduction length " + std::to_string(k_dim) + " exceeds " +
                      std::to_string(kMaxReduction));
  static thread_local std::vector<int32_t> raw_buffer, sum_buffer;
  int32_t* raw = Scratch(raw_buffer, rows * n_dim);
  if (a_type == DType::kUint8)
    gemm::GemmU8S8S32PackedB(rows, n_dim, k_dim, a, k_dim, w.packed, raw, n_dim, threads);
  else
    gemm::GemmS8S8S32PackedB(rows, n_dim, k_dim, reinterpret_cast<const int8_t*>(a), k_dim, w.packed, raw, n_dim,
                             threads);
  static thread_local OutputStage stage;
  MakeOutputStage(k_dim, za, a_type, w, n_dim, bias, mult, n0, zp, lo, hi, stage);
  int32_t* sums = nullptr;
  if (!stage.zb.empty()) {
    sums = Scratch(sum_buffer, rows);
    RowSums(a, a_type == DType::kInt8, rows, k_dim, sums, threads);
  }
  return RunOutputStage(node, stage, raw, sums, rows, out_signed, out, threads);
}

// Weights of an integer Conv/MatMul whose weight tensor and zero point are initializers,
// converted once at load (Node::prepared): one IntWeights per conv group, or one for a 2-D
// MatMul B. Exactly what the kernels would compute on every run.
struct PreparedIntWeights final : Prepared {
  std::vector<IntWeights> groups;
};

const std::vector<IntWeights>* PreparedGroups(const Node& node) {
  const auto* p = dynamic_cast<const PreparedIntWeights*>(node.prepared.get());
  return p ? &p->groups : nullptr;
}

// The constant weight tensor and zero points of input slots (w_index, zp_index), or
// nullopt when either is not an initializer (an omitted zero point counts as constant 0).
struct ConstantWeights {
  const Tensor* w;
  std::vector<int64_t> zp;
};
Result<std::optional<ConstantWeights>> ConstantWeightInputs(const Node& node, KernelInputs constants, size_t w_index,
                                                            size_t zp_index) {
  const Tensor* w = w_index < constants.size() ? constants[w_index] : nullptr;
  if (w == nullptr || !IsQuant(w->dtype())) return std::optional<ConstantWeights>();
  bool zp_omitted = zp_index >= node.inputs.size() || node.inputs[zp_index] < 0;
  const Tensor* zp = zp_omitted ? nullptr : constants[zp_index];
  if (!zp_omitted && zp == nullptr) return std::optional<ConstantWeights>();
  ASSIGN_OR_RETURN(std::vector<int64_t> zps, ReadZeroPoints(node, zp, "weight zero point"));
  return std::optional<ConstantWeights>(ConstantWeights{w, std::move(zps)});
}

// ---- Convolution geometry (2-D; 1-D viewed as 1 × W) ----

struct ConvGeometry {
  int64_t batch, channels, maps, group;
  int64_t in_h, in_w, k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left, pad_bottom, pad_right, out_h, out_w;
  bool one_d;
};

Status Extent(const Node& node, const std::string& auto_pad, bool ceil_mode, int64_t in, int64_t k, int64_t stride,
              int64_t dilation, int64_t& pad_begin, int64_t& pad_end, int64_t& out) {
  if (k < 1 || stride < 1 || dilation < 1 || pad_begin < 0 || pad_end < 0 || k > (1 << 20) || stride > (1 << 20) ||
      dilation > (1 << 20) || pad_begin > (1 << 20) || pad_end > (1 << 20))
    return InvalidArgument(node.Describe() + ": kernel, stride, dilation or pad out of range");
  return WindowOutputSize(node, auto_pad, ceil_mode, in, k, stride, dilation, pad_begin, pad_end, out);
}

Result<ConvGeometry> PlanConv(const Node& node, const std::vector<int64_t>& xs, const std::vector<int64_t>& kernel,
                              int64_t maps, int64_t group) {
  if (xs.size() != 3 && xs.size() != 4)
    return Unimplemented(node.Describe() + ": only 1-D and 2-D spatial inputs are supported, got " + ShapeString(xs));
  size_t dims = xs.size() - 2;
  auto strides = node.Ints("strides"), dilations = node.Ints("dilations"), pads = node.Ints("pads");
  if (strides.empty()) strides.assign(dims, 1);
  if (dilations.empty()) dilations.assign(dims, 1);
  if (pads.empty()) pads.assign(2 * dims, 0);
  if (kernel.size() != dims || strides.size() != dims || dilations.size() != dims || pads.size() != 2 * dims)
    return InvalidArgument(node.Describe() + ": kernel_shape/strides/dilations/pads do not match the input rank");
  ConvGeometry g{};
  g.one_d = dims == 1;
  g.batch = xs[0];
  g.channels = xs[1];
  g.maps = maps;
  g.group = group;
  g.in_h = g.one_d ? 1 : xs[2];
  g.in_w = xs.back();
  g.k_h = g.one_d ? 1 : kernel[0];
  g.k_w = kernel.back();
  g.stride_h = g.one_d ? 1 : strides[0];
  g.stride_w = strides.back();
  g.dil_h = g.one_d ? 1 : dilations[0];
  g.dil_w = dilations.back();
  g.pad_top = g.one_d ? 0 : pads[0];
  g.pad_left = g.one_d ? pads[0] : pads[1];
  g.pad_bottom = g.one_d ? 0 : pads[2];
  g.pad_right = g.one_d ? pads[1] : pads[3];
  std::string auto_pad = node.Str("auto_pad", "NOTSET");
  bool ceil_mode = node.Int("ceil_mode", 0) != 0;
  RETURN_IF_ERROR(Extent(node, auto_pad, ceil_mode, g.in_h, g.k_h, g.stride_h, g.dil_h, g.pad_top, g.pad_bottom, g.out_h));
  RETURN_IF_ERROR(Extent(node, auto_pad, ceil_mode, g.in_w, g.k_w, g.stride_w, g.dil_w, g.pad_left, g.pad_right, g.out_w));
  return g;
}

std::vector<int64_t> ConvOutShape(const ConvGeometry& g) {
  if (g.one_d) return {g.batch, g.maps, g.out_w};
  return {g.batch, g.maps, g.out_h, g.out_w};
}

// Shared body of ConvInteger and QLinearConv: acc[n][map][pixel] exact, bias added.
// The output stage of QLinearConv / QLinearMatMul: multipliers (1 or one per output column),
// output zero point and range; the kernel allocates y once the output shape is known.
struct Requant {
  const std::vector<FixedMultiplier>* mult;
  int64_t zp, lo, hi;
  DType type;
  Tensor y;
};

// With rq: QLinearConv's codes into rq->y. Without: ConvInteger's int32 accumulators in acc.
Status IntConv(const Node& node, const Tensor& x, int64_t zx, const Tensor& w, const std::vector<int64_t>& zw,
               const Tensor* bias, const std::vector<IntWeights>* prepared, const KernelContext& ctx,
               ConvGeometry& geometry, std::vector<int32_t>& acc, Requant* rq) {
  if (x.rank() < 3 || w.rank() != x.rank())
    return InvalidArgument(node.Describe() + ": X " + ShapeString(x.shape()) + " and W " + ShapeString(w.shape()) +
                           " must both be N×C×spatial");
  int64_t group = node.Int("group", 1);
  int64_t channels = x.shape()[1], maps = w.shape()[0];
  if (group < 1 || channels % group != 0 || maps % group != 0 || w.shape()[1] != channels / group)
    return InvalidArgument(node.Describe() + ": X " + ShapeString(x.shape()) + ", W " + ShapeString(w.shape()) +
                           " and group " + std::to_string(group) + " are inconsistent");
  std::vector<int64_t> kernel = node.Ints("kernel_shape");
  if (kernel.empty()) kernel.assign(w.shape().begin() + 2, w.shape().end());
  for (size_t i = 0; i < kernel.size() && i + 2 < w.rank(); ++i)
    if (kernel[i] != w.shape()[i + 2]) return InvalidArgument(node.Describe() + ": kernel_shape does not match W");
  ASSIGN_OR_RETURN(ConvGeometry g, PlanConv(node, x.shape(), kernel, maps, group));
  if (zw.size() != 1 && static_cast<int64_t>(zw.size()) != maps)
    return InvalidArgument(node.Describe() + ": w_zero_point must have 1 or " + std::to_string(maps) + " entries");
  const std::pair<int64_t, int64_t> xlo_xhi_range = QuantRange(x.dtype());
  const int64_t xlo = xlo_xhi_range.first, xhi = xlo_xhi_range.second;
  if (zx < xlo || zx > xhi) return InvalidArgument(node.Describe() + ": x zero point out of range");
  if (bias) {
    if (bias->dtype() != DType::kInt32 || bias->rank() != 1 || bias->shape()[0] != maps)
      return InvalidArgument(node.Describe() + ": B must be int32 [" + std::to_string(maps) + "]");
  }
  int64_t cg = channels / group, mg = maps / group;
  int64_t taps = g.k_h * g.k_w;
  int64_t k_dim = cg * taps;
  int64_t pixels = g.out_h * g.out_w;
  // This group's weights, prepared at load or converted now (the same bytes either way).
  auto group_weights = [&](int64_t gi, IntWeights& computed) -> Result<const IntWeights*> {
    if (prepared) return &(*prepared)[gi];
    std::vector<int64_t> zw_group;
    for (int64_t m = 0; m < mg; ++m) zw_group.push_back(zw.size() == 1 ? zw[0] : zw[gi * mg + m]);
    ASSIGN_OR_RETURN(computed, PrepareWeights(node, w, static_cast<uint64_t>(gi * mg * k_dim), k_dim, mg, true,
                                              zw_group, taps));
    return &computed;
  };
  const int32_t* bias_data = bias ? bias->data<int32_t>() : nullptr;
  geometry = g;
  if (rq) {
    ASSIGN_OR_RETURN(rq->y, Tensor::Make(rq->type, ConvOutShape(g)));
  }
  if (group == 1 && pixels == 1 && g.in_h == 1 && g.in_w == 1 && g.k_h == 1 && g.k_w == 1 && g.pad_top == 0 &&
      g.pad_left == 0) {
    // A 1×1 conv on 1×1 images is a matrix product: x is already [batch, K] and the
    // output is [batch, maps] = [batch, maps, 1].
    IntWeights computed;
    ASSIGN_OR_RETURN(const IntWeights* wq, group_weights(0, computed));
    if (rq)
      return QuantizedProduct(node, x.bytes().data(), x.dtype(), g.batch, k_dim, zx, *wq, maps, bias_data, *rq->mult, 0,
                              rq->zp, rq->lo, rq->hi, rq->type == DType::kInt8, rq->y.mutable_bytes().data(),
                              ctx.threads);
    acc.resize(static_cast<size_t>(g.batch * maps));
    return IntMatMul(node, x, 0, g.batch, k_dim, zx, *wq, maps, bias_data, ctx.threads, acc);
  }
  // Channels-last copy of x, then im2col rows of every image (one GEMM per group with
  // M = batch · pixels) whose taps are contiguous runs of channels.
  const int64_t plane = g.in_h * g.in_w, rows = g.batch * pixels;
  static thread_local std::vector<uint8_t> nhwc_buffer, col_buffer, code_buffer;
  uint8_t* nhwc = Scratch(nhwc_buffer, g.batch * plane * channels);
  const uint8_t* px = x.bytes().data();
  TransposeMatrices(px, plane * channels, nhwc, plane * channels, g.batch, channels, plane, ctx.threads);
  uint8_t* col = Scratch(col_buffer, rows * k_dim);
  if (!rq) acc.resize(static_cast<size_t>(g.batch * maps * pixels));
  const uint8_t pad_byte = static_cast<uint8_t>(zx);  // padded taps hold the zero point: they add 0
  for (int64_t gi = 0; gi < group; ++gi) {
    IntWeights computed;
    ASSIGN_OR_RETURN(const IntWeights* wq, group_weights(gi, computed));
    ParallelFor(rows, ctx.threads, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        int64_t n = r / pixels, p = r % pixels;
        int64_t ih0 = (p / g.out_w) * g.stride_h - g.pad_top, iw0 = (p % g.out_w) * g.stride_w - g.pad_left;
        const uint8_t* image = nhwc + n * plane * channels + gi * cg;
        uint8_t* row = col + r * k_dim;
        bool inside_w = iw0 >= 0 && iw0 + (g.k_w - 1) * g.dil_w < g.in_w;
        for (int64_t kh = 0; kh < g.k_h; ++kh) {
          int64_t ih = ih0 + kh * g.dil_h;
          uint8_t* dst = row + kh * g.k_w * cg;
          if (ih < 0 || ih >= g.in_h) {
            std::memset(dst, pad_byte, static_cast<size_t>(g.k_w * cg));
            continue;
          }
          const uint8_t* src = image + ih * g.in_w * channels;
          if (inside_w && g.dil_w == 1 && cg == channels) {  // the whole kernel row is contiguous
            std::memcpy(dst, src + iw0 * channels, static_cast<size_t>(g.k_w * cg));
            continue;
          }
          for (int64_t kw = 0; kw < g.k_w; ++kw) {
            int64_t iw = iw0 + kw * g.dil_w;
            if (iw < 0 || iw >= g.in_w) std::memset(dst + kw * cg, pad_byte, static_cast<size_t>(cg));
            else std::memcpy(dst + kw * cg, src + iw * channels, static_cast<size_t>(cg));
          }
        }
      }
    }, MinRows(k_dim));
    const int32_t* pb = bias_data ? bias_data + gi * mg : nullptr;
    if (rq) {
      // Codes [batch·pixels, mg], then into the output planes y[n][gi·mg + m][p].
      uint8_t* codes = Scratch(code_buffer, rows * mg);
      RETURN_IF_ERROR(QuantizedProduct(node, col, x.dtype(), rows, k_dim, zx, *wq, mg, pb, *rq->mult, gi * mg, rq->zp,
                                       rq->lo, rq->hi, rq->type == DType::kInt8, codes, ctx.threads));
      TransposeMatrices(codes, pixels * mg, rq->y.mutable_bytes().data() + gi * mg * pixels, maps * pixels, g.batch,
                        pixels, mg, ctx.threads);
      continue;
    }
    ASSIGN_OR_RETURN(Tensor col_tensor, Tensor::Make(x.dtype(), {rows, k_dim}));
    std::memcpy(col_tensor.mutable_bytes().data(), col, static_cast<size_t>(rows * k_dim));
    std::vector<int32_t> part;
    RETURN_IF_ERROR(IntMatMul(node, col_tensor, 0, rows, k_dim, zx, *wq, mg, pb, ctx.threads, part));
    // [batch·pixels, mg] → acc[n][gi·mg + m][p]: one output plane per (image, map).
    ParallelFor(g.batch * mg, ctx.threads, [&](int64_t begin, int64_t end) {
      for (int64_t out_plane = begin; out_plane < end; ++out_plane) {
        int64_t n = out_plane / mg, m = out_plane % mg;
        int32_t* dst = acc.data() + (n * maps + gi * mg + m) * pixels;
        const int32_t* src = part.data() + n * pixels * mg + m;
        for (int64_t p = 0; p < pixels; ++p) dst[p] = src[p * mg];
      }
    }, MinRows(pixels));
  }
  return Status::Ok();
}

// MatMul batching: A [..., M, K] with B [K, N] (A's leading dims folded into M) or equal
// batch dims on both sides.
struct MatMulPlan {
  int64_t batches, m, k, n;
  bool b_batched;
  std::vector<int64_t> out_shape;
};

Result<MatMulPlan> PlanMatMul(const Node& node, const Tensor& a, const Tensor& b) {
  if (a.rank() < 2 || b.rank() < 2)
    return Unimplemented(node.Describe() + ": A and B must have rank ≥ 2, got " + ShapeString(a.shape()) + " and " +
                         ShapeString(b.shape()));
  MatMulPlan p{};
  p.k = a.shape().back();
  p.n = b.shape().back();
  if (b.shape()[b.rank() - 2] != p.k)
    return InvalidArgument(node.Describe() + ": shapes " + ShapeString(a.shape()) + " and " + ShapeString(b.shape()) +
                           " are not aligned for matrix multiplication");
  p.out_shape = a.shape();
  p.out_shape.back() = p.n;
  if (b.rank() == 2) {
    p.batches = 1;
    p.m = static_cast<int64_t>(Product(a.shape(), 0, a.rank() - 1));
    p.b_batched = false;
    return p;
  }
  if (a.rank() != b.rank() || !std::equal(a.shape().begin(), a.shape().end() - 2, b.shape().begin()))
    return Unimplemented(node.Describe() + ": batched operands must have equal batch dims, got " +
                         ShapeString(a.shape()) + " and " + ShapeString(b.shape()));
  p.batches = static_cast<int64_t>(Product(a.shape(), 0, a.rank() - 2));
  p.m = a.shape()[a.rank() - 2];
  p.b_batched = true;
  return p;
}

int64_t ScalarZeroPoint(const std::vector<int64_t>& zp) { return zp[0]; }

Status RequireScalarParam(const Node& node, const std::vector<int64_t>& zp, std::string_view what) {
  if (zp.size() != 1) return Unimplemented(node.Describe() + ": " + std::string(what) + " must be per-tensor");
  return Status::Ok();
}

}  // namespace

// ---- Load-time preparation of constant weights ----

namespace {

Result<std::shared_ptr<const Prepared>> PrepareIntConv(const Node& node, KernelInputs constants, size_t w_index,
                                                       size_t zp_index) {
  ASSIGN_OR_RETURN(std::optional<ConstantWeights> cw, ConstantWeightInputs(node, constants, w_index, zp_index));
  if (!cw || cw->w->rank() < 3) return std::shared_ptr<const Prepared>();
  const Tensor& w = *cw->w;
  int64_t group = node.Int("group", 1), maps = w.shape()[0];
  if (group < 1 || maps % group != 0) return std::shared_ptr<const Prepared>();  // the kernel reports it
  int64_t mg = maps / group;
  int64_t k_dim = static_cast<int64_t>(Product(w.shape(), 1, w.rank()));
  if (cw->zp.size() != 1 && static_cast<int64_t>(cw->zp.size()) != maps) return std::shared_ptr<const Prepared>();
  auto prepared = std::make_shared<PreparedIntWeights>();
  for (int64_t gi = 0; gi < group; ++gi) {
    std::vector<int64_t> zw_group;
    for (int64_t m = 0; m < mg; ++m) zw_group.push_back(cw->zp.size() == 1 ? cw->zp[0] : cw->zp[gi * mg + m]);
    ASSIGN_OR_RETURN(IntWeights wq, PrepareWeights(node, w, static_cast<uint64_t>(gi * mg * k_dim), k_dim, mg, true,
                                                   zw_group, static_cast<int64_t>(Product(w.shape(), 2, w.rank()))));
    prepared->groups.push_back(std::move(wq));
  }
  return std::shared_ptr<const Prepared>(std::move(prepared));
}

Result<std::shared_ptr<const Prepared>> PrepareIntMatMul(const Node& node, KernelInputs constants, size_t b_index,
                                                         size_t zp_index) {
  ASSIGN_OR_RETURN(std::optional<ConstantWeights> cw, ConstantWeightInputs(node, constants, b_index, zp_index));
  if (!cw || cw->w->rank() != 2) return std::shared_ptr<const Prepared>();
  const Tensor& b = *cw->w;
  auto prepared = std::make_shared<PreparedIntWeights>();
  ASSIGN_OR_RETURN(IntWeights wq, PrepareWeights(node, b, 0, b.shape()[0], b.shape()[1], false, cw->zp));
  prepared->groups.push_back(std::move(wq));
  return std::shared_ptr<const Prepared>(std::move(prepared));
}

}  // namespace

void SetIntegerSimdForTesting(bool enabled) { g_int_simd_level = enabled ? 2 : 0; }
void SetIntegerSimdLevelForTesting(int level) { g_int_simd_level = level; }

Result<std::shared_ptr<const Prepared>> PrepareQLinearConv(const Node& node, KernelInputs constants) {
  return PrepareIntConv(node, constants, 3, 5);
}
Result<std::shared_ptr<const Prepared>> PrepareConvInteger(const Node& node, KernelInputs constants) {
  return PrepareIntConv(node, constants, 1, 3);
}
Result<std::shared_ptr<const Prepared>> PrepareQLinearMatMul(const Node& node, KernelInputs constants) {
  return PrepareIntMatMul(node, constants, 3, 5);
}
Result<std::shared_ptr<const Prepared>> PrepareMatMulInteger(const Node& node, KernelInputs constants) {
  return PrepareIntMatMul(node, constants, 1, 3);
}

// ---- Quantize / Dequantize ----

namespace {

#if defined(__x86_64__)
// QuantizeLinear, per tensor, 32 values at a time: the same IEEE division and ties-to-even
// rounding as QuantizeOne; adding zp in float is exact below 2^24, and anything larger
// saturates either way. A NaN sets *nan (the caller refuses the input; its code is
// meaningless). Returns where the scalar tail starts.
LUCID_INT_AVX2 int64_t QuantizeAvx2(const float* x, int64_t count, float scale, int64_t zp, int64_t lo, int64_t hi,
                                    bool is_signed, uint8_t* y, bool* nan) {
  const __m256 s = _mm256_set1_ps(scale), z = _mm256_set1_ps(static_cast<float>(zp));
  const __m256 low = _mm256_set1_ps(static_cast<float>(lo)), high = _mm256_set1_ps(static_cast<float>(hi));
  __m256 unordered = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= count; i += 32) {
    __m256i q[4];
    for (int j = 0; j < 4; ++j) {
      __m256 v = _mm256_loadu_ps(x + i + 8 * j);
      unordered = _mm256_or_ps(unordered, _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
      __m256 r = _mm256_round_ps(_mm256_div_ps(v, s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      q[j] = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_add_ps(r, z), low), high));
    }
    // In range already, so the saturating packs only narrow; packs interleave 128-bit lanes.
    __m256i words0 = _mm256_packs_epi32(q[0], q[1]), words1 = _mm256_packs_epi32(q[2], q[3]);
    __m256i bytes = is_signed ? _mm256_packs_epi16(words0, words1) : _mm256_packus_epi16(words0, words1);
    bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(y + i), bytes);
  }
  if (_mm256_movemask_ps(unordered) != 0) *nan = true;
  return i;
}

// DequantizeLinear, per tensor: float32(q − zp) · scale, 8 at a time.
LUCID_INT_AVX2 int64_t DequantizeAvx2(const uint8_t* q, int64_t count, bool is_signed, int64_t zp, float scale,
                                      float* y) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256i z = _mm256_set1_epi32(static_cast<int32_t>(zp));
  int64_t i = 0;
  for (; i + 8 <= count; i += 8) {
    __m128i raw = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + i));
    __m256i v = is_signed ? _mm256_cvtepi8_epi32(raw) : _mm256_cvtepu8_epi32(raw);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(v, z)), s));
  }
  return i;
}
#endif

}  // namespace

Status ValidateQuantizeLinear(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "axis", Attr::Kind::kInt));
  RETURN_IF_ERROR(ExpectKind(n, "saturate", Attr::Kind::kInt));
  RETURN_IF_ERROR(ExpectKind(n, "block_size", Attr::Kind::kInt));
  if (n.Int("block_size", 0) != 0) return Unimplemented(n.Describe() + ": blocked quantization is not supported");
  return Status::Ok();
}

Status RunQuantizeLinear(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& x = *in[0];
  RETURN_IF_ERROR(NeedDType(node, x, "x", {DType::kFloat32}));
  ASSIGN_OR_RETURN(std::vector<float> scales, ReadScales(node, *in[1], "y_scale"));
  const Tensor* zp_tensor = in.size() > 2 ? in[2] : nullptr;
  ASSIGN_OR_RETURN(std::vector<int64_t> zps, ReadZeroPoints(node, zp_tensor, "y_zero_point"));
  DType out_type = zp_tensor ? zp_tensor->dtype() : DType::kUint8;
  if (!IsQuant(out_type)) return Unimplemented(node.Describe() + ": y_zero_point must be int8 or uint8");
  if (zp_tensor && zps.size() != scales.size())
    return InvalidArgument(node.Describe() + ": y_scale and y_zero_point differ in size");
  if (!zp_tensor) zps.assign(scales.size(), 0);
  ASSIGN_OR_RETURN(AxisPlan plan, PlanAxis(node, x, scales.size(), node.Int("axis", 1)));
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(out_type, x.shape()));
  const std::pair<int64_t, int64_t> lo_hi_range = QuantRange(out_type);
  const int64_t lo = lo_hi_range.first, hi = lo_hi_range.second;
  const float* px = x.data<float>();
  const bool is_signed = out_type == DType::kInt8;
  uint8_t* py = y.mutable_bytes().data();
  const bool simd = !plan.per_axis && IntSimd();
  std::atomic<bool> any_nan{false};  // checked in the same pass; NaN has no quantized value
  ParallelFor(static_cast<int64_t>(x.num_elements()), ctx.threads, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
    bool nan = false;
#if defined(__x86_64__)
    if (simd) i += QuantizeAvx2(px + begin, end - begin, scales[0], zps[0], lo, hi, is_signed, py + begin, &nan);
#endif
    for (; i < end; ++i) {
      size_t c = plan.per_axis ? static_cast<size_t>((i / plan.inner) % plan.dim) : 0;
      nan = nan || std::isnan(px[i]);
      StoreQuant(y, i, QuantizeOne(px[i], scales[c], zps[c], lo, hi));
    }
    if (nan) any_nan = true;
  }, MinRows(1));
  if (any_nan) return InvalidArgument(node.Describe() + ": input contains NaN, which has no quantized value");
  out[0] = std::move(y);
  return Status::Ok();
}

Status RunDequantizeLinear(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& x = *in[0];
  RETURN_IF_ERROR(NeedDType(node, x, "x", {DType::kInt8, DType::kUint8, DType::kInt32}));
  ASSIGN_OR_RETURN(std::vector<float> scales, ReadScales(node, *in[1], "x_scale"));
  const Tensor* zp_tensor = in.size() > 2 ? in[2] : nullptr;
  ASSIGN_OR_RETURN(std::vector<int64_t> zps, ReadZeroPoints(node, zp_tensor, "x_zero_point"));
  if (zp_tensor && zp_tensor->dtype() != x.dtype())
    return InvalidArgument(node.Describe() + ": x_zero_point dtype differs from x");
  if (zp_tensor && zps.size() != scales.size())
    return InvalidArgument(node.Describe() + ": x_scale and x_zero_point differ in size");
  if (!zp_tensor) zps.assign(scales.size(), 0);
  if (x.dtype() == DType::kInt32)
    for (int64_t z : zps)
      if (z != 0) return InvalidArgument(node.Describe() + ": int32 input requires a zero point of 0");
  ASSIGN_OR_RETURN(AxisPlan plan, PlanAxis(node, x, scales.size(), node.Int("axis", 1)));
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kFloat32, x.shape()));
  float* py = y.data<float>();
  const bool simd = !plan.per_axis && x.dtype() != DType::kInt32 && IntSimd();
  ParallelFor(static_cast<int64_t>(x.num_elements()), ctx.threads, [&](int64_t begin, int64_t end) {
    int64_t i = begin;
#if defined(__x86_64__)
    if (simd) i += DequantizeAvx2(x.bytes().data() + begin, end - begin, x.dtype() == DType::kInt8, zps[0], scales[0],
                                  py + begin);
#endif
    for (; i < end; ++i) {
      size_t c = plan.per_axis ? static_cast<size_t>((i / plan.inner) % plan.dim) : 0;
      // (x − zp) is exact in int64; one float32 conversion and one float32 product.
      py[i] = static_cast<float>(IntAt(x, i) - zps[c]) * scales[c];
    }
  }, MinRows(1));
  out[0] = std::move(y);
  return Status::Ok();
}

Status RunDynamicQuantizeLinear(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  RETURN_IF_ERROR(NeedDType(node, x, "x", {DType::kFloat32}));
  RETURN_IF_ERROR(CheckNoNan(node, x));
  const float* px = x.data<float>();
  float lo = 0.0f, hi = 0.0f;  // the range always includes 0
  for (uint64_t i = 0; i < x.num_elements(); ++i) {
    lo = std::min(lo, px[i]);
    hi = std::max(hi, px[i]);
  }
  if (!std::isfinite(lo) || !std::isfinite(hi))
    return InvalidArgument(node.Describe() + ": input contains an infinity");
  float scale = (hi - lo) / 255.0f;
  int64_t zp = 0;
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kUint8, x.shape()));
  if (scale > 0.0f) {  // all-zero input: scale 0, zero point 0, y all 0 (spec §3)
    zp = std::clamp<int64_t>(static_cast<int64_t>(std::nearbyint(0.0f - lo / scale)), 0, 255);
    for (uint64_t i = 0; i < x.num_elements(); ++i) y.data<uint8_t>()[i] = static_cast<uint8_t>(QuantizeOne(px[i], scale, zp, 0, 255));
  }
  out[0] = std::move(y);
  out[1] = Tensor::Scalar(scale);
  ASSIGN_OR_RETURN(Tensor zp_t, Tensor::Make(DType::kUint8, {}));
  zp_t.data<uint8_t>()[0] = static_cast<uint8_t>(zp);
  if (out.size() > 2) out[2] = std::move(zp_t);
  return Status::Ok();
}

// ---- MatMulInteger / QLinearMatMul ----

namespace {

// Runs every batch of A·B with zero points; acc laid out like the output.
// With rq: QLinearMatMul's codes into rq->y; without: int32 accumulators in acc.
Status MatMulIntegerCore(const Node& node, const Tensor& a, int64_t za, const Tensor& b, const std::vector<int64_t>& zb,
                         const int32_t* bias, const KernelContext& ctx, MatMulPlan& plan, std::vector<int32_t>& acc,
                         Requant* rq = nullptr) {
  const auto* prepared = dynamic_cast<const PreparedIntWeights*>(node.prepared.get());
  RETURN_IF_ERROR(NeedDType(node, a, "A", {DType::kInt8, DType::kUint8}));
  RETURN_IF_ERROR(NeedDType(node, b, "B", {DType::kInt8, DType::kUint8}));
  ASSIGN_OR_RETURN(plan, PlanMatMul(node, a, b));
  const std::pair<int64_t, int64_t> alo_ahi_range = QuantRange(a.dtype());
  const int64_t alo = alo_ahi_range.first, ahi = alo_ahi_range.second;
  if (za < alo || za > ahi) return InvalidArgument(node.Describe() + ": A zero point out of range");
  if (rq) {
    if (rq->mult->size() != 1 && static_cast<int64_t>(rq->mult->size()) != plan.n)
      return InvalidArgument(node.Describe() + ": b_scale must have 1 or " + std::to_string(plan.n) + " entries");
    ASSIGN_OR_RETURN(rq->y, Tensor::Make(rq->type, plan.out_shape));
  } else {
    acc.assign(static_cast<size_t>(plan.batches * plan.m * plan.n), 0);
  }
  std::vector<int32_t> part;
  IntWeights wq;
  for (int64_t batch = 0; batch < plan.batches; ++batch) {
    const IntWeights* use = &wq;
    if (prepared != nullptr && !plan.b_batched) {
      use = &prepared->groups[0];  // B is a 2-D initializer: prepared at load
    } else if (batch == 0 || plan.b_batched) {
      ASSIGN_OR_RETURN(wq, PrepareWeights(node, b, static_cast<uint64_t>(plan.b_batched ? batch * plan.k * plan.n : 0),
                                          plan.k, plan.n, false, zb));
    }
    if (rq) {
      RETURN_IF_ERROR(QuantizedProduct(node, a.bytes().data() + batch * plan.m * plan.k, a.dtype(), plan.m, plan.k, za,
                                       *use, plan.n, bias, *rq->mult, 0, rq->zp, rq->lo, rq->hi,
                                       rq->type == DType::kInt8,
                                       rq->y.mutable_bytes().data() + batch * plan.m * plan.n, ctx.threads));
      continue;
    }
    RETURN_IF_ERROR(IntMatMul(node, a, static_cast<uint64_t>(batch * plan.m * plan.k), plan.m, plan.k, za, *use, plan.n,
                              bias, ctx.threads, part));
    std::copy(part.begin(), part.end(), acc.begin() + batch * plan.m * plan.n);
  }
  return Status::Ok();
}

}  // namespace

Status RunMatMulInteger(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& a = *in[0];
  const Tensor& b = *in[1];
  ASSIGN_OR_RETURN(std::vector<int64_t> za, ReadZeroPoints(node, in.size() > 2 ? in[2] : nullptr, "a_zero_point"));
  ASSIGN_OR_RETURN(std::vector<int64_t> zb, ReadZeroPoints(node, in.size() > 3 ? in[3] : nullptr, "b_zero_point"));
  RETURN_IF_ERROR(RequireScalarParam(node, za, "a_zero_point"));
  MatMulPlan plan;
  std::vector<int32_t> acc;
  RETURN_IF_ERROR(MatMulIntegerCore(node, a, ScalarZeroPoint(za), b, zb, nullptr, ctx, plan, acc));
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kInt32, plan.out_shape));
  std::copy(acc.begin(), acc.end(), y.data<int32_t>());
  out[0] = std::move(y);
  return Status::Ok();
}

Status RunQLinearMatMul(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  // a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp
  const Tensor& a = *in[0];
  const Tensor& b = *in[3];
  ASSIGN_OR_RETURN(std::vector<float> sa, ReadScales(node, *in[1], "a_scale"));
  ASSIGN_OR_RETURN(std::vector<int64_t> za, ReadZeroPoints(node, in[2], "a_zero_point"));
  ASSIGN_OR_RETURN(std::vector<float> sb, ReadScales(node, *in[4], "b_scale"));
  ASSIGN_OR_RETURN(std::vector<int64_t> zb, ReadZeroPoints(node, in[5], "b_zero_point"));
  ASSIGN_OR_RETURN(std::vector<float> sy, ReadScales(node, *in[6], "y_scale"));
  ASSIGN_OR_RETURN(std::vector<int64_t> zy, ReadZeroPoints(node, in[7], "y_zero_point"));
  RETURN_IF_ERROR(RequireScalarParam(node, za, "a_zero_point"));
  RETURN_IF_ERROR(RequireScalarParam(node, zy, "y_zero_point"));
  if (sa.size() != 1 || sy.size() != 1) return Unimplemented(node.Describe() + ": a_scale and y_scale must be per-tensor");
  if (in[2]->dtype() != a.dtype() || in[5]->dtype() != b.dtype() || !IsQuant(in[7]->dtype()))
    return InvalidArgument(node.Describe() + ": zero point dtypes must match their tensors");
  std::vector<FixedMultiplier> mult;
  for (float s : sb) {
    ASSIGN_OR_RETURN(FixedMultiplier f, MakeMultiplier(node, sa[0], s, sy[0]));
    mult.push_back(f);
  }
  DType out_type = in[7]->dtype();
  const std::pair<int64_t, int64_t> lo_hi_range = QuantRange(out_type);
  const int64_t lo = lo_hi_range.first, hi = lo_hi_range.second;
  if (zy[0] < lo || zy[0] > hi) return InvalidArgument(node.Describe() + ": y zero point out of range");
  MatMulPlan plan;
  std::vector<int32_t> unused;
  Requant rq{&mult, zy[0], lo, hi, out_type, Tensor()};
  RETURN_IF_ERROR(MatMulIntegerCore(node, a, za[0], b, zb, nullptr, ctx, plan, unused, &rq));
  out[0] = std::move(rq.y);
  return Status::Ok();
}

// ---- ConvInteger / QLinearConv ----

Status RunConvInteger(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& x = *in[0];
  const Tensor& w = *in[1];
  RETURN_IF_ERROR(NeedDType(node, x, "x", {DType::kInt8, DType::kUint8}));
  RETURN_IF_ERROR(NeedDType(node, w, "w", {DType::kInt8, DType::kUint8}));
  ASSIGN_OR_RETURN(std::vector<int64_t> zx, ReadZeroPoints(node, in.size() > 2 ? in[2] : nullptr, "x_zero_point"));
  ASSIGN_OR_RETURN(std::vector<int64_t> zw, ReadZeroPoints(node, in.size() > 3 ? in[3] : nullptr, "w_zero_point"));
  RETURN_IF_ERROR(RequireScalarParam(node, zx, "x_zero_point"));
  ConvGeometry g{};
  std::vector<int32_t> acc;
  RETURN_IF_ERROR(IntConv(node, x, zx[0], w, zw, nullptr, PreparedGroups(node), ctx, g, acc, nullptr));
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kInt32, ConvOutShape(g)));
  std::copy(acc.begin(), acc.end(), y.data<int32_t>());
  out[0] = std::move(y);
  return Status::Ok();
}

Status RunQLinearConv(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  // x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B
  const Tensor& x = *in[0];
  const Tensor& w = *in[3];
  RETURN_IF_ERROR(NeedDType(node, x, "x", {DType::kInt8, DType::kUint8}));
  RETURN_IF_ERROR(NeedDType(node, w, "w", {DType::kInt8, DType::kUint8}));
  ASSIGN_OR_RETURN(std::vector<float> sx, ReadScales(node, *in[1], "x_scale"));
  ASSIGN_OR_RETURN(std::vector<int64_t> zx, ReadZeroPoints(node, in[2], "x_zero_point"));
  ASSIGN_OR_RETURN(std::vector<float> sw, ReadScales(node, *in[4], "w_scale"));
  ASSIGN_OR_RETURN(std::vector<int64_t> zw, ReadZeroPoints(node, in[5], "w_zero_point"));
  ASSIGN_OR_RETURN(std::vector<float> sy, ReadScales(node, *in[6], "y_scale"));
  ASSIGN_OR_RETURN(std::vector<int64_t> zy, ReadZeroPoints(node, in[7], "y_zero_point"));
  const Tensor* bias = in.size() > 8 ? in[8] : nullptr;
  RETURN_IF_ERROR(RequireScalarParam(node, zx, "x_zero_point"));
  RETURN_IF_ERROR(RequireScalarParam(node, zy, "y_zero_point"));
  if (sx.size() != 1 || sy.size() != 1) return Unimplemented(node.Describe() + ": x_scale and y_scale must be per-tensor");
  if (in[2]->dtype() != x.dtype() || in[5]->dtype() != w.dtype() || !IsQuant(in[7]->dtype()))
    return InvalidArgument(node.Describe() + ": zero point dtypes must match their tensors");
  int64_t maps = w.rank() > 0 ? w.shape()[0] : 0;
  if (sw.size() != 1 && static_cast<int64_t>(sw.size()) != maps)
    return InvalidArgument(node.Describe() + ": w_scale must have 1 or " + std::to_string(maps) + " entries");
  std::vector<FixedMultiplier> mult;
  for (float s : sw) {
    ASSIGN_OR_RETURN(FixedMultiplier f, MakeMultiplier(node, sx[0], s, sy[0]));
    mult.push_back(f);
  }
  DType out_type = in[7]->dtype();
  const std::pair<int64_t, int64_t> lo_hi_range = QuantRange(out_type);
  const int64_t lo = lo_hi_range.first, hi = lo_hi_range.second;
  if (zy[0] < lo || zy[0] > hi) return InvalidArgument(node.Describe() + ": y zero point out of range");
  ConvGeometry g{};
  std::vector<int32_t> unused;
  Requant rq{&mult, zy[0], lo, hi, out_type, Tensor()};
  RETURN_IF_ERROR(IntConv(node, x, zx[0], w, zw, bias, PreparedGroups(node), ctx, g, unused, &rq));
  out[0] = std::move(rq.y);
  return Status::Ok();
}

Status ValidateQLinearConv(Node& n) {
  for (const char* a : {"dilations", "kernel_shape", "pads", "strides"}) RETURN_IF_ERROR(ExpectKind(n, a, Attr::Kind::kInts));
  RETURN_IF_ERROR(ExpectKind(n, "group", Attr::Kind::kInt));
  RETURN_IF_ERROR(ExpectKind(n, "auto_pad", Attr::Kind::kString));
  return Status::Ok();
}

// ---- MaxPool on quantized tensors (max commutes with the monotonic dequantization) ----

namespace {

#if defined(__x86_64__)
// uint8 2×2/2 pooling of one output row, 8 outputs at a time: the byte maximum of the two
// input rows, then of each even/odd byte pair. Returns where the scalar tail starts.
LUCID_INT_AVX2 int64_t MaxPool2x2RowAvx2(const uint8_t* r0, const uint8_t* r1, int64_t out_w, uint8_t* out) {
  const __m128i low_bytes = _mm_set1_epi16(0x00FF);
  int64_t ow = 0;
  for (; ow + 8 <= out_w; ow += 8) {
    __m128i v = _mm_max_epu8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r0 + 2 * ow)),
                             _mm_loadu_si128(reinterpret_cast<const __m128i*>(r1 + 2 * ow)));
    __m128i m = _mm_max_epi16(_mm_and_si128(v, low_bytes), _mm_srli_epi16(v, 8));
    _mm_storel_epi64(reinterpret_cast<__m128i*>(out + ow), _mm_packus_epi16(m, m));
  }
  return ow;
}
#endif

}  // namespace

Status RunMaxPoolAnyType(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& x = *in[0];
  if (!IsQuant(x.dtype())) return RunMaxPool(node, in, out, ctx);
  if (x.rank() < 3) return InvalidArgument(node.Describe() + ": input must be N×C×spatial, got " + ShapeString(x.shape()));
  ASSIGN_OR_RETURN(ConvGeometry g, PlanConv(node, x.shape(), node.Ints("kernel_shape"), x.shape()[1], 1));
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(x.dtype(), ConvOutShape(g)));
  bool is_signed = x.dtype() == DType::kInt8;
  const bool simd = IntSimd();
  const uint8_t* px = x.bytes().data();
  uint8_t* py = y.mutable_bytes().data();
  ParallelFor(g.batch * g.channels, ctx.threads, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane) {
      const uint8_t* src = px + plane * g.in_h * g.in_w;
      uint8_t* dst = py + plane * g.out_h * g.out_w;
      if (!is_signed && g.k_h == 2 && g.k_w == 2 && g.stride_h == 2 && g.stride_w == 2 && g.dil_h == 1 &&
          g.dil_w == 1 && g.pad_top == 0 && g.pad_left == 0 && 2 * g.out_h <= g.in_h && 2 * g.out_w <= g.in_w) {
        // The usual 2×2/2 pool with every window inside: no bounds checks.
        for (int64_t oh = 0; oh < g.out_h; ++oh) {
          const uint8_t* r0 = src + 2 * oh * g.in_w;
          const uint8_t* r1 = r0 + g.in_w;
          uint8_t* out = dst + oh * g.out_w;
          int64_t ow = 0;
#if defined(__x86_64__)
          if (simd) ow = MaxPool2x2RowAvx2(r0, r1, g.out_w, out);
#endif
          for (; ow < g.out_w; ++ow)
            out[ow] = std::max(std::max(r0[2 * ow], r0[2 * ow + 1]), std::max(r1[2 * ow], r1[2 * ow + 1]));
        }
        continue;
      }
      for (int64_t oh = 0; oh < g.out_h; ++oh)
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          int best = -1000;  // every window holds at least one input element
          for (int64_t kh = 0; kh < g.k_h; ++kh) {
            int64_t ih = oh * g.stride_h - g.pad_top + kh * g.dil_h;
            if (ih < 0 || ih >= g.in_h) continue;
            for (int64_t kw = 0; kw < g.k_w; ++kw) {
              int64_t iw = ow * g.stride_w - g.pad_left + kw * g.dil_w;
              if (iw < 0 || iw >= g.in_w) continue;
              uint8_t raw = src[ih * g.in_w + iw];
              best = std::max(best, is_signed ? static_cast<int>(static_cast<int8_t>(raw)) : static_cast<int>(raw));
            }
          }
          if (best == -1000) best = is_signed ? -128 : 0;  // window entirely in padding
          dst[oh * g.out_w + ow] = static_cast<uint8_t>(best);
        }
    }
  }, MinRows(g.in_h * g.in_w));
  out[0] = std::move(y);
  return Status::Ok();
}

}  // namespace lucid::onnx::internal
