#include "ipfs/kubo_node.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <openssl/rand.h>

extern char** environ;

namespace lucid::ipfs {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr std::string_view kSwarmKeyHeader = "/key/swarm/psk/1.0.0/\n/base16/\n";

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The environment every ipfs process gets: the repo, a forced private network, telemetry off.
std::vector<std::string> KuboEnv(const std::string& repo) {
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view v(*e);
    if (v.rfind("IPFS_PATH=", 0) == 0 || v.rfind("LIBP2P_FORCE_PNET=", 0) == 0 || v.rfind("IPFS_TELEMETRY=", 0) == 0)
      continue;
    env.emplace_back(v);
  }
  env.push_back("IPFS_PATH=" + repo);
  env.push_back("LIBP2P_FORCE_PNET=1");
  env.push_back("IPFS_TELEMETRY=off");
  return env;
}

// fork + execve with stdout/stderr to log_fd; returns the child's pid.
Result<pid_t> Spawn(const std::string& binary, const std::vector<std::string>& args, const std::vector<std::string>& env,
                    int log_fd) {
  std::vector<std::string> a = args;
  a.insert(a.begin(), binary);
  std::vector<char*> argv;
  for (auto& s : a) argv.push_back(s.data());
  argv.push_back(nullptr);
  std::vector<std::string> e = env;
  std::vector<char*> envp;
  for (auto& s : e) envp.push_back(s.data());
  envp.push_back(nullptr);
  const pid_t parent = ::getpid();
  const pid_t pid = ::fork();
  if (pid < 0) return Unavailable("fork failed");
  if (pid == 0) {  // child: async-signal-safe calls only
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // kubo ends with the process that started it
    if (::getppid() != parent) ::_exit(1);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (log_fd >= 0) {
      ::dup2(log_fd, 1);
      ::dup2(log_fd, 2);
    }
    ::execve(binary.c_str(), argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

void SetPath(json& root, std::initializer_list<const char*> path, json value) {
  json* at = &root;
  for (const char* key : path) {
    if (!at->is_object()) *at = json::object();
    at = &(*at)[key];
  }
  *at = std::move(value);
}

}  // namespace

Status WriteSwarmKey(const std::string& path) {
  if (fs::exists(path)) return AlreadyExists("swarm key " + path + " exists; not overwritten");
  uint8_t key[32];
  if (RAND_bytes(key, sizeof(key)) != 1) return Internal("RAND_bytes failed");
  const std::string text = std::string(kSwarmKeyHeader) + ToHex(ByteView(key, sizeof(key))) + "\n";
  std::error_code ec;
  if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path(), ec);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Internal("cannot create " + path);
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  ::close(fd);
  if (!ok) return Internal("writing " + path + " failed");
  return Status::Ok();
}

Status CheckSwarmKey(const std::string& path) {
  if (!fs::exists(path)) return NotFound("swarm key " + path + " does not exist");
  std::string text = ReadFile(path);
  if (text.rfind(kSwarmKeyHeader, 0) != 0)
    return InvalidArgument("swarm key " + path + " does not start with \"/key/swarm/psk/1.0.0/\\n/base16/\\n\"");
  std::string hex = text.substr(kSwarmKeyHeader.size());
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == '\r')) hex.pop_back();
  if (hex.size() != 64 || !FromHex(hex).ok()) return InvalidArgument("swarm key " + path + " must hold 64 hex characters");
  return Status::Ok();
}

std::string FindKuboBinary() {
  if (const char* env = std::getenv("LUCID_IPFS_BIN"); env && *env) return fs::exists(env) ? env : "";
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path self = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    // <repo>/build-x/src/cli/lucid, <repo>/build-x/tests/ipfs/ipfs_test, <repo>/build-x/tools/ipfs/...
    for (fs::path p = self.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
      candidates.push_back(p / ".tools/bin/ipfs");
  }
  if (const char* src = std::getenv("LUCID_SOURCE_DIR"); src && *src) candidates.push_back(fs::path(src) / ".tools/bin/ipfs");
  candidates.push_back(".tools/bin/ipfs");
  for (const fs::path& c : candidates)
    if (fs::exists(c, ec)) return c.string();
  if (const char* path = std::getenv("PATH")) {
    std::stringstream ss(path);
    std::string dir;
    while (std::getline(ss, dir, ':'))
      if (!dir.empty() && ::access((fs::path(dir) / "ipfs").c_str(), X_OK) == 0) return (fs::path(dir) / "ipfs").string();
  }
  return "";
}

Result<std::string> ApplyPrivateConfig(const std::string& config_json, const KuboNodeOptions& options) {
  json c = json::parse(config_json, nullptr, false);
  if (c.is_discarded() || !c.is_object()) return DataLoss("kubo config is not a JSON object");
  const std::string lo = "/ip4/127.0.0.1/tcp/";
  SetPath(c, {"Addresses", "Swarm"}, json::array({lo + std::to_string(options.swarm_port)}));
  SetPath(c, {"Addresses", "API"}, lo + std::to_string(options.api_port));
  SetPath(c, {"Addresses", "Gateway"}, lo + "0");
  SetPath(c, {"Addresses", "Announce"}, json::array());
  SetPath(c, {"Addresses", "AppendAnnounce"}, json::array());
  SetPath(c, {"Addresses", "NoAnnounce"}, json::array());
  SetPath(c, {"Bootstrap"}, json::array());
  SetPath(c, {"Discovery", "MDNS", "Enabled"}, false);
  SetPath(c, {"Routing", "Type"}, "none");
  if (c["Routing"].contains("DelegatedRouters")) SetPath(c, {"Routing", "DelegatedRouters"}, json::array());
  if (c.contains("Ipns") && c["Ipns"].is_object() && c["Ipns"].contains("DelegatedPublishers"))
    SetPath(c, {"Ipns", "DelegatedPublishers"}, json::array());
  if (c.contains("DNS") && c["DNS"].is_object()) SetPath(c, {"DNS", "Resolvers"}, json::object());
  if (c.contains("AutoConf")) SetPath(c, {"AutoConf", "Enabled"}, false);
  if (c.contains("AutoTLS")) SetPath(c, {"AutoTLS", "Enabled"}, false);
  SetPath(c, {"Plugins", "Plugins", "telemetry", "Config", "Mode"}, "off");
  SetPath(c, {"Plugins", "Plugins", "telemetry", "Disabled"}, true);
  SetPath(c, {"Swarm", "DisableNatPortMap"}, true);
  SetPath(c, {"Swarm", "EnableHolePunching"}, false);
  SetPath(c, {"Swarm", "RelayClient", "Enabled"}, false);
  SetPath(c, {"Swarm", "RelayService", "Enabled"}, false);
  // A private network runs over TCP only (QUIC, WebTransport and WebRTC cannot use a PSK).
  SetPath(c, {"Swarm", "Transports", "Network", "QUIC"}, false);
  SetPath(c, {"Swarm", "Transports", "Network", "WebTransport"}, false);
  SetPath(c, {"Swarm", "Transports", "Network", "WebRTCDirect"}, false);
  SetPath(c, {"Swarm", "Transports", "Network", "Websocket"}, false);
  SetPath(c, {"AutoNAT", "ServiceMode"}, "disabled");
  SetPath(c, {"Datastore", "StorageMax"}, options.storage_max);
  json peers = json::array();
  for (const std::string& addr : options.peers) {
    const size_t p2p = addr.rfind("/p2p/");
    if (p2p == std::string::npos) return InvalidArgument("IPFS peer \"" + addr + "\" does not end in /p2p/PEER_ID");
    peers.push_back({{"ID", addr.substr(p2p + 5)}, {"Addrs", json::array({addr.substr(0, p2p)})}});
  }
  SetPath(c, {"Peering", "Peers"}, peers);
  return c.dump(2);
}

KuboNode::KuboNode(KuboNodeOptions options) : options_(std::move(options)) {
  if (options_.binary.empty()) options_.binary = FindKuboBinary();
  if (options_.log_path.empty()) options_.log_path = options_.repo + "/daemon.log";
}

KuboNode::~KuboNode() { Stop(); }

Status KuboNode::RunIpfs(const std::vector<std::string>& args, std::string* output) const {
  const std::string log = options_.repo + ".cmd.log";
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  ASSIGN_OR_RETURN(pid_t pid, Spawn(options_.binary, args, KuboEnv(options_.repo), fd));
  if (fd >= 0) ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  std::string out = ReadFile(log);
  std::error_code ec;
  fs::remove(log, ec);
  if (output) *output = out;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return Unavailable("`ipfs " + (args.empty() ? std::string() : args[0]) + "` failed: " + out.substr(0, 500));
  return Status::Ok();
}

Status KuboNode::Init() {
  if (options_.binary.empty() || !fs::exists(options_.binary))
    return NotFound("kubo (`ipfs`) not found: run ./scripts/setup (it installs .tools/bin/ipfs) or set LUCID_IPFS_BIN");
  if (options_.repo.empty()) return InvalidArgument("KuboNode needs a repo directory");
  RETURN_IF_ERROR(CheckSwarmKey(options_.swarm_key));
  std::error_code ec;
  const fs::path repo = fs::absolute(options_.repo);
  options_.repo = repo.string();
  if (!fs::exists(repo / "config")) {
    fs::create_directories(repo, ec);
    ::chmod(repo.c_str(), 0700);
    // The test profile: loopback addresses, no bootstrap, no mDNS; the rest is set below.
    RETURN_IF_ERROR(RunIpfs({"init", "--profile=test", "--empty-repo"}, nullptr));
  }
  // The swarm key goes in before the daemon ever starts: it never runs outside the private swarm.
  fs::copy_file(options_.swarm_key, repo / "swarm.key", fs::copy_options::overwrite_existing, ec);
  if (ec) return Internal("copying the swarm key into " + repo.string() + ": " + ec.message());
  ::chmod((repo / "swarm.key").c_str(), 0600);
  ASSIGN_OR_RETURN(std::string config, ApplyPrivateConfig(ReadFile((repo / "config").string()), options_));
  std::ofstream out(repo / "config", std::ios::binary | std::ios::trunc);
  out << config;
  if (!out) return Internal("writing " + (repo / "config").string());
  return Status::Ok();
}

Status KuboNode::Start() {
  if (running()) return Status::Ok();
  RETURN_IF_ERROR(Init());
  std::error_code ec;
  fs::remove(fs::path(options_.repo) / "api", ec);  // a stale one from an earlier run
  const int log_fd = ::open(options_.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  auto pid = Spawn(options_.binary, {"daemon", "--migrate=false"}, KuboEnv(options_.repo), log_fd);
  if (log_fd >= 0) ::close(log_fd);
  if (!pid.ok()) return pid.status();
  pid_ = *pid;
  const auto deadline = std::chrono::steady_clock::now() + options_.start_timeout;
  Status last = Unavailable("no api file yet");
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      std::string log = ReadFile(options_.log_path);
      if (log.size() > 1500) log = log.substr(log.size() - 1500);
      return Unavailable("ipfs daemon exited at start (see " + options_.log_path + "): " + log);
    }
    std::string api = ReadFile((fs::path(options_.repo) / "api").string());
    while (!api.empty() && (api.back() == '\n' || api.back() == ' ')) api.pop_back();
    if (!api.empty()) {
      auto client = KuboClient::Connect(api, std::chrono::seconds(10));
      if (client.ok()) {
        auto id = client->Id();
        if (id.ok()) {
          api_ = client->address();
          peer_id_ = id->id;
          for (const std::string& a : id->addresses) {
            if (a.rfind("/ip4/127.0.0.1/tcp/", 0) == 0 && a.find("/p2p/") != std::string::npos) {
              swarm_ = a;
              break;
            }
          }
          if (swarm_.empty()) {
            Stop();
            return Unavailable("ipfs daemon has no /ip4/127.0.0.1/tcp listen address (see " + options_.log_path + ")");
          }
          return Status::Ok();
        }
        last = id.status();
      } else {
        last = client.status();
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  Stop();
  return Unavailable("ipfs daemon's API did not answer within " + std::to_string(options_.start_timeout.count()) +
                     " s (" + last.ToString() + "); see " + options_.log_path);
}

void KuboNode::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

}  // namespace lucid::ipfs
