// GGUF (LLM) versions in the hub (docs/formats/llm.md "Hub"): the file is parsed by the GGUF
// reader and its tokenizer read at upload (a corrupt or truncated file is refused with the
// reader's reason), the manifest records format "gguf", and test vectors (prompt or messages
// + sampling → expected token ids) are reproduced by the engine at publication and by a node
// before serving.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "hub/hub.h"
#include "llm/gguf.h"
#include "llm/request.h"
#include "llm/tokenizer.h"
#include "llm/tokenizer_gguf.h"

namespace lucid::hub {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::string Ids(const std::vector<int32_t>& ids) {
  std::string s = "[";
  for (size_t i = 0; i < ids.size() && i < 24; ++i) s += (i ? "," : "") + std::to_string(ids[i]);
  return s + (ids.size() > 24 ? ",…]" : "]");
}

// Upload form: [{"prompt": TEXT | "messages": [...], OpenAI sampling fields, "max_tokens": N,
// "expected_tokens": [ids]}, ...] → requests (model "") and expected ids.
Status ParseLlmVectors(ByteView raw, size_t max_vectors, std::vector<llm::LlmRequest>* requests,
                       std::vector<std::vector<int32_t>>* expected) {
  using ojson = nlohmann::ordered_json;
  ojson j = ojson::parse(raw.begin(), raw.end(), nullptr, false);
  if (j.is_discarded() || !j.is_array() || j.empty())
    return InvalidArgument("LLM test vectors must be a non-empty JSON array");
  if (j.size() > max_vectors) return OutOfRange(fmt::format("at most {} test vectors, got {}", max_vectors, j.size()));
  for (size_t i = 0; i < j.size(); ++i) {
    ojson v = j[i];
    const std::string where = fmt::format("test vector {}", i);
    if (!v.is_object() || !v.contains("expected_tokens") || !v["expected_tokens"].is_array())
      return InvalidArgument(where + ": needs \"expected_tokens\": [token ids]");
    std::vector<int32_t> ids;
    for (const auto& x : v["expected_tokens"]) {
      if (!x.is_number_integer()) return InvalidArgument(where + ": expected_tokens must be integers");
      ids.push_back(x.get<int32_t>());
    }
    v.erase("expected_tokens");
    if (!v.contains("max_tokens")) return InvalidArgument(where + ": needs \"max_tokens\"");
    const bool chat = v.contains("messages");
    llm::LlmRequest req;
    llm::ApiError err;
    if (!llm::ParseOpenAiRequest(v.dump(), chat, "", &req, &err))
      return err.status.WithContext(where + (err.param.empty() ? "" : " (" + err.param + ")"));
    requests->push_back(std::move(req));
    expected->push_back(std::move(ids));
  }
  return Status::Ok();
}

}  // namespace

Result<PreparedVersion> Hub::PrepareGguf(const VersionSpec& spec) {
  if (spec.quantization != kQuantizationNone || spec.quantized_from)
    return InvalidArgument("GGUF versions record no quantization: the tensor types are in the file");
  if (spec.zkml) return Unimplemented("zkml is not available for GGUF (LLM) versions");
  Manifest m;
  m.name = spec.name;
  m.major = spec.major;
  m.minor = spec.minor;
  m.format = "gguf";
  m.engine = std::string(llm::kLlmEngineId);
  std::set<std::string_view> paths;
  const VersionFile* model_file = nullptr;
  Bytes model_bytes;
  for (const VersionFile& f : spec.files) {
    RETURN_IF_ERROR(ValidateFilePath(f.path));
    if (!paths.insert(f.path).second) return InvalidArgument("file path \"" + f.path + "\" is listed twice");
    if (EndsWith(f.path, ".onnx")) return InvalidArgument("a version has one model: a .gguf or a .onnx file, not both");
    auto bytes = GetFile(f.cid);
    if (!bytes.ok()) return bytes.status().WithContext("file \"" + f.path + "\"");
    if (EndsWith(f.path, ".gguf")) {
      if (model_file)
        return InvalidArgument("a version needs exactly one .gguf file; got \"" + model_file->path + "\" and \"" +
                               f.path + "\"");
      model_file = &f;
      model_bytes = *bytes;
    }
    m.files.push_back({f.path, f.cid, bytes->size()});
  }
  std::sort(m.files.begin(), m.files.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  m.model_file = model_file->path;
  const std::string where = "model file \"" + m.model_file + "\"";
  // The reader's reason for a corrupt or truncated file; then the tokenizer it carries.
  auto parsed = llm::GgufFile::Parse(model_bytes.data(), model_bytes.size());
  if (!parsed.ok()) return parsed.status().WithContext(where);
  std::unique_ptr<llm::GgufFile> gguf = std::move(parsed).value();
  auto vocab = llm::VocabularyFromGguf(*gguf);
  if (!vocab.ok()) return vocab.status().WithContext(where);
  RETURN_IF_ERROR(llm::Tokenizer::Create(std::move(vocab).value()).status().WithContext(where));
  auto arch = gguf->GetString("general.architecture");
  if (!arch.ok()) return arch.status().WithContext(where);
  m.ops = {std::string(*arch)};
  m.opset = gguf->version();
  m.inputs = {TensorSpec{std::string(llm::kRequestTensor), DType::kUint8, {-1}}};
  m.outputs = {TensorSpec{std::string(llm::kOutputTensor), DType::kUint8, {-1}},
               TensorSpec{std::string(llm::kTokensTensor), DType::kInt32, {-1}}};

  if (spec.test_vectors) {
    auto raw = GetFile(*spec.test_vectors);
    if (!raw.ok()) return raw.status().WithContext("test vectors file");
    std::vector<llm::LlmRequest> requests;
    std::vector<std::vector<int32_t>> expected;
    RETURN_IF_ERROR(ParseLlmVectors(*raw, options_.max_test_vectors, &requests, &expected));
    if (!options_.run_llm)
      return Unimplemented("this hub runs no LLM engine, so it cannot reproduce GGUF test vectors");
    std::vector<TensorMap> inputs;
    for (const auto& r : requests) inputs.push_back(r.ToInputs());
    auto shared = std::make_shared<const Bytes>(std::move(model_bytes));
    ASSIGN_OR_RETURN(std::vector<TensorMap> outputs, options_.run_llm(shared, inputs));
    TestVectorsRef ref;
    ref.count = static_cast<uint32_t>(requests.size());
    ref.match = MatchRule::kExact;
    std::vector<TestVector> canonical;
    for (size_t i = 0; i < requests.size(); ++i) {
      ASSIGN_OR_RETURN(llm::LlmOutput out, llm::LlmOutput::FromOutputs(outputs[i]));
      if (out.tokens != expected[i]) {
        size_t k = 0;
        while (k < out.tokens.size() && k < expected[i].size() && out.tokens[k] == expected[i][k]) ++k;
        return InvalidArgument(fmt::format("test vector {}: the engine generated {} ({} tokens), expected {} ({} tokens); "
                                           "first difference at token {}",
                                           i, Ids(out.tokens), out.tokens.size(), Ids(expected[i]), expected[i].size(), k));
      }
      ref.output_hashes.push_back(HashTensorMap(outputs[i]));
      canonical.push_back(TestVector{inputs[i], outputs[i]});
    }
    ASSIGN_OR_RETURN(Bytes blob, CanonicalTestVectors(canonical));
    ASSIGN_OR_RETURN(ref.cid, blobs_->Put(blob));
    m.test_vectors = std::move(ref);
  }
  RETURN_IF_ERROR(RecordIpfs(m));
  auto bytes = SerializeManifest(m);
  if (!bytes.ok()) return bytes.status().WithContext("building the manifest");
  ASSIGN_OR_RETURN(crypto::Cid cid, blobs_->Put(*bytes));
  RETURN_IF_ERROR(AddManifestToIpfs(cid));
  return PreparedVersion{std::move(m), cid};
}

Status Hub::CheckGgufTestVectors(const Manifest& m) {
  if (!options_.run_llm) return Unimplemented("this hub runs no LLM engine, so it cannot check GGUF test vectors");
  const ManifestFile* file = m.FindFile(m.model_file);
  if (file == nullptr) return DataLoss("manifest lists no model file");
  ASSIGN_OR_RETURN(Bytes model_bytes, GetFile(file->cid));
  auto raw = GetFile(m.test_vectors->cid);
  if (!raw.ok()) return raw.status().WithContext("test vectors");
  ASSIGN_OR_RETURN(std::vector<TestVector> vectors, ParseTestVectors(*raw, options_.max_test_vectors));
  if (vectors.size() != m.test_vectors->count)
    return DataLoss(fmt::format("test vectors blob holds {} vectors, the manifest says {}", vectors.size(),
                                m.test_vectors->count));
  std::vector<TensorMap> inputs;
  for (const auto& v : vectors) inputs.push_back(v.inputs);
  ASSIGN_OR_RETURN(std::vector<TensorMap> outputs,
                   options_.run_llm(std::make_shared<const Bytes>(std::move(model_bytes)), inputs));
  for (size_t i = 0; i < outputs.size(); ++i) {
    Hash32 got = HashTensorMap(outputs[i]);
    if (got != m.test_vectors->output_hashes[i])
      return FailedPrecondition(fmt::format("test vector {}: engine output hash {} differs from the manifest's {}", i,
                                            ToHex(got), ToHex(m.test_vectors->output_hashes[i])));
  }
  return Status::Ok();
}

}  // namespace lucid::hub
