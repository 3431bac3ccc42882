#include "tensor/tensor_json.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace lucid {
namespace {

using nlohmann::json;

template <typename T>
json IntArray(const Tensor& t) {
  json data = json::array();
  const T* p = t.data<T>();
  for (uint64_t i = 0; i < t.num_elements(); ++i) data.push_back(static_cast<int64_t>(p[i]));
  return data;
}

// Reads one JSON number as an integer in [lo, hi]; floats and other types are refused.
Result<int64_t> ReadInt(const json& v, int64_t lo, int64_t hi, const std::string& where) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) return OutOfRange(where + ": " + std::to_string(u) + " is out of range");
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) {
    int64_t i = v.get<int64_t>();
    if (i < lo || i > hi) return OutOfRange(where + ": " + std::to_string(i) + " is out of range");
    return i;
  }
  return InvalidArgument(where + ": expected an integer, got " + std::string(v.type_name()));
}

template <typename T>
Status FillInts(const json& data, Tensor& t, const std::string& name) {
  T* out = t.data<T>();
  for (size_t i = 0; i < data.size(); ++i) {
    auto v = ReadInt(data[i], std::numeric_limits<T>::min(), std::numeric_limits<T>::max(),
                     "tensor \"" + name + "\" data[" + std::to_string(i) + "] (" +
                         std::string(DTypeName(t.dtype())) + ")");
    if (!v.ok()) return v.status();
    out[i] = static_cast<T>(*v);
  }
  return Status::Ok();
}

}  // namespace

json TensorToJson(const Tensor& t) {
  json j;
  j["dtype"] = std::string(DTypeName(t.dtype()));
  j["shape"] = t.shape();
  json data = json::array();
  switch (t.dtype()) {
    case DType::kFloat32: {
      // float -> double is exact and the double is printed shortest-round-trip, so
      // parsing it back and rounding to float gives the same bits. NaN/inf print as null.
      const float* p = t.data<float>();
      for (uint64_t i = 0; i < t.num_elements(); ++i) data.push_back(static_cast<double>(p[i]));
      break;
    }
    case DType::kUint8: data = IntArray<uint8_t>(t); break;
    case DType::kInt8: data = IntArray<int8_t>(t); break;
    case DType::kInt32: data = IntArray<int32_t>(t); break;
    case DType::kInt64: data = IntArray<int64_t>(t); break;
    case DType::kBool: {
      for (uint8_t b : t.bytes()) data.push_back(b != 0);
      break;
    }
  }
  j["data"] = std::move(data);
  return j;
}

Result<Tensor> TensorFromJson(const json& j, std::string_view name_view) {
  std::string name(name_view);
  auto fail = [&](const std::string& what) { return InvalidArgument("tensor \"" + name + "\": " + what); };
  if (!j.is_object()) return fail("expected an object with dtype, shape and data");
  for (const auto& [key, value] : j.items())
    if (key != "dtype" && key != "shape" && key != "data") return fail("unknown field \"" + key + "\"");
  if (!j.contains("dtype") || !j["dtype"].is_string()) return fail("missing string field \"dtype\"");
  auto dtype = DTypeFromName(j["dtype"].get<std::string>());
  if (!dtype.ok()) return dtype.status().WithContext("tensor \"" + name + "\"");
  if (!j.contains("shape") || !j["shape"].is_array()) return fail("missing array field \"shape\"");
  std::vector<int64_t> shape;
  for (size_t i = 0; i < j["shape"].size(); ++i) {
    auto d = ReadInt(j["shape"][i], 0, std::numeric_limits<int64_t>::max(),
                     "tensor \"" + name + "\" shape[" + std::to_string(i) + "]");
    if (!d.ok()) return d.status();
    shape.push_back(*d);
  }
  if (!j.contains("data") || !j["data"].is_array()) return fail("missing array field \"data\"");
  const json& data = j["data"];
  auto made = Tensor::Make(*dtype, shape);  // validates the shape before anything else
  if (!made.ok()) return made.status().WithContext("tensor \"" + name + "\"");
  Tensor t = std::move(made).value();
  if (data.size() != t.num_elements())
    return fail("data has " + std::to_string(data.size()) + " values, shape needs " +
                std::to_string(t.num_elements()));
  switch (*dtype) {
    case DType::kFloat32: {
      float* out = t.data<float>();
      for (size_t i = 0; i < data.size(); ++i) {
        const json& v = data[i];
        if (!v.is_number()) return fail("data[" + std::to_string(i) + "] is not a number (" + v.type_name() + ")");
        double d = v.get<double>();
        if (!std::isfinite(d) || std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max()))
          return fail("data[" + std::to_string(i) + "] is out of range for float32");
        out[i] = static_cast<float>(d);
      }
      break;
    }
    case DType::kUint8: RETURN_IF_ERROR(FillInts<uint8_t>(data, t, name)); break;
    case DType::kInt8: RETURN_IF_ERROR(FillInts<int8_t>(data, t, name)); break;
    case DType::kInt32: RETURN_IF_ERROR(FillInts<int32_t>(data, t, name)); break;
    case DType::kInt64: RETURN_IF_ERROR(FillInts<int64_t>(data, t, name)); break;
    case DType::kBool: {
      uint8_t* out = t.data<uint8_t>();
      for (size_t i = 0; i < data.size(); ++i) {
        const json& v = data[i];
        if (v.is_boolean()) {
          out[i] = v.get<bool>() ? 1 : 0;
        } else {
          auto b = ReadInt(v, 0, 1, "tensor \"" + name + "\" data[" + std::to_string(i) + "] (bool)");
          if (!b.ok()) return b.status();
          out[i] = static_cast<uint8_t>(*b);
        }
      }
      break;
    }
  }
  return t;
}

json TensorMapToJson(const TensorMap& m) {
  json j = json::object();
  for (const auto& [name, t] : m) j[name] = TensorToJson(t);
  return j;
}

Result<TensorMap> TensorMapFromJson(const json& j) {
  if (!j.is_object()) return InvalidArgument("tensor set must be a JSON object of name -> tensor");
  TensorMap out;
  for (const auto& [name, value] : j.items()) {
    if (name.empty()) return InvalidArgument("tensor set has an empty tensor name");
    ASSIGN_OR_RETURN(Tensor t, TensorFromJson(value, name));
    out.emplace(name, std::move(t));
  }
  return out;
}

}  // namespace lucid
