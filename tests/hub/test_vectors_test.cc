#include "hub/test_vectors.h"

#include <cmath>
#include <cstring>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace lucid::hub {
namespace {

std::string ReadData(const std::string& name) {
  std::ifstream in(std::string(LUCID_SOURCE_DIR) + "/tests/data/hub/" + name, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Tensor Floats(std::vector<float> values) {
  Bytes data(values.size() * 4);
  std::memcpy(data.data(), values.data(), data.size());
  return Tensor::FromBytes(DType::kFloat32, {1, static_cast<int64_t>(values.size())}, data).value();
}

TEST(TestVectors, ParsesCommittedFileAndCanonicalisesStably) {
  std::string text = ReadData("tiny_mlp_vectors.json");
  ASSERT_FALSE(text.empty());
  auto vectors = ParseTestVectors(AsBytes(text));
  ASSERT_TRUE(vectors.ok()) << vectors.status().ToString();
  ASSERT_EQ(vectors->size(), 4u);
  EXPECT_EQ((*vectors)[0].inputs.at("x").shape(), (std::vector<int64_t>{1, 8}));
  EXPECT_EQ((*vectors)[0].outputs.at("probs").shape(), (std::vector<int64_t>{1, 4}));

  auto canonical = CanonicalTestVectors(*vectors);
  ASSERT_TRUE(canonical.ok());
  EXPECT_EQ(AsString(*canonical).find(' '), std::string::npos);
  auto again = ParseTestVectors(*canonical);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  // Same tensors, bit for bit, and the same canonical bytes.
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ((*again)[i].inputs, (*vectors)[i].inputs);
    EXPECT_EQ((*again)[i].outputs, (*vectors)[i].outputs);
  }
  EXPECT_EQ(*CanonicalTestVectors(*again), *canonical);
}

TEST(TestVectors, RefusesMalformedFiles) {
  EXPECT_EQ(ParseTestVectors(AsBytes("{}")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseTestVectors(AsBytes("[]")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(ParseTestVectors(AsBytes("[{")).status().code(), Code::kInvalidArgument);
  std::string one = R"({"inputs":{"x":{"dtype":"float32","shape":[1],"data":[1]}},)"
                    R"("outputs":{"y":{"dtype":"float32","shape":[1],"data":[2]}}})";
  ASSERT_TRUE(ParseTestVectors(AsBytes("[" + one + "]")).ok());
  // Extra key, wrong count of values, index named in the error.
  std::string extra = R"({"inputs":{"x":{"dtype":"float32","shape":[1],"data":[1]}},"note":1,)"
                      R"("outputs":{"y":{"dtype":"float32","shape":[1],"data":[2]}}})";
  Status st = ParseTestVectors(AsBytes("[" + one + "," + extra + "]")).status();
  EXPECT_NE(st.message().find("test vector 1"), std::string::npos) << st.ToString();
  std::string short_data = R"({"inputs":{"x":{"dtype":"float32","shape":[2],"data":[1]}},)"
                           R"("outputs":{"y":{"dtype":"float32","shape":[1],"data":[2]}}})";
  st = ParseTestVectors(AsBytes("[" + one + "," + one + "," + short_data + "]")).status();
  EXPECT_NE(st.message().find("test vector 2"), std::string::npos) << st.ToString();

  std::string many = "[";
  for (int i = 0; i < 5; ++i) many += (i ? "," : "") + one;
  many += "]";
  EXPECT_TRUE(ParseTestVectors(AsBytes(many), 5).ok());
  EXPECT_EQ(ParseTestVectors(AsBytes(many), 4).status().code(), Code::kOutOfRange);
}

TEST(MatchOutputs, ExactToleranceAndRefusal) {
  Tolerance tol = ParseTolerance(kDefaultAbsTolerance, kDefaultRelTolerance).value();
  EXPECT_DOUBLE_EQ(tol.abs, 1e-5);
  EXPECT_DOUBLE_EQ(tol.rel, 1e-4);
  TensorMap want{{"p", Floats({0.25f, 0.75f})}};

  auto exact = MatchOutputs(want, want, std::nullopt);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(*exact, MatchRule::kExact);

  TensorMap near{{"p", Floats({std::nextafter(0.25f, 1.0f), 0.75f})}};
  EXPECT_EQ(MatchOutputs(want, near, tol).value(), MatchRule::kTolerance);
  EXPECT_EQ(MatchOutputs(want, near, std::nullopt).status().code(), Code::kInvalidArgument);

  TensorMap far{{"p", Floats({0.25f, 0.5f})}};
  Status st = MatchOutputs(want, far, tol).status();
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("\"p\""), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("0.25"), std::string::npos) << st.ToString();  // the largest difference
  EXPECT_NE(st.message().find("element 1"), std::string::npos) << st.ToString();

  TensorMap renamed{{"q", Floats({0.25f, 0.75f})}};
  EXPECT_FALSE(MatchOutputs(want, renamed, tol).ok());
  TensorMap reshaped{{"p", Tensor::FromBytes(DType::kFloat32, {2, 1}, want.at("p").bytes()).value()}};
  EXPECT_FALSE(MatchOutputs(want, reshaped, tol).ok());

  float nan = std::nanf("");
  TensorMap with_nan{{"p", Floats({nan, 0.75f})}};
  EXPECT_FALSE(MatchOutputs(want, with_nan, tol).ok());
  EXPECT_TRUE(MatchOutputs(with_nan, with_nan, tol).ok());

  // Integers never get a tolerance.
  Tensor a = Tensor::FromBytes(DType::kInt32, {1}, Bytes{1, 0, 0, 0}).value();
  Tensor b = Tensor::FromBytes(DType::kInt32, {1}, Bytes{2, 0, 0, 0}).value();
  EXPECT_FALSE(MatchOutputs({{"i", a}}, {{"i", b}}, Tolerance{10, 10}).ok());
}

TEST(MatchOutputs, RefusesBadTolerances) {
  EXPECT_FALSE(ParseTolerance("x", "1e-4").ok());
  EXPECT_FALSE(ParseTolerance("1e-5", "-1").ok());
  EXPECT_FALSE(ParseTolerance("", "1").ok());
  EXPECT_FALSE(ParseTolerance("inf", "1").ok());
}

}  // namespace
}  // namespace lucid::hub
