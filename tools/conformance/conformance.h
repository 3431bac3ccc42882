// Conformance runner over the ONNX backend test layout: a suite is a folder of test
// folders, each with model.onnx and test_data_set_*/{input,output}_*.pb (TensorProto).
// A model the loader refuses is "unsupported" (with the reason); a model that loads must
// run and match every expected output, else the test fails. The hash over every produced
// output (canonical tensor bytes, in test order) lets runs be compared across thread
// counts and builds. Thread-safety: free functions; RunConformanceTest is reentrant.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "crypto/hash.h"
#include "onnx/model.h"
#include "tensor/tensor.h"

namespace lucid::conformance {

// float32: |got − want| ≤ atol + rtol·|want|; NaN matches NaN, ±inf must be equal.
// Every other dtype (integers, bool) must match exactly.
struct Tolerance {
  double atol = 1e-4;
  double rtol = 1e-3;
};

// Empty string when `got` matches `want` within `tol`; else a one-line reason naming the
// first differing element, the number of differing elements and the largest difference.
std::string CompareTensors(const Tensor& got, const Tensor& want, const Tolerance& tol);

// Parses a serialized TensorProto (input_N.pb / output_N.pb). `name` receives its name field.
Result<Tensor> ReadTensorProtoFile(const std::filesystem::path& path, std::string* name);

struct TestCase {
  std::string id;  // "<suite label>/<folder name>"
  std::filesystem::path dir;
};

// Test folders (those holding model.onnx) under `root`, sorted by name.
Result<std::vector<TestCase>> DiscoverSuite(const std::string& label, const std::filesystem::path& root);

enum class Outcome { kPass, kFail, kUnsupported };

struct TestResult {
  Outcome outcome = Outcome::kFail;
  std::string detail;                  // the failure or refusal reason; empty on pass
  std::vector<std::string> op_types;   // ops in the model graph, in order, without duplicates
  std::string unsupported_key;         // the op a refusal is counted under
  std::vector<Tensor> produced;        // every output computed, data set by data set
};

// Loads, runs and checks one test folder. Never throws. `load` is for tests (e.g. the
// load-time dtype check off, to compare it with the kernels).
TestResult RunConformanceTest(const std::filesystem::path& dir, int threads, const Tolerance& tol,
                              const onnx::LoadOptions& load = {});

std::string_view OutcomeName(Outcome o);

}  // namespace lucid::conformance
