// `lucid feed post|show`, `lucid workflow create`, `lucid query workflow` (cli/workflow.h).
// Reads the chain through the Lucid API routes /chain/feeds/{name}, /chain/workflows/{id},
// /chain/requests/{id} and /chain/receipts/{id}; sends PostDataTx and CreateWorkflowTx.
#include "cli/workflow.h"

#include "cli/cli_util.h"

#include <charconv>
#include <cstring>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "crypto/cid.h"
#include "node/inference_node.h"
#include "protocol/types.h"
#include "tensor/tensor.h"
#include "tensor/tensor_json.h"
#include "verify/verify.h"

namespace lucid::cli {
namespace {

using nlohmann::json;

struct FeedPostOptions {
  std::string name;
  std::vector<std::string> tensors;  // NAME=v1,v2,... (float32 [1, n])
  std::string inputs_file;           // or a tensor map JSON, as `lucid infer --input` takes
  std::vector<std::string> add_posters;
};

struct WorkflowOptions {
  std::string ref;  // NAME@MAJOR.MINOR
  std::string feed;
  uint64_t every = 0;
  uint64_t runs = 0;
  uint64_t max_fee = 0;
  std::string mode = "vanilla";
  uint64_t seed = 0;
};



// "NAME=v1,v2,..." -> float32 [1, n].
Result<std::pair<std::string, Tensor>> ParseTensorArg(const std::string& arg) {
  const size_t eq = arg.find('=');
  if (eq == std::string::npos || eq == 0)
    return InvalidArgument("--tensor takes NAME=v1,v2,... (float32 [1, n]), not '" + arg + "'");
  const std::string name = arg.substr(0, eq);
  std::vector<float> values;
  std::stringstream ss(arg.substr(eq + 1));
  std::string item;
  while (std::getline(ss, item, ',')) {
    float v = 0;
    auto [p, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
    if (ec != std::errc() || p != item.data() + item.size() || item.empty())
      return InvalidArgument("--tensor " + name + ": '" + item + "' is not a number");
    values.push_back(v);
  }
  if (values.empty()) return InvalidArgument("--tensor " + name + " has no values");
  Bytes data(values.size() * sizeof(float));
  std::memcpy(data.data(), values.data(), data.size());
  ASSIGN_OR_RETURN(Tensor t, Tensor::FromBytes(DType::kFloat32, {1, static_cast<int64_t>(values.size())}, data));
  return std::make_pair(name, std::move(t));
}


std::string Str(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}
uint64_t U64(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number_unsigned() ? j[key].get<uint64_t>() : 0;
}

// The outputs of an answered request from the answering node's API (GET /node/results/ID,
// kept in its memory), checked against the receipt's output hash. The chain holds only the hash.
Result<json> FetchOutputs(const ApiClient& api, const json& receipt_record, const std::string& receipt_id) {
  ASSIGN_OR_RETURN(Bytes raw, FromHex(Str(receipt_record["raw"], "receipt")));
  ASSIGN_OR_RETURN(protocol::Receipt receipt, protocol::Receipt::Decode(raw));
  ASSIGN_OR_RETURN(json node, api.Get("/chain/nodes/" + receipt.node.ToHex()));
  const std::string endpoint = Str(node, "endpoint");
  if (endpoint.empty()) return NotFound("node " + receipt.node.ToHex() + " registered no endpoint");
  ASSIGN_OR_RETURN(json r, ApiClient(endpoint).Get("/node/results/" + receipt_id));
  if (!r.contains("outputs")) return DataLoss("node " + endpoint + " answered no \"outputs\"");
  ASSIGN_OR_RETURN(TensorMap outputs, TensorMapFromJson(r["outputs"]));
  RETURN_IF_ERROR(verify::VerifyOutputs(receipt, outputs).WithContext("outputs from " + endpoint));
  return r["outputs"];
}

// ---------- feed ----------

int FeedPost(const Context& ctx, const FeedPostOptions& opts) {
  if (opts.tensors.empty() == opts.inputs_file.empty())
    return Fail(ctx, InvalidArgument("give the value with --tensor NAME=v1,v2,... or --inputs FILE.json (one of them)"));
  TensorMap value;
  if (!opts.inputs_file.empty()) {
    auto j = ReadJsonFile(opts.inputs_file);
    if (!j.ok()) return Fail(ctx, j.status());
    auto m = TensorMapFromJson(*j);
    if (!m.ok()) return Fail(ctx, m.status(), "inputs are {\"NAME\": {\"dtype\", \"shape\", \"data\"}}");
    value = std::move(m).value();
  } else {
    for (const auto& arg : opts.tensors) {
      auto t = ParseTensorArg(arg);
      if (!t.ok()) return Fail(ctx, t.status());
      if (value.count(t->first)) return Fail(ctx, InvalidArgument("--tensor " + t->first + " given twice"));
      value.emplace(std::move(t->first), std::move(t->second));
    }
  }
  protocol::PostDataTx body;
  body.feed = opts.name;
  body.value = EncodeTensorMap(value);
  if (body.value.size() > protocol::kMaxFeedValueBytes)
    return Fail(ctx, OutOfRange("the feed value is " + std::to_string(body.value.size()) + " bytes; at most " +
                                std::to_string(protocol::kMaxFeedValueBytes)));
  for (const auto& p : opts.add_posters) {
    auto a = ctx.ResolveAddress(p);
    if (!a.ok()) return Fail(ctx, a.status(), "--poster is a 0x address or a key name");
    body.add_posters.push_back(*a);
  }
  const std::string value_hash = ToHex(HashTensorMap(value));
  auto r = SendTx(ctx, body);
  if (!r.ok())
    return Fail(ctx, r.status(),
                r.status().message().find("UNAUTHORIZED") != std::string::npos
                    ? "only the feed's owner and its posters may post; see them with `lucid feed show " + opts.name + "`"
                    : "");
  if (ctx.json_output) {
    PrintJson({{"feed", opts.name},
               {"height", (*r)["height"]},
               {"tx", (*r)["check"]["hash"]},
               {"value_hash", value_hash},
               {"value", TensorMapToJson(value)}});
  } else {
    std::cout << "posted to feed " << opts.name << " in block " << (*r)["height"] << " (tx "
              << (*r)["check"]["hash"].get<std::string>() << ")\n";
    PrintTensorMap(TensorMapToJson(value), "  ");
  }
  return kExitOk;
}

int FeedShow(const Context& ctx, const std::string& name) {
  auto f = ctx.api().Get("/chain/feeds/" + name);
  if (!f.ok())
    return Fail(ctx, f.status(),
                f.status().code() == Code::kNotFound ? "a feed exists once someone posts to it: `lucid feed post " +
                                                           name + " --tensor NAME=v1,v2,...`"
                                                     : "");
  // The chain holds the value as canonical tensor bytes (EncodeTensorMap); shown as tensors.
  auto raw = FromHex(Str(*f, "value"));
  if (!raw.ok()) return Fail(ctx, raw.status().WithContext("the feed's value"));
  auto value = DecodeTensorMap(*raw);
  if (!value.ok()) return Fail(ctx, value.status().WithContext("the feed's value"));
  (*f)["value_hash"] = ToHex(HashTensorMap(*value));
  (*f)["value_tensors"] = TensorMapToJson(*value);
  if (ctx.json_output) return PrintJson(*f), kExitOk;
  std::cout << "feed " << name << "\n"
            << "  owner   " << Str(*f, "owner") << "\n"
            << "  posters " << (f->contains("posters") ? (*f)["posters"].dump() : "[]") << "\n"
            << "  updated in block " << U64(*f, "updated_height") << "\n";
  std::cout << "  value (hash " << (*f)["value_hash"].get<std::string>() << "):\n";
  PrintTensorMap((*f)["value_tensors"], "    ");
  return kExitOk;
}

// ---------- workflow ----------

int WorkflowCreate(const Context& ctx, const WorkflowOptions& opts) {
  ApiClient api = ctx.api();
  auto mode = protocol::ModeFromName(opts.mode);
  if (!mode.ok()) return Fail(ctx, mode.status());
  auto entry = api.Get("/chain/models/" + opts.ref);
  if (!entry.ok())
    return Fail(ctx, entry.status(), "see the models with `lucid hub list`; a version is NAME@MAJOR.MINOR");
  auto cid = crypto::Cid::Parse(Str(*entry, "manifest"));
  if (!cid.ok()) return Fail(ctx, cid.status().WithContext("the API's model entry"));
  const uint64_t price = U64(*entry, "price");
  if (opts.max_fee < price)
    return Fail(ctx, InvalidArgument("--max-fee " + std::to_string(opts.max_fee) + " is below the publisher price " +
                                     std::to_string(price) + " of " + opts.ref),
                "--max-fee is per run: the node's fee plus the price " + std::to_string(price));
  protocol::CreateWorkflowTx body;
  body.model = *cid;
  body.mode = *mode;
  body.feed = opts.feed;
  body.every_blocks = opts.every;
  body.runs = opts.runs;
  body.max_fee_per_run = opts.max_fee;
  body.seed = opts.seed;
  auto r = SendTx(ctx, body);
  if (!r.ok()) return Fail(ctx, r.status());
  // The chain's log of an accepted CreateWorkflow is "workflow ID".
  const std::string log = r->contains("deliver") ? Str((*r)["deliver"], "log") : "";
  uint64_t id = 0;
  if (log.rfind("workflow ", 0) != 0 ||
      std::from_chars(log.data() + 9, log.data() + log.size(), id).ec != std::errc())
    return Fail(ctx, DataLoss("the chain accepted the workflow but its log '" + log + "' names no workflow id"));
  const uint64_t height = (*r)["height"].get<uint64_t>();
  json schedule = json::array();
  for (uint64_t k = 1; k <= opts.runs && k <= 1000; ++k) schedule.push_back(height + k * opts.every);
  if (ctx.json_output) {
    PrintJson({{"workflow_id", id},
               {"height", height},
               {"tx", (*r)["check"]["hash"]},
               {"model", opts.ref},
               {"model_cid", cid->ToString()},
               {"mode", opts.mode},
               {"feed", opts.feed},
               {"every_blocks", opts.every},
               {"runs", opts.runs},
               {"max_fee_per_run", opts.max_fee},
               {"escrow", opts.runs * opts.max_fee},
               {"schedule", schedule}});
  } else {
    std::cout << "workflow " << id << " created in block " << height << ": " << opts.ref << " (" << opts.mode
              << ") on feed " << opts.feed << ", every " << opts.every << " blocks, " << opts.runs << " runs\n"
              << "  prepaid " << opts.runs << " x " << opts.max_fee << " = " << opts.runs * opts.max_fee
              << " (unused fees come back)\n"
              << "  runs at blocks " << schedule.dump() << "\n"
              << "follow it with: lucid query workflow " << id << "\n";
  }
  return kExitOk;
}

// A workflow and, for each run so far, its request (status, assigned node), receipt (height,
// output hash, payments) and output (when the API has it).
int QueryWorkflow(const Context& ctx, const std::string& id_text) {
  uint64_t id = 0;
  if (std::from_chars(id_text.data(), id_text.data() + id_text.size(), id).ec != std::errc() || id == 0)
    return Fail(ctx, InvalidArgument("workflow id '" + id_text + "' is not a positive number"));
  ApiClient api = ctx.api();
  auto wf = api.Get("/chain/workflows/" + std::to_string(id));
  if (!wf.ok())
    return Fail(ctx, wf.status(),
                wf.status().code() == Code::kNotFound
                    ? "workflow ids come from `lucid workflow create` (printed there, and in its tx's log)"
                    : "");
  json runs = json::array();
  const json history = wf->contains("history") ? (*wf)["history"] : json::array();
  for (size_t i = 0; i < history.size(); ++i) {
    const json& h = history[i];
    json run = {{"run", i + 1}, {"height", h.value("height", json())}};
    const std::string request_id = Str(h, "request_id");
    const bool skipped = request_id.empty() || request_id.find_first_not_of("0x") == std::string::npos;
    if (skipped) {  // no feed value or no node at that height: the run's fee went back to the owner
      run["status"] = "skipped";
      runs.push_back(run);
      continue;
    }
    run["request_id"] = request_id;
    auto req = api.Get("/chain/requests/" + request_id);
    if (!req.ok()) return Fail(ctx, req.status().WithContext("request " + request_id + " of run " + std::to_string(i + 1)));
    run["status"] = req->value("status", json());
    run["assigned"] = req->value("assigned", json());
    const std::string receipt_id = Str(*req, "receipt_id");
    run["receipt_id"] = receipt_id.empty() ? json() : json(receipt_id);
    if (!receipt_id.empty()) {
      auto rec = api.Get("/chain/receipts/" + receipt_id);
      if (!rec.ok()) return Fail(ctx, rec.status().WithContext("receipt " + receipt_id));
      run["answered_height"] = rec->value("height", json());
      run["node"] = (*rec)["receipt"].value("node", json());
      run["output_hash"] = (*rec)["receipt"].value("output_hash", json());
      run["fee"] = (*rec)["receipt"].value("fee", json());
      run["node_paid"] = rec->value("node_paid", json());
      run["publisher_paid"] = rec->value("publisher_paid", json());
      if (rec->contains("settlement")) run["settlement"] = (*rec)["settlement"];
      // The output itself is not on chain (its hash is): from the node, checked against the hash.
      auto outputs = FetchOutputs(api, *rec, receipt_id);
      run["output"] = outputs.ok() ? *outputs : json();
      if (!outputs.ok()) run["output_unavailable"] = outputs.status().message();
    }
    runs.push_back(run);
  }
  if (ctx.json_output) {
    json out = *wf;
    out["runs_detail"] = runs;
    PrintJson(out);
    return kExitOk;
  }
  const json spec = wf->contains("spec") ? (*wf)["spec"] : json::object();
  std::cout << "workflow " << id << ": model " << Str(spec, "model") << " (" << Str(spec, "mode") << ") on feed "
            << Str(spec, "feed") << ", owner " << Str(*wf, "owner") << "\n"
            << "  created in block " << U64(*wf, "created_height") << ", every " << U64(spec, "every_blocks")
            << " blocks, " << U64(*wf, "runs_done") << " of " << U64(spec, "runs") << " runs done, "
            << U64(spec, "max_fee_per_run") << " prepaid per run";
  if (U64(*wf, "next_height")) std::cout << ", next at block " << U64(*wf, "next_height");
  std::cout << "; escrow left " << U64(*wf, "escrow") << "\n";
  for (const json& run : runs) {
    std::cout << "  run " << run["run"] << " at block " << run["height"] << ": " << run["status"].get<std::string>();
    if (run.contains("request_id")) std::cout << "\n    request " << run["request_id"].get<std::string>();
    if (run.contains("receipt_id") && run["receipt_id"].is_string()) {
      std::cout << "\n    receipt " << run["receipt_id"].get<std::string>() << " (block " << run["answered_height"]
                << ", node paid " << run["node_paid"] << ", publisher paid " << run["publisher_paid"] << ")";
      if (run["output_hash"].is_string()) std::cout << "\n    output hash " << run["output_hash"].get<std::string>();
    }
    std::cout << "\n";
    if (run.contains("output") && run["output"].is_object()) PrintTensorMap(run["output"], "    ");
    if (run.contains("output_unavailable"))
      std::cout << "    output not available: " << run["output_unavailable"].get<std::string>() << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddWorkflowCommands(CLI::App& app, CLI::App& query, Context& ctx, int& rc) {
  // feed
  auto* feed = app.add_subcommand("feed", "On-chain data feeds that workflows read")->require_subcommand(1);
  auto post = std::make_shared<FeedPostOptions>();
  auto* feed_post = feed->add_subcommand("post", "Set a feed's value (the first post creates it, owned by --from)");
  feed_post->add_option("NAME", post->name, "Feed name: [a-z0-9][a-z0-9._-]{0,63}")->required();
  auto* tensor_opt =
      feed_post->add_option("--tensor", post->tensors, "A float32 [1, n] tensor NAME=v1,v2,...; repeatable");
  feed_post->add_option("--inputs", post->inputs_file, "Tensor map JSON (as `lucid infer --input` takes)")
      ->excludes(tensor_opt);
  feed_post->add_option("--poster", post->add_posters, "Owner only: also allow this key or 0x address to post; "
                                                       "repeatable");
  feed_post->callback([post, &ctx, &rc] { rc = FeedPost(ctx, *post); });
  auto feed_name = std::make_shared<std::string>();
  auto* feed_show = feed->add_subcommand("show", "A feed's owner, posters and current value");
  feed_show->add_option("NAME", *feed_name, "Feed name")->required();
  feed_show->callback([feed_name, &ctx, &rc] { rc = FeedShow(ctx, *feed_name); });

  // workflow
  auto* workflow = app.add_subcommand("workflow", "Scheduled inferences fed from a data feed")->require_subcommand(1);
  auto wf = std::make_shared<WorkflowOptions>();
  auto* create = workflow->add_subcommand(
      "create", "Run MODEL on a feed's value every N blocks, K times, prepaid (prints the workflow id)");
  create->add_option("MODEL", wf->ref, "NAME@MAJOR.MINOR")->required();
  create->add_option("--feed", wf->feed, "Data feed whose value is the input")->required();
  create->add_option("--every", wf->every, "Blocks between runs (the first run is N blocks after creation)")
      ->required();
  create->add_option("--runs", wf->runs, "Number of runs, prepaid")->required();
  create->add_option("--max-fee", wf->max_fee, "Most paid per run (node fee + publisher price); the rest comes back")
      ->required();
  create->add_option("--mode", wf->mode, "Execution mode")
      ->capture_default_str()
      ->check(CLI::IsMember({"vanilla", "replay"}));
  create->add_option("--seed", wf->seed, "Request seed")->capture_default_str();
  create->callback([wf, &ctx, &rc] { rc = WorkflowCreate(ctx, *wf); });

  // query workflow
  auto wf_id = std::make_shared<std::string>();
  auto* qw = query.add_subcommand("workflow", "A workflow and its runs: height, request, status, receipt, output");
  qw->add_option("ID", *wf_id, "Workflow id")->required();
  qw->callback([wf_id, &ctx, &rc] { rc = QueryWorkflow(ctx, *wf_id); });
}

}  // namespace lucid::cli
