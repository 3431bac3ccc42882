// The public dev keys work only on chains whose genesis sets dev_mode.
#include <gtest/gtest.h>

#include "chain_fixture.h"
#include "protocol/dev_keys.h"

namespace lucid::chain::testing {
namespace {

class DevModeTest : public ::testing::Test {
 protected:
  void Open(bool dev_mode) {
    dir_ = TempDir("devmode");
    auto store = store::KvStore::Open(dir_.string());
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    auto app = Application::Open(store_.get());
    ASSERT_TRUE(app.ok());
    app_ = std::move(app).value();
    Genesis g = MakeGenesis(k_);
    g.params.dev_mode = dev_mode;
    g.accounts.push_back({protocol::DevKey(0).address(), 1'000'000});
    ASSERT_TRUE(app_->InitChain(g).ok());
  }
  void TearDown() override {
    app_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  TxResult Transfer(const PrivateKey& from, const PrivateKey& to) {
    uint64_t nonce = app_->GetAccount(from.address())->nonce;
    auto block = RunBlock(*app_, k_.validator, {SignTx(from, nonce, TransferTx{to.address(), 5})});
    return block.results.at(0);
  }
  Keys k_;
  std::filesystem::path dir_;
  std::unique_ptr<store::KvStore> store_;
  std::unique_ptr<Application> app_;
};

TEST_F(DevModeTest, DevKeyRefusedOnAChainNotInDevMode) {
  Open(/*dev_mode=*/false);
  const uint64_t before = app_->GetAccount(protocol::DevKey(0).address())->balance;
  TxResult r = Transfer(protocol::DevKey(0), k_.bob);
  EXPECT_EQ(r.code, TxCode::kUnauthorized) << r.log;
  EXPECT_NE(r.log.find("dev key"), std::string::npos) << r.log;
  EXPECT_EQ(app_->GetAccount(protocol::DevKey(0).address())->balance, before);
  EXPECT_EQ(app_->GetAccount(protocol::DevKey(0).address())->nonce, 0u);
  // Ordinary keys still work.
  EXPECT_EQ(Transfer(k_.alice, k_.bob).code, TxCode::kOk);
}

TEST_F(DevModeTest, DevKeyAcceptedInDevMode) {
  Open(/*dev_mode=*/true);
  EXPECT_EQ(Transfer(protocol::DevKey(0), k_.bob).code, TxCode::kOk);
}

TEST(DevModeGenesisTest, DevValidatorRefusedWithoutDevMode) {
  auto dir = TempDir("devgenesis");
  {
    auto store = store::KvStore::Open(dir.string());
    ASSERT_TRUE(store.ok());
    auto app = Application::Open(store->get());
    ASSERT_TRUE(app.ok());
    Keys k;
    Genesis g = MakeGenesis(k);
    g.validators = {protocol::DevnetValidatorKey().address()};
    Status s = (*app)->InitChain(g);
    EXPECT_EQ(s.code(), Code::kPermissionDenied) << s.ToString();
    g.params.dev_mode = true;
    EXPECT_TRUE((*app)->InitChain(g).ok());
  }
  std::filesystem::remove_all(dir);
}

TEST(DevKeysTest, CoverTheDevnetKeysAndNothingElse) {
  EXPECT_TRUE(protocol::IsDevAddress(protocol::DevKey(0).address()));
  EXPECT_TRUE(protocol::IsDevAddress(protocol::DevKey(protocol::kDevKeyCount - 1).address()));
  EXPECT_TRUE(protocol::IsDevAddress(protocol::DevnetValidatorKey().address()));
  EXPECT_TRUE(protocol::IsDevAddress(protocol::DevnetNodeKey().address()));
  EXPECT_FALSE(protocol::IsDevAddress(PrivateKey::FromSeed("alice").address()));
  // Pinned: dev0 is the address the keystore tests and docs show.
  EXPECT_EQ(protocol::DevKey(0).address().ToHex(), "0x02c43263d07e0298f3294692a93d05664f57f9e5");
}

}  // namespace
}  // namespace lucid::chain::testing
