// Fiat-Shamir transcript over SHA-256, passed explicitly to every prover and verifier.
//
// The state is a 32-byte chaining value. Every operation replaces it with
//   state' = SHA-256(state || op || u32 len(label) || label || payload)
// where op is one byte naming the operation and the payload carries its own length or count
// (u64, big-endian), so two different sequences of operations never hash the same input
// (a collision would be a SHA-256 collision). The initial state is
//   SHA-256("lucid:zk:transcript:v1" || 0x00 || u32 len(tag) || tag).
// Payloads: Absorb: u64 len || bytes; AbsorbFp: u64 count || 8-byte values; AbsorbFp2:
// u64 count || 16-byte values (c0 then c1); AbsorbU64: 8 bytes.
//
// A challenge first absorbs its request (kind, count, bound) under its label; the bytes to
// sample from are SHA-256(state || 0x06 || u64 block counter), 32 bytes per block, read as
// big-endian u64 words; then the sampled values are absorbed (op 0x07), so every later
// challenge depends on every earlier one. Sampling is by rejection, never by a biased
// reduction: an Fp accepts a word < p; an index < bound accepts a word below the largest
// multiple of bound that fits in 2^64 and returns word mod bound. An Fp2 is two Fp (c0, c1):
// uniform over Fp2. The full byte layout is in docs/zk.md ("Transcript").
//
// Thread-safety: a value; copies are independent (a copy forks the transcript).
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"
#include "crypto/hash.h"
#include "zk/field.h"

namespace lucid::zk {

class Transcript {
 public:
  // Most indices a single ChallengeIndices call returns.
  static constexpr size_t kMaxIndices = size_t{1} << 20;

  // protocol_tag names the protocol and its version, e.g. "lucid:zkml:v1".
  explicit Transcript(std::string_view protocol_tag);

  void Absorb(std::string_view label, ByteView bytes);
  void AbsorbU64(std::string_view label, uint64_t value);
  void AbsorbFp(std::string_view label, std::span<const Fp> values);
  void AbsorbFp2(std::string_view label, std::span<const Fp2> values);
  void AbsorbFp(std::string_view label, Fp value) { AbsorbFp(label, std::span(&value, 1)); }
  void AbsorbFp2(std::string_view label, Fp2 value) { AbsorbFp2(label, std::span(&value, 1)); }

  Fp ChallengeFp(std::string_view label);
  Fp2 ChallengeFp2(std::string_view label);
  std::vector<Fp2> ChallengeFp2s(std::string_view label, size_t count);
  // count values, each uniform in [0, bound), drawn independently (repeats possible).
  // InvalidArgument for bound == 0 or count > kMaxIndices.
  Result<std::vector<uint64_t>> ChallengeIndices(std::string_view label, size_t count,
                                                 uint64_t bound);

  // The current chaining value (binds everything absorbed and drawn so far).
  const Hash32& state() const { return state_; }

 private:
  // Replaces the state with SHA-256(state || op || u32 len(label) || label || payload).
  void Update(uint8_t op, std::string_view label, std::initializer_list<ByteView> payload);
  void UpdateStreaming(uint8_t op, std::string_view label,
                       const std::function<void(crypto::Sha256Stream&)>& payload);
  // Absorbs the challenge request and starts the stream of sampling words.
  void BeginChallenge(std::string_view label, uint8_t kind, uint64_t count, uint64_t bound);
  uint64_t NextWord();
  void EndChallenge(std::span<const uint64_t> words);

  Hash32 state_;
  Hash32 block_{};
  uint64_t block_counter_ = 0;
  size_t block_pos_ = 4;  // words used from block_ (4 = exhausted)
};

}  // namespace lucid::zk
