// Prints the SHA-256 of a zkml proof of the digits MLP (quantized on its test vectors'
// inputs, proving vector 0) so scripts/determinism can compare proof bytes across builds
// (-O0/-O2/-O3) and thread counts: the proof, not just the output, must be the same bytes.
//   zkml_proof_hash REPO_DIR THREADS
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include <nlohmann/json.hpp>

#include "crypto/hash.h"
#include "onnx/quantize.h"
#include "tensor/tensor_json.h"
#include "zkml/zkml.h"

namespace {

lucid::Bytes Read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return lucid::Bytes(std::istreambuf_iterator<char>(in), {});
}

int Die(const std::string& what) {
  std::fprintf(stderr, "zkml_proof_hash: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace lucid;
  if (argc != 3) return Die("usage: zkml_proof_hash REPO_DIR THREADS");
  std::string repo = argv[1];
  int threads = std::stoi(argv[2]);
  Bytes model = Read(repo + "/models/digits/mlp.onnx");
  Bytes vectors_text = Read(repo + "/models/digits/mlp.vectors.json");
  auto vectors = nlohmann::json::parse(vectors_text.begin(), vectors_text.end(), nullptr, false);
  if (model.empty() || vectors.is_discarded() || !vectors.is_array() || vectors.empty())
    return Die("cannot read models/digits/mlp.onnx and mlp.vectors.json under " + repo);
  std::vector<TensorMap> calibration;
  for (const auto& v : vectors) {
    auto m = TensorMapFromJson(v["inputs"]);
    if (!m.ok()) return Die(m.status().ToString());
    calibration.push_back(std::move(m).value());
  }
  onnx::QuantizeOptions qopt;
  qopt.threads = threads;
  auto quantized = onnx::QuantizeStatic(model, calibration, qopt);
  if (!quantized.ok()) return Die(quantized.status().ToString());
  auto key = zkml::Setup(quantized->model);
  if (!key.ok()) return Die(key.status().ToString());
  zkml::ProveOptions popt;
  popt.threads = threads;
  auto proof = zkml::Prove(*key, calibration[0], popt);
  if (!proof.ok()) return Die(proof.status().ToString());
  auto verified = zkml::Verify(proof->proof, key->model_commitment);
  if (!verified.ok()) return Die("own proof refused: " + verified.status().ToString());
  std::printf("proof hash: %s (%zu bytes, model commitment %s)\n", ToHex(crypto::Sha256(proof->proof)).c_str(),
              proof->proof.size(), ToHex(key->model_commitment).c_str());
  return 0;
}
