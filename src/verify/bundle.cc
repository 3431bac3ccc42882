#include "verify/bundle.h"

#include <algorithm>

namespace lucid::verify {
namespace {

std::string WithBlock(std::string text, uint64_t height) {
  const std::string mark = "{block}";
  for (size_t at = text.find(mark); at != std::string::npos; at = text.find(mark, at))
    text.replace(at, mark.size(), std::to_string(height));
  return text;
}

}  // namespace

bool Report::ok() const {
  return std::all_of(checks.begin(), checks.end(), [](const ReportCheck& c) { return c.ok; });
}

void Report::Add(std::string name, const Status& s, std::string ok_detail) {
  checks.push_back({std::move(name), s.ok(), false, s.ok() ? std::move(ok_detail) : s.message()});
}

void Report::Skip(std::string name, std::string why) { checks.push_back({std::move(name), true, true, std::move(why)}); }

Status ReplaySettlement(std::string_view settlement, uint64_t final_height) {
  const std::string at = " (challenge window ends at block " + std::to_string(final_height) + ")";
  if (settlement == "final") return Status::Ok();
  if (settlement == "pending")
    return FailedPrecondition("not final yet: a replay result can be challenged until block " +
                              std::to_string(final_height));
  if (settlement == "challenged")
    return FailedPrecondition("challenged: a committee is re-executing it" + at);
  if (settlement == "overturned")
    return DataLoss("overturned: the challenge committee found another output; the requester was refunded");
  return InvalidArgument("unknown settlement '" + std::string(settlement) + "'");
}

Report CheckBundle(const Bundle& bundle, const BundleCheckOptions& options) {
  const ReportWording& words = options.wording;
  Report report;
  const Status decoded = !bundle.request.ok()    ? bundle.request.status()
                         : !bundle.receipt.ok()  ? bundle.receipt.status()
                         : !bundle.evidence.ok() ? bundle.evidence.status()
                                                 : Status::Ok();
  report.Add("bundle_decodes", decoded, words.decodes);
  if (!decoded.ok()) return report;
  const protocol::SubmitResultTx result{*bundle.request, *bundle.receipt, *bundle.evidence};
  const protocol::Receipt& rec = result.receipt;
  const Hash32& id = bundle.receipt_id;

  report.Add("receipt_id",
             rec.Id() == id ? Status::Ok() : DataLoss("receipt hashes to " + ToHex(rec.Id()) + ", not " + ToHex(id)),
             "receipt hashes to the id asked for");

  ChainFacts facts = options.chain_facts ? options.chain_facts(result) : ChainFacts{};
  if (facts.enclave_registration)
    report.Add("enclave_registration", *facts.enclave_registration, facts.enclave_registration_detail);
  for (const Check& c : VerifyResult(result, facts.view).checks) report.checks.push_back({c.name, c.ok, false, c.detail});
  if (facts.settlement) report.Add("settlement", *facts.settlement, facts.settlement_detail);

  if (!bundle.inputs) {
    report.Skip("inputs_hash", words.inputs_not_held);
  } else {
    const Result<TensorMap>& inputs = *bundle.inputs;
    report.Add("inputs_hash",
               !inputs.ok() ? inputs.status()
               : HashTensorMap(*inputs) == result.request.request.input_hash
                   ? Status::Ok()
                   : DataLoss("inputs do not hash to the signed request's input_hash"),
               "inputs hash to the signed request");
  }
  if (!bundle.outputs) {
    report.Skip("outputs_hash", words.outputs_not_held);
  } else {
    const Result<TensorMap>& outputs = *bundle.outputs;
    report.Add("outputs_hash", outputs.ok() ? VerifyOutputs(rec, *outputs) : outputs.status(),
               "outputs hash to the signed receipt");
  }

  // Inclusion: the proof leads to the receipts root of the block's header, signed by its
  // proposer, a validator of the trusted genesis (or the caller's check, e.g. a CometBFT commit).
  const Status held = !bundle.proof.ok() ? bundle.proof.status() : bundle.header.status();
  if (options.check_inclusion) {
    if (held.ok()) options.check_inclusion(id, *bundle.proof, bundle.header->header, report);
    else report.Add("inclusion", held, "");
  } else {
    report.Add("inclusion", held.ok() ? VerifyInclusion(id, *bundle.proof, *bundle.header) : held,
               held.ok() ? WithBlock(words.inclusion, bundle.header->header.height) : "");
    if (bundle.header.ok()) {
      const protocol::BlockHeader& h = bundle.header->header;
      const bool known = std::find(options.validators.begin(), options.validators.end(), h.proposer) !=
                         options.validators.end();
      report.Add("header_signer",
                 h.chain_id != options.chain_id ? PermissionDenied("header is for chain " + h.chain_id)
                 : known                        ? Status::Ok()
                         : PermissionDenied("header proposer " + h.proposer.ToHex() + " " + words.unknown_proposer),
                 WithBlock(words.header_signer, h.height));
    }
  }
  if (options.compare_with_chain)
    options.compare_with_chain(result, bundle.header.ok() ? &*bundle.header : nullptr, report);
  return report;
}

}  // namespace lucid::verify
