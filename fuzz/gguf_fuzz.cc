// libFuzzer target: the GGUF reader (src/llm/gguf.h). Any bytes must parse or be refused
// with a Status; an accepted file's metadata getters, its tensors' bounds and the kernels
// over every tensor row (dequantize and a mat-vec on a few rows) must stay in bounds.
#include <algorithm>
#include <cstdlib>
#include <vector>

#include "llm/gguf.h"
#include "llm/quant.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = lucid::llm::GgufFile::Parse(data, size);
  if (!f.ok()) return 0;
  const lucid::llm::GgufFile& g = **f;
  for (const auto& kv : g.metadata()) {
    const std::string& key = kv.first;
    (void)g.GetString(key);
    (void)g.GetU32(key);
    (void)g.GetI32(key);
    (void)g.GetU64(key);
    (void)g.GetF32(key);
    (void)g.GetBool(key);
    (void)g.GetStringArray(key);
    (void)g.GetF32Array(key);
    (void)g.GetIntArray(key);
  }
  for (const lucid::llm::GgufTensor& t : g.tensors()) {
    if (t.data < data || t.data + t.size > data + size) std::abort();
    auto m = g.Matrix(t.name);
    if (!m.ok()) std::abort();
    if (m->row_bytes * m->rows != static_cast<int64_t>(t.size)) std::abort();
    const int64_t cols = m->cols;
    if (cols > (int64_t{1} << 16)) continue;  // keep each input fast
    m->rows = std::min<int64_t>(m->rows, 4);
    std::vector<float> row(static_cast<size_t>(cols)), x(static_cast<size_t>(cols), 0.5f), y(4);
    for (int64_t r = 0; r < m->rows; ++r)
      lucid::llm::DequantizeRow(t.type, m->data + r * m->row_bytes, row.data(), cols);
    lucid::llm::MatVec(*m, x.data(), y.data(), 1);
  }
  return 0;
}
