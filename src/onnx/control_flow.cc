// If and Loop: subgraph compilation (called by the loader for GRAPH attributes), validation
// and execution. Subgraph nodes run one after another in their stable topological order
// with the same kernels and the same KernelContext, so results stay thread-invariant.
#include <algorithm>
#include <cstring>
#include <functional>
#include <map>
#include <queue>
#include <set>

#include "onnx/subgraph.h"

namespace lucid::onnx::internal {
namespace {

constexpr int kMaxNesting = 16;                 // subgraphs inside subgraphs
constexpr int64_t kMaxLoopIterations = 1 << 20;  // untrusted models must terminate
thread_local int compile_depth = 0;

struct DepthGuard {
  DepthGuard() { ++compile_depth; }
  ~DepthGuard() { --compile_depth; }
};

const Subgraph* GraphAttr(const Node& node, std::string_view name) {
  auto it = node.attrs.find(name);
  if (it == node.attrs.end() || it->second.kind != Attr::Kind::kGraph) return nullptr;
  return it->second.graph.get();
}

// Runs g with its formal inputs and the captured outer values (in g.free_names order).
Result<std::vector<Tensor>> RunSubgraph(const Subgraph& g, std::span<const Tensor* const> formal,
                                        std::span<const Tensor* const> captured, const KernelContext& ctx) {
  if (formal.size() != g.inputs.size() || captured.size() != g.free_ids.size())
    return Internal("subgraph '" + g.name + "' called with the wrong number of values");
  std::vector<const Tensor*> values(g.num_values, nullptr);
  std::vector<Tensor> owned(g.num_values);
  for (const auto& [id, t] : g.initializers) values[id] = &t;
  for (size_t i = 0; i < formal.size(); ++i) {
    if (formal[i] == nullptr) return InvalidArgument("subgraph '" + g.name + "': input '" + g.inputs[i].name + "' is missing");
    if (formal[i]->dtype() != g.inputs[i].dtype)
      return InvalidArgument("subgraph '" + g.name + "': input '" + g.inputs[i].name + "' has dtype " +
                             std::string(DTypeName(formal[i]->dtype())) + ", the graph declares " +
                             std::string(DTypeName(g.inputs[i].dtype)));
    values[g.input_ids[i]] = formal[i];
  }
  for (size_t i = 0; i < captured.size(); ++i) values[g.free_ids[i]] = captured[i];
  RETURN_IF_ERROR(ExecuteNodes(g.nodes, values, owned, g.output_ids, ctx));
  std::vector<Tensor> out;
  for (size_t i = 0; i < g.output_ids.size(); ++i) {
    const Tensor* t = values[g.output_ids[i]];
    if (t == nullptr) return Internal("subgraph '" + g.name + "': output '" + g.outputs[i].name + "' was not computed");
    out.push_back(*t);
  }
  return out;
}

// Pointers to the values a subgraph captures, picked out of the node's implicit inputs.
std::vector<const Tensor*> Captured(const Node& node, const Subgraph& g, KernelInputs in) {
  std::vector<std::string> names = ImplicitInputs(node);
  size_t first = in.size() - names.size();
  std::vector<const Tensor*> out;
  for (const std::string& name : g.free_names) {
    size_t index = std::find(names.begin(), names.end(), name) - names.begin();
    out.push_back(in[first + index]);
  }
  return out;
}

Result<bool> ScalarBool(const Node& node, const Tensor* t, std::string_view what) {
  if (t == nullptr || t->dtype() != DType::kBool || t->num_elements() != 1)
    return InvalidArgument(node.Describe() + ": " + std::string(what) + " must be a bool tensor with one element");
  return t->data<uint8_t>()[0] != 0;
}

Status ValidateGraphAttr(const Node& n, std::string_view name, size_t inputs, size_t outputs) {
  RETURN_IF_ERROR(ExpectKind(n, name, Attr::Kind::kGraph));
  const Subgraph* g = GraphAttr(n, name);
  if (g == nullptr) return InvalidArgument(n.Describe() + ": attribute '" + std::string(name) + "' is required");
  if (g->inputs.size() != inputs || g->outputs.size() != outputs)
    return InvalidArgument(n.Describe() + ": " + std::string(name) + " has " + std::to_string(g->inputs.size()) +
                           " inputs and " + std::to_string(g->outputs.size()) + " outputs, expected " +
                           std::to_string(inputs) + " and " + std::to_string(outputs));
  return ValidateSubgraph(*g, n.opset);
}

}  // namespace

Result<std::shared_ptr<const Subgraph>> CompileSubgraph(const ::onnx::GraphProto& graph, const std::string& where) {
  if (compile_depth >= kMaxNesting)
    return Unimplemented(where + ": subgraphs nested deeper than " + std::to_string(kMaxNesting));
  DepthGuard guard;
  auto g = std::make_shared<Subgraph>();
  g->name = where + "/" + (graph.name().empty() ? "subgraph" : graph.name());
  if (graph.sparse_initializer_size() > 0) return Unimplemented(g->name + ": sparse initializers are not supported");
  std::map<std::string, int> ids;
  auto define = [&](const std::string& name, const std::string& what) -> Result<int> {
    if (name.empty()) return InvalidArgument(g->name + ": " + what + " has no name");
    if (ids.count(name)) return InvalidArgument(g->name + ": value '" + name + "' is defined twice");
    ids.emplace(name, g->num_values);
    return g->num_values++;
  };
  for (const auto& init : graph.initializer()) {
    ASSIGN_OR_RETURN(int id, define(init.name(), "an initializer"));
    ASSIGN_OR_RETURN(Tensor t, ParseTensor(init, g->name + " initializer '" + init.name() + "'"));
    g->initializers.emplace_back(id, std::move(t));
  }
  for (const auto& in : graph.input()) {
    bool rank_known = false;
    ASSIGN_OR_RETURN(ValueInfo info, ParseValueInfo(in, rank_known));
    ASSIGN_OR_RETURN(int id, define(in.name(), "an input"));
    g->input_ids.push_back(id);
    g->inputs.push_back(std::move(info));
  }
  std::vector<Node> nodes;
  for (int index = 0; index < graph.node_size(); ++index) {
    const auto& np = graph.node(index);
    Node node;
    node.op_type = np.op_type();
    node.name = g->name + "/" + (np.name().empty() ? np.op_type() + "#" + std::to_string(index) : np.name());
    if (!np.domain().empty() && np.domain() != "ai.onnx")
      return Unimplemented("unsupported op '" + np.op_type() + "' in domain '" + np.domain() + "' (" + node.name + ")");
    node.def = FindOp(np.op_type());
    if (node.def == nullptr) return Unimplemented("unsupported op '" + np.op_type() + "' (" + node.name + ")");
    int n_in = np.input_size(), n_out = np.output_size();
    if (n_in < node.def->min_inputs || n_in > node.def->max_inputs || n_out < node.def->min_outputs ||
        n_out > node.def->max_outputs)
      return InvalidArgument(node.Describe() + ": has " + std::to_string(n_in) + " inputs and " + std::to_string(n_out) +
                             " outputs, which the op does not allow");
    for (int i = 0; i < n_in && i < node.def->min_inputs; ++i)
      if (np.input(i).empty()) return InvalidArgument(node.Describe() + ": required input " + std::to_string(i) + " is empty");
    for (const auto& a : np.attribute()) {
      std::string allowed = "," + std::string(node.def->attributes) + ",";
      if (allowed.find("," + a.name() + ",") == std::string::npos)
        return Unimplemented(node.Describe() + ": unsupported attribute '" + a.name() + "'");
      if (node.attrs.count(a.name())) return InvalidArgument(node.Describe() + ": attribute '" + a.name() + "' repeated");
      ASSIGN_OR_RETURN(Attr attr, ParseAttribute(a, node.Describe()));
      node.attrs.emplace(a.name(), std::move(attr));
    }
    for (const std::string& name : np.output()) {
      if (name.empty()) {
        node.outputs.push_back(-1);
        continue;
      }
      ASSIGN_OR_RETURN(int id, define(name, "a node output"));
      node.outputs.push_back(id);
    }
    nodes.push_back(std::move(node));
  }
  // Names not defined here are captured from an outer scope (the loader checks they exist).
  auto resolve = [&](const std::string& name) {
    auto it = ids.find(name);
    if (it != ids.end()) return it->second;
    int id = g->num_values++;
    ids.emplace(name, id);
    g->free_names.push_back(name);
    g->free_ids.push_back(id);
    return id;
  };
  std::vector<int> producer;
  std::vector<std::vector<int>> consumers(nodes.size());
  std::vector<int> pending(nodes.size(), 0);
  for (int index = 0; index < graph.node_size(); ++index) {
    Node& node = nodes[index];
    std::vector<std::string> names(graph.node(index).input().begin(), graph.node(index).input().end());
    for (std::string& captured : ImplicitInputs(node)) names.push_back(std::move(captured));
    for (const std::string& name : names) node.inputs.push_back(name.empty() ? -1 : resolve(name));
  }
  producer.assign(g->num_values, -1);
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int id : nodes[i].outputs)
      if (id >= 0) producer[id] = static_cast<int>(i);
  for (size_t i = 0; i < nodes.size(); ++i)
    for (int id : nodes[i].inputs)
      if (id >= 0 && producer[id] >= 0) {
        consumers[producer[id]].push_back(static_cast<int>(i));
        ++pending[i];
      }
  std::priority_queue<int, std::vector<int>, std::greater<>> ready;
  for (size_t i = 0; i < nodes.size(); ++i)
    if (pending[i] == 0) ready.push(static_cast<int>(i));
  while (!ready.empty()) {
    int i = ready.top();
    ready.pop();
    g->nodes.push_back(nodes[i]);
    for (int c : consumers[i])
      if (--pending[c] == 0) ready.push(c);
  }
  if (g->nodes.size() != nodes.size())
    for (size_t i = 0; i < nodes.size(); ++i)
      if (pending[i] > 0) return InvalidArgument("graph has a cycle through " + nodes[i].Describe());
  for (const auto& out : graph.output()) {
    bool rank_known = false;
    ASSIGN_OR_RETURN(ValueInfo info, ParseValueInfo(out, rank_known));
    if (out.name().empty()) return InvalidArgument(g->name + ": an output has no name");
    g->output_ids.push_back(resolve(out.name()));
    g->outputs.push_back(std::move(info));
  }
  if (g->outputs.empty()) return InvalidArgument(g->name + ": graph has no outputs");
  return std::shared_ptr<const Subgraph>(std::move(g));
}

Status ValidateSubgraph(const Subgraph& graph, int64_t opset) {
  for (const Node& node : graph.nodes) {
    Node& mutable_node = const_cast<Node&>(node);  // validation completes the node at load, before sharing
    mutable_node.opset = opset;
    if (node.def->validate) RETURN_IF_ERROR(node.def->validate(mutable_node));
  }
  return Status::Ok();
}

std::vector<std::string> ImplicitInputs(const Node& node) {
  std::vector<std::string> names;
  for (const auto& [attr_name, attr] : node.attrs) {
    if (attr.kind != Attr::Kind::kGraph || !attr.graph) continue;
    for (const std::string& name : attr.graph->free_names)
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }
  return names;
}

void AppendSubgraphOps(const Node& node, std::set<std::string>& seen, std::vector<std::string>& out) {
  for (const auto& [attr_name, attr] : node.attrs) {
    if (attr.kind != Attr::Kind::kGraph || !attr.graph) continue;
    for (const Node& inner : attr.graph->nodes) {
      if (seen.insert(inner.op_type).second) out.push_back(inner.op_type);
      AppendSubgraphOps(inner, seen, out);
    }
  }
}

// ---------------------------------------------------------------- If

Status ValidateIf(Node& n) {
  size_t outputs = n.outputs.size();
  RETURN_IF_ERROR(ValidateGraphAttr(n, "then_branch", 0, outputs));
  return ValidateGraphAttr(n, "else_branch", 0, outputs);
}

Status RunIf(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  ASSIGN_OR_RETURN(bool cond, ScalarBool(node, in[0], "cond"));
  const Subgraph* branch = GraphAttr(node, cond ? "then_branch" : "else_branch");
  if (branch == nullptr) return Internal(node.Describe() + ": branch missing after validation");
  std::vector<const Tensor*> captured = Captured(node, *branch, in);
  auto results = RunSubgraph(*branch, {}, captured, ctx);
  if (!results.ok()) return results.status().WithContext(node.Describe());
  for (size_t i = 0; i < out.size(); ++i) out[i] = std::move((*results)[i]);
  return Status::Ok();
}

// ---------------------------------------------------------------- Loop

Status ValidateLoop(Node& n) {
  int64_t explicit_inputs = static_cast<int64_t>(n.inputs.size() - ImplicitInputs(n).size());
  int64_t carried = explicit_inputs - 2;
  int64_t scans = static_cast<int64_t>(n.outputs.size()) - carried;
  // The table allows 0 inputs so that M and cond may be empty names; the two slots must exist.
  if (carried < 0 || scans < 0)
    return InvalidArgument(n.Describe() + ": Loop needs M, cond and N loop-carried inputs with N final outputs first");
  if (n.inputs[0] < 0 && n.inputs[1] < 0)
    return Unimplemented(n.Describe() + ": a Loop with neither trip count M nor cond never ends");
  for (int64_t i = 2; i < explicit_inputs; ++i)
    if (n.inputs[i] < 0) return InvalidArgument(n.Describe() + ": loop-carried input " + std::to_string(i - 2) + " is empty");
  return ValidateGraphAttr(n, "body", static_cast<size_t>(2 + carried), static_cast<size_t>(1 + carried + scans));
}

Status RunLoop(const Node& node, KernelInputs in, std::vector<Tensor>& out, const KernelContext& ctx) {
  const Subgraph* body = GraphAttr(node, "body");
  if (body == nullptr) return Internal(node.Describe() + ": body missing after validation");
  size_t explicit_inputs = in.size() - ImplicitInputs(node).size();
  size_t carried_count = explicit_inputs - 2, scan_count = out.size() - carried_count;
  int64_t trips = kMaxLoopIterations;
  bool bounded = in[0] != nullptr;
  if (bounded) {
    const Tensor* m = in[0];
    if (m->dtype() != DType::kInt64 || m->num_elements() != 1)
      return InvalidArgument(node.Describe() + ": M must be an int64 tensor with one element");
    trips = m->data<int64_t>()[0];
    if (trips > kMaxLoopIterations)
      return OutOfRange(node.Describe() + ": trip count " + std::to_string(trips) + " exceeds the limit " +
                        std::to_string(kMaxLoopIterations));
  }
  bool use_cond = in[1] != nullptr;
  bool cond = true;
  if (use_cond) {
    ASSIGN_OR_RETURN(cond, ScalarBool(node, in[1], "cond"));
  }
  std::vector<Tensor> carried;
  for (size_t i = 0; i < carried_count; ++i) carried.push_back(*in[2 + i]);
  std::vector<std::vector<Tensor>> scans(scan_count);
  std::vector<const Tensor*> captured = Captured(node, *body, in);
  int64_t iteration = 0;
  for (; iteration < trips && cond; ++iteration) {
    Tensor iter_t = *Tensor::Make(DType::kInt64, {});
    iter_t.data<int64_t>()[0] = iteration;
    Tensor cond_t = *Tensor::Make(DType::kBool, {});
    cond_t.data<uint8_t>()[0] = 1;
    std::vector<const Tensor*> formal = {&iter_t, &cond_t};
    for (const Tensor& t : carried) formal.push_back(&t);
    auto results = RunSubgraph(*body, formal, captured, ctx);
    if (!results.ok()) return results.status().WithContext(node.Describe() + " iteration " + std::to_string(iteration));
    std::vector<Tensor>& r = *results;
    ASSIGN_OR_RETURN(bool next, ScalarBool(node, &r[0], "the body's cond output"));
    if (use_cond) cond = next;
    for (size_t i = 0; i < carried_count; ++i) carried[i] = std::move(r[1 + i]);
    for (size_t k = 0; k < scan_count; ++k) {
      Tensor& s = r[1 + carried_count + k];
      if (!scans[k].empty() && (s.dtype() != scans[k][0].dtype() || s.shape() != scans[k][0].shape()))
        return InvalidArgument(node.Describe() + ": scan output " + std::to_string(k) + " changes shape or dtype at iteration " +
                               std::to_string(iteration));
      scans[k].push_back(std::move(s));
    }
  }
  if (!bounded && cond) return OutOfRange(node.Describe() + ": loop did not end within " + std::to_string(kMaxLoopIterations) + " iterations");
  for (size_t i = 0; i < carried_count; ++i) out[i] = std::move(carried[i]);
  for (size_t k = 0; k < scan_count; ++k) {
    const ValueInfo& declared = body->outputs[1 + carried_count + k];
    std::vector<int64_t> shape = {static_cast<int64_t>(scans[k].size())};
    DType dtype = declared.dtype;
    if (!scans[k].empty()) {
      dtype = scans[k][0].dtype();
      shape.insert(shape.end(), scans[k][0].shape().begin(), scans[k][0].shape().end());
    } else if (std::all_of(declared.shape.begin(), declared.shape.end(), [](int64_t d) { return d >= 0; })) {
      shape.insert(shape.end(), declared.shape.begin(), declared.shape.end());
    }
    ASSIGN_OR_RETURN(Tensor stacked, Tensor::Make(dtype, shape));
    size_t offset = 0;
    for (const Tensor& s : scans[k]) {
      if (!s.bytes().empty()) std::memcpy(stacked.mutable_bytes().data() + offset, s.bytes().data(), s.bytes().size());
      offset += s.bytes().size();
    }
    out[carried_count + k] = std::move(stacked);
  }
  return Status::Ok();
}

}  // namespace lucid::onnx::internal
