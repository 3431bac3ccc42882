// The signed and hashed data of the chain: inference requests, receipts, evidence,
// transactions and block headers. Canonical encodings (codec/) and hashing rules are
// specified in docs/formats/protocol.md. Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "base/bytes.h"
#include "crypto/cid.h"
#include "crypto/secp256k1.h"

namespace lucid::protocol {

using crypto::Address;
using crypto::Cid;
using crypto::Signature;

inline constexpr uint8_t kFormatVersion = 1;

enum class Mode : uint8_t { kVanilla = 1, kTee = 2, kZkml = 3, kReplay = 4 };
std::string_view ModeName(Mode m);
Result<Mode> ModeFromName(std::string_view name);
inline uint32_t ModeBit(Mode m) { return 1u << static_cast<uint8_t>(m); }

// Signing digest used for every signature a key makes in Lucid (EIP-191 "personal_sign"
// over the 32-byte domain-separated hash), so any Ethereum wallet can produce it:
//   keccak256("\x19Ethereum Signed Message:\n32" || hash32)
Hash32 SigningDigest(const Hash32& hash32);

// Ok iff sig over SigningDigest(hash) recovers to expected; PERMISSION_DENIED naming
// `what` otherwise. Every signature check in Lucid goes through here.
Status CheckSigner(const Hash32& hash, const Signature& sig, const Address& expected, std::string_view what);

// What a requester signs: every field a node could otherwise change.
struct InferenceRequest {
  std::string chain_id;
  Address requester;
  Cid model;               // CID of the model version's manifest
  Mode mode = Mode::kVanilla;
  Hash32 input_hash{};     // HashTensorMap of the inputs
  Bytes params;            // canonical execution parameters (empty for ONNX models)
  uint64_t seed = 0;
  uint64_t max_fee = 0;    // most the requester pays (node fee + publisher price)
  uint64_t nonce = 0;      // per-requester request nonce, strictly increasing
  uint64_t deadline_height = 0;  // 0 = no deadline
  Address node;            // the node allowed to answer; all-zero = any registered node

  Bytes Encode() const;
  static Result<InferenceRequest> Decode(ByteView bytes);
  // TaggedSha256("lucid:request:v1", Encode())
  Hash32 Hash() const;
};

struct SignedRequest {
  InferenceRequest request;
  Signature signature{};  // over SigningDigest(request.Hash())

  Bytes Encode() const;
  static Result<SignedRequest> Decode(ByteView bytes);
  // Ok iff the signature recovers to request.requester.
  Status CheckSignature() const;
};

// What a node attests to. receipt_id = TaggedSha256("lucid:receipt:v1", Encode()).
struct Receipt {
  std::string chain_id;
  Hash32 request_hash{};
  Cid model;
  Hash32 input_hash{};
  Hash32 output_hash{};    // HashTensorMap of the outputs
  Mode mode = Mode::kVanilla;
  Address node;
  std::string engine;      // executor and semantics, e.g. "lucid-onnx/f32-canonical/1"
  uint64_t fee = 0;        // node fee charged (publisher price is added by the chain)

  Bytes Encode() const;
  static Result<Receipt> Decode(ByteView bytes);
  Hash32 Id() const;
};

// Mode-specific evidence. vanilla: data = 65-byte node signature over SigningDigest(receipt id).
// tee: data = 65-byte signature by the node's registered enclave key over SigningDigest(receipt id).
struct Evidence {
  Mode mode = Mode::kVanilla;
  Bytes data;

  Bytes Encode() const;
  static Result<Evidence> Decode(ByteView bytes);
};

// ---- transactions ----

struct TransferTx {
  Address to;
  uint64_t amount = 0;
};

struct CreateRepoTx {
  std::string name;         // [a-z0-9][a-z0-9-_.]{0,63}
  std::string description;  // markdown
  std::string task;
  std::string license;
  std::vector<std::string> tags;
};

struct PublishVersionTx {
  std::string name;
  uint32_t major = 0;
  uint32_t minor = 0;
  Cid manifest;             // CID of the canonical manifest JSON stored in the hub
  uint64_t price = 0;       // paid to the repo owner per inference
  // zkml model commitment (zkml/zkml.h ModelCommitment) of the version, when it supports
  // zkml; the manifest records the same value and anyone can recompute it from the files.
  std::optional<Hash32> zkml_commitment;
};

struct RegisterNodeTx {
  uint64_t stake = 0;
  uint32_t modes = 0;       // bit set of ModeBit()
  std::string endpoint;     // http://host:port of the node's API
};

struct SubmitResultTx {
  SignedRequest request;
  Receipt receipt;
  Evidence evidence;
};

// Sent by a node registered for tee mode: binds the enclave's receipt-signing secp256k1 key
// to the node, proven by an AWS Nitro attestation document whose public_key or user_data
// carries SHA-256(enclave_public_key). docs/tee-chain.md.
inline constexpr size_t kMaxAttestationDocumentBytes = 64 * 1024;
inline constexpr size_t kPcr0Bytes = 48;            // SHA-384
inline constexpr size_t kMaxPcr0ChangesPerTx = 64;
// The attestation nonce a RegisterEnclave document must carry: the registering node's
// 20-byte address, so a document (public once registered) registers only its own node.
Bytes EnclaveNonce(const Address& node);

struct RegisterEnclaveTx {
  Bytes enclave_public_key;     // uncompressed SEC1 secp256k1 point: 0x04 || x || y (65 bytes)
  Bytes attestation_document;   // COSE_Sign1, at most kMaxAttestationDocumentBytes
};

// Admin only (genesis params.tee.admin). Removals are applied before additions.
struct UpdateTeeParamsTx {
  std::vector<Bytes> add_pcr0;     // 48 bytes each
  std::vector<Bytes> remove_pcr0;  // 48 bytes each
  std::optional<uint64_t> heartbeat_ms;
  std::optional<uint64_t> max_document_age_ms;
};

// ---- async requests, replay challenges, slashing evidence, workflows (docs/settlement.md) ----

// Posts a request on chain for the chain to assign (docs/settlement.md "Async requests"): the
// sender is the requester (request.requester == tx.from, request signed as for a direct call),
// max_fee is escrowed, deadline_height is required, and `inputs` (EncodeTensorMap) must hash to
// request.input_hash. request.node all-zero: the chain picks a node, stake-weighted, from the
// request id; set: that node is assigned.
inline constexpr size_t kMaxAsyncInputBytes = 1u << 20;
// Nonces with this bit set are reserved for requests the chain itself makes (workflow runs): a
// signed request with such a nonce is refused, so no one can pre-sign a chain-made request.
inline constexpr uint64_t kChainMadeNonceBit = 1ull << 63;
struct RequestInferenceTx {
  SignedRequest request;
  Bytes inputs;
};

// Two results signed by one node for the same request with different outputs: the engine is
// deterministic, so at most one is right. Any account may submit it; the node is slashed and
// jailed, once per (node, request). Vanilla and replay evidence (the node's own signature).
struct ReportConflictTx {
  Receipt first;
  Evidence first_evidence;
  Receipt second;
  Evidence second_evidence;
};

// Claims a replay-mode receipt still in its challenge window is wrong; bonds params.challenge_bond.
// `inputs` (EncodeTensorMap bytes hashing to the receipt's input_hash) let the committee
// re-execute; empty when the receipt answers an async request (its inputs are on chain).
struct ChallengeTx {
  Hash32 receipt_id{};
  Hash32 claimed_output_hash{};
  Bytes inputs;
};

// A challenge committee member's re-execution: the output hash it computed.
struct ChallengeVoteTx {
  Hash32 receipt_id{};
  Hash32 output_hash{};
};

// A scheduled inference: every `every_blocks` blocks from creation, `runs` times, the chain
// creates an async request for `model` fed with the current value of data feed `feed`
// (prepaid: runs * max_fee_per_run is escrowed now, unused fees come back).
struct CreateWorkflowTx {
  Cid model;
  Mode mode = Mode::kVanilla;
  std::string feed;
  uint64_t every_blocks = 0;
  uint64_t runs = 0;
  uint64_t max_fee_per_run = 0;
  uint64_t seed = 0;
  Bytes params;
};

// Sets data feed `feed` to `value` (EncodeTensorMap bytes). The first post creates the feed,
// owned by the sender; only its owner and the posters it names may post.
inline constexpr size_t kMaxFeedValueBytes = 64u << 10;
struct PostDataTx {
  std::string feed;
  Bytes value;
  std::vector<Address> add_posters;  // owner only
};

// ---- hub replication (docs/ipfs.md "Replication") ----

// A hub says which published versions it keeps pinned in IPFS (every file of the version, its
// test vectors and its manifest). The first announcement makes the sender a hub and bonds
// params.replication.hub_bond; `retire` drops every pin and the hub and returns the bond.
// Changes apply in order: unpin, then pin; a CID pinned twice, unpinned while not pinned, or
// not a published version's manifest is refused, and the whole tx with it.
inline constexpr size_t kMaxPinChangesPerTx = 64;
inline constexpr size_t kMaxIpfsPeerBytes = 128;
inline constexpr size_t kMaxHubEndpointBytes = 256;
struct AnnouncePinsTx {
  std::string ipfs_peer;    // the hub's kubo peer id; empty: unchanged (required the first time)
  std::string endpoint;     // the hub's Lucid API, http://host:port; empty: unchanged
  std::vector<Cid> pin;     // manifest CIDs of published versions now pinned
  std::vector<Cid> unpin;   // manifest CIDs no longer pinned
  bool retire = false;      // with no other field set
};

enum class TxType : uint8_t {
  kTransfer = 1,
  kCreateRepo = 2,
  kPublishVersion = 3,
  kRegisterNode = 4,
  kSubmitResult = 5,
  kRegisterEnclave = 6,
  kUpdateTeeParams = 7,
  kRequestInference = 8,
  kReportConflict = 9,
  kChallenge = 10,
  kChallengeVote = 11,
  kCreateWorkflow = 12,
  kPostData = 13,
  kAnnouncePins = 14,
};

using TxBody = std::variant<TransferTx, CreateRepoTx, PublishVersionTx, RegisterNodeTx, SubmitResultTx,
                            RegisterEnclaveTx, UpdateTeeParamsTx, RequestInferenceTx, ReportConflictTx,
                            ChallengeTx, ChallengeVoteTx, CreateWorkflowTx, PostDataTx, AnnouncePinsTx>;

struct Tx {
  std::string chain_id;
  Address from;
  uint64_t nonce = 0;       // account nonce, must equal the account's next nonce
  uint64_t max_tx_fee = 0;  // most the sender pays in tx fees (per byte)
  TxBody body;

  TxType type() const;
  Bytes EncodeUnsigned() const;
  Hash32 SigningHash() const;  // TaggedSha256("lucid:tx:v1", EncodeUnsigned())
};

struct SignedTx {
  Tx tx;
  Signature signature{};

  Bytes Encode() const;
  static Result<SignedTx> Decode(ByteView bytes);  // refuses trailing bytes, bad enums
  Hash32 Hash() const;                           // sha256(Encode()): the tx id
  Status CheckSignature() const;
  static SignedTx Sign(Tx tx, const crypto::PrivateKey& key);
};

// ---- blocks ----

struct BlockHeader {
  std::string chain_id;
  uint64_t height = 0;
  uint64_t time_ms = 0;     // producer's clock, strictly increasing
  Hash32 prev_hash{};
  Hash32 txs_root{};        // Merkle root over tx hashes (as leaves), block order
  uint32_t tx_count = 0;    // leaves under txs_root
  Hash32 receipts_root{};   // Merkle root over receipt ids (as leaves), block order
  // Leaves under receipts_root. An RFC 9162 audit path alone does not pin the tree size
  // (index 0 of 3 also verifies as index 0 of 4), so verifiers take the size from here.
  uint32_t receipt_count = 0;
  Hash32 app_hash{};        // state commitment after executing this block
  Address proposer;

  Bytes Encode() const;
  static Result<BlockHeader> Decode(ByteView bytes);
  Hash32 Hash() const;      // TaggedSha256("lucid:block:v1", Encode())
};

struct SignedHeader {
  BlockHeader header;
  Signature signature{};    // proposer's signature over SigningDigest(header.Hash())
  Bytes Encode() const;
  static Result<SignedHeader> Decode(ByteView bytes);
};

}  // namespace lucid::protocol
