// Builds a one-node ONNX model for kernel tests, shared by the onnx tests: inputs named
// and shaped as given (an empty name leaves an optional input out), all of `elem_type`,
// one output "y" of the same type with the first input's rank.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace lucid::onnx::testing {

inline ::onnx::ModelProto OneNodeModel(const std::string& op, int elem_type,
                                       const std::vector<std::pair<std::string, std::vector<int64_t>>>& ins,
                                       int opset = 13) {
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  auto* os = m.add_opset_import();
  os->set_domain("");
  os->set_version(opset);
  auto* g = m.mutable_graph();
  g->set_name("g");
  auto* node = g->add_node();
  node->set_op_type(op);
  for (const auto& [name, dims] : ins) {
    node->add_input(name);
    if (name.empty()) continue;
    auto* in = g->add_input();
    in->set_name(name);
    auto* tt = in->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(elem_type);
    auto* shape = tt->mutable_shape();  // present even for a scalar
    for (int64_t d : dims) shape->add_dim()->set_dim_value(d);
  }
  node->add_output("y");
  auto* out = g->add_output();
  out->set_name("y");
  auto* ot = out->mutable_type()->mutable_tensor_type();
  ot->set_elem_type(elem_type);
  for (size_t d = 0; d < ins[0].second.size(); ++d) ot->mutable_shape()->add_dim()->set_dim_param("d" + std::to_string(d));
  return m;
}

}  // namespace lucid::onnx::testing
