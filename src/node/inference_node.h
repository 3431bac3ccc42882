// The inference worker: takes a requester-signed request plus its input tensors, checks
// the request, loads the model version by CID through the hub (every byte checked),
// executes it deterministically, builds the Receipt and the mode's Evidence, answers at
// once and submits a SubmitResult tx to the chain.
// Thread-safety: Infer() may be called concurrently; tx nonces are assigned under a lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "crypto/secp256k1.h"
#include "hub/hub.h"
#include "node/chain_access.h"
#include "protocol/types.h"
#include "tensor/tensor.h"
#include "zkml/zkml.h"

namespace lucid::node {

// Runs LLM requests for GGUF versions (docs/llm.md "API and receipts"). The node library does
// not link the LLM engine: the process that does (devnet, `lucid node`) sets
// NodeConfig::llm to llm_service's implementation.
struct LlmRunInfo {
  int32_t prompt_tokens = 0;
  double prefill_ms = 0, decode_ms = 0;
};
class LlmBackend {
 public:
  virtual ~LlmBackend() = default;
  // inputs: {"llm_request"} (llm/request.h), already checked to name `model`; returns the
  // output tensors {"llm_output", "tokens"}. on_text (may be empty) gets content as it is
  // decided; returning false cancels.
  virtual Result<TensorMap> Run(const crypto::Cid& model, const TensorMap& inputs,
                                const std::function<bool(std::string_view)>& on_text, LlmRunInfo* info) = 0;
  // The prompt's token count and the model's context length.
  virtual Result<std::pair<int32_t, int32_t>> Budget(const crypto::Cid& model, const TensorMap& inputs) = 0;
};

struct NodeConfig {
  crypto::PrivateKey key;          // node identity = its account; signs receipts and txs
  uint64_t fee_per_inference = 10; // node's own fee, charged on every vanilla receipt
  // zkml receipts: the node also pays its SubmitResult's tx fee by the byte for a proof of
  // 0.3-1.2 MB, so the default covers a 1 MiB tx at the default 1 per byte.
  uint64_t zkml_fee_per_inference = 1'100'000;
  uint64_t FeeFor(protocol::Mode mode) const {
    return mode == protocol::Mode::kZkml ? zkml_fee_per_inference : fee_per_inference;
  }
  uint32_t modes = protocol::ModeBit(protocol::Mode::kVanilla);
  int threads = 1;
  uint64_t max_input_bytes = 16u << 20;  // canonical bytes of all inputs together
  uint64_t max_tx_fee = 10'000'000;
  // tee: the enclave process, "HOST:PORT" (tee/enclave.h); tee requests are forwarded to it.
  std::string enclave_addr;
  // GGUF versions: the LLM runner (none: such requests are refused as unimplemented).
  std::shared_ptr<LlmBackend> llm;
};

struct InferenceResult {
  TensorMap outputs;
  // zkml: the answer comes before the proof; result.evidence is empty and the node proves
  // and submits in the background (ProofStatus).
  bool proving = false;
  protocol::SubmitResultTx result;  // signed request, receipt, evidence
  Hash32 receipt_id{};
  Hash32 tx_hash{};
  // Outcome of submitting the SubmitResult tx (CheckTx, or the block's result when waited).
  BroadcastResult submitted;
  LlmRunInfo llm;  // GGUF versions: prompt size and timings
};

// A zkml proving job, by receipt id.
struct ProofJob {
  enum class State { kProving, kSubmitted, kFailed };
  State state = State::kProving;
  std::string detail;  // the failure, or "prove N ms, M bytes"
  Hash32 tx_hash{};
};
std::string_view ProofStateName(ProofJob::State s);

class InferenceNode {
 public:
  InferenceNode(NodeConfig config, hub::Hub* hub, ChainAccess* chain);
  ~InferenceNode();  // finishes the proof being made; queued ones are marked failed
  InferenceNode(const InferenceNode&) = delete;
  InferenceNode& operator=(const InferenceNode&) = delete;

  // NOT_FOUND for a receipt this node is not proving or has not proved.
  Result<ProofJob> ProofStatus(const Hash32& receipt_id) const;

  const crypto::Address& address() const { return address_; }
  const NodeConfig& config() const { return config_; }

  // Everything the chain will check is checked here first, so a node never does work it
  // will not be paid for: chain id, request signature, mode, node field, nonce not used,
  // input hash, model published, fee within max fee, requester balance.
  // wait_for_inclusion > 0 waits for the SubmitResult to be in a block before returning.
  // GGUF versions: on_text (may be empty) streams the answer's text as it is generated.
  Result<InferenceResult> Infer(const protocol::SignedRequest& request, const TensorMap& inputs,
                                std::chrono::milliseconds wait_for_inclusion,
                                const std::function<bool(std::string_view)>& on_text = {});

  // The OpenAI gateway's path (docs/llm.md "Trust model"): the node also holds the requester's
  // key (an API key maps to it). `request` is complete except nonce and signature; the node
  // checks it as Infer does, runs it (GGUF versions, vanilla), then assigns the requester's
  // next request nonce, signs and submits under one lock, so concurrent answers settle in
  // nonce order whatever order they finish in. tee: the receipt the enclave signs names the
  // request hash, so the nonce is assigned and the request signed before the run, and the
  // run happens under that lock too (gateway tee requests run one at a time).
  Result<InferenceResult> InferAsRequester(protocol::InferenceRequest request, const crypto::PrivateKey& requester,
                                           const TensorMap& inputs, std::chrono::milliseconds wait_for_inclusion,
                                           const std::function<bool(std::string_view)>& on_text = {});

  // GGUF versions: the prompt's token count and the model's context (for the API's checks).
  Result<std::pair<int32_t, int32_t>> LlmBudget(const crypto::Cid& model, const TensorMap& inputs);

  // tee: asks the enclave for a fresh attestation document and sends RegisterEnclave with it
  // (a first registration, a restarted enclave's new key, or the heartbeat).
  Result<Hash32> AttestEnclave(std::chrono::milliseconds wait_for_inclusion);
  // Re-attests every `period` on a background thread (period < the chain's heartbeat).
  void StartEnclaveHeartbeat(std::chrono::milliseconds period);

  // Async requests (docs/settlement.md): every `period` (about the block time) a background
  // thread asks the chain for the pending async requests assigned to this node and answers each
  // once, exactly as Infer does, with the request and input bytes the chain recorded (no wait
  // for inclusion; a request already submitted is not submitted again). Stopped by
  // StopAsyncWatcher or the destructor; starting twice is a no-op.
  void StartAsyncWatcher(std::chrono::milliseconds period);
  void StopAsyncWatcher();
  // The outputs of an async request this node answered (the last kKeptAsyncOutputs, in memory
  // only: gone after a restart). NOT_FOUND otherwise.
  static constexpr size_t kKeptAsyncOutputs = 256;
  Result<TensorMap> AsyncOutputs(const Hash32& receipt_id) const;
  // One pass of the watcher (what each period runs): answers the pending requests not answered
  // yet; returns how many it submitted.
  Result<size_t> AnswerPendingRequests();
  // Replay challenges (docs/settlement.md "Replay mode"): for each open challenge whose committee
  // includes this node and that it has not voted on, re-executes the receipt's model on the
  // challenge's inputs and sends ChallengeVote{receipt id, output hash}. The watcher runs it
  // after AnswerPendingRequests; returns how many votes it sent.
  Result<size_t> VoteOnChallenges();

  // The fee this node charges for a model version (node fee + publisher price).
  Result<uint64_t> QuoteFee(const crypto::Cid& model, protocol::Mode mode = protocol::Mode::kVanilla);

  // Sends a tx signed by this node's key (one nonce sequence with the node's own txs), waiting
  // up to `wait` for its block; an error when refused or failed in the block. Used by a
  // standalone node's hub replicator (replication/replicator.h).
  Result<Hash32> SendTx(protocol::TxBody body, std::chrono::milliseconds wait);

 private:
  Result<Hash32> SubmitTx(protocol::TxBody body, std::chrono::milliseconds wait,
                          BroadcastResult* out);
  // The receipt fields this node fills for a request (output hash and engine come later).
  protocol::Receipt NewReceipt(const protocol::InferenceRequest& req) const;
  // The version's proving key, checked against the chain's zkml commitment (cached).
  Result<std::shared_ptr<const zkml::ProvingKey>> ProvingKeyFor(const crypto::Cid& model,
                                                                const Hash32& chain_commitment);
  // The published version entry of a manifest CID (chain registry, through its manifest).
  Result<chain::VersionEntry> PublishedVersion(const crypto::Cid& model);

  struct ProveTask {
    std::shared_ptr<const zkml::ProvingKey> key;
    protocol::SubmitResultTx result;
    TensorMap inputs, outputs;
    Hash32 receipt_id{};
  };
  void ProveAndSubmit(const ProveTask& task);
  // One prover thread, started with the first zkml job: proofs use every core the node has,
  // so they are made one after another.
  void ProverLoop();

  // tee: forwards the run to the enclave and fills in the signed receipt and evidence.
  // GGUF versions: the enclave gets the manifest with the request (and the model file once,
  // by CID) and streams the text to on_text as it generates.
  Status ExecuteInEnclave(const protocol::InferenceRequest& req, const TensorMap& inputs, InferenceResult& out,
                          const std::function<bool(std::string_view)>& on_text = {});

  NodeConfig config_;
  crypto::Address address_;
  hub::Hub* hub_;
  ChainAccess* chain_;
  std::mutex tx_mu_;
  std::optional<uint64_t> next_nonce_;  // guarded by tx_mu_

  mutable std::mutex zk_mu_;
  std::map<std::string, std::shared_ptr<const zkml::ProvingKey>> proving_keys_;  // by model CID
  std::map<Hash32, ProofJob> proof_jobs_;
  std::deque<ProveTask> prove_queue_;  // guarded by zk_mu_
  std::condition_variable prove_cv_;
  bool stopping_ = false;              // guarded by zk_mu_
  std::thread prover_;

  // Async watcher.
  std::mutex watch_mu_;                 // serialises passes (AnswerPendingRequests)
  std::map<Hash32, int> async_tries_;   // request id -> failed tries; guarded by watch_mu_
  std::map<Hash32, bool> async_done_;   // request ids submitted (true) or given up; guarded by watch_mu_
  std::map<Hash32, int> vote_tries_;    // challenged receipt id -> failed tries; guarded by watch_mu_
  std::map<Hash32, bool> voted_;        // challenged receipt ids voted on (true) or given up; guarded by watch_mu_
  mutable std::mutex outputs_mu_;
  std::map<Hash32, TensorMap> async_outputs_;  // by receipt id; guarded by outputs_mu_
  std::deque<Hash32> async_outputs_order_;     // oldest first; guarded by outputs_mu_
  std::mutex watcher_mu_;
  std::condition_variable watcher_cv_;
  bool watcher_stop_ = false;  // guarded by watcher_mu_
  std::thread watcher_;

  std::mutex gateway_mu_;  // held from signing a gateway request to its SubmitResult
  std::map<crypto::Address, uint64_t> gateway_next_nonce_;  // guarded by gateway_mu_

  mutable std::mutex enclave_mu_;
  std::optional<crypto::Address> enclave_address_;  // last registered enclave key
  Bytes enclave_pcr0_;
  std::condition_variable heartbeat_cv_;
  bool heartbeat_stop_ = false;  // guarded by enclave_mu_
  std::thread heartbeat_;
};

// Builds a signed tx for `key` with the next nonce the chain expects.
protocol::SignedTx MakeTx(const crypto::PrivateKey& key, std::string chain_id, uint64_t nonce,
                          uint64_t max_tx_fee, protocol::TxBody body);

// Signs body as `key` with the account's next nonce (read from the chain), broadcasts it and
// waits up to `wait` for its block: FAILED_PRECONDITION naming the code and log when refused
// or failed in the block, UNAVAILABLE when not included in time. For a key no other sender in
// this process uses (an InferenceNode keeps its own nonce: use InferenceNode::SendTx).
Result<BroadcastResult> SendAndWait(ChainAccess& chain, const crypto::PrivateKey& key, protocol::TxBody body,
                                    std::chrono::milliseconds wait = std::chrono::seconds(30));

}  // namespace lucid::node
