// libFuzzer target: tensor decoders (canonical bytes, named tensor sets, JSON). Accepted
// values must re-encode to the input (canonical bytes) and never crash.
#include <algorithm>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "tensor/tensor.h"
#include "tensor/tensor_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const lucid::ByteView input(data, size);
  if (auto t = lucid::Tensor::FromCanonicalBytes(input); t.ok()) {
    lucid::Bytes again = t->CanonicalBytes();
    if (again.size() != size || !std::equal(again.begin(), again.end(), input.begin())) std::abort();
  }
  if (auto m = lucid::DecodeTensorMap(input); m.ok()) {
    lucid::Bytes again = lucid::EncodeTensorMap(*m);
    if (again.size() != size || !std::equal(again.begin(), again.end(), input.begin())) std::abort();
  }
  nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (!j.is_discarded()) {
    auto m = lucid::TensorMapFromJson(j);
    if (m.ok()) {
      // The JSON view round-trips exactly.
      auto again = lucid::TensorMapFromJson(lucid::TensorMapToJson(*m));
      if (!again.ok() || !(*again == *m)) std::abort();
    }
  }
  return 0;
}
