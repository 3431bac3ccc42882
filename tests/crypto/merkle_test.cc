#include "crypto/merkle.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "crypto/hash.h"

namespace lucid::crypto {
namespace {

std::vector<Hash32> CtLeafHashes(size_t count) {
  static const char* kLeaves[] = {"", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                  "606162636465666768696a6b6c6d6e6f"};
  std::vector<Hash32> out;
  for (size_t i = 0; i < count; ++i) out.push_back(MerkleLeafHash(*FromHex(kLeaves[i])));
  return out;
}

// Side of each sibling from the leaf upward (true = sibling on the left), from RFC 6962's
// recursive PATH definition; independent of the verifier's bit walk.
std::vector<bool> PathShape(uint64_t index, uint64_t size) {
  if (size <= 1) return {};
  uint64_t k = 1;
  while (k * 2 < size) k *= 2;
  std::vector<bool> shape = index < k ? PathShape(index, k) : PathShape(index - k, size - k);
  shape.push_back(index >= k);
  return shape;
}

std::vector<Hash32> NumberedLeaves(size_t count) {
  std::vector<Hash32> out;
  for (size_t i = 0; i < count; ++i) out.push_back(MerkleLeafHash(AsBytes("leaf " + std::to_string(i))));
  return out;
}

TEST(MerkleTest, HashPrefixes) {
  Bytes data = ToBytes("abc");
  EXPECT_EQ(MerkleLeafHash(data), Sha256(Concat({Bytes{0x00}, data})));
  Hash32 a = Sha256(AsBytes("a")), b = Sha256(AsBytes("b"));
  EXPECT_EQ(MerkleNodeHash(a, b), Sha256(Concat({Bytes{0x01}, a, b})));
  EXPECT_NE(MerkleNodeHash(a, b), MerkleNodeHash(b, a));
}

// Roots published with Certificate Transparency's tests (RFC 6962 reference vectors).
TEST(MerkleTest, CertificateTransparencyRoots) {
  const char* kRoots[] = {
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
      "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
      "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
      "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
      "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
      "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  };
  for (size_t n = 0; n <= 8; ++n) EXPECT_EQ(ToHex(MerkleRoot(CtLeafHashes(n))), kRoots[n]) << "size " << n;
}

// Paths from the independent Python implementation (tools/vectors/merkle_vectors.py).
TEST(MerkleTest, PathsMatchPythonVectors) {
  std::ifstream in(std::string(LUCID_SOURCE_DIR) + "/tests/data/crypto/merkle_vectors.json");
  ASSERT_TRUE(in.good());
  nlohmann::json doc = nlohmann::json::parse(in);
  int checked = 0;
  for (const auto& tree : doc["trees"]) {
    size_t size = tree["size"];
    auto leaves = CtLeafHashes(size);
    Hash32 root = MerkleRoot(leaves);
    EXPECT_EQ(ToHex(root), tree["root"].get<std::string>());
    for (size_t m = 0; m < size; ++m) {
      auto proof = MerkleProve(leaves, m);
      ASSERT_TRUE(proof.ok());
      std::vector<std::string> got;
      for (const auto& h : proof->path) got.push_back(ToHex(h));
      EXPECT_EQ(got, tree["paths"][m].get<std::vector<std::string>>()) << size << "/" << m;
      EXPECT_TRUE(MerkleVerify(leaves[m], *proof, root).ok());
      ++checked;
    }
  }
  EXPECT_EQ(checked, 36);
}

TEST(MerkleTest, ProveRefusesIndexOutOfRange) {
  EXPECT_FALSE(MerkleProve({}, 0).ok());
  auto r = MerkleProve(NumberedLeaves(3), 3);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("tree size 3"), std::string::npos);
}

TEST(MerkleTest, EveryIndexOfEverySizeRoundTripsAndTamperingFails) {
  for (uint64_t size = 1; size <= 40; ++size) {
    auto leaves = NumberedLeaves(size);
    Hash32 root = MerkleRoot(leaves);
    for (uint64_t index = 0; index < size; ++index) {
      SCOPED_TRACE("size " + std::to_string(size) + " index " + std::to_string(index));
      auto proof_or = MerkleProve(leaves, index);
      ASSERT_TRUE(proof_or.ok());
      const InclusionProof& proof = *proof_or;
      ASSERT_TRUE(MerkleVerify(leaves[index], proof, root).ok());

      Hash32 wrong_leaf = leaves[index];
      wrong_leaf[3] ^= 0x10;
      EXPECT_FALSE(MerkleVerify(wrong_leaf, proof, root).ok());
      // Another real leaf of the same tree must not pass for this index.
      if (size > 1) {
        EXPECT_FALSE(MerkleVerify(leaves[(index + 1) % size], proof, root).ok());
      }

      Hash32 wrong_root = root;
      wrong_root[31] ^= 0x01;
      Status s = MerkleVerify(leaves[index], proof, wrong_root);
      EXPECT_EQ(s.code(), Code::kDataLoss);

      for (size_t p = 0; p < proof.path.size(); ++p) {
        InclusionProof bad = proof;
        bad.path[p][0] ^= 0x01;
        EXPECT_FALSE(MerkleVerify(leaves[index], bad, root).ok()) << "path entry " << p;
      }
      for (uint64_t other = 0; other < size; ++other) {
        if (other == index) continue;
        InclusionProof bad = proof;
        bad.leaf_index = other;
        EXPECT_FALSE(MerkleVerify(leaves[index], bad, root).ok()) << "index " << other;
      }
      InclusionProof beyond = proof;
      beyond.leaf_index = size;
      EXPECT_EQ(MerkleVerify(leaves[index], beyond, root).code(), Code::kInvalidArgument);
      // The root commits to the size only through the path's shape: a size that gives
      // the leaf the same audit-path shape (e.g. index 0 in sizes 3 and 4) verifies; every
      // other size must fail. Callers take tree_size from the same trusted place as root.
      for (uint64_t other_size = index + 1; other_size <= 2 * size + 2; ++other_size) {
        if (other_size == size) continue;
        InclusionProof bad = proof;
        bad.tree_size = other_size;
        bool same_shape = PathShape(index, other_size) == PathShape(index, size);
        EXPECT_EQ(MerkleVerify(leaves[index], bad, root).ok(), same_shape) << "tree_size " << other_size;
      }
      InclusionProof huge = proof;
      huge.tree_size = uint64_t{1} << 40;
      EXPECT_FALSE(MerkleVerify(leaves[index], huge, root).ok());
      if (!proof.path.empty()) {
        InclusionProof truncated = proof;
        truncated.path.pop_back();
        EXPECT_FALSE(MerkleVerify(leaves[index], truncated, root).ok());
      }
      InclusionProof extended = proof;
      extended.path.push_back(root);
      EXPECT_FALSE(MerkleVerify(leaves[index], extended, root).ok());
      InclusionProof extended_front = proof;
      extended_front.path.insert(extended_front.path.begin(), leaves[index]);
      EXPECT_FALSE(MerkleVerify(leaves[index], extended_front, root).ok());
    }
  }
}

TEST(MerkleTest, SingleLeafTreeHasEmptyPath) {
  auto leaves = NumberedLeaves(1);
  auto proof = MerkleProve(leaves, 0);
  ASSERT_TRUE(proof.ok());
  EXPECT_TRUE(proof->path.empty());
  EXPECT_EQ(MerkleRoot(leaves), leaves[0]);
  EXPECT_TRUE(MerkleVerify(leaves[0], *proof, leaves[0]).ok());
}

}  // namespace
}  // namespace lucid::crypto
