// Tensor: dtype, shape and little-endian row-major data; the value every executor,
// receipt and API exchanges. Canonical bytes and hashes are specified in
// docs/formats/tensor.md. Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/bytes.h"

namespace lucid {

// Values equal ONNX TensorProto.DataType so conversion is the identity.
enum class DType : uint8_t {
  kFloat32 = 1,
  kUint8 = 2,
  kInt8 = 3,
  kInt32 = 6,
  kInt64 = 7,
  kBool = 9,
};

std::string_view DTypeName(DType t);               // "float32", "int8", ...
Result<DType> DTypeFromName(std::string_view name);
Result<DType> DTypeFromOnnx(int32_t onnx_type);    // refuses types Lucid does not run
size_t DTypeSize(DType t);

// Refuse absurd tensors before allocating: at most this many elements / dims.
inline constexpr uint64_t kMaxTensorElements = 1ull << 28;
inline constexpr size_t kMaxTensorRank = 8;

class Tensor {
 public:
  Tensor() = default;
  // Zero-filled tensor; shape must be valid (checked by Make).
  static Result<Tensor> Make(DType dtype, std::vector<int64_t> shape);
  static Result<Tensor> FromBytes(DType dtype, std::vector<int64_t> shape, Bytes data);
  static Tensor Scalar(float v);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  size_t rank() const { return shape_.size(); }
  uint64_t num_elements() const { return count_; }  // product of the dims (1 for a scalar)
  const Bytes& bytes() const { return data_; }
  Bytes& mutable_bytes() { return data_; }

  template <typename T>
  T* data() { return reinterpret_cast<T*>(data_.data()); }
  template <typename T>
  const T* data() const { return reinterpret_cast<const T*>(data_.data()); }

  // Canonical encoding: u8 version(1) | u8 dtype | u8 rank | rank × u64 BE dims | data LE.
  Bytes CanonicalBytes() const;
  static Result<Tensor> FromCanonicalBytes(ByteView bytes);
  Hash32 Hash() const;  // sha256(CanonicalBytes())

  bool operator==(const Tensor& o) const {
    return dtype_ == o.dtype_ && shape_ == o.shape_ && data_ == o.data_;
  }

 private:
  DType dtype_ = DType::kFloat32;
  std::vector<int64_t> shape_;
  uint64_t count_ = 1;  // cached: kernels call num_elements() in their loop conditions
  Bytes data_;
};

// Named tensors (ONNX input/output names), always iterated in name (byte) order.
using TensorMap = std::map<std::string, Tensor>;

// sha256 of: u8 version(1) | u32 count | for each name in order: str name | blob canonical tensor.
Hash32 HashTensorMap(const TensorMap& tensors);
Bytes EncodeTensorMap(const TensorMap& tensors);
Result<TensorMap> DecodeTensorMap(ByteView bytes);

}  // namespace lucid
