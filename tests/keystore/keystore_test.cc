#include "keystore/keystore.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <atomic>
#include <random>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace lucid::keystore {
namespace {

namespace fs = std::filesystem;

class KeystoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::random_device rd;
    home_ = fs::temp_directory_path() / ("lucid-keystore-test-" + std::to_string(rd()));
    fs::remove_all(home_);
  }
  void TearDown() override { fs::remove_all(home_); }
  fs::path home_;
};

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST_F(KeystoreTest, NewListGet) {
  Keystore ks(home_.string());
  auto empty = ks.List();
  ASSERT_TRUE(empty.ok()) << empty.status().ToString();
  EXPECT_TRUE(empty->empty());

  auto bob = ks.New("bob");
  ASSERT_TRUE(bob.ok()) << bob.status().ToString();
  auto alice = ks.New("alice");
  ASSERT_TRUE(alice.ok()) << alice.status().ToString();
  EXPECT_NE(alice->address, bob->address);

  auto list = ks.List();
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "alice");
  EXPECT_EQ((*list)[0].address, alice->address);
  EXPECT_EQ((*list)[1].name, "bob");

  auto key = ks.Get("alice");
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->address(), alice->address);

  // A second Keystore over the same home sees the same keys.
  Keystore again(home_.string());
  auto key2 = again.Get("alice");
  ASSERT_TRUE(key2.ok());
  EXPECT_EQ(key2->secret(), key->secret());
}

TEST_F(KeystoreTest, ImportKnownSecret) {
  Keystore ks(home_.string());
  // Well-known test key 0x...01: its address is the secp256k1 generator's.
  std::string secret = "0x0000000000000000000000000000000000000000000000000000000000000001";
  auto info = ks.Import("one", secret);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->address.ToHex(), "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf");
  auto key = ks.Get("one");
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(ToHex(key->secret()), secret.substr(2));
}

TEST_F(KeystoreTest, FileFormatAndMode0600) {
  Keystore ks(home_.string());
  auto info = ks.New("carol");
  ASSERT_TRUE(info.ok());
  struct stat st {};
  ASSERT_EQ(::stat(ks.KeyPath("carol").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  ASSERT_EQ(::stat(ks.dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700);
  auto j = nlohmann::json::parse(ReadFile(ks.KeyPath("carol")));
  EXPECT_EQ(j["name"], "carol");
  EXPECT_EQ(j["address"], info->address.ToHex());
  EXPECT_EQ(j["secret"].get<std::string>().size(), 64u);
  // No temp files left behind.
  size_t entries = 0;
  for (const auto& e : fs::directory_iterator(ks.dir())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
}

TEST_F(KeystoreTest, RefusesBadNames) {
  Keystore ks(home_.string());
  for (const std::string& bad : std::vector<std::string>{"", "a/b", "../x", "a.b", "with space", std::string(65, 'a'), "é"}) {
    auto r = ks.New(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(ks.Get(bad).status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_TRUE(ks.New(std::string(64, 'Z')).ok());
  EXPECT_TRUE(ks.New("a_b-C9").ok());
  EXPECT_FALSE(fs::exists(home_ / "x.json"));
}

TEST_F(KeystoreTest, RefusesOverwrite) {
  Keystore ks(home_.string());
  auto first = ks.New("dave");
  ASSERT_TRUE(first.ok());
  std::string before = ReadFile(ks.KeyPath("dave"));
  auto second = ks.New("dave");
  EXPECT_EQ(second.status().code(), Code::kAlreadyExists);
  auto imported = ks.Import("dave", std::string(63, '0') + "2");
  EXPECT_EQ(imported.status().code(), Code::kAlreadyExists);
  EXPECT_EQ(ReadFile(ks.KeyPath("dave")), before);
  EXPECT_EQ(ks.Get("dave")->address(), first->address);
}

TEST_F(KeystoreTest, ConcurrentCreatorsOneWins) {
  Keystore ks(home_.string());
  ASSERT_TRUE(ks.New("warmup").ok());  // directory exists
  std::vector<std::thread> threads;
  std::atomic<int> wins{0}, exists{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      auto r = ks.New("race");
      if (r.ok()) ++wins;
      else if (r.status().code() == Code::kAlreadyExists) ++exists;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(exists.load(), 7);
}

TEST_F(KeystoreTest, RefusesBadSecrets) {
  Keystore ks(home_.string());
  EXPECT_EQ(ks.Import("e", "zz").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ks.Import("e", "00ff").status().code(), Code::kInvalidArgument);        // short
  EXPECT_EQ(ks.Import("e", std::string(64, '0')).status().code(), Code::kInvalidArgument);  // zero
  EXPECT_EQ(ks.Import("e", std::string(64, 'f')).status().code(), Code::kInvalidArgument);  // >= order
  // Errors never echo the secret.
  auto r = ks.Import("e", "00112233445566778899aabbccddeeff");
  EXPECT_EQ(r.status().message().find("00112233"), std::string::npos);
  EXPECT_FALSE(fs::exists(ks.KeyPath("e")));
}

TEST_F(KeystoreTest, GetUnknownIsNotFound) {
  Keystore ks(home_.string());
  EXPECT_EQ(ks.Get("nobody").status().code(), Code::kNotFound);
}

TEST_F(KeystoreTest, TamperedFileIsRefused) {
  Keystore ks(home_.string());
  ASSERT_TRUE(ks.New("frank").ok());
  ASSERT_TRUE(ks.New("grace").ok());
  std::string path = ks.KeyPath("frank");
  auto j = nlohmann::json::parse(ReadFile(path));
  std::string secret = j["secret"];

  // Flip one hex digit of the secret: the stored address no longer matches.
  std::string flipped = secret;
  flipped[10] = flipped[10] == '0' ? '1' : '0';
  j["secret"] = flipped;
  { std::ofstream(path) << j.dump(); }
  auto r = ks.Get("frank");
  EXPECT_EQ(r.status().code(), Code::kDataLoss);
  EXPECT_EQ(r.status().message().find(flipped), std::string::npos);
  EXPECT_EQ(r.status().message().find(secret), std::string::npos);

  // A file renamed to another key's name is refused too.
  fs::copy_file(ks.KeyPath("grace"), home_ / "keys" / "henry.json");
  ::chmod((home_ / "keys" / "henry.json").c_str(), 0600);
  EXPECT_EQ(ks.Get("henry").status().code(), Code::kDataLoss);

  { std::ofstream(path) << "{not json"; }
  EXPECT_EQ(ks.Get("frank").status().code(), Code::kDataLoss);
}

TEST_F(KeystoreTest, RefusesFileReadableByOthers) {
  Keystore ks(home_.string());
  ASSERT_TRUE(ks.New("ivy").ok());
  ASSERT_EQ(::chmod(ks.KeyPath("ivy").c_str(), 0644), 0);
  EXPECT_EQ(ks.Get("ivy").status().code(), Code::kPermissionDenied);
  ASSERT_EQ(::chmod(ks.KeyPath("ivy").c_str(), 0600), 0);
  EXPECT_TRUE(ks.Get("ivy").ok());
}

TEST(DevKeys, DeterministicAndPinned) {
  auto a = DevKeys(3);
  auto b = DevKeys(3);
  ASSERT_EQ(a.size(), 3u);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].secret(), b[i].secret());
    EXPECT_EQ(a[i].secret(), crypto::PrivateKey::FromSeed("lucid-dev-key-" + std::to_string(i)).secret());
  }
  EXPECT_NE(a[0].address(), a[1].address());
  EXPECT_EQ(DevKeyName(2), "dev2");
  // Pinned: computed once with the venv's eth-account from sha256("lucid-dev-key-<i>").
  EXPECT_EQ(a[0].address().ToHex(), "0x02c43263d07e0298f3294692a93d05664f57f9e5");
  EXPECT_EQ(a[1].address().ToHex(), "0x1bd9112392cb063daf5cf88105dcc6a2246ee671");
}

}  // namespace
}  // namespace lucid::keystore
