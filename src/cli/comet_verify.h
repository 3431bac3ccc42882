// `lucid verify RECEIPT_ID --comet-rpc URL --genesis FILE` (docs/lightclient.md): checks that a
// receipt's Lucid block is committed by CometBFT, with the validator set of a local CometBFT
// genesis file as the only trust anchor (not the node's word):
//   - the receipt's inclusion proof leads to the Lucid header's receipts_root (receipt_count leaves);
//   - the Lucid header's hash is the app_hash of the CometBFT header at height h + 1;
//   - that CometBFT header is committed by > 2/3 of the genesis set's voting power
//     (lightclient::VerifySignedHeader: ed25519 signatures checked here).
// Thread-safety: free functions; each call does its own HTTP requests.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "crypto/merkle.h"
#include "protocol/types.h"

namespace lucid::cli {

struct CometCheck {
  std::string name;
  Status status;
  std::string ok_detail;
};

// The checks above, in order, each with its reason. `lucid_chain_id`: the chain id the rest of
// `lucid verify` trusts (must be the CometBFT genesis's). Never contacts anything but rpc_url.
std::vector<CometCheck> CheckUnderCometBft(const std::string& rpc_url, const std::string& genesis_file,
                                           const std::string& lucid_chain_id, const Hash32& receipt_id,
                                           const crypto::InclusionProof& proof, const protocol::BlockHeader& header);

// Checks 2-4 alone for any Lucid block header (e.g. the block of a tee RegisterEnclave): OK,
// or the first refusal named by its check.
Status CheckHeaderUnderCometBft(const std::string& rpc_url, const std::string& genesis_file,
                                const std::string& lucid_chain_id, const protocol::BlockHeader& header);

}  // namespace lucid::cli
