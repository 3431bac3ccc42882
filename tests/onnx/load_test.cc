// Bad models and bad inputs: each is refused with a message naming the problem.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>

#include "onnx/model.h"

namespace lucid::onnx {
namespace {

::onnx::ModelProto BaseModel(int opset = 13) {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  auto* op = m.add_opset_import();
  op->set_domain("");
  op->set_version(opset);
  m.mutable_graph()->set_name("g");
  return m;
}

void AddValue(google::protobuf::RepeatedPtrField<::onnx::ValueInfoProto>* list, const std::string& name,
              std::vector<int64_t> dims, int elem = 1) {
  auto* v = list->Add();
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(elem);
  auto* shape = tt->mutable_shape();
  for (int64_t d : dims) {
    if (d < 0) shape->add_dim()->set_dim_param("n");
    else shape->add_dim()->set_dim_value(d);
  }
}

::onnx::NodeProto* AddNode(::onnx::ModelProto& m, const std::string& op, std::vector<std::string> in,
                           std::vector<std::string> out) {
  auto* n = m.mutable_graph()->add_node();
  n->set_op_type(op);
  for (auto& s : in) n->add_input(s);
  for (auto& s : out) n->add_output(s);
  return n;
}

void AddInitializer(::onnx::ModelProto& m, const std::string& name, std::vector<int64_t> dims,
                    std::vector<float> values) {
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(1);
  for (int64_t d : dims) t->add_dims(d);
  for (float v : values) t->add_float_data(v);
}

Bytes Serialize(const ::onnx::ModelProto& m) { return ToBytes(m.SerializeAsString()); }

// y = relu(x + b), x: [-1, 2] float.
::onnx::ModelProto GoodModel() {
  auto m = BaseModel();
  AddValue(m.mutable_graph()->mutable_input(), "x", {-1, 2});
  AddValue(m.mutable_graph()->mutable_output(), "y", {-1, 2});
  AddInitializer(m, "b", {2}, {1.0f, -1.0f});
  AddNode(m, "Add", {"x", "b"}, {"s"});
  AddNode(m, "Relu", {"s"}, {"y"});
  return m;
}

void ExpectLoadError(const ::onnx::ModelProto& m, const std::string& needle) {
  auto r = Model::Load(Serialize(m));
  ASSERT_FALSE(r.ok()) << "expected refusal mentioning " << needle;
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().ToString();
}

Tensor Floats(std::vector<int64_t> shape, std::vector<float> v) {
  Bytes b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return *Tensor::FromBytes(DType::kFloat32, std::move(shape), std::move(b));
}

TEST(LoadTest, GoodModelRuns) {
  auto model = Model::Load(Serialize(GoodModel()));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto out = (*model)->Run({{"x", Floats({1, 2}, {0.5f, 0.5f})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->at("y").data<float>()[0], 1.5f);
  EXPECT_EQ(out->at("y").data<float>()[1], 0.0f);
}

TEST(LoadTest, RefusesTruncatedAndOversizedBytes) {
  Bytes bytes = Serialize(GoodModel());
  Bytes truncated(bytes.begin(), bytes.begin() + bytes.size() / 2);
  auto r = Model::Load(truncated);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("protobuf"), std::string::npos);
  EXPECT_FALSE(Model::Load(Bytes{0xff, 0xff, 0xff}).ok());
  LoadOptions small;
  small.max_model_bytes = 10;
  EXPECT_EQ(Model::Load(bytes, small).status().code(), Code::kOutOfRange);
  auto no_graph = BaseModel();
  no_graph.clear_graph();
  ExpectLoadError(no_graph, "no graph");
}

TEST(LoadTest, RefusesUnknownOpAndDomain) {
  auto m = GoodModel();
  m.mutable_graph()->mutable_node(1)->set_op_type("FancyRelu");
  auto r = Model::Load(Serialize(m));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnimplemented);
  EXPECT_NE(r.status().message().find("FancyRelu"), std::string::npos);
  EXPECT_NE(r.status().message().find("opset 13"), std::string::npos);

  auto ml = GoodModel();
  ml.mutable_graph()->mutable_node(1)->set_op_type("ZipMap");
  ml.mutable_graph()->mutable_node(1)->set_domain("ai.onnx.ml");
  ExpectLoadError(ml, "ai.onnx.ml");

  ExpectLoadError(BaseModel(99), "opset 99");
}

TEST(LoadTest, RefusesCycle) {
  auto m = BaseModel();
  AddValue(m.mutable_graph()->mutable_input(), "x", {2});
  AddValue(m.mutable_graph()->mutable_output(), "y", {2});
  AddNode(m, "Add", {"x", "z"}, {"y"})->set_name("first");
  AddNode(m, "Relu", {"y"}, {"z"})->set_name("second");
  ExpectLoadError(m, "cycle");
}

TEST(LoadTest, RefusesUndefinedInputAndMissingInitializer) {
  auto m = GoodModel();
  m.mutable_graph()->clear_initializer();  // "b" now comes from nowhere
  ExpectLoadError(m, "'b' is not defined");
  auto out = GoodModel();
  out.mutable_graph()->mutable_output(0)->set_name("nowhere");
  ExpectLoadError(out, "nowhere");
}

TEST(LoadTest, RefusesBadAttributesAndExternalData) {
  auto m = BaseModel();
  AddValue(m.mutable_graph()->mutable_input(), "x", {1, 1, 4, 4});
  AddValue(m.mutable_graph()->mutable_output(), "y", {1, 1, 4, 4});
  AddInitializer(m, "w", {1, 1, 1, 1}, {1.0f});
  auto* conv = AddNode(m, "Conv", {"x", "w"}, {"y"});
  auto* group = conv->add_attribute();
  group->set_name("group");
  group->set_type(::onnx::AttributeProto::INT);
  group->set_i(0);
  ExpectLoadError(m, "group");

  auto odd = m;
  odd.mutable_graph()->mutable_node(0)->mutable_attribute(0)->set_name("fancy_mode");
  ExpectLoadError(odd, "fancy_mode");

  auto ext = GoodModel();
  auto* init = ext.mutable_graph()->mutable_initializer(0);
  init->clear_float_data();
  init->set_data_location(::onnx::TensorProto::EXTERNAL);
  auto* entry = init->add_external_data();
  entry->set_key("location");
  entry->set_value("weights.bin");
  ExpectLoadError(ext, "external");

  auto wrong_count = GoodModel();
  wrong_count.mutable_graph()->mutable_initializer(0)->add_float_data(3.0f);
  ExpectLoadError(wrong_count, "count");
}

TEST(LoadTest, RunRefusesBadInputs) {
  auto model = Model::Load(Serialize(GoodModel()));
  ASSERT_TRUE(model.ok());
  auto missing = (*model)->Run({});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("missing input 'x'"), std::string::npos);
  auto extra = (*model)->Run({{"x", Floats({1, 2}, {1, 2})}, {"z", Floats({1}, {1})}});
  ASSERT_FALSE(extra.ok());
  EXPECT_NE(extra.status().message().find("unknown input 'z'"), std::string::npos);
  auto shape = (*model)->Run({{"x", Floats({1, 3}, {1, 2, 3})}});
  ASSERT_FALSE(shape.ok());
  EXPECT_NE(shape.status().message().find("shape"), std::string::npos);
  auto rank = (*model)->Run({{"x", Floats({2}, {1, 2})}});
  EXPECT_FALSE(rank.ok());
  auto dtype = (*model)->Run({{"x", *Tensor::FromBytes(DType::kInt64, {1, 2}, Bytes(16))}});
  ASSERT_FALSE(dtype.ok());
  EXPECT_NE(dtype.status().message().find("dtype"), std::string::npos);
  // A dynamic batch accepts any size.
  EXPECT_TRUE((*model)->Run({{"x", Floats({3, 2}, {1, 2, 3, 4, 5, 6})}}).ok());
  EXPECT_FALSE((*model)->Run({{"x", Floats({1, 2}, {1, 2})}}, RunOptions{0}).ok());
}

TEST(LoadTest, KernelsRefuseBadShapesAtRun) {
  // MatMul whose inner dims only mismatch at run time (dynamic input).
  auto m = BaseModel();
  AddValue(m.mutable_graph()->mutable_input(), "x", {-1, -1});
  AddValue(m.mutable_graph()->mutable_output(), "y", {-1, 2});
  AddInitializer(m, "w", {3, 2}, {1, 2, 3, 4, 5, 6});
  AddNode(m, "MatMul", {"x", "w"}, {"y"});
  auto model = Model::Load(Serialize(m));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_TRUE((*model)->Run({{"x", Floats({1, 3}, {1, 1, 1})}}).ok());
  auto bad = (*model)->Run({{"x", Floats({1, 4}, {1, 1, 1, 1})}});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("MatMul"), std::string::npos);

  // Gather with an out-of-range index.
  auto g = BaseModel();
  AddValue(g.mutable_graph()->mutable_input(), "i", {1}, 7);
  AddValue(g.mutable_graph()->mutable_output(), "y", {1});
  AddInitializer(g, "data", {3}, {1, 2, 3});
  AddNode(g, "Gather", {"data", "i"}, {"y"});
  auto gm = Model::Load(Serialize(g));
  ASSERT_TRUE(gm.ok()) << gm.status().ToString();
  int64_t idx = 3;
  Bytes ib(8);
  std::memcpy(ib.data(), &idx, 8);
  auto out = (*gm)->Run({{"i", *Tensor::FromBytes(DType::kInt64, {1}, ib)}});
  ASSERT_FALSE(out.ok());
  EXPECT_NE(out.status().message().find("out of range"), std::string::npos);
  idx = -1;
  std::memcpy(ib.data(), &idx, 8);
  auto last = (*gm)->Run({{"i", *Tensor::FromBytes(DType::kInt64, {1}, ib)}});
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(last->at("y").data<float>()[0], 3.0f);
}

TEST(LoadTest, LargeMatMulIsThreadInvariant) {
  auto m = BaseModel();
  AddValue(m.mutable_graph()->mutable_input(), "x", {64, 300});
  AddValue(m.mutable_graph()->mutable_output(), "y", {64, 50});
  std::vector<float> w(300 * 50);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>((i * 7919) % 1000) / 997.0f - 0.5f;
  AddInitializer(m, "w", {300, 50}, w);
  AddNode(m, "MatMul", {"x", "w"}, {"y"});
  auto model = Model::Load(Serialize(m));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  std::vector<float> x(64 * 300);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 104729) % 2001) / 1000.0f - 1.0f;
  TensorMap in = {{"x", Floats({64, 300}, x)}};
  auto one = (*model)->Run(in, RunOptions{1});
  ASSERT_TRUE(one.ok());
  // The canonical order: sequential float32 sum over k starting from +0.
  float acc = 0.0f;
  for (int k = 0; k < 300; ++k) acc = acc + x[5 * 300 + k] * w[k * 50 + 7];
  EXPECT_EQ(one->at("y").data<float>()[5 * 50 + 7], acc);
  for (int threads : {2, 3, 4, 8}) EXPECT_EQ((*model)->Run(in, RunOptions{threads})->at("y"), one->at("y"));
}

}  // namespace
}  // namespace lucid::onnx
