// AWS Nitro Enclaves attestation documents: parsing (CBOR/COSE_Sign1, libcbor) and verification
// (X.509 chain to a pinned root at a caller-given time, ES384 COSE signature, policy checks).
// docs/tee.md describes the format and every check.
//
// The verifier takes time as an input (a validator passes its block time): Nitro leaf
// certificates live about three hours, so "now" would make verification non-deterministic.
// Thread-safety: free functions on values, reentrant.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace lucid::tee {

// Hard limits of the parser (the AWS NSM spec's limits, rounded up).
inline constexpr size_t kMaxDocumentBytes = 64 * 1024;
inline constexpr size_t kMaxPcrs = 32;
inline constexpr size_t kPcrBytes = 48;  // SHA-384
inline constexpr size_t kMaxCertBytes = 4096;
inline constexpr size_t kMaxCabundle = 16;
inline constexpr size_t kMaxPublicKeyBytes = 1024;
inline constexpr size_t kMaxUserDataBytes = 512;
inline constexpr size_t kMaxNonceBytes = 512;

// The pinned AWS Nitro Enclaves root certificate (DER, CN=aws.nitro-enclaves).
ByteView AwsNitroRootDer();

// A parsed (not yet verified) attestation document.
struct NitroDocument {
  // COSE_Sign1 parts, exactly as they were in the document.
  Bytes protected_header;  // bstr contents: CBOR map {1: -35}
  Bytes payload;           // bstr contents: the CBOR attestation map
  Bytes signature;         // 96 bytes, r || s (P-384)
  bool tagged = false;     // wrapped in CBOR tag 18

  // Payload fields.
  std::string module_id;
  std::string digest;      // "SHA384"
  uint64_t timestamp_ms = 0;
  std::map<uint32_t, Bytes> pcrs;
  Bytes certificate;       // leaf, DER
  std::vector<Bytes> cabundle;  // DER, root first
  std::optional<Bytes> public_key;  // absent or null -> nullopt
  std::optional<Bytes> user_data;
  std::optional<Bytes> nonce;
};

// Parses a COSE_Sign1 attestation document (tag 18 optional). Definite- and indefinite-length
// maps, arrays and strings are accepted; anything else (wrong types, missing or unknown or
// duplicate fields, trailing bytes, over the limits above) is an error naming the field.
Result<NitroDocument> ParseNitroDocument(ByteView cose_sign1);

// ES384 Sig_structure the COSE signature covers:
// ["Signature1", protected (bstr), external_aad h'', payload (bstr)].
Bytes SigStructure(ByteView protected_header, ByteView payload);

struct VerifyOptions {
  // Verification time, milliseconds since the Unix epoch (a validator's block time).
  int64_t time_ms = 0;
  // Trust anchor (DER). Empty: the pinned AWS root. A dev chain passes its dev root here.
  Bytes trusted_root_der;
  std::optional<Bytes> expected_pcr0;   // 48 bytes
  std::optional<Bytes> expected_nonce;
  // Key binding: public_key or user_data equals or contains this SHA-256 (of the enclave's
  // receipt-signing public key).
  std::optional<Hash32> expected_key_hash;
  // The document's timestamp may be at most this much older than time_ms, and at most
  // max_future_ms later than it (enclave and chain clocks differ a little).
  uint64_t max_age_ms = 3ull * 3600 * 1000;
  uint64_t max_future_ms = 5ull * 60 * 1000;
  // Remember parsed CA certificates (root and bundle) and verified CA-by-CA certificate
  // signatures (process-wide, bounded). Verdicts are the same with or without: parsing and a
  // signature check are pure functions of the bytes and the issuer's key; validity times,
  // extensions and path building are checked every time, the leaf and COSE signatures always.
  bool ca_cache = true;
};

// The process-wide CA caches (for tests and benchmarks).
size_t CaSignatureCacheSize();
void ClearCaCaches();

// One named check and its outcome (for `lucid tee verify` and logs).
struct NitroCheck {
  std::string name;    // "parse", "certificate chain", "signature", "debug mode", ...
  bool ok = false;
  std::string detail;  // what was checked, or the reason it was refused
};

struct CertInfo {
  std::string subject;
  int64_t not_before_s = 0, not_after_s = 0;  // Unix seconds
};

// Everything CheckNitroDocument found; `document` is empty when parsing failed.
struct NitroReport {
  std::optional<NitroDocument> document;
  Bytes leaf_public_key;        // uncompressed P-384 point, when the leaf parsed
  // The verified chain, leaf first; when the chain was refused: the leaf, then the bundle's
  // certificates nearest the leaf first.
  std::vector<CertInfo> chain;
  std::vector<NitroCheck> checks;
  Status parse_error;  // why parsing failed (kInvalidArgument, or kOutOfRange over a limit)
  bool ok() const;
  // The first refused check as a Status (kPermissionDenied; kInvalidArgument/kOutOfRange for
  // parse errors); Ok when every check passed.
  Status status() const;
};

// Runs every check it can (the chain, signature, debug mode, timestamp, PCR0, nonce, key
// binding) and records each one; checks after a failed parse are not run.
NitroReport CheckNitroDocument(ByteView doc, const VerifyOptions& options);

struct VerifiedNitro {
  NitroDocument document;
  Bytes leaf_public_key;  // the leaf's P-384 key, uncompressed SEC1 point (97 bytes)
  std::vector<CertInfo> chain;
};

// Verified document, or the first refusal with its reason.
Result<VerifiedNitro> VerifyNitroDocument(ByteView doc, const VerifyOptions& options);

// The bytes of a document file: raw CBOR (starts with 0x84 or tag 18's 0xd2) is returned as is;
// anything else is read as base64 (standard or URL-safe alphabet, padding optional,
// whitespace ignored).
Result<Bytes> DecodeDocumentFile(ByteView contents);

// True when PCR0, PCR1 and PCR2 are all zero (a debug-mode enclave).
bool IsDebugMode(const NitroDocument& doc);

}  // namespace lucid::tee
