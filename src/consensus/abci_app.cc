#include "consensus/abci_app.h"

#include <charconv>
#include <cstdio>

#include "api/json_views.h"
#include "chain/state.h"
#include "crypto/hash.h"

namespace lucid::consensus {

namespace {

using nlohmann::json;

constexpr const char* kCodespace = "lucid";

// The serialized size CometBFT counts for one tx in a block's data (types.Data field 1:
// tag byte, uvarint length, bytes): ComputeProtoSizeForTxs in types/tx.go.
uint64_t TxProtoSize(size_t n) {
  uint64_t len_bytes = 1;
  for (uint64_t v = n; v >= 0x80; v >>= 7) ++len_bytes;
  return 1 + len_bytes + n;
}

abci::Event TxEvent(const chain::TxResult& r) {
  abci::Event e;
  e.set_type("lucid.tx");
  auto add = [&](const std::string& k, const std::string& v, bool index) {
    abci::EventAttribute* a = e.add_attributes();
    a->set_key(k);
    a->set_value(v);
    a->set_index(index);
  };
  add("hash", ToHex(r.tx_hash), true);
  add("code", std::to_string(static_cast<uint32_t>(r.code)), false);
  add("code_name", std::string(chain::TxCodeName(r.code)), false);
  if (r.receipt_id) add("receipt_id", ToHex(*r.receipt_id), true);
  return e;
}

uint32_t QueryCode(const Status& s) {
  switch (s.code()) {
    case Code::kNotFound: return static_cast<uint32_t>(chain::TxCode::kNotFound);
    case Code::kInvalidArgument: return static_cast<uint32_t>(chain::TxCode::kInvalidField);
    default: return 1;
  }
}

Result<uint64_t> ParseHeight(std::string_view h) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(h.data(), h.data() + h.size(), v);
  if (ec != std::errc() || p != h.data() + h.size()) return InvalidArgument("height must be a number or 'latest'");
  return v;
}

json BlockJson(const chain::StoredBlock& block) {
  json txs = json::array();
  for (size_t i = 0; i < block.txs.size(); ++i) {
    json t;
    auto decoded = protocol::SignedTx::Decode(block.txs[i]);
    if (decoded.ok()) t = api::TxJson(*decoded);
    t["raw"] = ToHex(block.txs[i]);
    if (i < block.results.size()) t["result"] = api::TxResultJson(block.results[i]);
    txs.push_back(std::move(t));
  }
  return {{"header", api::HeaderJson(block.header)},
          {"header_raw", ToHex(block.header.header.Encode())},
          {"header_hash", ToHex(block.header.header.Hash())},
          {"txs", txs}};
}

// One query path → its JSON value (committed state).
Result<json> QueryJson(const chain::Application& app, std::string_view path) {
  auto arg = [&](std::string_view prefix) -> std::optional<std::string> {
    if (path.substr(0, prefix.size()) != prefix || path.size() == prefix.size()) return std::nullopt;
    return std::string(path.substr(prefix.size()));
  };
  if (path == "/status") {
    chain::AppInfo info = app.Info();
    return json{{"chain_id", info.chain_id},
                {"height", info.height},
                {"app_hash", ToHex(info.app_hash)},
                {"last_block_hash", ToHex(info.last_block_hash)},
                {"last_time_ms", info.last_time_ms}};
  }
  if (path == "/genesis") {
    if (!app.initialized()) return FailedPrecondition("chain is not initialized");
    return api::GenesisJson(app.genesis());
  }
  if (path == "/nodes") {
    ASSIGN_OR_RETURN(auto nodes, app.ListNodes());
    json arr = json::array();
    for (const auto& n : nodes) arr.push_back(api::NodeJson(n));
    return json{{"nodes", arr}};
  }
  if (auto a = arg("/account/")) {
    ASSIGN_OR_RETURN(crypto::Address addr, crypto::Address::FromHex(*a));
    ASSIGN_OR_RETURN(chain::Account acct, app.GetAccount(addr));
    json j = api::AccountJson(acct);
    j["address"] = addr.ToHex();
    return j;
  }
  if (auto n = arg("/repo/")) {
    ASSIGN_OR_RETURN(chain::Repo r, app.GetRepo(*n));
    return api::RepoJson(r);
  }
  if (auto m = arg("/model/")) {
    ASSIGN_OR_RETURN(chain::VersionEntry v, app.ResolveModel(*m));
    return api::VersionJson(v);
  }
  if (auto a = arg("/node/")) {
    ASSIGN_OR_RETURN(crypto::Address addr, crypto::Address::FromHex(*a));
    ASSIGN_OR_RETURN(chain::NodeInfo n, app.GetNode(addr));
    return api::NodeJson(n);
  }
  if (auto a = arg("/enclave/")) {
    ASSIGN_OR_RETURN(crypto::Address addr, crypto::Address::FromHex(*a));
    ASSIGN_OR_RETURN(chain::EnclaveInfo e, app.GetEnclave(addr));
    return api::EnclaveJson(e);
  }
  if (auto id_hex = arg("/receipt/")) {
    ASSIGN_OR_RETURN(Hash32 id, Hash32FromHex(*id_hex));
    ASSIGN_OR_RETURN(chain::ReceiptRecord rec, app.GetReceipt(id));
    ASSIGN_OR_RETURN(crypto::InclusionProof proof, app.ProveReceipt(id));
    ASSIGN_OR_RETURN(chain::StoredBlock block, app.GetBlock(rec.height));
    json j = {{"receipt_id", ToHex(id)},
                {"height", rec.height},
                {"index", rec.index},
                {"node_paid", rec.node_paid},
                {"publisher_paid", rec.publisher_paid},
                {"receipt", api::ReceiptJson(rec.result.receipt)},
                {"request", api::RequestJson(rec.result.request.request)},
                {"raw",
                 {{"request", ToHex(rec.result.request.Encode())},
                  {"receipt", ToHex(rec.result.receipt.Encode())},
                  {"evidence", ToHex(rec.result.evidence.Encode())},
                  {"header", ToHex(block.header.Encode())}}},
                {"proof", api::ProofJson(proof)},
                {"header", api::HeaderJson(block.header)},
                {"header_hash", ToHex(block.header.header.Hash())}};
    api::AddSettlementJson(rec, j);
    return j;
  }
  if (auto id_hex = arg("/request/")) {
    ASSIGN_OR_RETURN(Hash32 id, Hash32FromHex(*id_hex));
    ASSIGN_OR_RETURN(chain::AsyncRequest a, app.GetAsyncRequest(id));
    return api::AsyncRequestJson(a);
  }
  if (auto a = arg("/pending/")) {
    ASSIGN_OR_RETURN(crypto::Address addr, crypto::Address::FromHex(*a));
    ASSIGN_OR_RETURN(auto pending, app.PendingRequestsFor(addr));
    json arr = json::array();
    for (const auto& p : pending) arr.push_back(api::AsyncRequestJson(p));
    return json{{"node", addr.ToHex()}, {"requests", arr}};
  }
  if (auto id_hex = arg("/challenge/")) {
    ASSIGN_OR_RETURN(Hash32 id, Hash32FromHex(*id_hex));
    ASSIGN_OR_RETURN(chain::Challenge c, app.GetChallenge(id));
    return api::ChallengeJson(c);
  }
  if (auto a = arg("/challenges/")) {
    ASSIGN_OR_RETURN(crypto::Address addr, crypto::Address::FromHex(*a));
    ASSIGN_OR_RETURN(auto open, app.OpenChallengesFor(addr));
    json arr = json::array();
    for (const auto& c : open) arr.push_back(api::ChallengeJson(c));
    return json{{"node", addr.ToHex()}, {"challenges", arr}};
  }
  if (auto n = arg("/feed/")) {
    ASSIGN_OR_RETURN(chain::DataFeed f, app.GetFeed(*n));
    return api::FeedJson(f);
  }
  if (auto w = arg("/workflow/")) {
    ASSIGN_OR_RETURN(uint64_t id, ParseHeight(*w));
    ASSIGN_OR_RETURN(chain::Workflow wf, app.GetWorkflow(id));
    return api::WorkflowJson(wf);
  }
  if (auto h = arg("/block/")) {
    uint64_t height = 0;
    if (*h == "latest") {
      height = app.Info().height;
    } else {
      ASSIGN_OR_RETURN(height, ParseHeight(*h));
    }
    ASSIGN_OR_RETURN(chain::StoredBlock block, app.GetBlock(height));
    return BlockJson(block);
  }
  return NotFound("unknown query path '" + std::string(path) + "'");
}

// Identity of a block input: everything FinalizeBlock's outcome depends on besides the state.
Hash32 BlockKey(const chain::BlockInput& in) {
  Bytes b;
  auto u64 = [&](uint64_t v) {
    for (int i = 7; i >= 0; --i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  u64(in.height);
  u64(in.time_ms);
  b.insert(b.end(), in.proposer.bytes.begin(), in.proposer.bytes.end());
  b.insert(b.end(), in.prev_hash.begin(), in.prev_hash.end());
  u64(in.txs.size());
  for (const Bytes& t : in.txs) {
    const Hash32 h = crypto::Sha256(t);
    b.insert(b.end(), h.begin(), h.end());
  }
  return crypto::Sha256(b);
}

}  // namespace

crypto::Address CometAddress(ByteView ed25519_public_key) {
  const Hash32 h = crypto::Sha256(ed25519_public_key);
  crypto::Address a;
  std::copy(h.begin(), h.begin() + a.bytes.size(), a.bytes.begin());
  return a;
}

uint64_t LucidBlockTimeMs(int64_t seconds, int32_t nanos, uint64_t last_time_ms) {
  uint64_t ms = 0;
  if (seconds > 0 || (seconds == 0 && nanos > 0)) {
    ms = static_cast<uint64_t>(seconds) * 1000 + static_cast<uint64_t>(nanos < 0 ? 0 : nanos) / 1'000'000;
  }
  return std::max(ms, last_time_ms + 1);
}

Result<chain::Genesis> GenesisFromInitChain(const abci::RequestInitChain& req) {
  if (req.app_state_bytes().empty())
    return InvalidArgument("InitChain: app_state is empty (it must hold the Lucid genesis JSON)");
  if (req.initial_height() > 1)
    return InvalidArgument("InitChain: initial_height " + std::to_string(req.initial_height()) +
                           " is not supported (Lucid heights start at 1)");
  json j = json::parse(req.app_state_bytes(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return InvalidArgument("InitChain: app_state is not a JSON object");
  if (j.contains("validators") && !(j["validators"].is_array() && j["validators"].empty()))
    return InvalidArgument("InitChain: app_state.validators must be empty: the validators are CometBFT's");
  j["validators"] = json::array();
  if (!j.contains("genesis_time_ms")) j["genesis_time_ms"] = 0;
  ASSIGN_OR_RETURN(chain::Genesis g, api::GenesisFromJson(j));
  if (g.chain_id != req.chain_id())
    return InvalidArgument("InitChain: app_state chain_id '" + g.chain_id + "' is not CometBFT's chain id '" +
                           req.chain_id() + "'");
  const uint64_t t = LucidBlockTimeMs(req.time().seconds(), req.time().nanos(), 0);
  g.genesis_time_ms = t - 1;  // block 1 carries the genesis time; Lucid block times strictly increase
  for (const abci::ValidatorUpdate& v : req.validators()) {
    if (v.pub_key().sum_case() != ::tendermint::crypto::PublicKey::kEd25519 || v.pub_key().ed25519().size() != 32)
      return InvalidArgument("InitChain: only ed25519 validator keys are supported");
    if (v.power() <= 0) return InvalidArgument("InitChain: a genesis validator has no voting power");
    const std::string& pk = v.pub_key().ed25519();
    g.validators.push_back(CometAddress(ByteView(reinterpret_cast<const uint8_t*>(pk.data()), pk.size())));
  }
  return g;
}

Result<std::unique_ptr<AbciApp>> AbciApp::Open(const std::string& store_path) {
  ASSIGN_OR_RETURN(std::unique_ptr<store::KvStore> store, store::KvStore::Open(store_path));
  ASSIGN_OR_RETURN(std::unique_ptr<chain::Application> app, chain::Application::Open(store.get()));
  std::unique_ptr<AbciApp> a = Wrap(std::move(app));
  a->owned_store_ = std::move(store);
  return a;
}

std::unique_ptr<AbciApp> AbciApp::Wrap(std::unique_ptr<chain::Application> app) {
  std::unique_ptr<AbciApp> a(new AbciApp());
  a->app_ = std::move(app);
  a->log_ = [](const std::string& line) { std::fprintf(stderr, "abci: %s\n", line.c_str()); };
  return a;
}

AbciApp::~AbciApp() {
  app_.reset();  // before owned_store_, which it reads
}

abci::Response AbciApp::Handle(const abci::Request& req) {
  abci::Response res;
  auto fail = [&](const Status& s, const char* what) {
    log_(std::string(what) + " failed: " + s.ToString());
    res.mutable_exception()->set_error(std::string(what) + ": " + s.ToString());
  };
  switch (req.value_case()) {
    case abci::Request::kEcho: res.mutable_echo()->set_message(req.echo().message()); break;
    case abci::Request::kFlush: res.mutable_flush(); break;
    case abci::Request::kInfo: *res.mutable_info() = Info(req.info()); break;
    case abci::Request::kInitChain: {
      auto r = InitChain(req.init_chain());
      if (r.ok()) *res.mutable_init_chain() = std::move(r).value(); else fail(r.status(), "InitChain");
      break;
    }
    case abci::Request::kQuery: *res.mutable_query() = Query(req.query()); break;
    case abci::Request::kCheckTx: *res.mutable_check_tx() = CheckTx(req.check_tx()); break;
    case abci::Request::kCommit: {
      auto r = Commit();
      if (r.ok()) *res.mutable_commit() = std::move(r).value(); else fail(r.status(), "Commit");
      break;
    }
    case abci::Request::kListSnapshots: res.mutable_list_snapshots(); break;
    case abci::Request::kOfferSnapshot:
      res.mutable_offer_snapshot()->set_result(abci::ResponseOfferSnapshot::REJECT);
      break;
    case abci::Request::kLoadSnapshotChunk: res.mutable_load_snapshot_chunk(); break;
    case abci::Request::kApplySnapshotChunk:
      res.mutable_apply_snapshot_chunk()->set_result(abci::ResponseApplySnapshotChunk::ABORT);
      break;
    case abci::Request::kPrepareProposal: {
      auto r = PrepareProposal(req.prepare_proposal());
      if (r.ok()) *res.mutable_prepare_proposal() = std::move(r).value(); else fail(r.status(), "PrepareProposal");
      break;
    }
    case abci::Request::kProcessProposal: *res.mutable_process_proposal() = ProcessProposal(req.process_proposal()); break;
    case abci::Request::kExtendVote: res.mutable_extend_vote(); break;
    case abci::Request::kVerifyVoteExtension:
      res.mutable_verify_vote_extension()->set_status(abci::ResponseVerifyVoteExtension::ACCEPT);
      break;
    case abci::Request::kFinalizeBlock: {
      auto r = FinalizeBlock(req.finalize_block());
      if (r.ok()) *res.mutable_finalize_block() = std::move(r).value(); else fail(r.status(), "FinalizeBlock");
      break;
    }
    case abci::Request::VALUE_NOT_SET:
    default: fail(InvalidArgument("unknown or empty request"), "request"); break;
  }
  return res;
}

abci::ResponseInfo AbciApp::Info(const abci::RequestInfo&) {
  std::lock_guard<std::mutex> lock(mu_);
  abci::ResponseInfo res;
  res.set_data("lucid");
  res.set_version("lucid-abci/1");
  if (!app_->initialized()) return res;  // height 0, no hash: CometBFT runs InitChain
  const chain::AppInfo info = app_->Info();
  res.set_last_block_height(static_cast<int64_t>(info.height));
  const Hash32& h = info.height == 0 ? info.app_hash : info.last_block_hash;
  res.set_last_block_app_hash(std::string(h.begin(), h.end()));
  return res;
}

Result<abci::ResponseInitChain> AbciApp::InitChain(const abci::RequestInitChain& req) {
  ASSIGN_OR_RETURN(chain::Genesis g, GenesisFromInitChain(req));
  std::lock_guard<std::mutex> lock(mu_);
  if (app_->initialized()) {
    // CometBFT repeats InitChain when the app restarts before its first block.
    if (app_->Info().height != 0 || chain::GenesisAppHash(g) != app_->Info().app_hash)
      return AlreadyExists("InitChain: the store already holds chain '" + app_->Info().chain_id + "' at height " +
                           std::to_string(app_->Info().height));
  } else {
    RETURN_IF_ERROR(app_->InitChain(g));
  }
  abci::ResponseInitChain res;
  const Hash32 h = app_->Info().app_hash;
  res.set_app_hash(std::string(h.begin(), h.end()));
  log_("InitChain: chain " + g.chain_id + ", " + std::to_string(g.validators.size()) + " validators, " +
       std::to_string(g.accounts.size()) + " accounts, app hash " + ToHex(h));
  return res;
}

abci::ResponseCheckTx AbciApp::CheckTx(const abci::RequestCheckTx& req) {
  const std::string& tx = req.tx();
  chain::TxResult r;
  {
    std::lock_guard<std::mutex> lock(mu_);
    r = app_->CheckTx(ByteView(reinterpret_cast<const uint8_t*>(tx.data()), tx.size()));
  }
  abci::ResponseCheckTx res;
  res.set_code(static_cast<uint32_t>(r.code));
  if (r.code != chain::TxCode::kOk) {
    res.set_codespace(kCodespace);
    res.set_log(r.log);
  }
  res.set_gas_wanted(1);
  return res;
}

Result<chain::BlockInput> AbciApp::BlockInputLocked(int64_t height, const google::protobuf::Timestamp& time,
                                                    const std::string& proposer,
                                                    const google::protobuf::RepeatedPtrField<std::string>& txs) const {
  if (!app_->initialized()) return FailedPrecondition("chain is not initialized");
  const chain::AppInfo info = app_->Info();
  if (height <= 0 || static_cast<uint64_t>(height) != info.height + 1)
    return FailedPrecondition("block height " + std::to_string(height) + " does not follow committed height " +
                              std::to_string(info.height));
  if (proposer.size() != 20) return InvalidArgument("proposer address is not 20 bytes");
  chain::BlockInput in;
  in.height = static_cast<uint64_t>(height);
  in.time_ms = LucidBlockTimeMs(time.seconds(), time.nanos(), info.last_time_ms);
  std::copy(proposer.begin(), proposer.end(), in.proposer.bytes.begin());
  in.prev_hash = info.last_block_hash;
  in.txs.reserve(txs.size());
  for (const std::string& t : txs) in.txs.emplace_back(t.begin(), t.end());
  return in;
}

Result<abci::ResponsePrepareProposal> AbciApp::PrepareProposal(const abci::RequestPrepareProposal& req) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(chain::BlockInput in,
                   BlockInputLocked(req.height(), req.time(), req.proposer_address(), req.txs()));
  const uint64_t max_bytes = req.max_tx_bytes() > 0 ? static_cast<uint64_t>(req.max_tx_bytes()) : 0;
  ASSIGN_OR_RETURN(std::vector<size_t> kept, app_->SelectBlockTxs(in, max_bytes, TxProtoSize));
  abci::ResponsePrepareProposal res;
  for (size_t i : kept) res.add_txs(req.txs(static_cast<int>(i)));
  if (kept.size() != static_cast<size_t>(req.txs_size()))
    log_("PrepareProposal h=" + std::to_string(req.height()) + ": kept " + std::to_string(kept.size()) + " of " +
         std::to_string(req.txs_size()) + " txs");
  return res;
}

abci::ResponseProcessProposal AbciApp::ProcessProposal(const abci::RequestProcessProposal& req) {
  abci::ResponseProcessProposal res;
  res.set_status(abci::ResponseProcessProposal::REJECT);
  std::lock_guard<std::mutex> lock(mu_);
  auto in = BlockInputLocked(req.height(), req.time(), req.proposer_address(), req.txs());
  if (!in.ok()) {
    log_("ProcessProposal h=" + std::to_string(req.height()) + " REJECT: " + in.status().ToString());
    return res;
  }
  // Executed (staged) exactly as FinalizeBlock would; kept for it when accepted.
  processed_key_.reset();
  processed_.reset();
  auto fin = app_->FinalizeBlock(*in);
  if (!fin.ok()) {
    log_("ProcessProposal h=" + std::to_string(req.height()) + " REJECT: " + fin.status().ToString());
    return res;
  }
  for (size_t i = 0; i < fin->results.size(); ++i) {
    const chain::TxResult& r = fin->results[i];
    if (r.code != chain::TxCode::kOk) {
      log_("ProcessProposal h=" + std::to_string(req.height()) + " REJECT: tx " + std::to_string(i) + " (" +
           ToHex(r.tx_hash) + ") " + std::string(chain::TxCodeName(r.code)) + ": " + r.log);
      return res;
    }
  }
  processed_key_ = BlockKey(*in);
  processed_ = std::move(fin).value();
  res.set_status(abci::ResponseProcessProposal::ACCEPT);
  return res;
}

Result<abci::ResponseFinalizeBlock> AbciApp::FinalizeBlock(const abci::RequestFinalizeBlock& req) {
  std::lock_guard<std::mutex> lock(mu_);
  ASSIGN_OR_RETURN(chain::BlockInput in,
                   BlockInputLocked(req.height(), req.time(), req.proposer_address(), req.txs()));
  chain::FinalizedBlock fin;
  if (processed_key_ && *processed_key_ == BlockKey(in) && processed_) {
    fin = std::move(*processed_);  // this block's execution by ProcessProposal is still staged
  } else {
    ASSIGN_OR_RETURN(fin, app_->FinalizeBlock(in));
  }
  processed_key_.reset();
  processed_.reset();
  abci::ResponseFinalizeBlock res;
  for (const chain::TxResult& r : fin.results) {
    abci::ExecTxResult* t = res.add_tx_results();
    t->set_code(static_cast<uint32_t>(r.code));
    if (r.code != chain::TxCode::kOk) {
      t->set_codespace(kCodespace);
      t->set_log(r.log);
    }
    if (r.receipt_id) t->set_data(std::string(r.receipt_id->begin(), r.receipt_id->end()));
    *t->add_events() = TxEvent(r);
  }
  const Hash32 header_hash = fin.header.Hash();
  abci::Event* e = res.add_events();
  e->set_type("lucid.block");
  auto add = [&](const std::string& k, const std::string& v) {
    abci::EventAttribute* a = e->add_attributes();
    a->set_key(k);
    a->set_value(v);
    a->set_index(false);
  };
  add("header_hash", ToHex(header_hash));
  add("state_app_hash", ToHex(fin.header.app_hash));
  add("receipts_root", ToHex(fin.header.receipts_root));
  add("receipt_count", std::to_string(fin.header.receipt_count));
  res.set_app_hash(std::string(header_hash.begin(), header_hash.end()));
  finalized_ = true;
  last_finalized_ = std::move(fin);
  return res;
}

Result<abci::ResponseCommit> AbciApp::Commit() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!finalized_) return FailedPrecondition("Commit without FinalizeBlock");
  RETURN_IF_ERROR(app_->CommitUnsigned());
  finalized_ = false;
  bool woke = false;
  if (last_finalized_ && !awaited_.empty()) {
    for (const chain::TxResult& r : last_finalized_->results) {
      auto it = awaited_.find(r.tx_hash);
      if (it != awaited_.end() && !it->second) {
        it->second = r;
        woke = true;
      }
    }
  }
  last_finalized_.reset();
  if (woke) included_cv_.notify_all();
  return abci::ResponseCommit{};
}

abci::ResponseQuery AbciApp::Query(const abci::RequestQuery& req) {
  abci::ResponseQuery res;
  std::lock_guard<std::mutex> lock(mu_);
  res.set_height(static_cast<int64_t>(app_->Info().height));
  if (req.height() != 0 && static_cast<uint64_t>(req.height()) != app_->Info().height) {
    res.set_code(1);
    res.set_codespace(kCodespace);
    res.set_log("only the last committed height is queryable (ask height 0)");
    return res;
  }
  Result<json> j = [&]() -> Result<json> {
    try {
      return QueryJson(*app_, req.path());
    } catch (const std::exception& e) {  // a JSON view of odd bytes must not end the process
      return Internal(std::string("query: ") + e.what());
    }
  }();
  if (!j.ok()) {
    res.set_code(QueryCode(j.status()));
    res.set_codespace(kCodespace);
    res.set_log(j.status().ToString());
    return res;
  }
  res.set_key(req.path());
  res.set_value(j->dump());
  return res;
}

void AbciApp::ExpectTx(const Hash32& tx_hash) {
  std::lock_guard<std::mutex> lock(mu_);
  awaited_.emplace(tx_hash, std::nullopt);
}

std::optional<chain::TxResult> AbciApp::WaitForTx(const Hash32& tx_hash, std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  included_cv_.wait_for(lock, timeout, [&] {
    auto it = awaited_.find(tx_hash);
    return it == awaited_.end() || it->second.has_value();
  });
  auto it = awaited_.find(tx_hash);
  if (it == awaited_.end()) return std::nullopt;
  std::optional<chain::TxResult> r = std::move(it->second);
  awaited_.erase(it);
  return r;
}

}  // namespace lucid::consensus
