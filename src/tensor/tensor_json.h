// JSON view of tensors for the API and CLI:
//   {"x": {"dtype": "float32", "shape": [1, 64], "data": [0.5, ...]}}
// data is a flat row-major list; float32 values round-trip exactly (printed with 9
// significant digits). Parsing refuses wrong counts, out-of-range integers, NaN text and
// oversized tensors with a message naming the tensor.
#pragma once

#include <nlohmann/json.hpp>

#include "tensor/tensor.h"

namespace lucid {

nlohmann::json TensorToJson(const Tensor& t);
Result<Tensor> TensorFromJson(const nlohmann::json& j, std::string_view name = "tensor");
nlohmann::json TensorMapToJson(const TensorMap& m);
Result<TensorMap> TensorMapFromJson(const nlohmann::json& j);

}  // namespace lucid
