// The static quantizer on a MatMul with constant weights, a bias Add and a Relu (the
// transformer's linear layers): they become one int8 QLinearConv, the output keeps x's
// leading dims, and the result stays within a few quantization steps of the float model.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "onnx/model.h"
#include "onnx/quantize.h"
#include "tensor/math.h"

namespace lucid::onnx {
namespace {

void AddFloatInit(::onnx::GraphProto* g, const std::string& name, std::vector<int64_t> dims, std::vector<float> v) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : dims) t->add_dims(d);
  for (float f : v) t->add_float_data(f);
}

void AddValue(::onnx::ValueInfoProto* v, const std::string& name, std::vector<int64_t> dims) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(::onnx::TensorProto::FLOAT);
  for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
}

void AddNode(::onnx::GraphProto* g, const char* op, const std::vector<std::string>& in, const std::string& out) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(out);
  for (const auto& s : in) n->add_input(s);
  n->add_output(out);
}

Bytes Serialized(const ::onnx::ModelProto& m) {
  std::string bytes;
  m.SerializeToString(&bytes);
  return Bytes(bytes.begin(), bytes.end());
}

Bytes LinearModel() {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("linear");
  AddValue(g->add_input(), "x", {2, 3, 4});
  AddValue(g->add_output(), "y", {2, 3, 5});
  std::vector<float> w(20), b(5);
  for (int i = 0; i < 20; ++i) w[i] = std::sin(0.7f * static_cast<float>(i)) * 0.5f;
  for (int i = 0; i < 5; ++i) b[i] = 0.1f * static_cast<float>(i) - 0.2f;
  AddFloatInit(g, "w", {4, 5}, w);
  AddFloatInit(g, "b", {5}, b);
  auto node = [&](const char* op, std::vector<std::string> in, std::string out) { AddNode(g, op, in, out); };
  node("MatMul", {"x", "w"}, "mm");
  node("Add", {"mm", "b"}, "biased");
  node("Relu", {"biased"}, "y");
  return Serialized(m);
}

TensorMap Input(float phase) {
  Tensor x = *Tensor::Make(DType::kFloat32, {2, 3, 4});
  for (int i = 0; i < 24; ++i) x.data<float>()[i] = std::cos(phase + 0.37f * static_cast<float>(i));
  return {{"x", x}};
}

TEST(QuantizeTest, MatMulWithBiasAndReluBecomesOneIntegerConv) {
  Bytes float_model = LinearModel();
  std::vector<TensorMap> calibration = {Input(0.0f), Input(1.0f), Input(2.0f)};
  auto q = QuantizeStatic(float_model, calibration);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->quantized.size(), 1u);
  auto model = Model::Load(q->model);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto ops = (*model)->op_types();
  EXPECT_NE(std::find(ops.begin(), ops.end(), "QLinearConv"), ops.end());
  EXPECT_EQ(std::find(ops.begin(), ops.end(), "MatMul"), ops.end());
  EXPECT_EQ(std::find(ops.begin(), ops.end(), "Relu"), ops.end());  // folded into the clamp
  auto reference = Model::Load(float_model);
  ASSERT_TRUE(reference.ok());
  TensorMap in = Input(0.5f);
  auto want = (*reference)->Run(in);
  auto got = (*model)->Run(in);
  ASSERT_TRUE(want.ok() && got.ok()) << got.status().ToString();
  const Tensor& y = got->at("y");
  ASSERT_EQ(y.shape(), (std::vector<int64_t>{2, 3, 5}));
  float hi = 0.0f;
  for (uint64_t i = 0; i < y.num_elements(); ++i) hi = std::max(hi, want->at("y").data<float>()[i]);
  for (uint64_t i = 0; i < y.num_elements(); ++i) {
    EXPECT_GE(y.data<float>()[i], 0.0f);
    EXPECT_NEAR(y.data<float>()[i], want->at("y").data<float>()[i], 4.0f * hi / 255.0f) << i;
  }
  // Deterministic: the same file and bytes again, any thread count.
  auto again = QuantizeStatic(float_model, calibration);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->model, q->model);
  auto two = (*model)->Run(in, RunOptions{2});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->at("y"), y);
  // Weights prepared at load or converted on every run: the same bytes.
  LoadOptions unprepared;
  unprepared.prepare_constants = false;
  auto plain = Model::Load(q->model, unprepared);
  ASSERT_TRUE(plain.ok());
  for (int threads : {1, 2}) {
    auto slow = (*plain)->Run(in, RunOptions{threads});
    ASSERT_TRUE(slow.ok()) << slow.status().ToString();
    EXPECT_EQ(slow->at("y"), y) << threads;
  }
}

// x → MatMul+Add → Sigmoid → MatMul → Tanh: both nonlinearities become 256-entry tables
// (Cast + Gather on the uint8 codes), each entry equal to the spec's formula
// T[q] = QuantizeLinear(f(DequantizeLinear(q))) with Lucid's float32 f.
Bytes TableModel() {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(17);
  auto* g = m.mutable_graph();
  g->set_name("tables");
  AddValue(g->add_input(), "x", {2, 3, 4});
  AddValue(g->add_output(), "y", {2, 3, 5});
  std::vector<float> w1(24), b1(6), w2(30);
  for (int i = 0; i < 24; ++i) w1[i] = std::sin(0.9f * static_cast<float>(i)) * 1.5f;
  for (int i = 0; i < 6; ++i) b1[i] = 0.3f * static_cast<float>(i) - 0.7f;
  for (int i = 0; i < 30; ++i) w2[i] = std::cos(0.4f * static_cast<float>(i)) * 1.2f;
  AddFloatInit(g, "w1", {4, 6}, w1);
  AddFloatInit(g, "b1", {6}, b1);
  AddFloatInit(g, "w2", {6, 5}, w2);
  auto node = [&](const char* op, std::vector<std::string> in, std::string out) { AddNode(g, op, in, out); };
  node("MatMul", {"x", "w1"}, "mm1");
  node("Add", {"mm1", "b1"}, "h");
  node("Sigmoid", {"h"}, "s");
  node("MatMul", {"s", "w2"}, "mm2");
  node("Tanh", {"mm2"}, "y");
  return Serialized(m);
}

float ScalarInit(const ::onnx::GraphProto& g, const std::string& name, bool* found) {
  for (const auto& t : g.initializer())
    if (t.name() == name) {
      *found = true;
      if (t.data_type() == ::onnx::TensorProto::UINT8) return static_cast<float>(static_cast<uint8_t>(t.raw_data()[0]));
      float f;
      std::memcpy(&f, t.raw_data().data(), 4);
      return f;
    }
  *found = false;
  return 0.0f;
}

TEST(QuantizeTest, SigmoidAndTanhBecomeExactTables) {
  Bytes float_model = TableModel();
  std::vector<TensorMap> calibration = {Input(0.0f), Input(1.0f), Input(2.0f), Input(3.0f)};
  auto q = QuantizeStatic(float_model, calibration);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->quantized.size(), 4u);  // two linear layers, two tables
  auto model = Model::Load(q->model);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto ops = (*model)->op_types();
  for (const char* gone : {"Sigmoid", "Tanh", "MatMul"}) EXPECT_EQ(std::find(ops.begin(), ops.end(), gone), ops.end()) << gone;
  EXPECT_NE(std::find(ops.begin(), ops.end(), "Gather"), ops.end());

  // Each table against the spec's formula, from the parameters stored beside it.
  ::onnx::ModelProto proto;
  ASSERT_TRUE(proto.ParseFromArray(q->model.data(), static_cast<int>(q->model.size())));
  const auto& g = proto.graph();
  int tables = 0;
  for (const auto& n : g.node()) {
    if (n.op_type() != "Cast") continue;
    std::string x = n.input(0).substr(0, n.input(0).size() - 2);  // "<value>_q"
    const ::onnx::NodeProto* gather = nullptr;
    for (const auto& m : g.node())
      if (m.op_type() == "Gather" && m.input(1) == n.output(0)) gather = &m;
    ASSERT_NE(gather, nullptr);
    std::string y = gather->output(0).substr(0, gather->output(0).size() - 2);
    bool f1, f2, f3, f4;
    float s_in = ScalarInit(g, "qp_" + x + "_scale", &f1), z_in = ScalarInit(g, "qp_" + x + "_zp", &f2);
    float s_out = ScalarInit(g, "qp_" + y + "_scale", &f3), z_out = ScalarInit(g, "qp_" + y + "_zp", &f4);
    ASSERT_TRUE(f1 && f2 && f3 && f4) << x << " → " << y;
    const std::string* table = nullptr;
    for (const auto& t : g.initializer())
      if (t.name() == gather->input(0)) table = &t.raw_data();
    ASSERT_TRUE(table != nullptr && table->size() == 256u);
    bool sigmoid = y == "s";
    for (int code = 0; code < 256; ++code) {
      float real = static_cast<float>(code - static_cast<int>(z_in)) * s_in;
      float fx = sigmoid ? math::Sigmoid(real) : math::Tanh(real);
      double r = std::nearbyint(static_cast<double>(fx / s_out)) + z_out;
      int want = static_cast<int>(std::clamp(r, 0.0, 255.0));
      ASSERT_EQ(static_cast<uint8_t>((*table)[code]), want) << y << " code " << code;
    }
    ++tables;
  }
  EXPECT_EQ(tables, 2);

  // Close to the float model, and the same bytes for any thread count / preparation.
  auto reference = Model::Load(float_model);
  ASSERT_TRUE(reference.ok());
  TensorMap in = Input(0.5f);
  auto want = (*reference)->Run(in);
  auto got = (*model)->Run(in);
  ASSERT_TRUE(want.ok() && got.ok()) << got.status().ToString();
  for (uint64_t i = 0; i < got->at("y").num_elements(); ++i)
    EXPECT_NEAR(got->at("y").data<float>()[i], want->at("y").data<float>()[i], 0.06f) << i;
  LoadOptions unprepared;
  unprepared.prepare_constants = false;
  auto plain = Model::Load(q->model, unprepared);
  ASSERT_TRUE(plain.ok());
  auto two = (*plain)->Run(in, RunOptions{2});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ(two->at("y"), got->at("y"));
}

}  // namespace
}  // namespace lucid::onnx
