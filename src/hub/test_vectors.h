// Test vectors of a model version: inputs and the outputs they must produce.
// Upload format (what `lucid hub upload --test-vectors FILE.json` takes), tensors as in
// tensor/tensor_json.h:
//   [{"inputs": {"x": {"dtype": "float32", "shape": [1, 8], "data": [...]}},
//     "outputs": {"probs": {...}}}, ...]
// The hub stores the canonical form (same structure, compact JSON, sorted keys) as a blob.
// Format: docs/formats/manifest.md. Thread-safety: plain values and pure functions.
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "hub/manifest.h"
#include "tensor/tensor.h"

namespace lucid::hub {

inline constexpr size_t kMaxTestVectors = 64;

struct TestVector {
  TensorMap inputs;
  TensorMap outputs;  // expected
};

// Parses the upload (or canonical) form. Refuses an empty list, more than max_vectors
// vectors, unknown keys and malformed tensors, naming the vector index.
Result<std::vector<TestVector>> ParseTestVectors(ByteView json_bytes, size_t max_vectors = kMaxTestVectors);

// Canonical blob bytes of the vectors.
Result<Bytes> CanonicalTestVectors(const std::vector<TestVector>& vectors);

struct Tolerance {
  double abs = 0;
  double rel = 0;
};
// Parses the manifest's decimal strings.
Result<Tolerance> ParseTolerance(std::string_view abs_text, std::string_view rel_text);

// Compares an engine's outputs with a vector's expected outputs: kExact when every tensor
// is bit-identical, kTolerance when only float32 values differ and each
// |actual - expected| <= abs + rel * |expected| (NaN matches NaN only). Without a
// tolerance, or on any other difference (names, dtypes, shapes, integers), returns
// INVALID_ARGUMENT naming the output, the worst element and the largest difference.
Result<MatchRule> MatchOutputs(const TensorMap& expected, const TensorMap& actual,
                               const std::optional<Tolerance>& tolerance);

}  // namespace lucid::hub
