#include <algorithm>
#include <utility>

#include "base/parallel.h"
#include "onnx/op_internal.h"

namespace lucid::onnx::internal {
namespace {

// The one table: op type → arity, accepted attributes, validator, kernel.
// Adding an op is one line here plus its kernel.
constexpr OpDef kOps[] = {
    // op                   in min,max  out min,max  attributes                                   validate                    kernel
    {"Add",                 2, 2,       1, 1,        "",                                          nullptr,                    RunAdd},
    {"Sub",                 2, 2,       1, 1,        "",                                          nullptr,                    RunSub},
    {"Mul",                 2, 2,       1, 1,        "",                                          nullptr,                    RunMul},
    {"Div",                 2, 2,       1, 1,        "",                                          nullptr,                    RunDiv},
    {"Relu",                1, 1,       1, 1,        "",                                          nullptr,                    RunRelu},
    {"LeakyRelu",           1, 1,       1, 1,        "alpha",                                     ValidateLeakyRelu,          RunLeakyRelu},
    {"Sigmoid",             1, 1,       1, 1,        "",                                          nullptr,                    RunSigmoid},
    {"Tanh",                1, 1,       1, 1,        "",                                          nullptr,                    RunTanh},
    {"Softmax",             1, 1,       1, 1,        "axis",                                      ValidateSoftmax,            RunSoftmax},
    {"LogSoftmax",          1, 1,       1, 1,        "axis",                                      ValidateSoftmax,            RunLogSoftmax},
    {"Clip",                1, 3,       1, 1,        "min,max",                                   ValidateClip,               RunClip},
    {"Gemm",                2, 3,       1, 1,        "alpha,beta,transA,transB",                  ValidateGemm,               RunGemm},
    {"MatMul",              2, 2,       1, 1,        "",                                          nullptr,                    RunMatMul},
    {"Conv",                2, 3,       1, 1,        "auto_pad,dilations,group,kernel_shape,pads,strides", ValidateConv,      RunConv},
    {"MaxPool",             1, 1,       1, 1,        "auto_pad,ceil_mode,dilations,kernel_shape,pads,storage_order,strides", ValidatePool, RunMaxPoolAnyType},
    {"AveragePool",         1, 1,       1, 1,        "auto_pad,ceil_mode,count_include_pad,dilations,kernel_shape,pads,strides", ValidatePool, RunAveragePool},
    {"GlobalAveragePool",   1, 1,       1, 1,        "",                                          nullptr,                    RunGlobalAveragePool},
    {"GlobalMaxPool",       1, 1,       1, 1,        "",                                          nullptr,                    RunGlobalMaxPool},
    {"BatchNormalization",  5, 5,       1, 1,        "epsilon,momentum,spatial,training_mode",    ValidateBatchNormalization, RunBatchNormalization},
    {"Flatten",             1, 1,       1, 1,        "axis",                                      ValidateAxisOps,            RunFlatten},
    {"Reshape",             2, 2,       1, 1,        "allowzero",                                 ValidateReshape,            RunReshape},
    {"Transpose",           1, 1,       1, 1,        "perm",                                      ValidateTranspose,          RunTranspose},
    {"Concat",              1, 64,      1, 1,        "axis",                                      ValidateAxisOps,            RunConcat},
    {"Squeeze",             1, 2,       1, 1,        "axes",                                      ValidateAxisOps,            RunSqueeze},
    {"Unsqueeze",           1, 2,       1, 1,        "axes",                                      ValidateAxisOps,            RunUnsqueeze},
    {"Shape",               1, 1,       1, 1,        "start,end",                                 ValidateShape,              RunShape},
    {"Gather",              2, 2,       1, 1,        "axis",                                      ValidateAxisOps,            RunGather},
    {"Cast",                1, 1,       1, 1,        "to,saturate",                               ValidateCast,               RunCast},
    {"Constant",            0, 0,       1, 1,        "value,value_float,value_floats,value_int,value_ints", ValidateConstant, RunConstant},
    {"Identity",            1, 1,       1, 1,        "",                                          nullptr,                    RunIdentity},
    {"Dropout",             1, 3,       1, 2,        "ratio,seed",                                ValidateDropout,            RunDropout},
    // Float op coverage part 1 (kernels_math.cc, kernels_reduce.cc, kernels_index.cc).
    {"Exp",                 1, 1,       1, 1,        "",                                          nullptr,                    RunExp},
    {"Log",                 1, 1,       1, 1,        "",                                          nullptr,                    RunLog},
    {"Sqrt",                1, 1,       1, 1,        "",                                          nullptr,                    RunSqrt},
    {"Pow",                 2, 2,       1, 1,        "",                                          nullptr,                    RunPow},
    {"Abs",                 1, 1,       1, 1,        "",                                          nullptr,                    RunAbs},
    {"Neg",                 1, 1,       1, 1,        "",                                          nullptr,                    RunNeg},
    {"Reciprocal",          1, 1,       1, 1,        "",                                          nullptr,                    RunReciprocal},
    {"Erf",                 1, 1,       1, 1,        "",                                          nullptr,                    RunErf},
    {"Gelu",                1, 1,       1, 1,        "approximate",                               ValidateMathOps,            RunGelu},
    {"Elu",                 1, 1,       1, 1,        "alpha",                                     ValidateMathOps,            RunElu},
    {"PRelu",               2, 2,       1, 1,        "",                                          nullptr,                    RunPRelu},
    {"HardSigmoid",         1, 1,       1, 1,        "alpha,beta",                                ValidateMathOps,            RunHardSigmoid},
    {"Max",                 1, 64,      1, 1,        "",                                          nullptr,                    RunMax},
    {"Min",                 1, 64,      1, 1,        "",                                          nullptr,                    RunMin},
    {"Equal",               2, 2,       1, 1,        "",                                          nullptr,                    RunEqual},
    {"Less",                2, 2,       1, 1,        "",                                          nullptr,                    RunLess},
    {"Greater",             2, 2,       1, 1,        "",                                          nullptr,                    RunGreater},
    {"Not",                 1, 1,       1, 1,        "",                                          nullptr,                    RunNot},
    {"And",                 2, 2,       1, 1,        "",                                          nullptr,                    RunAnd},
    {"Where",               3, 3,       1, 1,        "",                                          nullptr,                    RunWhere},
    {"ReduceMean",          1, 2,       1, 1,        "axes,keepdims,noop_with_empty_axes",        ValidateReduce,             RunReduce},
    {"ReduceSum",           1, 2,       1, 1,        "axes,keepdims,noop_with_empty_axes",        ValidateReduce,             RunReduce},
    {"ReduceMax",           1, 2,       1, 1,        "axes,keepdims,noop_with_empty_axes",        ValidateReduce,             RunReduce},
    {"ReduceMin",           1, 2,       1, 1,        "axes,keepdims,noop_with_empty_axes",        ValidateReduce,             RunReduce},
    {"ReduceProd",          1, 2,       1, 1,        "axes,keepdims,noop_with_empty_axes",        ValidateReduce,             RunReduce},
    {"ReduceL2",            1, 2,       1, 1,        "axes,keepdims,noop_with_empty_axes",        ValidateReduce,             RunReduce},
    {"ArgMax",              1, 1,       1, 1,        "axis,keepdims,select_last_index",           ValidateArgMax,             RunArgMax},
    {"CumSum",              2, 2,       1, 1,        "exclusive,reverse",                         ValidateCumSum,             RunCumSum},
    {"TopK",                1, 2,       2, 2,        "axis,k,largest,sorted",                     ValidateTopK,               RunTopK},
    {"Einsum",              1, 8,       1, 1,        "equation",                                  ValidateEinsum,             RunEinsum},
    {"Split",               1, 2,       1, 64,       "axis,num_outputs,split",                    ValidateSplit,              RunSplit},
    {"Slice",               1, 5,       1, 1,        "axes,ends,starts",                          ValidateSlice,              RunSlice},
    {"GatherElements",      2, 2,       1, 1,        "axis",                                      ValidateGatherElements,     RunGatherElements},
    {"Expand",              2, 2,       1, 1,        "",                                          nullptr,                    RunExpand},
    {"Tile",                2, 2,       1, 1,        "",                                          nullptr,                    RunTile},
    {"Pad",                 1, 4,       1, 1,        "mode,pads,value",                           ValidatePad,                RunPad},
    {"Size",                1, 1,       1, 1,        "",                                          nullptr,                    RunSize},
    {"ConstantOfShape",     1, 1,       1, 1,        "value",                                     ValidateConstantOfShape,    RunConstantOfShape},
    {"Range",               3, 3,       1, 1,        "",                                          nullptr,                    RunRange},
    {"ConvTranspose",       2, 3,       1, 1,        "auto_pad,dilations,group,kernel_shape,output_padding,output_shape,pads,strides", ValidateConvTranspose, RunConvTranspose},
    {"LayerNormalization",  2, 3,       1, 3,        "axis,epsilon,stash_type",                   ValidateLayerNormalization, RunLayerNormalization},
    {"InstanceNormalization", 3, 3,     1, 1,        "epsilon",                                   ValidateInstanceNormalization, RunInstanceNormalization},
    {"Resize",              1, 4,       1, 1,        "antialias,axes,coordinate_transformation_mode,cubic_coeff_a,exclude_outside,extrapolation_value,keep_aspect_ratio_policy,mode,nearest_mode", ValidateResize, RunResize},
    {"LSTM",                3, 8,       0, 3,        "activation_alpha,activation_beta,activations,clip,direction,hidden_size,input_forget,layout", ValidateLSTM, RunLSTM},
    {"GRU",                 3, 6,       0, 2,        "activation_alpha,activation_beta,activations,clip,direction,hidden_size,layout,linear_before_reset", ValidateGRU, RunGRU},
    {"If",                  1, 1,       1, 64,       "else_branch,then_branch",                   ValidateIf,                 RunIf},
    {"Loop",                0, 66,      0, 128,      "body",                                      ValidateLoop,               RunLoop},
    // Integer path (kernels_int.cc, docs/formats/integer-semantics.md).
    {"QuantizeLinear",      2, 3,       1, 1,        "axis,saturate,block_size",                  ValidateQuantizeLinear,     RunQuantizeLinear},
    {"DequantizeLinear",    2, 3,       1, 1,        "axis,block_size",                           ValidateQuantizeLinear,     RunDequantizeLinear},
    {"DynamicQuantizeLinear", 1, 1,     3, 3,        "",                                          nullptr,                    RunDynamicQuantizeLinear},
    {"MatMulInteger",       2, 4,       1, 1,        "",                                          nullptr,                    RunMatMulInteger},
    {"QLinearMatMul",       8, 8,       1, 1,        "",                                          nullptr,                    RunQLinearMatMul},
    {"ConvInteger",         2, 4,       1, 1,        "auto_pad,dilations,group,kernel_shape,pads,strides", ValidateQLinearConv, RunConvInteger},
    {"QLinearConv",         8, 9,       1, 1,        "auto_pad,dilations,group,kernel_shape,pads,strides", ValidateQLinearConv, RunQLinearConv},
};

}  // namespace

PrepareFn FindPrepare(std::string_view op_type) {
  // Ops whose kernels use constant inputs prepared at load (Node::prepared).
  static constexpr std::pair<std::string_view, PrepareFn> kPrepares[] = {
      {"Gemm", PrepareGemm},
      {"MatMul", PrepareMatMul},
      {"QLinearConv", PrepareQLinearConv},
      {"ConvInteger", PrepareConvInteger},
      {"QLinearMatMul", PrepareQLinearMatMul},
      {"MatMulInteger", PrepareMatMulInteger},
  };
  for (const auto& [op, prepare] : kPrepares)
    if (op == op_type) return prepare;
  return nullptr;
}

const OpDef* FindOp(std::string_view op_type) {
  for (const OpDef& op : kOps)
    if (op.op_type == op_type) return &op;
  return nullptr;
}

std::vector<std::string_view> SupportedOps() {
  std::vector<std::string_view> out;
  for (const OpDef& op : kOps) out.push_back(op.op_type);
  return out;
}

int64_t Node::Int(std::string_view attr, int64_t fallback) const {
  auto it = attrs.find(attr);
  return it == attrs.end() ? fallback : it->second.i;
}
float Node::Float(std::string_view attr, float fallback) const {
  auto it = attrs.find(attr);
  return it == attrs.end() ? fallback : it->second.f;
}
std::vector<int64_t> Node::Ints(std::string_view attr) const {
  auto it = attrs.find(attr);
  return it == attrs.end() ? std::vector<int64_t>{} : it->second.ints;
}
std::string Node::Str(std::string_view attr, std::string_view fallback) const {
  auto it = attrs.find(attr);
  return it == attrs.end() ? std::string(fallback) : it->second.s;
}
std::string Node::Describe() const { return "node '" + name + "' (" + op_type + ")"; }

Status ExpectKind(const Node& node, std::string_view attr, Attr::Kind kind) {
  auto it = node.attrs.find(attr);
  if (it == node.attrs.end() || it->second.kind == kind) return Status::Ok();
  static constexpr const char* kNames[] = {"int", "float", "ints", "floats", "string", "tensor", "strings", "graph"};
  return InvalidArgument(node.Describe() + ": attribute '" + std::string(attr) + "' must be of type " +
                         kNames[static_cast<int>(kind)]);
}

Status ExecuteNodes(std::span<const Node> nodes, std::vector<const Tensor*>& values, std::vector<Tensor>& owned,
                    std::span<const int> keep, const KernelContext& ctx) {
  // Remaining uses of each value; kept values get one extra use that never goes away.
  std::vector<int> uses(values.size(), 0);
  for (const Node& node : nodes)
    for (int id : node.inputs)
      if (id >= 0) ++uses[id];
  for (int id : keep)
    if (id >= 0) ++uses[id];
  std::vector<const Tensor*> args;
  std::vector<Tensor*> donated;
  for (const Node& node : nodes) {
    args.clear();
    donated.assign(node.inputs.size(), nullptr);
    for (size_t i = 0; i < node.inputs.size(); ++i) {
      int id = node.inputs[i];
      args.push_back(id >= 0 ? values[id] : nullptr);
      // Donate an owned value read once more, by this input only.
      if (id >= 0 && uses[id] == 1 && values[id] == &owned[id]) donated[i] = &owned[id];
    }
    KernelContext node_ctx = ctx;
    node_ctx.donated = donated;
    std::vector<Tensor> results(node.outputs.size());
    RETURN_IF_ERROR(node.def->run(node, args, results, node_ctx));
    for (int id : node.inputs)
      if (id >= 0 && --uses[id] == 0 && values[id] == &owned[id]) {
        owned[id] = Tensor();  // last use: release the memory now
        values[id] = nullptr;
      }
    for (size_t i = 0; i < node.outputs.size(); ++i) {
      int id = node.outputs[i];
      if (id < 0) continue;
      owned[id] = std::move(results[i]);
      values[id] = &owned[id];
    }
  }
  return Status::Ok();
}

Result<std::vector<int64_t>> BroadcastShapes(const std::vector<int64_t>& a, const std::vector<int64_t>& b) {
  size_t rank = std::max(a.size(), b.size());
  std::vector<int64_t> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
    int64_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
    if (da != db && da != 1 && db != 1)
      return InvalidArgument("shapes " + ShapeString(a) + " and " + ShapeString(b) + " do not broadcast");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Result<int64_t> NormalizeAxis(int64_t axis, int64_t rank, const Node& node) {
  if (axis < -rank || axis >= rank)
    return InvalidArgument(node.Describe() + ": axis " + std::to_string(axis) + " is out of range for rank " +
                           std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

uint64_t Product(std::span<const int64_t> dims, size_t begin, size_t end) {
  uint64_t p = 1;
  for (size_t i = begin; i < end && i < dims.size(); ++i) p *= static_cast<uint64_t>(dims[i]);
  return p;
}

}  // namespace lucid::onnx::internal
