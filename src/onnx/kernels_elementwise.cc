// Elementwise kernels: numpy-broadcast binary arithmetic, activations, Softmax, Clip.
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

// y[idx] = op(a[idx'], b[idx'']) over the broadcast shape, in row-major output order.
template <typename T, typename Op>
Status Broadcast(const Node& node, const Tensor& a, const Tensor& b, std::vector<Tensor>& outputs, Op op) {
  auto shape = BroadcastShapes(a.shape(), b.shape());
  if (!shape.ok()) return shape.status().WithContext(node.Describe());
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(a.dtype(), *shape));
  const T* pa = a.data<T>();
  const T* pb = b.data<T>();
  T* py = y.data<T>();
  uint64_t n = y.num_elements();
  if (a.shape() == b.shape()) {
    for (uint64_t e = 0; e < n; ++e) py[e] = op(pa[e], pb[e]);
  } else if (b.num_elements() == 1) {
    for (uint64_t e = 0; e < n; ++e) py[e] = op(pa[e], pb[0]);
  } else if (a.num_elements() == 1) {
    for (uint64_t e = 0; e < n; ++e) py[e] = op(pa[0], pb[e]);
  } else if (n > 0) {
    size_t rank = shape->size();
    // Element strides of each input aligned to the output; 0 on broadcast dims.
    auto strides = [&](const std::vector<int64_t>& in) {
      std::vector<int64_t> s(rank, 0);
      int64_t stride = 1;
      for (size_t k = in.size(); k-- > 0;) {
        size_t out_dim = k + (rank - in.size());
        s[out_dim] = in[k] == 1 ? 0 : stride;
        stride *= in[k];
      }
      return s;
    };
    std::vector<int64_t> sa = strides(a.shape()), sb = strides(b.shape()), index(rank, 0);
    int64_t oa = 0, ob = 0;
    for (uint64_t e = 0; e < n; ++e) {
      py[e] = op(pa[oa], pb[ob]);
      for (size_t d = rank; d-- > 0;) {  // odometer increment
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

template <typename T>
T WrapInt(Arith op, T x, T y) {
  using U = std::make_unsigned_t<T>;
  switch (op) {
    case Arith::kAdd: return static_cast<T>(static_cast<U>(x) + static_cast<U>(y));
    case Arith::kSub: return static_cast<T>(static_cast<U>(x) - static_cast<U>(y));
    case Arith::kMul: return static_cast<T>(static_cast<U>(x) * static_cast<U>(y));
    case Arith::kDiv:
      // Truncating division; the one overflowing case wraps like the others.
      if (y == -1) return static_cast<T>(U{0} - static_cast<U>(x));
      return static_cast<T>(x / y);
  }
  return 0;
}

template <typename T>
Status IntArith(const Node& node, Arith op, const Tensor& a, const Tensor& b, std::vector<Tensor>& out) {
  if (op == Arith::kDiv) {
    const T* pb = b.data<T>();
    for (uint64_t e = 0; e < b.num_elements(); ++e)
      if (pb[e] == 0) return InvalidArgument(node.Describe() + ": integer division by zero");
  }
  return Broadcast<T>(node, a, b, out, [op](T x, T y) { return WrapInt(op, x, y); });
}

Status RunArith(Arith op, const Node& node, KernelInputs in, std::vector<Tensor>& out) {
  const Tensor& a = *in[0];
  const Tensor& b = *in[1];
  if (a.dtype() != b.dtype())
    return InvalidArgument(node.Describe() + ": input dtypes differ (" + std::string(DTypeName(a.dtype())) + " vs " +
                           std::string(DTypeName(b.dtype())) + ")");
  switch (a.dtype()) {
    case DType::kFloat32:
      switch (op) {
        case Arith::kAdd: return Broadcast<float>(node, a, b, out, [](float x, float y) { return x + y; });
        case Arith::kSub: return Broadcast<float>(node, a, b, out, [](float x, float y) { return x - y; });
        case Arith::kMul: return Broadcast<float>(node, a, b, out, [](float x, float y) { return x * y; });
        case Arith::kDiv: return Broadcast<float>(node, a, b, out, [](float x, float y) { return x / y; });
      }
      break;
    case DType::kInt32: return IntArith<int32_t>(node, op, a, b, out);
    case DType::kInt64: return IntArith<int64_t>(node, op, a, b, out);
    default: break;
  }
  return Unimplemented(node.Describe() + ": dtype " + std::string(DTypeName(a.dtype())) +
                       " is not supported (float32, int32, int64)");
}

template <typename Fn>
Status Unary(const Node& node, KernelInputs in, std::vector<Tensor>& out, Fn fn) {
  RETURN_IF_ERROR(RequireFloat(node, *in[0], "input"));
  Tensor y = *in[0];
  float* p = y.data<float>();
  const uint64_t n = y.num_elements();
  for (uint64_t e = 0; e < n; ++e) p[e] = fn(p[e]);
  out[0] = std::move(y);
  return Status::Ok();
}

// Softmax / LogSoftmax over `len` elements spaced `inner` apart, for every (outer, inner).
Status SoftmaxImpl(const Node& node, KernelInputs in, std::vector<Tensor>& out, bool log) {
  const Tensor& x = *in[0];
  RETURN_IF_ERROR(RequireFloat(node, x, "input"));
  int64_t rank = static_cast<int64_t>(x.rank());
  bool legacy = node.opset < 13;  // opset < 13: coerce to 2-D at axis
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node.Int("axis", legacy ? 1 : -1), rank, node));
  const auto& s = x.shape();
  uint64_t outer = Product(s, 0, axis);
  uint64_t len = legacy ? Product(s, axis, rank) : static_cast<uint64_t>(s[axis]);
  uint64_t inner = legacy ? 1 : Product(s, axis + 1, rank);
  Tensor y = x;
  const float* px = x.data<float>();
  float* py = y.data<float>();
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
        for (uint64_t j = 0; j < len; ++j) py[base + j * inner] = (px[base + j * inner] - max) - log_sum;
      } else {
        for (uint64_t j = 0; j < len; ++j) py[base + j * inner] = py[base + j * inner] / sum;
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

Status RunAdd(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) { return RunArith(Arith::kAdd, n, in, out); }
Status RunSub(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) { return RunArith(Arith::kSub, n, in, out); }
Status RunMul(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) { return RunArith(Arith::kMul, n, in, out); }
Status RunDiv(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) { return RunArith(Arith::kDiv, n, in, out); }

Status RunRelu(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  return Unary(n, in, out, [](float v) { return v < 0.0f ? 0.0f : v; });
}
Status RunLeakyRelu(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  float alpha = n.Float("alpha", 0.01f);
  return Unary(n, in, out, [alpha](float v) { return v < 0.0f ? alpha * v : v; });
}
Status RunSigmoid(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  return Unary(n, in, out, math::Sigmoid);
}
Status RunTanh(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  return Unary(n, in, out, math::Tanh);
}
Status RunSoftmax(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  return SoftmaxImpl(n, in, out, false);
}
Status RunLogSoftmax(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  return SoftmaxImpl(n, in, out, true);
}

Status RunClip(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  float lo = n.Float("min", std::numeric_limits<float>::lowest());
  float hi = n.Float("max", std::numeric_limits<float>::max());
  if (n.opset >= 11) {
    ASSIGN_OR_RETURN(lo, ScalarBound(n, in.size() > 1 ? in[1] : nullptr, std::numeric_limits<float>::lowest(), "min"));
    ASSIGN_OR_RETURN(hi, ScalarBound(n, in.size() > 2 ? in[2] : nullptr, std::numeric_limits<float>::max(), "max"));
  }
  // NaN stays NaN; when min > max every value becomes max (ONNX: min(max(x, lo), hi)).
  return Unary(n, in, out, [lo, hi](float v) {
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
