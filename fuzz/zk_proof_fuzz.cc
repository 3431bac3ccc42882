// libFuzzer target: the polynomial commitment's decoders and verifier on hostile bytes.
// Two fixed statements (a batched opening of 3 claims on n = 6, a single claim on n = 3)
// with their honest proofs. The first input byte picks the statement; the rest is used twice:
//   1. as a whole proof: Decode must not crash; an accepted value must re-encode to exactly
//      the input, and Verify on it must not crash;
//   2. as edits to the honest proof's bytes (3 bytes each: u16 position, xor mask; a last
//      odd byte truncates): this reaches deep into the verifier from a valid structure.
// Verify accepting any bytes other than the honest proof's is a soundness failure (abort).
// Also decodes the input as a Commitment (round trip).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <vector>

#include "zk/multilinear.h"
#include "zk/pcs.h"

namespace {

using namespace lucid;
using namespace lucid::zk;

constexpr std::string_view kTag = "lucid:fuzz:pcs:v1";

struct Statement {
  pcs::Commitment commitment;
  std::vector<pcs::Claim> claims;
  Bytes honest;
};

Statement Make(unsigned n, size_t num_claims, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Fp> evals(size_t{1} << n);
  for (Fp& x : evals) x = Fp::FromU64(rng());
  auto data = pcs::Commit(evals);
  if (!data.ok()) std::abort();
  Statement s;
  s.commitment = data->commitment;
  for (size_t k = 0; k < num_claims; ++k) {
    pcs::Claim c;
    for (unsigned i = 0; i < n; ++i) c.point.emplace_back(Fp::FromU64(rng()), Fp::FromU64(rng()));
    c.value = *EvaluateMultilinear(evals, c.point);
    s.claims.push_back(std::move(c));
  }
  Transcript t(kTag);
  auto proof = pcs::Open(*data, s.claims, t);
  if (!proof.ok()) std::abort();
  s.honest = proof->Encode();
  return s;
}

const Statement& Fixture(uint8_t which) {
  static const Statement batched = Make(6, 3, 1);
  static const Statement single = Make(3, 1, 2);
  return which % 2 == 0 ? batched : single;
}

// Decodes and verifies; aborts on a non-canonical accept or a forged proof that verifies.
void Check(const Statement& s, ByteView bytes) {
  auto proof = pcs::OpeningProof::Decode(bytes, s.commitment);
  if (!proof.ok()) return;
  const Bytes again = proof->Encode();
  if (again.size() != bytes.size() || !std::equal(again.begin(), again.end(), bytes.begin()))
    std::abort();
  Transcript t(kTag);
  const bool accepted = pcs::Verify(s.commitment, s.claims, *proof, t).ok();
  const bool honest = bytes.size() == s.honest.size() &&
                      std::equal(bytes.begin(), bytes.end(), s.honest.begin());
  if (accepted != honest) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const ByteView input(data, size);
  auto commitment = pcs::Commitment::Decode(input);
  if (commitment.ok() && commitment->Encode() != Bytes(input.begin(), input.end())) std::abort();

  const Statement& s = Fixture(data[0]);
  const ByteView rest = input.subspan(1);
  Check(s, rest);

  Bytes edited = s.honest;
  size_t p = 0;
  for (; p + 3 <= rest.size(); p += 3) {
    const size_t pos = (size_t{rest[p]} << 8 | rest[p + 1]) % edited.size();
    edited[pos] ^= rest[p + 2];
  }
  if (p < rest.size()) edited.resize(rest[p] % (edited.size() + 1));
  Check(s, edited);
  return 0;
}
