// libFuzzer target: the ONNX loader on arbitrary bytes (truncated protobufs, absurd dims,
// cycles, missing initializers...) must refuse cleanly; a model that loads is run once on
// zero inputs with small static shapes and must not crash either.
#include "onnx/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto model = lucid::onnx::Model::Load(lucid::ByteView(data, size));
  if (!model.ok()) return 0;
  lucid::TensorMap inputs;
  for (const auto& info : (*model)->inputs()) {
    std::vector<int64_t> shape;
    uint64_t elements = 1;
    for (int64_t d : info.shape) {
      int64_t dim = d < 0 ? 1 : d;
      shape.push_back(dim);
      elements *= static_cast<uint64_t>(dim > 0 ? dim : 1);
      if (elements > (1u << 16)) return 0;  // keep runs small
    }
    auto t = lucid::Tensor::Make(info.dtype, shape);
    if (!t.ok()) return 0;
    inputs[info.name] = std::move(*t);
  }
  (void)(*model)->Run(inputs);
  return 0;
}
