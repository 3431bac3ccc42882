#include "chain/settlement.h"

#include <algorithm>
#include <limits>

#include "crypto/hash.h"
#include "protocol/dev_keys.h"
#include "tensor/tensor.h"
#include "verify/sig_cache.h"
#include "verify/verify.h"

namespace lucid::chain {

std::string_view AsyncStatusName(AsyncStatus s) {
  switch (s) {
    case AsyncStatus::kPending: return "pending";
    case AsyncStatus::kAnswered: return "answered";
    case AsyncStatus::kExpired: return "expired";
  }
  return "unknown";
}

std::string_view SettlementStatusName(SettlementStatus s) {
  switch (s) {
    case SettlementStatus::kFinal: return "final";
    case SettlementStatus::kPending: return "pending";
    case SettlementStatus::kChallenged: return "challenged";
    case SettlementStatus::kOverturned: return "overturned";
  }
  return "unknown";
}

std::string_view ChallengeStatusName(ChallengeStatus s) {
  switch (s) {
    case ChallengeStatus::kOpen: return "open";
    case ChallengeStatus::kNodeWon: return "node_won";
    case ChallengeStatus::kChallengerWon: return "challenger_won";
    case ChallengeStatus::kVoid: return "void";
    case ChallengeStatus::kNodeRefuted: return "node_refuted";
  }
  return "unknown";
}

namespace {

template <typename T, typename Decode>
Result<std::optional<T>> LoadRecord(const StateOverlay& state, const std::string& key, Decode decode) {
  ASSIGN_OR_RETURN(std::optional<Bytes> raw, state.Get(key));
  if (!raw) return std::optional<T>();
  ASSIGN_OR_RETURN(T value, decode(*raw));
  return std::optional<T>(std::move(value));
}

uint64_t Be64At(const std::string& key, size_t offset) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(key[offset + i]);
  return v;
}

Hash32 HashAt(const std::string& key, size_t offset) {
  Hash32 h{};
  std::copy(key.begin() + static_cast<std::ptrdiff_t>(offset), key.begin() + static_cast<std::ptrdiff_t>(offset + 32),
            h.begin());
  return h;
}

// The keys under prefix, read before any of them is changed.
Result<std::vector<std::string>> KeysUnder(const StateOverlay& state, const std::string& prefix) {
  std::vector<std::string> out;
  RETURN_IF_ERROR(state.Scan(prefix, [&](const std::string& key, const Bytes&) { out.push_back(key); }));
  return out;
}

// Takes bps/10000 of node's stake (rounded down); returns the amount taken.
Result<uint64_t> SlashNode(StateOverlay& state, const Address& a, uint64_t bps, bool jail) {
  ASSIGN_OR_RETURN(std::optional<NodeInfo> found, LoadNode(state, a));
  if (!found) return DataLoss("slashing unknown node " + a.ToHex());
  NodeInfo node = std::move(*found);
  const uint64_t amount =
      static_cast<uint64_t>(static_cast<unsigned __int128>(node.stake) * std::min<uint64_t>(bps, 10000) / 10000);
  node.stake -= amount;
  node.slashed += amount;  // cannot overflow: bounded by the total supply
  if (jail) node.jailed = true;
  state.Put(keys::Node(a), EncodeNode(node));
  return amount;
}

struct VersionFacts {
  uint64_t price = 0;
  Address owner;
  std::optional<Hash32> zkml_commitment;
};

// The published version of a manifest CID: its price, its repo's owner, its zkml commitment.
Result<std::optional<VersionFacts>> PublishedVersion(const StateOverlay& state, const Cid& model) {
  ASSIGN_OR_RETURN(std::optional<Bytes> raw, state.Get(keys::VersionByCid(model)));
  if (!raw) return std::optional<VersionFacts>();
  ASSIGN_OR_RETURN(VersionRef ref, DecodeVersionRef(*raw));
  ASSIGN_OR_RETURN(std::optional<Repo> repo, LoadRepo(state, ref.repo));
  if (!repo) return DataLoss("version index names missing repo '" + ref.repo + "'");
  for (const auto& v : repo->versions)
    if (v.major == ref.major && v.minor == ref.minor)
      return std::optional<VersionFacts>(VersionFacts{v.price, repo->owner, v.zkml_commitment});
  return DataLoss("version index names a version repo '" + repo->name + "' lacks");
}

Result<uint64_t> NextCounter(StateOverlay& state, std::string_view key) {
  ASSIGN_OR_RETURN(std::optional<Bytes> raw, state.Get(key));
  uint64_t v = 0;
  if (raw) {
    ASSIGN_OR_RETURN(v, DecodeU64(*raw));
  }
  if (v == std::numeric_limits<uint64_t>::max()) return OutOfRange(std::string(key) + " counter overflows");
  state.Put(std::string(key), EncodeU64(v + 1));
  return v + 1;
}

Status PutAsync(StateOverlay& state, const AsyncRequest& a) {
  state.Put(keys::Async(a.id), EncodeAsyncRequest(a));
  state.Put(keys::Deadline(a.request.request.deadline_height, a.id), Bytes{});
  state.Put(keys::Pending(a.assigned, a.id), Bytes{});
  return Status::Ok();
}

Status CreditOrStatus(StateOverlay& state, const Address& a, uint64_t amount, std::string_view what) {
  TxOutcome r = Credit(state, a, amount, what);
  if (r.internal_error) return *r.internal_error;
  if (r.code != TxCode::kOk) return Internal(r.log);  // balances are bounded by the supply
  return Status::Ok();
}

// Pays a held replay receipt: node fee to the node, the rest (the price) to the publisher. A
// node jailed meanwhile (it signed conflicting results) is not paid: its receipt is overturned
// and the requester refunded, since its word no longer counts.
Status PayReplayReceipt(StateOverlay& state, const Hash32& receipt_id, ReceiptRecord& record) {
  const Receipt& receipt = record.result.receipt;
  ASSIGN_OR_RETURN(std::optional<NodeInfo> node, LoadNode(state, receipt.node));
  if (node && node->jailed) {
    RETURN_IF_ERROR(CreditOrStatus(state, record.result.request.request.requester, record.held, "refund"));
    record.held = 0;
    record.settlement = SettlementStatus::kOverturned;
    state.Put(keys::Receipt(receipt_id), EncodeReceiptRecord(record));
    return Status::Ok();
  }
  ASSIGN_OR_RETURN(std::optional<VersionFacts> version, PublishedVersion(state, receipt.model));
  if (!version) return DataLoss("replay receipt names an unpublished model");
  if (record.held < receipt.fee) return DataLoss("replay receipt holds less than its fee");
  RETURN_IF_ERROR(CreditOrStatus(state, receipt.node, receipt.fee, "node fee"));
  RETURN_IF_ERROR(CreditOrStatus(state, version->owner, record.held - receipt.fee, "publisher price"));
  record.node_paid = receipt.fee;
  record.publisher_paid = record.held - receipt.fee;
  record.held = 0;
  record.settlement = SettlementStatus::kFinal;
  state.Put(keys::Receipt(receipt_id), EncodeReceiptRecord(record));
  return Status::Ok();
}

// The committee's majority decided `decided` for the challenged receipt.
Status ResolveChallenge(StateOverlay& state, Challenge& c, const Hash32& decided, const ExecEnv& env) {
  ASSIGN_OR_RETURN(std::optional<Bytes> raw, state.Get(keys::Receipt(c.receipt_id)));
  if (!raw) return DataLoss("challenge names a missing receipt");
  ASSIGN_OR_RETURN(ReceiptRecord record, DecodeReceiptRecord(*raw));
  const Receipt& receipt = record.result.receipt;
  c.decided_output_hash = decided;
  c.closed_height = env.height;
  state.Delete(keys::VoteDueAt(c.vote_deadline, c.receipt_id));
  if (decided == receipt.output_hash) {
    // The node was right: the challenger's bond goes to it, and the receipt is paid.
    c.status = ChallengeStatus::kNodeWon;
    ASSIGN_OR_RETURN(std::optional<NodeInfo> node, LoadNode(state, receipt.node));
    const bool jailed = node && node->jailed;  // a jailed node earns nothing: the bond goes back
    RETURN_IF_ERROR(CreditOrStatus(state, jailed ? c.challenger : receipt.node, c.bond, "challenge bond"));
    RETURN_IF_ERROR(PayReplayReceipt(state, c.receipt_id, record));
  } else {
    // The node's output was refuted: it loses stake; the requester gets back what was held.
    ASSIGN_OR_RETURN(uint64_t slashed, SlashNode(state, receipt.node, env.params.settlement.replay_slash_bps, false));
    RETURN_IF_ERROR(CreditOrStatus(state, record.result.request.request.requester, record.held, "refund"));
    record.held = 0;
    record.settlement = SettlementStatus::kOverturned;
    state.Put(keys::Receipt(c.receipt_id), EncodeReceiptRecord(record));
    if (decided == c.claimed_output_hash) {
      // Bond back plus half the node's slashed stake; the other half is burned, so a lying node
      // that front-runs an honest challenge from its own second account still loses.
      c.status = ChallengeStatus::kChallengerWon;
      RETURN_IF_ERROR(CreditOrStatus(state, c.challenger, c.bond + slashed / 2, "challenge reward"));
    } else {
      c.status = ChallengeStatus::kNodeRefuted;  // both claims wrong: bond back, the slash is burned
      RETURN_IF_ERROR(CreditOrStatus(state, c.challenger, c.bond, "challenge bond"));
    }
  }
  state.Put(keys::Challenge(c.receipt_id), EncodeChallenge(c));
  return Status::Ok();
}

// A pending async request closed without an answer: the requester gets its escrow back. At its
// deadline (slash) the assigned node loses async_miss_slash_bps of its stake, burned: paying it
// to the requester would let anyone profit from requests a node cannot run in time.
Status CloseUnanswered(StateOverlay& state, AsyncRequest& a, const ExecEnv& env, bool slash) {
  state.Delete(keys::Deadline(a.request.request.deadline_height, a.id));
  state.Delete(keys::Pending(a.assigned, a.id));
  a.status = AsyncStatus::kExpired;
  a.closed_height = env.height;
  if (slash) {
    ASSIGN_OR_RETURN(uint64_t slashed, SlashNode(state, a.assigned, env.params.settlement.async_miss_slash_bps, false));
    (void)slashed;
    ASSIGN_OR_RETURN(std::optional<NodeInfo> node, LoadNode(state, a.assigned));
    if (node) {
      node->missed_deadlines += 1;
      state.Put(keys::Node(a.assigned), EncodeNode(*node));
    }
  }
  RETURN_IF_ERROR(CreditOrStatus(state, a.request.request.requester, a.escrow, "async refund"));
  a.escrow = 0;
  state.Put(keys::Async(a.id), EncodeAsyncRequest(a));
  return Status::Ok();
}

TxOutcome FromStatus(const Status& s) {
  if (s.ok()) return {};
  return InternalFailure(s);
}

}  // namespace

Result<std::optional<AsyncRequest>> LoadAsyncRequest(const StateOverlay& state, const Hash32& id) {
  return LoadRecord<AsyncRequest>(state, keys::Async(id), DecodeAsyncRequest);
}
Result<std::optional<Challenge>> LoadChallenge(const StateOverlay& state, const Hash32& receipt_id) {
  return LoadRecord<Challenge>(state, keys::Challenge(receipt_id), DecodeChallenge);
}
Result<std::optional<DataFeed>> LoadFeed(const StateOverlay& state, std::string_view name) {
  return LoadRecord<DataFeed>(state, keys::Feed(name), DecodeFeed);
}
Result<std::optional<Workflow>> LoadWorkflow(const StateOverlay& state, uint64_t id) {
  return LoadRecord<Workflow>(state, keys::Workflow(id), DecodeWorkflow);
}

Result<std::optional<Address>> AssignNode(const StateOverlay& state, const Hash32& request_id, Mode mode,
                                          const std::vector<Address>& exclude) {
  std::vector<std::pair<Address, uint64_t>> candidates;  // in address order (the key order)
  Status decode_error = Status::Ok();
  uint64_t total = 0;
  RETURN_IF_ERROR(state.Scan(std::string(keys::kNodePrefix), [&](const std::string&, const Bytes& raw) {
    auto node = DecodeNode(raw);
    if (!node.ok()) {
      decode_error = node.status();
      return;
    }
    if ((node->modes & ModeBit(mode)) == 0 || node->jailed || node->stake == 0) return;
    if (std::find(exclude.begin(), exclude.end(), node->address) != exclude.end()) return;
    candidates.emplace_back(node->address, node->stake);
    total += node->stake;  // bounded by the total supply
  }));
  RETURN_IF_ERROR(decode_error);
  if (candidates.empty()) return std::optional<Address>();
  const Hash32 seed = crypto::TaggedSha256("lucid:assign:v1", request_id);
  uint64_t r = 0;
  for (int i = 0; i < 8; ++i) r = (r << 8) | seed[static_cast<size_t>(i)];
  uint64_t pick = r % total;
  for (const auto& [address, stake] : candidates) {
    if (pick < stake) return std::optional<Address>(address);
    pick -= stake;
  }
  return Internal("AssignNode: stake walk ran past the total");
}

TxOutcome ApplyRequestInference(StateOverlay& state, const Tx& tx, const RequestInferenceTx& body,
                                const ExecEnv& env) {
  const InferenceRequest& req = body.request.request;
  const SettlementParams& sp = env.params.settlement;
  if (req.requester != tx.from)
    return Fail(TxCode::kUnauthorized, "request's requester " + req.requester.ToHex() + " is not the sender " +
                                           tx.from.ToHex());
  if (req.chain_id != env.chain_id)
    return Fail(TxCode::kWrongChain, "request chain id '" + req.chain_id + "' is not '" + env.chain_id + "'");
  const Hash32 id = req.Hash();
  if (Status s = verify::CheckSignerCached(id, body.request.signature, req.requester, "request"); !s.ok())
    return Fail(TxCode::kBadRequest, s.message());
  if (req.deadline_height == 0)
    return Fail(TxCode::kInvalidField, "an async request needs a deadline height");
  if (req.deadline_height <= env.height)
    return Fail(TxCode::kBadRequest, "request deadline height " + std::to_string(req.deadline_height) +
                                         " is not after block " + std::to_string(env.height));
  if (req.deadline_height - env.height < sp.async_min_deadline_blocks)
    return Fail(TxCode::kInvalidField, "request deadline is " + std::to_string(req.deadline_height - env.height) +
                                           " blocks away; at least " + std::to_string(sp.async_min_deadline_blocks));
  if ((req.nonce & kChainMadeNonceBit) != 0)
    return Fail(TxCode::kBadRequest, "request nonce " + std::to_string(req.nonce) +
                                         " has the bit reserved for chain-made requests");
  if (req.deadline_height - env.height > sp.async_max_deadline_blocks)
    return Fail(TxCode::kInvalidField, "request deadline is " + std::to_string(req.deadline_height - env.height) +
                                           " blocks away; at most " + std::to_string(sp.async_max_deadline_blocks));
  LOAD_OR_FAIL(std::optional<AsyncRequest> existing, LoadAsyncRequest(state, id));
  if (existing) return Fail(TxCode::kAlreadyExists, "async request " + ToHex(id) + " was already posted");
  LOAD_OR_FAIL(std::optional<VersionFacts> version, PublishedVersion(state, req.model));
  if (!version) return Fail(TxCode::kNotFound, "model " + req.model.ToString() + " is not a published version");
  if (req.mode == Mode::kZkml && !version->zkml_commitment)
    return Fail(TxCode::kInvalidField, "model " + req.model.ToString() + " was not published for zkml");
  if (req.max_fee < version->price)
    return Fail(TxCode::kFeeTooHigh, "max fee " + std::to_string(req.max_fee) + " is below the publisher price " +
                                         std::to_string(version->price));
  auto inputs = DecodeTensorMap(body.inputs);
  if (!inputs.ok()) return Fail(TxCode::kInvalidField, "inputs are not canonical tensors: " + inputs.status().message());
  if (HashTensorMap(*inputs) != req.input_hash)
    return Fail(TxCode::kBadRequest, "inputs hash to " + ToHex(HashTensorMap(*inputs)) + ", not the request's input_hash " +
                                         ToHex(req.input_hash));

  Address assigned;
  if (req.node != Address{}) {
    LOAD_OR_FAIL(std::optional<NodeInfo> node, LoadNode(state, req.node));
    if (!node || (node->modes & ModeBit(req.mode)) == 0)
      return Fail(TxCode::kNodeNotRegistered, "node " + req.node.ToHex() + " is not registered for mode " +
                                                  std::string(ModeName(req.mode)));
    if (node->jailed) return Fail(TxCode::kNodeJailed, "node " + req.node.ToHex() + " is jailed");
    assigned = req.node;
  } else {
    LOAD_OR_FAIL(std::optional<Address> picked, AssignNode(state, id, req.mode));
    if (!picked)
      return Fail(TxCode::kNoNodeAvailable, "no unjailed node is registered for mode " + std::string(ModeName(req.mode)));
    assigned = *picked;
  }

  LOAD_OR_FAIL(std::optional<Account> found, LoadAccount(state, req.requester));
  Account requester = found.value_or(Account{});
  if (req.nonce < requester.request_nonce)
    return Fail(TxCode::kBadRequest, "request nonce " + std::to_string(req.nonce) + " was already used (next is " +
                                         std::to_string(requester.request_nonce) + ")");
  if (req.nonce == std::numeric_limits<uint64_t>::max())
    return Fail(TxCode::kOverflow, "request nonce is the largest uint64; no next nonce");
  if (requester.balance < req.max_fee)
    return Fail(TxCode::kInsufficientFunds, "balance " + std::to_string(requester.balance) +
                                                " is below the max fee " + std::to_string(req.max_fee) + " to escrow");
  requester.balance -= req.max_fee;
  requester.request_nonce = req.nonce + 1;
  StoreAccount(state, req.requester, requester);

  AsyncRequest a;
  a.id = id;
  a.request = body.request;
  a.inputs = body.inputs;
  a.assigned = assigned;
  a.escrow = req.max_fee;
  a.created_height = env.height;
  if (Status s = PutAsync(state, a); !s.ok()) return InternalFailure(s);
  return {};
}

TxOutcome ApplyReportConflict(StateOverlay& state, const Tx& tx, const ReportConflictTx& body, const ExecEnv& env) {
  const Receipt& a = body.first;
  const Receipt& b = body.second;
  if (a.node != b.node) return Fail(TxCode::kInvalidField, "the two receipts are by different nodes");
  if (a.request_hash != b.request_hash) return Fail(TxCode::kInvalidField, "the two receipts answer different requests");
  // The engine string is not compared: it is the node's own choice, and an honest node signs
  // one output per request whatever its engine (docs/settlement.md).
  if (a.model != b.model || a.input_hash != b.input_hash || a.mode != b.mode)
    return Fail(TxCode::kInvalidField, "the two receipts differ in model, input hash or mode");
  if (a.output_hash == b.output_hash) return Fail(TxCode::kInvalidField, "the two receipts have the same output: no conflict");
  if (a.chain_id != env.chain_id || b.chain_id != env.chain_id)
    return Fail(TxCode::kWrongChain, "a receipt is for another chain");
  for (const Receipt* r : {&a, &b})
    if (r->mode != Mode::kVanilla && r->mode != Mode::kReplay)
      return Fail(TxCode::kInvalidField, "conflict evidence is accepted for vanilla and replay receipts, not " +
                                             std::string(ModeName(r->mode)));
  if (Status s = verify::VerifyEvidence(a, body.first_evidence); !s.ok())
    return Fail(TxCode::kBadEvidence, "first receipt: " + s.message());
  if (Status s = verify::VerifyEvidence(b, body.second_evidence); !s.ok())
    return Fail(TxCode::kBadEvidence, "second receipt: " + s.message());
  LOAD_OR_FAIL(std::optional<NodeInfo> node, LoadNode(state, a.node));
  if (!node) return Fail(TxCode::kNodeNotRegistered, "node " + a.node.ToHex() + " is not registered");
  const std::string mark = keys::Conflict(a.node, a.request_hash);
  LOAD_OR_FAIL(std::optional<Bytes> seen, state.Get(mark));
  if (seen)
    return Fail(TxCode::kAlreadyExists, "node " + a.node.ToHex() + " was already slashed for request " +
                                            ToHex(a.request_hash));
  LOAD_OR_FAIL(uint64_t slashed, SlashNode(state, a.node, env.params.settlement.conflict_slash_bps, true));
  // Half to the reporter, who found it; the rest is burned so that a node cannot profit by
  // reporting itself from a second account.
  if (TxOutcome r = Credit(state, tx.from, slashed / 2, "conflict report reward"); Failed(r)) return r;
  state.Put(mark, Bytes{});
  // A jailed node will not answer: its pending async requests are refunded now, not at their
  // deadlines (and it is not slashed again for them).
  LOAD_OR_FAIL(std::vector<std::string> pending, KeysUnder(state, keys::PendingFor(a.node)));
  for (const std::string& key : pending) {
    LOAD_OR_FAIL(std::optional<AsyncRequest> req, LoadAsyncRequest(state, HashAt(key, keys::PendingFor(a.node).size())));
    if (!req) return InternalFailure(DataLoss("pending index names a missing async request"));
    if (Status s = CloseUnanswered(state, *req, env, /*slash=*/false); !s.ok()) return InternalFailure(s);
  }
  return {};
}

TxOutcome ApplyChallenge(StateOverlay& state, const Tx& tx, const ChallengeTx& body, const ExecEnv& env) {
  const SettlementParams& sp = env.params.settlement;
  LOAD_OR_FAIL(std::optional<Bytes> raw, state.Get(keys::Receipt(body.receipt_id)));
  if (!raw) return Fail(TxCode::kNotFound, "receipt " + ToHex(body.receipt_id) + " is not on chain");
  LOAD_OR_FAIL(ReceiptRecord record, DecodeReceiptRecord(*raw));
  const Receipt& receipt = record.result.receipt;
  if (receipt.mode != Mode::kReplay)
    return Fail(TxCode::kInvalidField, "only replay receipts can be challenged; this one is " +
                                           std::string(ModeName(receipt.mode)));
  if (record.settlement != SettlementStatus::kPending)
    return Fail(TxCode::kWrongState, "receipt " + ToHex(body.receipt_id) + " is " +
                                         std::string(SettlementStatusName(record.settlement)) + ", not pending");
  if (env.height > record.final_height)
    return Fail(TxCode::kWrongState, "the challenge window of receipt " + ToHex(body.receipt_id) + " closed at block " +
                                         std::to_string(record.final_height));
  if (tx.from == receipt.node) return Fail(TxCode::kInvalidField, "a node cannot challenge its own receipt");
  if (body.claimed_output_hash == receipt.output_hash)
    return Fail(TxCode::kInvalidField, "the claimed output is the receipt's own output");
  // The committee re-executes: it needs the inputs, from the tx or from the async request.
  Bytes inputs = body.inputs;
  if (inputs.empty()) {
    LOAD_OR_FAIL(std::optional<AsyncRequest> async, LoadAsyncRequest(state, receipt.request_hash));
    if (!async)
      return Fail(TxCode::kInvalidField, "the receipt answers a direct request: the challenge must carry its inputs");
    inputs = async->inputs;
  } else {
    auto decoded = DecodeTensorMap(inputs);
    if (!decoded.ok())
      return Fail(TxCode::kInvalidField, "challenge inputs are not canonical tensors: " + decoded.status().message());
    if (HashTensorMap(*decoded) != receipt.input_hash)
      return Fail(TxCode::kBadRequest, "challenge inputs do not hash to the receipt's input_hash");
  }
  LOAD_OR_FAIL(std::optional<Challenge> earlier, LoadChallenge(state, body.receipt_id));
  if (earlier) return Fail(TxCode::kAlreadyExists, "receipt " + ToHex(body.receipt_id) + " was challenged before");
  if (TxOutcome r = Debit(state, tx.from, sp.challenge_bond, "challenge bond"); Failed(r)) return r;

  // The committee is drawn at the end of the next block, from that block's prev_hash (this
  // block's hash), which nobody knows when the challenge is sent: neither the challenger nor
  // the node can pick a friendly committee by choosing ids, accounts or stakes.
  record.settlement = SettlementStatus::kChallenged;
  state.Put(keys::Receipt(body.receipt_id), EncodeReceiptRecord(record));
  Challenge c;
  c.receipt_id = body.receipt_id;
  c.challenger = tx.from;
  c.claimed_output_hash = body.claimed_output_hash;
  c.inputs = std::move(inputs);
  c.bond = sp.challenge_bond;
  c.height = env.height;
  state.Put(keys::Challenge(c.receipt_id), EncodeChallenge(c));
  state.Put(keys::DrawDueAt(env.height + 1, c.receipt_id), Bytes{});
  return {};
}

TxOutcome ApplyChallengeVote(StateOverlay& state, const Tx& tx, const ChallengeVoteTx& body, const ExecEnv& env) {
  LOAD_OR_FAIL(std::optional<Challenge> found, LoadChallenge(state, body.receipt_id));
  if (!found) return Fail(TxCode::kNotFound, "receipt " + ToHex(body.receipt_id) + " has no challenge");
  Challenge c = std::move(*found);
  if (c.status != ChallengeStatus::kOpen)
    return Fail(TxCode::kWrongState, "the challenge is closed (" + std::string(ChallengeStatusName(c.status)) + ")");
  if (env.height > c.vote_deadline)
    return Fail(TxCode::kWrongState, "votes closed at block " + std::to_string(c.vote_deadline));
  if (c.committee.empty())
    return Fail(TxCode::kWrongState, "the committee is drawn at the end of block " + std::to_string(c.height + 1));
  if (std::find(c.committee.begin(), c.committee.end(), tx.from) == c.committee.end())
    return Fail(TxCode::kUnauthorized, "sender " + tx.from.ToHex() + " is not on this challenge's committee");
  for (const auto& v : c.votes)
    if (v.voter == tx.from) return Fail(TxCode::kAlreadyExists, "sender " + tx.from.ToHex() + " already voted");
  LOAD_OR_FAIL(std::optional<NodeInfo> voter, LoadNode(state, tx.from));
  if (voter && voter->jailed) return Fail(TxCode::kNodeJailed, "voter " + tx.from.ToHex() + " is jailed");
  c.votes.push_back({tx.from, body.output_hash, env.height});
  size_t agreeing = 0;
  for (const auto& v : c.votes) agreeing += v.output_hash == body.output_hash ? 1 : 0;
  if (2 * agreeing > c.committee.size()) return FromStatus(ResolveChallenge(state, c, body.output_hash, env));
  state.Put(keys::Challenge(c.receipt_id), EncodeChallenge(c));
  return {};
}

TxOutcome ApplyCreateWorkflow(StateOverlay& state, const Tx& tx, const CreateWorkflowTx& body, const ExecEnv& env) {
  const SettlementParams& sp = env.params.settlement;
  if (!IsValidRepoName(body.feed))
    return Fail(TxCode::kInvalidField, "feed name '" + body.feed + "' is not [a-z0-9][a-z0-9._-]{0,63}");
  if (body.every_blocks == 0) return Fail(TxCode::kInvalidField, "every_blocks is zero");
  if (body.runs == 0 || body.runs > sp.workflow_max_runs)
    return Fail(TxCode::kInvalidField, "runs must be 1 to " + std::to_string(sp.workflow_max_runs));
  if (body.max_fee_per_run != 0 && body.runs > std::numeric_limits<uint64_t>::max() / body.max_fee_per_run)
    return Fail(TxCode::kOverflow, "runs * max_fee_per_run overflows");
  if (body.every_blocks > std::numeric_limits<uint64_t>::max() / body.runs ||
      AddOverflows(env.height, body.every_blocks * body.runs))
    return Fail(TxCode::kOverflow, "the schedule's last height overflows");
  LOAD_OR_FAIL(std::optional<VersionFacts> version, PublishedVersion(state, body.model));
  if (!version) return Fail(TxCode::kNotFound, "model " + body.model.ToString() + " is not a published version");
  if (body.mode == Mode::kZkml && !version->zkml_commitment)
    return Fail(TxCode::kInvalidField, "model " + body.model.ToString() + " was not published for zkml");
  if (body.max_fee_per_run < version->price)
    return Fail(TxCode::kFeeTooHigh, "max fee per run " + std::to_string(body.max_fee_per_run) +
                                         " is below the publisher price " + std::to_string(version->price));
  const uint64_t escrow = body.runs * body.max_fee_per_run;
  if (TxOutcome r = Debit(state, tx.from, escrow, "workflow prepayment"); Failed(r)) return r;
  LOAD_OR_FAIL(uint64_t id, NextCounter(state, keys::kWorkflowSeq));
  Workflow wf;
  wf.id = id;
  wf.owner = tx.from;
  wf.spec = body;
  wf.created_height = env.height;
  wf.next_height = env.height + body.every_blocks;
  wf.escrow = escrow;
  state.Put(keys::Workflow(id), EncodeWorkflow(wf));
  state.Put(keys::WorkflowDueAt(wf.next_height, id), Bytes{});
  TxOutcome ok;
  ok.log = "workflow " + std::to_string(id);
  return ok;
}

TxOutcome ApplyPostData(StateOverlay& state, const Tx& tx, const PostDataTx& body, const ExecEnv& env) {
  if (!IsValidRepoName(body.feed))
    return Fail(TxCode::kInvalidField, "feed name '" + body.feed + "' is not [a-z0-9][a-z0-9._-]{0,63}");
  if (auto decoded = DecodeTensorMap(body.value); !decoded.ok())
    return Fail(TxCode::kInvalidField, "feed value is not canonical tensors: " + decoded.status().message());
  LOAD_OR_FAIL(std::optional<DataFeed> found, LoadFeed(state, body.feed));
  DataFeed feed;
  if (found) {
    feed = std::move(*found);
    const bool poster = std::binary_search(feed.posters.begin(), feed.posters.end(), tx.from);
    if (tx.from != feed.owner && !poster)
      return Fail(TxCode::kUnauthorized, "sender " + tx.from.ToHex() + " may not post to feed '" + body.feed + "'");
    if (!body.add_posters.empty() && tx.from != feed.owner)
      return Fail(TxCode::kUnauthorized, "only the feed's owner " + feed.owner.ToHex() + " may add posters");
  } else {
    feed.name = body.feed;
    feed.owner = tx.from;
  }
  feed.posters.insert(feed.posters.end(), body.add_posters.begin(), body.add_posters.end());
  std::sort(feed.posters.begin(), feed.posters.end());
  feed.posters.erase(std::unique(feed.posters.begin(), feed.posters.end()), feed.posters.end());
  if (feed.posters.size() > 64) return Fail(TxCode::kInvalidField, "a feed has at most 64 posters");
  feed.value = body.value;
  feed.updated_height = env.height;
  state.Put(keys::Feed(feed.name), EncodeFeed(feed));
  return {};
}

namespace {

// One workflow run at env.height: an async request fed with the feed's current value, or a
// skipped run (no value yet, or no node) whose prepaid fee goes back to the owner.
Status RunWorkflow(StateOverlay& state, Workflow& wf, const ExecEnv& env) {
  const CreateWorkflowTx& spec = wf.spec;
  const SettlementParams& sp = env.params.settlement;
  WorkflowRun run;
  run.height = env.height;
  ASSIGN_OR_RETURN(std::optional<DataFeed> feed, LoadFeed(state, spec.feed));
  ASSIGN_OR_RETURN(std::optional<VersionFacts> version, PublishedVersion(state, spec.model));
  std::optional<Address> assigned;
  InferenceRequest req;
  if (feed && version) {
    ASSIGN_OR_RETURN(TensorMap inputs, DecodeTensorMap(feed->value));  // checked when posted
    ASSIGN_OR_RETURN(uint64_t seq, NextCounter(state, keys::kAsyncSeq));
    req.chain_id = env.chain_id;
    req.requester = wf.owner;
    req.model = spec.model;
    req.mode = spec.mode;
    req.input_hash = HashTensorMap(inputs);
    req.params = spec.params;
    req.seed = spec.seed;
    req.max_fee = spec.max_fee_per_run;
    // Chain-made requests are unique by this counter, with the bit no signed request may use.
    req.nonce = seq | kChainMadeNonceBit;
    req.deadline_height =
        env.height + std::max(sp.async_min_deadline_blocks, std::min(spec.every_blocks, sp.async_max_deadline_blocks));
    ASSIGN_OR_RETURN(assigned, AssignNode(state, req.Hash(), spec.mode));
  }
  if (assigned) {
    AsyncRequest a;
    a.id = req.Hash();
    a.request.request = req;  // all-zero signature: the chain made it
    a.inputs = feed->value;
    a.assigned = *assigned;
    a.escrow = spec.max_fee_per_run;
    a.created_height = env.height;
    a.workflow_id = wf.id;
    RETURN_IF_ERROR(PutAsync(state, a));
    run.request_id = a.id;
  } else {
    RETURN_IF_ERROR(CreditOrStatus(state, wf.owner, spec.max_fee_per_run, "skipped workflow run"));
  }
  wf.escrow -= spec.max_fee_per_run;
  wf.runs_done += 1;
  wf.history.push_back(run);
  state.Delete(keys::WorkflowDueAt(env.height, wf.id));
  if (wf.runs_done < spec.runs) {
    wf.next_height = env.height + spec.every_blocks;
    state.Put(keys::WorkflowDueAt(wf.next_height, wf.id), Bytes{});
  } else {
    wf.next_height = 0;
    RETURN_IF_ERROR(CreditOrStatus(state, wf.owner, wf.escrow, "workflow escrow"));
    wf.escrow = 0;
  }
  state.Put(keys::Workflow(wf.id), EncodeWorkflow(wf));
  return Status::Ok();
}


}  // namespace

// A challenge without a decision: the bond goes back and the receipt settles as if it had not
// been challenged (paid now if its window has closed, else at its final height).
Status VoidChallenge(StateOverlay& state, Challenge& c, const ExecEnv& env) {
  c.status = ChallengeStatus::kVoid;
  c.closed_height = env.height;
  state.Put(keys::Challenge(c.receipt_id), EncodeChallenge(c));
  RETURN_IF_ERROR(CreditOrStatus(state, c.challenger, c.bond, "void challenge bond"));
  ASSIGN_OR_RETURN(std::optional<Bytes> raw, state.Get(keys::Receipt(c.receipt_id)));
  if (!raw) return DataLoss("challenge names a missing receipt");
  ASSIGN_OR_RETURN(ReceiptRecord record, DecodeReceiptRecord(*raw));
  if (record.final_height <= env.height) return PayReplayReceipt(state, c.receipt_id, record);
  record.settlement = SettlementStatus::kPending;
  state.Put(keys::Receipt(c.receipt_id), EncodeReceiptRecord(record));
  return Status::Ok();
}

// Draws the committee of a challenge sent in the previous block: challenge_committee unjailed
// replay nodes other than the node and the challenger, stake-weighted without replacement,
// seeded by the receipt id and env.prev_hash (the challenge block's hash). Fewer eligible nodes
// than the committee size: void (a thin committee would let one node decide).
Status DrawCommittee(StateOverlay& state, const Hash32& receipt_id, const ExecEnv& env) {
  const SettlementParams& sp = env.params.settlement;
  ASSIGN_OR_RETURN(std::optional<Challenge> found, LoadChallenge(state, receipt_id));
  if (!found) return DataLoss("draw index names a missing challenge");
  Challenge c = std::move(*found);
  if (c.status != ChallengeStatus::kOpen) return Status::Ok();
  ASSIGN_OR_RETURN(std::optional<Bytes> raw, state.Get(keys::Receipt(receipt_id)));
  if (!raw) return DataLoss("challenge names a missing receipt");
  ASSIGN_OR_RETURN(ReceiptRecord record, DecodeReceiptRecord(*raw));
  std::vector<Address> exclude = {record.result.receipt.node, c.challenger};
  std::vector<Address> committee;
  for (uint64_t i = 0; i < sp.challenge_committee; ++i) {
    Bytes seed(receipt_id.begin(), receipt_id.end());
    seed.insert(seed.end(), env.prev_hash.begin(), env.prev_hash.end());
    for (int k = 7; k >= 0; --k) seed.push_back(static_cast<uint8_t>(i >> (8 * k)));
    ASSIGN_OR_RETURN(std::optional<Address> member,
                     AssignNode(state, crypto::TaggedSha256("lucid:committee:v1", seed), Mode::kReplay, exclude));
    if (!member) break;
    committee.push_back(*member);
    exclude.push_back(*member);
  }
  if (committee.size() < sp.challenge_committee) return VoidChallenge(state, c, env);
  c.committee = std::move(committee);
  c.vote_deadline = env.height + sp.challenge_vote_blocks;
  state.Put(keys::Challenge(receipt_id), EncodeChallenge(c));
  state.Put(keys::VoteDueAt(c.vote_deadline, receipt_id), Bytes{});
  return Status::Ok();
}

Status EndBlock(StateOverlay& state, const ExecEnv& env) {
  const uint64_t h = env.height;
  ASSIGN_OR_RETURN(std::vector<std::string> due_workflows, KeysUnder(state, keys::WorkflowDue(h)));
  for (const std::string& key : due_workflows) {
    const uint64_t id = Be64At(key, keys::WorkflowDue(h).size());
    ASSIGN_OR_RETURN(std::optional<Workflow> wf, LoadWorkflow(state, id));
    if (!wf) return DataLoss("workflow schedule names missing workflow " + std::to_string(id));
    RETURN_IF_ERROR(RunWorkflow(state, *wf, env).WithContext("workflow " + std::to_string(id)));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> due_requests, KeysUnder(state, keys::DeadlineDue(h)));
  for (const std::string& key : due_requests) {
    const Hash32 id = HashAt(key, keys::DeadlineDue(h).size());
    ASSIGN_OR_RETURN(std::optional<AsyncRequest> a, LoadAsyncRequest(state, id));
    if (!a) return DataLoss("deadline index names missing async request " + ToHex(id));
    if (a->status == AsyncStatus::kPending) {
      RETURN_IF_ERROR(CloseUnanswered(state, *a, env, /*slash=*/true));
    } else {
      state.Delete(key);
    }
  }
  ASSIGN_OR_RETURN(std::vector<std::string> due_draws, KeysUnder(state, keys::DrawDue(h)));
  for (const std::string& key : due_draws) {
    state.Delete(key);
    RETURN_IF_ERROR(DrawCommittee(state, HashAt(key, keys::DrawDue(h).size()), env));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> due_votes, KeysUnder(state, keys::VoteDue(h)));
  for (const std::string& key : due_votes) {
    const Hash32 receipt_id = HashAt(key, keys::VoteDue(h).size());
    state.Delete(key);
    ASSIGN_OR_RETURN(std::optional<Challenge> c, LoadChallenge(state, receipt_id));
    if (!c) return DataLoss("vote index names a missing challenge");
    if (c->status != ChallengeStatus::kOpen) continue;
    // No majority in time: the challenge is void.
    RETURN_IF_ERROR(VoidChallenge(state, *c, env));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> due_receipts, KeysUnder(state, keys::ReplayDue(h)));
  for (const std::string& key : due_receipts) {
    const Hash32 receipt_id = HashAt(key, keys::ReplayDue(h).size());
    state.Delete(key);
    ASSIGN_OR_RETURN(std::optional<Bytes> raw, state.Get(keys::Receipt(receipt_id)));
    if (!raw) return DataLoss("replay index names a missing receipt");
    ASSIGN_OR_RETURN(ReceiptRecord record, DecodeReceiptRecord(*raw));
    if (record.settlement == SettlementStatus::kPending) RETURN_IF_ERROR(PayReplayReceipt(state, receipt_id, record));
  }
  return Status::Ok();
}

}  // namespace lucid::chain
