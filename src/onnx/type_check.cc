// Load-time dtype inference: one rule per op saying which input dtypes its kernel runs, which
// inputs must share a dtype and how the outputs' dtypes follow. The rules restate what the
// kernels check at run time (kernels_*.cc, control_flow.cc); tools/conformance's
// type_agreement_test runs every conformance model with and without this check to show they
// agree. A rule may only be as strict as its kernel or the ONNX spec, never stricter than both.
#include "onnx/type_check.h"

#include <algorithm>
#include <string>

#include "onnx/subgraph.h"

namespace lucid::onnx::internal {
namespace {

constexpr DTypeSet kF = DTypeBit(DType::kFloat32);
constexpr DTypeSet kU8 = DTypeBit(DType::kUint8);
constexpr DTypeSet kI8 = DTypeBit(DType::kInt8);
constexpr DTypeSet kI32 = DTypeBit(DType::kInt32);
constexpr DTypeSet kI64 = DTypeBit(DType::kInt64);
constexpr DTypeSet kB = DTypeBit(DType::kBool);
constexpr DTypeSet kAll = kF | kU8 | kI8 | kI32 | kI64 | kB;
constexpr DTypeSet kQ = kU8 | kI8;          // quantized codes
constexpr DTypeSet kIdx = kI32 | kI64;      // index inputs read by ReadIndexTensor
constexpr DTypeSet kNum = kF | kI32 | kI64;  // float or wide integer kernels
constexpr DTypeSet kArith = kF | kI8 | kU8 | kI32 | kI64;

constexpr uint32_t kAllInputs = ~0u;  // a "same dtype" group covering every explicit input

// How an output's dtype follows: that of input `like`, or `fixed` when like < 0.
struct Out {
  int like = 0;
  DType fixed = DType::kFloat32;
};
constexpr Out Like(int input) { return {input, DType::kFloat32}; }
constexpr Out Fixed(DType d) { return {-1, d}; }

struct NodeTypes {
  const Node& node;
  size_t explicit_inputs = 0;          // the rest are values captured by If/Loop bodies
  std::vector<MaybeDType> in;          // per node input; nullopt when omitted or unknown
  std::vector<const Tensor*> in_const;  // the input's tensor when known at load
  std::vector<MaybeDType> out;
  bool check_dtypes = true;  // false: only value rules (Dropout) refuse
};

// Rules that depend on the opset, on constant values or on subgraphs; may set outputs.
using ExtraFn = Status (*)(NodeTypes&);

struct TypeRule {
  std::string_view op;
  std::vector<DTypeSet> inputs;  // accepted dtypes of input i; the last entry repeats
  std::vector<uint32_t> same;    // groups of inputs (bit i) that must share one dtype
  std::vector<Out> outputs;      // the last entry repeats
  ExtraFn extra = nullptr;
};

std::string Names(DTypeSet set) {
  std::string s;
  for (DType d : {DType::kFloat32, DType::kUint8, DType::kInt8, DType::kInt32, DType::kInt64, DType::kBool})
    if (set & DTypeBit(d)) s += (s.empty() ? "" : ", ") + std::string(DTypeName(d));
  return s;
}

Status Refuse(const NodeTypes& t, size_t input, DType got, DTypeSet supported) {
  return Unimplemented(t.node.Describe() + ": input " + std::to_string(input) + " has dtype " +
                       std::string(DTypeName(got)) + ", supported: " + Names(supported));
}

Status RequireInput(const NodeTypes& t, size_t input, DTypeSet supported) {
  if (t.check_dtypes && input < t.explicit_inputs && t.in[input] && !(supported & DTypeBit(*t.in[input])))
    return Refuse(t, input, *t.in[input], supported);
  return Status::Ok();
}

// ---- value-, opset- and subgraph-dependent rules ----

Status ClipRule(NodeTypes& t) {  // integer Clip from opset 12; before, the float kernel only
  return t.node.opset < 12 ? RequireInput(t, 0, kF) : Status::Ok();
}

Status PadRule(NodeTypes& t) {  // opset < 11: the value attribute is a float
  return t.node.opset < 11 ? RequireInput(t, 0, kF) : Status::Ok();
}

Status ResizeRule(NodeTypes& t) {  // opset 10: input 1 is scales; later it is roi (unused)
  return t.node.opset == 10 ? RequireInput(t, 1, kF) : Status::Ok();
}

Status CastRule(NodeTypes& t) {
  auto to = DTypeFromOnnx(static_cast<int32_t>(t.node.Int("to", 0)));
  if (!to.ok()) return to.status().WithContext(t.node.Describe());
  t.out[0] = *to;
  return Status::Ok();
}

Status ConstantRule(NodeTypes& t) {
  t.out[0] = t.node.constant.dtype();
  return Status::Ok();
}

Status ConstantOfShapeRule(NodeTypes& t) {
  auto it = t.node.attrs.find("value");
  t.out[0] = it == t.node.attrs.end() ? DType::kFloat32 : it->second.t.dtype();
  return Status::Ok();
}

Status QuantizeLinearRule(NodeTypes& t) {  // y's dtype is y_zero_point's, uint8 without one
  bool has_zp = t.in.size() > 2 && t.node.inputs[2] >= 0;
  t.out[0] = has_zp ? t.in[2] : MaybeDType(DType::kUint8);
  return Status::Ok();
}

// Training-mode Dropout drops elements at random, which no deterministic engine can
// reproduce, so training_mode must be known at load: absent, a constant false, or a constant
// true with a constant ratio 0 (nothing dropped). Applies with or without dtype checks.
Status DropoutRule(NodeTypes& t) {
  if (t.in.size() <= 2 || t.node.inputs[2] < 0) return Status::Ok();
  const Tensor* training = t.in_const[2];
  if (training == nullptr)
    return Unimplemented(t.node.Describe() + ": training_mode is given at run time; only a constant (false, or true "
                         "with a constant ratio 0) is supported, as training drops elements at random");
  if (training->dtype() != DType::kBool || training->num_elements() != 1)
    return InvalidArgument(t.node.Describe() + ": training_mode must be a bool scalar");
  if (training->bytes()[0] == 0) return Status::Ok();
  float ratio = 0.5f;  // the ONNX default
  if (t.in.size() > 1 && t.node.inputs[1] >= 0) {
    const Tensor* r = t.in_const[1];
    if (r == nullptr)
      return Unimplemented(t.node.Describe() + ": training_mode=true with a ratio given at run time; only a constant "
                           "ratio 0 is deterministic");
    if (r->dtype() != DType::kFloat32 || r->num_elements() != 1)
      return InvalidArgument(t.node.Describe() + ": ratio must be a float32 scalar");
    ratio = r->data<float>()[0];
  }
  if (ratio == 0.0f) return Status::Ok();
  return Unimplemented(t.node.Describe() + ": training_mode=true with ratio " + std::to_string(ratio) +
                       " drops elements at random; only ratio 0 is deterministic");
}

const Subgraph* GraphAttr(const Node& node, std::string_view name) {
  auto it = node.attrs.find(name);
  if (it == node.attrs.end() || it->second.kind != Attr::Kind::kGraph) return nullptr;
  return it->second.graph.get();
}

// Infers a body's values from its declared formal inputs and the dtypes of the values it
// captures; returns each output's dtype (nullopt when unknown).
Result<std::vector<MaybeDType>> BodyTypes(const NodeTypes& t, const Subgraph& g) {
  std::vector<MaybeDType> dtypes(g.num_values);
  std::vector<const Tensor*> constants(g.num_values, nullptr);
  for (const auto& [id, tensor] : g.initializers) {
    dtypes[id] = tensor.dtype();
    constants[id] = &tensor;
  }
  for (size_t i = 0; i < g.inputs.size(); ++i) dtypes[g.input_ids[i]] = g.inputs[i].dtype;
  std::vector<std::string> captured = ImplicitInputs(t.node);
  for (size_t k = 0; k < g.free_names.size(); ++k) {
    size_t index = std::find(captured.begin(), captured.end(), g.free_names[k]) - captured.begin();
    if (index >= captured.size()) return Internal(t.node.Describe() + ": captured value missing");
    dtypes[g.free_ids[k]] = t.in[t.explicit_inputs + index];
    constants[g.free_ids[k]] = t.in_const[t.explicit_inputs + index];
  }
  RETURN_IF_ERROR(InferTypes(g.nodes, dtypes, constants, t.check_dtypes));
  std::vector<MaybeDType> out;
  for (int id : g.output_ids) out.push_back(dtypes[id]);
  return out;
}

Status IfRule(NodeTypes& t) {
  const Subgraph* then_g = GraphAttr(t.node, "then_branch");
  const Subgraph* else_g = GraphAttr(t.node, "else_branch");
  if (then_g == nullptr || else_g == nullptr) return Internal(t.node.Describe() + ": branch missing after validation");
  ASSIGN_OR_RETURN(std::vector<MaybeDType> then_out, BodyTypes(t, *then_g));
  ASSIGN_OR_RETURN(std::vector<MaybeDType> else_out, BodyTypes(t, *else_g));
  for (size_t i = 0; i < t.out.size() && i < then_out.size() && i < else_out.size(); ++i)
    t.out[i] = then_out[i] == else_out[i] ? then_out[i] : std::nullopt;  // differing: known only at run time
  return Status::Ok();
}

Status LoopRule(NodeTypes& t) {
  const Subgraph* body = GraphAttr(t.node, "body");
  if (body == nullptr) return Internal(t.node.Describe() + ": body missing after validation");
  const size_t carried = t.explicit_inputs - 2;
  // The executor feeds the iteration number as int64 and cond as bool; carried values must
  // keep the dtype the body declares for them, iteration after iteration.
  auto formal = [&](size_t i) { return body->inputs[i].dtype; };
  if (!t.check_dtypes) return BodyTypes(t, *body).status();
  if (formal(0) != DType::kInt64 || formal(1) != DType::kBool)
    return InvalidArgument(t.node.Describe() + ": the body's first two inputs must be int64 and bool, got " +
                           std::string(DTypeName(formal(0))) + " and " + std::string(DTypeName(formal(1))));
  for (size_t i = 0; i < carried; ++i)
    if (t.in[2 + i] && *t.in[2 + i] != formal(2 + i))
      return InvalidArgument(t.node.Describe() + ": loop-carried input " + std::to_string(i) + " has dtype " +
                             std::string(DTypeName(*t.in[2 + i])) + ", the body declares " +
                             std::string(DTypeName(formal(2 + i))));
  ASSIGN_OR_RETURN(std::vector<MaybeDType> out, BodyTypes(t, *body));
  if (out[0] && *out[0] != DType::kBool)
    return InvalidArgument(t.node.Describe() + ": the body's cond output has dtype " + std::string(DTypeName(*out[0])) +
                           ", must be bool");
  for (size_t i = 0; i < carried; ++i) {
    if (out[1 + i] && *out[1 + i] != formal(2 + i))
      return InvalidArgument(t.node.Describe() + ": the body computes loop-carried value " + std::to_string(i) + " as " +
                             std::string(DTypeName(*out[1 + i])) + " but declares it " +
                             std::string(DTypeName(formal(2 + i))));
    t.out[i] = formal(2 + i);
  }
  for (size_t k = carried; k < t.out.size(); ++k) t.out[k] = out[1 + k];
  return Status::Ok();
}

// The table: one row per op in op_table.cc (a test checks none is missing).
const std::vector<TypeRule>& Rules() {
  static const std::vector<TypeRule> rules = {
      // Elementwise arithmetic (kernels_elementwise.cc).
      {"Add", {kArith}, {kAllInputs}, {Like(0)}},
      {"Sub", {kArith}, {kAllInputs}, {Like(0)}},
      {"Mul", {kArith}, {kAllInputs}, {Like(0)}},
      {"Div", {kArith}, {kAllInputs}, {Like(0)}},
      {"Relu", {kF}, {}, {Like(0)}},
      {"LeakyRelu", {kF}, {}, {Like(0)}},
      {"Sigmoid", {kF}, {}, {Like(0)}},
      {"Tanh", {kF}, {}, {Like(0)}},
      {"Softmax", {kF}, {}, {Like(0)}},
      {"LogSoftmax", {kF}, {}, {Like(0)}},
      {"Clip", {kArith}, {kAllInputs}, {Like(0)}, ClipRule},
      // Linear algebra, convolution, pooling, normalization (kernels_linear.cc, kernels_nn.cc).
      {"Gemm", {kF}, {}, {Fixed(DType::kFloat32)}},
      {"MatMul", {kF}, {}, {Fixed(DType::kFloat32)}},
      {"Conv", {kF}, {}, {Fixed(DType::kFloat32)}},
      {"ConvTranspose", {kF}, {}, {Fixed(DType::kFloat32)}},
      {"MaxPool", {kF | kQ}, {}, {Like(0)}},
      {"AveragePool", {kF}, {}, {Fixed(DType::kFloat32)}},
      {"GlobalAveragePool", {kF}, {}, {Fixed(DType::kFloat32)}},
      {"GlobalMaxPool", {kF}, {}, {Fixed(DType::kFloat32)}},
      {"BatchNormalization", {kF}, {}, {Fixed(DType::kFloat32)}},
      {"LayerNormalization", {kF}, {}, {Fixed(DType::kFloat32)}},
      {"InstanceNormalization", {kF}, {}, {Fixed(DType::kFloat32)}},
      {"Resize", {kF, kAll, kF, kI64}, {}, {Fixed(DType::kFloat32)}, ResizeRule},
      {"LSTM", {kF, kF, kF, kF, kI32, kF, kF, kF}, {}, {Fixed(DType::kFloat32)}},
      {"GRU", {kF, kF, kF, kF, kI32, kF}, {}, {Fixed(DType::kFloat32)}},
      // Shape and data movement (kernels_shape.cc): any dtype moves.
      {"Flatten", {kAll}, {}, {Like(0)}},
      {"Reshape", {kAll, kI64}, {}, {Like(0)}},
      {"Transpose", {kAll}, {}, {Like(0)}},
      {"Concat", {kAll}, {kAllInputs}, {Like(0)}},
      {"Squeeze", {kAll, kI64}, {}, {Like(0)}},
      {"Unsqueeze", {kAll, kI64}, {}, {Like(0)}},
      {"Shape", {kAll}, {}, {Fixed(DType::kInt64)}},
      {"Gather", {kAll, kIdx}, {}, {Like(0)}},
      {"Cast", {kAll}, {}, {Like(0)}, CastRule},
      {"Constant", {kAll}, {}, {Like(0)}, ConstantRule},
      {"Identity", {kAll}, {}, {Like(0)}},
      {"Dropout", {kAll, kF, kB}, {}, {Like(0), Fixed(DType::kBool)}, DropoutRule},
      // Math (kernels_math.cc).
      {"Exp", {kF}, {}, {Like(0)}},
      {"Log", {kF}, {}, {Like(0)}},
      {"Sqrt", {kF}, {}, {Like(0)}},
      {"Pow", {kNum, kNum}, {}, {Like(0)}},
      {"Abs", {kNum}, {}, {Like(0)}},
      {"Neg", {kNum}, {}, {Like(0)}},
      {"Reciprocal", {kF}, {}, {Like(0)}},
      {"Erf", {kF}, {}, {Like(0)}},
      {"Gelu", {kF}, {}, {Like(0)}},
      {"Elu", {kF}, {}, {Like(0)}},
      {"PRelu", {kF, kF}, {}, {Like(0)}},
      {"HardSigmoid", {kF}, {}, {Like(0)}},
      {"Max", {kArith}, {kAllInputs}, {Like(0)}},
      {"Min", {kArith}, {kAllInputs}, {Like(0)}},
      {"Equal", {kAll}, {kAllInputs}, {Fixed(DType::kBool)}},
      {"Less", {kArith}, {kAllInputs}, {Fixed(DType::kBool)}},
      {"Greater", {kArith}, {kAllInputs}, {Fixed(DType::kBool)}},
      {"Not", {kB}, {}, {Fixed(DType::kBool)}},
      {"And", {kB, kB}, {}, {Fixed(DType::kBool)}},
      {"Where", {kB, kAll, kAll}, {0b110}, {Like(1)}},
      // Reductions and friends (kernels_reduce.cc).
      {"ReduceMean", {kF, kIdx}, {}, {Like(0)}},
      {"ReduceSum", {kNum, kIdx}, {}, {Like(0)}},
      {"ReduceMax", {kNum | kB, kIdx}, {}, {Like(0)}},
      {"ReduceMin", {kNum | kB, kIdx}, {}, {Like(0)}},
      {"ReduceProd", {kNum, kIdx}, {}, {Like(0)}},
      {"ReduceL2", {kF, kIdx}, {}, {Like(0)}},
      {"ArgMax", {kNum}, {}, {Fixed(DType::kInt64)}},
      {"CumSum", {kNum, kIdx}, {}, {Like(0)}},
      {"TopK", {kNum, kIdx}, {}, {Like(0), Fixed(DType::kInt64)}},
      {"Einsum", {kF}, {}, {Fixed(DType::kFloat32)}},
      // Indexing (kernels_index.cc).
      {"Split", {kAll, kIdx}, {}, {Like(0)}},
      {"Slice", {kAll, kIdx}, {}, {Like(0)}},
      {"GatherElements", {kAll, kIdx}, {}, {Like(0)}},
      {"Expand", {kAll, kIdx}, {}, {Like(0)}},
      {"Tile", {kAll, kIdx}, {}, {Like(0)}},
      {"Pad", {kAll, kIdx, kAll, kIdx}, {0b101}, {Like(0)}, PadRule},
      {"Size", {kAll}, {}, {Fixed(DType::kInt64)}},
      {"ConstantOfShape", {kIdx}, {}, {Like(0)}, ConstantOfShapeRule},
      {"Range", {kNum}, {kAllInputs}, {Like(0)}},
      // Control flow (control_flow.cc).
      {"If", {kB}, {}, {Like(0)}, IfRule},
      {"Loop", {kI64, kB, kAll}, {}, {Like(0)}, LoopRule},
      // Integer path (kernels_int.cc).
      {"QuantizeLinear", {kF, kF, kQ}, {}, {Like(2)}, QuantizeLinearRule},
      {"DequantizeLinear", {kQ | kI32, kF, kQ | kI32}, {0b101}, {Fixed(DType::kFloat32)}},
      {"DynamicQuantizeLinear", {kF}, {}, {Fixed(DType::kUint8), Fixed(DType::kFloat32), Fixed(DType::kUint8)}},
      {"MatMulInteger", {kQ, kQ, kQ | kI32, kQ | kI32}, {}, {Fixed(DType::kInt32)}},
      {"QLinearMatMul", {kQ, kF, kQ, kQ, kF, kQ, kF, kQ}, {0b101, 0b101000}, {Like(7)}},
      {"ConvInteger", {kQ, kQ, kQ | kI32, kQ | kI32}, {}, {Fixed(DType::kInt32)}},
      {"QLinearConv", {kQ, kF, kQ, kQ, kF, kQ, kF, kQ, kI32}, {0b101, 0b101000}, {Like(7)}},
  };
  return rules;
}

const TypeRule* FindRule(std::string_view op_type) {
  for (const TypeRule& rule : Rules())
    if (rule.op == op_type) return &rule;
  return nullptr;
}

Status Apply(const TypeRule& rule, NodeTypes& t) {
  for (size_t i = 0; i < t.explicit_inputs; ++i)
    RETURN_IF_ERROR(RequireInput(t, i, i < rule.inputs.size() ? rule.inputs[i] : rule.inputs.back()));
  for (uint32_t group : t.check_dtypes ? rule.same : std::vector<uint32_t>{}) {
    MaybeDType first;
    size_t first_index = 0;
    for (size_t i = 0; i < t.explicit_inputs && i < 32; ++i) {
      if (!(group & (1u << i)) || !t.in[i]) continue;
      if (!first) {
        first = t.in[i];
        first_index = i;
      } else if (*t.in[i] != *first) {
        return InvalidArgument(t.node.Describe() + ": inputs " + std::to_string(first_index) + " and " +
                               std::to_string(i) + " must have one dtype, got " + std::string(DTypeName(*first)) +
                               " and " + std::string(DTypeName(*t.in[i])));
      }
    }
  }
  for (size_t i = 0; i < t.out.size(); ++i) {
    const Out& spec = i < rule.outputs.size() ? rule.outputs[i] : rule.outputs.back();
    if (spec.like < 0) t.out[i] = spec.fixed;
    else t.out[i] = static_cast<size_t>(spec.like) < t.explicit_inputs ? t.in[spec.like] : std::nullopt;
  }
  return rule.extra ? rule.extra(t) : Status::Ok();
}

}  // namespace

Status InferTypes(std::span<const Node> nodes, std::vector<MaybeDType>& dtypes, std::vector<const Tensor*>& constants,
                  bool check_dtypes) {
  for (const Node& node : nodes) {
    NodeTypes t{node, 0, {}, {}, {}, check_dtypes};
    for (int id : node.inputs) {
      t.in.push_back(id >= 0 ? dtypes[id] : std::nullopt);
      t.in_const.push_back(id >= 0 ? constants[id] : nullptr);
    }
    t.explicit_inputs = node.inputs.size() - ImplicitInputs(node).size();
    t.out.assign(node.outputs.size(), std::nullopt);
    if (const TypeRule* rule = FindRule(node.op_type)) RETURN_IF_ERROR(Apply(*rule, t));
    for (size_t i = 0; i < node.outputs.size(); ++i)
      if (node.outputs[i] >= 0) dtypes[node.outputs[i]] = t.out[i];
    if (node.op_type == "Constant" && !node.outputs.empty() && node.outputs[0] >= 0)
      constants[node.outputs[0]] = &node.constant;
  }
  return Status::Ok();
}

bool HasTypeRule(std::string_view op_type) { return FindRule(op_type) != nullptr; }

}  // namespace lucid::onnx::internal
