// Local account keys for the CLI and devnet: one file per key under <home>/keys/<name>.json
//   {"address":"0x...","name":"alice","secret":"<64 hex>"}
// created with mode 0600, whole or absent (temp file + link, never overwriting), in a
// directory with mode 0700. Secrets are never logged and never appear in error messages.
// Thread-safety: a Keystore holds only its path; concurrent calls are safe (creation is
// atomic on the filesystem, a second New/Import of one name gets ALREADY_EXISTS).
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/secp256k1.h"

namespace lucid::keystore {

struct KeyInfo {
  std::string name;
  crypto::Address address;
};

class Keystore {
 public:
  // Keys live in <home>/keys; the directory is created on first write.
  explicit Keystore(std::string home);

  // Generates a fresh key (OpenSSL CSPRNG). ALREADY_EXISTS if the name is taken.
  Result<KeyInfo> New(std::string_view name);
  // Imports a 32-byte secret given as hex (optional 0x). ALREADY_EXISTS if the name is taken.
  Result<KeyInfo> Import(std::string_view name, std::string_view secret_hex);
  Result<KeyInfo> Import(std::string_view name, const crypto::PrivateKey& key);
  // NOT_FOUND for an unknown name; DATA_LOSS when the file is corrupt or its address does
  // not match its secret; PERMISSION_DENIED when the file is readable by group or others.
  Result<crypto::PrivateKey> Get(std::string_view name) const;
  // All keys sorted by name (secrets are not read into the result).
  Result<std::vector<KeyInfo>> List() const;

  std::string KeyPath(std::string_view name) const;
  const std::string& dir() const { return dir_; }

 private:
  Result<KeyInfo> Store(std::string_view name, const crypto::PrivateKey& key);

  std::string dir_;
};

// Key names: [A-Za-z0-9_-]{1,64}.
Status ValidateKeyName(std::string_view name);

// INSECURE, PUBLIC dev keys: dev0..dev{n-1}, secret = sha256("lucid-dev-key-" + i).
// Anyone can derive them; only chains created with dev_mode = true in genesis accept them
// (the chain and devnet enforce that). Never use them for real funds.
std::vector<crypto::PrivateKey> DevKeys(size_t n);
std::string DevKeyName(size_t index);  // "dev<index>"

}  // namespace lucid::keystore
