// Byte strings, fixed-size hashes and hex. Thread-safety: plain values.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace lucid {

using Bytes = std::vector<uint8_t>;
using ByteView = std::span<const uint8_t>;
using Hash32 = std::array<uint8_t, 32>;

// Lower-case hex without prefix.
std::string ToHex(ByteView bytes);
template <size_t N>
std::string ToHex(const std::array<uint8_t, N>& a) { return ToHex(ByteView(a.data(), N)); }
// Accepts an optional "0x" prefix, either case; odd length or non-hex is an error.
Result<Bytes> FromHex(std::string_view hex);
// Percent-encodes text for a URL path segment or query value: "name with spaces" ->
// "name%20with%20spaces" (RFC 3986 unreserved characters kept).
std::string UrlEncode(std::string_view text);
// Exactly 32 bytes of hex (optionally 0x-prefixed).
Result<Hash32> Hash32FromHex(std::string_view hex);

inline ByteView AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::string AsString(ByteView b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
inline Bytes ToBytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// Concatenate byte strings.
Bytes Concat(std::initializer_list<ByteView> parts);

}  // namespace lucid
