#include "tools/conformance/conformance.h"

#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "onnx/model.h"

namespace lucid::conformance {
namespace fs = std::filesystem;
namespace {

Result<std::string> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path.string());
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Unavailable("cannot read " + path.string());
  return data;
}

// Element i of `t` as double, for messages and float comparison.
double ElementAsDouble(const Tensor& t, uint64_t i) {
  switch (t.dtype()) {
    case DType::kFloat32: return t.data<float>()[i];
    case DType::kUint8: return t.data<uint8_t>()[i];
    case DType::kInt8: return t.data<int8_t>()[i];
    case DType::kInt32: return t.data<int32_t>()[i];
    case DType::kInt64: return static_cast<double>(t.data<int64_t>()[i]);
    case DType::kBool: return t.data<uint8_t>()[i];
  }
  return 0;
}

std::string ElementString(const Tensor& t, uint64_t i) {
  std::ostringstream s;
  if (t.dtype() == DType::kInt64) {
    s << t.data<int64_t>()[i];
  } else {
    s.precision(9);
    s << ElementAsDouble(t, i);
  }
  return s.str();
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

bool FloatClose(float got, float want, const Tolerance& tol) {
  if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got);
  if (std::isinf(want) || std::isinf(got)) return got == want;
  double diff = std::fabs(static_cast<double>(got) - static_cast<double>(want));
  return diff <= tol.atol + tol.rtol * std::fabs(static_cast<double>(want));
}

// "test_data_set_12" → 12, so data sets run in numeric order.
int DataSetIndex(const fs::path& p) {
  std::string name = p.filename().string();
  return std::atoi(name.c_str() + std::strlen("test_data_set_"));
}

// "input_3.pb" files in numeric order.
std::vector<fs::path> NumberedFiles(const fs::path& dir, const std::string& prefix) {
  std::vector<std::pair<int, fs::path>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) == 0 && entry.path().extension() == ".pb")
      found.emplace_back(std::atoi(name.c_str() + prefix.size()), entry.path());
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (auto& [index, path] : found) out.push_back(std::move(path));
  return out;
}

// The op a refusal counts under: the one the loader names, else the graph's ops. A
// refused opset counts under "(ai.onnx opset N)": no op is to blame.
std::string UnsupportedKey(const std::string& message, const std::vector<std::string>& ops) {
  const std::string opset_marker = "ai.onnx opset ";
  size_t opset_at = message.find(opset_marker);
  if (opset_at != std::string::npos) {
    size_t start = opset_at + opset_marker.size(), end = message.find(' ', start);
    return "(ai.onnx opset " + message.substr(start, end - start) + ")";
  }
  const std::string marker = "unsupported op '";
  size_t at = message.find(marker);
  if (at != std::string::npos) {
    size_t start = at + marker.size(), end = message.find('\'', start);
    if (end != std::string::npos) return message.substr(start, end - start);
  }
  for (const auto& op : ops)
    if (message.find("'" + op + "'") != std::string::npos || message.find(op + "#") != std::string::npos ||
        message.find(op + " ") != std::string::npos)
      return op;
  if (ops.empty()) return "(no nodes)";
  std::string key;
  for (const auto& op : ops) key += (key.empty() ? "" : "+") + op;
  return key;
}

TestResult RunUnchecked(const fs::path& dir, int threads, const Tolerance& tol, const onnx::LoadOptions& load) {
  TestResult result;
  auto fail = [&](std::string why) {
    result.outcome = Outcome::kFail;
    result.detail = std::move(why);
    return result;
  };
  auto model_bytes = ReadFile(dir / "model.onnx");
  if (!model_bytes.ok()) return fail(model_bytes.status().ToString());
  {
    ::onnx::ModelProto proto;
    if (proto.ParseFromString(*model_bytes))
      for (const auto& node : proto.graph().node())
        if (std::find(result.op_types.begin(), result.op_types.end(), node.op_type()) == result.op_types.end())
          result.op_types.push_back(node.op_type());
  }
  auto model = onnx::Model::Load(AsBytes(*model_bytes), load);
  if (!model.ok()) {
    result.outcome = Outcome::kUnsupported;
    result.detail = model.status().ToString();
    result.unsupported_key = UnsupportedKey(result.detail, result.op_types);
    return result;
  }
  const auto& inputs = (*model)->inputs();
  const auto& outputs = (*model)->outputs();

  std::vector<fs::path> data_sets;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec))
    if (entry.is_directory() && entry.path().filename().string().rfind("test_data_set_", 0) == 0)
      data_sets.push_back(entry.path());
  std::sort(data_sets.begin(), data_sets.end(),
            [](const fs::path& a, const fs::path& b) { return DataSetIndex(a) < DataSetIndex(b); });
  if (data_sets.empty()) return fail("no test_data_set_* folder");

  for (const auto& set : data_sets) {
    const std::string set_name = set.filename().string();
    TensorMap feed;
    auto input_files = NumberedFiles(set, "input_");
    if (input_files.size() > inputs.size())
      return fail(set_name + ": " + std::to_string(input_files.size()) + " input files but the graph has " +
                  std::to_string(inputs.size()) + " inputs");
    for (size_t i = 0; i < input_files.size(); ++i) {
      std::string ignored;
      auto t = ReadTensorProtoFile(input_files[i], &ignored);
      if (!t.ok()) return fail(set_name + ": " + t.status().ToString());
      feed[inputs[i].name] = std::move(t).value();
    }
    onnx::RunOptions options;
    options.threads = threads;
    auto got = (*model)->Run(feed, options);
    if (!got.ok()) return fail(set_name + ": run: " + got.status().ToString());
    auto output_files = NumberedFiles(set, "output_");
    if (output_files.size() != outputs.size())
      return fail(set_name + ": " + std::to_string(output_files.size()) + " output files but the graph has " +
                  std::to_string(outputs.size()) + " outputs");
    std::string mismatch;
    for (size_t i = 0; i < outputs.size(); ++i) {
      auto it = got->find(outputs[i].name);
      if (it == got->end()) return fail(set_name + ": output '" + outputs[i].name + "' missing");
      result.produced.push_back(it->second);
      std::string ignored;
      auto want = ReadTensorProtoFile(output_files[i], &ignored);
      if (!want.ok()) return fail(set_name + ": expected output: " + want.status().ToString());
      std::string why = CompareTensors(it->second, *want, tol);
      if (!why.empty() && mismatch.empty()) mismatch = set_name + ": output '" + outputs[i].name + "': " + why;
    }
    if (!mismatch.empty()) return fail(mismatch);
  }
  result.outcome = Outcome::kPass;
  return result;
}

}  // namespace

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kPass: return "PASS";
    case Outcome::kFail: return "FAIL";
    case Outcome::kUnsupported: return "UNSUPPORTED";
  }
  return "?";
}

std::string CompareTensors(const Tensor& got, const Tensor& want, const Tolerance& tol) {
  if (got.dtype() != want.dtype())
    return "dtype " + std::string(DTypeName(got.dtype())) + ", want " + std::string(DTypeName(want.dtype()));
  if (got.shape() != want.shape()) return "shape " + ShapeString(got.shape()) + ", want " + ShapeString(want.shape());
  const uint64_t n = want.num_elements();
  if (got.bytes().size() != want.bytes().size()) return "data size differs";
  uint64_t differing = 0, first = 0;
  double worst = 0;
  for (uint64_t i = 0; i < n; ++i) {
    bool same;
    if (want.dtype() == DType::kFloat32) {
      float g = got.data<float>()[i], w = want.data<float>()[i];
      same = FloatClose(g, w, tol);
      if (!same && std::isfinite(g) && std::isfinite(w))
        worst = std::max(worst, std::fabs(static_cast<double>(g) - static_cast<double>(w)));
    } else {
      size_t width = DTypeSize(want.dtype());
      same = std::memcmp(got.bytes().data() + i * width, want.bytes().data() + i * width, width) == 0;
    }
    if (!same && differing++ == 0) first = i;
  }
  if (differing == 0) return "";
  std::ostringstream s;
  s << differing << " of " << n << " elements differ; first at flat index " << first << ": got "
    << ElementString(got, first) << ", want " << ElementString(want, first);
  if (want.dtype() == DType::kFloat32) {
    s.precision(3);
    s << "; max |diff| " << worst;
  }
  return s.str();
}

Result<Tensor> ReadTensorProtoFile(const fs::path& path, std::string* name) {
  ASSIGN_OR_RETURN(std::string data, ReadFile(path));
  ::onnx::TensorProto p;
  if (!p.ParseFromString(data)) return InvalidArgument(path.filename().string() + " is not a TensorProto");
  if (name) *name = p.name();
  const std::string what = path.filename().string();
  if (p.data_location() == ::onnx::TensorProto::EXTERNAL) return Unimplemented(what + ": external data");
  auto dtype = DTypeFromOnnx(p.data_type());
  if (!dtype.ok()) return dtype.status().WithContext(what);
  std::vector<int64_t> shape(p.dims().begin(), p.dims().end());
  ASSIGN_OR_RETURN(Tensor t, Tensor::Make(*dtype, shape));
  const uint64_t n = t.num_elements();
  if (p.has_raw_data()) {
    if (p.raw_data().size() != t.bytes().size())
      return InvalidArgument(what + ": raw_data is " + std::to_string(p.raw_data().size()) + " bytes, shape needs " +
                             std::to_string(t.bytes().size()));
    return Tensor::FromBytes(*dtype, shape, Bytes(p.raw_data().begin(), p.raw_data().end()));
  }
  auto count_error = [&](int have) {
    return InvalidArgument(what + ": " + std::to_string(have) + " values for " + std::to_string(n) + " elements");
  };
  switch (*dtype) {
    case DType::kFloat32:
      if (static_cast<uint64_t>(p.float_data_size()) != n) return count_error(p.float_data_size());
      if (n) std::memcpy(t.data<float>(), p.float_data().data(), n * sizeof(float));
      break;
    case DType::kInt64:
      if (static_cast<uint64_t>(p.int64_data_size()) != n) return count_error(p.int64_data_size());
      if (n) std::memcpy(t.data<int64_t>(), p.int64_data().data(), n * sizeof(int64_t));
      break;
    case DType::kInt32:
    case DType::kInt8:
    case DType::kUint8:
    case DType::kBool:
      if (static_cast<uint64_t>(p.int32_data_size()) != n) return count_error(p.int32_data_size());
      for (uint64_t i = 0; i < n; ++i) {
        int32_t v = p.int32_data(static_cast<int>(i));
        if (*dtype == DType::kInt32) t.data<int32_t>()[i] = v;
        else if (*dtype == DType::kInt8) t.data<int8_t>()[i] = static_cast<int8_t>(v);
        else t.data<uint8_t>()[i] = static_cast<uint8_t>(v);
      }
      break;
  }
  return t;
}

Result<std::vector<TestCase>> DiscoverSuite(const std::string& label, const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return NotFound("suite '" + label + "': " + root.string() + " is not a folder");
  std::vector<TestCase> cases;
  for (const auto& entry : fs::directory_iterator(root, ec))
    if (entry.is_directory() && fs::exists(entry.path() / "model.onnx"))
      cases.push_back({label + "/" + entry.path().filename().string(), entry.path()});
  if (ec) return Unavailable("listing " + root.string() + ": " + ec.message());
  std::sort(cases.begin(), cases.end(), [](const TestCase& a, const TestCase& b) { return a.id < b.id; });
  return cases;
}

TestResult RunConformanceTest(const fs::path& dir, int threads, const Tolerance& tol, const onnx::LoadOptions& load) {
  try {
    return RunUnchecked(dir, threads, tol, load);
  } catch (const std::exception& e) {
    TestResult r;
    r.detail = std::string("exception: ") + e.what();
    return r;
  }
}

}  // namespace lucid::conformance
