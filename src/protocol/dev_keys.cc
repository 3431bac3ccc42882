#include "protocol/dev_keys.h"

#include <set>
#include <string>

namespace lucid::protocol {

crypto::PrivateKey DevKey(size_t index) {
  return crypto::PrivateKey::FromSeed("lucid-dev-key-" + std::to_string(index));
}
crypto::PrivateKey DevnetValidatorKey() { return crypto::PrivateKey::FromSeed("lucid-devnet-validator"); }
crypto::PrivateKey DevnetNodeKey() { return crypto::PrivateKey::FromSeed("lucid-devnet-node"); }
crypto::PrivateKey DevnetHubKey() { return crypto::PrivateKey::FromSeed("lucid-devnet-hub"); }

bool IsDevAddress(const crypto::Address& address) {
  static const std::set<crypto::Address> kDevAddresses = [] {
    std::set<crypto::Address> s;
    for (size_t i = 0; i < kDevKeyCount; ++i) s.insert(DevKey(i).address());
    s.insert(DevnetValidatorKey().address());
    s.insert(DevnetNodeKey().address());
    s.insert(DevnetHubKey().address());
    return s;
  }();
  return kDevAddresses.count(address) != 0;
}

}  // namespace lucid::protocol
