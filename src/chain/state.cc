#include "chain/state.h"

#include <algorithm>

#include "codec/codec.h"
#include "crypto/hash.h"

namespace lucid::chain {

namespace {

constexpr uint8_t kRecordVersion = 1;

std::string PrefixBytes(std::string_view prefix, ByteView id) {
  std::string key(prefix);
  key.append(reinterpret_cast<const char*>(id.data()), id.size());
  return key;
}

Status ReadVersion(codec::Reader& r, std::string_view what) {
  ASSIGN_OR_RETURN(uint8_t v, r.U8());
  if (v != kRecordVersion)
    return InvalidArgument(std::string(what) + " record has unknown version " + std::to_string(v));
  return Status::Ok();
}

Status FinishRecord(const codec::Reader& r, std::string_view what) {
  Status s = r.Finish();
  return s.ok() ? s : s.WithContext(what);
}

void WriteAddress(codec::Writer& w, const Address& a) { w.Fixed(a.bytes); }
Result<Address> ReadAddress(codec::Reader& r) {
  Address a;
  RETURN_IF_ERROR(r.Fixed(a.bytes));
  return a;
}
Result<Hash32> ReadHash(codec::Reader& r) {
  Hash32 h{};
  RETURN_IF_ERROR(r.Fixed(h));
  return h;
}

void WriteTxResult(codec::Writer& w, const TxResult& t) {
  w.U32(static_cast<uint32_t>(t.code));
  w.Str(t.log);
  w.Fixed(t.tx_hash);
  w.Bool(t.receipt_id.has_value());
  if (t.receipt_id) w.Fixed(*t.receipt_id);
}
Result<TxResult> ReadTxResult(codec::Reader& r) {
  TxResult t;
  ASSIGN_OR_RETURN(uint32_t code, r.U32());
  t.code = static_cast<TxCode>(code);
  ASSIGN_OR_RETURN(t.log, r.Str());
  ASSIGN_OR_RETURN(t.tx_hash, ReadHash(r));
  ASSIGN_OR_RETURN(bool has_receipt, r.Bool());
  if (has_receipt) {
    ASSIGN_OR_RETURN(Hash32 id, ReadHash(r));
    t.receipt_id = id;
  }
  return t;
}

}  // namespace

namespace keys {
std::string Account(const Address& a) { return PrefixBytes(kAccountPrefix, a.bytes); }
std::string Repo(std::string_view name) { return std::string(kRepoPrefix) + std::string(name); }
std::string VersionByCid(const Cid& manifest) { return PrefixBytes(kVersionByCidPrefix, manifest.digest); }
std::string Node(const Address& a) { return PrefixBytes(kNodePrefix, a.bytes); }
std::string Receipt(const Hash32& id) { return PrefixBytes(kReceiptPrefix, id); }
std::string ReceiptIndex(const Hash32& id) { return PrefixBytes(kReceiptIndexPrefix, id); }
std::string Enclave(const Address& node) { return PrefixBytes(kEnclavePrefix, node.bytes); }
std::string Block(uint64_t height) {
  codec::Writer w;
  w.U64(height);
  return PrefixBytes(kBlockPrefix, w.bytes());
}
namespace {
std::string Be64(uint64_t v) {
  codec::Writer w;
  w.U64(v);
  return std::string(reinterpret_cast<const char*>(w.bytes().data()), w.bytes().size());
}
std::string Raw(ByteView b) { return std::string(reinterpret_cast<const char*>(b.data()), b.size()); }
}  // namespace
std::string Async(const Hash32& id) { return PrefixBytes(kAsyncPrefix, id); }
std::string DeadlineDue(uint64_t height) { return std::string(kDeadlinePrefix) + Be64(height); }
std::string Deadline(uint64_t height, const Hash32& id) { return DeadlineDue(height) + Raw(id); }
std::string PendingFor(const Address& node) { return PrefixBytes(kPendingPrefix, node.bytes); }
std::string Pending(const Address& node, const Hash32& id) { return PendingFor(node) + Raw(id); }
std::string Conflict(const Address& node, const Hash32& request_hash) {
  return PrefixBytes(kConflictPrefix, node.bytes) + Raw(request_hash);
}
std::string Challenge(const Hash32& receipt_id) { return PrefixBytes(kChallengePrefix, receipt_id); }
std::string DrawDue(uint64_t height) { return std::string(kDrawDuePrefix) + Be64(height); }
std::string DrawDueAt(uint64_t height, const Hash32& id) { return DrawDue(height) + Raw(id); }
std::string VoteDue(uint64_t height) { return std::string(kVoteDuePrefix) + Be64(height); }
std::string VoteDueAt(uint64_t height, const Hash32& id) { return VoteDue(height) + Raw(id); }
std::string ReplayDue(uint64_t height) { return std::string(kReplayDuePrefix) + Be64(height); }
std::string ReplayDueAt(uint64_t height, const Hash32& id) { return ReplayDue(height) + Raw(id); }
std::string Feed(std::string_view name) { return std::string(kFeedPrefix) + std::string(name); }
std::string Workflow(uint64_t id) { return std::string(kWorkflowPrefix) + Be64(id); }
std::string WorkflowDue(uint64_t height) { return std::string(kWorkflowDuePrefix) + Be64(height); }
std::string WorkflowDueAt(uint64_t height, uint64_t id) { return WorkflowDue(height) + Be64(id); }
std::string Hub(const Address& hub) { return std::string(kHubPrefix) + Raw(hub.bytes); }
std::string PinnedBy(const Cid& manifest) { return std::string(kPinnedByPrefix) + Raw(manifest.digest); }
std::string PinnedByAt(const Cid& manifest, const Address& hub) { return PinnedBy(manifest) + Raw(hub.bytes); }
std::string HubPins(const Address& hub) { return std::string(kHubPinPrefix) + Raw(hub.bytes); }
std::string HubPin(const Address& hub, const Cid& manifest) { return HubPins(hub) + Raw(manifest.digest); }
}  // namespace keys

// ---- genesis ----

namespace {
// Genesis record version 2 = version 1 followed by the tee params. A genesis whose tee params
// are the defaults is written as version 1, so chains created before tee keep their app hash.
constexpr uint8_t kGenesisTeeVersion = 2;
// Version 3 = version 2 followed by the settlement params; written only when they differ from
// the defaults (docs/settlement.md), for the same reason.
constexpr uint8_t kGenesisSettlementVersion = 3;
// Version 4 = version 3 followed by the replication params (docs/ipfs.md "Replication");
// written only when they differ from the defaults.
constexpr uint8_t kGenesisReplicationVersion = 4;

void WriteSettlement(codec::Writer& w, const SettlementParams& p) {
  w.U64(p.async_max_deadline_blocks);
  w.U64(p.async_min_deadline_blocks);
  w.U64(p.async_miss_slash_bps);
  w.U64(p.conflict_slash_bps);
  w.U64(p.replay_challenge_blocks);
  w.U64(p.challenge_bond);
  w.U64(p.challenge_committee);
  w.U64(p.challenge_vote_blocks);
  w.U64(p.replay_slash_bps);
  w.U64(p.workflow_max_runs);
}
Status ReadSettlement(codec::Reader& r, SettlementParams& p) {
  for (uint64_t* f : {&p.async_max_deadline_blocks, &p.async_min_deadline_blocks, &p.async_miss_slash_bps, &p.conflict_slash_bps,
                      &p.replay_challenge_blocks, &p.challenge_bond, &p.challenge_committee,
                      &p.challenge_vote_blocks, &p.replay_slash_bps, &p.workflow_max_runs}) {
    ASSIGN_OR_RETURN(*f, r.U64());
  }
  return Status::Ok();
}

void WritePcrList(codec::Writer& w, const std::vector<Bytes>& pcrs) {
  w.U32(static_cast<uint32_t>(pcrs.size()));
  for (const Bytes& m : pcrs) w.Blob(m);
}
Result<std::vector<Bytes>> ReadPcrList(codec::Reader& r) {
  ASSIGN_OR_RETURN(uint32_t n, r.Count(4 + kPcr0Bytes));
  std::vector<Bytes> out;
  for (uint32_t i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(Bytes m, r.Blob());
    if (m.size() != kPcr0Bytes) return InvalidArgument("tee params: a PCR0 is not 48 bytes");
    if (!out.empty() && !(out.back() < m)) return InvalidArgument("tee params: PCR0 list not sorted and unique");
    out.push_back(std::move(m));
  }
  return out;
}
std::vector<Bytes> SortedUnique(std::vector<Bytes> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}
}  // namespace

Bytes EncodeGenesis(const Genesis& g) {
  std::vector<GenesisAccount> accounts = g.accounts;
  std::sort(accounts.begin(), accounts.end(),
            [](const GenesisAccount& a, const GenesisAccount& b) { return a.address < b.address; });
  std::vector<Address> validators = g.validators;
  std::sort(validators.begin(), validators.end());
  const bool has_replication = !(g.params.replication == ReplicationParams{});
  const bool has_settlement = has_replication || !(g.params.settlement == SettlementParams{});
  const bool has_tee = has_settlement || !(g.params.tee == TeeParams{});
  codec::Writer w;
  w.U8(has_replication  ? kGenesisReplicationVersion
       : has_settlement ? kGenesisSettlementVersion
       : has_tee        ? kGenesisTeeVersion
                        : kRecordVersion);
  w.Str(g.chain_id);
  w.U64(g.genesis_time_ms);
  w.U64(g.params.tx_fee_per_byte);
  w.U64(g.params.min_node_stake);
  w.U64(g.params.max_tx_bytes);
  w.Bool(g.params.dev_mode);
  w.U32(static_cast<uint32_t>(accounts.size()));
  for (const auto& a : accounts) {
    WriteAddress(w, a.address);
    w.U64(a.balance);
  }
  w.U32(static_cast<uint32_t>(validators.size()));
  for (const auto& v : validators) WriteAddress(w, v);
  if (has_tee) {
    const TeeParams& t = g.params.tee;
    w.Bool(t.admin.has_value());
    if (t.admin) WriteAddress(w, *t.admin);
    WritePcrList(w, SortedUnique(t.allowed_pcr0));
    w.U64(t.heartbeat_ms);
    w.U64(t.max_document_age_ms);
    w.Blob(t.dev_root_der);
  }
  if (has_settlement) WriteSettlement(w, g.params.settlement);
  if (has_replication) {
    w.U64(g.params.replication.min_replicas);
    w.U64(g.params.replication.hub_bond);
  }
  return w.Take();
}

Result<Genesis> DecodeGenesis(ByteView b) {
  codec::Reader r(b);
  ASSIGN_OR_RETURN(uint8_t version, r.U8());
  if (version != kRecordVersion && version != kGenesisTeeVersion && version != kGenesisSettlementVersion &&
      version != kGenesisReplicationVersion)
    return InvalidArgument("genesis record has unknown version " + std::to_string(version));
  Genesis g;
  ASSIGN_OR_RETURN(g.chain_id, r.Str());
  ASSIGN_OR_RETURN(g.genesis_time_ms, r.U64());
  ASSIGN_OR_RETURN(g.params.tx_fee_per_byte, r.U64());
  ASSIGN_OR_RETURN(g.params.min_node_stake, r.U64());
  ASSIGN_OR_RETURN(g.params.max_tx_bytes, r.U64());
  ASSIGN_OR_RETURN(g.params.dev_mode, r.Bool());
  ASSIGN_OR_RETURN(uint32_t n_accounts, r.Count(28));
  for (uint32_t i = 0; i < n_accounts; ++i) {
    GenesisAccount a;
    ASSIGN_OR_RETURN(a.address, ReadAddress(r));
    ASSIGN_OR_RETURN(a.balance, r.U64());
    g.accounts.push_back(a);
  }
  ASSIGN_OR_RETURN(uint32_t n_validators, r.Count(20));
  for (uint32_t i = 0; i < n_validators; ++i) {
    ASSIGN_OR_RETURN(Address v, ReadAddress(r));
    g.validators.push_back(v);
  }
  if (version >= kGenesisTeeVersion) {
    TeeParams& t = g.params.tee;
    ASSIGN_OR_RETURN(bool has_admin, r.Bool());
    if (has_admin) {
      ASSIGN_OR_RETURN(Address a, ReadAddress(r));
      t.admin = a;
    }
    ASSIGN_OR_RETURN(t.allowed_pcr0, ReadPcrList(r));
    ASSIGN_OR_RETURN(t.heartbeat_ms, r.U64());
    ASSIGN_OR_RETURN(t.max_document_age_ms, r.U64());
    ASSIGN_OR_RETURN(t.dev_root_der, r.Blob());
  }
  if (version >= kGenesisSettlementVersion) RETURN_IF_ERROR(ReadSettlement(r, g.params.settlement));
  if (version >= kGenesisReplicationVersion) {
    ASSIGN_OR_RETURN(g.params.replication.min_replicas, r.U64());
    ASSIGN_OR_RETURN(g.params.replication.hub_bond, r.U64());
  }
  RETURN_IF_ERROR(FinishRecord(r, "genesis"));
  return g;
}

// ---- tee ----

Bytes EncodeEnclave(const EnclaveInfo& e) {
  codec::Writer w;
  w.U8(kRecordVersion);
  WriteAddress(w, e.node);
  w.Blob(e.public_key);
  WriteAddress(w, e.enclave_address);
  w.Blob(e.pcr0);
  w.U64(e.registered_at_ms);
  w.U64(e.expires_at_ms);
  w.U64(e.registered_height);
  w.U64(e.document_timestamp_ms);
  return w.Take();
}

Result<EnclaveInfo> DecodeEnclave(ByteView b) {
  codec::Reader r(b);
  RETURN_IF_ERROR(ReadVersion(r, "enclave"));
  EnclaveInfo e;
  ASSIGN_OR_RETURN(e.node, ReadAddress(r));
  ASSIGN_OR_RETURN(e.public_key, r.Blob());
  ASSIGN_OR_RETURN(e.enclave_address, ReadAddress(r));
  ASSIGN_OR_RETURN(e.pcr0, r.Blob());
  ASSIGN_OR_RETURN(e.registered_at_ms, r.U64());
  ASSIGN_OR_RETURN(e.expires_at_ms, r.U64());
  ASSIGN_OR_RETURN(e.registered_height, r.U64());
  ASSIGN_OR_RETURN(e.document_timestamp_ms, r.U64());
  RETURN_IF_ERROR(FinishRecord(r, "enclave"));
  return e;
}

Bytes EncodeTeeParams(const TeeParams& t) {
  codec::Writer w;
  w.U8(kRecordVersion);
  WritePcrList(w, SortedUnique(t.allowed_pcr0));
  w.U64(t.heartbeat_ms);
  w.U64(t.max_document_age_ms);
  return w.Take();
}

Result<TeeParams> DecodeTeeParams(ByteView b) {
  codec::Reader r(b);
  RETURN_IF_ERROR(ReadVersion(r, "tee params"));
  TeeParams t;
  ASSIGN_OR_RETURN(t.allowed_pcr0, ReadPcrList(r));
  ASSIGN_OR_RETURN(t.heartbeat_ms, r.U64());
  ASSIGN_OR_RETURN(t.max_document_age_ms, r.U64());
  RETURN_IF_ERROR(FinishRecord(r, "tee params"));
  return t;
}

// ---- app info ----

Bytes EncodeAppInfo(const AppInfo& info) {
  codec::Writer w;
  w.U8(kRecordVersion);
  w.Str(info.chain_id);
  w.U64(info.height);
  w.Fixed(info.app_hash);
  w.Fixed(info.last_block_hash);
  w.U64(info.last_time_ms);
  return w.Take();
}

Result<AppInfo> DecodeAppInfo(ByteView b) {
  codec::Reader r(b);
  RETURN_IF_ERROR(ReadVersion(r, "app info"));
  AppInfo info;
  ASSIGN_OR_RETURN(info.chain_id, r.Str());
  ASSIGN_OR_RETURN(info.height, r.U64());
  ASSIGN_OR_RETURN(info.app_hash, ReadHash(r));
  ASSIGN_OR_RETURN(info.last_block_hash, ReadHash(r));
  ASSIGN_OR_RETURN(info.last_time_ms, r.U64());
  RETURN_IF_ERROR(FinishRecord(r, "app info"));
  return info;
}

// ---- accounts ----

Bytes EncodeAccount(const Account& a) {
  codec::Writer w;
  w.U8(kRecordVersion);
  w.U64(a.balance);
  w.U64(a.nonce);
  w.U64(a.request_nonce);
  return w.Take();
}

Result<Account> DecodeAccount(ByteView b) {
  codec::Reader r(b);
  RETURN_IF_ERROR(ReadVersion(r, "account"));
  Account a;
  ASSIGN_OR_RETURN(a.balance, r.U64());
  ASSIGN_OR_RETURN(a.nonce, r.U64());
  ASSIGN_OR_RETURN(a.request_nonce, r.U64());
  RETURN_IF_ERROR(FinishRecord(r, "account"));
  return a;
}

// ---- repos ----

Bytes EncodeRepo(const Repo& repo) {
  codec::Writer w;
  w.U8(kRecordVersion);
  w.Str(repo.name);
  WriteAddress(w, repo.owner);
  w.Str(repo.description);
  w.Str(repo.task);
  w.Str(repo.license);
  w.U32(static_cast<uint32_t>(repo.tags.size()));
  for (const auto& t : repo.tags) w.Str(t);
  w.U64(repo.created_height);
  w.U32(static_cast<uint32_t>(repo.versions.size()));
  for (const auto& v : repo.versions) {
    w.U32(v.major);
    w.U32(v.minor);
    w.Fixed(v.manifest.digest);
    w.U64(v.price);
    w.U64(v.height);
    w.Bool(v.zkml_commitment.has_value());
    if (v.zkml_commitment) w.Fixed(*v.zkml_commitment);
  }
  return w.Take();
}

Result<Repo> DecodeRepo(ByteView b) {
  codec::Reader r(b);
  RETURN_IF_ERROR(ReadVersion(r, "repo"));
  Repo repo;
  ASSIGN_OR_RETURN(repo.name, r.Str());
  ASSIGN_OR_RETURN(repo.owner, ReadAddress(r));
  ASSIGN_OR_RETURN(repo.description, r.Str());
  ASSIGN_OR_RETURN(repo.task, r.Str());
  ASSIGN_OR_RETURN(repo.license, r.Str());
  ASSIGN_OR_RETURN(uint32_t n_tags, r.Count(4));
  for (uint32_t i = 0; i < n_tags; ++i) {
    ASSIGN_OR_RETURN(std::string t, r.Str());
    repo.tags.push_back(std::move(t));
  }
  ASSIGN_OR_RETURN(repo.created_height, r.U64());
  ASSIGN_OR_RETURN(uint32_t n_versions, r.Count(57));
  for (uint32_t i = 0; i < n_versions; ++i) {
    VersionEntry v;
    ASSIGN_OR_RETURN(v.major, r.U32());
    ASSIGN_OR_RETURN(v.minor, r.U32());
    ASSIGN_OR_RETURN(v.manifest.digest, ReadHash(r));
    ASSIGN_OR_RETURN(v.price, r.U64());
    ASSIGN_OR_RETURN(v.height, r.U64());
    ASSIGN_OR_RETURN(bool has_zkml, r.Bool());
    if (has_zkml) {
      Hash32 h;
      RETURN_IF_ERROR(r.Fixed(h));
      v.zkml_commitment = h;
    }
    repo.versions.push_back(v);
  }
  RETURN_IF_ERROR(FinishRecord(r, "repo"));
  return repo;
}

Bytes EncodeVersionRef(const VersionRef& v) {
  codec::Writer w;
  w.U8(kRecordVersion);
  w.Str(v.repo);
  w.U32(v.major);
  w.U32(v.minor);
  return w.Take();
}

Result<VersionRef> DecodeVersionRef(ByteView b) {
  codec::Reader r(b);
  RETURN_IF_ERROR(ReadVersion(r, "version ref"));
  VersionRef v;
  ASSIGN_OR_RETURN(v.repo, r.Str());
  ASSIGN_OR_RETURN(v.major, r.U32());
  ASSIGN_OR_RETURN(v.minor, r.U32());
  RETURN_IF_ERROR(FinishRecord(r, "version ref"));
  return v;
}

// ---- nodes ----

// Node record version 2 = version 1 followed by the penalty fields; a node never penalised is
// written as version 1 (same bytes, same app hash as before penalties existed).
constexpr uint8_t kNodePenaltyVersion = 2;

Bytes EncodeNode(const NodeInfo& n) {
  const bool penalised = n.jailed || n.slashed != 0 || n.missed_deadlines != 0;
  codec::Writer w;
  w.U8(penalised ? kNodePenaltyVersion : kRecordVersion);
  WriteAddress(w, n.address);
  w.U64(n.stake);
  w.U32(n.modes);
  w.Str(n.endpoint);
  w.U64(n.registered_height);
  if (penalised) {
    w.Bool(n.jailed);
    w.U64(n.slashed);
    w.U64(n.missed_deadlines);
  }
  return w.Take();
}

Result<NodeInfo> DecodeNode(ByteView b) {
  codec::Reader r(b);
  ASSIGN_OR_RETURN(uint8_t version, r.U8());
  if (version != kRecordVersion && version != kNodePenaltyVersion)
    return InvalidArgument("node record has unknown version " + std::to_string(version));
  NodeInfo n;
  ASSIGN_OR_RETURN(n.address, ReadAddress(r));
  ASSIGN_OR_RETURN(n.stake, r.U64());
  ASSIGN_OR_RETURN(n.modes, r.U32());
  ASSIGN_OR_RETURN(n.endpoint, r.Str());
  ASSIGN_OR_RETURN(n.registered_height, r.U64());
  if (version == kNodePenaltyVersion) {
    ASSIGN_OR_RETURN(n.jailed, r.Bool());
    ASSIGN_OR_RETURN(n.slashed, r.U64());
    ASSIGN_OR_RETURN(n.missed_deadlines, r.U64());
  }
  RETURN_IF_ERROR(FinishRecord(r, "node"));
  return n;
}

// ---- receipts ----

// Receipt record version 2 = version 1 followed by the replay settlement fields; final receipts
// that never were replay receipts are written as version 1.
constexpr uint8_t kReceiptSettlementVersion = 2;

Bytes EncodeReceiptRecord(const ReceiptRecord& rec) {
  const bool settled = rec.settlement != SettlementStatus::kFinal || rec.final_height != 0 || rec.held != 0;
  codec::Writer w;
  w.U8(settled ? kReceiptSettlementVersion : kRecordVersion);
  w.Blob(rec.result.request.Encode());
  w.Blob(rec.result.receipt.Encode());
  w.Blob(rec.result.evidence.Encode());
  w.U64(rec.height);
  w.U32(rec.index);
  w.U64(rec.node_paid);
  w.U64(rec.publisher_paid);
  if (settled) {
    w.U8(static_cast<uint8_t>(rec.settlement));
    w.U64(rec.final_height);
    w.U64(rec.held);
  }
  return w.Take();
}

Result<ReceiptRecord> DecodeReceiptRecord(ByteView b) {
  codec::Reader r(b);
  ASSIGN_OR_RETURN(uint8_t version, r.U8());
  if (version != kRecordVersion && version != kReceiptSettlementVersion)
    return InvalidArgument("receipt record has unknown version " + std::to_string(version));
  ReceiptRecord rec;
  ASSIGN_OR_RETURN(Bytes request, r.Blob());
  ASSIGN_OR_RETURN(rec.result.request, SignedRequest::Decode(request));
  ASSIGN_OR_RETURN(Bytes receipt, r.Blob());
  ASSIGN_OR_RETURN(rec.result.receipt, protocol::Receipt::Decode(receipt));
  ASSIGN_OR_RETURN(Bytes evidence, r.Blob());
  ASSIGN_OR_RETURN(rec.result.evidence, Evidence::Decode(evidence));
  ASSIGN_OR_RETURN(rec.height, r.U64());
  ASSIGN_OR_RETURN(rec.index, r.U32());
  ASSIGN_OR_RETURN(rec.node_paid, r.U64());
  ASSIGN_OR_RETURN(rec.publisher_paid, r.U64());
  if (version == kReceiptSettlementVersion) {
    ASSIGN_OR_RETURN(uint8_t st, r.U8());
    if (st > static_cast<uint8_t>(SettlementStatus::kOverturned))
      return InvalidArgument("receipt record has unknown settlement status " + std::to_string(st));
    rec.settlement = static_cast<SettlementStatus>(st);
    ASSIGN_OR_RETURN(rec.final_height, r.U64());
    ASSIGN_OR_RETURN(rec.held, r.U64());
  }
  RETURN_IF_ERROR(FinishRecord(r, "receipt"));
  return rec;
}

Bytes EncodeReceiptLocation(const ReceiptLocation& l) {
  codec::Writer w;
  w.U8(kRecordVersion);
  w.U64(l.height);
  w.U32(l.index);
  return w.Take();
}

Result<ReceiptLocation> DecodeReceiptLocation(ByteView b) {
  codec::Reader r(b);
  RETURN_IF_ERROR(ReadVersion(r, "receipt location"));
  ReceiptLocation l;
  ASSIGN_OR_RETURN(l.height, r.U64());
  ASSIGN_OR_RETURN(l.index, r.U32());
  RETURN_IF_ERROR(FinishRecord(r, "receipt location"));
  return l;
}

// ---- blocks ----

Bytes EncodeStoredBlock(const StoredBlock& block) {
  codec::Writer w;
  w.U8(kRecordVersion);
  w.Blob(block.header.Encode());
  w.U32(static_cast<uint32_t>(block.txs.size()));
  for (const auto& tx : block.txs) w.Blob(tx);
  w.U32(static_cast<uint32_t>(block.results.size()));
  for (const auto& res : block.results) WriteTxResult(w, res);
  return w.Take();
}

Result<StoredBlock> DecodeStoredBlock(ByteView b) {
  codec::Reader r(b);
  RETURN_IF_ERROR(ReadVersion(r, "block"));
  StoredBlock block;
  ASSIGN_OR_RETURN(Bytes header, r.Blob());
  ASSIGN_OR_RETURN(block.header, SignedHeader::Decode(header));
  ASSIGN_OR_RETURN(uint32_t n_txs, r.Count(4));
  for (uint32_t i = 0; i < n_txs; ++i) {
    ASSIGN_OR_RETURN(Bytes tx, r.Blob());
    block.txs.push_back(std::move(tx));
  }
  ASSIGN_OR_RETURN(uint32_t n_results, r.Count(41));
  for (uint32_t i = 0; i < n_results; ++i) {
    ASSIGN_OR_RETURN(TxResult res, ReadTxResult(r));
    res.height = block.header.header.height;  // not stored per result: the block says it
    block.results.push_back(std::move(res));
  }
  RETURN_IF_ERROR(FinishRecord(r, "block"));
  return block;
}


// ---- async requests, challenges, feeds, workflows ----

Bytes EncodeU64(uint64_t v) {
  codec::Writer w;
  w.U8(kRecordVersion);
  w.U64(v);
  return w.Take();
}
Result<uint64_t> DecodeU64(ByteView b) {
  codec::Reader r(b);
  RETURN_IF_ERROR(ReadVersion(r, "counter"));
  ASSIGN_OR_RETURN(uint64_t v, r.U64());
  RETURN_IF_ERROR(FinishRecord(r, "counter"));
  return v;
}

namespace {
void WriteOptionalHash(codec::Writer& w, const std::optional<Hash32>& h) {
  w.Bool(h.has_value());
  if (h) w.Fixed(*h);
}
Status ReadOptionalHash(codec::Reader& r, std::optional<Hash32>& out) {
  ASSIGN_OR_RETURN(bool has, r.Bool());
  if (!has) return Status::Ok();
  ASSIGN_OR_RETURN(Hash32 h, ReadHash(r));
  out = h;
  return Status::Ok();
}
template <typename E>
Result<E> ReadEnum(codec::Reader& r, uint8_t lo, uint8_t hi, std::string_view what) {
  ASSIGN_OR_RETURN(uint8_t v, r.U8());
  if (v < lo || v > hi) return InvalidArgument(std::string(what) + ": unknown value " + std::to_string(v));
  return static_cast<E>(v);
}
}  // namespace

Bytes EncodeAsyncRequest(const AsyncRequest& a) {
  codec::Writer w;
  w.U8(kRecordVersion);
  w.Fixed(a.id);
  w.Blob(a.request.Encode());
  w.Blob(a.inputs);
  WriteAddress(w, a.assigned);
  w.U64(a.escrow);
  w.U64(a.created_height);
  w.U8(static_cast<uint8_t>(a.status));
  WriteOptionalHash(w, a.receipt_id);
  w.U64(a.closed_height);
  w.U64(a.workflow_id);
  return w.Take();
}

Result<AsyncRequest> DecodeAsyncRequest(ByteView b) {
  codec::Reader r(b);
  RETURN_IF_ERROR(ReadVersion(r, "async request"));
  AsyncRequest a;
  ASSIGN_OR_RETURN(a.id, ReadHash(r));
  ASSIGN_OR_RETURN(Bytes request, r.Blob());
  ASSIGN_OR_RETURN(a.request, SignedRequest::Decode(request));
  ASSIGN_OR_RETURN(a.inputs, r.Blob());
  ASSIGN_OR_RETURN(a.assigned, ReadAddress(r));
  ASSIGN_OR_RETURN(a.escrow, r.U64());
  ASSIGN_OR_RETURN(a.created_height, r.U64());
  ASSIGN_OR_RETURN(a.status, ReadEnum<AsyncStatus>(r, 1, 3, "async request status"));
  RETURN_IF_ERROR(ReadOptionalHash(r, a.receipt_id));
  ASSIGN_OR_RETURN(a.closed_height, r.U64());
  ASSIGN_OR_RETURN(a.workflow_id, r.U64());
  RETURN_IF_ERROR(FinishRecord(r, "async request"));
  return a;
}

Bytes EncodeChallenge(const Challenge& c) {
  codec::Writer w;
  w.U8(kRecordVersion);
  w.Fixed(c.receipt_id);
  WriteAddress(w, c.challenger);
  w.Fixed(c.claimed_output_hash);
  w.Blob(c.inputs);
  w.U64(c.bond);
  w.U64(c.height);
  w.U64(c.vote_deadline);
  w.U32(static_cast<uint32_t>(c.committee.size()));
  for (const auto& a : c.committee) WriteAddress(w, a);
  w.U32(static_cast<uint32_t>(c.votes.size()));
  for (const auto& v : c.votes) {
    WriteAddress(w, v.voter);
    w.Fixed(v.output_hash);
    w.U64(v.height);
  }
  w.U8(static_cast<uint8_t>(c.status));
  WriteOptionalHash(w, c.decided_output_hash);
  w.U64(c.closed_height);
  return w.Take();
}

Result<Challenge> DecodeChallenge(ByteView b) {
  codec::Reader r(b);
  RETURN_IF_ERROR(ReadVersion(r, "challenge"));
  Challenge c;
  ASSIGN_OR_RETURN(c.receipt_id, ReadHash(r));
  ASSIGN_OR_RETURN(c.challenger, ReadAddress(r));
  ASSIGN_OR_RETURN(c.claimed_output_hash, ReadHash(r));
  ASSIGN_OR_RETURN(c.inputs, r.Blob());
  ASSIGN_OR_RETURN(c.bond, r.U64());
  ASSIGN_OR_RETURN(c.height, r.U64());
  ASSIGN_OR_RETURN(c.vote_deadline, r.U64());
  ASSIGN_OR_RETURN(uint32_t n, r.Count(20));
  for (uint32_t i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(Address a, ReadAddress(r));
    c.committee.push_back(a);
  }
  ASSIGN_OR_RETURN(uint32_t nv, r.Count(60));
  for (uint32_t i = 0; i < nv; ++i) {
    ChallengeVote v;
    ASSIGN_OR_RETURN(v.voter, ReadAddress(r));
    ASSIGN_OR_RETURN(v.output_hash, ReadHash(r));
    ASSIGN_OR_RETURN(v.height, r.U64());
    c.votes.push_back(v);
  }
  ASSIGN_OR_RETURN(c.status, ReadEnum<ChallengeStatus>(r, 1, 5, "challenge status"));
  RETURN_IF_ERROR(ReadOptionalHash(r, c.decided_output_hash));
  ASSIGN_OR_RETURN(c.closed_height, r.U64());
  RETURN_IF_ERROR(FinishRecord(r, "challenge"));
  return c;
}

Bytes EncodeFeed(const DataFeed& f) {
  codec::Writer w;
  w.U8(kRecordVersion);
  w.Str(f.name);
  WriteAddress(w, f.owner);
  w.U32(static_cast<uint32_t>(f.posters.size()));
  for (const auto& a : f.posters) WriteAddress(w, a);
  w.Blob(f.value);
  w.U64(f.updated_height);
  return w.Take();
}

Result<DataFeed> DecodeFeed(ByteView b) {
  codec::Reader r(b);
  RETURN_IF_ERROR(ReadVersion(r, "feed"));
  DataFeed f;
  ASSIGN_OR_RETURN(f.name, r.Str());
  ASSIGN_OR_RETURN(f.owner, ReadAddress(r));
  ASSIGN_OR_RETURN(uint32_t n, r.Count(20));
  for (uint32_t i = 0; i < n; ++i) {
    ASSIGN_OR_RETURN(Address a, ReadAddress(r));
    f.posters.push_back(a);
  }
  ASSIGN_OR_RETURN(f.value, r.Blob());
  ASSIGN_OR_RETURN(f.updated_height, r.U64());
  RETURN_IF_ERROR(FinishRecord(r, "feed"));
  return f;
}

Bytes EncodeHub(const HubRecord& h) {
  codec::Writer w;
  w.U8(kRecordVersion);
  WriteAddress(w, h.address);
  w.Str(h.ipfs_peer);
  w.Str(h.endpoint);
  w.U64(h.bond);
  w.U64(h.registered_height);
  w.U64(h.updated_height);
  w.U64(h.pins);
  return w.Take();
}

Result<HubRecord> DecodeHub(ByteView b) {
  codec::Reader r(b);
  RETURN_IF_ERROR(ReadVersion(r, "hub"));
  HubRecord h;
  ASSIGN_OR_RETURN(h.address, ReadAddress(r));
  ASSIGN_OR_RETURN(h.ipfs_peer, r.Str());
  ASSIGN_OR_RETURN(h.endpoint, r.Str());
  ASSIGN_OR_RETURN(h.bond, r.U64());
  ASSIGN_OR_RETURN(h.registered_height, r.U64());
  ASSIGN_OR_RETURN(h.updated_height, r.U64());
  ASSIGN_OR_RETURN(h.pins, r.U64());
  RETURN_IF_ERROR(FinishRecord(r, "hub"));
  return h;
}

Bytes EncodeWorkflow(const Workflow& wf) {
  codec::Writer w;
  w.U8(kRecordVersion);
  w.U64(wf.id);
  WriteAddress(w, wf.owner);
  w.Fixed(wf.spec.model.digest);
  w.U8(static_cast<uint8_t>(wf.spec.mode));
  w.Str(wf.spec.feed);
  w.U64(wf.spec.every_blocks);
  w.U64(wf.spec.runs);
  w.U64(wf.spec.max_fee_per_run);
  w.U64(wf.spec.seed);
  w.Blob(wf.spec.params);
  w.U64(wf.created_height);
  w.U64(wf.next_height);
  w.U64(wf.runs_done);
  w.U64(wf.escrow);
  w.U32(static_cast<uint32_t>(wf.history.size()));
  for (const auto& run : wf.history) {
    w.U64(run.height);
    w.Fixed(run.request_id);
  }
  return w.Take();
}

Result<Workflow> DecodeWorkflow(ByteView b) {
  codec::Reader r(b);
  RETURN_IF_ERROR(ReadVersion(r, "workflow"));
  Workflow wf;
  ASSIGN_OR_RETURN(wf.id, r.U64());
  ASSIGN_OR_RETURN(wf.owner, ReadAddress(r));
  RETURN_IF_ERROR(r.Fixed(wf.spec.model.digest));
  ASSIGN_OR_RETURN(wf.spec.mode, ReadEnum<Mode>(r, 1, 4, "workflow mode"));
  ASSIGN_OR_RETURN(wf.spec.feed, r.Str());
  ASSIGN_OR_RETURN(wf.spec.every_blocks, r.U64());
  ASSIGN_OR_RETURN(wf.spec.runs, r.U64());
  ASSIGN_OR_RETURN(wf.spec.max_fee_per_run, r.U64());
  ASSIGN_OR_RETURN(wf.spec.seed, r.U64());
  ASSIGN_OR_RETURN(wf.spec.params, r.Blob());
  ASSIGN_OR_RETURN(wf.created_height, r.U64());
  ASSIGN_OR_RETURN(wf.next_height, r.U64());
  ASSIGN_OR_RETURN(wf.runs_done, r.U64());
  ASSIGN_OR_RETURN(wf.escrow, r.U64());
  ASSIGN_OR_RETURN(uint32_t n, r.Count(40));
  for (uint32_t i = 0; i < n; ++i) {
    WorkflowRun run;
    ASSIGN_OR_RETURN(run.height, r.U64());
    ASSIGN_OR_RETURN(run.request_id, ReadHash(r));
    wf.history.push_back(run);
  }
  RETURN_IF_ERROR(FinishRecord(r, "workflow"));
  return wf;
}

// ---- overlay ----

Result<std::optional<Bytes>> StateOverlay::Get(std::string_view key) const {
  auto it = writes_.find(key);
  if (it != writes_.end()) return it->second;
  if (parent_ != nullptr) return parent_->Get(key);
  if (base_ != nullptr) return base_->Get(key);
  return std::optional<Bytes>();
}

Status StateOverlay::Collect(std::string_view prefix, std::map<std::string, Bytes>& out) const {
  if (parent_ != nullptr) {
    RETURN_IF_ERROR(parent_->Collect(prefix, out));
  } else if (base_ != nullptr) {
    RETURN_IF_ERROR(base_->Scan(prefix, [&](std::string_view key, ByteView value) {
      out[std::string(key)] = Bytes(value.begin(), value.end());
      return true;
    }));
  }
  for (auto it = writes_.lower_bound(prefix); it != writes_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    if (it->second) {
      out[it->first] = *it->second;
    } else {
      out.erase(it->first);
    }
  }
  return Status::Ok();
}

Status StateOverlay::Scan(std::string_view prefix,
                          const std::function<void(const std::string&, const Bytes&)>& fn) const {
  std::map<std::string, Bytes> live;
  RETURN_IF_ERROR(Collect(prefix, live));
  for (const auto& [key, value] : live) fn(key, value);
  return Status::Ok();
}

void StateOverlay::MergeInto(StateOverlay& target) {
  for (auto& [key, value] : writes_) target.writes_[key] = std::move(value);
  writes_.clear();
}

// ---- app hash ----

Hash32 WriteSetDigest(const StateOverlay::Writes& writes) {
  crypto::Sha256Stream stream;
  codec::Writer head;
  head.U8(kRecordVersion);
  head.U32(static_cast<uint32_t>(writes.size()));
  stream.Update(head.bytes());
  for (const auto& [key, value] : writes) {
    codec::Writer w;
    w.Str(key);
    w.Bool(value.has_value());  // 0 = tombstone
    if (value) w.Blob(*value);
    stream.Update(w.bytes());
  }
  return stream.Finish();
}

Hash32 NextAppHash(const Hash32& prev, const StateOverlay::Writes& writes) {
  Hash32 digest = WriteSetDigest(writes);
  return crypto::TaggedSha256("lucid:apphash:v1", Concat({prev, digest}));
}

Hash32 GenesisAppHash(const Genesis& genesis) {
  return crypto::TaggedSha256("lucid:apphash:v1", EncodeGenesis(genesis));
}

}  // namespace lucid::chain
