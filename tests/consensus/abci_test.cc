// The ABCI app (request → chain::Application) and its socket server (framing, connections).
#include "consensus/abci_app.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "../chain/chain_fixture.h"
#include "api/json_views.h"
#include "consensus/abci_server.h"

namespace lucid::consensus {
namespace {

using namespace lucid::chain::testing;
using nlohmann::json;

std::string Str(ByteView b) { return std::string(b.begin(), b.end()); }
std::string Str(const Hash32& h) { return std::string(h.begin(), h.end()); }

class AbciTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("abci");
    Open();
    for (int i = 0; i < 4; ++i) pubkeys_.push_back(std::string(32, static_cast<char>('a' + i)));
  }
  void TearDown() override {
    app_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    app_.reset();
    auto a = AbciApp::Open((dir_ / "chain").string());
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    app_ = std::move(a).value();
    app_->set_log([](const std::string&) {});
  }
  abci::RequestInitChain InitReq() {
    abci::RequestInitChain req;
    req.set_chain_id(std::string(kChainId));
    req.mutable_time()->set_seconds(1'700'000'000);
    req.mutable_time()->set_nanos(500'000'000);
    json g = api::GenesisJson(MakeGenesis(k_));
    g.erase("validators");
    g.erase("genesis_time_ms");
    req.set_app_state_bytes(g.dump());
    req.set_initial_height(1);
    for (const std::string& pk : pubkeys_) {
      abci::ValidatorUpdate* v = req.add_validators();
      v->mutable_pub_key()->set_ed25519(pk);
      v->set_power(10);
    }
    return req;
  }
  std::string Proposer(int i) {
    crypto::Address a = CometAddress(ByteView(reinterpret_cast<const uint8_t*>(pubkeys_[i].data()), 32));
    return std::string(a.bytes.begin(), a.bytes.end());
  }
  template <typename Req>
  void FillBlock(Req& req, int64_t height, int64_t seconds, const std::vector<Bytes>& txs) {
    req.set_height(height);
    req.mutable_time()->set_seconds(seconds);
    req.set_proposer_address(Proposer(static_cast<int>(height % 4)));
    for (const Bytes& t : txs) req.add_txs(Str(t));
  }
  // FinalizeBlock + Commit; returns the app hash given to CometBFT.
  std::string Block(int64_t height, const std::vector<Bytes>& txs) {
    abci::RequestFinalizeBlock req;
    FillBlock(req, height, 1'700'000'000 + height, txs);
    auto res = app_->FinalizeBlock(req);
    EXPECT_TRUE(res.ok()) << res.status().ToString();
    EXPECT_TRUE(app_->Commit().ok());
    return res.ok() ? res->app_hash() : "";
  }

  Keys k_;
  std::filesystem::path dir_;
  std::unique_ptr<AbciApp> app_;
  std::vector<std::string> pubkeys_;
};

TEST_F(AbciTest, InitChainTakesCometValidatorsAndRepeatsIdempotently) {
  EXPECT_EQ(app_->Info({}).last_block_height(), 0);
  EXPECT_TRUE(app_->Info({}).last_block_app_hash().empty());
  auto res = app_->InitChain(InitReq());
  ASSERT_TRUE(res.ok()) << res.status().ToString();
  const chain::Genesis g = app_->WithApp([](const chain::Application& a) { return a.genesis(); });
  ASSERT_EQ(g.validators.size(), 4u);
  EXPECT_EQ(Str(ByteView(g.validators[1].bytes.data(), 20)), Proposer(1));
  EXPECT_EQ(g.genesis_time_ms, 1'700'000'000'500u - 1);
  const Hash32 genesis_hash = app_->WithApp([](const chain::Application& a) { return a.Info().app_hash; });
  EXPECT_EQ(res->app_hash(), Str(genesis_hash));
  EXPECT_EQ(app_->Info({}).last_block_app_hash(), Str(genesis_hash));
  // CometBFT repeats InitChain when the app restarts before block 1: same answer.
  Open();
  auto again = app_->InitChain(InitReq());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->app_hash(), res->app_hash());
  // A different genesis is refused.
  abci::RequestInitChain other = InitReq();
  other.mutable_validators()->RemoveLast();
  EXPECT_EQ(app_->InitChain(other).status().code(), Code::kAlreadyExists);
}

TEST_F(AbciTest, InitChainRefusesBadAppState) {
  abci::RequestInitChain req = InitReq();
  req.set_chain_id("other-chain");
  EXPECT_FALSE(app_->InitChain(req).ok());
  req = InitReq();
  req.set_app_state_bytes("{not json");
  EXPECT_FALSE(app_->InitChain(req).ok());
  req = InitReq();
  req.set_app_state_bytes("");
  EXPECT_FALSE(app_->InitChain(req).ok());
  req = InitReq();
  req.mutable_validators(0)->mutable_pub_key()->set_secp256k1(std::string(33, 'x'));
  EXPECT_FALSE(app_->InitChain(req).ok());
  // Handle() answers with an exception response, never a crash.
  abci::Request r;
  *r.mutable_init_chain() = req;
  EXPECT_TRUE(app_->Handle(r).has_exception());
}

TEST_F(AbciTest, CheckTxPrepareProcessFinalizeCommitInfo) {
  ASSERT_TRUE(app_->InitChain(InitReq()).ok());
  const Bytes t0 = SignTx(k_.alice, 0, chain::TransferTx{k_.bob.address(), 10});
  const Bytes t1 = SignTx(k_.alice, 1, chain::TransferTx{k_.bob.address(), 10});
  const Bytes bad_sig = [&] {
    Bytes b = SignTx(k_.bob, 0, chain::TransferTx{k_.alice.address(), 10});
    b[b.size() - 5] ^= 1;
    return b;
  }();
  const Bytes junk = {0xff, 0x00, 0x13};

  abci::RequestCheckTx ct;
  ct.set_tx(Str(t0));
  EXPECT_EQ(app_->CheckTx(ct).code(), 0u);
  ct.set_tx(Str(t0));
  EXPECT_EQ(app_->CheckTx(ct).code(), static_cast<uint32_t>(chain::TxCode::kBadNonce));  // already pending
  ct.set_tx(Str(junk));
  auto refused = app_->CheckTx(ct);
  EXPECT_EQ(refused.code(), static_cast<uint32_t>(chain::TxCode::kMalformed));
  EXPECT_EQ(refused.codespace(), "lucid");
  ct.set_tx(Str(bad_sig));
  EXPECT_NE(app_->CheckTx(ct).code(), 0u);

  abci::RequestPrepareProposal pp;
  FillBlock(pp, 1, 1'700'000'001, {t0, junk, t1, bad_sig, t1});
  pp.set_max_tx_bytes(1 << 20);
  auto prepared = app_->PrepareProposal(pp);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  ASSERT_EQ(prepared->txs_size(), 2);
  EXPECT_EQ(prepared->txs(0), Str(t0));
  EXPECT_EQ(prepared->txs(1), Str(t1));
  // max_tx_bytes counts CometBFT's proto size per tx (tag + uvarint length + bytes).
  pp.set_max_tx_bytes(static_cast<int64_t>(t0.size() + 2));
  EXPECT_EQ(app_->PrepareProposal(pp)->txs_size(), 0);
  pp.set_max_tx_bytes(static_cast<int64_t>(t0.size() + 3));
  EXPECT_EQ(app_->PrepareProposal(pp)->txs_size(), 1);

  abci::RequestProcessProposal good, bad, wrong_height, unknown_proposer;
  FillBlock(good, 1, 1'700'000'001, {t0, t1});
  FillBlock(bad, 1, 1'700'000'001, {t0, junk});
  FillBlock(wrong_height, 2, 1'700'000'001, {});
  FillBlock(unknown_proposer, 1, 1'700'000'001, {});
  unknown_proposer.set_proposer_address(std::string(20, '\x01'));
  EXPECT_EQ(app_->ProcessProposal(good).status(), abci::ResponseProcessProposal::ACCEPT);
  EXPECT_EQ(app_->ProcessProposal(bad).status(), abci::ResponseProcessProposal::REJECT);
  EXPECT_EQ(app_->ProcessProposal(wrong_height).status(), abci::ResponseProcessProposal::REJECT);
  EXPECT_EQ(app_->ProcessProposal(unknown_proposer).status(), abci::ResponseProcessProposal::REJECT);

  abci::RequestFinalizeBlock fb;
  FillBlock(fb, 1, 1'700'000'001, {t0, t1, junk});
  fb.mutable_time()->set_nanos(987'654'321);
  auto fin = app_->FinalizeBlock(fb);
  ASSERT_TRUE(fin.ok()) << fin.status().ToString();
  ASSERT_EQ(fin->tx_results_size(), 3);
  EXPECT_EQ(fin->tx_results(0).code(), 0u);
  EXPECT_EQ(fin->tx_results(2).code(), static_cast<uint32_t>(chain::TxCode::kMalformed));
  EXPECT_EQ(fin->tx_results(0).events(0).type(), "lucid.tx");
  EXPECT_EQ(app_->Info({}).last_block_height(), 0);  // not committed yet
  ASSERT_TRUE(app_->Commit().ok());
  EXPECT_EQ(app_->Commit().status().code(), Code::kFailedPrecondition);  // no second Commit

  // The app hash is the Lucid header's hash; the header holds the CometBFT block's fields.
  auto block = app_->WithApp([](const chain::Application& a) { return a.GetBlock(1); });
  ASSERT_TRUE(block.ok());
  const protocol::BlockHeader& h = block->header.header;
  EXPECT_EQ(fin->app_hash(), Str(h.Hash()));
  EXPECT_EQ(h.time_ms, 1'700'000'001'987u);
  EXPECT_EQ(Str(ByteView(h.proposer.bytes.data(), 20)), Proposer(1));
  EXPECT_EQ(h.tx_count, 3u);
  EXPECT_EQ(app_->Info({}).last_block_height(), 1);
  EXPECT_EQ(app_->Info({}).last_block_app_hash(), fin->app_hash());

  // Restart: Info answers the committed block (CometBFT's handshake).
  Open();
  EXPECT_EQ(app_->Info({}).last_block_height(), 1);
  EXPECT_EQ(app_->Info({}).last_block_app_hash(), fin->app_hash());
  // Same-millisecond block times still strictly increase.
  abci::RequestFinalizeBlock same;
  FillBlock(same, 2, 1'700'000'001, {});
  same.mutable_time()->set_nanos(987'000'000);
  auto fin2 = app_->FinalizeBlock(same);
  ASSERT_TRUE(fin2.ok()) << fin2.status().ToString();
  ASSERT_TRUE(app_->Commit().ok());
  EXPECT_EQ(app_->WithApp([](const chain::Application& a) { return a.Info().last_time_ms; }), 1'700'000'001'988u);
}

// FinalizeBlock reuses ProcessProposal's execution only for the very same block.
TEST_F(AbciTest, FinalizeAfterProcessProposalMatchesAFreshExecution) {
  ASSERT_TRUE(app_->InitChain(InitReq()).ok());
  const Bytes t0 = SignTx(k_.alice, 0, chain::TransferTx{k_.bob.address(), 10});
  const Bytes t1 = SignTx(k_.alice, 1, chain::TransferTx{k_.bob.address(), 20});
  const Bytes u0 = SignTx(k_.bob, 0, chain::TransferTx{k_.alice.address(), 5});
  abci::RequestProcessProposal b1, b2;
  FillBlock(b1, 1, 1'700'000'001, {t0, t1});
  FillBlock(b2, 1, 1'700'000'001, {u0});
  ASSERT_EQ(app_->ProcessProposal(b1).status(), abci::ResponseProcessProposal::ACCEPT);
  ASSERT_EQ(app_->ProcessProposal(b2).status(), abci::ResponseProcessProposal::ACCEPT);  // a later round
  abci::RequestFinalizeBlock f1;
  FillBlock(f1, 1, 1'700'000'001, {t0, t1});  // the decided block is b1
  auto fin = app_->FinalizeBlock(f1);
  ASSERT_TRUE(fin.ok());
  ASSERT_EQ(fin->tx_results_size(), 2);
  ASSERT_TRUE(app_->Commit().ok());
  auto block = app_->WithApp([](const chain::Application& a) { return a.GetBlock(1); });
  ASSERT_TRUE(block.ok());
  EXPECT_EQ(block->header.header.tx_count, 2u);
  EXPECT_EQ(fin->app_hash(), Str(block->header.header.Hash()));
  EXPECT_EQ(app_->WithApp([&](const chain::Application& a) { return a.GetAccount(k_.bob.address())->nonce; }), 0u);

  // Same block processed then finalized on a second app from the same genesis: same hash.
  const std::string h1 = fin->app_hash();
  app_.reset();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  Open();
  ASSERT_TRUE(app_->InitChain(InitReq()).ok());
  ASSERT_EQ(app_->ProcessProposal(b1).status(), abci::ResponseProcessProposal::ACCEPT);
  auto again = app_->FinalizeBlock(f1);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->app_hash(), h1);
  // And without ProcessProposal at all (a replayed block).
  app_.reset();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  Open();
  ASSERT_TRUE(app_->InitChain(InitReq()).ok());
  EXPECT_EQ(app_->FinalizeBlock(f1)->app_hash(), h1);
}

TEST_F(AbciTest, QueryPaths) {
  ASSERT_TRUE(app_->InitChain(InitReq()).ok());
  Block(1, {SignTx(k_.alice, 0, chain::TransferTx{k_.bob.address(), 10})});
  abci::RequestQuery q;
  q.set_path("/account/" + k_.bob.address().ToHex());
  auto r = app_->Query(q);
  ASSERT_EQ(r.code(), 0u) << r.log();
  EXPECT_EQ(json::parse(r.value())["balance"], 1'000'010u);
  EXPECT_EQ(r.height(), 1);
  q.set_path("/block/1");
  r = app_->Query(q);
  ASSERT_EQ(r.code(), 0u) << r.log();
  EXPECT_EQ(json::parse(r.value())["txs"].size(), 1u);
  q.set_path("/status");
  EXPECT_EQ(json::parse(app_->Query(q).value())["height"], 1u);
  q.set_path("/genesis");
  EXPECT_EQ(json::parse(app_->Query(q).value())["chain_id"], kChainId);
  q.set_path("/receipt/" + std::string(64, '0'));
  EXPECT_EQ(app_->Query(q).code(), static_cast<uint32_t>(chain::TxCode::kNotFound));
  // Settlement state (docs/settlement.md): none yet, answered as not found or empty lists.
  for (const std::string& path : {"/request/" + std::string(64, '0'), "/challenge/" + std::string(64, '0'),
                                 std::string("/feed/prices"), std::string("/workflow/1")}) {
    q.set_path(path);
    EXPECT_EQ(app_->Query(q).code(), static_cast<uint32_t>(chain::TxCode::kNotFound)) << path;
  }
  q.set_path("/pending/" + k_.bob.address().ToHex());
  r = app_->Query(q);
  ASSERT_EQ(r.code(), 0u) << r.log();
  EXPECT_EQ(json::parse(r.value())["requests"], json::array());
  q.set_path("/challenges/" + k_.bob.address().ToHex());
  r = app_->Query(q);
  ASSERT_EQ(r.code(), 0u) << r.log();
  EXPECT_EQ(json::parse(r.value())["challenges"], json::array());
  q.set_path("/workflow/x");
  EXPECT_NE(app_->Query(q).code(), 0u);
  q.set_path("/account/zz");
  EXPECT_NE(app_->Query(q).code(), 0u);
  q.set_path("/nope");
  EXPECT_NE(app_->Query(q).code(), 0u);
  q.set_path("/status");
  q.set_height(7);
  EXPECT_NE(app_->Query(q).code(), 0u);
}

TEST_F(AbciTest, SnapshotsEchoFlushAnswered) {
  abci::Request r;
  r.mutable_list_snapshots();
  EXPECT_TRUE(app_->Handle(r).has_list_snapshots());
  r.mutable_echo()->set_message("hi");
  EXPECT_EQ(app_->Handle(r).echo().message(), "hi");
  r.mutable_flush();
  EXPECT_TRUE(app_->Handle(r).has_flush());
  r.mutable_offer_snapshot();
  EXPECT_EQ(app_->Handle(r).offer_snapshot().result(), abci::ResponseOfferSnapshot::REJECT);
  abci::Request empty;
  EXPECT_TRUE(app_->Handle(empty).has_exception());
}

// Random and mutated bytes as txs and as whole requests: every one gets an answer, nothing
// crashes, and the chain still commits blocks afterwards.
TEST_F(AbciTest, ArbitraryBytesNeverCrash) {
  std::mt19937_64 rng(7);
  auto random_bytes = [&](size_t max) {
    std::string s(rng() % (max + 1), '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  };
  // Before InitChain too.
  for (int i = 0; i < 200; ++i) {
    abci::Request r;
    if (r.ParseFromString(random_bytes(64))) (void)app_->Handle(r);
  }
  ASSERT_TRUE(app_->InitChain(InitReq()).ok());
  const Bytes valid = SignTx(k_.alice, 0, chain::TransferTx{k_.bob.address(), 10});
  std::vector<std::string> txs;
  for (int i = 0; i < 400; ++i) {
    std::string t = Str(valid);
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) t[rng() % t.size()] ^= static_cast<char>(1 + rng() % 255);
    if (rng() % 4 == 0) t.resize(rng() % t.size());
    txs.push_back(t);
    txs.push_back(random_bytes(300));
  }
  for (const std::string& t : txs) {
    abci::Request r;
    r.mutable_check_tx()->set_tx(t);
    r.mutable_check_tx()->set_type(rng() % 2 ? abci::RECHECK : abci::NEW);
    ASSERT_TRUE(app_->Handle(r).has_check_tx());
    abci::Request q;
    q.mutable_query()->set_path(t);
    ASSERT_TRUE(app_->Handle(q).has_query());
  }
  std::vector<Bytes> block;
  for (size_t i = 0; i < 100; ++i) block.emplace_back(txs[i].begin(), txs[i].end());
  block.push_back(valid);
  abci::RequestProcessProposal pp;
  FillBlock(pp, 1, 1'700'000'001, block);
  (void)app_->ProcessProposal(pp);
  abci::RequestPrepareProposal prep;
  FillBlock(prep, 1, 1'700'000'001, block);
  prep.set_max_tx_bytes(1 << 20);
  auto prepared = app_->PrepareProposal(prep);
  ASSERT_TRUE(prepared.ok());
  ASSERT_EQ(prepared->txs_size(), 1);  // only the one valid tx survives
  EXPECT_EQ(prepared->txs(0), Str(valid));
  Block(1, block);  // a block of mostly garbage still finalizes and commits
  EXPECT_EQ(app_->Info({}).last_block_height(), 1);
  EXPECT_EQ(app_->WithApp([&](const chain::Application& a) { return a.GetAccount(k_.alice.address())->nonce; }), 1u);
}

// ---- socket server ----

int ConnectUnix(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.data(), path.size());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void SendRaw(int fd, const std::string& bytes) { ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), (ssize_t)bytes.size()); }

// Reads one delimited response; false on EOF.
bool ReadResponse(int fd, abci::Response& res) {
  uint64_t len = 0;
  for (int shift = 0;; shift += 7) {
    uint8_t b;
    if (::recv(fd, &b, 1, MSG_WAITALL) != 1) return false;
    len |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) break;
  }
  std::string body(len, '\0');
  if (len && ::recv(fd, body.data(), len, MSG_WAITALL) != (ssize_t)len) return false;
  return res.ParseFromString(body);
}

TEST_F(AbciTest, ServerAnswersInOrderOnConcurrentConnectionsAndDropsMalformedFrames) {
  ASSERT_TRUE(app_->InitChain(InitReq()).ok());
  const std::string sock = (dir_ / "abci.sock").string();
  AbciServer server(app_.get(), {"unix://" + sock});
  server.set_log([](const std::string&) {});
  ASSERT_TRUE(server.Start().ok());
  struct stat st{};
  ASSERT_EQ(::stat(sock.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);  // only this user may connect

  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int c = 0; c < 4; ++c) {
    threads.emplace_back([&, c] {
      int fd = ConnectUnix(sock);
      ASSERT_GE(fd, 0);
      std::string frames;
      for (int i = 0; i < 50; ++i) {
        abci::Request r;
        r.mutable_echo()->set_message("c" + std::to_string(c) + "-" + std::to_string(i));
        AppendDelimited(r.SerializeAsString(), frames);
        abci::Request info;
        info.mutable_info();
        AppendDelimited(info.SerializeAsString(), frames);
      }
      abci::Request flush;
      flush.mutable_flush();
      AppendDelimited(flush.SerializeAsString(), frames);
      SendRaw(fd, frames);  // pipelined, as CometBFT does
      for (int i = 0; i < 50; ++i) {
        abci::Response res;
        ASSERT_TRUE(ReadResponse(fd, res));
        ASSERT_EQ(res.echo().message(), "c" + std::to_string(c) + "-" + std::to_string(i));
        ASSERT_TRUE(ReadResponse(fd, res));
        ASSERT_TRUE(res.has_info());
      }
      abci::Response res;
      ASSERT_TRUE(ReadResponse(fd, res));
      EXPECT_TRUE(res.has_flush());
      ::close(fd);
      ++good;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 4);

  // Malformed frames close only their own connection.
  int keep = ConnectUnix(sock);
  for (const std::string& bad : {std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11),  // varint > 10 bytes
                                 std::string("\x05\xff\xff\xff\xff\xff", 6),                       // not a Request
                                 std::string("\xff\xff\xff\xff\x0f", 5)}) {                        // 4 GiB frame
    int fd = ConnectUnix(sock);
    SendRaw(fd, bad);
    abci::Response res;
    EXPECT_FALSE(ReadResponse(fd, res));  // closed
    ::close(fd);
  }
  abci::Request echo;
  echo.mutable_echo()->set_message("still here");
  std::string frame;
  AppendDelimited(echo.SerializeAsString(), frame);
  SendRaw(keep, frame);
  abci::Response res;
  ASSERT_TRUE(ReadResponse(keep, res));
  EXPECT_EQ(res.echo().message(), "still here");
  ::close(keep);
  server.Stop();
}

TEST_F(AbciTest, ServerListensOnTcp) {
  AbciServer server(app_.get(), {"tcp://127.0.0.1:0"});
  auto port = server.Start();
  ASSERT_TRUE(port.ok()) << port.status().ToString();
  EXPECT_GT(*port, 0);
  AbciServer bad(app_.get(), {"http://127.0.0.1:1"});
  EXPECT_FALSE(bad.Start().ok());
  server.Stop();
}

}  // namespace
}  // namespace lucid::consensus
