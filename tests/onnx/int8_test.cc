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

// Weights prepared at load (Node::prepared) and a whole batch in one GEMM must give the
// bytes of the unprepared kernel run image by image, for any thread count.
TEST(Int8, QLinearConvPreparedBatchedMatchesPerImage) {
  Node node = MakeNode("QLinearConv");
  node.attrs["group"].kind = Attr::Kind::kInt;
  node.attrs["group"].i = 2;
  node.attrs["pads"].kind = Attr::Kind::kInts;
  node.attrs["pads"].ints = {1, 1, 1, 1};
  node.inputs = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  const int64_t batch = 3, channels = 4, maps = 6, h = 5, w = 7;
  uint32_t state = 7;
  auto next = [&] { return state = state * 1103515245u + 12345u, (state >> 16) & 0xff; };
  std::vector<uint8_t> xv(batch * channels * h * w);
  for (auto& v : xv) v = static_cast<uint8_t>(next());
  std::vector<int8_t> wv(maps * (channels / 2) * 9);
  for (auto& v : wv) v = static_cast<int8_t>(static_cast<int>(next()) - 128);
  Tensor x = U8({batch, channels, h, w}, xv), weights = I8({maps, channels / 2, 3, 3}, wv);
  Tensor sx = Tensor::Scalar(0.02f), zx = U8({}, {17}), sy = Tensor::Scalar(0.5f), zy = U8({}, {100});
  Tensor sw = F32({maps}, {0.01f, 0.02f, 0.015f, 0.03f, 0.005f, 0.01f}), zw = I8({maps}, {0, 0, 0, 0, 0, 0});
  Tensor bias = *Tensor::Make(DType::kInt32, {maps});
  for (int64_t m = 0; m < maps; ++m) bias.data<int32_t>()[m] = static_cast<int32_t>(m * 1000 - 2500);
  std::vector<const Tensor*> in = {&x, &sx, &zx, &weights, &sw, &zw, &sy, &zy, &bias};

  std::vector<Tensor> plain(1);
  ASSERT_TRUE(RunQLinearConv(node, in, plain, {1}).ok());
  // Constants: everything but x.
  std::vector<const Tensor*> constants = in;
  constants[0] = nullptr;
  auto prepared = PrepareQLinearConv(node, constants);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  ASSERT_NE(*prepared, nullptr);
  Node fast = node;
  fast.prepared = *prepared;
  for (int threads : {1, 2, 3}) {
    std::vector<Tensor> got(1);
    ASSERT_TRUE(RunQLinearConv(fast, in, got, {threads}).ok());
    EXPECT_EQ(got[0], plain[0]) << "threads " << threads;
  }
  // Each image alone gives its slice of the batched result.
  const int64_t image = channels * h * w, out_image = maps * h * w;
  for (int64_t n = 0; n < batch; ++n) {
    Tensor xn = U8({1, channels, h, w}, std::vector<uint8_t>(xv.begin() + n * image, xv.begin() + (n + 1) * image));
    std::vector<const Tensor*> one = in;
    one[0] = &xn;
    std::vector<Tensor> got(1);
    ASSERT_TRUE(RunQLinearConv(fast, one, got, {1}).ok());
    ASSERT_EQ(got[0].bytes().size(), static_cast<size_t>(out_image));
    EXPECT_TRUE(std::equal(got[0].bytes().begin(), got[0].bytes().end(), plain[0].bytes().begin() + n * out_image));
  }
}

TEST(Int8, MatMulIntegerPreparedMatchesUnprepared) {
  Node node = MakeNode("MatMulInteger");
  node.inputs = {0, 1, 2, 3};
  Tensor a = U8({2, 3}, {1, 2, 3, 250, 0, 7}), b = U8({3, 2}, {255, 0, 128, 7, 3, 9});
  Tensor za = U8({}, {2}), zb = U8({}, {128});
  std::vector<const Tensor*> in = {&a, &b, &za, &zb};
  std::vector<Tensor> plain(1), fast(1);
  ASSERT_TRUE(RunMatMulInteger(node, in, plain, {1}).ok());
  auto prepared = PrepareMatMulInteger(node, std::vector<const Tensor*>{nullptr, &b, nullptr, &zb});
  ASSERT_TRUE(prepared.ok());
  ASSERT_NE(*prepared, nullptr);
  node.prepared = *prepared;
  ASSERT_TRUE(RunMatMulInteger(node, in, fast, {2}).ok());
  EXPECT_EQ(plain[0], fast[0]);
  // A weight zero point that is not an initializer: nothing is prepared.
  auto none = PrepareMatMulInteger(node, std::vector<const Tensor*>{nullptr, &b, nullptr, nullptr});
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, nullptr);
}

// uint8 MaxPool 2×2 stride 2 (the fast path) against a direct maximum, odd sizes included
// (the last row/column of an odd input is dropped without ceil_mode).
TEST(Int8, MaxPool2x2MatchesDirectMaximum) {
  Node node = MakeNode("MaxPool");
  node.attrs["kernel_shape"].kind = Attr::Kind::kInts;
  node.attrs["kernel_shape"].ints = {2, 2};
  node.attrs["strides"].kind = Attr::Kind::kInts;
  node.attrs["strides"].ints = {2, 2};
  const int64_t n = 2, c = 3, h = 7, w = 9;
  std::vector<uint8_t> v(n * c * h * w);
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>((i * 7919u) % 251u);
  Tensor x = U8({n, c, h, w}, v);
  std::vector<const Tensor*> in = {&x};
  std::vector<Tensor> out(1);
  ASSERT_TRUE(RunMaxPoolAnyType(node, in, out, {2}).ok());
  ASSERT_EQ(out[0].shape(), (std::vector<int64_t>{n, c, h / 2, w / 2}));
  const uint8_t* y = out[0].data<uint8_t>();
  for (int64_t plane = 0; plane < n * c; ++plane)
    for (int64_t oh = 0; oh < h / 2; ++oh)
      for (int64_t ow = 0; ow < w / 2; ++ow) {
        const uint8_t* p = v.data() + plane * h * w + 2 * oh * w + 2 * ow;
        uint8_t want = std::max(std::max(p[0], p[1]), std::max(p[w], p[w + 1]));
        ASSERT_EQ(y[(plane * (h / 2) + oh) * (w / 2) + ow], want);
      }
}

}  // namespace
}  // namespace lucid::onnx::internal
