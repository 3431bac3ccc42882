#include "cli/hub_fetch.h"

#include <memory>

#include "llm/engine.h"
#include "llm/request.h"
#include "onnx/model.h"

namespace lucid::cli {

Result<std::pair<hub::Manifest, Bytes>> FetchManifest(const api::ApiClient& api, const crypto::Cid& cid) {
  ASSIGN_OR_RETURN(Bytes bytes, api.GetRaw("/hub/manifests/" + cid.ToString()));
  RETURN_IF_ERROR(cid.Check(bytes));
  ASSIGN_OR_RETURN(hub::Manifest m, hub::ParseManifest(bytes));
  return std::make_pair(std::move(m), std::move(bytes));
}

Result<Bytes> FetchFile(const api::ApiClient& api, const hub::ManifestFile& f, const api::TransferProgress& progress) {
  ASSIGN_OR_RETURN(Bytes bytes, api.GetRaw("/hub/files/" + f.cid.ToString(), progress));
  RETURN_IF_ERROR(f.cid.Check(bytes).WithContext(f.path));
  if (bytes.size() != f.size) return DataLoss(f.path + ": size differs from the manifest");
  return bytes;
}

Result<TensorMap> ReexecuteLocally(const api::ApiClient& api, const protocol::Receipt& receipt,
                                   const TensorMap& inputs, const TensorMap* claimed_outputs) {
  ASSIGN_OR_RETURN(auto manifest, FetchManifest(api, receipt.model));
  const hub::ManifestFile* f = manifest.first.FindFile(manifest.first.model_file);
  if (!f) return DataLoss("manifest lacks its model file");
  ASSIGN_OR_RETURN(Bytes model_bytes, FetchFile(api, *f));
  if (manifest.first.format != "gguf") {
    ASSIGN_OR_RETURN(auto model, onnx::Model::Load(model_bytes));
    return model->Run(inputs);
  }
  // LLM: regenerate with the engine from the canonical request; compare every byte.
  ASSIGN_OR_RETURN(llm::LlmRequest llm_request, llm::LlmRequest::FromInputs(inputs));
  if (llm_request.model != receipt.model.ToString())
    return DataLoss("the LLM request names model " + llm_request.model + ", the receipt " + receipt.model.ToString());
  ASSIGN_OR_RETURN(auto model, llm::Model::LoadBytes(std::make_shared<const Bytes>(std::move(model_bytes))));
  llm::Engine engine(model, llm::EngineOptions{});
  ASSIGN_OR_RETURN(llm::LlmOutput out, llm::RunRequest(engine, llm_request));
  if (claimed_outputs != nullptr) {
    auto c = llm::LlmOutput::FromOutputs(*claimed_outputs);
    if (c.ok() && c->tokens != out.tokens) {
      size_t k = 0;
      while (k < c->tokens.size() && k < out.tokens.size() && c->tokens[k] == out.tokens[k]) ++k;
      return DataLoss("regenerated tokens differ from the answer's at position " + std::to_string(k) + " (" +
                      std::to_string(out.tokens.size()) + " vs " + std::to_string(c->tokens.size()) + " tokens)");
    }
    if (c.ok() && c->EncodeOutput() != out.EncodeOutput())
      return DataLoss("regenerated text or tool calls differ from the answer's");
  }
  return out.ToOutputs();
}

}  // namespace lucid::cli
