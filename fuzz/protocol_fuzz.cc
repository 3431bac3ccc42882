// libFuzzer target: every protocol decoder on arbitrary bytes. A decoder must never crash,
// and a value it accepts must re-encode to exactly the input (one encoding per value).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "protocol/types.h"

namespace {

template <typename T>
void RoundTrip(lucid::ByteView input) {
  auto decoded = T::Decode(input);
  if (!decoded.ok()) return;
  const lucid::Bytes again = decoded->Encode();
  if (again.size() != input.size() || !std::equal(again.begin(), again.end(), input.begin())) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const lucid::ByteView input(data, size);
  RoundTrip<lucid::protocol::SignedTx>(input);
  RoundTrip<lucid::protocol::Receipt>(input);
  RoundTrip<lucid::protocol::SignedRequest>(input);
  RoundTrip<lucid::protocol::Evidence>(input);
  RoundTrip<lucid::protocol::SignedHeader>(input);
  RoundTrip<lucid::protocol::InferenceRequest>(input);
  RoundTrip<lucid::protocol::BlockHeader>(input);
  return 0;
}
