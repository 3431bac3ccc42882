// Internal to lucid_onnx: the compiled graph node, the op table and the kernel
// signature. Kernels are free functions; they validate every shape they touch and
// return errors instead of reading out of bounds. Canonical float rules are in
// docs/formats/onnx-semantics.md. Thread-safety: Node and OpDef are immutable after load.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/parallel.h"
#include "tensor/tensor.h"

namespace lucid::onnx::internal {

struct Subgraph;  // subgraph.h

struct Attr {
  enum class Kind : uint8_t { kInt, kFloat, kInts, kFloats, kString, kTensor, kStrings, kGraph };
  Kind kind = Kind::kInt;
  int64_t i = 0;
  float f = 0;
  std::vector<int64_t> ints;
  std::vector<float> floats;
  std::string s;
  std::vector<std::string> strings;  // kStrings (e.g. RNN activations)
  std::shared_ptr<const Subgraph> graph;  // kGraph: If/Loop bodies (subgraph.h)
  Tensor t;
};

struct OpDef;

// What a kernel derives once, at load, from inputs that are initializers (e.g. weights
// packed or widened for the GEMM). Immutable after load and shared by concurrent runs. A
// kernel must give the same bytes with or without it (LoadOptions::prepare_constants = false
// turns it off; tests compare both).
struct Prepared {
  virtual ~Prepared() = default;
};

struct Node {
  std::string name;     // node name, or "<op_type>#<index>" when unnamed
  std::string op_type;
  int64_t opset = 0;    // the model's ai.onnx opset
  std::vector<int> inputs;   // value ids; -1 for an omitted optional input
  std::vector<int> outputs;  // value ids; -1 for an omitted optional output
  std::map<std::string, Attr, std::less<>> attrs;
  const OpDef* def = nullptr;
  Tensor constant;  // Constant's value, built at load
  std::shared_ptr<const Prepared> prepared;  // from the op's PrepareFn; may be null

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
  // donated[i], when set, is input i's own storage at its last use: the kernel may move
  // from it (view ops such as Reshape then cost no copy). Empty or null: inputs are shared.
  std::span<Tensor* const> donated = {};
  Tensor* Donated(size_t input) const { return input < donated.size() ? donated[input] : nullptr; }
};

using KernelInputs = std::span<const Tensor* const>;  // nullptr for omitted optional inputs
using KernelFn = Status (*)(const Node&, KernelInputs, std::vector<Tensor>& outputs, const KernelContext&);
using ValidateFn = Status (*)(Node&);
// constants[i] is input i's tensor when that input is an initializer, else nullptr. Returns
// null when there is nothing to prepare; an error refuses the model at load.
using PrepareFn = Result<std::shared_ptr<const Prepared>> (*)(const Node&, KernelInputs constants);

struct OpDef {
  std::string_view op_type;
  int min_inputs, max_inputs;
  int min_outputs, max_outputs;
  std::string_view attributes;  // comma-separated names the op accepts
  ValidateFn validate;          // attribute values, opset rules; may be null
  KernelFn run;
};

// Runs nodes (topologically sorted) in order: each reads its inputs from values (by value
// id; -1 = omitted) and its outputs are stored in owned and pointed to from values. Used
// by the top-level graph and by If/Loop bodies alike. An owned value is released after its
// last use unless its id is in keep (the graph's outputs); at that last use it is donated
// to the kernel (KernelContext::donated).
Status ExecuteNodes(std::span<const Node> nodes, std::vector<const Tensor*>& values, std::vector<Tensor>& owned,
                    std::span<const int> keep, const KernelContext& ctx);

// Output length of a sliding window (Conv, pools) along one spatial axis, resolving
// auto_pad (SAME_UPPER/SAME_LOWER/VALID/NOTSET) into pad_begin/pad_end (kernels_linear.cc).
Status WindowOutputSize(const Node& node, const std::string& auto_pad, bool ceil_mode, int64_t in, int64_t k,
                        int64_t stride, int64_t dilation, int64_t& pad_begin, int64_t& pad_end, int64_t& out);

// The one op table (op_table.cc). nullptr when the op is unknown.
const OpDef* FindOp(std::string_view op_type);
// The op's load-time preparation (op_table.cc); nullptr when it has none.
PrepareFn FindPrepare(std::string_view op_type);
std::vector<std::string_view> SupportedOps();

// Kernels split work with the process-wide pool (base/parallel.h): fixed contiguous chunks,
// so per-element results never depend on the split.
using ::lucid::ParallelFor;

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
LUCID_KERNEL(RunMaxPool); LUCID_KERNEL(RunAveragePool); LUCID_KERNEL(RunGlobalAveragePool); LUCID_KERNEL(RunGlobalMaxPool);
LUCID_KERNEL(RunBatchNormalization);
LUCID_KERNEL(RunFlatten); LUCID_KERNEL(RunReshape); LUCID_KERNEL(RunTranspose); LUCID_KERNEL(RunConcat);
LUCID_KERNEL(RunSqueeze); LUCID_KERNEL(RunUnsqueeze); LUCID_KERNEL(RunShape); LUCID_KERNEL(RunGather);
LUCID_KERNEL(RunCast); LUCID_KERNEL(RunConstant); LUCID_KERNEL(RunIdentity); LUCID_KERNEL(RunDropout);
// Integer path (kernels_int.cc); MaxPool dispatches float to RunMaxPool.
LUCID_KERNEL(RunQuantizeLinear); LUCID_KERNEL(RunDequantizeLinear); LUCID_KERNEL(RunDynamicQuantizeLinear);
LUCID_KERNEL(RunMatMulInteger); LUCID_KERNEL(RunQLinearMatMul); LUCID_KERNEL(RunConvInteger);
LUCID_KERNEL(RunQLinearConv); LUCID_KERNEL(RunMaxPoolAnyType);
// kernels_nn.cc, kernels_rnn.cc
LUCID_KERNEL(RunConvTranspose); LUCID_KERNEL(RunLayerNormalization); LUCID_KERNEL(RunInstanceNormalization);
LUCID_KERNEL(RunResize); LUCID_KERNEL(RunLSTM); LUCID_KERNEL(RunGRU);
LUCID_KERNEL(RunIf); LUCID_KERNEL(RunLoop);  // control_flow.cc
// Float op coverage part 1 (kernels_math.cc, kernels_reduce.cc, kernels_index.cc).
LUCID_KERNEL(RunExp); LUCID_KERNEL(RunLog); LUCID_KERNEL(RunSqrt); LUCID_KERNEL(RunPow); LUCID_KERNEL(RunAbs);
LUCID_KERNEL(RunNeg); LUCID_KERNEL(RunReciprocal); LUCID_KERNEL(RunErf); LUCID_KERNEL(RunGelu); LUCID_KERNEL(RunElu);
LUCID_KERNEL(RunPRelu); LUCID_KERNEL(RunHardSigmoid); LUCID_KERNEL(RunMax); LUCID_KERNEL(RunMin);
LUCID_KERNEL(RunEqual); LUCID_KERNEL(RunLess); LUCID_KERNEL(RunGreater); LUCID_KERNEL(RunNot); LUCID_KERNEL(RunAnd);
LUCID_KERNEL(RunWhere); LUCID_KERNEL(RunReduce); LUCID_KERNEL(RunArgMax); LUCID_KERNEL(RunCumSum); LUCID_KERNEL(RunTopK);
LUCID_KERNEL(RunEinsum); LUCID_KERNEL(RunSplit); LUCID_KERNEL(RunSlice); LUCID_KERNEL(RunGatherElements);
LUCID_KERNEL(RunExpand); LUCID_KERNEL(RunTile); LUCID_KERNEL(RunPad); LUCID_KERNEL(RunSize);
LUCID_KERNEL(RunConstantOfShape); LUCID_KERNEL(RunRange);
#undef LUCID_KERNEL

Status ValidateGemm(Node&);
// Load-time preparations (see Prepared), listed in FindPrepare.
Result<std::shared_ptr<const Prepared>> PrepareGemm(const Node&, KernelInputs constants);
Result<std::shared_ptr<const Prepared>> PrepareMatMul(const Node&, KernelInputs constants);
Result<std::shared_ptr<const Prepared>> PrepareQLinearConv(const Node&, KernelInputs constants);  // kernels_int.cc
Result<std::shared_ptr<const Prepared>> PrepareConvInteger(const Node&, KernelInputs constants);
Result<std::shared_ptr<const Prepared>> PrepareQLinearMatMul(const Node&, KernelInputs constants);
Result<std::shared_ptr<const Prepared>> PrepareMatMulInteger(const Node&, KernelInputs constants);
// kernels_int.cc: turns the integer kernels' AVX2 paths off (tests compare them with the
// scalar ones); process-wide, for tests only.
void SetIntegerSimdForTesting(bool enabled);
// 0: scalar only, 1: up to AVX2, 2: every SIMD level the CPU has (the default).
void SetIntegerSimdLevelForTesting(int level);
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
Status ValidateMathOps(Node&);  // kernels_math.cc: Gelu, Elu, HardSigmoid
Status ValidateReduce(Node&);   // kernels_reduce.cc
Status ValidateArgMax(Node&);
Status ValidateCumSum(Node&);
Status ValidateTopK(Node&);
Status ValidateEinsum(Node&);
Status ValidateSplit(Node&);    // kernels_index.cc
Status ValidateSlice(Node&);
Status ValidateGatherElements(Node&);
Status ValidatePad(Node&);
Status ValidateConstantOfShape(Node&);
Status ValidateConvTranspose(Node&);
Status ValidateLayerNormalization(Node&);
Status ValidateInstanceNormalization(Node&);
Status ValidateResize(Node&);
Status ValidateLSTM(Node&);
Status ValidateGRU(Node&);
Status ValidateIf(Node&);
Status ValidateLoop(Node&);
Status ValidateQuantizeLinear(Node&);  // kernels_int.cc
Status ValidateQLinearConv(Node&);     // QLinearConv, ConvInteger

}  // namespace lucid::onnx::internal
