#include "zk/pcs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "crypto/merkle.h"
#include "zk/multilinear.h"
#include "zk/ntt.h"

namespace lucid::zk::pcs {
namespace {

constexpr std::string_view kTag = "lucid:test:pcs:v1";

std::vector<Fp> RandomEvals(unsigned n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Fp> v(size_t{1} << n);
  for (Fp& x : v) x = Fp::FromU64(rng());
  return v;
}

std::vector<Fp2> RandomPoint(unsigned n, std::mt19937_64& rng) {
  std::vector<Fp2> p(n);
  for (Fp2& x : p) x = Fp2(Fp::FromU64(rng()), Fp::FromU64(rng()));
  return p;
}

Claim ClaimAt(const std::vector<Fp>& evals, std::vector<Fp2> point) {
  Claim c;
  c.value = *EvaluateMultilinear(evals, point);
  c.point = std::move(point);
  return c;
}

std::vector<Claim> RandomClaims(const std::vector<Fp>& evals, unsigned n, size_t count,
                                uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Claim> claims;
  for (size_t k = 0; k < count; ++k) claims.push_back(ClaimAt(evals, RandomPoint(n, rng)));
  return claims;
}

Result<OpeningProof> OpenWith(const ProverData& data, const std::vector<Claim>& claims,
                              const Params& params = {}, std::string_view tag = kTag) {
  Transcript t(tag);
  return Open(data, claims, t, params);
}

Status VerifyWith(const Commitment& c, const std::vector<Claim>& claims,
                  const OpeningProof& proof, const Params& params = {},
                  std::string_view tag = kTag) {
  Transcript t(tag);
  return Verify(c, claims, proof, t, params);
}

// The opening checks the proof and also that prover and verifier end in the same
// transcript state (both absorbed the same messages).
void ExpectHonestRoundTrip(const ProverData& data, const std::vector<Claim>& claims,
                           const Params& params = {}) {
  Transcript tp(kTag), tv(kTag);
  auto proof = Open(data, claims, tp, params);
  ASSERT_TRUE(proof.ok()) << proof.status().message();
  Status s = Verify(data.commitment, claims, *proof, tv, params);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(tp.state(), tv.state());
  // The encoding round-trips and the decoded proof verifies too.
  const Bytes bytes = proof->Encode();
  auto decoded = OpeningProof::Decode(bytes, data.commitment, params);
  ASSERT_TRUE(decoded.ok()) << decoded.status().message();
  EXPECT_EQ(decoded->Encode(), bytes);
  EXPECT_TRUE(VerifyWith(data.commitment, claims, *decoded, params).ok());
}

TEST(PcsTest, ShapeRuleMinimisesEstimatedSize) {
  // Small n: one row is not optimal once columns outweigh the opened entries.
  EXPECT_EQ(ChooseLogRows(0, 148), 0u);
  for (unsigned n = 0; n <= kMaxVars; ++n) {
    const unsigned m = ChooseLogRows(n, 148);
    EXPECT_LE(m, n);
    EXPECT_LE(n - m, kMaxLogCols);
  }
  // Columns of 2^m entries cost 8 t 2^m, rows 32 2^(n-m): the optimum has cols ~ t/4 rows...
  EXPECT_EQ(ChooseLogRows(20, 148), 7u);
  EXPECT_EQ(ChooseLogRows(16, 148), 5u);
  // ...and fewer queries favour taller matrices.
  EXPECT_GT(ChooseLogRows(20, 4), ChooseLogRows(20, 148));
}

TEST(PcsTest, CommitMatchesReedSolomonRowsAndMerkleTree) {
  const std::vector<Fp> evals = RandomEvals(7, 1);
  Params params;
  params.log_rows = 3;
  auto data = Commit(evals, params);
  ASSERT_TRUE(data.ok());
  const Commitment& c = data->commitment;
  EXPECT_EQ(c.num_vars, 7);
  EXPECT_EQ(c.rows(), 8u);
  EXPECT_EQ(c.cols(), 16u);
  EXPECT_EQ(c.code_len(), 64u);
  // Rows are RS codewords of the matrix rows.
  for (size_t i = 0; i < c.rows(); ++i) {
    auto cw = ReedSolomonEncode(std::span<const Fp>(evals).subspan(i * 16, 16), 2);
    ASSERT_TRUE(cw.ok());
    EXPECT_TRUE(std::equal(cw->begin(), cw->end(), data->encoded.begin() + i * 64));
  }
  // The root is RFC 6962's over leaf = column bytes (rows x 8-byte big-endian).
  std::vector<Hash32> leaves;
  for (size_t j = 0; j < 64; ++j) {
    Bytes col;
    for (size_t i = 0; i < 8; ++i) {
      const auto b = data->encoded[i * 64 + j].ToBytes();
      col.insert(col.end(), b.begin(), b.end());
    }
    leaves.push_back(crypto::MerkleLeafHash(col));
  }
  EXPECT_EQ(c.root, crypto::MerkleRoot(leaves));
}

TEST(PcsTest, ThreadCountDoesNotChangeCommitmentOrProof) {
  for (unsigned n : {0u, 5u, 14u, 17u}) {
    const std::vector<Fp> evals = RandomEvals(n, 10 + n);
    const std::vector<Claim> claims = RandomClaims(evals, n, 3, 20 + n);
    Params one, two;
    one.threads = 1;
    two.threads = 2;
    auto a = Commit(evals, one), b = Commit(evals, two);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->commitment, b->commitment);
    EXPECT_EQ(a->encoded, b->encoded);
    auto pa = OpenWith(*a, claims, one), pb = OpenWith(*b, claims, two);
    ASSERT_TRUE(pa.ok() && pb.ok());
    EXPECT_EQ(pa->Encode(), pb->Encode());
  }
}

TEST(PcsTest, HonestSingleClaimEveryN) {
  std::mt19937_64 rng(2);
  for (unsigned n = 0; n <= 20; ++n) {
    SCOPED_TRACE("n = " + std::to_string(n));
    const std::vector<Fp> evals = RandomEvals(n, 100 + n);
    auto data = Commit(evals);
    ASSERT_TRUE(data.ok());
    EXPECT_EQ(data->commitment.log_rows, ChooseLogRows(n, kDefaultQueries));
    ExpectHonestRoundTrip(*data, {ClaimAt(evals, RandomPoint(n, rng))});
  }
}

TEST(PcsTest, HonestEveryShape) {
  std::mt19937_64 rng(3);
  for (unsigned n = 0; n <= 10; ++n) {
    const std::vector<Fp> evals = RandomEvals(n, 200 + n);
    for (unsigned m = 0; m <= n; ++m) {
      SCOPED_TRACE("n = " + std::to_string(n) + ", log_rows = " + std::to_string(m));
      Params params;
      params.log_rows = m;
      auto data = Commit(evals, params);
      ASSERT_TRUE(data.ok());
      ExpectHonestRoundTrip(*data, {ClaimAt(evals, RandomPoint(n, rng))}, params);
      ExpectHonestRoundTrip(*data, RandomClaims(evals, n, 3, rng()), params);
    }
  }
  // A wide and a tall shape at n = 20 (2^16 and 2^8 columns).
  const std::vector<Fp> evals = RandomEvals(20, 300);
  for (unsigned m : {4u, 12u}) {
    Params params;
    params.log_rows = m;
    auto data = Commit(evals, params);
    ASSERT_TRUE(data.ok());
    ExpectHonestRoundTrip(*data, RandomClaims(evals, 20, 2, 301 + m), params);
  }
}

TEST(PcsTest, HonestBatchedClaims) {
  for (unsigned n : {1u, 2u, 6u, 12u, 16u}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    const std::vector<Fp> evals = RandomEvals(n, 400 + n);
    auto data = Commit(evals);
    ASSERT_TRUE(data.ok());
    for (size_t count : {2u, 5u, 17u}) ExpectHonestRoundTrip(*data, RandomClaims(evals, n, count, count));
    // Boolean points (plain entries), a repeated point and a point with zeros.
    std::vector<Claim> claims;
    std::vector<Fp2> corner(n), zeros(n);
    for (unsigned i = 0; i < n; i += 2) corner[i] = Fp2::One();
    claims.push_back(ClaimAt(evals, corner));
    claims.push_back(ClaimAt(evals, corner));
    claims.push_back(ClaimAt(evals, zeros));
    EXPECT_EQ(claims[2].value, Fp2(evals[0]));
    ExpectHonestRoundTrip(*data, claims);
  }
  // n = 0: the polynomial is a constant; several claims must all state it.
  const std::vector<Fp> constant = {Fp::FromU64(42)};
  auto data = Commit(constant);
  ASSERT_TRUE(data.ok());
  std::vector<Claim> claims(3, Claim{{}, Fp2::FromU64(42)});
  ExpectHonestRoundTrip(*data, claims);
  claims[1].value = Fp2::FromU64(43);
  EXPECT_FALSE(OpenWith(*data, claims).ok());
  auto proof = OpenWith(*data, {claims[0]});
  ASSERT_TRUE(proof.ok());
  EXPECT_FALSE(VerifyWith(data->commitment, claims, *proof).ok());
}

TEST(PcsTest, ProverRefusesFalseClaimsAndBadInput) {
  const std::vector<Fp> evals = RandomEvals(8, 5);
  auto data = Commit(evals);
  ASSERT_TRUE(data.ok());
  std::vector<Claim> claims = RandomClaims(evals, 8, 3, 6);
  claims[1].value += Fp2::One();
  EXPECT_FALSE(OpenWith(*data, claims).ok());
  EXPECT_FALSE(OpenWith(*data, {claims[1]}).ok());
  EXPECT_FALSE(OpenWith(*data, {}).ok());
  claims[1].point.pop_back();
  EXPECT_FALSE(OpenWith(*data, claims).ok());
  // Commit refuses non powers of two, empty input and impossible shapes.
  EXPECT_FALSE(Commit(std::vector<Fp>(3)).ok());
  EXPECT_FALSE(Commit(std::vector<Fp>()).ok());
  Params params;
  params.log_rows = 9;
  EXPECT_FALSE(Commit(evals, params).ok());
  params.log_rows.reset();
  params.num_queries = 0;
  EXPECT_FALSE(Commit(evals, params).ok());
}

// A fixed opening to tamper with: n = 9, three claims (batched).
struct Fixture {
  std::vector<Fp> evals = RandomEvals(9, 7);
  ProverData data;
  std::vector<Claim> claims;
  OpeningProof proof;
  Fixture() {
    data = *Commit(evals);
    claims = RandomClaims(evals, 9, 3, 8);
    proof = *OpenWith(data, claims);
  }
};

TEST(PcsTest, RejectsWrongClaimedValueOrPoint) {
  Fixture f;
  ASSERT_TRUE(VerifyWith(f.data.commitment, f.claims, f.proof).ok());
  for (size_t k = 0; k < f.claims.size(); ++k) {
    auto claims = f.claims;
    claims[k].value += Fp2(Fp::Zero(), Fp::One());
    EXPECT_FALSE(VerifyWith(f.data.commitment, claims, f.proof).ok());
    claims = f.claims;
    claims[k].point[k] += Fp2::One();
    EXPECT_FALSE(VerifyWith(f.data.commitment, claims, f.proof).ok());
  }
  // Dropping or reordering claims changes the statement.
  auto fewer = f.claims;
  fewer.pop_back();
  EXPECT_FALSE(VerifyWith(f.data.commitment, fewer, f.proof).ok());
  auto swapped = f.claims;
  std::swap(swapped[0], swapped[2]);
  EXPECT_FALSE(VerifyWith(f.data.commitment, swapped, f.proof).ok());
  // Single claim: a wrong value or point.
  auto single = OpenWith(f.data, {f.claims[0]});
  ASSERT_TRUE(single.ok());
  Claim wrong = f.claims[0];
  wrong.value += Fp2::One();
  EXPECT_FALSE(VerifyWith(f.data.commitment, {wrong}, *single).ok());
  wrong = f.claims[0];
  wrong.point[8] += Fp2::One();
  EXPECT_FALSE(VerifyWith(f.data.commitment, {wrong}, *single).ok());
  // Another transcript, another query count.
  EXPECT_FALSE(VerifyWith(f.data.commitment, f.claims, f.proof, {}, "lucid:test:other").ok());
  Params fewer_queries;
  fewer_queries.num_queries = 147;
  EXPECT_FALSE(VerifyWith(f.data.commitment, f.claims, f.proof, fewer_queries).ok());
}

TEST(PcsTest, RejectsEveryFlippedMerkleNodeAndRootBit) {
  Fixture f;
  ASSERT_FALSE(f.proof.merkle_nodes.empty());
  for (size_t i = 0; i < f.proof.merkle_nodes.size(); ++i) {
    OpeningProof p = f.proof;
    p.merkle_nodes[i][i % 32] ^= static_cast<uint8_t>(1u << (i % 8));
    EXPECT_FALSE(VerifyWith(f.data.commitment, f.claims, p).ok()) << "node " << i;
  }
  OpeningProof p = f.proof;
  p.merkle_nodes.pop_back();
  EXPECT_FALSE(VerifyWith(f.data.commitment, f.claims, p).ok());
  p = f.proof;
  p.merkle_nodes.push_back(p.merkle_nodes[0]);
  EXPECT_FALSE(VerifyWith(f.data.commitment, f.claims, p).ok());
  for (size_t bit = 0; bit < 256; ++bit) {
    Commitment c = f.data.commitment;
    c.root[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    EXPECT_FALSE(VerifyWith(c, f.claims, f.proof).ok()) << "root bit " << bit;
  }
  // The shape is part of the statement too.
  Commitment c = f.data.commitment;
  c.log_rows += 1;
  EXPECT_FALSE(VerifyWith(c, f.claims, f.proof).ok());
}

TEST(PcsTest, RejectsEveryChangedColumnEntry) {
  Fixture f;
  const size_t rows = f.data.commitment.rows();
  // Every entry of the first, a middle and the last opened column, and a stride elsewhere.
  const size_t count = f.proof.columns.size();
  for (size_t e = 0; e < count; ++e) {
    const bool edge = e < rows || e >= count - rows || (e / rows == count / rows / 2);
    if (!edge && e % 7 != 0) continue;
    OpeningProof p = f.proof;
    p.columns[e] += Fp::One();
    EXPECT_FALSE(VerifyWith(f.data.commitment, f.claims, p).ok()) << "entry " << e;
  }
  OpeningProof p = f.proof;
  p.columns.resize(count - rows);
  EXPECT_FALSE(VerifyWith(f.data.commitment, f.claims, p).ok());
}

TEST(PcsTest, RejectsChangedCombinedRowsAndBatchData) {
  Fixture f;
  const size_t cols = f.data.commitment.cols();
  for (size_t j = 0; j < cols; ++j) {
    OpeningProof p = f.proof;
    p.proximity_row[j] += Fp2(Fp::Zero(), Fp::One());
    EXPECT_FALSE(VerifyWith(f.data.commitment, f.claims, p).ok()) << "proximity " << j;
    p = f.proof;
    p.evaluation_row[j] += Fp2::One();
    EXPECT_FALSE(VerifyWith(f.data.commitment, f.claims, p).ok()) << "evaluation " << j;
  }
  OpeningProof p = f.proof;
  p.batched_value += Fp2::One();
  EXPECT_FALSE(VerifyWith(f.data.commitment, f.claims, p).ok());
  for (size_t round = 0; round < p.batch_sumcheck->round_polys.size(); ++round) {
    for (size_t v = 0; v < 3; ++v) {
      p = f.proof;
      p.batch_sumcheck->round_polys[round][v] += Fp2::One();
      EXPECT_FALSE(VerifyWith(f.data.commitment, f.claims, p).ok());
    }
  }
  p = f.proof;
  p.batch_sumcheck.reset();
  EXPECT_FALSE(VerifyWith(f.data.commitment, f.claims, p).ok());
  p = f.proof;
  p.evaluation_row.pop_back();
  EXPECT_FALSE(VerifyWith(f.data.commitment, f.claims, p).ok());
}

// A prover that opens a different polynomial than the one committed: data.evals changed in
// one entry while the encoding and tree stay the committed ones. Its claims are true for the
// changed polynomial and the transcript is followed exactly, so only the column checks can
// catch it: RS(u) differs from the committed combination in >= 3/4 of the positions.
TEST(PcsTest, RejectsOpeningOfAnotherPolynomial) {
  for (unsigned n : {4u, 10u, 14u}) {
    const std::vector<Fp> evals = RandomEvals(n, 500 + n);
    ProverData data = *Commit(evals);
    data.evals[3] += Fp::One();
    for (size_t count : {1u, 4u}) {
      const std::vector<Claim> claims = RandomClaims(data.evals, n, count, 600 + n);
      auto proof = OpenWith(data, claims);
      ASSERT_TRUE(proof.ok()) << proof.status().message();
      EXPECT_FALSE(VerifyWith(data.commitment, claims, *proof).ok());
    }
  }
}

// A prover that commits to a matrix whose row is not a codeword: row 1 changed in c of the
// N = 64 columns (c < delta N, so the matrix still decodes to the honest one and the honest
// rows pass every check except at corrupted columns). It is accepted exactly when no query
// hits a corrupted column: probability (1 - c/N)^t.
TEST(PcsTest, NonCodewordCaughtWithComputedProbability) {
  const unsigned n = 6;
  Params params;
  params.log_rows = 2;       // 4 rows x 16 columns, code length 64
  params.num_queries = 4;
  const std::vector<Fp> evals = RandomEvals(n, 700);
  ProverData data = *Commit(evals, params);
  const size_t len = data.commitment.code_len();
  ASSERT_EQ(len, 64u);
  const size_t corrupted = 8;
  for (size_t j = 0; j < corrupted; ++j) data.encoded[1 * len + 5 * j + 3] += Fp::FromU64(j + 1);
  ASSERT_TRUE(BuildColumnTree(data, 1).ok());

  std::mt19937_64 rng(701);
  const int trials = 1000;
  int accepted = 0;
  for (int trial = 0; trial < trials; ++trial) {
    const std::string tag = "lucid:test:pcs:trial:" + std::to_string(trial);
    const std::vector<Claim> claims = {ClaimAt(evals, RandomPoint(n, rng))};
    auto proof = OpenWith(data, claims, params, tag);
    ASSERT_TRUE(proof.ok());
    accepted += VerifyWith(data.commitment, claims, *proof, params, tag).ok() ? 1 : 0;
  }
  const double p = std::pow(1.0 - static_cast<double>(corrupted) / len, params.num_queries);
  const double mean = p * trials, sd = std::sqrt(trials * p * (1 - p));
  EXPECT_NEAR(accepted, mean, 5 * sd) << "p = " << p;

  // Corruption in more than delta = 3/8 of the columns with the full 148 queries: the
  // acceptance probability is below (5/8)^148 < 2^-100.
  ProverData far = *Commit(evals);
  const size_t far_len = far.commitment.code_len();
  for (size_t j = 0; j < far_len * 2 / 5; ++j) far.encoded[j] += Fp::One();
  ASSERT_TRUE(BuildColumnTree(far).ok());
  for (int trial = 0; trial < 20; ++trial) {
    const std::string tag = "lucid:test:pcs:far:" + std::to_string(trial);
    const std::vector<Claim> claims = {ClaimAt(evals, RandomPoint(n, rng))};
    auto proof = OpenWith(far, claims, {}, tag);
    ASSERT_TRUE(proof.ok());
    EXPECT_FALSE(VerifyWith(far.commitment, claims, *proof, {}, tag).ok());
  }
}

TEST(PcsTest, CommitmentEncoding) {
  const std::vector<Fp> evals = RandomEvals(5, 9);
  auto data = Commit(evals);
  ASSERT_TRUE(data.ok());
  const Bytes bytes = data->commitment.Encode();
  ASSERT_EQ(bytes.size(), Commitment::kEncodedBytes);
  EXPECT_EQ(bytes[0], 1);
  EXPECT_EQ(bytes[1], 5);
  EXPECT_EQ(bytes[2], data->commitment.log_rows);
  auto decoded = Commitment::Decode(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, data->commitment);
  Bytes bad = bytes;
  bad[0] = 2;
  EXPECT_FALSE(Commitment::Decode(bad).ok());
  bad = bytes;
  bad[2] = 6;  // more row variables than variables
  EXPECT_FALSE(Commitment::Decode(bad).ok());
  bad = bytes;
  bad[1] = 31;
  EXPECT_FALSE(Commitment::Decode(bad).ok());
  bad = bytes;
  bad[1] = 30;
  bad[2] = 7;  // 2^23 columns: longer than the NTT allows
  EXPECT_FALSE(Commitment::Decode(bad).ok());
  bad = bytes;
  bad.push_back(0);
  EXPECT_FALSE(Commitment::Decode(bad).ok());
  bad = bytes;
  bad.pop_back();
  EXPECT_FALSE(Commitment::Decode(bad).ok());
}

TEST(PcsTest, ProofDecoderIsStrict) {
  Fixture f;
  const Bytes bytes = f.proof.Encode();
  const Commitment& c = f.data.commitment;
  ASSERT_TRUE(OpeningProof::Decode(bytes, c).ok());
  // Every strict prefix is refused, as is any trailing byte.
  for (size_t len = 0; len < bytes.size(); ++len)
    EXPECT_FALSE(OpeningProof::Decode(ByteView(bytes.data(), len), c).ok()) << len;
  Bytes longer = bytes;
  longer.push_back(0);
  EXPECT_FALSE(OpeningProof::Decode(longer, c).ok());
  // A version other than 1, a batch flag other than 0/1.
  Bytes bad = bytes;
  bad[0] = 2;
  EXPECT_FALSE(OpeningProof::Decode(bad, c).ok());
  bad = bytes;
  bad[1] = 2;
  EXPECT_FALSE(OpeningProof::Decode(bad, c).ok());
  // The shape comes from the commitment: a different shape does not parse the same bytes.
  Commitment other = c;
  other.log_rows = static_cast<uint8_t>(c.log_rows == 0 ? 1 : c.log_rows - 1);
  EXPECT_FALSE(OpeningProof::Decode(bytes, other).ok());
  // A column count above t or a node count above count x depth is refused before reading.
  Params few;
  few.num_queries = 10;
  EXPECT_FALSE(OpeningProof::Decode(bytes, c, few).ok());
  // Non-canonical field elements: set the first proximity-row value to p.
  const size_t row_offset = 2 + 4 + 9 * (4 + 3 * 16) + 16;
  bad = bytes;
  for (size_t b = 0; b < 8; ++b) bad[row_offset + b] = 0xFF;  // 2^64 - 1 >= p
  EXPECT_FALSE(OpeningProof::Decode(bad, c).ok());
  bad = bytes;
  const auto p_bytes = std::array<uint8_t, 8>{0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 1};
  std::copy(p_bytes.begin(), p_bytes.end(), bad.begin() + row_offset);
  EXPECT_FALSE(OpeningProof::Decode(bad, c).ok());
  // A sumcheck with the wrong number of rounds.
  auto single_var = Commit(RandomEvals(1, 3));
  ASSERT_TRUE(single_var.ok());
  EXPECT_FALSE(OpeningProof::Decode(bytes, single_var->commitment).ok());
}

// >= 1000 random single-byte mutations of an encoded proof: each is refused by the decoder
// or by the verifier, never accepted and never a crash.
TEST(PcsTest, RandomByteMutationsRejected) {
  Fixture f;
  const Bytes bytes = f.proof.Encode();
  std::mt19937_64 rng(11);
  int refused_by_decoder = 0, refused_by_verifier = 0;
  for (int i = 0; i < 1500; ++i) {
    Bytes m = bytes;
    const size_t pos = rng() % m.size();
    m[pos] ^= static_cast<uint8_t>(1 + rng() % 255);
    auto decoded = OpeningProof::Decode(m, f.data.commitment);
    if (!decoded.ok()) {
      ++refused_by_decoder;
      continue;
    }
    EXPECT_FALSE(VerifyWith(f.data.commitment, f.claims, *decoded).ok()) << "byte " << pos;
    ++refused_by_verifier;
  }
  EXPECT_GT(refused_by_verifier, 1000);  // most bytes are field values and hashes
  EXPECT_GT(refused_by_decoder, 0);
}

}  // namespace
}  // namespace lucid::zk::pcs
