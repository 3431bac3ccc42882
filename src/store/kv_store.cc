#include "store/kv_store.h"

#include <rocksdb/cache.h>
#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>

#include <exception>

namespace lucid::store {

struct KvStore::Impl {
  std::unique_ptr<rocksdb::DB> db;
};

namespace {

Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return Status::Ok();
  std::string m = std::string(what) + ": " + s.ToString();
  if (s.IsNotFound()) return NotFound(m);
  if (s.IsCorruption()) return DataLoss(m);
  if (s.IsInvalidArgument()) return InvalidArgument(m);
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) return Unavailable(m);
  return Internal(m);
}

rocksdb::Slice ToSlice(ByteView b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
rocksdb::Slice ToSlice(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace

Result<std::unique_ptr<KvStore>> KvStore::Open(const std::string& path) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  // Bloom filters let reads of absent keys (a new request id, a receipt not stored yet: every
  // SubmitResult makes such reads) skip most tables. Index and filter blocks stay in the table
  // readers (RocksDB's default): putting them in the block cache made them thrash against data
  // blocks (GetReceipt p50 20 us -> 308 us at 1M receipts, settlement 4x slower;
  // docs/consensus.md "Soak").
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(32 << 20);
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  try {
    s = rocksdb::DB::Open(options, path, &raw);
  } catch (const std::exception& e) {
    return Internal("opening store at " + path + ": " + e.what());
  }
  RETURN_IF_ERROR(FromRocks(s, "opening store at " + path));
  std::unique_ptr<KvStore> store(new KvStore());
  store->impl_ = std::make_unique<Impl>();
  store->impl_->db.reset(raw);
  return store;
}

KvStore::~KvStore() = default;

Result<std::optional<Bytes>> KvStore::Get(std::string_view key) const {
  std::string value;
  rocksdb::Status s = impl_->db->Get(rocksdb::ReadOptions(), ToSlice(key), &value);
  if (s.IsNotFound()) return std::optional<Bytes>();
  RETURN_IF_ERROR(FromRocks(s, "reading key"));
  return std::optional<Bytes>(Bytes(value.begin(), value.end()));
}

Status KvStore::Write(const WriteBatch& batch) {
  rocksdb::WriteBatch rb;
  for (const auto& op : batch.ops()) {
    rocksdb::Status s = op.is_delete ? rb.Delete(ToSlice(op.key)) : rb.Put(ToSlice(op.key), ToSlice(op.value));
    RETURN_IF_ERROR(FromRocks(s, "building write batch"));
  }
  rocksdb::WriteOptions options;
  options.sync = true;  // fsync the WAL: a returned Write survives kill -9 and power loss
  return FromRocks(impl_->db->Write(options, &rb), "writing batch");
}

Status KvStore::Scan(std::string_view prefix, const std::function<bool(std::string_view, ByteView)>& fn) const {
  rocksdb::ReadOptions options;  // implicit snapshot: the scan sees one consistent state
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(options));
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    rocksdb::Slice key = it->key();
    if (!key.starts_with(ToSlice(prefix))) break;
    rocksdb::Slice value = it->value();
    if (!fn(std::string_view(key.data(), key.size()),
            ByteView(reinterpret_cast<const uint8_t*>(value.data()), value.size())))
      break;
  }
  return FromRocks(it->status(), "scanning prefix");
}

}  // namespace lucid::store
