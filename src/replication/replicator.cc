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
  // The manifest itself: at most 1 MiB, so its IPFS CID is its Lucid CID. Its size is checked
  // before it is read, so a "manifest" CID naming a large file is refused without loading it.
  ASSIGN_OR_RETURN(bool fetched, hub_->EnsureStored(manifest, std::nullopt));
  (void)fetched;
  ASSIGN_OR_RETURN(uint64_t size, hub_->StoredSize(manifest));
  if (size > kMaxManifestBytes)
    return DataLoss(manifest.ToString() + " is " + std::to_string(size) + " bytes: not a manifest");
  ASSIGN_OR_RETURN(Bytes raw, hub_->GetFile(manifest));
  ASSIGN_OR_RETURN(hub::Manifest m, hub::ParseManifest(raw));
  std::vector<Part> parts;
  parts.push_back({manifest, manifest.ToString(), raw.size()});
  for (const hub::ManifestFile& f : m.files) parts.push_back({f.cid, f.ipfs, f.size});
  if (m.test_vectors) parts.push_back({m.test_vectors->cid, m.test_vectors->ipfs, std::nullopt});
  return parts;
}

Status Replicator::Hold(const std::vector<Part>& parts, const std::set<std::string>& pinned, size_t* restored) {
  for (const Part& p : parts) {
    // The blob store's copy (what this hub's API serves and its node runs): fetched through
    // IPFS when missing, checked against the CID (and the size the manifest declares).
    ASSIGN_OR_RETURN(bool fetched, hub_->EnsureStored(p.cid, p.size));
    if (fetched) {
      ++*restored;
      spdlog::info("replicator: fetched {} from the swarm", p.cid.ToString());
    }
    // Pinned under the root this hub made from its own copy, or under the manifest's root when
    // this hub fetched the file by it (the fetch checked that root's bytes against the CID).
    // A root only named by the manifest is never pinned as such: it could name anything.
    const auto own = own_roots_.find(p.cid);
    if (own != own_roots_.end() ? pinned.count(own->second) != 0 : (!p.root.empty() && pinned.count(p.root) != 0))
      continue;
    // Not pinned on the own kubo: add the stored copy (no network needed; pinned).
    ASSIGN_OR_RETURN(std::string root, hub_->AddToIpfs(p.cid));
    own_roots_[p.cid] = root;
    if (!p.root.empty() && root != p.root)
      spdlog::warn("replicator: {} adds as {} here, not as the root {} its manifest names", p.cid.ToString(), root,
                   p.root);
    if (!fetched) ++*restored;
    spdlog::info("replicator: pinned {} ({}) again", p.cid.ToString(), root);
  }
  return Status::Ok();
}

Result<RoundReport> Replicator::RunOnce() {
  RoundReport report;
  ++round_;
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
  ASSIGN_OR_RETURN(std::vector<std::string> pin_list, kubo_.PinLs());
  const std::set<std::string> pinned(pin_list.begin(), pin_list.end());

  // 1. What this hub announced must be here. A version that fails is unpinned on chain after
  // kUnpinAfterFailures rounds in a row (a kubo restart or a full disk is not a lost file), or
  // at once when its manifest contradicts its files (DATA_LOSS: no round will fix that).
  for (const crypto::Cid& m : mine) {
    Status held = [&]() -> Status {
      ASSIGN_OR_RETURN(std::vector<Part> parts, PartsOf(m));
      return Hold(parts, pinned, &report.repaired_files);
    }();
    if (held.ok()) {
      hold_failures_.erase(m);
      continue;
    }
    report.errors.push_back(m.ToString() + ": " + held.message());
    const int failures = ++hold_failures_[m];
    if (held.code() == Code::kDataLoss || failures >= kUnpinAfterFailures) {
      spdlog::error("replicator: cannot restore {}: {}; announcing it unpinned", m.ToString(), held.message());
      report.unpinned.push_back(m);
      hold_failures_.erase(m);
    } else {
      spdlog::warn("replicator: cannot restore {} (round {} of {} before unpinning): {}", m.ToString(), failures,
                   kUnpinAfterFailures, held.message());
    }
  }

  // 2. Versions short of R hubs. Every attempt, failed or not, counts against the round's
  // budget; a failed version is retried after 2, 4, ... 64 rounds, and one whose manifest
  // contradicts its files never again.
  if (options_.take_on) {
    ASSIGN_OR_RETURN(std::vector<chain::VersionReplication> all, chain_->ListReplication());
    ASSIGN_OR_RETURN(std::vector<chain::HubRecord> hubs, chain_->ListHubs());
    std::set<crypto::Cid> short_now;
    size_t attempts = 0;
    for (const chain::VersionReplication& v : all) {
      if (!v.under_replicated() || PinnedBy(v, options_.hub) || refused_.count(v.manifest)) continue;
      short_now.insert(v.manifest);
      const int rounds = ++short_rounds_[v.manifest];
      if (attempts >= options_.max_new_per_round) continue;
      if (auto b = backoff_.find(v.manifest); b != backoff_.end() && b->second.retry_round > round_) continue;
      std::vector<crypto::Address> free_hubs = {options_.hub};
      for (const chain::HubRecord& h : hubs)
        if (h.address != options_.hub && !PinnedBy(v, h.address)) free_hubs.push_back(h.address);
      std::sort(free_hubs.begin(), free_hubs.end(), [&](const crypto::Address& a, const crypto::Address& b) {
        return Rank(v.manifest, a) < Rank(v.manifest, b);
      });
      const size_t my_rank = static_cast<size_t>(std::find(free_hubs.begin(), free_hubs.end(), options_.hub) - free_hubs.begin());
      const size_t needed = v.min_replicas - v.pinned_by.size();
      // The hubs ranked first take it; every `patience` rounds it stays short, one more hub in
      // rank order joins them, so a dead hub cannot block it and a slow fetch does not bring
      // every hub at once.
      const size_t takers = needed + static_cast<size_t>(rounds / std::max(1, options_.patience));
      // Nothing of it here (its manifest is not even pinned) and not this hub's turn: leave it
      // without fetching anything.
      if (!pinned.count(v.manifest.ToString()) && my_rank >= takers) continue;
      ++attempts;
      Status taken = [&]() -> Status {
        ASSIGN_OR_RETURN(std::vector<Part> parts, PartsOf(v.manifest));
        const bool here = std::all_of(parts.begin(), parts.end(), [&](const Part& p) {
          return !p.root.empty() && pinned.count(p.root);
        });
        if (!here && my_rank >= takers) return Status::Ok();  // only its manifest is here: not our turn
        size_t restored = 0;
        RETURN_IF_ERROR(Hold(parts, pinned, &restored));
        report.pinned.push_back(v.manifest);
        return Status::Ok();
      }();
      if (taken.ok()) {
        backoff_.erase(v.manifest);
        if (!report.pinned.empty() && report.pinned.back() == v.manifest)
          spdlog::info("replicator: now pinning {}@{}.{} ({} of {} hubs before)", v.repo, v.major, v.minor,
                       v.pinned_by.size(), v.min_replicas);
        continue;
      }
      report.errors.push_back(v.manifest.ToString() + ": " + taken.message());
      if (taken.code() == Code::kDataLoss) {
        spdlog::warn("replicator: refusing {}@{}.{} for good: {}", v.repo, v.major, v.minor, taken.message());
        refused_.insert(v.manifest);
        continue;
      }
      Backoff& b = backoff_[v.manifest];
      b.failures = std::min(b.failures + 1, 6);
      b.retry_round = round_ + (uint64_t{1} << b.failures);
      spdlog::warn("replicator: cannot take on {}@{}.{} (retry in {} rounds): {}", v.repo, v.major, v.minor,
                   uint64_t{1} << b.failures, taken.message());
    }
    for (auto it = short_rounds_.begin(); it != short_rounds_.end();)
      it = short_now.count(it->first) ? std::next(it) : short_rounds_.erase(it);
  }

  // 3. Tell the chain: unpins first (they are never dropped), then as many pins as fit.
  const bool peer_changed = !record || record->ipfs_peer != me.id;
  const bool endpoint_changed = !options_.endpoint.empty() && (!record || record->endpoint != options_.endpoint);
  if (!report.pinned.empty() || !report.unpinned.empty() || peer_changed || endpoint_changed) {
    protocol::AnnouncePinsTx tx;
    if (peer_changed) tx.ipfs_peer = me.id;
    if (endpoint_changed) tx.endpoint = options_.endpoint;
    tx.unpin = report.unpinned;
    if (tx.unpin.size() > protocol::kMaxPinChangesPerTx) tx.unpin.resize(protocol::kMaxPinChangesPerTx);
    tx.pin = report.pinned;
    if (tx.pin.size() > protocol::kMaxPinChangesPerTx - tx.unpin.size())
      tx.pin.resize(protocol::kMaxPinChangesPerTx - tx.unpin.size());
    report.pinned = tx.pin;  // the rest are taken on again next round
    report.unpinned = tx.unpin;
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
      Result<RoundReport> report = Internal("no round ran");
      try {
        report = RunOnce();
      } catch (const std::exception& e) {  // a bug must not take the validator or node down with it
        report = Internal(std::string("replicator round threw: ") + e.what());
      }
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
