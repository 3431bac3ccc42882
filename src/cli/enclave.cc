// `lucid enclave --dev`: the dev enclave as its own process (tee/enclave.h, docs/tee-enclave.md).
#include <pthread.h>

#include <csignal>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "crypto/hash.h"
#include "tee/enclave.h"
#include "tee/enclave_llm.h"

namespace lucid::cli {

int Enclave(const Context& ctx, const EnclaveOptions& opts) {
  if (!opts.dev)
    return Fail(ctx, Unimplemented("only the dev enclave exists: pass --dev (a real Nitro enclave is not built)"));
  if (opts.pki_dir.empty()) return Fail(ctx, InvalidArgument("--pki DIR is required"));
  const size_t colon = opts.listen.rfind(':');
  if (colon == std::string::npos) return Fail(ctx, InvalidArgument("--listen must be HOST:PORT"));
  const std::string host = opts.listen.substr(0, colon);
  int port = 0;
  try {
    port = std::stoi(opts.listen.substr(colon + 1));
  } catch (...) {
    return Fail(ctx, InvalidArgument("--listen: bad port in '" + opts.listen + "'"));
  }

  // Block the signals first so no server thread takes them; wait for them below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto pki = tee::LoadOrCreateDevPki(opts.pki_dir);
  if (!pki.ok()) return Fail(ctx, pki.status().WithContext("dev PKI in " + opts.pki_dir));
  tee::EnclaveConfig config;
  config.pki = std::move(*pki);
  config.threads = opts.threads;
  config.llm = tee::MakeEngineEnclaveLlm(opts.threads);  // GGUF (LLM) versions
  auto enclave = tee::DevEnclave::Create(std::move(config));
  if (!enclave.ok()) return Fail(ctx, enclave.status());
  tee::EnclaveHttp http(enclave->get());
  auto bound = http.Bind(host, port);
  if (!bound.ok()) return Fail(ctx, bound.status());
  std::thread server([&] { http.Serve(); });

  const tee::DevEnclave& e = **enclave;
  // One line on stdout when ready (the devnet and tests read it).
  nlohmann::json ready{{"listen", host + ":" + std::to_string(*bound)},
                       {"public_key", ToHex(e.public_key())},
                       {"address", e.address().ToHex()},
                       {"pcr0", ToHex(e.pcr0())},
                       {"pki", opts.pki_dir},
                       {"dev_root_sha256", ToHex(crypto::Sha256(e.root_der()))}};
  std::cout << ready.dump() << std::endl;
  std::cerr << "dev enclave listening on " << host << ":" << *bound << " (key " << e.address().ToHex()
            << ", pcr0 " << ToHex(e.pcr0()).substr(0, 16) << "...)" << std::endl;

  int sig = 0;
  sigwait(&signals, &sig);
  std::cerr << "stopping dev enclave (signal " << sig << ")" << std::endl;
  http.Stop();
  server.join();
  return kExitOk;
}

}  // namespace lucid::cli
