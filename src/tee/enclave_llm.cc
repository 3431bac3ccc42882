#include "tee/enclave_llm.h"

#include <deque>
#include <map>
#include <mutex>

#include "hub/manifest.h"
#include "llm/engine.h"
#include "llm/request.h"

namespace lucid::tee {

namespace {

class EngineEnclaveLlm : public EnclaveLlm {
 public:
  EngineEnclaveLlm(int threads, size_t engines) : threads_(threads), max_engines_(std::max<size_t>(1, engines)) {}

  Result<std::pair<crypto::Cid, uint64_t>> ModelFile(ByteView manifest) const override {
    auto m = hub::ParseManifest(manifest);
    if (!m.ok()) return m.status().WithContext("manifest");
    if (m->format != "gguf") return InvalidArgument("the manifest is a " + m->format + " version, not GGUF (LLM)");
    const hub::ManifestFile* f = m->FindFile(m->model_file);
    if (f == nullptr) return DataLoss("manifest lists no model file");
    return std::make_pair(f->cid, f->size);
  }

  Result<LlmRun> Run(const crypto::Cid& manifest_cid, ByteView manifest, std::shared_ptr<const Bytes> gguf,
                     const TensorMap& inputs, const std::function<bool(std::string_view)>& on_text) const override {
    ASSIGN_OR_RETURN(llm::LlmRequest req, llm::LlmRequest::FromInputs(inputs));
    if (req.model != manifest_cid.ToString())
      return InvalidArgument("the LLM request names model " + req.model + ", the receipt " + manifest_cid.ToString());
    (void)manifest;
    ASSIGN_OR_RETURN(std::shared_ptr<llm::Engine> engine, EngineFor(manifest_cid, std::move(gguf)));
    llm::RunStats stats;
    ASSIGN_OR_RETURN(llm::LlmOutput out, llm::RunRequest(*engine, req, &stats, on_text));
    LlmRun run;
    run.outputs = out.ToOutputs();
    run.engine = std::string(llm::kLlmEngineId);
    run.prompt_tokens = stats.prompt_tokens;
    run.prefill_ms = stats.prefill_ms;
    run.decode_ms = stats.decode_ms;
    return run;
  }

 private:
  Result<std::shared_ptr<llm::Engine>> EngineFor(const crypto::Cid& manifest_cid,
                                                 std::shared_ptr<const Bytes> gguf) const {
    std::lock_guard<std::mutex> lock(mu_);  // one load at a time; runs are outside the lock
    auto it = engines_.find(manifest_cid);
    if (it != engines_.end()) return it->second;
    auto model = llm::Model::LoadBytes(std::move(gguf));
    if (!model.ok()) return model.status().WithContext("GGUF model file");
    auto engine = std::make_shared<llm::Engine>(std::move(*model), llm::EngineOptions{threads_, 8, 0});
    while (engines_.size() >= max_engines_ && !order_.empty()) {
      engines_.erase(order_.front());
      order_.pop_front();
    }
    engines_[manifest_cid] = engine;
    order_.push_back(manifest_cid);
    return engine;
  }

  int threads_;
  size_t max_engines_;
  mutable std::mutex mu_;
  mutable std::map<crypto::Cid, std::shared_ptr<llm::Engine>> engines_;  // guarded by mu_
  mutable std::deque<crypto::Cid> order_;                                // guarded by mu_
};

}  // namespace

std::shared_ptr<const EnclaveLlm> MakeEngineEnclaveLlm(int threads, size_t engines) {
  return std::make_shared<const EngineEnclaveLlm>(threads, engines);
}

}  // namespace lucid::tee
