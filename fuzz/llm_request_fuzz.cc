// libFuzzer target: the LLM request parsers that take untrusted bytes (src/llm/request.h):
// OpenAI /v1/chat/completions and /v1/completions bodies (JSON from any HTTP client), the
// canonical LlmRequest encoding (an "llm_request" input tensor inside a signed request) and
// the canonical answer (an "llm_output" tensor in a result bundle).
// Checks: no crash; a parsed OpenAI body encodes canonically and decodes back to the same bytes;
// a decoded canonical request re-encodes to exactly its input bytes (the answer: no crash).
#include <cstdlib>
#include <string>
#include <string_view>

#include "crypto/cid.h"
#include "llm/request.h"

using namespace lucid;
using namespace lucid::llm;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  static const std::string model = crypto::Cid::Of(ToBytes("llm_request_fuzz model")).ToString();
  for (const bool chat : {true, false}) {
    LlmRequest req;
    ApiError error;
    if (!ParseOpenAiRequest(text, chat, model, &req, &error)) continue;
    // As the API does: a body without max_tokens gets it from the context left.
    if (req.max_tokens < 0) req.max_tokens = kDefaultMaxTokens;
    const Bytes encoded = req.Encode();
    auto back = LlmRequest::Decode(encoded);
    if (!back.ok() || back->Encode() != encoded) std::abort();  // the parser built a request Decode refuses
  }
  const ByteView bytes(data, size);
  if (auto decoded = LlmRequest::Decode(bytes); decoded.ok()) {
    if (decoded->Encode() != Bytes(bytes.begin(), bytes.end())) std::abort();  // not canonical, yet accepted
  }
  auto out_tensor = Tensor::FromBytes(DType::kUint8, {static_cast<int64_t>(size)}, Bytes(bytes.begin(), bytes.end()));
  auto tokens = Tensor::FromBytes(DType::kInt32, {0}, Bytes());
  if (out_tensor.ok() && tokens.ok()) {
    TensorMap outputs;
    outputs.emplace("llm_output", std::move(*out_tensor));
    outputs.emplace("tokens", std::move(*tokens));
    (void)LlmOutput::FromOutputs(outputs);
  }
  return 0;
}
