// The dev enclave (`lucid enclave --dev`): a separate process that stands in for an AWS Nitro
// enclave. It generates its secp256k1 receipt-signing key at start (the key never leaves the
// process), produces attestation documents in the exact Nitro format signed by a dev PKI
// (tee/dev_pki.h) that bind that key, and executes models with the deterministic engine,
// signing each receipt in mode tee. docs/tee-enclave.md describes the HTTP interface.
//
// Measurements: PCR0 = SHA-384 of the enclave's own binary (/proc/self/exe), so a rebuilt
// binary is a different measurement; PCR1 and PCR2 are SHA-384 of fixed strings (non-zero, so
// documents are not debug-mode).
// Thread-safety: DevEnclave's methods may be called concurrently; EnclaveHttp and
// EnclaveClient are used from one thread each.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/secp256k1.h"
#include "protocol/types.h"
#include "tee/dev_pki.h"
#include "tee/nitro.h"
#include "tensor/tensor.h"

namespace lucid::onnx {
class Model;
}

namespace lucid::tee {

// SHA-384 (48 bytes).
Bytes Sha384(ByteView data);
Result<Bytes> Sha384File(const std::string& path);
// PCR0 of the running binary: SHA-384 of /proc/self/exe.
Result<Bytes> SelfMeasurement();
// The fixed PCR1 / PCR2 values of the dev enclave.
Bytes DevPcr1();
Bytes DevPcr2();

// A dev PKI on disk: DIR/root.der, DIR/intermediate.der, DIR/leaf.der, DIR/leaf_key.der
// (PKCS#8). Dev keys are public by design; never use this for anything but a dev chain.
Status WriteDevPki(const std::string& dir, const DevPki& pki);
Result<DevPki> ReadDevPki(const std::string& dir);
// Reads DIR if root.der is there, otherwise generates a PKI (options) and writes it.
Result<DevPki> LoadOrCreateDevPki(const std::string& dir, const DevPkiOptions& options = {});

// 04 || x || y: the 65-byte key form RegisterEnclave carries.
Bytes UncompressedPublicKey(const crypto::PrivateKey& key);

struct EnclaveConfig {
  DevPki pki;
  std::optional<Bytes> pcr0;  // default: SelfMeasurement()
  int threads = 1;            // engine threads
  size_t model_cache = 4;     // parsed models kept, by SHA-256 of their bytes
};

struct ExecuteResult {
  TensorMap outputs;
  protocol::Receipt receipt;    // output_hash and engine filled in
  crypto::Signature signature;  // enclave key over SigningDigest(receipt.Id())
};

class DevEnclave {
 public:
  static Result<std::unique_ptr<DevEnclave>> Create(EnclaveConfig config);

  const Bytes& public_key() const { return public_key_; }  // 65 bytes, 04 || x || y
  crypto::Address address() const { return key_.address(); }
  const Bytes& pcr0() const { return pcr0_; }
  const Bytes& root_der() const { return pki_.root_der; }

  // A Nitro-format document: PCR0-2, public_key = the 65-byte key, user_data = SHA-256 of it,
  // the nonce (null when none), timestamp now_ms.
  Result<Bytes> Attest(const std::optional<Bytes>& nonce, uint64_t now_ms) const;

  // Runs the model on the inputs and signs the receipt. The receipt comes with every field
  // but output_hash and engine; its mode must be tee and its input_hash must be the inputs'.
  Result<ExecuteResult> Execute(ByteView model_bytes, const TensorMap& inputs, protocol::Receipt receipt) const;

 private:
  DevEnclave(EnclaveConfig config, crypto::PrivateKey key, Bytes pcr0);
  Result<std::shared_ptr<const onnx::Model>> ModelFor(ByteView bytes) const;

  DevPki pki_;
  crypto::PrivateKey key_;
  Bytes public_key_;
  Bytes pcr0_;
  int threads_;
  size_t model_cache_;
  mutable std::mutex mu_;
  mutable std::map<Hash32, std::shared_ptr<const onnx::Model>> models_;  // guarded by mu_
};

// The enclave's HTTP interface on 127.0.0.1 (cpp-httplib):
//   GET  /attestation?nonce=HEX -> {"document": hex, "public_key": hex, "pcr0": hex}
//   POST /execute {"model_path": FILE | "model_hex": HEX, "inputs": tensor JSON,
//                  "receipt": hex(Receipt::Encode())}
//        -> {"outputs": tensor JSON, "receipt": hex, "receipt_id": hex, "signature": hex}
class EnclaveHttp {
 public:
  explicit EnclaveHttp(const DevEnclave* enclave);
  ~EnclaveHttp();
  EnclaveHttp(const EnclaveHttp&) = delete;
  EnclaveHttp& operator=(const EnclaveHttp&) = delete;
  // Binds host:port (port 0: any free port) and returns the bound port. Only loopback hosts.
  Result<int> Bind(const std::string& host, int port);
  void Serve();  // blocks until Stop()
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The node's side of the interface.
class EnclaveClient {
 public:
  explicit EnclaveClient(std::string addr);  // "HOST:PORT"
  ~EnclaveClient();
  struct Attestation {
    Bytes document, public_key, pcr0;
  };
  Result<Attestation> Attest(const std::optional<Bytes>& nonce) const;
  // The model as a file (read by the client) or as bytes; the enclave always gets the bytes.
  Result<ExecuteResult> ExecuteFile(const std::string& model_path, const TensorMap& inputs,
                                    const protocol::Receipt& receipt) const;
  Result<ExecuteResult> Execute(ByteView model_bytes, const TensorMap& inputs,
                                const protocol::Receipt& receipt) const;

 private:
  Result<ExecuteResult> Post(const nlohmann::json& body) const;
  std::string host_;
  int port_ = 0;
};

}  // namespace lucid::tee
