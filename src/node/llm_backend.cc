#include "node/llm_backend.h"

namespace lucid::node {

Result<std::shared_ptr<const llm::Model>> LoadGgufVersion(hub::Hub* hub, const crypto::Cid& manifest_cid) {
  ASSIGN_OR_RETURN(hub::Manifest manifest, hub->GetManifest(manifest_cid));
  if (manifest.format != "gguf") return InvalidArgument("model " + manifest_cid.ToString() + " is not a GGUF version");
  const hub::ManifestFile* file = manifest.FindFile(manifest.model_file);
  if (file == nullptr) return DataLoss("manifest lists no model file");
  ASSIGN_OR_RETURN(Bytes bytes, hub->GetFile(file->cid));  // checked against its CID
  return llm::Model::LoadBytes(std::make_shared<const Bytes>(std::move(bytes)));
}

std::function<Result<std::vector<TensorMap>>(std::shared_ptr<const Bytes>, const std::vector<TensorMap>&)>
MakeHubLlmRunner(int threads) {
  return [threads](std::shared_ptr<const Bytes> gguf,
                   const std::vector<TensorMap>& inputs) -> Result<std::vector<TensorMap>> {
    ASSIGN_OR_RETURN(std::shared_ptr<const llm::Model> model, llm::Model::LoadBytes(std::move(gguf)));
    llm::Engine engine(model, llm::EngineOptions{threads, 1, 0});
    std::vector<TensorMap> outputs;
    for (size_t i = 0; i < inputs.size(); ++i) {
      auto req = llm::LlmRequest::FromInputs(inputs[i]);
      if (!req.ok()) return req.status().WithContext("test vector " + std::to_string(i));
      auto out = llm::RunRequest(engine, *req);
      if (!out.ok()) return out.status().WithContext("test vector " + std::to_string(i));
      outputs.push_back(out->ToOutputs());
    }
    return outputs;
  };
}

Result<std::shared_ptr<llm::Engine>> EngineLlmBackend::EngineFor(const crypto::Cid& model) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = engines_.find(model.ToString());
  if (it != engines_.end()) return it->second;
  ASSIGN_OR_RETURN(std::shared_ptr<const llm::Model> m, LoadGgufVersion(hub_, model));
  auto engine = std::make_shared<llm::Engine>(std::move(m), options_);
  // Before serving a version: its test vectors must give the manifest's output hashes.
  ASSIGN_OR_RETURN(hub::Manifest manifest, hub_->GetManifest(model));
  if (manifest.test_vectors) {
    ASSIGN_OR_RETURN(Bytes raw, hub_->GetFile(manifest.test_vectors->cid));
    ASSIGN_OR_RETURN(std::vector<hub::TestVector> vectors, hub::ParseTestVectors(raw));
    if (vectors.size() != manifest.test_vectors->output_hashes.size())
      return DataLoss("test vectors blob and manifest disagree on the count");
    for (size_t i = 0; i < vectors.size(); ++i) {
      ASSIGN_OR_RETURN(llm::LlmRequest req, llm::LlmRequest::FromInputs(vectors[i].inputs));
      ASSIGN_OR_RETURN(llm::LlmOutput out, llm::RunRequest(*engine, req));
      if (HashTensorMap(out.ToOutputs()) != manifest.test_vectors->output_hashes[i])
        return FailedPrecondition("model " + model.ToString() + ": test vector " + std::to_string(i) +
                                  " does not reproduce on this node; not serving it");
    }
  }
  engines_.emplace(model.ToString(), engine);
  return engine;
}

Result<llm::LlmRequest> EngineLlmBackend::RequestFor(const crypto::Cid& model, const TensorMap& inputs) {
  ASSIGN_OR_RETURN(llm::LlmRequest req, llm::LlmRequest::FromInputs(inputs));
  if (req.model != model.ToString())
    return InvalidArgument("the LLM request names model " + req.model + ", the signed request " + model.ToString());
  return req;
}

Result<TensorMap> EngineLlmBackend::Run(const crypto::Cid& model, const TensorMap& inputs,
                                        const std::function<bool(std::string_view)>& on_text, LlmRunInfo* info) {
  ASSIGN_OR_RETURN(llm::LlmRequest req, RequestFor(model, inputs));
  ASSIGN_OR_RETURN(std::shared_ptr<llm::Engine> engine, EngineFor(model));
  llm::RunStats stats;
  ASSIGN_OR_RETURN(llm::LlmOutput out, llm::RunRequest(*engine, req, &stats, on_text));
  if (info) *info = LlmRunInfo{stats.prompt_tokens, stats.prefill_ms, stats.decode_ms};
  return out.ToOutputs();
}

Result<std::pair<int32_t, int32_t>> EngineLlmBackend::Budget(const crypto::Cid& model, const TensorMap& inputs) {
  ASSIGN_OR_RETURN(llm::LlmRequest req, RequestFor(model, inputs));
  ASSIGN_OR_RETURN(std::shared_ptr<llm::Engine> engine, EngineFor(model));
  const llm::Model& m = engine->model();
  ASSIGN_OR_RETURN(std::vector<int32_t> prompt, llm::PromptTokens(req, m.tokenizer(), m.chat_template()));
  int32_t context = engine->options().max_context > 0 ? engine->options().max_context : m.info().context_length;
  return std::pair<int32_t, int32_t>{static_cast<int32_t>(prompt.size()), context};
}

}  // namespace lucid::node
