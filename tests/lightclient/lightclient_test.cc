// CometBFT light-client verification against golden vectors captured from real CometBFT
// v0.38.26 chains (tests/data/cometbft/PROVENANCE.md), and every refusal on tampered copies.
#include <fstream>
#include <sstream>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <nlohmann/json.hpp>

#include "crypto/hash.h"
#include "lightclient/lightclient.h"
#include "lightclient/rpc_json.h"

namespace lucid::lightclient {
namespace {

std::string ReadData(const std::string& name) {
  std::ifstream in(std::string(LUCID_SOURCE_DIR) + "/tests/data/cometbft/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Genesis LoadGenesis(const std::string& dir) {
  auto g = ParseGenesisJson(ReadData(dir + "/genesis.json"));
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  return g.ok() ? *g : Genesis{};
}

SignedHeader LoadCommit(const std::string& file) {
  auto sh = ParseCommitJson(ReadData(file));
  EXPECT_TRUE(sh.ok()) << file << ": " << sh.status().ToString();
  return sh.ok() ? *sh : SignedHeader{};
}


struct Case {
  std::string dir, file;
  int64_t height;
  size_t commit_votes, absent;
};

const std::vector<Case> kGolden = {
    {"single", "single/commit_1.json", 1, 1, 0},
    {"single", "single/commit_8.json", 8, 1, 0},
    {"single", "single/commit_9.json", 9, 1, 0},
    {"net4", "net4/commit_1.json", 1, 4, 0},
    {"net4", "net4/commit_11.json", 11, 4, 0},
    {"net4", "net4/commit_12.json", 12, 4, 0},
    {"net4", "net4/commit_17_one_down.json", 17, 3, 1},
    // Decided in round 1 (two validators had stopped; one restarted): round is in the sign bytes.
    {"net4_round1", "net4_round1/commit_17_round1.json", 17, 3, 1},
};

TEST(LightClientGolden, RealCommitsVerifyAgainstTheGenesisSet) {
  for (const Case& c : kGolden) {
    Genesis g = LoadGenesis(c.dir);
    SignedHeader sh = LoadCommit(c.file);
    Verification v = VerifySignedHeader(sh, g.validators, g.chain_id, c.height);
    EXPECT_TRUE(v.ok()) << c.file << ": " << v.ToStatus().ToString();
    EXPECT_EQ(v.commit_votes, c.commit_votes) << c.file;
    EXPECT_EQ(v.absent, c.absent) << c.file;
    EXPECT_GT(v.signed_power * 3, v.total_power * 2) << c.file;
    // The header hash we compute is the block id CometBFT's validators signed.
    EXPECT_EQ(Bytes(v.header_hash.begin(), v.header_hash.end()), sh.commit.block_id.hash) << c.file;
  }
}

TEST(LightClientGolden, RoundIsSigned) {
  Genesis g = LoadGenesis("net4_round1");
  SignedHeader sh = LoadCommit("net4_round1/commit_17_round1.json");
  ASSERT_EQ(sh.commit.round, 1);
  ASSERT_TRUE(VerifySignedHeader(sh, g.validators, g.chain_id, 17).ok());
  sh.commit.round = 0;
  EXPECT_EQ(VerifySignedHeader(sh, g.validators, g.chain_id, 17).refusal, Refusal::kInvalidSignature);
}

TEST(LightClientGolden, VerificationTime) {
  // Measured here, printed: one full check of a real 4-validator commit (header hash, set hash,
  // 4 sign-byte encodings and ed25519 verifications).
  Genesis g = LoadGenesis("net4");
  SignedHeader sh = LoadCommit("net4/commit_11.json");
  std::vector<double> us;
  for (int i = 0; i < 200; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    Verification v = VerifySignedHeader(sh, g.validators, g.chain_id, 11);
    auto t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(v.ok());
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  std::sort(us.begin(), us.end());
  std::printf("VerifySignedHeader, 4 validators: median %.1f us, min %.1f us over %zu runs\n", us[us.size() / 2],
              us[0], us.size());
}

TEST(LightClientGolden, ValidatorSetHashMatchesRpcAndGenesis) {
  for (auto [dir, commit] : {std::pair<std::string, std::string>{"single", "commit_1.json"},
                             {"net4", "commit_1.json"}, {"net4_round1", "commit_17_round1.json"}}) {
    Genesis g = LoadGenesis(dir);
    auto page = ParseValidatorsJson(ReadData(dir + "/validators.json"));
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    EXPECT_EQ(page->total, static_cast<int64_t>(page->validators.size()));
    auto rpc_set = MakeValidatorSet(page->validators);
    ASSERT_TRUE(rpc_set.ok()) << rpc_set.status().ToString();
    EXPECT_EQ(rpc_set->Hash(), g.validators.Hash()) << dir;
    // The RPC lists the set in canonical order already; the genesis file need not.
    for (size_t i = 0; i < page->validators.size(); ++i)
      EXPECT_EQ(page->validators[i].address, rpc_set->validators[i].address);
    SignedHeader sh = LoadCommit(dir + "/" + commit);
    Hash32 h = g.validators.Hash();
    EXPECT_EQ(Bytes(h.begin(), h.end()), sh.header.validators_hash) << dir;
  }
  // net4's genesis lists node0..node3; the canonical order (equal powers) is by address.
  Genesis g = LoadGenesis("net4");
  ASSERT_EQ(g.validators.validators.size(), 4u);
  EXPECT_EQ(g.validators.total_voting_power, 4);
  EXPECT_EQ(ToHex(g.validators.validators[0].address), "162b3f33d95934cc083c8096db7912bb9672f966");
  EXPECT_EQ(g.chain_id, "chain-zSKFUK");
}

TEST(LightClientGolden, SignBytesHaveCanonicalVoteShape) {
  Genesis g = LoadGenesis("single");
  SignedHeader sh = LoadCommit("single/commit_8.json");
  Bytes sb = VoteSignBytes(g.chain_id, sh.commit, 0);
  // varint length, then type=2 (08 02), height sfixed64 (11 + 8 LE bytes), round 0 omitted,
  // block id (22 ...), timestamp (2a ...), chain id (32 ...).
  ASSERT_GT(sb.size(), 20u);
  EXPECT_EQ(sb[0], sb.size() - 1);
  EXPECT_EQ(sb[1], 0x08);
  EXPECT_EQ(sb[2], 0x02);
  EXPECT_EQ(sb[3], 0x11);
  EXPECT_EQ(sb[4], 8);
  for (int i = 5; i < 12; ++i) EXPECT_EQ(sb[i], 0);
  EXPECT_EQ(sb[12], 0x22);
  std::string tail(sb.end() - static_cast<long>(g.chain_id.size()), sb.end());
  EXPECT_EQ(tail, g.chain_id);
  EXPECT_TRUE(Ed25519Verify(g.validators.validators[0].pub_key, sb, sh.commit.signatures[0].signature));
}

// ---------- tampering: each refused with its reason ----------

class Tamper : public ::testing::Test {
 protected:
  void SetUp() override {
    g_ = LoadGenesis("net4");
    sh_ = LoadCommit("net4/commit_11.json");  // all four validators signed
    ASSERT_TRUE(VerifySignedHeader(sh_, g_.validators, g_.chain_id, 11).ok());
  }
  Verification Run(const SignedHeader& sh) const { return VerifySignedHeader(sh, g_.validators, g_.chain_id, 11); }
  void ExpectRefused(const Verification& v, Refusal r) const {
    EXPECT_EQ(v.refusal, r) << "got " << RefusalName(v.refusal) << ": " << v.detail;
    EXPECT_FALSE(v.ok());
    EXPECT_FALSE(v.detail.empty());
    Status s = v.ToStatus();
    EXPECT_FALSE(s.ok());
    EXPECT_EQ(s.message().rfind(std::string(RefusalName(r)) + ": ", 0), 0u) << s.message();
  }
  // Rewrites the commit's block id to the tampered header's hash (what a forger would do).
  static void Rebind(SignedHeader& sh) {
    Hash32 h = sh.header.Hash();
    sh.commit.block_id.hash.assign(h.begin(), h.end());
  }
  Genesis g_;
  SignedHeader sh_;
};

TEST_F(Tamper, SignatureByteFlipped) {
  for (size_t i = 0; i < sh_.commit.signatures.size(); ++i) {
    SignedHeader sh = sh_;
    sh.commit.signatures[i].signature[7] ^= 0x01;
    ExpectRefused(Run(sh), Refusal::kInvalidSignature);
  }
}

TEST_F(Tamper, VoteTimestampChanged) {
  SignedHeader sh = sh_;
  sh.commit.signatures[2].timestamp.nanos ^= 1;  // the timestamp is part of each vote's sign bytes
  ExpectRefused(Run(sh), Refusal::kInvalidSignature);
}

TEST_F(Tamper, AppHashFlipped) {
  SignedHeader sh = sh_;
  sh.header.app_hash[0] ^= 0x01;
  ExpectRefused(Run(sh), Refusal::kHeaderHashMismatch);
  Rebind(sh);  // consistent block id: the validators' signatures no longer match
  ExpectRefused(Run(sh), Refusal::kInvalidSignature);
}

TEST_F(Tamper, EveryHeaderFieldIsBound) {
  // Each of the 14 fields changes the header hash.
  std::vector<std::function<void(Header&)>> edits = {
      [](Header& h) { h.version_block += 1; },       [](Header& h) { h.version_app += 1; },
      [](Header& h) { h.chain_id += "x"; },          [](Header& h) { h.height += 1; },
      [](Header& h) { h.time.nanos += 1; },          [](Header& h) { h.last_block_id.hash[0] ^= 1; },
      [](Header& h) { h.last_block_id.parts.total += 1; }, [](Header& h) { h.last_commit_hash[0] ^= 1; },
      [](Header& h) { h.data_hash[0] ^= 1; },        [](Header& h) { h.next_validators_hash[0] ^= 1; },
      [](Header& h) { h.consensus_hash[0] ^= 1; },   [](Header& h) { h.last_results_hash[0] ^= 1; },
      [](Header& h) { h.evidence_hash[0] ^= 1; },    [](Header& h) { h.proposer_address[0] ^= 1; },
  };
  const Hash32 original = sh_.header.Hash();
  for (size_t i = 0; i < edits.size(); ++i) {
    Header h = sh_.header;
    edits[i](h);
    EXPECT_NE(h.Hash(), original) << "edit " << i;
  }
}

TEST_F(Tamper, ChainIdFlipped) {
  SignedHeader sh = sh_;
  sh.header.chain_id[0] ^= 0x01;
  ExpectRefused(Run(sh), Refusal::kChainIdMismatch);
  // A verifier told the other chain id: the header hash and then the signatures refuse it.
  ExpectRefused(VerifySignedHeader(sh, g_.validators, sh.header.chain_id, 11), Refusal::kHeaderHashMismatch);
  Rebind(sh);
  ExpectRefused(VerifySignedHeader(sh, g_.validators, sh.header.chain_id, 11), Refusal::kInvalidSignature);
  // The untouched header checked against another trusted chain id.
  ExpectRefused(VerifySignedHeader(sh_, g_.validators, "other-chain", 11), Refusal::kChainIdMismatch);
}

TEST_F(Tamper, VotesDroppedBelowTwoThirds) {
  // 4 validators of power 1: 3 commit votes (> 8/3) pass, 2 do not.
  SignedHeader sh = sh_;
  sh.commit.signatures[3] = CommitSig{};  // absent
  Verification three = Run(sh);
  EXPECT_TRUE(three.ok()) << three.detail;
  EXPECT_EQ(three.signed_power, 3);
  EXPECT_EQ(three.needed_power, 2);
  sh.commit.signatures[1] = CommitSig{};
  Verification two = Run(sh);
  ExpectRefused(two, Refusal::kInsufficientVotingPower);
  EXPECT_EQ(two.signed_power, 2);
  // The real commit with one validator down, one more vote dropped.
  SignedHeader down = LoadCommit("net4/commit_17_one_down.json");
  ASSERT_TRUE(VerifySignedHeader(down, g_.validators, g_.chain_id, 17).ok());
  down.commit.signatures[2] = CommitSig{};
  ExpectRefused(VerifySignedHeader(down, g_.validators, g_.chain_id, 17), Refusal::kInsufficientVotingPower);
  SignedHeader all_absent = sh_;
  for (auto& s : all_absent.commit.signatures) s = CommitSig{};
  ExpectRefused(Run(all_absent), Refusal::kInsufficientVotingPower);
}

TEST_F(Tamper, NilVoteDoesNotCount) {
  // Relabelling a commit vote as nil changes its sign bytes: refused as a bad signature, and
  // a nil vote (were it genuine) never adds power.
  SignedHeader sh = sh_;
  sh.commit.signatures[0].flag = BlockIdFlag::kNil;
  ExpectRefused(Run(sh), Refusal::kInvalidSignature);
}

TEST_F(Tamper, DuplicatedVote) {
  SignedHeader sh = sh_;
  sh.commit.signatures[1] = sh.commit.signatures[0];
  ExpectRefused(Run(sh), Refusal::kDuplicateVote);
  // Replacing an absent slot with a copy of another validator's vote.
  SignedHeader down = LoadCommit("net4/commit_17_one_down.json");
  ASSERT_EQ(down.commit.signatures[0].flag, BlockIdFlag::kAbsent);
  down.commit.signatures[0] = down.commit.signatures[1];
  ExpectRefused(VerifySignedHeader(down, g_.validators, g_.chain_id, 17), Refusal::kDuplicateVote);
  // An extra copy appended.
  SignedHeader extra = sh_;
  extra.commit.signatures.push_back(extra.commit.signatures[0]);
  ExpectRefused(Run(extra), Refusal::kSignatureCountMismatch);
}

TEST_F(Tamper, ValidatorKeySwapped) {
  // A trusted set with one key replaced (a forger's key): its hash is not the header's.
  std::vector<Validator> vals = g_.validators.validators;
  vals[2].pub_key[5] ^= 0x01;
  vals[2].address.clear();  // derived from the new key
  auto forged = MakeValidatorSet(vals);
  ASSERT_TRUE(forged.ok());
  ExpectRefused(VerifySignedHeader(sh_, *forged, g_.chain_id, 11), Refusal::kValidatorsHashMismatch);
  // Two validators' keys exchanged between positions (same hash inputs, other order).
  ValidatorSet swapped = g_.validators;
  std::swap(swapped.validators[0].pub_key, swapped.validators[1].pub_key);
  ExpectRefused(VerifySignedHeader(sh_, swapped, g_.chain_id, 11), Refusal::kValidatorsHashMismatch);
  // A vote relabelled with another validator's address.
  SignedHeader sh = sh_;
  sh.commit.signatures[0].validator_address[0] ^= 0x01;
  ExpectRefused(Run(sh), Refusal::kAddressMismatch);
  // Votes reordered: each lands on another validator's position.
  SignedHeader reordered = sh_;
  std::swap(reordered.commit.signatures[0], reordered.commit.signatures[1]);
  ExpectRefused(Run(reordered), Refusal::kAddressMismatch);
}

TEST_F(Tamper, WrongHeight) {
  ExpectRefused(VerifySignedHeader(sh_, g_.validators, g_.chain_id, 12), Refusal::kHeightMismatch);
  SignedHeader sh = sh_;
  sh.commit.height = 12;
  ExpectRefused(Run(sh), Refusal::kHeightMismatch);
  sh = sh_;
  sh.header.height = 12;
  sh.commit.height = 12;
  Rebind(sh);
  ExpectRefused(VerifySignedHeader(sh, g_.validators, g_.chain_id, 12), Refusal::kInvalidSignature);
}

TEST_F(Tamper, MalformedVotes) {
  SignedHeader sh = sh_;
  sh.commit.signatures[0].signature.resize(65);
  ExpectRefused(Run(sh), Refusal::kMalformed);
  sh = sh_;
  sh.commit.signatures[0].validator_address.resize(19);
  ExpectRefused(Run(sh), Refusal::kMalformed);
  sh = sh_;
  sh.commit.signatures[0].flag = BlockIdFlag::kAbsent;  // absent but still carrying a signature
  ExpectRefused(Run(sh), Refusal::kMalformed);
  sh = sh_;
  sh.commit.signatures[0].signature.clear();
  ExpectRefused(Run(sh), Refusal::kMalformed);
}

TEST_F(Tamper, SingleValidatorCommitWithItsVoteDropped) {
  Genesis g = LoadGenesis("single");
  SignedHeader sh = LoadCommit("single/commit_9.json");
  ASSERT_TRUE(VerifySignedHeader(sh, g.validators, g.chain_id, 9).ok());
  sh.commit.signatures[0] = CommitSig{};
  ExpectRefused(VerifySignedHeader(sh, g.validators, g.chain_id, 9), Refusal::kInsufficientVotingPower);
  // The other chain's validator set.
  ExpectRefused(VerifySignedHeader(LoadCommit("single/commit_9.json"), g_.validators, g.chain_id, 9),
                Refusal::kValidatorsHashMismatch);
}

// ---------- synthetic sets (own ed25519 keys): the 2/3 boundary and weighted power ----------

struct TestKey {
  std::shared_ptr<EVP_PKEY> key;
  std::array<uint8_t, kEd25519KeySize> pub{};
  Bytes Sign(ByteView msg) const {
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
    Bytes sig(64);
    size_t len = sig.size();
    EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()), 1);
    EXPECT_EQ(EVP_DigestSign(ctx.get(), sig.data(), &len, msg.data(), msg.size()), 1);
    return sig;
  }
};

TestKey NewKey() {
  EVP_PKEY* raw = nullptr;
  std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)> ctx(EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, nullptr),
                                                                 EVP_PKEY_CTX_free);
  EXPECT_EQ(EVP_PKEY_keygen_init(ctx.get()), 1);
  EXPECT_EQ(EVP_PKEY_keygen(ctx.get(), &raw), 1);
  TestKey k{std::shared_ptr<EVP_PKEY>(raw, EVP_PKEY_free)};
  size_t len = k.pub.size();
  EXPECT_EQ(EVP_PKEY_get_raw_public_key(raw, k.pub.data(), &len), 1);
  return k;
}

// A header at height 5 of chain "synthetic" committed by the validators whose index is in `signers`.
struct Synthetic {
  std::vector<TestKey> keys;  // in the set's canonical order
  ValidatorSet set;
  SignedHeader Commit(const std::vector<size_t>& signers) const {
    SignedHeader sh;
    sh.header.version_block = 11;
    sh.header.chain_id = "synthetic";
    sh.header.height = 5;
    sh.header.time = {1796221993, 1};
    Hash32 vh = set.Hash();
    sh.header.validators_hash.assign(vh.begin(), vh.end());
    sh.header.next_validators_hash = sh.header.validators_hash;
    sh.header.app_hash = {1, 2, 3};
    sh.header.proposer_address = set.validators[0].address;
    Hash32 hh = sh.header.Hash();
    sh.commit.height = 5;
    sh.commit.round = 1;
    sh.commit.block_id.hash.assign(hh.begin(), hh.end());
    sh.commit.block_id.parts = {1, Bytes(32, 0xab)};
    sh.commit.signatures.resize(set.validators.size());
    for (size_t i : signers) {
      CommitSig& s = sh.commit.signatures[i];
      s.flag = BlockIdFlag::kCommit;
      s.validator_address = set.validators[i].address;
      s.timestamp = {1796221994, static_cast<int32_t>(i)};
      s.signature = keys[i].Sign(VoteSignBytes("synthetic", sh.commit, i));
    }
    return sh;
  }
};

Synthetic MakeSynthetic(const std::vector<int64_t>& powers) {
  std::vector<Validator> vals;
  std::vector<TestKey> keys;
  for (int64_t p : powers) {
    keys.push_back(NewKey());
    vals.push_back(Validator{{}, keys.back().pub, p});
  }
  Synthetic s;
  s.set = *MakeValidatorSet(vals);
  for (const auto& v : s.set.validators)
    for (const auto& k : keys)
      if (k.pub == v.pub_key) s.keys.push_back(k);
  return s;
}

TEST(LightClientSynthetic, ExactlyTwoThirdsIsNotEnough) {
  Synthetic s = MakeSynthetic({1, 1, 1});
  EXPECT_TRUE(VerifySignedHeader(s.Commit({0, 1, 2}), s.set, "synthetic", 5).ok());
  Verification two = VerifySignedHeader(s.Commit({0, 2}), s.set, "synthetic", 5);
  EXPECT_EQ(two.refusal, Refusal::kInsufficientVotingPower) << two.detail;
  EXPECT_EQ(two.signed_power, 2);
  EXPECT_EQ(two.needed_power, 2);
}

TEST(LightClientSynthetic, PowerIsWeightedNotCounted) {
  // Powers 10, 3, 2, 1 (total 16, needed > 10): the big validator alone is not enough, with the
  // 1 it is; the three small ones together are not.
  Synthetic s = MakeSynthetic({3, 10, 1, 2});
  ASSERT_EQ(s.set.validators[0].voting_power, 10);  // canonical order: power descending
  EXPECT_EQ(VerifySignedHeader(s.Commit({0}), s.set, "synthetic", 5).refusal, Refusal::kInsufficientVotingPower);
  Verification v = VerifySignedHeader(s.Commit({0, 3}), s.set, "synthetic", 5);
  EXPECT_TRUE(v.ok()) << v.detail;
  EXPECT_EQ(v.signed_power, 11);
  EXPECT_EQ(VerifySignedHeader(s.Commit({1, 2, 3}), s.set, "synthetic", 5).refusal,
            Refusal::kInsufficientVotingPower);
  // A nil vote with a valid signature is verified but adds no power.
  SignedHeader sh = s.Commit({0, 1});
  sh.commit.signatures[3].flag = BlockIdFlag::kNil;
  sh.commit.signatures[3].validator_address = s.set.validators[3].address;
  sh.commit.signatures[3].timestamp = {1796221995, 0};
  sh.commit.signatures[3].signature = s.keys[3].Sign(VoteSignBytes("synthetic", sh.commit, 3));
  Verification nil = VerifySignedHeader(sh, s.set, "synthetic", 5);
  EXPECT_TRUE(nil.ok()) << nil.detail;
  EXPECT_EQ(nil.nil_votes, 1u);
  EXPECT_EQ(nil.signed_power, 13);
  sh = s.Commit({1, 2, 3});
  sh.commit.signatures[0].flag = BlockIdFlag::kNil;
  sh.commit.signatures[0].validator_address = s.set.validators[0].address;
  sh.commit.signatures[0].signature = s.keys[0].Sign(VoteSignBytes("synthetic", sh.commit, 0));
  Verification nil_big = VerifySignedHeader(sh, s.set, "synthetic", 5);
  EXPECT_EQ(nil_big.refusal, Refusal::kInsufficientVotingPower) << nil_big.detail;
  EXPECT_EQ(nil_big.nil_votes, 1u);
}

TEST(LightClientSynthetic, ForeignKeySignatureRefused) {
  Synthetic s = MakeSynthetic({1, 1, 1, 1});
  SignedHeader sh = s.Commit({0, 1, 2, 3});
  // Validator 1's slot signed by a key outside the set (the address still claims validator 1).
  sh.commit.signatures[1].signature = NewKey().Sign(VoteSignBytes("synthetic", sh.commit, 1));
  EXPECT_EQ(VerifySignedHeader(sh, s.set, "synthetic", 5).refusal, Refusal::kInvalidSignature);
}

// ---------- JSON parsing ----------

TEST(LightClientJson, Rfc3339) {
  auto t = ParseRfc3339("1970-01-01T00:00:00Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->seconds, 0);
  t = ParseRfc3339("0001-01-01T00:00:00Z");  // Go's zero time, what absent votes carry
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->seconds, -62135596800);
  t = ParseRfc3339("2026-12-02T14:33:13.97504906Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->seconds, 1796221993);
  EXPECT_EQ(t->nanos, 975049060);
  t = ParseRfc3339("2026-12-02T16:33:13.5+02:00");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->seconds, 1796221993);
  EXPECT_EQ(t->nanos, 500000000);
  t = ParseRfc3339("2024-02-29T23:59:59Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->seconds, 1709251199);
  for (const char* bad : {"", "2026-12-02", "2026-12-02T14:33:13", "2026-13-02T14:33:13Z", "2025-02-29T00:00:00Z",
                          "2026-12-02T24:00:00Z", "2026-12-02T14:33:13.Z", "2026-12-02T14:33:13.1234567890Z",
                          "2026-12-02T14:33:13Zx", "2026-12-02T14:33:13+0200"})
    EXPECT_FALSE(ParseRfc3339(bad).ok()) << bad;
}

TEST(LightClientJson, Base64) {
  EXPECT_EQ(ToHex(*DecodeBase64("")), "");
  EXPECT_EQ(AsString(*DecodeBase64("Zg==")), "f");
  EXPECT_EQ(AsString(*DecodeBase64("Zm8=")), "fo");
  EXPECT_EQ(AsString(*DecodeBase64("Zm9v")), "foo");
  for (const char* bad : {"Zg=", "Zh==", "Z===", "Zg==Zg==", "Zm9*", "=Zg="}) EXPECT_FALSE(DecodeBase64(bad).ok()) << bad;
}

TEST(LightClientJson, TimestampEncoding) {
  // seconds=1 (08 01), nanos=2 (10 02); zero fields omitted.
  EXPECT_EQ(ToHex(EncodeTimestamp({1, 2})), "08011002");
  EXPECT_EQ(ToHex(EncodeTimestamp({0, 0})), "");
  // The zero BlockID still writes its non-nullable part set header.
  EXPECT_EQ(ToHex(EncodeBlockId({})), "1200");
}

TEST(LightClientJson, RefusesBadDocuments) {
  EXPECT_FALSE(ParseCommitJson("").ok());
  EXPECT_FALSE(ParseCommitJson("[]").ok());
  EXPECT_FALSE(ParseCommitJson("{}").ok());
  auto err = ParseCommitJson(R"({"jsonrpc":"2.0","id":-1,"error":{"code":-32603,"message":"height 99 must be less than or equal to the current blockchain height 12"}})");
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().code(), Code::kUnavailable);
  EXPECT_NE(err.status().message().find("current blockchain height"), std::string::npos);

  nlohmann::json j = nlohmann::json::parse(ReadData("net4/commit_11.json"));
  auto& sig = j["result"]["signed_header"]["commit"]["signatures"][0];
  nlohmann::json bad = j;
  bad["result"]["signed_header"]["commit"]["signatures"][0]["block_id_flag"] = 4;
  EXPECT_FALSE(ParseCommitJson(bad.dump()).ok());
  bad = j;
  bad["result"]["signed_header"]["header"]["height"] = "11x";
  EXPECT_FALSE(ParseCommitJson(bad.dump()).ok());
  bad = j;
  bad["result"]["signed_header"]["header"]["height"] = "99999999999999999999";
  EXPECT_FALSE(ParseCommitJson(bad.dump()).ok());
  bad = j;
  bad["result"]["signed_header"]["header"]["app_hash"] = "0x02";
  EXPECT_FALSE(ParseCommitJson(bad.dump()).ok());
  bad = j;
  bad["result"]["signed_header"]["commit"]["signatures"][0]["signature"] = sig["signature"].get<std::string>() + "A";
  EXPECT_FALSE(ParseCommitJson(bad.dump()).ok());
  // Numbers where strings usually are: accepted (same value).
  nlohmann::json num = j;
  num["result"]["signed_header"]["header"]["height"] = 11;
  auto parsed = ParseCommitJson(num.dump());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->header.height, 11);
  // The bare result object parses as well as the envelope.
  EXPECT_TRUE(ParseCommitJson(j["result"].dump()).ok());
}

TEST(LightClientJson, GenesisRefusals) {
  nlohmann::json g = nlohmann::json::parse(ReadData("net4/genesis.json"));
  nlohmann::json bad = g;
  bad["validators"] = nlohmann::json::array();
  auto r = ParseGenesisJson(bad.dump());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("no validators"), std::string::npos);
  bad = g;
  bad["validators"][0]["pub_key"]["type"] = "tendermint/PubKeySecp256k1";
  r = ParseGenesisJson(bad.dump());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnimplemented);
  bad = g;
  bad["validators"][1] = bad["validators"][0];
  r = ParseGenesisJson(bad.dump());
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("twice"), std::string::npos);
  bad = g;
  bad["validators"][0]["address"] = "00" + bad["validators"][0]["address"].get<std::string>().substr(2);
  EXPECT_FALSE(ParseGenesisJson(bad.dump()).ok());
  bad = g;
  bad["validators"][0]["power"] = "0";
  EXPECT_FALSE(ParseGenesisJson(bad.dump()).ok());
  // GET /genesis wraps the document in {"result": {"genesis": ...}}.
  nlohmann::json wrapped = {{"jsonrpc", "2.0"}, {"id", -1}, {"result", {{"genesis", g}}}};
  auto w = ParseGenesisJson(wrapped.dump());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ(w->initial_height, 1);
}

}  // namespace
}  // namespace lucid::lightclient
