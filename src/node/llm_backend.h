// The node's LLM runner (node::LlmBackend) over the engine (llm/engine.h): loads a GGUF
// version through the hub (every byte checked against its CID), keeps one Engine per
// version (continuous batching of concurrent requests), and runs requests with
// llm::RunRequest, the same function `lucid verify --replay` and publication checks use.
// Thread-safety: thread-safe (engines are created under a mutex; Engine is thread-safe).
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "hub/hub.h"
#include "llm/engine.h"
#include "llm/request.h"
#include "node/inference_node.h"

namespace lucid::node {

// Loads the GGUF model of a version (the manifest's model_file) through the hub.
Result<std::shared_ptr<const llm::Model>> LoadGgufVersion(hub::Hub* hub, const crypto::Cid& manifest_cid);

// HubOptions::run_llm over the engine: loads the GGUF bytes once and runs each request with
// llm::RunRequest (publication checks and a node's check before serving).
std::function<Result<std::vector<TensorMap>>(std::shared_ptr<const Bytes>, const std::vector<TensorMap>&)>
MakeHubLlmRunner(int threads);

// The API key the devnet maps to the requester dev1 (docs/llm.md "Trust model").
inline constexpr char kDevApiKey[] = "lucid-dev-key";

class EngineLlmBackend : public LlmBackend {
 public:
  EngineLlmBackend(hub::Hub* hub, llm::EngineOptions options) : hub_(hub), options_(options) {}

  Result<TensorMap> Run(const crypto::Cid& model, const TensorMap& inputs,
                        const std::function<bool(std::string_view)>& on_text, LlmRunInfo* info) override;
  Result<std::pair<int32_t, int32_t>> Budget(const crypto::Cid& model, const TensorMap& inputs) override;

  Result<std::shared_ptr<llm::Engine>> EngineFor(const crypto::Cid& model);

 private:
  Result<llm::LlmRequest> RequestFor(const crypto::Cid& model, const TensorMap& inputs);
  hub::Hub* hub_;
  llm::EngineOptions options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<llm::Engine>> engines_;  // by manifest CID; guarded by mu_
};

}  // namespace lucid::node
