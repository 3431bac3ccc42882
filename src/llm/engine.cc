// The llama-family forward pass, KV cache, sampling and continuous batching (engine.h,
// docs/llm.md). Every float operation mirrors ggml's CPU graph for llama (rms_norm then
// mul, rope_ext, soft_max_ext, silu·up, add), rounded step by step in a fixed order.
#include "llm/engine.h"

#include <algorithm>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <deque>
#include <immintrin.h>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "base/cpu.h"
#include "base/parallel.h"
#include "llm/engine_internal.h"
#include "llm/gguf.h"
#include "llm/quant.h"
#include "llm/tokenizer_gguf.h"
#include "tensor/math.h"

namespace lucid::llm {

// ---------------------------------------------------------------------------------------
// Own math (RoPE) and the sampler.
namespace internal {
namespace {

// fdlibm's __kernel_sin / __kernel_cos on [-pi/4, pi/4].
double KernelSin(double x) {
  const double z = x * x;
  const double r = 8.33333333332248946124e-03 +
                   z * (-1.98412698298579493134e-04 +
                        z * (2.75573137070700676789e-06 + z * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10)));
  return x + (x * z) * (-1.66666666666666324348e-01 + z * r);
}
double KernelCos(double x) {
  const double z = x * x;
  const double r = z * (4.16666666666666019037e-02 +
                        z * (-1.38888888888741095749e-03 +
                             z * (2.48015872894767294178e-05 +
                                  z * (-2.75573143513906633035e-07 +
                                       z * (2.08757232129817482790e-09 + z * -1.13596475577881948265e-11)))));
  return (1.0 - 0.5 * z) + z * r;
}

// x = n·pi/2 + r, |r| ≤ ~pi/4; pi/2 in three parts (fdlibm's pio2_1/2/3, 33 bits each, so
// n·pio2_k is exact for |n| < 2^20).
double Reduce(double x, int64_t& n) {
  const double fn = std::floor(x * 6.36619772367581382433e-01 + 0.5);
  n = static_cast<int64_t>(fn);
  double r = x - fn * 1.57079632673412561417e+00;
  r = r - fn * 6.07710050630396597660e-11;
  r = r - fn * 2.02226624871116645580e-21;
  return r;
}

}  // namespace

double SinDouble(double x) {
  int64_t n;
  const double r = Reduce(x, n);
  switch (n & 3) {
    case 0: return KernelSin(r);
    case 1: return KernelCos(r);
    case 2: return -KernelSin(r);
    default: return -KernelCos(r);
  }
}

double CosDouble(double x) {
  int64_t n;
  const double r = Reduce(x, n);
  switch (n & 3) {
    case 0: return KernelCos(r);
    case 1: return -KernelSin(r);
    case 2: return -KernelCos(r);
    default: return KernelSin(r);
  }
}

double LogDouble(double x) {
  int e = 0;
  double m = std::frexp(x, &e);  // x = m·2^e, m in [0.5, 1): exact
  if (m < 0.70710678118654752440) {
    m *= 2;
    --e;
  }
  const double f = m - 1.0;  // in [-0.29, 0.41]
  const double s = f / (2.0 + f);
  const double z = s * s;
  // log(1+f) = 2·atanh(s) = 2s(1 + z/3 + z²/5 + ...), |s| ≤ 0.172: 14 terms reach 2^-60.
  double poly = 1.0 / 29.0;
  for (int k = 13; k >= 0; --k) poly = 1.0 / (2 * k + 1) + z * poly;
  const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
  return e * ln2_hi + (2.0 * s * poly + e * ln2_lo);
}

float RopeThetaScale(float freq_base, int32_t n_rot) {
  const float expo = -2.0f / static_cast<float>(n_rot);
  return static_cast<float>(math::ExpDouble(static_cast<double>(expo) * LogDouble(freq_base)));
}

void RopeAngles(int32_t pos, float theta_scale, float freq_scale, int32_t n_rot, float* cos_sin,
                const float* freq_factors) {
  float theta = static_cast<float>(pos);
  for (int32_t i = 0; i < n_rot / 2; ++i) {
    const float extrap = freq_factors ? theta / freq_factors[i] : theta;
    const float t = freq_scale * extrap;
    cos_sin[2 * i] = static_cast<float>(CosDouble(t));
    cos_sin[2 * i + 1] = static_cast<float>(SinDouble(t));
    theta *= theta_scale;
  }
}

Rng::Rng(uint64_t seed) {
  uint64_t x = seed;
  for (uint64_t& s : s_) {  // splitmix64
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    s = z ^ (z >> 31);
  }
}

uint64_t Rng::Next() {  // xoshiro256**
  const uint64_t result = std::rotl(s_[1] * 5, 7) * 9;
  const uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = std::rotl(s_[3], 45);
  return result;
}

float Rng::Uniform() { return static_cast<float>(Next() >> 40) * (1.0f / 16777216.0f); }

namespace {
struct Cand {
  int32_t id;
  float logit;
};
// Probabilities of the candidates (sorted, largest first): exp(l - lmax) / Σ, Σ in double.
std::vector<float> Softmax(const std::vector<Cand>& c) {
  std::vector<float> p(c.size());
  const float mx = c.empty() ? 0.0f : c[0].logit;
  for (size_t i = 0; i < c.size(); ++i) p[i] = c[i].logit - mx;
  math::ExpArray(p.data(), p.size());
  double sum = 0;
  for (float v : p) sum += v;
  const float inv = static_cast<float>(1.0 / sum);
  for (float& v : p) v *= inv;
  return p;
}
}  // namespace

int32_t SampleToken(std::vector<float>& logits, const SamplingParams& params, const std::vector<int32_t>& history,
                     Rng& rng) {
  const int32_t n = static_cast<int32_t>(logits.size());
  for (float& l : logits)
    if (l != l) l = -std::numeric_limits<float>::infinity();
  // 1. Repetition penalty (llama.cpp: logit ≤ 0 multiplied, > 0 divided; each id once).
  if (params.repeat_penalty != 1.0f && params.repeat_last_n != 0) {
    size_t window = params.repeat_last_n < 0 ? history.size()
                                             : std::min(history.size(), static_cast<size_t>(params.repeat_last_n));
    std::vector<int32_t> ids(history.end() - static_cast<std::ptrdiff_t>(window), history.end());
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    for (int32_t id : ids) {
      if (id < 0 || id >= n) continue;
      float& l = logits[static_cast<size_t>(id)];
      l = l <= 0 ? l * params.repeat_penalty : l / params.repeat_penalty;
    }
  }
  // Greedy: argmax, lowest id on ties.
  if (params.temperature == 0.0f) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; ++i)
      if (logits[static_cast<size_t>(i)] > logits[static_cast<size_t>(best)]) best = i;
    return best;
  }
  std::vector<Cand> c(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) c[static_cast<size_t>(i)] = {i, logits[static_cast<size_t>(i)]};
  auto by_logit = [](const Cand& a, const Cand& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
  // 2. top-k.
  if (params.top_k > 0 && params.top_k < n) {
    std::partial_sort(c.begin(), c.begin() + params.top_k, c.end(), by_logit);
    c.resize(static_cast<size_t>(params.top_k));
  } else {
    std::sort(c.begin(), c.end(), by_logit);
  }
  // 3. top-p: the smallest prefix whose probability reaches p (at least one).
  if (params.top_p < 1.0f) {
    std::vector<float> p = Softmax(c);
    double cum = 0;
    size_t keep = c.size();
    for (size_t i = 0; i < c.size(); ++i) {
      cum += p[i];
      if (cum >= params.top_p) {
        keep = i + 1;
        break;
      }
    }
    c.resize(keep);
  }
  // 4. min-p: logit ≥ max + log(min_p) (llama.cpp's form; own Log).
  if (params.min_p > 0.0f && c.size() > 1) {
    const float threshold = c[0].logit + math::Log(params.min_p);
    size_t keep = 1;
    while (keep < c.size() && c[keep].logit >= threshold) ++keep;
    c.resize(keep);
  }
  // 5. Temperature, 6. a draw from the softmax.
  for (Cand& x : c) x.logit = x.logit / params.temperature;
  std::vector<float> p = Softmax(c);
  const double u = rng.Uniform();
  double cum = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    cum += p[i];
    if (u < cum) return c[i].id;
  }
  return c.back().id;
}

}  // namespace internal

Status ValidateSampling(const SamplingParams& s) {
  if (!(s.temperature >= 0.0f) || !std::isfinite(s.temperature))
    return InvalidArgument("sampling: temperature must be a finite number >= 0 (got " + std::to_string(s.temperature) + ")");
  if (s.top_k < 0) return InvalidArgument("sampling: top_k must be >= 0 (0: off), got " + std::to_string(s.top_k));
  if (!(s.top_p > 0.0f && s.top_p <= 1.0f))
    return InvalidArgument("sampling: top_p must be in (0, 1], got " + std::to_string(s.top_p));
  if (!(s.min_p >= 0.0f && s.min_p <= 1.0f))
    return InvalidArgument("sampling: min_p must be in [0, 1], got " + std::to_string(s.min_p));
  if (!(s.repeat_penalty > 0.0f) || !std::isfinite(s.repeat_penalty))
    return InvalidArgument("sampling: repeat_penalty must be a finite number > 0, got " + std::to_string(s.repeat_penalty));
  if (s.repeat_last_n < -1)
    return InvalidArgument("sampling: repeat_last_n must be >= -1 (-1: whole context), got " + std::to_string(s.repeat_last_n));
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// The model.

struct LayerWeights {
  WeightMatrix q, k, v, o, gate, up, down;
  std::vector<float> attn_norm, ffn_norm, bq, bk, bv;  // biases empty when absent
};

class ModelImpl {
 public:
  std::shared_ptr<const Bytes> bytes;  // LoadBytes: keeps the parsed bytes alive
  std::unique_ptr<GgufFile> file;
  ModelInfo info;
  std::unique_ptr<Tokenizer> tokenizer;
  ChatTemplate chat_template;
  int32_t n_ff = 0, head_dim = 0, n_rot = 0;
  float eps = 1e-5f, freq_base = 10000.0f, freq_scale = 1.0f, theta_scale = 1.0f;
  bool neox = false;
  WeightMatrix embd, output;
  std::vector<float> output_norm;
  std::vector<float> rope_freqs;  // rope_freqs.weight (Llama 3.1 style frequency factors), or empty
  std::vector<LayerWeights> layers;
  std::vector<int32_t> eog;  // end-of-generation ids

  Status Init();
};

namespace {

Result<std::vector<float>> FloatVector(const GgufFile& f, const std::string& name, int64_t n, bool optional,
                                       bool* present = nullptr) {
  const GgufTensor* t = f.FindTensor(name);
  if (present) *present = t != nullptr;
  if (t == nullptr) {
    if (optional) return std::vector<float>{};
    return NotFound("llm: tensor '" + name + "' is missing");
  }
  if (t->Elements() != n)
    return InvalidArgument("llm: tensor '" + name + "' has " + std::to_string(t->Elements()) + " elements, expected " +
                           std::to_string(n));
  const TypeInfo* ti = TypeInfoOf(static_cast<uint32_t>(t->type));
  if (ti == nullptr || !ti->supported || n % ti->block_size != 0)
    return Unimplemented("llm: tensor '" + name + "' has an unsupported type");
  std::vector<float> v(static_cast<size_t>(n));
  DequantizeRow(t->type, t->data, v.data(), n);
  return v;
}

Result<WeightMatrix> Matrix(const GgufFile& f, const std::string& name, int64_t rows, int64_t cols) {
  if (f.FindTensor(name) == nullptr) return NotFound("llm: tensor '" + name + "' is missing");
  ASSIGN_OR_RETURN(WeightMatrix m, f.Matrix(name));
  if (m.rows != rows || m.cols != cols)
    return InvalidArgument("llm: tensor '" + name + "' is [" + std::to_string(m.rows) + " x " + std::to_string(m.cols) +
                           "], expected [" + std::to_string(rows) + " x " + std::to_string(cols) + "]");
  const TypeInfo* ti = TypeInfoOf(static_cast<uint32_t>(m.type));
  if (ti == nullptr || !ti->supported)
    return Unimplemented("llm: tensor '" + name + "' has an unsupported type");
  return m;
}

}  // namespace

Status ModelImpl::Init() {
  const GgufFile& f = *file;
  ASSIGN_OR_RETURN(std::string_view arch, f.GetString("general.architecture"));
  info.architecture = std::string(arch);
  if (arch == "llama") {
    neox = false;
  } else if (arch == "qwen2") {
    neox = true;
  } else {
    return Unimplemented("llm: architecture '" + info.architecture + "' is not supported (llama, qwen2)");
  }
  if (auto n = f.GetString("general.name"); n.ok()) info.name = std::string(*n);
  const std::string a = info.architecture + ".";
  auto u32 = [&](const std::string& key, int32_t& out, bool required) -> Status {
    auto v = f.GetU32(a + key);
    if (!v.ok()) {
      if (!required && v.status().code() == Code::kNotFound) return Status::Ok();
      return v.status();
    }
    if (*v == 0 || *v > (1u << 24)) return OutOfRange("llm: " + a + key + " = " + std::to_string(*v) + " is out of range");
    out = static_cast<int32_t>(*v);
    return Status::Ok();
  };
  RETURN_IF_ERROR(u32("embedding_length", info.n_embd, true));
  RETURN_IF_ERROR(u32("block_count", info.n_layer, true));
  RETURN_IF_ERROR(u32("attention.head_count", info.n_head, true));
  info.n_head_kv = info.n_head;
  RETURN_IF_ERROR(u32("attention.head_count_kv", info.n_head_kv, false));
  RETURN_IF_ERROR(u32("feed_forward_length", n_ff, true));
  info.context_length = 2048;
  RETURN_IF_ERROR(u32("context_length", info.context_length, false));
  if (info.n_embd % info.n_head != 0 || info.n_head % info.n_head_kv != 0)
    return InvalidArgument("llm: embedding_length " + std::to_string(info.n_embd) + ", head_count " +
                           std::to_string(info.n_head) + ", head_count_kv " + std::to_string(info.n_head_kv) +
                           " do not divide");
  head_dim = info.n_embd / info.n_head;
  n_rot = head_dim;
  RETURN_IF_ERROR(u32("rope.dimension_count", n_rot, false));
  if (n_rot > head_dim || n_rot % 2 != 0)
    return InvalidArgument("llm: rope.dimension_count " + std::to_string(n_rot) + " for heads of " + std::to_string(head_dim));
  auto f32 = [&](const std::string& key, float& out) -> Status {
    auto v = f.GetF32(a + key);
    if (!v.ok()) return v.status().code() == Code::kNotFound ? Status::Ok() : v.status();
    out = *v;
    return Status::Ok();
  };
  RETURN_IF_ERROR(f32("attention.layer_norm_rms_epsilon", eps));
  RETURN_IF_ERROR(f32("rope.freq_base", freq_base));
  if (!(freq_base > 0) || !std::isfinite(freq_base)) return InvalidArgument("llm: rope.freq_base must be > 0");
  // RoPE scaling: linear (freq_scale = 1/factor); others are refused by name.
  std::string scaling = "none";
  if (auto s = f.GetString(a + "rope.scaling.type"); s.ok()) scaling = std::string(*s);
  float factor = 0;
  RETURN_IF_ERROR(f32("rope.scaling.factor", factor));
  if (factor == 0) RETURN_IF_ERROR(f32("rope.scale_linear", factor));
  if (scaling == "linear" || (scaling == "none" && factor != 0 && f.Find(a + "rope.scaling.type") == nullptr)) {
    if (!(factor > 0) || !std::isfinite(factor)) return InvalidArgument("llm: rope scaling factor must be > 0");
    freq_scale = 1.0f / factor;
  } else if (scaling != "none") {
    return Unimplemented("llm: rope.scaling.type '" + scaling + "' is not supported (none, linear)");
  }
  theta_scale = internal::RopeThetaScale(freq_base, n_rot);

  // Tokenizer and chat template.
  ASSIGN_OR_RETURN(Vocabulary vocab, VocabularyFromGguf(f));
  std::string jinja = vocab.chat_template;
  ASSIGN_OR_RETURN(tokenizer, Tokenizer::Create(std::move(vocab)));
  auto tmpl = ChatTemplate::FromJinja(jinja);
  chat_template = tmpl.ok() ? *tmpl : ChatTemplate::Chatml();  // unknown or absent: ChatML
  info.vocab_size = tokenizer->size();
  for (int32_t id = 0; id < tokenizer->size(); ++id)
    if (tokenizer->IsEndOfGeneration(id)) eog.push_back(id);

  // Weights.
  const int64_t E = info.n_embd, KV = int64_t{info.n_head_kv} * head_dim, V = info.vocab_size;
  ASSIGN_OR_RETURN(embd, Matrix(f, "token_embd.weight", V, E));
  if (f.FindTensor("output.weight") != nullptr) {
    ASSIGN_OR_RETURN(output, Matrix(f, "output.weight", V, E));
  } else {
    output = embd;  // tied embeddings
  }
  ASSIGN_OR_RETURN(output_norm, FloatVector(f, "output_norm.weight", E, false));
  ASSIGN_OR_RETURN(rope_freqs, FloatVector(f, "rope_freqs.weight", n_rot / 2, true));
  layers.resize(static_cast<size_t>(info.n_layer));
  for (int32_t l = 0; l < info.n_layer; ++l) {
    LayerWeights& w = layers[static_cast<size_t>(l)];
    const std::string p = "blk." + std::to_string(l) + ".";
    ASSIGN_OR_RETURN(w.attn_norm, FloatVector(f, p + "attn_norm.weight", E, false));
    ASSIGN_OR_RETURN(w.ffn_norm, FloatVector(f, p + "ffn_norm.weight", E, false));
    ASSIGN_OR_RETURN(w.q, Matrix(f, p + "attn_q.weight", E, E));
    ASSIGN_OR_RETURN(w.k, Matrix(f, p + "attn_k.weight", KV, E));
    ASSIGN_OR_RETURN(w.v, Matrix(f, p + "attn_v.weight", KV, E));
    ASSIGN_OR_RETURN(w.o, Matrix(f, p + "attn_output.weight", E, E));
    ASSIGN_OR_RETURN(w.gate, Matrix(f, p + "ffn_gate.weight", n_ff, E));
    ASSIGN_OR_RETURN(w.up, Matrix(f, p + "ffn_up.weight", n_ff, E));
    ASSIGN_OR_RETURN(w.down, Matrix(f, p + "ffn_down.weight", E, n_ff));
    ASSIGN_OR_RETURN(w.bq, FloatVector(f, p + "attn_q.bias", E, true));
    ASSIGN_OR_RETURN(w.bk, FloatVector(f, p + "attn_k.bias", KV, true));
    ASSIGN_OR_RETURN(w.bv, FloatVector(f, p + "attn_v.bias", KV, true));
  }
  return Status::Ok();
}

Model::~Model() = default;

Result<std::shared_ptr<const Model>> Model::Load(const std::string& gguf_path) {
  auto impl = std::make_unique<ModelImpl>();
  ASSIGN_OR_RETURN(impl->file, GgufFile::Open(gguf_path));
  Status st = impl->Init();
  if (!st.ok()) return st.WithContext(gguf_path);
  std::shared_ptr<Model> m(new Model());
  m->impl_ = std::move(impl);
  return std::shared_ptr<const Model>(std::move(m));
}

Result<std::shared_ptr<const Model>> Model::LoadBytes(std::shared_ptr<const Bytes> gguf) {
  if (!gguf) return InvalidArgument("llm: no GGUF bytes");
  auto impl = std::make_unique<ModelImpl>();
  impl->bytes = std::move(gguf);
  ASSIGN_OR_RETURN(impl->file, GgufFile::Parse(impl->bytes->data(), impl->bytes->size()));
  RETURN_IF_ERROR(impl->Init());
  std::shared_ptr<Model> m(new Model());
  m->impl_ = std::move(impl);
  return std::shared_ptr<const Model>(std::move(m));
}

const ModelInfo& Model::info() const { return impl_->info; }
const Tokenizer& Model::tokenizer() const { return *impl_->tokenizer; }
const ChatTemplate& Model::chat_template() const { return impl_->chat_template; }

// ---------------------------------------------------------------------------------------
// The engine: sequences, the batched forward pass, the scheduler.

namespace {

using Clock = std::chrono::steady_clock;
double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Sequence {
  GenerateRequest req;
  bool logits_only = false;
  std::vector<int32_t> tokens;  // prompt + generated
  int32_t n_past = 0;           // tokens whose K/V are in the cache
  int32_t capacity = 0;         // positions the cache holds
  std::vector<float> k, v;      // [layer][capacity][n_head_kv·head_dim]
  internal::Rng rng{0};
  Clock::time_point start, first;
  // Shared with the caller (under EngineImpl::mu).
  std::vector<int32_t> out;        // generated, not yet taken by the caller
  bool done = false;
  FinishReason finish = FinishReason::kLength;
  Status error;
  std::vector<float> logits;       // logits_only
  std::atomic<bool> cancelled{false};
  double prefill_ms = 0, decode_ms = 0;
};

// One token of a step: sequence, position, id; logits wanted when it is the sequence's last.
struct Item {
  Sequence* seq;
  int32_t pos;
  int32_t token;
  bool want_logits;
};

}  // namespace

class EngineImpl {
 public:
  EngineImpl(const ModelImpl& m, EngineOptions o) : m_(m), o_(o) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~EngineImpl() {
    {
      std::lock_guard<std::mutex> lock(mu);
      stop_ = true;
    }
    work_cv_.notify_all();
    thread_.join();
  }

  void Submit(const std::shared_ptr<Sequence>& s) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (stop_) {
        s->error = Unavailable("llm: engine is shutting down");
        s->done = true;
        return;
      }
      pending_.push_back(s);
    }
    work_cv_.notify_all();
  }
  void Wake() { work_cv_.notify_all(); }
  EngineStats stats;  // under mu

  std::mutex mu;
  std::condition_variable out_cv;  // a sequence produced tokens or finished

 private:
  void Loop();
  void Step(std::vector<Item>& items);
  void Finish(Sequence& s, FinishReason r) {
    s.done = true;
    s.finish = r;
  }

  const ModelImpl& m_;
  EngineOptions o_;
  std::thread thread_;
  std::condition_variable work_cv_;
  bool stop_ = false;
  std::deque<std::shared_ptr<Sequence>> pending_;
  std::vector<std::shared_ptr<Sequence>> active_;  // scheduler thread only
  // Step buffers (scheduler thread only).
  std::vector<float> x_, h_, q_, k_, v_, att_, ff_, up_, cs_, exp_;
  MatMulInput in_;  // h_ quantized once for Q/K/V and once for gate/up
};

void EngineImpl::Loop() {
  std::vector<Item> items;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu);
      work_cv_.wait(lock, [&] { return stop_ || !pending_.empty() || !active_.empty(); });
      if (stop_) {
        for (auto& s : pending_) {
          s->error = Unavailable("llm: engine is shutting down");
          s->done = true;
        }
        for (auto& s : active_) {
          s->error = Unavailable("llm: engine is shutting down");
          s->done = true;
        }
        out_cv.notify_all();
        return;
      }
      // Drop cancelled sequences; admit new ones between steps.
      std::erase_if(active_, [](const std::shared_ptr<Sequence>& s) { return s->cancelled.load() || s->done; });
      while (!pending_.empty() && static_cast<int32_t>(active_.size()) < std::max<int32_t>(1, o_.max_batch)) {
        auto s = std::move(pending_.front());
        pending_.pop_front();
        if (s->cancelled.load()) continue;
        const size_t per_pos = static_cast<size_t>(m_.info.n_head_kv) * static_cast<size_t>(m_.head_dim);
        const size_t n = static_cast<size_t>(m_.info.n_layer) * static_cast<size_t>(s->capacity) * per_pos;
        s->k.assign(n, 0.0f);
        s->v.assign(n, 0.0f);
        s->start = Clock::now();
        active_.push_back(std::move(s));
      }
      if (active_.empty()) continue;
    }
    // The step: every decoding sequence's next token, prefill chunks within a token budget.
    items.clear();
    int32_t budget = std::max<int32_t>(1, o_.prefill_chunk);
    for (auto& sp : active_) {
      Sequence& s = *sp;
      const int32_t known = static_cast<int32_t>(s.tokens.size());
      int32_t n = known - s.n_past;  // 1 while decoding
      if (n > 1) {
        if (budget <= 0) continue;
        n = std::min(n, budget);
        budget -= n;
      }
      for (int32_t i = 0; i < n; ++i) {
        const int32_t pos = s.n_past + i;
        items.push_back({&s, pos, s.tokens[static_cast<size_t>(pos)], pos == known - 1});
      }
    }
    Step(items);
    // Sample, deliver, finish.
    std::lock_guard<std::mutex> lock(mu);
    ++stats.steps;
    stats.tokens += static_cast<int64_t>(items.size());
    {
      int32_t seqs = 0;
      for (size_t i = 0; i < items.size(); ++i) seqs += i == 0 || items[i].seq != items[i - 1].seq;
      stats.max_sequences_in_step = std::max(stats.max_sequences_in_step, seqs);
    }
    size_t li = 0;
    const size_t V = static_cast<size_t>(m_.info.vocab_size);
    for (const Item& it : items) {
      Sequence& s = *it.seq;
      s.n_past = std::max(s.n_past, it.pos + 1);
      if (!it.want_logits) continue;
      std::vector<float> logits(h_.begin() + static_cast<std::ptrdiff_t>(li * V),
                                h_.begin() + static_cast<std::ptrdiff_t>((li + 1) * V));
      ++li;
      const auto now = Clock::now();
      if (s.out.empty() && s.tokens.size() == s.req.prompt.size()) {
        s.first = now;
        s.prefill_ms = Ms(now - s.start);
      }
      if (s.logits_only) {
        s.logits = std::move(logits);
        Finish(s, FinishReason::kStop);
        continue;
      }
      if (s.cancelled.load()) continue;
      const int32_t generated = static_cast<int32_t>(s.tokens.size() - s.req.prompt.size());
      if (generated >= s.req.max_tokens) {
        Finish(s, FinishReason::kLength);
        continue;
      }
      const int32_t tok = internal::SampleToken(logits, s.req.sampling, s.tokens, s.rng);
      s.decode_ms = Ms(now - s.first);
      const bool stop = (!s.req.ignore_eos && std::find(m_.eog.begin(), m_.eog.end(), tok) != m_.eog.end()) ||
                        std::find(s.req.stop_tokens.begin(), s.req.stop_tokens.end(), tok) != s.req.stop_tokens.end();
      if (stop) {
        Finish(s, FinishReason::kStop);
        continue;
      }
      s.tokens.push_back(tok);
      s.out.push_back(tok);
      if (generated + 1 >= s.req.max_tokens) Finish(s, FinishReason::kLength);
    }
    out_cv.notify_all();
  }
}

namespace {

// ggml_rms_norm then ggml_mul: Σx² of float products in double, mean and scale in float.
void RmsNorm(const float* x, const float* w, int64_t n, float eps, float* y) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i] * x[i]);
  const float mean = static_cast<float>(sum / static_cast<double>(n));
  const float scale = 1.0f / std::sqrt(mean + eps);
  for (int64_t i = 0; i < n; ++i) {
    const float t = x[i] * scale;
    y[i] = t * w[i];
  }
}

// Fixed-order dot: element i into lane i mod 8 (product rounded, then added), lanes summed
// (j + j+4; then 0+2, 1+3; then 0+1). GCC vector types: element-wise IEEE multiply and add, so
// any vector width the compiler picks gives the same bits.
typedef float V8 __attribute__((vector_size(32), aligned(4)));

[[gnu::always_inline]] inline float Dot(const float* a, const float* b, int64_t n) {
  V8 acc = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    V8 x, y;
    std::memcpy(&x, a + i, sizeof(V8));
    std::memcpy(&y, b + i, sizeof(V8));
    const V8 p = x * y;
    acc = acc + p;
  }
  float l[8];
  std::memcpy(l, &acc, sizeof(l));
  for (; i < n; ++i) {
    const float p = a[i] * b[i];
    l[i % 8] = l[i % 8] + p;
  }
  for (int j = 0; j < 4; ++j) l[j] = l[j] + l[j + 4];
  l[0] = l[0] + l[2];
  l[1] = l[1] + l[3];
  return l[0] + l[1];
}

// acc[d] = acc[d] + p·v[d] for every d (each element rounded twice, as written).
[[gnu::always_inline]] inline void Axpy(float* acc, float p, const float* v, int64_t n) {
  int64_t d = 0;
  const V8 pv = {p, p, p, p, p, p, p, p};
  for (; d + 8 <= n; d += 8) {
    V8 a, x;
    std::memcpy(&a, acc + d, sizeof(V8));
    std::memcpy(&x, v + d, sizeof(V8));
    const V8 t = pv * x;
    a = a + t;
    std::memcpy(acc + d, &a, sizeof(V8));
  }
  for (; d < n; ++d) {
    const float t = p * v[d];
    acc[d] = acc[d] + t;
  }
}

// One (token, head) of causal attention: scores q·k_j·scale for j < n, softmax (own exp,
// sum in double), out = Σ_j p_j·v_j (j increasing). Compiled twice (generic, AVX2): the
// operations are element-wise IEEE multiplies and adds in the same order, so the bits agree.
#define LUCID_ATTEND_BODY                                                              \
  float mx = -std::numeric_limits<float>::infinity();                                 \
  for (int64_t j = 0; j < n; ++j) {                                                   \
    const float s = Dot(q, k + j * stride, D) * scale;                                \
    p[j] = s;                                                                         \
    mx = std::max(mx, s);                                                             \
  }                                                                                   \
  for (int64_t j = 0; j < n; ++j) p[j] = p[j] - mx;                                   \
  math::ExpArray(p, static_cast<size_t>(n));                                          \
  double sum = 0;                                                                     \
  for (int64_t j = 0; j < n; ++j) sum += p[j];                                        \
  const float inv = static_cast<float>(1.0 / sum);                                    \
  for (int64_t d = 0; d < D; ++d) out[d] = 0.0f;                                      \
  for (int64_t j = 0; j < n; ++j) {                                                   \
    const float pj = p[j] * inv;                                                      \
    Axpy(out, pj, v + j * stride, D);                                                 \
  }

void AttendGeneric(const float* q, const float* k, const float* v, int64_t n, int64_t stride, int64_t D,
                   float scale, float* p, float* out) {
  LUCID_ATTEND_BODY
}
__attribute__((target("avx2"))) void AttendAvx2Any(const float* q, const float* k, const float* v, int64_t n,
                                                   int64_t stride, int64_t D, float scale, float* p, float* out) {
  LUCID_ATTEND_BODY
}
#undef LUCID_ATTEND_BODY

// The same operations as LUCID_ATTEND_BODY for head_dim = 8·kNv, arranged for throughput:
// eight keys' dots at once (each key's lanes exactly Dot's: element i into lane i mod 8, in
// order), their lane trees done after an 8×8 transpose with the same adds (j + j+4; 0+2,
// 1+3; 0+1) so lane t is key t's Dot; the output row kept in registers across the keys.
// Max, exp and the sum are LUCID_ATTEND_BODY's loops unchanged.
template <int kNv>
__attribute__((target("avx2"))) void AttendAvx2Fixed(const float* q, const float* k, const float* v, int64_t n,
                                                     int64_t stride, float scale, float* p, float* out) {
  constexpr int64_t D = 8 * kNv;
  const __m256 vscale = _mm256_set1_ps(scale);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256 acc[8];
#pragma GCC unroll 8
    for (int t = 0; t < 8; ++t) acc[t] = _mm256_setzero_ps();
#pragma GCC unroll 16
    for (int c = 0; c < kNv; ++c) {
      const __m256 qv = _mm256_loadu_ps(q + 8 * c);
#pragma GCC unroll 8
      for (int t = 0; t < 8; ++t)
        acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(qv, _mm256_loadu_ps(k + (j + t) * stride + 8 * c)));
    }
    // Transpose: l[i] lane t = acc[t][i].
    const __m256 a0 = _mm256_unpacklo_ps(acc[0], acc[1]), a1 = _mm256_unpackhi_ps(acc[0], acc[1]);
    const __m256 a2 = _mm256_unpacklo_ps(acc[2], acc[3]), a3 = _mm256_unpackhi_ps(acc[2], acc[3]);
    const __m256 a4 = _mm256_unpacklo_ps(acc[4], acc[5]), a5 = _mm256_unpackhi_ps(acc[4], acc[5]);
    const __m256 a6 = _mm256_unpacklo_ps(acc[6], acc[7]), a7 = _mm256_unpackhi_ps(acc[6], acc[7]);
    const __m256 b0 = _mm256_shuffle_ps(a0, a2, 0x44), b1 = _mm256_shuffle_ps(a0, a2, 0xEE);
    const __m256 b2 = _mm256_shuffle_ps(a1, a3, 0x44), b3 = _mm256_shuffle_ps(a1, a3, 0xEE);
    const __m256 b4 = _mm256_shuffle_ps(a4, a6, 0x44), b5 = _mm256_shuffle_ps(a4, a6, 0xEE);
    const __m256 b6 = _mm256_shuffle_ps(a5, a7, 0x44), b7 = _mm256_shuffle_ps(a5, a7, 0xEE);
    __m256 l[8];
    l[0] = _mm256_permute2f128_ps(b0, b4, 0x20);
    l[1] = _mm256_permute2f128_ps(b1, b5, 0x20);
    l[2] = _mm256_permute2f128_ps(b2, b6, 0x20);
    l[3] = _mm256_permute2f128_ps(b3, b7, 0x20);
    l[4] = _mm256_permute2f128_ps(b0, b4, 0x31);
    l[5] = _mm256_permute2f128_ps(b1, b5, 0x31);
    l[6] = _mm256_permute2f128_ps(b2, b6, 0x31);
    l[7] = _mm256_permute2f128_ps(b3, b7, 0x31);
    for (int i = 0; i < 4; ++i) l[i] = _mm256_add_ps(l[i], l[i + 4]);
    l[0] = _mm256_add_ps(l[0], l[2]);
    l[1] = _mm256_add_ps(l[1], l[3]);
    _mm256_storeu_ps(p + j, _mm256_mul_ps(_mm256_add_ps(l[0], l[1]), vscale));
  }
  for (; j < n; ++j) p[j] = Dot(q, k + j * stride, D) * scale;
  float mx = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n; ++i) mx = std::max(mx, p[i]);
  for (int64_t i = 0; i < n; ++i) p[i] = p[i] - mx;
  math::ExpArray(p, static_cast<size_t>(n));
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += p[i];
  const float inv = static_cast<float>(1.0 / sum);
  __m256 o[kNv];
#pragma GCC unroll 16
  for (int c = 0; c < kNv; ++c) o[c] = _mm256_setzero_ps();
  for (int64_t i = 0; i < n; ++i) {
    const float pi = p[i] * inv;
    const __m256 pv = _mm256_set1_ps(pi);
    const float* vi = v + i * stride;
#pragma GCC unroll 16
    for (int c = 0; c < kNv; ++c) o[c] = _mm256_add_ps(o[c], _mm256_mul_ps(pv, _mm256_loadu_ps(vi + 8 * c)));
  }
#pragma GCC unroll 16
  for (int c = 0; c < kNv; ++c) _mm256_storeu_ps(out + 8 * c, o[c]);
}

void AttendAvx2(const float* q, const float* k, const float* v, int64_t n, int64_t stride, int64_t D, float scale,
                float* p, float* out) {
  switch (D) {
    case 64: return AttendAvx2Fixed<8>(q, k, v, n, stride, scale, p, out);
    case 128: return AttendAvx2Fixed<16>(q, k, v, n, stride, scale, p, out);
    default: return AttendAvx2Any(q, k, v, n, stride, D, scale, p, out);
  }
}

void Rope(float* x, const float* cs, int32_t head_dim, int32_t n_rot, bool neox) {
  for (int32_t i = 0; i < n_rot / 2; ++i) {
    const int32_t a = neox ? i : 2 * i, b = neox ? i + n_rot / 2 : 2 * i + 1;
    const float c = cs[2 * i], s = cs[2 * i + 1];
    const float x0 = x[a], x1 = x[b];
    const float r0a = x0 * c, r0b = x1 * s, r1a = x0 * s, r1b = x1 * c;
    x[a] = r0a - r0b;
    x[b] = r1a + r1b;
  }
  (void)head_dim;
}

}  // namespace

void EngineImpl::Step(std::vector<Item>& items) {
  const int64_t N = static_cast<int64_t>(items.size());
  const int64_t E = m_.info.n_embd, H = m_.info.n_head, HKV = m_.info.n_head_kv, D = m_.head_dim;
  const int64_t KVD = HKV * D, F = m_.n_ff, V = m_.info.vocab_size;
  const int threads = std::max(1, o_.threads);
  x_.resize(static_cast<size_t>(N * E));
  h_.resize(static_cast<size_t>(N * E));
  q_.resize(static_cast<size_t>(N * E));
  k_.resize(static_cast<size_t>(N * KVD));
  v_.resize(static_cast<size_t>(N * KVD));
  att_.resize(static_cast<size_t>(N * E));
  ff_.resize(static_cast<size_t>(N * F));
  up_.resize(static_cast<size_t>(N * F));
  cs_.resize(static_cast<size_t>(N * m_.n_rot));
  // Embeddings (dequantized rows) and RoPE angles per token.
  const int64_t row = m_.embd.row_bytes;
  for (int64_t t = 0; t < N; ++t) {
    DequantizeRow(m_.embd.type, m_.embd.data + items[static_cast<size_t>(t)].token * row, x_.data() + t * E, E);
    internal::RopeAngles(items[static_cast<size_t>(t)].pos, m_.theta_scale, m_.freq_scale, m_.n_rot,
                         cs_.data() + t * m_.n_rot, m_.rope_freqs.empty() ? nullptr : m_.rope_freqs.data());
  }
  const float kq_scale = 1.0f / std::sqrt(static_cast<float>(D));
  for (size_t l = 0; l < m_.layers.size(); ++l) {
    const LayerWeights& w = m_.layers[l];
    for (int64_t t = 0; t < N; ++t) RmsNorm(x_.data() + t * E, w.attn_norm.data(), E, m_.eps, h_.data() + t * E);
    in_.Reset(N, h_.data(), E, E);
    MatMul(w.q, in_, q_.data(), E, threads);
    MatMul(w.k, in_, k_.data(), KVD, threads);
    MatMul(w.v, in_, v_.data(), KVD, threads);
    for (int64_t t = 0; t < N; ++t) {
      if (!w.bq.empty())
        for (int64_t i = 0; i < E; ++i) q_[t * E + i] = q_[t * E + i] + w.bq[i];
      if (!w.bk.empty())
        for (int64_t i = 0; i < KVD; ++i) k_[t * KVD + i] = k_[t * KVD + i] + w.bk[i];
      if (!w.bv.empty())
        for (int64_t i = 0; i < KVD; ++i) v_[t * KVD + i] = v_[t * KVD + i] + w.bv[i];
      const float* cs = cs_.data() + t * m_.n_rot;
      for (int64_t h = 0; h < H; ++h) Rope(q_.data() + t * E + h * D, cs, D, m_.n_rot, m_.neox);
      for (int64_t h = 0; h < HKV; ++h) Rope(k_.data() + t * KVD + h * D, cs, D, m_.n_rot, m_.neox);
      // Into the sequence's cache.
      const Item& it = items[static_cast<size_t>(t)];
      const size_t off = (l * static_cast<size_t>(it.seq->capacity) + static_cast<size_t>(it.pos)) * KVD;
      std::memcpy(it.seq->k.data() + off, k_.data() + t * KVD, KVD * sizeof(float));
      std::memcpy(it.seq->v.data() + off, v_.data() + t * KVD, KVD * sizeof(float));
    }
    // Causal attention per (token, head): each output computed by one thread, fixed order.
    const int64_t group = H / HKV;
    // LUCID_GEMM_PATH=scalar runs the generic attention too (engine_test compares the paths).
    static const bool avx2 = CpuHasAvx2() && std::string_view(std::getenv("LUCID_GEMM_PATH") ? std::getenv("LUCID_GEMM_PATH") : "") != "scalar";
    ParallelFor(N * H, threads, [&](int64_t b, int64_t e) {
      std::vector<float> p;
      std::vector<float> acc(static_cast<size_t>(D));
      for (int64_t th = b; th < e; ++th) {
        const int64_t t = th / H, h = th % H, g = h / group;
        const Item& it = items[static_cast<size_t>(t)];
        const int64_t n = it.pos + 1;
        const float* kc = it.seq->k.data() + l * static_cast<size_t>(it.seq->capacity) * KVD;
        const float* vc = it.seq->v.data() + l * static_cast<size_t>(it.seq->capacity) * KVD;
        const float* qh = q_.data() + t * E + h * D;
        p.resize(static_cast<size_t>(n));
        (avx2 ? AttendAvx2 : AttendGeneric)(qh, kc + g * D, vc + g * D, n, KVD, D, kq_scale, p.data(), acc.data());
        std::memcpy(att_.data() + t * E + h * D, acc.data(), D * sizeof(float));
      }
    }, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, D)));
    MatMul(w.o, N, att_.data(), E, h_.data(), E, threads);
    for (int64_t i = 0; i < N * E; ++i) x_[i] = x_[i] + h_[i];
    for (int64_t t = 0; t < N; ++t) RmsNorm(x_.data() + t * E, w.ffn_norm.data(), E, m_.eps, h_.data() + t * E);
    in_.Reset(N, h_.data(), E, E);
    MatMul(w.gate, in_, ff_.data(), F, threads);
    MatMul(w.up, in_, up_.data(), F, threads);
    // silu(g)·up = g / (1 + e^-g) · up (ExpArray is Exp bit for bit, vectorised), tokens
    // split across threads (element-wise: the same bits for any split).
    exp_.resize(static_cast<size_t>(N * F));
    ParallelFor(N, threads, [&](int64_t t0, int64_t t1) {
      for (int64_t i = t0 * F; i < t1 * F; ++i) exp_[i] = -ff_[i];
      math::ExpArray(exp_.data() + t0 * F, static_cast<size_t>((t1 - t0) * F));
      for (int64_t i = t0 * F; i < t1 * F; ++i) {
        const float g = ff_[i];
        const float silu = g / (1.0f + exp_[i]);
        ff_[i] = silu * up_[i];
      }
    }, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, F)));
    MatMul(w.down, N, ff_.data(), F, h_.data(), E, threads);
    for (int64_t i = 0; i < N * E; ++i) x_[i] = x_[i] + h_[i];
  }
  // Output norm and logits for the tokens that need them (into h_).
  std::vector<float> last;
  int64_t M = 0;
  for (int64_t t = 0; t < N; ++t)
    if (items[static_cast<size_t>(t)].want_logits) {
      last.resize(static_cast<size_t>((M + 1) * E));
      RmsNorm(x_.data() + t * E, m_.output_norm.data(), E, m_.eps, last.data() + M * E);
      ++M;
    }
  h_.resize(static_cast<size_t>(std::max<int64_t>(M * V, 1)));
  if (M > 0) MatMul(m_.output, M, last.data(), E, h_.data(), V, threads);
}

Engine::Engine(std::shared_ptr<const Model> model, EngineOptions options)
    : model_(std::move(model)), options_(options) {
  if (options_.max_context <= 0 || options_.max_context > model_->info().context_length)
    options_.max_context = model_->info().context_length;
  impl_ = std::make_unique<EngineImpl>(model_->impl(), options_);
}

Engine::~Engine() = default;

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->stats;
}

namespace {

Status CheckPrompt(const std::vector<int32_t>& prompt, int32_t vocab) {
  if (prompt.empty()) return InvalidArgument("llm: the prompt is empty");
  for (size_t i = 0; i < prompt.size(); ++i)
    if (prompt[i] < 0 || prompt[i] >= vocab)
      return InvalidArgument("llm: prompt token " + std::to_string(i) + " = " + std::to_string(prompt[i]) +
                             " is outside the vocabulary [0, " + std::to_string(vocab) + ")");
  return Status::Ok();
}

}  // namespace

Result<GenerateResult> Engine::Generate(const GenerateRequest& req, std::function<bool(int32_t)> on_token) {
  RETURN_IF_ERROR(CheckPrompt(req.prompt, model_->info().vocab_size));
  RETURN_IF_ERROR(ValidateSampling(req.sampling));
  if (req.max_tokens < 0) return InvalidArgument("llm: max_tokens must be >= 0, got " + std::to_string(req.max_tokens));
  const int64_t need = static_cast<int64_t>(req.prompt.size()) + req.max_tokens;
  if (need > options_.max_context)
    return OutOfRange("llm: the prompt (" + std::to_string(req.prompt.size()) + " tokens) plus max_tokens (" +
                      std::to_string(req.max_tokens) + ") exceeds the context length " +
                      std::to_string(options_.max_context));
  GenerateResult result;
  result.prompt_tokens = static_cast<int32_t>(req.prompt.size());
  if (req.max_tokens == 0) {
    result.finish = FinishReason::kLength;
    return result;
  }
  auto s = std::make_shared<Sequence>();
  s->req = req;
  s->tokens = req.prompt;
  s->capacity = static_cast<int32_t>(need);
  s->rng = internal::Rng(req.sampling.seed);
  impl_->Submit(s);
  std::unique_lock<std::mutex> lock(impl_->mu);
  for (;;) {
    impl_->out_cv.wait(lock, [&] { return s->done || !s->out.empty(); });
    std::vector<int32_t> got;
    got.swap(s->out);
    const bool done = s->done;
    lock.unlock();
    for (int32_t tok : got) {
      result.tokens.push_back(tok);
      if (on_token && !on_token(tok)) {
        s->cancelled.store(true);
        impl_->Wake();
        result.finish = FinishReason::kCancelled;
        lock.lock();
        result.prefill_ms = s->prefill_ms;
        result.decode_ms = s->decode_ms;
        return result;
      }
    }
    lock.lock();
    if (done && s->out.empty()) break;
  }
  if (!s->error.ok()) return s->error;
  result.finish = s->finish;
  result.prefill_ms = s->prefill_ms;
  result.decode_ms = s->decode_ms;
  return result;
}

Result<std::vector<float>> Engine::PromptLogits(const std::vector<int32_t>& prompt) {
  RETURN_IF_ERROR(CheckPrompt(prompt, model_->info().vocab_size));
  if (static_cast<int64_t>(prompt.size()) > options_.max_context)
    return OutOfRange("llm: the prompt (" + std::to_string(prompt.size()) + " tokens) exceeds the context length " +
                      std::to_string(options_.max_context));
  auto s = std::make_shared<Sequence>();
  s->req.prompt = prompt;
  s->tokens = prompt;
  s->logits_only = true;
  s->capacity = static_cast<int32_t>(prompt.size());
  impl_->Submit(s);
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->out_cv.wait(lock, [&] { return s->done; });
  if (!s->error.ok()) return s->error;
  return std::move(s->logits);
}

}  // namespace lucid::llm
