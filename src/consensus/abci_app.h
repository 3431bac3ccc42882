// The ABCI 2.0 application (CometBFT v0.38, docs/consensus.md): maps each ABCI request onto
// the one chain::Application, under one application lock shared by CometBFT's four
// connections (consensus, mempool, query, snapshot) and the local HTTP API's queries.
//   Info            last committed height + app hash (CometBFT's handshake replays the rest)
//   InitChain       Lucid genesis JSON in app_state_bytes; validators from CometBFT
//   CheckTx         New and Recheck against the check state (reset at Commit)
//   PrepareProposal the txs that pass in order on a scratch state, within max_tx_bytes
//   ProcessProposal REJECT when any tx would fail in that block (an accepted block's
//                   execution is kept for its FinalizeBlock)
//   FinalizeBlock   executes (staged); app_hash = Lucid BlockHeader(h).Hash()
//   Commit          persists atomically (unsigned Lucid header: CometBFT's commit signs it)
//   Query           JSON values: /status /genesis /account/A /repo/N /model/REF /node/A
//                   /nodes /enclave/A /receipt/ID (with inclusion proof) /block/H
//   snapshots       answered empty (no state sync yet)
// Nothing in a request can crash the process: every failure is a response (a state fault
// in FinalizeBlock/Commit is an exception response, which makes CometBFT stop).
// Thread-safety: every public method is thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "chain/app.h"
#include "store/kv_store.h"
#include "tendermint/abci/types.pb.h"

namespace lucid::consensus {

namespace abci = ::tendermint::abci;

// CometBFT validator address of an ed25519 public key: SHA-256(key)[:20].
crypto::Address CometAddress(ByteView ed25519_public_key);

// The Lucid block time of a CometBFT block: its time in ms (floor), made strictly later
// than the last committed block time.
uint64_t LucidBlockTimeMs(int64_t seconds, int32_t nanos, uint64_t last_time_ms);

// The Lucid genesis of a RequestInitChain (docs/consensus.md "Genesis").
Result<chain::Genesis> GenesisFromInitChain(const abci::RequestInitChain& req);

class AbciApp {
 public:
  // Opens (or creates) the chain store at path.
  static Result<std::unique_ptr<AbciApp>> Open(const std::string& store_path);
  // Over an already open application (tests); the store must outlive the AbciApp.
  static std::unique_ptr<AbciApp> Wrap(std::unique_ptr<chain::Application> app);
  ~AbciApp();

  // One request → its response (never throws; unknown requests get an exception response).
  abci::Response Handle(const abci::Request& req);

  abci::ResponseInfo Info(const abci::RequestInfo& req);
  Result<abci::ResponseInitChain> InitChain(const abci::RequestInitChain& req);
  abci::ResponseCheckTx CheckTx(const abci::RequestCheckTx& req);
  Result<abci::ResponsePrepareProposal> PrepareProposal(const abci::RequestPrepareProposal& req);
  abci::ResponseProcessProposal ProcessProposal(const abci::RequestProcessProposal& req);
  Result<abci::ResponseFinalizeBlock> FinalizeBlock(const abci::RequestFinalizeBlock& req);
  Result<abci::ResponseCommit> Commit();
  abci::ResponseQuery Query(const abci::RequestQuery& req);

  // Runs fn with the application under the lock (committed-state queries only).
  template <typename Fn>
  auto WithApp(Fn&& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    return fn(static_cast<const chain::Application&>(*app_));
  }

  // Inclusion waits (the HTTP API's broadcast with wait): ExpectTx before the tx is sent,
  // then WaitForTx returns its result in the committed block that holds it, or nullopt on
  // timeout. Each ExpectTx needs one WaitForTx.
  void ExpectTx(const Hash32& tx_hash);
  std::optional<chain::TxResult> WaitForTx(const Hash32& tx_hash, std::chrono::milliseconds timeout);

  // Log sink (stderr by default).
  void set_log(std::function<void(const std::string&)> log) { log_ = std::move(log); }

 private:
  AbciApp() = default;
  Result<chain::BlockInput> BlockInputLocked(int64_t height, const google::protobuf::Timestamp& time,
                                             const std::string& proposer,
                                             const google::protobuf::RepeatedPtrField<std::string>& txs) const;

  std::unique_ptr<store::KvStore> owned_store_;  // set by Open; outlives app_
  mutable std::mutex mu_;  // the application lock: guards everything below
  std::unique_ptr<chain::Application> app_;
  bool finalized_ = false;  // a FinalizeBlock awaits its Commit
  std::optional<chain::FinalizedBlock> last_finalized_;
  // ProcessProposal executes an accepted proposal with FinalizeBlock (staged, not committed);
  // FinalizeBlock of the same block (same height, time, proposer, prev hash, txs) then reuses
  // that execution instead of running the txs a second time. Key: BlockKey of the input.
  std::optional<Hash32> processed_key_;
  std::optional<chain::FinalizedBlock> processed_;
  std::map<Hash32, std::optional<chain::TxResult>> awaited_;
  std::condition_variable included_cv_;
  std::function<void(const std::string&)> log_;
};

}  // namespace lucid::consensus
