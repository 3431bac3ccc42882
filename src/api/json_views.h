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
json EnclaveJson(const chain::EnclaveInfo& e);
json TeeParamsJson(const chain::TeeParams& t);  // the mutable part (what /chain/tee/params serves)
// Async requests, replay challenges, data feeds and workflows (docs/settlement.md). Canonical
// values travel as hex ("raw" request bytes, inputs, feed value) next to their readable views.
json AsyncRequestJson(const chain::AsyncRequest& a);
json ChallengeJson(const chain::Challenge& c);
json FeedJson(const chain::DataFeed& f);
json WorkflowJson(const chain::Workflow& w);
// Hub replication (docs/ipfs.md "Replication").
json HubJson(const chain::HubRecord& h);
json ReplicationJson(const chain::VersionReplication& r);
// The settlement part of a receipt record (GET /chain/receipts/ID): settlement, final_height, held.
void AddSettlementJson(const chain::ReceiptRecord& rec, json& j);

// The inverse views, for a client that works on the API's answers as chain values (the
// standalone node's RemoteChainAccess). Each refuses a missing or mistyped field by name.
Result<chain::Account> AccountFromJson(const json& j);
Result<chain::VersionEntry> VersionFromJson(const json& j);
Result<chain::Repo> RepoFromJson(const json& j);
Result<chain::NodeInfo> NodeFromJson(const json& j);
Result<chain::TxResult> TxResultFromJson(const json& j);
Result<chain::EnclaveInfo> EnclaveFromJson(const json& j);
Result<chain::TeeParams> TeeParamsFromJson(const json& j);
// From GET /chain/receipts/ID (its "raw" canonical bytes, not the views; settlement,
// final_height and held when present, else a final receipt).
Result<chain::ReceiptRecord> ReceiptRecordFromJson(const json& j);
// The request's raw bytes must hash to "id" (DataLoss otherwise).
Result<chain::AsyncRequest> AsyncRequestFromJson(const json& j);
Result<chain::Challenge> ChallengeFromJson(const json& j);
Result<chain::DataFeed> FeedFromJson(const json& j);
Result<chain::Workflow> WorkflowFromJson(const json& j);
Result<chain::HubRecord> HubFromJson(const json& j);
Result<chain::VersionReplication> ReplicationFromJson(const json& j);
// From GET /chain/blocks/H (header_raw, each tx's raw bytes and result).
Result<chain::StoredBlock> StoredBlockFromJson(const json& j);

}  // namespace lucid::api
