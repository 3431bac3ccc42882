// Load, check and run ONNX models deterministically. Loading parses the protobuf
// (libonnx), runs the ONNX checker and refuses at load time, naming the op, anything the
// executor cannot run (unknown op or domain, unsupported attribute, dtype, cycles,
// missing initializers). Run() uses canonical float32 semantics: fixed evaluation and
// reduction order, no FP contraction, Lucid's own exp/tanh/erf (tensor/math.h), so the
// output bytes are identical on every machine, build and thread count.
// Thread-safety: a loaded Model is immutable; Run() may be called concurrently.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "tensor/tensor.h"

namespace lucid::onnx {

// Executor identity recorded in receipts; bump when semantics change.
inline constexpr std::string_view kEngineId = "lucid-onnx/f32-canonical/1";

struct ValueInfo {
  std::string name;
  DType dtype = DType::kFloat32;
  std::vector<int64_t> shape;  // -1 for a dynamic dimension
};

struct LoadOptions {
  uint64_t max_model_bytes = 512ull << 20;
  // Prepare constant weights at load (packed for the GEMM). Results are identical either
  // way; off only to test that.
  bool prepare_constants = true;
  // Infer every value's dtype at load and refuse nodes whose kernels would refuse their input
  // dtypes (type_check.cc). Off only in tests that show the table and the kernels agree;
  // value rules (training-mode Dropout) apply either way.
  bool check_types = true;
};

struct RunOptions {
  int threads = 1;  // results are identical for any value
};

class Model {
 public:
  static Result<std::unique_ptr<Model>> Load(ByteView onnx_bytes, const LoadOptions& options = {});
  virtual ~Model() = default;

  virtual const std::vector<ValueInfo>& inputs() const = 0;
  virtual const std::vector<ValueInfo>& outputs() const = 0;
  // Ops used, in graph order without duplicates (for manifests and error messages).
  virtual std::vector<std::string> op_types() const = 0;
  virtual int64_t opset() const = 0;

  // Checks every input's presence, dtype and shape against inputs(), then executes.
  // Extra inputs are refused; outputs are keyed by the graph output names.
  virtual Result<TensorMap> Run(const TensorMap& inputs, const RunOptions& options = {}) const = 0;
};

}  // namespace lucid::onnx
