#include "cli/commands.h"

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <functional>
#include <tuple>

#include <unistd.h>

#include "api/json_views.h"
#include "cli/cli_util.h"
#include "cli/comet_verify.h"
#include "cli/hub_fetch.h"
#include "crypto/hash.h"
#include "hub/manifest.h"
#include "hub/test_vectors.h"
#include "ipfs/kubo_client.h"  // hub download --ipfs
#include "llm/engine.h"
#include "llm/request.h"
#include "keystore/keystore.h"
#include "devnet/devnet.h"
#include "node/inference_node.h"
#include "onnx/model.h"
#include "onnx/quantize.h"
#include "protocol/types.h"
#include "tee/nitro.h"
#include "tensor/tensor_json.h"
#include "verify/bundle.h"
#include "verify/verify.h"
#include "zkml/zkml.h"

namespace lucid::cli {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------- helpers ----------

void PrintJson(const json& j) { std::cout << j.dump(2) << std::endl; }

namespace {

bool Has(const std::string& text, std::string_view part) { return text.find(part) != std::string::npos; }

}  // namespace

// The next step for errors any command can meet, when its call site names none: no node at
// --node, a balance too low for a fee, a key missing or damaged, another chain.
std::string NextStep(const Context& ctx, const Status& s) {
  const std::string& m = s.message();
  const std::string key = ctx.from.empty() ? "KEY" : ctx.from;
  if (s.code() == Code::kUnavailable && Has(m, "cannot reach the Lucid API"))
    return "is a node running there? start a local network with `lucid devnet`, or pass --node URL of a "
           "running node (env LUCID_NODE)";
  // (an account exists once it has received funds)
  if (Has(m, "INSUFFICIENT_FUNDS") || Has(m, "UNKNOWN_ACCOUNT") || (Has(m, "balance ") && Has(m, " is below ")))
    return "see the balance with `lucid query account " + key + "`; fund it with `lucid tx transfer " + key +
           " AMOUNT --from FUNDED_KEY` (a devnet's dev0 to dev3 hold funds)";
  if (Has(m, "no key named"))
    return "see the keys in " + ctx.home + " with `lucid keys list`, or create one with `lucid keys new NAME`";
  if (s.code() == Code::kDataLoss &&
      (Has(m, "not a valid key file") || Has(m, "malformed secret") || Has(m, "invalid secret") ||
       Has(m, "stored address does not match") || Has(m, "too large to be a key file")))
    return "the key file is damaged: restore it from your backup, or move it out of " + ctx.home +
           "/keys and create a new key with `lucid keys new NAME`";
  if (Has(m, "WRONG_CHAIN") || Has(m, "this node serves"))
    return "the node at " + ctx.node_url + " serves another chain: pass --node URL of a node of the chain you mean";
  return "";
}

int Fail(const Context& ctx, const Status& s, const std::string& given_hint) {
  const std::string hint = given_hint.empty() ? NextStep(ctx, s) : given_hint;
  if (ctx.json_output) {
    json j = {{"error", {{"code", CodeName(s.code())}, {"message", s.message()}}}};
    if (!hint.empty()) j["error"]["hint"] = hint;
    std::cout << j.dump(2) << std::endl;
  } else {
    std::cerr << "error: " << s.message() << " [" << CodeName(s.code()) << "]" << std::endl;
    if (!hint.empty()) std::cerr << "hint: " << hint << std::endl;
  }
  return kExitFailed;
}

Result<crypto::PrivateKey> Context::FromKey() const {
  keystore::Keystore ks(home);
  auto key = ks.Get(from);
  if (!key.ok())
    return Status(key.status().code(),
                  "key '" + from + "' (--from): " + key.status().message() +
                      (key.status().code() == Code::kNotFound ? "; list keys with `lucid keys list --home " + home + "`"
                                                              : ""));
  return key;
}

Result<crypto::Address> Context::ResolveAddress(const std::string& who) const {
  if (who.rfind("0x", 0) == 0 || who.size() == 40) return crypto::Address::FromHex(who);
  keystore::Keystore ks(home);
  ASSIGN_OR_RETURN(crypto::PrivateKey key, ks.Get(who));
  return key.address();
}

namespace {

// Progress on stderr: for a terminal, or LUCID_PROGRESS=1 (tests, logs); never with --json.
bool ProgressOn(const Context& ctx) {
  const char* force = std::getenv("LUCID_PROGRESS");
  const bool on = force ? std::string(force) == "1" : ::isatty(STDERR_FILENO) == 1;
  return on && !ctx.json_output;
}

// A one-line progress bar on stderr for a transfer ("  label  12.3 / 98.0 MiB  12 %"), drawn
// when stderr is a terminal (or LUCID_PROGRESS=1, for tests and logs) and never with --json;
// redrawn at most every 100 ms and once at the end. nullptr when not drawn.
api::TransferProgress ProgressBar(const Context& ctx, const std::string& label) {
  if (!ProgressOn(ctx)) return nullptr;
  auto last = std::make_shared<std::chrono::steady_clock::time_point>();
  return [label, last](uint64_t done, uint64_t total) {
    const auto now = std::chrono::steady_clock::now();
    const bool finished = total > 0 && done >= total;
    if (!finished && now - *last < std::chrono::milliseconds(100)) return;
    *last = now;
    char line[160];
    const double mib = 1024.0 * 1024.0;
    if (total > 0)
      std::snprintf(line, sizeof line, "\r  %s  %.1f / %.1f MiB  %3d %%", label.c_str(), done / mib, total / mib,
                    static_cast<int>(100 * done / total));
    else
      std::snprintf(line, sizeof line, "\r  %s  %.1f MiB", label.c_str(), done / mib);
    std::cerr << line << (finished ? "\n" : "") << std::flush;
  };
}

// Progress of a long operation through named phases, under ProgressBar's rule (stderr, a
// terminal or LUCID_PROGRESS=1, never with --json). The running phase is one line redrawn in
// place every 250 ms with its elapsed time; a finished phase keeps its line; the last line
// gives the total:
//   "  zk prove: setup 1.2 s"
//   "  zk prove: prove... 3.1 s"
//   "  zk prove: done in 12.3 s"
// A phase is named when the code enters it: the times are measured, nothing is estimated.
// Does nothing when off.
class PhaseProgress {
 public:
  using Clock = std::chrono::steady_clock;

  PhaseProgress(const Context& ctx, std::string label) : on_(ProgressOn(ctx)), label_(std::move(label)) {
    if (!on_) return;
    start_ = Clock::now();
    ticker_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!cv_.wait_for(lock, std::chrono::milliseconds(250), [this] { return stopped_; }))
        if (!current_.empty()) Draw(current_ + "... " + Took(phase_start_), false);
    });
  }
  ~PhaseProgress() { Finish(false); }
  PhaseProgress(const PhaseProgress&) = delete;
  PhaseProgress& operator=(const PhaseProgress&) = delete;

  bool on() const { return on_; }

  // Ends the running phase (if any) and starts `name` (the running one: nothing changes).
  void Phase(std::string_view name) {
    if (!on_) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (stopped_ || name == current_) return;
    EndPhase();
    current_ = std::string(name);
    phase_start_ = Clock::now();
    Draw(current_ + "... " + Took(phase_start_), false);
  }

  // Ends the running phase and prints the total; later calls do nothing.
  void Finish(bool ok) {
    if (!on_) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      EndPhase();
      Draw(std::string(ok ? "done in " : "failed after ") + Took(start_), true);
    }
    cv_.notify_all();
    ticker_.join();
  }

 private:
  static std::string Took(Clock::time_point since) {
    const double s = std::chrono::duration<double>(Clock::now() - since).count();
    char b[32];
    if (s < 1) std::snprintf(b, sizeof b, "%.0f ms", s * 1000);
    else std::snprintf(b, sizeof b, "%.1f s", s);
    return b;
  }
  // mu_ held.
  void EndPhase() {
    if (!current_.empty()) Draw(current_ + " " + Took(phase_start_), true);
    current_.clear();
  }
  // mu_ held. Redraws the current line (spaces clear a longer earlier text); `end` ends it.
  void Draw(const std::string& text, bool end) {
    std::string line = "  " + label_ + ": " + text;
    const size_t len = line.size();
    if (line.size() < drawn_) line.append(drawn_ - line.size(), ' ');
    std::cerr << "\r" << line << (end ? "\n" : "") << std::flush;
    drawn_ = end ? 0 : len;
  }

  const bool on_;
  const std::string label_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopped_ = false;
  std::string current_;  // the running phase
  size_t drawn_ = 0;     // length of the unfinished line on screen
  Clock::time_point start_, phase_start_;
  std::thread ticker_;
};

Result<Bytes> ReadFile(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return NotFound("cannot read " + path + ": " + ec.message());
  if (size > (1ull << 30)) return OutOfRange(path + " is larger than 1 GiB");
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot open " + path);
  Bytes data(size);
  in.read(reinterpret_cast<char*>(data.data()), static_cast<std::streamsize>(size));
  if (!in) return Unavailable("short read on " + path);
  return data;
}

Status WriteFile(const std::string& path, ByteView data) {
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Unavailable("cannot write " + tmp);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!out) return Unavailable("short write on " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Unavailable("cannot rename " + tmp + ": " + ec.message());
  return Status::Ok();
}


// tee: the node's enclave registration as the chain holds it now (asked of the API, like node
// registration). The registration's attestation document is not re-verified here.
Result<verify::EnclaveView> FetchEnclaveView(const ApiClient& api, const crypto::Address& node,
                                             uint64_t* registered_height = nullptr) {
  ASSIGN_OR_RETURN(json e, api.Get("/chain/enclaves/" + node.ToHex()));
  if (!e.contains("enclave_address") || !e.contains("pcr0") || !e.contains("expires_at_ms") ||
      !e.contains("pcr0_allowed"))
    return DataLoss("the API's enclave registration lacks fields");
  verify::EnclaveView v;
  ASSIGN_OR_RETURN(v.enclave_address, crypto::Address::FromHex(e["enclave_address"].get<std::string>()));
  ASSIGN_OR_RETURN(v.pcr0, FromHex(e["pcr0"].get<std::string>()));
  v.expires_at_ms = e["expires_at_ms"].get<uint64_t>();
  v.pcr0_allowed = e["pcr0_allowed"].get<bool>();
  if (registered_height) *registered_height = e.value("registered_height", uint64_t{0});
  return v;
}

uint64_t WallClockMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// The zkml commitment to publish: the hub's manifest value, recomputed here from the model
// bytes we uploaded (the hub is not trusted to have computed it). None if the manifest has none.
Result<std::optional<Hash32>> CheckedZkmlCommitment(const hub::Manifest& m, ByteView model_bytes) {
  if (!m.zkml) return std::optional<Hash32>();
  ASSIGN_OR_RETURN(zkml::ProvingKey key, zkml::Setup(model_bytes));
  if (key.model_commitment != m.zkml->model_commitment)
    return DataLoss("the hub's manifest records zkml commitment " + ToHex(m.zkml->model_commitment) +
                    " but the model file gives " + ToHex(key.model_commitment));
  return std::optional<Hash32>(key.model_commitment);
}


std::string ResultsDir(const Context& ctx) { return (fs::path(ctx.home) / "results").string(); }

}  // namespace

// ---------- keys ----------

int KeysNew(const Context& ctx, const std::string& name) {
  keystore::Keystore ks(ctx.home);
  auto entry = ks.New(name);
  if (!entry.ok()) return Fail(ctx, entry.status());
  if (ctx.json_output) PrintJson({{"name", entry->name}, {"address", entry->address.ToHex()}});
  else std::cout << "created key " << entry->name << " " << entry->address.ToChecksumHex() << "\n";
  return kExitOk;
}

int KeysList(const Context& ctx) {
  keystore::Keystore ks(ctx.home);
  auto list = ks.List();
  if (!list.ok()) return Fail(ctx, list.status());
  if (ctx.json_output) {
    json arr = json::array();
    for (const auto& k : *list) arr.push_back({{"name", k.name}, {"address", k.address.ToHex()}});
    PrintJson(arr);
  } else {
    if (list->empty()) std::cout << "no keys in " << ctx.home << "/keys (create one with `lucid keys new NAME`)\n";
    for (const auto& k : *list) std::cout << k.name << "\t" << k.address.ToChecksumHex() << "\n";
  }
  return kExitOk;
}

int KeysShow(const Context& ctx, const std::string& name) {
  keystore::Keystore ks(ctx.home);
  auto key = ks.Get(name);
  if (!key.ok()) return Fail(ctx, key.status(), "list keys with `lucid keys list`");
  crypto::Address a = key->address();
  if (ctx.json_output) PrintJson({{"name", name}, {"address", a.ToHex()}});
  else std::cout << name << "\t" << a.ToChecksumHex() << "\n";
  return kExitOk;
}

// ---------- tx ----------

int TxTransfer(const Context& ctx, const std::string& to, uint64_t amount) {
  auto addr = ctx.ResolveAddress(to);
  if (!addr.ok()) return Fail(ctx, addr.status(), "TO is a 0x address or a key name");
  auto r = SendTx(ctx, protocol::TransferTx{*addr, amount});
  if (!r.ok()) return Fail(ctx, r.status());
  if (ctx.json_output) PrintJson(*r);
  else std::cout << "transferred " << amount << " to " << addr->ToChecksumHex() << " in block " << (*r)["height"]
                 << " (tx " << (*r)["check"]["hash"].get<std::string>() << ")\n";
  return kExitOk;
}

int TxTeeParams(const Context& ctx, const TeeParamsOptions& opts) {
  protocol::UpdateTeeParamsTx tx;
  for (const auto* list : {&opts.allow_pcr0, &opts.revoke_pcr0}) {
    for (const std::string& hex : *list) {
      auto pcr = FromHex(hex);
      if (!pcr.ok() || pcr->size() != 48)
        return Fail(ctx, InvalidArgument("PCR0 '" + hex + "' is not 48 bytes of hex (SHA-384)"));
      (list == &opts.allow_pcr0 ? tx.add_pcr0 : tx.remove_pcr0).push_back(*pcr);
    }
  }
  for (auto [text, field, flag] : {std::tuple{&opts.heartbeat, &tx.heartbeat_ms, "--heartbeat"},
                                   std::tuple{&opts.max_document_age, &tx.max_document_age_ms, "--max-document-age"}}) {
    if (text->empty()) continue;
    auto d = devnet::ParseDuration(*text, std::chrono::hours(24 * 365));
    if (!d.ok()) return Fail(ctx, d.status().WithContext(flag), "durations look like 1h, 5m or 30s");
    *field = static_cast<uint64_t>(d->count());
  }
  if (tx.add_pcr0.empty() && tx.remove_pcr0.empty() && !tx.heartbeat_ms && !tx.max_document_age_ms)
    return Fail(ctx, InvalidArgument("nothing to change: give --allow-pcr0, --revoke-pcr0, --heartbeat or "
                                     "--max-document-age"));
  auto r = SendTx(ctx, tx);
  if (!r.ok()) return Fail(ctx, r.status());
  auto params = ctx.api().Get("/chain/tee/params");
  if (!params.ok()) return Fail(ctx, params.status());
  if (ctx.json_output) {
    PrintJson({{"height", (*r)["height"]}, {"tx", (*r)["check"]["hash"]}, {"tee_params", *params}});
  } else {
    std::cout << "tee params updated in block " << (*r)["height"] << ": " << (*params)["allowed_pcr0"].size()
              << " allowed PCR0, heartbeat " << (*params)["heartbeat_ms"] << " ms, max document age "
              << (*params)["max_document_age_ms"] << " ms\n";
  }
  return kExitOk;
}

// ---------- hub ----------

int HubCreate(const Context& ctx, const std::string& name, const RepoOptions& opts) {
  protocol::CreateRepoTx tx;
  tx.name = name;
  if (!opts.description_file.empty()) {
    auto d = ReadFile(opts.description_file);
    if (!d.ok()) return Fail(ctx, d.status());
    tx.description = AsString(*d);
  }
  tx.task = opts.task;
  tx.license = opts.license;
  std::stringstream tags(opts.tags);
  for (std::string tag; std::getline(tags, tag, ',');)
    if (!tag.empty()) tx.tags.push_back(tag);
  auto r = SendTx(ctx, tx);
  if (!r.ok()) return Fail(ctx, r.status());
  if (ctx.json_output) PrintJson({{"name", name}, {"height", (*r)["height"]}});
  else std::cout << "created repository " << name << " in block " << (*r)["height"] << "\n";
  return kExitOk;
}

int HubUpload(const Context& ctx, const std::string& name, const std::vector<std::string>& files,
              const std::string& version, const std::string& test_vectors, uint64_t price, bool zkml) {
  auto ver = hub::ParseVersion(version);
  if (!ver.ok()) return Fail(ctx, ver.status());
  ApiClient api = ctx.api();
  json file_list = json::array();
  Bytes onnx_bytes;
  for (const auto& path : files) {
    auto data = ReadFile(path);
    if (!data.ok()) return Fail(ctx, data.status());
    if (fs::path(path).extension() == ".onnx") onnx_bytes = *data;
    crypto::Cid local = crypto::Cid::Of(*data);
    if (!ctx.json_output) std::cerr << "uploading " << path << " (" << data->size() << " bytes)\n";
    auto r = api.PostRaw("/hub/files", *data, "application/octet-stream",
                         ProgressBar(ctx, fs::path(path).filename().string()));
    if (!r.ok()) return Fail(ctx, r.status());
    if ((*r)["cid"].get<std::string>() != local.ToString())
      return Fail(ctx, DataLoss("hub stored " + path + " under " + (*r)["cid"].get<std::string>() + ", expected " +
                                local.ToString()));
    if (!ctx.json_output) std::cerr << "  stored as " << local.ToString() << "\n";
    file_list.push_back({{"path", fs::path(path).filename().string()}, {"cid", local.ToString()}});
  }
  json body = {{"name", name}, {"version", version}, {"files", file_list}};
  if (zkml) body["zkml"] = true;
  if (!test_vectors.empty()) {
    auto data = ReadFile(test_vectors);
    if (!data.ok()) return Fail(ctx, data.status());
    auto r = api.PostRaw("/hub/files", *data, "application/json");
    if (!r.ok()) return Fail(ctx, r.status());
    body["test_vectors_cid"] = (*r)["cid"];
  }
  if (!ctx.json_output) std::cerr << "checking the model and running its test vectors ...\n";
  auto prepared = api.Post("/hub/versions", body);
  if (!prepared.ok()) return Fail(ctx, prepared.status());
  auto manifest_cid = crypto::Cid::Parse((*prepared)["manifest_cid"].get<std::string>());
  if (!manifest_cid.ok()) return Fail(ctx, manifest_cid.status());
  // The manifest we sign for must be the one the hub serves, byte for byte.
  auto manifest_bytes = api.GetRaw("/hub/manifests/" + manifest_cid->ToString());
  if (!manifest_bytes.ok()) return Fail(ctx, manifest_bytes.status());
  if (Status s = manifest_cid->Check(*manifest_bytes); !s.ok()) return Fail(ctx, s);
  auto manifest = hub::ParseManifest(*manifest_bytes);
  if (!manifest.ok()) return Fail(ctx, manifest.status());
  auto zkml_commitment = CheckedZkmlCommitment(*manifest, onnx_bytes);
  if (!zkml_commitment.ok()) return Fail(ctx, zkml_commitment.status());
  protocol::PublishVersionTx tx{name, ver->first, ver->second, *manifest_cid, price, *zkml_commitment};
  auto r = SendTx(ctx, tx);
  if (!r.ok()) return Fail(ctx, r.status(), "create the repository first with `lucid hub create " + name + "`");
  if (ctx.json_output) {
    PrintJson({{"name", name}, {"version", version}, {"manifest_cid", manifest_cid->ToString()},
               {"manifest", (*prepared)["manifest"]}, {"height", (*r)["height"]}});
  } else {
    std::cout << "published " << name << "@" << version << " manifest " << manifest_cid->ToString() << " in block "
              << (*r)["height"] << "\n";
  }
  return kExitOk;
}

int HubList(const Context& ctx, const std::string& query) {
  auto r = ctx.api().Get("/hub/repos" + (query.empty() ? "" : "?q=" + query));
  if (!r.ok()) return Fail(ctx, r.status());
  if (ctx.json_output) return PrintJson((*r)["repos"]), kExitOk;
  if ((*r)["repos"].empty()) std::cout << "no repositories match\n";
  else std::cout << "NAME\tLATEST\tTASK\tOWNER\n";
  for (const auto& repo : (*r)["repos"]) {
    std::string latest = repo["versions"].empty() ? "-" : repo["versions"].back()["version"].get<std::string>();
    std::cout << repo["name"].get<std::string>() << "\t" << latest << "\t" << repo["task"].get<std::string>() << "\t"
              << repo["owner"].get<std::string>() << "\n";
  }
  return kExitOk;
}

int HubVersions(const Context& ctx, const std::string& name) {
  auto r = ctx.api().Get("/hub/repos/" + name);
  if (!r.ok()) return Fail(ctx, r.status(), "list repositories with `lucid hub list`");
  if (ctx.json_output) return PrintJson((*r)["versions"]), kExitOk;
  for (const auto& v : (*r)["versions"])
    std::cout << v["version"].get<std::string>() << "\t" << v["manifest"].get<std::string>() << "\tprice "
              << v["price"] << "\tblock " << v["height"] << "\n";
  return kExitOk;
}

namespace {

Result<crypto::Cid> ResolveRef(const ApiClient& api, const std::string& ref, json* entry = nullptr) {
  ASSIGN_OR_RETURN(json v, api.Get("/chain/models/" + ref));
  if (entry) *entry = v;
  return crypto::Cid::Parse(v["manifest"].get<std::string>());
}

// The next step when a model reference NAME[@MAJOR.MINOR] does not resolve: the repository's
// versions when the repository exists, else the repositories.
std::string ModelHint(const std::string& ref, const Status& s) {
  const std::string name = ref.substr(0, ref.find('@'));
  if (s.code() == Code::kNotFound && (Has(s.message(), "is not published") || Has(s.message(), "no published version")))
    return "see the versions of " + name + " with `lucid hub versions " + name + "`";
  return "see the models with `lucid hub list`; a version is NAME@MAJOR.MINOR, e.g. " + name + "@1.0";
}

}  // namespace

namespace {

// `lucid hub download --ipfs` (docs/ipfs.md): the file at `path` hashed again from disk and
// checked against its Lucid CID and the manifest's size, before it is renamed into place.
Status CheckDownloadedFile(const std::string& path, const hub::ManifestFile& f) {
  std::FILE* in = std::fopen(path.c_str(), "rb");
  if (!in) return Unavailable("cannot read " + path);
  crypto::Sha256Stream hasher;
  std::vector<uint8_t> buf(1 << 20);
  uint64_t total = 0;
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), in)) > 0) {
    hasher.Update(ByteView(buf.data(), n));
    total += n;
  }
  const bool read_error = std::ferror(in) != 0;
  std::fclose(in);
  if (read_error) return Unavailable("reading " + path + " failed");
  if (total != f.size)
    return DataLoss(f.path + ": " + std::to_string(total) + " bytes on disk, the manifest says " + std::to_string(f.size));
  if (hasher.Finish() != f.cid.digest) return DataLoss(f.path + ": the bytes on disk do not hash to " + f.cid.ToString());
  return Status::Ok();
}

struct IpfsRefusal {
  std::string api, error;
};

// Streams f from the kubo APIs in order (the manifest's IPFS root, or its Lucid CID when none
// is recorded) into tmp_path, each peer's bytes checked against the Lucid CID while they arrive
// and once more on disk; a refusal is reported and the next API tried. Returns the address of
// the API that served it; tmp_path is removed after every refusal.
Result<std::string> FetchThroughIpfs(const std::vector<ipfs::KuboClient>& kubos, const hub::ManifestFile& f,
                                     const std::string& tmp_path, std::vector<IpfsRefusal>* refused) {
  const std::string root = f.ipfs.empty() ? f.cid.ToString() : f.ipfs;
  std::string errors;
  for (const ipfs::KuboClient& k : kubos) {
    Status s = k.CatToFile(root, f.cid, tmp_path, f.size);
    if (s.ok()) s = CheckDownloadedFile(tmp_path, f);
    if (s.ok()) return k.address();
    std::error_code ec;
    fs::remove(tmp_path, ec);
    std::cerr << "ipfs: " << k.address() << " refused for " << f.cid.ToString() << ": " << s.message() << "\n";
    refused->push_back({k.address(), s.message()});
    errors += (errors.empty() ? "" : "; ") + s.message();
  }
  return Unavailable("no IPFS peer served " + f.path + " (CID " + f.cid.ToString() + ", IPFS root " + root +
                     ") intact: " + errors);
}

}  // namespace

int HubDownload(const Context& ctx, const std::string& ref, const std::string& out_dir,
                const std::vector<std::string>& ipfs_apis) {
  // --ipfs: kubo RPC APIs, loopback only (KuboClient refuses others), checked before anything.
  std::vector<ipfs::KuboClient> kubos, manifest_kubos;
  for (const std::string& a : ipfs_apis) {
    auto k = ipfs::KuboClient::Connect(a);  // 120 s per peer and file, as the hub's fetch
    if (!k.ok()) return Fail(ctx, k.status().WithContext("--ipfs " + a));
    kubos.push_back(*k);
    // A manifest is one block: a peer that has none is given up on sooner.
    manifest_kubos.push_back(*ipfs::KuboClient::Connect(a, std::chrono::seconds(30)));
  }
  const bool through_ipfs = !kubos.empty();
  ApiClient api = ctx.api();
  auto cid = ResolveRef(api, ref);
  if (!cid.ok()) return Fail(ctx, cid.status(), ModelHint(ref, cid.status()));
  // The manifest: through IPFS first (its IPFS CID is its Lucid CID, docs/ipfs.md), checked
  // against its CID; from the Lucid API when no kubo serves it intact.
  Result<std::pair<hub::Manifest, Bytes>> manifest = Unavailable("not fetched");
  std::string manifest_from = "api";
  for (const ipfs::KuboClient& k : manifest_kubos) {
    auto raw = k.Cat(cid->ToString(), *cid, 1 << 20);
    if (raw.ok()) {
      auto m = hub::ParseManifest(*raw);
      if (!m.ok()) return Fail(ctx, m.status().WithContext("manifest " + cid->ToString()));
      manifest = std::make_pair(std::move(*m), std::move(*raw));
      manifest_from = k.address();
      break;
    }
    std::cerr << "ipfs: " << k.address() << " refused for manifest " << cid->ToString() << ": "
              << raw.status().message() << "\n";
  }
  if (!manifest.ok()) {
    if (through_ipfs) std::cerr << "ipfs: no kubo served manifest " << cid->ToString() << "; fetching it from " << ctx.node_url << "\n";
    manifest = FetchManifest(api, *cid);
  }
  if (!manifest.ok()) return Fail(ctx, manifest.status());
  std::error_code ec;
  fs::create_directories(out_dir, ec);
  if (ec) return Fail(ctx, Unavailable("cannot create " + out_dir + ": " + ec.message()));
  json files = json::array();
  for (const auto& f : manifest->first.files) {
    if (!ctx.json_output)
      std::cerr << "downloading " << f.path << " (" << f.size << " bytes)" << (through_ipfs ? " through IPFS" : "") << "\n";
    const std::string final_path = (fs::path(out_dir) / f.path).string();
    json file = {{"path", f.path}, {"cid", f.cid.ToString()}, {"size", f.size}};
    if (through_ipfs) {
      // Streamed to a temporary name no manifest path can have ('~'), renamed only once checked.
      const std::string tmp = final_path + ".~ipfs-part";
      std::vector<IpfsRefusal> refused;
      auto from = FetchThroughIpfs(kubos, f, tmp, &refused);
      if (!from.ok()) return Fail(ctx, from.status(), "see where the version is pinned with `lucid hub status " + ref + "`");
      fs::rename(tmp, final_path, ec);
      if (ec) {
        fs::remove(tmp, ec);
        return Fail(ctx, Unavailable("cannot rename " + tmp + " to " + final_path + ": " + ec.message()));
      }
      if (!ctx.json_output) std::cerr << "  " << f.path << ": CID ok (ipfs " << *from << ")\n";
      file["ipfs"] = f.ipfs.empty() ? f.cid.ToString() : f.ipfs;
      file["from"] = *from;
      json r = json::array();
      for (const IpfsRefusal& x : refused) r.push_back({{"api", x.api}, {"error", x.error}});
      file["refused"] = r;
    } else {
      auto bytes = FetchFile(api, f, ProgressBar(ctx, f.path));
      if (!bytes.ok()) return Fail(ctx, bytes.status());
      if (Status s = WriteFile(final_path, *bytes); !s.ok()) return Fail(ctx, s);
      if (!ctx.json_output) std::cerr << "  " << f.path << ": CID ok\n";
    }
    files.push_back(file);
  }
  if (Status s = WriteFile((fs::path(out_dir) / "manifest.json").string(), manifest->second); !s.ok())
    return Fail(ctx, s);
  if (ctx.json_output) {
    json out = {{"manifest_cid", cid->ToString()}, {"files", files}, {"out", out_dir}};
    if (through_ipfs) {
      out["source"] = "ipfs";
      out["manifest_from"] = manifest_from;
    }
    PrintJson(out);
  } else {
    std::cout << "downloaded " << ref << " (manifest " << cid->ToString() << ") to " << out_dir;
    if (through_ipfs) std::cout << " through IPFS (manifest from " << manifest_from << ")";
    std::cout << "\n";
  }
  return kExitOk;
}

// ---------- inference ----------

int Infer(const Context& ctx, const std::string& ref, const InferOptions& opts) {
  ApiClient api = ctx.api();
  auto key = ctx.FromKey();
  if (!key.ok()) return Fail(ctx, key.status());
  auto mode = protocol::ModeFromName(opts.mode);
  if (!mode.ok()) return Fail(ctx, mode.status());
  json entry;
  auto cid = ResolveRef(api, ref, &entry);
  if (!cid.ok()) return Fail(ctx, cid.status(), ModelHint(ref, cid.status()));
  Result<json> input_json = InvalidArgument("no inputs");
  if (!opts.prompt.empty()) {
    // GGUF (LLM) version: the canonical request is the input (docs/formats/llm.md).
    json body = {{"messages", json::array({{{"role", "user"}, {"content", opts.prompt}}})},
                 {"max_tokens", opts.max_tokens},
                 {"temperature", opts.temperature},
                 {"seed", opts.seed}};
    llm::LlmRequest llm_request;
    llm::ApiError err;
    if (!llm::ParseOpenAiRequest(body.dump(), true, cid->ToString(), &llm_request, &err))
      return Fail(ctx, err.status.WithContext(err.param));
    input_json = TensorMapToJson(llm_request.ToInputs());
  } else {
    input_json = ReadJsonFile(opts.input_file);
  }
  if (!input_json.ok()) return Fail(ctx, input_json.status());
  auto inputs = TensorMapFromJson(*input_json);
  if (!inputs.ok()) return Fail(ctx, inputs.status(), "inputs are {\"NAME\": {\"dtype\", \"shape\", \"data\"}}");
  auto status = api.Get("/status");
  if (!status.ok()) return Fail(ctx, status.status());
  if (!status->contains("node")) return Fail(ctx, Unavailable(ctx.node_url + " runs no inference node"));
  auto node_addr = crypto::Address::FromHex((*status)["node"]["address"].get<std::string>());
  if (!node_addr.ok()) return Fail(ctx, node_addr.status());
  auto acct = api.Get("/chain/accounts/" + key->address().ToHex());
  if (!acct.ok()) return Fail(ctx, acct.status());

  protocol::SignedRequest sr;
  protocol::InferenceRequest& req = sr.request;
  req.chain_id = (*status)["chain_id"].get<std::string>();
  req.requester = key->address();
  req.model = *cid;
  req.mode = *mode;
  req.input_hash = HashTensorMap(*inputs);
  const json& node_info = (*status)["node"];
  uint64_t node_fee = node_info.contains("fees") && node_info["fees"].contains(opts.mode)
                          ? node_info["fees"][opts.mode].get<uint64_t>()
                          : node_info["fee_per_inference"].get<uint64_t>();
  req.max_fee = opts.max_fee.value_or(node_fee +
                                      entry["price"].get<uint64_t>());
  req.nonce = (*acct)["request_nonce"].get<uint64_t>();
  req.node = *node_addr;
  sr.signature = key->Sign(protocol::SigningDigest(req.Hash()));

  // With --wait (zkml: the node proves in the background, seconds to minutes), the phases as
  // they are seen from here, on stderr.
  std::optional<PhaseProgress> progress;
  if (opts.wait) progress.emplace(ctx, "infer");
  auto fail = [&](const Status& st, std::string hint = "") {
    if (progress) progress->Finish(false);
    return Fail(ctx, st, std::move(hint));
  };
  if (progress) progress->Phase("infer");
  auto resp = api.Post("/infer", {{"request", ToHex(sr.Encode())}, {"inputs", *input_json}});
  if (!resp.ok()) return fail(resp.status());

  // Check the answer at once, before trusting it: outputs hash to the signed receipt.
  auto receipt = FromHex((*resp)["raw"]["receipt"].get<std::string>());
  auto evidence = FromHex((*resp)["raw"]["evidence"].get<std::string>());
  auto outputs = TensorMapFromJson((*resp)["outputs"]);
  if (!receipt.ok() || !evidence.ok() || !outputs.ok()) return fail(Internal("node answered malformed data"));
  auto r = protocol::Receipt::Decode(*receipt);
  auto e = protocol::Evidence::Decode(*evidence);
  if (!r.ok() || !e.ok()) return fail(Internal("node answered an undecodable receipt or evidence"));
  verify::ChainView view{req.chain_id, true, std::nullopt};
  uint64_t enclave_height = 0;  // tee: the registration the answer was checked against
  const bool proving = resp->contains("status") && (*resp)["status"] == "proving";
  if (*mode == protocol::Mode::kZkml) {
    auto manifest = FetchManifest(api, *cid);
    if (!manifest.ok()) return fail(manifest.status());
    if (!manifest->first.zkml) return fail(FailedPrecondition(ref + " has no zkml commitment"));
    view.zkml_commitment = manifest->first.zkml->model_commitment;
  }
  if (*mode == protocol::Mode::kTee) {
    auto enclave = FetchEnclaveView(api, r->node, &enclave_height);
    if (!enclave.ok()) return fail(enclave.status().WithContext("the node's enclave registration"));
    view.enclave = *enclave;
    view.time_ms = WallClockMs();
  }
  verify::Verdict verdict = verify::VerifyResult(protocol::SubmitResultTx{sr, *r, *e}, view);
  if (proving) {
    // The proof is not there yet: every check but the evidence now, the evidence once on chain.
    std::erase_if(verdict.checks, [](const verify::Check& c) { return c.name == "evidence"; });
    if (!ctx.json_output && !(progress && progress->on()))
      std::cerr << "receipt " << (*resp)["receipt_id"].get<std::string>() << ": proving ...\n";
  }
  verdict.Add("outputs_hash", verify::VerifyOutputs(*r, *outputs));
  if (!verdict.ok()) {
    if (progress) progress->Finish(false);
    for (const auto& c : verdict.checks)
      if (!c.ok) std::cerr << "check " << c.name << " FAILED: " << c.detail << "\n";
    return fail(DataLoss("the node's answer does not verify"));
  }
  std::string id = (*resp)["receipt_id"].get<std::string>();

  json bundle = {{"format", "lucid-result-bundle/1"},
                 {"receipt_id", id},
                 {"model", ref},
                 {"request", ToHex(sr.Encode())},
                 {"receipt", (*resp)["raw"]["receipt"]},
                 {"evidence", (*resp)["raw"]["evidence"]},
                 {"inputs", *input_json},
                 {"outputs", (*resp)["outputs"]}};
  if (*mode == protocol::Mode::kTee) bundle["enclave_registration"] = {{"registered_height", enclave_height}};
  if (proving && !opts.wait) bundle.erase("evidence");  // not proved yet: `lucid verify` needs it from the chain
  if (opts.wait) {
    // The node submits the result; wait until a block includes it, then keep the proof.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(proving ? 600 : 30);
    Result<json> rec = NotFound("");
    progress->Phase(proving ? "prove" : "settle");
    while (std::chrono::steady_clock::now() < deadline) {
      rec = api.Get("/chain/receipts/" + id);
      if (rec.ok() || rec.status().code() != Code::kNotFound) break;
      if (proving) {
        // A proof that failed will never settle: say why instead of waiting out the deadline.
        auto job = api.Get("/node/proofs/" + id);
        // Proved and submitted: waiting for a block.
        if (job.ok() && (*job)["status"] == "submitted") progress->Phase("settle");
        if (job.ok() && (*job)["status"] == "failed")
          return fail(Unavailable("the node could not settle the zkml proof: " +
                                       (*job)["detail"].get<std::string>()));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    if (!rec.ok()) return fail(rec.status().WithContext("waiting for the receipt on chain"));
    if (proving) {
      // Check the proof the chain accepted, as the validators did.
      progress->Phase("check proof");
      auto ev_bytes = FromHex((*rec)["raw"]["evidence"].get<std::string>());
      auto ev = ev_bytes.ok() ? protocol::Evidence::Decode(*ev_bytes) : Result<protocol::Evidence>(ev_bytes.status());
      Status proof_ok = ev.ok() ? verify::VerifyEvidence(*r, *ev, view.zkml_commitment) : ev.status();
      if (!proof_ok.ok()) return fail(proof_ok.WithContext("the zkml proof on chain"));
      bundle["evidence"] = (*rec)["raw"]["evidence"];
    }
    bundle["height"] = (*rec)["height"];
    bundle["proof"] = (*rec)["proof"];
    bundle["header"] = (*rec)["raw"]["header"];
    progress->Finish(true);
  }
  std::error_code ec;
  fs::create_directories(ResultsDir(ctx), ec);
  std::string bundle_path = (fs::path(ResultsDir(ctx)) / (id + ".json")).string();
  if (Status s = WriteFile(bundle_path, AsBytes(bundle.dump(2))); !s.ok()) return Fail(ctx, s);

  if (ctx.json_output) {
    json out = {{"outputs", (*resp)["outputs"]}, {"receipt_id", id}, {"receipt", (*resp)["receipt"]},
                {"bundle", bundle_path}};
    if (bundle.contains("height")) out["height"] = bundle["height"];
    PrintJson(out);
  } else {
    auto llm_out = llm::LlmOutput::FromOutputs(*outputs);
    if (llm_out.ok()) {
      std::cout << llm_out->text << "\n";
      for (const auto& c : llm_out->tool_calls) std::cout << "tool call " << c.name << " " << c.arguments << "\n";
      std::cout << "(" << llm_out->tokens.size() << " tokens, finish " << llm::FinishName(llm_out->finish) << ")\n";
    } else {
      std::cout << "outputs:\n";
      PrintTensorMap((*resp)["outputs"]);
    }
    std::cout << "receipt " << id << "\n";
    if (bundle.contains("height")) std::cout << "settled in block " << bundle["height"] << "; ";
    std::cout << "bundle saved to " << bundle_path << "\n"
              << "verify with: lucid verify " << id << "\n";
  }
  return kExitOk;
}

// ---------- verify ----------

namespace {

// The validator set and chain id we trust: the devnet's genesis in --home when present,
// else the node's (trust on first use, written down in the output).
Result<std::pair<chain::Genesis, std::string>> TrustedGenesis(const Context& ctx) {
  std::string path = (fs::path(ctx.home) / "genesis.json").string();
  if (fs::exists(path)) {
    ASSIGN_OR_RETURN(json j, ReadJsonFile(path));
    ASSIGN_OR_RETURN(chain::Genesis g, api::GenesisFromJson(j));
    return std::make_pair(g, path);
  }
  ASSIGN_OR_RETURN(json j, ctx.api().Get("/chain/genesis"));
  ASSIGN_OR_RETURN(chain::Genesis g, api::GenesisFromJson(j));
  return std::make_pair(g, std::string("the node at ") + ctx.node_url + " (no genesis.json in --home)");
}

// tee: re-checks offline the registration of the enclave key that signed a receipt: the block at
// `height` (the bundle's, else the node's current registration) is signed by a trusted validator
// and its txs hash to the header's txs_root; a RegisterEnclave tx from the node in it carries the
// signing key; its attestation document verifies at that block's time (the pinned AWS root; on a
// dev-mode genesis, its dev root) and binds the key. Returns the view to check the evidence with:
// expiry = that block's time + the current heartbeat, PCR0 from the document, allowed per the
// current tee params.
// authenticate_header: how the registration block's header is trusted. Empty: signed by a
// genesis validator (solo producer); on CometBFT: committed by > 2/3 of the genesis power.
Result<verify::EnclaveView> VerifyEnclaveRegistration(
    const ApiClient& api, const chain::Genesis& g, const crypto::Address& node, std::optional<uint64_t> height,
    const crypto::Address& signer,
    const std::function<Status(const protocol::BlockHeader&)>& authenticate_header = {}) {
  if (!height) {
    ASSIGN_OR_RETURN(json e, api.Get("/chain/enclaves/" + node.ToHex()));
    if (!e.contains("registered_height")) return DataLoss("the API's enclave registration lacks fields");
    height = e["registered_height"].get<uint64_t>();
  }
  const std::string at = "block " + std::to_string(*height);
  ASSIGN_OR_RETURN(json block, api.Get("/chain/blocks/" + std::to_string(*height)));
  if (!block.contains("header_raw") || !block.contains("txs")) return DataLoss(at + " lacks fields");
  ASSIGN_OR_RETURN(Bytes header_bytes, FromHex(block["header_raw"].get<std::string>()));
  ASSIGN_OR_RETURN(protocol::SignedHeader header, protocol::SignedHeader::Decode(header_bytes));
  const protocol::BlockHeader& h = header.header;
  if (h.chain_id != g.chain_id || h.height != *height) return PermissionDenied(at + " header is not this chain's");
  if (authenticate_header) {
    RETURN_IF_ERROR(authenticate_header(h).WithContext(at + " header"));
  } else {
    auto header_signer = crypto::RecoverAddress(protocol::SigningDigest(h.Hash()), header.signature);
    bool known = false;
    for (const auto& v : g.validators) known |= header_signer.ok() && v == *header_signer && v == h.proposer;
    if (!known) return PermissionDenied(at + " is not signed by a genesis validator");
  }
  std::vector<Hash32> leaves;
  std::optional<protocol::RegisterEnclaveTx> reg;
  for (const auto& t : block["txs"]) {
    ASSIGN_OR_RETURN(Bytes raw, FromHex(t.value("raw", "")));
    leaves.push_back(crypto::MerkleLeafHash(crypto::Sha256(raw)));
    auto tx = protocol::SignedTx::Decode(raw);
    if (!tx.ok() || tx->tx.from != node) continue;
    const auto* r = std::get_if<protocol::RegisterEnclaveTx>(&tx->tx.body);
    if (!r || r->enclave_public_key.size() != 65) continue;
    std::array<uint8_t, 64> xy{};
    std::copy(r->enclave_public_key.begin() + 1, r->enclave_public_key.end(), xy.begin());
    if (crypto::AddressFromPublicKey(xy) == signer) reg = *r;
  }
  if (leaves.size() != h.tx_count || crypto::MerkleRoot(leaves) != h.txs_root)
    return DataLoss(at + " txs do not hash to its signed txs_root");
  if (!reg) return NotFound("no RegisterEnclave tx from the node for the signing key " + signer.ToHex() + " in " + at);
  tee::VerifyOptions o;
  o.time_ms = static_cast<int64_t>(h.time_ms);
  o.max_age_ms = g.params.tee.max_document_age_ms;
  o.expected_key_hash = crypto::Sha256(reg->enclave_public_key);
  o.expected_nonce = protocol::EnclaveNonce(node);
  auto v = tee::VerifyNitroDocument(reg->attestation_document, o);
  if (!v.ok() && g.params.dev_mode && !g.params.tee.dev_root_der.empty()) {
    o.trusted_root_der = g.params.tee.dev_root_der;
    v = tee::VerifyNitroDocument(reg->attestation_document, o);
  }
  if (!v.ok()) return v.status().WithContext("registration attestation in " + at);
  ASSIGN_OR_RETURN(json params, api.Get("/chain/tee/params"));
  verify::EnclaveView view;
  view.enclave_address = signer;
  view.pcr0 = v->document.pcrs.count(0) ? v->document.pcrs.at(0) : Bytes{};
  view.expires_at_ms = h.time_ms + params.value("heartbeat_ms", uint64_t{0});
  for (const auto& p : params.value("allowed_pcr0", json::array()))
    view.pcr0_allowed |= p.is_string() && p.get<std::string>() == ToHex(view.pcr0);
  return view;
}

}  // namespace

int Verify(const Context& ctx, const std::string& receipt_id_text, const VerifyOptions& opts) {
  ApiClient api = ctx.api();
  auto receipt_id = Hash32FromHex(receipt_id_text);
  if (!receipt_id.ok()) return Fail(ctx, receipt_id.status(), "RECEIPT_ID is 64 hex characters");
  std::string id = ToHex(*receipt_id);

  // The bundle: a given file, the one `lucid infer` saved, or what the chain holds.
  json bundle;
  std::string source;
  std::string saved = (fs::path(ResultsDir(ctx)) / (id + ".json")).string();
  if (!opts.bundle_file.empty() || fs::exists(saved)) {
    source = opts.bundle_file.empty() ? saved : opts.bundle_file;
    auto j = ReadJsonFile(source);
    if (!j.ok()) return Fail(ctx, j.status());
    bundle = *j;
  }
  auto on_chain = api.Get("/chain/receipts/" + id);
  if (bundle.is_null()) {
    if (!on_chain.ok())
      return Fail(ctx, on_chain.status(),
                  on_chain.status().code() != Code::kNotFound
                      ? NextStep(ctx, on_chain.status())
                      : "no saved bundle in " + ResultsDir(ctx) + " and the chain at " + ctx.node_url +
                            " has no such receipt: check the id `lucid infer` printed, pass the bundle with "
                            "--bundle FILE, or --node URL of the receipt's network");
    source = "chain at " + ctx.node_url;
    bundle = {{"receipt_id", id},
              {"request", (*on_chain)["raw"]["request"]},
              {"receipt", (*on_chain)["raw"]["receipt"]},
              {"evidence", (*on_chain)["raw"]["evidence"]},
              {"proof", (*on_chain)["proof"]},
              {"header", (*on_chain)["raw"]["header"]}};
  }
  if (!bundle.is_object()) return Fail(ctx, InvalidArgument(source + " is not a result bundle"));
  if ((!bundle.contains("proof") || !bundle.contains("header")) && on_chain.ok()) {
    bundle["proof"] = (*on_chain)["proof"];
    bundle["header"] = (*on_chain)["raw"]["header"];
  }
  // A zkml bundle saved before its proof settled (`infer --no-wait`) takes the settled proof.
  if (!bundle.contains("evidence") && on_chain.ok()) bundle["evidence"] = (*on_chain)["raw"]["evidence"];

  // An LLM answer's bundle (the "lucid" field of an OpenAI-route answer, or `lucid chat`'s)
  // carries the canonical request and output bytes: they are the input and output tensors.
  // The request bytes are taken as they are (the input tensor is exactly those bytes), so
  // bytes that are not the signed request fail inputs_hash instead of being skipped.
  std::optional<Status> llm_request_error;
  if (bundle.is_object() && !bundle.contains("inputs") && bundle.contains("llm_request")) {
    auto b = bundle["llm_request"].is_string() ? FromHex(bundle["llm_request"].get<std::string>())
                                               : Result<Bytes>(InvalidArgument("llm_request is not a string"));
    if (b.ok()) {
      TensorMap ins;
      const int64_t n = static_cast<int64_t>(b->size());
      ins.emplace(std::string(llm::kRequestTensor), *Tensor::FromBytes(DType::kUint8, {n}, std::move(*b)));
      bundle["inputs"] = TensorMapToJson(ins);
    } else {
      llm_request_error = b.status().WithContext("the bundle's llm_request");
    }
  }
  if (bundle.is_object() && !bundle.contains("outputs") && bundle.contains("llm_output") &&
      bundle["llm_output"].is_string() && bundle.contains("tokens") && bundle["tokens"].is_array()) {
    auto b = FromHex(bundle["llm_output"].get<std::string>());
    if (b.ok()) {
      TensorMap outs;
      outs.emplace(std::string(llm::kOutputTensor), *Tensor::FromBytes(DType::kUint8, {static_cast<int64_t>(b->size())}, *b));
      Bytes tb;
      for (const auto& t : bundle["tokens"]) {
        uint32_t u = static_cast<uint32_t>(t.get<int64_t>());
        for (int k = 0; k < 4; ++k) tb.push_back(static_cast<uint8_t>(u >> (8 * k)));
      }
      const int64_t n = static_cast<int64_t>(tb.size() / 4);
      outs.emplace(std::string(llm::kTokensTensor), *Tensor::FromBytes(DType::kInt32, {n}, std::move(tb)));
      bundle["outputs"] = TensorMapToJson(outs);
    }
  }

  auto hex_field = [&](const char* name) -> Result<Bytes> {
    if (!bundle.contains(name) || !bundle[name].is_string()) return InvalidArgument(std::string("bundle lacks ") + name);
    return FromHex(bundle[name].get<std::string>());
  };
  // Decodes a hex field; errors name the field.
  auto decode = [&](const char* name, auto decode_bytes) {
    auto bytes = hex_field(name);
    auto v = bytes.ok() ? decode_bytes(*bytes) : decltype(decode_bytes(*bytes))(bytes.status());
    if (!v.ok()) return decltype(v)(v.status().WithContext(name));
    return v;
  };
  verify::Bundle b;
  b.receipt_id = *receipt_id;
  b.request = decode("request", [](const Bytes& x) { return protocol::SignedRequest::Decode(x); });
  b.receipt = decode("receipt", [](const Bytes& x) { return protocol::Receipt::Decode(x); });
  b.evidence = decode("evidence", [](const Bytes& x) { return protocol::Evidence::Decode(x); });
  if (llm_request_error) b.inputs = Result<TensorMap>(*llm_request_error);
  else if (bundle.contains("inputs")) b.inputs = TensorMapFromJson(bundle["inputs"]);
  if (bundle.contains("outputs")) b.outputs = TensorMapFromJson(bundle["outputs"]);
  // Inclusion: proof to the receipts root of a header signed by a genesis validator.
  if (bundle.contains("proof") && bundle.contains("header")) {
    b.proof = api::ProofFromJson(bundle["proof"]);
    auto header_bytes = hex_field("header");
    b.header = header_bytes.ok() ? protocol::SignedHeader::Decode(*header_bytes)
                                 : Result<protocol::SignedHeader>(header_bytes.status());
  } else {
    b.proof = on_chain.ok() ? Status(NotFound("bundle lacks an inclusion proof")) : on_chain.status();
    b.header = b.proof.status();
  }

  auto genesis = TrustedGenesis(ctx);
  if (!genesis.ok()) return Fail(ctx, genesis.status());
  const chain::Genesis& g = genesis->first;

  verify::BundleCheckOptions o;
  o.chain_id = g.chain_id;
  o.validators = g.validators;
  o.wording.header_signer = "block {block} signed by a genesis validator (" + genesis->second + ")";
  o.chain_facts = [&](const protocol::SubmitResultTx& result) {
    const protocol::Receipt& rec = result.receipt;
    verify::ChainFacts facts;
    // Node registration is chain state: ask the chain, and say so.
    bool registered = false;
    auto nodes = api.Get("/chain/nodes");
    if (nodes.ok()) {
      for (const auto& n : (*nodes)["nodes"]) {
        if (n["address"].get<std::string>() != rec.node.ToHex()) continue;
        for (const auto& m : n["modes"]) registered |= m.get<std::string>() == protocol::ModeName(rec.mode);
      }
    }
    facts.view = verify::ChainView{g.chain_id, registered, std::nullopt};
    // An async request (posted on chain, or made by a workflow run) is authenticated by the
    // chain's record of it, not by a signature (workflow runs have none).
    auto async = api.Get("/chain/requests/" + ToHex(result.request.request.Hash()));
    facts.view.request_on_chain = async.ok() && (*async)["raw"]["request"].get<std::string>() ==
                                                   ToHex(result.request.Encode());
    if (rec.mode == protocol::Mode::kReplay) {
      facts.settlement = on_chain.ok() ? verify::ReplaySettlement((*on_chain).value("settlement", "final"),
                                                                  (*on_chain).value("final_height", uint64_t{0}))
                                       : on_chain.status();
      facts.settlement_detail = "final: the challenge window closed at block " +
                                std::to_string(on_chain.ok() ? (*on_chain).value("final_height", uint64_t{0}) : 0) +
                                " without a successful challenge";
    }
    if (rec.mode == protocol::Mode::kZkml) {
      // The commitment a zkml proof must match is in the version's manifest, bound by its CID.
      auto manifest = FetchManifest(api, rec.model);
      if (manifest.ok() && manifest->first.zkml) facts.view.zkml_commitment = manifest->first.zkml->model_commitment;
    }
    if (rec.mode == protocol::Mode::kTee) {
      // The enclave key must be registered, unexpired and allowed at the receipt's block time
      // (the signed header's time when the bundle holds it, else now).
      facts.view.time_ms = WallClockMs();
      if (bundle.contains("header") && bundle["header"].is_string()) {
        auto hb = FromHex(bundle["header"].get<std::string>());
        auto h = hb.ok() ? protocol::SignedHeader::Decode(*hb) : Result<protocol::SignedHeader>(hb.status());
        if (h.ok()) facts.view.time_ms = h->header.time_ms;
      }
      // The registration of the key that signed: the one the bundle names (checked at infer
      // time), else the node's current one; re-verified from its block (a restarted enclave's
      // earlier receipts keep verifying).
      std::optional<uint64_t> height;
      if (bundle.contains("enclave_registration") && bundle["enclave_registration"].is_object() &&
          bundle["enclave_registration"].contains("registered_height") &&
          bundle["enclave_registration"]["registered_height"].is_number_unsigned())
        height = bundle["enclave_registration"]["registered_height"].get<uint64_t>();
      Status registration = InvalidArgument("tee evidence is not a 65-byte signature");
      if (result.evidence.data.size() == 65) {
        crypto::Signature sig{};
        std::copy(result.evidence.data.begin(), result.evidence.data.end(), sig.begin());
        auto signer = crypto::RecoverAddress(protocol::SigningDigest(rec.Id()), sig);
        if (!signer.ok()) {
          registration = signer.status();
        } else {
          std::function<Status(const protocol::BlockHeader&)> authenticate;
          if (!opts.comet_rpc.empty())
            authenticate = [&](const protocol::BlockHeader& h) {
              return CheckHeaderUnderCometBft(opts.comet_rpc, opts.comet_genesis, g.chain_id, h);
            };
          auto enclave = VerifyEnclaveRegistration(api, g, rec.node, height, *signer, authenticate);
          registration = enclave.status();
          if (enclave.ok()) facts.view.enclave = *enclave;
        }
      }
      facts.enclave_registration = registration;
      facts.enclave_registration_detail =
          "the signing key's RegisterEnclave tx is in a validator-signed (or, on CometBFT, committed) block "
          "and its attestation document verifies at that block's time and binds the key";
    }
    return facts;
  };
  if (!opts.comet_rpc.empty()) {
    // CometBFT network: the header carries no Lucid signature; its commit by > 2/3 of the
    // genesis validators' power is checked instead (docs/lightclient.md).
    o.check_inclusion = [&](const Hash32& id_hash, const crypto::InclusionProof& proof,
                            const protocol::BlockHeader& header, verify::Report& report) {
      for (const auto& c : CheckUnderCometBft(opts.comet_rpc, opts.comet_genesis, g.chain_id, id_hash, proof, header))
        report.Add(c.name, c.status, c.ok_detail);
    };
  }
  // The chain must hold the very same block header and receipt.
  o.compare_with_chain = [&](const protocol::SubmitResultTx& result, const protocol::SignedHeader* header,
                             verify::Report& report) {
    if (!header) return;
    if (!on_chain.ok()) return report.Add("chain_agrees", on_chain.status(), "");
    bool same = (*on_chain)["raw"]["header"].get<std::string>() == ToHex(header->Encode()) &&
                (*on_chain)["raw"]["receipt"].get<std::string>() == ToHex(result.receipt.Encode());
    report.Add("chain_agrees", same ? Status::Ok() : DataLoss("the chain holds a different receipt or header"),
               "the chain at " + ctx.node_url + " holds the same receipt and header");
  };
  verify::Report report = verify::CheckBundle(b, o);

  if (b.request.ok() && b.receipt.ok() && b.evidence.ok()) {
    const protocol::Receipt* rec = &*b.receipt;
    if (opts.replay) {
      Status replay = [&]() -> Status {
        if (!bundle.contains("inputs")) return FailedPrecondition("replay needs the inputs (not in the bundle)");
        ASSIGN_OR_RETURN(TensorMap inputs, TensorMapFromJson(bundle["inputs"]));
        std::optional<TensorMap> claimed;
        if (bundle.contains("outputs")) {
          auto c = TensorMapFromJson(bundle["outputs"]);
          if (c.ok()) claimed = std::move(*c);
        }
        ASSIGN_OR_RETURN(TensorMap outputs, ReexecuteLocally(api, *rec, inputs, claimed ? &*claimed : nullptr));
        if (HashTensorMap(outputs) != rec->output_hash)
          return DataLoss("re-executed outputs hash to " + ToHex(HashTensorMap(outputs)) + ", receipt says " +
                          ToHex(rec->output_hash));
        return Status::Ok();
      }();
      report.Add("replay", replay, "re-executed locally: identical output bytes");
    }
  }

  // The chain or the validators are not the trusted genesis's: most often a receipt of another
  // network (or a --home of another devnet), so say which trust anchor was used and how to pick one.
  std::string hint;
  for (const auto& c : report.checks)
    if (!c.ok && (c.name == "chain_id" || c.name == "header_signer"))
      hint = "if the receipt is from another network than the trusted genesis (" + genesis->second +
             "), verify with that network's --home (its genesis.json) and --node URL of one of its nodes";
  if (ctx.json_output) {
    json checks = json::array();
    for (const auto& c : report.checks)
      checks.push_back({{"name", c.name}, {"ok", c.ok}, {"skipped", c.skipped}, {"detail", c.detail}});
    json out = {{"receipt_id", id}, {"valid", report.ok()}, {"source", source}, {"checks", checks}};
    if (!hint.empty()) out["hint"] = hint;
    PrintJson(out);
  } else {
    std::cout << "receipt " << id << " (from " << source << ")\n";
    for (const auto& c : report.checks)
      std::cout << "  " << (c.skipped ? "SKIP" : c.ok ? "ok  " : "FAIL") << "  " << c.name << ": " << c.detail << "\n";
    std::cout << (report.ok() ? "VALID" : "INVALID") << "\n";
    if (!hint.empty()) std::cerr << "hint: " << hint << "\n";
  }
  return report.ok() ? kExitOk : kExitFailed;
}

// ---------- queries ----------

int QueryAccount(const Context& ctx, const std::string& who) {
  auto addr = ctx.ResolveAddress(who);
  if (!addr.ok()) return Fail(ctx, addr.status());
  auto r = ctx.api().Get("/chain/accounts/" + addr->ToHex());
  if (!r.ok()) return Fail(ctx, r.status());
  if (ctx.json_output) return PrintJson(*r), kExitOk;
  std::cout << addr->ToChecksumHex() << "\n  balance " << (*r)["balance"] << "\n  nonce " << (*r)["nonce"]
            << "\n  request_nonce " << (*r)["request_nonce"] << "\n";
  return kExitOk;
}

int QueryBlock(const Context& ctx, const std::string& height) {
  auto r = ctx.api().Get("/chain/blocks/" + height);
  if (!r.ok()) return Fail(ctx, r.status());
  if (ctx.json_output) return PrintJson(*r), kExitOk;
  const json& h = (*r)["header"];
  std::cout << "block " << h["height"] << " " << h["hash"].get<std::string>() << "\n  time_ms " << h["time_ms"]
            << "\n  app_hash " << h["app_hash"].get<std::string>() << "\n  receipts_root "
            << h["receipts_root"].get<std::string>() << "\n  proposer " << h["proposer"].get<std::string>() << "\n  txs "
            << (*r)["txs"].size() << "\n";
  for (const auto& t : (*r)["txs"])
    std::cout << "    " << t.value("type", "?") << " " << t.value("hash", "") << " "
              << t["result"].value("code_name", "") << "\n";
  return kExitOk;
}

int QueryReceipt(const Context& ctx, const std::string& id) {
  auto r = ctx.api().Get("/chain/receipts/" + id);
  if (!r.ok() && r.status().code() == Code::kNotFound) {
    // Not on chain yet: a zkml result is "proving" at its node until the proof settles.
    auto job = ctx.api().Get("/node/proofs/" + id);
    if (job.ok()) {
      bool failed = (*job)["status"] == "failed";
      if (ctx.json_output) {
        PrintJson(*job);
      } else {
        std::cout << "receipt " << id << ": " << (*job)["status"].get<std::string>() << " (not on chain yet)";
        if (!(*job)["detail"].get<std::string>().empty()) std::cout << ": " << (*job)["detail"].get<std::string>();
        std::cout << "\n";
      }
      return failed ? kExitFailed : kExitOk;
    }
  }
  if (!r.ok() && r.status().code() == Code::kNotFound)
    return Fail(ctx, r.status(),
                "check the id `lucid infer` printed (its bundle is in " + ResultsDir(ctx) +
                    "), or pass --node URL of the receipt's network");
  if (!r.ok()) return Fail(ctx, r.status());
  (*r)["status"] = "settled";
  if (ctx.json_output) return PrintJson(*r), kExitOk;
  std::cout << "receipt " << (*r)["receipt_id"].get<std::string>() << " settled in block " << (*r)["height"] << "\n";
  for (auto it = (*r)["receipt"].begin(); it != (*r)["receipt"].end(); ++it)
    std::cout << "  " << it.key() << " " << it.value().dump() << "\n";
  std::cout << "  node_paid " << (*r)["node_paid"] << " publisher_paid " << (*r)["publisher_paid"] << "\n";
  return kExitOk;
}

// ---------- local run ----------

static Result<std::vector<TensorMap>> ReadCalibration(const std::string& file);

int RunLocal(const Context& ctx, const std::string& model_file, const std::string& input_file,
             const RunLocalOptions& run) {
  auto bytes = ReadFile(model_file);
  if (!bytes.ok()) return Fail(ctx, bytes.status());
  auto model = onnx::Model::Load(*bytes);
  if (!model.ok()) return Fail(ctx, model.status());
  auto input_json = ReadJsonFile(input_file);
  if (!input_json.ok()) return Fail(ctx, input_json.status());
  auto inputs = TensorMapFromJson(*input_json);
  if (!inputs.ok()) return Fail(ctx, inputs.status());
  if (!run.quantized && !run.calibration_file.empty())
    return Fail(ctx, InvalidArgument("--calibration only applies with --quantized"));
  onnx::RunOptions options;
  options.threads = run.threads;
  json out = {{"model_cid", crypto::Cid::Of(*bytes).ToString()}, {"engine", onnx::kEngineId}};
  std::optional<TensorMap> float_outputs;
  std::unique_ptr<onnx::Model> quantized_model;
  if (run.quantized) {
    // The float outputs first (for the difference), then the int8 model from the calibration.
    auto f = (*model)->Run(*inputs, options);
    if (!f.ok()) return Fail(ctx, f.status());
    float_outputs = std::move(f).value();
    Result<std::vector<TensorMap>> calibration = run.calibration_file.empty()
                                                     ? Result<std::vector<TensorMap>>(std::vector<TensorMap>{*inputs})
                                                     : ReadCalibration(run.calibration_file);
    if (!calibration.ok()) return Fail(ctx, calibration.status());
    auto q = onnx::QuantizeStatic(*bytes, *calibration);
    if (!q.ok()) return Fail(ctx, q.status());
    auto loaded = onnx::Model::Load(q->model);
    if (!loaded.ok()) return Fail(ctx, loaded.status());
    quantized_model = std::move(loaded).value();
    out["quantized"] = {{"model_cid", crypto::Cid::Of(q->model).ToString()},
                        {"quantization", onnx::kQuantizationId},
                        {"quantized_nodes", q->quantized.size()},
                        {"calibration_sets", calibration->size()}};
  }
  const onnx::Model& runner = quantized_model ? *quantized_model : **model;
  auto outputs = runner.Run(*inputs, options);
  if (!outputs.ok()) return Fail(ctx, outputs.status());
  out["outputs"] = TensorMapToJson(*outputs);
  out["output_hash"] = ToHex(HashTensorMap(*outputs));
  if (float_outputs) {
    // Largest |int8 model − float model| per float output of the same shape.
    json diff = json::object();
    for (const auto& [name, t] : *outputs) {
      auto it = float_outputs->find(name);
      if (it == float_outputs->end() || t.dtype() != DType::kFloat32 || it->second.dtype() != DType::kFloat32 ||
          t.shape() != it->second.shape())
        continue;
      double worst = 0;
      const float* x = t.data<float>();
      const float* y = it->second.data<float>();
      for (uint64_t i = 0; i < t.num_elements(); ++i) worst = std::max(worst, std::fabs(double(x[i]) - double(y[i])));
      diff[name] = worst;
    }
    out["quantized"]["max_abs_diff_from_float"] = diff;
  }
  if (ctx.json_output) return PrintJson(out), kExitOk;
  std::cout << "outputs:\n";
  PrintTensorMap(out["outputs"]);
  std::cout << "output_hash " << out["output_hash"].get<std::string>() << "\n";
  if (float_outputs) {
    std::cout << "quantized: " << out["quantized"]["quantized_nodes"].get<size_t>() << " nodes int8 (calibration: "
              << out["quantized"]["calibration_sets"].get<size_t>() << " input sets), model cid "
              << out["quantized"]["model_cid"].get<std::string>() << "\n";
    for (const auto& [name, v] : out["quantized"]["max_abs_diff_from_float"].items())
      std::cout << "  max |int8 - float| " << name << ": " << v.get<double>() << "\n";
  }
  return kExitOk;
}

// Calibration file: a JSON list whose items are input maps, or test vectors
// ({"inputs": {...}, ...}) such as models/*/NAME.vectors.json.
static Result<std::vector<TensorMap>> ReadCalibration(const std::string& file) {
  ASSIGN_OR_RETURN(json j, ReadJsonFile(file));
  if (!j.is_array() || j.empty()) return InvalidArgument(file + ": calibration must be a non-empty JSON list");
  std::vector<TensorMap> sets;
  for (size_t i = 0; i < j.size(); ++i) {
    const json& item = j[i].is_object() && j[i].contains("inputs") ? j[i]["inputs"] : j[i];
    auto m = TensorMapFromJson(item);
    if (!m.ok()) return m.status().WithContext(file + " item " + std::to_string(i));
    sets.push_back(std::move(m).value());
  }
  return sets;
}

int QuantizeLocal(const Context& ctx, const std::string& model_file, const std::string& calibration_file,
                  const std::string& out_file) {
  auto bytes = ReadFile(model_file);
  if (!bytes.ok()) return Fail(ctx, bytes.status());
  auto calibration = ReadCalibration(calibration_file);
  if (!calibration.ok()) return Fail(ctx, calibration.status());
  auto result = onnx::QuantizeStatic(*bytes, *calibration);
  if (!result.ok()) return Fail(ctx, result.status());
  std::ofstream f(out_file, std::ios::binary | std::ios::trunc);
  f.write(reinterpret_cast<const char*>(result->model.data()), static_cast<std::streamsize>(result->model.size()));
  if (!f.good()) return Fail(ctx, Unavailable("cannot write " + out_file));
  json out = {{"model", out_file}, {"model_cid", crypto::Cid::Of(result->model).ToString()},
              {"quantization", onnx::kQuantizationId}, {"quantized_nodes", result->quantized},
              {"calibration_sets", calibration->size()}};
  if (ctx.json_output) return PrintJson(out), kExitOk;
  std::cout << "wrote " << out_file << " (" << result->model.size() << " bytes, " << result->quantized.size()
            << " nodes quantized, cid " << out["model_cid"].get<std::string>() << ")\n";
  return kExitOk;
}

// ---------- hub quantize ----------

namespace {

// Accuracy change of a quantized model against its float source on a set of inputs.
struct QuantizationChange {
  double max_abs_diff = 0;       // over every float32 output element of every vector
  uint64_t argmax_agree = 0;     // rows (last axis) whose argmax is the same
  uint64_t argmax_total = 0;
  json per_output = json::object();  // output name -> {"max_abs_diff", "argmax_agreement"}
};

std::string DecimalText(double v) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

size_t ArgMax(const float* row, int64_t n) {
  size_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (row[i] > row[best]) best = static_cast<size_t>(i);  // first maximum wins, as ArgMax does
  return best;
}

// Adds one vector's outputs to the running figures; refuses mismatched schemas.
Status Compare(const TensorMap& float_out, const TensorMap& quant_out, QuantizationChange* change,
               std::map<std::string, std::tuple<double, uint64_t, uint64_t>>* per_output) {
  for (const auto& [name, f] : float_out) {
    auto it = quant_out.find(name);
    if (it == quant_out.end()) return FailedPrecondition("quantized model has no output \"" + name + "\"");
    const Tensor& q = it->second;
    if (f.dtype() != q.dtype() || f.shape() != q.shape())
      return FailedPrecondition("quantized output \"" + name + "\" has another dtype or shape than the float one");
    if (f.dtype() != DType::kFloat32) {
      if (!(f == q)) return FailedPrecondition("non-float output \"" + name + "\" differs after quantization");
      continue;
    }
    auto& [worst, agree, total] = (*per_output)[name];
    const float* a = f.data<float>();
    const float* b = q.data<float>();
    uint64_t n = f.num_elements();
    for (uint64_t i = 0; i < n; ++i) {
      if (std::isnan(a[i]) && std::isnan(b[i])) continue;
      double d = std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i]));
      if (!std::isfinite(d))
        return FailedPrecondition("output \"" + name + "\" element " + std::to_string(i) +
                                  " is not finite in one model and finite in the other");
      worst = std::max(worst, d);
    }
    int64_t last = f.rank() == 0 ? 1 : f.shape().back();
    if (last > 0) {
      for (uint64_t row = 0; row + static_cast<uint64_t>(last) <= n; row += static_cast<uint64_t>(last)) {
        agree += ArgMax(a + row, last) == ArgMax(b + row, last);
        ++total;
      }
    }
    change->max_abs_diff = std::max(change->max_abs_diff, worst);
  }
  return Status::Ok();
}

}  // namespace

int HubQuantize(const Context& ctx, const std::string& ref, const std::string& calibration_file,
                const std::string& version, uint64_t price) {
  auto ver = hub::ParseVersion(version);
  if (!ver.ok()) return Fail(ctx, ver.status());
  size_t at = ref.find('@');
  if (at == std::string::npos) return Fail(ctx, InvalidArgument("\"" + ref + "\" must be NAME@MAJOR.MINOR"));
  std::string name = ref.substr(0, at);
  ApiClient api = ctx.api();
  auto source_cid = ResolveRef(api, ref);
  if (!source_cid.ok()) return Fail(ctx, source_cid.status(), "see versions with `lucid hub versions " + name + "`");
  auto source = FetchManifest(api, *source_cid);
  if (!source.ok()) return Fail(ctx, source.status());
  const hub::Manifest& m = source->first;
  if (m.quantization != hub::kQuantizationNone)
    return Fail(ctx, FailedPrecondition(ref + " is already quantized (" + m.quantization + ")"));
  if (!m.test_vectors)
    return Fail(ctx, FailedPrecondition(ref + " has no test vectors to measure the quantization on"));
  const hub::ManifestFile* model_entry = m.FindFile(m.model_file);
  if (!model_entry) return Fail(ctx, DataLoss("manifest lists no model file " + m.model_file));
  auto float_bytes = FetchFile(api, *model_entry);
  if (!float_bytes.ok()) return Fail(ctx, float_bytes.status());
  auto raw_vectors = api.GetRaw("/hub/files/" + m.test_vectors->cid.ToString());
  if (!raw_vectors.ok()) return Fail(ctx, raw_vectors.status());
  if (Status s = m.test_vectors->cid.Check(*raw_vectors); !s.ok()) return Fail(ctx, s.WithContext("test vectors"));
  auto vectors = hub::ParseTestVectors(*raw_vectors);
  if (!vectors.ok()) return Fail(ctx, vectors.status());

  auto calibration = ReadCalibration(calibration_file);
  if (!calibration.ok()) return Fail(ctx, calibration.status());
  if (!ctx.json_output) std::cerr << "quantizing " << m.model_file << " on " << calibration->size() << " inputs ...\n";
  auto quantized = onnx::QuantizeStatic(*float_bytes, *calibration);
  if (!quantized.ok()) return Fail(ctx, quantized.status());

  auto float_model = onnx::Model::Load(*float_bytes);
  if (!float_model.ok()) return Fail(ctx, float_model.status().WithContext("float model"));
  auto quant_model = onnx::Model::Load(quantized->model);
  if (!quant_model.ok()) return Fail(ctx, quant_model.status().WithContext("quantized model"));

  // Measure on the source's vectors; the new vectors pin the quantized model's own outputs.
  QuantizationChange change;
  std::map<std::string, std::tuple<double, uint64_t, uint64_t>> per_output;
  json new_vectors = json::array();
  for (size_t i = 0; i < vectors->size(); ++i) {
    const TensorMap& inputs = (*vectors)[i].inputs;
    std::string where = "test vector " + std::to_string(i);
    auto f = (*float_model)->Run(inputs);
    if (!f.ok()) return Fail(ctx, f.status().WithContext(where + ": float model"));
    auto q = (*quant_model)->Run(inputs);
    if (!q.ok()) return Fail(ctx, q.status().WithContext(where + ": quantized model"));
    if (Status s = Compare(*f, *q, &change, &per_output); !s.ok()) return Fail(ctx, s.WithContext(where));
    new_vectors.push_back({{"inputs", TensorMapToJson(inputs)}, {"outputs", TensorMapToJson(*q)}});
  }
  for (const auto& [out, fig] : per_output) {
    const auto& [worst, agree, total] = fig;
    change.argmax_agree += agree;
    change.argmax_total += total;
    change.per_output[out] = {{"max_abs_diff", DecimalText(worst)},
                              {"argmax_agreement", std::to_string(agree) + "/" + std::to_string(total)}};
  }
  std::string max_abs_diff = DecimalText(change.max_abs_diff);
  std::string agreement = std::to_string(change.argmax_agree) + "/" + std::to_string(change.argmax_total);

  // Upload: the quantized model replaces the float one; other files are carried over by CID.
  std::string stem = fs::path(m.model_file).stem().string();
  std::string qpath = stem + ".int8.onnx";
  crypto::Cid qcid = crypto::Cid::Of(quantized->model);
  if (!ctx.json_output) std::cerr << "uploading " << qpath << " (" << quantized->model.size() << " bytes) ... ";
  auto up = api.PostRaw("/hub/files", quantized->model, "application/octet-stream");
  if (!up.ok()) return Fail(ctx, up.status());
  if ((*up)["cid"].get<std::string>() != qcid.ToString())
    return Fail(ctx, DataLoss("hub stored the quantized model under " + (*up)["cid"].get<std::string>() +
                              ", expected " + qcid.ToString()));
  if (!ctx.json_output) std::cerr << qcid.ToString() << "\n";
  json file_list = json::array({{{"path", qpath}, {"cid", qcid.ToString()}}});
  for (const auto& f : m.files) {
    if (f.path != m.model_file && f.path != qpath) file_list.push_back({{"path", f.path}, {"cid", f.cid.ToString()}});
  }
  Bytes vectors_bytes = ToBytes(new_vectors.dump());
  auto vup = api.PostRaw("/hub/files", vectors_bytes, "application/json");
  if (!vup.ok()) return Fail(ctx, vup.status());
  json body = {{"name", name},
               {"version", version},
               {"files", file_list},
               {"test_vectors_cid", (*vup)["cid"]},
               {"exact_match", true},
               {"quantization", std::string(onnx::kQuantizationId)},
               {"quantized_from",
                {{"manifest", source_cid->ToString()}, {"max_abs_diff", max_abs_diff}, {"argmax_agreement", agreement}}}};
  if (!ctx.json_output) std::cerr << "checking the quantized model and its test vectors on the hub ...\n";
  auto prepared = api.Post("/hub/versions", body);
  if (!prepared.ok()) return Fail(ctx, prepared.status());
  auto manifest_cid = crypto::Cid::Parse((*prepared)["manifest_cid"].get<std::string>());
  if (!manifest_cid.ok()) return Fail(ctx, manifest_cid.status());
  // Sign only for the manifest the hub serves, and only if it records what we measured.
  auto published = FetchManifest(api, *manifest_cid);
  if (!published.ok()) return Fail(ctx, published.status());
  const hub::Manifest& pm = published->first;
  if (pm.quantization != onnx::kQuantizationId || !pm.quantized_from || pm.quantized_from->manifest != *source_cid ||
      pm.quantized_from->max_abs_diff != max_abs_diff || pm.quantized_from->argmax_agreement != agreement ||
      !pm.test_vectors || pm.test_vectors->match != hub::MatchRule::kExact)
    return Fail(ctx, DataLoss("the hub's manifest " + manifest_cid->ToString() + " does not record the quantization"));
  auto zkml_commitment = CheckedZkmlCommitment(pm, quantized->model);
  if (!zkml_commitment.ok()) return Fail(ctx, zkml_commitment.status());
  protocol::PublishVersionTx tx{name, ver->first, ver->second, *manifest_cid, price, *zkml_commitment};
  auto r = SendTx(ctx, tx);
  if (!r.ok()) return Fail(ctx, r.status());

  json out = {{"name", name},
              {"version", version},
              {"source", ref},
              {"source_manifest_cid", source_cid->ToString()},
              {"manifest_cid", manifest_cid->ToString()},
              {"manifest", (*prepared)["manifest"]},
              {"model_file", qpath},
              {"model_cid", qcid.ToString()},
              {"model_bytes", quantized->model.size()},
              {"float_model_bytes", float_bytes->size()},
              {"quantization", onnx::kQuantizationId},
              {"quantized_nodes", quantized->quantized},
              {"calibration_sets", calibration->size()},
              {"test_vectors", vectors->size()},
              {"max_abs_diff", max_abs_diff},
              {"argmax_agreement", agreement},
              {"outputs", change.per_output},
              {"height", (*r)["height"]}};
  if (ctx.json_output) return PrintJson(out), kExitOk;
  std::cout << "quantized " << ref << " (" << float_bytes->size() << " bytes) to " << qpath << " ("
            << quantized->model.size() << " bytes, " << quantized->quantized.size() << " nodes int8)\n";
  std::cout << "on " << vectors->size() << " test vectors: max |float - int8| " << max_abs_diff
            << ", argmax agrees " << agreement << "\n";
  for (auto it = change.per_output.begin(); it != change.per_output.end(); ++it)
    std::cout << "  " << it.key() << ": max |diff| " << it.value()["max_abs_diff"].get<std::string>()
              << ", argmax " << it.value()["argmax_agreement"].get<std::string>() << "\n";
  std::cout << "published " << name << "@" << version << " manifest " << manifest_cid->ToString() << " in block "
            << (*r)["height"] << "\n";
  return kExitOk;
}

// ---- zk: local proving and verification, no chain (docs/zk.md "zkml protocol") ----

int ZkProve(const Context& ctx, const ZkProveOptions& opts) {
  auto bytes = ReadFile(opts.model_file);
  if (!bytes.ok()) return Fail(ctx, bytes.status());
  auto input_json = ReadJsonFile(opts.input_file);
  if (!input_json.ok()) return Fail(ctx, input_json.status());
  auto inputs = TensorMapFromJson(*input_json);
  if (!inputs.ok()) return Fail(ctx, inputs.status());
  // Seconds to minutes for a large model: the phases as they happen, on stderr.
  PhaseProgress progress(ctx, "zk prove");
  auto fail = [&](const Status& s, std::string hint = "") {
    progress.Finish(false);
    return Fail(ctx, s, std::move(hint));
  };
  Bytes model_bytes = *bytes;
  bool quantized_here = false;
  auto t0 = std::chrono::steady_clock::now();
  progress.Phase("compile");
  auto circuit = zkml::CompileCircuit(model_bytes);
  const bool float_model = !circuit.ok() && circuit.status().code() == Code::kFailedPrecondition;
  if (!circuit.ok() && !float_model) return fail(circuit.status());
  if (float_model) {
    // A float model: quantize it first (calibrated on --calibration, or on the input itself).
    progress.Phase("quantize");
    std::vector<TensorMap> calibration = {*inputs};
    if (!opts.calibration_file.empty()) {
      auto sets = ReadCalibration(opts.calibration_file);
      if (!sets.ok()) return fail(sets.status());
      calibration = std::move(sets).value();
    }
    auto q = onnx::QuantizeStatic(model_bytes, calibration);
    if (!q.ok()) return fail(q.status(), "zk prove quantizes float models; pass an int8 model instead");
    model_bytes = std::move(q->model);
    quantized_here = true;
    if (Status s = WriteFile(opts.out_file + ".model.onnx", model_bytes); !s.ok()) return fail(s);
    t0 = std::chrono::steady_clock::now();  // setup = circuit compilation + weight commitment
  }
  progress.Phase("setup");
  auto key = float_model ? zkml::Setup(model_bytes) : zkml::Setup(std::move(circuit).value());
  if (!key.ok()) return fail(key.status());
  double setup_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  zkml::ProveOptions options;
  options.threads = opts.threads;
  options.on_phase = [&](std::string_view phase) { progress.Phase(phase); };
  auto proof = zkml::Prove(*key, *inputs, options);
  if (!proof.ok()) return fail(proof.status());
  // The circuit and the engine must agree on every output byte.
  progress.Phase("check outputs");
  auto model = onnx::Model::Load(model_bytes);
  if (!model.ok()) return fail(model.status());
  auto engine_out = (*model)->Run(*inputs);
  if (!engine_out.ok()) return fail(engine_out.status());
  if (*engine_out != proof->outputs)
    return fail(Internal("zk prove: the circuit's outputs differ from the engine's (a bug: please report)"));
  if (Status s = WriteFile(opts.out_file, proof->proof); !s.ok()) return fail(s);
  progress.Finish(true);
  json out = {{"outputs", TensorMapToJson(proof->outputs)},
              {"output_hash", ToHex(HashTensorMap(proof->outputs))},
              {"model_commitment", ToHex(key->model_commitment)},
              {"circuit_hash", ToHex(key->circuit_hash)},
              {"weight_commitment", ToHex(key->weights.commitment.Encode())},
              {"proof_file", opts.out_file},
              {"proof_bytes", proof->proof.size()},
              {"timings_ms", {{"setup", setup_ms}, {"execute", proof->timings.execute_ms},
                              {"commit", proof->timings.commit_ms}, {"prove", proof->timings.prove_ms}}}};
  if (quantized_here) out["quantized_model"] = opts.out_file + ".model.onnx";
  if (ctx.json_output) return PrintJson(out), kExitOk;
  std::cout << "outputs:\n";
  PrintTensorMap(out["outputs"]);
  std::cout << "model_commitment " << out["model_commitment"].get<std::string>() << "\n"
            << "proof " << opts.out_file << " (" << proof->proof.size() << " bytes)\n"
            << "time setup " << setup_ms << " ms, execute " << proof->timings.execute_ms << " ms, commit "
            << proof->timings.commit_ms << " ms, prove " << proof->timings.prove_ms << " ms\n";
  if (quantized_here) std::cout << "quantized model " << opts.out_file << ".model.onnx (verify with --model)\n";
  return kExitOk;
}

int ZkVerify(const Context& ctx, const std::string& proof_file, const std::string& model_file,
             const std::string& commitment_hex) {
  auto proof = ReadFile(proof_file);
  if (!proof.ok()) return Fail(ctx, proof.status());
  std::optional<Hash32> expected;
  if (!model_file.empty()) {
    auto bytes = ReadFile(model_file);
    if (!bytes.ok()) return Fail(ctx, bytes.status());
    auto key = zkml::Setup(*bytes);
    if (!key.ok()) return Fail(ctx, key.status());
    expected = key->model_commitment;
  } else if (!commitment_hex.empty()) {
    auto raw = FromHex(commitment_hex);
    if (!raw.ok() || raw->size() != 32) return Fail(ctx, InvalidArgument("--commitment must be 32 bytes of hex"));
    Hash32 h;
    std::copy(raw->begin(), raw->end(), h.begin());
    expected = h;
  }
  auto t0 = std::chrono::steady_clock::now();
  auto verified = zkml::Verify(*proof, expected);
  double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  if (!verified.ok()) {
    if (ctx.json_output) {
      PrintJson({{"valid", false}, {"reason", verified.status().message()}});
      return kExitFailed;
    }
    std::cout << "INVALID: " << verified.status().message() << "\n";
    return kExitFailed;
  }
  json out = {{"valid", true},
              {"model_commitment", ToHex(verified->model_commitment)},
              {"bound_to", expected ? (model_file.empty() ? "commitment" : "model") : "nothing (pass --model or --commitment)"},
              {"input_hash", ToHex(HashTensorMap(verified->inputs))},
              {"output_hash", ToHex(HashTensorMap(verified->outputs))},
              {"outputs", TensorMapToJson(verified->outputs)},
              {"verify_ms", ms}};
  if (ctx.json_output) return PrintJson(out), kExitOk;
  std::cout << "VALID proof for model_commitment " << out["model_commitment"].get<std::string>() << "\n";
  if (!expected) std::cout << "note: not bound to a model you named (pass --model or --commitment)\n";
  std::cout << "outputs:\n";
  PrintTensorMap(out["outputs"]);
  std::cout << "verify " << ms << " ms\n";
  return kExitOk;
}

}  // namespace lucid::cli
