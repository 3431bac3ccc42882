// zkml refusals: DecodeCircuit is strict (every prefix, trailing bytes, another version), and
// CompileCircuit / Setup refuse models outside circuit version 2 naming the op: a float model,
// the quantized digits CNN with a grouped convolution, an AveragePool and a padded MaxPool in
// the integer chain, and an integer value with two consumers.
#include "zkml_test_util.h"

namespace lucid::zkml::testing {
namespace {

TEST(ZkmlDecodeCircuit, StrictPrefixesTrailingVersion) {
  ModelSpec spec;
  spec.in = 5;
  spec.layers = {{.out = 3, .conv = true, .bias = true}, {.out = 2}};
  auto c = CompileCircuit(BuildModel(spec));
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  Bytes d = c->Describe();
  auto back = DecodeCircuit(d);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Describe(), d);
  for (size_t n = 0; n < d.size(); ++n) EXPECT_FALSE(DecodeCircuit(ByteView(d.data(), n)).ok()) << "prefix " << n;
  Bytes trailing = d;
  trailing.push_back(0);
  auto t = DecodeCircuit(trailing);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.status().message().find("trailing"), std::string::npos) << t.status().message();
  Bytes version = d;
  ASSERT_EQ(version[4 + kCircuitVersion.size() - 1], '2');
  version[4 + kCircuitVersion.size() - 1] = '1';
  auto v = DecodeCircuit(version);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("version"), std::string::npos) << v.status().message();
  std::printf("[zkml] circuit description %zu bytes: every prefix refused\n", d.size());
}

void ExpectRefusal(ByteView model, const std::vector<std::string>& needles) {
  auto c = CompileCircuit(model);
  ASSERT_FALSE(c.ok());
  for (const auto& s : needles) EXPECT_NE(c.status().message().find(s), std::string::npos) << c.status().message();
  auto k = zkml::Setup(model);
  ASSERT_FALSE(k.ok());
  EXPECT_EQ(k.status().message(), c.status().message());
  std::printf("[zkml] refused: %s\n", c.status().message().c_str());
}

TEST(ZkmlRefusals, FloatModel) {
  ExpectRefusal(ReadFileBytes(SourcePath("models/digits/mlp.onnx")), {"QuantizeLinear"});
}

TEST(ZkmlRefusals, QuantizedCnnGroupedConvolution) {
  Bytes float_model = ReadFileBytes(SourcePath("models/digits/cnn.onnx"));
  std::vector<TensorMap> calibration;
  for (uint64_t i = 0; i < 20; ++i) {
    Tensor x = RandomImages(1, 64, 500 + i);
    auto x4 = Tensor::FromBytes(DType::kFloat32, {1, 1, 8, 8}, Bytes(x.bytes().begin(), x.bytes().end()));
    ASSERT_TRUE(x4.ok());
    calibration.push_back({{"x", *x4}});
  }
  auto q = onnx::QuantizeStatic(float_model, calibration);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ::onnx::ModelProto m;
  ASSERT_TRUE(m.ParseFromArray(q->model.data(), static_cast<int>(q->model.size())));
  std::string conv;
  for (auto& n : *m.mutable_graph()->mutable_node())
    if (n.op_type() == "QLinearConv") {
      conv = n.name().empty() ? n.output(0) : n.name();
      auto* a = n.add_attribute();
      a->set_name("group");
      a->set_type(::onnx::AttributeProto::INT);
      a->set_i(2);
      break;
    }
  ASSERT_FALSE(conv.empty());
  ASSERT_TRUE(CompileCircuit(q->model).ok());  // the CNN itself proves (conv_test.cc)
  ExpectRefusal(Serialize(m), {"QLinearConv", conv, "grouped convolution"});
}

// xq -> Reshape [N, 6, 1, 1] -> `op` -> QLinearConv 1x1 (a pool in the chain).
Bytes WithPool(const std::string& op, bool padded) {
  ModelSpec spec;
  spec.in = 6;
  spec.layers = {{.out = 4, .conv = true}};
  auto m = BuildModelProto(spec);
  auto* g = m.mutable_graph();
  for (auto& n : *g->mutable_node())
    if (n.op_type() == "QLinearConv") n.set_input(0, "pooled");
  auto* pool = g->add_node();
  pool->set_op_type(op);
  pool->set_name("the_pool");
  pool->add_input("l0_in4");
  pool->add_output("pooled");
  auto* k = pool->add_attribute();
  k->set_name("kernel_shape");
  k->set_type(::onnx::AttributeProto::INTS);
  k->add_ints(1);
  k->add_ints(1);
  if (padded) {
    auto* p = pool->add_attribute();
    p->set_name("pads");
    p->set_type(::onnx::AttributeProto::INTS);
    for (int i = 0; i < 4; ++i) p->add_ints(1);
  }
  return Serialize(m);
}

TEST(ZkmlRefusals, PoolsInTheChain) {
  EXPECT_TRUE(CompileCircuit(WithPool("MaxPool", false)).ok());  // a 1x1 MaxPool proves
  ExpectRefusal(WithPool("AveragePool", false), {"AveragePool", "the_pool"});
  ExpectRefusal(WithPool("MaxPool", true), {"MaxPool", "the_pool", "padded"});
}

TEST(ZkmlRefusals, ValueWithTwoConsumers) {
  ModelSpec spec;
  spec.in = 6;
  spec.layers = {{.out = 4}, {.out = 3}};
  auto m = BuildModelProto(spec);
  auto* g = m.mutable_graph();
  auto* side = g->add_node();  // l0_y also dequantized and returned
  side->set_op_type("DequantizeLinear");
  side->set_name("side");
  side->add_input("l0_y");
  side->add_input("l0_y_scale");
  side->add_input("l0_y_zero");
  side->add_output("side_out");
  detail::AddFloatValue(g->add_output(), "side_out", 4);
  ExpectRefusal(Serialize(m), {"l0_y", "one consumer"});
}

}  // namespace
}  // namespace lucid::zkml::testing
