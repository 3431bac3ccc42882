// `lucid-ipfs`: the IPFS library's operations as a small command, for the e2e tests and
// for operators (docs/ipfs.md). Every answer is one JSON line on stdout.
//   lucid-ipfs swarm-key FILE
//   lucid-ipfs daemon --repo DIR --swarm-key FILE [--peer MULTIADDR]... [--swarm-port N] [--api-port N]
//       starts kubo in a private swarm, prints {"api","peer","id"} and runs until SIGTERM/SIGINT
//   lucid-ipfs add --api ADDR FILE            streamed add: {"ipfs_cid","cid","size","seconds","peak_rss_mib"}
//   lucid-ipfs get --api ADDR [--api ADDR]... --ipfs-cid ROOT --cid CID --out FILE [--max-bytes N]
//       streamed fetch, checked against the whole-file CID, peers tried in order:
//       {"ok","size","seconds","peak_rss_mib"} or {"ok":false,"error"} (exit 1)
//   lucid-ipfs pins --api ADDR                {"pins":[...]}
#include <signal.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "ipfs/hub_hooks.h"
#include "ipfs/kubo_client.h"
#include "ipfs/kubo_node.h"

namespace {

using json = nlohmann::json;
using namespace lucid;

int Fail(const std::string& message) {
  std::cout << json{{"ok", false}, {"error", message}}.dump() << std::endl;
  return 1;
}

// This process's peak resident memory (VmHWM: per address space, so not inflated by the
// parent that forked it, unlike wait4's ru_maxrss).
double PeakRssMiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return -1;
}

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: lucid-ipfs swarm-key|daemon|add|get|pins ...\n";
    return 2;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("lucid-ipfs"));  // stdout carries the JSON answer
  const std::string cmd = argv[1];
  std::vector<std::string> apis, peers, positional;
  std::string repo, swarm_key, ipfs_cid, cid_text, out;
  uint64_t max_bytes = 1ull << 40;
  int swarm_port = 0, api_port = 0;
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--api") apis.push_back(next());
    else if (a == "--peer") peers.push_back(next());
    else if (a == "--repo") repo = next();
    else if (a == "--swarm-key") swarm_key = next();
    else if (a == "--ipfs-cid") ipfs_cid = next();
    else if (a == "--cid") cid_text = next();
    else if (a == "--out") out = next();
    else if (a == "--max-bytes") max_bytes = std::stoull(next());
    else if (a == "--swarm-port") swarm_port = std::stoi(next());
    else if (a == "--api-port") api_port = std::stoi(next());
    else positional.push_back(a);
  }

  if (cmd == "swarm-key") {
    if (positional.size() != 1) return Fail("swarm-key FILE");
    Status s = ipfs::WriteSwarmKey(positional[0]);
    if (!s.ok()) return Fail(s.ToString());
    std::cout << json{{"ok", true}, {"swarm_key", positional[0]}}.dump() << std::endl;
    return 0;
  }
  if (cmd == "daemon") {
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    ipfs::KuboNodeOptions o;
    o.repo = repo;
    o.swarm_key = swarm_key;
    o.peers = peers;
    o.swarm_port = swarm_port;
    o.api_port = api_port;
    ipfs::KuboNode node(o);
    Status s = node.Start();
    if (!s.ok()) return Fail(s.ToString());
    std::cout << json{{"ok", true}, {"api", node.api_address()}, {"peer", node.swarm_address()}, {"id", node.peer_id()},
                      {"repo", std::filesystem::absolute(repo).string()}}
                     .dump()
              << std::endl;
    int sig = 0;
    sigwait(&signals, &sig);
    node.Stop();
    return 0;
  }
  if (cmd == "add") {
    if (apis.size() != 1 || positional.size() != 1) return Fail("add --api ADDR FILE");
    auto client = ipfs::KuboClient::Connect(apis[0], std::chrono::seconds(600));
    if (!client.ok()) return Fail(client.status().ToString());
    const auto t0 = std::chrono::steady_clock::now();
    auto added = client->AddFile(positional[0]);
    if (!added.ok()) return Fail(added.status().ToString());
    std::cout << json{{"ok", true}, {"ipfs_cid", added->ipfs_cid}, {"cid", added->cid.ToString()},
                      {"size", added->size}, {"seconds", Since(t0)}, {"peak_rss_mib", PeakRssMiB()}}
                     .dump()
              << std::endl;
    return 0;
  }
  if (cmd == "get") {
    if (apis.empty() || ipfs_cid.empty() || cid_text.empty() || out.empty())
      return Fail("get --api ADDR... --ipfs-cid ROOT --cid CID --out FILE");
    auto cid = crypto::Cid::Parse(cid_text);
    if (!cid.ok()) return Fail(cid.status().ToString());
    auto hooks = ipfs::MakeHubHooks(apis, /*pin_fetched=*/false);
    if (!hooks.ok()) return Fail(hooks.status().ToString());
    const auto t0 = std::chrono::steady_clock::now();
    Status s = hooks->fetch(*cid, ipfs_cid, max_bytes, out);
    if (!s.ok()) return Fail(s.ToString());
    std::cout << json{{"ok", true}, {"size", std::filesystem::file_size(out)}, {"seconds", Since(t0)},
                      {"peak_rss_mib", PeakRssMiB()}}
                         .dump()
              << std::endl;
    return 0;
  }
  if (cmd == "pins") {
    if (apis.size() != 1) return Fail("pins --api ADDR");
    auto client = ipfs::KuboClient::Connect(apis[0]);
    if (!client.ok()) return Fail(client.status().ToString());
    auto pins = client->PinLs();
    if (!pins.ok()) return Fail(pins.status().ToString());
    std::cout << json{{"ok", true}, {"pins", *pins}}.dump() << std::endl;
    return 0;
  }
  std::cerr << "unknown command " << cmd << "\n";
  return 2;
}
