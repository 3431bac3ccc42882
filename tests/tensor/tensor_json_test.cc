#include "tensor/tensor_json.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <random>

namespace lucid {
namespace {

using nlohmann::json;

TEST(TensorJsonTest, FloatRoundTripIsBitExact) {
  std::mt19937 rng(7);
  std::vector<float> values = {0.1f, -0.0f, 1e-45f, 3.4028235e38f, 1.17549435e-38f, 16777217.0f, 0.3333333f};
  for (int i = 0; i < 2000; ++i) values.push_back(std::bit_cast<float>(static_cast<uint32_t>(rng())));
  // Drop NaN/inf: JSON has no text for them.
  std::vector<float> finite;
  for (float v : values)
    if (v == v && v - v == 0.0f) finite.push_back(v);
  Bytes b(finite.size() * 4);
  std::memcpy(b.data(), finite.data(), b.size());
  Tensor t = *Tensor::FromBytes(DType::kFloat32, {static_cast<int64_t>(finite.size())}, b);
  std::string text = TensorToJson(t).dump();
  auto back = TensorFromJson(json::parse(text), "x");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->bytes(), t.bytes());
}

TEST(TensorJsonTest, IntsAndBools) {
  json j = json::parse(R"({"a": {"dtype": "int8", "shape": [3], "data": [-128, 0, 127]},
                           "b": {"dtype": "bool", "shape": [2], "data": [true, 0]},
                           "c": {"dtype": "int64", "shape": [1], "data": [-9223372036854775808]},
                           "d": {"dtype": "uint8", "shape": [1, 1], "data": [255]},
                           "e": {"dtype": "int32", "shape": [], "data": [-5]}})");
  auto m = TensorMapFromJson(j);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ((*m)["a"].data<int8_t>()[0], -128);
  EXPECT_EQ((*m)["b"].bytes(), (Bytes{1, 0}));
  EXPECT_EQ((*m)["c"].data<int64_t>()[0], INT64_MIN);
  EXPECT_EQ((*m)["e"].data<int32_t>()[0], -5);
  j["b"]["data"][1] = false;  // bools print as JSON booleans
  EXPECT_EQ(TensorMapToJson(*m), j);
}

void ExpectRefused(const std::string& text, const std::string& needle) {
  auto m = TensorMapFromJson(json::parse(text));
  ASSERT_FALSE(m.ok()) << text;
  EXPECT_NE(m.status().message().find(needle), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("\"x\""), std::string::npos) << "names the tensor: " << m.status().message();
}

TEST(TensorJsonTest, RefusesBadInput) {
  ExpectRefused(R"({"x": {"dtype": "int8", "shape": [1], "data": [128]}})", "out of range");
  ExpectRefused(R"({"x": {"dtype": "uint8", "shape": [1], "data": [-1]}})", "out of range");
  ExpectRefused(R"({"x": {"dtype": "int32", "shape": [1], "data": [1.5]}})", "integer");
  ExpectRefused(R"({"x": {"dtype": "float32", "shape": [1], "data": ["NaN"]}})", "not a number");
  ExpectRefused(R"({"x": {"dtype": "float32", "shape": [1], "data": [null]}})", "not a number");
  ExpectRefused(R"({"x": {"dtype": "float32", "shape": [1], "data": [1e300]}})", "out of range");
  ExpectRefused(R"({"x": {"dtype": "float32", "shape": [2, 2], "data": [1, 2, 3]}})", "shape needs 4");
  ExpectRefused(R"({"x": {"dtype": "float32", "shape": [-1], "data": []}})", "shape");
  ExpectRefused(R"({"x": {"dtype": "float64", "shape": [1], "data": [1]}})", "dtype");
  ExpectRefused(R"({"x": {"dtype": "bool", "shape": [1], "data": [2]}})", "out of range");
  ExpectRefused(R"({"x": {"dtype": "float32", "shape": [1048576, 1048576], "data": []}})", "elements");
  ExpectRefused(R"({"x": {"dtype": "float32", "shape": [1], "data": [[1]]}})", "not a number");
  ExpectRefused(R"({"x": {"dtype": "float32", "shape": [1], "data": [1], "extra": 1}})", "unknown field");
  ExpectRefused(R"({"x": {"shape": [1], "data": [1]}})", "dtype");
  EXPECT_FALSE(TensorMapFromJson(json::array()).ok());
}

}  // namespace
}  // namespace lucid
