// Proposal building and checking (SelectBlockTxs, SimulateBlock) and CommitUnsigned, which
// the ABCI app (consensus/abci_app.h) uses for PrepareProposal / ProcessProposal / Commit.
#include <gtest/gtest.h>

#include "chain/app.h"
#include "chain_fixture.h"

namespace lucid::chain {
namespace {

using namespace lucid::chain::testing;

class ProposalTest : public ChainFixture {
 protected:
  BlockInput Next(std::vector<Bytes> txs) {
    AppInfo info = app_->Info();
    BlockInput in;
    in.height = info.height + 1;
    in.time_ms = info.last_time_ms + 1000;
    in.proposer = k_.validator.address();
    in.prev_hash = info.last_block_hash;
    in.txs = std::move(txs);
    return in;
  }
  static uint64_t Size(size_t n) { return n; }
};

TEST_F(ProposalTest, SelectKeepsOnlyTxsValidInOrder) {
  const Bytes ok0 = SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 10});
  const Bytes gap = SignTx(k_.alice, 5, TransferTx{k_.bob.address(), 10});       // nonce gap
  const Bytes ok1 = SignTx(k_.alice, 1, TransferTx{k_.bob.address(), 10});
  const Bytes dup = ok1;                                                          // replay within the block
  const Bytes broke = SignTx(k_.stranger, 0, TransferTx{k_.bob.address(), 10});  // no funds
  const Bytes junk = {1, 2, 3};
  BlockInput in = Next({ok0, gap, ok1, dup, broke, junk});
  auto kept = app_->SelectBlockTxs(in, 1 << 20, Size);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(*kept, (std::vector<size_t>{0, 2}));

  auto sim = app_->SimulateBlock(in);
  ASSERT_TRUE(sim.ok());
  ASSERT_EQ(sim->size(), 6u);
  EXPECT_EQ((*sim)[0].code, TxCode::kOk);
  EXPECT_EQ((*sim)[1].code, TxCode::kBadNonce);
  EXPECT_EQ((*sim)[2].code, TxCode::kOk);
  EXPECT_EQ((*sim)[3].code, TxCode::kBadNonce);
  EXPECT_NE((*sim)[4].code, TxCode::kOk);
  EXPECT_EQ((*sim)[5].code, TxCode::kMalformed);
  // Nothing was kept: the state is unchanged and the same block still finalizes.
  EXPECT_EQ(NextNonce(k_.alice), 0u);
  auto fin = app_->FinalizeBlock(in);
  ASSERT_TRUE(fin.ok());
  for (size_t i = 0; i < sim->size(); ++i) EXPECT_EQ(fin->results[i].code, (*sim)[i].code) << i;
}

TEST_F(ProposalTest, SelectRespectsTheByteBudgetAndSkipsDependentsOfADroppedTx) {
  const Bytes a0 = SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 10});
  const Bytes a1 = SignTx(k_.alice, 1, TransferTx{k_.bob.address(), 10});
  const Bytes b0 = SignTx(k_.bob, 0, TransferTx{k_.alice.address(), 10});
  // Budget for two txs: a0 and a1 fit; b0 does not.
  const uint64_t budget = a0.size() + a1.size() + b0.size() - 1;
  auto kept = app_->SelectBlockTxs(Next({a0, a1, b0}), budget, Size);
  ASSERT_TRUE(kept.ok());
  EXPECT_EQ(*kept, (std::vector<size_t>{0, 1}));
  // A skipped tx leaves the state alone: with room for one tx, a1 (nonce 1) after a skipped
  // a0 would fail, and b0 after a kept a0 is over the budget.
  auto kept2 = app_->SelectBlockTxs(Next({a1, a0, b0}), a0.size() + 1, Size);
  ASSERT_TRUE(kept2.ok());
  EXPECT_EQ(*kept2, (std::vector<size_t>{1}));
  EXPECT_EQ(app_->SelectBlockTxs(Next({a0, a1, b0}), 0, Size)->size(), 0u);
}

TEST_F(ProposalTest, BadBlockFieldsAreRefused) {
  BlockInput in = Next({});
  in.height += 1;
  EXPECT_FALSE(app_->SimulateBlock(in).ok());
  in = Next({});
  in.proposer = k_.stranger.address();
  EXPECT_EQ(app_->SimulateBlock(in).status().code(), Code::kPermissionDenied);
  in = Next({});
  in.time_ms = app_->Info().last_time_ms;
  EXPECT_FALSE(app_->SelectBlockTxs(in, 100, Size).ok());
}

TEST_F(ProposalTest, CommitUnsignedPersistsWithAZeroSignature) {
  EXPECT_EQ(app_->CommitUnsigned().code(), Code::kFailedPrecondition);  // nothing finalized
  const Bytes tx = SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 10});
  auto fin = app_->FinalizeBlock(Next({tx}));
  ASSERT_TRUE(fin.ok());
  ASSERT_TRUE(app_->CommitUnsigned().ok());
  EXPECT_EQ(app_->Info().height, 1u);
  EXPECT_EQ(app_->Info().last_block_hash, fin->header.Hash());
  auto block = app_->GetBlock(1);
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(block->header.signature, Signature{});
  EXPECT_EQ(block->header.header.Encode(), fin->header.Encode());
  Reopen();  // persisted
  EXPECT_EQ(app_->Info().height, 1u);
  EXPECT_EQ(NextNonce(k_.alice), 1u);
  EXPECT_EQ(app_->genesis().chain_id, kChainId);
}

// Checks that passed are memoised (chain/execute.cc); ones that failed are not, so a bad tx
// stays bad however often it is seen, and a good one keeps passing in every stage.
TEST_F(ProposalTest, RepeatedChecksKeepTheirOutcome) {
  Bytes bad = SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 10});
  bad[bad.size() - 3] ^= 0x40;
  const Bytes good = SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 10});
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(app_->CheckTx(bad).code, TxCode::kBadSignature);
    auto sim = app_->SimulateBlock(Next({bad, good}));
    ASSERT_TRUE(sim.ok());
    EXPECT_EQ((*sim)[0].code, TxCode::kBadSignature);
    EXPECT_EQ((*sim)[1].code, TxCode::kOk);
  }
  auto fin = app_->FinalizeBlock(Next({bad, good}));
  ASSERT_TRUE(fin.ok());
  EXPECT_EQ(fin->results[0].code, TxCode::kBadSignature);
  EXPECT_EQ(fin->results[1].code, TxCode::kOk);
}

}  // namespace
}  // namespace lucid::chain
