// Content-addressed blob files for the hub: <root>/<hex of the digest's first byte>/<CID>
// (every CID text starts with "bafkrei", so the digest shards evenly).
// Put writes to a temp file, fsyncs and renames, so a blob is either whole or absent.
// Get re-hashes every byte and refuses a file that does not match its CID (DATA_LOSS).
// Thread-safety: safe for concurrent use (files are immutable once renamed).
#pragma once

#include <string>

#include "base/bytes.h"
#include "crypto/cid.h"

namespace lucid::store {

class BlobStore {
 public:
  explicit BlobStore(std::string root);
  Result<crypto::Cid> Put(ByteView content);
  Result<Bytes> Get(const crypto::Cid& cid) const;
  bool Has(const crypto::Cid& cid) const;
  Result<uint64_t> Size(const crypto::Cid& cid) const;
  std::string PathOf(const crypto::Cid& cid) const;
  // Bytes [offset, offset + length) of the stored file, as stored (not re-hashed: an audit
  // answer, checked by whoever asked); fewer at the end of the file; NOT_FOUND when absent,
  // OUT_OF_RANGE when offset is past the end.
  Result<Bytes> ReadRange(const crypto::Cid& cid, uint64_t offset, uint64_t length) const;
  // Largest blob accepted (model files).
  static constexpr uint64_t kMaxBlobBytes = 512ull << 20;

 private:
  std::string root_;
};

}  // namespace lucid::store
