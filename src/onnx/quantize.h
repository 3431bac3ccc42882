// Static post-training quantizer: float ONNX model + calibration inputs → an int8 ONNX
// model in QLinear form (QuantizeLinear, QLinearConv, int8 MaxPool/Flatten/Reshape,
// DequantizeLinear) that Lucid's integer kernels and onnxruntime both run. Weights are
// int8, symmetric, one scale per output channel; activations uint8 with a per-tensor
// scale and zero point from calibrated min/max; biases int32 at scale s_in·s_w; a Relu
// that follows Conv/Gemm is fused into the output range. Gemm becomes a 1×1 QLinearConv.
// Ops the quantizer does not cover run in float between DequantizeLinear/QuantizeLinear.
// Semantics: docs/formats/integer-semantics.md. Thread-safety: pure function.
#pragma once

#include <string>
#include <vector>

#include "base/bytes.h"
#include "tensor/tensor.h"

namespace lucid::onnx {

// Recorded in manifests of versions this quantizer made.
inline constexpr std::string_view kQuantizationId = "int8-static/1";

struct QuantizeOptions {
  int threads = 1;  // for the calibration runs; the result does not depend on it
};

struct QuantizeResult {
  Bytes model;                         // serialized quantized ONNX model
  std::vector<std::string> quantized;  // names of the nodes replaced by integer ops
};

// REQUIRES: calibration non-empty; every entry a full input set of the float model.
Result<QuantizeResult> QuantizeStatic(ByteView float_model, const std::vector<TensorMap>& calibration,
                                      const QuantizeOptions& options = {});

}  // namespace lucid::onnx
