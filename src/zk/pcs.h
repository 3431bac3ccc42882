// Multilinear polynomial commitment of the Ligero/Brakedown "tensor code" family over
// Goldilocks: transparent (no setup), hash-based (SHA-256 Merkle tree over code columns).
// docs/zk.md ("Polynomial commitment") has the protocol, the transcript order and the
// soundness calculation; this header is the contract.
//
// Commit. The 2^n evaluations of f over {0,1}^n (multilinear.h order) form a matrix of
// 2^log_rows rows by 2^log_cols columns (log_rows + log_cols = n), entry (i, j) =
// evals[i 2^log_cols + j]: the column index holds variables 0..log_cols-1 (the point's low
// part r_lo), the row index variables log_cols..n-1 (r_hi), so f(r) = eq(r_hi)^T M eq(r_lo).
// Each row is Reed-Solomon encoded at rate 1/4 (ntt.h: the row is the coefficient vector,
// the codeword its values on the subgroup of order code_len = 4 cols). Leaf j of the Merkle
// tree is crypto::MerkleLeafHash (SHA-256(0x00 || ...)) of encoded column j, i.e. its rows
// entries as 8-byte big-endian values in row order; inner nodes are crypto::MerkleNodeHash
// (SHA-256(0x01 || left || right)); code_len is a power of two, so this is the RFC 6962 tree.
//
// Open/Verify (claims (r_k, v_k), k = 1..K, each r_k in Fp2^n, "f(r_k) = v_k"):
//   absorb the commitment, t, K and every claim;
//   K > 1 and n > 0: alpha <- transcript; sumcheck (sumcheck.h, degree 2) of
//     sum_b f(b) g(b) = sum_k alpha^k v_k with g = sum_k alpha^k eq(r_k, .); the prover sends
//     v* = f(r*) for the sumcheck's point r*; the verifier checks v* g(r*) against the
//     sumcheck's final claim (g is public) and the single claim f(r*) = v* remains.
//     Otherwise r* = r_1, v* = v_1 (K > 1 with n = 0 requires all v_k equal).
//   gamma <- transcript (2^log_rows Fp2); the prover sends the proximity row
//     w = gamma^T M and the evaluation row u = eq(r*_hi)^T M (2^log_cols Fp2 each), absorbed;
//   the verifier checks <u, eq(r*_lo)> = v*;
//   t column indices <- transcript (uniform in [0, code_len), independent); the prover opens
//     the distinct ones (ascending) with one Merkle multiproof; for each opened column c the
//     verifier checks RS(u)[j] = eq(r*_hi) . c and RS(w)[j] = gamma . c.
// Soundness (docs/zk.md): (5/8)^t + code_len/|Fp2| + (K - 1 + 2n)/|Fp2| per proof attempt;
// t = 148 (the default) gives 2^-100.
// Prover cost: O(2^n) field operations plus K 2^n for the batching table; commit costs
// 2^log_rows NTTs of size code_len and 2 code_len SHA-256 calls. Everything is exact, so the
// commitment and proofs are byte-identical for any thread count.
// Thread-safety: pure functions; ProverData is a value.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "codec/codec.h"
#include "zk/field.h"
#include "zk/sumcheck.h"
#include "zk/transcript.h"

namespace lucid::zk::pcs {

// Rate 1/4.
inline constexpr unsigned kLogBlowup = 2;
// Largest number of variables; also keeps code_len <= 2^kMaxLogNttSize for every shape
// Commit chooses and Decode accepts (log_cols + 2 <= 24).
inline constexpr unsigned kMaxVars = 30;
inline constexpr unsigned kMaxLogCols = 22;
// Queries for 100 bits under unique decoding: (1 - 3/8)^148 <= 2^-100.
inline constexpr unsigned kDefaultQueries = 148;
inline constexpr unsigned kMaxQueries = 4096;
// Most evaluation claims one opening batches.
inline constexpr size_t kMaxClaims = size_t{1} << 16;

struct Params {
  // t, the number of column queries. Prover and verifier must use the same value (it is
  // absorbed into the transcript); below 148 the proof is weaker than 100 bits (tests only).
  unsigned num_queries = kDefaultQueries;
  // Commit only: force 2^log_rows rows instead of the size-minimising shape.
  std::optional<unsigned> log_rows;
  int threads = 2;  // 1 or 2 (more count as 2); results never depend on it
};

// The log_rows Commit picks for n variables and t queries: the smallest estimated proof,
//   bytes(m) = 32 2^(n-m) + 8 t 2^m + 32 t max(0, n - m + 2 - floor(log2 t)),
// over m = max(0, n - kMaxLogCols)..n (two Fp2 rows, t columns of 2^m entries, Merkle
// siblings below the level where t paths have merged); ties go to the smaller m.
unsigned ChooseLogRows(unsigned num_vars, unsigned num_queries);

struct Commitment {
  static constexpr uint8_t kVersion = 1;
  static constexpr size_t kEncodedBytes = 1 + 1 + 1 + 32;

  uint8_t num_vars = 0;
  uint8_t log_rows = 0;
  Hash32 root{};

  unsigned log_cols() const { return num_vars - log_rows; }
  size_t rows() const { return size_t{1} << log_rows; }
  size_t cols() const { return size_t{1} << log_cols(); }
  size_t code_len() const { return cols() << kLogBlowup; }

  // num_vars <= kMaxVars, log_rows <= num_vars, log_cols <= kMaxLogCols.
  Status Validate() const;
  // u8 version, u8 num_vars, u8 log_rows, 32-byte root (35 bytes).
  Bytes Encode() const;
  // Strict: exactly 35 bytes, version 1, a valid shape.
  static Result<Commitment> Decode(ByteView bytes);
  friend bool operator==(const Commitment&, const Commitment&) = default;
};

struct ProverData {
  Commitment commitment;
  std::vector<Fp> evals;    // the 2^n committed evaluations (row-major matrix)
  std::vector<Fp> encoded;  // rows x code_len, row-major: row i is RS(evals row i)
  // Merkle tree in heap order: tree[1] is the root, tree[code_len + j] leaf j; tree[0] unused.
  std::vector<Hash32> tree;
};

// InvalidArgument unless evals.size() == 2^n with n <= kMaxVars and the shape is valid.
Result<ProverData> Commit(std::span<const Fp> evals, const Params& params = {});

// Recomputes data.tree and data.commitment.root from data.encoded (Commit uses it; a test's
// cheating prover calls it after altering data.encoded). InvalidArgument on a size mismatch.
Status BuildColumnTree(ProverData& data, int threads = 2);

struct Claim {
  std::vector<Fp2> point;  // (x_0, ..., x_{n-1})
  Fp2 value;
};

struct OpeningProof {
  static constexpr uint8_t kVersion = 1;

  // Present iff the opening batches K > 1 claims on n > 0 variables.
  std::optional<SumcheckProof> batch_sumcheck;
  Fp2 batched_value;                 // v* = f(r*) (only with batch_sumcheck)
  std::vector<Fp2> proximity_row;    // w = gamma^T M, cols entries
  std::vector<Fp2> evaluation_row;   // u = eq(r*_hi)^T M, cols entries
  std::vector<Fp> columns;           // the opened columns, ascending index, rows entries each
  std::vector<Hash32> merkle_nodes;  // multiproof siblings (docs/zk.md order)

  // u8 version; u8 batched (0/1) [then SumcheckProof::WriteTo and the 16-byte v*];
  // cols Fp2 of w, cols Fp2 of u (no counts: the commitment fixes them); u32 entry count
  // (columns x rows), the entries column by column; u32 node count, 32-byte nodes.
  Bytes Encode() const;
  // Strict, with every length bounded by the commitment's shape and t: a batch sumcheck of
  // exactly n rounds of 3 values, 1..min(t, code_len) columns, at most count x log2(code_len)
  // nodes, canonical field elements, no trailing bytes.
  static Result<OpeningProof> Decode(ByteView bytes, const Commitment& commitment,
                                     const Params& params = {});
};

// The opening of every claim at once. InvalidArgument for no claims, more than kMaxClaims,
// a point of the wrong length, or a claimed value that is not f(point) (checked by the
// prover, so a caller's bug never produces a proof that cannot verify).
Result<OpeningProof> Open(const ProverData& data, std::span<const Claim> claims,
                          Transcript& transcript, const Params& params = {});

// Ok iff the proof shows f(r_k) = v_k for every claim, for the f committed to.
Status Verify(const Commitment& commitment, std::span<const Claim> claims,
              const OpeningProof& proof, Transcript& transcript, const Params& params = {});

}  // namespace lucid::zk::pcs
