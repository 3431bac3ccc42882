// Internal to lucid_chain: the key layout of chain state in the KvStore, the canonical
// encodings of the records stored under those keys, and the write overlay used to stage
// a block (or a single tx) before it is committed. Specified in docs/formats/state.md.
// Thread-safety: plain values / single-threaded overlays.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "chain/app.h"
#include "store/kv_store.h"

namespace lucid::chain {

// ---- key layout (one-letter prefixes, then fixed-width binary ids) ----
namespace keys {
inline constexpr std::string_view kGenesis = "m/genesis";
inline constexpr std::string_view kInfo = "m/info";
inline constexpr std::string_view kAccountPrefix = "a/";
inline constexpr std::string_view kRepoPrefix = "r/";
inline constexpr std::string_view kVersionByCidPrefix = "v/";
inline constexpr std::string_view kNodePrefix = "n/";
inline constexpr std::string_view kReceiptPrefix = "x/";
inline constexpr std::string_view kReceiptIndexPrefix = "i/";
inline constexpr std::string_view kBlockPrefix = "b/";
inline constexpr std::string_view kEnclavePrefix = "e/";
inline constexpr std::string_view kTeeParams = "t/params";
inline constexpr std::string_view kAsyncSeq = "m/async_seq";     // u64: nonce of chain-made requests
inline constexpr std::string_view kWorkflowSeq = "m/workflow_seq";  // u64: last workflow id
inline constexpr std::string_view kAsyncPrefix = "q/";          // request id -> AsyncRequest
inline constexpr std::string_view kDeadlinePrefix = "y/";       // be64 deadline || request id -> ""
inline constexpr std::string_view kPendingPrefix = "p/";        // node || request id -> ""
inline constexpr std::string_view kConflictPrefix = "c/";       // node || request hash -> ""
inline constexpr std::string_view kChallengePrefix = "k/";      // receipt id -> Challenge
inline constexpr std::string_view kDrawDuePrefix = "g/";         // be64 draw height || receipt id -> ""
inline constexpr std::string_view kVoteDuePrefix = "u/";        // be64 vote deadline || receipt id -> ""
inline constexpr std::string_view kReplayDuePrefix = "z/";      // be64 final height || receipt id -> ""
inline constexpr std::string_view kFeedPrefix = "f/";           // feed name -> DataFeed
inline constexpr std::string_view kWorkflowPrefix = "w/";       // be64 id -> Workflow
inline constexpr std::string_view kWorkflowDuePrefix = "s/";    // be64 height || be64 id -> ""
inline constexpr std::string_view kHubPrefix = "h/";            // hub address -> HubRecord
inline constexpr std::string_view kPinnedByPrefix = "o/";       // manifest digest || hub -> u64 height
inline constexpr std::string_view kHubPinPrefix = "l/";         // hub || manifest digest -> ""

std::string Account(const Address& a);
std::string Repo(std::string_view name);
std::string VersionByCid(const Cid& manifest);
std::string Node(const Address& a);
std::string Receipt(const Hash32& receipt_id);
std::string ReceiptIndex(const Hash32& receipt_id);
std::string Block(uint64_t height);
std::string Enclave(const Address& node);  // big-endian height, so blocks scan in order
std::string Async(const Hash32& request_id);
std::string DeadlineDue(uint64_t height);  // prefix of the requests due at height
std::string Deadline(uint64_t height, const Hash32& request_id);
std::string PendingFor(const Address& node);  // prefix of node's pending requests
std::string Pending(const Address& node, const Hash32& request_id);
std::string Conflict(const Address& node, const Hash32& request_hash);
std::string Challenge(const Hash32& receipt_id);
std::string DrawDue(uint64_t height);
std::string DrawDueAt(uint64_t height, const Hash32& receipt_id);
std::string VoteDue(uint64_t height);
std::string VoteDueAt(uint64_t height, const Hash32& receipt_id);
std::string ReplayDue(uint64_t height);
std::string ReplayDueAt(uint64_t height, const Hash32& receipt_id);
std::string Feed(std::string_view name);
std::string Workflow(uint64_t id);
std::string WorkflowDue(uint64_t height);
std::string WorkflowDueAt(uint64_t height, uint64_t id);
std::string Hub(const Address& hub);
std::string PinnedBy(const Cid& manifest);  // prefix of the version's hubs
std::string PinnedByAt(const Cid& manifest, const Address& hub);
std::string HubPins(const Address& hub);    // prefix of the hub's versions
std::string HubPin(const Address& hub, const Cid& manifest);
}  // namespace keys

// ---- record encodings (each starts with a version byte; decoders refuse trailing bytes) ----
Bytes EncodeGenesis(const Genesis& g);  // accounts and validators sorted by address
Result<Genesis> DecodeGenesis(ByteView b);
Bytes EncodeAppInfo(const AppInfo& info);
Result<AppInfo> DecodeAppInfo(ByteView b);
Bytes EncodeAccount(const Account& a);
Result<Account> DecodeAccount(ByteView b);
Bytes EncodeRepo(const Repo& r);
Result<Repo> DecodeRepo(ByteView b);
Bytes EncodeNode(const NodeInfo& n);
Result<NodeInfo> DecodeNode(ByteView b);
Bytes EncodeEnclave(const EnclaveInfo& e);
Result<EnclaveInfo> DecodeEnclave(ByteView b);
// The mutable tee params (allowed_pcr0, heartbeat_ms, max_document_age_ms); admin and
// dev_root_der are not stored here (they come from the genesis).
Bytes EncodeTeeParams(const TeeParams& t);
Result<TeeParams> DecodeTeeParams(ByteView b);
Bytes EncodeReceiptRecord(const ReceiptRecord& r);
Result<ReceiptRecord> DecodeReceiptRecord(ByteView b);
Bytes EncodeStoredBlock(const StoredBlock& b);
Result<StoredBlock> DecodeStoredBlock(ByteView b);

Bytes EncodeAsyncRequest(const AsyncRequest& a);
Result<AsyncRequest> DecodeAsyncRequest(ByteView b);
Bytes EncodeChallenge(const Challenge& c);
Result<Challenge> DecodeChallenge(ByteView b);
Bytes EncodeFeed(const DataFeed& f);
Result<DataFeed> DecodeFeed(ByteView b);
Bytes EncodeWorkflow(const Workflow& w);
Result<Workflow> DecodeWorkflow(ByteView b);
Bytes EncodeHub(const HubRecord& h);
Result<HubRecord> DecodeHub(ByteView b);
Bytes EncodeU64(uint64_t v);
Result<uint64_t> DecodeU64(ByteView b);

struct VersionRef {
  std::string repo;
  uint32_t major = 0;
  uint32_t minor = 0;
};
Bytes EncodeVersionRef(const VersionRef& v);
Result<VersionRef> DecodeVersionRef(ByteView b);

struct ReceiptLocation {
  uint64_t height = 0;
  uint32_t index = 0;
};
Bytes EncodeReceiptLocation(const ReceiptLocation& l);
Result<ReceiptLocation> DecodeReceiptLocation(ByteView b);

// Pending writes over a parent (another overlay, or committed state). Reads see the
// newest write; a nullopt value is a tombstone. Keys iterate in byte order.
class StateOverlay {
 public:
  using Writes = std::map<std::string, std::optional<Bytes>, std::less<>>;

  explicit StateOverlay(const store::KvStore* base) : base_(base) {}
  explicit StateOverlay(const StateOverlay* parent) : parent_(parent) {}

  Result<std::optional<Bytes>> Get(std::string_view key) const;
  void Put(std::string key, Bytes value) { writes_[std::move(key)] = std::move(value); }
  void Delete(std::string key) { writes_[std::move(key)] = std::nullopt; }
  // Calls fn for every live key starting with prefix, in byte order, as this overlay sees
  // them (base or parents, then newer writes on top).
  Status Scan(std::string_view prefix, const std::function<void(const std::string&, const Bytes&)>& fn) const;
  // Moves this overlay's writes into target (which must be this overlay's parent).
  void MergeInto(StateOverlay& target);
  const Writes& writes() const { return writes_; }
  void Clear() { writes_.clear(); }

 private:
  const store::KvStore* base_ = nullptr;
  const StateOverlay* parent_ = nullptr;
  Writes writes_;
  Status Collect(std::string_view prefix, std::map<std::string, Bytes>& out) const;
};

// sha256 over the canonical sorted list of (key, value-or-tombstone) a block wrote.
Hash32 WriteSetDigest(const StateOverlay::Writes& writes);
// TaggedSha256("lucid:apphash:v1", prev || WriteSetDigest(writes)).
Hash32 NextAppHash(const Hash32& prev, const StateOverlay::Writes& writes);
// TaggedSha256("lucid:apphash:v1", EncodeGenesis(genesis)).
Hash32 GenesisAppHash(const Genesis& genesis);

}  // namespace lucid::chain
