#include "crypto/merkle.h"

#include <algorithm>

#include "crypto/hash.h"

namespace lucid::crypto {
namespace {

// Largest power of two strictly below n (n >= 2).
uint64_t SplitPoint(uint64_t n) {
  uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash32 SubtreeRoot(const Hash32* leaves, uint64_t n) {
  if (n == 1) return leaves[0];
  uint64_t k = SplitPoint(n);
  return MerkleNodeHash(SubtreeRoot(leaves, k), SubtreeRoot(leaves + k, n - k));
}

// RFC 6962 §2.1.1 PATH(m, D[n]), deepest sibling first.
void AuditPath(const Hash32* leaves, uint64_t n, uint64_t m, std::vector<Hash32>& path) {
  if (n <= 1) return;
  uint64_t k = SplitPoint(n);
  if (m < k) {
    AuditPath(leaves, k, m, path);
    path.push_back(SubtreeRoot(leaves + k, n - k));
  } else {
    AuditPath(leaves + k, n - k, m - k, path);
    path.push_back(SubtreeRoot(leaves, k));
  }
}

}  // namespace

Hash32 MerkleLeafHash(ByteView leaf_data) {
  static constexpr uint8_t kLeafPrefix = 0x00;
  Sha256Stream stream;
  stream.Update(ByteView(&kLeafPrefix, 1));
  stream.Update(leaf_data);
  return stream.Finish();
}

Hash32 MerkleNodeHash(const Hash32& left, const Hash32& right) {
  uint8_t buffer[1 + 32 + 32];
  buffer[0] = 0x01;
  std::copy(left.begin(), left.end(), buffer + 1);
  std::copy(right.begin(), right.end(), buffer + 33);
  return Sha256(ByteView(buffer, sizeof(buffer)));
}

Hash32 MerkleRoot(const std::vector<Hash32>& leaf_hashes) {
  if (leaf_hashes.empty()) return Sha256({});
  return SubtreeRoot(leaf_hashes.data(), leaf_hashes.size());
}

Result<InclusionProof> MerkleProve(const std::vector<Hash32>& leaf_hashes, uint64_t index) {
  if (index >= leaf_hashes.size()) {
    return OutOfRange("Merkle proof: leaf index " + std::to_string(index) + " is not below tree size " +
                      std::to_string(leaf_hashes.size()));
  }
  InclusionProof proof;
  proof.leaf_index = index;
  proof.tree_size = leaf_hashes.size();
  AuditPath(leaf_hashes.data(), leaf_hashes.size(), index, proof.path);
  return proof;
}

// RFC 9162 §2.1.3.2.
Status MerkleVerify(const Hash32& leaf_hash, const InclusionProof& proof, const Hash32& root) {
  if (proof.leaf_index >= proof.tree_size) {
    return InvalidArgument("Merkle proof: leaf index " + std::to_string(proof.leaf_index) +
                           " is not below tree size " + std::to_string(proof.tree_size));
  }
  uint64_t fn = proof.leaf_index;
  uint64_t sn = proof.tree_size - 1;
  Hash32 r = leaf_hash;
  for (const Hash32& p : proof.path) {
    if (sn == 0) {
      return InvalidArgument("Merkle proof: path of " + std::to_string(proof.path.size()) +
                             " entries is too long for leaf " + std::to_string(proof.leaf_index) +
                             " of a tree of size " + std::to_string(proof.tree_size));
    }
    if ((fn & 1) == 1 || fn == sn) {
      r = MerkleNodeHash(p, r);
      if ((fn & 1) == 0) {
        while ((fn & 1) == 0 && fn != 0) {
          fn >>= 1;
          sn >>= 1;
        }
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return InvalidArgument("Merkle proof: path of " + std::to_string(proof.path.size()) +
                           " entries is too short for leaf " + std::to_string(proof.leaf_index) +
                           " of a tree of size " + std::to_string(proof.tree_size));
  }
  if (r != root) {
    return DataLoss("Merkle proof: computed root " + ToHex(r) + " does not match expected root " + ToHex(root));
  }
  return Status::Ok();
}

}  // namespace lucid::crypto
