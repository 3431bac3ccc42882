// libFuzzer target: the ABCI application behind `lucid validator` (consensus/abci_app.h), fed
// what reaches it from outside: CometBFT relays anyone's txs (CheckTx, proposals, blocks) and
// anyone's abci_query path and data. Three shapes, chosen by the first byte:
//   0: uvarint-delimited tendermint.abci.Request frames (the socket protocol's framing), each
//      parsed and handed to AbciApp::Handle whatever it asks for;
//   1: the rest split into txs (uvarint-delimited), run through one block cycle: CheckTx each,
//      PrepareProposal, ProcessProposal of what was prepared (it must be accepted: a proposal
//      this app prepared and its own check disagreeing is a bug), FinalizeBlock, Commit;
//   2: a Transfer signed by the funded genesis key whose amount, recipient, nonce and fee cap
//      come from the input, plus the rest as one raw tx, through the same block cycle (valid
//      signatures reach execution, which random bytes never do).
// One application for the whole run, in a temporary folder: state carries across inputs.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/json_views.h"
#include "consensus/abci_app.h"
#include "crypto/secp256k1.h"
#include "protocol/types.h"

using namespace lucid;
using consensus::AbciApp;
namespace abci = tendermint::abci;

namespace {

constexpr const char* kChainId = "lucid-fuzz";

const crypto::PrivateKey& FundedKey() {
  static const crypto::PrivateKey key = crypto::PrivateKey::FromSeed("abci-fuzz-funded");
  return key;
}

std::string ProposerAddress() {
  static const std::string pk(32, 'v');
  const crypto::Address a = consensus::CometAddress(ByteView(reinterpret_cast<const uint8_t*>(pk.data()), pk.size()));
  return std::string(a.bytes.begin(), a.bytes.end());
}

std::filesystem::path& AppDir() {
  static std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("lucid_abci_fuzz_" + std::to_string(::getpid()));
  return dir;
}

AbciApp* MakeApp() {
  const auto& dir = AppDir();
  std::filesystem::remove_all(dir);
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(AppDir(), ec);  // the app itself is left open: a store in a deleted folder
  });
  std::filesystem::create_directories(dir);
  auto app = AbciApp::Open((dir / "chain").string());
  if (!app.ok()) {
    std::fprintf(stderr, "abci_fuzz: %s\n", app.status().ToString().c_str());
    std::abort();
  }
  (*app)->set_log([](const std::string&) {});
  chain::Genesis g;
  g.chain_id = kChainId;
  g.params.tx_fee_per_byte = 1;
  g.params.min_node_stake = 1000;
  g.accounts.push_back({FundedKey().address(), 1'000'000'000'000});
  nlohmann::json state = api::GenesisJson(g);
  state.erase("validators");
  state.erase("genesis_time_ms");
  abci::RequestInitChain init;
  init.set_chain_id(kChainId);
  init.mutable_time()->set_seconds(1'700'000'000);
  init.set_app_state_bytes(state.dump());
  init.set_initial_height(1);
  abci::ValidatorUpdate* v = init.add_validators();
  v->mutable_pub_key()->set_ed25519(std::string(32, 'v'));
  v->set_power(10);
  if (auto r = (*app)->InitChain(init); !r.ok()) {
    std::fprintf(stderr, "abci_fuzz: InitChain: %s\n", r.status().ToString().c_str());
    std::abort();
  }
  return app->release();
}

// Reads a uvarint at data[pos..]; false when the input ends or it runs past 10 bytes.
bool ReadUvarint(const uint8_t* data, size_t size, size_t& pos, uint64_t& value) {
  value = 0;
  for (int shift = 0; shift < 70 && pos < size; shift += 7) {
    const uint8_t b = data[pos++];
    value |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

std::vector<std::string> SplitDelimited(const uint8_t* data, size_t size) {
  std::vector<std::string> out;
  size_t pos = 0;
  uint64_t len = 0;
  while (pos < size && ReadUvarint(data, size, pos, len) && len <= size - pos) {
    out.emplace_back(reinterpret_cast<const char*>(data + pos), len);
    pos += len;
  }
  return out;
}

int64_t CommittedHeight(AbciApp& app) { return app.Info(abci::RequestInfo()).last_block_height(); }

void BlockCycle(AbciApp& app, const std::vector<std::string>& txs) {
  for (const std::string& tx : txs) {
    abci::RequestCheckTx check;
    check.set_tx(tx);
    (void)app.CheckTx(check);
  }
  const int64_t height = CommittedHeight(app) + 1;
  const int64_t seconds = 1'700'000'000 + height;
  abci::RequestPrepareProposal prepare;
  prepare.set_height(height);
  prepare.mutable_time()->set_seconds(seconds);
  prepare.set_proposer_address(ProposerAddress());
  prepare.set_max_tx_bytes(1 << 20);
  for (const std::string& tx : txs) prepare.add_txs(tx);
  auto prepared = app.PrepareProposal(prepare);
  if (!prepared.ok()) return;  // shape 0 may have left the app mid-block (as no CometBFT would)
  abci::RequestProcessProposal process;
  process.set_height(height);
  process.mutable_time()->set_seconds(seconds);
  process.set_proposer_address(ProposerAddress());
  for (const std::string& tx : prepared->txs()) process.add_txs(tx);
  if (app.ProcessProposal(process).status() != abci::ResponseProcessProposal::ACCEPT) std::abort();
  abci::RequestFinalizeBlock finalize;
  finalize.set_height(height);
  finalize.mutable_time()->set_seconds(seconds);
  finalize.set_proposer_address(ProposerAddress());
  for (const std::string& tx : prepared->txs()) finalize.add_txs(tx);
  auto finalized = app.FinalizeBlock(finalize);
  if (!finalized.ok() || finalized->tx_results_size() != prepared->txs_size()) std::abort();
  if (!app.Commit().ok() || CommittedHeight(app) != height) std::abort();
}

uint64_t TakeU64(const uint8_t* data, size_t size, size_t& pos) {
  uint64_t v = 0;
  for (int i = 0; i < 8 && pos < size; ++i) v |= static_cast<uint64_t>(data[pos++]) << (8 * i);
  return v;
}

std::string SignedTransfer(AbciApp& app, const uint8_t* data, size_t size, size_t& pos) {
  const crypto::PrivateKey& key = FundedKey();
  const uint64_t next = app.WithApp([&](const chain::Application& a) {
    auto acct = a.GetAccount(key.address());
    return acct.ok() ? acct->nonce : 0;
  });
  protocol::Tx tx;
  tx.chain_id = kChainId;
  tx.from = key.address();
  const uint8_t nonce_shift = pos < size ? data[pos++] : 0;
  tx.nonce = next + (nonce_shift % 4 == 0 ? 0 : nonce_shift);  // mostly the right nonce
  tx.max_tx_fee = TakeU64(data, size, pos) % 10'000'000;
  protocol::TransferTx transfer;
  for (auto& b : transfer.to.bytes) b = pos < size ? data[pos++] : 0;
  transfer.amount = TakeU64(data, size, pos) >> (pos < size ? data[pos++] % 64 : 0);
  tx.body = transfer;
  const Bytes encoded = protocol::SignedTx::Sign(std::move(tx), key).Encode();
  return std::string(encoded.begin(), encoded.end());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static AbciApp* app = MakeApp();
  if (size == 0) return 0;
  const uint8_t mode = data[0] % 3;
  ++data;
  --size;
  if (mode == 0) {
    for (const std::string& frame : SplitDelimited(data, size)) {
      abci::Request req;
      if (!req.ParseFromString(frame)) continue;
      (void)app->Handle(req);
    }
  } else if (mode == 1) {
    BlockCycle(*app, SplitDelimited(data, size));
  } else {
    size_t pos = 0;
    std::vector<std::string> txs{SignedTransfer(*app, data, size, pos)};
    txs.emplace_back(reinterpret_cast<const char*>(data + pos), size - pos);
    BlockCycle(*app, txs);
  }
  return 0;
}
