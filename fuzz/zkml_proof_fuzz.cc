// libFuzzer target: the zkml proof verifier (zkml::Verify) and circuit decoder on hostile
// bytes. One fixed statement, built at startup: a small synthetic quantized model (uint8
// activations, one QLinearMatMul 5 -> 3 and one 1x1 QLinearConv 3 -> 2 with bias; see
// tests/zkml/zkml_models.h) and an honest proof for one input. The first input byte picks:
//   even: the rest as a whole proof (with and without the expected model commitment) and as
//         a circuit description (an accepted description must re-encode to exactly the input);
//   odd:  the rest as edits to the honest proof's bytes (4 bytes each: u24 position, xor
//         mask; bit 1 of the first byte confines positions to the first 16 KiB, where the
//         statement, lookups and sumchecks lie; a last partial edit truncates the proof).
// Verify must never crash or throw. Verify accepting bytes other than the honest proof's is
// a soundness failure (abort) unless it is the same statement about x: the proof is about
// our model and the whole model maps its (altered) float inputs to its outputs.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "../tests/zkml/zkml_models.h"
#include "onnx/model.h"
#include "zkml/zkml.h"

namespace {

using namespace lucid;
using namespace lucid::zkml;

struct Statement {
  Bytes model;
  Hash32 commitment{};
  Bytes honest;
};

const Statement& Fixture() {
  static const Statement* s = [] {
    lucid::zkml::testing::ModelSpec spec;
    spec.in = 5;
    spec.seed = 11;
    spec.layers = {{.out = 3}, {.out = 2, .conv = true, .bias = true}};
    auto* st = new Statement;
    st->model = lucid::zkml::testing::BuildModel(spec);
    auto key = Setup(st->model);
    if (!key.ok()) std::abort();
    st->commitment = key->model_commitment;
    auto proof = Prove(*key, {{"x", lucid::zkml::testing::RandomImages(1, 5, 3)}});
    if (!proof.ok()) std::abort();
    st->honest = proof->proof;
    if (!Verify(st->honest, st->commitment).ok()) std::abort();
    return st;
  }();
  return *s;
}

void CheckVerify(ByteView proof, const std::optional<Hash32>& expected) {
  const Statement& s = Fixture();
  auto v = Verify(proof, expected);
  if (!v.ok()) return;
  if (proof.size() == s.honest.size() && std::equal(proof.begin(), proof.end(), s.honest.begin())) return;
  // Accepted and not the honest bytes: only the same statement about x may be.
  if (v->model_commitment != s.commitment) std::abort();
  auto model = lucid::onnx::Model::Load(s.model);
  if (!model.ok()) std::abort();
  auto out = (*model)->Run(v->inputs);
  if (!out.ok() || !(*out == v->outputs)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Statement& s = Fixture();
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  ByteView rest(data + 1, size - 1);
  if ((mode & 1) == 0) {
    CheckVerify(rest, std::nullopt);
    CheckVerify(rest, s.commitment);
    auto c = DecodeCircuit(rest);
    if (c.ok()) {
      Bytes again = c->Describe();
      if (again.size() != rest.size() || !std::equal(again.begin(), again.end(), rest.begin())) std::abort();
    }
    return 0;
  }
  Bytes proof = s.honest;
  const size_t span = (mode & 2) ? std::min<size_t>(proof.size(), 16384) : proof.size();
  size_t i = 0;
  for (; i + 4 <= rest.size(); i += 4) {
    size_t at = (size_t{rest[i]} | size_t{rest[i + 1]} << 8 | size_t{rest[i + 2]} << 16) % span;
    proof[at] ^= rest[i + 3];
  }
  if (i < rest.size()) proof.resize(proof.size() - std::min(proof.size(), size_t{rest[i]} + 1));
  CheckVerify(proof, s.commitment);
  return 0;
}
