// The public, INSECURE development keys: derived from fixed seeds that anyone can read here,
// so they must never hold value. A chain accepts them only when its genesis sets
// dev_mode = true: txs signed by them, requests made by them and validators among them are
// refused on every other chain (chain/execute.cc, chain/app.cc).
// Thread-safety: pure functions (the address set is built once, thread-safely).
#pragma once

#include <cstddef>

#include "crypto/secp256k1.h"

namespace lucid::protocol {

// How many dev account keys (dev0 ... dev{kDevKeyCount-1}) the refusal covers.
inline constexpr size_t kDevKeyCount = 64;

// dev<index>: secret = sha256("lucid-dev-key-<index>").
crypto::PrivateKey DevKey(size_t index);
// The devnet's block producer and inference node.
crypto::PrivateKey DevnetValidatorKey();
crypto::PrivateKey DevnetNodeKey();
// The devnet hub's account: announces its IPFS pins (docs/ipfs.md "Replication").
crypto::PrivateKey DevnetHubKey();

// True for the address of any key above.
bool IsDevAddress(const crypto::Address& address);

}  // namespace lucid::protocol
