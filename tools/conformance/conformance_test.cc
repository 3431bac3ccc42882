// Tests of the conformance runner's own checks: tolerance, exactness, and that a tampered
// expected output, input or model turns a passing test into a failure or a refusal.
#include "tools/conformance/conformance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <limits>

#include <unistd.h>

namespace lucid::conformance {
namespace {
namespace fs = std::filesystem;

Tensor Floats(std::vector<float> v) {
  Tensor t = Tensor::Make(DType::kFloat32, {static_cast<int64_t>(v.size())}).value();
  for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] = v[i];
  return t;
}

TEST(CompareTensors, FloatToleranceIsAtolPlusRtol) {
  Tolerance tol;  // atol 1e-4, rtol 1e-3
  EXPECT_EQ(CompareTensors(Floats({1.0f, 100.0f}), Floats({1.0f, 100.0f}), tol), "");
  EXPECT_EQ(CompareTensors(Floats({1.001f}), Floats({1.0f}), tol), "");          // 1e-3 ≤ 1e-4 + 1e-3
  EXPECT_NE(CompareTensors(Floats({1.002f}), Floats({1.0f}), tol), "");          // 2e-3 > 1.1e-3
  EXPECT_EQ(CompareTensors(Floats({100.1f}), Floats({100.0f}), tol), "");        // relative part
  EXPECT_NE(CompareTensors(Floats({0.0002f}), Floats({0.0f}), tol), "");         // absolute part
  std::string why = CompareTensors(Floats({0, 5, 7}), Floats({0, 5, 8}), tol);
  EXPECT_NE(why.find("1 of 3 elements differ; first at flat index 2: got 7, want 8"), std::string::npos) << why;
}

TEST(CompareTensors, NanAndInfinity) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  Tolerance tol;
  EXPECT_EQ(CompareTensors(Floats({nan, inf, -inf}), Floats({nan, inf, -inf}), tol), "");
  EXPECT_NE(CompareTensors(Floats({0}), Floats({nan}), tol), "");
  EXPECT_NE(CompareTensors(Floats({nan}), Floats({0}), tol), "");
  EXPECT_NE(CompareTensors(Floats({inf}), Floats({-inf}), tol), "");
  EXPECT_NE(CompareTensors(Floats({3e38f}), Floats({inf}), tol), "");
}

TEST(CompareTensors, IntegersExactShapesAndDtypesMustMatch) {
  Tensor a = Tensor::Make(DType::kInt64, {2}).value(), b = a;
  a.data<int64_t>()[1] = (int64_t{1} << 60) + 1;
  b.data<int64_t>()[1] = (int64_t{1} << 60);  // equal as double, not as int64
  EXPECT_NE(CompareTensors(a, b, Tolerance{}), "");
  b.data<int64_t>()[1] = a.data<int64_t>()[1];
  EXPECT_EQ(CompareTensors(a, b, Tolerance{}), "");
  EXPECT_NE(CompareTensors(Floats({1, 2}), Tensor::Make(DType::kFloat32, {1, 2}).value(), Tolerance{}).find("shape"),
            std::string::npos);
  Tensor i32 = Tensor::Make(DType::kInt32, {2}).value();
  EXPECT_NE(CompareTensors(i32, Floats({0, 0}), Tolerance{}).find("dtype"), std::string::npos);
}

// A private copy of Debian's test_relu to tamper with.
class RunConformanceTestTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::path source = fs::path(LUCID_ONNX_TESTDATA) / "node" / "test_relu";
    if (!fs::exists(source / "model.onnx")) GTEST_SKIP() << "libonnx-testdata is not installed";
    dir_ = fs::temp_directory_path() / ("lucid-conformance-test-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::copy(source, dir_, fs::copy_options::recursive);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  // Flips `mask` in the last byte of `file`: the sign/exponent byte of its last float.
  void FlipLastByte(const fs::path& file, uint8_t mask) {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(-1, std::ios::end);
    char c = 0;
    f.get(c);
    f.seekp(-1, std::ios::end);
    f.put(static_cast<char>(c ^ mask));
  }
  fs::path dir_;
};

TEST_F(RunConformanceTestTest, UntouchedPassesAndProducesOutputs) {
  TestResult r = RunConformanceTest(dir_, 1, Tolerance{});
  EXPECT_EQ(r.outcome, Outcome::kPass) << r.detail;
  ASSERT_EQ(r.produced.size(), 1u);
  EXPECT_EQ(r.op_types, std::vector<std::string>{"Relu"});
}

TEST_F(RunConformanceTestTest, TamperedExpectedOutputFails) {
  FlipLastByte(dir_ / "test_data_set_0" / "output_0.pb", 0x40);
  TestResult r = RunConformanceTest(dir_, 1, Tolerance{});
  EXPECT_EQ(r.outcome, Outcome::kFail);
  EXPECT_NE(r.detail.find("output 'y'"), std::string::npos) << r.detail;
}

TEST_F(RunConformanceTestTest, TamperedInputFails) {
  // The sign bit: Relu of the last element changes unless it is ±0.
  FlipLastByte(dir_ / "test_data_set_0" / "input_0.pb", 0x80);
  TestResult r = RunConformanceTest(dir_, 2, Tolerance{});
  EXPECT_EQ(r.outcome, Outcome::kFail) << r.detail;
}

TEST_F(RunConformanceTestTest, TruncatedExpectedOutputFails) {
  fs::path out = dir_ / "test_data_set_0" / "output_0.pb";
  fs::resize_file(out, fs::file_size(out) - 4);
  TestResult r = RunConformanceTest(dir_, 1, Tolerance{});
  EXPECT_EQ(r.outcome, Outcome::kFail);
  EXPECT_NE(r.detail.find("expected output"), std::string::npos) << r.detail;
}

TEST_F(RunConformanceTestTest, UnknownOpIsUnsupportedAndNamed) {
  fs::path model = dir_ / "model.onnx";
  std::ifstream in(model, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  size_t at = bytes.find("Relu");
  ASSERT_NE(at, std::string::npos);
  bytes.replace(at, 4, "Rxlu");  // same length: the protobuf stays valid
  std::ofstream(model, std::ios::binary | std::ios::trunc) << bytes;
  TestResult r = RunConformanceTest(dir_, 1, Tolerance{});
  EXPECT_EQ(r.outcome, Outcome::kUnsupported);
  EXPECT_EQ(r.unsupported_key, "Rxlu") << r.detail;
  EXPECT_TRUE(r.produced.empty());
}

TEST(DiscoverSuite, MissingFolderIsAnError) {
  EXPECT_FALSE(DiscoverSuite("x", "/nonexistent/lucid-conformance").ok());
}

}  // namespace
}  // namespace lucid::conformance
