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
}  // namespace keys

// ---- genesis ----

namespace {
// Genesis record version 2 = version 1 followed by the tee params. A genesis whose tee params
// are the defaults is written as version 1, so chains created before tee keep their app hash.
constexpr uint8_t kGenesisTeeVersion = 2;

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
  const bool has_tee = !(g.params.tee == TeeParams{});
  codec::Writer w;
  w.U8(has_tee ? kGenesisTeeVersion : kRecordVersion);
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
  return w.Take();
}

Result<Genesis> DecodeGenesis(ByteView b) {
  codec::Reader r(b);
  ASSIGN_OR_RETURN(uint8_t version, r.U8());
  if (version != kRecordVersion && version != kGenesisTeeVersion)
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
  if (version == kGenesisTeeVersion) {
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

Bytes EncodeNode(const NodeInfo& n) {
  codec::Writer w;
  w.U8(kRecordVersion);
  WriteAddress(w, n.address);
  w.U64(n.stake);
  w.U32(n.modes);
  w.Str(n.endpoint);
  w.U64(n.registered_height);
  return w.Take();
}

Result<NodeInfo> DecodeNode(ByteView b) {
  codec::Reader r(b);
  RETURN_IF_ERROR(ReadVersion(r, "node"));
  NodeInfo n;
  ASSIGN_OR_RETURN(n.address, ReadAddress(r));
  ASSIGN_OR_RETURN(n.stake, r.U64());
  ASSIGN_OR_RETURN(n.modes, r.U32());
  ASSIGN_OR_RETURN(n.endpoint, r.Str());
  ASSIGN_OR_RETURN(n.registered_height, r.U64());
  RETURN_IF_ERROR(FinishRecord(r, "node"));
  return n;
}

// ---- receipts ----

Bytes EncodeReceiptRecord(const ReceiptRecord& rec) {
  codec::Writer w;
  w.U8(kRecordVersion);
  w.Blob(rec.result.request.Encode());
  w.Blob(rec.result.receipt.Encode());
  w.Blob(rec.result.evidence.Encode());
  w.U64(rec.height);
  w.U32(rec.index);
  w.U64(rec.node_paid);
  w.U64(rec.publisher_paid);
  return w.Take();
}

Result<ReceiptRecord> DecodeReceiptRecord(ByteView b) {
  codec::Reader r(b);
  RETURN_IF_ERROR(ReadVersion(r, "receipt"));
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

// ---- overlay ----

Result<std::optional<Bytes>> StateOverlay::Get(std::string_view key) const {
  auto it = writes_.find(key);
  if (it != writes_.end()) return it->second;
  if (parent_ != nullptr) return parent_->Get(key);
  if (base_ != nullptr) return base_->Get(key);
  return std::optional<Bytes>();
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
