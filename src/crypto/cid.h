// CIDv1 for raw bytes: <0x01 version><0x55 raw codec><0x12 sha2-256><0x20 len><digest>,
// text form multibase base32 lower-case with prefix 'b' ("bafkrei..."). Lucid addresses
// every model file and manifest this way. See docs/formats/cid.md.
// Thread-safety: plain values.
#pragma once

#include <string>

#include "base/bytes.h"

namespace lucid::crypto {

struct Cid {
  Hash32 digest{};  // sha2-256 of the content
  // Multicodec of the content: 0x55 raw (files) or 0x0129 dag-json is not used; always raw.
  std::string ToString() const;          // "bafkrei..."
  Bytes ToBinary() const;                // 36 bytes
  static Result<Cid> Parse(std::string_view text);  // refuses other versions/codecs/hashes
  static Cid Of(ByteView content);
  // Ok iff sha256(content) == digest; DATA_LOSS naming the CID otherwise.
  Status Check(ByteView content) const;
  auto operator<=>(const Cid&) const = default;
};

std::string Base32Lower(ByteView data);            // RFC 4648 alphabet, lower case, no padding
Result<Bytes> Base32LowerDecode(std::string_view text);

}  // namespace lucid::crypto
