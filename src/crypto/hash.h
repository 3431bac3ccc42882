// SHA-256 (OpenSSL) and Keccak-256 (own implementation, Ethereum's padding 0x01).
// Thread-safety: free functions, reentrant.
#pragma once

#include "base/bytes.h"

namespace lucid::crypto {

Hash32 Sha256(ByteView data);
Hash32 Keccak256(ByteView data);

// Domain-separated hash: sha256(tag || 0x00 || data). Tags are "lucid:<what>:v1".
Hash32 TaggedSha256(std::string_view tag, ByteView data);

// Incremental SHA-256 for large files.
class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;
  void Update(ByteView data);
  Hash32 Finish();

 private:
  void* ctx_;  // EVP_MD_CTX
};

}  // namespace lucid::crypto
