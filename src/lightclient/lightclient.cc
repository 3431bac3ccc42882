#include "lightclient/lightclient.h"

#include <algorithm>
#include <memory>
#include <map>
#include <set>

#include <openssl/evp.h>

#include "crypto/hash.h"
#include "crypto/merkle.h"

namespace lucid::lightclient {

namespace {

// Minimal proto3 writer: the encodings gogoproto's Marshal produces (fields in number order,
// zero scalars and empty bytes omitted, non-nullable messages always written).
class ProtoWriter {
 public:
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<uint8_t>(v));
  }
  void Tag(uint32_t field, uint32_t wire_type) { Varint(uint64_t{field} << 3 | wire_type); }
  // int64/uint64/uint32/enum: negative int64 values are their 64-bit two's complement.
  void UInt(uint32_t field, uint64_t v) {
    if (v == 0) return;
    Tag(field, 0);
    Varint(v);
  }
  void SFixed64(uint32_t field, int64_t v) {
    if (v == 0) return;
    Tag(field, 1);
    uint64_t u = static_cast<uint64_t>(v);
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<uint8_t>(u >> (8 * i)));
  }
  void Blob(uint32_t field, ByteView b) {  // bytes / string; omitted when empty
    if (b.empty()) return;
    Message(field, b);
  }
  void Message(uint32_t field, ByteView b) {  // embedded message; always written
    Tag(field, 2);
    Varint(b.size());
    out_.insert(out_.end(), b.begin(), b.end());
  }
  Bytes Take() { return std::move(out_); }

 private:
  Bytes out_;
};

Bytes EncodePartSetHeader(const PartSetHeader& p) {
  ProtoWriter w;
  w.UInt(1, p.total);
  w.Blob(2, p.hash);
  return w.Take();
}

// gogotypes wrappers (cdcEncode in types/encoding_helper.go): empty values encode to nothing.
Bytes WrapString(std::string_view s) {
  ProtoWriter w;
  w.Blob(1, AsBytes(s));
  return w.Take();
}
Bytes WrapInt64(int64_t v) {
  ProtoWriter w;
  w.UInt(1, static_cast<uint64_t>(v));
  return w.Take();
}
Bytes WrapBytes(ByteView b) {
  ProtoWriter w;
  w.Blob(1, b);
  return w.Take();
}

Hash32 MerkleOfItems(const std::vector<Bytes>& items) {
  std::vector<Hash32> leaves;
  leaves.reserve(items.size());
  for (const auto& item : items) leaves.push_back(crypto::MerkleLeafHash(item));
  return crypto::MerkleRoot(leaves);
}

std::string Hex(ByteView b) {
  std::string s = ToHex(b);
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::toupper(c); });
  return s;
}

Verification Refuse(Verification v, Refusal r, std::string detail) {
  v.refusal = r;
  v.detail = std::move(detail);
  return v;
}

}  // namespace

Bytes EncodeTimestamp(const Timestamp& t) {
  ProtoWriter w;
  w.UInt(1, static_cast<uint64_t>(t.seconds));
  w.UInt(2, static_cast<uint64_t>(static_cast<int64_t>(t.nanos)));
  return w.Take();
}

Bytes EncodeBlockId(const BlockId& id) {
  ProtoWriter w;
  w.Blob(1, id.hash);
  w.Message(2, EncodePartSetHeader(id.parts));  // non-nullable
  return w.Take();
}

Hash32 Header::Hash() const {
  ProtoWriter version;
  version.UInt(1, version_block);
  version.UInt(2, version_app);
  return MerkleOfItems({
      version.Take(),
      WrapString(chain_id),
      WrapInt64(height),
      EncodeTimestamp(time),
      EncodeBlockId(last_block_id),
      WrapBytes(last_commit_hash),
      WrapBytes(data_hash),
      WrapBytes(validators_hash),
      WrapBytes(next_validators_hash),
      WrapBytes(consensus_hash),
      WrapBytes(app_hash),
      WrapBytes(last_results_hash),
      WrapBytes(evidence_hash),
      WrapBytes(proposer_address),
  });
}

Hash32 ValidatorSet::Hash() const {
  std::vector<Bytes> items;
  items.reserve(validators.size());
  for (const auto& v : validators) {
    ProtoWriter pub_key;  // tendermint.crypto.PublicKey, oneof sum { bytes ed25519 = 1; }
    pub_key.Blob(1, v.pub_key);
    ProtoWriter simple;   // tendermint.types.SimpleValidator
    simple.Message(1, pub_key.Take());
    simple.UInt(2, static_cast<uint64_t>(v.voting_power));
    items.push_back(simple.Take());
  }
  return MerkleOfItems(items);
}

Bytes Ed25519Address(const std::array<uint8_t, kEd25519KeySize>& pub_key) {
  Hash32 h = crypto::Sha256(pub_key);
  return Bytes(h.begin(), h.begin() + kAddressSize);
}

Result<ValidatorSet> MakeValidatorSet(std::vector<Validator> validators) {
  if (validators.empty()) return InvalidArgument("validator set is empty");
  ValidatorSet set;
  for (auto& v : validators) {
    Bytes derived = Ed25519Address(v.pub_key);
    if (v.address.empty()) v.address = derived;
    if (v.address != derived)
      return InvalidArgument("validator address " + Hex(v.address) + " is not derived from its key (" + Hex(derived) +
                             ")");
    if (v.voting_power <= 0)
      return InvalidArgument("validator " + Hex(v.address) + " has voting power " + std::to_string(v.voting_power));
    if (v.voting_power > kMaxTotalVotingPower - set.total_voting_power)
      return OutOfRange("total voting power exceeds CometBFT's cap " + std::to_string(kMaxTotalVotingPower));
    set.total_voting_power += v.voting_power;
  }
  std::sort(validators.begin(), validators.end(), [](const Validator& a, const Validator& b) {
    if (a.voting_power != b.voting_power) return a.voting_power > b.voting_power;
    return a.address < b.address;
  });
  std::set<Bytes> seen;
  for (const auto& v : validators)
    if (!seen.insert(v.address).second) return InvalidArgument("validator " + Hex(v.address) + " appears twice");
  set.validators = std::move(validators);
  return set;
}

Bytes VoteSignBytes(std::string_view chain_id, const Commit& commit, size_t index) {
  const CommitSig& sig = commit.signatures.at(index);
  ProtoWriter vote;  // tendermint.types.CanonicalVote
  vote.UInt(1, 2);   // SIGNED_MSG_TYPE_PRECOMMIT
  vote.SFixed64(2, commit.height);
  vote.SFixed64(3, commit.round);
  // CommitSig.BlockID: the commit's block id for a commit vote, the zero id (omitted) otherwise.
  if (sig.flag == BlockIdFlag::kCommit && !commit.block_id.IsZero()) {
    ProtoWriter id;  // CanonicalBlockID
    id.Blob(1, commit.block_id.hash);
    id.Message(2, EncodePartSetHeader(commit.block_id.parts));
    vote.Message(4, id.Take());
  }
  vote.Message(5, EncodeTimestamp(sig.timestamp));  // non-nullable
  vote.Blob(6, AsBytes(chain_id));
  Bytes body = vote.Take();
  ProtoWriter delimited;
  delimited.Varint(body.size());
  Bytes out = delimited.Take();
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

bool Ed25519Verify(const std::array<uint8_t, kEd25519KeySize>& pub_key, ByteView message, ByteView signature) {
  if (signature.size() != 64) return false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, pub_key.data(), pub_key.size()), EVP_PKEY_free);
  if (!key) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1) return false;
  return EVP_DigestVerify(ctx.get(), signature.data(), signature.size(), message.data(), message.size()) == 1;
}

std::string_view RefusalName(Refusal refusal) {
  switch (refusal) {
    case Refusal::kNone: return "ok";
    case Refusal::kMalformed: return "malformed";
    case Refusal::kChainIdMismatch: return "chain_id_mismatch";
    case Refusal::kHeightMismatch: return "height_mismatch";
    case Refusal::kHeaderHashMismatch: return "header_hash_mismatch";
    case Refusal::kValidatorsHashMismatch: return "validators_hash_mismatch";
    case Refusal::kSignatureCountMismatch: return "signature_count_mismatch";
    case Refusal::kAddressMismatch: return "address_mismatch";
    case Refusal::kDuplicateVote: return "duplicate_vote";
    case Refusal::kInvalidSignature: return "invalid_signature";
    case Refusal::kInsufficientVotingPower: return "insufficient_voting_power";
  }
  return "unknown";
}

Status Verification::ToStatus() const {
  if (ok()) return Status::Ok();
  std::string m = std::string(RefusalName(refusal)) + ": " + detail;
  return refusal == Refusal::kMalformed ? DataLoss(std::move(m)) : PermissionDenied(std::move(m));
}

Verification VerifySignedHeader(const SignedHeader& sh, const ValidatorSet& trusted, std::string_view chain_id,
                                int64_t height) {
  const Header& h = sh.header;
  const Commit& c = sh.commit;
  Verification v;
  v.header_hash = h.Hash();
  // The total is recomputed from the validators (the struct's field is not relied on).
  for (const auto& val : trusted.validators) {
    if (val.voting_power <= 0 || val.voting_power > kMaxTotalVotingPower - v.total_power)
      return Refuse(v, Refusal::kMalformed, "trusted validator set has a non-positive or oversized voting power");
    v.total_power += val.voting_power;
  }
  v.needed_power = v.total_power * 2 / 3;  // total <= MaxInt64 / 8: no overflow

  if (h.chain_id != chain_id)
    return Refuse(v, Refusal::kChainIdMismatch,
                  "header is for chain '" + h.chain_id + "', trusted chain is '" + std::string(chain_id) + "'");
  if (h.height != height)
    return Refuse(v, Refusal::kHeightMismatch,
                  "header is at height " + std::to_string(h.height) + ", expected " + std::to_string(height));
  if (c.height != h.height)
    return Refuse(v, Refusal::kHeightMismatch,
                  "commit is for height " + std::to_string(c.height) + ", header is " + std::to_string(h.height));
  if (c.round < 0) return Refuse(v, Refusal::kMalformed, "commit round " + std::to_string(c.round) + " is negative");
  if (h.validators_hash.size() != 32 || c.block_id.hash.size() != 32)
    return Refuse(v, Refusal::kMalformed, "header validators_hash or commit block id hash is not 32 bytes");
  if (c.block_id.parts.total == 0 || c.block_id.parts.hash.size() != 32)
    return Refuse(v, Refusal::kMalformed, "commit block id has no part set header");
  if (!std::equal(v.header_hash.begin(), v.header_hash.end(), c.block_id.hash.begin(), c.block_id.hash.end()))
    return Refuse(v, Refusal::kHeaderHashMismatch,
                  "header hashes to " + Hex(v.header_hash) + " but the commit signs block " + Hex(c.block_id.hash));
  const Hash32 set_hash = trusted.Hash();
  if (!std::equal(set_hash.begin(), set_hash.end(), h.validators_hash.begin(), h.validators_hash.end()))
    return Refuse(v, Refusal::kValidatorsHashMismatch,
                  "header's validators_hash " + Hex(h.validators_hash) + " is not the trusted set's " + Hex(set_hash));
  if (c.signatures.size() != trusted.validators.size())
    return Refuse(v, Refusal::kSignatureCountMismatch,
                  "commit holds " + std::to_string(c.signatures.size()) + " entries for " +
                      std::to_string(trusted.validators.size()) + " trusted validators");

  // First the shape of every vote and the one-vote-per-validator rule, then signatures.
  std::map<Bytes, size_t> first_vote;
  for (size_t i = 0; i < c.signatures.size(); ++i) {
    const CommitSig& sig = c.signatures[i];
    const std::string at = "vote " + std::to_string(i);
    if (sig.flag == BlockIdFlag::kAbsent) {
      if (!sig.validator_address.empty() || !sig.signature.empty())
        return Refuse(v, Refusal::kMalformed, at + " is absent but carries an address or signature");
      continue;
    }
    if (sig.flag != BlockIdFlag::kCommit && sig.flag != BlockIdFlag::kNil)
      return Refuse(v, Refusal::kMalformed, at + " has unknown block id flag " + std::to_string(int(sig.flag)));
    if (sig.validator_address.size() != kAddressSize)
      return Refuse(v, Refusal::kMalformed, at + " address is " + std::to_string(sig.validator_address.size()) +
                                                " bytes, not 20");
    if (sig.signature.empty() || sig.signature.size() > kMaxSignatureSize)
      return Refuse(v, Refusal::kMalformed,
                    at + " signature is " + std::to_string(sig.signature.size()) + " bytes");
    auto [it, fresh] = first_vote.emplace(sig.validator_address, i);
    if (!fresh)
      return Refuse(v, Refusal::kDuplicateVote,
                    at + " repeats the vote of validator " + Hex(sig.validator_address) + " (vote " +
                        std::to_string(it->second) + "); each validator is counted once");
  }
  for (size_t i = 0; i < c.signatures.size(); ++i) {
    const CommitSig& sig = c.signatures[i];
    const std::string at = "vote " + std::to_string(i);
    if (sig.flag == BlockIdFlag::kAbsent) {
      ++v.absent;
      continue;
    }
    const Validator& val = trusted.validators[i];
    if (sig.validator_address != val.address)
      return Refuse(v, Refusal::kAddressMismatch, at + " is from " + Hex(sig.validator_address) +
                                                      " but trusted validator " + std::to_string(i) + " is " +
                                                      Hex(val.address));
    if (!Ed25519Verify(val.pub_key, VoteSignBytes(chain_id, c, i), sig.signature))
      return Refuse(v, Refusal::kInvalidSignature,
                    at + " (validator " + Hex(val.address) + ") signature does not verify over its sign bytes");
    if (sig.flag == BlockIdFlag::kCommit) {
      v.signed_power += val.voting_power;  // total bounded by kMaxTotalVotingPower: no overflow
      ++v.commit_votes;
    } else {
      ++v.nil_votes;
    }
  }
  if (v.signed_power <= v.needed_power)
    return Refuse(v, Refusal::kInsufficientVotingPower,
                  "commit votes hold " + std::to_string(v.signed_power) + " of " + std::to_string(v.total_power) +
                      " voting power; more than " + std::to_string(v.needed_power) + " (2/3) is needed");
  return v;
}

}  // namespace lucid::lightclient
