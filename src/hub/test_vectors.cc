#include "hub/test_vectors.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "tensor/tensor_json.h"

namespace lucid::hub {
namespace {

using nlohmann::json;

constexpr size_t kMaxTestVectorBytes = 64u << 20;

double ElementAsDouble(const Tensor& t, uint64_t i) {
  const uint8_t* p = t.bytes().data() + i * DTypeSize(t.dtype());
  switch (t.dtype()) {
    case DType::kFloat32: {
      float v;
      std::memcpy(&v, p, sizeof v);
      return v;
    }
    case DType::kUint8:
    case DType::kBool:
      return *p;
    case DType::kInt8:
      return static_cast<int8_t>(*p);
    case DType::kInt32: {
      int32_t v;
      std::memcpy(&v, p, sizeof v);
      return v;
    }
    case DType::kInt64: {
      int64_t v;
      std::memcpy(&v, p, sizeof v);
      return static_cast<double>(v);
    }
  }
  return 0;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  return fmt::format("[{}]", fmt::join(shape, ","));
}

}  // namespace

Result<std::vector<TestVector>> ParseTestVectors(ByteView json_bytes, size_t max_vectors) {
  if (json_bytes.size() > kMaxTestVectorBytes) {
    return OutOfRange(fmt::format("test vectors file is larger than {} bytes", kMaxTestVectorBytes));
  }
  json j;
  try {
    j = json::parse(json_bytes.begin(), json_bytes.end());
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("test vectors file is not JSON: ") + e.what());
  }
  if (!j.is_array()) return InvalidArgument("test vectors file must be a JSON list of {\"inputs\", \"outputs\"}");
  if (j.empty()) return InvalidArgument("test vectors file holds no vectors");
  if (j.size() > max_vectors) {
    return OutOfRange(fmt::format("test vectors file holds {} vectors; at most {} are allowed", j.size(), max_vectors));
  }
  std::vector<TestVector> out;
  for (size_t i = 0; i < j.size(); ++i) {
    const json& e = j[i];
    std::string where = fmt::format("test vector {}", i);
    if (!e.is_object() || !e.contains("inputs") || !e.contains("outputs") || e.size() != 2) {
      return InvalidArgument(where + ": must be an object with exactly \"inputs\" and \"outputs\"");
    }
    TestVector v;
    auto inputs = TensorMapFromJson(e.at("inputs"));
    if (!inputs.ok()) return inputs.status().WithContext(where + " inputs");
    auto outputs = TensorMapFromJson(e.at("outputs"));
    if (!outputs.ok()) return outputs.status().WithContext(where + " outputs");
    if (inputs->empty() || outputs->empty()) return InvalidArgument(where + ": needs at least one input and output");
    v.inputs = std::move(inputs).value();
    v.outputs = std::move(outputs).value();
    out.push_back(std::move(v));
  }
  return out;
}

Result<Bytes> CanonicalTestVectors(const std::vector<TestVector>& vectors) {
  json j = json::array();
  for (const TestVector& v : vectors) {
    j.push_back({{"inputs", TensorMapToJson(v.inputs)}, {"outputs", TensorMapToJson(v.outputs)}});
  }
  try {
    return ToBytes(j.dump());
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("test vectors could not be serialised: ") + e.what());
  }
}

Result<Tolerance> ParseTolerance(std::string_view abs_text, std::string_view rel_text) {
  Tolerance t;
  for (auto [text, out] : {std::pair{abs_text, &t.abs}, std::pair{rel_text, &t.rel}}) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(*out) || *out < 0) {
      return InvalidArgument("tolerance \"" + std::string(text) + "\" is not a non-negative decimal number");
    }
  }
  return t;
}

Result<MatchRule> MatchOutputs(const TensorMap& expected, const TensorMap& actual,
                               const std::optional<Tolerance>& tolerance) {
  for (const auto& [name, unused] : actual) {
    if (!expected.count(name)) return InvalidArgument("the model produces output \"" + name + "\" the vector lacks");
  }
  MatchRule rule = MatchRule::kExact;
  for (const auto& [name, want] : expected) {
    auto it = actual.find(name);
    if (it == actual.end()) return InvalidArgument("expected output \"" + name + "\" is not produced by the model");
    const Tensor& got = it->second;
    if (got.dtype() != want.dtype()) {
      return InvalidArgument(fmt::format("output \"{}\" has dtype {}, the vector expects {}", name,
                                         DTypeName(got.dtype()), DTypeName(want.dtype())));
    }
    if (got.shape() != want.shape()) {
      return InvalidArgument(fmt::format("output \"{}\" has shape {}, the vector expects {}", name,
                                         ShapeText(got.shape()), ShapeText(want.shape())));
    }
    if (got.bytes() == want.bytes()) continue;

    // Find the largest difference and whether every element is within tolerance.
    bool floats = want.dtype() == DType::kFloat32;
    bool within = floats && tolerance.has_value();
    double worst_diff = -1;
    uint64_t worst_index = 0;
    for (uint64_t i = 0; i < want.num_elements(); ++i) {
      double e = ElementAsDouble(want, i), a = ElementAsDouble(got, i);
      double diff;
      if (std::isnan(e) || std::isnan(a)) {
        diff = (std::isnan(e) && std::isnan(a)) ? 0 : std::numeric_limits<double>::infinity();
      } else if (e == a) {
        diff = 0;  // also equal infinities
      } else {
        diff = std::fabs(a - e);
      }
      if (diff > worst_diff) {
        worst_diff = diff;
        worst_index = i;
      }
      if (within && !(diff <= tolerance->abs + tolerance->rel * std::fabs(e))) within = false;
    }
    if (within) {
      rule = MatchRule::kTolerance;
      continue;
    }
    std::string limit = !floats ? "no difference is allowed for " + std::string(DTypeName(want.dtype()))
                        : tolerance ? fmt::format("tolerance abs {} + rel {}", tolerance->abs, tolerance->rel)
                                    : std::string("exact match required");
    return InvalidArgument(fmt::format(
        "output \"{}\" differs: largest difference {:.9g} at element {} (expected {:.9g}, got {:.9g}); {}", name,
        worst_diff, worst_index, ElementAsDouble(want, worst_index), ElementAsDouble(got, worst_index), limit));
  }
  return rule;
}

}  // namespace lucid::hub
