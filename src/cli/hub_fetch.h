// Fetching a model version from a node's hub with every byte checked against its CID, and
// re-executing a receipt's request locally with the Lucid engine: what `lucid verify --replay`
// and `lucid challenge` (docs/settlement.md) do before they trust or dispute an output.
// Thread-safety: free functions; the ApiClient is used from the calling thread.
#pragma once

#include <utility>

#include "api/client.h"
#include "crypto/cid.h"
#include "hub/manifest.h"
#include "protocol/types.h"
#include "tensor/tensor.h"

namespace lucid::cli {

// The manifest of a version (checked against its CID) and its raw bytes.
Result<std::pair<hub::Manifest, Bytes>> FetchManifest(const api::ApiClient& api, const crypto::Cid& cid);
// One file of a manifest, checked against its CID and size.
Result<Bytes> FetchFile(const api::ApiClient& api, const hub::ManifestFile& f,
                        const api::TransferProgress& progress = nullptr);

// Runs receipt's model on inputs with the Lucid engine (ONNX, or the LLM engine for GGUF
// versions, whose canonical request must name the receipt's model) and returns the outputs.
// claimed_outputs (may be null): an LLM answer's outputs, compared token by token so that a
// mismatch says where the answers part.
Result<TensorMap> ReexecuteLocally(const api::ApiClient& api, const protocol::Receipt& receipt,
                                   const TensorMap& inputs, const TensorMap* claimed_outputs = nullptr);

}  // namespace lucid::cli
