#include "zk/ntt.h"

#include <algorithm>
#include <bit>

#include "zk/parallel.h"

namespace lucid::zk {
namespace {

// Below this size a second thread costs more than it saves.
constexpr size_t kMinParallelSize = size_t{1} << 12;

Status CheckSize(size_t n) {
  if (n == 0 || !std::has_single_bit(n) || n > (size_t{1} << kMaxLogNttSize))
    return InvalidArgument("NTT size " + std::to_string(n) +
                           " is not a power of two in [1, 2^" +
                           std::to_string(kMaxLogNttSize) + "]");
  return Status::Ok();
}

size_t ReverseBits(size_t x, unsigned bits) {
  size_t r = 0;
  for (unsigned b = 0; b < bits; ++b, x >>= 1) r = (r << 1) | (x & 1);
  return r;
}

// Swaps a[i] and a[rev(i)] for i in [begin, end) with i < rev(i). Bit reversal is an
// involution, so every pair is swapped by the one range that holds its smaller index: two
// ranges never touch the same element.
void BitReverseRange(std::span<Fp> a, size_t begin, size_t end) {
  const size_t n = a.size();
  if (begin >= end) return;
  size_t j = ReverseBits(begin, static_cast<unsigned>(std::countr_zero(n)));
  for (size_t i = begin;;) {
    if (i < j) std::swap(a[i], a[j]);
    if (++i == end) break;
    // Reversed increment of j (amortized O(1)).
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
  }
}

// tw[h + j] = w_{2h}^j for every stage half-size h (a power of two < n) and j < h.
std::vector<Fp> Twiddles(size_t n) {
  std::vector<Fp> tw(std::max<size_t>(n, 2));
  if (n < 2) return tw;
  const size_t half = n / 2;
  const Fp w = RootOfUnity(static_cast<unsigned>(std::countr_zero(n)));
  Fp x = Fp::One();
  for (size_t j = 0; j < half; ++j, x *= w) tw[half + j] = x;
  // w_{2h}^j = w_n^(j n / 2h): the smaller stages are strided copies of the largest.
  for (size_t h = half / 2; h >= 1; h /= 2)
    for (size_t j = 0; j < h; ++j) tw[h + j] = tw[2 * h + 2 * j];
  return tw;
}

// Decimation-in-time butterflies of every stage with half-size h in [h_begin, h_end) over a
// bit-reversed block a[0..block).
void Stages(Fp* a, size_t block, size_t h_begin, size_t h_end, const Fp* tw) {
  size_t h = h_begin;
  if (h == 1 && h < h_end) {
    // The first stage's only twiddle is 1.
    for (size_t i = 0; i < block; i += 2) {
      const Fp u = a[i], v = a[i + 1];
      a[i] = u + v;
      a[i + 1] = u - v;
    }
    h = 2;
  }
  for (; h < h_end; h *= 2) {
    const Fp* w = tw + h;
    for (size_t start = 0; start < block; start += 2 * h) {
      Fp* lo = a + start;
      Fp* hi = lo + h;
      for (size_t j = 0; j < h; ++j) {
        const Fp u = lo[j];
        const Fp v = hi[j] * w[j];
        lo[j] = u + v;
        hi[j] = u - v;
      }
    }
  }
}

// The last stage's butterflies for j in [j_begin, j_end).
void LastStage(Fp* a, size_t n, size_t j_begin, size_t j_end, const Fp* tw) {
  const size_t h = n / 2;
  for (size_t j = j_begin; j < j_end; ++j) {
    const Fp u = a[j];
    const Fp v = a[j + h] * tw[h + j];
    a[j] = u + v;
    a[j + h] = u - v;
  }
}

// The butterfly stages with half-size >= h_begin over a bit-reversed array whose smaller
// stages are already done.
void StagesFrom(std::span<Fp> values, size_t h_begin, const Fp* tw, bool parallel) {
  const size_t n = values.size();
  Fp* a = values.data();
  if (h_begin >= n) return;
  if (!parallel) {
    Stages(a, n, h_begin, n, tw);
    return;
  }
  // The two halves are independent until the last stage.
  const size_t half = n / 2;
  internal::RunPair(true, [&] { Stages(a, half, h_begin, half, tw); },
                    [&] { Stages(a + half, half, h_begin, half, tw); });
  internal::RunPair(true, [&] { LastStage(a, n, 0, half / 2, tw); },
                    [&] { LastStage(a, n, half / 2, half, tw); });
}

void NttUnchecked(std::span<Fp> values, int threads) {
  const size_t n = values.size();
  if (n < 2) return;
  const bool parallel = threads >= 2 && n >= kMinParallelSize;
  std::vector<Fp> tw;
  if (parallel) {
    // The swaps (cache misses) dominate bit reversal, and indices below n/4 own ~44% of
    // them (counted for n = 2^16): split there, and build the twiddles on the lighter side.
    internal::RunPair(true,
                      [&] {
                        BitReverseRange(values, 0, n / 4);
                        tw = Twiddles(n);
                      },
                      [&] { BitReverseRange(values, n / 4, n); });
  } else {
    BitReverseRange(values, 0, n);
    tw = Twiddles(n);
  }
  StagesFrom(values, 1, tw.data(), parallel);
}

}  // namespace

Status Ntt(std::span<Fp> values, int threads) {
  RETURN_IF_ERROR(CheckSize(values.size()));
  NttUnchecked(values, threads);
  return Status::Ok();
}

Status InverseNtt(std::span<Fp> values, int threads) {
  RETURN_IF_ERROR(CheckSize(values.size()));
  // DFT with w^-1 equals the DFT with w followed by the index map i -> -i mod n.
  NttUnchecked(values, threads);
  std::reverse(values.begin() + 1, values.end());
  const Fp n_inv = Fp::FromU64(values.size()).Inverse();
  for (Fp& x : values) x *= n_inv;
  return Status::Ok();
}

Result<std::vector<Fp>> ReedSolomonEncode(std::span<const Fp> message, unsigned log_blowup,
                                          int threads) {
  const size_t n = message.size();
  if (n == 0 || !std::has_single_bit(n))
    return InvalidArgument("Reed-Solomon message length " + std::to_string(n) +
                           " is not a power of two");
  const unsigned log_n = static_cast<unsigned>(std::countr_zero(n));
  if (log_blowup > kMaxLogNttSize || log_n + log_blowup > kMaxLogNttSize)
    return InvalidArgument("Reed-Solomon codeword longer than 2^" +
                           std::to_string(kMaxLogNttSize));
  // The NTT of the zero-padded message without its first log_blowup stages: after the
  // size-N bit reversal, message[rev_n(k)] sits at k 2^b and zeros fill the rest of each
  // 2^b block, and butterflies against zeros copy, so those stages just replicate each value
  // over its block. That also replaces the size-N bit reversal by a size-n one.
  const size_t blowup = size_t{1} << log_blowup;
  const size_t big = n << log_blowup;
  std::vector<Fp> reversed(message.begin(), message.end());
  BitReverseRange(reversed, 0, n);
  std::vector<Fp> codeword(big);
  for (size_t k = 0; k < n; ++k)
    std::fill_n(codeword.begin() + k * blowup, blowup, reversed[k]);
  const std::vector<Fp> tw = Twiddles(big);
  StagesFrom(codeword, blowup, tw.data(), threads >= 2 && big >= kMinParallelSize);
  return codeword;
}

}  // namespace lucid::zk
