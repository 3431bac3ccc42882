// Float op coverage part 1 (elementwise math, reductions, indexing, shape ops):
// golden models from tests/data/onnx/make_models_ops1.py against onnxruntime (|lucid − ort|
// ≤ 1e-5 + 1e-5·|ort|; integers and bools exact), thread invariance, the canonical rules
// that onnxruntime does not pin (sum order, Pow special cases, tie breaking), and refusal
// of bad attributes at load and bad values at run time, naming the node.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

#include "onnx/model.h"
#include "test_data.h"
#include "tensor/tensor_json.h"

namespace lucid::onnx {
namespace {

using testing::DataPath;
using testing::ReadFile;

class Ops1GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(Ops1GoldenTest, MatchesOnnxRuntimeAndIsThreadInvariant) {
  std::string name = "ops1_" + GetParam();
  Bytes model_bytes = ReadFile(DataPath(name + ".onnx"));
  ASSERT_FALSE(model_bytes.empty());
  auto model = Model::Load(model_bytes);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto golden = nlohmann::json::parse(AsString(ReadFile(DataPath(name + ".json"))));
  auto inputs = TensorMapFromJson(golden["inputs"]);
  ASSERT_TRUE(inputs.ok()) << inputs.status().ToString();
  auto expected = TensorMapFromJson(golden["outputs"]);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();

  auto got = (*model)->Run(*inputs);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), expected->size());
  for (const auto& [out_name, want] : *expected) {
    SCOPED_TRACE(name + "/" + out_name);
    ASSERT_TRUE(got->count(out_name));
    const Tensor& have = got->at(out_name);
    ASSERT_EQ(have.dtype(), want.dtype());
    ASSERT_EQ(have.shape(), want.shape());
    if (want.dtype() != DType::kFloat32) {
      EXPECT_EQ(have.bytes(), want.bytes());
      continue;
    }
    for (uint64_t i = 0; i < want.num_elements(); ++i) {
      double a = have.data<float>()[i], b = want.data<float>()[i];
      ASSERT_LE(std::fabs(a - b), 1e-5 + 1e-5 * std::fabs(b)) << "element " << i << ": " << a << " vs " << b;
    }
  }
  for (int threads : {2, 3, 4}) {
    auto again = (*model)->Run(*inputs, RunOptions{threads});
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(HashTensorMap(*again), HashTensorMap(*got)) << "threads=" << threads;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Ops1GoldenTest,
                         ::testing::Values("math", "gelu", "reduce", "opset18", "index", "legacy"));

// A golden file with one output value changed must fail the same comparison: the test
// above can fail.
TEST(Ops1GoldenTest, TamperedGoldenValueIsDetected) {
  auto model = Model::Load(ReadFile(DataPath("ops1_reduce.onnx")));
  ASSERT_TRUE(model.ok());
  auto golden = nlohmann::json::parse(AsString(ReadFile(DataPath("ops1_reduce.json"))));
  auto inputs = TensorMapFromJson(golden["inputs"]);
  auto expected = TensorMapFromJson(golden["outputs"]);
  ASSERT_TRUE(inputs.ok() && expected.ok());
  auto got = (*model)->Run(*inputs);
  ASSERT_TRUE(got.ok());
  Tensor want = expected->at("sum_all");
  want.data<float>()[0] += 1e-3f;
  EXPECT_GT(std::fabs(got->at("sum_all").data<float>()[0] - want.data<float>()[0]), 1e-5 + 1e-5 * std::fabs(want.data<float>()[0]));
  Tensor topi = expected->at("topi");
  topi.data<int64_t>()[0] ^= 1;
  EXPECT_NE(got->at("topi").bytes(), topi.bytes());
}

// ---- single-node models built in memory ----

struct In {
  std::string name;
  Tensor value;
  bool initializer = false;
};

class OneNode {
 public:
  OneNode(std::string op, int opset) {
    m_.set_ir_version(opset <= 17 ? 8 : 9);
    auto* imp = m_.add_opset_import();
    imp->set_domain("");
    imp->set_version(opset);
    m_.mutable_graph()->set_name("g");
    node_ = m_.mutable_graph()->add_node();
    node_->set_op_type(op);
    node_->set_name("n1");
  }
  OneNode& Input(const std::string& name, const Tensor& t, bool initializer = false) {
    node_->add_input(name);
    if (name.empty()) return *this;
    if (initializer) {
      auto* p = m_.mutable_graph()->add_initializer();
      p->set_name(name);
      p->set_data_type(static_cast<int>(t.dtype()));
      for (int64_t d : t.shape()) p->add_dims(d);
      p->set_raw_data(std::string(t.bytes().begin(), t.bytes().end()));
    } else {
      AddValue(m_.mutable_graph()->mutable_input(), name, t);
      feeds_[name] = t;
    }
    return *this;
  }
  OneNode& Output(const std::string& name, DType dtype = DType::kFloat32) {
    node_->add_output(name);
    auto* v = m_.mutable_graph()->add_output();
    v->set_name(name);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(static_cast<int>(dtype));
    v->mutable_type()->mutable_tensor_type()->mutable_shape();  // the checker wants one; rank is not checked
    return *this;
  }
  ::onnx::AttributeProto* Attr(const std::string& name) {
    auto* a = node_->add_attribute();
    a->set_name(name);
    return a;
  }
  OneNode& Int(const std::string& name, int64_t v) {
    auto* a = Attr(name);
    a->set_type(::onnx::AttributeProto::INT);
    a->set_i(v);
    return *this;
  }
  OneNode& Ints(const std::string& name, std::vector<int64_t> v) {
    auto* a = Attr(name);
    a->set_type(::onnx::AttributeProto::INTS);
    for (int64_t x : v) a->add_ints(x);
    return *this;
  }
  OneNode& Str(const std::string& name, const std::string& v) {
    auto* a = Attr(name);
    a->set_type(::onnx::AttributeProto::STRING);
    a->set_s(v);
    return *this;
  }
  Result<std::unique_ptr<Model>> Load() const { return Model::Load(ToBytes(m_.SerializeAsString())); }
  Result<TensorMap> Run(int threads = 1) const {
    ASSIGN_OR_RETURN(auto model, Load());
    return model->Run(feeds_, RunOptions{threads});
  }

 private:
  static void AddValue(google::protobuf::RepeatedPtrField<::onnx::ValueInfoProto>* list, const std::string& name,
                       const Tensor& t) {
    auto* v = list->Add();
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(static_cast<int>(t.dtype()));
    auto* shape = tt->mutable_shape();
    for (int64_t d : t.shape()) shape->add_dim()->set_dim_value(d);
  }
  ::onnx::ModelProto m_;
  ::onnx::NodeProto* node_;
  TensorMap feeds_;
};

Tensor Floats(std::vector<int64_t> shape, std::vector<float> v) {
  Bytes b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return *Tensor::FromBytes(DType::kFloat32, std::move(shape), std::move(b));
}
Tensor Int64s(std::vector<int64_t> shape, std::vector<int64_t> v) {
  Bytes b(v.size() * 8);
  std::memcpy(b.data(), v.data(), b.size());
  return *Tensor::FromBytes(DType::kInt64, std::move(shape), std::move(b));
}
std::vector<float> FloatsOf(const Tensor& t) { return {t.data<float>(), t.data<float>() + t.num_elements()}; }
std::vector<int64_t> Int64sOf(const Tensor& t) { return {t.data<int64_t>(), t.data<int64_t>() + t.num_elements()}; }

void ExpectRefusedAtLoad(const OneNode& model, const std::string& needle) {
  auto loaded = model.Load();
  ASSERT_FALSE(loaded.ok()) << "expected refusal mentioning: " << needle;
  EXPECT_NE(loaded.status().ToString().find(needle), std::string::npos) << loaded.status().ToString();
  EXPECT_NE(loaded.status().ToString().find("n1"), std::string::npos) << loaded.status().ToString();
}

void ExpectRunError(const OneNode& model, const std::string& needle) {
  ASSERT_TRUE(model.Load().ok()) << model.Load().status().ToString();
  auto out = model.Run();
  ASSERT_FALSE(out.ok()) << "expected run error mentioning: " << needle;
  EXPECT_NE(out.status().ToString().find(needle), std::string::npos) << out.status().ToString();
}

// ---- canonical rules ----

TEST(Ops1RulesTest, ReduceSumIsSequentialLeftToRight) {
  // ((1e8 + 1) − 1e8) + 1 = 1 in float32 sequential order; a pairwise sum would give 0.
  OneNode m("ReduceSum", 13);
  m.Input("x", Floats({4}, {1e8f, 1.0f, -1e8f, 1.0f})).Output("y").Int("keepdims", 0);
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(FloatsOf(out->at("y")), std::vector<float>{1.0f});
}

TEST(Ops1RulesTest, ReduceMeanIsSumOverCountAndMaxPropagatesNaN) {
  float nan = std::numeric_limits<float>::quiet_NaN();
  OneNode mean("ReduceMean", 13);
  mean.Input("x", Floats({2, 3}, {1, 2, 4, 1e8f, 1, -1e8f})).Output("y").Ints("axes", {1});
  auto out = mean.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(FloatsOf(out->at("y")), (std::vector<float>{7.0f / 3.0f, 0.0f}));
  OneNode max("ReduceMax", 13);
  max.Input("x", Floats({3}, {1, nan, 2})).Output("y");
  out = max.Run();
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(std::isnan(out->at("y").data<float>()[0]));
}

TEST(Ops1RulesTest, PowSpecialCases) {
  float inf = std::numeric_limits<float>::infinity();
  OneNode m("Pow", 13);
  m.Input("x", Floats({8}, {-2, -2, 0, -0.0f, 4, 1, 3, -8}))
      .Input("y", Floats({8}, {3, 0.5f, -1, -3, 0.5f, std::numeric_limits<float>::quiet_NaN(), 2, 1.0f / 3}))
      .Output("z");
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<float> z = FloatsOf(out->at("z"));
  EXPECT_EQ(z[0], -8.0f);
  EXPECT_TRUE(std::isnan(z[1]));  // negative base, non-integer exponent
  EXPECT_EQ(z[2], inf);
  EXPECT_EQ(z[3], -inf);  // odd negative exponent keeps the sign of −0
  EXPECT_EQ(z[4], 2.0f);
  EXPECT_EQ(z[5], 1.0f);  // 1^NaN = 1
  EXPECT_EQ(z[6], 9.0f);
  EXPECT_TRUE(std::isnan(z[7]));
}

TEST(Ops1RulesTest, PowByTwoIsTheRoundedSquare) {
  std::vector<float> xs;
  for (int i = 0; i < 1000; ++i) xs.push_back(std::ldexp(1.0f + i * 0.000977f, (i % 40) - 20) * (i % 2 ? -1 : 1));
  OneNode m("Pow", 13);
  m.Input("x", Floats({1000}, xs)).Input("y", Floats({}, {2.0f}), true).Output("z");
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(out->at("z").data<float>()[i], xs[i] * xs[i]) << i;
}

// Integer bases (numpy's x ** y cast to x's type): exact powers with wrapping arithmetic,
// fractional float exponents truncated, negative integer exponents refused.
TEST(Ops1RulesTest, PowWithIntegerBase) {
  OneNode m("Pow", 15);
  m.Input("x", Int64s({5}, {3, 2, -3, 10, 7})).Input("y", Floats({5}, {6, 64, 3, 0.5f, 0})).Output("z", DType::kInt64);
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  // 2^64 wraps to 0 in int64; 10^0.5 = 3.16… truncates to 3.
  EXPECT_EQ(Int64sOf(out->at("z")), (std::vector<int64_t>{729, 0, -27, 3, 1}));
  OneNode negative("Pow", 15);
  negative.Input("x", Int64s({1}, {2})).Input("y", Int64s({1}, {-1})).Output("z", DType::kInt64);
  ExpectRunError(negative, "negative integer power");
}

// bool ReduceMax/ReduceMin (opset 20): any / all; the empty set gives false / true.
TEST(Ops1RulesTest, BoolReduceMaxMin) {
  Tensor x = *Tensor::FromBytes(DType::kBool, {2, 3}, Bytes{0, 1, 0, 1, 1, 1});
  OneNode max("ReduceMax", 20);
  max.Input("x", x).Output("y", DType::kBool).Int("keepdims", 0).Input("axes", Int64s({1}, {1}), true);
  auto out = max.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->at("y").bytes(), (Bytes{1, 1}));
  OneNode min("ReduceMin", 20);
  min.Input("x", x).Output("y", DType::kBool).Int("keepdims", 0).Input("axes", Int64s({1}, {1}), true);
  out = min.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->at("y").bytes(), (Bytes{0, 1}));
  Tensor empty = *Tensor::FromBytes(DType::kBool, {2, 0}, Bytes{});
  OneNode min_empty("ReduceMin", 20);
  min_empty.Input("x", empty).Output("y", DType::kBool).Int("keepdims", 0).Input("axes", Int64s({1}, {1}), true);
  out = min_empty.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->at("y").bytes(), (Bytes{1, 1}));
  OneNode sum("ReduceSum", 20);
  sum.Input("x", x).Output("y", DType::kBool);
  ExpectRefusedAtLoad(sum, "input 0 has dtype bool");
}

// Training-mode Dropout: ratio 0 is the identity with an all-true mask; any other ratio
// would drop at random. training_mode and ratio must be constants, so every refusal
// happens at load, saying why.
TEST(Ops1RulesTest, TrainingDropoutOnlyWithRatioZero) {
  Tensor on = *Tensor::FromBytes(DType::kBool, {}, Bytes{1});
  Tensor off = *Tensor::FromBytes(DType::kBool, {}, Bytes{0});
  OneNode zero("Dropout", 13);
  zero.Input("x", Floats({3}, {1, -2, 3})).Input("ratio", Floats({}, {0.0f}), true).Input("t", on, true).Output("y")
      .Output("mask", DType::kBool);
  auto out = zero.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(FloatsOf(out->at("y")), (std::vector<float>{1, -2, 3}));
  EXPECT_EQ(out->at("mask").bytes(), (Bytes{1, 1, 1}));
  OneNode inference("Dropout", 13);
  inference.Input("x", Floats({3}, {1, -2, 3})).Input("ratio", Floats({}, {0.5f}), true).Input("t", off, true).Output("y");
  out = inference.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(FloatsOf(out->at("y")), (std::vector<float>{1, -2, 3}));

  OneNode half("Dropout", 13);
  half.Input("x", Floats({3}, {1, -2, 3})).Input("ratio", Floats({}, {0.5f}), true).Input("t", on, true).Output("y");
  ExpectRefusedAtLoad(half, "random");
  OneNode default_ratio("Dropout", 13);
  default_ratio.Input("x", Floats({3}, {1, -2, 3})).Input("", Tensor()).Input("t", on, true).Output("y");
  ExpectRefusedAtLoad(default_ratio, "ratio 0.5");
  OneNode fed_mode("Dropout", 13);  // training_mode fed at run time: unknown at load
  fed_mode.Input("x", Floats({3}, {1, -2, 3})).Input("ratio", Floats({}, {0.0f}), true).Input("t", on).Output("y");
  ExpectRefusedAtLoad(fed_mode, "training_mode is given at run time");
  OneNode fed_ratio("Dropout", 13);
  fed_ratio.Input("x", Floats({3}, {1, -2, 3})).Input("ratio", Floats({}, {0.0f})).Input("t", on, true).Output("y");
  ExpectRefusedAtLoad(fed_ratio, "ratio given at run time");
}

TEST(Ops1RulesTest, TopKAndArgMaxBreakTiesByIndex) {
  OneNode topk("TopK", 13);
  topk.Input("x", Floats({6}, {3, 5, 1, 5, 3, 5})).Input("k", Int64s({1}, {4}), true).Output("v").Output("i", DType::kInt64);
  auto out = topk.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(FloatsOf(out->at("v")), (std::vector<float>{5, 5, 5, 3}));
  EXPECT_EQ(Int64sOf(out->at("i")), (std::vector<int64_t>{1, 3, 5, 0}));

  OneNode smallest("TopK", 13);
  smallest.Input("x", Floats({6}, {3, 5, 1, 5, 3, 5})).Input("k", Int64s({1}, {3}), true).Output("v").Output("i", DType::kInt64)
      .Int("largest", 0);
  out = smallest.Run();
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(Int64sOf(out->at("i")), (std::vector<int64_t>{2, 0, 4}));

  for (int64_t last : {0, 1}) {
    OneNode argmax("ArgMax", 13);
    argmax.Input("x", Floats({6}, {3, 5, 1, 5, 3, 5})).Output("i", DType::kInt64).Int("select_last_index", last);
    out = argmax.Run();
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(Int64sOf(out->at("i")), (std::vector<int64_t>{last ? 5 : 1}));
  }
}

TEST(Ops1RulesTest, SliceClampsAndHandlesExtremeValues) {
  OneNode m("Slice", 13);
  m.Input("x", Floats({5}, {0, 1, 2, 3, 4}))
      .Input("s", Int64s({1}, {std::numeric_limits<int64_t>::max()}), true)
      .Input("e", Int64s({1}, {std::numeric_limits<int64_t>::min()}), true)
      .Input("a", Int64s({1}, {0}), true)
      .Input("st", Int64s({1}, {-2}), true)
      .Output("y");
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(FloatsOf(out->at("y")), (std::vector<float>{4, 2, 0}));
}

TEST(Ops1RulesTest, EinsumMatchesSequentialDotProduct) {
  OneNode m("Einsum", 13);
  m.Input("a", Floats({4}, {1e8f, 1, -1e8f, 1})).Input("b", Floats({4}, {1, 1, 1, 1})).Output("y").Str("equation", "i,i->");
  auto out = m.Run();
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(FloatsOf(out->at("y")), std::vector<float>{1.0f});
}

TEST(Ops1RulesTest, ReductionsAndEinsumAreThreadInvariant) {
  std::vector<float> big(64 * 33);
  for (size_t i = 0; i < big.size(); ++i) big[i] = std::sin(static_cast<float>(i)) * 100.0f;
  OneNode sum("ReduceSum", 13);
  sum.Input("x", Floats({64, 33}, big)).Input("axes", Int64s({1}, {1}), true).Output("y");
  OneNode ein("Einsum", 13);
  ein.Input("a", Floats({64, 33}, big)).Input("b", Floats({33, 64}, big)).Output("y").Str("equation", "ij,jk->ik");
  for (const OneNode* m : {&sum, &ein}) {
    auto one = m->Run(1);
    ASSERT_TRUE(one.ok()) << one.status().ToString();
    for (int threads : {2, 5, 8}) {
      auto many = m->Run(threads);
      ASSERT_TRUE(many.ok());
      EXPECT_EQ(many->at("y").bytes(), one->at("y").bytes()) << threads;
    }
  }
}

// ---- refusals at load (attribute values, opset forms) ----

TEST(Ops1LoadTest, RefusesBadAttributesNamingTheNode) {
  Tensor x = Floats({2, 3}, {1, 2, 3, 4, 5, 6});
  {
    OneNode m("Gelu", 20);
    m.Input("x", x).Output("y").Str("approximate", "fast");
    ExpectRefusedAtLoad(m, "approximate");
  }
  {
    OneNode m("Gelu", 18);
    m.Input("x", x).Output("y");
    ExpectRefusedAtLoad(m, "opset 20");
  }
  {
    OneNode m("ReduceSum", 13);
    m.Input("x", x).Output("y").Ints("axes", {0});
    ExpectRefusedAtLoad(m, "axes is an input since opset 13");
  }
  {
    OneNode m("ReduceMean", 13);
    m.Input("x", x).Input("axes", Int64s({1}, {0}), true).Output("y");
    ExpectRefusedAtLoad(m, "axes is an attribute");
  }
  {
    OneNode m("ReduceMax", 18);
    m.Input("x", x).Output("y").Int("keepdims", 2);
    ExpectRefusedAtLoad(m, "keepdims must be 0 or 1");
  }
  {
    OneNode m("Split", 13);
    m.Input("x", x).Output("a").Output("b").Ints("split", {1, 1});
    ExpectRefusedAtLoad(m, "split is an input since opset 13");
  }
  {
    OneNode m("Split", 18);
    m.Input("x", x).Output("a").Output("b").Int("num_outputs", 3);
    ExpectRefusedAtLoad(m, "num_outputs is 3");
  }
  {
    OneNode m("Pad", 19);
    m.Input("x", x).Input("p", Int64s({4}, {0, 0, 0, 0}), true).Output("y").Str("mode", "wrap");
    ExpectRefusedAtLoad(m, "mode 'wrap'");
  }
  {
    OneNode m("Pad", 11);
    m.Input("x", x).Output("y").Ints("pads", {0, 0, 0, 0});
    ExpectRefusedAtLoad(m, "pads and value are inputs since opset 11");
  }
  {
    OneNode m("Slice", 13);
    m.Input("x", x).Output("y").Ints("starts", {0}).Ints("ends", {1});
    ExpectRefusedAtLoad(m, "is an input since opset 10");
  }
  {
    OneNode m("TopK", 11);
    m.Input("x", x).Output("v").Output("i", DType::kInt64).Int("k", 1);
    ExpectRefusedAtLoad(m, "k is an input since opset 10");
  }
  {
    OneNode m("ArgMax", 11);
    m.Input("x", x).Output("i", DType::kInt64).Int("select_last_index", 1);
    ExpectRefusedAtLoad(m, "select_last_index needs opset 12");
  }
  {
    OneNode m("CumSum", 13);
    m.Input("x", x).Input("a", Int64s({}, {0}), true).Output("y").Int("exclusive", 3);
    ExpectRefusedAtLoad(m, "exclusive must be 0 or 1");
  }
  {
    OneNode m("Elu", 13);
    m.Input("x", x).Output("y").Int("alpha", 1);
    ExpectRefusedAtLoad(m, "alpha");
  }
}

TEST(Ops1LoadTest, RefusesUnsupportedEinsumNamingTheEquation) {
  Tensor x = Floats({2, 2}, {1, 2, 3, 4});
  for (std::string eq : {"ii->i", "...ij->...ji", "ij,jk,kl->il", "ij->k", "ij->ii"}) {
    OneNode m("Einsum", 13);
    m.Input("x", x);
    if (eq == "ij,jk,kl->il") m.Input("y", x).Input("z", x);
    m.Output("y2").Str("equation", eq);
    SCOPED_TRACE(eq);
    ExpectRefusedAtLoad(m, "'" + eq + "'");
  }
}

// ---- run-time value errors: clear message, no output ----

TEST(Ops1RunTest, RefusesBadValues) {
  Tensor x = Floats({2, 3}, {1, 2, 3, 4, 5, 6});
  {
    OneNode m("GatherElements", 13);
    m.Input("x", x).Input("i", Int64s({2, 1}, {0, 3})).Output("y").Int("axis", 1);
    ExpectRunError(m, "index 3 is out of range");
  }
  {
    OneNode m("Slice", 13);
    m.Input("x", x).Input("s", Int64s({1}, {0})).Input("e", Int64s({1}, {2})).Input("a", Int64s({1}, {1}))
        .Input("st", Int64s({1}, {0})).Output("y");
    ExpectRunError(m, "step 0");
  }
  {
    OneNode m("Range", 13);
    m.Input("a", Floats({}, {0})).Input("b", Floats({}, {1})).Input("d", Floats({}, {0})).Output("y");
    ExpectRunError(m, "delta is zero");
  }
  {
    OneNode m("Tile", 13);
    m.Input("x", x).Input("r", Int64s({2}, {1, -1})).Output("y");
    ExpectRunError(m, "negative repeat");
  }
  {
    OneNode m("Expand", 13);
    m.Input("x", x).Input("s", Int64s({2}, {4, 3})).Output("y");
    ExpectRunError(m, "do not broadcast");
  }
  {
    OneNode m("TopK", 13);
    m.Input("x", x).Input("k", Int64s({1}, {4})).Output("v").Output("i", DType::kInt64);
    ExpectRunError(m, "k = 4 is outside");
  }
  {
    OneNode m("Split", 13);
    m.Input("x", x).Input("s", Int64s({2}, {1, 1})).Output("a").Output("b").Int("axis", 1);
    ExpectRunError(m, "sum to 2");
  }
  {
    OneNode m("Pad", 13);
    m.Input("x", x).Input("p", Int64s({4}, {0, 3, 0, 0})).Output("y").Str("mode", "reflect");
    ExpectRunError(m, "reflect pads must be smaller");
  }
  {
    OneNode m("Range", 13);
    m.Input("a", Int64s({}, {0})).Input("b", Int64s({}, {std::numeric_limits<int64_t>::max()}))
        .Input("d", Int64s({}, {1})).Output("y", DType::kInt64);
    ExpectRunError(m, "range is too long");
  }
  {
    OneNode m("Where", 13);
    m.Input("c", Floats({1}, {1})).Input("a", x).Input("b", x).Output("y");
    ExpectRefusedAtLoad(m, "(Where): input 0 has dtype float32, supported: bool");  // at load, not run time
  }
}

}  // namespace
}  // namespace lucid::onnx
