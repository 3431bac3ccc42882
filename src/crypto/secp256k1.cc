#include "crypto/secp256k1.h"

#include <openssl/rand.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "crypto/hash.h"

namespace lucid::crypto {
namespace {

[[noreturn]] void Fatal(const char* what) {
  std::fprintf(stderr, "lucid::crypto: %s\n", what);
  std::abort();
}

// One context for the whole process. libsecp256k1 contexts are safe to share between
// threads for every call except randomize, which happens once here before publication
// (C++ guarantees the static initialiser runs exactly once).
const secp256k1_context* Context() {
  static secp256k1_context* const context = [] {
    secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    if (ctx == nullptr) Fatal("secp256k1_context_create failed");
    std::array<uint8_t, 32> seed{};
    if (RAND_bytes(seed.data(), static_cast<int>(seed.size())) != 1) Fatal("RAND_bytes failed");
    if (secp256k1_context_randomize(ctx, seed.data()) != 1) Fatal("secp256k1_context_randomize failed");
    return ctx;
  }();
  return context;
}

// n/2 for secp256k1; signatures with s above it are malleable twins and are refused.
constexpr std::array<uint8_t, 32> kHalfOrder = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0};

bool IsValidSecret(const uint8_t* secret) {
  return secp256k1_ec_seckey_verify(Context(), secret) == 1;
}

}  // namespace

std::string Address::ToHex() const { return "0x" + lucid::ToHex(ByteView(bytes.data(), bytes.size())); }

std::string Address::ToChecksumHex() const {
  std::string lower = lucid::ToHex(ByteView(bytes.data(), bytes.size()));
  Hash32 hash = Keccak256(AsBytes(lower));
  std::string out = "0x";
  for (size_t i = 0; i < lower.size(); ++i) {
    char c = lower[i];
    uint8_t nibble = (i % 2 == 0) ? (hash[i / 2] >> 4) : (hash[i / 2] & 0x0f);
    if (c >= 'a' && c <= 'f' && nibble >= 8) c = static_cast<char>(c - 'a' + 'A');
    out.push_back(c);
  }
  return out;
}

Result<Address> Address::FromHex(std::string_view hex) {
  std::string_view digits = hex;
  if (digits.size() >= 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) digits.remove_prefix(2);
  if (digits.size() != 40) {
    return InvalidArgument("address must be 40 hex digits, got " + std::to_string(digits.size()) + " in '" +
                           std::string(hex) + "'");
  }
  auto decoded = lucid::FromHex(digits);
  if (!decoded.ok()) return InvalidArgument("address '" + std::string(hex) + "': " + decoded.status().message());
  Address address;
  std::copy(decoded->begin(), decoded->end(), address.bytes.begin());
  return address;
}

Result<PrivateKey> PrivateKey::FromBytes(ByteView secret) {
  if (secret.size() != 32) {
    return InvalidArgument("private key must be 32 bytes, got " + std::to_string(secret.size()));
  }
  if (!IsValidSecret(secret.data())) {
    return InvalidArgument("private key is zero or not below the secp256k1 group order");
  }
  PrivateKey key;
  std::copy(secret.begin(), secret.end(), key.secret_.begin());
  return key;
}

PrivateKey PrivateKey::Generate() {
  PrivateKey key;
  do {
    if (RAND_bytes(key.secret_.data(), static_cast<int>(key.secret_.size())) != 1) Fatal("RAND_bytes failed");
  } while (!IsValidSecret(key.secret_.data()));
  return key;
}

PrivateKey PrivateKey::FromSeed(std::string_view seed) {
  PrivateKey key;
  key.secret_ = Sha256(AsBytes(seed));
  // Invalid with probability ~2^-128; hash again rather than fail.
  while (!IsValidSecret(key.secret_.data())) key.secret_ = Sha256(key.secret_);
  return key;
}

std::array<uint8_t, 64> PrivateKey::PublicKey() const {
  secp256k1_pubkey pubkey;
  // The secret was validated on construction, so this cannot fail.
  if (secp256k1_ec_pubkey_create(Context(), &pubkey, secret_.data()) != 1) Fatal("pubkey_create failed");
  uint8_t serialized[65];
  size_t len = sizeof(serialized);
  secp256k1_ec_pubkey_serialize(Context(), serialized, &len, &pubkey, SECP256K1_EC_UNCOMPRESSED);
  std::array<uint8_t, 64> out;
  std::copy(serialized + 1, serialized + 65, out.begin());
  return out;
}

Address PrivateKey::address() const { return AddressFromPublicKey(PublicKey()); }

bool IsValidPublicKey(const std::array<uint8_t, 64>& pubkey) {
  uint8_t sec1[65];
  sec1[0] = 0x04;
  std::copy(pubkey.begin(), pubkey.end(), sec1 + 1);
  secp256k1_pubkey parsed;
  return secp256k1_ec_pubkey_parse(Context(), &parsed, sec1, sizeof(sec1)) == 1;
}

Signature PrivateKey::Sign(const Hash32& digest) const {
  secp256k1_ecdsa_recoverable_signature sig;
  // Default nonce function is RFC 6979; libsecp256k1 always emits low-s.
  if (secp256k1_ecdsa_sign_recoverable(Context(), &sig, digest.data(), secret_.data(), nullptr, nullptr) != 1) {
    Fatal("ecdsa_sign_recoverable failed");
  }
  Signature out{};
  int recid = 0;
  secp256k1_ecdsa_recoverable_signature_serialize_compact(Context(), out.data(), &recid, &sig);
  out[64] = static_cast<uint8_t>(recid);
  return out;
}

Result<std::array<uint8_t, 64>> RecoverPublicKey(const Hash32& digest, const Signature& sig) {
  int recid = sig[64];
  if (recid == 27 || recid == 28) recid -= 27;
  if (recid != 0 && recid != 1) {
    return InvalidArgument("signature v must be 0, 1, 27 or 28, got " + std::to_string(sig[64]));
  }
  const uint8_t* s = sig.data() + 32;
  if (std::lexicographical_compare(kHalfOrder.begin(), kHalfOrder.end(), s, s + 32)) {
    return InvalidArgument("signature has high s (s > n/2); only low-s signatures are accepted");
  }
  secp256k1_ecdsa_recoverable_signature parsed;
  if (secp256k1_ecdsa_recoverable_signature_parse_compact(Context(), &parsed, sig.data(), recid) != 1) {
    return InvalidArgument("signature r or s is not below the secp256k1 group order");
  }
  secp256k1_pubkey pubkey;
  if (secp256k1_ecdsa_recover(Context(), &pubkey, &parsed, digest.data()) != 1) {
    return PermissionDenied("signature does not recover to a public key (invalid r, s or v)");
  }
  uint8_t serialized[65];
  size_t len = sizeof(serialized);
  secp256k1_ec_pubkey_serialize(Context(), serialized, &len, &pubkey, SECP256K1_EC_UNCOMPRESSED);
  std::array<uint8_t, 64> out;
  std::copy(serialized + 1, serialized + 65, out.begin());
  return out;
}

Result<Address> RecoverAddress(const Hash32& digest, const Signature& sig) {
  ASSIGN_OR_RETURN(auto pubkey, RecoverPublicKey(digest, sig));
  return AddressFromPublicKey(pubkey);
}

Address AddressFromPublicKey(const std::array<uint8_t, 64>& pubkey) {
  Hash32 hash = Keccak256(ByteView(pubkey.data(), pubkey.size()));
  Address address;
  std::copy(hash.begin() + 12, hash.end(), address.bytes.begin());
  return address;
}

}  // namespace lucid::crypto
