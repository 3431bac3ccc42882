// Integer kernels against hand-computed values (docs/formats/integer-semantics.md).
#include <gtest/gtest.h>

#include "onnx/op_internal.h"

namespace lucid::onnx::internal {
namespace {

Tensor U8(std::vector<int64_t> shape, std::vector<uint8_t> v) { return *Tensor::FromBytes(DType::kUint8, shape, Bytes(v.begin(), v.end())); }
Tensor I8(std::vector<int64_t> shape, std::vector<int8_t> v) {
  Bytes b(v.size());
  for (size_t i = 0; i < v.size(); ++i) b[i] = static_cast<uint8_t>(v[i]);
  return *Tensor::FromBytes(DType::kInt8, shape, b);
}
Tensor F32(std::vector<int64_t> shape, std::vector<float> v) {
  Tensor t = *Tensor::Make(DType::kFloat32, shape);
  std::copy(v.begin(), v.end(), t.data<float>());
  return t;
}

Node MakeNode(const char* op) {
  Node n;
  n.op_type = op;
  n.name = op;
  n.opset = 13;
  return n;
}

TEST(Int8, QuantizeLinearTiesToEvenAndSaturates) {
  Node node = MakeNode("QuantizeLinear");
  Tensor x = F32({6}, {0.5f, 1.5f, 2.5f, -2.5f, 1000.0f, -1000.0f}), s = Tensor::Scalar(1.0f), z = I8({}, {0});
  std::vector<const Tensor*> in = {&x, &s, &z};
  std::vector<Tensor> out(1);
  ASSERT_TRUE(RunQuantizeLinear(node, in, out, {}).ok());
  const int8_t* y = out[0].data<int8_t>();
  EXPECT_EQ(std::vector<int>(y, y + 6), (std::vector<int>{0, 2, 2, -2, 127, -128}));
}

// y = acc · (1/2) with round half up: acc = −5 → −2, −3 → −1, 3 → 2, 5 → 3 (zero point 0).
TEST(Int8, RequantizationRoundsHalfUpForNegativeTies) {
  Node node = MakeNode("QLinearMatMul");
  Tensor a = I8({4, 1}, {-5, -3, 3, 5}), b = I8({1, 1}, {1});
  Tensor one = Tensor::Scalar(1.0f), half_y = Tensor::Scalar(2.0f), z = I8({}, {0});
  std::vector<const Tensor*> in = {&a, &one, &z, &b, &one, &z, &half_y, &z};
  std::vector<Tensor> out(1);
  ASSERT_TRUE(RunQLinearMatMul(node, in, out, {}).ok());
  const int8_t* y = out[0].data<int8_t>();
  EXPECT_EQ(std::vector<int>(y, y + 4), (std::vector<int>{-2, -1, 2, 3}));
}

TEST(Int8, MatMulIntegerZeroPointsAndThreads) {
  Node node = MakeNode("MatMulInteger");
  Tensor a = U8({2, 3}, {1, 2, 3, 250, 0, 7}), b = U8({3, 2}, {255, 0, 128, 7, 3, 9});
  Tensor za = U8({}, {2}), zb = U8({}, {128});
  std::vector<const Tensor*> in = {&a, &b, &za, &zb};
  std::vector<Tensor> one(1), two(1);
  ASSERT_TRUE(RunMatMulInteger(node, in, one, {1}).ok());
  ASSERT_TRUE(RunMatMulInteger(node, in, two, {2}).ok());
  // Row 0: (−1)(127)+0·0+(1)(−125) = −252; (−1)(−128)+0+(1)(−119) = 9.
  EXPECT_EQ(one[0].data<int32_t>()[0], -252);
  EXPECT_EQ(one[0].data<int32_t>()[1], 9);
  EXPECT_EQ(one[0], two[0]);
}

TEST(Int8, BadScaleRefused) {
  Node node = MakeNode("QuantizeLinear");
  Tensor x = F32({1}, {1.0f}), s = Tensor::Scalar(0.0f);
  std::vector<const Tensor*> in = {&x, &s, nullptr};
  std::vector<Tensor> out(1);
  Status st = RunQuantizeLinear(node, in, out, {});
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("y_scale"), std::string::npos);
}

}  // namespace
}  // namespace lucid::onnx::internal
