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
