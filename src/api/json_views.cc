#include "api/json_views.h"

#include <array>
#include <charconv>
#include <optional>
#include <vector>

namespace lucid::api {

json RequestJson(const protocol::InferenceRequest& r) {
  return {{"chain_id", r.chain_id},
          {"requester", r.requester.ToHex()},
          {"model", r.model.ToString()},
          {"mode", protocol::ModeName(r.mode)},
          {"input_hash", ToHex(r.input_hash)},
          {"params", ToHex(r.params)},
          {"seed", r.seed},
          {"max_fee", r.max_fee},
          {"nonce", r.nonce},
          {"deadline_height", r.deadline_height},
          {"node", r.node.ToHex()},
          {"request_hash", ToHex(r.Hash())}};
}

json ReceiptJson(const protocol::Receipt& r) {
  return {{"receipt_id", ToHex(r.Id())},
          {"chain_id", r.chain_id},
          {"request_hash", ToHex(r.request_hash)},
          {"model", r.model.ToString()},
          {"input_hash", ToHex(r.input_hash)},
          {"output_hash", ToHex(r.output_hash)},
          {"mode", protocol::ModeName(r.mode)},
          {"node", r.node.ToHex()},
          {"engine", r.engine},
          {"fee", r.fee}};
}

json HeaderJson(const protocol::SignedHeader& sh) {
  const auto& h = sh.header;
  return {{"chain_id", h.chain_id},
          {"height", h.height},
          {"time_ms", h.time_ms},
          {"hash", ToHex(h.Hash())},
          {"prev_hash", ToHex(h.prev_hash)},
          {"txs_root", ToHex(h.txs_root)},
          {"receipts_root", ToHex(h.receipts_root)},
          {"app_hash", ToHex(h.app_hash)},
          {"proposer", h.proposer.ToHex()},
          {"signature", ToHex(sh.signature)}};
}

json AccountJson(const chain::Account& a) {
  return {{"balance", a.balance}, {"nonce", a.nonce}, {"request_nonce", a.request_nonce}};
}

json VersionJson(const chain::VersionEntry& v) {
  json j = {{"version", std::to_string(v.major) + "." + std::to_string(v.minor)},
          {"manifest", v.manifest.ToString()},
          {"price", v.price},
          {"height", v.height}};
  if (v.zkml_commitment) j["zkml_commitment"] = ToHex(*v.zkml_commitment);
  return j;
}

json RepoJson(const chain::Repo& r) {
  json versions = json::array();
  for (const auto& v : r.versions) versions.push_back(VersionJson(v));
  return {{"name", r.name},         {"owner", r.owner.ToHex()}, {"description", r.description},
          {"task", r.task},         {"license", r.license},     {"tags", r.tags},
          {"created_height", r.created_height}, {"versions", versions}};
}

json NodeJson(const chain::NodeInfo& n) {
  json modes = json::array();
  for (auto m : {protocol::Mode::kVanilla, protocol::Mode::kTee, protocol::Mode::kZkml, protocol::Mode::kReplay})
    if (n.modes & protocol::ModeBit(m)) modes.push_back(protocol::ModeName(m));
  return {{"address", n.address.ToHex()}, {"stake", n.stake}, {"modes", modes},
          {"endpoint", n.endpoint}, {"registered_height", n.registered_height},
          {"jailed", n.jailed}, {"slashed", n.slashed}, {"missed_deadlines", n.missed_deadlines}};
}

json TxResultJson(const chain::TxResult& r) {
  json j = {{"code", static_cast<uint32_t>(r.code)},
            {"code_name", chain::TxCodeName(r.code)},
            {"log", r.log},
            {"hash", ToHex(r.tx_hash)}};
  if (r.receipt_id) j["receipt_id"] = ToHex(*r.receipt_id);
  return j;
}

json ProofJson(const crypto::InclusionProof& p) {
  json path = json::array();
  for (const auto& h : p.path) path.push_back(ToHex(h));
  return {{"leaf_index", p.leaf_index}, {"tree_size", p.tree_size}, {"path", path}};
}

Result<crypto::InclusionProof> ProofFromJson(const json& j) {
  crypto::InclusionProof p;
  if (!j.is_object() || !j.contains("leaf_index") || !j.contains("tree_size") || !j.contains("path") ||
      !j["leaf_index"].is_number_unsigned() || !j["tree_size"].is_number_unsigned() || !j["path"].is_array())
    return InvalidArgument("inclusion proof must have leaf_index, tree_size and path");
  p.leaf_index = j["leaf_index"].get<uint64_t>();
  p.tree_size = j["tree_size"].get<uint64_t>();
  for (const auto& h : j["path"]) {
    if (!h.is_string()) return InvalidArgument("proof path entries must be hex strings");
    ASSIGN_OR_RETURN(Hash32 hash, Hash32FromHex(h.get<std::string>()));
    p.path.push_back(hash);
  }
  return p;
}

json GenesisJson(const chain::Genesis& g) {
  json accounts = json::array();
  for (const auto& a : g.accounts) accounts.push_back({{"address", a.address.ToHex()}, {"balance", a.balance}});
  json validators = json::array();
  for (const auto& v : g.validators) validators.push_back(v.ToHex());
  json params = {{"tx_fee_per_byte", g.params.tx_fee_per_byte},
                 {"min_node_stake", g.params.min_node_stake},
                 {"max_tx_bytes", g.params.max_tx_bytes},
                 {"dev_mode", g.params.dev_mode}};
  // Present only when set, like the genesis record's version 2 (docs/tee-chain.md).
  if (!(g.params.tee == chain::TeeParams{})) {
    const chain::TeeParams& t = g.params.tee;
    json pcrs = json::array();
    for (const Bytes& m : t.allowed_pcr0) pcrs.push_back(ToHex(m));
    json tee = {{"allowed_pcr0", pcrs},
                {"heartbeat_ms", t.heartbeat_ms},
                {"max_document_age_ms", t.max_document_age_ms},
                {"dev_root_der", ToHex(t.dev_root_der)}};
    if (t.admin) tee["admin"] = t.admin->ToHex();
    params["tee"] = tee;
  }
  const chain::SettlementParams& sp = g.params.settlement;  // docs/settlement.md
  params["settlement"] = {{"async_max_deadline_blocks", sp.async_max_deadline_blocks},
                          {"async_min_deadline_blocks", sp.async_min_deadline_blocks},
                          {"async_miss_slash_bps", sp.async_miss_slash_bps},
                          {"conflict_slash_bps", sp.conflict_slash_bps},
                          {"replay_challenge_blocks", sp.replay_challenge_blocks},
                          {"challenge_bond", sp.challenge_bond},
                          {"challenge_committee", sp.challenge_committee},
                          {"challenge_vote_blocks", sp.challenge_vote_blocks},
                          {"replay_slash_bps", sp.replay_slash_bps},
                          {"workflow_max_runs", sp.workflow_max_runs}};
  params["replication"] = {{"min_replicas", g.params.replication.min_replicas},
                           {"hub_bond", g.params.replication.hub_bond}};
  return {{"chain_id", g.chain_id},
          {"genesis_time_ms", g.genesis_time_ms},
          {"params", params},
          {"accounts", accounts},
          {"validators", validators}};
}

Result<chain::Genesis> GenesisFromJson(const json& j) {
  try {
    chain::Genesis g;
    g.chain_id = j.at("chain_id").get<std::string>();
    g.genesis_time_ms = j.at("genesis_time_ms").get<uint64_t>();
    const json& p = j.at("params");
    g.params.tx_fee_per_byte = p.at("tx_fee_per_byte").get<uint64_t>();
    g.params.min_node_stake = p.at("min_node_stake").get<uint64_t>();
    g.params.max_tx_bytes = p.at("max_tx_bytes").get<uint64_t>();
    g.params.dev_mode = p.at("dev_mode").get<bool>();
    if (p.contains("settlement")) {  // each absent field keeps its default
      const json& s = p.at("settlement");
      chain::SettlementParams& sp = g.params.settlement;
      for (auto [name, field] : std::initializer_list<std::pair<const char*, uint64_t*>>{
               {"async_max_deadline_blocks", &sp.async_max_deadline_blocks},
               {"async_min_deadline_blocks", &sp.async_min_deadline_blocks},
               {"async_miss_slash_bps", &sp.async_miss_slash_bps},
               {"conflict_slash_bps", &sp.conflict_slash_bps},
               {"replay_challenge_blocks", &sp.replay_challenge_blocks},
               {"challenge_bond", &sp.challenge_bond},
               {"challenge_committee", &sp.challenge_committee},
               {"challenge_vote_blocks", &sp.challenge_vote_blocks},
               {"replay_slash_bps", &sp.replay_slash_bps},
               {"workflow_max_runs", &sp.workflow_max_runs}})
        if (s.contains(name)) *field = s.at(name).get<uint64_t>();
    }
    if (p.contains("replication")) {  // each absent field keeps its default
      const json& r = p.at("replication");
      if (r.contains("min_replicas")) g.params.replication.min_replicas = r.at("min_replicas").get<uint64_t>();
      if (r.contains("hub_bond")) g.params.replication.hub_bond = r.at("hub_bond").get<uint64_t>();
    }
    if (p.contains("tee")) {
      const json& t = p.at("tee");
      chain::TeeParams& tee = g.params.tee;
      if (t.contains("admin")) {
        ASSIGN_OR_RETURN(crypto::Address admin, crypto::Address::FromHex(t.at("admin").get<std::string>()));
        tee.admin = admin;
      }
      if (t.contains("allowed_pcr0"))
        for (const auto& m : t.at("allowed_pcr0")) {
          ASSIGN_OR_RETURN(Bytes pcr, FromHex(m.get<std::string>()));
          tee.allowed_pcr0.push_back(std::move(pcr));
        }
      if (t.contains("heartbeat_ms")) tee.heartbeat_ms = t.at("heartbeat_ms").get<uint64_t>();
      if (t.contains("max_document_age_ms")) tee.max_document_age_ms = t.at("max_document_age_ms").get<uint64_t>();
      if (t.contains("dev_root_der")) {
        ASSIGN_OR_RETURN(tee.dev_root_der, FromHex(t.at("dev_root_der").get<std::string>()));
      }
    }
    for (const auto& a : j.at("accounts")) {
      ASSIGN_OR_RETURN(crypto::Address addr, crypto::Address::FromHex(a.at("address").get<std::string>()));
      g.accounts.push_back({addr, a.at("balance").get<uint64_t>()});
    }
    for (const auto& v : j.at("validators")) {
      ASSIGN_OR_RETURN(crypto::Address addr, crypto::Address::FromHex(v.get<std::string>()));
      g.validators.push_back(addr);
    }
    return g;
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("genesis: ") + e.what());
  }
}

json TxJson(const protocol::SignedTx& stx) {
  const protocol::Tx& tx = stx.tx;
  json j = {{"hash", ToHex(stx.Hash())}, {"chain_id", tx.chain_id}, {"from", tx.from.ToHex()},
            {"nonce", tx.nonce},         {"max_tx_fee", tx.max_tx_fee}};
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, protocol::TransferTx>) {
          j["type"] = "transfer";
          j["to"] = b.to.ToHex();
          j["amount"] = b.amount;
        } else if constexpr (std::is_same_v<T, protocol::CreateRepoTx>) {
          j["type"] = "create_repo";
          j["name"] = b.name;
        } else if constexpr (std::is_same_v<T, protocol::PublishVersionTx>) {
          j["type"] = "publish_version";
          j["name"] = b.name;
          j["version"] = std::to_string(b.major) + "." + std::to_string(b.minor);
          j["manifest"] = b.manifest.ToString();
          j["price"] = b.price;
        } else if constexpr (std::is_same_v<T, protocol::RegisterNodeTx>) {
          j["type"] = "register_node";
          j["stake"] = b.stake;
          j["endpoint"] = b.endpoint;
        } else if constexpr (std::is_same_v<T, protocol::SubmitResultTx>) {
          j["type"] = "submit_result";
          j["receipt_id"] = ToHex(b.receipt.Id());
          j["requester"] = b.request.request.requester.ToHex();
        } else if constexpr (std::is_same_v<T, protocol::RegisterEnclaveTx>) {
          j["type"] = "register_enclave";
          j["enclave_public_key"] = ToHex(b.enclave_public_key);
          j["attestation_document_bytes"] = b.attestation_document.size();
        } else if constexpr (std::is_same_v<T, protocol::UpdateTeeParamsTx>) {
          j["type"] = "update_tee_params";
          j["add_pcr0"] = b.add_pcr0.size();
          j["remove_pcr0"] = b.remove_pcr0.size();
        } else if constexpr (std::is_same_v<T, protocol::RequestInferenceTx>) {
          const protocol::InferenceRequest& r = b.request.request;
          j["type"] = "request_inference";
          j["request_id"] = ToHex(r.Hash());
          j["requester"] = r.requester.ToHex();
          j["model"] = r.model.ToString();
          j["mode"] = protocol::ModeName(r.mode);
          j["max_fee"] = r.max_fee;
          j["deadline_height"] = r.deadline_height;
          j["node"] = r.node.ToHex();
          j["input_bytes"] = b.inputs.size();
        } else if constexpr (std::is_same_v<T, protocol::ReportConflictTx>) {
          j["type"] = "report_conflict";
          j["node"] = b.first.node.ToHex();
          j["request_hash"] = ToHex(b.first.request_hash);
          j["first_receipt_id"] = ToHex(b.first.Id());
          j["second_receipt_id"] = ToHex(b.second.Id());
        } else if constexpr (std::is_same_v<T, protocol::ChallengeTx>) {
          j["type"] = "challenge";
          j["receipt_id"] = ToHex(b.receipt_id);
          j["claimed_output_hash"] = ToHex(b.claimed_output_hash);
          j["input_bytes"] = b.inputs.size();
        } else if constexpr (std::is_same_v<T, protocol::ChallengeVoteTx>) {
          j["type"] = "challenge_vote";
          j["receipt_id"] = ToHex(b.receipt_id);
          j["output_hash"] = ToHex(b.output_hash);
        } else if constexpr (std::is_same_v<T, protocol::CreateWorkflowTx>) {
          j["type"] = "create_workflow";
          j["model"] = b.model.ToString();
          j["mode"] = protocol::ModeName(b.mode);
          j["feed"] = b.feed;
          j["every_blocks"] = b.every_blocks;
          j["runs"] = b.runs;
          j["max_fee_per_run"] = b.max_fee_per_run;
          j["seed"] = b.seed;
        } else if constexpr (std::is_same_v<T, protocol::PostDataTx>) {
          j["type"] = "post_data";
          j["feed"] = b.feed;
          j["value_bytes"] = b.value.size();
          json posters = json::array();
          for (const auto& a : b.add_posters) posters.push_back(a.ToHex());
          j["add_posters"] = posters;
        } else if constexpr (std::is_same_v<T, protocol::AnnouncePinsTx>) {
          j["type"] = "announce_pins";
          j["ipfs_peer"] = b.ipfs_peer;
          j["endpoint"] = b.endpoint;
          json pin = json::array(), unpin = json::array();
          for (const auto& c : b.pin) pin.push_back(c.ToString());
          for (const auto& c : b.unpin) unpin.push_back(c.ToString());
          j["pin"] = pin;
          j["unpin"] = unpin;
          j["retire"] = b.retire;
        }
      },
      tx.body);
  return j;
}

json HubJson(const chain::HubRecord& h) {
  return {{"address", h.address.ToHex()},   {"ipfs_peer", h.ipfs_peer},
          {"endpoint", h.endpoint},         {"bond", h.bond},
          {"registered_height", h.registered_height}, {"updated_height", h.updated_height},
          {"pins", h.pins}};
}

json ReplicationJson(const chain::VersionReplication& r) {
  json hubs = json::array();
  for (const auto& p : r.pinned_by) {
    json h = HubJson(p.hub);
    h["pinned_height"] = p.height;
    hubs.push_back(h);
  }
  return {{"manifest", r.manifest.ToString()},
          {"model", r.repo + "@" + std::to_string(r.major) + "." + std::to_string(r.minor)},
          {"repo", r.repo},
          {"major", r.major},
          {"minor", r.minor},
          {"min_replicas", r.min_replicas},
          {"replicas", r.pinned_by.size()},
          {"under_replicated", r.under_replicated()},
          {"pinned_by", hubs}};
}

json EnclaveJson(const chain::EnclaveInfo& e) {
  return {{"node", e.node.ToHex()},
          {"public_key", ToHex(e.public_key)},
          {"enclave_address", e.enclave_address.ToHex()},
          {"pcr0", ToHex(e.pcr0)},
          {"registered_at_ms", e.registered_at_ms},
          {"expires_at_ms", e.expires_at_ms},
          {"registered_height", e.registered_height},
          {"document_timestamp_ms", e.document_timestamp_ms}};
}

json TeeParamsJson(const chain::TeeParams& t) {
  json pcrs = json::array();
  for (const Bytes& p : t.allowed_pcr0) pcrs.push_back(ToHex(p));
  return {{"allowed_pcr0", pcrs}, {"heartbeat_ms", t.heartbeat_ms}, {"max_document_age_ms", t.max_document_age_ms}};
}

json AsyncRequestJson(const chain::AsyncRequest& a) {
  json j = {{"id", ToHex(a.id)},
            {"request", RequestJson(a.request.request)},
            {"raw", {{"request", ToHex(a.request.Encode())}}},
            {"inputs", ToHex(a.inputs)},
            {"assigned", a.assigned.ToHex()},
            {"escrow", a.escrow},
            {"created_height", a.created_height},
            {"status", chain::AsyncStatusName(a.status)},
            {"closed_height", a.closed_height},
            {"workflow_id", a.workflow_id}};
  if (a.receipt_id) j["receipt_id"] = ToHex(*a.receipt_id);
  return j;
}

json ChallengeJson(const chain::Challenge& c) {
  json committee = json::array();
  for (const auto& a : c.committee) committee.push_back(a.ToHex());
  json votes = json::array();
  for (const auto& v : c.votes)
    votes.push_back({{"voter", v.voter.ToHex()}, {"output_hash", ToHex(v.output_hash)}, {"height", v.height}});
  json j = {{"receipt_id", ToHex(c.receipt_id)},
            {"challenger", c.challenger.ToHex()},
            {"claimed_output_hash", ToHex(c.claimed_output_hash)},
            {"inputs", ToHex(c.inputs)},
            {"bond", c.bond},
            {"height", c.height},
            {"vote_deadline", c.vote_deadline},
            {"committee", committee},
            {"votes", votes},
            {"status", chain::ChallengeStatusName(c.status)},
            {"closed_height", c.closed_height}};
  if (c.decided_output_hash) j["decided_output_hash"] = ToHex(*c.decided_output_hash);
  return j;
}

json FeedJson(const chain::DataFeed& f) {
  json posters = json::array();
  for (const auto& a : f.posters) posters.push_back(a.ToHex());
  return {{"name", f.name},
          {"owner", f.owner.ToHex()},
          {"posters", posters},
          {"value", ToHex(f.value)},
          {"updated_height", f.updated_height}};
}

json WorkflowJson(const chain::Workflow& w) {
  const protocol::CreateWorkflowTx& s = w.spec;
  json history = json::array();
  for (const auto& r : w.history) history.push_back({{"height", r.height}, {"request_id", ToHex(r.request_id)}});
  return {{"id", w.id},
          {"owner", w.owner.ToHex()},
          {"spec",
           {{"model", s.model.ToString()},
            {"mode", protocol::ModeName(s.mode)},
            {"feed", s.feed},
            {"every_blocks", s.every_blocks},
            {"runs", s.runs},
            {"max_fee_per_run", s.max_fee_per_run},
            {"seed", s.seed},
            {"params", ToHex(s.params)}}},
          {"created_height", w.created_height},
          {"next_height", w.next_height},
          {"runs_done", w.runs_done},
          {"escrow", w.escrow},
          {"history", history}};
}

void AddSettlementJson(const chain::ReceiptRecord& rec, json& j) {
  j["settlement"] = chain::SettlementStatusName(rec.settlement);
  j["final_height"] = rec.final_height;
  j["held"] = rec.held;
}

namespace {

// Field readers: each names the field it refuses.
Result<const json*> Field(const json& j, const char* name) {
  if (!j.is_object()) return InvalidArgument(std::string("expected an object holding \"") + name + "\"");
  auto it = j.find(name);
  if (it == j.end()) return InvalidArgument(std::string("missing \"") + name + "\"");
  return &*it;
}
Result<uint64_t> U64(const json& j, const char* name) {
  ASSIGN_OR_RETURN(const json* f, Field(j, name));
  // Parsed JSON holds non-negative integers as unsigned; built values may hold them signed.
  if (f->is_number_unsigned()) return f->get<uint64_t>();
  if (f->is_number_integer() && f->get<int64_t>() >= 0) return static_cast<uint64_t>(f->get<int64_t>());
  return InvalidArgument(std::string("\"") + name + "\" must be an unsigned integer");
}
Result<std::string> Str(const json& j, const char* name) {
  ASSIGN_OR_RETURN(const json* f, Field(j, name));
  if (!f->is_string()) return InvalidArgument(std::string("\"") + name + "\" must be a string");
  return f->get<std::string>();
}
Result<Bytes> HexField(const json& j, const char* name) {
  ASSIGN_OR_RETURN(std::string s, Str(j, name));
  auto b = FromHex(s);
  if (!b.ok()) return b.status().WithContext(name);
  return b;
}
Result<Hash32> HashField(const json& j, const char* name) {
  ASSIGN_OR_RETURN(std::string s, Str(j, name));
  auto h = Hash32FromHex(s);
  if (!h.ok()) return h.status().WithContext(name);
  return h;
}
Result<crypto::Address> AddressField(const json& j, const char* name) {
  ASSIGN_OR_RETURN(std::string s, Str(j, name));
  auto a = crypto::Address::FromHex(s);
  if (!a.ok()) return a.status().WithContext(name);
  return a;
}
Result<bool> BoolField(const json& j, const char* name) {
  ASSIGN_OR_RETURN(const json* f, Field(j, name));
  if (!f->is_boolean()) return InvalidArgument(std::string("\"") + name + "\" must be true or false");
  return f->get<bool>();
}
Result<std::vector<crypto::Address>> AddressList(const json& j, const char* name) {
  ASSIGN_OR_RETURN(const json* f, Field(j, name));
  if (!f->is_array()) return InvalidArgument(std::string("\"") + name + "\" must be an array");
  std::vector<crypto::Address> out;
  for (const json& a : *f) {
    if (!a.is_string()) return InvalidArgument(std::string("\"") + name + "\" must hold addresses");
    auto addr = crypto::Address::FromHex(a.get<std::string>());
    if (!addr.ok()) return addr.status().WithContext(name);
    out.push_back(*addr);
  }
  return out;
}
Result<protocol::Mode> ModeField(const json& j, const char* name) {
  ASSIGN_OR_RETURN(std::string s, Str(j, name));
  auto m = protocol::ModeFromName(s);
  if (!m.ok()) return m.status().WithContext(name);
  return m;
}
// A status name back to its enum value: the values first..last whose names the chain defines.
template <typename E, typename NameFn>
Result<E> EnumField(const json& j, const char* name, int first, int last, NameFn name_of) {
  ASSIGN_OR_RETURN(std::string s, Str(j, name));
  for (int v = first; v <= last; ++v)
    if (name_of(static_cast<E>(v)) == s) return static_cast<E>(v);
  return InvalidArgument(std::string("\"") + name + "\" names no known status: '" + s + "'");
}
Result<std::optional<Hash32>> OptionalHash(const json& j, const char* name) {
  if (!j.is_object() || !j.contains(name)) return std::optional<Hash32>();
  ASSIGN_OR_RETURN(Hash32 h, HashField(j, name));
  return std::optional<Hash32>(h);
}

}  // namespace

Result<chain::Account> AccountFromJson(const json& j) {
  chain::Account a;
  ASSIGN_OR_RETURN(a.balance, U64(j, "balance"));
  ASSIGN_OR_RETURN(a.nonce, U64(j, "nonce"));
  ASSIGN_OR_RETURN(a.request_nonce, U64(j, "request_nonce"));
  return a;
}

Result<chain::VersionEntry> VersionFromJson(const json& j) {
  chain::VersionEntry v;
  ASSIGN_OR_RETURN(std::string version, Str(j, "version"));
  const size_t dot = version.find('.');
  auto parse = [](std::string_view t, uint32_t& out) {
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return !t.empty() && ec == std::errc() && p == t.data() + t.size();
  };
  if (dot == std::string::npos || !parse(std::string_view(version).substr(0, dot), v.major) ||
      !parse(std::string_view(version).substr(dot + 1), v.minor))
    return InvalidArgument("\"version\" must be MAJOR.MINOR, got '" + version + "'");
  ASSIGN_OR_RETURN(std::string manifest, Str(j, "manifest"));
  ASSIGN_OR_RETURN(v.manifest, crypto::Cid::Parse(manifest));
  ASSIGN_OR_RETURN(v.price, U64(j, "price"));
  ASSIGN_OR_RETURN(v.height, U64(j, "height"));
  if (j.contains("zkml_commitment")) {
    ASSIGN_OR_RETURN(Hash32 c, HashField(j, "zkml_commitment"));
    v.zkml_commitment = c;
  }
  return v;
}

Result<chain::Repo> RepoFromJson(const json& j) {
  chain::Repo r;
  ASSIGN_OR_RETURN(r.name, Str(j, "name"));
  ASSIGN_OR_RETURN(r.owner, AddressField(j, "owner"));
  ASSIGN_OR_RETURN(r.description, Str(j, "description"));
  ASSIGN_OR_RETURN(r.task, Str(j, "task"));
  ASSIGN_OR_RETURN(r.license, Str(j, "license"));
  ASSIGN_OR_RETURN(const json* tags, Field(j, "tags"));
  if (!tags->is_array()) return InvalidArgument("\"tags\" must be an array");
  for (const json& t : *tags) {
    if (!t.is_string()) return InvalidArgument("\"tags\" must hold strings");
    r.tags.push_back(t.get<std::string>());
  }
  ASSIGN_OR_RETURN(r.created_height, U64(j, "created_height"));
  ASSIGN_OR_RETURN(const json* versions, Field(j, "versions"));
  if (!versions->is_array()) return InvalidArgument("\"versions\" must be an array");
  for (const json& v : *versions) {
    ASSIGN_OR_RETURN(chain::VersionEntry e, VersionFromJson(v));
    r.versions.push_back(std::move(e));
  }
  return r;
}

Result<chain::NodeInfo> NodeFromJson(const json& j) {
  chain::NodeInfo n;
  ASSIGN_OR_RETURN(n.address, AddressField(j, "address"));
  ASSIGN_OR_RETURN(n.stake, U64(j, "stake"));
  ASSIGN_OR_RETURN(const json* modes, Field(j, "modes"));
  if (!modes->is_array()) return InvalidArgument("\"modes\" must be an array");
  for (const json& m : *modes) {
    if (!m.is_string()) return InvalidArgument("\"modes\" must hold mode names");
    ASSIGN_OR_RETURN(protocol::Mode mode, protocol::ModeFromName(m.get<std::string>()));
    n.modes |= protocol::ModeBit(mode);
  }
  ASSIGN_OR_RETURN(n.endpoint, Str(j, "endpoint"));
  ASSIGN_OR_RETURN(n.registered_height, U64(j, "registered_height"));
  // Penalties (docs/settlement.md); absent from APIs older than them: none.
  if (j.contains("jailed")) {
    ASSIGN_OR_RETURN(n.jailed, BoolField(j, "jailed"));
    ASSIGN_OR_RETURN(n.slashed, U64(j, "slashed"));
    ASSIGN_OR_RETURN(n.missed_deadlines, U64(j, "missed_deadlines"));
  }
  return n;
}

Result<chain::TxResult> TxResultFromJson(const json& j) {
  chain::TxResult r;
  ASSIGN_OR_RETURN(uint64_t code, U64(j, "code"));
  if (code > 0xffffffffu) return InvalidArgument("\"code\" out of range");
  r.code = static_cast<chain::TxCode>(code);
  ASSIGN_OR_RETURN(r.log, Str(j, "log"));
  ASSIGN_OR_RETURN(r.tx_hash, HashField(j, "hash"));
  if (j.contains("receipt_id")) {
    ASSIGN_OR_RETURN(Hash32 id, HashField(j, "receipt_id"));
    r.receipt_id = id;
  }
  return r;
}

Result<chain::EnclaveInfo> EnclaveFromJson(const json& j) {
  chain::EnclaveInfo e;
  ASSIGN_OR_RETURN(e.node, AddressField(j, "node"));
  ASSIGN_OR_RETURN(e.public_key, HexField(j, "public_key"));
  ASSIGN_OR_RETURN(e.enclave_address, AddressField(j, "enclave_address"));
  // The address is derived from the key: a view that disagrees with itself is refused.
  if (e.public_key.size() != 65 || e.public_key[0] != 0x04)
    return InvalidArgument("\"public_key\" must be a 65-byte uncompressed SEC1 point");
  std::array<uint8_t, 64> xy{};
  std::copy(e.public_key.begin() + 1, e.public_key.end(), xy.begin());
  if (crypto::AddressFromPublicKey(xy) != e.enclave_address)
    return DataLoss("\"enclave_address\" is not the address of \"public_key\"");
  ASSIGN_OR_RETURN(e.pcr0, HexField(j, "pcr0"));
  ASSIGN_OR_RETURN(e.registered_at_ms, U64(j, "registered_at_ms"));
  ASSIGN_OR_RETURN(e.expires_at_ms, U64(j, "expires_at_ms"));
  ASSIGN_OR_RETURN(e.registered_height, U64(j, "registered_height"));
  ASSIGN_OR_RETURN(e.document_timestamp_ms, U64(j, "document_timestamp_ms"));
  return e;
}

Result<chain::TeeParams> TeeParamsFromJson(const json& j) {
  chain::TeeParams t;
  ASSIGN_OR_RETURN(const json* pcrs, Field(j, "allowed_pcr0"));
  if (!pcrs->is_array()) return InvalidArgument("\"allowed_pcr0\" must be an array");
  for (const json& p : *pcrs) {
    if (!p.is_string()) return InvalidArgument("\"allowed_pcr0\" must hold hex strings");
    ASSIGN_OR_RETURN(Bytes pcr, FromHex(p.get<std::string>()));
    t.allowed_pcr0.push_back(std::move(pcr));
  }
  ASSIGN_OR_RETURN(t.heartbeat_ms, U64(j, "heartbeat_ms"));
  ASSIGN_OR_RETURN(t.max_document_age_ms, U64(j, "max_document_age_ms"));
  return t;
}

Result<chain::ReceiptRecord> ReceiptRecordFromJson(const json& j) {
  chain::ReceiptRecord rec;
  ASSIGN_OR_RETURN(rec.height, U64(j, "height"));
  ASSIGN_OR_RETURN(uint64_t index, U64(j, "index"));
  if (index > 0xffffffffu) return InvalidArgument("\"index\" out of range");
  rec.index = static_cast<uint32_t>(index);
  ASSIGN_OR_RETURN(rec.node_paid, U64(j, "node_paid"));
  ASSIGN_OR_RETURN(rec.publisher_paid, U64(j, "publisher_paid"));
  ASSIGN_OR_RETURN(const json* raw, Field(j, "raw"));
  ASSIGN_OR_RETURN(Bytes request, HexField(*raw, "request"));
  ASSIGN_OR_RETURN(Bytes receipt, HexField(*raw, "receipt"));
  ASSIGN_OR_RETURN(Bytes evidence, HexField(*raw, "evidence"));
  ASSIGN_OR_RETURN(rec.result.request, protocol::SignedRequest::Decode(request));
  ASSIGN_OR_RETURN(rec.result.receipt, protocol::Receipt::Decode(receipt));
  ASSIGN_OR_RETURN(rec.result.evidence, protocol::Evidence::Decode(evidence));
  // The id the answer was asked by must be the receipt's own.
  ASSIGN_OR_RETURN(Hash32 id, HashField(j, "receipt_id"));
  if (rec.result.receipt.Id() != id) return DataLoss("the receipt's bytes do not hash to its receipt_id");
  // Replay-mode settlement (docs/settlement.md); absent from APIs older than it: final.
  if (j.contains("settlement")) {
    ASSIGN_OR_RETURN(rec.settlement, (EnumField<chain::SettlementStatus>(j, "settlement", 0, 3, chain::SettlementStatusName)));
    ASSIGN_OR_RETURN(rec.final_height, U64(j, "final_height"));
    ASSIGN_OR_RETURN(rec.held, U64(j, "held"));
  }
  return rec;
}

Result<chain::AsyncRequest> AsyncRequestFromJson(const json& j) {
  chain::AsyncRequest a;
  ASSIGN_OR_RETURN(a.id, HashField(j, "id"));
  ASSIGN_OR_RETURN(const json* raw, Field(j, "raw"));
  ASSIGN_OR_RETURN(Bytes request, HexField(*raw, "request"));
  ASSIGN_OR_RETURN(a.request, protocol::SignedRequest::Decode(request));
  if (a.request.request.Hash() != a.id) return DataLoss("the request's bytes do not hash to its id");
  ASSIGN_OR_RETURN(a.inputs, HexField(j, "inputs"));
  ASSIGN_OR_RETURN(a.assigned, AddressField(j, "assigned"));
  ASSIGN_OR_RETURN(a.escrow, U64(j, "escrow"));
  ASSIGN_OR_RETURN(a.created_height, U64(j, "created_height"));
  ASSIGN_OR_RETURN(a.status, (EnumField<chain::AsyncStatus>(j, "status", 1, 3, chain::AsyncStatusName)));
  ASSIGN_OR_RETURN(a.receipt_id, OptionalHash(j, "receipt_id"));
  ASSIGN_OR_RETURN(a.closed_height, U64(j, "closed_height"));
  ASSIGN_OR_RETURN(a.workflow_id, U64(j, "workflow_id"));
  return a;
}

Result<chain::Challenge> ChallengeFromJson(const json& j) {
  chain::Challenge c;
  ASSIGN_OR_RETURN(c.receipt_id, HashField(j, "receipt_id"));
  ASSIGN_OR_RETURN(c.challenger, AddressField(j, "challenger"));
  ASSIGN_OR_RETURN(c.claimed_output_hash, HashField(j, "claimed_output_hash"));
  ASSIGN_OR_RETURN(c.inputs, HexField(j, "inputs"));
  ASSIGN_OR_RETURN(c.bond, U64(j, "bond"));
  ASSIGN_OR_RETURN(c.height, U64(j, "height"));
  ASSIGN_OR_RETURN(c.vote_deadline, U64(j, "vote_deadline"));
  ASSIGN_OR_RETURN(c.committee, AddressList(j, "committee"));
  ASSIGN_OR_RETURN(const json* votes, Field(j, "votes"));
  if (!votes->is_array()) return InvalidArgument("\"votes\" must be an array");
  for (const json& v : *votes) {
    chain::ChallengeVote vote;
    ASSIGN_OR_RETURN(vote.voter, AddressField(v, "voter"));
    ASSIGN_OR_RETURN(vote.output_hash, HashField(v, "output_hash"));
    ASSIGN_OR_RETURN(vote.height, U64(v, "height"));
    c.votes.push_back(vote);
  }
  ASSIGN_OR_RETURN(c.status, (EnumField<chain::ChallengeStatus>(j, "status", 1, 5, chain::ChallengeStatusName)));
  ASSIGN_OR_RETURN(c.decided_output_hash, OptionalHash(j, "decided_output_hash"));
  ASSIGN_OR_RETURN(c.closed_height, U64(j, "closed_height"));
  return c;
}

Result<chain::DataFeed> FeedFromJson(const json& j) {
  chain::DataFeed f;
  ASSIGN_OR_RETURN(f.name, Str(j, "name"));
  ASSIGN_OR_RETURN(f.owner, AddressField(j, "owner"));
  ASSIGN_OR_RETURN(f.posters, AddressList(j, "posters"));
  ASSIGN_OR_RETURN(f.value, HexField(j, "value"));
  ASSIGN_OR_RETURN(f.updated_height, U64(j, "updated_height"));
  return f;
}

Result<chain::HubRecord> HubFromJson(const json& j) {
  chain::HubRecord h;
  ASSIGN_OR_RETURN(h.address, AddressField(j, "address"));
  ASSIGN_OR_RETURN(h.ipfs_peer, Str(j, "ipfs_peer"));
  ASSIGN_OR_RETURN(h.endpoint, Str(j, "endpoint"));
  ASSIGN_OR_RETURN(h.bond, U64(j, "bond"));
  ASSIGN_OR_RETURN(h.registered_height, U64(j, "registered_height"));
  ASSIGN_OR_RETURN(h.updated_height, U64(j, "updated_height"));
  ASSIGN_OR_RETURN(h.pins, U64(j, "pins"));
  return h;
}

Result<chain::VersionReplication> ReplicationFromJson(const json& j) {
  chain::VersionReplication r;
  ASSIGN_OR_RETURN(std::string manifest, Str(j, "manifest"));
  ASSIGN_OR_RETURN(r.manifest, crypto::Cid::Parse(manifest));
  ASSIGN_OR_RETURN(r.repo, Str(j, "repo"));
  ASSIGN_OR_RETURN(uint64_t major, U64(j, "major"));
  ASSIGN_OR_RETURN(uint64_t minor, U64(j, "minor"));
  if (major > 0xffffffffu || minor > 0xffffffffu) return InvalidArgument("version number out of range");
  r.major = static_cast<uint32_t>(major);
  r.minor = static_cast<uint32_t>(minor);
  ASSIGN_OR_RETURN(r.min_replicas, U64(j, "min_replicas"));
  ASSIGN_OR_RETURN(const json* hubs, Field(j, "pinned_by"));
  if (!hubs->is_array()) return InvalidArgument("\"pinned_by\" must be an array");
  for (const json& h : *hubs) {
    chain::HubPin pin;
    ASSIGN_OR_RETURN(pin.hub, HubFromJson(h));
    ASSIGN_OR_RETURN(pin.height, U64(h, "pinned_height"));
    r.pinned_by.push_back(std::move(pin));
  }
  return r;
}

Result<chain::Workflow> WorkflowFromJson(const json& j) {
  chain::Workflow w;
  ASSIGN_OR_RETURN(w.id, U64(j, "id"));
  ASSIGN_OR_RETURN(w.owner, AddressField(j, "owner"));
  ASSIGN_OR_RETURN(const json* spec, Field(j, "spec"));
  protocol::CreateWorkflowTx& s = w.spec;
  ASSIGN_OR_RETURN(std::string model, Str(*spec, "model"));
  auto cid = crypto::Cid::Parse(model);
  if (!cid.ok()) return cid.status().WithContext("spec.model");
  s.model = *cid;
  ASSIGN_OR_RETURN(s.mode, ModeField(*spec, "mode"));
  ASSIGN_OR_RETURN(s.feed, Str(*spec, "feed"));
  ASSIGN_OR_RETURN(s.every_blocks, U64(*spec, "every_blocks"));
  ASSIGN_OR_RETURN(s.runs, U64(*spec, "runs"));
  ASSIGN_OR_RETURN(s.max_fee_per_run, U64(*spec, "max_fee_per_run"));
  ASSIGN_OR_RETURN(s.seed, U64(*spec, "seed"));
  ASSIGN_OR_RETURN(s.params, HexField(*spec, "params"));
  ASSIGN_OR_RETURN(w.created_height, U64(j, "created_height"));
  ASSIGN_OR_RETURN(w.next_height, U64(j, "next_height"));
  ASSIGN_OR_RETURN(w.runs_done, U64(j, "runs_done"));
  ASSIGN_OR_RETURN(w.escrow, U64(j, "escrow"));
  ASSIGN_OR_RETURN(const json* history, Field(j, "history"));
  if (!history->is_array()) return InvalidArgument("\"history\" must be an array");
  for (const json& r : *history) {
    chain::WorkflowRun run;
    ASSIGN_OR_RETURN(run.height, U64(r, "height"));
    ASSIGN_OR_RETURN(run.request_id, HashField(r, "request_id"));
    w.history.push_back(run);
  }
  return w;
}

Result<chain::StoredBlock> StoredBlockFromJson(const json& j) {
  chain::StoredBlock b;
  ASSIGN_OR_RETURN(Bytes header, HexField(j, "header_raw"));
  ASSIGN_OR_RETURN(b.header, protocol::SignedHeader::Decode(header));
  ASSIGN_OR_RETURN(const json* txs, Field(j, "txs"));
  if (!txs->is_array()) return InvalidArgument("\"txs\" must be an array");
  for (const json& t : *txs) {
    ASSIGN_OR_RETURN(Bytes raw, HexField(t, "raw"));
    b.txs.push_back(std::move(raw));
    if (t.contains("result")) {
      ASSIGN_OR_RETURN(chain::TxResult r, TxResultFromJson(t["result"]));
      r.height = b.header.header.height;
      b.results.push_back(std::move(r));
    }
  }
  if (!b.results.empty() && b.results.size() != b.txs.size()) return InvalidArgument("some txs lack a result");
  return b;
}

}  // namespace lucid::api
