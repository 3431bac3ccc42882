// CometBFT v0.38 light-client verification: a signed header (header + commit) checked against a
// trusted validator set, as CometBFT's own `types.VerifyCommit` does it, with no CometBFT code:
//   - header hash: RFC 6962 Merkle root (SHA-256, 0x00/0x01 prefixes) over the 14 proto-encoded
//     header fields (Header.Hash in types/block.go);
//   - validators hash: the same Merkle root over each validator's SimpleValidator encoding, in
//     the set's canonical order (voting power descending, then address ascending);
//   - vote sign bytes: the length-delimited CanonicalVote (precommit, sfixed64 height and round,
//     the commit's block id for BLOCK_ID_FLAG_COMMIT votes, the vote's own timestamp, chain id);
//   - ed25519 signatures (OpenSSL EVP), strictly more than 2/3 of the total voting power from
//     BLOCK_ID_FLAG_COMMIT votes, every validator counted once, addresses matched by position.
// The protobuf encodings are written by hand (docs/lightclient.md): they are the canonical bytes.
// Only ed25519 validator keys are supported (CometBFT's default); others are refused by name.
// Thread-safety: plain values and free functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"
#include "base/status.h"

namespace lucid::lightclient {

inline constexpr size_t kAddressSize = 20;
inline constexpr size_t kEd25519KeySize = 32;
inline constexpr size_t kMaxSignatureSize = 64;
// CometBFT caps the total voting power at MaxInt64 / 8 (types.MaxTotalVotingPower).
inline constexpr int64_t kMaxTotalVotingPower = INT64_MAX / 8;

// google.protobuf.Timestamp; nanos in [0, 1e9).
struct Timestamp {
  int64_t seconds = 0;
  int32_t nanos = 0;
  bool operator==(const Timestamp&) const = default;
};

struct PartSetHeader {
  uint32_t total = 0;
  Bytes hash;
  bool operator==(const PartSetHeader&) const = default;
};

struct BlockId {
  Bytes hash;
  PartSetHeader parts;
  bool IsZero() const { return hash.empty() && parts.total == 0 && parts.hash.empty(); }
  bool operator==(const BlockId&) const = default;
};

struct Header {
  uint64_t version_block = 0;
  uint64_t version_app = 0;
  std::string chain_id;
  int64_t height = 0;
  Timestamp time;
  BlockId last_block_id;
  Bytes last_commit_hash, data_hash, validators_hash, next_validators_hash, consensus_hash, app_hash,
      last_results_hash, evidence_hash, proposer_address;

  // CometBFT's Header.Hash(): the Merkle root of the 14 encoded fields.
  Hash32 Hash() const;
};

enum class BlockIdFlag : uint8_t { kAbsent = 1, kCommit = 2, kNil = 3 };

struct CommitSig {
  BlockIdFlag flag = BlockIdFlag::kAbsent;
  Bytes validator_address;  // 20 bytes unless absent
  Timestamp timestamp;
  Bytes signature;          // 64 bytes unless absent
};

struct Commit {
  int64_t height = 0;
  int32_t round = 0;
  BlockId block_id;
  std::vector<CommitSig> signatures;  // one per validator of the set, in the set's order
};

struct SignedHeader {
  Header header;
  Commit commit;
};

struct Validator {
  Bytes address;  // SHA-256(pub_key)[:20]
  std::array<uint8_t, kEd25519KeySize> pub_key{};
  int64_t voting_power = 0;
};

// A validator set in CometBFT's canonical order. Build it with MakeValidatorSet.
struct ValidatorSet {
  std::vector<Validator> validators;
  int64_t total_voting_power = 0;
  // Merkle root over SimpleValidator{PublicKey{ed25519}, voting_power} encodings.
  Hash32 Hash() const;
};

// Sorts (power descending, address ascending) and checks: every power > 0, addresses derive
// from the keys (an empty address is derived), no validator twice, total power within
// CometBFT's cap, at least one validator.
Result<ValidatorSet> MakeValidatorSet(std::vector<Validator> validators);

// SHA-256(pub_key)[:20].
Bytes Ed25519Address(const std::array<uint8_t, kEd25519KeySize>& pub_key);

// The bytes validator `index` of the commit signed: varint length || CanonicalVote.
Bytes VoteSignBytes(std::string_view chain_id, const Commit& commit, size_t index);

// Proto encodings used above, exposed for tests.
Bytes EncodeTimestamp(const Timestamp& t);
Bytes EncodeBlockId(const BlockId& id);  // tendermint.types.BlockID (header's last_block_id)

// Why a signed header was refused. Stable names (RefusalName) appear in every refusal message.
enum class Refusal : uint8_t {
  kNone = 0,
  kMalformed,                // a field of the wrong size, an unknown block id flag, a bad vote
  kChainIdMismatch,          // header's chain id is not the trusted chain's
  kHeightMismatch,           // header or commit height is not the height asked for
  kHeaderHashMismatch,       // commit's block id does not hash the header (header altered)
  kValidatorsHashMismatch,   // header's validators_hash is not the trusted set's hash
  kSignatureCountMismatch,   // commit does not hold one entry per trusted validator
  kAddressMismatch,          // a vote's address is not the validator's at its position
  kDuplicateVote,            // a validator's vote appears twice
  kInvalidSignature,         // ed25519 signature does not verify over the vote sign bytes
  kInsufficientVotingPower,  // commit votes hold <= 2/3 of the total voting power
};
std::string_view RefusalName(Refusal refusal);

struct Verification {
  Refusal refusal = Refusal::kNone;
  std::string detail;         // the reason in words (empty when ok)
  Hash32 header_hash{};       // computed from the header
  int64_t signed_power = 0;   // voting power of verified BLOCK_ID_FLAG_COMMIT votes
  int64_t total_power = 0;
  int64_t needed_power = 0;   // total * 2 / 3; signed_power must exceed it
  size_t commit_votes = 0, nil_votes = 0, absent = 0;
  bool ok() const { return refusal == Refusal::kNone; }
  // Ok, or PERMISSION_DENIED (DATA_LOSS for kMalformed) "<refusal name>: <detail>".
  Status ToStatus() const;
};

// Verifies `signed_header` for chain `chain_id` at `height` against `trusted` (CometBFT's
// VerifyCommit plus SignedHeader.ValidateBasic's header/commit binding): chain id, heights,
// commit block id == header hash, validators_hash == trusted.Hash(), one commit entry per
// validator with matching addresses, every non-absent signature valid (nil votes too, as
// CometBFT), and commit votes' power > 2/3 of the total. All signatures are checked.
Verification VerifySignedHeader(const SignedHeader& signed_header, const ValidatorSet& trusted,
                                std::string_view chain_id, int64_t height);

// Ed25519 (RFC 8032) signature check through OpenSSL.
bool Ed25519Verify(const std::array<uint8_t, kEd25519KeySize>& pub_key, ByteView message, ByteView signature);

}  // namespace lucid::lightclient
