// `lucid node`: a standalone inference node beside a chain it reaches over the chain's Lucid
// API (a devnet's or a validator's), docs/node.md. Its own hub fetches model files from the
// chain's hub by CID (checked before kept); it registers itself once, registers its enclave
// in tee mode and re-attests on a heartbeat, and serves the API (inference, plus the chain's
// answers read through) on --http.
#include <pthread.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "api/remote_chain.h"
#include "api/server.h"
#include "cli/commands.h"
#include "devnet/devnet.h"
#include "ipfs/hub_hooks.h"
#include "hub/hub.h"
#include "replication/replicator.h"
#include "node/inference_node.h"
#include "node/llm_backend.h"
#include "protocol/dev_keys.h"
#include "store/blob_store.h"

namespace lucid::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Result<uint32_t> ParseModes(const std::string& text) {
  uint32_t modes = 0;
  std::stringstream in(text);
  std::string name;
  while (std::getline(in, name, ',')) {
    if (name.empty()) continue;
    ASSIGN_OR_RETURN(protocol::Mode m, protocol::ModeFromName(name));
    modes |= protocol::ModeBit(m);
  }
  if (modes == 0) return InvalidArgument("--mode names no mode (vanilla, tee, zkml, replay)");
  return modes;
}

// Sends one tx from the node's key and waits for its block.
Status SendAndWait(node::ChainAccess& chain, const crypto::PrivateKey& key, protocol::TxBody body,
                   const std::string& what) {
  return node::SendAndWait(chain, key, std::move(body)).status().WithContext(what);
}

}  // namespace

int Node(const Context& ctx, const NodeOptions& opts) {
  auto modes = ParseModes(opts.modes);
  if (!modes.ok()) return Fail(ctx, modes.status());
  const bool tee = *modes & protocol::ModeBit(protocol::Mode::kTee);
  if (tee && opts.enclave.empty()) return Fail(ctx, InvalidArgument("--mode tee needs --enclave HOST:PORT"));
  if (!tee && !opts.enclave.empty()) return Fail(ctx, InvalidArgument("--enclave is for --mode tee"));
  auto listen = devnet::ParseHostPort(opts.http);
  if (!listen.ok()) return Fail(ctx, listen.status().WithContext("--http"));
  std::optional<std::chrono::milliseconds> heartbeat;
  if (!opts.heartbeat.empty() && opts.heartbeat != "0") {
    auto d = devnet::ParseDuration(opts.heartbeat, std::chrono::hours(24 * 365));
    if (!d.ok()) return Fail(ctx, d.status(), "--heartbeat takes e.g. 30m, 10s or 0 (never)");
    heartbeat = *d;
  }
  auto key = ctx.FromKey();
  if (!key.ok()) return Fail(ctx, key.status());

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const std::string chain_url = opts.chain.empty() ? ctx.node_url : opts.chain;
  api::RemoteChainOptions chain_options;
  chain_options.api_url = chain_url;
  chain_options.comet_rpc_url = opts.comet_rpc;
  auto chain = api::RemoteChainAccess::Connect(chain_options);
  if (!chain.ok()) return Fail(ctx, chain.status().WithContext("connecting to the chain at " + chain_url));
  const chain::Genesis genesis = (*chain)->GenesisInfo();
  // The chain would refuse them anyway; say so before doing anything.
  if (protocol::IsDevAddress(key->address()) && !genesis.params.dev_mode)
    return Fail(ctx, FailedPrecondition("key '" + ctx.from + "' is a public dev key and chain " + genesis.chain_id +
                                        " is not in dev mode"));

  // The node's own hub: files it lacks come from the chain's hub, checked against their CID.
  const fs::path home = fs::path(ctx.home) / "node" / key->address().ToHex();
  store::BlobStore blobs((home / "hub").string());
  hub::HubOptions hub_options;
  if (opts.ipfs_apis.empty()) {
    hub_options.fetch_missing = [peer = api::ApiClient(chain_url)](const crypto::Cid& cid) {
      return peer.GetRaw("/hub/files/" + cid.ToString());
    };
  } else {  // docs/ipfs.md: through the private swarm only, each file checked by CID
    auto ipfs_hooks = ipfs::MakeHubHooks(opts.ipfs_apis, true, std::chrono::seconds(opts.ipfs_timeout_s));
    if (!ipfs_hooks.ok()) return Fail(ctx, ipfs_hooks.status());
    hub_options.ipfs_fetch = std::move(ipfs_hooks->fetch);
    hub_options.ipfs_add = std::move(ipfs_hooks->add);  // the replicator re-adds lost copies
  }
  hub_options.run_llm = node::MakeHubLlmRunner(opts.threads);
  hub::Hub hub(&blobs, hub_options);

  node::NodeConfig config;
  config.llm = std::make_shared<node::EngineLlmBackend>(&hub, llm::EngineOptions{opts.threads, 8, 0});
  config.key = *key;
  config.modes = *modes;
  config.threads = opts.threads;
  config.fee_per_inference = opts.fee;
  config.enclave_addr = opts.enclave;
  node::InferenceNode node(config, &hub, chain->get());

  api::ServerOptions server_options;
  for (const std::string& spec : opts.api_keys) {
    const size_t eq = spec.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
      // Not echoed: the argument holds a secret.
      return Fail(ctx, InvalidArgument("--api-key takes API_KEY=KEYNAME (a " + std::to_string(spec.size()) +
                                       "-character argument without '=' or with an empty side was given)"));
    Context as = ctx;
    as.from = spec.substr(eq + 1);
    auto requester = as.FromKey();
    if (!requester.ok()) return Fail(ctx, requester.status().WithContext("--api-key"));
    server_options.api_keys.emplace(spec.substr(0, eq), *requester);
  }
  server_options.host = listen->first;
  server_options.port = listen->second;
  api::Server server(chain->get(), &hub, &node, server_options);
  auto port = server.Start();
  if (!port.ok()) return Fail(ctx, port.status().WithContext("node API on " + opts.http));
  const std::string api_url = "http://" + listen->first + ":" + std::to_string(*port);
  const std::string endpoint = opts.endpoint.empty() ? api_url : opts.endpoint;

  // Register (or update the modes and endpoint of) this node once.
  auto registered = (*chain)->GetNode(key->address());
  if (!registered.ok() && registered.status().code() != Code::kNotFound)
    return Fail(ctx, registered.status().WithContext("reading this node's registration"));
  if (!registered.ok() || registered->modes != *modes || registered->endpoint != endpoint) {
    protocol::RegisterNodeTx reg;
    reg.stake = registered.ok() ? 0 : opts.stake;
    reg.modes = *modes;
    reg.endpoint = endpoint;
    Status s = SendAndWait(**chain, *key, reg, "registering node " + key->address().ToHex());
    if (!s.ok()) return Fail(ctx, s);
  }

  std::string enclave_key;
  if (tee) {
    auto attested = node.AttestEnclave(std::chrono::seconds(30));
    if (!attested.ok()) return Fail(ctx, attested.status().WithContext("registering the enclave at " + opts.enclave));
    auto e = (*chain)->GetEnclave(key->address());
    if (e.ok()) enclave_key = e->enclave_address.ToHex();
    if (opts.heartbeat.empty()) {
      auto params = (*chain)->GetTeeParams();
      if (!params.ok()) return Fail(ctx, params.status().WithContext("reading the chain's tee params"));
      heartbeat = std::chrono::milliseconds(params->heartbeat_ms / 2);
    }
    if (heartbeat) node.StartEnclaveHeartbeat(*heartbeat);
  }

  // Async requests assigned to this node (docs/settlement.md), looked for every second.
  node.StartAsyncWatcher(std::chrono::seconds(1));

  // Replication (docs/ipfs.md "Replication"): this node's hub announces its pins as the node's
  // account, keeps them and takes on under-replicated versions.
  std::unique_ptr<replication::Replicator> replicator;
  if (opts.replicate) {
    if (opts.ipfs_apis.empty()) return Fail(ctx, InvalidArgument("--replicate needs --ipfs (the node's own kubo first)"));
    replication::ReplicatorOptions ro;
    ro.hub = key->address();
    ro.kubo_api = opts.ipfs_apis.front();
    ro.endpoint = endpoint;
    ro.interval = std::chrono::seconds(2);
    ro.submit = [&node](protocol::TxBody body) { return node.SendTx(std::move(body), std::chrono::seconds(30)); };
    auto created = replication::Replicator::Create(std::move(ro), chain->get(), &hub);
    if (!created.ok()) return Fail(ctx, created.status().WithContext("--replicate"));
    replicator = std::move(*created);
    replicator->Start();
  }

  json ready = {{"node", key->address().ToHex()}, {"api", api_url},       {"endpoint", endpoint},
                {"chain", chain_url},              {"chain_id", genesis.chain_id}, {"modes", opts.modes},
                {"replicate", opts.replicate}};
  if (!opts.comet_rpc.empty()) ready["comet_rpc"] = opts.comet_rpc;
  if (tee) {
    ready["enclave"] = opts.enclave;
    ready["enclave_key"] = enclave_key;
    ready["heartbeat_ms"] = heartbeat ? heartbeat->count() : 0;
  }
  // One line on stdout when ready (scripts and tests read it).
  std::cout << ready.dump() << std::endl;
  std::cerr << "lucid node " << key->address().ToHex() << " serving " << opts.modes << " on " << api_url
            << " for chain " << genesis.chain_id << " at " << chain_url << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  std::cerr << "stopping node (signal " << sig << ")" << std::endl;
  if (replicator) replicator->Stop();
  node.StopAsyncWatcher();
  server.Stop();
  return kExitOk;
}

}  // namespace lucid::cli
