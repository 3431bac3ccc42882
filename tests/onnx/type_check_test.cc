// The load-time dtype table (src/onnx/type_check.cc) against the kernels: for each op and
// each of Lucid's six dtypes in the varied input(s), the table accepts exactly when the
// kernel runs, and when both do, the dtypes the table infers for the outputs are the ones
// the kernel produces. Inputs hold ones, which every op accepts as values, so a kernel
// error here can only be a dtype refusal.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "onnx/op_internal.h"
#include "onnx/type_check.h"

namespace lucid::onnx::internal {
namespace {

constexpr DType kDTypes[] = {DType::kFloat32, DType::kUint8, DType::kInt8, DType::kInt32, DType::kInt64, DType::kBool};

Tensor Ones(DType d, std::vector<int64_t> shape) {
  Tensor t = *Tensor::Make(d, std::move(shape));
  for (uint64_t i = 0; i < t.num_elements(); ++i) {
    switch (d) {
      case DType::kFloat32: t.data<float>()[i] = 1.0f; break;
      case DType::kInt32: t.data<int32_t>()[i] = 1; break;
      case DType::kInt64: t.data<int64_t>()[i] = 1; break;
      default: t.data<uint8_t>()[i] = 1; break;
    }
  }
  return t;
}
Tensor I64(std::vector<int64_t> shape, std::vector<int64_t> v) {
  Tensor t = *Tensor::Make(DType::kInt64, std::move(shape));
  if (!v.empty()) std::memcpy(t.data<int64_t>(), v.data(), v.size() * 8);
  return t;
}

struct In {
  std::vector<int64_t> shape;  // varied input: ones of the dtype under test
  std::optional<Tensor> fixed;  // else this tensor
  bool omitted = false;
};
In V(std::vector<int64_t> shape) { return {std::move(shape), std::nullopt}; }
In Fx(Tensor t) { return {{}, std::move(t)}; }
In None() { return {{}, std::nullopt, true}; }

Attr AInt(int64_t v) { Attr a; a.kind = Attr::Kind::kInt; a.i = v; return a; }
Attr AInts(std::vector<int64_t> v) { Attr a; a.kind = Attr::Kind::kInts; a.ints = std::move(v); return a; }
Attr AStr(std::string v) { Attr a; a.kind = Attr::Kind::kString; a.s = std::move(v); return a; }

struct Case {
  std::string op;
  int opset;
  std::vector<In> inputs;
  std::map<std::string, Attr, std::less<>> attrs = {};
  int outputs = 1;
};

struct Outcome {
  Status valid, table, kernel;
  std::vector<MaybeDType> inferred;
  std::vector<DType> produced;
};

Outcome Check(const Case& c, DType d) {
  Node node;
  node.name = "n";
  node.op_type = c.op;
  node.opset = c.opset;
  node.def = FindOp(c.op);
  node.attrs = c.attrs;
  std::vector<Tensor> tensors;
  tensors.reserve(c.inputs.size());
  for (const In& in : c.inputs) tensors.push_back(in.omitted ? Tensor() : in.fixed ? *in.fixed : Ones(d, in.shape));
  std::vector<MaybeDType> dtypes;
  std::vector<const Tensor*> args, constants;
  for (size_t i = 0; i < c.inputs.size(); ++i) {
    bool omitted = c.inputs[i].omitted;
    node.inputs.push_back(omitted ? -1 : static_cast<int>(i));
    dtypes.push_back(omitted ? MaybeDType() : MaybeDType(tensors[i].dtype()));
    args.push_back(omitted ? nullptr : &tensors[i]);
    constants.push_back(nullptr);  // as graph inputs: only dtypes are known at load
  }
  for (int o = 0; o < c.outputs; ++o) {
    node.outputs.push_back(static_cast<int>(dtypes.size()));
    dtypes.emplace_back();
    constants.push_back(nullptr);
  }
  Outcome out;
  if (node.def == nullptr) {
    out.valid = Internal("unknown op " + c.op);
    return out;
  }
  if (node.def->validate) {
    out.valid = node.def->validate(node);
    if (!out.valid.ok()) return out;
  }
  out.table = InferTypes(std::span<const Node>(&node, 1), dtypes, constants);
  for (int o : node.outputs) out.inferred.push_back(dtypes[o]);
  std::vector<Tensor> results(c.outputs);
  out.kernel = node.def->run(node, args, results, KernelContext{});
  for (const Tensor& t : results) out.produced.push_back(t.dtype());
  return out;
}

std::vector<Case> Cases() {
  std::vector<int64_t> m = {2, 3}, img = {1, 1, 2, 2};
  Tensor f1 = Ones(DType::kFloat32, {1});
  std::vector<Case> cases;
  for (const char* op : {"Relu", "LeakyRelu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Exp", "Log", "Sqrt", "Abs",
                         "Neg", "Reciprocal", "Erf", "Elu", "HardSigmoid", "Not", "Identity", "Flatten", "Transpose",
                         "Shape", "Size", "ArgMax", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                         "ReduceL2", "Clip", "Dropout"})
    cases.push_back({op, 13, {V(m)}});
  cases.push_back({"ReduceMax", 20, {V(m)}});
  cases.push_back({"Clip", 11, {V(m)}});
  cases.push_back({"Clip", 13, {V(m), V({}), V({})}});
  cases.push_back({"Gelu", 20, {V(m)}});
  cases.push_back({"Cast", 13, {V(m)}, {{"to", AInt(1)}}});
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool"}) cases.push_back({op, 13, {V(img)}});
  for (const char* op : {"MaxPool", "AveragePool"}) cases.push_back({op, 13, {V(img)}, {{"kernel_shape", AInts({1, 1})}}});
  cases.push_back({"InstanceNormalization", 13, {V(img), Fx(f1), Fx(f1)}});
  cases.push_back({"LayerNormalization", 17, {V(m), Fx(Ones(DType::kFloat32, {3}))}});
  cases.push_back({"BatchNormalization", 13, {V(img), V({1}), V({1}), V({1}), V({1})}});
  cases.push_back({"Squeeze", 13, {V({1, 3}), Fx(I64({1}, {0}))}});
  cases.push_back({"Unsqueeze", 13, {V(m), Fx(I64({1}, {0}))}});
  cases.push_back({"Reshape", 13, {V(m), Fx(I64({2}, {3, 2}))}});
  cases.push_back({"Split", 13, {V({2, 4}), Fx(I64({2}, {2, 2}))}, {{"axis", AInt(1)}}, 2});
  cases.push_back({"Slice", 13, {V(m), Fx(I64({1}, {0})), Fx(I64({1}, {1}))}});
  cases.push_back({"Tile", 13, {V(m), Fx(I64({2}, {1, 2}))}});
  cases.push_back({"Tile", 13, {Fx(Ones(DType::kFloat32, m)), V({2})}});  // repeats' dtype
  cases.push_back({"Expand", 13, {V({1, 3}), Fx(I64({2}, {2, 3}))}});
  cases.push_back({"Pad", 13, {V(m), Fx(I64({4}, {0, 1, 0, 0}))}});
  cases.push_back({"Pad", 13, {V(m), Fx(I64({4}, {0, 1, 0, 0})), V({})}});  // constant_value
  cases.push_back({"Pad", 10, {V(m)}, {{"pads", AInts({0, 1, 0, 0})}}});
  cases.push_back({"Gather", 13, {V(m), Fx(I64({1}, {1}))}});
  cases.push_back({"Gather", 13, {Fx(Ones(DType::kFloat32, m)), V({1})}});  // indices' dtype
  cases.push_back({"GatherElements", 13, {V(m), Fx(I64({2, 1}, {0, 1}))}});
  cases.push_back({"CumSum", 13, {V(m), Fx(I64({}, {0}))}});
  cases.push_back({"CumSum", 13, {Fx(Ones(DType::kFloat32, m)), V({})}});  // axis' dtype
  cases.push_back({"TopK", 13, {V(m), Fx(I64({1}, {1}))}, {}, 2});
  cases.push_back({"Einsum", 13, {V(m)}, {{"equation", AStr("ij->ji")}}});
  cases.push_back({"ConstantOfShape", 13, {V({1})}});
  for (const char* op : {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Equal", "Less", "Greater", "And", "PRelu",
                         "Concat"})
    cases.push_back({op, 13, {V(m), V(m)}, op == std::string("Concat") ? decltype(Case::attrs){{"axis", AInt(0)}}
                                                                        : decltype(Case::attrs){}});
  cases.push_back({"Max", 13, {V(m), V(m), V(m)}});
  cases.push_back({"Pow", 13, {V(m), Fx(Ones(DType::kFloat32, {1}))}});
  cases.push_back({"Pow", 13, {Fx(Ones(DType::kFloat32, m)), V({1})}});
  cases.push_back({"Add", 13, {V(m), Fx(Ones(DType::kFloat32, m))}});  // mixed dtypes
  cases.push_back({"Equal", 13, {V(m), Fx(Ones(DType::kInt64, m))}});
  cases.push_back({"Where", 13, {Fx(Ones(DType::kBool, m)), V(m), V(m)}});
  cases.push_back({"Where", 13, {V(m), Fx(Ones(DType::kFloat32, m)), Fx(Ones(DType::kFloat32, m))}});
  cases.push_back({"Range", 13, {V({}), V({}), V({})}});
  cases.push_back({"MatMul", 13, {V(m), V({3, 2})}});
  cases.push_back({"Gemm", 13, {V(m), V({3, 2})}});
  cases.push_back({"Conv", 13, {V(img), V({1, 1, 1, 1})}});
  cases.push_back({"ConvTranspose", 13, {V(img), V({1, 1, 1, 1})}});
  cases.push_back({"Resize", 13, {V(img), None(), Fx(Ones(DType::kFloat32, {4}))}});
  cases.push_back({"QuantizeLinear", 13, {V(m), Fx(Ones(DType::kFloat32, {})), Fx(Ones(DType::kUint8, {}))}});
  cases.push_back({"QuantizeLinear", 13, {Fx(Ones(DType::kFloat32, m)), Fx(Ones(DType::kFloat32, {})), V({})}});
  cases.push_back({"DequantizeLinear", 13, {V(m), Fx(Ones(DType::kFloat32, {}))}});
  cases.push_back({"DynamicQuantizeLinear", 13, {V(m)}, {}, 3});
  cases.push_back({"MatMulInteger", 13, {V(m), Fx(Ones(DType::kUint8, {3, 2}))}});
  return cases;
}

TEST(TypeTableTest, AcceptsExactlyWhatTheKernelRunsAndInfersItsOutputDtypes) {
  int accepted = 0, refused = 0;
  for (const Case& c : Cases()) {
    for (DType d : kDTypes) {
      SCOPED_TRACE(c.op + " opset " + std::to_string(c.opset) + " " + std::to_string(c.inputs.size()) + " inputs, dtype " +
                   std::string(DTypeName(d)));
      Outcome r = Check(c, d);
      ASSERT_TRUE(r.valid.ok()) << r.valid.ToString();  // every case is a well-formed node
      EXPECT_EQ(r.table.ok(), r.kernel.ok()) << "table: " << r.table.ToString() << "\nkernel: " << r.kernel.ToString();
      if (r.table.ok() && r.kernel.ok()) {
        ++accepted;
        ASSERT_EQ(r.inferred.size(), r.produced.size());
        for (size_t o = 0; o < r.produced.size(); ++o) {
          ASSERT_TRUE(r.inferred[o].has_value()) << "output " << o << " not inferred";
          EXPECT_EQ(*r.inferred[o], r.produced[o]) << "output " << o;
        }
      } else if (!r.table.ok()) {
        ++refused;
        EXPECT_NE(r.table.message().find("node 'n' (" + c.op + ")"), std::string::npos) << r.table.ToString();
      }
    }
  }
  // Both answers occur many times: the comparison above is not vacuous.
  EXPECT_GT(accepted, 150);
  EXPECT_GT(refused, 150);
  std::printf("%d accepted, %d refused by both table and kernel\n", accepted, refused);
}

// Sanity: one op, accepted as float32 and refused as int32 by both table and kernel.
TEST(TypeTableTest, DisagreementIsDetected) {
  Case relu{"Relu", 13, {V({2})}};
  Outcome f = Check(relu, DType::kFloat32), i = Check(relu, DType::kInt32);
  EXPECT_TRUE(f.table.ok() && f.kernel.ok());
  EXPECT_FALSE(i.table.ok());
  EXPECT_FALSE(i.kernel.ok());
  EXPECT_EQ(i.table.code(), Code::kUnimplemented);
}

}  // namespace
}  // namespace lucid::onnx::internal
