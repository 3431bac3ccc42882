#include "crypto/hash.h"

#include <gtest/gtest.h>

namespace lucid::crypto {
namespace {

std::string Hex(const Hash32& h) { return ToHex(h); }

TEST(Sha256Test, KnownAnswers) {
  EXPECT_EQ(Hex(Sha256({})), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256(AsBytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256(AsBytes("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256Test, StreamMatchesOneShotForEverySplit) {
  Bytes data(300);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
  Hash32 expected = Sha256(data);
  for (size_t split = 0; split <= data.size(); split += 13) {
    Sha256Stream stream;
    stream.Update(ByteView(data).first(split));
    stream.Update(ByteView(data).subspan(split));
    EXPECT_EQ(stream.Finish(), expected) << "split " << split;
  }
}

TEST(Sha256Test, StreamCanBeReusedAfterFinish) {
  Sha256Stream stream;
  stream.Update(AsBytes("first"));
  EXPECT_EQ(stream.Finish(), Sha256(AsBytes("first")));
  stream.Update(AsBytes("abc"));
  EXPECT_EQ(stream.Finish(), Sha256(AsBytes("abc")));
  EXPECT_EQ(stream.Finish(), Sha256({}));
}

TEST(TaggedSha256Test, IsSha256OfTagZeroData) {
  Bytes manual = ToBytes("lucid:test:v1");
  manual.push_back(0x00);
  Bytes data = ToBytes("payload");
  manual.insert(manual.end(), data.begin(), data.end());
  EXPECT_EQ(TaggedSha256("lucid:test:v1", data), Sha256(manual));
  // The separator keeps (tag, data) pairs apart that would concatenate equally.
  EXPECT_NE(TaggedSha256("lucid:a", AsBytes("b")), TaggedSha256("lucid:ab", {}));
  EXPECT_NE(TaggedSha256("lucid:x:v1", data), TaggedSha256("lucid:y:v1", data));
}

TEST(Keccak256Test, PublishedVectors) {
  EXPECT_EQ(Hex(Keccak256({})), "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470");
  EXPECT_EQ(Hex(Keccak256(AsBytes("abc"))), "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45");
  // Not SHA3-256 (which gives 3a985da7... for "abc").
  EXPECT_NE(Hex(Keccak256(AsBytes("abc"))), "3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532");
}

// Cross-checked with eth_utils.keccak (eth-hash 0.8.0 / pycryptodome 3.24.1):
// input byte i = i % 256 for the given length, see tools/vectors/keccak_vectors.py.
TEST(Keccak256Test, BlockBoundariesMatchPython) {
  struct Case {
    size_t length;
    const char* hex;
  };
  const Case cases[] = {
#include "keccak_vectors.inc"
  };
  for (const Case& c : cases) {
    Bytes data(c.length);
    for (size_t i = 0; i < c.length; ++i) data[i] = static_cast<uint8_t>(i);
    EXPECT_EQ(Hex(Keccak256(data)), c.hex) << "length " << c.length;
  }
}

TEST(Keccak256Test, OneBitChangesDigest) {
  Bytes data(137, 0x5a);
  Hash32 base = Keccak256(data);
  data[136] ^= 0x01;
  EXPECT_NE(Keccak256(data), base);
}

}  // namespace
}  // namespace lucid::crypto
