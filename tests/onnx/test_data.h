// Test data access shared by the onnx tests: files under tests/data/onnx/.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include "base/bytes.h"

namespace lucid::onnx::testing {

inline std::string DataPath(const std::string& file) {
  return std::string(LUCID_SOURCE_DIR) + "/tests/data/onnx/" + file;
}

// Whole file; empty when it cannot be read (tests assert non-empty).
inline Bytes ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ToBytes(ss.str());
}

}  // namespace lucid::onnx::testing
