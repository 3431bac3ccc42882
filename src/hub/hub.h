// The Model Hub's core: stores model files by CID, checks and publishes model versions
// (manifest + test vectors reproduced by the Lucid engine), and loads models for nodes
// with every byte checked against its CID. The chain keeps the registry (names, owners,
// versions -> manifest CID); the hub keeps the bytes. Manifest format:
// docs/formats/manifest.md.
// Thread-safety: a Hub is safe for concurrent use (the model cache is guarded by a mutex;
// the BlobStore is itself thread-safe).
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "crypto/cid.h"
#include "hub/manifest.h"
#include "hub/test_vectors.h"
#include "onnx/model.h"
#include "store/blob_store.h"

namespace lucid::hub {

struct HubOptions {
  uint64_t max_file_bytes = store::BlobStore::kMaxBlobBytes;
  size_t max_files_per_version = 16;
  size_t max_test_vectors = kMaxTestVectors;
  size_t model_cache_entries = 8;  // loaded models kept, least recently used evicted
  // Where a file missing here is fetched from (a peer's hub: a standalone node fetches from
  // the chain's API). The bytes must hash to the CID asked for before they are kept, so a
  // peer can withhold a file but never substitute one. Empty: a missing file is NOT_FOUND.
  std::function<Result<Bytes>(const crypto::Cid&)> fetch_missing;
  // IPFS (docs/ipfs.md), set by a process started with --ipfs. ipfs_add adds a file this hub
  // stores (the blob's path; `cid` is what its bytes must hash to) to IPFS, pinned, and
  // returns its root CID: PrepareVersion records it per file in the manifest (`ipfs`) and
  // adds the test vectors blob and the manifest too. ipfs_fetch streams a file missing here
  // into out_path (at most max_bytes) and must refuse bytes that do not hash to `cid`;
  // ipfs_cid is the root a manifest read by this hub recorded for it, else `cid`'s own text
  // (the same CID in IPFS for files up to 1 MiB). The hub re-hashes the file before it is
  // kept or used. Tried before fetch_missing; a stored file that no longer matches its CID
  // is fetched again this way.
  std::function<Result<std::string>(const crypto::Cid& cid, const std::string& path)> ipfs_add;
  std::function<Status(const crypto::Cid& cid, const std::string& ipfs_cid, uint64_t max_bytes,
                       const std::string& out_path)>
      ipfs_fetch;
  // GGUF (LLM) versions: runs LLM requests ({"llm_request"} inputs, llm/request.h) on a GGUF
  // file and returns each answer's outputs ({"llm_output", "tokens"}). Set by a process that
  // links the LLM engine (node/llm_backend.h MakeHubLlmRunner); without it GGUF versions with
  // test vectors cannot be published or checked here (UNIMPLEMENTED, saying so).
  std::function<Result<std::vector<TensorMap>>(std::shared_ptr<const Bytes> gguf, const std::vector<TensorMap>& inputs)>
      run_llm;
};

struct VersionFile {
  std::string path;  // plain file name, e.g. "model.onnx"
  crypto::Cid cid;   // of bytes already stored with PutFile
};

struct VersionSpec {
  std::string name;  // repo name
  uint32_t major = 0;
  uint32_t minor = 0;
  std::vector<VersionFile> files;  // exactly one ending in ".onnx", or one ending in ".gguf" (LLM)
  // Test vectors file (upload format) already stored with PutFile.
  std::optional<crypto::Cid> test_vectors;
  // Demand bit-identical outputs instead of abs/rel tolerance.
  bool exact_match = false;
  // Recorded in the manifest: kQuantizationNone or kQuantizationInt8Static (checked).
  std::string quantization = std::string(kQuantizationNone);
  // Source version and measured change; only with a quantization other than "none".
  std::optional<QuantizedFrom> quantized_from;
  // Demand zkml support: refuse the version, naming the blocking op, when the zkml circuit
  // cannot be compiled. Without it an int8 version records its commitment when it can.
  bool zkml = false;
};

struct PreparedVersion {
  Manifest manifest;
  crypto::Cid manifest_cid;  // what PublishVersionTx records
};

class Hub {
 public:
  // REQUIRES: blobs outlives the Hub.
  explicit Hub(store::BlobStore* blobs, HubOptions options = {});

  // Stores a file; OUT_OF_RANGE above max_file_bytes.
  Result<crypto::Cid> PutFile(ByteView content);
  // NOT_FOUND for an unknown CID, DATA_LOSS when the stored bytes do not match it.
  Result<Bytes> GetFile(const crypto::Cid& cid) const;

  // Checks the files (present, intact, exactly one loadable .onnx model), reads the I/O
  // schema, runs every test vector with the Lucid engine and demands the expected outputs
  // (exact or within tolerance), stores the canonical test vectors and the manifest.
  // On error nothing is published (blobs stored along the way are content-addressed and
  // harmless) and the message names the problem: the file, the op, the vector index.
  Result<PreparedVersion> PrepareVersion(const VersionSpec& spec);

  // Fetches and parses a manifest; refuses bytes that do not match the CID.
  Result<Manifest> GetManifest(const crypto::Cid& manifest_cid) const;

  // Loads the version's model, checking every file against its CID and size and the
  // model's I/O schema against the manifest. Cached (LRU by count).
  Result<std::shared_ptr<const onnx::Model>> LoadModel(const crypto::Cid& manifest_cid);

  // Re-runs the manifest's test vectors and checks the engine reproduces output_hashes
  // bit for bit (what a node does before serving a version).
  Status CheckTestVectors(const crypto::Cid& manifest_cid);

  size_t cached_models() const;

  // Makes sure the blob store holds `cid` (`size` bytes when known): a missing copy, or one of
  // another size, is fetched again through IPFS (streamed to disk, checked against the CID). A present
  // copy of the right size is not re-hashed here: GetFile checks the bytes on every use.
  // True when it had to fetch. NOT_FOUND without IPFS. Used by the replicator
  // (replication/replicator.h).
  // DATA_LOSS when the file with this CID does not have the declared size (a manifest that
  // contradicts its files).
  Result<bool> EnsureStored(const crypto::Cid& cid, std::optional<uint64_t> size);
  // The stored copy's size; NOT_FOUND when absent.
  Result<uint64_t> StoredSize(const crypto::Cid& cid) const { return blobs_->Size(cid); }
  // Adds the stored copy of `cid` to IPFS again (HubOptions::ipfs_add: pinned, checked against
  // the CID while streaming) and returns its root: restores kubo's blocks from the blob store.
  Result<std::string> AddToIpfs(const crypto::Cid& cid);
  // A hub audit's answer (GET /hub/holds/CID): bytes [offset, offset + length) of the copy this
  // hub holds, read from its blob store only (never fetched from a peer or IPFS, so a hub that
  // lost the file cannot answer). length at most kMaxAuditBytes.
  static constexpr uint64_t kMaxAuditBytes = 64u << 10;
  Result<Bytes> ReadHeldRange(const crypto::Cid& cid, uint64_t offset, uint64_t length) const;

 private:
  Result<std::unique_ptr<onnx::Model>> LoadFromManifest(const Manifest& m) const;
  // GGUF versions (hub/gguf_version.cc, docs/formats/llm.md "Hub").
  Result<PreparedVersion> PrepareGguf(const VersionSpec& spec);
  Status CheckGgufTestVectors(const Manifest& m);
  // IPFS (HubOptions::ipfs_add/ipfs_fetch).
  Status RecordIpfs(Manifest& m);
  Status AddManifestToIpfs(const crypto::Cid& manifest_cid);
  Result<Bytes> FetchFromIpfs(const crypto::Cid& cid) const;
  Status FetchIpfsIntoStore(const crypto::Cid& cid) const;
  void LearnIpfsRoots(ByteView blob) const;

  store::BlobStore* blobs_;
  HubOptions options_;

  mutable std::mutex mu_;
  // Most recently used at the front. Guarded by mu_.
  std::list<std::pair<crypto::Cid, std::shared_ptr<const onnx::Model>>> cache_;
  // Lucid CID -> IPFS root CID, from the manifests this hub read. Guarded by mu_.
  mutable std::map<crypto::Cid, std::string> ipfs_roots_;
};

}  // namespace lucid::hub
