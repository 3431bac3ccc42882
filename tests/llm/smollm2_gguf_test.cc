// The real SmolLM2-135M-Instruct GGUF (fetched by tests/llm/fetch_smollm2.py into
// .cache/models/; never committed): loads it, prints its metadata and tensor types, and
// runs one mat-vec per weight type against the dequantized float product.
// Skipped with a message when the file is absent.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <sys/stat.h>
#include <vector>

#include "llm/gguf.h"
#include "llm/quant.h"

namespace lucid::llm {
namespace {

std::string ModelPath() {
  if (const char* p = std::getenv("LUCID_SMOLLM2_GGUF")) return p;
  const char* s = std::getenv("LUCID_SOURCE_DIR");
  return std::string(s ? s : LUCID_SOURCE_DIR) + "/.cache/models/smollm2-135m-instruct-q4_1.gguf";
}

TEST(SmolLM2, LoadsAndPrintsMetadata) {
  std::string path = ModelPath();
  struct stat st {};
  if (stat(path.c_str(), &st) != 0)
    GTEST_SKIP() << path << " is absent: run .venv/bin/python tests/llm/fetch_smollm2.py";
  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  const GgufFile& g = **f;
  auto arch = g.GetString("general.architecture");
  ASSERT_TRUE(arch.ok()) << arch.status().ToString();
  std::string a(*arch);
  EXPECT_EQ(a, "llama");
  auto u32 = [&](const std::string& k) {
    auto v = g.GetU32(a + "." + k);
    return v.ok() ? std::to_string(*v) : std::string("(") + v.status().message() + ")";
  };
  auto f32 = [&](const std::string& k) {
    auto v = g.GetF32(a + "." + k);
    return v.ok() ? std::to_string(*v) : std::string("(absent)");
  };
  auto tokens = g.GetStringArray("tokenizer.ggml.tokens");
  ASSERT_TRUE(tokens.ok()) << tokens.status().ToString();
  std::printf("file: %s (%zu bytes, GGUF v%u, alignment %u, %zu metadata keys, %zu tensors)\n", path.c_str(),
              g.file_size(), g.version(), g.alignment(), g.metadata().size(), g.tensors().size());
  auto name = g.GetString("general.name");
  std::printf("name: %s\narchitecture: %s\n", name.ok() ? std::string(*name).c_str() : "?", a.c_str());
  std::printf("context_length: %s\nembedding_length: %s\nblock_count: %s\nfeed_forward_length: %s\n",
              u32("context_length").c_str(), u32("embedding_length").c_str(), u32("block_count").c_str(),
              u32("feed_forward_length").c_str());
  std::printf("attention.head_count: %s\nattention.head_count_kv: %s\nrope.dimension_count: %s\n",
              u32("attention.head_count").c_str(), u32("attention.head_count_kv").c_str(),
              u32("rope.dimension_count").c_str());
  std::printf("rope.freq_base: %s\nattention.layer_norm_rms_epsilon: %s\n", f32("rope.freq_base").c_str(),
              f32("attention.layer_norm_rms_epsilon").c_str());
  auto model = g.GetString("tokenizer.ggml.model");
  std::printf("tokenizer.ggml.model: %s\nvocab size: %zu\n", model.ok() ? std::string(*model).c_str() : "?",
              tokens->size());
  std::map<std::string, int> types;
  for (const GgufTensor& t : g.tensors()) ++types[std::string(TypeName(t.type))];
  std::printf("tensor types:");
  for (auto& [t, n] : types) std::printf(" %s x%d", t.c_str(), n);
  std::printf("\n");
  for (const char* t : {"token_embd.weight", "blk.0.attn_q.weight", "blk.0.ffn_down.weight", "output_norm.weight"})
    if (const GgufTensor* x = g.FindTensor(t))
      std::printf("  %s %s [%lld x %lld]\n", t, std::string(TypeName(x->type)).c_str(),
                  static_cast<long long>(x->dims[0]), static_cast<long long>(x->Rows()));
  // Every metadata key (arrays as type and count): rope scaling keys, if any, show here.
  std::printf("metadata:\n");
  for (const auto& [key, v] : g.metadata()) {
    std::string val;
    switch (v.type) {
      case GgufType::kString: val = "\"" + std::string(v.str.substr(0, 60)) + (v.str.size() > 60 ? "...\"" : "\""); break;
      case GgufType::kArray: val = "array<" + std::string(GgufTypeName(v.elem_type)) + ">[" + std::to_string(v.count) + "]"; break;
      case GgufType::kF32: case GgufType::kF64: val = std::to_string(v.f); break;
      case GgufType::kBool: val = v.u ? "true" : "false"; break;
      default: val = std::to_string(v.i); break;
    }
    std::printf("  %s = %s\n", key.c_str(), val.c_str());
  }
  EXPECT_GT(tokens->size(), 1000u);
  EXPECT_TRUE(g.FindTensor("blk.0.attn_q.weight"));

  // One mat-vec per distinct type over the first 64 rows: near the float product.
  std::map<GgmlType, const GgufTensor*> one_per_type;
  for (const GgufTensor& t : g.tensors())
    if (t.dims.size() == 2) one_per_type.emplace(t.type, &t);
  for (auto& [type, t] : one_per_type) {
    auto m = g.Matrix(t->name);
    ASSERT_TRUE(m.ok());
    m->rows = std::min<int64_t>(m->rows, 64);
    std::vector<float> x(m->cols), y(m->rows), deq(m->cols);
    for (int64_t i = 0; i < m->cols; ++i) x[i] = std::sin(0.37f * static_cast<float>(i));
    MatVec(*m, x.data(), y.data(), 2);
    double worst = 0;
    for (int64_t r = 0; r < m->rows; ++r) {
      DequantizeRow(type, m->data + r * m->row_bytes, deq.data(), m->cols);
      double exact = 0, mag = 0;
      for (int64_t i = 0; i < m->cols; ++i) {
        exact += static_cast<double>(deq[i]) * x[i];
        mag += std::fabs(static_cast<double>(deq[i]) * x[i]);
      }
      worst = std::max(worst, std::fabs(y[r] - exact) / (mag + 1e-9));
    }
    std::printf("  mat-vec %s (%s, %lld cols): worst |err| / sum|w x| = %.2e\n", t->name.c_str(),
                std::string(TypeName(type)).c_str(), static_cast<long long>(m->cols), worst);
    EXPECT_LT(worst, 0.02);
  }
}

}  // namespace
}  // namespace lucid::llm
