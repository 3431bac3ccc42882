// Model version manifest: the canonical JSON document a model version is known by.
// Its CID (crypto::Cid::Of of the canonical bytes) is what the chain registry records and
// what receipts name. Format: docs/formats/manifest.md.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "crypto/cid.h"
#include "tensor/tensor.h"

namespace lucid::hub {

inline constexpr int64_t kManifestFormatVersion = 1;

// Tolerances applied when a test vector's outputs came from a float runtime
// (e.g. onnxruntime) and differ from the Lucid engine in the last bits:
// |actual - expected| <= abs + rel * |expected|, per float32 element.
inline constexpr std::string_view kDefaultAbsTolerance = "1e-5";
inline constexpr std::string_view kDefaultRelTolerance = "1e-4";

struct ManifestFile {
  std::string path;  // plain file name: [A-Za-z0-9._-]{1,128}, not "." or ".."
  crypto::Cid cid;
  uint64_t size = 0;
  // The file's IPFS root CID (CIDv1, raw leaves, 1 MiB chunks: docs/ipfs.md) when the hub
  // that prepared the version runs with IPFS; empty: absent from the manifest.
  std::string ipfs = {};
  bool operator==(const ManifestFile&) const = default;
};

struct TensorSpec {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;  // -1 for a dynamic dimension
  bool operator==(const TensorSpec&) const = default;
};

enum class MatchRule : uint8_t {
  kExact = 0,      // the vectors' expected outputs were bit-identical to the engine's
  kTolerance = 1,  // within abs/rel tolerance (stored as decimal strings)
};
std::string_view MatchRuleName(MatchRule rule);

struct TestVectorsRef {
  crypto::Cid cid;  // canonical test vectors blob (docs/formats/manifest.md)
  uint32_t count = 0;
  // HashTensorMap of the Lucid engine's outputs per vector: what receipts must reproduce.
  std::vector<Hash32> output_hashes;
  MatchRule match = MatchRule::kExact;
  std::string abs_tolerance;  // decimal text, only when match == kTolerance
  std::string rel_tolerance;
  std::string ipfs;  // IPFS root CID of the blob, as ManifestFile::ipfs; empty: absent
  bool operator==(const TestVectorsRef&) const = default;
};

// Quantization ids a manifest may record ("none": float model).
inline constexpr std::string_view kQuantizationNone = "none";
inline constexpr std::string_view kQuantizationInt8Static = "int8-static/1";  // onnx::kQuantizationId

// Where a quantized version came from and how far it moved from it on the source
// version's test vectors. Strings, not floats, so the manifest stays canonical.
struct QuantizedFrom {
  crypto::Cid manifest;          // manifest CID of the float version
  std::string max_abs_diff;      // decimal text, max |float - quantized| over all outputs
  std::string argmax_agreement;  // "k/n": argmax agreed on k of n float outputs
  bool operator==(const QuantizedFrom&) const = default;
};

struct ZkmlCommitment {
  Hash32 model_commitment{};  // SHA-256 tag over circuit_hash and weight_commitment
  Hash32 circuit_hash{};
  Bytes weight_commitment;    // the weight PCS commitment (35 bytes)
  bool operator==(const ZkmlCommitment&) const = default;
};

struct Manifest {
  std::string name;  // repo name: [a-z0-9][a-z0-9._-]{0,63}
  uint32_t major = 0;
  uint32_t minor = 0;
  std::string format = "onnx";
  std::vector<ManifestFile> files;  // sorted by path when serialised
  std::string model_file;           // path of the file the engine loads
  std::vector<TensorSpec> inputs;   // graph order
  std::vector<TensorSpec> outputs;  // graph order
  std::vector<std::string> ops;     // graph order, no duplicates
  int64_t opset = 0;
  std::string engine;               // onnx::kEngineId at publication
  std::string quantization = "none";  // kQuantizationNone or kQuantizationInt8Static
  std::optional<QuantizedFrom> quantized_from;  // only with a quantization other than "none"
  std::optional<TestVectorsRef> test_vectors;
  // What a zkml proof about this version is checked against (zkml/zkml.h), computed by the
  // hub from the model file at publication; absent when the version does not support zkml.
  std::optional<ZkmlCommitment> zkml;

  std::string version() const;  // "major.minor"
  const ManifestFile* FindFile(std::string_view path) const;
  bool operator==(const Manifest&) const = default;
};

// Checks every field's syntax (name, paths, duplicates, model_file listed, tolerances...).
Status ValidateManifest(const Manifest& m);

// Canonical JSON: compact, keys sorted, integers and strings only, files sorted by path.
// Refuses an invalid manifest.
Result<Bytes> SerializeManifest(const Manifest& m);

// Parses canonical bytes only: anything that does not re-serialise to exactly the same
// bytes (whitespace, key order, unknown keys, floats, leading zeros...) is refused.
Result<Manifest> ParseManifest(ByteView canonical_json);

// CID of the canonical bytes.
Result<crypto::Cid> ManifestCid(const Manifest& m);

// "none" or "int8-static/1"; anything else is INVALID_ARGUMENT naming both.
Status ValidateQuantization(std::string_view quantization);

// Name and path rules, shared with the hub and API.
Status ValidateRepoName(std::string_view name);
Status ValidateFilePath(std::string_view path);
// An IPFS CID text as the manifest records it: CIDv1 in base32 ("b" + [a-z2-7]), 8..128 chars.
Status ValidateIpfsCid(std::string_view text);
// "1.0" -> {1, 0}; refuses leading zeros, signs, missing parts.
Result<std::pair<uint32_t, uint32_t>> ParseVersion(std::string_view text);

}  // namespace lucid::hub
