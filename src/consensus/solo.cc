#include "consensus/solo.h"

#include <algorithm>

#include "crypto/hash.h"

namespace lucid::consensus {

namespace {
uint64_t SystemClockMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}
}  // namespace

Result<std::unique_ptr<SoloProducer>> SoloProducer::Create(std::unique_ptr<chain::Application> app,
                                                           crypto::PrivateKey key, SoloConfig config) {
  if (!app) return InvalidArgument("SoloProducer: null application");
  if (!app->initialized()) return FailedPrecondition("SoloProducer: chain is not initialized (run InitChain)");
  if (config.block_time.count() <= 0) return InvalidArgument("SoloProducer: block_time must be positive");
  if (config.max_mempool_txs == 0 || config.max_block_txs == 0)
    return InvalidArgument("SoloProducer: mempool and block limits must be positive");
  std::unique_ptr<SoloProducer> p(new SoloProducer());
  p->app_ = std::move(app);
  p->key_ = key;
  if (!config.clock_ms) config.clock_ms = SystemClockMs;
  p->config_ = std::move(config);
  return p;
}

Result<std::unique_ptr<SoloProducer>> SoloProducer::Open(const std::string& path, const chain::Genesis& genesis,
                                                         crypto::PrivateKey key, SoloConfig config) {
  ASSIGN_OR_RETURN(std::unique_ptr<store::KvStore> store, store::KvStore::Open(path));
  ASSIGN_OR_RETURN(std::unique_ptr<chain::Application> app, chain::Application::Open(store.get()));
  if (!app->initialized()) {
    RETURN_IF_ERROR(app->InitChain(genesis));
  } else if (app->Info().chain_id != genesis.chain_id) {
    return FailedPrecondition("store at " + path + " holds chain '" + app->Info().chain_id + "', not '" +
                              genesis.chain_id + "'");
  }
  ASSIGN_OR_RETURN(std::unique_ptr<SoloProducer> producer, Create(std::move(app), key, std::move(config)));
  producer->owned_store_ = std::move(store);
  return producer;
}

SoloProducer::~SoloProducer() {
  Stop();
  app_.reset();  // before owned_store_, which it reads
}

uint64_t SoloProducer::NowMs() const { return config_.clock_ms(); }

Status SoloProducer::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return FailedPrecondition("SoloProducer: already started");
  stopping_ = false;
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void SoloProducer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void SoloProducer::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  auto next = std::chrono::steady_clock::now() + config_.block_time;
  while (!stopping_) {
    if (stop_cv_.wait_until(lock, next, [this] { return stopping_; })) break;
    // A failure here is a store fault (disk); nothing to do but retry next tick.
    (void)ProduceBlockLocked();
    next += config_.block_time;
    auto now = std::chrono::steady_clock::now();
    if (next < now) next = now;  // fell behind: do not burst to catch up
  }
}

Result<ProducedBlock> SoloProducer::ProduceBlock() {
  std::lock_guard<std::mutex> lock(mu_);
  return ProduceBlockLocked();
}

Result<ProducedBlock> SoloProducer::ProduceBlockLocked() {
  const chain::AppInfo info = app_->Info();
  chain::BlockInput in;
  in.height = info.height + 1;
  in.time_ms = std::max(NowMs(), info.last_time_ms + 1);
  in.proposer = key_.address();
  in.prev_hash = info.last_block_hash;
  const size_t n = std::min(mempool_.size(), config_.max_block_txs);
  in.txs.reserve(n);
  for (size_t i = 0; i < n; ++i) in.txs.push_back(mempool_[i].bytes);

  ASSIGN_OR_RETURN(chain::FinalizedBlock fin, app_->FinalizeBlock(in));
  protocol::SignedHeader header{fin.header, key_.Sign(protocol::SigningDigest(fin.header.Hash()))};
  RETURN_IF_ERROR(app_->Commit(header));

  for (size_t i = 0; i < n; ++i) {
    mempool_hashes_.erase(mempool_.front().hash);
    mempool_.pop_front();
  }
  bool woke = false;
  for (const auto& r : fin.results) {
    auto it = awaited_.find(r.tx_hash);
    if (it != awaited_.end()) {
      it->second = r;
      woke = true;
    }
  }
  RecheckMempoolLocked();
  if (woke) included_cv_.notify_all();
  return ProducedBlock{std::move(header), std::move(fin.results)};
}

// Commit reset the check state to committed state: re-admit what is left in the mempool,
// dropping txs that no longer pass (their waiters get the refusal).
void SoloProducer::RecheckMempoolLocked() {
  std::deque<PendingTx> kept;
  bool woke = false;
  for (auto& tx : mempool_) {
    chain::TxResult r = app_->CheckTx(tx.bytes);
    if (r.code == chain::TxCode::kOk) {
      kept.push_back(std::move(tx));
      continue;
    }
    mempool_hashes_.erase(tx.hash);
    if (auto it = awaited_.find(tx.hash); it != awaited_.end()) {
      it->second = std::move(r);
      woke = true;
    }
  }
  mempool_ = std::move(kept);
  if (woke) included_cv_.notify_all();
}

Result<chain::TxResult> SoloProducer::BroadcastTx(ByteView tx_bytes) {
  chain::WarmSignatures({tx_bytes}, 1);  // outside the lock: concurrent callers recover in parallel
  std::lock_guard<std::mutex> lock(mu_);
  const Hash32 hash = crypto::Sha256(tx_bytes);
  if (mempool_hashes_.count(hash)) return AlreadyExists("tx " + ToHex(hash) + " is already in the mempool");
  if (mempool_.size() >= config_.max_mempool_txs)
    return Unavailable("mempool is full (" + std::to_string(config_.max_mempool_txs) + " txs)");
  chain::TxResult r = app_->CheckTx(tx_bytes);
  if (r.code == chain::TxCode::kOk) {
    mempool_.push_back({hash, Bytes(tx_bytes.begin(), tx_bytes.end())});
    mempool_hashes_.insert(hash);
  }
  return r;
}

Result<chain::TxResult> SoloProducer::SubmitAndWait(ByteView tx_bytes, std::chrono::milliseconds timeout) {
  const Hash32 hash = crypto::Sha256(tx_bytes);
  chain::WarmSignatures({tx_bytes}, 1);
  std::unique_lock<std::mutex> lock(mu_);
  if (mempool_hashes_.count(hash)) return AlreadyExists("tx " + ToHex(hash) + " is already in the mempool");
  if (awaited_.count(hash)) return AlreadyExists("tx " + ToHex(hash) + " is already awaited");
  if (mempool_.size() >= config_.max_mempool_txs)
    return Unavailable("mempool is full (" + std::to_string(config_.max_mempool_txs) + " txs)");
  chain::TxResult check = app_->CheckTx(tx_bytes);
  if (check.code != chain::TxCode::kOk) return check;
  mempool_.push_back({hash, Bytes(tx_bytes.begin(), tx_bytes.end())});
  mempool_hashes_.insert(hash);
  awaited_[hash] = std::nullopt;
  const bool done = included_cv_.wait_for(lock, timeout, [&] { return awaited_[hash].has_value(); });
  std::optional<chain::TxResult> result = std::move(awaited_[hash]);
  awaited_.erase(hash);
  if (!done) return Unavailable("tx " + ToHex(hash) + " not included within " + std::to_string(timeout.count()) + " ms");
  return *result;
}

size_t SoloProducer::mempool_size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return mempool_.size();
}

}  // namespace lucid::consensus
