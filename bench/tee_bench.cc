// tee figures of issue 6: attestation verification (a real AWS Nitro document, verified at its
// own timestamp against the pinned root, with and without the CA caches) and the per-receipt
// check validators run (verify::VerifyEvidence on a tee receipt: secp256k1 recovery of the
// enclave signature plus the registration checks). Reported as microseconds per call.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "crypto/secp256k1.h"
#include "protocol/types.h"
#include "tee/nitro.h"
#include "verify/sig_cache.h"
#include "verify/verify.h"

namespace {

using namespace lucid;

// tests/data/tee/epsilon_2026-02-06.b64 (provenance in tests/data/tee/PROVENANCE.md).
constexpr const char* kDocument = "tests/data/tee/epsilon_2026-02-06.b64";
constexpr int64_t kDocumentTimeMs = 1770366258452;

Bytes RealDocument() {
  const char* root = std::getenv("LUCID_SOURCE_DIR");
  std::ifstream f(std::string(root ? root : ".") + "/" + kDocument, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto doc = tee::DecodeDocumentFile(Bytes(text.begin(), text.end()));
  return doc.ok() ? *doc : Bytes{};
}

void AttestationVerify(benchmark::State& state, bool ca_cache) {
  const Bytes doc = RealDocument();
  if (doc.empty()) {
    state.SkipWithError("cannot read the real document (run from the repo root or set LUCID_SOURCE_DIR)");
    return;
  }
  tee::VerifyOptions options;
  options.time_ms = kDocumentTimeMs;
  options.ca_cache = ca_cache;
  for (auto _ : state) {
    auto v = tee::VerifyNitroDocument(doc, options);
    if (!v.ok()) {
      state.SkipWithError(v.status().ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(v);
  }
}

void BM_AttestationVerifyUncached(benchmark::State& state) { AttestationVerify(state, false); }
void BM_AttestationVerifyCached(benchmark::State& state) { AttestationVerify(state, true); }

void BM_TeeReceiptCheck(benchmark::State& state) {
  const crypto::PrivateKey enclave = crypto::PrivateKey::FromSeed("bench enclave");
  protocol::Receipt receipt;
  receipt.chain_id = "bench";
  receipt.mode = protocol::Mode::kTee;
  receipt.engine = "lucid-onnx/f32-canonical/1";
  receipt.fee = 7;
  const protocol::Evidence evidence = verify::MakeTeeEvidence(receipt, enclave);
  verify::EnclaveView view;
  view.enclave_address = enclave.address();
  view.pcr0 = Bytes(48, 1);
  view.expires_at_ms = 2'000'000;
  view.pcr0_allowed = true;
  // The first sight of a receipt is what validators pay for: measure the secp256k1 recovery,
  // not a hit in the process's signature cache (verify/sig_cache.h).
  const size_t cache = verify::SignatureCacheCapacity();
  verify::SetSignatureCacheCapacity(0);
  for (auto _ : state) {
    Status st = verify::VerifyEvidence(receipt, evidence, std::nullopt, view, 1'000'000);
    if (!st.ok()) {
      state.SkipWithError(st.ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(st);
  }
  verify::SetSignatureCacheCapacity(cache);
}

BENCHMARK(BM_AttestationVerifyUncached)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AttestationVerifyCached)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TeeReceiptCheck)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
