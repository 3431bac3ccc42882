// Internal helpers shared by kernels_math.cc, kernels_reduce.cc, kernels_index.cc and
// kernels_rnn.cc: reading int tensors given as op inputs, N-way numpy broadcasting, dtype
// checks, the canonical NaN.
// Thread-safety: pure functions and plain values.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include "onnx/op_internal.h"

namespace lucid::onnx::internal {

// Reads a scalar or 1-D int32/int64 tensor (axes, pads, starts, repeats, ...).
inline Result<std::vector<int64_t>> ReadIndexTensor(const Node& node, const Tensor* t, std::string_view what) {
  if (t == nullptr) return InvalidArgument(node.Describe() + ": missing input '" + std::string(what) + "'");
  if (t->rank() > 1 || (t->dtype() != DType::kInt64 && t->dtype() != DType::kInt32))
    return InvalidArgument(node.Describe() + ": input '" + std::string(what) + "' must be a 1-D int64 or int32 tensor");
  std::vector<int64_t> v(t->num_elements());
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = t->dtype() == DType::kInt64 ? t->data<int64_t>()[i] : t->data<int32_t>()[i];
  return v;
}

// The canonical NaN (docs/formats/onnx-semantics.md, "NaN"): which NaN an IEEE operation
// returns (sign, payload) depends on the hardware and on the operand order the compiler
// picked, so every NaN a computing op outputs is replaced by the positive quiet NaN.
inline constexpr uint32_t kCanonicalNanBits = 0x7FC00000u;
inline float CanonicalNan(float v) { return v == v ? v : std::bit_cast<float>(kCanonicalNanBits); }
inline void CanonicalizeNans(Tensor& t) {
  if (t.dtype() != DType::kFloat32) return;
  float* p = t.data<float>();
  for (uint64_t i = 0, n = t.num_elements(); i < n; ++i) p[i] = CanonicalNan(p[i]);
}

inline Status RequireDType(const Node& node, const Tensor& t, std::string_view what, std::initializer_list<DType> allowed) {
  for (DType d : allowed)
    if (t.dtype() == d) return Status::Ok();
  std::string names;
  for (DType d : allowed) names += (names.empty() ? "" : ", ") + std::string(DTypeName(d));
  return Unimplemented(node.Describe() + ": " + std::string(what) + " has dtype " + std::string(DTypeName(t.dtype())) +
                       ", supported: " + names);
}

// Walks an output shape in row-major order and keeps, for each input, the element offset
// that numpy broadcasting maps to the current output element (stride 0 on broadcast dims).
class BroadcastCursor {
 public:
  // Every input shape must broadcast to `out` (checked by the caller).
  BroadcastCursor(const std::vector<int64_t>& out, const std::vector<const std::vector<int64_t>*>& ins)
      : out_(out), index_(out.size(), 0), offsets_(ins.size(), 0) {
    size_t rank = out.size();
    for (const auto* in : ins) {
      std::vector<int64_t> s(rank, 0);
      int64_t stride = 1;
      for (size_t k = in->size(); k-- > 0;) {
        size_t d = k + (rank - in->size());
        s[d] = (*in)[k] == 1 ? 0 : stride;
        stride *= (*in)[k];
      }
      strides_.push_back(std::move(s));
    }
  }
  int64_t offset(size_t input) const { return offsets_[input]; }
  void Next() {
    for (size_t d = out_.size(); d-- > 0;) {
      for (size_t i = 0; i < offsets_.size(); ++i) offsets_[i] += strides_[i][d];
      if (++index_[d] < out_[d]) return;
      for (size_t i = 0; i < offsets_.size(); ++i) offsets_[i] -= strides_[i][d] * index_[d];
      index_[d] = 0;
    }
  }

 private:
  std::vector<int64_t> out_, index_, offsets_;
  std::vector<std::vector<int64_t>> strides_;
};

// Broadcast shape of several inputs; the error names the node.
inline Result<std::vector<int64_t>> BroadcastAll(const Node& node, const std::vector<const Tensor*>& ins) {
  std::vector<int64_t> shape;
  for (const Tensor* t : ins) {
    auto s = BroadcastShapes(shape, t->shape());
    if (!s.ok()) return s.status().WithContext(node.Describe());
    shape = std::move(s).value();
  }
  return shape;
}

// Row-major strides of a shape (elements).
inline std::vector<int64_t> Strides(const std::vector<int64_t>& shape) {
  std::vector<int64_t> s(shape.size(), 1);
  for (size_t d = shape.size(); d-- > 1;) s[d - 1] = s[d] * shape[d];
  return s;
}

}  // namespace lucid::onnx::internal
