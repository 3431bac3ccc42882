#include "crypto/hash.h"

#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>

namespace lucid::crypto {
namespace {

// OpenSSL fails here only on allocation failure or a broken build; there is no
// meaningful recovery, and a wrong hash would be worse than stopping.
void CheckOpenSsl(int ok, const char* what) {
  if (ok != 1) {
    std::fprintf(stderr, "lucid::crypto: OpenSSL %s failed\n", what);
    std::abort();
  }
}

// SHA-256 fetched once: EVP_sha256() makes OpenSSL 3 look the algorithm up (a locked
// provider query) on every init, which cost ~10% of a zkml proof's time in Merkle hashing.
const EVP_MD* FetchedSha256() {
  static EVP_MD* md = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA2-256", nullptr);
    if (fetched == nullptr) CheckOpenSsl(0, "EVP_MD_fetch(SHA2-256)");
    return fetched;
  }();
  return md;
}

// One digest context per thread, re-initialised per hash (no allocation per call).
struct ThreadDigest {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~ThreadDigest() { EVP_MD_CTX_free(ctx); }
};

}  // namespace

Hash32 Sha256(ByteView data) {
  static thread_local ThreadDigest digest;
  if (digest.ctx == nullptr) CheckOpenSsl(0, "EVP_MD_CTX_new");
  Hash32 out;
  unsigned int len = 0;
  CheckOpenSsl(EVP_DigestInit_ex2(digest.ctx, FetchedSha256(), nullptr), "EVP_DigestInit_ex2");
  CheckOpenSsl(EVP_DigestUpdate(digest.ctx, data.data(), data.size()), "EVP_DigestUpdate");
  CheckOpenSsl(EVP_DigestFinal_ex(digest.ctx, out.data(), &len), "EVP_DigestFinal_ex");
  return out;
}

Hash32 TaggedSha256(std::string_view tag, ByteView data) {
  static constexpr uint8_t kSeparator = 0x00;
  Sha256Stream stream;
  stream.Update(AsBytes(tag));
  stream.Update(ByteView(&kSeparator, 1));
  stream.Update(data);
  return stream.Finish();
}

Sha256Stream::Sha256Stream() : ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr) CheckOpenSsl(0, "EVP_MD_CTX_new");
  CheckOpenSsl(EVP_DigestInit_ex2(static_cast<EVP_MD_CTX*>(ctx_), FetchedSha256(), nullptr), "EVP_DigestInit_ex2");
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }

void Sha256Stream::Update(ByteView data) {
  CheckOpenSsl(EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data.data(), data.size()),
               "EVP_DigestUpdate");
}

Hash32 Sha256Stream::Finish() {
  auto* ctx = static_cast<EVP_MD_CTX*>(ctx_);
  Hash32 out;
  unsigned int len = 0;
  CheckOpenSsl(EVP_DigestFinal_ex(ctx, out.data(), &len), "EVP_DigestFinal_ex");
  // Re-arm so the object can hash a new stream after Finish().
  CheckOpenSsl(EVP_DigestInit_ex2(ctx, FetchedSha256(), nullptr), "EVP_DigestInit_ex2");
  return out;
}

}  // namespace lucid::crypto
