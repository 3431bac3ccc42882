#include <csignal>
#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "devnet/devnet.h"
#include "ipfs/kubo_node.h"

namespace lucid::cli {

int Devnet(const Context& ctx, const DevnetOptions& opts) {
  auto block_time = devnet::ParseDuration(opts.block_time);
  if (!block_time.ok()) return Fail(ctx, block_time.status(), "--block-time takes e.g. 1s or 500ms");
  auto addr = devnet::ParseHostPort(opts.http);
  if (!addr.ok()) return Fail(ctx, addr.status());

  // Block the signals first so no thread started below takes them; wait for them at the end.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  devnet::DevnetOptions options;
  options.home = ctx.home;
  options.http_host = addr->first;
  options.http_port = addr->second;
  options.block_time = *block_time;
  if (!opts.tee_heartbeat.empty()) {
    auto heartbeat = devnet::ParseDuration(opts.tee_heartbeat, std::chrono::hours(24 * 365));
    if (!heartbeat.ok()) return Fail(ctx, heartbeat.status(), "--tee-heartbeat takes e.g. 10s or 1h");
    options.tee_heartbeat = *heartbeat;
  }
  if (opts.tee) {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec) return Fail(ctx, Unavailable("cannot find this binary for the dev enclave: " + ec.message()));
    options.enclave_binary = self.string();
  }
  // IPFS (docs/ipfs.md): the hub's own kubo in a private swarm, or running ones.
  std::unique_ptr<ipfs::KuboNode> kubo;
  options.ipfs_apis = opts.ipfs_apis;
  options.min_replicas = opts.replicas;
  options.replicate = !opts.no_replicate;
  if (opts.ipfs) {
    if (!opts.ipfs_apis.empty()) return Fail(ctx, InvalidArgument("--ipfs starts its own kubo; --ipfs-api uses a running one: pass one of them"));
    ipfs::KuboNodeOptions k;
    k.repo = (std::filesystem::path(ctx.home) / "ipfs").string();
    k.swarm_key = opts.ipfs_swarm_key.empty() ? (std::filesystem::path(ctx.home) / "ipfs-swarm.key").string()
                                              : opts.ipfs_swarm_key;
    if (opts.ipfs_swarm_key.empty() && !std::filesystem::exists(k.swarm_key)) {
      if (Status s = ipfs::WriteSwarmKey(k.swarm_key); !s.ok()) return Fail(ctx, s);
      std::cerr << "ipfs: new private swarm key " << k.swarm_key << " (copy it to every peer of this swarm)\n";
    }
    k.peers = opts.ipfs_peers;
    kubo = std::make_unique<ipfs::KuboNode>(k);
    if (Status s = kubo->Start(); !s.ok()) return Fail(ctx, s.WithContext("starting kubo for --ipfs"));
    options.ipfs_apis = {kubo->api_address()};
    std::cerr << "ipfs: kubo API " << kubo->api_address() << ", peer " << kubo->swarm_address() << std::endl;
  }
  devnet::Devnet net(options);
  auto info = net.Start();
  if (!info.ok())
    return Fail(ctx, info.status(),
                "is another devnet using " + ctx.home + " or " + opts.http +
                    "? stop it, or pass another --home DIR or --http 127.0.0.1:PORT");

  if (ctx.json_output) {
    nlohmann::json accounts = nlohmann::json::array();
    for (const auto& [name, a] : info->dev_accounts) accounts.push_back({{"name", name}, {"address", a.ToHex()}});
    nlohmann::json models = nlohmann::json::array();
    for (const auto& m : info->demo_models) models.push_back({{"ref", m.ref}, {"manifest_cid", m.manifest_cid}});
    PrintJson({{"api", info->api_url}, {"chain_id", info->chain_id}, {"home", ctx.home},
               {"validator", info->validator.ToHex()}, {"node", info->node.ToHex()},
               {"dev_accounts", accounts}, {"demo_models", models}, {"insecure_dev_keys", true},
               {"enclave", info->enclave}, {"enclave_pcr0", ToHex(info->enclave_pcr0)},
               {"ipfs_api", options.ipfs_apis.empty() ? "" : options.ipfs_apis.front()},
               {"ipfs_peer", kubo ? kubo->swarm_address() : ""}, {"hub", info->hub}});
  } else {
    std::cout << "Lucid devnet running\n"
              << "  API        " << info->api_url << "\n"
              << "  chain id   " << info->chain_id << " (dev mode)\n"
              << "  home       " << ctx.home << "\n"
              << "  validator  " << info->validator.ToChecksumHex() << "\n"
              << "  node       " << info->node.ToChecksumHex() << "\n"
              << "  enclave    " << (info->enclave.empty() ? "none (tee off)" : info->enclave + " (dev enclave, tee mode)")
              << "\n"
              << "  ipfs       "
              << (options.ipfs_apis.empty() ? std::string("off (local blob store)")
                                            : options.ipfs_apis.front() + (kubo ? " (own kubo, peer " + kubo->swarm_address() + ")" : ""))
              << "\n"
              << (info->hub.empty() ? std::string() : "  hub        " + info->hub + " (announces its pins, keeps R copies)\n")
              << "Dev accounts (INSECURE: their keys are public and work only on dev-mode chains):\n";
    for (const auto& [name, a] : info->dev_accounts) std::cout << "  " << name << "  " << a.ToChecksumHex() << "\n";
    std::cout << "Demo models:\n";
    for (const auto& m : info->demo_models) std::cout << "  " << m.ref << "  " << m.manifest_cid << "\n";
    std::cout << "Try: lucid --home " << ctx.home << " infer digits-mlp@1.0 --input models/digits/sample_input_mlp.json\n"
              << "Stop with Ctrl-C." << std::endl;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  std::cerr << "stopping devnet (signal " << sig << ")" << std::endl;
  net.Stop();
  if (kubo) kubo->Stop();
  return kExitOk;
}

}  // namespace lucid::cli
