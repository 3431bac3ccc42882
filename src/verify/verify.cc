#include "verify/verify.h"

#include <algorithm>

#include "crypto/hash.h"
#include "verify/sig_cache.h"
#include "zkml/zkml.h"

namespace lucid::verify {
namespace {

using protocol::Mode;

bool IsZero(const crypto::Address& a) {
  return std::all_of(a.bytes.begin(), a.bytes.end(), [](uint8_t b) { return b == 0; });
}

Status CheckChainId(const protocol::SubmitResultTx& result, const ChainView& view) {
  if (result.request.request.chain_id != view.chain_id)
    return InvalidArgument("request chain id \"" + result.request.request.chain_id + "\" is not \"" +
                           view.chain_id + "\"");
  if (result.receipt.chain_id != view.chain_id)
    return InvalidArgument("receipt chain id \"" + result.receipt.chain_id + "\" is not \"" + view.chain_id + "\"");
  return Status::Ok();
}

Status CheckReceiptMatchesRequest(const protocol::InferenceRequest& request, const protocol::Receipt& receipt) {
  const Hash32 request_hash = request.Hash();
  if (receipt.request_hash != request_hash)
    return InvalidArgument("receipt request_hash " + ToHex(receipt.request_hash) + " is not the request's hash " +
                           ToHex(request_hash));
  if (receipt.model != request.model)
    return InvalidArgument("receipt model " + receipt.model.ToString() + " is not the requested model " +
                           request.model.ToString());
  if (receipt.input_hash != request.input_hash)
    return InvalidArgument("receipt input_hash " + ToHex(receipt.input_hash) + " is not the request's input_hash " +
                           ToHex(request.input_hash));
  if (receipt.mode != request.mode)
    return InvalidArgument("receipt mode " + std::string(protocol::ModeName(receipt.mode)) +
                           " is not the requested mode " + std::string(protocol::ModeName(request.mode)));
  if (!IsZero(request.node) && receipt.node != request.node)
    return PermissionDenied("receipt node " + receipt.node.ToHex() + " is not the node the request names " +
                            request.node.ToHex());
  return Status::Ok();
}

Status CheckFee(const protocol::InferenceRequest& request, const protocol::Receipt& receipt) {
  if (receipt.fee > request.max_fee)
    return FailedPrecondition("receipt fee " + std::to_string(receipt.fee) + " exceeds the request's max_fee " +
                              std::to_string(request.max_fee));
  return Status::Ok();
}

// Exactly 65 bytes, recovery id 0/1 (one encoding per signature), recovering to expected
// over SigningDigest(hash).
Status CheckSignatureBytes(ByteView data, const Hash32& hash, const crypto::Address& expected,
                           std::string_view what) {
  if (data.size() != 65)
    return InvalidArgument(std::string(what) + " signature must be 65 bytes, got " + std::to_string(data.size()));
  crypto::Signature sig;
  std::copy(data.begin(), data.end(), sig.begin());
  if (sig[64] > 1)
    return InvalidArgument(std::string(what) + " signature recovery id " + std::to_string(sig[64]) +
                           " is not 0 or 1");
  return CheckSignerCached(hash, sig, expected, what);
}

}  // namespace

bool Verdict::ok() const {
  // No checks means nothing was verified: never a pass.
  return !checks.empty() && std::all_of(checks.begin(), checks.end(), [](const Check& c) { return c.ok; });
}

void Verdict::Add(std::string name, const Status& s, std::string ok_detail) {
  checks.push_back({std::move(name), s.ok(), s.ok() ? std::move(ok_detail) : s.ToString()});
}

Verdict VerifyResult(const protocol::SubmitResultTx& result, const ChainView& view) {
  const auto& request = result.request.request;
  const auto& receipt = result.receipt;
  Verdict v;
  if (view.request_on_chain) {
    // Async requests: the chain holds the request (posted by the requester's signed tx, or made
    // by a workflow run); the caller compared it with the stored one.
    v.Add("request_signature", Status::Ok(), "request recorded on chain (async request " + ToHex(request.Hash()) + ")");
  } else {
    v.Add("request_signature",
          CheckSignerCached(request.Hash(), result.request.signature, request.requester, "request"),
          "signed by requester " + request.requester.ToHex());
  }
  v.Add("chain_id", CheckChainId(result, view), "chain " + view.chain_id);
  v.Add("receipt_matches_request", CheckReceiptMatchesRequest(request, receipt),
        "request hash, model, input, mode and node agree");
  v.Add("fee_within_max", CheckFee(request, receipt),
        "fee " + std::to_string(receipt.fee) + " <= max_fee " + std::to_string(request.max_fee));
  v.Add("node_registered",
        view.node_registered_for_mode
            ? Status::Ok()
            : FailedPrecondition("node " + receipt.node.ToHex() + " is not registered for mode " +
                                 std::string(protocol::ModeName(receipt.mode))),
        "node " + receipt.node.ToHex() + " registered for " + std::string(protocol::ModeName(receipt.mode)));
  v.Add("evidence", VerifyEvidence(receipt, result.evidence, view.zkml_commitment, view.enclave, view.time_ms),
        std::string(protocol::ModeName(receipt.mode)) + " evidence valid for receipt " + ToHex(receipt.Id()));
  return v;
}

Status VerifyZkmlEvidence(const protocol::Receipt& receipt, ByteView proof,
                          const std::optional<Hash32>& zkml_commitment) {
  if (!zkml_commitment)
    return FailedPrecondition("model " + receipt.model.ToString() + " has no zkml commitment: it was not published for zkml");
  ASSIGN_OR_RETURN(zkml::VerifiedProof verified, zkml::Verify(proof, *zkml_commitment));
  if (HashTensorMap(verified.inputs) != receipt.input_hash)
    return InvalidArgument("the zkml proof is about other inputs than the receipt's input_hash");
  if (HashTensorMap(verified.outputs) != receipt.output_hash)
    return InvalidArgument("the zkml proof's outputs do not hash to the receipt's output_hash");
  return Status::Ok();
}

Status VerifyTeeEvidence(const protocol::Receipt& receipt, ByteView signature,
                         const std::optional<EnclaveView>& enclave, uint64_t time_ms) {
  if (!enclave)
    return FailedPrecondition("node " + receipt.node.ToHex() + " has no registered enclave");
  if (time_ms >= enclave->expires_at_ms)
    return FailedPrecondition("enclave registration of node " + receipt.node.ToHex() + " expired at " +
                              std::to_string(enclave->expires_at_ms) + " ms (time " + std::to_string(time_ms) +
                              "): the enclave must re-attest");
  if (!enclave->pcr0_allowed)
    return PermissionDenied("enclave measurement PCR0 " + ToHex(enclave->pcr0) +
                            " is no longer allowed (revoked)");
  return CheckSignatureBytes(signature, receipt.Id(), enclave->enclave_address, "enclave");
}

Status VerifyEvidence(const protocol::Receipt& receipt, const protocol::Evidence& evidence,
                      const std::optional<Hash32>& zkml_commitment, const std::optional<EnclaveView>& enclave,
                      uint64_t time_ms) {
  if (evidence.mode != receipt.mode)
    return InvalidArgument("evidence mode " + std::string(protocol::ModeName(evidence.mode)) +
                           " is not the receipt's mode " + std::string(protocol::ModeName(receipt.mode)));
  switch (evidence.mode) {
    case Mode::kVanilla:
      return CheckSignatureBytes(evidence.data, receipt.Id(), receipt.node, "node");
    case Mode::kZkml:
      return VerifyZkmlEvidence(receipt, evidence.data, zkml_commitment);
    case Mode::kTee:
      return VerifyTeeEvidence(receipt, evidence.data, enclave, time_ms);
    case Mode::kReplay:
      // The node's signature binds it to the output; what makes the output trustworthy is the
      // challenge window on chain (docs/settlement.md): the receipt record's settlement status.
      return CheckSignatureBytes(evidence.data, receipt.Id(), receipt.node, "node");
  }
  return InvalidArgument("unknown evidence mode " + std::to_string(static_cast<int>(evidence.mode)));
}

Status VerifyOutputs(const protocol::Receipt& receipt, const TensorMap& outputs) {
  const Hash32 actual = HashTensorMap(outputs);
  if (actual != receipt.output_hash)
    return DataLoss("outputs hash to " + ToHex(actual) + " but the receipt's output_hash is " +
                    ToHex(receipt.output_hash));
  return Status::Ok();
}

Status VerifyInclusion(const Hash32& receipt_id, const crypto::InclusionProof& proof,
                       const protocol::SignedHeader& header) {
  const auto& h = header.header;
  RETURN_IF_ERROR(CheckSignatureBytes(header.signature, h.Hash(), h.proposer,
                                      "block proposer")
                      .WithContext("header " + std::to_string(h.height)));
  // The audit path alone does not pin the tree size; the signed header does.
  if (proof.tree_size != h.receipt_count)
    return InvalidArgument("proof is for a tree of " + std::to_string(proof.tree_size) + " receipts but block " +
                           std::to_string(h.height) + " holds " + std::to_string(h.receipt_count));
  // receipts_root leaves are MerkleLeafHash(receipt id bytes), in block order.
  Status s = crypto::MerkleVerify(crypto::MerkleLeafHash(receipt_id), proof, h.receipts_root);
  if (!s.ok())
    return s.WithContext("receipt " + ToHex(receipt_id) + " not included under block " + std::to_string(h.height) +
                         " receipts_root");
  return Status::Ok();
}

protocol::Evidence MakeVanillaEvidence(const protocol::Receipt& receipt, const crypto::PrivateKey& node_key) {
  const crypto::Signature sig = node_key.Sign(protocol::SigningDigest(receipt.Id()));
  return protocol::Evidence{protocol::Mode::kVanilla, Bytes(sig.begin(), sig.end())};
}

protocol::Evidence MakeReplayEvidence(const protocol::Receipt& receipt, const crypto::PrivateKey& node_key) {
  const crypto::Signature sig = node_key.Sign(protocol::SigningDigest(receipt.Id()));
  return protocol::Evidence{protocol::Mode::kReplay, Bytes(sig.begin(), sig.end())};
}

protocol::Evidence MakeTeeEvidence(const protocol::Receipt& receipt, const crypto::PrivateKey& enclave_key) {
  const crypto::Signature sig = enclave_key.Sign(protocol::SigningDigest(receipt.Id()));
  return protocol::Evidence{protocol::Mode::kTee, Bytes(sig.begin(), sig.end())};
}

}  // namespace lucid::verify
