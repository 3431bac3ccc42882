// Times Lucid on one model, for bench/compare.py:
//   model_bench run MODEL.onnx INPUTS.json [--threads N] [--iters K] [--min-seconds S]
//     loads once, runs warm-up + K timed runs, prints one JSON line
//     {"median_ms", "min_ms", "iters", "outputs": {name: [first values…]}, "output_hash"}
//   model_bench quantize MODEL.onnx CALIB.json OUT.onnx
//     QuantizeStatic with the calibration input sets (a JSON list of input maps)
#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "onnx/model.h"
#include "onnx/quantize.h"
#include "tensor/tensor_json.h"

namespace {

using namespace lucid;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int Fail(const std::string& what) {
  std::cerr << "model_bench: " << what << "\n";
  return 1;
}

int Run(int argc, char** argv) {
  if (argc < 4) return Fail("usage: model_bench run MODEL INPUTS [--threads N] [--iters K] [--min-seconds S]");
  int threads = 1, iters = 20;
  double min_seconds = 1.0;
  for (int i = 4; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--threads") threads = std::stoi(argv[i + 1]);
    else if (flag == "--iters") iters = std::stoi(argv[i + 1]);
    else if (flag == "--min-seconds") min_seconds = std::stod(argv[i + 1]);
    else return Fail("unknown flag " + flag);
  }
  auto model = onnx::Model::Load(ToBytes(ReadFile(argv[2])));
  if (!model.ok()) return Fail(model.status().ToString());
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(ReadFile(argv[3]));
  } catch (const std::exception& e) {
    return Fail(std::string("inputs: ") + e.what());
  }
  auto inputs = TensorMapFromJson(j.contains("inputs") ? j["inputs"] : j);
  if (!inputs.ok()) return Fail(inputs.status().ToString());
  onnx::RunOptions options{threads};
  auto first = (*model)->Run(*inputs, options);  // warm-up
  if (!first.ok()) return Fail(first.status().ToString());
  std::vector<double> ms;
  auto start = std::chrono::steady_clock::now();
  while (static_cast<int>(ms.size()) < iters ||
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() < min_seconds) {
    auto t0 = std::chrono::steady_clock::now();
    auto out = (*model)->Run(*inputs, options);
    auto t1 = std::chrono::steady_clock::now();
    if (!out.ok()) return Fail(out.status().ToString());
    ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    if (ms.size() >= 100000) break;
  }
  std::vector<double> sorted = ms;
  std::sort(sorted.begin(), sorted.end());
  nlohmann::json result{{"median_ms", sorted[sorted.size() / 2]}, {"min_ms", sorted.front()}, {"iters", ms.size()}};
  for (const auto& [name, t] : *first) result["outputs"][name] = TensorToJson(t);
  std::cout << result.dump() << "\n";
  return 0;
}

int Quantize(int argc, char** argv) {
  if (argc != 5) return Fail("usage: model_bench quantize MODEL CALIB.json OUT.onnx");
  std::vector<TensorMap> calibration;
  try {
    for (const auto& set : nlohmann::json::parse(ReadFile(argv[3]))) {
      auto m = TensorMapFromJson(set);
      if (!m.ok()) return Fail(m.status().ToString());
      calibration.push_back(std::move(*m));
    }
  } catch (const std::exception& e) {
    return Fail(std::string("calibration: ") + e.what());
  }
  auto q = onnx::QuantizeStatic(ToBytes(ReadFile(argv[2])), calibration);
  if (!q.ok()) return Fail(q.status().ToString());
  std::ofstream(argv[4], std::ios::binary).write(reinterpret_cast<const char*>(q->model.data()),
                                                 static_cast<std::streamsize>(q->model.size()));
  std::cout << "{\"quantized_nodes\": " << q->quantized.size() << "}\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "run") return Run(argc, argv);
  if (mode == "quantize") return Quantize(argc, argv);
  return Fail("usage: model_bench run|quantize …");
}
