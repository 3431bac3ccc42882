// Internal to lucid_onnx: If/Loop subgraphs. A GraphProto attribute is compiled at load
// into a Subgraph with its own value space; names it uses but does not define (outer-scope
// values, also those used by nested subgraphs) become "free names", which the loader appends
// to the owning node's inputs as implicit inputs, so the outer graph's topological order and
// the kernel's inputs cover them. Thread-safety: a compiled Subgraph is immutable.
#pragma once

#include <onnx/onnx_pb.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "onnx/model.h"
#include "onnx/op_internal.h"

namespace lucid::onnx::internal {

struct Subgraph {
  std::string name;
  int num_values = 0;
  std::vector<std::string> free_names;  // outer-scope values used, in first-use order
  std::vector<int> free_ids;            // their local ids, same order
  std::vector<ValueInfo> inputs;        // formal inputs (Loop body: iteration, cond, carried…)
  std::vector<int> input_ids;
  std::vector<std::pair<int, Tensor>> initializers;
  std::vector<Node> nodes;  // topologically sorted
  std::vector<ValueInfo> outputs;
  std::vector<int> output_ids;
};

// Structural compile: ops known, arity, attribute names, single definitions, no cycles.
// Node validators run later (ValidateSubgraph), once the opset is known.
Result<std::shared_ptr<const Subgraph>> CompileSubgraph(const ::onnx::GraphProto& graph, const std::string& where);
// Sets each node's opset and runs its validator (recursing into nested subgraphs).
Status ValidateSubgraph(const Subgraph& graph, int64_t opset);
// The names a control-flow node captures from outer scopes: the union of its subgraph
// attributes' free names, in attribute-name then first-use order, without duplicates.
std::vector<std::string> ImplicitInputs(const Node& node);
// Appends the op types used inside node's subgraphs (recursively, in node order) that are
// not yet in seen.
void AppendSubgraphOps(const Node& node, std::set<std::string>& seen, std::vector<std::string>& out);

// Parsers shared with the main loader (model.cc).
Result<Attr> ParseAttribute(const ::onnx::AttributeProto& a, const std::string& where);
Result<Tensor> ParseTensor(const ::onnx::TensorProto& t, const std::string& what);
Result<ValueInfo> ParseValueInfo(const ::onnx::ValueInfoProto& v, bool& rank_known);

}  // namespace lucid::onnx::internal
