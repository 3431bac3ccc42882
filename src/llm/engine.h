// The LLM engine (docs/llm.md, "Forward pass", "Sampling", "Batching"): a llama-family
// forward pass over a GGUF model (token embedding, RMSNorm, RoPE, grouped-query attention,
// SwiGLU FFN, output norm, tied embeddings), a float32 KV cache per sequence, seeded
// sampling in llama.cpp's order, and continuous batching of concurrent requests on one
// scheduler thread.
// Determinism: every float step has a fixed order (no FMA contraction, own exp/sin/cos, the
// quant.h kernels), and each sequence's arithmetic does not depend on what else is in the
// batch, so a request gives the same tokens and logits bit for bit for any thread count,
// SIMD path (LUCID_GEMM_PATH) and batch composition.
// Thread-safety: Model is immutable after Load and may be shared; Engine methods may be
// called concurrently (Generate calls are batched together).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "llm/chat_template.h"
#include "llm/tokenizer.h"

namespace lucid::llm {

struct SamplingParams {
  float temperature = 0;  // 0: greedy (argmax, lowest id on ties)
  int32_t top_k = 0;      // 0: off
  float top_p = 1;        // 1: off
  float min_p = 0;        // 0: off
  float repeat_penalty = 1;
  int32_t repeat_last_n = 64;  // 0: off, -1: the whole context
  uint64_t seed = 0;
};
// Named refusals (kInvalidArgument): negative or non-finite temperature, top_k < 0,
// top_p outside (0, 1], min_p outside [0, 1], repeat_penalty <= 0, repeat_last_n < -1.
Status ValidateSampling(const SamplingParams& params);

struct GenerateRequest {
  std::vector<int32_t> prompt;
  int32_t max_tokens = 128;
  SamplingParams sampling;
  std::vector<int32_t> stop_tokens;  // in addition to the model's end-of-generation ids
  bool ignore_eos = false;           // benchmarks: the model's end-of-generation ids do not stop
};

enum class FinishReason { kStop, kLength, kCancelled };

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated tokens (a stop token that ended it excluded)
  FinishReason finish = FinishReason::kLength;
  int32_t prompt_tokens = 0;
  double prefill_ms = 0, decode_ms = 0;
};

struct ModelInfo {
  std::string architecture, name;
  int32_t context_length = 0, vocab_size = 0, n_layer = 0, n_embd = 0, n_head = 0, n_head_kv = 0;
};

class ModelImpl;

class Model {  // immutable after Load, shared by engines; thread-safe
 public:
  static Result<std::shared_ptr<const Model>> Load(const std::string& gguf_path);
  static Result<std::shared_ptr<const Model>> LoadBytes(std::shared_ptr<const Bytes> gguf);  // hub blobs
  ~Model();

  const ModelInfo& info() const;
  const Tokenizer& tokenizer() const;
  const ChatTemplate& chat_template() const;

  const ModelImpl& impl() const { return *impl_; }  // the engine's view

 private:
  Model() = default;
  std::unique_ptr<ModelImpl> impl_;
};

struct EngineOptions {
  int threads = 1;
  int32_t max_batch = 8;
  int32_t max_context = 0;  // 0: the model's context length
  int32_t prefill_chunk = 512;  // prompt tokens per scheduler step (all sequences together)
};

// Scheduler counters since the engine started (monitoring; tests check batching happened).
struct EngineStats {
  int64_t steps = 0;                 // forward passes run
  int64_t tokens = 0;                // token positions processed (prompt and generated)
  int32_t max_sequences_in_step = 0; // most sequences seen together in one step
};

class EngineImpl;

class Engine {  // thread-safe: concurrent Generate calls are batched continuously
 public:
  Engine(std::shared_ptr<const Model> model, EngineOptions options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // on_token is called for every generated token in order (return false to stop: kCancelled);
  // the result is identical whatever else runs concurrently and for any thread count.
  // on_token runs on the calling thread (a slow callback delays only this request). A token
  // that ends the request (end of generation, stop_tokens) is neither passed nor returned.
  // kCancelled: result.tokens holds the tokens passed, the refused one included.
  // Errors: kInvalidArgument (empty prompt, token id out of range, bad sampling, max_tokens
  // < 0), kOutOfRange (prompt + max_tokens beyond the context).
  Result<GenerateResult> Generate(const GenerateRequest& req, std::function<bool(int32_t)> on_token = {});
  // Logits of the last prompt position (for parity tests), no sampling.
  Result<std::vector<float>> PromptLogits(const std::vector<int32_t>& prompt);

  EngineStats stats() const;
  const Model& model() const { return *model_; }
  const EngineOptions& options() const { return options_; }

 private:
  std::shared_ptr<const Model> model_;
  EngineOptions options_;
  std::unique_ptr<EngineImpl> impl_;
};

}  // namespace lucid::llm
