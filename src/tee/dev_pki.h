// A development PKI (P-384 root -> intermediate -> leaf, OpenSSL) and a builder of attestation
// documents in exactly the AWS Nitro format (COSE_Sign1, ES384), signed by the dev leaf.
// Used by tests and by the dev enclave; a dev document verifies only against its own dev root,
// never against the pinned AWS root. Keys live in memory; nothing is written to disk.
// Thread-safety: free functions on values, reentrant.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "base/bytes.h"
#include "base/status.h"

namespace lucid::tee {

struct DevPkiOptions {
  int64_t not_before_s = 0;              // Unix seconds; 0: now minus one minute
  int64_t root_validity_s = 30ll * 24 * 3600;
  int64_t intermediate_validity_s = 7ll * 24 * 3600;
  int64_t leaf_validity_s = 3 * 3600;    // like Nitro leaves: about three hours
  std::string name = "lucid-dev";        // common names: "<name> root", ...
};

struct DevPki {
  Bytes root_der, intermediate_der, leaf_der;
  Bytes leaf_key_der;  // the leaf's private key, PKCS#8 DER (in memory only)
};

Result<DevPki> GenerateDevPki(const DevPkiOptions& options = {});

// The payload fields; certificate and cabundle come from the PKI (cabundle = [root, intermediate]).
struct NitroPayload {
  std::string module_id = "i-0000000000000000-enc0000000000000000";
  std::string digest = "SHA384";
  uint64_t timestamp_ms = 0;
  std::map<uint32_t, Bytes> pcrs;  // index -> 48 bytes
  // Absent fields are encoded as null, as the Nitro Secure Module does.
  std::optional<Bytes> public_key, user_data, nonce;
  bool indefinite_maps = false;  // payload and pcrs maps of indefinite length (current Nitro documents)
  bool tagged = false;           // wrap in CBOR tag 18
};

Result<Bytes> BuildNitroDocument(const DevPki& pki, const NitroPayload& payload);

// Encodes the payload map alone (no signature), for tests that build their own COSE messages.
Bytes EncodeNitroPayload(const DevPki& pki, const NitroPayload& payload);
// Wraps a payload in COSE_Sign1 signed by the PKI's leaf (ES384 over the Sig_structure).
Result<Bytes> SignCoseSign1(const DevPki& pki, ByteView protected_header, ByteView payload, bool tagged);

}  // namespace lucid::tee
