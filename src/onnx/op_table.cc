#include <algorithm>
#include <thread>

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
    {"MaxPool",             1, 1,       1, 1,        "auto_pad,ceil_mode,dilations,kernel_shape,pads,storage_order,strides", ValidatePool, RunMaxPool},
    {"AveragePool",         1, 1,       1, 1,        "auto_pad,ceil_mode,count_include_pad,dilations,kernel_shape,pads,strides", ValidatePool, RunAveragePool},
    {"GlobalAveragePool",   1, 1,       1, 1,        "",                                          nullptr,                    RunGlobalAveragePool},
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
};

}  // namespace

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
  static constexpr const char* kNames[] = {"int", "float", "ints", "floats", "string", "tensor"};
  return InvalidArgument(node.Describe() + ": attribute '" + std::string(attr) + "' must be of type " +
                         kNames[static_cast<int>(kind)]);
}

void ParallelFor(int64_t count, int threads, const std::function<void(int64_t, int64_t)>& fn) {
  if (count <= 0) return;
  int64_t workers = std::clamp<int64_t>(threads, 1, 64);
  workers = std::min(workers, count);
  if (workers == 1) {
    fn(0, count);
    return;
  }
  std::vector<std::thread> pool;
  int64_t chunk = (count + workers - 1) / workers;
  for (int64_t begin = chunk; begin < count; begin += chunk)
    pool.emplace_back(fn, begin, std::min(count, begin + chunk));
  fn(0, std::min(count, chunk));
  for (auto& t : pool) t.join();
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
