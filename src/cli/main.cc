// The `lucid` command: devnet, keys, txs, hub, inference, verification and queries.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <iostream>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "cli/completion.h"
#include "cli/llm.h"
#include "cli/workflow.h"
#ifdef LUCID_HAVE_ABCI
#include "cli/hub_status.h"
#include "cli/validator.h"
#endif

int main(int argc, char** argv) {
  using namespace lucid::cli;
  // Logs go to stderr: stdout carries command output (and --json documents).
  spdlog::set_default_logger(spdlog::stderr_color_mt("lucid"));
  Context ctx;
  if (const char* env = std::getenv("LUCID_NODE")) ctx.node_url = env;
  if (const char* env = std::getenv("LUCID_HOME")) ctx.home = env;

  CLI::App app{"lucid: verifiable AI inference.\n"
               "Run models on inference nodes, settle results on chain, verify any result offline."};
  app.require_subcommand(1);
  // Global options (--json, --node, --home, --from) also after the subcommand: `lucid run M --json`.
  app.fallthrough();
  app.set_help_all_flag("--help-all", "Show help for every command");
  app.add_option("--node", ctx.node_url, "Lucid API URL (env LUCID_NODE)")->capture_default_str();
  app.add_option("--home", ctx.home, "Home directory: keys, devnet data, saved results (env LUCID_HOME)")
      ->capture_default_str();
  app.add_option("--from", ctx.from, "Key name (in --home/keys) that signs transactions and requests")
      ->capture_default_str();
  app.add_flag("--json", ctx.json_output, "Print one JSON document on stdout (errors too: code, message, hint)");

  int rc = kExitOk;

  // devnet
  DevnetOptions devnet;
  auto* devnet_cmd = app.add_subcommand("devnet", "Run a one-process dev network (chain, hub, node, API)");
  devnet_cmd->add_option("--http", devnet.http, "API listen address HOST:PORT")->capture_default_str();
  devnet_cmd->add_option("--block-time", devnet.block_time, "Block interval, e.g. 1s, 500ms")->capture_default_str();
  bool devnet_no_tee = false;
  devnet_cmd->add_flag("--no-tee", devnet_no_tee, "Do not start the dev enclave (no tee mode)");
  devnet_cmd->add_option("--tee-heartbeat", devnet.tee_heartbeat,
                         "A new chain's enclave registration lifetime, e.g. 10s (default 1h)");
  devnet_cmd->callback([&] {
    devnet.tee = !devnet_no_tee;
    rc = Devnet(ctx, devnet);
  });

  // node (docs/node.md)
  NodeOptions node_opts;
  devnet_cmd->add_flag("--ipfs", devnet.ipfs, "Start a kubo (IPFS) daemon in a private swarm for the hub (docs/ipfs.md)");
  devnet_cmd->add_option("--ipfs-api", devnet.ipfs_apis, "Use this running kubo RPC API (127.0.0.1:PORT) for the hub; repeatable");
  devnet_cmd->add_option("--ipfs-swarm-key", devnet.ipfs_swarm_key, "--ipfs: the private swarm's key file (default: <home>/ipfs-swarm.key, made if missing)");
  devnet_cmd->add_option("--ipfs-peer", devnet.ipfs_peers, "--ipfs: peer with this kubo (/ip4/127.0.0.1/tcp/PORT/p2p/ID); repeatable");
  devnet_cmd->add_option("--replicas", devnet.replicas, "A new chain's R: hubs that should pin each published version (docs/ipfs.md)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  devnet_cmd->add_flag("--no-replicate", devnet.no_replicate, "With IPFS: do not announce pins or take on under-replicated versions");
  auto* node_cmd = app.add_subcommand("node", "Run a standalone inference node beside a chain (its Lucid API)");
  node_cmd->add_option("--chain", node_opts.chain, "The chain's Lucid API URL (default: --node)");
  node_cmd->add_option("--comet-rpc", node_opts.comet_rpc, "Send txs through this CometBFT RPC URL (broadcast_tx_sync)");
  node_cmd->add_option("--http", node_opts.http, "This node's API listen address HOST:PORT (port 0: any)")
      ->capture_default_str();
  node_cmd->add_option("--endpoint", node_opts.endpoint, "URL registered on chain (default: http://<--http>)");
  node_cmd->add_option("--mode", node_opts.modes, "Modes served, comma-separated: vanilla,tee,zkml,replay")
      ->capture_default_str();
  node_cmd->add_option("--ipfs", node_opts.ipfs_apis, "Fetch model files through this kubo RPC API (127.0.0.1:PORT); repeatable, tried in order");
  node_cmd->add_option("--ipfs-timeout", node_opts.ipfs_timeout_s, "Seconds per kubo call and per peer when fetching")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();
  node_cmd->add_flag("--replicate", node_opts.replicate,
                     "Act as a hub: announce pins on chain, keep them, pin under-replicated versions (first --ipfs is the own kubo)");
  node_cmd->add_option("--enclave", node_opts.enclave, "tee: the enclave process HOST:PORT (`lucid enclave`)");
  node_cmd->add_option("--heartbeat", node_opts.heartbeat,
                       "tee: re-attest every DURATION (default: half the chain's heartbeat; 0: never)");
  node_cmd->add_option("--stake", node_opts.stake, "Stake locked when first registering")->capture_default_str();
  node_cmd->add_option("--fee", node_opts.fee, "Fee per inference (vanilla, tee)")->capture_default_str();
  node_cmd->add_option("--threads", node_opts.threads, "Engine threads")->capture_default_str();
  node_cmd->add_option("--api-key", node_opts.api_keys,
                       "OpenAI routes: API_KEY=KEYNAME, the requester key the gateway signs with (repeatable)");
  node_cmd->callback([&] { rc = Node(ctx, node_opts); });

#ifdef LUCID_HAVE_ABCI
  // validator (docs/consensus.md)
  AddValidatorCommand(app, ctx, rc);
#endif

  // keys
  auto* keys = app.add_subcommand("keys", "Manage keys in --home/keys")->require_subcommand(1);
  std::string key_name;
  auto* keys_new = keys->add_subcommand("new", "Create a key");
  keys_new->add_option("NAME", key_name, "Key name")->required();
  keys_new->callback([&] { rc = KeysNew(ctx, key_name); });
  keys->add_subcommand("list", "List keys")->callback([&] { rc = KeysList(ctx); });
  auto* keys_show = keys->add_subcommand("show", "Show a key's address");
  keys_show->add_option("NAME", key_name, "Key name")->required();
  keys_show->callback([&] { rc = KeysShow(ctx, key_name); });

  // tx
  auto* tx = app.add_subcommand("tx", "Send transactions")->require_subcommand(1);
  std::string to;
  uint64_t amount = 0;
  auto* transfer = tx->add_subcommand("transfer", "Transfer funds");
  transfer->add_option("TO", to, "0x address or key name")->required();
  transfer->add_option("AMOUNT", amount, "Amount in base units")->required();
  transfer->callback([&] { rc = TxTransfer(ctx, to, amount); });
  TeeParamsOptions tee_params;
  auto* tee_params_cmd = tx->add_subcommand("tee-params", "tee admin: allow/revoke enclave measurements, heartbeat");
  tee_params_cmd->add_option("--allow-pcr0", tee_params.allow_pcr0, "Allow this PCR0 (48 bytes hex); repeatable");
  tee_params_cmd->add_option("--revoke-pcr0", tee_params.revoke_pcr0,
                             "Revoke this PCR0: its enclaves' receipts stop settling; repeatable");
  tee_params_cmd->add_option("--heartbeat", tee_params.heartbeat, "Enclave registration lifetime, e.g. 1h");
  tee_params_cmd->add_option("--max-document-age", tee_params.max_document_age,
                             "Oldest attestation document accepted at registration, e.g. 5m");
  tee_params_cmd->callback([&] { rc = TxTeeParams(ctx, tee_params); });

  // hub
  auto* hub = app.add_subcommand("hub", "Model Hub: repositories, versions, files")->require_subcommand(1);
  std::string repo;
  RepoOptions repo_opts;
  auto* create = hub->add_subcommand("create", "Create a model repository");
  create->add_option("NAME", repo, "Repository name")->required();
  create->add_option("--description", repo_opts.description_file, "Markdown description file");
  create->add_option("--task", repo_opts.task, "Task, e.g. image-classification");
  create->add_option("--license", repo_opts.license, "License, e.g. MIT");
  create->add_option("--tags", repo_opts.tags, "Comma-separated tags");
  create->callback([&] { rc = HubCreate(ctx, repo, repo_opts); });

  std::vector<std::string> files;
  std::string version, vectors;
  uint64_t price = 0;
  auto* upload = hub->add_subcommand("upload", "Upload files and publish a version");
  upload->add_option("NAME", repo, "Repository name")->required();
  upload->add_option("FILE", files, "Model file(s)")->required();
  upload->add_option("--version", version, "MAJOR.MINOR")->required();
  upload->add_option("--test-vectors", vectors, "Test vectors JSON that must reproduce");
  upload->add_option("--price", price, "Price per inference paid to the publisher")->capture_default_str();
  bool upload_zkml = false;
  upload->add_flag("--zkml", upload_zkml, "Require zkml support: refuse the version if its circuit cannot be built");
  upload->callback([&] { rc = HubUpload(ctx, repo, files, version, vectors, price, upload_zkml); });

  std::string query;
  auto* list = hub->add_subcommand("list", "List repositories");
  list->add_option("QUERY", query, "Filter by name, task or tag");
  list->callback([&] { rc = HubList(ctx, query); });
  auto* versions = hub->add_subcommand("versions", "List a repository's versions");
  versions->add_option("NAME", repo, "Repository name")->required();
  versions->callback([&] { rc = HubVersions(ctx, repo); });
  std::string status_ref;
  std::vector<std::string> status_ipfs;
  auto* hub_status = hub->add_subcommand("status", "Where a version is pinned: the hubs the chain records, and kubo nodes you name (docs/ipfs.md)");
  hub_status->add_option("REF", status_ref, "name@version")->required();
  hub_status->add_option("--ipfs", status_ipfs, "Also ask this kubo RPC API (127.0.0.1:PORT) what it pins; repeatable");
  hub_status->callback([&] { rc = HubStatus(ctx, status_ref, status_ipfs); });
  bool only_under = false;
  auto* hub_repl = hub->add_subcommand("replication", "Every published version's hubs against the chain's R (docs/ipfs.md)");
  hub_repl->add_flag("--under", only_under, "Only versions pinned by fewer than R hubs");
  hub_repl->callback([&] { rc = HubReplication(ctx, only_under); });
  auto* hub_retire = hub->add_subcommand("retire", "Stop being a hub: drop every pin announced by --from and get the bond back");
  hub_retire->callback([&] { rc = HubRetire(ctx); });
  std::vector<std::string> announce_pin, announce_unpin;
  std::string announce_peer, announce_endpoint;
  auto* hub_announce = hub->add_subcommand("announce", "Announce on chain, as --from, the versions a hub pins by hand (docs/ipfs.md)");
  hub_announce->add_option("--pin", announce_pin, "NAME@MAJOR.MINOR now pinned (every file); repeatable");
  hub_announce->add_option("--unpin", announce_unpin, "NAME@MAJOR.MINOR no longer pinned; repeatable");
  hub_announce->add_option("--ipfs-peer", announce_peer, "The hub's kubo peer id (required the first time)");
  hub_announce->add_option("--endpoint", announce_endpoint, "The hub's Lucid API URL (audits ask it)");
  hub_announce->callback([&] { rc = HubAnnounce(ctx, announce_pin, announce_unpin, announce_peer, announce_endpoint); });
  int audit_samples = 4;
  auto* hub_audit = hub->add_subcommand("audit", "Check that every hub announcing a version holds its files (random ranges)");
  hub_audit->add_option("REF", status_ref, "name@version")->required();
  hub_audit->add_option("--samples", audit_samples, "Random 4 KiB ranges asked per file and hub")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  hub_audit->callback([&] { rc = HubAudit(ctx, status_ref, audit_samples); });
  std::string ref, out_dir;
  auto* download = hub->add_subcommand("download", "Download a version, checking every CID");
  download->add_option("REF", ref, "NAME@MAJOR.MINOR")->required();
  download->add_option("--out", out_dir, "Output directory")->required();
  std::vector<std::string> download_ipfs;
  download->add_option("--ipfs", download_ipfs,
                       "Fetch the files through this kubo RPC API (127.0.0.1:PORT) instead of the Lucid API; repeatable, tried in order");
  download->callback([&] { rc = HubDownload(ctx, ref, out_dir, download_ipfs); });
  std::string hub_calibration;
  auto* hub_quant = hub->add_subcommand("quantize", "Quantize a version to int8 and publish it as a new version");
  hub_quant->add_option("REF", ref, "NAME@MAJOR.MINOR of the float version")->required();
  hub_quant->add_option("--calibration", hub_calibration, "JSON list of input sets (or test vectors)")->required();
  hub_quant->add_option("--version", version, "MAJOR.MINOR of the new version")->required();
  hub_quant->add_option("--price", price, "Price per inference paid to the publisher")->capture_default_str();
  hub_quant->callback([&] { rc = HubQuantize(ctx, ref, hub_calibration, version, price); });

  // infer
  InferOptions infer_opts;
  uint64_t max_fee = 0;
  bool no_wait = false;
  auto* infer = app.add_subcommand("infer", "Run a verifiable inference on a published model");
  infer->add_option("REF", ref, "NAME@MAJOR.MINOR (or NAME for the latest)")->required();
  auto* input_opt = infer->add_option("--input", infer_opts.input_file, "Input tensors JSON");
  auto* prompt_opt = infer->add_option("--prompt", infer_opts.prompt, "GGUF (LLM) versions: the user message");
  input_opt->excludes(prompt_opt);
  infer->add_option("--max-tokens", infer_opts.max_tokens, "GGUF: most tokens generated")->capture_default_str();
  infer->add_option("--temperature", infer_opts.temperature, "GGUF: sampling temperature (0: greedy)")
      ->capture_default_str();
  infer->add_option("--seed", infer_opts.seed, "GGUF: sampling seed")->capture_default_str();
  infer->add_option("--mode", infer_opts.mode,
                    "vanilla, tee (run in the node's enclave) or zkml (the node proves it; seconds to minutes)")
      ->capture_default_str();
  auto* max_fee_opt = infer->add_option("--max-fee", max_fee, "Most you pay (default: the quoted fee)");
  infer->add_flag("--no-wait", no_wait, "Do not wait for the result (and a zkml proof) to settle on chain");
  infer->add_flag("--async", infer_opts.async,
                  "Post the request on chain (RequestInference) for the chain to assign a node; wait for the answer");
  infer->add_option("--deadline-blocks", infer_opts.deadline_blocks,
                    "--async: blocks from now until the request expires (refund + the node is slashed)")
      ->capture_default_str();
  infer->add_option("--assign", infer_opts.assign, "--async: the node (key name or 0x address) that must answer");
  infer->callback([&] {
    if (max_fee_opt->count() > 0) infer_opts.max_fee = max_fee;
    infer_opts.wait = !no_wait;
    if (input_opt->count() == 0 && prompt_opt->count() == 0) {
      std::cerr << "infer: give --input FILE (ONNX) or --prompt TEXT (GGUF)\n";
      rc = 2;
      return;
    }
    rc = infer_opts.async ? InferAsync(ctx, ref, infer_opts) : Infer(ctx, ref, infer_opts);
  });

  // chat
  ChatOptions chat_opts;
  auto* chat = app.add_subcommand("chat", "Chat with a GGUF (LLM) version through the node's OpenAI-compatible API");
  chat->add_option("REF", ref, "NAME@MAJOR.MINOR")->required();
  chat->add_option("--prompt", chat_opts.prompt, "One-shot: ask this, print the streamed answer and exit");
  chat->add_option("--api-key", chat_opts.api_key, "API key of the node's gateway")->capture_default_str();
  chat->add_option("--system", chat_opts.system, "System message");
  chat->add_option("--max-tokens", chat_opts.max_tokens, "Most tokens per answer (-1: the node's default)")
      ->capture_default_str();
  chat->add_option("--temperature", chat_opts.temperature, "Sampling temperature (0: greedy)")->capture_default_str();
  chat->add_option("--seed", chat_opts.seed, "Sampling seed")->capture_default_str();
  chat->add_option("--mode", chat_opts.mode, "vanilla, or tee: answered and signed inside the node's enclave")
      ->capture_default_str()
      ->check(CLI::IsMember({"vanilla", "tee"}));
  chat->callback([&] { rc = Chat(ctx, ref, chat_opts); });

  // verify
  std::string receipt_id;
  VerifyOptions verify_opts;
  auto* verify = app.add_subcommand("verify", "Verify a result: signatures, evidence, inclusion (exit 0 valid, 1 invalid)");
  verify->add_option("RECEIPT_ID", receipt_id, "Receipt id, 64 hex characters (as `lucid infer` printed it)")
      ->required();
  verify->add_flag("--replay", verify_opts.replay, "Also re-execute the model locally and compare output bytes");
  verify->add_option("--bundle", verify_opts.bundle_file,
                     "Verify this result bundle file (default: the one `lucid infer` saved in --home/results, else the chain's record)");
  auto* comet_rpc_opt = verify->add_option(
      "--comet-rpc", verify_opts.comet_rpc,
      "CometBFT network: check the block's commit (> 2/3 of the genesis power, ed25519) through this RPC URL");
  verify->add_option("--genesis", verify_opts.comet_genesis, "The CometBFT genesis.json trusted for --comet-rpc")
      ->needs(comet_rpc_opt)
      ->check(CLI::ExistingFile);
  comet_rpc_opt->needs("--genesis");
  verify->callback([&] { rc = Verify(ctx, receipt_id, verify_opts); });

  // query
  auto* q = app.add_subcommand("query", "Query chain state")->require_subcommand(1);
  std::string arg;
  auto* qa = q->add_subcommand("account", "Balance and nonces");
  qa->add_option("ADDR", arg, "0x address or key name")->required();
  qa->callback([&] { rc = QueryAccount(ctx, arg); });
  auto* qb = q->add_subcommand("block", "A block header and its txs");
  qb->add_option("HEIGHT", arg, "Height or 'latest'")->required();
  qb->callback([&] { rc = QueryBlock(ctx, arg); });
  auto* qr = q->add_subcommand("receipt", "A receipt");
  qr->add_option("RECEIPT_ID", arg, "Receipt id, 64 hex characters")->required();
  qr->callback([&] { rc = QueryReceipt(ctx, arg); });
  auto* qreq = q->add_subcommand("request", "An async request: status, assigned node, escrow, receipt");
  qreq->add_option("REQUEST_ID", arg, "Request id, 64 hex characters (as `lucid infer --async` printed it)")->required();
  qreq->callback([&] { rc = QueryRequest(ctx, arg); });
  auto* qn = q->add_subcommand("node", "A registered node: stake, modes, endpoint, penalties (jailed, slashed)");
  qn->add_option("ADDR", arg, "0x address or key name")->required();
  qn->callback([&] { rc = QueryNode(ctx, arg); });

  // feed, workflow, query workflow (docs/settlement.md "Workflows")
  AddWorkflowCommands(app, *q, ctx, rc);

  // challenge, query challenge, report-conflict (docs/settlement.md "Replay mode", "Slashing evidence")
  auto* qc = q->add_subcommand("challenge", "A replay receipt's challenge: claim, committee, votes, outcome");
  qc->add_option("RECEIPT_ID", arg, "Receipt id, 64 hex characters")->required();
  qc->callback([&] { rc = QueryChallenge(ctx, arg); });
  ChallengeOptions challenge_opts;
  auto* ch = app.add_subcommand(
      "challenge", "Dispute a replay receipt: re-execute it here, challenge it if the output differs");
  ch->footer("A challenge bonds params.settlement.challenge_bond from --from; a committee of replay nodes "
             "re-executes the receipt and decides (docs/settlement.md).");
  ch->add_option("RECEIPT_ID", arg, "Receipt id, 64 hex characters")->required();
  ch->add_option("--bundle", challenge_opts.bundle_file,
                 "Result bundle holding the inputs (default: the one `lucid infer` saved, else the async request's)");
  ch->add_option("--claim", challenge_opts.claim, "Output hash to claim instead of re-executing (64 hex characters)");
  ch->add_flag("!--no-wait", challenge_opts.wait, "Return once the challenge is on chain, before the committee decides");
  ch->callback([&] { rc = Challenge(ctx, arg, challenge_opts); });
  std::string conflict_a, conflict_b;
  auto* rc_cmd = app.add_subcommand(
      "report-conflict", "Report a node that signed two outputs for one request (slashed and jailed)");
  rc_cmd->footer("The bundles hold the receipts and evidence (as `lucid infer` saves them); half the slashed "
                 "stake goes to --from (docs/settlement.md).");
  rc_cmd->add_option("BUNDLE_A", conflict_a, "First result bundle (JSON)")->required();
  rc_cmd->add_option("BUNDLE_B", conflict_b, "Second result bundle (JSON)")->required();
  rc_cmd->callback([&] { rc = ReportConflict(ctx, conflict_a, conflict_b); });

  // run
  std::string model_file, input_file;
  int threads = 1;
  RunLocalOptions run_opts;
  auto* run = app.add_subcommand("run", "Execute an ONNX file locally (no chain)");
  run->add_option("MODEL", model_file, "Model .onnx")->required();
  run->add_option("--input", input_file, "Input tensors JSON")->required();
  run->add_option("--threads", threads, "Threads (results are identical for any value)")->capture_default_str();
  run->add_flag("--quantized", run_opts.quantized,
                "Quantize a float model to int8 first (static, docs/formats/integer-semantics.md) and run that; "
                "also prints the largest difference from the float outputs");
  run->add_option("--calibration", run_opts.calibration_file,
                  "With --quantized: JSON list of input sets (or test vectors); default: the input itself");
  run->callback([&] {
    run_opts.threads = threads;
    rc = RunLocal(ctx, model_file, input_file, run_opts);
  });

  // quantize (local; docs/formats/integer-semantics.md)
  std::string calibration_file, quantized_out;
  auto* quant = app.add_subcommand("quantize", "Quantize an ONNX file to int8 (static, calibrated)");
  quant->add_option("MODEL", model_file, "Float model .onnx")->required();
  quant->add_option("--calibration", calibration_file, "JSON list of input sets (or test vectors)")->required();
  quant->add_option("--out", quantized_out, "Where to write the quantized .onnx")->required();
  quant->callback([&] { rc = QuantizeLocal(ctx, model_file, calibration_file, quantized_out); });

  // zk (local, no chain; docs/zk.md)
  ZkProveOptions zk_prove_opts;
  std::string zk_proof_file, zk_model_file, zk_commitment;
  auto* zk = app.add_subcommand("zk", "Prove and verify zkml proofs locally (no setup step)")->require_subcommand(1);
  auto* zk_prove = zk->add_subcommand("prove", "Prove output = model(input); prints outputs, commitment, timings");
  zk_prove->add_option("MODEL", zk_prove_opts.model_file, "Model .onnx (int8, or float: quantized first)")->required();
  zk_prove->add_option("--input", zk_prove_opts.input_file, "Input tensors JSON")->required();
  zk_prove->add_option("--out", zk_prove_opts.out_file, "Where to write the proof (a float model's quantized .onnx: OUT.model.onnx)")->required();
  zk_prove->add_option("--calibration", zk_prove_opts.calibration_file,
                       "A float model: JSON list of input sets (or test vectors) to quantize on; default: the input");
  zk_prove->add_option("--threads", zk_prove_opts.threads, "Prover threads (the proof is identical)")->capture_default_str();
  zk_prove->callback([&] { rc = ZkProve(ctx, zk_prove_opts); });
  auto* zk_verify = zk->add_subcommand("verify", "Verify a proof (exit 0 valid, 1 invalid with the reason)");
  zk_verify->add_option("PROOF", zk_proof_file, "Proof file")->required();
  auto* zk_model_opt = zk_verify->add_option("--model", zk_model_file, "The int8 model the proof must be about");
  zk_verify->add_option("--commitment", zk_commitment, "The model commitment (hex) the proof must be about")
      ->excludes(zk_model_opt);
  zk_verify->callback([&] { rc = ZkVerify(ctx, zk_proof_file, zk_model_file, zk_commitment); });

  // tee (local, no chain; docs/tee.md)
  TeeVerifyOptions tee_opts;
  uint64_t tee_max_age_s = 0;
  auto* tee = app.add_subcommand("tee", "Trusted execution: AWS Nitro attestation documents")->require_subcommand(1);
  auto* tee_verify = tee->add_subcommand(
      "verify", "Verify a Nitro attestation document offline; prints every field and check (exit 0 valid, 1 refused)");
  tee_verify->add_option("DOC_FILE", tee_opts.doc_file, "Attestation document, raw CBOR or base64")->required();
  tee_verify->add_option("--at", tee_opts.at, "Verification time: RFC 3339 or ms since the epoch (default: now)");
  tee_verify->add_option("--pcr0", tee_opts.pcr0_hex, "Required PCR0 (enclave image measurement), 48 bytes hex");
  tee_verify->add_option("--nonce", tee_opts.nonce_hex, "Required nonce, hex");
  tee_verify->add_option("--key-hash", tee_opts.key_hash_hex,
                         "SHA-256 (hex) of the enclave key that public_key or user_data must carry");
  tee_verify->add_option("--root", tee_opts.root_file, "Trust anchor certificate (DER), e.g. a dev root; "
                                                       "default: the pinned AWS Nitro root");
  auto* max_age_opt = tee_verify->add_option("--max-age", tee_max_age_s, "Maximum document age in seconds (default 10800)");
  tee_verify->callback([&] {
    if (max_age_opt->count() > 0) tee_opts.max_age_s = tee_max_age_s;
    rc = TeeVerify(ctx, tee_opts);
  });

  // enclave (docs/tee-enclave.md)
  EnclaveOptions enclave_opts;
  auto* enclave = app.add_subcommand("enclave", "Run the dev enclave process (attestation documents, tee execution)");
  enclave->add_flag("--dev", enclave_opts.dev, "Dev enclave: dev PKI instead of Nitro hardware (required)");
  enclave->add_option("--listen", enclave_opts.listen, "Listen address, loopback only (port 0: any)")
      ->capture_default_str();
  enclave->add_option("--pki", enclave_opts.pki_dir, "Dev PKI folder (generated there when absent)")->required();
  enclave->add_option("--threads", enclave_opts.threads, "Engine threads")->capture_default_str();
  enclave->callback([&] { rc = Enclave(ctx, enclave_opts); });

  // llm run|bench (docs/llm.md, "CLI")
  AddLlmCommands(app, &rc);

  // completion bash|zsh: added last, so the script covers every command above
  AddCompletionCommand(app, rc);

  // Set after every command is added: a subcommand copies its parent's footer when created.
  app.footer(
      "Start here (a local network in another terminal, then a verifiable inference):\n"
      "  lucid devnet\n"
      "  lucid hub list\n"
      "  lucid infer digits-mlp@1.0 --input models/digits/sample_input_mlp.json --from dev1\n"
      "  lucid verify RECEIPT_ID\n"
      "`lucid COMMAND --help` for a command's options, --help-all for all of them.\n"
      "Exit codes: 0 ok (valid), 1 failed or refused (invalid), 2 usage error; an error says the next step to\n"
      "take where there is one. Progress goes to stderr on a terminal (LUCID_PROGRESS=1 forces it, 0 hides it;\n"
      "never with --json).");

  // `lucid --help` lists the commands in groups, in the order a new user meets them.
  const std::pair<const char*, std::vector<const char*>> groups[] = {
      {"Run a network", {"devnet", "node", "validator", "enclave"}},
      {"Use a network", {"keys", "tx", "hub", "infer", "chat", "verify", "query", "feed", "workflow", "challenge", "report-conflict"}},
      {"Local, no chain", {"run", "quantize", "zk", "tee", "llm"}},
      {"Shell", {"completion"}}};
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    for (const auto& [group, names] : groups)
      for (const char* name : names)
        if (sub->get_name() == name) sub->group(group);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  return rc;
}
