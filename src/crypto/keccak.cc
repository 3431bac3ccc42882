// Keccak-256 as used by Ethereum: Keccak-f[1600], rate 136 bytes, capacity 512 bits,
// original Keccak padding (0x01 ... 0x80), not the SHA3 padding (0x06).
#include <bit>
#include <cstring>

#include "crypto/hash.h"

namespace lucid::crypto {
namespace {

constexpr size_t kRateBytes = 136;

constexpr uint64_t kRoundConstants[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

// Rotation offsets and lane permutation of rho+pi, walked in pi's cycle order.
constexpr int kRho[24] = {1,  3,  6,  10, 15, 21, 28, 36, 45, 55, 2,  14,
                          27, 41, 56, 8,  25, 43, 62, 18, 39, 61, 20, 44};
constexpr int kPi[24] = {10, 7,  11, 17, 18, 3, 5,  16, 8,  21, 24, 4,
                         15, 23, 19, 13, 12, 2, 20, 14, 22, 9,  6,  1};

void KeccakF1600(uint64_t state[25]) {
  for (int round = 0; round < 24; ++round) {
    // theta
    uint64_t column[5];
    for (int x = 0; x < 5; ++x) {
      column[x] = state[x] ^ state[x + 5] ^ state[x + 10] ^ state[x + 15] ^ state[x + 20];
    }
    for (int x = 0; x < 5; ++x) {
      uint64_t d = column[(x + 4) % 5] ^ std::rotl(column[(x + 1) % 5], 1);
      for (int y = 0; y < 25; y += 5) state[y + x] ^= d;
    }
    // rho and pi
    uint64_t carried = state[1];
    for (int i = 0; i < 24; ++i) {
      int target = kPi[i];
      uint64_t next = state[target];
      state[target] = std::rotl(carried, kRho[i]);
      carried = next;
    }
    // chi
    for (int y = 0; y < 25; y += 5) {
      uint64_t row[5];
      for (int x = 0; x < 5; ++x) row[x] = state[y + x];
      for (int x = 0; x < 5; ++x) state[y + x] = row[x] ^ (~row[(x + 1) % 5] & row[(x + 2) % 5]);
    }
    // iota
    state[0] ^= kRoundConstants[round];
  }
}

// Lanes are little-endian regardless of the host.
void AbsorbBlock(uint64_t state[25], const uint8_t* block) {
  for (size_t lane = 0; lane < kRateBytes / 8; ++lane) {
    uint64_t value = 0;
    for (int b = 7; b >= 0; --b) value = (value << 8) | block[lane * 8 + b];
    state[lane] ^= value;
  }
  KeccakF1600(state);
}

}  // namespace

Hash32 Keccak256(ByteView data) {
  uint64_t state[25] = {};
  size_t offset = 0;
  while (data.size() - offset >= kRateBytes) {
    AbsorbBlock(state, data.data() + offset);
    offset += kRateBytes;
  }
  uint8_t last[kRateBytes] = {};
  size_t remaining = data.size() - offset;
  if (remaining > 0) std::memcpy(last, data.data() + offset, remaining);
  last[remaining] ^= 0x01;
  last[kRateBytes - 1] ^= 0x80;  // same byte as 0x01 when remaining == 135: gives 0x81
  AbsorbBlock(state, last);

  Hash32 out;
  for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<uint8_t>(state[i / 8] >> (8 * (i % 8)));
  return out;
}

}  // namespace lucid::crypto
