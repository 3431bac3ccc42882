// Integer elementwise kernels (ONNX/numpy semantics): Add/Sub/Mul/Div on int8 and uint8
// wrap modulo 2^8, Div truncates toward zero and refuses a zero divisor, Clip on integer
// types takes scalar bounds of the input's dtype. Softmax and LayerNormalization (whose
// row statistics run eight rows at a time with AVX2) against their canonical one-row
// loops, NaN results canonical.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "onnx/model.h"
#include "one_node_model.h"
#include "tensor/math.h"

namespace lucid::onnx {
namespace {

// One node with the given inputs (all of `elem_type`; an empty name is an omitted input)
// and one output y.
::onnx::ModelProto OneNode(const std::string& op, int elem_type,
                           const std::vector<std::pair<std::string, std::vector<int64_t>>>& ins, int opset = 13) {
  return testing::OneNodeModel(op, elem_type, ins, opset);
}

template <typename T>
Tensor Make(DType dtype, std::vector<int64_t> shape, const std::vector<T>& values) {
  Tensor t = *Tensor::Make(dtype, shape);
  std::memcpy(t.data<T>(), values.data(), values.size() * sizeof(T));
  return t;
}

Result<TensorMap> RunModel(const ::onnx::ModelProto& proto, const TensorMap& inputs, int threads = 1) {
  auto model = Model::Load(ToBytes(proto.SerializeAsString()));
  if (!model.ok()) return model.status();
  return (*model)->Run(inputs, RunOptions{threads});
}

template <typename T>
std::vector<T> Values(const Tensor& t) {
  return std::vector<T>(t.data<T>(), t.data<T>() + t.num_elements());
}

template <typename T>
void ExpectBinary(const std::string& op, DType dtype, int elem_type, const std::vector<T>& a, const std::vector<T>& b,
                  const std::vector<T>& want) {
  int64_t n = static_cast<int64_t>(a.size());
  auto proto = OneNode(op, elem_type, {{"a", {n}}, {"b", {n}}});
  for (int threads : {1, 2}) {
    auto out = RunModel(proto, {{"a", Make(dtype, {n}, a)}, {"b", Make(dtype, {n}, b)}}, threads);
    ASSERT_TRUE(out.ok()) << op << ": " << out.status().ToString();
    EXPECT_EQ(out->at("y").dtype(), dtype) << op;
    EXPECT_EQ(Values<T>(out->at("y")), want) << op;
  }
}

constexpr int kInt8 = ::onnx::TensorProto::INT8;
constexpr int kUint8 = ::onnx::TensorProto::UINT8;

TEST(ElementwiseInt, Int8ArithmeticWraps) {
  ExpectBinary<int8_t>("Add", DType::kInt8, kInt8, {100, -128, 5, -7}, {100, -1, -5, 3}, {-56, 127, 0, -4});
  ExpectBinary<int8_t>("Sub", DType::kInt8, kInt8, {-128, 127, 5, 0}, {1, -1, 7, -128}, {127, -128, -2, -128});
  ExpectBinary<int8_t>("Mul", DType::kInt8, kInt8, {16, -128, 11, -3}, {16, -1, 12, 5}, {0, -128, -124, -15});
  // Truncation toward zero (not numpy's floor), and min / −1 wraps.
  ExpectBinary<int8_t>("Div", DType::kInt8, kInt8, {-7, 7, -128, 127, -1}, {2, -2, -1, 10, 3}, {-3, -3, -128, 12, 0});
}

TEST(ElementwiseInt, Uint8ArithmeticWraps) {
  ExpectBinary<uint8_t>("Add", DType::kUint8, kUint8, {200, 255, 1}, {100, 1, 2}, {44, 0, 3});
  ExpectBinary<uint8_t>("Sub", DType::kUint8, kUint8, {3, 0, 9}, {5, 255, 9}, {254, 1, 0});
  ExpectBinary<uint8_t>("Mul", DType::kUint8, kUint8, {16, 255, 7}, {16, 255, 9}, {0, 1, 63});
  ExpectBinary<uint8_t>("Div", DType::kUint8, kUint8, {200, 255, 7}, {3, 255, 8}, {66, 1, 0});
}

TEST(ElementwiseInt, BroadcastsLikeFloat) {
  auto proto = OneNode("Sub", kUint8, {{"a", {2, 3}}, {"b", {3}}});
  auto out = RunModel(proto, {{"a", Make<uint8_t>(DType::kUint8, {2, 3}, {10, 20, 30, 0, 1, 2})},
                              {"b", Make<uint8_t>(DType::kUint8, {3}, {1, 2, 3})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->at("y").shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(Values<uint8_t>(out->at("y")), (std::vector<uint8_t>{9, 18, 27, 255, 255, 255}));
}

TEST(ElementwiseInt, DivisionByZeroIsRefused) {
  for (auto [dtype, elem] : {std::pair{DType::kInt8, kInt8}, std::pair{DType::kUint8, kUint8}}) {
    auto proto = OneNode("Div", elem, {{"a", {3}}, {"b", {3}}});
    Tensor a = *Tensor::Make(dtype, {3}), b = *Tensor::Make(dtype, {3});
    for (int i = 0; i < 3; ++i) a.data<uint8_t>()[i] = b.data<uint8_t>()[i] = uint8_t(i + 1);
    ASSERT_TRUE(RunModel(proto, {{"a", a}, {"b", b}}).ok());
    b.data<uint8_t>()[2] = 0;  // one zero divisor
    auto out = RunModel(proto, {{"a", a}, {"b", b}});
    ASSERT_FALSE(out.ok());
    EXPECT_NE(out.status().ToString().find("division by zero"), std::string::npos) << out.status().ToString();
  }
}

TEST(ElementwiseInt, MixedDtypesAreRefused) {
  auto proto = OneNode("Add", kInt8, {{"a", {2}}, {"b", {2}}});
  auto out = RunModel(proto, {{"a", Make<int8_t>(DType::kInt8, {2}, {1, 2})},
                              {"b", Make<uint8_t>(DType::kUint8, {2}, {1, 2})}});
  EXPECT_FALSE(out.ok());
}

TEST(ElementwiseInt, ClipInt8) {
  std::vector<int8_t> x = {-128, -5, -3, 0, 4, 5, 127};
  Tensor lo = Make<int8_t>(DType::kInt8, {}, {-3}), hi = Make<int8_t>(DType::kInt8, {}, {4});
  auto both = OneNode("Clip", kInt8, {{"x", {7}}, {"lo", {}}, {"hi", {}}});
  auto out = RunModel(both, {{"x", Make(DType::kInt8, {7}, x)}, {"lo", lo}, {"hi", hi}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values<int8_t>(out->at("y")), (std::vector<int8_t>{-3, -3, -3, 0, 4, 4, 4}));
  // Only max given: min defaults to the type's lowest value.
  auto max_only = OneNode("Clip", kInt8, {{"x", {7}}, {"", {}}, {"hi", {}}});
  out = RunModel(max_only, {{"x", Make(DType::kInt8, {7}, x)}, {"hi", hi}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values<int8_t>(out->at("y")), (std::vector<int8_t>{-128, -5, -3, 0, 4, 4, 4}));
  // No bounds: unchanged.
  out = RunModel(OneNode("Clip", kInt8, {{"x", {7}}}), {{"x", Make(DType::kInt8, {7}, x)}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(Values<int8_t>(out->at("y")), x);
}

TEST(ElementwiseInt, ClipRefusesBadBounds) {
  auto proto = OneNode("Clip", kUint8, {{"x", {3}}, {"lo", {2}}});
  auto out = RunModel(proto, {{"x", Make<uint8_t>(DType::kUint8, {3}, {1, 2, 3})},
                              {"lo", Make<uint8_t>(DType::kUint8, {2}, {1, 2})}});  // not a scalar
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().ToString().find("scalar"), std::string::npos) << out.status().ToString();
  out = RunModel(proto, {{"x", Make<uint8_t>(DType::kUint8, {3}, {1, 2, 3})},
                         {"lo", Make<int8_t>(DType::kInt8, {2}, {1, 2})}});  // another dtype
  ASSERT_FALSE(out.ok());
}

// Which NaN x86 propagates depends on the compiler's operand order, so these kernels
// return this one for every NaN result.
const float kCanonicalNaN = std::bit_cast<float>(0x7FC00000u);

// Rows of random values with NaN, ±inf and ±0 sprinkled in.
Tensor SpecialRows(std::vector<int64_t> shape, std::mt19937& rng) {
  Tensor t = *Tensor::Make(DType::kFloat32, shape);
  std::uniform_real_distribution<float> d(-6.0f, 6.0f);
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                            -std::numeric_limits<float>::infinity(), -0.0f, 0.0f};
  for (uint64_t i = 0; i < t.num_elements(); ++i)
    t.data<float>()[i] = rng() % 23 == 0 ? specials[rng() % 5] : d(rng);
  return t;
}

void ExpectSameBits(const Tensor& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.num_elements(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    uint32_t g, w;
    std::memcpy(&g, got.data<float>() + i, 4);
    std::memcpy(&w, want.data() + i, 4);
    ASSERT_EQ(g, w) << what << " element " << i;
  }
}

TEST(RowScans, SoftmaxEqualsCanonicalLoop) {
  std::mt19937 rng(21);
  for (auto shape : {std::vector<int64_t>{19, 33}, std::vector<int64_t>{2, 4, 8, 64}, std::vector<int64_t>{8, 1},
                     std::vector<int64_t>{3, 5}}) {
    Tensor x = SpecialRows(shape, rng);
    int64_t len = shape.back(), rows = static_cast<int64_t>(x.num_elements()) / len;
    std::vector<float> want(x.num_elements());
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = x.data<float>() + r * len;
      float max = -std::numeric_limits<float>::infinity();
      for (int64_t j = 0; j < len; ++j) max = row[j] > max ? row[j] : max;
      float sum = 0.0f;
      for (int64_t j = 0; j < len; ++j) sum = sum + (want[r * len + j] = math::Exp(row[j] - max));
      for (int64_t j = 0; j < len; ++j) {
        float v = want[r * len + j] / sum;
        want[r * len + j] = v == v ? v : kCanonicalNaN;
      }
    }
    auto proto = OneNode("Softmax", ::onnx::TensorProto::FLOAT, {{"x", shape}});
    for (int threads : {1, 2, 3}) {
      auto out = RunModel(proto, {{"x", x}}, threads);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      ExpectSameBits(out->at("y"), want, "softmax rows=" + std::to_string(rows) + " threads=" + std::to_string(threads));
    }
  }
}

TEST(RowScans, LayerNormalizationEqualsCanonicalLoop) {
  std::mt19937 rng(22);
  for (auto shape : {std::vector<int64_t>{19, 40}, std::vector<int64_t>{2, 8, 128}, std::vector<int64_t>{9, 1}}) {
    Tensor x = SpecialRows(shape, rng);
    int64_t len = shape.back(), rows = static_cast<int64_t>(x.num_elements()) / len;
    Tensor scale = SpecialRows({len}, rng), bias = SpecialRows({len}, rng);
    const float eps = 1e-5f;
    std::vector<float> want(x.num_elements());
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = x.data<float>() + r * len;
      float sum = 0.0f;
      for (int64_t i = 0; i < len; ++i) sum = sum + row[i];
      float mean = sum / static_cast<float>(len), sq = 0.0f;
      for (int64_t i = 0; i < len; ++i) {
        float d = row[i] - mean;
        sq = sq + d * d;
      }
      float inv_std = 1.0f / std::sqrt(sq / static_cast<float>(len) + eps);
      for (int64_t i = 0; i < len; ++i) {
        float v = (row[i] - mean) * inv_std * scale.data<float>()[i] + bias.data<float>()[i];
        want[r * len + i] = v == v ? v : kCanonicalNaN;
      }
    }
    auto proto = OneNode("LayerNormalization", ::onnx::TensorProto::FLOAT, {{"x", shape}, {"s", {len}}, {"b", {len}}}, 17);
    for (int threads : {1, 2, 3}) {
      auto out = RunModel(proto, {{"x", x}, {"s", scale}, {"b", bias}}, threads);
      ASSERT_TRUE(out.ok()) << out.status().ToString();
      ExpectSameBits(out->at("y"), want, "layernorm rows=" + std::to_string(rows) + " threads=" + std::to_string(threads));
    }
  }
}

}  // namespace
}  // namespace lucid::onnx
