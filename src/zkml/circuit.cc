#include "zkml/circuit.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "codec/codec.h"
#include "crypto/hash.h"

namespace lucid::zkml {
namespace {

using ::onnx::GraphProto;
using ::onnx::ModelProto;
using ::onnx::NodeProto;
using ::onnx::TensorProto;

std::string Describe(const NodeProto& n) {
  return n.op_type() + " node '" + (n.name().empty() ? n.output(0) : n.name()) + "'";
}

const TensorProto* FindInitializer(const GraphProto& g, const std::string& name) {
  for (const auto& t : g.initializer())
    if (t.name() == name) return &t;
  return nullptr;
}

// Integer or float values of an initializer, whatever its storage (raw or typed fields).
Result<std::vector<double>> Values(const GraphProto& g, const NodeProto& n, int input) {
  if (input >= n.input_size() || n.input(input).empty())
    return InvalidArgument("zkml: " + Describe(n) + " lacks input " + std::to_string(input));
  const TensorProto* t = FindInitializer(g, n.input(input));
  if (t == nullptr)
    return Unimplemented("zkml: " + Describe(n) + ": input '" + n.input(input) +
                         "' must be a constant (initializer) for the circuit");
  uint64_t count = 1;
  for (int64_t d : t->dims()) {
    if (d < 0 || d > (int64_t{1} << 28)) return InvalidArgument("zkml: initializer '" + t->name() + "' has a bad dim");
    count *= static_cast<uint64_t>(d);
    if (count > (uint64_t{1} << 28)) return InvalidArgument("zkml: initializer '" + t->name() + "' is too large");
  }
  std::vector<double> out;
  const std::string& raw = t->raw_data();
  auto from_raw = [&](size_t width, auto convert) -> Status {
    if (raw.size() != count * width)
      return InvalidArgument("zkml: initializer '" + t->name() + "' has " + std::to_string(raw.size()) + " bytes");
    for (uint64_t i = 0; i < count; ++i) out.push_back(convert(raw.data() + i * width));
    return Status::Ok();
  };
  bool has_raw = t->has_raw_data();
  switch (t->data_type()) {
    case TensorProto::FLOAT:
      if (has_raw) {
        RETURN_IF_ERROR(from_raw(4, [](const char* p) { float f; std::memcpy(&f, p, 4); return double{f}; }));
      } else {
        for (float f : t->float_data()) out.push_back(f);
      }
      break;
    case TensorProto::UINT8:
      if (has_raw) {
        RETURN_IF_ERROR(from_raw(1, [](const char* p) { return static_cast<double>(static_cast<uint8_t>(*p)); }));
      } else {
        for (int32_t v : t->int32_data()) out.push_back(static_cast<uint8_t>(v));
      }
      break;
    case TensorProto::INT8:
      if (has_raw) {
        RETURN_IF_ERROR(from_raw(1, [](const char* p) { return static_cast<double>(static_cast<int8_t>(*p)); }));
      } else {
        for (int32_t v : t->int32_data()) out.push_back(static_cast<int8_t>(v));
      }
      break;
    case TensorProto::INT32:
      if (has_raw) {
        RETURN_IF_ERROR(from_raw(4, [](const char* p) { int32_t v; std::memcpy(&v, p, 4); return double(v); }));
      } else {
        for (int32_t v : t->int32_data()) out.push_back(v);
      }
      break;
    case TensorProto::INT64:
      if (has_raw) {
        RETURN_IF_ERROR(from_raw(8, [](const char* p) { int64_t v; std::memcpy(&v, p, 8); return double(v); }));
      } else {
        for (int64_t v : t->int64_data()) out.push_back(static_cast<double>(v));
      }
      break;
    default:
      return Unimplemented("zkml: initializer '" + t->name() + "' has an unsupported data type");
  }
  if (out.size() != count) return InvalidArgument("zkml: initializer '" + t->name() + "' has the wrong element count");
  return out;
}

std::vector<int64_t> Dims(const GraphProto& g, const std::string& name) {
  const TensorProto* t = FindInitializer(g, name);
  if (t == nullptr) return {};
  return {t->dims().begin(), t->dims().end()};
}

int ElemType(const GraphProto& g, const std::string& name) {
  const TensorProto* t = FindInitializer(g, name);
  return t == nullptr ? 0 : t->data_type();
}

int64_t AttrInt(const NodeProto& n, const std::string& name, int64_t def) {
  for (const auto& a : n.attribute())
    if (a.name() == name) return a.i();
  return def;
}

bool AttrInts(const NodeProto& n, const std::string& name, std::vector<int64_t>& out) {
  for (const auto& a : n.attribute())
    if (a.name() == name) {
      out.assign(a.ints().begin(), a.ints().end());
      return true;
    }
  return false;
}

// integer-semantics.md §4, written again from the text (the executor has its own copy; the
// tests compare the two on every layer).
Status FixedMultiplier(const std::string& where, float s_in, float s_w, float s_out, int64_t& m, int& shift) {
  double real = static_cast<double>(s_in) * static_cast<double>(s_w) / static_cast<double>(s_out);
  if (!std::isfinite(real) || real <= 0) return InvalidArgument("zkml: " + where + ": requantization scale is not positive");
  int e = 0;
  double mant = std::frexp(real, &e);
  m = std::llround(std::ldexp(mant, 31));
  if (m == (int64_t{1} << 31)) {
    m >>= 1;
    ++e;
  }
  shift = 31 - e;
  if (shift < 1 || shift > 62) return InvalidArgument("zkml: " + where + ": requantization shift out of [1, 62]");
  return Status::Ok();
}

int64_t FloorShift(__int128 t, int s) {  // floor(t / 2^s)
  __int128 d = static_cast<__int128>(1) << s;
  __int128 q = t / d;
  if (t % d != 0 && t < 0) --q;
  return static_cast<int64_t>(q);
}

Status DtypeRange(const GraphProto& g, const NodeProto& n, int zero_input, int64_t& zero, int64_t& lo, int64_t& hi,
                  DType& dtype) {
  int type = ElemType(g, n.input(zero_input));
  ASSIGN_OR_RETURN(std::vector<double> z, Values(g, n, zero_input));
  if (z.size() != 1) return Unimplemented("zkml: " + Describe(n) + ": per-axis activation zero points");
  zero = static_cast<int64_t>(z[0]);
  if (type == TensorProto::UINT8) {
    lo = 0, hi = 255, dtype = DType::kUint8;
  } else if (type == TensorProto::INT8) {
    lo = -128, hi = 127, dtype = DType::kInt8;
  } else {
    return Unimplemented("zkml: " + Describe(n) + ": activations must be uint8 or int8");
  }
  return Status::Ok();
}

// One layer from QLinearConv or QLinearMatMul (constant B). `shape` is the logical input
// shape (batch 1), `map` the physical map of the input (pixel rows x channels).
Result<FcLayer> CompileLayer(const GraphProto& g, const NodeProto& n, const std::vector<int64_t>& shape,
                             const Circuit::Map& map, DType& out_dtype) {
  FcLayer layer;
  layer.node = n.name().empty() ? n.output(0) : n.name();
  bool conv = n.op_type() == "QLinearConv";
  int w_input = 3, w_scale = 4, w_zero = 5, y_scale = 6, y_zero = 7;
  std::vector<int64_t> wdims = Dims(g, n.input(w_input));
  if (FindInitializer(g, n.input(w_input)) == nullptr)
    return Unimplemented("zkml: " + Describe(n) + ": the weight input must be a constant");
  int64_t O = 0, K = 0;
  int64_t map_size = map.c * map.h * map.w;
  auto flatten_form = [&] {  // the whole map is one input row: a kernel covering it
    layer.in_c = map.c, layer.in_h = map.h, layer.in_w = map.w;
    layer.kh = map.h, layer.kw = map.w;
    layer.out_h = 1, layer.out_w = 1;
  };
  if (conv) {
    std::vector<int64_t> v;
    if (wdims.size() != 4) return Unimplemented("zkml: " + Describe(n) + ": only 2-D convolutions");
    if (AttrInt(n, "group", 1) != 1) return Unimplemented("zkml: " + Describe(n) + ": grouped convolution");
    for (const auto& a : n.attribute())
      if (a.name() == "auto_pad" && a.s() != "NOTSET") return Unimplemented("zkml: " + Describe(n) + ": auto_pad");
    if (AttrInts(n, "dilations", v) && std::any_of(v.begin(), v.end(), [](int64_t x) { return x != 1; }))
      return Unimplemented("zkml: " + Describe(n) + ": dilations other than 1");
    if (shape.size() != 4 || shape[1] != wdims[1])
      return InvalidArgument("zkml: " + Describe(n) + ": the input is not [N, C, H, W] with the weight's C");
    std::vector<int64_t> strides = {1, 1}, pads = {0, 0, 0, 0};
    if (AttrInts(n, "strides", v)) strides = v;
    if (AttrInts(n, "pads", v)) pads = v;
    if (strides.size() != 2 || pads.size() != 4) return Unimplemented("zkml: " + Describe(n) + ": strides/pads rank");
    for (int64_t s : strides)
      if (s < 1 || s > 256) return Unimplemented("zkml: " + Describe(n) + ": stride out of [1, 256]");
    O = wdims[0], K = wdims[1] * wdims[2] * wdims[3];
    if (shape[1] == map.c && shape[2] == map.h && shape[3] == map.w) {
      layer.in_c = map.c, layer.in_h = map.h, layer.in_w = map.w;
      layer.kh = wdims[2], layer.kw = wdims[3];
      layer.stride_h = strides[0], layer.stride_w = strides[1];
      layer.pad_t = pads[0], layer.pad_l = pads[1];
      if (layer.kh < 1 || layer.kw < 1 || layer.kh > 256 || layer.kw > 256)
        return Unimplemented("zkml: " + Describe(n) + ": kernel size out of [1, 256]");
      for (size_t i = 0; i < 4; ++i)
        if (pads[i] < 0 || pads[i] >= (i % 2 == 0 ? layer.kh : layer.kw))
          return Unimplemented("zkml: " + Describe(n) + ": pads must be in [0, kernel)");
      int64_t eh = map.h + pads[0] + pads[2] - layer.kh, ew = map.w + pads[1] + pads[3] - layer.kw;
      if (eh < 0 || ew < 0) return InvalidArgument("zkml: " + Describe(n) + ": kernel larger than the padded input");
      layer.out_h = eh / layer.stride_h + 1, layer.out_w = ew / layer.stride_w + 1;
    } else if (shape[2] == 1 && shape[3] == 1 && wdims[2] == 1 && wdims[3] == 1 && shape[1] == map_size &&
               std::all_of(pads.begin(), pads.end(), [](int64_t x) { return x == 0; })) {
      flatten_form();
    } else {
      return Unimplemented("zkml: " + Describe(n) + ": its input is a reshaped map the circuit cannot wire "
                           "(only the map itself or its flattening to [N, C*H*W, 1, 1])");
    }
  } else {
    if (wdims.size() != 2) return Unimplemented("zkml: " + Describe(n) + ": B must be a constant 2-D matrix");
    K = wdims[0], O = wdims[1];
    if (shape.size() != 2 || shape[1] != K || K != map_size)
      return InvalidArgument("zkml: " + Describe(n) + ": the input is not [N, K] with B's K");
    flatten_form();
  }
  if (K < 1 || O < 1 || K > (1 << 15) || O > (1 << 20) || layer.in_c * layer.kh * layer.kw != K ||
      layer.out_h * layer.out_w > (int64_t{1} << 20) || layer.out_h * layer.out_w * K > (int64_t{1} << 28))
    return InvalidArgument("zkml: " + Describe(n) + ": layer size out of range");
  layer.in_features = K;
  layer.out_features = O;
  int64_t lo_in = 0, hi_in = 0;
  DType in_dtype;
  RETURN_IF_ERROR(DtypeRange(g, n, 2, layer.in_zero, lo_in, hi_in, in_dtype));
  RETURN_IF_ERROR(DtypeRange(g, n, y_zero, layer.out_zero, layer.lo, layer.hi, out_dtype));
  ASSIGN_OR_RETURN(std::vector<double> s_in, Values(g, n, 1));
  ASSIGN_OR_RETURN(std::vector<double> s_w, Values(g, n, w_scale));
  ASSIGN_OR_RETURN(std::vector<double> z_w, Values(g, n, w_zero));
  ASSIGN_OR_RETURN(std::vector<double> s_y, Values(g, n, y_scale));
  ASSIGN_OR_RETURN(std::vector<double> w, Values(g, n, w_input));
  if (s_in.size() != 1 || s_y.size() != 1) return Unimplemented("zkml: " + Describe(n) + ": per-axis activation scales");
  if ((s_w.size() != 1 && s_w.size() != static_cast<size_t>(O)) || z_w.size() != s_w.size())
    return InvalidArgument("zkml: " + Describe(n) + ": weight scale/zero point count");
  int w_type = ElemType(g, n.input(w_input));
  if (w_type != TensorProto::INT8 && w_type != TensorProto::UINT8)
    return Unimplemented("zkml: " + Describe(n) + ": weights must be int8 or uint8");
  std::vector<double> bias(static_cast<size_t>(O), 0.0);
  if (conv && n.input_size() > 8 && !n.input(8).empty()) {
    ASSIGN_OR_RETURN(bias, Values(g, n, 8));
    if (bias.size() != static_cast<size_t>(O)) return InvalidArgument("zkml: " + Describe(n) + ": bias size");
  }
  layer.weights.resize(static_cast<size_t>(O * K));
  layer.bias.resize(static_cast<size_t>(O));
  layer.multiplier.resize(static_cast<size_t>(O));
  layer.shift.resize(static_cast<size_t>(O));
  int64_t in_span = std::max(layer.in_zero - lo_in, hi_in - layer.in_zero);  // max |a - z|
  layer.q_min = INT64_MAX, layer.q_max = INT64_MIN;
  for (int64_t o = 0; o < O; ++o) {
    size_t c = s_w.size() == 1 ? 0 : static_cast<size_t>(o);
    int64_t zw = static_cast<int64_t>(z_w[c]);
    int64_t abs_sum = 0;
    for (int64_t k = 0; k < K; ++k) {
      size_t src = conv ? static_cast<size_t>(o * K + k) : static_cast<size_t>(k * O + o);
      int64_t v = static_cast<int64_t>(w[src]) - zw;
      layer.weights[static_cast<size_t>(o * K + k)] = v;
      abs_sum += v < 0 ? -v : v;
    }
    layer.bias[static_cast<size_t>(o)] = static_cast<int64_t>(bias[static_cast<size_t>(o)]);
    RETURN_IF_ERROR(FixedMultiplier(Describe(n) + " channel " + std::to_string(o), static_cast<float>(s_in[0]),
                                    static_cast<float>(s_w[c]), static_cast<float>(s_y[0]),
                                    layer.multiplier[static_cast<size_t>(o)], layer.shift[static_cast<size_t>(o)]));
    int64_t bias_abs = std::abs(layer.bias[static_cast<size_t>(o)]);
    __int128 acc_max = static_cast<__int128>(abs_sum) * in_span + bias_abs;
    int s = layer.shift[static_cast<size_t>(o)];
    __int128 m = layer.multiplier[static_cast<size_t>(o)];
    __int128 half = static_cast<__int128>(1) << (s - 1);
    int64_t q_hi = FloorShift(acc_max * m + half, s), q_lo = FloorShift(-acc_max * m + half, s);
    layer.q_max = std::max(layer.q_max, q_hi);
    layer.q_min = std::min(layer.q_min, q_lo);
    // The requantization identity must hold over the integers, not just modulo p:
    // |acc M| + 2^(s-1) + |q| 2^s + r (< 2^62) < 2^63 < p.
    __int128 total = acc_max * m + half + (static_cast<__int128>(std::max(-q_lo, q_hi)) << s) +
                     (static_cast<__int128>(1) << 62);
    if (total >= (static_cast<__int128>(1) << 63) || acc_max >= (static_cast<__int128>(1) << 31))
      return OutOfRange("zkml: " + Describe(n) + " channel " + std::to_string(o) +
                        ": accumulator bound too large for the circuit");
  }
  if (layer.q_max - layer.q_min + 1 > kMaxClampEntries)
    return OutOfRange("zkml: " + Describe(n) + ": the clamp table would have " +
                      std::to_string(layer.q_max - layer.q_min + 1) + " entries (at most " +
                      std::to_string(kMaxClampEntries) + ")");
  return layer;
}

// A standalone model from a subset of the graph's nodes: `inputs` become graph inputs of the
// given element types, `outputs` graph outputs; initializers the nodes use are copied.
// A new value gets the given dims; dim 0 (the batch) stays symbolic.
struct NewValue {
  std::string name;
  int type = 0;
  std::vector<int64_t> dims;
};

Result<Bytes> SubModel(const ModelProto& model, const std::vector<const NodeProto*>& nodes,
                       const std::vector<NewValue>& inputs, const std::vector<NewValue>& outputs) {
  ModelProto sub;
  sub.set_ir_version(model.ir_version());
  *sub.mutable_opset_import() = model.opset_import();
  GraphProto* g = sub.mutable_graph();
  g->set_name("lucid_zkml_part");
  std::set<std::string> used;
  for (const NodeProto* n : nodes) {
    *g->add_node() = *n;
    for (const auto& in : n->input()) used.insert(in);
  }
  for (const auto& t : model.graph().initializer())
    if (used.count(t.name())) *g->add_initializer() = t;
  auto add_value = [](::onnx::ValueInfoProto* v, const NewValue& value) {
    v->set_name(value.name);
    auto* tensor_type = v->mutable_type()->mutable_tensor_type();
    tensor_type->set_elem_type(value.type);
    auto* shape = tensor_type->mutable_shape();
    for (size_t i = 0; i < value.dims.size(); ++i) {
      if (i == 0) {
        shape->add_dim()->set_dim_param("batch");
      } else {
        shape->add_dim()->set_dim_value(value.dims[i]);
      }
    }
  };
  for (const auto& value : inputs) {
    const std::string& name = value.name;
    bool is_graph_input = false;
    for (const auto& gi : model.graph().input())
      if (gi.name() == name) {
        *g->add_input() = gi;
        is_graph_input = true;
      }
    if (!is_graph_input) add_value(g->add_input(), value);
  }
  for (const auto& value : outputs) {
    const std::string& name = value.name;
    bool is_graph_output = false;
    for (const auto& go : model.graph().output())
      if (go.name() == name) {
        *g->add_output() = go;
        is_graph_output = true;
      }
    if (!is_graph_output) add_value(g->add_output(), value);
  }
  std::string bytes;
  if (!sub.SerializeToString(&bytes)) return Internal("zkml: could not serialize a sub-model");
  return Bytes(bytes.begin(), bytes.end());
}

Result<PoolLayer> CompilePool(const NodeProto& n, const std::vector<int64_t>& shape, const Circuit::Map& map) {
  PoolLayer p;
  p.node = n.name().empty() ? n.output(0) : n.name();
  if (n.output_size() != 1) return Unimplemented("zkml: " + Describe(n) + ": the Indices output");
  std::vector<int64_t> v;
  for (const auto& a : n.attribute())
    if (a.name() == "auto_pad" && a.s() != "NOTSET") return Unimplemented("zkml: " + Describe(n) + ": auto_pad");
  if (AttrInt(n, "ceil_mode", 0) != 0) return Unimplemented("zkml: " + Describe(n) + ": ceil_mode");
  if (AttrInts(n, "dilations", v) && std::any_of(v.begin(), v.end(), [](int64_t x) { return x != 1; }))
    return Unimplemented("zkml: " + Describe(n) + ": dilations other than 1");
  if (AttrInts(n, "pads", v) && std::any_of(v.begin(), v.end(), [](int64_t x) { return x != 0; }))
    return Unimplemented("zkml: " + Describe(n) + ": padded MaxPool");
  if (!AttrInts(n, "kernel_shape", v) || v.size() != 2) return Unimplemented("zkml: " + Describe(n) + ": 2-D kernel_shape");
  p.kh = v[0], p.kw = v[1];
  if (AttrInts(n, "strides", v)) {
    if (v.size() != 2) return Unimplemented("zkml: " + Describe(n) + ": strides rank");
    p.stride_h = v[0], p.stride_w = v[1];
  }
  if (shape.size() != 4 || shape[1] != map.c || shape[2] != map.h || shape[3] != map.w)
    return Unimplemented("zkml: " + Describe(n) + ": its input must be the previous map itself [N, C, H, W]");
  p.c = map.c, p.in_h = map.h, p.in_w = map.w;
  if (p.kh < 1 || p.kw < 1 || p.Taps() > kMaxPoolTaps || p.kh > p.in_h || p.kw > p.in_w || p.stride_h < 1 ||
      p.stride_w < 1 || p.stride_h > 256 || p.stride_w > 256)
    return Unimplemented("zkml: " + Describe(n) + ": kernel (at most " + std::to_string(kMaxPoolTaps) +
                         " taps, inside the map) or strides out of range");
  p.out_h = (p.in_h - p.kh) / p.stride_h + 1, p.out_w = (p.in_w - p.kw) / p.stride_w + 1;
  return p;
}

// The logical shape after a Reshape or Flatten step.
Status ReshapeStep(const ChainStep& step, std::vector<int64_t>& shape) {
  auto count = [](const std::vector<int64_t>& s) -> int64_t {
    int64_t n = 1;
    for (int64_t d : s) {
      if (d < 0 || d > (int64_t{1} << 40)) return -1;
      n *= d;
      if (n > (int64_t{1} << 40)) return -1;
    }
    return n;
  };
  int64_t total = count(shape);
  if (total < 0 || shape.empty()) return InvalidArgument("zkml: bad shape");
  if (step.kind == ChainStep::Kind::kFlatten) {
    shape = {shape[0], shape[0] == 0 ? 0 : total / shape[0]};
    return Status::Ok();
  }
  std::vector<int64_t> out = step.shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == 0) {
      if (i >= shape.size()) return InvalidArgument("zkml: reshape copies a missing dim");
      out[i] = shape[i];
    }
    if (out[i] == -1) {
      if (infer >= 0) return InvalidArgument("zkml: reshape with two -1");
      infer = static_cast<int64_t>(i);
    } else if (out[i] < 0 || out[i] > (int64_t{1} << 40)) {
      return InvalidArgument("zkml: bad reshape dim");
    } else {
      known *= out[i];
      if (known > (int64_t{1} << 40)) return InvalidArgument("zkml: reshape too large");
    }
  }
  if (infer >= 0) {
    if (known == 0 || total % known != 0) return InvalidArgument("zkml: reshape does not divide");
    out[static_cast<size_t>(infer)] = total / known;
  }
  if (count(out) != total) return InvalidArgument("zkml: reshape changes the element count");
  shape = out;
  return Status::Ok();
}

// Each op reads the previous op's output map; every geometry is self-consistent and bounded.
Status CheckMaps(const Circuit& c) {
  auto ops = c.Ops();
  for (const FcLayer& l : c.layers) {
    int64_t eff_b = (l.out_h - 1) * l.stride_h + l.kh - l.in_h - l.pad_t;
    int64_t eff_r = (l.out_w - 1) * l.stride_w + l.kw - l.in_w - l.pad_l;
    bool ok = l.in_c >= 1 && l.in_h >= 1 && l.in_w >= 1 && l.in_h <= 4096 && l.in_w <= 4096 && l.kh >= 1 &&
              l.kw >= 1 && l.kh <= 4096 && l.kw <= 4096 && l.stride_h >= 1 && l.stride_w >= 1 &&
              l.stride_h <= 256 && l.stride_w <= 256 && l.pad_t >= 0 && l.pad_l >= 0 && l.pad_t < l.kh &&
              l.pad_l < l.kw && l.out_h >= 1 && l.out_w >= 1 && l.out_h <= 4096 && l.out_w <= 4096 &&
              eff_b > -l.stride_h && eff_b < l.kh && eff_r > -l.stride_w && eff_r < l.kw &&
              l.in_c * l.kh * l.kw == l.in_features && l.out_h * l.out_w * l.in_features <= (int64_t{1} << 28);
    if (!ok) return InvalidArgument("zkml: circuit: layer '" + l.node + "' geometry out of range");
  }
  for (const PoolLayer& p : c.pools) {
    bool ok = p.c >= 1 && p.c <= (int64_t{1} << 20) && p.in_h >= 1 && p.in_w >= 1 && p.in_h <= 4096 &&
              p.in_w <= 4096 && p.kh >= 1 && p.kw >= 1 && p.kh <= p.in_h && p.kw <= p.in_w &&
              p.Taps() <= kMaxPoolTaps && p.stride_h >= 1 && p.stride_w >= 1 && p.stride_h <= 256 &&
              p.stride_w <= 256 && p.out_h == (p.in_h - p.kh) / p.stride_h + 1 &&
              p.out_w == (p.in_w - p.kw) / p.stride_w + 1 && p.c * p.out_h * p.out_w * p.Taps() <= (int64_t{1} << 28);
    if (!ok) return InvalidArgument("zkml: circuit: pool '" + p.node + "' geometry out of range");
  }
  for (const TableLayer& t : c.tables) {
    bool ok = t.c >= 1 && t.h >= 1 && t.w >= 1 && t.c <= (int64_t{1} << 20) && t.h <= 4096 && t.w <= 4096 &&
              t.c * t.h * t.w <= (int64_t{1} << 28) && t.values.size() == 256;
    if (!ok) return InvalidArgument("zkml: circuit: table '" + t.node + "' geometry out of range");
  }
  if (!ops.empty() && ops[0].table) return InvalidArgument("zkml: circuit: a table op must follow a layer");
  for (size_t i = 1; i < ops.size(); ++i)
    if (!(c.InputMap(ops[i]) == c.OutputMap(ops[i - 1])))
      return InvalidArgument("zkml: circuit: op " + std::to_string(i) + " does not read the previous op's map");
  return Status::Ok();
}

int OnnxType(DType t) { return t == DType::kInt8 ? TensorProto::INT8 : TensorProto::UINT8; }

}  // namespace

unsigned CeilLog2(uint64_t v) {
  unsigned b = 0;
  while ((uint64_t{1} << b) < v) ++b;
  return b;
}

unsigned FcLayer::log_in() const { return std::max(1u, CeilLog2(static_cast<uint64_t>(in_features))); }
unsigned FcLayer::log_out() const { return std::max(1u, CeilLog2(static_cast<uint64_t>(out_features))); }

Result<Circuit> CompileCircuit(ByteView onnx_model) {
  ModelProto model;
  if (onnx_model.size() > (size_t{512} << 20) ||
      !model.ParseFromArray(onnx_model.data(), static_cast<int>(onnx_model.size())))
    return InvalidArgument("zkml: the model is not a parsable ONNX file");
  const GraphProto& g = model.graph();
  std::map<std::string, std::vector<const NodeProto*>> consumers;
  std::map<std::string, const NodeProto*> producer;
  for (const auto& n : g.node()) {
    for (const auto& in : n.input()) consumers[in].push_back(&n);
    for (const auto& out : n.output()) producer[out] = &n;
  }
  // The head ends at the first QuantizeLinear.
  const NodeProto* quant = nullptr;
  for (const auto& n : g.node())
    if (n.op_type() == "QuantizeLinear") {
      quant = &n;
      break;
    }
  if (quant == nullptr)
    return FailedPrecondition("zkml: the model has no QuantizeLinear: quantize it first (lucid quantize)");
  std::set<const NodeProto*> head;
  std::vector<std::string> stack = {quant->output(0)};
  while (!stack.empty()) {
    std::string v = stack.back();
    stack.pop_back();
    auto it = producer.find(v);
    if (it == producer.end() || head.count(it->second)) continue;
    head.insert(it->second);
    for (const auto& in : it->second->input()) stack.push_back(in);
  }

  Circuit c;
  c.x_name = quant->output(0);
  int zero_type = ElemType(g, quant->input_size() > 2 ? quant->input(2) : "");
  c.x_dtype = zero_type == TensorProto::INT8 ? DType::kInt8 : DType::kUint8;
  if (quant->input_size() < 3) return Unimplemented("zkml: QuantizeLinear without a zero point");
  // Ranks of x and y: x has its QuantizeLinear input's shape, which must be a graph input's.
  std::vector<int64_t> x_dims;
  bool found = false;
  for (const auto& in : g.input())
    if (in.name() == quant->input(0)) {
      found = true;
      for (const auto& d : in.type().tensor_type().shape().dim()) x_dims.push_back(d.has_dim_value() ? d.dim_value() : 1);
    }
  if (!found || x_dims.empty())
    return Unimplemented("zkml: QuantizeLinear must quantize a graph input with a batch dimension");
  x_dims[0] = 1;
  std::vector<int64_t> shape = x_dims;  // the logical shape along the chain (batch 1)
  Circuit::Map map;                     // the physical map of the current activation
  bool map_set = false;                 // x's map is fixed by the first op that reads it
  auto set_map = [&](bool spatial) {
    if (map_set) return;
    int64_t total = 1;
    for (size_t i = 1; i < shape.size(); ++i) total *= shape[i];
    map = spatial && shape.size() == 4 ? Circuit::Map{shape[1], shape[2], shape[3]} : Circuit::Map{total, 1, 1};
    map_set = true;
  };
  std::set<const NodeProto*> chain;
  std::string cur = c.x_name;
  DType cur_dtype = c.x_dtype;
  const NodeProto* dequant = nullptr;
  for (;;) {
    for (const auto& o : g.output())
      if (o.name() == cur) return Unimplemented("zkml: integer value '" + cur + "' is a graph output");
    auto it = consumers.find(cur);
    if (it == consumers.end() || it->second.size() != 1)
      return Unimplemented("zkml: integer value '" + cur + "' must have exactly one consumer (a chain of layers)");
    const NodeProto& n = *it->second[0];
    if (n.input(0) != cur) return Unimplemented("zkml: " + Describe(n) + " takes the integer value as a second input");
    chain.insert(&n);
    const std::string& op = n.op_type();
    if (op == "DequantizeLinear") {
      dequant = &n;
      chain.erase(&n);
      break;
    }
    ChainStep step;
    if (op == "Reshape") {
      ASSIGN_OR_RETURN(std::vector<double> shape, Values(g, n, 1));
      if (AttrInt(n, "allowzero", 0) != 0) return Unimplemented("zkml: " + Describe(n) + ": allowzero");
      step.kind = ChainStep::Kind::kReshape;
      for (double d : shape) step.shape.push_back(static_cast<int64_t>(d));
    } else if (op == "Flatten") {
      step.kind = ChainStep::Kind::kFlatten;
      step.axis = AttrInt(n, "axis", 1);
      if (step.axis != 1) return Unimplemented("zkml: " + Describe(n) + ": only axis 1 keeps the batch rows");
    } else if (op == "QLinearConv" || op == "QLinearMatMul") {
      DType out_dtype;
      set_map(op == "QLinearConv");
      ASSIGN_OR_RETURN(FcLayer layer, CompileLayer(g, n, shape, map, out_dtype));
      map = {layer.out_features, layer.out_h, layer.out_w};
      if (op == "QLinearConv") {
        shape = {1, layer.out_features, layer.out_h, layer.out_w};
      } else {
        shape = {1, layer.out_features};
      }
      if (cur_dtype != (ElemType(g, n.input(2)) == TensorProto::INT8 ? DType::kInt8 : DType::kUint8))
        return InvalidArgument("zkml: " + Describe(n) + ": zero point type differs from its input's");
      step.kind = op == "QLinearConv" ? ChainStep::Kind::kLayerNchw : ChainStep::Kind::kLayer;
      c.layers.push_back(std::move(layer));
      cur_dtype = out_dtype;
    } else if (op == "MaxPool") {
      set_map(true);
      ASSIGN_OR_RETURN(PoolLayer pool, CompilePool(n, shape, map));
      map = {pool.c, pool.out_h, pool.out_w};
      shape = {1, pool.c, pool.out_h, pool.out_w};
      step.kind = ChainStep::Kind::kMaxPool;
      c.pools.push_back(std::move(pool));
    } else if (op == "Cast") {
      // A table nonlinearity: Cast(x, int32/int64) -> Gather(T[256], index) (spec §5).
      if (!map_set) return Unimplemented("zkml: " + Describe(n) + ": a table op must follow a layer");
      int64_t to = AttrInt(n, "to", 0);
      if (to != TensorProto::INT32 && to != TensorProto::INT64)
        return Unimplemented("zkml: " + Describe(n) + " is not the index of a table lookup (Cast to int32/int64)");
      auto git = consumers.find(n.output(0));
      if (git == consumers.end() || git->second.size() != 1 || git->second[0]->op_type() != "Gather" ||
          git->second[0]->input_size() != 2 || git->second[0]->input(1) != n.output(0))
        return Unimplemented("zkml: " + Describe(n) + " must feed exactly one Gather (a 256-entry table)");
      const NodeProto& gather = *git->second[0];
      if (AttrInt(gather, "axis", 0) != 0) return Unimplemented("zkml: " + Describe(gather) + ": axis must be 0");
      const TensorProto* t = FindInitializer(g, gather.input(0));
      if (t == nullptr || t->dims_size() != 1 || t->dims(0) != 256 ||
          (t->data_type() != TensorProto::UINT8 && t->data_type() != TensorProto::INT8))
        return Unimplemented("zkml: " + Describe(gather) + ": the table must be a uint8[256] or int8[256] initializer");
      ASSIGN_OR_RETURN(std::vector<double> values, Values(g, gather, 0));
      if (values.size() != 256) return InvalidArgument("zkml: " + Describe(gather) + ": table of " +
                                                       std::to_string(values.size()) + " entries");
      TableLayer table;
      table.node = gather.name().empty() ? Describe(gather) : gather.name();
      table.c = map.c;
      table.h = map.h;
      table.w = map.w;
      table.in_min = cur_dtype == DType::kInt8 ? -128 : 0;
      table.out_dtype = t->data_type() == TensorProto::INT8 ? DType::kInt8 : DType::kUint8;
      for (int64_t i = 0; i < 256; ++i) {
        // Gather reads T[index], a negative index counting from the end: T[x mod 256].
        int64_t x = table.in_min + i;
        table.values.push_back(static_cast<int64_t>(values[static_cast<size_t>((x % 256 + 256) % 256)]));
      }
      chain.insert(&gather);
      step.kind = ChainStep::Kind::kTable;
      c.tables.push_back(std::move(table));
      cur_dtype = c.tables.back().out_dtype;
      c.steps.push_back(step);
      cur = gather.output(0);
      continue;
    } else {
      return Unimplemented("zkml: " + Describe(n) + " is not supported in the integer circuit (version 2 proves "
                           "Reshape, Flatten, QLinearConv, QLinearMatMul, MaxPool and 256-entry tables: "
                           "Cast + Gather)");
    }
    if (step.kind == ChainStep::Kind::kReshape || step.kind == ChainStep::Kind::kFlatten)
      RETURN_IF_ERROR(ReshapeStep(step, shape));
    c.steps.push_back(step);
    cur = n.output(0);
  }
  if (c.layers.empty()) return Unimplemented("zkml: no integer layer between QuantizeLinear and DequantizeLinear");
  int64_t table = LookupTableSize(c, kLimbBitsLarge);
  if (table > kMaxTableEntries)
    return OutOfRange("zkml: the lookup table would have " + std::to_string(table) + " entries (at most " +
                      std::to_string(kMaxTableEntries) + ")");
  RETURN_IF_ERROR(CheckMaps(c));
  c.y_name = cur;
  c.y_dtype = cur_dtype;
  // The tail: everything downstream of the DequantizeLinear; nothing else may remain.
  std::set<const NodeProto*> tail;
  std::vector<const NodeProto*> todo = {dequant};
  while (!todo.empty()) {
    const NodeProto* n = todo.back();
    todo.pop_back();
    if (tail.count(n)) continue;
    tail.insert(n);
    for (const auto& out : n->output())
      for (const NodeProto* m : consumers[out]) todo.push_back(m);
  }
  std::vector<const NodeProto*> head_nodes, tail_nodes;
  for (const auto& n : g.node()) {
    if (head.count(&n)) {
      head_nodes.push_back(&n);
    } else if (tail.count(&n)) {
      tail_nodes.push_back(&n);
      for (const auto& in : n.input())
        if (!in.empty() && in != c.y_name && producer.count(in) && !tail.count(producer[in]))
          return Unimplemented("zkml: " + Describe(n) + " after the integer part uses a value from before it");
    } else if (!chain.count(&n)) {
      return Unimplemented("zkml: " + Describe(n) + " is outside the chain the circuit proves");
    }
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> y_dims, OutputShape(c, x_dims));
  std::vector<NewValue> graph_inputs, graph_outputs;
  for (const auto& in : g.input())
    if (!FindInitializer(g, in.name())) graph_inputs.push_back({in.name(), 0, {}});
  ASSIGN_OR_RETURN(c.head_model, SubModel(model, head_nodes, graph_inputs, {{c.x_name, OnnxType(c.x_dtype), x_dims}}));
  for (const auto& out : g.output()) graph_outputs.push_back({out.name(), 0, {}});
  ASSIGN_OR_RETURN(c.tail_model, SubModel(model, tail_nodes, {{c.y_name, OnnxType(c.y_dtype), y_dims}}, graph_outputs));
  c.has_weights = true;
  return c;
}

Bytes Circuit::Describe() const {
  codec::Writer w;
  w.Str(kCircuitVersion);
  w.Blob(head_model);
  w.Blob(tail_model);
  w.Str(x_name);
  w.Str(y_name);
  w.U8(static_cast<uint8_t>(x_dtype));
  w.U8(static_cast<uint8_t>(y_dtype));
  w.U32(static_cast<uint32_t>(steps.size()));
  for (const auto& s : steps) {
    w.U8(static_cast<uint8_t>(s.kind));
    w.U32(static_cast<uint32_t>(s.shape.size()));
    for (int64_t d : s.shape) w.I64(d);
    w.I64(s.axis);
  }
  w.U32(static_cast<uint32_t>(layers.size()));
  for (const auto& l : layers) {
    w.Str(l.node);
    for (int64_t v : {l.in_features, l.out_features, l.in_zero, l.out_zero, l.lo, l.hi, l.q_min, l.q_max}) w.I64(v);
    for (int64_t v : {l.in_c, l.in_h, l.in_w, l.kh, l.kw, l.stride_h, l.stride_w, l.pad_t, l.pad_l, l.out_h, l.out_w})
      w.I64(v);
    for (size_t o = 0; o < l.multiplier.size(); ++o) {
      w.I64(l.multiplier[o]);
      w.U8(static_cast<uint8_t>(l.shift[o]));
    }
  }
  w.U32(static_cast<uint32_t>(pools.size()));
  for (const auto& p : pools) {
    w.Str(p.node);
    for (int64_t v : {p.c, p.in_h, p.in_w, p.kh, p.kw, p.stride_h, p.stride_w, p.out_h, p.out_w}) w.I64(v);
  }
  // Table ops (a circuit without them describes itself exactly as before they existed).
  if (!tables.empty()) {
    w.U32(static_cast<uint32_t>(tables.size()));
    for (const auto& t : tables) {
      w.Str(t.node);
      for (int64_t v : {t.c, t.h, t.w, t.in_min}) w.I64(v);
      w.U8(static_cast<uint8_t>(t.out_dtype));
      for (int64_t v : t.values) w.I64(v);
    }
  }
  return w.Take();
}

Hash32 Circuit::Hash() const { return crypto::TaggedSha256("lucid:zkml:circuit:v1", Describe()); }

Result<Circuit> DecodeCircuit(ByteView description) {
  codec::Reader r(description);
  Circuit c;
  ASSIGN_OR_RETURN(std::string version, r.Str());
  if (version != kCircuitVersion) return InvalidArgument("zkml: circuit version '" + version + "' is not supported");
  ASSIGN_OR_RETURN(c.head_model, r.Blob());
  ASSIGN_OR_RETURN(c.tail_model, r.Blob());
  ASSIGN_OR_RETURN(c.x_name, r.Str());
  ASSIGN_OR_RETURN(c.y_name, r.Str());
  for (DType* t : {&c.x_dtype, &c.y_dtype}) {
    ASSIGN_OR_RETURN(uint8_t v, r.U8());
    if (v != static_cast<uint8_t>(DType::kUint8) && v != static_cast<uint8_t>(DType::kInt8))
      return InvalidArgument("zkml: circuit: bad activation type");
    *t = static_cast<DType>(v);
  }
  ASSIGN_OR_RETURN(uint32_t num_steps, r.Count(10));
  for (uint32_t i = 0; i < num_steps; ++i) {
    ChainStep s;
    ASSIGN_OR_RETURN(uint8_t kind, r.U8());
    if (kind < 1 || kind > 6) return InvalidArgument("zkml: circuit: bad step kind");
    s.kind = static_cast<ChainStep::Kind>(kind);
    ASSIGN_OR_RETURN(uint32_t rank, r.Count(8));
    if (rank > 8) return InvalidArgument("zkml: circuit: reshape rank above 8");
    for (uint32_t j = 0; j < rank; ++j) {
      ASSIGN_OR_RETURN(int64_t d, r.I64());
      s.shape.push_back(d);
    }
    ASSIGN_OR_RETURN(s.axis, r.I64());
    c.steps.push_back(std::move(s));
  }
  ASSIGN_OR_RETURN(uint32_t num_layers, r.Count(156));
  size_t layer_steps = 0, pool_steps = 0, table_steps = 0;
  for (const auto& s : c.steps) {
    layer_steps += s.kind == ChainStep::Kind::kLayer || s.kind == ChainStep::Kind::kLayerNchw;
    pool_steps += s.kind == ChainStep::Kind::kMaxPool;
    table_steps += s.kind == ChainStep::Kind::kTable;
  }
  if (num_layers == 0 || num_layers != layer_steps) return InvalidArgument("zkml: circuit: layer count");
  for (uint32_t i = 0; i < num_layers; ++i) {
    FcLayer l;
    ASSIGN_OR_RETURN(l.node, r.Str());
    for (int64_t* v : {&l.in_features, &l.out_features, &l.in_zero, &l.out_zero, &l.lo, &l.hi, &l.q_min, &l.q_max}) {
      ASSIGN_OR_RETURN(*v, r.I64());
    }
    for (int64_t* v : {&l.in_c, &l.in_h, &l.in_w, &l.kh, &l.kw, &l.stride_h, &l.stride_w, &l.pad_t, &l.pad_l,
                       &l.out_h, &l.out_w}) {
      ASSIGN_OR_RETURN(*v, r.I64());
    }
    if (l.in_features < 1 || l.in_features > (1 << 15) || l.out_features < 1 || l.out_features > (1 << 20) ||
        !((l.lo == 0 && l.hi == 255) || (l.lo == -128 && l.hi == 127)) || l.out_zero < l.lo || l.out_zero > l.hi ||
        l.in_zero < -128 || l.in_zero > 255 || l.q_min > l.q_max || l.q_max - l.q_min + 1 > kMaxClampEntries ||
        l.q_min < -(int64_t{1} << 40) || l.q_max > (int64_t{1} << 40))
      return InvalidArgument("zkml: circuit: layer " + std::to_string(i) + " parameters out of range");
    if (r.remaining() < static_cast<size_t>(l.out_features) * 9) return InvalidArgument("zkml: circuit: truncated");
    for (int64_t o = 0; o < l.out_features; ++o) {
      ASSIGN_OR_RETURN(int64_t m, r.I64());
      ASSIGN_OR_RETURN(uint8_t s, r.U8());
      if (m < (int64_t{1} << 30) || m >= (int64_t{1} << 31) || s < 1 || s > kMaxShift)
        return InvalidArgument("zkml: circuit: multiplier or shift out of range");
      l.multiplier.push_back(m);
      l.shift.push_back(s);
    }
    c.layers.push_back(std::move(l));
  }
  ASSIGN_OR_RETURN(uint32_t num_pools, r.Count(76));
  if (num_pools != pool_steps) return InvalidArgument("zkml: circuit: pool count");
  for (uint32_t i = 0; i < num_pools; ++i) {
    PoolLayer p;
    ASSIGN_OR_RETURN(p.node, r.Str());
    for (int64_t* v : {&p.c, &p.in_h, &p.in_w, &p.kh, &p.kw, &p.stride_h, &p.stride_w, &p.out_h, &p.out_w}) {
      ASSIGN_OR_RETURN(*v, r.I64());
    }
    c.pools.push_back(std::move(p));
  }
  if (table_steps > 0) {
    ASSIGN_OR_RETURN(uint32_t num_tables, r.Count(2085));  // name (4 + len), 4 × 8, 1, 256 × 8
    if (num_tables != table_steps) return InvalidArgument("zkml: circuit: table count");
    for (uint32_t i = 0; i < num_tables; ++i) {
      TableLayer t;
      ASSIGN_OR_RETURN(t.node, r.Str());
      for (int64_t* v : {&t.c, &t.h, &t.w, &t.in_min}) {
        ASSIGN_OR_RETURN(*v, r.I64());
      }
      ASSIGN_OR_RETURN(uint8_t dt, r.U8());
      if (dt != static_cast<uint8_t>(DType::kUint8) && dt != static_cast<uint8_t>(DType::kInt8))
        return InvalidArgument("zkml: circuit: bad table output type");
      t.out_dtype = static_cast<DType>(dt);
      const int64_t lo = t.out_dtype == DType::kInt8 ? -128 : 0;
      for (int i2 = 0; i2 < 256; ++i2) {
        ASSIGN_OR_RETURN(int64_t v, r.I64());
        if (v < lo || v > lo + 255) return InvalidArgument("zkml: circuit: table value out of range");
        t.values.push_back(v);
      }
      if (t.in_min != 0 && t.in_min != -128) return InvalidArgument("zkml: circuit: bad table input range");
      c.tables.push_back(std::move(t));
    }
  }
  if (r.remaining() != 0) return InvalidArgument("zkml: circuit: trailing bytes");
  if (LookupTableSize(c, kLimbBitsLarge) > kMaxTableEntries)
    return InvalidArgument("zkml: circuit: lookup table too large");
  RETURN_IF_ERROR(CheckMaps(c));
  return c;
}

std::vector<Circuit::Op> Circuit::Ops() const {
  std::vector<Op> ops;
  size_t l = 0, p = 0, t = 0;
  for (const auto& s : steps) {
    if (s.kind == ChainStep::Kind::kLayer || s.kind == ChainStep::Kind::kLayerNchw) ops.push_back({false, l++});
    if (s.kind == ChainStep::Kind::kMaxPool) ops.push_back({true, p++});
    if (s.kind == ChainStep::Kind::kTable) ops.push_back({false, t++, true});
  }
  return ops;
}

Circuit::Map Circuit::InputMap(const Op& op) const {
  if (op.table) return {tables[op.index].c, tables[op.index].h, tables[op.index].w};
  if (op.pool) {
    const PoolLayer& p = pools[op.index];
    return {p.c, p.in_h, p.in_w};
  }
  const FcLayer& l = layers[op.index];
  return {l.in_c, l.in_h, l.in_w};
}

Circuit::Map Circuit::OutputMap(const Op& op) const {
  if (op.table) return {tables[op.index].c, tables[op.index].h, tables[op.index].w};
  if (op.pool) {
    const PoolLayer& p = pools[op.index];
    return {p.c, p.out_h, p.out_w};
  }
  const FcLayer& l = layers[op.index];
  return {l.out_features, l.out_h, l.out_w};
}

bool LayerTap(const FcLayer& l, int64_t oy, int64_t ox, int64_t k, int64_t& iy, int64_t& ix, int64_t& ic) {
  int64_t taps = l.kh * l.kw;
  ic = k / taps;
  int64_t t = k % taps;
  iy = oy * l.stride_h - l.pad_t + t / l.kw;
  ix = ox * l.stride_w - l.pad_l + t % l.kw;
  return iy >= 0 && iy < l.in_h && ix >= 0 && ix < l.in_w;
}

namespace {
// f(row_index, nchw_index) for every element of n maps: its index in pixel rows x channels
// and in NCHW order.
template <typename F>
void ForEachRowNchw(int64_t n, const Circuit::Map& m, F&& f) {
  for (int64_t b = 0; b < n; ++b)
    for (int64_t ch = 0; ch < m.c; ++ch)
      for (int64_t y = 0; y < m.h; ++y)
        for (int64_t x = 0; x < m.w; ++x)
          f(static_cast<size_t>(((b * m.h + y) * m.w + x) * m.c + ch),
            static_cast<size_t>(((b * m.c + ch) * m.h + y) * m.w + x));
}
}  // namespace

std::vector<int64_t> NchwToRows(const std::vector<int64_t>& nchw, int64_t n, const Circuit::Map& m) {
  std::vector<int64_t> out(nchw.size());
  ForEachRowNchw(n, m, [&](size_t row, size_t at) { out[row] = nchw[at]; });
  return out;
}

std::vector<int64_t> RowsToNchw(const std::vector<int64_t>& rows, int64_t n, const Circuit::Map& m) {
  std::vector<int64_t> out(rows.size());
  ForEachRowNchw(n, m, [&](size_t row, size_t at) { out[at] = rows[row]; });
  return out;
}

Result<std::vector<int64_t>> OutputShape(const Circuit& circuit, const std::vector<int64_t>& x_shape) {
  std::vector<int64_t> shape = x_shape;
  size_t layer = 0, pool = 0;
  if (shape.empty()) return InvalidArgument("zkml: the integer input must have a batch dimension");
  for (int64_t d : shape)
    if (d < 0 || d > (int64_t{1} << 40)) return InvalidArgument("zkml: the integer input has a bad dim");
  for (const auto& step : circuit.steps) {
    switch (step.kind) {
      case ChainStep::Kind::kReshape:
      case ChainStep::Kind::kFlatten:
        RETURN_IF_ERROR(ReshapeStep(step, shape));
        break;
      case ChainStep::Kind::kLayer:
      case ChainStep::Kind::kLayerNchw: {
        if (layer >= circuit.layers.size()) return InvalidArgument("zkml: circuit: layer count");
        const FcLayer& l = circuit.layers[layer++];
        bool nchw = step.kind == ChainStep::Kind::kLayerNchw;
        bool whole = l.kh == l.in_h && l.kw == l.in_w && l.out_h == 1 && l.out_w == 1 && l.pad_t == 0 && l.pad_l == 0;
        bool ok;
        if (nchw) {
          ok = shape.size() == 4 && ((shape[1] == l.in_c && shape[2] == l.in_h && shape[3] == l.in_w) ||
                                     (whole && shape[1] == l.in_features && shape[2] == 1 && shape[3] == 1));
        } else {
          ok = shape.size() == 2 && shape[1] == l.in_features && whole;
        }
        if (!ok) return InvalidArgument("zkml: layer '" + l.node + "' gets an input of the wrong shape");
        shape = nchw ? std::vector<int64_t>{shape[0], l.out_features, l.out_h, l.out_w}
                     : std::vector<int64_t>{shape[0], l.out_features};
        break;
      }
      case ChainStep::Kind::kMaxPool: {
        if (pool >= circuit.pools.size()) return InvalidArgument("zkml: circuit: pool count");
        const PoolLayer& p = circuit.pools[pool++];
        if (!(shape.size() == 4 && shape[1] == p.c && shape[2] == p.in_h && shape[3] == p.in_w))
          return InvalidArgument("zkml: pool '" + p.node + "' gets an input of the wrong shape");
        shape = {shape[0], p.c, p.out_h, p.out_w};
        break;
      }
      case ChainStep::Kind::kTable:
        break;  // elementwise: the shape stays
    }
    if (shape.empty() || shape[0] != x_shape[0])
      return Unimplemented("zkml: the chain must keep the batch dimension first");
  }
  return shape;
}

Result<Trace> Evaluate(const Circuit& circuit, const Tensor& x) {
  if (!circuit.has_weights) return InvalidArgument("zkml: the circuit has no weights");
  if (x.dtype() != circuit.x_dtype) return InvalidArgument("zkml: the integer input has the wrong type");
  Trace trace;
  ASSIGN_OR_RETURN(trace.output_shape, OutputShape(circuit, x.shape()));
  trace.rows = x.shape()[0];
  const int64_t N = trace.rows;
  if (N < 1 || N > (int64_t{1} << 16)) return InvalidArgument("zkml: batch size out of range");
  auto ops = circuit.Ops();
  Circuit::Map in_map = circuit.InputMap(ops[0]);
  if (static_cast<int64_t>(x.num_elements()) != N * in_map.c * in_map.h * in_map.w)
    return InvalidArgument("zkml: the integer input does not have the first op's size per row");
  std::vector<int64_t> codes;
  for (uint64_t i = 0; i < x.num_elements(); ++i)
    codes.push_back(x.dtype() == DType::kInt8 ? int64_t{x.data<int8_t>()[i]} : int64_t{x.data<uint8_t>()[i]});
  trace.x = NchwToRows(codes, N, in_map);
  const std::vector<int64_t>* a = &trace.x;
  for (const auto& op : ops) {
    if (op.table) {
      const TableLayer& tl = circuit.tables[op.index];
      TableTrace t;
      t.x = *a;
      t.y.resize(t.x.size());
      for (size_t i = 0; i < t.x.size(); ++i) {
        int64_t at = t.x[i] - tl.in_min;
        if (at < 0 || at > 255) return Internal("zkml: table '" + tl.node + "' input out of range (compiler bug)");
        t.y[i] = tl.values[static_cast<size_t>(at)];
      }
      trace.tables.push_back(std::move(t));
      a = &trace.tables.back().y;
      continue;
    }
    if (op.pool) {
      const PoolLayer& p = circuit.pools[op.index];
      PoolTrace t;
      size_t n = static_cast<size_t>(N * p.out_h * p.out_w * p.c);
      t.m.assign(n, 0);
      t.d.assign(static_cast<size_t>(p.Taps()), std::vector<int64_t>(n, 0));
      for (int64_t b = 0; b < N; ++b)
        for (int64_t oy = 0; oy < p.out_h; ++oy)
          for (int64_t ox = 0; ox < p.out_w; ++ox)
            for (int64_t ch = 0; ch < p.c; ++ch) {
              size_t at = static_cast<size_t>(((b * p.out_h + oy) * p.out_w + ox) * p.c + ch);
              int64_t m = INT64_MIN;
              for (int64_t ty = 0; ty < p.kh; ++ty)
                for (int64_t tx = 0; tx < p.kw; ++tx)
                  m = std::max(m, (*a)[static_cast<size_t>(((b * p.in_h + oy * p.stride_h + ty) * p.in_w +
                                                            ox * p.stride_w + tx) * p.c + ch)]);
              t.m[at] = m;
              for (int64_t ty = 0; ty < p.kh; ++ty)
                for (int64_t tx = 0; tx < p.kw; ++tx)
                  t.d[static_cast<size_t>(ty * p.kw + tx)][at] =
                      m - (*a)[static_cast<size_t>(((b * p.in_h + oy * p.stride_h + ty) * p.in_w + ox * p.stride_w + tx) *
                                                       p.c + ch)];
            }
      trace.pools.push_back(std::move(t));
      a = &trace.pools.back().m;
      continue;
    }
    const FcLayer& l = circuit.layers[op.index];
    LayerTrace t;
    const int64_t O = l.out_features, K = l.in_features;
    size_t n = static_cast<size_t>(N * l.out_h * l.out_w * O);
    t.acc.resize(n), t.q.resize(n), t.r.resize(n), t.y.resize(n);
    std::vector<int64_t> col(static_cast<size_t>(K));  // (X - z) of one output pixel
    for (int64_t b = 0; b < N; ++b)
      for (int64_t oy = 0; oy < l.out_h; ++oy)
        for (int64_t ox = 0; ox < l.out_w; ++ox) {
          for (int64_t k = 0; k < K; ++k) {
            int64_t iy, ix, ic;
            col[static_cast<size_t>(k)] =
                LayerTap(l, oy, ox, k, iy, ix, ic)
                    ? (*a)[static_cast<size_t>(((b * l.in_h + iy) * l.in_w + ix) * l.in_c + ic)] - l.in_zero
                    : 0;
          }
          int64_t p = (b * l.out_h + oy) * l.out_w + ox;
          for (int64_t o = 0; o < O; ++o) {
            int64_t acc = l.bias[static_cast<size_t>(o)];
            const int64_t* wrow = l.weights.data() + o * K;
            for (int64_t k = 0; k < K; ++k) acc += col[static_cast<size_t>(k)] * wrow[k];
            int s = l.shift[static_cast<size_t>(o)];
            __int128 t128 = static_cast<__int128>(acc) * l.multiplier[static_cast<size_t>(o)] +
                            (static_cast<__int128>(1) << (s - 1));
            int64_t q = FloorShift(t128, s);
            if (q < l.q_min || q > l.q_max)
              return Internal("zkml: layer '" + l.node + "' left its compiled bound (compiler bug)");
            size_t at = static_cast<size_t>(p * O + o);
            t.acc[at] = acc;
            t.q[at] = q;
            t.r[at] = static_cast<int64_t>(t128 - (static_cast<__int128>(q) << s));
            t.y[at] = std::clamp(l.out_zero + q, l.lo, l.hi);
          }
        }
    trace.layers.push_back(std::move(t));
    a = &trace.layers.back().y;
  }
  trace.y = RowsToNchw(*a, N, circuit.OutputMap(ops.back()));
  return trace;
}

std::vector<int> RangeWidths(const Circuit& circuit, int limb_bits) {
  std::array<bool, 17> used{};
  used[static_cast<size_t>(limb_bits)] = true;
  for (const FcLayer& l : circuit.layers)
    for (int s : l.shift)
      for (size_t j = 0; j < LimbCount(limb_bits); ++j) used[static_cast<size_t>(LimbWidth(limb_bits, s, j))] = true;
  if (!circuit.pools.empty()) used[8] = true;
  std::vector<int> widths;
  for (int w = 0; w <= 16; ++w)
    if (used[static_cast<size_t>(w)]) widths.push_back(w);
  return widths;
}

std::vector<unsigned> TableSegmentBits(uint64_t table_size) {
  if (table_size <= 2) return {1};
  unsigned high = CeilLog2(table_size);
  if ((uint64_t{1} << high) == table_size) return {high};
  uint64_t first = uint64_t{1} << (high - 1), rest = table_size - first;
  return {high - 1, std::max(1u, CeilLog2(rest))};
}

int ChooseLimbBits(const Circuit& circuit, int64_t rows) {
  // Cost in field elements: the table (its multiplicities are committed and its fraction sum
  // proved) plus, per padded output, each limb's witness entry and lookup leaf.
  uint64_t outputs = 0;
  for (const FcLayer& l : circuit.layers) {
    uint64_t r = uint64_t{1} << CeilLog2(static_cast<uint64_t>(rows * l.out_h * l.out_w));
    outputs += r << std::max(1u, CeilLog2(static_cast<uint64_t>(l.out_features)));
  }
  auto cost = [&](int bits) {
    return static_cast<uint64_t>(LookupTableSize(circuit, bits)) + 2 * outputs * LimbCount(bits);
  };
  return cost(kLimbBitsSmall) <= cost(kLimbBitsLarge) ? kLimbBitsSmall : kLimbBitsLarge;
}

int64_t LookupTableSize(const Circuit& circuit, int limb_bits) {
  int64_t n = 0;
  for (int w : RangeWidths(circuit, limb_bits)) n += int64_t{1} << w;
  for (const FcLayer& l : circuit.layers) n += l.q_max - l.q_min + 1;
  n += 256 * static_cast<int64_t>(circuit.tables.size());
  return n;
}

LookupTable BuildLookupTable(const Circuit& circuit, int limb_bits) {
  LookupTable t;
  t.width_offset.fill(-1);
  for (int w : RangeWidths(circuit, limb_bits)) {
    t.width_offset[static_cast<size_t>(w)] = static_cast<int64_t>(t.a.size());
    for (int64_t v = 0; v < (int64_t{1} << w); ++v) {
      t.a.push_back(v);
      t.b.push_back(0);
      t.tag.push_back(w);
    }
  }
  for (size_t l = 0; l < circuit.layers.size(); ++l) {
    const FcLayer& layer = circuit.layers[l];
    t.layer_offset.push_back(t.a.size());
    for (int64_t q = layer.q_min; q <= layer.q_max; ++q) {
      t.a.push_back(q);
      t.b.push_back(std::clamp(layer.out_zero + q, layer.lo, layer.hi));
      t.tag.push_back(kClampTag0 + static_cast<int64_t>(l));
    }
  }
  for (size_t k = 0; k < circuit.tables.size(); ++k) {
    const TableLayer& tl = circuit.tables[k];
    t.table_offset.push_back(t.a.size());
    for (int64_t i = 0; i < 256; ++i) {
      t.a.push_back(tl.in_min + i);
      t.b.push_back(tl.values[static_cast<size_t>(i)]);
      t.tag.push_back(TableTag(circuit, k));
    }
  }
  return t;
}

}  // namespace lucid::zkml
