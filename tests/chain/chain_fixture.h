// Test helpers for the chain: a temporary store, dev keys, tx builders and a block runner.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <random>
#include <string>

#include "chain/app.h"
#include "crypto/hash.h"
#include "store/kv_store.h"
#include "verify/verify.h"

namespace lucid::chain::testing {

using crypto::PrivateKey;

inline std::filesystem::path TempDir(std::string_view tag) {
  std::random_device rd;
  auto dir = std::filesystem::temp_directory_path() /
             (std::string("lucid_") + std::string(tag) + "_" + std::to_string(rd()) + std::to_string(rd()));
  std::filesystem::create_directories(dir);
  return dir;
}

inline constexpr std::string_view kChainId = "lucid-test-1";

struct Keys {
  PrivateKey alice = PrivateKey::FromSeed("alice");
  PrivateKey bob = PrivateKey::FromSeed("bob");
  PrivateKey node = PrivateKey::FromSeed("node");
  PrivateKey publisher = PrivateKey::FromSeed("publisher");
  PrivateKey validator = PrivateKey::FromSeed("validator");
  PrivateKey stranger = PrivateKey::FromSeed("stranger");
};

inline Genesis MakeGenesis(const Keys& k) {
  Genesis g;
  g.chain_id = std::string(kChainId);
  g.genesis_time_ms = 1000;
  g.params.tx_fee_per_byte = 1;
  g.params.min_node_stake = 1000;
  for (const auto* key : {&k.alice, &k.bob, &k.node, &k.publisher})
    g.accounts.push_back({key->address(), 1'000'000});
  g.validators = {k.validator.address()};
  return g;
}

inline Bytes SignTx(const PrivateKey& key, uint64_t nonce, TxBody body, std::string chain_id = std::string(kChainId),
                    uint64_t max_tx_fee = 1'000'000) {
  Tx tx;
  tx.chain_id = std::move(chain_id);
  tx.from = key.address();
  tx.nonce = nonce;
  tx.max_tx_fee = max_tx_fee;
  tx.body = std::move(body);
  return SignedTx::Sign(std::move(tx), key).Encode();
}

// Finalizes, signs with the validator key and commits one block.
inline FinalizedBlock RunBlock(Application& app, const PrivateKey& validator, std::vector<Bytes> txs) {
  AppInfo info = app.Info();
  BlockInput in;
  in.height = info.height + 1;
  in.time_ms = info.last_time_ms + 1000;
  in.proposer = validator.address();
  in.prev_hash = info.last_block_hash;
  in.txs = std::move(txs);
  auto fin = app.FinalizeBlock(in);
  EXPECT_TRUE(fin.ok()) << fin.status().ToString();
  if (!fin.ok()) return {};
  SignedHeader sh{fin->header, validator.Sign(SigningDigest(fin->header.Hash()))};
  Status s = app.Commit(sh);
  EXPECT_TRUE(s.ok()) << s.ToString();
  return *fin;
}

// A store + application under a fresh temporary directory, initialised with MakeGenesis.
class ChainFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("chain");
    Reopen();
    ASSERT_TRUE(app_->InitChain(MakeGenesis(k_)).ok());
  }
  void TearDown() override {
    app_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Reopen() {
    app_.reset();
    store_.reset();
    auto store = store::KvStore::Open(dir_.string());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(store).value();
    auto app = Application::Open(store_.get());
    ASSERT_TRUE(app.ok()) << app.status().ToString();
    app_ = std::move(app).value();
  }
  Account Acct(const PrivateKey& key) { return *app_->GetAccount(key.address()); }
  uint64_t Balance(const PrivateKey& key) { return Acct(key).balance; }
  // Runs a one-tx block and returns that tx's result.
  TxResult Run(Bytes tx) {
    auto block = RunBlock(*app_, k_.validator, {std::move(tx)});
    return block.results.empty() ? TxResult{TxCode::kMalformed, "no result", {}, {}} : block.results[0];
  }
  uint64_t NextNonce(const PrivateKey& key) { return Acct(key).nonce; }

  Keys k_;
  std::filesystem::path dir_;
  std::unique_ptr<store::KvStore> store_;
  std::unique_ptr<Application> app_;
};

}  // namespace lucid::chain::testing
