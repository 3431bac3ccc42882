// Key-value store on RocksDB. Writes go through WriteBatch and are atomic and synced
// (WAL fsync), so a kill -9 loses nothing that Write() returned for.
// Thread-safety: safe for concurrent readers and one writer (RocksDB's guarantees).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/bytes.h"

namespace lucid::store {

class WriteBatch {
 public:
  void Put(std::string key, Bytes value) { ops_.push_back({std::move(key), std::move(value), false}); }
  void Delete(std::string key) { ops_.push_back({std::move(key), {}, true}); }
  struct Op { std::string key; Bytes value; bool is_delete; };
  const std::vector<Op>& ops() const { return ops_; }
 private:
  std::vector<Op> ops_;
};

class KvStore {
 public:
  static Result<std::unique_ptr<KvStore>> Open(const std::string& path);
  ~KvStore();

  Result<std::optional<Bytes>> Get(std::string_view key) const;
  Status Write(const WriteBatch& batch);
  // Calls fn(key, value) for keys starting with prefix in byte order until it returns false.
  Status Scan(std::string_view prefix,
              const std::function<bool(std::string_view, ByteView)>& fn) const;

 private:
  KvStore() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lucid::store
