#include "hub/hub.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>

#include <fmt/format.h>

#include "crypto/hash.h"
#include "zkml/zkml.h"

namespace lucid::hub {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::vector<TensorSpec> SpecsOf(const std::vector<onnx::ValueInfo>& infos) {
  std::vector<TensorSpec> out;
  for (const onnx::ValueInfo& v : infos) out.push_back({v.name, v.dtype, v.shape});
  return out;
}

}  // namespace

Hub::Hub(store::BlobStore* blobs, HubOptions options) : blobs_(blobs), options_(options) {}

Result<crypto::Cid> Hub::PutFile(ByteView content) {
  if (content.size() > options_.max_file_bytes) {
    return OutOfRange(fmt::format("file of {} bytes is above the hub's limit of {} bytes", content.size(),
                                  options_.max_file_bytes));
  }
  return blobs_->Put(content);
}

Result<Bytes> Hub::GetFile(const crypto::Cid& cid) const {
  Status ipfs_error;
  if (blobs_->Has(cid)) {
    auto stored = blobs_->Get(cid);
    if (stored.ok() || stored.status().code() != Code::kDataLoss || !options_.ipfs_fetch) {
      if (stored.ok()) LearnIpfsRoots(*stored);
      return stored;
    }
    // A damaged copy: fetched again from the swarm below (FetchFromIpfs replaces it).
    ipfs_error = stored.status();
  }
  if (options_.ipfs_fetch) {
    auto fetched = FetchFromIpfs(cid);
    if (fetched.ok()) {
      LearnIpfsRoots(*fetched);
      return fetched;
    }
    ipfs_error = fetched.status();
    if (!options_.fetch_missing) return ipfs_error;
  }
  if (!options_.fetch_missing) return NotFound("no file with CID " + cid.ToString());
  auto fetched = options_.fetch_missing(cid);
  if (!fetched.ok()) {
    Status s = fetched.status().WithContext("fetching " + cid.ToString() + " from the peer hub");
    if (!ipfs_error.ok()) return Status(s.code(), s.message() + "; before that, IPFS: " + ipfs_error.message());
    return s;
  }
  if (fetched->size() > options_.max_file_bytes)
    return OutOfRange("the peer hub sent " + std::to_string(fetched->size()) + " bytes for " + cid.ToString() +
                      ", above the " + std::to_string(options_.max_file_bytes) + "-byte limit");
  if (crypto::Cid::Of(*fetched) != cid)
    return DataLoss("the peer hub sent bytes that do not match CID " + cid.ToString() + " (refused, not kept)");
  RETURN_IF_ERROR(blobs_->Put(*fetched).status());
  LearnIpfsRoots(*fetched);
  return fetched;
}

Result<Bytes> Hub::FetchFromIpfs(const crypto::Cid& cid) const {
  RETURN_IF_ERROR(FetchIpfsIntoStore(cid));
  return blobs_->Get(cid);
}

Result<bool> Hub::EnsureStored(const crypto::Cid& cid, std::optional<uint64_t> size) {
  if (blobs_->Has(cid)) {
    auto stored_size = blobs_->Size(cid);
    if (stored_size.ok() && (!size || *stored_size == *size)) return false;
  }
  if (!options_.ipfs_fetch) return NotFound("no intact copy of " + cid.ToString() + " here, and no IPFS to fetch it");
  RETURN_IF_ERROR(FetchIpfsIntoStore(cid));
  if (size) {
    // The fetched bytes hash to the CID, so a size that still differs is the declaration's fault.
    ASSIGN_OR_RETURN(uint64_t got, blobs_->Size(cid));
    if (got != *size)
      return DataLoss("the file with CID " + cid.ToString() + " has " + std::to_string(got) + " bytes, not the " +
                      std::to_string(*size) + " declared");
  }
  return true;
}

Result<Bytes> Hub::ReadHeldRange(const crypto::Cid& cid, uint64_t offset, uint64_t length) const {
  if (length == 0 || length > kMaxAuditBytes)
    return InvalidArgument("length must be 1 to " + std::to_string(kMaxAuditBytes) + " bytes");
  auto range = blobs_->ReadRange(cid, offset, length);
  // An offset past the end is the asker's mistake, not a size limit.
  if (!range.ok() && range.status().code() == Code::kOutOfRange) return InvalidArgument(range.status().message());
  return range;
}

Result<std::string> Hub::AddToIpfs(const crypto::Cid& cid) {
  if (!options_.ipfs_add) return FailedPrecondition("this hub runs without IPFS");
  if (!blobs_->Has(cid)) return NotFound("no file with CID " + cid.ToString());
  return options_.ipfs_add(cid, blobs_->PathOf(cid));
}

Status Hub::FetchIpfsIntoStore(const crypto::Cid& cid) const {
  std::string root = cid.ToString();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = ipfs_roots_.find(cid); it != ipfs_roots_.end()) root = it->second;
  }
  namespace fs = std::filesystem;
  const fs::path dest = blobs_->PathOf(cid);
  std::error_code ec;
  fs::create_directories(dest.parent_path(), ec);
  static std::atomic<uint64_t> counter{0};
  const fs::path tmp = dest.string() + ".ipfs-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + ".tmp";
  Status s = options_.ipfs_fetch(cid, root, options_.max_file_bytes, tmp.string());
  if (!s.ok()) {
    fs::remove(tmp, ec);
    return s.WithContext("fetching " + cid.ToString() + " through IPFS");
  }
  // Checked again here, whoever fetched it: the bytes must hash to the CID before they are kept.
  std::ifstream in(tmp, std::ios::binary);
  crypto::Sha256Stream hasher;
  std::vector<char> buf(1 << 20);
  uint64_t size = 0;
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const auto n = static_cast<size_t>(in.gcount());
    if (n == 0) break;
    hasher.Update(ByteView(reinterpret_cast<const uint8_t*>(buf.data()), n));
    size += n;
  }
  in.close();
  if (hasher.Finish() != cid.digest || size > options_.max_file_bytes) {
    fs::remove(tmp, ec);
    return DataLoss("IPFS returned bytes for " + root + " that do not match CID " + cid.ToString() + " (refused, not kept)");
  }
  fs::rename(tmp, dest, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Internal("keeping " + cid.ToString() + " in the blob store: " + ec.message());
  }
  return Status::Ok();
}

void Hub::LearnIpfsRoots(ByteView blob) const {
  // Only manifests matter; every canonical manifest starts with its first sorted key.
  static constexpr std::string_view kStart = "{\"engine\":";
  if (!options_.ipfs_fetch || blob.size() > (1u << 20) || blob.size() < kStart.size() ||
      std::string_view(reinterpret_cast<const char*>(blob.data()), kStart.size()) != kStart)
    return;
  auto m = ParseManifest(blob);
  if (!m.ok()) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (const ManifestFile& f : m->files)
    if (!f.ipfs.empty()) ipfs_roots_[f.cid] = f.ipfs;
  if (m->test_vectors && !m->test_vectors->ipfs.empty()) ipfs_roots_[m->test_vectors->cid] = m->test_vectors->ipfs;
}

Status Hub::RecordIpfs(Manifest& m) {
  if (!options_.ipfs_add) return Status::Ok();
  for (ManifestFile& f : m.files) {
    auto root = options_.ipfs_add(f.cid, blobs_->PathOf(f.cid));
    if (!root.ok()) return root.status().WithContext("adding file \"" + f.path + "\" to IPFS");
    RETURN_IF_ERROR(ValidateIpfsCid(*root));
    f.ipfs = *root;
  }
  if (m.test_vectors) {
    auto root = options_.ipfs_add(m.test_vectors->cid, blobs_->PathOf(m.test_vectors->cid));
    if (!root.ok()) return root.status().WithContext("adding the test vectors to IPFS");
    RETURN_IF_ERROR(ValidateIpfsCid(*root));
    m.test_vectors->ipfs = *root;
  }
  return Status::Ok();
}

Status Hub::AddManifestToIpfs(const crypto::Cid& manifest_cid) {
  if (!options_.ipfs_add) return Status::Ok();
  auto root = options_.ipfs_add(manifest_cid, blobs_->PathOf(manifest_cid));
  if (!root.ok()) return root.status().WithContext("adding the manifest to IPFS");
  // Manifests are at most 1 MiB: one raw block, so the IPFS CID is the Lucid CID.
  if (*root != manifest_cid.ToString())
    return Internal("IPFS gave the manifest CID " + *root + ", expected " + manifest_cid.ToString() +
                    " (is kubo adding with raw leaves and 1 MiB chunks?)");
  return Status::Ok();
}

Result<PreparedVersion> Hub::PrepareVersion(const VersionSpec& spec) {
  RETURN_IF_ERROR(ValidateRepoName(spec.name));
  RETURN_IF_ERROR(ValidateQuantization(spec.quantization));
  if (spec.quantized_from && spec.quantization == kQuantizationNone) {
    return InvalidArgument("quantized_from is only allowed with a quantization other than \"none\"");
  }
  if (spec.files.empty()) return InvalidArgument("a version needs at least one file");
  if (spec.files.size() > options_.max_files_per_version) {
    return OutOfRange(fmt::format("a version may have at most {} files, got {}", options_.max_files_per_version,
                                  spec.files.size()));
  }

  for (const VersionFile& f : spec.files)
    if (EndsWith(f.path, ".gguf")) return PrepareGguf(spec);

  Manifest m;
  m.name = spec.name;
  m.major = spec.major;
  m.minor = spec.minor;
  m.format = "onnx";
  m.engine = std::string(onnx::kEngineId);
  m.quantization = spec.quantization;
  m.quantized_from = spec.quantized_from;

  // Every file present and intact; exactly one .onnx model.
  std::set<std::string_view> paths;
  const VersionFile* model_file = nullptr;
  Bytes model_bytes;
  for (const VersionFile& f : spec.files) {
    RETURN_IF_ERROR(ValidateFilePath(f.path));
    if (!paths.insert(f.path).second) return InvalidArgument("file path \"" + f.path + "\" is listed twice");
    auto bytes = GetFile(f.cid);
    if (!bytes.ok()) return bytes.status().WithContext("file \"" + f.path + "\"");
    if (EndsWith(f.path, ".onnx")) {
      if (model_file) {
        return InvalidArgument("a version needs exactly one .onnx file; got \"" + model_file->path + "\" and \"" +
                               f.path + "\"");
      }
      model_file = &f;
      model_bytes = *bytes;
    }
    m.files.push_back({f.path, f.cid, bytes->size()});
  }
  if (!model_file) return InvalidArgument("a version needs exactly one .onnx file; none was given");
  std::sort(m.files.begin(), m.files.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  m.model_file = model_file->path;

  onnx::LoadOptions load_options;
  load_options.max_model_bytes = options_.max_file_bytes;
  auto model = onnx::Model::Load(model_bytes, load_options);
  if (!model.ok()) return model.status().WithContext("model file \"" + m.model_file + "\"");
  m.inputs = SpecsOf((*model)->inputs());
  m.outputs = SpecsOf((*model)->outputs());
  m.ops = (*model)->op_types();
  m.opset = (*model)->opset();

  // zkml: compile the circuit and commit to the weights (docs/zk.md).
  if (spec.zkml || spec.quantization != kQuantizationNone) {
    auto key = zkml::Setup(model_bytes);
    if (key.ok()) {
      m.zkml = ZkmlCommitment{key->model_commitment, key->circuit_hash, key->weights.commitment.Encode()};
    } else if (spec.zkml) {
      return key.status().WithContext("the version cannot support zkml");
    }
  }

  if (spec.test_vectors) {
    auto raw = GetFile(*spec.test_vectors);
    if (!raw.ok()) return raw.status().WithContext("test vectors file");
    auto vectors = ParseTestVectors(*raw, options_.max_test_vectors);
    if (!vectors.ok()) return vectors.status();
    std::optional<Tolerance> tolerance;
    if (!spec.exact_match) {
      ASSIGN_OR_RETURN(tolerance, ParseTolerance(kDefaultAbsTolerance, kDefaultRelTolerance));
    }
    TestVectorsRef ref;
    ref.count = static_cast<uint32_t>(vectors->size());
    ref.match = MatchRule::kExact;
    for (size_t i = 0; i < vectors->size(); ++i) {
      const TestVector& v = (*vectors)[i];
      std::string where = fmt::format("test vector {}", i);
      auto outputs = (*model)->Run(v.inputs);
      if (!outputs.ok()) return outputs.status().WithContext(where + ": running the model");
      auto rule = MatchOutputs(v.outputs, *outputs, tolerance);
      if (!rule.ok()) return rule.status().WithContext(where);
      if (*rule == MatchRule::kTolerance) ref.match = MatchRule::kTolerance;
      ref.output_hashes.push_back(HashTensorMap(*outputs));
    }
    if (ref.match == MatchRule::kTolerance) {
      ref.abs_tolerance = std::string(kDefaultAbsTolerance);
      ref.rel_tolerance = std::string(kDefaultRelTolerance);
    }
    ASSIGN_OR_RETURN(Bytes canonical, CanonicalTestVectors(*vectors));
    ASSIGN_OR_RETURN(ref.cid, blobs_->Put(canonical));
    m.test_vectors = std::move(ref);
  }
  RETURN_IF_ERROR(RecordIpfs(m));

  auto bytes = SerializeManifest(m);
  if (!bytes.ok()) return bytes.status().WithContext("building the manifest");
  ASSIGN_OR_RETURN(crypto::Cid cid, blobs_->Put(*bytes));
  RETURN_IF_ERROR(AddManifestToIpfs(cid));
  return PreparedVersion{std::move(m), cid};
}

Result<Manifest> Hub::GetManifest(const crypto::Cid& manifest_cid) const {
  auto bytes = GetFile(manifest_cid);
  if (!bytes.ok()) return bytes.status().WithContext("manifest");
  return ParseManifest(*bytes);
}

Result<std::unique_ptr<onnx::Model>> Hub::LoadFromManifest(const Manifest& m) const {
  Bytes model_bytes;
  for (const ManifestFile& f : m.files) {
    auto bytes = GetFile(f.cid);
    if (!bytes.ok()) return bytes.status().WithContext("file \"" + f.path + "\"");
    if (bytes->size() != f.size) {
      return DataLoss(fmt::format("file \"{}\" has {} bytes, the manifest says {}", f.path, bytes->size(), f.size));
    }
    if (f.path == m.model_file) model_bytes = std::move(bytes).value();
  }
  onnx::LoadOptions load_options;
  load_options.max_model_bytes = options_.max_file_bytes;
  auto model = onnx::Model::Load(model_bytes, load_options);
  if (!model.ok()) return model.status().WithContext("model file \"" + m.model_file + "\"");
  if (SpecsOf((*model)->inputs()) != m.inputs || SpecsOf((*model)->outputs()) != m.outputs) {
    return DataLoss("model \"" + m.model_file + "\" inputs/outputs differ from its manifest");
  }
  return model;
}

Result<std::shared_ptr<const onnx::Model>> Hub::LoadModel(const crypto::Cid& manifest_cid) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      if (it->first == manifest_cid) {
        cache_.splice(cache_.begin(), cache_, it);
        return cache_.front().second;
      }
    }
  }
  // Load outside the lock: loading is slow and other models stay available meanwhile.
  ASSIGN_OR_RETURN(Manifest m, GetManifest(manifest_cid));
  ASSIGN_OR_RETURN(std::unique_ptr<onnx::Model> loaded, LoadFromManifest(m));
  std::shared_ptr<const onnx::Model> model = std::move(loaded);

  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    if (it->first == manifest_cid) {  // another thread loaded it meanwhile: share one copy
      cache_.splice(cache_.begin(), cache_, it);
      return cache_.front().second;
    }
  }
  if (options_.model_cache_entries == 0) return model;
  cache_.emplace_front(manifest_cid, model);
  while (cache_.size() > options_.model_cache_entries) cache_.pop_back();
  return model;
}

Status Hub::CheckTestVectors(const crypto::Cid& manifest_cid) {
  ASSIGN_OR_RETURN(Manifest m, GetManifest(manifest_cid));
  if (!m.test_vectors) return Status::Ok();
  if (m.format == "gguf") return CheckGgufTestVectors(m);
  ASSIGN_OR_RETURN(auto model, LoadModel(manifest_cid));
  auto raw = GetFile(m.test_vectors->cid);
  if (!raw.ok()) return raw.status().WithContext("test vectors");
  ASSIGN_OR_RETURN(std::vector<TestVector> vectors, ParseTestVectors(*raw, options_.max_test_vectors));
  if (vectors.size() != m.test_vectors->count) {
    return DataLoss(fmt::format("test vectors blob holds {} vectors, the manifest says {}", vectors.size(),
                                m.test_vectors->count));
  }
  for (size_t i = 0; i < vectors.size(); ++i) {
    auto outputs = model->Run(vectors[i].inputs);
    if (!outputs.ok()) return outputs.status().WithContext(fmt::format("test vector {}", i));
    Hash32 got = HashTensorMap(*outputs);
    if (got != m.test_vectors->output_hashes[i]) {
      return FailedPrecondition(fmt::format("test vector {}: engine output hash {} differs from the manifest's {}", i,
                                            ToHex(got), ToHex(m.test_vectors->output_hashes[i])));
    }
  }
  return Status::Ok();
}

size_t Hub::cached_models() const {
  std::lock_guard<std::mutex> lock(mu_);
  return cache_.size();
}

}  // namespace lucid::hub
