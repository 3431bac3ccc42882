#include "store/blob_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace lucid::store {
namespace {

namespace fs = std::filesystem;

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("lucid_blob_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(BlobStoreTest, PutGetRoundTripAtContentAddress) {
  BlobStore store(root_.string());
  const Bytes content = ToBytes("model bytes");
  auto cid = store.Put(content);
  ASSERT_TRUE(cid.ok()) << cid.status().ToString();
  EXPECT_EQ(*cid, crypto::Cid::Of(content));
  EXPECT_TRUE(store.Has(*cid));
  EXPECT_EQ(*store.Size(*cid), content.size());
  auto back = store.Get(*cid);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, content);
  EXPECT_TRUE(fs::is_regular_file(store.PathOf(*cid)));
  EXPECT_EQ(fs::path(store.PathOf(*cid)).filename().string(), cid->ToString());
  // Nothing but the blob is left in its directory (no temp files).
  int entries = 0;
  for (auto& e : fs::directory_iterator(fs::path(store.PathOf(*cid)).parent_path())) (void)e, ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(BlobStoreTest, EmptyBlob) {
  BlobStore store(root_.string());
  auto cid = store.Put({});
  ASSERT_TRUE(cid.ok());
  auto back = store.Get(*cid);
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->empty());
}

TEST_F(BlobStoreTest, PutIsIdempotent) {
  BlobStore store(root_.string());
  auto first = store.Put(ToBytes("same"));
  auto second = store.Put(ToBytes("same"));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(*first, *second);
  EXPECT_EQ(*store.Get(*first), ToBytes("same"));
}

TEST_F(BlobStoreTest, UnknownCidIsNotFound) {
  BlobStore store(root_.string());
  const crypto::Cid cid = crypto::Cid::Of(ToBytes("never stored"));
  EXPECT_FALSE(store.Has(cid));
  auto r = store.Get(cid);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find(cid.ToString()), std::string::npos);
  EXPECT_EQ(store.Size(cid).status().code(), Code::kNotFound);
}

TEST_F(BlobStoreTest, TamperedFileOnDiskIsDataLoss) {
  BlobStore store(root_.string());
  const Bytes content = ToBytes("weights weights weights");
  auto cid = store.Put(content);
  ASSERT_TRUE(cid.ok());
  {
    std::fstream f(store.PathOf(*cid), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3);
    f.put('X');
  }
  auto r = store.Get(*cid);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  EXPECT_NE(r.status().message().find(cid->ToString()), std::string::npos) << r.status().ToString();

  // Truncation is caught too.
  fs::resize_file(store.PathOf(*cid), 5);
  EXPECT_EQ(store.Get(*cid).status().code(), Code::kDataLoss);

  // Put repairs the damaged copy.
  ASSERT_TRUE(store.Put(content).ok());
  auto repaired = store.Get(*cid);
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  EXPECT_EQ(*repaired, content);
}

TEST_F(BlobStoreTest, OversizeRefusedAndNothingWritten) {
  BlobStore store(root_.string());
  // A view that claims to be too large; Put must refuse before touching its bytes.
  const uint8_t byte = 0;
  ByteView huge(&byte, BlobStore::kMaxBlobBytes + 1);
  auto r = store.Put(huge);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kOutOfRange);
  EXPECT_FALSE(fs::exists(root_));
}

// Hub audits (GET /hub/holds/CID) read ranges of the stored copy as stored.
TEST_F(BlobStoreTest, ReadRangeServesStoredBytesOnly) {
  BlobStore store(root_.string());
  Bytes content(10000);
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<uint8_t>(i * 7 + 3);
  auto cid = store.Put(content);
  ASSERT_TRUE(cid.ok());
  auto mid = store.ReadRange(*cid, 4000, 100);
  ASSERT_TRUE(mid.ok()) << mid.status().ToString();
  EXPECT_EQ(*mid, Bytes(content.begin() + 4000, content.begin() + 4100));
  auto tail = store.ReadRange(*cid, 9990, 4096);  // fewer at the end
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(*tail, Bytes(content.end() - 10, content.end()));
  auto at_end = store.ReadRange(*cid, 10000, 16);
  ASSERT_TRUE(at_end.ok());
  EXPECT_TRUE(at_end->empty());
  EXPECT_EQ(store.ReadRange(*cid, 10001, 16).status().code(), Code::kOutOfRange);
  const auto other = crypto::Cid::Of(ToBytes("never stored"));
  EXPECT_EQ(store.ReadRange(other, 0, 16).status().code(), Code::kNotFound);
  // A damaged copy answers with the damaged bytes: the auditor compares them and refuses them.
  {
    std::fstream f(store.PathOf(*cid), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(4050);
    f.put(static_cast<char>(content[4050] ^ 0xff));
  }
  auto damaged = store.ReadRange(*cid, 4000, 100);
  ASSERT_TRUE(damaged.ok());
  EXPECT_NE(*damaged, Bytes(content.begin() + 4000, content.begin() + 4100));
}

TEST_F(BlobStoreTest, ManyBlobsShardIntoDirectories) {
  BlobStore store(root_.string());
  std::vector<crypto::Cid> cids;
  for (int i = 0; i < 50; ++i) {
    auto cid = store.Put(ToBytes("blob " + std::to_string(i)));
    ASSERT_TRUE(cid.ok());
    cids.push_back(*cid);
  }
  for (int i = 0; i < 50; ++i) EXPECT_EQ(*store.Get(cids[i]), ToBytes("blob " + std::to_string(i)));
  int dirs = 0;
  for (auto& e : fs::directory_iterator(root_)) dirs += e.is_directory();
  EXPECT_GT(dirs, 10);
}

}  // namespace
}  // namespace lucid::store
