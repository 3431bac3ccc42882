#include "cli/comet_verify.h"

#include <httplib.h>

#include <fstream>
#include <sstream>

#include "crypto/merkle.h"
#include "lightclient/lightclient.h"
#include "lightclient/rpc_json.h"

namespace lucid::cli {

namespace {

// GET rpc_url + path; the body whatever the HTTP status (CometBFT answers JSON-RPC errors
// with a JSON body that the parsers turn into a named refusal).
Result<std::string> RpcGet(const std::string& rpc_url, const std::string& path) {
  std::string base = rpc_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string prefix;  // a path after scheme://host:port, e.g. a proxy's /rpc
  if (size_t scheme = base.find("://"); scheme != std::string::npos) {
    if (size_t slash = base.find('/', scheme + 3); slash != std::string::npos) {
      prefix = base.substr(slash);
      base.resize(slash);
    }
  }
  httplib::Client client(base);
  client.set_connection_timeout(5);
  client.set_read_timeout(30);
  auto res = client.Get(prefix + path);
  if (!res)
    return Unavailable("cannot reach the CometBFT RPC at " + rpc_url + " (" + httplib::to_string(res.error()) + ")");
  if (res->body.size() > (64u << 20)) return OutOfRange("CometBFT RPC answer over 64 MiB");
  return res->body;
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFound("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The set the node reports at `height` (every page), to say why a validators_hash differs.
Result<lightclient::ValidatorSet> RpcValidatorSet(const std::string& rpc_url, int64_t height) {
  std::vector<lightclient::Validator> all;
  for (int page = 1; page <= 100; ++page) {
    ASSIGN_OR_RETURN(std::string body, RpcGet(rpc_url, "/validators?height=" + std::to_string(height) +
                                                           "&page=" + std::to_string(page) + "&per_page=100"));
    ASSIGN_OR_RETURN(lightclient::ValidatorsPage p, lightclient::ParseValidatorsJson(body));
    all.insert(all.end(), p.validators.begin(), p.validators.end());
    if (p.validators.empty() || static_cast<int64_t>(all.size()) >= p.total) break;
  }
  return lightclient::MakeValidatorSet(std::move(all));
}

std::string Upper(ByteView b) {
  std::string s = ToHex(b);
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

// Checks 2-4 below: the genesis file, the app hash at h + 1 and its commit, appended to out.
static void AddCommittedHeaderChecks(const std::string& rpc_url, const std::string& genesis_file,
                              const std::string& lucid_chain_id, const protocol::BlockHeader& header,
                              std::vector<CometCheck>& out) {
  const std::string block = "Lucid block " + std::to_string(header.height);
  // 2. The trust anchor: the local CometBFT genesis file.
  auto genesis_text = ReadFile(genesis_file);
  auto genesis = genesis_text.ok() ? lightclient::ParseGenesisJson(*genesis_text)
                                   : Result<lightclient::Genesis>(genesis_text.status());
  if (!genesis.ok()) {
    out.push_back({"comet_genesis", genesis.status().WithContext(genesis_file), ""});
    return;
  }
  Status same_chain = genesis->chain_id != lucid_chain_id
                          ? PermissionDenied("CometBFT genesis is for chain '" + genesis->chain_id +
                                             "', the Lucid chain is '" + lucid_chain_id + "'")
                      : header.chain_id != genesis->chain_id
                          ? PermissionDenied(block + " is for chain '" + header.chain_id + "'")
                          : Status::Ok();
  out.push_back({"comet_genesis", same_chain,
                 std::to_string(genesis->validators.validators.size()) + " validators, total power " +
                     std::to_string(genesis->validators.total_voting_power) + ", chain '" + genesis->chain_id +
                     "', from " + genesis_file});
  if (!same_chain.ok()) return;

  // 3. The CometBFT header at h + 1 carries the Lucid header's hash as its app_hash...
  const int64_t comet_height = static_cast<int64_t>(header.height) + 1;
  const std::string at = "CometBFT block " + std::to_string(comet_height);
  auto body = RpcGet(rpc_url, "/commit?height=" + std::to_string(comet_height));
  auto signed_header = body.ok() ? lightclient::ParseCommitJson(*body) : Result<lightclient::SignedHeader>(body.status());
  if (!signed_header.ok()) {
    out.push_back({"comet_commit", signed_header.status().WithContext(at + " (not committed yet? retry)"), ""});
    return;
  }
  const Hash32 lucid_hash = header.Hash();
  const Bytes& app_hash = signed_header->header.app_hash;
  Status app = std::equal(lucid_hash.begin(), lucid_hash.end(), app_hash.begin(), app_hash.end())
                   ? Status::Ok()
                   : PermissionDenied(at + " app_hash is " + Upper(app_hash) + ", not the hash of " + block + " (" +
                                      Upper(lucid_hash) + ")");
  out.push_back({"app_hash", app, block + " hashes to the app_hash of " + at});

  // 4. ... and that header is committed by > 2/3 of the genesis validators' power.
  lightclient::Verification v =
      lightclient::VerifySignedHeader(*signed_header, genesis->validators, genesis->chain_id, comet_height);
  Status commit = v.ToStatus();
  if (v.refusal == lightclient::Refusal::kValidatorsHashMismatch) {
    auto reported = RpcValidatorSet(rpc_url, comet_height);
    if (reported.ok()) {
      Hash32 rh = reported->Hash();
      bool node_agrees = std::equal(rh.begin(), rh.end(), signed_header->header.validators_hash.begin(),
                                    signed_header->header.validators_hash.end());
      commit = commit.WithContext(
          node_agrees ? "the node's validator set at this height (" + std::to_string(reported->validators.size()) +
                            " validators) is not the genesis file's: the set changed since genesis or the file is "
                            "not this chain's genesis (only the genesis set is trusted)"
                      : "the node's validator set does not match its own header either");
    }
  }
  out.push_back({"comet_commit", commit,
                 at + " (" + Upper(v.header_hash) + ") signed by " + std::to_string(v.commit_votes) + " of " +
                     std::to_string(genesis->validators.validators.size()) + " genesis validators: power " +
                     std::to_string(v.signed_power) + " of " + std::to_string(v.total_power) + " (> " +
                     std::to_string(v.needed_power) + " needed); ed25519 signatures checked"});
}

std::vector<CometCheck> CheckUnderCometBft(const std::string& rpc_url, const std::string& genesis_file,
                                           const std::string& lucid_chain_id, const Hash32& receipt_id,
                                           const crypto::InclusionProof& proof, const protocol::BlockHeader& header) {
  std::vector<CometCheck> out;
  const std::string block = "Lucid block " + std::to_string(header.height);

  // 1. The receipt is under the Lucid header's receipts_root (the size pinned by the header).
  Status inclusion =
      proof.tree_size != header.receipt_count
          ? InvalidArgument("proof is for a tree of " + std::to_string(proof.tree_size) + " receipts but " + block +
                            " holds " + std::to_string(header.receipt_count))
          : crypto::MerkleVerify(crypto::MerkleLeafHash(receipt_id), proof, header.receipts_root);
  out.push_back({"inclusion", inclusion, "receipt is leaf " + std::to_string(proof.leaf_index) + " of " +
                                             std::to_string(proof.tree_size) + " under the receipts_root of " +
                                             block});
  AddCommittedHeaderChecks(rpc_url, genesis_file, lucid_chain_id, header, out);
  return out;
}

Status CheckHeaderUnderCometBft(const std::string& rpc_url, const std::string& genesis_file,
                                const std::string& lucid_chain_id, const protocol::BlockHeader& header) {
  std::vector<CometCheck> checks;
  AddCommittedHeaderChecks(rpc_url, genesis_file, lucid_chain_id, header, checks);
  for (const CometCheck& c : checks)
    if (!c.status.ok()) return c.status.WithContext(c.name);
  if (checks.size() < 3) return Internal("CometBFT header checks incomplete");
  return Status::Ok();
}

}  // namespace lucid::cli
