// libFuzzer target: model version manifests and test vector files, the hub's untrusted JSON.
#include <algorithm>
#include <cstdlib>

#include "hub/manifest.h"
#include "hub/test_vectors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const lucid::ByteView input(data, size);
  if (auto m = lucid::hub::ParseManifest(input); m.ok()) {
    // Only canonical bytes parse, so serialising gives the input back.
    auto again = lucid::hub::SerializeManifest(*m);
    if (!again.ok() || again->size() != size || !std::equal(again->begin(), again->end(), input.begin()))
      std::abort();
  }
  (void)lucid::hub::ParseTestVectors(input);
  return 0;
}
