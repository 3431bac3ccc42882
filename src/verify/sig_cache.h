// Bounded, thread-safe cache of verified signatures: (digest, 65-byte signature) -> the
// address secp256k1 recovery gives. A validator sees each tx's signatures in CheckTx, in
// every mempool Recheck, in ProcessProposal and in the block; with the cache only the first
// sight pays for the recoveries, and callers may recover a batch's signatures on several
// threads first (chain::WarmSignatures) so the in-order execution only looks them up.
// Never changes a verdict: a hit needs the identical digest and signature bytes (the whole
// 97-byte key is stored and compared, not a hash of it), the value is what
// crypto::RecoverAddress returned for exactly those bytes, and failed recoveries are not
// cached (they are recomputed, with their own error). Oldest entries are dropped first.
// Thread-safety: thread-safe (sharded locks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "crypto/secp256k1.h"

namespace lucid::verify {

// crypto::RecoverAddress(digest, sig) through the cache.
Result<crypto::Address> RecoverAddressCached(const Hash32& digest, const crypto::Signature& sig);

// protocol::CheckSigner through the cache: the same checks and the same error texts.
Status CheckSignerCached(const Hash32& hash, const crypto::Signature& sig, const crypto::Address& expected,
                         std::string_view what);

// Entries kept (default 1 << 17: about 43k txs of three signatures); 0 turns the cache off
// (every call recovers) and empties it. Process-wide; for tests and benchmarks.
void SetSignatureCacheCapacity(size_t entries);
size_t SignatureCacheCapacity();

struct SignatureCacheStats {
  uint64_t hits = 0;
  uint64_t misses = 0;   // recoveries done (successful or not)
  size_t entries = 0;
};
SignatureCacheStats GetSignatureCacheStats();

}  // namespace lucid::verify
