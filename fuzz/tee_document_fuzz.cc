// libFuzzer target: AWS Nitro attestation documents (COSE_Sign1/CBOR, X.509 inside), the
// untrusted bytes a RegisterEnclave transaction carries. Input: raw CBOR or base64.
#include <cstdlib>

#include "tee/nitro.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto bytes = lucid::tee::DecodeDocumentFile(lucid::ByteView(data, size));
  if (!bytes.ok()) return 0;
  auto doc = lucid::tee::ParseNitroDocument(*bytes);
  // Every check runs on whatever parsed (certificates, chain building, ES384), at the
  // document's own time against the pinned root.
  lucid::tee::VerifyOptions options;
  options.time_ms = doc.ok() ? static_cast<int64_t>(doc->timestamp_ms & 0x7fffffffffffull) : 0;
  lucid::tee::NitroReport report = lucid::tee::CheckNitroDocument(*bytes, options);
  // The report and the parser agree on whether the document parsed.
  if (report.document.has_value() != doc.ok()) std::abort();
  if (report.ok() != report.status().ok()) std::abort();
  return 0;
}
