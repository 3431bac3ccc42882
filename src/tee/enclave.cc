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

constexpr size_t kMaxModelBytes = 512ull << 20;
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
      model_cache_(config.model_cache) {}

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
  ExecuteResult out;
  ASSIGN_OR_RETURN(out.outputs, model->Run(inputs, options));
  receipt.output_hash = HashTensorMap(out.outputs);
  receipt.engine = std::string(onnx::kEngineId);
  const protocol::Evidence evidence = verify::MakeTeeEvidence(receipt, key_);
  if (evidence.data.size() != out.signature.size()) return Internal("tee evidence is not 65 bytes");
  std::copy(evidence.data.begin(), evidence.data.end(), out.signature.begin());
  out.receipt = std::move(receipt);
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
  s.set_payload_max_length(kMaxModelBytes * 2 + (64u << 20));
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
  s.Post("/execute", [enclave, fail](const httplib::Request& req, httplib::Response& res) {
    auto run = [&]() -> Result<json> {
      json j = json::parse(req.body, nullptr, false);
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
      return json{{"outputs", TensorMapToJson(r.outputs)},
                  {"receipt", ToHex(r.receipt.Encode())},
                  {"receipt_id", ToHex(r.receipt.Id())},
                  {"signature", ToHex(r.signature)}};
    };
    auto out = run();
    if (!out.ok()) return fail(res, out.status(), 400);
    res.set_content(out->dump(), "application/json");
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
  ExecuteResult r;
  if (!j.contains("outputs")) return DataLoss("enclave answer has no outputs");
  ASSIGN_OR_RETURN(r.outputs, TensorMapFromJson(j["outputs"]));
  ASSIGN_OR_RETURN(Bytes rb, JsonHex(j, "receipt"));
  ASSIGN_OR_RETURN(r.receipt, protocol::Receipt::Decode(rb));
  ASSIGN_OR_RETURN(Bytes sig, JsonHex(j, "signature"));
  if (sig.size() != r.signature.size()) return DataLoss("enclave signature is not 65 bytes");
  std::copy(sig.begin(), sig.end(), r.signature.begin());
  return r;
}

}  // namespace lucid::tee
