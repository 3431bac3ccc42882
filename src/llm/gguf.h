// GGUF (v3, also v2) model files read over a read-only mmap: header, metadata key/values,
// tensor infos and the aligned tensor data section. Every length, count, offset and size is
// checked against the file's size with overflow-safe arithmetic before it is used; errors
// name the field ("gguf: tensor 'blk.0.attn_q.weight': data [.., ..) past the end ...").
// Nested arrays (an array whose element type is array) are refused.
// Tensor data stays in the mapping: GgufTensor::data points into it, valid while the
// GgufFile lives. Format: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md
// Thread-safety: a loaded GgufFile is immutable; const methods may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "llm/quant.h"

namespace lucid::llm {

// GGUF metadata value types (gguf_type).
enum class GgufType : uint32_t {
  kU8 = 0, kI8 = 1, kU16 = 2, kI16 = 3, kU32 = 4, kI32 = 5, kF32 = 6, kBool = 7,
  kString = 8, kArray = 9, kU64 = 10, kI64 = 11, kF64 = 12,
};
std::string_view GgufTypeName(GgufType type);

// One metadata value. Scalars are held decoded; strings and string arrays as views into the
// mapping; numeric arrays as a view of their little-endian element bytes.
struct GgufValue {
  GgufType type = GgufType::kU8;
  // Scalar payload (integers in u/i, floats in f, bool in u).
  uint64_t u = 0;
  int64_t i = 0;
  double f = 0;
  std::string_view str;
  // kArray: element type, count, and either elements bytes (numeric/bool) or strings.
  GgufType elem_type = GgufType::kU8;
  uint64_t count = 0;
  const uint8_t* elems = nullptr;
  std::vector<std::string_view> strings;
};

struct GgufTensor {
  std::string name;
  std::vector<int64_t> dims;  // ggml order: dims[0] is the contiguous (row) length
  GgmlType type = GgmlType::kF32;
  uint64_t offset = 0;        // from the start of the data section
  uint64_t size = 0;          // bytes
  const uint8_t* data = nullptr;
  int64_t Elements() const;
  int64_t Rows() const;       // product of dims[1..]
  int64_t RowBytes() const;   // bytes of one dims[0] row
};

class GgufFile {
 public:
  // Maps and parses a file. Errors: kUnavailable (I/O), kDataLoss / kInvalidArgument
  // (corrupt), kUnimplemented (unsupported version / tensor type).
  static Result<std::unique_ptr<GgufFile>> Open(const std::string& path);
  // Parses bytes the caller keeps alive (tests, the fuzzer); no copy is made.
  static Result<std::unique_ptr<GgufFile>> Parse(const uint8_t* data, size_t size);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  uint32_t version() const { return version_; }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  size_t file_size() const { return size_; }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* Find(std::string_view key) const;
  // Typed getters: kNotFound when absent, kInvalidArgument when of another type. Integer
  // getters accept any integer type whose value fits.
  Result<std::string_view> GetString(std::string_view key) const;
  Result<uint32_t> GetU32(std::string_view key) const;
  Result<int32_t> GetI32(std::string_view key) const;
  Result<uint64_t> GetU64(std::string_view key) const;
  Result<float> GetF32(std::string_view key) const;   // f32 (or f64 that is exactly a float)
  Result<bool> GetBool(std::string_view key) const;
  Result<const GgufValue*> GetArray(std::string_view key) const;
  Result<std::vector<std::string_view>> GetStringArray(std::string_view key) const;
  Result<std::vector<float>> GetF32Array(std::string_view key) const;
  Result<std::vector<int64_t>> GetIntArray(std::string_view key) const;  // any integer element type

  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* FindTensor(std::string_view name) const;
  // A tensor as a weight matrix [Rows() x dims[0]] for quant.h's kernels.
  Result<WeightMatrix> Matrix(std::string_view name) const;

 private:
  GgufFile() = default;
  Status ParseAll();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  void* map_ = nullptr;  // non-null when we own an mmap of size_ bytes
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<GgufTensor> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace lucid::llm
