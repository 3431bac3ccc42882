// The dev enclave (`lucid enclave --dev`): a separate process that stands in for an AWS Nitro
// enclave. It generates its secp256k1 receipt-signing key at start (the key never leaves the
// process), produces attestation documents in the exact Nitro format signed by a dev PKI
// (tee/dev_pki.h) that bind that key, and executes models with the deterministic engine,
// signing each receipt in mode tee. docs/tee-enclave.md describes the HTTP interface.
//
// LLM (GGUF) versions: the model file reaches the enclave once (PUT /models/CID, checked
// against its CID, kept by CID); each request then names the version's manifest (its CID
// must be the receipt's model), and the enclave runs the canonical request with the engine
// (EnclaveLlm, tee/enclave_llm.h) and computes the output hash itself.
//
// Measurements: PCR0 = SHA-384 of the enclave's own binary (/proc/self/exe), so a rebuilt
// binary is a different measurement; PCR1 and PCR2 are SHA-384 of fixed strings (non-zero, so
// documents are not debug-mode).
// Thread-safety: DevEnclave's methods may be called concurrently; EnclaveHttp and
// EnclaveClient are used from one thread each.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/cid.h"
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

// Size limits of what the enclave accepts.
inline constexpr size_t kMaxOnnxModelBytes = 512ull << 20;        // POST /execute model_hex
inline constexpr uint64_t kDefaultMaxModelFileBytes = 8ull << 30;  // PUT /models/CID (GGUF)
inline constexpr size_t kMaxLlmRequestBytes = 64u << 20;           // POST /execute_llm body

// What an LLM run gives back (GGUF versions).
struct LlmRun {
  TensorMap outputs;   // {"llm_output", "tokens"} (llm/request.h)
  std::string engine;  // the receipt's engine id (llm::kLlmEngineId)
  int32_t prompt_tokens = 0;
  double prefill_ms = 0, decode_ms = 0;
};

// The LLM engine behind an interface, so this library (which the node links) does not link
// it; tee/enclave_llm.h has the engine's implementation (`lucid enclave` sets it).
class EnclaveLlm {
 public:
  virtual ~EnclaveLlm() = default;
  // The model file (CID, size) a GGUF version's canonical manifest bytes name.
  virtual Result<std::pair<crypto::Cid, uint64_t>> ModelFile(ByteView manifest) const = 0;
  // Runs the canonical request (inputs {"llm_request"}, which must name manifest_cid) on the
  // GGUF bytes (already checked against the CID ModelFile gave). on_text (may be empty) gets
  // the content as it is decided; returning false cancels.
  virtual Result<LlmRun> Run(const crypto::Cid& manifest_cid, ByteView manifest, std::shared_ptr<const Bytes> gguf,
                             const TensorMap& inputs, const std::function<bool(std::string_view)>& on_text) const = 0;
};

struct EnclaveConfig {
  DevPki pki;
  std::optional<Bytes> pcr0;  // default: SelfMeasurement()
  int threads = 1;            // engine threads
  size_t model_cache = 4;     // parsed models kept, by SHA-256 of their bytes
  // GGUF versions: the engine (none: LLM requests are refused as unimplemented), the most
  // bytes one uploaded model file may have, and how many files are kept (oldest dropped).
  std::shared_ptr<const EnclaveLlm> llm;
  uint64_t max_model_file_bytes = kDefaultMaxModelFileBytes;
  size_t model_files = 2;
};

struct ExecuteResult {
  TensorMap outputs;
  protocol::Receipt receipt;    // output_hash and engine filled in
  crypto::Signature signature;  // enclave key over SigningDigest(receipt.Id())
  // LLM runs only: prompt size and timings.
  int32_t prompt_tokens = 0;
  double prefill_ms = 0, decode_ms = 0;
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

  // GGUF versions. Keeps a model file by its CID: refused (DATA_LOSS) unless the bytes hash to
  // it, OUT_OF_RANGE above max_model_file_bytes.
  Status PutModelFile(const crypto::Cid& cid, Bytes bytes) const;
  std::optional<uint64_t> ModelFileSize(const crypto::Cid& cid) const;  // nullopt: not held
  // The checks made before an LLM run: mode tee, the manifest's CID is the receipt's model, a
  // GGUF manifest; returns the model file's CID (NOT_FOUND when it has not been uploaded).
  Result<crypto::Cid> CheckLlm(ByteView manifest, const protocol::Receipt& receipt) const;
  // Runs an LLM request for the version whose canonical manifest bytes are `manifest`: checks
  // as CheckLlm and the input hash, runs the engine on the uploaded file, fills in output_hash
  // (of what it generated) and engine, and signs.
  Result<ExecuteResult> ExecuteLlm(ByteView manifest, const TensorMap& inputs, protocol::Receipt receipt,
                                   const std::function<bool(std::string_view)>& on_text = {}) const;
  uint64_t max_model_file_bytes() const { return max_model_file_bytes_; }

 private:
  DevEnclave(EnclaveConfig config, crypto::PrivateKey key, Bytes pcr0);
  Result<std::shared_ptr<const onnx::Model>> ModelFor(ByteView bytes) const;
  ExecuteResult Sign(protocol::Receipt receipt) const;

  DevPki pki_;
  crypto::PrivateKey key_;
  Bytes public_key_;
  Bytes pcr0_;
  int threads_;
  size_t model_cache_;
  mutable std::mutex mu_;
  mutable std::map<Hash32, std::shared_ptr<const onnx::Model>> models_;  // guarded by mu_
  std::shared_ptr<const EnclaveLlm> llm_;
  uint64_t max_model_file_bytes_;
  size_t model_files_;
  mutable std::map<crypto::Cid, std::shared_ptr<const Bytes>> files_;  // guarded by mu_
  mutable std::deque<crypto::Cid> file_order_;                         // oldest first; guarded by mu_
};

// The enclave's HTTP interface on 127.0.0.1 (cpp-httplib):
//   GET  /attestation?nonce=HEX -> {"document": hex, "public_key": hex, "pcr0": hex}
//   POST /execute {"model_hex": HEX, "inputs": tensor JSON, "receipt": hex(Receipt::Encode())}
//        -> {"outputs": tensor JSON, "receipt": hex, "receipt_id": hex, "signature": hex}
//   PUT  /models/CID  body: the file's raw bytes -> {"cid", "size"} (kept by CID)
//   GET  /models/CID  -> {"cid", "size"}, 404 when not held
//   POST /execute_llm {"manifest_hex": HEX, "inputs": tensor JSON, "receipt": hex}
//        -> 404 {"error", "missing_model_file": CID} when the file is not held; else 200 with
//           newline-delimited JSON: {"text_hex": HEX} per piece of content as it is generated,
//           then {"outputs", "receipt", "receipt_id", "signature", "prompt_tokens",
//           "prefill_ms", "decode_ms"} or {"error"}
// docs/tee-enclave.md has the details.
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
  // GGUF versions: uploads a model file (PUT /models/CID) / asks whether the enclave holds it.
  Status UploadModelFile(const crypto::Cid& cid, ByteView bytes) const;
  Result<bool> HasModelFile(const crypto::Cid& cid) const;
  // Runs an LLM request. When the enclave does not hold the manifest's model file yet,
  // model_file() gives its bytes (once), they are uploaded and the request is sent again.
  // on_text gets the pieces of text the enclave streams (returning false cancels); the
  // result is what the enclave signed.
  Result<ExecuteResult> ExecuteLlm(ByteView manifest, const std::function<Result<Bytes>()>& model_file,
                                   const TensorMap& inputs, const protocol::Receipt& receipt,
                                   const std::function<bool(std::string_view)>& on_text = {}) const;

 private:
  Result<ExecuteResult> PostLlm(const std::string& body, const std::function<bool(std::string_view)>& on_text,
                                std::optional<crypto::Cid>* missing) const;
  Result<ExecuteResult> Post(const nlohmann::json& body) const;
  std::string host_;
  int port_ = 0;
};

}  // namespace lucid::tee
