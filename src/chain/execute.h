// Internal to lucid_chain: execution of one transaction against a state overlay, and the
// typed state accessors it uses. Deterministic: depends only on the tx bytes, the state
// and ExecEnv. Thread-safety: free functions over caller-owned overlays.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "chain/app.h"
#include "chain/state.h"

namespace lucid::chain {

struct ExecEnv {
  std::string chain_id;
  Params params;
  uint64_t height = 0;          // height of the block being built
  uint64_t time_ms = 0;         // its block time (CheckTx: the last committed block's time)
  Address proposer;             // receives tx fees when credit_fees
  bool credit_fees = true;      // false in CheckTx (proposer not known yet)
  uint32_t receipt_index = 0;   // index the next accepted receipt gets in the block
  Hash32 prev_hash{};           // hash of the previous block (CheckTx: unknown, zero)
};

struct TxOutcome {
  TxCode code = TxCode::kOk;
  std::string log;
  std::optional<Hash32> receipt_id;
  // Set when the state itself could not be read (I/O, corrupt record): not the tx's fault.
  std::optional<Status> internal_error;
};

// ---- helpers shared by the tx handlers (execute.cc, settlement.cc) ----
TxOutcome Fail(TxCode code, std::string log);
// The state itself could not be read: not the tx's fault (TxOutcome::internal_error).
TxOutcome InternalFailure(const Status& s);
bool AddOverflows(uint64_t a, uint64_t b);
void StoreAccount(StateOverlay& state, const Address& a, const Account& account);
// Credits amount to a (creating the account). Overflow is an error, never a wrap.
TxOutcome Credit(StateOverlay& state, const Address& a, uint64_t amount, std::string_view what);
// Takes amount from a; kInsufficientFunds if the balance is lower.
TxOutcome Debit(StateOverlay& state, const Address& a, uint64_t amount, std::string_view what);
inline bool Failed(const TxOutcome& o) { return o.code != TxCode::kOk || o.internal_error.has_value(); }

// Loads a value or returns an internal failure from the enclosing function (a TxOutcome).
#define LOAD_OR_FAIL(lhs, expr) LOAD_OR_FAIL_IMPL(LUCID_CONCAT(_load_, __LINE__), lhs, expr)
#define LOAD_OR_FAIL_IMPL(tmp, lhs, expr)              \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return InternalFailure(tmp.status()); \
  lhs = std::move(tmp).value()

// Executes tx_bytes on state. On a non-ok outcome the caller discards state's writes, so a
// failed tx changes nothing; on ok the caller merges them into the parent overlay.
TxOutcome ApplyTx(StateOverlay& state, ByteView tx_bytes, const ExecEnv& env);

Result<std::optional<Account>> LoadAccount(const StateOverlay& state, const Address& a);
Result<std::optional<Repo>> LoadRepo(const StateOverlay& state, std::string_view name);
Result<std::optional<NodeInfo>> LoadNode(const StateOverlay& state, const Address& a);
Result<std::optional<EnclaveInfo>> LoadEnclave(const StateOverlay& state, const Address& node);
// genesis params.tee with the stored updates (allowed_pcr0, heartbeat, max age) applied.
Result<TeeParams> CurrentTeeParams(const StateOverlay& state, const Params& genesis_params);

// "1.2" -> {1, 2}.
Result<std::pair<uint32_t, uint32_t>> ParseVersion(std::string_view text);
// [a-z0-9][a-z0-9._-]{0,63}
bool IsValidRepoName(std::string_view name);

}  // namespace lucid::chain
