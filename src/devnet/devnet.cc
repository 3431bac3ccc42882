#include "devnet/devnet.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "api/json_views.h"
#include "api/server.h"
#include "devnet/chain_access_solo.h"
#include "ipfs/hub_hooks.h"
#include "replication/replicator.h"
#include "hub/hub.h"
#include "keystore/keystore.h"
#include "node/inference_node.h"
#include "node/llm_backend.h"
#include "onnx/quantize.h"
#include "tensor/tensor_json.h"
#include "protocol/dev_keys.h"
#include "store/blob_store.h"
#include "tee/enclave.h"

namespace lucid::devnet {

struct EmbeddedFile {
  std::string_view name;
  const unsigned char* data;
  unsigned long size;
};
const std::vector<EmbeddedFile>& EmbeddedFiles();

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::string_view kChainId = "lucid-devnet-1";

// Public seeds: these keys are insecure on purpose and accepted only in dev mode.
crypto::PrivateKey ValidatorKey() { return protocol::DevnetValidatorKey(); }
crypto::PrivateKey NodeKey() { return protocol::DevnetNodeKey(); }

Result<ByteView> Embedded(std::string_view name) {
  for (const auto& f : EmbeddedFiles())
    if (f.name == name) return ByteView(f.data, f.size);
  return NotFound("embedded file " + std::string(name));
}

uint64_t NowMs() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

Status WriteText(const fs::path& path, const std::string& text) {
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return Unavailable("cannot write " + tmp.string());
    out << text;
    if (!out) return Unavailable("short write on " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Unavailable("cannot rename " + tmp.string() + ": " + ec.message());
  return Status::Ok();
}

struct EnclaveProcess {
  pid_t pid = -1;
  int stdout_fd = -1;
  std::string addr;
  void Stop() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
      pid = -1;
    }
    if (stdout_fd >= 0) ::close(stdout_fd);
    stdout_fd = -1;
  }
};

// Starts `binary enclave --dev --listen 127.0.0.1:0 --pki pki_dir` and reads its ready line.
Status SpawnEnclave(const std::string& binary, const std::string& pki_dir, const std::string& log_path,
                    EnclaveProcess& out) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Unavailable("pipe failed");
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  std::vector<std::string> args = {binary, "enclave", "--dev", "--listen", "127.0.0.1:0", "--pki", pki_dir};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    if (log_fd >= 0) ::close(log_fd);
    return Unavailable("fork failed");
  }
  if (pid == 0) {  // child: async-signal-safe calls only
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // the enclave ends with the devnet
    if (::getppid() != parent) ::_exit(1);
    ::dup2(fds[1], 1);
    if (log_fd >= 0) ::dup2(log_fd, 2);
    ::execv(binary.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(fds[1]);
  if (log_fd >= 0) ::close(log_fd);
  out.pid = pid;
  out.stdout_fd = fds[0];
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (line.find('\n') == std::string::npos) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()).count();
    pollfd p{fds[0], POLLIN, 0};
    if (left <= 0 || ::poll(&p, 1, static_cast<int>(left)) <= 0) {
      out.Stop();
      return Unavailable("the dev enclave did not start in 30 s; see " + log_path);
    }
    char buf[4096];
    const ssize_t n = ::read(fds[0], buf, sizeof(buf));
    if (n <= 0) {
      out.Stop();
      return Unavailable("the dev enclave exited at start; see " + log_path);
    }
    line.append(buf, static_cast<size_t>(n));
  }
  json ready = json::parse(line.substr(0, line.find('\n')), nullptr, false);
  if (ready.is_discarded() || !ready.contains("listen") || !ready["listen"].is_string()) {
    out.Stop();
    return DataLoss("the dev enclave's ready line is not what was expected: " + line.substr(0, 200));
  }
  out.addr = ready["listen"].get<std::string>();
  return Status::Ok();
}

}  // namespace

Result<std::chrono::milliseconds> ParseDuration(std::string_view text, std::chrono::milliseconds max) {
  uint64_t value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc()) return InvalidArgument("duration '" + std::string(text) + "' must start with a number");
  std::string_view unit(p, text.data() + text.size() - p);
  uint64_t scale = 0;
  if (unit == "ms") scale = 1;
  else if (unit == "s" || unit.empty()) scale = 1000;
  else if (unit == "m") scale = 60'000;
  else if (unit == "h") scale = 3'600'000;
  else if (unit == "d") scale = 86'400'000;
  else return InvalidArgument("duration unit must be ms, s, m, h or d, got '" + std::string(unit) + "'");
  const uint64_t limit = static_cast<uint64_t>(max.count());
  if (value == 0 || value > limit / scale)
    return OutOfRange("duration '" + std::string(text) + "' must be between 1ms and " + std::to_string(limit) + "ms");
  return std::chrono::milliseconds(value * scale);
}

Result<std::pair<std::string, int>> ParseHostPort(std::string_view text) {
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return InvalidArgument("address must be HOST:PORT, got '" + std::string(text) + "'");
  int port = 0;
  auto [p, ec] = std::from_chars(text.data() + colon + 1, text.data() + text.size(), port);
  if (ec != std::errc() || p != text.data() + text.size() || port < 0 || port > 65535)
    return InvalidArgument("bad port in '" + std::string(text) + "'");
  std::string host(text.substr(0, colon));
  if (host.empty()) host = "127.0.0.1";
  return std::make_pair(host, port);
}

struct Devnet::Impl {
  DevnetOptions options;
  std::unique_ptr<SoloChainAccess> chain;
  std::unique_ptr<store::BlobStore> blobs;
  std::unique_ptr<hub::Hub> hub;
  std::unique_ptr<node::InferenceNode> node;
  std::unique_ptr<api::Server> server;
  std::unique_ptr<replication::Replicator> replicator;
  EnclaveProcess enclave;

  Result<json> SendTx(const crypto::PrivateKey& key, protocol::TxBody body) {
    ASSIGN_OR_RETURN(node::BroadcastResult r, node::SendAndWait(*chain, key, std::move(body)));
    return json{{"height", *r.height}};
  }

  // Publishes a prepared version 1.0 (price 5) with its zkml commitment when it has one.
  Status Publish(const crypto::PrivateKey& owner, const hub::VersionSpec& spec) {
    ASSIGN_OR_RETURN(hub::PreparedVersion prepared, hub->PrepareVersion(spec));
    std::optional<Hash32> zkml_commitment;
    if (prepared.manifest.zkml) zkml_commitment = prepared.manifest.zkml->model_commitment;
    return SendTx(owner, protocol::PublishVersionTx{spec.name, spec.major, spec.minor, prepared.manifest_cid, 5,
                                                    zkml_commitment})
        .status()
        .WithContext("publishing " + spec.name);
  }

  static DemoModel Latest(const chain::Repo& repo) {
    const chain::VersionEntry& v = repo.versions.back();
    return DemoModel{repo.name + "@" + std::to_string(v.major) + "." + std::to_string(v.minor), v.manifest.ToString()};
  }

  // Publishes models/digits/<kind> as repository digits-<kind>, version 1.0, once.
  Result<DemoModel> PublishDemo(const crypto::PrivateKey& owner, const std::string& kind) {
    std::string name = "digits-" + kind;
    auto existing = chain->GetRepo(name);
    if (!existing.ok()) {
      ASSIGN_OR_RETURN(ByteView meta_bytes, Embedded(kind + ".meta.json"));
      json meta = json::parse(meta_bytes.begin(), meta_bytes.end(), nullptr, false);
      if (meta.is_discarded()) return Internal("embedded " + kind + ".meta.json is not JSON");
      ASSIGN_OR_RETURN(ByteView description, Embedded(kind + ".md"));
      protocol::CreateRepoTx create;
      create.name = name;
      create.description = AsString(description);
      create.task = meta.value("task", "");
      create.license = meta.value("license", "");
      for (const auto& t : meta.value("tags", json::array())) create.tags.push_back(t.get<std::string>());
      RETURN_IF_ERROR(SendTx(owner, create).status().WithContext("creating " + name));
      existing = chain->GetRepo(name);
      if (!existing.ok()) return existing.status();
    }
    if (existing->versions.empty()) {
      ASSIGN_OR_RETURN(ByteView model, Embedded(kind + ".onnx"));
      ASSIGN_OR_RETURN(ByteView vectors, Embedded(kind + ".vectors.json"));
      hub::VersionSpec spec;
      spec.name = name;
      spec.major = 1;
      spec.minor = 0;
      ASSIGN_OR_RETURN(crypto::Cid model_cid, hub->PutFile(model));
      spec.files.push_back({kind + ".onnx", model_cid});
      ASSIGN_OR_RETURN(crypto::Cid vectors_cid, hub->PutFile(vectors));
      spec.test_vectors = vectors_cid;
      RETURN_IF_ERROR(Publish(owner, spec));
      existing = chain->GetRepo(name);
      if (!existing.ok()) return existing.status();
    }
    return Latest(*existing);
  }

  // digits-<kind>-int8@1.0: the demo model quantized (calibrated on its own test vectors'
  // inputs), with test vectors pinning its exact outputs and a zkml commitment, once.
  Result<DemoModel> PublishInt8Demo(const crypto::PrivateKey& owner, const std::string& kind) {
    std::string name = "digits-" + kind + "-int8";
    auto existing = chain->GetRepo(name);
    if (!existing.ok()) {
      protocol::CreateRepoTx create;
      create.name = name;
      create.description = "The digits " + kind + " demo model quantized to int8 (docs/formats/integer-semantics.md); "
                           "published with a zkml commitment, so results can carry a zero-knowledge proof.";
      create.task = "image-classification";
      create.license = "MIT";
      create.tags = {"int8", "zkml", "demo"};
      RETURN_IF_ERROR(SendTx(owner, create).status().WithContext("creating " + name));
      existing = chain->GetRepo(name);
      if (!existing.ok()) return existing.status();
    }
    if (existing->versions.empty()) {
      ASSIGN_OR_RETURN(ByteView model, Embedded(kind + ".onnx"));
      ASSIGN_OR_RETURN(ByteView vectors_bytes, Embedded(kind + ".vectors.json"));
      ASSIGN_OR_RETURN(std::vector<hub::TestVector> vectors, hub::ParseTestVectors(vectors_bytes));
      std::vector<TensorMap> calibration;
      for (const auto& v : vectors) calibration.push_back(v.inputs);
      ASSIGN_OR_RETURN(onnx::QuantizeResult quantized, onnx::QuantizeStatic(model, calibration));
      ASSIGN_OR_RETURN(std::unique_ptr<onnx::Model> qmodel, onnx::Model::Load(quantized.model));
      json upload = json::array();
      for (const auto& v : vectors) {
        ASSIGN_OR_RETURN(TensorMap out, qmodel->Run(v.inputs));
        upload.push_back({{"inputs", TensorMapToJson(v.inputs)}, {"outputs", TensorMapToJson(out)}});
      }
      hub::VersionSpec spec;
      spec.name = name;
      spec.major = 1;
      spec.minor = 0;
      ASSIGN_OR_RETURN(crypto::Cid model_cid, hub->PutFile(quantized.model));
      spec.files.push_back({kind + ".int8.onnx", model_cid});
      ASSIGN_OR_RETURN(crypto::Cid vectors_cid, hub->PutFile(AsBytes(upload.dump())));
      spec.test_vectors = vectors_cid;
      spec.exact_match = true;
      spec.quantization = std::string(onnx::kQuantizationId);
      spec.zkml = true;
      RETURN_IF_ERROR(Publish(owner, spec));
      existing = chain->GetRepo(name);
      if (!existing.ok()) return existing.status();
    }
    return Latest(*existing);
  }
};

Devnet::Devnet(DevnetOptions options) : impl_(std::make_unique<Impl>()) { impl_->options = std::move(options); }

Devnet::~Devnet() { Stop(); }

void Devnet::Stop() {
  if (!impl_) return;
  if (impl_->replicator) impl_->replicator->Stop();  // it reads the chain and sends txs
  if (impl_->server) impl_->server->Stop();
  if (impl_->node) impl_->node->StopAsyncWatcher();  // it reads and writes the chain
  if (impl_->chain) impl_->chain->Stop();
  impl_->node.reset();  // its heartbeat thread talks to the chain and the enclave
  impl_->enclave.Stop();
}

Result<DevnetInfo> Devnet::Start() {
  Impl& d = *impl_;
  const DevnetOptions& o = d.options;
  std::error_code ec;
  fs::create_directories(o.home, ec);
  if (ec) return Unavailable("cannot create home " + o.home + ": " + ec.message());

  // Dev keys in the keystore (created once; deterministic and public).
  keystore::Keystore ks(o.home);
  DevnetInfo info;
  std::vector<crypto::PrivateKey> dev = keystore::DevKeys(o.dev_accounts);
  for (size_t i = 0; i < dev.size(); ++i) {
    std::string name = keystore::DevKeyName(i);
    auto stored = ks.Get(name);
    if (!stored.ok()) {
      if (stored.status().code() != Code::kNotFound) return stored.status();
      RETURN_IF_ERROR(ks.Import(name, dev[i]).status());
    }
    info.dev_accounts.push_back({name, dev[i].address()});
  }

  // tee: the dev enclave's PKI (kept in the home: the genesis names its root) and measurement.
  const bool tee = !o.enclave_binary.empty();
  const std::string pki_dir = (fs::path(o.home) / "enclave-pki").string();
  tee::DevPki pki;
  Bytes pcr0;
  if (tee) {
    tee::DevPkiOptions pki_options;
    pki_options.name = "lucid-devnet";
    pki_options.root_validity_s = 365ll * 24 * 3600;
    pki_options.intermediate_validity_s = 365ll * 24 * 3600;
    pki_options.leaf_validity_s = 365ll * 24 * 3600;  // a devnet home outlives a Nitro leaf's hours
    ASSIGN_OR_RETURN(pki, tee::LoadOrCreateDevPki(pki_dir, pki_options));
    ASSIGN_OR_RETURN(pcr0, tee::Sha384File(o.enclave_binary));
  }

  // Chain state: the genesis is written once and read back on every restart.
  chain::Genesis genesis;
  bool new_genesis = false;
  fs::path genesis_path = fs::path(o.home) / "genesis.json";
  if (fs::exists(genesis_path)) {
    std::ifstream in(genesis_path);
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded()) return DataLoss(genesis_path.string() + " is corrupt");
    ASSIGN_OR_RETURN(genesis, api::GenesisFromJson(j));
  } else {
    genesis.chain_id = std::string(kChainId);
    genesis.genesis_time_ms = NowMs();
    genesis.params.dev_mode = true;
    for (const auto& k : dev) genesis.accounts.push_back({k.address(), o.dev_balance});
    genesis.accounts.push_back({NodeKey().address(), 1'000'000'000});
    genesis.accounts.push_back({protocol::DevnetHubKey().address(), 1'000'000'000});
    genesis.params.replication.min_replicas = o.min_replicas;
    genesis.validators.push_back(ValidatorKey().address());
    if (tee) {
      genesis.params.tee.admin = dev[0].address();
      genesis.params.tee.allowed_pcr0 = {pcr0};
      genesis.params.tee.dev_root_der = pki.root_der;
      if (o.tee_heartbeat.count() > 0) genesis.params.tee.heartbeat_ms = static_cast<uint64_t>(o.tee_heartbeat.count());
    }
    new_genesis = true;
    RETURN_IF_ERROR(WriteText(genesis_path, api::GenesisJson(genesis).dump(2)));
  }
  ASSIGN_OR_RETURN(d.chain, SoloChainAccess::Start((fs::path(o.home) / "chain").string(), genesis, ValidatorKey(),
                                                   o.block_time));

  // Hub and inference node.
  d.blobs = std::make_unique<store::BlobStore>((fs::path(o.home) / "hub").string());
  hub::HubOptions hub_options;
  hub_options.run_llm = node::MakeHubLlmRunner(o.threads);
  if (!o.ipfs_apis.empty()) {  // docs/ipfs.md
    ASSIGN_OR_RETURN(ipfs::HubHooks ipfs_hooks, ipfs::MakeHubHooks(o.ipfs_apis));
    hub_options.ipfs_add = std::move(ipfs_hooks.add);
    hub_options.ipfs_fetch = std::move(ipfs_hooks.fetch);
  }
  d.hub = std::make_unique<hub::Hub>(d.blobs.get(), hub_options);
  node::NodeConfig node_config;
  node_config.key = NodeKey();
  node_config.threads = o.threads;
  // GGUF (LLM) versions: one engine per version, concurrent requests batched.
  node_config.llm = std::make_shared<node::EngineLlmBackend>(d.hub.get(), llm::EngineOptions{o.threads, 8, 0});
  // replay: answered as vanilla, paid after the challenge window (docs/settlement.md).
  node_config.modes = protocol::ModeBit(protocol::Mode::kVanilla) | protocol::ModeBit(protocol::Mode::kZkml) |
                      protocol::ModeBit(protocol::Mode::kReplay);
  const bool tee_on = tee && genesis.params.tee.dev_root_der == pki.root_der && !pki.root_der.empty();
  if (tee && !tee_on)
    spdlog::warn("devnet: {} was created without this dev enclave root; tee mode is off (use a fresh --home)",
                 genesis_path.string());
  if (tee_on) {
    RETURN_IF_ERROR(SpawnEnclave(o.enclave_binary, pki_dir, (fs::path(o.home) / "enclave.log").string(), d.enclave)
                        .WithContext("dev enclave"));
    node_config.enclave_addr = d.enclave.addr;
    node_config.modes |= protocol::ModeBit(protocol::Mode::kTee);
    info.enclave = d.enclave.addr;
    info.enclave_pcr0 = pcr0;
  }
  d.node = std::make_unique<node::InferenceNode>(node_config, d.hub.get(), d.chain.get());

  api::ServerOptions server_options;
  server_options.host = o.http_host;
  server_options.port = o.http_port;
  // The OpenAI routes' dev API key signs as dev1 (docs/llm.md "Trust model"); dev chains only.
  server_options.api_keys.emplace(node::kDevApiKey, protocol::DevKey(1));
  d.server = std::make_unique<api::Server>(d.chain.get(), d.hub.get(), d.node.get(), server_options);
  ASSIGN_OR_RETURN(int port, d.server->Start());
  info.api_url = "http://" + o.http_host + ":" + std::to_string(port);

  // Register the node once.
  auto registered = d.chain->GetNode(NodeKey().address());
  if (!registered.ok() || registered->modes != node_config.modes) {
    protocol::RegisterNodeTx reg;
    reg.stake = registered.ok() ? 0 : 10'000;
    reg.modes = node_config.modes;
    reg.endpoint = info.api_url;
    RETURN_IF_ERROR(d.SendTx(NodeKey(), reg).status().WithContext("registering the inference node"));
  }

  if (tee_on) {
    // A rebuilt binary is a new measurement: the admin (dev0) allows it on an existing chain.
    if (!new_genesis && genesis.params.tee.admin == dev[0].address()) {
      protocol::UpdateTeeParamsTx update;
      update.add_pcr0 = {pcr0};
      auto r = d.SendTx(dev[0], update);
      if (!r.ok() && r.status().message().find("already allowed") == std::string::npos)
        return r.status().WithContext("allowing the enclave's PCR0");
    }
    RETURN_IF_ERROR(d.node->AttestEnclave(std::chrono::seconds(30)).status().WithContext("registering the enclave"));
    d.node->StartEnclaveHeartbeat(std::chrono::milliseconds(genesis.params.tee.heartbeat_ms / 2));
  }

  // Async requests assigned to the node (docs/settlement.md): looked for once a block.
  d.node->StartAsyncWatcher(o.block_time);

  if (o.publish_demo_models) {
    for (const std::string kind : {"mlp", "cnn"}) {
      ASSIGN_OR_RETURN(DemoModel m, d.PublishDemo(dev[0], kind));
      info.demo_models.push_back(std::move(m));
    }
    ASSIGN_OR_RETURN(DemoModel int8, d.PublishInt8Demo(dev[0], "mlp"));
    info.demo_models.push_back(std::move(int8));
  }
  // Replication: the hub announces what it pins and keeps it (docs/ipfs.md "Replication").
  if (!o.ipfs_apis.empty() && o.replicate) {
    const crypto::PrivateKey hub_key = protocol::DevnetHubKey();
    // A devnet created before replication has no hub account: dev0 funds it once.
    ASSIGN_OR_RETURN(chain::Account hub_account, d.chain->GetAccount(hub_key.address()));
    if (hub_account.balance == 0 && !d.chain->GetHub(hub_key.address()).ok())
      RETURN_IF_ERROR(d.SendTx(dev[0], protocol::TransferTx{hub_key.address(), 1'000'000'000}).status().WithContext(
          "funding the hub account"));
    replication::ReplicatorOptions ro;
    ro.hub = hub_key.address();
    ro.kubo_api = o.ipfs_apis.front();
    ro.endpoint = info.api_url;
    ro.interval = o.replicate_interval.count() > 0 ? o.replicate_interval : o.block_time;
    ro.submit = replication::SubmitSignedBy(d.chain.get(), hub_key);
    ASSIGN_OR_RETURN(d.replicator, replication::Replicator::Create(std::move(ro), d.chain.get(), d.hub.get()));
    d.replicator->Start();
    info.hub = hub_key.address().ToHex();
  }
  info.chain_id = d.chain->Info().chain_id;
  info.validator = ValidatorKey().address();
  info.node = NodeKey().address();
  return info;
}

}  // namespace lucid::devnet
