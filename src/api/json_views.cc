#include "api/json_views.h"


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
  return {{"version", std::to_string(v.major) + "." + std::to_string(v.minor)},
          {"manifest", v.manifest.ToString()},
          {"price", v.price},
          {"height", v.height}};
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
          {"endpoint", n.endpoint}, {"registered_height", n.registered_height}};
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
        }
      },
      tx.body);
  return j;
}

}  // namespace lucid::api
