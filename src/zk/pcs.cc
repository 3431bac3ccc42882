#include "zk/pcs.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <string>

#include "crypto/merkle.h"
#include "zk/multilinear.h"
#include "zk/ntt.h"
#include "zk/parallel.h"

namespace lucid::zk::pcs {
namespace {

// Below this many field operations a second thread costs more than it saves.
constexpr size_t kMinParallelWork = size_t{1} << 14;
// Columns gathered at once before hashing: one cache-friendly pass over each row segment.
constexpr size_t kGatherBlock = 64;

bool UseTwoThreads(int threads, size_t work) { return threads >= 2 && work >= kMinParallelWork; }

std::string Str(size_t v) { return std::to_string(v); }

Status ValidateParams(const Params& params) {
  if (params.num_queries == 0 || params.num_queries > kMaxQueries)
    return InvalidArgument("pcs: " + Str(params.num_queries) + " queries (1.." +
                           Str(kMaxQueries) + ")");
  return Status::Ok();
}

Status ValidateClaims(unsigned num_vars, std::span<const Claim> claims) {
  if (claims.empty()) return InvalidArgument("pcs: no evaluation claims");
  if (claims.size() > kMaxClaims)
    return InvalidArgument("pcs: " + Str(claims.size()) + " claims (max " + Str(kMaxClaims) +
                           ")");
  for (size_t k = 0; k < claims.size(); ++k) {
    if (claims[k].point.size() != num_vars)
      return InvalidArgument("pcs: claim " + Str(k) + " has a point of " +
                             Str(claims[k].point.size()) + " coordinates, the commitment " +
                             Str(num_vars) + " variables");
  }
  return Status::Ok();
}

bool IsBatched(const Commitment& c, std::span<const Claim> claims) {
  return claims.size() > 1 && c.num_vars > 0;
}

// Everything the opening depends on, before the first challenge.
void AbsorbStatement(Transcript& transcript, const Commitment& commitment,
                     const Params& params, std::span<const Claim> claims) {
  transcript.Absorb("pcs/commitment", commitment.Encode());
  transcript.AbsorbU64("pcs/num_queries", params.num_queries);
  transcript.AbsorbU64("pcs/num_claims", claims.size());
  for (const Claim& claim : claims) {
    transcript.AbsorbFp2("pcs/claim_point", claim.point);
    transcript.AbsorbFp2("pcs/claim_value", claim.value);
  }
}

// alpha^k for k = 0..count-1.
std::vector<Fp2> Powers(Fp2 alpha, size_t count) {
  std::vector<Fp2> out(count);
  Fp2 acc = Fp2::One();
  for (Fp2& x : out) {
    x = acc;
    acc *= alpha;
  }
  return out;
}

Fp2 InnerProduct(std::span<const Fp2> a, std::span<const Fp2> b) {
  Fp2 sum;
  for (size_t i = 0; i < a.size(); ++i) sum += a[i] * b[i];
  return sum;
}

// Rows combinations out_k[j] = sum_i coeffs_k[i] M[i][j] for the two coefficient vectors,
// accumulated row by row (a fixed order, so the result does not depend on the split).
void CombineRows(std::span<const Fp> matrix, size_t rows, size_t cols,
                 std::span<const Fp2> coeffs_a, std::span<const Fp2> coeffs_b,
                 std::vector<Fp2>& out_a, std::vector<Fp2>& out_b, int threads) {
  out_a.assign(cols, Fp2::Zero());
  out_b.assign(cols, Fp2::Zero());
  auto range = [&](size_t begin, size_t end) {
    for (size_t i = 0; i < rows; ++i) {
      const Fp* row = matrix.data() + i * cols;
      const Fp2 a = coeffs_a[i], b = coeffs_b[i];
      for (size_t j = begin; j < end; ++j) {
        out_a[j] += a * row[j];
        out_b[j] += b * row[j];
      }
    }
  };
  const size_t half = cols / 2;
  internal::RunPair(UseTwoThreads(threads, rows * cols), [&] { range(0, half); },
                    [&] { range(half, cols); });
}

// RS encoding of an Fp2 message: the code is Fp-linear, so encode both coordinates.
Result<std::pair<std::vector<Fp>, std::vector<Fp>>> EncodeFp2(std::span<const Fp2> message) {
  std::vector<Fp> c0(message.size()), c1(message.size());
  for (size_t i = 0; i < message.size(); ++i) {
    c0[i] = message[i].c0();
    c1[i] = message[i].c1();
  }
  ASSIGN_OR_RETURN(std::vector<Fp> e0, ReedSolomonEncode(c0, kLogBlowup));
  ASSIGN_OR_RETURN(std::vector<Fp> e1, ReedSolomonEncode(c1, kLogBlowup));
  return std::make_pair(std::move(e0), std::move(e1));
}

// The sorted distinct query indices.
Result<std::vector<uint64_t>> DrawQueries(Transcript& transcript, const Params& params,
                                          size_t code_len) {
  ASSIGN_OR_RETURN(std::vector<uint64_t> q,
                   transcript.ChallengeIndices("pcs/queries", params.num_queries, code_len));
  std::sort(q.begin(), q.end());
  q.erase(std::unique(q.begin(), q.end()), q.end());
  return q;
}

// The 8-byte big-endian encoding of x (field.h's ToBytes, inlined for the leaf loop).
inline void PutFp(uint8_t* out, Fp x) {
  const uint64_t be = __builtin_bswap64(x.value());
  std::memcpy(out, &be, sizeof(be));
}

Hash32 ColumnLeafHash(std::span<const Fp> column) {
  Bytes bytes(column.size() * Fp::kBytes);
  for (size_t i = 0; i < column.size(); ++i) PutFp(bytes.data() + i * Fp::kBytes, column[i]);
  return crypto::MerkleLeafHash(bytes);
}

// Leaves [begin, end) of the tree over data.encoded's columns: a block of columns is
// gathered (one contiguous read per row segment) into their leaf bytes, then hashed.
void HashLeaves(const ProverData& data, std::vector<Hash32>& tree, size_t begin, size_t end) {
  const size_t rows = data.commitment.rows();
  const size_t len = data.commitment.code_len();
  const size_t leaf_bytes = rows * Fp::kBytes;
  Bytes block(kGatherBlock * leaf_bytes);
  for (size_t j0 = begin; j0 < end; j0 += kGatherBlock) {
    const size_t width = std::min(kGatherBlock, end - j0);
    for (size_t i = 0; i < rows; ++i) {
      const Fp* src = data.encoded.data() + i * len + j0;
      for (size_t c = 0; c < width; ++c)
        PutFp(block.data() + c * leaf_bytes + i * Fp::kBytes, src[c]);
    }
    for (size_t c = 0; c < width; ++c)
      tree[len + j0 + c] = crypto::MerkleLeafHash(ByteView(block.data() + c * leaf_bytes, leaf_bytes));
  }
}

// The multiproof's sibling order: level by level from the leaves, known nodes ascending;
// a known node whose sibling is not known contributes that sibling.
std::vector<Hash32> ProveColumns(const std::vector<Hash32>& tree, size_t len,
                                 std::span<const uint64_t> leaves) {
  std::vector<uint64_t> known;
  for (uint64_t j : leaves) known.push_back(len + j);
  std::vector<Hash32> nodes;
  while (known.front() > 1) {
    std::vector<uint64_t> next;
    for (size_t p = 0; p < known.size(); ++p) {
      const uint64_t x = known[p];
      if ((x & 1) == 0 && p + 1 < known.size() && known[p + 1] == x + 1) {
        ++p;
      } else {
        nodes.push_back(tree[x ^ 1]);
      }
      next.push_back(x >> 1);
    }
    known = std::move(next);
  }
  return nodes;
}

Status VerifyColumns(const Hash32& root, size_t len, std::span<const uint64_t> leaves,
                     std::vector<Hash32> leaf_hashes, std::span<const Hash32> nodes) {
  std::vector<uint64_t> known;
  for (uint64_t j : leaves) known.push_back(len + j);
  std::vector<Hash32> hashes = std::move(leaf_hashes);
  size_t used = 0;
  while (known.front() > 1) {
    std::vector<uint64_t> next;
    std::vector<Hash32> next_hashes;
    for (size_t p = 0; p < known.size(); ++p) {
      const uint64_t x = known[p];
      Hash32 parent;
      if ((x & 1) == 0 && p + 1 < known.size() && known[p + 1] == x + 1) {
        parent = crypto::MerkleNodeHash(hashes[p], hashes[p + 1]);
        ++p;
      } else {
        if (used == nodes.size()) return InvalidArgument("pcs: Merkle multiproof too short");
        const Hash32& sibling = nodes[used++];
        parent = (x & 1) == 0 ? crypto::MerkleNodeHash(hashes[p], sibling)
                              : crypto::MerkleNodeHash(sibling, hashes[p]);
      }
      next.push_back(x >> 1);
      next_hashes.push_back(parent);
    }
    known = std::move(next);
    hashes = std::move(next_hashes);
  }
  if (used != nodes.size()) return InvalidArgument("pcs: Merkle multiproof has extra nodes");
  if (hashes.front() != root)
    return InvalidArgument("pcs: opened columns do not lead to the committed Merkle root");
  return Status::Ok();
}

// With no batching (one claim, or n = 0) every claim must state the same value.
Status SameValue(std::span<const Claim> claims) {
  for (const Claim& claim : claims)
    if (claim.value != claims[0].value) return InvalidArgument("pcs: claims on a constant polynomial differ");
  return Status::Ok();
}

// eq tables of the point's column (low) and row (high) coordinates, as the matrix splits it.
struct SplitEq {
  std::vector<Fp2> hi, lo;
};
Result<SplitEq> SplitEqTables(const std::vector<Fp2>& point, const Commitment& c) {
  SplitEq eq;
  ASSIGN_OR_RETURN(eq.hi, EqTable(std::span<const Fp2>(point.data() + c.log_cols(), c.log_rows)));
  ASSIGN_OR_RETURN(eq.lo, EqTable(std::span<const Fp2>(point.data(), c.log_cols())));
  return eq;
}

}  // namespace

unsigned ChooseLogRows(unsigned num_vars, unsigned num_queries) {
  const unsigned t = std::clamp(num_queries, 1u, kMaxQueries);
  const unsigned log_t = static_cast<unsigned>(std::bit_width(t) - 1);
  const unsigned lo = num_vars > kMaxLogCols ? num_vars - kMaxLogCols : 0;
  unsigned best = lo;
  uint64_t best_bytes = UINT64_MAX;
  for (unsigned m = lo; m <= num_vars; ++m) {
    // Below 2^(30 + 3 + 12 + 1): no overflow for num_vars <= kMaxVars, t <= kMaxQueries.
    const unsigned depth = num_vars - m + kLogBlowup;
    const uint64_t bytes = (uint64_t{32} << (num_vars - m)) + ((uint64_t{8} * t) << m) +
                           uint64_t{32} * t * (depth > log_t ? depth - log_t : 0);
    if (bytes < best_bytes) {
      best = m;
      best_bytes = bytes;
    }
  }
  return best;
}

Status Commitment::Validate() const {
  if (num_vars > kMaxVars)
    return InvalidArgument("pcs commitment: " + Str(num_vars) + " variables (max " +
                           Str(kMaxVars) + ")");
  if (log_rows > num_vars)
    return InvalidArgument("pcs commitment: 2^" + Str(log_rows) + " rows for " +
                           Str(num_vars) + " variables");
  if (log_cols() > kMaxLogCols)
    return InvalidArgument("pcs commitment: 2^" + Str(log_cols()) + " columns (max 2^" +
                           Str(kMaxLogCols) + ")");
  return Status::Ok();
}

Bytes Commitment::Encode() const {
  codec::Writer w;
  w.U8(kVersion);
  w.U8(num_vars);
  w.U8(log_rows);
  w.Fixed(root);
  return w.Take();
}

Result<Commitment> Commitment::Decode(ByteView bytes) {
  codec::Reader r(bytes);
  ASSIGN_OR_RETURN(uint8_t version, r.U8());
  if (version != kVersion)
    return InvalidArgument("pcs commitment version " + Str(version) + " (expected " +
                           Str(kVersion) + ")");
  Commitment c;
  ASSIGN_OR_RETURN(c.num_vars, r.U8());
  ASSIGN_OR_RETURN(c.log_rows, r.U8());
  RETURN_IF_ERROR(r.Fixed(c.root));
  RETURN_IF_ERROR(r.Finish());
  RETURN_IF_ERROR(c.Validate());
  return c;
}

Status BuildColumnTree(ProverData& data, int threads) {
  RETURN_IF_ERROR(data.commitment.Validate());
  const size_t rows = data.commitment.rows();
  const size_t len = data.commitment.code_len();
  if (data.encoded.size() != rows * len)
    return InvalidArgument("pcs: encoded matrix has " + Str(data.encoded.size()) +
                           " entries, the shape needs " + Str(rows * len));
  data.tree.assign(2 * len, Hash32{});
  // The root's two subtrees are independent: each thread hashes one half of the leaves and
  // builds its subtree level by level (len >= 4, so each half has at least two leaves).
  auto subtree = [&](size_t half) {
    HashLeaves(data, data.tree, half * len / 2, (half + 1) * len / 2);
    for (size_t level = len / 2; level >= 2; level /= 2) {
      const size_t begin = level + half * level / 2, end = begin + level / 2;
      for (size_t x = begin; x < end; ++x)
        data.tree[x] = crypto::MerkleNodeHash(data.tree[2 * x], data.tree[2 * x + 1]);
    }
  };
  internal::RunPair(UseTwoThreads(threads, rows * len), [&] { subtree(0); },
                    [&] { subtree(1); });
  data.tree[1] = crypto::MerkleNodeHash(data.tree[2], data.tree[3]);
  data.commitment.root = data.tree[1];
  return Status::Ok();
}

Result<ProverData> Commit(std::span<const Fp> evals, const Params& params) {
  const size_t size = evals.size();
  if (size == 0 || !std::has_single_bit(size) || size > (size_t{1} << kMaxVars))
    return InvalidArgument("pcs: " + Str(size) + " evaluations (a power of two up to 2^" +
                           Str(kMaxVars) + ")");
  RETURN_IF_ERROR(ValidateParams(params));
  ProverData data;
  const unsigned n = static_cast<unsigned>(std::countr_zero(size));
  data.commitment.num_vars = static_cast<uint8_t>(n);
  const unsigned log_rows =
      params.log_rows.has_value() ? *params.log_rows : ChooseLogRows(n, params.num_queries);
  if (log_rows > n) return InvalidArgument("pcs: 2^" + Str(log_rows) + " rows for n = " + Str(n));
  data.commitment.log_rows = static_cast<uint8_t>(log_rows);
  RETURN_IF_ERROR(data.commitment.Validate());

  const size_t rows = data.commitment.rows(), cols = data.commitment.cols();
  const size_t len = data.commitment.code_len();
  data.evals.assign(evals.begin(), evals.end());
  data.encoded.resize(rows * len);
  Status status[2];
  auto encode_rows = [&](size_t begin, size_t end, int ntt_threads, Status& out) {
    for (size_t i = begin; i < end; ++i) {
      auto codeword =
          ReedSolomonEncode(std::span<const Fp>(data.evals).subspan(i * cols, cols), kLogBlowup,
                            ntt_threads);
      if (!codeword.ok()) {
        out = codeword.status();
        return;
      }
      std::copy(codeword->begin(), codeword->end(), data.encoded.begin() + i * len);
    }
  };
  if (rows == 1) {
    encode_rows(0, 1, params.threads, status[0]);
  } else {
    internal::RunPair(UseTwoThreads(params.threads, rows * len),
                      [&] { encode_rows(0, rows / 2, 1, status[0]); },
                      [&] { encode_rows(rows / 2, rows, 1, status[1]); });
  }
  RETURN_IF_ERROR(status[0]);
  RETURN_IF_ERROR(status[1]);
  RETURN_IF_ERROR(BuildColumnTree(data, params.threads));
  return data;
}

Result<OpeningProof> Open(const ProverData& data, std::span<const Claim> claims,
                          Transcript& transcript, const Params& params) {
  const Commitment& c = data.commitment;
  RETURN_IF_ERROR(c.Validate());
  RETURN_IF_ERROR(ValidateParams(params));
  RETURN_IF_ERROR(ValidateClaims(c.num_vars, claims));
  const size_t rows = c.rows(), cols = c.cols(), len = c.code_len();
  if (data.evals.size() != rows * cols || data.encoded.size() != rows * len ||
      data.tree.size() != 2 * len)
    return InvalidArgument("pcs: prover data does not match its commitment's shape");

  AbsorbStatement(transcript, c, params, claims);
  OpeningProof proof;
  std::vector<Fp2> point;
  Fp2 value;
  if (IsBatched(c, claims)) {
    const std::vector<Fp2> coeffs = Powers(transcript.ChallengeFp2("pcs/batch_alpha"),
                                           claims.size());
    // g = sum_k alpha^k eq(r_k, .), each eq table as the tensor product of its low and high
    // halves (eq(r, b) = eq(r_lo, b_lo) eq(r_hi, b_hi)) with alpha^k folded into the small
    // high half: one Fp2 product and sum per entry and claim. Rows where eq(r_hi, .) is zero
    // are skipped: a claim on an aligned block of a larger vector (zkml) has 0/1 high
    // coordinates, so it costs the block's size, not the vector's.
    std::vector<Fp2> g(data.evals.size());
    Fp2 combined;
    const unsigned low_vars = c.num_vars / 2;
    const size_t low_size = size_t{1} << low_vars;
    for (size_t k = 0; k < claims.size(); ++k) {
      const std::span<const Fp2> r(claims[k].point);
      ASSIGN_OR_RETURN(std::vector<Fp2> eq_low, EqTable(r.first(low_vars)));
      ASSIGN_OR_RETURN(std::vector<Fp2> eq_high, EqTable(r.subspan(low_vars)));
      for (Fp2& x : eq_high) x *= coeffs[k];
      auto accumulate = [&](size_t begin, size_t end) {
        for (size_t h = begin; h < end; ++h) {
          if (eq_high[h].IsZero()) continue;
          Fp2* out = g.data() + h * low_size;
          for (size_t l = 0; l < low_size; ++l) out[l] += eq_high[h] * eq_low[l];
        }
      };
      const size_t half = eq_high.size() / 2;
      internal::RunPair(UseTwoThreads(params.threads, g.size()), [&] { accumulate(0, half); },
                        [&] { accumulate(half, eq_high.size()); });
      combined += coeffs[k] * claims[k].value;
    }
    VirtualPolynomial poly{c.num_vars, 2, {ProductTerm{Fp2::One(), {0, 1}}}};
    const MultilinearRef refs[] = {std::span<const Fp>(data.evals), std::span<const Fp2>(g)};
    ASSIGN_OR_RETURN(SumcheckProverOutput out,
                     ProveSumcheck(poly, refs, transcript, {.threads = params.threads}));
    if (out.claimed_sum != combined)
      return InvalidArgument("pcs: a claimed value is not the committed polynomial's value");
    proof.batch_sumcheck = std::move(out.proof);
    proof.batched_value = out.final_values[0];
    transcript.AbsorbFp2("pcs/batched_value", proof.batched_value);
    point = std::move(out.point);
    value = proof.batched_value;
  } else {
    RETURN_IF_ERROR(SameValue(claims));
    point = claims[0].point;
    value = claims[0].value;
  }

  const std::vector<Fp2> gamma = transcript.ChallengeFp2s("pcs/proximity", rows);
  ASSIGN_OR_RETURN(SplitEq eq, SplitEqTables(point, c));
  const std::vector<Fp2>& eq_hi = eq.hi;
  const std::vector<Fp2>& eq_lo = eq.lo;
  CombineRows(data.evals, rows, cols, gamma, eq_hi, proof.proximity_row, proof.evaluation_row,
              params.threads);
  if (InnerProduct(proof.evaluation_row, eq_lo) != value)
    return InvalidArgument("pcs: the claimed value is not the committed polynomial's value");
  transcript.AbsorbFp2("pcs/proximity_row", proof.proximity_row);
  transcript.AbsorbFp2("pcs/evaluation_row", proof.evaluation_row);

  ASSIGN_OR_RETURN(std::vector<uint64_t> queries, DrawQueries(transcript, params, len));
  proof.columns.reserve(queries.size() * rows);
  for (uint64_t j : queries) {
    for (size_t i = 0; i < rows; ++i) proof.columns.push_back(data.encoded[i * len + j]);
  }
  proof.merkle_nodes = ProveColumns(data.tree, len, queries);
  return proof;
}

Status Verify(const Commitment& c, std::span<const Claim> claims, const OpeningProof& proof,
              Transcript& transcript, const Params& params) {
  RETURN_IF_ERROR(c.Validate());
  RETURN_IF_ERROR(ValidateParams(params));
  RETURN_IF_ERROR(ValidateClaims(c.num_vars, claims));
  const size_t rows = c.rows(), cols = c.cols(), len = c.code_len();
  const bool batched = IsBatched(c, claims);
  if (proof.batch_sumcheck.has_value() != batched)
    return InvalidArgument(batched ? "pcs: batched opening without its sumcheck"
                                   : "pcs: unexpected batching sumcheck");
  if (proof.proximity_row.size() != cols || proof.evaluation_row.size() != cols)
    return InvalidArgument("pcs: combined rows must have " + Str(cols) + " entries");

  AbsorbStatement(transcript, c, params, claims);
  std::vector<Fp2> point;
  Fp2 value;
  if (batched) {
    const std::vector<Fp2> coeffs = Powers(transcript.ChallengeFp2("pcs/batch_alpha"),
                                           claims.size());
    Fp2 combined;
    for (size_t k = 0; k < claims.size(); ++k) combined += coeffs[k] * claims[k].value;
    ASSIGN_OR_RETURN(SumcheckSubclaim sub,
                     VerifySumcheck(c.num_vars, 2, combined, *proof.batch_sumcheck, transcript));
    transcript.AbsorbFp2("pcs/batched_value", proof.batched_value);
    Fp2 g_at_point;
    for (size_t k = 0; k < claims.size(); ++k) {
      ASSIGN_OR_RETURN(Fp2 eq, EqEvaluate(claims[k].point, sub.point));
      g_at_point += coeffs[k] * eq;
    }
    if (proof.batched_value * g_at_point != sub.expected_value)
      return InvalidArgument("pcs: batched value does not match the batching sumcheck");
    point = std::move(sub.point);
    value = proof.batched_value;
  } else {
    RETURN_IF_ERROR(SameValue(claims));
    point = claims[0].point;
    value = claims[0].value;
  }

  const std::vector<Fp2> gamma = transcript.ChallengeFp2s("pcs/proximity", rows);
  ASSIGN_OR_RETURN(SplitEq eq, SplitEqTables(point, c));
  const std::vector<Fp2>& eq_hi = eq.hi;
  const std::vector<Fp2>& eq_lo = eq.lo;
  if (InnerProduct(proof.evaluation_row, eq_lo) != value)
    return InvalidArgument("pcs: evaluation row does not give the claimed value");
  transcript.AbsorbFp2("pcs/proximity_row", proof.proximity_row);
  transcript.AbsorbFp2("pcs/evaluation_row", proof.evaluation_row);

  ASSIGN_OR_RETURN(std::vector<uint64_t> queries, DrawQueries(transcript, params, len));
  if (proof.columns.size() != queries.size() * rows)
    return InvalidArgument("pcs: " + Str(proof.columns.size()) + " opened entries, expected " +
                           Str(queries.size()) + " columns of " + Str(rows));
  ASSIGN_OR_RETURN(auto enc_w, EncodeFp2(proof.proximity_row));
  ASSIGN_OR_RETURN(auto enc_u, EncodeFp2(proof.evaluation_row));
  std::vector<Hash32> leaf_hashes(queries.size());
  for (size_t q = 0; q < queries.size(); ++q) {
    const uint64_t j = queries[q];
    const std::span<const Fp> column(proof.columns.data() + q * rows, rows);
    Fp2 at_w, at_u;
    for (size_t i = 0; i < rows; ++i) {
      at_w += gamma[i] * column[i];
      at_u += eq_hi[i] * column[i];
    }
    if (at_w != Fp2(enc_w.first[j], enc_w.second[j]))
      return InvalidArgument("pcs: column " + Str(j) + " fails the proximity check");
    if (at_u != Fp2(enc_u.first[j], enc_u.second[j]))
      return InvalidArgument("pcs: column " + Str(j) + " fails the evaluation check");
    leaf_hashes[q] = ColumnLeafHash(column);
  }
  return VerifyColumns(c.root, len, queries, std::move(leaf_hashes), proof.merkle_nodes);
}

Bytes OpeningProof::Encode() const {
  codec::Writer w;
  w.U8(kVersion);
  w.Bool(batch_sumcheck.has_value());
  if (batch_sumcheck.has_value()) {
    batch_sumcheck->WriteTo(w);
    WriteFp2(w, batched_value);
  }
  for (Fp2 x : proximity_row) WriteFp2(w, x);
  for (Fp2 x : evaluation_row) WriteFp2(w, x);
  w.U32(static_cast<uint32_t>(columns.size()));
  for (Fp x : columns) WriteFp(w, x);
  w.U32(static_cast<uint32_t>(merkle_nodes.size()));
  for (const Hash32& h : merkle_nodes) w.Fixed(h);
  return w.Take();
}

Result<OpeningProof> OpeningProof::Decode(ByteView bytes, const Commitment& c,
                                          const Params& params) {
  RETURN_IF_ERROR(c.Validate());
  RETURN_IF_ERROR(ValidateParams(params));
  const size_t rows = c.rows(), cols = c.cols(), len = c.code_len();
  codec::Reader r(bytes);
  ASSIGN_OR_RETURN(uint8_t version, r.U8());
  if (version != kVersion)
    return InvalidArgument("pcs proof version " + Str(version) + " (expected " +
                           Str(kVersion) + ")");
  OpeningProof proof;
  ASSIGN_OR_RETURN(bool batched, r.Bool());
  if (batched) {
    if (c.num_vars == 0) return InvalidArgument("pcs proof: batching on 0 variables");
    ASSIGN_OR_RETURN(SumcheckProof sumcheck, SumcheckProof::ReadFrom(r));
    if (sumcheck.round_polys.size() != c.num_vars)
      return InvalidArgument("pcs proof: batching sumcheck has " +
                             Str(sumcheck.round_polys.size()) + " rounds, expected " +
                             Str(c.num_vars));
    for (const auto& g : sumcheck.round_polys) {
      if (g.size() != 3)
        return InvalidArgument("pcs proof: batching sumcheck round with " + Str(g.size()) +
                               " values, expected 3");
    }
    proof.batch_sumcheck = std::move(sumcheck);
    ASSIGN_OR_RETURN(proof.batched_value, ReadFp2(r));
  }
  // Fixed sizes from the commitment: check the bytes exist before allocating.
  if (r.remaining() < 2 * cols * Fp2::kBytes) return InvalidArgument("pcs proof: truncated rows");
  proof.proximity_row.resize(cols);
  proof.evaluation_row.resize(cols);
  for (Fp2& x : proof.proximity_row) {
    ASSIGN_OR_RETURN(x, ReadFp2(r));
  }
  for (Fp2& x : proof.evaluation_row) {
    ASSIGN_OR_RETURN(x, ReadFp2(r));
  }
  ASSIGN_OR_RETURN(uint32_t num_entries, r.U32());
  const size_t num_columns = num_entries / rows;
  if (num_entries % rows != 0 || num_columns == 0 ||
      num_columns > std::min<size_t>(params.num_queries, len))
    return InvalidArgument("pcs proof: " + Str(num_entries) + " opened entries (1.." +
                           Str(std::min<size_t>(params.num_queries, len)) + " columns of " +
                           Str(rows) + ")");
  if (r.remaining() / (rows * Fp::kBytes) < num_columns)
    return InvalidArgument("pcs proof: truncated columns");
  proof.columns.resize(num_columns * rows);
  for (Fp& x : proof.columns) {
    ASSIGN_OR_RETURN(x, ReadFp(r));
  }
  ASSIGN_OR_RETURN(uint32_t num_nodes, r.U32());
  const size_t depth = static_cast<size_t>(std::countr_zero(len));
  if (num_nodes > num_columns * depth)
    return InvalidArgument("pcs proof: " + Str(num_nodes) + " Merkle nodes for " +
                           Str(num_columns) + " columns (max " + Str(num_columns * depth) + ")");
  if (r.remaining() / 32 < num_nodes) return InvalidArgument("pcs proof: truncated Merkle nodes");
  proof.merkle_nodes.resize(num_nodes);
  for (Hash32& h : proof.merkle_nodes) RETURN_IF_ERROR(r.Fixed(h));
  RETURN_IF_ERROR(r.Finish());
  return proof;
}

}  // namespace lucid::zk::pcs
