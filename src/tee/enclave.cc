#include "tee/enclave.h"

#include <atomic>
#include <chrono>
#include <thread>

#include <httplib.h>
#include <openssl/evp.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "crypto/hash.h"
#include "onnx/model.h"
#include "tensor/tensor_json.h"
#include "verify/verify.h"

namespace lucid::tee {

namespace {

using nlohmann::json;

constexpr size_t kMaxModelBytes = kMaxOnnxModelBytes;
constexpr size_t kMaxPkiFileBytes = 16 * 1024;

Result<Bytes> ReadFile(const std::string& path, size_t limit) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  Bytes out;
  char buf[1 << 16];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    out.insert(out.end(), buf, buf + in.gcount());
    if (out.size() > limit) return OutOfRange(path + ": larger than " + std::to_string(limit) + " bytes");
  }
  return out;
}

Status WriteFile(const std::string& path, ByteView data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Unavailable("cannot write " + path);
  out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
  if (!out) return Unavailable("cannot write " + path);
  return Status::Ok();
}

uint64_t NowMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

bool IsLoopback(const std::string& host) { return host == "127.0.0.1" || host == "localhost" || host == "::1"; }

Result<std::pair<std::string, int>> SplitAddr(const std::string& addr) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == addr.size())
    return InvalidArgument("enclave address must be HOST:PORT, got '" + addr + "'");
  const std::string port_text = addr.substr(colon + 1);
  if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos)
    return InvalidArgument("bad port in '" + addr + "'");
  const int port = std::stoi(port_text);
  if (port > 65535) return InvalidArgument("bad port in '" + addr + "'");
  return std::make_pair(addr.substr(0, colon), port);
}

Result<std::string> JsonString(const json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) return InvalidArgument(std::string("missing string \"") + key + "\"");
  return j[key].get<std::string>();
}

Result<Bytes> JsonHex(const json& j, const char* key) {
  ASSIGN_OR_RETURN(std::string s, JsonString(j, key));
  auto b = FromHex(s);
  if (!b.ok()) return b.status().WithContext(key);
  return std::move(*b);
}

// A request body read through httplib's reader into a std::string (JSON) or Bytes (model
// files: no second copy of a large body), refusing more than `limit` bytes (so each route
// keeps its own limit whatever the server's payload maximum).
template <typename Body>
Result<Body> ReadBody(const httplib::Request& req, const httplib::ContentReader& reader, uint64_t limit) {
  Body body;
  if (req.has_header("Content-Length")) {
    const uint64_t n = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
    if (n > limit) return OutOfRange("request body is " + std::to_string(n) + " bytes, limit " + std::to_string(limit));
    body.reserve(n);
  }
  bool over = false;
  reader([&](const char* data, size_t n) {
    if (body.size() + n > limit) {
      over = true;
      return false;
    }
    body.insert(body.end(), data, data + n);
    return true;
  });
  if (over) return OutOfRange("request body above " + std::to_string(limit) + " bytes");
  return body;
}

Result<ExecuteResult> ResultFromJson(const json& j) {
  ExecuteResult r;
  if (!j.contains("outputs")) return DataLoss("enclave answer has no outputs");
  ASSIGN_OR_RETURN(r.outputs, TensorMapFromJson(j["outputs"]));
  ASSIGN_OR_RETURN(Bytes rb, JsonHex(j, "receipt"));
  ASSIGN_OR_RETURN(r.receipt, protocol::Receipt::Decode(rb));
  ASSIGN_OR_RETURN(Bytes sig, JsonHex(j, "signature"));
  if (sig.size() != r.signature.size()) return DataLoss("enclave signature is not 65 bytes");
  std::copy(sig.begin(), sig.end(), r.signature.begin());
  if (j.contains("prompt_tokens") && j["prompt_tokens"].is_number_integer())
    r.prompt_tokens = j["prompt_tokens"].get<int32_t>();
  if (j.contains("prefill_ms") && j["prefill_ms"].is_number()) r.prefill_ms = j["prefill_ms"].get<double>();
  if (j.contains("decode_ms") && j["decode_ms"].is_number()) r.decode_ms = j["decode_ms"].get<double>();
  return r;
}

json ResultToJson(const ExecuteResult& r) {
  return json{{"outputs", TensorMapToJson(r.outputs)},
              {"receipt", ToHex(r.receipt.Encode())},
              {"receipt_id", ToHex(r.receipt.Id())},
              {"signature", ToHex(r.signature)}};
}

}  // namespace

Bytes Sha384(ByteView data) {
  Bytes out(48);
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out.data(), &len, EVP_sha384(), nullptr);
  return out;
}

Result<Bytes> Sha384File(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha384(), nullptr) != 1) return Internal("SHA-384 init failed");
  char buf[1 << 16];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0)
    EVP_DigestUpdate(ctx.get(), buf, static_cast<size_t>(in.gcount()));
  if (in.bad()) return Unavailable("read error on " + path);
  Bytes out(48);
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), out.data(), &len);
  return out;
}

Result<Bytes> SelfMeasurement() { return Sha384File("/proc/self/exe"); }

Bytes DevPcr1() { return Sha384(AsBytes("lucid dev enclave: pcr1 (kernel and boot ramfs)")); }
Bytes DevPcr2() { return Sha384(AsBytes("lucid dev enclave: pcr2 (user applications)")); }

Status WriteDevPki(const std::string& dir, const DevPki& pki) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Unavailable("cannot create " + dir + ": " + ec.message());
  RETURN_IF_ERROR(WriteFile(dir + "/root.der", pki.root_der));
  RETURN_IF_ERROR(WriteFile(dir + "/intermediate.der", pki.intermediate_der));
  RETURN_IF_ERROR(WriteFile(dir + "/leaf.der", pki.leaf_der));
  RETURN_IF_ERROR(WriteFile(dir + "/leaf_key.der", pki.leaf_key_der));
  return Status::Ok();
}

Result<DevPki> ReadDevPki(const std::string& dir) {
  DevPki pki;
  ASSIGN_OR_RETURN(pki.root_der, ReadFile(dir + "/root.der", kMaxPkiFileBytes));
  ASSIGN_OR_RETURN(pki.intermediate_der, ReadFile(dir + "/intermediate.der", kMaxPkiFileBytes));
  ASSIGN_OR_RETURN(pki.leaf_der, ReadFile(dir + "/leaf.der", kMaxPkiFileBytes));
  ASSIGN_OR_RETURN(pki.leaf_key_der, ReadFile(dir + "/leaf_key.der", kMaxPkiFileBytes));
  return pki;
}

Result<DevPki> LoadOrCreateDevPki(const std::string& dir, const DevPkiOptions& options) {
  if (std::filesystem::exists(dir + "/root.der")) return ReadDevPki(dir);
  ASSIGN_OR_RETURN(DevPki pki, GenerateDevPki(options));
  RETURN_IF_ERROR(WriteDevPki(dir, pki));
  return pki;
}

Bytes UncompressedPublicKey(const crypto::PrivateKey& key) {
  const auto xy = key.PublicKey();
  Bytes out;
  out.reserve(65);
  out.push_back(0x04);
  out.insert(out.end(), xy.begin(), xy.end());
  return out;
}

// ---- DevEnclave ----

DevEnclave::DevEnclave(EnclaveConfig config, crypto::PrivateKey key, Bytes pcr0)
    : pki_(std::move(config.pki)),
      key_(key),
      public_key_(UncompressedPublicKey(key)),
      pcr0_(std::move(pcr0)),
      threads_(config.threads),
      model_cache_(config.model_cache),
      llm_(std::move(config.llm)),
      max_model_file_bytes_(config.max_model_file_bytes),
      model_files_(std::max<size_t>(1, config.model_files)) {}

Result<std::unique_ptr<DevEnclave>> DevEnclave::Create(EnclaveConfig config) {
  Bytes pcr0;
  if (config.pcr0) {
    pcr0 = *config.pcr0;
  } else {
    ASSIGN_OR_RETURN(pcr0, SelfMeasurement());
  }
  if (pcr0.size() != kPcrBytes) return InvalidArgument("pcr0 must be 48 bytes");
  if (config.pki.root_der.empty() || config.pki.leaf_der.empty() || config.pki.leaf_key_der.empty())
    return InvalidArgument("dev PKI is incomplete");
  // The receipt key is made here and never leaves this object.
  crypto::PrivateKey key = crypto::PrivateKey::Generate();
  return std::unique_ptr<DevEnclave>(new DevEnclave(std::move(config), key, std::move(pcr0)));
}

Result<Bytes> DevEnclave::Attest(const std::optional<Bytes>& nonce, uint64_t now_ms) const {
  if (nonce && nonce->size() > kMaxNonceBytes)
    return OutOfRange("nonce is " + std::to_string(nonce->size()) + " bytes, limit " + std::to_string(kMaxNonceBytes));
  NitroPayload payload;
  payload.module_id = "lucid-dev-enclave";
  payload.timestamp_ms = now_ms;
  payload.pcrs[0] = pcr0_;
  payload.pcrs[1] = DevPcr1();
  payload.pcrs[2] = DevPcr2();
  payload.pcrs[3] = Bytes(kPcrBytes, 0);
  payload.pcrs[4] = Bytes(kPcrBytes, 0);
  payload.public_key = public_key_;
  const Hash32 key_hash = crypto::Sha256(public_key_);
  payload.user_data = Bytes(key_hash.begin(), key_hash.end());
  payload.nonce = nonce;
  payload.indefinite_maps = true;  // as current Nitro documents
  return BuildNitroDocument(pki_, payload);
}

Result<std::shared_ptr<const onnx::Model>> DevEnclave::ModelFor(ByteView bytes) const {
  const Hash32 h = crypto::Sha256(bytes);
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = models_.find(h);
    if (it != models_.end()) return it->second;
  }
  auto loaded = onnx::Model::Load(bytes);
  if (!loaded.ok()) return loaded.status().WithContext("model");
  std::shared_ptr<const onnx::Model> model(std::move(*loaded));
  std::lock_guard<std::mutex> lock(mu_);
  if (models_.size() >= model_cache_ && !models_.empty()) models_.erase(models_.begin());
  if (model_cache_ > 0) models_[h] = model;
  return model;
}

Result<ExecuteResult> DevEnclave::Execute(ByteView model_bytes, const TensorMap& inputs,
                                          protocol::Receipt receipt) const {
  if (receipt.mode != protocol::Mode::kTee)
    return InvalidArgument("receipt mode is " + std::string(protocol::ModeName(receipt.mode)) + ", not tee");
  if (HashTensorMap(inputs) != receipt.input_hash)
    return InvalidArgument("input tensors do not hash to the receipt's input_hash");
  ASSIGN_OR_RETURN(std::shared_ptr<const onnx::Model> model, ModelFor(model_bytes));
  onnx::RunOptions options;
  options.threads = threads_;
  ASSIGN_OR_RETURN(TensorMap outputs, model->Run(inputs, options));
  receipt.output_hash = HashTensorMap(outputs);
  receipt.engine = std::string(onnx::kEngineId);
  ExecuteResult out = Sign(std::move(receipt));
  out.outputs = std::move(outputs);
  return out;
}

ExecuteResult DevEnclave::Sign(protocol::Receipt receipt) const {
  ExecuteResult out;
  const protocol::Evidence evidence = verify::MakeTeeEvidence(receipt, key_);  // 65 bytes
  std::copy_n(evidence.data.begin(), std::min(evidence.data.size(), out.signature.size()), out.signature.begin());
  out.receipt = std::move(receipt);
  return out;
}

Status DevEnclave::PutModelFile(const crypto::Cid& cid, Bytes bytes) const {
  if (bytes.size() > max_model_file_bytes_)
    return OutOfRange("model file is " + std::to_string(bytes.size()) + " bytes, the enclave's limit is " +
                      std::to_string(max_model_file_bytes_));
  RETURN_IF_ERROR(cid.Check(bytes).WithContext("model file"));
  auto shared = std::make_shared<const Bytes>(std::move(bytes));
  std::lock_guard<std::mutex> lock(mu_);
  if (files_.count(cid)) return Status::Ok();
  while (files_.size() >= model_files_ && !file_order_.empty()) {
    files_.erase(file_order_.front());
    file_order_.pop_front();
  }
  files_[cid] = std::move(shared);
  file_order_.push_back(cid);
  return Status::Ok();
}

std::optional<uint64_t> DevEnclave::ModelFileSize(const crypto::Cid& cid) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = files_.find(cid);
  if (it == files_.end()) return std::nullopt;
  return it->second->size();
}

Result<crypto::Cid> DevEnclave::CheckLlm(ByteView manifest, const protocol::Receipt& receipt) const {
  if (!llm_) return Unimplemented("this enclave runs no LLM engine");
  if (receipt.mode != protocol::Mode::kTee)
    return InvalidArgument("receipt mode is " + std::string(protocol::ModeName(receipt.mode)) + ", not tee");
  const crypto::Cid manifest_cid = crypto::Cid::Of(manifest);
  if (manifest_cid != receipt.model)
    return InvalidArgument("the manifest given has CID " + manifest_cid.ToString() + ", the receipt names model " +
                           receipt.model.ToString());
  ASSIGN_OR_RETURN(auto file, llm_->ModelFile(manifest));
  return file.first;
}

Result<ExecuteResult> DevEnclave::ExecuteLlm(ByteView manifest, const TensorMap& inputs, protocol::Receipt receipt,
                                             const std::function<bool(std::string_view)>& on_text) const {
  ASSIGN_OR_RETURN(crypto::Cid file_cid, CheckLlm(manifest, receipt));
  if (HashTensorMap(inputs) != receipt.input_hash)
    return InvalidArgument("input tensors do not hash to the receipt's input_hash");
  ASSIGN_OR_RETURN(auto file, llm_->ModelFile(manifest));
  std::shared_ptr<const Bytes> gguf;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = files_.find(file_cid);
    if (it != files_.end()) gguf = it->second;
  }
  if (!gguf) return NotFound("model file " + file_cid.ToString() + " is not held by the enclave (PUT /models/CID)");
  // The bytes hashed to this CID when they were kept; the manifest also names their size.
  if (gguf->size() != file.second)
    return DataLoss("model file " + file_cid.ToString() + " has " + std::to_string(gguf->size()) +
                    " bytes, the manifest says " + std::to_string(file.second));
  ASSIGN_OR_RETURN(LlmRun run, llm_->Run(receipt.model, manifest, std::move(gguf), inputs, on_text));
  // The output hash is of what this enclave generated: the node cannot choose the output.
  receipt.output_hash = HashTensorMap(run.outputs);
  receipt.engine = run.engine;
  ExecuteResult out = Sign(std::move(receipt));
  out.outputs = std::move(run.outputs);
  out.prompt_tokens = run.prompt_tokens;
  out.prefill_ms = run.prefill_ms;
  out.decode_ms = run.decode_ms;
  return out;
}

// ---- HTTP ----

struct EnclaveHttp::Impl {
  const DevEnclave* enclave;
  httplib::Server server;
  // Serve() and Stop() may race (a SIGTERM right after start): both flags are seq_cst, so
  // either Serve sees `stopped` and never listens, or Stop sees `serving` and waits for the loop.
  std::atomic<bool> serving{false};
  std::atomic<bool> stopped{false};
  std::atomic<bool> finished{false};  // the listen loop has returned (Stop may run twice)
};

EnclaveHttp::EnclaveHttp(const DevEnclave* enclave) : impl_(std::make_unique<Impl>()) {
  impl_->enclave = enclave;
  auto& s = impl_->server;
  // Each route reads its body with its own limit (ReadBody); this is the largest of them.
  s.set_payload_max_length(std::max<uint64_t>(kMaxModelBytes * 2 + (64u << 20), enclave->max_model_file_bytes()));
  auto fail = [](httplib::Response& res, const Status& st, int code) {
    res.status = code;
    res.set_content(json{{"error", st.ToString()}}.dump(), "application/json");
  };
  s.Get("/attestation", [enclave, fail](const httplib::Request& req, httplib::Response& res) {
    std::optional<Bytes> nonce;
    if (req.has_param("nonce")) {
      auto n = FromHex(req.get_param_value("nonce"));
      if (!n.ok()) return fail(res, n.status().WithContext("nonce"), 400);
      nonce = std::move(*n);
    }
    auto doc = enclave->Attest(nonce, NowMs());
    if (!doc.ok()) return fail(res, doc.status(), 400);
    res.set_content(json{{"document", ToHex(*doc)},
                         {"public_key", ToHex(enclave->public_key())},
                         {"pcr0", ToHex(enclave->pcr0())}}
                        .dump(),
                    "application/json");
  });
  s.Post("/execute", [enclave, fail](const httplib::Request& req, httplib::Response& res,
                                     const httplib::ContentReader& reader) {
    auto run = [&]() -> Result<json> {
      ASSIGN_OR_RETURN(std::string body, ReadBody<std::string>(req, reader, kMaxModelBytes * 2 + (64u << 20)));
      json j = json::parse(body, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return InvalidArgument("body is not a JSON object");
      // The model comes in the request: the enclave runs what it was sent, never a file a
      // local caller names (it would read any file it can access for whoever asks).
      ASSIGN_OR_RETURN(Bytes model, JsonHex(j, "model_hex"));
      if (model.size() > kMaxModelBytes) return InvalidArgument("model above the enclave's size limit");
      if (!j.contains("inputs")) return InvalidArgument("missing \"inputs\"");
      ASSIGN_OR_RETURN(TensorMap inputs, TensorMapFromJson(j["inputs"]));
      ASSIGN_OR_RETURN(Bytes receipt_bytes, JsonHex(j, "receipt"));
      ASSIGN_OR_RETURN(protocol::Receipt receipt, protocol::Receipt::Decode(receipt_bytes));
      ASSIGN_OR_RETURN(ExecuteResult r, enclave->Execute(model, inputs, std::move(receipt)));
      return ResultToJson(r);
    };
    auto out = run();
    if (!out.ok()) return fail(res, out.status(), out.status().code() == Code::kOutOfRange ? 413 : 400);
    res.set_content(out->dump(), "application/json");
  });
  // GGUF versions: the model file once, by CID (streamed in as the raw body, checked here).
  s.Put(R"(/models/([a-z0-9]{1,128}))", [enclave, fail](const httplib::Request& req, httplib::Response& res,
                                                          const httplib::ContentReader& reader) {
    auto cid = crypto::Cid::Parse(req.matches[1].str());
    if (!cid.ok()) return fail(res, cid.status().WithContext("CID"), 400);
    auto bytes = ReadBody<Bytes>(req, reader, enclave->max_model_file_bytes());
    if (!bytes.ok()) return fail(res, bytes.status().WithContext("model file"), 413);
    const size_t size = bytes->size();
    Status put = enclave->PutModelFile(*cid, std::move(*bytes));
    if (!put.ok()) return fail(res, put, put.code() == Code::kOutOfRange ? 413 : 400);
    res.set_content(json{{"cid", cid->ToString()}, {"size", size}}.dump(), "application/json");
  });
  s.Get(R"(/models/([a-z0-9]{1,128}))", [enclave, fail](const httplib::Request& req, httplib::Response& res) {
    auto cid = crypto::Cid::Parse(req.matches[1].str());
    if (!cid.ok()) return fail(res, cid.status().WithContext("CID"), 400);
    auto size = enclave->ModelFileSize(*cid);
    if (!size) return fail(res, NotFound("model file " + cid->ToString() + " is not held"), 404);
    res.set_content(json{{"cid", cid->ToString()}, {"size", *size}}.dump(), "application/json");
  });
  // An LLM request: checked before the answer starts (HTTP errors), then generated here with
  // the text relayed as it is decided and the signed receipt last (newline-delimited JSON).
  s.Post("/execute_llm", [enclave, fail](const httplib::Request& req, httplib::Response& res,
                                         const httplib::ContentReader& reader) {
    struct Job {
      Bytes manifest;
      TensorMap inputs;
      protocol::Receipt receipt;
    };
    auto job = std::make_shared<Job>();
    std::optional<crypto::Cid> missing;
    Status checked = [&]() -> Status {
      ASSIGN_OR_RETURN(std::string body, ReadBody<std::string>(req, reader, kMaxLlmRequestBytes));
      json j = json::parse(body, nullptr, false);
      if (j.is_discarded() || !j.is_object()) return InvalidArgument("body is not a JSON object");
      ASSIGN_OR_RETURN(job->manifest, JsonHex(j, "manifest_hex"));
      if (!j.contains("inputs")) return InvalidArgument("missing \"inputs\"");
      ASSIGN_OR_RETURN(job->inputs, TensorMapFromJson(j["inputs"]));
      ASSIGN_OR_RETURN(Bytes receipt_bytes, JsonHex(j, "receipt"));
      ASSIGN_OR_RETURN(job->receipt, protocol::Receipt::Decode(receipt_bytes));
      ASSIGN_OR_RETURN(crypto::Cid file, enclave->CheckLlm(job->manifest, job->receipt));
      if (HashTensorMap(job->inputs) != job->receipt.input_hash)
        return InvalidArgument("input tensors do not hash to the receipt's input_hash");
      if (!enclave->ModelFileSize(file)) {
        missing = file;
        return NotFound("model file " + file.ToString() + " is not held by the enclave: PUT /models/" + file.ToString());
      }
      return Status::Ok();
    }();
    if (!checked.ok()) {
      const int code = missing ? 404
                       : checked.code() == Code::kOutOfRange ? 413
                       : checked.code() == Code::kUnimplemented ? 501
                                                                : 400;
      res.status = code;
      json e{{"error", checked.ToString()}};
      if (missing) e["missing_model_file"] = missing->ToString();
      res.set_content(e.dump(), "application/json");
      return;
    }
    res.set_chunked_content_provider("application/x-ndjson", [enclave, job](size_t, httplib::DataSink& sink) {
      auto line = [&](const json& j) {
        const std::string s = j.dump() + "\n";
        return sink.write(s.data(), s.size());
      };
      auto on_text = [&](std::string_view piece) {
        if (piece.empty()) return true;
        return line(json{{"text_hex", ToHex(AsBytes(piece))}});  // the caller gone: cancel
      };
      auto r = enclave->ExecuteLlm(job->manifest, job->inputs, job->receipt, on_text);
      if (!r.ok()) {
        line(json{{"error", r.status().ToString()}});
      } else {
        json j = ResultToJson(*r);
        j["prompt_tokens"] = r->prompt_tokens;
        j["prefill_ms"] = r->prefill_ms;
        j["decode_ms"] = r->decode_ms;
        line(j);
      }
      sink.done();
      return true;
    });
  });
}

EnclaveHttp::~EnclaveHttp() { Stop(); }

Result<int> EnclaveHttp::Bind(const std::string& host, int port) {
  if (!IsLoopback(host)) return InvalidArgument("the dev enclave listens on loopback only, not '" + host + "'");
  if (port == 0) {
    const int p = impl_->server.bind_to_any_port(host);
    if (p <= 0) return Unavailable("cannot bind " + host);
    return p;
  }
  if (!impl_->server.bind_to_port(host, port)) return Unavailable("cannot bind " + host + ":" + std::to_string(port));
  return port;
}

void EnclaveHttp::Serve() {
  impl_->serving = true;
  if (!impl_->stopped) impl_->server.listen_after_bind();
  impl_->finished = true;
}
void EnclaveHttp::Stop() {
  if (!impl_) return;
  impl_->stopped = true;
  // httplib's stop() does nothing until the listen loop runs: a SIGTERM right after start
  // would leave Serve() blocked in accept() for ever. Wait (bounded) for the loop first.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (impl_->serving && !impl_->finished && !impl_->server.is_running() &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  impl_->server.stop();
}

// ---- client ----

EnclaveClient::EnclaveClient(std::string addr) {
  auto hp = SplitAddr(addr);
  if (hp.ok()) {
    host_ = hp->first;
    port_ = hp->second;
  }
}
EnclaveClient::~EnclaveClient() = default;

namespace {

Result<json> Call(const std::string& host, int port, const httplib::Result& res) {
  const std::string where = "enclave at " + host + ":" + std::to_string(port);
  if (!res) return Unavailable("cannot reach the " + where + " (" + httplib::to_string(res.error()) + ")");
  json j = json::parse(res->body, nullptr, false);
  if (res->status != 200) {
    std::string msg = j.is_object() && j.contains("error") && j["error"].is_string() ? j["error"].get<std::string>()
                                                                                      : res->body.substr(0, 200);
    return FailedPrecondition(where + " refused: " + msg);
  }
  if (j.is_discarded() || !j.is_object()) return DataLoss(where + " answered with something that is not JSON");
  return j;
}

}  // namespace

Result<EnclaveClient::Attestation> EnclaveClient::Attest(const std::optional<Bytes>& nonce) const {
  if (port_ == 0) return InvalidArgument("enclave address must be HOST:PORT");
  httplib::Client cli(host_, port_);
  cli.set_read_timeout(30, 0);
  std::string path = "/attestation";
  if (nonce) path += "?nonce=" + ToHex(*nonce);
  ASSIGN_OR_RETURN(json j, Call(host_, port_, cli.Get(path)));
  Attestation a;
  ASSIGN_OR_RETURN(a.document, JsonHex(j, "document"));
  ASSIGN_OR_RETURN(a.public_key, JsonHex(j, "public_key"));
  ASSIGN_OR_RETURN(a.pcr0, JsonHex(j, "pcr0"));
  return a;
}

Result<ExecuteResult> EnclaveClient::ExecuteFile(const std::string& model_path, const TensorMap& inputs,
                                                 const protocol::Receipt& receipt) const {
  ASSIGN_OR_RETURN(Bytes model, ReadFile(model_path, kMaxModelBytes));  // read here, sent as bytes
  return Execute(model, inputs, receipt);
}

Result<ExecuteResult> EnclaveClient::Execute(ByteView model_bytes, const TensorMap& inputs,
                                             const protocol::Receipt& receipt) const {
  return Post(json{{"model_hex", ToHex(model_bytes)}, {"inputs", TensorMapToJson(inputs)},
                   {"receipt", ToHex(receipt.Encode())}});
}

Result<ExecuteResult> EnclaveClient::Post(const nlohmann::json& body) const {
  if (port_ == 0) return InvalidArgument("enclave address must be HOST:PORT");
  httplib::Client cli(host_, port_);
  cli.set_read_timeout(600, 0);
  ASSIGN_OR_RETURN(json j, Call(host_, port_, cli.Post("/execute", body.dump(), "application/json")));
  return ResultFromJson(j);
}

Status EnclaveClient::UploadModelFile(const crypto::Cid& cid, ByteView bytes) const {
  if (port_ == 0) return InvalidArgument("enclave address must be HOST:PORT");
  httplib::Client cli(host_, port_);
  cli.set_read_timeout(600, 0);
  cli.set_write_timeout(600, 0);
  // Streamed from the caller's buffer (httplib would copy a body given as a pointer).
  auto provider = [&bytes](size_t offset, size_t length, httplib::DataSink& sink) {
    const size_t n = std::min<size_t>(length, 1u << 20);
    return sink.write(reinterpret_cast<const char*>(bytes.data()) + offset, n);
  };
  ASSIGN_OR_RETURN(json j, Call(host_, port_,
                                cli.Put("/models/" + cid.ToString(), bytes.size(), provider, "application/octet-stream")));
  if (!j.contains("size") || !j["size"].is_number_unsigned() || j["size"].get<uint64_t>() != bytes.size())
    return DataLoss("the enclave did not confirm the model file's size");
  return Status::Ok();
}

Result<bool> EnclaveClient::HasModelFile(const crypto::Cid& cid) const {
  if (port_ == 0) return InvalidArgument("enclave address must be HOST:PORT");
  httplib::Client cli(host_, port_);
  cli.set_read_timeout(30, 0);
  auto res = cli.Get("/models/" + cid.ToString());
  if (res && res->status == 404) return false;
  ASSIGN_OR_RETURN(json j, Call(host_, port_, res));
  return true;
}

Result<ExecuteResult> EnclaveClient::PostLlm(const std::string& body,
                                             const std::function<bool(std::string_view)>& on_text,
                                             std::optional<crypto::Cid>* missing) const {
  if (port_ == 0) return InvalidArgument("enclave address must be HOST:PORT");
  const std::string where = "enclave at " + host_ + ":" + std::to_string(port_);
  httplib::Client cli(host_, port_);
  cli.set_read_timeout(600, 0);
  httplib::Request req;
  req.method = "POST";
  req.path = "/execute_llm";
  req.body = body;
  req.set_header("Content-Type", "application/json");
  int status = 0;
  std::string error_body, pending;
  std::optional<json> last;
  Status broken = Status::Ok();
  bool cancelled = false;
  req.response_handler = [&](const httplib::Response& r) {
    status = r.status;
    return true;
  };
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    if (status != 200) {
      error_body.append(data, n);
      return error_body.size() < (1u << 20);
    }
    pending.append(data, n);
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      json j = json::parse(std::string_view(pending).substr(0, nl), nullptr, false);
      pending.erase(0, nl + 1);
      if (j.is_discarded() || !j.is_object()) {
        broken = DataLoss(where + " streamed a line that is not a JSON object");
        return false;
      }
      if (j.contains("text_hex")) {
        if (last) {
          broken = DataLoss(where + " streamed text after its answer");
          return false;
        }
        auto piece = JsonHex(j, "text_hex");
        if (!piece.ok()) {
          broken = piece.status().WithContext(where);
          return false;
        }
        if (on_text && !on_text(AsString(*piece))) {
          cancelled = true;
          return false;
        }
        continue;
      }
      last = std::move(j);
    }
    return pending.size() < (256u << 20);
  };
  auto res = cli.send(req);
  if (cancelled) return Unavailable("the caller stopped reading the answer (cancelled)");
  if (!broken.ok()) return broken;
  if (!res) return Unavailable("cannot reach the " + where + " (" + httplib::to_string(res.error()) + ")");
  if (status != 200) {
    json e = json::parse(error_body, nullptr, false);
    std::string msg = e.is_object() && e.contains("error") && e["error"].is_string() ? e["error"].get<std::string>()
                                                                                      : error_body.substr(0, 200);
    if (status == 404 && e.is_object() && e.contains("missing_model_file") && e["missing_model_file"].is_string()) {
      auto cid = crypto::Cid::Parse(e["missing_model_file"].get<std::string>());
      if (cid.ok()) *missing = *cid;
    }
    if (status == 501) return Unimplemented(where + " refused: " + msg);
    return FailedPrecondition(where + " refused: " + msg);
  }
  if (!last) return DataLoss(where + " ended the answer without a receipt");
  if (last->contains("error")) {
    const json& e = (*last)["error"];
    return FailedPrecondition(where + " failed: " + (e.is_string() ? e.get<std::string>() : e.dump()));
  }
  return ResultFromJson(*last);
}

Result<ExecuteResult> EnclaveClient::ExecuteLlm(ByteView manifest, const std::function<Result<Bytes>()>& model_file,
                                                const TensorMap& inputs, const protocol::Receipt& receipt,
                                                const std::function<bool(std::string_view)>& on_text) const {
  const std::string body =
      json{{"manifest_hex", ToHex(manifest)}, {"inputs", TensorMapToJson(inputs)}, {"receipt", ToHex(receipt.Encode())}}
          .dump();
  std::optional<crypto::Cid> missing;
  auto r = PostLlm(body, on_text, &missing);
  if (r.ok() || !missing) return r;
  // The enclave does not hold the model file yet (first request, or restarted): send it once.
  ASSIGN_OR_RETURN(Bytes file, model_file());
  if (crypto::Cid::Of(file) != *missing)
    return DataLoss("the model file at hand does not hash to " + missing->ToString() + ", which the enclave asks for");
  RETURN_IF_ERROR(UploadModelFile(*missing, file).WithContext("uploading the model file to the enclave"));
  file.clear();
  file.shrink_to_fit();
  missing.reset();
  return PostLlm(body, on_text, &missing);
}

}  // namespace lucid::tee
