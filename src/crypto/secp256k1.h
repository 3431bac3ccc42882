// secp256k1 keys, Ethereum-style addresses and 65-byte recoverable signatures
// (libsecp256k1, RFC 6979 nonces, low-s). Thread-safety: all functions are reentrant;
// a process-wide verification/signing context is created once.
#pragma once

#include <array>
#include <string>

#include "base/bytes.h"

namespace lucid::crypto {

// 20-byte address = last 20 bytes of keccak256(uncompressed pubkey without 0x04 prefix).
struct Address {
  std::array<uint8_t, 20> bytes{};
  // "0x" + 40 lower-case hex chars.
  std::string ToHex() const;
  // EIP-55 mixed-case checksum form.
  std::string ToChecksumHex() const;
  static Result<Address> FromHex(std::string_view hex);  // accepts with/without 0x, any case
  auto operator<=>(const Address&) const = default;
};

// r (32) || s (32) || v (1, recovery id 0 or 1).
using Signature = std::array<uint8_t, 65>;

class PrivateKey {
 public:
  // From 32 bytes; refuses zero and values >= curve order.
  static Result<PrivateKey> FromBytes(ByteView secret);
  // Fresh key from OpenSSL's CSPRNG.
  static PrivateKey Generate();
  // Deterministic test key: secret = sha256(seed). For dev accounts only.
  static PrivateKey FromSeed(std::string_view seed);

  const std::array<uint8_t, 32>& secret() const { return secret_; }
  // Uncompressed public key, 64 bytes (x || y), no 0x04 prefix.
  std::array<uint8_t, 64> PublicKey() const;
  Address address() const;
  // Sign a 32-byte digest (the caller hashes with a domain tag first).
  Signature Sign(const Hash32& digest) const;

 private:
  std::array<uint8_t, 32> secret_{};
};

// Recover the signer's address from a digest and signature. Refuses high-s,
// v not in {0,1} (27/28 also accepted and normalised), and invalid points.
Result<Address> RecoverAddress(const Hash32& digest, const Signature& sig);

// Recover the 64-byte uncompressed public key.
Result<std::array<uint8_t, 64>> RecoverPublicKey(const Hash32& digest, const Signature& sig);

Address AddressFromPublicKey(const std::array<uint8_t, 64>& pubkey);

// True when x || y (64 bytes, uncompressed without the 0x04 prefix) is a point on secp256k1.
bool IsValidPublicKey(const std::array<uint8_t, 64>& pubkey);

}  // namespace lucid::crypto
