#include "chain/app.h"

#include <algorithm>
#include <limits>
#include <set>

#include "base/metrics.h"
#include "chain/execute.h"
#include "chain/replication.h"
#include "chain/settlement.h"
#include "chain/state.h"
#include "crypto/hash.h"
#include "crypto/secp256k1.h"
#include "protocol/dev_keys.h"

namespace lucid::chain {

std::string_view TxCodeName(TxCode c) {
  switch (c) {
    case TxCode::kOk: return "OK";
    case TxCode::kMalformed: return "MALFORMED";
    case TxCode::kWrongChain: return "WRONG_CHAIN";
    case TxCode::kBadSignature: return "BAD_SIGNATURE";
    case TxCode::kBadNonce: return "BAD_NONCE";
    case TxCode::kInsufficientFunds: return "INSUFFICIENT_FUNDS";
    case TxCode::kUnknownAccount: return "UNKNOWN_ACCOUNT";
    case TxCode::kInvalidField: return "INVALID_FIELD";
    case TxCode::kNotFound: return "NOT_FOUND";
    case TxCode::kAlreadyExists: return "ALREADY_EXISTS";
    case TxCode::kUnauthorized: return "UNAUTHORIZED";
    case TxCode::kBadRequest: return "BAD_REQUEST";
    case TxCode::kBadReceipt: return "BAD_RECEIPT";
    case TxCode::kBadEvidence: return "BAD_EVIDENCE";
    case TxCode::kFeeTooHigh: return "FEE_TOO_HIGH";
    case TxCode::kOverflow: return "OVERFLOW";
    case TxCode::kNodeNotRegistered: return "NODE_NOT_REGISTERED";
    case TxCode::kBadAttestation: return "BAD_ATTESTATION";
    case TxCode::kMeasurementNotAllowed: return "MEASUREMENT_NOT_ALLOWED";
    case TxCode::kNodeJailed: return "NODE_JAILED";
    case TxCode::kWrongState: return "WRONG_STATE";
    case TxCode::kNoNodeAvailable: return "NO_NODE_AVAILABLE";
  }
  return "UNKNOWN_CODE";
}

namespace {
// Recovers a block's signatures on SignatureThreads() threads before it executes in order.
void WarmBlockSignatures(const std::vector<Bytes>& txs) {
  const int threads = SignatureThreads();
  if (threads <= 1 || txs.size() < 2) return;
  std::vector<ByteView> views(txs.begin(), txs.end());
  WarmSignatures(views, threads);
}
}  // namespace

struct Application::Impl {
  store::KvStore* store = nullptr;
  bool initialized = false;
  Genesis genesis;
  AppInfo info;
  // Balances and nonces after the txs admitted to the mempool since the last Commit.
  std::unique_ptr<StateOverlay> check_state;

  struct Staged {
    BlockHeader header;
    std::unique_ptr<StateOverlay> writes;
    std::vector<Bytes> txs;
    std::vector<TxResult> results;
  };
  std::optional<Staged> staged;

  bool IsValidator(const Address& a) const {
    return std::find(genesis.validators.begin(), genesis.validators.end(), a) != genesis.validators.end();
  }
  void ResetCheckState() { check_state = std::make_unique<StateOverlay>(store); }

  // The checks FinalizeBlock makes on a block's header fields.
  Status CheckBlockInput(const BlockInput& block, std::string_view what) const {
    const std::string w(what);
    if (!initialized) return FailedPrecondition(w + ": chain is not initialized");
    if (block.height != info.height + 1)
      return FailedPrecondition(w + ": height " + std::to_string(block.height) +
                                " does not follow committed height " + std::to_string(info.height));
    if (block.prev_hash != info.last_block_hash)
      return InvalidArgument(w + ": prev_hash does not match the last committed block");
    if (block.time_ms <= info.last_time_ms)
      return InvalidArgument(w + ": block time " + std::to_string(block.time_ms) +
                             " is not after the last block time " + std::to_string(info.last_time_ms));
    if (!IsValidator(block.proposer))
      return PermissionDenied(w + ": proposer " + block.proposer.ToHex() + " is not a validator");
    return Status::Ok();
  }
  ExecEnv BlockEnv(const BlockInput& block) const {
    ExecEnv env;
    env.chain_id = genesis.chain_id;
    env.params = genesis.params;
    env.height = block.height;
    env.time_ms = block.time_ms;
    env.proposer = block.proposer;
    env.prev_hash = block.prev_hash;
    env.credit_fees = true;
    return env;
  }
  // Runs txs in order on a scratch overlay; keep(i, size) decides whether tx i is tried at
  // all (false: skipped, no result). Calls done(i, outcome) for every tried tx.
  Status Simulate(const BlockInput& block, const std::function<bool(size_t)>& keep,
                  const std::function<void(size_t, const TxOutcome&)>& done) const {
    WarmBlockSignatures(block.txs);
    StateOverlay scratch(store);
    ExecEnv env = BlockEnv(block);
    uint32_t receipts = 0;
    for (size_t i = 0; i < block.txs.size(); ++i) {
      if (!keep(i)) continue;
      env.receipt_index = receipts;
      StateOverlay tx_state(&scratch);
      TxOutcome outcome = ApplyTx(tx_state, block.txs[i], env);
      if (outcome.internal_error) return *outcome.internal_error;
      if (outcome.code == TxCode::kOk) {
        tx_state.MergeInto(scratch);
        if (outcome.receipt_id) ++receipts;
      }
      done(i, outcome);
    }
    return Status::Ok();
  }
};

Application::~Application() = default;

Result<std::unique_ptr<Application>> Application::Open(store::KvStore* store) {
  if (store == nullptr) return InvalidArgument("Application::Open: null store");
  std::unique_ptr<Application> app(new Application());
  app->impl_ = std::make_unique<Impl>();
  Impl& impl = *app->impl_;
  impl.store = store;
  ASSIGN_OR_RETURN(std::optional<Bytes> genesis, store->Get(keys::kGenesis));
  if (genesis) {
    ASSIGN_OR_RETURN(impl.genesis, DecodeGenesis(*genesis));
    ASSIGN_OR_RETURN(std::optional<Bytes> info, store->Get(keys::kInfo));
    if (!info) return DataLoss("chain state has a genesis but no app info record");
    ASSIGN_OR_RETURN(impl.info, DecodeAppInfo(*info));
    impl.initialized = true;
  }
  impl.ResetCheckState();
  return app;
}

AppInfo Application::Info() const { return impl_->info; }
bool Application::initialized() const { return impl_->initialized; }
const Params& Application::params() const { return impl_->genesis.params; }
const Genesis& Application::genesis() const { return impl_->genesis; }

Status Application::InitChain(const Genesis& genesis) {
  if (impl_->initialized) return AlreadyExists("InitChain: chain is already initialized");
  if (genesis.chain_id.empty()) return InvalidArgument("InitChain: chain id is empty");
  if (genesis.chain_id.size() > 64) return InvalidArgument("InitChain: chain id longer than 64 bytes");
  if (genesis.validators.empty()) return InvalidArgument("InitChain: validator set is empty");
  if (genesis.params.max_tx_bytes == 0) return InvalidArgument("InitChain: max_tx_bytes is zero");
  {
    const TeeParams& tee = genesis.params.tee;
    if (!tee.dev_root_der.empty() && !genesis.params.dev_mode)
      return PermissionDenied("InitChain: a dev enclave root (params.tee.dev_root_der) is accepted only in dev mode");
    if (tee.heartbeat_ms == 0) return InvalidArgument("InitChain: tee heartbeat_ms is zero");
    if (tee.max_document_age_ms == 0) return InvalidArgument("InitChain: tee max_document_age_ms is zero");
    std::set<Bytes> pcrs;
    for (const Bytes& m : tee.allowed_pcr0) {
      if (m.size() != kPcr0Bytes)
        return InvalidArgument("InitChain: an allowed PCR0 must be 48 bytes, got " + std::to_string(m.size()));
      if (!pcrs.insert(m).second) return InvalidArgument("InitChain: duplicate allowed PCR0 " + ToHex(m));
    }
  }
  {
    const SettlementParams& sp = genesis.params.settlement;
    for (uint64_t bps : {sp.async_miss_slash_bps, sp.conflict_slash_bps, sp.replay_slash_bps})
      if (bps > 10000) return InvalidArgument("InitChain: a slash in basis points is above 10000");
    if (sp.async_min_deadline_blocks == 0 || sp.async_min_deadline_blocks > sp.async_max_deadline_blocks)
      return InvalidArgument("InitChain: async_min_deadline_blocks must be 1 to async_max_deadline_blocks");
    if (sp.async_max_deadline_blocks == 0 || sp.replay_challenge_blocks == 0 || sp.challenge_vote_blocks == 0 ||
        sp.challenge_committee == 0 || sp.workflow_max_runs == 0)
      return InvalidArgument("InitChain: settlement windows, committee size and workflow_max_runs must be positive");
    if (sp.challenge_committee > 64) return InvalidArgument("InitChain: challenge_committee is above 64");
    for (uint64_t blocks : {sp.async_max_deadline_blocks, sp.replay_challenge_blocks, sp.challenge_vote_blocks})
      if (blocks > 1'000'000) return InvalidArgument("InitChain: a settlement window is above 1,000,000 blocks");
  }
  if (genesis.params.replication.min_replicas == 0 || genesis.params.replication.min_replicas > 64)
    return InvalidArgument("InitChain: replication.min_replicas must be 1 to 64");
  std::set<Address> seen_validators(genesis.validators.begin(), genesis.validators.end());
  if (seen_validators.size() != genesis.validators.size())
    return InvalidArgument("InitChain: duplicate validator");
  if (!genesis.params.dev_mode)
    for (const Address& v : genesis.validators)
      if (IsDevAddress(v))
        return PermissionDenied("InitChain: validator " + v.ToHex() +
                                " is a public dev key; only a dev-mode genesis may use it");
  std::set<Address> seen_accounts;
  uint64_t supply = 0;
  for (const auto& a : genesis.accounts) {
    if (!seen_accounts.insert(a.address).second)
      return InvalidArgument("InitChain: duplicate genesis account " + a.address.ToHex());
    // A bounded total supply means no later credit can overflow.
    if (a.balance > std::numeric_limits<uint64_t>::max() - supply)
      return OutOfRange("InitChain: total genesis supply overflows uint64");
    supply += a.balance;
  }

  AppInfo info;
  info.chain_id = genesis.chain_id;
  info.height = 0;
  info.app_hash = GenesisAppHash(genesis);
  info.last_time_ms = genesis.genesis_time_ms;

  store::WriteBatch batch;
  batch.Put(std::string(keys::kGenesis), EncodeGenesis(genesis));
  batch.Put(std::string(keys::kInfo), EncodeAppInfo(info));
  for (const auto& a : genesis.accounts) {
    Account account;
    account.balance = a.balance;
    batch.Put(keys::Account(a.address), EncodeAccount(account));
  }
  RETURN_IF_ERROR(impl_->store->Write(batch));
  impl_->genesis = genesis;
  impl_->info = info;
  impl_->initialized = true;
  impl_->ResetCheckState();
  return Status::Ok();
}

TxResult Application::CheckTx(ByteView tx_bytes) {
  TxResult result;
  result.tx_hash = crypto::Sha256(tx_bytes);
  if (!impl_->initialized) {
    result.code = TxCode::kWrongChain;
    result.log = "chain is not initialized";
    return result;
  }
  ExecEnv env;
  env.chain_id = impl_->genesis.chain_id;
  env.params = impl_->genesis.params;
  env.height = impl_->info.height + 1;
  env.time_ms = impl_->info.last_time_ms;  // the next block's time is not known yet
  env.credit_fees = false;  // the proposer is unknown until the block is built
  StateOverlay tx_state(impl_->check_state.get());
  TxOutcome outcome = ApplyTx(tx_state, tx_bytes, env);
  if (outcome.code == TxCode::kOk) tx_state.MergeInto(*impl_->check_state);
  result.code = outcome.code;
  result.log = std::move(outcome.log);
  result.receipt_id = outcome.receipt_id;
  return result;
}

Result<FinalizedBlock> Application::FinalizeBlock(const BlockInput& block) {
  Impl& impl = *impl_;
  RETURN_IF_ERROR(impl.CheckBlockInput(block, "FinalizeBlock"));

  Impl::Staged staged;
  staged.writes = std::make_unique<StateOverlay>(impl.store);
  staged.txs = block.txs;
  ExecEnv env = impl.BlockEnv(block);

  WarmBlockSignatures(block.txs);
  std::vector<Hash32> tx_leaves, receipt_leaves;
  for (const Bytes& tx : block.txs) {
    TxResult result;
    result.tx_hash = crypto::Sha256(tx);
    tx_leaves.push_back(crypto::MerkleLeafHash(result.tx_hash));
    env.receipt_index = static_cast<uint32_t>(receipt_leaves.size());
    StateOverlay tx_state(staged.writes.get());
    TxOutcome outcome = ApplyTx(tx_state, tx, env);
    if (outcome.internal_error) return outcome.internal_error->WithContext("FinalizeBlock");
    if (outcome.code == TxCode::kOk) {
      tx_state.MergeInto(*staged.writes);
      if (outcome.receipt_id) receipt_leaves.push_back(crypto::MerkleLeafHash(*outcome.receipt_id));
    }
    result.code = outcome.code;
    result.log = std::move(outcome.log);
    result.receipt_id = outcome.receipt_id;
    result.height = block.height;
    staged.results.push_back(std::move(result));
  }
  // What the chain does on its own after the txs (async deadlines, workflow runs, challenge
  // windows), part of this block's write set and app hash.
  if (Status s = EndBlock(*staged.writes, env); !s.ok()) return s.WithContext("FinalizeBlock: EndBlock");

  BlockHeader& h = staged.header;
  h.chain_id = impl.genesis.chain_id;
  h.height = block.height;
  h.time_ms = block.time_ms;
  h.prev_hash = block.prev_hash;
  h.txs_root = crypto::MerkleRoot(tx_leaves);
  h.tx_count = static_cast<uint32_t>(tx_leaves.size());
  h.receipts_root = crypto::MerkleRoot(receipt_leaves);
  h.receipt_count = static_cast<uint32_t>(receipt_leaves.size());
  h.app_hash = NextAppHash(impl.info.app_hash, staged.writes->writes());
  h.proposer = block.proposer;

  FinalizedBlock out{h, staged.results};
  impl.staged = std::move(staged);
  return out;
}

Result<std::vector<size_t>> Application::SelectBlockTxs(const BlockInput& block, uint64_t max_cost,
                                                        const std::function<uint64_t(size_t)>& tx_cost) const {
  RETURN_IF_ERROR(impl_->CheckBlockInput(block, "SelectBlockTxs"));
  std::vector<size_t> kept;
  uint64_t used = 0;
  RETURN_IF_ERROR(impl_->Simulate(
      block,
      [&](size_t i) {
        const uint64_t cost = tx_cost(block.txs[i].size());
        return cost <= max_cost && used <= max_cost - cost;
      },
      [&](size_t i, const TxOutcome& outcome) {
        if (outcome.code != TxCode::kOk) return;
        used += tx_cost(block.txs[i].size());
        kept.push_back(i);
      }));
  return kept;
}

Result<std::vector<TxResult>> Application::SimulateBlock(const BlockInput& block) const {
  RETURN_IF_ERROR(impl_->CheckBlockInput(block, "SimulateBlock"));
  std::vector<TxResult> results(block.txs.size());
  RETURN_IF_ERROR(impl_->Simulate(
      block, [](size_t) { return true; },
      [&](size_t i, const TxOutcome& outcome) {
        TxResult& r = results[i];
        r.tx_hash = crypto::Sha256(block.txs[i]);
        r.code = outcome.code;
        r.log = outcome.log;
        r.receipt_id = outcome.receipt_id;
        r.height = block.height;
      }));
  return results;
}

Status Application::CommitUnsigned() {
  if (!impl_->staged) return FailedPrecondition("CommitUnsigned: no finalized block to commit");
  return CommitStaged(SignedHeader{impl_->staged->header, Signature{}});
}

Status Application::Commit(const SignedHeader& signed_header) {
  Impl& impl = *impl_;
  if (!impl.staged) return FailedPrecondition("Commit: no finalized block to commit");
  const BlockHeader& header = signed_header.header;
  if (header.height != impl.info.height + 1)
    return FailedPrecondition("Commit: height " + std::to_string(header.height) +
                              " does not follow committed height " + std::to_string(impl.info.height));
  if (header.Encode() != impl.staged->header.Encode())
    return InvalidArgument("Commit: signed header does not match the finalized block header");
  if (!impl.IsValidator(header.proposer))
    return PermissionDenied("Commit: proposer " + header.proposer.ToHex() + " is not a validator");
  const Hash32 block_hash = header.Hash();
  auto signer = crypto::RecoverAddress(SigningDigest(block_hash), signed_header.signature);
  if (!signer.ok()) return PermissionDenied("Commit: header signature: " + signer.status().message());
  if (*signer != header.proposer)
    return PermissionDenied("Commit: header signed by " + signer->ToHex() + ", not by proposer " +
                            header.proposer.ToHex());
  return CommitStaged(signed_header);
}

Status Application::CommitStaged(const SignedHeader& signed_header) {
  Impl& impl = *impl_;
  const BlockHeader& header = signed_header.header;
  const Hash32 block_hash = header.Hash();
  AppInfo info = impl.info;
  info.height = header.height;
  info.app_hash = header.app_hash;
  info.last_block_hash = block_hash;
  info.last_time_ms = header.time_ms;

  StoredBlock stored{signed_header, impl.staged->txs, impl.staged->results};
  store::WriteBatch batch;
  for (const auto& [key, value] : impl.staged->writes->writes()) {
    if (value) {
      batch.Put(key, *value);
    } else {
      batch.Delete(key);
    }
  }
  batch.Put(keys::Block(header.height), EncodeStoredBlock(stored));
  batch.Put(std::string(keys::kInfo), EncodeAppInfo(info));
  RETURN_IF_ERROR(impl.store->Write(batch));

  metrics::Registry& m = metrics::Global();  // /metrics: lock-free counters
  m.blocks_committed.Inc();
  for (const TxResult& r : impl.staged->results)
    m.txs_committed[std::min<size_t>(static_cast<size_t>(r.code), metrics::kTxCodes - 1)].Inc();
  impl.info = info;
  impl.staged.reset();
  impl.ResetCheckState();
  return Status::Ok();
}

// ---- queries (committed state only) ----

Result<Account> Application::GetAccount(const Address& a) const {
  StateOverlay committed(impl_->store);
  ASSIGN_OR_RETURN(std::optional<Account> account, LoadAccount(committed, a));
  return account.value_or(Account{});
}

Result<Repo> Application::GetRepo(std::string_view name) const {
  StateOverlay committed(impl_->store);
  ASSIGN_OR_RETURN(std::optional<Repo> repo, LoadRepo(committed, name));
  if (!repo) return NotFound("repo '" + std::string(name) + "' not found");
  return *repo;
}

Result<std::vector<Repo>> Application::ListRepos(std::string_view query) const {
  std::vector<Repo> out;
  Status decode_status;
  auto contains = [&](std::string_view text) { return text.find(query) != std::string_view::npos; };
  RETURN_IF_ERROR(impl_->store->Scan(keys::kRepoPrefix, [&](std::string_view, ByteView value) {
    auto repo = DecodeRepo(value);
    if (!repo.ok()) {
      decode_status = repo.status();
      return false;
    }
    bool match = query.empty() || contains(repo->name) || contains(repo->task) ||
                 std::any_of(repo->tags.begin(), repo->tags.end(), contains);
    if (match) out.push_back(std::move(repo).value());
    return true;
  }));
  RETURN_IF_ERROR(decode_status);
  return out;
}

Result<NodeInfo> Application::GetNode(const Address& a) const {
  StateOverlay committed(impl_->store);
  ASSIGN_OR_RETURN(std::optional<NodeInfo> node, LoadNode(committed, a));
  if (!node) return NotFound("node " + a.ToHex() + " is not registered");
  return *node;
}

Result<EnclaveInfo> Application::GetEnclave(const Address& node) const {
  StateOverlay committed(impl_->store);
  ASSIGN_OR_RETURN(std::optional<EnclaveInfo> enclave, LoadEnclave(committed, node));
  if (!enclave) return NotFound("node " + node.ToHex() + " has no registered enclave");
  return *enclave;
}

Result<AsyncRequest> Application::GetAsyncRequest(const Hash32& request_id) const {
  StateOverlay committed(impl_->store);
  ASSIGN_OR_RETURN(std::optional<AsyncRequest> a, LoadAsyncRequest(committed, request_id));
  if (!a) return NotFound("no async request " + ToHex(request_id));
  return *a;
}

Result<std::vector<AsyncRequest>> Application::PendingRequestsFor(const Address& node) const {
  StateOverlay committed(impl_->store);
  std::vector<Hash32> ids;
  const std::string prefix = keys::PendingFor(node);
  RETURN_IF_ERROR(committed.Scan(prefix, [&](const std::string& key, const Bytes&) {
    Hash32 id{};
    std::copy(key.begin() + static_cast<std::ptrdiff_t>(prefix.size()), key.end(), id.begin());
    ids.push_back(id);
  }));
  std::vector<AsyncRequest> out;
  for (const Hash32& id : ids) {
    ASSIGN_OR_RETURN(std::optional<AsyncRequest> a, LoadAsyncRequest(committed, id));
    if (!a) return DataLoss("pending index names missing async request " + ToHex(id));
    out.push_back(std::move(*a));
  }
  std::stable_sort(out.begin(), out.end(), [](const AsyncRequest& x, const AsyncRequest& y) {
    return x.request.request.deadline_height < y.request.request.deadline_height;
  });
  return out;
}

Result<Challenge> Application::GetChallenge(const Hash32& receipt_id) const {
  StateOverlay committed(impl_->store);
  ASSIGN_OR_RETURN(std::optional<Challenge> c, LoadChallenge(committed, receipt_id));
  if (!c) return NotFound("receipt " + ToHex(receipt_id) + " has no challenge");
  return *c;
}

Result<std::vector<Challenge>> Application::OpenChallengesFor(const Address& node) const {
  StateOverlay committed(impl_->store);
  std::vector<Hash32> ids;  // the vote index holds exactly the open challenges
  RETURN_IF_ERROR(committed.Scan(std::string(keys::kVoteDuePrefix), [&](const std::string& key, const Bytes&) {
    Hash32 id{};
    std::copy(key.end() - 32, key.end(), id.begin());
    ids.push_back(id);
  }));
  std::vector<Challenge> out;
  for (const Hash32& id : ids) {
    ASSIGN_OR_RETURN(std::optional<Challenge> c, LoadChallenge(committed, id));
    if (!c || c->status != ChallengeStatus::kOpen) continue;
    if (std::find(c->committee.begin(), c->committee.end(), node) != c->committee.end()) out.push_back(std::move(*c));
  }
  return out;
}

Result<DataFeed> Application::GetFeed(std::string_view name) const {
  StateOverlay committed(impl_->store);
  ASSIGN_OR_RETURN(std::optional<DataFeed> f, LoadFeed(committed, name));
  if (!f) return NotFound("no data feed '" + std::string(name) + "'");
  return *f;
}

Result<HubRecord> Application::GetHub(const Address& hub) const {
  StateOverlay committed(impl_->store);
  ASSIGN_OR_RETURN(std::optional<HubRecord> h, LoadHub(committed, hub));
  if (!h) return NotFound(hub.ToHex() + " is not a hub");
  return *h;
}

Result<std::vector<HubRecord>> Application::ListHubs() const {
  StateOverlay committed(impl_->store);
  return LoadHubs(committed);
}

Result<std::vector<Cid>> Application::HubPins(const Address& hub) const {
  StateOverlay committed(impl_->store);
  return LoadHubPins(committed, hub);
}

Result<VersionReplication> Application::GetReplication(const Cid& manifest) const {
  StateOverlay committed(impl_->store);
  return LoadReplication(committed, manifest, params());
}

Result<std::vector<VersionReplication>> Application::ListReplication() const {
  StateOverlay committed(impl_->store);
  return LoadAllReplication(committed, params());
}

Result<Workflow> Application::GetWorkflow(uint64_t id) const {
  StateOverlay committed(impl_->store);
  ASSIGN_OR_RETURN(std::optional<Workflow> wf, LoadWorkflow(committed, id));
  if (!wf) return NotFound("no workflow " + std::to_string(id));
  return *wf;
}

Result<TeeParams> Application::GetTeeParams() const {
  StateOverlay committed(impl_->store);
  return CurrentTeeParams(committed, impl_->genesis.params);
}

Result<std::vector<NodeInfo>> Application::ListNodes() const {
  std::vector<NodeInfo> out;
  Status decode_status;
  RETURN_IF_ERROR(impl_->store->Scan(keys::kNodePrefix, [&](std::string_view, ByteView value) {
    auto node = DecodeNode(value);
    if (!node.ok()) {
      decode_status = node.status();
      return false;
    }
    out.push_back(std::move(node).value());
    return true;
  }));
  RETURN_IF_ERROR(decode_status);
  return out;
}

Result<ReceiptRecord> Application::GetReceipt(const Hash32& receipt_id) const {
  ASSIGN_OR_RETURN(std::optional<Bytes> raw, impl_->store->Get(keys::Receipt(receipt_id)));
  if (!raw) return NotFound("receipt " + ToHex(receipt_id) + " not found");
  return DecodeReceiptRecord(*raw);
}

Result<crypto::InclusionProof> Application::ProveReceipt(const Hash32& receipt_id) const {
  ASSIGN_OR_RETURN(std::optional<Bytes> raw, impl_->store->Get(keys::ReceiptIndex(receipt_id)));
  if (!raw) return NotFound("receipt " + ToHex(receipt_id) + " not found");
  ASSIGN_OR_RETURN(ReceiptLocation loc, DecodeReceiptLocation(*raw));
  ASSIGN_OR_RETURN(StoredBlock block, GetBlock(loc.height));
  std::vector<Hash32> leaves;
  for (const auto& r : block.results)
    if (r.code == TxCode::kOk && r.receipt_id) leaves.push_back(crypto::MerkleLeafHash(*r.receipt_id));
  if (loc.index >= leaves.size() || leaves[loc.index] != crypto::MerkleLeafHash(receipt_id))
    return DataLoss("receipt index of " + ToHex(receipt_id) + " does not match block " +
                    std::to_string(loc.height));
  return crypto::MerkleProve(leaves, loc.index);
}

Result<StoredBlock> Application::GetBlock(uint64_t height) const {
  ASSIGN_OR_RETURN(std::optional<Bytes> raw, impl_->store->Get(keys::Block(height)));
  if (!raw) return NotFound("block " + std::to_string(height) + " not found");
  return DecodeStoredBlock(*raw);
}

Result<VersionEntry> Application::ResolveModel(std::string_view ref) const {
  std::string_view name = ref;
  std::optional<std::pair<uint32_t, uint32_t>> wanted;
  if (size_t at = ref.find('@'); at != std::string_view::npos) {
    name = ref.substr(0, at);
    ASSIGN_OR_RETURN(auto version, ParseVersion(ref.substr(at + 1)));
    wanted = version;
  }
  ASSIGN_OR_RETURN(Repo repo, GetRepo(name));
  if (repo.versions.empty()) return NotFound("repo '" + repo.name + "' has no published version");
  if (!wanted) return repo.versions.back();  // versions are published in increasing order
  for (const auto& v : repo.versions)
    if (v.major == wanted->first && v.minor == wanted->second) return v;
  return NotFound("version " + std::string(ref) + " is not published");
}

}  // namespace lucid::chain
