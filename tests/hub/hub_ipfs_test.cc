// The hub's IPFS hooks (HubOptions::ipfs_add / ipfs_fetch, docs/ipfs.md) with an in-memory
// swarm standing in for kubo: roots recorded in the manifest, files fetched by those roots,
// bytes checked against the whole-file CID before they are kept, fallback to the peer hub,
// a damaged stored copy fetched again. tests/ipfs and tests/e2e/test_ipfs_e2e.py run kubo itself.
#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include <gtest/gtest.h>

#include "hub/hub.h"

namespace lucid::hub {
namespace {

namespace fs = std::filesystem;
using crypto::Cid;

std::string ReadData(const std::string& name) {
  std::ifstream in(std::string(LUCID_SOURCE_DIR) + "/tests/data/hub/" + name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// A swarm double: roots are "b" + 'x' * 8 + the Lucid CID's tail for "large" files, so that
// a root differs from the Lucid CID (as kubo's dag-pb roots do above 1 MiB); manifests keep
// their CID (one raw block in kubo).
struct Swarm {
  std::map<std::string, std::string> blocks;  // root -> bytes
  std::map<std::string, int> fetched;         // root -> times asked
  std::string corrupt_root;                   // served with one byte flipped, unchecked
  Result<std::string> Add(const Cid& cid, const std::string& path) {
    std::string bytes = ReadFile(path);
    if (Cid::Of(AsBytes(bytes)) != cid) return DataLoss("bytes differ from " + cid.ToString());
    std::string root = cid.ToString();
    if (bytes.rfind("{\"engine\":", 0) != 0) root = "bxxxxxxxx" + root.substr(9);
    blocks[root] = bytes;
    return root;
  }
  // Writes what it has; checks the CID unless the root is the corrupt one (a lying peer).
  Status Fetch(const Cid& cid, const std::string& root, uint64_t max_bytes, const std::string& out) {
    ++fetched[root];
    auto it = blocks.find(root);
    if (it == blocks.end()) return NotFound("no provider for " + root);
    std::string bytes = it->second;
    if (bytes.size() > max_bytes) return OutOfRange("too big");
    if (root == corrupt_root) bytes[0] ^= 1;
    std::ofstream(out, std::ios::binary) << bytes;
    if (root != corrupt_root && Cid::Of(AsBytes(bytes)) != cid) return DataLoss("mismatch");
    return Status::Ok();
  }
};

class HubIpfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    root_ = fs::temp_directory_path() / ("lucid-hub-ipfs-test-" + std::to_string(rd()));
    fs::remove_all(root_);
    HubOptions a;
    a.ipfs_add = [this](const Cid& cid, const std::string& path) { return swarm_.Add(cid, path); };
    blobs_a_ = std::make_unique<store::BlobStore>((root_ / "a").string());
    hub_a_ = std::make_unique<Hub>(blobs_a_.get(), a);
  }
  void TearDown() override { fs::remove_all(root_); }

  PreparedVersion Publish() {
    VersionSpec spec;
    spec.name = "tiny-mlp";
    spec.major = 1;
    spec.minor = 0;
    spec.files = {{"model.onnx", hub_a_->PutFile(AsBytes(ReadData("tiny_mlp.onnx"))).value()}};
    spec.test_vectors = hub_a_->PutFile(AsBytes(ReadData("tiny_mlp_vectors.json"))).value();
    auto prepared = hub_a_->PrepareVersion(spec);
    EXPECT_TRUE(prepared.ok()) << prepared.status().ToString();
    return *prepared;
  }

  std::unique_ptr<Hub> FetchingHub(const std::string& name, store::BlobStore** blobs_out,
                                   std::function<Result<Bytes>(const Cid&)> peer = nullptr) {
    HubOptions b;
    b.ipfs_fetch = [this](const Cid& cid, const std::string& root, uint64_t max, const std::string& out) {
      return swarm_.Fetch(cid, root, max, out);
    };
    b.fetch_missing = std::move(peer);
    own_blobs_.push_back(std::make_unique<store::BlobStore>((root_ / name).string()));
    *blobs_out = own_blobs_.back().get();
    return std::make_unique<Hub>(own_blobs_.back().get(), b);
  }

  fs::path root_;
  Swarm swarm_;
  std::unique_ptr<store::BlobStore> blobs_a_;
  std::unique_ptr<Hub> hub_a_;
  std::vector<std::unique_ptr<store::BlobStore>> own_blobs_;
};

TEST_F(HubIpfsTest, ManifestRecordsRootsAndStaysCanonical) {
  PreparedVersion v = Publish();
  ASSERT_EQ(v.manifest.files.size(), 1u);
  const ManifestFile& f = v.manifest.files[0];
  EXPECT_EQ(f.ipfs, "bxxxxxxxx" + f.cid.ToString().substr(9));
  ASSERT_TRUE(v.manifest.test_vectors);
  EXPECT_FALSE(v.manifest.test_vectors->ipfs.empty());
  // The manifest itself is in the swarm under its own CID.
  EXPECT_TRUE(swarm_.blocks.count(v.manifest_cid.ToString()));
  Bytes bytes = SerializeManifest(v.manifest).value();
  auto parsed = ParseManifest(bytes);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, v.manifest);
  EXPECT_NE(AsString(bytes).find("\"ipfs\":\"" + f.ipfs + "\""), std::string::npos);
  // A manifest without ipfs fields (a hub without --ipfs) is still valid.
  Manifest plain = v.manifest;
  plain.files[0].ipfs.clear();
  plain.test_vectors->ipfs.clear();
  EXPECT_TRUE(ParseManifest(SerializeManifest(plain).value()).ok());
  EXPECT_EQ(AsString(SerializeManifest(plain).value()).find("ipfs"), std::string::npos);
  // A malformed root is refused.
  Manifest bad = v.manifest;
  bad.files[0].ipfs = "Qm-not-base32";
  EXPECT_FALSE(SerializeManifest(bad).ok());
}

TEST_F(HubIpfsTest, FetchesByRecordedRootAndRuns) {
  PreparedVersion v = Publish();
  store::BlobStore* blobs = nullptr;
  auto hub_b = FetchingHub("b", &blobs);
  auto model = hub_b->LoadModel(v.manifest_cid);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(swarm_.fetched[v.manifest_cid.ToString()], 1);
  EXPECT_EQ(swarm_.fetched[v.manifest.files[0].ipfs], 1);  // by the manifest's root, not the Lucid CID
  EXPECT_TRUE(blobs->Has(v.manifest.files[0].cid));
  EXPECT_TRUE(hub_b->CheckTestVectors(v.manifest_cid).ok());
  EXPECT_EQ(swarm_.fetched[v.manifest.test_vectors->ipfs], 1);
}

TEST_F(HubIpfsTest, CorruptSwarmBytesAreRefusedThenPeerHubServes) {
  PreparedVersion v = Publish();
  swarm_.corrupt_root = v.manifest.files[0].ipfs;
  int peer_calls = 0;
  store::BlobStore* blobs = nullptr;
  auto hub_b = FetchingHub("b", &blobs, nullptr);
  auto refused = hub_b->LoadModel(v.manifest_cid);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), Code::kDataLoss) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("do not match CID " + v.manifest.files[0].cid.ToString()),
            std::string::npos)
      << refused.status().message();
  EXPECT_FALSE(blobs->Has(v.manifest.files[0].cid));
  for (const auto& e : fs::recursive_directory_iterator(root_ / "b"))
    EXPECT_EQ(e.path().string().find(".tmp"), std::string::npos) << "temp file left: " << e.path();

  store::BlobStore* blobs_c = nullptr;
  auto hub_c = FetchingHub("c", &blobs_c, [&](const Cid& cid) {
    ++peer_calls;
    return hub_a_->GetFile(cid);
  });
  auto model = hub_c->LoadModel(v.manifest_cid);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ(peer_calls, 1);  // only the file IPFS served wrong
}

TEST_F(HubIpfsTest, DamagedStoredCopyIsFetchedAgain) {
  PreparedVersion v = Publish();
  store::BlobStore* blobs = nullptr;
  auto hub_b = FetchingHub("b", &blobs);
  ASSERT_TRUE(hub_b->GetManifest(v.manifest_cid).ok());
  const Cid file = v.manifest.files[0].cid;
  ASSERT_TRUE(hub_b->GetFile(file).ok());
  {
    std::fstream f(blobs->PathOf(file), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('\x7f');
  }
  EXPECT_EQ(blobs->Get(file).status().code(), Code::kDataLoss);
  auto again = hub_b->GetFile(file);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(blobs->Get(file).ok());
  EXPECT_EQ(swarm_.fetched[v.manifest.files[0].ipfs], 2);
}

// The replicator's view (replication/replicator.h): EnsureStored fetches only what is missing
// or of another size, and a declared size the CID's bytes do not have is DATA_LOSS after one
// fetch (a manifest contradicting its files), not a fetch every round.
TEST_F(HubIpfsTest, EnsureStoredFetchesOnlyWhatIsMissingAndRefusesAWrongSize) {
  PreparedVersion v = Publish();
  store::BlobStore* blobs = nullptr;
  auto hub_b = FetchingHub("b", &blobs);
  ASSERT_TRUE(hub_b->GetManifest(v.manifest_cid).ok());
  const ManifestFile& f = v.manifest.files[0];
  auto first = hub_b->EnsureStored(f.cid, f.size);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(*first);
  auto second = hub_b->EnsureStored(f.cid, f.size);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(*second);  // present, right size: nothing fetched
  EXPECT_EQ(swarm_.fetched[f.ipfs], 1);
  EXPECT_EQ(hub_b->StoredSize(f.cid).value(), f.size);

  auto lie = hub_b->EnsureStored(f.cid, f.size + 1);
  ASSERT_FALSE(lie.ok());
  EXPECT_EQ(lie.status().code(), Code::kDataLoss) << lie.status().ToString();
  EXPECT_NE(lie.status().message().find("not the " + std::to_string(f.size + 1) + " declared"), std::string::npos);
  EXPECT_TRUE(blobs->Get(f.cid).ok());  // the intact copy stays

  fs::remove(blobs->PathOf(f.cid));  // lost: fetched again
  auto restored = hub_b->EnsureStored(f.cid, f.size);
  ASSERT_TRUE(restored.ok());
  EXPECT_TRUE(*restored);
  EXPECT_TRUE(blobs->Get(f.cid).ok());

  // Without IPFS there is nothing to fetch from.
  EXPECT_EQ(hub_a_->EnsureStored(crypto::Cid::Of(AsBytes(std::string("never stored"))), std::nullopt).status().code(),
            Code::kNotFound);
}

}  // namespace
}  // namespace lucid::hub
