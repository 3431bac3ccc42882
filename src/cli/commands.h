// The `lucid` subcommands. Each returns a process exit code (context.h).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "cli/context.h"

namespace lucid::cli {

int KeysNew(const Context& ctx, const std::string& name);
int KeysList(const Context& ctx);
int KeysShow(const Context& ctx, const std::string& name);

int TxTransfer(const Context& ctx, const std::string& to, uint64_t amount);
// tee governance (the chain's tee admin only; docs/tee-chain.md): allow or revoke enclave
// measurements (PCR0, 48 bytes hex), change the registration heartbeat or the document age.
struct TeeParamsOptions {
  std::vector<std::string> allow_pcr0, revoke_pcr0;
  std::string heartbeat, max_document_age;  // durations, e.g. 1h, 5m
};
int TxTeeParams(const Context& ctx, const TeeParamsOptions& opts);

struct RepoOptions {
  std::string description_file, task, license, tags;
};
int HubCreate(const Context& ctx, const std::string& name, const RepoOptions& opts);
int HubUpload(const Context& ctx, const std::string& name, const std::vector<std::string>& files,
              const std::string& version, const std::string& test_vectors, uint64_t price, bool zkml = false);
int HubList(const Context& ctx, const std::string& query);
int HubVersions(const Context& ctx, const std::string& name);
// ipfs_apis (`--ipfs`, docs/ipfs.md): the files come from these kubo RPC APIs (loopback, tried
// in order, each file checked against its Lucid CID before it is renamed into place, nothing
// pinned); the manifest too when one serves it, else from the Lucid API.
int HubDownload(const Context& ctx, const std::string& ref, const std::string& out_dir,
                const std::vector<std::string>& ipfs_apis = {});
// Quantizes NAME@VERSION to int8 (onnx/quantize.h), measures the change on its test
// vectors and publishes the result as `version`, pinned to its own outputs.
int HubQuantize(const Context& ctx, const std::string& ref, const std::string& calibration_file,
                const std::string& version, uint64_t price);

struct InferOptions {
  std::string input_file;
  // GGUF (LLM) versions instead of --input: one user message (docs/llm.md "CLI").
  std::string prompt;
  int32_t max_tokens = 64;
  double temperature = 0;
  uint64_t seed = 0;
  std::string mode = "vanilla";
  std::optional<uint64_t> max_fee;
  bool wait = true;
  // --async (src/cli/async.cc, docs/settlement.md): post a RequestInference tx for the chain to
  // assign, wait until it is answered or expired (unless --no-wait) and print the result.
  bool async = false;
  uint64_t deadline_blocks = 20;
  std::string assign;  // key name or 0x address of the node the request names (default: the chain picks)
};
int Infer(const Context& ctx, const std::string& ref, const InferOptions& opts);
int InferAsync(const Context& ctx, const std::string& ref, const InferOptions& opts);

struct VerifyOptions {
  bool replay = false;
  std::string bundle_file;  // verify this result bundle instead of the saved one
  // CometBFT network (docs/lightclient.md): the block's commit is checked through this RPC
  // against the validators of this local CometBFT genesis file.
  std::string comet_rpc;
  std::string comet_genesis;
};
int Verify(const Context& ctx, const std::string& receipt_id, const VerifyOptions& opts);

// `lucid chat NAME@VERSION` (src/cli/chat.cc): the node's OpenAI-compatible route, streamed;
// each answer's receipt is saved as a result bundle for `lucid verify RECEIPT --replay`.
struct ChatOptions {
  std::string prompt;  // one-shot: ask this, print the answer, exit
  std::string api_key = "lucid-dev-key";
  std::string system;
  int32_t max_tokens = -1;  // -1: the node's default
  double temperature = 0;
  uint64_t seed = 0;
  std::string mode = "vanilla";  // vanilla or tee (the node's enclave answers; docs/llm.md "Modes")
};
int Chat(const Context& ctx, const std::string& ref, const ChatOptions& opts);

int QueryAccount(const Context& ctx, const std::string& who);
int QueryBlock(const Context& ctx, const std::string& height);
int QueryReceipt(const Context& ctx, const std::string& id);
int QueryRequest(const Context& ctx, const std::string& id);  // an async request (src/cli/async.cc)
int QueryNode(const Context& ctx, const std::string& who);    // a node's stake, modes and penalties

// Replay disputes and conflict evidence (src/cli/challenge.cc, docs/settlement.md).
struct ChallengeOptions {
  std::string bundle_file;  // the result bundle with the inputs (default: the saved one, else the async request's)
  std::string claim;        // the output hash to claim instead of re-executing here
  bool wait = true;         // until the committee decides or the vote window closes
};
// Re-executes a pending replay receipt locally; challenges it only if the output differs.
int Challenge(const Context& ctx, const std::string& receipt_id, const ChallengeOptions& opts);
int QueryChallenge(const Context& ctx, const std::string& receipt_id);
// Two result bundles of one node for one request with different outputs: ReportConflictTx.
int ReportConflict(const Context& ctx, const std::string& bundle_a, const std::string& bundle_b);

struct RunLocalOptions {
  int threads = 1;
  bool quantized = false;        // quantize the float model first and run the int8 model
  std::string calibration_file;  // for quantized; empty: the input itself
};
int RunLocal(const Context& ctx, const std::string& model_file, const std::string& input_file,
             const RunLocalOptions& options);
// Writes the int8 static quantization of model_file (onnx/quantize.h) to out_file.
int QuantizeLocal(const Context& ctx, const std::string& model_file, const std::string& calibration_file,
                  const std::string& out_file);

struct ZkProveOptions {
  std::string model_file, input_file, out_file, calibration_file;
  int threads = 2;
};
// Proves output = model(input) (zkml/zkml.h); quantizes a float model first.
int ZkProve(const Context& ctx, const ZkProveOptions& opts);
// Exit 0 valid, 1 invalid (the reason printed).
int ZkVerify(const Context& ctx, const std::string& proof_file, const std::string& model_file,
             const std::string& commitment_hex);

struct TeeVerifyOptions {
  std::string doc_file;      // raw CBOR or base64
  std::string at;            // ms since the epoch or RFC 3339; empty: now
  std::string pcr0_hex, nonce_hex, key_hash_hex;
  std::string root_file;     // trust anchor DER (a dev root); empty: the pinned AWS root
  std::optional<uint64_t> max_age_s;
};
// Verifies an AWS Nitro attestation document offline (tee/nitro.h) and prints every field and
// check. Exit 0 valid, 1 refused (the reason printed).
int TeeVerify(const Context& ctx, const TeeVerifyOptions& opts);

struct EnclaveOptions {
  bool dev = false;
  std::string listen = "127.0.0.1:26690";
  std::string pki_dir;  // dev PKI: read, or generated and written when absent
  int threads = 1;
};
// Runs the dev enclave until SIGINT/SIGTERM (tee/enclave.h); prints one JSON line when ready.
int Enclave(const Context& ctx, const EnclaveOptions& opts);

struct DevnetOptions {
  std::string http = "127.0.0.1:26680";
  std::string block_time = "1s";
  bool tee = true;  // start the dev enclave (`lucid enclave --dev`) and serve tee mode
  std::string tee_heartbeat;  // a new chain's enclave registration lifetime, e.g. 10s (default 1h)
  // IPFS (docs/ipfs.md): --ipfs starts a kubo daemon in a private swarm (repo <home>/ipfs,
  // swarm key --ipfs-swarm-key or <home>/ipfs-swarm.key, made on first use) peered with
  // --ipfs-peer; --ipfs-api uses running kubo daemons instead (the first is the hub's own).
  bool ipfs = false;
  std::vector<std::string> ipfs_apis;
  std::string ipfs_swarm_key;
  std::vector<std::string> ipfs_peers;
  uint64_t replicas = 1;       // a new chain's params.replication.min_replicas
  bool no_replicate = false;   // with IPFS: no replicator (no pins announced)
};
int Devnet(const Context& ctx, const DevnetOptions& opts);

// `lucid node`: a standalone inference node beside a chain reached over its Lucid API
// (docs/node.md).
struct NodeOptions {
  std::string chain;          // the chain's Lucid API URL (default: --node)
  std::string comet_rpc;      // broadcast through this CometBFT RPC instead of the API
  std::string http = "127.0.0.1:26690";  // this node's own API
  std::string endpoint;       // URL registered on chain (default: http://<--http>)
  std::string modes = "vanilla";         // comma-separated: vanilla, tee, zkml
  std::string enclave;        // tee: the enclave process, HOST:PORT
  std::string heartbeat;      // tee: re-attest period (default: half the chain's heartbeat); 0: never
  uint64_t stake = 10'000;
  uint64_t fee = 10;
  int threads = 1;
  // OpenAI-compatible routes (docs/llm.md "Trust model"): "API_KEY=KEYNAME", the requester
  // key (in --home/keys) this node's gateway signs LLM requests with for that API key.
  std::vector<std::string> api_keys;
  // IPFS (docs/ipfs.md): kubo RPC addresses; when given, model files come through IPFS (tried
  // in order, fetched files pinned on the first) instead of the chain's hub.
  std::vector<std::string> ipfs_apis;
  bool replicate = false;  // hub replicator on the first --ipfs (docs/ipfs.md "Replication")
  int ipfs_timeout_s = 120;  // per kubo call and per peer
};
int Node(const Context& ctx, const NodeOptions& opts);

}  // namespace lucid::cli
