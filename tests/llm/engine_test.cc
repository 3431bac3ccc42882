// The LLM engine (llm/engine.h) on tiny random-weight models written by
// tests/llm/make_llama_gguf.py (every weight type, llama and qwen2 variants), and on the real
// SmolLM2-135M-Instruct when fetched (tests/llm/fetch_smollm2.py; skipped otherwise):
// own sin/cos/log, sampling, named refusals, and bit-identical tokens AND logits for
// threads 1/2/3, a request alone vs with 3 other concurrent requests, chunked prefill, and
// every GEMM path (LUCID_GEMM_PATH, in child processes).
#include <gtest/gtest.h>

#include <atomic>
#include <bit>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iterator>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <thread>
#include <vector>

#include "llm/engine.h"
#include "llm/engine_internal.h"
#include "llm/quant.h"

namespace lucid::llm {
namespace {

std::string SourceDir() {
  const char* s = std::getenv("LUCID_SOURCE_DIR");
  return s ? s : LUCID_SOURCE_DIR;
}

const std::string& TestDir() {
  static const std::string dir = [] {
    std::string out = "llm_engine_testdata";
    std::string py = SourceDir() + "/.venv/bin/python";
    if (const char* p = std::getenv("LUCID_PYTHON")) py = p;
    std::string cmd = py + " " + SourceDir() + "/tests/llm/make_llama_gguf.py " + out;
    int rc = std::system(cmd.c_str());
    if (rc != 0) ADD_FAILURE() << "generator failed (" << rc << "): " << cmd << " (scripts/setup installs gguf)";
    return out;
  }();
  return dir;
}

std::shared_ptr<const Model> Load(const std::string& name) {
  auto m = Model::Load(TestDir() + "/" + name);
  EXPECT_TRUE(m.ok()) << m.status().ToString();
  return m.ok() ? *m : nullptr;
}

std::vector<uint32_t> Bits(const std::vector<float>& v) {
  std::vector<uint32_t> b(v.size());
  for (size_t i = 0; i < v.size(); ++i) b[i] = std::bit_cast<uint32_t>(v[i]);
  return b;
}

std::vector<int32_t> Prompt(int32_t n, int32_t seed, int32_t vocab) {
  std::vector<int32_t> p(static_cast<size_t>(n));
  uint32_t x = static_cast<uint32_t>(seed) * 2654435761u + 1;
  for (auto& t : p) {
    x = x * 1664525u + 1013904223u;
    t = static_cast<int32_t>((x >> 8) % static_cast<uint32_t>(vocab - 8));  // skip the specials
  }
  return p;
}

GenerateRequest Req(std::vector<int32_t> prompt, int32_t max_tokens, float temperature, uint64_t seed) {
  GenerateRequest r;
  r.prompt = std::move(prompt);
  r.max_tokens = max_tokens;
  r.sampling.temperature = temperature;
  r.sampling.top_k = temperature > 0 ? 40 : 0;
  r.sampling.top_p = temperature > 0 ? 0.95f : 1.0f;
  r.sampling.min_p = temperature > 0 ? 0.02f : 0.0f;
  r.sampling.repeat_penalty = 1.1f;
  r.sampling.seed = seed;
  r.ignore_eos = true;
  return r;
}

// Everything a determinism check compares: prompt logits and generated tokens.
struct Outcome {
  std::vector<uint32_t> logits;
  std::vector<int32_t> greedy, sampled;
  bool operator==(const Outcome&) const = default;
};

Outcome RunAll(const std::shared_ptr<const Model>& m, EngineOptions o, const std::vector<int32_t>& prompt) {
  Engine e(m, o);
  Outcome out;
  auto l = e.PromptLogits(prompt);
  EXPECT_TRUE(l.ok()) << l.status().ToString();
  if (l.ok()) out.logits = Bits(*l);
  auto g = e.Generate(Req(prompt, 24, 0, 0));
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  if (g.ok()) out.greedy = g->tokens;
  auto s = e.Generate(Req(prompt, 24, 0.8f, 42));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  if (s.ok()) out.sampled = s->tokens;
  return out;
}

TEST(EngineMath, SinCosLogAgainstLibm) {
  double worst_sc = 0, worst_log = 0;
  for (int i = -20000; i <= 200000; ++i) {
    const double x = i * 0.0413;
    worst_sc = std::max(worst_sc, std::fabs(internal::SinDouble(x) - std::sin(x)));
    worst_sc = std::max(worst_sc, std::fabs(internal::CosDouble(x) - std::cos(x)));
  }
  for (double x : {1e-30, 0.001, 0.5, 0.7071, 1.0, 1.5, 2.0, 10.0, 10000.0, 100000.0, 500000.0, 1e30}) {
    worst_log = std::max(worst_log, std::fabs(internal::LogDouble(x) - std::log(x)) / std::max(1.0, std::fabs(std::log(x))));
  }
  std::printf("sin/cos max abs error %.3g on [-826, 8260]; log max rel error %.3g\n", worst_sc, worst_log);
  EXPECT_LT(worst_sc, 1e-12);
  EXPECT_LT(worst_log, 1e-15);
  EXPECT_EQ(internal::LogDouble(1.0), 0.0);
}

TEST(EngineMath, RopeAnglesAsGgml) {
  const float ts = internal::RopeThetaScale(10000.0f, 64);
  EXPECT_EQ(ts, std::pow(10000.0f, -2.0f / 64));  // libm's powf, correctly rounded here
  EXPECT_EQ(internal::RopeThetaScale(100000.0f, 64), std::pow(100000.0f, -2.0f / 64));    // SmolLM2
  EXPECT_EQ(internal::RopeThetaScale(500000.0f, 128), std::pow(500000.0f, -2.0f / 128));  // Llama 3
  EXPECT_EQ(internal::RopeThetaScale(1000000.0f, 128), std::pow(1000000.0f, -2.0f / 128));  // Qwen2
  std::vector<float> cs(64);
  internal::RopeAngles(1234, ts, 1.0f, 64, cs.data());
  float theta = 1234.0f;
  for (int i = 0; i < 32; ++i) {
    EXPECT_NEAR(cs[2 * i], std::cos(theta), 1e-6) << i;
    EXPECT_NEAR(cs[2 * i + 1], std::sin(theta), 1e-6) << i;
    theta *= ts;
  }
}

TEST(EngineSampling, ValidateNamesTheParameter) {
  auto bad = [](auto set, const char* word) {
    SamplingParams p;
    set(p);
    Status st = ValidateSampling(p);
    EXPECT_EQ(st.code(), Code::kInvalidArgument);
    EXPECT_NE(st.message().find(word), std::string::npos) << st.message();
  };
  EXPECT_TRUE(ValidateSampling(SamplingParams{}).ok());
  bad([](SamplingParams& p) { p.temperature = -1; }, "temperature");
  bad([](SamplingParams& p) { p.temperature = NAN; }, "temperature");
  bad([](SamplingParams& p) { p.top_k = -2; }, "top_k");
  bad([](SamplingParams& p) { p.top_p = 1.5f; }, "top_p");
  bad([](SamplingParams& p) { p.top_p = 0; }, "top_p");
  bad([](SamplingParams& p) { p.min_p = -0.1f; }, "min_p");
  bad([](SamplingParams& p) { p.repeat_penalty = 0; }, "repeat_penalty");
  bad([](SamplingParams& p) { p.repeat_last_n = -5; }, "repeat_last_n");
}

TEST(EngineSampling, GreedyAndFilters) {
  internal::Rng rng(1);
  SamplingParams greedy;
  std::vector<float> l = {1, 5, 3, 5, -2};
  EXPECT_EQ(internal::SampleToken(l, greedy, {}, rng), 1);  // lowest id on ties
  // Repetition penalty: 5/2.5 = 2 < 3 for ids 1 and 3.
  SamplingParams pen;
  pen.repeat_penalty = 2.5f;
  l = {1, 5, 3, 5, -2};
  EXPECT_EQ(internal::SampleToken(l, pen, {1, 3}, rng), 2);
  l = {1, 5, 3, 5, -2};
  pen.repeat_last_n = 1;  // only id 3 penalised
  EXPECT_EQ(internal::SampleToken(l, pen, {1, 3}, rng), 1);
  // top_k 1, tiny top_p, min_p 1: always the argmax whatever the temperature.
  for (int i = 0; i < 50; ++i) {
    SamplingParams p;
    p.temperature = 5;
    p.seed = static_cast<uint64_t>(i);
    std::vector<float> v = {0.1f, 0.3f, 0.2f, 0.25f};
    p.top_k = 1;
    EXPECT_EQ(internal::SampleToken(v, p, {}, rng), 1);
    p.top_k = 0;
    p.top_p = 0.01f;
    v = {0.1f, 0.3f, 0.2f, 0.25f};
    EXPECT_EQ(internal::SampleToken(v, p, {}, rng), 1);
    p.top_p = 1;
    p.min_p = 1;
    v = {0.1f, 0.3f, 0.2f, 0.25f};
    EXPECT_EQ(internal::SampleToken(v, p, {}, rng), 1);
  }
  // Draws follow the softmax: p(0) = 1/(1+e^-1) = 0.731 for logits {1, 0}.
  SamplingParams t;
  t.temperature = 1;
  internal::Rng r2(7);
  int zeros = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<float> v = {1, 0};
    zeros += internal::SampleToken(v, t, {}, r2) == 0;
  }
  EXPECT_NEAR(zeros / 20000.0, 0.7311, 0.015);
  // Same seed, same stream; another seed, another stream.
  internal::Rng a(99), b(99), c(100);
  bool differ = false;
  for (int i = 0; i < 8; ++i) {
    uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    differ |= x != c.Next();
  }
  EXPECT_TRUE(differ);
}

TEST(Engine, LoadsInfoTokenizerAndTemplate) {
  auto m = Load("tiny_llama.gguf");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->info().architecture, "llama");
  EXPECT_EQ(m->info().n_layer, 2);
  EXPECT_EQ(m->info().n_head, 4);
  EXPECT_EQ(m->info().n_head_kv, 2);
  EXPECT_EQ(m->info().context_length, 256);
  EXPECT_EQ(m->info().vocab_size, m->tokenizer().size());
  EXPECT_EQ(m->chat_template().format(), ChatFormat::kChatml);
  auto q = Load("tiny_qwen2.gguf");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->info().architecture, "qwen2");
  // Bytes (hub blobs) load the same model.
  std::ifstream f(TestDir() + "/tiny_llama.gguf", std::ios::binary);
  auto bytes = std::make_shared<Bytes>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  auto mb = Model::LoadBytes(bytes);
  ASSERT_TRUE(mb.ok()) << mb.status().ToString();
  std::vector<int32_t> p = Prompt(9, 1, m->info().vocab_size);
  Engine e1(m, {}), e2(*mb, {});
  EXPECT_EQ(Bits(*e1.PromptLogits(p)), Bits(*e2.PromptLogits(p)));
  // Corrupt bytes: a named error, no crash.
  auto cut = std::make_shared<Bytes>(bytes->begin(), bytes->begin() + 4000);
  auto bad = Model::LoadBytes(cut);
  EXPECT_FALSE(bad.ok());
  std::printf("truncated: %s\n", bad.status().ToString().c_str());
}

TEST(Engine, RefusalsAreNamed) {
  auto m = Load("tiny_llama.gguf");
  ASSERT_TRUE(m);
  Engine e(m, {});
  const int32_t V = m->info().vocab_size;
  auto r = e.Generate(Req({}, 4, 0, 0));
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("empty"), std::string::npos);
  r = e.Generate(Req({1, V}, 4, 0, 0));
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("vocabulary"), std::string::npos) << r.status().message();
  auto bad = Req({1, 2}, 4, -1, 0);
  EXPECT_EQ(e.Generate(bad).status().code(), Code::kInvalidArgument);
  r = e.Generate(Req(Prompt(200, 3, V), 100, 0, 0));
  EXPECT_EQ(r.status().code(), Code::kOutOfRange);
  EXPECT_NE(r.status().message().find("context length 256"), std::string::npos) << r.status().message();
  EXPECT_EQ(e.PromptLogits(Prompt(257, 3, V)).status().code(), Code::kOutOfRange);
  EXPECT_EQ(e.Generate(Req({1}, -1, 0, 0)).status().code(), Code::kInvalidArgument);
  // max_context below the model's.
  Engine small(m, {.max_context = 16});
  EXPECT_EQ(small.Generate(Req(Prompt(10, 3, V), 7, 0, 0)).status().code(), Code::kOutOfRange);
  EXPECT_TRUE(small.Generate(Req(Prompt(10, 3, V), 6, 0, 0)).ok());
  // The engine still serves after refusals.
  auto ok = e.Generate(Req(Prompt(5, 1, V), 3, 0, 0));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->tokens.size(), 3u);
  EXPECT_EQ(ok->finish, FinishReason::kLength);
  EXPECT_EQ(ok->prompt_tokens, 5);
}

TEST(Engine, BitIdenticalAcrossThreadCounts) {
  for (const char* name : {"tiny_llama.gguf", "tiny_qwen2.gguf"}) {
    auto m = Load(name);
    ASSERT_TRUE(m);
    std::vector<int32_t> p = Prompt(37, 5, m->info().vocab_size);
    Outcome one = RunAll(m, {.threads = 1}, p);
    ASSERT_EQ(one.greedy.size(), 24u);
    ASSERT_EQ(one.sampled.size(), 24u);
    EXPECT_NE(one.greedy, one.sampled);
    for (int t : {2, 3}) EXPECT_TRUE(RunAll(m, {.threads = t}, p) == one) << name << " threads " << t;
    // Chunked prefill (3 prompt tokens a step) changes nothing either.
    EXPECT_TRUE(RunAll(m, {.threads = 2, .prefill_chunk = 3}, p) == one) << name << " chunked";
  }
}

TEST(Engine, BitIdenticalAloneAndWithConcurrentRequests) {
  for (const char* name : {"tiny_llama.gguf", "tiny_qwen2.gguf"}) {
    auto m = Load(name);
    ASSERT_TRUE(m);
    const int32_t V = m->info().vocab_size;
    std::vector<int32_t> p = Prompt(29, 9, V);
    Outcome alone = RunAll(m, {.threads = 2}, p);
    // The same requests while 3 others (other lengths, sampled) run on the same engine.
    Engine e(m, {.threads = 2, .max_batch = 8, .prefill_chunk = 16});
    std::vector<std::future<Result<GenerateResult>>> others;
    for (int i = 0; i < 3; ++i)
      others.push_back(std::async(std::launch::async, [&, i] {
        return e.Generate(Req(Prompt(11 + 17 * i, 100 + i, V), 30 + 5 * i, 0.9f, static_cast<uint64_t>(i)));
      }));
    auto fl = std::async(std::launch::async, [&] { return e.PromptLogits(p); });
    auto fg = std::async(std::launch::async, [&] { return e.Generate(Req(p, 24, 0, 0)); });
    auto fs = std::async(std::launch::async, [&] { return e.Generate(Req(p, 24, 0.8f, 42)); });
    Outcome together;
    auto l = fl.get();
    auto g = fg.get();
    auto s = fs.get();
    ASSERT_TRUE(l.ok() && g.ok() && s.ok());
    together.logits = Bits(*l);
    together.greedy = g->tokens;
    together.sampled = s->tokens;
    EXPECT_TRUE(together == alone) << name;
    const EngineStats st = e.stats();
    std::printf("%s: %lld steps, %lld tokens, up to %d sequences in one step\n", name,
                static_cast<long long>(st.steps), static_cast<long long>(st.tokens), st.max_sequences_in_step);
    EXPECT_GE(st.max_sequences_in_step, 2);  // the requests really were batched together
    for (int i = 0; i < 3; ++i) {
      auto r = others[static_cast<size_t>(i)].get();
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      // Each of the others equals its own solo run too.
      Engine solo(m, {.threads = 1});
      auto r1 = solo.Generate(Req(Prompt(11 + 17 * i, 100 + i, V), 30 + 5 * i, 0.9f, static_cast<uint64_t>(i)));
      ASSERT_TRUE(r1.ok());
      EXPECT_EQ(r->tokens, r1->tokens) << name << " other " << i;
    }
  }
}

// Child process of GemmPathsBitIdentical: writes the outcome under one LUCID_GEMM_PATH.
TEST(EngineDump, WriteOutcome) {
  const char* out = std::getenv("LUCID_ENGINE_DUMP");
  if (out == nullptr) GTEST_SKIP() << "child of Engine.BitIdenticalAcrossGemmPaths";
  std::FILE* f = std::fopen(out, "w");
  ASSERT_NE(f, nullptr);
  std::fprintf(f, "path %s\n", std::string(ActiveQuantPath()).c_str());
  for (const char* name : {"tiny_llama.gguf", "tiny_qwen2.gguf"}) {
    auto m = Load(name);
    ASSERT_TRUE(m);
    Outcome o = RunAll(m, {.threads = 2}, Prompt(21, 4, m->info().vocab_size));
    for (uint32_t b : o.logits) std::fprintf(f, "%08x ", b);
    std::fprintf(f, "\n");
    for (int32_t t : o.greedy) std::fprintf(f, "%d ", t);
    for (int32_t t : o.sampled) std::fprintf(f, "%d ", t);
    std::fprintf(f, "\n");
  }
  std::fclose(f);
}

TEST(Engine, BitIdenticalAcrossGemmPaths) {
  TestDir();
  char self[4096];
  const ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
  ASSERT_GT(n, 0);
  self[n] = 0;
  std::string first;
  int ran = 0;
  for (const char* path : {"scalar", "avx2", "avx512-vnni"}) {
    std::string dump = std::string("engine_dump_") + path + ".txt";
    std::remove(dump.c_str());
    std::string cmd = "LUCID_GEMM_PATH=" + std::string(path) + " LUCID_ENGINE_DUMP=" + dump +
                      " " + std::string(self) + " --gtest_filter=EngineDump.WriteOutcome > /dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    std::ifstream f(dump);
    std::string text((std::istreambuf_iterator<char>(f)), {});
    std::string head = text.substr(0, text.find('\n'));
    if (head != std::string("path ") + path) {  // the CPU lacks it: the best path ran instead
      std::printf("%s: not on this CPU (%s ran)\n", path, head.c_str());
      continue;
    }
    std::string body = text.substr(text.find('\n'));
    ++ran;
    if (first.empty()) first = body;
    EXPECT_EQ(body, first) << path;
    std::printf("%s: %zu bytes of logits and tokens, %s\n", path, body.size(), body == first ? "identical" : "DIFFERENT");
  }
  EXPECT_GE(ran, 2);
}

TEST(Engine, StopTokensAndCancel) {
  auto m = Load("tiny_llama.gguf");
  ASSERT_TRUE(m);
  Engine e(m, {.threads = 2});
  std::vector<int32_t> p = Prompt(13, 8, m->info().vocab_size);
  auto full = e.Generate(Req(p, 20, 0.9f, 3));
  ASSERT_TRUE(full.ok());
  ASSERT_EQ(full->tokens.size(), 20u);
  // Stop at the first occurrence of token #6 (excluded from the result).
  const int32_t stop = full->tokens[6];
  size_t k = 0;
  while (full->tokens[k] != stop) ++k;
  auto req = Req(p, 20, 0.9f, 3);
  req.stop_tokens = {stop};
  auto stopped = e.Generate(req);
  ASSERT_TRUE(stopped.ok());
  EXPECT_EQ(stopped->finish, FinishReason::kStop);
  EXPECT_EQ(stopped->tokens, std::vector<int32_t>(full->tokens.begin(), full->tokens.begin() + static_cast<long>(k)));
  // on_token sees every token in order; false cancels.
  std::vector<int32_t> seen;
  auto cancelled = e.Generate(Req(p, 20, 0.9f, 3), [&](int32_t t) {
    seen.push_back(t);
    return seen.size() < 4;
  });
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->finish, FinishReason::kCancelled);
  EXPECT_EQ(seen, std::vector<int32_t>(full->tokens.begin(), full->tokens.begin() + 4));
  EXPECT_EQ(cancelled->tokens, seen);
  // The engine goes on: the same request again gives the same tokens.
  auto again = e.Generate(Req(p, 20, 0.9f, 3));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->tokens, full->tokens);
}

std::string SmolPath() {
  if (const char* p = std::getenv("LUCID_SMOLLM2_GGUF")) return p;
  return SourceDir() + "/.cache/models/smollm2-135m-instruct-q4_1.gguf";
}

TEST(EngineSmolLM2, ChatAnswerDeterministic) {
  struct stat st {};
  if (stat(SmolPath().c_str(), &st) != 0)
    GTEST_SKIP() << SmolPath() << " is absent: run .venv/bin/python tests/llm/fetch_smollm2.py";
  auto mr = Model::Load(SmolPath());
  ASSERT_TRUE(mr.ok()) << mr.status().ToString();
  auto m = *mr;
  EXPECT_EQ(m->info().n_layer, 30);
  auto text = m->chat_template().Render({{"user", "Name three primary colors.", {}, "", ""}}, {}, true);
  ASSERT_TRUE(text.ok());
  std::vector<int32_t> prompt = m->tokenizer().Encode(*text, true, true);
  GenerateRequest req;
  req.prompt = prompt;
  req.max_tokens = 16;
  Engine e1(m, {.threads = 1});
  auto a = e1.Generate(req);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  std::printf("answer: %s\n", m->tokenizer().Decode(a->tokens, false).c_str());
  auto l1 = e1.PromptLogits(prompt);
  Engine e2(m, {.threads = 2});
  auto other = std::async(std::launch::async, [&] {
    GenerateRequest r = req;
    r.prompt = m->tokenizer().Encode("Once upon a time", true, false);
    r.sampling.temperature = 0.7f;
    return e2.Generate(r);
  });
  auto b = e2.Generate(req);
  auto l2 = e2.PromptLogits(prompt);
  ASSERT_TRUE(b.ok() && l1.ok() && l2.ok());
  EXPECT_EQ(a->tokens, b->tokens);
  EXPECT_EQ(Bits(*l1), Bits(*l2));
  EXPECT_TRUE(other.get().ok());
}

}  // namespace
}  // namespace lucid::llm
