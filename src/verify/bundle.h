// The checks of a result bundle, one sequence for every verifier that shows them to a person:
// `lucid verify` (src/cli) and the node's web verify page (src/api/web.cc). A bundle is what a
// client holds about one inference: the signed request, the receipt, the evidence, optionally
// the input and output tensors, and the inclusion proof with the signed header of the
// receipt's block. The caller decodes the pieces and looks up chain state from a source it
// trusts; CheckBundle runs the checks in a fixed order:
//   bundle_decodes, receipt_id, [enclave_registration], VerifyResult's checks, inputs_hash,
//   outputs_hash, inclusion (or the caller's inclusion checks), header_signer, [the caller's
//   comparison with the chain].
// Thread-safety: free functions over values; the callbacks run on the caller's thread.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/merkle.h"
#include "protocol/types.h"
#include "tensor/tensor.h"
#include "verify/verify.h"

namespace lucid::verify {

// One line of a report: a check, or one skipped for want of what it checks (counts as ok).
struct ReportCheck {
  std::string name;
  bool ok = false;
  bool skipped = false;
  std::string detail;  // the ok detail, or why it failed (the status's message)
};

struct Report {
  std::vector<ReportCheck> checks;
  // No check failed.
  bool ok() const;
  // detail: ok_detail when s is OK, else s.message().
  void Add(std::string name, const Status& s, std::string ok_detail);
  void Skip(std::string name, std::string why);
};

// What the chain says about a decoded result, from the caller's trusted source.
struct ChainFacts {
  ChainView view;
  // tee: whether the enclave registration the evidence is checked against could be
  // established (nullopt: no enclave_registration check, e.g. other modes), and the detail
  // shown when it was.
  std::optional<Status> enclave_registration;
  std::string enclave_registration_detail;
  // replay: the receipt's settlement on chain (docs/settlement.md): OK once final; an error
  // while its challenge window is open, while challenged, or once overturned. nullopt: other
  // modes (no settlement check).
  std::optional<Status> settlement;
  std::string settlement_detail;
};

// The settlement check of a replay receipt from the chain's receipt record fields
// (settlement: final, pending, challenged or overturned; final_height: end of its window).
Status ReplaySettlement(std::string_view settlement, uint64_t final_height);

// A bundle as the caller holds it. Decode errors carry their context ("request: ...");
// a piece not held is an error saying so.
struct Bundle {
  Hash32 receipt_id{};
  Result<protocol::SignedRequest> request = NotFound("no request");
  Result<protocol::Receipt> receipt = NotFound("no receipt");
  Result<protocol::Evidence> evidence = NotFound("no evidence");
  // nullopt: not held (the check is skipped); else the tensors or why they do not decode.
  std::optional<Result<TensorMap>> inputs;
  std::optional<Result<TensorMap>> outputs;
  // The receipt's inclusion proof and its block's signed header, or why there are none.
  Result<crypto::InclusionProof> proof = NotFound("no inclusion proof");
  Result<protocol::SignedHeader> header = NotFound("no block header");
};

// The texts that differ between verifiers (where the pieces came from); "{block}" stands for
// the header's height.
struct ReportWording {
  std::string decodes = "request, receipt and evidence decode canonically";
  std::string inputs_not_held = "inputs not held locally";
  std::string outputs_not_held = "outputs not held locally";
  std::string inclusion = "receipt is in the receipts root of a signed block header";
  std::string header_signer = "block {block} signed by a genesis validator";
  std::string unknown_proposer = "is not a validator of the trusted genesis";
};

struct BundleCheckOptions {
  // The trusted chain id and validator set (a genesis).
  std::string chain_id;
  std::vector<crypto::Address> validators;
  // Chain state for the decoded result (node registration, zkml commitment, tee enclave).
  std::function<ChainFacts(const protocol::SubmitResultTx&)> chain_facts;
  // Set: replaces the inclusion and header_signer checks (e.g. a CometBFT commit check).
  std::function<void(const Hash32& receipt_id, const crypto::InclusionProof&, const protocol::BlockHeader&,
                     Report&)>
      check_inclusion;
  // Set: adds the comparison of the bundle with the chain's records, last; header is null when
  // the bundle's header did not decode.
  std::function<void(const protocol::SubmitResultTx&, const protocol::SignedHeader* header, Report&)> compare_with_chain;
  ReportWording wording;
};

// The checks above. When the request, receipt or evidence does not decode, the report holds
// bundle_decodes alone (failed).
Report CheckBundle(const Bundle& bundle, const BundleCheckOptions& options);

}  // namespace lucid::verify
