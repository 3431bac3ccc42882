#include "onnx/model.h"

#include <onnx/checker.h>
#include <onnx/common/constants.h>
#include <onnx/onnx_pb.h>

#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <queue>
#include <set>

#include "onnx/op_internal.h"
#include "onnx/subgraph.h"
#include "onnx/type_check.h"

namespace lucid::onnx {
namespace {

using internal::Attr;
using internal::Node;

constexpr int64_t kMinOpset = 7;
constexpr int64_t kMaxOpset = 21;      // semantics of every supported op checked up to here
constexpr int64_t kCheckerMaxOpset = 17;  // what libonnx's checker knows
constexpr int64_t kCheckerMaxIrVersion = 8;

Result<Tensor> TensorFromProto(const ::onnx::TensorProto& p, const std::string& what) {
  auto fail = [&](const std::string& m) { return InvalidArgument(what + ": " + m); };
  if (p.data_location() == ::onnx::TensorProto::EXTERNAL || p.external_data_size() > 0)
    return Unimplemented(what + ": external tensor data is not supported");
  if (p.has_segment()) return Unimplemented(what + ": segmented tensors are not supported");
  auto dtype = DTypeFromOnnx(p.data_type());
  if (!dtype.ok()) return dtype.status().WithContext(what);
  std::vector<int64_t> shape(p.dims().begin(), p.dims().end());
  auto made = Tensor::Make(*dtype, shape);
  if (!made.ok()) return made.status().WithContext(what);
  Tensor t = std::move(made).value();
  uint64_t n = t.num_elements();
  if (p.has_raw_data()) {
    if (p.raw_data().size() != t.bytes().size())
      return fail("raw_data is " + std::to_string(p.raw_data().size()) + " bytes, shape needs " +
                  std::to_string(t.bytes().size()));
    Bytes data(p.raw_data().begin(), p.raw_data().end());
    auto checked = Tensor::FromBytes(*dtype, shape, std::move(data));  // bool bytes must be 0/1
    if (!checked.ok()) return checked.status().WithContext(what);
    return checked;
  }
  switch (*dtype) {
    case DType::kFloat32:
      if (static_cast<uint64_t>(p.float_data_size()) != n) return fail("float_data count does not match shape");
      if (n) std::memcpy(t.data<float>(), p.float_data().data(), n * 4);
      break;
    case DType::kInt64:
      if (static_cast<uint64_t>(p.int64_data_size()) != n) return fail("int64_data count does not match shape");
      if (n) std::memcpy(t.data<int64_t>(), p.int64_data().data(), n * 8);
      break;
    case DType::kInt32:
    case DType::kInt8:
    case DType::kUint8:
    case DType::kBool: {
      if (static_cast<uint64_t>(p.int32_data_size()) != n) return fail("int32_data count does not match shape");
      int32_t lo = *dtype == DType::kInt8 ? -128 : (*dtype == DType::kInt32 ? INT32_MIN : 0);
      int32_t hi = *dtype == DType::kInt8 ? 127 : (*dtype == DType::kUint8 ? 255 : (*dtype == DType::kBool ? 1 : INT32_MAX));
      for (uint64_t i = 0; i < n; ++i) {
        int32_t v = p.int32_data(static_cast<int>(i));
        if (v < lo || v > hi) return fail("value " + std::to_string(v) + " is out of range for its dtype");
        if (*dtype == DType::kInt32) t.data<int32_t>()[i] = v;
        else if (*dtype == DType::kInt8) t.data<int8_t>()[i] = static_cast<int8_t>(v);
        else t.data<uint8_t>()[i] = static_cast<uint8_t>(v);
      }
      break;
    }
  }
  return t;
}

Result<ValueInfo> ValueInfoFromProto(const ::onnx::ValueInfoProto& v, bool& rank_known) {
  ValueInfo info;
  info.name = v.name();
  if (!v.type().has_tensor_type()) return Unimplemented("value '" + v.name() + "' is not a tensor");
  auto dtype = DTypeFromOnnx(v.type().tensor_type().elem_type());
  if (!dtype.ok()) return dtype.status().WithContext("value '" + v.name() + "'");
  info.dtype = *dtype;
  rank_known = v.type().tensor_type().has_shape();
  if (rank_known) {
    const auto& dims = v.type().tensor_type().shape().dim();
    if (dims.size() > static_cast<int>(kMaxTensorRank)) return OutOfRange("value '" + v.name() + "' has too many dims");
    for (const auto& d : dims) {
      if (d.has_dim_value()) {
        // Some exporters (Paddle) write -1 for a dynamic dim; onnxruntime reads it so too.
        if (d.dim_value() < -1) return InvalidArgument("value '" + v.name() + "' has a negative dim");
        info.shape.push_back(d.dim_value());
      } else {
        info.shape.push_back(-1);
      }
    }
  }
  return info;
}

Result<Attr> AttrFromProto(const ::onnx::AttributeProto& a, const std::string& where) {
  Attr attr;
  switch (a.type()) {
    case ::onnx::AttributeProto::INT: attr.kind = Attr::Kind::kInt; attr.i = a.i(); break;
    case ::onnx::AttributeProto::FLOAT: attr.kind = Attr::Kind::kFloat; attr.f = a.f(); break;
    case ::onnx::AttributeProto::INTS:
      attr.kind = Attr::Kind::kInts;
      attr.ints.assign(a.ints().begin(), a.ints().end());
      break;
    case ::onnx::AttributeProto::FLOATS:
      attr.kind = Attr::Kind::kFloats;
      attr.floats.assign(a.floats().begin(), a.floats().end());
      break;
    case ::onnx::AttributeProto::STRING: attr.kind = Attr::Kind::kString; attr.s = a.s(); break;
    case ::onnx::AttributeProto::STRINGS:
      attr.kind = Attr::Kind::kStrings;
      attr.strings.assign(a.strings().begin(), a.strings().end());
      break;
    case ::onnx::AttributeProto::GRAPH: {  // If/Loop bodies (control_flow.cc)
      attr.kind = Attr::Kind::kGraph;
      ASSIGN_OR_RETURN(attr.graph, internal::CompileSubgraph(a.g(), where + " attribute '" + a.name() + "'"));
      break;
    }
    case ::onnx::AttributeProto::TENSOR: {
      attr.kind = Attr::Kind::kTensor;
      ASSIGN_OR_RETURN(attr.t, TensorFromProto(a.t(), where + " attribute '" + a.name() + "'"));
      break;
    }
    default:
      return Unimplemented(where + ": attribute '" + a.name() + "' has an unsupported type (" +
                           std::to_string(static_cast<int>(a.type())) + ")");
  }
  return attr;
}

class LoadedModel final : public Model {
 public:
  const std::vector<ValueInfo>& inputs() const override { return inputs_; }
  const std::vector<ValueInfo>& outputs() const override { return outputs_; }
  std::vector<std::string> op_types() const override { return op_types_; }
  int64_t opset() const override { return opset_; }
  Result<TensorMap> Run(const TensorMap& inputs, const RunOptions& options) const override;

  Status Build(const ::onnx::ModelProto& model, const LoadOptions& options);

 private:
  Result<int> ValueId(const std::string& name) const {
    auto it = ids_.find(name);
    if (it == ids_.end()) return NotFound(name);
    return it->second;
  }
  int NewValue(const std::string& name) {
    int id = static_cast<int>(ids_.size());
    ids_.emplace(name, id);
    return id;
  }

  std::vector<ValueInfo> inputs_, outputs_;
  std::vector<bool> input_rank_known_;
  std::vector<int> input_ids_, output_ids_;
  std::vector<Node> nodes_;  // topologically sorted
  std::vector<std::pair<int, Tensor>> initializers_;
  std::map<std::string, int> ids_;
  std::vector<std::string> op_types_;
  int64_t opset_ = 0;
};

Status LoadedModel::Build(const ::onnx::ModelProto& model, const LoadOptions& options) {
  const ::onnx::GraphProto& graph = model.graph();
  bool have_opset = false;
  for (const auto& op : model.opset_import()) {
    if (op.domain().empty() || op.domain() == "ai.onnx") {
      opset_ = op.version();
      have_opset = true;
    }
  }
  if (!have_opset) return InvalidArgument("model imports no ai.onnx opset");
  if (opset_ < kMinOpset || opset_ > kMaxOpset)
    return Unimplemented("ai.onnx opset " + std::to_string(opset_) + " is not supported (" + std::to_string(kMinOpset) +
                         ".." + std::to_string(kMaxOpset) + ")");
  if (graph.sparse_initializer_size() > 0) return Unimplemented("sparse initializers are not supported");

  // Values: initializers, then graph inputs, then node outputs; each name defined once.
  for (const auto& init : graph.initializer()) {
    if (init.name().empty()) return InvalidArgument("an initializer has no name");
    if (ids_.count(init.name())) return InvalidArgument("initializer '" + init.name() + "' is defined twice");
    ASSIGN_OR_RETURN(Tensor t, TensorFromProto(init, "initializer '" + init.name() + "'"));
    initializers_.emplace_back(NewValue(init.name()), std::move(t));
  }
  std::set<std::string> initializer_names;
  for (const auto& init : graph.initializer()) initializer_names.insert(init.name());
  for (const auto& in : graph.input()) {
    if (initializer_names.count(in.name())) continue;  // old exports list weights as inputs too
    if (in.name().empty() || ids_.count(in.name())) return InvalidArgument("graph input '" + in.name() + "' is invalid or duplicated");
    bool rank_known = false;
    ASSIGN_OR_RETURN(ValueInfo info, ValueInfoFromProto(in, rank_known));
    input_ids_.push_back(NewValue(in.name()));
    inputs_.push_back(std::move(info));
    input_rank_known_.push_back(rank_known);
  }

  std::vector<Node> nodes;
  std::set<std::string> seen_ops;
  for (int index = 0; index < graph.node_size(); ++index) {
    const auto& np = graph.node(index);
    Node node;
    node.op_type = np.op_type();
    node.name = np.name().empty() ? np.op_type() + "#" + std::to_string(index) : np.name();
    node.opset = opset_;
    if (!np.domain().empty() && np.domain() != "ai.onnx")
      return Unimplemented("unsupported op '" + np.op_type() + "' in domain '" + np.domain() + "' (" + node.name + ")");
    node.def = internal::FindOp(np.op_type());
    if (node.def == nullptr)
      return Unimplemented("unsupported op '" + np.op_type() + "' (opset " + std::to_string(opset_) + ", " + node.name + ")");
    if (seen_ops.insert(node.op_type).second) op_types_.push_back(node.op_type);
    int n_in = np.input_size(), n_out = np.output_size();
    if (n_in < node.def->min_inputs || n_in > node.def->max_inputs || n_out < node.def->min_outputs ||
        n_out > node.def->max_outputs)
      return InvalidArgument(node.Describe() + ": has " + std::to_string(n_in) + " inputs and " + std::to_string(n_out) +
                             " outputs, which the op does not allow");
    for (int i = 0; i < n_in; ++i)
      if (np.input(i).empty() && i < node.def->min_inputs)
        return InvalidArgument(node.Describe() + ": required input " + std::to_string(i) + " is empty");
    for (const auto& a : np.attribute()) {
      std::string allowed = "," + std::string(node.def->attributes) + ",";
      if (allowed.find("," + a.name() + ",") == std::string::npos)
        return Unimplemented(node.Describe() + ": unsupported attribute '" + a.name() + "'");
      if (node.attrs.count(a.name())) return InvalidArgument(node.Describe() + ": attribute '" + a.name() + "' repeated");
      ASSIGN_OR_RETURN(Attr attr, AttrFromProto(a, node.Describe()));
      node.attrs.emplace(a.name(), std::move(attr));
    }
    internal::AppendSubgraphOps(node, seen_ops, op_types_);  // ops inside If/Loop bodies
    for (int i = 0; i < n_out; ++i) {
      const std::string& name = np.output(i);
      if (name.empty()) {
        node.outputs.push_back(-1);
        continue;
      }
      if (ids_.count(name)) return InvalidArgument("value '" + name + "' is defined twice (" + node.Describe() + ")");
      node.outputs.push_back(NewValue(name));
    }
    nodes.push_back(std::move(node));
  }
  // Resolve inputs now that every producer is known.
  std::vector<int> producer(ids_.size(), -1);
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int id : nodes[i].outputs)
      if (id >= 0) producer[id] = static_cast<int>(i);
  std::vector<std::vector<int>> consumers(nodes.size());
  std::vector<int> pending(nodes.size(), 0);
  for (int index = 0; index < graph.node_size(); ++index) {
    Node& node = nodes[index];
    std::vector<std::string> names(graph.node(index).input().begin(), graph.node(index).input().end());
    for (std::string& captured : internal::ImplicitInputs(node)) names.push_back(std::move(captured));  // If/Loop
    for (const std::string& name : names) {
      if (name.empty()) {
        node.inputs.push_back(-1);
        continue;
      }
      auto id = ValueId(name);
      if (!id.ok())
        return InvalidArgument(node.Describe() + ": input '" + name +
                               "' is not defined by any graph input, initializer or node");
      node.inputs.push_back(*id);
      if (producer[*id] >= 0) {
        consumers[producer[*id]].push_back(index);
        ++pending[index];
      }
    }
  }
  // Kahn's algorithm; ties resolved by the original node order so the order is stable.
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (pending[i] == 0) ready.push(static_cast<int>(i));
  std::vector<int> order;
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    order.push_back(i);
    for (int c : consumers[i])
      if (--pending[c] == 0) ready.push(c);
  }
  if (order.size() != nodes.size()) {
    for (size_t i = 0; i < nodes.size(); ++i)
      if (pending[i] > 0) return InvalidArgument("graph has a cycle through " + nodes[i].Describe());
  }
  std::vector<const Tensor*> constant_of(ids_.size(), nullptr);
  for (const auto& [id, tensor] : initializers_) constant_of[id] = &tensor;
  for (int i : order) {
    Node& node = nodes[i];
    if (node.def->validate) RETURN_IF_ERROR(node.def->validate(node));
    if (internal::PrepareFn prepare = internal::FindPrepare(node.op_type); prepare && options.prepare_constants) {
      std::vector<const Tensor*> constants;
      for (int id : node.inputs) constants.push_back(id >= 0 ? constant_of[id] : nullptr);
      ASSIGN_OR_RETURN(node.prepared, prepare(node, constants));
    }
    nodes_.push_back(std::move(node));
  }

  for (const auto& out : graph.output()) {
    bool rank_known = false;
    ASSIGN_OR_RETURN(ValueInfo info, ValueInfoFromProto(out, rank_known));
    auto id = ValueId(out.name());
    if (!id.ok()) return InvalidArgument("graph output '" + out.name() + "' is not produced by the graph");
    output_ids_.push_back(*id);
    outputs_.push_back(std::move(info));
  }
  if (outputs_.empty()) return InvalidArgument("graph has no outputs");

  // Dtypes at load: a kernel's dtype refusal, or an output of another dtype than declared,
  // would otherwise only show at run time.
  {
    std::vector<internal::MaybeDType> dtypes(ids_.size());
    std::vector<const Tensor*> constants(ids_.size(), nullptr);
    for (const auto& [id, tensor] : initializers_) {
      dtypes[id] = tensor.dtype();
      constants[id] = &tensor;
    }
    for (size_t i = 0; i < inputs_.size(); ++i) dtypes[input_ids_[i]] = inputs_[i].dtype;
    RETURN_IF_ERROR(internal::InferTypes(nodes_, dtypes, constants, options.check_types));
    for (size_t i = 0; options.check_types && i < outputs_.size(); ++i) {
      const internal::MaybeDType& got = dtypes[output_ids_[i]];
      if (got && *got != outputs_[i].dtype)
        return InvalidArgument("graph output '" + outputs_[i].name + "' is computed as " + std::string(DTypeName(*got)) +
                               " but the graph declares " + std::string(DTypeName(outputs_[i].dtype)));
    }
  }

  // The libonnx checker knows IR ≤ 8 and opsets ≤ 17; newer models rely on the checks above.
  if (model.ir_version() <= kCheckerMaxIrVersion && opset_ <= kCheckerMaxOpset) {
    try {
      ::onnx::checker::check_model(model);
    } catch (const std::exception& e) {
      return InvalidArgument(std::string("ONNX checker: ") + e.what());
    }
  }
  return Status::Ok();
}

Result<TensorMap> LoadedModel::Run(const TensorMap& inputs, const RunOptions& options) const {
  if (options.threads < 1 || options.threads > 256)
    return InvalidArgument("threads must be in [1, 256], got " + std::to_string(options.threads));
  for (const auto& [name, tensor] : inputs) {
    bool known = false;
    for (const auto& info : inputs_) known = known || info.name == name;
    if (!known) return InvalidArgument("unknown input '" + name + "'");
  }
  std::vector<const Tensor*> values(ids_.size(), nullptr);
  std::vector<Tensor> owned(ids_.size());
  for (const auto& [id, tensor] : initializers_) values[id] = &tensor;
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const ValueInfo& info = inputs_[i];
    auto it = inputs.find(info.name);
    if (it == inputs.end()) return InvalidArgument("missing input '" + info.name + "'");
    const Tensor& t = it->second;
    if (t.dtype() != info.dtype)
      return InvalidArgument("input '" + info.name + "' has dtype " + std::string(DTypeName(t.dtype())) + ", model expects " +
                             std::string(DTypeName(info.dtype)));
    if (input_rank_known_[i]) {
      bool match = t.shape().size() == info.shape.size();
      for (size_t d = 0; match && d < info.shape.size(); ++d) match = info.shape[d] < 0 || info.shape[d] == t.shape()[d];
      if (!match)
        return InvalidArgument("input '" + info.name + "' has shape " + internal::ShapeString(t.shape()) +
                               ", model expects " + internal::ShapeString(info.shape) + " (-1 = any)");
    }
    if (t.bytes().size() != t.num_elements() * DTypeSize(t.dtype()))
      return InvalidArgument("input '" + info.name + "' data size does not match its shape");
    values[input_ids_[i]] = &t;
  }
  internal::KernelContext ctx{options.threads};
  RETURN_IF_ERROR(internal::ExecuteNodes(nodes_, values, owned, output_ids_, ctx));
  TensorMap out;
  for (size_t i = 0; i < outputs_.size(); ++i) {
    const Tensor* t = values[output_ids_[i]];
    if (t == nullptr) return Internal("output '" + outputs_[i].name + "' was not computed");
    if (t->dtype() != outputs_[i].dtype)
      return InvalidArgument("output '" + outputs_[i].name + "' has dtype " + std::string(DTypeName(t->dtype())) +
                             " but the graph declares " + std::string(DTypeName(outputs_[i].dtype)));
    out[outputs_[i].name] = *t;
  }
  return out;
}

}  // namespace

namespace internal {
// The loader's parsers, shared with subgraph compilation (subgraph.h).
Result<Attr> ParseAttribute(const ::onnx::AttributeProto& a, const std::string& where) { return AttrFromProto(a, where); }
Result<Tensor> ParseTensor(const ::onnx::TensorProto& t, const std::string& what) { return TensorFromProto(t, what); }
Result<ValueInfo> ParseValueInfo(const ::onnx::ValueInfoProto& v, bool& rank_known) {
  return ValueInfoFromProto(v, rank_known);
}
}  // namespace internal

Result<std::unique_ptr<Model>> Model::Load(ByteView onnx_bytes, const LoadOptions& options) {
  if (onnx_bytes.size() > options.max_model_bytes)
    return OutOfRange("model is " + std::to_string(onnx_bytes.size()) + " bytes, limit is " +
                      std::to_string(options.max_model_bytes));
  if (onnx_bytes.size() > static_cast<size_t>(INT32_MAX)) return OutOfRange("model exceeds 2 GiB");
  ::onnx::ModelProto proto;
  bool parsed = false;
  try {
    parsed = proto.ParseFromArray(onnx_bytes.data(), static_cast<int>(onnx_bytes.size()));
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("model is not a valid ONNX protobuf: ") + e.what());
  }
  if (!parsed) return InvalidArgument("model is not a valid ONNX protobuf (truncated or corrupt)");
  if (!proto.has_graph()) return InvalidArgument("model has no graph");
  auto model = std::make_unique<LoadedModel>();
  try {
    Status st = model->Build(proto, options);
    if (!st.ok()) return st.WithContext("loading ONNX model");
  } catch (const std::exception& e) {
    return Internal(std::string("loading ONNX model: ") + e.what());
  }
  return std::unique_ptr<Model>(std::move(model));
}

}  // namespace lucid::onnx
