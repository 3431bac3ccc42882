// zkml completeness: for the quantized digits MLP and small synthetic QLinear models
// (QLinearMatMul with constant B, 1x1 QLinearConv with and without bias, int8 and uint8
// activations, int8 and uint8 weights, per-tensor and per-column weight scales, 1-3 layers,
// widths that are not powers of two, batches 1, 3, 5) Prove then Verify succeeds, the
// proven outputs are byte for byte the engine's outputs of the whole quantized model,
// Evaluate's integer output is the engine's integer tensor, and the proof bytes do not
// depend on the thread count.
#include <chrono>
#include <set>

#include "zkml_test_util.h"

namespace lucid::zkml::testing {
namespace {

struct Case {
  std::string name;
  ModelSpec spec;
  int64_t rows;
};

std::vector<Case> Cases() {
  std::vector<Case> cases;
  ModelSpec one;
  one.in = 8;
  one.layers = {{.out = 5}};
  ModelSpec three;
  three.in = 12;
  three.int8_activations = true;
  three.seed = 2;
  three.layers = {{.out = 7, .uint8_weights = true, .per_column_scale = false},
                  {.out = 6, .conv = true, .bias = true},
                  {.out = 3}};
  ModelSpec conv;
  conv.in = 10;
  conv.seed = 3;
  conv.layers = {{.out = 9, .conv = true, .bias = false, .uint8_weights = true}, {.out = 5, .conv = true, .bias = true}};
  ModelSpec u8w;
  u8w.in = 6;
  u8w.seed = 4;
  u8w.layers = {{.out = 11, .uint8_weights = true, .per_column_scale = false}};
  for (int64_t n : {1, 3, 5}) {
    cases.push_back({"MatMulU8Act_N" + std::to_string(n), one, n});
    cases.push_back({"ThreeLayersI8Act_N" + std::to_string(n), three, n});
  }
  cases.push_back({"ConvNoBiasThenBias_N3", conv, 3});
  cases.push_back({"Uint8WeightsPerTensor_N5", u8w, 5});
  return cases;
}

double MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

void CheckComplete(ByteView model, const TensorMap& inputs, int64_t rows, bool compare_threads = true) {
  auto key = zkml::Setup(model);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  auto t0 = std::chrono::steady_clock::now();
  auto proven = Prove(*key, inputs, {.threads = 2, .cheat = {}, .on_phase = {}});
  ASSERT_TRUE(proven.ok()) << proven.status().ToString();
  double prove_ms = MsSince(t0);
  if (compare_threads) {
    auto single = Prove(*key, inputs, {.threads = 1, .cheat = {}, .on_phase = {}});
    ASSERT_TRUE(single.ok()) << single.status().ToString();
    EXPECT_EQ(proven->proof, single->proof) << "proof bytes depend on the thread count";
  }

  auto t1 = std::chrono::steady_clock::now();
  auto verified = Verify(proven->proof, key->model_commitment);
  double verify_ms = MsSince(t1);
  ASSERT_TRUE(verified.ok()) << verified.status().ToString();
  EXPECT_EQ(verified->model_commitment, key->model_commitment);
  EXPECT_EQ(verified->circuit_hash, key->circuit_hash);
  EXPECT_EQ(verified->rows, rows);
  EXPECT_TRUE(verified->inputs == inputs);
  EXPECT_TRUE(verified->outputs == proven->outputs);

  // The outputs are the engine's, byte for byte, on the whole quantized model.
  auto engine = RunModel(model, inputs);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  ASSERT_EQ(engine->size(), proven->outputs.size());
  for (const auto& [name, t] : *engine) {
    ASSERT_TRUE(proven->outputs.count(name)) << name;
    EXPECT_EQ(t.dtype(), proven->outputs.at(name).dtype()) << name;
    EXPECT_EQ(t.shape(), proven->outputs.at(name).shape()) << name;
    EXPECT_EQ(t.CanonicalBytes(), proven->outputs.at(name).CanonicalBytes()) << name;
  }

  // Evaluate's integer output is the engine's integer tensor (an extra graph output).
  const Circuit& c = key->circuit;
  auto head = RunModel(c.head_model, inputs);
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  const Tensor& x = head->at(c.x_name);
  EXPECT_EQ(x.shape()[0], rows);
  auto trace = Evaluate(c, x);
  ASSERT_TRUE(trace.ok()) << trace.status().ToString();
  auto with_y = RunModel(WithExtraOutput(model, c.y_name, c.y_dtype, trace->output_shape.size()), inputs);
  ASSERT_TRUE(with_y.ok()) << with_y.status().ToString();
  ASSERT_TRUE(with_y->count(c.y_name));
  const Tensor& y = with_y->at(c.y_name);
  EXPECT_EQ(y.dtype(), c.y_dtype);
  EXPECT_EQ(Codes(y), trace->y);
  EXPECT_EQ(y.shape(), trace->output_shape);
  // Not degenerate: the outputs are not all one clamped code.
  std::set<int64_t> distinct(trace->y.begin(), trace->y.end());
  EXPECT_GE(distinct.size(), 2u);
  std::printf("[zkml] rows %lld layers %zu: proof %zu bytes, prove %.1f ms, verify %.1f ms\n",
              static_cast<long long>(rows), c.layers.size(), proven->proof.size(), prove_ms, verify_ms);
}

class SyntheticCompleteness : public ::testing::TestWithParam<Case> {};

TEST_P(SyntheticCompleteness, ProveVerifyMatchesEngine) {
  const Case& c = GetParam();
  Bytes model = BuildModel(c.spec);
  auto key = zkml::Setup(model);
  ASSERT_TRUE(key.ok()) << key.status().ToString();
  EXPECT_EQ(key->circuit.layers.size(), c.spec.layers.size());
  // Threads 1 vs 2 on the odd batches (1 and 5 take the same code paths).
  CheckComplete(model, {{"x", RandomImages(c.rows, c.spec.in, 100 + static_cast<uint64_t>(c.rows))}}, c.rows,
                c.rows == 3);
}

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

INSTANTIATE_TEST_SUITE_P(Models, SyntheticCompleteness, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

TEST(ZkmlCompleteness, QuantizedDigitsMlpBatch1) {
  Bytes model = QuantizedMlp(1);
  ASSERT_FALSE(model.empty());
  CheckComplete(model, MlpInput(1, 7), 1);
}

TEST(ZkmlCompleteness, QuantizedDigitsMlpBatch3) {
  Bytes model = QuantizedMlp(1);
  ASSERT_FALSE(model.empty());
  CheckComplete(model, MlpInput(3, 9), 3);
}

// Sigmoid / Tanh between the layers: the quantizer's 256-entry tables (Cast + Gather) are
// proved by a lookup of each (x, y) pair against the table, and the outputs are the engine's.
TEST(ZkmlCompleteness, TableNonlinearitiesSigmoidAndTanh) {
  for (const char* activation : {"Sigmoid", "Tanh"}) {
    SCOPED_TRACE(activation);
    Bytes model = QuantizedMlp(1, activation);
    ASSERT_FALSE(model.empty());
    auto c = CompileCircuit(model);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    ASSERT_EQ(c->layers.size(), 2u);
    ASSERT_EQ(c->tables.size(), 1u);
    EXPECT_EQ(c->tables[0].c, 32);
    auto ops = c->Ops();
    ASSERT_EQ(ops.size(), 3u);
    EXPECT_TRUE(ops[1].table);
    // The table is part of the circuit: a different one is a different circuit hash.
    Circuit other = *c;
    other.tables[0].values[100] ^= 1;
    EXPECT_NE(other.Hash(), c->Hash());
    auto decoded = DecodeCircuit(c->Describe());
    ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
    EXPECT_EQ(decoded->Hash(), c->Hash());
    CheckComplete(model, MlpInput(1, 11), 1);
    CheckComplete(model, MlpInput(3, 12), 3, false);
  }
}

TEST(ZkmlCompleteness, CircuitOfTheMlpIsTwoLayers) {
  Bytes model = QuantizedMlp(1);
  auto c = CompileCircuit(model);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  ASSERT_EQ(c->layers.size(), 2u);
  EXPECT_EQ(c->layers[0].in_features, 64);
  EXPECT_EQ(c->layers[0].out_features, 32);
  EXPECT_EQ(c->layers[1].out_features, 10);
  // Describe / DecodeCircuit round trip keeps the hash.
  Bytes d = c->Describe();
  auto back = DecodeCircuit(d);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Describe(), d);
  EXPECT_EQ(back->Hash(), c->Hash());
  EXPECT_FALSE(back->has_weights);
}

}  // namespace
}  // namespace lucid::zkml::testing
