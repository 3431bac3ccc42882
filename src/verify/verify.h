// One entry point to check a result, for every mode: used by validators when executing a
// SubmitResult, by `lucid verify` offline, and by the node before it submits.
// Thread-safety: free functions over values.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "crypto/merkle.h"
#include "protocol/types.h"
#include "tensor/tensor.h"

namespace lucid::verify {

struct Check {
  std::string name;    // e.g. "request_signature", "evidence", "inclusion"
  bool ok = false;
  std::string detail;  // why, in words
};

struct Verdict {
  std::vector<Check> checks;
  bool ok() const;
  void Add(std::string name, const Status& s, std::string ok_detail = "");
};

// A node's registered enclave as the chain records it (RegisterEnclaveTx), for tee evidence.
struct EnclaveView {
  crypto::Address enclave_address;  // address of the enclave's receipt-signing key
  Bytes pcr0;                       // its attested measurement
  uint64_t expires_at_ms = 0;       // registration block time + heartbeat
  bool pcr0_allowed = false;        // PCR0 still in the chain's allowed set (not revoked)
};

// What the verifier knows about the chain, from a trusted source (the chain's own state
// for validators; the signed header fetched by the client for `lucid verify`).
struct ChainView {
  std::string chain_id;
  bool node_registered_for_mode = false;   // from chain state
  // The model version's zkml commitment (chain state, or the CID-checked manifest offline);
  // zkml evidence is refused without it.
  std::optional<Hash32> zkml_commitment;
  // tee: the receipt node's enclave registration (none: tee evidence is refused) and the time
  // the registration's expiry is checked against (the block time for validators).
  std::optional<EnclaveView> enclave = std::nullopt;
  uint64_t time_ms = 0;
  // The request is an async request the chain recorded (docs/settlement.md): its signature is
  // not checked (workflow runs have none); the caller checked it equals the recorded one.
  bool request_on_chain = false;
};

// Request signature, receipt fields consistent with the request (chain, request hash,
// model, input hash, mode, node), node registration, and the mode's evidence.
Verdict VerifyResult(const protocol::SubmitResultTx& result, const ChainView& view);

// Evidence only (the per-mode part of VerifyResult). zkml: evidence.data is a zkml proof
// (zkml/zkml.h) about the model with zkml_commitment whose inputs and outputs hash to the
// receipt's input_hash and output_hash.
// vanilla and replay: evidence.data is the node's 65-byte signature over SigningDigest(receipt.Id()).
// tee: evidence.data is a 65-byte signature over SigningDigest(receipt.Id()) (the id covers
// the full request hash and output hash) recovering to enclave->enclave_address, with
// time_ms < enclave->expires_at_ms and enclave->pcr0_allowed.
Status VerifyEvidence(const protocol::Receipt& receipt, const protocol::Evidence& evidence,
                      const std::optional<Hash32>& zkml_commitment = std::nullopt,
                      const std::optional<EnclaveView>& enclave = std::nullopt, uint64_t time_ms = 0);

// Output tensors hash to the receipt's output_hash.
Status VerifyOutputs(const protocol::Receipt& receipt, const TensorMap& outputs);

// Receipt id included under a header's receipts_root, header signed by its proposer.
Status VerifyInclusion(const Hash32& receipt_id, const crypto::InclusionProof& proof,
                       const protocol::SignedHeader& header);

// Vanilla evidence: the node signs SigningDigest(receipt.Id()).
protocol::Evidence MakeVanillaEvidence(const protocol::Receipt& receipt, const crypto::PrivateKey& node_key);
// replay evidence: the node signs SigningDigest(receipt.Id()), as for vanilla.
protocol::Evidence MakeReplayEvidence(const protocol::Receipt& receipt, const crypto::PrivateKey& node_key);
// tee evidence: the enclave key signs SigningDigest(receipt.Id()).
protocol::Evidence MakeTeeEvidence(const protocol::Receipt& receipt, const crypto::PrivateKey& enclave_key);

}  // namespace lucid::verify
