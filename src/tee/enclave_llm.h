// The dev enclave's LLM engine (tee/enclave.h EnclaveLlm): GGUF versions' canonical requests
// run with llm::RunRequest, the one function the node's vanilla path, publication checks and
// `lucid verify --replay` use, so a tee answer is bit for bit the vanilla one.
// Thread-safety: Run and ModelFile may be called concurrently (one engine per version,
// concurrent requests batched by it).
#pragma once

#include <memory>

#include "tee/enclave.h"

namespace lucid::tee {

// threads: engine threads; engines: versions kept loaded (oldest dropped).
std::shared_ptr<const EnclaveLlm> MakeEngineEnclaveLlm(int threads, size_t engines = 2);

}  // namespace lucid::tee
