// ABCI socket server for CometBFT v0.38 (docs/consensus.md). Listens on tcp://HOST:PORT or
// unix://PATH; CometBFT opens four connections (consensus, mempool, query, snapshot), each
// served by its own thread, requests answered in order; the AbciApp's one lock serialises
// the application. Framing is CometBFT's protoio delimited stream: uvarint length, then a
// tendermint.abci.Request; responses go back the same way. A malformed frame (bad varint,
// oversized, unparsable) closes that connection with a log line; nothing else is affected.
// Thread-safety: Start/Stop from one thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"

namespace lucid::consensus {

class AbciApp;

struct AbciServerOptions {
  std::string address = "tcp://127.0.0.1:26658";  // or unix:///path/to.sock
  uint64_t max_frame_bytes = 512ull << 20;           // a request larger than this closes the connection
};

// Writes one uvarint-delimited frame into out (exposed for tests).
void AppendDelimited(const std::string& message, std::string& out);

class AbciServer {
 public:
  AbciServer(AbciApp* app, AbciServerOptions options);
  ~AbciServer();  // Stop()

  // Binds and starts accepting. For tcp port 0 the bound port is returned (else the port).
  Result<int> Start();
  void Stop();
  // Connections accepted so far (tests).
  int connections_accepted() const { return accepted_.load(); }
  void set_log(std::function<void(const std::string&)> log) { log_ = std::move(log); }

 private:
  void AcceptLoop();
  void Serve(int fd);

  AbciApp* app_;
  AbciServerOptions options_;
  std::string unix_path_;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<int> accepted_{0};
  std::thread accept_thread_;
  std::mutex conns_mu_;
  std::vector<int> conn_fds_;          // guarded by conns_mu_
  std::vector<std::thread> conn_threads_;  // guarded by conns_mu_
  std::function<void(const std::string&)> log_;
};

}  // namespace lucid::consensus
