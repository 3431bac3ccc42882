#include "hub/manifest.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "crypto/hash.h"

namespace lucid::hub {
namespace {

Manifest Sample() {
  Manifest m;
  m.name = "digits-mlp";
  m.major = 1;
  m.minor = 0;
  m.files = {{"README.md", crypto::Cid::Of(AsBytes("readme")), 6},
             {"model.onnx", crypto::Cid::Of(AsBytes("model")), 5}};
  m.model_file = "model.onnx";
  m.inputs = {{"x", DType::kFloat32, {-1, 64}}};
  m.outputs = {{"probs", DType::kFloat32, {-1, 10}}};
  m.ops = {"Gemm", "Relu", "Softmax"};
  m.opset = 13;
  m.engine = "lucid-onnx/f32-canonical/1";
  TestVectorsRef tv;
  tv.cid = crypto::Cid::Of(AsBytes("vectors"));
  tv.count = 2;
  tv.output_hashes = {crypto::Sha256(AsBytes("a")), crypto::Sha256(AsBytes("b"))};
  tv.match = MatchRule::kTolerance;
  tv.abs_tolerance = std::string(kDefaultAbsTolerance);
  tv.rel_tolerance = std::string(kDefaultRelTolerance);
  m.test_vectors = tv;
  return m;
}

std::string Text(const Manifest& m) {
  auto bytes = SerializeManifest(m);
  EXPECT_TRUE(bytes.ok()) << bytes.status().ToString();
  return bytes.ok() ? AsString(*bytes) : "";
}

Status ParseText(const std::string& text) { return ParseManifest(AsBytes(text)).status(); }

void Replace(std::string& s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  s.replace(at, from.size(), to);
}

TEST(Manifest, RoundTrip) {
  Manifest m = Sample();
  std::string text = Text(m);
  auto parsed = ParseManifest(AsBytes(text));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, m);
  auto cid = ManifestCid(m);
  ASSERT_TRUE(cid.ok());
  EXPECT_EQ(*cid, crypto::Cid::Of(AsBytes(text)));
  EXPECT_EQ(m.version(), "1.0");
}

TEST(Manifest, CanonicalTextIsPinned) {
  Manifest m = Sample();
  m.test_vectors.reset();
  m.files.resize(1);
  m.files[0] = {"model.onnx", crypto::Cid::Of(AsBytes("model")), 5};
  EXPECT_EQ(Text(m),
            "{\"engine\":\"lucid-onnx/f32-canonical/1\",\"files\":[{\"cid\":\"" + m.files[0].cid.ToString() +
                "\",\"path\":\"model.onnx\",\"size\":5}],\"format\":\"onnx\",\"format_version\":1,"
                "\"inputs\":[{\"dtype\":\"float32\",\"name\":\"x\",\"shape\":[-1,64]}],\"model_file\":\"model.onnx\","
                "\"name\":\"digits-mlp\",\"ops\":[\"Gemm\",\"Relu\",\"Softmax\"],\"opset\":13,"
                "\"outputs\":[{\"dtype\":\"float32\",\"name\":\"probs\",\"shape\":[-1,10]}],"
                "\"quantization\":\"none\",\"version\":\"1.0\"}");
  auto parsed = ParseManifest(AsBytes(Text(m)));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_FALSE(parsed->test_vectors.has_value());
}

TEST(Manifest, ExactMatchHasNoTolerances) {
  Manifest m = Sample();
  m.test_vectors->match = MatchRule::kExact;
  EXPECT_FALSE(SerializeManifest(m).ok());  // tolerances left over
  m.test_vectors->abs_tolerance.clear();
  m.test_vectors->rel_tolerance.clear();
  std::string text = Text(m);
  EXPECT_EQ(text.find("tolerance"), std::string::npos);
  auto parsed = ParseManifest(AsBytes(text));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, m);
}

Manifest QuantizedSample() {
  Manifest m = Sample();
  m.minor = 1;
  m.quantization = std::string(kQuantizationInt8Static);
  m.quantized_from = QuantizedFrom{crypto::Cid::Of(AsBytes("float manifest")), "0.00312", "19/20"};
  return m;
}

TEST(Manifest, QuantizedFromRoundTripsAsStrings) {
  Manifest m = QuantizedSample();
  std::string text = Text(m);
  EXPECT_NE(text.find("\"quantization\":\"int8-static/1\",\"quantized_from\":{\"argmax_agreement\":\"19/20\","
                      "\"manifest\":\"" + m.quantized_from->manifest.ToString() + "\",\"max_abs_diff\":\"0.00312\"}"),
            std::string::npos)
      << text;
  auto parsed = ParseManifest(AsBytes(text));
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(*parsed, m);
  // A float model has no quantized_from; absent means absent after parsing.
  auto plain = ParseManifest(AsBytes(Text(Sample())));
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->quantized_from.has_value());
}

TEST(Manifest, RefusesBadQuantizationFields) {
  Manifest m = Sample();
  for (const char* bad : {"int8", "INT8-static/1", "", "int8-static/2", "none "}) {
    m.quantization = bad;
    Status st = SerializeManifest(m).status();
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("quantization"), std::string::npos) << st.ToString();
  }
  m = Sample();
  m.quantized_from = QuantizedFrom{crypto::Cid::Of(AsBytes("x")), "0.1", "1/1"};
  EXPECT_EQ(SerializeManifest(m).status().code(), Code::kInvalidArgument);  // with "none"
  for (const char* bad : {"", "-0.1", "+1", "nan", "inf", "1e999", "0.1x", "abc"}) {
    m = QuantizedSample();
    m.quantized_from->max_abs_diff = bad;
    EXPECT_EQ(SerializeManifest(m).status().code(), Code::kInvalidArgument) << bad;
  }
  for (const char* bad : {"", "3/2", "1/", "/1", "01/2", "1/02", "-1/2", "1 /2", "1/2/3", "a/b"}) {
    m = QuantizedSample();
    m.quantized_from->argmax_agreement = bad;
    EXPECT_EQ(SerializeManifest(m).status().code(), Code::kInvalidArgument) << bad;
  }
  // Tampered text: each change is refused by the parser, never silently accepted.
  std::string text = Text(QuantizedSample());
  for (auto [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"int8-static/1", "int8-static/9"},
           {"\"19/20\"", "\"21/20\""},
           {"\"0.00312\"", "0.00312"},
           {"\"max_abs_diff\"", "\"max_abs_dif\""},
           {"\"quantization\":\"int8-static/1\"", "\"quantization\":\"none\""}}) {
    std::string bad = text;
    Replace(bad, from, to);
    EXPECT_EQ(ParseText(bad).code(), Code::kInvalidArgument) << from << " -> " << to;
  }
  Replace(text, "\"19/20\"", "\"18/20\"");
  auto changed = ParseManifest(AsBytes(text));
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(*changed, QuantizedSample());  // every byte is part of the identity
}

TEST(Manifest, FilesAreSortedByPath) {
  Manifest m = Sample();
  std::swap(m.files[0], m.files[1]);
  std::string text = Text(m);
  EXPECT_LT(text.find("README.md"), text.find("\"model.onnx\",\"size\""));
  // Unsorted file lists in the text are not canonical.
  std::string unsorted = text;
  std::string readme = "{\"cid\":\"" + m.files[1].cid.ToString() + "\",\"path\":\"README.md\",\"size\":6}";
  std::string model = "{\"cid\":\"" + m.files[0].cid.ToString() + "\",\"path\":\"model.onnx\",\"size\":5}";
  Replace(unsorted, readme + "," + model, model + "," + readme);
  EXPECT_FALSE(ParseText(unsorted).ok());
}

TEST(Manifest, RefusesNonCanonicalText) {
  std::string text = Text(Sample());
  ASSERT_TRUE(ParseText(text).ok());

  std::string spaced = text;
  Replace(spaced, "\"format\":\"onnx\"", "\"format\": \"onnx\"");
  EXPECT_EQ(ParseText(spaced).code(), Code::kInvalidArgument);

  EXPECT_FALSE(ParseText(text + "\n").ok());

  std::string reordered = text;  // swap two adjacent keys
  Replace(reordered, "\"format\":\"onnx\",\"format_version\":1", "\"format_version\":1,\"format\":\"onnx\"");
  EXPECT_FALSE(ParseText(reordered).ok());

  std::string unknown = text;
  Replace(unknown, "\"format\":\"onnx\"", "\"extra\":\"x\",\"format\":\"onnx\"");
  Status st = ParseText(unknown);
  EXPECT_NE(st.message().find("extra"), std::string::npos) << st.ToString();

  std::string floaty = text;
  Replace(floaty, "\"opset\":13", "\"opset\":13.0");
  st = ParseText(floaty);
  EXPECT_NE(st.message().find("non-integer"), std::string::npos) << st.ToString();

  std::string leading_zero = text;
  Replace(leading_zero, "\"version\":\"1.0\"", "\"version\":\"01.0\"");
  EXPECT_FALSE(ParseText(leading_zero).ok());

  std::string duplicate_key = text;
  Replace(duplicate_key, "\"format\":\"onnx\"", "\"format\":\"gguf\",\"format\":\"onnx\"");
  EXPECT_FALSE(ParseText(duplicate_key).ok());

  std::string escaped = text;  // same string, different spelling
  Replace(escaped, "\"format\":\"onnx\"", "\"format\":\"\\u006fnnx\"");
  EXPECT_FALSE(ParseText(escaped).ok());
}

TEST(Manifest, RefusesUnknownFormatVersion) {
  std::string text = Text(Sample());
  Replace(text, "\"format_version\":1", "\"format_version\":2");
  Status st = ParseText(text);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("format_version"), std::string::npos) << st.ToString();
}

TEST(Manifest, RefusesBadCid) {
  Manifest m = Sample();
  std::string text = Text(m);
  std::string cid = m.test_vectors->cid.ToString();
  std::string bad = cid;
  bad[10] = bad[10] == 'a' ? 'b' : 'a';  // still base32, but a different digest: parses
  std::string swapped = text;
  Replace(swapped, cid, bad);
  // A valid-looking CID is accepted syntactically (it names other bytes)...
  EXPECT_TRUE(ParseText(swapped).ok());
  // ...but not malformed ones.
  for (const std::string& broken : std::vector<std::string>{cid.substr(0, 20), "Q" + cid.substr(1), cid + "a", std::string("bafy") + cid.substr(4)}) {
    std::string t = text;
    Replace(t, cid, broken);
    Status st = ParseText(t);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << broken;
    EXPECT_NE(st.message().find("test_vectors.cid"), std::string::npos) << st.ToString();
  }
  std::string bad_hash = text;
  Replace(bad_hash, ToHex(m.test_vectors->output_hashes[0]), "abcd");
  EXPECT_FALSE(ParseText(bad_hash).ok());
}

TEST(Manifest, RefusesBadPaths) {
  for (const std::string& path : std::vector<std::string>{"", "a/b.onnx", "../model.onnx", "..", ".", "a\\b", "sp ace", "x..y",
                           std::string(129, 'a')}) {
    Manifest m = Sample();
    m.files[0].path = path;
    Status st = SerializeManifest(m).status();
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << path;
    // The same refusal when such a path arrives in text.
    Manifest ok = Sample();
    std::string text = Text(ok);
    std::string t = text;
    Replace(t, "\"path\":\"README.md\"", "\"path\":" + nlohmann::json(path).dump());
    EXPECT_FALSE(ParseText(t).ok()) << path;
  }
  EXPECT_TRUE(ValidateFilePath("model-v2_final.onnx").ok());
  EXPECT_TRUE(ValidateFilePath(".hidden").ok());
}

TEST(Manifest, RefusesDuplicatePathsAndMissingModelFile) {
  Manifest m = Sample();
  m.files[0].path = "model.onnx";
  Status st = SerializeManifest(m).status();
  EXPECT_NE(st.message().find("twice"), std::string::npos) << st.ToString();

  m = Sample();
  m.model_file = "other.onnx";
  EXPECT_FALSE(SerializeManifest(m).ok());

  m = Sample();
  m.test_vectors->output_hashes.pop_back();
  EXPECT_FALSE(SerializeManifest(m).ok());

  m = Sample();
  m.test_vectors->abs_tolerance = "-1";
  EXPECT_FALSE(SerializeManifest(m).ok());
  m.test_vectors->abs_tolerance = "nan";
  EXPECT_FALSE(SerializeManifest(m).ok());
}

TEST(Manifest, RefusesBadNamesAndVersions) {
  for (const std::string& name : std::vector<std::string>{"", "Upper", "-lead", "a b", "a/b", std::string(65, 'a')}) {
    Manifest m = Sample();
    m.name = name;
    EXPECT_EQ(SerializeManifest(m).status().code(), Code::kInvalidArgument) << name;
  }
  for (std::string_view v : {"1", "1.", ".1", "1.0.0", "-1.0", "+1.0", "1.01", "4294967296.0", "1.x"}) {
    EXPECT_FALSE(ParseVersion(v).ok()) << v;
  }
  auto v = ParseVersion("12.0");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->first, 12u);
  EXPECT_EQ(v->second, 0u);
}

TEST(Manifest, FlippedByteNeverYieldsTheSameManifest) {
  Manifest m = Sample();
  std::string text = Text(m);
  crypto::Cid cid = crypto::Cid::Of(AsBytes(text));
  for (size_t i = 0; i < text.size(); ++i) {
    std::string t = text;
    t[i] ^= 0x01;
    auto parsed = ParseManifest(AsBytes(t));
    // Either refused, or a different manifest under a different CID.
    if (parsed.ok()) {
      EXPECT_NE(*parsed, m) << i;
      EXPECT_NE(crypto::Cid::Of(AsBytes(t)), cid);
      EXPECT_FALSE(cid.Check(AsBytes(t)).ok());
    }
  }
}

}  // namespace
}  // namespace lucid::hub
