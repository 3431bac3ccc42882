// AWS Nitro attestation documents: COSE_Sign1 parsing with libcbor, verification with OpenSSL.
#include "tee/nitro.h"
#include "tee/openssl_ptr.h"

#include <cbor.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <set>

#include "crypto/hash.h"

namespace lucid::tee {

namespace {

// ---------- CBOR ----------

constexpr int kMaxCborDepth = 16;

// Checks that data[*pos..] starts with one well-formed CBOR item no deeper than kMaxCborDepth
// and advances *pos past it. Run before libcbor so that its recursive free never meets deep
// nesting and so that trailing bytes are found exactly.
Status ScanItem(ByteView data, size_t* pos, int depth, const char* what) {
  auto fail = [&](const std::string& why) {
    return InvalidArgument(std::string(what) + ": malformed CBOR at byte " + std::to_string(*pos) + ": " + why);
  };
  if (depth > kMaxCborDepth) return fail("nesting deeper than " + std::to_string(kMaxCborDepth));
  if (*pos >= data.size()) return fail("truncated");
  const uint8_t ib = data[(*pos)++];
  const int major = ib >> 5, info = ib & 31;
  uint64_t arg = 0;
  if (info < 24) {
    arg = info;
  } else if (info <= 27) {
    const size_t n = size_t{1} << (info - 24);
    if (data.size() - *pos < n) return fail("truncated");
    for (size_t i = 0; i < n; ++i) arg = (arg << 8) | data[(*pos)++];
  } else if (info != 31) {
    return fail("reserved additional information " + std::to_string(info));
  }
  const bool indefinite = info == 31;
  switch (major) {
    case 0:
    case 1:
      if (indefinite) return fail("indefinite integer");
      return Status::Ok();
    case 2:
    case 3:
      if (!indefinite) {
        if (data.size() - *pos < arg) return fail("truncated string");
        *pos += arg;
        return Status::Ok();
      }
      // Chunks: definite strings of the same major type, then a break.
      for (;;) {
        if (*pos >= data.size()) return fail("truncated indefinite string");
        if (data[*pos] == 0xff) return ++*pos, Status::Ok();
        if ((data[*pos] >> 5) != major || (data[*pos] & 31) == 31) return fail("bad indefinite string chunk");
        RETURN_IF_ERROR(ScanItem(data, pos, depth + 1, what));
      }
    case 4:
    case 5: {
      const int per_entry = major == 5 ? 2 : 1;
      if (!indefinite) {
        for (uint64_t i = 0; i < arg; ++i)
          for (int k = 0; k < per_entry; ++k) RETURN_IF_ERROR(ScanItem(data, pos, depth + 1, what));
        return Status::Ok();
      }
      for (;;) {
        if (*pos >= data.size()) return fail("truncated indefinite container");
        if (data[*pos] == 0xff) return ++*pos, Status::Ok();
        for (int k = 0; k < per_entry; ++k) RETURN_IF_ERROR(ScanItem(data, pos, depth + 1, what));
      }
    }
    case 6:
      if (indefinite) return fail("indefinite tag");
      return ScanItem(data, pos, depth + 1, what);
    default:  // 7: simple values and floats
      if (indefinite) return fail("unexpected break");
      if (info == 24 && arg < 32) return fail("non-canonical simple value");
      return Status::Ok();
  }
}

struct CborDeleter {
  void operator()(cbor_item_t* item) const { cbor_decref(&item); }
};
using CborPtr = std::unique_ptr<cbor_item_t, CborDeleter>;

// Exactly one well-formed CBOR item spanning all of data.
Result<CborPtr> LoadCbor(ByteView data, const char* what) {
  size_t pos = 0;
  RETURN_IF_ERROR(ScanItem(data, &pos, 0, what));
  if (pos != data.size())
    return InvalidArgument(std::string(what) + ": " + std::to_string(data.size() - pos) +
                           " trailing bytes after the CBOR item");
  cbor_load_result result{};
  CborPtr item(cbor_load(data.data(), data.size(), &result));
  if (!item || result.error.code != CBOR_ERR_NONE || result.read != data.size())
    return InvalidArgument(std::string(what) + ": CBOR decoding failed (libcbor error " +
                           std::to_string(static_cast<int>(result.error.code)) + " at byte " +
                           std::to_string(result.error.position) + ")");
  return item;
}

// Definite or indefinite byte string -> bytes, with a size cap.
Result<Bytes> GetBytes(const cbor_item_t* item, const std::string& field, size_t min_len, size_t max_len) {
  if (!cbor_isa_bytestring(item)) return InvalidArgument("field '" + field + "': expected a byte string");
  Bytes out;
  if (cbor_bytestring_is_definite(item)) {
    const uint8_t* p = cbor_bytestring_handle(item);
    out.assign(p, p + cbor_bytestring_length(item));
  } else {
    cbor_item_t** chunks = cbor_bytestring_chunks_handle(item);
    for (size_t i = 0; i < cbor_bytestring_chunk_count(item); ++i) {
      const uint8_t* p = cbor_bytestring_handle(chunks[i]);
      out.insert(out.end(), p, p + cbor_bytestring_length(chunks[i]));
    }
  }
  if (out.size() < min_len || out.size() > max_len)
    return (out.size() > max_len ? OutOfRange : InvalidArgument)(
        "field '" + field + "': " + std::to_string(out.size()) + " bytes, expected " +
        (min_len == max_len ? std::to_string(min_len)
                            : std::to_string(min_len) + ".." + std::to_string(max_len)));
  return out;
}

Result<std::string> GetText(const cbor_item_t* item, const std::string& field, size_t max_len) {
  if (!cbor_isa_string(item)) return InvalidArgument("field '" + field + "': expected a text string");
  std::string out;
  if (cbor_string_is_definite(item)) {
    out.assign(reinterpret_cast<const char*>(cbor_string_handle(item)), cbor_string_length(item));
  } else {
    cbor_item_t** chunks = cbor_string_chunks_handle(item);
    for (size_t i = 0; i < cbor_string_chunk_count(item); ++i)
      out.append(reinterpret_cast<const char*>(cbor_string_handle(chunks[i])), cbor_string_length(chunks[i]));
  }
  if (out.size() > max_len) return OutOfRange("field '" + field + "': text longer than " + std::to_string(max_len));
  return out;
}

// Optional byte string: null -> nullopt.
Result<std::optional<Bytes>> GetOptionalBytes(const cbor_item_t* item, const std::string& field, size_t max_len) {
  if (cbor_is_null(item)) return std::optional<Bytes>();
  ASSIGN_OR_RETURN(Bytes b, GetBytes(item, field, 0, max_len));
  return std::optional<Bytes>(std::move(b));
}

Status ParseProtectedHeader(ByteView header) {
  ASSIGN_OR_RETURN(CborPtr item, LoadCbor(header, "COSE protected header"));
  if (!cbor_isa_map(item.get()) || cbor_map_size(item.get()) != 1)
    return InvalidArgument("COSE protected header: expected the map {1: -35}");
  const cbor_pair& p = cbor_map_handle(item.get())[0];
  if (!cbor_isa_uint(p.key) || cbor_get_int(p.key) != 1)
    return InvalidArgument("COSE protected header: expected only the 'alg' (1) parameter");
  if (!cbor_isa_negint(p.value) || cbor_get_int(p.value) != 34)
    return InvalidArgument("COSE protected header: alg is not ES384 (-35)");
  return Status::Ok();
}

Status ParsePayload(ByteView payload, NitroDocument* doc) {
  ASSIGN_OR_RETURN(CborPtr map, LoadCbor(payload, "attestation payload"));
  if (!cbor_isa_map(map.get())) return InvalidArgument("attestation payload: expected a map");
  std::set<std::string> seen;
  const cbor_pair* pairs = cbor_map_handle(map.get());
  for (size_t i = 0; i < cbor_map_size(map.get()); ++i) {
    ASSIGN_OR_RETURN(std::string key, GetText(pairs[i].key, "payload key", 64));
    if (!seen.insert(key).second) return InvalidArgument("field '" + key + "': appears twice");
    const cbor_item_t* v = pairs[i].value;
    if (key == "module_id") {
      ASSIGN_OR_RETURN(doc->module_id, GetText(v, key, 256));
      if (doc->module_id.empty()) return InvalidArgument("field 'module_id': empty");
    } else if (key == "digest") {
      ASSIGN_OR_RETURN(doc->digest, GetText(v, key, 16));
      if (doc->digest != "SHA384") return InvalidArgument("field 'digest': '" + doc->digest + "', expected SHA384");
    } else if (key == "timestamp") {
      if (!cbor_isa_uint(v)) return InvalidArgument("field 'timestamp': expected an unsigned integer");
      doc->timestamp_ms = cbor_get_int(v);
      if (doc->timestamp_ms == 0) return InvalidArgument("field 'timestamp': zero");
    } else if (key == "pcrs") {
      if (!cbor_isa_map(v)) return InvalidArgument("field 'pcrs': expected a map");
      const size_t n = cbor_map_size(v);
      if (n == 0 || n > kMaxPcrs)
        return OutOfRange("field 'pcrs': " + std::to_string(n) + " entries, expected 1.." + std::to_string(kMaxPcrs));
      const cbor_pair* pcrs = cbor_map_handle(v);
      for (size_t j = 0; j < n; ++j) {
        if (!cbor_isa_uint(pcrs[j].key) || cbor_get_int(pcrs[j].key) >= kMaxPcrs)
          return InvalidArgument("field 'pcrs': index is not an integer 0.." + std::to_string(kMaxPcrs - 1));
        const auto index = static_cast<uint32_t>(cbor_get_int(pcrs[j].key));
        ASSIGN_OR_RETURN(Bytes value, GetBytes(pcrs[j].value, "pcrs[" + std::to_string(index) + "]", kPcrBytes, kPcrBytes));
        if (!doc->pcrs.emplace(index, std::move(value)).second)
          return InvalidArgument("field 'pcrs': index " + std::to_string(index) + " appears twice");
      }
    } else if (key == "certificate") {
      ASSIGN_OR_RETURN(doc->certificate, GetBytes(v, key, 1, kMaxCertBytes));
    } else if (key == "cabundle") {
      if (!cbor_isa_array(v)) return InvalidArgument("field 'cabundle': expected an array");
      const size_t n = cbor_array_size(v);
      if (n == 0 || n > kMaxCabundle)
        return OutOfRange("field 'cabundle': " + std::to_string(n) + " certificates, expected 1.." +
                          std::to_string(kMaxCabundle));
      cbor_item_t** certs = cbor_array_handle(v);
      for (size_t j = 0; j < n; ++j) {
        ASSIGN_OR_RETURN(Bytes der, GetBytes(certs[j], "cabundle[" + std::to_string(j) + "]", 1, kMaxCertBytes));
        doc->cabundle.push_back(std::move(der));
      }
    } else if (key == "public_key") {
      ASSIGN_OR_RETURN(doc->public_key, GetOptionalBytes(v, key, kMaxPublicKeyBytes));
    } else if (key == "user_data") {
      ASSIGN_OR_RETURN(doc->user_data, GetOptionalBytes(v, key, kMaxUserDataBytes));
    } else if (key == "nonce") {
      ASSIGN_OR_RETURN(doc->nonce, GetOptionalBytes(v, key, kMaxNonceBytes));
    } else {
      return InvalidArgument("field '" + key + "': unknown field");
    }
  }
  for (const char* required : {"module_id", "digest", "timestamp", "pcrs", "certificate", "cabundle"})
    if (!seen.count(required)) return InvalidArgument(std::string("field '") + required + "': missing");
  return Status::Ok();
}

// ---------- OpenSSL ----------

using internal::Deleter;
using internal::EcdsaSigPtr;
using internal::MdCtxPtr;
using internal::PkeyPtr;
using internal::X509Ptr;
using StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE, X509_STORE_free>>;
using StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX, X509_STORE_CTX_free>>;
struct StackDeleter {
  void operator()(STACK_OF(X509)* s) const { sk_X509_pop_free(s, X509_free); }
};
using StackPtr = std::unique_ptr<STACK_OF(X509), StackDeleter>;

X509Ptr ParseDerUncached(ByteView der) {
  const unsigned char* p = der.data();
  X509Ptr cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (cert && p != der.data() + der.size()) cert.reset();  // trailing bytes
  return cert;
}

// Parsed CA certificates by the SHA-256 of their DER. OpenSSL 3.0 spends ~90 us decoding one
// certificate (its public key goes through the provider decoders); the root and the bundle of a
// host repeat in every document. Parsing is a pure function of the bytes, and X509 objects are
// reference-counted and safe to share between verifications (as a store's trusted certificates are).
class ParsedCertCache {
 public:
  X509Ptr Get(ByteView der) {
    const Hash32 key = crypto::Sha256(der);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = certs_.find(key);
      if (it != certs_.end()) {
        X509_up_ref(it->second);
        return X509Ptr(it->second);
      }
    }
    X509Ptr cert = ParseDerUncached(der);
    if (!cert) return cert;
    std::lock_guard<std::mutex> lock(mu_);
    if (certs_.size() >= kCapacity) ClearLocked();
    if (certs_.emplace(key, cert.get()).second) X509_up_ref(cert.get());
    return cert;
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    ClearLocked();
  }

 private:
  static constexpr size_t kCapacity = 1024;
  void ClearLocked() {
    for (auto& [k, c] : certs_) X509_free(c);
    certs_.clear();
  }
  std::mutex mu_;
  std::map<Hash32, X509*> certs_;
};

ParsedCertCache& CertCache() {
  static ParsedCertCache* cache = new ParsedCertCache();
  return *cache;
}

X509Ptr ParseDer(ByteView der, bool cached = false) {
  return cached ? CertCache().Get(der) : ParseDerUncached(der);
}

int64_t AsnTimeToUnix(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

CertInfo Describe(X509* cert) {
  CertInfo info;
  char buf[512];
  X509_NAME_oneline(X509_get_subject_name(cert), buf, sizeof(buf));
  info.subject = buf;
  info.not_before_s = AsnTimeToUnix(X509_get0_notBefore(cert));
  info.not_after_s = AsnTimeToUnix(X509_get0_notAfter(cert));
  return info;
}

std::string FormatTime(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool Contains(ByteView haystack, ByteView needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) != haystack.end();
}

// ---- CA signature cache ----
// X509_verify(subject, issuer key) is a pure function of the subject's DER and the issuer's
// SubjectPublicKeyInfo, so its successes can be remembered without changing any verdict.
// Only CA-issued-by-CA links are remembered (the bundle: root -> regional -> zonal -> instance,
// shared by every document of a host); the leaf (new in every document) and the COSE
// signature are always checked. Times, extensions and path building stay with OpenSSL and run
// every time.
class CaSignatureCache {
 public:
  bool Verified(X509* subject, X509* issuer, EVP_PKEY* issuer_key) {
    std::array<uint8_t, 64> key;
    if (!Key(subject, issuer, &key)) return X509_verify(subject, issuer_key) > 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ok_.count(key)) return true;
    }
    if (X509_verify(subject, issuer_key) <= 0) return false;
    std::lock_guard<std::mutex> lock(mu_);
    if (ok_.size() >= kCapacity) ok_.clear();
    ok_.insert(key);
    return true;
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return ok_.size();
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mu_);
    ok_.clear();
  }

 private:
  static constexpr size_t kCapacity = 4096;
  static bool Key(X509* subject, X509* issuer, std::array<uint8_t, 64>* key) {
    unsigned char* der = nullptr;
    int n = i2d_X509(subject, &der);
    if (n <= 0) return false;
    Hash32 h1 = crypto::Sha256(ByteView(der, static_cast<size_t>(n)));
    OPENSSL_free(der);
    der = nullptr;
    n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(issuer), &der);
    if (n <= 0) return false;
    Hash32 h2 = crypto::Sha256(ByteView(der, static_cast<size_t>(n)));
    OPENSSL_free(der);
    std::copy(h1.begin(), h1.end(), key->begin());
    std::copy(h2.begin(), h2.end(), key->begin() + 32);
    return true;
  }
  std::mutex mu_;
  std::set<std::array<uint8_t, 64>> ok_;
};

CaSignatureCache& SignatureCache() {
  static CaSignatureCache* cache = new CaSignatureCache();
  return *cache;
}

// Replaces OpenSSL's internal_verify (signatures and validity times along the built chain) with
// the same steps, OpenSSL 3.0's order and error codes, taking CA signatures from the cache.
int VerifyChainSignaturesAndTimes(X509_STORE_CTX* ctx) {
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx);
  X509_STORE_CTX_verify_cb cb = X509_STORE_CTX_get_verify_cb(ctx);
  time_t now = X509_VERIFY_PARAM_get_time(X509_STORE_CTX_get0_param(ctx));
  auto report = [&](X509* cert, int depth, int err) {
    X509_STORE_CTX_set_error(ctx, err);
    X509_STORE_CTX_set_error_depth(ctx, depth);
    X509_STORE_CTX_set_current_cert(ctx, cert);
    return cb(0, ctx);
  };
  int n = sk_X509_num(chain) - 1;
  if (n < 0) return report(nullptr, 0, X509_V_ERR_UNSPECIFIED);
  X509* xi = sk_X509_value(chain, n);
  X509* xs;
  // Self-issued (OpenSSL's check_issued: names and key identifiers; key usage is checked below).
  const int self = X509_check_issued(xi, xi);
  if (self == X509_V_OK || self == X509_V_ERR_KEYUSAGE_NO_CERTSIGN) {
    xs = xi;  // a self-issued anchor: its own signature is not checked (no CHECK_SS_SIGNATURE)
  } else {
    if (n <= 0) return report(xi, 0, X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE);
    --n;
    xs = sk_X509_value(chain, n);
  }
  while (n >= 0) {
    if (xs != xi) {
      if ((X509_get_key_usage(xi) & KU_KEY_CERT_SIGN) == 0 && !report(xi, n + 1, X509_V_ERR_KEYUSAGE_NO_CERTSIGN))
        return 0;
      EVP_PKEY* pkey = X509_get0_pubkey(xi);
      if (pkey == nullptr) {
        if (!report(xi, n + 1, X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY)) return 0;
      } else {
        const bool ok = n > 0 ? SignatureCache().Verified(xs, xi, pkey) : X509_verify(xs, pkey) > 0;
        if (!ok && !report(xs, n, X509_V_ERR_CERT_SIGNATURE_FAILURE)) return 0;
      }
    }
    int c = X509_cmp_time(X509_get0_notBefore(xs), &now);
    if (c == 0 && !report(xs, n, X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD)) return 0;
    if (c > 0 && !report(xs, n, X509_V_ERR_CERT_NOT_YET_VALID)) return 0;
    c = X509_cmp_time(X509_get0_notAfter(xs), &now);
    if (c == 0 && !report(xs, n, X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD)) return 0;
    if (c < 0 && !report(xs, n, X509_V_ERR_CERT_HAS_EXPIRED)) return 0;
    X509_STORE_CTX_set_current_cert(ctx, xs);
    X509_STORE_CTX_set_error_depth(ctx, n);
    if (!cb(1, ctx)) return 0;
    if (--n >= 0) {
      xi = xs;
      xs = sk_X509_value(chain, n);
    }
  }
  return 1;
}

// Builds and verifies leaf <- bundle (untrusted) <- root (the only trust anchor) at time_s.
Status VerifyChain(X509* leaf, const std::vector<Bytes>& bundle, ByteView root_der, int64_t time_s,
                   bool use_cache, std::vector<CertInfo>* chain_out) {
  X509Ptr root = ParseDer(root_der, use_cache);
  if (!root) return InvalidArgument("the trusted root is not a DER certificate");
  StackPtr untrusted(sk_X509_new_null());
  for (size_t i = 0; i < bundle.size(); ++i) {
    X509Ptr c = ParseDer(bundle[i], use_cache);
    if (!c) return PermissionDenied("cabundle[" + std::to_string(i) + "] is not a DER certificate");
    sk_X509_push(untrusted.get(), c.release());
  }
  StorePtr store(X509_STORE_new());
  StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!store || !ctx || X509_STORE_add_cert(store.get(), root.get()) != 1 ||
      X509_STORE_CTX_init(ctx.get(), store.get(), leaf, untrusted.get()) != 1)
    return Internal("OpenSSL could not set up chain verification");
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, static_cast<time_t>(time_s));  // also sets X509_V_FLAG_USE_CHECK_TIME
  X509_VERIFY_PARAM_set_depth(param, static_cast<int>(kMaxCabundle) + 1);
  if (use_cache) X509_STORE_CTX_set_verify(ctx.get(), VerifyChainSignaturesAndTimes);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int err = X509_STORE_CTX_get_error(ctx.get());
    const int depth = X509_STORE_CTX_get_error_depth(ctx.get());
    return PermissionDenied(std::string(X509_verify_cert_error_string(err)) + " (depth " + std::to_string(depth) +
                            ", at " + FormatTime(time_s) + ")");
  }
  // The anchor OpenSSL ended at must be the pinned root itself.
  STACK_OF(X509)* chain = X509_STORE_CTX_get0_chain(ctx.get());
  const int n = sk_X509_num(chain);
  if (n < 2 || X509_cmp(sk_X509_value(chain, n - 1), root.get()) != 0)
    return PermissionDenied("chain does not end at the trusted root");
  chain_out->clear();
  for (int i = 0; i < n; ++i) chain_out->push_back(Describe(sk_X509_value(chain, i)));
  return Status::Ok();
}

// The leaf's key must be EC P-384; returns its uncompressed point.
Result<Bytes> LeafP384Key(EVP_PKEY* pkey) {
  if (pkey == nullptr || EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC)
    return PermissionDenied("leaf key is not an EC key");
  char group[64] = {0};
  size_t len = 0;
  if (EVP_PKEY_get_group_name(pkey, group, sizeof(group), &len) != 1 || std::string(group) != "secp384r1")
    return PermissionDenied(std::string("leaf key is not P-384 (") + group + ")");
  unsigned char* point = nullptr;
  const size_t n = EVP_PKEY_get1_encoded_public_key(pkey, &point);
  if (n == 0 || point == nullptr) return Internal("could not encode the leaf public key");
  Bytes out(point, point + n);
  OPENSSL_free(point);
  return out;
}

Status VerifyEs384(EVP_PKEY* pkey, ByteView tbs, ByteView raw_sig) {
  if (raw_sig.size() != 96) return PermissionDenied("COSE signature is not 96 bytes");
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(raw_sig.data(), 48, nullptr);
  BIGNUM* s = BN_bin2bn(raw_sig.data() + 48, 48, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return Internal("OpenSSL could not build the ECDSA signature");
  }
  unsigned char* der = nullptr;
  const int der_len = i2d_ECDSA_SIG(sig.get(), &der);
  if (der_len <= 0) return Internal("OpenSSL could not encode the ECDSA signature");
  std::unique_ptr<unsigned char, void (*)(unsigned char*)> der_owner(der, [](unsigned char* p) { OPENSSL_free(p); });
  MdCtxPtr md(EVP_MD_CTX_new());
  if (!md || EVP_DigestVerifyInit(md.get(), nullptr, EVP_sha384(), nullptr, pkey) != 1)
    return Internal("OpenSSL could not start ES384 verification");
  if (EVP_DigestVerify(md.get(), der, static_cast<size_t>(der_len), tbs.data(), tbs.size()) != 1)
    return PermissionDenied("ES384 signature does not verify with the leaf certificate's key");
  return Status::Ok();
}

void AppendHead(Bytes* out, int major, uint64_t value) {
  const uint8_t m = static_cast<uint8_t>(major << 5);
  if (value < 24) {
    out->push_back(m | static_cast<uint8_t>(value));
    return;
  }
  int n = value <= 0xff ? 1 : value <= 0xffff ? 2 : value <= 0xffffffffull ? 4 : 8;
  out->push_back(m | static_cast<uint8_t>(n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27));
  for (int i = n - 1; i >= 0; --i) out->push_back(static_cast<uint8_t>(value >> (8 * i)));
}

bool AllZero(const Bytes& b) {
  return std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
}

}  // namespace

Bytes SigStructure(ByteView protected_header, ByteView payload) {
  Bytes out;
  out.reserve(protected_header.size() + payload.size() + 32);
  AppendHead(&out, 4, 4);
  static constexpr char kContext[] = "Signature1";
  AppendHead(&out, 3, sizeof(kContext) - 1);
  out.insert(out.end(), kContext, kContext + sizeof(kContext) - 1);
  AppendHead(&out, 2, protected_header.size());
  out.insert(out.end(), protected_header.begin(), protected_header.end());
  AppendHead(&out, 2, 0);  // external_aad
  AppendHead(&out, 2, payload.size());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

Result<NitroDocument> ParseNitroDocument(ByteView cose) {
  if (cose.empty()) return InvalidArgument("attestation document: empty");
  if (cose.size() > kMaxDocumentBytes)
    return OutOfRange("attestation document: " + std::to_string(cose.size()) + " bytes, over the " +
                      std::to_string(kMaxDocumentBytes) + "-byte limit");
  NitroDocument doc;
  // The optional COSE_Sign1 tag (18) is taken off here; libcbor 0.8 does not load tagged items.
  if ((cose[0] >> 5) == 6) {
    if (cose[0] != 0xd2) {
      const uint64_t tag = cose[0] & 31;
      if (tag >= 24) return InvalidArgument("COSE: tag other than 18 (COSE_Sign1) or not in its shortest form");
      return InvalidArgument("COSE: tag " + std::to_string(tag) + ", expected 18 (COSE_Sign1)");
    }
    doc.tagged = true;
    cose = cose.subspan(1);
  }
  ASSIGN_OR_RETURN(CborPtr root, LoadCbor(cose, "attestation document"));
  const cbor_item_t* msg = root.get();
  if (!cbor_isa_array(msg) || cbor_array_size(msg) != 4)
    return InvalidArgument("COSE_Sign1: expected an array of 4 items");
  cbor_item_t** parts = cbor_array_handle(msg);
  auto ctx = [](const Status& s, const char* part) { return s.WithContext(std::string("COSE_Sign1 ") + part); };
  auto prot = GetBytes(parts[0], "protected", 1, 64);
  if (!prot.ok()) return ctx(prot.status(), "protected header");
  doc.protected_header = std::move(prot).value();
  RETURN_IF_ERROR(ParseProtectedHeader(doc.protected_header));
  if (!cbor_isa_map(parts[1])) return InvalidArgument("COSE_Sign1 unprotected header: expected a map");
  auto payload = GetBytes(parts[2], "payload", 1, kMaxDocumentBytes);
  if (!payload.ok()) return ctx(payload.status(), "payload");
  doc.payload = std::move(payload).value();
  auto sig = GetBytes(parts[3], "signature", 96, 96);
  if (!sig.ok()) return ctx(sig.status(), "signature");
  doc.signature = std::move(sig).value();
  Status st = ParsePayload(doc.payload, &doc);
  if (!st.ok()) return st.WithContext("attestation payload");
  return doc;
}

Result<Bytes> DecodeDocumentFile(ByteView in) {
  if (in.empty()) return InvalidArgument("attestation document file is empty");
  if (in[0] == 0x84 || in[0] == 0xd2) return Bytes(in.begin(), in.end());
  if (in.size() > 2 * kMaxDocumentBytes) return OutOfRange("attestation document file is too large");
  Bytes out;
  uint32_t acc = 0;
  int bits = 0;
  size_t pad = 0;
  for (uint8_t c : in) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+' || c == '-') v = 62;
    else if (c == '/' || c == '_') v = 63;
    else if (c == '=') { ++pad; continue; }
    else if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    else return InvalidArgument("attestation document file is neither CBOR nor base64");
    if (pad) return InvalidArgument("base64: data after padding");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<uint8_t>(acc >> bits));
    }
  }
  if (bits >= 6 || pad > 2 || (acc & ((1u << bits) - 1)) != 0)
    return InvalidArgument("base64: bad length or padding");
  return out;
}

bool IsDebugMode(const NitroDocument& doc) {
  for (uint32_t i : {0u, 1u, 2u}) {
    auto it = doc.pcrs.find(i);
    if (it != doc.pcrs.end() && !AllZero(it->second)) return false;
  }
  return true;
}

bool NitroReport::ok() const {
  return document.has_value() && std::all_of(checks.begin(), checks.end(), [](const NitroCheck& c) { return c.ok; });
}

Status NitroReport::status() const {
  if (!document) return (parse_error.ok() ? InvalidArgument("not parsed") : parse_error).WithContext("attestation refused");
  for (const NitroCheck& c : checks)
    if (!c.ok) return PermissionDenied("attestation refused: " + c.name + ": " + c.detail);
  return Status::Ok();
}

NitroReport CheckNitroDocument(ByteView bytes, const VerifyOptions& options) {
  NitroReport report;
  auto add = [&](std::string name, bool ok, std::string detail) {
    report.checks.push_back({std::move(name), ok, std::move(detail)});
    return ok;
  };
  auto parsed = ParseNitroDocument(bytes);
  if (!parsed.ok()) {
    report.parse_error = parsed.status();
    add("parse", false, parsed.status().message());
    return report;
  }
  report.document = std::move(parsed).value();
  const NitroDocument& doc = *report.document;
  add("parse", true,
      "COSE_Sign1" + std::string(doc.tagged ? " (tag 18)" : "") + ", ES384, " + std::to_string(doc.pcrs.size()) +
          " PCRs, " + std::to_string(doc.cabundle.size()) + " CA certificates");

  const int64_t time_s = options.time_ms >= 0 ? options.time_ms / 1000 : -((-options.time_ms + 999) / 1000);
  X509Ptr leaf = ParseDer(doc.certificate);
  if (!leaf) {
    add("certificate chain", false, "the leaf certificate is not DER");
  } else {
    report.chain = {Describe(leaf.get())};
    ByteView root = options.trusted_root_der.empty() ? AwsNitroRootDer() : ByteView(options.trusted_root_der);
    std::vector<CertInfo> chain;
    Status st = VerifyChain(leaf.get(), doc.cabundle, root, time_s, options.ca_cache, &chain);
    const std::string root_name = options.trusted_root_der.empty() ? "the pinned AWS Nitro root" : "the given root";
    if (st.ok()) {
      report.chain = chain;
      add("certificate chain", true,
          "leaf <- " + std::to_string(chain.size() - 2) + " intermediates <- " + root_name + " (sha256 " +
              ToHex(crypto::Sha256(root)) + ") at " + FormatTime(time_s));
    } else {
      add("certificate chain", false, st.message() + "; anchor: " + root_name);
      // For the report: the bundle as given, nearest the leaf first.
      for (auto it = doc.cabundle.rbegin(); it != doc.cabundle.rend(); ++it)
        if (X509Ptr c = ParseDer(*it)) report.chain.push_back(Describe(c.get()));
    }
    // The signature is checked with the leaf's key even when the chain failed, so that
    // the report says which parts hold.
    auto key = LeafP384Key(X509_get0_pubkey(leaf.get()));
    if (!key.ok()) {
      add("signature", false, key.status().message());
    } else {
      report.leaf_public_key = *key;
      Status sig = VerifyEs384(X509_get0_pubkey(leaf.get()), SigStructure(doc.protected_header, doc.payload),
                               doc.signature);
      add("signature", sig.ok(), sig.ok() ? "ES384 over Sig_structure with the leaf's P-384 key" : sig.message());
    }
    const CertInfo& li = report.chain.front();
    const int64_t ts_s = static_cast<int64_t>(doc.timestamp_ms / 1000);
    const bool in_validity = ts_s >= li.not_before_s && ts_s < li.not_after_s;  // as OpenSSL: [nb, na)
    add("timestamp in leaf validity", in_validity,
        "timestamp " + FormatTime(ts_s) + (in_validity ? " within " : " outside ") + FormatTime(li.not_before_s) +
            " .. " + FormatTime(li.not_after_s));
  }

  const bool debug = IsDebugMode(doc);
  add("debug mode", !debug, debug ? "PCR0, PCR1 and PCR2 are all zero (debug-mode enclave)" : "PCR0-2 are not all zero");

  {
    const int64_t ts = static_cast<int64_t>(std::min<uint64_t>(doc.timestamp_ms, INT64_MAX));
    const int64_t age = options.time_ms - ts;
    if (age < 0 && static_cast<uint64_t>(-age) > options.max_future_ms) {
      add("document age", false,
          "timestamp is " + std::to_string(-age) + " ms after the verification time (allowed " +
              std::to_string(options.max_future_ms) + ")");
    } else if (age > 0 && static_cast<uint64_t>(age) > options.max_age_ms) {
      add("document age", false,
          "document is " + std::to_string(age) + " ms old, more than the allowed " + std::to_string(options.max_age_ms));
    } else {
      add("document age", true, std::to_string(age) + " ms (allowed " + std::to_string(options.max_age_ms) + ")");
    }
  }

  if (options.expected_pcr0) {
    auto it = doc.pcrs.find(0);
    const bool ok = it != doc.pcrs.end() && it->second == *options.expected_pcr0;
    add("pcr0", ok, ok ? "PCR0 equals the expected measurement"
                       : "PCR0 " + (it == doc.pcrs.end() ? std::string("missing") : ToHex(it->second)) +
                             " is not the expected " + ToHex(*options.expected_pcr0));
  }
  if (options.expected_nonce) {
    const bool ok = doc.nonce && *doc.nonce == *options.expected_nonce;
    add("nonce", ok, ok ? "nonce equals the one asked for"
                        : doc.nonce ? "nonce " + ToHex(*doc.nonce) + " is not the expected " + ToHex(*options.expected_nonce)
                                    : "document has no nonce");
  }
  if (options.expected_key_hash) {
    const ByteView want(options.expected_key_hash->data(), 32);
    const bool in_key = doc.public_key && Contains(*doc.public_key, want);
    const bool in_user = doc.user_data && Contains(*doc.user_data, want);
    add("key binding", in_key || in_user,
        in_key    ? "public_key carries the expected key hash"
        : in_user ? "user_data carries the expected key hash"
                  : "neither public_key nor user_data carries the key hash " + ToHex(want));
  }
  return report;
}

size_t CaSignatureCacheSize() { return SignatureCache().size(); }
void ClearCaCaches() {
  SignatureCache().clear();
  CertCache().clear();
}

Result<VerifiedNitro> VerifyNitroDocument(ByteView doc, const VerifyOptions& options) {
  NitroReport report = CheckNitroDocument(doc, options);
  RETURN_IF_ERROR(report.status());
  return VerifiedNitro{std::move(*report.document), std::move(report.leaf_public_key), std::move(report.chain)};
}

}  // namespace lucid::tee
