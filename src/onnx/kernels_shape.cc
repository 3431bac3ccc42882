// Data-movement kernels (any dtype, byte copies) and Cast, Constant, Shape, Gather.
#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

#include "onnx/op_internal.h"

namespace lucid::onnx::internal {
namespace {

// x's data under a new shape (same element count, checked by the caller); moved out of the
// donated input when the executor offers it, copied otherwise.
Tensor WithShape(const Tensor& x, std::vector<int64_t> shape, const KernelContext& ctx) {
  if (Tensor* donor = ctx.Donated(0); donor == &x)
    return *Tensor::FromBytes(x.dtype(), std::move(shape), std::move(donor->mutable_bytes()));
  return *Tensor::FromBytes(x.dtype(), std::move(shape), x.bytes());
}

// Reads a 1-D (or scalar) int64 tensor such as Reshape's shape or Unsqueeze's axes.
Result<std::vector<int64_t>> ReadInt64s(const Node& node, const Tensor* t, std::string_view what) {
  if (t == nullptr) return InvalidArgument(node.Describe() + ": missing input " + std::string(what));
  if (t->dtype() != DType::kInt64 || t->rank() > 1)
    return InvalidArgument(node.Describe() + ": " + std::string(what) + " must be a 1-D int64 tensor");
  const int64_t* p = t->data<int64_t>();
  return std::vector<int64_t>(p, p + t->num_elements());
}

Result<std::vector<int64_t>> NormalizedAxes(const Node& node, std::vector<int64_t> axes, int64_t rank) {
  for (int64_t& a : axes) {
    ASSIGN_OR_RETURN(a, NormalizeAxis(a, rank, node));
  }
  std::vector<int64_t> sorted = axes;
  std::sort(sorted.begin(), sorted.end());
  if (std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end())
    return InvalidArgument(node.Describe() + ": axes contain a duplicate");
  return sorted;
}

template <typename D, typename S>
D ConvertValue(S v) {
  if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D>) {
    // Canonical float → int: NaN → 0, saturate to the range, truncate toward zero.
    if (v != v) return 0;
    if (v <= static_cast<S>(std::numeric_limits<D>::min())) return std::numeric_limits<D>::min();
    if (v >= static_cast<S>(std::numeric_limits<D>::max())) return std::numeric_limits<D>::max();
    return static_cast<D>(v);
  } else {
    return static_cast<D>(v);  // int → int wraps (two's complement); int → float rounds to nearest even
  }
}

template <typename S, typename D>
void CastLoop(const Tensor& x, Tensor& y, bool to_bool) {
  const S* src = x.data<S>();
  D* dst = y.data<D>();
  for (uint64_t i = 0; i < x.num_elements(); ++i)
    dst[i] = to_bool ? static_cast<D>(src[i] != 0 ? 1 : 0) : ConvertValue<D, S>(src[i]);
}

template <typename S>
void CastFrom(const Tensor& x, Tensor& y) {
  switch (y.dtype()) {
    case DType::kFloat32: return CastLoop<S, float>(x, y, false);
    case DType::kUint8: return CastLoop<S, uint8_t>(x, y, false);
    case DType::kInt8: return CastLoop<S, int8_t>(x, y, false);
    case DType::kInt32: return CastLoop<S, int32_t>(x, y, false);
    case DType::kInt64: return CastLoop<S, int64_t>(x, y, false);
    case DType::kBool: return CastLoop<S, uint8_t>(x, y, true);
  }
}

}  // namespace

Status ValidateAxisOps(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "axis", Attr::Kind::kInt));
  RETURN_IF_ERROR(ExpectKind(n, "axes", Attr::Kind::kInts));
  if (n.op_type == "Concat" && !n.Has("axis")) return InvalidArgument(n.Describe() + ": attribute 'axis' is required");
  if (n.op_type == "Squeeze" || n.op_type == "Unsqueeze") {
    if (n.opset >= 13 && n.Has("axes"))
      return InvalidArgument(n.Describe() + ": axes is an input since opset 13, not an attribute");
    if (n.opset < 13 && n.inputs.size() > 1)
      return InvalidArgument(n.Describe() + ": before opset 13 axes is an attribute, not an input");
    if (n.op_type == "Unsqueeze" && n.opset < 13 && !n.Has("axes"))
      return InvalidArgument(n.Describe() + ": attribute 'axes' is required");
    if (n.op_type == "Unsqueeze" && n.opset >= 13 && (n.inputs.size() < 2 || n.inputs[1] < 0))
      return InvalidArgument(n.Describe() + ": input 'axes' is required");
  }
  return Status::Ok();
}

Status RunFlatten(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& x = *in[0];
  int64_t rank = static_cast<int64_t>(x.rank());
  int64_t axis = node.Int("axis", 1);
  if (axis < -rank || axis > rank)
    return InvalidArgument(node.Describe() + ": axis " + std::to_string(axis) + " is out of range for rank " +
                           std::to_string(rank));
  if (axis < 0) axis += rank;
  out[0] = WithShape(x, {static_cast<int64_t>(Product(x.shape(), 0, axis)),
                         static_cast<int64_t>(Product(x.shape(), axis, rank))}, ctx);
  return Status::Ok();
}

Status ValidateReshape(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "allowzero", Attr::Kind::kInt));
  if (n.Int("allowzero", 0) != 0 && n.Int("allowzero", 0) != 1)
    return InvalidArgument(n.Describe() + ": allowzero must be 0 or 1");
  return Status::Ok();
}

Status RunReshape(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& x = *in[0];
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, ReadInt64s(node, in[1], "shape"));
  if (shape.size() > kMaxTensorRank) return InvalidArgument(node.Describe() + ": target rank is too large");
  bool allow_zero = node.Int("allowzero", 0) != 0;
  int infer = -1;
  uint64_t known = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allow_zero) {
      if (i >= x.rank()) return InvalidArgument(node.Describe() + ": 0 at index " + std::to_string(i) + " has no input dim to copy");
      shape[i] = x.shape()[i];
    }
    if (shape[i] == -1) {
      if (infer >= 0) return InvalidArgument(node.Describe() + ": more than one -1 in the target shape");
      infer = static_cast<int>(i);
      continue;
    }
    if (shape[i] < 0 || shape[i] > static_cast<int64_t>(kMaxTensorElements))
      return InvalidArgument(node.Describe() + ": invalid target dim " + std::to_string(shape[i]));
    known *= static_cast<uint64_t>(shape[i]);
    if (known > kMaxTensorElements) return OutOfRange(node.Describe() + ": target shape is too large");
  }
  uint64_t count = x.num_elements();
  if (infer >= 0) {
    if (known == 0 || count % known != 0)
      return InvalidArgument(node.Describe() + ": cannot infer -1 reshaping " + ShapeString(x.shape()) + " to " +
                             ShapeString(shape));
    shape[infer] = static_cast<int64_t>(count / known);
  } else if (known != count) {
    return InvalidArgument(node.Describe() + ": cannot reshape " + ShapeString(x.shape()) + " to " + ShapeString(shape));
  }
  out[0] = WithShape(x, shape, ctx);
  return Status::Ok();
}

Status ValidateTranspose(Node& n) { return ExpectKind(n, "perm", Attr::Kind::kInts); }

namespace {
// Copies x into y = x transposed by perm, one output row (last dim) at a time; elements are
// moved as same-sized unsigned words, so bytes are copied exactly.
template <typename W>
void TransposeRows(const Tensor& x, Tensor& y, const std::vector<int64_t>& perm, const std::vector<int64_t>& in_strides) {
  const size_t rank = y.rank();
  const auto& shape = y.shape();
  const uint64_t total = y.num_elements();
  if (total == 0) return;
  const W* src = reinterpret_cast<const W*>(x.bytes().data());
  W* dst = reinterpret_cast<W*>(y.mutable_bytes().data());
  if (rank == 0) {
    dst[0] = src[0];
    return;
  }
  const int64_t len = shape[rank - 1], step = in_strides[perm[rank - 1]];
  std::vector<int64_t> index(rank, 0);
  int64_t offset = 0;
  for (uint64_t row = 0; row < total / static_cast<uint64_t>(len); ++row) {
    W* out = dst + row * len;
    const W* in = src + offset;
    if (step == 1) {
      for (int64_t j = 0; j < len; ++j) out[j] = in[j];
    } else {
      for (int64_t j = 0; j < len; ++j) out[j] = in[j * step];
    }
    for (size_t d = rank - 1; d-- > 0;) {  // odometer over the outer output dims
      offset += in_strides[perm[d]];
      if (++index[d] < shape[d]) break;
      offset -= in_strides[perm[d]] * index[d];
      index[d] = 0;
    }
  }
}
}  // namespace

Status RunTranspose(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  size_t rank = x.rank();
  std::vector<int64_t> perm = node.Ints("perm");
  if (!node.Has("perm"))
    for (size_t i = 0; i < rank; ++i) perm.push_back(static_cast<int64_t>(rank - 1 - i));
  std::vector<int64_t> sorted = perm;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i)
    if (sorted[i] != static_cast<int64_t>(i) || sorted.size() != rank)
      return InvalidArgument(node.Describe() + ": perm " + ShapeString(perm) + " is not a permutation of rank " +
                             std::to_string(rank));
  std::vector<int64_t> shape(rank), in_strides(rank);
  int64_t stride = 1;
  for (size_t d = rank; d-- > 0;) {
    in_strides[d] = stride;
    stride *= x.shape()[d];
  }
  for (size_t d = 0; d < rank; ++d) shape[d] = x.shape()[perm[d]];
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(x.dtype(), shape));
  switch (DTypeSize(x.dtype())) {
    case 1: TransposeRows<uint8_t>(x, y, perm, in_strides); break;
    case 2: TransposeRows<uint16_t>(x, y, perm, in_strides); break;
    case 4: TransposeRows<uint32_t>(x, y, perm, in_strides); break;
    default: TransposeRows<uint64_t>(x, y, perm, in_strides); break;
  }
  out[0] = std::move(y);
  return Status::Ok();
}

Status RunConcat(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  for (size_t i = 0; i < in.size(); ++i)
    if (in[i] == nullptr) return InvalidArgument(node.Describe() + ": input " + std::to_string(i) + " is missing");
  const Tensor& first = *in[0];
  int64_t rank = static_cast<int64_t>(first.rank());
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node.Int("axis", 0), rank, node));
  std::vector<int64_t> shape = first.shape();
  shape[axis] = 0;
  for (const Tensor* t : in) {
    if (t->dtype() != first.dtype() || static_cast<int64_t>(t->rank()) != rank)
      return InvalidArgument(node.Describe() + ": inputs differ in dtype or rank");
    for (int64_t d = 0; d < rank; ++d)
      if (d != axis && t->shape()[d] != first.shape()[d])
        return InvalidArgument(node.Describe() + ": input shapes " + ShapeString(first.shape()) + " and " +
                               ShapeString(t->shape()) + " differ outside axis " + std::to_string(axis));
    shape[axis] += t->shape()[axis];
  }
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(first.dtype(), shape));
  uint64_t outer = Product(shape, 0, axis);
  size_t elem = DTypeSize(first.dtype());
  uint8_t* dst = y.mutable_bytes().data();
  for (uint64_t o = 0; o < outer; ++o) {
    for (const Tensor* t : in) {
      size_t block = Product(t->shape(), axis, rank) * elem;
      if (block == 0) continue;  // empty input: nothing to copy (and memcpy needs non-null pointers)
      std::memcpy(dst, t->bytes().data() + o * block, block);
      dst += block;
    }
  }
  out[0] = std::move(y);
  return Status::Ok();
}

Status RunSqueeze(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& x = *in[0];
  int64_t rank = static_cast<int64_t>(x.rank());
  std::vector<int64_t> axes = node.Ints("axes");
  bool have_axes = node.Has("axes");
  if (node.opset >= 13 && in.size() > 1 && in[1] != nullptr) {
    ASSIGN_OR_RETURN(axes, ReadInt64s(node, in[1], "axes"));
    have_axes = true;
  }
  std::vector<int64_t> shape;
  if (!have_axes) {
    for (int64_t d : x.shape())
      if (d != 1) shape.push_back(d);
  } else {
    ASSIGN_OR_RETURN(auto sorted, NormalizedAxes(node, axes, rank));
    for (int64_t d = 0; d < rank; ++d) {
      if (std::binary_search(sorted.begin(), sorted.end(), d)) {
        if (x.shape()[d] != 1)
          return InvalidArgument(node.Describe() + ": cannot squeeze axis " + std::to_string(d) + " of size " +
                                 std::to_string(x.shape()[d]));
      } else {
        shape.push_back(x.shape()[d]);
      }
    }
  }
  out[0] = WithShape(x, shape, ctx);
  return Status::Ok();
}

Status RunUnsqueeze(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Tensor& x = *in[0];
  std::vector<int64_t> axes = node.Ints("axes");
  if (node.opset >= 13) {
    ASSIGN_OR_RETURN(axes, ReadInt64s(node, in.size() > 1 ? in[1] : nullptr, "axes"));
  }
  int64_t out_rank = static_cast<int64_t>(x.rank() + axes.size());
  if (out_rank > static_cast<int64_t>(kMaxTensorRank)) return OutOfRange(node.Describe() + ": result rank is too large");
  ASSIGN_OR_RETURN(auto sorted, NormalizedAxes(node, axes, out_rank));
  std::vector<int64_t> shape;
  size_t next = 0;
  for (int64_t d = 0; d < out_rank; ++d)
    shape.push_back(std::binary_search(sorted.begin(), sorted.end(), d) ? 1 : x.shape()[next++]);
  out[0] = WithShape(x, shape, ctx);
  return Status::Ok();
}

Status ValidateShape(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "start", Attr::Kind::kInt));
  return ExpectKind(n, "end", Attr::Kind::kInt);
}

Status RunShape(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  int64_t rank = static_cast<int64_t>(x.rank());
  auto clamp = [rank](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + rank : v, 0, rank); };
  int64_t start = clamp(node.Int("start", 0)), end = clamp(node.Int("end", rank));
  int64_t count = std::max<int64_t>(0, end - start);
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kInt64, {count}));
  for (int64_t i = 0; i < count; ++i) y.data<int64_t>()[i] = x.shape()[start + i];
  out[0] = std::move(y);
  return Status::Ok();
}

Status RunGather(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  const Tensor& indices = *in[1];
  if (x.rank() == 0) return InvalidArgument(node.Describe() + ": data must have rank ≥ 1");
  int64_t rank = static_cast<int64_t>(x.rank());
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(node.Int("axis", 0), rank, node));
  if (indices.dtype() != DType::kInt64 && indices.dtype() != DType::kInt32)
    return InvalidArgument(node.Describe() + ": indices must be int32 or int64");
  std::vector<int64_t> shape(x.shape().begin(), x.shape().begin() + axis);
  shape.insert(shape.end(), indices.shape().begin(), indices.shape().end());
  shape.insert(shape.end(), x.shape().begin() + axis + 1, x.shape().end());
  if (shape.size() > kMaxTensorRank) return OutOfRange(node.Describe() + ": result rank is too large");
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(x.dtype(), shape));
  int64_t dim = x.shape()[axis];
  uint64_t outer = Product(x.shape(), 0, axis), count = indices.num_elements();
  size_t block = Product(x.shape(), axis + 1, rank) * DTypeSize(x.dtype());
  const uint8_t* src = x.bytes().data();
  uint8_t* dst = y.mutable_bytes().data();
  for (uint64_t i = 0; i < count; ++i) {
    int64_t idx = indices.dtype() == DType::kInt64 ? indices.data<int64_t>()[i] : indices.data<int32_t>()[i];
    if (idx < -dim || idx >= dim)
      return InvalidArgument(node.Describe() + ": index " + std::to_string(idx) + " is out of range for axis size " +
                             std::to_string(dim));
  }
  for (uint64_t o = 0; o < outer; ++o) {
    for (uint64_t i = 0; i < count; ++i) {
      int64_t idx = indices.dtype() == DType::kInt64 ? indices.data<int64_t>()[i] : indices.data<int32_t>()[i];
      if (idx < 0) idx += dim;
      std::memcpy(dst, src + (o * dim + idx) * block, block);
      dst += block;
    }
  }
  out[0] = std::move(y);
  return Status::Ok();
}

Status ValidateCast(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "to", Attr::Kind::kInt));
  RETURN_IF_ERROR(ExpectKind(n, "saturate", Attr::Kind::kInt));
  if (!n.Has("to")) return InvalidArgument(n.Describe() + ": attribute 'to' is required");
  auto to = DTypeFromOnnx(static_cast<int32_t>(n.Int("to", 0)));
  if (!to.ok()) return to.status().WithContext(n.Describe());
  return Status::Ok();
}

Status RunCast(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  ASSIGN_OR_RETURN(DType to, DTypeFromOnnx(static_cast<int32_t>(node.Int("to", 0))));
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(to, x.shape()));
  switch (x.dtype()) {
    case DType::kFloat32: CastFrom<float>(x, y); break;
    case DType::kUint8: CastFrom<uint8_t>(x, y); break;
    case DType::kInt8: CastFrom<int8_t>(x, y); break;
    case DType::kInt32: CastFrom<int32_t>(x, y); break;
    case DType::kInt64: CastFrom<int64_t>(x, y); break;
    case DType::kBool: CastFrom<uint8_t>(x, y); break;
  }
  out[0] = std::move(y);
  return Status::Ok();
}

Status ValidateConstant(Node& n) {
  if (n.attrs.size() != 1) return InvalidArgument(n.Describe() + ": exactly one value attribute is required");
  const auto& [name, attr] = *n.attrs.begin();
  auto floats_tensor = [](const std::vector<float>& v, std::vector<int64_t> shape) {
    Bytes b(v.size() * 4);
    if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
    return Tensor::FromBytes(DType::kFloat32, std::move(shape), std::move(b));
  };
  auto ints_tensor = [](const std::vector<int64_t>& v, std::vector<int64_t> shape) {
    Bytes b(v.size() * 8);
    if (!v.empty()) std::memcpy(b.data(), v.data(), b.size());
    return Tensor::FromBytes(DType::kInt64, std::move(shape), std::move(b));
  };
  Result<Tensor> value = InvalidArgument("unreachable");
  if (name == "value") {
    RETURN_IF_ERROR(ExpectKind(n, name, Attr::Kind::kTensor));
    value = attr.t;
  } else if (name == "value_float") {
    RETURN_IF_ERROR(ExpectKind(n, name, Attr::Kind::kFloat));
    value = floats_tensor({attr.f}, {});
  } else if (name == "value_floats") {
    RETURN_IF_ERROR(ExpectKind(n, name, Attr::Kind::kFloats));
    value = floats_tensor(attr.floats, {static_cast<int64_t>(attr.floats.size())});
  } else if (name == "value_int") {
    RETURN_IF_ERROR(ExpectKind(n, name, Attr::Kind::kInt));
    value = ints_tensor({attr.i}, {});
  } else {
    RETURN_IF_ERROR(ExpectKind(n, name, Attr::Kind::kInts));
    value = ints_tensor(attr.ints, {static_cast<int64_t>(attr.ints.size())});
  }
  if (!value.ok()) return value.status().WithContext(n.Describe());
  n.constant = std::move(value).value();
  return Status::Ok();
}

Status RunConstant(const Node& node, KernelInputs, std::vector<Tensor>& out, const KernelContext&) {
  out[0] = node.constant;
  return Status::Ok();
}

Status RunIdentity(const Node&, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  Tensor* donor = ctx.Donated(0);
  out[0] = donor == in[0] ? std::move(*donor) : *in[0];
  return Status::Ok();
}

Status ValidateDropout(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "ratio", Attr::Kind::kFloat));
  RETURN_IF_ERROR(ExpectKind(n, "seed", Attr::Kind::kInt));
  if (n.opset < 12 && n.inputs.size() > 1) return InvalidArgument(n.Describe() + ": before opset 12 Dropout takes one input");
  return Status::Ok();
}

// Inference: output = input; the optional mask is all true.
Status RunDropout(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor* training = in.size() > 2 ? in[2] : nullptr;
  if (training != nullptr) {
    if (training->dtype() != DType::kBool || training->num_elements() != 1)
      return InvalidArgument(node.Describe() + ": training_mode must be a bool scalar");
    if (training->bytes()[0] != 0) {
      // Training mode drops elements at random, which no deterministic engine can
      // reproduce; only ratio 0 (nothing dropped: output = input, mask all true) is defined.
      const Tensor* ratio = in.size() > 1 ? in[1] : nullptr;
      float r = 0.5f;  // ONNX default
      if (ratio != nullptr) {
        if (ratio->dtype() != DType::kFloat32 || ratio->num_elements() != 1)
          return InvalidArgument(node.Describe() + ": ratio must be a float32 scalar");
        r = ratio->data<float>()[0];
      }
      if (r != 0.0f)
        return Unimplemented(node.Describe() + ": training_mode=true with ratio " + std::to_string(r) +
                             " drops elements at random; only ratio 0 is deterministic");
    }
  }
  out[0] = *in[0];
  if (out.size() > 1) {
    ASSIGN_OR_RETURN(Tensor mask, Tensor::Make(DType::kBool, in[0]->shape()));
    std::fill(mask.mutable_bytes().begin(), mask.mutable_bytes().end(), uint8_t{1});
    out[1] = std::move(mask);
  }
  return Status::Ok();
}

}  // namespace lucid::onnx::internal
