#include "chain/replication.h"

#include <algorithm>
#include <set>

namespace lucid::chain {

namespace {

Address AddressAtEnd(const std::string& key) {
  Address a;
  std::copy(key.end() - static_cast<long>(a.bytes.size()), key.end(), a.bytes.begin());
  return a;
}

Cid CidAtEnd(const std::string& key) {
  Cid c;
  std::copy(key.end() - static_cast<long>(c.digest.size()), key.end(), c.digest.begin());
  return c;
}

// A kubo peer id is base58btc (Qm…, 12D3Koo…) or a base32 CIDv1 (b…): letters and digits only.
bool IsPlausiblePeerId(std::string_view id) {
  if (id.size() < 16 || id.size() > kMaxIpfsPeerBytes) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  });
}

bool IsHttpEndpoint(std::string_view e) {
  if (e.size() > kMaxHubEndpointBytes) return false;
  const bool scheme = e.rfind("http://", 0) == 0 || e.rfind("https://", 0) == 0;
  return scheme && std::none_of(e.begin(), e.end(), [](char c) { return c <= ' ' || c == 0x7f; });
}

}  // namespace

Result<std::optional<HubRecord>> LoadHub(const StateOverlay& state, const Address& hub) {
  ASSIGN_OR_RETURN(std::optional<Bytes> raw, state.Get(keys::Hub(hub)));
  if (!raw) return std::optional<HubRecord>();
  ASSIGN_OR_RETURN(HubRecord h, DecodeHub(*raw));
  return std::optional<HubRecord>(std::move(h));
}

Result<std::vector<HubRecord>> LoadHubs(const StateOverlay& state) {
  std::vector<HubRecord> out;
  Status bad = Status::Ok();
  RETURN_IF_ERROR(state.Scan(std::string(keys::kHubPrefix), [&](const std::string&, const Bytes& value) {
    auto h = DecodeHub(value);
    if (!h.ok()) bad = h.status();
    else out.push_back(std::move(*h));
  }));
  RETURN_IF_ERROR(bad);
  return out;
}

Result<std::vector<Cid>> LoadHubPins(const StateOverlay& state, const Address& hub) {
  std::vector<Cid> out;
  RETURN_IF_ERROR(state.Scan(keys::HubPins(hub), [&](const std::string& key, const Bytes&) { out.push_back(CidAtEnd(key)); }));
  return out;
}

Result<VersionReplication> LoadReplication(const StateOverlay& state, const Cid& manifest, const Params& params) {
  ASSIGN_OR_RETURN(std::optional<Bytes> ref_raw, state.Get(keys::VersionByCid(manifest)));
  if (!ref_raw) return NotFound(manifest.ToString() + " is not the manifest of a published version");
  ASSIGN_OR_RETURN(VersionRef ref, DecodeVersionRef(*ref_raw));
  VersionReplication out;
  out.manifest = manifest;
  out.repo = ref.repo;
  out.major = ref.major;
  out.minor = ref.minor;
  out.min_replicas = params.replication.min_replicas;
  std::vector<std::pair<Address, uint64_t>> pins;
  Status bad = Status::Ok();
  RETURN_IF_ERROR(state.Scan(keys::PinnedBy(manifest), [&](const std::string& key, const Bytes& value) {
    auto height = DecodeU64(value);
    if (!height.ok()) bad = height.status();
    else pins.emplace_back(AddressAtEnd(key), *height);
  }));
  RETURN_IF_ERROR(bad);
  for (const auto& [hub, height] : pins) {
    ASSIGN_OR_RETURN(std::optional<HubRecord> record, LoadHub(state, hub));
    if (!record) return DataLoss("a pin of " + manifest.ToString() + " names unknown hub " + hub.ToHex());
    out.pinned_by.push_back({std::move(*record), height});
  }
  return out;
}

Result<std::vector<VersionReplication>> LoadAllReplication(const StateOverlay& state, const Params& params) {
  std::vector<Cid> manifests;
  RETURN_IF_ERROR(state.Scan(std::string(keys::kVersionByCidPrefix),
                             [&](const std::string& key, const Bytes&) { manifests.push_back(CidAtEnd(key)); }));
  std::vector<VersionReplication> out;
  for (const Cid& m : manifests) {
    ASSIGN_OR_RETURN(VersionReplication r, LoadReplication(state, m, params));
    out.push_back(std::move(r));
  }
  return out;
}

TxOutcome ApplyAnnouncePins(StateOverlay& state, const Tx& tx, const AnnouncePinsTx& body, const ExecEnv& env) {
  if (body.pin.size() + body.unpin.size() > kMaxPinChangesPerTx)
    return Fail(TxCode::kInvalidField, "at most " + std::to_string(kMaxPinChangesPerTx) + " pin changes per tx");
  if (!body.ipfs_peer.empty() && !IsPlausiblePeerId(body.ipfs_peer))
    return Fail(TxCode::kInvalidField, "ipfs_peer '" + body.ipfs_peer + "' is not a kubo peer id");
  if (!body.endpoint.empty() && !IsHttpEndpoint(body.endpoint))
    return Fail(TxCode::kInvalidField, "endpoint is not an http(s) URL");
  LOAD_OR_FAIL(std::optional<HubRecord> found, LoadHub(state, tx.from));

  if (body.retire) {
    if (!body.ipfs_peer.empty() || !body.endpoint.empty() || !body.pin.empty() || !body.unpin.empty())
      return Fail(TxCode::kInvalidField, "retire takes no other field");
    if (!found) return Fail(TxCode::kNotFound, tx.from.ToHex() + " is not a hub");
    LOAD_OR_FAIL(std::vector<Cid> pins, LoadHubPins(state, tx.from));
    for (const Cid& m : pins) {
      state.Delete(keys::PinnedByAt(m, tx.from));
      state.Delete(keys::HubPin(tx.from, m));
    }
    state.Delete(keys::Hub(tx.from));
    return Credit(state, tx.from, found->bond, "hub bond");
  }

  HubRecord hub;
  if (found) {
    hub = std::move(*found);
  } else {
    if (body.ipfs_peer.empty()) return Fail(TxCode::kInvalidField, "a hub's first announcement names its ipfs_peer");
    TxOutcome paid = Debit(state, tx.from, env.params.replication.hub_bond, "hub bond");
    if (Failed(paid)) return paid;
    hub.address = tx.from;
    hub.bond = env.params.replication.hub_bond;
    hub.registered_height = env.height;
  }
  if (!body.ipfs_peer.empty()) hub.ipfs_peer = body.ipfs_peer;
  if (!body.endpoint.empty()) hub.endpoint = body.endpoint;
  hub.updated_height = env.height;

  std::set<Cid> seen;
  for (const Cid& m : body.unpin) {
    if (!seen.insert(m).second) return Fail(TxCode::kInvalidField, m.ToString() + " appears twice");
    LOAD_OR_FAIL(std::optional<Bytes> pinned, state.Get(keys::HubPin(tx.from, m)));
    if (!pinned) return Fail(TxCode::kWrongState, "hub does not pin " + m.ToString());
    state.Delete(keys::PinnedByAt(m, tx.from));
    state.Delete(keys::HubPin(tx.from, m));
    --hub.pins;
  }
  for (const Cid& m : body.pin) {
    if (!seen.insert(m).second) return Fail(TxCode::kInvalidField, m.ToString() + " appears twice");
    LOAD_OR_FAIL(std::optional<Bytes> version, state.Get(keys::VersionByCid(m)));
    if (!version) return Fail(TxCode::kNotFound, m.ToString() + " is not the manifest of a published version");
    LOAD_OR_FAIL(std::optional<Bytes> pinned, state.Get(keys::HubPin(tx.from, m)));
    if (pinned) return Fail(TxCode::kAlreadyExists, "hub already pins " + m.ToString());
    state.Put(keys::PinnedByAt(m, tx.from), EncodeU64(env.height));
    state.Put(keys::HubPin(tx.from, m), Bytes{});
    ++hub.pins;
  }
  state.Put(keys::Hub(tx.from), EncodeHub(hub));
  return {};
}

}  // namespace lucid::chain
