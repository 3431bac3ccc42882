#include "verify/sig_cache.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>

#include "protocol/types.h"

namespace lucid::verify {
namespace {

using Key = std::array<uint8_t, 32 + 65>;

struct KeyHash {
  size_t operator()(const Key& k) const {
    // The digest is a SHA-256 output: its first bytes are already uniform. Mix in the
    // signature's r so distinct signatures over one digest spread too.
    uint64_t a, b;
    std::memcpy(&a, k.data(), 8);
    std::memcpy(&b, k.data() + 32, 8);
    return static_cast<size_t>(a ^ (b * 0x9E3779B97F4A7C15ull));
  }
};

constexpr size_t kShards = 16;
constexpr size_t kDefaultCapacity = size_t{1} << 17;

struct Shard {
  std::mutex mu;
  std::unordered_map<Key, crypto::Address, KeyHash> map;
  std::deque<Key> order;  // insertion order, for eviction
};

struct Cache {
  std::array<Shard, kShards> shards;
  std::atomic<size_t> capacity{kDefaultCapacity};
  std::atomic<uint64_t> hits{0}, misses{0};
};

Cache& TheCache() {
  static Cache* cache = new Cache();  // never destroyed: used until exit
  return *cache;
}

Key MakeKey(const Hash32& digest, const crypto::Signature& sig) {
  Key k;
  std::copy(digest.begin(), digest.end(), k.begin());
  std::copy(sig.begin(), sig.end(), k.begin() + 32);
  return k;
}

}  // namespace

Result<crypto::Address> RecoverAddressCached(const Hash32& digest, const crypto::Signature& sig) {
  Cache& c = TheCache();
  const size_t capacity = c.capacity.load(std::memory_order_relaxed);
  if (capacity == 0) {
    c.misses.fetch_add(1, std::memory_order_relaxed);
    return crypto::RecoverAddress(digest, sig);
  }
  const Key key = MakeKey(digest, sig);
  const size_t hash = KeyHash{}(key);
  Shard& shard = c.shards[(hash >> 7) % kShards];
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    auto it = shard.map.find(key);  // compares all 97 bytes
    if (it != shard.map.end()) {
      c.hits.fetch_add(1, std::memory_order_relaxed);
      return it->second;
    }
  }
  c.misses.fetch_add(1, std::memory_order_relaxed);
  Result<crypto::Address> recovered = crypto::RecoverAddress(digest, sig);  // outside the lock
  if (!recovered.ok()) return recovered;
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.map.emplace(key, *recovered).second) {
    shard.order.push_back(key);
    const size_t per_shard = std::max<size_t>(1, capacity / kShards);
    while (shard.order.size() > per_shard) {
      shard.map.erase(shard.order.front());
      shard.order.pop_front();
    }
  }
  return recovered;
}

Status CheckSignerCached(const Hash32& hash, const crypto::Signature& sig, const crypto::Address& expected,
                         std::string_view what) {
  // Mirrors protocol::CheckSigner (protocol/types.cc) word for word.
  auto signer = RecoverAddressCached(protocol::SigningDigest(hash), sig);
  if (!signer.ok()) return PermissionDenied(std::string(what) + " signature invalid: " + signer.status().message());
  if (*signer != expected)
    return PermissionDenied(std::string(what) + " signature recovers to " + signer->ToHex() + ", expected " +
                            expected.ToHex());
  return Status::Ok();
}

void SetSignatureCacheCapacity(size_t entries) {
  Cache& c = TheCache();
  c.capacity.store(entries);
  for (Shard& shard : c.shards) {
    std::lock_guard<std::mutex> lock(shard.mu);
    const size_t per_shard = entries == 0 ? 0 : std::max<size_t>(1, entries / kShards);
    while (shard.order.size() > per_shard) {
      shard.map.erase(shard.order.front());
      shard.order.pop_front();
    }
  }
}

size_t SignatureCacheCapacity() { return TheCache().capacity.load(); }

SignatureCacheStats GetSignatureCacheStats() {
  Cache& c = TheCache();
  SignatureCacheStats s;
  s.hits = c.hits.load();
  s.misses = c.misses.load();
  for (Shard& shard : c.shards) {
    std::lock_guard<std::mutex> lock(shard.mu);
    s.entries += shard.map.size();
  }
  return s;
}

}  // namespace lucid::verify
