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
};

struct TxOutcome {
  TxCode code = TxCode::kOk;
  std::string log;
  std::optional<Hash32> receipt_id;
  // Set when the state itself could not be read (I/O, corrupt record): not the tx's fault.
  std::optional<Status> internal_error;
};

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
