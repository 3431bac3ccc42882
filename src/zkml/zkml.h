// zkml proofs: output = model(input) for a quantized model whose weights are committed
// (docs/zk.md "zkml protocol"). Transparent (no setup ceremony): "Setup" below is the
// deterministic preprocessing anyone can redo from the model file: compile the circuit and
// commit to the weights.
//
// A proof file carries its statement: the circuit description (H_C = its hash), the weight
// commitment C_W, the model's float inputs, the integer input x, the integer output y and the
// model's outputs. The model commitment, SHA-256("lucid:zkml:model:v1" || 0 || H_C || C_W),
// is what a manifest and the chain record. Verify checks that the head model maps the inputs
// to x, the tail maps y to the outputs, and the proof that y = circuit(x) for the weights
// committed in C_W.
// Thread-safety: ProvingKey is immutable; Prove and Verify are reentrant.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "tensor/tensor.h"
#include "zk/pcs.h"
#include "zkml/circuit.h"

namespace lucid::zkml {

inline constexpr uint8_t kProofVersion = 3;
inline constexpr std::string_view kTranscriptTag = "lucid:zkml:v3";
inline constexpr size_t kMaxProofBytes = size_t{64} << 20;

struct ProvingKey {
  Circuit circuit;
  Hash32 circuit_hash{};
  zk::pcs::ProverData weights;  // C_W and what opening it needs
  Hash32 model_commitment{};
};

Hash32 ModelCommitment(const Hash32& circuit_hash, const zk::pcs::Commitment& weights);

// Compiles the circuit and commits to the weights (refuses unsupported models naming the op).
Result<ProvingKey> Setup(ByteView quantized_model);
// The same from an already compiled circuit (with its weights).
Result<ProvingKey> Setup(Circuit circuit);

struct ProveTimings {
  double execute_ms = 0, commit_ms = 0, prove_ms = 0;
};

struct ProveResult {
  Bytes proof;
  TensorMap outputs;
  ProveTimings timings;
};

// One block of the witness vector W_x (docs/zk.md "Commitments and witness").
struct WitnessBlockInfo {
  std::string what;     // e.g. "layer 0 q", "layer 1 y", "layer 0 r2", "pool 0 d3", "multiplicities"
  uint64_t offset = 0;  // into W_x
  uint64_t size = 0;
  int64_t valid_rows = 0, valid_cols = 0;  // the entries that are constrained (row-major, 2^bits cols)
  unsigned col_bits = 0;
};

struct ProveOptions {
  int threads = 2;  // the proof bytes do not depend on it
  // Tests only: a cheating prover. Called with W_x after the honest witness is built and
  // before it is committed; the prover then proves from the altered values (accumulators
  // and wirings recomputed from them) and skips its own consistency checks, so only the
  // verifier can catch the change.
  std::function<void(std::vector<zk::Fp>& witness, const std::vector<WitnessBlockInfo>& blocks)> cheat;
  // Optional progress: called on the prover's thread as each phase starts ("execute", "commit",
  // "prove": the phases of ProveTimings). Observes only; the proof bytes do not depend on it.
  std::function<void(std::string_view phase)> on_phase;
};

Result<ProveResult> Prove(const ProvingKey& key, const TensorMap& inputs, const ProveOptions& options = {});

struct VerifiedProof {
  Hash32 model_commitment{};
  Hash32 circuit_hash{};
  TensorMap inputs, outputs;
  int64_t rows = 0;
};

// Ok only if every check passes; the error names the first that failed. With
// expected_model_commitment, the proof must be about that model.
Result<VerifiedProof> Verify(ByteView proof, const std::optional<Hash32>& expected_model_commitment);

}  // namespace lucid::zkml
