#include "chain/app.h"

#include <gtest/gtest.h>

#include <limits>

#include "chain/state.h"
#include "chain_fixture.h"

namespace lucid::chain {
namespace {

using namespace lucid::chain::testing;

// ---- genesis ----

TEST(GenesisTest, InitChainSetsHeightZeroAndGenesisAppHash) {
  Keys k;
  auto dir = TempDir("genesis");
  auto store = store::KvStore::Open(dir.string());
  ASSERT_TRUE(store.ok());
  auto app = Application::Open(store->get());
  ASSERT_TRUE(app.ok());
  EXPECT_FALSE((*app)->initialized());
  Genesis g = MakeGenesis(k);
  ASSERT_TRUE((*app)->InitChain(g).ok());
  AppInfo info = (*app)->Info();
  EXPECT_EQ(info.chain_id, kChainId);
  EXPECT_EQ(info.height, 0u);
  EXPECT_EQ(info.app_hash, crypto::TaggedSha256("lucid:apphash:v1", EncodeGenesis(g)));
  EXPECT_EQ((*app)->GetAccount(k.alice.address())->balance, 1'000'000u);
  EXPECT_EQ((*app)->GetAccount(k.stranger.address())->balance, 0u);
  // Order of accounts does not change the genesis hash (the encoding sorts them).
  Genesis reordered = g;
  std::reverse(reordered.accounts.begin(), reordered.accounts.end());
  EXPECT_EQ(GenesisAppHash(reordered), info.app_hash);
  // A second InitChain is refused.
  EXPECT_EQ((*app)->InitChain(g).code(), Code::kAlreadyExists);
  app->reset();
  store->reset();
  std::filesystem::remove_all(dir);
}

TEST(GenesisTest, InvalidGenesisRefusedAndNothingWritten) {
  Keys k;
  auto dir = TempDir("genesis_bad");
  auto store = store::KvStore::Open(dir.string());
  ASSERT_TRUE(store.ok());
  auto app = Application::Open(store->get());
  ASSERT_TRUE(app.ok());
  Genesis no_chain = MakeGenesis(k);
  no_chain.chain_id = "";
  EXPECT_EQ((*app)->InitChain(no_chain).code(), Code::kInvalidArgument);
  Genesis no_validators = MakeGenesis(k);
  no_validators.validators.clear();
  EXPECT_EQ((*app)->InitChain(no_validators).code(), Code::kInvalidArgument);
  Genesis dup = MakeGenesis(k);
  dup.accounts.push_back(dup.accounts[0]);
  Status s = (*app)->InitChain(dup);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("duplicate"), std::string::npos);
  Genesis overflow = MakeGenesis(k);
  overflow.accounts[0].balance = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ((*app)->InitChain(overflow).code(), Code::kOutOfRange);
  EXPECT_FALSE((*app)->initialized());
  EXPECT_EQ((*app)->GetAccount(k.alice.address())->balance, 0u);
  app->reset();
  store->reset();
  std::filesystem::remove_all(dir);
}

// ---- transfers and tx admission ----

class ChainTest : public ChainFixture {};

TEST_F(ChainTest, TransferMovesAmountAndPaysFeeToProposer) {
  Bytes tx = SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 250});
  TxResult r = Run(tx);
  ASSERT_EQ(r.code, TxCode::kOk) << r.log;
  EXPECT_EQ(r.tx_hash, crypto::Sha256(tx));
  const uint64_t fee = tx.size();  // tx_fee_per_byte = 1
  EXPECT_EQ(Balance(k_.alice), 1'000'000u - 250 - fee);
  EXPECT_EQ(Balance(k_.bob), 1'000'250u);
  EXPECT_EQ(Balance(k_.validator), fee);
  EXPECT_EQ(Acct(k_.alice).nonce, 1u);
  // A transfer to a fresh address creates the account.
  ASSERT_EQ(Run(SignTx(k_.alice, 1, TransferTx{k_.stranger.address(), 5})).code, TxCode::kOk);
  EXPECT_EQ(Balance(k_.stranger), 5u);
}

TEST_F(ChainTest, FailedTransfersChangeNothing) {
  const Account alice = Acct(k_.alice), bob = Acct(k_.bob);
  TxResult low = Run(SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 2'000'000}));
  EXPECT_EQ(low.code, TxCode::kInsufficientFunds);
  EXPECT_NE(low.log.find("balance"), std::string::npos);
  TxResult zero = Run(SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 0}));
  EXPECT_EQ(zero.code, TxCode::kInvalidField);
  // Fee above the sender's max_tx_fee.
  TxResult capped = Run(SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 1}, std::string(kChainId), 10));
  EXPECT_EQ(capped.code, TxCode::kFeeTooHigh);
  // A never-funded sender.
  EXPECT_EQ(Run(SignTx(k_.stranger, 0, TransferTx{k_.bob.address(), 1})).code, TxCode::kUnknownAccount);
  EXPECT_EQ(Acct(k_.alice).balance, alice.balance);
  EXPECT_EQ(Acct(k_.alice).nonce, alice.nonce);
  EXPECT_EQ(Acct(k_.bob).balance, bob.balance);
  EXPECT_EQ(Balance(k_.validator), 0u);  // no fee is taken from a failed tx
}

TEST_F(ChainTest, BadSignatureWrongChainReplayMalformedRefused) {
  const Account alice = Acct(k_.alice);
  // Flip one bit of the signature.
  Tx tx;
  tx.chain_id = std::string(kChainId);
  tx.from = k_.alice.address();
  tx.nonce = 0;
  tx.max_tx_fee = 1'000'000;
  tx.body = TransferTx{k_.bob.address(), 1};
  SignedTx signed_tx = SignedTx::Sign(tx, k_.alice);
  signed_tx.signature[10] ^= 0x01;
  EXPECT_EQ(Run(signed_tx.Encode()).code, TxCode::kBadSignature);
  // Signed by someone else than `from`.
  SignedTx forged = SignedTx::Sign(tx, k_.bob);
  EXPECT_EQ(Run(forged.Encode()).code, TxCode::kBadSignature);
  // A body field changed after signing: splice the amount byte of a twin tx (amount 2) into
  // the amount-1 tx, keeping its signature.
  Bytes one = SignedTx::Sign(tx, k_.alice).Encode();
  Tx twin = tx;
  twin.body = TransferTx{k_.bob.address(), 2};
  Bytes two = SignedTx::Sign(twin, k_.alice).Encode();
  ASSERT_EQ(one.size(), two.size());
  size_t first_diff = 0;
  while (first_diff < one.size() && one[first_diff] == two[first_diff]) ++first_diff;
  ASSERT_LT(first_diff, one.size() - 65);  // the differing byte is in the body, not the signature
  one[first_diff] = two[first_diff];
  EXPECT_EQ(Run(one).code, TxCode::kBadSignature);
  EXPECT_EQ(Run(SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 1}, "other-chain")).code, TxCode::kWrongChain);
  EXPECT_EQ(Run(Bytes{1, 2, 3}).code, TxCode::kMalformed);
  Bytes trailing = SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 1});
  trailing.push_back(0);
  EXPECT_EQ(Run(trailing).code, TxCode::kMalformed);
  EXPECT_EQ(Acct(k_.alice).balance, alice.balance);
  EXPECT_EQ(Acct(k_.alice).nonce, 0u);

  Bytes good = SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 1});
  ASSERT_EQ(Run(good).code, TxCode::kOk);
  const Account after = Acct(k_.alice);
  TxResult replay = Run(good);
  EXPECT_EQ(replay.code, TxCode::kBadNonce);
  EXPECT_NE(replay.log.find("nonce"), std::string::npos);
  EXPECT_EQ(Run(SignTx(k_.alice, 5, TransferTx{k_.bob.address(), 1})).code, TxCode::kBadNonce);  // gap
  EXPECT_EQ(Acct(k_.alice).balance, after.balance);
  EXPECT_EQ(Acct(k_.alice).nonce, 1u);
}

TEST_F(ChainTest, OversizedTxRefused) {
  CreateRepoTx big;
  big.name = "big";
  big.description = std::string(5 << 20, 'x');  // above max_tx_bytes (4 MiB)
  TxResult too_big = Run(SignTx(k_.alice, 0, big, std::string(kChainId), 1ull << 40));
  EXPECT_EQ(too_big.code, TxCode::kMalformed);
  EXPECT_NE(too_big.log.find("max_tx_bytes"), std::string::npos) << too_big.log;
  // A 1.5 MB tx (a large zkml proof's size) passes the size check (and is then refused by
  // the description's own limit).
  big.description = std::string(3 << 19, 'x');
  TxResult fits = Run(SignTx(k_.alice, 0, big, std::string(kChainId), 1ull << 40));
  EXPECT_EQ(fits.log.find("max_tx_bytes"), std::string::npos) << fits.log;
}

TEST(ChainOverflowTest, TxFeeOverflowIsAnErrorNotAWrap) {
  Keys k;
  auto dir = TempDir("overflow");
  auto store = store::KvStore::Open(dir.string());
  ASSERT_TRUE(store.ok());
  auto app = Application::Open(store->get());
  ASSERT_TRUE(app.ok());
  Genesis g = MakeGenesis(k);
  g.params.tx_fee_per_byte = std::numeric_limits<uint64_t>::max() / 8;
  ASSERT_TRUE((*app)->InitChain(g).ok());
  auto block = RunBlock(**app, k.validator, {SignTx(k.alice, 0, TransferTx{k.bob.address(), 1})});
  ASSERT_EQ(block.results.size(), 1u);
  EXPECT_EQ(block.results[0].code, TxCode::kOverflow);
  EXPECT_EQ((*app)->GetAccount(k.alice.address())->balance, 1'000'000u);
  app->reset();
  store->reset();
  std::filesystem::remove_all(dir);
}

TEST_F(ChainTest, CheckTxTracksPendingNoncesAndBalances) {
  EXPECT_EQ(app_->CheckTx(SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 600'000})).code, TxCode::kOk);
  // Same nonce again: refused against the check state.
  EXPECT_EQ(app_->CheckTx(SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 1})).code, TxCode::kBadNonce);
  // The next nonce, but the pending transfer already spent most of the balance.
  EXPECT_EQ(app_->CheckTx(SignTx(k_.alice, 1, TransferTx{k_.bob.address(), 600'000})).code,
            TxCode::kInsufficientFunds);
  // CheckTx never touches committed state.
  EXPECT_EQ(Balance(k_.alice), 1'000'000u);
  EXPECT_EQ(app_->Info().height, 0u);
  // After a commit the check state is reset to committed state.
  RunBlock(*app_, k_.validator, {});
  EXPECT_EQ(app_->CheckTx(SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 1})).code, TxCode::kOk);
}

// ---- repos ----

TEST_F(ChainTest, RepoCreatePublishAndResolve) {
  CreateRepoTx create{"digits-mlp", "A small MLP", "image-classification", "MIT", {"mnist", "onnx"}};
  ASSERT_EQ(Run(SignTx(k_.publisher, NextNonce(k_.publisher), create)).code, TxCode::kOk);
  EXPECT_EQ(Run(SignTx(k_.alice, NextNonce(k_.alice), create)).code, TxCode::kAlreadyExists);
  for (std::string bad : std::vector<std::string>{"Digits", "-x", "", "a b", "a/b", ".x"}) {
    CreateRepoTx c{bad, "", "", "", {}};
    EXPECT_EQ(Run(SignTx(k_.alice, NextNonce(k_.alice), c)).code, TxCode::kInvalidField) << bad;
  }
  CreateRepoTx too_many_tags{"tags", "", "", "", std::vector<std::string>(17, "t")};
  EXPECT_EQ(Run(SignTx(k_.alice, NextNonce(k_.alice), too_many_tags)).code, TxCode::kInvalidField);
  // Over-long fields are refused by the protocol decoder already (kMalformed).
  CreateRepoTx long_name{std::string(65, 'a'), "", "", "", {}};
  EXPECT_EQ(Run(SignTx(k_.alice, NextNonce(k_.alice), long_name)).code, TxCode::kMalformed);
  CreateRepoTx long_desc{"long", std::string(64 * 1024 + 1, 'd'), "", "", {}};
  EXPECT_EQ(Run(SignTx(k_.alice, NextNonce(k_.alice), long_desc)).code, TxCode::kMalformed);
  EXPECT_TRUE(app_->ListRepos("")->size() == 1u);

  Cid v1 = Cid::Of(ToBytes("manifest 1.0"));
  Cid v11 = Cid::Of(ToBytes("manifest 1.1"));
  PublishVersionTx pub{"digits-mlp", 1, 0, v1, 7, std::nullopt};
  TxResult not_owner = Run(SignTx(k_.alice, NextNonce(k_.alice), pub));
  EXPECT_EQ(not_owner.code, TxCode::kUnauthorized);
  EXPECT_EQ(Run(SignTx(k_.alice, NextNonce(k_.alice), PublishVersionTx{"nope", 1, 0, v1, 0, std::nullopt})).code,
            TxCode::kNotFound);
  ASSERT_EQ(Run(SignTx(k_.publisher, NextNonce(k_.publisher), pub)).code, TxCode::kOk);
  // Same version, lower version, and a reused manifest are refused.
  EXPECT_EQ(Run(SignTx(k_.publisher, NextNonce(k_.publisher), PublishVersionTx{"digits-mlp", 1, 0, v11, 7, std::nullopt})).code,
            TxCode::kInvalidField);
  EXPECT_EQ(Run(SignTx(k_.publisher, NextNonce(k_.publisher), PublishVersionTx{"digits-mlp", 0, 9, v11, 7, std::nullopt})).code,
            TxCode::kInvalidField);
  EXPECT_EQ(Run(SignTx(k_.publisher, NextNonce(k_.publisher), PublishVersionTx{"digits-mlp", 2, 0, v1, 7, std::nullopt})).code,
            TxCode::kAlreadyExists);
  ASSERT_EQ(Run(SignTx(k_.publisher, NextNonce(k_.publisher), PublishVersionTx{"digits-mlp", 1, 1, v11, 9, std::nullopt})).code,
            TxCode::kOk);

  auto repo = app_->GetRepo("digits-mlp");
  ASSERT_TRUE(repo.ok());
  EXPECT_EQ(repo->owner, k_.publisher.address());
  ASSERT_EQ(repo->versions.size(), 2u);
  auto latest = app_->ResolveModel("digits-mlp");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->manifest, v11);
  EXPECT_EQ(latest->price, 9u);
  auto exact = app_->ResolveModel("digits-mlp@1.0");
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->manifest, v1);
  EXPECT_EQ(app_->ResolveModel("digits-mlp@3.0").status().code(), Code::kNotFound);
  EXPECT_EQ(app_->ResolveModel("digits-mlp@x").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(app_->ResolveModel("missing").status().code(), Code::kNotFound);

  EXPECT_EQ(app_->ListRepos("mlp")->size(), 1u);
  EXPECT_EQ(app_->ListRepos("mnist")->size(), 1u);         // tag
  EXPECT_EQ(app_->ListRepos("classification")->size(), 1u);  // task
  EXPECT_EQ(app_->ListRepos("")->size(), 1u);
  EXPECT_TRUE(app_->ListRepos("llama")->empty());
}

// ---- nodes ----

TEST_F(ChainTest, NodeRegistration) {
  auto reg = [&](uint64_t stake, uint32_t modes, std::string endpoint) {
    return Run(SignTx(k_.node, NextNonce(k_.node), RegisterNodeTx{stake, modes, std::move(endpoint)}));
  };
  const uint32_t vanilla = ModeBit(Mode::kVanilla);
  EXPECT_EQ(reg(999, vanilla, "http://n:1").code, TxCode::kInvalidField);  // below min stake
  EXPECT_EQ(reg(1000, 0, "http://n:1").code, TxCode::kInvalidField);
  EXPECT_EQ(reg(1000, vanilla, "").code, TxCode::kInvalidField);
  EXPECT_EQ(reg(1000, vanilla, std::string(257, 'e')).code, TxCode::kMalformed);  // decoder limit
  EXPECT_EQ(reg(5'000'000, vanilla, "http://n:1").code, TxCode::kInsufficientFunds);
  EXPECT_EQ(app_->GetNode(k_.node.address()).status().code(), Code::kNotFound);

  const uint64_t before = Balance(k_.node);
  Bytes tx = SignTx(k_.node, NextNonce(k_.node), RegisterNodeTx{1500, vanilla, "http://n:1"});
  ASSERT_EQ(Run(tx).code, TxCode::kOk);
  EXPECT_EQ(Balance(k_.node), before - 1500 - tx.size());
  auto node = app_->GetNode(k_.node.address());
  ASSERT_TRUE(node.ok());
  EXPECT_EQ(node->stake, 1500u);
  EXPECT_EQ(node->endpoint, "http://n:1");
  // Re-registering updates the endpoint and adds stake.
  ASSERT_EQ(reg(0, vanilla, "http://n:2").code, TxCode::kOk);
  ASSERT_EQ(reg(10, vanilla, "http://n:2").code, TxCode::kOk);
  node = app_->GetNode(k_.node.address());
  EXPECT_EQ(node->stake, 1510u);
  EXPECT_EQ(node->endpoint, "http://n:2");
  EXPECT_EQ(app_->ListNodes()->size(), 1u);
}

// ---- persistence, staging, determinism ----

TEST_F(ChainTest, ReopenAfterCommitGivesSameState) {
  RunBlock(*app_, k_.validator, {SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 77})});
  RunBlock(*app_, k_.validator, {});
  const AppInfo info = app_->Info();
  const Account alice = Acct(k_.alice);
  Reopen();
  ASSERT_TRUE(app_->initialized());
  const AppInfo reopened = app_->Info();
  EXPECT_EQ(reopened.height, 2u);
  EXPECT_EQ(reopened.app_hash, info.app_hash);
  EXPECT_EQ(reopened.last_block_hash, info.last_block_hash);
  EXPECT_EQ(reopened.last_time_ms, info.last_time_ms);
  EXPECT_EQ(Acct(k_.alice).balance, alice.balance);
  EXPECT_EQ(app_->params().min_node_stake, 1000u);
  auto block = app_->GetBlock(2);
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(block->header.header.Hash(), info.last_block_hash);
  EXPECT_EQ(app_->GetBlock(1)->results.size(), 1u);
  EXPECT_EQ(app_->GetBlock(3).status().code(), Code::kNotFound);
  // The chain continues from the reopened state.
  RunBlock(*app_, k_.validator, {SignTx(k_.alice, 1, TransferTx{k_.bob.address(), 1})});
  EXPECT_EQ(app_->Info().height, 3u);
  EXPECT_EQ(app_->GetBlock(3)->header.header.prev_hash, info.last_block_hash);
}

TEST_F(ChainTest, FinalizeWithoutCommitLeavesCommittedStateUntouched) {
  const AppInfo info = app_->Info();
  BlockInput in{1, 5000, k_.validator.address(), info.last_block_hash,
                {SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 10})}};
  auto fin = app_->FinalizeBlock(in);
  ASSERT_TRUE(fin.ok());
  EXPECT_EQ(fin->results[0].code, TxCode::kOk);
  EXPECT_EQ(Balance(k_.alice), 1'000'000u);
  EXPECT_EQ(app_->Info().height, 0u);
  EXPECT_EQ(app_->Info().app_hash, info.app_hash);
  Reopen();
  EXPECT_EQ(app_->Info().height, 0u);
  EXPECT_EQ(Balance(k_.alice), 1'000'000u);
  EXPECT_EQ(app_->Commit(SignedHeader{}).code(), Code::kFailedPrecondition);  // nothing staged after reopen
}

TEST_F(ChainTest, CommitChecksHeaderAndSigner) {
  const AppInfo info = app_->Info();
  BlockInput in{1, 5000, k_.validator.address(), info.last_block_hash, {}};
  auto fin = app_->FinalizeBlock(in);
  ASSERT_TRUE(fin.ok());
  // Header altered after finalization.
  BlockHeader altered = fin->header;
  altered.app_hash[0] ^= 1;
  EXPECT_EQ(app_->Commit({altered, k_.validator.Sign(SigningDigest(altered.Hash()))}).code(),
            Code::kInvalidArgument);
  // Signed by a key that is not the proposer.
  EXPECT_EQ(app_->Commit({fin->header, k_.alice.Sign(SigningDigest(fin->header.Hash()))}).code(),
            Code::kPermissionDenied);
  // Signature bit flipped.
  Signature sig = k_.validator.Sign(SigningDigest(fin->header.Hash()));
  sig[3] ^= 1;
  EXPECT_EQ(app_->Commit({fin->header, sig}).code(), Code::kPermissionDenied);
  EXPECT_EQ(app_->Info().height, 0u);
  ASSERT_TRUE(app_->Commit({fin->header, k_.validator.Sign(SigningDigest(fin->header.Hash()))}).ok());
  EXPECT_EQ(app_->Info().height, 1u);

  // Height gaps, wrong prev hash, non-increasing time and non-validator proposers are refused.
  const AppInfo now = app_->Info();
  EXPECT_EQ(app_->FinalizeBlock({3, 9000, k_.validator.address(), now.last_block_hash, {}}).status().code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(app_->FinalizeBlock({2, 9000, k_.validator.address(), Hash32{}, {}}).status().code(),
            Code::kInvalidArgument);
  EXPECT_EQ(app_->FinalizeBlock({2, now.last_time_ms, k_.validator.address(), now.last_block_hash, {}})
                .status()
                .code(),
            Code::kInvalidArgument);
  EXPECT_EQ(app_->FinalizeBlock({2, 9000, k_.alice.address(), now.last_block_hash, {}}).status().code(),
            Code::kPermissionDenied);
}

TEST_F(ChainTest, HeaderRootsCommitToTxsAndAppHashChains) {
  Bytes t1 = SignTx(k_.alice, 0, TransferTx{k_.bob.address(), 1});
  Bytes t2 = SignTx(k_.bob, 0, TransferTx{k_.alice.address(), 2});
  const Hash32 prev_app = app_->Info().app_hash;
  auto block = RunBlock(*app_, k_.validator, {t1, t2});
  EXPECT_EQ(block.header.txs_root, crypto::MerkleRoot({crypto::MerkleLeafHash(crypto::Sha256(t1)),
                                                       crypto::MerkleLeafHash(crypto::Sha256(t2))}));
  EXPECT_EQ(block.header.receipts_root, crypto::MerkleRoot({}));
  EXPECT_NE(block.header.app_hash, prev_app);
  EXPECT_EQ(app_->Info().app_hash, block.header.app_hash);
  // An empty block still moves the app hash (chained), with an empty write set.
  auto empty = RunBlock(*app_, k_.validator, {});
  EXPECT_EQ(empty.header.app_hash, NextAppHash(block.header.app_hash, {}));
}

// Two applications fed the same blocks agree; a different tx order gives a different hash.
TEST(DeterminismTest, SameBlocksSameHashDifferentOrderDifferentHash) {
  Keys k;
  struct Instance {
    std::filesystem::path dir = TempDir("det");
    std::unique_ptr<store::KvStore> store;
    std::unique_ptr<Application> app;
  };
  auto make = [&]() {
    auto inst = std::make_unique<Instance>();
    inst->store = std::move(store::KvStore::Open(inst->dir.string())).value();
    inst->app = std::move(Application::Open(inst->store.get())).value();
    EXPECT_TRUE(inst->app->InitChain(MakeGenesis(k)).ok());
    return inst;
  };
  auto a = make(), b = make(), c = make();
  Bytes t1 = SignTx(k.alice, 0, TransferTx{k.bob.address(), 100});
  Bytes t2 = SignTx(k.bob, 0, TransferTx{k.alice.address(), 100});
  Bytes t3 = SignTx(k.alice, 1, CreateRepoTx{"m", "", "", "", {}});
  auto ha = RunBlock(*a->app, k.validator, {t1, t2}).header;
  auto hb = RunBlock(*b->app, k.validator, {t1, t2}).header;
  auto hc = RunBlock(*c->app, k.validator, {t2, t1}).header;
  EXPECT_EQ(ha.app_hash, hb.app_hash);
  EXPECT_EQ(ha.Hash(), hb.Hash());
  EXPECT_NE(ha.txs_root, hc.txs_root);
  EXPECT_NE(ha.Hash(), hc.Hash());  // the block commits to the order
  EXPECT_EQ(RunBlock(*a->app, k.validator, {t3}).header.app_hash,
            RunBlock(*b->app, k.validator, {t3}).header.app_hash);
  // Order that changes the outcome: alice's nonce-1 tx before her nonce-0 tx fails.
  auto d = make(), e = make();
  auto hd = RunBlock(*d->app, k.validator, {t1, t3}).header;
  auto he = RunBlock(*e->app, k.validator, {t3, t1}).header;
  EXPECT_NE(hd.app_hash, he.app_hash);
  for (auto* inst : {a.get(), b.get(), c.get(), d.get(), e.get()}) {
    inst->app.reset();
    inst->store.reset();
    std::filesystem::remove_all(inst->dir);
  }
}

}  // namespace
}  // namespace lucid::chain
