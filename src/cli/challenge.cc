// `lucid challenge`, `lucid query challenge` and `lucid report-conflict` (docs/settlement.md
// "Replay mode", "Slashing evidence"): a replay receipt is disputed only after re-executing it
// here with the Lucid engine (cli/hub_fetch.h) and finding another output; the chain's
// committee then re-executes it too and decides. Two receipts one node signed for the same
// request with different outputs are sent as conflict evidence.
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

#include "cli/cli_util.h"
#include "cli/commands.h"
#include "cli/hub_fetch.h"
#include "protocol/types.h"
#include "tensor/tensor_json.h"

namespace lucid::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

Result<Hash32> ParseHash32(const std::string& text, std::string_view what) {
  ASSIGN_OR_RETURN(Bytes b, FromHex(text));
  if (b.size() != 32) return InvalidArgument(std::string(what) + " is not 32 bytes of hex");
  Hash32 h{};
  std::copy(b.begin(), b.end(), h.begin());
  return h;
}

Result<protocol::Receipt> DecodeReceiptHex(const json& j, const char* field) {
  if (!j.contains(field) || !j[field].is_string()) return InvalidArgument(std::string("no \"") + field + "\"");
  ASSIGN_OR_RETURN(Bytes b, FromHex(j[field].get<std::string>()));
  return protocol::Receipt::Decode(b);
}

// The inputs of a receipt: the bundle's (saved by `lucid infer`, or --bundle), else the async
// request's on chain (then the challenge need not carry them).
struct ChallengeInputs {
  TensorMap tensors;
  Bytes to_send;  // empty: the chain has them
  std::string source;
};
Result<ChallengeInputs> InputsFor(const Context& ctx, const std::string& receipt_id, const protocol::Receipt& rec,
                                  const std::string& bundle_file) {
  std::string path = bundle_file;
  if (path.empty()) {
    const std::string saved = (fs::path(ctx.home) / "results" / (receipt_id + ".json")).string();
    if (fs::exists(saved)) path = saved;
  }
  if (!path.empty()) {
    ASSIGN_OR_RETURN(json bundle, ReadJsonFile(path));
    if (bundle.contains("inputs")) {
      ASSIGN_OR_RETURN(TensorMap inputs, TensorMapFromJson(bundle["inputs"]));
      if (HashTensorMap(inputs) != rec.input_hash)
        return DataLoss("the inputs in " + path + " do not hash to the receipt's input_hash");
      Bytes bytes = EncodeTensorMap(inputs);
      return ChallengeInputs{std::move(inputs), std::move(bytes), path};
    }
  }
  auto async = ctx.api().Get("/chain/requests/" + ToHex(rec.request_hash));
  if (!async.ok())
    return NotFound("no inputs for receipt " + receipt_id + ": no bundle with inputs" +
                    (bundle_file.empty() ? " in " + (fs::path(ctx.home) / "results").string() : "") +
                    " and the request is not an async request on chain");
  ASSIGN_OR_RETURN(Bytes bytes, FromHex((*async)["inputs"].get<std::string>()));
  ASSIGN_OR_RETURN(TensorMap inputs, DecodeTensorMap(bytes));
  // The API is not trusted for them: a wrong copy would make the local re-execution differ and
  // the challenge (and its bond) be lost.
  if (HashTensorMap(inputs) != rec.input_hash)
    return DataLoss("the async request's inputs from " + ctx.node_url + " do not hash to the receipt's input_hash");
  return ChallengeInputs{std::move(inputs), Bytes{}, "the async request on chain"};
}

void PrintChallenge(const json& c) {
  std::cout << "challenge of receipt " << c["receipt_id"].get<std::string>() << ": " << c["status"].get<std::string>()
            << "\n  challenger " << c["challenger"].get<std::string>() << ", bond " << c["bond"] << ", claims output "
            << c["claimed_output_hash"].get<std::string>() << "\n  committee";
  for (const auto& m : c["committee"]) std::cout << " " << m.get<std::string>();
  std::cout << ", votes until block " << c["vote_deadline"] << "\n";
  for (const auto& v : c["votes"])
    std::cout << "  vote " << v["voter"].get<std::string>() << " -> " << v["output_hash"].get<std::string>()
              << " (block " << v["height"] << ")\n";
  if (c.contains("decided_output_hash"))
    std::cout << "  decided: " << c["decided_output_hash"].get<std::string>() << " at block " << c["closed_height"]
              << "\n";
}

}  // namespace

int Challenge(const Context& ctx, const std::string& receipt_id, const ChallengeOptions& opts) {
  ApiClient api = ctx.api();
  auto record = api.Get("/chain/receipts/" + receipt_id);
  if (!record.ok()) return Fail(ctx, record.status(), "check the receipt id with `lucid query receipt ID`");
  auto rec = DecodeReceiptHex((*record)["raw"], "receipt");
  if (!rec.ok()) return Fail(ctx, rec.status().WithContext("the chain's receipt"));
  if (rec->mode != protocol::Mode::kReplay)
    return Fail(ctx, FailedPrecondition("receipt " + receipt_id + " is a " + std::string(protocol::ModeName(rec->mode)) +
                                        " receipt; only replay receipts can be challenged"),
                "check it with `lucid verify " + receipt_id + " --replay` instead");
  const std::string settlement = record->value("settlement", "final");
  if (settlement != "pending")
    return Fail(ctx, FailedPrecondition("receipt " + receipt_id + " is " + settlement + ", not pending"),
                settlement == "challenged" ? "follow it with `lucid query challenge " + receipt_id + "`" : "");

  auto inputs = InputsFor(ctx, receipt_id, *rec, opts.bundle_file);
  if (!inputs.ok()) return Fail(ctx, inputs.status(), "pass the result bundle with its inputs: --bundle FILE");
  Hash32 claimed{};
  std::string why;
  if (!opts.claim.empty()) {
    auto c = ParseHash32(opts.claim, "--claim");
    if (!c.ok()) return Fail(ctx, c.status());
    claimed = *c;
    why = "claimed with --claim (not re-executed here)";
  } else {
    auto outputs = ReexecuteLocally(api, *rec, inputs->tensors);
    if (!outputs.ok()) return Fail(ctx, outputs.status().WithContext("re-executing"));
    claimed = HashTensorMap(*outputs);
    if (claimed == rec->output_hash) {
      json out = {{"receipt_id", receipt_id}, {"challenged", false}, {"output_hash", ToHex(claimed)},
                  {"detail", "re-executed locally: the same output as the receipt; nothing to challenge"}};
      if (ctx.json_output) return PrintJson(out), kExitOk;
      std::cout << "re-executed locally: output " << ToHex(claimed)
                << " is the receipt's; nothing to challenge\n";
      return kExitOk;
    }
    why = "re-executed locally: output " + ToHex(claimed) + ", the receipt says " + ToHex(rec->output_hash);
  }
  if (!ctx.json_output) std::cerr << why << "; inputs from " << inputs->source << "\n";

  Hash32 id{};
  if (auto parsed = ParseHash32(receipt_id, "receipt id"); parsed.ok()) id = *parsed;
  auto sent = SendTx(ctx, protocol::ChallengeTx{id, claimed, inputs->to_send});
  if (!sent.ok()) return Fail(ctx, sent.status(), "a challenge bonds params.settlement.challenge_bond from --from");
  auto challenge = api.Get("/chain/challenges/" + receipt_id);
  if (!challenge.ok()) return Fail(ctx, challenge.status().WithContext("reading the challenge"));
  if (opts.wait) {
    // Decided by a committee majority, or void at the vote deadline.
    while ((*challenge)["status"] == "open") {
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      challenge = api.Get("/chain/challenges/" + receipt_id);
      if (!challenge.ok()) return Fail(ctx, challenge.status().WithContext("waiting for the committee"));
    }
  }
  if (ctx.json_output) return PrintJson({{"receipt_id", receipt_id}, {"challenged", true}, {"reason", why},
                                         {"challenge", *challenge}}), kExitOk;
  PrintChallenge(*challenge);
  if ((*challenge)["status"] == "open")
    std::cout << "follow it with: lucid query challenge " << receipt_id << "\n";
  return kExitOk;
}

int QueryChallenge(const Context& ctx, const std::string& receipt_id) {
  auto c = ctx.api().Get("/chain/challenges/" + receipt_id);
  if (!c.ok()) return Fail(ctx, c.status(), "challenge a replay receipt with `lucid challenge RECEIPT_ID`");
  if (ctx.json_output) return PrintJson(*c), kExitOk;
  PrintChallenge(*c);
  return kExitOk;
}

int ReportConflict(const Context& ctx, const std::string& bundle_a, const std::string& bundle_b) {
  protocol::ReportConflictTx body;
  int i = 0;
  for (const std::string& path : {bundle_a, bundle_b}) {
    auto bundle = ReadJsonFile(path);
    if (!bundle.ok()) return Fail(ctx, bundle.status());
    auto rec = DecodeReceiptHex(*bundle, "receipt");
    if (!rec.ok()) return Fail(ctx, rec.status().WithContext(path));
    if (!bundle->contains("evidence") || !(*bundle)["evidence"].is_string())
      return Fail(ctx, InvalidArgument(path + ": no \"evidence\""));
    auto ev_bytes = FromHex((*bundle)["evidence"].get<std::string>());
    auto ev = ev_bytes.ok() ? protocol::Evidence::Decode(*ev_bytes) : Result<protocol::Evidence>(ev_bytes.status());
    if (!ev.ok()) return Fail(ctx, ev.status().WithContext(path));
    (i++ == 0 ? body.first : body.second) = *rec;
    (i == 1 ? body.first_evidence : body.second_evidence) = *ev;
  }
  auto sent = SendTx(ctx, body);
  if (!sent.ok())
    return Fail(ctx, sent.status(),
                "the two receipts must be one node's, for one request and engine, with different outputs");
  auto node = ctx.api().Get("/chain/nodes/" + body.first.node.ToHex());
  json out = {{"node", body.first.node.ToHex()}, {"request_hash", ToHex(body.first.request_hash)},
              {"height", (*sent)["height"]}};
  if (node.ok()) {
    out["stake"] = (*node)["stake"];
    out["jailed"] = (*node).value("jailed", false);
    out["slashed"] = (*node).value("slashed", 0);
  }
  if (ctx.json_output) return PrintJson(out), kExitOk;
  std::cout << "node " << body.first.node.ToHex() << " slashed and jailed in block " << (*sent)["height"];
  if (node.ok()) std::cout << ": stake now " << out["stake"] << ", slashed in total " << out["slashed"];
  std::cout << "\n";
  return kExitOk;
}

}  // namespace lucid::cli
