// Integer kernels against hand-computed values (docs/formats/integer-semantics.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

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

// The AVX2 Quantize/Dequantize paths against the scalar ones: ties, saturation, ±inf,
// huge values, denormals and −0, uint8 and int8, lengths with a scalar tail, 1–3 threads.
TEST(Int8, QuantizeDequantizeSimdMatchesScalar) {
  std::vector<float> values;
  uint32_t state = 5;
  for (int i = 0; i < 1000; ++i) {
    state = state * 1103515245u + 12345u;
    values.push_back((static_cast<float>(state >> 8) / 16777216.0f - 0.5f) * 700.0f);
    values.push_back(static_cast<float>(i % 41) * 0.5f - 10.0f);  // exact ties at scale 0.5
  }
  for (float v : {INFINITY, -INFINITY, 3e38f, -3e38f, 1e-40f, -0.0f, 16777216.0f, -16777217.0f}) values.push_back(v);
  values.resize(2071);  // not a multiple of 32
  Tensor x = F32({static_cast<int64_t>(values.size())}, values), s = Tensor::Scalar(0.25f);
  for (bool is_signed : {false, true}) {
    Tensor z = is_signed ? I8({}, {-7}) : U8({}, {131});
    std::vector<const Tensor*> in = {&x, &s, &z};
    Node q = MakeNode("QuantizeLinear"), dq = MakeNode("DequantizeLinear");
    std::vector<Tensor> want(1), want_back(1);
    SetIntegerSimdForTesting(false);
    ASSERT_TRUE(RunQuantizeLinear(q, in, want, {1}).ok());
    std::vector<const Tensor*> back_in = {&want[0], &s, &z};
    ASSERT_TRUE(RunDequantizeLinear(dq, back_in, want_back, {1}).ok());
    SetIntegerSimdForTesting(true);
    for (int threads : {1, 2, 3}) {
      std::vector<Tensor> got(1), got_back(1);
      ASSERT_TRUE(RunQuantizeLinear(q, in, got, {threads}).ok());
      EXPECT_EQ(got[0], want[0]) << "signed " << is_signed << " threads " << threads;
      ASSERT_TRUE(RunDequantizeLinear(dq, back_in, got_back, {threads}).ok());
      EXPECT_EQ(got_back[0], want_back[0]) << "signed " << is_signed << " threads " << threads;
    }
    // Spot checks of the scalar rule itself: 0.5/0.25 = 2 exactly, +inf saturates.
    EXPECT_EQ(static_cast<int>(is_signed ? want[0].data<int8_t>()[2000] : want[0].data<uint8_t>()[2000]),
              is_signed ? 127 : 255);
  }
}

// A NaN anywhere (inside a SIMD block or in the scalar tail) is refused on every path.
TEST(Int8, QuantizeLinearRefusesNanOnEveryPath) {
  for (int64_t at : {int64_t{5}, int64_t{40}, int64_t{68}}) {
    std::vector<float> v(70, 1.0f);
    v[static_cast<size_t>(at)] = NAN;
    Tensor x = F32({70}, v), s = Tensor::Scalar(0.5f), z = U8({}, {3});
    std::vector<const Tensor*> in = {&x, &s, &z};
    for (bool simd : {true, false})
      for (int threads : {1, 2}) {
        SetIntegerSimdForTesting(simd);
        std::vector<Tensor> out(1);
        Status st = RunQuantizeLinear(MakeNode("QuantizeLinear"), in, out, {threads});
        EXPECT_FALSE(st.ok()) << "NaN at " << at << " simd " << simd;
        EXPECT_NE(st.message().find("NaN"), std::string::npos);
      }
    SetIntegerSimdForTesting(true);
  }
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
  for (int64_t w : {9, 37}) {  // 37: two 8-output SIMD blocks and a tail per row
    const int64_t n = 2, c = 3, h = 7;
    std::vector<uint8_t> v(n * c * h * w);
    for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<uint8_t>((i * 7919u) % 251u);
    Tensor x = U8({n, c, h, w}, v);
    std::vector<const Tensor*> in = {&x};
    for (int simd : {2, 1, 0}) {  // SIMD level: AVX-512 (where the CPU has it), AVX2, scalar
      SetIntegerSimdLevelForTesting(simd);
      std::vector<Tensor> out(1);
      ASSERT_TRUE(RunMaxPoolAnyType(node, in, out, {2}).ok());
      ASSERT_EQ(out[0].shape(), (std::vector<int64_t>{n, c, h / 2, w / 2}));
      const uint8_t* y = out[0].data<uint8_t>();
      for (int64_t plane = 0; plane < n * c; ++plane)
        for (int64_t oh = 0; oh < h / 2; ++oh)
          for (int64_t ow = 0; ow < w / 2; ++ow) {
            const uint8_t* p = v.data() + plane * h * w + 2 * oh * w + 2 * ow;
            uint8_t want = std::max(std::max(p[0], p[1]), std::max(p[w], p[w + 1]));
            ASSERT_EQ(y[(plane * (h / 2) + oh) * (w / 2) + ow], want) << "w " << w << " simd " << simd;
          }
    }
    SetIntegerSimdForTesting(true);
  }
}

// The spec's formulas written out directly (§2 and §4), for the kernels to match.
int64_t SpecMultiplied(int64_t acc, float s_in, float s_w, float s_out) {
  double real = static_cast<double>(s_in) * static_cast<double>(s_w) / static_cast<double>(s_out);
  int e = 0;
  double mant = std::frexp(real, &e);
  int64_t m = std::llround(std::ldexp(mant, 31));
  if (m == (int64_t{1} << 31)) m >>= 1, ++e;
  int shift = 31 - e;
  return (acc * m + (int64_t{1} << (shift - 1))) >> shift;
}

struct ConvCase {
  int64_t batch, channels, maps, h, w, k, pad, stride;
  std::vector<float> w_scales;  // per map
  DType out;
};

// QLinearConv: SIMD output stage on and off, prepared or not, 1–3 threads, all equal to a
// direct evaluation of the spec.
void CheckConvCase(const ConvCase& c, uint32_t seed) {
  Node node = MakeNode("QLinearConv");
  node.attrs["pads"].kind = Attr::Kind::kInts;
  node.attrs["pads"].ints = {c.pad, c.pad, c.pad, c.pad};
  node.attrs["strides"].kind = Attr::Kind::kInts;
  node.attrs["strides"].ints = {c.stride, c.stride};
  node.inputs = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  uint32_t state = seed;
  auto next = [&] { return state = state * 1103515245u + 12345u, (state >> 16) & 0xff; };
  std::vector<uint8_t> xv(c.batch * c.channels * c.h * c.w);
  for (auto& v : xv) v = static_cast<uint8_t>(next());
  std::vector<int8_t> wv(c.maps * c.channels * c.k * c.k);
  for (auto& v : wv) v = static_cast<int8_t>(std::clamp(static_cast<int>(next()) - 128, -127, 127));
  Tensor x = U8({c.batch, c.channels, c.h, c.w}, xv), weights = I8({c.maps, c.channels, c.k, c.k}, wv);
  const float s_x = 0.02f, s_y = 0.37f;
  const int64_t z_x = 131, z_y = c.out == DType::kInt8 ? -5 : 90;
  Tensor sx = Tensor::Scalar(s_x), zx = U8({}, {static_cast<uint8_t>(z_x)}), sy = Tensor::Scalar(s_y);
  Tensor zy = c.out == DType::kInt8 ? I8({}, {static_cast<int8_t>(z_y)}) : U8({}, {static_cast<uint8_t>(z_y)});
  Tensor sw = F32({c.maps}, c.w_scales), zw = I8({c.maps}, std::vector<int8_t>(c.maps, 0));
  Tensor bias = *Tensor::Make(DType::kInt32, {c.maps});
  for (int64_t m = 0; m < c.maps; ++m) bias.data<int32_t>()[m] = static_cast<int32_t>(m * 977 - 9000);
  std::vector<const Tensor*> in = {&x, &sx, &zx, &weights, &sw, &zw, &sy, &zy, &bias};

  const int64_t oh = (c.h + 2 * c.pad - c.k) / c.stride + 1, ow = (c.w + 2 * c.pad - c.k) / c.stride + 1;
  const int64_t lo = c.out == DType::kInt8 ? -128 : 0, hi = c.out == DType::kInt8 ? 127 : 255;
  std::vector<int64_t> want;
  for (int64_t n = 0; n < c.batch; ++n)
    for (int64_t m = 0; m < c.maps; ++m)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t xo = 0; xo < ow; ++xo) {
          int64_t acc = bias.data<int32_t>()[m];
          for (int64_t ch = 0; ch < c.channels; ++ch)
            for (int64_t i = 0; i < c.k; ++i)
              for (int64_t j = 0; j < c.k; ++j) {
                int64_t ih = y * c.stride - c.pad + i, iw = xo * c.stride - c.pad + j;
                if (ih < 0 || ih >= c.h || iw < 0 || iw >= c.w) continue;
                acc += (xv[((n * c.channels + ch) * c.h + ih) * c.w + iw] - z_x) *
                       static_cast<int64_t>(wv[((m * c.channels + ch) * c.k + i) * c.k + j]);
              }
          want.push_back(std::clamp<int64_t>(SpecMultiplied(acc, s_x, c.w_scales[m], s_y) + z_y, lo, hi));
        }

  std::vector<const Tensor*> constants = in;
  constants[0] = nullptr;
  auto prepared = PrepareQLinearConv(node, constants);
  ASSERT_TRUE(prepared.ok()) << prepared.status().ToString();
  Node fast = node;
  fast.prepared = *prepared;
  for (int simd : {2, 1, 0}) {  // SIMD level: AVX-512 (where the CPU has it), AVX2, scalar
    SetIntegerSimdLevelForTesting(simd);
    for (const Node* which : {&node, &fast})
      for (int threads : {1, 2, 3}) {
        std::vector<Tensor> got(1);
        ASSERT_TRUE(RunQLinearConv(*which, in, got, {threads}).ok());
        ASSERT_EQ(got[0].shape(), (std::vector<int64_t>{c.batch, c.maps, oh, ow}));
        ASSERT_EQ(got[0].dtype(), c.out);
        for (size_t i = 0; i < want.size(); ++i) {
          int64_t v = c.out == DType::kInt8 ? got[0].data<int8_t>()[i] : got[0].data<uint8_t>()[i];
          ASSERT_EQ(v, want[i]) << "element " << i << " simd " << simd << " threads " << threads;
        }
      }
  }
  SetIntegerSimdForTesting(true);
}

TEST(Int8, QLinearConvMatchesSpecOnEveryPath) {
  std::vector<float> small(21), mixed(21);
  for (int m = 0; m < 21; ++m) {
    small[m] = 0.001f * static_cast<float>(m + 1);  // multipliers < 1/2: shift ≥ 32 (the AVX2 stage)
    mixed[m] = m == 7 ? 40.0f : small[m];            // one multiplier > 1/2: the scalar stage
  }
  // 21 maps: one 16-column SIMD block and a scalar tail; padding, stride, uint8 and int8 out.
  CheckConvCase({2, 3, 21, 9, 11, 3, 1, 1, small, DType::kUint8}, 1);
  CheckConvCase({2, 3, 21, 9, 11, 3, 1, 2, small, DType::kInt8}, 2);
  CheckConvCase({1, 5, 21, 6, 7, 3, 0, 1, mixed, DType::kUint8}, 3);
  CheckConvCase({3, 40, 21, 1, 1, 1, 0, 1, small, DType::kUint8}, 4);  // 1×1 on 1×1: the matrix-product path
  std::vector<float> wide(64);
  for (int m = 0; m < 64; ++m) wide[m] = 0.0005f * static_cast<float>(m % 9 + 1);
  CheckConvCase({2, 16, 64, 8, 8, 3, 1, 1, wide, DType::kUint8}, 5);
}

// A bias far outside what the quantizer emits makes an accumulator leave int32: an error
// on every path, never a wrapped value.
TEST(Int8, AccumulatorOverflowIsAnError) {
  Node node = MakeNode("QLinearMatMul");
  node.inputs = {0, 1, 2, 3, 4, 5, 6, 7};
  Tensor a = U8({1, 2}, {255, 255}), b = I8({2, 1}, {127, 127});
  Tensor sa = Tensor::Scalar(1.0f), za = U8({}, {0}), sb = F32({1}, {1.0f}), zb = I8({1}, {-128});
  Tensor sy = Tensor::Scalar(1.0f), zy = U8({}, {0});
  std::vector<const Tensor*> in = {&a, &sa, &za, &b, &sb, &zb, &sy, &zy};
  std::vector<Tensor> out(1);
  ASSERT_TRUE(RunQLinearMatMul(node, in, out, {1}).ok());  // 2·255·255 fits
  Node conv = MakeNode("QLinearConv");
  conv.inputs = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  Tensor x = U8({1, 2, 1, 1}, {255, 255}), w = I8({1, 2, 1, 1}, {127, 127});
  Tensor bias = *Tensor::Make(DType::kInt32, {1});
  bias.data<int32_t>()[0] = std::numeric_limits<int32_t>::max() - 1000;
  Tensor zw = I8({1}, {0});
  std::vector<const Tensor*> cin = {&x, &sa, &za, &w, &sb, &zw, &sy, &zy, &bias};
  for (int simd : {2, 1, 0}) {  // SIMD level: AVX-512 (where the CPU has it), AVX2, scalar
    SetIntegerSimdLevelForTesting(simd);
    Status st = RunQLinearConv(conv, cin, out, {1});
    EXPECT_EQ(st.code(), Code::kOutOfRange) << st.ToString();
  }
  SetIntegerSimdForTesting(true);
}

// QLinearMatMul with a nonzero weight zero point (row-sum term) and without (SIMD stage).
TEST(Int8, QLinearMatMulZeroPointsMatchSpec) {
  for (int8_t z_b : {int8_t{0}, int8_t{-3}}) {
    Node node = MakeNode("QLinearMatMul");
    node.inputs = {0, 1, 2, 3, 4, 5, 6, 7};
    const int64_t m = 5, k = 37, n = 40;
    uint32_t state = 99;
    auto next = [&] { return state = state * 1103515245u + 12345u, (state >> 16) & 0xff; };
    std::vector<uint8_t> av(m * k);
    for (auto& v : av) v = static_cast<uint8_t>(next());
    std::vector<int8_t> bv(k * n);
    for (auto& v : bv) v = static_cast<int8_t>(std::clamp(static_cast<int>(next()) - 128, -120, 120));
    Tensor a = U8({m, k}, av), b = I8({k, n}, bv);
    Tensor sa = Tensor::Scalar(0.05f), za = U8({}, {7}), sb = Tensor::Scalar(0.01f), zb = I8({}, {z_b});
    Tensor sy = Tensor::Scalar(0.9f), zy = U8({}, {128});
    std::vector<const Tensor*> in = {&a, &sa, &za, &b, &sb, &zb, &sy, &zy};
    for (int simd : {2, 1, 0}) {  // SIMD level: AVX-512 (where the CPU has it), AVX2, scalar
      SetIntegerSimdLevelForTesting(simd);
      std::vector<Tensor> out(1);
      ASSERT_TRUE(RunQLinearMatMul(node, in, out, {2}).ok());
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          int64_t acc = 0;
          for (int64_t t = 0; t < k; ++t) acc += (av[i * k + t] - 7) * static_cast<int64_t>(bv[t * n + j] - z_b);
          int64_t want = std::clamp<int64_t>(SpecMultiplied(acc, 0.05f, 0.01f, 0.9f) + 128, 0, 255);
          ASSERT_EQ(out[0].data<uint8_t>()[i * n + j], want) << i << "," << j << " zb " << int{z_b};
        }
    }
  }
  SetIntegerSimdForTesting(true);
}

}  // namespace
}  // namespace lucid::onnx::internal
