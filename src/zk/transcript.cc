#include "zk/transcript.h"

#include <functional>

#include "crypto/hash.h"

namespace lucid::zk {
namespace {

constexpr std::string_view kDomain = "lucid:zk:transcript:v1";

enum Op : uint8_t {
  kOpBytes = 0x01,
  kOpFp = 0x02,
  kOpFp2 = 0x03,
  kOpU64 = 0x04,
  kOpChallenge = 0x05,
  kOpSampleBlock = 0x06,
  kOpChallengeValues = 0x07,
};

enum ChallengeKind : uint8_t { kKindFp = 1, kKindFp2 = 2, kKindIndices = 3 };

std::array<uint8_t, 8> U64Bytes(uint64_t v) {
  std::array<uint8_t, 8> out;
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
  return out;
}
std::array<uint8_t, 4> U32Bytes(uint32_t v) {
  std::array<uint8_t, 4> out;
  for (int i = 0; i < 4; ++i) out[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
  return out;
}

// Hashes field elements in chunks so large vectors need no full-size copy.
template <typename F>
void UpdateElements(crypto::Sha256Stream& h, std::span<const F> values) {
  constexpr size_t kChunk = 512;
  std::array<uint8_t, kChunk * F::kBytes> buf;
  for (size_t i = 0; i < values.size(); i += kChunk) {
    const size_t n = std::min(kChunk, values.size() - i);
    for (size_t k = 0; k < n; ++k) {
      const auto b = values[i + k].ToBytes();
      std::copy(b.begin(), b.end(), buf.begin() + k * F::kBytes);
    }
    h.Update(ByteView(buf.data(), n * F::kBytes));
  }
}

}  // namespace

Transcript::Transcript(std::string_view protocol_tag) {
  crypto::Sha256Stream h;
  static constexpr uint8_t kZero = 0;
  h.Update(AsBytes(kDomain));
  h.Update(ByteView(&kZero, 1));
  const auto len = U32Bytes(static_cast<uint32_t>(protocol_tag.size()));
  h.Update(len);
  h.Update(AsBytes(protocol_tag));
  state_ = h.Finish();
}

void Transcript::UpdateStreaming(uint8_t op, std::string_view label,
                                 const std::function<void(crypto::Sha256Stream&)>& payload) {
  crypto::Sha256Stream h;
  h.Update(state_);
  h.Update(ByteView(&op, 1));
  h.Update(U32Bytes(static_cast<uint32_t>(label.size())));
  h.Update(AsBytes(label));
  payload(h);
  state_ = h.Finish();
}

void Transcript::Update(uint8_t op, std::string_view label,
                        std::initializer_list<ByteView> payload) {
  UpdateStreaming(op, label, [&](crypto::Sha256Stream& h) {
    for (ByteView part : payload) h.Update(part);
  });
}

void Transcript::Absorb(std::string_view label, ByteView bytes) {
  const auto len = U64Bytes(bytes.size());
  Update(kOpBytes, label, {len, bytes});
}

void Transcript::AbsorbU64(std::string_view label, uint64_t value) {
  const auto v = U64Bytes(value);
  Update(kOpU64, label, {v});
}

void Transcript::AbsorbFp(std::string_view label, std::span<const Fp> values) {
  UpdateStreaming(kOpFp, label, [&](crypto::Sha256Stream& h) {
    h.Update(U64Bytes(values.size()));
    UpdateElements(h, values);
  });
}

void Transcript::AbsorbFp2(std::string_view label, std::span<const Fp2> values) {
  UpdateStreaming(kOpFp2, label, [&](crypto::Sha256Stream& h) {
    h.Update(U64Bytes(values.size()));
    UpdateElements(h, values);
  });
}

void Transcript::BeginChallenge(std::string_view label, uint8_t kind, uint64_t count,
                                uint64_t bound) {
  const auto c = U64Bytes(count);
  const auto b = U64Bytes(bound);
  Update(kOpChallenge, label, {ByteView(&kind, 1), c, b});
  block_counter_ = 0;
  block_pos_ = 4;
}

uint64_t Transcript::NextWord() {
  if (block_pos_ == 4) {
    crypto::Sha256Stream h;
    const uint8_t op = kOpSampleBlock;
    h.Update(state_);
    h.Update(ByteView(&op, 1));
    h.Update(U64Bytes(block_counter_++));
    block_ = h.Finish();
    block_pos_ = 0;
  }
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i) v = v << 8 | block_[block_pos_ * 8 + i];
  ++block_pos_;
  return v;
}

void Transcript::EndChallenge(std::span<const uint64_t> words) {
  // No label: the request already absorbed it.
  UpdateStreaming(kOpChallengeValues, "", [&](crypto::Sha256Stream& h) {
    h.Update(U64Bytes(words.size()));
    for (uint64_t w : words) h.Update(U64Bytes(w));
  });
  block_pos_ = 4;
}

Fp Transcript::ChallengeFp(std::string_view label) {
  BeginChallenge(label, kKindFp, 1, Fp::kModulus);
  uint64_t w = NextWord();
  while (w >= Fp::kModulus) w = NextWord();
  EndChallenge(std::span(&w, 1));
  return Fp::FromU64(w);
}

Fp2 Transcript::ChallengeFp2(std::string_view label) { return ChallengeFp2s(label, 1)[0]; }

std::vector<Fp2> Transcript::ChallengeFp2s(std::string_view label, size_t count) {
  BeginChallenge(label, kKindFp2, count, Fp::kModulus);
  std::vector<uint64_t> words(2 * count);
  for (uint64_t& w : words) {
    w = NextWord();
    while (w >= Fp::kModulus) w = NextWord();
  }
  EndChallenge(words);
  std::vector<Fp2> out(count);
  for (size_t i = 0; i < count; ++i)
    out[i] = Fp2(Fp::FromU64(words[2 * i]), Fp::FromU64(words[2 * i + 1]));
  return out;
}

Result<std::vector<uint64_t>> Transcript::ChallengeIndices(std::string_view label, size_t count,
                                                           uint64_t bound) {
  if (bound == 0) return InvalidArgument("challenge index bound must be positive");
  if (count > kMaxIndices)
    return InvalidArgument("too many challenge indices: " + std::to_string(count));
  BeginChallenge(label, kKindIndices, count, bound);
  // 2^64 mod bound words at the top of the range would favour small indices: reject them.
  const uint64_t excess = (0 - bound) % bound;
  std::vector<uint64_t> out(count);
  for (uint64_t& v : out) {
    uint64_t w = NextWord();
    while (excess != 0 && w >= 0 - excess) w = NextWord();
    v = w % bound;
  }
  EndChallenge(out);
  return out;
}

}  // namespace lucid::zk
