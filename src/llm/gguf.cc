// GGUF reader (gguf.h). A cursor walks the header, metadata and tensor infos; every read is
// bounds-checked against the file size first, every count is checked against the bytes
// left (each element takes at least one byte) before anything is allocated for it.
#include "llm/gguf.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <limits>

namespace lucid::llm {
namespace {

constexpr uint32_t kMagic = 0x46554747u;  // "GGUF" little-endian
constexpr uint64_t kMaxStringBytes = uint64_t{1} << 30;
constexpr int kMaxDims = 4;

std::string Quote(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 80)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
  if (s.size() > 80) out += "...";
  return out + "'";
}

class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  size_t pos() const { return pos_; }
  size_t left() const { return size_ - pos_; }

  Status Bytes(size_t n, const uint8_t** out, std::string_view field) {
    if (n > left())
      return DataLoss("gguf: " + std::string(field) + ": needs " + std::to_string(n) + " bytes at offset " +
                      std::to_string(pos_) + ", file has " + std::to_string(size_));
    *out = data_ + pos_;
    pos_ += n;
    return Status::Ok();
  }
  template <typename T>
  Status Read(T* v, std::string_view field) {
    const uint8_t* p;
    RETURN_IF_ERROR(Bytes(sizeof(T), &p, field));
    std::memcpy(v, p, sizeof(T));
    return Status::Ok();
  }
  Status String(std::string_view* s, std::string_view field) {
    uint64_t n = 0;
    RETURN_IF_ERROR(Read(&n, std::string(field) + " length"));
    if (n > kMaxStringBytes || n > left())
      return DataLoss("gguf: " + std::string(field) + ": string length " + std::to_string(n) + " at offset " +
                      std::to_string(pos_ - 8) + " runs past the end of the file (" + std::to_string(left()) +
                      " bytes left)");
    const uint8_t* p;
    RETURN_IF_ERROR(Bytes(static_cast<size_t>(n), &p, field));
    *s = std::string_view(reinterpret_cast<const char*>(p), static_cast<size_t>(n));
    return Status::Ok();
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

size_t ScalarSize(GgufType t) {
  switch (t) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kBool: return 1;
    case GgufType::kU16: case GgufType::kI16: return 2;
    case GgufType::kU32: case GgufType::kI32: case GgufType::kF32: return 4;
    case GgufType::kU64: case GgufType::kI64: case GgufType::kF64: return 8;
    default: return 0;
  }
}

bool IsInteger(GgufType t) {
  switch (t) {
    case GgufType::kU8: case GgufType::kI8: case GgufType::kU16: case GgufType::kI16: case GgufType::kU32:
    case GgufType::kI32: case GgufType::kU64: case GgufType::kI64: return true;
    default: return false;
  }
}
bool IsSigned(GgufType t) {
  return t == GgufType::kI8 || t == GgufType::kI16 || t == GgufType::kI32 || t == GgufType::kI64;
}

// Decodes a scalar of type t at p into v (u/i/f).
void DecodeScalar(GgufType t, const uint8_t* p, GgufValue* v) {
  switch (t) {
    case GgufType::kU8: v->u = p[0]; v->i = p[0]; break;
    case GgufType::kBool: v->u = p[0] != 0; v->i = v->u; break;
    case GgufType::kI8: v->i = static_cast<int8_t>(p[0]); break;
    case GgufType::kU16: { uint16_t x; std::memcpy(&x, p, 2); v->u = x; v->i = x; break; }
    case GgufType::kI16: { int16_t x; std::memcpy(&x, p, 2); v->i = x; break; }
    case GgufType::kU32: { uint32_t x; std::memcpy(&x, p, 4); v->u = x; v->i = x; break; }
    case GgufType::kI32: { int32_t x; std::memcpy(&x, p, 4); v->i = x; break; }
    case GgufType::kU64: { uint64_t x; std::memcpy(&x, p, 8); v->u = x; v->i = static_cast<int64_t>(x); break; }
    case GgufType::kI64: { int64_t x; std::memcpy(&x, p, 8); v->i = x; break; }
    case GgufType::kF32: { float x; std::memcpy(&x, p, 4); v->f = x; break; }
    case GgufType::kF64: { double x; std::memcpy(&x, p, 8); v->f = x; break; }
    default: break;
  }
  if (IsSigned(t)) v->u = static_cast<uint64_t>(v->i);
}

Status ReadValue(Cursor& c, GgufType type, GgufValue* v, const std::string& field) {
  v->type = type;
  if (type == GgufType::kString) return c.String(&v->str, field);
  if (type == GgufType::kArray) {
    uint32_t et = 0;
    RETURN_IF_ERROR(c.Read(&et, field + " element type"));
    if (et > static_cast<uint32_t>(GgufType::kF64))
      return DataLoss("gguf: " + field + ": unknown array element type " + std::to_string(et));
    v->elem_type = static_cast<GgufType>(et);
    if (v->elem_type == GgufType::kArray)
      return Unimplemented("gguf: " + field + ": nested arrays are not supported");
    RETURN_IF_ERROR(c.Read(&v->count, field + " count"));
    if (v->elem_type == GgufType::kString) {
      // Each string takes at least its 8-byte length.
      if (v->count > c.left() / 8)
        return DataLoss("gguf: " + field + ": array count " + std::to_string(v->count) +
                        " runs past the end of the file");
      v->strings.resize(static_cast<size_t>(v->count));
      for (uint64_t k = 0; k < v->count; ++k)
        RETURN_IF_ERROR(c.String(&v->strings[k], field + "[" + std::to_string(k) + "]"));
      return Status::Ok();
    }
    size_t es = ScalarSize(v->elem_type);
    if (v->count > c.left() / es)
      return DataLoss("gguf: " + field + ": array count " + std::to_string(v->count) +
                      " runs past the end of the file");
    return c.Bytes(static_cast<size_t>(v->count * es), &v->elems, field);
  }
  size_t n = ScalarSize(type);
  if (n == 0) return DataLoss("gguf: " + field + ": unknown value type " + std::to_string(static_cast<uint32_t>(type)));
  const uint8_t* p;
  RETURN_IF_ERROR(c.Bytes(n, &p, field));
  DecodeScalar(type, p, v);
  return Status::Ok();
}

// a·b with overflow detection (both ≥ 0).
bool MulOk(uint64_t a, uint64_t b, uint64_t* out) { return !__builtin_mul_overflow(a, b, out); }

}  // namespace

std::string_view GgufTypeName(GgufType type) {
  static constexpr std::string_view kNames[] = {"u8",  "i8",     "u16",   "i16", "u32", "i32", "f32",
                                                "bool", "string", "array", "u64", "i64", "f64"};
  auto i = static_cast<uint32_t>(type);
  return i < 13 ? kNames[i] : std::string_view("unknown");
}

int64_t GgufTensor::Elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}
int64_t GgufTensor::Rows() const {
  int64_t n = 1;
  for (size_t i = 1; i < dims.size(); ++i) n *= dims[i];
  return n;
}
int64_t GgufTensor::RowBytes() const { return llm::RowBytes(type, dims.empty() ? 1 : dims[0]); }

GgufFile::~GgufFile() {
  if (map_) munmap(map_, size_);
}

Result<std::unique_ptr<GgufFile>> GgufFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unavailable("gguf: cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    ::close(fd);
    return Unavailable("gguf: cannot stat " + path);
  }
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->size_ = static_cast<size_t>(st.st_size);
  if (f->size_ == 0) {
    ::close(fd);
    return DataLoss("gguf: " + path + " is empty");
  }
  void* m = mmap(nullptr, f->size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (m == MAP_FAILED) return Unavailable("gguf: cannot mmap " + path + ": " + std::strerror(errno));
  f->map_ = m;
  f->data_ = static_cast<const uint8_t*>(m);
  if (Status s = f->ParseAll(); !s.ok()) return s.WithContext(path);
  return f;
}

Result<std::unique_ptr<GgufFile>> GgufFile::Parse(const uint8_t* data, size_t size) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->data_ = data;
  f->size_ = size;
  RETURN_IF_ERROR(f->ParseAll());
  return f;
}

Status GgufFile::ParseAll() {
  Cursor c(data_, size_);
  uint32_t magic = 0;
  RETURN_IF_ERROR(c.Read(&magic, "magic"));
  if (magic != kMagic) return DataLoss("gguf: bad magic (not a GGUF file)");
  RETURN_IF_ERROR(c.Read(&version_, "version"));
  if (version_ != 2 && version_ != 3)
    return Unimplemented("gguf: version " + std::to_string(version_) + " is not supported (2 and 3 are)");
  uint64_t n_tensors = 0, n_kv = 0;
  RETURN_IF_ERROR(c.Read(&n_tensors, "tensor_count"));
  RETURN_IF_ERROR(c.Read(&n_kv, "metadata_kv_count"));
  // A key/value takes at least 8 + 4 + 1 bytes; a tensor info at least 8 + 4 + 4 + 8.
  if (n_kv > c.left() / 13)
    return DataLoss("gguf: metadata_kv_count " + std::to_string(n_kv) + " exceeds what the file can hold");
  if (n_tensors > c.left() / 24)
    return DataLoss("gguf: tensor_count " + std::to_string(n_tensors) + " exceeds what the file can hold");
  kv_.reserve(static_cast<size_t>(n_kv));
  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string_view key;
    RETURN_IF_ERROR(c.String(&key, "metadata key #" + std::to_string(k)));
    std::string field = "metadata " + Quote(key);
    uint32_t type = 0;
    RETURN_IF_ERROR(c.Read(&type, field + " type"));
    if (type > static_cast<uint32_t>(GgufType::kF64))
      return DataLoss("gguf: " + field + ": unknown value type " + std::to_string(type));
    GgufValue v;
    RETURN_IF_ERROR(ReadValue(c, static_cast<GgufType>(type), &v, field));
    std::string skey(key);
    if (kv_index_.count(skey)) return DataLoss("gguf: " + field + ": duplicate key");
    kv_index_[skey] = kv_.size();
    kv_.emplace_back(std::move(skey), std::move(v));
  }
  if (const GgufValue* a = Find("general.alignment")) {
    if (a->type != GgufType::kU32) return DataLoss("gguf: metadata 'general.alignment': must be u32");
    if (a->u == 0 || (a->u & (a->u - 1)) != 0 || a->u > (1u << 20))
      return DataLoss("gguf: metadata 'general.alignment': " + std::to_string(a->u) +
                      " is not a power of two up to 2^20");
    alignment_ = static_cast<uint32_t>(a->u);
  }
  tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t t = 0; t < n_tensors; ++t) {
    GgufTensor info;
    std::string_view name;
    RETURN_IF_ERROR(c.String(&name, "tensor #" + std::to_string(t) + " name"));
    info.name = std::string(name);
    std::string field = "tensor " + Quote(name);
    uint32_t n_dims = 0;
    RETURN_IF_ERROR(c.Read(&n_dims, field + " n_dims"));
    if (n_dims == 0 || n_dims > kMaxDims)
      return DataLoss("gguf: " + field + ": n_dims " + std::to_string(n_dims) + " not in 1..4");
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t dim = 0;
      RETURN_IF_ERROR(c.Read(&dim, field + " dims[" + std::to_string(d) + "]"));
      if (dim == 0 || dim > (uint64_t{1} << 40) || !MulOk(elements, dim, &elements) || elements > (uint64_t{1} << 40))
        return DataLoss("gguf: " + field + ": dims[" + std::to_string(d) + "] = " + std::to_string(dim) +
                        " gives an invalid element count");
      info.dims.push_back(static_cast<int64_t>(dim));
    }
    uint32_t type = 0;
    RETURN_IF_ERROR(c.Read(&type, field + " type"));
    const TypeInfo* ti = TypeInfoOf(type);
    if (!ti) return DataLoss("gguf: " + field + ": unknown tensor type " + std::to_string(type));
    if (!ti->supported)
      return Unimplemented("gguf: " + field + ": tensor type " + std::string(ti->name) + " is not supported");
    info.type = static_cast<GgmlType>(type);
    if (info.dims[0] % ti->block_size != 0)
      return DataLoss("gguf: " + field + ": dims[0] = " + std::to_string(info.dims[0]) +
                      " is not a multiple of the " + std::string(ti->name) + " block size " +
                      std::to_string(ti->block_size));
    RETURN_IF_ERROR(c.Read(&info.offset, field + " offset"));
    if (info.offset % alignment_ != 0)
      return DataLoss("gguf: " + field + ": offset " + std::to_string(info.offset) + " is not a multiple of " +
                      "the alignment " + std::to_string(alignment_));
    // size = elements / block_size · type_size (elements < 2^40, type_size < 2^9: no overflow)
    info.size = elements / static_cast<uint64_t>(ti->block_size) * static_cast<uint64_t>(ti->type_size);
    if (tensor_index_.count(info.name)) return DataLoss("gguf: " + field + ": duplicate tensor name");
    tensor_index_[info.name] = tensors_.size();
    tensors_.push_back(std::move(info));
  }
  uint64_t pos = c.pos();
  data_offset_ = (pos + alignment_ - 1) / alignment_ * alignment_;
  if (n_tensors > 0 && data_offset_ > size_)
    return DataLoss("gguf: data section at offset " + std::to_string(data_offset_) + " starts past the end of the " +
                    "file (" + std::to_string(size_) + " bytes)");
  const uint64_t data_bytes = size_ >= data_offset_ ? size_ - data_offset_ : 0;
  for (GgufTensor& t : tensors_) {
    if (t.offset > data_bytes || t.size > data_bytes - t.offset)
      return DataLoss("gguf: tensor " + Quote(t.name) + ": data [" + std::to_string(t.offset) + ", +" +
                      std::to_string(t.size) + ") runs past the end of the data section (" +
                      std::to_string(data_bytes) + " bytes): truncated file?");
    t.data = data_ + data_offset_ + t.offset;
  }
  return Status::Ok();
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

namespace {
Result<const GgufValue*> Need(const GgufFile& f, std::string_view key) {
  const GgufValue* v = f.Find(key);
  if (!v) return NotFound("gguf: metadata '" + std::string(key) + "' is missing");
  return v;
}
Status WrongType(std::string_view key, const GgufValue& v, std::string_view want) {
  return InvalidArgument("gguf: metadata '" + std::string(key) + "' is " + std::string(GgufTypeName(v.type)) +
                         ", expected " + std::string(want));
}
// Integer value within [lo, hi].
Result<int64_t> IntIn(std::string_view key, const GgufValue& v, int64_t lo, uint64_t hi, std::string_view want) {
  if (!IsInteger(v.type)) return WrongType(key, v, want);
  if (IsSigned(v.type) ? (v.i < lo || (v.i >= 0 && static_cast<uint64_t>(v.i) > hi)) : v.u > hi)
    return OutOfRange("gguf: metadata '" + std::string(key) + "' does not fit " + std::string(want));
  return IsSigned(v.type) ? v.i : static_cast<int64_t>(v.u);
}
}  // namespace

Result<std::string_view> GgufFile::GetString(std::string_view key) const {
  ASSIGN_OR_RETURN(const GgufValue* v, Need(*this, key));
  if (v->type != GgufType::kString) return WrongType(key, *v, "string");
  return v->str;
}
Result<uint32_t> GgufFile::GetU32(std::string_view key) const {
  ASSIGN_OR_RETURN(const GgufValue* v, Need(*this, key));
  ASSIGN_OR_RETURN(int64_t x, IntIn(key, *v, 0, std::numeric_limits<uint32_t>::max(), "u32"));
  return static_cast<uint32_t>(x);
}
Result<int32_t> GgufFile::GetI32(std::string_view key) const {
  ASSIGN_OR_RETURN(const GgufValue* v, Need(*this, key));
  ASSIGN_OR_RETURN(int64_t x, IntIn(key, *v, std::numeric_limits<int32_t>::min(),
                                    std::numeric_limits<int32_t>::max(), "i32"));
  return static_cast<int32_t>(x);
}
Result<uint64_t> GgufFile::GetU64(std::string_view key) const {
  ASSIGN_OR_RETURN(const GgufValue* v, Need(*this, key));
  if (v->type == GgufType::kU64) return v->u;
  ASSIGN_OR_RETURN(int64_t x, IntIn(key, *v, 0, std::numeric_limits<int64_t>::max(), "u64"));
  return static_cast<uint64_t>(x);
}
Result<float> GgufFile::GetF32(std::string_view key) const {
  ASSIGN_OR_RETURN(const GgufValue* v, Need(*this, key));
  if (v->type == GgufType::kF32) return static_cast<float>(v->f);
  if (v->type == GgufType::kF64 && static_cast<double>(static_cast<float>(v->f)) == v->f)
    return static_cast<float>(v->f);
  return WrongType(key, *v, "f32");
}
Result<bool> GgufFile::GetBool(std::string_view key) const {
  ASSIGN_OR_RETURN(const GgufValue* v, Need(*this, key));
  if (v->type != GgufType::kBool) return WrongType(key, *v, "bool");
  return v->u != 0;
}
Result<const GgufValue*> GgufFile::GetArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const GgufValue* v, Need(*this, key));
  if (v->type != GgufType::kArray) return WrongType(key, *v, "array");
  return v;
}
Result<std::vector<std::string_view>> GgufFile::GetStringArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const GgufValue* v, GetArray(key));
  if (v->elem_type != GgufType::kString)
    return InvalidArgument("gguf: metadata '" + std::string(key) + "' is an array of " +
                           std::string(GgufTypeName(v->elem_type)) + ", expected string");
  return v->strings;
}
Result<std::vector<float>> GgufFile::GetF32Array(std::string_view key) const {
  ASSIGN_OR_RETURN(const GgufValue* v, GetArray(key));
  if (v->elem_type != GgufType::kF32)
    return InvalidArgument("gguf: metadata '" + std::string(key) + "' is an array of " +
                           std::string(GgufTypeName(v->elem_type)) + ", expected f32");
  std::vector<float> out(static_cast<size_t>(v->count));
  if (!out.empty()) std::memcpy(out.data(), v->elems, out.size() * 4);
  return out;
}
Result<std::vector<int64_t>> GgufFile::GetIntArray(std::string_view key) const {
  ASSIGN_OR_RETURN(const GgufValue* v, GetArray(key));
  if (!IsInteger(v->elem_type) && v->elem_type != GgufType::kBool)
    return InvalidArgument("gguf: metadata '" + std::string(key) + "' is an array of " +
                           std::string(GgufTypeName(v->elem_type)) + ", expected integers");
  size_t es = ScalarSize(v->elem_type);
  std::vector<int64_t> out(static_cast<size_t>(v->count));
  for (size_t k = 0; k < out.size(); ++k) {
    GgufValue e;
    DecodeScalar(v->elem_type, v->elems + k * es, &e);
    out[k] = e.i;
  }
  return out;
}

const GgufTensor* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

Result<WeightMatrix> GgufFile::Matrix(std::string_view name) const {
  const GgufTensor* t = FindTensor(name);
  if (!t) return NotFound("gguf: tensor '" + std::string(name) + "' is missing");
  WeightMatrix m;
  m.type = t->type;
  m.cols = t->dims[0];
  m.rows = t->Rows();
  m.row_bytes = t->RowBytes();
  m.data = t->data;
  return m;
}

}  // namespace lucid::llm
