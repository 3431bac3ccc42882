// ConvTranspose, LayerNormalization, InstanceNormalization and Resize.
//
// Canonical orders (docs/formats/onnx-semantics.md, "NN layers"): ConvTranspose gathers
// each output element from its contributing inputs in (input channel, kernel row, kernel
// column) order starting at +0.0f and adds the bias last, like Conv; normalizations take the
// mean as a sequential sum / count and the variance as a sequential sum of squared
// deviations / count; Resize computes source coordinates in float32 exactly as written in
// the doc. Threads split only independent planes or rows.
#include <immintrin.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>

#include "base/cpu.h"
#include "onnx/op_internal.h"

// Only functions carrying LUCID_AVX2 use AVX2 (intrinsics only), and only when CpuHasAvx2().
#define LUCID_AVX2 __attribute__((target("avx2")))

namespace lucid::onnx::internal {
namespace {

constexpr int64_t kMaxSpatialAttr = 1 << 20;

Status RequireFloat(const Node& node, const Tensor& t, std::string_view what) {
  if (t.dtype() != DType::kFloat32)
    return Unimplemented(node.Describe() + ": " + std::string(what) + " has dtype " + std::string(DTypeName(t.dtype())) +
                         ", only float32 is supported");
  return Status::Ok();
}

Status IntsInRange(const Node& node, std::string_view attr, int64_t lo, int64_t hi) {
  RETURN_IF_ERROR(ExpectKind(node, attr, Attr::Kind::kInts));
  for (int64_t v : node.Ints(attr))
    if (v < lo || v > hi)
      return InvalidArgument(node.Describe() + ": attribute '" + std::string(attr) + "' value " + std::to_string(v) +
                             " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  return Status::Ok();
}

Status OneOf(const Node& node, std::string_view attr, std::string_view fallback,
             std::initializer_list<std::string_view> allowed) {
  RETURN_IF_ERROR(ExpectKind(node, attr, Attr::Kind::kString));
  std::string v = node.Str(attr, fallback);
  for (std::string_view a : allowed)
    if (v == a) return Status::Ok();
  return Unimplemented(node.Describe() + ": " + std::string(attr) + " \"" + v + "\" is not supported");
}

// ---------------------------------------------------------------- ConvTranspose

// One spatial axis of a transposed convolution.
struct TAxis {
  int64_t in, k, stride, dil, pad_begin, out;
};

Result<std::vector<TAxis>> PlanTranspose(const Node& node, const std::vector<int64_t>& x_shape,
                                         const std::vector<int64_t>& kernel) {
  size_t dims = x_shape.size() - 2;
  auto strides = node.Ints("strides"), dilations = node.Ints("dilations"), pads = node.Ints("pads");
  auto out_pad = node.Ints("output_padding"), out_shape = node.Ints("output_shape");
  if (strides.empty()) strides.assign(dims, 1);
  if (dilations.empty()) dilations.assign(dims, 1);
  if (pads.empty()) pads.assign(2 * dims, 0);
  if (out_pad.empty()) out_pad.assign(dims, 0);
  if (strides.size() != dims || dilations.size() != dims || pads.size() != 2 * dims || out_pad.size() != dims ||
      (!out_shape.empty() && out_shape.size() != dims && out_shape.size() != dims + 2))
    return InvalidArgument(node.Describe() + ": strides/dilations/pads/output_padding/output_shape do not match " +
                           std::to_string(dims) + " spatial dims");
  if (out_shape.size() == dims + 2) out_shape.erase(out_shape.begin(), out_shape.begin() + 2);
  std::string auto_pad = node.Str("auto_pad", "NOTSET");
  std::vector<TAxis> axes(dims);
  for (size_t i = 0; i < dims; ++i) {
    TAxis& a = axes[i];
    a.in = x_shape[i + 2];
    a.k = kernel[i];
    a.stride = strides[i];
    a.dil = dilations[i];
    if (out_pad[i] >= std::max(a.stride, a.dil))
      return InvalidArgument(node.Describe() + ": output_padding must be smaller than stride or dilation");
    int64_t full = a.stride * (a.in - 1) + out_pad[i] + (a.k - 1) * a.dil + 1;  // unpadded output length
    int64_t pad_end = 0;
    if (!out_shape.empty() || auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
      int64_t target = !out_shape.empty() ? out_shape[i] : a.in * a.stride;
      // The ONNX rule: SAME_UPPER puts the extra pad at the end, everything else at the start.
      // A target beyond the full length pads nothing; its tail positions get only the bias.
      int64_t total = std::max<int64_t>(0, full - target);
      a.pad_begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
      a.out = target;
      if (a.out < 1 || a.out > kMaxSpatialAttr)
        return InvalidArgument(node.Describe() + ": output length " + std::to_string(a.out) + " is out of range");
      continue;
    } else if (auto_pad == "VALID") {
      a.pad_begin = 0;
    } else {
      a.pad_begin = pads[i];
      pad_end = pads[i + dims];
    }
    a.out = full - a.pad_begin - pad_end;
    if (a.out < 1) return InvalidArgument(node.Describe() + ": pads leave an empty output");
  }
  return axes;
}

}  // namespace

Status ValidateConvTranspose(Node& n) {
  RETURN_IF_ERROR(OneOf(n, "auto_pad", "NOTSET", {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"}));
  RETURN_IF_ERROR(IntsInRange(n, "dilations", 1, kMaxSpatialAttr));
  RETURN_IF_ERROR(IntsInRange(n, "strides", 1, kMaxSpatialAttr));
  RETURN_IF_ERROR(IntsInRange(n, "kernel_shape", 1, kMaxSpatialAttr));
  RETURN_IF_ERROR(IntsInRange(n, "pads", 0, kMaxSpatialAttr));
  RETURN_IF_ERROR(IntsInRange(n, "output_padding", 0, kMaxSpatialAttr));
  RETURN_IF_ERROR(IntsInRange(n, "output_shape", 1, kMaxSpatialAttr));
  if (n.Ints("pads").size() % 2 != 0) return InvalidArgument(n.Describe() + ": pads must have an even count");
  RETURN_IF_ERROR(ExpectKind(n, "group", Attr::Kind::kInt));
  if (n.Int("group", 1) < 1) return InvalidArgument(n.Describe() + ": group must be ≥ 1");
  return Status::Ok();
}

Status RunConvTranspose(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& x = *in[0];
  const Tensor& w = *in[1];
  const Tensor* bias = in.size() > 2 ? in[2] : nullptr;
  RETURN_IF_ERROR(RequireFloat(node, x, "X"));
  RETURN_IF_ERROR(RequireFloat(node, w, "W"));
  if (bias) RETURN_IF_ERROR(RequireFloat(node, *bias, "B"));
  if (x.rank() < 3 || x.rank() > 5 || w.rank() != x.rank())
    return InvalidArgument(node.Describe() + ": X " + ShapeString(x.shape()) + " and W " + ShapeString(w.shape()) +
                           " must both be N×C×spatial with 1 to 3 spatial dims");
  int64_t group = node.Int("group", 1);
  int64_t batch = x.shape()[0], channels = x.shape()[1];
  if (channels % group != 0 || w.shape()[0] != channels)
    return InvalidArgument(node.Describe() + ": X " + ShapeString(x.shape()) + ", W " + ShapeString(w.shape()) +
                           " and group " + std::to_string(group) + " are inconsistent");
  int64_t maps_per_group = w.shape()[1], maps = maps_per_group * group, cpg = channels / group;
  std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
  if (node.Has("kernel_shape") && node.Ints("kernel_shape") != kernel)
    return InvalidArgument(node.Describe() + ": kernel_shape does not match W " + ShapeString(w.shape()));
  if (bias && (bias->rank() != 1 || bias->shape()[0] != maps))
    return InvalidArgument(node.Describe() + ": B must have shape [" + std::to_string(maps) + "]");
  ASSIGN_OR_RETURN(std::vector<TAxis> axes, PlanTranspose(node, x.shape(), kernel));
  // Pad to 3 spatial axes with unit axes in front so one loop nest serves 1-D to 3-D.
  while (axes.size() < 3) axes.insert(axes.begin(), TAxis{1, 1, 1, 1, 0, 1});
  std::vector<int64_t> y_shape = {batch, maps};
  for (size_t i = 3 - (x.rank() - 2); i < 3; ++i) y_shape.push_back(axes[i].out);
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kFloat32, y_shape));
  const float* px = x.data<float>();
  const float* pw = w.data<float>();
  const float* pb = bias ? bias->data<float>() : nullptr;
  float* py = y.data<float>();
  const TAxis &ad = axes[0], &ah = axes[1], &aw = axes[2];
  int64_t in_plane = ad.in * ah.in * aw.in, k_size = ad.k * ah.k * aw.k, out_plane = ad.out * ah.out * aw.out;
  // Input index along one axis feeding output o through kernel tap k, or -1.
  auto source = [](const TAxis& a, int64_t o, int64_t k) -> int64_t {
    int64_t num = o + a.pad_begin - k * a.dil;
    if (num < 0 || num % a.stride != 0) return -1;
    int64_t i = num / a.stride;
    return i < a.in ? i : -1;
  };
  ParallelFor(batch * maps, ctx.threads, [&](int64_t begin, int64_t end) {
    for (int64_t job = begin; job < end; ++job) {
      int64_t n = job / maps, m = job % maps, g = m / maps_per_group, mg = m % maps_per_group;
      float* dst = py + job * out_plane;
      for (int64_t od = 0; od < ad.out; ++od)
        for (int64_t oh = 0; oh < ah.out; ++oh)
          for (int64_t ow = 0; ow < aw.out; ++ow) {
            float acc = 0.0f;
            for (int64_t c = 0; c < cpg; ++c) {
              int64_t ci = g * cpg + c;
              const float* src = px + (n * channels + ci) * in_plane;
              const float* wk = pw + (ci * maps_per_group + mg) * k_size;
              for (int64_t kd = 0; kd < ad.k; ++kd) {
                int64_t id = source(ad, od, kd);
                if (id < 0) continue;
                for (int64_t kh = 0; kh < ah.k; ++kh) {
                  int64_t ih = source(ah, oh, kh);
                  if (ih < 0) continue;
                  for (int64_t kw = 0; kw < aw.k; ++kw) {
                    int64_t iw = source(aw, ow, kw);
                    if (iw < 0) continue;
                    acc = acc + src[(id * ah.in + ih) * aw.in + iw] * wk[(kd * ah.k + kh) * aw.k + kw];
                  }
                }
              }
            }
            dst[(od * ah.out + oh) * aw.out + ow] = pb ? acc + pb[m] : acc;
          }
    }
  });
  out[0] = std::move(y);
  return Status::Ok();
}

// ---------------------------------------------------------------- normalizations

namespace {

// Mean and 1/sqrt(var + eps) of count values, canonical order.
void MeanInvStd(const float* v, int64_t count, float eps, float& mean, float& inv_std) {
  float sum = 0.0f;
  for (int64_t i = 0; i < count; ++i) sum = sum + v[i];
  mean = sum / static_cast<float>(count);
  float sq = 0.0f;
  for (int64_t i = 0; i < count; ++i) {
    float d = v[i] - mean;
    sq = sq + d * d;
  }
  float var = sq / static_cast<float>(count);
  inv_std = 1.0f / std::sqrt(var + eps);
}


// MeanInvStd of 8 rows `count` apart at once: lane r runs row r's two sequential sums with
// the scalar function's operations in its order (add, subtract, multiply, divide and sqrt
// are exactly rounded), so each lane's results are MeanInvStd's bits. The sums are
// latency-bound chains; eight of them side by side cost little more than one.
LUCID_AVX2 void MeanInvStd8Avx2(const float* rows, int64_t count, float eps, float* mean, float* inv_std) {
  const __m256i index = _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                                           _mm256_set1_epi32(static_cast<int>(count)));
  const __m256 n = _mm256_set1_ps(static_cast<float>(count));
  __m256 sum = _mm256_setzero_ps();
  for (int64_t i = 0; i < count; ++i) sum = _mm256_add_ps(sum, _mm256_i32gather_ps(rows + i, index, 4));
  const __m256 m = _mm256_div_ps(sum, n);
  __m256 sq = _mm256_setzero_ps();
  for (int64_t i = 0; i < count; ++i) {
    __m256 d = _mm256_sub_ps(_mm256_i32gather_ps(rows + i, index, 4), m);
    sq = _mm256_add_ps(sq, _mm256_mul_ps(d, d));
  }
  const __m256 var = _mm256_div_ps(sq, n);
  _mm256_storeu_ps(mean, m);
  _mm256_storeu_ps(inv_std, _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_sqrt_ps(_mm256_add_ps(var, _mm256_set1_ps(eps)))));
}

// Expands a tensor that broadcasts (numpy rules, trailing) to `shape` into a dense vector.
Result<std::vector<float>> ExpandTo(const Node& node, const Tensor& t, std::span<const int64_t> shape,
                                    std::string_view what) {
  RETURN_IF_ERROR(RequireFloat(node, t, what));
  if (t.rank() > shape.size())
    return InvalidArgument(node.Describe() + ": " + std::string(what) + " " + ShapeString(t.shape()) +
                           " does not broadcast to the normalized shape");
  size_t offset = shape.size() - t.rank();
  for (size_t i = 0; i < t.rank(); ++i)
    if (t.shape()[i] != 1 && t.shape()[i] != shape[offset + i])
      return InvalidArgument(node.Describe() + ": " + std::string(what) + " " + ShapeString(t.shape()) +
                             " does not broadcast to the normalized shape");
  uint64_t count = Product(shape, 0, shape.size());
  std::vector<float> dense(count);
  const float* src = t.data<float>();
  for (uint64_t flat = 0; flat < count; ++flat) {
    uint64_t rest = flat, src_index = 0, src_stride = 1;
    for (size_t d = shape.size(); d-- > 0;) {
      uint64_t coord = rest % static_cast<uint64_t>(shape[d]);
      rest /= static_cast<uint64_t>(shape[d]);
      if (d >= offset) {
        int64_t dim = t.shape()[d - offset];
        if (dim != 1) src_index += coord * src_stride;
        src_stride *= static_cast<uint64_t>(dim);
      }
    }
    dense[flat] = src[src_index];
  }
  return dense;
}

}  // namespace

Status ValidateLayerNormalization(Node& n) {
  if (n.opset < 17) return Unimplemented(n.Describe() + ": LayerNormalization needs opset ≥ 17");
  RETURN_IF_ERROR(ExpectKind(n, "axis", Attr::Kind::kInt));
  RETURN_IF_ERROR(ExpectKind(n, "epsilon", Attr::Kind::kFloat));
  RETURN_IF_ERROR(ExpectKind(n, "stash_type", Attr::Kind::kInt));
  if (n.Int("stash_type", 1) != 1) return Unimplemented(n.Describe() + ": only stash_type 1 (float) is supported");
  if (!(n.Float("epsilon", 1e-5f) >= 0)) return InvalidArgument(n.Describe() + ": epsilon must be ≥ 0");
  return Status::Ok();
}

Status RunLayerNormalization(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& x = *in[0];
  RETURN_IF_ERROR(RequireFloat(node, x, "X"));
  if (x.rank() == 0) return InvalidArgument(node.Describe() + ": X must have rank ≥ 1");
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node.Int("axis", -1), static_cast<int64_t>(x.rank()), node));
  std::span<const int64_t> norm_shape(x.shape().data() + axis, x.rank() - axis);
  ASSIGN_OR_RETURN(std::vector<float> scale, ExpandTo(node, *in[1], norm_shape, "Scale"));
  std::vector<float> shift;
  if (in.size() > 2 && in[2]) {
    ASSIGN_OR_RETURN(shift, ExpandTo(node, *in[2], norm_shape, "B"));
  }
  int64_t outer = static_cast<int64_t>(Product(x.shape(), 0, axis));
  int64_t inner = static_cast<int64_t>(Product(x.shape(), axis, x.rank()));
  if (inner == 0) return InvalidArgument(node.Describe() + ": the normalized dims are empty");
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kFloat32, x.shape()));
  std::vector<int64_t> stat_shape = x.shape();
  for (size_t d = axis; d < stat_shape.size(); ++d) stat_shape[d] = 1;
  ASSIGN_OR_RETURN(Tensor mean_t, Tensor::Make(DType::kFloat32, stat_shape));
  ASSIGN_OR_RETURN(Tensor inv_t, Tensor::Make(DType::kFloat32, stat_shape));
  const float* px = x.data<float>();
  float* py = y.data<float>();
  float* pm = mean_t.data<float>();
  float* pi = inv_t.data<float>();
  float eps = node.Float("epsilon", 1e-5f);
  // Eight rows' statistics at a time where the gather offsets fit in int32 (same bits).
  bool batch8 = CpuHasAvx2() && inner <= std::numeric_limits<int32_t>::max() / 8;
  ParallelFor(outer, ctx.threads, [&](int64_t begin, int64_t end) {
    int64_t r = begin;
    if (batch8)
      for (; r + 8 <= end; r += 8) MeanInvStd8Avx2(px + r * inner, inner, eps, pm + r, pi + r);
    for (; r < end; ++r) MeanInvStd(px + r * inner, inner, eps, pm[r], pi[r]);
    for (r = begin; r < end; ++r) {
      const float* row = px + r * inner;
      float* dst = py + r * inner;
      const float mean = pm[r], inv_std = pi[r];
      for (int64_t i = 0; i < inner; ++i) {
        float v = (row[i] - mean) * inv_std * scale[i];
        v = shift.empty() ? v : v + shift[i];
        // Which NaN propagates depends on the compiler's operand order: use the canonical one.
        dst[i] = v == v ? v : std::bit_cast<float>(0x7FC00000u);
      }
    }
  });
  out[0] = std::move(y);
  if (out.size() > 1) out[1] = std::move(mean_t);
  if (out.size() > 2) out[2] = std::move(inv_t);
  return Status::Ok();
}

Status ValidateInstanceNormalization(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "epsilon", Attr::Kind::kFloat));
  if (!(n.Float("epsilon", 1e-5f) >= 0)) return InvalidArgument(n.Describe() + ": epsilon must be ≥ 0");
  return Status::Ok();
}

Status RunInstanceNormalization(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& x = *in[0];
  const Tensor& scale = *in[1];
  const Tensor& shift = *in[2];
  RETURN_IF_ERROR(RequireFloat(node, x, "input"));
  RETURN_IF_ERROR(RequireFloat(node, scale, "scale"));
  RETURN_IF_ERROR(RequireFloat(node, shift, "B"));
  if (x.rank() < 3) return InvalidArgument(node.Describe() + ": input must be N×C×D1…, got " + ShapeString(x.shape()));
  int64_t channels = x.shape()[1];
  for (const Tensor* t : {&scale, &shift})
    if (t->rank() != 1 || t->shape()[0] != channels)
      return InvalidArgument(node.Describe() + ": scale and B must have shape [" + std::to_string(channels) + "]");
  int64_t planes = x.shape()[0] * channels;
  int64_t plane = static_cast<int64_t>(Product(x.shape(), 2, x.rank()));
  if (plane == 0) return InvalidArgument(node.Describe() + ": spatial dims are empty");
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kFloat32, x.shape()));
  const float* px = x.data<float>();
  float* py = y.data<float>();
  float eps = node.Float("epsilon", 1e-5f);
  ParallelFor(planes, ctx.threads, [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      int64_t c = p % channels;
      float mean, inv_std;
      MeanInvStd(px + p * plane, plane, eps, mean, inv_std);
      float s = scale.data<float>()[c], b = shift.data<float>()[c];
      for (int64_t i = 0; i < plane; ++i) py[p * plane + i] = (px[p * plane + i] - mean) * inv_std * s + b;
    }
  });
  out[0] = std::move(y);
  return Status::Ok();
}

// ---------------------------------------------------------------- Resize

Status ValidateResize(Node& n) {
  if (n.opset < 10) return Unimplemented(n.Describe() + ": Resize needs opset ≥ 10");
  size_t given = n.inputs.size();
  if (n.opset == 10 && given != 2) return InvalidArgument(n.Describe() + ": Resize-10 takes exactly X and scales");
  if (n.opset >= 11 && n.opset < 13 && given < 3) return InvalidArgument(n.Describe() + ": Resize-11 needs X, roi, scales");
  RETURN_IF_ERROR(OneOf(n, "mode", "nearest", {"nearest", "linear"}));
  if (n.opset >= 11) {
    bool symmetric = n.opset >= 19 && n.Str("coordinate_transformation_mode", "") == "half_pixel_symmetric";
    if (!symmetric)
      RETURN_IF_ERROR(OneOf(n, "coordinate_transformation_mode", "half_pixel",
                            {"half_pixel", "asymmetric", "align_corners", "pytorch_half_pixel"}));
    RETURN_IF_ERROR(OneOf(n, "nearest_mode", "round_prefer_floor", {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}));
  } else if (n.Has("coordinate_transformation_mode") || n.Has("nearest_mode")) {
    return InvalidArgument(n.Describe() + ": Resize-10 has no coordinate_transformation_mode or nearest_mode");
  }
  RETURN_IF_ERROR(ExpectKind(n, "cubic_coeff_a", Attr::Kind::kFloat));
  RETURN_IF_ERROR(ExpectKind(n, "extrapolation_value", Attr::Kind::kFloat));
  RETURN_IF_ERROR(ExpectKind(n, "exclude_outside", Attr::Kind::kInt));
  RETURN_IF_ERROR(ExpectKind(n, "antialias", Attr::Kind::kInt));
  if (n.Int("exclude_outside", 0) != 0) return Unimplemented(n.Describe() + ": exclude_outside=1 is not supported");
  if (n.Int("antialias", 0) != 0) return Unimplemented(n.Describe() + ": antialias=1 is not supported");
  RETURN_IF_ERROR(OneOf(n, "keep_aspect_ratio_policy", "stretch", {"stretch"}));
  RETURN_IF_ERROR(ExpectKind(n, "axes", Attr::Kind::kInts));
  if (n.opset < 18 && (n.Has("axes") || n.Has("antialias") || n.Has("keep_aspect_ratio_policy")))
    return InvalidArgument(n.Describe() + ": axes/antialias/keep_aspect_ratio_policy need opset ≥ 18");
  return Status::Ok();
}

namespace {

// Per output index along one axis: source indices and weights (nearest: lo only).
struct ResizeAxis {
  std::vector<int64_t> lo, hi;
  std::vector<float> w_lo, w_hi;
  bool identity = true;
};

// resized_len is the spec's length_resized: scale·in (float32) when scales are given, the
// output length when sizes are (they differ for fractional products, e.g. 0.6·4 = 2.4).
float SourceCoord(const std::string& mode, float x, float scale, int64_t in_len, float resized_len, int64_t out_len) {
  if (mode == "asymmetric") return x / scale;
  if (mode == "align_corners")
    return resized_len == 1.0f ? 0.0f : x * static_cast<float>(in_len - 1) / (resized_len - 1.0f);
  if (mode == "pytorch_half_pixel") return resized_len > 1.0f ? (x + 0.5f) / scale - 0.5f : 0.0f;
  if (mode == "half_pixel_symmetric") {
    float adjustment = static_cast<float>(out_len) / resized_len;
    float center = static_cast<float>(in_len) / 2.0f;
    float offset = center * (1.0f - adjustment);
    return offset + (x + 0.5f) / scale - 0.5f;
  }
  return (x + 0.5f) / scale - 0.5f;  // half_pixel
}

int64_t NearestIndex(const std::string& rule, float v, bool downsample) {
  double r;
  if (rule == "simple") r = downsample ? std::ceil(v) : std::trunc(v);  // Resize-10
  else if (rule == "floor") r = std::floor(v);
  else if (rule == "ceil") r = std::ceil(v);
  else if (rule == "round_prefer_ceil") r = std::round(v);  // halves away from zero
  else r = (v == std::floor(v) + 0.5f) ? std::floor(v) : std::round(v);  // round_prefer_floor
  if (!(r > -1e9 && r < 1e9)) return 0;  // NaN/huge: clamped below
  return static_cast<int64_t>(r);
}

}  // namespace

Status RunResize(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& x = *in[0];
  RETURN_IF_ERROR(RequireFloat(node, x, "X"));
  int64_t rank = static_cast<int64_t>(x.rank());
  const Tensor* scales_t = node.opset == 10 ? in[1] : (in.size() > 2 ? in[2] : nullptr);
  const Tensor* sizes_t = node.opset >= 11 && in.size() > 3 ? in[3] : nullptr;
  if (scales_t && scales_t->num_elements() == 0) scales_t = nullptr;  // "" or empty tensor = absent
  if (sizes_t && sizes_t->num_elements() == 0) sizes_t = nullptr;
  if ((scales_t == nullptr) == (sizes_t == nullptr))
    return InvalidArgument(node.Describe() + ": exactly one of scales and sizes must be given");
  std::vector<int64_t> axes = node.Ints("axes");
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d) axes.push_back(d);
  std::vector<bool> seen(rank, false);
  for (int64_t& a : axes) {
    ASSIGN_OR_RETURN(a, NormalizeAxis(a, rank, node));
    if (seen[a]) return InvalidArgument(node.Describe() + ": axes repeats " + std::to_string(a));
    seen[a] = true;
  }
  std::vector<float> scale(rank, 1.0f);
  std::vector<int64_t> out_shape = x.shape();
  if (scales_t) {
    if (scales_t->dtype() != DType::kFloat32 || scales_t->num_elements() != axes.size())
      return InvalidArgument(node.Describe() + ": scales must be float32 with " + std::to_string(axes.size()) + " values");
    for (size_t i = 0; i < axes.size(); ++i) {
      float s = scales_t->data<float>()[i];
      if (!(s > 0.0f) || !(s < 1e6f)) return InvalidArgument(node.Describe() + ": scale " + std::to_string(s) + " is not in (0, 1e6)");
      scale[axes[i]] = s;
      out_shape[axes[i]] = static_cast<int64_t>(s * static_cast<float>(x.shape()[axes[i]]));  // floor
    }
  } else {
    if (sizes_t->dtype() != DType::kInt64 || sizes_t->num_elements() != axes.size())
      return InvalidArgument(node.Describe() + ": sizes must be int64 with " + std::to_string(axes.size()) + " values");
    for (size_t i = 0; i < axes.size(); ++i) {
      int64_t s = sizes_t->data<int64_t>()[i];
      if (s < 0 || s > static_cast<int64_t>(kMaxTensorElements))
        return InvalidArgument(node.Describe() + ": size " + std::to_string(s) + " is out of range");
      out_shape[axes[i]] = s;
      scale[axes[i]] = static_cast<float>(s) / static_cast<float>(x.shape()[axes[i]]);
    }
  }
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kFloat32, out_shape));
  if (y.num_elements() == 0) {
    out[0] = std::move(y);
    return Status::Ok();
  }
  if (x.num_elements() == 0) return InvalidArgument(node.Describe() + ": cannot resize an empty input to a non-empty output");
  bool linear = node.Str("mode", "nearest") == "linear";
  std::string coord = node.opset >= 11 ? node.Str("coordinate_transformation_mode", "half_pixel") : "asymmetric";
  std::string rule = node.opset >= 11 ? node.Str("nearest_mode", "round_prefer_floor") : "simple";
  std::vector<ResizeAxis> plan(rank);
  for (int64_t d = 0; d < rank; ++d) {
    int64_t in_len = x.shape()[d], out_len = out_shape[d];
    ResizeAxis& p = plan[d];
    p.lo.resize(out_len);
    p.hi.resize(out_len);
    p.w_lo.assign(out_len, 1.0f);
    p.w_hi.assign(out_len, 0.0f);
    for (int64_t o = 0; o < out_len; ++o) {
      float resized_len = scales_t ? scale[d] * static_cast<float>(in_len) : static_cast<float>(out_len);
      float src = SourceCoord(coord, static_cast<float>(o), scale[d], in_len, resized_len, out_len);
      if (linear) {
        src = std::clamp(src, 0.0f, static_cast<float>(in_len - 1));
        int64_t lo = std::min<int64_t>(static_cast<int64_t>(src), in_len - 1);
        p.lo[o] = lo;
        p.hi[o] = std::min<int64_t>(lo + 1, in_len - 1);
        p.w_hi[o] = src - static_cast<float>(lo);
        p.w_lo[o] = 1.0f - p.w_hi[o];
      } else {
        p.lo[o] = std::clamp<int64_t>(NearestIndex(rule, src, scale[d] < 1.0f), 0, in_len - 1);
        p.hi[o] = p.lo[o];
      }
      if (p.lo[o] != o || p.w_hi[o] != 0.0f) p.identity = false;
    }
    if (in_len != out_len) p.identity = false;
  }
  // Interpolated axes enumerate {lo, hi} corners; identity axes index directly.
  std::vector<int64_t> interp;
  for (int64_t d = 0; d < rank; ++d)
    if (linear && !plan[d].identity) interp.push_back(d);
  if (interp.size() > 8) return Unimplemented(node.Describe() + ": linear resize over more than 8 axes");
  std::vector<int64_t> in_strides(rank, 1);
  for (int64_t d = rank - 1; d > 0; --d) in_strides[d - 1] = in_strides[d] * x.shape()[d];
  int64_t last = out_shape[rank - 1];
  int64_t rows = static_cast<int64_t>(y.num_elements()) / last;
  const float* px = x.data<float>();
  float* py = y.data<float>();
  ParallelFor(rows, ctx.threads, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> coord_out(rank);
    for (int64_t row = begin; row < end; ++row) {
      int64_t rest = row;
      for (int64_t d = rank - 2; d >= 0; --d) {
        coord_out[d] = rest % out_shape[d];
        rest /= out_shape[d];
      }
      for (int64_t o = 0; o < last; ++o) {
        coord_out[rank - 1] = o;
        int64_t base = 0;
        for (int64_t d = 0; d < rank; ++d) base += plan[d].lo[coord_out[d]] * in_strides[d];
        if (interp.empty()) {
          py[row * last + o] = px[base];
          continue;
        }
        // Corners in binary order (first interpolated axis is the most significant bit);
        // weight = product over axes in axis order; sum from +0.0f in corner order.
        float acc = 0.0f;
        size_t corners = size_t{1} << interp.size();
        for (size_t c = 0; c < corners; ++c) {
          int64_t index = base;
          float weight = 1.0f;
          for (size_t j = 0; j < interp.size(); ++j) {
            int64_t d = interp[j];
            int64_t i = coord_out[d];
            bool high = (c >> (interp.size() - 1 - j)) & 1;
            if (high) {
              index += (plan[d].hi[i] - plan[d].lo[i]) * in_strides[d];
              weight = weight * plan[d].w_hi[i];
            } else {
              weight = weight * plan[d].w_lo[i];
            }
          }
          acc = acc + weight * px[index];
        }
        py[row * last + o] = acc;
      }
    }
  });
  out[0] = std::move(y);
  return Status::Ok();
}

}  // namespace lucid::onnx::internal
