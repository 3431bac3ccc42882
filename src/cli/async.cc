// `lucid infer --async`, `lucid query request` and `lucid query node` (docs/settlement.md
// "Async requests"): the request goes on chain (RequestInferenceTx: signed request + canonical
// input bytes, max fee escrowed), the chain assigns a node, the node's watcher answers it with a
// SubmitResult; the chain records only the outputs' hash, so the outputs come from the assigned
// node's API (GET /node/results/ID) and are checked against the receipt here.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "api/json_views.h"
#include "cli/cli_util.h"
#include "cli/commands.h"
#include "node/inference_node.h"
#include "protocol/types.h"
#include "tensor/tensor_json.h"
#include "verify/verify.h"

namespace lucid::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;



// The outputs of an answered request from its node's API, checked against the receipt.
Result<json> FetchOutputs(const ApiClient& api, const protocol::Receipt& receipt, const std::string& receipt_id) {
  ASSIGN_OR_RETURN(json node, api.Get("/chain/nodes/" + receipt.node.ToHex()));
  const std::string endpoint = node.value("endpoint", "");
  if (endpoint.empty()) return NotFound("node " + receipt.node.ToHex() + " registered no endpoint");
  ASSIGN_OR_RETURN(json r, ApiClient(endpoint).Get("/node/results/" + receipt_id));
  if (!r.contains("outputs")) return DataLoss("node " + endpoint + " answered no \"outputs\"");
  ASSIGN_OR_RETURN(TensorMap outputs, TensorMapFromJson(r["outputs"]));
  RETURN_IF_ERROR(verify::VerifyOutputs(receipt, outputs).WithContext("outputs from " + endpoint));
  return r["outputs"];
}

}  // namespace

int InferAsync(const Context& ctx, const std::string& ref, const InferOptions& opts) {
  ApiClient api = ctx.api();
  auto key = ctx.FromKey();
  if (!key.ok()) return Fail(ctx, key.status());
  auto mode = protocol::ModeFromName(opts.mode);
  if (!mode.ok()) return Fail(ctx, mode.status());
  if (opts.input_file.empty())
    return Fail(ctx, InvalidArgument("--async takes --input FILE (ONNX versions)"),
                "for a GGUF (LLM) version, run it without --async");
  if (opts.deadline_blocks == 0) return Fail(ctx, InvalidArgument("--deadline-blocks must be at least 1"));
  auto entry = api.Get("/chain/models/" + ref);
  if (!entry.ok()) return Fail(ctx, entry.status(), "see the models with `lucid hub list`");
  auto cid = crypto::Cid::Parse((*entry)["manifest"].get<std::string>());
  if (!cid.ok()) return Fail(ctx, cid.status());
  auto input_json = ReadJsonFile(opts.input_file);
  if (!input_json.ok()) return Fail(ctx, input_json.status());
  auto inputs = TensorMapFromJson(*input_json);
  if (!inputs.ok()) return Fail(ctx, inputs.status(), "inputs are {\"NAME\": {\"dtype\", \"shape\", \"data\"}}");
  auto status = api.Get("/status");
  if (!status.ok()) return Fail(ctx, status.status());
  auto acct = api.Get("/chain/accounts/" + key->address().ToHex());
  if (!acct.ok()) return Fail(ctx, acct.status());

  protocol::SignedRequest sr;
  protocol::InferenceRequest& req = sr.request;
  req.chain_id = (*status)["chain_id"].get<std::string>();
  req.requester = key->address();
  req.model = *cid;
  req.mode = *mode;
  req.input_hash = HashTensorMap(*inputs);
  // The assigned node is not known yet: the default max fee is this API node's fee for the mode
  // plus the price (the escrow's unused part comes back when the request is answered).
  uint64_t node_fee = 10;
  if (status->contains("node")) {
    const json& n = (*status)["node"];
    node_fee = n.contains("fees") && n["fees"].contains(opts.mode) ? n["fees"][opts.mode].get<uint64_t>()
                                                                     : n["fee_per_inference"].get<uint64_t>();
  }
  req.max_fee = opts.max_fee.value_or(node_fee + (*entry)["price"].get<uint64_t>());
  req.nonce = (*acct)["request_nonce"].get<uint64_t>();
  req.deadline_height = (*status)["height"].get<uint64_t>() + opts.deadline_blocks;
  if (!opts.assign.empty()) {
    auto node = ctx.ResolveAddress(opts.assign);
    if (!node.ok()) return Fail(ctx, node.status().WithContext("--assign"));
    req.node = *node;
  }
  sr.signature = key->Sign(protocol::SigningDigest(req.Hash()));
  const std::string id = ToHex(req.Hash());

  protocol::RequestInferenceTx body{sr, EncodeTensorMap(*inputs)};
  protocol::SignedTx tx = node::MakeTx(*key, req.chain_id, (*acct)["nonce"].get<uint64_t>(), 10'000'000, body);
  auto posted = api.PostWithStatus("/chain/txs", {{"tx", ToHex(tx.Encode())}, {"wait_ms", 30000}});
  if (!posted.ok()) return Fail(ctx, posted.status());
  const json& pj = posted->second;
  for (const char* stage : {"check", "deliver"}) {
    if (pj.contains(stage) && pj[stage]["code"].get<uint32_t>() != 0)
      return Fail(ctx, FailedPrecondition("RequestInference refused: " + pj[stage]["code_name"].get<std::string>() +
                                          ": " + pj[stage]["log"].get<std::string>()));
  }
  if (!pj.contains("height"))
    return Fail(ctx, Unavailable("RequestInference tx " + ToHex(tx.Hash()) + " was not included within 30 s"));
  auto posted_req = api.Get("/chain/requests/" + id);
  if (!posted_req.ok()) return Fail(ctx, posted_req.status().WithContext("reading the posted request"));
  const std::string assigned = (*posted_req)["assigned"].get<std::string>();
  if (!ctx.json_output)
    std::cerr << "request " << id << " posted in block " << pj["height"] << ", assigned to node " << assigned
              << ", deadline block " << req.deadline_height << "\n";
  if (!opts.wait) {
    json out = {{"request_id", id}, {"tx_hash", ToHex(tx.Hash())}, {"height", pj["height"]},
                {"assigned", assigned}, {"deadline_height", req.deadline_height}, {"status", "pending"}};
    if (ctx.json_output) return PrintJson(out), kExitOk;
    std::cout << "request " << id << " pending; see it with: lucid query request " << id << "\n";
    return kExitOk;
  }

  // Answered or expired: at the latest at the end of the deadline block.
  Result<json> state = *posted_req;
  while (true) {
    state = api.Get("/chain/requests/" + id);
    if (!state.ok()) return Fail(ctx, state.status().WithContext("waiting for request " + id));
    if ((*state)["status"] != "pending") break;
    // The chain closes it at the end of its deadline block; still pending well after that
    // means the API answers from a chain that does not run EndBlock (or is not progressing).
    auto now = api.Get("/status");
    if (now.ok() && (*now)["height"].get<uint64_t>() > req.deadline_height + 10)
      return Fail(ctx, Internal("request " + id + " is still pending at block " +
                                std::to_string((*now)["height"].get<uint64_t>()) + ", after its deadline block " +
                                std::to_string(req.deadline_height)));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if ((*state)["status"] == "expired") {
    return Fail(ctx,
                FailedPrecondition("request " + id + " expired unanswered at block " +
                                 std::to_string((*state)["closed_height"].get<uint64_t>()) + ": the escrow (" +
                                 std::to_string(req.max_fee) + ") went back to " +
                                 req.requester.ToHex()),
                "the node lost stake for it: see `lucid query node " + assigned + "`");
  }
  const std::string receipt_id = (*state)["receipt_id"].get<std::string>();
  auto rec = api.Get("/chain/receipts/" + receipt_id);
  if (!rec.ok()) return Fail(ctx, rec.status().WithContext("the answer's receipt"));
  // Check the answer as a validator would (the request is ours, signed above).
  auto receipt_bytes = FromHex((*rec)["raw"]["receipt"].get<std::string>());
  auto evidence_bytes = FromHex((*rec)["raw"]["evidence"].get<std::string>());
  auto receipt = receipt_bytes.ok() ? protocol::Receipt::Decode(*receipt_bytes)
                                    : Result<protocol::Receipt>(receipt_bytes.status());
  auto evidence = evidence_bytes.ok() ? protocol::Evidence::Decode(*evidence_bytes)
                                      : Result<protocol::Evidence>(evidence_bytes.status());
  if (!receipt.ok() || !evidence.ok()) return Fail(ctx, DataLoss("the chain's receipt record is undecodable"));
  if (ToHex(receipt->Id()) != receipt_id) return Fail(ctx, DataLoss("the receipt does not hash to its id"));
  verify::ChainView view{req.chain_id, true, std::nullopt};
  if (*mode == protocol::Mode::kZkml) {
    // The proof must be about the version's committed model (as the validators checked it).
    auto commitment = entry->contains("zkml_commitment")
                          ? Hash32FromHex((*entry)["zkml_commitment"].get<std::string>())
                          : Result<Hash32>(FailedPrecondition(ref + " has no zkml commitment"));
    if (!commitment.ok()) return Fail(ctx, commitment.status());
    view.zkml_commitment = *commitment;
  }
  verify::Verdict verdict;
  // tee: the evidence is checked against the enclave registration by the chain (and by
  // `lucid verify` on the saved bundle); every other mode is checked here as well.
  if (*mode != protocol::Mode::kTee) {
    verdict = verify::VerifyResult(protocol::SubmitResultTx{sr, *receipt, *evidence}, view);
    if (!verdict.ok()) {
      for (const auto& c : verdict.checks)
        if (!c.ok) std::cerr << "check " << c.name << " FAILED: " << c.detail << "\n";
      return Fail(ctx, DataLoss("the answer on chain does not verify"));
    }
  }
  auto outputs = FetchOutputs(api, *receipt, receipt_id);

  json out = {{"request_id", id},
              {"status", "answered"},
              {"assigned", assigned},
              {"receipt_id", receipt_id},
              {"height", (*rec)["height"]},
              {"receipt", (*rec)["receipt"]},
              {"output_hash", ToHex(receipt->output_hash)},
              {"settlement", rec->value("settlement", "final")},
              {"node_paid", (*rec)["node_paid"]},
              {"publisher_paid", (*rec)["publisher_paid"]}};
  if (outputs.ok()) {
    out["outputs"] = *outputs;
    // A bundle as `lucid infer` saves it, so `lucid verify RECEIPT_ID` checks it offline.
    json bundle = {{"format", "lucid-result-bundle/1"},
                   {"receipt_id", receipt_id},
                   {"model", ref},
                   {"request", ToHex(sr.Encode())},
                   {"receipt", (*rec)["raw"]["receipt"]},
                   {"evidence", (*rec)["raw"]["evidence"]},
                   {"inputs", *input_json},
                   {"outputs", *outputs},
                   {"height", (*rec)["height"]},
                   {"proof", (*rec)["proof"]},
                   {"header", (*rec)["raw"]["header"]}};
    const fs::path dir = fs::path(ctx.home) / "results";
    std::error_code ec;
    fs::create_directories(dir, ec);
    const std::string bundle_path = (dir / (receipt_id + ".json")).string();
    {
      std::ofstream f(bundle_path, std::ios::binary | std::ios::trunc);
      f << bundle.dump(2);
      if (!f) return Fail(ctx, Unavailable("cannot write " + bundle_path));
    }
    out["bundle"] = bundle_path;
  } else {
    out["outputs_unavailable"] = outputs.status().ToString();
  }
  if (ctx.json_output) return PrintJson(out), kExitOk;
  if (outputs.ok()) {
    std::cout << "outputs:\n";
    PrintTensorMap(*outputs);
  } else {
    std::cout << "outputs: not available from the node (" << outputs.status().ToString()
              << "); the chain records only their hash " << ToHex(receipt->output_hash) << "\n";
  }
  std::cout << "request " << id << " answered by node " << assigned << "\n"
            << "receipt " << receipt_id << " in block " << (*rec)["height"];
  if (out["settlement"] != "final")
    std::cout << " (" << out["settlement"].get<std::string>() << " until block " << (*rec)["final_height"] << ")";
  std::cout << "\n";
  if (out.contains("bundle"))
    std::cout << "bundle saved to " << out["bundle"].get<std::string>() << "\nverify with: lucid verify " << receipt_id
              << "\n";
  return kExitOk;
}

int QueryRequest(const Context& ctx, const std::string& id) {
  auto r = ctx.api().Get("/chain/requests/" + id);
  if (!r.ok() && r.status().code() == Code::kNotFound)
    return Fail(ctx, r.status(), "check the id `lucid infer --async` printed, or pass --node URL of its network");
  if (!r.ok()) return Fail(ctx, r.status());
  if (ctx.json_output) return PrintJson(*r), kExitOk;
  const json& j = *r;
  std::cout << "request " << j["id"].get<std::string>() << ": " << j["status"].get<std::string>() << "\n"
            << "  requester " << j["request"]["requester"].get<std::string>() << "\n"
            << "  model " << j["request"]["model"].get<std::string>() << " mode "
            << j["request"]["mode"].get<std::string>() << "\n"
            << "  assigned " << j["assigned"].get<std::string>() << "\n"
            << "  escrow " << j["escrow"] << " (max fee " << j["request"]["max_fee"] << ")\n"
            << "  created_height " << j["created_height"] << " deadline_height " << j["request"]["deadline_height"]
            << "\n";
  if (j["workflow_id"].get<uint64_t>() != 0) std::cout << "  workflow " << j["workflow_id"] << "\n";
  if (j.contains("receipt_id")) std::cout << "  receipt " << j["receipt_id"].get<std::string>() << "\n";
  if (j["status"] != "pending") std::cout << "  closed_height " << j["closed_height"] << "\n";
  return kExitOk;
}

int QueryNode(const Context& ctx, const std::string& who) {
  auto addr = ctx.ResolveAddress(who);
  if (!addr.ok()) return Fail(ctx, addr.status());
  auto r = ctx.api().Get("/chain/nodes/" + addr->ToHex());
  if (!r.ok() && r.status().code() == Code::kNotFound)
    return Fail(ctx, r.status(), "see the registered nodes with `curl " + ctx.node_url + "/chain/nodes`");
  if (!r.ok()) return Fail(ctx, r.status());
  if (ctx.json_output) return PrintJson(*r), kExitOk;
  const json& j = *r;
  std::string modes;
  for (const auto& m : j["modes"]) modes += (modes.empty() ? "" : ",") + m.get<std::string>();
  std::cout << "node " << j["address"].get<std::string>() << "\n"
            << "  stake " << j["stake"] << "\n"
            << "  modes " << modes << "\n"
            << "  endpoint " << j["endpoint"].get<std::string>() << "\n"
            << "  registered_height " << j["registered_height"] << "\n"
            << "  jailed " << (j.value("jailed", false) ? "yes" : "no") << "\n"
            << "  slashed " << j.value("slashed", uint64_t{0}) << "\n"
            << "  missed_deadlines " << j.value("missed_deadlines", uint64_t{0}) << "\n";
  return kExitOk;
}

}  // namespace lucid::cli
