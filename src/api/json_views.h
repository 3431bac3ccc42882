// JSON views of protocol and chain values, for the HTTP API and the CLI's --json output.
// Views are for reading; what is signed or hashed always travels as canonical bytes (hex).
#pragma once

#include <nlohmann/json.hpp>

#include "chain/app.h"
#include "crypto/merkle.h"

namespace lucid::api {

using nlohmann::json;

json RequestJson(const protocol::InferenceRequest& r);
json ReceiptJson(const protocol::Receipt& r);
json HeaderJson(const protocol::SignedHeader& h);
json AccountJson(const chain::Account& a);
json RepoJson(const chain::Repo& r);
json VersionJson(const chain::VersionEntry& v);
json NodeJson(const chain::NodeInfo& n);
json TxResultJson(const chain::TxResult& r);
json ProofJson(const crypto::InclusionProof& p);
Result<crypto::InclusionProof> ProofFromJson(const json& j);
json GenesisJson(const chain::Genesis& g);
Result<chain::Genesis> GenesisFromJson(const json& j);
json TxJson(const protocol::SignedTx& tx);

}  // namespace lucid::api
