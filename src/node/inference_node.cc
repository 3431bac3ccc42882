#include "node/inference_node.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "base/metrics.h"
#include "onnx/model.h"
#include "tee/enclave.h"
#include "verify/verify.h"

namespace lucid::node {

using protocol::Mode;

// Receipt engine id of LLM answers (llm/request.h kLlmEngineId; the node does not link llm/).
constexpr std::string_view kLlmEngineId = "lucid-llm/1";

protocol::SignedTx MakeTx(const crypto::PrivateKey& key, std::string chain_id, uint64_t nonce,
                          uint64_t max_tx_fee, protocol::TxBody body) {
  protocol::Tx tx;
  tx.chain_id = std::move(chain_id);
  tx.from = key.address();
  tx.nonce = nonce;
  tx.max_tx_fee = max_tx_fee;
  tx.body = std::move(body);
  return protocol::SignedTx::Sign(std::move(tx), key);
}

Result<BroadcastResult> SendAndWait(ChainAccess& chain, const crypto::PrivateKey& key, protocol::TxBody body,
                                    std::chrono::milliseconds wait) {
  ASSIGN_OR_RETURN(chain::Account account, chain.GetAccount(key.address()));
  const protocol::SignedTx tx = MakeTx(key, chain.GenesisInfo().chain_id, account.nonce, 10'000'000, std::move(body));
  ASSIGN_OR_RETURN(BroadcastResult r, chain.Broadcast(tx.Encode(), wait));
  if (r.check.code != chain::TxCode::kOk)
    return FailedPrecondition("tx refused: " + std::string(chain::TxCodeName(r.check.code)) + ": " + r.check.log);
  if (!r.deliver) return Unavailable("tx not included within " + std::to_string(wait.count()) + " ms");
  if (r.deliver->code != chain::TxCode::kOk)
    return FailedPrecondition("tx failed in its block: " + std::string(chain::TxCodeName(r.deliver->code)) + ": " +
                              r.deliver->log);
  return r;
}

InferenceNode::InferenceNode(NodeConfig config, hub::Hub* hub, ChainAccess* chain)
    : config_(std::move(config)), address_(config_.key.address()), hub_(hub), chain_(chain) {}

InferenceNode::~InferenceNode() {
  StopAsyncWatcher();  // it runs Infer: stopped before the prover and the heartbeat
  {
    std::lock_guard<std::mutex> lock(zk_mu_);
    stopping_ = true;
  }
  prove_cv_.notify_all();
  if (prover_.joinable()) prover_.join();
  {
    std::lock_guard<std::mutex> lock(enclave_mu_);
    heartbeat_stop_ = true;
  }
  heartbeat_cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
}

Result<Hash32> InferenceNode::AttestEnclave(std::chrono::milliseconds wait_for_inclusion) {
  if (config_.enclave_addr.empty()) return FailedPrecondition("this node has no enclave (--enclave ADDR)");
  tee::EnclaveClient client(config_.enclave_addr);
  // The document names this node (the chain requires it: protocol::EnclaveNonce).
  ASSIGN_OR_RETURN(tee::EnclaveClient::Attestation a, client.Attest(protocol::EnclaveNonce(config_.key.address())));
  if (a.public_key.size() != 65 || a.public_key[0] != 0x04)
    return DataLoss("the enclave's public key is not a 65-byte uncompressed point");
  std::array<uint8_t, 64> xy{};
  std::copy(a.public_key.begin() + 1, a.public_key.end(), xy.begin());
  protocol::RegisterEnclaveTx tx{a.public_key, a.document};
  BroadcastResult submitted;
  ASSIGN_OR_RETURN(Hash32 hash, SubmitTx(std::move(tx), wait_for_inclusion, &submitted));
  std::lock_guard<std::mutex> lock(enclave_mu_);
  enclave_address_ = crypto::AddressFromPublicKey(xy);
  enclave_pcr0_ = a.pcr0;
  spdlog::info("tee: registered enclave key {} (pcr0 {}...) in tx {}", enclave_address_->ToHex(),
               ToHex(a.pcr0).substr(0, 16), ToHex(hash));
  return hash;
}

void InferenceNode::StartEnclaveHeartbeat(std::chrono::milliseconds period) {
  std::lock_guard<std::mutex> lock(enclave_mu_);
  if (heartbeat_.joinable()) return;
  heartbeat_ = std::thread([this, period] {
    std::unique_lock<std::mutex> lock(enclave_mu_);
    while (!heartbeat_cv_.wait_for(lock, period, [&] { return heartbeat_stop_; })) {
      lock.unlock();
      auto r = AttestEnclave(std::chrono::seconds(30));
      if (!r.ok()) spdlog::warn("tee: re-attestation failed: {}", r.status().ToString());
      lock.lock();
    }
  });
}

Status InferenceNode::ExecuteInEnclave(const protocol::InferenceRequest& req, const TensorMap& inputs,
                                       InferenceResult& out, const std::function<bool(std::string_view)>& on_text) {
  if (config_.enclave_addr.empty()) return FailedPrecondition("this node has no enclave (--enclave ADDR)");
  std::optional<crypto::Address> enclave_address;
  {
    std::lock_guard<std::mutex> lock(enclave_mu_);
    enclave_address = enclave_address_;
  }
  if (!enclave_address) return FailedPrecondition("the node's enclave is not registered yet");
  ASSIGN_OR_RETURN(hub::Manifest manifest, hub_->GetManifest(req.model));
  const hub::ManifestFile* file = manifest.FindFile(manifest.model_file);
  if (file == nullptr) return DataLoss("manifest has no file named " + manifest.model_file);
  const bool gguf = manifest.format == "gguf";
  protocol::Receipt& receipt = out.result.receipt;
  tee::EnclaveClient client(config_.enclave_addr);
  tee::ExecuteResult r;
  if (gguf) {
    // LLM: the enclave gets the manifest (its CID is the receipt's model) and the canonical
    // request; the model file only when it does not hold it yet (checked there by its CID).
    ASSIGN_OR_RETURN(Bytes manifest_bytes, hub_->GetFile(req.model));
    const crypto::Cid file_cid = file->cid;
    auto model_file = [this, file_cid]() { return hub_->GetFile(file_cid); };
    ASSIGN_OR_RETURN(r, client.ExecuteLlm(manifest_bytes, model_file, inputs, receipt, on_text));
    if (r.receipt.engine != kLlmEngineId)
      return DataLoss("the enclave answered with engine '" + r.receipt.engine + "', not " + std::string(kLlmEngineId));
    out.llm = LlmRunInfo{r.prompt_tokens, r.prefill_ms, r.decode_ms};
  } else {
    // The model file, every byte checked against its CID by the hub.
    ASSIGN_OR_RETURN(Bytes model_bytes, hub_->GetFile(file->cid));
    ASSIGN_OR_RETURN(r, client.Execute(model_bytes, inputs, receipt));
  }
  // The enclave may fill in only the output hash and the engine.
  protocol::Receipt expected = receipt;
  expected.output_hash = r.receipt.output_hash;
  expected.engine = r.receipt.engine;
  if (r.receipt.Encode() != expected.Encode()) return DataLoss("the enclave changed receipt fields it does not own");
  if (HashTensorMap(r.outputs) != r.receipt.output_hash) return DataLoss("the enclave's outputs do not match its receipt");
  receipt = r.receipt;
  out.result.evidence = protocol::Evidence{Mode::kTee, Bytes(r.signature.begin(), r.signature.end())};
  out.outputs = std::move(r.outputs);
  // The signature must recover to the enclave key this node registered.
  auto signer = crypto::RecoverAddress(protocol::SigningDigest(receipt.Id()), r.signature);
  if (!signer.ok()) return DataLoss("the enclave's receipt signature does not recover to a key");
  if (*signer != *enclave_address) {
    // A restarted enclave has a new key: register it (with a fresh attestation document that
    // binds it) before submitting, so the receipt settles under the new registration.
    spdlog::info("tee: the enclave signs with key {}, not the registered {} (restarted?); re-attesting",
                 signer->ToHex(), enclave_address->ToHex());
    RETURN_IF_ERROR(AttestEnclave(std::chrono::seconds(30)).status().WithContext("re-attesting the enclave"));
    std::lock_guard<std::mutex> lock(enclave_mu_);
    if (enclave_address_ != *signer)
      return FailedPrecondition("the enclave signed with key " + signer->ToHex() + " but attested key " +
                                (enclave_address_ ? enclave_address_->ToHex() : std::string("none")));
  }
  return Status::Ok();
}

void InferenceNode::ProverLoop() {
  for (;;) {
    ProveTask task;
    {
      std::unique_lock<std::mutex> lock(zk_mu_);
      prove_cv_.wait(lock, [&] { return stopping_ || !prove_queue_.empty(); });
      if (stopping_) {
        for (const ProveTask& left : prove_queue_)
          proof_jobs_[left.receipt_id] = ProofJob{ProofJob::State::kFailed, "the node stopped before proving", {}};
        prove_queue_.clear();
        metrics::Global().zkml_proofs_waiting.Set(0);
        return;
      }
      task = std::move(prove_queue_.front());
      prove_queue_.pop_front();
      metrics::Global().zkml_proofs_waiting.Set(static_cast<int64_t>(prove_queue_.size()));
    }
    ProveAndSubmit(task);
  }
}

namespace {
// Counts an inference for /metrics (base/metrics.h): in flight while it lives, then ok with
// its latency, or error. Lock-free.
class InferenceMeter {
 public:
  explicit InferenceMeter(Mode mode) : mode_(static_cast<size_t>(mode) % metrics::kModes) {
    metrics::Global().inference_in_flight.Add(1);
  }
  ~InferenceMeter() {
    metrics::Registry& m = metrics::Global();
    m.inference_in_flight.Add(-1);
    if (ok_) {
      m.inference_seconds[mode_].Observe(metrics::SecondsSince(t0_));
      m.inference_ok[mode_].Inc();
    } else {
      m.inference_error[mode_].Inc();
    }
  }
  InferenceMeter(const InferenceMeter&) = delete;
  InferenceMeter& operator=(const InferenceMeter&) = delete;
  void Ok() { ok_ = true; }

 private:
  size_t mode_;
  std::chrono::steady_clock::time_point t0_ = std::chrono::steady_clock::now();
  bool ok_ = false;
};
}  // namespace

std::string_view ProofStateName(ProofJob::State s) {
  switch (s) {
    case ProofJob::State::kProving: return "proving";
    case ProofJob::State::kSubmitted: return "submitted";
    case ProofJob::State::kFailed: return "failed";
  }
  return "unknown";
}

Result<ProofJob> InferenceNode::ProofStatus(const Hash32& receipt_id) const {
  std::lock_guard<std::mutex> lock(zk_mu_);
  auto it = proof_jobs_.find(receipt_id);
  if (it == proof_jobs_.end()) return NotFound("this node has no zkml proof job for receipt " + ToHex(receipt_id));
  return it->second;
}

Result<std::shared_ptr<const zkml::ProvingKey>> InferenceNode::ProvingKeyFor(const crypto::Cid& model,
                                                                            const Hash32& chain_commitment) {
  {
    std::lock_guard<std::mutex> lock(zk_mu_);
    auto it = proving_keys_.find(model.ToString());
    if (it != proving_keys_.end()) return it->second;
  }
  ASSIGN_OR_RETURN(hub::Manifest manifest, hub_->GetManifest(model));
  const hub::ManifestFile* file = manifest.FindFile(manifest.model_file);
  if (file == nullptr) return DataLoss("manifest lists no model file");
  ASSIGN_OR_RETURN(Bytes bytes, hub_->GetFile(file->cid));
  ASSIGN_OR_RETURN(zkml::ProvingKey key, zkml::Setup(bytes));
  if (key.model_commitment != chain_commitment)
    return DataLoss("the model file gives zkml commitment " + ToHex(key.model_commitment) + ", the chain records " +
                    ToHex(chain_commitment));
  auto shared = std::make_shared<const zkml::ProvingKey>(std::move(key));
  std::lock_guard<std::mutex> lock(zk_mu_);
  proving_keys_.emplace(model.ToString(), shared);
  return shared;
}

void InferenceNode::ProveAndSubmit(const ProveTask& task) {
  const zkml::ProvingKey* key = task.key.get();
  const Hash32& receipt_id = task.receipt_id;
  protocol::SubmitResultTx result = task.result;
  const auto t0 = std::chrono::steady_clock::now();
  auto finish = [&](ProofJob::State state, std::string detail, Hash32 tx_hash = {}) {
    if (state == ProofJob::State::kFailed) spdlog::warn("zkml: receipt {}: {}", ToHex(receipt_id), detail);
    metrics::Registry& m = metrics::Global();
    if (state == ProofJob::State::kSubmitted) {
      m.zkml_proof_seconds.Observe(metrics::SecondsSince(t0));
      m.zkml_proofs_submitted.Inc();
    } else {
      m.zkml_proofs_failed.Inc();
    }
    std::lock_guard<std::mutex> lock(zk_mu_);
    proof_jobs_[receipt_id] = ProofJob{state, std::move(detail), tx_hash};
  };
  zkml::ProveOptions options;
  options.threads = std::max(1, config_.threads);
  auto proof = zkml::Prove(*key, task.inputs, options);
  if (!proof.ok()) return finish(ProofJob::State::kFailed, "proving: " + proof.status().ToString());
  if (proof->outputs != task.outputs)
    return finish(ProofJob::State::kFailed, "the circuit's outputs differ from the engine's (not submitted)");
  result.evidence = protocol::Evidence{Mode::kZkml, std::move(proof->proof)};
  size_t proof_bytes = result.evidence.data.size();
  verify::ChainView view{chain_->Info().chain_id, true, key->model_commitment};
  if (!verify::VerifyResult(result, view).ok())
    return finish(ProofJob::State::kFailed, "the node's own verifier refuses its proof (not submitted)");
  BroadcastResult submitted;
  auto tx_hash = SubmitTx(result, std::chrono::milliseconds(0), &submitted);
  if (!tx_hash.ok()) return finish(ProofJob::State::kFailed, "submitting: " + tx_hash.status().ToString());
  spdlog::info("zkml: receipt {} proved in {:.0f} ms ({} bytes), submitted in tx {}", ToHex(receipt_id),
               proof->timings.prove_ms + proof->timings.commit_ms, proof_bytes, ToHex(*tx_hash));
  finish(ProofJob::State::kSubmitted,
         "prove " + std::to_string(static_cast<int64_t>(proof->timings.prove_ms + proof->timings.commit_ms)) +
             " ms, " + std::to_string(proof_bytes) + " bytes",
         *tx_hash);
}

Result<chain::VersionEntry> InferenceNode::PublishedVersion(const crypto::Cid& model) {
  // Find the version entry by manifest CID through its manifest's name and version.
  ASSIGN_OR_RETURN(hub::Manifest manifest, hub_->GetManifest(model));
  ASSIGN_OR_RETURN(chain::VersionEntry entry, chain_->ResolveModel(manifest.name + "@" + manifest.version()));
  if (entry.manifest != model)
    return NotFound("model " + model.ToString() + " is not a published version of " + manifest.name);
  return entry;
}

Result<uint64_t> InferenceNode::QuoteFee(const crypto::Cid& model, Mode mode) {
  ASSIGN_OR_RETURN(chain::VersionEntry entry, PublishedVersion(model));
  const uint64_t fee = config_.FeeFor(mode);
  if (entry.price > UINT64_MAX - fee) return OutOfRange("fee overflows");
  return fee + entry.price;
}

Result<InferenceResult> InferenceNode::Infer(const protocol::SignedRequest& signed_request,
                                             const TensorMap& inputs,
                                             std::chrono::milliseconds wait_for_inclusion,
                                             const std::function<bool(std::string_view)>& on_text) {
  const protocol::InferenceRequest& req = signed_request.request;
  InferenceMeter meter(req.mode);
  chain::AppInfo info = chain_->Info();
  if (req.chain_id != info.chain_id)
    return InvalidArgument("request is for chain '" + req.chain_id + "', this node serves '" + info.chain_id + "'");
  // A pending async request assigned to this node (docs/settlement.md) is paid from its escrow
  // and was checked when posted (its nonce taken then; a workflow run's has no signature): its
  // signature, nonce and balance are not checked here. Only requests with a deadline can be.
  bool async = false;
  if (req.deadline_height != 0) {
    auto recorded = chain_->GetAsyncRequest(req.Hash());
    async = recorded.ok() && recorded->status == chain::AsyncStatus::kPending && recorded->assigned == address_ &&
            recorded->request.Encode() == signed_request.Encode();
  }
  if (!async) RETURN_IF_ERROR(signed_request.CheckSignature().WithContext("request signature"));
  if ((config_.modes & protocol::ModeBit(req.mode)) == 0)
    return Unimplemented("this node does not serve mode " + std::string(protocol::ModeName(req.mode)));
  if (req.node != crypto::Address{} && req.node != address_)
    return PermissionDenied("request is addressed to node " + req.node.ToHex() + ", not " + address_.ToHex());
  if (req.deadline_height != 0 && req.deadline_height <= info.height)
    return FailedPrecondition("request deadline height " + std::to_string(req.deadline_height) + " has passed");

  ASSIGN_OR_RETURN(uint64_t fee, QuoteFee(req.model, req.mode));
  if (fee > req.max_fee)
    return FailedPrecondition("fee " + std::to_string(fee) + " exceeds the request's max fee " +
                              std::to_string(req.max_fee));
  if (!async) {
    ASSIGN_OR_RETURN(chain::Account requester, chain_->GetAccount(req.requester));
    if (req.nonce < requester.request_nonce)
      return FailedPrecondition("request nonce " + std::to_string(req.nonce) + " was already used (next is " +
                                std::to_string(requester.request_nonce) + ")");
    if (requester.balance < fee)
      return FailedPrecondition("requester balance " + std::to_string(requester.balance) +
                                " is below the fee " + std::to_string(fee));
  }

  uint64_t input_bytes = 0;
  for (const auto& [name, t] : inputs) input_bytes += t.bytes().size() + name.size();
  if (input_bytes > config_.max_input_bytes)
    return OutOfRange("inputs are " + std::to_string(input_bytes) + " bytes, limit " +
                      std::to_string(config_.max_input_bytes));
  if (HashTensorMap(inputs) != req.input_hash)
    return InvalidArgument("input tensors do not hash to the request's input_hash");

  ASSIGN_OR_RETURN(hub::Manifest manifest, hub_->GetManifest(req.model));
  const bool gguf = manifest.format == "gguf";
  if (gguf && req.mode != Mode::kVanilla && req.mode != Mode::kTee)
    return Unimplemented("mode " + std::string(protocol::ModeName(req.mode)) +
                         " is not available for GGUF (LLM) versions: vanilla and tee only (docs/llm.md)");
  std::shared_ptr<const zkml::ProvingKey> proving_key;
  if (req.mode == Mode::kZkml) {
    ASSIGN_OR_RETURN(chain::VersionEntry entry, PublishedVersion(req.model));
    if (!entry.zkml_commitment)
      return FailedPrecondition("model " + req.model.ToString() + " was not published with a zkml commitment");
    ASSIGN_OR_RETURN(proving_key, ProvingKeyFor(req.model, *entry.zkml_commitment));
  }
  InferenceResult out;
  protocol::Receipt& receipt = out.result.receipt;
  receipt = NewReceipt(req);
  out.result.request = signed_request;
  if (req.mode == Mode::kTee) {
    const auto started = std::chrono::steady_clock::now();
    RETURN_IF_ERROR(ExecuteInEnclave(req, inputs, out, on_text).WithContext("tee"));
    out.receipt_id = receipt.Id();
    const auto run_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
    ASSIGN_OR_RETURN(out.tx_hash, SubmitTx(out.result, wait_for_inclusion, &out.submitted));
    spdlog::info("inference: model {} mode tee requester {} ran in the enclave in {} us; receipt {} submitted in tx {}",
                 req.model.ToString(), req.requester.ToHex(), run_us, ToHex(out.receipt_id), ToHex(out.tx_hash));
    meter.Ok();
    return out;
  }
  TensorMap outputs;
  int64_t run_us = 0;
  if (gguf) {
    // LLM: the input is the canonical request (llm/request.h); tee runs in the enclave above.
    if (!config_.llm) return Unimplemented("this node runs no LLM engine");
    const auto started = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(outputs, config_.llm->Run(req.model, inputs, on_text, &out.llm));
    run_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
    receipt.engine = std::string(kLlmEngineId);
  } else {
    ASSIGN_OR_RETURN(std::shared_ptr<const onnx::Model> model, hub_->LoadModel(req.model));
    onnx::RunOptions run_options;
    run_options.threads = config_.threads;
    const auto started = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(outputs, model->Run(inputs, run_options));
    run_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
    receipt.engine = std::string(onnx::kEngineId);
  }
  receipt.output_hash = HashTensorMap(outputs);

  if (req.mode == Mode::kZkml) {
    // Answer now; prove and submit in the background (the receipt is "proving" until then).
    out.receipt_id = receipt.Id();
    out.outputs = outputs;
    out.proving = true;
    out.result.evidence = protocol::Evidence{Mode::kZkml, {}};
    std::lock_guard<std::mutex> lock(zk_mu_);
    if (proof_jobs_.count(out.receipt_id))
      return AlreadyExists("receipt " + ToHex(out.receipt_id) + " is already being proved");
    proof_jobs_[out.receipt_id] = ProofJob{};
    prove_queue_.push_back(ProveTask{proving_key, out.result, inputs, std::move(outputs), out.receipt_id});
    metrics::Global().zkml_proofs_waiting.Set(static_cast<int64_t>(prove_queue_.size()));
    if (!prover_.joinable()) prover_ = std::thread(&InferenceNode::ProverLoop, this);
    prove_cv_.notify_one();
    spdlog::info("inference: model {} mode zkml requester {} ran in {} us; receipt {} proving", req.model.ToString(),
                 req.requester.ToHex(), run_us, ToHex(out.receipt_id));
    meter.Ok();
    return out;
  }
  // replay: signed as vanilla; the chain holds the payment for the challenge window.
  if (req.mode == Mode::kVanilla) {
    out.result.evidence = verify::MakeVanillaEvidence(receipt, config_.key);
  } else if (req.mode == Mode::kReplay) {
    out.result.evidence = verify::MakeReplayEvidence(receipt, config_.key);
  } else {
    return Unimplemented("mode " + std::string(protocol::ModeName(req.mode)) + " evidence is not available yet");
  }
  out.receipt_id = receipt.Id();
  out.outputs = std::move(outputs);

  // Check our own work with the validators' code before submitting it.
  verify::ChainView view{info.chain_id, true, std::nullopt};
  view.request_on_chain = async;
  verify::Verdict verdict = verify::VerifyResult(out.result, view);
  if (!verdict.ok()) return Internal("node produced a result its own verifier refuses");

  ASSIGN_OR_RETURN(out.tx_hash, SubmitTx(out.result, wait_for_inclusion, &out.submitted));
  spdlog::info("inference: model {} mode {} requester {} ran in {} us; receipt {} submitted in tx {}",
               req.model.ToString(), protocol::ModeName(req.mode), req.requester.ToHex(), run_us,
               ToHex(out.receipt_id), ToHex(out.tx_hash));
  meter.Ok();
  return out;
}

Result<std::pair<int32_t, int32_t>> InferenceNode::LlmBudget(const crypto::Cid& model, const TensorMap& inputs) {
  if (!config_.llm) return Unimplemented("this node runs no LLM engine");
  return config_.llm->Budget(model, inputs);
}

Result<InferenceResult> InferenceNode::InferAsRequester(protocol::InferenceRequest req,
                                                        const crypto::PrivateKey& requester_key,
                                                        const TensorMap& inputs,
                                                        std::chrono::milliseconds wait_for_inclusion,
                                                        const std::function<bool(std::string_view)>& on_text) {
  InferenceMeter meter(req.mode);
  chain::AppInfo info = chain_->Info();
  req.chain_id = info.chain_id;
  req.requester = requester_key.address();
  if (req.mode != Mode::kVanilla && req.mode != Mode::kTee)
    return Unimplemented("the gateway serves vanilla and tee requests only");
  if ((config_.modes & protocol::ModeBit(req.mode)) == 0)
    return Unimplemented("this node does not serve mode " + std::string(protocol::ModeName(req.mode)));
  if (req.node != crypto::Address{} && req.node != address_)
    return PermissionDenied("request is addressed to node " + req.node.ToHex() + ", not " + address_.ToHex());
  if (req.mode == Mode::kVanilla && !config_.llm) return Unimplemented("this node runs no LLM engine");
  ASSIGN_OR_RETURN(hub::Manifest manifest, hub_->GetManifest(req.model));
  if (manifest.format != "gguf") return InvalidArgument("model " + req.model.ToString() + " is not a GGUF (LLM) version");
  ASSIGN_OR_RETURN(uint64_t fee, QuoteFee(req.model, req.mode));
  if (fee > req.max_fee)
    return FailedPrecondition("fee " + std::to_string(fee) + " exceeds the request's max fee " + std::to_string(req.max_fee));
  {
    ASSIGN_OR_RETURN(chain::Account requester, chain_->GetAccount(req.requester));
    if (requester.balance < fee)
      return FailedPrecondition("requester balance " + std::to_string(requester.balance) + " is below the fee " +
                                std::to_string(fee));
  }
  if (HashTensorMap(inputs) != req.input_hash)
    return InvalidArgument("input tensors do not hash to the request's input_hash");

  InferenceResult out;
  const auto started = std::chrono::steady_clock::now();
  const auto elapsed_us = [&] {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - started).count();
  };
  // vanilla: the engine runs before the lock (answers are generated concurrently); the nonce
  // is assigned and the request signed when the answer is complete.
  TensorMap outputs;
  int64_t run_us = 0;
  if (req.mode == Mode::kVanilla) {
    ASSIGN_OR_RETURN(outputs, config_.llm->Run(req.model, inputs, on_text, &out.llm));
    run_us = elapsed_us();
  }
  std::lock_guard<std::mutex> lock(gateway_mu_);
  ASSIGN_OR_RETURN(chain::Account requester, chain_->GetAccount(req.requester));
  uint64_t& next = gateway_next_nonce_[req.requester];
  req.nonce = std::max(next, requester.request_nonce);
  protocol::SignedRequest signed_request{req, {}};
  signed_request.signature = requester_key.Sign(protocol::SigningDigest(req.Hash()));
  out.result.request = signed_request;
  protocol::Receipt& receipt = out.result.receipt;
  receipt = NewReceipt(req);
  if (req.mode == Mode::kTee) {
    // The enclave signs a receipt naming the request hash (nonce included), so it runs under
    // the lock, after the nonce is assigned: tee gateway answers are serialized.
    RETURN_IF_ERROR(ExecuteInEnclave(req, inputs, out, on_text).WithContext("tee"));
    run_us = elapsed_us();
  } else {
    receipt.engine = std::string(kLlmEngineId);
    receipt.output_hash = HashTensorMap(outputs);
    out.result.evidence = verify::MakeVanillaEvidence(receipt, config_.key);
    out.outputs = std::move(outputs);
    verify::ChainView view{info.chain_id, true, std::nullopt};
    if (!verify::VerifyResult(out.result, view).ok()) return Internal("node produced a result its own verifier refuses");
  }
  out.receipt_id = receipt.Id();
  auto tx_hash = SubmitTx(out.result, wait_for_inclusion, &out.submitted);
  if (!tx_hash.ok()) {
    next = 0;  // re-read from the chain next time
    return tx_hash.status();
  }
  next = req.nonce + 1;
  out.tx_hash = *tx_hash;
  spdlog::info("inference: llm model {} mode {} requester {} (gateway) nonce {} ran in {} us{} ({} prompt tokens); "
               "receipt {} submitted in tx {}",
               req.model.ToString(), protocol::ModeName(req.mode), req.requester.ToHex(), req.nonce, run_us,
               req.mode == Mode::kTee ? " in the enclave" : "", out.llm.prompt_tokens, ToHex(out.receipt_id),
               ToHex(out.tx_hash));
  meter.Ok();
  return out;
}

void InferenceNode::StartAsyncWatcher(std::chrono::milliseconds period) {
  std::lock_guard<std::mutex> lock(watcher_mu_);
  if (watcher_.joinable()) return;
  watcher_stop_ = false;
  watcher_ = std::thread([this, period] {
    std::unique_lock<std::mutex> lock(watcher_mu_);
    while (!watcher_cv_.wait_for(lock, period, [&] { return watcher_stop_; })) {
      lock.unlock();
      auto r = AnswerPendingRequests();
      if (!r.ok()) spdlog::warn("async: reading the pending requests failed: {}", r.status().ToString());
      if (config_.modes & protocol::ModeBit(Mode::kReplay)) {
        auto v = VoteOnChallenges();
        if (!v.ok()) spdlog::warn("replay: reading the open challenges failed: {}", v.status().ToString());
      }
      lock.lock();
    }
  });
}

void InferenceNode::StopAsyncWatcher() {
  {
    std::lock_guard<std::mutex> lock(watcher_mu_);
    watcher_stop_ = true;
  }
  watcher_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

Result<TensorMap> InferenceNode::AsyncOutputs(const Hash32& receipt_id) const {
  std::lock_guard<std::mutex> lock(outputs_mu_);
  auto it = async_outputs_.find(receipt_id);
  if (it == async_outputs_.end())
    return NotFound("this node holds no outputs for receipt " + ToHex(receipt_id) +
                    " (only async requests it answered since it started)");
  return it->second;
}

Result<size_t> InferenceNode::AnswerPendingRequests() {
  // Failed tries per request before the node gives up on it (the chain then expires it).
  constexpr int kMaxTries = 3;
  std::lock_guard<std::mutex> lock(watch_mu_);
  ASSIGN_OR_RETURN(std::vector<chain::AsyncRequest> pending, chain_->PendingRequestsFor(address_));
  // Forget the requests the chain no longer lists as pending (answered or expired).
  std::map<Hash32, bool> still;
  for (const auto& a : pending) still[a.id] = true;
  std::erase_if(async_done_, [&](const auto& e) { return !still.count(e.first); });
  std::erase_if(async_tries_, [&](const auto& e) { return !still.count(e.first); });
  const uint64_t height = chain_->Info().height;
  size_t submitted = 0;
  for (const chain::AsyncRequest& a : pending) {
    if (async_done_.count(a.id)) continue;
    if (a.request.request.deadline_height <= height) continue;  // expires at this block's end
    auto inputs = DecodeTensorMap(a.inputs);
    Result<InferenceResult> r = inputs.ok() ? Infer(a.request, *inputs, std::chrono::milliseconds(0))
                                            : Result<InferenceResult>(inputs.status().WithContext("recorded inputs"));
    if (!r.ok()) {
      const int tries = ++async_tries_[a.id];
      spdlog::warn("async: request {} (try {} of {}): {}", ToHex(a.id), tries, kMaxTries, r.status().ToString());
      if (tries >= kMaxTries) async_done_[a.id] = false;
      continue;
    }
    async_done_[a.id] = true;
    ++submitted;
    {
      std::lock_guard<std::mutex> out_lock(outputs_mu_);
      if (!async_outputs_.count(r->receipt_id)) async_outputs_order_.push_back(r->receipt_id);
      async_outputs_[r->receipt_id] = r->outputs;
      while (async_outputs_order_.size() > kKeptAsyncOutputs) {
        async_outputs_.erase(async_outputs_order_.front());
        async_outputs_order_.pop_front();
      }
    }
    spdlog::info("async: answered request {} (deadline {}{}) with receipt {}{}", ToHex(a.id),
                 a.request.request.deadline_height,
                 a.workflow_id ? ", workflow " + std::to_string(a.workflow_id) : std::string(),
                 ToHex(r->receipt_id), r->proving ? " (proving)" : "");
  }
  return submitted;
}

Result<size_t> InferenceNode::VoteOnChallenges() {
  constexpr int kMaxTries = 3;
  std::lock_guard<std::mutex> lock(watch_mu_);
  ASSIGN_OR_RETURN(std::vector<chain::Challenge> open, chain_->OpenChallengesFor(address_));
  std::map<Hash32, bool> still;
  for (const auto& c : open) still[c.receipt_id] = true;
  std::erase_if(voted_, [&](const auto& e) { return !still.count(e.first); });
  std::erase_if(vote_tries_, [&](const auto& e) { return !still.count(e.first); });
  const uint64_t height = chain_->Info().height;
  size_t sent = 0;
  for (const chain::Challenge& c : open) {
    if (voted_.count(c.receipt_id)) continue;
    if (std::any_of(c.votes.begin(), c.votes.end(), [&](const chain::ChallengeVote& v) { return v.voter == address_; })) {
      voted_[c.receipt_id] = true;  // voted before a restart
      continue;
    }
    if (c.vote_deadline <= height) continue;  // the next block could not hold the vote
    Hash32 node_output{};
    auto vote = [&]() -> Result<Hash32> {
      ASSIGN_OR_RETURN(chain::ReceiptRecord rec, chain_->GetReceipt(c.receipt_id));
      const protocol::Receipt& receipt = rec.result.receipt;
      node_output = receipt.output_hash;
      ASSIGN_OR_RETURN(TensorMap inputs, DecodeTensorMap(c.inputs));
      if (HashTensorMap(inputs) != receipt.input_hash)
        return DataLoss("the challenge's inputs do not hash to the receipt's input_hash");
      // The same execution as the receipt's node claims (the engine is bitwise deterministic).
      ASSIGN_OR_RETURN(hub::Manifest manifest, hub_->GetManifest(receipt.model));
      TensorMap outputs;
      if (manifest.format == "gguf") {
        if (!config_.llm) return Unimplemented("this node runs no LLM engine");
        LlmRunInfo info;
        ASSIGN_OR_RETURN(outputs, config_.llm->Run(receipt.model, inputs, {}, &info));
      } else {
        ASSIGN_OR_RETURN(std::shared_ptr<const onnx::Model> model, hub_->LoadModel(receipt.model));
        onnx::RunOptions run_options;
        run_options.threads = config_.threads;
        ASSIGN_OR_RETURN(outputs, model->Run(inputs, run_options));
      }
      const Hash32 output_hash = HashTensorMap(outputs);
      BroadcastResult submitted;
      RETURN_IF_ERROR(SubmitTx(protocol::ChallengeVoteTx{c.receipt_id, output_hash}, std::chrono::milliseconds(0),
                               &submitted)
                          .status());
      return output_hash;
    };
    auto r = vote();
    if (!r.ok()) {
      const int tries = ++vote_tries_[c.receipt_id];
      spdlog::warn("replay: vote on receipt {} (try {} of {}): {}", ToHex(c.receipt_id), tries, kMaxTries,
                   r.status().ToString());
      if (tries >= kMaxTries) voted_[c.receipt_id] = false;
      continue;
    }
    voted_[c.receipt_id] = true;
    ++sent;
    spdlog::info("replay: voted on the challenge of receipt {}: output {} (the {})", ToHex(c.receipt_id), ToHex(*r),
                 *r == node_output                ? "node's"
                 : *r == c.claimed_output_hash ? "challenger's"
                                               : "node's and the challenger's differ from it");
  }
  return sent;
}

protocol::Receipt InferenceNode::NewReceipt(const protocol::InferenceRequest& req) const {
  protocol::Receipt receipt;
  receipt.chain_id = req.chain_id;
  receipt.request_hash = req.Hash();
  receipt.model = req.model;
  receipt.input_hash = req.input_hash;
  receipt.mode = req.mode;
  receipt.node = address_;
  receipt.fee = config_.FeeFor(req.mode);
  return receipt;
}

Result<Hash32> InferenceNode::SendTx(protocol::TxBody body, std::chrono::milliseconds wait) {
  BroadcastResult out;
  return SubmitTx(std::move(body), wait, &out);
}

Result<Hash32> InferenceNode::SubmitTx(protocol::TxBody body, std::chrono::milliseconds wait,
                                       BroadcastResult* out) {
  std::lock_guard<std::mutex> lock(tx_mu_);
  chain::AppInfo info = chain_->Info();
  if (!next_nonce_) {
    ASSIGN_OR_RETURN(chain::Account self, chain_->GetAccount(address_));
    next_nonce_ = self.nonce;
  }
  protocol::SignedTx tx = MakeTx(config_.key, info.chain_id, *next_nonce_, config_.max_tx_fee, std::move(body));
  Bytes bytes = tx.Encode();
  auto result = chain_->Broadcast(bytes, wait);
  if (!result.ok() || result->check.code != chain::TxCode::kOk) {
    next_nonce_.reset();  // re-read from the chain next time
    if (!result.ok()) return result.status();
    return FailedPrecondition("chain refused the tx: " +
                              std::string(chain::TxCodeName(result->check.code)) + ": " + result->check.log);
  }
  if (result->deliver && result->deliver->code != chain::TxCode::kOk) {
    next_nonce_.reset();
    return FailedPrecondition("tx failed in block: " +
                              std::string(chain::TxCodeName(result->deliver->code)) + ": " + result->deliver->log);
  }
  ++*next_nonce_;
  *out = *result;
  return tx.Hash();
}

}  // namespace lucid::node
