#include "crypto/cid.h"

#include <algorithm>

#include "crypto/hash.h"

namespace lucid::crypto {
namespace {

constexpr char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
constexpr uint8_t kCidVersion1 = 0x01;
constexpr uint8_t kCodecRaw = 0x55;
constexpr uint8_t kHashSha256 = 0x12;
constexpr uint8_t kDigestLength = 0x20;
constexpr size_t kBinarySize = 4 + 32;

int Base32Value(char c) {
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

}  // namespace

std::string Base32Lower(ByteView data) {
  std::string out;
  out.reserve((data.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (uint8_t byte : data) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kAlphabet[(buffer >> (bits - 5)) & 0x1f]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (5 - bits)) & 0x1f]);
  return out;
}

Result<Bytes> Base32LowerDecode(std::string_view text) {
  // Lengths 1, 3 and 6 mod 8 cannot come from whole bytes.
  size_t tail = text.size() % 8;
  if (tail == 1 || tail == 3 || tail == 6) {
    return InvalidArgument("base32: length " + std::to_string(text.size()) + " is not a whole number of bytes");
  }
  Bytes out;
  out.reserve(text.size() * 5 / 8);
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    int value = Base32Value(text[i]);
    if (value < 0) {
      return InvalidArgument("base32: invalid character '" + std::string(1, text[i]) + "' at position " +
                             std::to_string(i) + " (only lower-case a-z and 2-7, no padding)");
    }
    buffer = (buffer << 5) | static_cast<uint32_t>(value);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<uint8_t>(buffer >> (bits - 8)));
      bits -= 8;
    }
  }
  // Leftover bits must be zero, so every byte string has exactly one text form.
  if ((buffer & ((1u << bits) - 1)) != 0) return InvalidArgument("base32: non-zero trailing bits");
  return out;
}

std::string Cid::ToString() const { return "b" + Base32Lower(ToBinary()); }

Bytes Cid::ToBinary() const {
  Bytes out(kBinarySize);
  out[0] = kCidVersion1;
  out[1] = kCodecRaw;
  out[2] = kHashSha256;
  out[3] = kDigestLength;
  std::copy(digest.begin(), digest.end(), out.begin() + 4);
  return out;
}

Result<Cid> Cid::Parse(std::string_view text) {
  auto fail = [&](const std::string& why) {
    return InvalidArgument("CID '" + std::string(text) + "': " + why);
  };
  if (text.empty()) return fail("empty");
  if (text[0] == 'B') return fail("upper-case base32 ('B' prefix) is not accepted; use lower case 'b'");
  if (text.size() >= 2 && text[0] == 'Q' && text[1] == 'm') return fail("CIDv0 (base58 'Qm...') is not accepted");
  if (text[0] != 'b') return fail(std::string("multibase prefix '") + text[0] + "' is not accepted; only 'b' (base32 lower)");
  auto decoded = Base32LowerDecode(text.substr(1));
  if (!decoded.ok()) return fail(decoded.status().message());
  const Bytes& bin = *decoded;
  if (bin.size() < 4) return fail("too short");
  if (bin[0] != kCidVersion1) return fail("version " + std::to_string(bin[0]) + " is not accepted; only CIDv1");
  if (bin[1] != kCodecRaw) return fail("content codec 0x" + ToHex(ByteView(&bin[1], 1)) + " is not accepted; only raw (0x55)");
  if (bin[2] != kHashSha256) return fail("hash function 0x" + ToHex(ByteView(&bin[2], 1)) + " is not accepted; only sha2-256 (0x12)");
  if (bin[3] != kDigestLength) return fail("digest length " + std::to_string(bin[3]) + " is not 32");
  if (bin.size() != kBinarySize) {
    return fail("binary length " + std::to_string(bin.size()) + " is not " + std::to_string(kBinarySize));
  }
  Cid cid;
  std::copy(bin.begin() + 4, bin.end(), cid.digest.begin());
  return cid;
}

Cid Cid::Of(ByteView content) { return Cid{Sha256(content)}; }

Status Cid::Check(ByteView content) const {
  Hash32 actual = Sha256(content);
  if (actual != digest) {
    return DataLoss("content does not match CID " + ToString() + " (content is " + Cid{actual}.ToString() + ")");
  }
  return Status::Ok();
}

}  // namespace lucid::crypto
