// The one Merkle construction of Lucid (RFC 6962 / RFC 9162):
//   leaf hash  = SHA-256(0x00 || leaf data)
//   node hash  = SHA-256(0x01 || left || right)
//   empty tree = SHA-256("")
// A tree of n leaves splits at k = largest power of two < n. Inclusion proofs are the
// audit paths of RFC 9162 §2.1.3. See docs/formats/merkle.md.
// Thread-safety: free functions.
#pragma once

#include <vector>

#include "base/bytes.h"

namespace lucid::crypto {

Hash32 MerkleLeafHash(ByteView leaf_data);
Hash32 MerkleNodeHash(const Hash32& left, const Hash32& right);
// Root over leaf *hashes* (already passed through MerkleLeafHash).
Hash32 MerkleRoot(const std::vector<Hash32>& leaf_hashes);

struct InclusionProof {
  uint64_t leaf_index = 0;
  uint64_t tree_size = 0;
  std::vector<Hash32> path;  // siblings from the leaf upward
};

Result<InclusionProof> MerkleProve(const std::vector<Hash32>& leaf_hashes, uint64_t index);
// Ok when the proof leads from leaf_hash to root; a clear error otherwise.
Status MerkleVerify(const Hash32& leaf_hash, const InclusionProof& proof, const Hash32& root);

}  // namespace lucid::crypto
