// libFuzzer target: CometBFT RPC JSON (GET /commit, /validators, a genesis document), the
// untrusted answers `lucid verify --comet-rpc` reads from a node, then the light-client check
// of whatever commit parsed against the validator set the same bytes describe (or the golden
// 4-validator set when they describe none).
#include <cstdlib>
#include <string_view>

#include "lightclient/lightclient.h"
#include "lightclient/rpc_json.h"

using namespace lucid::lightclient;

namespace {
ValidatorSet FallbackSet() {
  // The four ed25519 keys of tests/data/cometbft/net4 (power 1 each).
  static const char* kKeys[] = {"aa6uu4s87ian7ljvRnRntmQGghGurA6uLz7Ow0X3BP4=",
                                "hlrrBD2zc6BGGKYcbC6eOHPjboXlr+sptvYdp1hKMUs=",
                                "XIp7nZ3FSisriFOZCtDJAJNmMAHHemMf1AmIUFuHR8A=",
                                "P5ZxR6E5czwwXObvz4wx44vs73wFw70XIoIBNlIVseE="};
  std::vector<Validator> vals;
  for (const char* k : kKeys) {
    Validator v;
    auto b = DecodeBase64(k);
    if (!b.ok() || b->size() != 32) std::abort();
    std::copy(b->begin(), b->end(), v.pub_key.begin());
    v.voting_power = 1;
    vals.push_back(v);
  }
  auto set = MakeValidatorSet(vals);
  if (!set.ok()) std::abort();
  return *set;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const ValidatorSet kFallback = FallbackSet();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto genesis = ParseGenesisJson(text);
  auto page = ParseValidatorsJson(text);
  if (page.ok()) (void)MakeValidatorSet(page->validators);
  (void)ParseRfc3339(text);
  (void)DecodeBase64(text);
  auto sh = ParseCommitJson(text);
  if (!sh.ok()) return 0;
  const ValidatorSet& set = genesis.ok() ? genesis->validators : kFallback;
  const std::string chain_id = genesis.ok() ? genesis->chain_id : sh->header.chain_id;
  Verification v = VerifySignedHeader(*sh, set, chain_id, sh->header.height);
  // A pass means strictly more than 2/3 of the recomputed total power signed.
  if (v.ok() && !(v.signed_power > v.needed_power && v.needed_power == v.total_power * 2 / 3)) std::abort();
  if (v.ok() != v.ToStatus().ok()) std::abort();
  if (!v.ok() && v.detail.empty()) std::abort();
  for (size_t i = 0; i < sh->commit.signatures.size() && i < 8; ++i)
    (void)VoteSignBytes(chain_id, sh->commit, i);
  return 0;
}
