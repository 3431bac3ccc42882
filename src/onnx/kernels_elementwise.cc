// Elementwise kernels: numpy-broadcast binary arithmetic, activations, Softmax, Clip.
#include <bit>
#include <cstring>
#include <limits>
#include <type_traits>

#include "onnx/op_internal.h"
#include "tensor/math.h"

namespace lucid::onnx::internal {
namespace {

Status RequireFloat(const Node& node, const Tensor& t, std::string_view what) {
  if (t.dtype() != DType::kFloat32)
    return Unimplemented(node.Describe() + ": " + std::string(what) + " has dtype " + std::string(DTypeName(t.dtype())) +
                         ", only float32 is supported");
  return Status::Ok();
}

// Softmax results: which operand's NaN x86 propagates depends on the compiler's operand
// order (and inf − inf gives a negative NaN), so a NaN result is always the canonical one,
// as for Gemm/MatMul/Conv.
float CanonicalNaN(float v) { return v == v ? v : std::bit_cast<float>(0x7FC00000u); }

// The output tensor: a donated input of the output's dtype and shape is reused in place
// (every element is read before it is written at the same index), else a new one.
Result<Tensor> OutputLike(DType dtype, const std::vector<int64_t>& shape, KernelInputs in, const KernelContext& ctx) {
  for (size_t i = 0; i < in.size(); ++i)
    if (Tensor* donor = ctx.Donated(i); donor && donor == in[i] && donor->dtype() == dtype && donor->shape() == shape)
      return std::move(*donor);
  return Tensor::Make(dtype, shape);
}

// y[idx] = op(a[idx'], b[idx'']) over the broadcast shape, in row-major output order. Rows
// of the last output dim run as tight loops (each input contiguous or a repeated scalar).
template <typename T, typename Op>
Status Broadcast(const Node& node, KernelInputs in, const KernelContext& ctx, std::vector<Tensor>& outputs, Op op) {
  // Read everything about the inputs first: a donated input is moved into y (its buffer,
  // and so pa/pb, stays where it is).
  const std::vector<int64_t> a_shape = in[0]->shape(), b_shape = in[1]->shape();
  const uint64_t a_count = in[0]->num_elements(), b_count = in[1]->num_elements();
  const T* pa = in[0]->data<T>();
  const T* pb = in[1]->data<T>();
  auto shape = BroadcastShapes(a_shape, b_shape);
  if (!shape.ok()) return shape.status().WithContext(node.Describe());
  ASSIGN_OR_RETURN(Tensor y, OutputLike(in[0]->dtype(), *shape, in.first(2), ctx));
  T* py = y.data<T>();
  uint64_t n = y.num_elements();
  if (a_shape == b_shape) {
    for (uint64_t e = 0; e < n; ++e) py[e] = op(pa[e], pb[e]);
  } else if (b_count == 1) {
    const T vb = pb[0];
    for (uint64_t e = 0; e < n; ++e) py[e] = op(pa[e], vb);
  } else if (a_count == 1) {
    const T va = pa[0];
    for (uint64_t e = 0; e < n; ++e) py[e] = op(va, pb[e]);
  } else if (n > 0) {
    size_t rank = shape->size();
    // Element strides of each input aligned to the output; 0 on broadcast dims.
    auto strides = [&](const std::vector<int64_t>& dims) {
      std::vector<int64_t> s(rank, 0);
      int64_t stride = 1;
      for (size_t k = dims.size(); k-- > 0;) {
        size_t out_dim = k + (rank - dims.size());
        s[out_dim] = dims[k] == 1 ? 0 : stride;
        stride *= dims[k];
      }
      return s;
    };
    std::vector<int64_t> sa = strides(a_shape), sb = strides(b_shape), index(rank, 0);
    const int64_t len = shape->back(), ia = sa.back(), ib = sb.back();  // inner strides: 0 or 1
    int64_t oa = 0, ob = 0;
    for (uint64_t row = 0; row < n / static_cast<uint64_t>(len); ++row) {
      T* dst = py + row * len;
      const T* ra = pa + oa;
      const T* rb = pb + ob;
      if (ia == 1 && ib == 1) {
        for (int64_t j = 0; j < len; ++j) dst[j] = op(ra[j], rb[j]);
      } else if (ia == 1) {
        const T vb = rb[0];
        for (int64_t j = 0; j < len; ++j) dst[j] = op(ra[j], vb);
      } else if (ib == 1) {
        const T va = ra[0];
        for (int64_t j = 0; j < len; ++j) dst[j] = op(va, rb[j]);
      } else {
        const T v = op(ra[0], rb[0]);
        for (int64_t j = 0; j < len; ++j) dst[j] = v;
      }
      for (size_t d = rank - 1; d-- > 0;) {  // odometer over the outer dims
        oa += sa[d];
        ob += sb[d];
        if (++index[d] < (*shape)[d]) break;
        oa -= sa[d] * index[d];
        ob -= sb[d] * index[d];
        index[d] = 0;
      }
    }
  }
  outputs[0] = std::move(y);
  return Status::Ok();
}

enum class Arith { kAdd, kSub, kMul, kDiv };

// Integer arithmetic wraps modulo 2^bits (computed in the unsigned type, or in int after
// the usual promotion for 8-bit types, then narrowed, which C++20 defines as modulo).
template <typename T>
T WrapInt(Arith op, T x, T y) {
  using U = std::make_unsigned_t<T>;
  switch (op) {
    case Arith::kAdd: return static_cast<T>(static_cast<U>(x) + static_cast<U>(y));
    case Arith::kSub: return static_cast<T>(static_cast<U>(x) - static_cast<U>(y));
    case Arith::kMul: return static_cast<T>(static_cast<U>(x) * static_cast<U>(y));
    case Arith::kDiv:
      // Truncating division; the one overflowing case (min / −1) wraps like the others.
      if (std::is_signed_v<T> && y == static_cast<T>(-1)) return static_cast<T>(U{0} - static_cast<U>(x));
      return static_cast<T>(x / y);
  }
  return 0;
}

template <typename T>
Status IntArith(const Node& node, Arith op, KernelInputs in, const KernelContext& ctx, std::vector<Tensor>& out) {
  if (op == Arith::kDiv) {
    const Tensor& b = *in[1];
    const T* pb = b.data<T>();
    for (uint64_t e = 0; e < b.num_elements(); ++e)
      if (pb[e] == 0) return InvalidArgument(node.Describe() + ": integer division by zero");
  }
  return Broadcast<T>(node, in, ctx, out, [op](T x, T y) { return WrapInt(op, x, y); });
}

Status RunArith(Arith op, const Node& node, KernelInputs in, const KernelContext& ctx, std::vector<Tensor>& out) {
  const Tensor& a = *in[0];
  const Tensor& b = *in[1];
  if (a.dtype() != b.dtype())
    return InvalidArgument(node.Describe() + ": input dtypes differ (" + std::string(DTypeName(a.dtype())) + " vs " +
                           std::string(DTypeName(b.dtype())) + ")");
  switch (a.dtype()) {
    case DType::kFloat32:
      switch (op) {
        case Arith::kAdd: return Broadcast<float>(node, in, ctx, out, [](float x, float y) { return x + y; });
        case Arith::kSub: return Broadcast<float>(node, in, ctx, out, [](float x, float y) { return x - y; });
        case Arith::kMul: return Broadcast<float>(node, in, ctx, out, [](float x, float y) { return x * y; });
        case Arith::kDiv: return Broadcast<float>(node, in, ctx, out, [](float x, float y) { return x / y; });
      }
      break;
    case DType::kInt8: return IntArith<int8_t>(node, op, in, ctx, out);
    case DType::kUint8: return IntArith<uint8_t>(node, op, in, ctx, out);
    case DType::kInt32: return IntArith<int32_t>(node, op, in, ctx, out);
    case DType::kInt64: return IntArith<int64_t>(node, op, in, ctx, out);
    default: break;
  }
  return Unimplemented(node.Describe() + ": dtype " + std::string(DTypeName(a.dtype())) +
                       " is not supported (float32, int8, uint8, int32, int64)");
}

// The input's data as a tensor the kernel may overwrite: moved when donated, else copied.
Tensor OwnedCopy(KernelInputs in, const KernelContext& ctx) {
  Tensor* donor = ctx.Donated(0);
  return donor == in[0] ? std::move(*donor) : *in[0];
}

template <typename Fn>
Status Unary(const Node& node, KernelInputs in, const KernelContext& ctx, std::vector<Tensor>& out, Fn fn) {
  RETURN_IF_ERROR(RequireFloat(node, *in[0], "input"));
  Tensor y = OwnedCopy(in, ctx);
  float* p = y.data<float>();
  const uint64_t n = y.num_elements();
  for (uint64_t e = 0; e < n; ++e) p[e] = fn(p[e]);
  out[0] = std::move(y);
  return Status::Ok();
}

// Softmax / LogSoftmax over `len` elements spaced `inner` apart, for every (outer, inner).
Status SoftmaxImpl(const Node& node, KernelInputs in, const KernelContext& ctx, std::vector<Tensor>& out, bool log) {
  const Tensor& x = *in[0];
  RETURN_IF_ERROR(RequireFloat(node, x, "input"));
  int64_t rank = static_cast<int64_t>(x.rank());
  bool legacy = node.opset < 13;  // opset < 13: coerce to 2-D at axis
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node.Int("axis", legacy ? 1 : -1), rank, node));
  const auto& s = x.shape();
  uint64_t outer = Product(s, 0, axis);
  uint64_t len = legacy ? Product(s, axis, rank) : static_cast<uint64_t>(s[axis]);
  uint64_t inner = legacy ? 1 : Product(s, axis + 1, rank);
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kFloat32, x.shape()));
  const float* px = x.data<float>();
  float* py = y.data<float>();
  if (inner == 1 && !log) {
    // Contiguous rows: the same operations in the same order, with Exp vectorised; rows
    // are independent, so threads split them.
    ParallelFor(static_cast<int64_t>(outer), ctx.threads, [&](int64_t begin, int64_t end) {
      for (int64_t o = begin; o < end; ++o) {
        const float* row = px + o * len;
        float* dst = py + o * len;
        float max = -std::numeric_limits<float>::infinity();
        for (uint64_t j = 0; j < len; ++j) max = row[j] > max ? row[j] : max;
        for (uint64_t j = 0; j < len; ++j) dst[j] = row[j] - max;
        math::ExpArray(dst, len);
        float sum = 0.0f;
        for (uint64_t j = 0; j < len; ++j) sum = sum + dst[j];
        for (uint64_t j = 0; j < len; ++j) dst[j] = CanonicalNaN(dst[j] / sum);
      }
    });
    out[0] = std::move(y);
    return Status::Ok();
  }
  for (uint64_t o = 0; o < outer; ++o) {
    for (uint64_t i = 0; i < inner; ++i) {
      uint64_t base = o * len * inner + i;
      float max = -std::numeric_limits<float>::infinity();
      for (uint64_t j = 0; j < len; ++j) max = px[base + j * inner] > max ? px[base + j * inner] : max;
      float sum = 0.0f;
      for (uint64_t j = 0; j < len; ++j) {
        float e = math::Exp(px[base + j * inner] - max);
        if (!log) py[base + j * inner] = e;
        sum = sum + e;
      }
      if (log) {
        float log_sum = math::Log(sum);
        for (uint64_t j = 0; j < len; ++j) py[base + j * inner] = CanonicalNaN((px[base + j * inner] - max) - log_sum);
      } else {
        for (uint64_t j = 0; j < len; ++j) py[base + j * inner] = CanonicalNaN(py[base + j * inner] / sum);
      }
    }
  }
  out[0] = std::move(y);
  return Status::Ok();
}

Result<float> ScalarBound(const Node& node, const Tensor* t, float fallback, std::string_view what) {
  if (t == nullptr) return fallback;
  RETURN_IF_ERROR(RequireFloat(node, *t, what));
  if (t->num_elements() != 1) return InvalidArgument(node.Describe() + ": " + std::string(what) + " must be a scalar");
  return t->data<float>()[0];
}

}  // namespace

Status RunAdd(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  return RunArith(Arith::kAdd, n, in, ctx, out);
}
Status RunSub(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  return RunArith(Arith::kSub, n, in, ctx, out);
}
Status RunMul(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  return RunArith(Arith::kMul, n, in, ctx, out);
}
Status RunDiv(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  return RunArith(Arith::kDiv, n, in, ctx, out);
}

Status RunRelu(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  return Unary(n, in, ctx, out, [](float v) { return v < 0.0f ? 0.0f : v; });
}
Status RunLeakyRelu(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  float alpha = n.Float("alpha", 0.01f);
  return Unary(n, in, ctx, out, [alpha](float v) { return v < 0.0f ? alpha * v : v; });
}
Status RunSigmoid(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  return Unary(n, in, ctx, out, math::Sigmoid);
}
Status RunTanh(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  return Unary(n, in, ctx, out, math::Tanh);
}
Status RunSoftmax(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  return SoftmaxImpl(n, in, ctx, out, false);
}
Status RunLogSoftmax(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  return SoftmaxImpl(n, in, ctx, out, true);
}

// Integer Clip (opset ≥ 12 types): min(max(x, lo), hi) with scalar bounds of x's dtype,
// defaulting to the type's range.
template <typename T>
Status IntClip(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  T bounds[2] = {std::numeric_limits<T>::lowest(), std::numeric_limits<T>::max()};
  for (size_t i = 1; i <= 2; ++i) {
    const Tensor* t = in.size() > i ? in[i] : nullptr;
    if (t == nullptr) continue;
    std::string_view what = i == 1 ? "min" : "max";
    if (t->dtype() != in[0]->dtype())
      return InvalidArgument(n.Describe() + ": " + std::string(what) + " has dtype " + std::string(DTypeName(t->dtype())) +
                             ", the input " + std::string(DTypeName(in[0]->dtype())));
    if (t->num_elements() != 1) return InvalidArgument(n.Describe() + ": " + std::string(what) + " must be a scalar");
    bounds[i - 1] = t->data<T>()[0];
  }
  Tensor* donor = ctx.Donated(0);
  Tensor y = donor == in[0] ? std::move(*donor) : *in[0];
  T* p = y.data<T>();
  const T lo = bounds[0], hi = bounds[1];
  for (uint64_t e = 0, count = y.num_elements(); e < count; ++e) {
    T clipped = p[e] < lo ? lo : p[e];
    p[e] = clipped > hi ? hi : clipped;
  }
  out[0] = std::move(y);
  return Status::Ok();
}

Status RunClip(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  if (n.opset >= 12) {  // integer types since opset 12
    switch (in[0]->dtype()) {
      case DType::kInt8: return IntClip<int8_t>(n, in, out, ctx);
      case DType::kUint8: return IntClip<uint8_t>(n, in, out, ctx);
      case DType::kInt32: return IntClip<int32_t>(n, in, out, ctx);
      case DType::kInt64: return IntClip<int64_t>(n, in, out, ctx);
      default: break;
    }
  }
  float lo = n.Float("min", std::numeric_limits<float>::lowest());
  float hi = n.Float("max", std::numeric_limits<float>::max());
  if (n.opset >= 11) {
    ASSIGN_OR_RETURN(lo, ScalarBound(n, in.size() > 1 ? in[1] : nullptr, std::numeric_limits<float>::lowest(), "min"));
    ASSIGN_OR_RETURN(hi, ScalarBound(n, in.size() > 2 ? in[2] : nullptr, std::numeric_limits<float>::max(), "max"));
  }
  // NaN stays NaN; when min > max every value becomes max (ONNX: min(max(x, lo), hi)).
  return Unary(n, in, ctx, out, [lo, hi](float v) {
    float clipped = v < lo ? lo : v;
    return clipped > hi ? hi : clipped;
  });
}

Status ValidateLeakyRelu(Node& n) { return ExpectKind(n, "alpha", Attr::Kind::kFloat); }

Status ValidateSoftmax(Node& n) { return ExpectKind(n, "axis", Attr::Kind::kInt); }

Status ValidateClip(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "min", Attr::Kind::kFloat));
  RETURN_IF_ERROR(ExpectKind(n, "max", Attr::Kind::kFloat));
  if (n.opset >= 11 && (n.Has("min") || n.Has("max")))
    return InvalidArgument(n.Describe() + ": min/max are inputs since opset 11, not attributes");
  if (n.opset < 11 && n.inputs.size() > 1)
    return InvalidArgument(n.Describe() + ": before opset 11 Clip takes one input");
  return Status::Ok();
}

}  // namespace lucid::onnx::internal
