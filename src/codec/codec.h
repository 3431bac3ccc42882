// Lucid's canonical binary encoding (docs/formats/encoding.md): the only bytes that are
// ever hashed or signed. Integers are fixed-width big-endian; byte strings and strings
// carry a u32 length; sequences carry a u32 count; maps are written as sequences sorted
// by key, and the reader refuses unsorted or duplicate keys. Every top-level structure
// starts with a version byte. There is exactly one encoding per value.
// Thread-safety: Writer/Reader are single-threaded values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"

namespace lucid::codec {

// Largest length any single field may declare; protects readers from huge allocations.
inline constexpr uint32_t kMaxFieldBytes = 64u << 20;

class Writer {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U16(uint16_t v);
  void U32(uint32_t v);
  void U64(uint64_t v);
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Bool(bool v) { U8(v ? 1 : 0); }
  void Raw(ByteView b) { out_.insert(out_.end(), b.begin(), b.end()); }  // fixed-size fields
  void Blob(ByteView b);            // u32 length + bytes
  void Str(std::string_view s);     // u32 length + UTF-8 bytes
  template <size_t N>
  void Fixed(const std::array<uint8_t, N>& a) { Raw(ByteView(a.data(), N)); }

  const Bytes& bytes() const { return out_; }
  Bytes Take() { return std::move(out_); }

 private:
  Bytes out_;
};

class Reader {
 public:
  explicit Reader(ByteView in) : in_(in) {}
  Result<uint8_t> U8();
  Result<uint16_t> U16();
  Result<uint32_t> U32();
  Result<uint64_t> U64();
  Result<int64_t> I64();
  Result<bool> Bool();              // refuses values other than 0/1
  Result<Bytes> Raw(size_t n);
  Result<Bytes> Blob();
  Result<std::string> Str();
  // A u32 count that is plausible: each element needs at least min_element_bytes.
  Result<uint32_t> Count(size_t min_element_bytes = 1);
  template <size_t N>
  Status Fixed(std::array<uint8_t, N>& a) {
    if (remaining() < N) return Truncated();
    std::copy(in_.begin() + pos_, in_.begin() + pos_ + N, a.begin());
    pos_ += N;
    return Status::Ok();
  }

  size_t remaining() const { return in_.size() - pos_; }
  // Ok iff every byte was consumed (trailing bytes make an encoding non-canonical).
  Status Finish() const;

 private:
  Status Truncated() const;
  ByteView in_;
  size_t pos_ = 0;
};

}  // namespace lucid::codec
