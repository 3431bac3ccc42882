// Number-theoretic transform over Fp and Reed-Solomon encoding.
//
// Semantics (n = 2^k, 1 <= n <= 2^kMaxLogNttSize, w = RootOfUnity(k) from field.h):
// - Ntt: a[0..n) in natural order becomes A[i] = sum_j a[j] w^(i j), in natural order: the
//   evaluations of the polynomial with coefficients a at w^0, w^1, ..., w^(n-1).
// - InverseNtt undoes Ntt exactly (coefficients from evaluations).
// - ReedSolomonEncode: the message m[0..n) is the coefficient vector of a polynomial of degree
//   < n; the codeword is its evaluations on the PLAIN subgroup of order N = n 2^log_blowup
//   (no coset shift), in natural order: codeword[i] = m(RootOfUnity(log2 N)^i). The code has
//   rate 2^-log_blowup and minimum distance N - n + 1.
// - Results are bit-identical for any thread count (field arithmetic is exact; the threads
//   only split independent butterflies).
// Thread-safety: pure functions over caller-owned buffers.
#pragma once

#include <span>
#include <vector>

#include "base/status.h"
#include "zk/field.h"

namespace lucid::zk {

inline constexpr unsigned kMaxLogNttSize = 24;

// In place; InvalidArgument unless values.size() is a power of two <= 2^kMaxLogNttSize.
// threads: 1 or 2 (more are treated as 2).
Status Ntt(std::span<Fp> values, int threads = 1);
Status InverseNtt(std::span<Fp> values, int threads = 1);

// message.size() must be a power of two and message.size() << log_blowup <= 2^kMaxLogNttSize.
Result<std::vector<Fp>> ReedSolomonEncode(std::span<const Fp> message, unsigned log_blowup,
                                          int threads = 1);

}  // namespace lucid::zk
