// Indexing and shape-building kernels: Split, Slice, GatherElements, Expand, Tile, Pad,
// Size, ConstantOfShape, Range. Data movement copies element bytes, so every dtype works;
// every index is bounds-checked before use.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "onnx/ops1_common.h"

namespace lucid::onnx::internal {
namespace {

// Calls fn(out_index, out_element) for every output element in row-major order.
template <typename Fn>
void ForEachIndex(const std::vector<int64_t>& shape, uint64_t count, Fn fn) {
  std::vector<int64_t> index(shape.size(), 0);
  for (uint64_t e = 0; e < count; ++e) {
    fn(index, e);
    for (size_t d = shape.size(); d-- > 0;) {
      if (++index[d] < shape[d]) break;
      index[d] = 0;
    }
  }
}

Status CheckShape(const Node& node, const std::vector<int64_t>& shape) {
  if (shape.size() > kMaxTensorRank) return InvalidArgument(node.Describe() + ": output rank is too large");
  uint64_t count = 1;
  for (int64_t d : shape) {
    if (d < 0) return InvalidArgument(node.Describe() + ": negative output dim in " + ShapeString(shape));
    if (d > static_cast<int64_t>(kMaxTensorElements)) return OutOfRange(node.Describe() + ": output is too large");
    count *= static_cast<uint64_t>(d);
    if (count > kMaxTensorElements) return OutOfRange(node.Describe() + ": output " + ShapeString(shape) + " is too large");
  }
  return Status::Ok();
}

}  // namespace

// ---- Split ----

Status ValidateSplit(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "axis", Attr::Kind::kInt));
  RETURN_IF_ERROR(ExpectKind(n, "split", Attr::Kind::kInts));
  RETURN_IF_ERROR(ExpectKind(n, "num_outputs", Attr::Kind::kInt));
  if (n.opset >= 13 && n.Has("split"))
    return InvalidArgument(n.Describe() + ": split is an input since opset 13, not an attribute");
  if (n.opset < 13 && n.inputs.size() > 1)
    return InvalidArgument(n.Describe() + ": before opset 13 split is an attribute, not an input");
  if (n.Has("num_outputs")) {
    if (n.opset < 18) return InvalidArgument(n.Describe() + ": num_outputs needs opset 18");
    if (n.Int("num_outputs", 0) != static_cast<int64_t>(n.outputs.size()))
      return InvalidArgument(n.Describe() + ": num_outputs is " + std::to_string(n.Int("num_outputs", 0)) + " but the node has " +
                             std::to_string(n.outputs.size()) + " outputs");
    if (n.inputs.size() > 1 && n.inputs[1] >= 0)
      return InvalidArgument(n.Describe() + ": num_outputs and the split input are exclusive");
  }
  return Status::Ok();
}

Status RunSplit(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(n.Int("axis", 0), static_cast<int64_t>(x.rank()), n));
  int64_t dim = x.shape()[axis];
  int64_t parts = static_cast<int64_t>(out.size());
  std::vector<int64_t> sizes = n.Ints("split");
  if (in.size() > 1 && in[1] != nullptr) {
    ASSIGN_OR_RETURN(sizes, ReadIndexTensor(n, in[1], "split"));
  }
  if (sizes.empty()) {
    // Equal parts; with num_outputs (opset 18) the last part may be smaller.
    int64_t chunk = (dim + parts - 1) / parts;
    if (!n.Has("num_outputs") && dim % parts != 0)
      return InvalidArgument(n.Describe() + ": axis size " + std::to_string(dim) + " does not split into " +
                             std::to_string(parts) + " equal parts");
    for (int64_t p = 0, left = dim; p < parts; ++p, left -= chunk) sizes.push_back(std::clamp<int64_t>(left, 0, chunk));
  }
  if (static_cast<int64_t>(sizes.size()) != parts)
    return InvalidArgument(n.Describe() + ": split has " + std::to_string(sizes.size()) + " sizes for " +
                           std::to_string(parts) + " outputs");
  int64_t total = 0;
  for (int64_t s : sizes) {
    if (s < 0) return InvalidArgument(n.Describe() + ": negative split size");
    total += s;
  }
  if (total != dim)
    return InvalidArgument(n.Describe() + ": split sizes sum to " + std::to_string(total) + ", axis size is " + std::to_string(dim));
  uint64_t outer = Product(x.shape(), 0, axis);
  uint64_t inner_bytes = Product(x.shape(), axis + 1, x.rank()) * DTypeSize(x.dtype());
  int64_t begin = 0;
  for (int64_t p = 0; p < parts; ++p) {
    std::vector<int64_t> shape = x.shape();
    shape[axis] = sizes[p];
    ASSIGN_OR_RETURN(Tensor y, Tensor::Make(x.dtype(), shape));
    uint64_t part_bytes = static_cast<uint64_t>(sizes[p]) * inner_bytes;
    for (uint64_t o = 0; o < outer && part_bytes; ++o)
      std::memcpy(y.data<uint8_t>() + o * part_bytes,
                  x.data<uint8_t>() + (o * static_cast<uint64_t>(dim) + static_cast<uint64_t>(begin)) * inner_bytes, part_bytes);
    begin += sizes[p];
    out[p] = std::move(y);
  }
  return Status::Ok();
}

// ---- Slice ----

Status ValidateSlice(Node& n) {
  for (const char* attr : {"starts", "ends", "axes"}) {
    RETURN_IF_ERROR(ExpectKind(n, attr, Attr::Kind::kInts));
    if (n.opset >= 10 && n.Has(attr))
      return InvalidArgument(n.Describe() + ": " + attr + " is an input since opset 10, not an attribute");
  }
  if (n.opset < 10) {
    if (!n.Has("starts") || !n.Has("ends")) return InvalidArgument(n.Describe() + ": attributes 'starts' and 'ends' are required");
    if (n.inputs.size() > 1) return InvalidArgument(n.Describe() + ": before opset 10 Slice takes one input");
  } else if (n.inputs.size() < 3) {
    return InvalidArgument(n.Describe() + ": inputs 'starts' and 'ends' are required since opset 10");
  }
  return Status::Ok();
}

Status RunSlice(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  int64_t rank = static_cast<int64_t>(x.rank());
  std::vector<int64_t> starts = n.Ints("starts"), ends = n.Ints("ends"), axes = n.Ints("axes"), steps;
  if (n.opset >= 10) {
    ASSIGN_OR_RETURN(starts, ReadIndexTensor(n, in[1], "starts"));
    ASSIGN_OR_RETURN(ends, ReadIndexTensor(n, in[2], "ends"));
    if (in.size() > 3 && in[3] != nullptr) {
      ASSIGN_OR_RETURN(axes, ReadIndexTensor(n, in[3], "axes"));
    }
    if (in.size() > 4 && in[4] != nullptr) {
      ASSIGN_OR_RETURN(steps, ReadIndexTensor(n, in[4], "steps"));
    }
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    return InvalidArgument(n.Describe() + ": starts, ends, axes and steps must have the same length");
  std::vector<int64_t> begin(rank, 0), step(rank, 1), shape = x.shape();
  std::vector<bool> seen(rank, false);
  for (size_t i = 0; i < starts.size(); ++i) {
    ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axes[i], rank, n));
    if (seen[axis]) return InvalidArgument(n.Describe() + ": axis " + std::to_string(axis) + " is sliced twice");
    seen[axis] = true;
    int64_t dim = x.shape()[axis], st = steps[i];
    if (st == 0) return InvalidArgument(n.Describe() + ": step 0 on axis " + std::to_string(axis));
    // ONNX clamping: negative values count from the end; positive steps clamp to [0, dim],
    // negative steps to [-1, dim-1]. Huge values (INT64_MAX/MIN) clamp without overflow.
    auto norm = [dim](int64_t v) { return v < 0 ? v + dim : v; };
    int64_t s = norm(starts[i]), e = norm(ends[i]);
    if (st > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
    } else {
      s = std::clamp<int64_t>(s, -1, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
    }
    int64_t count = 0;
    if (st > 0 && e > s) count = (e - s - 1) / st + 1;
    if (st < 0 && s > e) count = (s - e - 1) / (-st) + 1;
    begin[axis] = s;
    step[axis] = st;
    shape[axis] = count;
  }
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(x.dtype(), shape));
  size_t size = DTypeSize(x.dtype());
  std::vector<int64_t> strides = Strides(x.shape());
  ForEachIndex(shape, y.num_elements(), [&](const std::vector<int64_t>& index, uint64_t e) {
    int64_t offset = 0;
    for (int64_t d = 0; d < rank; ++d) offset += (begin[d] + index[d] * step[d]) * strides[d];
    std::memcpy(y.data<uint8_t>() + e * size, x.data<uint8_t>() + offset * size, size);
  });
  out[0] = std::move(y);
  return Status::Ok();
}

// ---- GatherElements ----

Status RunGatherElements(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  const Tensor& idx = *in[1];
  RETURN_IF_ERROR((RequireDType(n, idx, "indices", {DType::kInt64, DType::kInt32})));
  int64_t rank = static_cast<int64_t>(x.rank());
  if (idx.rank() != x.rank() || rank == 0)
    return InvalidArgument(n.Describe() + ": indices rank " + std::to_string(idx.rank()) + " must equal data rank " +
                           std::to_string(rank) + " (≥ 1)");
  ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(n.Int("axis", 0), rank, n));
  for (int64_t d = 0; d < rank; ++d)
    if (d != axis && idx.shape()[d] > x.shape()[d])
      return InvalidArgument(n.Describe() + ": indices shape " + ShapeString(idx.shape()) + " exceeds data shape " +
                             ShapeString(x.shape()) + " off the axis");
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(x.dtype(), idx.shape()));
  size_t size = DTypeSize(x.dtype());
  std::vector<int64_t> strides = Strides(x.shape());
  int64_t dim = x.shape()[axis];
  Status status = Status::Ok();
  ForEachIndex(idx.shape(), y.num_elements(), [&](const std::vector<int64_t>& index, uint64_t e) {
    if (!status.ok()) return;
    int64_t j = idx.dtype() == DType::kInt64 ? idx.data<int64_t>()[e] : idx.data<int32_t>()[e];
    if (j < -dim || j >= dim) {
      status = InvalidArgument(n.Describe() + ": index " + std::to_string(j) + " is out of range for axis size " + std::to_string(dim));
      return;
    }
    if (j < 0) j += dim;
    int64_t offset = 0;
    for (int64_t d = 0; d < rank; ++d) offset += (d == axis ? j : index[d]) * strides[d];
    std::memcpy(y.data<uint8_t>() + e * size, x.data<uint8_t>() + offset * size, size);
  });
  RETURN_IF_ERROR(status);
  out[0] = std::move(y);
  return Status::Ok();
}

Status ValidateGatherElements(Node& n) { return ExpectKind(n, "axis", Attr::Kind::kInt); }

// ---- Expand, Tile ----

Status RunExpand(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  ASSIGN_OR_RETURN(std::vector<int64_t> target, ReadIndexTensor(n, in[1], "shape"));
  for (int64_t d : target)
    if (d < 0) return InvalidArgument(n.Describe() + ": negative dim in shape " + ShapeString(target));
  auto shape = BroadcastShapes(x.shape(), target);
  if (!shape.ok()) return shape.status().WithContext(n.Describe());
  RETURN_IF_ERROR(CheckShape(n, *shape));
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(x.dtype(), *shape));
  size_t size = DTypeSize(x.dtype());
  BroadcastCursor c(*shape, {&x.shape()});
  for (uint64_t e = 0; e < y.num_elements(); ++e, c.Next())
    std::memcpy(y.data<uint8_t>() + e * size, x.data<uint8_t>() + c.offset(0) * size, size);
  out[0] = std::move(y);
  return Status::Ok();
}

Status RunTile(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  ASSIGN_OR_RETURN(std::vector<int64_t> repeats, ReadIndexTensor(n, in[1], "repeats"));
  if (repeats.size() != x.rank())
    return InvalidArgument(n.Describe() + ": repeats has " + std::to_string(repeats.size()) + " values for rank " +
                           std::to_string(x.rank()));
  std::vector<int64_t> shape = x.shape();
  for (size_t d = 0; d < shape.size(); ++d) {
    if (repeats[d] < 0) return InvalidArgument(n.Describe() + ": negative repeat");
    if (repeats[d] > 0 && shape[d] > static_cast<int64_t>(kMaxTensorElements) / repeats[d])
      return OutOfRange(n.Describe() + ": output is too large");
    shape[d] *= repeats[d];
  }
  RETURN_IF_ERROR(CheckShape(n, shape));
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(x.dtype(), shape));
  size_t size = DTypeSize(x.dtype());
  std::vector<int64_t> strides = Strides(x.shape());
  ForEachIndex(shape, y.num_elements(), [&](const std::vector<int64_t>& index, uint64_t e) {
    int64_t offset = 0;
    for (size_t d = 0; d < shape.size(); ++d) offset += (index[d] % x.shape()[d]) * strides[d];
    std::memcpy(y.data<uint8_t>() + e * size, x.data<uint8_t>() + offset * size, size);
  });
  out[0] = std::move(y);
  return Status::Ok();
}

// ---- Pad ----

Status ValidatePad(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "mode", Attr::Kind::kString));
  RETURN_IF_ERROR(ExpectKind(n, "pads", Attr::Kind::kInts));
  RETURN_IF_ERROR(ExpectKind(n, "value", Attr::Kind::kFloat));
  std::string mode = n.Str("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    return Unimplemented(n.Describe() + ": mode '" + mode + "' is not supported (constant, reflect, edge)");
  if (n.opset < 11) {
    if (!n.Has("pads")) return InvalidArgument(n.Describe() + ": attribute 'pads' is required before opset 11");
    if (n.inputs.size() > 1) return InvalidArgument(n.Describe() + ": before opset 11 pads is an attribute, not an input");
  } else {
    if (n.Has("pads") || n.Has("value"))
      return InvalidArgument(n.Describe() + ": pads and value are inputs since opset 11, not attributes");
    if (n.inputs.size() < 2) return InvalidArgument(n.Describe() + ": input 'pads' is required since opset 11");
    if (n.opset < 18 && n.inputs.size() > 3) return InvalidArgument(n.Describe() + ": the axes input needs opset 18");
  }
  return Status::Ok();
}

Status RunPad(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& x = *in[0];
  int64_t rank = static_cast<int64_t>(x.rank());
  std::vector<int64_t> pads = n.Ints("pads");
  size_t size = DTypeSize(x.dtype());
  std::vector<uint8_t> fill(size, 0);
  if (n.opset < 11) {
    RETURN_IF_ERROR((RequireDType(n, x, "input", {DType::kFloat32})));
    float v = n.Float("value", 0.0f);
    std::memcpy(fill.data(), &v, 4);
  } else {
    ASSIGN_OR_RETURN(pads, ReadIndexTensor(n, in[1], "pads"));
    if (in.size() > 2 && in[2] != nullptr) {
      const Tensor& value = *in[2];
      if (value.dtype() != x.dtype() || value.num_elements() != 1)
        return InvalidArgument(n.Describe() + ": constant_value must be one element of the input's dtype");
      std::memcpy(fill.data(), value.bytes().data(), size);
    }
    if (in.size() > 3 && in[3] != nullptr) {  // opset 18: pads only for the listed axes
      ASSIGN_OR_RETURN(std::vector<int64_t> axes, ReadIndexTensor(n, in[3], "axes"));
      if (pads.size() != 2 * axes.size())
        return InvalidArgument(n.Describe() + ": pads must have 2 values per axis in 'axes'");
      std::vector<int64_t> full(2 * rank, 0);
      std::vector<bool> seen(rank, false);
      for (size_t i = 0; i < axes.size(); ++i) {
        ASSIGN_OR_RETURN(int64_t axis, NormalizeAxis(axes[i], rank, n));
        if (seen[axis]) return InvalidArgument(n.Describe() + ": axes contain a duplicate");
        seen[axis] = true;
        full[axis] = pads[i];
        full[axis + rank] = pads[i + axes.size()];
      }
      pads = std::move(full);
    }
  }
  if (static_cast<int64_t>(pads.size()) != 2 * rank)
    return InvalidArgument(n.Describe() + ": pads has " + std::to_string(pads.size()) + " values, rank " +
                           std::to_string(rank) + " needs " + std::to_string(2 * rank));
  std::string mode = n.Str("mode", "constant");
  std::vector<int64_t> shape(rank);
  for (int64_t d = 0; d < rank; ++d) {
    int64_t dim = x.shape()[d], lo = pads[d], hi = pads[d + rank];
    if (std::abs(lo) > static_cast<int64_t>(kMaxTensorElements) || std::abs(hi) > static_cast<int64_t>(kMaxTensorElements))
      return OutOfRange(n.Describe() + ": pad is too large");
    shape[d] = dim + lo + hi;
    if (shape[d] < 0) return InvalidArgument(n.Describe() + ": negative pads remove more than axis " + std::to_string(d) + " holds");
    if (mode == "reflect" && (lo > 0 || hi > 0) && (lo > dim - 1 || hi > dim - 1))
      return InvalidArgument(n.Describe() + ": reflect pads must be smaller than the axis size on axis " + std::to_string(d));
    if (mode == "edge" && (lo > 0 || hi > 0) && dim == 0)
      return InvalidArgument(n.Describe() + ": edge padding of an empty axis");
  }
  RETURN_IF_ERROR(CheckShape(n, shape));
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(x.dtype(), shape));
  std::vector<int64_t> strides = Strides(x.shape());
  ForEachIndex(shape, y.num_elements(), [&](const std::vector<int64_t>& index, uint64_t e) {
    int64_t offset = 0;
    bool inside = true;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t dim = x.shape()[d];
      int64_t src = index[d] - pads[d];
      if (src < 0 || src >= dim) {
        if (mode == "constant") {
          inside = false;
          break;
        }
        if (mode == "edge") src = src < 0 ? 0 : dim - 1;
        else src = src < 0 ? -src : 2 * (dim - 1) - src;  // reflect without repeating the edge
      }
      offset += src * strides[d];
    }
    std::memcpy(y.data<uint8_t>() + e * size, inside ? x.data<uint8_t>() + offset * size : fill.data(), size);
  });
  out[0] = std::move(y);
  return Status::Ok();
}

// ---- Size, ConstantOfShape, Range ----

Status RunSize(const Node&, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(DType::kInt64, {}));
  y.data<int64_t>()[0] = static_cast<int64_t>(in[0]->num_elements());
  out[0] = std::move(y);
  return Status::Ok();
}

Status ValidateConstantOfShape(Node& n) {
  RETURN_IF_ERROR(ExpectKind(n, "value", Attr::Kind::kTensor));
  if (n.Has("value") && n.attrs.find("value")->second.t.num_elements() != 1)
    return InvalidArgument(n.Describe() + ": value must hold exactly one element");
  return Status::Ok();
}

Status RunConstantOfShape(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  ASSIGN_OR_RETURN(std::vector<int64_t> shape, ReadIndexTensor(n, in[0], "input"));
  RETURN_IF_ERROR(CheckShape(n, shape));
  Tensor value = n.Has("value") ? n.attrs.find("value")->second.t : Tensor::Scalar(0.0f);
  ASSIGN_OR_RETURN(Tensor y, Tensor::Make(value.dtype(), shape));
  size_t size = DTypeSize(value.dtype());
  for (uint64_t e = 0; e < y.num_elements(); ++e) std::memcpy(y.data<uint8_t>() + e * size, value.bytes().data(), size);
  out[0] = std::move(y);
  return Status::Ok();
}

namespace {

template <typename T>
Status RangeOf(const Node& n, const Tensor& start, const Tensor& limit, const Tensor& delta, Tensor& out) {
  T s = start.data<T>()[0], l = limit.data<T>()[0], d = delta.data<T>()[0];
  if (d == T(0)) return InvalidArgument(n.Describe() + ": delta is zero");
  int64_t count;
  if constexpr (std::is_floating_point_v<T>) {
    // ONNX: max(ceil((limit − start) / delta), 0), computed in double.
    double c = std::ceil((static_cast<double>(l) - static_cast<double>(s)) / static_cast<double>(d));
    if (c != c) return InvalidArgument(n.Describe() + ": start, limit or delta is NaN");
    if (c > static_cast<double>(kMaxTensorElements)) return OutOfRange(n.Describe() + ": range is too long");
    count = c < 0 ? 0 : static_cast<int64_t>(c);
  } else {
    // Exact integer ceil division in 128 bits (no overflow for any int64 inputs).
    __int128 span = static_cast<__int128>(l) - s, step = d;
    __int128 c = span / step + ((span % step != 0) && ((span > 0) == (step > 0)) ? 1 : 0);
    if (c > static_cast<__int128>(kMaxTensorElements)) return OutOfRange(n.Describe() + ": range is too long");
    count = c < 0 ? 0 : static_cast<int64_t>(c);
  }
  ASSIGN_OR_RETURN(out, Tensor::Make(start.dtype(), {count}));
  T* p = out.data<T>();
  for (int64_t i = 0; i < count; ++i) {
    if constexpr (std::is_floating_point_v<T>) p[i] = s + static_cast<T>(i) * d;  // start + i·delta, two roundings
    else p[i] = static_cast<T>(s + i * d);  // stays within [start, limit): no overflow
  }
  return Status::Ok();
}

}  // namespace

Status RunRange(const Node& n, KernelInputs in, std::vector<Tensor>& out, const KernelContext&) {
  const Tensor& start = *in[0];
  RETURN_IF_ERROR((RequireDType(n, start, "start", {DType::kFloat32, DType::kInt32, DType::kInt64})));
  for (int i = 0; i < 3; ++i) {
    if (in[i]->dtype() != start.dtype() || in[i]->num_elements() != 1)
      return InvalidArgument(n.Describe() + ": start, limit and delta must be scalars of one dtype");
  }
  switch (start.dtype()) {
    case DType::kFloat32: return RangeOf<float>(n, start, *in[1], *in[2], out[0]);
    case DType::kInt32: return RangeOf<int32_t>(n, start, *in[1], *in[2], out[0]);
    default: return RangeOf<int64_t>(n, start, *in[1], *in[2], out[0]);
  }
}

}  // namespace lucid::onnx::internal
