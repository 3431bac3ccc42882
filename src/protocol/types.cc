// Canonical encodings of the protocol types; layouts in docs/formats/protocol.md.
#include "protocol/types.h"

#include <string>
#include <utility>

#include "codec/codec.h"
#include "crypto/hash.h"

namespace lucid::protocol {
namespace {

// Field limits: a decoder refuses anything larger, so no untrusted length can make a
// validator allocate or hash more than this per field.
constexpr size_t kMaxChainIdBytes = 64;
constexpr size_t kMaxEngineBytes = 128;
constexpr size_t kMaxParamsBytes = 1u << 20;
constexpr size_t kMaxEvidenceBytes = 8u << 20;
constexpr size_t kMaxRepoNameBytes = 64;
constexpr size_t kMaxDescriptionBytes = 64u << 10;
constexpr size_t kMaxShortTextBytes = 128;   // task, license, one tag
constexpr size_t kMaxTags = 32;
constexpr size_t kMaxEndpointBytes = 256;
constexpr uint32_t kKnownModeBits =
    (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4);  // ModeBit of every Mode

constexpr std::string_view kRequestTag = "lucid:request:v1";
constexpr std::string_view kReceiptTag = "lucid:receipt:v1";
constexpr std::string_view kTxTag = "lucid:tx:v1";
constexpr std::string_view kBlockTag = "lucid:block:v1";

// ---- field helpers ----

void PutAddress(codec::Writer& w, const Address& a) { w.Fixed(a.bytes); }
void PutCid(codec::Writer& w, const Cid& c) { w.Fixed(c.digest); }
void PutMode(codec::Writer& w, Mode m) { w.U8(static_cast<uint8_t>(m)); }
void PutSignature(codec::Writer& w, const Signature& s) { w.Fixed(s); }

Status WithField(const Status& s, std::string_view field) {
  if (s.ok()) return s;
  return s.WithContext(field);
}

Status GetVersion(codec::Reader& r, std::string_view what) {
  ASSIGN_OR_RETURN(uint8_t version, r.U8());
  if (version != kFormatVersion)
    return InvalidArgument(std::string(what) + ": unknown format version " + std::to_string(version) +
                           " (expected " + std::to_string(kFormatVersion) + ")");
  return Status::Ok();
}

Status GetStr(codec::Reader& r, std::string_view field, size_t max_bytes, std::string& out) {
  auto s = r.Str();
  if (!s.ok()) return WithField(s.status(), field);
  if (s->size() > max_bytes)
    return OutOfRange(std::string(field) + ": " + std::to_string(s->size()) + " bytes exceeds limit of " +
                      std::to_string(max_bytes));
  out = std::move(s).value();
  return Status::Ok();
}

Status GetBlob(codec::Reader& r, std::string_view field, size_t max_bytes, Bytes& out) {
  auto b = r.Blob();
  if (!b.ok()) return WithField(b.status(), field);
  if (b->size() > max_bytes)
    return OutOfRange(std::string(field) + ": " + std::to_string(b->size()) + " bytes exceeds limit of " +
                      std::to_string(max_bytes));
  out = std::move(b).value();
  return Status::Ok();
}

template <size_t N>
Status GetFixed(codec::Reader& r, std::string_view field, std::array<uint8_t, N>& out) {
  return WithField(r.Fixed(out), field);
}

Status GetU64(codec::Reader& r, std::string_view field, uint64_t& out) {
  auto v = r.U64();
  if (!v.ok()) return WithField(v.status(), field);
  out = *v;
  return Status::Ok();
}

Status GetU32(codec::Reader& r, std::string_view field, uint32_t& out) {
  auto v = r.U32();
  if (!v.ok()) return WithField(v.status(), field);
  out = *v;
  return Status::Ok();
}

Status GetAddress(codec::Reader& r, std::string_view field, Address& out) {
  return GetFixed(r, field, out.bytes);
}

Status GetCid(codec::Reader& r, std::string_view field, Cid& out) { return GetFixed(r, field, out.digest); }

Status GetMode(codec::Reader& r, std::string_view field, Mode& out) {
  auto v = r.U8();
  if (!v.ok()) return WithField(v.status(), field);
  if (*v < static_cast<uint8_t>(Mode::kVanilla) || *v > static_cast<uint8_t>(Mode::kReplay))
    return InvalidArgument(std::string(field) + ": unknown mode " + std::to_string(*v));
  out = static_cast<Mode>(*v);
  return Status::Ok();
}

// Recovery id must be 0 or 1 on the wire: 27/28 would give a second encoding (and tx id)
// for the same signature.
Status GetSignature(codec::Reader& r, std::string_view field, Signature& out) {
  RETURN_IF_ERROR(GetFixed(r, field, out));
  if (out[64] > 1)
    return InvalidArgument(std::string(field) + ": recovery id " + std::to_string(out[64]) +
                           " is not 0 or 1 (subtract 27 from an Ethereum v)");
  return Status::Ok();
}

// Decodes a whole top-level value: every byte must be consumed.
template <typename T, typename Fn>
Result<T> DecodeWhole(ByteView bytes, std::string_view what, Fn&& read) {
  codec::Reader r(bytes);
  T value;
  Status s = read(r, value);
  if (!s.ok()) return s.WithContext(std::string("decoding ") + std::string(what));
  s = r.Finish();
  if (!s.ok()) return s.WithContext(std::string("decoding ") + std::string(what));
  return value;
}

// ---- structures (each writes/reads its own version byte) ----

void WriteRequest(codec::Writer& w, const InferenceRequest& q) {
  w.U8(kFormatVersion);
  w.Str(q.chain_id);
  PutAddress(w, q.requester);
  PutCid(w, q.model);
  PutMode(w, q.mode);
  w.Fixed(q.input_hash);
  w.Blob(q.params);
  w.U64(q.seed);
  w.U64(q.max_fee);
  w.U64(q.nonce);
  w.U64(q.deadline_height);
  PutAddress(w, q.node);
}

Status ReadRequest(codec::Reader& r, InferenceRequest& q) {
  RETURN_IF_ERROR(GetVersion(r, "request"));
  RETURN_IF_ERROR(GetStr(r, "request.chain_id", kMaxChainIdBytes, q.chain_id));
  RETURN_IF_ERROR(GetAddress(r, "request.requester", q.requester));
  RETURN_IF_ERROR(GetCid(r, "request.model", q.model));
  RETURN_IF_ERROR(GetMode(r, "request.mode", q.mode));
  RETURN_IF_ERROR(GetFixed(r, "request.input_hash", q.input_hash));
  RETURN_IF_ERROR(GetBlob(r, "request.params", kMaxParamsBytes, q.params));
  RETURN_IF_ERROR(GetU64(r, "request.seed", q.seed));
  RETURN_IF_ERROR(GetU64(r, "request.max_fee", q.max_fee));
  RETURN_IF_ERROR(GetU64(r, "request.nonce", q.nonce));
  RETURN_IF_ERROR(GetU64(r, "request.deadline_height", q.deadline_height));
  return GetAddress(r, "request.node", q.node);
}

void WriteSignedRequest(codec::Writer& w, const SignedRequest& s) {
  WriteRequest(w, s.request);
  PutSignature(w, s.signature);
}

Status ReadSignedRequest(codec::Reader& r, SignedRequest& s) {
  RETURN_IF_ERROR(ReadRequest(r, s.request));
  return GetSignature(r, "request.signature", s.signature);
}

void WriteReceipt(codec::Writer& w, const Receipt& c) {
  w.U8(kFormatVersion);
  w.Str(c.chain_id);
  w.Fixed(c.request_hash);
  PutCid(w, c.model);
  w.Fixed(c.input_hash);
  w.Fixed(c.output_hash);
  PutMode(w, c.mode);
  PutAddress(w, c.node);
  w.Str(c.engine);
  w.U64(c.fee);
}

Status ReadReceipt(codec::Reader& r, Receipt& c) {
  RETURN_IF_ERROR(GetVersion(r, "receipt"));
  RETURN_IF_ERROR(GetStr(r, "receipt.chain_id", kMaxChainIdBytes, c.chain_id));
  RETURN_IF_ERROR(GetFixed(r, "receipt.request_hash", c.request_hash));
  RETURN_IF_ERROR(GetCid(r, "receipt.model", c.model));
  RETURN_IF_ERROR(GetFixed(r, "receipt.input_hash", c.input_hash));
  RETURN_IF_ERROR(GetFixed(r, "receipt.output_hash", c.output_hash));
  RETURN_IF_ERROR(GetMode(r, "receipt.mode", c.mode));
  RETURN_IF_ERROR(GetAddress(r, "receipt.node", c.node));
  RETURN_IF_ERROR(GetStr(r, "receipt.engine", kMaxEngineBytes, c.engine));
  return GetU64(r, "receipt.fee", c.fee);
}

void WriteEvidence(codec::Writer& w, const Evidence& e) {
  w.U8(kFormatVersion);
  PutMode(w, e.mode);
  w.Blob(e.data);
}

Status ReadEvidence(codec::Reader& r, Evidence& e) {
  RETURN_IF_ERROR(GetVersion(r, "evidence"));
  RETURN_IF_ERROR(GetMode(r, "evidence.mode", e.mode));
  return GetBlob(r, "evidence.data", kMaxEvidenceBytes, e.data);
}

// ---- tx bodies ----

void WriteBody(codec::Writer& w, const TransferTx& b) {
  PutAddress(w, b.to);
  w.U64(b.amount);
}
void WriteBody(codec::Writer& w, const CreateRepoTx& b) {
  w.Str(b.name);
  w.Str(b.description);
  w.Str(b.task);
  w.Str(b.license);
  w.U32(static_cast<uint32_t>(b.tags.size()));
  for (const auto& tag : b.tags) w.Str(tag);
}
void WriteBody(codec::Writer& w, const PublishVersionTx& b) {
  w.Str(b.name);
  w.U32(b.major);
  w.U32(b.minor);
  PutCid(w, b.manifest);
  w.U64(b.price);
  w.Bool(b.zkml_commitment.has_value());
  if (b.zkml_commitment) w.Fixed(*b.zkml_commitment);
}
void WriteBody(codec::Writer& w, const RegisterNodeTx& b) {
  w.U64(b.stake);
  w.U32(b.modes);
  w.Str(b.endpoint);
}
void WriteBody(codec::Writer& w, const SubmitResultTx& b) {
  WriteSignedRequest(w, b.request);
  WriteReceipt(w, b.receipt);
  WriteEvidence(w, b.evidence);
}

Status ReadBody(codec::Reader& r, TransferTx& b) {
  RETURN_IF_ERROR(GetAddress(r, "transfer.to", b.to));
  return GetU64(r, "transfer.amount", b.amount);
}
Status ReadBody(codec::Reader& r, CreateRepoTx& b) {
  RETURN_IF_ERROR(GetStr(r, "create_repo.name", kMaxRepoNameBytes, b.name));
  RETURN_IF_ERROR(GetStr(r, "create_repo.description", kMaxDescriptionBytes, b.description));
  RETURN_IF_ERROR(GetStr(r, "create_repo.task", kMaxShortTextBytes, b.task));
  RETURN_IF_ERROR(GetStr(r, "create_repo.license", kMaxShortTextBytes, b.license));
  auto count = r.Count(4);  // each tag needs at least its u32 length
  if (!count.ok()) return WithField(count.status(), "create_repo.tags");
  if (*count > kMaxTags)
    return OutOfRange("create_repo.tags: " + std::to_string(*count) + " tags exceeds limit of " +
                      std::to_string(kMaxTags));
  b.tags.resize(*count);
  for (auto& tag : b.tags) RETURN_IF_ERROR(GetStr(r, "create_repo.tags[]", kMaxShortTextBytes, tag));
  return Status::Ok();
}
Status ReadBody(codec::Reader& r, PublishVersionTx& b) {
  RETURN_IF_ERROR(GetStr(r, "publish_version.name", kMaxRepoNameBytes, b.name));
  RETURN_IF_ERROR(GetU32(r, "publish_version.major", b.major));
  RETURN_IF_ERROR(GetU32(r, "publish_version.minor", b.minor));
  RETURN_IF_ERROR(GetCid(r, "publish_version.manifest", b.manifest));
  RETURN_IF_ERROR(GetU64(r, "publish_version.price", b.price));
  auto has_zkml = r.Bool();
  if (!has_zkml.ok()) return WithField(has_zkml.status(), "publish_version.zkml_commitment");
  if (*has_zkml) {
    Hash32 h;
    Status s = r.Fixed(h);
    if (!s.ok()) return WithField(s, "publish_version.zkml_commitment");
    b.zkml_commitment = h;
  }
  return Status::Ok();
}
Status ReadBody(codec::Reader& r, RegisterNodeTx& b) {
  RETURN_IF_ERROR(GetU64(r, "register_node.stake", b.stake));
  RETURN_IF_ERROR(GetU32(r, "register_node.modes", b.modes));
  if ((b.modes & ~kKnownModeBits) != 0)
    return InvalidArgument("register_node.modes: unknown mode bits in " + std::to_string(b.modes));
  return GetStr(r, "register_node.endpoint", kMaxEndpointBytes, b.endpoint);
}
Status ReadBody(codec::Reader& r, SubmitResultTx& b) {
  RETURN_IF_ERROR(ReadSignedRequest(r, b.request));
  RETURN_IF_ERROR(ReadReceipt(r, b.receipt));
  return ReadEvidence(r, b.evidence);
}

void WriteBody(codec::Writer& w, const RegisterEnclaveTx& b) {
  w.Blob(b.enclave_public_key);
  w.Blob(b.attestation_document);
}
void WriteBody(codec::Writer& w, const UpdateTeeParamsTx& b) {
  w.U32(static_cast<uint32_t>(b.add_pcr0.size()));
  for (const auto& m : b.add_pcr0) w.Blob(m);
  w.U32(static_cast<uint32_t>(b.remove_pcr0.size()));
  for (const auto& m : b.remove_pcr0) w.Blob(m);
  w.Bool(b.heartbeat_ms.has_value());
  if (b.heartbeat_ms) w.U64(*b.heartbeat_ms);
  w.Bool(b.max_document_age_ms.has_value());
  if (b.max_document_age_ms) w.U64(*b.max_document_age_ms);
}

Status ReadBody(codec::Reader& r, RegisterEnclaveTx& b) {
  RETURN_IF_ERROR(GetBlob(r, "register_enclave.enclave_public_key", 65, b.enclave_public_key));
  if (b.enclave_public_key.size() != 65 || b.enclave_public_key[0] != 0x04)
    return InvalidArgument("register_enclave.enclave_public_key: must be a 65-byte uncompressed SEC1 point (0x04 || x || y), got " +
                           std::to_string(b.enclave_public_key.size()) + " bytes");
  return GetBlob(r, "register_enclave.attestation_document", kMaxAttestationDocumentBytes, b.attestation_document);
}

Status ReadPcr0List(codec::Reader& r, std::string_view field, std::vector<Bytes>& out) {
  auto count = r.Count(4 + kPcr0Bytes);
  if (!count.ok()) return WithField(count.status(), field);
  if (*count > kMaxPcr0ChangesPerTx)
    return OutOfRange(std::string(field) + ": " + std::to_string(*count) + " measurements exceeds limit of " +
                      std::to_string(kMaxPcr0ChangesPerTx));
  out.resize(*count);
  for (auto& m : out) {
    RETURN_IF_ERROR(GetBlob(r, field, kPcr0Bytes, m));
    if (m.size() != kPcr0Bytes)
      return InvalidArgument(std::string(field) + ": a PCR0 measurement must be 48 bytes, got " +
                             std::to_string(m.size()));
  }
  return Status::Ok();
}

Status GetOptionalU64(codec::Reader& r, std::string_view field, std::optional<uint64_t>& out) {
  auto has = r.Bool();
  if (!has.ok()) return WithField(has.status(), field);
  if (!*has) return Status::Ok();
  uint64_t v = 0;
  RETURN_IF_ERROR(GetU64(r, field, v));
  out = v;
  return Status::Ok();
}

Status ReadBody(codec::Reader& r, UpdateTeeParamsTx& b) {
  RETURN_IF_ERROR(ReadPcr0List(r, "update_tee_params.add_pcr0", b.add_pcr0));
  RETURN_IF_ERROR(ReadPcr0List(r, "update_tee_params.remove_pcr0", b.remove_pcr0));
  RETURN_IF_ERROR(GetOptionalU64(r, "update_tee_params.heartbeat_ms", b.heartbeat_ms));
  return GetOptionalU64(r, "update_tee_params.max_document_age_ms", b.max_document_age_ms);
}

void WriteBody(codec::Writer& w, const RequestInferenceTx& b) {
  WriteSignedRequest(w, b.request);
  w.Blob(b.inputs);
}
Status ReadBody(codec::Reader& r, RequestInferenceTx& b) {
  RETURN_IF_ERROR(ReadSignedRequest(r, b.request));
  return GetBlob(r, "request_inference.inputs", kMaxAsyncInputBytes, b.inputs);
}
void WriteBody(codec::Writer& w, const ReportConflictTx& b) {
  WriteReceipt(w, b.first);
  WriteEvidence(w, b.first_evidence);
  WriteReceipt(w, b.second);
  WriteEvidence(w, b.second_evidence);
}
Status ReadBody(codec::Reader& r, ReportConflictTx& b) {
  RETURN_IF_ERROR(ReadReceipt(r, b.first));
  RETURN_IF_ERROR(ReadEvidence(r, b.first_evidence));
  RETURN_IF_ERROR(ReadReceipt(r, b.second));
  return ReadEvidence(r, b.second_evidence);
}
void WriteBody(codec::Writer& w, const ChallengeTx& b) {
  w.Fixed(b.receipt_id);
  w.Fixed(b.claimed_output_hash);
  w.Blob(b.inputs);
}
Status ReadBody(codec::Reader& r, ChallengeTx& b) {
  RETURN_IF_ERROR(GetFixed(r, "challenge.receipt_id", b.receipt_id));
  RETURN_IF_ERROR(GetFixed(r, "challenge.claimed_output_hash", b.claimed_output_hash));
  return GetBlob(r, "challenge.inputs", kMaxAsyncInputBytes, b.inputs);
}
void WriteBody(codec::Writer& w, const ChallengeVoteTx& b) {
  w.Fixed(b.receipt_id);
  w.Fixed(b.output_hash);
}
Status ReadBody(codec::Reader& r, ChallengeVoteTx& b) {
  RETURN_IF_ERROR(GetFixed(r, "challenge_vote.receipt_id", b.receipt_id));
  return GetFixed(r, "challenge_vote.output_hash", b.output_hash);
}
void WriteBody(codec::Writer& w, const CreateWorkflowTx& b) {
  w.Fixed(b.model.digest);
  w.U8(static_cast<uint8_t>(b.mode));
  w.Str(b.feed);
  w.U64(b.every_blocks);
  w.U64(b.runs);
  w.U64(b.max_fee_per_run);
  w.U64(b.seed);
  w.Blob(b.params);
}
Status ReadBody(codec::Reader& r, CreateWorkflowTx& b) {
  RETURN_IF_ERROR(GetCid(r, "create_workflow.model", b.model));
  RETURN_IF_ERROR(GetMode(r, "create_workflow.mode", b.mode));
  RETURN_IF_ERROR(GetStr(r, "create_workflow.feed", kMaxRepoNameBytes, b.feed));
  RETURN_IF_ERROR(GetU64(r, "create_workflow.every_blocks", b.every_blocks));
  RETURN_IF_ERROR(GetU64(r, "create_workflow.runs", b.runs));
  RETURN_IF_ERROR(GetU64(r, "create_workflow.max_fee_per_run", b.max_fee_per_run));
  RETURN_IF_ERROR(GetU64(r, "create_workflow.seed", b.seed));
  return GetBlob(r, "create_workflow.params", kMaxParamsBytes, b.params);
}
constexpr size_t kMaxPostersPerTx = 16;
void WriteBody(codec::Writer& w, const PostDataTx& b) {
  w.Str(b.feed);
  w.Blob(b.value);
  w.U32(static_cast<uint32_t>(b.add_posters.size()));
  for (const auto& a : b.add_posters) PutAddress(w, a);
}
Status ReadBody(codec::Reader& r, PostDataTx& b) {
  RETURN_IF_ERROR(GetStr(r, "post_data.feed", kMaxRepoNameBytes, b.feed));
  RETURN_IF_ERROR(GetBlob(r, "post_data.value", kMaxFeedValueBytes, b.value));
  auto count = r.Count(20);
  if (!count.ok()) return WithField(count.status(), "post_data.add_posters");
  if (*count > kMaxPostersPerTx)
    return OutOfRange("post_data.add_posters: " + std::to_string(*count) + " posters exceeds limit of " +
                      std::to_string(kMaxPostersPerTx));
  b.add_posters.resize(*count);
  for (auto& a : b.add_posters) RETURN_IF_ERROR(GetAddress(r, "post_data.add_posters[]", a));
  return Status::Ok();
}

void WriteCidList(codec::Writer& w, const std::vector<Cid>& cids) {
  w.U32(static_cast<uint32_t>(cids.size()));
  for (const Cid& c : cids) w.Fixed(c.digest);
}
Status ReadCidList(codec::Reader& r, const char* field, size_t max, std::vector<Cid>& out) {
  auto count = r.Count(32);
  if (!count.ok()) return WithField(count.status(), field);
  if (*count > max)
    return OutOfRange(std::string(field) + ": " + std::to_string(*count) + " CIDs exceeds limit of " + std::to_string(max));
  out.resize(*count);
  for (Cid& c : out) RETURN_IF_ERROR(GetCid(r, field, c));
  return Status::Ok();
}
void WriteBody(codec::Writer& w, const AnnouncePinsTx& b) {
  w.Str(b.ipfs_peer);
  w.Str(b.endpoint);
  WriteCidList(w, b.pin);
  WriteCidList(w, b.unpin);
  w.Bool(b.retire);
}
Status ReadBody(codec::Reader& r, AnnouncePinsTx& b) {
  RETURN_IF_ERROR(GetStr(r, "announce_pins.ipfs_peer", kMaxIpfsPeerBytes, b.ipfs_peer));
  RETURN_IF_ERROR(GetStr(r, "announce_pins.endpoint", kMaxHubEndpointBytes, b.endpoint));
  RETURN_IF_ERROR(ReadCidList(r, "announce_pins.pin", kMaxPinChangesPerTx, b.pin));
  RETURN_IF_ERROR(ReadCidList(r, "announce_pins.unpin", kMaxPinChangesPerTx, b.unpin));
  auto retire = r.Bool();
  if (!retire.ok()) return WithField(retire.status(), "announce_pins.retire");
  b.retire = *retire;
  return Status::Ok();
}

template <typename Body>
Status ReadBodyInto(codec::Reader& r, TxBody& out) {
  Body body;
  RETURN_IF_ERROR(ReadBody(r, body));
  out = std::move(body);
  return Status::Ok();
}

void WriteTx(codec::Writer& w, const Tx& t) {
  w.U8(kFormatVersion);
  w.Str(t.chain_id);
  PutAddress(w, t.from);
  w.U64(t.nonce);
  w.U64(t.max_tx_fee);
  w.U8(static_cast<uint8_t>(t.type()));
  std::visit([&w](const auto& body) { WriteBody(w, body); }, t.body);
}

Status ReadTx(codec::Reader& r, Tx& t) {
  RETURN_IF_ERROR(GetVersion(r, "tx"));
  RETURN_IF_ERROR(GetStr(r, "tx.chain_id", kMaxChainIdBytes, t.chain_id));
  RETURN_IF_ERROR(GetAddress(r, "tx.from", t.from));
  RETURN_IF_ERROR(GetU64(r, "tx.nonce", t.nonce));
  RETURN_IF_ERROR(GetU64(r, "tx.max_tx_fee", t.max_tx_fee));
  auto type = r.U8();
  if (!type.ok()) return WithField(type.status(), "tx.type");
  switch (static_cast<TxType>(*type)) {
    case TxType::kTransfer: return ReadBodyInto<TransferTx>(r, t.body);
    case TxType::kCreateRepo: return ReadBodyInto<CreateRepoTx>(r, t.body);
    case TxType::kPublishVersion: return ReadBodyInto<PublishVersionTx>(r, t.body);
    case TxType::kRegisterNode: return ReadBodyInto<RegisterNodeTx>(r, t.body);
    case TxType::kSubmitResult: return ReadBodyInto<SubmitResultTx>(r, t.body);
    case TxType::kRegisterEnclave: return ReadBodyInto<RegisterEnclaveTx>(r, t.body);
    case TxType::kUpdateTeeParams: return ReadBodyInto<UpdateTeeParamsTx>(r, t.body);
    case TxType::kRequestInference: return ReadBodyInto<RequestInferenceTx>(r, t.body);
    case TxType::kReportConflict: return ReadBodyInto<ReportConflictTx>(r, t.body);
    case TxType::kChallenge: return ReadBodyInto<ChallengeTx>(r, t.body);
    case TxType::kChallengeVote: return ReadBodyInto<ChallengeVoteTx>(r, t.body);
    case TxType::kCreateWorkflow: return ReadBodyInto<CreateWorkflowTx>(r, t.body);
    case TxType::kPostData: return ReadBodyInto<PostDataTx>(r, t.body);
    case TxType::kAnnouncePins: return ReadBodyInto<AnnouncePinsTx>(r, t.body);
  }
  return InvalidArgument("tx.type: unknown transaction type " + std::to_string(*type));
}

void WriteHeader(codec::Writer& w, const BlockHeader& h) {
  w.U8(kFormatVersion);
  w.Str(h.chain_id);
  w.U64(h.height);
  w.U64(h.time_ms);
  w.Fixed(h.prev_hash);
  w.Fixed(h.txs_root);
  w.U32(h.tx_count);
  w.Fixed(h.receipts_root);
  w.U32(h.receipt_count);
  w.Fixed(h.app_hash);
  PutAddress(w, h.proposer);
}

Status ReadHeader(codec::Reader& r, BlockHeader& h) {
  RETURN_IF_ERROR(GetVersion(r, "header"));
  RETURN_IF_ERROR(GetStr(r, "header.chain_id", kMaxChainIdBytes, h.chain_id));
  RETURN_IF_ERROR(GetU64(r, "header.height", h.height));
  RETURN_IF_ERROR(GetU64(r, "header.time_ms", h.time_ms));
  RETURN_IF_ERROR(GetFixed(r, "header.prev_hash", h.prev_hash));
  RETURN_IF_ERROR(GetFixed(r, "header.txs_root", h.txs_root));
  RETURN_IF_ERROR(GetU32(r, "header.tx_count", h.tx_count));
  RETURN_IF_ERROR(GetFixed(r, "header.receipts_root", h.receipts_root));
  RETURN_IF_ERROR(GetU32(r, "header.receipt_count", h.receipt_count));
  RETURN_IF_ERROR(GetFixed(r, "header.app_hash", h.app_hash));
  return GetAddress(r, "header.proposer", h.proposer);
}

}  // namespace

Status CheckSigner(const Hash32& hash, const Signature& sig, const Address& expected, std::string_view what) {
  auto signer = crypto::RecoverAddress(SigningDigest(hash), sig);
  if (!signer.ok()) return PermissionDenied(std::string(what) + " signature invalid: " + signer.status().message());
  if (*signer != expected)
    return PermissionDenied(std::string(what) + " signature recovers to " + signer->ToHex() + ", expected " +
                            expected.ToHex());
  return Status::Ok();
}

std::string_view ModeName(Mode m) {
  switch (m) {
    case Mode::kVanilla: return "vanilla";
    case Mode::kTee: return "tee";
    case Mode::kZkml: return "zkml";
    case Mode::kReplay: return "replay";
  }
  return "unknown";
}

Result<Mode> ModeFromName(std::string_view name) {
  for (Mode m : {Mode::kVanilla, Mode::kTee, Mode::kZkml, Mode::kReplay})
    if (ModeName(m) == name) return m;
  return InvalidArgument("unknown mode \"" + std::string(name) + "\" (expected vanilla, tee, zkml or replay)");
}

Hash32 SigningDigest(const Hash32& hash32) {
  static constexpr std::string_view kPrefix = "\x19" "Ethereum Signed Message:\n32";
  return crypto::Keccak256(Concat({AsBytes(kPrefix), ByteView(hash32.data(), hash32.size())}));
}

// ---- InferenceRequest / SignedRequest ----

Bytes InferenceRequest::Encode() const {
  codec::Writer w;
  WriteRequest(w, *this);
  return w.Take();
}
Result<InferenceRequest> InferenceRequest::Decode(ByteView bytes) {
  return DecodeWhole<InferenceRequest>(bytes, "request", ReadRequest);
}
Hash32 InferenceRequest::Hash() const { return crypto::TaggedSha256(kRequestTag, Encode()); }

Bytes SignedRequest::Encode() const {
  codec::Writer w;
  WriteSignedRequest(w, *this);
  return w.Take();
}
Result<SignedRequest> SignedRequest::Decode(ByteView bytes) {
  return DecodeWhole<SignedRequest>(bytes, "signed request", ReadSignedRequest);
}
Status SignedRequest::CheckSignature() const {
  return CheckSigner(request.Hash(), signature, request.requester, "request");
}

// ---- Receipt / Evidence ----

Bytes Receipt::Encode() const {
  codec::Writer w;
  WriteReceipt(w, *this);
  return w.Take();
}
Result<Receipt> Receipt::Decode(ByteView bytes) { return DecodeWhole<Receipt>(bytes, "receipt", ReadReceipt); }
Hash32 Receipt::Id() const { return crypto::TaggedSha256(kReceiptTag, Encode()); }

Bytes Evidence::Encode() const {
  codec::Writer w;
  WriteEvidence(w, *this);
  return w.Take();
}
Result<Evidence> Evidence::Decode(ByteView bytes) { return DecodeWhole<Evidence>(bytes, "evidence", ReadEvidence); }

// ---- Tx / SignedTx ----

TxType Tx::type() const {
  struct Visitor {
    TxType operator()(const TransferTx&) const { return TxType::kTransfer; }
    TxType operator()(const CreateRepoTx&) const { return TxType::kCreateRepo; }
    TxType operator()(const PublishVersionTx&) const { return TxType::kPublishVersion; }
    TxType operator()(const RegisterNodeTx&) const { return TxType::kRegisterNode; }
    TxType operator()(const SubmitResultTx&) const { return TxType::kSubmitResult; }
    TxType operator()(const RegisterEnclaveTx&) const { return TxType::kRegisterEnclave; }
    TxType operator()(const UpdateTeeParamsTx&) const { return TxType::kUpdateTeeParams; }
    TxType operator()(const RequestInferenceTx&) const { return TxType::kRequestInference; }
    TxType operator()(const ReportConflictTx&) const { return TxType::kReportConflict; }
    TxType operator()(const ChallengeTx&) const { return TxType::kChallenge; }
    TxType operator()(const ChallengeVoteTx&) const { return TxType::kChallengeVote; }
    TxType operator()(const CreateWorkflowTx&) const { return TxType::kCreateWorkflow; }
    TxType operator()(const PostDataTx&) const { return TxType::kPostData; }
    TxType operator()(const AnnouncePinsTx&) const { return TxType::kAnnouncePins; }
  };
  return std::visit(Visitor{}, body);
}

Bytes Tx::EncodeUnsigned() const {
  codec::Writer w;
  WriteTx(w, *this);
  return w.Take();
}
Hash32 Tx::SigningHash() const { return crypto::TaggedSha256(kTxTag, EncodeUnsigned()); }

Bytes SignedTx::Encode() const {
  codec::Writer w;
  WriteTx(w, tx);
  PutSignature(w, signature);
  return w.Take();
}
Result<SignedTx> SignedTx::Decode(ByteView bytes) {
  return DecodeWhole<SignedTx>(bytes, "signed tx", [](codec::Reader& r, SignedTx& s) {
    RETURN_IF_ERROR(ReadTx(r, s.tx));
    return GetSignature(r, "tx.signature", s.signature);
  });
}
Hash32 SignedTx::Hash() const { return crypto::Sha256(Encode()); }
Status SignedTx::CheckSignature() const { return CheckSigner(tx.SigningHash(), signature, tx.from, "tx"); }
SignedTx SignedTx::Sign(Tx tx, const crypto::PrivateKey& key) {
  SignedTx out;
  out.signature = key.Sign(SigningDigest(tx.SigningHash()));
  out.tx = std::move(tx);
  return out;
}

// ---- BlockHeader / SignedHeader ----

Bytes BlockHeader::Encode() const {
  codec::Writer w;
  WriteHeader(w, *this);
  return w.Take();
}
Result<BlockHeader> BlockHeader::Decode(ByteView bytes) {
  return DecodeWhole<BlockHeader>(bytes, "block header", ReadHeader);
}
Hash32 BlockHeader::Hash() const { return crypto::TaggedSha256(kBlockTag, Encode()); }

Bytes SignedHeader::Encode() const {
  codec::Writer w;
  WriteHeader(w, header);
  PutSignature(w, signature);
  return w.Take();
}
Result<SignedHeader> SignedHeader::Decode(ByteView bytes) {
  return DecodeWhole<SignedHeader>(bytes, "signed header", [](codec::Reader& r, SignedHeader& s) {
    RETURN_IF_ERROR(ReadHeader(r, s.header));
    return GetSignature(r, "header.signature", s.signature);
  });
}

Bytes EnclaveNonce(const Address& node) { return Bytes(node.bytes.begin(), node.bytes.end()); }

}  // namespace lucid::protocol
