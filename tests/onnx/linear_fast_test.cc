// MatMul, Gemm and Conv now run on the blocked GEMM (Conv through im2col). These tests
// compare them bit for bit, at several thread counts, with the canonical loops of
// docs/formats/onnx-semantics.md (the previous kernels), on random shapes including
// padding, strides, dilations, groups, batching and broadcasting.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "onnx/model.h"
#include "one_node_model.h"
#include "tensor/gemm.h"

namespace lucid::onnx {
namespace {

float Canon(float v) { return v == v ? v : std::bit_cast<float>(gemm::kCanonicalNaNBits); }

// Float32 inputs and output.
::onnx::ModelProto OneNode(const std::string& op, const std::vector<std::pair<std::string, std::vector<int64_t>>>& ins,
                           int opset = 13) {
  return testing::OneNodeModel(op, ::onnx::TensorProto::FLOAT, ins, opset);
}

void SetInts(::onnx::ModelProto& m, const std::string& name, std::vector<int64_t> v) {
  auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t x : v) a->add_ints(x);
}
void SetInt(::onnx::ModelProto& m, const std::string& name, int64_t v) {
  auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}
void SetFloat(::onnx::ModelProto& m, const std::string& name, float v) {
  auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::FLOAT);
  a->set_f(v);
}

Tensor Random(std::vector<int64_t> shape, std::mt19937& rng) {
  Tensor t = *Tensor::Make(DType::kFloat32, shape);
  std::uniform_real_distribution<float> d(-1.5f, 1.5f);
  for (uint64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = d(rng);
  return t;
}

// Runs the model at 1, 2 and 3 threads and checks each output against `want`.
void ExpectRuns(const ::onnx::ModelProto& proto, const TensorMap& inputs, const std::vector<float>& want,
                const std::string& what) {
  auto model = Model::Load(ToBytes(proto.SerializeAsString()));
  ASSERT_TRUE(model.ok()) << what << ": " << model.status().ToString();
  for (int threads : {1, 2, 3}) {
    auto out = (*model)->Run(inputs, RunOptions{threads});
    ASSERT_TRUE(out.ok()) << what << ": " << out.status().ToString();
    const Tensor& y = out->at("y");
    ASSERT_EQ(y.num_elements(), want.size()) << what;
    ASSERT_EQ(std::memcmp(y.data<float>(), want.data(), want.size() * sizeof(float)), 0)
        << what << " threads=" << threads;
  }
}

struct ConvCase {
  int64_t n, c, h, w, m, kh, kw, group, sh, sw, dh, dw, pt, pl, pb, pr;
};

// The canonical Conv: (channel, kernel row, kernel column) order, padding skipped, bias last.
std::vector<float> ConvCanonical(const ConvCase& k, const Tensor& x, const Tensor& w, const Tensor& b) {
  int64_t oh_n = (k.h + k.pt + k.pb - ((k.kh - 1) * k.dh + 1)) / k.sh + 1;
  int64_t ow_n = (k.w + k.pl + k.pr - ((k.kw - 1) * k.dw + 1)) / k.sw + 1;
  int64_t cpg = k.c / k.group, mpg = k.m / k.group;
  std::vector<float> y;
  const float *px = x.data<float>(), *pw = w.data<float>(), *pb = b.data<float>();
  for (int64_t n = 0; n < k.n; ++n)
    for (int64_t m = 0; m < k.m; ++m)
      for (int64_t oh = 0; oh < oh_n; ++oh)
        for (int64_t ow = 0; ow < ow_n; ++ow) {
          float acc = 0.0f;
          for (int64_t c = 0; c < cpg; ++c)
            for (int64_t i = 0; i < k.kh; ++i) {
              int64_t ih = oh * k.sh - k.pt + i * k.dh;
              if (ih < 0 || ih >= k.h) continue;
              for (int64_t j = 0; j < k.kw; ++j) {
                int64_t iw = ow * k.sw - k.pl + j * k.dw;
                if (iw < 0 || iw >= k.w) continue;
                acc = acc + px[((n * k.c + (m / mpg) * cpg + c) * k.h + ih) * k.w + iw] *
                                pw[((m * cpg + c) * k.kh + i) * k.kw + j];
              }
            }
          y.push_back(Canon(acc + pb[m]));
        }
  return y;
}

void RunConvCase(const ConvCase& k, std::mt19937& rng, bool poison_weight) {
  auto proto = OneNode("Conv", {{"x", {k.n, k.c, k.h, k.w}}, {"w", {k.m, k.c / k.group, k.kh, k.kw}}, {"b", {k.m}}});
  SetInts(proto, "strides", {k.sh, k.sw});
  SetInts(proto, "dilations", {k.dh, k.dw});
  SetInts(proto, "pads", {k.pt, k.pl, k.pb, k.pr});
  SetInt(proto, "group", k.group);
  TensorMap in{{"x", Random({k.n, k.c, k.h, k.w}, rng)},
               {"w", Random({k.m, k.c / k.group, k.kh, k.kw}, rng)},
               {"b", Random({k.m}, rng)}};
  // An infinite weight: im2col's 0·inf would be NaN where the canonical loop skips padding.
  if (poison_weight) in.at("w").data<float>()[0] = std::numeric_limits<float>::infinity();
  auto want = ConvCanonical(k, in.at("x"), in.at("w"), in.at("b"));
  ExpectRuns(proto, in, want,
             "conv n=" + std::to_string(k.n) + " c=" + std::to_string(k.c) + " m=" + std::to_string(k.m) +
                 " k=" + std::to_string(k.kh) + "x" + std::to_string(k.kw) + " g=" + std::to_string(k.group));
}

TEST(LinearFast, ConvMatchesCanonicalLoop) {
  std::mt19937 rng(11);
  std::vector<ConvCase> cases = {
      {1, 3, 8, 8, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},       // same padding
      {2, 4, 9, 7, 6, 3, 2, 2, 2, 1, 1, 2, 0, 1, 2, 0},       // groups, strides, dilation, uneven pads
      {1, 8, 6, 6, 8, 3, 3, 8, 1, 1, 1, 1, 1, 1, 1, 1},       // depthwise
      {3, 5, 4, 6, 7, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0},       // pointwise (no im2col)
      {1, 5, 4, 6, 7, 1, 1, 1, 2, 2, 1, 1, 1, 0, 0, 1},       // 1×1 with stride and pads
      {1, 16, 17, 17, 20, 5, 5, 1, 1, 1, 1, 1, 2, 2, 2, 2},   // several GEMM blocks
      {2, 6, 1, 30, 9, 1, 4, 3, 1, 3, 1, 2, 0, 3, 0, 1},      // 1-row images
      {1, 3, 6, 40, 4, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1},      // rows wider than one 16-lane strip
      {2, 2, 5, 64, 3, 3, 3, 1, 1, 1, 1, 2, 1, 2, 0, 1},      // ... with dilation and uneven pads
  };
  for (int i = 0; i < 6; ++i) {
    int64_t group = 1 + rng() % 3;
    ConvCase k{1 + int64_t(rng() % 2), group * (1 + int64_t(rng() % 4)), 3 + int64_t(rng() % 9),
               3 + int64_t(rng() % 9), group * (1 + int64_t(rng() % 5)), 1 + int64_t(rng() % 3),
               1 + int64_t(rng() % 3), group, 1 + int64_t(rng() % 2), 1 + int64_t(rng() % 2), 1, 1 + int64_t(rng() % 2),
               int64_t(rng() % 2), int64_t(rng() % 3), int64_t(rng() % 2), int64_t(rng() % 3)};
    cases.push_back(k);
  }
  for (const ConvCase& k : cases) {
    RunConvCase(k, rng, false);
    RunConvCase(k, rng, true);
  }
}

TEST(LinearFast, ConvInfiniteWeightDoesNotPoisonPadding) {
  // One input channel, 1×3 kernel with an infinite right tap and right padding: the last
  // output's window covers the pad at that tap, so it must stay finite (padding is skipped).
  ConvCase k{1, 1, 1, 4, 1, 1, 3, 1, 1, 1, 1, 1, 0, 1, 0, 1};
  auto proto = OneNode("Conv", {{"x", {1, 1, 1, 4}}, {"w", {1, 1, 1, 3}}, {"b", {1}}});
  SetInts(proto, "pads", {0, 1, 0, 1});
  Tensor x = *Tensor::Make(DType::kFloat32, {1, 1, 1, 4}), w = *Tensor::Make(DType::kFloat32, {1, 1, 1, 3}),
         b = *Tensor::Make(DType::kFloat32, {1});
  for (int i = 0; i < 4; ++i) x.data<float>()[i] = float(i + 1);
  w.data<float>()[0] = 1.0f;
  w.data<float>()[1] = 1.0f;
  w.data<float>()[2] = std::numeric_limits<float>::infinity();
  b.data<float>()[0] = 0.0f;
  auto want = ConvCanonical(k, x, w, b);
  ASSERT_EQ(want.size(), 4u);
  EXPECT_EQ(want[3], 7.0f);  // 3 + 4, the +inf tap falls in the padding
  ExpectRuns(proto, {{"x", x}, {"w", w}, {"b", b}}, want, "inf weight");
}

std::vector<float> MatMulCanonical(const Tensor& a, const Tensor& b, int64_t batches_a, int64_t batches_b, int64_t m,
                                   int64_t k, int64_t n) {
  std::vector<float> y;
  int64_t batches = std::max(batches_a, batches_b);
  for (int64_t bi = 0; bi < batches; ++bi) {
    const float* pa = a.data<float>() + (batches_a == 1 ? 0 : bi) * m * k;
    const float* pb = b.data<float>() + (batches_b == 1 ? 0 : bi) * k * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        float acc = 0.0f;
        for (int64_t p = 0; p < k; ++p) acc = acc + pa[i * k + p] * pb[p * n + j];
        y.push_back(Canon(acc));
      }
  }
  return y;
}

TEST(LinearFast, MatMulMatchesCanonicalLoop) {
  std::mt19937 rng(12);
  struct Case {
    int64_t ba, bb, m, k, n;
  };
  std::vector<Case> cases = {{1, 1, 32, 512, 70}, {4, 4, 9, 17, 33}, {1, 5, 7, 8, 16}, {6, 1, 1, 65, 3},
                             {1, 1, 1, 1, 1},     {3, 3, 64, 64, 64}};
  for (int i = 0; i < 5; ++i) {
    int64_t batch = 1 + rng() % 4;
    cases.push_back({rng() % 2 ? batch : 1, rng() % 2 ? batch : 1, 1 + int64_t(rng() % 40), 1 + int64_t(rng() % 90),
                     1 + int64_t(rng() % 80)});
  }
  for (const Case& c : cases) {
    auto proto = OneNode("MatMul", {{"a", {c.ba, c.m, c.k}}, {"b", {c.bb, c.k, c.n}}});
    TensorMap in{{"a", Random({c.ba, c.m, c.k}, rng)}, {"b", Random({c.bb, c.k, c.n}, rng)}};
    in.at("a").data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
    auto want = MatMulCanonical(in.at("a"), in.at("b"), c.ba, c.bb, c.m, c.k, c.n);
    ExpectRuns(proto, in, want, "matmul " + std::to_string(c.m) + "x" + std::to_string(c.k) + "x" + std::to_string(c.n));
  }
}

TEST(LinearFast, MatMulWithSharedBMatchesCanonicalLoop) {
  // A with batch dims and one B for all of them (the Linear layers of a transformer): the
  // batches become rows of one GEMM, which must not change any element.
  std::mt19937 rng(15);
  struct Case {
    std::vector<int64_t> a, b;
  };
  std::vector<Case> cases = {{{2, 3, 5, 7}, {7, 9}}, {{4, 64, 33}, {33, 40}}, {{2, 3, 5, 7}, {1, 1, 7, 9}},
                             {{3, 1, 17}, {17, 1}}};
  for (const Case& c : cases) {
    auto proto = OneNode("MatMul", {{"a", c.a}, {"b", c.b}});
    TensorMap in{{"a", Random(c.a, rng)}, {"b", Random(c.b, rng)}};
    in.at("a").data<float>()[1] = std::numeric_limits<float>::quiet_NaN();
    int64_t m = c.a[c.a.size() - 2], k = c.a.back(), n = c.b.back();
    int64_t batches = static_cast<int64_t>(in.at("a").num_elements()) / (m * k);
    auto want = MatMulCanonical(in.at("a"), in.at("b"), batches, 1, m, k, n);
    ExpectRuns(proto, in, want, "shared-B matmul m=" + std::to_string(m) + " k=" + std::to_string(k));
  }
}

// Turns graph input `name` into an initializer holding t (so the kernel may prepare it).
void MakeInitializer(::onnx::ModelProto& m, const std::string& name, const Tensor& t) {
  auto* g = m.mutable_graph();
  for (int i = 0; i < g->input_size(); ++i)
    if (g->input(i).name() == name) {
      g->mutable_input()->DeleteSubrange(i, 1);
      break;
    }
  auto* init = g->add_initializer();
  init->set_name(name);
  init->set_data_type(1);
  for (int64_t d : t.shape()) init->add_dims(d);
  for (uint64_t i = 0; i < t.num_elements(); ++i) init->add_float_data(t.data<float>()[i]);
}

TEST(LinearFast, ConstantWeightsPackedAtLoadMatchCanonicalLoop) {
  // Gemm (both transB) and MatMul with B an initializer: B is packed once at load; the
  // result must equal the canonical loop with and without that preparation.
  std::mt19937 rng(18);
  for (int c = 0; c < 4; ++c) {
    bool matmul = c >= 2, tb = c == 1;
    int64_t m = 1 + rng() % 40, k = 1 + rng() % 300, n = 1 + rng() % 70;
    std::vector<int64_t> as = matmul ? std::vector<int64_t>{2, m, k} : std::vector<int64_t>{m, k};
    std::vector<int64_t> bs = tb ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n};
    auto proto = matmul ? OneNode("MatMul", {{"a", as}, {"b", bs}}) : OneNode("Gemm", {{"a", as}, {"b", bs}, {"c", {n}}});
    if (!matmul) SetInt(proto, "transB", tb);
    Tensor a = Random(as, rng), b = Random(bs, rng), bias = Random({n}, rng);
    a.data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
    MakeInitializer(proto, "b", b);
    TensorMap in{{"a", a}};
    if (!matmul) in.emplace("c", bias);
    std::vector<float> want;
    int64_t batches = matmul ? 2 : 1;
    for (int64_t bi = 0; bi < batches; ++bi)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          float acc = 0.0f;
          for (int64_t p = 0; p < k; ++p)
            acc = acc + a.data<float>()[(bi * m + i) * k + p] * (tb ? b.data<float>()[j * k + p] : b.data<float>()[p * n + j]);
          want.push_back(Canon(matmul ? acc : acc + bias.data<float>()[j]));
        }
    std::string what = (matmul ? "matmul" : "gemm") + std::string(" constant B case ") + std::to_string(c);
    ExpectRuns(proto, in, want, what);
    LoadOptions unprepared;
    unprepared.prepare_constants = false;
    auto model = Model::Load(ToBytes(proto.SerializeAsString()), unprepared);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    auto out = (*model)->Run(in, RunOptions{2});
    ASSERT_TRUE(out.ok()) << out.status().ToString();
    ASSERT_EQ(std::memcmp(out->at("y").data<float>(), want.data(), want.size() * sizeof(float)), 0) << what;
  }
}

TEST(LinearFast, GemmMatchesCanonicalLoop) {
  std::mt19937 rng(13);
  // Cases 0-3: alpha/beta products; 4-5: alpha = beta = 1 (the bias-row path); 6: no C.
  for (int c = 0; c < 7; ++c) {
    bool ta = c & 1, tb = c & 2, unit = c >= 4, has_c = c != 6;
    int64_t m = 1 + rng() % 40, k = 1 + rng() % 300, n = 1 + rng() % 70;
    std::vector<int64_t> as = ta ? std::vector<int64_t>{k, m} : std::vector<int64_t>{m, k};
    std::vector<int64_t> bs = tb ? std::vector<int64_t>{n, k} : std::vector<int64_t>{k, n};
    auto proto = has_c ? OneNode("Gemm", {{"a", as}, {"b", bs}, {"c", {n}}}) : OneNode("Gemm", {{"a", as}, {"b", bs}});
    SetInt(proto, "transA", ta);
    SetInt(proto, "transB", tb);
    float alpha = unit ? 1.0f : 0.75f, beta = unit ? 1.0f : -1.25f;
    SetFloat(proto, "alpha", alpha);
    SetFloat(proto, "beta", beta);
    TensorMap in{{"a", Random(as, rng)}, {"b", Random(bs, rng)}};
    if (has_c) in.emplace("c", Random({n}, rng));
    // Overflow to inf and inf − inf = NaN in the bias sum: the result must be canonical.
    in.at("a").data<float>()[0] = std::numeric_limits<float>::infinity();
    if (has_c) in.at("c").data<float>()[0] = -std::numeric_limits<float>::infinity();
    const float *pa = in.at("a").data<float>(), *pb = in.at("b").data<float>();
    const float* pc = has_c ? in.at("c").data<float>() : nullptr;
    std::vector<float> want;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        float acc = 0.0f;
        for (int64_t p = 0; p < k; ++p) acc = acc + (ta ? pa[p * m + i] : pa[i * k + p]) * (tb ? pb[j * k + p] : pb[p * n + j]);
        want.push_back(Canon(pc ? alpha * acc + beta * pc[j] : alpha * acc));
      }
    ExpectRuns(proto, in, want, "gemm case " + std::to_string(c));
  }
}

// The canonical pooling loop (window order, padding skipped, count rule).
std::vector<float> PoolCanonical(bool max, bool include_pad, const ConvCase& k, const Tensor& x) {
  int64_t oh_n = (k.h + k.pt + k.pb - ((k.kh - 1) * k.dh + 1)) / k.sh + 1;
  int64_t ow_n = (k.w + k.pl + k.pr - ((k.kw - 1) * k.dw + 1)) / k.sw + 1;
  std::vector<float> y;
  for (int64_t plane = 0; plane < k.n * k.c; ++plane)
    for (int64_t oh = 0; oh < oh_n; ++oh)
      for (int64_t ow = 0; ow < ow_n; ++ow) {
        float acc = max ? -std::numeric_limits<float>::infinity() : 0.0f;
        int64_t count = 0;
        for (int64_t i = 0; i < k.kh; ++i)
          for (int64_t j = 0; j < k.kw; ++j) {
            int64_t ih = oh * k.sh - k.pt + i * k.dh, iw = ow * k.sw - k.pl + j * k.dw;
            if (include_pad && ih >= -k.pt && ih < k.h + k.pb && iw >= -k.pl && iw < k.w + k.pr) ++count;
            if (ih < 0 || ih >= k.h || iw < 0 || iw >= k.w) continue;
            float v = x.data<float>()[(plane * k.h + ih) * k.w + iw];
            if (max) {
              acc = v > acc ? v : acc;
            } else {
              acc = acc + v;
              if (!include_pad) ++count;
            }
          }
        y.push_back(max ? acc : acc / static_cast<float>(count));
      }
  return y;
}

TEST(LinearFast, PoolingMatchesCanonicalLoop) {
  std::mt19937 rng(14);
  for (int i = 0; i < 24; ++i) {
    int64_t kh = 1 + rng() % 3, kw = 1 + rng() % 3;
    ConvCase k{1 + int64_t(rng() % 2), 1 + int64_t(rng() % 3), 4 + int64_t(rng() % 20), 4 + int64_t(rng() % 20), 0,
               kh, kw, 1, 1 + int64_t(rng() % 2), 1 + int64_t(rng() % 2), 1, 1 + int64_t(rng() % 2),
               int64_t(rng() % kh), int64_t(rng() % kw), int64_t(rng() % kh), int64_t(rng() % kw)};
    bool max = i % 2 == 0, include_pad = i % 4 == 1;
    auto proto = OneNode(max ? "MaxPool" : "AveragePool", {{"x", {k.n, k.c, k.h, k.w}}}, max ? 13 : 19);
    SetInts(proto, "kernel_shape", {k.kh, k.kw});
    SetInts(proto, "strides", {k.sh, k.sw});
    SetInts(proto, "pads", {k.pt, k.pl, k.pb, k.pr});
    if (max || i % 3 == 0) SetInts(proto, "dilations", {k.dh, k.dw});
    else k.dh = k.dw = 1;
    if (!max) SetInt(proto, "count_include_pad", include_pad);
    TensorMap in{{"x", Random({k.n, k.c, k.h, k.w}, rng)}};
    ExpectRuns(proto, in, PoolCanonical(max, include_pad, k, in.at("x")), "pool case " + std::to_string(i));
  }
}

TEST(LinearFast, MaxPool2x2SpecialValuesMatchCanonicalLoop) {
  // The vectorised 2×2 / stride-2 max: NaN never wins, ±0 keep the first seen, −inf and
  // all-NaN windows; widths cover whole vectors, tails and odd (dropped) last columns.
  std::mt19937 rng(16);
  const float specials[] = {std::numeric_limits<float>::quiet_NaN(), -0.0f, 0.0f,
                            -std::numeric_limits<float>::infinity(), std::numeric_limits<float>::infinity()};
  for (int64_t w : {2, 15, 16, 17, 33, 40}) {
    ConvCase k{2, 3, 7, w, 0, 2, 2, 1, 2, 2, 1, 1, 0, 0, 0, 0};
    auto proto = OneNode("MaxPool", {{"x", {k.n, k.c, k.h, k.w}}});
    SetInts(proto, "kernel_shape", {2, 2});
    SetInts(proto, "strides", {2, 2});
    TensorMap in{{"x", Random({k.n, k.c, k.h, k.w}, rng)}};
    float* px = in.at("x").data<float>();
    for (uint64_t i = 0; i < in.at("x").num_elements(); ++i)
      if (rng() % 3 == 0) px[i] = specials[rng() % 5];
    for (int64_t i : {int64_t{0}, int64_t{1}, w, w + 1}) px[i] = std::numeric_limits<float>::quiet_NaN();  // all-NaN window
    auto want = PoolCanonical(true, false, k, in.at("x"));
    EXPECT_EQ(std::bit_cast<uint32_t>(want[0]), std::bit_cast<uint32_t>(-std::numeric_limits<float>::infinity()));
    ExpectRuns(proto, in, want, "maxpool 2x2 w=" + std::to_string(w));
  }
}

// The canonical N-D pooling loop: output and window positions in row-major order.
std::vector<float> PoolCanonicalND(bool max, bool include_pad, const std::vector<int64_t>& shape,
                                   const std::vector<int64_t>& kernel, const std::vector<int64_t>& strides,
                                   const std::vector<int64_t>& pads, const Tensor& x) {
  size_t dims = kernel.size();
  std::vector<int64_t> out(dims);
  int64_t planes = shape[0] * shape[1], in_plane = 1, out_plane = 1, window = 1;
  for (size_t a = 0; a < dims; ++a) {
    out[a] = (shape[a + 2] + pads[a] + pads[a + dims] - kernel[a]) / strides[a] + 1;
    in_plane *= shape[a + 2];
    out_plane *= out[a];
    window *= kernel[a];
  }
  std::vector<float> y;
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t o = 0; o < out_plane; ++o) {
      float acc = max ? -std::numeric_limits<float>::infinity() : 0.0f;
      int64_t count = 0;
      for (int64_t w = 0; w < window; ++w) {
        int64_t orest = o, wrest = w, offset = 0, stride = 1;
        bool inside = true, inside_pad = true;
        for (size_t a = dims; a-- > 0;) {
          int64_t oi = orest % out[a], wi = wrest % kernel[a];
          orest /= out[a];
          wrest /= kernel[a];
          int64_t i = oi * strides[a] - pads[a] + wi;
          inside = inside && i >= 0 && i < shape[a + 2];
          inside_pad = inside_pad && i >= -pads[a] && i < shape[a + 2] + pads[a + dims];
          offset += i * stride;
          stride *= shape[a + 2];
        }
        if (!max && include_pad && inside_pad) ++count;
        if (!inside) continue;
        float v = x.data<float>()[p * in_plane + offset];
        if (max) {
          acc = v > acc ? v : acc;
        } else {
          acc = acc + v;
          if (!include_pad) ++count;
        }
      }
      y.push_back(max ? acc : acc / static_cast<float>(count));
    }
  return y;
}

TEST(LinearFast, Pool3DMatchesCanonicalLoop) {
  std::mt19937 rng(17);
  for (int i = 0; i < 12; ++i) {
    std::vector<int64_t> shape = {1 + int64_t(rng() % 2), 1 + int64_t(rng() % 3)}, kernel, strides, pads(6);
    for (int a = 0; a < 3; ++a) {
      shape.push_back(3 + rng() % 6);
      kernel.push_back(1 + rng() % 3);
      strides.push_back(1 + rng() % 2);
    }
    for (int a = 0; a < 6; ++a) pads[a] = int64_t(rng() % kernel[a % 3]);
    bool max = i % 2 == 0, include_pad = i % 4 == 1;
    auto proto = OneNode(max ? "MaxPool" : "AveragePool", {{"x", shape}}, max ? 13 : 19);
    SetInts(proto, "kernel_shape", kernel);
    SetInts(proto, "strides", strides);
    SetInts(proto, "pads", pads);
    if (!max) SetInt(proto, "count_include_pad", include_pad);
    TensorMap in{{"x", Random(shape, rng)}};
    in.at("x").data<float>()[0] = std::numeric_limits<float>::quiet_NaN();
    ExpectRuns(proto, in, PoolCanonicalND(max, include_pad, shape, kernel, strides, pads, in.at("x")),
               "3-D pool case " + std::to_string(i));
  }
}

TEST(LinearFast, Pool3DRefusesMismatchedAttributes) {
  auto proto = OneNode("MaxPool", {{"x", {1, 1, 4, 4, 4}}});
  SetInts(proto, "kernel_shape", {2, 2});  // two dims for a 3-D input
  auto model = Model::Load(ToBytes(proto.SerializeAsString()));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  TensorMap in{{"x", *Tensor::Make(DType::kFloat32, {1, 1, 4, 4, 4})}};
  auto out = (*model)->Run(in, RunOptions{1});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().ToString().find("spatial dims"), std::string::npos) << out.status().ToString();
}

}  // namespace
}  // namespace lucid::onnx
