// Small quantized ONNX models built in C++ for the zkml tests and the zkml fuzz target:
//   x float [batch, K0] -> QuantizeLinear -> layers -> DequantizeLinear -> "out" float
// Each layer is a QLinearMatMul with a constant B [K, O] (no bias) or a 1x1 QLinearConv
// (between Reshapes to [N, K, 1, 1] and back, optional int32 bias); weights int8 (zero
// point 0) or uint8 (nonzero zero point), one scale per tensor or per output column.
// Weight codes are pseudo-random from a seed; scales are chosen so outputs spread over the
// code range rather than saturate. The batch dim is symbolic: any N runs.
#pragma once

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "tensor/tensor.h"

namespace lucid::zkml::testing {

struct LayerSpec {
  int64_t out = 0;
  bool conv = false;          // 1x1 QLinearConv between Reshapes; else QLinearMatMul
  bool bias = false;          // conv only
  bool uint8_weights = false; // uint8 B with zero point 131; else int8 with zero point 0
  bool per_column_scale = true;
};

struct ModelSpec {
  int64_t in = 8;
  bool int8_activations = false;  // int8 codes (zero point -3) vs uint8 (zero point 7)
  std::vector<LayerSpec> layers;
  uint64_t seed = 1;
  // Added to one weight code (layer 0, first entry) after generation: a model that differs
  // from the seed's by one code.
  int weight_nudge = 0;
};

namespace detail {

inline void AddInit(::onnx::GraphProto* g, const std::string& name, int type, std::vector<int64_t> dims,
                    const std::vector<double>& v) {
  auto* t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  for (double x : v) {
    switch (type) {
      case ::onnx::TensorProto::FLOAT: t->add_float_data(static_cast<float>(x)); break;
      case ::onnx::TensorProto::INT64: t->add_int64_data(static_cast<int64_t>(x)); break;
      default: t->add_int32_data(static_cast<int32_t>(x)); break;
    }
  }
}

inline ::onnx::NodeProto* AddNode(::onnx::GraphProto* g, const std::string& op, const std::vector<std::string>& in,
                                  const std::string& out) {
  auto* n = g->add_node();
  n->set_op_type(op);
  n->set_name(out + "_node");
  for (const auto& s : in) n->add_input(s);
  n->add_output(out);
  return n;
}

inline void AddFloatValue(::onnx::ValueInfoProto* v, const std::string& name, int64_t width) {
  v->set_name(name);
  auto* tt = v->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(::onnx::TensorProto::FLOAT);
  tt->mutable_shape()->add_dim()->set_dim_param("batch");
  tt->mutable_shape()->add_dim()->set_dim_value(width);
}

}  // namespace detail

inline ::onnx::ModelProto BuildModelProto(const ModelSpec& spec) {
  using ::onnx::TensorProto;
  using detail::AddInit;
  using detail::AddNode;
  std::mt19937_64 rng(spec.seed);
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  g->set_name("zkml_test");
  detail::AddFloatValue(g->add_input(), "x", spec.in);
  const int act = spec.int8_activations ? TensorProto::INT8 : TensorProto::UINT8;
  const double act_zero = spec.int8_activations ? -3 : 7;
  double s_in = 1.0 / 240;
  AddInit(g, "x_scale", TensorProto::FLOAT, {}, {s_in});
  AddInit(g, "x_zero", act, {}, {act_zero});
  AddNode(g, "QuantizeLinear", {"x", "x_scale", "x_zero"}, "xq");
  std::string cur = "xq";
  int64_t k = spec.in;
  AddInit(g, "shape4", TensorProto::INT64, {4}, {0, -1, 1, 1});
  AddInit(g, "shape2", TensorProto::INT64, {2}, {0, -1});
  for (size_t l = 0; l < spec.layers.size(); ++l) {
    const LayerSpec& ls = spec.layers[l];
    std::string p = "l" + std::to_string(l) + "_";
    const int64_t o = ls.out;
    const int wtype = ls.uint8_weights ? TensorProto::UINT8 : TensorProto::INT8;
    const double wzero = ls.uint8_weights ? 131 : 0;
    std::vector<double> w(static_cast<size_t>(k * o));  // conv: [O, K]; matmul: [K, O]
    for (double& v : w) {
      int64_t code = static_cast<int64_t>(rng() % 201) - 100;  // |w - zero| <= 100
      v = wzero + static_cast<double>(code);
    }
    if (l == 0 && spec.weight_nudge != 0) w[0] += spec.weight_nudge;
    const size_t scales = ls.per_column_scale ? static_cast<size_t>(o) : 1;
    std::vector<double> sw(scales), zw(scales, wzero);
    for (size_t c = 0; c < scales; ++c) sw[c] = 0.004 * (1.0 + 0.37 * static_cast<double>(c % 5));
    // acc ~ sqrt(K) * 60 * 60 at most-typical inputs; aim at ~40 output codes of spread.
    double s_out = s_in * 0.004 * std::sqrt(static_cast<double>(k)) * 60 * 60 / 40;
    AddInit(g, p + "w", wtype, ls.conv ? std::vector<int64_t>{o, k, 1, 1} : std::vector<int64_t>{k, o}, w);
    AddInit(g, p + "w_scale", TensorProto::FLOAT, ls.per_column_scale ? std::vector<int64_t>{o} : std::vector<int64_t>{}, sw);
    AddInit(g, p + "w_zero", wtype, ls.per_column_scale ? std::vector<int64_t>{o} : std::vector<int64_t>{}, zw);
    AddInit(g, p + "y_scale", TensorProto::FLOAT, {}, {s_out});
    AddInit(g, p + "y_zero", act, {}, {spec.int8_activations ? -5.0 : 120.0});
    std::string in_scale = l == 0 ? "x_scale" : "l" + std::to_string(l - 1) + "_y_scale";
    std::string in_zero = l == 0 ? "x_zero" : "l" + std::to_string(l - 1) + "_y_zero";
    if (ls.conv) {
      AddNode(g, "Reshape", {cur, "shape4"}, p + "in4");
      std::vector<std::string> ins = {p + "in4", in_scale, in_zero, p + "w", p + "w_scale", p + "w_zero",
                                      p + "y_scale", p + "y_zero"};
      if (ls.bias) {
        std::vector<double> b(static_cast<size_t>(o));
        for (double& v : b) v = static_cast<double>(static_cast<int64_t>(rng() % 4001) - 2000);
        AddInit(g, p + "bias", TensorProto::INT32, {o}, b);
        ins.push_back(p + "bias");
      }
      AddNode(g, "QLinearConv", ins, p + "y4");
      AddNode(g, "Reshape", {p + "y4", "shape2"}, p + "y");
    } else {
      AddNode(g, "QLinearMatMul",
              {cur, in_scale, in_zero, p + "w", p + "w_scale", p + "w_zero", p + "y_scale", p + "y_zero"}, p + "y");
    }
    cur = p + "y";
    k = o;
    s_in = s_out;
  }
  std::string last = "l" + std::to_string(spec.layers.size() - 1) + "_";
  AddNode(g, "DequantizeLinear", {cur, last + "y_scale", last + "y_zero"}, "out");
  detail::AddFloatValue(g->add_output(), "out", k);
  return m;
}

inline Bytes Serialize(const ::onnx::ModelProto& m) {
  std::string s;
  m.SerializeToString(&s);
  return Bytes(s.begin(), s.end());
}

inline Bytes BuildModel(const ModelSpec& spec) { return Serialize(BuildModelProto(spec)); }

// Deterministic pseudo-random values in [0, 1).
inline Tensor RandomImages(int64_t rows, int64_t width, uint64_t seed) {
  std::mt19937_64 rng(seed);
  Tensor t = *Tensor::Make(DType::kFloat32, {rows, width});
  for (int64_t i = 0; i < rows * width; ++i)
    t.data<float>()[i] = static_cast<float>(static_cast<double>(rng() >> 11) / static_cast<double>(uint64_t{1} << 53));
  return t;
}

}  // namespace lucid::zkml::testing
