#include "tensor/tensor.h"

#include <bit>
#include <cstring>

#include "codec/codec.h"
#include "crypto/hash.h"

namespace lucid {
namespace {

constexpr uint8_t kTensorVersion = 1;
constexpr uint8_t kTensorMapVersion = 1;

Hash32 Sha256Of(ByteView data) { return crypto::Sha256(data); }

// Validates a shape and returns its element count (overflow-safe).
Result<uint64_t> CheckedElementCount(const std::vector<int64_t>& shape) {
  if (shape.size() > kMaxTensorRank)
    return OutOfRange("tensor rank " + std::to_string(shape.size()) + " exceeds limit " +
                      std::to_string(kMaxTensorRank));
  uint64_t count = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    int64_t d = shape[i];
    if (d < 0) return InvalidArgument("tensor dim " + std::to_string(i) + " is negative (" + std::to_string(d) + ")");
    if (d > static_cast<int64_t>(kMaxTensorElements))
      return OutOfRange("tensor dim " + std::to_string(i) + " = " + std::to_string(d) + " exceeds element limit");
    count *= static_cast<uint64_t>(d);  // both factors ≤ 2^28 after the check below
    if (count > kMaxTensorElements)
      return OutOfRange("tensor has more than " + std::to_string(kMaxTensorElements) + " elements");
  }
  return count;
}

}  // namespace

std::string_view DTypeName(DType t) {
  switch (t) {
    case DType::kFloat32: return "float32";
    case DType::kUint8: return "uint8";
    case DType::kInt8: return "int8";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kBool: return "bool";
  }
  return "unknown";
}

Result<DType> DTypeFromName(std::string_view name) {
  for (DType t : {DType::kFloat32, DType::kUint8, DType::kInt8, DType::kInt32, DType::kInt64, DType::kBool})
    if (DTypeName(t) == name) return t;
  return InvalidArgument("unknown dtype \"" + std::string(name) +
                         "\" (expected float32, int64, int32, int8, uint8 or bool)");
}

Result<DType> DTypeFromOnnx(int32_t onnx_type) {
  switch (onnx_type) {
    case 1: return DType::kFloat32;
    case 2: return DType::kUint8;
    case 3: return DType::kInt8;
    case 6: return DType::kInt32;
    case 7: return DType::kInt64;
    case 9: return DType::kBool;
    default:
      return Unimplemented("ONNX tensor element type " + std::to_string(onnx_type) +
                           " is not supported (float32, uint8, int8, int32, int64, bool only)");
  }
}

size_t DTypeSize(DType t) {
  switch (t) {
    case DType::kFloat32: return 4;
    case DType::kUint8: return 1;
    case DType::kInt8: return 1;
    case DType::kInt32: return 4;
    case DType::kInt64: return 8;
    case DType::kBool: return 1;
  }
  return 0;
}

static bool IsKnownDType(uint8_t v) {
  return v == 1 || v == 2 || v == 3 || v == 6 || v == 7 || v == 9;
}

Result<Tensor> Tensor::Make(DType dtype, std::vector<int64_t> shape) {
  if (!IsKnownDType(static_cast<uint8_t>(dtype))) return InvalidArgument("unknown dtype");
  ASSIGN_OR_RETURN(uint64_t count, CheckedElementCount(shape));
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.count_ = count;
  t.data_.assign(count * DTypeSize(dtype), 0);
  return t;
}

Result<Tensor> Tensor::FromBytes(DType dtype, std::vector<int64_t> shape, Bytes data) {
  if (!IsKnownDType(static_cast<uint8_t>(dtype))) return InvalidArgument("unknown dtype");
  ASSIGN_OR_RETURN(uint64_t count, CheckedElementCount(shape));
  uint64_t want = count * DTypeSize(dtype);
  if (data.size() != want)
    return InvalidArgument("tensor data is " + std::to_string(data.size()) + " bytes, shape and dtype need " +
                           std::to_string(want));
  if (dtype == DType::kBool)
    for (uint8_t b : data)
      if (b > 1) return InvalidArgument("bool tensor byte is not 0 or 1");
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.count_ = count;
  t.data_ = std::move(data);
  return t;
}

Tensor Tensor::Scalar(float v) {
  Tensor t;
  t.dtype_ = DType::kFloat32;
  t.data_.resize(4);
  std::memcpy(t.data_.data(), &v, 4);
  return t;
}

Bytes Tensor::CanonicalBytes() const {
  // Data is stored little-endian already; Lucid only builds on little-endian hosts.
  static_assert(std::endian::native == std::endian::little, "Lucid tensors assume a little-endian host");
  codec::Writer w;
  w.U8(kTensorVersion);
  w.U8(static_cast<uint8_t>(dtype_));
  w.U8(static_cast<uint8_t>(shape_.size()));
  for (int64_t d : shape_) w.U64(static_cast<uint64_t>(d));
  w.Raw(data_);
  return w.Take();
}

Result<Tensor> Tensor::FromCanonicalBytes(ByteView bytes) {
  codec::Reader r(bytes);
  ASSIGN_OR_RETURN(uint8_t version, r.U8());
  if (version != kTensorVersion) return InvalidArgument("tensor encoding version " + std::to_string(version) + " is not 1");
  ASSIGN_OR_RETURN(uint8_t dtype_byte, r.U8());
  if (!IsKnownDType(dtype_byte)) return InvalidArgument("tensor dtype byte " + std::to_string(dtype_byte) + " is unknown");
  ASSIGN_OR_RETURN(uint8_t rank, r.U8());
  if (rank > kMaxTensorRank) return OutOfRange("tensor rank " + std::to_string(rank) + " exceeds limit");
  std::vector<int64_t> shape;
  for (uint8_t i = 0; i < rank; ++i) {
    ASSIGN_OR_RETURN(uint64_t d, r.U64());
    if (d > kMaxTensorElements) return OutOfRange("tensor dim " + std::to_string(i) + " exceeds element limit");
    shape.push_back(static_cast<int64_t>(d));
  }
  DType dtype = static_cast<DType>(dtype_byte);
  ASSIGN_OR_RETURN(uint64_t count, CheckedElementCount(shape));
  uint64_t want = count * DTypeSize(dtype);
  if (r.remaining() != want)
    return InvalidArgument("tensor data is " + std::to_string(r.remaining()) + " bytes, shape and dtype need " +
                           std::to_string(want));
  ASSIGN_OR_RETURN(Bytes data, r.Raw(want));
  return FromBytes(dtype, std::move(shape), std::move(data));
}

Hash32 Tensor::Hash() const { return Sha256Of(CanonicalBytes()); }

Bytes EncodeTensorMap(const TensorMap& tensors) {
  codec::Writer w;
  w.U8(kTensorMapVersion);
  w.U32(static_cast<uint32_t>(tensors.size()));
  for (const auto& [name, tensor] : tensors) {
    w.Str(name);
    w.Blob(tensor.CanonicalBytes());
  }
  return w.Take();
}

Hash32 HashTensorMap(const TensorMap& tensors) { return Sha256Of(EncodeTensorMap(tensors)); }

Result<TensorMap> DecodeTensorMap(ByteView bytes) {
  codec::Reader r(bytes);
  ASSIGN_OR_RETURN(uint8_t version, r.U8());
  if (version != kTensorMapVersion)
    return InvalidArgument("tensor set encoding version " + std::to_string(version) + " is not 1");
  ASSIGN_OR_RETURN(uint32_t count, r.Count(8));  // name length + blob length at least
  TensorMap out;
  const std::string* previous = nullptr;
  for (uint32_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(std::string name, r.Str());
    if (previous != nullptr && !(*previous < name))
      return InvalidArgument("tensor set names are not strictly sorted at \"" + name + "\"");
    ASSIGN_OR_RETURN(Bytes blob, r.Blob());
    auto tensor = Tensor::FromCanonicalBytes(blob);
    if (!tensor.ok()) return tensor.status().WithContext("tensor \"" + name + "\"");
    auto [it, inserted] = out.emplace(std::move(name), std::move(tensor).value());
    previous = &it->first;
  }
  RETURN_IF_ERROR(r.Finish());
  return out;
}

}  // namespace lucid
