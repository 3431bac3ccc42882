#include "crypto/cid.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "crypto/hash.h"

namespace lucid::crypto {
namespace {

constexpr const char* kHelloWorldCid = "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e";

Bytes Pattern(size_t n) {
  Bytes out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>((i * 31 + 7) % 251);
  return out;
}

TEST(Base32Test, Rfc4648VectorsLowerCaseNoPadding) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},           {"f", "my"},          {"fo", "mzxq"},          {"foo", "mzxw6"},
      {"foob", "mzxw6yq"}, {"fooba", "mzxw6ytb"}, {"foobar", "mzxw6ytboi"},
  };
  for (const auto& [plain, encoded] : cases) {
    EXPECT_EQ(Base32Lower(AsBytes(plain)), encoded);
    auto decoded = Base32LowerDecode(encoded);
    ASSERT_TRUE(decoded.ok()) << encoded;
    EXPECT_EQ(AsString(*decoded), plain);
  }
}

TEST(Base32Test, DecodeRefusesBadInput) {
  EXPECT_FALSE(Base32LowerDecode("MZXW6").ok());     // upper case
  EXPECT_FALSE(Base32LowerDecode("mzxw6===").ok());  // padding
  EXPECT_FALSE(Base32LowerDecode("mzx1").ok());      // '1' not in alphabet
  EXPECT_FALSE(Base32LowerDecode("m").ok());         // 5 bits: no whole byte
  EXPECT_FALSE(Base32LowerDecode("mzx").ok());       // length 3 mod 8
  // "f" is "my"; "mz" decodes to the same byte but carries non-zero unused bits.
  auto canonical = Base32LowerDecode("my");
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(*canonical, ToBytes("f"));
  auto r = Base32LowerDecode("mz");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("trailing bits"), std::string::npos);
}

TEST(CidTest, HelloWorld) {
  Cid cid = Cid::Of(AsBytes("hello world"));
  EXPECT_EQ(cid.ToString(), kHelloWorldCid);
  EXPECT_EQ(cid.digest, Sha256(AsBytes("hello world")));
  Bytes bin = cid.ToBinary();
  ASSERT_EQ(bin.size(), 36u);
  EXPECT_EQ(ToHex(ByteView(bin).first(4)), "01551220");
  auto parsed = Cid::Parse(kHelloWorldCid);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, cid);
}

// Vectors from the `multiformats` Python package (tools/vectors/cid_vectors.py).
TEST(CidTest, MatchesMultiformatsVectors) {
  std::ifstream in(std::string(LUCID_SOURCE_DIR) + "/tests/data/crypto/cid_vectors.json");
  ASSERT_TRUE(in.good());
  nlohmann::json doc = nlohmann::json::parse(in);
  int checked = 0;
  for (const auto& v : doc["vectors"]) {
    Bytes content;
    if (v.contains("content_hex")) {
      content = *FromHex(v["content_hex"].get<std::string>());
    } else {
      content = Pattern(v["pattern_length"].get<size_t>());
    }
    const std::string expected = v["cid"];
    Cid cid = Cid::Of(content);
    EXPECT_EQ(cid.ToString(), expected);
    auto parsed = Cid::Parse(expected);
    ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
    EXPECT_EQ(*parsed, cid);
    EXPECT_TRUE(parsed->Check(content).ok());
    ++checked;
  }
  EXPECT_GE(checked, 7);
  for (const auto& [what, text] : doc["rejected"].items()) {
    auto r = Cid::Parse(text.get<std::string>());
    EXPECT_FALSE(r.ok()) << what;
    if (!r.ok()) {
      EXPECT_NE(r.status().message().find(text.get<std::string>()), std::string::npos);
    }
  }
}

TEST(CidTest, ParseNamesWhatIsWrong) {
  auto expect_error = [](const std::string& text, const std::string& fragment) {
    auto r = Cid::Parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(fragment), std::string::npos) << r.status().message();
  };
  std::string good = kHelloWorldCid;
  expect_error("", "empty");
  expect_error("B" + good.substr(1), "upper-case");
  expect_error("QmaozNR7DZHQK1ZcU9p7QdrshMvXqWK6gpu5rmrkPdT3L4", "CIDv0");
  expect_error("z" + good.substr(1), "multibase prefix 'z'");
  expect_error("bafybeifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e", "content codec 0x70");
  expect_error("bafyreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e", "content codec 0x71");
  std::string upper_body = good;
  upper_body[5] = 'E';
  expect_error(upper_body, "invalid character");
  expect_error(good.substr(0, good.size() - 1), "base32");
  expect_error(good + "a", "base32");

  Hash32 digest = Sha256(AsBytes("x"));
  auto with_header = [&](std::initializer_list<uint8_t> header, size_t digest_len) {
    Bytes bin(header);
    bin.insert(bin.end(), digest.begin(), digest.begin() + digest_len);
    return "b" + Base32Lower(bin);
  };
  expect_error(with_header({0x02, 0x55, 0x12, 0x20}, 32), "version 2");
  expect_error(with_header({0x01, 0x55, 0x13, 0x20}, 32), "hash function 0x13");
  expect_error(with_header({0x01, 0x55, 0x12, 0x1f}, 31), "digest length 31");
  expect_error(with_header({0x01, 0x55, 0x12, 0x20}, 31), "binary length 35");
  expect_error(with_header({0x01, 0x55, 0x12}, 0), "too short");
  // Trailing data after the digest.
  Bytes long_bin = Cid{digest}.ToBinary();
  long_bin.push_back(0);
  expect_error("b" + Base32Lower(long_bin), "binary length 37");
}

TEST(CidTest, CheckDetectsTamperedContent) {
  Bytes content = Pattern(4096);
  Cid cid = Cid::Of(content);
  EXPECT_TRUE(cid.Check(content).ok());
  for (size_t pos : {size_t{0}, size_t{2048}, size_t{4095}}) {
    Bytes tampered = content;
    tampered[pos] ^= 0x01;
    Status s = cid.Check(tampered);
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), Code::kDataLoss);
    EXPECT_NE(s.message().find(cid.ToString()), std::string::npos);
  }
  content.pop_back();
  EXPECT_EQ(cid.Check(content).code(), Code::kDataLoss);
}

TEST(CidTest, EveryDigestRoundTripsThroughText) {
  for (int i = 0; i < 200; ++i) {
    Cid cid = Cid::Of(Bytes{static_cast<uint8_t>(i), static_cast<uint8_t>(i >> 3)});
    std::string text = cid.ToString();
    EXPECT_EQ(text.substr(0, 7), "bafkrei");
    EXPECT_EQ(text.size(), 59u);
    auto parsed = Cid::Parse(text);
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, cid);
  }
}

}  // namespace
}  // namespace lucid::crypto
