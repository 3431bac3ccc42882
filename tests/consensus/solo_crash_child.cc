// Child process of the kill -9 test: opens (or resumes) the chain at argv[1] and produces
// blocks with transfer txs as fast as it can until the parent kills it.
#include <cstdio>

#include "../chain/chain_fixture.h"
#include "consensus/solo.h"

using namespace lucid;
using namespace lucid::chain::testing;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: solo_crash_child <store dir>\n");
    return 2;
  }
  Keys k;
  auto producer = consensus::SoloProducer::Open(argv[1], MakeGenesis(k), k.validator);
  if (!producer.ok()) {
    std::fprintf(stderr, "open: %s\n", producer.status().ToString().c_str());
    return 1;
  }
  auto& p = **producer;
  uint64_t nonce = p.WithApp([&](const chain::Application& app) { return app.GetAccount(k.alice.address())->nonce; });
  bool funded = true;  // a fast machine can spend alice's genesis balance before the kill
  for (uint64_t i = 0;; ++i) {
    for (int j = 0; j < 2 && funded; ++j) {
      auto r = p.BroadcastTx(SignTx(k.alice, nonce, chain::TransferTx{k.bob.address(), 1 + i % 5}));
      if (!r.ok()) {
        std::fprintf(stderr, "broadcast: %s\n", r.status().ToString().c_str());
        return 1;
      }
      if (r->code == chain::TxCode::kInsufficientFunds) {
        funded = false;  // from here on: empty blocks
        break;
      }
      if (r->code != chain::TxCode::kOk) {
        std::fprintf(stderr, "broadcast refused at nonce %llu\n", static_cast<unsigned long long>(nonce));
        return 1;
      }
      ++nonce;
    }
    auto block = p.ProduceBlock();
    if (!block.ok()) {
      std::fprintf(stderr, "produce: %s\n", block.status().ToString().c_str());
      return 1;
    }
  }
}
