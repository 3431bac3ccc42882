// Hub replication on chain (docs/ipfs.md "Replication"): AnnouncePinsTx registers a bonded hub,
// records its pins of published versions and retires it. Balances are checked to the unit,
// every refusal is checked to change nothing (its block's write set is empty), and the state
// survives a restart of the application on the same store.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "chain/app.h"
#include "chain/replication.h"
#include "chain/state.h"
#include "chain_fixture.h"
#include "codec/codec.h"

namespace lucid::chain {
namespace {

using namespace lucid::chain::testing;

constexpr uint64_t kBond = 5000;
constexpr uint64_t kReplicas = 2;
const std::string kPeer1 = "12D3KooWHubOnePeerId0123456789abcdefABCDEF";
const std::string kPeer2 = "QmHubTwoPeerIdXyZ0123456789abcdefGHIJKL";

struct HubKeys {
  PrivateKey one = PrivateKey::FromSeed("hub one");
  PrivateKey two = PrivateKey::FromSeed("hub two");
  PrivateKey three = PrivateKey::FromSeed("hub three");
};

Genesis ReplicationGenesis(const Keys& k, const HubKeys& h) {
  Genesis g = MakeGenesis(k);
  g.params.replication.min_replicas = kReplicas;
  g.params.replication.hub_bond = kBond;
  for (const auto* key : {&h.one, &h.two}) g.accounts.push_back({key->address(), 1'000'000});  // three: unfunded
  return g;
}

AnnouncePinsTx Announce(std::string peer, std::string endpoint, std::vector<Cid> pin, std::vector<Cid> unpin = {},
                        bool retire = false) {
  return AnnouncePinsTx{std::move(peer), std::move(endpoint), std::move(pin), std::move(unpin), retire};
}
AnnouncePinsTx Retire() { return Announce("", "", {}, {}, true); }

std::vector<Address> PinnedBy(const VersionReplication& r) {
  std::vector<Address> out;
  for (const HubPin& p : r.pinned_by) out.push_back(p.hub.address);
  return out;
}

class ReplicationTest : public ChainFixture {
 protected:
  void SetUp() override {
    dir_ = TempDir("replication");
    Reopen();
    ASSERT_TRUE(app_->InitChain(ReplicationGenesis(k_, h_)).ok());
    m10_ = Cid::Of(ToBytes("forecast manifest v1.0"));
    m11_ = Cid::Of(ToBytes("forecast manifest v1.1"));
    m20_ = Cid::Of(ToBytes("digits manifest v2.0"));
    unpublished_ = Cid::Of(ToBytes("never published"));
    ASSERT_EQ(Send(k_.publisher, CreateRepoTx{"forecast", "", "time-series", "MIT", {}}).first.code, TxCode::kOk);
    ASSERT_EQ(Send(k_.publisher, CreateRepoTx{"digits", "", "image-classification", "MIT", {}}).first.code,
              TxCode::kOk);
    ASSERT_EQ(Send(k_.publisher, PublishVersionTx{"forecast", 1, 0, m10_, 0, std::nullopt}).first.code, TxCode::kOk);
    ASSERT_EQ(Send(k_.publisher, PublishVersionTx{"forecast", 1, 1, m11_, 0, std::nullopt}).first.code, TxCode::kOk);
    ASSERT_EQ(Send(k_.publisher, PublishVersionTx{"digits", 2, 0, m20_, 0, std::nullopt}).first.code, TxCode::kOk);
  }

  // Runs a tx from key in its own block; returns its result and the tx size (its fee at 1 per byte).
  std::pair<TxResult, uint64_t> Send(const PrivateKey& key, TxBody body) {
    Bytes tx = SignTx(key, NextNonce(key), std::move(body));
    const uint64_t size = tx.size();
    return {Run(std::move(tx)), size};
  }
  uint64_t Height() { return app_->Info().height; }

  // Everything a refused announcement could have touched, as one comparable string.
  std::string Snapshot() {
    std::string s;
    for (const auto* key : {&h_.one, &h_.two, &h_.three, &k_.stranger}) {
      auto acct = app_->GetAccount(key->address());
      s += key->address().ToHex() + " balance " + std::to_string(acct->balance) + " nonce " +
           std::to_string(acct->nonce) + "\n";
      auto hub = app_->GetHub(key->address());
      s += hub.ok() ? "hub " + ToHex(EncodeHub(*hub)) + "\n" : "no hub\n";
      auto pins = app_->HubPins(key->address());
      EXPECT_TRUE(pins.ok()) << pins.status().ToString();
      for (const Cid& c : *pins) s += " pins " + c.ToString() + "\n";
    }
    auto all = app_->ListReplication();
    EXPECT_TRUE(all.ok()) << all.status().ToString();
    for (const VersionReplication& r : *all) {
      s += r.manifest.ToString();
      for (const HubPin& p : r.pinned_by) s += " " + p.hub.address.ToHex() + "@" + std::to_string(p.height);
      s += "\n";
    }
    StateOverlay committed(store_.get());
    for (std::string_view prefix : {keys::kHubPrefix, keys::kPinnedByPrefix, keys::kHubPinPrefix}) {
      EXPECT_TRUE(committed
                      .Scan(std::string(prefix),
                            [&](const std::string& key, const Bytes& value) { s += ToHex(ToBytes(key)) + "=" + ToHex(value) + "\n"; })
                      .ok());
    }
    return s;
  }

  // A refused tx: the code expected, a reason given, nothing written (not even the fee or the
  // nonce: the block's write set is empty) and every hub record, pin and balance unchanged.
  void ExpectRefused(const PrivateKey& sender, TxBody body, TxCode code) {
    const std::string before = Snapshot();
    const Account acct = Acct(sender);
    const Hash32 prev_app = app_->Info().app_hash;
    Bytes tx = SignTx(sender, NextNonce(sender), std::move(body));
    auto block = RunBlock(*app_, k_.validator, {std::move(tx)});
    ASSERT_EQ(block.results.size(), 1u);
    EXPECT_EQ(block.results[0].code, code) << TxCodeName(block.results[0].code) << ": " << block.results[0].log;
    EXPECT_FALSE(block.results[0].log.empty());
    EXPECT_EQ(block.header.app_hash, NextAppHash(prev_app, {}));
    EXPECT_EQ(Acct(sender).balance, acct.balance);
    EXPECT_EQ(Acct(sender).nonce, acct.nonce);
    EXPECT_EQ(Snapshot(), before);
  }

  HubKeys h_;
  Cid m10_, m11_, m20_, unpublished_;
};

TEST_F(ReplicationTest, FirstAnnouncementRegistersTheHubAndDebitsTheBondExactly) {
  EXPECT_EQ(app_->params().replication.min_replicas, kReplicas);
  EXPECT_EQ(app_->params().replication.hub_bond, kBond);
  EXPECT_EQ(app_->GetHub(h_.one.address()).status().code(), Code::kNotFound);
  EXPECT_TRUE(app_->ListHubs()->empty());
  const uint64_t one0 = Balance(h_.one), validator0 = Balance(k_.validator);

  auto [r, size] = Send(h_.one, Announce(kPeer1, "http://hub-one:8700", {m10_, m11_}));
  ASSERT_EQ(r.code, TxCode::kOk) << r.log;
  const uint64_t registered = Height();
  EXPECT_EQ(r.height, registered);
  EXPECT_EQ(Balance(h_.one), one0 - size - kBond);       // the fee and the bond, nothing else
  EXPECT_EQ(Balance(k_.validator), validator0 + size);   // the proposer gets the fee, not the bond
  EXPECT_EQ(Acct(h_.one).nonce, 1u);

  auto hub = app_->GetHub(h_.one.address());
  ASSERT_TRUE(hub.ok()) << hub.status().ToString();
  EXPECT_EQ(hub->address, h_.one.address());
  EXPECT_EQ(hub->ipfs_peer, kPeer1);
  EXPECT_EQ(hub->endpoint, "http://hub-one:8700");
  EXPECT_EQ(hub->bond, kBond);
  EXPECT_EQ(hub->registered_height, registered);
  EXPECT_EQ(hub->updated_height, registered);
  EXPECT_EQ(hub->pins, 2u);
  ASSERT_EQ(app_->ListHubs()->size(), 1u);
  EXPECT_EQ(app_->ListHubs()->at(0).address, h_.one.address());

  // Its pins, in CID byte order.
  std::vector<Cid> expected{m10_, m11_};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(*app_->HubPins(h_.one.address()), expected);
  EXPECT_TRUE(app_->HubPins(h_.two.address())->empty());

  // Where each version lives.
  auto rep = app_->GetReplication(m10_);
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ(rep->manifest, m10_);
  EXPECT_EQ(rep->repo, "forecast");
  EXPECT_EQ(rep->major, 1u);
  EXPECT_EQ(rep->minor, 0u);
  EXPECT_EQ(rep->min_replicas, kReplicas);
  ASSERT_EQ(rep->pinned_by.size(), 1u);
  EXPECT_EQ(rep->pinned_by[0].hub.address, h_.one.address());
  EXPECT_EQ(rep->pinned_by[0].hub.ipfs_peer, kPeer1);
  EXPECT_EQ(rep->pinned_by[0].hub.pins, 2u);
  EXPECT_EQ(rep->pinned_by[0].height, registered);
  EXPECT_TRUE(rep->under_replicated());  // 1 < R = 2
  EXPECT_EQ(app_->GetReplication(m11_)->minor, 1u);
  auto digits = app_->GetReplication(m20_);
  ASSERT_TRUE(digits.ok());
  EXPECT_EQ(digits->repo, "digits");
  EXPECT_EQ(digits->major, 2u);
  EXPECT_TRUE(digits->pinned_by.empty());
  EXPECT_TRUE(digits->under_replicated());
  EXPECT_EQ(app_->GetReplication(unpublished_).status().code(), Code::kNotFound);
  auto all = app_->ListReplication();
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 3u);  // every published version, pinned or not
  for (const VersionReplication& v : *all) EXPECT_EQ(v.pinned_by.size(), v.manifest == m20_ ? 0u : 1u);

  // A second hub pins m10: it reaches R and is no longer under-replicated; m11 still is.
  const uint64_t two0 = Balance(h_.two);
  auto [r2, size2] = Send(h_.two, Announce(kPeer2, "https://hub-two.example:443", {m10_}));
  ASSERT_EQ(r2.code, TxCode::kOk) << r2.log;
  EXPECT_EQ(Balance(h_.two), two0 - size2 - kBond);
  rep = app_->GetReplication(m10_);
  ASSERT_EQ(rep->pinned_by.size(), 2u);
  EXPECT_FALSE(rep->under_replicated());
  std::vector<Address> hubs{h_.one.address(), h_.two.address()};
  std::sort(hubs.begin(), hubs.end());
  EXPECT_EQ(PinnedBy(*rep), hubs);  // address order
  for (const HubPin& p : rep->pinned_by)
    EXPECT_EQ(p.height, p.hub.address == h_.one.address() ? registered : registered + 1);
  EXPECT_TRUE(app_->GetReplication(m11_)->under_replicated());
  EXPECT_EQ(app_->ListHubs()->size(), 2u);

  // A later announcement by a hub changes only what it names; no second bond.
  const uint64_t one1 = Balance(h_.one);
  auto [r3, size3] = Send(h_.one, Announce("", "http://hub-one:9000", {m20_}));
  ASSERT_EQ(r3.code, TxCode::kOk) << r3.log;
  EXPECT_EQ(Balance(h_.one), one1 - size3);
  hub = app_->GetHub(h_.one.address());
  EXPECT_EQ(hub->ipfs_peer, kPeer1);  // empty: unchanged
  EXPECT_EQ(hub->endpoint, "http://hub-one:9000");
  EXPECT_EQ(hub->bond, kBond);
  EXPECT_EQ(hub->registered_height, registered);
  EXPECT_EQ(hub->updated_height, Height());
  EXPECT_EQ(hub->pins, 3u);
  EXPECT_EQ(app_->GetReplication(m20_)->pinned_by.at(0).height, Height());
}

TEST_F(ReplicationTest, RefusalsChangeNothing) {
  // Refusals before the sender is a hub.
  ExpectRefused(h_.one, Announce("", "http://hub-one", {m10_}), TxCode::kInvalidField);  // first: no peer id
  ExpectRefused(h_.one, Announce(kPeer1, "", {unpublished_}), TxCode::kNotFound);       // not a published manifest
  ExpectRefused(h_.one, Announce(kPeer1, "", {m10_, m10_}), TxCode::kInvalidField);     // same CID twice
  ExpectRefused(h_.one, Announce(kPeer1, "", {}, {m10_}), TxCode::kWrongState);          // unpin, not pinned
  ExpectRefused(h_.one, Retire(), TxCode::kNotFound);                                    // retire, not a hub
  for (std::string bad_peer : {std::string("short"), std::string("12D3KooW-with-a-dash-0123"),
                               std::string("12D3KooW with space 0123"), std::string(kMaxIpfsPeerBytes + 1, 'Q')}) {
    if (bad_peer.size() > kMaxIpfsPeerBytes) {
      // Over the wire limit: undecodable, refused as malformed.
      ExpectRefused(h_.one, Announce(bad_peer, "", {m10_}), TxCode::kMalformed);
    } else {
      ExpectRefused(h_.one, Announce(bad_peer, "", {m10_}), TxCode::kInvalidField);
    }
  }
  for (std::string bad_endpoint : {"ftp://hub-one", "hub-one:8700", "http://hub one", "HTTP://hub-one",
                                   "http://hub-one/\x7f"})
    ExpectRefused(h_.one, Announce(kPeer1, bad_endpoint, {m10_}), TxCode::kInvalidField);

  // Register, then the refusals of a hub.
  ASSERT_EQ(Send(h_.one, Announce(kPeer1, "http://hub-one", {m10_})).first.code, TxCode::kOk);
  ExpectRefused(h_.one, Announce("", "", {m10_}), TxCode::kAlreadyExists);               // pinned already
  ExpectRefused(h_.one, Announce("", "", {m11_, m10_}), TxCode::kAlreadyExists);         // the whole tx goes
  ExpectRefused(h_.one, Announce("", "", {m11_}, {m20_}), TxCode::kWrongState);          // unpin, not pinned
  ExpectRefused(h_.one, Announce("", "", {m11_, unpublished_}), TxCode::kNotFound);
  ExpectRefused(h_.one, Announce("", "", {m10_}, {m10_}), TxCode::kInvalidField);        // twice: unpin + pin
  ExpectRefused(h_.one, Announce("", "", {m11_}, {m11_}), TxCode::kWrongState);          // unpins apply first
  ExpectRefused(h_.one, Announce("", "", {}, {m10_, m10_}), TxCode::kInvalidField);      // unpin twice
  ExpectRefused(h_.one, Announce("bad", "", {m11_}), TxCode::kInvalidField);
  ExpectRefused(h_.one, Announce("", "gopher://hub-one", {m11_}), TxCode::kInvalidField);
  ExpectRefused(h_.one, Announce(kPeer1, "", {}, {}, true), TxCode::kInvalidField);     // retire + other fields
  ExpectRefused(h_.one, Announce("", "http://x", {}, {}, true), TxCode::kInvalidField);
  ExpectRefused(h_.one, Announce("", "", {m11_}, {}, true), TxCode::kInvalidField);
  ExpectRefused(h_.one, Announce("", "", {}, {m10_}, true), TxCode::kInvalidField);

  // More than kMaxPinChangesPerTx changes: each list within the wire limit, the sum over it.
  std::vector<Cid> pins, unpins;
  for (size_t i = 0; i < kMaxPinChangesPerTx; ++i) pins.push_back(Cid::Of(ToBytes("p" + std::to_string(i))));
  unpins.push_back(m10_);
  ExpectRefused(h_.one, Announce("", "", pins, unpins), TxCode::kInvalidField);
  pins.push_back(m11_);  // kMaxPinChangesPerTx + 1 in one list: refused by the decoder
  ExpectRefused(h_.one, Announce("", "", pins), TxCode::kMalformed);

  // The hub is as it was: one pin, one bond, and it can still pin.
  EXPECT_EQ(app_->GetHub(h_.one.address())->pins, 1u);
  ASSERT_EQ(Send(h_.one, Announce("", "", {m11_})).first.code, TxCode::kOk);
  EXPECT_EQ(app_->GetHub(h_.one.address())->pins, 2u);
}

TEST_F(ReplicationTest, BondAboveTheBalanceIsRefusedUntilFunded) {
  // three (no genesis account) is funded with exactly its announcement's fee + the bond - 1.
  const Bytes tx = SignTx(h_.three, 0, Announce(kPeer1, "", {m10_}));
  const uint64_t fee = tx.size();
  ASSERT_EQ(Send(k_.bob, TransferTx{h_.three.address(), fee + kBond - 1}).first.code, TxCode::kOk);
  ASSERT_EQ(Balance(h_.three), fee + kBond - 1);
  ExpectRefused(h_.three, Announce(kPeer1, "", {m10_}), TxCode::kInsufficientFunds);
  EXPECT_EQ(app_->GetHub(h_.three.address()).status().code(), Code::kNotFound);
  EXPECT_EQ(Balance(h_.three), fee + kBond - 1);
  EXPECT_EQ(NextNonce(h_.three), 0u);
  // One more unit and the same tx (nonce 0 still) goes through, taking all of it.
  ASSERT_EQ(Send(k_.bob, TransferTx{h_.three.address(), 1}).first.code, TxCode::kOk);
  TxResult r = Run(tx);
  ASSERT_EQ(r.code, TxCode::kOk) << r.log;
  EXPECT_EQ(Balance(h_.three), 0u);
  EXPECT_EQ(NextNonce(h_.three), 1u);
  EXPECT_EQ(app_->GetHub(h_.three.address())->bond, kBond);
  EXPECT_EQ(app_->GetHub(h_.three.address())->endpoint, "");  // optional
  EXPECT_EQ(app_->GetHub(h_.three.address())->pins, 1u);
  // With a zero balance it cannot pay the retire's fee; given exactly that fee, retiring leaves it
  // with exactly the bond.
  ExpectRefused(h_.three, Retire(), TxCode::kInsufficientFunds);
  const Bytes retire = SignTx(h_.three, 1, Retire());
  ASSERT_EQ(Send(k_.bob, TransferTx{h_.three.address(), retire.size()}).first.code, TxCode::kOk);
  ASSERT_EQ(Run(retire).code, TxCode::kOk);
  EXPECT_EQ(Balance(h_.three), kBond);
}

TEST_F(ReplicationTest, UnpinThenRepin) {
  ASSERT_EQ(Send(h_.one, Announce(kPeer1, "", {m10_, m11_})).first.code, TxCode::kOk);
  ASSERT_EQ(Send(h_.two, Announce(kPeer2, "", {m10_})).first.code, TxCode::kOk);
  EXPECT_FALSE(app_->GetReplication(m10_)->under_replicated());
  const uint64_t one0 = Balance(h_.one);

  auto [unpinned, size] = Send(h_.one, Announce("", "", {}, {m10_}));
  ASSERT_EQ(unpinned.code, TxCode::kOk) << unpinned.log;
  EXPECT_EQ(Balance(h_.one), one0 - size);  // the bond stays held
  EXPECT_EQ(app_->GetHub(h_.one.address())->pins, 1u);
  EXPECT_EQ(app_->GetHub(h_.one.address())->bond, kBond);
  EXPECT_EQ(*app_->HubPins(h_.one.address()), std::vector<Cid>{m11_});
  auto rep = app_->GetReplication(m10_);
  EXPECT_EQ(PinnedBy(*rep), std::vector<Address>{h_.two.address()});
  EXPECT_TRUE(rep->under_replicated());  // back below R
  // Unpinned: unpinning again is refused.
  ExpectRefused(h_.one, Announce("", "", {}, {m10_}), TxCode::kWrongState);

  // Re-pinned at a later height, with an unpin in the same tx (unpins apply first).
  auto [repinned, size2] = Send(h_.one, Announce("", "", {m10_}, {m11_}));
  ASSERT_EQ(repinned.code, TxCode::kOk) << repinned.log;
  const uint64_t at = Height();
  EXPECT_EQ(app_->GetHub(h_.one.address())->pins, 1u);
  EXPECT_EQ(*app_->HubPins(h_.one.address()), std::vector<Cid>{m10_});
  rep = app_->GetReplication(m10_);
  ASSERT_EQ(rep->pinned_by.size(), 2u);
  EXPECT_FALSE(rep->under_replicated());
  for (const HubPin& p : rep->pinned_by) {
    if (p.hub.address == h_.one.address()) {
      EXPECT_EQ(p.height, at);
    }
  }
  EXPECT_TRUE(app_->GetReplication(m11_)->pinned_by.empty());
  EXPECT_EQ(Balance(h_.one), one0 - size - size2);
}

TEST_F(ReplicationTest, RetireRemovesEveryPinAndTheRecordAndReturnsTheBond) {
  const uint64_t one0 = Balance(h_.one);
  auto [announced, size1] = Send(h_.one, Announce(kPeer1, "http://hub-one", {m10_, m11_, m20_}));
  ASSERT_EQ(announced.code, TxCode::kOk) << announced.log;
  ASSERT_EQ(Send(h_.two, Announce(kPeer2, "", {m10_})).first.code, TxCode::kOk);
  EXPECT_EQ(Balance(h_.one), one0 - size1 - kBond);

  auto [retired, size2] = Send(h_.one, Retire());
  ASSERT_EQ(retired.code, TxCode::kOk) << retired.log;
  EXPECT_EQ(Balance(h_.one), one0 - size1 - size2);  // the bond came back, to the unit
  EXPECT_EQ(app_->GetHub(h_.one.address()).status().code(), Code::kNotFound);
  EXPECT_TRUE(app_->HubPins(h_.one.address())->empty());
  ASSERT_EQ(app_->ListHubs()->size(), 1u);
  EXPECT_EQ(app_->ListHubs()->at(0).address, h_.two.address());
  EXPECT_EQ(PinnedBy(*app_->GetReplication(m10_)), std::vector<Address>{h_.two.address()});
  EXPECT_TRUE(app_->GetReplication(m11_)->pinned_by.empty());
  EXPECT_TRUE(app_->GetReplication(m20_)->pinned_by.empty());
  // No key of the retired hub is left in state: only hub two's record and pin remain.
  StateOverlay committed(store_.get());
  size_t hub_keys = 0, by_keys = 0, pin_keys = 0;
  auto count = [&](std::string_view prefix, size_t& n) {
    ASSERT_TRUE(committed.Scan(std::string(prefix), [&](const std::string&, const Bytes&) { ++n; }).ok());
  };
  count(keys::kHubPrefix, hub_keys);
  count(keys::kPinnedByPrefix, by_keys);
  count(keys::kHubPinPrefix, pin_keys);
  EXPECT_EQ(hub_keys, 1u);
  EXPECT_EQ(by_keys, 1u);
  EXPECT_EQ(pin_keys, 1u);

  // Retired: a second retire is refused; announcing again bonds again.
  ExpectRefused(h_.one, Retire(), TxCode::kNotFound);
  ExpectRefused(h_.one, Announce("", "", {m10_}), TxCode::kInvalidField);  // a new first announcement needs the peer
  const uint64_t one1 = Balance(h_.one);
  auto [again, size3] = Send(h_.one, Announce(kPeer1, "", {m11_}));
  ASSERT_EQ(again.code, TxCode::kOk) << again.log;
  EXPECT_EQ(Balance(h_.one), one1 - size3 - kBond);
  EXPECT_EQ(app_->GetHub(h_.one.address())->registered_height, Height());
  EXPECT_EQ(app_->GetHub(h_.one.address())->pins, 1u);
  EXPECT_EQ(app_->GetHub(h_.one.address())->endpoint, "");  // nothing kept from before
}

TEST_F(ReplicationTest, StateSurvivesReopeningTheStore) {
  ASSERT_EQ(Send(h_.one, Announce(kPeer1, "http://hub-one", {m10_, m11_})).first.code, TxCode::kOk);
  ASSERT_EQ(Send(h_.two, Announce(kPeer2, "http://hub-two", {m10_})).first.code, TxCode::kOk);
  const std::string before = Snapshot();
  const Hash32 app_hash = app_->Info().app_hash;
  const HubRecord one = *app_->GetHub(h_.one.address());

  Reopen();
  EXPECT_EQ(app_->Info().app_hash, app_hash);
  EXPECT_EQ(app_->params().replication.min_replicas, kReplicas);  // from the stored genesis
  EXPECT_EQ(app_->params().replication.hub_bond, kBond);
  EXPECT_EQ(Snapshot(), before);
  EXPECT_EQ(EncodeHub(*app_->GetHub(h_.one.address())), EncodeHub(one));
  EXPECT_FALSE(app_->GetReplication(m10_)->under_replicated());
  EXPECT_TRUE(app_->GetReplication(m11_)->under_replicated());
  // And it goes on from there: retire after the restart returns the bond.
  const uint64_t two0 = Balance(h_.two);
  auto [retired, size] = Send(h_.two, Retire());
  ASSERT_EQ(retired.code, TxCode::kOk) << retired.log;
  EXPECT_EQ(Balance(h_.two), two0 - size + kBond);
  EXPECT_TRUE(app_->GetReplication(m10_)->under_replicated());
}

// Two applications fed the same blocks (registrations, pins, a refusal, an unpin, a retire)
// agree on every app hash; the replication params are part of the genesis hash.
TEST(ReplicationDeterminismTest, SameBlocksSameAppHash) {
  Keys k;
  HubKeys h;
  struct Instance {
    std::filesystem::path dir = TempDir("repl_det");
    std::unique_ptr<store::KvStore> store;
    std::unique_ptr<Application> app;
  };
  auto make = [&](const Genesis& g) {
    auto inst = std::make_unique<Instance>();
    inst->store = std::move(store::KvStore::Open(inst->dir.string())).value();
    inst->app = std::move(Application::Open(inst->store.get())).value();
    EXPECT_TRUE(inst->app->InitChain(g).ok());
    return inst;
  };
  const Genesis g = ReplicationGenesis(k, h);
  auto a = make(g), b = make(g);
  Genesis other_bond = g;
  other_bond.params.replication.hub_bond = kBond + 1;
  auto c = make(other_bond);
  EXPECT_EQ(a->app->Info().app_hash, b->app->Info().app_hash);
  EXPECT_NE(a->app->Info().app_hash, c->app->Info().app_hash);

  const Cid m1 = Cid::Of(ToBytes("det v1.0")), m2 = Cid::Of(ToBytes("det v1.1"));
  const std::vector<std::vector<Bytes>> blocks = {
      {SignTx(k.publisher, 0, CreateRepoTx{"det", "", "", "", {}})},
      {SignTx(k.publisher, 1, PublishVersionTx{"det", 1, 0, m1, 0, std::nullopt}),
       SignTx(k.publisher, 2, PublishVersionTx{"det", 1, 1, m2, 0, std::nullopt})},
      {SignTx(h.one, 0, Announce(kPeer1, "http://one", {m1, m2})), SignTx(h.two, 0, Announce(kPeer2, "", {m1}))},
      {SignTx(h.two, 1, Announce("", "", {m1}))},  // refused: already pinned
      {SignTx(h.one, 1, Announce("", "", {}, {m2})), SignTx(h.two, 1, Announce("", "", {m2}))},
      {SignTx(h.one, 2, Retire())},
  };
  for (size_t i = 0; i < blocks.size(); ++i) {
    auto fa = RunBlock(*a->app, k.validator, blocks[i]);
    auto fb = RunBlock(*b->app, k.validator, blocks[i]);
    auto fc = RunBlock(*c->app, k.validator, blocks[i]);
    EXPECT_EQ(fa.header.app_hash, fb.header.app_hash) << "block " << i;
    EXPECT_EQ(fa.header.Hash(), fb.header.Hash()) << "block " << i;
    EXPECT_NE(fa.header.app_hash, fc.header.app_hash) << "block " << i;
    ASSERT_EQ(fa.results.size(), blocks[i].size());
    for (size_t t = 0; t < fa.results.size(); ++t) {
      EXPECT_EQ(fa.results[t].code, fb.results[t].code);
      EXPECT_EQ(fa.results[t].code, i == 3 ? TxCode::kAlreadyExists : TxCode::kOk)
          << "block " << i << " tx " << t << ": " << fa.results[t].log;
    }
  }
  EXPECT_EQ(PinnedBy(*a->app->GetReplication(m2)), std::vector<Address>{h.two.address()});
  EXPECT_EQ(a->app->GetHub(h.one.address()).status().code(), Code::kNotFound);
  for (auto* inst : {a.get(), b.get(), c.get()}) {
    inst->app.reset();
    inst->store.reset();
    std::filesystem::remove_all(inst->dir);
  }
}

// ---- genesis ----

Genesis SmallGenesis() {
  Genesis g;
  g.chain_id = "repl";
  g.genesis_time_ms = 77;
  g.accounts = {{PrivateKey::FromSeed("acct").address(), 123}};
  g.validators = {PrivateKey::FromSeed("val").address()};
  return g;
}

TEST(ReplicationGenesisTest, DefaultParamsKeepTheVersion1Bytes) {
  const Genesis g = SmallGenesis();
  ASSERT_TRUE(g.params.replication == ReplicationParams{});
  EXPECT_EQ(g.params.replication.min_replicas, 1u);
  EXPECT_EQ(g.params.replication.hub_bond, 1000u);
  // The version 1 layout, written out field by field: nothing appended for replication.
  codec::Writer w;
  w.U8(1);
  w.Str(g.chain_id);
  w.U64(g.genesis_time_ms);
  w.U64(g.params.tx_fee_per_byte);
  w.U64(g.params.min_node_stake);
  w.U64(g.params.max_tx_bytes);
  w.Bool(false);
  w.U32(1);
  w.Fixed(g.accounts[0].address.bytes);
  w.U64(123);
  w.U32(1);
  w.Fixed(g.validators[0].bytes);
  EXPECT_EQ(EncodeGenesis(g), w.Take());
  // Settlement params alone keep version 3, tee params alone version 2: never 4.
  Genesis settled = g;
  settled.params.settlement.challenge_bond = 77;
  EXPECT_EQ(EncodeGenesis(settled)[0], 3);
  Genesis tee = g;
  tee.params.tee.heartbeat_ms = 1234;
  EXPECT_EQ(EncodeGenesis(tee)[0], 2);
}

TEST(ReplicationGenesisTest, NonDefaultParamsRoundTripAsVersion4) {
  Genesis g = SmallGenesis();
  g.params.settlement.challenge_bond = 77;
  const Bytes v3 = EncodeGenesis(g);
  ASSERT_EQ(v3[0], 3);
  g.params.replication.min_replicas = 3;
  g.params.replication.hub_bond = 4242;
  const Bytes v4 = EncodeGenesis(g);
  ASSERT_EQ(v4[0], 4);
  // Version 4 = version 3 with the two replication fields appended.
  ASSERT_EQ(v4.size(), v3.size() + 16);
  EXPECT_TRUE(std::equal(v3.begin() + 1, v3.end(), v4.begin() + 1));
  codec::Writer tail;
  tail.U64(3);
  tail.U64(4242);
  EXPECT_EQ(Bytes(v4.end() - 16, v4.end()), tail.Take());
  auto back = DecodeGenesis(v4);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->params.replication == g.params.replication);
  EXPECT_TRUE(back->params.settlement == g.params.settlement);
  EXPECT_EQ(back->chain_id, g.chain_id);
  EXPECT_EQ(EncodeGenesis(*back), v4);
  EXPECT_NE(GenesisAppHash(*back), GenesisAppHash(SmallGenesis()));
  // Strict: a trailing byte or a truncation is refused.
  Bytes trailing = v4;
  trailing.push_back(0);
  EXPECT_FALSE(DecodeGenesis(trailing).ok());
  for (size_t n = 0; n < v4.size(); ++n) EXPECT_FALSE(DecodeGenesis(ByteView(v4.data(), n)).ok()) << n;

  // Only one field off its default is enough for version 4, and settlement/tee stay default.
  for (ReplicationParams p : {ReplicationParams{1, 999}, ReplicationParams{64, 1000}}) {
    Genesis one = SmallGenesis();
    one.params.replication = p;
    const Bytes enc = EncodeGenesis(one);
    EXPECT_EQ(enc[0], 4);
    auto decoded = DecodeGenesis(enc);
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_TRUE(decoded->params.replication == p);
    EXPECT_TRUE(decoded->params.settlement == SettlementParams{});
    EXPECT_TRUE(decoded->params.tee == TeeParams{});
    EXPECT_EQ(EncodeGenesis(*decoded), enc);
  }
}

TEST(ReplicationGenesisTest, InitChainRefusesMinReplicasOutside1To64) {
  Keys k;
  auto dir = TempDir("repl_genesis");
  auto store = store::KvStore::Open(dir.string());
  ASSERT_TRUE(store.ok());
  auto app = Application::Open(store->get());
  ASSERT_TRUE(app.ok());
  for (uint64_t bad : {uint64_t{0}, uint64_t{65}, uint64_t{1} << 40}) {
    Genesis g = MakeGenesis(k);
    g.params.replication.min_replicas = bad;
    Status s = (*app)->InitChain(g);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("min_replicas"), std::string::npos) << s.ToString();
    EXPECT_FALSE((*app)->initialized());
    EXPECT_EQ((*app)->GetAccount(k.alice.address())->balance, 0u);  // nothing written
  }
  Genesis edge = MakeGenesis(k);
  edge.params.replication.min_replicas = 64;
  edge.params.replication.hub_bond = 0;
  ASSERT_TRUE((*app)->InitChain(edge).ok());
  EXPECT_EQ((*app)->params().replication.min_replicas, 64u);
  EXPECT_EQ((*app)->Info().app_hash, GenesisAppHash(edge));
  app->reset();
  store->reset();
  // 1 (the default) is accepted too.
  auto dir1 = TempDir("repl_genesis1");
  auto store1 = store::KvStore::Open(dir1.string());
  ASSERT_TRUE(store1.ok());
  auto app1 = Application::Open(store1->get());
  ASSERT_TRUE(app1.ok());
  Genesis one = MakeGenesis(k);
  one.params.replication.min_replicas = 1;
  EXPECT_TRUE((*app1)->InitChain(one).ok());
  app1->reset();
  store1->reset();
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(dir1);
}

// A hub with a zero bond (hub_bond = 0 at genesis) registers and retires with only the fees paid.
TEST(ReplicationZeroBondTest, RegistersAndRetiresForTheFeesOnly) {
  Keys k;
  HubKeys h;
  auto dir = TempDir("repl_zero");
  auto store = std::move(store::KvStore::Open(dir.string())).value();
  auto app = std::move(Application::Open(store.get())).value();
  Genesis g = ReplicationGenesis(k, h);
  g.params.replication.hub_bond = 0;
  ASSERT_TRUE(app->InitChain(g).ok());
  const Cid m = Cid::Of(ToBytes("zero v1.0"));
  RunBlock(*app, k.validator, {SignTx(k.publisher, 0, CreateRepoTx{"zero", "", "", "", {}})});
  RunBlock(*app, k.validator, {SignTx(k.publisher, 1, PublishVersionTx{"zero", 1, 0, m, 0, std::nullopt})});
  const uint64_t before = app->GetAccount(h.one.address())->balance;
  const Bytes announce = SignTx(h.one, 0, Announce(kPeer1, "", {m}));
  const Bytes retire = SignTx(h.one, 1, Retire());
  auto b1 = RunBlock(*app, k.validator, {announce});
  ASSERT_EQ(b1.results.at(0).code, TxCode::kOk) << b1.results.at(0).log;
  EXPECT_EQ(app->GetHub(h.one.address())->bond, 0u);
  EXPECT_EQ(app->GetAccount(h.one.address())->balance, before - announce.size());
  auto b2 = RunBlock(*app, k.validator, {retire});
  ASSERT_EQ(b2.results.at(0).code, TxCode::kOk) << b2.results.at(0).log;
  EXPECT_EQ(app->GetAccount(h.one.address())->balance, before - announce.size() - retire.size());
  EXPECT_TRUE(app->GetReplication(m)->pinned_by.empty());
  app.reset();
  store.reset();
  std::filesystem::remove_all(dir);
}

// ---- the hub record ----

TEST(HubRecordTest, RoundTripsStrictly) {
  HubRecord h;
  h.address = PrivateKey::FromSeed("hub").address();
  h.ipfs_peer = kPeer1;
  h.endpoint = "http://hub:8700";
  h.bond = 5000;
  h.registered_height = 7;
  h.updated_height = 9;
  h.pins = 3;
  const Bytes bytes = EncodeHub(h);
  EXPECT_EQ(bytes[0], 1);
  auto back = DecodeHub(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->address, h.address);
  EXPECT_EQ(back->ipfs_peer, h.ipfs_peer);
  EXPECT_EQ(back->endpoint, h.endpoint);
  EXPECT_EQ(back->bond, 5000u);
  EXPECT_EQ(back->registered_height, 7u);
  EXPECT_EQ(back->updated_height, 9u);
  EXPECT_EQ(back->pins, 3u);
  EXPECT_EQ(EncodeHub(*back), bytes);
  Bytes trailing = bytes;
  trailing.push_back(0);
  auto refused = DecodeHub(trailing);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("trailing"), std::string::npos) << refused.status().ToString();
  for (size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(DecodeHub(ByteView(bytes.data(), n)).ok()) << n;
  Bytes other_version = bytes;
  other_version[0] = 2;
  EXPECT_FALSE(DecodeHub(other_version).ok());
  // Empty strings round-trip too (a hub's endpoint is optional).
  HubRecord bare;
  bare.address = h.address;
  bare.ipfs_peer = kPeer2;
  auto bare_back = DecodeHub(EncodeHub(bare));
  ASSERT_TRUE(bare_back.ok());
  EXPECT_EQ(bare_back->endpoint, "");
  EXPECT_EQ(EncodeHub(*bare_back), EncodeHub(bare));
}

}  // namespace
}  // namespace lucid::chain
