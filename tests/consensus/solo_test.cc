#include "consensus/solo.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <thread>

#include "../chain/chain_fixture.h"

namespace lucid::consensus {
namespace {

using namespace lucid::chain;
using namespace lucid::chain::testing;

class SoloTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = TempDir("solo"); }
  void TearDown() override {
    producer_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open(SoloConfig config = {}) {
    producer_.reset();
    if (!config.clock_ms) config.clock_ms = [this] { return clock_ms_.fetch_add(1000); };
    auto p = SoloProducer::Open(dir_.string(), MakeGenesis(k_), k_.validator, config);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    producer_ = std::move(p).value();
  }
  AppInfo Info() { return producer_->WithApp([](const Application& app) { return app.Info(); }); }
  Account Acct(const crypto::PrivateKey& key) {
    return producer_->WithApp([&](const Application& app) { return *app.GetAccount(key.address()); });
  }

  Keys k_;
  std::filesystem::path dir_;
  std::atomic<uint64_t> clock_ms_{1'000'000};
  std::unique_ptr<SoloProducer> producer_;
};

TEST_F(SoloTest, ProducesSignedChainedBlocks) {
  Open();
  Hash32 prev{};
  for (uint64_t h = 1; h <= 3; ++h) {
    auto block = producer_->ProduceBlock();
    ASSERT_TRUE(block.ok()) << block.status().ToString();
    const BlockHeader& header = block->header.header;
    EXPECT_EQ(header.height, h);
    EXPECT_EQ(header.prev_hash, prev);
    EXPECT_EQ(header.proposer, k_.validator.address());
    auto signer = crypto::RecoverAddress(SigningDigest(header.Hash()), block->header.signature);
    ASSERT_TRUE(signer.ok());
    EXPECT_EQ(*signer, k_.validator.address());
    EXPECT_TRUE(block->results.empty());
    prev = header.Hash();
  }
  EXPECT_EQ(Info().height, 3u);
  EXPECT_EQ(Info().last_block_hash, prev);
}

TEST_F(SoloTest, TxsIncludedInArrivalOrder) {
  Open();
  std::vector<Bytes> txs = {SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 1}),
                            SignTx(k_.bob, 0, TransferTx{k_.alice.address(), 2}),
                            SignTx(k_.alice, 1, TransferTx{k_.bob.address(), 3})};
  for (const auto& tx : txs) {
    auto r = producer_->BroadcastTx(tx);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->code, TxCode::kOk) << r->log;
    EXPECT_EQ(r->tx_hash, crypto::Sha256(tx));
  }
  EXPECT_EQ(producer_->mempool_size(), 3u);
  auto block = producer_->ProduceBlock();
  ASSERT_TRUE(block.ok());
  ASSERT_EQ(block->results.size(), 3u);
  for (size_t i = 0; i < txs.size(); ++i) {
    EXPECT_EQ(block->results[i].tx_hash, crypto::Sha256(txs[i]));
    EXPECT_EQ(block->results[i].code, TxCode::kOk);
  }
  EXPECT_EQ(producer_->mempool_size(), 0u);
  auto stored = producer_->WithApp([](const Application& app) { return app.GetBlock(1); });
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->txs, txs);
  EXPECT_EQ(Acct(k_.alice).nonce, 2u);
}

TEST_F(SoloTest, TxRejectedAtCheckTxNeverEntersABlock) {
  SoloConfig config;
  config.max_mempool_txs = 2;
  Open(config);
  auto bad = producer_->BroadcastTx(SignTx(k_.alice, 7, TransferTx{k_.bob.address(), 1}));  // nonce gap
  ASSERT_TRUE(bad.ok());
  EXPECT_EQ(bad->code, TxCode::kBadNonce);
  auto wrong_chain = producer_->BroadcastTx(SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 1}, "other"));
  EXPECT_EQ(wrong_chain->code, TxCode::kWrongChain);
  EXPECT_EQ(producer_->mempool_size(), 0u);

  Bytes good = SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 1});
  ASSERT_EQ(producer_->BroadcastTx(good)->code, TxCode::kOk);
  EXPECT_EQ(producer_->BroadcastTx(good).status().code(), Code::kAlreadyExists);
  ASSERT_EQ(producer_->BroadcastTx(SignTx(k_.bob, 0, TransferTx{k_.alice.address(), 1}))->code, TxCode::kOk);
  EXPECT_EQ(producer_->BroadcastTx(SignTx(k_.node, 0, TransferTx{k_.alice.address(), 1})).status().code(),
            Code::kUnavailable);  // mempool full

  auto block = producer_->ProduceBlock();
  ASSERT_TRUE(block.ok());
  ASSERT_EQ(block->results.size(), 2u);
  EXPECT_EQ(block->results[0].tx_hash, crypto::Sha256(good));
  // A CheckTx refusal returns at once from SubmitAndWait, without a block.
  auto refused = producer_->SubmitAndWait(SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 1}),
                                          std::chrono::milliseconds(10));
  ASSERT_TRUE(refused.ok());
  EXPECT_EQ(refused->code, TxCode::kBadNonce);
  EXPECT_EQ(producer_->ProduceBlock()->results.size(), 0u);
}

TEST_F(SoloTest, RestartResumesFromCommittedHeight) {
  Open();
  ASSERT_EQ(producer_->BroadcastTx(SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 5}))->code, TxCode::kOk);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(producer_->ProduceBlock().ok());
  const AppInfo before = Info();
  const uint64_t bob = Acct(k_.bob).balance;
  Open();  // closes the first producer and its store, reopens
  const AppInfo after = Info();
  EXPECT_EQ(after.height, 3u);
  EXPECT_EQ(after.app_hash, before.app_hash);
  EXPECT_EQ(after.last_block_hash, before.last_block_hash);
  EXPECT_EQ(Acct(k_.bob).balance, bob);
  auto next = producer_->ProduceBlock();
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->header.header.height, 4u);
  EXPECT_EQ(next->header.header.prev_hash, before.last_block_hash);
  // A store of another chain is refused.
  producer_.reset();
  Genesis other = MakeGenesis(k_);
  other.chain_id = "other-chain";
  EXPECT_EQ(SoloProducer::Open(dir_.string(), other, k_.validator).status().code(), Code::kFailedPrecondition);
}

TEST_F(SoloTest, ProducerThreadMakesBlocksAndSubmitAndWaitReturnsTheResult) {
  SoloConfig config;
  config.block_time = std::chrono::milliseconds(20);
  config.clock_ms = nullptr;  // wall clock
  Open(config);
  ASSERT_TRUE(producer_->Start().ok());
  EXPECT_EQ(producer_->Start().code(), Code::kFailedPrecondition);
  Bytes tx = SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 42});
  auto r = producer_->SubmitAndWait(tx, std::chrono::seconds(10));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->code, TxCode::kOk);
  EXPECT_EQ(r->tx_hash, crypto::Sha256(tx));
  EXPECT_EQ(Acct(k_.bob).balance, 1'000'042u);
  // Empty blocks keep coming, so time moves.
  const uint64_t h = Info().height;
  const uint64_t t = Info().last_time_ms;
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  EXPECT_GT(Info().height, h);
  EXPECT_GT(Info().last_time_ms, t);
  producer_->Stop();
  const uint64_t stopped = Info().height;
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(Info().height, stopped);
}

TEST_F(SoloTest, SubmitAndWaitTimesOutWithoutBlocks) {
  Open();
  auto r = producer_->SubmitAndWait(SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 1}),
                                    std::chrono::milliseconds(30));
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(producer_->mempool_size(), 1u);  // still pending; the next block takes it
  EXPECT_EQ(producer_->ProduceBlock()->results.size(), 1u);
}

// Replays every stored block into a fresh application and checks the chain links.
void CheckChainConsistent(const std::filesystem::path& dir, const Keys& k, uint64_t* height_out) {
  auto store = store::KvStore::Open(dir.string());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto app = Application::Open(store->get());
  ASSERT_TRUE(app.ok());
  const AppInfo info = (*app)->Info();
  *height_out = info.height;
  // Killed before InitChain was committed (slow start-up, e.g. under ASan): an empty store,
  // which the next start initializes from the genesis. Nothing else may be in it.
  if (!(*app)->initialized()) {
    EXPECT_EQ(info.height, 0u);
    EXPECT_EQ((*app)->GetBlock(1).status().code(), Code::kNotFound);
    return;
  }

  auto replay_dir = TempDir("replay");
  auto replay_store = std::move(store::KvStore::Open(replay_dir.string())).value();
  auto replay = std::move(Application::Open(replay_store.get())).value();
  ASSERT_TRUE(replay->InitChain(MakeGenesis(k)).ok());

  Hash32 prev{};
  for (uint64_t h = 1; h <= info.height; ++h) {
    auto block = (*app)->GetBlock(h);
    ASSERT_TRUE(block.ok()) << "block " << h << ": " << block.status().ToString();
    const BlockHeader& header = block->header.header;
    ASSERT_EQ(header.height, h);
    ASSERT_EQ(header.prev_hash, prev) << "block " << h;
    auto fin = replay->FinalizeBlock({h, header.time_ms, header.proposer, header.prev_hash, block->txs});
    ASSERT_TRUE(fin.ok()) << fin.status().ToString();
    ASSERT_EQ(fin->header.Encode(), header.Encode()) << "replayed header differs at " << h;
    ASSERT_TRUE(replay->Commit(block->header).ok());
    prev = header.Hash();
  }
  EXPECT_EQ((*app)->GetBlock(info.height + 1).status().code(), Code::kNotFound);
  EXPECT_EQ(info.last_block_hash, prev);
  EXPECT_EQ(replay->Info().app_hash, info.app_hash);
  EXPECT_EQ(replay->GetAccount(k.bob.address())->balance, (*app)->GetAccount(k.bob.address())->balance);
  replay.reset();
  replay_store.reset();
  std::filesystem::remove_all(replay_dir);
}

TEST_F(SoloTest, KillNineAtRandomTimesLeavesAConsistentChain) {
  std::mt19937 rng(std::random_device{}());
  uint64_t last_height = 0;
  for (int round = 0; round < 5; ++round) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      execl(SOLO_CRASH_CHILD, SOLO_CRASH_CHILD, dir_.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 400));
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "child exited early with status " << WEXITSTATUS(status);
    uint64_t height = 0;
    CheckChainConsistent(dir_, k_, &height);
    if (HasFatalFailure()) return;
    EXPECT_GE(height, last_height);
    last_height = height;
  }
  EXPECT_GT(last_height, 0u);
  // A producer resumes after the last crash at last + 1.
  Open();
  EXPECT_EQ(Info().height, last_height);
  auto next = producer_->ProduceBlock();
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_EQ(next->header.header.height, last_height + 1);
}

}  // namespace
}  // namespace lucid::consensus
