// Elementwise math kernels: unary functions, Pow, activations with parameters, variadic
// Max/Min, comparisons, logic and Where. Broadcasting is numpy's; every output element is
// one fixed expression of its inputs (rules in docs/formats/onnx-semantics.md).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "onnx/ops1_common.h"
#include "tensor/math.h"

namespace lucid::onnx::internal {
namespace {

const float kNaN = std::bit_cast<float>(kCanonicalNanBits);

// y[e] = fn(a[ia], b[ib]) over the broadcast shape, in row-major output order.
template <typename In, typename Out, typename Fn>
Status Binary(const Node& node, const Tensor& a, const Tensor& b, DType out_dtype, Tensor& y, Fn fn) {
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, (BroadcastAll(node, {&a, &b})));
  ASSIGN_OR_RETURN(y, Tensor::Make(out_dtype, shape));
  const In* pa = a.data<In>();
  const In* pb = b.data<In>();
  Out* py = y.data<Out>();
  BroadcastCursor cursor(shape, {&a.shape(), &b.shape()});
  for (uint64_t e = 0; e < y.num_elements(); ++e, cursor.Next()) py[e] = fn(pa[cursor.offset(0)], pb[cursor.offset(1)]);
  return Status::Ok();
}

template <typename T, typename Fn>
Status UnaryOf(const Tensor& x, Tensor& y, Fn fn) {
  y = x;
  T* p = y.data<T>();
  for (uint64_t e = 0; e < y.num_elements(); ++e) p[e] = fn(p[e]);
  return Status::Ok();
}

// Float functions: a NaN result is the canonical NaN, whatever NaN went in or came out.
template <typename Fn>
Status FloatUnary(const Node& node, KernelInputs in, std::vector<Tensor>& out, Fn fn) {
  RETURN_IF_ERROR((RequireDType(node, *in[0], "input", {DType::kFloat32})));
  return UnaryOf<float>(*in[0], out[0], [&fn](float v) { return CanonicalNan(fn(v)); });
}

Status SameDType(const Node& node, const Tensor& a, const Tensor& b) {
  if (a.dtype() != b.dtype())
    return InvalidArgument(node.Describe() + ": input dtypes differ (" + std::string(DTypeName(a.dtype())) + " vs " +
                           std::string(DTypeName(b.dtype())) + ")");
  return Status::Ok();
}

// Natural log in double, same method as math::Log (tensor/math.cc) without the final
// rounding to float: x = m·2^e, m ∈ [√½, √2], log m = 2·atanh((m−1)/(m+1)). x > 0, finite.
double LogDouble(double x) {
  uint64_t bits = std::bit_cast<uint64_t>(x);
  int e = static_cast<int>((bits >> 52) & 0x7ff) - 1023;
  double m = std::bit_cast<double>((bits & 0x000fffffffffffffull) | 0x3ff0000000000000ull);
  if (m > 1.41421356237309504880) {
    m *= 0.5;
    e += 1;
  }
  double s = (m - 1.0) / (m + 1.0);
  double s2 = s * s;
  double p = 1.0 / 25.0;
  for (int k = 23; k >= 1; k -= 2) p = p * s2 + 1.0 / k;
  constexpr double kLn2Hi = 6.93147180369123816490e-01;
  constexpr double kLn2Lo = 1.90821492927058770002e-10;
  return (e * kLn2Hi) + (2.0 * s * p + e * kLn2Lo);
}

// |x|^n for an integer n ≥ 0 by square-and-multiply from the low bit, in double.
double PowInt(double x, uint64_t n) {
  double result = 1.0, base = x;
  while (n) {
    if (n & 1) result = result * base;
    base = base * base;
    n >>= 1;
  }
  return result;
}

// Canonical float Pow (docs/formats/onnx-semantics.md, "Pow").
float CanonicalPow(float xf, double y) {
  double x = xf;
  if (y == 0.0) return 1.0f;  // even for NaN x (IEEE pow)
  if (x == 1.0) return 1.0f;  // even for NaN y
  if (x != x || y != y) return kNaN;
  bool y_int = std::floor(y) == y;
  bool y_odd = y_int && std::fabs(y) < 9007199254740992.0 && std::fmod(y, 2.0) != 0.0;
  if (x < 0 && !y_int && !std::isinf(y)) return kNaN;
  double sign = (x < 0 && y_odd) ? -1.0 : 1.0;
  double ax = std::fabs(x);
  if (std::isinf(y)) {
    if (ax == 1.0) return 1.0f;
    return static_cast<float>((ax > 1.0) == (y > 0) ? std::numeric_limits<double>::infinity() : 0.0);
  }
  if (ax == 0.0 || std::isinf(ax)) {
    bool big = (ax == 0.0) == (y < 0);  // 0^neg and inf^pos are infinite
    double mag = big ? std::numeric_limits<double>::infinity() : 0.0;
    // The sign of zero/inf follows the base only for odd integer exponents.
    return static_cast<float>(y_odd && std::signbit(x) ? -mag : mag);
  }
  double mag;
  if (y_int && std::fabs(y) <= 64.0) {
    mag = PowInt(ax, static_cast<uint64_t>(std::fabs(y)));
    if (y < 0) mag = 1.0 / mag;
  } else {
    double t = y * LogDouble(ax);
    if (t > 709.0) mag = std::numeric_limits<double>::infinity();
    else if (t < -745.0) mag = 0.0;
    else mag = math::ExpDouble(t);
  }
  return static_cast<float>(sign * mag);
}

// Float base, exponent of type E (ONNX allows mixed types from opset 12).
template <typename E>
Status PowWith(const Node& node, const Tensor& x, const Tensor& y, Tensor& out) {
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, (BroadcastAll(node, {&x, &y})));
  ASSIGN_OR_RETURN(out, Tensor::Make(DType::kFloat32, shape));
  BroadcastCursor c(shape, {&x.shape(), &y.shape()});
  const float* px = x.data<float>();
  const E* pe = y.data<E>();
  float* py = out.data<float>();
  for (uint64_t e = 0; e < out.num_elements(); ++e, c.Next())
    py[e] = CanonicalPow(px[c.offset(0)], static_cast<double>(pe[c.offset(1)]));
  return Status::Ok();
}

// Integer base B (int32/int64), exponent E of any supported type: numpy's x ** y cast to B.
// An integral exponent ≥ 0 is an exact power with wrapping arithmetic; a fractional float
// exponent goes through CanonicalPow in float and truncates toward zero (saturating);
// a negative integral exponent is an error, as in numpy.
template <typename B, typename E>
Status IntPowWith(const Node& node, const Tensor& x, const Tensor& y, Tensor& out) {
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, (BroadcastAll(node, {&x, &y})));
  ASSIGN_OR_RETURN(out, Tensor::Make(x.dtype(), shape));
  BroadcastCursor c(shape, {&x.shape(), &y.shape()});
  const B* px = x.data<B>();
  const E* pe = y.data<E>();
  B* py = out.data<B>();
  using U = std::make_unsigned_t<B>;
  for (uint64_t e = 0; e < out.num_elements(); ++e, c.Next()) {
    B base = px[c.offset(0)];
    E exponent = pe[c.offset(1)];
    double ed = static_cast<double>(exponent);
    if (ed != ed) return InvalidArgument(node.Describe() + ": NaN exponent for an integer base");
    if (std::floor(ed) == ed) {
      if (ed < 0) return InvalidArgument(node.Describe() + ": integer base to a negative integer power");
      // Exact power by squaring, wrapping like numpy's integer arithmetic.
      U result = 1, factor = static_cast<U>(base);
      for (uint64_t k = ed >= 1.8e19 ? ~uint64_t{0} : static_cast<uint64_t>(ed); k > 0; k >>= 1) {
        if (k & 1) result = static_cast<U>(result * factor);
        factor = static_cast<U>(factor * factor);
      }
      py[e] = static_cast<B>(result);
      continue;
    }
    float v = CanonicalPow(static_cast<float>(base), ed);
    double t = std::trunc(static_cast<double>(v));
    if (!(t == t)) return InvalidArgument(node.Describe() + ": integer base to this power has no integer value");
    t = std::clamp(t, static_cast<double>(std::numeric_limits<B>::lowest()),
                   static_cast<double>(std::numeric_limits<B>::max()));
    py[e] = static_cast<B>(t);
  }
  return Status::Ok();
}

// Variadic Max/Min folded left to right: ((x0 op x1) op x2) ...
template <typename T>
T MaxOf(T x, T y) {
  if constexpr (std::is_floating_point_v<T>) {
    if (x != x) return x;
    if (y != y) return y;
  }
  return y > x ? y : x;  // ties (incl. ±0) keep the first operand
}
template <typename T>
T MinOf(T x, T y) {
  if constexpr (std::is_floating_point_v<T>) {
    if (x != x) return x;
    if (y != y) return y;
  }
  return y < x ? y : x;
}

template <bool kMax>
Status RunMaxMin(const Node& node, KernelInputs in, std::vector<Tensor>& out) {
  const Tensor& first = *in[0];
  RETURN_IF_ERROR((RequireDType(node, first, "input 0",
                                {DType::kFloat32, DType::kInt32, DType::kInt64, DType::kInt8, DType::kUint8})));
  Tensor acc = first;
  for (size_t i = 1; i < in.size(); ++i) {
    RETURN_IF_ERROR(SameDType(node, first, *in[i]));
    Tensor next;
    Status st;
    switch (first.dtype()) {
      case DType::kFloat32:
        st = Binary<float, float>(node, acc, *in[i], first.dtype(), next,
                                  [](float x, float y) { return CanonicalNan(kMax ? MaxOf(x, y) : MinOf(x, y)); });
        break;
      case DType::kInt32:
        st = Binary<int32_t, int32_t>(node, acc, *in[i], first.dtype(), next,
                                      [](int32_t x, int32_t y) { return kMax ? MaxOf(x, y) : MinOf(x, y); });
        break;
      case DType::kInt8:
        st = Binary<int8_t, int8_t>(node, acc, *in[i], first.dtype(), next,
                                    [](int8_t x, int8_t y) { return kMax ? MaxOf(x, y) : MinOf(x, y); });
        break;
      case DType::kUint8:
        st = Binary<uint8_t, uint8_t>(node, acc, *in[i], first.dtype(), next,
                                      [](uint8_t x, uint8_t y) { return kMax ? MaxOf(x, y) : MinOf(x, y); });
        break;
      default:
        st = Binary<int64_t, int64_t>(node, acc, *in[i], first.dtype(), next,
                                      [](int64_t x, int64_t y) { return kMax ? MaxOf(x, y) : MinOf(x, y); });
        break;
    }
    RETURN_IF_ERROR(st);
    acc = std::move(next);
  }
  CanonicalizeNans(acc);  // also a single input's NaNs
  out[0] = std::move(acc);
  return Status::Ok();
}

enum class Cmp { kEqual, kLess, kGreater };

template <typename T>
Status Compare(const Node& node, Cmp op, const Tensor& a, const Tensor& b, Tensor& y) {
  return Binary<T, uint8_t>(node, a, b, DType::kBool, y, [op](T x, T z) -> uint8_t {
    switch (op) {  // IEEE: every comparison with NaN is false
      case Cmp::kEqual: return x == z;
      case Cmp::kLess: return x < z;
      case Cmp::kGreater: return x > z;
    }
    return 0;
  });
}

Status RunCompare(const Node& node, Cmp op, KernelInputs in, std::vector<Tensor>& out) {
  const Tensor& a = *in[0];
  const Tensor& b = *in[1];
  RETURN_IF_ERROR(SameDType(node, a, b));
  switch (a.dtype()) {
    case DType::kFloat32: return Compare<float>(node, op, a, b, out[0]);
    case DType::kInt32: return Compare<int32_t>(node, op, a, b, out[0]);
    case DType::kInt64: return Compare<int64_t>(node, op, a, b, out[0]);
    case DType::kBool:
    case DType::kUint8:
    case DType::kInt8:
      if (op == Cmp::kEqual || a.dtype() != DType::kBool)
        return a.dtype() == DType::kInt8 ? Compare<int8_t>(node, op, a, b, out[0]) : Compare<uint8_t>(node, op, a, b, out[0]);
      break;
  }
  return Unimplemented(node.Describe() + ": dtype " + std::string(DTypeName(a.dtype())) + " is not supported");
}

}  // namespace

Status RunExp(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  return FloatUnary(n, in, out, math::Exp);
}
Status RunLog(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  return FloatUnary(n, in, out, math::Log);
}
Status RunSqrt(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  return FloatUnary(n, in, out, [](float v) { return std::sqrt(v); });  // IEEE: correctly rounded
}
Status RunErf(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  return FloatUnary(n, in, out, math::Erf);
}
Status RunReciprocal(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  return FloatUnary(n, in, out, [](float v) { return 1.0f / v; });
}

Status RunAbs(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  RETURN_IF_ERROR((RequireDType(n, x, "input", {DType::kFloat32, DType::kInt32, DType::kInt64})));
  if (x.dtype() == DType::kFloat32) return UnaryOf<float>(x, out[0], [](float v) { return CanonicalNan(std::fabs(v)); });
  // Two's complement: |INT_MIN| wraps to INT_MIN, like numpy.
  if (x.dtype() == DType::kInt32)
    return UnaryOf<int32_t>(x, out[0], [](int32_t v) { return v < 0 ? static_cast<int32_t>(0u - static_cast<uint32_t>(v)) : v; });
  return UnaryOf<int64_t>(x, out[0], [](int64_t v) { return v < 0 ? static_cast<int64_t>(0ull - static_cast<uint64_t>(v)) : v; });
}

Status RunNeg(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  RETURN_IF_ERROR((RequireDType(n, x, "input", {DType::kFloat32, DType::kInt32, DType::kInt64})));
  if (x.dtype() == DType::kFloat32) return UnaryOf<float>(x, out[0], [](float v) { return CanonicalNan(-v); });
  if (x.dtype() == DType::kInt32)
    return UnaryOf<int32_t>(x, out[0], [](int32_t v) { return static_cast<int32_t>(0u - static_cast<uint32_t>(v)); });
  return UnaryOf<int64_t>(x, out[0], [](int64_t v) { return static_cast<int64_t>(0ull - static_cast<uint64_t>(v)); });
}

Status RunPow(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  const Tensor& y = *in[1];
  RETURN_IF_ERROR((RequireDType(n, x, "base", {DType::kFloat32, DType::kInt32, DType::kInt64})));
  RETURN_IF_ERROR((RequireDType(n, y, "exponent", {DType::kFloat32, DType::kInt32, DType::kInt64})));
  if (x.dtype() != DType::kFloat32) {
    bool b32 = x.dtype() == DType::kInt32;
    switch (y.dtype()) {
      case DType::kFloat32: return b32 ? IntPowWith<int32_t, float>(n, x, y, out[0]) : IntPowWith<int64_t, float>(n, x, y, out[0]);
      case DType::kInt32: return b32 ? IntPowWith<int32_t, int32_t>(n, x, y, out[0]) : IntPowWith<int64_t, int32_t>(n, x, y, out[0]);
      default: return b32 ? IntPowWith<int32_t, int64_t>(n, x, y, out[0]) : IntPowWith<int64_t, int64_t>(n, x, y, out[0]);
    }
  }
  switch (y.dtype()) {
    case DType::kFloat32: return PowWith<float>(n, x, y, out[0]);
    case DType::kInt32: return PowWith<int32_t>(n, x, y, out[0]);
    default: return PowWith<int64_t>(n, x, y, out[0]);
  }
}

Status RunGelu(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  if (n.Str("approximate", "none") == "tanh")
    return FloatUnary(n, in, out, [](float x) {
      float inner = 0.7978845608f * (x + 0.044715f * x * x * x);
      return 0.5f * x * (1.0f + math::Tanh(inner));
    });
  return FloatUnary(n, in, out, [](float x) { return 0.5f * x * (1.0f + math::Erf(x * 0.7071067812f)); });
}

Status RunElu(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  float alpha = n.Float("alpha", 1.0f);
  return FloatUnary(n, in, out, [alpha](float x) {
    if (!(x < 0.0f)) return x;  // NaN passes through
    float em1 = x < -104.0f ? -1.0f : static_cast<float>(math::Expm1Double(x));
    return alpha * em1;
  });
}

Status RunHardSigmoid(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  float alpha = n.Float("alpha", 0.2f), beta = n.Float("beta", 0.5f);
  return FloatUnary(n, in, out, [alpha, beta](float x) {
    float v = alpha * x + beta;
    if (v != v) return v;
    return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
  });
}

Status RunPRelu(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  const Tensor& slope = *in[1];
  RETURN_IF_ERROR((RequireDType(n, x, "input", {DType::kFloat32})));
  RETURN_IF_ERROR((RequireDType(n, slope, "slope", {DType::kFloat32})));
  // Unidirectional: the slope broadcasts to X's shape, never the other way.
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, (BroadcastAll(n, {&x, &slope})));
  if (shape != x.shape())
    return InvalidArgument(n.Describe() + ": slope " + ShapeString(slope.shape()) + " does not broadcast to X " +
                           ShapeString(x.shape()));
  return Binary<float, float>(n, x, slope, DType::kFloat32, out[0],
                              [](float v, float s) { return CanonicalNan(v < 0.0f ? s * v : v); });
}

Status RunMax(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) { return RunMaxMin<true>(n, in, out); }
Status RunMin(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) { return RunMaxMin<false>(n, in, out); }
Status RunEqual(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) { return RunCompare(n, Cmp::kEqual, in, out); }
Status RunLess(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) { return RunCompare(n, Cmp::kLess, in, out); }
Status RunGreater(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) { return RunCompare(n, Cmp::kGreater, in, out); }

Status RunNot(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  RETURN_IF_ERROR((RequireDType(n, *in[0], "input", {DType::kBool})));
  return UnaryOf<uint8_t>(*in[0], out[0], [](uint8_t v) -> uint8_t { return v ? 0 : 1; });
}

Status RunAnd(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  RETURN_IF_ERROR((RequireDType(n, *in[0], "A", {DType::kBool})));
  RETURN_IF_ERROR((RequireDType(n, *in[1], "B", {DType::kBool})));
  return Binary<uint8_t, uint8_t>(n, *in[0], *in[1], DType::kBool, out[0], [](uint8_t a, uint8_t b) -> uint8_t { return a && b; });
}

Status RunWhere(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& cond = *in[0];
  const Tensor& a = *in[1];
  const Tensor& b = *in[2];
  RETURN_IF_ERROR((RequireDType(n, cond, "condition", {DType::kBool})));
  RETURN_IF_ERROR(SameDType(n, a, b));
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, (BroadcastAll(n, {&cond, &a, &b})));
  ASSIGN_OR_RETURN(out[0], Tensor::Make(a.dtype(), shape));
  size_t size = DTypeSize(a.dtype());
  const uint8_t* pc = cond.data<uint8_t>();
  const uint8_t* pa = a.data<uint8_t>();
  const uint8_t* pb = b.data<uint8_t>();
  uint8_t* py = out[0].data<uint8_t>();
  BroadcastCursor c(shape, {&cond.shape(), &a.shape(), &b.shape()});
  for (uint64_t e = 0; e < out[0].num_elements(); ++e, c.Next()) {
    const uint8_t* src = pc[c.offset(0)] ? pa + c.offset(1) * size : pb + c.offset(2) * size;
    std::memcpy(py + e * size, src, size);
  }
  return Status::Ok();
}

Status ValidateMathOps(Node& n) {
  if (n.op_type == "Gelu") {
    RETURN_IF_ERROR(ExpectKind(n, "approximate", Attr::Kind::kString));
    if (n.opset < 20) return InvalidArgument(n.Describe() + ": Gelu is an ai.onnx op from opset 20 (model has " + std::to_string(n.opset) + ")");
    std::string mode = n.Str("approximate", "none");
    if (mode != "none" && mode != "tanh")
      return InvalidArgument(n.Describe() + ": approximate must be 'none' or 'tanh', got '" + mode + "'");
  }
  for (const char* attr : {"alpha", "beta"}) RETURN_IF_ERROR(ExpectKind(n, attr, Attr::Kind::kFloat));
  return Status::Ok();
}

}  // namespace lucid::onnx::internal
