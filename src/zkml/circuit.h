// The zkml circuit of a quantized ONNX model (docs/zk.md "zkml circuit"): the integer part
// of the model, compiled from the QLinear graph the quantizer writes, evaluated exactly as
// docs/formats/integer-semantics.md specifies, plus the two float ends the verifier runs
// itself: the head (graph input -> QuantizeLinear, giving the integer input x) and the tail
// (DequantizeLinear onwards, giving the user-visible output from the integer output y).
//
// Version 1 covers a chain of fully-connected layers: QLinearConv with a 1x1 kernel on
// [N, K, 1, 1] and QLinearMatMul with a constant [K, O] B, joined by Reshape/Flatten, on
// uint8 or int8 activations with a fused ReLU or none. Anything else in the integer part
// is refused at compile time naming the op (CompileCircuit).
// Thread-safety: a Circuit is immutable after CompileCircuit / DecodeCircuit.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "tensor/tensor.h"
#include "zk/field.h"

namespace lucid::zkml {

inline constexpr std::string_view kCircuitVersion = "lucid-zkml-circuit/1";
// The spec's largest shift; remainders are range-checked as 3 x 16 + 14 bits.
inline constexpr int kMaxShift = 62;
// Most entries of one layer's clamp table (q_max - q_min + 1).
inline constexpr int64_t kMaxClampEntries = int64_t{1} << 20;
// Most entries of the whole lookup table (ranges and every layer's clamp).
inline constexpr int64_t kMaxTableEntries = int64_t{1} << 22;
inline constexpr int kRangeBits = 16;
inline constexpr int kTopLimbBits = 14;  // the fourth limb of a remainder: r < 2^62

// One fully-connected requantizing layer:
//   acc[i,o] = sum_k (a[i,k] - in_zero) w[o,k] + bias[o]
//   y[i,o]   = clamp(out_zero + ((acc M_o + 2^(s_o - 1)) >> s_o), lo, hi)
struct FcLayer {
  std::string node;            // the ONNX node it came from (error messages)
  int64_t in_features = 0;     // K
  int64_t out_features = 0;    // O
  int64_t in_zero = 0;
  int64_t out_zero = 0;
  int64_t lo = 0, hi = 0;      // the output dtype's range
  std::vector<int64_t> multiplier;  // M_o in [2^30, 2^31)
  std::vector<int> shift;           // s_o in [1, kMaxShift]
  int64_t q_min = 0, q_max = 0;     // bounds of (acc M + 2^(s-1)) >> s over all inputs
  // Weights, not part of the circuit description (they are committed: weights.h).
  std::vector<int64_t> weights;  // [O][K], w - w_zero
  std::vector<int64_t> bias;     // [O]

  unsigned log_in() const;   // ceil(log2 K), at least 1
  unsigned log_out() const;  // ceil(log2 O), at least 1
};

// How the integer tensor's shape changes along the chain (for the tail's input shape).
struct ChainStep {
  enum class Kind : uint8_t { kReshape = 1, kFlatten = 2, kLayer = 3, kLayerNchw = 4 };
  Kind kind = Kind::kReshape;
  std::vector<int64_t> shape;  // kReshape: the target (0 copies, -1 infers)
  int64_t axis = 1;            // kFlatten
};

struct Circuit {
  Bytes head_model;   // ONNX: the model's inputs -> the integer input x
  Bytes tail_model;   // ONNX: the integer output y -> the model's outputs
  std::string x_name, y_name;
  DType x_dtype = DType::kUint8, y_dtype = DType::kUint8;
  std::vector<ChainStep> steps;
  std::vector<FcLayer> layers;
  bool has_weights = false;  // false when decoded from a proof

  // Canonical description (everything but weights and biases).
  Bytes Describe() const;
  // SHA-256 of Describe(), tagged: H_C.
  Hash32 Hash() const;
};

// Compiles a quantized model. InvalidArgument / Unimplemented naming the node and op for
// anything outside version 1, or a bound that would let a value wrap modulo p.
Result<Circuit> CompileCircuit(ByteView onnx_model);
// Parses Describe() output (strict); has_weights = false.
Result<Circuit> DecodeCircuit(ByteView description);

// Values of one layer for rows*O outputs (row-major), as the spec computes them.
struct LayerTrace {
  std::vector<int64_t> acc, q, r, y;
};

struct Trace {
  int64_t rows = 0;
  std::vector<int64_t> x;            // rows * K_0 integer input codes
  std::vector<LayerTrace> layers;
  std::vector<int64_t> output_shape; // the shape of y at the chain's end
};

// x: the head's output tensor (rows = its first dim). Requires has_weights. Also checks
// every q against the layer's [q_min, q_max] (a failure is a compiler bug).
Result<Trace> Evaluate(const Circuit& circuit, const Tensor& x);
// The shape of the chain's output for a head output of shape x_shape.
Result<std::vector<int64_t>> OutputShape(const Circuit& circuit, const std::vector<int64_t>& x_shape);

// Table of (a, b, tag) entries the lookups draw from: tag 0 = 16-bit range [0, 2^16)
// (b = 0); tag 1 = 14-bit range [0, 2^14); tag l + 2 = layer l's clamp
// (t, clamp(out_zero + t, lo, hi)), t = q_min..q_max.
struct LookupTable {
  std::vector<int64_t> a, b, tag;
  std::vector<size_t> layer_offset;  // index of layer l's first clamp entry
};
LookupTable BuildLookupTable(const Circuit& circuit);

unsigned CeilLog2(uint64_t v);  // 0 for v <= 1

}  // namespace lucid::zkml
