// Internal to lucid_onnx: the compiled graph node, the op table and the kernel
// signature. Kernels are free functions; they validate every shape they touch and
// return errors instead of reading out of bounds. Canonical float rules are in
// docs/formats/onnx-semantics.md. Thread-safety: Node and OpDef are immutable after load.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "tensor/tensor.h"

namespace lucid::onnx::internal {

struct Attr {
  enum class Kind : uint8_t { kInt, kFloat, kInts, kFloats, kString, kTensor };
  Kind kind = Kind::kInt;
  int64_t i = 0;
  float f = 0;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::string s;
  Tensor t;
};

struct OpDef;

struct Node {
  std::string name;     // node name, or "<op_type>#<index>" when unnamed
  std::string op_type;
  int64_t opset = 0;    // the model's ai.onnx opset
  std::vector<int> inputs;   // value ids; -1 for an omitted optional input
  std::vector<int> outputs;  // value ids; -1 for an omitted optional output
  std::map<std::string, Attr, std::less<>> attrs;
  const OpDef* def = nullptr;
  Tensor constant;  // Constant's value, built at load

  bool Has(std::string_view attr) const { return attrs.find(attr) != attrs.end(); }
  // Readers for validated attributes (validation checked the kind).
  int64_t Int(std::string_view attr, int64_t fallback) const;
  float Float(std::string_view attr, float fallback) const;
  std::vector<int64_t> Ints(std::string_view attr) const;  // empty when absent
  std::string Str(std::string_view attr, std::string_view fallback) const;
  std::string Describe() const;  // "node 'name' (Op)"
};

// Validation helpers: refuse a present attribute of the wrong kind or out of range.
Status ExpectKind(const Node& node, std::string_view attr, Attr::Kind kind);

struct KernelContext {
  int threads = 1;
};

using KernelInputs = std::span<const Tensor* const>;  // nullptr for omitted optional inputs
using KernelFn = Status (*)(const Node&, KernelInputs, std::vector<Tensor>& outputs, const KernelContext&);
using ValidateFn = Status (*)(Node&);

struct OpDef {
  std::string_view op_type;
  int min_inputs, max_inputs;
  int min_outputs, max_outputs;
  std::string_view attributes;  // comma-separated names the op accepts
  ValidateFn validate;          // attribute values, opset rules; may be null
  KernelFn run;
};

// The one op table (op_table.cc). nullptr when the op is unknown.
const OpDef* FindOp(std::string_view op_type);
std::vector<std::string_view> SupportedOps();

// Splits [0, count) into contiguous chunks run on up to `threads` threads. Each index is
// processed by exactly one call, so per-element results never depend on the split.
void ParallelFor(int64_t count, int threads, const std::function<void(int64_t, int64_t)>& fn);

// Shape helpers shared by kernels.
Result<std::vector<int64_t>> BroadcastShapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b);
// Normalizes a possibly negative axis into [0, rank); error names the op.
Result<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const Node& node);
std::string ShapeString(const std::vector<int64_t>& shape);
uint64_t Product(std::span<const int64_t> dims, size_t begin, size_t end);

// Kernels and validators (grouped by file).
#define LUCID_KERNEL(name) Status name(const Node&, KernelInputs, std::vector<Tensor>&, const KernelContext&)
LUCID_KERNEL(RunAdd); LUCID_KERNEL(RunSub); LUCID_KERNEL(RunMul); LUCID_KERNEL(RunDiv);
LUCID_KERNEL(RunRelu); LUCID_KERNEL(RunLeakyRelu); LUCID_KERNEL(RunSigmoid); LUCID_KERNEL(RunTanh);
LUCID_KERNEL(RunSoftmax); LUCID_KERNEL(RunLogSoftmax); LUCID_KERNEL(RunClip);
LUCID_KERNEL(RunGemm); LUCID_KERNEL(RunMatMul); LUCID_KERNEL(RunConv);
LUCID_KERNEL(RunMaxPool); LUCID_KERNEL(RunAveragePool); LUCID_KERNEL(RunGlobalAveragePool);
LUCID_KERNEL(RunBatchNormalization);
LUCID_KERNEL(RunFlatten); LUCID_KERNEL(RunReshape); LUCID_KERNEL(RunTranspose); LUCID_KERNEL(RunConcat);
LUCID_KERNEL(RunSqueeze); LUCID_KERNEL(RunUnsqueeze); LUCID_KERNEL(RunShape); LUCID_KERNEL(RunGather);
LUCID_KERNEL(RunCast); LUCID_KERNEL(RunConstant); LUCID_KERNEL(RunIdentity); LUCID_KERNEL(RunDropout);
#undef LUCID_KERNEL

Status ValidateGemm(Node&);
Status ValidateConv(Node&);
Status ValidatePool(Node&);
Status ValidateSoftmax(Node&);
Status ValidateBatchNormalization(Node&);
Status ValidateClip(Node&);
Status ValidateAxisOps(Node&);  // Flatten, Concat, Gather, Squeeze, Unsqueeze
Status ValidateTranspose(Node&);
Status ValidateReshape(Node&);
Status ValidateShape(Node&);
Status ValidateCast(Node&);
Status ValidateConstant(Node&);
Status ValidateLeakyRelu(Node&);
Status ValidateDropout(Node&);

}  // namespace lucid::onnx::internal
