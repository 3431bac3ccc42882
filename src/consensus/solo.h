// Solo block producer: one validator key makes every block (devnet, tests). It owns the
// Application and the one lock that serialises access to it, a bounded mempool, and a
// producer thread that builds one block per block_time (empty blocks too, so time moves):
// txs in arrival order -> FinalizeBlock -> sign header -> Commit. It resumes from the last
// committed height after a restart or a kill -9 (Commit is one atomic synced write).
// Thread-safety: every public method is thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include "chain/app.h"
#include "crypto/secp256k1.h"
#include "store/kv_store.h"

namespace lucid::consensus {

struct SoloConfig {
  std::chrono::milliseconds block_time{1000};
  size_t max_mempool_txs = 10'000;
  size_t max_block_txs = 2'000;
  // Wall clock in ms; injectable so tests control block times. Block time is always
  // max(clock, last block time + 1), so it strictly increases even if the clock does not.
  std::function<uint64_t()> clock_ms;
};

struct ProducedBlock {
  protocol::SignedHeader header;
  std::vector<chain::TxResult> results;
};

class SoloProducer {
 public:
  // REQUIRES: app is initialized (InitChain done) and key is one of its genesis validators.
  static Result<std::unique_ptr<SoloProducer>> Create(std::unique_ptr<chain::Application> app,
                                                      crypto::PrivateKey key, SoloConfig config = {});
  // Opens (or creates) the chain store at path, runs InitChain(genesis) on a new store, and
  // resumes from the last committed block otherwise (refusing a store of another chain).
  static Result<std::unique_ptr<SoloProducer>> Open(const std::string& path, const chain::Genesis& genesis,
                                                    crypto::PrivateKey key, SoloConfig config = {});
  ~SoloProducer();  // stops the producer thread

  // Starts / stops the producer thread. Stop is idempotent.
  Status Start();
  void Stop();

  // Builds, signs and commits one block from the mempool now.
  Result<ProducedBlock> ProduceBlock();

  // CheckTx, then admits to the mempool. The TxResult carries the CheckTx code (a tx with
  // a non-zero code is not admitted) and the tx hash. A full mempool is UNAVAILABLE, a tx
  // already pending is ALREADY_EXISTS.
  Result<chain::TxResult> BroadcastTx(ByteView tx_bytes);
  // BroadcastTx, then waits until the tx is in a committed block and returns its result
  // there (its code may differ from CheckTx's). A CheckTx refusal returns at once.
  // UNAVAILABLE (deadline exceeded) when no block includes it within timeout.
  Result<chain::TxResult> SubmitAndWait(ByteView tx_bytes, std::chrono::milliseconds timeout);

  size_t mempool_size() const;

  // Runs fn with the application under the lock (queries; do not call FinalizeBlock/Commit).
  template <typename Fn>
  auto WithApp(Fn&& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    return fn(static_cast<const chain::Application&>(*app_));
  }

 private:
  SoloProducer() = default;
  Result<ProducedBlock> ProduceBlockLocked();
  void RecheckMempoolLocked();
  void Loop();
  uint64_t NowMs() const;

  std::unique_ptr<store::KvStore> owned_store_;  // set by Open; outlives app_
  mutable std::mutex mu_;  // guards everything below
  std::unique_ptr<chain::Application> app_;
  crypto::PrivateKey key_;
  SoloConfig config_;
  struct PendingTx {
    Hash32 hash;
    Bytes bytes;
  };
  std::deque<PendingTx> mempool_;
  std::set<Hash32> mempool_hashes_;
  // Txs someone waits for: hash -> result once included (nullopt while pending).
  std::map<Hash32, std::optional<chain::TxResult>> awaited_;
  std::condition_variable included_cv_;

  std::thread thread_;
  bool stopping_ = false;
  std::condition_variable stop_cv_;
};

}  // namespace lucid::consensus
