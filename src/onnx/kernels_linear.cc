// Gemm, MatMul, Conv, pooling and BatchNormalization.
//
// Canonical reduction order (docs/formats/onnx-semantics.md): every dot product starts at
// +0.0f and adds the float32 products a*b one at a time in increasing k (MatMul/Gemm) or
// in (input channel, kernel row, kernel column) order (Conv), each product and each sum
// rounded to float32 with no FMA. Padded positions are skipped, not added as zero.
// MatMul, Gemm and Conv run on gemm::GemmF32, which keeps exactly that order; Conv lays
// its windows out with im2col, where a padded position becomes 0·w. That adds ±0 to a sum
// that started at +0, which changes nothing when w is finite (the sum is never −0), so
// im2col is used only when every weight is finite and the direct loop otherwise.
// A NaN result is the canonical NaN (gemm::kCanonicalNaNBits).
// Threads split output blocks, rows or channels only, so a thread never changes any sum.
#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>

#include "base/cpu.h"
#include "onnx/op_internal.h"
#include "tensor/gemm.h"

namespace lucid::onnx::internal {
namespace {

constexpr int64_t kMaxSpatialAttr = 1 << 20;  // stride, dilation, pad, kernel upper bound

// Only functions carrying LUCID_AVX2 use AVX2 (intrinsics only, no library templates), and
// they run only when CpuHasAvx2(); each reproduces its scalar loop's operations per element.
#define LUCID_AVX2 __attribute__((target("avx2")))


Status RequireFloat(const Node& node, const Tensor& t, std::string_view what) {
  if (t.dtype() != DType::kFloat32)
    return Unimplemented(node.Describe() + ": " + std::string(what) + " has dtype " + std::string(DTypeName(t.dtype())) +
                         ", only float32 is supported");
  return Status::Ok();
}

float CanonicalNaN() { return std::bit_cast<float>(gemm::kCanonicalNaNBits); }
float Canonical(float v) { return v == v ? v : CanonicalNaN(); }

// Runs `jobs` independent GEMMs: spread over threads when there are enough of them,
// otherwise one after another with the threads inside each GEMM. Either way every output
// element is computed by the same sequence of operations.
void ForEachGemm(int64_t jobs, int threads, const std::function<void(int64_t, int)>& gemm) {
  if (jobs >= threads && jobs > 1) {
    ParallelFor(jobs, threads, [&](int64_t begin, int64_t end) {
      for (int64_t j = begin; j < end; ++j) gemm(j, 1);
    });
    return;
  }
  for (int64_t j = 0; j < jobs; ++j) gemm(j, threads);
}

std::vector<float> Transposed(const float* src, int64_t rows, int64_t cols) {
  std::vector<float> t(static_cast<size_t>(rows * cols));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) t[c * rows + r] = src[r * cols + c];
  return t;
}

Status CheckIntsRange(const Node& node, std::string_view attr, int64_t lo, int64_t hi) {
  RETURN_IF_ERROR(ExpectKind(node, attr, Attr::Kind::kInts));
  for (int64_t v : node.Ints(attr))
    if (v < lo || v > hi)
      return InvalidArgument(node.Describe() + ": attribute '" + std::string(attr) + "' value " + std::to_string(v) +
                             " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return Status::Ok();
}

// Spatial plan for Conv and pooling, always 2-D (1-D inputs get a leading unit dim).
struct Spatial {
  int64_t in_h, in_w, k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_top, pad_left, pad_bottom, pad_right, out_h, out_w;
};

Result<Spatial> PlanSpatial(const Node& node, const std::vector<int64_t>& x_shape, std::vector<int64_t> kernel,
                            bool ceil_mode) {
  size_t dims = x_shape.size() - 2;
  if (dims != 1 && dims != 2)
    return Unimplemented(node.Describe() + ": only 1-D and 2-D spatial inputs are supported, got rank " +
                         std::to_string(x_shape.size()));
  auto strides = node.Ints("strides"), dilations = node.Ints("dilations"), pads = node.Ints("pads");
  if (strides.empty()) strides.assign(dims, 1);
  if (dilations.empty()) dilations.assign(dims, 1);
  if (pads.empty()) pads.assign(2 * dims, 0);
  if (kernel.size() != dims || strides.size() != dims || dilations.size() != dims || pads.size() != 2 * dims)
    return InvalidArgument(node.Describe() + ": kernel_shape/strides/dilations/pads do not match " +
                           std::to_string(dims) + " spatial dims");
  if (dims == 1) {  // view as 1 × W
    kernel.insert(kernel.begin(), 1);
    strides.insert(strides.begin(), 1);
    dilations.insert(dilations.begin(), 1);
    pads = {0, pads[0], 0, pads[1]};
  }
  Spatial s{};
  s.in_h = dims == 1 ? 1 : x_shape[2];
  s.in_w = x_shape.back();
  s.k_h = kernel[0];
  s.k_w = kernel[1];
  s.stride_h = strides[0];
  s.stride_w = strides[1];
  s.dil_h = dilations[0];
  s.dil_w = dilations[1];
  s.pad_top = pads[0];
  s.pad_left = pads[1];
  s.pad_bottom = pads[2];
  s.pad_right = pads[3];
  std::string auto_pad = node.Str("auto_pad", "NOTSET");
  RETURN_IF_ERROR(WindowOutputSize(node, auto_pad, ceil_mode, s.in_h, s.k_h, s.stride_h, s.dil_h, s.pad_top, s.pad_bottom, s.out_h));
  RETURN_IF_ERROR(WindowOutputSize(node, auto_pad, ceil_mode, s.in_w, s.k_w, s.stride_w, s.dil_w, s.pad_left, s.pad_right, s.out_w));
  return s;
}

std::vector<int64_t> OutShape(const std::vector<int64_t>& x_shape, int64_t channels, const Spatial& s) {
  if (x_shape.size() == 3) return {x_shape[0], channels, s.out_w};
  return {x_shape[0], channels, s.out_h, s.out_w};
}

// Pooling window rules (docs/formats/onnx-semantics.md): window positions in row-major
// kernel order; max: acc = v > acc ? v : acc from −inf (so NaN never wins); average: a
// left-to-right float sum divided by the count of positions inside the input (inside
// input + pads with count_include_pad).

// One 2-D plane, any window. Windows fully inside the input skip the bounds checks.
template <bool kMax>
void PoolPlane2D(const Spatial& s, bool include_pad, const float* src, float* dst) {
  for (int64_t oh = 0; oh < s.out_h; ++oh) {
    int64_t ih0 = oh * s.stride_h - s.pad_top;
    bool rows_inside = ih0 >= 0 && ih0 + (s.k_h - 1) * s.dil_h < s.in_h;
    for (int64_t ow = 0; ow < s.out_w; ++ow) {
      float acc = kMax ? -std::numeric_limits<float>::infinity() : 0.0f;
      int64_t iw0 = ow * s.stride_w - s.pad_left;
      if (rows_inside && iw0 >= 0 && iw0 + (s.k_w - 1) * s.dil_w < s.in_w) {
        for (int64_t kh = 0; kh < s.k_h; ++kh) {
          const float* line = src + (ih0 + kh * s.dil_h) * s.in_w + iw0;
          for (int64_t kw = 0; kw < s.k_w; ++kw) {
            float v = line[kw * s.dil_w];
            acc = kMax ? (v > acc ? v : acc) : acc + v;
          }
        }
        dst[oh * s.out_w + ow] = kMax ? acc : acc / static_cast<float>(s.k_h * s.k_w);
        continue;
      }
      int64_t count = 0;
      for (int64_t kh = 0; kh < s.k_h; ++kh) {
        int64_t ih = ih0 + kh * s.dil_h;
        bool row_in = ih >= 0 && ih < s.in_h;
        bool row_in_pad = ih >= -s.pad_top && ih < s.in_h + s.pad_bottom;
        for (int64_t kw = 0; kw < s.k_w; ++kw) {
          int64_t iw = iw0 + kw * s.dil_w;
          if (!kMax && include_pad && row_in_pad && iw >= -s.pad_left && iw < s.in_w + s.pad_right) ++count;
          if (!row_in || iw < 0 || iw >= s.in_w) continue;
          float v = src[ih * s.in_w + iw];
          if (kMax) {
            acc = v > acc ? v : acc;
          } else {
            acc = acc + v;
            if (!include_pad) ++count;
          }
        }
      }
      dst[oh * s.out_w + ow] = kMax ? acc : acc / static_cast<float>(count);
    }
  }
}

// 2×2 max, stride 2, every window inside: 8 outputs per step. Lane i takes its four values
// in window order through max_ps(v, acc), which is exactly v > acc ? v : acc (the second
// operand is returned for NaN and equal values), so the bytes equal PoolPlane2D's.
LUCID_AVX2 void MaxPool2x2Avx2(const Spatial& s, const float* src, float* dst) {
  const __m256 neg_inf = _mm256_set1_ps(-std::numeric_limits<float>::infinity());
  for (int64_t oh = 0; oh < s.out_h; ++oh) {
    const float* r0 = src + 2 * oh * s.in_w;
    const float* r1 = r0 + s.in_w;
    float* out = dst + oh * s.out_w;
    int64_t ow = 0;
    for (; ow + 8 <= s.out_w; ow += 8) {
      __m256 a0 = _mm256_loadu_ps(r0 + 2 * ow), a1 = _mm256_loadu_ps(r0 + 2 * ow + 8);
      __m256 b0 = _mm256_loadu_ps(r1 + 2 * ow), b1 = _mm256_loadu_ps(r1 + 2 * ow + 8);
      // Even / odd columns; lanes hold outputs 0 1 4 5 | 2 3 6 7 until the final permute.
      __m256 acc = _mm256_max_ps(_mm256_shuffle_ps(a0, a1, _MM_SHUFFLE(2, 0, 2, 0)), neg_inf);
      acc = _mm256_max_ps(_mm256_shuffle_ps(a0, a1, _MM_SHUFFLE(3, 1, 3, 1)), acc);
      acc = _mm256_max_ps(_mm256_shuffle_ps(b0, b1, _MM_SHUFFLE(2, 0, 2, 0)), acc);
      acc = _mm256_max_ps(_mm256_shuffle_ps(b0, b1, _MM_SHUFFLE(3, 1, 3, 1)), acc);
      acc = _mm256_castpd_ps(_mm256_permute4x64_pd(_mm256_castps_pd(acc), _MM_SHUFFLE(3, 1, 2, 0)));
      _mm256_storeu_ps(out + ow, acc);
    }
    for (; ow < s.out_w; ++ow) {
      float acc = -std::numeric_limits<float>::infinity();
      for (const float* line : {r0, r1})
        for (int64_t kw = 0; kw < 2; ++kw) {
          float v = line[2 * ow + kw];
          acc = v > acc ? v : acc;
        }
      out[ow] = acc;
    }
  }
}

// One axis of an N-D pool.
struct PoolAxis {
  int64_t in, k, stride, dil, pad_begin, pad_end, out;
};

// Any number of spatial dims (3-D and up): the same rules, one window position at a time.
template <bool kMax>
void PoolPlaneND(const std::vector<PoolAxis>& axes, bool include_pad, const float* src, float* dst) {
  size_t dims = axes.size();
  std::vector<int64_t> in_stride(dims), out_index(dims, 0), k_index(dims, 0);
  int64_t out_count = 1, k_count = 1;
  for (size_t a = dims; a-- > 0;) {
    in_stride[a] = a + 1 == dims ? 1 : in_stride[a + 1] * axes[a + 1].in;
    out_count *= axes[a].out;
    k_count *= axes[a].k;
  }
  auto advance = [&](std::vector<int64_t>& index, auto extent) {
    for (size_t a = dims; a-- > 0;) {
      if (++index[a] < extent(axes[a])) return;
      index[a] = 0;
    }
  };
  for (int64_t o = 0; o < out_count; ++o) {
    float acc = kMax ? -std::numeric_limits<float>::infinity() : 0.0f;
    int64_t count = 0;
    std::fill(k_index.begin(), k_index.end(), 0);
    for (int64_t w = 0; w < k_count; ++w) {
      bool inside = true, inside_pad = true;
      int64_t offset = 0;
      for (size_t a = 0; a < dims; ++a) {
        const PoolAxis& ax = axes[a];
        int64_t i = out_index[a] * ax.stride - ax.pad_begin + k_index[a] * ax.dil;
        inside = inside && i >= 0 && i < ax.in;
        inside_pad = inside_pad && i >= -ax.pad_begin && i < ax.in + ax.pad_end;
        offset += i * in_stride[a];
      }
      if (!kMax && include_pad && inside_pad) ++count;
      if (inside) {
        float v = src[offset];
        if (kMax) {
          acc = v > acc ? v : acc;
        } else {
          acc = acc + v;
          if (!include_pad) ++count;
        }
      }
      advance(k_index, [](const PoolAxis& ax) { return ax.k; });
    }
    dst[o] = kMax ? acc : acc / static_cast<float>(count);
    advance(out_index, [](const PoolAxis& ax) { return ax.out; });
  }
}

Result<std::vector<PoolAxis>> PlanPoolAxes(const Node& node, const std::vector<int64_t>& x_shape) {
  size_t dims = x_shape.size() - 2;
  auto kernel = node.Ints("kernel_shape"), strides = node.Ints("strides"), dilations = node.Ints("dilations"),
       pads = node.Ints("pads");
  if (strides.empty()) strides.assign(dims, 1);
  if (dilations.empty()) dilations.assign(dims, 1);
  if (pads.empty()) pads.assign(2 * dims, 0);
  if (kernel.size() != dims || strides.size() != dims || dilations.size() != dims || pads.size() != 2 * dims)
    return InvalidArgument(node.Describe() + ": kernel_shape/strides/dilations/pads do not match " +
                           std::to_string(dims) + " spatial dims");
  std::string auto_pad = node.Str("auto_pad", "NOTSET");
  bool ceil_mode = node.Int("ceil_mode", 0) != 0;
  std::vector<PoolAxis> axes(dims);
  for (size_t a = 0; a < dims; ++a) {
    PoolAxis& ax = axes[a];
    ax = {x_shape[a + 2], kernel[a], strides[a], dilations[a], pads[a], pads[a + dims], 0};
    RETURN_IF_ERROR(WindowOutputSize(node, auto_pad, ceil_mode, ax.in, ax.k, ax.stride, ax.dil, ax.pad_begin,
                                     ax.pad_end, ax.out));
  }
  return axes;
}

template <bool kMax>
Status PoolImpl(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& x = *in[0];
  RETURN_IF_ERROR(RequireFloat(node, x, "input"));
  if (x.rank() < 3) return InvalidArgument(node.Describe() + ": input must be N×C×spatial, got " + ShapeString(x.shape()));
  bool include_pad = node.Int("count_include_pad", 0) != 0;
  int64_t planes = x.shape()[0] * x.shape()[1];
  const float* px = x.data<float>();
  if (x.rank() > 4) {
    ASSIGN_OR_RETURN(std::vector<PoolAxis> axes, PlanPoolAxes(node, x.shape()));
    std::vector<int64_t> shape = {x.shape()[0], x.shape()[1]};
    int64_t in_plane = 1, out_plane = 1, window = 1;
    for (const PoolAxis& ax : axes) {
      shape.push_back(ax.out);
      in_plane *= ax.in;
      out_plane *= ax.out;
      window *= ax.k;
    }
    ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kFloat32, shape));
    float* py = y.data<float>();
    ParallelFor(
        planes, ctx.threads,
        [&](int64_t begin, int64_t end) {
          for (int64_t p = begin; p < end; ++p) PoolPlaneND<kMax>(axes, include_pad, px + p * in_plane, py + p * out_plane);
        },
        std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, out_plane * window)));
    out[0] = std::move(y);
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(Spatial s, PlanSpatial(node, x.shape(), node.Ints("kernel_shape"), node.Int("ceil_mode", 0) != 0));
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kFloat32, OutShape(x.shape(), x.shape()[1], s)));
  float* py = y.data<float>();
  bool max2x2 = kMax && CpuHasAvx2() && s.k_h == 2 && s.k_w == 2 && s.stride_h == 2 && s.stride_w == 2 &&
                s.dil_h == 1 && s.dil_w == 1 && s.pad_top == 0 && s.pad_left == 0 && 2 * s.out_h <= s.in_h &&
                2 * s.out_w <= s.in_w;
  int64_t in_plane = s.in_h * s.in_w, out_plane = s.out_h * s.out_w;
  // Small pools finish before a thread would wake up.
  ParallelFor(
      planes, ctx.threads,
      [&](int64_t begin, int64_t end) {
        for (int64_t p = begin; p < end; ++p) {
          if (max2x2) MaxPool2x2Avx2(s, px + p * in_plane, py + p * out_plane);
          else PoolPlane2D<kMax>(s, include_pad, px + p * in_plane, py + p * out_plane);
        }
      },
      std::max<int64_t>(1, (int64_t{1} << 16) / std::max<int64_t>(1, out_plane * s.k_h * s.k_w)));
  out[0] = std::move(y);
  return Status::Ok();
}

struct ConvGeometry {
  Spatial s;
  int64_t batch, channels, maps, group;
  int64_t channels_per_group() const { return channels / group; }
  int64_t maps_per_group() const { return maps / group; }
  int64_t plane() const { return s.out_h * s.out_w; }
  int64_t depth() const { return channels_per_group() * s.k_h * s.k_w; }
};

// The canonical loop (no bias): sums over (channel, kernel row, kernel column), skipping
// padding. Used when a weight is inf or NaN, where 0·w would not be a no-op.
void ConvDirect(const ConvGeometry& geo, const float* px, const float* pw, float* py, int threads) {
  const Spatial& s = geo.s;
  int64_t cpg = geo.channels_per_group(), mpg = geo.maps_per_group();
  ParallelFor(geo.batch * geo.maps, threads, [&](int64_t begin, int64_t end) {
    for (int64_t job = begin; job < end; ++job) {
      int64_t n = job / geo.maps, m = job % geo.maps, g = m / mpg;
      const float* wm = pw + m * cpg * s.k_h * s.k_w;
      float* dst = py + job * s.out_h * s.out_w;
      for (int64_t oh = 0; oh < s.out_h; ++oh) {
        for (int64_t ow = 0; ow < s.out_w; ++ow) {
          float acc = 0.0f;
          for (int64_t c = 0; c < cpg; ++c) {
            const float* src = px + ((n * geo.channels) + g * cpg + c) * s.in_h * s.in_w;
            const float* wc = wm + c * s.k_h * s.k_w;
            for (int64_t kh = 0; kh < s.k_h; ++kh) {
              int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dil_h;
              if (ih < 0 || ih >= s.in_h) continue;
              for (int64_t kw = 0; kw < s.k_w; ++kw) {
                int64_t iw = ow * s.stride_w - s.pad_left + kw * s.dil_w;
                if (iw < 0 || iw >= s.in_w) continue;
                acc = acc + src[ih * s.in_w + iw] * wc[kh * s.k_w + kw];
              }
            }
          }
          dst[oh * s.out_w + ow] = acc;
        }
      }
    }
  });
}

// One im2col row piece: out[ow] = x[c][ih][ow·stride_w + kw·dil_w − pad_left] for the output
// row oh, 0 in the padding.
void Im2colLine(const Spatial& s, const float* src, int64_t oh, int64_t kh, int64_t kw, float* out) {
  int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dil_h;
  if (ih < 0 || ih >= s.in_h) {
    std::fill(out, out + s.out_w, 0.0f);
    return;
  }
  // Outputs [lo, hi) read inside the row; the rest are padding.
  int64_t first_iw = kw * s.dil_w - s.pad_left;
  int64_t lo = first_iw >= 0 ? 0 : (-first_iw + s.stride_w - 1) / s.stride_w;
  int64_t hi = s.in_w - first_iw <= 0 ? 0 : (s.in_w - first_iw + s.stride_w - 1) / s.stride_w;
  lo = std::min(lo, s.out_w);
  hi = std::clamp(hi, lo, s.out_w);
  std::fill(out, out + lo, 0.0f);
  const float* line = src + ih * s.in_w;
  if (s.stride_w == 1) {
    std::copy(line + lo + first_iw, line + hi + first_iw, out + lo);
  } else {
    for (int64_t ow = lo; ow < hi; ++ow) out[ow] = line[ow * s.stride_w + first_iw];
  }
  std::fill(out + hi, out + s.out_w, 0.0f);
}

// The im2col matrix col[(c·k_h + kh)·k_w + kw][oh·out_w + ow] = x[c][ih][iw] (0 in the
// padding), written straight into gemm::PackF32B's layout so that the GEMM needs no packing
// of its own: element (p, j) at packed[((j / 16)·depth + p)·16 + j % 16], the last strip
// zero-padded. Row order is the canonical (channel, kernel row, kernel column) order, so
// W·col sums in that order. `line` holds out_w floats of scratch.
void Im2colStrips(const Spatial& s, int64_t channels, const float* x, float* packed, float* line) {
  int64_t plane = s.out_h * s.out_w, depth = channels * s.k_h * s.k_w;
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t kh = 0; kh < s.k_h; ++kh)
      for (int64_t kw = 0; kw < s.k_w; ++kw) {
        int64_t p = (c * s.k_h + kh) * s.k_w + kw;
        const float* src = x + c * s.in_h * s.in_w;
        for (int64_t oh = 0; oh < s.out_h; ++oh) {
          Im2colLine(s, src, oh, kh, kw, line);
          // Scatter the row over the strips it crosses.
          for (int64_t ow = 0; ow < s.out_w;) {
            int64_t j = oh * s.out_w + ow, lane = j % 16, len = std::min(s.out_w - ow, 16 - lane);
            float* dst = packed + ((j / 16) * depth + p) * 16 + lane;
            if (len == 16) std::memcpy(dst, line + ow, 16 * sizeof(float));  // a fixed size: inlined
            else std::copy(line + ow, line + ow + len, dst);
            ow += len;
          }
        }
        if (int64_t used = plane % 16; used != 0)
          std::fill_n(packed + ((plane / 16) * depth + p) * 16 + used, 16 - used, 0.0f);
      }
}

// Im2colStrips for stride_w = 1, one 16-lane strip row at a time: the lanes of each output
// row the strip covers come from one masked load (lanes in the padding, in other rows or
// past the plane read nothing and give +0.0f, as the scalar version writes), merged with a
// bitwise OR and stored whole (AMD's masked stores are slow). Pure data movement, so the
// bytes are the same.
LUCID_AVX2 void Im2colStripsAvx2(const Spatial& s, int64_t channels, const float* x, float* packed) {
  int64_t plane = s.out_h * s.out_w, depth = channels * s.k_h * s.k_w, strips = (plane + 15) / 16;
  const __m256i iota_lo = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i iota_hi = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
  const __m256i minus_one = _mm256_set1_epi32(-1);
  // Lanes t with lo ≤ t < hi and 0 ≤ base + t < limit.
  auto lanes = [&](__m256i iota, int64_t lo, int64_t hi, int64_t base, int64_t limit) LUCID_AVX2 {
    __m256i t_ok = _mm256_and_si256(_mm256_cmpgt_epi32(iota, _mm256_set1_epi32(static_cast<int>(lo - 1))),
                                    _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(hi)), iota));
    __m256i idx = _mm256_add_epi32(iota, _mm256_set1_epi32(static_cast<int>(base)));
    __m256i i_ok = _mm256_and_si256(_mm256_cmpgt_epi32(idx, minus_one),
                                    _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(limit)), idx));
    return _mm256_and_si256(t_ok, i_ok);
  };
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t kh = 0; kh < s.k_h; ++kh)
      for (int64_t kw = 0; kw < s.k_w; ++kw) {
        int64_t p = (c * s.k_h + kh) * s.k_w + kw;
        int64_t first_iw = kw * s.dil_w - s.pad_left;
        const float* channel = x + c * s.in_h * s.in_w;
        int64_t oh0 = 0, ow0 = 0;  // output position of the strip's lane 0
        for (int64_t strip = 0; strip < strips; ++strip) {
          float* dst = packed + (strip * depth + p) * 16;
          int64_t ih0 = oh0 * s.stride_h - s.pad_top + kh * s.dil_h, iw0 = ow0 + first_iw;
          if (ow0 + 16 <= s.out_w && ih0 >= 0 && ih0 < s.in_h && iw0 >= 0 && iw0 + 16 <= s.in_w) {
            // The common case: 16 outputs of one row, all reading inside the input.
            const float* src = channel + ih0 * s.in_w + iw0;
            _mm256_storeu_ps(dst, _mm256_loadu_ps(src));
            _mm256_storeu_ps(dst + 8, _mm256_loadu_ps(src + 8));
          } else {
            __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps();
            int64_t t = 0, oh = oh0, ow = ow0, lanes_left = std::min<int64_t>(16, plane - strip * 16);
            while (t < lanes_left) {
              int64_t run = std::min(s.out_w - ow, lanes_left - t);
              int64_t ih = oh * s.stride_h - s.pad_top + kh * s.dil_h;
              if (ih >= 0 && ih < s.in_h) {
                // Lane u (t ≤ u < t + run) reads input column base + u of row ih.
                int64_t base = ow - t + first_iw;
                // Address arithmetic as integers: lanes outside the row are masked off.
                auto src = reinterpret_cast<const float*>(reinterpret_cast<uintptr_t>(channel + ih * s.in_w) +
                                                          static_cast<uintptr_t>(base * 4));
                lo = _mm256_or_ps(lo, _mm256_maskload_ps(src, lanes(iota_lo, t, t + run, base, s.in_w)));
                hi = _mm256_or_ps(hi, _mm256_maskload_ps(src + 8, lanes(iota_hi, t, t + run, base, s.in_w)));
              }
              t += run;
              ++oh;
              ow = 0;
            }
            _mm256_storeu_ps(dst, lo);
            _mm256_storeu_ps(dst + 8, hi);
          }
          for (ow0 += 16; ow0 >= s.out_w && s.out_w > 0;) {
            ow0 -= s.out_w;
            ++oh0;
          }
        }
      }
}

// dst[i] = Canonical(dst[i] + *bias) (or Canonical(dst[i]) without bias) over n floats.
LUCID_AVX2 void BiasCanonicalAvx2(float* dst, int64_t n, const float* bias) {
  const __m256 canonical = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(gemm::kCanonicalNaNBits)));
  const __m256 b = _mm256_set1_ps(bias ? *bias : 0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(dst + i);
    if (bias) v = _mm256_add_ps(v, b);
    _mm256_storeu_ps(dst + i, _mm256_blendv_ps(v, canonical, _mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
  }
  for (; i < n; ++i) {
    float v = bias ? dst[i] + *bias : dst[i];
    dst[i] = v == v ? v : std::bit_cast<float>(gemm::kCanonicalNaNBits);
  }
}

// dst[i] = Canonical(dst[i] + row[i]) (or Canonical(dst[i]) without row) over n floats.
LUCID_AVX2 void AddRowCanonicalAvx2(float* dst, int64_t n, const float* row) {
  const __m256 canonical = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(gemm::kCanonicalNaNBits)));
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(dst + i);
    if (row) v = _mm256_add_ps(v, _mm256_loadu_ps(row + i));
    _mm256_storeu_ps(dst + i, _mm256_blendv_ps(v, canonical, _mm256_cmp_ps(v, v, _CMP_UNORD_Q)));
  }
  for (; i < n; ++i) {
    float v = row ? dst[i] + row[i] : dst[i];
    dst[i] = v == v ? v : std::bit_cast<float>(gemm::kCanonicalNaNBits);
  }
}

void AddRowCanonical(float* dst, int64_t n, const float* row) {
  if (CpuHasAvx2()) return AddRowCanonicalAvx2(dst, n, row);
  for (int64_t i = 0; i < n; ++i) dst[i] = Canonical(row ? dst[i] + row[i] : dst[i]);
}

void BiasCanonical(float* dst, int64_t n, const float* bias) {
  if (CpuHasAvx2()) return BiasCanonicalAvx2(dst, n, bias);
  for (int64_t i = 0; i < n; ++i) dst[i] = Canonical(bias ? dst[i] + *bias : dst[i]);
}

// y[n, g·mpg + m, :] = W_g[m, :] · col(x[n, g]) + bias[g·mpg + m] for every (batch,
// group), canonical NaN; the bias pass runs right after each GEMM, while its rows are hot.
void ConvIm2col(const ConvGeometry& geo, const float* px, const float* pw, const float* pb, float* py, int threads) {
  const Spatial& s = geo.s;
  int64_t cpg = geo.channels_per_group(), mpg = geo.maps_per_group(), plane = geo.plane(), depth = geo.depth();
  // A 1×1, stride-1, unpadded kernel reads x as it is laid out: no copy needed.
  bool pointwise = s.k_h == 1 && s.k_w == 1 && s.stride_h == 1 && s.stride_w == 1 && s.pad_top == 0 &&
                   s.pad_left == 0 && s.out_h == s.in_h && s.out_w == s.in_w;
  int64_t jobs = geo.batch * geo.group;
  // Jobs on separate threads when there are enough, else one by one with threaded GEMMs;
  // each thread reuses its own im2col buffer across chunks and runs (a fresh multi-MB
  // allocation per run cost its page faults every time; Im2colStrips writes all of it).
  bool split_jobs = jobs >= threads && jobs > 1;
  ParallelFor(jobs, split_jobs ? threads : 1, [&](int64_t begin, int64_t end) {
    static thread_local std::vector<float> col_buffer, line_buffer;
    float* col = nullptr;
    float* line = nullptr;
    if (!pointwise) {
      const size_t col_size = static_cast<size_t>(gemm::PackedF32Size(depth, plane));
      if (col_buffer.size() < col_size) col_buffer.resize(col_size);
      if (line_buffer.size() < static_cast<size_t>(s.out_w)) line_buffer.resize(static_cast<size_t>(s.out_w));
      col = col_buffer.data();
      line = line_buffer.data();
    }
    for (int64_t job = begin; job < end; ++job) {
      int64_t n = job / geo.group, g = job % geo.group;
      const float* x = px + (n * geo.channels + g * cpg) * s.in_h * s.in_w;
      const float* w = pw + g * mpg * depth;
      float* y = py + (n * geo.maps + g * mpg) * plane;
      int gemm_threads = split_jobs ? 1 : threads;
      if (pointwise) {
        gemm::GemmF32(mpg, plane, depth, w, depth, x, plane, y, plane, gemm_threads);
      } else {
        if (s.stride_w == 1 && CpuHasAvx2()) Im2colStripsAvx2(s, cpg, x, col);
        else Im2colStrips(s, cpg, x, col, line);
        gemm::GemmF32PackedB(mpg, plane, depth, w, depth, col, y, plane, gemm_threads);
      }
      for (int64_t m = 0; m < mpg; ++m) BiasCanonical(y + m * plane, plane, pb ? pb + g * mpg + m : nullptr);
    }
  });
}

}  // namespace

Status WindowOutputSize(const Node& node, const std::string& auto_pad, bool ceil_mode, int64_t in, int64_t k, int64_t stride,
                  int64_t dilation, int64_t& pad_begin, int64_t& pad_end, int64_t& out) {
  int64_t eff_k = (k - 1) * dilation + 1;
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    out = (in + stride - 1) / stride;
    int64_t total = std::max<int64_t>(0, (out - 1) * stride + eff_k - in);
    pad_begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    pad_end = total - pad_begin;
    return Status::Ok();
  }
  if (auto_pad == "VALID") pad_begin = pad_end = 0;
  else if (auto_pad != "NOTSET") return InvalidArgument(node.Describe() + ": unknown auto_pad '" + auto_pad + "'");
  int64_t span = in + pad_begin + pad_end - eff_k;
  if (span < 0)
    return InvalidArgument(node.Describe() + ": kernel extent " + std::to_string(eff_k) +
                           " is larger than the padded input " + std::to_string(in + pad_begin + pad_end));
  out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  // A window may not start in the end padding (ceil_mode only).
  if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;
  return Status::Ok();
}

Status ValidateGemm(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "alpha", Attr::Kind::kFloat));
  RETURN_IF_ERROR(ExpectKind(n, "beta", Attr::Kind::kFloat));
  RETURN_IF_ERROR(ExpectKind(n, "transA", Attr::Kind::kInt));
  RETURN_IF_ERROR(ExpectKind(n, "transB", Attr::Kind::kInt));
  for (const char* a : {"transA", "transB"})
    if (n.Int(a, 0) != 0 && n.Int(a, 0) != 1) return InvalidArgument(n.Describe() + ": " + a + " must be 0 or 1");
  if (n.opset < 11 && n.inputs.size() < 3) return InvalidArgument(n.Describe() + ": C is required before opset 11");
  return Status::Ok();
}

namespace {
// A constant B (Gemm's or MatMul's weights) packed once for gemm::GemmF32PackedB, as [K, N].
struct PreparedB final : Prepared {
  std::vector<float> packed;
  int64_t k = 0, n = 0;
};

std::shared_ptr<const Prepared> PackConstantB(const float* b, int64_t k, int64_t n, bool transposed) {
  auto prepared = std::make_shared<PreparedB>();
  prepared->k = k;
  prepared->n = n;
  std::vector<float> b_t;
  if (transposed) b = (b_t = Transposed(b, n, k)).data();
  prepared->packed.resize(static_cast<size_t>(gemm::PackedF32Size(k, n)));
  gemm::PackF32B(k, n, b, n, prepared->packed.data());
  return prepared;
}

// The prepared B when it matches the run's B (it always does: the initializer is fixed).
const PreparedB* PreparedFor(const Node& node, int64_t k, int64_t n) {
  const auto* prepared = dynamic_cast<const PreparedB*>(node.prepared.get());
  return prepared && prepared->k == k && prepared->n == n ? prepared : nullptr;
}
}  // namespace

Result<std::shared_ptr<const Prepared>> PrepareGemm(const Node& node, KernelInputs constants) {
  const Tensor* b = constants.size() > 1 ? constants[1] : nullptr;
  if (b == nullptr || b->dtype() != DType::kFloat32 || b->rank() != 2) return std::shared_ptr<const Prepared>();
  bool trans_b = node.Int("transB", 0) != 0;
  return PackConstantB(b->data<float>(), b->shape()[trans_b ? 1 : 0], b->shape()[trans_b ? 0 : 1], trans_b);
}

Result<std::shared_ptr<const Prepared>> PrepareMatMul(const Node&, KernelInputs constants) {
  const Tensor* b = constants.size() > 1 ? constants[1] : nullptr;
  if (b == nullptr || b->dtype() != DType::kFloat32 || b->rank() != 2) return std::shared_ptr<const Prepared>();
  return PackConstantB(b->data<float>(), b->shape()[0], b->shape()[1], false);
}

Status RunGemm(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& a = *in[0];
  const Tensor& b = *in[1];
  const Tensor* c = in.size() > 2 ? in[2] : nullptr;
  RETURN_IF_ERROR(RequireFloat(node, a, "A"));
  RETURN_IF_ERROR(RequireFloat(node, b, "B"));
  if (c) RETURN_IF_ERROR(RequireFloat(node, *c, "C"));
  if (a.rank() != 2 || b.rank() != 2)
    return InvalidArgument(node.Describe() + ": A and B must be 2-D, got " + ShapeString(a.shape()) + " and " +
                           ShapeString(b.shape()));
  bool trans_a = node.Int("transA", 0) != 0, trans_b = node.Int("transB", 0) != 0;
  int64_t m_dim = trans_a ? a.shape()[1] : a.shape()[0];
  int64_t k_dim = trans_a ? a.shape()[0] : a.shape()[1];
  int64_t k_b = trans_b ? b.shape()[1] : b.shape()[0];
  int64_t n_dim = trans_b ? b.shape()[0] : b.shape()[1];
  if (k_dim != k_b)
    return InvalidArgument(node.Describe() + ": inner dimensions differ (" + std::to_string(k_dim) + " vs " +
                           std::to_string(k_b) + ")");
  int64_t c_rows = 1, c_cols = 1;
  if (c) {
    if (c->rank() > 2) return InvalidArgument(node.Describe() + ": C must have rank ≤ 2");
    if (c->rank() == 2) c_rows = c->shape()[0];
    if (c->rank() >= 1) c_cols = c->shape().back();
    if ((c_rows != 1 && c_rows != m_dim) || (c_cols != 1 && c_cols != n_dim))
      return InvalidArgument(node.Describe() + ": C " + ShapeString(c->shape()) + " does not broadcast to [" +
                             std::to_string(m_dim) + "," + std::to_string(n_dim) + "]");
  }
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kFloat32, {m_dim, n_dim}));
  std::vector<float> a_copy, b_copy;
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  if (trans_a) pa = (a_copy = Transposed(pa, k_dim, m_dim)).data();
  float alpha = node.Float("alpha", 1.0f), beta = node.Float("beta", 1.0f);
  float* py = y.data<float>();
  const float* pc = c ? c->data<float>() : nullptr;
  if (const PreparedB* prepared = PreparedFor(node, k_dim, n_dim)) {
    gemm::GemmF32PackedB(m_dim, n_dim, k_dim, pa, k_dim, prepared->packed.data(), py, n_dim, ctx.threads);
  } else {
    if (trans_b) pb = (b_copy = Transposed(pb, n_dim, k_dim)).data();
    gemm::GemmF32(m_dim, n_dim, k_dim, pa, k_dim, pb, n_dim, py, n_dim, ctx.threads);
  }
  if (alpha == 1.0f && (!pc || (beta == 1.0f && c_rows == 1 && c_cols == n_dim))) {
    // 1·acc and 1·c are exact, so this is the general formula below without the products.
    for (int64_t m = 0; m < m_dim; ++m) AddRowCanonical(py + m * n_dim, n_dim, pc);
    out[0] = std::move(y);
    return Status::Ok();
  }
  // y = alpha * acc + beta * c, each product rounded, then the sum.
  for (int64_t m = 0; m < m_dim; ++m)
    for (int64_t n = 0; n < n_dim; ++n) {
      float v = alpha * py[m * n_dim + n];
      if (pc && beta != 0.0f) v = v + beta * pc[(c_rows == 1 ? 0 : m) * c_cols + (c_cols == 1 ? 0 : n)];
      py[m * n_dim + n] = Canonical(v);
    }
  out[0] = std::move(y);
  return Status::Ok();
}

Status RunMatMul(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& a = *in[0];
  const Tensor& b = *in[1];
  RETURN_IF_ERROR(RequireFloat(node, a, "A"));
  RETURN_IF_ERROR(RequireFloat(node, b, "B"));
  if (a.rank() == 0 || b.rank() == 0) return InvalidArgument(node.Describe() + ": inputs must have rank ≥ 1");
  std::vector<int64_t> as = a.shape(), bs = b.shape();
  bool a_vec = as.size() == 1, b_vec = bs.size() == 1;
  if (a_vec) as.insert(as.begin(), 1);
  if (b_vec) bs.push_back(1);
  int64_t m_dim = as[as.size() - 2], k_dim = as.back(), n_dim = bs.back();
  if (bs[bs.size() - 2] != k_dim)
    return InvalidArgument(node.Describe() + ": shapes " + ShapeString(a.shape()) + " and " + ShapeString(b.shape()) +
                           " are not aligned for matrix multiplication");
  std::vector<int64_t> batch_a(as.begin(), as.end() - 2), batch_b(bs.begin(), bs.end() - 2);
  auto batch = BroadcastShapes(batch_a, batch_b);
  if (!batch.ok()) return batch.status().WithContext(node.Describe());
  std::vector<int64_t> out_shape = *batch;
  if (!a_vec) out_shape.push_back(m_dim);
  if (!b_vec) out_shape.push_back(n_dim);
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kFloat32, out_shape));
  // Offsets of each broadcast batch's A and B matrices.
  uint64_t batches = Product(*batch, 0, batch->size());
  std::vector<int64_t> a_off(batches), b_off(batches);
  {
    size_t rank = batch->size();
    std::vector<int64_t> index(rank, 0);
    for (uint64_t bi = 0; bi < batches; ++bi) {
      int64_t oa = 0, ob = 0, stride_a = m_dim * k_dim, stride_b = k_dim * n_dim;
      for (size_t d = rank; d-- > 0;) {
        size_t da = d + batch_a.size() - rank, db = d + batch_b.size() - rank;
        if (d >= rank - batch_a.size()) {
          if (batch_a[da] != 1) oa += index[d] * stride_a;
          stride_a *= batch_a[da];
        }
        if (d >= rank - batch_b.size()) {
          if (batch_b[db] != 1) ob += index[d] * stride_b;
          stride_b *= batch_b[db];
        }
      }
      a_off[bi] = oa;
      b_off[bi] = ob;
      for (size_t d = rank; d-- > 0;) {
        if (++index[d] < (*batch)[d]) break;
        index[d] = 0;
      }
    }
  }
  const float* pa = a.data<float>();
  const float* pb = b.data<float>();
  float* py = y.data<float>();
  if (Product(batch_b, 0, batch_b.size()) == 1 && Product(batch_a, 0, batch_a.size()) == batches) {
    // One B for every batch and A's batches back to back: the batches are the rows of one
    // (batches·m)×k matrix, and each output element is still the same single dot product.
    int64_t rows = static_cast<int64_t>(batches) * m_dim;
    if (const PreparedB* prepared = b.rank() == 2 ? PreparedFor(node, k_dim, n_dim) : nullptr)
      gemm::GemmF32PackedB(rows, n_dim, k_dim, pa, k_dim, prepared->packed.data(), py, n_dim, ctx.threads);
    else
      gemm::GemmF32(rows, n_dim, k_dim, pa, k_dim, pb, n_dim, py, n_dim, ctx.threads);
    out[0] = std::move(y);
    return Status::Ok();
  }
  ForEachGemm(static_cast<int64_t>(batches), ctx.threads, [&](int64_t bi, int threads) {
    gemm::GemmF32(m_dim, n_dim, k_dim, pa + a_off[bi], k_dim, pb + b_off[bi], n_dim, py + bi * m_dim * n_dim, n_dim,
                  threads);
  });
  out[0] = std::move(y);
  return Status::Ok();
}

Status ValidateConv(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "auto_pad", Attr::Kind::kString));
  std::string auto_pad = n.Str("auto_pad", "NOTSET");
  if (auto_pad != "NOTSET" && auto_pad != "SAME_UPPER" && auto_pad != "SAME_LOWER" && auto_pad != "VALID")
    return InvalidArgument(n.Describe() + ": unknown auto_pad \"" + auto_pad + "\"");
  RETURN_IF_ERROR(CheckIntsRange(n, "dilations", 1, kMaxSpatialAttr));
  RETURN_IF_ERROR(CheckIntsRange(n, "strides", 1, kMaxSpatialAttr));
  RETURN_IF_ERROR(CheckIntsRange(n, "kernel_shape", 1, kMaxSpatialAttr));
  RETURN_IF_ERROR(CheckIntsRange(n, "pads", 0, kMaxSpatialAttr));
  if (n.Ints("pads").size() % 2 != 0) return InvalidArgument(n.Describe() + ": pads must have an even count");
  RETURN_IF_ERROR(ExpectKind(n, "group", Attr::Kind::kInt));
  if (n.Int("group", 1) < 1) return InvalidArgument(n.Describe() + ": group must be ≥ 1");
  return Status::Ok();
}

Status ValidatePool(Node& n) {
  RETURN_IF_ERROR(ValidateConv(n));
  if (!n.Has("kernel_shape")) return InvalidArgument(n.Describe() + ": kernel_shape is required");
  RETURN_IF_ERROR(ExpectKind(n, "ceil_mode", Attr::Kind::kInt));
  RETURN_IF_ERROR(ExpectKind(n, "count_include_pad", Attr::Kind::kInt));
  RETURN_IF_ERROR(ExpectKind(n, "storage_order", Attr::Kind::kInt));
  for (const char* a : {"ceil_mode", "count_include_pad", "storage_order"})
    if (n.Int(a, 0) != 0 && n.Int(a, 0) != 1) return InvalidArgument(n.Describe() + ": " + a + " must be 0 or 1");
  return Status::Ok();
}

Status RunConv(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& x = *in[0];
  const Tensor& w = *in[1];
  const Tensor* bias = in.size() > 2 ? in[2] : nullptr;
  RETURN_IF_ERROR(RequireFloat(node, x, "X"));
  RETURN_IF_ERROR(RequireFloat(node, w, "W"));
  if (bias) RETURN_IF_ERROR(RequireFloat(node, *bias, "B"));
  if (x.rank() < 3 || w.rank() != x.rank())
    return InvalidArgument(node.Describe() + ": X " + ShapeString(x.shape()) + " and W " + ShapeString(w.shape()) +
                           " must both be N×C×spatial");
  int64_t group = node.Int("group", 1);
  int64_t batch = x.shape()[0], channels = x.shape()[1], maps = w.shape()[0];
  if (channels % group != 0 || maps % group != 0 || w.shape()[1] != channels / group)
    return InvalidArgument(node.Describe() + ": X " + ShapeString(x.shape()) + ", W " + ShapeString(w.shape()) +
                           " and group " + std::to_string(group) + " are inconsistent");
  std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
  if (node.Has("kernel_shape") && node.Ints("kernel_shape") != kernel)
    return InvalidArgument(node.Describe() + ": kernel_shape does not match W " + ShapeString(w.shape()));
  if (bias && (bias->rank() != 1 || bias->shape()[0] != maps))
    return InvalidArgument(node.Describe() + ": B must have shape [" + std::to_string(maps) + "]");
  ASSIGN_OR_RETURN(Spatial s, PlanSpatial(node, x.shape(), kernel, false));
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kFloat32, OutShape(x.shape(), maps, s)));
  const float* px = x.data<float>();
  const float* pw = w.data<float>();
  const float* pb = bias ? bias->data<float>() : nullptr;
  float* py = y.data<float>();
  ConvGeometry geo{s, batch, channels, maps, group};
  bool finite_weights = std::all_of(pw, pw + w.num_elements(), [](float v) { return std::isfinite(v); });
  if (finite_weights) {
    ConvIm2col(geo, px, pw, pb, py, ctx.threads);
  } else {
    ConvDirect(geo, px, pw, py, ctx.threads);
    int64_t plane = s.out_h * s.out_w;
    for (int64_t job = 0; job < batch * maps; ++job) BiasCanonical(py + job * plane, plane, pb ? pb + job % maps : nullptr);
  }
  out[0] = std::move(y);
  return Status::Ok();
}

Status RunMaxPool(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  return PoolImpl<true>(n, in, out, ctx);
}
Status RunAveragePool(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  return PoolImpl<false>(n, in, out, ctx);
}

namespace {
// Global pooling over all spatial positions of each (n, c) plane, in row-major order.
// Max follows MaxPool's rule (acc = v > acc ? v : acc from −inf, so NaN never wins);
// average is a left-to-right float sum divided by the area.
Status GlobalPool(const Node& node, KernelInputs in, std::vector<Tensor>& out, bool max) {
  const Tensor& x = *in[0];
  RETURN_IF_ERROR(RequireFloat(node, x, "input"));
  if (x.rank() < 3) return InvalidArgument(node.Describe() + ": input must be N×C×spatial, got " + ShapeString(x.shape()));
  std::vector<int64_t> shape(x.rank(), 1);
  shape[0] = x.shape()[0];
  shape[1] = x.shape()[1];
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kFloat32, shape));
  uint64_t planes = Product(x.shape(), 0, 2), area = Product(x.shape(), 2, x.rank());
  const float* px = x.data<float>();
  float* py = y.data<float>();
  for (uint64_t p = 0; p < planes; ++p) {
    const float* plane = px + p * area;
    if (max) {
      float acc = -std::numeric_limits<float>::infinity();
      for (uint64_t i = 0; i < area; ++i) acc = plane[i] > acc ? plane[i] : acc;
      py[p] = acc;
    } else {
      float acc = 0.0f;
      for (uint64_t i = 0; i < area; ++i) acc = acc + plane[i];
      py[p] = acc / static_cast<float>(area);
    }
  }
  out[0] = std::move(y);
  return Status::Ok();
}
}  // namespace

Status RunGlobalAveragePool(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  return GlobalPool(node, in, out, /*max=*/false);
}

Status RunGlobalMaxPool(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  return GlobalPool(node, in, out, /*max=*/true);
}

Status ValidateBatchNormalization(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "epsilon", Attr::Kind::kFloat));
  RETURN_IF_ERROR(ExpectKind(n, "momentum", Attr::Kind::kFloat));
  RETURN_IF_ERROR(ExpectKind(n, "spatial", Attr::Kind::kInt));
  RETURN_IF_ERROR(ExpectKind(n, "training_mode", Attr::Kind::kInt));
  if (n.Int("spatial", 1) != 1) return Unimplemented(n.Describe() + ": spatial=0 is not supported");
  if (n.Int("training_mode", 0) != 0) return Unimplemented(n.Describe() + ": training_mode is not supported");
  if (!(n.Float("epsilon", 1e-5f) >= 0.0f)) return InvalidArgument(n.Describe() + ": epsilon must be ≥ 0");
  return Status::Ok();
}

Status RunBatchNormalization(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  RETURN_IF_ERROR(RequireFloat(node, x, "X"));
  if (x.rank() < 2) return InvalidArgument(node.Describe() + ": X must be N×C×…");
  int64_t channels = x.shape()[1];
  const char* names[] = {"scale", "B", "mean", "var"};
  for (int i = 1; i <= 4; ++i) {
    RETURN_IF_ERROR(RequireFloat(node, *in[i], names[i - 1]));
    if (in[i]->rank() != 1 || in[i]->shape()[0] != channels)
      return InvalidArgument(node.Describe() + ": " + names[i - 1] + " must have shape [" + std::to_string(channels) + "]");
  }
  float eps = node.Float("epsilon", 1e-5f);
  const float *scale = in[1]->data<float>(), *shift = in[2]->data<float>(), *mean = in[3]->data<float>(),
              *var = in[4]->data<float>();
  Tensor y = x;
  float* py = y.data<float>();
  uint64_t batch = static_cast<uint64_t>(x.shape()[0]), area = Product(x.shape(), 2, x.rank());
  for (int64_t c = 0; c < channels; ++c) {
    // y = (x - mean) * (scale / sqrt(var + eps)) + B; sqrt is correctly rounded (IEEE).
    float factor = scale[c] / std::sqrt(var[c] + eps);
    for (uint64_t n = 0; n < batch; ++n) {
      float* p = py + (n * channels + c) * area;
      for (uint64_t i = 0; i < area; ++i) p[i] = (p[i] - mean[c]) * factor + shift[c];
    }
  }
  out[0] = std::move(y);
  return Status::Ok();
}

}  // namespace lucid::onnx::internal
