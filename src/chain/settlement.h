// Internal to lucid_chain: async requests, replay-mode challenges, slashing evidence, data feeds
// and workflows (docs/settlement.md). Tx handlers run inside ApplyTx (after the sender's
// signature, nonce and tx fee); EndBlock runs after a block's txs in FinalizeBlock (proposal
// simulations run only the txs: EndBlock comes after them and changes no tx outcome).
// Thread-safety: free functions over caller-owned overlays.
#pragma once

#include <optional>

#include "chain/execute.h"

namespace lucid::chain {

Result<std::optional<AsyncRequest>> LoadAsyncRequest(const StateOverlay& state, const Hash32& id);
Result<std::optional<Challenge>> LoadChallenge(const StateOverlay& state, const Hash32& receipt_id);
Result<std::optional<DataFeed>> LoadFeed(const StateOverlay& state, std::string_view name);
Result<std::optional<Workflow>> LoadWorkflow(const StateOverlay& state, uint64_t id);

TxOutcome ApplyRequestInference(StateOverlay& state, const Tx& tx, const RequestInferenceTx& body, const ExecEnv& env);
TxOutcome ApplyReportConflict(StateOverlay& state, const Tx& tx, const ReportConflictTx& body, const ExecEnv& env);
TxOutcome ApplyChallenge(StateOverlay& state, const Tx& tx, const ChallengeTx& body, const ExecEnv& env);
TxOutcome ApplyChallengeVote(StateOverlay& state, const Tx& tx, const ChallengeVoteTx& body, const ExecEnv& env);
TxOutcome ApplyCreateWorkflow(StateOverlay& state, const Tx& tx, const CreateWorkflowTx& body, const ExecEnv& env);
TxOutcome ApplyPostData(StateOverlay& state, const Tx& tx, const PostDataTx& body, const ExecEnv& env);

// What the chain does on its own at the end of block env.height, in this order: workflow runs
// due now become async requests; pending async requests whose deadline is this height expire
// (refund, assigned node slashed); challenges sent in the previous block get their committee
// (seeded by env.prev_hash); challenges whose vote window ends now are closed; replay receipts
// whose challenge window ends now are paid. A non-ok status is a state fault.
Status EndBlock(StateOverlay& state, const ExecEnv& env);

// The node the chain assigns to request_id among the unjailed nodes registered for mode:
// stake-weighted, from TaggedSha256("lucid:assign:v1", request_id). None if no node qualifies.
Result<std::optional<Address>> AssignNode(const StateOverlay& state, const Hash32& request_id, Mode mode,
                                          const std::vector<Address>& exclude = {});

}  // namespace lucid::chain
