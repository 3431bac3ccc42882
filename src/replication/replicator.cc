#include "replication/replicator.h"

#include <algorithm>
#include <set>

#include <spdlog/spdlog.h>

#include "crypto/hash.h"
#include "hub/manifest.h"
#include "node/inference_node.h"

namespace lucid::replication {

namespace {

// Rendezvous rank of a hub for a version: lower takes it first.
Hash32 Rank(const crypto::Cid& manifest, const crypto::Address& hub) {
  Bytes buf(manifest.digest.begin(), manifest.digest.end());
  buf.insert(buf.end(), hub.bytes.begin(), hub.bytes.end());
  return crypto::Sha256(buf);
}

bool PinnedBy(const chain::VersionReplication& v, const crypto::Address& hub) {
  return std::any_of(v.pinned_by.begin(), v.pinned_by.end(), [&](const chain::HubPin& p) { return p.hub.address == hub; });
}

}  // namespace

std::function<Result<Hash32>(protocol::TxBody)> SubmitSignedBy(node::ChainAccess* chain, crypto::PrivateKey key) {
  return [chain, key](protocol::TxBody body) -> Result<Hash32> {
    ASSIGN_OR_RETURN(node::BroadcastResult r, node::SendAndWait(*chain, key, std::move(body)));
    return r.check.tx_hash;
  };
}

Result<std::unique_ptr<Replicator>> Replicator::Create(ReplicatorOptions options, node::ChainAccess* chain,
                                                       hub::Hub* hub) {
  if (!options.submit) return InvalidArgument("replicator: no way to send txs");
  if (options.interval.count() <= 0) return InvalidArgument("replicator: interval must be positive");
  ASSIGN_OR_RETURN(ipfs::KuboClient kubo, ipfs::KuboClient::Connect(options.kubo_api));
  return std::unique_ptr<Replicator>(new Replicator(std::move(options), chain, hub, std::move(kubo)));
}

Replicator::~Replicator() { Stop(); }

Result<std::vector<Replicator::Part>> Replicator::PartsOf(const crypto::Cid& manifest) {
  // The manifest itself: at most 1 MiB, so its IPFS CID is its Lucid CID. GetFile checks it.
  ASSIGN_OR_RETURN(Bytes raw, hub_->GetFile(manifest));
  ASSIGN_OR_RETURN(hub::Manifest m, hub::ParseManifest(raw));
  std::vector<Part> parts;
  parts.push_back({manifest, manifest.ToString(), raw.size()});
  for (const hub::ManifestFile& f : m.files) parts.push_back({f.cid, f.ipfs, f.size});
  if (m.test_vectors) parts.push_back({m.test_vectors->cid, m.test_vectors->ipfs, std::nullopt});
  return parts;
}

Status Replicator::Hold(const std::vector<Part>& parts, const std::vector<std::string>& pins, size_t* restored) {
  const std::set<std::string> pinned(pins.begin(), pins.end());
  for (const Part& p : parts) {
    // The blob store's copy (what this hub's API serves and its node runs): fetched through
    // IPFS when missing, checked against the CID.
    ASSIGN_OR_RETURN(bool fetched, hub_->EnsureStored(p.cid, p.size));
    if (fetched) {
      ++*restored;
      spdlog::info("replicator: fetched {} from the swarm", p.cid.ToString());
    }
    if (!p.root.empty() && pinned.count(p.root)) continue;
    // Not pinned on the own kubo: add the stored copy again (no network needed); when that
    // gives another root than the manifest's (other add settings), pin the manifest's root,
    // which kubo fetches from the swarm.
    ASSIGN_OR_RETURN(std::string root, hub_->AddToIpfs(p.cid));
    if (!p.root.empty() && root != p.root) RETURN_IF_ERROR(kubo_.PinAdd(p.root));
    if (!fetched) ++*restored;
    spdlog::info("replicator: pinned {} ({}) again", p.cid.ToString(), p.root.empty() ? root : p.root);
  }
  return Status::Ok();
}

Result<RoundReport> Replicator::RunOnce() {
  RoundReport report;
  ASSIGN_OR_RETURN(ipfs::PeerInfo me, kubo_.Id());
  std::optional<chain::HubRecord> record;
  if (auto r = chain_->GetHub(options_.hub); r.ok()) {
    record = *r;
  } else if (r.status().code() != Code::kNotFound) {
    return r.status().WithContext("reading this hub's record");
  }
  std::vector<crypto::Cid> mine;
  if (record) {
    ASSIGN_OR_RETURN(mine, chain_->HubPins(options_.hub));
  }
  ASSIGN_OR_RETURN(std::vector<std::string> pins, kubo_.PinLs());

  // 1. What this hub announced must be here.
  for (const crypto::Cid& m : mine) {
    Status held = [&]() -> Status {
      ASSIGN_OR_RETURN(std::vector<Part> parts, PartsOf(m));
      return Hold(parts, pins, &report.repaired_files);
    }();
    if (!held.ok()) {
      spdlog::error("replicator: cannot restore {}: {}; announcing it unpinned", m.ToString(), held.message());
      report.errors.push_back(m.ToString() + ": " + held.message());
      report.unpinned.push_back(m);
    }
  }

  // 2. Versions short of R hubs.
  if (options_.take_on) {
    ASSIGN_OR_RETURN(std::vector<chain::VersionReplication> all, chain_->ListReplication());
    ASSIGN_OR_RETURN(std::vector<chain::HubRecord> hubs, chain_->ListHubs());
    std::set<crypto::Cid> short_now;
    for (const chain::VersionReplication& v : all) {
      if (report.pinned.size() >= options_.max_new_per_round) break;
      if (!v.under_replicated() || PinnedBy(v, options_.hub)) continue;
      short_now.insert(v.manifest);
      const int rounds = ++short_rounds_[v.manifest];
      std::vector<crypto::Address> free_hubs = {options_.hub};
      for (const chain::HubRecord& h : hubs)
        if (h.address != options_.hub && !PinnedBy(v, h.address)) free_hubs.push_back(h.address);
      std::sort(free_hubs.begin(), free_hubs.end(), [&](const crypto::Address& a, const crypto::Address& b) {
        return Rank(v.manifest, a) < Rank(v.manifest, b);
      });
      const size_t my_rank = static_cast<size_t>(std::find(free_hubs.begin(), free_hubs.end(), options_.hub) - free_hubs.begin());
      const size_t needed = v.min_replicas - v.pinned_by.size();
      const std::set<std::string> pinned(pins.begin(), pins.end());
      // Not this hub's turn and nothing of it here (its manifest is not even pinned): leave it
      // without fetching anything.
      if (!pinned.count(v.manifest.ToString()) && my_rank >= needed && rounds < options_.patience) continue;
      auto parts = PartsOf(v.manifest);
      if (!parts.ok()) {
        report.errors.push_back(v.manifest.ToString() + ": " + parts.status().message());
        continue;
      }
      const bool here = std::all_of(parts->begin(), parts->end(), [&](const Part& p) { return !p.root.empty() && pinned.count(p.root); });
      if (!here && my_rank >= needed && rounds < options_.patience) continue;
      size_t restored = 0;
      if (Status s = Hold(*parts, pins, &restored); !s.ok()) {
        spdlog::warn("replicator: cannot take on {}@{}.{}: {}", v.repo, v.major, v.minor, s.message());
        report.errors.push_back(v.manifest.ToString() + ": " + s.message());
        continue;
      }
      spdlog::info("replicator: now pinning {}@{}.{} ({} of {} hubs before)", v.repo, v.major, v.minor,
                   v.pinned_by.size(), v.min_replicas);
      report.pinned.push_back(v.manifest);
    }
    for (auto it = short_rounds_.begin(); it != short_rounds_.end();)
      it = short_now.count(it->first) ? std::next(it) : short_rounds_.erase(it);
  }

  // 3. Tell the chain.
  const bool peer_changed = !record || record->ipfs_peer != me.id;
  const bool endpoint_changed = !options_.endpoint.empty() && (!record || record->endpoint != options_.endpoint);
  if (!report.pinned.empty() || !report.unpinned.empty() || peer_changed || endpoint_changed) {
    protocol::AnnouncePinsTx tx;
    if (peer_changed) tx.ipfs_peer = me.id;
    if (endpoint_changed) tx.endpoint = options_.endpoint;
    tx.pin = report.pinned;
    tx.unpin = report.unpinned;
    if (tx.pin.size() + tx.unpin.size() > protocol::kMaxPinChangesPerTx) tx.pin.resize(protocol::kMaxPinChangesPerTx - tx.unpin.size());
    report.pinned = tx.pin;
    ASSIGN_OR_RETURN(Hash32 hash, options_.submit(tx));
    (void)hash;
    report.registered = !record;
  }
  return report;
}

void Replicator::Start() {
  std::lock_guard<std::mutex> lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      auto report = RunOnce();
      // A kubo or chain that is down fails every round: said once, and again when it changes.
      const std::string error = report.ok() ? std::string() : report.status().message();
      if (!error.empty() && error != last_error_) spdlog::warn("replicator: round failed: {}", error);
      if (error.empty() && !last_error_.empty()) spdlog::info("replicator: rounds succeed again");
      last_error_ = error;
      lock.lock();
      cv_.wait_for(lock, options_.interval, [this] { return stop_; });
    }
  });
}

void Replicator::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace lucid::replication
