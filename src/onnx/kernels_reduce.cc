// Reductions and scans: ReduceSum/Mean/Max/Min/Prod/L2, ArgMax, CumSum, TopK, Einsum.
// Every reduction visits its elements in row-major order of the reduced index space and
// accumulates sequentially; threads split only output elements, so results do not depend
// on the thread count (rules in docs/formats/onnx-semantics.md).
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "onnx/ops1_common.h"

namespace lucid::onnx::internal {
namespace {

// ---- Reduce* ----

enum class Reduce { kSum, kMean, kMax, kMin, kProd, kL2 };

Reduce ReduceKind(std::string_view op) {
  if (op == "ReduceSum") return Reduce::kSum;
  if (op == "ReduceMean") return Reduce::kMean;
  if (op == "ReduceMax") return Reduce::kMax;
  if (op == "ReduceMin") return Reduce::kMin;
  if (op == "ReduceProd") return Reduce::kProd;
  return Reduce::kL2;
}

// Opset from which axes is an input instead of an attribute.
int64_t AxesInputOpset(std::string_view op) { return op == "ReduceSum" ? 13 : 18; }

// Iterates the elements of a sub-space (dims `dims` of a tensor with `strides`) in
// row-major order, calling fn(offset).
template <typename Fn>
void ForEachOffset(const std::vector<int64_t>& dims, const std::vector<int64_t>& strides, int64_t base, Fn fn) {
  uint64_t count = 1;
  for (int64_t d : dims) count *= static_cast<uint64_t>(d);
  if (count == 0) return;
  std::vector<int64_t> index(dims.size(), 0);
  int64_t offset = base;
  for (uint64_t e = 0; e < count; ++e) {
    fn(offset);
    for (size_t d = dims.size(); d-- > 0;) {
      offset += strides[d];
      if (++index[d] < dims[d]) break;
      offset -= strides[d] * index[d];
      index[d] = 0;
    }
  }
}

// Splits the input dims into kept and reduced ones, with their strides.
struct ReducePlan {
  std::vector<int64_t> kept_dims, kept_strides, reduced_dims, reduced_strides, out_shape;
  uint64_t reduced_count = 1;
};

ReducePlan PlanReduce(const std::vector<int64_t>& shape, const std::vector<bool>& reduced, bool keepdims) {
  ReducePlan plan;
  std::vector<int64_t> strides = Strides(shape);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (reduced[d]) {
      plan.reduced_dims.push_back(shape[d]);
      plan.reduced_strides.push_back(strides[d]);
      plan.reduced_count *= static_cast<uint64_t>(shape[d]);
      if (keepdims) plan.out_shape.push_back(1);
    } else {
      plan.kept_dims.push_back(shape[d]);
      plan.kept_strides.push_back(strides[d]);
      plan.out_shape.push_back(shape[d]);
    }
  }
  return plan;
}

// Offset of output element `e` (row-major over kept dims) in the input.
int64_t KeptOffset(const ReducePlan& plan, uint64_t e) {
  int64_t offset = 0;
  for (size_t d = plan.kept_dims.size(); d-- > 0;) {
    uint64_t dim = static_cast<uint64_t>(plan.kept_dims[d]);
    offset += static_cast<int64_t>(e % dim) * plan.kept_strides[d];
    e /= dim;
  }
  return offset;
}

template <typename T>
T ReduceOne(Reduce kind, const T* px, const ReducePlan& plan, int64_t base) {
  if constexpr (std::is_floating_point_v<T>) {
    if (kind == Reduce::kMax || kind == Reduce::kMin) {
      // Sequential scan from ∓inf; any NaN makes the result NaN.
      T acc = kind == Reduce::kMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
      bool nan = false;
      ForEachOffset(plan.reduced_dims, plan.reduced_strides, base, [&](int64_t o) {
        T v = px[o];
        if (v != v) nan = true;
        else if (kind == Reduce::kMax ? v > acc : v < acc) acc = v;
      });
      return nan ? std::numeric_limits<T>::quiet_NaN() : acc;
    }
    T acc = kind == Reduce::kProd ? T(1) : T(0);
    ForEachOffset(plan.reduced_dims, plan.reduced_strides, base, [&](int64_t o) {
      T v = px[o];
      if (kind == Reduce::kProd) acc = acc * v;
      else if (kind == Reduce::kL2) acc = acc + v * v;
      else acc = acc + v;
    });
    if (kind == Reduce::kMean) return acc / static_cast<T>(plan.reduced_count);
    if (kind == Reduce::kL2) return std::sqrt(acc);
    return acc;
  } else {
    using U = std::make_unsigned_t<T>;  // integer sums and products wrap
    U acc = kind == Reduce::kProd ? U(1) : U(0);
    T best = kind == Reduce::kMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
    ForEachOffset(plan.reduced_dims, plan.reduced_strides, base, [&](int64_t o) {
      T v = px[o];
      if (kind == Reduce::kProd) acc = static_cast<U>(acc * static_cast<U>(v));
      else if (kind == Reduce::kSum) acc = static_cast<U>(acc + static_cast<U>(v));
      else if (kind == Reduce::kMax ? v > best : v < best) best = v;
    });
    return kind == Reduce::kMax || kind == Reduce::kMin ? best : static_cast<T>(acc);
  }
}

template <typename T>
void ReduceAll(Reduce kind, const Tensor& x, const ReducePlan& plan, Tensor& y, int threads) {
  const T* px = x.data<T>();
  T* py = y.data<T>();
  ParallelFor(static_cast<int64_t>(y.num_elements()), threads, [&](int64_t begin, int64_t end) {
    for (int64_t e = begin; e < end; ++e) py[e] = ReduceOne(kind, px, plan, KeptOffset(plan, static_cast<uint64_t>(e)));
  });
}

// Resolves the reduced axes (attribute or input form). Empty `reduced` means identity.
Result<std::vector<bool>> ReducedAxes(const Node& node, KernelInputs in, int64_t rank, bool& identity) {
  std::vector<int64_t> axes;
  bool input_form = node.opset >= AxesInputOpset(node.op_type);
  if (input_form) {
    if (in.size() > 1 && in[1] != nullptr) {
      ASSIGN_OR_RETURN(axes, ReadIndexTensor(node, in[1], "axes"));
    }
  } else {
    axes = node.Ints("axes");
  }
  std::vector<bool> reduced(rank, axes.empty());
  identity = axes.empty() && input_form && node.Int("noop_with_empty_axes", 0) == 1;
  for (int64_t a : axes) {
    ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(a, rank, node));
    if (reduced[axis]) return InvalidArgument(node.Describe() + ": axes contain axis " + std::to_string(axis) + " twice");
    reduced[axis] = true;
  }
  return reduced;
}

// ---- Einsum ----

struct EinsumSpec {
  std::vector<std::string> operands;
  std::string output;
  std::string summed;  // letters not in the output, in order of first appearance
};

Result<EinsumSpec> ParseEinsum(const Node& node, std::string equation) {
  auto refuse = [&](const std::string& why) {
    return Unimplemented(node.Describe() + ": Einsum equation '" + node.Str("equation", "") + "' is not supported (" +
                         why + ")");
  };
  equation.erase(std::remove(equation.begin(), equation.end(), ' '), equation.end());
  if (equation.find("...") != std::string::npos) return refuse("ellipsis");
  EinsumSpec spec;
  size_t arrow = equation.find("->");
  std::string lhs = arrow == std::string::npos ? equation : equation.substr(0, arrow);
  size_t start = 0;
  while (true) {
    size_t comma = lhs.find(',', start);
    spec.operands.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (spec.operands.size() > 2) return refuse("more than two operands");
  int count[128] = {};
  for (const std::string& term : spec.operands) {
    int seen[128] = {};
    for (char c : term) {
      if (!std::isalpha(static_cast<unsigned char>(c))) return refuse(std::string("character '") + c + "'");
      if (seen[static_cast<int>(c)]++) return refuse("repeated index in one operand (diagonal)");
      ++count[static_cast<int>(c)];
    }
  }
  if (arrow != std::string::npos) {
    spec.output = equation.substr(arrow + 2);
    int seen[128] = {};
    for (char c : spec.output) {
      if (!std::isalpha(static_cast<unsigned char>(c))) return refuse(std::string("character '") + c + "' in output");
      if (seen[static_cast<int>(c)]++) return refuse("repeated output index");
      if (count[static_cast<int>(c)] == 0) return refuse(std::string("output index '") + c + "' is in no operand");
    }
  } else {
    for (int c = 0; c < 128; ++c)  // implicit output: letters used once, alphabetical
      if (count[c] == 1) spec.output += static_cast<char>(c);
  }
  for (const std::string& term : spec.operands)
    for (char c : term)
      if (spec.output.find(c) == std::string::npos && spec.summed.find(c) == std::string::npos) spec.summed += c;
  return spec;
}

}  // namespace

Status ValidateReduce(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "axes", Attr::Kind::kInts));
  for (const char* attr : {"keepdims", "noop_with_empty_axes"}) {
    RETURN_IF_ERROR(ExpectKind(n, attr, Attr::Kind::kInt));
    if (n.Int(attr, 0) != 0 && n.Int(attr, 0) != 1)
      return InvalidArgument(n.Describe() + ": " + attr + " must be 0 or 1");
  }
  bool input_form = n.opset >= AxesInputOpset(n.op_type);
  if (input_form && n.Has("axes"))
    return InvalidArgument(n.Describe() + ": axes is an input since opset " + std::to_string(AxesInputOpset(n.op_type)) +
                           ", not an attribute");
  if (!input_form && n.inputs.size() > 1)
    return InvalidArgument(n.Describe() + ": before opset " + std::to_string(AxesInputOpset(n.op_type)) +
                           " axes is an attribute, not an input");
  if (!input_form && n.Has("noop_with_empty_axes"))
    return InvalidArgument(n.Describe() + ": noop_with_empty_axes needs opset " + std::to_string(AxesInputOpset(n.op_type)));
  return Status::Ok();
}

Status RunReduce(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& x = *in[0];
  Reduce kind = ReduceKind(n.op_type);
  bool float_only = kind == Reduce::kMean || kind == Reduce::kL2;
  bool bool_ok = kind == Reduce::kMax || kind == Reduce::kMin;  // ONNX: bool ReduceMax/Min (opset 20)
  if (x.dtype() == DType::kBool && !bool_ok)
    return Unimplemented(n.Describe() + ": bool input is only defined for ReduceMax and ReduceMin");
  if (x.dtype() != DType::kBool)
    RETURN_IF_ERROR(float_only ? RequireDType(n, x, "input", {DType::kFloat32})
                               : RequireDType(n, x, "input", {DType::kFloat32, DType::kInt32, DType::kInt64}));
  bool identity = false;
  ASSIGN_OR_RETURN(std::vector<bool> reduced, ReducedAxes(n, in, static_cast<int64_t>(x.rank()), identity));
  if (identity) {
    out[0] = x;
    return Status::Ok();
  }
  ReducePlan plan = PlanReduce(x.shape(), reduced, n.Int("keepdims", 1) == 1);
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(x.dtype(), plan.out_shape));
  switch (x.dtype()) {
    case DType::kFloat32:
      ReduceAll<float>(kind, x, plan, y, ctx.threads);
      CanonicalizeNans(y);
      break;
    case DType::kInt32: ReduceAll<int32_t>(kind, x, plan, y, ctx.threads); break;
    case DType::kBool:
      // As uint8 0/1: max starts at 0 (false), min at 255, which an empty set leaves → true.
      ReduceAll<uint8_t>(kind, x, plan, y, ctx.threads);
      for (uint64_t e = 0; e < y.num_elements(); ++e) y.data<uint8_t>()[e] = y.data<uint8_t>()[e] != 0;
      break;
    default: ReduceAll<int64_t>(kind, x, plan, y, ctx.threads); break;
  }
  out[0] = std::move(y);
  return Status::Ok();
}

// ---- ArgMax ----

Status ValidateArgMax(Node& n) {
  for (const char* attr : {"axis", "keepdims", "select_last_index"}) RETURN_IF_ERROR(ExpectKind(n, attr, Attr::Kind::kInt));
  for (const char* attr : {"keepdims", "select_last_index"})
    if (n.Int(attr, 0) != 0 && n.Int(attr, 0) != 1) return InvalidArgument(n.Describe() + ": " + attr + " must be 0 or 1");
  if (n.opset < 12 && n.Has("select_last_index"))
    return InvalidArgument(n.Describe() + ": select_last_index needs opset 12");
  return Status::Ok();
}

template <typename T>
void ArgMaxLoop(const Tensor& x, uint64_t outer, uint64_t len, uint64_t inner, bool last, int64_t* py) {
  const T* px = x.data<T>();
  for (uint64_t o = 0; o < outer; ++o)
    for (uint64_t i = 0; i < inner; ++i) {
      const T* p = px + o * len * inner + i;
      uint64_t best = 0;
      for (uint64_t j = 1; j < len; ++j)  // NaN never compares greater, so it is never picked after index 0
        if (last ? p[j * inner] >= p[best * inner] : p[j * inner] > p[best * inner]) best = j;
      py[o * inner + i] = static_cast<int64_t>(best);
    }
}

Status RunArgMax(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  RETURN_IF_ERROR((RequireDType(n, x, "input", {DType::kFloat32, DType::kInt32, DType::kInt64})));
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(n.Int("axis", 0), static_cast<int64_t>(x.rank()), n));
  const auto& s = x.shape();
  if (s[axis] == 0) return InvalidArgument(n.Describe() + ": ArgMax over an empty axis");
  std::vector<int64_t> shape = s;
  if (n.Int("keepdims", 1) == 1) shape[axis] = 1;
  else shape.erase(shape.begin() + axis);
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kInt64, shape));
  uint64_t outer = Product(s, 0, axis), len = static_cast<uint64_t>(s[axis]), inner = Product(s, axis + 1, s.size());
  bool last = n.Int("select_last_index", 0) == 1;
  if (x.dtype() == DType::kFloat32) ArgMaxLoop<float>(x, outer, len, inner, last, y.data<int64_t>());
  else if (x.dtype() == DType::kInt32) ArgMaxLoop<int32_t>(x, outer, len, inner, last, y.data<int64_t>());
  else ArgMaxLoop<int64_t>(x, outer, len, inner, last, y.data<int64_t>());
  out[0] = std::move(y);
  return Status::Ok();
}

// ---- CumSum ----

Status ValidateCumSum(Node& n) {
  for (const char* attr : {"exclusive", "reverse"}) {
    RETURN_IF_ERROR(ExpectKind(n, attr, Attr::Kind::kInt));
    if (n.Int(attr, 0) != 0 && n.Int(attr, 0) != 1) return InvalidArgument(n.Describe() + ": " + attr + " must be 0 or 1");
  }
  return Status::Ok();
}

template <typename T>
void CumSumLoop(const Tensor& x, Tensor& y, uint64_t outer, uint64_t len, uint64_t inner, bool exclusive, bool reverse) {
  using Acc = typename std::conditional_t<std::is_floating_point_v<T>, std::type_identity<T>,
                                          std::make_unsigned<T>>::type;  // ints wrap
  const T* px = x.data<T>();
  T* py = y.data<T>();
  for (uint64_t o = 0; o < outer; ++o)
    for (uint64_t i = 0; i < inner; ++i) {
      Acc acc = 0;
      for (uint64_t step = 0; step < len; ++step) {
        uint64_t j = reverse ? len - 1 - step : step;
        uint64_t at = (o * len + j) * inner + i;
        if (exclusive) {
          py[at] = static_cast<T>(acc);
          acc = static_cast<Acc>(acc + static_cast<Acc>(px[at]));
        } else {
          acc = static_cast<Acc>(acc + static_cast<Acc>(px[at]));
          py[at] = static_cast<T>(acc);
        }
      }
    }
}

Status RunCumSum(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  RETURN_IF_ERROR((RequireDType(n, x, "input", {DType::kFloat32, DType::kInt32, DType::kInt64})));
  ASSIGN_OR_RETURN(std::vector<int64_t> axis_values, ReadIndexTensor(n, in[1], "axis"));
  if (axis_values.size() != 1) return InvalidArgument(n.Describe() + ": axis must hold exactly one value");
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axis_values[0], static_cast<int64_t>(x.rank()), n));
  const auto& s = x.shape();
  Tensor y = x;
  uint64_t outer = Product(s, 0, axis), len = static_cast<uint64_t>(s[axis]), inner = Product(s, axis + 1, s.size());
  bool exclusive = n.Int("exclusive", 0) == 1, reverse = n.Int("reverse", 0) == 1;
  if (x.dtype() == DType::kFloat32) CumSumLoop<float>(x, y, outer, len, inner, exclusive, reverse);
  else if (x.dtype() == DType::kInt32) CumSumLoop<int32_t>(x, y, outer, len, inner, exclusive, reverse);
  else CumSumLoop<int64_t>(x, y, outer, len, inner, exclusive, reverse);
  CanonicalizeNans(y);
  out[0] = std::move(y);
  return Status::Ok();
}

// ---- TopK ----

Status ValidateTopK(Node& n) {
  for (const char* attr : {"axis", "k", "largest", "sorted"}) RETURN_IF_ERROR(ExpectKind(n, attr, Attr::Kind::kInt));
  for (const char* attr : {"largest", "sorted"}) {
    if (n.Has(attr) && n.opset < 11) return InvalidArgument(n.Describe() + ": " + attr + " needs opset 11");
    if (n.Int(attr, 1) != 0 && n.Int(attr, 1) != 1) return InvalidArgument(n.Describe() + ": " + attr + " must be 0 or 1");
  }
  if (n.opset < 10) {
    if (!n.Has("k")) return InvalidArgument(n.Describe() + ": attribute 'k' is required before opset 10");
    if (n.inputs.size() > 1) return InvalidArgument(n.Describe() + ": before opset 10 k is an attribute, not an input");
  } else {
    if (n.Has("k")) return InvalidArgument(n.Describe() + ": k is an input since opset 10, not an attribute");
    if (n.inputs.size() < 2) return InvalidArgument(n.Describe() + ": input 'K' is required since opset 10");
  }
  return Status::Ok();
}

template <typename T>
void TopKLoop(const Tensor& x, Tensor& values, Tensor& indices, uint64_t outer, uint64_t len, uint64_t inner, uint64_t k,
              bool largest) {
  const T* px = x.data<T>();
  T* pv = values.data<T>();
  int64_t* pi = indices.data<int64_t>();
  std::vector<uint64_t> order(len);
  for (uint64_t o = 0; o < outer; ++o)
    for (uint64_t i = 0; i < inner; ++i) {
      const T* p = px + o * len * inner + i;
      // Total order: NaN above +inf; equal values by lower index first.
      auto before = [&](uint64_t a, uint64_t b) {
        T va = p[a * inner], vb = p[b * inner];
        bool na = va != va, nb = vb != vb;
        if (na || nb) {
          if (na && nb) return a < b;
          return largest ? na : nb;
        }
        if (va != vb) return largest ? va > vb : va < vb;
        return a < b;
      };
      for (uint64_t j = 0; j < len; ++j) order[j] = j;
      std::partial_sort(order.begin(), order.begin() + static_cast<int64_t>(k), order.end(), before);
      for (uint64_t j = 0; j < k; ++j) {
        uint64_t at = (o * k + j) * inner + i;
        pv[at] = p[order[j] * inner];
        pi[at] = static_cast<int64_t>(order[j]);
      }
    }
}

Status RunTopK(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  RETURN_IF_ERROR((RequireDType(n, x, "input", {DType::kFloat32, DType::kInt32, DType::kInt64})));
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(n.Int("axis", -1), static_cast<int64_t>(x.rank()), n));
  int64_t k = n.Int("k", 0);
  if (n.opset >= 10) {
    ASSIGN_OR_RETURN(std::vector<int64_t> kv, ReadIndexTensor(n, in[1], "K"));
    if (kv.size() != 1) return InvalidArgument(n.Describe() + ": K must hold exactly one value");
    k = kv[0];
  }
  const auto& s = x.shape();
  if (k < 0 || k > s[axis])
    return InvalidArgument(n.Describe() + ": k = " + std::to_string(k) + " is outside [0, " + std::to_string(s[axis]) + "]");
  std::vector<int64_t> shape = s;
  shape[axis] = k;
  ASSIGN_OR_RETURN(Tensor values, Tensor::Make(x.dtype(), shape));
  ASSIGN_OR_RETURN(Tensor indices, Tensor::Make(DType::kInt64, shape));
  uint64_t outer = Product(s, 0, axis), len = static_cast<uint64_t>(s[axis]), inner = Product(s, axis + 1, s.size());
  bool largest = n.Int("largest", 1) == 1;
  uint64_t uk = static_cast<uint64_t>(k);
  if (x.dtype() == DType::kFloat32) TopKLoop<float>(x, values, indices, outer, len, inner, uk, largest);
  else if (x.dtype() == DType::kInt32) TopKLoop<int32_t>(x, values, indices, outer, len, inner, uk, largest);
  else TopKLoop<int64_t>(x, values, indices, outer, len, inner, uk, largest);
  out[0] = std::move(values);
  if (out.size() > 1) out[1] = std::move(indices);
  return Status::Ok();
}

// ---- Einsum ----

Status ValidateEinsum(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "equation", Attr::Kind::kString));
  if (!n.Has("equation")) return InvalidArgument(n.Describe() + ": attribute 'equation' is required");
  ASSIGN_OR_RETURN(EinsumSpec spec, ParseEinsum(n, n.Str("equation", "")));
  if (spec.operands.size() != n.inputs.size())
    return InvalidArgument(n.Describe() + ": equation '" + n.Str("equation", "") + "' names " +
                           std::to_string(spec.operands.size()) + " operands, node has " + std::to_string(n.inputs.size()) +
                           " inputs");
  return Status::Ok();
}

Status RunEinsum(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  ASSIGN_OR_RETURN(EinsumSpec spec, ParseEinsum(n, n.Str("equation", "")));
  size_t operands = spec.operands.size();
  int64_t dim[128];
  std::fill(std::begin(dim), std::end(dim), -1);
  for (size_t i = 0; i < operands; ++i) {
    const Tensor& t = *in[i];
    RETURN_IF_ERROR((RequireDType(n, t, "input " + std::to_string(i), {DType::kFloat32})));
    const std::string& term = spec.operands[i];
    if (t.rank() != term.size())
      return InvalidArgument(n.Describe() + ": operand " + std::to_string(i) + " has rank " + std::to_string(t.rank()) +
                             ", the equation gives '" + term + "'");
    for (size_t d = 0; d < term.size(); ++d) {
      int64_t& known = dim[static_cast<int>(term[d])];
      if (known >= 0 && known != t.shape()[d])
        return InvalidArgument(n.Describe() + ": index '" + std::string(1, term[d]) + "' has sizes " +
                               std::to_string(known) + " and " + std::to_string(t.shape()[d]));
      known = t.shape()[d];
    }
  }
  // Per letter, the element stride in each operand (0 where the operand lacks it).
  auto strides_for = [&](const std::string& letters) {
    std::vector<std::vector<int64_t>> per_operand(operands, std::vector<int64_t>(letters.size(), 0));
    for (size_t i = 0; i < operands; ++i) {
      std::vector<int64_t> st = Strides(in[i]->shape());
      for (size_t l = 0; l < letters.size(); ++l) {
        size_t at = spec.operands[i].find(letters[l]);
        if (at != std::string::npos) per_operand[i][l] = st[at];
      }
    }
    return per_operand;
  };
  std::vector<int64_t> out_shape, sum_dims;
  for (char c : spec.output) out_shape.push_back(dim[static_cast<int>(c)]);
  for (char c : spec.summed) sum_dims.push_back(dim[static_cast<int>(c)]);
  auto out_strides = strides_for(spec.output), sum_strides = strides_for(spec.summed);
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kFloat32, out_shape));
  float* py = y.data<float>();
  const float* pa = in[0]->data<float>();
  const float* pb = operands > 1 ? in[1]->data<float>() : nullptr;
  ParallelFor(static_cast<int64_t>(y.num_elements()), ctx.threads, [&](int64_t begin, int64_t end) {
    std::vector<int64_t> index(sum_dims.size());
    for (int64_t e = begin; e < end; ++e) {
      int64_t base[2] = {0, 0};
      uint64_t rest = static_cast<uint64_t>(e);
      for (size_t l = out_shape.size(); l-- > 0;) {
        int64_t idx = static_cast<int64_t>(rest % static_cast<uint64_t>(out_shape[l]));
        rest /= static_cast<uint64_t>(out_shape[l]);
        for (size_t i = 0; i < operands; ++i) base[i] += idx * out_strides[i][l];
      }
      auto term = [&](int64_t oa, int64_t ob) { return pb ? pa[oa] * pb[ob] : pa[oa]; };
      if (sum_dims.empty()) {  // no summation: the product itself (keeps −0 and exact copies)
        py[e] = term(base[0], base[1]);
        continue;
      }
      // Summed indices row-major in order of first appearance; sequential from +0.
      float acc = 0.0f;
      std::fill(index.begin(), index.end(), 0);
      int64_t oa = base[0], ob = base[1];
      uint64_t count = 1;
      for (int64_t d : sum_dims) count *= static_cast<uint64_t>(d);
      for (uint64_t s = 0; s < count; ++s) {
        acc = acc + term(oa, ob);
        for (size_t l = sum_dims.size(); l-- > 0;) {
          oa += sum_strides[0][l];
          if (pb) ob += sum_strides[1][l];
          if (++index[l] < sum_dims[l]) break;
          oa -= sum_strides[0][l] * index[l];
          if (pb) ob -= sum_strides[1][l] * index[l];
          index[l] = 0;
        }
      }
      py[e] = acc;
    }
  });
  CanonicalizeNans(y);
  out[0] = std::move(y);
  return Status::Ok();
}

}  // namespace lucid::onnx::internal
