#include "chain/execute.h"

#include "chain/replication.h"
#include "chain/settlement.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <deque>
#include <limits>
#include <mutex>
#include <set>
#include <thread>

#include "base/parallel.h"
#include "crypto/hash.h"
#include "protocol/dev_keys.h"
#include "tee/nitro.h"
#include "verify/sig_cache.h"
#include "verify/verify.h"

namespace lucid::chain {

TxOutcome Fail(TxCode code, std::string log) {
  TxOutcome out;
  out.code = code;
  out.log = std::move(log);
  return out;
}

TxOutcome InternalFailure(const Status& s) {
  TxOutcome out = Fail(TxCode::kMalformed, "internal error reading state: " + s.ToString());
  out.internal_error = s;
  return out;
}

bool AddOverflows(uint64_t a, uint64_t b) { return a > std::numeric_limits<uint64_t>::max() - b; }

void StoreAccount(StateOverlay& state, const Address& a, const Account& account) {
  state.Put(keys::Account(a), EncodeAccount(account));
}

TxOutcome Credit(StateOverlay& state, const Address& a, uint64_t amount, std::string_view what) {
  LOAD_OR_FAIL(std::optional<Account> account, LoadAccount(state, a));
  Account acc = account.value_or(Account{});
  if (AddOverflows(acc.balance, amount))
    return Fail(TxCode::kOverflow, std::string(what) + ": balance of " + a.ToHex() + " would overflow");
  acc.balance += amount;
  StoreAccount(state, a, acc);
  return {};
}

TxOutcome Debit(StateOverlay& state, const Address& a, uint64_t amount, std::string_view what) {
  LOAD_OR_FAIL(std::optional<Account> account, LoadAccount(state, a));
  Account acc = account.value_or(Account{});
  if (acc.balance < amount)
    return Fail(TxCode::kInsufficientFunds, std::string(what) + ": balance " + std::to_string(acc.balance) + " of " +
                                                a.ToHex() + " is below " + std::to_string(amount));
  acc.balance -= amount;
  StoreAccount(state, a, acc);
  return {};
}


namespace {

// Memo of pure checks that passed: a tx's signature (keyed by the tx bytes) and a
// SubmitResult's verify::VerifyResult (keyed by the tx bytes and every view field it reads).
// Both are functions of their key alone, so skipping a check that passed before for the same
// key changes no outcome; failures are never memoised (their logs come from the check). A
// validator checks each tx in CheckTx, in every mempool Recheck and in the block: with the
// memo only the first pays for signature recovery (and zkml proof verification).
// Thread-safety: thread-safe; bounded (oldest keys dropped first).
bool MemoEnabled();

class PassedChecks {
 public:
  bool Contains(const Hash32& key) {
    if (!MemoEnabled()) return false;
    std::lock_guard<std::mutex> lock(mu_);
    return keys_.count(key) != 0;
  }
  void Insert(const Hash32& key) {
    if (!MemoEnabled()) return;
    std::lock_guard<std::mutex> lock(mu_);
    if (!keys_.insert(key).second) return;
    order_.push_back(key);
    if (order_.size() > kCapacity) {
      keys_.erase(order_.front());
      order_.pop_front();
    }
  }

 private:
  static constexpr size_t kCapacity = 1 << 17;
  std::mutex mu_;
  std::set<Hash32> keys_;
  std::deque<Hash32> order_;
};

std::atomic<bool> memo_enabled{true};
std::atomic<int> signature_threads{0};  // 0: not set, use the hardware's
bool MemoEnabled() { return memo_enabled.load(std::memory_order_relaxed); }

PassedChecks& Passed() {
  static PassedChecks* passed = new PassedChecks();  // never destroyed: used until exit
  return *passed;
}

Hash32 VerdictKey(const Hash32& tx_key, const verify::ChainView& view) {
  Bytes b(tx_key.begin(), tx_key.end());
  auto add = [&](ByteView v) {
    const uint64_t n = v.size();
    for (int i = 7; i >= 0; --i) b.push_back(static_cast<uint8_t>(n >> (8 * i)));
    b.insert(b.end(), v.begin(), v.end());
  };
  auto add_u64 = [&](uint64_t v) {
    for (int i = 7; i >= 0; --i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  add(ToBytes(view.chain_id));
  b.push_back(view.node_registered_for_mode ? 1 : 0);
  b.push_back(view.request_on_chain ? 1 : 0);
  b.push_back(view.zkml_commitment ? 1 : 0);
  if (view.zkml_commitment) b.insert(b.end(), view.zkml_commitment->begin(), view.zkml_commitment->end());
  b.push_back(view.enclave ? 1 : 0);
  if (view.enclave) {  // tee evidence also reads the time (registration expiry)
    b.insert(b.end(), view.enclave->enclave_address.bytes.begin(), view.enclave->enclave_address.bytes.end());
    add(view.enclave->pcr0);
    add_u64(view.enclave->expires_at_ms);
    b.push_back(view.enclave->pcr0_allowed ? 1 : 0);
    add_u64(view.time_ms);
  }
  return crypto::TaggedSha256("lucid:memo:verdict:v1", b);
}

constexpr size_t kMaxDescriptionBytes = 64 * 1024;
constexpr size_t kMaxTags = 16;
constexpr size_t kMaxTagBytes = 64;
constexpr size_t kMaxTaskBytes = 128;
constexpr size_t kMaxLicenseBytes = 128;
constexpr size_t kMaxEndpointBytes = 256;

TxOutcome ApplyTransfer(StateOverlay& state, const Tx& tx, const TransferTx& body) {
  if (body.amount == 0) return Fail(TxCode::kInvalidField, "transfer amount is zero");
  LOAD_OR_FAIL(std::optional<Account> sender, LoadAccount(state, tx.from));
  Account from = sender.value_or(Account{});
  if (from.balance < body.amount)
    return Fail(TxCode::kInsufficientFunds, "balance " + std::to_string(from.balance) +
                                                " is below transfer amount " + std::to_string(body.amount));
  from.balance -= body.amount;
  StoreAccount(state, tx.from, from);
  return Credit(state, body.to, body.amount, "transfer");
}

TxOutcome ApplyCreateRepo(StateOverlay& state, const Tx& tx, const CreateRepoTx& body, const ExecEnv& env) {
  if (!IsValidRepoName(body.name))
    return Fail(TxCode::kInvalidField, "repo name '" + body.name + "' is not [a-z0-9][a-z0-9._-]{0,63}");
  if (body.description.size() > kMaxDescriptionBytes)
    return Fail(TxCode::kInvalidField, "repo description is longer than 64 KiB");
  if (body.task.size() > kMaxTaskBytes) return Fail(TxCode::kInvalidField, "repo task is longer than 128 bytes");
  if (body.license.size() > kMaxLicenseBytes)
    return Fail(TxCode::kInvalidField, "repo license is longer than 128 bytes");
  if (body.tags.size() > kMaxTags) return Fail(TxCode::kInvalidField, "repo has more than 16 tags");
  for (const auto& tag : body.tags)
    if (tag.empty() || tag.size() > kMaxTagBytes)
      return Fail(TxCode::kInvalidField, "repo tag must be 1 to 64 bytes");
  LOAD_OR_FAIL(std::optional<Repo> existing, LoadRepo(state, body.name));
  if (existing) return Fail(TxCode::kAlreadyExists, "repo '" + body.name + "' already exists");
  Repo repo;
  repo.name = body.name;
  repo.owner = tx.from;
  repo.description = body.description;
  repo.task = body.task;
  repo.license = body.license;
  repo.tags = body.tags;
  repo.created_height = env.height;
  state.Put(keys::Repo(repo.name), EncodeRepo(repo));
  return {};
}

TxOutcome ApplyPublishVersion(StateOverlay& state, const Tx& tx, const PublishVersionTx& body,
                              const ExecEnv& env) {
  LOAD_OR_FAIL(std::optional<Repo> found, LoadRepo(state, body.name));
  if (!found) return Fail(TxCode::kNotFound, "repo '" + body.name + "' not found");
  Repo repo = std::move(*found);
  if (repo.owner != tx.from)
    return Fail(TxCode::kUnauthorized, "sender " + tx.from.ToHex() + " is not the owner of repo '" + repo.name + "'");
  if (!repo.versions.empty()) {
    const VersionEntry& latest = repo.versions.back();
    if (std::pair(body.major, body.minor) <= std::pair(latest.major, latest.minor))
      return Fail(TxCode::kInvalidField, "version " + std::to_string(body.major) + "." + std::to_string(body.minor) +
                                             " is not greater than the latest " + std::to_string(latest.major) +
                                             "." + std::to_string(latest.minor));
  }
  LOAD_OR_FAIL(std::optional<Bytes> cid_taken, state.Get(keys::VersionByCid(body.manifest)));
  if (cid_taken)
    return Fail(TxCode::kAlreadyExists, "manifest " + body.manifest.ToString() + " is already published");
  VersionEntry entry;
  entry.major = body.major;
  entry.minor = body.minor;
  entry.manifest = body.manifest;
  entry.price = body.price;
  entry.height = env.height;
  entry.zkml_commitment = body.zkml_commitment;
  repo.versions.push_back(entry);
  state.Put(keys::Repo(repo.name), EncodeRepo(repo));
  state.Put(keys::VersionByCid(body.manifest), EncodeVersionRef({repo.name, body.major, body.minor}));
  return {};
}

TxOutcome ApplyRegisterNode(StateOverlay& state, const Tx& tx, const RegisterNodeTx& body, const ExecEnv& env) {
  if (body.modes == 0) return Fail(TxCode::kInvalidField, "node modes are empty");
  if ((body.modes & ~(ModeBit(Mode::kVanilla) | ModeBit(Mode::kZkml) | ModeBit(Mode::kTee) | ModeBit(Mode::kReplay))) != 0)
    return Fail(TxCode::kInvalidField, "node modes has unknown mode bits");
  if (body.endpoint.empty()) return Fail(TxCode::kInvalidField, "node endpoint is empty");
  if (body.endpoint.size() > kMaxEndpointBytes)
    return Fail(TxCode::kInvalidField, "node endpoint is longer than 256 bytes");
  LOAD_OR_FAIL(std::optional<NodeInfo> existing, LoadNode(state, tx.from));
  NodeInfo node = existing.value_or(NodeInfo{});
  if (!existing) {
    if (body.stake < env.params.min_node_stake)
      return Fail(TxCode::kInvalidField, "stake " + std::to_string(body.stake) + " is below the minimum " +
                                             std::to_string(env.params.min_node_stake));
    node.address = tx.from;
    node.registered_height = env.height;
  }
  if (AddOverflows(node.stake, body.stake)) return Fail(TxCode::kOverflow, "node stake would overflow");
  LOAD_OR_FAIL(std::optional<Account> sender, LoadAccount(state, tx.from));
  Account from = sender.value_or(Account{});
  if (from.balance < body.stake)
    return Fail(TxCode::kInsufficientFunds, "balance " + std::to_string(from.balance) + " is below stake " +
                                                std::to_string(body.stake));
  from.balance -= body.stake;
  StoreAccount(state, tx.from, from);
  node.stake += body.stake;
  node.modes = body.modes;
  node.endpoint = body.endpoint;
  state.Put(keys::Node(tx.from), EncodeNode(node));
  return {};
}

bool PcrAllowed(const TeeParams& tee, const Bytes& pcr0) {
  return std::binary_search(tee.allowed_pcr0.begin(), tee.allowed_pcr0.end(), pcr0);
}

// Verifies the document at block time against the pinned AWS root and, only on a dev-mode
// chain whose genesis names one, the dev enclave root. The document's nonce must be the
// registering node's address: documents are public on chain, so without it any tee node could
// register another node's enclave key (protocol::EnclaveNonce).
Result<tee::VerifiedNitro> VerifyAttestation(const RegisterEnclaveTx& body, const TeeParams& tee,
                                              const ExecEnv& env, const Address& node) {
  tee::VerifyOptions options;
  options.time_ms = static_cast<int64_t>(env.time_ms);
  options.max_age_ms = tee.max_document_age_ms;
  options.expected_key_hash = crypto::Sha256(body.enclave_public_key);
  options.expected_nonce = protocol::EnclaveNonce(node);
  auto aws = tee::VerifyNitroDocument(body.attestation_document, options);
  if (aws.ok() || !env.params.dev_mode || env.params.tee.dev_root_der.empty()) return aws;
  options.trusted_root_der = env.params.tee.dev_root_der;
  auto dev = tee::VerifyNitroDocument(body.attestation_document, options);
  if (dev.ok()) return dev;
  return Status(dev.status().code(), "against the AWS root: " + aws.status().message() +
                                         "; against the dev root: " + dev.status().message());
}

TxOutcome ApplyRegisterEnclave(StateOverlay& state, const Tx& tx, const RegisterEnclaveTx& body,
                               const ExecEnv& env) {
  LOAD_OR_FAIL(std::optional<NodeInfo> node, LoadNode(state, tx.from));
  if (!node) return Fail(TxCode::kNodeNotRegistered, "sender " + tx.from.ToHex() + " is not a registered node");
  if ((node->modes & ModeBit(Mode::kTee)) == 0)
    return Fail(TxCode::kNodeNotRegistered, "node " + tx.from.ToHex() + " is not registered for mode tee");
  // The decoder already refuses anything but 0x04 || x || y.
  if (body.enclave_public_key.size() != 65 || body.enclave_public_key[0] != 0x04)
    return Fail(TxCode::kInvalidField, "enclave public key is not a 65-byte uncompressed SEC1 point");
  std::array<uint8_t, 64> xy;
  std::copy(body.enclave_public_key.begin() + 1, body.enclave_public_key.end(), xy.begin());
  if (!crypto::IsValidPublicKey(xy))
    return Fail(TxCode::kInvalidField, "enclave public key is not a point on secp256k1");
  LOAD_OR_FAIL(TeeParams tee, CurrentTeeParams(state, env.params));
  auto verified = VerifyAttestation(body, tee, env, tx.from);
  if (!verified.ok())
    return Fail(TxCode::kBadAttestation, "attestation document refused at block time " + std::to_string(env.time_ms) +
                                             ": " + verified.status().message());
  const auto pcr = verified->document.pcrs.find(0);
  if (pcr == verified->document.pcrs.end())
    return Fail(TxCode::kBadAttestation, "attestation document has no PCR0");
  if (!PcrAllowed(tee, pcr->second))
    return Fail(TxCode::kMeasurementNotAllowed, "enclave measurement PCR0 " + ToHex(pcr->second) +
                                                    " is not an allowed measurement");
  if (AddOverflows(env.time_ms, tee.heartbeat_ms))
    return Fail(TxCode::kOverflow, "registration expiry overflows");
  EnclaveInfo e;
  e.node = tx.from;
  e.public_key = body.enclave_public_key;
  e.enclave_address = crypto::AddressFromPublicKey(xy);
  e.pcr0 = pcr->second;
  e.registered_at_ms = env.time_ms;
  e.expires_at_ms = env.time_ms + tee.heartbeat_ms;
  e.registered_height = env.height;
  e.document_timestamp_ms = verified->document.timestamp_ms;
  state.Put(keys::Enclave(tx.from), EncodeEnclave(e));  // re-registration replaces the key
  return {};
}

TxOutcome ApplyUpdateTeeParams(StateOverlay& state, const Tx& tx, const UpdateTeeParamsTx& body,
                               const ExecEnv& env) {
  const auto& admin = env.params.tee.admin;
  if (!admin) return Fail(TxCode::kUnauthorized, "this chain has no tee admin: tee params are fixed at genesis");
  if (tx.from != *admin)
    return Fail(TxCode::kUnauthorized, "sender " + tx.from.ToHex() + " is not the tee admin " + admin->ToHex());
  LOAD_OR_FAIL(TeeParams tee, CurrentTeeParams(state, env.params));
  for (const Bytes& m : body.remove_pcr0) {
    auto it = std::lower_bound(tee.allowed_pcr0.begin(), tee.allowed_pcr0.end(), m);
    if (it == tee.allowed_pcr0.end() || *it != m)
      return Fail(TxCode::kNotFound, "PCR0 " + ToHex(m) + " is not an allowed measurement");
    tee.allowed_pcr0.erase(it);
  }
  for (const Bytes& m : body.add_pcr0) {
    if (m.size() != kPcr0Bytes) return Fail(TxCode::kInvalidField, "a PCR0 must be 48 bytes");
    auto it = std::lower_bound(tee.allowed_pcr0.begin(), tee.allowed_pcr0.end(), m);
    if (it != tee.allowed_pcr0.end() && *it == m)
      return Fail(TxCode::kAlreadyExists, "PCR0 " + ToHex(m) + " is already allowed");
    tee.allowed_pcr0.insert(it, m);
  }
  constexpr size_t kMaxAllowedPcr0 = 256;
  if (tee.allowed_pcr0.size() > kMaxAllowedPcr0)
    return Fail(TxCode::kInvalidField, "more than 256 allowed measurements");
  if (body.heartbeat_ms) {
    if (*body.heartbeat_ms == 0) return Fail(TxCode::kInvalidField, "tee heartbeat_ms is zero");
    tee.heartbeat_ms = *body.heartbeat_ms;
  }
  if (body.max_document_age_ms) {
    if (*body.max_document_age_ms == 0) return Fail(TxCode::kInvalidField, "tee max_document_age_ms is zero");
    tee.max_document_age_ms = *body.max_document_age_ms;
  }
  state.Put(std::string(keys::kTeeParams), EncodeTeeParams(tee));
  return {};
}

// Maps the first failing check of a verdict to a response code by the check's name.
TxOutcome VerdictFailure(const verify::Verdict& verdict) {
  for (const auto& check : verdict.checks) {
    if (check.ok) continue;
    const std::string& n = check.name;
    std::string log = "verify: " + n + ": " + check.detail;
    auto has = [&](std::string_view part) { return n.find(part) != std::string::npos; };
    // Names of verify::VerifyResult: request_signature, chain_id, receipt_matches_request,
    // fee_within_max, node_registered, evidence. Receipt is tested before request on purpose.
    if (has("evidence")) return Fail(TxCode::kBadEvidence, log);
    if (has("fee")) return Fail(TxCode::kFeeTooHigh, log);
    if (has("regist")) return Fail(TxCode::kNodeNotRegistered, log);
    if (has("chain")) return Fail(TxCode::kWrongChain, log);
    if (has("receipt")) return Fail(TxCode::kBadReceipt, log);
    if (has("request")) return Fail(TxCode::kBadRequest, log);
    return Fail(TxCode::kBadReceipt, log);
  }
  return Fail(TxCode::kBadReceipt, "verify: verdict failed without a failing check");
}

TxOutcome ApplySubmitResult(StateOverlay& state, const Tx& tx, const SubmitResultTx& body, const ExecEnv& env,
                            const Hash32& tx_key) {
  const InferenceRequest& request = body.request.request;
  const Receipt& receipt = body.receipt;
  if (tx.from != receipt.node)
    return Fail(TxCode::kUnauthorized, "sender " + tx.from.ToHex() + " is not the receipt's node " +
                                           receipt.node.ToHex());
  if (request.node != Address{} && request.node != receipt.node)
    return Fail(TxCode::kUnauthorized, "request names node " + request.node.ToHex() + ", not " +
                                           receipt.node.ToHex());
  LOAD_OR_FAIL(std::optional<NodeInfo> node, LoadNode(state, receipt.node));
  if (!node) return Fail(TxCode::kNodeNotRegistered, "node " + receipt.node.ToHex() + " is not registered");
  if ((node->modes & ModeBit(receipt.mode)) == 0)
    return Fail(TxCode::kNodeNotRegistered, "node " + receipt.node.ToHex() + " is not registered for mode " +
                                                std::string(ModeName(receipt.mode)));
  if (node->jailed)
    return Fail(TxCode::kNodeJailed, "node " + receipt.node.ToHex() + " is jailed (slashed for misbehaviour)");

  // An async request (RequestInferenceTx or a workflow run) is answered only by its assigned
  // node, once, and is paid from its escrow (docs/settlement.md).
  const Hash32 request_id = request.Hash();
  LOAD_OR_FAIL(std::optional<AsyncRequest> async, LoadAsyncRequest(state, request_id));
  if (async) {
    if (async->status != AsyncStatus::kPending)
      return Fail(TxCode::kWrongState, "async request " + ToHex(request_id) + " is already " +
                                           std::string(AsyncStatusName(async->status)));
    if (receipt.node != async->assigned)
      return Fail(TxCode::kUnauthorized, "async request " + ToHex(request_id) + " is assigned to node " +
                                             async->assigned.ToHex() + ", not " + receipt.node.ToHex());
  }

  if (!env.params.dev_mode && IsDevAddress(request.requester))
    return Fail(TxCode::kUnauthorized, "requester " + request.requester.ToHex() +
                                           " is a public dev key, accepted only on chains started in dev mode");

  LOAD_OR_FAIL(std::optional<Bytes> version_raw, state.Get(keys::VersionByCid(receipt.model)));
  if (!version_raw) return Fail(TxCode::kNotFound, "model " + receipt.model.ToString() + " is not a published version");
  LOAD_OR_FAIL(VersionRef version, DecodeVersionRef(*version_raw));
  LOAD_OR_FAIL(std::optional<Repo> repo, LoadRepo(state, version.repo));
  if (!repo) return InternalFailure(DataLoss("version index names missing repo '" + version.repo + "'"));
  uint64_t price = 0;
  bool found_version = false;
  std::optional<Hash32> zkml_commitment;
  for (const auto& v : repo->versions) {
    if (v.major == version.major && v.minor == version.minor) {
      price = v.price;
      zkml_commitment = v.zkml_commitment;
      found_version = true;
    }
  }
  if (!found_version) return InternalFailure(DataLoss("version index names a version repo '" + repo->name + "' lacks"));

  verify::ChainView view;
  view.chain_id = env.chain_id;
  view.node_registered_for_mode = true;
  view.zkml_commitment = zkml_commitment;  // a zkml proof must be about this version's model
  view.time_ms = env.time_ms;
  view.request_on_chain = async.has_value();
  if (receipt.mode == Mode::kTee) {
    LOAD_OR_FAIL(std::optional<EnclaveInfo> enclave, LoadEnclave(state, receipt.node));
    if (enclave) {
      LOAD_OR_FAIL(TeeParams tee, CurrentTeeParams(state, env.params));
      verify::EnclaveView ev;
      ev.enclave_address = enclave->enclave_address;
      ev.pcr0 = enclave->pcr0;
      ev.expires_at_ms = enclave->expires_at_ms;
      ev.pcr0_allowed = PcrAllowed(tee, enclave->pcr0);
      view.enclave = ev;
    }
  }
  const Hash32 verdict_key = VerdictKey(tx_key, view);
  if (!Passed().Contains(verdict_key)) {
    verify::Verdict verdict = verify::VerifyResult(body, view);
    if (!verdict.ok()) return VerdictFailure(verdict);
    Passed().Insert(verdict_key);
  }

  LOAD_OR_FAIL(std::optional<Account> requester_found, LoadAccount(state, request.requester));
  Account requester = requester_found.value_or(Account{});
  if (!async) {  // an async request's nonce was taken when it was posted
    if (request.nonce < requester.request_nonce)
      return Fail(TxCode::kBadRequest, "request nonce " + std::to_string(request.nonce) +
                                           " was already used (next is " + std::to_string(requester.request_nonce) +
                                           ")");
    if ((request.nonce & kChainMadeNonceBit) != 0)
      return Fail(TxCode::kBadRequest, "request nonce " + std::to_string(request.nonce) +
                                           " has the bit reserved for chain-made requests");
  }
  if (request.deadline_height != 0 && request.deadline_height < env.height)
    return Fail(TxCode::kBadRequest, "request deadline height " + std::to_string(request.deadline_height) +
                                         " has passed (block " + std::to_string(env.height) + ")");
  if (AddOverflows(receipt.fee, price)) return Fail(TxCode::kOverflow, "receipt fee plus price overflows");
  const uint64_t total = receipt.fee + price;
  if (total > request.max_fee)
    return Fail(TxCode::kFeeTooHigh, "node fee " + std::to_string(receipt.fee) + " + price " + std::to_string(price) +
                                         " exceeds the request's max fee " + std::to_string(request.max_fee));
  if (!async && requester.balance < total)
    return Fail(TxCode::kInsufficientFunds, "requester balance " + std::to_string(requester.balance) +
                                                " is below the total " + std::to_string(total));
  const Hash32 receipt_id = receipt.Id();
  LOAD_OR_FAIL(std::optional<Bytes> existing_receipt, state.Get(keys::Receipt(receipt_id)));
  if (existing_receipt) return Fail(TxCode::kAlreadyExists, "receipt " + ToHex(receipt_id) + " is already recorded");

  const bool replay = receipt.mode == Mode::kReplay;
  if (async) {
    // escrow == max_fee >= total: the rest goes back to the requester now.
    if (async->escrow < total) return InternalFailure(DataLoss("async escrow below the request's max fee"));
    if (AddOverflows(requester.balance, async->escrow - total))
      return Fail(TxCode::kOverflow, "escrow refund overflows the requester's balance");
    requester.balance += async->escrow - total;
  } else {
    requester.balance -= total;
    requester.request_nonce = request.nonce + 1;
  }
  StoreAccount(state, request.requester, requester);
  ReceiptRecord record;
  record.result = body;
  record.height = env.height;
  record.index = env.receipt_index;
  if (replay) {
    // Held until the challenge window closes (EndBlock pays it, or a challenge decides).
    if (AddOverflows(env.height, env.params.settlement.replay_challenge_blocks))
      return Fail(TxCode::kOverflow, "challenge window end overflows");
    record.settlement = SettlementStatus::kPending;
    record.final_height = env.height + env.params.settlement.replay_challenge_blocks;
    record.held = total;
    state.Put(keys::ReplayDueAt(record.final_height, receipt_id), Bytes{});
  } else {
    if (TxOutcome r = Credit(state, receipt.node, receipt.fee, "node fee"); Failed(r)) return r;
    if (TxOutcome r = Credit(state, repo->owner, price, "publisher price"); Failed(r)) return r;
    record.node_paid = receipt.fee;
    record.publisher_paid = price;
  }
  if (async) {
    async->status = AsyncStatus::kAnswered;
    async->escrow = 0;  // spent: paid out (or held in the replay receipt) and the rest refunded
    async->receipt_id = receipt_id;
    async->closed_height = env.height;
    state.Put(keys::Async(request_id), EncodeAsyncRequest(*async));
    state.Delete(keys::Deadline(async->request.request.deadline_height, request_id));
    state.Delete(keys::Pending(async->assigned, request_id));
  }
  state.Put(keys::Receipt(receipt_id), EncodeReceiptRecord(record));
  state.Put(keys::ReceiptIndex(receipt_id), EncodeReceiptLocation({env.height, env.receipt_index}));
  TxOutcome ok;
  ok.receipt_id = receipt_id;
  return ok;
}

}  // namespace

Result<std::optional<Account>> LoadAccount(const StateOverlay& state, const Address& a) {
  ASSIGN_OR_RETURN(std::optional<Bytes> raw, state.Get(keys::Account(a)));
  if (!raw) return std::optional<Account>();
  ASSIGN_OR_RETURN(Account account, DecodeAccount(*raw));
  return std::optional<Account>(account);
}

Result<std::optional<Repo>> LoadRepo(const StateOverlay& state, std::string_view name) {
  ASSIGN_OR_RETURN(std::optional<Bytes> raw, state.Get(keys::Repo(name)));
  if (!raw) return std::optional<Repo>();
  ASSIGN_OR_RETURN(Repo repo, DecodeRepo(*raw));
  return std::optional<Repo>(std::move(repo));
}

Result<std::optional<NodeInfo>> LoadNode(const StateOverlay& state, const Address& a) {
  ASSIGN_OR_RETURN(std::optional<Bytes> raw, state.Get(keys::Node(a)));
  if (!raw) return std::optional<NodeInfo>();
  ASSIGN_OR_RETURN(NodeInfo node, DecodeNode(*raw));
  return std::optional<NodeInfo>(std::move(node));
}

Result<std::optional<EnclaveInfo>> LoadEnclave(const StateOverlay& state, const Address& node) {
  ASSIGN_OR_RETURN(std::optional<Bytes> raw, state.Get(keys::Enclave(node)));
  if (!raw) return std::optional<EnclaveInfo>();
  ASSIGN_OR_RETURN(EnclaveInfo e, DecodeEnclave(*raw));
  return std::optional<EnclaveInfo>(std::move(e));
}

Result<TeeParams> CurrentTeeParams(const StateOverlay& state, const Params& genesis_params) {
  TeeParams tee = genesis_params.tee;
  std::sort(tee.allowed_pcr0.begin(), tee.allowed_pcr0.end());
  ASSIGN_OR_RETURN(std::optional<Bytes> raw, state.Get(keys::kTeeParams));
  if (!raw) return tee;
  ASSIGN_OR_RETURN(TeeParams stored, DecodeTeeParams(*raw));
  tee.allowed_pcr0 = std::move(stored.allowed_pcr0);
  tee.heartbeat_ms = stored.heartbeat_ms;
  tee.max_document_age_ms = stored.max_document_age_ms;
  return tee;
}

Result<std::pair<uint32_t, uint32_t>> ParseVersion(std::string_view text) {
  size_t dot = text.find('.');
  if (dot == std::string_view::npos) return InvalidArgument("version '" + std::string(text) + "' is not major.minor");
  auto parse = [&](std::string_view part) -> Result<uint32_t> {
    uint32_t v = 0;
    auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (part.empty() || ec != std::errc() || end != part.data() + part.size())
      return InvalidArgument("version '" + std::string(text) + "' is not major.minor");
    return v;
  };
  ASSIGN_OR_RETURN(uint32_t major, parse(text.substr(0, dot)));
  ASSIGN_OR_RETURN(uint32_t minor, parse(text.substr(dot + 1)));
  return std::pair(major, minor);
}

bool IsValidRepoName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  auto lower_digit = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!lower_digit(name[0])) return false;
  for (char c : name.substr(1))
    if (!lower_digit(c) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

void SetPassedCheckMemo(bool enabled) { memo_enabled.store(enabled); }

void SetSignatureThreads(int threads) { signature_threads.store(threads < 0 ? 0 : threads); }

int SignatureThreads() {
  const int set = signature_threads.load(std::memory_order_relaxed);
  if (set > 0) return set;
  const unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : static_cast<int>(std::min(hw, 16u));
}

void WarmSignatures(const std::vector<ByteView>& txs, int threads) {
  auto warm_one = [](ByteView tx_bytes) {
    // Seen and passed before in this process (CheckTx): its recoveries were done then. Only
    // a shortcut; skipping the warm-up never changes an outcome.
    if (Passed().Contains(crypto::TaggedSha256("lucid:memo:txsig:v1", tx_bytes))) return;
    auto decoded = SignedTx::Decode(tx_bytes);
    if (!decoded.ok()) return;
    const Tx& tx = decoded->tx;
    (void)verify::RecoverAddressCached(SigningDigest(tx.SigningHash()), decoded->signature);
    const auto* submit = std::get_if<SubmitResultTx>(&tx.body);
    if (submit == nullptr) return;
    (void)verify::RecoverAddressCached(SigningDigest(submit->request.request.Hash()), submit->request.signature);
    const Evidence& evidence = submit->evidence;
    // vanilla and tee evidence: a 65-byte signature over the receipt id (verify::VerifyEvidence).
    if ((evidence.mode == Mode::kVanilla || evidence.mode == Mode::kTee) && evidence.data.size() == 65 &&
        evidence.data[64] <= 1) {
      Signature sig;
      std::copy(evidence.data.begin(), evidence.data.end(), sig.begin());
      (void)verify::RecoverAddressCached(SigningDigest(submit->receipt.Id()), sig);
    }
  };
  if (txs.empty()) return;
  ParallelFor(static_cast<int64_t>(txs.size()), std::max(1, threads), [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) warm_one(txs[static_cast<size_t>(i)]);
  });
}

TxOutcome ApplyTx(StateOverlay& state, ByteView tx_bytes, const ExecEnv& env) {
  if (tx_bytes.size() > env.params.max_tx_bytes)
    return Fail(TxCode::kMalformed, "tx of " + std::to_string(tx_bytes.size()) + " bytes exceeds max_tx_bytes " +
                                        std::to_string(env.params.max_tx_bytes));
  auto decoded = SignedTx::Decode(tx_bytes);
  if (!decoded.ok()) return Fail(TxCode::kMalformed, "undecodable tx: " + decoded.status().message());
  const SignedTx& signed_tx = *decoded;
  const Tx& tx = signed_tx.tx;
  if (tx.chain_id != env.chain_id)
    return Fail(TxCode::kWrongChain, "tx chain id '" + tx.chain_id + "' is not '" + env.chain_id + "'");
  const Hash32 tx_key = crypto::TaggedSha256("lucid:memo:txsig:v1", tx_bytes);
  if (!Passed().Contains(tx_key)) {
    if (Status s = verify::CheckSignerCached(tx.SigningHash(), signed_tx.signature, tx.from, "tx"); !s.ok())
      return Fail(TxCode::kBadSignature, "tx signature: " + s.message());
    Passed().Insert(tx_key);
  }
  if (!env.params.dev_mode && IsDevAddress(tx.from))
    return Fail(TxCode::kUnauthorized, "sender " + tx.from.ToHex() +
                                           " is a public dev key, accepted only on chains started in dev mode");

  LOAD_OR_FAIL(std::optional<Account> sender, LoadAccount(state, tx.from));
  if (!sender) return Fail(TxCode::kUnknownAccount, "sender " + tx.from.ToHex() + " has no account");
  Account from = *sender;
  if (tx.nonce != from.nonce)
    return Fail(TxCode::kBadNonce, "tx nonce " + std::to_string(tx.nonce) + " is not the account's next nonce " +
                                       std::to_string(from.nonce));
  const uint64_t size = tx_bytes.size();
  if (env.params.tx_fee_per_byte != 0 && size > std::numeric_limits<uint64_t>::max() / env.params.tx_fee_per_byte)
    return Fail(TxCode::kOverflow, "tx fee overflows");
  const uint64_t fee = env.params.tx_fee_per_byte * size;
  if (fee > tx.max_tx_fee)
    return Fail(TxCode::kFeeTooHigh, "tx fee " + std::to_string(fee) + " exceeds max_tx_fee " +
                                         std::to_string(tx.max_tx_fee));
  if (fee > from.balance)
    return Fail(TxCode::kInsufficientFunds, "balance " + std::to_string(from.balance) + " is below the tx fee " +
                                                std::to_string(fee));
  if (from.nonce == std::numeric_limits<uint64_t>::max()) return Fail(TxCode::kOverflow, "account nonce overflows");
  from.balance -= fee;
  from.nonce += 1;
  StoreAccount(state, tx.from, from);
  if (env.credit_fees && fee > 0) {
    if (TxOutcome r = Credit(state, env.proposer, fee, "tx fee"); r.code != TxCode::kOk) return r;
  }

  return std::visit(
      [&](const auto& body) -> TxOutcome {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, TransferTx>) return ApplyTransfer(state, tx, body);
        if constexpr (std::is_same_v<T, CreateRepoTx>) return ApplyCreateRepo(state, tx, body, env);
        if constexpr (std::is_same_v<T, PublishVersionTx>) return ApplyPublishVersion(state, tx, body, env);
        if constexpr (std::is_same_v<T, RegisterNodeTx>) return ApplyRegisterNode(state, tx, body, env);
        if constexpr (std::is_same_v<T, SubmitResultTx>) return ApplySubmitResult(state, tx, body, env, tx_key);
        if constexpr (std::is_same_v<T, RegisterEnclaveTx>) return ApplyRegisterEnclave(state, tx, body, env);
        if constexpr (std::is_same_v<T, UpdateTeeParamsTx>) return ApplyUpdateTeeParams(state, tx, body, env);
        if constexpr (std::is_same_v<T, RequestInferenceTx>) return ApplyRequestInference(state, tx, body, env);
        if constexpr (std::is_same_v<T, ReportConflictTx>) return ApplyReportConflict(state, tx, body, env);
        if constexpr (std::is_same_v<T, ChallengeTx>) return ApplyChallenge(state, tx, body, env);
        if constexpr (std::is_same_v<T, ChallengeVoteTx>) return ApplyChallengeVote(state, tx, body, env);
        if constexpr (std::is_same_v<T, CreateWorkflowTx>) return ApplyCreateWorkflow(state, tx, body, env);
        if constexpr (std::is_same_v<T, PostDataTx>) return ApplyPostData(state, tx, body, env);
        if constexpr (std::is_same_v<T, AnnouncePinsTx>) return ApplyAnnouncePins(state, tx, body, env);
      },
      tx.body);
}

}  // namespace lucid::chain
