// Static quantizer (see quantize.h). Two passes: calibrate (run the float model with every
// needed activation exposed as an extra graph output, track min/max), then rewrite the
// graph node by node, keeping for each float value its quantized twin when one exists.
#include "onnx/quantize.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <exception>
#include <limits>
#include <map>
#include <set>

#include "onnx/model.h"

namespace lucid::onnx {
namespace {

using ::onnx::GraphProto;
using ::onnx::ModelProto;
using ::onnx::NodeProto;
using ::onnx::TensorProto;

struct Range {
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
};

struct QParams {
  float scale = 1.0f;
  uint8_t zero_point = 0;
};

// uint8 asymmetric parameters covering [min(lo, 0), max(hi, 0)].
QParams ActivationParams(const Range& r) {
  float lo = std::min(0.0f, r.lo), hi = std::max(0.0f, r.hi);
  QParams q;
  q.scale = (hi - lo) / 255.0f;
  if (!(q.scale > 0.0f) || !std::isfinite(q.scale)) q.scale = 1.0f;
  q.zero_point = static_cast<uint8_t>(std::clamp(std::nearbyint(-lo / q.scale), 0.0f, 255.0f));
  return q;
}

const TensorProto* FindInitializer(const GraphProto& g, const std::string& name) {
  for (const auto& t : g.initializer())
    if (t.name() == name) return &t;
  return nullptr;
}

Result<std::vector<float>> FloatData(const TensorProto& t) {
  if (t.data_type() != TensorProto::FLOAT) return InvalidArgument("initializer '" + t.name() + "' is not float32");
  uint64_t n = 1;
  for (int64_t d : t.dims()) n *= static_cast<uint64_t>(d);
  std::vector<float> v(n);
  if (t.has_raw_data()) {
    if (t.raw_data().size() != n * 4) return InvalidArgument("initializer '" + t.name() + "' has a wrong size");
    std::memcpy(v.data(), t.raw_data().data(), n * 4);
  } else {
    if (static_cast<uint64_t>(t.float_data_size()) != n)
      return InvalidArgument("initializer '" + t.name() + "' has a wrong size");
    std::copy(t.float_data().begin(), t.float_data().end(), v.begin());
  }
  return v;
}

template <typename T>
void AddInitializer(GraphProto& g, const std::string& name, int type, const std::vector<int64_t>& dims,
                    const std::vector<T>& values) {
  TensorProto* t = g.add_initializer();
  t->set_name(name);
  t->set_data_type(type);
  for (int64_t d : dims) t->add_dims(d);
  t->set_raw_data(std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(T)));
}

NodeProto* AddNode(GraphProto& g, const std::string& op, const std::vector<std::string>& in,
                   const std::vector<std::string>& out, const std::string& name) {
  NodeProto* n = g.add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const auto& s : in) n->add_input(s);
  for (const auto& s : out) n->add_output(s);
  return n;
}

int Consumers(const GraphProto& g, const std::string& value) {
  int count = 0;
  for (const auto& n : g.node())
    for (const auto& in : n.input()) count += in == value;
  for (const auto& o : g.output()) count += o.name() == value;
  return count;
}

const NodeProto* SoleConsumer(const GraphProto& g, const std::string& value) {
  if (Consumers(g, value) != 1) return nullptr;
  for (const auto& n : g.node())
    for (const auto& in : n.input())
      if (in == value) return &n;
  return nullptr;
}

int64_t IntAttr(const NodeProto& n, const std::string& name, int64_t fallback) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.i();
  return fallback;
}
float FloatAttr(const NodeProto& n, const std::string& name, float fallback) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.f();
  return fallback;
}

// Whether the rewrite turns this node into QLinearConv (constant weights, plain form).
bool Quantizable(const GraphProto& g, const NodeProto& n) {
  if (n.op_type() != "Conv" && n.op_type() != "Gemm" && n.op_type() != "MatMul") return false;
  if (n.input_size() < 2) return false;
  const TensorProto* w = FindInitializer(g, n.input(1));
  if (w == nullptr || w->data_type() != TensorProto::FLOAT) return false;
  if (n.op_type() == "MatMul") return w->dims_size() == 2;  // x [..., K] · W [K, N]
  if (n.input_size() > 2 && !n.input(2).empty()) {
    const TensorProto* b = FindInitializer(g, n.input(2));
    if (b == nullptr || b->data_type() != TensorProto::FLOAT || b->dims_size() != 1) return false;
  }
  if (n.op_type() == "Gemm")
    return w->dims_size() == 2 && IntAttr(n, "transA", 0) == 0 && FloatAttr(n, "alpha", 1.0f) == 1.0f &&
           FloatAttr(n, "beta", 1.0f) == 1.0f;
  return w->dims_size() == 4 || w->dims_size() == 3;
}

// A MatMul's bias: the sole consumer Add whose other input is a float [N] initializer.
const NodeProto* BiasAdd(const GraphProto& g, const NodeProto& matmul) {
  const NodeProto* add = SoleConsumer(g, matmul.output(0));
  if (add == nullptr || add->op_type() != "Add" || add->input_size() != 2) return nullptr;
  const std::string& other = add->input(0) == matmul.output(0) ? add->input(1) : add->input(0);
  const TensorProto* b = FindInitializer(g, other);
  const TensorProto* w = FindInitializer(g, matmul.input(1));
  if (b == nullptr || w == nullptr || b->data_type() != TensorProto::FLOAT || b->dims_size() != 1 ||
      b->dims(0) != w->dims(1))
    return nullptr;
  return add;
}

// The nodes folded into a quantizable node's QLinearConv: a MatMul's bias Add, then a Relu.
std::vector<const NodeProto*> FusedChain(const GraphProto& g, const NodeProto& n) {
  std::vector<const NodeProto*> chain;
  std::string out = n.output(0);
  if (n.op_type() == "MatMul") {
    if (const NodeProto* add = BiasAdd(g, n)) {
      chain.push_back(add);
      out = add->output(0);
    }
  }
  const NodeProto* relu = SoleConsumer(g, out);
  if (relu && relu->op_type() == "Relu") chain.push_back(relu);
  return chain;
}

// Ops that act on uint8 tensors unchanged and keep the input's scale and zero point (data
// movement and MaxPool commute with the monotonic, elementwise dequantization).
bool PassThrough(const std::string& op) {
  return op == "MaxPool" || op == "Flatten" || op == "Reshape" || op == "Transpose";
}

// Elementwise functions replaced by a 256-entry table on uint8 codes (spec §5).
bool TableOp(const NodeProto& n) {
  return (n.op_type() == "Sigmoid" || n.op_type() == "Tanh") && n.input_size() == 1 && n.output_size() == 1;
}

// T[q] = QuantizeLinear(f(DequantizeLinear(q))) for every code q, computed by running those
// three ops in Lucid itself, so the table holds exactly what the float path between
// Dequantize and Quantize gives (docs/formats/integer-semantics.md §5).
Result<std::vector<uint8_t>> LookupTable(const std::string& op, const QParams& in, const QParams& out) {
  ModelProto m;
  m.set_ir_version(8);
  m.add_opset_import()->set_version(13);
  GraphProto* g = m.mutable_graph();
  g->set_name("table");
  auto* input = g->add_input();
  input->set_name("q");
  input->mutable_type()->mutable_tensor_type()->set_elem_type(TensorProto::UINT8);
  input->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(256);
  auto* output = g->add_output();
  output->set_name("t");
  output->mutable_type()->mutable_tensor_type()->set_elem_type(TensorProto::UINT8);
  output->mutable_type()->mutable_tensor_type()->mutable_shape()->add_dim()->set_dim_value(256);
  AddInitializer<float>(*g, "s_in", TensorProto::FLOAT, {}, {in.scale});
  AddInitializer<uint8_t>(*g, "z_in", TensorProto::UINT8, {}, {in.zero_point});
  AddInitializer<float>(*g, "s_out", TensorProto::FLOAT, {}, {out.scale});
  AddInitializer<uint8_t>(*g, "z_out", TensorProto::UINT8, {}, {out.zero_point});
  AddNode(*g, "DequantizeLinear", {"q", "s_in", "z_in"}, {"x"}, "dq");
  AddNode(*g, op, {"x"}, {"fx"}, "f");
  AddNode(*g, "QuantizeLinear", {"fx", "s_out", "z_out"}, {"t"}, "q");
  std::string bytes;
  if (!m.SerializeToString(&bytes)) return Internal("quantize: cannot serialize the " + op + " table model");
  ASSIGN_OR_RETURN(auto model, Model::Load(ByteView(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size())));
  ASSIGN_OR_RETURN(Tensor codes, Tensor::Make(DType::kUint8, {256}));
  for (int q = 0; q < 256; ++q) codes.data<uint8_t>()[q] = static_cast<uint8_t>(q);
  ASSIGN_OR_RETURN(TensorMap result, model->Run({{"q", codes}}));
  const Tensor& t = result.at("t");
  return std::vector<uint8_t>(t.data<uint8_t>(), t.data<uint8_t>() + 256);
}

// Runs the float model on the calibration set; min/max per value named in `wanted`.
Result<std::map<std::string, Range>> Calibrate(const ModelProto& model, const std::set<std::string>& wanted,
                                               const std::vector<TensorMap>& calibration, int threads) {
  ModelProto probe = model;
  std::set<std::string> outputs;
  for (const auto& o : probe.graph().output()) outputs.insert(o.name());
  std::set<std::string> inputs;
  for (const auto& i : probe.graph().input()) inputs.insert(i.name());
  for (const auto& name : wanted) {
    if (outputs.count(name) || inputs.count(name)) continue;
    auto* vi = probe.mutable_graph()->add_output();
    vi->set_name(name);
    vi->mutable_type()->mutable_tensor_type()->set_elem_type(TensorProto::FLOAT);
    vi->mutable_type()->mutable_tensor_type()->mutable_shape();  // the checker wants one; never checked for outputs
  }
  std::string bytes;
  if (!probe.SerializeToString(&bytes)) return Internal("cannot serialize the calibration model");
  auto loaded = Model::Load(ByteView(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  if (!loaded.ok()) return loaded.status().WithContext("calibration model");
  std::map<std::string, Range> ranges;
  RunOptions options;
  options.threads = threads;
  for (size_t i = 0; i < calibration.size(); ++i) {
    auto result = (*loaded)->Run(calibration[i], options);
    if (!result.ok()) return result.status().WithContext("calibration input " + std::to_string(i));
    TensorMap values = std::move(result).value();
    for (const auto& [name, t] : calibration[i]) values.emplace(name, t);
    for (const auto& name : wanted) {
      auto it = values.find(name);
      if (it == values.end() || it->second.dtype() != DType::kFloat32) continue;
      Range& r = ranges[name];
      const float* p = it->second.data<float>();
      for (uint64_t k = 0; k < it->second.num_elements(); ++k) {
        if (!std::isfinite(p[k])) return InvalidArgument("calibration produced a non-finite value in '" + name + "'");
        r.lo = std::min(r.lo, p[k]);
        r.hi = std::max(r.hi, p[k]);
      }
    }
  }
  return ranges;
}

class Rewriter {
 public:
  Rewriter(const GraphProto& in, GraphProto& out, std::map<std::string, Range> ranges)
      : in_(in), out_(out), ranges_(std::move(ranges)) {}

  Status Run(std::vector<std::string>& quantized) {
    std::set<std::string> skip;  // Relu nodes fused into their producer
    for (int index = 0; index < in_.node_size(); ++index) {
      const NodeProto& node = in_.node(index);
      if (skip.count(node.name() + "#" + std::to_string(index))) continue;
      if (Quantizable(in_, node)) {
        std::string out_name = node.output(0);
        const NodeProto* bias_add = nullptr;
        for (const NodeProto* fused : FusedChain(in_, node)) {
          out_name = fused->output(0);
          if (fused->op_type() == "Add") bias_add = fused;
          for (int j = 0; j < in_.node_size(); ++j)
            if (&in_.node(j) == fused) skip.insert(fused->name() + "#" + std::to_string(j));
        }
        RETURN_IF_ERROR(EmitQLinearConv(node, out_name, index, bias_add));
        quantized.push_back(node.name().empty() ? node.op_type() + "#" + std::to_string(index) : node.name());
        continue;
      }
      if (TableOp(node) && quant_.count(node.input(0)) && ranges_.count(node.output(0))) {
        RETURN_IF_ERROR(EmitTable(node, index));
        quantized.push_back(node.name().empty() ? node.op_type() + "#" + std::to_string(index) : node.name());
        continue;
      }
      if (PassThrough(node.op_type()) && !float_available_.count(node.input(0)) && quant_.count(node.input(0))) {
        NodeProto* copy = out_.add_node();
        *copy = node;
        copy->set_input(0, QName(node.input(0)));
        copy->set_output(0, QName(node.output(0)));
        quant_[node.output(0)] = quant_[node.input(0)];
        continue;
      }
      for (const auto& in : node.input()) RETURN_IF_ERROR(NeedFloat(in));
      *out_.add_node() = node;
      for (const auto& o : node.output()) float_available_.insert(o);
    }
    for (const auto& o : in_.output()) RETURN_IF_ERROR(NeedFloat(o.name()));
    return Status::Ok();
  }

  void MarkFloat(const std::string& name) { float_available_.insert(name); }

 private:
  static std::string QName(const std::string& name) { return name + "_q"; }

  // Makes sure the float value exists in the output graph (dequantizing when needed).
  Status NeedFloat(const std::string& name) {
    if (name.empty() || float_available_.count(name) || FindInitializer(in_, name)) return Status::Ok();
    auto it = quant_.find(name);
    if (it == quant_.end()) return Status::Ok();  // graph input or produced later: nothing to do
    std::string s = ParamName(name, it->second);
    AddNode(out_, "DequantizeLinear", {QName(name), s + "_scale", s + "_zp"}, {name}, "dq_" + name);
    float_available_.insert(name);
    return Status::Ok();
  }

  // Scale/zero-point initializers for a value, created once.
  std::string ParamName(const std::string& value, const QParams& q) {
    std::string base = "qp_" + value;
    if (params_made_.insert(base).second) {
      AddInitializer<float>(out_, base + "_scale", TensorProto::FLOAT, {}, {q.scale});
      AddInitializer<uint8_t>(out_, base + "_zp", TensorProto::UINT8, {}, {q.zero_point});
    }
    return base;
  }

  Result<QParams> ParamsFor(const std::string& value) {
    auto it = ranges_.find(value);
    if (it == ranges_.end() || it->second.lo > it->second.hi)
      return FailedPrecondition("no calibration range for '" + value + "'");
    return ActivationParams(it->second);
  }

  // Quantized twin of a float value (QuantizeLinear when it is not already quantized).
  Result<std::string> NeedQuant(const std::string& name) {
    if (quant_.count(name)) return QName(name);
    ASSIGN_OR_RETURN(QParams q, ParamsFor(name));
    std::string s = ParamName(name, q);
    AddNode(out_, "QuantizeLinear", {name, s + "_scale", s + "_zp"}, {QName(name)}, "q_" + name);
    quant_[name] = q;
    return QName(name);
  }

  // Sigmoid/Tanh on a quantized value → y_q = Gather(T, Cast(x_q, int32)): standard ONNX,
  // with the 256-entry table T an initializer (spec §5).
  Status EmitTable(const NodeProto& node, int index) {
    const std::string tag = "n" + std::to_string(index);
    const std::string& x = node.input(0);
    const QParams xp = quant_[x];
    ASSIGN_OR_RETURN(QParams yp, ParamsFor(node.output(0)));
    ASSIGN_OR_RETURN(std::vector<uint8_t> table, LookupTable(node.op_type(), xp, yp));
    AddInitializer<uint8_t>(out_, tag + "_table", TensorProto::UINT8, {256}, table);
    NodeProto* cast = AddNode(out_, "Cast", {QName(x)}, {tag + "_index"}, tag + "_index");
    auto* to = cast->add_attribute();
    to->set_name("to");
    to->set_type(::onnx::AttributeProto::INT);
    to->set_i(TensorProto::INT32);
    NodeProto* gather = AddNode(out_, "Gather", {tag + "_table", tag + "_index"}, {QName(node.output(0))}, tag + "_lookup");
    auto* axis = gather->add_attribute();
    axis->set_name("axis");
    axis->set_type(::onnx::AttributeProto::INT);
    axis->set_i(0);
    ParamName(node.output(0), yp);
    quant_[node.output(0)] = yp;
    return Status::Ok();
  }

  // Conv → QLinearConv; Gemm and MatMul (+ bias Add) → 1×1 QLinearConv between Reshapes.
  Status EmitQLinearConv(const NodeProto& node, const std::string& out_name, int index, const NodeProto* bias_add) {
    const std::string tag = "n" + std::to_string(index);
    const TensorProto& w = *FindInitializer(in_, node.input(1));
    ASSIGN_OR_RETURN(std::vector<float> wf, FloatData(w));
    bool matmul = node.op_type() == "MatMul";
    bool gemm = node.op_type() == "Gemm" || matmul;
    std::vector<int64_t> wdims(w.dims().begin(), w.dims().end());
    if (gemm) {  // → [M, K, 1, 1]
      if (matmul || IntAttr(node, "transB", 0) == 0) {
        std::vector<float> t(wf.size());
        for (int64_t k = 0; k < wdims[0]; ++k)
          for (int64_t m = 0; m < wdims[1]; ++m) t[m * wdims[0] + k] = wf[k * wdims[1] + m];
        wf = std::move(t);
        std::swap(wdims[0], wdims[1]);
      }
      wdims = {wdims[0], wdims[1], 1, 1};
    }
    std::string x_float = node.input(0);
    ASSIGN_OR_RETURN(std::string xq, NeedQuant(x_float));
    const QParams xp = quant_[x_float];
    ASSIGN_OR_RETURN(QParams yp, ParamsFor(out_name));
    const float min_w_scale = std::ldexp(yp.scale / xp.scale, -30);
    int64_t maps = wdims[0];
    uint64_t per_map = wf.size() / static_cast<uint64_t>(maps);
    // Symmetric per-channel int8 in [−127, 127]; scale = max|w| / 127.
    std::vector<float> w_scale(maps);
    std::vector<int8_t> wq(wf.size());
    for (int64_t m = 0; m < maps; ++m) {
      float amax = 0.0f;
      for (uint64_t i = 0; i < per_map; ++i) amax = std::max(amax, std::fabs(wf[m * per_map + i]));
      // Floor the scale so the requantization multiplier s_x·s_w/s_y stays ≥ 2^-30 (spec §4);
      // channels below it (dead, denormal weights) quantize to zeros.
      w_scale[m] = std::max(amax / 127.0f, min_w_scale);
      for (uint64_t i = 0; i < per_map; ++i) {
        float q = std::nearbyint(wf[m * per_map + i] / w_scale[m]);
        wq[m * per_map + i] = static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f));
      }
    }
    std::vector<std::string> inputs;
    std::string x_in = xq;
    if (gemm) {
      AddInitializer<int64_t>(out_, tag + "_shape4", TensorProto::INT64, {4}, {-1, wdims[1], 1, 1});
      AddNode(out_, "Reshape", {xq, tag + "_shape4"}, {tag + "_x4"}, tag + "_reshape_in");
      x_in = tag + "_x4";
    }
    std::string xs = ParamName(x_float, xp), ys = ParamName(out_name, yp);
    AddInitializer<int8_t>(out_, tag + "_w", TensorProto::INT8, wdims, wq);
    AddInitializer<float>(out_, tag + "_w_scale", TensorProto::FLOAT, {maps}, w_scale);
    AddInitializer<int8_t>(out_, tag + "_w_zp", TensorProto::INT8, {maps}, std::vector<int8_t>(maps, 0));
    inputs = {x_in, xs + "_scale", xs + "_zp", tag + "_w", tag + "_w_scale", tag + "_w_zp", ys + "_scale", ys + "_zp"};
    std::string bias_name = node.input_size() > 2 ? node.input(2) : "";
    if (bias_add != nullptr) bias_name = bias_add->input(0) == node.output(0) ? bias_add->input(1) : bias_add->input(0);
    if (!bias_name.empty()) {
      ASSIGN_OR_RETURN(std::vector<float> bf, FloatData(*FindInitializer(in_, bias_name)));
      if (static_cast<int64_t>(bf.size()) != maps) return InvalidArgument("bias of " + node.name() + " has a wrong size");
      std::vector<int32_t> bq(maps);
      for (int64_t m = 0; m < maps; ++m) {
        double q = std::nearbyint(static_cast<double>(bf[m]) / (static_cast<double>(xp.scale) * w_scale[m]));
        bq[m] = static_cast<int32_t>(std::clamp(q, -16777216.0, 16777216.0));  // |bias| ≤ 2^24 (spec §2)
      }
      AddInitializer<int32_t>(out_, tag + "_b", TensorProto::INT32, {maps}, bq);
      inputs.push_back(tag + "_b");
    }
    std::string conv_out = gemm ? tag + "_y4" : QName(out_name);
    NodeProto* conv = AddNode(out_, "QLinearConv", inputs, {conv_out}, tag + "_qconv");
    if (!gemm) {
      for (const auto& a : node.attribute()) *conv->add_attribute() = a;
    }
    if (matmul) {
      // Back to x's leading dims: Concat(Shape(x)[:-1], [N]) (MatMul inputs may have any rank ≥ 2).
      AddNode(out_, "Shape", {xq}, {tag + "_xshape"}, tag + "_shape");
      AddInitializer<int64_t>(out_, tag + "_start", TensorProto::INT64, {1}, {0});
      AddInitializer<int64_t>(out_, tag + "_end", TensorProto::INT64, {1}, {-1});
      AddNode(out_, "Slice", {tag + "_xshape", tag + "_start", tag + "_end"}, {tag + "_lead"}, tag + "_lead");
      AddInitializer<int64_t>(out_, tag + "_n", TensorProto::INT64, {1}, {maps});
      NodeProto* concat = AddNode(out_, "Concat", {tag + "_lead", tag + "_n"}, {tag + "_yshape"}, tag + "_yshape");
      auto* axis = concat->add_attribute();
      axis->set_name("axis");
      axis->set_type(::onnx::AttributeProto::INT);
      axis->set_i(0);
      AddNode(out_, "Reshape", {conv_out, tag + "_yshape"}, {QName(out_name)}, tag + "_reshape_out");
    } else if (gemm) {
      AddInitializer<int64_t>(out_, tag + "_shape2", TensorProto::INT64, {2}, {-1, maps});
      AddNode(out_, "Reshape", {conv_out, tag + "_shape2"}, {QName(out_name)}, tag + "_reshape_out");
    }
    quant_[out_name] = yp;
    return Status::Ok();
  }

  const GraphProto& in_;
  GraphProto& out_;
  std::map<std::string, Range> ranges_;
  std::map<std::string, QParams> quant_;
  std::set<std::string> float_available_;
  std::set<std::string> params_made_;
};

}  // namespace

Result<QuantizeResult> QuantizeStatic(ByteView float_model, const std::vector<TensorMap>& calibration,
                                      const QuantizeOptions& options) {
  if (calibration.empty()) return InvalidArgument("quantize: the calibration set is empty");
  // The float model must load and run in Lucid first: it is the reference being quantized.
  ASSIGN_OR_RETURN(auto reference, Model::Load(float_model));
  for (const auto& info : reference->inputs())
    if (info.dtype != DType::kFloat32) return Unimplemented("quantize: input '" + info.name + "' is not float32");
  if (reference->opset() < 10) return Unimplemented("quantize: QLinearConv needs opset ≥ 10");
  ModelProto model;
  if (!model.ParseFromArray(float_model.data(), static_cast<int>(float_model.size())))
    return InvalidArgument("quantize: model is not a valid ONNX protobuf");
  const GraphProto& graph = model.graph();

  std::set<std::string> wanted;
  for (int i = 0; i < graph.node_size(); ++i) {
    const NodeProto& n = graph.node(i);
    if (!Quantizable(graph, n)) continue;
    wanted.insert(n.input(0));
    wanted.insert(n.output(0));
    for (const NodeProto* fused : FusedChain(graph, n)) wanted.insert(fused->output(0));
  }
  // Table ops: their output range sets the table's output parameters.
  for (const NodeProto& n : graph.node())
    if (TableOp(n)) wanted.insert(n.output(0));
  if (wanted.empty()) return Unimplemented("quantize: the model has no Conv, Gemm or MatMul with constant weights");
  ASSIGN_OR_RETURN(auto ranges, Calibrate(model, wanted, calibration, options.threads));

  ModelProto out = model;
  GraphProto* g = out.mutable_graph();
  g->clear_node();
  g->clear_value_info();
  QuantizeResult result;
  Rewriter rewriter(graph, *g, std::move(ranges));
  for (const auto& in : graph.input()) rewriter.MarkFloat(in.name());
  try {
    RETURN_IF_ERROR(rewriter.Run(result.quantized));
  } catch (const std::exception& e) {
    return Internal(std::string("quantize: ") + e.what());
  }
  // Drop float weights that no node reads any more.
  std::set<std::string> used;
  for (const auto& n : g->node())
    for (const auto& in : n.input()) used.insert(in);
  auto* inits = g->mutable_initializer();
  for (int i = inits->size() - 1; i >= 0; --i)
    if (!used.count(inits->Get(i).name())) inits->DeleteSubrange(i, 1);
  out.set_producer_name("lucid-quantize");
  out.set_producer_version(std::string(kQuantizationId));
  std::string bytes;
  if (!out.SerializeToString(&bytes)) return Internal("quantize: cannot serialize the quantized model");
  result.model.assign(bytes.begin(), bytes.end());
  // The result must load in Lucid, or it is not a result.
  auto check = Model::Load(result.model);
  if (!check.ok()) return check.status().WithContext("quantize: the quantized model does not load");
  auto ran = (*check)->Run(calibration.front());
  if (!ran.ok()) return ran.status().WithContext("quantize: the quantized model does not run");
  return result;
}

}  // namespace lucid::onnx
