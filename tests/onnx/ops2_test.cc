// ConvTranspose, LayerNormalization, InstanceNormalization, Resize, LSTM and GRU against
// onnxruntime (models and outputs from tests/data/onnx/make_models_ops2.py). Tolerance:
// |lucid − ort| ≤ 1e-5 + 1e-5·|ort|; nearest-mode Resize only copies values, so it must match
// exactly. Also: byte-identical outputs for 1, 2 and 4 threads, refusals at load naming the
// op, and bad run-time inputs refused.
#include <gtest/gtest.h>
#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "onnx/model.h"
#include "test_data.h"
#include "tensor/tensor_json.h"

namespace lucid::onnx {
namespace {

using testing::DataPath;
using testing::ReadFile;

struct Golden {
  TensorMap inputs, outputs;
};

Golden LoadGolden(const std::string& name) {
  auto json = nlohmann::json::parse(AsString(ReadFile(DataPath("ops2_" + name + ".json"))));
  auto inputs = TensorMapFromJson(json["inputs"]);
  auto outputs = TensorMapFromJson(json["outputs"]);
  EXPECT_TRUE(inputs.ok() && outputs.ok());
  return {inputs.ok() ? *inputs : TensorMap{}, outputs.ok() ? *outputs : TensorMap{}};
}

bool Exact(const std::string& output) { return output.rfind("near", 0) == 0 || output == "sym_near" || output == "axes_sizes"; }

// Mismatching elements of got against want (shape or dtype mismatch counts as one); prints the first few.
int Mismatches(const TensorMap& got, const TensorMap& want, bool report = true) {
  int bad = 0;
  for (const auto& [name, w] : want) {
    auto it = got.find(name);
    if (it == got.end() || it->second.dtype() != w.dtype() || it->second.shape() != w.shape()) {
      if (report) ADD_FAILURE() << name << ": missing or wrong dtype/shape";
      ++bad;
      continue;
    }
    const Tensor& h = it->second;
    if (w.dtype() != DType::kFloat32) {
      bad += h.bytes() != w.bytes();
      continue;
    }
    for (uint64_t i = 0; i < w.num_elements(); ++i) {
      float a = h.data<float>()[i], b = w.data<float>()[i];
      bool ok = Exact(name) ? std::memcmp(&a, &b, 4) == 0 : std::fabs(a - b) <= 1e-5 + 1e-5 * std::fabs(b);
      if (!ok && ++bad <= 5 && report) std::cerr << name << "[" << i << "]: lucid " << a << " ort " << b << "\n";
    }
  }
  return bad;
}

class Ops2Golden : public ::testing::TestWithParam<std::string> {};

// Parameter "model" or "model:golden" (another input set for the same model).
TEST_P(Ops2Golden, MatchesOnnxRuntimeAndIsThreadInvariant) {
  std::string param = GetParam(), model_name = param.substr(0, param.find(':'));
  std::string golden_name = param.find(':') == std::string::npos ? param : param.substr(param.find(':') + 1);
  auto model = Model::Load(ReadFile(DataPath("ops2_" + model_name + ".onnx")));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  Golden golden = LoadGolden(golden_name);
  ASSERT_FALSE(golden.outputs.empty());
  auto got = (*model)->Run(golden.inputs);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->size(), golden.outputs.size());
  EXPECT_EQ(Mismatches(*got, golden.outputs), 0);
  for (int threads : {2, 4}) {
    auto again = (*model)->Run(golden.inputs, RunOptions{threads});
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    for (const auto& [name, t] : *got) EXPECT_EQ(again->at(name).bytes(), t.bytes()) << name << " threads=" << threads;
    EXPECT_EQ(HashTensorMap(*again), HashTensorMap(*got));
  }
}

INSTANTIATE_TEST_SUITE_P(Models, Ops2Golden,
                         ::testing::Values("conv_transpose", "norms", "resize10", "resize11", "resize13", "resize19",
                                           "lstm", "gru", "if", "if:if_else", "if:if_nested_else", "loop",
                                           "loop:loop_short"));

// The comparison can fail: one weight changed in the file moves the outputs off onnxruntime's.
TEST(Ops2Tamper, ChangedWeightIsDetected) {
  for (const char* name : {"conv_transpose", "lstm", "norms"}) {
    SCOPED_TRACE(name);
    ::onnx::ModelProto proto;
    Bytes bytes = ReadFile(DataPath(std::string("ops2_") + name + ".onnx"));
    ASSERT_TRUE(proto.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())));
    auto* init = proto.mutable_graph()->mutable_initializer(0);
    ASSERT_TRUE(init->has_raw_data());
    std::string raw = init->raw_data();
    raw[2] ^= 0x40;  // flips a high mantissa bit of the first float
    init->set_raw_data(raw);
    auto model = Model::Load(ToBytes(proto.SerializeAsString()));
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    Golden golden = LoadGolden(name);
    auto got = (*model)->Run(golden.inputs);
    ASSERT_TRUE(got.ok());
    EXPECT_GT(Mismatches(*got, golden.outputs, /*report=*/false), 0);
  }
}

// ---------------------------------------------------------------- hand-built models

::onnx::ModelProto OneNode(int opset, const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
                           const std::vector<std::pair<std::string, std::vector<int64_t>>>& input_shapes,
                           int output_rank = 4) {
  ::onnx::ModelProto m;
  m.set_ir_version(opset <= 17 ? 8 : 9);
  auto* imp = m.add_opset_import();
  imp->set_domain("");
  imp->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name("n0");
  for (auto& s : inputs) n->add_input(s);
  for (auto& s : outputs) n->add_output(s);
  for (const auto& [name, dims] : input_shapes) {
    auto* v = g->add_input();
    v->set_name(name);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(name == "lens" ? 6 : (name == "sizes" ? 7 : 1));
    tt->mutable_shape();  // rank 0 when dims is empty
    for (int64_t d : dims) tt->mutable_shape()->add_dim()->set_dim_value(d);
  }
  for (auto& s : outputs) {
    if (s.empty()) continue;
    auto* v = g->add_output();
    v->set_name(s);
    auto* tt = v->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(1);
    for (int d = 0; d < output_rank; ++d) tt->mutable_shape()->add_dim()->set_dim_param("d" + std::to_string(d));
  }
  return m;
}

void SetString(::onnx::ModelProto& m, const std::string& name, const std::string& value) {
  auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s(value);
}
void SetInt(::onnx::ModelProto& m, const std::string& name, int64_t value) {
  auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(value);
}
void SetStrings(::onnx::ModelProto& m, const std::string& name, std::vector<std::string> values) {
  auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRINGS);
  for (auto& v : values) a->add_strings(v);
}
void SetInts(::onnx::ModelProto& m, const std::string& name, std::vector<int64_t> values) {
  auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (auto v : values) a->add_ints(v);
}

// Loading must fail with a message containing every fragment.
void ExpectRefused(const ::onnx::ModelProto& m, std::vector<std::string> fragments) {
  auto model = Model::Load(ToBytes(m.SerializeAsString()));
  ASSERT_FALSE(model.ok());
  for (const auto& f : fragments) EXPECT_NE(model.status().ToString().find(f), std::string::npos) << model.status().ToString();
}

using Shapes = std::vector<std::pair<std::string, std::vector<int64_t>>>;

TEST(Ops2Refusal, ResizeFormsOutsideTheSupportedSet) {
  Shapes xs = {{"x", {1, 1, 2, 2}}, {"scales", {4}}};
  auto cubic = OneNode(13, "Resize", {"x", "", "scales"}, {"y"}, xs);
  SetString(cubic, "mode", "cubic");
  ExpectRefused(cubic, {"Resize", "mode", "cubic"});
  auto crop = OneNode(13, "Resize", {"x", "", "scales"}, {"y"}, xs);
  SetString(crop, "coordinate_transformation_mode", "tf_crop_and_resize");
  ExpectRefused(crop, {"Resize", "tf_crop_and_resize"});
  auto symmetric_too_early = OneNode(18, "Resize", {"x", "", "scales"}, {"y"}, xs);
  SetString(symmetric_too_early, "coordinate_transformation_mode", "half_pixel_symmetric");
  ExpectRefused(symmetric_too_early, {"Resize", "half_pixel_symmetric"});
  auto antialias = OneNode(18, "Resize", {"x", "", "scales"}, {"y"}, xs);
  SetInt(antialias, "antialias", 1);
  ExpectRefused(antialias, {"Resize", "antialias"});
  auto aspect = OneNode(18, "Resize", {"x", "", "scales"}, {"y"}, xs);
  SetString(aspect, "keep_aspect_ratio_policy", "not_larger");
  ExpectRefused(aspect, {"Resize", "keep_aspect_ratio_policy"});
  auto old_form = OneNode(10, "Resize", {"x", "scales", "scales"}, {"y"}, xs);
  ExpectRefused(old_form, {"Resize", "Resize-10"});
  auto bad_rounding = OneNode(13, "Resize", {"x", "", "scales"}, {"y"}, xs);
  SetString(bad_rounding, "nearest_mode", "stochastic");
  ExpectRefused(bad_rounding, {"Resize", "nearest_mode"});
}

TEST(Ops2Refusal, RecurrentAndNormAttributes) {
  Shapes rnn = {{"x", {2, 1, 3}}, {"w", {1, 8, 3}}, {"r", {1, 8, 2}}};
  auto act = OneNode(14, "LSTM", {"x", "w", "r"}, {"y"}, rnn);
  SetStrings(act, "activations", {"HardSigmoid", "Tanh", "Tanh"});
  ExpectRefused(act, {"LSTM", "HardSigmoid"});
  auto count = OneNode(14, "LSTM", {"x", "w", "r"}, {"y"}, rnn);
  SetStrings(count, "activations", {"Sigmoid", "Tanh"});
  ExpectRefused(count, {"LSTM", "activations must list 3"});
  auto forget = OneNode(14, "LSTM", {"x", "w", "r"}, {"y"}, rnn);
  SetInt(forget, "input_forget", 1);
  ExpectRefused(forget, {"LSTM", "input_forget"});
  auto dir = OneNode(14, "GRU", {"x", "w", "r"}, {"y"}, rnn);
  SetString(dir, "direction", "sideways");
  ExpectRefused(dir, {"GRU", "sideways"});
  auto layout = OneNode(13, "GRU", {"x", "w", "r"}, {"y"}, rnn);
  SetInt(layout, "layout", 1);
  ExpectRefused(layout, {"GRU", "layout"});
  auto ln = OneNode(13, "LayerNormalization", {"x", "w"}, {"y"}, {{"x", {2, 3}}, {"w", {3}}});
  ExpectRefused(ln, {"LayerNormalization", "opset"});
  auto stash = OneNode(17, "LayerNormalization", {"x", "w"}, {"y"}, {{"x", {2, 3}}, {"w", {3}}});
  SetInt(stash, "stash_type", 16);
  ExpectRefused(stash, {"LayerNormalization", "stash_type"});
  auto ct = OneNode(13, "ConvTranspose", {"x", "w"}, {"y"}, {{"x", {1, 1, 3, 3}}, {"w", {1, 1, 2, 2}}});
  SetInts(ct, "pads", {1, 1, 1});
  ExpectRefused(ct, {"ConvTranspose", "pads"});
  auto pad = OneNode(13, "ConvTranspose", {"x", "w"}, {"y"}, {{"x", {1, 1, 3, 3}}, {"w", {1, 1, 2, 2}}});
  SetString(pad, "auto_pad", "SAME_MIDDLE");
  ExpectRefused(pad, {"ConvTranspose", "SAME_MIDDLE"});
}

Tensor Filled(std::vector<int64_t> shape, float start = 0.25f) {
  Tensor t = *Tensor::Make(DType::kFloat32, std::move(shape));
  for (uint64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = start + 0.125f * static_cast<float>(i % 7);
  return t;
}

Result<TensorMap> RunOne(const ::onnx::ModelProto& m, const TensorMap& inputs) {
  auto model = Model::Load(ToBytes(m.SerializeAsString()));
  if (!model.ok()) return model.status();
  return (*model)->Run(inputs);
}

void ExpectRunError(const Result<TensorMap>& r, std::vector<std::string> fragments) {
  ASSERT_FALSE(r.ok());
  for (const auto& f : fragments) EXPECT_NE(r.status().ToString().find(f), std::string::npos) << r.status().ToString();
}

TEST(Ops2RunErrors, BadShapesAndValuesAreRefused) {
  // ConvTranspose: W's first dim must equal X's channels.
  auto ct = OneNode(13, "ConvTranspose", {"x", "w"}, {"y"}, {{"x", {1, 2, 3, 3}}, {"w", {3, 1, 2, 2}}});
  ExpectRunError(RunOne(ct, {{"x", Filled({1, 2, 3, 3})}, {"w", Filled({3, 1, 2, 2})}}), {"ConvTranspose", "inconsistent"});
  // output_shape with one value for two spatial dims.
  auto big = OneNode(13, "ConvTranspose", {"x", "w"}, {"y"}, {{"x", {1, 1, 3, 3}}, {"w", {1, 1, 2, 2}}});
  SetInts(big, "output_shape", {9});
  ExpectRunError(RunOne(big, {{"x", Filled({1, 1, 3, 3})}, {"w", Filled({1, 1, 2, 2})}}), {"ConvTranspose", "output_shape"});
  // LSTM: sequence_lens beyond the sequence; W whose shape contradicts hidden_size.
  Shapes lstm = {{"x", {2, 1, 3}}, {"w", {1, 8, 3}}, {"r", {1, 8, 2}}, {"b", {1, 16}}, {"lens", {1}}};
  auto l = OneNode(14, "LSTM", {"x", "w", "r", "b", "lens"}, {"y"}, lstm);
  Tensor lens = *Tensor::Make(DType::kInt32, {1});
  lens.data<int32_t>()[0] = 3;
  TensorMap feeds = {{"x", Filled({2, 1, 3})}, {"w", Filled({1, 8, 3})}, {"r", Filled({1, 8, 2})},
                     {"b", Filled({1, 16})}, {"lens", lens}};
  ExpectRunError(RunOne(l, feeds), {"LSTM", "sequence_lens[0] = 3"});
  lens.data<int32_t>()[0] = 2;
  feeds["lens"] = lens;
  ASSERT_TRUE(RunOne(l, feeds).ok());
  auto hs = l;
  SetInt(hs, "hidden_size", 3);
  ExpectRunError(RunOne(hs, feeds), {"LSTM", "hidden_size 3"});
  lstm[2].second = {1, 8, 3};
  auto wide_r = OneNode(14, "LSTM", {"x", "w", "r", "b", "lens"}, {"y"}, lstm);
  feeds["r"] = Filled({1, 8, 3});
  ExpectRunError(RunOne(wide_r, feeds), {"LSTM", "R has shape [1,8,3]"});
  // LayerNormalization: a scale that does not broadcast to the normalized dims.
  auto ln = OneNode(17, "LayerNormalization", {"x", "s"}, {"y"}, {{"x", {2, 3}}, {"s", {2}}}, 2);
  ExpectRunError(RunOne(ln, {{"x", Filled({2, 3})}, {"s", Filled({2})}}), {"LayerNormalization", "Scale"});
  // Resize: both scales and sizes, and a scales count that does not match the rank.
  auto rs = OneNode(13, "Resize", {"x", "", "scales", "sizes"}, {"y"}, {{"x", {1, 1, 2, 2}}, {"scales", {4}}, {"sizes", {4}}});
  Tensor sizes = *Tensor::Make(DType::kInt64, {4});
  for (int i = 0; i < 4; ++i) sizes.data<int64_t>()[i] = 2;
  ExpectRunError(RunOne(rs, {{"x", Filled({1, 1, 2, 2})}, {"scales", Filled({4}, 1.0f)}, {"sizes", sizes}}),
                 {"Resize", "exactly one of scales and sizes"});
  auto rc = OneNode(13, "Resize", {"x", "", "scales"}, {"y"}, {{"x", {1, 1, 2, 2}}, {"scales", {3}}});
  ExpectRunError(RunOne(rc, {{"x", Filled({1, 1, 2, 2})}, {"scales", Filled({3}, 1.0f)}}), {"Resize", "scales must be"});
}

// ---------------------------------------------------------------- If / Loop

::onnx::GraphProto Branch(const std::string& name, const std::string& op, std::vector<std::string> in,
                          std::vector<std::string> outputs) {
  ::onnx::GraphProto g;
  g.set_name(name);
  auto* n = g.add_node();
  n->set_op_type(op);
  for (auto& s : in) n->add_input(s);
  n->add_output(outputs[0]);
  for (auto& s : outputs) {
    auto* v = g.add_output();
    v->set_name(s);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(1);
    v->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_param("n");
  }
  return g;
}

void SetGraph(::onnx::ModelProto& m, const std::string& name, const ::onnx::GraphProto& g) {
  auto* a = m.mutable_graph()->mutable_node(0)->add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::GRAPH);
  *a->mutable_g() = g;
}

::onnx::ModelProto IfModel(const ::onnx::GraphProto& then_branch, const ::onnx::GraphProto& else_branch) {
  auto m = OneNode(13, "If", {"cond"}, {"y"}, {{"cond", {}}, {"x", {2}}}, 1);
  m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(9);
  SetGraph(m, "then_branch", then_branch);
  SetGraph(m, "else_branch", else_branch);
  return m;
}

TEST(Ops2ControlFlow, IfRunsTheChosenBranchWithOuterValues) {
  auto m = IfModel(Branch("t", "Relu", {"x"}, {"r"}), Branch("e", "Neg", {"x"}, {"n"}));
  auto model = Model::Load(ToBytes(m.SerializeAsString()));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->op_types(), (std::vector<std::string>{"If", "Neg", "Relu"}));  // bodies included
  Tensor x = *Tensor::Make(DType::kFloat32, {2});
  x.data<float>()[0] = -1.5f;
  x.data<float>()[1] = 2.0f;
  Tensor cond = *Tensor::Make(DType::kBool, {});
  cond.data<uint8_t>()[0] = 1;
  auto yes = (*model)->Run({{"cond", cond}, {"x", x}});
  ASSERT_TRUE(yes.ok()) << yes.status().ToString();
  EXPECT_EQ(yes->at("y").data<float>()[0], 0.0f);
  EXPECT_EQ(yes->at("y").data<float>()[1], 2.0f);
  cond.data<uint8_t>()[0] = 0;
  auto no = (*model)->Run({{"cond", cond}, {"x", x}});
  ASSERT_TRUE(no.ok());
  EXPECT_EQ(no->at("y").data<float>()[0], 1.5f);
  EXPECT_EQ(no->at("y").data<float>()[1], -2.0f);
  // A cond that is not one bool is refused at run time, naming the node.
  Tensor two = *Tensor::Make(DType::kBool, {2});
  auto bad = (*model)->Run({{"cond", two}, {"x", x}});
  EXPECT_FALSE(bad.ok());
}

TEST(Ops2ControlFlow, BadSubgraphsAreRefusedAtLoad) {
  // An op the executor lacks, inside a branch: refused at load with the op's name.
  ExpectRefused(IfModel(Branch("t", "NoSuchOp", {"x"}, {"r"}), Branch("e", "Relu", {"x"}, {"n"})), {"NoSuchOp"});
  // A branch reading a name no scope defines.
  ExpectRefused(IfModel(Branch("t", "Relu", {"ghost"}, {"r"}), Branch("e", "Relu", {"x"}, {"n"})), {"ghost"});
  // Branch output count differs from the node's.
  auto two_outputs = Branch("t", "Relu", {"x"}, {"r"});
  *two_outputs.add_output() = two_outputs.output(0);
  two_outputs.mutable_output(1)->set_name("x");
  ExpectRefused(IfModel(two_outputs, Branch("e", "Relu", {"x"}, {"n"})), {"If", "then_branch", "outputs"});
  // A missing branch.
  auto m = OneNode(13, "If", {"cond"}, {"y"}, {{"cond", {}}, {"x", {2}}}, 1);
  m.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(9);
  SetGraph(m, "then_branch", Branch("t", "Relu", {"x"}, {"r"}));
  ExpectRefused(m, {"If", "else_branch", "required"});
  // A Loop with neither trip count nor cond would never end.
  auto loop = OneNode(13, "Loop", {"", "", "x"}, {"y"}, {{"x", {2}}}, 1);
  ::onnx::GraphProto body = Branch("b", "Relu", {"v"}, {"v_out"});
  for (const char* in : {"i", "c", "v"}) {
    auto* v = body.add_input();
    v->set_name(in);
    v->mutable_type()->mutable_tensor_type()->set_elem_type(std::string(in) == "i" ? 7 : (std::string(in) == "c" ? 9 : 1));
  }
  SetGraph(loop, "body", body);
  ExpectRefused(loop, {"Loop", "never ends"});
  // A body with 2 inputs where the node's one carried value needs 3 (iteration, cond, value).
  auto short_body = body;
  short_body.mutable_input()->DeleteSubrange(1, 1);  // drops cond
  auto loop2 = OneNode(13, "Loop", {"m", "", "x"}, {"y"}, {{"m", {}}, {"x", {2}}}, 1);
  loop2.mutable_graph()->mutable_input(0)->mutable_type()->mutable_tensor_type()->set_elem_type(7);
  SetGraph(loop2, "body", short_body);
  ExpectRefused(loop2, {"Loop", "body has 2 inputs"});
}

TEST(Ops2ControlFlow, LoopTripCountIsBounded) {
  auto model = Model::Load(ReadFile(DataPath("ops2_loop.onnx")));
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  Golden golden = LoadGolden("loop");
  golden.inputs["m"].data<int64_t>()[0] = int64_t{1} << 40;
  auto r = (*model)->Run(golden.inputs);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("exceeds the limit"), std::string::npos) << r.status().ToString();
}

}  // namespace
}  // namespace lucid::onnx
