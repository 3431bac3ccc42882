#include "zk/transcript.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>
#include <set>

#include "crypto/hash.h"

namespace lucid::zk {
namespace {

Bytes U64Be(uint64_t v) {
  Bytes out(8);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  return out;
}
Bytes U32Be(uint32_t v) {
  Bytes out(4);
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  return out;
}
Bytes Cat(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
Bytes H(const Bytes& b) {
  const Hash32 h = crypto::Sha256(b);
  return Bytes(h.begin(), h.end());
}

// Re-derives the documented byte layout (docs/zk.md, Transcript) with plain SHA-256.
TEST(TranscriptTest, MatchesTheDocumentedLayout) {
  Transcript t("lucid:test:v1");
  Bytes state = H(Cat({ToBytes("lucid:zk:transcript:v1"), {0}, U32Be(13), ToBytes("lucid:test:v1")}));
  EXPECT_EQ(Bytes(t.state().begin(), t.state().end()), state);

  t.Absorb("in", ToBytes("abc"));
  state = H(Cat({state, {0x01}, U32Be(2), ToBytes("in"), U64Be(3), ToBytes("abc")}));
  EXPECT_EQ(Bytes(t.state().begin(), t.state().end()), state);

  t.AbsorbFp("v", std::vector<Fp>{Fp::FromU64(5), Fp::FromU64(6)});
  state = H(Cat({state, {0x02}, U32Be(1), ToBytes("v"), U64Be(2), U64Be(5), U64Be(6)}));
  EXPECT_EQ(Bytes(t.state().begin(), t.state().end()), state);

  t.AbsorbFp2("w", Fp2(Fp::FromU64(7), Fp::FromU64(8)));
  state = H(Cat({state, {0x03}, U32Be(1), ToBytes("w"), U64Be(1), U64Be(7), U64Be(8)}));
  EXPECT_EQ(Bytes(t.state().begin(), t.state().end()), state);

  t.AbsorbU64("n", 9);
  state = H(Cat({state, {0x04}, U32Be(1), ToBytes("n"), U64Be(9)}));
  EXPECT_EQ(Bytes(t.state().begin(), t.state().end()), state);

  const Fp c = t.ChallengeFp("c");
  state = H(Cat({state, {0x05}, U32Be(1), ToBytes("c"), {1}, U64Be(1), U64Be(Fp::kModulus)}));
  const Bytes block = H(Cat({state, {0x06}, U64Be(0)}));
  uint64_t word = 0;
  for (int i = 0; i < 8; ++i) word = word << 8 | block[i];
  ASSERT_LT(word, Fp::kModulus);  // true for this input; rejection is tested below
  EXPECT_EQ(c.value(), word);
  state = H(Cat({state, {0x07}, U32Be(0), U64Be(1), U64Be(word)}));
  EXPECT_EQ(Bytes(t.state().begin(), t.state().end()), state);
}

TEST(TranscriptTest, Deterministic) {
  auto run = [] {
    Transcript t("lucid:test:v1");
    t.Absorb("a", ToBytes("hello"));
    t.AbsorbFp("b", std::vector<Fp>{Fp::FromU64(1), Fp::FromU64(2)});
    std::vector<uint64_t> out;
    out.push_back(t.ChallengeFp("x").value());
    const Fp2 y = t.ChallengeFp2("y");
    out.push_back(y.c0().value());
    out.push_back(y.c1().value());
    auto idx = t.ChallengeIndices("q", 5, 1000);
    EXPECT_TRUE(idx.ok());
    out.insert(out.end(), idx->begin(), idx->end());
    return out;
  };
  EXPECT_EQ(run(), run());
}

// A script is a list of transcript operations; each variant changes one thing, and every
// challenge drawn after the change must differ from the original script's.
using Op = std::function<void(Transcript&)>;

std::vector<uint64_t> Challenges(const std::vector<Op>& ops, std::string_view tag = "lucid:test:v1") {
  Transcript t(tag);
  std::vector<uint64_t> out;
  for (const Op& op : ops) {
    op(t);
    out.push_back(t.ChallengeFp("c").value());
    const Fp2 e = t.ChallengeFp2("e");
    out.push_back(e.c0().value() ^ (e.c1().value() << 1));
  }
  return out;
}

Op AbsorbBytes(std::string label, Bytes data) {
  return [label, data](Transcript& t) { t.Absorb(label, data); };
}

TEST(TranscriptTest, EveryChangeChangesEveryLaterChallenge) {
  const Bytes payload = ToBytes("0123456789abcdef");
  const std::vector<Op> base = {
      AbsorbBytes("first", payload),
      [](Transcript& t) { t.AbsorbFp("fp", std::vector<Fp>{Fp::FromU64(1), Fp::FromU64(2)}); },
      AbsorbBytes("third", ToBytes("xyz")),
  };
  const std::vector<uint64_t> expect = Challenges(base);

  auto check_all_differ = [&](const std::vector<Op>& variant, size_t first_changed_op,
                              const std::string& what) {
    const std::vector<uint64_t> got = Challenges(variant);
    ASSERT_EQ(got.size(), expect.size());
    for (size_t i = 2 * first_changed_op; i < got.size(); ++i)
      EXPECT_NE(got[i], expect[i]) << what << " challenge " << i;
  };

  // Every byte of the first payload, every bit position sampled.
  for (size_t i = 0; i < payload.size(); ++i) {
    for (int bit : {0, 7}) {
      Bytes changed = payload;
      changed[i] ^= static_cast<uint8_t>(1 << bit);
      std::vector<Op> v = base;
      v[0] = AbsorbBytes("first", changed);
      check_all_differ(v, 0, "payload byte " + std::to_string(i));
    }
  }
  // Label bytes.
  {
    std::vector<Op> v = base;
    v[0] = AbsorbBytes("firsu", payload);
    check_all_differ(v, 0, "label");
    v[0] = AbsorbBytes("", payload);
    check_all_differ(v, 0, "empty label");
  }
  // The label/data boundary: ("first", P) vs ("firs", "t" + P).
  {
    std::vector<Op> v = base;
    v[0] = AbsorbBytes("firs", Cat({ToBytes("t"), payload}));
    check_all_differ(v, 0, "label/data boundary");
  }
  // Splitting one absorption into two with the same concatenation.
  {
    std::vector<Op> v = base;
    v[0] = [&](Transcript& t) {
      t.Absorb("first", ByteView(payload).first(5));
      t.Absorb("first", ByteView(payload).subspan(5));
    };
    check_all_differ(v, 0, "split absorption");
  }
  // A field element vs its 8 raw bytes under the same label (op byte differs).
  {
    std::vector<Op> v = base;
    v[1] = AbsorbBytes("fp", Cat({U64Be(1), U64Be(2)}));
    check_all_differ(v, 1, "Fp vs bytes");
    v[1] = [](Transcript& t) { t.AbsorbFp("fp", std::vector<Fp>{Fp::FromU64(1)}); };
    check_all_differ(v, 1, "Fp count");
    v[1] = [](Transcript& t) { t.AbsorbFp("fp", std::vector<Fp>{Fp::FromU64(2), Fp::FromU64(1)}); };
    check_all_differ(v, 1, "Fp order");
    v[1] = [](Transcript& t) { t.AbsorbFp2("fp", Fp2(Fp::FromU64(1), Fp::FromU64(2))); };
    check_all_differ(v, 1, "Fp vs Fp2");
  }
  // Order of two absorptions.
  {
    std::vector<Op> v = {base[1], base[0], base[2]};
    check_all_differ(v, 0, "order");
  }
  // Last operation's data.
  {
    std::vector<Op> v = base;
    v[2] = AbsorbBytes("third", ToBytes("xyZ"));
    check_all_differ(v, 2, "last payload");
  }
  // Protocol tag.
  {
    const std::vector<uint64_t> got = Challenges(base, "lucid:test:v2");
    for (size_t i = 0; i < got.size(); ++i) EXPECT_NE(got[i], expect[i]) << "tag " << i;
  }
}

TEST(TranscriptTest, ChallengesAbsorbThemselves) {
  Transcript t("lucid:test:v1");
  const Hash32 before = t.state();
  const Fp a = t.ChallengeFp("c");
  EXPECT_NE(t.state(), before);
  const Fp b = t.ChallengeFp("c");
  EXPECT_NE(a, b);
  // A copy forks: both continue identically.
  Transcript fork = t;
  EXPECT_EQ(fork.ChallengeFp2("x"), t.ChallengeFp2("x"));
  // Drawing a challenge changes what later challenges are.
  Transcript u("lucid:test:v1");
  Transcript w("lucid:test:v1");
  (void)w.ChallengeFp("extra");
  EXPECT_NE(u.ChallengeFp("c"), w.ChallengeFp("c"));
  // Labels of challenges are bound too.
  Transcript l1("lucid:test:v1"), l2("lucid:test:v1");
  EXPECT_NE(l1.ChallengeFp("alpha"), l2.ChallengeFp("beta"));
  // ChallengeFp2s(2) is not two ChallengeFp2 calls, but it is deterministic and distinct.
  Transcript m1("lucid:test:v1"), m2("lucid:test:v1");
  const std::vector<Fp2> pair = m1.ChallengeFp2s("r", 2);
  EXPECT_EQ(pair, m2.ChallengeFp2s("r", 2));
  EXPECT_NE(pair[0], pair[1]);
}

TEST(TranscriptTest, IndicesAreInRangeAndRoughlyUniform) {
  Transcript t("lucid:test:v1");
  auto one = t.ChallengeIndices("q", 100, 1);
  ASSERT_TRUE(one.ok());
  for (uint64_t x : *one) EXPECT_EQ(x, 0u);

  // bound 3 does not divide 2^64: rejection matters. 30000 draws, each bucket ~10000.
  auto three = t.ChallengeIndices("q", 30000, 3);
  ASSERT_TRUE(three.ok());
  std::map<uint64_t, int> counts;
  for (uint64_t x : *three) {
    ASSERT_LT(x, 3u);
    ++counts[x];
  }
  for (uint64_t k = 0; k < 3; ++k) {
    EXPECT_GT(counts[k], 9400) << k;  // > 6 standard deviations from 10000
    EXPECT_LT(counts[k], 10600) << k;
  }
  // A bound just above 2^63 rejects almost half the words; results stay below it and the
  // upper half of the range [2^62, bound) holds about half of them.
  const uint64_t big = (1ULL << 63) + 12345;
  auto large = t.ChallengeIndices("q", 2000, big);
  ASSERT_TRUE(large.ok());
  int high = 0;
  for (uint64_t x : *large) {
    ASSERT_LT(x, big);
    high += x >= (1ULL << 62);
  }
  EXPECT_GT(high, 850);  // mean 1000, standard deviation ~22
  EXPECT_LT(high, 1150);
  auto max = t.ChallengeIndices("q", 100, ~0ULL);
  ASSERT_TRUE(max.ok());
  for (uint64_t x : *max) EXPECT_LT(x, ~0ULL);
  // Distinct positions for a PCS-sized draw (2^20 bound, 150 queries: collisions rare).
  auto queries = t.ChallengeIndices("q", 150, 1 << 20);
  ASSERT_TRUE(queries.ok());
  EXPECT_GT(std::set<uint64_t>(queries->begin(), queries->end()).size(), 140u);

  EXPECT_FALSE(t.ChallengeIndices("q", 1, 0).ok());
  EXPECT_FALSE(t.ChallengeIndices("q", Transcript::kMaxIndices + 1, 10).ok());
  auto none = t.ChallengeIndices("q", 0, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace lucid::zk
