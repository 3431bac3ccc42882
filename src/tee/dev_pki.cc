// Dev PKI (OpenSSL) and Nitro-format document builder.
#include "tee/dev_pki.h"
#include "tee/openssl_ptr.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <ctime>
#include <memory>

#include "tee/nitro.h"

namespace lucid::tee {

namespace {

using internal::Deleter;
using internal::EcdsaSigPtr;
using internal::MdCtxPtr;
using internal::PkeyPtr;
using internal::X509Ptr;
using ExtPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION, X509_EXTENSION_free>>;

Status AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1) return Internal(std::string("dev PKI: extension ") + value);
  return Status::Ok();
}

// A certificate for `key`, signed by `issuer_key` (issuer == nullptr: self-signed).
Result<X509Ptr> MakeCert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key, int64_t nb,
                         int64_t validity, bool ca, int pathlen) {
  X509Ptr cert(X509_new());
  if (!cert) return Internal("dev PKI: X509_new");
  X509_set_version(cert.get(), X509_VERSION_3);
  unsigned char serial[16];
  if (RAND_bytes(serial, sizeof(serial)) != 1) return Internal("dev PKI: RAND_bytes");
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  ASN1_INTEGER* sn = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  if (sn == nullptr) return Internal("dev PKI: serial");
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "C", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("US"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("Lucid dev"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer) : name);
  if (!ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(nb)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(nb + validity)))
    return Internal("dev PKI: validity");
  X509_set_pubkey(cert.get(), key);
  X509* iss = issuer ? issuer : cert.get();
  if (ca) {
    const std::string bc = "critical,CA:TRUE,pathlen:" + std::to_string(pathlen);
    RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_basic_constraints, bc.c_str()));
    RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature"));
  } else {
    RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_basic_constraints, "critical,CA:FALSE"));
    RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_key_usage, "critical,digitalSignature"));
  }
  RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_subject_key_identifier, "hash"));
  if (issuer) RETURN_IF_ERROR(AddExt(cert.get(), iss, NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(cert.get(), issuer_key, EVP_sha384()) <= 0) return Internal("dev PKI: X509_sign");
  return cert;
}

Bytes ToDer(X509* cert) {
  unsigned char* der = nullptr;
  const int n = i2d_X509(cert, &der);
  Bytes out;
  if (n > 0) out.assign(der, der + n);
  OPENSSL_free(der);
  return out;
}

// ---- minimal CBOR writer ----
void Head(Bytes* out, int major, uint64_t value) {
  const uint8_t m = static_cast<uint8_t>(major << 5);
  if (value < 24) return out->push_back(m | static_cast<uint8_t>(value));
  const int n = value <= 0xff ? 1 : value <= 0xffff ? 2 : value <= 0xffffffffull ? 4 : 8;
  out->push_back(m | static_cast<uint8_t>(n == 1 ? 24 : n == 2 ? 25 : n == 4 ? 26 : 27));
  for (int i = n - 1; i >= 0; --i) out->push_back(static_cast<uint8_t>(value >> (8 * i)));
}
void Text(Bytes* out, std::string_view s) {
  Head(out, 3, s.size());
  out->insert(out->end(), s.begin(), s.end());
}
void Bstr(Bytes* out, ByteView b) {
  Head(out, 2, b.size());
  out->insert(out->end(), b.begin(), b.end());
}
void OptBstr(Bytes* out, const std::optional<Bytes>& b) {
  if (b) Bstr(out, *b);
  else out->push_back(0xf6);  // null
}

}  // namespace

Result<DevPki> GenerateDevPki(const DevPkiOptions& options) {
  const int64_t nb = options.not_before_s != 0 ? options.not_before_s : static_cast<int64_t>(std::time(nullptr)) - 60;
  PkeyPtr root_key(EVP_EC_gen("secp384r1")), inter_key(EVP_EC_gen("secp384r1")), leaf_key(EVP_EC_gen("secp384r1"));
  if (!root_key || !inter_key || !leaf_key) return Internal("dev PKI: P-384 key generation failed");
  ASSIGN_OR_RETURN(X509Ptr root, MakeCert(root_key.get(), options.name + " root", nullptr, root_key.get(), nb,
                                          options.root_validity_s, true, 2));
  ASSIGN_OR_RETURN(X509Ptr inter, MakeCert(inter_key.get(), options.name + " intermediate", root.get(),
                                           root_key.get(), nb, options.intermediate_validity_s, true, 1));
  ASSIGN_OR_RETURN(X509Ptr leaf, MakeCert(leaf_key.get(), options.name + " enclave", inter.get(), inter_key.get(),
                                          nb, options.leaf_validity_s, false, 0));
  DevPki pki;
  pki.root_der = ToDer(root.get());
  pki.intermediate_der = ToDer(inter.get());
  pki.leaf_der = ToDer(leaf.get());
  unsigned char* key_der = nullptr;
  const int n = i2d_PrivateKey(leaf_key.get(), &key_der);
  if (n <= 0) return Internal("dev PKI: encoding the leaf key");
  pki.leaf_key_der.assign(key_der, key_der + n);
  OPENSSL_clear_free(key_der, static_cast<size_t>(n));
  if (pki.root_der.empty() || pki.intermediate_der.empty() || pki.leaf_der.empty())
    return Internal("dev PKI: encoding certificates");
  return pki;
}

Bytes EncodeNitroPayload(const DevPki& pki, const NitroPayload& p) {
  Bytes out;
  if (p.indefinite_maps) out.push_back(0xbf);
  else Head(&out, 5, 9);
  Text(&out, "module_id");
  Text(&out, p.module_id);
  Text(&out, "digest");
  Text(&out, p.digest);
  Text(&out, "timestamp");
  Head(&out, 0, p.timestamp_ms);
  Text(&out, "pcrs");
  if (p.indefinite_maps) out.push_back(0xbf);
  else Head(&out, 5, p.pcrs.size());
  for (const auto& [index, value] : p.pcrs) {
    Head(&out, 0, index);
    Bstr(&out, value);
  }
  if (p.indefinite_maps) out.push_back(0xff);
  Text(&out, "certificate");
  Bstr(&out, pki.leaf_der);
  Text(&out, "cabundle");
  Head(&out, 4, 2);
  Bstr(&out, pki.root_der);
  Bstr(&out, pki.intermediate_der);
  Text(&out, "public_key");
  OptBstr(&out, p.public_key);
  Text(&out, "user_data");
  OptBstr(&out, p.user_data);
  Text(&out, "nonce");
  OptBstr(&out, p.nonce);
  if (p.indefinite_maps) out.push_back(0xff);
  return out;
}

Result<Bytes> SignCoseSign1(const DevPki& pki, ByteView protected_header, ByteView payload, bool tagged) {
  const unsigned char* kp = pki.leaf_key_der.data();
  PkeyPtr key(d2i_AutoPrivateKey(nullptr, &kp, static_cast<long>(pki.leaf_key_der.size())));
  if (!key) return InvalidArgument("dev PKI: leaf key is not a DER private key");
  const Bytes tbs = SigStructure(protected_header, payload);
  MdCtxPtr md(EVP_MD_CTX_new());
  size_t der_len = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha384(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &der_len, tbs.data(), tbs.size()) != 1)
    return Internal("dev PKI: ES384 signing failed");
  Bytes der(der_len);
  if (EVP_DigestSign(md.get(), der.data(), &der_len, tbs.data(), tbs.size()) != 1)
    return Internal("dev PKI: ES384 signing failed");
  const unsigned char* dp = der.data();
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &dp, static_cast<long>(der_len)));
  if (!sig) return Internal("dev PKI: decoding the ECDSA signature");
  Bytes raw(96);
  if (BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), raw.data(), 48) != 48 ||
      BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()), raw.data() + 48, 48) != 48)
    return Internal("dev PKI: signature to r||s");
  Bytes out;
  if (tagged) Head(&out, 6, 18);
  Head(&out, 4, 4);
  Bstr(&out, protected_header);
  Head(&out, 5, 0);  // unprotected: {}
  Bstr(&out, payload);
  Bstr(&out, raw);
  return out;
}

Result<Bytes> BuildNitroDocument(const DevPki& pki, const NitroPayload& payload) {
  static constexpr uint8_t kProtected[] = {0xa1, 0x01, 0x38, 0x22};  // {1: -35} (ES384)
  return SignCoseSign1(pki, ByteView(kProtected, sizeof(kProtected)), EncodeNitroPayload(pki, payload),
                       payload.tagged);
}

}  // namespace lucid::tee
