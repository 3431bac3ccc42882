// Bad models and bad inputs: each is refused with a message naming the problem.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cstring>

#include "onnx/model.h"
#include "onnx/op_internal.h"
#include "onnx/type_check.h"

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

// ---- dtypes checked at load (type_check.cc) ----

void AddInt64Initializer(::onnx::ModelProto& m, const std::string& name, std::vector<int64_t> dims,
                         std::vector<int64_t> values) {
  auto* t = m.mutable_graph()->add_initializer();
  t->set_name(name);
  t->set_data_type(7);
  for (int64_t d : dims) t->add_dims(d);
  for (int64_t v : values) t->add_int64_data(v);
}

::onnx::AttributeProto* AddAttr(::onnx::NodeProto* n, const std::string& name, ::onnx::AttributeProto::AttributeType type) {
  auto* a = n->add_attribute();
  a->set_name(name);
  a->set_type(type);
  return a;
}

// The refusal names the node and op, and comes from Load, not Run.
void ExpectTypeRefusal(const ::onnx::ModelProto& m, const std::string& needle, Code code = Code::kUnimplemented) {
  auto r = Model::Load(Serialize(m));
  ASSERT_FALSE(r.ok()) << "expected a load-time refusal mentioning " << needle;
  EXPECT_EQ(r.status().code(), code) << r.status().ToString();
  EXPECT_NE(r.status().message().find(needle), std::string::npos) << r.status().ToString();
}

TEST(LoadTypesTest, RefusesUnsupportedInputDtypeAtLoadNamingNodeAndOp) {
  auto m = BaseModel();
  AddValue(m.mutable_graph()->mutable_input(), "x", {2}, 6);  // int32
  AddValue(m.mutable_graph()->mutable_output(), "y", {2}, 6);
  AddNode(m, "Relu", {"x"}, {"y"})->set_name("act");
  ExpectTypeRefusal(m, "node 'act' (Relu): input 0 has dtype int32, supported: float32");

  // Without the check the model loads and the kernel refuses the same dtype at run time:
  // the table states the kernel's truth, one step earlier.
  LoadOptions unchecked;
  unchecked.check_types = false;
  auto model = Model::Load(Serialize(m), unchecked);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto run = (*model)->Run({{"x", *Tensor::FromBytes(DType::kInt32, {2}, Bytes(8))}});
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.status().message().find("dtype int32"), std::string::npos) << run.status().ToString();
}

TEST(LoadTypesTest, DtypesPropagateThroughTheGraph) {
  // x (float) -> Cast(to int64) -> Sigmoid: only inference knows Sigmoid's input is int64.
  auto m = BaseModel();
  AddValue(m.mutable_graph()->mutable_input(), "x", {2});
  AddValue(m.mutable_graph()->mutable_output(), "y", {2});
  auto* cast = AddNode(m, "Cast", {"x"}, {"c"});
  AddAttr(cast, "to", ::onnx::AttributeProto::INT)->set_i(7);
  AddNode(m, "Sigmoid", {"c"}, {"y"})->set_name("sig");
  ExpectTypeRefusal(m, "node 'sig' (Sigmoid): input 0 has dtype int64");

  // Cast back to float before Sigmoid: fine, and it runs.
  auto ok = m;
  ok.mutable_graph()->mutable_node(1)->set_op_type("Cast");
  ok.mutable_graph()->mutable_node(1)->set_output(0, "f");
  AddAttr(ok.mutable_graph()->mutable_node(1), "to", ::onnx::AttributeProto::INT)->set_i(1);
  AddNode(ok, "Sigmoid", {"f"}, {"y"});
  auto model = Model::Load(Serialize(ok));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto out = (*model)->Run({{"x", Floats({2}, {0.0f, 2.7f})}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->at("y").data<float>()[0], 0.5f);
}

TEST(LoadTypesTest, RefusesMixedDtypesAndWrongDeclaredOutputs) {
  auto m = BaseModel();
  AddValue(m.mutable_graph()->mutable_input(), "x", {2});
  AddValue(m.mutable_graph()->mutable_output(), "y", {2});
  AddInt64Initializer(m, "b", {2}, {1, 2});
  AddNode(m, "Add", {"x", "b"}, {"y"})->set_name("sum");
  ExpectTypeRefusal(m, "node 'sum' (Add): inputs 0 and 1 must have one dtype, got float32 and int64",
                    Code::kInvalidArgument);

  // The graph says y is int64; the graph computes float32 (Run would refuse every call).
  auto declared = GoodModel();
  declared.mutable_graph()->mutable_output(0)->mutable_type()->mutable_tensor_type()->set_elem_type(7);
  ExpectTypeRefusal(declared, "graph output 'y' is computed as float32 but the graph declares int64",
                    Code::kInvalidArgument);

  // Shape gives int64: declaring it so is fine; an int64 Shape feeding a float op is not.
  auto shape = BaseModel();
  AddValue(shape.mutable_graph()->mutable_input(), "x", {2, 3});
  AddValue(shape.mutable_graph()->mutable_output(), "y", {2}, 7);
  AddNode(shape, "Shape", {"x"}, {"y"});
  EXPECT_TRUE(Model::Load(Serialize(shape)).ok());
  auto* sqrt = AddNode(shape, "Sqrt", {"y"}, {"z"});
  sqrt->set_name("root");
  AddValue(shape.mutable_graph()->mutable_output(), "z", {2});
  ExpectTypeRefusal(shape, "node 'root' (Sqrt): input 0 has dtype int64");
}

TEST(LoadTypesTest, ChecksInsideIfAndLoopBodies) {
  // If whose then-branch applies Relu to a captured int64 value.
  auto m = BaseModel();
  AddValue(m.mutable_graph()->mutable_input(), "c", {}, 9);
  AddValue(m.mutable_graph()->mutable_input(), "n", {2}, 7);
  AddValue(m.mutable_graph()->mutable_output(), "y", {2}, 7);
  auto* node = AddNode(m, "If", {"c"}, {"y"});
  node->set_name("branch");
  for (const char* name : {"then_branch", "else_branch"}) {
    auto* a = AddAttr(node, name, ::onnx::AttributeProto::GRAPH);
    auto* g = a->mutable_g();
    g->set_name(name);
    auto* inner = g->add_node();
    inner->set_op_type(std::string(name) == "then_branch" ? "Relu" : "Identity");
    inner->set_name("inner");
    inner->add_input("n");
    inner->add_output("r");
    AddValue(g->mutable_output(), "r", {2}, 7);
  }
  ExpectTypeRefusal(m, "(Relu): input 0 has dtype int64");
  auto identity = m;  // both branches Identity: loads and runs
  auto* then_node = identity.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_g()->mutable_node(0);
  then_node->set_op_type("Identity");
  EXPECT_TRUE(Model::Load(Serialize(identity)).ok());

  // Loop whose carried value is int64 outside and declared float inside.
  auto loop = BaseModel();
  AddValue(loop.mutable_graph()->mutable_input(), "v", {2}, 7);
  AddValue(loop.mutable_graph()->mutable_output(), "out", {2}, 7);
  AddInt64Initializer(loop, "trips", {}, {3});
  auto* l = AddNode(loop, "Loop", {"trips", "", "v"}, {"out"});
  l->set_name("repeat");
  auto* body = AddAttr(l, "body", ::onnx::AttributeProto::GRAPH)->mutable_g();
  body->set_name("body");
  AddValue(body->mutable_input(), "i", {}, 7);
  AddValue(body->mutable_input(), "cond_in", {}, 9);
  AddValue(body->mutable_input(), "acc", {2}, 1);
  auto* pass_cond = body->add_node();
  pass_cond->set_op_type("Identity");
  pass_cond->add_input("cond_in");
  pass_cond->add_output("cond_out");
  auto* pass = body->add_node();
  pass->set_op_type("Identity");
  pass->add_input("acc");
  pass->add_output("acc_out");
  AddValue(body->mutable_output(), "cond_out", {}, 9);
  AddValue(body->mutable_output(), "acc_out", {2}, 1);
  ExpectTypeRefusal(loop, "node 'repeat' (Loop): loop-carried input 0 has dtype int64, the body declares float32",
                    Code::kInvalidArgument);
  auto fixed = loop;
  fixed.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_g()->mutable_input(2)->mutable_type()
      ->mutable_tensor_type()->set_elem_type(7);
  fixed.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_g()->mutable_output(1)->mutable_type()
      ->mutable_tensor_type()->set_elem_type(7);
  auto model = Model::Load(Serialize(fixed));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  Bytes vb(16, 0);
  vb[0] = 5;
  auto out = (*model)->Run({{"v", *Tensor::FromBytes(DType::kInt64, {2}, vb)}});
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->at("out").data<int64_t>()[0], 5);
}

TEST(LoadTypesTest, ConstantsFeedValueRules) {
  // training_mode from a Constant node (false) is known at load: inference Dropout runs.
  auto m = BaseModel();
  AddValue(m.mutable_graph()->mutable_input(), "x", {2});
  AddValue(m.mutable_graph()->mutable_output(), "y", {2});
  auto* constant = AddNode(m, "Constant", {}, {"t"});
  auto* value = AddAttr(constant, "value", ::onnx::AttributeProto::TENSOR)->mutable_t();
  value->set_data_type(9);
  value->add_int32_data(0);
  AddNode(m, "Dropout", {"x", "", "t"}, {"y"})->set_name("drop");
  auto model = Model::Load(Serialize(m));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->Run({{"x", Floats({2}, {1, 2})}})->at("y").data<float>()[1], 2.0f);
  // The same constant set to true with the default ratio 0.5 is refused at load.
  m.mutable_graph()->mutable_node(0)->mutable_attribute(0)->mutable_t()->set_int32_data(0, 1);
  ExpectTypeRefusal(m, "node 'drop' (Dropout): training_mode=true with ratio 0.5");
}

TEST(LoadTypesTest, EveryOpHasATypeRule) {
  for (std::string_view op : internal::SupportedOps()) EXPECT_TRUE(internal::HasTypeRule(op)) << op;
  EXPECT_FALSE(internal::HasTypeRule("FancyRelu"));
}

// Paddle writes dim_value -1 for a dynamic dim: read as dynamic; other negatives are refused.
TEST(LoadTest, MinusOneDimIsDynamic) {
  auto m = GoodModel();
  auto* dims = m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  dims->mutable_dim(0)->set_dim_value(-1);
  auto model = Model::Load(Serialize(m));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->inputs()[0].shape, (std::vector<int64_t>{-1, 2}));
  EXPECT_TRUE((*model)->Run({{"x", Floats({3, 2}, {1, 2, 3, 4, 5, 6})}}).ok());
  dims->mutable_dim(0)->set_dim_value(-2);
  ExpectLoadError(m, "negative dim");
}

}  // namespace
}  // namespace lucid::onnx
