#include "hub/manifest.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <set>

#include <nlohmann/json.hpp>

namespace lucid::hub {
namespace {

using nlohmann::json;

constexpr size_t kMaxManifestBytes = 1 << 20;
constexpr size_t kMaxPathLength = 128;
constexpr size_t kMaxListEntries = 4096;

std::string Field(const std::string& where, std::string_view key) {
  return where.empty() ? std::string(key) : where + "." + std::string(key);
}

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

// A short printable identifier (engine, format, op and tensor names).
Status ValidateToken(std::string_view what, std::string_view s, size_t max_len = 256) {
  if (s.empty() || s.size() > max_len) {
    return InvalidArgument(std::string(what) + " must have 1.." + std::to_string(max_len) +
                           " characters");
  }
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return InvalidArgument(std::string(what) + " \"" + std::string(s) +
                             "\" has a non-printable or non-ASCII character");
    }
  }
  return Status::Ok();
}

Status ValidateTolerance(std::string_view what, std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value) || value < 0 || value > 1) {
    return InvalidArgument(std::string(what) + " \"" + std::string(text) +
                           "\" is not a decimal number in [0, 1]");
  }
  return Status::Ok();
}

// A decimal count without sign or leading zeros.
bool ParseCount(std::string_view text, uint32_t* out) {
  if (text.empty() || (text.size() > 1 && text[0] == '0')) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

Status ValidateMaxAbsDiff(std::string_view text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || text.size() > 32 || ec != std::errc() || end != text.data() + text.size() ||
      !std::isfinite(value) || value < 0 || text[0] == '+' || text[0] == '-') {
    return InvalidArgument("quantized_from.max_abs_diff \"" + std::string(text) +
                           "\" is not a finite non-negative decimal number");
  }
  return Status::Ok();
}

Status ValidateAgreement(std::string_view text) {
  size_t slash = text.find('/');
  uint32_t k = 0, n = 0;
  if (slash == std::string_view::npos || !ParseCount(text.substr(0, slash), &k) ||
      !ParseCount(text.substr(slash + 1), &n) || k > n) {
    return InvalidArgument("quantized_from.argmax_agreement \"" + std::string(text) +
                           "\" must be \"k/n\" with decimal k <= n");
  }
  return Status::Ok();
}

Status ValidateTensorSpecs(std::string_view what, const std::vector<TensorSpec>& specs) {
  std::set<std::string_view> names;
  for (const TensorSpec& s : specs) {
    RETURN_IF_ERROR(ValidateToken(std::string(what) + " name", s.name));
    if (!names.insert(s.name).second) {
      return InvalidArgument(std::string(what) + " \"" + s.name + "\" is listed twice");
    }
    if (s.shape.size() > kMaxTensorRank) {
      return InvalidArgument(std::string(what) + " \"" + s.name + "\" has rank above " +
                             std::to_string(kMaxTensorRank));
    }
    for (int64_t d : s.shape) {
      if (d < -1) {
        return InvalidArgument(std::string(what) + " \"" + s.name + "\" has dimension " +
                               std::to_string(d) + " (use -1 for dynamic)");
      }
    }
  }
  return Status::Ok();
}

json SpecsToJson(const std::vector<TensorSpec>& specs) {
  json out = json::array();
  for (const TensorSpec& s : specs) {
    out.push_back({{"name", s.name}, {"dtype", std::string(DTypeName(s.dtype))}, {"shape", s.shape}});
  }
  return out;
}

// ---- strict readers over a parsed object; every error names the field ----

Status NoFloats(const json& j, const std::string& where) {
  if (j.is_number_float()) return InvalidArgument("manifest has a non-integer number at " + where);
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end(); ++it) RETURN_IF_ERROR(NoFloats(it.value(), where + "." + it.key()));
  } else if (j.is_array()) {
    for (size_t i = 0; i < j.size(); ++i) RETURN_IF_ERROR(NoFloats(j[i], where + "[" + std::to_string(i) + "]"));
  }
  return Status::Ok();
}

Status CheckKeys(const json& obj, const std::string& where, std::initializer_list<std::string_view> required,
                 std::initializer_list<std::string_view> optional = {}) {
  if (!obj.is_object()) return InvalidArgument("manifest field " + where + " must be an object");
  for (std::string_view k : required) {
    if (!obj.contains(k)) return InvalidArgument("manifest field " + Field(where, k) + " is missing");
  }
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool known = std::find(required.begin(), required.end(), it.key()) != required.end() ||
                 std::find(optional.begin(), optional.end(), it.key()) != optional.end();
    if (!known) return InvalidArgument("manifest has unknown field " + Field(where, it.key()));
  }
  return Status::Ok();
}

Result<std::string> Str(const json& obj, const std::string& where, const char* key) {
  const json& v = obj.at(key);
  if (!v.is_string()) return InvalidArgument("manifest field " + Field(where, key) + " must be a string");
  return v.get<std::string>();
}

Result<uint64_t> Uint(const json& obj, const std::string& where, const char* key, uint64_t max) {
  const json& v = obj.at(key);
  if (!v.is_number_unsigned() || v.get<uint64_t>() > max) {
    return InvalidArgument("manifest field " + Field(where, key) + " must be an integer in [0, " +
                           std::to_string(max) + "]");
  }
  return v.get<uint64_t>();
}

Result<const json*> Array(const json& obj, const std::string& where, const char* key) {
  const json& v = obj.at(key);
  if (!v.is_array()) return InvalidArgument("manifest field " + Field(where, key) + " must be a list");
  if (v.size() > kMaxListEntries) return OutOfRange("manifest field " + Field(where, key) + " is too long");
  return &v;
}

Result<crypto::Cid> CidField(const json& obj, const std::string& where, const char* key) {
  ASSIGN_OR_RETURN(std::string text, Str(obj, where, key));
  auto cid = crypto::Cid::Parse(text);
  if (!cid.ok()) return cid.status().WithContext("manifest field " + Field(where, key));
  return *cid;
}

Result<std::vector<TensorSpec>> SpecsFromJson(const json& obj, const char* key) {
  ASSIGN_OR_RETURN(const json* list, Array(obj, "", key));
  std::vector<TensorSpec> out;
  for (size_t i = 0; i < list->size(); ++i) {
    const json& e = (*list)[i];
    std::string where = std::string(key) + "[" + std::to_string(i) + "]";
    RETURN_IF_ERROR(CheckKeys(e, where, {"name", "dtype", "shape"}));
    TensorSpec s;
    ASSIGN_OR_RETURN(s.name, Str(e, where, "name"));
    ASSIGN_OR_RETURN(std::string dtype, Str(e, where, "dtype"));
    auto dt = DTypeFromName(dtype);
    if (!dt.ok()) return dt.status().WithContext("manifest field " + where + ".dtype");
    s.dtype = *dt;
    ASSIGN_OR_RETURN(const json* shape, Array(e, where, "shape"));
    for (const json& d : *shape) {
      if (!d.is_number_integer()) return InvalidArgument("manifest field " + where + ".shape must hold integers");
      s.shape.push_back(d.get<int64_t>());
    }
    out.push_back(std::move(s));
  }
  return out;
}

Result<Manifest> FromJson(const json& j) {
  RETURN_IF_ERROR(CheckKeys(j, "", {"format_version", "name", "version", "format", "files", "model_file", "inputs",
                                    "outputs", "ops", "opset", "engine", "quantization"},
                            {"test_vectors", "quantized_from", "zkml"}));
  const json& fv = j.at("format_version");
  if (!fv.is_number_integer() || fv.get<int64_t>() != kManifestFormatVersion) {
    return InvalidArgument("unknown manifest format_version " + fv.dump() + " (this build reads " +
                           std::to_string(kManifestFormatVersion) + ")");
  }
  Manifest m;
  ASSIGN_OR_RETURN(m.name, Str(j, "", "name"));
  ASSIGN_OR_RETURN(std::string version, Str(j, "", "version"));
  ASSIGN_OR_RETURN(auto mm, ParseVersion(version));
  m.major = mm.first;
  m.minor = mm.second;
  ASSIGN_OR_RETURN(m.format, Str(j, "", "format"));
  ASSIGN_OR_RETURN(const json* files, Array(j, "", "files"));
  for (size_t i = 0; i < files->size(); ++i) {
    const json& e = (*files)[i];
    std::string where = "files[" + std::to_string(i) + "]";
    RETURN_IF_ERROR(CheckKeys(e, where, {"path", "cid", "size"}, {"ipfs"}));
    ManifestFile f;
    ASSIGN_OR_RETURN(f.path, Str(e, where, "path"));
    ASSIGN_OR_RETURN(f.cid, CidField(e, where, "cid"));
    ASSIGN_OR_RETURN(f.size, Uint(e, where, "size", UINT64_MAX));
    if (e.contains("ipfs")) {
      ASSIGN_OR_RETURN(f.ipfs, Str(e, where, "ipfs"));
      if (Status s = ValidateIpfsCid(f.ipfs); !s.ok()) return s.WithContext("manifest field " + where + ".ipfs");
    }
    m.files.push_back(std::move(f));
  }
  ASSIGN_OR_RETURN(m.model_file, Str(j, "", "model_file"));
  ASSIGN_OR_RETURN(m.inputs, SpecsFromJson(j, "inputs"));
  ASSIGN_OR_RETURN(m.outputs, SpecsFromJson(j, "outputs"));
  ASSIGN_OR_RETURN(const json* ops, Array(j, "", "ops"));
  for (const json& op : *ops) {
    if (!op.is_string()) return InvalidArgument("manifest field ops must hold strings");
    m.ops.push_back(op.get<std::string>());
  }
  ASSIGN_OR_RETURN(uint64_t opset, Uint(j, "", "opset", 1000));
  m.opset = static_cast<int64_t>(opset);
  ASSIGN_OR_RETURN(m.engine, Str(j, "", "engine"));
  ASSIGN_OR_RETURN(m.quantization, Str(j, "", "quantization"));
  if (j.contains("quantized_from")) {
    const json& q = j.at("quantized_from");
    RETURN_IF_ERROR(CheckKeys(q, "quantized_from", {"manifest", "max_abs_diff", "argmax_agreement"}));
    QuantizedFrom from;
    ASSIGN_OR_RETURN(from.manifest, CidField(q, "quantized_from", "manifest"));
    ASSIGN_OR_RETURN(from.max_abs_diff, Str(q, "quantized_from", "max_abs_diff"));
    ASSIGN_OR_RETURN(from.argmax_agreement, Str(q, "quantized_from", "argmax_agreement"));
    m.quantized_from = std::move(from);
  }
  if (j.contains("zkml")) {
    const json& z = j.at("zkml");
    RETURN_IF_ERROR(CheckKeys(z, "zkml", {"model_commitment", "circuit_hash", "weight_commitment"}));
    ZkmlCommitment zc;
    ASSIGN_OR_RETURN(std::string mc, Str(z, "zkml", "model_commitment"));
    ASSIGN_OR_RETURN(std::string ch, Str(z, "zkml", "circuit_hash"));
    ASSIGN_OR_RETURN(std::string wc, Str(z, "zkml", "weight_commitment"));
    auto mch = Hash32FromHex(mc);
    auto chh = Hash32FromHex(ch);
    auto wcb = FromHex(wc);
    if (!mch.ok() || !chh.ok() || !wcb.ok() || wcb->size() != 35)
      return InvalidArgument("manifest field zkml holds malformed hex");
    zc.model_commitment = *mch;
    zc.circuit_hash = *chh;
    zc.weight_commitment = *wcb;
    m.zkml = std::move(zc);
  }
  if (j.contains("test_vectors")) {
    const json& t = j.at("test_vectors");
    RETURN_IF_ERROR(CheckKeys(t, "test_vectors", {"cid", "count", "match", "output_hashes"},
                              {"abs_tolerance", "rel_tolerance", "ipfs"}));
    TestVectorsRef tv;
    ASSIGN_OR_RETURN(tv.cid, CidField(t, "test_vectors", "cid"));
    if (t.contains("ipfs")) {
      ASSIGN_OR_RETURN(tv.ipfs, Str(t, "test_vectors", "ipfs"));
      if (Status s = ValidateIpfsCid(tv.ipfs); !s.ok()) return s.WithContext("manifest field test_vectors.ipfs");
    }
    ASSIGN_OR_RETURN(uint64_t count, Uint(t, "test_vectors", "count", UINT32_MAX));
    tv.count = static_cast<uint32_t>(count);
    ASSIGN_OR_RETURN(std::string match, Str(t, "test_vectors", "match"));
    if (match == MatchRuleName(MatchRule::kExact)) {
      tv.match = MatchRule::kExact;
    } else if (match == MatchRuleName(MatchRule::kTolerance)) {
      tv.match = MatchRule::kTolerance;
      if (!t.contains("abs_tolerance") || !t.contains("rel_tolerance")) {
        return InvalidArgument("manifest test_vectors.match \"tolerance\" needs abs_tolerance and rel_tolerance");
      }
      ASSIGN_OR_RETURN(tv.abs_tolerance, Str(t, "test_vectors", "abs_tolerance"));
      ASSIGN_OR_RETURN(tv.rel_tolerance, Str(t, "test_vectors", "rel_tolerance"));
    } else {
      return InvalidArgument("manifest test_vectors.match \"" + match + "\" is neither \"exact\" nor \"tolerance\"");
    }
    ASSIGN_OR_RETURN(const json* hashes, Array(t, "test_vectors", "output_hashes"));
    for (const json& h : *hashes) {
      if (!h.is_string()) return InvalidArgument("manifest field test_vectors.output_hashes must hold hex strings");
      auto hash = Hash32FromHex(h.get<std::string>());
      if (!hash.ok()) return hash.status().WithContext("manifest field test_vectors.output_hashes");
      tv.output_hashes.push_back(*hash);
    }
    m.test_vectors = std::move(tv);
  }
  return m;
}

json ToJson(const Manifest& m) {
  std::vector<ManifestFile> files = m.files;
  std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.path < b.path; });
  json jf = json::array();
  for (const ManifestFile& f : files) {
    jf.push_back({{"path", f.path}, {"cid", f.cid.ToString()}, {"size", f.size}});
    if (!f.ipfs.empty()) jf.back()["ipfs"] = f.ipfs;
  }
  json j = {
      {"format_version", kManifestFormatVersion},
      {"name", m.name},
      {"version", m.version()},
      {"format", m.format},
      {"files", std::move(jf)},
      {"model_file", m.model_file},
      {"inputs", SpecsToJson(m.inputs)},
      {"outputs", SpecsToJson(m.outputs)},
      {"ops", m.ops},
      {"opset", m.opset},
      {"engine", m.engine},
      {"quantization", m.quantization},
  };
  if (m.quantized_from) {
    j["quantized_from"] = {{"manifest", m.quantized_from->manifest.ToString()},
                           {"max_abs_diff", m.quantized_from->max_abs_diff},
                           {"argmax_agreement", m.quantized_from->argmax_agreement}};
  }
  if (m.zkml) {
    j["zkml"] = {{"model_commitment", ToHex(m.zkml->model_commitment)},
                 {"circuit_hash", ToHex(m.zkml->circuit_hash)},
                 {"weight_commitment", ToHex(m.zkml->weight_commitment)}};
  }
  if (m.test_vectors) {
    const TestVectorsRef& tv = *m.test_vectors;
    json hashes = json::array();
    for (const Hash32& h : tv.output_hashes) hashes.push_back(ToHex(h));
    json t = {{"cid", tv.cid.ToString()},
              {"count", tv.count},
              {"match", std::string(MatchRuleName(tv.match))},
              {"output_hashes", std::move(hashes)}};
    if (tv.match == MatchRule::kTolerance) {
      t["abs_tolerance"] = tv.abs_tolerance;
      t["rel_tolerance"] = tv.rel_tolerance;
    }
    if (!tv.ipfs.empty()) t["ipfs"] = tv.ipfs;
    j["test_vectors"] = std::move(t);
  }
  return j;
}

}  // namespace

std::string_view MatchRuleName(MatchRule rule) {
  return rule == MatchRule::kExact ? "exact" : "tolerance";
}

std::string Manifest::version() const { return std::to_string(major) + "." + std::to_string(minor); }

const ManifestFile* Manifest::FindFile(std::string_view path) const {
  for (const ManifestFile& f : files) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

Status ValidateQuantization(std::string_view quantization) {
  if (quantization != kQuantizationNone && quantization != kQuantizationInt8Static) {
    return InvalidArgument("quantization \"" + std::string(quantization) + "\" is neither \"" +
                           std::string(kQuantizationNone) + "\" nor \"" + std::string(kQuantizationInt8Static) +
                           "\"");
  }
  return Status::Ok();
}

Status ValidateRepoName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && IsLowerAlnum(name[0]);
  for (char c : name) ok = ok && (IsLowerAlnum(c) || c == '-' || c == '_' || c == '.');
  if (!ok) return InvalidArgument("model name \"" + std::string(name) + "\" must match [a-z0-9][a-z0-9._-]{0,63}");
  return Status::Ok();
}

Status ValidateFilePath(std::string_view path) {
  if (path.empty()) return InvalidArgument("file path is empty");
  if (path.size() > kMaxPathLength) {
    return InvalidArgument("file path is longer than " + std::to_string(kMaxPathLength) + " characters");
  }
  if (path == "." || path.find("..") != std::string_view::npos) {
    return InvalidArgument("file path \"" + std::string(path) + "\" must not contain \"..\" or be \".\"");
  }
  for (char c : path) {
    if (!(IsAlnum(c) || c == '.' || c == '_' || c == '-')) {
      if (c == '/' || c == '\\') {
        return InvalidArgument("file path \"" + std::string(path) + "\" must be a plain name without \"/\"");
      }
      return InvalidArgument("file path \"" + std::string(path) + "\" may hold only [A-Za-z0-9._-]");
    }
  }
  return Status::Ok();
}

Result<std::pair<uint32_t, uint32_t>> ParseVersion(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument("version \"" + std::string(text) + "\" must be MAJOR.MINOR (e.g. \"1.0\")");
  };
  size_t dot = text.find('.');
  if (dot == std::string_view::npos) return bad();
  uint32_t parts[2];
  std::string_view pieces[2] = {text.substr(0, dot), text.substr(dot + 1)};
  for (int i = 0; i < 2; ++i) {
    std::string_view p = pieces[i];
    if (p.empty() || (p.size() > 1 && p[0] == '0')) return bad();
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), parts[i]);
    if (ec != std::errc() || end != p.data() + p.size()) return bad();
  }
  return std::pair{parts[0], parts[1]};
}

Status ValidateIpfsCid(std::string_view text) {
  if (text.size() < 8 || text.size() > 128 || text[0] != 'b')
    return InvalidArgument("IPFS CID \"" + std::string(text.substr(0, 140)) + "\" is not a base32 CIDv1 (\"b...\", 8 to 128 chars)");
  for (char c : text.substr(1)) {
    if (!((c >= 'a' && c <= 'z') || (c >= '2' && c <= '7')))
      return InvalidArgument("IPFS CID \"" + std::string(text) + "\" holds a character outside base32 lower case");
  }
  return Status::Ok();
}

Status ValidateManifest(const Manifest& m) {
  RETURN_IF_ERROR(ValidateRepoName(m.name));
  if (m.format != "onnx" && m.format != "gguf")
    return InvalidArgument("manifest format \"" + m.format + "\" is not supported (onnx, gguf)");
  if (m.files.empty()) return InvalidArgument("manifest lists no files");
  std::set<std::string_view> paths;
  for (const ManifestFile& f : m.files) {
    RETURN_IF_ERROR(ValidateFilePath(f.path));
    if (!paths.insert(f.path).second) return InvalidArgument("file path \"" + f.path + "\" is listed twice");
    if (!f.ipfs.empty()) RETURN_IF_ERROR(ValidateIpfsCid(f.ipfs));
  }
  if (m.test_vectors && !m.test_vectors->ipfs.empty()) RETURN_IF_ERROR(ValidateIpfsCid(m.test_vectors->ipfs));
  if (!m.FindFile(m.model_file)) {
    return InvalidArgument("model_file \"" + m.model_file + "\" is not among the manifest's files");
  }
  RETURN_IF_ERROR(ValidateTensorSpecs("input", m.inputs));
  RETURN_IF_ERROR(ValidateTensorSpecs("output", m.outputs));
  if (m.inputs.empty() || m.outputs.empty()) return InvalidArgument("manifest needs at least one input and output");
  std::set<std::string_view> ops;
  for (const std::string& op : m.ops) {
    RETURN_IF_ERROR(ValidateToken("op", op, 128));
    if (!ops.insert(op).second) return InvalidArgument("op \"" + op + "\" is listed twice");
  }
  if (m.opset <= 0 || m.opset > 1000) return InvalidArgument("opset " + std::to_string(m.opset) + " is out of range");
  RETURN_IF_ERROR(ValidateToken("engine", m.engine));
  RETURN_IF_ERROR(ValidateQuantization(m.quantization));
  if (m.quantized_from) {
    if (m.quantization == kQuantizationNone) {
      return InvalidArgument("quantized_from is only allowed with a quantization other than \"none\"");
    }
    RETURN_IF_ERROR(ValidateMaxAbsDiff(m.quantized_from->max_abs_diff));
    RETURN_IF_ERROR(ValidateAgreement(m.quantized_from->argmax_agreement));
  }
  if (m.test_vectors) {
    const TestVectorsRef& tv = *m.test_vectors;
    if (tv.count == 0) return InvalidArgument("test_vectors.count is 0 (omit test_vectors instead)");
    if (tv.output_hashes.size() != tv.count) {
      return InvalidArgument("test_vectors lists " + std::to_string(tv.output_hashes.size()) +
                             " output hashes for " + std::to_string(tv.count) + " vectors");
    }
    if (tv.match == MatchRule::kTolerance) {
      RETURN_IF_ERROR(ValidateTolerance("abs_tolerance", tv.abs_tolerance));
      RETURN_IF_ERROR(ValidateTolerance("rel_tolerance", tv.rel_tolerance));
    } else if (!tv.abs_tolerance.empty() || !tv.rel_tolerance.empty()) {
      return InvalidArgument("tolerances are only allowed with match \"tolerance\"");
    }
  }
  return Status::Ok();
}

Result<Bytes> SerializeManifest(const Manifest& m) {
  RETURN_IF_ERROR(ValidateManifest(m));
  try {
    return ToBytes(ToJson(m).dump());
  } catch (const json::exception& e) {
    // dump() throws on invalid UTF-8 in a string.
    return InvalidArgument(std::string("manifest is not valid UTF-8 text: ") + e.what());
  }
}

Result<Manifest> ParseManifest(ByteView canonical_json) {
  if (canonical_json.size() > kMaxManifestBytes) {
    return OutOfRange("manifest is larger than " + std::to_string(kMaxManifestBytes) + " bytes");
  }
  json j;
  try {
    j = json::parse(canonical_json.begin(), canonical_json.end());
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("manifest is not JSON: ") + e.what());
  }
  RETURN_IF_ERROR(NoFloats(j, "$"));
  Result<Manifest> parsed = InvalidArgument("manifest could not be read");
  try {
    parsed = FromJson(j);
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("manifest has an unexpected value: ") + e.what());
  }
  if (!parsed.ok()) return parsed.status();
  Manifest m = std::move(parsed).value();
  auto again = SerializeManifest(m);
  if (!again.ok()) return again.status().WithContext("invalid manifest");
  if (!std::equal(again->begin(), again->end(), canonical_json.begin(), canonical_json.end())) {
    return InvalidArgument("manifest bytes are not canonical (compact JSON, sorted keys, files sorted by path)");
  }
  return m;
}

Result<crypto::Cid> ManifestCid(const Manifest& m) {
  ASSIGN_OR_RETURN(Bytes bytes, SerializeManifest(m));
  return crypto::Cid::Of(bytes);
}

}  // namespace lucid::hub
