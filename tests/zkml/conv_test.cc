// zkml convolutions and pooling (docs/zk.md "Convolutions and pooling"): the quantized digits
// CNN (QLinearConv 3x3 pad 1 + ReLU, MaxPool 2x2, QLinearConv, MaxPool, Flatten, Gemm) proves
// and verifies at batch 1 and 3 with the engine's exact outputs; synthetic CNNs (stride 2 without
// padding, asymmetric pads, MaxPool 3x3 stride 1, int8 activations, a pool right after the
// input, a MatMul after a Flatten); a cheating prover's values at every wiring and pool
// position of an honest CNN proof, flipped bytes in the wiring sumchecks and another input's
// proof are refused.
#include <chrono>
#include <random>
#include <set>

#include "zkml_test_util.h"

namespace lucid::zkml::testing {
namespace {

using ::onnx::TensorProto;

// ---- The digits CNN: QuantizedCnn / CnnInput in zkml_test_util.h ----

// ---- Synthetic CNNs: x [N, C, H, W] -> QuantizeLinear -> ops -> Flatten -> [QLinearMatMul] ----

struct OpSpec {
  bool pool = false;
  int64_t out = 0;  // conv output channels
  int64_t kh = 3, kw = 3, sh = 1, sw = 1;
  std::vector<int64_t> pads = {0, 0, 0, 0};
  bool bias = true;
};

struct CnnSpec {
  int64_t c = 2, h = 7, w = 7;
  bool int8_activations = false;
  std::vector<OpSpec> ops;
  int64_t fc_out = 0;  // a QLinearMatMul after the Flatten (0: none)
  uint64_t seed = 7;
};

Bytes BuildCnn(const CnnSpec& spec, std::vector<int64_t>* out_shape) {
  using detail::AddInit;
  using detail::AddNode;
  std::mt19937_64 rng(spec.seed);
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("zkml_cnn_test");
  auto* in = g->add_input();
  in->set_name("x");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("batch");
  for (int64_t d : {spec.c, spec.h, spec.w}) tt->mutable_shape()->add_dim()->set_dim_value(d);
  const int act = spec.int8_activations ? TensorProto::INT8 : TensorProto::UINT8;
  double s_in = 1.0 / 240;
  AddInit(g, "x_scale", TensorProto::FLOAT, {}, {s_in});
  AddInit(g, "x_zero", act, {}, {spec.int8_activations ? -3.0 : 7.0});
  AddNode(g, "QuantizeLinear", {"x", "x_scale", "x_zero"}, "xq");
  std::string cur = "xq", scale = "x_scale", zero = "x_zero";
  int64_t c = spec.c, h = spec.h, w = spec.w;
  auto ints = [](::onnx::NodeProto* n, const std::string& name, const std::vector<int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(::onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
  };
  for (size_t i = 0; i < spec.ops.size(); ++i) {
    const OpSpec& op = spec.ops[i];
    std::string p = "op" + std::to_string(i) + "_";
    if (op.pool) {
      auto* n = AddNode(g, "MaxPool", {cur}, p + "y");
      ints(n, "kernel_shape", {op.kh, op.kw});
      ints(n, "strides", {op.sh, op.sw});
      h = (h - op.kh) / op.sh + 1, w = (w - op.kw) / op.sw + 1;
      cur = p + "y";
      continue;
    }
    int64_t K = c * op.kh * op.kw;
    std::vector<double> wv(static_cast<size_t>(op.out * K));
    for (double& v : wv) v = static_cast<double>(static_cast<int64_t>(rng() % 201) - 100);
    std::vector<double> sw(static_cast<size_t>(op.out)), zw(static_cast<size_t>(op.out), 0);
    for (size_t o = 0; o < sw.size(); ++o) sw[o] = 0.004 * (1.0 + 0.37 * static_cast<double>(o % 5));
    double s_out = s_in * 0.004 * std::sqrt(static_cast<double>(K)) * 60 * 60 / 40;
    AddInit(g, p + "w", TensorProto::INT8, {op.out, c, op.kh, op.kw}, wv);
    AddInit(g, p + "w_scale", TensorProto::FLOAT, {op.out}, sw);
    AddInit(g, p + "w_zero", TensorProto::INT8, {op.out}, zw);
    AddInit(g, p + "y_scale", TensorProto::FLOAT, {}, {s_out});
    AddInit(g, p + "y_zero", act, {}, {spec.int8_activations ? -5.0 : 120.0});
    std::vector<std::string> ins = {cur, scale, zero, p + "w", p + "w_scale", p + "w_zero", p + "y_scale", p + "y_zero"};
    if (op.bias) {
      std::vector<double> b(static_cast<size_t>(op.out));
      for (double& v : b) v = static_cast<double>(static_cast<int64_t>(rng() % 4001) - 2000);
      AddInit(g, p + "bias", TensorProto::INT32, {op.out}, b);
      ins.push_back(p + "bias");
    }
    auto* n = AddNode(g, "QLinearConv", ins, p + "y");
    ints(n, "kernel_shape", {op.kh, op.kw});
    ints(n, "strides", {op.sh, op.sw});
    ints(n, "pads", op.pads);
    h = (h + op.pads[0] + op.pads[2] - op.kh) / op.sh + 1;
    w = (w + op.pads[1] + op.pads[3] - op.kw) / op.sw + 1;
    c = op.out;
    cur = p + "y", scale = p + "y_scale", zero = p + "y_zero";
    s_in = s_out;
  }
  std::vector<int64_t> shape = {c, h, w};
  if (spec.fc_out > 0) {
    AddNode(g, "Flatten", {cur}, "flat");
    int64_t K = c * h * w;
    std::vector<double> wv(static_cast<size_t>(K * spec.fc_out));
    for (double& v : wv) v = static_cast<double>(static_cast<int64_t>(rng() % 201) - 100);
    double s_out = s_in * 0.004 * std::sqrt(static_cast<double>(K)) * 60 * 60 / 40;
    AddInit(g, "fc_w", TensorProto::INT8, {K, spec.fc_out}, wv);
    AddInit(g, "fc_w_scale", TensorProto::FLOAT, {}, {0.004});
    AddInit(g, "fc_w_zero", TensorProto::INT8, {}, {0});
    AddInit(g, "fc_y_scale", TensorProto::FLOAT, {}, {s_out});
    AddInit(g, "fc_y_zero", act, {}, {spec.int8_activations ? -5.0 : 120.0});
    AddNode(g, "QLinearMatMul",
            {"flat", scale, zero, "fc_w", "fc_w_scale", "fc_w_zero", "fc_y_scale", "fc_y_zero"}, "fc_y");
    cur = "fc_y", scale = "fc_y_scale", zero = "fc_y_zero";
    shape = {spec.fc_out};
  }
  AddNode(g, "DequantizeLinear", {cur, scale, zero}, "out");
  auto* o = g->add_output();
  o->set_name("out");
  auto* ot = o->mutable_type()->mutable_tensor_type();
  ot->set_elem_type(TensorProto::FLOAT);
  ot->mutable_shape()->add_dim()->set_dim_param("batch");
  for (int64_t d : shape) ot->mutable_shape()->add_dim()->set_dim_value(d);
  if (out_shape != nullptr) *out_shape = shape;
  return Serialize(m);
}

TensorMap CnnSpecInput(const CnnSpec& spec, int64_t rows, uint64_t seed) {
  Tensor x = RandomImages(rows, spec.c * spec.h * spec.w, seed);
  return {{"x", *Tensor::FromBytes(DType::kFloat32, {rows, spec.c, spec.h, spec.w},
                                   Bytes(x.bytes().begin(), x.bytes().end()))}};
}

// Proves, verifies, and compares the outputs and the integer y with the engine's.
struct Proven {
  Bytes proof;
  double prove_ms = 0, verify_ms = 0;
  ProveTimings timings;
};

Proven ProveAndCheck(ByteView model, const TensorMap& inputs, const std::string& what) {
  Proven out;
  auto key = Setup(model);
  if (!key.ok()) {
    ADD_FAILURE() << what << ": " << key.status().ToString();
    return out;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto proof = Prove(*key, inputs);
  out.prove_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!proof.ok()) {
    ADD_FAILURE() << what << ": " << proof.status().ToString();
    return out;
  }
  out.proof = proof->proof;
  out.timings = proof->timings;
  auto t1 = std::chrono::steady_clock::now();
  auto v = Verify(proof->proof, key->model_commitment);
  out.verify_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
  EXPECT_TRUE(v.ok()) << what << ": " << v.status().ToString();
  auto engine = RunModel(model, inputs);
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  if (engine.ok() && v.ok()) {
    EXPECT_EQ(engine->size(), v->outputs.size());
    for (const auto& [name, t] : *engine) {
      EXPECT_TRUE(v->outputs.count(name)) << name;
      if (!v->outputs.count(name)) continue;
      EXPECT_EQ(t.shape(), v->outputs.at(name).shape()) << what << " " << name;
      EXPECT_EQ(t.CanonicalBytes(), v->outputs.at(name).CanonicalBytes()) << what << " " << name;
    }
  }
  // The circuit's integer output is the engine's integer tensor.
  const Circuit& c = key->circuit;
  auto head = RunModel(c.head_model, inputs);
  EXPECT_TRUE(head.ok());
  if (head.ok()) {
    auto trace = Evaluate(c, head->at(c.x_name));
    EXPECT_TRUE(trace.ok()) << trace.status().ToString();
    auto with_y = RunModel(WithExtraOutput(model, c.y_name, c.y_dtype, trace->output_shape.size()), inputs);
    EXPECT_TRUE(with_y.ok()) << with_y.status().ToString();
    if (trace.ok() && with_y.ok()) {
      EXPECT_EQ(Codes(with_y->at(c.y_name)), trace->y) << what;
      std::set<int64_t> distinct(trace->y.begin(), trace->y.end());
      EXPECT_GE(distinct.size(), 2u) << what << ": degenerate outputs";
    }
  }
  std::printf("[zkml] %s: proof %zu bytes, prove %.1f ms (execute %.1f, commit %.1f, prove %.1f), verify %.1f ms\n",
              what.c_str(), out.proof.size(), out.prove_ms, out.timings.execute_ms, out.timings.commit_ms,
              out.timings.prove_ms, out.verify_ms);
  return out;
}

TEST(ZkmlConv, DigitsCnnCompiles) {
  auto c = CompileCircuit(QuantizedCnn());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->layers.size(), 3u);
  ASSERT_EQ(c->pools.size(), 2u);
  EXPECT_EQ(c->layers[0].kh, 3);
  EXPECT_EQ(c->layers[0].pad_t, 1);
  EXPECT_EQ(c->layers[0].out_h, 8);
  EXPECT_EQ(c->pools[0].out_h, 4);
  EXPECT_EQ(c->layers[1].in_c, 8);
  EXPECT_EQ(c->layers[1].out_h, 4);
  // The Gemm after the Flatten: a kernel covering the 16 x 2 x 2 map.
  EXPECT_EQ(c->layers[2].in_c, 16);
  EXPECT_EQ(c->layers[2].kh, 2);
  EXPECT_EQ(c->layers[2].in_features, 64);
  EXPECT_EQ(c->layers[2].out_features, 10);
  auto back = DecodeCircuit(c->Describe());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Describe(), c->Describe());
}

TEST(ZkmlConv, DigitsCnnProvesBatch1And3) {
  Bytes model = QuantizedCnn();
  for (int64_t rows : {1, 3}) ProveAndCheck(model, CnnInput(rows, 900 + static_cast<uint64_t>(rows)), "digits CNN N=" + std::to_string(rows));
}

struct SyntheticCase {
  const char* name;
  CnnSpec spec;
};

class SyntheticCnn : public ::testing::TestWithParam<SyntheticCase> {};

TEST_P(SyntheticCnn, ProvesAndMatchesEngine) {
  const SyntheticCase& tc = GetParam();
  Bytes model = BuildCnn(tc.spec, nullptr);
  for (int64_t rows : {1, 2}) ProveAndCheck(model, CnnSpecInput(tc.spec, rows, 77), std::string(tc.name) + " N=" + std::to_string(rows));
}

INSTANTIATE_TEST_SUITE_P(
    Models, SyntheticCnn,
    ::testing::Values(
        SyntheticCase{"Stride2NoPad", {.c = 2, .h = 7, .w = 7, .ops = {{.out = 3, .kh = 3, .kw = 3, .sh = 2, .sw = 2}}}},
        SyntheticCase{"AsymmetricPadsStride2",
                      {.c = 3, .h = 6, .w = 5, .ops = {{.out = 4, .kh = 3, .kw = 2, .sh = 2, .sw = 1, .pads = {1, 0, 2, 1}}},
                       .fc_out = 5}},
        SyntheticCase{"MaxPool3x3Stride1",
                      {.c = 2, .h = 6, .w = 6,
                       .ops = {{.out = 3, .kh = 3, .kw = 3, .pads = {1, 1, 1, 1}}, {.pool = true, .kh = 3, .kw = 3}},
                       .fc_out = 4}},
        SyntheticCase{"Int8ActivationsConvPoolConv",
                      {.c = 2, .h = 8, .w = 8, .int8_activations = true,
                       .ops = {{.out = 4, .kh = 3, .kw = 3, .pads = {1, 1, 1, 1}, .bias = false},
                               {.pool = true, .kh = 2, .kw = 2, .sh = 2, .sw = 2},
                               {.out = 3, .kh = 2, .kw = 2, .pads = {0, 0, 1, 1}}}}},
        SyntheticCase{"PoolFirstThenMatMul",
                      {.c = 3, .h = 5, .w = 4, .ops = {{.pool = true, .kh = 2, .kw = 3, .sh = 1, .sw = 1}}, .fc_out = 6}}),
    [](const ::testing::TestParamInfo<SyntheticCase>& info) { return std::string(info.param.name); });

// ---- Soundness on the digits CNN ----

struct CnnFixture {
  Bytes model, proof, other_proof;
  Hash32 commitment{};
};

const CnnFixture& Cnn() {
  static const CnnFixture* f = [] {
    auto* f = new CnnFixture;
    f->model = QuantizedCnn();
    auto key = Setup(f->model);
    EXPECT_TRUE(key.ok()) << key.status().ToString();
    f->commitment = key->model_commitment;
    auto p = Prove(*key, CnnInput(2, 31));
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    f->proof = p->proof;
    auto q = Prove(*key, CnnInput(2, 32));
    EXPECT_TRUE(q.ok()) << q.status().ToString();
    f->other_proof = q->proof;
    return f;
  }();
  return *f;
}

void ExpectRefused(ByteView proof, const std::string& what) {
  auto v = Verify(proof, Cnn().commitment);
  EXPECT_FALSE(v.ok()) << what << ": accepted";
}

TEST(ZkmlConvSoundness, HonestVerifies) {
  const CnnFixture& f = Cnn();
  EXPECT_TRUE(Verify(f.proof, f.commitment).ok());
  EXPECT_TRUE(Verify(f.other_proof, f.commitment).ok());
}

// A cheating prover's value at each wiring and pool position (the committed maxima m~(rho),
// the differences, the wiring's input value, the max-attained product values).
TEST(ZkmlConvSoundness, CheatingWiringAndPoolValuesRefused) {
  const CnnFixture& f = Cnn();
  ParsedProof p;
  ASSERT_TRUE(ParseProof(f.proof, p));
  size_t tried = 0;
  for (const Span& s : p.fp2) {
    bool target = s.label.rfind("pool ", 0) == 0 || s.label.find("wiring value") != std::string::npos ||
                  s.label.find("lookup leaf pool") != std::string::npos;
    if (!target) continue;
    codec::Reader reader(ByteView(f.proof.data() + s.begin, 16));
    auto v = zk::ReadFp2(reader);
    ASSERT_TRUE(v.ok());
    ExpectRefused(Splice(f.proof, s, EncodeFp2(Bump(*v))), s.label);
    ++tried;
  }
  // Per pool 5 values, a wiring value and 4 product values; 3 wired layers; 8 pool leaves.
  EXPECT_GE(tried, 2u * (5 + 1 + 4) + 3 + 8);
  std::printf("[zkml] CNN proof: %zu cheating wiring/pool values refused\n", tried);
}

// Flipped bytes in every wiring sumcheck (the round values), and in the max-attained sumchecks.
TEST(ZkmlConvSoundness, FlippedWiringSumcheckBytesRefused) {
  const CnnFixture& f = Cnn();
  ParsedProof p;
  ASSERT_TRUE(ParseProof(f.proof, p));
  size_t tried = 0, wiring = 0;
  for (const Span& s : p.sumchecks) {
    bool is_wiring = s.label.find("wiring") != std::string::npos;
    if (!is_wiring && s.label.find("max-attained") == std::string::npos) continue;
    wiring += is_wiring;
    // Round values start after u32 rounds and u32 count; flip one byte in each of a few values.
    for (size_t at = s.begin + 8; at + 16 <= s.end; at += 37) {
      Bytes t = f.proof;
      t[at] ^= 0x01;
      ExpectRefused(t, s.label + " byte " + std::to_string(at - s.begin));
      ++tried;
    }
  }
  EXPECT_EQ(wiring, 2u + 3u);  // two pools, three wired layers
  EXPECT_GT(tried, 20u);
  std::printf("[zkml] CNN proof: %zu flipped sumcheck bytes refused\n", tried);
}

TEST(ZkmlConvSoundness, AnotherInputsProofRefused) {
  const CnnFixture& f = Cnn();
  ParsedProof a, b;
  ASSERT_TRUE(ParseProof(f.proof, a));
  ASSERT_TRUE(ParseProof(f.other_proof, b));
  ExpectRefused(Reassemble(a, ByteView(f.other_proof.data() + b.body_begin, f.other_proof.size() - b.body_begin)),
                "statement of input A with the proof of input B");
}

// Random single-bit flips anywhere in a CNN proof: every one refused (the transcript binds the
// float inputs and outputs too, so not even an input that quantizes alike is accepted).
TEST(ZkmlConvSoundness, RandomBitFlipsRefused) {
  const CnnFixture& f = Cnn();
  std::mt19937_64 rng(2026);
  const int trials = 200;
  for (int i = 0; i < trials; ++i) {
    Bytes t = f.proof;
    size_t at = static_cast<size_t>(rng() % t.size());
    t[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
    ExpectRefused(t, "bit flip at " + std::to_string(at));
  }
  std::printf("[zkml] CNN proof: %d random bit flips refused\n", trials);
}

// A description whose geometry does not chain or is out of range is refused by the decoder.
TEST(ZkmlConvDecode, BrokenGeometryRefused) {
  auto c = CompileCircuit(QuantizedCnn());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  auto expect_refused = [&](const Circuit& forged, const std::string& what) {
    auto d = DecodeCircuit(forged.Describe());
    EXPECT_FALSE(d.ok()) << what;
    if (!d.ok()) std::printf("[zkml] %s: %s\n", what.c_str(), d.status().message().c_str());
  };
  Circuit f = *c;
  f.layers[1].in_c = 7;
  expect_refused(f, "a layer reading 7 channels of an 8-channel map");
  f = *c;
  f.pools[0].out_h = 5;
  expect_refused(f, "a pool with a wrong output height");
  f = *c;
  f.layers[0].pad_t = f.layers[0].kh;
  expect_refused(f, "a pad as large as the kernel");
  f = *c;
  f.pools[0].kh = 4, f.pools[0].kw = 4;
  f.pools[0].out_h = 3, f.pools[0].out_w = 3;  // 16 taps
  expect_refused(f, "a 16-tap pool");
  f = *c;
  f.layers[2].kh = 1;
  expect_refused(f, "a layer whose kernel does not give K");
}

}  // namespace
}  // namespace lucid::zkml::testing
