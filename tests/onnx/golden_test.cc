// Runs the models made by tests/data/onnx/make_models.py and compares with onnxruntime's
// outputs (tolerance: |lucid - ort| ≤ 1e-5 + 1e-5·|ort|; integers and bools exact), then
// checks that outputs are byte-identical for 1, 2 and 4 threads and with weights prepared at
// load or not.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "onnx/model.h"
#include "test_data.h"
#include "tensor/tensor_json.h"

namespace lucid::onnx {
namespace {

using testing::DataPath;
using testing::ReadFile;

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, MatchesOnnxRuntimeAndIsThreadInvariant) {
  Bytes model_bytes = ReadFile(DataPath(GetParam() + ".onnx"));
  ASSERT_FALSE(model_bytes.empty());
  auto model = Model::Load(model_bytes);
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto golden = nlohmann::json::parse(AsString(ReadFile(DataPath(GetParam() + ".json"))));
  auto inputs = TensorMapFromJson(golden["inputs"]);
  ASSERT_TRUE(inputs.ok()) << inputs.status().ToString();
  auto expected = TensorMapFromJson(golden["outputs"]);
  ASSERT_TRUE(expected.ok()) << expected.status().ToString();

  auto got = (*model)->Run(*inputs);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), expected->size());
  for (const auto& [name, want] : *expected) {
    SCOPED_TRACE(GetParam() + "/" + name);
    ASSERT_TRUE(got->count(name));
    const Tensor& have = got->at(name);
    ASSERT_EQ(have.dtype(), want.dtype());
    ASSERT_EQ(have.shape(), want.shape());
    if (want.dtype() != DType::kFloat32) {
      EXPECT_EQ(have.bytes(), want.bytes());
      continue;
    }
    double worst = 0;
    for (uint64_t i = 0; i < want.num_elements(); ++i) {
      double a = have.data<float>()[i], b = want.data<float>()[i];
      double err = std::fabs(a - b) / (1e-5 + 1e-5 * std::fabs(b));
      worst = std::max(worst, err);
      ASSERT_LE(std::fabs(a - b), 1e-5 + 1e-5 * std::fabs(b)) << "element " << i << ": " << a << " vs " << b;
    }
  }
  for (int threads : {2, 4}) {
    auto again = (*model)->Run(*inputs, RunOptions{threads});
    ASSERT_TRUE(again.ok());
    for (const auto& [name, t] : *got) EXPECT_EQ(again->at(name).bytes(), t.bytes()) << name << " threads=" << threads;
    EXPECT_EQ(HashTensorMap(*again), HashTensorMap(*got));
  }
  // Weights prepared at load (packed, transposed, widened) must not change a single byte.
  LoadOptions unprepared;
  unprepared.prepare_constants = false;
  auto plain = Model::Load(model_bytes, unprepared);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  for (int threads : {1, 2}) {
    auto again = (*plain)->Run(*inputs, RunOptions{threads});
    ASSERT_TRUE(again.ok()) << again.status().ToString();
    EXPECT_EQ(HashTensorMap(*again), HashTensorMap(*got)) << "prepare_constants=false, threads=" << threads;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, GoldenTest,
                         ::testing::Values("mlp", "elementwise", "cnn", "conv_variants", "shape_ops", "legacy_opset10"));

TEST(GoldenTest, ReportsOpsAndIo) {
  auto model = Model::Load(ReadFile(DataPath("mlp.onnx")));
  ASSERT_TRUE(model.ok());
  EXPECT_EQ((*model)->opset(), 13);
  EXPECT_EQ((*model)->op_types(), (std::vector<std::string>{"Gemm", "Relu", "Softmax"}));
  ASSERT_EQ((*model)->inputs().size(), 1u);
  EXPECT_EQ((*model)->inputs()[0].name, "x");
  EXPECT_EQ((*model)->inputs()[0].shape, (std::vector<int64_t>{-1, 8}));
  EXPECT_EQ((*model)->outputs().size(), 2u);
}

TEST(GoldenTest, TamperedWeightChangesOutput) {
  Bytes bytes = ReadFile(DataPath("mlp.onnx"));
  auto model = Model::Load(bytes);
  ASSERT_TRUE(model.ok());
  auto golden = nlohmann::json::parse(AsString(ReadFile(DataPath("mlp.json"))));
  auto inputs = *TensorMapFromJson(golden["inputs"]);
  Hash32 clean = HashTensorMap(*(*model)->Run(inputs));
  // Flip one bit in the middle of the weights (the first initializer's raw data).
  Bytes tampered = bytes;
  tampered[tampered.size() / 2] ^= 0x01;
  auto bad = Model::Load(tampered);
  if (bad.ok()) {
    auto out = (*bad)->Run(inputs);
    ASSERT_TRUE(out.ok() == false || HashTensorMap(*out) != clean);
  }
}

}  // namespace
}  // namespace lucid::onnx
