#include "codec/codec.h"

namespace lucid::codec {

void Writer::U16(uint16_t v) {
  U8(static_cast<uint8_t>(v >> 8));
  U8(static_cast<uint8_t>(v));
}
void Writer::U32(uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) U8(static_cast<uint8_t>(v >> shift));
}
void Writer::U64(uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) U8(static_cast<uint8_t>(v >> shift));
}
void Writer::Blob(ByteView b) {
  U32(static_cast<uint32_t>(b.size()));
  Raw(b);
}
void Writer::Str(std::string_view s) { Blob(AsBytes(s)); }

Status Reader::Truncated() const {
  return InvalidArgument("encoding truncated at byte " + std::to_string(pos_));
}

Result<uint8_t> Reader::U8() {
  if (remaining() < 1) return Truncated();
  return in_[pos_++];
}
Result<uint16_t> Reader::U16() {
  if (remaining() < 2) return Truncated();
  uint16_t v = static_cast<uint16_t>(in_[pos_] << 8 | in_[pos_ + 1]);
  pos_ += 2;
  return v;
}
Result<uint32_t> Reader::U32() {
  if (remaining() < 4) return Truncated();
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | in_[pos_ + i];
  pos_ += 4;
  return v;
}
Result<uint64_t> Reader::U64() {
  if (remaining() < 8) return Truncated();
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | in_[pos_ + i];
  pos_ += 8;
  return v;
}
Result<int64_t> Reader::I64() {
  ASSIGN_OR_RETURN(uint64_t v, U64());
  return static_cast<int64_t>(v);
}
Result<bool> Reader::Bool() {
  ASSIGN_OR_RETURN(uint8_t v, U8());
  if (v > 1) return InvalidArgument("boolean byte is not 0 or 1");
  return v == 1;
}
Result<Bytes> Reader::Raw(size_t n) {
  if (remaining() < n) return Truncated();
  Bytes out(in_.begin() + pos_, in_.begin() + pos_ + n);
  pos_ += n;
  return out;
}
Result<Bytes> Reader::Blob() {
  ASSIGN_OR_RETURN(uint32_t n, U32());
  if (n > kMaxFieldBytes) return OutOfRange("field length " + std::to_string(n) + " exceeds limit");
  return Raw(n);
}
Result<std::string> Reader::Str() {
  ASSIGN_OR_RETURN(Bytes b, Blob());
  return std::string(b.begin(), b.end());
}
Result<uint32_t> Reader::Count(size_t min_element_bytes) {
  ASSIGN_OR_RETURN(uint32_t n, U32());
  if (min_element_bytes == 0) min_element_bytes = 1;
  if (static_cast<uint64_t>(n) * min_element_bytes > remaining())
    return InvalidArgument("sequence count " + std::to_string(n) + " exceeds remaining bytes");
  return n;
}
Status Reader::Finish() const {
  if (remaining() != 0)
    return InvalidArgument(std::to_string(remaining()) + " trailing bytes after encoding");
  return Status::Ok();
}

}  // namespace lucid::codec
