#include "store/kv_store.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <map>
#include <filesystem>
#include <random>
#include <thread>

namespace lucid::store {
namespace {

namespace fs = std::filesystem;

class KvStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("lucid_kv_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<KvStore> OpenOrDie() {
    auto db = KvStore::Open(dir_.string());
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    return db.ok() ? std::move(db).value() : nullptr;
  }
  fs::path dir_;
};

Bytes B(std::string_view s) { return ToBytes(s); }

TEST_F(KvStoreTest, MissingKeyIsEmptyOptional) {
  auto db = OpenOrDie();
  auto v = db->Get("nope");
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->has_value());
}

TEST_F(KvStoreTest, PersistsAcrossReopen) {
  {
    auto db = OpenOrDie();
    WriteBatch batch;
    batch.Put("a", B("1"));
    batch.Put("b", B("2"));
    ASSERT_TRUE(db->Write(batch).ok());
    WriteBatch del;
    del.Delete("b");
    ASSERT_TRUE(db->Write(del).ok());
  }
  auto db = OpenOrDie();
  auto a = db->Get("a");
  ASSERT_TRUE(a.ok() && a->has_value());
  EXPECT_EQ(**a, B("1"));
  auto b = db->Get("b");
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_value());
}

TEST_F(KvStoreTest, BatchAppliesInOrderAsOneUnit) {
  auto db = OpenOrDie();
  WriteBatch batch;
  batch.Put("k", B("first"));
  batch.Delete("k");
  batch.Put("k", B("last"));
  batch.Put("other", B("x"));
  ASSERT_TRUE(db->Write(batch).ok());
  EXPECT_EQ(**db->Get("k"), B("last"));
  EXPECT_EQ(**db->Get("other"), B("x"));
}

TEST_F(KvStoreTest, ScanVisitsPrefixInByteOrderAndStops) {
  auto db = OpenOrDie();
  WriteBatch batch;
  for (std::string key : {"p/b", "p/a", "p/\xff", "p/c", "q/a", "o/z", "p"}) batch.Put(key, B(key));
  ASSERT_TRUE(db->Write(batch).ok());
  std::vector<std::string> seen;
  ASSERT_TRUE(db->Scan("p/", [&](std::string_view k, ByteView v) {
                  EXPECT_EQ(AsString(v), k);
                  seen.emplace_back(k);
                  return true;
                }).ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"p/a", "p/b", "p/c", "p/\xff"}));
  seen.clear();
  ASSERT_TRUE(db->Scan("p/", [&](std::string_view k, ByteView) {
                  seen.emplace_back(k);
                  return seen.size() < 2;
                }).ok());
  EXPECT_EQ(seen.size(), 2u);
  seen.clear();
  ASSERT_TRUE(db->Scan("none/", [&](std::string_view k, ByteView) {
                  seen.emplace_back(k);
                  return true;
                }).ok());
  EXPECT_TRUE(seen.empty());
}

TEST_F(KvStoreTest, SecondOpenOfSameDirectoryIsRefused) {
  auto db = OpenOrDie();
  auto again = KvStore::Open(dir_.string());
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find(dir_.string()), std::string::npos) << again.status().ToString();
}

// A child writes batches of kKeys keys (all carrying the batch number) in a loop and is
// SIGKILLed at a random moment; every batch must be wholly present or wholly absent, and
// each batch the child reported as written (through a pipe) must be there.
TEST_F(KvStoreTest, KillDuringWritesLeavesWholeBatches) {
  constexpr int kKeys = 8;
  std::random_device rd;
  for (int round = 0; round < 3; ++round) {
    fs::remove_all(dir_);
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(fds[0]);
      auto db = KvStore::Open(dir_.string());
      if (!db.ok()) ::_exit(2);
      for (uint32_t n = 0;; ++n) {
        WriteBatch batch;
        for (int k = 0; k < kKeys; ++k) {
          Bytes value(64 + n % 512, static_cast<uint8_t>(n));
          value.insert(value.begin(), reinterpret_cast<uint8_t*>(&n), reinterpret_cast<uint8_t*>(&n) + 4);
          batch.Put("batch/" + std::to_string(n) + "/" + std::to_string(k), std::move(value));
        }
        if (!(*db)->Write(batch).ok()) ::_exit(3);
        if (::write(fds[1], &n, sizeof n) != sizeof n) ::_exit(4);
      }
    }
    ::close(fds[1]);
    // Wait for the first acknowledged batch, then kill at a random moment after it.
    uint32_t n = 0;
    int64_t acknowledged = ::read(fds[0], &n, sizeof n) == sizeof n ? int64_t{n} : -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(rd() % 300));
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with " << WEXITSTATUS(status);
    while (::read(fds[0], &n, sizeof n) == sizeof n) acknowledged = n;
    ::close(fds[0]);

    auto db = OpenOrDie();
    ASSERT_NE(db, nullptr);
    std::map<uint32_t, int> keys_per_batch;
    ASSERT_TRUE(db->Scan("batch/", [&](std::string_view key, ByteView value) {
                    uint32_t batch_no = std::stoul(std::string(key.substr(6)));
                    uint32_t stored = 0;
                    EXPECT_GE(value.size(), 4u);
                    std::memcpy(&stored, value.data(), 4);
                    EXPECT_EQ(stored, batch_no) << key;
                    keys_per_batch[batch_no]++;
                    return true;
                  }).ok());
    ASSERT_GE(acknowledged, 0) << "child acknowledged no batch";
    for (int64_t b = 0; b <= acknowledged; ++b)
      EXPECT_EQ(keys_per_batch[static_cast<uint32_t>(b)], kKeys) << "acknowledged batch " << b << " incomplete";
    for (auto [batch_no, count] : keys_per_batch) EXPECT_EQ(count, kKeys) << "torn batch " << batch_no;
    // At most one batch beyond the last acknowledged one (written, ack not sent yet).
    EXPECT_LE(static_cast<int64_t>(keys_per_batch.rbegin()->first), acknowledged + 1);
  }
}

}  // namespace
}  // namespace lucid::store
