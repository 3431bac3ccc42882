// The chain's deterministic state machine. One Application object is driven either by
// the solo block producer (consensus/solo.h: devnet, tests) or by CometBFT over ABCI.
// FinalizeBlock executes a block against a staged copy of the state; Commit persists it
// atomically (one RocksDB write batch holding state, block, txs and receipts), so a crash
// at any moment resumes from the last committed block with the same app hash.
// Thread-safety: not thread-safe; callers serialise access with one lock (the consensus
// layer owns it). Query methods read committed state only.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "crypto/merkle.h"
#include "protocol/types.h"
#include "store/kv_store.h"

namespace lucid::chain {

using namespace lucid::protocol;  // NOLINT: the chain speaks protocol types throughout

// Stable response codes of txs (0 = ok). Listed in docs/formats/protocol.md.
enum class TxCode : uint32_t {
  kOk = 0,
  kMalformed = 1,         // undecodable, trailing bytes, bad enum, oversized
  kWrongChain = 2,
  kBadSignature = 3,
  kBadNonce = 4,          // account nonce mismatch (replay or gap)
  kInsufficientFunds = 5,
  kUnknownAccount = 6,
  kInvalidField = 7,      // name syntax, zero amount, bad version order, ...
  kNotFound = 8,          // unknown repo / model version / node
  kAlreadyExists = 9,
  kUnauthorized = 10,     // not the owner / not the requester's chosen node
  kBadRequest = 11,       // request signature, request nonce replay, deadline passed
  kBadReceipt = 12,       // receipt does not match the request
  kBadEvidence = 13,      // evidence does not verify for the receipt
  kFeeTooHigh = 14,       // receipt fee + price above the signed max fee
  kOverflow = 15,
  kNodeNotRegistered = 16,
  kBadAttestation = 17,          // RegisterEnclave: the attestation document does not verify
  kMeasurementNotAllowed = 18,   // RegisterEnclave: the document's PCR0 is not an allowed measurement
  kNodeJailed = 19,              // the node was slashed for misbehaviour and may not serve
  kWrongState = 20,              // request / receipt / challenge not in a state that allows the tx
  kNoNodeAvailable = 21,         // RequestInference: no unjailed node registered for the mode
};
std::string_view TxCodeName(TxCode c);

// tee mode (docs/tee-chain.md). admin and dev_root_der are fixed at genesis; allowed_pcr0,
// heartbeat_ms and max_document_age_ms start here and change by UpdateTeeParamsTx (the current
// values live in state, see CurrentTeeParams).
struct TeeParams {
  std::optional<Address> admin;        // the only sender of UpdateTeeParamsTx; none: frozen
  std::vector<Bytes> allowed_pcr0;     // 48 bytes each, sorted, unique
  uint64_t heartbeat_ms = 3600ull * 1000;       // an enclave registration lasts this long
  uint64_t max_document_age_ms = 5ull * 60 * 1000;  // document timestamp vs block time
  // DER of the dev enclave PKI's root (tee/dev_pki.h). Accepted as a second trust anchor next
  // to the pinned AWS root only when dev_mode is true; InitChain refuses it otherwise.
  Bytes dev_root_der;
  bool operator==(const TeeParams&) const = default;
};

// Async requests, replay challenges, slashing and workflows (docs/settlement.md). Amounts in
// basis points are of the node's stake at the time of the penalty.
struct SettlementParams {
  uint64_t async_max_deadline_blocks = 100;  // deadline_height - height at most this
  uint64_t async_min_deadline_blocks = 3;    // ... and at least this (time to run and settle)
  uint64_t async_miss_slash_bps = 100;       // 1 %: assigned node missed an async deadline
  uint64_t conflict_slash_bps = 5000;        // 50 %: two signed outputs for one request
  uint64_t replay_challenge_blocks = 10;     // replay receipts final this many blocks later
  uint64_t challenge_bond = 1000;            // a challenger's stake, lost if the node was right
  uint64_t challenge_committee = 3;          // re-executing nodes drawn per challenge
  uint64_t challenge_vote_blocks = 20;       // votes accepted this many blocks after the challenge
  uint64_t replay_slash_bps = 5000;          // node whose replay output the committee refutes
  uint64_t workflow_max_runs = 1000;
  bool operator==(const SettlementParams&) const = default;
};

// Hub replication (docs/ipfs.md "Replication"): hubs announce the versions they pin
// (AnnouncePinsTx); a published version pinned by fewer than min_replicas hubs is
// under-replicated, and hubs running the replicator pin it until it is not.
struct ReplicationParams {
  uint64_t min_replicas = 1;  // R
  uint64_t hub_bond = 1000;   // held from a hub while it is one (returned when it retires)
  bool operator==(const ReplicationParams&) const = default;
};

struct Params {
  uint64_t tx_fee_per_byte = 1;      // paid by the sender, credited to the block proposer
  uint64_t min_node_stake = 1000;
  // 4 MiB: a zkml SubmitResult carries its proof (about 0.25-1.2 MB for the models in
  // docs/zk.md); CometBFT's mempool max_tx_bytes must be at least this.
  uint64_t max_tx_bytes = 4 << 20;
  bool dev_mode = false;             // dev keys and dev enclave root accepted only when true
  TeeParams tee;
  SettlementParams settlement;
  ReplicationParams replication;
};

struct GenesisAccount {
  Address address;
  uint64_t balance = 0;
};

struct Genesis {
  std::string chain_id;
  uint64_t genesis_time_ms = 0;
  Params params;
  std::vector<GenesisAccount> accounts;
  std::vector<Address> validators;  // block producers whose header signatures are accepted
};

struct Account {
  uint64_t balance = 0;
  uint64_t nonce = 0;          // next tx nonce
  uint64_t request_nonce = 0;  // next inference request nonce (requests may skip ahead)
};

struct VersionEntry {
  uint32_t major = 0;
  uint32_t minor = 0;
  Cid manifest;
  uint64_t price = 0;
  uint64_t height = 0;
  std::optional<Hash32> zkml_commitment;  // set when the version supports zkml
};

struct Repo {
  std::string name;
  Address owner;
  std::string description, task, license;
  std::vector<std::string> tags;
  uint64_t created_height = 0;
  std::vector<VersionEntry> versions;  // in publication order
};

struct NodeInfo {
  Address address;
  uint64_t stake = 0;
  uint32_t modes = 0;
  std::string endpoint;
  uint64_t registered_height = 0;
  // Penalties (docs/settlement.md): a jailed node is never assigned and its results are refused.
  bool jailed = false;
  uint64_t slashed = 0;         // total stake taken so far
  uint64_t missed_deadlines = 0;
};

// An inference request posted on chain (RequestInferenceTx) or created by a workflow run.
enum class AsyncStatus : uint8_t { kPending = 1, kAnswered = 2, kExpired = 3 };
std::string_view AsyncStatusName(AsyncStatus s);
struct AsyncRequest {
  Hash32 id{};                  // request.request.Hash()
  SignedRequest request;        // workflow runs: all-zero signature (the chain made it)
  Bytes inputs;                 // EncodeTensorMap bytes hashing to request.input_hash
  Address assigned;             // the node that must answer
  uint64_t escrow = 0;          // held from the requester (max_fee)
  uint64_t created_height = 0;
  AsyncStatus status = AsyncStatus::kPending;
  std::optional<Hash32> receipt_id;  // answered
  uint64_t closed_height = 0;   // answered or expired at
  uint64_t workflow_id = 0;     // 0: posted by RequestInferenceTx
};

// A replay-mode receipt's settlement (docs/settlement.md "Replay mode").
enum class SettlementStatus : uint8_t { kFinal = 0, kPending = 1, kChallenged = 2, kOverturned = 3 };
std::string_view SettlementStatusName(SettlementStatus s);

struct ChallengeVote {
  Address voter;
  Hash32 output_hash{};
  uint64_t height = 0;
};
// kNodeRefuted: the committee agreed on an output that is neither the node's nor the claim.
enum class ChallengeStatus : uint8_t { kOpen = 1, kNodeWon = 2, kChallengerWon = 3, kVoid = 4, kNodeRefuted = 5 };
std::string_view ChallengeStatusName(ChallengeStatus s);
struct Challenge {
  Hash32 receipt_id{};
  Address challenger;
  Hash32 claimed_output_hash{};
  Bytes inputs;                 // the receipt's inputs (from the ChallengeTx or the async request)
  uint64_t bond = 0;
  uint64_t height = 0;          // block of the ChallengeTx
  uint64_t vote_deadline = 0;   // last height votes are accepted
  std::vector<Address> committee;
  std::vector<ChallengeVote> votes;
  ChallengeStatus status = ChallengeStatus::kOpen;
  std::optional<Hash32> decided_output_hash;  // the committee's majority
  uint64_t closed_height = 0;
};

struct DataFeed {
  std::string name;
  Address owner;
  std::vector<Address> posters;  // sorted, unique (the owner may always post)
  Bytes value;                   // EncodeTensorMap bytes
  uint64_t updated_height = 0;
};

struct WorkflowRun {
  uint64_t height = 0;
  Hash32 request_id{};
};
struct Workflow {
  uint64_t id = 0;
  Address owner;
  CreateWorkflowTx spec;
  uint64_t created_height = 0;
  uint64_t next_height = 0;      // next due height (0: done)
  uint64_t runs_done = 0;
  uint64_t escrow = 0;           // prepaid fees not yet spent or returned
  std::vector<WorkflowRun> history;
};

// A hub that announced pins (AnnouncePinsTx).
struct HubRecord {
  Address address;
  std::string ipfs_peer;        // its kubo peer id
  std::string endpoint;         // its Lucid API
  uint64_t bond = 0;
  uint64_t registered_height = 0;
  uint64_t updated_height = 0;  // last AnnouncePins
  uint64_t pins = 0;            // versions it pins now
};
// Where a published version is pinned: the hubs that announced it, in address order.
struct HubPin {
  HubRecord hub;
  uint64_t height = 0;          // of the announcement
};
struct VersionReplication {
  Cid manifest;
  std::string repo;
  uint32_t major = 0;
  uint32_t minor = 0;
  uint64_t min_replicas = 0;    // params.replication.min_replicas
  std::vector<HubPin> pinned_by;
  bool under_replicated() const { return pinned_by.size() < min_replicas; }
};

// A node's registered enclave (RegisterEnclaveTx); re-registration replaces it.
struct EnclaveInfo {
  Address node;
  Bytes public_key;            // 65-byte uncompressed SEC1 secp256k1 point
  Address enclave_address;     // AddressFromPublicKey(public_key): receipts recover to this
  Bytes pcr0;                  // 48 bytes, from the verified document
  uint64_t registered_at_ms = 0;  // block time of the RegisterEnclave
  uint64_t expires_at_ms = 0;     // registered_at_ms + heartbeat_ms at registration
  uint64_t registered_height = 0;
  uint64_t document_timestamp_ms = 0;
};

struct ReceiptRecord {
  SubmitResultTx result;      // signed request, receipt, evidence
  uint64_t height = 0;
  uint32_t index = 0;         // position among the block's receipts
  uint64_t node_paid = 0;
  uint64_t publisher_paid = 0;
  // replay receipts: held until final_height, then paid unless a challenge overturned them.
  SettlementStatus settlement = SettlementStatus::kFinal;
  uint64_t final_height = 0;  // replay: end of the challenge window
  uint64_t held = 0;          // replay: fee + price held from the requester while pending
};

struct TxResult {
  TxCode code = TxCode::kOk;
  std::string log;            // human-readable reason when code != ok
  Hash32 tx_hash{};
  std::optional<Hash32> receipt_id;  // set for an accepted SubmitResult
  uint64_t height = 0;        // block that executed the tx; 0 for CheckTx results
};

struct BlockInput {
  uint64_t height = 0;
  uint64_t time_ms = 0;
  Address proposer;
  Hash32 prev_hash{};
  std::vector<Bytes> txs;      // raw SignedTx bytes as proposed
};

struct FinalizedBlock {
  BlockHeader header;          // filled except for the signature
  std::vector<TxResult> results;
};

struct StoredBlock {
  SignedHeader header;
  std::vector<Bytes> txs;
  std::vector<TxResult> results;
};

struct AppInfo {
  std::string chain_id;
  uint64_t height = 0;         // last committed height (0 before the first block)
  Hash32 app_hash{};
  Hash32 last_block_hash{};
  uint64_t last_time_ms = 0;
};

// Process-wide performance knobs (tests and benchmarks; neither changes any result or hash).
// Threads that recover a block's signatures before its txs execute in order (FinalizeBlock,
// SelectBlockTxs, SimulateBlock); 1: no warm-up, 0: the hardware's cores (the default, at
// most 16).
void SetSignatureThreads(int threads);
int SignatureThreads();
// The memo of passed checks (chain/execute.cc); on by default.
void SetPassedCheckMemo(bool enabled);
// Recovers the secp256k1 signatures of txs (the tx's; a SubmitResult's request and vanilla or
// tee evidence signatures) into verify's signature cache (verify/sig_cache.h), split over up
// to `threads` threads (base/parallel.h). Reads no state and decides nothing: ApplyTx run
// afterwards, in block order, finds the recoveries there; undecodable txs are skipped and
// invalid signatures are left for ApplyTx to refuse with its own message.
void WarmSignatures(const std::vector<ByteView>& txs, int threads);

class Application {
 public:
  // Opens (or creates) the state under store. A new store needs InitChain.
  static Result<std::unique_ptr<Application>> Open(store::KvStore* store);
  ~Application();  // out of line: Impl is complete only in app.cc

  AppInfo Info() const;
  bool initialized() const;
  Status InitChain(const Genesis& genesis);
  const Params& params() const;
  const Genesis& genesis() const;  // REQUIRES: initialized()

  // Mempool admission against a check state (balances and nonces after pending txs).
  TxResult CheckTx(ByteView tx_bytes);
  // Execute a block on a staged state; no persistence. A tx that fails gets a non-zero
  // code and changes no state at all (no fee, no nonce bump).
  Result<FinalizedBlock> FinalizeBlock(const BlockInput& block);
  // Persist the staged block with its signed header atomically; reset the check state.
  Status Commit(const SignedHeader& header);
  // Commit for an external consensus engine that signs headers itself (CometBFT commits,
  // docs/consensus.md): persists the staged block with an all-zero header signature.
  Status CommitUnsigned();

  // Proposals (ABCI PrepareProposal / ProcessProposal). Both run block's txs in order on a
  // scratch copy of the committed state, exactly as FinalizeBlock(block) would (same env:
  // height, time, proposer, fees), and keep nothing. block's header fields are checked as in
  // FinalizeBlock (an error there is the proposal's fault, not a state fault).
  // SelectBlockTxs: indices of the txs that pass, in order, each against the state the kept
  // txs before it left, skipping any tx whose tx_cost(size) would take the sum over max_cost.
  Result<std::vector<size_t>> SelectBlockTxs(const BlockInput& block, uint64_t max_cost,
                                             const std::function<uint64_t(size_t)>& tx_cost) const;
  // SimulateBlock: one result per tx (code ok = it would pass in this block).
  Result<std::vector<TxResult>> SimulateBlock(const BlockInput& block) const;

  // Queries over committed state.
  Result<Account> GetAccount(const Address& a) const;  // zero account if unknown
  Result<Repo> GetRepo(std::string_view name) const;
  Result<std::vector<Repo>> ListRepos(std::string_view query) const;  // substring on name/tags/task
  Result<NodeInfo> GetNode(const Address& a) const;
  Result<std::vector<NodeInfo>> ListNodes() const;
  Result<EnclaveInfo> GetEnclave(const Address& node) const;  // NotFound if none
  Result<TeeParams> GetTeeParams() const;                     // current (genesis + updates)
  Result<ReceiptRecord> GetReceipt(const Hash32& receipt_id) const;
  // Inclusion proof of the receipt id in its block's receipts_root.
  Result<crypto::InclusionProof> ProveReceipt(const Hash32& receipt_id) const;
  Result<StoredBlock> GetBlock(uint64_t height) const;
  // Async requests, challenges, feeds and workflows (docs/settlement.md). NotFound if none.
  Result<AsyncRequest> GetAsyncRequest(const Hash32& request_id) const;
  // Pending async requests assigned to node, oldest deadline first.
  Result<std::vector<AsyncRequest>> PendingRequestsFor(const Address& node) const;
  Result<Challenge> GetChallenge(const Hash32& receipt_id) const;
  // Open challenges whose committee includes node.
  Result<std::vector<Challenge>> OpenChallengesFor(const Address& node) const;
  Result<DataFeed> GetFeed(std::string_view name) const;
  Result<Workflow> GetWorkflow(uint64_t id) const;
  // Hub replication (docs/ipfs.md "Replication"). NotFound for an unknown hub or a CID that is
  // no published version's manifest. ListReplication: every published version (by manifest CID).
  Result<HubRecord> GetHub(const Address& hub) const;
  Result<std::vector<HubRecord>> ListHubs() const;
  Result<std::vector<Cid>> HubPins(const Address& hub) const;  // manifest CIDs, in byte order
  Result<VersionReplication> GetReplication(const Cid& manifest) const;
  Result<std::vector<VersionReplication>> ListReplication() const;
  // Resolve "name@major.minor" (or "name" = latest) to a version entry.
  Result<VersionEntry> ResolveModel(std::string_view ref) const;

 private:
  Application() = default;
  Status CommitStaged(const SignedHeader& header);  // persists impl_->staged under header
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lucid::chain
