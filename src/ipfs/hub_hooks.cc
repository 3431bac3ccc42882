#include "ipfs/hub_hooks.h"

#include <filesystem>
#include <memory>

#include <spdlog/spdlog.h>

#include "ipfs/kubo_client.h"

namespace lucid::ipfs {

Result<HubHooks> MakeHubHooks(const std::vector<std::string>& apis, bool pin_fetched, std::chrono::seconds timeout) {
  if (apis.empty()) return InvalidArgument("IPFS: no kubo API address given");
  auto clients = std::make_shared<std::vector<KuboClient>>();
  for (const std::string& api : apis) {
    auto c = KuboClient::Connect(api, timeout);
    if (!c.ok()) return c.status().WithContext("--ipfs " + api);
    clients->push_back(*c);
  }
  HubHooks hooks;
  hooks.add = [clients](const crypto::Cid& cid, const std::string& path) -> Result<std::string> {
    ASSIGN_OR_RETURN(AddedFile added, clients->front().AddFile(path));
    if (added.cid != cid)
      return DataLoss("the file at " + path + " hashes to " + added.cid.ToString() + ", not " + cid.ToString());
    return added.ipfs_cid;
  };
  hooks.fetch = [clients, pin_fetched](const crypto::Cid& cid, const std::string& ipfs_cid, uint64_t max_bytes,
                                       const std::string& out_path) -> Status {
    std::string errors;
    for (const KuboClient& c : *clients) {
      Status s = c.CatToFile(ipfs_cid, cid, out_path, max_bytes);
      if (s.ok()) {
        if (pin_fetched) {
          Status pinned = clients->front().PinAdd(ipfs_cid);
          if (!pinned.ok()) spdlog::warn("ipfs: fetched {} but could not pin it on {}: {}", ipfs_cid,
                                         clients->front().address(), pinned.message());
        }
        spdlog::info("ipfs: fetched {} ({}) from {}", cid.ToString(), ipfs_cid, c.address());
        return Status::Ok();
      }
      spdlog::warn("ipfs: {} refused for {}: {}", c.address(), cid.ToString(), s.message());
      if (!errors.empty()) errors += "; ";
      errors += s.message();
      std::error_code ec;
      std::filesystem::remove(out_path, ec);
    }
    return Unavailable("no IPFS peer served " + cid.ToString() + " (root " + ipfs_cid + ") intact: " + errors);
  };
  return hooks;
}

}  // namespace lucid::ipfs
