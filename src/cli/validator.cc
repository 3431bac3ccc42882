#include "cli/validator.h"

#include <pthread.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <memory>

#include "api/server.h"
#include "consensus/abci_app.h"
#include "consensus/abci_chain_access.h"
#include "consensus/abci_server.h"
#include "devnet/devnet.h"
#include "hub/hub.h"
#include "ipfs/hub_hooks.h"
#include "replication/replicator.h"
#include "store/blob_store.h"

namespace lucid::cli {

namespace {

struct ValidatorOptions {
  std::string abci = "tcp://127.0.0.1:26658";
  std::string http;                            // empty: no HTTP API
  std::string comet_rpc = "http://127.0.0.1:26657";
  std::vector<std::string> ipfs_apis;  // the hub's kubo RPC APIs (docs/ipfs.md); empty: no IPFS
  bool replicate = false;              // hub replicator as --from (docs/ipfs.md "Replication")
};

int Validator(const Context& ctx, const ValidatorOptions& opts) {
  namespace fs = std::filesystem;
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  const fs::path dir = fs::path(ctx.home) / "validator";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Fail(ctx, Unavailable("cannot create " + dir.string() + ": " + ec.message()));
  auto app = consensus::AbciApp::Open((dir / "chain").string());
  if (!app.ok()) return Fail(ctx, app.status(), "is another `lucid validator` using " + dir.string() + "?");

  consensus::AbciServerOptions server_options;
  server_options.address = opts.abci;
  consensus::AbciServer abci(app->get(), server_options);
  auto port = abci.Start();
  if (!port.ok()) return Fail(ctx, port.status());

  std::unique_ptr<store::BlobStore> blobs;
  std::unique_ptr<hub::Hub> hub;
  std::unique_ptr<consensus::AbciChainAccess> access;
  std::unique_ptr<api::Server> http;
  std::string api_url;
  if (!opts.http.empty()) {
    auto addr = devnet::ParseHostPort(opts.http);
    if (!addr.ok()) return Fail(ctx, addr.status(), "--http takes HOST:PORT");
    blobs = std::make_unique<store::BlobStore>((dir / "hub").string());
    hub::HubOptions hub_options;
    if (!opts.ipfs_apis.empty()) {  // docs/ipfs.md
      auto ipfs_hooks = ipfs::MakeHubHooks(opts.ipfs_apis);
      if (!ipfs_hooks.ok()) return Fail(ctx, ipfs_hooks.status());
      hub_options.ipfs_add = std::move(ipfs_hooks->add);
      hub_options.ipfs_fetch = std::move(ipfs_hooks->fetch);
    }
    hub = std::make_unique<hub::Hub>(blobs.get(), hub_options);
    access = std::make_unique<consensus::AbciChainAccess>(app->get(), opts.comet_rpc);
    api::ServerOptions so;
    so.host = addr->first;
    so.port = addr->second;
    http = std::make_unique<api::Server>(access.get(), hub.get(), nullptr, so);
    auto http_port = http->Start();
    if (!http_port.ok()) return Fail(ctx, http_port.status(), "is the port in use?");
    api_url = "http://" + addr->first + ":" + std::to_string(*http_port);
  }
  std::unique_ptr<replication::Replicator> replicator;
  if (opts.replicate) {
    if (!hub || opts.ipfs_apis.empty()) return Fail(ctx, InvalidArgument("--replicate needs --http and --ipfs-api"));
    auto key = ctx.FromKey();
    if (!key.ok()) return Fail(ctx, key.status().WithContext("--replicate announces pins as --from"));
    replication::ReplicatorOptions ro;
    ro.hub = key->address();
    ro.kubo_api = opts.ipfs_apis.front();
    ro.endpoint = api_url;
    ro.interval = std::chrono::seconds(2);
    ro.submit = replication::SubmitSignedBy(access.get(), *key);
    auto created = replication::Replicator::Create(std::move(ro), access.get(), hub.get());
    if (!created.ok()) return Fail(ctx, created.status().WithContext("--replicate"));
    replicator = std::move(*created);
    replicator->Start();
  }
  const chain::AppInfo info = (*app)->WithApp([](const chain::Application& a) { return a.Info(); });
  if (ctx.json_output) {
    PrintJson({{"abci", opts.abci}, {"abci_port", *port}, {"api", api_url}, {"comet_rpc", opts.comet_rpc},
               {"home", ctx.home}, {"height", info.height}, {"chain_id", info.chain_id}});
  } else {
    std::cout << "Lucid validator (ABCI app for CometBFT)\n"
              << "  ABCI       " << opts.abci << "\n"
              << "  API        " << (api_url.empty() ? "off (--http HOST:PORT)" : api_url) << "\n"
              << "  CometBFT   " << opts.comet_rpc << " (tx broadcast)\n"
              << "  state      " << (dir / "chain").string() << " (height " << info.height
              << (info.chain_id.empty() ? ", waiting for InitChain" : ", chain " + info.chain_id) << ")\n"
              << "Stop with Ctrl-C." << std::endl;
  }
  int sig = 0;
  sigwait(&signals, &sig);
  std::cerr << "stopping validator (signal " << sig << ")" << std::endl;
  if (replicator) replicator->Stop();
  if (http) http->Stop();
  abci.Stop();
  return kExitOk;
}

}  // namespace

void AddValidatorCommand(CLI::App& app, Context& ctx, int& rc) {
  auto opts = std::make_shared<ValidatorOptions>();
  auto* cmd = app.add_subcommand("validator", "Run a validator's ABCI application for CometBFT (docs/consensus.md)");
  cmd->add_option("--abci", opts->abci, "ABCI listen address: tcp://HOST:PORT or unix://PATH")->capture_default_str();
  cmd->add_option("--http", opts->http, "Also serve the Lucid API (queries, tx broadcast) on HOST:PORT");
  cmd->add_option("--comet-rpc", opts->comet_rpc, "CometBFT RPC URL the API forwards txs to")->capture_default_str();
  cmd->add_option("--ipfs-api", opts->ipfs_apis,
                  "With --http: the hub's kubo RPC API (127.0.0.1:PORT; docs/ipfs.md); repeatable, the first is its own");
  cmd->add_flag("--replicate", opts->replicate,
                "With --ipfs-api: act as a hub as --from: announce pins on chain, keep them, pin under-replicated versions");
  cmd->callback([opts, &ctx, &rc] { rc = Validator(ctx, *opts); });
}

}  // namespace lucid::cli
