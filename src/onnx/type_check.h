// Internal to lucid_onnx: load-time dtype inference and checking (type_check.cc). Every
// value's dtype is propagated from the graph inputs, initializers and Constant nodes through
// a per-op table that states which input dtypes each op's kernel runs; a node whose known
// input dtypes its kernel would refuse is refused at load, naming the node and op, instead
// of failing at run time. A value whose dtype cannot be inferred is unknown (nullopt) and
// checks that need it are left to the kernel, as before. Thread-safety: pure functions.
#pragma once

#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "onnx/op_internal.h"

namespace lucid::onnx::internal {

using MaybeDType = std::optional<DType>;

// Infers the dtypes of the outputs of `nodes` (topologically sorted, validated) in place in
// `dtypes` (indexed by value id; graph inputs and initializers already set, the rest
// nullopt) and refuses the first node whose input dtypes its kernel does not support.
// constants[id] is the value's tensor when known at load (initializers; Constant outputs
// are added as they are met), used for rules that depend on a value (Dropout's
// training_mode). If/Loop bodies are checked with the dtypes of the values they capture.
// check_dtypes = false keeps only the value rules (tests compare against the kernels).
Status InferTypes(std::span<const Node> nodes, std::vector<MaybeDType>& dtypes, std::vector<const Tensor*>& constants,
                  bool check_dtypes = true);

// Bit set of dtypes (bit 1 << DType value).
using DTypeSet = uint16_t;
constexpr DTypeSet DTypeBit(DType d) { return static_cast<DTypeSet>(1u << static_cast<unsigned>(d)); }
// Whether the table has a row for the op (every op in the op table must; tested).
bool HasTypeRule(std::string_view op_type);

}  // namespace lucid::onnx::internal
